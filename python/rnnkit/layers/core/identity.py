"""Identity: a layer that returns its input unchanged (mask included)."""

from __future__ import annotations

from rnnkit import tree
from rnnkit.layers.layer import Layer


class Identity(Layer):
    """Returns its input unchanged; a placeholder layer. The mask passes through.

    Args:
        **kwargs: Base layer arguments (`name`, `dtype`, ...).

    Example:

    >>> import numpy as np, rnnkit as keras
    >>> keras.layers.Identity()(np.array([[1.0, 2.0]])).tolist()
    [[1.0, 2.0]]
    """

    supports_masking = True

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.built = True   # no weights: built at creation, as Keras does

    def call(self, inputs):
        """Returns `inputs`."""
        return inputs

    def compute_output_shape(self, input_shape):
        """Returns `input_shape`."""
        return tree.map_shape_structure(lambda s: tuple(s), input_shape)
