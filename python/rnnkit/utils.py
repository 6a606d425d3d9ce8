"""Utilities (`keras.utils`): random seeding, one-hot labels, sequence padding, `PyDataset`
(alias `Sequence`), the serialization-registry helpers Keras also exposes here, datasets of
batches (`timeseries_dataset_from_array`, `text_dataset_from_directory`, `split_dataset`,
returning NumPy-backed `ArrayDataset`s instead of `tf.data`), `get_file` (cached downloads
with hash checks) and `plot_model` / `model_to_dot`."""

from __future__ import annotations

import hashlib
import os
import random as _py_random
import shutil

import numpy as np

from rnnkit import random as _random
from rnnkit.backend import clear_session, is_keras_tensor, standardize_dtype
from rnnkit import config as _config
from rnnkit.models.data_adapters import PyDataset, Sequence
from rnnkit.progbar import Progbar
from rnnkit.saving import (
    CustomObjectScope,
    custom_object_scope,
    deserialize_keras_object,
    get_custom_objects,
    get_registered_name,
    get_registered_object,
    register_keras_serializable,
    serialize_keras_object,
)

__all__ = [
    "ArrayDataset",
    "clear_session",
    "disable_interactive_logging",
    "enable_interactive_logging",
    "get_source_inputs",
    "is_interactive_logging_enabled",
    "is_keras_tensor",
    "pack_x_y_sample_weight",
    "standardize_dtype",
    "unpack_x_y_sample_weight",
    "get_file",
    "model_to_dot",
    "model_to_dot_source",
    "plot_model",
    "split_dataset",
    "text_dataset_from_directory",
    "timeseries_dataset_from_array",
    "validate_file",
    "CustomObjectScope",
    "Progbar",
    "PyDataset",
    "Sequence",
    "custom_object_scope",
    "deserialize_keras_object",
    "get_custom_objects",
    "get_random_seed",
    "get_registered_name",
    "get_registered_object",
    "normalize",
    "pad_sequences",
    "register_keras_serializable",
    "serialize_keras_object",
    "set_random_seed",
    "to_categorical",
]

_global_random_seed = None


def set_random_seed(seed):
    """Seeds every source of randomness, for reproducible programs.

    Seeds rnnkit's global random stream (used by `rnnkit.random` with `seed=None`, the
    unseeded initializers, dropout, shuffling, ...), Python's `random` module and NumPy's
    legacy global generator (`np.random.seed`), as `keras.utils.set_random_seed` does.
    After `set_random_seed(s)`, the same program draws the same values.

    Args:
        seed: Int, the seed.

    Raises:
        ValueError: If `seed` is not an int.

    Example:

    >>> import numpy as np, rnnkit as keras
    >>> keras.utils.set_random_seed(1)
    >>> a = keras.random.normal((3,))
    >>> keras.utils.set_random_seed(1)
    >>> bool(np.array_equal(a, keras.random.normal((3,))))
    True
    """
    if not isinstance(seed, int) or isinstance(seed, bool):
        raise ValueError(
            "Expected `seed` argument to be an integer. "
            f"Received: seed={seed} (of type {type(seed)})")
    global _global_random_seed
    _global_random_seed = seed
    _py_random.seed(seed)
    np.random.seed(seed % (1 << 32))
    _random._set_global_seed(seed)


def get_random_seed():
    """Returns the seed given to the last `set_random_seed` call.

    Returns:
        The int seed, or `None` when `set_random_seed` was never called.
    """
    return _global_random_seed


def to_categorical(x, num_classes=None):
    """Converts integer class labels to one-hot vectors.

    Args:
        x: Array-like of integer labels in `[0, num_classes)`. A trailing axis of size 1 is
            dropped first, as in Keras.
        num_classes: Optional int, the number of classes. Defaults to `max(x) + 1`.

    Returns:
        A float32 array of shape `x.shape + (num_classes,)`.

    Example:

    >>> import rnnkit as keras
    >>> keras.utils.to_categorical([0, 2, 1])
    array([[1., 0., 0.],
           [0., 0., 1.],
           [0., 1., 0.]], dtype=float32)
    """
    x = np.array(x, dtype="int64")
    input_shape = x.shape
    if input_shape and input_shape[-1] == 1 and len(input_shape) > 1:
        input_shape = tuple(input_shape[:-1])
    x = x.reshape(-1)
    if not num_classes:
        num_classes = int(np.max(x)) + 1 if x.size else 0
    n = x.shape[0]
    out = np.zeros((n, num_classes), dtype="float32")
    out[np.arange(n), x] = 1
    return out.reshape(tuple(input_shape) + (num_classes,))


def normalize(x, axis=-1, order=2):
    """Divides an array by its norm along an axis (NumPy; zero vectors stay zero).

    Args:
        x: Array-like.
        axis: Int, the axis of the norm. Defaults to -1.
        order: The order of the norm (as in `np.linalg.norm`). Defaults to 2.

    Returns:
        A NumPy array of the shape of `x`.

    Example:

    >>> import rnnkit as keras
    >>> keras.utils.normalize([[3.0, 4.0]])
    array([[0.6, 0.8]])
    """
    x = np.asarray(x)
    norm = np.linalg.norm(x, ord=order, axis=axis, keepdims=True)
    return x / np.where(norm == 0, 1, norm)


def pad_sequences(sequences, maxlen=None, dtype="int32", padding="pre", truncating="pre",
                  value=0.0):
    """Pads (or truncates) a list of sequences to a common length.

    Args:
        sequences: A list of sequences (lists or arrays; their items may themselves be
            arrays of one common shape).
        maxlen: Optional int, the length of the result. Defaults to the longest sequence.
        dtype: The dtype of the result. Defaults to `"int32"` (use `object` for strings).
        padding: `"pre"` (the default) or `"post"`: where to add the padding.
        truncating: `"pre"` (the default) or `"post"`: where to cut sequences longer than
            `maxlen`.
        value: The padding value. Defaults to 0.

    Returns:
        An array of shape `(len(sequences), maxlen) + sample_shape`; empty sequences become
        all `value`.

    Raises:
        ValueError: If `sequences` is not a list of iterables, `padding` or `truncating` is
            unknown, a string `value` is used with a non-string dtype, or the samples have
            different shapes.

    Example:

    >>> import rnnkit as keras
    >>> keras.utils.pad_sequences([[1, 2, 3], [4]], maxlen=2)
    array([[2, 3],
           [0, 4]], dtype=int32)
    >>> keras.utils.pad_sequences([[1, 2, 3], [4]], padding="post")
    array([[1, 2, 3],
           [4, 0, 0]], dtype=int32)
    """
    if not hasattr(sequences, "__len__"):
        raise ValueError("`sequences` must be iterable.")
    num_samples = len(sequences)
    lengths = []
    sample_shape = ()
    flag = True
    for x in sequences:
        try:
            lengths.append(len(x))
            if flag and len(x):
                sample_shape = np.asarray(x).shape[1:]
                flag = False
        except TypeError as e:
            raise ValueError(
                "`sequences` must be a list of iterables. "
                f"Found non-iterable: {str(x)}") from e
    if maxlen is None:
        maxlen = int(np.max(lengths)) if lengths else 0
    is_dtype_str = np.issubdtype(np.dtype(dtype), np.str_) or np.issubdtype(
        np.dtype(dtype), np.object_)
    if isinstance(value, str) and dtype is not object and not is_dtype_str:
        raise ValueError(
            f"`dtype` {dtype} is not compatible with `value`'s type: {type(value)}\n"
            "You should set `dtype=object` for variable length strings.")
    if padding not in ("pre", "post"):
        raise ValueError(f'Padding type "{padding}" not understood')
    if truncating not in ("pre", "post"):
        raise ValueError(f'Truncating type "{truncating}" not understood')
    out = np.full((num_samples, maxlen) + tuple(sample_shape), value, dtype=dtype)
    for idx, s in enumerate(sequences):
        if not len(s):
            continue
        trunc = s[-maxlen:] if truncating == "pre" else s[:maxlen]
        if maxlen == 0:
            trunc = s[:0]
        trunc = np.asarray(trunc, dtype=dtype)
        if trunc.shape[1:] != tuple(sample_shape):
            raise ValueError(
                f"Shape of sample {trunc.shape[1:]} of sequence at position {idx} is "
                f"different from expected shape {tuple(sample_shape)}")
        if not len(trunc):
            continue
        if padding == "post":
            out[idx, :len(trunc)] = trunc
        else:
            out[idx, -len(trunc):] = trunc
    return out


# ------------------------------------------------------------------------------------------------
# Datasets of batches: timeseries windows, text files, splits
# ------------------------------------------------------------------------------------------------

class ArrayDataset(PyDataset):
    """Batches cut from NumPy arrays by index (what the dataset utilities below return).

    It is a `PyDataset`, so `fit`, `evaluate` and `predict` take it directly (and
    `validation_data`); it can also be iterated (`for x, y in dataset: ...`), indexed
    (`dataset[i]` is batch `i`) and measured (`len(dataset)` batches,
    `dataset.cardinality()` samples). Batch `i` holds the samples `indices[i * batch_size :
    (i + 1) * batch_size]` of each array, cut by `sample_fn(array_index, sample_indices)`.

    Args:
        parts: A tuple of array-likes (inputs, then targets, ...) of the same length, or
            one array-like.
        batch_size: Optional int; `None` makes every item a single sample (no batch axis).
        indices: Optional array of sample indices (an order, a subset). Defaults to all.
        sample_fn: Optional callable `(part_index, sample_indices) -> array` used instead
            of plain indexing (for windows over a series).
        **kwargs: `workers`, `use_multiprocessing`, `max_queue_size` (see `PyDataset`).

    Example:

    >>> import numpy as np, rnnkit as keras
    >>> data = keras.utils.ArrayDataset((np.arange(5), np.arange(5) * 10), batch_size=2)
    >>> len(data), [y.tolist() for _, y in data]
    (3, [[0, 10], [20, 30], [40]])
    """

    def __init__(self, parts, batch_size=None, indices=None, sample_fn=None, **kwargs):
        super().__init__(**kwargs)
        self._single = not isinstance(parts, tuple)
        self.parts = (parts,) if self._single else tuple(parts)
        self.batch_size = batch_size
        if indices is None:
            lengths = {len(p) for p in self.parts}
            if len(lengths) > 1:
                raise ValueError(f"All arrays of a dataset must have the same length; got "
                                 f"lengths {sorted(lengths)}.")
            indices = np.arange(lengths.pop() if lengths else 0)
        self.indices = np.asarray(indices, dtype=np.int64)
        self._sample_fn = sample_fn

    def cardinality(self):
        """Returns the number of samples."""
        return int(self.indices.size)

    def __len__(self):
        if self.batch_size is None:
            return self.cardinality()
        return -(-self.cardinality() // self.batch_size)

    def _take(self, idx):
        out = []
        for p, part in enumerate(self.parts):
            if self._sample_fn is not None:
                out.append(self._sample_fn(p, idx))
            elif isinstance(part, np.ndarray):
                out.append(part[idx])
            else:
                out.append(np.asarray([part[i] for i in np.atleast_1d(idx)])
                           if np.ndim(idx) else part[int(idx)])
        return out[0] if self._single else tuple(out)

    def __getitem__(self, index):
        if not -len(self) <= index < len(self):
            raise IndexError(f"Batch index {index} is out of range for a dataset of "
                             f"{len(self)} batches.")
        index %= len(self)
        if self.batch_size is None:
            return self._take(self.indices[index])
        return self._take(self.indices[index * self.batch_size:(index + 1) * self.batch_size])

    def __iter__(self):
        for i in range(len(self)):
            yield self[i]

    def unbatch(self):
        """Returns the same samples one by one (a dataset with `batch_size=None`)."""
        return ArrayDataset(self.parts if not self._single else self.parts[0], None,
                            self.indices, self._sample_fn)

    def batch(self, batch_size):
        """Returns the same samples in batches of `batch_size`."""
        return ArrayDataset(self.parts if not self._single else self.parts[0], batch_size,
                            self.indices, self._sample_fn)


def _check_int(name, value, minimum):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"`{name}` must be an int. Received: {name}={value!r}")
    if value < minimum:
        raise ValueError(f"`{name}` must be higher than {minimum - 1}. Received: "
                         f"{name}={value}")


def timeseries_dataset_from_array(data, targets, sequence_length, sequence_stride=1,
                                  sampling_rate=1, batch_size=128, shuffle=False, seed=None,
                                  start_index=None, end_index=None):
    """Makes a dataset of sliding windows over a time series, with Keras' semantics.

    With `data` restricted to `data[start_index:end_index]` (likewise `targets`), window `i`
    starts at step `s_i = i * sequence_stride` and takes `sequence_length` steps, every
    `sampling_rate`-th: `data[s_i : s_i + sequence_length * sampling_rate : sampling_rate]`.
    Its target is `targets[s_i]` (shift the targets yourself to predict the future). The
    number of windows is `end - start - (sequence_length - 1) * sampling_rate` (at most
    `len(targets)`) divided by the stride (rounded up).

    Args:
        data: Array-like of shape `(timesteps, ...)`.
        targets: Array-like of one target per timestep, or `None` (the dataset then
            yields the windows alone).
        sequence_length: Int, the number of steps of a window.
        sequence_stride: Int, the offset between the starts of consecutive windows.
            Defaults to 1.
        sampling_rate: Int, the step between the timesteps of one window. Defaults to 1.
        batch_size: Int, the number of windows per batch; `None` yields single windows.
            Defaults to 128.
        shuffle: Bool, shuffle the windows (with `np.random.RandomState(seed)`, like
            Keras' order of start positions). Defaults to `False`.
        seed: Optional int, the shuffling seed.
        start_index: Optional int, the first timestep used.
        end_index: Optional int, the timestep after the last one used.

    Returns:
        An `ArrayDataset` of `(windows, targets)` batches (or windows alone): windows have
        shape `(batch, sequence_length, ...)`.

    Raises:
        ValueError: For an index, rate or stride out of range.

    Example:

    >>> import numpy as np, rnnkit as keras
    >>> ds = keras.utils.timeseries_dataset_from_array(
    ...     np.arange(10), np.arange(10) * 10, sequence_length=3, sequence_stride=2,
    ...     batch_size=2)
    >>> x, y = ds[0]
    >>> x.tolist(), y.tolist()
    ([[0, 1, 2], [2, 3, 4]], [0, 20])
    >>> len(ds)  # windows starting at 0, 2, 4, 6
    2
    """
    data = np.asarray(data)
    n = len(data)
    if start_index:
        if start_index < 0:
            raise ValueError(f"`start_index` must be 0 or greater. Received: "
                             f"start_index={start_index}")
        if start_index >= n:
            raise ValueError("`start_index` must be lower than the length of the data. "
                             f"Received: start_index={start_index}, for data of length {n}")
    if end_index:
        if start_index and end_index <= start_index:
            raise ValueError("`end_index` must be higher than `start_index`. Received: "
                             f"start_index={start_index}, and end_index={end_index} ")
        if end_index >= n:
            raise ValueError("`end_index` must be lower than the length of the data. "
                             f"Received: end_index={end_index}, for data of length {n}")
        if end_index <= 0:
            raise ValueError(f"`end_index` must be higher than 0. Received: "
                             f"end_index={end_index}")
    _check_int("sequence_length", sequence_length, 1)
    _check_int("sampling_rate", sampling_rate, 1)
    _check_int("sequence_stride", sequence_stride, 1)
    if sampling_rate >= n:
        raise ValueError("`sampling_rate` must be lower than the length of the data. "
                         f"Received: sampling_rate={sampling_rate}, for data of length {n}")
    if sequence_stride >= n:
        raise ValueError("`sequence_stride` must be lower than the length of the data. "
                         f"Received: sequence_stride={sequence_stride}, for data of length {n}")
    if batch_size is not None:
        _check_int("batch_size", batch_size, 1)
    start = start_index or 0
    end = end_index if end_index is not None else n
    series = data[start:end]
    num_seqs = end - start - (sequence_length - 1) * sampling_rate
    target_part = None
    if targets is not None:
        target_part = np.asarray(targets)[start:end]
        num_seqs = min(num_seqs, len(np.asarray(targets)))
    positions = np.arange(0, max(num_seqs, 0), sequence_stride, dtype=np.int64)
    if shuffle:
        if seed is None:
            seed = np.random.randint(1e6)
        np.random.RandomState(seed).shuffle(positions)
    offsets = np.arange(sequence_length, dtype=np.int64) * sampling_rate
    parts = (series,) if target_part is None else (series, target_part)

    def sample(part, starts):
        if part == 0:
            return series[np.asarray(starts)[..., None] + offsets]
        return target_part[starts]

    return ArrayDataset(parts if target_part is not None else parts[0], batch_size,
                        positions, sample)


def _list_text_files(directory, labels, class_names, follow_links):
    if not os.path.isdir(directory):
        raise ValueError(f"`directory` must be an existing folder. Received: "
                         f"directory={directory!r}")
    subdirs = sorted(d for d in os.listdir(directory)
                     if os.path.isdir(os.path.join(directory, d)))
    if labels == "inferred":
        if class_names is not None:
            class_names = list(class_names)
            if sorted(class_names) != sorted(subdirs) and set(class_names) - set(subdirs):
                raise ValueError("The `class_names` passed did not match the names of the "
                                 f"subdirectories of the target directory. Expected: "
                                 f"{subdirs} (or a subset), but received: "
                                 f"class_names={class_names}")
        else:
            class_names = subdirs
        folders = [(os.path.join(directory, c), i) for i, c in enumerate(class_names)]
    else:
        folders = [(directory, None)]
    paths, label_ids = [], []
    for folder, label in folders:
        for root, _, files in sorted(os.walk(folder, followlinks=follow_links)):
            for name in sorted(files):
                if name.lower().endswith(".txt"):
                    paths.append(os.path.join(root, name))
                    label_ids.append(label)
    return paths, label_ids, class_names


def text_dataset_from_directory(directory, labels="inferred", label_mode="int",
                                class_names=None, batch_size=32, max_length=None, shuffle=True,
                                seed=None, validation_split=None, subset=None,
                                follow_links=False, verbose=True):
    """Makes a dataset of texts and labels from a folder of `.txt` files, as Keras does.

    With `labels="inferred"`, `directory` holds one subfolder per class (sorted
    alphanumerically unless `class_names` fixes the order), each with the `.txt` files of
    that class (subfolders included). The files are read as UTF-8 text.

    Args:
        directory: The folder.
        labels: `"inferred"` (the default), `None` (texts only), or a list/tuple of integer
            labels, one per file in alphanumeric order of their paths.
        label_mode: `"int"` (the default), `"categorical"` (one-hot float32), `"binary"`
            (float32 0/1, two classes only) or `None`.
        class_names: Optional list of subfolder names (and their order).
        batch_size: Int, or `None` for single samples. Defaults to 32.
        max_length: Optional int, the number of characters each text is cut to.
        shuffle: Bool, shuffle the files (seeded). Defaults to `True`.
        seed: Optional int, for the shuffle and the validation split.
        validation_split: Optional float in (0, 1), the share kept for validation (the
            last files of the shuffled order).
        subset: `"training"`, `"validation"` or `"both"` (a pair of datasets); only with
            `validation_split`.
        follow_links: Bool, visit symlinked subfolders. Defaults to `False`.
        verbose: Bool, print how many files and classes were found. Defaults to `True`.

    Returns:
        An `ArrayDataset` of `(texts, labels)` batches (`texts` a NumPy array of str), or of
        texts alone; a pair of datasets with `subset="both"`. Its `class_names` attribute
        lists the classes.

    Raises:
        ValueError: For an invalid argument combination or missing folder.

    Example:

    >>> import os, tempfile, rnnkit as keras
    >>> root = tempfile.mkdtemp()
    >>> for label, text in [("neg", "bad"), ("pos", "good")]:
    ...     os.makedirs(os.path.join(root, label))
    ...     with open(os.path.join(root, label, "a.txt"), "w") as f:
    ...         _ = f.write(text)
    >>> ds = keras.utils.text_dataset_from_directory(root, shuffle=False, verbose=False)
    >>> x, y = ds[0]
    >>> x.tolist(), y.tolist(), ds.class_names
    (['bad', 'good'], [0, 1], ['neg', 'pos'])
    """
    if labels not in ("inferred", None) and not isinstance(labels, (list, tuple)):
        raise ValueError("`labels` argument should be a list/tuple of integer labels, of the "
                         "same size as the number of text files in the target directory. If "
                         "you wish to infer the labels from the subdirectory names in the "
                         "target directory, pass `labels=\"inferred\"`. If you wish to get a "
                         "dataset that only contains text samples (no labels), pass "
                         f"`labels=None`. Received: labels={labels}")
    if label_mode not in ("int", "categorical", "binary", None):
        raise ValueError('`label_mode` argument must be one of "int", "categorical", '
                         f'"binary", or None. Received: label_mode={label_mode}')
    if labels is None or label_mode is None:
        labels, label_mode = None, None
    if class_names is not None and labels != "inferred":
        raise ValueError('You can only pass `class_names` if `labels="inferred"`. Received: '
                         f"labels={labels}, and class_names={class_names}")
    if subset is not None and subset not in ("training", "validation", "both"):
        raise ValueError('`subset` must be either "training", "validation" or "both". '
                         f"Received: subset={subset}")
    if validation_split is not None:
        if not 0 < validation_split < 1:
            raise ValueError("`validation_split` must be between 0 and 1. Received: "
                             f"{validation_split}")
        if subset is None:
            raise ValueError("If `validation_split` is set, `subset` must also be set.")
        if shuffle and seed is None:
            raise ValueError("If using `validation_split` and shuffling the data, you must "
                             "provide a `seed` argument, to make sure that there is no "
                             "overlap between the training and validation subset.")
    elif subset is not None:
        raise ValueError("If `subset` is set, `validation_split` must also be set.")
    paths, label_ids, class_names = _list_text_files(
        directory, "inferred" if labels == "inferred" else None, class_names, follow_links)
    if isinstance(labels, (list, tuple)):
        if len(labels) != len(paths):
            raise ValueError("Expected the lengths of `labels` to match the number of files "
                             f"in the target directory. len(labels) is {len(labels)} while "
                             f"we found {len(paths)} files in directory {directory}.")
        label_ids = list(labels)
        class_names = [str(c) for c in sorted(set(label_ids))]
    if label_mode == "binary" and len(class_names) != 2:
        raise ValueError('When passing `label_mode="binary"`, there must be exactly 2 '
                         f"class_names. Received: class_names={class_names}")
    if verbose:
        if labels is None:
            print(f"Found {len(paths)} files.")
        else:
            print(f"Found {len(paths)} files belonging to {len(class_names)} classes.")
    order = np.arange(len(paths))
    if shuffle:
        if seed is None:
            seed = np.random.randint(1e6)
        np.random.RandomState(seed).shuffle(order)

    def read(i):
        with open(paths[i], encoding="utf-8", errors="replace") as f:
            text = f.read()
        return text[:max_length] if max_length is not None else text

    texts = np.empty(len(paths), dtype=object)
    for i in range(len(paths)):
        texts[i] = read(i)
    texts = texts.astype(str) if len(paths) else np.zeros(0, dtype=str)
    parts = texts
    if label_mode is not None:
        ids = np.asarray(label_ids, dtype=np.int64)
        if label_mode == "int":
            y = ids.astype("int32")
        elif label_mode == "binary":
            y = ids.astype("float32").reshape(-1, 1)
        else:
            y = to_categorical(ids, len(class_names)) if len(ids) else \
                np.zeros((0, len(class_names)), "float32")
        parts = (texts, y)

    def make(indices):
        dataset = ArrayDataset(parts, batch_size, indices)
        dataset.class_names = class_names
        dataset.file_paths = [paths[i] for i in indices]
        return dataset

    if validation_split is None:
        return make(order)
    num_val = int(validation_split * len(order))
    train, val = order[:len(order) - num_val], order[len(order) - num_val:]
    if subset == "both":
        return make(train), make(val)
    return make(train) if subset == "training" else make(val)


def _split_sizes(left_size, right_size, total):
    for name, size in (("left_size", left_size), ("right_size", right_size)):
        if size is not None and (isinstance(size, bool) or type(size) not in (int, float)):
            raise TypeError(f"Invalid `{name}` Type. Expected: int or float or None, "
                            f"Received: type({name})={type(size)}.")
    if left_size is None and right_size is None:
        raise ValueError("At least one of the `left_size` or `right_size` must be specified. "
                         "Received: left_size=None and right_size=None")
    if left_size == 0 and right_size == 0:
        raise ValueError("Both `left_size` and `right_size` are zero. At least one of the "
                         "split sizes must be non-zero.")
    for name, size in (("left_size", left_size), ("right_size", right_size)):
        if (type(size) is int and (size <= 0 or size >= total)) or \
                (type(size) is float and (size <= 0 or size >= 1)):
            raise ValueError(f"`{name}` should be either a positive integer smaller than "
                             f"{total}, or a float within the range `[0, 1]`. Received: "
                             f"{name}={size}")
    if type(left_size) is float and type(right_size) is float and left_size + right_size > 1:
        raise ValueError("The sum of `left_size` and `right_size` is greater than 1. It must "
                         "be less than or equal to 1.")
    left = round(left_size * total) if type(left_size) is float else left_size
    right = round(right_size * total) if type(right_size) is float else right_size
    left = total - right if left is None else left
    right = total - left if right is None else right
    if left + right > total:
        raise ValueError("The sum of `left_size` and `right_size` should be smaller than the "
                         f"{total}. Received: left_size + right_size = {left + right}and "
                         f"total_length = {total}")
    for size, side in ((left, "left"), (right, "right")):
        if size == 0:
            raise ValueError(f"With `dataset` of length={total}, `left_size`={left} and "
                             f"`right_size`={right}.Resulting {side} side dataset split will "
                             "be empty. Adjust any of the aforementioned parameters")
    return int(left), int(right)


def split_dataset(dataset, left_size=None, right_size=None, shuffle=False, seed=None):
    """Splits a dataset (arrays, or an `ArrayDataset`) into two, as Keras does.

    The left part takes the first `left_size` samples and the right part the last
    `right_size` ones (after an optional seeded shuffle of the sample order); a float size is
    a fraction of the samples (rounded), and a missing size takes the rest.

    Args:
        dataset: An array, a tuple/list of arrays of the same length (e.g. `(x, y)`), a
            dict of such arrays, or an `ArrayDataset`.
        left_size: Optional int (samples) or float in (0, 1) (fraction).
        right_size: Optional int or float; at least one of the two is needed.
        shuffle: Bool, shuffle the samples first. Defaults to `False`.
        seed: Optional int, the shuffling seed.

    Returns:
        A pair with the structure of `dataset`: arrays (tuples, lists, dicts of arrays) for
        array input, `ArrayDataset`s (batched as the input was) for a dataset. Keras returns
        `tf.data` datasets; NumPy arrays go straight into `fit`.

    Raises:
        TypeError: For an unsupported `dataset` or size type.
        ValueError: For sizes that are zero, too large or missing.

    Example:

    >>> import numpy as np, rnnkit as keras
    >>> (x1, y1), (x2, y2) = keras.utils.split_dataset((np.arange(10), np.arange(10)),
    ...                                                 left_size=0.8)
    >>> x1.shape, x2.tolist()
    ((8,), [8, 9])
    """
    if isinstance(dataset, ArrayDataset):
        total = dataset.cardinality()
        order = dataset.indices
    elif isinstance(dataset, dict):
        lengths = {len(v) for v in dataset.values()}
        total = lengths.pop() if len(lengths) == 1 else None
        order = None
    elif isinstance(dataset, (tuple, list)) and dataset and all(
            hasattr(v, "__len__") and not isinstance(v, (str, bytes)) and np.ndim(v) >= 1
            for v in dataset) and len({len(v) for v in dataset}) == 1:
        total, order = len(dataset[0]), None
    elif isinstance(dataset, (np.ndarray, list)):
        total, order = len(dataset), None
    else:
        raise TypeError("The `dataset` argument must be an array, a list/tuple/dict of arrays "
                        "of the same length, or an ArrayDataset. Received: "
                        f"dataset={dataset!r} of type {type(dataset)}")
    if total is None:
        raise ValueError("The arrays of `dataset` must all have the same length.")
    left, right = _split_sizes(left_size, right_size, total)
    positions = np.arange(total)
    if shuffle:
        if seed is None:
            seed = _py_random.randint(0, int(1e6))
        _py_random.Random(seed).shuffle(positions)
    left_pos, right_pos = positions[:left], positions[total - right:]
    if isinstance(dataset, ArrayDataset):
        parts = dataset.parts if not dataset._single else dataset.parts[0]
        return tuple(ArrayDataset(parts, dataset.batch_size, order[p], dataset._sample_fn)
                     for p in (left_pos, right_pos))

    def cut(value, p):
        if isinstance(value, dict):
            return {k: cut(v, p) for k, v in value.items()}
        if isinstance(value, tuple):
            return tuple(cut(v, p) for v in value)
        if isinstance(value, list) and value and np.ndim(value[0]) >= 1 and \
                len({len(v) for v in value}) == 1 and value is dataset:
            return [cut(v, p) for v in value]
        return np.asarray(value)[p]

    if isinstance(dataset, list) and not (dataset and np.ndim(dataset[0]) >= 1 and
                                          len({len(v) for v in dataset}) == 1):
        return np.asarray(dataset)[left_pos], np.asarray(dataset)[right_pos]
    return cut(dataset, left_pos), cut(dataset, right_pos)


# ------------------------------------------------------------------------------------------------
# Files
# ------------------------------------------------------------------------------------------------

def _rnnkit_home():
    home = os.environ.get("RNNKIT_HOME")
    return os.path.expanduser(home) if home else os.path.join(os.path.expanduser("~"),
                                                               ".rnnkit")


def _hash_file(path, algorithm, chunk=1 << 20):
    digest = hashlib.sha256() if algorithm == "sha256" else hashlib.md5()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(chunk), b""):
            digest.update(block)
    return digest.hexdigest()


def _resolve_algorithm(file_hash, algorithm):
    if algorithm not in ("auto", "sha256", "md5"):
        raise ValueError(f"`hash_algorithm` must be 'auto', 'sha256' or 'md5'. Received: "
                         f"hash_algorithm={algorithm!r}")
    if algorithm == "auto":
        return "sha256" if len(file_hash) == 64 else "md5"
    return algorithm


def validate_file(fpath, file_hash, algorithm="auto"):
    """Checks a file against a SHA-256 or MD5 hash.

    Args:
        fpath: Path of the file.
        file_hash: The expected hex digest.
        algorithm: `"sha256"`, `"md5"` or `"auto"` (the default: SHA-256 for a 64-character
            hash, else MD5).

    Returns:
        Whether the file's hash equals `file_hash`.
    """
    algorithm = _resolve_algorithm(str(file_hash), algorithm)
    return _hash_file(fpath, algorithm) == str(file_hash)


def _extract_archive(path, into, archive_format):
    import tarfile
    import zipfile
    formats = ["tar", "zip"] if archive_format == "auto" else \
        [archive_format] if isinstance(archive_format, str) else list(archive_format)
    for kind in formats:
        if kind == "tar" and tarfile.is_tarfile(path):
            with tarfile.open(path) as archive:
                try:
                    archive.extractall(into, filter="data")
                except TypeError:  # Python without extraction filters
                    archive.extractall(into)
            return True
        if kind == "zip" and zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as archive:
                archive.extractall(into)
            return True
    return False


def get_file(fname=None, origin=None, untar=False, md5_hash=None, file_hash=None,
             cache_subdir="datasets", hash_algorithm="auto", extract=False,
             archive_format="auto", cache_dir=None, force_download=False):
    """Downloads a file from a URL unless it is already in the cache, as Keras does.

    The file is kept as `<cache_dir>/<cache_subdir>/<fname>`; `cache_dir` defaults to
    `$RNNKIT_HOME` or `~/.rnnkit` (`/tmp/.rnnkit` when that cannot be written). A cached
    file whose hash does not match `file_hash` is downloaded again, and a download that
    does not match is deleted and refused. `origin` may be any URL `urllib` opens,
    `file://` included. Without network access the error says where to put the file by hand.

    Args:
        fname: Optional file name in the cache (no folder). Defaults to the last part of
            `origin`'s path.
        origin: The URL of the file.
        untar: Deprecated form of `extract=True`.
        md5_hash: Deprecated form of `file_hash` with MD5.
        file_hash: Optional expected SHA-256 or MD5 hex digest.
        cache_subdir: Subfolder of the cache (an absolute path is used as is). Defaults to
            `"datasets"`.
        hash_algorithm: `"auto"` (the default), `"sha256"` or `"md5"`.
        extract: Bool, extract a tar or zip archive; the extraction folder is returned.
            Defaults to `False`.
        archive_format: `"auto"` (the default), `"tar"`, `"zip"` or a list of them.
        cache_dir: Optional cache folder.
        force_download: Bool, download even when the file is cached. Defaults to `False`.

    Returns:
        The path of the file (or of the extraction folder).

    Raises:
        ValueError: Without `origin`, with a path as `fname`, or for a downloaded file
            whose hash does not match.
        ConnectionError: When the download fails (offline, missing file, HTTP error).

    Example:

    >>> import os, tempfile, pathlib, rnnkit as keras
    >>> src = os.path.join(tempfile.mkdtemp(), "data.txt")
    >>> _ = pathlib.Path(src).write_text("hello")
    >>> path = keras.utils.get_file(origin=pathlib.Path(src).as_uri(),
    ...                             cache_dir=tempfile.mkdtemp())
    >>> os.path.basename(path), open(path).read()
    ('data.txt', 'hello')
    """
    import urllib.error
    import urllib.parse
    import urllib.request

    if origin is None:
        raise ValueError('Please specify the "origin" argument (URL of the file to download).')
    if md5_hash is not None and file_hash is None:
        file_hash, hash_algorithm = md5_hash, "md5"
    if file_hash is not None:
        hash_algorithm = _resolve_algorithm(str(file_hash), hash_algorithm)
    base = os.path.expanduser(os.fspath(cache_dir)) if cache_dir is not None else _rnnkit_home()
    try:
        os.makedirs(base, exist_ok=True)
        writable = os.access(base, os.W_OK)
    except OSError:
        writable = False
    if not writable:
        base = os.path.join("/tmp", ".rnnkit")
    datadir = os.path.join(base, cache_subdir)
    os.makedirs(datadir, exist_ok=True)
    provided = fname is not None
    fname = os.fspath(fname) if fname is not None else ""
    if not fname:
        fname = os.path.basename(urllib.parse.urlsplit(origin).path)
        if not fname:
            raise ValueError(f"Can't parse the file name from the origin provided: '{origin}'."
                             "Please specify the `fname` argument.")
    elif os.sep in fname or (os.altsep and os.altsep in fname):
        raise ValueError("Paths are no longer accepted as the `fname` argument. To specify "
                         "the file's parent directory, use the `cache_dir` argument. "
                         f"Received: fname={fname}")
    extract = extract or untar
    if extract:
        if provided and "." in fname:
            target = os.path.join(datadir, fname)
            extraction_dir = os.path.join(datadir, fname[:fname.find(".")] + "_extracted")
        else:
            target = os.path.join(datadir, fname + "_archive")
            extraction_dir = os.path.join(datadir, fname)
    else:
        target = os.path.join(datadir, fname)
    download = force_download or not os.path.exists(target)
    if not download and file_hash is not None and \
            _hash_file(target, hash_algorithm) != str(file_hash):
        print(f"A local file was found, but it seems to be incomplete or outdated because the "
              f"{hash_algorithm} file hash does not match the original value of {file_hash} "
              "so we will re-download the data.")
        download = True
    if download:
        partial = target + ".part"
        try:
            with urllib.request.urlopen(origin, timeout=30) as response, \
                    open(partial, "wb") as out:
                shutil.copyfileobj(response, out, 1 << 20)
        except (OSError, ValueError) as e:
            if os.path.exists(partial):
                os.remove(partial)
            reason = getattr(e, "reason", None) or e
            raise ConnectionError(
                f"URL fetch failure on {origin}: {reason}. This machine may have no network "
                f"access: download the file elsewhere and copy it to {target}"
                + (f" (its {hash_algorithm} hash must be {file_hash})" if file_hash else "")
                + ", then call again.") from e
        if file_hash is not None and _hash_file(partial, hash_algorithm) != str(file_hash):
            got = _hash_file(partial, hash_algorithm)
            os.remove(partial)
            raise ValueError(f"Incomplete or corrupted file detected. The {hash_algorithm} file "
                             f"hash does not match the provided value of {file_hash} (the "
                             f"download from {origin} has {got}); it was deleted.")
        os.replace(partial, target)
    if extract:
        if download or not os.path.exists(extraction_dir):
            if os.path.exists(extraction_dir):
                shutil.rmtree(extraction_dir)
            os.makedirs(extraction_dir, exist_ok=True)
            if not _extract_archive(target, extraction_dir, archive_format):
                raise ValueError(f"{target} is not a {archive_format} archive that can be "
                                 "extracted (tar or zip).")
        return extraction_dir
    return target


# ------------------------------------------------------------------------------------------------
# Model plots
# ------------------------------------------------------------------------------------------------

def _dot_quote(text):
    return '"' + str(text).replace("\\", "\\\\").replace('"', '\\"') + '"'


def _model_graph(model):
    """(nodes, edges) of a model's layer graph: nodes as (id, layer or None, tensor), edges
    as (id, id)."""
    nodes, edges = [], []
    graph = getattr(model, "_graph", None)
    node_list = graph[2] if graph is not None else getattr(model, "_nodes", None)
    producer = {}
    for i, tensor in enumerate(getattr(model, "inputs", None) or []):
        key = f"input_{i}"
        nodes.append((key, None, tensor))
        producer[id(tensor)] = key
    if node_list is None:  # an unbuilt Sequential: a chain of its layers
        previous = None
        for layer in model.layers:
            key = f"layer_{id(layer)}"
            nodes.append((key, layer, None))
            if previous is not None:
                edges.append((previous, key))
            previous = key
        return nodes, edges
    for node in node_list:
        layer = getattr(node, "layer", None) or getattr(node, "operation", None)
        key = f"layer_{id(layer)}"
        if key not in {n[0] for n in nodes}:
            nodes.append((key, layer, node.output_tensors))
        for tensor in node.input_tensors:
            src = producer.get(id(tensor))
            if src is not None and (src, key) not in edges:
                edges.append((src, key))
        for tensor in node.output_tensors:
            producer[id(tensor)] = key
    return nodes, edges


def model_to_dot_source(model, show_shapes=False, show_dtype=False, show_layer_names=False,
                        rankdir="TB", dpi=200, show_layer_activations=False,
                        show_trainable=False):
    """Returns the Graphviz DOT text of a model's layer graph (no dependency needed).

    Args:
        model: A `Sequential` or functional `Model`.
        show_shapes: Bool, add the output shapes. Defaults to `False`.
        show_dtype: Bool, add the dtypes. Defaults to `False`.
        show_layer_names: Bool, add the layer names. Defaults to `False`.
        rankdir: `"TB"` (the default) or `"LR"`.
        dpi: Int, the resolution written in the graph. Defaults to 200.
        show_layer_activations: Bool, add the activations. Defaults to `False`.
        show_trainable: Bool, add whether each layer is trainable. Defaults to `False`.

    Returns:
        A string, the DOT source.

    Raises:
        ValueError: For an unknown `rankdir`.
    """
    if rankdir not in ("TB", "LR"):
        raise ValueError(f"`rankdir` must be 'TB' or 'LR'. Received: rankdir={rankdir!r}")
    lines = [f"digraph {_dot_quote(getattr(model, 'name', 'model'))} {{",
             f"  graph [rankdir={rankdir}, dpi={int(dpi)}];",
             "  node [shape=record, fontname=Helvetica];"]
    nodes, edges = _model_graph(model)
    for key, layer, tensors in nodes:
        if layer is None:
            title = "InputLayer" + (f" ({tensors.name})" if show_layer_names else "")
            shape, dtype = tuple(tensors.shape), tensors.dtype
        else:
            title = type(layer).__name__
            if show_layer_names:
                title = f"{layer.name} ({title})"
            outs = list(tensors) if tensors is not None else []
            shape = tuple(outs[0].shape) if len(outs) == 1 else [tuple(t.shape) for t in outs]
            dtype = outs[0].dtype if outs else getattr(layer, "dtype", None)
        fields = [title]
        if show_shapes:
            fields.append(f"Output shape: {shape}")
        if show_dtype:
            fields.append(f"dtype: {dtype}")
        if show_layer_activations and layer is not None and hasattr(layer, "activation"):
            act = layer.activation
            fields.append(f"Activation: {getattr(act, '__name__', act)}")
        if show_trainable and layer is not None:
            fields.append(f"Trainable: {'T' if layer.trainable else 'F'}")
        label = "{" + "|".join(f.replace("{", "(").replace("}", ")").replace("|", "/")
                               .replace("<", "(").replace(">", ")") for f in fields) + "}"
        lines.append(f"  {key} [label={_dot_quote(label)}];")
    for src, dst in edges:
        lines.append(f"  {src} -> {dst};")
    lines.append("}")
    return "\n".join(lines) + "\n"


_PLOT_MESSAGE = ("You must install pydot (`pip install pydot`) and install graphviz "
                 "(see instructions at https://graphviz.gitlab.io/download/) for `plot_model` "
                 "to work. (A `.dot` file needs neither: "
                 "`plot_model(model, to_file='model.dot')`.)")


def model_to_dot(model, show_shapes=False, show_dtype=False, show_layer_names=True,
                 rankdir="TB", expand_nested=False, dpi=200, subgraph=False,
                 show_layer_activations=False, show_trainable=False, **kwargs):
    """Returns a `pydot.Dot` of the model's layer graph (needs pydot).

    Args:
        model: A `Sequential` or functional `Model`.
        show_shapes: Bool, add the output shapes. Defaults to `False`.
        show_dtype: Bool, add the dtypes. Defaults to `False`.
        show_layer_names: Bool, add the layer names. Defaults to `True`.
        rankdir: `"TB"` (the default) or `"LR"`.
        expand_nested: Accepted for Keras compatibility; nested models are drawn as one
            node.
        dpi: Int. Defaults to 200.
        subgraph: Accepted for Keras compatibility.
        show_layer_activations: Bool. Defaults to `False`.
        show_trainable: Bool. Defaults to `False`.
        **kwargs: Any other keyword is a `ValueError`.

    Returns:
        A `pydot.Dot`.

    Raises:
        ImportError: If pydot is not installed (the message says how to get it).
    """
    del expand_nested, subgraph
    if kwargs:
        raise ValueError(f"Unrecognized keyword arguments: {kwargs}")
    try:
        import pydot
    except ImportError:
        raise ImportError(_PLOT_MESSAGE) from None
    source = model_to_dot_source(model, show_shapes, show_dtype, show_layer_names, rankdir,
                                 dpi, show_layer_activations, show_trainable)
    return pydot.graph_from_dot_data(source)[0]


def plot_model(model, to_file="model.png", show_shapes=False, show_dtype=False,
               show_layer_names=False, rankdir="TB", expand_nested=False, dpi=200,
               show_layer_activations=False, show_trainable=False, **kwargs):
    """Draws a model's layer graph into a file (through pydot and Graphviz).

    A `to_file` ending in `.dot` is written directly (no dependency); any other extension
    (`.png`, `.svg`, `.pdf`, ...) needs pydot and Graphviz's `dot` program, and without them
    an `ImportError` says what to install.

    Args:
        model: A `Sequential` or functional `Model`.
        to_file: The output file. Defaults to `"model.png"`.
        show_shapes: Bool, add the output shapes. Defaults to `False`.
        show_dtype: Bool, add the dtypes. Defaults to `False`.
        show_layer_names: Bool, add the layer names. Defaults to `False`.
        rankdir: `"TB"` (top to bottom, the default) or `"LR"`.
        expand_nested: Accepted for Keras compatibility; nested models are one node.
        dpi: Int. Defaults to 200.
        show_layer_activations: Bool. Defaults to `False`.
        show_trainable: Bool. Defaults to `False`.
        **kwargs: Any other keyword is a `ValueError`.

    Returns:
        The path written (IPython's `Image` is not returned).

    Raises:
        ImportError: When pydot or Graphviz is missing for a non-`.dot` file.

    Example:

    >>> import os, tempfile, rnnkit as keras
    >>> model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    >>> path = keras.utils.plot_model(model, os.path.join(tempfile.mkdtemp(), "m.dot"))
    >>> "->" in open(path).read()
    True
    """
    del expand_nested
    if kwargs:
        raise ValueError(f"Unrecognized keyword arguments: {kwargs}")
    to_file = os.fspath(to_file)
    source = model_to_dot_source(model, show_shapes, show_dtype, show_layer_names, rankdir,
                                 dpi, show_layer_activations, show_trainable)
    extension = os.path.splitext(to_file)[1].lower().lstrip(".") or "png"
    if extension == "dot":
        with open(to_file, "w") as f:
            f.write(source)
        return to_file
    try:
        import pydot
    except ImportError:
        raise ImportError(_PLOT_MESSAGE) from None
    if shutil.which("dot") is None:
        raise ImportError(_PLOT_MESSAGE)
    graph = pydot.graph_from_dot_data(source)[0]
    graph.write(to_file, format=extension)
    return to_file


# ------------------------------------------------------------------------------------------------
# Data tuples and symbolic inputs
# ------------------------------------------------------------------------------------------------

def pack_x_y_sample_weight(x, y=None, sample_weight=None):
    """Packs inputs, targets and weights into the tuple `fit` expects from a batch.

    Args:
        x: The inputs.
        y: Optional targets.
        sample_weight: Optional sample weights.

    Returns:
        `(x,)` when `y` is None and `x` is a tuple or list (so it is not taken for
        `(x, y)`), else `x` alone; `(x, y)`; or `(x, y, sample_weight)`.

    Example:

    >>> import rnnkit as keras
    >>> keras.utils.pack_x_y_sample_weight([1, 2], [3])
    ([1, 2], [3])
    """
    if y is None:
        return (x,) if isinstance(x, (tuple, list)) else x
    if sample_weight is None:
        return (x, y)
    return (x, y, sample_weight)


def unpack_x_y_sample_weight(data):
    """Unpacks a batch into `(x, y, sample_weight)` (missing parts as None).

    Args:
        data: A tuple of 1 to 3 items (`(x,)`, `(x, y)`, `(x, y, sample_weight)`), a list
            taken as such a tuple, or the inputs alone.

    Returns:
        The triple `(x, y, sample_weight)`.

    Raises:
        ValueError: For a tuple of more than 3 items.

    Example:

    >>> import rnnkit as keras
    >>> keras.utils.unpack_x_y_sample_weight(([1], [2]))
    ([1], [2], None)
    """
    if isinstance(data, list):
        data = tuple(data)
    if not isinstance(data, tuple):
        return (data, None, None)
    if len(data) == 1:
        return (data[0], None, None)
    if len(data) == 2:
        return (data[0], data[1], None)
    if len(data) == 3:
        return (data[0], data[1], data[2])
    raise ValueError("Data is expected to be in format `x`, `(x,)`, `(x, y)`, or "
                     f"`(x, y, sample_weight)`, found: {data}")


def get_source_inputs(tensor):
    """Returns the input tensors (from `keras.Input`) a symbolic tensor was computed from.

    Args:
        tensor: A symbolic tensor (a `KerasTensor`) of a functional graph.

    Returns:
        The list of the `Input` tensors it depends on (itself when it is an input).

    Raises:
        ValueError: If `tensor` is not a symbolic tensor.

    Example:

    >>> import rnnkit as keras
    >>> x = keras.Input((3,))
    >>> y = keras.layers.Dense(2)(x)
    >>> keras.utils.get_source_inputs(y)[0] is x
    True
    """
    if not is_keras_tensor(tensor):
        raise ValueError(f"get_source_inputs expects a symbolic tensor (KerasTensor); "
                         f"received {tensor!r}")
    sources, seen, stack = [], set(), [tensor]
    while stack:
        t = stack.pop()
        if id(t) in seen:
            continue
        seen.add(id(t))
        history = getattr(t, "history", None) or getattr(t, "_keras_history", None)
        node = None
        if history is not None:
            operation, node_index = history[0], history[1]
            nodes = getattr(operation, "_inbound_nodes", [])
            node = nodes[node_index] if node_index < len(nodes) else None
        if node is None or getattr(node, "is_input", False) or not node.input_tensors:
            sources.append(t)
        else:
            stack.extend(reversed(list(node.input_tensors)))
    return sources


def enable_interactive_logging():
    """Turns on interactive logging: progress bars and messages printed to stdout.

    The same switch as `rnnkit.config.enable_interactive_logging` (Keras exposes it in both
    places).
    """
    _config.enable_interactive_logging()


def disable_interactive_logging():
    """Turns off interactive logging (messages go to Python's `logging` module instead).

    The same switch as `rnnkit.config.disable_interactive_logging`.
    """
    _config.disable_interactive_logging()


def is_interactive_logging_enabled():
    """Returns whether interactive logging is on (see `enable_interactive_logging`).

    Returns:
        A bool.
    """
    return _config.is_interactive_logging_enabled()
