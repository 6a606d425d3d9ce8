"""Shared loading code of the word-index sequence data sets (`imdb`, `reuters`): the cached,
hash-checked download through `rnnkit.utils.get_file`, or a local file, and Keras' index
transformations."""

from __future__ import annotations

import json
import os

import numpy as np

ORIGIN_FOLDER = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"


def resolve(path, origin, file_hash, what):
    """The local path of a data file: `path` itself when it names an existing file, else
    `get_file(fname=path, origin=origin, file_hash=file_hash)` (cached download)."""
    from rnnkit.utils import get_file
    path = os.fspath(path)
    if os.path.isfile(path):
        return path
    if os.sep in path or (os.altsep and os.altsep in path):
        raise FileNotFoundError(f"{what}: no file at {path!r}. Pass an existing local file, "
                                "or a bare file name to use the download cache.")
    try:
        return get_file(fname=path, origin=origin, file_hash=file_hash)
    except ConnectionError as e:
        raise ConnectionError(f"{what}: {e} Or pass the path of a local copy "
                              f"(`path='/data/{os.path.basename(origin)}'`).") from e


def load_npz(path, keys):
    """The arrays `keys` of an .npz file (object arrays of lists allowed)."""
    with np.load(path, allow_pickle=True) as f:
        missing = [k for k in keys if k not in f.files]
        if missing:
            raise ValueError(f"{path} does not hold the arrays {missing} (it has {f.files}).")
        return [f[k] for k in keys]


def load_json(path):
    """The dict of a JSON file."""
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def shift_and_filter(sequences, start_char, oov_char, index_from, num_words, skip_top):
    """Keras' transformation: prepend `start_char`, shift indices by `index_from`, and replace
    (or, without `oov_char`, drop) words outside `[skip_top, num_words)`. Returns lists."""
    if start_char is not None:
        xs = [[start_char] + [int(w) + index_from for w in x] for x in sequences]
    elif index_from:
        xs = [[int(w) + index_from for w in x] for x in sequences]
    else:
        xs = [[int(w) for w in x] for x in sequences]
    return xs


def restrict(xs, num_words, skip_top, oov_char):
    """Words outside `[skip_top, num_words)` become `oov_char` (dropped when it is None)."""
    if not num_words:
        num_words = max((max(x) for x in xs if len(x)), default=0)
    if oov_char is not None:
        return [[w if skip_top <= w < num_words else oov_char for w in x] for x in xs]
    return [[w for w in x if skip_top <= w < num_words] for x in xs]


def remove_long(maxlen, xs, labels):
    """Keeps the sequences shorter than `maxlen` (and their labels)."""
    kept = [(x, y) for x, y in zip(xs, labels) if len(x) < maxlen]
    return [x for x, _ in kept], [y for _, y in kept]


def as_object_array(xs):
    """A 1-D object array of lists (as Keras returns)."""
    out = np.empty(len(xs), dtype=object)
    for i, x in enumerate(xs):
        out[i] = x
    return out
