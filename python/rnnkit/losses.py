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
    """Keras' rule: when the ranks differ by exactly one and the longer one ends in 1, squeeze
    that axis -- or, when the shorter one is rank 1 (and `expand_rank_1`), expand it instead."""
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
    """`mean(square(y_true - y_pred), axis=-1)`: shape `y_pred.shape[:-1]`."""
    y_true, y_pred = _pred_and_true(y_true, y_pred)
    y_true, y_pred = squeeze_or_expand_to_same_rank(y_true, y_pred)
    _check_broadcastable("mean_squared_error", y_true, y_pred)
    return ops.mean(ops.square(ops.subtract(y_true, y_pred)), axis=-1)


def mean_absolute_error(y_true, y_pred):
    """`mean(abs(y_true - y_pred), axis=-1)`."""
    y_true, y_pred = _pred_and_true(y_true, y_pred)
    y_true, y_pred = squeeze_or_expand_to_same_rank(y_true, y_pred)
    _check_broadcastable("mean_absolute_error", y_true, y_pred)
    return ops.mean(ops.abs(ops.subtract(y_true, y_pred)), axis=-1)


def huber(y_true, y_pred, delta=1.0):
    """Huber loss averaged over the last axis: `0.5 e^2` where `|e| <= delta`, else
    `delta |e| - 0.5 delta^2`, with `e = y_pred - y_true`."""
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
    """`-sum(y_true * log(p), axis)` with one-hot (or soft) labels of the shape of `y_pred`.

    `p` is `softmax(y_pred)` with `from_logits`, else `y_pred` renormalised to sum to 1 and
    clipped to [1e-7, 1 - 1e-7]. `label_smoothing` replaces the labels by
    `y_true * (1 - ls) + ls / num_classes`.
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
    """`-log(p[y_true])` per sample, with integer labels of shape `(N,)` or `(N, 1)`
    (`y_pred.shape[:-1]`, optionally with a trailing 1).

    `p` is `softmax(y_pred)` with `from_logits`, else the renormalised and clipped
    probabilities. Labels equal to `ignore_class` get a loss of 0 (the class form also leaves
    them out of the average). A label outside `[0, num_classes)` raises ValueError.
    """
    return _sparse_ce(y_true, y_pred, from_logits, ignore_class, axis)[0]


def binary_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0, axis=-1):
    """`mean(-(y log p + (1 - y) log(1 - p)), axis)`; `p = sigmoid(y_pred)` (computed as
    log_sigmoid, stably) with `from_logits`, else `y_pred` clipped to [1e-7, 1 - 1e-7].
    `label_smoothing` replaces the labels by `y * (1 - ls) + 0.5 ls`."""
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
    if reduction not in _REDUCTIONS:
        raise ValueError(
            "Invalid value for argument `reduction`. Expected one of "
            f"{set(_REDUCTIONS)}. Received: reduction={reduction}")
    return reduction


def _num_elements(x):
    return int(np.prod(_shape(x), dtype=np.int64))


def reduce_values(values, sample_weight=None, reduction="sum_over_batch_size"):
    """Reduce (already weighted) loss values (Keras' `reduce_values`)."""
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
    """Weight the per-sample loss values by `sample_weight` (and `mask`), then reduce them."""
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
    """Loss base class (`keras.losses.Loss`).

    Subclasses implement `call(y_true, y_pred)` returning per-sample losses; `__call__`
    converts the inputs, calls it and applies the sample weights and the reduction.

    Args:
        name: the loss name (default: snake_case of the class name).
        reduction: "sum_over_batch_size" (default), "sum", "mean", "mean_with_sample_weight",
            "none" or None.
        dtype: computation dtype; None follows `y_pred` (float32 unless it is float64).
    """

    def __init__(self, name=None, reduction="sum_over_batch_size", dtype=None):
        self.name = name or _auto_name(type(self).__name__)
        self.reduction = standardize_reduction(reduction)
        self._dtype = None if dtype is None else np.dtype(getattr(dtype, "name", dtype)).name

    @property
    def dtype(self):
        return self._dtype

    def __call__(self, y_true, y_pred, sample_weight=None, *, mask=None):
        """The reduced loss. The mask attached to `y_pred` (a model output's, see
        `rnnkit.masking`) leaves the masked values out, as Keras' `_keras_mask` does; `mask`
        (an rnnkit extension) passes one explicitly instead."""
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
        raise NotImplementedError(f"{type(self).__name__} must implement `call(y_true, y_pred)`.")

    def get_config(self):
        config = {"name": self.name, "reduction": self.reduction}
        if self._dtype is not None:
            config["dtype"] = self._dtype
        return config

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name!r} reduction={self.reduction!r}>"


class LossFunctionWrapper(Loss):
    """A `Loss` around a function `fn(y_true, y_pred, **kwargs)` returning per-sample losses
    (what `compile(loss=some_function)` uses). `y_true` / `y_pred` pass through
    `squeeze_or_expand_to_same_rank` first, so `(N,)` labels work against `(N, 1)` outputs."""

    def __init__(self, fn, reduction="sum_over_batch_size", name=None, dtype=None, **kwargs):
        if not callable(fn):
            raise ValueError(f"LossFunctionWrapper: `fn` must be callable, got {fn!r}")
        super().__init__(name=name or getattr(fn, "__name__", None), reduction=reduction,
                         dtype=dtype)
        self.fn = fn
        self._fn_kwargs = kwargs

    def call(self, y_true, y_pred):
        y_true, y_pred = squeeze_or_expand_to_same_rank(y_true, y_pred)
        return self.fn(y_true, y_pred, **self._fn_kwargs)

    def get_config(self):
        config = super().get_config()
        config["fn"] = _saving.serialize(self.fn)
        config.update(_saving.serialize(self._fn_kwargs))
        return config

    @classmethod
    def from_config(cls, config):
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
    """`mean(square(y_true - y_pred))` over the last axis, then the reduction."""

    def __init__(self, reduction="sum_over_batch_size", name="mean_squared_error", dtype=None):
        super().__init__(mean_squared_error, reduction, name, dtype)


class MeanAbsoluteError(_BuiltinLossWrapper):
    """`mean(abs(y_true - y_pred))` over the last axis, then the reduction."""

    def __init__(self, reduction="sum_over_batch_size", name="mean_absolute_error", dtype=None):
        super().__init__(mean_absolute_error, reduction, name, dtype)


class Huber(_BuiltinLossWrapper):
    """Huber loss (see `huber`). Keras' config omits `delta`; rnnkit keeps it."""

    _config_keys = ("delta",)

    def __init__(self, delta=1.0, reduction="sum_over_batch_size", name="huber_loss", dtype=None):
        super().__init__(huber, reduction, name, dtype, delta=delta)


class CategoricalCrossentropy(_BuiltinLossWrapper):
    """Crossentropy with one-hot labels (see `categorical_crossentropy`)."""

    _config_keys = ("from_logits", "label_smoothing", "axis")

    def __init__(self, from_logits=False, label_smoothing=0.0, axis=-1,
                 reduction="sum_over_batch_size", name="categorical_crossentropy", dtype=None):
        super().__init__(categorical_crossentropy, reduction, name, dtype,
                         from_logits=from_logits, label_smoothing=label_smoothing, axis=axis)


class SparseCategoricalCrossentropy(_BuiltinLossWrapper):
    """Crossentropy with integer labels (see `sparse_categorical_crossentropy`).

    With `ignore_class`, those labels are left out: their loss is 0 and the
    "sum_over_batch_size" average runs over the other samples only (Keras' mask)."""

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
    """Binary crossentropy (see `binary_crossentropy`), averaged over the last axis."""

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
    """The config of a loss object (`rnnkit.saving.serialize`), or a function's name."""
    return _saving.serialize(loss)


def deserialize(name, custom_objects=None):
    """A loss from `serialize()` output (a dict), or the function / class a name stands for."""
    if isinstance(name, str):
        obj = _saving.get_registered_object(name, custom_objects, ALL_OBJECTS_DICT)
        if obj is None:
            raise ValueError(f"Could not interpret loss identifier: {name}")
        return obj
    return _saving.deserialize(name, custom_objects=custom_objects,
                               module_objects=ALL_OBJECTS_DICT)


def get(identifier):
    """A loss from a string, a config dict, a class, an instance or a callable (Keras' rules).

    snake_case strings ("sparse_categorical_crossentropy", "mse", "huber", ...) give the
    *function*; CamelCase class names ("SparseCategoricalCrossentropy") give a default
    instance. None gives None; anything else raises
    `ValueError("Could not interpret loss identifier: ...")`.
    """
    return _saving._get_object(identifier, "loss", ALL_OBJECTS_DICT, deserialize,
                               dict_errors=(ValueError, TypeError))
