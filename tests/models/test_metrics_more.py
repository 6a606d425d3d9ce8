"""The Keras 3 metrics added for classification, regression and sequence work (issue 15):
stateful update/result/reset against Keras fixtures (tests/fixtures/training_tools/metrics.json,
made by tools/make_training_tools_fixtures.py), against NumPy written from the definitions,
configs, lookups and argument errors."""

from __future__ import annotations

import json
import os
import warnings

import numpy as np
import pytest

from helpers import assert_close
from rnnkit import metrics, saving
import paths

FIXTURES = str(paths.FIXTURES / "training_tools")
with open(os.path.join(FIXTURES, "metrics.json")) as _f:
    KERAS_CASES = json.load(_f)


def _case_id(case):
    return case["class_name"] + "-" + "-".join(f"{k}={v}" for k, v in case["kwargs"].items())


def _batch(b):
    yt, yp, w = b
    return np.asarray(yt, np.float32), np.asarray(yp, np.float32), \
        None if w is None else np.asarray(w, np.float32)


@pytest.mark.parametrize("case", KERAS_CASES, ids=[_case_id(c) for c in KERAS_CASES])
def test_stateful_values_match_keras(case):
    metric = getattr(metrics, case["class_name"])(**case["kwargs"])
    (yt1, yp1, _), (yt2, yp2, w2) = (_batch(b) for b in case["batches"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        metric.update_state(yt1, yp1)
        first = metric.result()
        metric.update_state(yt2, yp2, sample_weight=w2)
        second = metric.result()
        metric.reset_state()
        metric.update_state(yt2, yp2)
        after_reset = metric.result()
    for got, key in ((first, "first"), (second, "second"), (after_reset, "after_reset")):
        expected = np.asarray(case[key])
        assert np.shape(got) == expected.shape, key
        assert_close(np.asarray(got, np.float64), expected, rtol=1e-5, atol=2e-6, err_msg=key)


@pytest.mark.parametrize("case", KERAS_CASES, ids=[_case_id(c) for c in KERAS_CASES])
def test_config_matches_keras(case):
    metric = getattr(metrics, case["class_name"])(**case["kwargs"])
    config = metric.get_config()
    for key, value in case["config"].items():
        assert key in config, key
        if key == "name":  # Keras uniquifies default names per process (auc, auc_1, ...)
            assert config[key].split("_")[0] == value.split("_")[0]
        elif isinstance(value, float):
            assert config[key] == pytest.approx(value, rel=1e-6), key
        else:
            assert config[key] == value, (key, config[key], value)
    clone = type(metric).from_config(config)
    assert clone.get_config() == config
    restored = saving.deserialize(saving.serialize(metric))
    assert type(restored) is type(metric) and restored.get_config() == config


# ------------------------------------------------------------------------------------------------
# Against NumPy from the definitions
# ------------------------------------------------------------------------------------------------

def _np_counts(y, p, t, w=None):
    w = np.ones_like(p) if w is None else np.broadcast_to(w, p.shape)
    pos, lab = p > t, y != 0
    return (np.sum(w * (pos & lab)), np.sum(w * (pos & ~lab)), np.sum(w * (~pos & ~lab)),
            np.sum(w * (~pos & lab)))


def test_counts_precision_recall_against_numpy(rng):
    y = rng.integers(0, 2, 50).astype(float)
    p = rng.uniform(size=50)
    w = rng.uniform(size=50)
    tp, fp, tn, fn = _np_counts(y, p, 0.5, w)
    assert_close(metrics.TruePositives()(y, p, w), tp, rtol=1e-6)
    assert_close(metrics.FalsePositives()(y, p, w), fp, rtol=1e-6)
    assert_close(metrics.TrueNegatives()(y, p, w), tn, rtol=1e-6)
    assert_close(metrics.FalseNegatives()(y, p, w), fn, rtol=1e-6)
    assert_close(metrics.Precision()(y, p, w), tp / (tp + fp), rtol=1e-6)
    assert_close(metrics.Recall()(y, p, w), tp / (tp + fn), rtol=1e-6)
    several = metrics.Recall(thresholds=[0.2, 0.8])(y, p)
    assert several.shape == (2,)
    for value, t in zip(several, [0.2, 0.8]):
        tp, _, _, fn = _np_counts(y, p, t)
        assert_close(value, tp / (tp + fn), rtol=1e-6)


def test_precision_top_k_and_class_id(rng):
    y = np.eye(4)[rng.integers(0, 4, 20)]
    p = rng.uniform(size=(20, 4))
    top2 = np.argsort(-p, axis=-1)[:, :2]
    predicted = np.zeros_like(p, bool)
    np.put_along_axis(predicted, top2, True, axis=-1)
    tp = np.sum(predicted & (y == 1))
    assert_close(metrics.Precision(top_k=2)(y, p), tp / predicted.sum(), rtol=1e-6)
    col = 3
    tp = np.sum((p[:, col] > 0.5) & (y[:, col] == 1))
    assert_close(metrics.Precision(class_id=col)(y, p), tp / np.sum(p[:, col] > 0.5),
                 rtol=1e-6)


def _np_roc_auc(y, p):
    """The exact ROC AUC: the probability that a positive outranks a negative."""
    pos, neg = p[y == 1], p[y == 0]
    greater = (pos[:, None] > neg[None, :]).sum() + 0.5 * (pos[:, None] == neg[None, :]).sum()
    return greater / (pos.size * neg.size)


def test_auc_converges_to_exact_roc_auc(rng):
    y = rng.integers(0, 2, 400)
    p = np.clip(0.3 * y + rng.uniform(size=400) * 0.7, 0, 1)
    metric = metrics.AUC(num_thresholds=2000)
    metric.update_state(y[:200], p[:200])
    metric.update_state(y[200:], p[200:])
    assert abs(float(metric.result()) - _np_roc_auc(y, p)) < 2e-3
    assert metric.get_config()["num_thresholds"] == 2000


def test_auc_reset_and_multi_label_shapes(rng):
    metric = metrics.AUC(multi_label=True)
    metric.update_state(rng.integers(0, 2, (6, 3)), rng.uniform(size=(6, 3)))
    assert metric.true_positives.shape == (200, 3)
    metric.reset_state()
    assert float(np.sum(metric.true_positives.numpy())) == 0.0


def test_at_constraint_metrics_against_numpy(rng):
    y = rng.integers(0, 2, 60)
    p = rng.uniform(size=60)
    thresholds = [0.0] + [(i + 1) / 9 for i in range(8)] + [1.0]
    best = 0.0
    for t in thresholds:
        tp, fp, tn, fn = _np_counts(y, p, t)
        if tp / (tp + fn) >= 0.4 and tp + fp > 0:
            best = max(best, tp / (tp + fp))
    assert_close(metrics.PrecisionAtRecall(0.4, num_thresholds=10)(y, p), best, rtol=1e-6)


def test_fbeta_against_numpy(rng):
    y = np.eye(3)[rng.integers(0, 3, 30)]
    p = rng.uniform(size=(30, 3))
    pred = (p == p.max(-1, keepdims=True)).astype(float)
    tp, fp, fn = (pred * y).sum(0), (pred * (1 - y)).sum(0), ((1 - pred) * y).sum(0)
    prec, rec = tp / (tp + fp + 1e-7), tp / (tp + fn + 1e-7)
    f2 = 5 * prec * rec / (4 * prec + rec + 1e-7)
    assert_close(metrics.FBetaScore(beta=2.0)(y, p), f2, rtol=1e-5)
    assert_close(metrics.FBetaScore(beta=2.0, average="macro")(y, p), f2.mean(), rtol=1e-5)


def test_r2_against_numpy(rng):
    y = rng.normal(size=(40, 2))
    p = y + 0.3 * rng.normal(size=(40, 2))
    r2 = 1 - ((y - p) ** 2).sum(0) / ((y - y.mean(0)) ** 2).sum(0)
    metric = metrics.R2Score(class_aggregation=None)
    metric.update_state(y[:15], p[:15])
    metric.update_state(y[15:], p[15:])
    assert_close(metric.result(), r2, rtol=1e-5)


def test_iou_against_numpy(rng):
    y = rng.integers(0, 3, 50)
    p = rng.integers(0, 3, 50)
    ious = []
    for c in range(3):
        tp = np.sum((y == c) & (p == c))
        ious.append(tp / (np.sum(y == c) + np.sum(p == c) - tp))
    assert_close(metrics.MeanIoU(num_classes=3)(y, p), np.mean(ious), rtol=1e-5)
    assert_close(metrics.IoU(3, [1, 2])(y, p), np.mean(ious[1:]), rtol=1e-5)
    onehot = metrics.OneHotMeanIoU(num_classes=3)(np.eye(3)[y], np.eye(3)[p] + 0.1)
    assert_close(onehot, np.mean(ious), rtol=1e-5)


def test_iou_float_weights_warn_with_int_dtype():
    metric = metrics.MeanIoU(num_classes=2)
    assert metric.dtype == "int32"
    with pytest.warns(UserWarning, match="int"):
        metric.update_state([0, 1], [0, 1], sample_weight=np.array([0.5, 0.5]))


def test_mean_metrics_against_numpy(rng):
    y = rng.uniform(0.1, 2, (10, 3))
    p = rng.uniform(0.1, 2, (10, 3))
    cos = np.sum(y * p, -1) / np.linalg.norm(y, axis=-1) / np.linalg.norm(p, axis=-1)
    assert_close(metrics.CosineSimilarity()(y, p), cos.mean(), rtol=1e-6)
    assert_close(metrics.LogCoshError()(y, p), np.log(np.cosh(p - y)).mean(), rtol=1e-5)
    scores = rng.normal(size=(10, 5))
    labels = rng.integers(0, 5, 10)
    top3 = np.argsort(-scores, -1)[:, :3]
    expected = np.mean([labels[i] in top3[i] for i in range(10)])
    assert_close(metrics.SparseTopKCategoricalAccuracy(k=3)(labels, scores), expected)
    assert_close(metrics.TopKCategoricalAccuracy(k=3)(np.eye(5)[labels], scores), expected)
    assert_close(metrics.SparseTopKCategoricalAccuracy(k=3, from_sorted_ids=True)(
        labels, top3), expected)


@pytest.mark.parametrize("name,cls", [
    ("auc", metrics.AUC), ("AUC", metrics.AUC), ("precision", metrics.Precision),
    ("recall", metrics.Recall), ("mape", metrics.MeanAbsolutePercentageError),
    ("logcosh", metrics.LogCoshError), ("kl_divergence", metrics.KLDivergence),
    ("top_k_categorical_accuracy", metrics.TopKCategoricalAccuracy),
    ("true_positives", metrics.TruePositives), ("r2_score", metrics.R2Score),
    ("F1Score", metrics.F1Score), ("poisson", metrics.Poisson),
])
def test_get_names(name, cls):
    assert type(metrics.get(name)) is cls


def test_compile_and_fit_with_new_metrics(rng):
    import rnnkit as keras
    model = keras.Sequential([keras.layers.Input((4,)), keras.layers.Dense(1, "sigmoid")])
    precision, recall = keras.metrics.Precision(), keras.metrics.Recall()
    model.compile("adam", "binary_crossentropy",
                  metrics=["auc", precision, recall,
                           keras.metrics.F1Score(average="micro", threshold=0.5)])
    x = rng.normal(size=(32, 4)).astype("float32")
    y = (x[:, :1] > 0).astype("float32")
    history = model.fit(x, y, epochs=2, batch_size=8, verbose=0)
    for key in ("auc", precision.name, recall.name, "f1_score"):
        assert key in history.history and len(history.history[key]) == 2


def test_argument_errors():
    with pytest.raises(ValueError, match="curve"):
        metrics.AUC(curve="XY")
    with pytest.raises(ValueError, match="summation_method"):
        metrics.AUC(summation_method="sum")
    with pytest.raises(ValueError, match="num_thresholds"):
        metrics.AUC(num_thresholds=1)
    with pytest.raises(ValueError, match="num_labels"):
        metrics.AUC(num_labels=3)
    with pytest.raises(ValueError, match="thresholds"):
        metrics.Precision(thresholds=[0.5, 1.5])
    with pytest.raises(ValueError, match="top_k"):
        metrics.Recall(top_k=0)
    with pytest.raises(TypeError, match="class_id"):
        metrics.Precision(class_id="a")
    with pytest.raises(ValueError, match="recall"):
        metrics.PrecisionAtRecall(1.5)
    with pytest.raises(TypeError, match="precision"):
        metrics.RecallAtPrecision("high")
    with pytest.raises(ValueError, match="num_thresholds"):
        metrics.SensitivityAtSpecificity(0.5, num_thresholds=0)
    with pytest.raises(ValueError, match="average"):
        metrics.F1Score(average="mean")
    with pytest.raises(ValueError, match="beta"):
        metrics.FBetaScore(beta=2)
    with pytest.raises(ValueError, match="threshold"):
        metrics.F1Score(threshold=1.5)
    with pytest.raises(ValueError, match="2D inputs"):
        metrics.F1Score()(np.zeros(3), np.zeros(3))
    with pytest.raises(ValueError, match="class_aggregation"):
        metrics.R2Score(class_aggregation="max")
    with pytest.raises(ValueError, match="num_regressors"):
        metrics.R2Score(num_regressors=-1)
    with pytest.raises(ValueError, match="out of range"):
        metrics.IoU(num_classes=2, target_class_ids=[2])
    with pytest.raises(ValueError, match="num_classes"):
        metrics.MeanIoU(num_classes=0)


def test_correlations_against_numpy(rng):
    y = rng.normal(size=(6, 8))
    p = y + rng.normal(size=(6, 8))
    expected = [np.corrcoef(a, b)[0, 1] for a, b in zip(y, p)]
    assert_close(metrics.pearson_correlation(y, p), expected, rtol=1e-10)
    assert_close(metrics.PearsonCorrelation()(y, p), np.mean(expected), rtol=1e-5)
    # Lin's coefficient, with Keras' centring of y_true on mean(y_pred) in the covariance
    mt, mp = y.mean(-1, keepdims=True), p.mean(-1, keepdims=True)
    ccc = np.mean(2 * (y - mp) * (p - mp) / (y.var(-1, keepdims=True) + p.var(-1, keepdims=True)
                                             + (mt - mp) ** 2 + 1e-7), -1)
    assert_close(metrics.concordance_correlation(y, p), ccc, rtol=1e-10)
    assert metrics.get("pearson_correlation") is metrics.pearson_correlation or \
        isinstance(metrics.get("PearsonCorrelation"), metrics.PearsonCorrelation)


def test_confusion_metrics_leave_out_masked_timesteps(rng):
    from rnnkit import masking
    y = rng.integers(0, 2, (4, 6, 1)).astype("float32")
    p = rng.uniform(size=(4, 6, 1)).astype("float32")
    mask = rng.uniform(size=(4, 6)) > 0.3
    weights = rng.uniform(0.5, 2.0, 4)
    masked = p.copy()
    masking.set_keras_mask(masked, mask)
    for make in (metrics.Precision, metrics.Recall, metrics.AUC, metrics.TruePositives,
                 lambda: metrics.PrecisionAtRecall(0.5), lambda: metrics.BinaryIoU()):
        expected = make()(y, p, sample_weight=weights[:, None] * mask)
        assert_close(make()(y, masked, sample_weight=weights), expected, rtol=1e-6)
        assert_close(make()(y, masked), make()(y, p, sample_weight=mask), rtol=1e-6)


def test_shape_argument_errors(rng):
    p = rng.uniform(size=(4, 3))
    y = rng.integers(0, 2, (4, 3))
    with pytest.raises(ValueError, match="label_weights"):
        metrics.AUC(label_weights=[1.0, 2.0]).update_state(y, p)
    metric = metrics.AUC(multi_label=True, num_labels=2)
    with pytest.raises(ValueError, match="2 labels"):
        metric.update_state(y, p)
    with pytest.raises(ValueError, match="class_id"):
        metrics.Precision(class_id=5).update_state(y, p)
    with pytest.raises(TypeError, match="`k`"):
        metrics.TopKCategoricalAccuracy(k=1.5)
    with pytest.raises(ValueError, match="`k`"):
        metrics.SparseTopKCategoricalAccuracy(k=0)


def test_unsorted_thresholds_and_nan_against_broadcast(rng):
    y = rng.integers(0, 2, (40, 3))
    p = rng.uniform(size=(40, 3))
    p[0, 0] = np.nan
    thresholds = [0.8, 0.1, 0.5, 0.3]
    w = rng.uniform(size=40)
    tp = metrics.TruePositives(thresholds=thresholds)(y, p, w)
    fn = metrics.FalseNegatives(thresholds=thresholds)(y, p, w)
    for i, t in enumerate(thresholds):
        pos = p > t  # NaN is never above a threshold
        assert_close(tp[i], np.sum(w[:, None] * (pos & (y == 1))), rtol=1e-6)
        assert_close(fn[i], np.sum(w[:, None] * (~pos & (y == 1))), rtol=1e-6)
