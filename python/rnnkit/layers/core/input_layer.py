"""`InputLayer` and `Input`: the symbolic inputs of functional and Sequential models.

Keras keeps them with the layers (`keras.layers.Input`); the models build on them.
"""

from __future__ import annotations

import numpy as np

from rnnkit import graph
from rnnkit.graph import KerasTensor
from rnnkit.layers.layer import Layer, unique_name


class InputLayer(Layer):
    """The layer behind `Input`: it owns one symbolic tensor and computes nothing."""

    def __init__(self, shape=None, batch_size=None, dtype=None, batch_shape=None, name=None,
                 sparse=None, ragged=None, optional=False, **kwargs):
        if sparse or ragged:
            raise ValueError("rnnkit.Input: sparse and ragged inputs are not supported")
        if shape is not None and batch_shape is not None:
            raise ValueError("You cannot pass both `shape` and `batch_shape` at the same time.")
        if batch_shape is None:
            if shape is None:
                raise ValueError("You must pass a `shape` argument to Input.")
            if isinstance(shape, (int, np.integer)):
                shape = (int(shape),)
            batch_shape = (batch_size,) + tuple(shape)
        self._input_dtype = np.dtype(dtype or "float32").name
        super().__init__(name=name or unique_name("input_layer"),
                         dtype="float64" if self._input_dtype == "float64" else None, **kwargs)
        self.batch_shape = tuple(None if s is None else int(s) for s in batch_shape)
        self.optional = optional
        self.output = KerasTensor(self.batch_shape, self._input_dtype, name=self.name)
        graph.Node(self, (), {}, self.output, is_input=True)
        self.built = True

    def call(self, inputs):
        return inputs

    def compute_output_shape(self, input_shape):
        return self.batch_shape

    def get_config(self):
        return {"batch_shape": list(self.batch_shape), "dtype": self._input_dtype,
                "name": self.name, "sparse": False, "ragged": False, "optional": self.optional}


def Input(shape=None, batch_size=None, dtype=None, sparse=None, ragged=None, batch_shape=None,
          name=None, tensor=None, optional=False):
    """A symbolic input of a model: `shape` excludes the batch axis (`Input((None, 28))`)."""
    if tensor is not None:
        raise ValueError("rnnkit.Input: the `tensor` argument is not supported")
    layer = InputLayer(shape=shape, batch_size=batch_size, dtype=dtype, batch_shape=batch_shape,
                       name=name, sparse=sparse, ragged=ragged, optional=optional)
    return layer.output
