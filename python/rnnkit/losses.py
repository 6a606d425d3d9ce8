"""Loss functions and classes (`keras.losses`), differentiable under `rnnkit.GradientTape`.

Classes (Keras 3 names, arguments and defaults):

    Loss(name=None, reduction="sum_over_batch_size", dtype=None)   base class: override `call`
    LossFunctionWrapper(fn, reduction=..., name=None, dtype=None, **fn_kwargs)
    SparseCategoricalCrossentropy(from_logits=False, ignore_class=None, reduction=..., axis=-1)
    CategoricalCrossentropy(from_logits=False, label_smoothing=0.0, axis=-1, reduction=...)
    BinaryCrossentropy(from_logits=False, label_smoothing=0.0, axis=-1, reduction=...)
    MeanSquaredError(), MeanAbsoluteError(), Huber(delta=1.0)

Functions returning one value per sample (the last axis reduced): `sparse_categorical_crossentropy`,
`categorical_crossentropy`, `binary_crossentropy`, `mean_squared_error` (`mse`),
`mean_absolute_error` (`mae`), `huber`.

Reductions (Keras 3, `reduce_weighted_values`): the per-sample losses are multiplied by the
sample weights, then
  - "sum_over_batch_size" (default) and "mean": sum / number of loss values (so weights
    [1, 0, 0, 0] on unit losses give 0.25, *not* a weighted mean);
  - "mean_with_sample_weight": sum / sum(sample_weight);
  - "sum": the sum;  "none" / None: the weighted per-sample values.
A mask (the `mask=` keyword of `Loss.__call__`, or the one `SparseCategoricalCrossentropy`
makes for `ignore_class`) zeroes the masked values and, for "sum_over_batch_size" / "mean",
divides by the number of unmasked values instead.

Probabilities (`from_logits=False`) are renormalised to sum to 1 along the class axis
(categorical and sparse crossentropy), then clipped to [1e-7, 1 - 1e-7] before the log, exactly
as Keras does. Everything is computed with `rnnkit.ops`, so a tracked `y_pred` gives a tracked
loss. Computation dtype: `dtype` if given, else the floating dtype of `y_pred` (float32 for
anything else) -- Keras always uses float32 unless told otherwise; rnnkit keeps float64
predictions in float64.
"""

from __future__ import annotations

import collections
import re
import warnings

import numpy as np

from rnnkit import masking, ops
from rnnkit import saving as _saving
from rnnkit.autodiff import record, unwrap

__all__ = [
    "BinaryCrossentropy", "CategoricalCrossentropy", "Huber", "Loss", "LossFunctionWrapper",
    "MeanAbsoluteError", "MeanSquaredError", "SparseCategoricalCrossentropy",
    "binary_crossentropy", "categorical_crossentropy", "deserialize", "get", "huber", "mae",
    "mean_absolute_error", "mean_squared_error", "mse", "reduce_values",
    "reduce_weighted_values", "serialize", "sparse_categorical_crossentropy",
    "squeeze_or_expand_to_same_rank",
]

EPSILON = 1e-7  # keras.backend.epsilon()

_REDUCTIONS = ("sum_over_batch_size", "sum", None, "none", "mean", "mean_with_sample_weight")


# ------------------------------------------------------------------------------------------------
# Helpers
# ------------------------------------------------------------------------------------------------

_name_uids: collections.Counter = collections.Counter()


def _to_snake_case(name):
    name = re.sub(r"\W+", "", name)
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name).lower()


def _wrapper_from_config(cls, config, functions):
    """`cls(**config)` for a loss or metric wrapper, whose `fn` is saved by name (looked up in
    `functions` first) or as a config."""
    config = dict(config)
    if "fn" in config:
        fn = config.pop("fn")
        if isinstance(fn, str):
            fn = functions.get(fn) or _saving.deserialize(fn)
        else:
            fn = _saving.deserialize(fn, module_objects=functions)
        config["fn"] = fn
    return cls(**config)


def _auto_name(class_name):
    """Keras' `auto_name`: snake_case of the class name, uniquified (`my_loss`, `my_loss_1`)."""
    prefix = _to_snake_case(class_name)
    count = _name_uids[prefix]
    _name_uids[prefix] += 1
    return prefix if count == 0 else f"{prefix}_{count}"


def _shape(x):
    return tuple(np.shape(unwrap(x)))


def _float_dtype(x):
    dt = np.asarray(unwrap(x)).dtype if not hasattr(x, "dtype") else np.dtype(x.dtype)
    return dt.name if dt.kind == "f" else "float32"


def _convert(x, dtype=None):
    """`x` as an array/tensor of `dtype` (tracking kept); dtype None: keep floats, else float32."""
    t = ops.convert_to_tensor(x)
    if dtype is None:
        dtype = _float_dtype(t)
    if np.dtype(ops.dtype(t)) != np.dtype(dtype):
        t = ops.cast(t, dtype)
    return t


def _pred_and_true(y_true, y_pred):
    y_pred = _convert(y_pred)
    y_true = _convert(y_true, ops.dtype(y_pred))
    return y_true, y_pred


def squeeze_or_expand_to_same_rank(x1, x2, expand_rank_1=True):
    """Brings two arrays whose ranks differ by one to the same rank (Keras' rule).

    When the ranks differ by exactly one and the longer array ends in an axis of size 1,
    that axis is squeezed, or, when the shorter array has rank 1 and `expand_rank_1` is set,
    the shorter one gets a trailing axis instead. Other pairs are returned unchanged.

    Args:
        x1: First array.
        x2: Second array.
        expand_rank_1: Bool, expand a rank-1 array rather than squeeze the other. Defaults
            to `True`.

    Returns:
        The pair `(x1, x2)`, possibly reshaped.

    Example:

    >>> import numpy as np, rnnkit as keras
    >>> a, b = keras.losses.squeeze_or_expand_to_same_rank(np.zeros((4, 1)), np.zeros(4))
    >>> a.shape, b.shape
    ((4, 1), (4, 1))
    """
    r1, r2 = len(_shape(x1)), len(_shape(x2))
    if r1 == r2:
        return x1, x2
    if r1 == r2 + 1 and _shape(x1)[-1] == 1:
        if r2 == 1 and expand_rank_1:
            x2 = ops.expand_dims(x2, -1)
        else:
            x1 = ops.squeeze(x1, -1)
    if r2 == r1 + 1 and _shape(x2)[-1] == 1:
        if r1 == 1 and expand_rank_1:
            x1 = ops.expand_dims(x1, -1)
        else:
            x2 = ops.squeeze(x2, -1)
    return x1, x2


def _check_broadcastable(fn_name, y_true, y_pred):
    try:
        np.broadcast_shapes(_shape(y_true), _shape(y_pred))
    except ValueError:
        raise ValueError(
            f"{fn_name}: `y_true` and `y_pred` have incompatible shapes: "
            f"y_true.shape={_shape(y_true)}, y_pred.shape={_shape(y_pred)}.") from None


def _check_axis(axis):
    if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)):
        raise ValueError(f"`axis` must be of type `int`. Received: axis={axis} of type "
                         f"{type(axis)}")


def _check_rank(fn_name, x, what):
    if len(_shape(x)) < 1:
        raise ValueError(f"{fn_name}: `{what}` must be at least rank 1. Received: "
                         f"{what}.shape={_shape(x)}")


def _log_probabilities(y_pred, axis, from_logits):
    """log of the class probabilities: log_softmax of logits, or of the renormalised and
    clipped probabilities (Keras' `categorical_crossentropy` backend op)."""
    if from_logits:
        return ops.log_softmax(y_pred, axis=axis)
    output = ops.divide(y_pred, ops.sum(y_pred, axis=axis, keepdims=True))
    output = ops.clip(output, EPSILON, 1.0 - EPSILON)
    return ops.log(output)


# ------------------------------------------------------------------------------------------------
# Loss functions (one value per sample)
# ------------------------------------------------------------------------------------------------

def mean_squared_error(y_true, y_pred):
    """Computes the mean squared error per sample: `mean(square(y_true - y_pred), axis=-1)`.

    `mse` and `MSE` are the same function. Targets whose rank differs by one from the
    predictions' (`(N,)` against `(N, 1)`) are aligned first.

    Args:
        y_true: The targets.
        y_pred: The predictions, broadcastable with `y_true`.

    Returns:
        The per-sample losses, of shape `y_pred.shape[:-1]`.

    Raises:
        ValueError: If the shapes cannot be broadcast together.

    Example:

    >>> import numpy as np, rnnkit as keras
    >>> keras.losses.mean_squared_error(np.array([[0.0, 1.0]]), np.array([[1.0, 1.0]]))
    array([0.5])
    """
    y_true, y_pred = _pred_and_true(y_true, y_pred)
    y_true, y_pred = squeeze_or_expand_to_same_rank(y_true, y_pred)
    _check_broadcastable("mean_squared_error", y_true, y_pred)
    return ops.mean(ops.square(ops.subtract(y_true, y_pred)), axis=-1)


def mean_absolute_error(y_true, y_pred):
    """Computes the mean absolute error per sample: `mean(abs(y_true - y_pred), axis=-1)`.

    `mae` and `MAE` are the same function.

    Args:
        y_true: The targets.
        y_pred: The predictions, broadcastable with `y_true`.

    Returns:
        The per-sample losses, of shape `y_pred.shape[:-1]`.

    Raises:
        ValueError: If the shapes cannot be broadcast together.
    """
    y_true, y_pred = _pred_and_true(y_true, y_pred)
    y_true, y_pred = squeeze_or_expand_to_same_rank(y_true, y_pred)
    _check_broadcastable("mean_absolute_error", y_true, y_pred)
    return ops.mean(ops.abs(ops.subtract(y_true, y_pred)), axis=-1)


def huber(y_true, y_pred, delta=1.0):
    """Computes the Huber loss per sample, averaged over the last axis.

    With `e = y_pred - y_true`: `0.5 * e**2` where `|e| <= delta`, else
    `delta * |e| - 0.5 * delta**2` (quadratic near 0, linear further out).

    Args:
        y_true: The targets.
        y_pred: The predictions, broadcastable with `y_true`.
        delta: Float, where the loss turns from quadratic to linear. Defaults to 1.0.

    Returns:
        The per-sample losses, of shape `y_pred.shape[:-1]`.

    Raises:
        ValueError: If the shapes cannot be broadcast together.
    """
    y_true, y_pred = _pred_and_true(y_true, y_pred)
    y_true, y_pred = squeeze_or_expand_to_same_rank(y_true, y_pred)
    _check_broadcastable("huber", y_true, y_pred)
    delta = float(delta)
    error = ops.subtract(y_pred, y_true)
    abs_error = ops.abs(error)
    quadratic = ops.multiply(0.5, ops.square(error))
    linear = ops.subtract(ops.multiply(delta, abs_error), 0.5 * delta * delta)
    return ops.mean(ops.where(ops.less_equal(abs_error, delta), quadratic, linear), axis=-1)


def categorical_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0, axis=-1):
    """Computes the crossentropy per sample between one-hot labels and predictions.

    The loss is `-sum(y_true * log(p), axis)`, where `p` is `softmax(y_pred)` with
    `from_logits`, else `y_pred` renormalised to sum to 1 along `axis` and clipped to
    `[1e-7, 1 - 1e-7]`, as Keras does.

    Args:
        y_true: One-hot (or soft) labels, of the shape of `y_pred`.
        y_pred: Probabilities, or logits with `from_logits=True`.
        from_logits: Bool, whether `y_pred` holds logits. Defaults to `False`.
        label_smoothing: Float in [0, 1]: the labels become
            `y_true * (1 - label_smoothing) + label_smoothing / num_classes`. Defaults to 0.
        axis: Int, the class axis. Defaults to -1.

    Returns:
        The per-sample losses (`y_pred` without the class axis).

    Raises:
        ValueError: If the shapes differ, `y_pred` is a scalar or `axis` is not an int.
    """
    _check_axis(axis)
    y_true, y_pred = _pred_and_true(y_true, y_pred)
    if _shape(y_true) != _shape(y_pred):
        raise ValueError(
            "categorical_crossentropy: `y_true` (one-hot labels) and `y_pred` must have the "
            f"same shape. Received: y_true.shape={_shape(y_true)}, "
            f"y_pred.shape={_shape(y_pred)}. For integer labels use "
            "sparse_categorical_crossentropy.")
    _check_rank("categorical_crossentropy", y_pred, "y_pred")
    if _shape(y_pred)[-1] == 1:
        warnings.warn(
            "In loss categorical_crossentropy, expected y_pred.shape to be (batch_size, "
            f"num_classes) with num_classes > 1. Received: y_pred.shape={_shape(y_pred)}. "
            "Consider using 'binary_crossentropy' if you only have 2 classes.",
            SyntaxWarning, stacklevel=2)
    if label_smoothing:
        num_classes = _shape(y_true)[-1]
        y_true = ops.add(ops.multiply(y_true, 1.0 - label_smoothing),
                         label_smoothing / num_classes)
    log_prob = _log_probabilities(y_pred, axis, from_logits)
    return ops.negative(ops.sum(ops.multiply(y_true, log_prob), axis=axis))


def _sparse_ce(y_true, y_pred, from_logits=False, ignore_class=None, axis=-1, mean=False):
    """(per-sample losses, valid mask or None); with `mean` (from logits, no ignore_class
    only) the mean loss instead of the per-sample values."""
    _check_axis(axis)
    y_pred = _convert(y_pred)
    _check_rank("sparse_categorical_crossentropy", y_pred, "y_pred")
    pred_shape = _shape(y_pred)
    labels = np.asarray(unwrap(y_true))
    if labels.ndim == len(pred_shape) and labels.ndim and labels.shape[-1] == 1:
        labels = np.squeeze(labels, -1)
    ax = axis % len(pred_shape)
    expected = pred_shape[:ax] + pred_shape[ax + 1:]
    if labels.shape != expected:
        raise ValueError(
            "sparse_categorical_crossentropy: `y_true` must hold one integer label per "
            f"sample. Received: y_true.shape={np.shape(unwrap(y_true))}, "
            f"y_pred.shape={pred_shape}; expected y_true of shape {expected} or "
            f"{expected + (1,)}. For one-hot labels use categorical_crossentropy.")
    if labels.dtype.kind == "b":
        labels = labels.astype(np.int64)
    elif labels.dtype.kind == "f":
        if labels.size and not np.all(np.isfinite(labels) & (labels == np.floor(labels))):
            bad = labels[~(np.isfinite(labels) & (labels == np.floor(labels)))].ravel()[0]
            raise ValueError(
                f"sparse_categorical_crossentropy: labels must be integers; got the label "
                f"{bad!r}.")
        labels = labels.astype(np.int64)
    elif labels.dtype.kind not in "iu":
        raise ValueError(f"sparse_categorical_crossentropy: labels must be integers, got "
                         f"dtype {labels.dtype}.")
    num_classes = pred_shape[ax]
    valid = None
    if ignore_class is not None:
        valid = labels != ignore_class
        labels = np.where(valid, labels, 0)
    out_of_range = (labels < 0) | (labels >= num_classes)
    if np.any(out_of_range):
        bad = labels[out_of_range].ravel()[0]
        raise ValueError(
            f"sparse_categorical_crossentropy: label {int(bad)} is out of range for "
            f"{num_classes} classes (valid labels are 0 to {num_classes - 1}); "
            f"y_pred.shape={pred_shape}.")
    if valid is not None and not from_logits:
        # Ignored rows are replaced by ones so renormalisation never divides by zero; their
        # loss is zeroed below and they get no gradient.
        y_pred = ops.where(np.expand_dims(valid, ax), y_pred, 1.0)
    if from_logits:
        res = _picked_negative_log_softmax(y_pred, labels, ax, mean=mean and valid is None)
    else:
        log_prob = _log_probabilities(y_pred, ax, from_logits)
        picked = ops.take_along_axis(log_prob, np.expand_dims(labels, ax), axis=ax)
        res = ops.negative(ops.squeeze(picked, ax))
    if valid is not None:
        res = ops.where(valid, res, 0.0)
    return res, valid


def _picked_negative_log_softmax(logits, labels, axis, mean=False):
    """-log_softmax(logits)[label] along `axis` (or, with `mean`, the mean of those values), as
    ONE differentiable op: the training loop calls it every step, and its VJP is simply
    softmax - one_hot."""
    z = np.asarray(unwrap(logits))
    index = np.expand_dims(labels, axis)
    shifted = z - np.max(z, axis=axis, keepdims=True)
    exp = np.exp(shifted)
    total = np.sum(exp, axis=axis, keepdims=True)
    loss = np.squeeze(np.log(total) - np.take_along_axis(shifted, index, axis=axis), axis)
    count = loss.size
    if mean:
        loss = np.mean(loss)

    def vjp(grads):
        softmax = exp / total
        np.put_along_axis(softmax, index, np.take_along_axis(softmax, index, axis=axis) - 1.0,
                          axis=axis)
        scale = grads[0] / count if mean else np.expand_dims(grads[0], axis)
        return (softmax * scale,)

    return record(np.asarray(loss, dtype=z.dtype), (logits,), vjp)


def sparse_categorical_crossentropy(y_true, y_pred, from_logits=False, ignore_class=None,
                                    axis=-1):
    """Computes the crossentropy per sample between integer labels and predictions.

    The loss is `-log(p[y_true])`, where `p` is `softmax(y_pred)` with `from_logits`, else
    the probabilities renormalised and clipped as in `categorical_crossentropy`.

    Args:
        y_true: Integer class ids of shape `y_pred.shape[:-1]`, optionally with a trailing
            axis of size 1. Booleans and integral floats are accepted.
        y_pred: Probabilities, or logits with `from_logits=True`, with the classes on
            `axis`.
        from_logits: Bool, whether `y_pred` holds logits. Defaults to `False`.
        ignore_class: Optional int; samples with this label get a loss of 0 (the
            `SparseCategoricalCrossentropy` class also leaves them out of the average).
        axis: Int, the class axis. Defaults to -1.

    Returns:
        The per-sample losses (`y_pred` without the class axis).

    Raises:
        ValueError: If the label shape does not match, a label is not an integer or is
            outside `[0, num_classes)`, or `axis` is not an int.

    Example:

    >>> import numpy as np, rnnkit as keras
    >>> keras.losses.sparse_categorical_crossentropy(
    ...     np.array([0, 1]), np.array([[0.9, 0.1], [0.5, 0.5]], dtype="float32"))
    array([0.10536..., 0.69314...], dtype=float32)
    """
    return _sparse_ce(y_true, y_pred, from_logits, ignore_class, axis)[0]


def binary_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0, axis=-1):
    """Computes the binary crossentropy per sample, averaged over `axis`.

    The loss is `mean(-(y * log(p) + (1 - y) * log(1 - p)), axis)`, where `p` is
    `sigmoid(y_pred)` with `from_logits` (computed with `log_sigmoid`, without overflow),
    else `y_pred` clipped to `[1e-7, 1 - 1e-7]`. `bce` and `BCE` are the same function.

    Args:
        y_true: Labels in [0, 1], of the shape of `y_pred` (a rank difference of one with a
            trailing 1 is aligned).
        y_pred: Probabilities, or logits with `from_logits=True`.
        from_logits: Bool, whether `y_pred` holds logits. Defaults to `False`.
        label_smoothing: Float in [0, 1]: the labels become
            `y * (1 - label_smoothing) + 0.5 * label_smoothing`. Defaults to 0.
        axis: Int, the axis averaged over. Defaults to -1.

    Returns:
        The per-sample losses.

    Raises:
        ValueError: If the shapes differ or `y_pred` is a scalar.
    """
    y_true, y_pred = _pred_and_true(y_true, y_pred)
    y_true, y_pred = squeeze_or_expand_to_same_rank(y_true, y_pred)
    if _shape(y_true) != _shape(y_pred):
        raise ValueError(
            "binary_crossentropy: `y_true` and `y_pred` must have the same shape. Received: "
            f"y_true.shape={_shape(y_true)}, y_pred.shape={_shape(y_pred)}.")
    _check_rank("binary_crossentropy", y_pred, "y_pred")
    if label_smoothing:
        y_true = ops.add(ops.multiply(y_true, 1.0 - label_smoothing), 0.5 * label_smoothing)
    one_minus_true = ops.subtract(1.0, y_true)
    if from_logits:
        log_p = ops.log_sigmoid(y_pred)
        log_1mp = ops.log_sigmoid(ops.negative(y_pred))
    else:
        output = ops.clip(y_pred, EPSILON, 1.0 - EPSILON)
        log_p = ops.log(output)
        log_1mp = ops.log(ops.subtract(1.0, output))
    bce = ops.negative(ops.add(ops.multiply(y_true, log_p), ops.multiply(one_minus_true, log_1mp)))
    return ops.mean(bce, axis=axis)


mse = MSE = mean_squared_error
mae = MAE = mean_absolute_error
bce = BCE = binary_crossentropy


# ------------------------------------------------------------------------------------------------
# Reduction
# ------------------------------------------------------------------------------------------------

def standardize_reduction(reduction):
    """Checks a `reduction` argument.

    Args:
        reduction: One of `"sum_over_batch_size"`, `"sum"`, `"mean"`,
            `"mean_with_sample_weight"`, `"none"` or `None`.

    Returns:
        `reduction` unchanged.

    Raises:
        ValueError: For any other value.
    """
    if reduction not in _REDUCTIONS:
        raise ValueError(
            "Invalid value for argument `reduction`. Expected one of "
            f"{set(_REDUCTIONS)}. Received: reduction={reduction}")
    return reduction


def _num_elements(x):
    return int(np.prod(_shape(x), dtype=np.int64))


def reduce_values(values, sample_weight=None, reduction="sum_over_batch_size"):
    """Reduces loss values that are already weighted (Keras' `reduce_values`).

    Args:
        values: The (weighted) loss values.
        sample_weight: The weights, used only as the divisor of
            `"mean_with_sample_weight"`.
        reduction: `"sum_over_batch_size"` / `"mean"` (sum divided by the number of
            values), `"mean_with_sample_weight"` (sum divided by the sum of the weights),
            `"sum"`, or `"none"` / `None` (no reduction). Defaults to
            `"sum_over_batch_size"`.

    Returns:
        A scalar, or `values` unchanged for `"none"` / `None` or scalar / empty values.
    """
    shape = _shape(values)
    if reduction is None or reduction == "none" or shape == () or shape == (0,):
        return values
    loss = ops.sum(values)
    if reduction in ("sum_over_batch_size", "mean", "mean_with_sample_weight"):
        if reduction == "mean_with_sample_weight" and sample_weight is not None:
            divisor = float(np.sum(np.asarray(unwrap(sample_weight), dtype=np.float64)))
        else:
            divisor = _num_elements(values)
        loss = ops.divide(loss, divisor) if divisor != 0 else ops.multiply(loss, 0.0)
    return loss


def _align_leading(sample_weight, shape):
    """Per-sample weights against per-timestep values (or masks) weigh every step of their
    sample: align them on the leading axes. (Keras fails to broadcast `(B,)` against `(B, T)`;
    rnnkit gives it this meaning.)"""
    ws = _shape(sample_weight)
    if len(ws) < len(shape) and tuple(shape[:len(ws)]) == ws:
        return ops.reshape(sample_weight, ws + (1,) * (len(shape) - len(ws)))
    return sample_weight


def _apply_mask(sample_weight, mask, dtype, reduction):
    """Fold a mask into the sample weights (masked values weigh 0; for the averaging
    reductions the unmasked ones weigh total / valid)."""
    if mask is None:
        return sample_weight
    mask = np.asarray(unwrap(mask)).astype(dtype)
    if reduction in ("mean", "sum_over_batch_size"):
        valid = float(np.sum(mask))
        mask = mask * (mask.size / valid if valid else 0.0)
        mask = mask.astype(dtype)
    if sample_weight is None:
        return mask
    mask, sample_weight = squeeze_or_expand_to_same_rank(mask, sample_weight)
    return ops.multiply(_align_leading(sample_weight, mask.shape), mask)


def reduce_weighted_values(values, sample_weight=None, mask=None,
                           reduction="sum_over_batch_size", dtype=None):
    """Weights the per-sample loss values by `sample_weight` and `mask`, then reduces them.

    A mask zeroes the masked values; for `"sum_over_batch_size"` and `"mean"` the sum is
    then divided by the number of unmasked values. Per-sample weights `(batch,)` against
    per-timestep values `(batch, timesteps)` weigh every timestep of their sample.

    Args:
        values: The per-sample loss values.
        sample_weight: Optional weights, broadcastable to `values` (a rank difference of
            one with a trailing 1 is aligned).
        mask: Optional boolean mask of the values' shape.
        reduction: See `reduce_values`. Defaults to `"sum_over_batch_size"`.
        dtype: Optional computation dtype (the values' floating dtype by default).

    Returns:
        The reduced loss.

    Raises:
        ValueError: If `reduction` is invalid or the weights do not match the values.

    Example:

    >>> import numpy as np, rnnkit as keras
    >>> keras.losses.reduce_weighted_values(np.ones(4, "float32"),
    ...                                     sample_weight=np.array([1.0, 0.0, 0.0, 0.0]))
    array(0.25, dtype=float32)
    """
    reduction = standardize_reduction(reduction)
    values = _convert(values, dtype)
    dtype = ops.dtype(values)
    if sample_weight is not None:
        sample_weight = _convert(sample_weight, dtype)
    sample_weight = _apply_mask(sample_weight, mask, dtype, reduction)
    if sample_weight is not None:
        values, sample_weight = squeeze_or_expand_to_same_rank(values, sample_weight)
        sample_weight = _align_leading(sample_weight, _shape(values))
        try:
            np.broadcast_shapes(_shape(values), _shape(sample_weight))
        except ValueError:
            raise ValueError(
                f"`sample_weight` of shape {_shape(sample_weight)} does not match the loss "
                f"values of shape {_shape(values)} (one weight per sample is expected).") \
                from None
        values = ops.multiply(values, sample_weight)
    return reduce_values(values, sample_weight, reduction)


# ------------------------------------------------------------------------------------------------
# Loss classes
# ------------------------------------------------------------------------------------------------

class Loss:
    """The base class of losses.

    Subclasses implement `call(y_true, y_pred)`, returning one loss value per sample (or
    per timestep); calling the loss converts the inputs, runs `call`, applies the sample
    weights and a mask, and reduces the values. Everything is computed with `rnnkit.ops`,
    so a tracked `y_pred` gives a tracked loss under `GradientTape`.

    Args:
        name: Optional name. Defaults to the snake_case class name, made unique.
        reduction: How the per-sample losses are reduced: `"sum_over_batch_size"` (the
            default; the weighted sum divided by the number of values), `"sum"`,
            `"mean"` (same as the default), `"mean_with_sample_weight"` (divided by the sum
            of the weights), or `"none"` / `None` (the weighted per-sample values).
        dtype: Optional computation dtype. `None` (the default) follows `y_pred`: float64
            predictions stay float64, anything else is computed in float32.

    Call arguments:
        y_true: The targets.
        y_pred: The predictions.
        sample_weight: Optional weights, one per sample (or broadcastable to the per-sample
            losses).

    Returns:
        The reduced loss: a scalar array, or the per-sample values with `reduction="none"`.

    Raises:
        ValueError: If `reduction` is not one of the accepted values.

    Example:

    >>> import numpy as np, rnnkit as keras
    >>> class MeanError(keras.losses.Loss):
    ...     def call(self, y_true, y_pred):
    ...         return keras.ops.mean(keras.ops.subtract(y_pred, y_true), axis=-1)
    >>> MeanError()(np.zeros((2, 3)), np.ones((2, 3)))
    array(1.)
    """

    def __init__(self, name=None, reduction="sum_over_batch_size", dtype=None):
        self.name = name or _auto_name(type(self).__name__)
        self.reduction = standardize_reduction(reduction)
        self._dtype = None if dtype is None else np.dtype(getattr(dtype, "name", dtype)).name

    @property
    def dtype(self):
        """The computation dtype given to the constructor, or `None`."""
        return self._dtype

    def __call__(self, y_true, y_pred, sample_weight=None, *, mask=None):
        """Computes the weighted, reduced loss.

        The mask attached to `y_pred` (a masked model output's, see `rnnkit.masking`)
        leaves the masked values out, as Keras' `_keras_mask` does.

        Args:
            y_true: The targets.
            y_pred: The predictions.
            sample_weight: Optional weights, broadcastable to the per-sample losses.
            mask: Optional boolean mask of the per-sample losses' shape (an rnnkit
                extension), used instead of the mask attached to `y_pred`.

        Returns:
            The reduced loss (a scalar), or the weighted values with `reduction="none"`.
        """
        if mask is None:
            mask = masking.get_keras_mask(y_pred)
        y_pred = _convert(y_pred, self._dtype)
        dtype = ops.dtype(y_pred)
        y_true = _convert(y_true, dtype)
        losses, out_mask = self._call_with_mask(y_true, y_pred)
        if mask is not None and out_mask is not None:
            mask = np.logical_and(np.asarray(unwrap(mask), bool), out_mask)
        elif out_mask is not None:
            mask = out_mask
        return reduce_weighted_values(losses, sample_weight=sample_weight, mask=mask,
                                      reduction=self.reduction, dtype=dtype)

    def _call_with_mask(self, y_true, y_pred):
        return self.call(y_true, y_pred), None

    def call(self, y_true, y_pred):
        """Returns the unreduced losses; override it in subclasses.

        Args:
            y_true: The targets, converted to the computation dtype.
            y_pred: The predictions, converted to the computation dtype.

        Returns:
            One loss value per sample (or per timestep).
        """
        raise NotImplementedError(f"{type(self).__name__} must implement `call(y_true, y_pred)`.")

    def get_config(self):
        """Returns the constructor arguments as a JSON-serializable dict."""
        config = {"name": self.name, "reduction": self.reduction}
        if self._dtype is not None:
            config["dtype"] = self._dtype
        return config

    @classmethod
    def from_config(cls, config):
        """Creates a loss from the dict returned by `get_config()`."""
        return cls(**config)

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name!r} reduction={self.reduction!r}>"


class LossFunctionWrapper(Loss):
    """A `Loss` around a function returning per-sample losses.

    This is what `compile(loss=some_function)` uses. Before `fn` runs, `y_true` and `y_pred`
    pass through `squeeze_or_expand_to_same_rank`, so `(N,)` targets work against `(N, 1)`
    predictions.

    Args:
        fn: Callable `fn(y_true, y_pred, **kwargs)` returning one loss value per sample.
        reduction: How the per-sample losses are reduced: `"sum_over_batch_size"` (the
            default; the weighted sum divided by the number of values), `"sum"`,
            `"mean"` (same as the default), `"mean_with_sample_weight"` (divided by the sum
            of the weights), or `"none"` / `None` (the weighted per-sample values).
        name: Optional name. Defaults to `fn.__name__`.
        dtype: Optional computation dtype. `None` (the default) follows `y_pred`: float64
            predictions stay float64, anything else is computed in float32.
        **kwargs: Extra keyword arguments passed to `fn` (and saved in the config).

    Raises:
        ValueError: If `fn` is not callable or `reduction` is invalid.

    Example:

    >>> import numpy as np, rnnkit as keras
    >>> loss = keras.losses.LossFunctionWrapper(keras.losses.huber, delta=0.5)
    >>> loss(np.zeros((2, 1)), np.full((2, 1), 2.0, dtype="float32"))
    array(0.875, dtype=float32)
    """

    def __init__(self, fn, reduction="sum_over_batch_size", name=None, dtype=None, **kwargs):
        if not callable(fn):
            raise ValueError(f"LossFunctionWrapper: `fn` must be callable, got {fn!r}")
        super().__init__(name=name or getattr(fn, "__name__", None), reduction=reduction,
                         dtype=dtype)
        self.fn = fn
        self._fn_kwargs = kwargs

    def call(self, y_true, y_pred):
        """Returns `fn(y_true, y_pred, **kwargs)` after aligning the ranks."""
        y_true, y_pred = squeeze_or_expand_to_same_rank(y_true, y_pred)
        return self.fn(y_true, y_pred, **self._fn_kwargs)

    def get_config(self):
        config = super().get_config()
        config["fn"] = _saving.serialize(self.fn)
        config.update(_saving.serialize(self._fn_kwargs))
        return config

    @classmethod
    def from_config(cls, config):
        """Creates the wrapper from `get_config()`; `fn` is looked up by name or deserialized."""
        return _wrapper_from_config(cls, config, ALL_OBJECTS_DICT)

    def __repr__(self):
        if type(self) is not LossFunctionWrapper:
            return super().__repr__()
        return f"<LossFunctionWrapper({getattr(self.fn, '__name__', self.fn)}, " \
               f"kwargs={self._fn_kwargs})>"


class _BuiltinLossWrapper(LossFunctionWrapper):
    """A built-in loss class around one of the functions above. Its config is Keras': the
    class's own arguments (`_config_keys`, kept as attributes), not `fn` and its kwargs."""

    _config_keys = ()

    def __init__(self, fn, reduction, name, dtype, **kwargs):
        if "axis" in kwargs:
            _check_axis(kwargs["axis"])
        super().__init__(fn, name=name, reduction=reduction, dtype=dtype, **kwargs)
        for key in self._config_keys:
            setattr(self, key, kwargs[key])

    def get_config(self):
        config = Loss.get_config(self)
        config.update({key: getattr(self, key) for key in self._config_keys})
        return config


class MeanSquaredError(_BuiltinLossWrapper):
    """Computes the mean of the squares of the errors between targets and predictions.

    Per sample, `mean(square(y_true - y_pred), axis=-1)` (see `mean_squared_error`); then
    the weights and the reduction apply.

    Args:
        reduction: How the per-sample losses are reduced: `"sum_over_batch_size"` (the
            default; the weighted sum divided by the number of values), `"sum"`,
            `"mean"` (same as the default), `"mean_with_sample_weight"` (divided by the sum
            of the weights), or `"none"` / `None` (the weighted per-sample values).
        name: Defaults to `"mean_squared_error"`.
        dtype: Optional computation dtype. `None` (the default) follows `y_pred`: float64
            predictions stay float64, anything else is computed in float32.

    Call arguments:
        y_true: The targets.
        y_pred: The predictions.
        sample_weight: Optional weights, one per sample (or broadcastable to the per-sample
            losses).

    Returns:
        The reduced loss: a scalar array, or the per-sample values with `reduction="none"`.

    Example:

    >>> import numpy as np, rnnkit as keras
    >>> y_true = np.array([[0.0, 1.0], [0.0, 0.0]], dtype="float32")
    >>> y_pred = np.array([[1.0, 1.0], [1.0, 0.0]], dtype="float32")
    >>> keras.losses.MeanSquaredError()(y_true, y_pred)
    array(0.5, dtype=float32)
    """

    def __init__(self, reduction="sum_over_batch_size", name="mean_squared_error", dtype=None):
        super().__init__(mean_squared_error, reduction, name, dtype)


class MeanAbsoluteError(_BuiltinLossWrapper):
    """Computes the mean of the absolute errors between targets and predictions.

    Per sample, `mean(abs(y_true - y_pred), axis=-1)` (see `mean_absolute_error`); then the
    weights and the reduction apply.

    Args:
        reduction: How the per-sample losses are reduced: `"sum_over_batch_size"` (the
            default; the weighted sum divided by the number of values), `"sum"`,
            `"mean"` (same as the default), `"mean_with_sample_weight"` (divided by the sum
            of the weights), or `"none"` / `None` (the weighted per-sample values).
        name: Defaults to `"mean_absolute_error"`.
        dtype: Optional computation dtype. `None` (the default) follows `y_pred`: float64
            predictions stay float64, anything else is computed in float32.

    Call arguments:
        y_true: The targets.
        y_pred: The predictions.
        sample_weight: Optional weights, one per sample (or broadcastable to the per-sample
            losses).

    Returns:
        The reduced loss: a scalar array, or the per-sample values with `reduction="none"`.
    """

    def __init__(self, reduction="sum_over_batch_size", name="mean_absolute_error", dtype=None):
        super().__init__(mean_absolute_error, reduction, name, dtype)


class Huber(_BuiltinLossWrapper):
    """Computes the Huber loss between targets and predictions.

    Per sample, the `huber` function averaged over the last axis: quadratic for errors up to
    `delta`, linear beyond. Unlike Keras, whose config omits `delta`, the config keeps it.

    Args:
        delta: Float, where the loss turns from quadratic to linear. Defaults to 1.0.
        reduction: How the per-sample losses are reduced: `"sum_over_batch_size"` (the
            default; the weighted sum divided by the number of values), `"sum"`,
            `"mean"` (same as the default), `"mean_with_sample_weight"` (divided by the sum
            of the weights), or `"none"` / `None` (the weighted per-sample values).
        name: Defaults to `"huber_loss"`.
        dtype: Optional computation dtype. `None` (the default) follows `y_pred`: float64
            predictions stay float64, anything else is computed in float32.

    Call arguments:
        y_true: The targets.
        y_pred: The predictions.
        sample_weight: Optional weights, one per sample (or broadcastable to the per-sample
            losses).

    Returns:
        The reduced loss: a scalar array, or the per-sample values with `reduction="none"`.
    """

    _config_keys = ("delta",)

    def __init__(self, delta=1.0, reduction="sum_over_batch_size", name="huber_loss", dtype=None):
        super().__init__(huber, reduction, name, dtype, delta=delta)


class CategoricalCrossentropy(_BuiltinLossWrapper):
    """Computes the crossentropy between one-hot labels and predictions.

    Use it for two or more classes with one-hot (or soft) labels; for integer labels use
    `SparseCategoricalCrossentropy`. See `categorical_crossentropy` for the formula.

    Args:
        from_logits: Bool, whether `y_pred` holds logits rather than probabilities.
            Defaults to `False`.
        label_smoothing: Float in [0, 1], mixes the labels with the uniform distribution.
            Defaults to 0.
        axis: Int, the class axis. Defaults to -1.
        reduction: How the per-sample losses are reduced: `"sum_over_batch_size"` (the
            default; the weighted sum divided by the number of values), `"sum"`,
            `"mean"` (same as the default), `"mean_with_sample_weight"` (divided by the sum
            of the weights), or `"none"` / `None` (the weighted per-sample values).
        name: Defaults to `"categorical_crossentropy"`.
        dtype: Optional computation dtype. `None` (the default) follows `y_pred`: float64
            predictions stay float64, anything else is computed in float32.

    Call arguments:
        y_true: One-hot labels of the shape of `y_pred`.
        y_pred: The predictions.
        sample_weight: Optional weights, one per sample (or broadcastable to the per-sample
            losses).

    Returns:
        The reduced loss: a scalar array, or the per-sample values with `reduction="none"`.

    Raises:
        ValueError: If `axis` is not an int, `reduction` is invalid, or (on call) the
            shapes differ.

    Example:

    >>> import numpy as np, rnnkit as keras
    >>> y_true = np.array([[0.0, 1.0], [1.0, 0.0]], dtype="float32")
    >>> y_pred = np.array([[0.5, 0.5], [0.5, 0.5]], dtype="float32")
    >>> keras.losses.CategoricalCrossentropy()(y_true, y_pred)
    array(0.693147..., dtype=float32)
    """

    _config_keys = ("from_logits", "label_smoothing", "axis")

    def __init__(self, from_logits=False, label_smoothing=0.0, axis=-1,
                 reduction="sum_over_batch_size", name="categorical_crossentropy", dtype=None):
        super().__init__(categorical_crossentropy, reduction, name, dtype,
                         from_logits=from_logits, label_smoothing=label_smoothing, axis=axis)


class SparseCategoricalCrossentropy(_BuiltinLossWrapper):
    """Computes the crossentropy between integer labels and predictions.

    Use it for two or more classes with integer class ids; see
    `sparse_categorical_crossentropy` for the formula. With `ignore_class`, samples with that
    label are left out: their loss is 0 and the `"sum_over_batch_size"` average runs over the
    other samples only.

    Args:
        from_logits: Bool, whether `y_pred` holds logits rather than probabilities.
            Defaults to `False`.
        ignore_class: Optional int, a label to leave out (e.g. padding).
        reduction: How the per-sample losses are reduced: `"sum_over_batch_size"` (the
            default; the weighted sum divided by the number of values), `"sum"`,
            `"mean"` (same as the default), `"mean_with_sample_weight"` (divided by the sum
            of the weights), or `"none"` / `None` (the weighted per-sample values).
        axis: Int, the class axis of `y_pred`. Defaults to -1.
        name: Defaults to `"sparse_categorical_crossentropy"`.
        dtype: Optional computation dtype. `None` (the default) follows `y_pred`: float64
            predictions stay float64, anything else is computed in float32.

    Call arguments:
        y_true: Integer labels of shape `y_pred.shape[:-1]` (or with a trailing 1).
        y_pred: The predictions.
        sample_weight: Optional weights, one per sample (or broadcastable to the per-sample
            losses).

    Returns:
        The reduced loss: a scalar array, or the per-sample values with `reduction="none"`.

    Raises:
        ValueError: If `axis` is not an int, `reduction` is invalid, or (on call) a label
            is out of range or the shapes do not match.

    Example:

    >>> import numpy as np, rnnkit as keras
    >>> loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    >>> loss(np.array([0, 1]), np.array([[2.0, 0.0], [0.0, 2.0]], dtype="float32"))
    array(0.126928..., dtype=float32)
    """

    _config_keys = ("from_logits", "ignore_class", "axis")

    def __init__(self, from_logits=False, ignore_class=None, reduction="sum_over_batch_size",
                 axis=-1, name="sparse_categorical_crossentropy", dtype=None):
        super().__init__(sparse_categorical_crossentropy, reduction, name, dtype,
                         from_logits=from_logits, ignore_class=ignore_class, axis=axis)

    def __call__(self, y_true, y_pred, sample_weight=None, *, mask=None):
        if mask is None:
            mask = masking.get_keras_mask(y_pred)
        if self.from_logits and sample_weight is None and mask is None and \
                self.ignore_class is None and self.reduction == "sum_over_batch_size" and \
                self._dtype is None:
            # Unweighted sum_over_batch_size is the mean: one op with one VJP (the common
            # training case; Keras' reduction rules give the same value).
            return _sparse_ce(y_true, y_pred, True, None, self.axis, mean=True)[0]
        return super().__call__(y_true, y_pred, sample_weight, mask=mask)

    def _call_with_mask(self, y_true, y_pred):
        y_true, y_pred = squeeze_or_expand_to_same_rank(y_true, y_pred)
        return _sparse_ce(y_true, y_pred, self.from_logits, self.ignore_class, self.axis)


class BinaryCrossentropy(_BuiltinLossWrapper):
    """Computes the crossentropy between binary labels and predictions.

    Use it for binary (0 or 1) classification, or for several independent binary targets
    per sample; see `binary_crossentropy` for the formula.

    Args:
        from_logits: Bool, whether `y_pred` holds logits rather than probabilities.
            Defaults to `False`.
        label_smoothing: Float in [0, 1], moves the labels towards 0.5. Defaults to 0.
        axis: Int, the axis averaged over. Defaults to -1.
        reduction: How the per-sample losses are reduced: `"sum_over_batch_size"` (the
            default; the weighted sum divided by the number of values), `"sum"`,
            `"mean"` (same as the default), `"mean_with_sample_weight"` (divided by the sum
            of the weights), or `"none"` / `None` (the weighted per-sample values).
        name: Defaults to `"binary_crossentropy"`.
        dtype: Optional computation dtype. `None` (the default) follows `y_pred`: float64
            predictions stay float64, anything else is computed in float32.

    Call arguments:
        y_true: The targets.
        y_pred: The predictions.
        sample_weight: Optional weights, one per sample (or broadcastable to the per-sample
            losses).

    Returns:
        The reduced loss: a scalar array, or the per-sample values with `reduction="none"`.
    """

    _config_keys = ("from_logits", "label_smoothing", "axis")

    def __init__(self, from_logits=False, label_smoothing=0.0, axis=-1,
                 reduction="sum_over_batch_size", name="binary_crossentropy", dtype=None):
        super().__init__(binary_crossentropy, reduction, name, dtype,
                         from_logits=from_logits, label_smoothing=label_smoothing, axis=axis)


# ------------------------------------------------------------------------------------------------
# Lookup and (de)serialization
# ------------------------------------------------------------------------------------------------

_ALL_CLASSES = (Loss, LossFunctionWrapper, MeanSquaredError, MeanAbsoluteError, Huber,
                CategoricalCrossentropy, SparseCategoricalCrossentropy, BinaryCrossentropy)
_ALL_FUNCTIONS = (mean_squared_error, mean_absolute_error, huber, categorical_crossentropy,
                  sparse_categorical_crossentropy, binary_crossentropy)

ALL_OBJECTS_DICT = {obj.__name__: obj for obj in _ALL_CLASSES + _ALL_FUNCTIONS}
ALL_OBJECTS_DICT.update({"mse": mean_squared_error, "MSE": mean_squared_error,
                         "mae": mean_absolute_error, "MAE": mean_absolute_error,
                         "bce": binary_crossentropy, "BCE": binary_crossentropy})


def serialize(loss):
    """Serializes a loss for saving.

    Args:
        loss: A `Loss` instance or a loss function.

    Returns:
        A config dict for an instance (`{"module", "class_name", "config", ...}`), or the
        name of a built-in function.
    """
    return _saving.serialize(loss)


def deserialize(name, custom_objects=None):
    """Returns a loss from its serialized form.

    Args:
        name: A config dict from `serialize()`, or a name (`"mse"`,
            `"CategoricalCrossentropy"`, a registered custom name, ...).
        custom_objects: Optional dict mapping names to custom losses.

    Returns:
        A `Loss` instance for a config; the function or class for a name.

    Raises:
        ValueError: If a name is unknown.
    """
    if isinstance(name, str):
        obj = _saving.get_registered_object(name, custom_objects, ALL_OBJECTS_DICT)
        if obj is None:
            raise ValueError(f"Could not interpret loss identifier: {name}")
        return obj
    return _saving.deserialize(name, custom_objects=custom_objects,
                               module_objects=ALL_OBJECTS_DICT)


def get(identifier):
    """Returns a loss from an identifier, with Keras' rules.

    snake_case names (`"sparse_categorical_crossentropy"`, `"mse"`, `"huber"`, ...) give
    the function; CamelCase class names (`"SparseCategoricalCrossentropy"`) give an
    instance with the default arguments; a config dict is deserialized; a `Loss` instance or
    a callable is returned as is.

    Args:
        identifier: A name, a config dict, a `Loss`, a callable, or `None`.

    Returns:
        The loss function or instance, or `None` for `None`.

    Raises:
        ValueError: If the identifier cannot be interpreted.

    Example:

    >>> import rnnkit as keras
    >>> keras.losses.get("mse").__name__
    'mean_squared_error'
    >>> keras.losses.get("MeanSquaredError")
    <MeanSquaredError name='mean_squared_error' reduction='sum_over_batch_size'>
    """
    return _saving._get_object(identifier, "loss", ALL_OBJECTS_DICT, deserialize,
                               dict_errors=(ValueError, TypeError))
