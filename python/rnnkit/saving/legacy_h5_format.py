"""The legacy HDF5 format (`model.save("x.h5")`, tf.keras 2.x `save_weights("x.h5")`).

A full model file has root attributes `model_config` (JSON), `training_config` (JSON, when
compiled), `keras_version` and `backend`, the weights under `model_weights/` and the
optimizer's under `optimizer_weights/`. A weights-only file has the content of
`model_weights/` at its root. `model_weights` lists `layer_names`; each layer's group lists
its `weight_names` (trainable weights, then non-trainable), and the arrays sit at those
names inside the layer's group.

Weights are matched as Keras matches them: by position, over the layers that have weights,
and within a layer in `weight_names` order; names are never parsed. Every count and shape
is checked from the file's metadata before any array is read.
"""

from __future__ import annotations

import json
import os
import warnings

import numpy as np

from rnnkit.saving.saving_lib import FileFormatError

__all__ = ["is_legacy_h5", "load_model_from_hdf5", "load_weights_from_hdf5",
           "save_model_to_hdf5"]

MAX_ATTR_JSON = 64 << 20
_CHUNK = 64512   # HDF5's limit on an attribute's size, as Keras splits lists


def _decode(value):
    if isinstance(value, bytes):
        return value.decode("utf-8")
    if isinstance(value, np.bytes_):
        return bytes(value).decode("utf-8")
    return str(value)


def _string_list(attrs, name):
    """A list-of-strings attribute, concatenating Keras' chunks (`name0`, `name1`, ...) and
    accepting vlen or fixed-length strings, bytes or str, and an empty numeric array."""
    if name in attrs:
        raw = [attrs[name]]
    else:
        raw, i = [], 0
        while f"{name}{i}" in attrs:
            raw.append(attrs[f"{name}{i}"])
            i += 1
        if not raw:
            return None
    out = []
    for chunk in raw:
        arr = np.asarray(chunk)
        if arr.size == 0:
            continue
        if arr.dtype.kind not in "SUO":
            raise FileFormatError(f"the attribute {name!r} is not a list of strings")
        out.extend(_decode(v) for v in arr.reshape(-1))
    return out


def _json_attr(attrs, name, source):
    value = attrs.get(name)
    if value is None:
        return None
    text = _decode(value)
    if len(text) > MAX_ATTR_JSON:
        raise FileFormatError(f"{source}: the attribute {name!r} is too large")
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise FileFormatError(f"{source}: the attribute {name!r} is not JSON ({e})") from None


def is_legacy_h5(h5file):
    """Whether an open HDF5 file is in the legacy layout (a `model_config`, or
    `layer_names` at the root or in `model_weights`)."""
    attrs = h5file.attrs
    if "model_config" in attrs or "layer_names" in attrs or "layer_names0" in attrs:
        return True
    group = h5file.get("model_weights")
    return group is not None and ("layer_names" in group.attrs or
                                  "layer_names0" in group.attrs)


# -- writing ------------------------------------------------------------------------------------

def _legacy_weights(layer):
    return list(layer.trainable_weights) + list(layer.non_trainable_weights)


def _set_string_list(attrs, name, values):
    data = np.array([v.encode("utf-8") for v in values], dtype=object)
    import h5py
    dtype = h5py.string_dtype(encoding="ascii")
    size = sum(len(v) for v in data) + 8 * len(data)
    if size <= _CHUNK:
        attrs.create(name, data, dtype=dtype)
        return
    chunks = int(np.ceil(size / _CHUNK))
    for i, part in enumerate(np.array_split(data, chunks)):
        attrs.create(f"{name}{i}", part, dtype=dtype)


def _legacy_model_config(model):
    """Keras 3's `model_config`: top-level layer entries with only `class_name`/`config`."""
    from rnnkit.saving import saving_lib
    config = saving_lib.model_config(model)
    inner = dict(config["config"])
    entries = []
    for entry in inner.get("layers", []):
        short = {"class_name": entry["class_name"], "config": entry["config"]}
        if "name" in entry:
            short["name"] = entry["name"]
        if "inbound_nodes" in entry:
            short["inbound_nodes"] = entry["inbound_nodes"]
        entries.append(short)
    inner["layers"] = entries
    return {"class_name": config["class_name"], "config": inner}, config.get("compile_config")


def save_model_to_hdf5(model, filepath, overwrite=True, include_optimizer=True):
    """Writes a full model to a legacy `.h5` file, as Keras 3 writes it.

    Args:
        model: The model.
        filepath: Path ending in `.h5` or `.hdf5`.
        overwrite: Bool. Defaults to `True`.
        include_optimizer: Bool, write the optimizer's variables. Defaults to `True`.
    """
    import h5py
    from rnnkit.saving import saving_lib
    from rnnkit.models.functional import Functional
    from rnnkit.models.sequential import Sequential
    filepath = os.fspath(filepath)
    if not isinstance(model, (Functional, Sequential)):
        raise NotImplementedError(
            "Saving to the legacy HDF5 format (.h5) needs a Sequential or functional model; "
            f"'{model.name}' is a subclassed model ({type(model).__name__}), whose "
            "computation is Python code. Save it as `.keras`, or its weights with "
            "`save_weights`.")
    if os.path.exists(filepath) and not overwrite:
        raise FileExistsError(f"{filepath} exists and overwrite=False")
    config, compile_config = _legacy_model_config(model)
    string = h5py.string_dtype(encoding="utf-8")
    with h5py.File(filepath, "w") as f:
        f.attrs.create("backend", "jax", dtype=string)
        f.attrs.create("keras_version", saving_lib.KERAS_VERSION, dtype=string)
        f.attrs["model_config"] = json.dumps(config).encode("utf-8")
        if compile_config is not None:
            training = {k: _legacy_envelopes(v) for k, v in compile_config.items()
                        if k != "optimizer"}
            optimizer = compile_config["optimizer"]
            training["optimizer_config"] = {"class_name": optimizer["class_name"],
                                            "config": optimizer["config"]}
            f.attrs["training_config"] = json.dumps(training).encode("utf-8")
        group = f.create_group("model_weights")
        _write_weights(group, model)
        optimizer = getattr(model, "optimizer", None)
        if include_optimizer and compile_config is not None and optimizer is not None and \
                optimizer.variables:
            og = f.create_group("optimizer_weights")
            names = [v.path for v in optimizer.variables]
            _set_string_list(og.attrs, "weight_names", names)
            for name, variable in zip(names, optimizer.variables):
                value = np.asarray(variable.numpy())
                if name.endswith("iteration") and value.dtype.kind in "iu":
                    value = value.astype(np.int32)
                og.create_dataset(name, data=value)


def _legacy_envelopes(spec):
    """Keras' legacy serialization of the compile arguments: `{"class_name", "config"}`
    only, for each loss or metric object (in lists and dicts too)."""
    if isinstance(spec, dict) and "class_name" in spec and "config" in spec:
        return {"class_name": spec["class_name"], "config": spec["config"]}
    if isinstance(spec, dict):
        return {k: _legacy_envelopes(v) for k, v in spec.items()}
    if isinstance(spec, list):
        return [_legacy_envelopes(v) for v in spec]
    return spec


def _write_weights(group, model):
    from rnnkit.saving import saving_lib
    layers = list(model.layers)
    _set_string_list(group.attrs, "layer_names", [layer.name for layer in layers])
    group.attrs.create("backend", b"jax")
    group.attrs.create("keras_version", saving_lib.KERAS_VERSION.encode("ascii"))
    for layer in layers:
        lg = group.create_group(layer.name)
        weights = _legacy_weights(layer)
        names = [w.path for w in weights]
        _set_string_list(lg.attrs, "weight_names", names)
        for name, w in zip(names, weights):
            lg.create_dataset(name, data=np.asarray(w.numpy()))
    top = group.create_group("top_level_model_weights")
    top.attrs["weight_names"] = np.zeros((0,), dtype=np.float64)


# -- reading ------------------------------------------------------------------------------------

def _weights_root(f):
    if "layer_names" in f.attrs or "layer_names0" in f.attrs:
        return f
    group = f.get("model_weights")
    if group is None:
        raise FileFormatError("the file holds no model_weights")
    return group


def _legacy_pairs(root, model, source, skip_mismatch, by_name=False):
    """(variable, dataset) pairs over the layers with weights, matched by position, after
    checking every count and shape; raises naming every mismatch."""
    import h5py
    try:
        layer_names = _string_list(root.attrs, "layer_names") or []
    except FileFormatError as e:
        raise FileFormatError(f"{source}: {e}") from None
    file_layers = []
    for name in layer_names:
        group = root.get(name)
        if not isinstance(group, h5py.Group):
            raise FileFormatError(f"{source}: the layer group '{name}' listed in layer_names "
                                  f"is missing")
        names = _string_list(group.attrs, "weight_names") or []
        if names:
            file_layers.append((name, group, names))
    model_layers = [layer for layer in model.layers if _legacy_weights(layer)]
    if by_name:
        found = {name: (name, group, names) for name, group, names in file_layers}
        model_layers = [layer for layer in model_layers if layer.name in found]
        file_layers = [found[layer.name] for layer in model_layers]
    if len(file_layers) != len(model_layers):
        raise FileFormatError(
            f"{source}: layer count mismatch: the file holds weights for "
            f"{len(file_layers)} layers ({', '.join(n for n, _, _ in file_layers)}), but "
            f"model '{model.name}' has {len(model_layers)} layers with weights "
            f"({', '.join(layer.name for layer in model_layers)}); no weight was changed")
    errors, pairs = [], []
    for layer, (name, group, names) in zip(model_layers, file_layers):
        variables = _legacy_weights(layer)
        local = []
        if len(names) != len(variables):
            local.append(f"layer '{layer.name}' (file layer '{name}') expects "
                         f"{len(variables)} weights, the file holds {len(names)}")
        else:
            for variable, wname in zip(variables, names):
                dataset = group.get(wname)
                where = f"'{name}/{wname}' ({variable.path})"
                if not isinstance(dataset, h5py.Dataset):
                    local.append(f"{where}: missing")
                    continue
                if tuple(dataset.shape or ()) != tuple(variable.shape):
                    local.append(f"{where}: expected shape {tuple(variable.shape)}, found "
                                 f"{tuple(dataset.shape or ())}")
                    continue
                if dataset.dtype.kind not in "fiu" or dataset.dtype.itemsize > 8:
                    local.append(f"{where}: expected a number array, found {dataset.dtype}")
                    continue
                pairs.append((variable, dataset))
        if local:
            if skip_mismatch:
                warnings.warn(f"{source}: skipping layer '{layer.name}': " + "; ".join(local),
                              stacklevel=4)
                pairs = [p for p in pairs if all(p[0] is not v for v in variables)]
            else:
                errors.extend(local)
    if errors:
        raise FileFormatError(f"Cannot load the weights of {source} into model "
                              f"'{model.name}'; no weight was changed:\n  " +
                              "\n  ".join(errors))
    return pairs


def _assign_pairs(pairs):
    values = []
    for variable, dataset in pairs:
        value = np.empty(tuple(variable.shape), dtype=dataset.dtype)
        if value.size:
            dataset.read_direct(value)
        values.append(value)
    for (variable, _), value in zip(pairs, values):
        variable.assign(value.astype(variable.dtype, copy=False))


def load_weights_from_hdf5(h5file, model, source, skip_mismatch=False, by_name=False):
    """Loads legacy weights (a full model file or a weights-only file) into a built model.

    Args:
        h5file: The open `h5py.File`.
        model: The model.
        source: The file's name, for messages.
        skip_mismatch: Bool, skip layers whose weights do not match, with a warning.
        by_name: Bool, match the file's layers to the model's by name (layers missing on
            either side are left alone) instead of by position.
    """
    try:
        root = _weights_root(h5file)
    except FileFormatError as e:
        raise FileFormatError(f"{source}: {e}") from None
    _assign_pairs(_legacy_pairs(root, model, source, skip_mismatch, by_name=by_name))


def load_model_from_hdf5(filepath, custom_objects=None, compile=True, safe_mode=True):
    """Reads a full model from a legacy `.h5` file (Keras 3 or tf.keras 2.x).

    Args:
        filepath: The file.
        custom_objects: Optional dict of custom classes and functions.
        compile: Bool, compile with `training_config` and restore the optimizer's
            variables when they match. Defaults to `True`.
        safe_mode: Bool, refuse serialized lambdas. Defaults to `True`.

    Returns:
        The model.
    """
    import h5py
    from rnnkit.saving import saving_lib
    filepath = os.fspath(filepath)
    source = f"'{filepath}'"
    try:
        f = h5py.File(filepath, "r")
    except OSError as e:
        raise FileFormatError(f"{source} is not a valid HDF5 file ({e})") from None
    with f:
        config = _json_attr(f.attrs, "model_config", source)
        if config is None:
            raise FileFormatError(f"{source} holds no model config (a weights-only file: "
                                  f"build the model and call load_weights)")
        saving_lib.check_config_fits(config, f, source)
        model, _ = saving_lib.deserialize_model(config, custom_objects, safe_mode, source)
        pairs = _legacy_pairs(_weights_root(f), model, source, skip_mismatch=False)
        training = _json_attr(f.attrs, "training_config", source) if compile else None
        opt_pairs = []
        if training is not None:
            from rnnkit.saving import keras_config
            training = keras_config.to_rnnkit(training, where=source)
            compile_config = dict(training)
            opt = compile_config.pop("optimizer_config", None)
            if opt is not None:
                opt = dict(opt)
                name = opt.get("class_name", "")
                if isinstance(name, str) and ">" in name:
                    opt["class_name"] = name.split(">")[-1]   # tf.keras 2.x: "Custom>Adam"
                opt.setdefault("module", "keras.optimizers")
                opt.setdefault("registered_name", None)
                opt = keras_config.to_rnnkit(opt, where=source)
            compile_config["optimizer"] = opt
            compile_config["metrics"] = _flatten_metrics(compile_config.get("metrics"))
            compile_config["weighted_metrics"] = _flatten_metrics(
                compile_config.get("weighted_metrics"))
            saving_lib._compile_from_config(model, compile_config, custom_objects)
            saving_lib.build_optimizer(model)
            opt_pairs = _optimizer_pairs(f, model.optimizer, source)
        _assign_pairs(pairs + opt_pairs)
    return model


def _flatten_metrics(spec):
    """tf.keras 2.x writes metrics as `[[{MeanMetricWrapper ...}]]` (one list per output)."""
    if isinstance(spec, list) and len(spec) == 1 and isinstance(spec[0], list):
        return _flatten_metrics(spec[0])
    if isinstance(spec, list):
        out = []
        for item in spec:
            if isinstance(item, dict) and item.get("class_name") == "MeanMetricWrapper":
                inner = item.get("config") or {}
                out.append(inner.get("fn") or inner.get("name"))
            else:
                out.append(item)
        return out
    return spec


def _optimizer_pairs(f, optimizer, source):
    """The optimizer's variables paired with `optimizer_weights`, when they match; a
    tf.keras 2.x file (no learning-rate variable) is matched around it. Else a warning."""
    import h5py
    group = f.get("optimizer_weights")
    if not isinstance(group, h5py.Group):
        return []
    names = _string_list(group.attrs, "weight_names") or []
    variables = list(optimizer.variables)
    targets = variables
    if len(names) == len(variables) - 1 and len(variables) >= 2 and \
            variables[1].path.endswith("learning_rate") and \
            not any("learning_rate" in n for n in names):
        targets = [variables[0]] + variables[2:]   # tf.keras 2.x stores no learning rate
    elif len(variables) == 2 and len(names) > 2 and "iter" in names[0] and \
            getattr(optimizer, "momentum", None) == 0 and \
            all("/m/" in n for n in names[1:]):
        # tf.keras 2.x SGD keeps (unused, zero) momentum slots even with momentum=0.
        names = names[:1]
        targets = variables[:1]
    if len(names) != len(targets):
        warnings.warn(f"{source}: skipping the optimizer's variables: the optimizer has "
                      f"{len(variables)}, the file {len(names)}", stacklevel=3)
        return []
    pairs = []
    for variable, name in zip(targets, names):
        dataset = group.get(name)
        if not isinstance(dataset, h5py.Dataset) or \
                int(np.prod(dataset.shape or (), dtype=np.int64)) != \
                int(np.prod(variable.shape, dtype=np.int64)):
            warnings.warn(f"{source}: skipping the optimizer's variables: '{name}' does not "
                          f"match {variable.path} {tuple(variable.shape)}", stacklevel=3)
            return []
        pairs.append((variable, dataset))
    return [(v, _Reshaped(d, v.shape)) for v, d in pairs]


class _Reshaped:
    """A dataset read into a variable's shape (a scalar stored as shape (1,))."""

    def __init__(self, dataset, shape):
        self.dataset, self.shape, self.dtype = dataset, tuple(shape), dataset.dtype

    def read_direct(self, out):
        out[...] = np.asarray(self.dataset[()]).reshape(self.shape)
