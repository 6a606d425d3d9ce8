"""Convolution layers: Conv1D, SeparableConv1D."""

from rnnkit.layers.convolutional.conv1d import Conv1D, SeparableConv1D

__all__ = ["Conv1D", "SeparableConv1D"]
