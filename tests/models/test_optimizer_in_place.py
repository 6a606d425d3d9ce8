"""Built-in update rules (Adam, AdamW, SGD, RMSprop) update the variables in place.

The rules are checked against NumPy written from their equations (Keras 3's), step by step;
the versions of the updated variables move on (caches keyed on them, such as the packed
weights of the streaming path, must see the change); a subclass's own `update_step` is still
the one that runs.
"""

import numpy as np
import pytest

import rnnkit as keras


def _reference(name, config, weights, grads_per_step):
    """The variables after each step, from the equations in float64 then cast per step."""
    dt = weights[0].dtype
    w = [x.copy() for x in weights]
    state = [dict(m=np.zeros_like(x), v=np.zeros_like(x), vhat=np.zeros_like(x),
                  a=np.zeros_like(x), mom=np.zeros_like(x)) for x in w]
    # The learning rate is a float32 variable (as in Keras), whatever the dtype of the weights.
    lr = np.asarray(np.float32(config.get("learning_rate", 0.001 if name != "sgd" else 0.01)), dt)
    history = []
    for t, grads in enumerate(grads_per_step, start=1):
        for x, g, s in zip(w, grads, state):
            if name == "adam":
                b1, b2, eps = 0.9, 0.999, 1e-7
                s["m"][...] = s["m"] + (g - s["m"]) * dt.type(1 - b1)
                s["v"][...] = s["v"] + (g * g - s["v"]) * dt.type(1 - b2)
                alpha = lr * np.sqrt(1 - dt.type(b2) ** dt.type(t)) / (1 - dt.type(b1) ** dt.type(t))
                v = s["v"]
                if config.get("amsgrad"):
                    s["vhat"][...] = np.maximum(s["vhat"], s["v"])
                    v = s["vhat"]
                x[...] = x - (s["m"] * alpha) / (np.sqrt(v) + dt.type(eps))
            elif name == "sgd":
                mu = dt.type(config.get("momentum", 0.0))
                if mu == 0:
                    x[...] = x - g * lr
                else:
                    s["m"][...] = s["m"] * mu - g * lr
                    if config.get("nesterov"):
                        x[...] = x + (s["m"] * mu - g * lr)
                    else:
                        x[...] = x + s["m"]
            elif name == "rmsprop":
                rho, eps, mu = 0.9, 1e-7, config.get("momentum", 0.0)
                s["v"][...] = dt.type(rho) * s["v"] + dt.type(1 - rho) * g * g
                if config.get("centered"):
                    s["a"][...] = dt.type(rho) * s["a"] + dt.type(1 - rho) * g
                    denominator = s["v"] - s["a"] * s["a"] + dt.type(eps)
                else:
                    denominator = s["v"] + dt.type(eps)
                increment = (lr * g) / np.sqrt(denominator)
                if mu > 0:
                    s["mom"][...] = dt.type(mu) * s["mom"] + increment
                    x[...] = x - s["mom"]
                else:
                    x[...] = x - increment
        history.append([x.copy() for x in w])
    return history


CASES = [("adam", {}), ("adam", {"amsgrad": True}), ("sgd", {}), ("sgd", {"momentum": 0.9}),
         ("sgd", {"momentum": 0.8, "nesterov": True}), ("rmsprop", {}),
         ("rmsprop", {"momentum": 0.5, "centered": True})]


@pytest.mark.parametrize("name,config", CASES)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_rules_follow_their_equations(name, config, dtype):
    rng = np.random.default_rng(7)
    initial = [rng.standard_normal(s).astype(dtype) for s in [(3, 4), (4,), (2, 1, 3), ()]]
    grads = [[rng.standard_normal(x.shape).astype(dtype) for x in initial] for _ in range(4)]
    variables = [keras.Variable(x.copy(), dtype=dtype) for x in initial]
    optimizer = keras.optimizers.get({"class_name": name, "config": config})
    expected = _reference(name, config, initial, grads)
    tol = 1e-6 if dtype == "float32" else 1e-13
    for step_grads, step_expected in zip(grads, expected):
        versions = [v.version for v in variables]
        optimizer.apply_gradients(zip(step_grads, variables))
        for variable, want, before in zip(variables, step_expected, versions):
            assert variable.version > before
            np.testing.assert_allclose(variable.numpy(), want, rtol=tol, atol=tol)


def test_update_step_called_directly_matches_apply():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((5, 3)).astype("float32")
    g = rng.standard_normal((5, 3)).astype("float32")
    a, b = keras.Variable(x.copy()), keras.Variable(x.copy())
    opt_a, opt_b = keras.optimizers.Adam(), keras.optimizers.Adam()
    opt_a.apply_gradients([(g, a)])
    opt_b.build([b])
    opt_b.update_step(g, b, opt_b.learning_rate)
    np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_a_subclass_update_step_is_used():
    class HalfAdam(keras.optimizers.Adam):
        def update_step(self, gradient, variable, learning_rate):
            super().update_step(gradient * 0.5, variable, learning_rate)

    rng = np.random.default_rng(1)
    x = rng.standard_normal(4).astype("float32")
    g = rng.standard_normal(4).astype("float32")
    half, plain = keras.Variable(x.copy()), keras.Variable(x.copy())
    HalfAdam().apply_gradients([(g, half)])
    keras.optimizers.Adam().apply_gradients([(g * 0.5, plain)])
    np.testing.assert_array_equal(half.numpy(), plain.numpy())
