"""Makes the Keras 3 fixtures of tests/fixtures/layers_b/ (attention, text preprocessing and
ConvLSTM layers). Run by hand in a venv with Keras 3 (JAX backend); never run in CI:

    KERAS_BACKEND=jax python tools/make_layers_b_fixtures.py [attention|convlstm ...]
    KERAS_BACKEND=tensorflow python tools/make_layers_b_fixtures.py text numeric

Keras 3's preprocessing layers (TextVectorization, the lookups, Hashing, Normalization.adapt) need
TensorFlow installed: `text` and `numeric` run in a venv with `keras==3.15.1 tensorflow-cpu`.

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
    _attention_gradients(out, rng)
    _save("attention", out, meta)


def _attention_gradients(out, rng):
    """Keras' gradients (JAX autodiff through stateless_call) of sum(output * probe) with
    respect to the inputs and the weights."""
    import jax
    import keras
    q = rng.standard_normal((2, 3, 4)).astype("float32")
    v = rng.standard_normal((2, 5, 4)).astype("float32")
    v_mask = np.array([[1, 1, 1, 1, 0], [1, 0, 1, 1, 1]], bool)
    layers = {
        "grad_concat": (keras.layers.Attention(use_scale=True, score_mode="concat"),
                        lambda layer, w, q_, v_: layer.stateless_call(
                            w, [], [q_, v_], mask=[None, v_mask])[0]),
        "grad_additive": (keras.layers.AdditiveAttention(),
                          lambda layer, w, q_, v_: layer.stateless_call(
                              w, [], [q_, v_], mask=[None, v_mask])[0]),
        "grad_mha": (keras.layers.MultiHeadAttention(2, 3, bias_initializer="random_normal"),
                     lambda layer, w, q_, v_: layer.stateless_call(
                         w, [], q_, v_, attention_mask=np.broadcast_to(
                             v_mask[:, None, :], (2, 3, 5)), return_attention_scores=True)[0][0]),
    }
    probe = rng.standard_normal((2, 3, 4)).astype("float32")
    for name, (layer, fn) in layers.items():
        if isinstance(layer, keras.layers.MultiHeadAttention):
            layer.build(q.shape, v.shape)
        else:
            layer.build([q.shape, v.shape])
        weights = [np.asarray(w) for w in layer.trainable_weights]
        if name == "grad_concat":
            weights = [np.float32(0.7), np.float32(1.2)]

        def loss(w, q_, v_, layer=layer, fn=fn):
            return (fn(layer, w, q_, v_) * probe).sum()

        grads = jax.grad(loss, argnums=(0, 1, 2))(weights, q, v)
        out[f"{name}/q"], out[f"{name}/v"], out[f"{name}/v_mask"] = q, v, v_mask
        out[f"{name}/probe"] = probe
        for i, w in enumerate(weights):
            out[f"{name}/w{i}"] = np.asarray(w)
            out[f"{name}/dw{i}"] = np.asarray(grads[0][i])
        out[f"{name}/dq"], out[f"{name}/dv"] = np.asarray(grads[1]), np.asarray(grads[2])


CORPUS = [
    "The quick brown fox jumps over the lazy dog.",
    "the DOG barks; the fox runs!  Fast, faster, fastest...",
    "Crème brûlée ÜBER alles -- e-mail: x@y.z (tabs\tand\nnewlines)",
    "a b c a b a",
    "It's   a dog's   life",
    "",
]
QUERIES = ["the fox and THE dog", "unknown words only", "a a a b", "crème BRÛLÉE!", "",
           "dog's e-mail  x@y.z"]


def _tolist(x):
    x = np.asarray(x)
    if x.dtype.kind in "SO":
        return [[v.decode() if isinstance(v, bytes) else v for v in row] if np.ndim(row)
                else (row.decode() if isinstance(row, bytes) else row) for row in x.tolist()]
    return x.tolist()


def text():
    import keras
    assert keras.backend.backend() == "tensorflow", "run the text group with the TF backend"
    meta = {"corpus": CORPUS, "queries": QUERIES, "tv": {}, "string_lookup": {},
            "integer_lookup": {}, "hashing": {}}
    tv_cases = {
        "default": dict(),
        "seq6": dict(output_sequence_length=6),
        "max8_bigram_multi_hot": dict(max_tokens=8, ngrams=2, output_mode="multi_hot"),
        "count_pad": dict(max_tokens=20, output_mode="count", pad_to_max_tokens=True),
        "tf_idf_13": dict(ngrams=(1, 3), output_mode="tf_idf"),
        "char_lower": dict(split="character", standardize="lower", output_sequence_length=12),
        "strip_only": dict(standardize="strip_punctuation", output_sequence_length=5),
        "no_standardize": dict(standardize=None, max_tokens=10),
        "vocab_given": dict(vocabulary=["dog", "fox", "the", "a"], output_sequence_length=4),
        "tf_idf_given": dict(vocabulary=["dog", "fox", "the"], idf_weights=[0.5, 0.25, 0.125],
                             output_mode="tf_idf"),
    }
    for name, kw in tv_cases.items():
        layer = keras.layers.TextVectorization(**kw)
        if "vocabulary" not in kw:
            layer.adapt(CORPUS)
        meta["tv"][name] = dict(kw=kw, vocab=layer.get_vocabulary(),
                                out=_tolist(layer(np.array(QUERIES))),
                                config=layer.get_config())
    sl_data = np.array([["a", "b", "c", "a"], ["b", "a", "d", "e"], ["e", "a", "[MASK]", "z"]])
    sl_query = np.array([["a", "z", "q"], ["[MASK]", "e", "zz"], ["b", "yy", "x"]])
    sl_cases = {
        "adapt": dict(),
        "oov3_mask": dict(num_oov_indices=3, mask_token="[MASK]"),
        "oov3_salt": dict(num_oov_indices=3, salt=[7, 11]),
        "multi_hot": dict(output_mode="multi_hot", mask_token="[MASK]"),
        "one_hot": dict(output_mode="one_hot"),
        "count_max": dict(output_mode="count", max_tokens=4),
        "tf_idf": dict(output_mode="tf_idf"),
        "tf_idf_pad": dict(output_mode="tf_idf", max_tokens=10, pad_to_max_tokens=True),
        "vocab_special": dict(vocabulary=["", "[UNK]", "x", "q"], mask_token=""),
    }
    for name, kw in sl_cases.items():
        layer = keras.layers.StringLookup(**kw)
        if "vocabulary" not in kw:
            layer.adapt(sl_data)
        query = sl_query[:, :1] if kw.get("output_mode") == "one_hot" else sl_query
        entry = dict(kw=kw, vocab=layer.get_vocabulary(), out=_tolist(layer(query)),
                     config=layer.get_config(), vocabulary_size=layer.vocabulary_size())
        if kw.get("output_mode", "int") == "int":
            inverse = keras.layers.StringLookup(vocabulary=layer.get_vocabulary(), invert=True,
                                                **{k: v for k, v in kw.items()
                                                   if k in ("mask_token", "num_oov_indices")})
            entry["inverse"] = _tolist(inverse(np.array([[0, 1, 2, 3, 4, 5, 9]])))
        meta["string_lookup"][name] = entry
    il_data = np.array([[12, 36, 1138, 42], [42, 12, 12, 0], [7, 7, 7, 12]])
    il_query = np.array([[12, 1000, -5], [0, 42, 99999], [7, 13, 36]])
    il_cases = {
        "adapt": dict(),
        "mask0_oov2": dict(mask_token=0, num_oov_indices=2),
        "farmhash_salt": dict(num_oov_indices=3, oov_method="farmhash", salt=5),
        "farmhash": dict(num_oov_indices=4, oov_method="farmhash"),
        "multi_hot": dict(output_mode="multi_hot"),
        "vocab": dict(vocabulary=[12, 36, 1138, 42]),
    }
    for name, kw in il_cases.items():
        layer = keras.layers.IntegerLookup(**kw)
        if "vocabulary" not in kw:
            layer.adapt(il_data)
        meta["integer_lookup"][name] = dict(
            kw=kw, vocab=_tolist(layer.get_vocabulary()), out=_tolist(layer(il_query)),
            config=layer.get_config())
    inverse = keras.layers.IntegerLookup(vocabulary=[12, 36, 1138, 42], invert=True)
    meta["integer_lookup"]["inverse"] = _tolist(inverse(np.array([[0, 1, 2, 3, 4, 5]])))
    strings = np.array([["A"], ["B"], ["C"], ["D"], ["E"], ["hello world"], [""],
                        ["a much longer string with more than sixty-four bytes in it, 0123456789"
                         " abcdefghijklmnopqrstuvwxyz"]])
    ints = np.array([[1, 2, -3], [40000000000, 0, 7]])
    h_cases = {
        "str3": (dict(num_bins=3), "s"),
        "str_big": (dict(num_bins=1000003), "s"),
        "str_mask": (dict(num_bins=5, mask_value="A"), "s"),
        "str_salt": (dict(num_bins=7, salt=[133, 137]), "s"),
        "str_salt1": (dict(num_bins=7, salt=133), "s"),
        "int": (dict(num_bins=11), "i"),
        "int_mask": (dict(num_bins=11, mask_value=0), "i"),
        "floats": (dict(num_bins=11), "f"),
        "one_hot": (dict(num_bins=4, output_mode="one_hot"), "s"),
        "multi_hot": (dict(num_bins=6, output_mode="multi_hot"), "i"),
        "count": (dict(num_bins=6, output_mode="count"), "i"),
    }
    for name, (kw, kind) in h_cases.items():
        layer = keras.layers.Hashing(**kw)
        x = {"s": strings, "i": ints, "f": ints.astype("float32") + 0.7}[kind]
        meta["hashing"][name] = dict(kw=kw, kind=kind, out=_tolist(layer(x)),
                                     config=layer.get_config())
    meta["hashing_inputs"] = dict(s=_tolist(strings), i=ints.tolist())
    meta["sl_data"], meta["sl_query"] = sl_data.tolist(), sl_query.tolist()
    meta["il_data"], meta["il_query"] = il_data.tolist(), il_query.tolist()
    _save("text", {"placeholder": np.zeros(1)}, meta)
    os.remove(os.path.join(OUT, "text.npz"))


def numeric():
    """Normalization and Discretization (pure NumPy in Keras; any backend)."""
    import keras
    rng = np.random.default_rng(16)
    out, meta = {}, {}
    x3 = (rng.standard_normal((6, 4, 3)) * [1.0, 5.0, 0.1] + [0.0, 3.0, -2.0]).astype("float32")
    out["x3"] = x3
    for name, kw in {"last": dict(axis=-1), "none": dict(axis=None),
                     "axes12": dict(axis=(1, 2)), "axis1": dict(axis=1)}.items():
        layer = keras.layers.Normalization(**kw)
        layer.adapt(x3)
        out[f"norm_{name}/out"] = np.asarray(layer(x3))
        out[f"norm_{name}/weights"] = np.concatenate([np.ravel(w) for w in layer.get_weights()])
        meta[f"norm_{name}"] = dict(kw=kw, config=layer.get_config())
    layer = keras.layers.Normalization()
    layer.adapt([x3[:2], x3[2:5], x3[5:]])
    out["norm_batches/out"] = np.asarray(layer(x3))
    layer = keras.layers.Normalization(mean=[1.0, 2.0, 3.0], variance=[4.0, 0.0, 0.25],
                                       invert=True)
    out["norm_invert/out"] = np.asarray(layer(x3))
    meta["norm_invert"] = dict(config=layer.get_config())
    values = rng.standard_normal(1000).astype("float32") * 3
    out["disc_values"] = values
    for name, kw in {"q4": dict(num_bins=4), "q7_eps": dict(num_bins=7, epsilon=0.05),
                     "q4_one_hot": dict(num_bins=4, output_mode="one_hot")}.items():
        layer = keras.layers.Discretization(**kw)
        layer.adapt(values)
        out[f"disc_{name}/boundaries"] = np.asarray(layer.bin_boundaries)
        out[f"disc_{name}/out"] = np.asarray(layer(values[:20, None]))
        meta[f"disc_{name}"] = dict(kw=kw, config=layer.get_config())
    layer = keras.layers.Discretization(num_bins=5)
    layer.adapt([values[:300], values[300:450], values[450:]])
    out["disc_batches/boundaries"] = np.asarray(layer.bin_boundaries)
    layer = keras.layers.Discretization(bin_boundaries=[-1.0, 0.0, 2.5], output_mode="count")
    out["disc_count/out"] = np.asarray(layer(values[:12].reshape(3, 4)))
    _save("numeric", out, meta)


def convlstm():
    import keras
    rng = np.random.default_rng(17)
    out, meta = {}, {}
    cases = {
        "c2d_same_seq": (keras.layers.ConvLSTM2D, dict(filters=3, kernel_size=(3, 3),
                                                       padding="same", return_sequences=True),
                         (2, 4, 5, 5, 2), {}),
        "c2d_strides_state_back": (keras.layers.ConvLSTM2D,
                                   dict(filters=2, kernel_size=(2, 3), strides=(2, 1),
                                        return_state=True, go_backwards=True),
                                   (2, 3, 5, 6, 2), {}),
        "c2d_channels_first": (keras.layers.ConvLSTM2D,
                               dict(filters=2, kernel_size=2, data_format="channels_first",
                                    activation="relu", unit_forget_bias=False),
                               (2, 3, 2, 4, 4), {}),
        "c1d_dilation_state": (keras.layers.ConvLSTM1D,
                               dict(filters=3, kernel_size=3, dilation_rate=2, padding="same",
                                    return_state=True, return_sequences=True),
                               (3, 4, 7, 2), {}),
        "c1d_valid": (keras.layers.ConvLSTM1D, dict(filters=2, kernel_size=2,
                                                    return_sequences=True),
                      (3, 5, 6, 1), {}),
    }
    # (A `mask` is left out: Keras 3.15's ConvLSTM fails to broadcast it on JAX.)
    for name, (cls, kw, shape, extra) in cases.items():
        keras.utils.set_random_seed(len(name))
        layer = cls(**kw, bias_initializer="random_normal")
        x = rng.standard_normal(shape).astype("float32")
        call = {}
        if extra.get("mask"):
            mask = np.ones(shape[:2], bool)
            mask[0, 3:] = False
            mask[2, 1] = False
            call["mask"] = mask
            out[f"{name}/mask"] = mask
        result = layer(x, **call)
        results = result if isinstance(result, (list, tuple)) else [result]
        out[f"{name}/x"] = x
        for i, r in enumerate(results):
            out[f"{name}/out{i}"] = np.asarray(r)
        for i, w in enumerate(layer.get_weights()):
            out[f"{name}/w{i}"] = w
        meta[name] = dict(cls=cls.__name__, kw=kw, config=layer.get_config(),
                          weight_paths=[w.path for w in layer.weights], n_out=len(results))
    _save("convlstm", out, meta)


GROUPS = {"attention": attention, "text": text, "numeric": numeric, "convlstm": convlstm}

if __name__ == "__main__":
    for group in sys.argv[1:] or list(GROUPS):
        GROUPS[group]()
