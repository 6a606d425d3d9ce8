"""`rnnkit.ops` functions and KerasTensor operators on symbolic tensors: recorded as graph nodes,
replayed on arrays, differentiated in fit, saved in configs."""

import inspect
import json

import numpy as np
import pytest

import rnnkit as keras
from rnnkit import layers as L
from rnnkit import ops
from rnnkit.graph import KerasTensor, Operation
from rnnkit.graph.operation import class_name_of, op_name_of
from helpers import assert_close  # noqa: E402


def _dense_np(layer, x):
    kernel, bias = layer.get_weights()
    return x @ kernel + bias


def test_ops_and_operators_in_a_functional_model_match_numpy():
    x_in = keras.Input((5, 3), name="x")
    b_in = keras.Input((4,), name="b")
    dense = L.Dense(4, name="d")
    pooled = ops.mean(x_in, axis=1)                 # an op on an Input directly
    h = dense(pooled)
    cat = ops.concatenate([h, b_in], axis=-1)
    first, second = ops.split(cat, 2, axis=1)       # a multi-output op
    steps = ops.unstack(x_in, axis=1)
    w = np.arange(8.0, dtype="float32").reshape(4, 2) / 8
    outputs = [cat, h + b_in, first, second, steps[0] * steps[-1], -h, h @ w, h[:, 1:],
               h > 0, abs(h), h ** 2, 1.0 / (1.0 + h * h), 2.0 - h, ops.tanh(h) // 0.25,
               ops.sum(x_in, axis=(1, 2), keepdims=True), ops.transpose(x_in, (0, 2, 1))]
    model = keras.Model([x_in, b_in], outputs)
    assert [t.shape for t in outputs] == [
        (None, 8), (None, 4), (None, 4), (None, 4), (None, 3), (None, 4), (None, 2), (None, 3),
        (None, 4), (None, 4), (None, 4), (None, 4), (None, 4), (None, 4), (None, 1, 1),
        (None, 3, 5)]
    assert outputs[8].dtype == "bool" and outputs[0].dtype == "float32"
    assert len(steps) == 5 and all(s.shape == (None, 3) for s in steps)

    rng = np.random.default_rng(1)
    x = rng.standard_normal((6, 5, 3)).astype("float32")
    b = rng.standard_normal((6, 4)).astype("float32")
    got = model([x, b])
    hv = _dense_np(dense, x.mean(axis=1))
    catv = np.concatenate([hv, b], axis=-1)
    want = [catv, hv + b, catv[:, :4], catv[:, 4:], x[:, 0] * x[:, -1], -hv, hv @ w, hv[:, 1:],
            hv > 0, np.abs(hv), hv ** 2, 1.0 / (1.0 + hv * hv), 2.0 - hv, np.tanh(hv) // 0.25,
            x.sum(axis=(1, 2), keepdims=True), x.transpose(0, 2, 1)]
    assert len(got) == len(want)
    for g, e in zip(got, want):
        assert type(g) is np.ndarray and g.shape == e.shape
        assert_close(g, e, rtol=1e-5, atol=1e-6)
    # Ops are not layers: model.layers leaves them out, model.operations lists them. Both in
    # Keras 3.15's order for this graph (its op names: `abs(h)` is `absolute`, `/` is
    # `true_divide`).
    assert [layer.name for layer in model.layers] == ["x", "d", "b"]
    assert [op.op_name if isinstance(op, Operation) else op.name for op in model.operations] == [
        "x", "mean", "d", "b", "multiply", "concatenate", "unstack", "add", "tanh", "add",
        "split", "multiply", "negative", "matmul", "get_item", "greater", "absolute", "power",
        "true_divide", "subtract", "floor_divide", "sum", "transpose"]


def test_unknown_sizes_are_worked_out():
    x = keras.Input((None, 4))
    assert ops.transpose(x, (1, 0, 2)).shape == (None, None, 4)
    assert ops.reshape(x, (-1, 4)).shape == (None, 4)
    assert ops.sum(x, axis=0).shape == (None, 4)
    assert x[0].shape == (None, 4)
    assert ops.matmul(x, np.ones((4, 5), "float32")).shape == (None, None, 5)
    assert ops.add(keras.Input((3,)), np.ones((7, 1, 3))).shape == (7, None, 3)
    assert ops.one_hot(keras.Input((None,), dtype="int32"), 6).shape == (None, None, 6)
    assert ops.shape(x) == (None, None, 4) and ops.ndim(x) == 3 and ops.dtype(x) == "float32"
    with pytest.raises(ValueError, match="number of its outputs depends on unknown sizes"):
        ops.unstack(x, axis=0)


def test_errors_on_symbolic_tensors_are_clear():
    x = keras.Input((3,))
    with pytest.raises(ValueError, match="broadcast") as info:
        ops.add(x, np.ones(4))
    assert any("rnnkit.ops.add on symbolic tensors" in note for note in info.value.__notes__)
    for use in (bool, lambda t: list(t), len, float, ops.convert_to_numpy, np.asarray):
        with pytest.raises(TypeError, match="symbolic KerasTensor"):
            use(x)
    with pytest.raises(TypeError):
        ops.cond(x, lambda: 1, lambda: 2)


def test_eager_ops_are_unchanged():
    a = np.ones((2, 3), "float32")
    for out in (ops.add(a, a), ops.mean(a, axis=1), ops.concatenate([a, a])):
        assert type(out) is np.ndarray
    assert ops.split(a, 3, axis=1)[0].shape == (2, 1)
    from rnnkit.ops import numpy as np_ops
    for name in ("mean", "concatenate", "add", "split", "einsum", "get_item"):
        assert inspect.signature(getattr(ops, name)) == \
            inspect.signature(getattr(np_ops, name))
        assert getattr(ops, name).__doc__ == getattr(np_ops, name).__doc__
    with pytest.raises(TypeError):          # a TypeError of the op itself passes through
        ops.add(a)


def test_op_names_and_class_names_round_trip():
    for name in ops.__all__:
        if callable(getattr(ops, name)):
            assert op_name_of(class_name_of(name)) == name
    assert class_name_of("log_softmax") == "LogSoftmax" and class_name_of("get_item") == "GetItem"


class Merge(L.Layer):
    """The computation of `_ops_model`, as a layer (its reference)."""

    def call(self, inputs):
        h, b = inputs
        cat = ops.concatenate([h, b], axis=-1)
        return cat * 2.0 + ops.mean(cat, axis=1, keepdims=True) - h[:, :1] * b[:, 1:2]

    def compute_output_shape(self, input_shape):
        return (input_shape[0][0], input_shape[0][1] + input_shape[1][1])


def _ops_model(as_layer, dtype="float32"):
    x = keras.Input((3,), dtype=dtype, name="x")
    b_in = keras.Input((2,), dtype=dtype, name="b")
    h = L.Dense(4, dtype=dtype, name="d1")(x)
    b = L.Dense(2, dtype=dtype, name="d2")(b_in)
    if as_layer:
        merged = Merge(dtype=dtype)([h, b])
    else:
        cat = ops.concatenate([h, b], axis=-1)
        merged = cat * 2.0 + ops.mean(cat, axis=1, keepdims=True) - h[:, :1] * b[:, 1:2]
    return keras.Model([x, b_in], L.Dense(1, dtype=dtype, name="out")(merged))


def test_fit_trains_through_ops_like_the_same_layer():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((8, 3)).astype("float32")
    b = rng.standard_normal((8, 2)).astype("float32")
    y = rng.standard_normal((8, 1)).astype("float32")
    with_ops, with_layer = _ops_model(False), _ops_model(True)
    with_layer.set_weights(with_ops.get_weights())
    start = with_ops.get_weights()
    for model in (with_ops, with_layer):
        model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
        model.fit([x, b], y, batch_size=8, epochs=1, verbose=0)
    for before, after, reference in zip(start, with_ops.get_weights(), with_layer.get_weights()):
        assert not np.allclose(before, after)          # every weight moved: gradients flow
        assert_close(after, reference, rtol=1e-5, atol=1e-6)


def test_gradients_through_ops_match_finite_differences():
    model = _ops_model(False, dtype="float64")
    rng = np.random.default_rng(3)
    x, b = rng.standard_normal((5, 3)), rng.standard_normal((5, 2))

    def loss():
        return float(np.sum(model([x, b], training=True) ** 2))

    with keras.GradientTape() as tape:
        out = model([x, b], training=True)
        value = ops.sum(ops.square(out))
    kernels = [model.get_layer("d1").kernel, model.get_layer("d2").kernel]
    grads = tape.gradient(value, kernels)
    eps = 1e-6
    for kernel, grad in zip(kernels, grads):
        numeric = np.zeros(kernel.shape)
        base = kernel.numpy()
        for index in np.ndindex(*kernel.shape):
            for sign in (1, -1):
                changed = base.copy()
                changed[index] += sign * eps
                kernel.assign(changed)
                numeric[index] += sign * loss() / (2 * eps)
            kernel.assign(base)
        assert_close(grad, numeric, rtol=1e-6, atol=1e-8)


def _config_round_trip(model, inputs):
    config = model.get_config()
    json.dumps(config)
    clone = keras.Model.from_config(config)
    clone.set_weights(model.get_weights())
    for a, e in zip(keras.tree.flatten(clone(inputs)), keras.tree.flatten(model(inputs))):
        assert_close(a, e, rtol=1e-6)
    return config, clone


def test_config_of_a_model_with_ops_round_trips(tmp_path):
    x_in = keras.Input((4, 3), name="x")
    h = L.Dense(3, name="d")(x_in)
    cat = ops.concatenate([h, x_in], axis=-1)
    p, q = ops.split(cat, 2, axis=-1)
    picked = x_in[:, 0, ...] + h[..., 1, :]
    out = [p - q, picked, ops.mean(x_in, axis=(1, 2)), ops.cast(h > 0, np.float32)]
    model = keras.Model(x_in, out)
    x = np.random.default_rng(4).standard_normal((2, 4, 3)).astype("float32")
    config, clone = _config_round_trip(model, x)
    entries = {e["name"]: e for e in config["layers"]}
    concat = next(e for e in config["layers"] if e["class_name"] == "Concatenate")
    assert concat["module"] == "rnnkit.ops" and concat["config"] == {"name": concat["name"]}
    assert concat["inbound_nodes"][0]["args"][1] == -1
    assert [op.name for op in clone.operations] == [op.name for op in model.operations]
    assert set(entries) == {op.name for op in model.operations}
    path = tmp_path / "ops.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    for a, e in zip(loaded(x), model(x)):
        assert_close(a, e, rtol=1e-6)


def test_keras_style_op_config_loads():
    # Keras keeps an op's non-tensor arguments (here `axis`) in the op's config.
    a = keras.Input((3,), name="a")
    b = keras.Input((3,), name="b")
    model = keras.Model([a, b], ops.concatenate([a, b], axis=-1))
    config = model.get_config()
    entry = next(e for e in config["layers"] if e["class_name"] == "Concatenate")
    entry["module"] = "keras.src.ops.numpy"
    entry["config"]["axis"] = entry["inbound_nodes"][0]["args"].pop(1)
    clone = keras.Model.from_config(config)
    x = [np.ones((2, 3), "float32"), np.zeros((2, 3), "float32")]
    np.testing.assert_array_equal(clone(x), np.concatenate(x, axis=-1))


def test_an_op_argument_without_a_json_form_fails_clearly():
    x = keras.Input((5,))
    model = keras.Model(x, ops.take(x, range(2), axis=1))
    np.testing.assert_array_equal(model(np.arange(10.0).reshape(2, 5)), [[0, 1], [5, 6]])
    with pytest.raises(ValueError, match=r"its op 'take(_\d+)?' \(rnnkit.ops.take\)"):
        model.get_config()


def test_symbolic_tensor_hashes_as_an_object():
    x = keras.Input((3,))
    y = x + 1.0
    assert isinstance(y, KerasTensor) and len({x, y, x}) == 2 and x == x and not (x == y)
    assert isinstance(x != y, KerasTensor)          # `!=` is an op, as in Keras
