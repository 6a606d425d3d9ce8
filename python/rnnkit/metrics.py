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
    MeanAbsolutePercentageError, MeanSquaredLogarithmicError, CosineSimilarity(axis=-1),
    LogCoshError, KLDivergence, Poisson, Hinge, SquaredHinge, CategoricalHinge,
    TopKCategoricalAccuracy(k=5), SparseTopKCategoricalAccuracy(k=5, from_sorted_ids=False)

Confusion-matrix metrics (a prediction is positive when above the threshold; the mask of a
masked model output multiplies the sample weights):
TruePositives / FalsePositives / TrueNegatives / FalseNegatives(thresholds=None),
Precision / Recall(thresholds=None, top_k=None, class_id=None), PrecisionAtRecall,
RecallAtPrecision, SensitivityAtSpecificity, SpecificityAtSensitivity(value,
num_thresholds=200, class_id=None), AUC(num_thresholds=200, curve="ROC",
summation_method="interpolation", thresholds=None, multi_label=False, num_labels=None,
label_weights=None, from_logits=False); F1Score / FBetaScore(average=None, beta=1.0,
threshold=None); R2Score(class_aggregation="uniform_average", num_regressors=0); IoU,
MeanIoU, BinaryIoU, OneHotIoU, OneHotMeanIoU (confusion matrix of dtype int32 by default,
as in Keras); PearsonCorrelation, ConcordanceCorrelation (axis=-1).

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

import warnings

import numpy as np

from rnnkit import initializers as _initializers
from rnnkit import losses as _losses
from rnnkit import saving as _saving
from rnnkit import masking
from rnnkit.array_library import as_array as _as_array
from rnnkit.array_library import host_scalar
from rnnkit.array_library import namespace as _namespace
from rnnkit.autodiff import unwrap
from rnnkit.losses import (binary_crossentropy, binary_focal_crossentropy,
                           categorical_crossentropy, categorical_focal_crossentropy,
                           categorical_hinge, hinge, huber, kl_divergence, log_cosh,
                           mean_absolute_error, mean_absolute_percentage_error,
                           mean_squared_error, mean_squared_logarithmic_error, poisson,
                           sparse_categorical_crossentropy, squared_hinge)
from rnnkit.variables import Variable

__all__ = [
    "AUC", "BinaryIoU", "CategoricalHinge", "ConcordanceCorrelation", "PearsonCorrelation",
    "concordance_correlation", "pearson_correlation", "CosineSimilarity", "F1Score", "FBetaScore",
    "FalseNegatives", "FalsePositives", "Hinge", "IoU", "KLDivergence", "LogCoshError",
    "MeanAbsolutePercentageError", "MeanIoU", "MeanSquaredLogarithmicError", "OneHotIoU",
    "OneHotMeanIoU", "Poisson", "Precision", "PrecisionAtRecall", "R2Score", "Recall",
    "RecallAtPrecision", "SensitivityAtSpecificity", "SparseTopKCategoricalAccuracy",
    "SpecificityAtSensitivity", "SquaredHinge", "TopKCategoricalAccuracy", "TrueNegatives",
    "TruePositives", "binary_focal_crossentropy", "categorical_focal_crossentropy",
    "categorical_hinge", "cosine_similarity", "hinge", "kl_divergence", "log_cosh",
    "mean_absolute_percentage_error", "mean_squared_logarithmic_error", "poisson",
    "sparse_top_k_categorical_accuracy", "squared_hinge", "top_k_categorical_accuracy",
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
    """The array value of an array-like / Variable / Tensor (never recorded), on its own
    device (a NumPy array for host values)."""
    return _as_array(unwrap(x))


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
    delta = host_scalar(delta)
    variable.assign(np.reshape(_read(variable) + delta, variable.shape))


def _squeeze_or_expand(x1, x2):
    return tuple(_np(v) for v in _losses.squeeze_or_expand_to_same_rank(x1, x2))


# ------------------------------------------------------------------------------------------------
# Base classes
# ------------------------------------------------------------------------------------------------

class Metric:
    """The base class of stateful metrics.

    A metric accumulates over the batches it sees (`update_state`), reports the value so far
    with `result()` and starts over with `reset_state()`. Calling the metric updates it and
    returns the result. Metrics compute in NumPy on the values of their inputs (tracked
    tensors are read, not recorded). Subclasses create their state in `__init__` with
    `add_variable()` (or `add_weight()`) and implement `update_state(...)` and `result()`.

    Args:
        dtype: Optional dtype of the state variables. Defaults to float32.
        name: Optional name. Defaults to the snake_case class name, made unique.

    Example:

    >>> import numpy as np, rnnkit as keras
    >>> class CountPositives(keras.metrics.Metric):
    ...     def __init__(self, **kwargs):
    ...         super().__init__(**kwargs)
    ...         self.count = self.add_variable((), "zeros", name="count")
    ...     def update_state(self, values):
    ...         self.count.assign_add(np.sum(np.asarray(values) > 0))
    ...     def result(self):
    ...         return self.count.numpy()
    >>> metric = CountPositives()
    >>> metric.update_state([1.0, -2.0, 3.0])
    >>> metric.result()
    array(2., dtype=float32)
    """

    def __init__(self, dtype=None, name=None):
        self.name = name or _losses._auto_name(type(self).__name__)
        self._dtype = _dtype_name(dtype)
        self._variables = []

    @property
    def dtype(self):
        """The dtype name of the metric's variables (`"float32"` by default)."""
        return self._dtype

    @property
    def variables(self):
        """The metric's state variables, in creation order."""
        return list(self._variables)

    def add_variable(self, shape, initializer, dtype=None, aggregation="sum", name=None):
        """Creates a non-trainable state variable of the metric.

        Args:
            shape: Tuple of ints, the variable's shape (`()` for a scalar).
            initializer: An initializer name, `Initializer` or callable.
            dtype: Optional dtype. Defaults to the metric's dtype.
            aggregation: Accepted for Keras compatibility; ignored.
            name: Optional name. Defaults to `"variable"`.

        Returns:
            The new `Variable`, also listed in `variables`.
        """
        del aggregation
        init = _initializers.get(initializer)
        shape = tuple(int(s) for s in shape)
        variable = Variable(init, shape=shape, dtype=dtype or self._dtype, trainable=False,
                            name=name or "variable", path=f"{self.name}/{name or 'variable'}")
        self._variables.append(variable)
        return variable

    def add_weight(self, shape=(), initializer=None, dtype=None, name=None):
        """Same as `add_variable`, with a scalar shape and `"zeros"` by default."""
        return self.add_variable(shape, initializer or "zeros", dtype=dtype, name=name)

    def reset_state(self):
        """Sets every state variable to zero (called at the start of each epoch by `fit`)."""
        for v in self._variables:
            v.assign(np.zeros(v.shape, dtype=v.dtype))

    def update_state(self, *args, **kwargs):
        """Accumulates the statistics of a batch; override it in subclasses.

        Raises:
            NotImplementedError: In the base class.
        """
        raise NotImplementedError(f"{type(self).__name__} must implement `update_state()`.")

    def result(self):
        """Returns the metric's current value (a scalar array); override it in subclasses.

        Raises:
            NotImplementedError: In the base class.
        """
        raise NotImplementedError(f"{type(self).__name__} must implement `result()`.")

    def __call__(self, *args, **kwargs):
        """Runs `update_state(*args, **kwargs)` and returns `result()`."""
        self.update_state(*args, **kwargs)
        return self.result()

    def get_config(self):
        """Returns the constructor arguments (`name`, `dtype`, ...) as a dict."""
        return {"name": self.name, "dtype": self.dtype}

    @classmethod
    def from_config(cls, config):
        """Creates a metric from the dict returned by `get_config()`."""
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
    """Computes the (weighted) sum of the values it sees.

    Args:
        name: Optional name of the metric instance. Defaults to `"sum"`.
        dtype: Optional dtype of the accumulators and the result. Defaults to float32.

    Call arguments (`update_state` and `__call__`):
        values: The values to add.
        sample_weight: Optional weights, broadcastable to `values`.

    Example:

    >>> import rnnkit as keras
    >>> metric = keras.metrics.Sum()
    >>> metric.update_state([1, 2, 3])
    >>> metric.result()
    array(6., dtype=float32)
    """

    def __init__(self, name="sum", dtype=None):
        super().__init__(dtype=dtype, name=name)
        self.total = self.add_variable((), "zeros", name="total")

    def update_state(self, values, sample_weight=None):
        """Adds the (weighted) values to the total."""
        values, _ = _reduce_to_samplewise_values(values, sample_weight, np.sum, self.dtype)
        _add(self.total, np.sum(values))

    def result(self):
        """Returns the total so far."""
        return _read(self.total).copy()


class Mean(Metric):
    """Computes the (weighted) mean of the values it sees.

    The result is `sum(w * v) / sum(w)` over every sample seen since the last reset, each
    sample's values first averaged over the axes beyond the weights' rank (over all axes
    but the first without weights). `fit` tracks its loss with `Mean(name="loss")`.

    Args:
        name: Optional name of the metric instance. Defaults to `"mean"`.
        dtype: Optional dtype of the accumulators and the result. Defaults to float32.

    Call arguments (`update_state` and `__call__`):
        values: The values; the first axis is the sample axis.
        sample_weight: Optional weights, one per sample (or of the values' leading shape).

    Raises:
        ValueError: If `sample_weight` does not match the values.

    Example:

    >>> import rnnkit as keras
    >>> metric = keras.metrics.Mean()
    >>> metric.update_state([1, 3])
    >>> metric.update_state([5])
    >>> metric.result()
    array(3., dtype=float32)
    >>> metric.reset_state()
    >>> metric.update_state([1, 3], sample_weight=[1, 0])
    >>> metric.result()
    array(1., dtype=float32)
    """

    def __init__(self, name="mean", dtype=None):
        super().__init__(dtype=dtype, name=name)
        self.total = self.add_variable((), "zeros", name="total")
        self.count = self.add_variable((), "zeros", name="count")

    def update_state(self, values, sample_weight=None):
        """Adds the (weighted) values of a batch to the running total and count."""
        values, sample_weight = _reduce_to_samplewise_values(values, sample_weight, np.mean,
                                                             self.dtype)
        _add(self.total, np.sum(values))
        if sample_weight is not None:
            num_samples = np.sum(sample_weight)
        elif values.ndim >= 1:
            num_samples = values.shape[0]
        else:
            num_samples = 1
        _add(self.count, _as_array(num_samples, dtype=self.dtype))

    def result(self):
        """Returns the mean so far (0 before any update)."""
        count = _read(self.count)
        if type(count) is not np.ndarray:
            # on a device: no host test of the count (0 / 1 where nothing was seen)
            xp = _namespace(count)
            empty = count == 0
            return xp.where(empty, xp.zeros((), dtype=self.dtype),
                            _read(self.total) / xp.where(empty, 1, count)).astype(self.dtype)
        if count == 0:
            return np.zeros((), dtype=self.dtype)
        return np.asarray(_read(self.total) / count, dtype=self.dtype)


class MeanMetricWrapper(Mean):
    """Tracks the (weighted) mean of a per-sample metric function.

    Each update computes `fn(y_true, y_pred, **kwargs)` and adds the values to a `Mean`.
    This is what `compile(metrics=[some_function])` uses. The mask attached to `y_pred` (a
    masked model output's, see `rnnkit.masking`) leaves the masked values out.

    Args:
        fn: Callable `fn(y_true, y_pred, **kwargs)` returning one value per sample.
        name: Optional name. Defaults to `fn.__name__`.
        dtype: Optional dtype of the accumulators. Defaults to float32.
        **kwargs: Extra keyword arguments passed to `fn`.

    Call arguments (`update_state` and `__call__`):
        y_true: The targets.
        y_pred: The predictions.
        sample_weight: Optional weights, one per sample (or of the values' shape).
        mask: Optional boolean array of the values' shape (an rnnkit extension); it
            multiplies the weights.

    Raises:
        ValueError: If `fn` is not callable.

    Example:

    >>> import numpy as np, rnnkit as keras
    >>> metric = keras.metrics.MeanMetricWrapper(keras.losses.mean_absolute_error)
    >>> metric.update_state(np.zeros((2, 1)), np.array([[1.0], [3.0]]))
    >>> metric.result()
    array(2., dtype=float32)
    """

    def __init__(self, fn, name=None, dtype=None, **kwargs):
        if not callable(fn):
            raise ValueError(f"MeanMetricWrapper: `fn` must be callable, got {fn!r}")
        super().__init__(name=name or getattr(fn, "__name__", None) or "mean_metric_wrapper",
                         dtype=dtype)
        self._fn = fn
        self._fn_kwargs = kwargs

    def update_state(self, y_true, y_pred, sample_weight=None, mask=None):
        """Adds the values of `fn` on a batch to the running mean (see the class docstring)."""
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
        """Creates the metric from `get_config()`; `fn` is looked up by name or deserialized."""
        return _losses._wrapper_from_config(cls, config, ALL_FUNCTIONS_DICT)


# ------------------------------------------------------------------------------------------------
# Per-sample metric functions (NumPy)
# ------------------------------------------------------------------------------------------------

def accuracy(y_true, y_pred):
    """Returns 1.0 where `y_true == y_pred` exactly, else 0.0, elementwise.

    Args:
        y_true: The targets.
        y_pred: The predictions (a rank difference of one with a trailing 1 is aligned).

    Returns:
        A float32 array of the aligned shape.
    """
    y_pred = _np(y_pred)
    y_true = _np(y_true).astype(y_pred.dtype, copy=False)
    y_true, y_pred = _squeeze_or_expand(y_true, y_pred)
    return np.equal(y_true, y_pred).astype("float32")


def binary_accuracy(y_true, y_pred, threshold=0.5):
    """Returns 1.0 where `(y_pred > threshold) == y_true`, else 0.0, elementwise.

    Args:
        y_true: Binary labels (0 or 1).
        y_pred: Probabilities (or scores compared to `threshold`).
        threshold: Float, the decision threshold. Defaults to 0.5.

    Returns:
        A float32 array of the aligned shape.
    """
    y_pred = _np(y_pred)
    y_true = _np(y_true).astype(y_pred.dtype, copy=False)
    y_true, y_pred = _squeeze_or_expand(y_true, y_pred)
    y_pred = (y_pred > np.asarray(threshold, dtype=y_pred.dtype)[()]).astype(y_true.dtype)
    return np.equal(y_true, y_pred).astype("float32")


def categorical_accuracy(y_true, y_pred):
    """Returns 1.0 per sample where the argmax of `y_pred` matches that of one-hot `y_true`.

    Args:
        y_true: One-hot labels.
        y_pred: Class scores, with the classes on the last axis.

    Returns:
        A float32 array with one value per sample.

    Example:

    >>> import rnnkit as keras
    >>> keras.metrics.categorical_accuracy([[0, 1], [1, 0]], [[0.2, 0.8], [0.3, 0.7]])
    array([1., 0.], dtype=float32)
    """
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
    """Returns 1.0 per sample where the argmax of `y_pred` equals the integer label.

    Args:
        y_true: Integer labels of shape `y_pred.shape[:-1]`, optionally with a trailing 1.
        y_pred: Class scores, with the classes on the last axis.

    Returns:
        A float32 array with one value per sample.
    """
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
    """Computes how often the predictions equal the targets exactly.

    For class predictions use `"accuracy"` in `compile` (chosen from the shapes), or
    `CategoricalAccuracy` / `SparseCategoricalAccuracy` / `BinaryAccuracy`.

    Args:
        name: Optional name of the metric instance. Defaults to `"accuracy"`.
        dtype: Optional dtype of the accumulators and the result. Defaults to float32.

    Call arguments (`update_state` and `__call__`):
        y_true: The targets.
        y_pred: The predictions.
        sample_weight: Optional weights, one per sample (or of the values' shape).

    Example:

    >>> import rnnkit as keras
    >>> keras.metrics.Accuracy()([1, 2, 3, 4], [1, 2, 3, 0])
    array(0.75, dtype=float32)
    """

    _direction = "up"

    def __init__(self, name="accuracy", dtype=None):
        super().__init__(accuracy, name, dtype)


class BinaryAccuracy(_BuiltinMetricWrapper):
    """Computes how often the thresholded predictions match binary labels.

    Args:
        name: Optional name of the metric instance. Defaults to `"binary_accuracy"`.
        dtype: Optional dtype of the accumulators and the result. Defaults to float32.
        threshold: Float in (0, 1): a prediction above it counts as 1. Defaults to 0.5.

    Call arguments (`update_state` and `__call__`):
        y_true: The targets.
        y_pred: The predictions.
        sample_weight: Optional weights, one per sample (or of the values' shape).

    Raises:
        ValueError: If `threshold` is not in (0, 1).

    Example:

    >>> import rnnkit as keras
    >>> keras.metrics.BinaryAccuracy()([[1], [0], [1], [0]], [[0.9], [0.6], [0.3], [0.1]])
    array(0.5, dtype=float32)
    """

    _config_keys = ("threshold",)
    _direction = "up"

    def __init__(self, name="binary_accuracy", dtype=None, threshold=0.5):
        if threshold is not None and (threshold <= 0 or threshold >= 1):
            raise ValueError("Invalid value for argument `threshold`. Expected a value in "
                             f"interval (0, 1). Received: threshold={threshold}")
        super().__init__(binary_accuracy, name, dtype, threshold=threshold)


class CategoricalAccuracy(_BuiltinMetricWrapper):
    """Computes how often the predicted class matches a one-hot label.

    Args:
        name: Optional name of the metric instance. Defaults to `"categorical_accuracy"`.
        dtype: Optional dtype of the accumulators and the result. Defaults to float32.

    Call arguments (`update_state` and `__call__`):
        y_true: One-hot labels.
        y_pred: The predictions.
        sample_weight: Optional weights, one per sample (or of the values' shape).
    """

    _direction = "up"

    def __init__(self, name="categorical_accuracy", dtype=None):
        super().__init__(categorical_accuracy, name, dtype)


class SparseCategoricalAccuracy(_BuiltinMetricWrapper):
    """Computes how often the predicted class (argmax of `y_pred`) equals an integer label.

    Args:
        name: Optional name of the metric instance. Defaults to `"sparse_categorical_accuracy"`.
        dtype: Optional dtype of the accumulators and the result. Defaults to float32.

    Call arguments (`update_state` and `__call__`):
        y_true: Integer labels, `(batch,)` or `(batch, 1)`.
        y_pred: The predictions.
        sample_weight: Optional weights, one per sample (or of the values' shape).

    Example:

    >>> import rnnkit as keras
    >>> metric = keras.metrics.SparseCategoricalAccuracy()
    >>> metric.update_state([0, 1], [[0.9, 0.1], [0.8, 0.2]])
    >>> metric.result()
    array(0.5, dtype=float32)
    """

    _direction = "up"

    def __init__(self, name="sparse_categorical_accuracy", dtype=None):
        super().__init__(sparse_categorical_accuracy, name, dtype)


class MeanSquaredError(_BuiltinMetricWrapper):
    """Computes the mean squared error between targets and predictions, over all batches.

    Args:
        name: Optional name of the metric instance. Defaults to `"mean_squared_error"`.
        dtype: Optional dtype of the accumulators and the result. Defaults to float32.

    Call arguments (`update_state` and `__call__`):
        y_true: The targets.
        y_pred: The predictions.
        sample_weight: Optional weights, one per sample (or of the values' shape).
    """

    _direction = "down"

    def __init__(self, name="mean_squared_error", dtype=None):
        super().__init__(mean_squared_error, name, dtype)


class MeanAbsoluteError(_BuiltinMetricWrapper):
    """Computes the mean absolute error between targets and predictions, over all batches.

    Args:
        name: Optional name of the metric instance. Defaults to `"mean_absolute_error"`.
        dtype: Optional dtype of the accumulators and the result. Defaults to float32.

    Call arguments (`update_state` and `__call__`):
        y_true: The targets.
        y_pred: The predictions.
        sample_weight: Optional weights, one per sample (or of the values' shape).
    """

    _direction = "down"

    def __init__(self, name="mean_absolute_error", dtype=None):
        super().__init__(mean_absolute_error, name, dtype)


class RootMeanSquaredError(Mean):
    """Computes the root mean squared error: the square root of the running (weighted)
    mean of the squared errors.

    Args:
        name: Optional name of the metric instance. Defaults to `"root_mean_squared_error"`.
        dtype: Optional dtype of the accumulators and the result. Defaults to float32.

    Call arguments (`update_state` and `__call__`):
        y_true: The targets.
        y_pred: The predictions.
        sample_weight: Optional weights, one per sample (or of the values' shape).

    Example:

    >>> import rnnkit as keras
    >>> metric = keras.metrics.RootMeanSquaredError()
    >>> metric.update_state([[0.0], [0.0]], [[3.0], [4.0]])
    >>> float(metric.result())
    3.535533...
    """

    _direction = "down"

    def __init__(self, name="root_mean_squared_error", dtype=None):
        super().__init__(name=name, dtype=dtype)

    def update_state(self, y_true, y_pred, sample_weight=None):
        """Adds the squared errors of a batch to the running mean."""
        y_pred = _np(y_pred)
        y_true = _np(y_true).astype(y_pred.dtype, copy=False)
        y_true, y_pred = _squeeze_or_expand(y_true, y_pred)
        return super().update_state(np.square(y_pred - y_true), sample_weight=sample_weight)

    def result(self):
        """Returns the square root of the mean squared error so far."""
        return np.sqrt(super().result())


class BinaryCrossentropy(_BuiltinMetricWrapper):
    """Computes the binary crossentropy between labels and predictions, over all batches.

    Args:
        name: Optional name of the metric instance. Defaults to `"binary_crossentropy"`.
        dtype: Optional dtype of the accumulators and the result. Defaults to float32.
        from_logits: Bool, whether `y_pred` holds logits. Defaults to `False`.
        label_smoothing: Float in [0, 1]. Defaults to 0.

    Call arguments (`update_state` and `__call__`):
        y_true: The targets.
        y_pred: The predictions.
        sample_weight: Optional weights, one per sample (or of the values' shape).
    """

    _config_keys = ("from_logits", "label_smoothing")
    _direction = "down"

    def __init__(self, name="binary_crossentropy", dtype=None, from_logits=False,
                 label_smoothing=0):
        super().__init__(binary_crossentropy, name, dtype, from_logits=from_logits,
                         label_smoothing=label_smoothing)


class CategoricalCrossentropy(_BuiltinMetricWrapper):
    """Computes the crossentropy between one-hot labels and predictions, over all batches.

    Args:
        name: Optional name of the metric instance. Defaults to `"categorical_crossentropy"`.
        dtype: Optional dtype of the accumulators and the result. Defaults to float32.
        from_logits: Bool, whether `y_pred` holds logits. Defaults to `False`.
        label_smoothing: Float in [0, 1]. Defaults to 0.
        axis: Int, the class axis. Defaults to -1.

    Call arguments (`update_state` and `__call__`):
        y_true: The targets.
        y_pred: The predictions.
        sample_weight: Optional weights, one per sample (or of the values' shape).
    """

    _config_keys = ("from_logits", "label_smoothing", "axis")
    _direction = "down"

    def __init__(self, name="categorical_crossentropy", dtype=None, from_logits=False,
                 label_smoothing=0, axis=-1):
        super().__init__(categorical_crossentropy, name, dtype, from_logits=from_logits,
                         label_smoothing=label_smoothing, axis=axis)


class SparseCategoricalCrossentropy(_BuiltinMetricWrapper):
    """Computes the crossentropy between integer labels and predictions, over all batches.

    Args:
        name: Optional name of the metric instance. Defaults to `"sparse_categorical_crossentropy"`.
        dtype: Optional dtype of the accumulators and the result. Defaults to float32.
        from_logits: Bool, whether `y_pred` holds logits. Defaults to `False`.
        axis: Int, the class axis. Defaults to -1.

    Call arguments (`update_state` and `__call__`):
        y_true: The targets.
        y_pred: The predictions.
        sample_weight: Optional weights, one per sample (or of the values' shape).
    """

    _config_keys = ("from_logits", "axis")
    _direction = "down"

    def __init__(self, name="sparse_categorical_crossentropy", dtype=None, from_logits=False,
                 axis=-1):
        super().__init__(sparse_categorical_crossentropy, name, dtype, from_logits=from_logits,
                         axis=axis)


# ------------------------------------------------------------------------------------------------
# More mean metrics (Keras 3's regression, probabilistic, hinge and top-k metrics)
# ------------------------------------------------------------------------------------------------

def cosine_similarity(y_true, y_pred, axis=-1):
    """Returns the cosine similarity per sample.

    `sum(l2_normalize(y_true) * l2_normalize(y_pred), axis)`.

    The metric form is positive (1 for vectors pointing the same way); the loss
    `rnnkit.losses.cosine_similarity` is its negative.

    Args:
        y_true: The targets.
        y_pred: The predictions.
        axis: Int, the axis of the vectors. Defaults to -1.

    Returns:
        The per-sample similarities.
    """
    return -_np(_losses.cosine_similarity(_np(y_true), _np(y_pred), axis=axis))


def top_k_categorical_accuracy(y_true, y_pred, k=5):
    """Returns 1.0 per sample where the one-hot label's class is among the `k` highest scores.

    A class tied with the k-th score counts as in the top k only if its index is among the
    first k of a stable descending sort.

    Args:
        y_true: One-hot labels, `(..., num_classes)`.
        y_pred: Class scores, of the shape of `y_true`.
        k: Int, how many of the highest scores count. Defaults to 5.

    Returns:
        A float32 array with one value per sample.

    Example:

    >>> import rnnkit as keras
    >>> keras.metrics.top_k_categorical_accuracy([[0, 0, 1], [0, 1, 0]],
    ...                                          [[0.1, 0.9, 0.8], [0.05, 0.95, 0]], k=1)
    array([0., 1.], dtype=float32)
    """
    labels = np.argmax(_np(y_true), axis=-1)
    return _in_top_k(labels, _np(y_pred), k)


def _in_top_k(labels, scores, k):
    shape = labels.shape
    scores = scores.reshape(-1, scores.shape[-1])
    labels = labels.reshape(-1).astype(np.int64)
    order = np.argsort(-scores, axis=-1, kind="stable")[:, :k]
    matches = np.any(order == labels[:, None], axis=-1)
    return matches.astype("float32").reshape(shape)


def sparse_top_k_categorical_accuracy(y_true, y_pred, k=5, from_sorted_ids=False):
    """Returns 1.0 per sample where the integer label is among the `k` highest scores.

    Args:
        y_true: Integer labels, `(batch,)` or `(batch, 1)`.
        y_pred: Class scores `(batch, num_classes)`, or, with `from_sorted_ids`, the ids of
            the top categories sorted from the highest score.
        k: Int, how many of the highest scores count. Defaults to 5.
        from_sorted_ids: Bool, whether `y_pred` holds sorted category ids. Defaults to
            `False`.

    Returns:
        A float32 array with one value per label.
    """
    labels = _np(y_true)
    y_pred = _np(y_pred)
    if labels.ndim == y_pred.ndim and labels.ndim and labels.shape[-1] == 1:
        labels = np.squeeze(labels, -1)
    if from_sorted_ids:
        ids = y_pred.reshape(-1, y_pred.shape[-1])[:, :k]
        flat = labels.reshape(-1)[:, None]
        return np.any(ids == flat, axis=-1).astype("float32").reshape(labels.shape)
    return _in_top_k(labels, y_pred, k)


def _check_k(k):
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)):
        raise TypeError(f"Argument `k` must be an int. Received: k={k!r}")
    if k < 1:
        raise ValueError(f"Argument `k` must be >= 1. Received: k={k}")


class MeanAbsolutePercentageError(_BuiltinMetricWrapper):
    """Computes the mean absolute percentage error over all batches (see the loss function).

    Args:
        name: Optional name. Defaults to `"mean_absolute_percentage_error"`.
        dtype: Optional dtype of the accumulators and the result. Defaults to float32.

    Call arguments (`update_state` and `__call__`):
        y_true: The targets.
        y_pred: The predictions.
        sample_weight: Optional weights, one per sample (or of the values' shape).
    """

    _direction = "down"

    def __init__(self, name="mean_absolute_percentage_error", dtype=None):
        super().__init__(_losses.mean_absolute_percentage_error, name, dtype)


class MeanSquaredLogarithmicError(_BuiltinMetricWrapper):
    """Computes the mean squared logarithmic error over all batches (see the loss function).

    Args:
        name: Optional name. Defaults to `"mean_squared_logarithmic_error"`.
        dtype: Optional dtype of the accumulators and the result. Defaults to float32.

    Call arguments (`update_state` and `__call__`):
        y_true: The targets.
        y_pred: The predictions.
        sample_weight: Optional weights, one per sample (or of the values' shape).
    """

    _direction = "down"

    def __init__(self, name="mean_squared_logarithmic_error", dtype=None):
        super().__init__(_losses.mean_squared_logarithmic_error, name, dtype)


class CosineSimilarity(_BuiltinMetricWrapper):
    """Computes the mean cosine similarity between targets and predictions (1 is best).

    Args:
        name: Optional name. Defaults to `"cosine_similarity"`.
        dtype: Optional dtype of the accumulators and the result. Defaults to float32.
        axis: Int, the axis of the vectors. Defaults to -1.

    Call arguments (`update_state` and `__call__`):
        y_true: The targets.
        y_pred: The predictions.
        sample_weight: Optional weights, one per sample.

    Example:

    >>> import rnnkit as keras
    >>> metric = keras.metrics.CosineSimilarity()
    >>> float(metric([[0.0, 1.0], [1.0, 1.0]], [[1.0, 0.0], [1.0, 1.0]]))
    0.5
    """

    _config_keys = ("axis",)
    _direction = "up"

    def __init__(self, name="cosine_similarity", dtype=None, axis=-1):
        super().__init__(cosine_similarity, name, dtype, axis=axis)


class LogCoshError(_BuiltinMetricWrapper):
    """Computes the mean logarithm of the hyperbolic cosine of the error (see `log_cosh`).

    Args:
        name: Optional name. Defaults to `"logcosh"` (Keras' name).
        dtype: Optional dtype of the accumulators and the result. Defaults to float32.

    Call arguments (`update_state` and `__call__`):
        y_true: The targets.
        y_pred: The predictions.
        sample_weight: Optional weights, one per sample.
    """

    _direction = "down"

    def __init__(self, name="logcosh", dtype=None):
        super().__init__(_losses.log_cosh, name, dtype)


class KLDivergence(_BuiltinMetricWrapper):
    """Computes the mean Kullback-Leibler divergence between target and predicted distributions.

    Args:
        name: Optional name. Defaults to `"kl_divergence"`.
        dtype: Optional dtype of the accumulators and the result. Defaults to float32.

    Call arguments (`update_state` and `__call__`):
        y_true: The target distributions.
        y_pred: The predicted distributions.
        sample_weight: Optional weights, one per sample.
    """

    _direction = "down"

    def __init__(self, name="kl_divergence", dtype=None):
        super().__init__(_losses.kl_divergence, name, dtype)


class Poisson(_BuiltinMetricWrapper):
    """Computes the mean Poisson loss between counts and predicted rates.

    Args:
        name: Optional name. Defaults to `"poisson"`.
        dtype: Optional dtype of the accumulators and the result. Defaults to float32.

    Call arguments (`update_state` and `__call__`):
        y_true: The observed counts.
        y_pred: The predicted rates.
        sample_weight: Optional weights, one per sample.
    """

    _direction = "down"

    def __init__(self, name="poisson", dtype=None):
        super().__init__(_losses.poisson, name, dtype)


class Hinge(_BuiltinMetricWrapper):
    """Computes the mean hinge loss (labels -1/1, or 0/1 converted).

    Args:
        name: Optional name. Defaults to `"hinge"`.
        dtype: Optional dtype of the accumulators and the result. Defaults to float32.

    Call arguments (`update_state` and `__call__`):
        y_true: The labels.
        y_pred: The predicted scores.
        sample_weight: Optional weights, one per sample.
    """

    _direction = "down"

    def __init__(self, name="hinge", dtype=None):
        super().__init__(_losses.hinge, name, dtype)


class SquaredHinge(_BuiltinMetricWrapper):
    """Computes the mean squared hinge loss (labels -1/1, or 0/1 converted).

    Args:
        name: Optional name. Defaults to `"squared_hinge"`.
        dtype: Optional dtype of the accumulators and the result. Defaults to float32.

    Call arguments (`update_state` and `__call__`):
        y_true: The labels.
        y_pred: The predicted scores.
        sample_weight: Optional weights, one per sample.
    """

    _direction = "down"

    def __init__(self, name="squared_hinge", dtype=None):
        super().__init__(_losses.squared_hinge, name, dtype)


class CategoricalHinge(_BuiltinMetricWrapper):
    """Computes the mean categorical hinge loss between one-hot labels and scores.

    Args:
        name: Optional name. Defaults to `"categorical_hinge"`.
        dtype: Optional dtype of the accumulators and the result. Defaults to float32.

    Call arguments (`update_state` and `__call__`):
        y_true: One-hot labels.
        y_pred: The predicted scores.
        sample_weight: Optional weights, one per sample.
    """

    _direction = "down"

    def __init__(self, name="categorical_hinge", dtype=None):
        super().__init__(_losses.categorical_hinge, name, dtype)


class TopKCategoricalAccuracy(_BuiltinMetricWrapper):
    """Computes how often the one-hot label's class is among the `k` highest scores.

    Args:
        k: Int, how many of the highest scores count. Defaults to 5.
        name: Optional name. Defaults to `"top_k_categorical_accuracy"`.
        dtype: Optional dtype of the accumulators and the result. Defaults to float32.

    Call arguments (`update_state` and `__call__`):
        y_true: One-hot labels.
        y_pred: Class scores.
        sample_weight: Optional weights, one per sample.
    """

    _config_keys = ("k",)
    _direction = "up"

    def __init__(self, k=5, name="top_k_categorical_accuracy", dtype=None):
        _check_k(k)
        super().__init__(top_k_categorical_accuracy, name, dtype, k=k)


class SparseTopKCategoricalAccuracy(_BuiltinMetricWrapper):
    """Computes how often the integer label is among the `k` highest scores.

    Args:
        k: Int, how many of the highest scores count. Defaults to 5.
        name: Optional name. Defaults to `"sparse_top_k_categorical_accuracy"`.
        dtype: Optional dtype of the accumulators and the result. Defaults to float32.
        from_sorted_ids: Bool, whether `y_pred` holds category ids sorted by score.
            Defaults to `False`.

    Call arguments (`update_state` and `__call__`):
        y_true: Integer labels.
        y_pred: Class scores (or sorted ids).
        sample_weight: Optional weights, one per sample.
    """

    _config_keys = ("k",)
    _direction = "up"

    def __init__(self, k=5, name="sparse_top_k_categorical_accuracy", dtype=None,
                 from_sorted_ids=False):
        _check_k(k)
        super().__init__(sparse_top_k_categorical_accuracy, name, dtype, k=k,
                         from_sorted_ids=from_sorted_ids)
        self.from_sorted_ids = from_sorted_ids

    def get_config(self):
        config = super().get_config()
        if self.from_sorted_ids:
            config["from_sorted_ids"] = True
        return config


def pearson_correlation(y_true, y_pred, axis=-1):
    """Returns the Pearson correlation coefficient of targets and predictions along `axis`.

    Both are centred and divided by their standard deviation along `axis`; the result is
    the mean of their product (one value per sample for `axis=-1`).

    Args:
        y_true: The targets.
        y_pred: The predictions.
        axis: Int, the axis of the correlation. Defaults to -1.

    Returns:
        The correlations, with `axis` reduced.

    Example:

    >>> import rnnkit as keras
    >>> keras.metrics.pearson_correlation([[1.0, 2.0, 3.0]], [[2.0, 4.0, 7.0]]).round(4)
    array([0.9934])
    """
    y_pred = _np(y_pred)
    y_pred = y_pred.astype(y_pred.dtype if y_pred.dtype.kind == "f" else "float32")
    y_true, y_pred = _squeeze_or_expand(_np(y_true).astype(y_pred.dtype), y_pred)
    t = y_true - np.mean(y_true, axis=axis, keepdims=True)
    p = y_pred - np.mean(y_pred, axis=axis, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        t = t / np.std(t, axis=axis, keepdims=True)
        p = p / np.std(p, axis=axis, keepdims=True)
    return np.mean(t * p, axis=axis)


def concordance_correlation(y_true, y_pred, axis=-1):
    """Returns Lin's concordance correlation coefficient along `axis`, as Keras computes it.

    `mean(2 * (y_true - mean(y_pred)) * (y_pred - mean(y_pred)) / (var(y_true) +
    var(y_pred) + (mean(y_true) - mean(y_pred))**2 + 1e-7), axis)`. (Keras centres `y_true`
    on the mean of `y_pred` in the covariance; rnnkit does the same, so values agree.)

    Args:
        y_true: The targets.
        y_pred: The predictions.
        axis: Int, the axis of the coefficient. Defaults to -1.

    Returns:
        The coefficients, with `axis` reduced.
    """
    y_pred = _np(y_pred)
    y_pred = y_pred.astype(y_pred.dtype if y_pred.dtype.kind == "f" else "float32")
    y_true, y_pred = _squeeze_or_expand(_np(y_true).astype(y_pred.dtype), y_pred)
    true_mean = np.mean(y_true, axis=axis, keepdims=True)
    pred_mean = np.mean(y_pred, axis=axis, keepdims=True)
    true_var = np.var(y_true - true_mean, axis=axis, keepdims=True)
    pred_var = np.var(y_pred - pred_mean, axis=axis, keepdims=True)
    covar = (y_true - pred_mean) * (y_pred - pred_mean)
    norm = true_var + pred_var + np.square(true_mean - pred_mean)
    return np.mean(2 * covar / (norm + _losses.EPSILON), axis=axis)


class PearsonCorrelation(_BuiltinMetricWrapper):
    """Computes the mean Pearson correlation between targets and predictions.

    Each update adds `pearson_correlation(y_true, y_pred, axis)` (one value per sample with
    `axis=-1`) to a running mean.

    Args:
        name: Optional name. Defaults to `"pearson_correlation"`.
        dtype: Optional dtype of the accumulators and the result. Defaults to float32.
        axis: Int, the axis of the correlation. Defaults to -1.

    Call arguments (`update_state` and `__call__`):
        y_true: The targets.
        y_pred: The predictions.
        sample_weight: Optional weights, one per value.
    """

    _config_keys = ("axis",)
    _direction = "up"

    def __init__(self, name="pearson_correlation", dtype=None, axis=-1):
        super().__init__(pearson_correlation, name, dtype, axis=axis)


class ConcordanceCorrelation(_BuiltinMetricWrapper):
    """Computes the mean concordance correlation between targets and predictions.

    Each update adds `concordance_correlation(y_true, y_pred, axis)` to a running mean.

    Args:
        name: Optional name. Defaults to `"concordance_correlation"`.
        dtype: Optional dtype of the accumulators and the result. Defaults to float32.
        axis: Int, the axis of the coefficient. Defaults to -1.

    Call arguments (`update_state` and `__call__`):
        y_true: The targets.
        y_pred: The predictions.
        sample_weight: Optional weights, one per value.
    """

    _config_keys = ("axis",)
    _direction = "up"

    def __init__(self, name="concordance_correlation", dtype=None, axis=-1):
        super().__init__(concordance_correlation, name, dtype, axis=axis)


# ------------------------------------------------------------------------------------------------
# Confusion-matrix metrics (thresholds, AUC, precision / recall)
# ------------------------------------------------------------------------------------------------

_NEG_INF = -1e10


def _evenly_distributed(thresholds):
    """Keras' test for evenly spaced thresholds (with 0 and 1 added), where its optimised
    update also clips the predictions to [0, 1]."""
    t = np.array([0.0] + list(thresholds) + [1.0])
    if t.size < 3:
        return False
    even = np.arange(t.size, dtype=np.float64) / (t.size - 1)
    return bool(np.allclose(t, even, atol=np.finfo(np.float32).eps))


def _filter_top_k(x, k):
    """Keeps the k largest values along the last axis; the others become -1e10."""
    order = np.argsort(-x, axis=-1, kind="stable")[..., :k]
    keep = np.zeros(x.shape, dtype=bool)
    np.put_along_axis(keep, order, True, axis=-1)
    return np.where(keep, x, _NEG_INF)


def _confusion_counts(y_true, y_pred, thresholds, top_k=None, class_id=None,
                      sample_weight=None, multi_label=False, label_weights=None, clip=False):
    """Weighted (tp, fp, tn, fn) at each threshold: a prediction is positive when it is
    strictly greater than the threshold; any non-zero label is positive. Arrays of shape
    `(num_thresholds,)`, or `(num_thresholds, num_labels)` with `multi_label`."""
    y_pred = _np(y_pred).astype(np.float64)
    y_true = _np(y_true).astype(np.float64)
    y_pred, y_true = _squeeze_or_expand(y_pred, y_true)
    weights = None
    if sample_weight is not None:
        weights = np.expand_dims(_np(sample_weight).astype(np.float64), -1)
        _, weights = (_np(v) for v in _losses.squeeze_or_expand_to_same_rank(
            y_true, weights, expand_rank_1=False))
    if top_k is not None:
        y_pred = _filter_top_k(y_pred, top_k)
    if class_id is not None:
        if y_pred.ndim == 1:
            raise ValueError("When class_id is provided, y_pred must be a 2D array with shape "
                             f"(num_samples, num_classes), found shape: {y_pred.shape}")
        if not -y_pred.shape[-1] <= class_id < y_pred.shape[-1]:
            raise ValueError(f"`class_id`={class_id} is out of range for predictions of "
                             f"{y_pred.shape[-1]} classes (y_pred.shape={y_pred.shape}).")
        y_true = y_true[..., class_id, None]
        y_pred = y_pred[..., class_id, None]
    if clip:
        y_pred = np.clip(y_pred, 0.0, 1.0)
    try:
        w = np.ones(y_pred.shape) if weights is None else np.broadcast_to(weights, y_pred.shape)
    except ValueError:
        raise ValueError(f"`sample_weight` of shape {np.shape(sample_weight)} cannot be "
                         f"broadcast to the predictions of shape {y_pred.shape}.") from None
    if label_weights is not None:
        w = w * np.broadcast_to(np.asarray(label_weights, np.float64), y_pred.shape)
    positive = y_true.astype(bool)
    thresholds = np.asarray(thresholds, np.float64)
    # A prediction p is positive at threshold t when p > t. With the thresholds sorted, the
    # number of thresholds below p is `searchsorted(..., side="left")`, so one weighted
    # histogram of those counts and its suffix sums give every threshold's counts at once
    # (O(n log T), not a (T, n) comparison).
    order = np.argsort(thresholds, kind="stable")
    sorted_t = thresholds[order]
    num_t = sorted_t.size
    if multi_label:
        pred = y_pred.reshape(y_pred.shape[0], -1)
        w = np.broadcast_to(w, y_pred.shape).reshape(pred.shape)
        positive = positive.reshape(pred.shape)
        columns = pred.shape[1]
    else:
        pred = y_pred.reshape(-1, 1)
        w = np.broadcast_to(w, y_pred.shape).reshape(pred.shape)
        positive = positive.reshape(pred.shape)
        columns = 1
    below = np.searchsorted(sorted_t, pred, side="left")          # thresholds < p
    below = np.where(np.isnan(pred), 0, below)                     # NaN is above nothing
    bins = below + (num_t + 1) * np.arange(columns)[None, :]      # one histogram per column
    size = (num_t + 1) * columns

    def above_counts(weights):
        hist = np.bincount(bins.ravel(), weights=weights.ravel(), minlength=size)
        hist = hist.reshape(columns, num_t + 1)
        # count at sorted threshold k: the weight of predictions with more than k below
        suffix = np.cumsum(hist[:, ::-1], axis=1)[:, ::-1]
        return suffix[:, 1:], hist.sum(axis=1, keepdims=True)

    pos_weights = np.where(positive, w, 0.0)
    neg_weights = np.where(positive, 0.0, w)
    tp_sorted, pos_total = above_counts(pos_weights)
    fp_sorted, neg_total = above_counts(neg_weights)
    fn_sorted, tn_sorted = pos_total - tp_sorted, neg_total - fp_sorted
    unsort = np.empty_like(order)
    unsort[order] = np.arange(num_t)
    out = []
    for counts in (tp_sorted, fp_sorted, tn_sorted, fn_sorted):
        counts = counts[:, unsort].T                                 # (T, columns)
        out.append(counts if multi_label else counts[:, 0])
    return tuple(out)


def _fold_mask(y_pred, sample_weight):
    """The sample weights times the mask attached to `y_pred` (a masked model output's), so
    masked timesteps count for nothing; the weights unchanged when there is no mask."""
    mask = masking.get_keras_mask(y_pred)
    if mask is None:
        return sample_weight
    mask = _np(mask).astype(np.float64)
    if sample_weight is None:
        return mask
    weights = _np(sample_weight).astype(np.float64)
    if weights.ndim < mask.ndim and weights.shape == mask.shape[:weights.ndim]:
        weights = weights.reshape(weights.shape + (1,) * (mask.ndim - weights.ndim))
    return weights * mask


def _divide_no_nan(a, b):
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(b == 0, 0.0, a / np.where(b == 0, 1.0, b))


def _parse_thresholds(thresholds, default):
    if thresholds is None:
        return [default], True
    single = not isinstance(thresholds, (list, tuple, np.ndarray))
    values = [thresholds] if single else list(np.asarray(thresholds, dtype=np.float64).ravel())
    for t in values:
        if isinstance(t, bool) or not isinstance(t, (int, float, np.integer, np.floating)) \
                or not 0 <= t <= 1:
            raise ValueError("Threshold values must be in [0, 1]. Received: "
                             f"thresholds={thresholds}")
    return [float(t) for t in values], single


def _check_class_id(class_id):
    if class_id is not None and (isinstance(class_id, bool)
                                 or not isinstance(class_id, (int, np.integer))):
        raise TypeError(f"Argument `class_id` must be an int or None. Received: "
                        f"class_id={class_id!r}")


class _ConfusionAccumulator(Metric):
    """Base of the metrics that count tp/fp/tn/fn at a list of thresholds."""

    _counts = ("true_positives", "false_positives", "true_negatives", "false_negatives")

    def _make_counts(self, shape, names=None):
        for name in names or self._counts:
            setattr(self, name, self.add_variable(shape, "zeros", name=name))

    def _accumulate(self, y_true, y_pred, sample_weight, names=None, **kwargs):
        sample_weight = _fold_mask(y_pred, sample_weight)
        tp, fp, tn, fn = _confusion_counts(y_true, y_pred, sample_weight=sample_weight, **kwargs)
        values = dict(zip(self._counts, (tp, fp, tn, fn)))
        for name in names or self._counts:
            var = getattr(self, name)
            var.assign((var.value + values[name].reshape(var.shape)).astype(var.dtype))

    def _value(self, name):
        return getattr(self, name).value.astype(np.float64)


class _ThresholdCount(_ConfusionAccumulator):
    _which = None
    _direction = None

    def __init__(self, thresholds=None, name=None, dtype=None):
        super().__init__(dtype=dtype, name=name)
        self.init_thresholds = thresholds
        self.thresholds, self._single = _parse_thresholds(thresholds, 0.5)
        self._evenly = _evenly_distributed(self.thresholds)
        self.accumulator = self.add_variable((len(self.thresholds),), "zeros",
                                             name="accumulator")

    def update_state(self, y_true, y_pred, sample_weight=None):
        """Adds the (weighted) count of this batch at each threshold."""
        counts = _confusion_counts(y_true, y_pred, self.thresholds,
                                   sample_weight=_fold_mask(y_pred, sample_weight),
                                   clip=self._evenly)
        value = counts[("true_positives", "false_positives", "true_negatives",
                        "false_negatives").index(self._which)]
        self.accumulator.assign((self.accumulator.value + value).astype(self.dtype))

    def result(self):
        """Returns the count (a scalar for a single threshold, else one per threshold)."""
        value = self.accumulator.value
        return np.array(value[0]) if len(self.thresholds) == 1 else np.array(value)

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype, "thresholds": self.init_thresholds}


_COUNT_DOC = """Computes the (weighted) number of {what}.

    A prediction is positive when it is above the threshold; a label is positive when it is
    not 0. Sample weights weigh each prediction.

    Args:
        thresholds: Optional float in [0, 1] or list of floats. Defaults to 0.5. With a
            list, `result()` has one value per threshold.
        name: Optional name. Defaults to `"{name}"`, made unique (`"{name}_1"`, ...).
        dtype: Optional dtype of the accumulator and the result. Defaults to float32.

    Call arguments (`update_state` and `__call__`):
        y_true: The labels.
        y_pred: The predictions (probabilities).
        sample_weight: Optional weights, broadcastable to `y_pred`.

    Raises:
        ValueError: If a threshold is not in [0, 1].
    """


class TruePositives(_ThresholdCount):
    __doc__ = _COUNT_DOC.format(what="true positives", name="true_positives")
    _which = "true_positives"
    _direction = "up"


class FalsePositives(_ThresholdCount):
    __doc__ = _COUNT_DOC.format(what="false positives", name="false_positives")
    _which = "false_positives"
    _direction = "down"


class TrueNegatives(_ThresholdCount):
    __doc__ = _COUNT_DOC.format(what="true negatives", name="true_negatives")
    _which = "true_negatives"
    _direction = "up"


class FalseNegatives(_ThresholdCount):
    __doc__ = _COUNT_DOC.format(what="false negatives", name="false_negatives")
    _which = "false_negatives"
    _direction = "down"


class _PrecisionRecallBase(_ConfusionAccumulator):
    _direction = "up"
    _names = ()

    def __init__(self, thresholds=None, top_k=None, class_id=None, name=None, dtype=None):
        super().__init__(dtype=dtype, name=name)
        _check_class_id(class_id)
        if top_k is not None and (isinstance(top_k, bool) or not isinstance(
                top_k, (int, np.integer)) or top_k < 1):
            raise ValueError(f"Argument `top_k` must be an int >= 1 or None. Received: "
                             f"top_k={top_k!r}")
        self.init_thresholds = thresholds
        self.top_k = top_k
        self.class_id = class_id
        default = 0.5 if top_k is None else _NEG_INF
        if thresholds is None:
            self.thresholds, self._single = [default], True
        else:
            self.thresholds, self._single = _parse_thresholds(thresholds, default)
        self._make_counts((len(self.thresholds),), self._names)

    def update_state(self, y_true, y_pred, sample_weight=None):
        """Adds the (weighted) counts of this batch at each threshold."""
        self._accumulate(y_true, y_pred, sample_weight, names=self._names,
                         thresholds=self.thresholds, top_k=self.top_k, class_id=self.class_id)

    def _finish(self, value):
        value = value.astype(self.dtype)
        return np.array(value[0]) if len(self.thresholds) == 1 else value

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype, "thresholds": self.init_thresholds,
                "top_k": self.top_k, "class_id": self.class_id}


class Precision(_PrecisionRecallBase):
    """Computes the precision: `true_positives / (true_positives + false_positives)`.

    Args:
        thresholds: Optional float in [0, 1] or list of floats; a prediction above it is
            positive. Defaults to 0.5 (with `top_k`, every top-k prediction is positive).
            With a list, `result()` has one value per threshold.
        top_k: Optional int: only the k highest predictions of each sample can be positive.
        class_id: Optional int: the metric of that class (column) only.
        name: Optional name. Defaults to `"precision"`, made unique (`"precision_1"`, ...).
        dtype: Optional dtype of the accumulators and the result. Defaults to float32.

    Call arguments (`update_state` and `__call__`):
        y_true: The labels.
        y_pred: The predictions.
        sample_weight: Optional weights, broadcastable to `y_pred`.

    Raises:
        ValueError: If a threshold is not in [0, 1] or `top_k` is not a positive int.

    Example:

    >>> import rnnkit as keras
    >>> keras.metrics.Precision()([0, 1, 1, 1], [1, 0, 1, 1])
    array(0.6666667, dtype=float32)
    """

    _names = ("true_positives", "false_positives")

    def __init__(self, thresholds=None, top_k=None, class_id=None, name=None,
                 dtype=None):
        super().__init__(thresholds, top_k, class_id, name, dtype)

    def result(self):
        """Returns the precision so far (0 when nothing was predicted positive)."""
        tp, fp = self._value("true_positives"), self._value("false_positives")
        return self._finish(_divide_no_nan(tp, tp + fp))


class Recall(_PrecisionRecallBase):
    """Computes the recall: `true_positives / (true_positives + false_negatives)`.

    Args:
        thresholds: Optional float in [0, 1] or list of floats; a prediction above it is
            positive. Defaults to 0.5 (with `top_k`, every top-k prediction is positive).
        top_k: Optional int: only the k highest predictions of each sample can be positive.
        class_id: Optional int: the metric of that class (column) only.
        name: Optional name. Defaults to `"recall"`, made unique (`"recall_1"`, ...).
        dtype: Optional dtype of the accumulators and the result. Defaults to float32.

    Call arguments (`update_state` and `__call__`):
        y_true: The labels.
        y_pred: The predictions.
        sample_weight: Optional weights, broadcastable to `y_pred`.

    Raises:
        ValueError: If a threshold is not in [0, 1] or `top_k` is not a positive int.
    """

    _names = ("true_positives", "false_negatives")

    def __init__(self, thresholds=None, top_k=None, class_id=None, name=None, dtype=None):
        super().__init__(thresholds, top_k, class_id, name, dtype)

    def result(self):
        """Returns the recall so far (0 when there was no positive label)."""
        tp, fn = self._value("true_positives"), self._value("false_negatives")
        return self._finish(_divide_no_nan(tp, tp + fn))


class _SensitivitySpecificityBase(_ConfusionAccumulator):
    _direction = "up"
    _value_name = None

    def __init__(self, value, num_thresholds=200, class_id=None, name=None, dtype=None):
        super().__init__(dtype=dtype, name=name)
        arg = self._value_name
        if isinstance(value, bool) or not isinstance(value, (int, float, np.integer,
                                                             np.floating)):
            raise TypeError(f"Argument `{arg}` must be a float. Received: {arg}={value!r}")
        if not 0 <= value <= 1:
            raise ValueError(f"Argument `{arg}` must be in the range [0, 1]. "
                             f"Received: {arg}={value}")
        if isinstance(num_thresholds, bool) or not isinstance(
                num_thresholds, (int, np.integer)) or num_thresholds <= 0:
            raise ValueError("Argument `num_thresholds` must be an integer > 0. "
                             f"Received: num_thresholds={num_thresholds}")
        _check_class_id(class_id)
        self.value = value
        self.class_id = class_id
        self.num_thresholds = num_thresholds
        if num_thresholds == 1:
            self.thresholds, self._evenly = [0.5], False
        else:
            inner = [(i + 1) / (num_thresholds - 1) for i in range(num_thresholds - 2)]
            self.thresholds, self._evenly = [0.0] + inner + [1.0], True
        self._make_counts((len(self.thresholds),))

    def update_state(self, y_true, y_pred, sample_weight=None):
        """Adds the (weighted) counts of this batch at each of the thresholds."""
        self._accumulate(y_true, y_pred, sample_weight, thresholds=self.thresholds,
                         class_id=self.class_id, clip=self._evenly)

    def _best(self, constrained, dependent):
        feasible = constrained >= self.value
        return np.asarray(np.max(np.where(feasible, dependent, 0.0), initial=0.0),
                          dtype=self.dtype)

    def _rates(self):
        tp, fp, tn, fn = (self._value(n) for n in self._counts)
        return {"sensitivity": _divide_no_nan(tp, tp + fn),
                "specificity": _divide_no_nan(tn, tn + fp),
                "precision": _divide_no_nan(tp, tp + fp)}

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype, "class_id": self.class_id,
                "num_thresholds": self.num_thresholds, self._value_name: self.value}


_AT_DOC = """Computes the best {best} where the {constraint} is at least `{arg}`.

    The counts are accumulated at `num_thresholds` evenly spaced thresholds in [0, 1]; the
    result is the largest {best} among the thresholds whose {constraint} is >= `{arg}` (0 if
    none).

    Args:
        {arg}: Float in [0, 1], the required {constraint}.
        num_thresholds: Int > 0, the number of thresholds. Defaults to 200.
        class_id: Optional int: the metric of that class (column) only.
        name: Optional name. Defaults to `"{name}"`, made unique (`"{name}_1"`, ...).
        dtype: Optional dtype of the accumulators and the result. Defaults to float32.

    Call arguments (`update_state` and `__call__`):
        y_true: The labels.
        y_pred: The predictions (probabilities).
        sample_weight: Optional weights, broadcastable to `y_pred`.

    Raises:
        ValueError: If `{arg}` is not in [0, 1] or `num_thresholds` is not a positive int.
    """


class SensitivityAtSpecificity(_SensitivitySpecificityBase):
    __doc__ = _AT_DOC.format(best="sensitivity (recall)", constraint="specificity",
                             arg="specificity", name="sensitivity_at_specificity")
    _value_name = "specificity"

    def __init__(self, specificity, num_thresholds=200, class_id=None,
                 name=None, dtype=None):
        super().__init__(specificity, num_thresholds, class_id, name, dtype)
        self.specificity = specificity

    def result(self):
        """Returns the best sensitivity under the specificity constraint."""
        r = self._rates()
        return self._best(r["specificity"], r["sensitivity"])


class SpecificityAtSensitivity(_SensitivitySpecificityBase):
    __doc__ = _AT_DOC.format(best="specificity", constraint="sensitivity (recall)",
                             arg="sensitivity", name="specificity_at_sensitivity")
    _value_name = "sensitivity"

    def __init__(self, sensitivity, num_thresholds=200, class_id=None,
                 name=None, dtype=None):
        super().__init__(sensitivity, num_thresholds, class_id, name, dtype)
        self.sensitivity = sensitivity

    def result(self):
        """Returns the best specificity under the sensitivity constraint."""
        r = self._rates()
        return self._best(r["sensitivity"], r["specificity"])


class PrecisionAtRecall(_SensitivitySpecificityBase):
    __doc__ = _AT_DOC.format(best="precision", constraint="recall", arg="recall",
                             name="precision_at_recall")
    _value_name = "recall"

    def __init__(self, recall, num_thresholds=200, class_id=None, name=None,
                 dtype=None):
        super().__init__(recall, num_thresholds, class_id, name, dtype)
        self.recall = recall

    def result(self):
        """Returns the best precision under the recall constraint."""
        r = self._rates()
        return self._best(r["sensitivity"], r["precision"])


class RecallAtPrecision(_SensitivitySpecificityBase):
    __doc__ = _AT_DOC.format(best="recall", constraint="precision", arg="precision",
                             name="recall_at_precision")
    _value_name = "precision"

    def __init__(self, precision, num_thresholds=200, class_id=None,
                 name=None, dtype=None):
        super().__init__(precision, num_thresholds, class_id, name, dtype)
        self.precision = precision

    def result(self):
        """Returns the best recall under the precision constraint."""
        r = self._rates()
        return self._best(r["precision"], r["sensitivity"])


class AUC(_ConfusionAccumulator):
    """Computes the area under the ROC or the precision-recall curve.

    The counts are accumulated at `num_thresholds` thresholds (evenly spaced in [0, 1] plus
    one just below 0 and one just above 1, or `thresholds` plus those two); the area is a
    Riemann sum over them: trapezoids ("interpolation"; for PR, the interpolation of Davis &
    Goadrich, 2006), or the lower ("minoring") or upper ("majoring") rectangles.

    Args:
        num_thresholds: Int > 1. Defaults to 200.
        curve: `"ROC"` (the default), `"PR"` or `"PRGAIN"`.
        summation_method: `"interpolation"` (the default), `"minoring"` or `"majoring"`.
        name: Optional name. Defaults to `"auc"`, made unique (`"auc_1"`, ...).
        dtype: Optional dtype of the accumulators and the result. Defaults to float32.
        thresholds: Optional list of floats in [0, 1] used instead of the evenly spaced ones.
        multi_label: Bool: with `True`, each label (column) has its own curve and the AUC is
            their (weighted) mean; with `False` every prediction counts in one curve.
            Defaults to `False`.
        num_labels: Optional int, the number of labels with `multi_label` (else taken
            from the first batch).
        label_weights: Optional list of weights, one per label: with `multi_label` the
            weights of the per-label AUCs, else of the predictions of each label.
        from_logits: Bool, apply a sigmoid to the predictions first. Defaults to `False`.

    Call arguments (`update_state` and `__call__`):
        y_true: The labels (non-zero is positive).
        y_pred: The predictions (probabilities, or logits with `from_logits`).
        sample_weight: Optional weights, broadcastable to `y_pred`.

    Raises:
        ValueError: For an unknown `curve` or `summation_method`, `num_thresholds` < 2, a
            threshold outside [0, 1], or `num_labels` without `multi_label`.

    Example:

    >>> import rnnkit as keras
    >>> metric = keras.metrics.AUC(num_thresholds=3)
    >>> float(metric([0, 0, 1, 1], [0, 0.5, 0.3, 0.9]))
    0.75
    """

    _direction = "up"

    def __init__(self, num_thresholds=200, curve="ROC", summation_method="interpolation",
                 name=None, dtype=None, thresholds=None, multi_label=False, num_labels=None,
                 label_weights=None, from_logits=False):
        super().__init__(dtype=dtype, name=name)
        curve_key = str(curve).upper()
        if curve_key not in ("ROC", "PR", "PRGAIN"):
            raise ValueError(f'Invalid `curve` argument value "{curve}". Expected one of: '
                             "['ROC', 'PR', 'PRGAIN']")
        method = str(summation_method).lower()
        if method not in ("interpolation", "minoring", "majoring"):
            raise ValueError(f'Invalid `summation_method` argument value "{summation_method}".'
                             " Expected one of: ['interpolation', 'minoring', 'majoring']")
        self._init_from_thresholds = thresholds is not None
        if thresholds is not None:
            inner, _ = _parse_thresholds(list(thresholds), 0.5)
            inner = sorted(inner)
            self.num_thresholds = len(inner) + 2
            self._evenly = _evenly_distributed(inner)
        else:
            if isinstance(num_thresholds, bool) or not isinstance(
                    num_thresholds, (int, np.integer)) or num_thresholds <= 1:
                raise ValueError("Argument `num_thresholds` must be an integer > 1. "
                                 f"Received: num_thresholds={num_thresholds}")
            self.num_thresholds = int(num_thresholds)
            inner = [(i + 1) / (num_thresholds - 1) for i in range(num_thresholds - 2)]
            self._evenly = True
        self._thresholds = np.array([0.0 - _losses.EPSILON] + inner + [1.0 + _losses.EPSILON])
        self.curve = curve_key
        self.summation_method = method
        self.multi_label = bool(multi_label)
        if num_labels is not None and not multi_label:
            raise ValueError("`num_labels` is needed only when `multi_label` is True.")
        self.num_labels = num_labels
        self.label_weights = None if label_weights is None else \
            np.asarray(label_weights, dtype=self.dtype)
        self.from_logits = bool(from_logits)
        self._built = False
        if not self.multi_label:
            self._build(None)
        elif num_labels:
            self._build(num_labels)

    @property
    def thresholds(self):
        """The thresholds, including the two endpoints, as a list."""
        return list(self._thresholds)

    def _build(self, num_labels):
        shape = (self.num_thresholds,) if not self.multi_label else \
            (self.num_thresholds, int(num_labels))
        self._make_counts(shape)
        self._built = True

    def update_state(self, y_true, y_pred, sample_weight=None):
        """Adds the (weighted) counts of this batch at each threshold."""
        y_pred_in = y_pred
        y_pred = _np(y_pred).astype(np.float64)
        if not self._built:
            if y_pred.ndim != 2:
                raise ValueError("AUC with multi_label=True expects predictions of shape "
                                 f"(batch_size, num_labels). Received: {y_pred.shape}")
            self.num_labels = self.num_labels or int(y_pred.shape[-1])
            self._build(self.num_labels)
        sample_weight = _fold_mask(y_pred_in, sample_weight)
        labels = int(y_pred.shape[-1]) if y_pred.ndim else 1
        if self.multi_label and labels != self.num_labels:
            raise ValueError(f"AUC was built for {self.num_labels} labels but y_pred has "
                             f"{labels} (y_pred.shape={y_pred.shape}).")
        if self.label_weights is not None and self.label_weights.size != labels:
            raise ValueError(f"`label_weights` has {self.label_weights.size} entries but "
                             f"y_pred has {labels} labels (y_pred.shape={y_pred.shape}).")
        if self.from_logits:
            y_pred = 1.0 / (1.0 + np.exp(-y_pred))
        self._accumulate(y_true, y_pred, sample_weight, thresholds=self._thresholds,
                         multi_label=self.multi_label,
                         label_weights=None if self.multi_label else self.label_weights,
                         clip=self._evenly)

    def _average(self, by_label):
        if not self.multi_label:
            return np.sum(by_label)
        by_label = np.sum(by_label, axis=0)
        if self.label_weights is None:
            return np.mean(by_label)
        return _divide_no_nan(np.sum(by_label * self.label_weights), np.sum(self.label_weights))

    def _interpolate_pr_auc(self):
        tp, fp, fn = (self._value(n) for n in ("true_positives", "false_positives",
                                               "false_negatives"))
        dtp = tp[:-1] - tp[1:]
        p = tp + fp
        dp = p[:-1] - p[1:]
        slope = _divide_no_nan(dtp, np.maximum(dp, 0))
        intercept = tp[1:] - slope * p[1:]
        both = (p[:-1] > 0) & (p[1:] > 0)
        ratio = np.where(both, _divide_no_nan(p[:-1], np.maximum(p[1:], 0)), 1.0)
        with np.errstate(divide="ignore"):
            log_ratio = np.log(np.where(ratio > 0, ratio, 1.0))
        increments = _divide_no_nan(slope * (dtp + intercept * log_ratio),
                                    np.maximum(tp[1:] + fn[1:], 0))
        return self._average(increments)

    def result(self):
        """Returns the area under the curve so far."""
        if not self._built:
            return np.zeros((), dtype=self.dtype)
        if self.curve == "PR" and self.summation_method == "interpolation":
            return np.asarray(self._interpolate_pr_auc(), dtype=self.dtype)
        tp, fp, tn, fn = (self._value(n) for n in self._counts)
        recall = _divide_no_nan(tp, tp + fn)
        if self.curve == "ROC":
            x, y = _divide_no_nan(fp, fp + tn), recall
        elif self.curve == "PR":
            x, y = recall, _divide_no_nan(tp, tp + fp)
        else:
            scale = _divide_no_nan(tp + fn, tn + fp)
            recall_gain = 1.0 - scale * _divide_no_nan(fn, tp)
            precision_gain = 1.0 - scale * _divide_no_nan(fp, tp)
            recall_gain = np.maximum(np.where(tp == 0, 0.0, recall_gain), 0.0)
            precision_gain = np.where(tp == 0, 1.0, precision_gain)
            x, y = recall_gain, precision_gain
        if self.summation_method == "interpolation":
            heights = (y[:-1] + y[1:]) / 2.0
        elif self.summation_method == "minoring":
            heights = np.minimum(y[:-1], y[1:])
        else:
            heights = np.maximum(y[:-1], y[1:])
        return np.asarray(self._average((x[:-1] - x[1:]) * heights), dtype=self.dtype)

    def reset_state(self):
        """Zeroes the counts (their shape, once built, stays)."""
        super().reset_state()

    def get_config(self):
        config = {"name": self.name, "dtype": self.dtype,
                  "num_thresholds": self.num_thresholds, "curve": self.curve,
                  "summation_method": self.summation_method, "multi_label": self.multi_label,
                  "num_labels": self.num_labels,
                  "label_weights": None if self.label_weights is None
                  else [float(w) for w in self.label_weights],
                  "from_logits": self.from_logits}
        if self._init_from_thresholds:
            config["thresholds"] = [float(t) for t in self._thresholds[1:-1]]
        return config


# ------------------------------------------------------------------------------------------------
# F-scores, R2, IoU
# ------------------------------------------------------------------------------------------------

class FBetaScore(Metric):
    """Computes the F-beta score: `(1 + beta**2) * P * R / (beta**2 * P + R)`.

    Predictions above `threshold` count as positive (with `threshold=None`, the highest
    score of each sample, when non-zero). True positives, false positives and false
    negatives are accumulated per class (or globally with `average="micro"`).

    Args:
        average: `None` (one score per class, the default), `"micro"` (global counts),
            `"macro"` (mean of the class scores) or `"weighted"` (mean weighted by the
            number of true instances of each class).
        beta: Float > 0, the weight of the recall. Defaults to 1.0.
        threshold: Optional float in (0, 1]. Defaults to `None` (the argmax).
        name: Optional name. Defaults to `"fbeta_score"`.
        dtype: Optional dtype of the accumulators and the result. Defaults to float32.

    Call arguments (`update_state` and `__call__`):
        y_true: Labels `(batch_size, num_classes)` (one-hot or multi-hot).
        y_pred: Scores of the same shape.
        sample_weight: Optional weights, one per sample.

    Raises:
        ValueError: For an invalid `average`, `beta` or `threshold`, or inputs that are not
            of rank 2.
    """

    _direction = "up"

    def __init__(self, average=None, beta=1.0, threshold=None, name="fbeta_score", dtype=None):
        super().__init__(dtype=dtype, name=name)
        if average not in (None, "micro", "macro", "weighted"):
            raise ValueError("Invalid `average` argument value. Expected one of: {None, "
                             f"'micro', 'macro', 'weighted'}}. Received: average={average}")
        if not isinstance(beta, float):
            raise ValueError("Invalid `beta` argument value. It should be a Python float. "
                             f"Received: beta={beta} of type '{type(beta)}'")
        if beta <= 0.0:
            raise ValueError(f"Invalid `beta` argument value. It should be > 0. Received: "
                             f"beta={beta}")
        if threshold is not None:
            if not isinstance(threshold, float):
                raise ValueError("Invalid `threshold` argument value. It should be a Python "
                                 f"float. Received: threshold={threshold} of type "
                                 f"'{type(threshold)}'")
            if threshold > 1.0 or threshold <= 0.0:
                raise ValueError("Invalid `threshold` argument value. It should verify 0 < "
                                 f"threshold <= 1. Received: threshold={threshold}")
        self.average = average
        self.beta = beta
        self.threshold = threshold
        self.axis = None if average == "micro" else 0
        self._built = False

    def _build(self, y_true_shape, y_pred_shape):
        if len(y_pred_shape) != 2 or len(y_true_shape) != 2:
            raise ValueError(f"{type(self).__name__} expects 2D inputs with shape (batch_size, "
                             f"output_dim). Received input shapes: y_pred.shape={y_pred_shape}"
                             f" and y_true.shape={y_true_shape}.")
        shape = () if self.average == "micro" else (y_pred_shape[-1],)
        for name in ("true_positives", "false_positives", "false_negatives",
                     "intermediate_weights"):
            setattr(self, name, self.add_variable(shape, "zeros", name=name))
        self._built = True

    def update_state(self, y_true, y_pred, sample_weight=None):
        """Adds the (weighted) counts of a batch."""
        y_true = _np(y_true).astype(np.float64)
        y_pred = _np(y_pred).astype(np.float64)
        if not self._built:
            self._build(y_true.shape, y_pred.shape)
        if self.threshold is None:
            top = np.max(y_pred, axis=-1, keepdims=True)
            y_pred = (y_pred >= top) & (np.abs(y_pred) > 1e-9)
        else:
            y_pred = y_pred > self.threshold
        y_pred = y_pred.astype(np.float64)
        w = None if sample_weight is None else \
            np.expand_dims(_np(sample_weight).astype(np.float64), 1)

        def weighted_sum(v):
            return np.sum(v if w is None else v * w, axis=self.axis)

        for name, value in (("true_positives", y_pred * y_true),
                            ("false_positives", y_pred * (1 - y_true)),
                            ("false_negatives", (1 - y_pred) * y_true),
                            ("intermediate_weights", y_true)):
            var = getattr(self, name)
            var.assign((var.value + weighted_sum(value)).astype(var.dtype))

    def result(self):
        """Returns the score(s) so far."""
        if not self._built:
            return np.zeros((), dtype=self.dtype)
        eps = _losses.EPSILON
        tp, fp, fn, support = (getattr(self, n).value.astype(np.float64) for n in (
            "true_positives", "false_positives", "false_negatives", "intermediate_weights"))
        precision = tp / (tp + fp + eps)
        recall = tp / (tp + fn + eps)
        b2 = self.beta ** 2
        score = precision * recall / (b2 * precision + recall + eps) * (1 + b2)
        if self.average == "weighted":
            score = np.sum(score * support / (np.sum(support) + eps))
        elif self.average is not None:
            score = np.mean(score)
        return np.asarray(score, dtype=self.dtype)

    def reset_state(self):
        """Zeroes the counts."""
        super().reset_state()

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype, "beta": self.beta,
                "average": self.average, "threshold": self.threshold}


class F1Score(FBetaScore):
    """Computes the F1 score, the harmonic mean of precision and recall (`FBetaScore` with
    `beta=1`).

    Args:
        average: `None` (one score per class, the default), `"micro"`, `"macro"` or
            `"weighted"` (see `FBetaScore`).
        threshold: Optional float in (0, 1]. Defaults to `None` (the argmax).
        name: Optional name. Defaults to `"f1_score"`.
        dtype: Optional dtype of the accumulators and the result. Defaults to float32.

    Call arguments (`update_state` and `__call__`):
        y_true: Labels `(batch_size, num_classes)`.
        y_pred: Scores of the same shape.
        sample_weight: Optional weights, one per sample.

    Example:

    >>> import numpy as np, rnnkit as keras
    >>> metric = keras.metrics.F1Score(average="micro", threshold=0.5)
    >>> metric(np.array([[1, 0], [0, 1]]), np.array([[0.9, 0.2], [0.6, 0.3]]))
    array(0.4999999..., dtype=float32)
    """

    def __init__(self, average=None, threshold=None, name="f1_score", dtype=None):
        super().__init__(average=average, beta=1.0, threshold=threshold, name=name,
                         dtype=dtype)

    def get_config(self):
        config = super().get_config()
        del config["beta"]
        return config


class R2Score(Metric):
    """Computes the coefficient of determination R² over all batches.

    Per output column, `1 - sum(w * (y - y_pred)**2) / sum(w * (y - mean_w(y))**2)`; the
    columns are averaged (`"uniform_average"`), weighted by their variance
    (`"variance_weighted_average"`) or returned (`None`). With `num_regressors = p`, the
    adjusted R² `1 - (1 - R²) (n - 1) / (n - p - 1)` is returned, where `n` counts every
    value seen (Keras' rule).

    Args:
        class_aggregation: `"uniform_average"` (the default), `"variance_weighted_average"`
            or `None`.
        num_regressors: Int >= 0, the number of regressors of the adjusted R². Defaults
            to 0 (plain R²).
        name: Optional name. Defaults to `"r2_score"`.
        dtype: Optional dtype of the accumulators and the result. Defaults to float32.

    Call arguments (`update_state` and `__call__`):
        y_true: Targets `(batch_size, output_dim)`.
        y_pred: Predictions of the same shape.
        sample_weight: Optional weights, one per sample (or of the targets' shape).

    Raises:
        ValueError: For an invalid `class_aggregation`, a negative `num_regressors`, or
            inputs that are not of rank 2.

    Example:

    >>> import numpy as np, rnnkit as keras
    >>> metric = keras.metrics.R2Score()
    >>> metric(np.array([[1.0], [2.0], [3.0]]), np.array([[1.0], [2.0], [4.0]]))
    array(0.5, dtype=float32)
    """

    _direction = "up"

    def __init__(self, class_aggregation="uniform_average", num_regressors=0, name="r2_score",
                 dtype=None):
        super().__init__(dtype=dtype, name=name)
        if class_aggregation not in (None, "uniform_average", "variance_weighted_average"):
            raise ValueError("Invalid value for argument `class_aggregation`. Expected one of "
                             "(None, 'uniform_average', 'variance_weighted_average'). "
                             f"Received: class_aggregation={class_aggregation}")
        if isinstance(num_regressors, bool) or not isinstance(num_regressors, (int, np.integer)):
            raise TypeError("Argument `num_regressors` must be an int. Received: "
                            f"num_regressors={num_regressors!r}")
        if num_regressors < 0:
            raise ValueError("Invalid value for argument `num_regressors`. Expected a value "
                             f">= 0. Received: num_regressors={num_regressors}")
        self.class_aggregation = class_aggregation
        self.num_regressors = num_regressors
        self.num_samples = self.add_variable((), "zeros", name="num_samples")
        self._built = False

    def _build(self, true_shape, pred_shape):
        if len(pred_shape) != 2 or len(true_shape) != 2:
            raise ValueError("R2Score expects 2D inputs with shape (batch_size, output_dim). "
                             f"Received input shapes: y_pred.shape={pred_shape} and "
                             f"y_true.shape={true_shape}.")
        for name in ("squared_sum", "sum", "residual", "count"):
            setattr(self, "_" + name, self.add_variable((pred_shape[-1],), "zeros", name=name))
        self._built = True

    def update_state(self, y_true, y_pred, sample_weight=None):
        """Adds the (weighted) sums of a batch."""
        y_true, y_pred = _squeeze_or_expand(_np(y_true).astype(np.float64),
                                            _np(y_pred).astype(np.float64))
        if not self._built:
            self._build(y_true.shape, y_pred.shape)
        w = np.ones(()) if sample_weight is None else _np(sample_weight).astype(np.float64)
        if w.ndim == 1:
            w = w[:, None]
        w = np.broadcast_to(w, y_true.shape)
        for var, delta in ((self._sum, np.sum(y_true * w, 0)),
                           (self._squared_sum, np.sum(y_true * y_true * w, 0)),
                           (self._residual, np.sum((y_true - y_pred) ** 2 * w, 0)),
                           (self._count, np.sum(w, 0))):
            var.assign((var.value + delta).astype(var.dtype))
        _add(self.num_samples, y_true.size)

    def result(self):
        """Returns R² (or the adjusted R²) so far."""
        if not self._built:
            return np.zeros((), dtype=self.dtype)
        s, sq, res, count = (v.value.astype(np.float64) for v in (
            self._sum, self._squared_sum, self._residual, self._count))
        with np.errstate(divide="ignore", invalid="ignore"):
            mean = s / count
            total = sq - s * mean
            raw = 1 - res / total
        raw = np.where(np.isinf(raw), 0.0, raw)
        if self.class_aggregation == "uniform_average":
            score = np.mean(raw)
        elif self.class_aggregation == "variance_weighted_average":
            score = np.sum(total * raw) / np.sum(total)
        else:
            score = raw
        n, p = float(_read(self.num_samples)), self.num_regressors
        if p:
            if p > n - 1:
                warnings.warn("More independent predictors than datapoints in adjusted R2 "
                              "score. Falling back to standard R2 score.", stacklevel=2)
            elif p == n - 1:
                warnings.warn("Division by zero in Adjusted R2 score. Falling back to "
                              "standard R2 score.", stacklevel=2)
            else:
                score = 1 - (1 - score) * (n - 1) / (n - p - 1)
        return np.asarray(score, dtype=self.dtype)

    def reset_state(self):
        """Zeroes the sums."""
        super().reset_state()

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype,
                "class_aggregation": self.class_aggregation,
                "num_regressors": self.num_regressors}


class _IoUBase(Metric):
    _direction = "up"

    def __init__(self, num_classes, name=None, dtype=None, ignore_class=None,
                 sparse_y_true=True, sparse_y_pred=True, axis=-1):
        super().__init__(dtype=dtype or "int32", name=name)
        if isinstance(num_classes, bool) or not isinstance(num_classes, (int, np.integer)) \
                or num_classes < 1:
            raise ValueError("Argument `num_classes` must be a positive int. Received: "
                             f"num_classes={num_classes!r}")
        self.num_classes = int(num_classes)
        self.ignore_class = ignore_class
        self.sparse_y_true = sparse_y_true
        self.sparse_y_pred = sparse_y_pred
        self.axis = axis
        self.total_cm = self.add_variable((num_classes, num_classes), "zeros",
                                          name="total_confusion_matrix")

    def update_state(self, y_true, y_pred, sample_weight=None):
        """Adds the (weighted) confusion matrix of a batch (rows: labels, columns:
        predictions); pairs outside `[0, num_classes)` or labelled `ignore_class` are left
        out."""
        sample_weight = _fold_mask(y_pred, sample_weight)
        y_true, y_pred = _np(y_true), _np(y_pred)
        if not self.sparse_y_true:
            y_true = np.argmax(y_true, axis=self.axis)
        if not self.sparse_y_pred:
            y_pred = np.argmax(y_pred, axis=self.axis)
        dt = np.dtype(self.dtype)
        y_true = y_true.astype(dt).reshape(-1)
        y_pred = y_pred.astype(dt).reshape(-1)
        if sample_weight is None:
            w = np.ones(y_true.shape, dt)
        else:
            sw = _np(sample_weight)
            if sw.dtype.kind == "f" and dt.kind in "iu":
                warnings.warn("You are passing weight as `float`, but dtype is `int`. This may "
                              "result in an incorrect weight due to type casting Consider "
                              "using integer weights.")
            w = np.broadcast_to(sw.astype(dt).reshape(-1) if sw.ndim > 1 else sw.astype(dt),
                                y_true.shape)
        n = self.num_classes
        valid = (y_true >= 0) & (y_true < n) & (y_pred >= 0) & (y_pred < n)
        if self.ignore_class is not None:
            valid &= y_true != self.ignore_class
        cm = np.zeros((n, n), dtype=np.float64)
        np.add.at(cm, (y_true[valid].astype(np.int64), y_pred[valid].astype(np.int64)),
                  w[valid].astype(np.float64))
        self.total_cm.assign((self.total_cm.value + cm).astype(self.total_cm.dtype))

    def _ious(self, class_ids):
        cm = self.total_cm.value.astype(np.float64)
        tp = np.diag(cm)
        denominator = cm.sum(0) + cm.sum(1) - tp
        tp, denominator = tp[class_ids], denominator[class_ids]
        valid = denominator > 1e-9
        iou = np.where(valid, tp / (denominator + _losses.EPSILON), 0.0)
        return np.asarray(np.sum(iou) / (np.sum(valid) + _losses.EPSILON), dtype="float32")

    def reset_state(self):
        """Zeroes the confusion matrix."""
        super().reset_state()


class IoU(_IoUBase):
    """Computes the Intersection-over-Union of chosen classes, averaged.

    A confusion matrix is accumulated over all batches (weighted by `sample_weight`); for
    each class `c` in `target_class_ids`, `IoU_c = TP / (TP + FP + FN)`, and the result is
    the mean over the target classes present (a class with no label and no prediction is
    left out). As in Keras, the matrix has the metric's dtype (`"int32"` by default), so
    float weights are truncated: pass `dtype="float32"` for fractional weights.

    Args:
        num_classes: Int, the number of classes.
        target_class_ids: List of class ids whose IoU is averaged.
        name: Optional name. Defaults to `"io_u"`, made unique (`"io_u_1"`, ...).
        dtype: Optional dtype of the confusion matrix. Defaults to `"int32"`.
        ignore_class: Optional int, a label left out (e.g. a void class).
        sparse_y_true: Bool, whether labels are integers (else their argmax along `axis`
            is taken). Defaults to `True`.
        sparse_y_pred: Bool, whether predictions are integers (else argmax). Defaults to
            `True`.
        axis: Int, the class axis for the argmax. Defaults to -1.

    Call arguments (`update_state` and `__call__`):
        y_true: The labels.
        y_pred: The predicted classes (or scores with `sparse_y_pred=False`).
        sample_weight: Optional weights, one per label.

    Raises:
        ValueError: If a target class id is out of range.

    Example:

    >>> import rnnkit as keras
    >>> metric = keras.metrics.IoU(num_classes=2, target_class_ids=[0])
    >>> float(metric([0, 0, 1, 1], [0, 1, 0, 1]))
    0.333333...
    """

    def __init__(self, num_classes, target_class_ids, name=None, dtype=None,
                 ignore_class=None, sparse_y_true=True, sparse_y_pred=True, axis=-1):
        super().__init__(num_classes, name=name, dtype=dtype, ignore_class=ignore_class,
                         sparse_y_true=sparse_y_true, sparse_y_pred=sparse_y_pred, axis=axis)
        target_class_ids = list(target_class_ids)
        if not target_class_ids or max(target_class_ids) >= num_classes or \
                min(target_class_ids) < 0:
            raise ValueError(f"Target class id {target_class_ids} is out of range, which is "
                             f"[0, {num_classes}).")
        self.target_class_ids = target_class_ids

    def result(self):
        """Returns the mean IoU of the target classes so far."""
        return self._ious(self.target_class_ids)

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype, "num_classes": self.num_classes,
                "target_class_ids": self.target_class_ids, "ignore_class": self.ignore_class,
                "sparse_y_true": self.sparse_y_true, "sparse_y_pred": self.sparse_y_pred,
                "axis": self.axis}


class BinaryIoU(IoU):
    """Computes the IoU of binary predictions thresholded at `threshold`.

    Predictions `>= threshold` are class 1, the others class 0; then `IoU` with two classes.

    Args:
        target_class_ids: Class ids averaged, from `(0, 1)`. Defaults to `(0, 1)`.
        threshold: Float, the decision threshold. Defaults to 0.5.
        name: Optional name. Defaults to `"binary_io_u"`, made unique (`"binary_io_u_1"`, ...).
        dtype: Optional dtype of the confusion matrix. Defaults to `"int32"`.

    Call arguments (`update_state` and `__call__`):
        y_true: Binary labels.
        y_pred: Scores.
        sample_weight: Optional weights.

    Example:

    >>> import rnnkit as keras
    >>> metric = keras.metrics.BinaryIoU(target_class_ids=[0, 1], threshold=0.3)
    >>> float(metric([0, 1, 0, 1], [0.1, 0.2, 0.4, 0.7]))
    0.333333...
    """

    def __init__(self, target_class_ids=(0, 1), threshold=0.5, name=None, dtype=None):
        super().__init__(2, target_class_ids, name=name, dtype=dtype)
        self.threshold = threshold

    def update_state(self, y_true, y_pred, sample_weight=None):
        """Thresholds the predictions, then adds the batch to the confusion matrix."""
        sample_weight = _fold_mask(y_pred, sample_weight)
        y_pred = (_np(y_pred).astype(np.float32) >= self.threshold).astype(np.int64)
        return super().update_state(y_true, y_pred, sample_weight)

    def get_config(self):
        return {"target_class_ids": self.target_class_ids, "threshold": self.threshold,
                "name": self.name, "dtype": self.dtype}


class MeanIoU(IoU):
    """Computes the mean Intersection-over-Union over all classes (see `IoU`).

    Args:
        num_classes: Int, the number of classes.
        name: Optional name. Defaults to `"mean_io_u"`, made unique (`"mean_io_u_1"`, ...).
        dtype: Optional dtype of the confusion matrix. Defaults to `"int32"`.
        ignore_class: Optional int, a label left out.
        sparse_y_true: Bool, whether labels are integers. Defaults to `True`.
        sparse_y_pred: Bool, whether predictions are integers. Defaults to `True`.
        axis: Int, the class axis for the argmax. Defaults to -1.

    Call arguments (`update_state` and `__call__`):
        y_true: The labels.
        y_pred: The predicted classes.
        sample_weight: Optional weights.

    Example:

    >>> import rnnkit as keras
    >>> float(keras.metrics.MeanIoU(num_classes=2)([0, 0, 1, 1], [0, 1, 0, 1]))
    0.333333...
    """

    def __init__(self, num_classes, name=None, dtype=None, ignore_class=None,
                 sparse_y_true=True, sparse_y_pred=True, axis=-1):
        super().__init__(num_classes, list(range(num_classes)), name=name, dtype=dtype,
                         ignore_class=ignore_class, sparse_y_true=sparse_y_true,
                         sparse_y_pred=sparse_y_pred, axis=axis)

    def get_config(self):
        config = super().get_config()
        del config["target_class_ids"]
        return config


class OneHotIoU(IoU):
    """Computes the IoU of chosen classes for one-hot labels and class scores.

    The labels and the predictions are turned into class ids by their argmax along `axis`,
    then `IoU` applies.

    Args:
        num_classes: Int, the number of classes.
        target_class_ids: List of class ids whose IoU is averaged.
        name: Optional name. Defaults to `"one_hot_io_u"`, made unique (`"one_hot_io_u_1"`, ...).
        dtype: Optional dtype of the confusion matrix. Defaults to `"int32"`.
        ignore_class: Optional int, a class left out.
        sparse_y_pred: Bool, whether predictions are already class ids. Defaults to
            `False`.
        axis: Int, the class axis. Defaults to -1.

    Call arguments (`update_state` and `__call__`):
        y_true: One-hot labels.
        y_pred: Class scores.
        sample_weight: Optional weights, one per sample.
    """

    def __init__(self, num_classes, target_class_ids, name=None, dtype=None,
                 ignore_class=None, sparse_y_pred=False, axis=-1):
        super().__init__(num_classes, target_class_ids, name=name, dtype=dtype,
                         ignore_class=ignore_class, sparse_y_true=False,
                         sparse_y_pred=sparse_y_pred, axis=axis)

    def get_config(self):
        config = super().get_config()
        del config["sparse_y_true"]
        return config


class OneHotMeanIoU(MeanIoU):
    """Computes the mean IoU over all classes for one-hot labels and class scores.

    Args:
        num_classes: Int, the number of classes.
        name: Optional name. Defaults to `"one_hot_mean_io_u"`, made unique.
        dtype: Optional dtype of the confusion matrix. Defaults to `"int32"`.
        ignore_class: Optional int, a class left out.
        sparse_y_pred: Bool, whether predictions are already class ids. Defaults to
            `False`.
        axis: Int, the class axis. Defaults to -1.

    Call arguments (`update_state` and `__call__`):
        y_true: One-hot labels.
        y_pred: Class scores.
        sample_weight: Optional weights, one per sample.
    """

    def __init__(self, num_classes, name=None, dtype=None, ignore_class=None,
                 sparse_y_pred=False, axis=-1):
        super().__init__(num_classes, name=name, dtype=dtype, ignore_class=ignore_class,
                         sparse_y_true=False, sparse_y_pred=sparse_y_pred, axis=axis)

    def get_config(self):
        config = super().get_config()
        del config["sparse_y_true"]
        return config


# ------------------------------------------------------------------------------------------------
# "accuracy" resolution
# ------------------------------------------------------------------------------------------------

def _last_dim(shape):
    return shape[-1] if len(shape) else None


def resolve_accuracy(name, y_true_shape, y_pred_shape, dtype=None):
    """Returns the accuracy metric that `"accuracy"` / `"acc"` means for these shapes.

    Keras 3's rule:

    1. `y_pred_shape[-1] == 1`: `BinaryAccuracy`;
    2. else `len(y_true_shape) < len(y_pred_shape)`, or `y_true_shape[-1] == 1` with
       `y_pred_shape[-1] > 1`: `SparseCategoricalAccuracy`;
    3. else `CategoricalAccuracy`.

    Args:
        name: The name of the returned metric (the string the user wrote).
        y_true_shape: The targets' shape (a tuple, `None` for unknown sizes) or an array.
        y_pred_shape: The predictions' shape or an array.
        dtype: Optional dtype of the metric.

    Returns:
        A new metric instance.

    Example:

    >>> import rnnkit as keras
    >>> keras.metrics.resolve_accuracy("acc", (32,), (32, 10))
    <SparseCategoricalAccuracy name=acc>
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
    """An accuracy metric whose kind is chosen from the shapes of the first batch.

    This is what `get("accuracy")` / `get("acc")` returns. `marker.resolve(y_true_shape,
    y_pred_shape)` returns the concrete metric (see `resolve_accuracy`), named as the user
    wrote it. Used directly, the marker resolves itself on its first `update_state` and
    then delegates to that metric.

    Args:
        name: The name, as the user wrote it. Defaults to `"accuracy"`.
        dtype: Optional dtype of the accumulators. Defaults to float32.

    Example:

    >>> import rnnkit as keras
    >>> marker = keras.metrics.get("acc")
    >>> marker([[1], [0]], [[0.8], [0.9]])
    array(0.5, dtype=float32)
    >>> marker.resolved
    <BinaryAccuracy name=acc>
    """

    def __init__(self, name="accuracy", dtype=None):
        super().__init__(dtype=dtype, name=name)
        self._resolved = None

    def resolve(self, y_true_shape, y_pred_shape):
        """Returns a new concrete accuracy metric for these shapes (see `resolve_accuracy`)."""
        return resolve_accuracy(self.name, y_true_shape, y_pred_shape, dtype=self.dtype)

    @property
    def resolved(self):
        """The concrete metric once resolved (by the first update), else None."""
        return self._resolved

    @property
    def variables(self):
        """The resolved metric's variables (none before the first update)."""
        return [] if self._resolved is None else self._resolved.variables

    def update_state(self, y_true, y_pred, sample_weight=None, **kwargs):
        """Resolves the metric on the first call, then updates it with the batch."""
        if self._resolved is None:
            self._resolved = self.resolve(np.shape(_np(y_true)), np.shape(_np(y_pred)))
        self._resolved.name = self.name
        return self._resolved.update_state(y_true, y_pred, sample_weight=sample_weight,
                                           **kwargs)

    def result(self):
        """Returns the resolved metric's result (0 before the first update)."""
        if self._resolved is None:
            return np.zeros((), dtype=self.dtype)
        return self._resolved.result()

    def reset_state(self):
        """Resets the resolved metric, if any (the kind chosen stays)."""
        if self._resolved is not None:
            self._resolved.reset_state()


# ------------------------------------------------------------------------------------------------
# Lookup and (de)serialization
# ------------------------------------------------------------------------------------------------

_ALL_CLASSES = (Metric, Mean, Sum, MeanMetricWrapper, Accuracy, BinaryAccuracy,
                CategoricalAccuracy, SparseCategoricalAccuracy, MeanSquaredError,
                MeanAbsoluteError, RootMeanSquaredError, BinaryCrossentropy,
                CategoricalCrossentropy, SparseCategoricalCrossentropy, AccuracyMarker,
                MeanAbsolutePercentageError, MeanSquaredLogarithmicError, CosineSimilarity,
                LogCoshError, KLDivergence, Poisson, Hinge, SquaredHinge, CategoricalHinge,
                TopKCategoricalAccuracy, SparseTopKCategoricalAccuracy, TruePositives,
                FalsePositives, TrueNegatives, FalseNegatives, Precision, Recall,
                SensitivityAtSpecificity, SpecificityAtSensitivity, PrecisionAtRecall,
                RecallAtPrecision, AUC, FBetaScore, F1Score, R2Score, IoU, BinaryIoU, MeanIoU,
                OneHotIoU, OneHotMeanIoU, PearsonCorrelation, ConcordanceCorrelation)

ALL_FUNCTIONS_DICT = {fn.__name__: fn for fn in (
    accuracy, binary_accuracy, categorical_accuracy, sparse_categorical_accuracy,
    mean_squared_error, mean_absolute_error, huber, binary_crossentropy,
    categorical_crossentropy, sparse_categorical_crossentropy, top_k_categorical_accuracy,
    sparse_top_k_categorical_accuracy, kl_divergence, poisson, hinge, squared_hinge,
    categorical_hinge, log_cosh, mean_absolute_percentage_error,
    mean_squared_logarithmic_error, binary_focal_crossentropy,
    categorical_focal_crossentropy, pearson_correlation, concordance_correlation)}

ALL_OBJECTS_DICT = {cls.__name__: cls for cls in _ALL_CLASSES}
ALL_OBJECTS_DICT.update({_losses._to_snake_case(cls.__name__): cls for cls in _ALL_CLASSES})
ALL_OBJECTS_DICT.update({
    "bce": BinaryCrossentropy, "BCE": BinaryCrossentropy,
    "mse": MeanSquaredError, "MSE": MeanSquaredError,
    "mae": MeanAbsoluteError, "MAE": MeanAbsoluteError,
    "mape": MeanAbsolutePercentageError, "MAPE": MeanAbsolutePercentageError,
    "msle": MeanSquaredLogarithmicError, "MSLE": MeanSquaredLogarithmicError,
    "logcosh": LogCoshError, "log_cosh": LogCoshError, "kld": KLDivergence,
    "KLD": KLDivergence, "auc": AUC, "AUC": AUC, "iou": IoU, "mean_iou": MeanIoU,
    "binary_iou": BinaryIoU, "one_hot_iou": OneHotIoU, "one_hot_mean_iou": OneHotMeanIoU,
    "f1_score": F1Score, "fbeta_score": FBetaScore,
})


def serialize(metric):
    """Serializes a metric for saving.

    Args:
        metric: A `Metric` instance or a metric function.

    Returns:
        A config dict for an instance, or the name of a built-in function.
    """
    return _saving.serialize(metric)


def deserialize(config, custom_objects=None):
    """Returns a metric from its serialized form.

    Args:
        config: A config dict from `serialize()`, or a name.
        custom_objects: Optional dict mapping names to custom metrics.

    Returns:
        A `Metric` instance (or a function, for a function's name).
    """
    return _saving.deserialize(config, custom_objects=custom_objects,
                               module_objects={**ALL_FUNCTIONS_DICT, **ALL_OBJECTS_DICT})


def _is_accuracy_name(identifier):
    return isinstance(identifier, str) and identifier.lower() in ("accuracy", "acc")


def get(identifier):
    """Returns a metric from an identifier.

    Class names and their snake_case (`"binary_accuracy"`, `"mean_squared_error"`, ...)
    and the aliases `"mse"`, `"mae"`, `"bce"` give an instance with the default arguments;
    `"accuracy"` / `"acc"` (any case) give an `AccuracyMarker` named as written; a config
    dict is deserialized; functions and `Metric` instances are returned as they are.

    Args:
        identifier: A name, a config dict, a `Metric`, a function, or `None`.

    Returns:
        The metric, or `None` for `None`.

    Raises:
        ValueError: If the identifier cannot be interpreted.

    Example:

    >>> import rnnkit as keras
    >>> keras.metrics.get("mae")
    <MeanAbsoluteError name=mean_absolute_error>
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
    """Returns a ready `Metric` for one entry of `compile(metrics=[...])`.

    `"accuracy"` / `"acc"` are resolved from the shapes (an `AccuracyMarker` when they are
    not given); other identifiers go through `get()`. A string identifier names the metric
    (`"mse"` stays `"mse"`); a function is wrapped in `MeanMetricWrapper` and named after
    it.

    Args:
        identifier: What the user passed: a name, a function, a `Metric` or a config.
        y_true_shape: Optional shape of the targets.
        y_pred_shape: Optional shape of the predictions.

    Returns:
        A `Metric`, or `None` for `None`.

    Example:

    >>> import rnnkit as keras
    >>> keras.metrics.get_metric("mse")
    <MeanSquaredError name=mse>
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
