"""rnnkit.losses against hand-written NumPy formulas (Keras 3 semantics, spec §12.3), their
gradients against finite differences, configs, lookups and error messages."""

from __future__ import annotations

import re
import warnings

import numpy as np
import pytest

from helpers import numeric_gradient
from rnnkit import losses, ops
from rnnkit.autodiff import GradientTape, Tensor
from helpers import assert_close  # noqa: E402

EPS = 1e-7


def _probs(rng, n, c, dtype=np.float64):
    p = rng.uniform(0.05, 1.0, (n, c))
    return (p / p.sum(-1, keepdims=True)).astype(dtype)


def _np_log_softmax(z):
    s = z - z.max(-1, keepdims=True)
    return s - np.log(np.exp(s).sum(-1, keepdims=True))


# ------------------------------------------------------------------------------------------------
# Values
# ------------------------------------------------------------------------------------------------

class TestSparseCategoricalCrossentropy:
    def test_default_is_probabilities_and_matches_formula(self, rng):
        p = _probs(rng, 6, 4)
        y = rng.integers(0, 4, 6)
        expected = np.mean(-np.log(np.clip(p[np.arange(6), y], EPS, 1 - EPS)))
        loss = losses.SparseCategoricalCrossentropy()
        assert loss.from_logits is False
        assert_close(loss(y, p), expected, rtol=1e-12)
        assert loss.reduction == "sum_over_batch_size"

    def test_probabilities_are_renormalised(self, rng):
        p = _probs(rng, 5, 3)
        y = rng.integers(0, 3, 5)
        loss = losses.SparseCategoricalCrossentropy()
        assert_close(loss(y, 3.0 * p), loss(y, p), rtol=1e-12)
        # un-normalised input: the renormalised value, not -log(p_y)
        q = rng.uniform(0.1, 2.0, (5, 3))
        expected = np.mean(-np.log((q / q.sum(-1, keepdims=True))[np.arange(5), y]))
        assert_close(loss(y, q), expected, rtol=1e-12)

    def test_clipping_at_epsilon(self):
        p = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
        y = np.array([1, 1])
        per = losses.sparse_categorical_crossentropy(y, p)
        assert_close(per, [-np.log(EPS), -np.log(1 - EPS)], rtol=1e-9)

    def test_from_logits(self, rng):
        z = rng.normal(0, 3, (7, 5))
        y = rng.integers(0, 5, 7)
        expected = np.mean(-_np_log_softmax(z)[np.arange(7), y])
        got = losses.SparseCategoricalCrossentropy(from_logits=True)(y, z)
        assert_close(got, expected, rtol=1e-12)

    def test_labels_n_and_n1_and_float_labels(self, rng):
        z = rng.normal(size=(6, 3))
        y = rng.integers(0, 3, 6)
        loss = losses.SparseCategoricalCrossentropy(from_logits=True)
        a = loss(y, z)
        assert_close(loss(y[:, None], z), a, rtol=1e-12)
        assert_close(loss(y.astype(np.float32), z), a, rtol=1e-12)
        assert losses.sparse_categorical_crossentropy(y[:, None], z).shape == (6,)

    def test_sequence_labels(self, rng):
        z = rng.normal(size=(2, 4, 3))
        y = rng.integers(0, 3, (2, 4))
        per = losses.sparse_categorical_crossentropy(y, z, from_logits=True)
        assert per.shape == (2, 4)
        expected = -np.take_along_axis(_np_log_softmax(z), y[..., None], -1)[..., 0]
        assert_close(per, expected, rtol=1e-12)
        assert_close(
            losses.SparseCategoricalCrossentropy(from_logits=True)(y, z), expected.mean(),
            rtol=1e-12)

    def test_sample_weight_is_sum_over_n(self, rng):
        z = rng.normal(size=(4, 3))
        y = rng.integers(0, 3, 4)
        w = np.array([1.0, 0.0, 2.0, 0.5])
        per = -_np_log_softmax(z)[np.arange(4), y]
        loss = losses.SparseCategoricalCrossentropy(from_logits=True)
        assert_close(loss(y, z, sample_weight=w), np.sum(w * per) / 4, rtol=1e-12)
        # not the weighted mean
        assert abs(float(loss(y, z, sample_weight=w)) - np.sum(w * per) / w.sum()) > 1e-3
        # (N, 1) weights work the same
        assert_close(loss(y, z, sample_weight=w[:, None]), np.sum(w * per) / 4,
                     rtol=1e-12)

    def test_ignore_class(self, rng):
        z = rng.normal(size=(5, 3))
        y = np.array([0, -1, 2, 1, -1])
        valid = y != -1
        per = np.zeros(5)
        per[valid] = -_np_log_softmax(z)[np.arange(5)[valid], y[valid]]
        fn = losses.sparse_categorical_crossentropy(y, z, from_logits=True, ignore_class=-1)
        assert_close(fn, per, rtol=1e-12)
        loss = losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=-1)
        assert_close(loss(y, z), per[valid].mean(), rtol=1e-12)
        # probabilities: ignored rows do not produce NaN
        p = _probs(rng, 5, 3)
        p[1] = 0.0
        val = losses.SparseCategoricalCrossentropy(ignore_class=-1)(y, p)
        assert np.isfinite(val)

    def test_float32_stays_float32(self, rng):
        z = rng.normal(size=(4, 3)).astype(np.float32)
        out = losses.SparseCategoricalCrossentropy(from_logits=True)(np.array([0, 1, 2, 0]), z)
        assert out.dtype == np.float32
        assert losses.SparseCategoricalCrossentropy(dtype="float64")(
            np.array([0, 1, 2, 0]), np.abs(z)).dtype == np.float64


class TestCategoricalCrossentropy:
    def test_formula_and_renormalisation(self, rng):
        p = _probs(rng, 5, 4)
        y = np.eye(4)[rng.integers(0, 4, 5)]
        expected = np.mean(-np.sum(y * np.log(np.clip(p, EPS, 1 - EPS)), -1))
        loss = losses.CategoricalCrossentropy()
        assert_close(loss(y, p), expected, rtol=1e-12)
        assert_close(loss(y, 2.5 * p), expected, rtol=1e-12)

    def test_soft_labels_and_label_smoothing(self, rng):
        z = rng.normal(size=(6, 4))
        y = np.eye(4)[rng.integers(0, 4, 6)]
        ls = 0.2
        ys = y * (1 - ls) + ls / 4
        expected = np.mean(-np.sum(ys * _np_log_softmax(z), -1))
        got = losses.CategoricalCrossentropy(from_logits=True, label_smoothing=ls)(y, z)
        assert_close(got, expected, rtol=1e-12)
        # without smoothing it differs
        assert abs(float(losses.CategoricalCrossentropy(from_logits=True)(y, z))
                   - expected) > 1e-3

    def test_keras_doc_example(self):
        y_true = np.array([[0, 1, 0], [0, 0, 1]])
        y_pred = np.array([[0.05, 0.95, 0], [0.1, 0.8, 0.1]], dtype=np.float32)
        cce = losses.CategoricalCrossentropy()
        assert_close(cce(y_true, y_pred), 1.177, atol=1e-3)
        assert_close(cce(y_true, y_pred, sample_weight=np.array([0.3, 0.7])),
                     0.814, atol=1e-3)
        assert_close(losses.CategoricalCrossentropy(reduction="sum")(
            y_true, y_pred), 2.354, atol=1e-3)
        assert_close(losses.CategoricalCrossentropy(reduction=None)(
            y_true, y_pred), [0.0513, 2.303], atol=1e-3)
        # the sparse form gives the same numbers
        assert_close(losses.SparseCategoricalCrossentropy()([1, 2], y_pred),
                     1.177, atol=1e-3)

    def test_single_class_warns(self):
        with pytest.warns(SyntaxWarning, match="binary_crossentropy"):
            losses.categorical_crossentropy(np.ones((3, 1)), np.full((3, 1), 0.5))


class TestBinaryCrossentropy:
    def test_probabilities(self, rng):
        p = rng.uniform(0.01, 0.99, (6, 2))
        y = rng.integers(0, 2, (6, 2)).astype(float)
        per = -(y * np.log(p) + (1 - y) * np.log(1 - p))
        assert_close(losses.binary_crossentropy(y, p), per.mean(-1), rtol=1e-12)
        assert_close(losses.BinaryCrossentropy()(y, p), per.mean(), rtol=1e-12)

    def test_clipping(self):
        per = losses.binary_crossentropy(np.array([[1.0], [0.0]]), np.array([[0.0], [0.0]]))
        assert_close(per, [-np.log(EPS), -np.log(1 - EPS)], rtol=1e-9)

    def test_logits_are_stable(self, rng):
        z = np.array([[-50.0], [-3.0], [0.0], [4.0], [60.0]])
        y = np.array([[1.0], [0.0], [1.0], [1.0], [0.0]])
        expected = np.maximum(z, 0) - z * y + np.log1p(np.exp(-np.abs(z)))
        got = losses.BinaryCrossentropy(from_logits=True, reduction="none")(y, z)
        assert_close(got, expected[:, 0], rtol=1e-12)

    def test_label_smoothing(self, rng):
        p = rng.uniform(0.05, 0.95, (5, 1))
        y = rng.integers(0, 2, (5, 1)).astype(float)
        ys = y * 0.8 + 0.1
        expected = np.mean(-(ys * np.log(p) + (1 - ys) * np.log(1 - p)))
        assert_close(losses.BinaryCrossentropy(label_smoothing=0.2)(y, p),
                     expected, rtol=1e-12)

    def test_labels_n_against_outputs_n1(self, rng):
        p = rng.uniform(0.05, 0.95, (5, 1))
        y = rng.integers(0, 2, 5).astype(float)
        loss = losses.BinaryCrossentropy()
        assert_close(loss(y, p), loss(y[:, None], p), rtol=1e-12)


class TestRegressionLosses:
    def test_mse_mae_formulas(self, rng):
        a = rng.normal(size=(4, 3))
        b = rng.normal(size=(4, 3))
        assert_close(losses.mean_squared_error(a, b), ((a - b) ** 2).mean(-1),
                     rtol=1e-12)
        assert_close(losses.mse(a, b), ((a - b) ** 2).mean(-1), rtol=1e-12)
        assert_close(losses.mean_absolute_error(a, b), np.abs(a - b).mean(-1),
                     rtol=1e-12)
        assert losses.mean_squared_error(a, b).shape == (4,)
        assert_close(losses.MeanSquaredError()(a, b), ((a - b) ** 2).mean(),
                     rtol=1e-12)
        assert_close(losses.MeanAbsoluteError()(a, b), np.abs(a - b).mean(),
                     rtol=1e-12)

    def test_spec_sample_weight_example(self):
        # weights [1,0,0,0] on unit errors give 0.25 (sum / N, not a weighted mean)
        y = np.ones((4, 1))
        p = np.zeros((4, 1))
        assert float(losses.MeanSquaredError()(y, p, sample_weight=[1, 0, 0, 0])) == 0.25
        assert float(losses.MeanAbsoluteError()(y, p, sample_weight=[1, 0, 0, 0])) == 0.25

    def test_n_labels_against_n1_outputs(self, rng):
        y = rng.normal(size=5)
        p = rng.normal(size=(5, 1))
        assert_close(losses.MeanSquaredError()(y, p),
                     np.mean((y - p[:, 0]) ** 2), rtol=1e-12)
        assert_close(losses.mean_squared_error(y, p), (y - p[:, 0]) ** 2,
                     rtol=1e-12)

    def test_huber(self, rng):
        y = rng.normal(size=(6, 3))
        p = y + rng.normal(0, 2, (6, 3))
        for delta in (1.0, 0.5, 2.5):
            e = p - y
            per = np.where(np.abs(e) <= delta, 0.5 * e ** 2, delta * np.abs(e) - 0.5 * delta ** 2)
            assert_close(losses.huber(y, p, delta=delta), per.mean(-1), rtol=1e-12)
            assert_close(losses.Huber(delta=delta)(y, p), per.mean(), rtol=1e-12)
        assert losses.Huber().name == "huber_loss"


class TestReductions:
    def test_all_reductions(self, rng):
        y = rng.normal(size=(5, 2))
        p = rng.normal(size=(5, 2))
        w = rng.uniform(0, 2, 5)
        per = ((y - p) ** 2).mean(-1)
        mk = lambda r: losses.MeanSquaredError(reduction=r)
        assert_close(mk("sum")(y, p, w), np.sum(w * per), rtol=1e-12)
        assert_close(mk("none")(y, p, w), w * per, rtol=1e-12)
        assert_close(mk(None)(y, p), per, rtol=1e-12)
        assert_close(mk("mean")(y, p, w), np.sum(w * per) / 5, rtol=1e-12)
        assert_close(mk("mean_with_sample_weight")(y, p, w),
                     np.sum(w * per) / w.sum(), rtol=1e-12)
        assert_close(mk("sum_over_batch_size")(y, p, w), np.sum(w * per) / 5,
                     rtol=1e-12)

    def test_per_timestep_losses_with_per_sample_weights(self, rng):
        z = rng.normal(size=(3, 4, 2))
        y = rng.integers(0, 2, (3, 4))
        w = np.array([1.0, 0.0, 3.0])
        per = -np.take_along_axis(_np_log_softmax(z), y[..., None], -1)[..., 0]
        got = losses.SparseCategoricalCrossentropy(from_logits=True)(y, z, sample_weight=w)
        assert_close(got, np.sum(per * w[:, None]) / 12, rtol=1e-12)

    def test_mask_keyword(self, rng):
        y = rng.normal(size=(3, 4, 1))
        p = rng.normal(size=(3, 4, 1))
        mask = np.array([[1, 1, 0, 0], [1, 1, 1, 1], [1, 0, 0, 0]], bool)
        per = ((y - p) ** 2)[..., 0]
        got = losses.MeanSquaredError()(y, p, mask=mask)
        assert_close(got, per[mask].mean(), rtol=1e-12)
        assert_close(losses.MeanSquaredError(reduction="sum")(y, p, mask=mask),
                     per[mask].sum(), rtol=1e-12)

    def test_reduce_weighted_values_function(self):
        v = np.array([1.0, 2.0, 3.0, 4.0])
        assert float(losses.reduce_weighted_values(v, sample_weight=[1, 1, 0, 0])) == 0.75
        assert float(losses.reduce_weighted_values(v, reduction="sum")) == 10.0


# ------------------------------------------------------------------------------------------------
# Gradients (float64, finite differences through the tape)
# ------------------------------------------------------------------------------------------------

def _grad(loss_fn, y_true, y_pred, sample_weight=None):
    t = Tensor(y_pred.copy())
    with GradientTape() as tape:
        tape.watch(t)
        value = loss_fn(y_true, t, sample_weight=sample_weight) if sample_weight is not None \
            else loss_fn(y_true, t)
    return tape.gradient(value, t)


def _check_grad(loss_fn, y_true, y_pred, sample_weight=None, rtol=1e-6, atol=1e-8):
    analytic = _grad(loss_fn, y_true, y_pred, sample_weight)
    assert analytic is not None
    a = y_pred.copy()

    def f():
        out = loss_fn(y_true, a, sample_weight=sample_weight) if sample_weight is not None \
            else loss_fn(y_true, a)
        return float(np.sum(np.asarray(out)))

    numeric = numeric_gradient(f, a)
    assert_close(analytic, numeric, rtol=rtol, atol=atol)


@pytest.mark.parametrize("from_logits", [False, True])
def test_grad_sparse_ce(rng, from_logits):
    y_pred = rng.normal(size=(5, 4)) if from_logits else rng.uniform(0.1, 1.0, (5, 4))
    y = rng.integers(0, 4, 5)
    w = rng.uniform(0.5, 2.0, 5)
    _check_grad(losses.SparseCategoricalCrossentropy(from_logits=from_logits), y, y_pred, w)
    _check_grad(losses.SparseCategoricalCrossentropy(from_logits=from_logits, ignore_class=2),
                y, y_pred)


@pytest.mark.parametrize("from_logits", [False, True])
def test_grad_categorical_ce(rng, from_logits):
    y_pred = rng.normal(size=(4, 3)) if from_logits else rng.uniform(0.1, 1.0, (4, 3))
    y = np.eye(3)[rng.integers(0, 3, 4)]
    _check_grad(losses.CategoricalCrossentropy(from_logits=from_logits, label_smoothing=0.1),
                y, y_pred)


@pytest.mark.parametrize("from_logits", [False, True])
def test_grad_binary_ce(rng, from_logits):
    y_pred = rng.normal(size=(6, 2)) if from_logits else rng.uniform(0.05, 0.95, (6, 2))
    y = rng.integers(0, 2, (6, 2)).astype(float)
    _check_grad(losses.BinaryCrossentropy(from_logits=from_logits, label_smoothing=0.1), y,
                y_pred, rng.uniform(0.5, 2.0, 6))


def test_grad_regression(rng):
    y = rng.normal(size=(5, 3))
    p = y + rng.normal(0, 2, (5, 3))
    w = rng.uniform(0.5, 2.0, 5)
    _check_grad(losses.MeanSquaredError(), y, p, w)
    _check_grad(losses.MeanAbsoluteError(), y, p, w)
    _check_grad(losses.Huber(delta=0.7), y, p, w)
    _check_grad(losses.MeanSquaredError(reduction="none"), y, p)
    _check_grad(lambda a, b: losses.huber(a, b, 1.3), y, p)


def test_grad_known_values(rng):
    # d/dz mean(-log_softmax(z)[y]) = (softmax(z) - onehot(y)) / N
    z = rng.normal(size=(4, 3))
    y = rng.integers(0, 3, 4)
    g = _grad(losses.SparseCategoricalCrossentropy(from_logits=True), y, z)
    sm = np.exp(_np_log_softmax(z))
    assert_close(g, (sm - np.eye(3)[y]) / 4, rtol=1e-10)


def test_loss_of_tracked_tensor_is_tracked(rng):
    t = Tensor(rng.normal(size=(3, 2)))
    with GradientTape() as tape:
        tape.watch(t)
        out = losses.MeanSquaredError()(np.zeros((3, 2)), t)
    assert isinstance(out, Tensor)
    assert_close(tape.gradient(out, t), 2 * t.numpy() / 6, rtol=1e-12)


# ------------------------------------------------------------------------------------------------
# Errors
# ------------------------------------------------------------------------------------------------

def test_label_out_of_range_names_label_and_classes():
    p = np.full((3, 4), 0.25)
    with pytest.raises(ValueError, match=r"label 7 .*4 classes"):
        losses.SparseCategoricalCrossentropy()(np.array([0, 7, 1]), p)
    with pytest.raises(ValueError, match=r"label -1 .*4 classes"):
        losses.sparse_categorical_crossentropy(np.array([0, -1, 1]), p)
    with pytest.raises(ValueError, match=r"label 4 "):
        losses.sparse_categorical_crossentropy(np.array([[4], [0], [1]]), p, from_logits=True)


def test_non_integer_labels():
    with pytest.raises(ValueError, match="integers.*1.5"):
        losses.sparse_categorical_crossentropy(np.array([0.0, 1.5]), np.full((2, 3), 1 / 3))


def test_shape_mismatch_messages_have_both_shapes():
    with pytest.raises(ValueError, match=r"\(4, 2\).*\(4, 3\)"):
        losses.sparse_categorical_crossentropy(np.zeros((4, 2), int), np.ones((4, 3)))
    with pytest.raises(ValueError, match=r"\(4,\).*\(4, 3\)"):
        losses.categorical_crossentropy(np.zeros(4), np.ones((4, 3)))
    with pytest.raises(ValueError, match=r"\(4, 2\).*\(4, 3\)"):
        losses.MeanSquaredError()(np.zeros((4, 2)), np.ones((4, 3)))
    with pytest.raises(ValueError, match=r"\(4, 2\).*\(4, 3\)"):
        losses.BinaryCrossentropy()(np.zeros((4, 2)), np.full((4, 3), 0.5))
    with pytest.raises(ValueError, match=r"sample_weight.*\(3,\)"):
        losses.MeanSquaredError()(np.zeros((4, 2)), np.ones((4, 2)), sample_weight=np.ones(3))


def test_invalid_reduction_and_axis():
    with pytest.raises(ValueError, match="reduction"):
        losses.MeanSquaredError(reduction="avg")
    with pytest.raises(ValueError, match="axis"):
        losses.CategoricalCrossentropy(axis=True)


# ------------------------------------------------------------------------------------------------
# Lookup, names, configs
# ------------------------------------------------------------------------------------------------

def test_get_strings():
    assert losses.get("sparse_categorical_crossentropy") is losses.sparse_categorical_crossentropy
    assert losses.get("categorical_crossentropy") is losses.categorical_crossentropy
    assert losses.get("binary_crossentropy") is losses.binary_crossentropy
    assert losses.get("mse") is losses.mean_squared_error
    assert losses.get("mean_squared_error") is losses.mean_squared_error
    assert losses.get("mae") is losses.mean_absolute_error
    assert losses.get("mean_absolute_error") is losses.mean_absolute_error
    assert losses.get("huber") is losses.huber
    obj = losses.get("SparseCategoricalCrossentropy")
    assert isinstance(obj, losses.SparseCategoricalCrossentropy) and not obj.from_logits
    assert isinstance(losses.get("Huber"), losses.Huber)
    assert losses.get(None) is None
    inst = losses.BinaryCrossentropy()
    assert losses.get(inst) is inst
    assert isinstance(losses.get(losses.MeanAbsoluteError), losses.MeanAbsoluteError)
    fn = lambda a, b: a
    assert losses.get(fn) is fn


def test_get_unknown_names_it():
    with pytest.raises(ValueError, match="Could not interpret loss identifier: nope"):
        losses.get("nope")
    with pytest.raises(ValueError, match="42"):
        losses.get(42)


def test_default_names():
    assert losses.SparseCategoricalCrossentropy().name == "sparse_categorical_crossentropy"
    assert losses.CategoricalCrossentropy().name == "categorical_crossentropy"
    assert losses.BinaryCrossentropy().name == "binary_crossentropy"
    assert losses.MeanSquaredError().name == "mean_squared_error"
    assert losses.MeanAbsoluteError().name == "mean_absolute_error"

    class MyFancyLoss(losses.Loss):
        def call(self, y_true, y_pred):
            return ops.mean(ops.abs(ops.subtract(y_true, y_pred)), axis=-1)

    a, b = MyFancyLoss(), MyFancyLoss()
    assert a.name.startswith("my_fancy_loss") and a.name != b.name
    assert_close(a(np.ones((2, 2)), np.zeros((2, 2)), sample_weight=[1, 0]), 0.5)


@pytest.mark.parametrize("loss", [
    losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=3, name="scce"),
    losses.CategoricalCrossentropy(label_smoothing=0.1, axis=-1, reduction="sum"),
    losses.BinaryCrossentropy(from_logits=True, label_smoothing=0.05),
    losses.MeanSquaredError(reduction="none"),
    losses.MeanAbsoluteError(name="l1"),
    losses.Huber(delta=2.5),
    losses.LossFunctionWrapper(losses.huber, delta=0.3, name="hub"),
])
def test_config_round_trip(loss, rng):
    config = loss.get_config()
    clone = type(loss).from_config(config)
    assert clone.get_config() == config
    ser = losses.serialize(loss)
    assert ser["class_name"] == type(loss).__name__ and ser["module"] == "rnnkit.losses"
    again = losses.deserialize(ser)
    assert type(again) is type(loss) and again.get_config() == config
    assert isinstance(losses.get(ser), type(loss))
    # same numbers
    if isinstance(loss, losses.SparseCategoricalCrossentropy):
        y, p = rng.integers(0, 3, 4), rng.normal(size=(4, 3))
    elif isinstance(loss, losses.CategoricalCrossentropy):
        y, p = np.eye(3)[rng.integers(0, 3, 4)], rng.uniform(0.1, 1, (4, 3))
    else:
        y, p = rng.uniform(0, 1, (4, 2)), rng.uniform(0.1, 0.9, (4, 2))
    assert_close(again(y, p), loss(y, p), rtol=1e-12)


def test_keras_config_format():
    cfg = {"module": "keras.losses", "class_name": "SparseCategoricalCrossentropy",
           "config": {"name": "sparse_categorical_crossentropy", "reduction":
                      "sum_over_batch_size", "from_logits": True, "ignore_class": None},
           "registered_name": None}
    obj = losses.deserialize(cfg)
    assert isinstance(obj, losses.SparseCategoricalCrossentropy) and obj.from_logits
    assert losses.Huber(delta=2.0).get_config()["delta"] == 2.0
    assert losses.serialize(losses.mean_squared_error) == "mean_squared_error"
    assert losses.deserialize("mean_squared_error") is losses.mean_squared_error


def test_no_warnings_on_normal_use(rng):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        losses.SparseCategoricalCrossentropy()(rng.integers(0, 3, 4), _probs(rng, 4, 3))
        losses.CategoricalCrossentropy()(np.eye(3)[[0, 1, 2, 0]], _probs(rng, 4, 3))
        losses.BinaryCrossentropy()(np.ones((4, 1)), np.full((4, 1), 0.5))


def test_repr():
    assert re.search("SparseCategoricalCrossentropy", repr(
        losses.SparseCategoricalCrossentropy()))
