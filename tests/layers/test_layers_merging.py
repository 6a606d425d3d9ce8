"""Merging layers (Add, Subtract, Multiply, Average, Maximum, Minimum, Concatenate, Dot and the
functional forms): NumPy from the definitions, Keras 3 fixtures (tests/fixtures/layers_a,
tools/make_layers_a_fixtures.py), mask merging eagerly and in functional models, shapes,
configs, gradients against finite differences, errors."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import assert_close
from layers_a_fixtures import case, case_names, check_gradients

import rnnkit as keras

L = keras.layers


def _run_fixture(area, name):
    layer, xs, masks, weights, y, mask = case(area, name)
    arg = xs if len(xs) > 1 else xs[0]
    kwargs = {}
    if any(m is not None for m in masks):
        kwargs["mask"] = masks if len(xs) > 1 else masks[0]
    if weights:
        layer.build([x.shape for x in xs] if len(xs) > 1 else xs[0].shape)
        layer.set_weights(weights)
    out = layer(arg, **kwargs)
    assert_close(np.asarray(out), y, rtol=1e-6, atol=1e-6, err_msg=name)
    got_mask = layer.compute_mask(arg, kwargs.get("mask")) if kwargs else None
    if mask is None:
        assert got_mask is None, name
    else:
        np.testing.assert_array_equal(np.asarray(got_mask), mask, err_msg=name)
    return layer


@pytest.mark.parametrize("name", case_names("merging"))
def test_keras_fixture(name):
    _run_fixture("merging", name)


def test_fixture_masks_are_carried_by_the_output():
    layer, xs, masks, _, y, mask = case("merging", "masked_maximum")
    from rnnkit.masking import get_keras_mask, set_keras_mask
    for x, m in zip(xs, masks):
        set_keras_mask(x, m)
    out = layer(xs)
    assert_close(out, y)
    np.testing.assert_array_equal(get_keras_mask(out), mask)


def test_elementwise_against_numpy(rng):
    a, b, c = (rng.normal(size=(3, 4, 5)) for _ in range(3))
    f64 = {"dtype": "float64"}
    assert_close(L.Add(**f64)([a, b, c]), a + b + c, rtol=1e-12)
    assert_close(L.Subtract(**f64)([a, b]), a - b, rtol=1e-12)
    assert_close(L.Multiply(**f64)([a, b, c]), a * b * c, rtol=1e-12)
    assert_close(L.Average(**f64)([a, b, c]), (a + b + c) / 3, rtol=1e-12)
    np.testing.assert_array_equal(L.Maximum(**f64)([a, b, c]), np.maximum(np.maximum(a, b), c))
    np.testing.assert_array_equal(L.Minimum(**f64)([a, b, c]), np.minimum(np.minimum(a, b), c))
    out32 = L.Add()([a, b])
    assert out32.dtype == np.float32
    assert_close(out32, (a + b).astype("float32"), rtol=1e-6, atol=1e-6)


def test_functional_forms_match_layers(rng):
    a, b = rng.normal(size=(2, 3)), rng.normal(size=(2, 3))
    for fn, cls in [(L.add, L.Add), (L.subtract, L.Subtract), (L.multiply, L.Multiply),
                    (L.average, L.Average), (L.maximum, L.Maximum), (L.minimum, L.Minimum)]:
        np.testing.assert_array_equal(fn([a, b]), cls()([a, b]))
    np.testing.assert_array_equal(L.concatenate([a, b], axis=0), np.concatenate(
        [a, b], axis=0).astype("float32"))
    assert_close(L.dot([a, b], axes=1), np.sum(a * b, axis=1, keepdims=True).astype("float32"),
                 rtol=1e-6)
    assert L.add([a, b], name="my_add") is not None


def test_broadcast_of_lower_rank_inputs(rng):
    a, b = rng.normal(size=(2, 5)), rng.normal(size=(2, 3, 5))
    assert_close(L.Add(dtype="float64")([a, b]), a[:, None, :] + b)
    assert L.Add().compute_output_shape([(None, 5), (None, 3, 5)]) == (None, 3, 5)
    assert L.Multiply().compute_output_shape([(2, 1, 5), (2, 3, 1)]) == (2, 3, 5)


def test_dot_against_numpy(rng):
    x, y = rng.normal(size=(2, 3, 5)), rng.normal(size=(2, 4, 3))
    out = L.Dot(axes=(1, 2), dtype="float64")([x, y])
    assert out.shape == (2, 5, 4)
    assert_close(out, np.einsum("bij,bki->bjk", x, y))
    u, v = rng.normal(size=(4, 6)), rng.normal(size=(4, 6))
    cos = L.Dot(axes=-1, normalize=True, dtype="float64")([u, v])
    expected = np.sum(u * v, 1) / np.linalg.norm(u, axis=1) / np.linalg.norm(v, axis=1)
    assert_close(cos[:, 0], expected, rtol=1e-10)
    assert L.Dot(axes=1).compute_output_shape([(None, 5), (None, 5)]) == (None, 1)
    assert L.Dot(axes=(1, 2)).compute_output_shape([(None, 3, 5), (None, 4, 3)]) == (None, 5, 4)


def test_concatenate_shapes_and_masks(rng):
    a, b = rng.normal(size=(2, 4, 3)), rng.normal(size=(2, 4, 2))
    layer = L.Concatenate()
    assert layer([a, b]).shape == (2, 4, 5)
    assert layer.compute_output_shape([(None, 4, 3), (None, 4, 2)]) == (None, 4, 5)
    assert L.Concatenate(axis=1).compute_output_shape([(None, None, 3), (None, 4, 3)]) == \
        (None, None, 3)
    m = np.array([[True, True, False, False], [True, False, False, False]])
    # Features axis: masks broadcast over the features, any() over the last axis.
    np.testing.assert_array_equal(layer.compute_mask([a, b], [m, None]), np.ones((2, 4), bool))
    np.testing.assert_array_equal(layer.compute_mask([a, b], [m, m]), m)
    assert layer.compute_mask([a, b], [None, None]) is None


def test_masked_merges_against_numpy(rng):
    a, b = rng.normal(size=(2, 4, 3)), rng.normal(size=(2, 4, 3))
    m1 = np.array([[1, 1, 0, 0], [1, 0, 1, 0]], bool)
    m2 = np.array([[1, 0, 1, 0], [1, 1, 0, 0]], bool)
    e1, e2 = m1[..., None], m2[..., None]
    both = e1 | e2
    mul = L.Multiply(dtype="float64")([a, b], mask=[m1, m2])
    expected = np.where(both, np.where(e1, a, 1.0) * np.where(e2, b, 1.0), 0.0)
    assert_close(mul, expected)
    mx = L.Maximum(dtype="float64")([a, b], mask=[m1, m2])
    b_fill = np.where(e2, b, a)
    a_fill = np.where(e1, a, b_fill)
    assert_close(mx, np.maximum(a_fill, b_fill))
    add = L.Add(dtype="float64")
    assert_close(add([a, b], mask=[m1, m2]), a + b)   # Add ignores masked values, as Keras
    np.testing.assert_array_equal(add.compute_mask([a, b], [m1, m2]), m1 | m2)
    assert add.compute_mask([a, b], [m1, None]) is None


def test_masks_in_a_functional_model(rng):
    tokens = keras.Input((5,), dtype="int32")
    e1 = L.Embedding(10, 3, mask_zero=True)(tokens)
    e2 = L.Embedding(10, 3, mask_zero=True)(tokens)
    merged = L.Concatenate()([e1, e2])
    out = L.LSTM(2, return_sequences=True)(merged)
    model = keras.Model(tokens, out)
    ids = np.array([[1, 2, 3, 0, 0], [4, 5, 0, 0, 0]])
    y = model.predict(ids, verbose=0)
    # The LSTM saw the merged mask: the masked steps repeat the last unmasked output.
    assert_close(y[0, 3], y[0, 2])
    assert_close(y[1, 4], y[1, 1])
    assert not np.allclose(y[0, 2], y[0, 1])
    from rnnkit.masking import get_keras_mask
    np.testing.assert_array_equal(get_keras_mask(model(ids)), ids != 0)
    # Dot drops the mask.
    dot = L.Dot(axes=-1)([e1, e2])
    model2 = keras.Model(tokens, dot)
    assert get_keras_mask(model2(ids)) is None


def test_symbolic_use_and_training(rng):
    a, b = keras.Input((4,)), keras.Input((4,))
    h = L.Add()([L.Dense(3)(a), L.Dense(3)(b)])
    h = L.Concatenate()([h, L.Multiply()([a, b])])
    h = L.Dot(axes=1)([h, h])
    assert h.shape == (None, 1)
    model = keras.Model([a, b], h)
    model.compile("adam", "mse")
    xa, xb = rng.normal(size=(8, 4)), rng.normal(size=(8, 4))
    model.fit([xa, xb], rng.normal(size=(8, 1)), epochs=1, verbose=0)
    assert model.predict([xa, xb], verbose=0).shape == (8, 1)


@pytest.mark.parametrize("cls,kwargs", [(L.Add, {}), (L.Subtract, {}), (L.Multiply, {}),
                                        (L.Average, {}), (L.Maximum, {}), (L.Minimum, {}),
                                        (L.Concatenate, {"axis": 1}),
                                        (L.Dot, {"axes": (1, 2), "normalize": True})])
def test_config_round_trip(cls, kwargs):
    layer = cls(name="merge_x", dtype="float64", **kwargs)
    config = layer.get_config()
    restored = keras.saving.deserialize(keras.saving.serialize(layer))
    assert type(restored) is cls
    assert restored.get_config() == config
    for key, value in kwargs.items():
        assert config[key] == (list(value) if isinstance(value, tuple) else value) or \
            config[key] == value


@pytest.mark.parametrize("cls", [L.Add, L.Multiply, L.Average, L.Subtract, L.Concatenate])
def test_gradients_match_finite_differences(cls, rng):
    layer = cls(dtype="float64") if cls is not L.Concatenate else cls(axis=1, dtype="float64")
    xs = [rng.normal(size=(2, 3, 4)), rng.normal(size=(2, 3, 4))]
    check_gradients(layer, xs, rng, single=False)


def test_max_min_dot_gradients(rng):
    xs = [rng.normal(size=(2, 3, 4)), rng.normal(size=(2, 3, 4))]
    check_gradients(L.Maximum(dtype="float64"), xs, rng, single=False)
    check_gradients(L.Minimum(dtype="float64"), xs, rng, single=False)
    check_gradients(L.Dot(axes=(1, 1), normalize=True, dtype="float64"), xs, rng,
                    single=False)
    m = [np.array([[1, 0, 1], [0, 1, 1]], bool), np.array([[1, 1, 0], [0, 0, 1]], bool)]
    check_gradients(L.Multiply(dtype="float64"), xs, rng, single=False, mask=m)


def test_errors():
    a = np.ones((2, 3))
    with pytest.raises(ValueError, match="list of inputs"):
        L.Add()(a)
    with pytest.raises(ValueError, match="exactly 2 inputs"):
        L.Subtract()([a, a, a])
    with pytest.raises(ValueError, match="incompatible shapes"):
        L.Add()([np.ones((2, 3)), np.ones((2, 4))])
    with pytest.raises(ValueError, match="different batch sizes"):
        L.Add().compute_output_shape([(2, 3), (4, 3)])
    with pytest.raises(ValueError, match="matching shapes"):
        L.Concatenate(axis=1)([np.ones((2, 3, 4)), np.ones((2, 3, 5))])
    with pytest.raises(TypeError, match="axis"):
        L.Concatenate(axis="1")
    with pytest.raises(TypeError, match="axes"):
        L.Dot(axes="1")
    with pytest.raises(ValueError, match="two elements"):
        L.Dot(axes=(1, 2, 3))
    with pytest.raises(ValueError, match="Incompatible input shapes"):
        L.Dot(axes=1)([np.ones((2, 3)), np.ones((2, 4))])
    with pytest.raises(ValueError, match="axis 0"):
        L.Dot(axes=0)([np.ones((2, 3)), np.ones((2, 3))])
    with pytest.raises(TypeError, match="normalize"):
        L.Dot(axes=1, normalize="yes")
    with pytest.raises(ValueError, match="2 inputs"):
        L.Dot(axes=1).compute_output_shape([(None, 3)])
