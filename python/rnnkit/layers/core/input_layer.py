"""`InputLayer` and `Input`: the symbolic inputs of functional and Sequential models.

Keras keeps them with the layers (`keras.layers.Input`); the models build on them.
"""

from __future__ import annotations

import numpy as np

from rnnkit import graph
from rnnkit.graph import KerasTensor
from rnnkit.layers.layer import Layer, unique_name


class InputLayer(Layer):
    """The layer behind `Input`: it owns one symbolic tensor and computes nothing.

    Creating an `InputLayer` makes its `output`, a `KerasTensor` of shape `batch_shape`,
    and records an input node for it, so that models built on that tensor find their
    inputs. `Input(...)` is the usual way to get one (it returns the layer's `output`);
    a functional model lists its InputLayers in `model.layers`, a Sequential model keeps
    its own out of `layers`. Called on an array, the layer returns it unchanged.

    Args:
        shape: Shape of one sample, without the batch axis: a tuple of ints (None for an
            unknown size), or an int for a 1D sample. Exclusive with `batch_shape`.
        batch_size: Optional static batch size, used with `shape`.
        dtype: The dtype of the input. Defaults to `"float32"`. A `"float64"` input also
            makes the layer's own dtype `float64`.
        batch_shape: Full shape, batch axis included (e.g. `(None, 10, 8)`). Exclusive with
            `shape`.
        name: Optional name; by default a unique `"input_layer"`, `"input_layer_1"`, ...
        sparse: Must be falsy: sparse inputs are not supported.
        ragged: Must be falsy: ragged inputs are not supported.
        optional: Bool, whether the input may be fed `None`. Kept in the config; rnnkit
            does not check it. Defaults to `False`.
        **kwargs: Base layer arguments (`trainable`, ...).

    Attributes:
        batch_shape: The full shape, a tuple with None for unknown sizes.
        output: The symbolic tensor (`KerasTensor`) that stands for the input.

    Raises:
        ValueError: If both or neither of `shape` and `batch_shape` are given, or
            `sparse` / `ragged` is set.

    Example:

    >>> import rnnkit as keras
    >>> layer = keras.layers.InputLayer(shape=(5,), name="features")
    >>> layer.batch_shape
    (None, 5)
    >>> layer.output
    <KerasTensor shape=(None, 5), dtype=float32, name=features>
    """

    _mixed_precision = True   # computes under "mixed_bfloat16" (docs/mixed_precision.md)

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
        """Returns `inputs` unchanged."""
        return inputs

    def compute_output_shape(self, input_shape):
        """Returns `batch_shape`, whatever `input_shape` is."""
        return self.batch_shape

    def get_config(self):
        """Returns `batch_shape`, `dtype`, `name`, `optional` (and `sparse` / `ragged`,
        always `False`) as a dict that `InputLayer.from_config` accepts."""
        return {"batch_shape": list(self.batch_shape), "dtype": self._input_dtype,
                "name": self.name, "sparse": False, "ragged": False, "optional": self.optional}


def Input(shape=None, batch_size=None, dtype=None, sparse=None, ragged=None, batch_shape=None,
          name=None, tensor=None, optional=False):
    """Creates a symbolic input of a model: a `KerasTensor` with a shape and a dtype.

    The tensor computes nothing: layers and `rnnkit.ops` functions called on it record a
    graph, and `Model(inputs, outputs)` turns that graph into a model. As the first element
    of a `Sequential` model, it fixes the model's input shape, so the model is built at once.
    `shape` leaves out the batch axis, which stays unknown (None) unless `batch_size` or
    `batch_shape` sets it; None in `shape` marks a size that varies, such as the number of
    timesteps.

    Args:
        shape: Shape of one sample, without the batch axis: a tuple of ints or None, or an
            int for a 1D sample. `Input((None, 28))` is a sequence of 28 features per
            timestep, of any length.
        batch_size: Optional static batch size; by default the batch size is unknown.
        dtype: The dtype of the input, such as `"float32"` (the default) or `"int32"`
            (token ids for an `Embedding`).
        sparse: Must be falsy: sparse inputs are not supported.
        ragged: Must be falsy: ragged inputs are not supported.
        batch_shape: The full shape, batch axis included, instead of `shape` and
            `batch_size`.
        name: Optional name of the input (and of its `InputLayer`); by default a unique
            `"input_layer"`, `"input_layer_1"`, ... A model called on a dict finds its
            inputs by these names.
        tensor: Must be `None`: wrapping an existing tensor is not supported.
        optional: Bool, whether the input may be fed `None`. Kept in the config; rnnkit
            does not check it. Defaults to `False`.

    Returns:
        A `KerasTensor`, the `output` of a new `InputLayer`.

    Raises:
        ValueError: If both or neither of `shape` and `batch_shape` are given, or `sparse`,
            `ragged` or `tensor` is set.

    Example:

    >>> import rnnkit as keras
    >>> x = keras.Input((None, 28), name="frames")
    >>> x
    <KerasTensor shape=(None, None, 28), dtype=float32, name=frames>
    >>> keras.Input(batch_shape=(8, 10), dtype="int32", name="tokens").shape
    (8, 10)
    >>> keras.layers.LSTM(16)(x).shape
    (None, 16)
    """
    if tensor is not None:
        raise ValueError("rnnkit.Input: the `tensor` argument is not supported")
    layer = InputLayer(shape=shape, batch_size=batch_size, dtype=dtype, batch_shape=batch_shape,
                       name=name, sparse=sparse, ragged=ragged, optional=optional)
    return layer.output
