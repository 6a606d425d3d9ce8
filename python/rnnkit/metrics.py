"""Stateful metrics (`keras.metrics`).

A metric accumulates over the batches it sees (`update_state`), reports with `result()` and
starts over with `reset_state()`. The averaging metrics are sample-weighted means over every
sample seen: `sum(w * v) / sum(w)` (each sample's value is first averaged over any axes beyond
the weights' rank), so an epoch's accuracy is the accuracy over all of its samples.

    Metric(dtype=None, name=None)        base class
    Mean(name="mean"), Sum(name="sum")   `update_state(values, sample_weight=None)`
    MeanMetricWrapper(fn, name=None, dtype=None, **fn_kwargs)
    Accuracy, BinaryAccuracy(threshold=0.5), CategoricalAccuracy, SparseCategoricalAccuracy,
    MeanSquaredError, MeanAbsoluteError, RootMeanSquaredError, BinaryCrossentropy,
    CategoricalCrossentropy, SparseCategoricalCrossentropy

Compile-time lookup: `get("accuracy")` / `get("acc")` (any case) returns an `AccuracyMarker`;
`resolve_accuracy(name, y_true_shape, y_pred_shape)` turns it into the concrete metric by
Keras 3's rule (binary if `y_pred.shape[-1] == 1`; else sparse categorical if
`rank(y_true) < rank(y_pred)` or `y_true.shape[-1] == 1`; else categorical), keeping the name the
user wrote. `get_metric(identifier, y_true_shape, y_pred_shape)` is the whole compile rule
(names: the string the user wrote, e.g. "mse"; functions are wrapped in `MeanMetricWrapper`).
The loss of `fit` is tracked with `Mean(name="loss")`.

Metrics compute in NumPy on the values of their inputs (tracked tensors are read, not recorded).
Accumulators are float32 variables by default (as in Keras).
"""

from __future__ import annotations

import numpy as np

from rnnkit import initializers as _initializers
from rnnkit import losses as _losses
from rnnkit import saving as _saving
from rnnkit import masking
from rnnkit.autodiff import unwrap
from rnnkit.losses import (binary_crossentropy, categorical_crossentropy, huber,
                           mean_absolute_error, mean_squared_error,
                           sparse_categorical_crossentropy)
from rnnkit.variables import Variable

__all__ = [
    "Accuracy", "AccuracyMarker", "BinaryAccuracy", "BinaryCrossentropy", "CategoricalAccuracy",
    "CategoricalCrossentropy", "Mean", "MeanAbsoluteError", "MeanMetricWrapper",
    "MeanSquaredError", "Metric", "RootMeanSquaredError", "SparseCategoricalAccuracy",
    "SparseCategoricalCrossentropy", "Sum", "accuracy", "binary_accuracy",
    "binary_crossentropy", "categorical_accuracy", "categorical_crossentropy", "deserialize",
    "get", "get_metric", "huber", "mae", "mean_absolute_error", "mean_squared_error", "mse",
    "resolve_accuracy", "serialize", "sparse_categorical_accuracy",
    "sparse_categorical_crossentropy",
]

mse = mean_squared_error
mae = mean_absolute_error


def _np(x):
    """The NumPy value of an array-like / Variable / Tensor (never recorded)."""
    return np.asarray(unwrap(x))


def _dtype_name(dtype):
    if dtype is None:
        return "float32"
    if isinstance(dtype, dict):  # a serialized DTypePolicy
        dtype = dtype.get("config", {}).get("name", "float32")
    return np.dtype(getattr(dtype, "name", dtype)).name


def _read(variable):
    """A scalar Variable's value as a 0-d array (whatever shape the Variable stores)."""
    return variable.value.reshape(())


def _add(variable, delta):
    """variable += delta for a scalar Variable."""
    variable.assign(np.reshape(_read(variable) + delta, variable.shape))


def _squeeze_or_expand(x1, x2):
    return tuple(_np(v) for v in _losses.squeeze_or_expand_to_same_rank(x1, x2))


# ------------------------------------------------------------------------------------------------
# Base classes
# ------------------------------------------------------------------------------------------------

class Metric:
    """Base class of stateful metrics (`keras.metrics.Metric`).

    Subclasses create their state in `__init__` with `add_variable()` (or `add_weight()`) and
    implement `update_state(...)` and `result()`; `reset_state()` zeroes every variable.
    Calling the metric updates it and returns the result.
    """

    def __init__(self, dtype=None, name=None):
        self.name = name or _losses._auto_name(type(self).__name__)
        self._dtype = _dtype_name(dtype)
        self._variables = []

    @property
    def dtype(self):
        return self._dtype

    @property
    def variables(self):
        return list(self._variables)

    def add_variable(self, shape, initializer, dtype=None, aggregation="sum", name=None):
        del aggregation
        init = _initializers.get(initializer)
        shape = tuple(int(s) for s in shape)
        variable = Variable(init, shape=shape, dtype=dtype or self._dtype, trainable=False,
                            name=name or "variable", path=f"{self.name}/{name or 'variable'}")
        self._variables.append(variable)
        return variable

    def add_weight(self, shape=(), initializer=None, dtype=None, name=None):
        return self.add_variable(shape, initializer or "zeros", dtype=dtype, name=name)

    def reset_state(self):
        for v in self._variables:
            v.assign(np.zeros(v.shape, dtype=v.dtype))

    def update_state(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} must implement `update_state()`.")

    def result(self):
        raise NotImplementedError(f"{type(self).__name__} must implement `result()`.")

    def __call__(self, *args, **kwargs):
        self.update_state(*args, **kwargs)
        return self.result()

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name}>"


def _reduce_to_samplewise_values(values, sample_weight, reduce_fn, dtype):
    """Keras' `reduce_to_samplewise_values`: weight `values` and reduce them to one value per
    sample (axis 0). Returns (values, per-sample weights or None)."""
    values = _np(values).astype(dtype, copy=False)
    if sample_weight is not None:
        sample_weight = _np(sample_weight).astype(dtype, copy=False)
        values, sample_weight = _squeeze_or_expand(values, sample_weight)
        weight_ndim, values_ndim = sample_weight.ndim, values.ndim
        if values_ndim > weight_ndim:
            values = reduce_fn(values, axis=tuple(range(weight_ndim, values_ndim)))
        try:
            sample_weight = np.broadcast_to(sample_weight, values.shape)
        except ValueError:
            raise ValueError(
                f"`sample_weight` of shape {np.shape(sample_weight)} does not match the metric "
                f"values of shape {values.shape}.") from None
        values = values * sample_weight
        if weight_ndim > 1:
            sample_weight = reduce_fn(sample_weight, axis=tuple(range(1, weight_ndim)))
    if values.ndim > 1:
        values = reduce_fn(values, axis=tuple(range(1, values.ndim)))
    return values, sample_weight


class Sum(Metric):
    """The (weighted) sum of the values seen."""

    def __init__(self, name="sum", dtype=None):
        super().__init__(dtype=dtype, name=name)
        self.total = self.add_variable((), "zeros", name="total")

    def update_state(self, values, sample_weight=None):
        values, _ = _reduce_to_samplewise_values(values, sample_weight, np.sum, self.dtype)
        _add(self.total, np.sum(values))

    def result(self):
        return np.array(_read(self.total))


class Mean(Metric):
    """The (weighted) mean of the values seen: `sum(w * v) / sum(w)`, each sample's values first
    averaged over the axes beyond the weights' rank. `Mean(name="loss")` tracks fit's loss."""

    def __init__(self, name="mean", dtype=None):
        super().__init__(dtype=dtype, name=name)
        self.total = self.add_variable((), "zeros", name="total")
        self.count = self.add_variable((), "zeros", name="count")

    def update_state(self, values, sample_weight=None):
        values, sample_weight = _reduce_to_samplewise_values(values, sample_weight, np.mean,
                                                             self.dtype)
        _add(self.total, np.sum(values))
        if sample_weight is not None:
            num_samples = np.sum(sample_weight)
        elif values.ndim >= 1:
            num_samples = values.shape[0]
        else:
            num_samples = 1
        _add(self.count, np.asarray(num_samples, dtype=self.dtype))

    def result(self):
        count = _read(self.count)
        if count == 0:
            return np.zeros((), dtype=self.dtype)
        return np.asarray(_read(self.total) / count, dtype=self.dtype)


class MeanMetricWrapper(Mean):
    """The running mean of `fn(y_true, y_pred, **kwargs)` (per-sample values).

    `update_state(y_true, y_pred, sample_weight=None, mask=None)`; `mask` (rnnkit extension)
    is a boolean array of the shape of the values that multiplies the weights."""

    def __init__(self, fn, name=None, dtype=None, **kwargs):
        if not callable(fn):
            raise ValueError(f"MeanMetricWrapper: `fn` must be callable, got {fn!r}")
        super().__init__(name=name or getattr(fn, "__name__", None) or "mean_metric_wrapper",
                         dtype=dtype)
        self._fn = fn
        self._fn_kwargs = kwargs

    def update_state(self, y_true, y_pred, sample_weight=None, mask=None):
        if mask is None:
            mask = masking.get_keras_mask(y_pred)
        values = _np(self._fn(_np(y_true), _np(y_pred), **self._fn_kwargs))
        if mask is not None:
            mask = _np(mask).astype(self.dtype)
            if sample_weight is None:
                sample_weight = mask
            else:
                mask, sample_weight = _squeeze_or_expand(mask, _np(sample_weight))
                if sample_weight.ndim < mask.ndim:  # per-sample weights, per-step mask
                    sample_weight = sample_weight.reshape(
                        sample_weight.shape + (1,) * (mask.ndim - sample_weight.ndim))
                sample_weight = sample_weight * mask
        return super().update_state(values, sample_weight=sample_weight)

    def get_config(self):
        config = {"name": self.name, "dtype": self.dtype}
        if type(self) is MeanMetricWrapper:
            config["fn"] = _saving.serialize(self._fn)
            config.update(_saving.serialize(self._fn_kwargs))
        return config

    @classmethod
    def from_config(cls, config):
        return _losses._wrapper_from_config(cls, config, ALL_FUNCTIONS_DICT)


# ------------------------------------------------------------------------------------------------
# Per-sample metric functions (NumPy)
# ------------------------------------------------------------------------------------------------

def accuracy(y_true, y_pred):
    """1.0 where `y_true == y_pred` exactly, else 0.0 (float32)."""
    y_pred = _np(y_pred)
    y_true = _np(y_true).astype(y_pred.dtype, copy=False)
    y_true, y_pred = _squeeze_or_expand(y_true, y_pred)
    return np.equal(y_true, y_pred).astype("float32")


def binary_accuracy(y_true, y_pred, threshold=0.5):
    """1.0 where `(y_pred > threshold) == y_true` (elementwise, float32)."""
    y_pred = _np(y_pred)
    y_true = _np(y_true).astype(y_pred.dtype, copy=False)
    y_true, y_pred = _squeeze_or_expand(y_true, y_pred)
    y_pred = (y_pred > np.asarray(threshold, dtype=y_pred.dtype)).astype(y_true.dtype)
    return np.equal(y_true, y_pred).astype("float32")


def categorical_accuracy(y_true, y_pred):
    """1.0 where `argmax(y_true, -1) == argmax(y_pred, -1)` (one-hot labels)."""
    y_true = np.argmax(_np(y_true), axis=-1)
    y_pred = _np(y_pred)
    reshape_matches = False
    true_org_shape = y_true.shape
    if y_true.ndim == y_pred.ndim:
        y_true = np.squeeze(y_true, -1)
        reshape_matches = True
    y_pred = np.argmax(y_pred, axis=-1).astype(y_true.dtype)
    matches = np.equal(y_true, y_pred).astype("float32")
    if reshape_matches:
        matches = matches.reshape(true_org_shape)
    return matches


def sparse_categorical_accuracy(y_true, y_pred):
    """1.0 where `y_true == argmax(y_pred, -1)` (integer labels of shape `(N,)` or `(N, 1)`)."""
    y_pred = _np(y_pred)
    y_true = _np(y_true)
    if y_pred.dtype.kind == "f":
        y_true = y_true.astype(y_pred.dtype, copy=False)
    reshape_matches = False
    true_org_shape = y_true.shape
    if y_true.ndim == y_pred.ndim and y_true.ndim and y_true.shape[-1] == 1:
        y_true = np.squeeze(y_true, -1)
        reshape_matches = True
    y_pred = np.argmax(y_pred, axis=-1).astype(y_true.dtype)
    matches = np.equal(y_true, y_pred).astype("float32")
    if reshape_matches:
        matches = matches.reshape(true_org_shape)
    if matches.ndim > 1 and matches.shape[-1] == 1:
        matches = np.squeeze(matches, -1)
    return matches


# ------------------------------------------------------------------------------------------------
# Metric classes
# ------------------------------------------------------------------------------------------------

class _BuiltinMetricWrapper(MeanMetricWrapper):
    """A built-in metric class around one of the functions above: its config adds the
    class's own arguments (`_config_keys`, kept as attributes) to name and dtype, and
    `_direction` ('up' / 'down') tells callbacks in "auto" mode which way is better."""

    _config_keys = ()
    _direction = None

    def __init__(self, fn, name, dtype, **kwargs):
        super().__init__(fn, name=name, dtype=dtype, **kwargs)
        for key in self._config_keys:
            setattr(self, key, kwargs[key])

    def get_config(self):
        config = super().get_config()
        config.update({key: getattr(self, key) for key in self._config_keys})
        return config


class Accuracy(_BuiltinMetricWrapper):
    """How often `y_pred` equals `y_true` exactly."""

    _direction = "up"

    def __init__(self, name="accuracy", dtype=None):
        super().__init__(accuracy, name, dtype)


class BinaryAccuracy(_BuiltinMetricWrapper):
    """How often `y_pred > threshold` matches the binary labels."""

    _config_keys = ("threshold",)
    _direction = "up"

    def __init__(self, name="binary_accuracy", dtype=None, threshold=0.5):
        if threshold is not None and (threshold <= 0 or threshold >= 1):
            raise ValueError("Invalid value for argument `threshold`. Expected a value in "
                             f"interval (0, 1). Received: threshold={threshold}")
        super().__init__(binary_accuracy, name, dtype, threshold=threshold)


class CategoricalAccuracy(_BuiltinMetricWrapper):
    """How often the argmax of `y_pred` matches the argmax of the one-hot `y_true`."""

    _direction = "up"

    def __init__(self, name="categorical_accuracy", dtype=None):
        super().__init__(categorical_accuracy, name, dtype)


class SparseCategoricalAccuracy(_BuiltinMetricWrapper):
    """How often the argmax of `y_pred` equals the integer label."""

    _direction = "up"

    def __init__(self, name="sparse_categorical_accuracy", dtype=None):
        super().__init__(sparse_categorical_accuracy, name, dtype)


class MeanSquaredError(_BuiltinMetricWrapper):
    """The running mean of `mean_squared_error`."""

    _direction = "down"

    def __init__(self, name="mean_squared_error", dtype=None):
        super().__init__(mean_squared_error, name, dtype)


class MeanAbsoluteError(_BuiltinMetricWrapper):
    """The running mean of `mean_absolute_error`."""

    _direction = "down"

    def __init__(self, name="mean_absolute_error", dtype=None):
        super().__init__(mean_absolute_error, name, dtype)


class RootMeanSquaredError(Mean):
    """`sqrt` of the running (weighted) mean of the squared errors."""

    _direction = "down"

    def __init__(self, name="root_mean_squared_error", dtype=None):
        super().__init__(name=name, dtype=dtype)

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_pred = _np(y_pred)
        y_true = _np(y_true).astype(y_pred.dtype, copy=False)
        y_true, y_pred = _squeeze_or_expand(y_true, y_pred)
        return super().update_state(np.square(y_pred - y_true), sample_weight=sample_weight)

    def result(self):
        return np.sqrt(super().result())


class BinaryCrossentropy(_BuiltinMetricWrapper):
    """The running mean of `binary_crossentropy`."""

    _config_keys = ("from_logits", "label_smoothing")
    _direction = "down"

    def __init__(self, name="binary_crossentropy", dtype=None, from_logits=False,
                 label_smoothing=0):
        super().__init__(binary_crossentropy, name, dtype, from_logits=from_logits,
                         label_smoothing=label_smoothing)


class CategoricalCrossentropy(_BuiltinMetricWrapper):
    """The running mean of `categorical_crossentropy`."""

    _config_keys = ("from_logits", "label_smoothing", "axis")
    _direction = "down"

    def __init__(self, name="categorical_crossentropy", dtype=None, from_logits=False,
                 label_smoothing=0, axis=-1):
        super().__init__(categorical_crossentropy, name, dtype, from_logits=from_logits,
                         label_smoothing=label_smoothing, axis=axis)


class SparseCategoricalCrossentropy(_BuiltinMetricWrapper):
    """The running mean of `sparse_categorical_crossentropy`."""

    _config_keys = ("from_logits", "axis")
    _direction = "down"

    def __init__(self, name="sparse_categorical_crossentropy", dtype=None, from_logits=False,
                 axis=-1):
        super().__init__(sparse_categorical_crossentropy, name, dtype, from_logits=from_logits,
                         axis=axis)


# ------------------------------------------------------------------------------------------------
# "accuracy" resolution
# ------------------------------------------------------------------------------------------------

def _last_dim(shape):
    return shape[-1] if len(shape) else None


def resolve_accuracy(name, y_true_shape, y_pred_shape, dtype=None):
    """The metric that `"accuracy"` / `"acc"` means for these shapes (Keras 3, §12.4), named
    `name`:

    1. `y_pred_shape[-1] == 1` -> `BinaryAccuracy`;
    2. else `len(y_true_shape) < len(y_pred_shape)`, or `y_true_shape[-1] == 1` with
       `y_pred_shape[-1] > 1` -> `SparseCategoricalAccuracy`;
    3. else `CategoricalAccuracy`.

    Shapes are tuples (None for unknown sizes) or arrays, whose shapes are used.
    """
    y_true_shape = tuple(y_true_shape.shape) if hasattr(y_true_shape, "shape") \
        else tuple(y_true_shape)
    y_pred_shape = tuple(y_pred_shape.shape) if hasattr(y_pred_shape, "shape") \
        else tuple(y_pred_shape)
    pred_last = _last_dim(y_pred_shape)
    true_last = _last_dim(y_true_shape)
    is_binary = pred_last == 1
    is_sparse = (len(y_true_shape) < len(y_pred_shape)
                 or (true_last == 1 and pred_last is not None and pred_last > 1))
    if is_binary:
        return BinaryAccuracy(name=str(name), dtype=dtype)
    if is_sparse:
        return SparseCategoricalAccuracy(name=str(name), dtype=dtype)
    return CategoricalAccuracy(name=str(name), dtype=dtype)


class AccuracyMarker(Metric):
    """What `get("accuracy")` / `get("acc")` returns: accuracy of a kind still to be chosen
    from the shapes of `y_true` and `y_pred`.

    `marker.resolve(y_true_shape, y_pred_shape)` returns the concrete metric (see
    `resolve_accuracy`), named as the user wrote it. Used directly, the marker resolves itself
    on its first `update_state` and then delegates to that metric.
    """

    def __init__(self, name="accuracy", dtype=None):
        super().__init__(dtype=dtype, name=name)
        self._resolved = None

    def resolve(self, y_true_shape, y_pred_shape):
        return resolve_accuracy(self.name, y_true_shape, y_pred_shape, dtype=self.dtype)

    @property
    def resolved(self):
        """The concrete metric once resolved (by the first update), else None."""
        return self._resolved

    @property
    def variables(self):
        return [] if self._resolved is None else self._resolved.variables

    def update_state(self, y_true, y_pred, sample_weight=None, **kwargs):
        if self._resolved is None:
            self._resolved = self.resolve(np.shape(_np(y_true)), np.shape(_np(y_pred)))
        self._resolved.name = self.name
        return self._resolved.update_state(y_true, y_pred, sample_weight=sample_weight,
                                           **kwargs)

    def result(self):
        if self._resolved is None:
            return np.zeros((), dtype=self.dtype)
        return self._resolved.result()

    def reset_state(self):
        if self._resolved is not None:
            self._resolved.reset_state()


# ------------------------------------------------------------------------------------------------
# Lookup and (de)serialization
# ------------------------------------------------------------------------------------------------

_ALL_CLASSES = (Metric, Mean, Sum, MeanMetricWrapper, Accuracy, BinaryAccuracy,
                CategoricalAccuracy, SparseCategoricalAccuracy, MeanSquaredError,
                MeanAbsoluteError, RootMeanSquaredError, BinaryCrossentropy,
                CategoricalCrossentropy, SparseCategoricalCrossentropy, AccuracyMarker)

ALL_FUNCTIONS_DICT = {fn.__name__: fn for fn in (
    accuracy, binary_accuracy, categorical_accuracy, sparse_categorical_accuracy,
    mean_squared_error, mean_absolute_error, huber, binary_crossentropy,
    categorical_crossentropy, sparse_categorical_crossentropy)}

ALL_OBJECTS_DICT = {cls.__name__: cls for cls in _ALL_CLASSES}
ALL_OBJECTS_DICT.update({_losses._to_snake_case(cls.__name__): cls for cls in _ALL_CLASSES})
ALL_OBJECTS_DICT.update({
    "bce": BinaryCrossentropy, "BCE": BinaryCrossentropy,
    "mse": MeanSquaredError, "MSE": MeanSquaredError,
    "mae": MeanAbsoluteError, "MAE": MeanAbsoluteError,
})


def serialize(metric):
    """The config of a metric (`rnnkit.saving.serialize`)."""
    return _saving.serialize(metric)


def deserialize(config, custom_objects=None):
    """A metric from `serialize()` output."""
    return _saving.deserialize(config, custom_objects=custom_objects,
                               module_objects={**ALL_FUNCTIONS_DICT, **ALL_OBJECTS_DICT})


def _is_accuracy_name(identifier):
    return isinstance(identifier, str) and identifier.lower() in ("accuracy", "acc")


def get(identifier):
    """A metric from a string, config dict, class, instance or function.

    Strings: class names and their snake_case ("binary_accuracy",
    "sparse_categorical_accuracy", "categorical_accuracy", "mean_squared_error", ...) and the
    aliases "mse", "mae", "bce" give a default instance; "accuracy" / "acc" (any case) give an
    `AccuracyMarker` named as written. Functions and Metric instances pass through; None gives
    None; anything else raises `ValueError("Could not interpret metric identifier: ...")`.
    """
    if identifier is None:
        return None
    if _is_accuracy_name(identifier):
        return AccuracyMarker(name=identifier)
    return _saving._get_object(identifier, "metric", ALL_OBJECTS_DICT, deserialize,
                               dict_errors=(ValueError, TypeError))


def _object_name(obj):
    if hasattr(obj, "name"):
        return obj.name
    if hasattr(obj, "__name__"):
        return _losses._to_snake_case(obj.__name__)
    return _losses._to_snake_case(type(obj).__name__)


def get_metric(identifier, y_true_shape=None, y_pred_shape=None):
    """A ready `Metric` for one entry of `compile(metrics=[...])` (Keras' `get_metric`).

    "accuracy" / "acc" resolve from the shapes (an `AccuracyMarker` when they are not given);
    other identifiers go through `get()`. A string identifier names the metric ("mse" stays
    "mse"); a function is wrapped in `MeanMetricWrapper` and named after it.
    """
    if identifier is None:
        return None
    if _is_accuracy_name(identifier):
        if y_true_shape is None or y_pred_shape is None:
            return AccuracyMarker(name=identifier)
        metric = resolve_accuracy(identifier, y_true_shape, y_pred_shape)
    else:
        metric = get(identifier)
    name = identifier if isinstance(identifier, str) else _object_name(metric)
    if not isinstance(metric, Metric):
        metric = MeanMetricWrapper(metric)
    metric.name = name
    return metric
