"""Weight initializers (`keras.initializers`), returning NumPy arrays.

Every initializer is called as `init(shape, dtype=None)` (dtype defaults to float32) and has
`get_config()` / `from_config()`. Random initializers take `seed`:

- an int: the same values on every call (Keras 3 behaviour);
- a `rnnkit.random.SeedGenerator`: a reproducible stream, different values on each call;
- None: a draw from the global stream (`rnnkit.utils.set_random_seed` makes it reproducible),
  so two calls give different values. (Keras instead fixes a hidden random seed when an
  unseeded initializer is built, so *reusing one unseeded instance* repeats its values there;
  here it does not.)

`get(identifier)` accepts None, a name ('glorot_uniform', 'GlorotUniform', 'orthogonal', ...),
a config dict, an Initializer instance or class, or any callable.
"""

from __future__ import annotations

import math
import re

import numpy as np

from rnnkit import random as _random
from rnnkit import saving as _saving

__all__ = [
    "Constant", "GlorotNormal", "GlorotUniform", "HeNormal", "HeUniform", "Identity",
    "IdentityInitializer", "Initializer", "LecunNormal", "LecunUniform", "Ones", "Orthogonal",
    "OrthogonalInitializer", "RandomNormal", "RandomUniform", "TruncatedNormal",
    "VarianceScaling", "Zeros", "compute_fans", "deserialize", "get", "serialize",
    "constant", "glorot_normal", "glorot_uniform", "he_normal", "he_uniform", "identity",
    "lecun_normal", "lecun_uniform", "ones", "orthogonal", "random_normal", "random_uniform",
    "truncated_normal", "variance_scaling", "zeros",
]


def _dtype(dtype):
    return np.dtype("float32" if dtype is None else dtype)


def _shape(shape):
    if isinstance(shape, (int, np.integer)):
        return (int(shape),)
    return tuple(int(s) for s in shape)


class Initializer:
    """Base class of all initializers.

    Subclasses implement `__call__(self, shape, dtype=None)` returning an array of that shape
    and dtype, and `get_config()` when their constructor takes arguments; the default
    `from_config(config)` is `cls(**config)`.
    """

    def __call__(self, shape, dtype=None):
        raise NotImplementedError("Initializer subclasses must implement the `__call__()` method.")

    def get_config(self):
        return {}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def clone(self):
        return self.__class__.from_config(self.get_config())

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


# -- constant initializers ---------------------------------------------------------------------

class Zeros(Initializer):
    """All zeros."""

    def __call__(self, shape, dtype=None):
        return np.zeros(_shape(shape), dtype=_dtype(dtype))


class Ones(Initializer):
    """All ones."""

    def __call__(self, shape, dtype=None):
        return np.ones(_shape(shape), dtype=_dtype(dtype))


class Constant(Initializer):
    """Every entry equals `value` (a scalar, or an array broadcastable to the shape)."""

    def __init__(self, value=0.0):
        self.value = value

    def __call__(self, shape, dtype=None):
        dt = _dtype(dtype)
        value = np.asarray(self.value).astype(dt)
        return np.array(np.broadcast_to(value, _shape(shape)), dtype=dt)

    def get_config(self):
        return {"value": _saving.serialize(self.value)}

    @classmethod
    def from_config(cls, config):
        return cls(_saving.deserialize(config["value"]))


class Identity(Initializer):
    """`gain` times the identity matrix (2-D shapes only; non-square shapes get ones on the
    main diagonal)."""

    def __init__(self, gain=1.0):
        self.gain = gain

    def __call__(self, shape, dtype=None):
        shape = _shape(shape)
        if len(shape) != 2:
            raise ValueError(
                "Identity matrix initializer can only be used for 2D matrices. "
                f"Received: shape={shape} of rank {len(shape)}.")
        dt = _dtype(dtype)
        return (self.gain * np.eye(*shape, dtype=np.float64)).astype(dt)

    def get_config(self):
        return {"gain": self.gain}


IdentityInitializer = Identity


# -- random initializers -----------------------------------------------------------------------

class RandomInitializer(Initializer):
    """Base of the random initializers: validates and stores `seed`."""

    def __init__(self, seed=None):
        self._init_seed = seed
        if isinstance(seed, dict):
            seed = _saving.deserialize(seed)
        elif seed is not None and not (
                isinstance(seed, _random.SeedGenerator)
                or (isinstance(seed, (int, np.integer)) and not isinstance(seed, bool))):
            raise ValueError(
                "`seed` argument should be an instance of `rnnkit.random.SeedGenerator()` or "
                f"an integer. Received: seed={seed}")
        self.seed = int(seed) if isinstance(seed, np.integer) else seed

    def get_config(self):
        return {"seed": _saving.serialize(self._init_seed)}


class RandomUniform(RandomInitializer):
    """Uniform on [minval, maxval)."""

    def __init__(self, minval=-0.05, maxval=0.05, seed=None):
        self.minval = minval
        self.maxval = maxval
        super().__init__(seed=seed)

    def __call__(self, shape, dtype=None):
        return _random.uniform(_shape(shape), minval=self.minval, maxval=self.maxval,
                               dtype=_dtype(dtype), seed=self.seed)

    def get_config(self):
        return {**super().get_config(), "minval": self.minval, "maxval": self.maxval}


class RandomNormal(RandomInitializer):
    """Normal with the given mean and standard deviation."""

    def __init__(self, mean=0.0, stddev=0.05, seed=None):
        self.mean = mean
        self.stddev = stddev
        super().__init__(seed=seed)

    def __call__(self, shape, dtype=None):
        return _random.normal(_shape(shape), mean=self.mean, stddev=self.stddev,
                              dtype=_dtype(dtype), seed=self.seed)

    def get_config(self):
        return {**super().get_config(), "mean": self.mean, "stddev": self.stddev}


class TruncatedNormal(RandomInitializer):
    """Normal with values beyond two standard deviations from the mean re-drawn."""

    def __init__(self, mean=0.0, stddev=0.05, seed=None):
        self.mean = mean
        self.stddev = stddev
        super().__init__(seed=seed)

    def __call__(self, shape, dtype=None):
        return _random.truncated_normal(_shape(shape), mean=self.mean, stddev=self.stddev,
                                        dtype=_dtype(dtype), seed=self.seed)

    def get_config(self):
        return {**super().get_config(), "mean": self.mean, "stddev": self.stddev}


def compute_fans(shape):
    """`(fan_in, fan_out)` of a weight shape, with Keras' rules:
    () -> (1, 1); (n,) -> (n, n); (a, b) -> (a, b); (..., in, out) -> (in * r, out * r)
    where r is the product of the leading (receptive-field) dimensions."""
    shape = tuple(shape)
    if len(shape) < 1:
        fan_in = fan_out = 1
    elif len(shape) == 1:
        fan_in = fan_out = shape[0]
    elif len(shape) == 2:
        fan_in, fan_out = shape
    else:
        receptive_field_size = 1
        for dim in shape[:-2]:
            receptive_field_size *= dim
        fan_in = shape[-2] * receptive_field_size
        fan_out = shape[-1] * receptive_field_size
    return int(fan_in), int(fan_out)


# 0.87962566103423978 is the standard deviation of a standard normal truncated to [-2, 2].
_TRUNCATED_STDDEV = 0.87962566103423978


class VarianceScaling(RandomInitializer):
    """Scale-aware initializer: with `n` = fan_in, fan_out or their mean (per `mode`),
    `truncated_normal` / `untruncated_normal` draw with stddev `sqrt(scale / n)` (after
    truncation), and `uniform` draws from `[-limit, limit]`, `limit = sqrt(3 * scale / n)`.
    `distribution="normal"` means `truncated_normal`."""

    def __init__(self, scale=1.0, mode="fan_in", distribution="truncated_normal", seed=None):
        if scale <= 0.0:
            raise ValueError(f"Argument `scale` must be positive float. Received: scale={scale}")
        allowed_modes = {"fan_in", "fan_out", "fan_avg"}
        if mode not in allowed_modes:
            raise ValueError(f"Invalid `mode` argument: {mode}. Please use one of {allowed_modes}")
        distribution = distribution.lower()
        if distribution == "normal":
            distribution = "truncated_normal"
        allowed_distributions = {"uniform", "truncated_normal", "untruncated_normal"}
        if distribution not in allowed_distributions:
            raise ValueError(
                f"Invalid `distribution` argument: {distribution}."
                f"Please use one of {allowed_distributions}")
        self.scale = scale
        self.mode = mode
        self.distribution = distribution
        super().__init__(seed=seed)

    def __call__(self, shape, dtype=None):
        shape = _shape(shape)
        dt = _dtype(dtype)
        scale = self.scale
        fan_in, fan_out = compute_fans(shape)
        if self.mode == "fan_in":
            scale /= max(1.0, fan_in)
        elif self.mode == "fan_out":
            scale /= max(1.0, fan_out)
        else:
            scale /= max(1.0, (fan_in + fan_out) / 2.0)
        if self.distribution == "truncated_normal":
            stddev = math.sqrt(scale) / _TRUNCATED_STDDEV
            return _random.truncated_normal(shape, mean=0.0, stddev=stddev, dtype=dt,
                                            seed=self.seed)
        if self.distribution == "untruncated_normal":
            return _random.normal(shape, mean=0.0, stddev=math.sqrt(scale), dtype=dt,
                                  seed=self.seed)
        limit = math.sqrt(3.0 * scale)
        return _random.uniform(shape, minval=-limit, maxval=limit, dtype=dt, seed=self.seed)

    def get_config(self):
        return {**super().get_config(), "scale": self.scale, "mode": self.mode,
                "distribution": self.distribution}


class _FixedVarianceScaling(VarianceScaling):
    _scale = 1.0
    _mode = "fan_in"
    _distribution = "truncated_normal"

    def __init__(self, seed=None):
        super().__init__(scale=self._scale, mode=self._mode, distribution=self._distribution,
                         seed=seed)

    def get_config(self):
        return {"seed": _saving.serialize(self._init_seed)}


class GlorotUniform(_FixedVarianceScaling):
    """Uniform on `[-limit, limit]`, `limit = sqrt(6 / (fan_in + fan_out))` (Xavier)."""
    _scale, _mode, _distribution = 1.0, "fan_avg", "uniform"


class GlorotNormal(_FixedVarianceScaling):
    """Truncated normal with stddev `sqrt(2 / (fan_in + fan_out))`."""
    _scale, _mode, _distribution = 1.0, "fan_avg", "truncated_normal"


class HeUniform(_FixedVarianceScaling):
    """Uniform on `[-limit, limit]`, `limit = sqrt(6 / fan_in)`."""
    _scale, _mode, _distribution = 2.0, "fan_in", "uniform"


class HeNormal(_FixedVarianceScaling):
    """Truncated normal with stddev `sqrt(2 / fan_in)`."""
    _scale, _mode, _distribution = 2.0, "fan_in", "truncated_normal"


class LecunUniform(_FixedVarianceScaling):
    """Uniform on `[-limit, limit]`, `limit = sqrt(3 / fan_in)`."""
    _scale, _mode, _distribution = 1.0, "fan_in", "uniform"


class LecunNormal(_FixedVarianceScaling):
    """Truncated normal with stddev `sqrt(1 / fan_in)`."""
    _scale, _mode, _distribution = 1.0, "fan_in", "truncated_normal"


class Orthogonal(RandomInitializer):
    """A (semi-)orthogonal matrix times `gain`.

    The shape is flattened to `(prod(shape[:-1]), shape[-1])`. The Q factor of the QR
    decomposition of a standard normal matrix (made unique by the signs of R's diagonal) fills
    it: with fewer rows than columns the rows are orthonormal (`W @ W.T = I`, e.g. a
    `(U, 4U)` recurrent kernel), otherwise the columns are (`W.T @ W = I`).
    """

    def __init__(self, gain=1.0, seed=None):
        self.gain = gain
        super().__init__(seed=seed)

    def __call__(self, shape, dtype=None):
        shape = _shape(shape)
        if len(shape) < 2:
            raise ValueError(
                "The tensor to initialize must be at least two-dimensional. "
                f"Received: shape={shape} of rank {len(shape)}.")
        dt = _dtype(dtype)
        if dt.kind != "f":
            raise ValueError(
                f"The Orthogonal initializer requires a floating point `dtype`. Received: "
                f"dtype={dtype}")
        num_rows = int(np.prod(shape[:-1]))
        num_cols = shape[-1]
        flat_shape = (max(num_cols, num_rows), min(num_cols, num_rows))
        a = _random.normal(flat_shape, dtype="float64", seed=self.seed)
        q, r = np.linalg.qr(a)
        q = q * np.sign(np.diag(r))
        if num_rows < num_cols:
            q = q.T
        return (self.gain * q.reshape(shape)).astype(dt)

    def get_config(self):
        return {**super().get_config(), "gain": self.gain}


OrthogonalInitializer = Orthogonal

# Lower-case aliases, as Keras exports them (they are the classes).
zeros = Zeros
ones = Ones
constant = Constant
identity = Identity
random_uniform = RandomUniform
random_normal = RandomNormal
truncated_normal = TruncatedNormal
variance_scaling = VarianceScaling
glorot_uniform = GlorotUniform
glorot_normal = GlorotNormal
he_uniform = HeUniform
he_normal = HeNormal
lecun_uniform = LecunUniform
lecun_normal = LecunNormal
orthogonal = Orthogonal


def _to_snake_case(name):
    name = re.sub(r"\W+", "", name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()


_ALL_CLASSES = (Initializer, Zeros, Ones, Constant, Identity, RandomUniform, RandomNormal,
                TruncatedNormal, VarianceScaling, GlorotUniform, GlorotNormal, HeUniform,
                HeNormal, LecunUniform, LecunNormal, Orthogonal)

ALL_OBJECTS_DICT = {cls.__name__: cls for cls in _ALL_CLASSES}
ALL_OBJECTS_DICT.update({_to_snake_case(cls.__name__): cls for cls in _ALL_CLASSES})
ALL_OBJECTS_DICT.update({
    "uniform": RandomUniform,
    "normal": RandomNormal,
    "one": Ones,
    "zero": Zeros,
    "OrthogonalInitializer": Orthogonal,
    "orthogonal_initializer": Orthogonal,
    "IdentityInitializer": Identity,
    "identity_initializer": Identity,
})


def serialize(initializer):
    """The config dict of an initializer (`rnnkit.saving.serialize`)."""
    return _saving.serialize(initializer)


def deserialize(config, custom_objects=None):
    """Rebuild an initializer from `serialize()` output (a name string works too)."""
    return _saving._deserialize_instance(config, custom_objects, ALL_OBJECTS_DICT)


def get(identifier):
    """An initializer from a name, a config dict, a class, an instance or a callable.

    None gives None; an unknown identifier raises
    `ValueError("Could not interpret initializer identifier: ...")`.
    """
    return _saving._get_object(identifier, "initializer", ALL_OBJECTS_DICT, deserialize)
