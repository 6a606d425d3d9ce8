"""Conv1DTranspose: the 1-D transposed convolution ("deconvolution") layer."""

from __future__ import annotations

from rnnkit import activations, constraints, initializers, ops, regularizers
from rnnkit.layers.convolutional._args import standardize_tuple
from rnnkit.layers.convolutional.conv1d import _Conv1DBase, _positive_int
from rnnkit.layers.layer import InputSpec
from rnnkit.ops.conv import transpose_output_length


class Conv1DTranspose(_Conv1DBase):
    """1-D transposed convolution: `activation(conv_transpose(inputs, kernel) + bias)`.

    It maps each input step to `kernel_size` output steps, `strides` apart (the gradient of
    a `Conv1D` with respect to its input), so it upsamples a sequence: with
    `padding="same"` the output has `steps * strides` steps, with `"valid"`
    `(steps - 1) * strides + max(kernel_size, strides)` (dilated kernel size), and
    `output_padding` sets the steps added at the end. Weights, in Keras' layout: `kernel`
    `(kernel_size, filters, channels)` and `bias` `(filters,)`.

    Args:
        filters: Positive int, the number of output channels.
        kernel_size: Int or 1-tuple, the kernel's length.
        strides: Int or 1-tuple. Defaults to 1.
        padding: `"valid"` (the default) or `"same"`.
        output_padding: Optional int or 1-tuple, smaller than `strides`. Defaults to `None`.
        data_format: `"channels_last"` or `"channels_first"`; defaults to the configured
            image data format.
        dilation_rate: Int or 1-tuple. Defaults to 1 (`strides > 1` with `dilation_rate >
            1` is refused, as in Keras).
        activation: Activation function. Defaults to `None`.
        use_bias: Bool. Defaults to `True`.
        kernel_initializer: Defaults to `"glorot_uniform"`.
        bias_initializer: Defaults to `"zeros"`.
        kernel_regularizer: Optional regularizer of `kernel`.
        bias_regularizer: Optional regularizer of `bias`.
        activity_regularizer: Optional regularizer of the output.
        kernel_constraint: Optional constraint of `kernel`.
        bias_constraint: Optional constraint of `bias`.
        **kwargs: Base layer arguments (`name`, `dtype`, ...).

    Raises:
        ValueError: For non-positive sizes, `output_padding >= strides`, strides and
            dilation both above 1, an invalid padding or data format, or an input not of
            rank 3.
        TypeError: If `filters` is not an int or `use_bias` not a bool.

    Example:

    >>> import numpy as np, rnnkit as keras
    >>> layer = keras.layers.Conv1DTranspose(4, 3, strides=2, padding="same")
    >>> layer(np.ones((2, 5, 3))).shape
    (2, 10, 4)
    >>> layer.kernel.shape
    (3, 4, 3)
    """

    def __init__(self, filters, kernel_size, strides=1, padding="valid", output_padding=None,
                 data_format=None, dilation_rate=1, activation=None, use_bias=True,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        self._init_common(filters, kernel_size, strides, padding, data_format, dilation_rate,
                          activation, use_bias, allow_causal=False)
        _positive_int(filters, "filters", "Conv1DTranspose")
        if output_padding is None:
            self.output_padding = None
        else:
            self.output_padding = standardize_tuple(output_padding, 1, "output_padding",
                                                    allow_zero=True)
            if self.output_padding[0] >= self.strides[0]:
                raise ValueError(f"`output_padding` must be strictly less than `strides` for "
                                 f"all dimensions. At dimension 0, `output_padding` is "
                                 f"{self.output_padding[0]} but `strides` is "
                                 f"{self.strides[0]}. Received: output_padding="
                                 f"{self.output_padding}, strides={self.strides}")
        if self.strides[0] > 1 and self.dilation_rate[0] > 1:
            raise ValueError(f"`strides > 1` not supported in conjunction with "
                             f"`dilation_rate > 1`. Received: strides={self.strides} and "
                             f"dilation_rate={self.dilation_rate}")
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.bias_constraint = constraints.get(bias_constraint)

    def _out_steps(self, steps, shape):
        if steps is None:
            return None
        out = transpose_output_length(steps, self.kernel_size[0], self.strides[0],
                                      self.dilation_rate[0], self.padding,
                                      None if self.output_padding is None
                                      else self.output_padding[0])
        if out <= 0:
            raise ValueError(f"Computed output size would be zero or negative for layer "
                             f"'{self.name}' (Conv1DTranspose): input shape {shape}")
        return out

    def build(self, input_shape):
        """Creates `kernel` `(kernel_size, filters, channels)` and `bias` `(filters,)`."""
        shape, channels = self._channels(input_shape)
        axis = 1 if self.data_format == "channels_first" else -1
        self.input_spec = InputSpec(ndim=3, axes={axis: channels})
        self.kernel = self.add_weight(
            shape=self.kernel_size + (self.filters, channels), name="kernel",
            initializer=self.kernel_initializer, regularizer=self.kernel_regularizer,
            constraint=self.kernel_constraint)
        self.bias = self.add_weight(
            shape=(self.filters,), name="bias", initializer=self.bias_initializer,
            regularizer=self.bias_regularizer, constraint=self.bias_constraint) \
            if self.use_bias else None

    def call(self, inputs):
        """Returns `activation(conv_transpose(inputs, kernel) + bias)`."""
        outputs = ops.conv_transpose(inputs, self.kernel, strides=self.strides[0],
                                     padding=self.padding,
                                     output_padding=None if self.output_padding is None
                                     else self.output_padding[0],
                                     data_format=self.data_format,
                                     dilation_rate=self.dilation_rate[0])
        return self._finish(outputs)

    def get_config(self):
        return {
            **super().get_config(), **self._common_config(),
            "output_padding": self.output_padding,
            "activation": activations.serialize(self.activation),
            "use_bias": self.use_bias,
            "kernel_initializer": initializers.serialize(self.kernel_initializer),
            "bias_initializer": initializers.serialize(self.bias_initializer),
            "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
            "bias_regularizer": regularizers.serialize(self.bias_regularizer),
            "activity_regularizer": regularizers.serialize(self.activity_regularizer),
            "kernel_constraint": constraints.serialize(self.kernel_constraint),
            "bias_constraint": constraints.serialize(self.bias_constraint),
        }


Convolution1DTranspose = Conv1DTranspose
