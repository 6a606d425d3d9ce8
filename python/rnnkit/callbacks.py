"""Callbacks (`keras.callbacks`): hooks into `fit`, `evaluate` and `predict`.

The protocol is Keras 3's. A training loop wraps the user's callbacks in a `CallbackList`, which
dispatches every hook to each of them in order::

    callbacks = CallbackList(user_callbacks, add_history=True, add_progbar=verbose != 0,
                             model=model, verbose=verbose, epochs=epochs, steps=steps_per_epoch)
    model.stop_training = False
    callbacks.on_train_begin()
    for epoch in range(initial_epoch, epochs):
        callbacks.on_epoch_begin(epoch)
        for step, batch in enumerate(batches):
            callbacks.on_train_batch_begin(step)
            logs = ...                          # running epoch averages: {"loss": ..., ...}
            callbacks.on_train_batch_end(step, logs)
            if model.stop_training: break
        epoch_logs = dict(logs)                 # plus "val_..." keys after validation
        callbacks.on_epoch_end(epoch, epoch_logs)
        if model.stop_training: break
    callbacks.on_train_end(epoch_logs)
    return callbacks.history                    # the History (also `model.history`)

`evaluate` and `predict` use `on_test_*` / `on_predict_*` the same way, with
`CallbackList(callbacks, add_progbar=verbose != 0, model=model, verbose=verbose, epochs=1,
steps=n_batches)`. The validation run inside `fit` should be given the fit's own `CallbackList`
(its `ProgbarLogger` stays silent during validation, as in Keras).
"""

from __future__ import annotations

import inspect
import os
import warnings

import numpy as np

from rnnkit.distribution import _state as _distribution
from rnnkit.progbar import Progbar, _write

__all__ = [
    "CSVLogger",
    "Callback",
    "CallbackList",
    "EarlyStopping",
    "History",
    "LambdaCallback",
    "LearningRateScheduler",
    "ModelCheckpoint",
    "ProgbarLogger",
    "ReduceLROnPlateau",
    "TerminateOnNaN",
]


def _print_msg(message):
    _write(str(message) + "\n")


class Callback:
    """The base class of callbacks: hooks that `fit`, `evaluate` and `predict` call.

    Subclass it and override the hooks you need; pass instances in the `callbacks` argument
    of `fit`, `evaluate` or `predict`. Every hook receives a `logs` dict (or `None`): in
    `on_train_batch_end` / `on_test_batch_end` it holds the running averages of the loss and
    metrics over the epoch so far (Python floats, keys sorted); in `on_epoch_end` the epoch's
    values, plus the `val_`-prefixed validation values when validation ran. A callback can
    stop training by setting `self.model.stop_training = True`.
    `on_train_batch_begin` / `on_train_batch_end` also call the legacy aliases
    `on_batch_begin` / `on_batch_end`.

    Attributes:
        params: Dict of the run's parameters, e.g. `{"verbose": 1, "epochs": 3, "steps": 4}`.
        model: The model being trained, evaluated or used for prediction.

    Example:

    >>> import rnnkit as keras
    >>> class PrintLoss(keras.callbacks.Callback):
    ...     def on_epoch_end(self, epoch, logs=None):
    ...         print(f"epoch {epoch}: loss {logs['loss']:.2f}")
    >>> PrintLoss().on_epoch_end(0, {"loss": 0.25})
    epoch 0: loss 0.25
    """

    def __init__(self):
        self.params = None
        self._model = None

    def set_params(self, params):
        """Stores the run's parameters in `params` (called by the training loop)."""
        self.params = params

    def set_model(self, model):
        """Sets `model` (called by the training loop)."""
        self._model = model

    @property
    def model(self):
        """The model the callback is attached to (`None` before `set_model`)."""
        return self._model

    @model.setter
    def model(self, model):
        self._model = model

    def on_batch_begin(self, batch, logs=None):
        """Legacy alias of `on_train_batch_begin`, called by it.

        Args:
            batch: Int, the index of the batch within the epoch.
            logs: Dict (empty at present), or `None`.
        """

    def on_batch_end(self, batch, logs=None):
        """Legacy alias of `on_train_batch_end`, called by it.

        Args:
            batch: Int, the index of the batch within the epoch.
            logs: Dict of the running loss and metric values of the epoch.
        """

    def on_epoch_begin(self, epoch, logs=None):
        """Called at the start of an epoch of `fit`.

        Args:
            epoch: Int, the index of the epoch (0-based).
            logs: Dict (empty at present), or `None`.
        """

    def on_epoch_end(self, epoch, logs=None):
        """Called at the end of an epoch of `fit`.

        Args:
            epoch: Int, the index of the epoch (0-based).
            logs: Dict of the epoch's loss and metric values, with the `val_` ones when
                validation ran. Callbacks may add keys (e.g. `"learning_rate"`); the
                `History` records what is there when its turn comes.
        """

    def on_train_batch_begin(self, batch, logs=None):
        """Called before a training batch; calls `on_batch_begin`.

        Args:
            batch: Int, the index of the batch within the epoch.
            logs: Dict (empty at present), or `None`.
        """
        self.on_batch_begin(batch, logs=logs)

    def on_train_batch_end(self, batch, logs=None):
        """Called after a training batch; calls `on_batch_end`.

        Args:
            batch: Int, the index of the batch within the epoch.
            logs: Dict of the running loss and metric values of the epoch.
        """
        self.on_batch_end(batch, logs=logs)

    def on_test_batch_begin(self, batch, logs=None):
        """Called before a batch of `evaluate` (or of the validation inside `fit`).

        Args:
            batch: Int, the index of the batch.
            logs: Dict (empty at present), or `None`.
        """

    def on_test_batch_end(self, batch, logs=None):
        """Called after a batch of `evaluate` (or of the validation inside `fit`).

        Args:
            batch: Int, the index of the batch.
            logs: Dict of the running loss and metric values.
        """

    def on_predict_batch_begin(self, batch, logs=None):
        """Called before a batch of `predict`.

        Args:
            batch: Int, the index of the batch.
            logs: Dict (empty at present), or `None`.
        """

    def on_predict_batch_end(self, batch, logs=None):
        """Called after a batch of `predict`.

        Args:
            batch: Int, the index of the batch.
            logs: Dict with the batch's predictions under `"outputs"`.
        """

    def on_train_begin(self, logs=None):
        """Called at the start of `fit`.

        Args:
            logs: Dict (empty at present), or `None`.
        """

    def on_train_end(self, logs=None):
        """Called at the end of `fit`.

        Args:
            logs: Dict of the last epoch's values.
        """

    def on_test_begin(self, logs=None):
        """Called at the start of `evaluate` (or of the validation inside `fit`).

        Args:
            logs: Dict (empty at present), or `None`.
        """

    def on_test_end(self, logs=None):
        """Called at the end of `evaluate` (or of the validation inside `fit`).

        Args:
            logs: Dict of the final loss and metric values.
        """

    def on_predict_begin(self, logs=None):
        """Called at the start of `predict`.

        Args:
            logs: Dict (empty at present), or `None`.
        """

    def on_predict_end(self, logs=None):
        """Called at the end of `predict`.

        Args:
            logs: Dict (empty at present), or `None`.
        """


def _flatten(callbacks):
    if callbacks is None:
        return []
    if isinstance(callbacks, (list, tuple)):
        out = []
        for item in callbacks:
            out.extend(_flatten(item))
        return out
    return [callbacks]


def _pythonify_logs(logs):
    """Batch logs as Keras hands them to the callbacks: keys sorted, nested dicts merged,
    scalars (NumPy scalars, 0-d arrays, tensors) converted to Python floats."""
    result = {}
    for key, value in sorted(logs.items()):
        if isinstance(value, dict):
            result.update(_pythonify_logs(value))
        else:
            try:
                value = float(value)
            except (TypeError, ValueError):
                pass
            result[key] = value
    return result


class CallbackList(Callback):
    """Dispatches every hook to a list of callbacks, in order.

    Training loops wrap the user's callbacks in one (see the module docstring for the
    protocol).

    Args:
        callbacks: A list (possibly nested) of `Callback` instances, or `None`.
        add_history: Bool, add a `History` unless the list already has one. Defaults to
            `False`.
        add_progbar: Bool, add a `ProgbarLogger` unless the list already has one. Defaults
            to `False`.
        model: Optional model, given to every callback with `set_model` (and
            `model.history` is set to the `History`).
        **params: Given to every callback with `set_params` (a training loop passes
            `verbose`, `epochs` and `steps`).

    The batch-end logs reach the callbacks as Keras passes them: a new dict with the keys
    sorted and the values converted to Python floats. Other hooks receive the `logs` dict
    itself (so a callback such as `LearningRateScheduler` can add a key in `on_epoch_end` that
    the `History` added after it records).
    """

    def __init__(self, callbacks=None, add_history=False, add_progbar=False, model=None,
                 **params):
        super().__init__()
        self.callbacks = _flatten(callbacks)
        self._add_default_callbacks(add_history, add_progbar)
        if _distribution.current is not None:   # rank 0 alone shows progress, writes files
            from rnnkit.distribution import _training
            self.callbacks = _training.callbacks_for_rank(self.callbacks)
        self.set_model(model)
        self.set_params(params)

    def _add_default_callbacks(self, add_history, add_progbar):
        self._history = None
        self._progbar = None
        for cb in self.callbacks:
            if isinstance(cb, ProgbarLogger):
                self._progbar = cb
            elif isinstance(cb, History):
                self._history = cb
        if self._history is None and add_history:
            self._history = History()
            self.callbacks.append(self._history)
        if self._progbar is None and add_progbar:
            self._progbar = ProgbarLogger()
            self.callbacks.append(self._progbar)

    @property
    def history(self):
        """The `History` callback in the list (None if there is none)."""
        return self._history

    def append(self, callback):
        """Adds a callback at the end of the list; it gets the list's model and params.

        Args:
            callback: A `Callback`.
        """
        self.callbacks.append(callback)
        if self._model is not None:
            callback.set_model(self._model)
        if self.params:
            callback.set_params(self.params)
        if isinstance(callback, History) and self._history is None:
            self._history = callback
            if self._model is not None:
                self._model.history = callback
        elif isinstance(callback, ProgbarLogger) and self._progbar is None:
            self._progbar = callback

    def __iter__(self):
        return iter(self.callbacks)

    def __len__(self):
        return len(self.callbacks)

    def set_params(self, params):
        self.params = params
        if params:
            for cb in self.callbacks:
                cb.set_params(params)

    def set_model(self, model):
        if model is None:
            return
        super().set_model(model)
        if self._history is not None:
            model.history = self._history
        for cb in self.callbacks:
            cb.set_model(model)

    # -- dispatch ---------------------------------------------------------------------------

    def _call(self, hook, *args, logs=None):
        # As in Keras: batch hooks get `logs=` by keyword, the others positionally.
        logs = logs or {}
        if "batch_" in hook:
            for cb in self.callbacks:
                getattr(cb, hook)(*args, logs=logs)
        else:
            for cb in self.callbacks:
                getattr(cb, hook)(*args, logs)

    def on_batch_begin(self, batch, logs=None):
        self._call("on_batch_begin", batch, logs=logs)

    def on_batch_end(self, batch, logs=None):
        self._call("on_batch_end", batch, logs=_pythonify_logs(logs or {}))

    def on_epoch_begin(self, epoch, logs=None):
        self._call("on_epoch_begin", epoch, logs=logs)

    def on_epoch_end(self, epoch, logs=None):
        self._call("on_epoch_end", epoch, logs=logs)

    def on_train_batch_begin(self, batch, logs=None):
        self._call("on_train_batch_begin", batch, logs=logs)

    def on_train_batch_end(self, batch, logs=None):
        self._call("on_train_batch_end", batch, logs=_pythonify_logs(logs or {}))

    def on_test_batch_begin(self, batch, logs=None):
        self._call("on_test_batch_begin", batch, logs=logs)

    def on_test_batch_end(self, batch, logs=None):
        self._call("on_test_batch_end", batch, logs=_pythonify_logs(logs or {}))

    def on_predict_batch_begin(self, batch, logs=None):
        self._call("on_predict_batch_begin", batch, logs=logs)

    def on_predict_batch_end(self, batch, logs=None):
        # Prediction outputs are passed through untouched.
        self._call("on_predict_batch_end", batch, logs=logs)

    def on_train_begin(self, logs=None):
        self._call("on_train_begin", logs=logs)

    def on_train_end(self, logs=None):
        self._call("on_train_end", logs=logs)

    def on_test_begin(self, logs=None):
        self._call("on_test_begin", logs=logs)

    def on_test_end(self, logs=None):
        self._call("on_test_end", logs=logs)

    def on_predict_begin(self, logs=None):
        self._call("on_predict_begin", logs=logs)

    def on_predict_end(self, logs=None):
        self._call("on_predict_end", logs=logs)


class History(Callback):
    """Records the logs of every epoch; `fit` returns it.

    `history` maps each logged key (in the order keys first arrive) to its list of
    per-epoch values, `epoch` lists the epoch indices and `params` holds the run's
    parameters. It is also set as `model.history`.

    Example:

    >>> import rnnkit as keras
    >>> history = keras.callbacks.History()
    >>> history.on_train_begin()
    >>> history.on_epoch_end(0, {"loss": 0.5})
    >>> history.on_epoch_end(1, {"loss": 0.25})
    >>> history.history, history.epoch
    ({'loss': [0.5, 0.25]}, [0, 1])
    """

    def __init__(self):
        super().__init__()
        self.history = {}
        self.epoch = []

    def on_train_begin(self, logs=None):
        self.epoch = []

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        self.epoch.append(epoch)
        for key, value in logs.items():
            self.history.setdefault(key, []).append(value)
        if self.model is not None:
            self.model.history = self


class ProgbarLogger(Callback):
    """Prints the progress bar (`rnnkit.utils.Progbar`) of `fit`, `evaluate` and `predict`.

    Reads `verbose` (`"auto"` means 1), `epochs` and `steps` (None if unknown) from the params.
    In `fit` it prints `Epoch e/E` (when `epochs > 1`) and one bar per epoch, updated after
    each training batch with the batch logs and finalised with the epoch logs (so the `val_`
    values appear at the end); the validation inside `fit` prints nothing. `evaluate` and
    `predict` print the bar alone. Values are shown as given, in the order they arrive.
    The training loops add it themselves when `verbose` is not 0.
    """

    def __init__(self):
        super().__init__()
        self.seen = 0
        self.progbar = None
        self.target = None
        self.verbose = 1
        self.epochs = 1
        self._called_in_fit = False

    def set_params(self, params):
        """Reads `verbose`, `epochs` and `steps` from the run's parameters."""
        super().set_params(params)
        params = params or {}
        verbose = params.get("verbose", 1)
        if verbose == "auto":
            verbose = 1
        self.verbose = verbose
        self.epochs = params.get("epochs", 1)
        self.target = params.get("steps")

    def on_train_begin(self, logs=None):
        # Inside fit, the validation run is silent.
        self._called_in_fit = True

    def on_train_end(self, logs=None):
        self._called_in_fit = False

    def on_test_begin(self, logs=None):
        if not self._called_in_fit:
            self._reset_progbar()
            self._maybe_init_progbar()

    def on_predict_begin(self, logs=None):
        self._reset_progbar()
        self._maybe_init_progbar()

    def on_epoch_begin(self, epoch, logs=None):
        self._reset_progbar()
        self._maybe_init_progbar()
        if self.verbose and self.epochs > 1:
            _print_msg(f"Epoch {epoch + 1}/{self.epochs}")

    def on_train_batch_end(self, batch, logs=None):
        self._update_progbar(batch, logs)

    def on_test_batch_end(self, batch, logs=None):
        if not self._called_in_fit:
            self._update_progbar(batch, logs)

    def on_predict_batch_end(self, batch, logs=None):
        self._update_progbar(batch, None)  # the predictions are not displayed

    def on_epoch_end(self, epoch, logs=None):
        self._finalize_progbar(logs)

    def on_test_end(self, logs=None):
        if not self._called_in_fit:
            self._finalize_progbar(logs)

    def on_predict_end(self, logs=None):
        self._finalize_progbar(logs)

    def _reset_progbar(self):
        self.seen = 0
        self.progbar = None

    def _maybe_init_progbar(self):
        if self.progbar is None:
            self.progbar = Progbar(target=self.target, verbose=self.verbose, unit_name="step",
                                   stateless_metrics=set())

    def _update_progbar(self, batch, logs=None):
        logs = logs or {}
        self._maybe_init_progbar()
        self.seen = batch + 1
        if self.verbose == 1:
            self.progbar.update(self.seen, list(logs.items()), finalize=False)

    def _finalize_progbar(self, logs):
        logs = logs or {}
        self._maybe_init_progbar()
        if self.target is None:
            self.target = self.seen
            self.progbar.target = self.target
        self.progbar.update(self.target, list(logs.items()), finalize=True)


# -- monitoring callbacks -------------------------------------------------------------------

def _check_mode(mode, owner):
    if mode not in ("auto", "min", "max"):
        warnings.warn(f"{owner} mode '{mode}' is unknown, fallback to auto mode.", stacklevel=3)
        return "auto"
    return mode


def _metric_direction(model, name):
    """'max' / 'min' from a compiled metric's `_direction` ('up' / 'down'), or None."""
    try:
        metrics = list(getattr(model, "metrics", None) or [])
    except Exception:  # an uncompiled or unbuilt model may refuse
        return None
    flat = []
    for m in metrics:
        children = getattr(m, "metrics", None)
        flat.extend(children if isinstance(children, (list, tuple)) else [m])
    for m in flat:
        if getattr(m, "name", None) == name:
            direction = getattr(m, "_direction", None)
            if direction == "up":
                return "max"
            if direction == "down":
                return "min"
    return None


def _resolve_mode(mode, monitor, model):
    """The direction of improvement: `mode` if 'min'/'max'; for 'auto', 'min' for a loss, the
    metric's own direction if the model knows it, 'max' for names ending in acc / accuracy /
    auc, else 'min'."""
    if mode in ("min", "max"):
        return mode
    name = monitor[len("val_"):] if monitor.startswith("val_") else monitor
    if name == "loss":
        return "min"
    direction = _metric_direction(model, name)
    if direction is not None:
        return direction
    if name.endswith(("acc", "accuracy", "auc")):
        return "max"
    return "min"


def _as_float_or_none(value):
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


class EarlyStopping(Callback):
    """Stops training when a monitored quantity has stopped improving.

    At each epoch end, `logs[monitor]` counts as an improvement when it beats the best
    value so far by more than `min_delta`. After `patience` epochs without improvement
    (never at the first epoch) it sets `model.stop_training = True`. A missing monitor gives
    a warning and that epoch is skipped.

    Args:
        monitor: The logged quantity to watch. Defaults to `"val_loss"`.
        min_delta: Non-negative float, the smallest change that counts as an improvement
            (its absolute value is used). Defaults to 0.
        patience: Int, the number of epochs without improvement after which training stops.
            Defaults to 0.
        verbose: 0 (silent, the default) or 1 (prints a line when stopping or restoring).
        mode: `"min"`, `"max"` or `"auto"` (the default: a loss is minimized;
            accuracy-like names and metrics that say so are maximized). Other values warn
            and mean `"auto"`.
        baseline: Optional value the quantity must beat: the waiting restarts only when an
            improvement also beats it.
        restore_best_weights: Bool, at the end of training put back the weights of the best
            epoch (`model.set_weights`). Defaults to `False`.
        start_from_epoch: Int, epochs before this index are not monitored. Defaults to 0.

    Example:

    >>> import rnnkit as keras
    >>> class Model:
    ...     stop_training = False
    >>> model = Model()
    >>> callback = keras.callbacks.EarlyStopping(monitor="loss", patience=2)
    >>> callback.set_model(model)
    >>> callback.on_train_begin()
    >>> for epoch, loss in enumerate([1.0, 0.8, 0.9, 0.85]):
    ...     callback.on_epoch_end(epoch, {"loss": loss})
    >>> model.stop_training, callback.stopped_epoch, callback.best
    (True, 3, 0.8)
    """

    def __init__(self, monitor="val_loss", min_delta=0, patience=0, verbose=0, mode="auto",
                 baseline=None, restore_best_weights=False, start_from_epoch=0):
        super().__init__()
        self.monitor = monitor
        self.patience = patience
        self.verbose = verbose
        self.baseline = baseline
        self.min_delta = abs(min_delta)
        self.restore_best_weights = restore_best_weights
        self.start_from_epoch = start_from_epoch
        self.mode = _check_mode(mode, "EarlyStopping")
        self.monitor_op = None  # 'min' or 'max', settled at the first epoch end
        self.wait = 0
        self.stopped_epoch = 0
        self.best = None
        self.best_weights = None
        self.best_epoch = 0

    def on_train_begin(self, logs=None):
        # Instances can be reused.
        self.wait = 0
        self.stopped_epoch = 0
        self.best = None
        self.best_weights = None
        self.best_epoch = 0
        if self.mode == "auto":
            self.monitor_op = None

    def _is_improvement(self, value, reference):
        if reference is None:
            return True
        if self.monitor_op == "min":
            return value + self.min_delta < reference
        return value - self.min_delta > reference

    def get_monitor_value(self, logs):
        """Returns `logs[monitor]`, or `None` (with a warning) when it is missing."""
        logs = logs or {}
        value = logs.get(self.monitor)
        if value is None:
            warnings.warn(
                f"Early stopping conditioned on metric `{self.monitor}` which is not "
                f"available. Available metrics are: {','.join(list(logs.keys()))}",
                stacklevel=2)
        return value

    def on_epoch_end(self, epoch, logs=None):
        if self.monitor_op is None:
            self.monitor_op = _resolve_mode(self.mode, self.monitor, self.model)
        if self.best is None:
            self.best = np.inf if self.monitor_op == "min" else -np.inf
        current = self.get_monitor_value(logs)
        if current is None or epoch < self.start_from_epoch:
            return
        if _as_float_or_none(current) is not None:
            current = _as_float_or_none(current)
        if self.restore_best_weights and self.best_weights is None:
            self.best_weights = _copy_weights(self.model.get_weights())
            self.best_epoch = epoch

        self.wait += 1
        if self._is_improvement(current, self.best):
            self.best = current
            self.best_epoch = epoch
            if self.restore_best_weights:
                self.best_weights = _copy_weights(self.model.get_weights())
            # The waiting restarts only when the baseline is beaten too.
            if self.baseline is None or self._is_improvement(current, self.baseline):
                self.wait = 0
            return

        if self.wait >= self.patience and epoch > 0:
            self.stopped_epoch = epoch
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        if self.stopped_epoch > 0 and self.verbose > 0:
            _print_msg(f"Epoch {self.stopped_epoch + 1}: early stopping")
        if self.restore_best_weights and self.best_weights is not None:
            if self.verbose > 0:
                _print_msg("Restoring model weights from the end of the best epoch: "
                           f"{self.best_epoch + 1}.")
            self.model.set_weights(self.best_weights)


def _copy_weights(weights):
    return [np.array(w, copy=True) for w in weights]


def _call_with_overwrite(fn, path):
    """`fn(path, overwrite=True)` when `fn` takes `overwrite` (or **kwargs), else `fn(path)`."""
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        return fn(path)
    takes = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in sig.parameters.values())
    if takes or "overwrite" in sig.parameters:
        return fn(path, overwrite=True)
    return fn(path)


WEIGHTS_SUFFIXES = (".weights.h5", ".weights.npz")
MODEL_SUFFIXES = (".keras",)


class ModelCheckpoint(Callback):
    """Saves the model or its weights during training.

    The model is saved with `model.save(path)`, or the weights with
    `model.save_weights(path)`, at each epoch end or every `save_freq` batches; missing
    directories are created.

    Args:
        filepath: Where to save. It may contain format fields filled with `epoch`
            (1-based) and the epoch logs, e.g. `"model_{epoch:02d}-{val_loss:.2f}.keras"`
            (and `batch`, 1-based, with an integer `save_freq`). It must end in `.keras`
            (Keras 3's format) or `.h5` (legacy HDF5), or with `save_weights_only=True` in
            `.weights.h5` (Keras 3's weights format; `.weights.npz`, rnnkit's old format,
            still works with a `DeprecationWarning`).
        monitor: The logged quantity that decides what is best (with `save_best_only`).
            Defaults to `"val_loss"`.
        verbose: 0 (silent, the default) or 1 (prints a line when saving or skipping).
        save_best_only: Bool, save only when `monitor` improved on the best so far (a
            missing monitor saves anyway, with a warning). Defaults to `False`.
        save_weights_only: Bool, save only the weights. Defaults to `False`.
        mode: `"auto"` (the default), `"min"` or `"max"` (see `EarlyStopping`).
        save_freq: `"epoch"` (the default: at each epoch end) or an int, a number of
            training batches.
        initial_value_threshold: Optional float, the initial best value for
            `save_best_only`.

    Raises:
        ValueError: If `save_freq` is neither `"epoch"` nor an int, or `filepath` has the
            wrong suffix.
        KeyError: (during training) If `filepath` names a field that is not logged.
    """

    _WEIGHTS_SUFFIXES = (".weights.h5", ".weights.npz")
    _MODEL_SUFFIXES = (".keras", ".h5")

    def __init__(self, filepath, monitor="val_loss", verbose=0, save_best_only=False,
                 save_weights_only=False, mode="auto", save_freq="epoch",
                 initial_value_threshold=None):
        super().__init__()
        self.filepath = os.fspath(filepath)
        self.monitor = monitor
        self.verbose = verbose
        self.save_best_only = save_best_only
        self.save_weights_only = save_weights_only
        self.mode = _check_mode(mode, "ModelCheckpoint")
        self.save_freq = save_freq
        self.best = initial_value_threshold
        self.monitor_op = None
        self._current_epoch = 0
        self._batches_seen_since_last_saving = 0
        self._last_batch_seen = 0

        if self.save_freq != "epoch" and (not isinstance(self.save_freq, int)
                                          or isinstance(self.save_freq, bool)):
            raise ValueError(f"Unrecognized save_freq: {self.save_freq}. "
                             "Expected save_freq are 'epoch' or integer values")
        if save_weights_only:
            if not self.filepath.endswith(self._WEIGHTS_SUFFIXES):
                raise ValueError(
                    "When using `save_weights_only=True` in `ModelCheckpoint`, the filepath "
                    "provided must end in `.weights.h5` (Keras 3's weights format; "
                    "`.weights.npz` is rnnkit's old one). "
                    f"Received: filepath={self.filepath}")
        elif not self.filepath.endswith(self._MODEL_SUFFIXES):
            raise ValueError(
                "The filepath provided must end in `.keras` (Keras model format) or `.h5` "
                "(legacy HDF5), or in `.weights.h5` together with `save_weights_only=True`. "
                f"Received: filepath={self.filepath}")

    def _is_improvement(self, value, reference):
        if reference is None:
            return True
        if self.monitor_op == "min":
            return value < reference
        return value > reference

    def on_epoch_begin(self, epoch, logs=None):
        self._current_epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if self._should_save_on_batch(batch):
            self._save_model(epoch=self._current_epoch, batch=batch, logs=logs)

    def on_epoch_end(self, epoch, logs=None):
        if self.save_freq == "epoch":
            self._save_model(epoch=epoch, batch=None, logs=logs)

    def _should_save_on_batch(self, batch):
        if self.save_freq == "epoch":
            return False
        if batch <= self._last_batch_seen:  # a new epoch began
            added = batch + 1
        else:
            added = batch - self._last_batch_seen
        self._batches_seen_since_last_saving += added
        self._last_batch_seen = batch
        if self._batches_seen_since_last_saving >= self.save_freq:
            self._batches_seen_since_last_saving = 0
            return True
        return False

    def _should_save_model(self, epoch, logs, filepath):
        if not self.save_best_only:
            if self.verbose > 0:
                _print_msg(f"\nEpoch {epoch + 1}: saving model to {filepath}")
            return True
        if self.monitor_op is None:
            self.monitor_op = _resolve_mode(self.mode, self.monitor, self.model)
        current = logs.get(self.monitor)
        if current is None:
            warnings.warn(f"Can save best model only with {self.monitor} available.",
                          stacklevel=3)
            return True
        if np.ndim(current) > 0:
            warnings.warn("Can save best model only when `monitor` is a scalar value. "
                          f"Received: {current}. Falling back to `save_best_only=False`.",
                          stacklevel=3)
            return True
        current = float(current)
        best_str = "None" if self.best is None else f"{self.best:.5f}"
        if self._is_improvement(current, self.best):
            if self.verbose > 0:
                _print_msg(f"\nEpoch {epoch + 1}: {self.monitor} improved from {best_str} "
                           f"to {current:.5f}, saving model to {filepath}")
            self.best = current
            return True
        if self.verbose > 0:
            _print_msg(f"\nEpoch {epoch + 1}: {self.monitor} did not improve from {best_str}")
        return False

    def _get_file_path(self, epoch, batch, logs):
        try:
            if batch is None or "batch" in logs:
                return self.filepath.format(epoch=epoch + 1, **logs)
            return self.filepath.format(epoch=epoch + 1, batch=batch + 1, **logs)
        except KeyError as e:
            raise KeyError(f'Failed to format this callback filepath: "{self.filepath}". '
                           f"Reason: {e}") from e

    def _save_model(self, epoch, batch, logs):
        logs = logs or {}
        filepath = self._get_file_path(epoch, batch, logs)
        if not self._should_save_model(epoch, logs, filepath):
            return
        if os.path.isdir(filepath):
            raise IOError("Please specify a non-directory filepath for ModelCheckpoint. "
                          f"Filepath used is an existing directory: {filepath}")
        dirname = os.path.dirname(filepath)
        if dirname:
            os.makedirs(dirname, exist_ok=True)
        if self.save_weights_only:
            _call_with_overwrite(self.model.save_weights, filepath)
        else:
            _call_with_overwrite(self.model.save, filepath)
        if self.verbose > 0:
            _print_msg(f"\nEpoch {epoch + 1}: finished saving model to {filepath}")


def _learning_rate_value(optimizer):
    """The optimizer's current learning rate as a Python float (from a float, a NumPy scalar
    or a one-element Variable / array)."""
    value = np.asarray(optimizer.learning_rate, dtype=np.float64)
    if value.size != 1:
        raise ValueError("Expected the optimizer's learning rate to be a scalar. "
                         f"Received: {optimizer.learning_rate}")
    return float(value.reshape(()))


class LearningRateScheduler(Callback):
    """Sets the optimizer's learning rate at the start of each epoch from a function.

    At each epoch start the learning rate becomes `schedule(epoch, lr)` (epoch 0-based, lr
    the current rate as a float; a one-argument `schedule(epoch)` also works). At each epoch
    end `logs["learning_rate"]` is added.

    Args:
        schedule: A function `(epoch, lr) -> float` (or `epoch -> float`).
        verbose: 0 (silent, the default) or 1 (prints the new rate).

    Raises:
        ValueError: (during training) If `schedule` returns something other than a float,
            or the optimizer has no `learning_rate`.

    Example:

    >>> import rnnkit as keras
    >>> class Model:
    ...     optimizer = keras.optimizers.SGD(learning_rate=0.1)
    >>> callback = keras.callbacks.LearningRateScheduler(lambda epoch, lr: lr * 0.5)
    >>> callback.set_model(Model())
    >>> callback.on_epoch_begin(0)
    >>> round(float(Model.optimizer.learning_rate), 4)
    0.05
    """

    def __init__(self, schedule, verbose=0):
        super().__init__()
        self.schedule = schedule
        self.verbose = verbose

    def _update_optimizer_lr(self, optimizer, epoch):
        if not hasattr(optimizer, "learning_rate"):
            raise ValueError('Optimizer must have a "learning_rate" attribute.')
        current = _learning_rate_value(optimizer)
        try:
            lr = self.schedule(epoch, current)
        except TypeError:  # the old one-argument form
            lr = self.schedule(epoch)
        if not isinstance(lr, (float, np.float32, np.float64)):
            raise ValueError(f"The output of the `schedule` function should be a float. "
                             f"Got: {lr}")
        optimizer.learning_rate = lr
        return lr

    def on_epoch_begin(self, epoch, logs=None):
        optimizer = self.model.optimizer
        if hasattr(optimizer, "optimizers"):
            for idx, opt in enumerate(optimizer.optimizers):
                lr = self._update_optimizer_lr(opt, epoch)
                if self.verbose > 0:
                    _print_msg(f"\nEpoch {epoch + 1}: LearningRateScheduler setting "
                               f"{opt.name}_{idx} learning rate to {lr}.")
        else:
            lr = self._update_optimizer_lr(optimizer, epoch)
            if self.verbose > 0:
                _print_msg(f"\nEpoch {epoch + 1}: LearningRateScheduler setting learning "
                           f"rate to {lr}.")

    def on_epoch_end(self, epoch, logs=None):
        if logs is None:
            return
        optimizer = self.model.optimizer
        if hasattr(optimizer, "optimizers"):
            for idx, opt in enumerate(optimizer.optimizers):
                logs[f"learning_rate_{opt.name}_{idx}"] = _learning_rate_value(opt)
        else:
            logs["learning_rate"] = _learning_rate_value(optimizer)


class ReduceLROnPlateau(Callback):
    """Reduces the learning rate when a monitored quantity has stopped improving.

    After `patience` epochs without an improvement of `monitor` by more than `min_delta`,
    the learning rate is multiplied by `factor` (never below `min_lr`), then the callback
    waits `cooldown` epochs before counting again. `logs["learning_rate"]` is added at each
    epoch end.

    Args:
        monitor: The logged quantity to watch. Defaults to `"val_loss"`.
        factor: Float < 1, the factor of each reduction. Defaults to 0.1.
        patience: Int, epochs without improvement before a reduction. Defaults to 10.
        verbose: 0 (silent, the default) or 1 (prints each reduction).
        mode: `"min"`, `"max"` or `"auto"` (the default: names containing `"acc"` are
            maximized, the rest minimized).
        min_delta: Float, the smallest change that counts as an improvement. Defaults to
            1e-4.
        cooldown: Int, epochs to wait after a reduction. Defaults to 0.
        min_lr: Float, the lower bound of the learning rate. Defaults to 0.
        **kwargs: Accepted and ignored.

    Raises:
        ValueError: If `factor >= 1`.
    """

    def __init__(self, monitor="val_loss", factor=0.1, patience=10, verbose=0, mode="auto",
                 min_delta=1e-4, cooldown=0, min_lr=0.0, **kwargs):
        super().__init__()
        if factor >= 1.0:
            raise ValueError("ReduceLROnPlateau does not support a factor >= 1.0. "
                             f"Received factor={factor}")
        self.monitor = monitor
        self.factor = factor
        self.min_lr = min_lr
        self.min_delta = min_delta
        self.patience = patience
        self.verbose = verbose
        self.cooldown = cooldown
        self.cooldown_counter = 0
        self.wait = 0
        self.best = 0
        self.mode = mode
        self.monitor_op = None
        self._reset()

    def _reset(self):
        if self.mode not in ("auto", "min", "max"):
            warnings.warn(f"Learning rate reduction mode {self.mode} is unknown, fallback to "
                          "auto mode.", stacklevel=2)
            self.mode = "auto"
        if self.mode == "min" or (self.mode == "auto" and "acc" not in self.monitor):
            self.monitor_op = lambda a, b: a < b - self.min_delta
            self.best = np.inf
        else:
            self.monitor_op = lambda a, b: a > b + self.min_delta
            self.best = -np.inf
        self.cooldown_counter = 0
        self.wait = 0

    def on_train_begin(self, logs=None):
        self._reset()

    def in_cooldown(self):
        """Returns whether the callback is waiting after a reduction."""
        return self.cooldown_counter > 0

    def on_epoch_end(self, epoch, logs=None):
        logs = logs if logs is not None else {}
        logs["learning_rate"] = _learning_rate_value(self.model.optimizer)
        current = logs.get(self.monitor)
        if current is None:
            warnings.warn(
                f"Learning rate reduction is conditioned on metric `{self.monitor}` which is "
                f"not available. Available metrics are: {','.join(list(logs.keys()))}.",
                stacklevel=2)
            return
        if self.in_cooldown():
            self.cooldown_counter -= 1
            self.wait = 0
        if self.monitor_op(current, self.best):
            self.best = current
            self.wait = 0
        elif not self.in_cooldown():
            self.wait += 1
            if self.wait >= self.patience:
                old_lr = _learning_rate_value(self.model.optimizer)
                if old_lr > np.float32(self.min_lr):
                    new_lr = max(old_lr * self.factor, self.min_lr)
                    self.model.optimizer.learning_rate = new_lr
                    if self.verbose > 0:
                        _print_msg(f"\nEpoch {epoch + 1}: ReduceLROnPlateau reducing "
                                   f"learning rate to {new_lr}.")
                    self.cooldown_counter = self.cooldown
                    self.wait = 0


class TerminateOnNaN(Callback):
    """Stops training when a batch loss is NaN or infinite.

    It sets `model.stop_training = True` (the epoch ends after that batch) and prints a
    line.

    Args:
        raise_error: Bool, raise a `RuntimeError` instead of stopping. Defaults to `False`.
    """

    def __init__(self, raise_error=False):
        super().__init__()
        self.raise_error = raise_error

    def on_batch_end(self, batch, logs=None):
        logs = logs or {}
        loss = logs.get("loss")
        if loss is None:
            return
        loss = _as_float_or_none(loss)
        if loss is not None and (np.isnan(loss) or np.isinf(loss)):
            if self.raise_error:
                raise RuntimeError(f"NaN or Inf loss encountered at batch {batch}. "
                                   f"Loss value: {loss}. Terminating training immediately.")
            _print_msg(f"Batch {batch}: Invalid loss, terminating training")
            self.model.stop_training = True


class LambdaCallback(Callback):
    """A callback made of plain functions, for simple custom callbacks.

    Args:
        on_epoch_begin: Optional function `(epoch, logs)`.
        on_epoch_end: Optional function `(epoch, logs)`.
        on_train_begin: Optional function `(logs)`.
        on_train_end: Optional function `(logs)`.
        on_train_batch_begin: Optional function `(batch, logs)`.
        on_train_batch_end: Optional function `(batch, logs)`.
        **kwargs: Any other hook by name (e.g. `on_test_end=...`).

    Example:

    >>> import rnnkit as keras
    >>> seen = []
    >>> callback = keras.callbacks.LambdaCallback(
    ...     on_epoch_end=lambda epoch, logs: seen.append(round(logs["loss"], 2)))
    >>> callback.on_epoch_end(0, {"loss": 0.123})
    >>> seen
    [0.12]
    """

    def __init__(self, on_epoch_begin=None, on_epoch_end=None, on_train_begin=None,
                 on_train_end=None, on_train_batch_begin=None, on_train_batch_end=None,
                 **kwargs):
        super().__init__()
        self.__dict__.update(kwargs)
        for name, fn in (("on_epoch_begin", on_epoch_begin), ("on_epoch_end", on_epoch_end),
                         ("on_train_begin", on_train_begin), ("on_train_end", on_train_end),
                         ("on_train_batch_begin", on_train_batch_begin),
                         ("on_train_batch_end", on_train_batch_end)):
            if fn is not None:
                setattr(self, name, fn)


class CSVLogger(Callback):
    """Streams the epoch logs to a CSV file.

    The file gets a header `epoch,<sorted keys>` and then one row per epoch (values of
    keys missing in an epoch's logs are written as `NA`). It is opened at the start of
    training and closed at its end.

    Args:
        filename: Path of the CSV file.
        separator: The field separator. Defaults to `","`.
        append: Bool, append to an existing file (without repeating the header) instead of
            overwriting it. Defaults to `False`.
    """

    def __init__(self, filename, separator=",", append=False):
        super().__init__()
        self.sep = separator
        self.filename = os.fspath(filename)
        self.append = append
        self.writer = None
        self.keys = None
        self.append_header = True
        self.csv_file = None

    def on_train_begin(self, logs=None):
        if self.append:
            if os.path.exists(self.filename):
                with open(self.filename) as f:
                    self.append_header = not bool(len(f.readline()))
            mode = "a"
        else:
            mode = "w"
        self.csv_file = open(self.filename, mode, newline="")
        self.writer = None
        self.keys = None

    @staticmethod
    def _handle_value(value):
        if isinstance(value, str):
            return value
        if isinstance(value, (list, tuple)) or (isinstance(value, np.ndarray)
                                                and value.ndim > 0):
            return f"\"[{', '.join(map(str, value))}]\""
        return value

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if self.keys is None:
            self.keys = sorted(logs.keys())
        if self.writer is None:
            import csv   # only CSVLogger needs it
            self.writer = csv.DictWriter(self.csv_file, fieldnames=["epoch"] + self.keys,
                                         delimiter=self.sep)
            if self.append_header:
                self.writer.writeheader()
        row = {"epoch": epoch}
        row.update((k, self._handle_value(logs.get(k, "NA"))) for k in self.keys)
        self.writer.writerow(row)
        self.csv_file.flush()

    def on_train_end(self, logs=None):
        if self.csv_file is not None:
            self.csv_file.close()
        self.writer = None
