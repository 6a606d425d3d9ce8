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
    return np.dtype(__import__("rnnkit.config").config.floatx() if dtype is None else dtype)


def _shape(shape):
    if isinstance(shape, (int, np.integer)):
        return (int(shape),)
    return tuple(int(s) for s in shape)


class Initializer:
    """The base class of initializers: callables that give a weight its initial value.

    An initializer is called as `init(shape, dtype=None)` and returns a NumPy array. Pass
    one (or its name, e.g. `"glorot_uniform"`) as a layer's `kernel_initializer` and the like.
    Subclasses implement `__call__(shape, dtype=None)`, and `get_config()` when their
    constructor takes arguments.

    Example:

    >>> import numpy as np, rnnkit as keras
    >>> class Twos(keras.initializers.Initializer):
    ...     def __call__(self, shape, dtype=None):
    ...         return np.full(shape, 2.0, dtype=dtype or "float32")
    >>> keras.layers.Dense(2, kernel_initializer=Twos())(np.ones((1, 3)))
    array([[6., 6.]], dtype=float32)
    """

    def __call__(self, shape, dtype=None):
        """Returns an array of `shape` and `dtype` (float32 by default).

        Args:
            shape: An int or a tuple of ints.
            dtype: Optional dtype.

        Raises:
            NotImplementedError: In the base class.
        """
        raise NotImplementedError("Initializer subclasses must implement the `__call__()` method.")

    def get_config(self):
        """Returns the constructor arguments as a JSON-serializable dict."""
        return {}

    @classmethod
    def from_config(cls, config):
        """Creates an initializer from the dict returned by `get_config()`."""
        return cls(**config)

    def clone(self):
        """Returns a new initializer with the same configuration."""
        return self.__class__.from_config(self.get_config())

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


# -- constant initializers ---------------------------------------------------------------------

class Zeros(Initializer):
    """Initializes to zeros (also `"zeros"`).

    Call arguments:
        shape: An int or a tuple of ints.
        dtype: Optional dtype. Defaults to float32.

    Returns:
        A NumPy array of `shape` and `dtype`.

    Example:

    >>> import rnnkit as keras
    >>> keras.initializers.Zeros()((2,))
    array([0., 0.], dtype=float32)
    """

    def __call__(self, shape, dtype=None):
        return np.zeros(_shape(shape), dtype=_dtype(dtype))


class Ones(Initializer):
    """Initializes to ones (also `"ones"`).

    Call arguments:
        shape: An int or a tuple of ints.
        dtype: Optional dtype. Defaults to float32.

    Returns:
        A NumPy array of `shape` and `dtype`.
    """

    def __call__(self, shape, dtype=None):
        return np.ones(_shape(shape), dtype=_dtype(dtype))


class Constant(Initializer):
    """Initializes every entry to a constant (also `"constant"`).

    Args:
        value: A scalar, or an array broadcastable to the shape. Defaults to 0.

    Call arguments:
        shape: An int or a tuple of ints.
        dtype: Optional dtype. Defaults to float32.

    Returns:
        A NumPy array of `shape` and `dtype`.

    Example:

    >>> import rnnkit as keras
    >>> keras.initializers.Constant(3.0)((2, 2))
    array([[3., 3.],
           [3., 3.]], dtype=float32)
    """

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
    """Initializes a 2-D weight to `gain` times the identity matrix (also `"identity"`).

    Non-square shapes get `gain` on the main diagonal.

    Args:
        gain: Float, the multiplier. Defaults to 1.0.

    Call arguments:
        shape: An int or a tuple of ints.
        dtype: Optional dtype. Defaults to float32.

    Returns:
        A NumPy array of `shape` and `dtype`.

    Raises:
        ValueError: (on call) If the shape is not 2-D.
    """

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
    """The base of the random initializers: checks and stores `seed`.

    Args:
        seed: Optional int (the same values on every call), `rnnkit.random.SeedGenerator`
            (a reproducible stream, new values on each call) or `None` (a draw from the
            global stream, which `rnnkit.utils.set_random_seed` makes reproducible).

    Raises:
        ValueError: If `seed` is not an int, a `SeedGenerator`, its config or `None`.
    """

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
    """Draws from a uniform distribution on `[minval, maxval)` (also `"uniform"`).

    Args:
        minval: Float, the lower bound. Defaults to -0.05.
        maxval: Float, the upper bound. Defaults to 0.05.
        seed: Optional int (the same values on every call), `rnnkit.random.SeedGenerator`
            (a reproducible stream, new values on each call) or `None` (a draw from the
            global stream, which `rnnkit.utils.set_random_seed` makes reproducible).

    Call arguments:
        shape: An int or a tuple of ints.
        dtype: Optional dtype. Defaults to float32.

    Returns:
        A NumPy array of `shape` and `dtype`.

    Example:

    >>> import numpy as np, rnnkit as keras
    >>> init = keras.initializers.RandomUniform(-1.0, 1.0, seed=1)
    >>> bool(np.all(np.abs(init((100,))) <= 1.0)), np.array_equal(init((3,)), init((3,)))
    (True, True)
    """

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
    """Draws from a normal distribution (also `"normal"`).

    Args:
        mean: Float, the mean. Defaults to 0.
        stddev: Float, the standard deviation. Defaults to 0.05.
        seed: Optional int (the same values on every call), `rnnkit.random.SeedGenerator`
            (a reproducible stream, new values on each call) or `None` (a draw from the
            global stream, which `rnnkit.utils.set_random_seed` makes reproducible).

    Call arguments:
        shape: An int or a tuple of ints.
        dtype: Optional dtype. Defaults to float32.

    Returns:
        A NumPy array of `shape` and `dtype`.
    """

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
    """Draws from a truncated normal distribution.

    Values more than two standard deviations from the mean are drawn again.

    Args:
        mean: Float, the mean. Defaults to 0.
        stddev: Float, the standard deviation before truncation. Defaults to 0.05.
        seed: Optional int (the same values on every call), `rnnkit.random.SeedGenerator`
            (a reproducible stream, new values on each call) or `None` (a draw from the
            global stream, which `rnnkit.utils.set_random_seed` makes reproducible).

    Call arguments:
        shape: An int or a tuple of ints.
        dtype: Optional dtype. Defaults to float32.

    Returns:
        A NumPy array of `shape` and `dtype`.
    """

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
    """Returns the fan-in and fan-out of a weight shape, with Keras' rules.

    `()` gives `(1, 1)`; `(n,)` gives `(n, n)`; `(a, b)` gives `(a, b)`; `(..., in, out)`
    gives `(in * r, out * r)`, where `r` is the product of the leading (receptive field)
    dimensions.

    Args:
        shape: A tuple of ints.

    Returns:
        A pair of ints `(fan_in, fan_out)`.

    Example:

    >>> import rnnkit as keras
    >>> keras.initializers.compute_fans((3, 3, 16, 32))
    (144, 288)
    """
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
    """An initializer whose scale adapts to the shape of the weight.

    With `n` the fan-in, the fan-out or their mean (per `mode`, see `compute_fans`):
    `"truncated_normal"` and `"untruncated_normal"` draw with a standard deviation of
    `sqrt(scale / n)` (after truncation), `"uniform"` draws from `[-limit, limit]` with
    `limit = sqrt(3 * scale / n)`.

    Args:
        scale: Positive float. Defaults to 1.0.
        mode: `"fan_in"` (the default), `"fan_out"` or `"fan_avg"`.
        distribution: `"truncated_normal"` (the default; `"normal"` means the same),
            `"untruncated_normal"` or `"uniform"` (any case).
        seed: Optional int (the same values on every call), `rnnkit.random.SeedGenerator`
            (a reproducible stream, new values on each call) or `None` (a draw from the
            global stream, which `rnnkit.utils.set_random_seed` makes reproducible).

    Call arguments:
        shape: An int or a tuple of ints.
        dtype: Optional dtype. Defaults to float32.

    Returns:
        A NumPy array of `shape` and `dtype`.

    Raises:
        ValueError: If `scale` is not positive, or `mode` or `distribution` is unknown.
    """

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

    def __init__(self, seed=None, input_axes=None, output_axes=None):
        if input_axes is not None or output_axes is not None:  # Keras 3.15 configs carry None
            raise ValueError(f"{type(self).__name__}: `input_axes` / `output_axes` are not "
                             f"supported; got {input_axes!r}, {output_axes!r}")
        super().__init__(scale=self._scale, mode=self._mode, distribution=self._distribution,
                         seed=seed)

    def get_config(self):
        return {"seed": _saving.serialize(self._init_seed)}


class GlorotUniform(_FixedVarianceScaling):
    """GlorotUniform (Xavier uniform) initializer; the default kernel initializer of
    Dense and the RNN layers.

    Draws from a uniform distribution on `[-limit, limit]`,
    `limit = sqrt(6 / (fan_in + fan_out))`,
    with the fans computed by `compute_fans` (a `VarianceScaling` with fixed arguments). Also available as `"glorot_uniform"`.

    Args:
        seed: Optional int (the same values on every call), `rnnkit.random.SeedGenerator`
            (a reproducible stream, new values on each call) or `None` (a draw from the
            global stream, which `rnnkit.utils.set_random_seed` makes reproducible).

    Call arguments:
        shape: An int or a tuple of ints.
        dtype: Optional dtype. Defaults to float32.

    Returns:
        A NumPy array of `shape` and `dtype`.

    Example:

    >>> import rnnkit as keras
    >>> keras.initializers.GlorotUniform(seed=0)((3, 4)).shape
    (3, 4)
    """
    _scale, _mode, _distribution = 1.0, "fan_avg", "uniform"


class GlorotNormal(_FixedVarianceScaling):
    """GlorotNormal (Xavier normal) initializer.

    Draws from a truncated normal distribution with a standard deviation of
    `sqrt(2 / (fan_in + fan_out))`,
    with the fans computed by `compute_fans` (a `VarianceScaling` with fixed arguments). Also available as `"glorot_normal"`.

    Args:
        seed: Optional int (the same values on every call), `rnnkit.random.SeedGenerator`
            (a reproducible stream, new values on each call) or `None` (a draw from the
            global stream, which `rnnkit.utils.set_random_seed` makes reproducible).

    Call arguments:
        shape: An int or a tuple of ints.
        dtype: Optional dtype. Defaults to float32.

    Returns:
        A NumPy array of `shape` and `dtype`.

    Example:

    >>> import rnnkit as keras
    >>> keras.initializers.GlorotNormal(seed=0)((3, 4)).shape
    (3, 4)
    """
    _scale, _mode, _distribution = 1.0, "fan_avg", "truncated_normal"


class HeUniform(_FixedVarianceScaling):
    """HeUniform initializer (He et al., 2015).

    Draws from a uniform distribution on `[-limit, limit]`,
    `limit = sqrt(6 / fan_in)`,
    with the fans computed by `compute_fans` (a `VarianceScaling` with fixed arguments). Also available as `"he_uniform"`.

    Args:
        seed: Optional int (the same values on every call), `rnnkit.random.SeedGenerator`
            (a reproducible stream, new values on each call) or `None` (a draw from the
            global stream, which `rnnkit.utils.set_random_seed` makes reproducible).

    Call arguments:
        shape: An int or a tuple of ints.
        dtype: Optional dtype. Defaults to float32.

    Returns:
        A NumPy array of `shape` and `dtype`.

    Example:

    >>> import rnnkit as keras
    >>> keras.initializers.HeUniform(seed=0)((3, 4)).shape
    (3, 4)
    """
    _scale, _mode, _distribution = 2.0, "fan_in", "uniform"


class HeNormal(_FixedVarianceScaling):
    """HeNormal initializer (He et al., 2015).

    Draws from a truncated normal distribution with a standard deviation of
    `sqrt(2 / fan_in)`,
    with the fans computed by `compute_fans` (a `VarianceScaling` with fixed arguments). Also available as `"he_normal"`.

    Args:
        seed: Optional int (the same values on every call), `rnnkit.random.SeedGenerator`
            (a reproducible stream, new values on each call) or `None` (a draw from the
            global stream, which `rnnkit.utils.set_random_seed` makes reproducible).

    Call arguments:
        shape: An int or a tuple of ints.
        dtype: Optional dtype. Defaults to float32.

    Returns:
        A NumPy array of `shape` and `dtype`.

    Example:

    >>> import rnnkit as keras
    >>> keras.initializers.HeNormal(seed=0)((3, 4)).shape
    (3, 4)
    """
    _scale, _mode, _distribution = 2.0, "fan_in", "truncated_normal"


class LecunUniform(_FixedVarianceScaling):
    """LecunUniform initializer.

    Draws from a uniform distribution on `[-limit, limit]`,
    `limit = sqrt(3 / fan_in)`,
    with the fans computed by `compute_fans` (a `VarianceScaling` with fixed arguments). Also available as `"lecun_uniform"`.

    Args:
        seed: Optional int (the same values on every call), `rnnkit.random.SeedGenerator`
            (a reproducible stream, new values on each call) or `None` (a draw from the
            global stream, which `rnnkit.utils.set_random_seed` makes reproducible).

    Call arguments:
        shape: An int or a tuple of ints.
        dtype: Optional dtype. Defaults to float32.

    Returns:
        A NumPy array of `shape` and `dtype`.

    Example:

    >>> import rnnkit as keras
    >>> keras.initializers.LecunUniform(seed=0)((3, 4)).shape
    (3, 4)
    """
    _scale, _mode, _distribution = 1.0, "fan_in", "uniform"


class LecunNormal(_FixedVarianceScaling):
    """LecunNormal initializer; the one to use with the `selu` activation.

    Draws from a truncated normal distribution with a standard deviation of
    `sqrt(1 / fan_in)`,
    with the fans computed by `compute_fans` (a `VarianceScaling` with fixed arguments). Also available as `"lecun_normal"`.

    Args:
        seed: Optional int (the same values on every call), `rnnkit.random.SeedGenerator`
            (a reproducible stream, new values on each call) or `None` (a draw from the
            global stream, which `rnnkit.utils.set_random_seed` makes reproducible).

    Call arguments:
        shape: An int or a tuple of ints.
        dtype: Optional dtype. Defaults to float32.

    Returns:
        A NumPy array of `shape` and `dtype`.

    Example:

    >>> import rnnkit as keras
    >>> keras.initializers.LecunNormal(seed=0)((3, 4)).shape
    (3, 4)
    """
    _scale, _mode, _distribution = 1.0, "fan_in", "truncated_normal"


class Orthogonal(RandomInitializer):
    """Initializes to a (semi-)orthogonal matrix times `gain` (also `"orthogonal"`).

    The default `recurrent_initializer` of the RNN layers. The shape is flattened to
    `(prod(shape[:-1]), shape[-1])`, which the Q factor of the QR decomposition of a
    standard normal matrix (made unique by the signs of R's diagonal) fills: with fewer
    rows than columns the rows are orthonormal (`W @ W.T = I`, e.g. a `(units,
    4 * units)` recurrent kernel), otherwise the columns are (`W.T @ W = I`).

    Args:
        gain: Float, the multiplier. Defaults to 1.0.
        seed: Optional int (the same values on every call), `rnnkit.random.SeedGenerator`
            (a reproducible stream, new values on each call) or `None` (a draw from the
            global stream, which `rnnkit.utils.set_random_seed` makes reproducible).

    Call arguments:
        shape: An int or a tuple of ints.
        dtype: Optional dtype. Defaults to float32.

    Returns:
        A NumPy array of `shape` and `dtype`.

    Raises:
        ValueError: (on call) If the shape has fewer than 2 dimensions or the dtype is not
            floating.

    Example:

    >>> import numpy as np, rnnkit as keras
    >>> w = keras.initializers.Orthogonal(seed=0)((3, 12))
    >>> bool(np.allclose(w @ w.T, np.eye(3), atol=1e-6))
    True
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
    """Serializes an initializer for saving.

    Args:
        initializer: An `Initializer`.

    Returns:
        A config dict (`{"module", "class_name", "config", ...}`).
    """
    return _saving.serialize(initializer)


def deserialize(config, custom_objects=None):
    """Returns an initializer from its serialized form.

    Args:
        config: A config dict from `serialize()`, or a name.
        custom_objects: Optional dict mapping names to custom initializers.

    Returns:
        An `Initializer` instance.
    """
    return _saving._deserialize_instance(config, custom_objects, ALL_OBJECTS_DICT)


def get(identifier):
    """Returns an initializer from an identifier.

    Args:
        identifier: A name (`"glorot_uniform"`, `"GlorotUniform"`, `"orthogonal"`,
            `"uniform"`, ...: an instance with the default arguments), a config dict, an
            `Initializer` class or instance, any callable `(shape, dtype)`, or `None`.

    Returns:
        The initializer (or callable), or `None` for `None`.

    Raises:
        ValueError: If the identifier cannot be interpreted.

    Example:

    >>> import rnnkit as keras
    >>> keras.initializers.get("he_normal")
    HeNormal(seed=None)
    """
    return _saving._get_object(identifier, "initializer", ALL_OBJECTS_DICT, deserialize)
