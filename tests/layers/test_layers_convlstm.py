"""ConvLSTM1D / ConvLSTM2D / ConvLSTM3D: against Keras 3 fixtures
(tools/make_layers_b_fixtures.py), against a NumPy ConvLSTM written from the definition
(masks included), gradients against finite differences in float64, configs, errors."""

from __future__ import annotations

import itertools
import json
import os

import numpy as np
import pytest

import rnnkit as keras
from rnnkit import ops
from rnnkit.autodiff import GradientTape
from helpers import assert_close, numeric_gradient
import paths

HERE = str(paths.FIXTURES / "layers_b")
FIX = np.load(os.path.join(HERE, "convlstm.npz"))
with open(os.path.join(HERE, "convlstm.json")) as _f:
    META = json.load(_f)


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def ref_conv(x, w, strides, padding, dilation):
    """Direct N-D cross-correlation, channels last, from the definition."""
    rank = len(strides)
    spatial, ksize = x.shape[1:-1], w.shape[:rank]
    if padding == "same":
        outs = [-(-n // s) for n, s in zip(spatial, strides)]
        pads = []
        for n, k, s, d, o in zip(spatial, ksize, strides, dilation, outs):
            total = max((o - 1) * s + (k - 1) * d + 1 - n, 0)
            pads.append((total // 2, total - total // 2))
        x = np.pad(x, [(0, 0)] + pads + [(0, 0)])
    else:
        outs = [(n - (k - 1) * d - 1) // s + 1 for n, k, s, d in zip(spatial, ksize, strides,
                                                                        dilation)]
    out = np.zeros((x.shape[0],) + tuple(outs) + (w.shape[-1],))
    for pos in itertools.product(*(range(o) for o in outs)):
        for off in itertools.product(*(range(k) for k in ksize)):
            idx = tuple(p * s + o * d for p, s, o, d in zip(pos, strides, off, dilation))
            out[(slice(None),) + pos] += x[(slice(None),) + idx] @ w[off]
    return out


def ref_convlstm(x, kernel, recurrent, bias, strides, padding, dilation, mask=None,
                 act=np.tanh, go_backwards=False):
    """(sequence of h, final h, final c), channels last."""
    rank = len(strides)
    f = kernel.shape[-1] // 4
    h = c = None
    outputs = []
    steps = range(x.shape[1])[::-1] if go_backwards else range(x.shape[1])
    for t in steps:
        z = ref_conv(x[:, t], kernel, strides, padding, dilation)
        if h is None:
            h = np.zeros(z.shape[:-1] + (f,))
            c = np.zeros_like(h)
        z = z + ref_conv(h, recurrent, (1,) * rank, "same", (1,) * rank)
        if bias is not None:
            z = z + bias
        i, fg, g, o = (z[..., k * f:(k + 1) * f] for k in range(4))
        c_new = sigmoid(fg) * c + sigmoid(i) * act(g)
        h_new = sigmoid(o) * act(c_new)
        if mask is not None:
            m = mask[:, t].reshape((-1,) + (1,) * (rank + 1))
            h_new, c_new = np.where(m, h_new, h), np.where(m, c_new, c)
            out = np.where(m, h_new, outputs[-1] if outputs else np.zeros_like(h_new))
        else:
            out = h_new
        h, c = h_new, c_new
        outputs.append(out)
    return np.stack(outputs, axis=1), h, c


@pytest.mark.parametrize("name", sorted(META))
def test_convlstm_matches_keras(name):
    meta = META[name]
    cls = getattr(keras.layers, meta["cls"])
    layer = cls(**meta["kw"], bias_initializer="random_normal")
    x = FIX[f"{name}/x"]
    layer.build(x.shape)
    assert [w.path.split("/", 1)[1] for w in layer.weights] == \
        [p.split("/", 1)[1] for p in meta["weight_paths"]]
    layer.set_weights([FIX[f"{name}/w{i}"] for i in range(len(layer.weights))])
    result = layer(x)
    results = result if isinstance(result, list) else [result]
    assert len(results) == meta["n_out"]
    for i, r in enumerate(results):
        assert_close(r, FIX[f"{name}/out{i}"], rtol=2e-5, atol=2e-6)
    keras_config = meta["config"]
    config = layer.get_config()
    assert set(config) == set(keras_config)
    for key in ("filters", "padding", "data_format", "return_sequences", "return_state",
                "go_backwards", "use_bias", "unit_forget_bias", "activation"):
        assert config[key] == keras_config[key], key
    for key in ("kernel_size", "strides", "dilation_rate"):
        assert list(config[key]) == list(keras_config[key]), key
    clone = cls.from_config(config)
    assert clone.get_config() == {**config, "name": clone.name} or clone.name == config["name"]


@pytest.mark.parametrize("rank,kw", [
    (1, dict(filters=3, kernel_size=3, padding="same")),
    (2, dict(filters=2, kernel_size=(2, 3), strides=(1, 2))),
    (2, dict(filters=2, kernel_size=2, dilation_rate=(2, 1), padding="same",
             go_backwards=True)),
    (3, dict(filters=2, kernel_size=2)),
])
def test_convlstm_matches_numpy_with_masks(rng, rank, kw):
    cls = {1: keras.layers.ConvLSTM1D, 2: keras.layers.ConvLSTM2D,
           3: keras.layers.ConvLSTM3D}[rank]
    shape = (3, 4) + (5, 4, 3)[:rank] + (2,)
    x = rng.standard_normal(shape)
    mask = np.ones((3, 4), bool)
    mask[0, 2:] = False
    mask[1, 1] = False
    layer = cls(**kw, return_sequences=True, return_state=True, dtype="float64",
                bias_initializer="random_normal")
    seq, h, c = layer(x, mask=mask)
    cell = layer.cell
    ref_seq, ref_h, ref_c = ref_convlstm(x, cell.kernel.numpy(), cell.recurrent_kernel.numpy(),
                                         cell.bias.numpy(), cell.strides, cell.padding,
                                         cell.dilation_rate, mask=mask,
                                         go_backwards=kw.get("go_backwards", False))
    assert_close(seq, ref_seq, rtol=1e-10, atol=1e-12)
    assert_close(h, ref_h, rtol=1e-10, atol=1e-12)
    assert_close(c, ref_c, rtol=1e-10, atol=1e-12)


def test_convlstm_gradients_match_finite_differences(rng):
    layer = keras.layers.ConvLSTM2D(2, 2, padding="same", dtype="float64",
                                    bias_initializer="random_normal")
    x = rng.standard_normal((2, 3, 3, 3, 1))
    layer.build(x.shape)
    probe = rng.standard_normal((2, 3, 3, 2))

    def loss_value():
        return float(np.sum(layer(x) * probe))

    xv = keras.Variable(x, dtype="float64")
    with GradientTape() as tape:
        loss = ops.sum(ops.multiply(layer(xv), probe))
    weights = layer.trainable_weights
    grads = tape.gradient(loss, [xv] + weights)
    assert_close(grads[0], numeric_gradient(loss_value, x), rtol=1e-6, atol=1e-8)
    for weight, grad in zip(weights, grads[1:]):
        value = weight.numpy()

        def weight_loss():
            weight.assign(value)
            return loss_value()

        numeric = numeric_gradient(weight_loss, value)
        weight.assign(value)
        assert_close(grad, numeric, rtol=1e-6, atol=1e-8)


def test_convlstm_training_dropout_functional_and_config():
    layer = keras.layers.ConvLSTM1D(2, 3, padding="same", dropout=0.5, recurrent_dropout=0.5,
                                    seed=1)
    x = np.random.default_rng(0).standard_normal((2, 3, 5, 1)).astype("float32")
    assert_close(layer(x), layer(x), rtol=0, atol=0)
    assert not np.allclose(layer(x, training=True), layer(x))
    inputs = keras.Input((3, 5, 1))
    model = keras.Model(inputs, keras.layers.ConvLSTM1D(2, 3, name="cl")(inputs))
    assert model.output_shape == (None, 3, 2) if hasattr(model, "output_shape") else True
    assert model(x).shape == (2, 3, 2)
    config = layer.get_config()
    assert config["dropout"] == 0.5 and config["seed"] == 1
    restored = keras.saving.deserialize(keras.saving.serialize(layer))
    assert isinstance(restored, keras.layers.ConvLSTM1D)
    assert restored.get_config()["kernel_size"] == (3,)
    assert layer.name.startswith("conv_lstm1d")


def test_convlstm_errors():
    for kwargs, match in [(dict(filters=0, kernel_size=3), "filters"),
                          (dict(filters=2, kernel_size=(3, 3)), "kernel_size"),
                          (dict(filters=2, kernel_size=3, padding="causal"), "padding"),
                          (dict(filters=2, kernel_size=3, data_format="nhwc"), "data_format"),
                          (dict(filters=2, kernel_size=3, strides=2, dilation_rate=2),
                           "dilation_rate")]:
        with pytest.raises(ValueError, match=match):
            keras.layers.ConvLSTM1D(**kwargs)
    with pytest.raises(ValueError, match="expected ndim=5"):
        keras.layers.ConvLSTM2D(2, 3)(np.ones((1, 2, 5, 1)))
    with pytest.raises(ValueError, match="rank 5"):
        keras.layers.ConvLSTM2D(2, 3).build((1, 2, 5, 1))


def test_model_with_attention_and_convlstm_saves_and_loads(tmp_path):
    layers = keras.layers
    x = np.random.default_rng(0).standard_normal((8, 5, 3)).astype("float32")
    inputs = keras.Input((5, 3))
    h = layers.MultiHeadAttention(2, 4)(inputs, inputs, use_causal_mask=True)
    h = layers.Attention(use_scale=True)([h, inputs])
    h = layers.AdditiveAttention()([h, inputs])
    h = layers.ConvLSTM1D(2, 2, padding="same")(layers.Reshape((5, 3, 1))(h))
    model = keras.Model(inputs, layers.Dense(1)(layers.Flatten()(h)))
    model.compile("adam", "mse")
    model.fit(x, np.ones((8, 1)), epochs=1, verbose=0)
    path = str(tmp_path / "m.keras")
    model.save(path)
    loaded = keras.models.load_model(path)
    assert_close(loaded(x), model(x), rtol=1e-5, atol=1e-6)
    assert [w.path for w in loaded.weights] == [w.path for w in model.weights]
