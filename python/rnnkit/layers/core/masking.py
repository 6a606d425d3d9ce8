"""Masking: skip the timesteps whose features all equal `mask_value`."""

from __future__ import annotations

import numbers

import numpy as np

from rnnkit import ops
from rnnkit.layers.core._checks import normalize_shape
from rnnkit.layers.layer import InputSpec, Layer


class Masking(Layer):
    """Masks the steps of a sequence where every feature equals `mask_value` (Keras' `Masking`).

    `compute_mask(x)` is `any(x != mask_value, axis=-1)`: shape `(B, T)` for an input
    `(B, T, D)`. The output equals the input, except that masked steps are set to 0 across all
    features (a step with one differing feature, e.g. `[3, 0]`, is kept unchanged).
    """

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
        keep = self._keep(inputs, keepdims=True)
        return ops.where(keep, inputs, ops.zeros((), dtype=ops.dtype(inputs)))

    def compute_mask(self, inputs, previous_mask=None):
        return self._keep(inputs, keepdims=False)

    def compute_output_shape(self, input_shape):
        return normalize_shape(input_shape, self)

    def get_config(self):
        return {**super().get_config(), "mask_value": self.mask_value}
