"""Reshaping layers: Flatten, Reshape, RepeatVector, Permute, Cropping1D, ZeroPadding1D,
UpSampling1D."""

from rnnkit.layers.reshaping.sequence_1d import Cropping1D, UpSampling1D, ZeroPadding1D
from rnnkit.layers.reshaping.shape_layers import Flatten, Permute, RepeatVector, Reshape

__all__ = ["Cropping1D", "Flatten", "Permute", "RepeatVector", "Reshape", "UpSampling1D",
           "ZeroPadding1D"]
