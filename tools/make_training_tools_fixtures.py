"""Writes tests/fixtures/training_tools/*.json: values computed by Keras 3 (JAX backend) for the
losses, metrics, optimizers and utilities that tests/test_{losses,metrics,optimizers,utils}_more.py
compare rnnkit against. Run by hand in a scratch environment that has Keras (never in CI):

    KERAS_BACKEND=jax python tools/make_training_tools_fixtures.py [losses|metrics|optimizers|utils]

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


# ------------------------------------------------------------------------------------------------
# Metrics
# ------------------------------------------------------------------------------------------------

def _metric_inputs(kind, rng):
    """Two batches (y_true, y_pred, sample_weight) for one kind of metric."""
    batches = []
    for _ in range(2):
        if kind == "binary":
            yt = rng.integers(0, 2, (8, 1)).astype("float32")
            yp = rng.uniform(0.01, 0.99, (8, 1)).astype("float32")
        elif kind == "binary_flat":
            yt = rng.integers(0, 2, 10).astype("float32")
            yp = rng.uniform(0.01, 0.99, 10).astype("float32")
        elif kind == "logits":
            yt = rng.integers(0, 2, (8, 1)).astype("float32")
            yp = rng.normal(0, 2, (8, 1)).astype("float32")
        elif kind == "multilabel":
            yt = rng.integers(0, 2, (8, 3)).astype("float32")
            yp = rng.uniform(0.01, 0.99, (8, 3)).astype("float32")
        elif kind == "onehot":
            yt = np.eye(4)[rng.integers(0, 4, 8)].astype("float32")
            yp = rng.uniform(0.01, 0.99, (8, 4)).astype("float32")
        elif kind == "sparse":
            yt = rng.integers(0, 4, 8).astype("float32")
            yp = rng.uniform(0.01, 0.99, (8, 4)).astype("float32")
        elif kind == "classes":
            yt = rng.integers(0, 3, 12).astype("float32")
            yp = rng.integers(0, 3, 12).astype("float32")
        elif kind == "regression":
            yt = rng.normal(size=(8, 2)).astype("float32")
            yp = (yt + 0.5 * rng.normal(size=(8, 2))).astype("float32")
        elif kind == "regression_wide":
            yt = rng.normal(size=(6, 5)).astype("float32")
            yp = (yt + 0.7 * rng.normal(size=(6, 5))).astype("float32")
        elif kind == "positive":
            yt = rng.uniform(0.1, 2, (8, 3)).astype("float32")
            yp = rng.uniform(0.1, 2, (8, 3)).astype("float32")
        elif kind == "distribution":
            a, b = rng.uniform(0.05, 1, (8, 3)), rng.uniform(0.05, 1, (8, 3))
            yt = (a / a.sum(-1, keepdims=True)).astype("float32")
            yp = (b / b.sum(-1, keepdims=True)).astype("float32")
        elif kind == "signed":
            yt = rng.integers(0, 2, (8, 3)).astype("float32")
            yp = rng.normal(size=(8, 3)).astype("float32")
        else:
            raise ValueError(kind)
        w = rng.uniform(0.0, 2.0, yt.shape[0])
        # four decimals keep the file small; the arrays Keras sees are exactly the stored ones
        batches.append((np.round(yt, 4).astype("float32"), np.round(yp, 4).astype("float32"),
                        np.round(w, 4).astype("float32")))
    return batches


METRIC_CASES = [
    ("TruePositives", {}, "binary"),
    ("FalsePositives", {"thresholds": [0.25, 0.5, 0.75]}, "binary"),
    ("TrueNegatives", {"thresholds": 0.3}, "multilabel"),
    ("FalseNegatives", {}, "multilabel"),
    ("Precision", {}, "binary"),
    ("Precision", {"thresholds": [0.3, 0.6]}, "multilabel"),
    ("Precision", {"top_k": 2}, "onehot"),
    ("Precision", {"class_id": 2}, "onehot"),
    ("Recall", {}, "binary_flat"),
    ("Recall", {"thresholds": 0.7, "class_id": 1}, "multilabel"),
    ("Recall", {"top_k": 1, "class_id": 0}, "onehot"),
    ("PrecisionAtRecall", {"recall": 0.6}, "binary"),
    ("PrecisionAtRecall", {"recall": 0.5, "num_thresholds": 11, "class_id": 1}, "multilabel"),
    ("RecallAtPrecision", {"precision": 0.6}, "binary"),
    ("SensitivityAtSpecificity", {"specificity": 0.5}, "binary"),
    ("SensitivityAtSpecificity", {"specificity": 0.7, "num_thresholds": 1}, "binary"),
    ("SpecificityAtSensitivity", {"sensitivity": 0.5, "num_thresholds": 50}, "multilabel"),
    ("AUC", {}, "binary"),
    ("AUC", {"num_thresholds": 20, "curve": "PR"}, "binary"),
    ("AUC", {"curve": "PR", "summation_method": "minoring"}, "binary"),
    ("AUC", {"summation_method": "majoring"}, "multilabel"),
    ("AUC", {"curve": "PRGAIN", "num_thresholds": 30}, "binary"),
    ("AUC", {"multi_label": True}, "multilabel"),
    ("AUC", {"multi_label": True, "label_weights": [0.2, 0.5, 0.3], "curve": "PR"},
     "multilabel"),
    ("AUC", {"label_weights": [0.2, 0.5, 0.3]}, "multilabel"),
    ("AUC", {"from_logits": True}, "logits"),
    ("AUC", {"thresholds": [0.1, 0.35, 0.6, 0.9]}, "binary"),
    ("F1Score", {}, "onehot"),
    ("F1Score", {"average": "micro", "threshold": 0.5}, "multilabel"),
    ("F1Score", {"average": "macro"}, "onehot"),
    ("F1Score", {"average": "weighted", "threshold": 0.4}, "multilabel"),
    ("FBetaScore", {"beta": 2.0}, "onehot"),
    ("FBetaScore", {"beta": 0.5, "average": "macro", "threshold": 0.6}, "multilabel"),
    ("IoU", {"num_classes": 3, "target_class_ids": [0, 2]}, "classes"),
    ("IoU", {"num_classes": 3, "target_class_ids": [1], "dtype": "float32"}, "classes"),
    ("MeanIoU", {"num_classes": 3}, "classes"),
    ("MeanIoU", {"num_classes": 3, "ignore_class": 1, "dtype": "float32"}, "classes"),
    ("BinaryIoU", {}, "binary_flat"),
    ("BinaryIoU", {"target_class_ids": [1], "threshold": 0.3, "dtype": "float32"},
     "binary_flat"),
    ("OneHotIoU", {"num_classes": 4, "target_class_ids": [0, 3], "dtype": "float32"},
     "onehot"),
    ("OneHotMeanIoU", {"num_classes": 4}, "onehot"),
    ("R2Score", {}, "regression"),
    ("R2Score", {"class_aggregation": "variance_weighted_average"}, "regression"),
    ("R2Score", {"class_aggregation": None}, "regression"),
    ("R2Score", {"num_regressors": 2}, "regression"),
    ("CosineSimilarity", {}, "regression"),
    ("CosineSimilarity", {"axis": 0}, "regression"),
    ("LogCoshError", {}, "regression"),
    ("KLDivergence", {}, "distribution"),
    ("Poisson", {}, "positive"),
    ("MeanAbsolutePercentageError", {}, "positive"),
    ("MeanSquaredLogarithmicError", {}, "positive"),
    ("Hinge", {}, "signed"),
    ("SquaredHinge", {}, "signed"),
    ("CategoricalHinge", {}, "onehot"),
    ("TopKCategoricalAccuracy", {"k": 2}, "onehot"),
    ("SparseTopKCategoricalAccuracy", {"k": 2}, "sparse"),
    ("SparseTopKCategoricalAccuracy", {}, "sparse"),
    ("PearsonCorrelation", {}, "regression_wide"),
    ("PearsonCorrelation", {"axis": 0}, "regression_wide"),
    ("ConcordanceCorrelation", {}, "regression_wide"),
]


def make_metrics():
    rng = np.random.default_rng(4321)
    cases = []
    for class_name, kwargs, kind in METRIC_CASES:
        batches = _metric_inputs(kind, rng)
        metric = getattr(keras.metrics, class_name)(**kwargs)
        (yt1, yp1, _), (yt2, yp2, w2) = batches
        if kwargs.get("axis") == 0:
            w2 = None
        metric.update_state(yt1, yp1)
        first = np.asarray(metric.result())
        metric.update_state(yt2, yp2, sample_weight=w2)
        second = np.asarray(metric.result())
        metric.reset_state()
        metric.update_state(yt2, yp2)
        after_reset = np.asarray(metric.result())
        cases.append({
            "class_name": class_name, "kwargs": kwargs,
            "config": {k: (np.asarray(v).tolist() if hasattr(v, "shape") else v)
                       for k, v in metric.get_config().items()},
            "batches": [[_list(yt1), _list(yp1), None],
                        [_list(yt2), _list(yp2), None if w2 is None else _list(w2)]],
            "first": _list(first), "second": _list(second), "after_reset": _list(after_reset),
        })
    _dump("metrics.json", cases)


# ------------------------------------------------------------------------------------------------
# Optimizers
# ------------------------------------------------------------------------------------------------

OPTIMIZER_CASES = [
    # (class name, constructor kwargs, number of steps)
    ("Nadam", {"learning_rate": 0.01}, 6),
    ("Nadam", {"learning_rate": 0.01, "beta_1": 0.8, "use_ema": True,
               "ema_overwrite_frequency": 3}, 6),
    ("Nadam", {"learning_rate": 0.02, "gradient_accumulation_steps": 2}, 6),
    ("Adamax", {"learning_rate": 0.01}, 6),
    ("Adamax", {"learning_rate": 0.01, "weight_decay": 0.1, "clipnorm": 1.0}, 6),
    ("Adadelta", {"learning_rate": 1.0}, 6),
    ("Adadelta", {"learning_rate": 0.5, "rho": 0.8, "epsilon": 1e-5, "use_ema": True,
                  "ema_momentum": 0.9}, 6),
    ("Ftrl", {"learning_rate": 0.1}, 6),
    ("Ftrl", {"learning_rate": 0.1, "learning_rate_power": -0.7,
              "initial_accumulator_value": 0.5, "l1_regularization_strength": 0.01,
              "l2_regularization_strength": 0.02, "l2_shrinkage_regularization_strength": 0.03,
              "beta": 0.1}, 6),
    ("Lion", {"learning_rate": 0.01}, 6),
    ("Lion", {"learning_rate": 0.01, "beta_1": 0.5, "beta_2": 0.9, "global_clipnorm": 2.0}, 6),
    ("Lamb", {"learning_rate": 0.01}, 6),
    ("Lamb", {"learning_rate": 0.01, "beta_1": 0.8, "epsilon": 1e-4, "weight_decay": 0.05}, 6),
    ("Adafactor", {"learning_rate": 0.01}, 6),
    ("Adafactor", {"learning_rate": 0.5, "beta_2_decay": -0.6, "clip_threshold": 0.5,
                   "epsilon_2": 1e-2}, 6),
    ("Adafactor", {"learning_rate": 0.5, "relative_step": False, "use_ema": True}, 6),
]


def _optimizer_inputs(rng, steps):
    kernel = rng.normal(size=(3, 4)).astype("float32")
    bias = rng.normal(size=(4,)).astype("float32")
    grads = [[rng.normal(size=(3, 4)).astype("float32"), rng.normal(size=(4,)).astype("float32")]
             for _ in range(steps)]
    return kernel, bias, grads


def _run_keras_optimizer(opt, kernel, bias, grads):
    vk, vb = keras.Variable(kernel), keras.Variable(bias)
    trajectory = []
    for gk, gb in grads:
        opt.apply([gk, gb], [vk, vb])
        trajectory.append([_list(vk.numpy()), _list(vb.numpy())])
    return trajectory, [_list(np.asarray(v.numpy(), dtype=np.float64)) for v in opt.variables]


def make_optimizers():
    rng = np.random.default_rng(99)
    cases = []
    for class_name, kwargs, steps in OPTIMIZER_CASES:
        kernel, bias, grads = _optimizer_inputs(rng, steps)
        opt = getattr(keras.optimizers, class_name)(**kwargs)
        trajectory, variables = _run_keras_optimizer(opt, kernel, bias, grads)
        config = opt.get_config()
        config["learning_rate"] = float(config["learning_rate"])
        cases.append({"class_name": class_name, "kwargs": kwargs, "kernel": _list(kernel),
                      "bias": _list(bias), "grads": [[_list(g) for g in step] for step in grads],
                      "trajectory": trajectory, "variables": variables, "config": config})
    # LossScaleOptimizer around Adam: scaled gradients, an inf step, growth every 2 steps
    kernel, bias, grads = _optimizer_inputs(rng, 6)
    grads = [[g * 64.0 for g in step] for step in grads]
    grads[3][1][2] = np.inf
    opt = keras.optimizers.LossScaleOptimizer(keras.optimizers.Adam(learning_rate=0.01),
                                              initial_scale=64.0, dynamic_growth_steps=2)
    # Keras' stateful LossScaleOptimizer.apply fails under JAX (a cond with side effects);
    # its stateless_apply is the JAX path of fit().
    vk, vb = keras.Variable(kernel), keras.Variable(bias)
    opt.build([vk, vb])
    values = [vk.value, vb.value]
    opt_values = [v.value for v in opt.variables]
    trajectory = []
    for step in grads:
        values, opt_values = opt.stateless_apply(opt_values, [jnp.asarray(g) for g in step],
                                                 values)
        trajectory.append([_list(v) for v in values])
    variables = [_list(np.asarray(v, dtype=np.float64)) for v in opt_values]
    names = [v.path for v in opt.variables]
    scales = float(np.asarray(opt_values[names.index("loss_scale_optimizer/dynamic_scale")]))
    iterations = int(np.asarray(opt_values[names.index("adam/iteration")]))
    cases.append({"class_name": "LossScaleOptimizer",
                  "kwargs": {"initial_scale": 64.0, "dynamic_growth_steps": 2},
                  "inner": ["Adam", {"learning_rate": 0.01}], "kernel": _list(kernel),
                  "bias": _list(bias),
                  "grads": [[np.asarray(g, np.float64).tolist() for g in step]
                            for step in grads],
                  "trajectory": trajectory, "variables": variables, "final_scale": scales,
                  "iterations": iterations})
    _dump("optimizers.json", cases)


# ------------------------------------------------------------------------------------------------
# Utilities and data sets
# ------------------------------------------------------------------------------------------------

TINY_TRAIN = [[1, 2, 3], [4, 5], [6, 7, 8, 9], [2], [11, 3, 5, 7, 1]]
TINY_TEST = [[3, 3], [9, 1, 5], [12, 2]]
LOAD_CASES = [
    {}, {"num_words": 8}, {"num_words": 10, "skip_top": 4}, {"maxlen": 4, "seed": 7},
    {"start_char": None, "index_from": 0, "oov_char": None, "num_words": 9},
    {"oov_char": None, "num_words": 9, "index_from": 2, "seed": 1},
]


def _object_array(lists):
    out = np.empty(len(lists), dtype=object)
    for i, item in enumerate(lists):
        out[i] = item
    return out


def make_utils():
    import tempfile

    from keras.src.datasets import imdb, reuters

    data = {"pad_sequences": [], "to_categorical": [], "normalize": []}
    seqs = [[1, 2, 3], [4], [], [5, 6, 7, 8, 9]]
    for kwargs in ({}, {"maxlen": 3}, {"maxlen": 3, "padding": "post"},
                   {"maxlen": 2, "truncating": "post", "value": -1},
                   {"maxlen": 6, "padding": "post", "truncating": "post"},
                   {"dtype": "float32", "value": 0.5}):
        data["pad_sequences"].append({"kwargs": kwargs, "result": keras.utils.pad_sequences(
            seqs, **kwargs).tolist()})
    for labels, kwargs in (([0, 2, 1], {}), ([[1], [3]], {"num_classes": 5}),
                           ([[0, 1], [2, 0]], {})):
        data["to_categorical"].append({"x": labels, "kwargs": kwargs, "result": np.asarray(
            keras.utils.to_categorical(labels, **kwargs)).tolist()})
    x = np.array([[3.0, 4.0, 0.0], [0.0, 0.0, 0.0], [1.0, -2.0, 2.0]])
    for kwargs in ({}, {"axis": 0}, {"order": 1}):
        data["normalize"].append({"x": x.tolist(), "kwargs": kwargs, "result": np.asarray(
            keras.utils.normalize(x, **kwargs)).tolist()})

    folder = tempfile.mkdtemp()
    imdb_path = os.path.join(folder, "imdb.npz")
    np.savez(imdb_path, x_train=_object_array(TINY_TRAIN), y_train=np.array([0, 1, 1, 0, 1]),
             x_test=_object_array(TINY_TEST), y_test=np.array([1, 0, 1]))
    reuters_path = os.path.join(folder, "reuters.npz")
    np.savez(reuters_path, x=_object_array(TINY_TRAIN + TINY_TEST),
             y=np.array([3, 1, 4, 1, 5, 9, 2, 6]))
    # Keras' loaders read what get_file returns: point it at the tiny files (no download)
    imdb.get_file = lambda *args, **kwargs: imdb_path
    reuters.get_file = lambda *args, **kwargs: reuters_path
    data["imdb"], data["reuters"] = [], []
    for kwargs in LOAD_CASES:
        (a, b), (c, d) = imdb.load_data(**kwargs)
        data["imdb"].append({"kwargs": kwargs, "x_train": [list(map(int, s)) for s in a],
                             "y_train": b.tolist(), "x_test": [list(map(int, s)) for s in c],
                             "y_test": d.tolist()})
        rk = {k: v for k, v in kwargs.items()}
        rk.setdefault("test_split", 0.25)
        (a, b), (c, d) = reuters.load_data(**rk)
        data["reuters"].append({"kwargs": rk, "x_train": [list(map(int, s)) for s in a],
                                "y_train": b.tolist(), "x_test": [list(map(int, s)) for s in c],
                                "y_test": d.tolist()})
    data["tiny"] = {"train": TINY_TRAIN, "test": TINY_TEST, "y_train": [0, 1, 1, 0, 1],
                    "y_test": [1, 0, 1], "reuters_y": [3, 1, 4, 1, 5, 9, 2, 6]}
    _dump("utils.json", data)


if __name__ == "__main__":
    which = sys.argv[1:] or ["losses", "metrics", "optimizers", "utils"]
    for part in which:
        globals()["make_" + part]()
