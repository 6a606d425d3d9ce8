"""Weight constraints (`keras.constraints`): projections applied to a weight after each
optimizer update. They take and return NumPy arrays (a Variable or anything array-like is
accepted); the result keeps the input's floating dtype.

    MaxNorm(max_value=2, axis=0)       w * clip(n, 0, max_value) / (eps + n)
    MinMaxNorm(min_value=0.0, max_value=1.0, rate=1.0, axis=0)
                                       w * (rate * clip(n, min, max) + (1 - rate) * n) / (eps + n)
    NonNeg()                           max(w, 0)
    UnitNorm(axis=0)                   w / (eps + n)

with `n = sqrt(sum(w**2, axis, keepdims=True))` and `eps = 1e-7` (Keras' `backend.epsilon()`).
`axis` may be an int or a list/tuple of ints (e.g. `[0, 1, 2]` for a conv kernel).
"""

from __future__ import annotations

import numpy as np

from rnnkit import saving as _saving

__all__ = ["Constraint", "MaxNorm", "MinMaxNorm", "NonNeg", "UnitNorm", "deserialize", "get",
           "max_norm", "min_max_norm", "non_neg", "serialize", "unit_norm"]

_EPSILON = 1e-7


def _as_array(w):
    if hasattr(w, "numpy") and not isinstance(w, np.ndarray):
        w = w.numpy()
    w = np.asarray(w)
    return w if w.dtype.kind == "f" else w.astype("float32")


def _axis(axis):
    return tuple(axis) if isinstance(axis, list) else axis


def _norms(w, axis):
    return np.sqrt(np.sum(np.square(w), axis=_axis(axis), keepdims=True))


class Constraint:
    """Base class: `__call__(w)` returns the projected weight (the identity here)."""

    def __call__(self, w):
        return w

    def get_config(self):
        return {}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


class MaxNorm(Constraint):
    """Rescale each weight vector along `axis` whose L2 norm exceeds `max_value`."""

    def __init__(self, max_value=2, axis=0):
        self.max_value = max_value
        self.axis = axis

    def __call__(self, w):
        w = _as_array(w)
        norms = _norms(w, self.axis)
        desired = np.clip(norms, 0, self.max_value)
        return (w * (desired / (_EPSILON + norms))).astype(w.dtype, copy=False)

    def get_config(self):
        return {"max_value": self.max_value, "axis": self.axis}


class MinMaxNorm(Constraint):
    """Move each weight vector's L2 norm towards `[min_value, max_value]` (fully when
    `rate=1`)."""

    def __init__(self, min_value=0.0, max_value=1.0, rate=1.0, axis=0):
        self.min_value = min_value
        self.max_value = max_value
        self.rate = rate
        self.axis = axis

    def __call__(self, w):
        w = _as_array(w)
        norms = _norms(w, self.axis)
        desired = (self.rate * np.clip(norms, self.min_value, self.max_value)
                   + (1 - self.rate) * norms)
        return (w * (desired / (_EPSILON + norms))).astype(w.dtype, copy=False)

    def get_config(self):
        return {"min_value": self.min_value, "max_value": self.max_value, "rate": self.rate,
                "axis": self.axis}


class NonNeg(Constraint):
    """Clamp negative weights to 0."""

    def __call__(self, w):
        w = _as_array(w)
        return np.maximum(w, np.zeros((), dtype=w.dtype))


class UnitNorm(Constraint):
    """Scale each weight vector along `axis` to unit L2 norm."""

    def __init__(self, axis=0):
        self.axis = axis

    def __call__(self, w):
        w = _as_array(w)
        return (w / (_EPSILON + _norms(w, self.axis))).astype(w.dtype, copy=False)

    def get_config(self):
        return {"axis": self.axis}


# Lower-case aliases, as Keras exports them (they are the classes).
max_norm = MaxNorm
min_max_norm = MinMaxNorm
non_neg = NonNeg
unit_norm = UnitNorm

ALL_OBJECTS_DICT = {
    "Constraint": Constraint, "constraint": Constraint,
    "MaxNorm": MaxNorm, "max_norm": MaxNorm,
    "MinMaxNorm": MinMaxNorm, "min_max_norm": MinMaxNorm,
    "NonNeg": NonNeg, "non_neg": NonNeg,
    "UnitNorm": UnitNorm, "unit_norm": UnitNorm,
}


def serialize(constraint):
    """The config dict of a constraint (`rnnkit.saving.serialize`)."""
    return _saving.serialize(constraint)


def deserialize(config, custom_objects=None):
    """Rebuild a constraint from `serialize()` output."""
    return _saving._deserialize_instance(config, custom_objects, ALL_OBJECTS_DICT)


def get(identifier):
    """A constraint from a name, a config dict, a class, an instance or a callable."""
    return _saving._get_object(identifier, "constraint", ALL_OBJECTS_DICT, deserialize)
