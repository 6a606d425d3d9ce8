"""Regularization layers: Dropout."""

from rnnkit.layers.regularization.dropout import Dropout

__all__ = ["Dropout"]
