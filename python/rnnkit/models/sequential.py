"""`Sequential`: a plain stack of layers, each fed by the one before."""

from __future__ import annotations

from rnnkit import tree
from rnnkit.graph import KerasTensor, collect_nodes, run_graph
from rnnkit.layers.layer import Layer, shape_of, unique_name
from rnnkit.models.functional import InputLayer, Model, _outputs_with_masks


class Sequential(Model):
    """A model made of a plain stack of layers, each fed by the output of the one before.

    Give the layers as a list, `Sequential([layer, ...])`, or add them one by one with
    `add(layer)`; `pop()` removes the last one. Each layer must have one input and one
    output tensor (use the functional API, `Model(inputs, outputs)`, for anything else).

    The model is built (weights created, output shapes known for `summary`) as soon as its
    input shape is known: from an `Input` first, an `input_shape=` on the first layer, `build()`,
    or the first call on data. Built from data, the batch size stays unknown unless a layer
    is stateful.

    Args:
        layers: Optional list of layers to add, optionally starting with an `rnnkit.Input`
            (or `InputLayer`) that fixes the input shape.
        trainable: Bool, whether the model's weights are trained. Defaults to `True`.
        name: Optional name; by default a unique `"sequential"`, `"sequential_1"`, ...
        **kwargs: Base layer arguments (`dtype`, ...).

    Raises:
        ValueError: If an element of `layers` is not a layer, an `Input` is not first, two
            layers have the same name, or a layer other than the last gives several
            outputs.

    Example:

    >>> import numpy as np, rnnkit as keras
    >>> model = keras.Sequential([
    ...     keras.Input((None, 8)),
    ...     keras.layers.LSTM(16, name="lstm"),
    ...     keras.layers.Dense(3, activation="softmax", name="probs"),
    ... ])
    >>> model.input_shape, model.output_shape
    ((None, None, 8), (None, 3))
    >>> [layer.name for layer in model.layers]
    ['lstm', 'probs']
    >>> model.predict(np.ones((4, 5, 8)), verbose=0).shape
    (4, 3)

    Without an `Input`, the model is built by its first call:

    >>> model = keras.Sequential()
    >>> model.add(keras.layers.Dense(4))
    >>> model.built
    False
    >>> model(np.ones((2, 3))).shape
    (2, 4)
    >>> model.input_shape
    (None, 3)
    """

    _mixed_precision = True   # computes under "mixed_bfloat16" (docs/mixed_precision.md)

    def __init__(self, layers=None, trainable=True, name=None, **kwargs):
        super().__init__(trainable=trainable, name=name or unique_name("sequential"), **kwargs)
        self._stack = []
        self._input_layer = None
        self._graph = None
        for layer in layers or []:
            self.add(layer, rebuild=False)
        self._maybe_build_from_declared_shape()

    # -- the stack -----------------------------------------------------------------------------
    def add(self, layer, rebuild=True):
        """Adds a layer on top of the stack.

        Adding a layer unbuilds the model; with `rebuild`, it is built again at once if its
        input shape is known (an `Input` first, or an `input_shape=` on the first layer).

        Args:
            layer: A layer, or an `rnnkit.Input` tensor (or `InputLayer`) as the first
                element, to fix the input shape.
            rebuild: Bool, whether to build the model again when its input shape is known.
                Defaults to `True`.

        Raises:
            ValueError: If `layer` is not a layer, an `Input` comes after a layer or a first
                `Input`, a layer of the same name is already in the model, or the rebuild
                fails (a layer other than the last gives several outputs, shapes do not
                fit).
        """
        if isinstance(layer, KerasTensor) and isinstance(layer.history[0], InputLayer):
            layer = layer.history[0]
        if not isinstance(layer, Layer):
            raise ValueError("Only instances of `rnnkit.layers.Layer` can be added to a "
                             f"Sequential model. Received: {layer!r} (of type {type(layer)})")
        if isinstance(layer, InputLayer):
            if self._stack or self._input_layer is not None:
                raise ValueError("An Input can only be the first element of a Sequential model")
            self._input_layer = layer
        else:
            if any(existing.name == layer.name for existing in self._stack):
                raise ValueError(f"All layers added to a Sequential model should have unique "
                                 f"names. Name '{layer.name}' is already the name of a layer "
                                 f"in this model.")
            self._stack.append(layer)
        self._graph = None
        self.built = False
        self._tracked_layers[:] = list(self._stack)
        if rebuild:
            self._maybe_build_from_declared_shape()

    def pop(self, rebuild=True):
        """Removes the last layer of the stack and returns it.

        With `rebuild`, the model is built again on its input shape when that is known.

        Args:
            rebuild: Bool, whether to build the model again. Defaults to `True`.

        Returns:
            The removed layer.

        Raises:
            TypeError: If the model has no layers.

        Example:

        >>> import rnnkit as keras
        >>> model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4),
        ...                           keras.layers.Dense(1, name="out")])
        >>> model.pop().name
        'out'
        >>> model.output_shape
        (None, 4)
        """
        if not self._stack:
            raise TypeError("There are no layers in the model.")
        layer = self._stack.pop()
        self._tracked_layers[:] = list(self._stack)
        self._graph = None
        self.built = False
        if rebuild:
            self._maybe_build_from_declared_shape()
        return layer

    @property
    def layers(self):
        """The stacked layers, in order, as a new list (the input layer is not listed)."""
        return list(self._stack)

    def _maybe_build_from_declared_shape(self):
        if not self._stack:
            return   # nothing to build: an Input alone leaves the model unbuilt, as in Keras
        if self._input_layer is not None:
            self.build(self._input_layer.batch_shape)
        elif self._stack and getattr(self._stack[0], "_input_shape_arg", None) is not None:
            first = self._stack[0]
            self.build((first._batch_size_arg,) + tuple(first._input_shape_arg))

    # -- build and call ------------------------------------------------------------------------
    def build(self, input_shape=None):
        """Builds the model for inputs of `input_shape`: creates the weights of every layer
        and works out the output shape.

        Args:
            input_shape: The full input shape, batch axis included (None for unknown
                sizes), such as `(None, 10, 8)`.

        Raises:
            ValueError: If `input_shape` is None, the model has no layers, or a layer other
                than the last gives several outputs.
        """
        if input_shape is None:
            raise ValueError("You must provide an `input_shape` argument.")
        if not self._stack:
            raise ValueError("Sequential model has no layers: add some before building it.")
        input_shape = tuple(input_shape)
        if self._input_layer is None or self._input_layer.batch_shape != input_shape:
            self._input_layer = InputLayer(batch_shape=input_shape)
        x = self._input_layer.output
        for layer in self._stack:
            x = layer(x)
            if isinstance(x, (list, tuple)) and len(tree.flatten(x)) > 1 and \
                    layer is not self._stack[-1]:
                raise ValueError(
                    "All layers in a Sequential model should have a single output tensor. For "
                    "multi-output layers, use the functional API.")
        self._graph = (self._input_layer.output, x, collect_nodes(self._input_layer.output, x))
        self.built = True

    @property
    def inputs(self):
        """A list holding the model's input tensor (a `KerasTensor`); None until built."""
        return [self._graph[0]] if self._graph else None

    @property
    def outputs(self):
        """A list holding the model's output tensor(s); None until built."""
        return tree.flatten(self._graph[1]) if self._graph else None

    @property
    def input_shape(self):
        """The input shape, batch axis included (None for unknown sizes); None until
        built."""
        return self._graph[0].shape if self._graph else None

    @property
    def output_shape(self):
        """The output shape, batch axis included (None for unknown sizes); None until
        built."""
        return self._graph[1].shape if self._graph else None

    @property
    def output_names(self):
        """A list holding the name of the last layer (the keys of dict losses, metrics and
        targets); empty without layers."""
        return [self._stack[-1].name] if self._stack else []

    def _maybe_build(self, inputs):
        if self._graph is None:
            shape = shape_of(inputs)
            stateful = any(getattr(layer, "stateful", False) for layer in self._stack)
            # A stateful layer needs the real batch size; otherwise the batch stays unknown.
            self.build(shape if stateful else (None,) + shape[1:])

    def _convert_input(self, value):
        return value

    def call(self, inputs, training=None, mask=None):
        """Runs the layers in order on `inputs` and returns the last one's output, which
        carries its mask.

        Args:
            inputs: An array of the model's input shape.
            training: Passed to every layer whose `call` takes `training`.
            mask: Optional mask of the inputs.
        """
        inputs_tensor, outputs, nodes = self._graph
        env = run_graph(nodes, inputs_tensor, inputs, masks=mask, training=training)
        return _outputs_with_masks(env, outputs)

    def compute_output_shape(self, input_shape):
        """Returns `output_shape` (None until built), whatever `input_shape` is."""
        return self._graph[1].shape if self._graph else None

    def compute_mask(self, inputs, previous_mask=None):
        """Returns None: the output carries its mask itself (see `call`)."""
        return None

    # -- config ----------------------------------------------------------------------------------
    def get_config(self):
        """Returns the model's `name`, `trainable`, `layers` (each serialized, the input
        layer first when the model has one) and, once built, `build_input_shape`, as a
        JSON-serializable dict that `from_config` accepts."""
        from rnnkit import saving
        layers = []
        if self._input_layer is not None:
            layers.append(saving.serialize(self._input_layer))
        layers.extend(saving.serialize(layer) for layer in self._stack)
        config = {"name": self.name, "trainable": self.trainable, "layers": layers}
        if self._graph is not None:
            config["build_input_shape"] = list(self._graph[0].shape)
        return config

    @classmethod
    def from_config(cls, config, custom_objects=None):
        """Creates a Sequential model from `get_config()`'s dict (or Keras 3's).

        The layers are deserialized and added in order; the model is built when the config
        holds a `build_input_shape`.

        Args:
            config: The config dict.
            custom_objects: Optional dict of names to custom classes and functions.

        Returns:
            A new model, with fresh weights.
        """
        from rnnkit import saving
        model = cls(name=config.get("name"), trainable=config.get("trainable", True))
        for entry in config["layers"]:
            layer = saving.deserialize(entry, custom_objects=custom_objects)
            model.add(layer, rebuild=False)
        if config.get("build_input_shape") is not None:
            model.build(tuple(config["build_input_shape"]))
        return model
