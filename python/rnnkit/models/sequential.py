"""`Sequential`: a plain stack of layers, each fed by the one before."""

from __future__ import annotations

from rnnkit import tree
from rnnkit.graph import KerasTensor, collect_nodes, run_graph
from rnnkit.layers.layer import Layer, shape_of, unique_name
from rnnkit.models.functional import InputLayer, Model, _outputs_with_masks


class Sequential(Model):
    """`Sequential([layer, ...])` or `Sequential()` then `add(layer)`.

    The model is built (weights created, output shapes known for `summary`) as soon as its
    input shape is known: from an `Input` first, an `input_shape=` on the first layer, `build()`,
    or the first call on data.
    """

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
        return list(self._stack)

    def _maybe_build_from_declared_shape(self):
        if self._input_layer is not None:
            self.build(self._input_layer.batch_shape)
        elif self._stack and getattr(self._stack[0], "_input_shape_arg", None) is not None:
            first = self._stack[0]
            self.build((first._batch_size_arg,) + tuple(first._input_shape_arg))

    # -- build and call ------------------------------------------------------------------------
    def build(self, input_shape=None):
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
        return [self._graph[0]] if self._graph else None

    @property
    def outputs(self):
        return tree.flatten(self._graph[1]) if self._graph else None

    @property
    def input_shape(self):
        return self._graph[0].shape if self._graph else None

    @property
    def output_shape(self):
        return self._graph[1].shape if self._graph else None

    @property
    def output_names(self):
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
        inputs_tensor, outputs, nodes = self._graph
        env = run_graph(nodes, inputs_tensor, inputs, masks=mask, training=training)
        return _outputs_with_masks(env, outputs)

    def compute_output_shape(self, input_shape):
        return self._graph[1].shape if self._graph else None

    def compute_mask(self, inputs, previous_mask=None):
        return None

    # -- config ----------------------------------------------------------------------------------
    def get_config(self):
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
        from rnnkit import saving
        model = cls(name=config.get("name"), trainable=config.get("trainable", True))
        for entry in config["layers"]:
            layer = saving.deserialize(entry, custom_objects=custom_objects)
            model.add(layer, rebuild=False)
        if config.get("build_input_shape") is not None:
            model.build(tuple(config["build_input_shape"]))
        return model
