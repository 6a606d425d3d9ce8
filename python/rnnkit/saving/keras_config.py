"""Translation between rnnkit's object configs and the configs Keras writes into its files.

rnnkit's `serialize` writes Keras 3's envelopes with rnnkit's own module names, a layer dtype
as a plain string and its own form of functional-model nodes. `to_keras` turns such a config
into exactly what Keras 3 writes (`keras.layers`, `DTypePolicy` envelopes, `__keras_tensor__`
node arguments), so Keras loads rnnkit's files; `to_rnnkit` turns a config read from a file
(written by Keras 3, tf.keras 2.x or rnnkit) into one rnnkit's `deserialize` accepts.

`to_rnnkit` drops only what has an exact meaning in rnnkit when dropped (Keras' defaults, such
as `time_major: false` or `quantization_config: null`), and raises a `ValueError` naming the
argument for a value that would change the computation (`time_major: true`).
"""

from __future__ import annotations

import copy

__all__ = ["to_keras", "to_rnnkit"]

# Keras arguments rnnkit's classes do not take, with the value they may be dropped at (the
# Keras default, so dropping it changes nothing).
_DROPPABLE = {
    "input_axes": None,           # initializers (Keras 3.15)
    "output_axes": None,
    "quantization_config": None,  # Dense, Embedding
    "lora_rank": None,
    "lora_alpha": None,
    "synchronized": False,        # BatchNormalization
    "renorm": False,
    "renorm_clipping": None,
    "renorm_momentum": 0.99,
    "time_major": False,          # tf.keras 2.x RNN layers
    "input_length": None,         # tf.keras 2.x Embedding
    "is_legacy_optimizer": False,  # tf.keras 2.x optimizers
    "jit_compile": None,
}
# Keras arguments that are dropped whatever their value: they select an implementation of the
# same computation (Keras 3 also drops `implementation`).
_ALWAYS_DROPPED = ("implementation",)
_RNN_CLASSES = ("LSTM", "GRU", "SimpleRNN", "RNN", "LSTMCell", "GRUCell", "SimpleRNNCell")
# Arguments whose non-default value is dropped because it has no effect on rnnkit's numbers.
_DROP_ANY_VALUE = {
    "input_length": "Embedding",          # only a shape hint in tf.keras 2.x
    "jit_compile": None,                  # tf.keras 2.x optimizers
    "renorm_momentum": "BatchNormalization",  # unused unless renorm=True
}

_POLICY_CLASSES = ("DTypePolicy", "Policy", "FloatDTypePolicy")
_FUNCTIONAL_MODULES = ("keras.src.models.functional", "keras.src.engine.functional",
                       "tf_keras.src.engine.functional", "keras.engine.functional",
                       "rnnkit.models", "rnnkit.models.functional", "keras.models", "keras")


def _is_envelope(config):
    return isinstance(config, dict) and "class_name" in config and "config" in config


def _module_to_rnnkit(module):
    """`keras.layers`, `keras.src.layers.rnn.lstm`, `tf_keras.src.layers` -> the same module
    with `keras` (and `src`) replaced by `rnnkit`; other modules unchanged."""
    if not isinstance(module, str):
        return module
    parts = module.split(".")
    if parts[0] in ("keras", "tf_keras"):
        parts = ["rnnkit"] + [p for p in parts[1:] if p != "src"]
        if len(parts) > 1 and parts[1] == "engine":
            parts[1] = "models"
        return ".".join(parts)
    return module


def _policy_name(config, where):
    inner = config.get("config") or {}
    name = inner.get("name", "float32") if isinstance(inner, dict) else inner
    if not isinstance(name, str):
        raise ValueError(f"{where}: cannot read the dtype policy {config!r}")
    return name


def to_rnnkit(config, where="config"):
    """Returns a copy of a config read from a file, in the form rnnkit's `deserialize` takes.

    Args:
        config: The config (a dict from `config.json` or a legacy `model_config`).
        where: A description of the config's origin, for error messages.

    Returns:
        The translated config.

    Raises:
        ValueError: If the config holds a Keras argument whose value rnnkit cannot honour
            exactly (for example `time_major: true`), naming the argument.
    """
    return _to_rnnkit(copy.deepcopy(config), where)


def _to_rnnkit(config, where):
    if isinstance(config, list):
        return [_to_rnnkit(item, where) for item in config]
    if not isinstance(config, dict):
        return config
    if not _is_envelope(config):
        if "class_name" in config and "config" not in config:
            return config
        return {k: _to_rnnkit(v, where) for k, v in config.items()}
    class_name = config["class_name"]
    if class_name in _POLICY_CLASSES:
        return _policy_name(config, where)
    config.pop("shared_object_id", None)
    if "module" in config:
        config["module"] = _module_to_rnnkit(config["module"])
    registered = config.get("registered_name")
    if isinstance(registered, str) and registered.startswith("Custom>") and \
            registered[len("Custom>"):] == class_name and \
            (config.get("module") or "").startswith("rnnkit"):
        config["registered_name"] = None  # tf.keras 2.x optimizers: "Custom>Adam"
    if class_name == "Functional" and config.get("registered_name") == "Functional":
        config["registered_name"] = None
    if class_name in ("Functional", "Model") and isinstance(config.get("config"), dict) \
            and "layers" in config["config"] and "input_layers" in config["config"]:
        config["module"] = "rnnkit.models"
        config["class_name"] = "Functional"
        config["config"] = _functional_to_rnnkit(config["config"], where)
        for key in ("build_config", "compile_config"):
            if key in config:
                config[key] = _to_rnnkit(config[key], where)
        return config
    inner = config["config"]
    if class_name == "__keras_tensor__":
        return config
    if class_name == "Sequential" and isinstance(inner, dict):
        inner = _sequential_to_rnnkit(inner)
    if isinstance(inner, dict):
        name = inner.get("name", class_name)
        at = f"{where}: {class_name} '{name}'"
        inner = {k: _to_rnnkit(v, at) for k, v in inner.items()}
        if config.get("registered_name") is None:   # built-in classes only
            inner = _fix_arguments(class_name, inner, at)
        config["config"] = inner
    for key in ("build_config", "compile_config"):
        if key in config:
            config[key] = _to_rnnkit(config[key], where)
    return config


def _fix_arguments(class_name, inner, at):
    """Drops the Keras arguments rnnkit does not take when dropping them changes nothing;
    translates tf.keras 2.x spellings."""
    if "time_major" in inner and inner["time_major"]:
        raise ValueError(
            f"{at} has `time_major=True`: the layer reads its input as (timesteps, batch, "
            f"features), which Keras 3 and rnnkit do not support. Only time_major=False "
            f"loads.")
    if class_name in _RNN_CLASSES:
        for key in _ALWAYS_DROPPED:
            inner.pop(key, None)
    for key, default in _DROPPABLE.items():
        if key not in inner:
            continue
        owner = _DROP_ANY_VALUE.get(key, "")
        if inner[key] == default or owner is None or owner == class_name:
            del inner[key]
    if class_name == "InputLayer":
        if "batch_input_shape" in inner:
            inner["batch_shape"] = inner.pop("batch_input_shape")
    else:
        # tf.keras 2.x repeats the model's input shape on its first layer; the model's
        # InputLayer (or build_input_shape) carries it.
        inner.pop("batch_input_shape", None)
    if class_name == "BatchNormalization" and isinstance(inner.get("axis"), list):
        if len(inner["axis"]) != 1:
            raise ValueError(f"{at} normalizes over several axes {inner['axis']}; rnnkit's "
                             f"BatchNormalization takes one axis")
        inner["axis"] = inner["axis"][0]
    if "reduction" in inner:  # tf.keras 2.x losses
        inner.pop("fn", None)
        if inner["reduction"] == "auto":
            inner["reduction"] = "sum_over_batch_size"
    return inner


def _sequential_to_rnnkit(inner):
    """A tf.keras 2.x Sequential has no `build_input_shape`: its InputLayer gives it."""
    inner = dict(inner)
    layers = inner.get("layers") or []
    if inner.get("build_input_shape") is None and layers and isinstance(layers[0], dict) \
            and layers[0].get("class_name") == "InputLayer":
        first = layers[0].get("config") or {}
        shape = first.get("batch_shape", first.get("batch_input_shape"))
        if shape is not None:
            inner["build_input_shape"] = shape
    return inner


def _history(value):
    """A Keras node argument naming a tensor -> rnnkit's `{"keras_history": [...]}`."""
    if isinstance(value, dict) and value.get("class_name") == "__keras_tensor__":
        history = list((value.get("config") or {}).get("keras_history") or [])
        return {"keras_history": history[:3]}
    if isinstance(value, dict) and "keras_history" in value:
        return value
    if isinstance(value, dict):
        return {k: _history(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_history(v) for v in value]
    return value


def _triples(value):
    """`input_layers`/`output_layers`: a bare `[name, node, tensor]` or a list of them."""
    if isinstance(value, list) and len(value) == 3 and isinstance(value[0], str) and \
            all(isinstance(v, int) for v in value[1:]):
        return {"keras_history": value}
    if isinstance(value, list):
        if len(value) == 1 and isinstance(value[0], list):
            return _triples(value[0])   # tf.keras 2.x: [[name, node, tensor]] for one tensor
        return [_triples(v) for v in value]
    if isinstance(value, dict):
        return _history(value)
    return value


def _functional_to_rnnkit(inner, where):
    inner = dict(inner)
    layers = []
    for entry in inner.get("layers", []):
        name = entry.get("name") or (entry.get("config") or {}).get("name")
        nodes = entry.get("inbound_nodes", [])
        body = {k: v for k, v in entry.items() if k not in ("name", "inbound_nodes")}
        body = _to_rnnkit(body, where)
        converted = []
        for index, node in enumerate(nodes):
            if isinstance(node, list):  # legacy: [[name, node, tensor, {kwargs}], ...]
                tensors, kwargs = [], {}
                for item in node:
                    tensors.append({"keras_history": list(item[:3])})
                    if len(item) > 3 and isinstance(item[3], dict):
                        kwargs = item[3]
                args = [tensors[0] if len(tensors) == 1 else tensors]
                converted.append({"args": args, "kwargs": _history(kwargs),
                                  "node_index": index})
            else:
                converted.append({"args": _history(node.get("args", [])),
                                  "kwargs": _history(node.get("kwargs", {})),
                                  "node_index": node.get("node_index", index)})
        body["name"] = name
        body["inbound_nodes"] = converted
        layers.append(body)
    inner["layers"] = layers
    inner["input_layers"] = _triples(inner.get("input_layers"))
    inner["output_layers"] = _triples(inner.get("output_layers"))
    return inner


# -- rnnkit -> Keras ----------------------------------------------------------------------------

_KERAS_MODULES = {"rnnkit.layers": "keras.layers", "rnnkit.initializers": "keras.initializers",
                  "rnnkit.regularizers": "keras.regularizers",
                  "rnnkit.constraints": "keras.constraints",
                  "rnnkit.optimizers": "keras.optimizers", "rnnkit.losses": "keras.losses",
                  "rnnkit.metrics": "keras.metrics", "rnnkit.activations": "keras.activations",
                  "rnnkit.optimizers.schedules": "keras.optimizers.schedules"}


def _policy(name):
    return {"module": "keras", "class_name": "DTypePolicy", "config": {"name": name},
            "registered_name": None}


def to_keras(config, model=None):
    """Returns a copy of an rnnkit config (from `rnnkit.saving.serialize`) as Keras 3 writes it.

    Args:
        config: The serialized object.
        model: The model the config was made from, if any: its functional graph gives the
            shapes and dtypes Keras stores with each node argument.

    Returns:
        The config, with Keras' module names, `DTypePolicy` envelopes for layer dtypes and
        Keras' node format for functional models.
    """
    shapes = _tensor_shapes(model) if model is not None else {}
    return _to_keras(copy.deepcopy(config), shapes)


def _tensor_shapes(model):
    """(layer name, node index, tensor index) -> (shape, dtype) over every nested model."""
    out = {}
    stack = [model]
    while stack:
        m = stack.pop()
        for layer in list(getattr(m, "_operations", []) or []) + list(getattr(m, "layers", [])):
            for node_index, node in enumerate(getattr(layer, "_inbound_nodes", []) or []):
                for tensor_index, t in enumerate(getattr(node, "output_tensors", []) or []):
                    if hasattr(t, "shape") and hasattr(t, "dtype"):
                        out.setdefault((layer.name, node_index, tensor_index),
                                       (list(t.shape), str(t.dtype)))
            if hasattr(layer, "_operations") and layer is not m:
                stack.append(layer)
    return out


def _is_layer_config(envelope):
    inner = envelope.get("config")
    return (isinstance(inner, dict) and isinstance(inner.get("dtype"), str)
            and "name" in inner and "trainable" in inner
            and envelope.get("class_name") != "InputLayer")


def _to_keras(config, shapes):
    if isinstance(config, tuple):
        config = list(config)
    if isinstance(config, list):
        return [_to_keras(v, shapes) for v in config]
    if not isinstance(config, dict):
        return config
    if not _is_envelope(config) or "module" not in config:
        return {k: _to_keras(v, shapes) for k, v in config.items()}
    module = config.get("module")
    class_name = config["class_name"]
    if module in _KERAS_MODULES:
        config["module"] = _KERAS_MODULES[module]
    elif isinstance(module, str) and module.startswith("rnnkit."):
        config["module"] = "keras." + module[len("rnnkit."):]
    inner = config["config"]
    if isinstance(module, str) and module.startswith("rnnkit.models"):
        if class_name == "Sequential":
            config["module"] = "keras"
            config["registered_name"] = None
        elif class_name == "Functional":
            config["module"] = "keras.src.models.functional"
            config["registered_name"] = "Functional"
            inner = _functional_to_keras(inner, shapes)
    if _is_layer_config(config):
        inner = dict(inner)
        inner["dtype"] = _policy(inner["dtype"])
    if isinstance(inner, dict) and config["module"] in ("keras.layers", "keras.initializers"):
        inner = _keras_defaults(class_name, dict(inner))
    if class_name == "Sequential" and isinstance(inner, dict) and "dtype" not in inner:
        inner = {"name": inner.get("name"), "trainable": inner.get("trainable", True),
                 "dtype": _policy("float32"), **{k: v for k, v in inner.items()
                                                 if k not in ("name", "trainable")}}
    if isinstance(inner, dict):
        config["config"] = {k: (v if k == "dtype" and isinstance(v, dict) and
                                v.get("class_name") == "DTypePolicy" else _to_keras(v, shapes))
                            for k, v in inner.items()}
    else:
        config["config"] = _to_keras(inner, shapes)
    for key in ("build_config", "compile_config"):
        if key in config:
            config[key] = _to_keras(config[key], shapes)
    return config


_VARIANCE_SCALING = ("VarianceScaling", "GlorotUniform", "GlorotNormal", "LecunNormal",
                     "LecunUniform", "HeNormal", "HeUniform")


def _keras_defaults(class_name, inner):
    """The keys Keras 3.15 writes and rnnkit's configs lack, or the other way round, at
    values that mean the same."""
    if class_name in _VARIANCE_SCALING:
        inner.setdefault("input_axes", None)
        inner.setdefault("output_axes", None)
    if class_name in ("LSTM", "GRU") and inner.get("use_cudnn") == "auto":
        del inner["use_cudnn"]          # Keras takes it but does not write it
    if class_name == "Dense" and inner.get("activity_regularizer", 0) is None:
        del inner["activity_regularizer"]   # written only when set
    return inner


def _tensor_to_keras(value, shapes):
    if isinstance(value, dict) and "keras_history" in value and len(value) == 1:
        history = list(value["keras_history"])
        shape, dtype = shapes.get(tuple(history), (None, "float32"))
        return {"class_name": "__keras_tensor__",
                "config": {"shape": shape, "dtype": dtype, "keras_history": history}}
    if isinstance(value, dict):
        return {k: _tensor_to_keras(v, shapes) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_tensor_to_keras(v, shapes) for v in value]
    return value


def _io_to_keras(value):
    if isinstance(value, dict) and "keras_history" in value:
        return list(value["keras_history"])
    if isinstance(value, (list, tuple)):
        return [_io_to_keras(v) for v in value]
    return value


def _functional_to_keras(inner, shapes):
    inner = dict(inner)
    layers = []
    for entry in inner.get("layers", []):
        entry = dict(entry)
        nodes = []
        for node in entry.get("inbound_nodes", []):
            nodes.append({"args": _tensor_to_keras(node.get("args", []), shapes),
                          "kwargs": _tensor_to_keras(node.get("kwargs", {}), shapes)})
        entry["inbound_nodes"] = nodes
        name = entry.pop("name")
        inbound = entry.pop("inbound_nodes")
        entry = _to_keras(entry, shapes)
        entry["name"] = name
        entry["inbound_nodes"] = inbound
        layers.append(entry)
    inner["layers"] = layers
    inner["input_layers"] = _io_to_keras(inner.get("input_layers"))
    inner["output_layers"] = _io_to_keras(inner.get("output_layers"))
    return inner
