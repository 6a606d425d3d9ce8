"""Saving and loading models: one `.keras` zip file holding `config.json` (the model's config,
as `rnnkit.saving.serialize` writes it, plus the compile arguments) and `model.weights.npz`
(every weight, in `model.weights` order). Nothing is pickled: weights are read with
`allow_pickle=False`, and classes are looked up by name (built-ins, registered classes or
`custom_objects`)."""

from __future__ import annotations

import datetime
import io
import json
import os
import zipfile

import numpy as np

CONFIG_NAME = "config.json"
WEIGHTS_NAME = "model.weights.npz"
METADATA_NAME = "metadata.json"


def _check_path(filepath, suffix, what):
    filepath = os.fspath(filepath)
    if not filepath.endswith(suffix):
        raise ValueError(f"The filepath for {what} must end in `{suffix}` (rnnkit's format: "
                         f"{'a zip of config.json and model.weights.npz' if suffix == '.keras' else 'NumPy .npz'}). "
                         f"Received: filepath={filepath}")
    return filepath


def _weights_bytes(model):
    arrays = {f"{index:05d}": w.numpy() for index, w in enumerate(model.weights)}
    names = [w.path for w in model.weights]
    buffer = io.BytesIO()
    np.savez(buffer, __paths__=np.array(names, dtype=np.str_), **arrays)
    return buffer.getvalue()


def _load_weight_arrays(data):
    with np.load(io.BytesIO(data), allow_pickle=False) as archive:
        keys = sorted(k for k in archive.files if k != "__paths__")
        return [archive[k] for k in keys]


def _assign(model, arrays, source, skip_mismatch=False):
    weights = model.weights
    if len(arrays) != len(weights):
        raise ValueError(f"{source} holds {len(arrays)} weights, but model '{model.name}' has "
                         f"{len(weights)}: the architectures differ")
    for variable, value in zip(weights, arrays):
        if tuple(value.shape) != variable.shape:
            if skip_mismatch:
                continue
            raise ValueError(f"Weight {variable.path} has shape {variable.shape}, but {source} "
                             f"holds shape {tuple(value.shape)}")
        variable.assign(value)


def _compile_config(model):
    from rnnkit import saving
    if not getattr(model, "compiled", False):
        return None

    def encode(spec):
        if spec is None or isinstance(spec, (str, int, float, bool)):
            return spec
        if isinstance(spec, dict):
            return {k: encode(v) for k, v in spec.items()}
        if isinstance(spec, (list, tuple)):
            return [encode(v) for v in spec]
        return saving.serialize(spec)

    return {"optimizer": saving.serialize(model.optimizer), "loss": encode(model.loss),
            "loss_weights": encode(model.loss_weights), "metrics": encode(model._metric_specs),
            "weighted_metrics": encode(model._weighted_metric_specs)}


def save_model(model, filepath, overwrite=True):
    """Writes a model to a `.keras` file (what `model.save()` and `saving.save_model` call).

    The zip holds `config.json` (the serialized model, with `build_config` for a subclassed
    model and `compile_config` when it is compiled), `metadata.json` and
    `model.weights.npz` (every weight, in `model.weights` order).

    Args:
        model: The model.
        filepath: Path ending in `.keras`.
        overwrite: Bool, overwrite an existing file. Defaults to `True`.

    Raises:
        ValueError: If `filepath` does not end in `.keras`.
        FileExistsError: If the file exists and `overwrite` is `False`.
    """
    from rnnkit import __version__, saving
    filepath = _check_path(filepath, ".keras", "`model.save()`")
    if os.path.exists(filepath) and not overwrite:
        raise FileExistsError(f"{filepath} exists and overwrite=False")
    config = saving.serialize(model)
    from rnnkit.models.functional import Functional
    from rnnkit.models.sequential import Sequential
    build_shape = None if isinstance(model, (Functional, Sequential)) else \
        getattr(model, "_build_input_shape", None)
    if build_shape is not None:
        config["build_config"] = {"input_shape": build_shape}
    compile_config = _compile_config(model)
    if compile_config is not None:
        config["compile_config"] = compile_config
    metadata = {"rnnkit_version": __version__,
                "date_saved": datetime.datetime.now().strftime("%Y-%m-%d@%H:%M:%S")}
    with zipfile.ZipFile(filepath, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(CONFIG_NAME, json.dumps(config))
        archive.writestr(METADATA_NAME, json.dumps(metadata))
        archive.writestr(WEIGHTS_NAME, _weights_bytes(model))


def load_model(filepath, custom_objects=None, compile=True):
    """Reads a model written by `save_model` (see `rnnkit.saving.load_model`).

    Args:
        filepath: Path ending in `.keras`.
        custom_objects: Optional dict of names to custom classes and functions.
        compile: Bool, compile the model with the saved arguments, if any. Defaults to
            `True`.

    Returns:
        The model, with its weights assigned.

    Raises:
        ValueError: If `filepath` does not end in `.keras`, a class cannot be found, or the
            weights do not match the architecture.
    """
    from rnnkit import saving
    filepath = _check_path(filepath, ".keras", "`load_model()`")
    with zipfile.ZipFile(filepath, "r") as archive:
        config = json.loads(archive.read(CONFIG_NAME))
        weights = _load_weight_arrays(archive.read(WEIGHTS_NAME))
    compile_config = config.pop("compile_config", None)
    build_config = config.pop("build_config", None)
    model = saving.deserialize(config, custom_objects=custom_objects)
    if not model.built and build_config is not None:
        model.build(tuple(build_config["input_shape"]))
    _assign(model, weights, f"'{filepath}'")
    if compile and compile_config is not None:
        decode = lambda spec: _decode_spec(spec, custom_objects)
        model.compile(optimizer=saving.deserialize(compile_config["optimizer"],
                                                   custom_objects=custom_objects),
                      loss=decode(compile_config["loss"]),
                      loss_weights=compile_config.get("loss_weights"),
                      metrics=decode(compile_config.get("metrics")),
                      weighted_metrics=decode(compile_config.get("weighted_metrics")))
    return model


def _decode_spec(spec, custom_objects):
    from rnnkit import saving
    if isinstance(spec, dict) and "class_name" in spec:
        return saving.deserialize(spec, custom_objects=custom_objects)
    if isinstance(spec, dict):
        return {k: _decode_spec(v, custom_objects) for k, v in spec.items()}
    if isinstance(spec, list):
        return [_decode_spec(v, custom_objects) for v in spec]
    return spec


def save_weights(model, filepath, overwrite=True):
    """Writes a model's weights to a `.weights.npz` file (what `model.save_weights()` calls).

    The arrays are stored in `model.weights` order, with the weight paths alongside.

    Args:
        model: The model.
        filepath: Path ending in `.weights.npz` (rnnkit does not write `.weights.h5`).
        overwrite: Bool, overwrite an existing file. Defaults to `True`.

    Raises:
        ValueError: If `filepath` does not end in `.weights.npz`.
        FileExistsError: If the file exists and `overwrite` is `False`.
    """
    filepath = _check_path(filepath, ".weights.npz", "`save_weights()`")
    if os.path.exists(filepath) and not overwrite:
        raise FileExistsError(f"{filepath} exists and overwrite=False")
    with open(filepath, "wb") as handle:
        handle.write(_weights_bytes(model))


def load_weights(model, filepath, skip_mismatch=False):
    """Assigns weights saved by `save_weights` or `save_model` (`model.load_weights()`).

    The weights are matched by position, in `model.weights` order.

    Args:
        model: A built model.
        filepath: A `.weights.npz` file, or a `.keras` file (its weights are used).
        skip_mismatch: Bool, skip weights whose shape differs instead of raising. Defaults
            to `False`.

    Raises:
        ValueError: If the suffix is wrong, the model is not built, the number of weights
            differs, or a shape differs (without `skip_mismatch`).
    """
    filepath = os.fspath(filepath)
    if filepath.endswith(".keras"):
        with zipfile.ZipFile(filepath, "r") as archive:
            arrays = _load_weight_arrays(archive.read(WEIGHTS_NAME))
    else:
        filepath = _check_path(filepath, ".weights.npz", "`load_weights()`")
        with open(filepath, "rb") as handle:
            arrays = _load_weight_arrays(handle.read())
    if not model.built:
        raise ValueError(f"Model '{model.name}' is not built yet: call it on data or build() it "
                         f"before load_weights()")
    _assign(model, arrays, f"'{filepath}'", skip_mismatch=skip_mismatch)
