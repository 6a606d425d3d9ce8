"""Makes the Keras 3 fixtures of tests/fixtures/layers_c/ (activation layers, CategoryEncoding,
EinsumDense, Conv1DTranspose, adaptive pooling, ReversibleEmbedding). Run by hand in a venv with Keras 3 (JAX
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


if __name__ == "__main__":
    main()
