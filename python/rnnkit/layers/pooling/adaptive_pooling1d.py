"""AdaptiveAveragePooling1D and AdaptiveMaxPooling1D: pool a sequence to a fixed length."""

from __future__ import annotations

from rnnkit import ops
from rnnkit.layers.convolutional._args import standardize_data_format
from rnnkit.layers.core._checks import is_int, normalize_shape
from rnnkit.layers.layer import InputSpec, Layer


class _AdaptivePooling1D(Layer):
    """Shared arguments, shapes and config of the 1-D adaptive pooling layers."""

    _op = None

    def __init__(self, output_size, data_format=None, **kwargs):
        if is_int(output_size):
            output_size = (int(output_size),)
        elif isinstance(output_size, (tuple, list)):
            if len(output_size) != 1:
                raise ValueError(f"For 1D input, `output_size` tuple must have length 1. "
                                 f"Received: {output_size}")
            output_size = tuple(output_size)
        else:
            raise TypeError(f"`output_size` must be an integer or tuple of 1 integer. "
                            f"Received: {output_size} of type {type(output_size)}")
        if not is_int(output_size[0]) or output_size[0] < 1:
            raise ValueError(f"`output_size` must be a positive integer. Received: "
                             f"{output_size}")
        super().__init__(**kwargs)
        self.output_size = (int(output_size[0]),)
        self.data_format = standardize_data_format(data_format)
        self.input_spec = InputSpec(ndim=3)
        self.built = True

    def call(self, inputs):
        """Returns the pooled sequence, `output_size` steps long."""
        return getattr(ops, self._op)(inputs, self.output_size[0],
                                      data_format=self.data_format)

    def compute_output_shape(self, input_shape):
        """Returns `(batch, output_size, channels)` (or channels-first)."""
        shape = normalize_shape(input_shape, self)
        if len(shape) != 3:
            raise ValueError(f"Layer '{self.name}' ({type(self).__name__}) expects an input of "
                             f"rank 3, got input shape {shape}")
        if self.data_format == "channels_last":
            return (shape[0], self.output_size[0], shape[-1])
        return (shape[0], shape[1], self.output_size[0])

    def get_config(self):
        return {**super().get_config(), "output_size": self.output_size,
                "data_format": self.data_format}


class AdaptiveAveragePooling1D(_AdaptivePooling1D):
    """Adaptive average pooling: the mean over `output_size` windows covering the steps.

    Window `i` of an input with `L` steps spans steps `floor(i * L / n)` to
    `ceil((i + 1) * L / n)` (`n = output_size`), as in Keras and PyTorch, so any input
    length gives `output_size` steps. No weights; the output has no mask.

    Args:
        output_size: Int or 1-tuple, the number of output steps.
        data_format: `"channels_last"` or `"channels_first"`; defaults to the configured
            image data format.
        **kwargs: Base layer arguments (`name`, `dtype`, ...).

    Raises:
        ValueError: If `output_size` is not positive or a tuple of another length, or
            `data_format` is invalid.
        TypeError: If `output_size` is neither an int nor a tuple.

    Example:

    >>> import numpy as np, rnnkit as keras
    >>> x = np.arange(5.0).reshape(1, 5, 1)
    >>> keras.layers.AdaptiveAveragePooling1D(2)(x)[0, :, 0].tolist()
    [1.0, 3.0]
    """

    _op = "adaptive_average_pool"


class AdaptiveMaxPooling1D(_AdaptivePooling1D):
    """Adaptive max pooling: the maximum over `output_size` windows covering the steps.

    The windows are those of `AdaptiveAveragePooling1D`. No weights; the output has no mask.

    Args:
        output_size: Int or 1-tuple, the number of output steps.
        data_format: `"channels_last"` or `"channels_first"`; defaults to the configured
            image data format.
        **kwargs: Base layer arguments (`name`, `dtype`, ...).

    Raises:
        ValueError: If `output_size` is not positive or a tuple of another length, or
            `data_format` is invalid.
        TypeError: If `output_size` is neither an int nor a tuple.

    Example:

    >>> import numpy as np, rnnkit as keras
    >>> x = np.array([1.0, 4.0, 2.0, 0.0, 3.0]).reshape(1, 5, 1)
    >>> keras.layers.AdaptiveMaxPooling1D(2)(x)[0, :, 0].tolist()
    [4.0, 3.0]
    """

    _op = "adaptive_max_pool"
