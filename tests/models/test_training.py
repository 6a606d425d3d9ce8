"""compile / fit / evaluate / predict: update rules against hand NumPy, whole-model gradients
against finite differences, the loop's bookkeeping, stateful training, errors."""

import os

import numpy as np
import pytest

import rnnkit as keras
from rnnkit import layers, ops
from helpers import make_x
from helpers import assert_close, assert_same  # noqa: E402
import paths

MNIST = str(paths.SHARED_MNIST)


def dense_model(units=3, dim=4, dtype="float64"):
    model = keras.Sequential([keras.Input((dim,)), layers.Dense(units, dtype=dtype)])
    return model


def test_one_sgd_step_equals_numpy(rng):
    model = dense_model()
    x = rng.standard_normal((8, 4))
    y = rng.standard_normal((8, 3))
    w, b = model.get_weights()
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.125), loss="mse")
    loss = model.train_on_batch(x, y)
    err = x @ w + b - y
    assert_close(loss, np.mean(err ** 2), rtol=1e-12)
    grad_w = 2 * x.T @ err / err.size
    grad_b = 2 * err.sum(0) / err.size
    new_w, new_b = model.get_weights()
    assert_close(new_w, w - 0.125 * grad_w, rtol=1e-12, atol=1e-14)
    assert_close(new_b, b - 0.125 * grad_b, rtol=1e-12, atol=1e-14)


def test_adam_steps_equal_numpy(rng):
    model = dense_model()
    x = rng.standard_normal((6, 4))
    y = rng.standard_normal((6, 3))
    params = model.get_weights()
    lr, b1, b2, eps = 0.0625, 0.9, 0.999, 1e-7
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=lr), loss="mse")
    m = [np.zeros_like(p) for p in params]
    v = [np.zeros_like(p) for p in params]
    for t in range(1, 4):
        model.train_on_batch(x, y)
        w, b = params
        err = x @ w + b - y
        grads = [2 * x.T @ err / err.size, 2 * err.sum(0) / err.size]
        alpha = lr * np.sqrt(1 - b2 ** t) / (1 - b1 ** t)
        for k in range(2):
            m[k] += (1 - b1) * (grads[k] - m[k])
            v[k] += (1 - b2) * (grads[k] ** 2 - v[k])
            params[k] = params[k] - alpha * m[k] / (np.sqrt(v[k]) + eps)
        for got, expected in zip(model.get_weights(), params):
            assert_close(got, expected, rtol=1e-9, atol=1e-12)


def test_whole_model_gradients_match_finite_differences(rng):
    model = keras.Sequential([keras.Input((5, 3)), layers.LSTM(4, dtype="float64"),
                              layers.BatchNormalization(dtype="float64"),
                              layers.Dense(3, dtype="float64")])
    x = rng.standard_normal((6, 5, 3))
    y = rng.integers(0, 3, 6)
    loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    with keras.GradientTape() as tape:
        loss = loss_fn(y, model(x, training=True))
    variables = model.trainable_weights
    grads = tape.gradient(loss, variables)
    moving = [w.numpy() for w in model.non_trainable_weights]

    def loss_now():
        value = float(np.asarray(loss_fn(y, model(x, training=True))))
        for w, saved in zip(model.non_trainable_weights, moving):
            w.assign(saved)  # training-mode calls update BN's moving statistics
        return value

    eps = 1e-6
    for variable, grad in zip(variables, grads):
        base = variable.numpy()
        flat = base.reshape(-1)
        picks = rng.choice(flat.size, size=min(flat.size, 6), replace=False)
        for index in picks:
            bumped = flat.copy()
            bumped[index] += eps
            variable.assign(bumped.reshape(base.shape))
            plus = loss_now()
            bumped[index] -= 2 * eps
            variable.assign(bumped.reshape(base.shape))
            minus = loss_now()
            variable.assign(base)
            numeric = (plus - minus) / (2 * eps)
            assert abs(numeric - np.asarray(grad).reshape(-1)[index]) < 1e-7 + 1e-6 * abs(numeric)


def test_fit_history_logs_and_epoch_loss(rng):
    x = make_x(rng, 10, 4, 3, np.float32)
    y = rng.integers(0, 2, 10)
    model = keras.Sequential([keras.Input((4, 3)), layers.GRU(4), layers.Dense(2)])
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.0),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    history = model.fit(x, y, batch_size=4, epochs=2, verbose=0, shuffle=False,
                        validation_data=(x, y))
    assert history.params == {"verbose": 0, "epochs": 2, "steps": 3}
    assert list(history.history) == ["accuracy", "loss", "val_accuracy", "val_loss"]
    assert history.epoch == [0, 1]
    evaluated = model.evaluate(x, y, verbose=0)
    # With lr=0 the epoch loss is the per-sample mean, as evaluate computes it.
    assert_close(history.history["loss"][-1], evaluated[0], rtol=1e-5)
    assert_close(history.history["val_loss"][-1], evaluated[0], rtol=1e-5)
    logits = model.predict(x, verbose=0)
    assert_close(evaluated[1], np.mean(logits.argmax(1) == y))
    assert model.predict(x, batch_size=3, verbose=0).shape == (10, 2)


def test_validation_split_sample_and_class_weights(rng):
    x = make_x(rng, 20, 3, 2, np.float32)
    y = rng.integers(0, 2, 20)
    model = keras.Sequential([keras.Input((3, 2)), layers.SimpleRNN(3), layers.Dense(2)])
    model.compile(optimizer="sgd", loss=keras.losses.SparseCategoricalCrossentropy(True))
    history = model.fit(x, y, validation_split=0.25, epochs=1, verbose=0, batch_size=5)
    assert history.params["steps"] == 3 and "val_loss" in history.history
    weights = np.zeros(20, np.float32)
    weights[:5] = 1.0
    zero_weighted = model.evaluate(x, y, sample_weight=weights, verbose=0)
    full = model.evaluate(x[:5], y[:5], verbose=0, batch_size=32)
    assert_close(zero_weighted, full * 5 / 20, rtol=1e-5)
    before = model.get_weights()
    model.fit(x, y, class_weight={0: 0.0, 1: 0.0}, epochs=1, verbose=0)
    for a, b in zip(before, model.get_weights()):
        assert_same(a, b)


def test_training_lowers_the_loss(rng):
    x = rng.standard_normal((256, 6, 3)).astype(np.float32)
    y = (x[:, :, 0].sum(axis=1) > 0).astype(np.int64)
    model = keras.Sequential([keras.Input((6, 3)), layers.LSTM(8), layers.Dense(2)])
    model.compile(optimizer=keras.optimizers.Adam(0.02), loss=keras.losses.SparseCategoricalCrossentropy(True),
                  metrics=["accuracy"])
    history = model.fit(x, y, epochs=10, batch_size=32, verbose=0)
    assert history.history["loss"][-1] < 0.5 * history.history["loss"][0]
    assert history.history["accuracy"][-1] > 0.9


@pytest.mark.skipif(not os.path.exists(MNIST), reason="the shared MNIST subset is absent")
def test_training_on_mnist_subset_learns():
    (x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data(MNIST)
    x_train, x_test = (x_train[:2000] / 255.0).astype(np.float32), (x_test / 255.0)
    keras.utils.set_random_seed(1)
    model = keras.Sequential([keras.Input((28, 28)), layers.LSTM(32),
                              layers.BatchNormalization(), layers.Dense(10)])
    model.compile(optimizer=keras.optimizers.Adam(0.01),
                  loss=keras.losses.SparseCategoricalCrossentropy(True), metrics=["accuracy"])
    history = model.fit(x_train, y_train[:2000], epochs=3, batch_size=64, verbose=0,
                        validation_data=(x_test, y_test))
    assert history.history["loss"][-1] < 0.6 * history.history["loss"][0]
    assert history.history["val_accuracy"][-1] > 0.6


def test_stateful_model_carries_states_across_batches(rng):
    batch = 4
    model = keras.Sequential([keras.Input(batch_shape=(batch, 3, 2)),
                              layers.LSTM(3, stateful=True, return_sequences=True)])
    first, second = make_x(rng, batch, 3, 2, np.float32), make_x(rng, batch, 3, 2, np.float32)
    predicted = model.predict(np.concatenate([first, second]), batch_size=batch, verbose=0)
    plain = keras.Sequential([keras.Input((6, 2)), layers.LSTM(3, return_sequences=True)])
    plain.set_weights(model.get_weights())
    whole = plain(np.concatenate([first, second], axis=1))
    assert_close(predicted[batch:], whole[:, 3:], atol=1e-6)
    model.reset_states()
    model.compile(optimizer="sgd", loss="mse")
    target = np.zeros((2 * batch, 3, 3), np.float32)
    model.fit(np.concatenate([first, second]), target, batch_size=batch, shuffle=False,
              epochs=1, verbose=0)
    states = model.layers[0].states
    assert np.abs(states[0].numpy()).sum() > 0


def test_multi_output_losses_and_weights(rng):
    inputs = keras.Input((3, 2))
    hidden = layers.GRU(4)(inputs)
    a = layers.Dense(1, name="a")(hidden)
    b = layers.Dense(2, name="b")(hidden)
    model = keras.Model(inputs, [a, b])
    model.compile(optimizer="sgd", loss={"a": "mse", "b": "mae"}, loss_weights=[2.0, 1.0],
                  metrics={"a": ["mae"]})
    x = make_x(rng, 6, 3, 2, np.float32)
    ya, yb = rng.standard_normal((6, 1)), rng.standard_normal((6, 2))
    logs = model.evaluate(x, [ya, yb], verbose=0, return_dict=True)
    pa, pb = model.predict(x, verbose=0)
    assert_close(logs["a_loss"], np.mean((pa - ya) ** 2), rtol=1e-5)
    assert_close(logs["b_loss"], np.mean(np.abs(pb - yb)), rtol=1e-5)
    assert_close(logs["loss"], 2 * logs["a_loss"] + logs["b_loss"], rtol=1e-5)
    assert_close(logs["a_mae"], np.mean(np.abs(pa - ya)), rtol=1e-5)


def test_callbacks_in_fit(tmp_path, rng):
    x = make_x(rng, 16, 3, 2, np.float32)
    y = rng.standard_normal((16, 1)).astype(np.float32)
    model = keras.Sequential([keras.Input((3, 2)), layers.SimpleRNN(3), layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.0), loss="mse")
    stopper = keras.callbacks.EarlyStopping(monitor="loss", patience=1, min_delta=1e-4)
    history = model.fit(x, y, epochs=10, verbose=0, callbacks=[stopper])
    assert len(history.epoch) == 2  # no improvement with lr=0: stops after `patience` epochs
    path = str(tmp_path / "model_{epoch:02d}.keras")
    model.fit(x, y, epochs=2, verbose=0, callbacks=[keras.callbacks.ModelCheckpoint(path)])
    loaded = keras.models.load_model(tmp_path / "model_02.keras")
    assert_same(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    assert loaded.compiled and type(loaded.optimizer).__name__ == "SGD"


def test_progress_bar_output(capsys, rng):
    x = make_x(rng, 8, 3, 2, np.float32)
    y = rng.standard_normal((8, 1)).astype(np.float32)
    model = keras.Sequential([keras.Input((3, 2)), layers.SimpleRNN(3), layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse", metrics=["mae"])
    model.fit(x, y, epochs=2, batch_size=4, verbose=2)
    out = capsys.readouterr().out
    assert "Epoch 1/2" in out and "Epoch 2/2" in out
    assert "2/2 - " in out and " - loss: " in out and " - mae: " in out


@pytest.mark.parametrize("action,error,match", [
    (lambda m, x, y: m.fit(x, y, verbose=0), ValueError, r"must call `compile\(\)`"),
    (lambda m, x, y: (m.compile(loss="mse"), m.fit(x, y[:3], verbose=0)), ValueError,
     "Data cardinality is ambiguous"),
    (lambda m, x, y: (m.compile(loss="nope"), m.fit(x, y, verbose=0)), ValueError, "nope"),
    (lambda m, x, y: m.compile(optimizer="nope", loss="mse"), ValueError, "nope"),
    (lambda m, x, y: (m.compile(loss="mse", metrics=["nope"]), m.fit(x, y, verbose=0)),
     ValueError, "nope"),
    (lambda m, x, y: (m.compile(loss=keras.losses.SparseCategoricalCrossentropy()),
                      m.fit(x, np.full(4, 7), verbose=0)), ValueError, "out of range"),
    (lambda m, x, y: (m.compile(loss="mse"), m.fit(np.ones((4, 3, 5), np.float32), y,
                                                   verbose=0)), ValueError,
     r"expected axis -1 of input shape to have value 2, but received input with shape "
     r"\(4, 3, 5\)"),
    (lambda m, x, y: (m.compile(loss="mse"), m.fit(np.ones((4, 3), np.float32), y, verbose=0)),
     ValueError, "ndim"),
])
def test_training_errors(action, error, match):
    model = keras.Sequential([keras.Input((3, 2)), layers.LSTM(3), layers.Dense(2),
                              layers.Activation("softmax")])
    x = np.ones((4, 3, 2), np.float32)
    y = np.ones((4, 2), np.float32)
    with pytest.raises(error, match=match):
        action(model, x, y)


def _dense_model(seed=0):
    keras.utils.set_random_seed(seed)
    return keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])


def test_loss_scale_factor_leaves_the_update_unchanged():
    """fit scales the loss by `loss_scale_factor` and the optimizer divides it back out, so the
    step is the unscaled one (Keras' rule)."""
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(8, 3)).astype("float32"), rng.normal(size=(8, 2)).astype("float32")
    runs = []
    for factor in (None, 10.0):
        model = _dense_model()
        model.compile(optimizer=keras.optimizers.SGD(0.1, loss_scale_factor=factor), loss="mse")
        history = model.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0)
        runs.append((model.get_weights(), history.history["loss"]))
    for a, b in zip(runs[0][0], runs[1][0]):
        assert_close(a, b, rtol=1e-6, atol=1e-7)
    assert_close(runs[0][1], runs[1][1], rtol=1e-6)   # the unscaled loss is logged
    assert not np.allclose(runs[0][0][0], _dense_model().get_weights()[0])


def test_use_ema_weights_become_their_moving_average_after_fit():
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(16, 3)).astype("float32"), rng.normal(size=(16, 2)).astype("float32")
    model = _dense_model()
    optimizer = keras.optimizers.SGD(0.1, use_ema=True, ema_momentum=0.5)
    model.compile(optimizer=optimizer, loss="mse")
    seen = []
    last = keras.callbacks.LambdaCallback(
        on_train_end=lambda logs: seen.append([w.numpy().copy() for w in model.trainable_weights]))
    model.fit(x, y, batch_size=4, epochs=2, shuffle=False, verbose=0, callbacks=[last])
    averages = [v.numpy() for v in optimizer._model_variables_moving_average]
    for weight, average, at_end in zip(model.get_weights(), averages, seen[0]):
        assert_same(weight, average)
        assert_same(at_end, average)   # written back before on_train_end
    plain = _dense_model()
    plain.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
    plain.fit(x, y, batch_size=4, epochs=2, shuffle=False, verbose=0)
    assert not np.allclose(plain.get_weights()[0], model.get_weights()[0])
