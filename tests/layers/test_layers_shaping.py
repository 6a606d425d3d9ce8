"""Reshaping layers (Flatten, Reshape, RepeatVector, Permute, Cropping1D, ZeroPadding1D,
UpSampling1D), Identity and Lambda: NumPy from the definitions, Keras 3 fixtures, symbolic
shapes, configs, gradients, masks, Lambda's safe-mode deserialization, errors."""

from __future__ import annotations

import json

import numpy as np
import pytest
from helpers import assert_close
from layers_a_fixtures import case, case_names, check_gradients, configs

import rnnkit as keras
from rnnkit.masking import get_keras_mask

L = keras.layers


@pytest.mark.parametrize("name", case_names("shaping"))
def test_keras_fixture(name):
    layer, xs, _, _, y, _ = case("shaping", name)
    out = layer(xs[0])
    np.testing.assert_array_equal(np.asarray(out), y)
    assert layer.compute_output_shape((None,) + xs[0].shape[1:]) == (None,) + y.shape[1:]


def test_against_numpy(rng):
    x = rng.normal(size=(2, 4, 3))
    f64 = {"dtype": "float64"}
    np.testing.assert_array_equal(L.Flatten(**f64)(x), x.reshape(2, 12))
    np.testing.assert_array_equal(L.Flatten(data_format="channels_first", **f64)(x),
                                  x.transpose(0, 2, 1).reshape(2, 12))
    np.testing.assert_array_equal(L.Flatten(**f64)(np.arange(3.0)), np.arange(3.0)[:, None])
    np.testing.assert_array_equal(L.Reshape((6, -1), **f64)(x), x.reshape(2, 6, 2))
    np.testing.assert_array_equal(L.Permute((2, 1), **f64)(x), x.transpose(0, 2, 1))
    v = rng.normal(size=(2, 5))
    np.testing.assert_array_equal(L.RepeatVector(3, **f64)(v), np.stack([v] * 3, axis=1))
    np.testing.assert_array_equal(L.Cropping1D((1, 2), **f64)(x), x[:, 1:2])
    np.testing.assert_array_equal(L.Cropping1D(0, **f64)(x), x)
    np.testing.assert_array_equal(L.ZeroPadding1D((2, 1), **f64)(x),
                                  np.pad(x, ((0, 0), (2, 1), (0, 0))))
    np.testing.assert_array_equal(L.UpSampling1D(2, **f64)(x), np.repeat(x, 2, axis=1))


@pytest.mark.parametrize("layer,in_shape,out_shape", [
    (L.Flatten(), (None, 4, 3), (None, 12)),
    (L.Flatten(), (None, None, 3), (None, None)),
    (L.Reshape((-1, 2)), (None, 4, 3), (None, 6, 2)),
    (L.Reshape((3, 4)), (None, None, 3), (None, 3, 4)),
    (L.Permute((2, 1)), (None, 4, 3), (None, 3, 4)),
    (L.Cropping1D(1), (None, None, 3), (None, None, 3)),
    (L.ZeroPadding1D(2, data_format="channels_first"), (None, 3, 4), (None, 3, 8)),
    (L.UpSampling1D(3), (None, 4, 3), (None, 12, 3)),
    (L.Identity(), (None, 4, 3), (None, 4, 3)),
])
def test_symbolic_shapes(layer, in_shape, out_shape):
    out = layer(keras.Input(in_shape[1:]))
    assert out.shape == out_shape
    assert layer.compute_output_shape(in_shape) == out_shape


def test_repeat_vector_encoder_decoder(rng):
    inp = keras.Input((6, 3))
    h = L.LSTM(4)(inp)
    h = L.RepeatVector(5)(h)
    out = L.LSTM(2, return_sequences=True)(h)
    model = keras.Model(inp, out)
    assert model.predict(rng.normal(size=(2, 6, 3)), verbose=0).shape == (2, 5, 2)


@pytest.mark.parametrize("layer", [
    L.Flatten(dtype="float64"), L.Reshape((12,), dtype="float64"),
    L.Permute((2, 1), dtype="float64"), L.Cropping1D((1, 1), dtype="float64"),
    L.ZeroPadding1D(1, dtype="float64"), L.UpSampling1D(2, dtype="float64"),
    L.Identity(dtype="float64")])
def test_gradients(layer, rng):
    check_gradients(layer, [rng.normal(size=(2, 4, 3))], rng)


@pytest.mark.parametrize("layer", [
    L.Flatten(data_format="channels_first"), L.Reshape((3, -1)), L.RepeatVector(4),
    L.Permute((2, 1)), L.Cropping1D((2, 0)), L.ZeroPadding1D((0, 3)), L.UpSampling1D(5),
    L.Identity()])
def test_config_round_trip(layer):
    config = json.loads(json.dumps(layer.get_config()))
    restored = keras.saving.deserialize(json.loads(json.dumps(keras.saving.serialize(layer))))
    assert type(restored) is type(layer)
    assert restored.get_config() == layer.get_config()
    assert type(layer).from_config(config).get_config() == layer.get_config()


def test_masks():
    x = np.ones((2, 4, 3))
    mask = np.array([[True, True, False, False]] * 2)
    for layer in (L.Flatten(), L.Reshape((12,)), L.Permute((2, 1)), L.Cropping1D(1),
                  L.UpSampling1D(2), L.ZeroPadding1D(1)):
        assert layer.compute_mask(x, mask) is None   # Keras: these layers drop the mask
    np.testing.assert_array_equal(L.Identity().compute_mask(x, mask), mask)
    tokens = keras.Input((4,), dtype="int32")
    e = L.Embedding(5, 3, mask_zero=True)(tokens)
    model = keras.Model(tokens, L.Identity()(e))
    ids = np.array([[1, 2, 0, 0]])
    np.testing.assert_array_equal(get_keras_mask(model(ids)), ids != 0)


def test_errors():
    with pytest.raises(ValueError, match="more than one unknown"):
        L.Reshape((-1, -1))
    with pytest.raises(ValueError, match="positive"):
        L.Reshape((0, 2))
    with pytest.raises(TypeError, match="target_shape"):
        L.Reshape(3)
    with pytest.raises(ValueError, match="total size"):
        L.Reshape((5,))(np.ones((2, 4, 3)))
    with pytest.raises(ValueError, match="divisible"):
        L.Reshape((5, -1))(np.ones((2, 4, 3)))
    with pytest.raises(ValueError, match="consecutive"):
        L.Permute((1, 3))
    with pytest.raises(ValueError, match="expected ndim=3"):
        L.Permute((2, 1))(np.ones((2, 3)))
    with pytest.raises(TypeError, match="`n`"):
        L.RepeatVector(2.0)
    with pytest.raises(ValueError, match="positive"):
        L.RepeatVector(0)
    with pytest.raises(ValueError, match="expected ndim=2"):
        L.RepeatVector(2)(np.ones((2, 3, 4)))
    with pytest.raises(ValueError, match="smaller than the input length"):
        L.Cropping1D((2, 2))(np.ones((1, 4, 1)))
    with pytest.raises(ValueError, match="cropping"):
        L.Cropping1D((1, -1))
    with pytest.raises(ValueError, match="padding"):
        L.ZeroPadding1D((1, 2, 3))
    with pytest.raises(ValueError, match="data_format"):
        L.ZeroPadding1D(1, data_format="NCW")
    with pytest.raises(TypeError, match="size"):
        L.UpSampling1D("2")
    with pytest.raises(ValueError, match="positive"):
        L.UpSampling1D(0)


# -- Lambda ------------------------------------------------------------------------------------

def test_lambda_call_arguments_mask_training(rng):
    x = rng.normal(size=(2, 3))
    layer = L.Lambda(lambda v, scale: v * scale, arguments={"scale": 2.0}, dtype="float64")
    assert_close(layer(x), 2 * x)
    seen = {}

    def fn(v, mask=None, training=None):
        seen["mask"], seen["training"] = mask, training
        return v

    mask = np.array([[True, False, True], [True, True, False]])
    L.Lambda(fn)(x[..., None], mask=mask, training=True)
    np.testing.assert_array_equal(seen["mask"], mask)
    assert seen["training"] is True
    # Without `mask`, the output has no mask (Keras); a callable `mask` computes it.
    assert L.Lambda(lambda v: v).compute_mask(x, mask) is None
    masked = L.Lambda(lambda v: v, mask=lambda inputs, m: m)
    np.testing.assert_array_equal(masked.compute_mask(x, mask), mask)


def test_lambda_in_functional_model_and_gradients(rng):
    inp = keras.Input((4, 3))
    out = L.Lambda(lambda v: keras.ops.sum(keras.ops.square(v), axis=1))(inp)
    assert out.shape == (None, 3)
    shaped = L.Lambda(lambda v: v[:, :2], output_shape=(2, 3))(inp)
    assert shaped.shape == (None, 2, 3)
    model = keras.Model(inp, out)
    x = rng.normal(size=(2, 4, 3))
    assert_close(model.predict(x, verbose=0), np.sum(x ** 2, axis=1).astype("float32"),
                 rtol=1e-5)
    check_gradients(L.Lambda(lambda v: keras.ops.tanh(v) * v, dtype="float64"), [x], rng)


def test_lambda_config_and_safe_mode(rng):
    k = 3.0
    layer = L.Lambda(lambda v, b=1.0: v * k + b, output_shape=lambda s: s, name="lam")
    config = json.loads(json.dumps(layer.get_config()))
    assert config["function"]["class_name"] == "__lambda__"
    assert set(config["function"]["config"]) == {"code", "defaults", "closure"}
    assert config["function"]["config"]["closure"] == [3.0]
    assert config["function"]["config"]["defaults"] == [1.0]
    with pytest.raises(ValueError, match="safe_mode=False"):
        L.Lambda.from_config(config)
    with pytest.raises(ValueError, match="arbitrary code execution"):
        keras.saving.deserialize(keras.saving.serialize(layer))
    restored = L.Lambda.from_config(config, safe_mode=False)
    x = rng.normal(size=(2, 3)).astype("float32")
    assert_close(restored(x), x * 3.0 + 1.0, rtol=1e-6)
    from rnnkit.saving import SafeModeScope
    with SafeModeScope(False):
        assert_close(L.Lambda.from_config(config)(x), x * 3.0 + 1.0, rtol=1e-6)


def test_lambda_keras_config_loads_only_when_unsafe_allowed(rng):
    entry = configs()["keras_lambda"]
    with pytest.raises(ValueError, match="arbitrary code execution"):
        L.Lambda.from_config(entry["config"])
    layer = L.Lambda.from_config(entry["config"], safe_mode=False)
    x = rng.normal(size=(2, 3)).astype("float32")
    assert_close(layer(x), 2.0 * x)   # Keras' `lambda x, k=2.0: x * k`


def test_lambda_named_function_config():
    @keras.saving.register_keras_serializable(package="LayersA")
    def double_it(v):
        return v * 2

    config = L.Lambda(double_it).get_config()
    assert config["function"]["class_name"] == "function"
    assert config["function"]["registered_name"] == "LayersA>double_it"
    assert L.Lambda.from_config(config).function is double_it   # no code runs: safe
    assert L.Lambda.from_config(L.Lambda(keras.ops.relu).get_config()).function is \
        keras.ops.relu


def test_lambda_errors():
    with pytest.raises(TypeError, match="callable"):
        L.Lambda(3)
    with pytest.raises(TypeError, match="arguments"):
        L.Lambda(lambda v: v, arguments=[1])


LAYERS_A_MODULES = [
    "rnnkit.layers.merging.base_merge", "rnnkit.layers.merging.merge_layers",
    "rnnkit.layers.reshaping.shape_layers", "rnnkit.layers.reshaping.sequence_1d",
    "rnnkit.layers.core.identity", "rnnkit.layers.core.lambda_layer",
    "rnnkit.layers.convolutional.conv1d", "rnnkit.layers.pooling.pooling1d",
    "rnnkit.layers.normalization.layer_normalization", "rnnkit.layers.regularization.noise",
    "rnnkit.ops.conv", "rnnkit.layers"]


@pytest.mark.parametrize("module", LAYERS_A_MODULES)
def test_docstring_examples_run(module):
    import doctest
    import importlib
    import sys
    importlib.import_module(module)
    result = doctest.testmod(sys.modules[module], optionflags=doctest.ELLIPSIS |
                             doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0
    assert result.failed == 0


@pytest.mark.parametrize("name", sorted(configs()))
def test_config_matches_keras(name):
    """A layer rebuilt from Keras 3's config gives back the same keys, and the same values
    for every plain (non-nested) entry."""
    entry = configs()[name]
    if entry["class_name"] == "Lambda":
        layer = L.Lambda.from_config(entry["config"], safe_mode=False)
    else:
        layer = keras.saving.deserialize({"module": "keras.layers", "config": entry["config"],
                                          "class_name": entry["class_name"]})
    assert type(layer).__name__ == entry["class_name"]
    mine = json.loads(json.dumps(layer.get_config()))
    assert set(mine) == set(entry["config"])
    for key, value in entry["config"].items():
        if not isinstance(value, dict):
            assert mine[key] == value, key


def test_layers_serialize_and_deserialize():
    layer = L.Conv1D(3, 2, name="c")
    config = L.serialize(layer)
    assert config["class_name"] == "Conv1D" and config["config"]["name"] == "c"
    assert L.deserialize(config).get_config() == layer.get_config()
    with pytest.raises(ValueError, match="not a `rnnkit.layers.Layer`"):
        L.deserialize(keras.saving.serialize(keras.initializers.Zeros()))


def test_lambda_in_a_saved_model(tmp_path, rng):
    inp = keras.Input((3,))
    model = keras.Model(inp, L.Lambda(lambda v: v * 2.0 + 1.0)(L.Dense(3)(inp)))
    path = str(tmp_path / "lambda.keras")
    model.save(path)
    with pytest.raises(ValueError, match="arbitrary code execution"):
        keras.saving.load_model(path)
    restored = keras.saving.load_model(path, safe_mode=False)
    x = rng.normal(size=(2, 3)).astype("float32")
    np.testing.assert_array_equal(restored.predict(x, verbose=0), model.predict(x, verbose=0))


def test_lambda_loads_after_enable_unsafe_deserialization():
    """rnnkit.config.enable_unsafe_deserialization() is global and cannot be undone, so it
    runs in a child process."""
    import subprocess
    import sys
    code = (
        "import rnnkit as keras\n"
        "config = keras.layers.Lambda(lambda v: v + 1).get_config()\n"
        "try:\n"
        "    keras.layers.Lambda.from_config(config)\n"
        "    raise SystemExit('loaded in safe mode')\n"
        "except ValueError:\n"
        "    pass\n"
        "keras.config.enable_unsafe_deserialization()\n"
        "print(float(keras.layers.Lambda.from_config(config)(1.0)))\n"
        "with keras.saving.SafeModeScope(True):\n"   # an enclosing scope wins (Keras)
        "    try:\n"
        "        keras.layers.Lambda.from_config(config)\n"
        "        raise SystemExit('loaded inside SafeModeScope(True)')\n"
        "    except ValueError:\n"
        "        pass\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "2.0"


def test_weightless_layers_are_built_at_creation():
    """As Keras (`_build_at_init`): count_params() is 0 at once, and a model summary shows
    their output shapes."""
    weightless = [L.Flatten(), L.Reshape((4,)), L.RepeatVector(2), L.Permute((1,)),
                  L.Cropping1D(), L.ZeroPadding1D(), L.UpSampling1D(), L.Identity(),
                  L.Lambda(lambda v: v), L.MaxPooling1D(), L.AveragePooling1D(),
                  L.GlobalAveragePooling1D(), L.GlobalMaxPooling1D(), L.UnitNormalization(),
                  L.SpatialDropout1D(0.1), L.GaussianNoise(0.1), L.GaussianDropout(0.1),
                  L.AlphaDropout(0.1), L.ActivityRegularization()]
    for layer in weightless:
        assert layer.built, type(layer).__name__
        assert layer.count_params() == 0
    model = keras.Sequential([keras.Input((8, 3)), L.GaussianNoise(0.1), L.MaxPooling1D(2),
                              L.Flatten(), L.Dense(2)])
    lines = []
    model.summary(print_fn=lambda line, *args, **kwargs: lines.append(line))
    text = "\n".join(lines)
    assert "(None, 4, 3)" in text and "(None, 12)" in text and "unbuilt" not in text
