"""Masking: skip the timesteps whose features all equal `mask_value`."""

from __future__ import annotations

import numbers

import numpy as np

from rnnkit import ops
from rnnkit.layers.core._checks import normalize_shape
from rnnkit.layers.layer import InputSpec, Layer


class Masking(Layer):
    """Masks the timesteps of a sequence whose features all equal `mask_value`.

    The mask is `any(inputs != mask_value, axis=-1)`: shape `(batch, timesteps)` for an
    input `(batch, timesteps, features)`. Layers after it that support masking (the RNN
    layers, `Dense`, `TimeDistributed`, ...) skip or pass on the masked timesteps. The
    output equals the input, except that masked timesteps are set to 0 in every feature (a
    timestep with one differing feature, e.g. `[3, 0]` with `mask_value=0`, is kept).

    Args:
        mask_value: A number (not a bool). Defaults to `0.0`.
        **kwargs: Base layer arguments (`name`, `dtype`, ...).

    Call arguments:
        inputs: An array of rank >= 1.

    Returns:
        An array of the input's shape.

    Raises:
        TypeError: If `mask_value` is not a number.

    Example:

    >>> import numpy as np, rnnkit as keras
    >>> x = np.array([[[1.0, 2.0], [0.0, 0.0], [3.0, 0.0]]])
    >>> keras.layers.Masking(mask_value=0.0).compute_mask(x)
    array([[ True, False,  True]])
    """

    _mixed_precision = True   # computes under "mixed_bfloat16" (docs/mixed_precision.md)

    supports_masking = True

    def __init__(self, mask_value=0.0, **kwargs):
        super().__init__(**kwargs)
        if isinstance(mask_value, (bool, np.bool_)) or not isinstance(mask_value, numbers.Number):
            raise TypeError(f"Argument `mask_value` must be a number, got {mask_value!r} "
                            f"of type {type(mask_value).__name__}")
        self.mask_value = mask_value.item() if isinstance(mask_value, np.generic) else mask_value
        self.input_spec = InputSpec(min_ndim=1)

    def _keep(self, inputs, keepdims):
        return ops.any(ops.not_equal(inputs, self.mask_value), axis=-1, keepdims=keepdims)

    def call(self, inputs):
        """Returns the input with its masked timesteps set to 0."""
        keep = self._keep(inputs, keepdims=True)
        return ops.where(keep, inputs, ops.zeros((), dtype=ops.dtype(inputs)))

    def compute_mask(self, inputs, previous_mask=None):
        """Returns `any(inputs != mask_value, axis=-1)`; `previous_mask` is ignored."""
        return self._keep(inputs, keepdims=False)

    def compute_output_shape(self, input_shape):
        """Returns `input_shape` (as a tuple)."""
        return normalize_shape(input_shape, self)

    def get_config(self):
        return {**super().get_config(), "mask_value": self.mask_value}
