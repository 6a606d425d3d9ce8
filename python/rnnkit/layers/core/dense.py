"""Dense: `activation(inputs @ kernel + bias)` on the last axis of an input of any rank >= 2."""

from __future__ import annotations

from rnnkit import activations, constraints, initializers, ops, regularizers
from rnnkit.layers.core._checks import (check_bool, is_int, normalize_shape, refuse_lora,
                                        refuse_quantization)
from rnnkit.layers.layer import InputSpec, Layer, shape_of


class Dense(Layer):
    """A densely connected layer (Keras' `Dense`).

    Args:
        units: output size, a positive int.
        activation: None (linear) or an activation name / callable.
        use_bias: whether to add `bias`.
        kernel_initializer / bias_initializer: default "glorot_uniform" / "zeros".
        kernel_regularizer, bias_regularizer, activity_regularizer, kernel_constraint,
        bias_constraint: as in Keras.
        lora_rank / lora_alpha / quantization_config: accepted for Keras configs; a non-None
            `lora_rank` or `quantization_config` raises ValueError (not implemented).

    Weights: `kernel` (D, units), `bias` (units,). Input `(B, ..., D)`, output `(B, ..., units)`.
    The mask passes through unchanged.
    """

    supports_masking = True

    def __init__(self, units, activation=None, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, kernel_constraint=None, bias_constraint=None,
                 lora_rank=None, lora_alpha=None, quantization_config=None, **kwargs):
        if not is_int(units) or units <= 0:
            raise ValueError(f"Received an invalid value for `units`, expected a positive "
                             f"integer. Received: units={units!r}")
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        self.units = int(units)
        self.activation = activations.get(activation)
        self.use_bias = check_bool(use_bias, "use_bias")
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        refuse_lora("Dense", lora_rank, lora_alpha)
        refuse_quantization("Dense", quantization_config)
        self.lora_rank = None
        self.lora_alpha = None
        self.input_spec = InputSpec(min_ndim=2)

    def build(self, input_shape):
        input_shape = normalize_shape(input_shape, self)
        if len(input_shape) < 2:
            raise ValueError(f"Layer '{self.name}' (Dense) expects an input of rank >= 2 "
                             f"(batch, ..., features), got input shape {input_shape}")
        input_dim = input_shape[-1]
        if input_dim is None:
            raise ValueError(f"The last dimension of the input of layer '{self.name}' (Dense) "
                             f"must be defined, got input shape {input_shape}")
        self.kernel = self.add_weight(
            shape=(input_dim, self.units), name="kernel", initializer=self.kernel_initializer,
            regularizer=self.kernel_regularizer, constraint=self.kernel_constraint)
        if self.use_bias:
            self.bias = self.add_weight(
                shape=(self.units,), name="bias", initializer=self.bias_initializer,
                regularizer=self.bias_regularizer, constraint=self.bias_constraint)
        else:
            self.bias = None

    def call(self, inputs):
        shape = shape_of(inputs)
        input_dim = self.kernel.shape[0]
        if shape[-1] != input_dim:
            raise ValueError(
                f"Input 0 of layer '{self.name}' is incompatible with the layer: expected axis -1 "
                f"of input shape to have value {input_dim}, but received input with shape "
                f"{shape}")
        x = ops.matmul(inputs, self.kernel)
        if self.bias is not None:
            x = ops.add(x, self.bias)
        return self.activation(x)

    def compute_output_shape(self, input_shape):
        input_shape = normalize_shape(input_shape, self)
        if len(input_shape) < 2:
            raise ValueError(f"Layer '{self.name}' (Dense) expects an input of rank >= 2, got "
                             f"input shape {input_shape}")
        return input_shape[:-1] + (self.units,)

    def get_config(self):
        return {
            **super().get_config(),
            "units": self.units,
            "activation": activations.serialize(self.activation),
            "use_bias": self.use_bias,
            "kernel_initializer": initializers.serialize(self.kernel_initializer),
            "bias_initializer": initializers.serialize(self.bias_initializer),
            "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
            "bias_regularizer": regularizers.serialize(self.bias_regularizer),
            "activity_regularizer": regularizers.serialize(self.activity_regularizer),
            "kernel_constraint": constraints.serialize(self.kernel_constraint),
            "bias_constraint": constraints.serialize(self.bias_constraint),
            "quantization_config": None,
        }
