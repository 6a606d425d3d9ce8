"""Cropping1D, ZeroPadding1D and UpSampling1D: layers that change the length of a sequence."""

from __future__ import annotations

from rnnkit import ops
from rnnkit.layers.convolutional._args import standardize_data_format, standardize_tuple
from rnnkit.layers.core._checks import is_int, normalize_shape
from rnnkit.layers.layer import InputSpec, Layer


def _rank3(layer, shape):
    shape = normalize_shape(shape, layer)
    if len(shape) != 3:
        raise ValueError(f"Layer '{layer.name}' ({type(layer).__name__}) expects an input of "
                         f"rank 3 (batch, steps, features), got input shape {shape}")
    return shape


class Cropping1D(Layer):
    """Removes `cropping[0]` steps from the start and `cropping[1]` from the end of each
    sequence `(B, T, F)` (axis 1).

    Args:
        cropping: Int (the same at both ends) or a pair of non-negative ints. Defaults to
            `(1, 1)`.
        **kwargs: Base layer arguments (`name`, `dtype`, ...).

    Raises:
        ValueError: If `cropping` is not an int or a pair of non-negative ints, or removes
            the whole sequence.

    Example:

    >>> import numpy as np, rnnkit as keras
    >>> keras.layers.Cropping1D((1, 2))(np.zeros((2, 6, 3))).shape
    (2, 3, 3)
    """

    def __init__(self, cropping=(1, 1), **kwargs):
        super().__init__(**kwargs)
        self.cropping = standardize_tuple(cropping, 2, "cropping", allow_zero=True)
        self.input_spec = InputSpec(ndim=3)
        self.built = True   # no weights: built at creation, as Keras does

    def _check_length(self, length, shape):
        if length is not None and sum(self.cropping) >= length:
            raise ValueError(f"`cropping` parameter of `Cropping1D` layer must be smaller than "
                             f"the input length. Received: input_shape={shape}, "
                             f"cropping={self.cropping}")

    def call(self, inputs):
        """Returns `inputs[:, cropping[0]:T - cropping[1], :]`."""
        length = inputs.shape[1]
        self._check_length(length, tuple(inputs.shape))
        return inputs[:, self.cropping[0]:length - self.cropping[1], :]

    def compute_output_shape(self, input_shape):
        """Returns `(batch, T - cropping[0] - cropping[1], features)`."""
        shape = _rank3(self, input_shape)
        self._check_length(shape[1], shape)
        length = None if shape[1] is None else shape[1] - sum(self.cropping)
        return (shape[0], length, shape[2])

    def get_config(self):
        return {**super().get_config(), "cropping": self.cropping}


class ZeroPadding1D(Layer):
    """Adds zeros at the start and end of each sequence (the steps axis).

    Args:
        padding: Int (the same at both ends) or a pair of non-negative ints. Defaults to
            1.
        data_format: `"channels_last"` (`(B, T, F)`, the default) or `"channels_first"`
            (`(B, F, T)`).
        **kwargs: Base layer arguments (`name`, `dtype`, ...).

    Raises:
        ValueError: If `padding` is not an int or a pair of non-negative ints, or
            `data_format` is invalid.

    Example:

    >>> import numpy as np, rnnkit as keras
    >>> keras.layers.ZeroPadding1D((1, 2))(np.ones((1, 2, 1)))[0, :, 0].tolist()
    [0.0, 1.0, 1.0, 0.0, 0.0]
    """

    def __init__(self, padding=1, data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.data_format = standardize_data_format(data_format)
        self.padding = standardize_tuple(padding, 2, "padding", allow_zero=True)
        self.input_spec = InputSpec(ndim=3)
        self.built = True   # no weights: built at creation, as Keras does

    def call(self, inputs):
        """Returns the input padded with zeros along the steps axis."""
        pads = ((0, 0), (0, 0), self.padding) if self.data_format == "channels_first" else \
            ((0, 0), self.padding, (0, 0))
        return ops.pad(inputs, pads)

    def compute_output_shape(self, input_shape):
        """Returns the input shape with `sum(padding)` more steps."""
        shape = list(_rank3(self, input_shape))
        axis = 2 if self.data_format == "channels_first" else 1
        if shape[axis] is not None:
            shape[axis] += sum(self.padding)
        return tuple(shape)

    def get_config(self):
        return {**super().get_config(), "padding": self.padding,
                "data_format": self.data_format}


class UpSampling1D(Layer):
    """Repeats each step `size` times along the steps axis: `(B, T, F)` -> `(B, size*T, F)`.

    Args:
        size: Positive int, the upsampling factor. Defaults to 2.
        **kwargs: Base layer arguments (`name`, `dtype`, ...).

    Raises:
        TypeError: If `size` is not an int.
        ValueError: If `size` is not positive.

    Example:

    >>> import numpy as np, rnnkit as keras
    >>> keras.layers.UpSampling1D(2)(np.array([[[1.0], [2.0]]]))[0, :, 0].tolist()
    [1.0, 1.0, 2.0, 2.0]
    """

    def __init__(self, size=2, **kwargs):
        if not is_int(size):
            raise TypeError(f"Expected an integer value for `size`, got {type(size).__name__} "
                            f"({size!r}).")
        if size <= 0:
            raise ValueError(f"Argument `size` should be a positive integer. Received: "
                             f"size={size}")
        super().__init__(**kwargs)
        self.size = int(size)
        self.input_spec = InputSpec(ndim=3)
        self.built = True   # no weights: built at creation, as Keras does

    def call(self, inputs):
        """Returns the input with each step repeated `size` times."""
        return ops.repeat(inputs, self.size, axis=1)

    def compute_output_shape(self, input_shape):
        """Returns `(batch, size * steps, features)`."""
        shape = _rank3(self, input_shape)
        return (shape[0], None if shape[1] is None else self.size * shape[1], shape[2])

    def get_config(self):
        return {**super().get_config(), "size": self.size}
