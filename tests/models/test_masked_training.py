"""Masked timesteps and weighted metrics in compile / fit / evaluate / *_on_batch (Keras' rules).

Every expected number is computed here by hand from the definitions: a model's output mask
multiplies the per-step loss and metric weights, so masked steps count neither in the sums nor
in the counts; `metrics=` ignore sample and class weights, `weighted_metrics=` use them.
"""

import numpy as np
import pytest

import rnnkit as keras
from rnnkit import layers, masking
from helpers import assert_close, assert_same  # noqa: E402

B, T, V, C = 10, 7, 30, 4


def _data(seed=0):
    rng = np.random.default_rng(seed)
    ids = rng.integers(1, V, size=(B, T))
    for i, length in enumerate(rng.integers(0, T + 1, size=B)):
        ids[i, length:] = 0
    ids[0, :] = rng.integers(1, V, size=T)   # one full row
    ids[3, :] = 0                            # one fully masked row
    y = rng.integers(0, C, size=(B, T))
    return ids, y, rng.random((B, T)).astype("float32"), rng.random(B).astype("float32")


def _sequential():
    keras.utils.set_random_seed(3)
    return keras.Sequential([
        keras.Input((None,), dtype="int32"), layers.Embedding(V, 8, mask_zero=True),
        layers.Bidirectional(layers.LSTM(8, return_sequences=True)),
        layers.TimeDistributed(layers.Dense(C))])


def _functional():
    keras.utils.set_random_seed(3)
    ids = keras.Input((None,), dtype="int32")
    h = layers.Embedding(V, 8, mask_zero=True)(ids)
    h = layers.GRU(8, return_sequences=True)(h)
    return keras.Model(ids, layers.Dense(C)(h))


def _compile(model, **kwargs):
    model.compile(optimizer=keras.optimizers.SGD(0.1),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True), **kwargs)
    return model


def _per_step(model, ids, y):
    """Per-step cross-entropy and correctness, computed in NumPy from the model's logits."""
    logits = np.asarray(model.predict(ids, verbose=0), np.float64)
    shifted = logits - logits.max(-1, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(-1, keepdims=True))
    ce = -np.take_along_axis(log_p, y[..., None], -1)[..., 0]
    correct = (logits.argmax(-1) == y).astype(np.float64)
    return ce, correct, (ids != 0).astype(np.float64)


@pytest.mark.parametrize("build", [_sequential, _functional])
def test_model_output_carries_its_mask(build):
    ids, *_ = _data()
    out = build()(ids)
    assert_same(masking.get_keras_mask(out), ids != 0)


@pytest.mark.parametrize("build", [_sequential, _functional])
def test_evaluate_leaves_masked_steps_out(build):
    ids, y, _, _ = _data()
    model = _compile(build(), metrics=["accuracy"])
    ce, correct, m = _per_step(model, ids, y)
    loss, acc = model.evaluate(ids, y, batch_size=B, verbose=0)
    assert_close(loss, (ce * m).sum() / m.sum(), rtol=2e-6)
    assert_close(acc, (correct * m).sum() / m.sum(), rtol=1e-6)
    # Counting the padding would give a different number: the test can tell them apart.
    assert abs(acc - correct.mean()) > 1e-3
    # test_on_batch is the same computation on one batch.
    assert_close(model.test_on_batch(ids, y), [loss, acc], rtol=1e-6)


def test_evaluate_in_batches_averages_batch_losses_by_size():
    ids, y, _, _ = _data()
    model = _compile(_sequential(), metrics=["accuracy"])
    ce, correct, m = _per_step(model, ids, y)
    batch_losses = [(ce[s] * m[s]).sum() / m[s].sum() if m[s].sum() else 0.0
                    for s in (slice(0, 4), slice(4, 8), slice(8, 10))]
    expected = (4 * batch_losses[0] + 4 * batch_losses[1] + 2 * batch_losses[2]) / B
    loss, acc = model.evaluate(ids, y, batch_size=4, verbose=0)
    assert_close(loss, expected, rtol=2e-6)
    # Metrics accumulate over the batches: one masked mean over everything.
    assert_close(acc, (correct * m).sum() / m.sum(), rtol=1e-6)


def test_fully_masked_batch_has_zero_loss():
    ids, y, _, _ = _data()
    ids[:] = 0
    model = _compile(_sequential(), metrics=["accuracy"])
    loss, acc = model.evaluate(ids, y, verbose=0)
    assert loss == 0.0 and acc == 0.0


@pytest.mark.parametrize("weights", ["per_step", "per_sample"])
def test_sample_weights_and_mask(weights):
    ids, y, w_steps, w_samples = _data()
    w = w_steps if weights == "per_step" else w_samples
    model = _compile(_sequential(), metrics=["accuracy"], weighted_metrics=["accuracy"])
    ce, correct, m = _per_step(model, ids, y)
    w_full = w if w.ndim == 2 else np.broadcast_to(w[:, None], (B, T))
    logs = model.evaluate(ids, y, sample_weight=w, batch_size=B, verbose=0, return_dict=True)
    assert list(logs) == ["accuracy", "loss", "weighted_accuracy"]   # sorted, as Keras logs
    # Loss: sum(w * m * ce) / sum(m)  (Keras scales the mask by total / valid).
    assert_close(logs["loss"], (w_full * m * ce).sum() / m.sum(), rtol=2e-6)
    # Plain metric: masked, unweighted; weighted metric: masked and weighted.
    assert_close(logs["accuracy"], (correct * m).sum() / m.sum(), rtol=1e-6)
    assert_close(logs["weighted_accuracy"],
                 (correct * m * w_full).sum() / (m * w_full).sum(), rtol=1e-6)
    tob = model.test_on_batch(ids, y, sample_weight=w, return_dict=True)
    for key in logs:
        assert_close(tob[key], logs[key], rtol=1e-6)


def test_training_ignores_targets_at_masked_steps():
    """fit and train_on_batch fit only unmasked steps: changing the targets under the mask
    changes nothing, while changing one unmasked target does."""
    ids, y, w_steps, _ = _data()
    other = y.copy()
    other[ids == 0] = (y[ids == 0] + 1) % C
    changed = y.copy()
    changed[0, 0] = (y[0, 0] + 1) % C

    def train(targets):
        model = _compile(_sequential(), metrics=["accuracy"])
        history = model.fit(ids, targets, batch_size=4, epochs=2, shuffle=False, verbose=0,
                            sample_weight=w_steps)
        logs = model.train_on_batch(ids, targets, return_dict=True)
        return model.get_weights(), history.history, logs

    base, same, diff = train(y), train(other), train(changed)
    for a, b in zip(base[0], same[0]):
        assert_same(a, b)
    assert base[1] == same[1] and base[2] == same[2]
    assert any(not np.array_equal(a, b) for a, b in zip(base[0], diff[0]))


def test_train_on_batch_loss_and_metrics_before_the_update():
    ids, y, w_steps, _ = _data()
    model = _compile(_sequential(), metrics=["accuracy"], weighted_metrics=["accuracy"])
    ce, correct, m = _per_step(model, ids, y)
    logs = model.train_on_batch(ids, y, sample_weight=w_steps, return_dict=True)
    assert_close(logs["loss"], (w_steps * m * ce).sum() / m.sum(), rtol=2e-6)
    assert_close(logs["accuracy"], (correct * m).sum() / m.sum(), rtol=1e-6)
    assert_close(logs["weighted_accuracy"],
                 (correct * m * w_steps).sum() / (m * w_steps).sum(), rtol=1e-6)


def test_masked_loss_gradient_matches_hand_sgd_step():
    """One SGD step on the masked loss == the step computed from the masked loss's gradient,
    taken here by central differences on the last Dense bias (float64)."""
    ids, y, _, _ = _data()
    keras.utils.set_random_seed(5)
    model = keras.Sequential([
        keras.Input((None,), dtype="int32"), layers.Embedding(V, 6, mask_zero=True, dtype="float64"),
        layers.SimpleRNN(5, return_sequences=True, dtype="float64"),
        layers.Dense(C, dtype="float64")])
    _compile(model)
    bias = model.layers[-1].bias
    start = [w.copy() for w in model.get_weights()]

    def loss_at(b):
        bias.assign(b)
        ce, _, m = _per_step(model, ids, y)
        return (ce * m).sum() / m.sum()

    b0 = bias.numpy().copy()
    grad = np.zeros_like(b0)
    for k in range(C):
        e = np.zeros_like(b0)
        e[k] = 1e-6
        grad[k] = (loss_at(b0 + e) - loss_at(b0 - e)) / 2e-6
    model.set_weights(start)
    model.train_on_batch(ids, y)
    assert_close(bias.numpy(), b0 - 0.1 * grad, rtol=0, atol=1e-8)


# -- weighted_metrics ----------------------------------------------------------------------------

def _classifier(seed=0):
    keras.utils.set_random_seed(seed)
    return keras.Sequential([keras.Input((5,)), layers.Dense(3)])


def test_class_weight_weighs_only_weighted_metrics():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(32, 5)).astype("float32")
    y = rng.integers(0, 3, size=32)
    model = _compile(_classifier(), metrics=["accuracy"], weighted_metrics=["accuracy"])
    correct = (model.predict(x, verbose=0).argmax(-1) == y).astype(np.float64)
    w = np.array([1.0, 2.0, 3.0])[y]
    logs = model.evaluate(x, y, verbose=0, return_dict=True, sample_weight=w)
    assert_close(logs["accuracy"], correct.mean(), rtol=1e-6)
    assert_close(logs["weighted_accuracy"], (correct * w).sum() / w.sum(), rtol=1e-6)
    # class_weight in fit: the epoch's metrics are gathered while the weights change, so check
    # the names and that plain accuracy is a plain fraction of the 32 samples.
    history = model.fit(x, y, epochs=1, batch_size=32, verbose=0,
                        class_weight={0: 1, 1: 2, 2: 3})
    assert set(history.history) == {"loss", "accuracy", "weighted_accuracy"}
    assert_close(history.history["accuracy"][0] * 32,
                 round(history.history["accuracy"][0] * 32), atol=1e-4)
    assert_close(history.history["weighted_accuracy"][0], (correct * w).sum() / w.sum(),
                 rtol=1e-6)


def test_sample_weight_leaves_plain_metrics_alone():
    rng = np.random.default_rng(2)
    x = rng.normal(size=(16, 5)).astype("float32")
    y = rng.normal(size=(16, 3)).astype("float32")
    model = _classifier()
    model.compile(optimizer="sgd", loss="mse", metrics=["mae"], weighted_metrics=["mse"])
    pred = model.predict(x, verbose=0)
    w = rng.random(16)
    logs = model.evaluate(x, y, sample_weight=w, verbose=0, return_dict=True)
    mae, mse = np.abs(pred - y).mean(-1), ((pred - y) ** 2).mean(-1)
    assert list(logs) == ["loss", "mae", "mse"]   # no name clash: no `weighted_` prefix
    assert model.metrics_names == ["loss", "mae", "mse"]
    assert_close(logs["mae"], mae.mean(), rtol=1e-6)
    assert_close(logs["mse"], (mse * w).sum() / w.sum(), rtol=1e-6)
    assert_close(logs["loss"], (mse * w).mean(), rtol=1e-6)


def _two_outputs():
    keras.utils.set_random_seed(0)
    inputs = keras.Input((3,))
    return keras.Model(inputs, [layers.Dense(2, name="a")(inputs),
                                layers.Dense(1, name="b")(inputs)])


@pytest.mark.parametrize("kwargs,keys,listed", [
    # Log names as Keras 3.15 gives them (checked against Keras), and the order of the list
    # `evaluate` returns: loss, per-output losses, then the other names sorted.
    (dict(metrics=["mae", "mse"]), ["a_loss", "a_mae", "b_loss", "b_mse", "loss"],
     ["loss", "a_loss", "b_loss", "a_mae", "b_mse"]),
    (dict(metrics=[["mae", "mse"], "mse"], weighted_metrics=["mae", ["mse", "mae"]]),
     ["a_loss", "a_mae", "a_mse", "a_weighted_mae", "b_loss", "b_mae", "b_mse",
      "b_weighted_mse", "loss"],
     ["loss", "a_loss", "b_loss", "a_mae", "a_mse", "a_weighted_mae", "b_mae", "b_mse",
      "b_weighted_mse"]),
    (dict(metrics={"b": "mae"}, weighted_metrics={"b": ["mae"]}),
     ["a_loss", "b_loss", "b_mae", "b_weighted_mae", "loss"],
     ["loss", "a_loss", "b_loss", "b_mae", "b_weighted_mae"]),
    (dict(weighted_metrics=["mae", "mae"]), ["a_loss", "a_mae", "b_loss", "b_mae", "loss"],
     ["loss", "a_loss", "b_loss", "a_mae", "b_mae"]),
])
def test_multi_output_metric_names(kwargs, keys, listed):
    rng = np.random.default_rng(0)
    x = rng.random((8, 3)).astype("float32")
    ya, yb = rng.random((8, 2)), rng.random((8, 1))
    model = _two_outputs()
    model.compile(optimizer="sgd", loss="mse", **kwargs)
    logs = model.evaluate(x, [ya, yb], sample_weight=np.arange(8.0), verbose=0, return_dict=True)
    assert list(logs) == keys
    assert model.metrics_names == listed
    values = model.evaluate(x, [ya, yb], sample_weight=np.arange(8.0), verbose=0)
    assert_close(values, [logs[k] for k in listed])
    history = model.fit(x, [ya, yb], epochs=1, verbose=0, validation_data=(x, [ya, yb]))
    assert list(history.history) == keys + [f"val_{k}" for k in keys]
    # The weighted and the plain metric on the same output differ: sample weights reached one.
    if "b_weighted_mae" in logs:
        assert abs(logs["b_weighted_mae"] - logs["b_mae"]) > 1e-6


def test_single_output_duplicate_metric_names():
    model = _classifier()
    model.compile(optimizer="sgd", loss="mse", metrics=["mae", "mae"],
                  weighted_metrics=["mae", "mse"])
    x, y = np.ones((4, 5), "float32"), np.zeros((4, 3), "float32")
    logs = model.evaluate(x, y, verbose=0, return_dict=True)
    assert list(logs) == ["loss", "mae", "mae_1", "mse", "weighted_mae"]
    assert model.metrics_names == ["loss", "mae", "mse", "mae_1", "weighted_mae"]


@pytest.mark.parametrize("kwargs,match", [
    (dict(metrics="mae"), r"Expected `metrics` argument to be a list, tuple, or dict\. "
                          r"Received instead: metrics=mae"),
    (dict(weighted_metrics="mae"), r"Expected `weighted_metrics` argument to be a list"),
])
def test_metrics_must_be_a_collection(kwargs, match):
    with pytest.raises(ValueError, match=match):
        _classifier().compile(optimizer="sgd", loss="mse", **kwargs)


def test_multi_output_metrics_structure():
    x, ys = np.ones((2, 3), "float32"), [np.ones((2, 2)), np.ones((2, 1))]
    model = _two_outputs()
    model.compile(optimizer="sgd", loss="mse", metrics={"c": "mae"})
    with pytest.raises(ValueError, match=r"Invalid `metrics`: unknown output name\(s\) \['c'\]"):
        model.evaluate(x, ys, verbose=0)
    # A flat list of another length than the outputs applies to each output (tf.keras 2.x;
    # the Keras RNN guide's nested model relies on it).
    model.compile(optimizer="sgd", loss="mse", metrics=["mae"])
    assert list(model.evaluate(x, ys, verbose=0, return_dict=True)) == \
        ["a_loss", "a_mae", "b_loss", "b_mae", "loss"]
