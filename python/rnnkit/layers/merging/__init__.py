"""Merging layers: Add, Subtract, Multiply, Average, Maximum, Minimum, Concatenate, Dot, and
their functional forms (add, subtract, ...)."""

from rnnkit.layers.merging.base_merge import Merge
from rnnkit.layers.merging.merge_layers import (Add, Average, Concatenate, Dot, Maximum, Minimum,
                                                Multiply, Subtract, add, average, concatenate,
                                                dot, maximum, minimum, multiply, subtract)

__all__ = ["Add", "Average", "Concatenate", "Dot", "Maximum", "Merge", "Minimum", "Multiply",
           "Subtract", "add", "average", "concatenate", "dot", "maximum", "minimum",
           "multiply", "subtract"]
