"""Utilities (`keras.utils`): random seeding, one-hot labels, sequence padding, `PyDataset`
(alias `Sequence`), and the serialization-registry helpers Keras also exposes here."""

from __future__ import annotations

import random as _py_random

import numpy as np

from rnnkit import random as _random
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
