"""rnnkit.activations against the reference definitions, and get / serialize / deserialize /
fused_name."""

from __future__ import annotations

import functools

import numpy as np
import pytest

from rnnkit import activations, ops
from rnnkit.autodiff import GradientTape, Tensor

from reference import ACTIVATION_ALIASES, ACTIVATIONS, canonical_activation
from helpers import assert_close  # noqa: E402

NAMES = sorted(ACTIVATIONS)


def sample(rng):
    """A wide range: around every kink, moderate values, and values that overflow naive forms."""
    x = np.concatenate([rng.uniform(-6, 6, 400), rng.uniform(-40, 40, 100),
                        np.array([-1000.0, -100.0, -3.0, -1.0, -0.5, 0.0, 0.5, 1.0, 3.0, 6.0,
                                  100.0, 700.0])])
    return x


@pytest.mark.parametrize("name", NAMES)
def test_matches_reference_float64(rng, name):
    x = sample(rng)
    if name == "exponential":
        x = x[x < 700]
    got = activations.get(name)(x)
    want = ACTIVATIONS[name](x)
    assert type(got) is np.ndarray and got.dtype == np.float64
    assert_close(got, want, rtol=1e-13, atol=1e-14)


@pytest.mark.parametrize("name", NAMES)
def test_float32_stays_float32(rng, name):
    x = rng.uniform(-8, 8, (5, 7))
    got = activations.get(name)(x.astype(np.float32))
    assert got.dtype == np.float32
    want = ACTIVATIONS[name](x.astype(np.float32).astype(np.float64))
    assert_close(got, want, rtol=2e-6, atol=2e-6)


def test_no_overflow_warnings():
    x = np.array([-1e4, -800.0, 800.0, 1e4])
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        for name in NAMES:
            if name != "exponential":
                activations.get(name)(x)


def test_keras_specifics():
    assert activations.hard_sigmoid(np.array(1.0)) == pytest.approx(2 / 3)   # not Keras 2's 0.7
    x = np.linspace(-3, 3, 13)
    assert_close(activations.gelu(x), ACTIVATIONS["gelu"](x), rtol=1e-14)  # exact
    approx = 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x ** 3)))
    assert_close(activations.gelu(x, approximate=True), approx, rtol=1e-14)
    assert_close(activations.leaky_relu(x, negative_slope=0.1),
                 np.where(x >= 0, x, 0.1 * x))
    assert_close(activations.elu(x, alpha=0.3),
                 np.where(x > 0, x, 0.3 * np.expm1(x)))
    assert activations.linear(x) is x
    assert_close(activations.softmax(x[None], axis=-1).sum(), 1.0)
    assert_close(activations.log_softmax(x), x - np.log(np.sum(np.exp(x))))
    assert_close(activations.mish(x), x * np.tanh(np.log1p(np.exp(x))))


@pytest.mark.parametrize("kwargs,expected", [
    ({}, lambda x: np.maximum(x, 0)),
    ({"max_value": 6}, lambda x: np.clip(x, 0, 6)),
    ({"max_value": 2.5}, lambda x: np.clip(x, 0, 2.5)),
    ({"threshold": 1.0}, lambda x: np.where(x > 1.0, x, 0.0)),
    ({"negative_slope": 0.1}, lambda x: np.where(x >= 0, x, 0.1 * x)),
    ({"negative_slope": 0.1, "threshold": 1.0},
     lambda x: np.where(x > 1.0, x, 0.0) - 0.1 * np.maximum(1.0 - x, 0.0)),
    ({"negative_slope": 0.2, "max_value": 3.0},
     lambda x: np.clip(x, 0, 3.0) - 0.2 * np.maximum(-x, 0.0)),
], ids=str)
def test_keras_relu_parameters(rng, kwargs, expected):
    x = rng.uniform(-5, 8, 200)
    assert_close(activations.relu(x, **kwargs), expected(x), rtol=1e-14)


def test_activations_are_differentiable(rng):
    x = Tensor(rng.uniform(-2, 2, 5))
    with GradientTape() as tape:
        tape.watch(x)
        y = ops.sum(activations.mish(x) + activations.relu(x, max_value=1.0))
    g = tape.gradient(y, x)
    v = x.numpy()
    sp = np.log1p(np.exp(v))
    t = np.tanh(sp)
    want = t + v * (1 - t ** 2) / (1 + np.exp(-v)) + ((v > 0) & (v < 1))
    assert_close(g, want, rtol=1e-12)


# ------------------------------------------------------------------------------------------------
# get / serialize / deserialize
# ------------------------------------------------------------------------------------------------

ALL_NAMES = NAMES + sorted(ACTIVATION_ALIASES) + ["softmax", "log_softmax"]


@pytest.mark.parametrize("name", ALL_NAMES)
def test_get_serialize_round_trip(name):
    fn = activations.get(name)
    assert callable(fn)
    assert fn is getattr(activations, name)
    s = activations.serialize(fn)
    assert s == canonical_activation(name) if name in ACTIVATIONS or name in ACTIVATION_ALIASES \
        else s == name
    assert activations.get(s) is fn
    assert activations.deserialize(s) is fn
    assert activations.get(fn) is fn


def test_aliases_are_the_same_functions():
    assert activations.swish is activations.silu
    assert activations.hard_swish is activations.hard_silu
    assert activations.serialize(activations.get("swish")) == "silu"
    assert activations.serialize(activations.get("hard_swish")) == "hard_silu"


def test_get_none_and_callables():
    assert activations.get(None) is activations.linear

    def my_act(x):
        return x * 2

    assert activations.get(my_act) is my_act
    assert activations.serialize(my_act) == "my_act"
    assert activations.deserialize("my_act", custom_objects={"my_act": my_act}) is my_act


def test_unknown_name_error():
    with pytest.raises(ValueError) as e:
        activations.get("nope")
    assert str(e.value) == "Could not interpret activation function identifier: nope"
    with pytest.raises(ValueError, match="nope"):
        activations.deserialize("nope")
    with pytest.raises(ValueError, match="42"):
        activations.get(42)


def test_keras_config_dicts():
    config = {"module": "keras.activations", "class_name": "function", "config": "relu",
              "registered_name": "relu"}
    assert activations.get(config) is activations.relu
    assert activations.deserialize(config) is activations.relu
    with pytest.raises(ValueError, match="Could not interpret"):
        activations.get({"module": "keras.activations", "class_name": "function",
                         "config": "nope", "registered_name": "nope"})


def test_registered_custom_activation():
    saving = pytest.importorskip("rnnkit.saving")

    @saving.register_keras_serializable(package="TestActivations")
    def scaled_tanh(x):
        return 2.0 * ops.tanh(x)

    name = activations.serialize(scaled_tanh)
    assert name == "TestActivations>scaled_tanh"
    assert activations.get(name) is scaled_tanh
    assert activations.deserialize(name) is scaled_tanh
    assert activations.fused_name(scaled_tanh) is None


# ------------------------------------------------------------------------------------------------
# fused_name
# ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", NAMES + sorted(ACTIVATION_ALIASES))
def test_fused_name_of_builtins(name):
    want = canonical_activation(name)
    assert activations.fused_name(activations.get(name)) == want
    assert activations.fused_name(name) == want


def test_fused_name_of_ops_with_the_same_defaults():
    assert activations.fused_name(ops.tanh) == "tanh"
    assert activations.fused_name(ops.sigmoid) == "sigmoid"
    assert activations.fused_name(ops.swish) == "silu"
    assert activations.fused_name(ops.exp) == "exponential"
    assert activations.fused_name(ops.gelu) is None       # approximate=True by default
    assert activations.fused_name(None) == "linear"


@pytest.mark.parametrize("fn", [
    lambda x: x, activations.softmax, activations.log_softmax, ops.softmax,
    functools.partial(activations.relu, max_value=6.0), functools.partial(activations.relu),
    np.tanh, "softmax", "nope", activations.glu, activations.threshold],
    ids=["lambda", "softmax", "log_softmax", "ops.softmax", "partial_relu6", "partial_relu",
         "np.tanh", "str_softmax", "str_nope", "glu", "threshold"])
def test_fused_name_none(fn):
    assert activations.fused_name(fn) is None
