"""Layers of issue 15's last batch: the activation layers (ReLU, LeakyReLU, PReLU, ELU,
Softmax), CategoryEncoding, EinsumDense, Conv1DTranspose and the 1-D adaptive pooling layers,
with the ops conv_transpose / adaptive_*_pool, keras.models.save_model and the
keras.preprocessing aliases. Checked against NumPy from the definitions, against Keras 3
fixtures (tests/fixtures/layers_c/, made by tools/make_layers_c_fixtures.py), finite-difference
gradients, config round trips, masks and errors."""

from __future__ import annotations

import doctest
import importlib
import json
import os
import warnings

import numpy as np
import pytest
from layers_a_fixtures import check_gradients

import rnnkit as keras
from rnnkit.masking import get_keras_mask
import paths

L = keras.layers
HERE = str(paths.FIXTURES / "layers_c")

with np.load(os.path.join(HERE, "cases.npz")) as _data:
    DATA = {k: _data[k] for k in _data.files}
with open(os.path.join(HERE, "cases.json")) as _f:
    META = json.load(_f)


@pytest.mark.parametrize("name", sorted(META))
def test_keras_fixture(name):
    """The layer rebuilt from Keras' config, with Keras' weights, gives Keras' output."""
    entry = META[name]
    layer = keras.saving.deserialize({"module": "keras.layers", "class_name": entry["class_name"],
                                      "config": entry["config"], "registered_name": None})
    x = DATA[f"{name}/x"]
    layer.build(x.shape)
    weights = []
    while f"{name}/w{len(weights)}" in DATA:
        weights.append(DATA[f"{name}/w{len(weights)}"])
    assert [tuple(w.shape) for w in layer.get_weights()] == [w.shape for w in weights]
    layer.set_weights(weights)
    mask = DATA.get(f"{name}/mask")
    call = entry.get("call", {})
    y = layer(x, mask=mask, **call) if mask is not None else layer(x, **call)
    np.testing.assert_allclose(np.asarray(y), DATA[f"{name}/y"], rtol=2e-5, atol=2e-6)
    assert np.asarray(y).dtype == DATA[f"{name}/y"].dtype
    shape = layer.compute_output_shape(x.shape, **call)   # EinsumDense's None stays None
    assert len(shape) == y.ndim and all(d in (None, e) for d, e in zip(shape, y.shape))
    # Our config has Keras' keys, and its round trip rebuilds an equal layer.
    config = layer.get_config()
    assert set(config) == set(entry["config"])
    again = type(layer).from_config(config)
    assert again.get_config() == config


@pytest.mark.parametrize("module", [
    "rnnkit.layers.activations.activation_layers", "rnnkit.layers.core.einsum_dense",
    "rnnkit.layers.preprocessing.category_encoding",
    "rnnkit.layers.convolutional.conv1d_transpose", "rnnkit.layers.pooling.adaptive_pooling1d",
    "rnnkit.layers.core.reversible_embedding", "rnnkit.layers.core.wrapper",
    "rnnkit.layers.attention.grouped_query_attention",
    "rnnkit.ops.conv"])
def test_doc_examples(module):
    result = doctest.testmod(importlib.import_module(module), optionflags=doctest.ELLIPSIS |
                             doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0


# --- activation layers ---------------------------------------------------------------------

def _relu_ref(x, max_value, slope, threshold):
    y = np.where(x > threshold if threshold else x >= 0, x, slope * (x - threshold))
    return y if max_value is None else np.minimum(y, max_value)


@pytest.mark.parametrize("kw", [dict(), dict(max_value=1.5), dict(negative_slope=0.3),
                                dict(threshold=0.4), dict(max_value=6.0),
                                dict(max_value=2.0, negative_slope=0.2, threshold=0.5)])
def test_relu_against_numpy(kw, rng):
    x = rng.normal(size=(3, 4, 5)) * 3
    y = L.ReLU(dtype="float64", **kw)(x)
    ref = _relu_ref(x, kw.get("max_value"), kw.get("negative_slope", 0.0),
                    kw.get("threshold", 0.0))
    np.testing.assert_allclose(y, ref, rtol=1e-12, atol=1e-12)


def test_other_activations_against_numpy(rng):
    x = rng.normal(size=(3, 4, 5)) * 3
    f64 = {"dtype": "float64"}
    np.testing.assert_allclose(L.LeakyReLU(0.2, **f64)(x), np.where(x >= 0, x, 0.2 * x))
    np.testing.assert_allclose(L.LeakyReLU(**f64)(x), np.where(x >= 0, x, 0.3 * x))
    np.testing.assert_allclose(L.ELU(0.5, **f64)(x), np.where(x > 0, x, 0.5 * np.expm1(x)),
                               rtol=1e-12)
    e = np.exp(x - x.max(axis=1, keepdims=True))
    np.testing.assert_allclose(L.Softmax(axis=1, **f64)(x), e / e.sum(axis=1, keepdims=True),
                               rtol=1e-12)
    e = np.exp(x - x.max(axis=(1, 2), keepdims=True))
    np.testing.assert_allclose(L.Softmax(axis=[1, 2], **f64)(x),
                               e / e.sum(axis=(1, 2), keepdims=True), rtol=1e-12)
    np.testing.assert_allclose(L.Softmax(axis=[2], **f64)(x),
                               L.Softmax(**f64)(x), rtol=1e-12)


def test_softmax_mask(rng):
    x = rng.normal(size=(2, 5))
    mask = np.array([[1, 1, 0, 1, 0], [0, 0, 0, 0, 0]], dtype=bool)
    y = np.asarray(L.Softmax(dtype="float64")(x, mask=mask))
    e = np.where(mask, np.exp(x), 0.0)
    np.testing.assert_allclose(y[0], e[0] / e[0].sum(), rtol=1e-12)
    np.testing.assert_array_equal(y[1], 0.0)        # all masked: zeros, not uniform
    # A numeric mask keeps the entries > 0.5; a (B, 1) mask broadcasts.
    y2 = L.Softmax(dtype="float64")(x, mask=mask.astype("float32") * 0.9)
    np.testing.assert_allclose(y2, y, rtol=1e-12)
    y3 = L.Softmax(dtype="float64")(x, mask=np.array([[True], [True]]))
    np.testing.assert_allclose(y3, L.Softmax(dtype="float64")(x), rtol=1e-12)
    with pytest.raises(ValueError, match="broadcastable"):
        L.Softmax()(x, mask=np.ones((2, 3), bool))
    with pytest.raises(ValueError, match="more dimensions"):
        L.Softmax()(x, mask=np.ones((1, 2, 5), bool))


def test_masks_pass_through():
    x = np.array([[[1.0], [0.0], [2.0]]])
    masked = L.Masking()(x)
    for layer in (L.ReLU(), L.LeakyReLU(), L.ELU(), L.PReLU()):
        out = layer(masked)
        np.testing.assert_array_equal(np.asarray(get_keras_mask(out)), [[True, False, True]])


@pytest.mark.parametrize("layer", [
    L.ReLU(max_value=2.0, negative_slope=0.1, threshold=0.5, dtype="float64"),
    L.LeakyReLU(0.2, dtype="float64"), L.ELU(0.6, dtype="float64"),
    L.Softmax(axis=1, dtype="float64"), L.Softmax(axis=(1, 2), dtype="float64")])
def test_activation_gradients(layer, rng):
    x = rng.normal(size=(2, 4, 3))
    x[np.abs(x) < 0.05] += 0.2          # keep away from the kinks
    x[np.abs(x - 0.5) < 0.05] += 0.2
    x[np.abs(x - 2.0) < 0.05] += 0.2
    check_gradients(layer, [x], rng)


def test_prelu_numpy_and_gradients(rng):
    x = rng.normal(size=(2, 4, 3))
    alpha = rng.normal(size=(1, 3))
    layer = L.PReLU(shared_axes=1, dtype="float64")
    layer.build(x.shape)
    assert layer.alpha.shape == (1, 3) and layer.alpha.trainable
    np.testing.assert_array_equal(layer.alpha.numpy(), 0.0)    # "Zeros" initializer
    layer.alpha.assign(alpha)
    np.testing.assert_allclose(layer(x), np.where(x >= 0, x, alpha * x), rtol=1e-12)
    check_gradients(layer, [x], rng)              # input and alpha, finite differences
    full = L.PReLU(alpha_initializer="ones", dtype="float64")
    np.testing.assert_allclose(full(x), x)
    assert full.alpha.shape == (4, 3)
    with pytest.raises(ValueError):
        full(rng.normal(size=(2, 5, 3)))          # alpha spans the steps: fixed length


def test_prelu_training_updates_alpha(rng):
    model = keras.Sequential([keras.Input((4,)), L.PReLU(alpha_initializer="zeros")])
    model.compile(optimizer="sgd", loss="mse")
    x = -np.abs(rng.normal(size=(16, 4))).astype("float32")
    model.fit(x, x, epochs=2, verbose=0)
    assert np.all(model.layers[-1].alpha.numpy() > 0)      # moves toward alpha = 1


def test_prelu_regularizer_constraint(rng):
    layer = L.PReLU(alpha_initializer=keras.initializers.Constant(-2.0),
                    alpha_regularizer=keras.regularizers.L2(0.5),
                    alpha_constraint=keras.constraints.NonNeg(), shared_axes=[1, 2])
    layer(rng.normal(size=(2, 3, 4)))
    assert layer.alpha.shape == (1, 1)
    np.testing.assert_allclose(float(sum(np.asarray(v) for v in layer.losses)), 0.5 * 4.0)
    assert layer.alpha.constraint is not None


@pytest.mark.parametrize("make,match,error", [
    (lambda: L.ReLU(max_value=-1.0), "max_value", ValueError),
    (lambda: L.ReLU(negative_slope=-0.1), "negative_slope", ValueError),
    (lambda: L.ReLU(negative_slope=None), "negative_slope", ValueError),
    (lambda: L.ReLU(threshold=None), "threshold", ValueError),
    (lambda: L.ReLU(threshold=-1.0), "threshold", ValueError),
    (lambda: L.ReLU(max_value="6"), "max_value", TypeError),
    (lambda: L.LeakyReLU(negative_slope=-0.5), "negative_slope", ValueError),
    (lambda: L.LeakyReLU(negative_slope=None), "negative_slope", ValueError),
    (lambda: L.ELU(alpha="1"), "alpha", TypeError),
    (lambda: L.Softmax(axis=1.5), "axis", TypeError),
    (lambda: L.PReLU(shared_axes=[0]), "shared_axes", ValueError),
    (lambda: L.CategoryEncoding(), "num_tokens", ValueError),
    (lambda: L.CategoryEncoding(0), "num_tokens", ValueError),
    (lambda: L.CategoryEncoding(3, output_mode="tf_idf"), "output_mode", ValueError),
    (lambda: L.CategoryEncoding(3, sparse=True), "sparse", ValueError),
    (lambda: L.EinsumDense(3, 4), "equation", TypeError),
    (lambda: L.EinsumDense("ab,bc->ac", 4, bias_axes=1), "bias_axes", TypeError),
    (lambda: L.EinsumDense("ab,bc->ac", 4, lora_rank=2), "lora_rank", ValueError),
    (lambda: L.Conv1DTranspose(0, 3), "filters", ValueError),
    (lambda: L.Conv1DTranspose(2, 3, strides=2, output_padding=2), "output_padding",
     ValueError),
    (lambda: L.Conv1DTranspose(2, 3, strides=2, dilation_rate=2), "dilation_rate", ValueError),
    (lambda: L.Conv1DTranspose(2, 3, padding="causal"), "padding", ValueError),
    (lambda: L.AdaptiveAveragePooling1D((2, 2)), "output_size", ValueError),
    (lambda: L.AdaptiveMaxPooling1D("2"), "output_size", TypeError),
    (lambda: L.AdaptiveMaxPooling1D(0), "output_size", ValueError),
    (lambda: L.AdaptiveMaxPooling1D(2, data_format="nlc"), "data_format", ValueError),
])
def test_bad_arguments(make, match, error):
    with pytest.raises(error, match=match):
        make()


def test_leaky_relu_alpha_alias():
    with pytest.warns(UserWarning, match="deprecated"):
        layer = L.LeakyReLU(alpha=0.1)
    assert layer.negative_slope == 0.1


# --- CategoryEncoding -------------------------------------------------------------------

def test_category_encoding_against_numpy():
    ids = np.array([[0, 2, 2], [1, 1, 3]])
    eye = np.eye(4, dtype="float32")
    np.testing.assert_array_equal(L.CategoryEncoding(4, "one_hot")(ids), eye[ids])
    np.testing.assert_array_equal(L.CategoryEncoding(4, "one_hot")(ids[:, :1]), eye[ids[:, 0]])
    np.testing.assert_array_equal(L.CategoryEncoding(4, "one_hot")(np.array(2)), eye[[2]])
    np.testing.assert_array_equal(L.CategoryEncoding(4, "multi_hot")(ids),
                                  [[1, 0, 1, 0], [0, 1, 0, 1]])
    np.testing.assert_array_equal(L.CategoryEncoding(4, "binary")(ids[0]), [1, 0, 1, 0])
    np.testing.assert_array_equal(L.CategoryEncoding(4, "count")(ids),
                                  [[1, 0, 2, 0], [0, 2, 0, 1]])
    w = np.array([[0.5, 1.0, 2.0], [1.0, 1.0, 0.25]])
    np.testing.assert_allclose(L.CategoryEncoding(4, "count")(ids, count_weights=w),
                               [[0.5, 0, 3.0, 0], [0, 2.0, 0, 0.25]])
    assert L.CategoryEncoding(4, dtype="float64")(ids).dtype == np.float64


def test_category_encoding_errors_and_shapes():
    layer = L.CategoryEncoding(3)
    with pytest.raises(ValueError, match="0 <= values < num_tokens"):
        layer(np.array([[0, 3]]))
    with pytest.raises(ValueError, match="0 <= values < num_tokens"):
        layer(np.array([[-1, 0]]))
    with pytest.raises(ValueError, match="count_weights"):
        layer(np.array([[0, 1]]), count_weights=np.ones((1, 2)))
    with pytest.raises(ValueError, match="integer"):
        layer(np.array([[0.5, 1.0]]))
    with pytest.raises(ValueError, match="rank <= 2"):
        layer(np.zeros((2, 2, 2), dtype=int))
    assert L.CategoryEncoding(3).compute_output_shape((None, 5)) == (None, 3)
    assert L.CategoryEncoding(3, "one_hot").compute_output_shape((None, 5)) == (None, 5, 3)
    assert L.CategoryEncoding(3, "one_hot").compute_output_shape((None, 1)) == (None, 3)
    out = L.CategoryEncoding(7)(keras.Input((4,), dtype="int32"))
    assert out.shape == (None, 7)


# --- EinsumDense ------------------------------------------------------------------------

@pytest.mark.parametrize("equation,out_shape,bias_axes,x_shape", [
    ("ab,bc->ac", 4, "c", (3, 5)),
    ("abc,cd->abd", (None, 4), "d", (2, 3, 5)),
    ("abc,cde->abde", (None, 2, 4), "de", (2, 3, 5)),
    ("...b,bc->...c", 4, "c", (2, 3, 5)),
    ("ab...,bc->ac...", 4, "c", (2, 5, 3)),
    ("abc,cd->abd", (3, 2), "b", (2, 3, 5)),
    ("abc,cd->abd", (3, 2), None, (2, 3, 5)),
])
def test_einsum_dense_numpy_and_gradients(equation, out_shape, bias_axes, x_shape, rng):
    x = rng.normal(size=x_shape)
    layer = L.EinsumDense(equation, out_shape, bias_axes=bias_axes, activation="tanh",
                          dtype="float64")
    y = np.asarray(layer(x))
    bias = 0.0 if layer.bias is None else rng.normal(size=layer.bias.shape)
    if layer.bias is not None:
        layer.bias.assign(bias)
        y = np.asarray(layer(x))
    np.testing.assert_allclose(y, np.tanh(np.einsum(equation, x, layer.kernel.numpy()) + bias),
                               rtol=1e-12)
    shape = layer.compute_output_shape(x.shape)     # None where output_shape says None
    assert all(d in (None, e) for d, e in zip(shape, y.shape)) and len(shape) == y.ndim
    check_gradients(layer, [x], rng)
    again = L.EinsumDense.from_config(layer.get_config())
    assert again.get_config() == layer.get_config()


def test_einsum_dense_kernel_fans(rng):
    """A variance-scaling initializer counts the fans over the kernel's input and output axes
    (Keras' rule), not as a convolution kernel would."""
    layer = L.EinsumDense("abc,cde->abde", (None, 8, 16),
                          kernel_initializer=keras.initializers.VarianceScaling(
                              scale=1.0, mode="fan_in", distribution="uniform", seed=1))
    layer.build((None, 4, 32))
    k = layer.kernel.numpy()
    assert k.shape == (32, 8, 16)
    limit = np.sqrt(3.0 / 32)                      # fan_in = 32
    assert np.abs(k).max() <= limit and np.abs(k).max() > 0.9 * limit


def test_einsum_dense_errors():
    with pytest.raises(ValueError, match="Invalid einsum equation"):
        L.EinsumDense("ab->ac", 4)(np.ones((2, 3)))
    with pytest.raises(ValueError, match="Bias dimension 'z'"):
        L.EinsumDense("ab,bc->ac", 4, bias_axes="z")(np.ones((2, 3)))
    with pytest.raises(ValueError, match="do not match at shared dimension"):
        L.EinsumDense("abc,cd->abd", (4, 2))(np.ones((2, 3, 5)))
    with pytest.raises(ValueError, match="Weight dimension 'q'"):
        L.EinsumDense("ab,bcq->ac", 4)(np.ones((2, 3)))
    with pytest.raises(ValueError, match="rank"):
        L.EinsumDense("abc,cd->abd", (3, 2))(np.ones((2, 5)))


# --- Conv1DTranspose and the ops ------------------------------------------------------

def _conv_transpose_ref(x, kernel, stride, padding, output_padding, dilation):
    """From the definition: scatter every input step through every tap, then Keras' crop."""
    b, n, c = x.shape
    k, o, _ = kernel.shape
    k_eff = (k - 1) * dilation + 1
    full = np.zeros((b, (n - 1) * stride + k_eff + stride + k_eff, o))
    for i in range(n):
        for j in range(k):
            full[:, i * stride + j * dilation] += x[:, i] @ kernel[j].T
    if padding == "valid":
        op = max(k_eff, stride) - k_eff if output_padding is None else output_padding
        left, right = k_eff - 1, k_eff - 1 + op
    else:
        total = stride + k_eff - 2 if output_padding is None \
            else k_eff + k_eff % 2 - 2 + output_padding
        left = min(total // 2 + total % 2, k_eff - 1)
        right = total - left
    out = (n - 1) * stride + 1 + left + right - k_eff + 1
    start = k_eff - 1 - left
    return full[:, start:start + out]


@pytest.mark.parametrize("k,stride,padding,output_padding,dilation", [
    (3, 1, "valid", None, 1), (3, 2, "valid", None, 1), (2, 3, "valid", None, 1),
    (3, 2, "same", None, 1), (4, 2, "same", None, 1), (2, 3, "same", None, 1),
    (4, 3, "valid", 2, 1), (3, 2, "same", 1, 1), (3, 2, "same", 0, 1),
    (3, 1, "same", None, 2), (3, 1, "valid", None, 3), (1, 2, "same", None, 1)])
def test_conv_transpose_against_definition(k, stride, padding, output_padding, dilation, rng):
    x = rng.normal(size=(2, 5, 3))
    kernel = rng.normal(size=(k, 4, 3))
    y = keras.ops.conv_transpose(x, kernel, strides=stride, padding=padding,
                                 output_padding=output_padding, dilation_rate=dilation)
    np.testing.assert_allclose(y, _conv_transpose_ref(x, kernel, stride, padding,
                                                      output_padding, dilation), rtol=1e-12)
    y_cf = keras.ops.conv_transpose(x.transpose(0, 2, 1), kernel, strides=stride,
                                    padding=padding, output_padding=output_padding,
                                    data_format="channels_first", dilation_rate=dilation)
    np.testing.assert_allclose(np.asarray(y_cf).transpose(0, 2, 1), y, rtol=1e-12)


@pytest.mark.parametrize("kw", [dict(strides=2), dict(strides=2, padding="same"),
                                dict(strides=3, output_padding=1),
                                dict(padding="same", dilation_rate=2),
                                dict(strides=2, data_format="channels_first")])
def test_conv1d_transpose_gradients(kw, rng):
    layer = L.Conv1DTranspose(2, 3, activation="tanh", dtype="float64", **kw)
    layer(np.ones((1, 4, 3)))
    layer.bias.assign(rng.normal(size=2))
    check_gradients(layer, [rng.normal(size=(2, 4, 3))], rng)


def test_conv1d_transpose_is_conv_gradient(rng):
    """conv_transpose is the adjoint of conv: <conv(x, K), y> = <x, conv_transpose(y, K')>."""
    x = rng.normal(size=(2, 9, 3))
    kernel = rng.normal(size=(3, 3, 4))              # conv: (k, in, out)
    y = rng.normal(size=(2, 4, 4))
    cx = np.asarray(keras.ops.conv(x, kernel, strides=2))
    assert cx.shape == y.shape
    ty = np.asarray(keras.ops.conv_transpose(y, kernel, strides=2, output_padding=0))
    assert ty.shape == x.shape
    np.testing.assert_allclose(np.sum(cx * y), np.sum(x * ty), rtol=1e-10)


def test_conv1d_transpose_model_and_symbolic(rng):
    inp = keras.Input((None, 3))
    out = L.Conv1DTranspose(2, 3, strides=2, padding="same")(inp)
    assert out.shape == (None, None, 2)
    fixed = keras.Input((6, 3))
    assert L.Conv1DTranspose(2, 4, strides=3)(fixed).shape == (None, 19, 2)
    assert keras.ops.conv_transpose(fixed, np.ones((3, 5, 3)), strides=2).shape == \
        (None, 13, 5)
    model = keras.Model(inp, out)
    model.compile(optimizer="adam", loss="mse")
    x = rng.normal(size=(4, 5, 3)).astype("float32")
    model.fit(x, rng.normal(size=(4, 10, 2)).astype("float32"), epochs=1, verbose=0)
    assert model.predict(x, verbose=0).shape == (4, 10, 2)


def test_conv_transpose_op_errors(rng):
    x = rng.normal(size=(1, 4, 3))
    with pytest.raises(ValueError, match="last dimension"):
        keras.ops.conv_transpose(x, np.ones((3, 2, 5)))
    with pytest.raises(ValueError, match="rank 3"):
        keras.ops.conv_transpose(rng.normal(size=(1, 4, 4, 3)), np.ones((3, 2, 3)))
    with pytest.raises(ValueError, match="output_padding"):
        keras.ops.conv_transpose(x, np.ones((3, 2, 3)), strides=2, output_padding=3)
    with pytest.raises(ValueError, match="padding"):
        keras.ops.conv_transpose(x, np.ones((3, 2, 3)), padding="causal")


# --- adaptive pooling -----------------------------------------------------------------

def _adaptive_ref(x, n, reduce):
    length = x.shape[1]
    return np.stack([reduce(x[:, (i * length) // n:-((-(i + 1) * length) // n)], axis=1)
                     for i in range(n)], axis=1)


@pytest.mark.parametrize("length,n", [(5, 2), (5, 3), (6, 3), (3, 7), (7, 1), (4, 4)])
def test_adaptive_pooling_against_definition(length, n, rng):
    x = rng.normal(size=(2, length, 3))
    np.testing.assert_allclose(keras.ops.adaptive_average_pool(x, n),
                               _adaptive_ref(x, n, np.mean), rtol=1e-12)
    np.testing.assert_allclose(keras.ops.adaptive_max_pool(x, (n,)),
                               _adaptive_ref(x, n, np.max), rtol=1e-12)
    np.testing.assert_allclose(
        np.asarray(L.AdaptiveMaxPooling1D(n, data_format="channels_first", dtype="float64")(
            x.transpose(0, 2, 1))).transpose(0, 2, 1), _adaptive_ref(x, n, np.max))
    for cls in (L.AdaptiveAveragePooling1D, L.AdaptiveMaxPooling1D):
        check_gradients(cls(n, dtype="float64"), [x], rng)


def test_adaptive_pooling_shapes_and_config():
    layer = L.AdaptiveAveragePooling1D(4)
    assert layer(keras.Input((None, 3))).shape == (None, 4, 3)
    assert L.AdaptiveMaxPooling1D([2], data_format="channels_first") \
        .compute_output_shape((None, 3, 9)) == (None, 3, 2)
    config = layer.get_config()
    assert config["output_size"] == (4,) and config["data_format"] == "channels_last"
    assert L.AdaptiveAveragePooling1D.from_config(config).get_config() == config
    with pytest.raises(ValueError, match="output_size"):
        keras.ops.adaptive_max_pool(np.ones((1, 3, 2)), 0)


# --- serialization, models.save_model, preprocessing aliases ---------------------------

def test_serialize_round_trip_and_exports():
    for layer in (L.ReLU(max_value=3.0), L.LeakyReLU(0.1), L.PReLU(shared_axes=[1]),
                  L.ELU(0.3), L.Softmax(axis=(1, 2)), L.CategoryEncoding(4, "count"),
                  L.EinsumDense("ab,bc->ac", 3, bias_axes="c"), L.Conv1DTranspose(2, 3),
                  L.AdaptiveAveragePooling1D(2), L.AdaptiveMaxPooling1D(3)):
        again = L.deserialize(L.serialize(layer))
        assert type(again) is type(layer)
        assert again.get_config() == layer.get_config()
        assert type(layer).__name__ in L.__all__
    for name in ("MultiHeadAttention", "Attention", "TextVectorization", "ConvLSTM1D",
                 "Convolution1DTranspose"):
        assert name in L.__all__ and getattr(L, name) is not None
    assert L.Convolution1DTranspose is L.Conv1DTranspose
    assert keras.ops.nn.conv_transpose is not None


def test_save_model_with_new_layers(tmp_path, rng):
    inp = keras.Input((6, 3))
    h = L.Conv1DTranspose(4, 3, strides=2, padding="same")(inp)
    h = L.PReLU(shared_axes=[1])(h)
    h = L.EinsumDense("abc,cd->abd", (None, 5), bias_axes="d")(h)
    h = L.AdaptiveMaxPooling1D(3)(h)
    out = L.Softmax(axis=1)(L.ReLU(max_value=4.0)(h))
    model = keras.Model(inp, out)
    model.layers[2].alpha.assign(rng.normal(size=model.layers[2].alpha.shape))
    path = str(tmp_path / "m.keras")
    keras.models.save_model(model, path)
    loaded = keras.models.load_model(path)
    x = rng.normal(size=(2, 6, 3)).astype("float32")
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0),
                               rtol=1e-6)
    assert keras.models.save_model.__doc__


# --- ReversibleEmbedding, Wrapper ------------------------------------------------------

def test_reversible_embedding_numpy_masks_gradients(rng):
    layer = L.ReversibleEmbedding(7, 3, mask_zero=True, dtype="float64")
    ids = np.array([[1, 2, 0], [6, 0, 0]])
    h = layer(ids)
    table = layer.embeddings.numpy()
    np.testing.assert_array_equal(h, table[ids])
    np.testing.assert_array_equal(get_keras_mask(h), ids != 0)
    hidden = rng.normal(size=(2, 4, 3))
    logits = layer(hidden, reverse=True)
    np.testing.assert_allclose(logits, hidden @ table.T, rtol=1e-12)
    assert get_keras_mask(logits) is None
    assert layer.compute_output_shape((None, 4, 3), reverse=True) == (None, 4, 7)
    assert layer.compute_output_shape((None, 4)) == (None, 4, 3)
    check_gradients(layer, [hidden], rng, reverse=True)
    capped = L.ReversibleEmbedding(7, 3, tie_weights=False, logit_soft_cap=2.0,
                                   dtype="float64")
    capped.build()
    assert [w.name for w in capped.weights] == ["embeddings", "reverse_embeddings"]
    assert capped.reverse_embeddings.shape == (3, 7)
    np.testing.assert_allclose(capped(hidden, reverse=True),
                               2.0 * np.tanh(hidden @ capped.reverse_embeddings.numpy() / 2.0),
                               rtol=1e-12)
    capped.embeddings.trainable = False    # not used by an untied reverse call
    check_gradients(capped, [hidden], rng, reverse=True)
    assert [w.name for w in capped.trainable_weights] == ["reverse_embeddings"]
    assert L.ReversibleEmbedding(7, 3, reverse_dtype="float64")(
        hidden.astype("float32"), reverse=True).dtype == np.float64
    with pytest.raises(ValueError, match="output_dim"):
        layer(rng.normal(size=(2, 4, 5)), reverse=True)
    with pytest.raises(ValueError, match="reverse_dtype"):
        L.ReversibleEmbedding(7, 3, reverse_dtype="int32")
    with pytest.raises(ValueError, match="logit_soft_cap"):
        L.ReversibleEmbedding(7, 3, logit_soft_cap=0)
    with pytest.raises(TypeError, match="tie_weights"):
        L.ReversibleEmbedding(7, 3, tie_weights="yes")


def test_reversible_embedding_language_model(tmp_path, rng):
    """Tied input/output table in a functional model: symbolic shapes, training, saving."""
    emb = L.ReversibleEmbedding(9, 4, mask_zero=True)
    inp = keras.Input((5,), dtype="int32")
    h = L.LSTM(4, return_sequences=True)(emb(inp))
    out = emb(h, reverse=True)
    assert out.shape == (None, 5, 9)
    model = keras.Model(inp, out)
    assert len(model.weights) == 4          # the table once, and the LSTM's three
    model.compile(optimizer="adam",
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    x = rng.integers(1, 9, size=(8, 5))
    model.fit(x, x, epochs=1, verbose=0)
    path = str(tmp_path / "lm.keras")
    model.save(path)
    loaded = keras.models.load_model(path)
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0),
                               rtol=1e-6)


def test_wrapper_base_class(rng):
    class Doubled(L.Wrapper):
        def call(self, inputs):
            return ops_mul(self.layer(inputs), 2.0)

    ops_mul = keras.ops.multiply
    layer = Doubled(L.Dense(2, dtype="float64"), dtype="float64")
    x = rng.normal(size=(3, 4))
    y = layer(x)
    inner = layer.layer
    np.testing.assert_allclose(y, 2 * (x @ inner.kernel.numpy() + inner.bias.numpy()))
    assert len(layer.trainable_weights) == 2
    config = layer.get_config()
    assert config["layer"]["class_name"] == "Dense"
    again = Doubled.from_config(config)
    assert isinstance(again.layer, L.Dense) and again.layer.units == 2
    built = Doubled(L.Dense(3))
    built.build((None, 5))
    assert built.layer.built and built.layer.kernel.shape == (5, 3)
    with pytest.raises(ValueError, match="supported layer"):
        Doubled("dense")


def test_preprocessing_aliases():
    assert keras.preprocessing.sequence.pad_sequences is keras.utils.pad_sequences
    assert keras.preprocessing.timeseries_dataset_from_array is \
        keras.utils.timeseries_dataset_from_array
    assert keras.preprocessing.text_dataset_from_directory is \
        keras.utils.text_dataset_from_directory
    np.testing.assert_array_equal(keras.preprocessing.sequence.pad_sequences([[1, 2], [3]]),
                                  [[1, 2], [0, 3]])


# --- GroupQueryAttention ------------------------------------------------------------------

with np.load(os.path.join(HERE, "gqa.npz")) as _data:
    GQA = {k: _data[k] for k in _data.files}
with open(os.path.join(HERE, "gqa.json")) as _f:
    GQA_META = json.load(_f)


@pytest.mark.parametrize("name", sorted(GQA_META))
def test_gqa_keras_fixture(name):
    entry = GQA_META[name]
    layer = keras.saving.deserialize({"module": "keras.layers",
                                      "class_name": "GroupedQueryAttention",
                                      "config": entry["config"], "registered_name": None})
    assert type(layer) is L.GroupQueryAttention
    args = (GQA["q"], GQA["v"], GQA["k"]) if entry["with_key"] else (GQA["q"], GQA["v"])
    call = {"query_mask": GQA["q_mask"], "value_mask": GQA["v_mask"]}
    call = {k: v for k, v in call.items() if k in entry["call"]}
    if entry["causal"]:
        call["use_causal_mask"] = True
    layer(*args)
    weights = []
    while f"{name}/w{len(weights)}" in GQA:
        weights.append(GQA[f"{name}/w{len(weights)}"])
    assert [w.shape for w in layer.get_weights()] == [w.shape for w in weights]
    layer.set_weights(weights)
    np.testing.assert_allclose(layer(*args, **call), GQA[f"{name}/y"], rtol=2e-5, atol=2e-6)
    out, scores = layer(*args, return_attention_scores=True, **call)
    np.testing.assert_allclose(out, GQA[f"{name}/y_scores_path"], rtol=2e-5, atol=2e-6)
    np.testing.assert_allclose(scores, GQA[f"{name}/scores"], rtol=2e-5, atol=2e-6)
    assert set(layer.get_config()) == set(entry["config"])
    assert L.GroupQueryAttention.from_config(layer.get_config()).get_config() == \
        layer.get_config()


def _gqa_ref(layer, q, v, mask):
    """From the definition, in NumPy, with the layer's weights."""
    def proj(dense, x):
        y = np.einsum(dense.equation, x, dense.kernel.numpy())
        return y if dense.bias is None else y + dense.bias.numpy()
    r = layer.num_query_heads // layer.num_key_value_heads
    qh = proj(layer._query_dense, q) / np.sqrt(layer.head_dim)
    kh = np.repeat(proj(layer._key_dense, v), r, axis=2)
    vh = np.repeat(proj(layer._value_dense, v), r, axis=2)
    s = np.einsum("bquh,bkuh->buqk", qh, kh)
    s = np.where(mask[:, None], s, -1e9)
    w = np.exp(s - s.max(-1, keepdims=True))
    w /= w.sum(-1, keepdims=True)
    o = np.einsum("buqk,bkuh->bquh", w, vh)
    if layer.use_gate:
        o = o / (1 + np.exp(-proj(layer._gate_dense, q)))
    return proj(layer._output_dense, o), w


@pytest.mark.parametrize("kw", [dict(num_query_heads=4, num_key_value_heads=2),
                                dict(num_query_heads=3, num_key_value_heads=1, use_gate=True),
                                dict(num_query_heads=2, num_key_value_heads=2,
                                     sliding_window=2, use_bias=False)])
def test_gqa_against_numpy_and_gradients(kw, rng):
    layer = L.GroupQueryAttention(head_dim=2, dtype="float64",
                                  bias_initializer="random_normal", **kw)
    q, v = rng.normal(size=(2, 3, 4)), rng.normal(size=(2, 5, 4))
    mask = np.ones((2, 3, 5), bool)
    mask[0, :, 3:] = False
    y, w = layer(q, v, attention_mask=mask, use_causal_mask=True,
                 return_attention_scores=True)
    full = mask & np.tril(np.ones((3, 5), bool))[None]
    if layer.sliding_window:
        full &= (np.abs(np.arange(3)[:, None] - np.arange(5)[None]) < 2)[None]
    ref_y, ref_w = _gqa_ref(layer, q, v, full)
    np.testing.assert_allclose(y, ref_y, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(w, ref_w, rtol=1e-10, atol=1e-12)

    class Pair(L.Wrapper):          # one list input, as check_gradients calls it
        def call(self, inputs):
            return self.layer(inputs[0], inputs[1], attention_mask=mask, use_causal_mask=True)

    check_gradients(Pair(layer, dtype="float64"), [q, v], rng, single=False)


def test_gqa_functional_masks_dropout_errors(rng):
    tokens = keras.Input((6,), dtype="int32")
    h = L.Embedding(10, 8, mask_zero=True)(tokens)
    out = L.GroupQueryAttention(4, 4, 2, dropout=0.5, seed=3)(h, h, use_causal_mask=True)
    model = keras.Model(tokens, L.GlobalAveragePooling1D()(out))
    model.compile(optimizer="adam", loss="mse")
    x = np.array([[1, 2, 3, 0, 0, 0], [4, 5, 6, 7, 8, 9]])
    model.fit(x, rng.normal(size=(2, 8)), epochs=1, verbose=0)
    a = model.predict(x, verbose=0)
    np.testing.assert_array_equal(a, model.predict(x, verbose=0))     # no dropout at inference
    # The padded steps of sample 0 do not change its output.
    x2 = x.copy()
    x2[0, 3:] = 0
    np.testing.assert_allclose(model.predict(x2, verbose=0), a)
    with pytest.raises(ValueError, match="divisible"):
        L.GroupQueryAttention(4, 3, 2)
    with pytest.raises(ValueError, match="sliding_window"):
        L.GroupQueryAttention(4, 2, 2, sliding_window=0)
    with pytest.raises(ValueError, match="flash_attention"):
        L.GroupQueryAttention(4, 2, 2, flash_attention=True)
    with pytest.raises(ValueError, match="head_dim"):
        L.GroupQueryAttention(0, 2, 2)
    with pytest.raises(ValueError, match="except the last one"):
        L.GroupQueryAttention(4, 2, 2)(np.ones((1, 3, 4)), np.ones((1, 5, 4)),
                                       np.ones((1, 4, 4)))
