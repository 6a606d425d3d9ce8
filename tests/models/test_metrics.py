"""rnnkit.metrics: sample-weighted accumulation, the "accuracy" resolution rule (spec §12.4),
lookups, names and configs."""

from __future__ import annotations

import numpy as np
import pytest

from rnnkit import metrics
from rnnkit.autodiff import GradientTape, Tensor
from helpers import assert_close  # noqa: E402


def _f(x):
    return float(np.asarray(x))


# ------------------------------------------------------------------------------------------------
# Mean / Sum
# ------------------------------------------------------------------------------------------------

def test_mean_accumulates_over_batches_weighted(rng):
    m = metrics.Mean(name="loss")
    batches = [rng.normal(size=n) for n in (4, 4, 2)]
    weights = [rng.uniform(0, 2, n) for n in (4, 4, 2)]
    for b, w in zip(batches, weights):
        m.update_state(b, sample_weight=w)
    v, w = np.concatenate(batches), np.concatenate(weights)
    assert_close(_f(m.result()), np.sum(v * w) / np.sum(w), rtol=1e-6)
    assert m.name == "loss"
    assert np.asarray(m.result()).shape == ()


def test_mean_of_batch_losses_weighted_by_batch_size():
    # fit's epoch loss: batch means weighted by batch size (spec §12.5)
    m = metrics.Mean()
    for loss, n in ((0.8, 4), (0.7, 4), (0.75, 2)):
        m.update_state(loss, sample_weight=n)
    assert_close(_f(m.result()), (0.8 * 4 + 0.7 * 4 + 0.75 * 2) / 10, rtol=1e-6)
    m.reset_state()
    assert _f(m.result()) == 0.0
    m.update_state([1.0, 3.0])
    assert _f(m.result()) == 2.0


def test_mean_multidim_values_reduce_per_sample(rng):
    v = rng.normal(size=(3, 4))
    w = np.array([1.0, 0.0, 2.0])
    m = metrics.Mean()
    m.update_state(v, sample_weight=w)
    assert_close(_f(m.result()), np.sum(v.mean(1) * w) / 3.0, rtol=1e-6)
    m2 = metrics.Mean()
    m2.update_state(v)
    assert_close(_f(m2.result()), v.mean(), rtol=1e-6)


def test_sum():
    s = metrics.Sum()
    s.update_state([1.0, 2.0])
    s.update_state([3.0], sample_weight=[2.0])
    assert _f(s.result()) == 9.0


def test_variables_and_call():
    m = metrics.Mean()
    assert len(m.variables) == 2 and all(not v.trainable for v in m.variables)
    assert m.dtype == "float32"
    assert _f(m([2.0, 4.0])) == 3.0


# ------------------------------------------------------------------------------------------------
# Accuracy metrics
# ------------------------------------------------------------------------------------------------

def test_sparse_categorical_accuracy_accumulates_over_samples(rng):
    m = metrics.SparseCategoricalAccuracy()
    ys, ps = [], []
    for n in (5, 5, 3):
        y = rng.integers(0, 4, n)
        p = rng.normal(size=(n, 4))
        m.update_state(y, p)
        ys.append(y)
        ps.append(p)
    y, p = np.concatenate(ys), np.concatenate(ps)
    assert_close(_f(m.result()), np.mean(p.argmax(-1) == y), rtol=1e-6)
    # (N, 1) labels: same answer
    m2 = metrics.SparseCategoricalAccuracy()
    m2.update_state(y[:, None], p)
    assert _f(m2.result()) == _f(m.result())


def test_accuracy_with_sample_weight(rng):
    y = np.array([0, 1, 2, 1])
    p = np.eye(3)[[0, 2, 2, 1]]
    w = np.array([1.0, 3.0, 1.0, 0.0])
    m = metrics.SparseCategoricalAccuracy()
    m.update_state(y, p, sample_weight=w)
    assert_close(_f(m.result()), 2.0 / 5.0, rtol=1e-6)


def test_binary_accuracy_threshold():
    y = np.array([[1.0], [0.0], [1.0], [0.0]])
    p = np.array([[0.6], [0.4], [0.45], [0.7]])
    assert _f(metrics.BinaryAccuracy()(y, p)) == 0.5
    assert _f(metrics.BinaryAccuracy(threshold=0.42)(y, p)) == 0.75
    assert _f(metrics.BinaryAccuracy(threshold=0.65)(y, p)) == 0.25
    # (N,) labels against (N, 1) predictions
    assert _f(metrics.BinaryAccuracy()(y[:, 0], p)) == 0.5
    with pytest.raises(ValueError, match="threshold"):
        metrics.BinaryAccuracy(threshold=1.5)


def test_categorical_and_exact_accuracy(rng):
    y = np.eye(3)[[0, 1, 2, 2]]
    p = np.array([[0.8, 0.1, 0.1], [0.2, 0.2, 0.6], [0.1, 0.1, 0.8], [0.3, 0.4, 0.3]])
    assert _f(metrics.CategoricalAccuracy()(y, p)) == 0.5
    assert _f(metrics.Accuracy()([1, 2, 3, 4], [1, 2, 0, 4])) == 0.75


def test_sequence_accuracy_with_per_sample_weights(rng):
    y = rng.integers(0, 3, (2, 5))
    p = rng.normal(size=(2, 5, 3))
    w = np.array([1.0, 3.0])
    m = metrics.SparseCategoricalAccuracy()
    m.update_state(y, p, sample_weight=w)
    per_sample = (p.argmax(-1) == y).mean(1)
    assert_close(_f(m.result()), np.sum(per_sample * w) / 4.0, rtol=1e-6)


def test_mask_keyword(rng):
    y = rng.integers(0, 3, (2, 4))
    p = rng.normal(size=(2, 4, 3))
    mask = np.array([[1, 1, 0, 0], [1, 1, 1, 0]], bool)
    m = metrics.SparseCategoricalAccuracy()
    m.update_state(y, p, mask=mask)
    hits = p.argmax(-1) == y
    # the accuracy over the unmasked steps only
    assert_close(_f(m.result()), hits[mask].mean(), rtol=1e-6)
    m2 = metrics.SparseCategoricalAccuracy()
    m2.update_state(y, p, sample_weight=np.array([1.0, 0.0]), mask=mask)
    assert_close(_f(m2.result()), hits[0, :2].mean(), rtol=1e-6)


# ------------------------------------------------------------------------------------------------
# "accuracy" resolution (§12.4)
# ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("y_true_shape,y_pred_shape,cls", [
    ((8, 1), (8, 1), metrics.BinaryAccuracy),
    ((8,), (8, 1), metrics.BinaryAccuracy),            # last dim 1 checked first
    ((8, 3), (8, 1), metrics.BinaryAccuracy),
    ((8,), (8, 5), metrics.SparseCategoricalAccuracy),
    ((8, 1), (8, 5), metrics.SparseCategoricalAccuracy),
    ((8, 7), (8, 7, 5), metrics.SparseCategoricalAccuracy),
    ((8, 5), (8, 5), metrics.CategoricalAccuracy),
    ((8, 7, 5), (8, 7, 5), metrics.CategoricalAccuracy),
    ((None, 1), (None, 4), metrics.SparseCategoricalAccuracy),
    ((None, 4), (None, None), metrics.CategoricalAccuracy),
])
def test_resolve_accuracy(y_true_shape, y_pred_shape, cls):
    for name in ("accuracy", "acc"):
        m = metrics.resolve_accuracy(name, y_true_shape, y_pred_shape)
        assert type(m) is cls
        assert m.name == name


def test_get_accuracy_gives_marker_and_keeps_name(rng):
    for name in ("accuracy", "acc", "Accuracy"):
        marker = metrics.get(name)
        assert isinstance(marker, metrics.AccuracyMarker) and marker.name == name
        m = marker.resolve((4,), (4, 3))
        assert isinstance(m, metrics.SparseCategoricalAccuracy) and m.name == name
    # used directly, the marker resolves itself on its first update
    marker = metrics.get("acc")
    y = rng.integers(0, 3, 6)
    p = rng.normal(size=(6, 3))
    marker.update_state(y, p)
    assert isinstance(marker.resolved, metrics.SparseCategoricalAccuracy)
    assert_close(_f(marker.result()), np.mean(p.argmax(-1) == y), rtol=1e-6)
    marker.reset_state()
    assert _f(marker.result()) == 0.0


def test_get_metric_compile_rule():
    m = metrics.get_metric("accuracy", (4, 1), (4, 1))
    assert isinstance(m, metrics.BinaryAccuracy) and m.name == "accuracy"
    m = metrics.get_metric("acc", (4,), (4, 3))
    assert isinstance(m, metrics.SparseCategoricalAccuracy) and m.name == "acc"
    m = metrics.get_metric("mse")
    assert isinstance(m, metrics.MeanSquaredError) and m.name == "mse"
    m = metrics.get_metric("mean_absolute_error")
    assert isinstance(m, metrics.MeanAbsoluteError) and m.name == "mean_absolute_error"

    def my_metric(y_true, y_pred):
        return np.abs(np.asarray(y_true) - np.asarray(y_pred)).max(-1)

    m = metrics.get_metric(my_metric)
    assert isinstance(m, metrics.MeanMetricWrapper) and m.name == "my_metric"
    m.update_state(np.zeros((2, 2)), np.array([[1.0, 3.0], [2.0, 0.0]]))
    assert _f(m.result()) == 2.5
    inst = metrics.CategoricalAccuracy(name="cat")
    assert metrics.get_metric(inst) is inst and inst.name == "cat"
    assert isinstance(metrics.get_metric("accuracy"), metrics.AccuracyMarker)


# ------------------------------------------------------------------------------------------------
# Regression and crossentropy metrics
# ------------------------------------------------------------------------------------------------

def test_mse_mae_rmse_metrics(rng):
    y1, p1 = rng.normal(size=(4, 3)), rng.normal(size=(4, 3))
    y2, p2 = rng.normal(size=(2, 3)), rng.normal(size=(2, 3))
    w1, w2 = rng.uniform(0, 1, 4), rng.uniform(0, 1, 2)
    mse, mae, rmse = metrics.MeanSquaredError(), metrics.MeanAbsoluteError(), \
        metrics.RootMeanSquaredError()
    for y, p, w in ((y1, p1, w1), (y2, p2, w2)):
        for m in (mse, mae, rmse):
            m.update_state(y, p, sample_weight=w)
    y, p, w = np.concatenate([y1, y2]), np.concatenate([p1, p2]), np.concatenate([w1, w2])
    se = ((y - p) ** 2).mean(-1)
    assert_close(_f(mse.result()), np.sum(se * w) / w.sum(), rtol=1e-5)
    assert_close(_f(mae.result()), np.sum(np.abs(y - p).mean(-1) * w) / w.sum(),
                 rtol=1e-5)
    assert_close(_f(rmse.result()), np.sqrt(np.sum(se * w) / w.sum()), rtol=1e-5)


def test_crossentropy_metrics(rng):
    z = rng.normal(size=(5, 3))
    y = rng.integers(0, 3, 5)
    s = z - z.max(-1, keepdims=True)
    ce = -(s - np.log(np.exp(s).sum(-1, keepdims=True)))[np.arange(5), y]
    m = metrics.SparseCategoricalCrossentropy(from_logits=True)
    m.update_state(y, z)
    assert_close(_f(m.result()), ce.mean(), rtol=1e-5)
    m = metrics.CategoricalCrossentropy(from_logits=True)
    m.update_state(np.eye(3)[y], z)
    assert_close(_f(m.result()), ce.mean(), rtol=1e-5)
    p = rng.uniform(0.1, 0.9, (5, 1))
    t = rng.integers(0, 2, (5, 1)).astype(float)
    m = metrics.BinaryCrossentropy()
    m.update_state(t, p)
    assert_close(_f(m.result()),
                 np.mean(-(t * np.log(p) + (1 - t) * np.log(1 - p))), rtol=1e-5)


def test_tracked_inputs_are_read_not_recorded(rng):
    t = Tensor(rng.normal(size=(3, 2)))
    m = metrics.MeanSquaredError()
    with GradientTape() as tape:
        tape.watch(t)
        m.update_state(np.zeros((3, 2)), t)
        r = m.result()
    assert not isinstance(r, Tensor)
    assert_close(_f(r), np.mean(t.numpy() ** 2), rtol=1e-6)


# ------------------------------------------------------------------------------------------------
# Lookup and configs
# ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name,cls", [
    ("binary_accuracy", metrics.BinaryAccuracy),
    ("sparse_categorical_accuracy", metrics.SparseCategoricalAccuracy),
    ("categorical_accuracy", metrics.CategoricalAccuracy),
    ("mae", metrics.MeanAbsoluteError),
    ("mean_absolute_error", metrics.MeanAbsoluteError),
    ("mse", metrics.MeanSquaredError),
    ("mean_squared_error", metrics.MeanSquaredError),
    ("SparseCategoricalAccuracy", metrics.SparseCategoricalAccuracy),
])
def test_get_strings(name, cls):
    assert type(metrics.get(name)) is cls


def test_get_other_identifiers():
    assert metrics.get(None) is None
    m = metrics.Mean()
    assert metrics.get(m) is m
    assert isinstance(metrics.get(metrics.Mean), metrics.Mean)
    assert metrics.get(metrics.binary_accuracy) is metrics.binary_accuracy
    with pytest.raises(ValueError, match="Could not interpret metric identifier: f1_scorez"):
        metrics.get("f1_scorez")


@pytest.mark.parametrize("metric", [
    metrics.Mean(name="m"), metrics.Sum(), metrics.Accuracy(),
    metrics.BinaryAccuracy(threshold=0.3), metrics.CategoricalAccuracy(name="ca"),
    metrics.SparseCategoricalAccuracy(), metrics.MeanSquaredError(),
    metrics.MeanAbsoluteError(), metrics.RootMeanSquaredError(),
    metrics.BinaryCrossentropy(from_logits=True), metrics.CategoricalCrossentropy(axis=-1),
    metrics.SparseCategoricalCrossentropy(from_logits=True),
    metrics.MeanMetricWrapper(metrics.binary_accuracy, name="ba", threshold=0.25),
])
def test_config_round_trip(metric):
    config = metric.get_config()
    assert config["name"] == metric.name and config["dtype"] == "float32"
    clone = metrics.deserialize(metrics.serialize(metric))
    assert type(clone) is type(metric) and clone.get_config() == config
    assert type(metrics.get(metrics.serialize(metric))) is type(metric)


def test_mean_metric_wrapper_kwargs_survive_round_trip():
    m = metrics.MeanMetricWrapper(metrics.binary_accuracy, name="ba", threshold=0.35)
    clone = metrics.deserialize(metrics.serialize(m))
    y, p = np.array([[1.0], [0.0]]), np.array([[0.3], [0.2]])
    assert _f(clone(y, p)) == _f(m(y, p)) == 0.5
