"""Shared pieces of the host-side preprocessing layers (not public): converting inputs to
NumPy, the categorical encodings (one_hot / multi_hot / count), adapt's data walk."""

from __future__ import annotations

import numpy as np

from rnnkit.layers.core._checks import is_int
from rnnkit.layers.layer import Layer

OUTPUT_MODES = ("int", "one_hot", "multi_hot", "count", "tf_idf")


def check_choice(value, allowed, argument, caller):
    """`value` if it is one of `allowed`, else a ValueError naming the argument."""
    if not isinstance(value, str) or value not in allowed:
        raise ValueError(f"{caller}: invalid value for argument `{argument}`. Expected one of "
                         f"{allowed}. Received: {argument}={value!r}")
    return value


def check_positive_int_or_none(value, argument, caller, minimum=1):
    if value is None:
        return None
    if not is_int(value) or value < minimum:
        raise ValueError(f"{caller}: argument `{argument}` must be None or an int >= {minimum}. "
                         f"Received: {argument}={value!r}")
    return int(value)


def to_numpy(value):
    """An input (array, list, Tensor, Variable, scalar) as a NumPy array; strings become a str
    array (bytes are decoded as UTF-8)."""
    from rnnkit import ops
    if hasattr(value, "numpy") and not isinstance(value, np.ndarray):
        value = value.numpy()
    array = np.asarray(value) if isinstance(value, np.ndarray) else \
        np.asarray(ops.convert_to_numpy(value) if hasattr(value, "shape") else value)
    if array.dtype.kind == "S":
        array = np.char.decode(array, "utf-8")
    if array.dtype.kind == "O":
        flat = [v.decode("utf-8") if isinstance(v, bytes) else v for v in array.ravel()]
        if all(isinstance(v, str) for v in flat):
            array = np.array(flat, dtype=str).reshape(array.shape) if flat else \
                np.zeros(array.shape, dtype=str)
    return array


def encode_categorical(indices, output_mode, depth, dtype):
    """One-hot / multi-hot / count encoding of integer `indices` into `depth` bins; indices
    outside [0, depth) are dropped (as TF's bincount). For multi_hot and count the last axis
    holds one sample's values (a rank-1 input is one value per sample)."""
    indices = np.asarray(indices, dtype=np.int64)
    if indices.ndim == 0:
        indices = indices[None]
    if output_mode == "one_hot":
        if indices.ndim > 1 and indices.shape[-1] == 1:
            indices = indices[..., 0]
        out = np.zeros(indices.shape + (depth,), dtype=dtype)
        valid = (indices >= 0) & (indices < depth)
        pos = np.nonzero(valid)
        out[pos + (indices[valid],)] = 1
        return out
    if indices.ndim == 1:
        indices = indices[:, None]
    lead = indices.shape[:-1]
    flat = indices.reshape(-1, indices.shape[-1])
    out = np.zeros((flat.shape[0], depth), dtype=np.float64)
    rows = np.repeat(np.arange(flat.shape[0]), flat.shape[1])
    cols = flat.ravel()
    valid = (cols >= 0) & (cols < depth)
    np.add.at(out, (rows[valid], cols[valid]), 1.0)
    if output_mode == "multi_hot":
        out = np.minimum(out, 1.0)
    return out.reshape(lead + (depth,)).astype(dtype)


def iterate_batches(data, batch_size=None, steps=None, lists_are_batches=False):
    """The batches of adapt's `data`: one array as one batch, or an iterable (generator,
    PyDataset) batch by batch. A list or tuple is one batch of tokens for the text layers,
    and a sequence of batches for the numeric ones (`lists_are_batches`), as in Keras."""
    one_batch = (np.ndarray, str, bytes) if lists_are_batches else \
        (np.ndarray, list, tuple, str, bytes)
    if isinstance(data, one_batch) or hasattr(data, "shape"):
        array = to_numpy(data)
        if batch_size is None or array.ndim == 0:
            yield array
            return
        for step, start in enumerate(range(0, len(array), int(batch_size))):
            if steps is not None and step >= steps:
                return
            yield array[start:start + int(batch_size)]
        return
    if hasattr(data, "__getitem__") and hasattr(data, "__len__"):   # a PyDataset
        iterator = (data[i] for i in range(len(data)))
    elif hasattr(data, "__iter__"):
        iterator = iter(data)
    else:
        raise TypeError(f"adapt: `data` must be an array, a list or an iterable of batches, "
                        f"got {type(data).__name__}")
    for step, batch in enumerate(iterator):
        if steps is not None and step >= steps:
            return
        if isinstance(batch, tuple):   # (x, y) batches: adapt on x
            batch = batch[0]
        yield to_numpy(batch)


class HostLayer(Layer):
    """A layer whose call runs in NumPy on the host (no gradient), on inputs of any dtype
    (strings included): the inputs are not cast to the layer's float dtype."""

    _casts_int_inputs = False
    _uploads_host_inputs = False      # computes on the host: inputs stay there

    def _convert_input(self, value):
        return to_numpy(value)
