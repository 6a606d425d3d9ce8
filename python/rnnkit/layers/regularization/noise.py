"""SpatialDropout1D, GaussianNoise, GaussianDropout, AlphaDropout and ActivityRegularization."""

from __future__ import annotations

import contextlib
import math
import numbers

import numpy as np

from rnnkit import array_library, ops, placement
from rnnkit import random as rnn_random
from rnnkit import regularizers
from rnnkit.autodiff import unwrap
from rnnkit.layers.core._checks import normalize_shape
from rnnkit.layers.layer import InputSpec, Layer, shape_of
from rnnkit.layers.regularization.dropout import _check_noise_shape, _check_rate, _check_seed

SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946


def _seed_generator(seed):
    return seed if isinstance(seed, rnn_random.SeedGenerator) else \
        rnn_random.SeedGenerator(seed)


def _device_of(inputs):
    """A `rnnkit.device` block for the device of `inputs`, so that draws land there."""
    value = unwrap(inputs)
    if type(value) is np.ndarray:
        return contextlib.nullcontext()
    return placement.device(array_library.device_of(value))


def _config_seed(seed):
    return None if isinstance(seed, rnn_random.SeedGenerator) else seed


class _PassThrough(Layer):
    supports_masking = True

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.built = True   # no weights: built at creation, as Keras does

    def compute_output_shape(self, input_shape):
        """Returns `input_shape`."""
        return normalize_shape(input_shape, self)


class SpatialDropout1D(_PassThrough):
    """Dropout of whole channels: while training, each channel of a sample `(B, steps,
    channels)` is zeroed at every step with probability `rate` (the others are scaled by
    `1 / (1 - rate)`). The noise shape is `(B, 1, channels)`.

    Args:
        rate: Float in [0, 1], the fraction of channels dropped.
        seed: Optional int or `rnnkit.random.SeedGenerator`.
        name: Optional layer name.
        dtype: Optional dtype.

    Call arguments:
        inputs: An array of rank 3.
        training: Bool; outside training the input is returned unchanged.

    Returns:
        An array of the input's shape; the mask passes through.

    Raises:
        ValueError: If `rate` is outside [0, 1] or the input is not of rank 3.
        TypeError: If `rate` is not a number or `seed` not an int / SeedGenerator.

    Example:

    >>> import numpy as np, rnnkit as keras
    >>> y = keras.layers.SpatialDropout1D(0.5, seed=0)(np.ones((1, 3, 4)), training=True)
    >>> bool((y == y[:, :1, :]).all())
    True
    """

    def __init__(self, rate, seed=None, name=None, dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.rate = _check_rate(rate)
        self.seed = _check_seed(seed)
        self.seed_generator = _seed_generator(self.seed)
        self.input_spec = InputSpec(ndim=3)

    def call(self, inputs, training=False):
        """Drops whole channels when `training`."""
        if not training or self.rate == 0.0:
            return inputs
        b, _, c = shape_of(inputs)
        dtype = ops.dtype(inputs)
        value = unwrap(inputs)
        xp = np if type(value) is np.ndarray else array_library.namespace(value)
        mask = rnn_random.dropout(xp.ones((b, 1, c), dtype=dtype), self.rate,
                                  seed=self.seed_generator)
        return ops.multiply(inputs, array_library.as_array(mask, dtype=dtype))

    def get_config(self):
        return {"rate": self.rate, "seed": _config_seed(self.seed), "name": self.name,
                "dtype": self.dtype}


def _check_unit_interval(value, argument):
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"Invalid value received for argument `{argument}`. Expected a float "
                        f"value between 0 and 1. Received: {argument}={value!r}")
    if not 0 <= value <= 1:
        raise ValueError(f"Invalid value received for argument `{argument}`. Expected a float "
                         f"value between 0 and 1. Received: {argument}={value}")
    return float(value)


class GaussianNoise(_PassThrough):
    """Adds zero-mean Gaussian noise of standard deviation `stddev` while training.

    Args:
        stddev: Float in [0, 1] (Keras' range), the noise's standard deviation.
        seed: Optional int or `rnnkit.random.SeedGenerator`.
        **kwargs: Base layer arguments (`name`, `dtype`, ...).

    Call arguments:
        inputs: An array of any shape.
        training: Bool; outside training the input is returned unchanged.

    Returns:
        An array of the input's shape; the mask passes through.

    Raises:
        ValueError: If `stddev` is outside [0, 1].
        TypeError: If `stddev` is not a number or `seed` not an int / SeedGenerator.

    Example:

    >>> import numpy as np, rnnkit as keras
    >>> layer = keras.layers.GaussianNoise(0.1, seed=0)
    >>> layer(np.zeros((2, 3))).tolist()
    [[0.0, 0.0, 0.0], [0.0, 0.0, 0.0]]
    """

    def __init__(self, stddev, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.stddev = _check_unit_interval(stddev, "stddev")
        self.seed = _check_seed(seed)
        self.seed_generator = _seed_generator(self.seed)

    def call(self, inputs, training=False):
        """Adds the noise when `training`."""
        if not training or self.stddev == 0.0:
            return inputs
        dtype = ops.dtype(inputs)
        with _device_of(inputs):
            noise = rnn_random.normal(shape_of(inputs), mean=0.0, stddev=self.stddev,
                                      dtype=dtype, seed=self.seed_generator)
        return ops.add(inputs, array_library.as_array(noise, dtype=dtype))

    def get_config(self):
        return {**super().get_config(), "stddev": self.stddev,
                "seed": _config_seed(self.seed)}


class GaussianDropout(_PassThrough):
    """Multiplies the input by Gaussian noise of mean 1 and standard deviation
    `sqrt(rate / (1 - rate))` while training.

    Args:
        rate: Float in [0, 1], the equivalent drop probability.
        seed: Optional int or `rnnkit.random.SeedGenerator`.
        **kwargs: Base layer arguments (`name`, `dtype`, ...).

    Call arguments:
        inputs: An array of any shape.
        training: Bool; outside training the input is returned unchanged.

    Returns:
        An array of the input's shape; the mask passes through.

    Raises:
        ValueError: If `rate` is outside [0, 1].
        TypeError: If `rate` is not a number or `seed` not an int / SeedGenerator.

    Example:

    >>> import numpy as np, rnnkit as keras
    >>> keras.layers.GaussianDropout(0.2)(np.ones((1, 2))).tolist()
    [[1.0, 1.0]]
    """

    def __init__(self, rate, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.rate = _check_rate(rate)
        self.seed = _check_seed(seed)
        self.seed_generator = _seed_generator(self.seed)

    def call(self, inputs, training=False):
        """Multiplies by the noise when `training`."""
        if not training or self.rate == 0.0:
            return inputs
        dtype = ops.dtype(inputs)
        stddev = math.sqrt(self.rate / (1.0 - self.rate)) if self.rate < 1 else math.inf
        with _device_of(inputs):
            noise = rnn_random.normal(shape_of(inputs), mean=1.0, stddev=stddev, dtype=dtype,
                                      seed=self.seed_generator)
        return ops.multiply(inputs, array_library.as_array(noise, dtype=dtype))

    def get_config(self):
        return {**super().get_config(), "rate": self.rate, "seed": _config_seed(self.seed)}


class AlphaDropout(_PassThrough):
    """Alpha dropout (for SELU networks): while training, dropped inputs are set to the
    SELU saturation value `-alpha * scale` and the result is transformed by `a * x + b` so
    that mean and variance are kept (Klambauer et al., 2017), with
    `a = ((1 - rate) * (1 + rate * alpha_p**2)) ** -0.5` and `b = -a * alpha_p * rate`.

    Args:
        rate: Float in [0, 1], the drop probability.
        noise_shape: Optional tuple, the shape of the keep mask (broadcast to the input;
            `None` entries take the input's size).
        seed: Optional int or `rnnkit.random.SeedGenerator`.
        **kwargs: Base layer arguments (`name`, `dtype`, ...).

    Call arguments:
        inputs: An array of any shape.
        training: Bool; outside training the input is returned unchanged.

    Returns:
        An array of the input's shape; the mask passes through.

    Raises:
        ValueError: If `rate` is outside [0, 1] or `noise_shape` is invalid.
        TypeError: If `rate` is not a number or `seed` not an int / SeedGenerator.

    Example:

    >>> import numpy as np, rnnkit as keras
    >>> keras.layers.AlphaDropout(0.2)(np.ones((1, 2))).tolist()
    [[1.0, 1.0]]
    """

    def __init__(self, rate, noise_shape=None, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.rate = _check_rate(rate)
        self.noise_shape = _check_noise_shape(noise_shape)
        self.seed = _check_seed(seed)
        self.seed_generator = _seed_generator(self.seed)

    def call(self, inputs, training=False):
        """Applies alpha dropout when `training`."""
        if not training or self.rate == 0.0:
            return inputs
        shape = shape_of(inputs)
        if self.noise_shape is not None:
            if len(self.noise_shape) != len(shape):
                raise ValueError(f"Layer '{self.name}' (AlphaDropout): `noise_shape` "
                                 f"{self.noise_shape} must have the rank of the input, got "
                                 f"input shape {shape}")
            shape = tuple(s if d is None else d for d, s in zip(self.noise_shape, shape))
        dtype = ops.dtype(inputs)
        with _device_of(inputs):
            kept = (array_library.as_array(rnn_random.uniform(
                shape, dtype=dtype, seed=self.seed_generator)) >= self.rate).astype(dtype)
        alpha_p = -SELU_ALPHA * SELU_SCALE
        a = ((1 - self.rate) * (1 + self.rate * alpha_p ** 2)) ** -0.5
        b = -a * alpha_p * self.rate
        x = ops.add(ops.multiply(inputs, kept), (alpha_p * (1 - kept)).astype(dtype))
        return ops.add(ops.multiply(x, np.asarray(a, dtype=dtype)), np.asarray(b, dtype=dtype))

    def get_config(self):
        return {**super().get_config(), "rate": self.rate, "seed": _config_seed(self.seed),
                "noise_shape": self.noise_shape}


class ActivityRegularization(_PassThrough):
    """Returns its input unchanged and adds `l1 * sum(|x|) + l2 * sum(x**2)` of it to the
    layer's `losses` on every call.

    Args:
        l1: Non-negative float, the L1 factor. Defaults to 0.
        l2: Non-negative float, the L2 factor. Defaults to 0.
        **kwargs: Base layer arguments (`name`, `dtype`, ...).

    Raises:
        ValueError: If a factor is negative or not a number.

    Example:

    >>> import numpy as np, rnnkit as keras
    >>> layer = keras.layers.ActivityRegularization(l1=0.5)
    >>> _ = layer(np.array([[1.0, -2.0]]))
    >>> [float(loss) for loss in layer.losses]
    [1.5]
    """

    def __init__(self, l1=0.0, l2=0.0, **kwargs):
        kwargs.pop("activity_regularizer", None)
        super().__init__(activity_regularizer=regularizers.L1L2(l1=l1, l2=l2), **kwargs)
        self.l1 = float(l1)
        self.l2 = float(l2)

    def call(self, inputs):
        """Returns `inputs` (the penalty is added by the base layer)."""
        return inputs

    def get_config(self):
        return {**super().get_config(), "l1": self.l1, "l2": self.l2}
