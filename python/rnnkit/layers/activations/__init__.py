"""Activation layers with arguments: `ReLU`, `LeakyReLU`, `PReLU`, `ELU` and `Softmax`."""

from rnnkit.layers.activations.activation_layers import ELU, PReLU, ReLU, LeakyReLU, Softmax

__all__ = ["ELU", "LeakyReLU", "PReLU", "ReLU", "Softmax"]
