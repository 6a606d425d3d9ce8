"""Keras 3's native formats: the `.keras` zip and the `.weights.h5` weight tree.

A `.keras` file is a zip (every member stored, not compressed) of `metadata.json`,
`config.json` (the model's config as Keras 3 writes it) and `model.weights.h5`. The weight
file, inside the zip or on its own as `.weights.h5`, is an HDF5 tree with one group per object
that has variables: `layers/<snake_case class name>[_N]/.../vars/<i>`, the model's own
`vars`, and `optimizer/vars` (see `docs/saving.md`).

Reading never runs code from the file and never changes a model unless every array fits:
members are read with size limits, every dataset's shape and dtype is compared with the
variable it is for before any array is read, and the values are assigned only once all of
them have been read.
"""

from __future__ import annotations

import datetime
import io
import json
import os
import warnings
import zipfile

import numpy as np

__all__ = ["load_model", "load_weights", "read_weight_tree", "save_model", "save_weights",
           "weight_entries", "write_weight_tree"]

CONFIG_NAME = "config.json"
METADATA_NAME = "metadata.json"
WEIGHTS_NAME = "model.weights.h5"
LEGACY_WEIGHTS_NAME = "model.weights.npz"   # rnnkit's own zips before this format
KERAS_VERSION = "3.15.1"                     # the Keras version whose files these are

# Limits on what a file can make us read.
MAX_JSON_BYTES = 64 << 20      # config.json / metadata.json
MAX_MEMBERS = 10_000
MAX_INFLATION = 200            # a deflated member may not claim more than this ratio


class FileFormatError(ValueError):
    """A file that is damaged, hostile, or does not match the model (a `ValueError`)."""


# -- the object tree ------------------------------------------------------------------------------

def _snake(cls_name):
    from rnnkit.layers.layer import to_snake_case
    return to_snake_case(cls_name)


def _own_variables(obj):
    own = list(getattr(obj, "_own_weights", []))
    return [w for w in own if w.trainable] + [w for w in own if not w.trainable]


def _is_model(obj):
    from rnnkit.models.functional import Model
    return isinstance(obj, Model)


def _children(obj):
    """(path segment, child or list of children) of an object, as Keras' saving walk names
    them."""
    from rnnkit.layers import RNN, Bidirectional, StackedRNNCells, TimeDistributed
    from rnnkit.layers.layer import Layer
    from rnnkit.models.functional import Functional
    from rnnkit.models.sequential import Sequential
    if isinstance(obj, (Functional, Sequential)):
        return [("layers", list(obj.layers))]
    if isinstance(obj, Bidirectional):
        return [("backward_layer", obj.backward_layer), ("forward_layer", obj.forward_layer)]
    if isinstance(obj, RNN):
        return [("cell", obj.cell)]
    if isinstance(obj, StackedRNNCells):
        return [("cells", list(obj.cells))]
    if isinstance(obj, TimeDistributed):
        return [("layer", obj.layer)]
    # Any other layer: its tracked sub-layers under the attribute that holds them, public
    # attributes first, each group sorted by name (Keras' walk).
    tracked = list(getattr(obj, "_tracked_layers", []))
    if not tracked:
        return []
    names = sorted(vars(obj), key=lambda n: (n.startswith("_"), n))
    out, seen = [], set()
    for name in names:
        if name.startswith("_tracked") or name in ("_inbound_nodes",):
            continue
        value = vars(obj)[name]
        if isinstance(value, Layer) and value is not obj and id(value) not in seen:
            out.append((name, value))
            seen.add(id(value))
        elif isinstance(value, (list, tuple)) and value and \
                all(isinstance(v, Layer) for v in value):
            out.append((name, list(value)))
            seen.update(id(v) for v in value)
    return out


def weight_entries(model, include_optimizer=True):
    """Lists the model's objects in Keras' weight tree: `[(path, object, variables)]`.

    The path of the model itself is `""` (its group is `/vars`); a layer of a model is at
    `layers/<snake_case class name>` with `_1`, `_2`, ... for repeats of a class; an RNN's
    cell at `<layer>/cell`, a Bidirectional's halves at `<layer>/forward_layer` and
    `<layer>/backward_layer`; the optimizer at `optimizer` when it has variables.

    Args:
        model: The model (or any layer).
        include_optimizer: Bool, list the optimizer too.

    Returns:
        The list, parents before children.
    """
    out = []

    def walk(obj, path):
        out.append((path, obj, _own_variables(obj)))
        for attr, child in _children(obj):
            base = f"{path}/{attr}" if path else attr
            if isinstance(child, list):
                counts = {}
                for item in child:
                    name = _snake(type(item).__name__)
                    n = counts.get(name, 0)
                    counts[name] = n + 1
                    walk(item, f"{base}/{name}" + (f"_{n}" if n else ""))
            else:
                walk(child, base)

    walk(model, "")
    optimizer = getattr(model, "optimizer", None)
    if include_optimizer and optimizer is not None and hasattr(optimizer, "variables"):
        out.append(("optimizer", optimizer, list(optimizer.variables)))
    return out


def _group_path(path):
    return f"{path}/vars" if path else "vars"


def _value(variable):
    value = variable.numpy() if hasattr(variable, "numpy") else np.asarray(variable)
    return np.asarray(value)


def write_weight_tree(h5file, model, include_optimizer=True):
    """Writes the model's (and optimizer's) variables into an open h5py file, as Keras 3.

    Args:
        h5file: An `h5py.File` open for writing.
        model: The model.
        include_optimizer: Bool, write `optimizer/vars` when the optimizer is built.
    """
    for path, obj, variables in weight_entries(model, include_optimizer):
        # An optimizer that is not built still has its iteration (and learning rate), which
        # Keras writes too.
        group = h5file.require_group(_group_path(path))
        group.attrs["name"] = str(getattr(obj, "name", ""))
        for i, variable in enumerate(variables):
            value = _value(variable)
            if path == "optimizer" and i == 0 and value.dtype.kind in "iu" and \
                    np.iinfo(np.int32).min <= int(value) <= np.iinfo(np.int32).max:
                value = value.astype(np.int32)   # Keras 3 (JAX) stores the iteration as int32
            h5file[_group_path(path)].create_dataset(str(i), data=value)


def _sorted_keys(group):
    keys = list(group.keys())
    try:
        return sorted(keys, key=int), True
    except ValueError:
        return keys, False


def _dataset_ok(dataset, variable, where, errors, integer=False):
    """Checks a dataset against a variable from its metadata only."""
    import h5py
    if not isinstance(dataset, h5py.Dataset):
        errors.append(f"{where}: expected an array, found a group")
        return False
    shape = tuple(dataset.shape) if dataset.shape is not None else None
    want = tuple(variable.shape)
    if shape != want:
        if not (integer and shape in ((), (1,)) and want in ((), (1,))):
            errors.append(f"{where}: expected shape {want}, found {shape}")
            return False
    kind = dataset.dtype.kind
    if kind not in "fiub" or dataset.dtype.itemsize > 8:
        errors.append(f"{where}: expected a number array ({variable.dtype}), found dtype "
                      f"{dataset.dtype}")
        return False
    if "dtype" in dataset.attrs:
        errors.append(f"{where}: arrays stored as {dataset.attrs['dtype']!r} are not "
                      f"supported")
        return False
    return True


def read_weight_tree(h5file, model, source, skip_mismatch=False, load_optimizer=True):
    """Reads Keras' weight tree from an open h5py file into a model, all or nothing.

    Every group is found by path; each object's `vars` group must hold exactly one array
    per variable, named `"0"`, `"1"`, ..., each of the variable's shape. All of this is
    checked from the file's metadata before any array is read; the arrays are then read
    and, only when every one of them has been read, assigned. The optimizer's group is
    loaded when the counts match, else skipped with a warning (as Keras does).

    Args:
        h5file: An open `h5py.File` (or group).
        model: The model, built.
        source: The file's name, for messages.
        skip_mismatch: Bool, skip (with a warning) the objects whose variables do not match
            instead of raising.
        load_optimizer: Bool, load `optimizer/vars`.

    Raises:
        ValueError: Naming every path that is missing, has the wrong number of arrays or
            the wrong shape, and the expected and found shapes; no variable is changed.
    """
    import h5py
    errors, pairs, used = [], [], set()
    for path, obj, variables in weight_entries(model, include_optimizer=load_optimizer):
        gpath = _group_path(path)
        if path == "optimizer":
            pairs_opt = _optimizer_pairs(h5file, obj, variables, source, errors)
            pairs.extend(pairs_opt)
            used.add(gpath)
            continue
        if not variables:
            used.add(gpath)
            group = h5file.get(gpath)
            if isinstance(group, h5py.Group) and len(group) and not skip_mismatch:
                errors.append(f"{source}: {type(obj).__name__} '{obj.name}' expected 0 "
                              f"variables at '/{gpath}', but the file holds {len(group)} "
                              "(is the layer built?)")
            continue
        group = h5file.get(gpath)
        if not isinstance(group, h5py.Group):
            msg = (f"{source}: no weights for {type(obj).__name__} '{obj.name}' (expected the "
                   f"group '/{gpath}' with {len(variables)} arrays)")
            if skip_mismatch:
                warnings.warn(msg + "; skipped", stacklevel=3)
                continue
            errors.append(msg)
            continue
        used.add(gpath)
        keys, numeric = _sorted_keys(group)
        if not numeric or keys != [str(i) for i in range(len(keys))] or \
                len(keys) != len(variables):
            msg = (f"{source}: {type(obj).__name__} '{obj.name}' expected {len(variables)} "
                   f"variables at '/{gpath}', but the file holds {len(keys)} "
                   f"({', '.join(keys[:8])}{', ...' if len(keys) > 8 else ''})")
            if skip_mismatch:
                warnings.warn(msg + "; skipped", stacklevel=3)
                continue
            errors.append(msg)
            continue
        local = []
        for i, variable in enumerate(variables):
            where = f"{source}: '/{gpath}/{i}' ({variable.path})"
            if _dataset_ok(group[str(i)], variable, where, local):
                pairs.append((variable, group[str(i)]))
        if local:
            if skip_mismatch:
                warnings.warn("; ".join(local) + "; skipped", stacklevel=3)
                pairs = [p for p in pairs if all(p[0] is not v for v in variables)]
                continue
            errors.extend(local)
    unused = []

    def visit(name, item):
        if isinstance(item, h5py.Group) and name.split("/")[-1] == "vars" and len(item) and \
                name not in used and not name.startswith("metrics/") and \
                not name.startswith("optimizer"):
            unused.append(name)
    h5file.visititems(visit)
    if unused and not skip_mismatch:
        errors.append(f"{source}: the file holds weights that the model '{model.name}' has no "
                      f"layer for: {', '.join('/' + u for u in unused[:8])} (the "
                      f"architectures differ)")
    if errors:
        raise FileFormatError(
            f"Cannot load the weights of {source} into model '{model.name}'; no weight was "
            "changed:\n  " + "\n  ".join(errors))
    values = []
    for variable, dataset in pairs:
        if tuple(dataset.shape) != tuple(variable.shape):   # a scalar stored as shape (1,)
            values.append(np.asarray(dataset[()]).reshape(tuple(variable.shape)))
            continue
        value = np.empty(tuple(variable.shape), dtype=dataset.dtype)
        if value.size:
            dataset.read_direct(value)
        values.append(value)
    for (variable, _), value in zip(pairs, values):
        if value.dtype != np.dtype(variable.dtype):
            value = value.astype(variable.dtype)
        variable.assign(value.reshape(tuple(variable.shape)))


def _optimizer_pairs(h5file, optimizer, variables, source, errors):
    import h5py
    group = h5file.get("optimizer/vars")
    if not isinstance(group, h5py.Group) or not len(group):
        return []
    keys, numeric = _sorted_keys(group)
    if not numeric or keys != [str(i) for i in range(len(keys))]:
        errors.append(f"{source}: '/optimizer/vars' holds arrays that are not named 0..N-1")
        return []
    targets = variables
    if len(keys) == len(variables) - 1 and len(variables) >= 2 and \
            variables[1].path.endswith("learning_rate") and \
            group["0"].dtype.kind in "iu" and group["1"].shape != ():
        targets = [variables[0]] + variables[2:]   # tf.keras 2.x: no learning-rate variable
    elif len(variables) == 2 and len(keys) > 2 and group["0"].dtype.kind in "iu" and \
            getattr(optimizer, "momentum", None) == 0:
        # tf.keras 2.x SGD keeps momentum slots its update never reads when momentum=0.
        keys, targets = ["0"], variables[:1]
    if len(keys) != len(targets):
        warnings.warn(
            f"Skipping variable loading for optimizer '{optimizer.name}', because it has "
            f"{len(variables)} variables whereas the saved optimizer has {len(keys)} "
            "variables.", stacklevel=4)
        return []
    pairs = []
    for i, variable in enumerate(targets):
        where = f"{source}: '/optimizer/vars/{i}' ({variable.path})"
        if _dataset_ok(group[str(i)], variable, where, errors, integer=(i == 0)):
            pairs.append((variable, group[str(i)]))
    return pairs


# -- bounded zip reading --------------------------------------------------------------------------

def _check_member_names(archive, source):
    infos = archive.infolist()
    if len(infos) > MAX_MEMBERS:
        raise FileFormatError(f"{source}: the zip holds {len(infos)} members; refusing more "
                              f"than {MAX_MEMBERS}")
    seen = set()
    for info in infos:
        name = info.filename
        parts = name.replace("\\", "/").split("/")
        if name.startswith(("/", "\\")) or ".." in parts or (len(name) > 1 and name[1] == ":"):
            raise FileFormatError(f"{source}: refusing the zip member {name!r} (an absolute "
                                  f"path or one with '..')")
        if name in seen:
            raise FileFormatError(f"{source}: the zip holds the member {name!r} twice")
        seen.add(name)
    return {info.filename: info for info in infos}


def read_member(archive, info, source, limit):
    """Reads one zip member into memory, refusing more than `limit` bytes (whatever the
    member's header claims) and members inflating more than `MAX_INFLATION` times."""
    if info.file_size > limit:
        raise FileFormatError(f"{source}: the member {info.filename!r} declares "
                              f"{info.file_size} bytes, more than the {limit} allowed")
    if info.compress_type != zipfile.ZIP_STORED and \
            info.file_size > MAX_INFLATION * max(info.compress_size, 1) + (1 << 20):
        raise FileFormatError(f"{source}: the member {info.filename!r} inflates "
                              f"{info.compress_size} bytes to {info.file_size}; refused")
    with archive.open(info) as handle:
        data = handle.read(info.file_size + 1)
    if len(data) > info.file_size:
        raise FileFormatError(f"{source}: the member {info.filename!r} is larger than its "
                              f"header says; refused")
    return data


def open_keras_zip(filepath):
    """Opens a `.keras` zip for reading and checks its member names.

    Returns:
        `(archive, {name: ZipInfo})`.

    Raises:
        ValueError: If the file is not a zip, or a member name is absolute or holds `..`.
    """
    source = f"'{filepath}'"
    try:
        archive = zipfile.ZipFile(filepath, "r")
    except zipfile.BadZipFile as e:
        raise FileFormatError(f"{source} is not a valid .keras file (not a zip: {e})") from None
    try:
        members = _check_member_names(archive, source)
    except Exception:
        archive.close()
        raise
    return archive, members


def _read_json(archive, members, name, source):
    data = read_member(archive, members[name], source, MAX_JSON_BYTES)
    try:
        return json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise FileFormatError(f"{source}: {name} is not valid JSON ({e})") from None


def _weights_limit(filepath):
    """A member may not be larger than the zip holding it times the inflation limit."""
    return max(os.path.getsize(filepath), 1) * MAX_INFLATION + (1 << 20)


def _open_h5_bytes(data, source):
    import h5py
    try:
        return h5py.File(io.BytesIO(data), "r")
    except OSError as e:
        raise FileFormatError(f"{source}: the weights are not a valid HDF5 file ({e})") \
            from None


# -- config-level checks before building ----------------------------------------------------------

_MIN_ELEMENTS = {"LSTM": 4, "LSTMCell": 4, "GRU": 3, "GRUCell": 3, "SimpleRNN": 1,
                 "SimpleRNNCell": 1}


def min_config_elements(config):
    """A lower bound on the number of weight scalars the layers of a config create: the
    recurrent kernels (gates x units x units), Dense's `units`, Embedding's table. Used to
    refuse, before building anything, a config that asks for far more than the file
    stores."""
    total = 0
    stack = [config]
    while stack:
        item = stack.pop()
        if isinstance(item, list):
            stack.extend(item)
            continue
        if not isinstance(item, dict):
            continue
        cls, inner = item.get("class_name"), item.get("config")
        if isinstance(inner, dict):
            units = inner.get("units")
            if isinstance(units, int) and units > 0:
                if cls in _MIN_ELEMENTS:
                    total += _MIN_ELEMENTS[cls] * units * units
                elif cls == "Dense":
                    total += units
            if cls == "Embedding":
                a, b = inner.get("input_dim"), inner.get("output_dim")
                if isinstance(a, int) and isinstance(b, int) and a > 0 and b > 0:
                    total += a * b
        stack.extend(v for v in item.values() if isinstance(v, (dict, list)))
    return total


def stored_elements(h5file):
    """The number of scalars the arrays of an open HDF5 file declare (metadata only)."""
    import h5py
    total = [0]

    def visit(_, item):
        if isinstance(item, h5py.Dataset) and item.shape is not None:
            total[0] += int(np.prod(item.shape, dtype=np.int64))
    h5file.visititems(visit)
    return total[0]


def check_config_fits(config, h5file, source):
    """Refuses a config whose layers need more weights than the file stores (checked
    before the model is built, so a hostile `units` costs nothing)."""
    need = min_config_elements(config)
    have = stored_elements(h5file)
    if need > have:
        raise FileFormatError(
            f"{source}: the config asks for at least {need} weight values (from its layers' "
            f"`units` and Embedding sizes), but the file stores {have}: the config and the "
            f"weights do not match")


# -- .keras ---------------------------------------------------------------------------------------

def _check_overwrite(filepath, overwrite):
    if os.path.exists(filepath) and not overwrite:
        raise FileExistsError(f"{filepath} exists and overwrite=False")


def model_config(model):
    """The model's `config.json` content, as Keras 3 writes it (with `build_config` and, when
    compiled, `compile_config`)."""
    from rnnkit.saving import keras_config, serialization_lib
    config = serialization_lib.serialize(model)
    config.setdefault("build_config", _build_config(model))
    if config["build_config"] is None:
        del config["build_config"]
    compile_config = _compile_config(model)
    if compile_config is not None:
        config["compile_config"] = compile_config
    _add_backward_layers(config, _layers_by_name(model))
    config = keras_config.to_keras(config, model)
    _add_build_configs(config, _layer_build_shapes(model))
    return config


def _layer_build_shapes(model):
    """{layer name: the input shape it was built with} over the model's layers (not the
    model itself)."""
    from rnnkit.layers.layer import Layer
    out, stack, seen = {}, list(getattr(model, "layers", [])), set()
    while stack:
        layer = stack.pop()
        if id(layer) in seen or not isinstance(layer, Layer):
            continue
        seen.add(id(layer))
        shape = getattr(layer, "_build_input_shape", None)
        nodes = getattr(layer, "_inbound_nodes", None) or []
        if shape is None and nodes and getattr(nodes[0], "args", None):
            first = nodes[0].args[0]
            if hasattr(first, "shape") and hasattr(first, "history"):
                shape = list(first.shape)
        if layer.built and shape is not None and not _is_model(layer):
            out[layer.name] = shape
        stack.extend(getattr(layer, "_tracked_layers", []))
    return out


def _layers_by_name(model):
    from rnnkit.layers.layer import Layer
    out, stack = {}, list(getattr(model, "layers", []))
    while stack:
        layer = stack.pop()
        if isinstance(layer, Layer) and layer.name not in out:
            out[layer.name] = layer
            stack.extend(getattr(layer, "_tracked_layers", []))
    return out


def _add_backward_layers(config, layers):
    """Keras writes a Bidirectional's `backward_layer` always; rnnkit's config has it only
    when it was given. Adds it from the layer itself."""
    from rnnkit.saving import serialization_lib
    if isinstance(config, list):
        for item in config:
            _add_backward_layers(item, layers)
        return
    if not isinstance(config, dict):
        return
    inner = config.get("config")
    if config.get("class_name") == "Bidirectional" and isinstance(inner, dict) and \
            inner.get("backward_layer") is None:
        layer = layers.get(inner.get("name"))
        backward = getattr(layer, "backward_layer", None)
        if backward is not None:
            inner["backward_layer"] = serialization_lib.serialize(backward)
    for value in config.values():
        _add_backward_layers(value, layers)


def _to_list(shape):
    if isinstance(shape, (list, tuple)):
        return [_to_list(s) for s in shape]
    return shape


def _add_build_configs(config, shapes):
    """Adds Keras' `build_config` to the envelope of every built layer."""
    if isinstance(config, list):
        for item in config:
            _add_build_configs(item, shapes)
        return
    if not isinstance(config, dict):
        return
    inner = config.get("config")
    if "class_name" in config and isinstance(inner, dict) and "build_config" not in config \
            and inner.get("name") in shapes and config.get("class_name") != "InputLayer":
        config["build_config"] = {"input_shape": _to_list(shapes[inner["name"]])}
    build = config.get("build_config")
    shape = build.get("input_shape") if isinstance(build, dict) else None
    if isinstance(inner, dict) and isinstance(shape, list) and len(shape) >= 2 and \
            all(not isinstance(d, list) for d in shape):
        # Keras records the build shapes of the layers inside wrappers and RNNs too.
        cls = config.get("class_name")
        children = []
        if cls == "Bidirectional":
            children = [(inner.get("layer"), shape), (inner.get("backward_layer"), shape)]
        elif cls == "TimeDistributed":
            children = [(inner.get("layer"), [shape[0]] + shape[2:])]
        elif cls == "RNN":
            children = [(inner.get("cell"), [shape[0], shape[-1]])]
        elif cls == "StackedRNNCells":
            children = [(cell, shape) for cell in inner.get("cells") or []]
        for child, child_shape in children:
            if isinstance(child, dict) and "class_name" in child and \
                    "build_config" not in child:
                child["build_config"] = {"input_shape": list(child_shape)}
    for key, value in config.items():
        if key != "build_config":
            _add_build_configs(value, shapes)


def _build_config(model):
    from rnnkit.models.functional import Functional
    from rnnkit.models.sequential import Sequential
    if isinstance(model, Functional) and not isinstance(model, Sequential):
        return {"input_shape": None}
    shape = getattr(model, "_build_input_shape", None)
    if shape is None and isinstance(model, Sequential):
        graph = getattr(model, "_graph", None)
        if graph:
            shape = list(graph[0].shape)
    return {"input_shape": list(shape)} if shape is not None else None


def _compile_config(model):
    from rnnkit.saving import serialization_lib
    if not getattr(model, "compiled", False):
        return None

    def encode(spec):
        if spec is None or isinstance(spec, (str, int, float, bool)):
            return spec
        if isinstance(spec, dict):
            return {k: encode(v) for k, v in spec.items()}
        if isinstance(spec, (list, tuple)):
            return [encode(v) for v in spec]
        return serialization_lib.serialize(spec)

    return {"optimizer": serialization_lib.serialize(model.optimizer),
            "loss": encode(model.loss), "loss_weights": encode(model.loss_weights),
            "metrics": encode(model._metric_specs),
            "weighted_metrics": encode(model._weighted_metric_specs),
            # Keras 3 (JAX) resolves the default jit_compile="auto" to True and writes that.
            "run_eagerly": False, "steps_per_execution": 1, "jit_compile": True}


def save_model(model, filepath, overwrite=True):
    """Writes a model to a `.keras` file exactly as Keras 3 does.

    Args:
        model: The model.
        filepath: Path ending in `.keras`.
        overwrite: Bool, overwrite an existing file. Defaults to `True`.

    Raises:
        FileExistsError: If the file exists and `overwrite` is `False`.
    """
    import h5py
    filepath = os.fspath(filepath)
    _check_overwrite(filepath, overwrite)
    config = model_config(model)
    metadata = {"keras_version": KERAS_VERSION,
                "date_saved": datetime.datetime.now().strftime("%Y-%m-%d@%H:%M:%S")}
    buffer = io.BytesIO()
    with h5py.File(buffer, "w", libver="earliest") as h5file:
        write_weight_tree(h5file, model)
    tmp = filepath + ".tmp-rnnkit"
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_STORED) as archive:
        archive.writestr(METADATA_NAME, json.dumps(metadata))
        archive.writestr(CONFIG_NAME, json.dumps(config))
        archive.writestr(WEIGHTS_NAME, buffer.getvalue())
    os.replace(tmp, filepath)


def _compile_from_config(model, compile_config, custom_objects):
    from rnnkit.saving import serialization_lib

    def decode(spec):
        if isinstance(spec, dict) and "class_name" in spec:
            return serialization_lib.deserialize(spec, custom_objects=custom_objects)
        if isinstance(spec, dict):
            return {k: decode(v) for k, v in spec.items()}
        if isinstance(spec, list):
            return [decode(v) for v in spec]
        return spec

    optimizer = compile_config.get("optimizer")
    optimizer = decode(optimizer) if optimizer is not None else "rmsprop"
    model.compile(optimizer=optimizer, loss=decode(compile_config.get("loss")),
                  loss_weights=compile_config.get("loss_weights"),
                  metrics=decode(compile_config.get("metrics")),
                  weighted_metrics=decode(compile_config.get("weighted_metrics")))


def build_optimizer(model):
    """Builds a compiled model's optimizer on its trainable variables (so saved slots can be
    assigned), as Keras' `load_model` does."""
    optimizer = getattr(model, "optimizer", None)
    if optimizer is not None and not getattr(optimizer, "built", False):
        optimizer.build(model.trainable_variables)
        optimizer.built = True


def deserialize_model(config, custom_objects, safe_mode, source):
    """Builds a model from a file's config (translated to rnnkit's form first)."""
    from rnnkit.saving import keras_config, serialization_lib
    config = keras_config.to_rnnkit(config, where=source)
    if not isinstance(config, dict) or "class_name" not in config:
        raise FileFormatError(f"{source}: the config is not a serialized model")
    compile_config = config.pop("compile_config", None)
    build_config = config.pop("build_config", None)
    model = serialization_lib.deserialize(config, custom_objects=custom_objects,
                                          safe_mode=safe_mode)
    if not hasattr(model, "layers"):
        raise FileFormatError(f"{source}: the config describes a {type(model).__name__}, "
                              f"not a model")
    if not model.built and build_config and build_config.get("input_shape") is not None:
        model.build(tuple(build_config["input_shape"]))
        _call_to_build(model, build_config["input_shape"], source)
    return model, compile_config


MAX_BUILD_ELEMENTS = 1 << 22


def _call_to_build(model, input_shape, source):
    """A subclassed model creates its weights in `call`: call it once on zeros of the
    recorded input shape (batch 1, unknown dimensions 1), as Keras' `build` does."""
    from rnnkit.models.functional import Functional
    from rnnkit.models.sequential import Sequential
    if isinstance(model, (Functional, Sequential)) or model.weights:
        return
    shape = list(input_shape) if isinstance(input_shape, (list, tuple)) else None
    if not shape or not all(d is None or (isinstance(d, int) and d >= 0) for d in shape):
        return
    shape = [1] + [1 if d is None else d for d in shape[1:]]
    if int(np.prod(shape, dtype=np.int64)) > MAX_BUILD_ELEMENTS:
        raise FileFormatError(f"{source}: the recorded input shape {input_shape} is too large "
                              f"to build the model with")
    model(np.zeros(shape, dtype="float32"))


def load_model(filepath, custom_objects=None, compile=True, safe_mode=True):
    """Reads a `.keras` file written by Keras 3, tf.keras 2.x or rnnkit.

    Args:
        filepath: The file's path.
        custom_objects: Optional dict of names to custom classes and functions.
        compile: Bool, compile the model with the saved arguments and restore the
            optimizer's state. Defaults to `True`.
        safe_mode: Bool, refuse serialized lambdas. Defaults to `True`.

    Returns:
        The model.
    """
    filepath = os.fspath(filepath)
    source = f"'{filepath}'"
    archive, members = open_keras_zip(filepath)
    with archive:
        if CONFIG_NAME not in members:
            raise FileFormatError(f"{source} is not a .keras file: it has no {CONFIG_NAME}")
        config = _read_json(archive, members, CONFIG_NAME, source)
        if WEIGHTS_NAME not in members:
            if LEGACY_WEIGHTS_NAME in members:
                return _load_legacy_rnnkit_zip(archive, members, config, filepath,
                                               custom_objects, compile, safe_mode)
            raise FileFormatError(f"{source} holds no {WEIGHTS_NAME}")
        data = read_member(archive, members[WEIGHTS_NAME], source, _weights_limit(filepath))
    with _open_h5_bytes(data, source) as h5file:
        check_config_fits(config, h5file, source)
        model, compile_config = deserialize_model(config, custom_objects, safe_mode, source)
        if compile and compile_config is not None:
            _compile_from_config(model, compile_config, custom_objects)
            build_optimizer(model)
        read_weight_tree(h5file, model, source,
                         load_optimizer=bool(compile and compile_config is not None))
    return model


def _load_legacy_rnnkit_zip(archive, members, config, filepath, custom_objects, compile,
                            safe_mode):
    """rnnkit's own zip before it wrote Keras' format: `model.weights.npz`, every weight in
    `model.weights` order."""
    source = f"'{filepath}'"
    warnings.warn(
        f"{source} is an old rnnkit .keras file (weights in model.weights.npz). It still "
        "loads; save it again to get the Keras 3 format, which Keras itself reads.",
        DeprecationWarning, stacklevel=4)
    data = read_member(archive, members[LEGACY_WEIGHTS_NAME], source, _weights_limit(filepath))
    arrays = _npz_arrays(data, source)
    total = sum(int(a.size) for a in arrays)
    need = min_config_elements(config)
    if need > total:
        raise FileFormatError(f"{source}: the config asks for at least {need} weight values, "
                              f"but the file stores {total}")
    model, compile_config = deserialize_model(config, custom_objects, safe_mode, source)
    assign_by_position(model.weights, arrays, source, model.name)
    if compile and compile_config is not None:
        _compile_from_config(model, compile_config, custom_objects)
    return model


def _npz_arrays(data, source):
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as archive:
            keys = sorted(k for k in archive.files if k != "__paths__")
            return [archive[k] for k in keys]
    except (ValueError, OSError, zipfile.BadZipFile) as e:
        raise FileFormatError(f"{source}: the weights cannot be read ({e})") from None


def assign_by_position(variables, arrays, source, owner, skip_mismatch=False):
    """Assigns arrays to variables in order after checking every count and shape first."""
    variables = list(variables)
    if len(arrays) != len(variables):
        raise FileFormatError(f"{source} holds {len(arrays)} weights, but '{owner}' has "
                              f"{len(variables)}: the architectures differ")
    bad = [f"{v.path}: expected shape {tuple(v.shape)}, found {tuple(a.shape)}"
           for v, a in zip(variables, arrays) if tuple(a.shape) != tuple(v.shape)]
    if bad and not skip_mismatch:
        raise FileFormatError(f"Cannot load {source} into '{owner}'; no weight was changed:\n  "
                              + "\n  ".join(bad))
    for variable, value in zip(variables, arrays):
        if tuple(value.shape) == tuple(variable.shape):
            variable.assign(np.asarray(value, dtype=variable.dtype))


# -- .weights.h5 ----------------------------------------------------------------------------------

def save_weights(model, filepath, overwrite=True):
    """Writes `model.weights.h5`'s tree to a `.weights.h5` file (Keras 3's layout).

    Args:
        model: The model.
        filepath: Path ending in `.weights.h5`.
        overwrite: Bool. Defaults to `True`.
    """
    import h5py
    filepath = os.fspath(filepath)
    _check_overwrite(filepath, overwrite)
    with h5py.File(filepath, "w", libver="earliest") as h5file:
        write_weight_tree(h5file, model)


def load_weights(model, filepath, skip_mismatch=False):
    """Loads a `.weights.h5` file (or the weights of a `.keras` zip) into a built model.

    Args:
        model: The model.
        filepath: The file.
        skip_mismatch: Bool, skip the objects whose arrays do not match, with a warning.
    """
    filepath = os.fspath(filepath)
    source = f"'{filepath}'"
    if zipfile.is_zipfile(filepath):
        archive, members = open_keras_zip(filepath)
        with archive:
            if WEIGHTS_NAME not in members:
                if LEGACY_WEIGHTS_NAME in members:
                    warnings.warn(f"{source} is an old rnnkit .keras file (model.weights.npz)",
                                  DeprecationWarning, stacklevel=3)
                    data = read_member(archive, members[LEGACY_WEIGHTS_NAME], source,
                                       _weights_limit(filepath))
                    assign_by_position(model.weights, _npz_arrays(data, source), source,
                                       model.name, skip_mismatch)
                    return
                raise FileFormatError(f"{source} holds no {WEIGHTS_NAME}")
            data = read_member(archive, members[WEIGHTS_NAME], source,
                               _weights_limit(filepath))
        with _open_h5_bytes(data, source) as h5file:
            read_weight_tree(h5file, model, source, skip_mismatch=skip_mismatch)
        return
    import h5py
    try:
        h5file = h5py.File(filepath, "r")
    except OSError as e:
        raise FileFormatError(f"{source} is not a valid HDF5 file ({e})") from None
    with h5file:
        read_weight_tree(h5file, model, source, skip_mismatch=skip_mismatch)
