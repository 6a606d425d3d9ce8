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

Also (Keras 3 names and arguments, class and function forms): `MeanAbsolutePercentageError`
(`mape`), `MeanSquaredLogarithmicError` (`msle`), `CosineSimilarity`, `LogCosh`, `Hinge`,
`SquaredHinge`, `CategoricalHinge`, `KLDivergence` (`kld`), `Poisson`,
`BinaryFocalCrossentropy`, `CategoricalFocalCrossentropy`,
`CategoricalGeneralizedCrossEntropy`, `Dice`, `Tversky`, `Circle` and `CTC`.

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
from rnnkit.autodiff import Tensor, record, unwrap
from rnnkit.array_library import as_array as _as_array

__all__ = [
    "BinaryFocalCrossentropy", "CTC", "CategoricalFocalCrossentropy",
    "CategoricalGeneralizedCrossEntropy", "CategoricalHinge", "Circle", "CosineSimilarity",
    "Dice", "Hinge", "KLDivergence", "LogCosh", "MeanAbsolutePercentageError",
    "MeanSquaredLogarithmicError", "Poisson", "SquaredHinge", "Tversky",
    "binary_focal_crossentropy", "categorical_focal_crossentropy",
    "categorical_generalized_cross_entropy", "categorical_hinge", "circle",
    "cosine_similarity", "ctc", "dice", "hinge", "kl_divergence", "log_cosh",
    "mean_absolute_percentage_error", "mean_squared_logarithmic_error", "poisson",
    "squared_hinge", "tversky",
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


_ARRAY_TYPES = (np.ndarray, Tensor)


def _shape(x):
    return tuple(np.shape(unwrap(x)))


def _float_dtype(x):
    dt = np.asarray(unwrap(x)).dtype if not hasattr(x, "dtype") else np.dtype(x.dtype)
    # float16 predictions (a "mixed_float16" policy) are scored in float32, as Keras does
    return dt.name if dt.kind == "f" and dt.itemsize >= 4 else "float32"


def _convert(x, dtype=None):
    """`x` as an array/tensor of `dtype` (tracking kept); dtype None: keep floats, else float32."""
    if dtype is None and type(x) in _ARRAY_TYPES:
        value = x if type(x) is np.ndarray else x.value
        if type(value) is np.ndarray and value.dtype.kind == "f" and value.dtype.itemsize >= 4:
            return x              # floats stay as they are (the prediction of a training step)
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


def _check_axes(axis):
    items = axis if isinstance(axis, (tuple, list)) else [axis]
    if axis is not None and any(isinstance(a, bool) or not isinstance(a, (int, np.integer))
                                for a in items):
        raise ValueError("`axis` must be None, an int or a tuple of ints. Received: "
                         f"axis={axis!r}")


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
    labels = _as_array(unwrap(y_true))
    # Device labels are not validated: that would copy them to the host.
    on_host = type(labels) is np.ndarray
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
        if on_host and labels.size and not np.all(
                np.isfinite(labels) & (labels == np.floor(labels))):
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
    if on_host:
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
    z = _as_array(unwrap(logits))
    shifted = z - z.max(axis=axis, keepdims=True)
    exp = np.exp(shifted)
    total = exp.sum(axis=axis, keepdims=True)
    if type(z) is np.ndarray and z.ndim == 2 and axis == 1:
        # (batch, classes) on the host, the training case: plain indexing picks the labels'
        # entries (the general take_along_axis costs more than the arithmetic here).
        rows = np.arange(z.shape[0])

        def picked(values):
            return values[rows, labels]

        def minus_one_hot(values):
            values[rows, labels] -= 1.0
    else:
        index = np.expand_dims(labels, axis)

        def picked(values):
            return np.squeeze(np.take_along_axis(values, index, axis=axis), axis)

        def minus_one_hot(values):
            np.put_along_axis(values, index, np.take_along_axis(values, index, axis=axis) - 1.0,
                              axis=axis)
    loss = np.log(total).squeeze(axis) - picked(shifted)
    count = loss.size
    if mean:
        loss = np.mean(loss)

    def vjp(grads):
        softmax = exp / total
        minus_one_hot(softmax)
        scale = grads[0] / count if mean else np.expand_dims(grads[0], axis)
        return (softmax * scale,)

    return record(_as_array(loss, dtype=z.dtype), (logits,), vjp)


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
    _axes_allowed = False  # axis may be None, an int or a tuple of ints (Dice, Tversky)

    def __init__(self, fn, reduction, name, dtype, **kwargs):
        if "axis" in kwargs:
            if self._axes_allowed:
                _check_axes(kwargs["axis"])
            else:
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
# More loss functions (Keras 3's regression, hinge, probabilistic, focal, overlap and CTC losses)
# ------------------------------------------------------------------------------------------------

def _aligned(fn_name, y_true, y_pred):
    y_true, y_pred = _pred_and_true(y_true, y_pred)
    y_true, y_pred = squeeze_or_expand_to_same_rank(y_true, y_pred)
    _check_broadcastable(fn_name, y_true, y_pred)
    return y_true, y_pred


def mean_absolute_percentage_error(y_true, y_pred):
    """Computes the mean absolute percentage error per sample.

    `100 * mean(abs((y_true - y_pred) / max(abs(y_true), 1e-7)), axis=-1)`. `mape` and `MAPE`
    are the same function.

    Args:
        y_true: The targets.
        y_pred: The predictions, broadcastable with `y_true`.

    Returns:
        The per-sample losses, of shape `y_pred.shape[:-1]`.

    Raises:
        ValueError: If the shapes cannot be broadcast together.

    Example:

    >>> import numpy as np, rnnkit as keras
    >>> keras.losses.mean_absolute_percentage_error(np.array([[2.0, 4.0]]),
    ...                                             np.array([[1.0, 4.0]]))
    array([25.])
    """
    y_true, y_pred = _aligned("mean_absolute_percentage_error", y_true, y_pred)
    diff = ops.abs(ops.divide(ops.subtract(y_true, y_pred), ops.maximum(ops.abs(y_true), EPSILON)))
    return ops.multiply(100.0, ops.mean(diff, axis=-1))


def mean_squared_logarithmic_error(y_true, y_pred):
    """Computes the mean squared logarithmic error per sample.

    `mean(square(log(max(y_pred, 1e-7) + 1) - log(max(y_true, 1e-7) + 1)), axis=-1)`.
    `msle` and `MSLE` are the same function.

    Args:
        y_true: The targets.
        y_pred: The predictions, broadcastable with `y_true`.

    Returns:
        The per-sample losses, of shape `y_pred.shape[:-1]`.

    Raises:
        ValueError: If the shapes cannot be broadcast together.
    """
    y_true, y_pred = _aligned("mean_squared_logarithmic_error", y_true, y_pred)
    first = ops.log(ops.add(ops.maximum(y_pred, EPSILON), 1.0))
    second = ops.log(ops.add(ops.maximum(y_true, EPSILON), 1.0))
    return ops.mean(ops.square(ops.subtract(first, second)), axis=-1)


def cosine_similarity(y_true, y_pred, axis=-1):
    """Computes the negative cosine similarity per sample.

    `-sum(l2_normalize(y_true) * l2_normalize(y_pred), axis)`: -1 for vectors pointing the
    same way, 0 for orthogonal ones (and for a zero vector), 1 for opposite ones. Each norm is
    bounded below by 1e-7.

    Args:
        y_true: The targets.
        y_pred: The predictions, broadcastable with `y_true`.
        axis: Int, the axis of the vectors. Defaults to -1.

    Returns:
        The per-sample values (`y_pred` without `axis`).

    Raises:
        ValueError: If the shapes cannot be broadcast together or `axis` is not an int.

    Example:

    >>> import numpy as np, rnnkit as keras
    >>> keras.losses.cosine_similarity(np.array([[0.0, 1.0], [1.0, 1.0]]),
    ...                                np.array([[1.0, 0.0], [-1.0, -1.0]]))
    array([-0.,  1.])
    """
    _check_axis(axis)
    y_true, y_pred = _aligned("cosine_similarity", y_true, y_pred)
    y_pred = ops.normalize(y_pred, axis=axis)
    y_true = ops.normalize(y_true, axis=axis)
    return ops.negative(ops.sum(ops.multiply(y_true, y_pred), axis=axis))


def log_cosh(y_true, y_pred):
    """Computes the logarithm of the hyperbolic cosine of the error, averaged per sample.

    `mean(log(cosh(y_pred - y_true)), axis=-1)`, computed without overflow as
    `x + softplus(-2x) - log(2)`. It is about `x**2 / 2` for small errors and
    `|x| - log(2)` for large ones. `logcosh` is the same function.

    Args:
        y_true: The targets.
        y_pred: The predictions, broadcastable with `y_true`.

    Returns:
        The per-sample losses, of shape `y_pred.shape[:-1]`.

    Raises:
        ValueError: If the shapes cannot be broadcast together.
    """
    y_true, y_pred = _aligned("log_cosh", y_true, y_pred)
    x = ops.subtract(y_pred, y_true)
    value = ops.subtract(ops.add(x, ops.softplus(ops.multiply(x, -2.0))), float(np.log(2.0)))
    return ops.mean(value, axis=-1)


def _hinge_labels(y_true):
    """Labels that are all 0 or 1 become -1 / 1 (Keras' `convert_binary_labels_to_hinge`);
    other labels are left as they are."""
    values = np.asarray(unwrap(y_true))
    if np.all((values == 0) | (values == 1)):
        return ops.subtract(ops.multiply(2.0, y_true), 1.0)
    return y_true


def hinge(y_true, y_pred):
    """Computes the hinge loss per sample: `mean(maximum(1 - y_true * y_pred, 0), axis=-1)`.

    Labels are expected to be -1 or 1; when every label is 0 or 1 they are converted to -1
    or 1 first.

    Args:
        y_true: The labels.
        y_pred: The predicted scores, broadcastable with `y_true`.

    Returns:
        The per-sample losses, of shape `y_pred.shape[:-1]`.

    Raises:
        ValueError: If the shapes cannot be broadcast together.

    Example:

    >>> import numpy as np, rnnkit as keras
    >>> keras.losses.hinge(np.array([[0.0, 1.0]]), np.array([[0.5, 0.5]]))
    array([1.])
    """
    y_true, y_pred = _pred_and_true(y_true, y_pred)
    _check_broadcastable("hinge", y_true, y_pred)
    y_true = _hinge_labels(y_true)
    return ops.mean(ops.maximum(ops.subtract(1.0, ops.multiply(y_true, y_pred)), 0.0), axis=-1)


def squared_hinge(y_true, y_pred):
    """Computes the squared hinge loss per sample.

    `mean(square(maximum(1 - y_true * y_pred, 0)), axis=-1)`, with 0/1 labels converted
    to -1/1 as in `hinge`.

    Args:
        y_true: The labels.
        y_pred: The predicted scores, broadcastable with `y_true`.

    Returns:
        The per-sample losses, of shape `y_pred.shape[:-1]`.

    Raises:
        ValueError: If the shapes cannot be broadcast together.
    """
    y_true, y_pred = _pred_and_true(y_true, y_pred)
    _check_broadcastable("squared_hinge", y_true, y_pred)
    y_true = _hinge_labels(y_true)
    margin = ops.maximum(ops.subtract(1.0, ops.multiply(y_true, y_pred)), 0.0)
    return ops.mean(ops.square(margin), axis=-1)


def categorical_hinge(y_true, y_pred):
    """Computes the categorical hinge loss per sample.

    `maximum(neg - pos + 1, 0)` with `pos = sum(y_true * y_pred, axis=-1)` and
    `neg = max((1 - y_true) * y_pred, axis=-1)`.

    Args:
        y_true: One-hot labels.
        y_pred: The predicted scores, of the shape of `y_true`.

    Returns:
        The per-sample losses, of shape `y_pred.shape[:-1]`.

    Raises:
        ValueError: If the shapes cannot be broadcast together.
    """
    y_true, y_pred = _pred_and_true(y_true, y_pred)
    _check_broadcastable("categorical_hinge", y_true, y_pred)
    pos = ops.sum(ops.multiply(y_true, y_pred), axis=-1)
    neg = ops.max(ops.multiply(ops.subtract(1.0, y_true), y_pred), axis=-1)
    return ops.maximum(ops.add(ops.subtract(neg, pos), 1.0), 0.0)


def kl_divergence(y_true, y_pred):
    """Computes the Kullback-Leibler divergence per sample.

    `sum(y_true * log(y_true / y_pred), axis=-1)`, both clipped to `[1e-7, 1]` first.
    `kld`, `KLD` and `kullback_leibler_divergence` are the same function.

    Args:
        y_true: The target distributions.
        y_pred: The predicted distributions, broadcastable with `y_true`.

    Returns:
        The per-sample losses, of shape `y_pred.shape[:-1]`.

    Raises:
        ValueError: If the shapes cannot be broadcast together.

    Example:

    >>> import numpy as np, rnnkit as keras
    >>> keras.losses.kl_divergence(np.array([[0.5, 0.5]]), np.array([[0.5, 0.5]]))
    array([0.])
    """
    y_true, y_pred = _pred_and_true(y_true, y_pred)
    _check_broadcastable("kl_divergence", y_true, y_pred)
    y_true = ops.clip(y_true, EPSILON, 1.0)
    y_pred = ops.clip(y_pred, EPSILON, 1.0)
    return ops.sum(ops.multiply(y_true, ops.log(ops.divide(y_true, y_pred))), axis=-1)


def poisson(y_true, y_pred):
    """Computes the Poisson loss per sample: `mean(y_pred - y_true * log(y_pred + 1e-7), axis=-1)`.

    Args:
        y_true: The observed counts.
        y_pred: The predicted rates, broadcastable with `y_true`.

    Returns:
        The per-sample losses, of shape `y_pred.shape[:-1]`.

    Raises:
        ValueError: If the shapes cannot be broadcast together.
    """
    y_true, y_pred = _pred_and_true(y_true, y_pred)
    _check_broadcastable("poisson", y_true, y_pred)
    log_pred = ops.log(ops.add(y_pred, EPSILON))
    return ops.mean(ops.subtract(y_pred, ops.multiply(y_true, log_pred)), axis=-1)


def _check_probability_arg(name, value, low=0.0, high=1.0, open_low=False, open_high=False):
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"Argument `{name}` must be a float. Received: {name}={value!r} of "
                        f"type {type(value).__name__}")
    bad_low = value <= low if open_low else value < low
    bad_high = value >= high if open_high else value > high
    if bad_low or bad_high:
        interval = ("(" if open_low else "[") + f"{low}, {high}" + (")" if open_high else "]")
        raise ValueError(f"Argument `{name}` must be in {interval}. Received: {name}={value}")
    return value


def binary_focal_crossentropy(y_true, y_pred, apply_class_balancing=False, alpha=0.25,
                              gamma=2.0, from_logits=False, label_smoothing=0.0, axis=-1):
    """Computes the binary focal crossentropy per sample, averaged over `axis`.

    With `p = sigmoid(y_pred)` (from logits) or `y_pred`, `p_t = y * p + (1 - y) * (1 - p)`,
    the loss is `mean((1 - p_t)**gamma * bce(y, p), axis)`, where `bce` is the elementwise
    binary crossentropy (probabilities clipped to `[1e-7, 1 - 1e-7]`). With
    `apply_class_balancing`, it is also weighted by `alpha` for positives and `1 - alpha`
    for negatives. `gamma = 0` gives the binary crossentropy.

    Args:
        y_true: Labels in [0, 1], of the shape of `y_pred`.
        y_pred: Probabilities, or logits with `from_logits=True`.
        apply_class_balancing: Bool, weigh the classes by `alpha`. Defaults to `False`.
        alpha: Float in [0, 1], the weight of the positive class. Defaults to 0.25.
        gamma: Float >= 0, the focusing parameter. Defaults to 2.0.
        from_logits: Bool, whether `y_pred` holds logits. Defaults to `False`.
        label_smoothing: Float in [0, 1]: labels become `y * (1 - ls) + 0.5 * ls`.
            Defaults to 0.
        axis: Int, the axis averaged over. Defaults to -1.

    Returns:
        The per-sample losses.

    Raises:
        ValueError: If the shapes differ or `axis` is not an int.

    Example:

    >>> import numpy as np, rnnkit as keras
    >>> keras.losses.binary_focal_crossentropy(np.array([[1.0, 0.0]]),
    ...                                        np.array([[0.9, 0.1]]), gamma=0.0)
    array([0.10536052])
    """
    _check_axis(axis)
    y_true, y_pred = _pred_and_true(y_true, y_pred)
    y_true, y_pred = squeeze_or_expand_to_same_rank(y_true, y_pred)
    if _shape(y_true) != _shape(y_pred):
        raise ValueError(
            "binary_focal_crossentropy: `y_true` and `y_pred` must have the same shape. "
            f"Received: y_true.shape={_shape(y_true)}, y_pred.shape={_shape(y_pred)}.")
    if label_smoothing:
        y_true = ops.add(ops.multiply(y_true, 1.0 - label_smoothing), 0.5 * label_smoothing)
    if from_logits:
        y_pred = ops.sigmoid(y_pred)
    output = ops.clip(y_pred, EPSILON, 1.0 - EPSILON)
    one_minus_true = ops.subtract(1.0, y_true)
    bce = ops.negative(ops.add(ops.multiply(y_true, ops.log(output)),
                               ops.multiply(one_minus_true, ops.log(ops.subtract(1.0, output)))))
    p_t = ops.add(ops.multiply(y_true, y_pred),
                  ops.multiply(one_minus_true, ops.subtract(1.0, y_pred)))
    focal = ops.multiply(ops.power(ops.subtract(1.0, p_t), float(gamma)), bce)
    if apply_class_balancing:
        weight = ops.add(ops.multiply(y_true, float(alpha)),
                         ops.multiply(one_minus_true, 1.0 - float(alpha)))
        focal = ops.multiply(weight, focal)
    return ops.mean(focal, axis=axis)


def categorical_focal_crossentropy(y_true, y_pred, alpha=0.25, gamma=2.0, from_logits=False,
                                   label_smoothing=0.0, axis=-1):
    """Computes the categorical focal crossentropy per sample.

    With `p` the class probabilities (`softmax(y_pred)` from logits), renormalised along
    `axis` and clipped to `[1e-7, 1 - 1e-7]`, the loss is
    `sum(alpha * (1 - p)**gamma * -y_true * log(p), axis)`.

    Args:
        y_true: One-hot (or soft) labels, of the shape of `y_pred`.
        y_pred: Probabilities, or logits with `from_logits=True`.
        alpha: Float, the weighting factor. Defaults to 0.25.
        gamma: Float >= 0, the focusing parameter. Defaults to 2.0.
        from_logits: Bool, whether `y_pred` holds logits. Defaults to `False`.
        label_smoothing: Float in [0, 1]: labels become
            `y * (1 - ls) + ls / num_classes`. Defaults to 0.
        axis: Int, the class axis. Defaults to -1.

    Returns:
        The per-sample losses (`y_pred` without the class axis).

    Raises:
        ValueError: If the shapes differ or `axis` is not an int.
    """
    _check_axis(axis)
    y_true, y_pred = _pred_and_true(y_true, y_pred)
    if _shape(y_true) != _shape(y_pred):
        raise ValueError(
            "categorical_focal_crossentropy: `y_true` (one-hot labels) and `y_pred` must have "
            f"the same shape. Received: y_true.shape={_shape(y_true)}, "
            f"y_pred.shape={_shape(y_pred)}.")
    _check_rank("categorical_focal_crossentropy", y_pred, "y_pred")
    if _shape(y_pred)[-1] == 1:
        warnings.warn(
            "In loss categorical_focal_crossentropy, expected y_pred.shape to be (batch_size, "
            f"num_classes) with num_classes > 1. Received: y_pred.shape={_shape(y_pred)}. "
            "Consider using 'binary_crossentropy' if you only have 2 classes.",
            SyntaxWarning, stacklevel=2)
    if label_smoothing:
        num_classes = _shape(y_true)[-1]
        y_true = ops.add(ops.multiply(y_true, 1.0 - label_smoothing),
                         label_smoothing / num_classes)
    if from_logits:
        y_pred = ops.softmax(y_pred, axis=axis)
    output = ops.divide(y_pred, ops.sum(y_pred, axis=axis, keepdims=True))
    output = ops.clip(output, EPSILON, 1.0 - EPSILON)
    cce = ops.negative(ops.multiply(y_true, ops.log(output)))
    weight = ops.multiply(ops.power(ops.subtract(1.0, output), float(gamma)), float(alpha))
    return ops.sum(ops.multiply(weight, cce), axis=axis)


def categorical_generalized_cross_entropy(y_true, y_pred, q):
    """Computes the generalized crossentropy (Zhang & Sabuncu, 2018) per sample.

    With `p` the predicted probability of the true class, the loss is `(1 - p**q) / q`: the
    crossentropy as `q -> 0`, the mean absolute error at `q = 1`; robust to noisy labels.

    Args:
        y_true: Integer class labels, of shape `y_pred.shape[:-1]`.
        y_pred: Class probabilities, with the classes on the last axis.
        q: Float in (0, 1).

    Returns:
        The per-sample losses.

    Raises:
        ValueError: If `q` is not in (0, 1) or a label is out of range.
    """
    _check_probability_arg("q", q, open_low=True, open_high=True)
    y_pred = _convert(y_pred)
    labels = np.asarray(unwrap(y_true)).astype(np.int64)
    num_classes = _shape(y_pred)[-1]
    if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
        raise ValueError(f"categorical_generalized_cross_entropy: labels must be in "
                         f"[0, {num_classes}); got min {labels.min()}, max {labels.max()}.")
    one_hot = np.eye(num_classes, dtype=ops.dtype(y_pred))[labels]
    p = ops.sum(ops.multiply(y_pred, one_hot), axis=-1)
    return ops.divide(ops.subtract(1.0, ops.power(p, float(q))), float(q))


def dice(y_true, y_pred, axis=None):
    """Computes the Dice loss: `1 - 2 * sum(y_true * y_pred) / (sum(y_true) + sum(y_pred) + 1e-7)`.

    Args:
        y_true: The targets (in [0, 1]).
        y_pred: The predictions, of the shape of `y_true`.
        axis: Optional int or tuple of ints, the axes summed over. `None` (the default) sums
            over everything and gives one scalar.

    Returns:
        The loss: a scalar with `axis=None`, else the values with `axis` reduced.

    Example:

    >>> import numpy as np, rnnkit as keras
    >>> round(float(keras.losses.dice(np.array([[1.0, 1.0]]), np.array([[1.0, 0.0]]))), 6)
    0.333333
    """
    y_true, y_pred = _pred_and_true(y_true, y_pred)
    _check_broadcastable("dice", y_true, y_pred)
    intersection = ops.sum(ops.multiply(y_true, y_pred), axis=axis)
    denominator = ops.add(ops.add(ops.sum(y_true, axis=axis), ops.sum(y_pred, axis=axis)),
                          EPSILON)
    return ops.subtract(1.0, ops.divide(ops.multiply(2.0, intersection), denominator))


def tversky(y_true, y_pred, alpha=0.5, beta=0.5, axis=None):
    """Computes the Tversky loss: `1 - TP / (TP + alpha * FP + beta * FN + 1e-7)`.

    `TP = sum(y_true * y_pred)`, `FP = sum((1 - y_pred) * y_true)` and
    `FN = sum(y_pred * (1 - y_true))` (Keras' naming). `alpha = beta = 0.5` gives the Dice
    loss.

    Args:
        y_true: The targets (in [0, 1]).
        y_pred: The predictions, of the shape of `y_true`.
        alpha: Float, the weight of the first error term. Defaults to 0.5.
        beta: Float, the weight of the second error term. Defaults to 0.5.
        axis: Optional int or tuple of ints, the axes summed over; `None` sums everything.

    Returns:
        The loss: a scalar with `axis=None`, else the values with `axis` reduced.
    """
    y_true, y_pred = _pred_and_true(y_true, y_pred)
    _check_broadcastable("tversky", y_true, y_pred)
    intersection = ops.sum(ops.multiply(y_true, y_pred), axis=axis)
    fp = ops.sum(ops.multiply(ops.subtract(1.0, y_pred), y_true), axis=axis)
    fn = ops.sum(ops.multiply(y_pred, ops.subtract(1.0, y_true)), axis=axis)
    denominator = ops.add(ops.add(ops.add(intersection, ops.multiply(fp, float(alpha))),
                                  ops.multiply(fn, float(beta))), EPSILON)
    return ops.subtract(1.0, ops.divide(intersection, denominator))


def _circle_values(y_true, y_pred, ref_labels=None, ref_embeddings=None, remove_diagonal=True,
                   gamma=80.0, margin=0.4):
    y_pred = _convert(y_pred)
    if len(_shape(y_pred)) != 2:
        raise ValueError("circle: `y_pred` must be a batch of embeddings of shape "
                         f"(batch_size, dim). Received: y_pred.shape={_shape(y_pred)}")
    labels = np.asarray(unwrap(y_true)).astype(np.int64).reshape(-1, 1)
    ref_emb = y_pred if ref_embeddings is None else _convert(ref_embeddings, ops.dtype(y_pred))
    ref = labels if ref_labels is None else \
        np.asarray(unwrap(ref_labels)).astype(np.int64).reshape(-1, 1)
    dtype = ops.dtype(y_pred)
    distances = ops.maximum(ops.subtract(1.0, ops.matmul(y_pred, ops.transpose(ref_emb))), 0.0)
    positive = labels == ref.T
    negative = ~positive
    if remove_diagonal:
        positive = positive & ~np.eye(labels.size, ref.size, dtype=bool)
    pos_f, neg_f = positive.astype(dtype), negative.astype(dtype)
    margin, gamma = float(margin), float(gamma)
    pos_w = ops.maximum(ops.multiply(ops.add(distances, margin), pos_f), 0.0)
    neg_w = ops.maximum(ops.multiply(ops.subtract(1.0 + margin, distances), neg_f), 0.0)
    pos_d = ops.multiply(ops.multiply(-gamma, pos_w), ops.subtract(margin, distances))
    neg_d = ops.multiply(ops.multiply(gamma, neg_w), ops.subtract(1.0 - margin, distances))
    p_loss = ops.logsumexp(ops.where(positive, pos_d, -np.inf), axis=1)
    n_loss = ops.logsumexp(ops.where(negative, neg_d, -np.inf), axis=1)
    values = ops.softplus(ops.add(p_loss, n_loss))
    return values, np.asarray(unwrap(values)) > 0


def circle(y_true, y_pred, ref_labels=None, ref_embeddings=None, remove_diagonal=True,
           gamma=80, margin=0.4):
    """Computes the Circle loss (Sun et al., 2020) of each embedding in a batch.

    `y_pred` holds L2-normalised embeddings, `y_true` their integer labels. With the cosine
    distances `d` between the embeddings and the reference embeddings (the batch itself by
    default), positives (same label; not the sample itself with `remove_diagonal`) and
    negatives (other labels) are weighted by how far they are from their optimum, and the
    loss is `softplus(logsumexp(positive terms) + logsumexp(negative terms))` per sample.
    The `Circle` class leaves samples with a zero loss out of the average, as Keras does.

    Args:
        y_true: Integer labels, of shape `(batch_size,)`.
        y_pred: Embeddings, of shape `(batch_size, dim)`, L2-normalised.
        ref_labels: Optional labels of the reference embeddings. Defaults to `y_true`.
        ref_embeddings: Optional reference embeddings. Defaults to `y_pred`.
        remove_diagonal: Bool, leave each sample's similarity with itself out of its
            positives. Defaults to `True`.
        gamma: Float, the scale of the similarity scores. Defaults to 80.
        margin: Float, the relaxation margin. Defaults to 0.4.

    Returns:
        The per-sample losses, of shape `(batch_size,)`.

    Raises:
        ValueError: If `y_pred` is not of rank 2.
    """
    with np.errstate(divide="ignore"):  # logsumexp of a row without positives: -inf
        return _circle_values(y_true, y_pred, ref_labels, ref_embeddings, remove_diagonal,
                              gamma, margin)[0]


def _ctc_log_likelihoods(log_probs, labels, label_lengths, input_lengths, blank):
    """Per-sample log p(labels | inputs) and d(log p)/d(log_probs), by the forward-backward
    recursions over the label sequence extended with blanks (float64)."""
    B, T, K = log_probs.shape
    loglik = np.empty(B)
    grad = np.zeros_like(log_probs)
    for b in range(B):
        lab = labels[b, :label_lengths[b]]
        Tb = int(input_lengths[b])
        ext = np.full(2 * lab.size + 1, blank, dtype=np.int64)
        ext[1::2] = lab
        S = ext.size
        lp = log_probs[b, :Tb][:, ext]                                   # (Tb, S)
        skip = np.zeros(S, dtype=bool)                                    # s-2 -> s allowed
        skip[2:] = (ext[2:] != blank) & (ext[2:] != ext[:-2])
        alpha = np.full((Tb, S), -np.inf)
        alpha[0, 0] = lp[0, 0]
        if S > 1:
            alpha[0, 1] = lp[0, 1]
        for t in range(1, Tb):
            prev = alpha[t - 1]
            acc = prev.copy()
            acc[1:] = np.logaddexp(acc[1:], prev[:-1])
            acc[2:] = np.where(skip[2:], np.logaddexp(acc[2:], prev[:-2]), acc[2:])
            alpha[t] = acc + lp[t]
        beta = np.full((Tb, S), -np.inf)
        beta[-1, -1] = lp[-1, -1]
        if S > 1:
            beta[-1, -2] = lp[-1, -2]
        for t in range(Tb - 2, -1, -1):
            nxt = beta[t + 1]
            acc = nxt.copy()
            acc[:-1] = np.logaddexp(acc[:-1], nxt[1:])
            acc[:-2] = np.where(skip[2:], np.logaddexp(acc[:-2], nxt[2:]), acc[:-2])
            beta[t] = acc + lp[t]
        ll = np.logaddexp(alpha[-1, -1], alpha[-1, -2]) if S > 1 else alpha[-1, -1]
        loglik[b] = ll
        if np.isfinite(ll):
            # d ll / d lp[t, s] = exp(alpha + beta - lp - ll), accumulated per class.
            occupancy = np.exp(alpha + beta - lp - ll)
            for s in range(S):
                grad[b, :Tb, ext[s]] += occupancy[:, s]
    return loglik, grad


def ctc(y_true, y_pred):
    """Computes the CTC (connectionist temporal classification) loss per sample.

    `y_pred` holds logits over `num_classes` classes at every timestep, class 0 being the
    blank; `y_true` holds the label sequences, padded with 0 at the end (the label length is
    the number of non-zero entries). The loss is `-log p(labels | inputs)`, summed over every
    alignment of the labels to the `max_length` timesteps (all timesteps are used). Keras'
    JAX backend bounds impossible alignments at about 1e5; here a label sequence that cannot
    fit gives `inf`.

    Args:
        y_true: Integer labels of shape `(batch_size, max_label_length)`.
        y_pred: Logits of shape `(batch_size, max_length, num_classes)`.

    Returns:
        The per-sample losses, of shape `(batch_size,)` (differentiable with respect to
        `y_pred`).

    Raises:
        ValueError: If the ranks are wrong, the batch sizes differ or a label is out of
            range.

    Example:

    >>> import numpy as np, rnnkit as keras
    >>> logits = np.zeros((1, 2, 2))       # uniform over {blank, 1} at 2 timesteps
    >>> keras.losses.ctc(np.array([[1]]), logits)  # 3 alignments of 4: -log(0.75)
    array([0.28768207])
    """
    y_pred = _convert(y_pred)
    labels = np.asarray(unwrap(y_true))
    if labels.ndim != 2:
        raise ValueError("Targets `y_true` are expected to be a tensor of shape "
                         "`(batch_size, max_length)` in integer format. "
                         f"Received: y_true.shape={labels.shape}")
    if len(_shape(y_pred)) != 3:
        raise ValueError("Logits `y_pred` are expected to be a tensor of shape "
                         "`(batch_size, max_length, num_classes)`. "
                         f"Received: y_pred.shape={_shape(y_pred)}")
    B, T, K = _shape(y_pred)
    if labels.shape[0] != B:
        raise ValueError(f"ctc: `y_true` has {labels.shape[0]} samples but `y_pred` has {B}.")
    labels = labels.astype(np.int64)
    if labels.size and (labels.min() < 0 or labels.max() >= K):
        raise ValueError(f"ctc: labels must be in [0, {K}) (0 is the blank / padding); got "
                         f"min {labels.min()}, max {labels.max()}.")
    label_lengths = np.sum(labels != 0, axis=-1)
    z = np.asarray(unwrap(y_pred), dtype=np.float64)
    shifted = z - np.max(z, axis=-1, keepdims=True)
    log_probs = shifted - np.log(np.sum(np.exp(shifted), axis=-1, keepdims=True))
    loglik, dlp = _ctc_log_likelihoods(log_probs, labels, label_lengths,
                                       np.full(B, T), blank=0)
    out_dtype = ops.dtype(y_pred)
    loss = np.asarray(-loglik, dtype=out_dtype)

    def vjp(grads):
        g = np.asarray(grads[0], dtype=np.float64)[:, None, None]
        softmax = np.exp(log_probs)
        # d(-ll)/dz = softmax * sum_k(dll/dlp_k) - dll/dlp, with sum_k dll/dlp_k = 1 per t.
        dz = softmax * np.sum(dlp, axis=-1, keepdims=True) - dlp
        return (np.where(np.isfinite(loglik)[:, None, None], dz, 0.0) * g,)

    return record(loss, (y_pred,), vjp)


mape = MAPE = mean_absolute_percentage_error
msle = MSLE = mean_squared_logarithmic_error
kld = KLD = kullback_leibler_divergence = kl_divergence
logcosh = log_cosh


# ------------------------------------------------------------------------------------------------
# More loss classes
# ------------------------------------------------------------------------------------------------

_REDUCTION_DOC = """How the per-sample losses are reduced: `"sum_over_batch_size"` (the
            default), `"sum"`, `"mean"`, `"mean_with_sample_weight"`, or `"none"` / `None`."""


class MeanAbsolutePercentageError(_BuiltinLossWrapper):
    """Computes the mean absolute percentage error between targets and predictions.

    Per sample, see `mean_absolute_percentage_error`; then the weights and the reduction
    apply (as for every loss class below).

    Args:
        reduction: How the per-sample losses are reduced: `"sum_over_batch_size"` (the
            default), `"sum"`, `"mean"`, `"mean_with_sample_weight"`, or `"none"` / `None`.
        name: Defaults to `"mean_absolute_percentage_error"`.
        dtype: Optional computation dtype (follows `y_pred` by default).

    Call arguments:
        y_true: The targets.
        y_pred: The predictions.
        sample_weight: Optional weights, one per sample.

    Returns:
        The reduced loss.
    """

    def __init__(self, reduction="sum_over_batch_size", name="mean_absolute_percentage_error",
                 dtype=None):
        super().__init__(mean_absolute_percentage_error, reduction, name, dtype)


class MeanSquaredLogarithmicError(_BuiltinLossWrapper):
    """Computes the mean squared logarithmic error between targets and predictions.

    Per sample, see `mean_squared_logarithmic_error`.

    Args:
        reduction: How the per-sample losses are reduced: `"sum_over_batch_size"` (the
            default), `"sum"`, `"mean"`, `"mean_with_sample_weight"`, or `"none"` / `None`.
        name: Defaults to `"mean_squared_logarithmic_error"`.
        dtype: Optional computation dtype (follows `y_pred` by default).

    Call arguments:
        y_true: The targets.
        y_pred: The predictions.
        sample_weight: Optional weights, one per sample.

    Returns:
        The reduced loss.
    """

    def __init__(self, reduction="sum_over_batch_size", name="mean_squared_logarithmic_error",
                 dtype=None):
        super().__init__(mean_squared_logarithmic_error, reduction, name, dtype)


class CosineSimilarity(_BuiltinLossWrapper):
    """Computes the negative cosine similarity between targets and predictions.

    Per sample, see `cosine_similarity` (-1 is best). Unlike Keras, whose config omits
    `axis`, the config keeps it.

    Args:
        axis: Int, the axis of the vectors. Defaults to -1.
        reduction: How the per-sample losses are reduced: `"sum_over_batch_size"` (the
            default), `"sum"`, `"mean"`, `"mean_with_sample_weight"`, or `"none"` / `None`.
        name: Defaults to `"cosine_similarity"`.
        dtype: Optional computation dtype (follows `y_pred` by default).

    Call arguments:
        y_true: The targets.
        y_pred: The predictions.
        sample_weight: Optional weights, one per sample.

    Returns:
        The reduced loss.

    Example:

    >>> import numpy as np, rnnkit as keras
    >>> loss = keras.losses.CosineSimilarity()
    >>> round(float(loss(np.array([[0.0, 1.0], [1.0, 1.0]]),
    ...                  np.array([[1.0, 0.0], [1.0, 1.0]]))), 6)
    -0.5
    """

    _config_keys = ("axis",)

    def __init__(self, axis=-1, reduction="sum_over_batch_size", name="cosine_similarity",
                 dtype=None):
        super().__init__(cosine_similarity, reduction, name, dtype, axis=axis)


class LogCosh(_BuiltinLossWrapper):
    """Computes the logarithm of the hyperbolic cosine of the prediction error.

    Per sample, see `log_cosh`.

    Args:
        reduction: How the per-sample losses are reduced: `"sum_over_batch_size"` (the
            default), `"sum"`, `"mean"`, `"mean_with_sample_weight"`, or `"none"` / `None`.
        name: Defaults to `"log_cosh"`.
        dtype: Optional computation dtype (follows `y_pred` by default).

    Call arguments:
        y_true: The targets.
        y_pred: The predictions.
        sample_weight: Optional weights, one per sample.

    Returns:
        The reduced loss.
    """

    def __init__(self, reduction="sum_over_batch_size", name="log_cosh", dtype=None):
        super().__init__(log_cosh, reduction, name, dtype)


class Hinge(_BuiltinLossWrapper):
    """Computes the hinge loss between labels (-1/1, or 0/1) and predicted scores.

    Per sample, see `hinge`.

    Args:
        reduction: How the per-sample losses are reduced: `"sum_over_batch_size"` (the
            default), `"sum"`, `"mean"`, `"mean_with_sample_weight"`, or `"none"` / `None`.
        name: Defaults to `"hinge"`.
        dtype: Optional computation dtype (follows `y_pred` by default).

    Call arguments:
        y_true: The labels.
        y_pred: The predicted scores.
        sample_weight: Optional weights, one per sample.

    Returns:
        The reduced loss.
    """

    def __init__(self, reduction="sum_over_batch_size", name="hinge", dtype=None):
        super().__init__(hinge, reduction, name, dtype)


class SquaredHinge(_BuiltinLossWrapper):
    """Computes the squared hinge loss between labels (-1/1, or 0/1) and predicted scores.

    Per sample, see `squared_hinge`.

    Args:
        reduction: How the per-sample losses are reduced: `"sum_over_batch_size"` (the
            default), `"sum"`, `"mean"`, `"mean_with_sample_weight"`, or `"none"` / `None`.
        name: Defaults to `"squared_hinge"`.
        dtype: Optional computation dtype (follows `y_pred` by default).

    Call arguments:
        y_true: The labels.
        y_pred: The predicted scores.
        sample_weight: Optional weights, one per sample.

    Returns:
        The reduced loss.
    """

    def __init__(self, reduction="sum_over_batch_size", name="squared_hinge", dtype=None):
        super().__init__(squared_hinge, reduction, name, dtype)


class CategoricalHinge(_BuiltinLossWrapper):
    """Computes the categorical hinge loss between one-hot labels and predicted scores.

    Per sample, see `categorical_hinge`.

    Args:
        reduction: How the per-sample losses are reduced: `"sum_over_batch_size"` (the
            default), `"sum"`, `"mean"`, `"mean_with_sample_weight"`, or `"none"` / `None`.
        name: Defaults to `"categorical_hinge"`.
        dtype: Optional computation dtype (follows `y_pred` by default).

    Call arguments:
        y_true: One-hot labels.
        y_pred: The predicted scores.
        sample_weight: Optional weights, one per sample.

    Returns:
        The reduced loss.
    """

    def __init__(self, reduction="sum_over_batch_size", name="categorical_hinge", dtype=None):
        super().__init__(categorical_hinge, reduction, name, dtype)


class KLDivergence(_BuiltinLossWrapper):
    """Computes the Kullback-Leibler divergence between target and predicted distributions.

    Per sample, see `kl_divergence`.

    Args:
        reduction: How the per-sample losses are reduced: `"sum_over_batch_size"` (the
            default), `"sum"`, `"mean"`, `"mean_with_sample_weight"`, or `"none"` / `None`.
        name: Defaults to `"kl_divergence"`.
        dtype: Optional computation dtype (follows `y_pred` by default).

    Call arguments:
        y_true: The target distributions.
        y_pred: The predicted distributions.
        sample_weight: Optional weights, one per sample.

    Returns:
        The reduced loss.
    """

    def __init__(self, reduction="sum_over_batch_size", name="kl_divergence", dtype=None):
        super().__init__(kl_divergence, reduction, name, dtype)


class Poisson(_BuiltinLossWrapper):
    """Computes the Poisson loss between observed counts and predicted rates.

    Per sample, see `poisson`.

    Args:
        reduction: How the per-sample losses are reduced: `"sum_over_batch_size"` (the
            default), `"sum"`, `"mean"`, `"mean_with_sample_weight"`, or `"none"` / `None`.
        name: Defaults to `"poisson"`.
        dtype: Optional computation dtype (follows `y_pred` by default).

    Call arguments:
        y_true: The observed counts.
        y_pred: The predicted rates.
        sample_weight: Optional weights, one per sample.

    Returns:
        The reduced loss.
    """

    def __init__(self, reduction="sum_over_batch_size", name="poisson", dtype=None):
        super().__init__(poisson, reduction, name, dtype)


class BinaryFocalCrossentropy(_BuiltinLossWrapper):
    """Computes the binary focal crossentropy (Lin et al., 2017) between labels and predictions.

    Per sample, see `binary_focal_crossentropy`: the binary crossentropy down-weighted by
    `(1 - p_t)**gamma` on well-classified examples.

    Args:
        apply_class_balancing: Bool, weigh positives by `alpha` and negatives by
            `1 - alpha`. Defaults to `False`.
        alpha: Float in [0, 1]. Defaults to 0.25.
        gamma: Float >= 0, the focusing parameter. Defaults to 2.0.
        from_logits: Bool, whether `y_pred` holds logits. Defaults to `False`.
        label_smoothing: Float in [0, 1]. Defaults to 0.
        axis: Int, the axis averaged over. Defaults to -1.
        reduction: How the per-sample losses are reduced: `"sum_over_batch_size"` (the
            default), `"sum"`, `"mean"`, `"mean_with_sample_weight"`, or `"none"` / `None`.
        name: Defaults to `"binary_focal_crossentropy"`.
        dtype: Optional computation dtype (follows `y_pred` by default).

    Call arguments:
        y_true: Labels in [0, 1].
        y_pred: The predictions.
        sample_weight: Optional weights, one per sample.

    Returns:
        The reduced loss.

    Raises:
        ValueError: If `axis` is not an int or `reduction` is invalid.
    """

    _config_keys = ("from_logits", "label_smoothing", "axis", "apply_class_balancing",
                    "alpha", "gamma")

    def __init__(self, apply_class_balancing=False, alpha=0.25, gamma=2.0, from_logits=False,
                 label_smoothing=0.0, axis=-1, reduction="sum_over_batch_size",
                 name="binary_focal_crossentropy", dtype=None):
        super().__init__(binary_focal_crossentropy, reduction, name, dtype,
                         apply_class_balancing=apply_class_balancing, alpha=alpha,
                         gamma=gamma, from_logits=from_logits,
                         label_smoothing=label_smoothing, axis=axis)


class CategoricalFocalCrossentropy(_BuiltinLossWrapper):
    """Computes the categorical focal crossentropy between one-hot labels and predictions.

    Per sample, see `categorical_focal_crossentropy`.

    Args:
        alpha: Float, the weighting factor. Defaults to 0.25.
        gamma: Float >= 0, the focusing parameter. Defaults to 2.0.
        from_logits: Bool, whether `y_pred` holds logits. Defaults to `False`.
        label_smoothing: Float in [0, 1]. Defaults to 0.
        axis: Int, the class axis. Defaults to -1.
        reduction: How the per-sample losses are reduced: `"sum_over_batch_size"` (the
            default), `"sum"`, `"mean"`, `"mean_with_sample_weight"`, or `"none"` / `None`.
        name: Defaults to `"categorical_focal_crossentropy"`.
        dtype: Optional computation dtype (follows `y_pred` by default).

    Call arguments:
        y_true: One-hot labels.
        y_pred: The predictions.
        sample_weight: Optional weights, one per sample.

    Returns:
        The reduced loss.

    Raises:
        ValueError: If `axis` is not an int or `reduction` is invalid.
    """

    _config_keys = ("from_logits", "label_smoothing", "axis", "alpha", "gamma")

    def __init__(self, alpha=0.25, gamma=2.0, from_logits=False, label_smoothing=0.0, axis=-1,
                 reduction="sum_over_batch_size", name="categorical_focal_crossentropy",
                 dtype=None):
        super().__init__(categorical_focal_crossentropy, reduction, name, dtype, alpha=alpha,
                         gamma=gamma, from_logits=from_logits,
                         label_smoothing=label_smoothing, axis=axis)


class CategoricalGeneralizedCrossEntropy(_BuiltinLossWrapper):
    """Computes the generalized crossentropy between integer labels and probabilities.

    Per sample, see `categorical_generalized_cross_entropy`.

    Args:
        q: Float in (0, 1). Defaults to 0.5.
        reduction: How the per-sample losses are reduced: `"sum_over_batch_size"` (the
            default), `"sum"`, `"mean"`, `"mean_with_sample_weight"`, or `"none"` / `None`.
        name: Defaults to `"categorical_generalized_cross_entropy"`.
        dtype: Optional computation dtype (follows `y_pred` by default).

    Call arguments:
        y_true: Integer labels.
        y_pred: Class probabilities.
        sample_weight: Optional weights, one per sample.

    Returns:
        The reduced loss.

    Raises:
        ValueError: If `q` is not in (0, 1).
    """

    _config_keys = ("q",)

    def __init__(self, q=0.5, reduction="sum_over_batch_size",
                 name="categorical_generalized_cross_entropy", dtype=None):
        _check_probability_arg("q", q, open_low=True, open_high=True)
        super().__init__(categorical_generalized_cross_entropy, reduction, name, dtype, q=q)

    def call(self, y_true, y_pred):
        """Returns the per-sample losses (the labels are not rank-aligned)."""
        return categorical_generalized_cross_entropy(y_true, y_pred, q=self.q)


class Dice(_BuiltinLossWrapper):
    """Computes the Dice loss between targets and predictions (segmentation overlap).

    See `dice`. With `axis=None` (the default) the loss is one scalar for the whole batch.

    Args:
        reduction: How the per-sample losses are reduced: `"sum_over_batch_size"` (the
            default), `"sum"`, `"mean"`, `"mean_with_sample_weight"`, or `"none"` / `None`.
        name: Defaults to `"dice"`.
        axis: Optional int or tuple of ints, the axes summed over. Defaults to `None`.
        dtype: Optional computation dtype (follows `y_pred` by default).

    Call arguments:
        y_true: The targets.
        y_pred: The predictions.
        sample_weight: Optional weights.

    Returns:
        The reduced loss.
    """

    _axes_allowed = True
    _config_keys = ("axis",)

    def __init__(self, reduction="sum_over_batch_size", name="dice", axis=None, dtype=None):
        super().__init__(dice, reduction, name, dtype, axis=axis)


class Tversky(_BuiltinLossWrapper):
    """Computes the Tversky loss between targets and predictions.

    See `tversky`; `alpha = beta = 0.5` is the Dice loss.

    Args:
        alpha: Float, the weight of the first error term. Defaults to 0.5.
        beta: Float, the weight of the second error term. Defaults to 0.5.
        reduction: How the per-sample losses are reduced: `"sum_over_batch_size"` (the
            default), `"sum"`, `"mean"`, `"mean_with_sample_weight"`, or `"none"` / `None`.
        name: Defaults to `"tversky"`.
        axis: Optional int or tuple of ints, the axes summed over. Defaults to `None`.
        dtype: Optional computation dtype (follows `y_pred` by default).

    Call arguments:
        y_true: The targets.
        y_pred: The predictions.
        sample_weight: Optional weights.

    Returns:
        The reduced loss.
    """

    _axes_allowed = True
    _config_keys = ("alpha", "beta", "axis")

    def __init__(self, alpha=0.5, beta=0.5, reduction="sum_over_batch_size", name="tversky",
                 axis=None, dtype=None):
        super().__init__(tversky, reduction, name, dtype, alpha=alpha, beta=beta, axis=axis)


class Circle(_BuiltinLossWrapper):
    """Computes the Circle loss between integer labels and L2-normalised embeddings.

    See `circle`. Samples whose loss is 0 are masked out of the reduction, as in Keras.

    Args:
        gamma: Float, the scale of the similarity scores. Defaults to 80.
        margin: Float, the relaxation margin. Defaults to 0.4.
        remove_diagonal: Bool, leave self-similarities out of the positives. Defaults to
            `True`.
        reduction: How the per-sample losses are reduced: `"sum_over_batch_size"` (the
            default), `"sum"`, `"mean"`, `"mean_with_sample_weight"`, or `"none"` / `None`.
        name: Defaults to `"circle"`.
        dtype: Optional computation dtype (follows `y_pred` by default).

    Call arguments:
        y_true: Integer labels of shape `(batch_size,)`.
        y_pred: Embeddings of shape `(batch_size, dim)`.
        sample_weight: Optional weights, one per sample.

    Returns:
        The reduced loss.
    """

    _config_keys = ("gamma", "margin", "remove_diagonal")

    def __init__(self, gamma=80.0, margin=0.4, remove_diagonal=True,
                 reduction="sum_over_batch_size", name="circle", dtype=None):
        super().__init__(circle, reduction, name, dtype, gamma=gamma, margin=margin,
                         remove_diagonal=remove_diagonal)

    def _call_with_mask(self, y_true, y_pred):
        with np.errstate(divide="ignore"):
            return _circle_values(y_true, y_pred, gamma=self.gamma, margin=self.margin,
                                  remove_diagonal=self.remove_diagonal)


class CTC(_BuiltinLossWrapper):
    """Computes the CTC (connectionist temporal classification) loss.

    Per sample, see `ctc`: `y_true` holds 0-padded integer label sequences, `y_pred` the
    logits `(batch_size, max_length, num_classes)` with class 0 the blank.

    Args:
        reduction: How the per-sample losses are reduced: `"sum_over_batch_size"` (the
            default), `"sum"`, `"mean"`, `"mean_with_sample_weight"`, or `"none"` / `None`.
        name: Defaults to `"ctc"`.
        dtype: Optional computation dtype (follows `y_pred` by default).

    Call arguments:
        y_true: Integer label sequences.
        y_pred: Logits.
        sample_weight: Optional weights, one per sample.

    Returns:
        The reduced loss.
    """

    def __init__(self, reduction="sum_over_batch_size", name="ctc", dtype=None):
        super().__init__(ctc, reduction, name, dtype)

    def call(self, y_true, y_pred):
        """Returns the per-sample CTC losses (the labels are not rank-aligned)."""
        return ctc(y_true, y_pred)


# ------------------------------------------------------------------------------------------------
# Lookup and (de)serialization
# ------------------------------------------------------------------------------------------------

_ALL_CLASSES = (Loss, LossFunctionWrapper, MeanSquaredError, MeanAbsoluteError, Huber,
                CategoricalCrossentropy, SparseCategoricalCrossentropy, BinaryCrossentropy,
                MeanAbsolutePercentageError, MeanSquaredLogarithmicError, CosineSimilarity,
                LogCosh, Hinge, SquaredHinge, CategoricalHinge, KLDivergence, Poisson,
                BinaryFocalCrossentropy, CategoricalFocalCrossentropy,
                CategoricalGeneralizedCrossEntropy, Dice, Tversky, Circle, CTC)
_ALL_FUNCTIONS = (mean_squared_error, mean_absolute_error, huber, categorical_crossentropy,
                  sparse_categorical_crossentropy, binary_crossentropy,
                  mean_absolute_percentage_error, mean_squared_logarithmic_error,
                  cosine_similarity, log_cosh, hinge, squared_hinge, categorical_hinge,
                  kl_divergence, poisson, binary_focal_crossentropy,
                  categorical_focal_crossentropy, categorical_generalized_cross_entropy, dice,
                  tversky, circle, ctc)

ALL_OBJECTS_DICT = {obj.__name__: obj for obj in _ALL_CLASSES + _ALL_FUNCTIONS}
ALL_OBJECTS_DICT.update({"mse": mean_squared_error, "MSE": mean_squared_error,
                         "mae": mean_absolute_error, "MAE": mean_absolute_error,
                         "bce": binary_crossentropy, "BCE": binary_crossentropy,
                         "mape": mean_absolute_percentage_error,
                         "MAPE": mean_absolute_percentage_error,
                         "msle": mean_squared_logarithmic_error,
                         "MSLE": mean_squared_logarithmic_error,
                         "kld": kl_divergence, "KLD": kl_divergence,
                         "kullback_leibler_divergence": kl_divergence, "logcosh": log_cosh})


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
