"""Activation: applies an activation function to its input."""

from __future__ import annotations

from rnnkit import activations
from rnnkit.layers.core._checks import normalize_shape
from rnnkit.layers.layer import Layer


class Activation(Layer):
    """Applies `activation` elementwise (Keras' `Activation`); passes the mask through.

    Args:
        activation: an activation name ("relu", "tanh", ...), config or callable.
    """

    supports_masking = True

    def __init__(self, activation, **kwargs):
        super().__init__(**kwargs)
        self.activation = activations.get(activation)

    def call(self, inputs):
        return self.activation(inputs)

    def compute_output_shape(self, input_shape):
        return normalize_shape(input_shape, self)

    def get_config(self):
        return {**super().get_config(),
                "activation": activations.serialize(self.activation)}
