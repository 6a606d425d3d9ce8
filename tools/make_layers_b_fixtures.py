"""Makes the Keras 3 fixtures of tests/fixtures/layers_b/ (attention, text preprocessing and
ConvLSTM layers). Run by hand in a venv with Keras 3 (JAX backend); never run in CI:

    KERAS_BACKEND=jax python tools/make_layers_b_fixtures.py [attention|text|convlstm ...]

Each group writes `<group>.npz` (inputs, weights, Keras' outputs) and, for some, `<group>.json`
(Keras configs and string outputs). Inputs and weights are drawn from fixed seeds.
"""

from __future__ import annotations

import json
import os
import sys

import numpy as np

OUT = os.path.join(os.path.dirname(__file__), "..", "tests", "fixtures", "layers_b")


def _save(name, arrays, meta=None):
    os.makedirs(OUT, exist_ok=True)
    np.savez_compressed(os.path.join(OUT, f"{name}.npz"), **arrays)
    if meta is not None:
        with open(os.path.join(OUT, f"{name}.json"), "w") as f:
            json.dump(meta, f, indent=1, sort_keys=True, default=str)
    print(f"{name}: {len(arrays)} arrays")


def attention():
    import keras
    rng = np.random.default_rng(15)
    out, meta = {}, {}
    B, Tq, Tv, D = 3, 4, 5, 6
    q = rng.standard_normal((B, Tq, D)).astype("float32")
    v = rng.standard_normal((B, Tv, D)).astype("float32")
    k = rng.standard_normal((B, Tv, D)).astype("float32")
    q_mask = np.ones((B, Tq), bool)
    q_mask[1, 3:] = False
    v_mask = np.ones((B, Tv), bool)
    v_mask[0, 4:] = False
    v_mask[2, 2:] = False
    out.update(q=q, v=v, k=k, q_mask=q_mask, v_mask=v_mask)

    cases = {
        "dot": dict(cls="Attention", kw={}, call={}, key=False),
        "dot_scale_causal": dict(cls="Attention", kw=dict(use_scale=True),
                                 call=dict(use_causal_mask=True), key=True,
                                 weights=[np.float32(0.7)]),
        "concat_scale": dict(cls="Attention", kw=dict(use_scale=True, score_mode="concat"),
                             call={}, key=True, weights=[np.float32(0.5), np.float32(1.3)]),
        "concat": dict(cls="Attention", kw=dict(score_mode="concat"), call={}, key=False,
                       weights=[np.float32(0.8)]),
        "additive": dict(cls="AdditiveAttention", kw={}, call={}, key=True,
                         weights=[rng.standard_normal(D).astype("float32")]),
        "additive_noscale_causal": dict(cls="AdditiveAttention", kw=dict(use_scale=False),
                                        call=dict(use_causal_mask=True), key=False),
    }
    for name, case in cases.items():
        layer = getattr(keras.layers, case["cls"])(**case["kw"])
        inputs = [q, v, k] if case["key"] else [q, v]
        layer.build([x.shape for x in inputs])
        if "weights" in case:
            layer.set_weights([np.asarray(w) for w in case["weights"]])
            for i, w in enumerate(case["weights"]):
                out[f"{name}/w{i}"] = np.asarray(w)
        for masked in (False, True):
            mask = [q_mask, v_mask] if masked else None
            o, s = layer(inputs, mask=mask, return_attention_scores=True, **case["call"])
            tag = f"{name}/{'masked' if masked else 'plain'}"
            out[f"{tag}/out"] = np.asarray(o)
            out[f"{tag}/scores"] = np.asarray(s)
        meta[name] = dict(case, weights=None, config=layer.get_config())

    # MultiHeadAttention: Keras' own initial weights (seeded), copied to rnnkit in the test.
    keras.utils.set_random_seed(3)
    mha_cases = {
        "mha_basic": dict(kw=dict(num_heads=2, key_dim=3), key=False, call={}),
        "mha_value_dim_key": dict(kw=dict(num_heads=3, key_dim=2, value_dim=4,
                                          bias_initializer="random_normal"),
                                  key=True, call={}),
        "mha_nobias_out_causal": dict(kw=dict(num_heads=2, key_dim=4, use_bias=False,
                                              output_shape=(5,)),
                                      key=False, call=dict(use_causal_mask=True), same_len=True),
    }
    qs = rng.standard_normal((B, Tq, D)).astype("float32")
    attention_mask = rng.random((B, Tq, Tv)) < 0.8
    attention_mask[:, :, 0] = True
    out.update(mha_v_mask=v_mask, mha_attention_mask=attention_mask)
    for name, case in mha_cases.items():
        layer = keras.layers.MultiHeadAttention(**case["kw"])
        value = qs if case.get("same_len") else v
        key = k[:, :, :5] if case["key"] else None
        o, s = layer(q, value, key, return_attention_scores=True, **case["call"])
        out[f"{name}/out"], out[f"{name}/scores"] = np.asarray(o), np.asarray(s)
        # the fused dot_product_attention path (no scores returned)
        # (Keras 3.15 on JAX fails there when value_dim != key_dim.)
        if layer.value_dim == layer.key_dim:
            out[f"{name}/out_fused"] = np.asarray(layer(q, value, key, **case["call"]))
        if not case.get("same_len"):
            o, s = layer(q, value, key, value_mask=v_mask, attention_mask=attention_mask,
                         return_attention_scores=True, **case["call"])
            out[f"{name}/masked_out"], out[f"{name}/masked_scores"] = np.asarray(o), np.asarray(s)
        if case["key"]:
            out[f"{name}/key"] = key
        out[f"{name}/value"] = value
        for i, w in enumerate(layer.get_weights()):
            out[f"{name}/w{i}"] = w
        meta[name] = dict(case, config=layer.get_config(),
                          weight_paths=[w.path for w in layer.weights])
    # A query mask through a Masking layer in a functional model.
    keras.utils.set_random_seed(4)
    qz = q.copy()
    qz[0, 2:] = 0.0
    qi, vi = keras.Input((Tq, D)), keras.Input((Tv, D))
    mha = keras.layers.MultiHeadAttention(num_heads=2, key_dim=3)
    y = mha(keras.layers.Masking()(qi), keras.layers.Masking()(vi))
    model = keras.Model([qi, vi], y)
    vz = v.copy()
    vz[1, 3:] = 0.0
    out["mha_qmask/q"], out["mha_qmask/v"] = qz, vz
    out["mha_qmask/out"] = np.asarray(model([qz, vz]))
    for i, w in enumerate(mha.get_weights()):
        out[f"mha_qmask/w{i}"] = w
    # Rank 4 with two attention axes.
    x4 = rng.standard_normal((2, 3, 4, 5)).astype("float32")
    layer = keras.layers.MultiHeadAttention(num_heads=2, key_dim=2, attention_axes=(1, 2))
    o, s = layer(x4, x4, return_attention_scores=True)
    out["mha_axes/x"], out["mha_axes/out"], out["mha_axes/scores"] = x4, np.asarray(o), \
        np.asarray(s)
    for i, w in enumerate(layer.get_weights()):
        out[f"mha_axes/w{i}"] = w
    meta["mha_axes"] = dict(config=layer.get_config())
    _save("attention", out, meta)


GROUPS = {"attention": attention}

if __name__ == "__main__":
    for group in sys.argv[1:] or list(GROUPS):
        GROUPS[group]()
