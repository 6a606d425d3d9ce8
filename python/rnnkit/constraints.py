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
    """The base class of weight constraints.

    A constraint is a projection applied to a weight after each optimizer update (pass one
    as a layer's `kernel_constraint` and the like). Subclasses implement `__call__(w)`,
    returning the projected weight as a NumPy array, and `get_config()` when their
    constructor takes arguments.

    Example:

    >>> import numpy as np, rnnkit as keras
    >>> class Clip(keras.constraints.Constraint):
    ...     def __call__(self, w):
    ...         return np.clip(np.asarray(w), -1.0, 1.0)
    >>> Clip()(np.array([-3.0, 0.5]))
    array([-1. ,  0.5])
    """

    def __call__(self, w):
        """Returns the projected weight (`w` unchanged in the base class)."""
        return w

    def get_config(self):
        """Returns the constructor arguments as a dict."""
        return {}

    @classmethod
    def from_config(cls, config):
        """Creates a constraint from the dict returned by `get_config()`."""
        return cls(**config)

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


class MaxNorm(Constraint):
    """Constrains the L2 norm of each weight vector to at most `max_value`.

    Vectors with a larger norm are rescaled to `max_value`: `w * clip(n, 0, max_value) /
    (eps + n)`, with `n` the norms along `axis` and `eps = 1e-7`.

    Args:
        max_value: Number, the largest norm. Defaults to 2.
        axis: Int, or list/tuple of ints: the axes over which each norm is computed.
            Defaults to 0 (each column of a Dense kernel `(input_dim, units)`).

    Call arguments:
        w: The weight (an array, `Variable` or array-like).

    Returns:
        The projected weight, a NumPy array of the weight's floating dtype.

    Example:

    >>> import numpy as np, rnnkit as keras
    >>> keras.constraints.MaxNorm(1.0)(np.array([[3.0, 0.5], [4.0, 0.0]])).round(3)
    array([[0.6, 0.5],
           [0.8, 0. ]])
    """

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
    """Constrains the L2 norm of each weight vector to lie in `[min_value, max_value]`.

    Each vector is rescaled to the norm `rate * clip(n, min_value, max_value) +
    (1 - rate) * n`, so `rate=1` enforces the bounds exactly and smaller rates move
    towards them.

    Args:
        min_value: Number, the smallest norm. Defaults to 0.
        max_value: Number, the largest norm. Defaults to 1.
        rate: Float in [0, 1], how far to move towards the bounds. Defaults to 1.
        axis: Int, or list/tuple of ints: the axes over which each norm is computed.
            Defaults to 0 (each column of a Dense kernel `(input_dim, units)`).

    Call arguments:
        w: The weight (an array, `Variable` or array-like).

    Returns:
        The projected weight, a NumPy array of the weight's floating dtype.
    """

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
    """Constrains the weights to be non-negative: negative entries become 0.

    Call arguments:
        w: The weight (an array, `Variable` or array-like).

    Returns:
        The projected weight, a NumPy array of the weight's floating dtype.

    Example:

    >>> import numpy as np, rnnkit as keras
    >>> keras.constraints.NonNeg()(np.array([-1.0, 2.0], dtype="float32"))
    array([0., 2.], dtype=float32)
    """

    def __call__(self, w):
        w = _as_array(w)
        return np.maximum(w, np.zeros((), dtype=w.dtype))


class UnitNorm(Constraint):
    """Constrains each weight vector to unit L2 norm: `w / (eps + n)`.

    Args:
        axis: Int, or list/tuple of ints: the axes over which each norm is computed.
            Defaults to 0 (each column of a Dense kernel `(input_dim, units)`).

    Call arguments:
        w: The weight (an array, `Variable` or array-like).

    Returns:
        The projected weight, a NumPy array of the weight's floating dtype.

    Example:

    >>> import numpy as np, rnnkit as keras
    >>> keras.constraints.UnitNorm()(np.array([[3.0], [4.0]])).round(3)
    array([[0.6],
           [0.8]])
    """

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
    """Serializes a constraint for saving.

    Args:
        constraint: A `Constraint`.

    Returns:
        A config dict (`{"module", "class_name", "config", ...}`).
    """
    return _saving.serialize(constraint)


def deserialize(config, custom_objects=None):
    """Returns a constraint from its serialized form.

    Args:
        config: A config dict from `serialize()`, or a name.
        custom_objects: Optional dict mapping names to custom constraints.

    Returns:
        A `Constraint` instance.
    """
    return _saving._deserialize_instance(config, custom_objects, ALL_OBJECTS_DICT)


def get(identifier):
    """Returns a constraint from an identifier.

    Args:
        identifier: A name (`"max_norm"`, `"MaxNorm"`, `"non_neg"`, `"unit_norm"`,
            `"min_max_norm"`: an instance with the default arguments), a config dict, a
            `Constraint` class or instance, any callable `w -> w`, or `None`.

    Returns:
        The constraint (or callable), or `None` for `None`.

    Raises:
        ValueError: If the identifier cannot be interpreted.

    Example:

    >>> import rnnkit as keras
    >>> keras.constraints.get("non_neg")
    NonNeg()
    """
    return _saving._get_object(identifier, "constraint", ALL_OBJECTS_DICT, deserialize)
