"""The preprocessing layers (TextVectorization, StringLookup, IntegerLookup, Hashing,
Normalization, Discretization): against Keras 3 fixtures (tools/make_layers_b_fixtures.py,
made with TensorFlow installed), against NumPy/Python written from the definitions, configs,
adapt from iterables, errors."""

from __future__ import annotations

import json
import os
import re

import numpy as np
import pytest

import rnnkit as keras
from rnnkit import ops
from rnnkit.autodiff import GradientTape
from rnnkit.layers.preprocessing import _hash
from helpers import assert_close
import paths

L = keras.layers
HERE = str(paths.FIXTURES / "layers_b")
with open(os.path.join(HERE, "text.json")) as _f:
    TEXT = json.load(_f)
with open(os.path.join(HERE, "numeric.json")) as _f:
    NUMERIC_META = json.load(_f)
NUMERIC = np.load(os.path.join(HERE, "numeric.npz"))


def _same_config_keys(keras_config, config, ignore=()):
    assert set(keras_config) - set(ignore) == set(config) - set(ignore)


# -- TextVectorization -----------------------------------------------------------------------

@pytest.mark.parametrize("name", sorted(TEXT["tv"]))
def test_text_vectorization_matches_keras(name):
    case = TEXT["tv"][name]
    layer = L.TextVectorization(**case["kw"])
    if "vocabulary" not in case["kw"]:
        layer.adapt(TEXT["corpus"])
    assert layer.get_vocabulary() == case["vocab"]
    out = layer(np.array(TEXT["queries"]))
    expected = np.asarray(case["out"])
    if layer.output_mode == "int":
        assert out.dtype == np.int64
        np.testing.assert_array_equal(out, expected)
    else:
        assert out.dtype == np.float32
        assert_close(out, expected, rtol=1e-6, atol=1e-7)
    _same_config_keys(case["config"], layer.get_config())
    # the config carries the vocabulary: a layer made from it vectorizes the same way
    clone = L.TextVectorization.from_config(layer.get_config())
    assert clone.get_vocabulary() == case["vocab"]
    assert_close(np.asarray(clone(TEXT["queries"]), float), np.asarray(out, float),
                 rtol=1e-6, atol=1e-7)


def test_text_vectorization_pipeline_from_the_definitions():
    corpus = ["b a, b!", "C c c b", "a?"]
    layer = L.TextVectorization(output_mode="int")
    layer.adapt(corpus)
    # counts: c 3, b 3, a 2 -> ties broken by decreasing token
    assert layer.get_vocabulary() == ["", "[UNK]", "c", "b", "a"]
    np.testing.assert_array_equal(layer(["A b zz", "c"]), [[4, 3, 1], [2, 0, 0]])
    counts = L.TextVectorization(output_mode="count", vocabulary=["c", "b", "a"])
    assert_close(counts(["a a b x y"]), [[2, 0, 1, 2]])   # [UNK], c, b, a
    bigrams = L.TextVectorization(ngrams=2, vocabulary=["x y", "y", "x"])
    np.testing.assert_array_equal(bigrams(["x y z"]), [[4, 3, 1, 2, 1]])
    # TF-IDF: idf = log(1 + N / (1 + df)); OOV gets the mean idf
    tfidf = L.TextVectorization(output_mode="tf_idf")
    docs = ["a b", "a", "a c c"]
    tfidf.adapt(docs)
    vocab = tfidf.get_vocabulary()
    df = {t: sum(t in d.split() for d in docs) for t in vocab[1:]}
    idf = {t: np.log(1 + 3 / (1 + df[t])) for t in df}
    expected = np.zeros(len(vocab))
    for token in "c c q a".split():
        if token in idf:
            expected[vocab.index(token)] += idf[token]
        else:
            expected[0] += np.mean(list(idf.values()))
    assert_close(tfidf(["c c q a"])[0], expected, rtol=1e-6)


def test_text_vectorization_callables_shapes_and_iterables():
    def standardize(x):
        return np.char.upper(x)

    def split(x):
        return [s.split("-") for s in x]

    layer = L.TextVectorization(standardize=standardize, split=split,
                                vocabulary=["A", "B"], output_sequence_length=3)
    np.testing.assert_array_equal(layer(np.array([["a-b"], ["b-c-a-a"]])), [[2, 3, 0],
                                                                         [3, 1, 2]])
    assert layer.compute_output_shape((None,)) == (None, 3)
    np.testing.assert_array_equal(layer("a"), [[2, 0, 0]])

    def batches():
        yield np.array(["x y", "y"])
        yield ["y z"]

    gen = L.TextVectorization()
    gen.adapt(batches())
    assert gen.get_vocabulary() == ["", "[UNK]", "y", "z", "x"]
    steps = L.TextVectorization()
    steps.adapt(batches(), steps=1)
    assert steps.get_vocabulary() == ["", "[UNK]", "y", "x"]
    assert steps(np.array([], dtype=str)).shape == (0, 0)


def test_text_vectorization_in_a_model_pipeline():
    layer = L.TextVectorization(max_tokens=6, output_sequence_length=4)
    layer.adapt(["good movie", "bad movie", "good good plot"])
    assert layer.vocabulary_size() == 6
    ids = layer(["good plot", "terrible movie"])
    model = keras.Sequential([keras.Input((4,)), L.Embedding(6, 3, mask_zero=True),
                              L.LSTM(2)])
    assert model(ids).shape == (2, 2)


def test_text_vectorization_errors():
    for kwargs, match in [(dict(standardize="upper"), "standardize"),
                          (dict(split="comma"), "split"),
                          (dict(output_mode="ints"), "output_mode"),
                          (dict(ngrams=1.5), "ngrams"),
                          (dict(output_sequence_length=0), "output_sequence_length"),
                          (dict(output_mode="count", output_sequence_length=3),
                           "output_sequence_length"),
                          (dict(ragged=True), "ragged"), (dict(sparse=True), "sparse"),
                          (dict(encoding="latin-1"), "encoding"),
                          (dict(max_tokens=1), "max_tokens"),
                          (dict(output_mode="tf_idf", vocabulary=["a"]), "idf_weights")]:
        with pytest.raises(ValueError, match=match):
            L.TextVectorization(**kwargs)
    layer = L.TextVectorization(vocabulary=["a"])
    with pytest.raises(ValueError, match="static vocabulary"):
        layer.adapt(["a b"])
    with pytest.raises(ValueError, match="last shape dimension must be 1"):
        layer(np.array([["a", "b"]]))
    with pytest.raises(ValueError, match="expects strings"):
        layer(np.array([1.0, 2.0]))
    with pytest.raises(ValueError, match="repeated"):
        L.TextVectorization(vocabulary=["a", "a"])
    with pytest.raises(ValueError, match="larger than the maximum"):
        L.TextVectorization(max_tokens=3, vocabulary=["a", "b"])


# -- StringLookup / IntegerLookup ------------------------------------------------------------

@pytest.mark.parametrize("name", sorted(TEXT["string_lookup"]))
def test_string_lookup_matches_keras(name):
    case = TEXT["string_lookup"][name]
    layer = L.StringLookup(**case["kw"])
    if "vocabulary" not in case["kw"]:
        layer.adapt(np.array(TEXT["sl_data"]))
    query = np.array(TEXT["sl_query"])
    if case["kw"].get("output_mode") == "one_hot":
        query = query[:, :1]
    assert layer.get_vocabulary() == case["vocab"]
    assert layer.vocabulary_size() == case["vocabulary_size"]
    assert_close(np.asarray(layer(query), float), np.asarray(case["out"], float), rtol=1e-6)
    _same_config_keys(case["config"], layer.get_config())
    if "inverse" in case:
        kw = {k: v for k, v in case["kw"].items() if k in ("mask_token", "num_oov_indices")}
        inverse = L.StringLookup(vocabulary=layer.get_vocabulary(), invert=True, **kw)
        assert inverse(np.array([[0, 1, 2, 3, 4, 5, 9]])).tolist() == case["inverse"]
    clone = L.StringLookup.from_config(layer.get_config())
    assert_close(np.asarray(clone(query), float), np.asarray(case["out"], float), rtol=1e-6)


@pytest.mark.parametrize("name", sorted(k for k in TEXT["integer_lookup"] if k != "inverse"))
def test_integer_lookup_matches_keras(name):
    case = TEXT["integer_lookup"][name]
    layer = L.IntegerLookup(**case["kw"])
    if "vocabulary" not in case["kw"]:
        layer.adapt(np.array(TEXT["il_data"]))
    assert layer.get_vocabulary() == case["vocab"]
    out = layer(np.array(TEXT["il_query"]))
    assert_close(np.asarray(out, float), np.asarray(case["out"], float))
    _same_config_keys(case["config"], layer.get_config())


def test_integer_lookup_invert_and_floormod():
    inverse = L.IntegerLookup(vocabulary=[12, 36, 1138, 42], invert=True)
    assert inverse(np.array([[0, 1, 2, 3, 4, 5]])).tolist() == TEXT["integer_lookup"]["inverse"]
    layer = L.IntegerLookup(vocabulary=[5, 6], num_oov_indices=3)
    # unknown x -> x mod 3 (then the tokens start at 3)
    np.testing.assert_array_equal(layer(np.array([5, 6, 7, -1, 9])), [3, 4, 1, 2, 0])


def test_lookup_errors():
    for kwargs, error, match in [
            (dict(max_tokens=1), ValueError, "max_tokens"),
            (dict(pad_to_max_tokens=True), ValueError, "pad_to_max_tokens"),
            (dict(num_oov_indices=-1), ValueError, "num_oov_indices"),
            (dict(output_mode="one-hot"), ValueError, "output_mode"),
            (dict(invert=True, output_mode="count"), ValueError, "invert"),
            (dict(idf_weights=[1.0]), ValueError, "idf_weights"),
            (dict(sparse=True, output_mode="count"), ValueError, "sparse"),
            (dict(salt="x"), ValueError, "salt"),
            (dict(invert="yes"), TypeError, "invert")]:
        with pytest.raises(error, match=match):
            L.StringLookup(**kwargs)
    with pytest.raises(ValueError, match="salt"):
        L.IntegerLookup(salt=3)
    with pytest.raises(ValueError, match="oov_method"):
        L.IntegerLookup(oov_method="hash")
    with pytest.raises(ValueError, match="mask token"):
        L.StringLookup(mask_token="", vocabulary=["a", ""])
    layer = L.StringLookup(vocabulary=["a"], num_oov_indices=0)
    with pytest.raises(ValueError, match="num_oov_indices=0"):
        layer(np.array(["a", "b"]))
    with pytest.raises(ValueError, match="empty vocabulary"):
        L.StringLookup(vocabulary=[])


def test_lookup_vocabulary_file_and_set_vocabulary(tmp_path):
    path = tmp_path / "vocab.txt"
    path.write_text("fox\ndog\n\n", encoding="utf-8")
    layer = L.StringLookup(vocabulary=str(path))
    assert layer.get_vocabulary() == ["[UNK]", "fox", "dog"]
    layer.set_vocabulary(["[UNK]", "x"])
    assert layer.get_vocabulary(include_special_tokens=False) == ["x"]
    with pytest.raises(ValueError, match="does not exist"):
        layer.set_vocabulary(str(tmp_path / "missing.txt"))


# -- Hashing ---------------------------------------------------------------------------------

@pytest.mark.parametrize("name", sorted(TEXT["hashing"]))
def test_hashing_matches_keras(name):
    case = TEXT["hashing"][name]
    inputs = TEXT["hashing_inputs"]
    x = {"s": np.array(inputs["s"]), "i": np.array(inputs["i"]),
         "f": np.array(inputs["i"]).astype("float32") + 0.7}[case["kind"]]
    layer = L.Hashing(**case["kw"])
    out = layer(x)
    np.testing.assert_array_equal(out, np.asarray(case["out"]))
    assert str(out.dtype) == case["config"]["dtype"]["config"]["name"] \
        if isinstance(case["config"]["dtype"], dict) else True
    _same_config_keys(case["config"], layer.get_config())
    assert L.Hashing.from_config(layer.get_config()).get_config() == layer.get_config()


def test_fingerprint64_and_siphash_known_values():
    # FarmHash Fingerprint64 / SipHash-2-4 reference values (the SipHash paper's test key
    # 00..0f and message 00..0e give a129ca6149be45e5).
    assert _hash.fingerprint64(b"") == 0x9AE16A3B2F90404F
    key = (int.from_bytes(bytes(range(8)), "little"), int.from_bytes(bytes(range(8, 16)),
                                                                     "little"))
    assert _hash.siphash24(bytes(range(15)), key) == 0xA129CA6149BE45E5
    # every length branch (0-16, 17-32, 33-64, > 64) is covered by the Keras fixtures
    lengths = {len(s[0].encode()) for s in TEXT["hashing_inputs"]["s"]}
    assert min(lengths) == 0 and max(lengths) > 64


def test_hashing_errors():
    for kwargs, match in [(dict(num_bins=0), "num_bins"), (dict(num_bins=None), "num_bins"),
                          (dict(num_bins=3, output_mode="tf_idf"), "output_mode"),
                          (dict(num_bins=3, dtype="float32"), "dtype"),
                          (dict(num_bins=3, salt=[1, 2, 3]), "salt"),
                          (dict(num_bins=3, output_mode="count", sparse=True), "sparse")]:
        with pytest.raises(ValueError, match=match):
            L.Hashing(**kwargs)


# -- Normalization / Discretization ----------------------------------------------------------

@pytest.mark.parametrize("name", ["last", "none", "axes12", "axis1"])
def test_normalization_adapt_matches_keras(name):
    x = NUMERIC["x3"]
    layer = L.Normalization(**NUMERIC_META[f"norm_{name}"]["kw"])
    layer.adapt(x)
    assert_close(layer(x), NUMERIC[f"norm_{name}/out"], rtol=1e-5, atol=1e-5)
    weights = np.concatenate([np.ravel(w) for w in layer.get_weights()])
    assert_close(weights, NUMERIC[f"norm_{name}/weights"], rtol=1e-5, atol=1e-6)
    _same_config_keys(NUMERIC_META[f"norm_{name}"]["config"], layer.get_config())
    # from the definition
    keep = layer._keep_axis
    axes = tuple(a for a in range(3) if a not in keep)
    mean, var = x.astype(float).mean(axes, keepdims=True), x.astype(float).var(axes,
                                                                               keepdims=True)
    assert_close(layer(x), (x - mean) / np.maximum(np.sqrt(var), 1e-7), rtol=1e-5, atol=1e-5)


def test_normalization_batches_invert_and_gradient():
    x = NUMERIC["x3"]
    layer = L.Normalization()
    layer.adapt([x[:2], x[2:5], x[5:]])
    assert_close(layer(x), NUMERIC["norm_batches/out"], rtol=1e-5, atol=1e-5)
    inverse = L.Normalization(mean=[1.0, 2.0, 3.0], variance=[4.0, 0.0, 0.25], invert=True)
    assert_close(inverse(x), NUMERIC["norm_invert/out"], rtol=1e-6, atol=1e-6)
    # differentiable w.r.t. the input: d/dx = 1 / sqrt(var)
    layer64 = L.Normalization(mean=[0.0, 1.0, 2.0], variance=[4.0, 1.0, 0.25],
                              dtype="float64")
    v = keras.Variable(np.ones((2, 3)), dtype="float64")
    with GradientTape() as tape:
        loss = ops.sum(layer64(v))
    assert_close(tape.gradient(loss, v), np.tile([0.5, 1.0, 2.0], (2, 1)), rtol=1e-12)
    clone = L.Normalization.from_config(inverse.get_config())
    assert_close(clone(x), inverse(x), rtol=0, atol=0)


def test_normalization_errors():
    with pytest.raises(ValueError, match="both `mean` and `variance`"):
        L.Normalization(mean=1.0)
    with pytest.raises(ValueError, match="same shape"):
        L.Normalization(mean=[1.0, 2.0], variance=[1.0])
    with pytest.raises(ValueError, match="range"):
        L.Normalization(axis=3)(np.ones((2, 3)))
    layer = L.Normalization()
    layer.adapt(np.ones((4, 3)))
    with pytest.raises(ValueError, match="incompatible shape"):
        layer.adapt(np.ones((4, 2)))


@pytest.mark.parametrize("name", ["q4", "q7_eps", "q4_one_hot"])
def test_discretization_adapt_matches_keras(name):
    values = NUMERIC["disc_values"]
    layer = L.Discretization(**NUMERIC_META[f"disc_{name}"]["kw"])
    layer.adapt(values)
    assert_close(layer.bin_boundaries, NUMERIC[f"disc_{name}/boundaries"], rtol=1e-6)
    out = layer(values[:20, None])
    np.testing.assert_array_equal(out, NUMERIC[f"disc_{name}/out"])
    _same_config_keys(NUMERIC_META[f"disc_{name}"]["config"], layer.get_config(),
                      ignore=("trainable",))
    clone = L.Discretization.from_config(layer.get_config())
    np.testing.assert_array_equal(clone(values[:20, None]), out)


def test_discretization_batches_count_and_definition():
    values = NUMERIC["disc_values"]
    layer = L.Discretization(num_bins=5)
    layer.adapt([values[:300], values[300:450], values[450:]])
    assert_close(layer.bin_boundaries, NUMERIC["disc_batches/boundaries"], rtol=1e-6)
    counting = L.Discretization(bin_boundaries=[-1.0, 0.0, 2.5], output_mode="count")
    x = values[:12].reshape(3, 4)
    assert_close(counting(x), NUMERIC["disc_count/out"])
    bins = L.Discretization(bin_boundaries=[-1.0, 0.0, 2.5])(x)
    expected = np.array([[sum(v >= b for b in [-1.0, 0.0, 2.5]) for v in row] for row in x])
    np.testing.assert_array_equal(bins, expected)
    assert bins.dtype == np.int32
    # adapted quantiles of a large uniform sample are close to the true ones
    uniform = L.Discretization(num_bins=4)
    uniform.adapt(np.linspace(0, 1, 10001))
    assert_close(uniform.bin_boundaries, [0.25, 0.5, 0.75], atol=0.02)


def test_discretization_errors():
    for kwargs, match in [(dict(), "either"), (dict(num_bins=3, bin_boundaries=[0.0]), "Both"),
                          (dict(num_bins=-1), "num_bins"),
                          (dict(num_bins=3, output_mode="tf_idf"), "output_mode"),
                          (dict(num_bins=3, epsilon=0.0), "epsilon")]:
        with pytest.raises(ValueError, match=match):
            L.Discretization(**kwargs)
    with pytest.raises(ValueError, match="Cannot adapt"):
        L.Discretization(bin_boundaries=[0.0]).adapt(np.ones(3))
    with pytest.raises(ValueError, match="adapt"):
        L.Discretization(num_bins=3)(np.ones(3))


def test_punctuation_set_is_keras():
    layer = L.TextVectorization(standardize="strip_punctuation", split=None,
                                vocabulary=["x"])
    stripped = layer._standardized(np.array(["".join(chr(c) for c in range(32, 127))]))[0]
    assert stripped == "".join(ch for ch in map(chr, range(32, 127))
                               if not re.match(r"[!-/:-@\[-`{-~]", ch))


# -- docstrings of the attention, preprocessing and ConvLSTM modules -------------------------

SEQUENCE_MODULES = [
    "rnnkit.layers.attention.attention", "rnnkit.layers.attention.multi_head_attention",
    "rnnkit.layers.preprocessing.text_vectorization",
    "rnnkit.layers.preprocessing.index_lookup", "rnnkit.layers.preprocessing.hashing",
    "rnnkit.layers.preprocessing.normalization", "rnnkit.layers.preprocessing.discretization",
    "rnnkit.layers.rnn.conv_lstm"]


@pytest.mark.parametrize("module_name", SEQUENCE_MODULES)
def test_sequence_layer_docstrings_and_examples(module_name):
    import doctest
    import importlib
    import inspect
    module = importlib.import_module(module_name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0
    for name, obj in vars(module).items():
        if name.startswith("_") or not inspect.isclass(obj) or obj.__module__ != module_name:
            continue
        assert len((inspect.getdoc(obj) or "").splitlines()) > 1, name
        for member, value in inspect.getmembers(obj):
            if member.startswith("_") and member != "__call__":
                continue
            if callable(value) or isinstance(value, property):
                assert inspect.getdoc(value), f"{name}.{member}"
    exported = [n for n in dir(keras.layers) if not n.startswith("_")]
    for name in ("Attention", "AdditiveAttention", "MultiHeadAttention", "TextVectorization",
                 "StringLookup", "IntegerLookup", "Hashing", "Normalization",
                 "Discretization", "ConvLSTM1D", "ConvLSTM2D", "ConvLSTM3D"):
        assert name in exported


def test_normalization_weights_set_or_loaded_after_build_are_used(tmp_path):
    x = NUMERIC["x3"]
    adapted = L.Normalization()
    adapted.adapt(x)
    fresh = L.Normalization()
    fresh.build(x.shape)     # zeros / ones until weights arrive
    assert_close(fresh(x), x, rtol=1e-6)
    fresh.set_weights(adapted.get_weights())
    assert_close(fresh(x), adapted(x), rtol=0, atol=0)
    inputs = keras.Input((4, 3))
    model = keras.Model(inputs, L.Dense(2)(adapted(inputs)))
    path = str(tmp_path / "norm.keras")
    model.save(path)
    loaded = keras.models.load_model(path)
    assert_close(loaded(x), model(x), rtol=1e-6, atol=1e-6)
