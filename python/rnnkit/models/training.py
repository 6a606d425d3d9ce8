"""`Trainer`: compile / fit / evaluate / predict and the *_on_batch methods of every Model.

One training step: under a GradientTape, run the model with training=True, compute the
compiled loss (one per output, weighted) plus the layers' regularization losses, take the
gradients of the trainable weights (the fused RNN layers contribute one C++ BPTT each) and let
the optimizer apply them. Metrics and the epoch loss are averaged over samples, as in Keras.
"""

from __future__ import annotations

import math

import numpy as np

from rnnkit import masking, ops, tree


def _to_array(value):
    if hasattr(value, "numpy") and not isinstance(value, np.ndarray):
        value = value.numpy()
    return np.asarray(value)


def _float(value):
    return float(np.asarray(_to_array(value), dtype=np.float64))


def _structure_to_arrays(data):
    if data is None:
        return None
    if isinstance(data, dict):
        return {k: _to_array(v) for k, v in data.items()}
    if isinstance(data, (list, tuple)):
        return [_structure_to_arrays(v) for v in data]
    return _to_array(data)


def _num_samples(*structures):
    sizes = {}
    for label, structure in zip(("x", "y", "sample_weight"), structures):
        if structure is None:
            continue
        lengths = [len(a) for a in tree.flatten(structure)]
        if lengths:
            sizes[label] = lengths
    all_sizes = {n for lengths in sizes.values() for n in lengths}
    if len(all_sizes) > 1:
        detail = "\n".join(f"'{label}' sizes: {', '.join(map(str, lengths))}"
                           for label, lengths in sizes.items())
        raise ValueError(f"Data cardinality is ambiguous. Make sure all arrays contain the same "
                         f"number of samples.\n{detail}")
    if not all_sizes:
        raise ValueError("No data: pass `x` (and `y` for fit/evaluate).")
    return all_sizes.pop()


def _take(structure, index):
    if structure is None:
        return None
    return tree.map_structure(lambda a: a[index], structure)


def _class_weights(y, class_weight):
    labels = np.asarray(tree.flatten(y)[0])
    if labels.ndim >= 2 and labels.shape[-1] > 1:
        labels = labels.argmax(axis=-1)
    labels = labels.reshape(len(labels), -1)[:, 0].astype(np.int64)
    weights = np.ones(len(labels), dtype=np.float32)
    for cls, w in class_weight.items():
        weights[labels == int(cls)] = w
    return weights


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
    """Training methods shared by every model."""

    def __init__(self):
        self.compiled = False
        self.optimizer = None
        self.stop_training = False
        self.history = None

    # -- compile ---------------------------------------------------------------------------------
    def compile(self, optimizer="rmsprop", loss=None, loss_weights=None, metrics=None,
                weighted_metrics=None, run_eagerly=False, steps_per_execution=1,
                jit_compile="auto", auto_scale_loss=True):
        from rnnkit import optimizers
        for what, spec in (("metrics", metrics), ("weighted_metrics", weighted_metrics)):
            if spec and not isinstance(spec, (list, tuple, dict)):
                raise ValueError(f"Expected `{what}` argument to be a list, tuple, or dict. "
                                 f"Received instead: {what}={spec} of type {type(spec)}")
        self.optimizer = optimizers.get(optimizer)
        self.loss = loss
        self.loss_weights = loss_weights
        self._metric_specs = metrics
        self._weighted_metric_specs = weighted_metrics
        self._compiled_outputs = None      # per-output loss functions and metrics, set lazily
        self.compiled = True
        del run_eagerly, steps_per_execution, jit_compile, auto_scale_loss

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
        `weighted_<metric>` where a weighted metric's name is already taken)."""
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
            lists.append([metrics.get_metric(m, np.shape(target), np.shape(_to_array(pred)))
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
        weighted metric shares a plain metric's name)."""
        outputs = self._compiled_outputs or []
        keys = [key for key, _ in self._all_metrics()]
        losses = [f"{out.name}_loss" for out in outputs] if len(outputs) > 1 else []
        first = ["loss"] + [key for key, metric in self._all_metrics()
                            if key == metric.name] + losses
        return first + sorted(set(keys) - set(first))

    def _reset_metrics(self):
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
            array = _to_array(pred)
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
    def _train_batch(self, x, y, sample_weight):
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
        grads = tape.gradient(loss, variables)
        self.optimizer.apply(grads, variables)
        self._track_loss(loss, per_output, len(tree.flatten(x)[0]))
        self._update_metrics(y, y_pred, sample_weight)
        return self._logs()

    def _test_batch(self, x, y, sample_weight):
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
        self._assert_compiled("train_on_batch")
        x, y, sample_weight = self._prepare(x, y, sample_weight, class_weight)
        if getattr(self, "_loss_sums", None) is None:
            self._loss_sums, self._loss_count = {}, 0.0
        logs = self._train_batch(x, y, sample_weight)
        return self._format_result(logs, return_dict)

    def test_on_batch(self, x, y=None, sample_weight=None, return_dict=False):
        self._assert_compiled("test_on_batch")
        x, y, sample_weight = self._prepare(x, y, sample_weight, None)
        self._reset_metrics()
        logs = self._test_batch(x, y, sample_weight)
        return self._format_result(logs, return_dict)

    def predict_on_batch(self, x):
        return tree.map_structure(_to_array, self(_structure_to_arrays(x), training=False))

    def _format_result(self, logs, return_dict):
        if return_dict:
            return logs
        ordered = [logs[key] for key in self.metrics_names if key in logs]
        return ordered[0] if len(ordered) == 1 else ordered

    def _prepare(self, x, y, sample_weight, class_weight):
        x = _structure_to_arrays(x)
        y = _structure_to_arrays(y)
        if y is None:
            raise ValueError("`y` is required: pass the targets.")
        sample_weight = None if sample_weight is None else np.asarray(sample_weight)
        _num_samples(x, y, sample_weight)
        if class_weight is not None:
            weights = _class_weights(y, class_weight)
            sample_weight = weights if sample_weight is None else sample_weight * weights
        return x, y, sample_weight

    # -- loops -----------------------------------------------------------------------------------
    def fit(self, x=None, y=None, batch_size=None, epochs=1, verbose="auto", callbacks=None,
            validation_split=0.0, validation_data=None, shuffle=True, class_weight=None,
            sample_weight=None, initial_epoch=0, steps_per_epoch=None, validation_steps=None,
            validation_batch_size=None, validation_freq=1):
        from rnnkit.callbacks import CallbackList
        self._assert_compiled("fit")
        x, y, sample_weight = self._prepare(x, y, sample_weight, class_weight)
        if validation_split and validation_data is None:
            if not 0.0 < validation_split < 1.0:
                raise ValueError(f"`validation_split` must be in [0, 1), got {validation_split}")
            n = _num_samples(x, y)
            split = int(math.floor(n * (1.0 - validation_split)))
            validation_data = (_take(x, slice(split, None)), _take(y, slice(split, None)),
                               None if sample_weight is None else sample_weight[split:])
            x, y = _take(x, slice(0, split)), _take(y, slice(0, split))
            sample_weight = None if sample_weight is None else sample_weight[:split]
        batch_size = 32 if batch_size is None else int(batch_size)
        if batch_size <= 0:
            raise ValueError(f"`batch_size` must be a positive integer, got {batch_size}")
        n = _num_samples(x, y, sample_weight)
        steps = int(math.ceil(n / batch_size))
        if steps_per_epoch is not None:
            steps = min(steps, int(steps_per_epoch))
        callback_list = CallbackList(callbacks, add_history=True, add_progbar=verbose != 0,
                                     model=self, verbose=verbose, epochs=epochs, steps=steps)
        self.stop_training = False
        callback_list.on_train_begin()
        logs = {}
        for epoch in range(initial_epoch, epochs):
            self._reset_metrics()
            callback_list.on_epoch_begin(epoch)
            order = np.random.permutation(n) if shuffle else np.arange(n)
            for step in range(steps):
                index = order[step * batch_size:(step + 1) * batch_size]
                callback_list.on_train_batch_begin(step)
                logs = self._train_batch(_take(x, index), _take(y, index),
                                         None if sample_weight is None else sample_weight[index])
                callback_list.on_train_batch_end(step, logs)
                if self.stop_training:
                    break
            epoch_logs = dict(logs)
            if validation_data is not None and (epoch + 1) % validation_freq == 0:
                val = self._validation_logs(validation_data,
                                            validation_batch_size or batch_size,
                                            validation_steps)
                epoch_logs.update({f"val_{k}": v for k, v in val.items()})
            callback_list.on_epoch_end(epoch, epoch_logs)
            logs = epoch_logs
            if self.stop_training:
                break
        callback_list.on_train_end(logs)
        return self.history

    def _validation_logs(self, validation_data, batch_size, steps):
        if not isinstance(validation_data, (list, tuple)) or len(validation_data) not in (2, 3):
            raise ValueError("`validation_data` must be a tuple (x_val, y_val) or (x_val, y_val, "
                             f"val_sample_weight); got {type(validation_data).__name__}")
        vx, vy = validation_data[0], validation_data[1]
        vw = validation_data[2] if len(validation_data) == 3 else None
        return self.evaluate(vx, vy, batch_size=batch_size, verbose=0, sample_weight=vw,
                             steps=steps, return_dict=True)

    def evaluate(self, x=None, y=None, batch_size=None, verbose="auto", sample_weight=None,
                 steps=None, callbacks=None, return_dict=False):
        from rnnkit.callbacks import CallbackList
        self._assert_compiled("evaluate")
        x, y, sample_weight = self._prepare(x, y, sample_weight, None)
        batch_size = 32 if batch_size is None else int(batch_size)
        n = _num_samples(x, y, sample_weight)
        total_steps = int(math.ceil(n / batch_size))
        if steps is not None:
            total_steps = min(total_steps, int(steps))
        callback_list = CallbackList(callbacks, add_progbar=verbose != 0, model=self,
                                     verbose=verbose, epochs=1, steps=total_steps)
        self._reset_metrics()
        callback_list.on_test_begin()
        logs = {}
        for step in range(total_steps):
            index = slice(step * batch_size, (step + 1) * batch_size)
            callback_list.on_test_batch_begin(step)
            logs = self._test_batch(_take(x, index), _take(y, index),
                                    None if sample_weight is None else sample_weight[index])
            callback_list.on_test_batch_end(step, logs)
        callback_list.on_test_end(logs)
        return self._format_result(logs, return_dict)

    def predict(self, x, batch_size=None, verbose="auto", steps=None, callbacks=None):
        from rnnkit.callbacks import CallbackList
        x = _structure_to_arrays(x)
        n = _num_samples(x)
        batch_size = 32 if batch_size is None else int(batch_size)
        total_steps = int(math.ceil(n / batch_size))
        if steps is not None:
            total_steps = min(total_steps, int(steps))
        callback_list = CallbackList(callbacks, add_progbar=verbose != 0, model=self,
                                     verbose=verbose, epochs=1, steps=total_steps)
        callback_list.on_predict_begin()
        batches = []
        for step in range(total_steps):
            callback_list.on_predict_batch_begin(step)
            out = self(_take(x, slice(step * batch_size, (step + 1) * batch_size)),
                       training=False)
            out = tree.map_structure(_to_array, out)
            batches.append(out)
            callback_list.on_predict_batch_end(step, {"outputs": out})
        callback_list.on_predict_end()
        if not batches:
            raise ValueError("predict received no samples")
        return tree.map_structure(lambda *parts: np.concatenate(parts, axis=0), *batches)

