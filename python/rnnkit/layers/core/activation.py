"""Activation: applies an activation function to its input."""

from __future__ import annotations

from rnnkit import activations
from rnnkit.layers.core._checks import normalize_shape
from rnnkit.layers.layer import Layer


class Activation(Layer):
    """Applies an activation function to its input.

    The layer has no weights; the output has the input's shape and the input mask passes
    through unchanged.

    Args:
        activation: An activation name (`"relu"`, `"tanh"`, `"softmax"`, ...), a serialized
            activation config, or a callable taking and returning an array. `None` means
            linear (the identity).
        **kwargs: Base layer arguments (`name`, `dtype`, ...).

    Call arguments:
        inputs: An array of any shape.

    Returns:
        `activation(inputs)`.

    Raises:
        ValueError: If `activation` names no known activation.

    Example:

    >>> import numpy as np, rnnkit as keras
    >>> keras.layers.Activation("relu")(np.array([[-1.0, 0.0, 2.0]]))
    array([[0., 0., 2.]], dtype=float32)
    """

    _mixed_precision = True   # computes under "mixed_bfloat16" (docs/mixed_precision.md)

    supports_masking = True

    def __init__(self, activation, **kwargs):
        super().__init__(**kwargs)
        self.activation = activations.get(activation)

    def call(self, inputs):
        """Returns `activation(inputs)`."""
        return self.activation(inputs)

    def compute_output_shape(self, input_shape):
        """Returns `input_shape` (as a tuple)."""
        return normalize_shape(input_shape, self)

    def get_config(self):
        return {**super().get_config(),
                "activation": activations.serialize(self.activation)}
