"""Conv1D and SeparableConv1D: 1-D convolutions over the steps of a sequence."""

from __future__ import annotations

from rnnkit import activations, constraints, initializers, ops, regularizers
from rnnkit.layers.convolutional._args import (standardize_data_format, standardize_padding,
                                               standardize_tuple)
from rnnkit.layers.core._checks import check_bool, is_int, normalize_shape, refuse_lora
from rnnkit.layers.layer import InputSpec, Layer
from rnnkit.ops.conv import output_length


def _positive_int(value, argument, layer_name):
    if not is_int(value):
        raise TypeError(f"{layer_name}: argument `{argument}` must be a positive int, got "
                        f"{value!r} of type {type(value).__name__}")
    if value <= 0:
        raise ValueError(f"Invalid value for argument `{argument}`. Expected a strictly "
                         f"positive value. Received {argument}={value}.")
    return int(value)


class _Conv1DBase(Layer):
    """Shared argument handling, shapes and bias/activation of the 1-D convolutions."""

    def _init_common(self, filters, kernel_size, strides, padding, data_format, dilation_rate,
                     activation, use_bias, allow_causal):
        name = type(self).__name__
        self.filters = None if filters is None else _positive_int(filters, "filters", name)
        self.kernel_size = standardize_tuple(kernel_size, 1, "kernel_size")
        self.strides = standardize_tuple(strides, 1, "strides")
        self.dilation_rate = standardize_tuple(dilation_rate, 1, "dilation_rate")
        self.padding = standardize_padding(padding, allow_causal=allow_causal)
        self.data_format = standardize_data_format(data_format)
        self.activation = activations.get(activation)
        self.use_bias = check_bool(use_bias, "use_bias")
        self.input_spec = InputSpec(ndim=3)

    def _channels(self, input_shape):
        shape = normalize_shape(input_shape, self)
        if len(shape) != 3:
            raise ValueError(f"Layer '{self.name}' ({type(self).__name__}) expects an input of "
                             f"rank 3 (batch, steps, channels), got input shape {shape}")
        channels = shape[1] if self.data_format == "channels_first" else shape[-1]
        if channels is None:
            raise ValueError(f"Layer '{self.name}' ({type(self).__name__}): the channels axis "
                             f"of the input must be defined, got input shape {shape}")
        return shape, channels

    def _out_steps(self, steps, shape):
        if steps is None:
            return None
        k, s, d = self.kernel_size[0], self.strides[0], self.dilation_rate[0]
        if self.padding == "causal":
            out = -(-steps // s)
        else:
            out, _ = output_length(steps, k, s, d, self.padding)
        if out <= 0:
            raise ValueError(f"Computed output size would be zero or negative for layer "
                             f"'{self.name}' ({type(self).__name__}): input shape {shape}, "
                             f"kernel_size={self.kernel_size}, strides={self.strides}, "
                             f"dilation_rate={self.dilation_rate}, padding='{self.padding}'")
        return out

    def compute_output_shape(self, input_shape):
        """Returns `(batch, out_steps, filters)` (channels-first: `(batch, filters,
        out_steps)`).

        Raises:
            ValueError: If the input is not of rank 3 or the output would have no step.
        """
        shape, _ = self._channels(input_shape)
        if self.data_format == "channels_first":
            return (shape[0], self.filters, self._out_steps(shape[2], shape))
        return (shape[0], self._out_steps(shape[1], shape), self.filters)

    def _finish(self, outputs):
        if self.use_bias:
            shape = (1, 1, self.filters) if self.data_format == "channels_last" \
                else (1, self.filters, 1)
            outputs = ops.add(outputs, ops.reshape(self.bias, shape))
        return self.activation(outputs)

    def _causal_pad(self, inputs):
        left = self.dilation_rate[0] * (self.kernel_size[0] - 1)
        pads = [[0, 0], [left, 0], [0, 0]] if self.data_format == "channels_last" else \
            [[0, 0], [0, 0], [left, 0]]
        return ops.pad(inputs, pads)

    def _common_config(self):
        return {"filters": self.filters, "kernel_size": self.kernel_size,
                "strides": self.strides, "padding": self.padding,
                "data_format": self.data_format, "dilation_rate": self.dilation_rate}


class Conv1D(_Conv1DBase):
    """1-D convolution layer: `activation(conv1d(inputs, kernel) + bias)` over the steps.

    The layer slides `filters` kernels of `kernel_size` steps along the sequence (a
    cross-correlation, as in Keras). Computed as one matrix product of the gathered windows
    per call (`rnnkit.ops.conv`). Weights: `kernel` `(kernel_size, channels / groups,
    filters)` and, with `use_bias`, `bias` `(filters,)`. The output has no mask.

    Args:
        filters: Positive int, the number of output channels.
        kernel_size: Int (or a 1-tuple), the window length.
        strides: Int (or a 1-tuple), the step between windows. Defaults to 1. `strides > 1`
            with `dilation_rate > 1` is refused, as in Keras.
        padding: `"valid"` (no padding, the default), `"same"` (output length
            `ceil(steps / strides)`) or `"causal"` (`dilation_rate * (kernel_size - 1)`
            zeros before the sequence, so output `t` sees no input after `t`).
        data_format: `"channels_last"` (`(B, steps, channels)`, the default) or
            `"channels_first"` (`(B, channels, steps)`).
        dilation_rate: Int (or a 1-tuple), the spacing of the kernel taps. Defaults to 1.
        groups: Positive int dividing both the input channels and `filters`: each group of
            channels is convolved with its own `filters / groups` kernels. Defaults to 1.
        activation: Activation (a name or callable). Defaults to `None`, the identity.
        use_bias: Bool. Defaults to `True`.
        kernel_initializer: Defaults to `"glorot_uniform"`.
        bias_initializer: Defaults to `"zeros"`.
        kernel_regularizer: Optional regularizer of `kernel`.
        bias_regularizer: Optional regularizer of `bias`.
        activity_regularizer: Optional regularizer of the output.
        kernel_constraint: Optional constraint of `kernel`.
        bias_constraint: Optional constraint of `bias`.
        lora_rank: Must be `None` (LoRA is not implemented).
        lora_alpha: Accepted and ignored.
        **kwargs: Base layer arguments (`name`, `dtype`, ...).

    Call arguments:
        inputs: An array `(B, steps, channels)` (or channels-first).

    Returns:
        An array `(B, out_steps, filters)` (or channels-first).

    Raises:
        ValueError: For non-positive `filters`, `kernel_size`, `strides`, `dilation_rate`
            or `groups`, `filters` or the input channels not divisible by `groups`,
            `strides > 1` with `dilation_rate > 1`, an unknown padding or data format, an
            input not of rank 3, or an output with no step.
        TypeError: If `filters` or `groups` is not an int, or `use_bias` not a bool.

    Example:

    >>> import numpy as np, rnnkit as keras
    >>> layer = keras.layers.Conv1D(4, 3, padding="causal")
    >>> layer(np.ones((2, 10, 5))).shape
    (2, 10, 4)
    >>> layer.kernel.shape
    (3, 5, 4)
    """

    _mixed_precision = True   # computes under "mixed_bfloat16" (docs/mixed_precision.md)

    def __init__(self, filters, kernel_size, strides=1, padding="valid", data_format=None,
                 dilation_rate=1, groups=1, activation=None, use_bias=True,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, lora_rank=None,
                 lora_alpha=None, **kwargs):
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        self._init_common(filters, kernel_size, strides, padding, data_format, dilation_rate,
                          activation, use_bias, allow_causal=True)
        self.groups = _positive_int(groups, "groups", "Conv1D")
        if self.filters % self.groups:
            raise ValueError(f"The number of filters must be evenly divisible by the number of "
                             f"groups. Received: groups={self.groups}, filters={self.filters}.")
        if self.strides[0] > 1 and self.dilation_rate[0] > 1:
            raise ValueError(f"`strides > 1` not supported in conjunction with "
                             f"`dilation_rate > 1`. Received: strides={self.strides} and "
                             f"dilation_rate={self.dilation_rate}")
        refuse_lora("Conv1D", lora_rank, lora_alpha)
        self.lora_rank = None
        self.lora_alpha = None
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.bias_constraint = constraints.get(bias_constraint)

    def build(self, input_shape):
        """Creates `kernel` `(kernel_size, channels / groups, filters)` and `bias`.

        Raises:
            ValueError: If the input channels are not divisible by `groups`, or the output
                would have no step.
        """
        shape, channels = self._channels(input_shape)
        if channels % self.groups:
            raise ValueError(f"The number of input channels must be evenly divisible by the "
                             f"number of groups. Received groups={self.groups}, but the input "
                             f"has {channels} channels (full input shape is {shape}).")
        self.compute_output_shape(shape)
        axis = 1 if self.data_format == "channels_first" else -1
        self.input_spec = InputSpec(ndim=3, axes={axis: channels})
        self.kernel = self.add_weight(
            shape=self.kernel_size + (channels // self.groups, self.filters), name="kernel",
            initializer=self.kernel_initializer, regularizer=self.kernel_regularizer,
            constraint=self.kernel_constraint)
        self.bias = self.add_weight(
            shape=(self.filters,), name="bias", initializer=self.bias_initializer,
            regularizer=self.bias_regularizer, constraint=self.bias_constraint) \
            if self.use_bias else None

    def call(self, inputs):
        """Returns `activation(conv(inputs, kernel) + bias)`."""
        padding = self.padding
        if padding == "causal":
            inputs = self._causal_pad(inputs)
            padding = "valid"
        outputs = ops.conv(inputs, self.kernel, strides=self.strides[0], padding=padding,
                           data_format=self.data_format, dilation_rate=self.dilation_rate[0])
        return self._finish(outputs)

    def get_config(self):
        return {
            **super().get_config(), **self._common_config(),
            "groups": self.groups,
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


class SeparableConv1D(_Conv1DBase):
    """1-D separable convolution: a depthwise convolution (each channel with its own
    `depth_multiplier` kernels), then a pointwise (kernel size 1) convolution to `filters`
    channels, then bias and activation.

    Weights: `depthwise_kernel` `(kernel_size, channels, depth_multiplier)`,
    `pointwise_kernel` `(1, channels * depth_multiplier, filters)` and, with `use_bias`,
    `bias` `(filters,)`. The output has no mask.

    Args:
        filters: Positive int, the number of output channels.
        kernel_size: Int (or a 1-tuple), the window length of the depthwise step.
        strides: Int (or a 1-tuple). Defaults to 1.
        padding: `"valid"` (the default) or `"same"` (`"causal"` is refused, as in Keras).
        data_format: `"channels_last"` (the default) or `"channels_first"`.
        dilation_rate: Int (or a 1-tuple). Defaults to 1.
        depth_multiplier: Positive int, depthwise kernels per input channel. Defaults to 1.
        activation: Activation (a name or callable). Defaults to `None`.
        use_bias: Bool. Defaults to `True`.
        depthwise_initializer: Defaults to `"glorot_uniform"`.
        pointwise_initializer: Defaults to `"glorot_uniform"`.
        bias_initializer: Defaults to `"zeros"`.
        depthwise_regularizer: Optional regularizer.
        pointwise_regularizer: Optional regularizer.
        bias_regularizer: Optional regularizer.
        activity_regularizer: Optional regularizer of the output.
        depthwise_constraint: Optional constraint.
        pointwise_constraint: Optional constraint.
        bias_constraint: Optional constraint.
        **kwargs: Base layer arguments (`name`, `dtype`, ...).

    Call arguments:
        inputs: An array `(B, steps, channels)` (or channels-first).

    Returns:
        An array `(B, out_steps, filters)` (or channels-first).

    Raises:
        ValueError: For non-positive sizes, an unknown padding or data format, an input not
            of rank 3, or an output with no step.
        TypeError: If `filters` or `depth_multiplier` is not an int.

    Example:

    >>> import numpy as np, rnnkit as keras
    >>> layer = keras.layers.SeparableConv1D(4, 3, depth_multiplier=2)
    >>> layer(np.ones((2, 10, 5))).shape
    (2, 8, 4)
    >>> layer.depthwise_kernel.shape, layer.pointwise_kernel.shape
    ((3, 5, 2), (1, 10, 4))
    """

    def __init__(self, filters, kernel_size, strides=1, padding="valid", data_format=None,
                 dilation_rate=1, depth_multiplier=1, activation=None, use_bias=True,
                 depthwise_initializer="glorot_uniform", pointwise_initializer="glorot_uniform",
                 bias_initializer="zeros", depthwise_regularizer=None,
                 pointwise_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 depthwise_constraint=None, pointwise_constraint=None, bias_constraint=None,
                 **kwargs):
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        self._init_common(filters, kernel_size, strides, padding, data_format, dilation_rate,
                          activation, use_bias, allow_causal=False)
        self.depth_multiplier = _positive_int(depth_multiplier, "depth_multiplier",
                                              "SeparableConv1D")
        self.depthwise_initializer = initializers.get(depthwise_initializer)
        self.pointwise_initializer = initializers.get(pointwise_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.depthwise_regularizer = regularizers.get(depthwise_regularizer)
        self.pointwise_regularizer = regularizers.get(pointwise_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.depthwise_constraint = constraints.get(depthwise_constraint)
        self.pointwise_constraint = constraints.get(pointwise_constraint)
        self.bias_constraint = constraints.get(bias_constraint)

    def build(self, input_shape):
        """Creates `depthwise_kernel`, `pointwise_kernel` and `bias`.

        Raises:
            ValueError: If the output would have no step.
        """
        shape, channels = self._channels(input_shape)
        self.compute_output_shape(shape)
        axis = 1 if self.data_format == "channels_first" else -1
        self.input_spec = InputSpec(ndim=3, axes={axis: channels})
        self.depthwise_kernel = self.add_weight(
            shape=self.kernel_size + (channels, self.depth_multiplier), name="depthwise_kernel",
            initializer=self.depthwise_initializer, regularizer=self.depthwise_regularizer,
            constraint=self.depthwise_constraint)
        self.pointwise_kernel = self.add_weight(
            shape=(1, channels * self.depth_multiplier, self.filters), name="pointwise_kernel",
            initializer=self.pointwise_initializer, regularizer=self.pointwise_regularizer,
            constraint=self.pointwise_constraint)
        self.bias = self.add_weight(
            shape=(self.filters,), name="bias", initializer=self.bias_initializer,
            regularizer=self.bias_regularizer, constraint=self.bias_constraint) \
            if self.use_bias else None

    def call(self, inputs):
        """Returns `activation(separable_conv(inputs) + bias)`."""
        outputs = ops.separable_conv(inputs, self.depthwise_kernel, self.pointwise_kernel,
                                     strides=self.strides[0], padding=self.padding,
                                     data_format=self.data_format,
                                     dilation_rate=self.dilation_rate[0])
        return self._finish(outputs)

    def get_config(self):
        return {
            **super().get_config(), **self._common_config(),
            "depth_multiplier": self.depth_multiplier,
            "activation": activations.serialize(self.activation),
            "use_bias": self.use_bias,
            "depthwise_initializer": initializers.serialize(self.depthwise_initializer),
            "pointwise_initializer": initializers.serialize(self.pointwise_initializer),
            "bias_initializer": initializers.serialize(self.bias_initializer),
            "depthwise_regularizer": regularizers.serialize(self.depthwise_regularizer),
            "pointwise_regularizer": regularizers.serialize(self.pointwise_regularizer),
            "bias_regularizer": regularizers.serialize(self.bias_regularizer),
            "activity_regularizer": regularizers.serialize(self.activity_regularizer),
            "depthwise_constraint": constraints.serialize(self.depthwise_constraint),
            "pointwise_constraint": constraints.serialize(self.pointwise_constraint),
            "bias_constraint": constraints.serialize(self.bias_constraint),
        }


class DepthwiseConv1D(_Conv1DBase):
    """1-D depthwise convolution: each input channel is convolved with its own
    `depth_multiplier` kernels (no mixing across channels), then bias and activation.

    Output channel `c * depth_multiplier + m` is channel `c` convolved with
    `kernel[:, c, m]` (Keras' order). Weights: `kernel` `(kernel_size, channels,
    depth_multiplier)` and, with `use_bias`, `bias` `(channels * depth_multiplier,)`. The
    output has no mask.

    Args:
        kernel_size: Int (or a 1-tuple), the window length.
        strides: Int (or a 1-tuple). Defaults to 1.
        padding: `"valid"` (the default) or `"same"`.
        depth_multiplier: Positive int, kernels per input channel. Defaults to 1.
        data_format: `"channels_last"` (the default) or `"channels_first"`.
        dilation_rate: Int (or a 1-tuple). Defaults to 1.
        activation: Activation (a name or callable). Defaults to `None`.
        use_bias: Bool. Defaults to `True`.
        depthwise_initializer: Defaults to `"glorot_uniform"`.
        bias_initializer: Defaults to `"zeros"`.
        depthwise_regularizer: Optional regularizer of `kernel`.
        bias_regularizer: Optional regularizer of `bias`.
        activity_regularizer: Optional regularizer of the output.
        depthwise_constraint: Optional constraint of `kernel`.
        bias_constraint: Optional constraint of `bias`.
        **kwargs: Base layer arguments (`name`, `dtype`, ...).

    Call arguments:
        inputs: An array `(B, steps, channels)` (or channels-first).

    Returns:
        An array `(B, out_steps, channels * depth_multiplier)` (or channels-first).

    Raises:
        ValueError: For non-positive sizes, an unknown padding or data format, an input not
            of rank 3, or an output with no step.
        TypeError: If `depth_multiplier` is not an int.

    Example:

    >>> import numpy as np, rnnkit as keras
    >>> layer = keras.layers.DepthwiseConv1D(3, depth_multiplier=2)
    >>> layer(np.ones((2, 10, 5))).shape
    (2, 8, 10)
    >>> layer.kernel.shape
    (3, 5, 2)
    """

    def __init__(self, kernel_size, strides=1, padding="valid", depth_multiplier=1,
                 data_format=None, dilation_rate=1, activation=None, use_bias=True,
                 depthwise_initializer="glorot_uniform", bias_initializer="zeros",
                 depthwise_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 depthwise_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        self._init_common(None, kernel_size, strides, padding, data_format, dilation_rate,
                          activation, use_bias, allow_causal=False)
        self.depth_multiplier = _positive_int(depth_multiplier, "depth_multiplier",
                                              "DepthwiseConv1D")
        self.depthwise_initializer = initializers.get(depthwise_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.depthwise_regularizer = regularizers.get(depthwise_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.depthwise_constraint = constraints.get(depthwise_constraint)
        self.bias_constraint = constraints.get(bias_constraint)

    def compute_output_shape(self, input_shape):
        """Returns `(batch, out_steps, channels * depth_multiplier)` (or channels-first).

        Raises:
            ValueError: If the input is not of rank 3 or the output would have no step.
        """
        shape, channels = self._channels(input_shape)
        out_channels = channels * self.depth_multiplier
        if self.data_format == "channels_first":
            return (shape[0], out_channels, self._out_steps(shape[2], shape))
        return (shape[0], self._out_steps(shape[1], shape), out_channels)

    def build(self, input_shape):
        """Creates `kernel` `(kernel_size, channels, depth_multiplier)` and `bias`.

        Raises:
            ValueError: If the output would have no step.
        """
        shape, channels = self._channels(input_shape)
        self.compute_output_shape(shape)
        axis = 1 if self.data_format == "channels_first" else -1
        self.input_spec = InputSpec(ndim=3, axes={axis: channels})
        self.filters = channels * self.depth_multiplier   # for the bias shape in _finish
        self.kernel = self.add_weight(
            shape=self.kernel_size + (channels, self.depth_multiplier), name="kernel",
            initializer=self.depthwise_initializer, regularizer=self.depthwise_regularizer,
            constraint=self.depthwise_constraint)
        self.bias = self.add_weight(
            shape=(self.filters,), name="bias", initializer=self.bias_initializer,
            regularizer=self.bias_regularizer, constraint=self.bias_constraint) \
            if self.use_bias else None

    def call(self, inputs):
        """Returns `activation(depthwise_conv(inputs, kernel) + bias)`."""
        outputs = ops.depthwise_conv(inputs, self.kernel, strides=self.strides[0],
                                     padding=self.padding, data_format=self.data_format,
                                     dilation_rate=self.dilation_rate[0])
        return self._finish(outputs)

    def get_config(self):
        config = {**super().get_config(), **self._common_config(),
                  "depth_multiplier": self.depth_multiplier,
                  "activation": activations.serialize(self.activation),
                  "use_bias": self.use_bias,
                  "depthwise_initializer": initializers.serialize(self.depthwise_initializer),
                  "bias_initializer": initializers.serialize(self.bias_initializer),
                  "depthwise_regularizer": regularizers.serialize(self.depthwise_regularizer),
                  "bias_regularizer": regularizers.serialize(self.bias_regularizer),
                  "activity_regularizer": regularizers.serialize(self.activity_regularizer),
                  "depthwise_constraint": constraints.serialize(self.depthwise_constraint),
                  "bias_constraint": constraints.serialize(self.bias_constraint)}
        config.pop("filters")
        return config


Convolution1D = Conv1D
SeparableConvolution1D = SeparableConv1D
