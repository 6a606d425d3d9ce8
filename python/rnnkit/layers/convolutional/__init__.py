"""Convolution layers: Conv1D, SeparableConv1D, DepthwiseConv1D (and Keras' aliases
Convolution1D, SeparableConvolution1D)."""

from rnnkit.layers.convolutional.conv1d import (Conv1D, Convolution1D, DepthwiseConv1D,
                                                SeparableConv1D, SeparableConvolution1D)

__all__ = ["Conv1D", "Convolution1D", "DepthwiseConv1D", "SeparableConv1D",
           "SeparableConvolution1D"]
