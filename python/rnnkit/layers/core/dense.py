"""Dense: `activation(inputs @ kernel + bias)` on the last axis of an input of any rank >= 2."""

from __future__ import annotations

from rnnkit import activations, constraints, initializers, ops, regularizers
from rnnkit.layers.core._checks import (check_bool, is_int, normalize_shape, refuse_lora,
                                        refuse_quantization)
from rnnkit.layers.layer import InputSpec, Layer


class Dense(Layer):
    """Densely connected layer: `activation(inputs @ kernel + bias)`.

    The product is taken over the last axis of the input, so an input `(batch, ..., D)`
    gives an output `(batch, ..., units)` (a 3D sequence is transformed timestep by
    timestep). Weights: `kernel` `(D, units)` and, with `use_bias`, `bias` `(units,)`. The
    input mask passes through unchanged.

    Args:
        units: Positive integer, dimensionality of the output space.
        activation: Activation function (a name or a callable). Defaults to `None`, the
            identity.
        use_bias: Bool, whether the layer adds `bias`. Defaults to `True`.
        kernel_initializer: Initializer for `kernel`. Defaults to `"glorot_uniform"`.
        bias_initializer: Initializer for `bias`. Defaults to `"zeros"`.
        kernel_regularizer: Optional regularizer for `kernel`.
        bias_regularizer: Optional regularizer for `bias`.
        activity_regularizer: Optional regularizer of the layer's output.
        kernel_constraint: Optional constraint for `kernel`.
        bias_constraint: Optional constraint for `bias`.
        lora_rank: Must be `None`: LoRA is not implemented (Keras configs that carry
            `lora_rank=None` load).
        lora_alpha: Accepted and ignored (a number or `None`).
        quantization_config: Must be `None`: quantization is not implemented.
        **kwargs: Base layer arguments (`name`, `dtype`, `trainable`, `input_shape`, ...).

    Call arguments:
        inputs: An array of rank >= 2, `(batch, ..., D)`.

    Returns:
        An array `(batch, ..., units)`.

    Raises:
        ValueError: If `units` is not a positive integer, `lora_rank` or
            `quantization_config` is not `None`, the input has rank below 2, or its last
            dimension differs from the one the layer was built with.
        TypeError: If `use_bias` is not a bool.

    Example:

    >>> import numpy as np, rnnkit as keras
    >>> layer = keras.layers.Dense(3, activation="relu")
    >>> layer(np.ones((2, 5))).shape
    (2, 3)
    >>> layer.kernel.shape, layer.bias.shape
    ((5, 3), (3,))
    >>> keras.layers.Dense(3)(np.ones((2, 10, 5))).shape
    (2, 10, 3)
    """

    _mixed_precision = True   # computes under "mixed_bfloat16" (docs/mixed_precision.md)

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
        """Creates `kernel` `(input_shape[-1], units)` and `bias` `(units,)`.

        Raises:
            ValueError: If the shape has rank below 2 or an undefined last dimension.
        """
        input_shape = normalize_shape(input_shape, self)
        if len(input_shape) < 2:
            raise ValueError(f"Layer '{self.name}' (Dense) expects an input of rank >= 2 "
                             f"(batch, ..., features), got input shape {input_shape}")
        input_dim = input_shape[-1]
        if input_dim is None:
            raise ValueError(f"The last dimension of the input of layer '{self.name}' (Dense) "
                             f"must be defined, got input shape {input_shape}")
        # Calls with another input width fail in the spec check, naming the layer.
        self.input_spec = InputSpec(min_ndim=2, axes={-1: input_dim})
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
        """Returns `activation(inputs @ kernel + bias)`."""
        x = ops.matmul(inputs, self.kernel)
        if self.bias is not None:
            x = ops.add(x, self.bias)
        return self.activation(x)

    def compute_output_shape(self, input_shape):
        """Returns `input_shape[:-1] + (units,)`."""
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
