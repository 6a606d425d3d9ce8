"""LayerNormalization, GroupNormalization, UnitNormalization, SpatialDropout1D, GaussianNoise,
GaussianDropout, AlphaDropout, ActivityRegularization: NumPy from the definitions, Keras 3
fixtures, float64 finite-difference gradients, noise statistics, masks, configs, errors."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
from helpers import assert_close
from layers_a_fixtures import case, case_names, check_gradients

import rnnkit as keras

L = keras.layers


@pytest.mark.parametrize("name", case_names("norm"))
def test_keras_fixture(name):
    layer, xs, _, weights, y, _ = case("norm", name)
    if weights:
        layer.build(xs[0].shape)
        layer.set_weights(weights)
    assert_close(np.asarray(layer(xs[0])), y, rtol=1e-6, atol=1e-6, err_msg=name)


def _np_layer_norm(x, axes, eps, gamma=None, beta=None):
    mean = x.mean(axis=axes, keepdims=True)
    var = x.var(axis=axes, keepdims=True)
    y = (x - mean) / np.sqrt(var + eps)
    if gamma is not None:
        y = y * gamma
    if beta is not None:
        y = y + beta
    return y


def test_layer_normalization_against_numpy(rng):
    x = rng.normal(size=(3, 5, 4))
    layer = L.LayerNormalization(dtype="float64", gamma_initializer="random_normal",
                                 beta_initializer="random_normal")
    y = layer(x)
    g, b = layer.gamma.numpy(), layer.beta.numpy()
    assert_close(y, _np_layer_norm(x, -1, 1e-3, g, b), rtol=1e-12)
    multi = L.LayerNormalization(axis=[1, 2], epsilon=1e-5, dtype="float64",
                                 gamma_initializer="random_normal")
    y = multi(x)
    assert multi.gamma.shape == (5, 4)
    assert_close(y, _np_layer_norm(x, (1, 2), 1e-5, multi.gamma.numpy(), multi.beta.numpy()),
                 rtol=1e-12)
    bare = L.LayerNormalization(center=False, scale=False, dtype="float64")
    assert_close(bare(x), _np_layer_norm(x, -1, 1e-3), rtol=1e-12)
    assert bare.weights == []
    with pytest.warns(UserWarning, match="deprecated"):
        rms = L.LayerNormalization(rms_scaling=True, dtype="float64")
    assert_close(rms(x), x / np.sqrt(x.var(-1, keepdims=True) + 1e-3), rtol=1e-12)
    assert [w.name for w in rms.weights] == ["gamma"]


def test_group_normalization_against_numpy(rng):
    x = rng.normal(size=(2, 3, 6))
    layer = L.GroupNormalization(groups=3, dtype="float64", gamma_initializer="random_normal",
                                 beta_initializer="random_normal")
    y = layer(x)
    xg = x.reshape(2, 3, 3, 2)
    norm = (xg - xg.mean(axis=(1, 3), keepdims=True)) / np.sqrt(
        xg.var(axis=(1, 3), keepdims=True) + 1e-3)
    expected = norm.reshape(2, 3, 6) * layer.gamma.numpy() + layer.beta.numpy()
    assert_close(y, expected, rtol=1e-12)
    inst = L.GroupNormalization(groups=-1, dtype="float64")
    inst(x)
    assert inst.groups == 6
    assert_close(inst(x), (x - x.mean(1, keepdims=True)) / np.sqrt(x.var(1, keepdims=True)
                                                                   + 1e-3), rtol=1e-12)
    first = L.GroupNormalization(groups=1, axis=1, dtype="float64")
    assert_close(first(x), _np_layer_norm(x, (1, 2), 1e-3), rtol=1e-12)


def test_unit_normalization_against_numpy(rng):
    x = rng.normal(size=(2, 3, 4))
    assert_close(L.UnitNormalization(dtype="float64")(x),
                 x / np.linalg.norm(x, axis=-1, keepdims=True), rtol=1e-12)
    assert_close(L.UnitNormalization(axis=[1, 2], dtype="float64")(x),
                 x / np.sqrt((x ** 2).sum(axis=(1, 2), keepdims=True)), rtol=1e-12)
    np.testing.assert_array_equal(L.UnitNormalization()(np.zeros((1, 3))), np.zeros((1, 3)))


@pytest.mark.parametrize("layer", [
    L.LayerNormalization(dtype="float64", gamma_initializer="random_normal",
                         beta_initializer="random_normal"),
    L.LayerNormalization(axis=[1, 2], dtype="float64"),
    L.GroupNormalization(groups=2, dtype="float64", gamma_initializer="random_normal"),
    L.UnitNormalization(dtype="float64"),
    L.ActivityRegularization(l1=0.1, dtype="float64")])
def test_gradients(layer, rng):
    check_gradients(layer, [rng.normal(size=(2, 3, 4))], rng)


def test_noise_layers_are_identity_outside_training(rng):
    x = rng.normal(size=(4, 5, 6)).astype("float32")
    for layer in (L.SpatialDropout1D(0.5), L.GaussianNoise(0.5), L.GaussianDropout(0.5),
                  L.AlphaDropout(0.5)):
        np.testing.assert_array_equal(layer(x), x)
        np.testing.assert_array_equal(layer(x, training=False), x)


def test_spatial_dropout_drops_whole_channels(rng):
    x = np.ones((200, 7, 10), dtype="float64")
    layer = L.SpatialDropout1D(0.3, seed=3, dtype="float64")
    y = np.asarray(layer(x, training=True))
    np.testing.assert_array_equal(y, np.repeat(y[:, :1, :], 7, axis=1))
    assert set(np.unique(y)) <= {0.0, 1 / 0.7}
    kept = (y[:, 0, :] > 0).mean()
    sigma = np.sqrt(0.3 * 0.7 / 2000)
    assert abs(kept - 0.7) < 4 * sigma
    again = L.SpatialDropout1D(0.3, seed=3, dtype="float64")(x, training=True)
    np.testing.assert_array_equal(again, y)


def test_gaussian_noise_and_dropout_statistics():
    x = np.full((400, 500), 2.0)
    noise = np.asarray(L.GaussianNoise(0.5, seed=1, dtype="float64")(x, training=True)) - x
    assert abs(noise.mean()) < 4 * 0.5 / np.sqrt(noise.size)
    assert abs(noise.std() - 0.5) < 0.01
    factor = np.asarray(L.GaussianDropout(0.2, seed=1, dtype="float64")(x, training=True)) / x
    assert abs(factor.mean() - 1) < 4 * 0.5 / np.sqrt(factor.size)
    assert abs(factor.std() - np.sqrt(0.2 / 0.8)) < 0.01


def test_alpha_dropout_keeps_mean_and_variance():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(400, 500))
    rate = 0.2
    y = np.asarray(L.AlphaDropout(rate, seed=2, dtype="float64")(x, training=True))
    assert abs(y.mean()) < 0.01 and abs(y.std() - 1.0) < 0.01
    alpha_p = -1.6732632423543772 * 1.0507009873554805
    a = ((1 - rate) * (1 + rate * alpha_p ** 2)) ** -0.5
    b = -a * alpha_p * rate
    kept = np.isclose(y, a * x + b)
    dropped = np.isclose(y, a * alpha_p + b)
    assert (kept | dropped).all()
    assert abs(dropped.mean() - rate) < 4 * np.sqrt(rate * (1 - rate) / y.size)
    shared = np.asarray(L.AlphaDropout(0.5, noise_shape=(None, 1), seed=0, dtype="float64")(
        np.ones((50, 4)), training=True))
    np.testing.assert_array_equal(shared, np.repeat(shared[:, :1], 4, axis=1))


def test_noise_gradients_flow(rng):
    x = rng.normal(size=(3, 4, 5))
    layer = L.GaussianDropout(0.3, seed=5, dtype="float64")
    t = keras.Tensor(x)
    with keras.GradientTape() as tape:
        tape.watch(t)
        y = layer(t, training=True)
        loss = keras.ops.sum(y)
    np.testing.assert_allclose(np.asarray(tape.gradient(loss, t)), np.asarray(y) / x,
                               rtol=1e-10)


def test_activity_regularization_losses_and_training(rng):
    layer = L.ActivityRegularization(l1=0.1, l2=0.01, dtype="float64")
    x = rng.normal(size=(3, 4))
    np.testing.assert_array_equal(layer(x), x)
    assert_close(float(layer.losses[0]), 0.1 * np.abs(x).sum() + 0.01 * (x ** 2).sum(),
                 rtol=1e-12)
    model = keras.Sequential([keras.Input((4,)), L.Dense(3), L.ActivityRegularization(l2=0.1),
                              L.Dense(1)])
    model.compile("sgd", "mse")
    model.fit(x, np.zeros((3, 1)), epochs=1, verbose=0)
    assert len(model.losses) == 1


def test_masks_pass_through():
    tokens = keras.Input((4,), dtype="int32")
    h = L.Embedding(6, 4, mask_zero=True)(tokens)
    for layer in (L.LayerNormalization(), L.GroupNormalization(2), L.UnitNormalization(),
                  L.SpatialDropout1D(0.1), L.GaussianNoise(0.1), L.GaussianDropout(0.1),
                  L.AlphaDropout(0.1), L.ActivityRegularization()):
        h = layer(h)
    model = keras.Model(tokens, h)
    ids = np.array([[1, 2, 0, 0]])
    from rnnkit.masking import get_keras_mask
    np.testing.assert_array_equal(get_keras_mask(model(ids)), ids != 0)


@pytest.mark.parametrize("layer", [
    L.LayerNormalization(axis=[1, 2], epsilon=1e-5, center=False, gamma_regularizer="l2"),
    L.GroupNormalization(groups=4, axis=1, scale=False, beta_constraint="non_neg"),
    L.UnitNormalization(axis=[1]), L.SpatialDropout1D(0.25, seed=3),
    L.GaussianNoise(0.3, seed=1), L.GaussianDropout(0.4),
    L.AlphaDropout(0.1, noise_shape=(None, 1)),
    L.ActivityRegularization(l1=0.5, l2=0.25)])
def test_config_round_trip(layer):
    restored = keras.saving.deserialize(json.loads(json.dumps(keras.saving.serialize(layer))))
    assert type(restored) is type(layer)
    assert restored.get_config() == layer.get_config()


def test_errors():
    with pytest.raises(TypeError, match="axis"):
        L.LayerNormalization(axis="last")
    with pytest.raises(ValueError, match="out of bounds"):
        L.LayerNormalization(axis=3)(np.ones((2, 3)))
    with pytest.raises(ValueError, match="epsilon"):
        L.LayerNormalization(epsilon=-1.0)
    with pytest.raises(TypeError, match="center"):
        L.LayerNormalization(center="yes")
    with pytest.raises(ValueError, match="groups"):
        L.GroupNormalization(groups=0)
    with pytest.raises(ValueError, match="cannot be more than"):
        L.GroupNormalization(groups=8)(np.ones((2, 3, 4)))
    with pytest.raises(ValueError, match="divisor"):
        L.GroupNormalization(groups=3)(np.ones((2, 3, 4)))
    with pytest.raises(TypeError, match="axis"):
        L.UnitNormalization(axis=1.5)
    with pytest.raises(ValueError, match="rate"):
        L.SpatialDropout1D(1.5)
    with pytest.raises(ValueError, match="expected ndim=3"):
        L.SpatialDropout1D(0.5)(np.ones((2, 3)), training=True)
    with pytest.raises(ValueError, match="stddev"):
        L.GaussianNoise(2.0)
    with pytest.raises(TypeError, match="stddev"):
        L.GaussianNoise("0.1")
    with pytest.raises(ValueError, match="rate"):
        L.GaussianDropout(-0.1)
    with pytest.raises(TypeError, match="seed"):
        L.AlphaDropout(0.1, seed="x")
    with pytest.raises(ValueError, match="noise_shape"):
        L.AlphaDropout(0.1, noise_shape=(0, 1))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        L.LayerNormalization()   # no warning without rms_scaling


def test_rms_normalization(rng):
    x = rng.normal(size=(2, 3, 4))
    layer = L.RMSNormalization(dtype="float64")
    y = layer(x)
    layer.scale.assign(rng.normal(size=(4,)))
    y = layer(x)
    assert_close(y, x / np.sqrt((x ** 2).mean(-1, keepdims=True) + 1e-6) * layer.scale.numpy(),
                 rtol=1e-12)
    both = L.RMSNormalization(axis=[1, 2], epsilon=1e-3, dtype="float64")
    assert_close(both(x), x / np.sqrt((x ** 2).mean((1, 2), keepdims=True) + 1e-3),
                 rtol=1e-12)
    assert both.scale.shape == (3, 4)
    check_gradients(L.RMSNormalization(dtype="float64"), [x], rng)
    restored = keras.saving.deserialize(json.loads(json.dumps(keras.saving.serialize(both))))
    assert restored.get_config() == both.get_config()
    assert layer.compute_mask(x, np.ones((2, 3), bool)) is None   # Keras: no mask support
    with pytest.raises(ValueError, match="out of bounds"):
        L.RMSNormalization(axis=2)(np.ones((2, 3)))
