"""Writes tests/fixtures/training_tools/*.json: values computed by Keras 3 (JAX backend) for the
losses, metrics and optimizers that tests/test_{losses,metrics,optimizers}_more.py compare
rnnkit against. Run by hand in a scratch environment that has Keras (never in CI):

    KERAS_BACKEND=jax python tools/make_training_tools_fixtures.py [losses|metrics|optimizers]

The inputs are drawn from fixed seeds and stored next to Keras' outputs, so the tests need
nothing but the JSON files.
"""

from __future__ import annotations

import json
import os
import sys

import numpy as np

os.environ.setdefault("KERAS_BACKEND", "jax")

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import keras  # noqa: E402

OUT = os.path.join(os.path.dirname(__file__), os.pardir, "tests", "fixtures", "training_tools")


def _list(x):
    return np.asarray(x, dtype=np.float64).round(8).tolist()


def _dump(name, data):
    os.makedirs(OUT, exist_ok=True)
    path = os.path.join(OUT, name)
    with open(path, "w") as f:
        json.dump(data, f, separators=(",", ":"))
    print(path, os.path.getsize(path), "bytes")


# ------------------------------------------------------------------------------------------------
# Losses
# ------------------------------------------------------------------------------------------------

def _loss_inputs(kind, rng):
    """(y_true, y_pred) float32 arrays for one kind of loss."""
    if kind == "regression":
        return (rng.uniform(0.1, 2.0, (4, 3)).astype("float32"),
                rng.uniform(0.1, 2.0, (4, 3)).astype("float32"))
    if kind == "regression_signed":
        return (rng.normal(size=(4, 3)).astype("float32"),
                rng.normal(size=(4, 3)).astype("float32"))
    if kind == "binary":
        return (rng.integers(0, 2, (4, 3)).astype("float32"),
                rng.uniform(0.05, 0.95, (4, 3)).astype("float32"))
    if kind == "logits":
        return (rng.integers(0, 2, (4, 3)).astype("float32"),
                rng.normal(size=(4, 3)).astype("float32"))
    if kind == "pm1":
        return ((2 * rng.integers(0, 2, (4, 3)) - 1).astype("float32"),
                rng.normal(size=(4, 3)).astype("float32"))
    if kind == "onehot":
        labels = rng.integers(0, 3, 4)
        probs = rng.uniform(0.05, 1.0, (4, 3))
        return (np.eye(3)[labels].astype("float32"),
                (probs / probs.sum(-1, keepdims=True)).astype("float32"))
    if kind == "onehot_logits":
        labels = rng.integers(0, 3, 4)
        return np.eye(3)[labels].astype("float32"), rng.normal(size=(4, 3)).astype("float32")
    if kind == "distribution":
        a = rng.uniform(0.05, 1.0, (4, 3))
        b = rng.uniform(0.05, 1.0, (4, 3))
        return ((a / a.sum(-1, keepdims=True)).astype("float32"),
                (b / b.sum(-1, keepdims=True)).astype("float32"))
    if kind == "sparse_probs":
        probs = rng.uniform(0.05, 1.0, (4, 3))
        return (rng.integers(0, 3, 4).astype("float32"),
                (probs / probs.sum(-1, keepdims=True)).astype("float32"))
    if kind == "embeddings":
        e = rng.normal(size=(6, 4))
        return (np.array([0, 1, 0, 2, 1, 0], dtype="float32"),
                (e / np.linalg.norm(e, axis=-1, keepdims=True)).astype("float32"))
    if kind == "ctc":
        return (np.array([[1, 2, 0], [3, 3, 0], [2, 0, 0]], dtype="float32"),
                rng.normal(size=(3, 6, 4)).astype("float32"))
    raise ValueError(kind)


LOSS_CASES = [
    # (class name, constructor kwargs, input kind)
    ("MeanAbsolutePercentageError", {}, "regression"),
    ("MeanSquaredLogarithmicError", {}, "regression"),
    ("CosineSimilarity", {}, "regression_signed"),
    ("CosineSimilarity", {"axis": 0}, "regression_signed"),
    ("LogCosh", {}, "regression_signed"),
    ("Huber", {"delta": 0.7}, "regression_signed"),
    ("Hinge", {}, "binary"),
    ("Hinge", {}, "pm1"),
    ("SquaredHinge", {}, "binary"),
    ("SquaredHinge", {}, "pm1"),
    ("CategoricalHinge", {}, "onehot"),
    ("KLDivergence", {}, "distribution"),
    ("Poisson", {}, "regression"),
    ("BinaryFocalCrossentropy", {}, "binary"),
    ("BinaryFocalCrossentropy", {"apply_class_balancing": True, "alpha": 0.3, "gamma": 1.5,
                                 "label_smoothing": 0.1}, "binary"),
    ("BinaryFocalCrossentropy", {"from_logits": True, "gamma": 3.0}, "logits"),
    ("CategoricalFocalCrossentropy", {}, "onehot"),
    ("CategoricalFocalCrossentropy", {"alpha": 0.5, "gamma": 1.0, "from_logits": True,
                                      "label_smoothing": 0.2}, "onehot_logits"),
    ("CategoricalGeneralizedCrossEntropy", {"q": 0.7}, "sparse_probs"),
    ("Dice", {}, "binary"),
    ("Dice", {"axis": 1}, "binary"),
    ("Tversky", {"alpha": 0.3, "beta": 0.7}, "binary"),
    ("Tversky", {"alpha": 0.2, "beta": 0.8, "axis": 1}, "binary"),
    ("Circle", {}, "embeddings"),
    ("Circle", {"gamma": 10.0, "margin": 0.25, "remove_diagonal": False}, "embeddings"),
    ("CTC", {}, "ctc"),
]

REDUCTIONS = ("sum_over_batch_size", "sum", "none", "mean_with_sample_weight")


def make_losses():
    rng = np.random.default_rng(1234)
    cases = []
    for class_name, kwargs, kind in LOSS_CASES:
        y_true, y_pred = _loss_inputs(kind, rng)
        weight = rng.uniform(0.0, 2.0, y_pred.shape[0]).astype("float32")
        cls = getattr(keras.losses, class_name)
        case = {"class_name": class_name, "kwargs": kwargs, "y_true": _list(y_true),
                "y_pred": _list(y_pred), "sample_weight": _list(weight), "results": {},
                "config": cls(**kwargs).get_config()}
        for reduction in REDUCTIONS:
            loss = cls(reduction=reduction, **kwargs)
            case["results"][reduction] = _list(loss(y_true, y_pred))
            try:
                weighted = _list(loss(y_true, y_pred, weight))
            except (TypeError, ValueError):  # values without a batch axis
                weighted = None
            case["results"][reduction + "+weight"] = weighted
        loss = cls(**kwargs)
        grad = jax.grad(lambda p: loss(jnp.asarray(y_true), p))(jnp.asarray(y_pred))
        case["grad"] = _list(grad)
        cases.append(case)
    _dump("losses.json", cases)


if __name__ == "__main__":
    which = sys.argv[1:] or ["losses", "metrics", "optimizers"]
    for part in which:
        globals()["make_" + part]()
