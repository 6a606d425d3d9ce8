"""MaxPooling1D, AveragePooling1D, GlobalAveragePooling1D and GlobalMaxPooling1D."""

from __future__ import annotations

import numpy as np

from rnnkit import ops
from rnnkit.layers.convolutional._args import (standardize_data_format, standardize_padding,
                                               standardize_tuple)
from rnnkit.layers.core._checks import check_bool, normalize_shape
from rnnkit.layers.layer import InputSpec, Layer
from rnnkit.ops.conv import output_length


def _rank3(layer, input_shape):
    shape = normalize_shape(input_shape, layer)
    if len(shape) != 3:
        raise ValueError(f"Layer '{layer.name}' ({type(layer).__name__}) expects an input of "
                         f"rank 3 (batch, steps, channels), got input shape {shape}")
    return shape


class _Pooling1D(Layer):
    """Shared arguments and shapes of MaxPooling1D and AveragePooling1D."""

    _mode = None

    def __init__(self, pool_size=2, strides=None, padding="valid", data_format=None,
                 name=None, **kwargs):
        super().__init__(name=name, **kwargs)
        self.pool_size = standardize_tuple(pool_size, 1, "pool_size")
        self.strides = standardize_tuple(pool_size if strides is None else strides, 1,
                                         "strides")
        self.padding = standardize_padding(padding)
        self.data_format = standardize_data_format(data_format)
        self.input_spec = InputSpec(ndim=3)
        self.built = True   # no weights: built at creation, as Keras does

    def call(self, inputs):
        """Returns the pooled input."""
        fn = ops.max_pool if self._mode == "max" else ops.average_pool
        return fn(inputs, self.pool_size[0], strides=self.strides[0], padding=self.padding,
                  data_format=self.data_format)

    def compute_output_shape(self, input_shape):
        """Returns the input shape with the number of windows as steps.

        Raises:
            ValueError: If the input is not of rank 3 or no window fits ("valid").
        """
        shape = list(_rank3(self, input_shape))
        axis = 2 if self.data_format == "channels_first" else 1
        if shape[axis] is not None:
            out, _ = output_length(shape[axis], self.pool_size[0], self.strides[0], 1,
                                   self.padding)
            if out <= 0:
                raise ValueError(f"Computed output size would be zero or negative for layer "
                                 f"'{self.name}' ({type(self).__name__}): input shape "
                                 f"{tuple(input_shape)}, pool_size={self.pool_size}")
            shape[axis] = out
        return tuple(shape)

    def get_config(self):
        return {**super().get_config(), "pool_size": self.pool_size, "padding": self.padding,
                "strides": self.strides, "data_format": self.data_format}


_POOL_ARGS = """
    Args:
        pool_size: Positive int (or a 1-tuple), the window size. Defaults to 2.
        strides: Positive int (or a 1-tuple), the step between windows. Defaults to
            `pool_size`.
        padding: `"valid"` (the default) or `"same"` (output length `ceil(steps /
            strides)`).
        data_format: `"channels_last"` (`(B, steps, channels)`, the default) or
            `"channels_first"`.
        name: Optional layer name.
        **kwargs: Base layer arguments (`dtype`, ...).

    Call arguments:
        inputs: An array of rank 3.

    Returns:
        An array `(B, out_steps, channels)` (or channels-first). No mask.

    Raises:
        ValueError: For non-positive sizes, an unknown padding or data format, or an input
            that is not of rank 3.
"""


class MaxPooling1D(_Pooling1D):

    _mixed_precision = True   # computes under "mixed_bfloat16" (docs/mixed_precision.md)
    __doc__ = """Max pooling over windows of the steps axis (`rnnkit.ops.max_pool`).

    With `"same"` padding the padded positions never win.
""" + _POOL_ARGS + """
    Example:

    >>> import numpy as np, rnnkit as keras
    >>> x = np.array([1.0, 3.0, 2.0, 5.0, 4.0]).reshape(1, 5, 1)
    >>> keras.layers.MaxPooling1D(2)(x)[0, :, 0].tolist()
    [3.0, 5.0]
    """
    _mode = "max"


class AveragePooling1D(_Pooling1D):

    _mixed_precision = True   # computes under "mixed_bfloat16" (docs/mixed_precision.md)
    __doc__ = """Average pooling over windows of the steps axis (`rnnkit.ops.average_pool`).

    With `"same"` padding a window's mean is taken over its real steps only, as in Keras.
""" + _POOL_ARGS + """
    Example:

    >>> import numpy as np, rnnkit as keras
    >>> x = np.array([1.0, 3.0, 2.0, 5.0, 4.0]).reshape(1, 5, 1)
    >>> keras.layers.AveragePooling1D(2, padding="same")(x)[0, :, 0].tolist()
    [2.0, 3.5, 4.0]
    """
    _mode = "average"


class _GlobalPooling1D(Layer):
    def __init__(self, data_format=None, keepdims=False, **kwargs):
        super().__init__(**kwargs)
        self.data_format = standardize_data_format(data_format)
        self.keepdims = check_bool(keepdims, "keepdims")
        self.input_spec = InputSpec(ndim=3)
        self.built = True   # no weights: built at creation, as Keras does

    @property
    def _steps_axis(self):
        return 1 if self.data_format == "channels_last" else 2

    def compute_output_shape(self, input_shape):
        """Returns `(batch, channels)`, or with `keepdims` `(batch, 1, channels)` (channels-
        first: `(batch, channels, 1)`)."""
        shape = _rank3(self, input_shape)
        if self.data_format == "channels_last":
            return (shape[0], 1, shape[2]) if self.keepdims else (shape[0], shape[2])
        return (shape[0], shape[1], 1) if self.keepdims else (shape[0], shape[1])

    def get_config(self):
        return {**super().get_config(), "data_format": self.data_format,
                "keepdims": self.keepdims}


class GlobalAveragePooling1D(_GlobalPooling1D):
    """The mean over the steps axis: `(B, steps, channels)` -> `(B, channels)`.

    With a mask `(B, steps)` (from `Embedding(mask_zero=True)`, `Masking`, ...) the mean is
    taken over the unmasked steps only, as in Keras (a sample with every step masked gives
    NaN, 0 / 0, as Keras does). The output has no mask.

    Args:
        data_format: `"channels_last"` (the default) or `"channels_first"`.
        keepdims: Bool, keep the steps axis with size 1. Defaults to `False`.
        **kwargs: Base layer arguments (`name`, `dtype`, ...).

    Call arguments:
        inputs: An array of rank 3.
        mask: Optional `(B, steps)` mask (True = real step).

    Returns:
        An array `(B, channels)` (or with `keepdims`, the steps axis of size 1).

    Raises:
        ValueError: For an unknown data format or an input not of rank 3.
        TypeError: If `keepdims` is not a bool.

    Example:

    >>> import numpy as np, rnnkit as keras
    >>> x = np.array([[[1.0], [3.0], [100.0]]])
    >>> keras.layers.GlobalAveragePooling1D()(x, mask=np.array([[True, True, False]])).tolist()
    [[2.0]]
    """

    _mixed_precision = True   # computes under "mixed_bfloat16" (docs/mixed_precision.md)

    supports_masking = True

    def call(self, inputs, mask=None):
        """Returns the (masked) mean over the steps."""
        axis = self._steps_axis
        if mask is None:
            return ops.mean(inputs, axis=axis, keepdims=self.keepdims)
        keep = np.asarray(ops.convert_to_numpy(mask)).astype(bool)
        keep = keep[:, :, None] if self.data_format == "channels_last" else keep[:, None, :]
        dtype = ops.dtype(inputs)
        summed = ops.sum(ops.where(keep, inputs, np.zeros((), dtype=dtype)), axis=axis,
                         keepdims=self.keepdims)
        counts = keep.astype(dtype).sum(axis=axis, keepdims=self.keepdims)
        with np.errstate(invalid="ignore", divide="ignore"):
            return ops.divide(summed, counts)

    def compute_mask(self, inputs, previous_mask=None):
        """Returns None: the steps axis is reduced away."""
        return None


class GlobalMaxPooling1D(_GlobalPooling1D):
    """The maximum over the steps axis: `(B, steps, channels)` -> `(B, channels)`.

    Like Keras 3, the layer takes no mask: every step counts, masked ones included (put a
    very negative value in masked steps first, or use `GlobalAveragePooling1D`, which
    honours masks). The output has no mask.

    Args:
        data_format: `"channels_last"` (the default) or `"channels_first"`.
        keepdims: Bool, keep the steps axis with size 1. Defaults to `False`.
        **kwargs: Base layer arguments (`name`, `dtype`, ...).

    Call arguments:
        inputs: An array of rank 3.

    Returns:
        An array `(B, channels)` (or with `keepdims`, the steps axis of size 1).

    Raises:
        ValueError: For an unknown data format or an input not of rank 3.
        TypeError: If `keepdims` is not a bool.

    Example:

    >>> import numpy as np, rnnkit as keras
    >>> keras.layers.GlobalMaxPooling1D()(np.array([[[1.0], [3.0], [2.0]]])).tolist()
    [[3.0]]
    """

    _mixed_precision = True   # computes under "mixed_bfloat16" (docs/mixed_precision.md)

    def call(self, inputs):
        """Returns the maximum over the steps."""
        return ops.max(inputs, axis=self._steps_axis, keepdims=self.keepdims)
