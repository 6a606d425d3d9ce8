"""The data inputs of `fit`, `evaluate` and `predict`, and `keras.utils.PyDataset`.

`fit` / `evaluate` / `predict` accept, as in Keras 3:

* NumPy arrays and array-likes (pandas DataFrames and Series, tensors; also nested Python lists
  of numbers, which Keras 3 refuses), alone or in lists / tuples (several inputs or outputs) and
  dicts (inputs or outputs by name): `ArrayAdapter`. A tuple `x` is several inputs, never
  `(x, y)`, as in Keras.
* A Python generator, or any iterator, yielding batches `(x,)`, `(x, y)` or
  `(x, y, sample_weight)` (or `x` alone): `GeneratorAdapter`. It is read once, as a stream.
* A `PyDataset` (`keras.utils.PyDataset`, alias `keras.utils.Sequence`): batch `i` is
  `dataset[i]`, a pass visits its `len()` batches: `PyDatasetAdapter`.

Every adapter gives passes over its data, as NumPy batches `(x, y, sample_weight)`:
`start_pass()` begins one (a fresh shuffled order for arrays and a PyDataset; a generator just
goes on), `take(count)` yields the pass's next batches (at most `count`; all that are left when
`count` is None), `pass_done` tells whether the pass is over, `num_batches` is the length of a
pass (None when unknown), and `on_epoch_begin` / `on_epoch_end` are called around each epoch.

`EpochIterator` cuts the passes into epochs with Keras' rules: without a step count an epoch is
one whole pass; with `steps_per_epoch` (`steps`, `validation_steps`) an epoch takes the next
`steps` batches, going on in the same pass from one epoch to the next, and a pass that ends
early ends its epoch early (with a warning; the next epoch starts a new pass). Evaluation
(`evaluate`, `predict`, the validation inside `fit`) starts a new pass every run.

Where rnnkit deliberately differs from Keras 3.15: a generator is never rewound (Keras replays
the two batches it peeked at to build the model), so a finite generator without
`steps_per_epoch` trains one epoch, then training stops with a warning; plain iterators are
accepted besides generators; generators may yield lists and lone inputs as PyDatasets may;
`use_multiprocessing=True` is refused.
"""

from __future__ import annotations

import collections
import concurrent.futures
import itertools
import math
import random as _py_random
import types
import warnings

import numpy as np

from rnnkit import array_library, tree
from rnnkit.distribution import _state as _distribution

__all__ = ["PyDataset", "Sequence", "EpochIterator", "get_adapter", "unpack_validation_data",
           "train_validation_split"]


# -- arrays ----------------------------------------------------------------------------------

def _to_array(value):
    """A NumPy array from an array-like (a tensor through `.numpy()`); an array is returned as
    is, not copied."""
    if type(value) is np.ndarray:
        return value
    if hasattr(value, "shape") and not array_library.is_host(value):
        return value     # a device array (CuPy, ...): batches are sliced on its device
    if hasattr(value, "numpy") and not isinstance(value, np.ndarray):
        value = value.numpy()
    return np.asarray(value)


_NUMBER_TYPES = (bool, int, float, complex, np.number, np.bool_)


def _is_plain_data(value):
    """True for a number or a (nested) list / tuple of numbers only: data, not a structure."""
    if isinstance(value, (list, tuple)):
        return all(_is_plain_data(v) for v in value)
    return isinstance(value, _NUMBER_TYPES)


def _structure_to_arrays(data):
    """Arrays for every leaf of a structure of inputs / targets (lists, tuples, dicts).

    A list or tuple of numbers only (nested to any depth) is one array, not a structure; one
    whose rows do not form an array (ragged) is read as a structure after all."""
    if data is None:
        return None
    if isinstance(data, dict):
        return {k: _structure_to_arrays(v) for k, v in data.items()}
    if isinstance(data, (list, tuple)):
        if data and _is_plain_data(data):
            try:
                return np.asarray(data)
            except ValueError:
                pass
        return [_structure_to_arrays(v) for v in data]
    return _to_array(data)


def _num_samples(*structures):
    """The number of samples shared by every array of `x`, `y` and `sample_weight`."""
    sizes = {}
    for label, structure in zip(("x", "y", "sample_weight"), structures):
        if structure is None:
            continue
        lengths = []
        for a in tree.flatten(structure):
            if a is None:
                continue
            if np.ndim(a) == 0:
                raise ValueError(
                    f"Expected every array of `{label}` to have a batch dimension (rank >= 1); "
                    f"got a scalar: {label}={_short_repr(a)}")
            lengths.append(len(a))
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
    """The samples `index` (a slice or an index array) of every array of a structure."""
    if structure is None:
        return None
    return tree.map_structure(lambda a: a[index], structure)


def _class_weights(y, class_weight):
    """Per-sample weights from `class_weight` ({class index: weight}) and the targets `y`:
    integer labels, or one-hot / probability rows (their argmax). Classes not in the dict
    weigh 1."""
    leaves = [a for a in tree.flatten(y) if a is not None]
    if len(leaves) != 1:
        raise ValueError("`class_weight` is only supported for models with a single output; "
                         f"`y` has {len(leaves)} arrays. Use `sample_weight` instead.")
    labels = np.asarray(leaves[0])
    if labels.ndim >= 2 and labels.shape[-1] > 1:
        labels = labels.argmax(axis=-1)
    labels = np.round(labels.reshape(len(labels), -1)[:, 0]).astype(np.int64)
    weights = np.ones(len(labels), dtype=np.float32)
    for cls, w in class_weight.items():
        weights[labels == int(cls)] = w
    return weights


def _short_repr(value, limit=100):
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "..."


def _unrecognized(what, value):
    return ValueError(
        f"Unrecognized data type: {what}={_short_repr(value)} (of type {type(value).__name__}). "
        f"Expected NumPy arrays or array-likes (pandas DataFrames and Series, lists of numbers), "
        f"a list / tuple / dict of them, a Python generator or iterator yielding batches, or a "
        f"`keras.utils.PyDataset`.")


def missing_targets_error(method, x):
    """The error for `fit` / `evaluate` / `*_on_batch` on arrays without `y`."""
    hint = ""
    if isinstance(x, (tuple, list)) and len(x) in (2, 3) and not _is_plain_data(x):
        hint = (" A tuple or list `x` holds several inputs, not `(x, y)`: pass the targets as "
                "`y`, or give `(inputs, targets)` batches with a generator or a "
                "`keras.utils.PyDataset`.")
    return ValueError(f"`{method}` needs the targets: pass `y`.{hint}")


def warn_exhausted(iterator, consequence, argument="x", steps_name="steps_per_epoch"):
    """Warn that a generator (the `argument` of fit) has no batch left."""
    warnings.warn(
        f"Your input ran out of data: the {iterator.kind} given as `{argument}` has no batch "
        f"left, so {consequence}. A generator is read only once: to use it for several "
        f"epochs, make it loop forever (`while True:`) and pass `{steps_name}`, or use a "
        f"`keras.utils.PyDataset`, which starts over every epoch.", stacklevel=3)


def _check_arrays(structure, what):
    for leaf in tree.flatten(structure):
        if leaf is not None and leaf.dtype == object and leaf.ndim == 0:
            raise _unrecognized(what, leaf.item())


# -- the adapters ----------------------------------------------------------------------------

class DataAdapter:
    """What the loops need from an input: passes of `(x, y, sample_weight)` NumPy batches.

    The base class of `ArrayAdapter`, `GeneratorAdapter` and `PyDatasetAdapter` (internal:
    `fit`, `evaluate` and `predict` choose one with `get_adapter`). See the module
    docstring for the protocol.
    """

    #: what the data is, for messages ("arrays", "Python generator", "PyDataset")
    kind = "data"

    @property
    def num_batches(self):
        """The number of batches in one pass, None if unknown (a generator)."""
        raise NotImplementedError

    @property
    def pass_done(self):
        """Whether the current pass is over (True before the first pass)."""
        raise NotImplementedError

    def start_pass(self):
        """Begin a new pass over the data."""
        raise NotImplementedError

    def take(self, count=None):
        """Yield the next batches of the current pass: at most `count`, or all that are left."""
        raise NotImplementedError

    def has_data(self):
        """False when the data has no batch left at all (an exhausted generator)."""
        return True

    def on_epoch_begin(self):
        """Called at the start of every epoch (a PyDataset's hook runs here)."""
        pass

    def on_epoch_end(self):
        """Called at the end of every epoch (a PyDataset's hook runs here)."""
        pass


def _batch_from_parts(x, y, sample_weight, class_weight, mode, source):
    """One batch from the user's `(x, y, sample_weight)`: arrays, checked sizes, class weights."""
    x = _structure_to_arrays(x)
    if mode == "predict":
        return x, None, None
    if y is None:
        raise ValueError(
            f"`{mode}` needs targets, but {source} gave a batch of inputs only. Give batches "
            f"`(inputs, targets)` or `(inputs, targets, sample_weights)`.")
    y = _structure_to_arrays(y)
    if sample_weight is not None:
        sample_weight = np.asarray(_to_array(sample_weight))
    _num_samples(x, y, sample_weight)
    if class_weight is not None:
        weights = _class_weights(y, class_weight)
        sample_weight = weights if sample_weight is None else sample_weight * weights
    return x, y, sample_weight


def _unpack_batch(batch, source):
    """`(x, y, sample_weight)` from a batch given by a generator or a PyDataset: a tuple (or
    list) `(x,)`, `(x, y)`, `(x, y, sample_weight)`, or the inputs alone (an array or a dict)."""
    if isinstance(batch, (tuple, list)):
        if 1 <= len(batch) <= 3:
            return tuple(batch) + (None,) * (3 - len(batch))
        got = f"a {type(batch).__name__} of {len(batch)} elements"
    elif isinstance(batch, dict) or (batch is not None and not isinstance(batch, (str, bytes))
                                     and (hasattr(batch, "__array__") or hasattr(batch, "numpy"))):
        return batch, None, None
    else:
        got = f"{_short_repr(batch)} (of type {type(batch).__name__})"
    raise ValueError(
        f"{source[0].upper()}{source[1:]} must give each batch as a tuple `(inputs,)`, "
        f"`(inputs, targets)` or `(inputs, targets, sample_weights)` (or the inputs alone: an "
        f"array or a dict of arrays). Received: {got}")


class ArrayAdapter(DataAdapter):
    """Arrays (structures of arrays) cut into batches of `batch_size` samples.

    `shuffle=True` draws a new order of the samples for each pass (NumPy's global generator,
    seeded by `keras.utils.set_random_seed`), `shuffle="batch"` shuffles within each batch, and
    `shuffle=False` gives the batches in order (as views, not copies). Without `batch_size`,
    the batches hold 32 samples, or `ceil(num_samples / steps)` when `steps` is given (Keras)."""

    kind = "arrays"
    sharder = None   # under a distribution: which rows of each batch this process keeps

    def __init__(self, x, y=None, sample_weight=None, batch_size=None, steps=None,
                 shuffle=False, class_weight=None, mode="fit"):
        if mode != "predict" and y is None:
            raise missing_targets_error(mode, x)
        x = _structure_to_arrays(x)
        _check_arrays(x, "x")
        if mode != "predict":
            y = _structure_to_arrays(y)
            _check_arrays(y, "y")
            if sample_weight is not None:
                sample_weight = np.asarray(_to_array(sample_weight))
        else:
            y = sample_weight = None
        self._n = _num_samples(x, y, sample_weight)
        if class_weight is not None and y is not None:
            weights = _class_weights(y, class_weight)
            sample_weight = weights if sample_weight is None else sample_weight * weights
        if batch_size is None:
            batch_size = int(math.ceil(self._n / steps)) if steps else 32
        self._x, self._y, self._sample_weight = x, y, sample_weight
        self._batch_size = max(int(batch_size), 1)
        self._num_batches = int(math.ceil(self._n / self._batch_size))
        self._shuffle = shuffle
        self._order = None
        self._position = self._num_batches  # no pass started

    @property
    def num_batches(self):
        return self._num_batches

    @property
    def pass_done(self):
        return self._position >= self._num_batches

    def start_pass(self):
        self._position = 0
        shuffle = self._shuffle
        if self.sharder is not None and shuffle:   # every process: rank 0's order
            self._order = self.sharder.shared_order(self._n, self._batch_size, shuffle)
            return
        self._order = np.random.permutation(self._n) if shuffle and shuffle != "batch" else None

    def take(self, count=None):
        x, y, weights = self._x, self._y, self._sample_weight
        size, n, order = self._batch_size, self._n, self._order
        stop = self._num_batches if count is None else min(self._num_batches,
                                                           self._position + count)
        while self._position < stop:
            i = self._position
            self._position += 1
            start, end = i * size, min((i + 1) * size, n)
            if order is not None:
                index = order[start:end]
            elif self._shuffle == "batch":
                index = np.random.permutation(end - start) + start
            else:
                index = slice(start, end)
            if self.sharder is not None:
                index = self.sharder.rows(index, end - start)
            yield (_take(x, index), None if y is None else _take(y, index),
                   None if weights is None else weights[index])


class GeneratorAdapter(DataAdapter):
    """A Python generator (or any iterator) of batches, read once as one stream.

    Its length is unknown. The first batch is read when the adapter is made, to check it (an
    empty generator, or a batch of the wrong form, is refused before training starts). The
    stream is never rewound: once it has ended, every later pass is empty."""

    kind = "Python generator"

    def __init__(self, iterator, mode="fit"):
        self._iterator = iterator
        self._mode = mode
        self._buffer = collections.deque()
        self._exhausted = False
        if not self.has_data():
            raise ValueError(
                f"The Python generator (or iterator) given to `{mode}` yielded no batch: it must "
                f"yield at least one batch, such as an `(inputs, targets)` tuple. (A generator "
                f"is read only once: was it used up already?)")
        _unpack_batch(self._buffer[0], "a generator")

    @property
    def num_batches(self):
        return None

    @property
    def pass_done(self):
        return self._exhausted and not self._buffer

    def start_pass(self):
        pass  # a stream goes on where it was

    def has_data(self):
        if self._buffer:
            return True
        if self._exhausted:
            return False
        try:
            self._buffer.append(next(self._iterator))
        except StopIteration:
            self._exhausted = True
            return False
        return True

    def take(self, count=None):
        taken = 0
        while count is None or taken < count:
            if not self.has_data():
                return
            batch = self._buffer.popleft()
            taken += 1
            x, y, sample_weight = _unpack_batch(batch, "a generator")
            yield _batch_from_parts(x, y, sample_weight, None, self._mode, "the generator")


class PyDatasetAdapter(DataAdapter):
    """A `PyDataset`: a pass visits batches `dataset[0]` ... `dataset[len(dataset) - 1]` (in a
    new random order each pass with `shuffle=True`, drawn with Python's `random`, seeded by
    `keras.utils.set_random_seed`); an infinite one (`num_batches` None) counts up forever.

    With `workers > 1`, that many threads call `dataset[i]` ahead of the loop, at most
    `max_queue_size` batches ahead and only within the current epoch (so `on_epoch_end` sees
    no batch of the next epoch fetched yet); the batches still arrive in order.
    `class_weight` weighs each batch's samples by their class."""

    kind = "PyDataset"
    sharder = None   # under a distribution: every process visits rank 0's batch order

    def __init__(self, dataset, shuffle=False, class_weight=None, mode="fit"):
        self._dataset = dataset
        self._mode = mode
        self._class_weight = class_weight
        self._workers = dataset.workers
        self._max_queue_size = dataset.max_queue_size
        if dataset.use_multiprocessing and self._workers and self._workers > 0:
            raise ValueError(
                "rnnkit does not support `use_multiprocessing=True` for a PyDataset: the worker "
                "processes would be forked from a process running rnnkit's C++ threads, which "
                "is not safe. Construct the PyDataset with `use_multiprocessing=False` (the "
                "default); with `workers=N`, N threads then prepare the batches (NumPy and file "
                "reads release the GIL, so threads overlap well).")
        num_batches = dataset.num_batches
        if num_batches is not None and int(num_batches) <= 0:
            raise ValueError(
                f"The PyDataset given to `{mode}` has no batches (`num_batches` / `len()` is "
                f"{num_batches}); it must have at least one.")
        if num_batches is None and shuffle:
            warnings.warn(
                "`shuffle=True` has no effect on an infinite PyDataset (its `num_batches` is "
                "None): its batches are read in index order, so it should shuffle them itself.",
                stacklevel=5)
            shuffle = False
        self._shuffle = bool(shuffle)
        self._order = []
        self._count = 0        # batches in the current pass (None: infinite)
        self._position = 0

    @property
    def num_batches(self):
        return self._dataset.num_batches

    @property
    def pass_done(self):
        return self._count is not None and self._position >= self._count

    def start_pass(self):
        count = self._dataset.num_batches
        self._count = None if count is None else int(count)
        self._position = 0
        if self._count is not None:
            self._order = list(range(self._count))
            if self._shuffle:
                _py_random.shuffle(self._order)
                if self.sharder is not None:
                    self._order = self.sharder.rank0_order(self._order)

    def take(self, count=None):
        if self._count is None:
            start = self._position
            indices = itertools.count(start) if count is None else range(start, start + count)
        else:
            stop = self._count if count is None else min(self._count, self._position + count)
            indices = self._order[self._position:stop]
        fetched = self._fetch(indices)
        try:
            for batch in fetched:
                self._position += 1
                x, y, sample_weight = _unpack_batch(batch, "`PyDataset.__getitem__`")
                yield _batch_from_parts(x, y, sample_weight, self._class_weight, self._mode,
                                        "the PyDataset")
        finally:
            fetched.close()  # stops the worker threads when the loop leaves early

    def _fetch(self, indices):
        dataset = self._dataset
        if not self._workers or self._workers <= 1:
            for i in indices:
                yield dataset[i]
            return
        depth = max(int(self._max_queue_size or 1), 1)
        pool = concurrent.futures.ThreadPoolExecutor(
            max_workers=int(self._workers), thread_name_prefix="rnnkit-PyDataset")
        try:
            indices = iter(indices)
            pending = collections.deque(
                pool.submit(dataset.__getitem__, i) for i in itertools.islice(indices, depth))
            while pending:
                batch = pending.popleft().result()
                for i in itertools.islice(indices, 1):
                    pending.append(pool.submit(dataset.__getitem__, i))
                yield batch
        finally:
            pool.shutdown(wait=True, cancel_futures=True)

    def on_epoch_begin(self):
        self._dataset.on_epoch_begin()

    def on_epoch_end(self):
        self._dataset.on_epoch_end()


# -- choosing an adapter ---------------------------------------------------------------------

def _is_iterator(x):
    return isinstance(x, types.GeneratorType) or (
        hasattr(type(x), "__next__") and hasattr(type(x), "__iter__")
        and not isinstance(x, np.ndarray))


def _refuse_argument(argument, value, kind, what):
    if value is None:
        return
    raise ValueError(
        f"When `x` is a {kind}, `{argument}` must not be passed: {what} come from the {kind}, "
        f"as part of each batch `(inputs, targets, sample_weights)`. "
        f"Received: {argument}={_short_repr(value)}")


def get_adapter(x, y=None, sample_weight=None, batch_size=None, steps=None, shuffle=False,
                class_weight=None, mode="fit"):
    """The adapter for the input `x` (with `y` and `sample_weight` for arrays).

    `mode` is "fit", "evaluate" or "predict": `predict` reads only the inputs of each batch,
    the others need targets; `shuffle` is only ever True for `fit`."""
    if isinstance(x, DataAdapter):
        return x
    if isinstance(x, PyDataset) or _is_iterator(x):
        kind = "PyDataset" if isinstance(x, PyDataset) else "Python generator"
        _refuse_argument("y", y, kind, "the targets")
        _refuse_argument("sample_weight", sample_weight, kind, "the sample weights")
        if isinstance(x, PyDataset):
            return PyDatasetAdapter(x, shuffle=shuffle, class_weight=class_weight, mode=mode)
        if class_weight is not None:
            raise ValueError(
                "`class_weight` is not supported when `x` is a Python generator (as in Keras). "
                "Yield `(inputs, targets, sample_weights)` batches with the weights computed in "
                "the generator, or use a `keras.utils.PyDataset`, whose batches `class_weight` "
                f"weighs. Received: class_weight={class_weight}")
        if shuffle:
            warnings.warn(
                "`shuffle=True` has no effect when `x` is a Python generator: its batches are "
                "used in the order it yields them, so it should shuffle them itself (pass "
                "`shuffle=False` to silence this warning).", stacklevel=4)
        return GeneratorAdapter(x, mode=mode)
    if x is None:
        raise ValueError("No data: pass `x` (and `y` for fit/evaluate).")
    if isinstance(x, (str, bytes)):
        raise _unrecognized("x", x)
    return ArrayAdapter(x, y, sample_weight, batch_size=batch_size, steps=steps,
                        shuffle=shuffle, class_weight=class_weight, mode=mode)


def unpack_validation_data(validation_data):
    """`(x, y, sample_weight)` from fit's `validation_data`: a tuple or list `(x_val, y_val)` /
    `(x_val, y_val, val_sample_weight)`, or a generator / PyDataset (as `x`)."""
    if isinstance(validation_data, PyDataset) or _is_iterator(validation_data):
        return validation_data, None, None
    if isinstance(validation_data, (list, tuple)) and len(validation_data) in (2, 3):
        x, y = validation_data[0], validation_data[1]
        return x, y, validation_data[2] if len(validation_data) == 3 else None
    raise ValueError(
        "`validation_data` must be a tuple (x_val, y_val) or (x_val, y_val, val_sample_weight), "
        "a Python generator or iterator yielding such batches, or a `keras.utils.PyDataset`; "
        f"received {_short_repr(validation_data)} (of type {type(validation_data).__name__})")


def train_validation_split(x, y, sample_weight, validation_split):
    """Split arrays into their first `1 - validation_split` part (training) and the rest
    (validation), as fit's `validation_split` does. Returns `(x, y, sample_weight)` twice."""
    if not 0.0 < validation_split < 1.0:
        raise ValueError(f"`validation_split` must be in [0, 1), got {validation_split}")
    for value in (x, y, sample_weight):
        if isinstance(value, PyDataset) or _is_iterator(value):
            raise ValueError(
                "`validation_split` is only supported when the data are arrays: it cannot split "
                f"a {type(value).__name__}. Pass `validation_data` instead. "
                f"Received: validation_split={validation_split}")
    x, y = _structure_to_arrays(x), _structure_to_arrays(y)
    if sample_weight is not None:
        sample_weight = np.asarray(_to_array(sample_weight))
    n = _num_samples(x, y, sample_weight)
    split = int(math.floor(n * (1.0 - validation_split)))
    if split == 0 or split == n:
        raise ValueError(
            f"The training data has {n} samples, too few to keep a validation part of "
            f"`validation_split={validation_split}` and a training part that are both "
            f"non-empty. Provide more data or another `validation_split`.")
    head, tail = slice(0, split), slice(split, None)
    train = (_take(x, head), _take(y, head),
             None if sample_weight is None else sample_weight[head])
    val = (_take(x, tail), _take(y, tail),
           None if sample_weight is None else sample_weight[tail])
    return train, val


# -- epochs ----------------------------------------------------------------------------------

class EpochIterator:
    """The epochs of a loop over one input (see the module docstring for the rules).

    Args:
        x, y, sample_weight, batch_size, shuffle, class_weight, mode: as `get_adapter`.
        steps: the batches of one epoch (`steps_per_epoch`, `validation_steps`, `steps`), or
            None for whole passes.
        steps_name: the argument that gave `steps`, for messages.
    """

    def __init__(self, x, y=None, sample_weight=None, batch_size=None, steps=None,
                 shuffle=False, class_weight=None, mode="fit", steps_name="steps_per_epoch"):
        if steps is not None:
            if isinstance(steps, bool) or int(steps) != steps or steps < 1:
                raise ValueError(f"`{steps_name}` must be a positive integer or None, "
                                 f"got {steps!r}")
            steps = int(steps)
        if batch_size is not None:
            if isinstance(batch_size, bool) or int(batch_size) != batch_size or batch_size < 1:
                raise ValueError(f"`batch_size` must be a positive integer, got {batch_size!r}")
            batch_size = int(batch_size)
        self.steps = steps
        self.steps_name = steps_name
        self.adapter = get_adapter(x, y, sample_weight, batch_size=batch_size, steps=steps,
                                   shuffle=shuffle, class_weight=class_weight, mode=mode)
        self._sharder = None
        if _distribution.current is not None:   # data-parallel: this process' shard only
            from rnnkit.distribution import _training
            self._sharder = _training.sharder(mode)
            if isinstance(self.adapter, ArrayAdapter):
                self.adapter.sharder, self._sharder = self._sharder, None
            elif isinstance(self.adapter, PyDatasetAdapter):
                self.adapter.sharder = self._sharder

    @property
    def num_batches(self):
        """The steps of an epoch as the callbacks see them (`params["steps"]`); None if
        unknown."""
        return self.steps if self.steps else self.adapter.num_batches

    @property
    def kind(self):
        """What the data is, for messages: the adapter's `kind`."""
        return self.adapter.kind

    def has_data(self):
        """False when the input has no batch left (an exhausted generator)."""
        return self.adapter.has_data()

    def epoch(self, restart=False):
        """Yield `(step, (x, y, sample_weight))` for one epoch; `restart` starts a new pass
        even within a pass (evaluation). Close the generator when leaving the loop early."""
        adapter = self.adapter
        if restart or self.steps is None or adapter.pass_done:
            adapter.start_pass()
        adapter.on_epoch_begin()
        count = 0
        batches = adapter.take(self.steps)
        # A generator / PyDataset under a distribution: this process' slice of each batch.
        items = batches if self._sharder is None else map(self._sharder.batch, batches)
        try:
            for batch in items:
                yield count, batch
                count += 1
        finally:
            batches.close()
            adapter.on_epoch_end()
        if self.steps is not None and count < self.steps:
            if adapter.num_batches is None:
                hint = ("make the generator loop forever (`while True:`) so that it can give "
                        f"`{self.steps_name}` batches for every epoch")
            else:
                hint = (f"one pass over the data has {adapter.num_batches} batches: lower "
                        f"`{self.steps_name}`, or leave it out to run whole passes")
            run = {"steps_per_epoch": "epoch", "validation_steps": "validation"}.get(
                self.steps_name, "run")
            warnings.warn(
                f"Your input ran out of data: this {run} stopped after {count} of its "
                f"{self.steps} steps (`{self.steps_name}={self.steps}`). To avoid it, {hint}.",
                stacklevel=3)


# -- PyDataset -------------------------------------------------------------------------------

class PyDataset:
    """Base class for a dataset written in Python: subclass it to give `fit`, `evaluate` and
    `predict` batches computed on the fly (read from files, augmented, ...).

    The contract:

    - `__len__()` returns the number of batches in one epoch.
    - `__getitem__(index)` returns batch `index`, for `0 <= index < len(self)` (a whole
      batch, not one sample) as `(inputs,)`, `(inputs, targets)` or
      `(inputs, targets, sample_weights)`, or the inputs alone (an array or a dict of
      arrays). `inputs` and `targets` may be arrays, or lists / dicts of them for a model
      with several inputs or outputs. `fit` and `evaluate` need the targets; `predict`
      ignores them.
    - `on_epoch_begin()` / `on_epoch_end()`, optional, are called at the start and end of
      every epoch of `fit` and of every `evaluate` / `predict` run (for example to
      reshuffle the samples).

    An infinite dataset overrides the `num_batches` property to return None (and `fit`
    then needs `steps_per_epoch`). Unlike a generator, a PyDataset starts over every epoch,
    so it can be given to `fit` for several epochs, and as `validation_data`.

    `fit(shuffle=True)` (the default) visits the batches in a new random order every epoch;
    the samples within a batch are up to `__getitem__`. A subclass's `__init__` should call
    `super().__init__(**kwargs)`, so that the arguments below reach the base class.

    Args:
        workers: the number of threads calling `__getitem__` ahead of the training loop (0
            or 1: none, batches are read in the loop itself). With several workers,
            `__getitem__` must be safe to call from several threads at once. Defaults to 1.
        use_multiprocessing: must stay False (the default) when there are workers: rnnkit
            refuses worker processes (`fit`, `evaluate` and `predict` raise ValueError), use
            threads.
        max_queue_size: the most batches the workers prepare ahead of the loop. Defaults
            to 10.

    Example:

    >>> import math
    >>> import numpy as np, rnnkit as keras
    >>> class Batches(keras.utils.PyDataset):
    ...     def __init__(self, x, y, batch_size, **kwargs):
    ...         super().__init__(**kwargs)
    ...         self.x, self.y, self.batch_size = x, y, batch_size
    ...         self.epochs_seen = 0
    ...     def __len__(self):
    ...         return math.ceil(len(self.x) / self.batch_size)
    ...     def __getitem__(self, index):
    ...         part = slice(index * self.batch_size, (index + 1) * self.batch_size)
    ...         return self.x[part], self.y[part]
    ...     def on_epoch_end(self):
    ...         self.epochs_seen += 1
    >>> data = Batches(np.ones((10, 3)), np.zeros((10, 1)), batch_size=4, workers=2)
    >>> len(data), data[2][0].shape
    (3, (2, 3))
    >>> model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    >>> model.compile(optimizer="sgd", loss="mse")
    >>> history = model.fit(data, epochs=2, verbose=0)
    >>> len(history.history["loss"]), data.epochs_seen
    (2, 2)
    """

    def __init__(self, workers=1, use_multiprocessing=False, max_queue_size=10):
        self._workers = workers
        self._use_multiprocessing = use_multiprocessing
        self._max_queue_size = max_queue_size

    def _check_super_init(self):
        missing = [name for name in ("_workers", "_use_multiprocessing", "_max_queue_size")
                   if not hasattr(self, name)]
        if missing:
            self._workers = getattr(self, "_workers", 1)
            self._use_multiprocessing = getattr(self, "_use_multiprocessing", False)
            self._max_queue_size = getattr(self, "_max_queue_size", 10)
            warnings.warn(
                f"The PyDataset subclass {type(self).__name__} should call "
                "`super().__init__(**kwargs)` in its `__init__`, passing on `workers`, "
                "`use_multiprocessing` and `max_queue_size` (arguments of the dataset, not of "
                "`fit()`). Using the defaults.", stacklevel=3)

    @property
    def workers(self):
        """The number of threads that call `__getitem__` ahead of the loop (0 or 1: none).
        Settable."""
        self._check_super_init()
        return self._workers

    @workers.setter
    def workers(self, value):
        self._workers = value

    @property
    def use_multiprocessing(self):
        """Whether worker processes were asked for (rnnkit refuses them: must be False when
        there are workers). Settable."""
        self._check_super_init()
        return self._use_multiprocessing

    @use_multiprocessing.setter
    def use_multiprocessing(self, value):
        self._use_multiprocessing = value

    @property
    def max_queue_size(self):
        """The most batches the worker threads prepare ahead of the loop. Settable."""
        self._check_super_init()
        return self._max_queue_size

    @max_queue_size.setter
    def max_queue_size(self, value):
        self._max_queue_size = value

    def __getitem__(self, index):
        """Batch `index`: `(inputs,)`, `(inputs, targets)` or `(inputs, targets,
        sample_weights)`."""
        raise NotImplementedError(
            f"{type(self).__name__} must implement `__getitem__(self, index)`, returning batch "
            f"`index`.")

    @property
    def num_batches(self):
        """The number of batches (`len(self)`), or None for an infinite dataset."""
        if hasattr(self, "__len__"):
            return len(self)
        raise NotImplementedError(
            f"{type(self).__name__} must implement `__len__` (the number of batches), or the "
            "`num_batches` property (None for an infinite dataset).")

    def __iter__(self):
        """The batches in index order (all of them; forever for an infinite dataset, or one
        that defines neither `__len__` nor `num_batches`)."""
        try:
            count = self.num_batches
        except NotImplementedError:
            count = None
        for index in itertools.count() if count is None else range(count):
            yield self[index]

    def on_epoch_begin(self):
        """Called at the start of every epoch (of `fit`, and of each `evaluate` / `predict`)."""

    def on_epoch_end(self):
        """Called at the end of every epoch (of `fit`, and of each `evaluate` / `predict`)."""


Sequence = PyDataset
