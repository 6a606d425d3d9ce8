"""Attention, AdditiveAttention and MultiHeadAttention: against NumPy written from the
definitions, against Keras 3 fixtures (tools/make_layers_b_fixtures.py), gradients against
finite differences in float64, masks, configs and argument errors."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

import rnnkit as keras
from rnnkit import ops
from rnnkit.autodiff import GradientTape
from helpers import assert_close, numeric_gradient
import paths

FIX = np.load(paths.FIXTURES / "layers_b" / "attention.npz")
with open(paths.FIXTURES / "layers_b" / "attention.json") as _f:
    META = json.load(_f)


def softmax(x, axis=-1):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


# -- NumPy references -------------------------------------------------------------------------

def ref_attention(q, v, k=None, q_mask=None, v_mask=None, causal=False, mode="dot", scale=None,
                  concat_weight=None, additive_scale=None, additive=False):
    k = v if k is None else k
    if additive:
        s = np.tanh(q[:, :, None, :] + k[:, None, :, :])
        scores = (s * (1.0 if additive_scale is None else additive_scale)).sum(-1)
    elif mode == "dot":
        scores = np.einsum("bqd,bvd->bqv", q, k) * (1.0 if scale is None else scale)
    else:
        pair = q[:, :, None, :] + k[:, None, :, :]
        scores = concat_weight * np.tanh(pair * (1.0 if scale is None else scale)).sum(-1)
    allowed = np.ones(scores.shape, bool)
    if v_mask is not None:
        allowed &= v_mask[:, None, :]
    if causal:
        allowed &= np.tril(np.ones(scores.shape[1:], bool))[None]
    scores = np.where(allowed, scores, scores - 1e9)
    weights = softmax(scores)
    out = weights @ v
    if q_mask is not None:
        out = out * q_mask[..., None]
    return out, weights


def ref_mha(q, v, k, weights, num_heads, key_dim, use_bias=True, mask=None):
    """Multi-head attention of rank-3 inputs from the definition (heads in a Python loop)."""
    it = iter(weights)
    wq, bq = next(it), (next(it) if use_bias else 0)
    wk, bk = next(it), (next(it) if use_bias else 0)
    wv, bv = next(it), (next(it) if use_bias else 0)
    wo, bo = next(it), (next(it) if use_bias else 0)
    outs, scores = [], []
    for h in range(num_heads):
        Q = q @ wq[:, h, :] + (bq[h] if use_bias else 0)
        K = k @ wk[:, h, :] + (bk[h] if use_bias else 0)
        V = v @ wv[:, h, :] + (bv[h] if use_bias else 0)
        s = Q @ K.transpose(0, 2, 1) / np.sqrt(key_dim)
        if mask is not None:
            s = np.where(mask, s, -1e9)
        w = softmax(s)
        scores.append(w)
        outs.append(w @ V)
    heads = np.stack(outs, axis=2)               # (B, T, N, Hv)
    out = np.einsum("btnh,nho->bto", heads, wo.reshape(wo.shape[0], wo.shape[1], -1))
    out = out.reshape(out.shape[:2] + wo.shape[2:]) + bo
    return out, np.stack(scores, axis=1)


# -- Attention / AdditiveAttention against Keras ----------------------------------------------

ATTENTION_CASES = ["dot", "dot_scale_causal", "concat_scale", "concat", "additive",
                   "additive_noscale_causal"]


def _make_attention(name, dtype="float32"):
    meta = META[name]
    cls = getattr(keras.layers, meta["cls"])
    layer = cls(dtype=dtype, **meta["kw"])
    inputs = [FIX["q"], FIX["v"], FIX["k"]] if meta["key"] else [FIX["q"], FIX["v"]]
    layer.build([x.shape for x in inputs])
    weights = [FIX[f"{name}/w{i}"] for i in range(4) if f"{name}/w{i}" in FIX]
    if weights:
        layer.set_weights(weights)
    return layer, inputs, meta


@pytest.mark.parametrize("name", ATTENTION_CASES)
@pytest.mark.parametrize("masked", [False, True])
def test_attention_matches_keras(name, masked):
    layer, inputs, meta = _make_attention(name)
    mask = [FIX["q_mask"], FIX["v_mask"]] if masked else None
    out, scores = layer(inputs, mask=mask, return_attention_scores=True, **meta["call"])
    tag = f"{name}/{'masked' if masked else 'plain'}"
    assert_close(out, FIX[f"{tag}/out"], rtol=2e-5, atol=2e-6)
    assert_close(scores, FIX[f"{tag}/scores"], rtol=2e-5, atol=2e-6)
    assert out.dtype == np.float32
    # the output alone is the same array
    assert_close(layer(inputs, mask=mask, **meta["call"]), out, rtol=0, atol=0)


@pytest.mark.parametrize("name", ATTENTION_CASES)
def test_attention_config_matches_keras(name):
    layer, _, meta = _make_attention(name)
    keras_config = meta["config"]
    config = layer.get_config()
    assert set(config) == set(keras_config)
    for key in config:
        if key not in ("name", "dtype"):
            assert config[key] == keras_config[key], key
    clone = type(layer).from_config(config)
    assert clone.get_config() == config
    # Keras' own config loads
    restored = keras.saving.deserialize({"module": "keras.layers", "class_name": meta["cls"],
                                         "config": keras_config, "registered_name": None})
    assert type(restored) is type(layer)
    assert restored.get_config()["use_scale"] == keras_config["use_scale"]


@pytest.mark.parametrize("mode,use_scale,causal", [("dot", False, False), ("dot", True, True),
                                                   ("concat", True, False),
                                                   ("concat", False, True)])
def test_attention_matches_numpy(rng, mode, use_scale, causal):
    q, v, k = (rng.standard_normal(s) for s in [(2, 3, 4), (2, 5, 4), (2, 5, 4)])
    q_mask = rng.random((2, 3)) < 0.7
    v_mask = rng.random((2, 5)) < 0.7
    v_mask[:, 0] = True
    layer = keras.layers.Attention(use_scale=use_scale, score_mode=mode, dtype="float64")
    layer.build([q.shape, v.shape, k.shape])
    weights = [rng.uniform(0.5, 1.5) for _ in layer.weights]
    layer.set_weights([np.asarray(w) for w in weights])
    out, scores = layer([q, v, k], mask=[q_mask, v_mask], return_attention_scores=True,
                        use_causal_mask=causal)
    scale = weights[0] if use_scale else None
    concat_weight = weights[-1] if mode == "concat" else None
    ref_out, ref_scores = ref_attention(q, v, k, q_mask, v_mask, causal, mode, scale,
                                        concat_weight)
    assert_close(out, ref_out, rtol=1e-12, atol=1e-14)
    assert_close(scores, ref_scores, rtol=1e-12, atol=1e-14)
    assert np.all(out[~q_mask] == 0)
    if causal:
        assert np.all(np.triu(scores[0], 1) < 1e-200)


def test_additive_attention_matches_numpy(rng):
    q, v = rng.standard_normal((2, 3, 4)), rng.standard_normal((2, 6, 4))
    layer = keras.layers.AdditiveAttention(dtype="float64")
    out, scores = layer([q, v], return_attention_scores=True)
    ref_out, ref_scores = ref_attention(q, v, additive=True,
                                        additive_scale=layer.scale.numpy())
    assert_close(out, ref_out, rtol=1e-12, atol=1e-14)
    assert_close(scores, ref_scores, rtol=1e-12, atol=1e-14)
    assert [w.path for w in layer.weights] == [f"{layer.name}/scale"]


def _grad_check(layer, arrays, call, n_checked_weights=None, atol=1e-7):
    """Gradient of sum(call(...) * probe) w.r.t. the arrays and the weights, against central
    finite differences."""
    rng = np.random.default_rng(0)
    probe = None

    def loss_value():
        out = call(*arrays)
        return float(np.sum(np.asarray(out) * probe))

    probe = rng.standard_normal(np.shape(call(*arrays)))
    variables = [keras.Variable(a, dtype="float64") for a in arrays]
    with GradientTape() as tape:
        out = call(*variables)
        loss = ops.sum(ops.multiply(out, probe))
    weights = list(layer.trainable_weights)[:n_checked_weights]
    grads = tape.gradient(loss, variables + weights)
    for array, grad in zip(arrays, grads[:len(arrays)]):
        assert_close(grad, numeric_gradient(loss_value, array), atol=atol, rtol=1e-6)
    for weight, grad in zip(weights, grads[len(arrays):]):
        value = weight.numpy()

        def weight_loss():
            weight.assign(value)
            return loss_value()

        numeric = numeric_gradient(weight_loss, value)
        weight.assign(value)
        assert_close(grad, numeric, atol=atol, rtol=1e-6)


@pytest.mark.parametrize("kind", ["dot_scale", "concat_scale", "additive"])
def test_attention_gradients_match_finite_differences(rng, kind):
    q, v, k = (rng.standard_normal(s) for s in [(2, 3, 4), (2, 4, 4), (2, 4, 4)])
    q_mask = np.array([[1, 1, 0], [1, 1, 1]], bool)
    v_mask = np.array([[1, 1, 1, 0], [1, 0, 1, 1]], bool)
    if kind == "additive":
        layer = keras.layers.AdditiveAttention(dtype="float64")
    else:
        layer = keras.layers.Attention(use_scale=True, score_mode=kind[:-6], dtype="float64")
    layer.build([q.shape, v.shape, k.shape])
    layer.set_weights([w * 0.9 for w in layer.get_weights()])

    def call(q_, v_, k_):
        return layer([q_, v_, k_], mask=[q_mask, v_mask], use_causal_mask=kind == "dot_scale")

    _grad_check(layer, [q, v, k], call)


# -- masks, dropout, symbolic use ------------------------------------------------------------

def test_attention_mask_propagation_and_carried_masks():
    ids = np.array([[1, 2, 0], [3, 0, 0]])
    emb = keras.layers.Embedding(5, 4, mask_zero=True)
    x = emb(ids)
    layer = keras.layers.Attention()
    out = layer([x, x])
    explicit = layer([x, x], mask=[ids != 0, ids != 0])
    assert_close(out, explicit, rtol=0, atol=0)
    assert np.all(out[ids == 0] == 0)
    np.testing.assert_array_equal(keras.masking.get_keras_mask(out), ids != 0)
    assert layer.compute_mask([x, x], None) is None
    np.testing.assert_array_equal(layer.compute_mask([x, x], [ids != 0, None]), ids != 0)


def test_attention_dropout_only_in_training():
    q = np.random.default_rng(1).standard_normal((2, 3, 4)).astype("float32")
    layer = keras.layers.Attention(dropout=0.5, seed=2)
    eval_out, eval_w = layer([q, q], return_attention_scores=True)
    ref_out, _ = ref_attention(q.astype(np.float64), q.astype(np.float64))
    assert_close(eval_out, ref_out, rtol=1e-5, atol=1e-6)
    train_out, train_w = layer([q, q], training=True, return_attention_scores=True)
    assert not np.allclose(train_out, eval_out)
    assert_close(train_w, eval_w, rtol=0, atol=0)   # the scores returned are before dropout


def test_attention_in_functional_model():
    qi, vi = keras.Input((3, 4)), keras.Input((5, 4))
    out, scores = keras.layers.Attention(name="att")([qi, vi], return_attention_scores=True)
    assert out.shape == (None, 3, 4) and scores.shape == (None, 3, 5)
    model = keras.Model([qi, vi], [out, scores])
    q, v = np.ones((2, 3, 4), "float32"), np.ones((2, 5, 4), "float32")
    o, s = model([q, v])
    assert_close(s, np.full((2, 3, 5), 0.2, "float32"), rtol=1e-6)
    assert keras.layers.Attention().compute_output_shape([(None, 3, 4), (None, 5, 6)]) == \
        (None, 3, 6)


def test_attention_bad_arguments():
    with pytest.raises(ValueError, match="score_mode"):
        keras.layers.Attention(score_mode="general")
    with pytest.raises(ValueError, match="dropout"):
        keras.layers.Attention(dropout=1.5)
    with pytest.raises(TypeError, match="dropout"):
        keras.layers.Attention(dropout="0.1")
    with pytest.raises(TypeError, match="use_scale"):
        keras.layers.Attention(use_scale="yes")
    with pytest.raises(TypeError, match="seed"):
        keras.layers.Attention(seed=1.5)
    with pytest.raises(ValueError, match="score_mode"):
        keras.layers.AdditiveAttention(score_mode="concat")
    layer = keras.layers.Attention()
    x = np.ones((1, 2, 3))
    with pytest.raises(ValueError, match="list of inputs"):
        layer(x)
    with pytest.raises(ValueError, match="length 2 or 3"):
        layer([x])
    with pytest.raises(ValueError, match="mask must be a list"):
        layer([x, x], mask=np.ones((1, 2), bool))
    with pytest.raises(ValueError, match="mask list of length 2 or 3"):
        layer([x, x], mask=[None])
    with pytest.raises(TypeError, match="use_causal_mask"):
        layer([x, x], use_causal_mask="no")


# -- MultiHeadAttention ----------------------------------------------------------------------

MHA_CASES = ["mha_basic", "mha_value_dim_key", "mha_nobias_out_causal"]


def _make_mha(name, dtype="float32"):
    meta = META[name]
    layer = keras.layers.MultiHeadAttention(dtype=dtype, **meta["kw"])
    value = FIX[f"{name}/value"]
    key = FIX[f"{name}/key"] if meta["key"] else None
    layer.build(FIX["q"].shape, value.shape, None if key is None else key.shape)
    n = len(layer.weights)
    layer.set_weights([FIX[f"{name}/w{i}"] for i in range(n)])
    return layer, value, key, meta


@pytest.mark.parametrize("name", MHA_CASES)
def test_mha_matches_keras(name):
    layer, value, key, meta = _make_mha(name)
    assert [w.path.split("/", 1)[1] for w in layer.weights] == \
        [p.split("/", 1)[1] for p in meta["weight_paths"]]
    q = FIX["q"]
    out, scores = layer(q, value, key, return_attention_scores=True, **meta["call"])
    assert_close(out, FIX[f"{name}/out"], rtol=2e-5, atol=2e-6)
    assert_close(scores, FIX[f"{name}/scores"], rtol=2e-5, atol=2e-6)
    if f"{name}/out_fused" in FIX:
        assert_close(layer(q, value, key, **meta["call"]), FIX[f"{name}/out_fused"],
                     rtol=2e-5, atol=2e-6)
    if f"{name}/masked_out" in FIX:
        out, scores = layer(q, value, key, value_mask=FIX["mha_v_mask"],
                            attention_mask=FIX["mha_attention_mask"],
                            return_attention_scores=True, **meta["call"])
        assert_close(out, FIX[f"{name}/masked_out"], rtol=2e-5, atol=2e-6)
        assert_close(scores, FIX[f"{name}/masked_scores"], rtol=2e-5, atol=2e-6)


@pytest.mark.parametrize("name", MHA_CASES + ["mha_axes"])
def test_mha_config_matches_keras(name):
    keras_config = json.loads(json.dumps(META[name]["config"]))
    # Keras 3.15's GlorotUniform config has `input_axes`/`output_axes` (for its own
    # EinsumDense fan computation), which rnnkit's initializers do not take.
    for key in ("input_axes", "output_axes"):
        keras_config["kernel_initializer"]["config"].pop(key, None)
    layer = keras.layers.MultiHeadAttention.from_config(
        {k: v for k, v in keras_config.items() if k not in ("name", "dtype")})
    config = layer.get_config()
    assert set(config) == set(keras_config)
    for key in ("num_heads", "key_dim", "value_dim", "dropout", "use_bias", "seed"):
        assert config[key] == keras_config[key], key
    assert (config["output_shape"] or None) == \
        (tuple(keras_config["output_shape"]) if keras_config["output_shape"] else None)
    assert keras.layers.MultiHeadAttention.from_config(config).get_config() == config


def test_mha_query_mask_from_masking_layers():
    qi, vi = keras.Input((4, 6)), keras.Input((5, 6))
    mha = keras.layers.MultiHeadAttention(num_heads=2, key_dim=3)
    y = mha(keras.layers.Masking()(qi), keras.layers.Masking()(vi))
    model = keras.Model([qi, vi], y)
    mha.set_weights([FIX[f"mha_qmask/w{i}"] for i in range(8)])
    out = model([FIX["mha_qmask/q"], FIX["mha_qmask/v"]])
    assert_close(out, FIX["mha_qmask/out"], rtol=2e-5, atol=2e-6)
    # eagerly, the masks carried by the inputs are used too
    q = keras.layers.Masking()(FIX["mha_qmask/q"])
    v = keras.layers.Masking()(FIX["mha_qmask/v"])
    eager = mha(q, v)
    assert_close(eager, FIX["mha_qmask/out"], rtol=2e-5, atol=2e-6)
    np.testing.assert_array_equal(keras.masking.get_keras_mask(eager),
                                  np.any(FIX["mha_qmask/q"] != 0, axis=-1))


def test_mha_attention_axes_rank4_matches_keras():
    x = FIX["mha_axes/x"]
    layer = keras.layers.MultiHeadAttention(num_heads=2, key_dim=2, attention_axes=(1, 2))
    layer.build(x.shape, x.shape)
    layer.set_weights([FIX[f"mha_axes/w{i}"] for i in range(8)])
    out, scores = layer(x, x, return_attention_scores=True)
    assert scores.shape == (2, 2, 3, 4, 3, 4)
    assert_close(out, FIX["mha_axes/out"], rtol=2e-5, atol=2e-6)
    assert_close(scores, FIX["mha_axes/scores"], rtol=2e-5, atol=2e-6)


@pytest.mark.parametrize("use_bias,output_shape,causal", [(True, None, False),
                                                          (False, 7, True)])
def test_mha_matches_numpy(rng, use_bias, output_shape, causal):
    q, v, k = (rng.standard_normal(s) for s in [(2, 4, 5), (2, 4, 3), (2, 4, 6)])
    layer = keras.layers.MultiHeadAttention(3, 2, value_dim=3, use_bias=use_bias,
                                            output_shape=output_shape, dtype="float64",
                                            bias_initializer="random_normal")
    attention_mask = rng.random((2, 4, 4)) < 0.7
    attention_mask[..., 0] = True
    out, scores = layer(q, v, k, attention_mask=attention_mask, use_causal_mask=causal,
                        return_attention_scores=True)
    mask = attention_mask & (np.tril(np.ones((4, 4), bool)) if causal else True)
    ref_out, ref_scores = ref_mha(q, v, k, layer.get_weights(), 3, 2, use_bias,
                                  mask[:, None] if False else mask)
    assert_close(out, ref_out, rtol=1e-11, atol=1e-13)
    assert_close(scores, ref_scores, rtol=1e-11, atol=1e-13)
    assert out.shape == (2, 4, output_shape or 5)


def test_mha_gradients_match_finite_differences(rng):
    q, v = rng.standard_normal((2, 3, 4)), rng.standard_normal((2, 4, 3))
    layer = keras.layers.MultiHeadAttention(2, 2, dtype="float64",
                                            bias_initializer="random_normal")
    layer.build(q.shape, v.shape)
    value_mask = np.array([[1, 1, 1, 0], [1, 0, 1, 1]], bool)

    def call(q_, v_):
        return layer(q_, v_, value_mask=value_mask)

    _grad_check(layer, [q, v], call)


def test_mha_dropout_training_and_symbolic():
    layer = keras.layers.MultiHeadAttention(2, 3, dropout=0.5, seed=1)
    q = np.random.default_rng(0).standard_normal((2, 4, 6)).astype("float32")
    a, b = layer(q, q), layer(q, q)
    assert_close(a, b, rtol=0, atol=0)
    assert not np.allclose(layer(q, q, training=True), a)
    qi = keras.Input((4, 6))
    model = keras.Model(qi, layer(qi, qi, use_causal_mask=True))
    assert model.output_shape == (None, 4, 6) if hasattr(model, "output_shape") else True
    assert_close(model(q), layer(q, q, use_causal_mask=True), rtol=0, atol=0)


def test_mha_bad_arguments():
    for kwargs, error, match in [
            (dict(num_heads=0, key_dim=2), ValueError, "num_heads"),
            (dict(num_heads=2, key_dim=2.5), ValueError, "key_dim"),
            (dict(num_heads=2, key_dim=2, value_dim=-1), ValueError, "value_dim"),
            (dict(num_heads=2, key_dim=2, dropout=2.0), ValueError, "dropout"),
            (dict(num_heads=2, key_dim=2, output_shape="x"), ValueError, "output_shape"),
            (dict(num_heads=2, key_dim=2, attention_axes="1"), ValueError, "attention_axes"),
            (dict(num_heads=2, key_dim=2, sliding_window=3), ValueError, "sliding_window"),
            (dict(num_heads=2, key_dim=2, flash_attention=True), ValueError, "flash_attention"),
            (dict(num_heads=2, key_dim=2, use_gate=True), ValueError, "use_gate"),
            (dict(num_heads=2, key_dim=2, use_bias="no"), TypeError, "use_bias")]:
        with pytest.raises(error, match=match):
            keras.layers.MultiHeadAttention(**kwargs)
    layer = keras.layers.MultiHeadAttention(2, 2)
    with pytest.raises(ValueError, match="except the last one"):
        layer(np.ones((1, 3, 4)), np.ones((1, 5, 4)), np.ones((1, 6, 4)))
    with pytest.raises(TypeError, match="`value`"):
        keras.layers.MultiHeadAttention(2, 2)(np.ones((1, 3, 4)))
    with pytest.raises(ValueError, match="attention_axes"):
        keras.layers.MultiHeadAttention(2, 2, attention_axes=3)(np.ones((1, 3, 4)),
                                                               np.ones((1, 3, 4)))


@pytest.mark.parametrize("name", ["grad_concat", "grad_additive", "grad_mha"])
def test_attention_gradients_match_keras(name):
    q, v, v_mask, probe = (FIX[f"{name}/{k}"] for k in ("q", "v", "v_mask", "probe"))
    if name == "grad_mha":
        layer = keras.layers.MultiHeadAttention(2, 3)
        layer.build(q.shape, v.shape)

        def call(q_, v_):
            return layer(q_, v_, attention_mask=np.broadcast_to(v_mask[:, None, :], (2, 3, 5)))
    else:
        layer = keras.layers.Attention(use_scale=True, score_mode="concat") \
            if name == "grad_concat" else keras.layers.AdditiveAttention()
        layer.build([q.shape, v.shape])

        def call(q_, v_):
            return layer([q_, v_], mask=[None, v_mask])

    weights = layer.trainable_weights
    layer.set_weights([FIX[f"{name}/w{i}"] for i in range(len(weights))])
    qv, vv = keras.Variable(q), keras.Variable(v)
    with GradientTape() as tape:
        loss = ops.sum(ops.multiply(call(qv, vv), probe))
    grads = tape.gradient(loss, [qv, vv] + list(weights))
    assert_close(grads[0], FIX[f"{name}/dq"], rtol=1e-4, atol=2e-5)
    assert_close(grads[1], FIX[f"{name}/dv"], rtol=1e-4, atol=2e-5)
    for i, grad in enumerate(grads[2:]):
        assert_close(grad, FIX[f"{name}/dw{i}"], rtol=1e-4, atol=2e-5)
