"""Makes the Keras 3 fixtures of tests/fixtures/layers_c/ (activation layers, CategoryEncoding,
EinsumDense, Conv1DTranspose, adaptive pooling, ReversibleEmbedding, GroupQueryAttention). Run by hand in a venv with Keras 3 (JAX
backend); never run in CI:

    KERAS_BACKEND=jax python tools/make_layers_c_fixtures.py

Writes `cases.npz` (per case `<name>/x`, optional `<name>/mask`, `<name>/w0..`, `<name>/y`) and
`cases.json` (per case the Keras class name, config and call keywords). Inputs and weights are drawn from a
fixed seed; weights are set on the Keras layer and stored so the tests can set the same ones.
"""

from __future__ import annotations

import json
import os

import numpy as np

OUT = os.path.join(os.path.dirname(__file__), "..", "tests", "fixtures", "layers_c")


def main():
    import keras
    L = keras.layers
    rng = np.random.default_rng(2026)
    x3 = rng.standard_normal((2, 5, 3)).astype("float32") * 2
    ids = np.array([[0, 3, 3, 1], [2, 2, 2, 4]], dtype="int32")
    mask = np.array([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]], dtype=bool)
    cases = {
        "relu_all": (L.ReLU(max_value=2.5, negative_slope=0.1, threshold=0.5), x3, None),
        "relu_max6": (L.ReLU(max_value=6.0), x3 * 4, None),
        "relu_slope": (L.ReLU(negative_slope=0.2), x3, None),
        "leaky_relu": (L.LeakyReLU(negative_slope=0.25), x3, None),
        "leaky_relu_default": (L.LeakyReLU(), x3, None),
        "elu": (L.ELU(alpha=0.7), x3, None),
        "prelu_shared": (L.PReLU(shared_axes=[1]), x3, None),
        "prelu_full": (L.PReLU(), x3, None),
        "softmax": (L.Softmax(), x3, None),
        "softmax_axis1": (L.Softmax(axis=1), x3, None),
        "softmax_axes": (L.Softmax(axis=(1, 2)), x3, None),
        "softmax_mask": (L.Softmax(axis=1), x3[:, :, 0], mask),
        "catenc_one_hot": (L.CategoryEncoding(5, output_mode="one_hot"), ids, None),
        "catenc_one_hot_col": (L.CategoryEncoding(5, output_mode="one_hot"), ids[:, :1], None),
        "catenc_multi_hot": (L.CategoryEncoding(6, output_mode="multi_hot"), ids, None),
        "catenc_count": (L.CategoryEncoding(5, output_mode="count"), ids, None),
        "einsum_dense": (L.EinsumDense("ab,bc->ac", output_shape=4, bias_axes="c",
                                       activation="tanh"), x3[:, 0], None),
        "einsum_seq": (L.EinsumDense("abc,cde->abde", output_shape=(None, 2, 4),
                                     bias_axes="de"), x3, None),
        "einsum_ellipsis": (L.EinsumDense("...b,bc->...c", output_shape=2, bias_axes="c"),
                            x3, None),
        "einsum_right": (L.EinsumDense("ab...,bc->ac...", output_shape=4, bias_axes="c"),
                         x3.transpose(0, 2, 1), None),
        "einsum_partial_bias": (L.EinsumDense("abc,cd->abd", output_shape=(5, 2),
                                              bias_axes="b"), x3, None),
        "convt_valid": (L.Conv1DTranspose(2, 3), x3, None),
        "convt_valid_s2": (L.Conv1DTranspose(2, 3, strides=2), x3, None),
        "convt_same_s2": (L.Conv1DTranspose(2, 3, strides=2, padding="same"), x3, None),
        "convt_same_s3_k2": (L.Conv1DTranspose(4, 2, strides=3, padding="same"), x3, None),
        "convt_outpad": (L.Conv1DTranspose(2, 4, strides=3, output_padding=2), x3, None),
        "convt_same_outpad": (L.Conv1DTranspose(2, 3, strides=2, padding="same",
                                                output_padding=1), x3, None),
        "convt_dilated": (L.Conv1DTranspose(2, 3, dilation_rate=2, padding="same"), x3, None),
        "convt_cf": (L.Conv1DTranspose(2, 3, strides=2, data_format="channels_first",
                                       activation="relu"), x3.transpose(0, 2, 1), None),
        "adaptive_avg_3": (L.AdaptiveAveragePooling1D(3), x3, None),
        "adaptive_avg_7": (L.AdaptiveAveragePooling1D(7), x3, None),
        "adaptive_max_2": (L.AdaptiveMaxPooling1D(2), x3, None),
        "adaptive_max_cf": (L.AdaptiveMaxPooling1D(2, data_format="channels_first"),
                            x3.transpose(0, 2, 1), None),
        "revemb_forward": (L.ReversibleEmbedding(6, 3, mask_zero=True), ids, None),
        "revemb_tied": (L.ReversibleEmbedding(6, 3), x3, None, {"reverse": True}),
        "revemb_untied_cap": (L.ReversibleEmbedding(6, 3, tie_weights=False,
                                                    logit_soft_cap=1.5), x3, None,
                              {"reverse": True}),
    }
    arrays, meta = {}, {}
    for name, (layer, x, m, *call) in cases.items():
        call = call[0] if call else {}
        layer.build(x.shape)
        weights = []
        for w in layer.get_weights():
            weights.append((rng.standard_normal(w.shape) * 0.5).astype("float32"))
        layer.set_weights(weights)
        y = layer(x, mask=m, **call) if m is not None else layer(x, **call)
        arrays[f"{name}/x"] = x
        if m is not None:
            arrays[f"{name}/mask"] = m
        for i, w in enumerate(weights):
            arrays[f"{name}/w{i}"] = w
        arrays[f"{name}/y"] = np.asarray(y)
        meta[name] = {"class_name": type(layer).__name__, "config": layer.get_config(),
                      "call": call}
    os.makedirs(OUT, exist_ok=True)
    np.savez_compressed(os.path.join(OUT, "cases.npz"), **arrays)
    with open(os.path.join(OUT, "cases.json"), "w") as f:
        json.dump(meta, f, indent=1, sort_keys=True, default=str)
    print(f"{len(cases)} cases, keras {keras.__version__}")


def gqa():
    """GroupQueryAttention: `gqa.npz` (q, v, k, masks; per case w0.., y, scores) and
    `gqa.json` (per case the config and call keywords)."""
    import keras
    rng = np.random.default_rng(7)
    B, T, S, D = 2, 4, 5, 6
    q = rng.standard_normal((B, T, D)).astype("float32")
    v = rng.standard_normal((B, S, D)).astype("float32")
    k = rng.standard_normal((B, S, 3)).astype("float32")
    q_mask = np.array([[1, 1, 1, 0], [1, 1, 1, 1]], bool)
    v_mask = np.array([[1, 1, 1, 1, 0], [1, 1, 0, 0, 0]], bool)
    arrays = dict(q=q, v=v, k=k, q_mask=q_mask, v_mask=v_mask)
    cases = {
        "plain": (dict(head_dim=3, num_query_heads=4, num_key_value_heads=2), {}, False),
        "mqa_key_masks": (dict(head_dim=2, num_query_heads=3, num_key_value_heads=1),
                          dict(query_mask=q_mask, value_mask=v_mask), True),
        "causal_gate_nobias": (dict(head_dim=3, num_query_heads=4, num_key_value_heads=4,
                                    use_gate=True, use_bias=False),
                               dict(use_causal_mask=True), False),
        "window_masks_fused": (dict(head_dim=3, num_query_heads=2, num_key_value_heads=1,
                                    sliding_window=2),
                               dict(query_mask=q_mask, value_mask=v_mask), False),
    }
    meta = {}
    for name, (kw, call, with_key) in cases.items():
        layer = keras.layers.GroupQueryAttention(**kw)
        args = (q, v, k) if with_key else (q, v)
        layer(*args)
        weights = [(rng.standard_normal(w.shape) * 0.5).astype("float32")
                   for w in layer.get_weights()]
        layer.set_weights(weights)
        y = layer(*args, **call)
        y2, scores = layer(*args, return_attention_scores=True, **call)
        for i, w in enumerate(weights):
            arrays[f"{name}/w{i}"] = w
        arrays[f"{name}/y"] = np.asarray(y)
        arrays[f"{name}/y_scores_path"] = np.asarray(y2)
        arrays[f"{name}/scores"] = np.asarray(scores)
        meta[name] = {"config": layer.get_config(), "with_key": with_key,
                      "call": sorted(call), "causal": bool(call.get("use_causal_mask"))}
    np.savez_compressed(os.path.join(OUT, "gqa.npz"), **arrays)
    with open(os.path.join(OUT, "gqa.json"), "w") as f:
        json.dump(meta, f, indent=1, sort_keys=True, default=str)
    print(f"gqa: {len(cases)} cases")


if __name__ == "__main__":
    main()
    gqa()
