"""`Trainer`: compile / fit / evaluate / predict and the *_on_batch methods of every Model.

One training step: under a GradientTape, run the model with training=True, compute the
compiled loss (one per output, weighted) plus the layers' regularization losses, take the
gradients of the trainable weights (the fused RNN layers contribute one C++ BPTT each) and let
the optimizer apply them. Metrics and the epoch loss are averaged over samples, as in Keras.

fit / evaluate / predict read their data (arrays, generators, PyDatasets) as NumPy batches
through `rnnkit.models.data_adapters.EpochIterator`, which also applies the step rules.
"""

from __future__ import annotations

import numpy as np

from rnnkit import array_library, masking, ops, placement, tree
from rnnkit.autodiff import unwrap
from rnnkit.distribution import _state as _distribution
from rnnkit.models import data_adapters
from rnnkit.models.data_adapters import _structure_to_arrays, _to_array


def _float(value):
    """A plain float for the logs: device values are copied to the host explicitly."""
    return float(np.asarray(_host_array(value), dtype=np.float64))


def _shape(value):
    """The shape of an array (host or device) or array-like, without converting it."""
    value = unwrap(value)
    shape = getattr(value, "shape", None)
    return tuple(shape) if shape is not None else np.shape(_to_array(value))


def _host_array(value):
    """A NumPy array of an array-like, Tensor or device array (copied from its device
    explicitly)."""
    value = unwrap(value)
    return _to_array(value) if array_library.is_host(value) else array_library.to_host(value)


class _CompiledOutput:
    """One model output as compiled: its loss, loss weight and metrics ((log key, metric))."""

    __slots__ = ("name", "loss_fn", "loss_weight", "metrics", "weighted_metrics")

    def __init__(self, name, loss_fn, loss_weight, metrics, weighted_metrics):
        self.name = name
        self.loss_fn = loss_fn
        self.loss_weight = loss_weight
        self.metrics = metrics
        self.weighted_metrics = weighted_metrics


class Trainer:
    """The training methods every `Model` has: `compile`, `fit`, `evaluate`, `predict` and
    the `*_on_batch` methods.

    `Model` mixes it in with `Layer`; it is not used on its own.

    Attributes:
        compiled: Whether `compile()` was called.
        optimizer: The optimizer given to `compile()` (None before).
        stop_training: Set it to `True` (from a callback) to end `fit` after the current
            batch.
        history: The `History` callback of the latest `fit` (None before).
    """

    def __init__(self):
        self.compiled = False
        self.optimizer = None
        self.stop_training = False
        self.history = None
        self._compiled_outputs = None
        self._loss_sums, self._loss_count = {}, 0.0

    # -- compile ---------------------------------------------------------------------------------
    def compile(self, optimizer="rmsprop", loss=None, loss_weights=None, metrics=None,
                weighted_metrics=None, run_eagerly=False, steps_per_execution=1,
                jit_compile="auto", auto_scale_loss=True):
        """Configures the model for training: its optimizer, loss and metrics.

        Args:
            optimizer: An optimizer name (`"sgd"`, `"adam"`, `"rmsprop"`, ...), config dict or
                `rnnkit.optimizers.Optimizer` instance. Default `"rmsprop"`, as in Keras.
            loss: A loss name (`"mse"`, `"sparse_categorical_crossentropy"`, ...), a
                `rnnkit.losses.Loss` instance or a function `fn(y_true, y_pred)` returning
                per-sample losses. With several outputs: a list (one per output) or a dict by
                output name; one loss applies to every output.
            loss_weights: Scalar weights of the outputs' losses in the total (list or dict
                by output name), default 1 each.
            metrics: Metrics computed without sample or class weights: a list (or dict by
                output name) of metric names (`"accuracy"`, `"mae"`, ...), functions or
                `rnnkit.metrics.Metric` instances. With several outputs, a list with one
                entry per output, or a dict.
            weighted_metrics: Like `metrics`, but weighted by `sample_weight` /
                `class_weight`. A weighted metric whose name a plain metric already has is
                logged as `weighted_<name>`.
            run_eagerly, steps_per_execution, jit_compile: Accepted for Keras
                compatibility, without effect: rnnkit always runs eagerly on kernels
                compiled ahead of time.
            auto_scale_loss: Bool; when True (the default) and the model's dtype policy is
                `"mixed_float16"`, the optimizer is wrapped in a `LossScaleOptimizer` (as
                Keras does).

        Masked timesteps (a model output's mask, e.g. from `Embedding(mask_zero=True)`) count
        in neither the loss nor the metrics.

        Raises:
            ValueError: `metrics` / `weighted_metrics` not a list, tuple or dict; an unknown
                optimizer. Unknown losses, metrics or output names are reported at the first
                `fit` / `evaluate` / `*_on_batch`, once the outputs are known.

        Example:

        >>> import rnnkit as keras
        >>> model = keras.Sequential([keras.Input((None, 3)), keras.layers.LSTM(4),
        ...                           keras.layers.Dense(2)])
        >>> model.compile(optimizer="adam",
        ...               loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        ...               metrics=["accuracy"], weighted_metrics=["accuracy"])
        """
        from rnnkit import optimizers
        for what, spec in (("metrics", metrics), ("weighted_metrics", weighted_metrics)):
            if spec and not isinstance(spec, (list, tuple, dict)):
                raise ValueError(f"Expected `{what}` argument to be a list, tuple, or dict. "
                                 f"Received instead: {what}={spec} of type {type(spec)}")
        self.optimizer = optimizers.get(optimizer)
        policy = getattr(self, "dtype_policy", None)
        if (auto_scale_loss and policy is not None and policy.name == "mixed_float16" and
                not isinstance(self.optimizer, optimizers.LossScaleOptimizer)):
            # As Keras: float16 gradients need loss scaling to stay in range
            self.optimizer = optimizers.LossScaleOptimizer(self.optimizer,
                                                           name="loss_scale_optimizer")
        self.loss = loss
        self.loss_weights = loss_weights
        self._metric_specs = metrics
        self._weighted_metric_specs = weighted_metrics
        self._compiled_outputs = None      # per-output loss functions and metrics, set lazily
        self.compiled = True
        del run_eagerly, steps_per_execution, jit_compile

    def _assert_compiled(self, method):
        if not getattr(self, "compiled", False):
            raise ValueError(f"You must call `compile()` before using the model "
                             f"(called `{method}`).")

    def _output_names(self):
        names = getattr(self, "output_names", None)
        return list(names) if names else ["output"]

    def _setup_outputs(self, y, y_pred):
        """Per output: its loss function and weight, its metrics and weighted metrics, and the
        log key of each metric (Keras' names: `<output>_<metric>` for several outputs, and
        `weighted_<metric>` where a weighted metric's name is already taken). The metrics'
        states are created on the device of the model's weights."""
        with placement.device(self._step_device() or "cpu"):
            self._compile_outputs(y, y_pred)

    def _compile_outputs(self, y, y_pred):
        from rnnkit import losses
        preds = tree.flatten(y_pred)
        names = self._output_names()
        if len(names) != len(preds):
            names = [f"output_{i}" for i in range(len(preds))] if len(preds) > 1 else ["output"]
        single = len(preds) == 1

        def per_output(spec, what, default=None):
            if isinstance(spec, dict):
                unknown = set(spec) - set(names)
                if unknown:
                    raise ValueError(f"Unknown output name(s) {sorted(unknown)} in `{what}`; the "
                                     f"model's outputs are {names}")
                return [spec.get(name, default) for name in names]
            if isinstance(spec, (list, tuple)) and not single:
                if len(spec) != len(preds):
                    raise ValueError(f"`{what}` has {len(spec)} entries but the model has "
                                     f"{len(preds)} outputs")
                return list(spec)
            return [spec] * len(preds)

        loss_specs = per_output(self.loss, "loss")
        if all(spec is None for spec in loss_specs):
            raise ValueError("No loss to compute: pass `loss=` to `compile()`.")
        weights = per_output(self.loss_weights, "loss_weights", 1.0) \
            if self.loss_weights is not None else [1.0] * len(preds)
        targets = self._align_targets(y, names, len(preds))
        metric_sets = [
            self._metric_lists(spec, what, names, targets, preds)
            for spec, what in ((self._metric_specs, "metrics"),
                               (self._weighted_metric_specs, "weighted_metrics"))]
        taken = set()

        def log_key(output, metric, weighted):
            key = metric.name if single else f"{output}_{metric.name}"
            if key in taken:
                if weighted:
                    key = f"weighted_{metric.name}" if single else \
                        f"{output}_weighted_{metric.name}"
                base, index = key, 1
                while key in taken:
                    key, index = f"{base}_{index}", index + 1
            taken.add(key)
            return key

        outputs = []
        for i, (name, loss_spec, weight) in enumerate(zip(names, loss_specs, weights)):
            loss_fn = None if loss_spec is None else losses.get(loss_spec)
            if loss_fn is not None and not isinstance(loss_fn, losses.Loss):
                loss_fn = losses.LossFunctionWrapper(loss_fn)
            outputs.append(_CompiledOutput(name, loss_fn, float(weight), [], []))
        # Keys in Keras' order: every output's plain metrics, then the weighted ones.
        for weighted, metric_lists in enumerate(metric_sets):
            for output, metric_list in zip(outputs, metric_lists):
                tracked = output.weighted_metrics if weighted else output.metrics
                tracked.extend((log_key(output.name, m, weighted), m) for m in metric_list)
        self._compiled_outputs = outputs

    @staticmethod
    def _metric_lists(spec, what, names, targets, preds):
        """`compile(metrics=...)` or `weighted_metrics=...` -> one list of metrics per output.

        Keras 3's rules: with one output every metric applies to it; with several, a list or
        tuple has one entry (a metric or a list of them) per output, or a dict maps output
        names to entries. A flat list of another length applies to every output (tf.keras
        2.x's rule)."""
        from rnnkit import metrics
        if not spec:
            return [[] for _ in preds]
        if not isinstance(spec, (list, tuple, dict)):
            raise ValueError(f"Expected `{what}` argument to be a list, tuple, or dict. "
                             f"Received instead: {what}={spec} of type {type(spec)}")
        if len(preds) == 1:
            entries = [tree.flatten(spec)]
        elif isinstance(spec, dict):
            unknown = set(spec) - set(names)
            if unknown:
                raise ValueError(f"Invalid `{what}`: unknown output name(s) {sorted(unknown)}; "
                                 f"the model's outputs are {names}. Received: {what}={spec}")
            entries = [spec.get(name) for name in names]
        elif len(spec) == len(preds):
            entries = list(spec)
        else:
            # Keras 3 refuses this; tf.keras 2.x applied every metric to every output, and the
            # Keras RNN guide's nested-input model compiles that way, so rnnkit does too.
            entries = [list(spec)] * len(preds)
        lists = []
        for entry, target, pred in zip(entries, targets, preds):
            entry = [] if entry is None else (list(entry) if isinstance(entry, (list, tuple))
                                              else [entry])
            lists.append([metrics.get_metric(m, _shape(target), _shape(pred))
                          for m in entry if m is not None])
        return lists

    def _align_targets(self, y, names, count):
        if isinstance(y, dict):
            missing = [n for n in names if n not in y]
            if missing:
                raise ValueError(f"`y` is missing target(s) for output(s) {missing}")
            return [y[n] for n in names]
        if count == 1:
            if isinstance(y, (list, tuple)) and len(y) == 1:
                return [y[0]]
            return [y]
        if not isinstance(y, (list, tuple)) or len(y) != count:
            raise ValueError(f"The model has {count} outputs, so `y` must be a list of {count} "
                             f"arrays (or a dict by output name); got {type(y).__name__}")
        return list(y)

    def _all_metrics(self):
        """(log key, metric) of every compiled metric, in Keras' log order."""
        outputs = self._compiled_outputs or []
        return [item for out in outputs for item in out.metrics] + \
            [item for out in outputs for item in out.weighted_metrics]

    @property
    def metrics_names(self):
        """The names of the values `evaluate` / `*_on_batch` return as a list, in that order:
        the loss, the metrics logged under their own names, each output's loss, then the
        other logged names sorted (Keras' order, without the repeats Keras gives when a
        weighted metric shares a plain metric's name).

        The compiled metrics are set up at the first batch the model trains or evaluates
        on, so until then the list is `["loss"]`.

        Example:

        >>> import numpy as np, rnnkit as keras
        >>> model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
        >>> model.compile(loss="mse", metrics=["mae"])
        >>> model.metrics_names
        ['loss']
        >>> _ = model.test_on_batch(np.ones((4, 3)), np.zeros((4, 1)))
        >>> model.metrics_names
        ['loss', 'mae']
        """
        if not self.compiled:
            return []
        outputs = self._compiled_outputs or []
        keys = [key for key, _ in self._all_metrics()]
        losses = [f"{out.name}_loss" for out in outputs] if len(outputs) > 1 else []
        first = ["loss"] + [key for key, metric in self._all_metrics()
                            if key == metric.name] + losses
        return first + sorted(set(keys) - set(first))

    def _reset_metrics(self):
        """Resets the state of every compiled metric and the running mean of the loss.

        `fit` and `evaluate` do this at the start of every epoch or run; the metrics
        returned by successive `train_on_batch` calls accumulate until it is called.
        """
        self._loss_sums = {}
        self._loss_count = 0.0
        for _, metric in self._all_metrics():
            metric.reset_state()

    reset_metrics = _reset_metrics

    def _compute_losses(self, y, y_pred, sample_weight):
        """The weighted sum of the outputs' losses. Each loss reads its output's mask (attached
        to the prediction by the model) and leaves the masked timesteps out."""
        preds = tree.flatten(y_pred)
        targets = self._align_targets(y, [o.name for o in self._compiled_outputs], len(preds))
        total = None
        per_output = {}
        for output, target, pred in zip(self._compiled_outputs, targets, preds):
            if output.loss_fn is None:
                continue
            value = output.loss_fn(target, pred, sample_weight=sample_weight)
            per_output[output.name] = value
            term = value if output.loss_weight == 1.0 else ops.multiply(value, output.loss_weight)
            total = term if total is None else ops.add(total, term)
        return total, per_output

    def _update_metrics(self, y, y_pred, sample_weight):
        """`metrics` see no sample weights, `weighted_metrics` see them (and class weights);
        both leave out the timesteps the output's mask hides."""
        preds = []
        for pred in tree.flatten(y_pred):
            array = unwrap(pred)   # a Tensor's own array: no copy per step
            if type(array) is not np.ndarray and array_library.is_host(array):
                array = np.asarray(array)
            if array is not pred:
                masking.set_keras_mask(array, masking.get_keras_mask(pred))
            preds.append(array)
        targets = self._align_targets(y, [o.name for o in self._compiled_outputs], len(preds))
        for output, target, pred in zip(self._compiled_outputs, targets, preds):
            for _, metric in output.metrics:
                metric.update_state(target, pred)
            for _, metric in output.weighted_metrics:
                metric.update_state(target, pred, sample_weight=sample_weight)

    def _track_loss(self, total, per_output, count):
        self._loss_sums["loss"] = self._loss_sums.get("loss", 0.0) + _float(total) * count
        if len(self._compiled_outputs) > 1:
            for name, value in per_output.items():
                key = f"{name}_loss"
                self._loss_sums[key] = self._loss_sums.get(key, 0.0) + _float(value) * count
        self._loss_count += count

    def _logs(self):
        """The losses and metrics by name, sorted by name as Keras logs them."""
        count = max(self._loss_count, 1.0)
        logs = {key: value / count for key, value in self._loss_sums.items()}
        for key, metric in self._all_metrics():
            logs[key] = _float(metric.result())
        return dict(sorted(logs.items()))

    # -- one batch -------------------------------------------------------------------------------
    def _step_device(self):
        """The device of the model's weights (None for the CPU, or before it has weights):
        where a step computes."""
        where = self._weights_device()
        return None if where in (None, "cpu:0") else where

    def _on_step_device(self, *structures):
        """The batch's arrays copied to the weights' device, once per batch (as they are on
        the CPU)."""
        where = self._step_device()
        if where is None:
            return structures
        return tuple(None if s is None else
                     tree.map_structure(lambda a: array_library.to_device(a, where), s)
                     for s in structures)

    def _train_batch(self, x, y, sample_weight):
        if _distribution.current is not None:   # data-parallel: rnnkit.distribution's step
            from rnnkit.distribution import _training
            return _training.train_batch(self, x, y, sample_weight)
        x, y, sample_weight = self._on_step_device(x, y, sample_weight)
        from rnnkit.autodiff import GradientTape
        variables = self.trainable_weights
        with GradientTape() as tape:
            y_pred = self(x, training=True)
            if self._compiled_outputs is None:
                self._setup_outputs(y, y_pred)
                self._reset_metrics()
            total, per_output = self._compute_losses(y, y_pred, sample_weight)
            regularization = self.losses
            loss = total
            for term in regularization:
                loss = ops.add(loss, term)
            # `loss_scale_factor`: the gradients of the scaled loss; `apply` divides it out.
            scaled = self.optimizer.scale_loss(loss)
        grads = tape.gradient(scaled, variables)
        self.optimizer.apply(grads, variables)
        self._track_loss(loss, per_output, len(tree.flatten(x)[0]))
        self._update_metrics(y, y_pred, sample_weight)
        return self._logs()

    def _test_batch(self, x, y, sample_weight):
        if _distribution.current is not None:
            from rnnkit.distribution import _training
            return _training.test_batch(self, x, y, sample_weight)
        x, y, sample_weight = self._on_step_device(x, y, sample_weight)
        y_pred = self(x, training=False)
        if self._compiled_outputs is None:
            self._setup_outputs(y, y_pred)
            self._reset_metrics()
        total, per_output = self._compute_losses(y, y_pred, sample_weight)
        loss = total
        for term in self.losses:
            loss = ops.add(loss, term)
        self._track_loss(loss, per_output, len(tree.flatten(x)[0]))
        self._update_metrics(y, y_pred, sample_weight)
        return self._logs()

    def train_on_batch(self, x, y=None, sample_weight=None, class_weight=None,
                       return_dict=False):
        """Runs one gradient update on a single batch of data.

        The metrics accumulate over successive calls until `reset_metrics()`.

        Args:
            x: the inputs: a NumPy array (or array-like), a list of arrays for several inputs,
                or a dict of arrays by input name.
            y: the targets, structured like the model's outputs.
            sample_weight: optional per-sample weights, one per sample of the batch.
            class_weight: optional dict mapping class indices to weights; each sample's
                weight is multiplied by the weight of its class (models with one output).
            return_dict: return the metrics as a dict (`{"loss": ..., ...}`) rather than a
                list.

        Returns:
            The loss as a float when the model has no metrics, else a list
            `[loss, *metrics]`, or a dict with `return_dict=True`.

        Raises:
            ValueError: if the model is not compiled, `y` is missing, or the arrays do not
                hold the same number of samples.

        Example:

        ```python
        loss = model.train_on_batch(x_batch, y_batch)
        ```
        """
        self._assert_compiled("train_on_batch")
        x, y, sample_weight = self._prepare(x, y, sample_weight, class_weight,
                                            "train_on_batch")
        logs = self._train_batch(x, y, sample_weight)
        return self._format_result(logs, return_dict)

    def test_on_batch(self, x, y=None, sample_weight=None, return_dict=False):
        """Computes the loss and metrics of the model on a single batch (no update).

        Args:
            x: the inputs (an array, a list of arrays, or a dict by input name).
            y: the targets, structured like the model's outputs.
            sample_weight: optional per-sample weights.
            return_dict: return a dict rather than a list.

        Returns:
            The loss as a float when the model has no metrics, else `[loss, *metrics]`, or a
            dict with `return_dict=True`, for this batch alone.

        Raises:
            ValueError: if the model is not compiled, `y` is missing, or the arrays do not
                hold the same number of samples.

        Example:

        ```python
        loss, accuracy = model.test_on_batch(x_batch, y_batch)
        ```
        """
        self._assert_compiled("test_on_batch")
        x, y, sample_weight = self._prepare(x, y, sample_weight, None, "test_on_batch")
        self._reset_metrics()
        logs = self._test_batch(x, y, sample_weight)
        return self._format_result(logs, return_dict)

    def predict_on_batch(self, x):
        """Returns the predictions of the model for a single batch of inputs.

        Args:
            x: the inputs (an array or array-like, a list of arrays, or a dict by input name).

        Returns:
            NumPy arrays, structured like the model's outputs (copied from the device of
            the model's weights; host inputs are copied there first).

        Example:

        ```python
        probabilities = model.predict_on_batch(x_batch)
        ```
        """
        # NumPy out, as Keras: outputs on a device are copied to the host explicitly
        return tree.map_structure(_host_array, self(_structure_to_arrays(x), training=False))

    def _format_result(self, logs, return_dict):
        if return_dict:
            return logs
        ordered = [logs[key] for key in self.metrics_names if key in logs]
        return ordered[0] if len(ordered) == 1 else ordered

    def _prepare(self, x, y, sample_weight, class_weight, method):
        """One batch given to a *_on_batch method: arrays, checked, class weights applied."""
        if x is None:
            raise ValueError(f"No data: pass `x` and `y` to `{method}`.")
        if y is None:
            raise data_adapters.missing_targets_error(method, x)
        return data_adapters._batch_from_parts(x, y, sample_weight, class_weight, method, "")

    # -- loops -----------------------------------------------------------------------------------
    def fit(self, x=None, y=None, batch_size=None, epochs=1, verbose="auto", callbacks=None,
            validation_split=0.0, validation_data=None, shuffle=True, class_weight=None,
            sample_weight=None, initial_epoch=0, steps_per_epoch=None, validation_steps=None,
            validation_batch_size=None, validation_freq=1):
        """Trains the model for a fixed number of epochs (passes over the data).

        Args:
            x: the inputs, one of:
                - a NumPy array or array-like (a pandas DataFrame or Series, a list of
                  numbers), or a list / tuple of them (several inputs), or a dict of them by
                  input name. A tuple is several inputs, never `(x, y)`;
                - a Python generator (or iterator) yielding batches `(inputs, targets)` or
                  `(inputs, targets, sample_weights)`;
                - a `keras.utils.PyDataset` returning such batches.
            y: the targets, like `x` for arrays (structured like the model's outputs). Must
                be left out when `x` is a generator or a PyDataset.
            batch_size: samples per batch for arrays (default 32, or
                `ceil(num_samples / steps_per_epoch)` when `steps_per_epoch` is given).
                Ignored for generators and PyDatasets, which make their own batches.
            epochs: the index of the last epoch (training runs epochs
                `initial_epoch` ... `epochs - 1`).
            verbose: 0 (silent), 1 (progress bar), 2 (one line per epoch) or "auto" (1).
            callbacks: a list of `keras.callbacks.Callback`.
            validation_split: a fraction of array data kept for validation: the last samples,
                before any shuffling. Arrays only.
            validation_data: data to evaluate at the end of every epoch: a tuple
                `(x_val, y_val)` or `(x_val, y_val, val_sample_weight)` of arrays, a
                generator or a PyDataset. Overrides `validation_split`.
            shuffle: for arrays, shuffle the samples before each epoch (True), or within each
                batch ("batch"); for a PyDataset, visit its batches in a random order each
                epoch. A generator ignores it (with a warning when True).
            class_weight: optional dict mapping class indices to weights, multiplied into the
                samples' weights (models with one output; arrays and PyDatasets).
            sample_weight: optional per-sample weights for array data.
            initial_epoch: the epoch to start at (to resume a training).
            steps_per_epoch: batches per epoch. Without it, an epoch is one pass over the
                data (a generator: until it is exhausted). With it, each epoch takes the next
                `steps_per_epoch` batches, going on through the data across epochs.
            validation_steps: batches per validation (default: all of the validation data).
            validation_batch_size: the batch size of the validation arrays (default
                `batch_size`).
            validation_freq: validate every `validation_freq` epochs (an int), or at the
                epochs (1-based) of a list.

        Returns:
            The `History` callback (also `model.history`): `history.history` maps every
            logged metric (`loss`, `val_loss`, ...) to its per-epoch values.

        Raises:
            ValueError: if the model is not compiled, the data are malformed (mismatched
                numbers of samples, a generator batch that is not a tuple of 1 to 3
                elements), or an argument does not fit the kind of data (`y`,
                `sample_weight`, `class_weight` or `validation_split` with a generator).

        A finite generator without `steps_per_epoch` trains one epoch; as it cannot be
        rewound, training then stops with a warning. Use a PyDataset, or a generator that
        loops forever together with `steps_per_epoch`, to train several epochs.

        Example:

        ```python
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                      metrics=["accuracy"])
        history = model.fit(x_train, y_train, batch_size=64, epochs=5,
                            validation_split=0.1)
        print(history.history["val_accuracy"])
        ```
        """
        from rnnkit.callbacks import CallbackList
        self._assert_compiled("fit")
        if not isinstance(validation_freq, (int, list)) or isinstance(validation_freq, bool):
            raise ValueError(f"`validation_freq` must be an int or a list of epochs, got "
                             f"{validation_freq!r} of type {type(validation_freq).__name__}")
        if validation_split and validation_data is None:
            (x, y, sample_weight), validation_data = data_adapters.train_validation_split(
                x, y, sample_weight, validation_split)
        train = data_adapters.EpochIterator(
            x, y, sample_weight, batch_size=batch_size, steps=steps_per_epoch, shuffle=shuffle,
            class_weight=class_weight, mode="fit", steps_name="steps_per_epoch")
        val = None
        if validation_data is not None:
            val_x, val_y, val_weight = data_adapters.unpack_validation_data(validation_data)
            val = data_adapters.EpochIterator(
                val_x, val_y, val_weight, batch_size=validation_batch_size or batch_size,
                steps=validation_steps, mode="evaluate", steps_name="validation_steps")
        callback_list = CallbackList(callbacks, add_history=True, add_progbar=verbose != 0,
                                     model=self, verbose=verbose, epochs=epochs,
                                     steps=train.num_batches)
        self.stop_training = False
        callback_list.on_train_begin()
        logs = {}
        val_ran_out = False
        for epoch in range(initial_epoch, epochs):
            if not train.has_data():
                data_adapters.warn_exhausted(train, f"training stops before epoch "
                                                    f"{epoch + 1}/{epochs}")
                break
            self._reset_metrics()
            callback_list.on_epoch_begin(epoch)
            batches = train.epoch()
            try:
                for step, (batch_x, batch_y, batch_weight) in batches:
                    callback_list.on_train_batch_begin(step)
                    logs = self._train_batch(batch_x, batch_y, batch_weight)
                    callback_list.on_train_batch_end(step, logs)
                    if self.stop_training:
                        break
            finally:
                batches.close()
            epoch_logs = dict(logs)
            if val is not None and _should_validate(epoch, validation_freq):
                if val.has_data():
                    val_logs = self._validation_logs(val, callback_list)
                    epoch_logs.update({f"val_{k}": v for k, v in val_logs.items()})
                elif not val_ran_out:
                    val_ran_out = True
                    data_adapters.warn_exhausted(
                        val, f"validation is skipped from epoch {epoch + 1} on (no `val_` "
                             f"logs)", argument="validation_data", steps_name="validation_steps")
            callback_list.on_epoch_end(epoch, epoch_logs)
            logs = epoch_logs
            if self.stop_training:
                break
        if epochs > initial_epoch:
            # `use_ema`: the trained weights become their moving averages, as in Keras.
            self.optimizer.finalize_variable_values(self.trainable_weights)
        callback_list.on_train_end(logs)
        return self.history

    def _validation_logs(self, val, callback_list):
        """The validation at the end of an epoch of `fit`: `evaluate` on `val` (an
        `EpochIterator`, kept across epochs), reporting to the fit's callbacks (whose progress
        bar stays silent), as Keras does."""
        return self._test_loop(val, callback_list)

    def _test_loop(self, data, callback_list):
        self._reset_metrics()
        callback_list.on_test_begin()
        logs = {}
        batches = data.epoch(restart=True)
        try:
            for step, (batch_x, batch_y, batch_weight) in batches:
                callback_list.on_test_batch_begin(step)
                logs = self._test_batch(batch_x, batch_y, batch_weight)
                callback_list.on_test_batch_end(step, logs)
        finally:
            batches.close()
        callback_list.on_test_end(logs)
        return logs

    def evaluate(self, x=None, y=None, batch_size=None, verbose="auto", sample_weight=None,
                 steps=None, callbacks=None, return_dict=False):
        """Returns the loss and metrics of the model on the given data, batch by batch.

        Args:
            x: the inputs: arrays (or array-likes, or a list / dict of them), a Python
                generator or iterator yielding `(inputs, targets)` or
                `(inputs, targets, sample_weights)`, or a `keras.utils.PyDataset`.
            y: the targets for array data (left out for a generator or a PyDataset).
            batch_size: samples per batch for arrays (default 32, or
                `ceil(num_samples / steps)` when `steps` is given).
            verbose: 0 (silent), 1 (progress bar), 2 (one line) or "auto" (1).
            sample_weight: optional per-sample weights for array data.
            steps: the number of batches to evaluate (default: all of them; a generator is
                read until it is exhausted).
            callbacks: a list of `keras.callbacks.Callback`.
            return_dict: return a dict `{"loss": ..., metric name: ...}`.

        Returns:
            The loss as a float when the model has no metrics, else `[loss, *metrics]`
            (`model.metrics_names` order), or a dict with `return_dict=True`.

        Raises:
            ValueError: if the model is not compiled, the data are malformed, or `y` /
                `sample_weight` are given with a generator or a PyDataset.

        Example:

        ```python
        loss, accuracy = model.evaluate(x_test, y_test, batch_size=128)
        ```
        """
        from rnnkit.callbacks import CallbackList
        self._assert_compiled("evaluate")
        data = data_adapters.EpochIterator(x, y, sample_weight, batch_size=batch_size,
                                           steps=steps, mode="evaluate", steps_name="steps")
        if isinstance(callbacks, CallbackList):
            callback_list = callbacks
        else:
            callback_list = CallbackList(callbacks, add_progbar=verbose != 0, model=self,
                                         verbose=verbose, epochs=1, steps=data.num_batches)
        logs = self._test_loop(data, callback_list)
        return self._format_result(logs, return_dict)

    def predict(self, x, batch_size=None, verbose="auto", steps=None, callbacks=None):
        """Generates output predictions for the input samples, batch by batch.

        Args:
            x: the inputs: arrays (or array-likes, or a list / dict of them), a Python
                generator or iterator, or a `keras.utils.PyDataset`. A batch from a generator
                or a PyDataset may be `(inputs,)`, the inputs alone, or `(inputs, targets)`
                (the targets are ignored).
            batch_size: samples per batch for arrays (default 32, or
                `ceil(num_samples / steps)` when `steps` is given).
            verbose: 0 (silent), 1 (progress bar), 2 (one line) or "auto" (1).
            steps: the number of batches to predict (default: all of them; a generator is
                read until it is exhausted).
            callbacks: a list of `keras.callbacks.Callback`.

        Returns:
            NumPy arrays of predictions, the batches concatenated, structured like the
            model's outputs.

        Raises:
            ValueError: if the data are malformed or give no batch.

        Example:

        ```python
        probabilities = model.predict(x_test, batch_size=256)
        ```
        """
        from rnnkit.callbacks import CallbackList
        data = data_adapters.EpochIterator(x, None, None, batch_size=batch_size, steps=steps,
                                           mode="predict", steps_name="steps")
        if isinstance(callbacks, CallbackList):
            callback_list = callbacks
        else:
            callback_list = CallbackList(callbacks, add_progbar=verbose != 0, model=self,
                                         verbose=verbose, epochs=1, steps=data.num_batches)
        callback_list.on_predict_begin()
        outputs = []
        batches = data.epoch(restart=True)
        try:
            for step, (batch_x, _, _) in batches:
                callback_list.on_predict_batch_begin(step)
                (batch_x,) = self._on_step_device(batch_x)
                out = tree.map_structure(_host_array, self(batch_x, training=False))
                outputs.append(out)
                callback_list.on_predict_batch_end(step, {"outputs": out})
        finally:
            batches.close()
        callback_list.on_predict_end()
        if not outputs:
            raise ValueError("predict received no samples")
        return tree.map_structure(lambda *parts: np.concatenate(parts, axis=0), *outputs)


def _should_validate(epoch, validation_freq):
    """Whether the epoch (0-based) validates: every `validation_freq` epochs, or at the
    1-based epochs listed."""
    if isinstance(validation_freq, list):
        return epoch + 1 in validation_freq
    return (epoch + 1) % validation_freq == 0
