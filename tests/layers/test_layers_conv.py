"""Conv1D, SeparableConv1D, the pooling layers and rnnkit.ops.conv: a loop-based NumPy
reference written from the definitions, Keras 3 fixtures, finite-difference gradients
(float64), one matrix product per call, masks, configs, errors."""

from __future__ import annotations

import json

import numpy as np
import pytest
from helpers import assert_close
from layers_a_fixtures import case, case_names, check_gradients

import rnnkit as keras
from rnnkit.ops.conv import output_length

L = keras.layers


def ref_conv(x, kernel, stride=1, padding="valid", dilation=1):
    """Direct loops over output positions: y[b, t, o] = sum_j sum_c x[b, t*s + j*d, c] k[j, c, o]
    within each group (channels_last)."""
    b, length, c = x.shape
    k, cg, o = kernel.shape
    groups = c // cg
    og = o // groups
    if padding == "causal":
        x = np.pad(x, ((0, 0), ((k - 1) * dilation, 0), (0, 0)))
        padding, length = "valid", x.shape[1]
    out, pads = output_length(length, k, stride, dilation, padding)
    xp = np.pad(x, ((0, 0), pads, (0, 0)))
    y = np.zeros((b, out, o))
    for t in range(out):
        for oc in range(o):
            g = oc // og
            for j in range(k):
                y[:, t, oc] += xp[:, t * stride + j * dilation, g * cg:(g + 1) * cg] @ \
                    kernel[j, :, oc]
    return y


def ref_pool(x, k, stride, padding, kind):
    b, length, c = x.shape
    out, pads = output_length(length, k, stride, 1, padding)
    y = np.zeros((b, out, c))
    for t in range(out):
        lo = t * stride - pads[0]
        window = x[:, max(lo, 0):min(lo + k, length), :]
        y[:, t] = window.max(axis=1) if kind == "max" else window.mean(axis=1)
    return y


@pytest.mark.parametrize("name", case_names("conv"))
def test_keras_fixture(name):
    layer, xs, masks, weights, y, _ = case("conv", name)
    if weights:
        layer.build(xs[0].shape)
        layer.set_weights(weights)
    kwargs = {"mask": masks[0]} if masks[0] is not None else {}
    assert_close(np.asarray(layer(xs[0], **kwargs)), y, rtol=1e-6, atol=1e-6, err_msg=name)
    assert layer.compute_output_shape((None,) + xs[0].shape[1:]) == (None,) + y.shape[1:]


CONV_CASES = [  # (steps, kernel, stride, padding, dilation, channels, groups, filters)
    (7, 3, 1, "valid", 1, 4, 1, 5), (7, 3, 2, "same", 1, 4, 2, 6), (8, 4, 1, "same", 1, 3, 1, 2),
    (9, 2, 1, "same", 3, 6, 3, 3), (9, 3, 1, "causal", 2, 2, 1, 3), (8, 4, 3, "valid", 1, 3, 3, 3),
    (5, 5, 1, "valid", 1, 2, 1, 1), (4, 3, 2, "causal", 1, 2, 2, 4)]


@pytest.mark.parametrize("steps,k,s,pad,d,c,g,f", CONV_CASES)
def test_conv1d_against_loops(steps, k, s, pad, d, c, g, f, rng):
    layer = L.Conv1D(f, k, strides=s, padding=pad, dilation_rate=d, groups=g, dtype="float64")
    x = rng.normal(size=(2, steps, c))
    y = layer(x)
    kernel, bias = layer.get_weights()
    assert kernel.shape == (k, c // g, f)
    layer.bias.assign(rng.normal(size=bias.shape))
    assert_close(layer(x), ref_conv(x, kernel, s, pad, d) + layer.bias.numpy(), rtol=1e-10,
                 atol=1e-12)
    assert layer.compute_output_shape((None, steps, c)) == (None,) + y.shape[1:]


@pytest.mark.parametrize("steps,k,s,pad,d,c,g,f", CONV_CASES)
def test_conv1d_gradients(steps, k, s, pad, d, c, g, f, rng):
    layer = L.Conv1D(f, k, strides=s, padding=pad, dilation_rate=d, groups=g,
                     activation="tanh", dtype="float64")
    check_gradients(layer, [rng.normal(size=(2, steps, c))], rng)


def test_channels_first_equals_transposed_channels_last(rng):
    x = rng.normal(size=(2, 7, 4))
    last = L.Conv1D(3, 3, padding="same", strides=2, dtype="float64")
    first = L.Conv1D(3, 3, padding="same", strides=2, data_format="channels_first",
                     dtype="float64")
    last(x)
    first(x.transpose(0, 2, 1))
    first.set_weights(last.get_weights())
    assert_close(first(x.transpose(0, 2, 1)), np.asarray(last(x)).transpose(0, 2, 1),
                 rtol=1e-12)
    check_gradients(first, [x.transpose(0, 2, 1)], rng)


def test_causal_output_ignores_the_future(rng):
    layer = L.Conv1D(2, 3, padding="causal", dilation_rate=2, dtype="float64")
    x = rng.normal(size=(1, 10, 2))
    y1 = np.asarray(layer(x))
    x2 = x.copy()
    x2[:, 6:] = rng.normal(size=(1, 4, 2))
    y2 = np.asarray(layer(x2))
    np.testing.assert_array_equal(y1[:, :6], y2[:, :6])
    assert not np.allclose(y1[:, 6:], y2[:, 6:])


def test_separable_conv_against_loops_and_gradients(rng):
    layer = L.SeparableConv1D(4, 3, depth_multiplier=2, padding="same", dtype="float64",
                              bias_initializer="random_normal")
    x = rng.normal(size=(2, 6, 3))
    y = layer(x)
    dw, pw, bias = layer.get_weights()
    assert dw.shape == (3, 3, 2) and pw.shape == (1, 6, 4)
    depthwise = ref_conv(x, dw.reshape(3, 1, 6), 1, "same", 1)  # channel c*2+m <- kernel[:,c,m]
    assert_close(y, ref_conv(depthwise, pw, 1, "valid", 1) + bias, rtol=1e-10, atol=1e-12)
    check_gradients(layer, [x], rng)


def test_ops_conv_family(rng):
    x = rng.normal(size=(2, 8, 3))
    k = rng.normal(size=(3, 3, 2))
    assert_close(keras.ops.depthwise_conv(x, k, strides=2, padding="same"),
                 ref_conv(x, k.reshape(3, 1, 6), 2, "same", 1), rtol=1e-10, atol=1e-12)
    pw = rng.normal(size=(1, 6, 5))
    assert_close(keras.ops.separable_conv(x, k, pw, dilation_rate=2),
                 ref_conv(ref_conv(x, k.reshape(3, 1, 6), 1, "valid", 2), pw), rtol=1e-10,
                 atol=1e-12)
    xf = x.transpose(0, 2, 1)
    assert_close(keras.ops.conv(xf, rng.normal(size=(1, 3, 1)) * 0 + 1,
                                data_format="channels_first"),
                 x.sum(axis=2)[:, None, :], rtol=1e-12)
    # Symbolic use records a node with the inferred shape.
    inp = keras.Input((8, 3))
    assert keras.ops.conv(inp, rng.normal(size=(3, 3, 2)), padding="same").shape == (None, 8, 2)
    assert keras.ops.depthwise_conv(inp, k, strides=2).shape == (None, 3, 6)
    assert keras.ops.max_pool(inp, 3, 2, "same").shape == (None, 4, 3)


def test_one_matmul_per_call(rng, monkeypatch):
    """The convolution is one matrix product over all positions (and groups), not a loop."""
    import sys
    conv_module = sys.modules["rnnkit.ops.conv"]
    calls = []
    real = np.matmul

    class CountingNumpy:
        def __getattr__(self, name):
            return getattr(np, name)

        @staticmethod
        def matmul(*args, **kwargs):
            calls.append(args[0].shape)
            return real(*args, **kwargs)

    monkeypatch.setattr(conv_module, "np", CountingNumpy())
    x = rng.normal(size=(4, 200, 6))
    keras.ops.conv(x, rng.normal(size=(5, 3, 8)), padding="same")   # 2 groups
    keras.ops.conv(x, rng.normal(size=(5, 6, 8)))                    # groups=1
    assert calls == [(2, 4 * 200, 15), (4 * 196, 30)]


@pytest.mark.parametrize("kind", ["max", "average"])
@pytest.mark.parametrize("steps,k,s,pad", [(9, 2, 2, "valid"), (9, 3, 2, "same"),
                                           (8, 4, 1, "same"), (7, 3, 3, "valid"),
                                           (5, 2, 3, "same")])
def test_pooling_against_loops_and_gradients(kind, steps, k, s, pad, rng):
    cls = L.MaxPooling1D if kind == "max" else L.AveragePooling1D
    layer = cls(k, strides=s, padding=pad, dtype="float64")
    x = rng.normal(size=(2, steps, 3))
    y = layer(x)
    assert_close(y, ref_pool(x, k, s, pad, kind), rtol=1e-12)
    assert layer.compute_output_shape((None, steps, 3)) == (None,) + y.shape[1:]
    check_gradients(layer, [x], rng)
    cf = cls(k, strides=s, padding=pad, data_format="channels_first", dtype="float64")
    assert_close(cf(x.transpose(0, 2, 1)), np.asarray(y).transpose(0, 2, 1), rtol=1e-12)


def test_global_pooling(rng):
    x = rng.normal(size=(2, 5, 3))
    f64 = {"dtype": "float64"}
    assert_close(L.GlobalAveragePooling1D(**f64)(x), x.mean(axis=1), rtol=1e-12)
    assert_close(L.GlobalMaxPooling1D(**f64)(x), x.max(axis=1), rtol=1e-12)
    assert L.GlobalMaxPooling1D(keepdims=True)(x).shape == (2, 1, 3)
    cf = L.GlobalAveragePooling1D(data_format="channels_first", keepdims=True, **f64)
    assert_close(cf(x), x.mean(axis=2, keepdims=True), rtol=1e-12)
    mask = np.array([[1, 1, 0, 0, 0], [0, 1, 1, 1, 1]], bool)
    gap = L.GlobalAveragePooling1D(**f64)
    expected = (x * mask[..., None]).sum(1) / mask.sum(1, keepdims=True)
    assert_close(gap(x, mask=mask), expected, rtol=1e-12)
    assert gap.compute_mask(x, mask) is None
    check_gradients(gap, [x], rng, mask=mask)
    check_gradients(L.GlobalMaxPooling1D(**f64), [x], rng)
    assert L.GlobalAveragePooling1D().compute_output_shape((None, 5, 3)) == (None, 3)
    assert L.GlobalMaxPooling1D(data_format="channels_first").compute_output_shape(
        (None, 5, 3)) == (None, 5)


def test_global_average_pooling_honours_masks_in_a_model(rng):
    tokens = keras.Input((6,), dtype="int32")
    e = L.Embedding(20, 4, mask_zero=True)(tokens)
    avg = L.GlobalAveragePooling1D()(e)
    model = keras.Model(tokens, avg)
    ids = np.array([[3, 4, 0, 0, 0, 0], [5, 6, 7, 8, 9, 1]])
    table = model.layers[1].get_weights()[0]
    expected = np.stack([table[[3, 4]].mean(0), table[[5, 6, 7, 8, 9, 1]].mean(0)])
    assert_close(model.predict(ids, verbose=0), expected, rtol=1e-6)


def test_cnn_lstm_model_trains(rng):
    model = keras.Sequential([
        keras.Input((12, 2)),
        L.Conv1D(8, 3, padding="causal", activation="relu"),
        L.SeparableConv1D(8, 3, padding="same"),
        L.MaxPooling1D(2),
        L.LSTM(6),
        L.Dense(1)])
    model.compile("adam", "mse")
    x = rng.normal(size=(64, 12, 2)).astype("float32")
    y = x[:, -3:, 0].sum(axis=1, keepdims=True)
    history = model.fit(x, y, epochs=8, batch_size=16, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]


@pytest.mark.parametrize("layer", [
    L.Conv1D(4, 3, strides=2, padding="same", groups=2, activation="relu", use_bias=False,
             kernel_regularizer="l2", data_format="channels_first"),
    L.Conv1D(2, (5,), padding="causal", dilation_rate=(2,)),
    L.SeparableConv1D(3, 2, depth_multiplier=3, pointwise_regularizer="l1"),
    L.MaxPooling1D(3, strides=1, padding="same"), L.AveragePooling1D(),
    L.GlobalAveragePooling1D(keepdims=True), L.GlobalMaxPooling1D(data_format="channels_first")])
def test_config_round_trip(layer):
    restored = keras.saving.deserialize(json.loads(json.dumps(keras.saving.serialize(layer))))
    assert type(restored) is type(layer)
    assert restored.get_config() == layer.get_config()


def test_weights_regularizers_and_count(rng):
    layer = L.Conv1D(4, 3, kernel_regularizer=keras.regularizers.L2(0.1))
    layer(np.ones((1, 5, 2)))
    assert layer.count_params() == 3 * 2 * 4 + 4
    assert [w.path for w in layer.weights] == [f"{layer.name}/kernel", f"{layer.name}/bias"]
    assert_close(float(layer.losses[0]), 0.1 * float(np.sum(layer.kernel.numpy() ** 2)),
                 rtol=1e-6)


def test_errors():
    with pytest.raises(ValueError, match="filters"):
        L.Conv1D(0, 3)
    with pytest.raises(TypeError, match="filters"):
        L.Conv1D(2.5, 3)
    with pytest.raises(ValueError, match="kernel_size"):
        L.Conv1D(2, 0)
    with pytest.raises(ValueError, match="padding"):
        L.Conv1D(2, 3, padding="full")
    with pytest.raises(ValueError, match="padding"):
        L.SeparableConv1D(2, 3, padding="causal")
    with pytest.raises(ValueError, match="dilation_rate > 1"):
        L.Conv1D(2, 3, strides=2, dilation_rate=2)
    with pytest.raises(ValueError, match="divisible by the number of groups"):
        L.Conv1D(3, 3, groups=2)
    with pytest.raises(ValueError, match="input channels must be evenly divisible"):
        L.Conv1D(4, 3, groups=2)(np.ones((1, 5, 3)))
    with pytest.raises(ValueError, match="data_format"):
        L.Conv1D(2, 3, data_format="NWC")
    with pytest.raises(ValueError, match="zero or negative"):
        L.Conv1D(2, 6)(np.ones((1, 5, 3)))
    with pytest.raises(ValueError, match="expected ndim=3"):
        L.Conv1D(2, 3)(np.ones((5, 3)))
    layer = L.Conv1D(2, 3)
    layer(np.ones((1, 5, 3)))
    with pytest.raises(ValueError, match="axis -1"):
        layer(np.ones((1, 5, 4)))
    with pytest.raises(ValueError, match="pool_size"):
        L.MaxPooling1D(0)
    with pytest.raises(ValueError, match="zero or negative"):
        L.MaxPooling1D(4).compute_output_shape((None, 3, 2))
    with pytest.raises(TypeError, match="keepdims"):
        L.GlobalMaxPooling1D(keepdims="no")
    with pytest.raises(ValueError, match="rank 3"):
        keras.ops.conv(np.ones((1, 4, 4, 2)), np.ones((2, 2, 2, 1)))
    with pytest.raises(ValueError, match="multiple"):
        keras.ops.conv(np.ones((1, 5, 3)), np.ones((2, 2, 1)))


def _mixed_model():
    """The functional model of tools/make_layers_a_fixtures.py's model_fixture, in rnnkit."""
    seq = keras.Input((10, 3), name="seq")
    tokens = keras.Input((6,), dtype="int32", name="tokens")
    h = L.Conv1D(8, 3, padding="causal", activation="relu")(seq)
    h = L.SeparableConv1D(8, 3, padding="same", depth_multiplier=2)(h)
    h = L.MaxPooling1D(2)(h)
    h = L.LayerNormalization()(h)
    a = L.GlobalAveragePooling1D()(h)
    b = L.LSTM(5)(L.Permute((1, 2))(h))
    e1 = L.Embedding(12, 4, mask_zero=True)(tokens)
    e2 = L.Embedding(12, 4, mask_zero=True)(tokens)
    m = L.Maximum()([L.Multiply()([e1, e2]), e1])
    t = L.GlobalAveragePooling1D()(L.GroupNormalization(2)(m))
    out = L.Dense(2)(L.Concatenate()([a, b, t, L.Flatten()(L.RepeatVector(2)(a))]))
    return keras.Model([seq, tokens], out)


def test_mixed_model_matches_keras_and_saves(tmp_path):
    import os
    from layers_a_fixtures import HERE
    with np.load(os.path.join(HERE, "model.npz")) as data:
        arrays = {k: data[k] for k in data.files}
    weights = [arrays[f"w{i}"] for i in range(sum(k.startswith("w") for k in arrays))]
    model = _mixed_model()
    model.set_weights(weights)
    inputs = [arrays["x_seq"], arrays["x_tok"]]
    y = model.predict(inputs, verbose=0)
    assert_close(y, arrays["y"], rtol=1e-5, atol=1e-5)
    path = str(tmp_path / "mixed.keras")
    model.save(path)
    restored = keras.saving.load_model(path)
    np.testing.assert_array_equal(restored.predict(inputs, verbose=0), y)


def test_keras_layer_configs_of_the_mixed_model_load():
    """Every layer config Keras 3 wrote for the mixed model deserializes to the rnnkit layer
    of the same class, and the rebuilt model has Keras' weight shapes."""
    import os
    from layers_a_fixtures import HERE
    with open(os.path.join(HERE, "model.json")) as f:
        entries = json.load(f)["config"]["layers"]
    entries = [e for e in entries if e["module"] == "keras.layers"]   # ops recorded by Keras
    assert len(entries) == 19
    for entry in entries:
        layer = keras.saving.deserialize({k: entry[k] for k in
                                          ("module", "class_name", "config", "registered_name")})
        assert type(layer).__name__ == entry["class_name"]
        assert layer.name == entry["config"]["name"]
    with np.load(os.path.join(HERE, "model.npz")) as data:
        shapes = [data[f"w{i}"].shape for i in range(sum(k.startswith("w") for k in data.files))]
    assert [w.shape for w in _mixed_model().get_weights()] == shapes


def test_depthwise_conv1d_against_loops_and_gradients(rng):
    layer = L.DepthwiseConv1D(3, strides=2, padding="same", depth_multiplier=2,
                              bias_initializer="random_normal", dtype="float64")
    x = rng.normal(size=(2, 7, 3))
    y = layer(x)
    kernel, bias = layer.get_weights()
    assert kernel.shape == (3, 3, 2) and bias.shape == (6,)
    assert_close(y, ref_conv(x, kernel.reshape(3, 1, 6), 2, "same", 1) + bias, rtol=1e-10,
                 atol=1e-12)
    assert layer.compute_output_shape((None, 7, 3)) == (None, 4, 6)
    check_gradients(layer, [x], rng)
    assert L.Convolution1D is L.Conv1D and L.SeparableConvolution1D is L.SeparableConv1D
    restored = keras.saving.deserialize(json.loads(json.dumps(keras.saving.serialize(layer))))
    assert restored.get_config() == layer.get_config()
    assert "filters" not in layer.get_config()
    with pytest.raises(ValueError, match="depth_multiplier"):
        L.DepthwiseConv1D(3, depth_multiplier=0)
    with pytest.raises(ValueError, match="padding"):
        L.DepthwiseConv1D(3, padding="causal")


def test_keras_weights_file_loads():
    """A Keras 3 .weights.h5 of a CNN+LSTM (containers named conv1d, separable_conv1d,
    depthwise_conv1d, max_pooling1d, ... after Keras' snake case) loads into the same rnnkit
    model, which then predicts as Keras did."""
    import os
    from layers_a_fixtures import HERE
    model = keras.Sequential([
        keras.Input((12, 2)),
        L.Conv1D(4, 3, padding="causal", activation="relu"),
        L.SeparableConv1D(4, 3, padding="same"),
        L.DepthwiseConv1D(2, padding="same"),
        L.MaxPooling1D(2),
        L.LayerNormalization(),
        L.GroupNormalization(2),
        L.RMSNormalization(),
        L.LSTM(3),
        L.Dense(1)])
    import re
    assert [re.sub(r"_\d+$", "", layer.name) for layer in model.layers][:4] == \
        ["conv1d", "separable_conv1d", "depthwise_conv1d", "max_pooling1d"]
    model.load_weights(os.path.join(HERE, "seq_conv.weights.h5"))
    with np.load(os.path.join(HERE, "seq_conv.npz")) as data:
        assert_close(model.predict(data["x"], verbose=0), data["y"], rtol=1e-5, atol=1e-6)
