"""Pooling layers: MaxPooling1D, AveragePooling1D, GlobalAveragePooling1D, GlobalMaxPooling1D
(and Keras' aliases MaxPool1D, AvgPool1D, GlobalAvgPool1D, GlobalMaxPool1D)."""

from rnnkit.layers.pooling.pooling1d import (AveragePooling1D, GlobalAveragePooling1D,
                                             GlobalMaxPooling1D, MaxPooling1D)

MaxPool1D = MaxPooling1D
AvgPool1D = AveragePooling1D
GlobalAvgPool1D = GlobalAveragePooling1D
GlobalMaxPool1D = GlobalMaxPooling1D

__all__ = ["AveragePooling1D", "AvgPool1D", "GlobalAveragePooling1D", "GlobalAvgPool1D",
           "GlobalMaxPool1D", "GlobalMaxPooling1D", "MaxPool1D", "MaxPooling1D"]
