"""`Model` and the functional model (`Model(inputs, outputs)`); `Input` and `InputLayer`
(from rnnkit.layers) are re-exported here."""

from __future__ import annotations

import numpy as np

from rnnkit import graph, tree
from rnnkit.graph import KerasTensor
from rnnkit.layers.core.input_layer import Input, InputLayer
from rnnkit.layers.layer import Layer, unique_name
from rnnkit.masking import set_keras_mask
from rnnkit.models.training import Trainer


class Model(Trainer, Layer):
    """A model: a layer with training (`compile`, `fit`, ...), `summary` and saving.

    `Model(inputs, outputs, name=None)` builds a functional model from symbolic tensors;
    subclass `Model` and write `call` for a model of your own.
    """

    def __new__(cls, *args, **kwargs):
        if cls is Model and (len(args) >= 2 or "inputs" in kwargs or "outputs" in kwargs):
            return super().__new__(Functional)
        return super().__new__(cls)

    def __init__(self, *args, **kwargs):
        Layer.__init__(self, **kwargs)
        Trainer.__init__(self)

    @property
    def layers(self):
        # As in Keras 3, a functional model lists its InputLayers too; Sequential does not.
        return list(self._tracked_layers)

    def get_layer(self, name=None, index=None):
        if index is not None and name is not None:
            raise ValueError("Provide only a layer name or a layer index. Received: "
                             f"index={index}, name={name}.")
        if index is not None:
            if len(self.layers) <= index:
                raise ValueError(f"Was asked to retrieve layer at index {index} but model only "
                                 f"has {len(self.layers)} layers.")
            return self.layers[index]
        if name is not None:
            for layer in self.layers:
                if layer.name == name:
                    return layer
            raise ValueError(f"No such layer: {name}. Existing layers are: "
                             f"{[layer.name for layer in self.layers]}.")
        raise ValueError("Provide either a layer name or layer index at `get_layer`.")

    def reset_states(self):
        """Resets every stateful layer (Keras 3 has no Model.reset_states; Keras 2 did)."""
        for layer in _all_layers(self):
            if getattr(layer, "stateful", False) and hasattr(layer, "reset_state"):
                try:
                    layer.reset_state()
                except AttributeError:
                    pass

    reset_state = reset_states

    def summary(self, line_length=None, positions=None, print_fn=None, expand_nested=False,
                show_trainable=False, layer_range=None):
        from rnnkit.models.summary import print_summary
        print_summary(self, line_length=line_length, positions=positions, print_fn=print_fn,
                      show_trainable=show_trainable)

    def save(self, filepath, overwrite=True, zipped=None, **kwargs):
        from rnnkit.models import file_io
        file_io.save_model(self, filepath, overwrite=overwrite)

    def save_weights(self, filepath, overwrite=True):
        from rnnkit.models import file_io
        file_io.save_weights(self, filepath, overwrite=overwrite)

    def load_weights(self, filepath, skip_mismatch=False, **kwargs):
        from rnnkit.models import file_io
        file_io.load_weights(self, filepath, skip_mismatch=skip_mismatch)

    @classmethod
    def from_config(cls, config, custom_objects=None):
        if cls is Model and "layers" in config and "input_layers" in config:
            return Functional.from_config(config, custom_objects=custom_objects)
        return cls(**config)

    def to_json(self, **kwargs):
        import json
        from rnnkit import saving
        return json.dumps(saving.serialize(self), **kwargs)


def _outputs_with_masks(env, outputs):
    """The output values of a graph run; each carries its mask (`masking.get_keras_mask`) for
    the losses and metrics."""
    def value(tensor):
        result, mask = env[id(tensor)]
        set_keras_mask(result, mask)
        return result
    return tree.map_structure(value, outputs)


def _all_layers(layer):
    out = []
    for sub in getattr(layer, "_tracked_layers", []):
        out.append(sub)
        out.extend(_all_layers(sub))
    return out


class Functional(Model):
    """A model defined by symbolic inputs and outputs: `Model(inputs, outputs)`."""

    def __init__(self, inputs, outputs, name=None, **kwargs):
        for t in tree.flatten(inputs):
            if not isinstance(t, KerasTensor) or not isinstance(t.history[0], InputLayer):
                raise ValueError(
                    "All `inputs` of a functional Model must come from rnnkit.Input(); got "
                    f"{t!r}")
        for t in tree.flatten(outputs):
            if not isinstance(t, KerasTensor):
                raise ValueError(f"All `outputs` of a functional Model must be symbolic tensors "
                                 f"produced by layers; got {t!r}")
        super().__init__(name=name or unique_name("functional"), **kwargs)
        self._set_graph(inputs, outputs)

    def _set_graph(self, inputs, outputs):
        if isinstance(inputs, tuple):
            inputs = list(inputs)
        self.inputs_structure = inputs
        self.outputs_structure = outputs
        # Keras' order (deepest first, see rnnkit.graph.topology): the layers, their weights,
        # get_weights/set_weights and summary follow it.
        self._nodes, self._operations = graph.map_graph(inputs, outputs)
        self._tracked_layers[:] = [op for op in self._operations if isinstance(op, Layer)]
        self.built = True

    @property
    def operations(self):
        """The InputLayers, layers and recorded ops (`x + y`, `ops.concatenate`, ...) of the
        graph, in Keras' order; `layers` is this list without the ops."""
        return list(self._operations)

    @property
    def inputs(self):
        return tree.flatten(self.inputs_structure)

    @property
    def outputs(self):
        return tree.flatten(self.outputs_structure)

    @property
    def input_shape(self):
        shapes = [t.shape for t in self.inputs]
        return shapes[0] if len(shapes) == 1 else shapes

    @property
    def output_shape(self):
        shapes = [t.shape for t in self.outputs]
        return shapes[0] if len(shapes) == 1 else shapes

    @property
    def output_names(self):
        names, seen = [], {}
        for t in self.outputs:
            name = t.history[0].name
            if name in seen:
                seen[name] += 1
                name = f"{name}_{seen[name]}"
            else:
                seen[name] = 0
            names.append(name)
        return names

    def call(self, inputs, training=None, mask=None):
        if isinstance(inputs, dict) and not isinstance(self.inputs_structure, dict):
            inputs = [inputs[t.history[0].name] for t in self.inputs]
        if isinstance(inputs, tuple):
            inputs = list(inputs)
        env = graph.run_graph(self._nodes, self.inputs_structure, inputs, masks=mask,
                              training=training)
        return _outputs_with_masks(env, self.outputs_structure)

    def _convert_input(self, value):
        # Inputs keep their dtype here; each input's layers cast what they need.
        return value

    def compute_output_shape(self, input_shape):
        return tree.map_structure(lambda t: t.shape, self.outputs_structure)

    def compute_mask(self, inputs, previous_mask=None):
        return None

    def build(self, input_shape):
        pass

    # -- config ----------------------------------------------------------------------------------
    def get_config(self):
        from rnnkit import saving
        layer_configs = []
        for layer in self._operations:
            if isinstance(layer, graph.Operation):
                layer_configs.append(_op_entry(layer, self.name))
                continue
            entry = saving.serialize(layer)
            entry["name"] = layer.name
            nodes = []
            for node_index, node in enumerate(getattr(layer, "_inbound_nodes", [])):
                if isinstance(layer, InputLayer) or node not in self._nodes:
                    continue
                nodes.append({"args": _encode(node.args), "kwargs": _encode(node.kwargs),
                              "node_index": node_index})
            entry["inbound_nodes"] = nodes
            layer_configs.append(entry)
        return {
            "name": self.name,
            "trainable": self.trainable,
            "layers": layer_configs,
            "input_layers": _encode(self.inputs_structure),
            "output_layers": _encode(self.outputs_structure),
        }

    @classmethod
    def from_config(cls, config, custom_objects=None):
        from rnnkit import saving
        created = {}
        tensors = {}
        pending = []
        for entry in config["layers"]:
            if _is_op_entry(entry):
                layer = _OpFromConfig(entry)
                for node in entry.get("inbound_nodes", []):
                    pending.append((layer, node))
                continue
            layer = saving.deserialize({k: entry[k] for k in
                                        ("module", "class_name", "config", "registered_name")
                                        if k in entry}, custom_objects=custom_objects)
            created[entry["name"]] = layer
            if isinstance(layer, InputLayer):
                tensors[(layer.name, 0, 0)] = layer.output
            for node in entry.get("inbound_nodes", []):
                pending.append((layer, node))
        # Replay the calls in an order where each call's inputs exist.
        progress = True
        while pending and progress:
            progress = False
            for item in list(pending):
                layer, node = item
                try:
                    args = _decode(node["args"], tensors)
                    kwargs = _decode(node["kwargs"], tensors)
                except KeyError:
                    continue
                outputs = layer(*args, **kwargs)
                for i, t in enumerate(tree.flatten(outputs)):
                    tensors[(layer.name, node["node_index"], i)] = t
                pending.remove(item)
                progress = True
        if pending:
            raise ValueError("Could not rebuild the functional model: some layer calls have "
                             "inputs that no other layer produces")
        inputs = _decode(config["input_layers"], tensors)
        outputs = _decode(config["output_layers"], tensors)
        return cls(inputs, outputs, name=config.get("name"))


# -- ops in configs ----------------------------------------------------------------------------
# A recorded op is saved like a layer, as Keras 3 does (module, class name, config with its name,
# inbound node), except that its node holds every argument of the call (Keras moves the
# non-tensor ones, such as `axis`, into the op's config; both forms load).

_OP_MODULES = ("rnnkit.ops", "keras.ops", "keras.src.ops")


def _op_entry(operation, model_name):
    import json
    node = operation._inbound_nodes[0]
    entry = {"module": "rnnkit.ops", "class_name": operation.class_name,
             "config": operation.get_config(), "registered_name": None,
             "name": operation.name,
             "inbound_nodes": [{"args": [_encode(a, keep_tuples=True) for a in node.args],
                                "kwargs": _encode(node.kwargs, keep_tuples=True),
                                "node_index": 0}]}
    try:
        json.dumps(entry)
    except (TypeError, ValueError) as error:
        raise ValueError(
            f"Cannot serialize the functional model '{model_name}': its op "
            f"'{operation.name}' (rnnkit.ops.{operation.op_name}) was called with an argument "
            f"that has no JSON form ({error}). Wrap that computation in a Layer with a "
            f"get_config instead.") from None
    return entry


def _is_op_entry(entry):
    module = entry.get("module") or ""
    return any(module == m or module.startswith(m + ".") for m in _OP_MODULES)


class _OpFromConfig:
    """Stands for a saved op while a functional model is rebuilt: calling it records the op
    again, under its saved name."""

    def __init__(self, entry):
        from rnnkit import ops
        self.name = entry["name"]
        op_name = graph.operation.op_name_of(entry["class_name"])
        public = getattr(ops, op_name, None)
        if public is None or not hasattr(public, "__wrapped__"):
            raise ValueError(f"Cannot rebuild the op '{self.name}': rnnkit.ops has no "
                             f"'{op_name}' (from class name '{entry['class_name']}')")
        self.fn = public.__wrapped__
        self.op_name = op_name
        self.options = {k: v for k, v in (entry.get("config") or {}).items() if k != "name"}

    def __call__(self, *args, **kwargs):
        return graph.symbolic_op(self.fn, args, {**kwargs, **self.options}, name=self.name,
                                 op_name=self.op_name)


def _encode(structure, keep_tuples=False):
    """Symbolic tensors -> {"keras_history": [layer name, node index, tensor index]}; arrays,
    NumPy scalars and dtypes, slices and `...` to JSON; tuples stay tuples with `keep_tuples`
    (an op's index `x[:, 0]` is not `x[[slice, 0]]`)."""
    def encode(x):
        if isinstance(x, KerasTensor):
            layer, node_index, tensor_index = x.history
            return {"keras_history": [layer.name, node_index, tensor_index]}
        if isinstance(x, np.ndarray):
            return {"__array__": x.tolist(), "dtype": x.dtype.name}
        if isinstance(x, np.generic):
            return x.item()
        if isinstance(x, np.dtype) or (isinstance(x, type) and issubclass(x, np.generic)):
            return np.dtype(x).name
        if isinstance(x, slice):
            return {"__slice__": [_encode(x.start), _encode(x.stop), _encode(x.step)]}
        if x is Ellipsis:
            return {"__ellipsis__": True}
        return x
    if isinstance(structure, dict):
        return {k: _encode(v, keep_tuples) for k, v in structure.items()}
    if isinstance(structure, tuple) and keep_tuples:
        return {"__tuple__": [_encode(v, keep_tuples) for v in structure]}
    if isinstance(structure, (list, tuple)):
        return [_encode(v, keep_tuples) for v in structure]
    return encode(structure)


def _decode(structure, tensors):
    if isinstance(structure, dict):
        if "keras_history" in structure:
            return tensors[tuple(structure["keras_history"])]
        if "__array__" in structure:
            return np.asarray(structure["__array__"], dtype=structure["dtype"])
        if "__slice__" in structure:
            return slice(*(_decode(v, tensors) for v in structure["__slice__"]))
        if "__ellipsis__" in structure:
            return Ellipsis
        if "__tuple__" in structure:
            return tuple(_decode(v, tensors) for v in structure["__tuple__"])
        return {k: _decode(v, tensors) for k, v in structure.items()}
    if isinstance(structure, list):
        return [_decode(v, tensors) for v in structure]
    return structure
