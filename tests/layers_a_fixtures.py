"""Helpers of the layers-a tests: the Keras fixtures of tests/fixtures/layers_a/ (made by
tools/make_layers_a_fixtures.py) and a float64 finite-difference gradient check."""

from __future__ import annotations

import json
import os

import numpy as np

import rnnkit as keras
import paths

HERE = str(paths.FIXTURES / "layers_a")
_cache = {}


def _load(area):
    if area not in _cache:
        with np.load(os.path.join(HERE, f"{area}.npz")) as data:
            _cache[area] = {k: data[k] for k in data.files}
    return _cache[area]


def configs():
    if "configs" not in _cache:
        with open(os.path.join(HERE, "configs.json")) as f:
            _cache["configs"] = json.load(f)
    return _cache["configs"]


def case_names(area):
    return sorted({k.split("/")[0] for k in _load(area)})


def case(area, name):
    """(layer rebuilt from the Keras config with its weights, inputs, masks, y, mask)."""
    data = _load(area)
    entry = configs()[name]
    layer = keras.saving.deserialize({"module": "keras.layers", "class_name": entry["class_name"],
                                      "config": entry["config"], "registered_name": None})
    xs, masks = [], []
    i = 0
    while f"{name}/x{i}" in data:
        xs.append(data[f"{name}/x{i}"])
        masks.append(data.get(f"{name}/m{i}"))
        i += 1
    weights = []
    while f"{name}/w{len(weights)}" in data:
        weights.append(data[f"{name}/w{len(weights)}"])
    return layer, xs, masks, weights, data[f"{name}/y"], data.get(f"{name}/mask")


def numeric_grad(f, x, eps=1e-6):
    """Central differences of the scalar f at x (float64)."""
    x = np.array(x, dtype=np.float64, order="C")   # reshape(-1) below must be a view
    g = np.zeros_like(x)
    flat, gflat = x.reshape(-1), g.reshape(-1)
    for i in range(flat.size):
        old = flat[i]
        flat[i] = old + eps
        up = f(x)
        flat[i] = old - eps
        down = f(x)
        flat[i] = old
        gflat[i] = (up - down) / (2 * eps)
    return g


def tape_grads(layer, xs, probe, training=False, **call_kwargs):
    """Gradients of sum(layer(xs) * probe) wrt the inputs and the layer's trainable weights."""
    tensors = [keras.Tensor(x) for x in xs]
    with keras.GradientTape(persistent=True) as tape:
        for t in tensors:
            tape.watch(t)
        arg = tensors if len(tensors) > 1 or isinstance(xs, list) and len(xs) > 1 else tensors[0]
        y = layer(arg, **call_kwargs)
        loss = keras.ops.sum(keras.ops.multiply(y, probe))
    gx = [tape.gradient(loss, t) for t in tensors]
    gw = [tape.gradient(loss, w) for w in layer.trainable_weights]
    return gx, gw


def check_gradients(layer, xs, rng, rtol=1e-6, atol=1e-8, single=True, **call_kwargs):
    """Tape gradients of sum(y * probe) wrt every input and weight against finite
    differences (float64)."""
    arg_of = (lambda vals: vals[0]) if single else (lambda vals: list(vals))
    y = np.asarray(layer(arg_of(xs), **call_kwargs))
    probe = rng.normal(size=y.shape)
    tensors = [keras.Tensor(np.asarray(x, dtype=np.float64)) for x in xs]
    with keras.GradientTape(persistent=True) as tape:
        for t in tensors:
            tape.watch(t)
        out = layer(arg_of(tensors), **call_kwargs)
        loss = keras.ops.sum(keras.ops.multiply(out, probe))
    for i, t in enumerate(tensors):
        got = np.asarray(tape.gradient(loss, t))

        def f(v, i=i):
            vals = list(xs)
            vals[i] = v
            return float(np.sum(np.asarray(layer(arg_of(vals), **call_kwargs)) * probe))

        np.testing.assert_allclose(got, numeric_grad(f, xs[i]), rtol=rtol, atol=atol,
                                   err_msg=f"input {i}")
    for w in layer.trainable_weights:
        got = np.asarray(tape.gradient(loss, w))
        original = w.numpy()

        def f(v, w=w):
            w.assign(v)
            return float(np.sum(np.asarray(layer(arg_of(xs), **call_kwargs)) * probe))

        expected = numeric_grad(f, original)
        w.assign(original)
        np.testing.assert_allclose(got, expected, rtol=rtol, atol=atol, err_msg=w.path)
