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
        return np.array(_read(self.total))


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
        _add(self.count, np.asarray(num_samples, dtype=self.dtype))

    def result(self):
        """Returns the mean so far (0 before any update)."""
        count = _read(self.count)
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
    y_pred = (y_pred > np.asarray(threshold, dtype=y_pred.dtype)).astype(y_true.dtype)
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
