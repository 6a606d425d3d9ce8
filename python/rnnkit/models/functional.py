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
    """A model: a layer that groups layers, with training, inference, `summary` and saving.

    There are two ways to make one:

    - Functional: call layers on `rnnkit.Input` tensors, then `Model(inputs, outputs)`.
      This returns a `Functional` model (a subclass of `Model`) that replays the recorded
      graph on arrays.
    - Subclassing: subclass `Model`, create the layers in `__init__` (after
      `super().__init__(**kwargs)`) and write the computation in `call(inputs, ...)`.

    `Sequential` covers the plain stack of layers. Every model is a `Layer` (it has
    `weights`, can be called on arrays, and can be used inside another model) and has
    `compile`, `fit`, `evaluate`, `predict`, `train_on_batch`, ..., `summary`, `save` and
    `save_weights` / `load_weights`.

    Args:
        inputs: For a functional model: the `rnnkit.Input` tensor(s), one tensor, or a list
            or dict of them.
        outputs: For a functional model: the output tensor(s) of the layers called on
            `inputs`, one tensor, or a list or dict of them.
        name: Optional name of the model.
        **kwargs: Base layer arguments (`trainable`, `dtype`, ...).

    Raises:
        ValueError: For a functional model whose inputs do not come from `rnnkit.Input` or
            whose outputs are not symbolic tensors, or whose outputs cannot be reached from
            its inputs.

    Example:

    A functional model:

    >>> import numpy as np, rnnkit as keras
    >>> inputs = keras.Input((None, 3), name="frames")
    >>> x = keras.layers.LSTM(4, name="lstm")(inputs)
    >>> outputs = keras.layers.Dense(2, name="head")(x)
    >>> model = keras.Model(inputs, outputs, name="tagger")
    >>> type(model).__name__
    'Functional'
    >>> [layer.name for layer in model.layers]
    ['frames', 'lstm', 'head']
    >>> model(np.ones((5, 7, 3))).shape
    (5, 2)

    A subclassed model:

    >>> class TwoLayers(keras.Model):
    ...     def __init__(self, **kwargs):
    ...         super().__init__(**kwargs)
    ...         self.hidden = keras.layers.Dense(8, activation="relu")
    ...         self.out = keras.layers.Dense(1)
    ...     def call(self, inputs):
    ...         return self.out(self.hidden(inputs))
    >>> model = TwoLayers()
    >>> model(np.ones((2, 3))).shape
    (2, 1)
    >>> len(model.weights)
    4
    """

    _mixed_precision = True   # computes under "mixed_bfloat16" (docs/mixed_precision.md)

    def __new__(cls, *args, **kwargs):
        if cls is Model and (len(args) >= 2 or "inputs" in kwargs or "outputs" in kwargs):
            return super().__new__(Functional)
        return super().__new__(cls)

    def __init__(self, *args, **kwargs):
        Layer.__init__(self, **kwargs)
        Trainer.__init__(self)

    @property
    def layers(self):
        """The model's layers, as a new list.

        A functional model lists its `InputLayer`s too, in Keras 3's order (by depth from
        the outputs, deepest first, so the inputs normally come first); a Sequential model
        lists its stacked layers only; a subclassed model lists the layers assigned as its
        attributes, in the order they were assigned. Ops recorded in a functional graph
        (`x + y`) are in `operations`, not here.
        """
        # As in Keras 3, a functional model lists its InputLayers too; Sequential does not.
        return list(self._tracked_layers)

    def get_layer(self, name=None, index=None):
        """Returns one of the model's layers, by name or by index in `layers`.

        Args:
            name: The name of the layer.
            index: Its index in `model.layers` (negative indices count from the end).

        Returns:
            The layer.

        Raises:
            ValueError: If both or neither of `name` and `index` are given, no layer has
                that name, or the index is out of range.

        Example:

        >>> import rnnkit as keras
        >>> model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4, name="hidden"),
        ...                           keras.layers.Dense(1, name="out")])
        >>> model.get_layer("hidden").units
        4
        >>> model.get_layer(index=-1).name
        'out'
        """
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
        """Resets the states of every stateful layer of the model (nested ones included).

        Each layer built with `stateful=True` (`LSTM`, `GRU`, ...) has its `reset_state()`
        called, which zeroes its states; other layers are left alone. `reset_state` is the
        same method. (Keras 3 models have neither; Keras 2 models had `reset_states`.)
        """
        for layer in _all_layers(self):
            if getattr(layer, "stateful", False) and hasattr(layer, "reset_state"):
                try:
                    layer.reset_state()
                except AttributeError:
                    pass

    reset_state = reset_states

    def summary(self, line_length=None, positions=None, print_fn=None, expand_nested=False,
                show_trainable=False, layer_range=None):
        """Prints a table of the model's layers, their output shapes and parameter counts.

        One row per layer (a functional model also lists its InputLayers and recorded ops,
        and the layers each one is connected to), then the total, trainable and
        non-trainable parameter counts with their sizes in memory, and the optimizer's
        once it has variables. A layer that is not built yet shows `?` and `0 (unbuilt)`.

        Args:
            line_length: Total width of the table in characters. Defaults to 88 (108 for a
                functional model that is not a plain chain), at most the terminal width
                minus 4.
            positions: Where the columns end, as fractions of `line_length` (or absolute
                positions).
            print_fn: Function called with the whole summary as one string. Defaults to
                `print`.
            expand_nested: Accepted for Keras compatibility; nested models are not
                expanded.
            show_trainable: Accepted for Keras compatibility; no trainable column is added.
            layer_range: Accepted for Keras compatibility; every layer is shown.

        Example:

        ```python
        model.summary()
        lines = []
        model.summary(print_fn=lines.append)   # the text, without printing it
        ```
        """
        from rnnkit.models.summary import print_summary
        print_summary(self, line_length=line_length, positions=positions, print_fn=print_fn,
                      show_trainable=show_trainable)

    def save(self, filepath, overwrite=True, zipped=None, **kwargs):
        """Saves the model (architecture, weights, compile arguments, optimizer state).

        - `.keras`: Keras 3's zip of `metadata.json`, `config.json` (the model's config
          with Keras' object envelopes and, when compiled, its optimizer, loss and
          metrics) and `model.weights.h5` (Keras' weight tree, with the optimizer's
          variables), which Keras 3 itself loads.
        - `.h5` / `.hdf5`: the legacy HDF5 format, as Keras 3 writes it.

        Nothing is pickled. `rnnkit.saving.load_model` reads it back, and training resumes
        where it stopped. See `docs/saving.md`.

        Args:
            filepath: Path ending in `.keras`, `.h5` or `.hdf5`.
            overwrite: Bool, whether to replace an existing file. Defaults to `True`.
            zipped: `None` or `True` (a `.keras` file is a zip); `False` is refused.
            **kwargs: `include_optimizer` (bool, for `.h5`); others are accepted for Keras
                compatibility and ignored.

        Raises:
            ValueError: If `filepath` has another suffix, or the model's config cannot be
                serialized.
            FileExistsError: If the file exists and `overwrite` is `False`.

        Example:

        ```python
        model.save("tagger.keras")
        restored = keras.saving.load_model("tagger.keras")
        ```
        """
        from rnnkit.models import file_io
        file_io.save_model(self, filepath, overwrite=overwrite, zipped=zipped, **kwargs)

    def save_weights(self, filepath, overwrite=True, max_shard_size=None):
        """Saves the model's weights (not its architecture) to a `.weights.h5` file.

        The file has Keras 3's layout (the weight tree of a `.keras` file, including the
        optimizer's variables), so Keras 3's `load_weights` reads it too. A name ending in
        `.weights.npz` still writes rnnkit's old format, with a `DeprecationWarning`.

        Args:
            filepath: Path ending in `.weights.h5`.
            overwrite: Bool, whether to replace an existing file. Defaults to `True`.
            max_shard_size: Must be `None`: sharded weight files are not supported.

        Raises:
            ValueError: If `filepath` has another suffix, or `max_shard_size` is set.
            FileExistsError: If the file exists and `overwrite` is `False`.

        Example:

        ```python
        model.save_weights("tagger.weights.h5")
        twin.load_weights("tagger.weights.h5")
        ```
        """
        if max_shard_size is not None:
            raise ValueError("Sharded weight files are not supported: `max_shard_size` must "
                             f"be None. Received: max_shard_size={max_shard_size!r}")
        from rnnkit.models import file_io
        file_io.save_weights(self, filepath, overwrite=overwrite)

    def load_weights(self, filepath, skip_mismatch=False, **kwargs):
        """Loads weights saved by rnnkit, Keras 3 or tf.keras 2.x into this (built) model.

        Reads `.weights.h5` (Keras 3's layout: found by path, from the classes of the
        layers), the weights of a `.keras` file, and legacy `.h5` files (a full model's,
        or tf.keras 2.x `save_weights("x.h5")`: matched by position over the layers with
        weights, as Keras does). Every array's shape is checked before any is assigned: on
        an error no weight has changed.

        Args:
            filepath: The file's path.
            skip_mismatch: Bool, skip (with a warning) the layers whose saved weights do not
                match, instead of raising. Defaults to `False`.
            **kwargs: `by_name` (bool, legacy `.h5` only): match layers by name instead of
                by position. Other keywords raise `ValueError`.

        Raises:
            ValueError: If the model is not built, the file is damaged, or the weights do
                not match (the message names the path and the expected and found shapes).
            FileNotFoundError: If the file does not exist.
        """
        from rnnkit.models import file_io
        file_io.load_weights(self, filepath, skip_mismatch=skip_mismatch, **kwargs)

    @classmethod
    def from_config(cls, config, custom_objects=None):
        """Creates a model from its config (the dict `get_config()` returns).

        `Model.from_config` of a functional model's config rebuilds the functional model;
        on a subclass, it calls `cls(**config)`, so a subclassed model whose constructor
        takes other arguments than its config holds must override `get_config` and
        `from_config`.

        Args:
            config: The config dict.
            custom_objects: Optional dict of names to custom classes and functions, used
                for the layers of a functional model.

        Returns:
            A new model, with fresh weights.
        """
        if cls is Model and "layers" in config and "input_layers" in config:
            return Functional.from_config(config, custom_objects=custom_objects)
        return cls(**config)

    def to_json(self, **kwargs):
        """Returns the model's architecture (not its weights) as a JSON string.

        The JSON holds what `rnnkit.saving.serialize(model)` returns (module, class name
        and config); `rnnkit.saving.deserialize(json.loads(text))` makes a new model from
        it.

        Args:
            **kwargs: Passed to `json.dumps` (such as `indent=2`).

        Returns:
            A string.

        Example:

        >>> import json, rnnkit as keras
        >>> model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)], name="tiny")
        >>> config = json.loads(model.to_json())
        >>> config["class_name"], config["config"]["name"]
        ('Sequential', 'tiny')
        >>> keras.saving.deserialize(config).output_shape
        (None, 2)
        """
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
    """A model defined by a graph of layers from symbolic inputs to outputs.

    `Model(inputs, outputs)` returns one. Calling layers and `rnnkit.ops` functions on
    `rnnkit.Input` tensors records a graph; the model keeps the part between `inputs` and
    `outputs` and replays it, in order, on the arrays it is called on, passing masks from
    layer to layer. A layer may be used several times (shared weights), and the inputs and
    outputs may be single tensors, lists or dicts: the model takes and returns the same
    structures (a model with a list of inputs may also be called on a dict by input name).

    Args:
        inputs: The `rnnkit.Input` tensor(s): a tensor, or a list, tuple or dict of them.
        outputs: The output tensor(s): a tensor, or a list or dict of them.
        name: Optional name; by default a unique `"functional"`, `"functional_1"`, ...
        **kwargs: Base layer arguments (`trainable`, ...).

    Raises:
        ValueError: If an input is not the tensor of an `rnnkit.Input`, an output is not a
            symbolic tensor, or an output needs a tensor that is not among `inputs`
            ("Graph disconnected").

    Example:

    >>> import numpy as np, rnnkit as keras
    >>> tokens = keras.Input((None,), dtype="int32", name="tokens")
    >>> extra = keras.Input((2,), name="extra")
    >>> x = keras.layers.Embedding(10, 4, mask_zero=True)(tokens)
    >>> x = keras.layers.GRU(3)(x)
    >>> x = keras.ops.concatenate([x, extra], axis=-1)
    >>> score = keras.layers.Dense(1, name="score")(x)
    >>> model = keras.Model([tokens, extra], score)
    >>> model.input_shape, model.output_shape
    ([(None, None), (None, 2)], (None, 1))
    >>> model([np.array([[1, 2, 0]]), np.ones((1, 2))]).shape
    (1, 1)
    >>> model({"tokens": np.array([[1, 2, 0]]), "extra": np.ones((1, 2))}).shape
    (1, 1)
    """

    _mixed_precision = True   # computes under "mixed_bfloat16" (docs/mixed_precision.md)

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
        """The model's input tensors (`KerasTensor`s), as a flat list."""
        return tree.flatten(self.inputs_structure)

    @property
    def outputs(self):
        """The model's output tensors (`KerasTensor`s), as a flat list."""
        return tree.flatten(self.outputs_structure)

    @property
    def input_shape(self):
        """The shape of the input, batch axis included (None for unknown sizes); a list of
        shapes for a model with several inputs."""
        shapes = [t.shape for t in self.inputs]
        return shapes[0] if len(shapes) == 1 else shapes

    @property
    def output_shape(self):
        """The shape of the output, batch axis included (None for unknown sizes); a list of
        shapes for a model with several outputs."""
        shapes = [t.shape for t in self.outputs]
        return shapes[0] if len(shapes) == 1 else shapes

    @property
    def output_names(self):
        """The names of the outputs, in `outputs` order: the name of the layer (or op) that
        produces each one, with `_1`, `_2`, ... added when a name repeats. `compile` and
        `fit` accept dicts of losses, metrics and targets keyed by these names."""
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
        """Runs the graph on `inputs` and returns the outputs, in the model's output
        structure; each output carries its mask.

        Args:
            inputs: Arrays structured like the model's inputs; a model whose inputs are a
                list also takes a dict by input name.
            training: Passed to every layer whose `call` takes `training`.
            mask: Optional mask(s) of the inputs, structured like them.
        """
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
        """Returns the shapes of the model's outputs as recorded in the graph (in the
        outputs' structure), whatever `input_shape` is."""
        return tree.map_structure(lambda t: t.shape, self.outputs_structure)

    def compute_mask(self, inputs, previous_mask=None):
        """Returns None: the outputs carry their masks themselves (see `call`)."""
        return None

    def build(self, input_shape):
        """Does nothing: a functional model is built when it is made."""
        pass

    # -- config ----------------------------------------------------------------------------------
    def get_config(self):
        """Returns the graph as a JSON-serializable dict, in Keras 3's form.

        The dict holds the model's `name` and `trainable`, `layers` (each layer and
        recorded op serialized, with its `inbound_nodes`: the arguments it was called on,
        tensors written as `[layer name, node index, tensor index]`), and `input_layers` /
        `output_layers` in the same form. `from_config` rebuilds the model from it.

        Raises:
            ValueError: If a recorded op was called with an argument that has no JSON
                form.
        """
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
        """Rebuilds a functional model from `get_config()`'s dict (or Keras 3's).

        Each layer is deserialized and called again on the tensors its inbound nodes name,
        in an order where every call's inputs exist, and recorded ops are recorded again.

        Args:
            config: The config dict.
            custom_objects: Optional dict of names to custom classes and functions.

        Returns:
            A new functional model, with fresh weights.

        Raises:
            ValueError: If a layer's inputs are produced by no other layer, or an op is not
                in `rnnkit.ops`.
        """
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
