"""The IMDB movie-review sentiment data set (`keras.datasets.imdb`).

25,000 training and 25,000 test reviews, each a list of word indices (by decreasing
frequency), labelled 0 (negative) or 1 (positive). `load_data()` downloads Keras' `imdb.npz`
once into the cache (`rnnkit.utils.get_file`: `$RNNKIT_HOME/datasets` or
`~/.rnnkit/datasets`) and checks its SHA-256; offline, the error says where to put a copy.
`path` may also name a local `.npz` with the arrays `x_train`, `y_train`, `x_test`, `y_test`.
"""

from __future__ import annotations

import numpy as np

from rnnkit.datasets import _sequences

__all__ = ["get_word_index", "load_data"]

FILE_HASH = "69664113be75683a8fe16e3ed0ab59fda8886cb3cd7ada244f7d9544e4676b9f"
WORD_INDEX_HASH = "bfafd718b763782e994055a2d397834f"


def load_data(path="imdb.npz", num_words=None, skip_top=0, maxlen=None, seed=113,
              start_char=1, oov_char=2, index_from=3, **kwargs):
    """Loads the IMDB data set, with Keras' transformations.

    The training and test sets are each shuffled with `np.random.RandomState(seed)`; each
    review gets `start_char` in front and its word indices shifted by `index_from`; with
    `maxlen`, longer reviews are dropped; words outside `[skip_top, num_words)` become
    `oov_char` (or are dropped when it is `None`).

    Args:
        path: A file name in the download cache (the default, `"imdb.npz"`), or the path of
            a local `.npz` file with `x_train`, `y_train`, `x_test`, `y_test`.
        num_words: Optional int, keep the `num_words` most frequent words.
        skip_top: Int, also replace the `skip_top` most frequent words. Defaults to 0.
        maxlen: Optional int, drop the reviews of `maxlen` words or more.
        seed: Int, the shuffling seed. Defaults to 113.
        start_char: Int, the index marking the start of a review. Defaults to 1.
        oov_char: Int, the index of out-of-vocabulary words. Defaults to 2.
        index_from: Int, the shift of the word indices. Defaults to 3.
        **kwargs: Any keyword (Keras' removed `nb_words`, ...) is a `TypeError`.

    Returns:
        `(x_train, y_train), (x_test, y_test)`: object arrays of lists of ints, and the
        label arrays.

    Raises:
        TypeError: For an unknown keyword.
        ValueError: If `maxlen` leaves no review.
        ConnectionError: When the file must be downloaded and cannot be.

    Example:

    >>> import os, tempfile, numpy as np
    >>> from rnnkit.datasets import imdb
    >>> path = os.path.join(tempfile.mkdtemp(), "tiny_imdb.npz")
    >>> seqs = np.empty(2, dtype=object); seqs[0], seqs[1] = [1, 5], [7]
    >>> np.savez(path, x_train=seqs, y_train=np.array([0, 1]), x_test=seqs,
    ...          y_test=np.array([1, 0]))
    >>> (x, y), _ = imdb.load_data(path, num_words=20, seed=0)
    >>> sorted(x.tolist())
    [[1, 4, 8], [1, 10]]
    """
    if kwargs:
        raise TypeError(f"Unrecognized keyword arguments: {kwargs}")
    local = _sequences.resolve(path, _sequences.ORIGIN_FOLDER + "imdb.npz", FILE_HASH,
                               "imdb.load_data")
    x_train, labels_train, x_test, labels_test = _sequences.load_npz(
        local, ("x_train", "y_train", "x_test", "y_test"))
    rng = np.random.RandomState(seed)
    order = np.arange(len(x_train))
    rng.shuffle(order)
    x_train, labels_train = x_train[order], labels_train[order]
    order = np.arange(len(x_test))
    rng.shuffle(order)
    x_test, labels_test = x_test[order], labels_test[order]
    x_train = _sequences.shift_and_filter(x_train, start_char, oov_char, index_from,
                                          num_words, skip_top)
    x_test = _sequences.shift_and_filter(x_test, start_char, oov_char, index_from, num_words,
                                         skip_top)
    if maxlen:
        x_train, labels_train = _sequences.remove_long(maxlen, x_train, labels_train)
        x_test, labels_test = _sequences.remove_long(maxlen, x_test, labels_test)
        if not x_train or not x_test:
            raise ValueError(f"After filtering for sequences shorter than maxlen={maxlen}, no "
                             "sequence was kept. Increase maxlen.")
    xs = _sequences.restrict(x_train + x_test, num_words, skip_top, oov_char)
    labels = np.concatenate([np.asarray(labels_train), np.asarray(labels_test)])
    idx = len(x_train)
    return ((_sequences.as_object_array(xs[:idx]), labels[:idx]),
            (_sequences.as_object_array(xs[idx:]), labels[idx:]))


def get_word_index(path="imdb_word_index.json"):
    """Returns the IMDB word index: a dict from words to their (unshifted) indices.

    Args:
        path: A file name in the download cache (the default), or a local JSON file.

    Returns:
        The dict. Index `i` of a loaded review is the word with index `i - index_from`.

    Raises:
        ConnectionError: When the file must be downloaded and cannot be.
    """
    local = _sequences.resolve(path, _sequences.ORIGIN_FOLDER + "imdb_word_index.json",
                               WORD_INDEX_HASH, "imdb.get_word_index")
    return _sequences.load_json(local)
