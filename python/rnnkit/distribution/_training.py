"""The distributed work of a training or test step, BatchNormalization's global moments,
data sharding and the rank-0 callbacks. The model's own code calls in here only when a
distribution is set (see `_state`).

One training step on process k of p:

1. (first step of a model) rank 0's weights are broadcast to every process;
2. forward pass on the local shard; a BatchNormalization layer all-reduces its moments;
3. for each output, the local SUM of the loss terms S_k and the local denominator d_k (the
   number of loss values, or of unmasked ones) - the loss Keras computes on one process is
   S / d; one small all-reduce gives D = sum_k d_k;
4. the local objective sum_o w_o S_ko / D_o + regularization / p, whose sum over the
   processes is the full batch's loss; its gradients (BatchNormalization's backward
   all-reduces its two per-channel sums);
5. ONE all-reduce per dtype of [gradients, the loss values, the metrics' state variables];
6. every process applies the summed gradients: the same update everywhere.
"""

from __future__ import annotations

import traceback
import weakref

import numpy as np

from rnnkit import masking, ops, tree
from rnnkit.autodiff import GradientTape, record, unwrap
from rnnkit.distribution import _state

_AVERAGING = ("sum_over_batch_size", "mean")


# -- failures --------------------------------------------------------------------------------------

def _guarded(fn):
    """Runs a step; an exception on one process aborts every process (a half-done collective
    cannot be recovered), after printing the traceback with the rank."""
    def wrapper(model, *args):
        dist = _state.current
        try:
            return fn(model, dist, *args)
        except BaseException:
            if dist.num_processes > 1:
                dist.engine.abort("error in a distributed step:\n" + traceback.format_exc())
            raise
        finally:
            _state.in_step = False
    wrapper.__doc__ = fn.__doc__
    wrapper.__name__ = fn.__name__
    return wrapper


# -- weights -----------------------------------------------------------------------------------------

_synced = weakref.WeakKeyDictionary()   # model -> the distribution it was broadcast for


def _synchronize_weights(model, dist, x):
    """Broadcasts rank 0's weights to every process once per (model, distribution); builds
    the model first (a forward pass in inference mode) when it has no weights yet."""
    if _synced.get(model) is dist:
        return
    if not model.weights:
        model(x, training=False)
    weights = model.weights
    values = dist.engine.broadcast([np.asarray(w.numpy()) for w in weights])
    for w, v in zip(weights, values):
        w.assign(v)
    _synced[model] = dist


# -- losses ------------------------------------------------------------------------------------------

def _loss_parts(loss_fn, y_true, y_pred, sample_weight, count):
    """`(S, d)` with the local loss = S / d: for a `rnnkit.losses.Loss` with an averaging
    reduction, S the weighted sum of the loss values and d their number (the unmasked ones
    under a mask); `"sum"` gives d None (the global loss is the plain sum). Any other loss
    is weighted by the local sample count."""
    from rnnkit import losses
    standard = (isinstance(loss_fn, losses.Loss) and
                type(loss_fn).__call__ in (losses.Loss.__call__,
                                           losses.SparseCategoricalCrossentropy.__call__) and
                loss_fn.reduction in _AVERAGING + ("sum",))
    if standard:
        mask = masking.get_keras_mask(y_pred)
        pred = losses._convert(y_pred, loss_fn.dtype)
        dtype = ops.dtype(pred)
        true = losses._convert(y_true, dtype)
        values, out_mask = loss_fn._call_with_mask(true, pred)
        if mask is not None and out_mask is not None:
            mask = np.logical_and(np.asarray(unwrap(mask), bool), out_mask)
        elif out_mask is not None:
            mask = out_mask
        shape = tuple(np.shape(unwrap(values)))
        if shape != () and shape != (0,):
            total = losses.reduce_weighted_values(values, sample_weight=sample_weight,
                                                  mask=mask, reduction="sum", dtype=dtype)
            if loss_fn.reduction == "sum":
                return total, None
            size = float(np.prod(shape))
            if mask is None:
                return total, size
            mask = np.asarray(unwrap(mask))
            return total, float(np.sum(mask, dtype=np.float64)) * size / mask.size
    value = loss_fn(y_true, y_pred, sample_weight=sample_weight)
    return ops.multiply(value, float(count)), float(count)


def _output_loss_parts(model, y, y_pred, sample_weight, count):
    """(output, local loss sum, local denominator or None) for each output with a loss."""
    outputs = model._compiled_outputs
    preds = tree.flatten(y_pred)
    targets = model._align_targets(y, [o.name for o in outputs], len(preds))
    return [(output, *_loss_parts(output.loss_fn, target, pred, sample_weight, count))
            for output, target, pred in zip(outputs, targets, preds)
            if output.loss_fn is not None]


def _local_objective(model, dist, y, y_pred, sample_weight, count):
    """The local objective (a tracked scalar), the local loss value of each output (floats
    whose sum over processes is the output's loss) and the global sample count."""
    parts = _output_loss_parts(model, y, y_pred, sample_weight, count)
    local = np.array([1.0 if d is None else d for _, _, d in parts] + [count], np.float64)
    totals = dist.engine.allreduce([local])[0]
    objective, per_output = None, {}
    for (output, s, d), denominator in zip(parts, totals[:-1]):
        scale = 1.0 if d is None else (1.0 / denominator if denominator else 0.0)
        value = ops.multiply(s, scale)
        per_output[output.name] = value
        term = value if output.loss_weight == 1.0 else ops.multiply(value, output.loss_weight)
        objective = term if objective is None else ops.add(objective, term)
    regularization = model.losses
    if regularization:
        share = 1.0 / dist.num_processes
        for term in regularization:
            objective = ops.add(objective, ops.multiply(term, share))
    return objective, per_output, float(totals[-1])


def _metric_variables(model):
    return [v for _, metric in model._all_metrics() for v in metric.variables]


def _finish(model, local_loss, per_output, global_count, variables, reduced_states):
    """Tracks the reduced loss and computes the logs from the metrics' reduced states
    (the local states are kept: they go on accumulating locally)."""
    model._track_loss(local_loss, per_output, global_count)
    saved = [v.numpy().copy() for v in variables]
    for v, value in zip(variables, reduced_states):
        v.assign(value.astype(v.dtype, copy=False))
    try:
        return model._logs()
    finally:
        for v, value in zip(variables, saved):
            v.assign(value)


@_guarded
def train_batch(model, dist, x, y, sample_weight):
    """One distributed training step on this process' shard (see the module docstring);
    returns the logs, the same on every process."""
    count = len(tree.flatten(x)[0])
    _synchronize_weights(model, dist, x)
    variables = model.trainable_weights
    _state.in_step = True
    with GradientTape() as tape:
        y_pred = model(x, training=True)
        if model._compiled_outputs is None:
            model._setup_outputs(y, y_pred)
            model._reset_metrics()
        objective, per_output, global_count = _local_objective(model, dist, y, y_pred,
                                                               sample_weight, count)
        scaled = model.optimizer.scale_loss(objective)
    grads = tape.gradient(scaled, variables)
    _state.in_step = False
    model._update_metrics(y, y_pred, sample_weight)
    states = _metric_variables(model)
    present = [i for i, g in enumerate(grads) if g is not None]
    names = list(per_output)
    scalars = np.array([float(np.asarray(unwrap(objective)))] +
                       [float(np.asarray(unwrap(per_output[n]))) for n in names], np.float64)
    reduced = dist.engine.allreduce([np.asarray(unwrap(grads[i])) for i in present] +
                                    [scalars] + [v.numpy() for v in states])
    summed = list(grads)
    for i, g in zip(present, reduced):
        summed[i] = g
    model.optimizer.apply(summed, variables)
    totals = reduced[len(present)]
    loss_values = dict(zip(names, totals[1:]))
    return _finish(model, totals[0], loss_values, global_count, states,
                   reduced[len(present) + 1:])


@_guarded
def test_batch(model, dist, x, y, sample_weight):
    """One distributed evaluation step on this process' shard: one all-reduce of the loss
    sums, their denominators and the metrics' states; returns the global logs."""
    count = len(tree.flatten(x)[0])
    _synchronize_weights(model, dist, x)
    y_pred = model(x, training=False)
    if model._compiled_outputs is None:
        model._setup_outputs(y, y_pred)
        model._reset_metrics()
    parts = [(output, float(np.asarray(unwrap(s))), d)
             for output, s, d in _output_loss_parts(model, y, y_pred, sample_weight, count)]
    model._update_metrics(y, y_pred, sample_weight)
    states = _metric_variables(model)
    local = np.array([s for _, s, _ in parts] + [1.0 if d is None else d for _, _, d in parts] +
                     [count], np.float64)
    reduced = dist.engine.allreduce([local] + [v.numpy() for v in states])
    totals, k = reduced[0], len(parts)
    per_output, loss = {}, 0.0
    for i, (output, _, d) in enumerate(parts):
        denominator = totals[k + i]
        value = totals[i] if d is None else (totals[i] / denominator if denominator else 0.0)
        per_output[output.name] = value
        loss += value * output.loss_weight
    for term in model.losses:
        loss += float(np.asarray(unwrap(term)))
    return _finish(model, loss, per_output, float(totals[-1]), states, reduced[1:])


# -- BatchNormalization --------------------------------------------------------------------------

def _allreduce_op(t, engine):
    """A differentiable all-reduce (sum): its VJP all-reduces the output gradients."""
    value = engine.allreduce([np.asarray(unwrap(t))])[0]
    return record(value, (t,), lambda grads: (engine.allreduce([grads[0]])[0],))


def batch_norm_train(layer, inputs, mask):
    """`BatchNormalization` in training inside a distributed step: the mean and variance of
    the GLOBAL batch (all-reduced sums; two passes, so the variance has no cancellation),
    and in the backward pass the two per-channel sums of the gradient all-reduced too, so
    that the gradients are those of single-process training on the full batch."""
    engine = _state.current.engine
    if mask is not None:
        return _batch_norm_masked(layer, inputs, mask, engine)
    x = np.asarray(unwrap(inputs))
    axes = layer._reduction_axes
    # The sums travel in float64 (with the count: exact beyond float32's 2**24).
    reduced = engine.allreduce([np.append(x.sum(axis=axes, dtype=np.float64),
                                          float(x.size // layer._channels))])[0]
    count = reduced[-1]
    mean = (reduced[:-1] / count).astype(x.dtype)
    centered = x - layer._broadcast_array(mean)
    variance = (engine.allreduce([np.square(centered).sum(axis=axes, dtype=np.float64)])[0] /
                count).astype(x.dtype)
    count = x.dtype.type(count)
    layer._update_moving(mean, variance)
    rstd = (1.0 / np.sqrt(variance + x.dtype.type(layer.epsilon))).astype(x.dtype)
    normalized = centered * layer._broadcast_array(rstd)
    gamma = None if layer.gamma is None else layer.gamma.value.astype(x.dtype, copy=False)
    beta = None if layer.beta is None else layer.beta.value.astype(x.dtype, copy=False)
    out = normalized if gamma is None else normalized * layer._broadcast_array(gamma)
    if beta is not None:
        out = out + layer._broadcast_array(beta)
    bcast = layer._broadcast_array

    def vjp(grads):
        dy = grads[0]
        d_beta = dy.sum(axis=axes)
        d_gamma = (dy * normalized).sum(axis=axes)
        glob = engine.allreduce([np.concatenate([d_beta, d_gamma])])[0]
        g_beta, g_gamma = glob[:layer._channels], glob[layer._channels:]
        scale = rstd if gamma is None else rstd * gamma
        d_x = bcast(scale / count) * (count * dy - bcast(g_beta) - normalized * bcast(g_gamma))
        # gamma's and beta's gradients stay local: the step's all-reduce sums them.
        return (d_x.astype(x.dtype, copy=False), None if gamma is None else d_gamma,
                None if beta is None else d_beta)

    return record(out, (inputs, layer.gamma, layer.beta), vjp)


def _batch_norm_masked(layer, inputs, mask, engine):
    from rnnkit.layers.normalization.batch_normalization import _MASK_EPSILON
    axes = layer._reduction_axes
    dtype = ops.dtype(inputs)
    weights_np = np.expand_dims(mask.astype(dtype), -1)
    count = engine.allreduce([np.sum(weights_np, axis=axes, keepdims=True)])[0] + \
        np.asarray(_MASK_EPSILON, dtype)
    weights = weights_np
    weighted = ops.multiply(weights, inputs)
    mean = ops.divide(_allreduce_op(ops.sum(weighted, axis=axes, keepdims=True), engine), count)
    sq = ops.multiply(weights, ops.square(ops.subtract(weighted, mean)))
    variance = ops.divide(_allreduce_op(ops.sum(sq, axis=axes, keepdims=True), engine), count)
    mean = ops.reshape(mean, (layer._channels,))
    variance = ops.reshape(variance, (layer._channels,))
    layer._update_moving(np.asarray(unwrap(mean)), np.asarray(unwrap(variance)))
    return layer._normalize(inputs, mean, variance, dtype)


# -- data ---------------------------------------------------------------------------------------------

def shard_bounds(n, num_processes, process_id):
    """The rows `[start, stop)` of a global batch of `n` samples that process `process_id`
    keeps: contiguous shards, the first `n % p` processes one sample more.

    Raises:
        ValueError: If the batch has fewer samples than there are processes.
    """
    if n < num_processes:
        raise ValueError(f"A global batch of {n} sample(s) cannot be split over "
                         f"{num_processes} processes (each needs at least one): use a batch "
                         f"size (and a number of samples) such that every batch, the last one "
                         f"included, has at least {num_processes} samples")
    q, r = divmod(n, num_processes)
    start = process_id * q + min(process_id, r)
    return start, start + q + (1 if process_id < r else 0)


class Sharder:
    """What a data adapter needs under a distribution: which rows of each global batch this
    process keeps, and rank 0's shuffling shared by every process."""

    def __init__(self, dist):
        self.dist = dist

    def rows(self, index, n):
        """The part of a global batch's index (a slice or an index array, `n` samples) that
        this process keeps."""
        start, stop = shard_bounds(n, self.dist.num_processes, self.dist.process_id)
        if isinstance(index, slice):
            return slice(index.start + start, index.start + stop)
        return index[start:stop]

    def shared_order(self, n, batch_size, shuffle):
        """The order of one pass's samples drawn on rank 0 (as one process draws it:
        `np.random.permutation(n)`, or a permutation inside each batch for
        `shuffle="batch"`) and broadcast, so every process cuts the same global batches."""
        if shuffle == "batch":
            order = np.concatenate([np.random.permutation(min(batch_size, n - s)) + s
                                    for s in range(0, n, batch_size)]).astype(np.int64)
        else:
            order = np.random.permutation(n).astype(np.int64)
        return self.dist.engine.broadcast([order])[0]

    def rank0_order(self, order):
        """Rank 0's `order` (a list of batch indices), on every process."""
        return [int(i) for i in self.dist.engine.broadcast([np.asarray(order, np.int64)])[0]]

    def batch(self, batch):
        """This process' slice of a global `(x, y, sample_weight)` batch (generators and
        PyDatasets)."""
        x, y, weights = batch
        n = len(tree.flatten(x)[0])
        start, stop = shard_bounds(n, self.dist.num_processes, self.dist.process_id)

        def take(structure):
            if structure is None:
                return None
            return tree.map_structure(lambda a: None if a is None else a[start:stop], structure)

        return take(x), take(y), None if weights is None else weights[start:stop]


def sharder(mode):
    """A `Sharder` for an input of `fit` / `evaluate` under the current distribution, or
    None (no distribution, `auto_shard_dataset=False`, or `predict`, which every process
    runs on all of its data)."""
    dist = _state.current
    if dist is None or not dist.auto_shard_dataset or mode == "predict" or \
            dist.num_processes == 1:
        return None
    return Sharder(dist)


# -- callbacks -----------------------------------------------------------------------------------

def callbacks_for_rank(callbacks):
    """The callbacks a process runs: all of them on rank 0; elsewhere all but the progress
    bar and the callbacks that write files (`ModelCheckpoint`, `CSVLogger`, and any callback
    with an attribute `chief_only = True`)."""
    dist = _state.current
    if dist is None or dist.process_id == 0:
        return callbacks
    from rnnkit.callbacks import CSVLogger, ModelCheckpoint, ProgbarLogger
    return [cb for cb in callbacks
            if not isinstance(cb, (ProgbarLogger, ModelCheckpoint, CSVLogger)) and
            not getattr(cb, "chief_only", False)]
