"""The Keras 3 optimizers added in issue 15 (Nadam, Adamax, Adadelta, Ftrl, Lion, Lamb,
Adafactor, LossScaleOptimizer): each stepped several times from the same initial values and
gradients as Keras (tests/fixtures/training_tools/optimizers.json, made by
tools/make_training_tools_fixtures.py), with EMA, weight decay, clipping and gradient
accumulation; update rules against NumPy written from the definitions; configs, slots,
lookups and argument errors."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

import rnnkit as keras
from helpers import assert_close
from rnnkit import optimizers, saving
import paths

FIXTURES = str(paths.FIXTURES / "training_tools")
with open(os.path.join(FIXTURES, "optimizers.json")) as _f:
    KERAS_CASES = json.load(_f)
PLAIN_CASES = [c for c in KERAS_CASES if c["class_name"] != "LossScaleOptimizer"]
LSO_CASE = next(c for c in KERAS_CASES if c["class_name"] == "LossScaleOptimizer")


def _case_id(case):
    return case["class_name"] + "-" + "-".join(f"{k}={v}" for k, v in case["kwargs"].items())


def _run(opt, case):
    vk = keras.Variable(np.asarray(case["kernel"], np.float32))
    vb = keras.Variable(np.asarray(case["bias"], np.float32))
    trajectory = []
    for gk, gb in case["grads"]:
        opt.apply([np.asarray(gk, np.float32), np.asarray(gb, np.float32)], [vk, vb])
        trajectory.append((vk.numpy().copy(), vb.numpy().copy()))
    return trajectory


@pytest.mark.parametrize("case", PLAIN_CASES, ids=[_case_id(c) for c in PLAIN_CASES])
def test_steps_match_keras(case):
    opt = getattr(optimizers, case["class_name"])(**case["kwargs"])
    trajectory = _run(opt, case)
    for step, ((k, b), (ek, eb)) in enumerate(zip(trajectory, case["trajectory"])):
        assert_close(k, ek, rtol=2e-5, atol=2e-6, err_msg=f"kernel, step {step + 1}")
        assert_close(b, eb, rtol=2e-5, atol=2e-6, err_msg=f"bias, step {step + 1}")
    # the same optimizer variables (slots, EMA averages, Nadam's product...) in Keras' order
    assert len(opt.variables) == len(case["variables"])
    for i, (ours, theirs) in enumerate(zip(opt.variables, case["variables"])):
        assert_close(np.asarray(ours.numpy(), np.float64).reshape(np.shape(theirs)), theirs,
                     rtol=2e-5, atol=2e-6, err_msg=f"variable {i} ({ours.path})")


@pytest.mark.parametrize("case", PLAIN_CASES, ids=[_case_id(c) for c in PLAIN_CASES])
def test_config_matches_keras(case):
    opt = getattr(optimizers, case["class_name"])(**case["kwargs"])
    config = opt.get_config()
    for key, value in case["config"].items():
        assert key in config, key
        if key == "name":  # Keras uniquifies default names per process (nadam, nadam_1)
            assert config[key].split("_")[0] == value.split("_")[0]
        elif isinstance(value, float):
            assert config[key] == pytest.approx(value, rel=1e-6), key
        else:
            assert config[key] == value, (key, config[key], value)
    clone = optimizers.deserialize(optimizers.serialize(opt))
    assert type(clone) is type(opt) and clone.get_config() == config


def test_loss_scale_optimizer_matches_keras():
    inner_name, inner_kwargs = LSO_CASE["inner"]
    opt = optimizers.LossScaleOptimizer(getattr(optimizers, inner_name)(**inner_kwargs),
                                        **LSO_CASE["kwargs"])
    vk = keras.Variable(np.asarray(LSO_CASE["kernel"], np.float32))
    vb = keras.Variable(np.asarray(LSO_CASE["bias"], np.float32))
    for step, ((gk, gb), (ek, eb)) in enumerate(zip(LSO_CASE["grads"],
                                                     LSO_CASE["trajectory"])):
        opt.apply([np.asarray(gk, np.float32), np.asarray(gb, np.float32)], [vk, vb])
        assert_close(vk.numpy(), ek, rtol=2e-5, atol=2e-6, err_msg=f"step {step + 1}")
        assert_close(vb.numpy(), eb, rtol=2e-5, atol=2e-6, err_msg=f"step {step + 1}")
    assert float(opt.dynamic_scale.numpy()) == LSO_CASE["final_scale"]
    assert int(opt.iterations.numpy()) == LSO_CASE["iterations"]
    assert len(opt.variables) == len(LSO_CASE["variables"])
    for ours, theirs in zip(opt.variables, LSO_CASE["variables"]):
        assert_close(np.asarray(ours.numpy(), np.float64), theirs, rtol=2e-5, atol=2e-6)


def test_loss_scale_optimizer_config_weights_and_errors():
    opt = optimizers.LossScaleOptimizer(optimizers.SGD(0.1), initial_scale=4.0,
                                        dynamic_growth_steps=3)
    config = opt.get_config()
    assert config["initial_scale"] == 4.0 and config["dynamic_growth_steps"] == 3
    clone = optimizers.deserialize(optimizers.serialize(opt))
    assert isinstance(clone.inner_optimizer, optimizers.SGD)
    assert clone.inner_optimizer.get_config() == opt.inner_optimizer.get_config()
    assert float(opt.scale_loss(1.5)) == 6.0
    v = keras.Variable(np.ones(2, np.float32))
    opt.build([v])
    weights = opt.get_weights()
    assert len(weights) == len(opt.variables) == 6
    opt.set_weights(weights)
    opt.learning_rate = 0.5
    assert float(opt.inner_optimizer.learning_rate) == 0.5
    with pytest.raises(ValueError, match="dynamic=False"):
        optimizers.LossScaleOptimizer(optimizers.SGD(), dynamic=False)
    with pytest.raises(ValueError, match="clipnorm"):
        optimizers.LossScaleOptimizer(optimizers.SGD(), clipnorm=1.0)
    with pytest.raises(ValueError, match="foo"):
        optimizers.LossScaleOptimizer(optimizers.SGD(), foo=1)
    with pytest.raises(TypeError, match="inner_optimizer"):
        optimizers.LossScaleOptimizer("sgd")


def test_loss_scale_optimizer_in_fit(rng):
    model = keras.Sequential([keras.layers.Input((3,)), keras.layers.Dense(1)])
    opt = optimizers.LossScaleOptimizer(optimizers.SGD(0.05), initial_scale=128.0)
    model.compile(opt, "mse")
    x = rng.normal(size=(32, 3)).astype("float32")
    y = x @ np.array([[1.0], [-2.0], [0.5]], np.float32)
    reference = keras.Sequential([keras.layers.Input((3,)), keras.layers.Dense(1)])
    reference.set_weights(model.get_weights())
    reference.compile(optimizers.SGD(0.05), "mse")
    model.fit(x, y, epochs=2, batch_size=8, verbose=0, shuffle=False)
    reference.fit(x, y, epochs=2, batch_size=8, verbose=0, shuffle=False)
    for a, b in zip(model.get_weights(), reference.get_weights()):
        assert_close(a, b, rtol=1e-5, atol=1e-6)


# ------------------------------------------------------------------------------------------------
# Against NumPy (one step from the definitions, float64)
# ------------------------------------------------------------------------------------------------

def _one_step(opt, w, g):
    v = keras.Variable(w.copy(), dtype="float64")
    opt.apply([g], [v])
    return v.numpy()


def test_first_steps_against_numpy(rng):
    w = rng.normal(size=(3, 2))
    g = rng.normal(size=(3, 2))
    lr = float(np.float32(0.1))  # the learning rate is a float32 variable, as in Keras
    # Adamax, step 1: m = 0.1 g, u = |g|, w -= lr m / ((1 - 0.9) (u + eps))
    expected = w - lr * 0.1 * g / (0.1 * (np.abs(g) + 1e-7))
    assert_close(_one_step(optimizers.Adamax(lr), w, g), expected, rtol=1e-10)
    # Lion, step 1: w -= lr sign((1 - beta_1) g)
    assert_close(_one_step(optimizers.Lion(lr), w, g), w - lr * np.sign(g), rtol=1e-12)
    # Adadelta, step 1
    acc = 0.05 * g ** 2
    delta = -np.sqrt(1e-7) * g / np.sqrt(acc + 1e-7)
    assert_close(_one_step(optimizers.Adadelta(lr), w, g), w + lr * delta, rtol=1e-10)
    # Lamb, step 1: update = m_hat / (sqrt(v_hat) + eps) = g / (|g| + eps)
    update = g / (np.abs(g) + 1e-7)
    ratio = np.linalg.norm(w) / np.linalg.norm(update)
    assert_close(_one_step(optimizers.Lamb(lr), w, g), w - ratio * lr * update, rtol=1e-9)
    # Ftrl, step 1 (no regularization): w = -z / (sqrt(n + g^2) / lr)
    n = 0.1 + g ** 2
    z = g - (np.sqrt(n) - np.sqrt(0.1)) / lr * w
    assert_close(_one_step(optimizers.Ftrl(lr), w, g), -z / (np.sqrt(n) / lr), rtol=1e-10)
    # Nadam, step 1
    u1, u2 = 0.9 * (1 - 0.5 * 0.96), 0.9 * (1 - 0.5 * 0.96 ** 2)
    m, v = 0.1 * g, 0.001 * g ** 2
    m_hat = u2 * m / (1 - u1 * u2) + (1 - u1) * g / (1 - u1)
    expected = w - lr * m_hat / (np.sqrt(v / 0.001) + 1e-7)
    assert_close(_one_step(optimizers.Nadam(lr), w, g), expected, rtol=1e-9)


def test_adafactor_factored_state(rng):
    w = rng.normal(size=(4, 3))
    g = rng.normal(size=(4, 3))
    opt = optimizers.Adafactor(learning_rate=0.5)
    got = _one_step(opt, w, g)
    g2 = g ** 2 + 1e-30
    beta_2 = 1 - 1.0 ** -0.8  # = 0 at step 1: the state is this step's statistics
    r, c = (1 - beta_2) * g2.mean(-1), (1 - beta_2) * g2.mean(-2)
    v = (r / r.mean())[:, None] * c[None, :]
    u = g / np.sqrt(v)
    u_hat = u / max(1.0, np.sqrt(np.mean(u ** 2)))
    alpha = max(1e-3, np.sqrt(np.mean(w ** 2))) * min(0.5, 1.0)  # 0.5 is exact in float32
    assert_close(got, w - alpha * u_hat, rtol=1e-9)
    assert opt.variables[2].shape == (4,) and opt.variables[3].shape == (3,)


@pytest.mark.parametrize("name", ["nadam", "adamax", "adadelta", "ftrl", "lion", "lamb",
                                  "adafactor", "Nadam", "LION"])
def test_get_by_name(name):
    assert type(optimizers.get(name)).__name__.lower() == name.lower()


def test_training_decreases_loss_with_each_optimizer(rng):
    x = rng.normal(size=(64, 3)).astype("float32")
    y = x @ np.array([[1.0], [-2.0], [0.5]], np.float32)
    for opt in [optimizers.Nadam(0.05), optimizers.Adamax(0.05), optimizers.Adadelta(1.0),
                optimizers.Ftrl(0.5), optimizers.Lion(0.01), optimizers.Lamb(0.05),
                optimizers.Adafactor(0.5)]:
        model = keras.Sequential([keras.layers.Input((3,)), keras.layers.Dense(1)])
        model.compile(opt, "mse")
        history = model.fit(x, y, epochs=5, batch_size=16, verbose=0)
        losses = history.history["loss"]
        assert losses[-1] < losses[0], type(opt).__name__


def test_argument_errors():
    with pytest.raises(ValueError, match="beta_1"):
        optimizers.Lion(beta_1=0.0)
    with pytest.raises(TypeError, match="beta_1"):
        optimizers.Lion(beta_1="a")
    with pytest.raises(ValueError, match="initial_accumulator_value"):
        optimizers.Ftrl(initial_accumulator_value=-1.0)
    with pytest.raises(ValueError, match="learning_rate_power"):
        optimizers.Ftrl(learning_rate_power=0.5)
    with pytest.raises(ValueError, match="l1_regularization_strength"):
        optimizers.Ftrl(l1_regularization_strength=-0.1)
    with pytest.raises(ValueError, match="Only one of"):
        optimizers.Nadam(clipnorm=1.0, clipvalue=1.0)
    with pytest.raises(ValueError, match="ema_momentum"):
        optimizers.Adamax(use_ema=True, ema_momentum=2.0)
    with pytest.raises(ValueError, match="not recognized"):
        optimizers.Lamb(foo=1)


def test_saving_optimizer_state_round_trip(rng, tmp_path):
    model = keras.Sequential([keras.layers.Input((3,)), keras.layers.Dense(2)])
    model.compile(optimizers.Nadam(0.01), "mse")
    x = rng.normal(size=(16, 3)).astype("float32")
    model.fit(x, x[:, :2], epochs=1, verbose=0)
    weights = model.optimizer.get_weights()
    fresh = optimizers.Nadam(0.01)
    fresh.build(model.trainable_variables)
    fresh.set_weights(weights)
    for a, b in zip(fresh.get_weights(), weights):
        np.testing.assert_array_equal(a, b)
    assert saving.deserialize(saving.serialize(fresh)).get_config() == fresh.get_config()


@pytest.mark.parametrize("make", [
    lambda: optimizers.Nadam(0.01), lambda: optimizers.Adafactor(),
    lambda: optimizers.Ftrl(0.1), lambda: optimizers.Lion(0.001),
    lambda: optimizers.LossScaleOptimizer(optimizers.Adam(0.01), initial_scale=8.0),
], ids=["nadam", "adafactor", "ftrl", "lion", "loss_scale"])
def test_model_save_load_keeps_optimizer_state(make, rng, tmp_path):
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    model.compile(make(), "mse", metrics=[keras.metrics.AUC(), keras.metrics.R2Score()])
    x = rng.normal(size=(8, 3)).astype("float32")
    model.fit(x, x[:, :2], verbose=0)
    model.save(tmp_path / "m.keras")
    restored = keras.models.load_model(tmp_path / "m.keras")
    assert type(restored.optimizer) is type(model.optimizer)
    ours = [np.asarray(v.numpy()) for v in model.optimizer.variables]
    theirs = [np.asarray(v.numpy()) for v in restored.optimizer.variables]
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs):
        np.testing.assert_array_equal(a, b)
