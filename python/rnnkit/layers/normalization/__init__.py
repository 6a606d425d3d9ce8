"""Normalization layers: BatchNormalization."""

from rnnkit.layers.normalization.batch_normalization import BatchNormalization

__all__ = ["BatchNormalization"]
