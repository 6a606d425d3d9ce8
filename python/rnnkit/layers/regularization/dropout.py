"""Dropout: zero a random fraction `rate` of the inputs while training, scaling the rest."""

from __future__ import annotations

import numbers

import numpy as np

from rnnkit import array_library, ops
from rnnkit import random as rnn_random
from rnnkit.autodiff import unwrap
from rnnkit.layers.core._checks import is_int, normalize_shape
from rnnkit.layers.layer import Layer, shape_of


def _check_rate(rate):
    if isinstance(rate, (bool, np.bool_)) or not isinstance(rate, numbers.Real):
        raise TypeError(f"Invalid value received for argument `rate`. Expected a float value "
                        f"between 0 and 1. Received: rate={rate!r} (of type "
                        f"{type(rate).__name__})")
    if not 0 <= rate <= 1:
        raise ValueError(f"Invalid value received for argument `rate`. Expected a float value "
                         f"between 0 and 1. Received: rate={rate}")
    return float(rate)


def _check_noise_shape(noise_shape):
    if noise_shape is None:
        return None
    if not isinstance(noise_shape, (list, tuple)) or \
            not all(d is None or (is_int(d) and d > 0) for d in noise_shape):
        raise ValueError(f"Argument `noise_shape` must be None or a tuple of positive ints "
                         f"(or None for the input's size), got {noise_shape!r}")
    return tuple(None if d is None else int(d) for d in noise_shape)


def _check_seed(seed):
    if seed is None or isinstance(seed, rnn_random.SeedGenerator):
        return seed
    if not is_int(seed):
        raise TypeError(f"Argument `seed` must be None, an int or a SeedGenerator, got "
                        f"{seed!r}")
    return int(seed)


class Dropout(Layer):
    """Applies (inverted) dropout to the input.

    While training, each element is set to 0 with probability `rate` and the others are
    scaled by `1 / (1 - rate)`, so that the expected output equals the input. Otherwise
    (`training=False`, the default outside `fit`) the layer returns its input unchanged.
    The input mask passes through unchanged.

    Args:
        rate: Float in [0, 1], the fraction of the inputs to drop.
        noise_shape: Optional tuple, the shape of the binary dropout mask, broadcast to the
            input's shape; `None` entries take the input's size. For an input
            `(batch, timesteps, features)`, `noise_shape=(None, 1, None)` drops the same
            features at every timestep. Must have the input's rank.
        seed: Optional int (reproducible masks) or `rnnkit.random.SeedGenerator`.
        **kwargs: Base layer arguments (`name`, `dtype`, ...).

    Call arguments:
        inputs: An array of any shape.
        training: Bool, whether to drop (in training) or return the input unchanged.

    Returns:
        An array of the input's shape.

    Raises:
        ValueError: If `rate` is outside [0, 1], or `noise_shape` is not a tuple of
            positive ints / `None`, or cannot be broadcast to the input.
        TypeError: If `rate` is not a number or `seed` is not an int / SeedGenerator.

    Example:

    >>> import numpy as np, rnnkit as keras
    >>> layer = keras.layers.Dropout(0.5, seed=1)
    >>> x = np.ones((2, 4), dtype="float32")
    >>> layer(x)
    array([[1., 1., 1., 1.],
           [1., 1., 1., 1.]], dtype=float32)
    >>> sorted(set(layer(x, training=True).ravel().tolist()))
    [0.0, 2.0]
    """

    _mixed_precision = True   # computes under "mixed_bfloat16" (docs/mixed_precision.md)

    supports_masking = True

    def __init__(self, rate, noise_shape=None, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.rate = _check_rate(rate)
        self.noise_shape = _check_noise_shape(noise_shape)
        self.seed = _check_seed(seed)
        self.seed_generator = seed if isinstance(seed, rnn_random.SeedGenerator) else \
            rnn_random.SeedGenerator(self.seed)

    def _mask_shape(self, shape):
        if self.noise_shape is None:
            return shape
        if len(self.noise_shape) != len(shape):
            raise ValueError(f"Layer '{self.name}' (Dropout): `noise_shape` {self.noise_shape} "
                             f"must have the rank of the input, got input shape {shape}")
        out = tuple(s if d is None else d for d, s in zip(self.noise_shape, shape))
        for d, s in zip(out, shape):
            if d != 1 and d != s:
                raise ValueError(f"Layer '{self.name}' (Dropout): `noise_shape` {self.noise_shape}"
                                 f" cannot be broadcast to the input shape {shape}")
        return out

    def call(self, inputs, training=False):
        """Drops inputs when `training`; see the class docstring."""
        if not training or self.rate == 0.0:
            return inputs
        shape = self._mask_shape(shape_of(inputs))
        dtype = ops.dtype(inputs)
        # The mask is a constant ({0, 1/(1-rate)}); the gradient flows through the product.
        value = unwrap(inputs)
        xp = np if type(value) is np.ndarray else array_library.namespace(value)
        mask = rnn_random.dropout(xp.ones(shape, dtype=dtype), self.rate,   # on the device
                                  seed=self.seed_generator)
        return ops.multiply(inputs, mask.astype(dtype, copy=False))

    def compute_output_shape(self, input_shape):
        """Returns `input_shape` (as a tuple)."""
        return normalize_shape(input_shape, self)

    def get_config(self):
        seed = None if isinstance(self.seed, rnn_random.SeedGenerator) else self.seed
        return {**super().get_config(), "rate": self.rate, "seed": seed,
                "noise_shape": self.noise_shape}
