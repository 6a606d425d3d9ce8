"""The Keras 3 losses added for sequence, classification and regression work (issue 15):
values and gradients against Keras fixtures (tests/fixtures/training_tools/losses.json, made by
tools/make_training_tools_fixtures.py), against NumPy written from the definitions, gradients
against finite differences in float64, configs, lookups and argument errors."""

from __future__ import annotations

import itertools
import json
import os

import numpy as np
import pytest

from helpers import assert_close, numeric_gradient
from rnnkit import losses, saving
from rnnkit.autodiff import GradientTape, Tensor
import paths

FIXTURES = str(paths.FIXTURES / "training_tools")
with open(os.path.join(FIXTURES, "losses.json")) as _f:
    KERAS_CASES = json.load(_f)

EPS = 1e-7


def _case_id(case):
    return case["class_name"] + "-" + "-".join(f"{k}={v}" for k, v in case["kwargs"].items())


def _arrays(case, dtype=np.float64):
    return (np.asarray(case["y_true"], dtype=dtype), np.asarray(case["y_pred"], dtype=dtype),
            np.asarray(case["sample_weight"], dtype=dtype))


def _loss(case, **extra):
    return getattr(losses, case["class_name"])(**case["kwargs"], **extra)


# ------------------------------------------------------------------------------------------------
# Against Keras
# ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("case", KERAS_CASES, ids=[_case_id(c) for c in KERAS_CASES])
@pytest.mark.parametrize("reduction", ["sum_over_batch_size", "sum", "none",
                                       "mean_with_sample_weight"])
@pytest.mark.parametrize("weighted", [False, True])
def test_values_match_keras(case, reduction, weighted):
    expected = case["results"][reduction + ("+weight" if weighted else "")]
    y_true, y_pred, weight = _arrays(case)
    loss = _loss(case, reduction=reduction)
    if expected is None:  # Keras refuses per-sample weights for batch-less values
        with pytest.raises((ValueError, TypeError)):
            loss(y_true, y_pred, weight)
        return
    got = loss(y_true, y_pred, weight) if weighted else loss(y_true, y_pred)
    assert np.shape(got) == np.shape(expected)
    assert_close(got, expected, rtol=2e-4, atol=2e-5)


@pytest.mark.parametrize("case", KERAS_CASES, ids=[_case_id(c) for c in KERAS_CASES])
def test_float32_matches_keras(case):
    y_true, y_pred, _ = _arrays(case, np.float32)
    got = _loss(case)(y_true, y_pred)
    assert got.dtype == np.float32
    assert_close(got, case["results"]["sum_over_batch_size"], rtol=2e-4, atol=2e-5)


@pytest.mark.parametrize("case", KERAS_CASES, ids=[_case_id(c) for c in KERAS_CASES])
def test_gradient_matches_keras(case):
    y_true, y_pred, _ = _arrays(case)
    t = Tensor(y_pred.copy())
    with GradientTape() as tape:
        tape.watch(t)
        value = _loss(case)(y_true, t)
    grad = tape.gradient(value, t)
    assert_close(grad, case["grad"], rtol=2e-3, atol=2e-5)


@pytest.mark.parametrize("case", KERAS_CASES, ids=[_case_id(c) for c in KERAS_CASES])
def test_config_matches_keras(case):
    loss = _loss(case)
    config = loss.get_config()
    for key, value in case["config"].items():
        assert key in config, key
        assert config[key] == value, (key, config[key], value)
    clone = type(loss).from_config(config)
    assert clone.get_config() == config
    restored = saving.deserialize(saving.serialize(loss))
    assert type(restored) is type(loss) and restored.get_config() == config


# ------------------------------------------------------------------------------------------------
# Against NumPy (definitions) and finite differences
# ------------------------------------------------------------------------------------------------

def _np_bce(y, p):
    p = np.clip(p, EPS, 1 - EPS)
    return -(y * np.log(p) + (1 - y) * np.log(1 - p))


def test_functions_against_numpy(rng):
    y = rng.uniform(0.1, 2.0, (5, 4))
    p = rng.uniform(0.1, 2.0, (5, 4))
    assert_close(losses.mape(y, p), 100 * np.mean(np.abs((y - p) / y), -1), rtol=1e-12)
    assert_close(losses.msle(y, p), np.mean((np.log1p(p) - np.log1p(y)) ** 2, -1), rtol=1e-12)
    assert_close(losses.poisson(y, p), np.mean(p - y * np.log(p + EPS), -1), rtol=1e-12)
    assert_close(losses.log_cosh(y, p), np.mean(np.log(np.cosh(p - y)), -1), rtol=1e-10)
    cos = np.sum(y * p, -1) / np.linalg.norm(y, axis=-1) / np.linalg.norm(p, axis=-1)
    assert_close(losses.cosine_similarity(y, p), -cos, rtol=1e-12)
    q = y / y.sum(-1, keepdims=True)
    r = p / p.sum(-1, keepdims=True)
    assert_close(losses.kld(q, r), np.sum(q * np.log(q / r), -1), rtol=1e-12)
    s = rng.normal(size=(5, 4))
    lab = rng.integers(0, 2, (5, 4)).astype(float)
    assert_close(losses.hinge(lab, s), np.mean(np.maximum(1 - (2 * lab - 1) * s, 0), -1))
    assert_close(losses.squared_hinge(lab, s),
                 np.mean(np.maximum(1 - (2 * lab - 1) * s, 0) ** 2, -1))
    # labels that are not all 0/1 are used as they are
    pm = 2 * lab - 1
    assert_close(losses.hinge(pm, s), np.mean(np.maximum(1 - pm * s, 0), -1))
    onehot = np.eye(4)[rng.integers(0, 4, 5)]
    expected = np.maximum(np.max((1 - onehot) * s, -1) - np.sum(onehot * s, -1) + 1, 0)
    assert_close(losses.categorical_hinge(onehot, s), expected)


def test_focal_losses_against_numpy(rng):
    y = rng.integers(0, 2, (5, 3)).astype(float)
    p = rng.uniform(0.02, 0.98, (5, 3))
    p_t = y * p + (1 - y) * (1 - p)
    focal = (1 - p_t) ** 2.0 * _np_bce(y, p)
    assert_close(losses.binary_focal_crossentropy(y, p), focal.mean(-1), rtol=1e-12)
    weight = y * 0.25 + (1 - y) * 0.75
    assert_close(losses.binary_focal_crossentropy(y, p, apply_class_balancing=True),
                 (weight * focal).mean(-1), rtol=1e-12)
    # gamma = 0 is the binary crossentropy
    assert_close(losses.binary_focal_crossentropy(y, p, gamma=0.0),
                 losses.binary_crossentropy(y, p), rtol=1e-12)
    onehot = np.eye(3)[rng.integers(0, 3, 5)]
    q = p / p.sum(-1, keepdims=True)
    expected = np.sum(0.25 * (1 - q) ** 2 * -onehot * np.log(q), -1)
    assert_close(losses.categorical_focal_crossentropy(onehot, p), expected, rtol=1e-12)


def test_overlap_losses_against_numpy(rng):
    y = rng.integers(0, 2, (4, 6)).astype(float)
    p = rng.uniform(0, 1, (4, 6))
    tp = np.sum(y * p)
    assert_close(losses.dice(y, p), 1 - 2 * tp / (y.sum() + p.sum() + EPS), rtol=1e-12)
    fp, fn = np.sum((1 - p) * y), np.sum(p * (1 - y))
    assert_close(losses.tversky(y, p, 0.3, 0.7), 1 - tp / (tp + 0.3 * fp + 0.7 * fn + EPS),
                 rtol=1e-12)
    assert_close(losses.tversky(y, p), losses.dice(y, p), rtol=1e-6)  # eps placed differently
    per_row = losses.dice(y, p, axis=1)
    assert per_row.shape == (4,)
    assert_close(per_row, 1 - 2 * np.sum(y * p, 1) / (y.sum(1) + p.sum(1) + EPS), rtol=1e-12)


def _np_ctc(log_probs, labels):
    """-log p(labels) by brute force over every alignment (tiny sizes only)."""
    T, K = log_probs.shape
    total = -np.inf
    for path in itertools.product(range(K), repeat=T):
        collapsed = [c for i, c in enumerate(path) if c != 0 and (i == 0 or path[i - 1] != c)]
        if collapsed == list(labels):
            total = np.logaddexp(total, sum(log_probs[t, c] for t, c in enumerate(path)))
    return -total


def test_ctc_against_brute_force(rng):
    logits = rng.normal(size=(3, 5, 3))
    labels = np.array([[1, 2, 0], [2, 2, 0], [0, 0, 0]])
    log_probs = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    expected = [_np_ctc(log_probs[0], [1, 2]), _np_ctc(log_probs[1], [2, 2]),
                _np_ctc(log_probs[2], [])]
    assert_close(losses.ctc(labels, logits), expected, rtol=1e-10)
    assert_close(losses.CTC(reduction="sum")(labels, logits), np.sum(expected), rtol=1e-10)


def test_ctc_impossible_alignment_is_inf():
    # two repeated labels need 3 timesteps; 2 cannot hold them
    value = losses.ctc(np.array([[1, 1]]), np.zeros((1, 2, 2)))
    assert np.isinf(value[0])


def test_generalized_ce_against_numpy(rng):
    p = rng.uniform(0.05, 1, (5, 3))
    p /= p.sum(-1, keepdims=True)
    y = rng.integers(0, 3, 5)
    expected = (1 - p[np.arange(5), y] ** 0.4) / 0.4
    assert_close(losses.categorical_generalized_cross_entropy(y, p, q=0.4), expected,
                 rtol=1e-12)


def test_circle_masks_zero_losses():
    # two well separated classes with tight clusters: every loss is ~0 -> masked -> 0
    e = np.array([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0], [0.0, 1.0]])
    values = losses.circle(np.array([0, 0, 1, 1]), e, gamma=80.0, margin=0.0)
    loss = losses.Circle(reduction="none", margin=0.0)
    assert np.all(np.asarray(loss(np.array([0, 0, 1, 1]), e)) <= np.asarray(values) + 1e-12)
    with pytest.raises(ValueError, match="y_pred"):
        losses.circle(np.array([0, 1]), np.zeros((2, 2, 2)))


GRAD_CASES = [
    (losses.MeanAbsolutePercentageError(), "pos"),
    (losses.MeanSquaredLogarithmicError(), "pos"),
    (losses.CosineSimilarity(), "signed"),
    (losses.LogCosh(), "signed"),
    (losses.Hinge(), "signed"),
    (losses.SquaredHinge(), "signed"),
    (losses.CategoricalHinge(), "onehot_signed"),
    (losses.KLDivergence(), "dist"),
    (losses.Poisson(), "pos"),
    (losses.BinaryFocalCrossentropy(apply_class_balancing=True, label_smoothing=0.1), "prob"),
    (losses.BinaryFocalCrossentropy(from_logits=True), "logit"),
    (losses.CategoricalFocalCrossentropy(), "onehot_prob"),
    (losses.CategoricalFocalCrossentropy(from_logits=True, label_smoothing=0.1), "onehot_logit"),
    (losses.CategoricalGeneralizedCrossEntropy(q=0.3), "sparse_prob"),
    (losses.Dice(), "prob"),
    (losses.Tversky(alpha=0.4, beta=0.6, axis=1), "prob"),
    (losses.Circle(gamma=4.0), "embeddings"),
    (losses.CTC(), "ctc"),
]


def _grad_inputs(kind, rng):
    if kind == "pos":
        return rng.uniform(0.2, 2, (4, 3)), rng.uniform(0.2, 2, (4, 3))
    if kind == "signed":
        return rng.integers(0, 2, (4, 3)).astype(float), rng.normal(size=(4, 3))
    if kind == "onehot_signed":
        return np.eye(3)[rng.integers(0, 3, 4)], rng.normal(size=(4, 3))
    if kind == "dist":
        a, b = rng.uniform(0.1, 1, (4, 3)), rng.uniform(0.1, 1, (4, 3))
        return a / a.sum(-1, keepdims=True), b / b.sum(-1, keepdims=True)
    if kind == "prob":
        return rng.integers(0, 2, (4, 3)).astype(float), rng.uniform(0.1, 0.9, (4, 3))
    if kind == "logit":
        return rng.integers(0, 2, (4, 3)).astype(float), rng.normal(size=(4, 3))
    if kind == "onehot_prob":
        return np.eye(3)[rng.integers(0, 3, 4)], rng.uniform(0.1, 0.9, (4, 3))
    if kind == "onehot_logit":
        return np.eye(3)[rng.integers(0, 3, 4)], rng.normal(size=(4, 3))
    if kind == "sparse_prob":
        return rng.integers(0, 3, 4), rng.uniform(0.1, 0.9, (4, 3))
    if kind == "embeddings":
        e = rng.normal(size=(5, 3))
        return np.array([0, 1, 0, 1, 1]), e / np.linalg.norm(e, axis=-1, keepdims=True)
    if kind == "ctc":
        return np.array([[1, 2], [3, 0]]), rng.normal(size=(2, 4, 4))
    raise ValueError(kind)


@pytest.mark.parametrize("loss,kind", GRAD_CASES, ids=[type(c[0]).__name__ + "-" + c[1]
                                                      for c in GRAD_CASES])
def test_gradients_against_finite_differences(loss, kind, rng):
    y_true, y_pred = _grad_inputs(kind, rng)
    weight = rng.uniform(0.5, 1.5, y_pred.shape[0]) if not isinstance(
        loss, (losses.Dice, losses.Tversky)) or getattr(loss, "axis", None) is not None else None
    t = Tensor(y_pred.copy())
    with GradientTape() as tape:
        tape.watch(t)
        value = loss(y_true, t, weight)
    analytic = tape.gradient(value, t)
    a = y_pred.copy()
    numeric = numeric_gradient(lambda: float(loss(y_true, a, weight)), a)
    assert_close(analytic, numeric, rtol=1e-5, atol=1e-7)


# ------------------------------------------------------------------------------------------------
# Lookup, aliases, masks and errors
# ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name,fn", [
    ("mape", losses.mean_absolute_percentage_error),
    ("MAPE", losses.mean_absolute_percentage_error),
    ("msle", losses.mean_squared_logarithmic_error), ("kld", losses.kl_divergence),
    ("kullback_leibler_divergence", losses.kl_divergence), ("logcosh", losses.log_cosh),
    ("log_cosh", losses.log_cosh), ("hinge", losses.hinge), ("poisson", losses.poisson),
    ("ctc", losses.ctc), ("dice", losses.dice), ("tversky", losses.tversky),
    ("binary_focal_crossentropy", losses.binary_focal_crossentropy),
])
def test_get_names(name, fn):
    assert losses.get(name) is fn


@pytest.mark.parametrize("name", ["CosineSimilarity", "KLDivergence", "Poisson", "Tversky",
                                  "Circle", "CTC", "CategoricalFocalCrossentropy"])
def test_get_class_names(name):
    assert type(losses.get(name)).__name__ == name


def test_mask_and_sample_weight_per_timestep(rng):
    y = rng.integers(0, 2, (2, 5, 3)).astype(float)
    p = rng.normal(size=(2, 5, 3))
    mask = np.array([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]], bool)
    loss = losses.Hinge()
    per = losses.hinge(y, p)
    assert_close(loss(y, p, mask=mask), per[mask].mean(), rtol=1e-12)
    w = np.array([2.0, 0.5])
    assert_close(loss(y, p, w, mask=mask), (per * w[:, None])[mask].mean(), rtol=1e-12)


def test_argument_errors():
    with pytest.raises(ValueError, match="q"):
        losses.CategoricalGeneralizedCrossEntropy(q=1.5)
    with pytest.raises(TypeError, match="q"):
        losses.CategoricalGeneralizedCrossEntropy(q="a")
    with pytest.raises(ValueError, match="axis"):
        losses.BinaryFocalCrossentropy(axis=1.5)
    with pytest.raises(ValueError, match="reduction"):
        losses.Poisson(reduction="avg")
    with pytest.raises(ValueError, match="y_true.shape"):
        losses.ctc(np.array([1, 2]), np.zeros((2, 3, 4)))
    with pytest.raises(ValueError, match="y_pred.shape"):
        losses.ctc(np.array([[1, 2]]), np.zeros((2, 3)))
    with pytest.raises(ValueError, match="labels must be in"):
        losses.ctc(np.array([[5]]), np.zeros((1, 3, 4)))
    with pytest.raises(ValueError, match="same shape"):
        losses.categorical_focal_crossentropy(np.zeros((2, 3)), np.ones((2, 4)))
    with pytest.raises(ValueError, match="incompatible shapes"):
        losses.poisson(np.zeros((2, 3)), np.ones((2, 4)))
    with pytest.warns(SyntaxWarning):
        losses.categorical_focal_crossentropy(np.ones((2, 1)), np.ones((2, 1)))
