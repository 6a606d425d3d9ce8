"""The Reuters newswire topic-classification data set (`keras.datasets.reuters`).

11,228 newswires in 46 topics, each a list of word indices (by decreasing frequency).
`load_data()` downloads Keras' `reuters.npz` once into the cache (`rnnkit.utils.get_file`) and
checks its SHA-256; offline, the error says where to put a copy. `path` may also name a local
`.npz` with the arrays `x` and `y`.
"""

from __future__ import annotations

import numpy as np

from rnnkit.datasets import _sequences

__all__ = ["get_label_names", "get_word_index", "load_data"]

FILE_HASH = "d6586e694ee56d7a4e65172e12b3e987c03096cb01eab99753921ef915959916"
WORD_INDEX_HASH = "4d44cc38712099c9e383dc6e5f11a921"

_LABEL_NAMES = (
    "cocoa", "grain", "veg-oil", "earn", "acq", "wheat", "copper", "housing", "money-supply",
    "coffee", "sugar", "trade", "reserves", "ship", "cotton", "carcass", "crude", "nat-gas",
    "cpi", "money-fx", "interest", "gnp", "meal-feed", "alum", "oilseed", "gold", "tin",
    "strategic-metal", "livestock", "retail", "ipi", "iron-steel", "rubber", "heat", "jobs",
    "lei", "bop", "zinc", "orange", "pet-chem", "dlr", "gas", "silver", "wpi", "hog", "lead",
)


def load_data(path="reuters.npz", num_words=None, skip_top=0, maxlen=None, test_split=0.2,
              seed=113, start_char=1, oov_char=2, index_from=3):
    """Loads the Reuters data set, with Keras' transformations.

    The newswires are shuffled with `np.random.RandomState(seed)`, get `start_char` in front
    and their indices shifted by `index_from`; with `maxlen`, longer ones are dropped; words
    outside `[skip_top, num_words)` become `oov_char` (or are dropped when it is `None`); the
    last `test_split` share is the test set.

    Args:
        path: A file name in the download cache (the default, `"reuters.npz"`), or the path
            of a local `.npz` file with `x` and `y`.
        num_words: Optional int, keep the `num_words` most frequent words.
        skip_top: Int, also replace the `skip_top` most frequent words. Defaults to 0.
        maxlen: Optional int, drop the newswires of `maxlen` words or more.
        test_split: Float, the share of the test set. Defaults to 0.2.
        seed: Int, the shuffling seed. Defaults to 113.
        start_char: Int, the index marking the start of a newswire. Defaults to 1.
        oov_char: Int, the index of out-of-vocabulary words. Defaults to 2.
        index_from: Int, the shift of the word indices. Defaults to 3.

    Returns:
        `(x_train, y_train), (x_test, y_test)`: object arrays of lists of ints, and the
        topic arrays.

    Raises:
        ValueError: If `test_split` is not in [0, 1].
        ConnectionError: When the file must be downloaded and cannot be.
    """
    if not 0 <= test_split <= 1:
        raise ValueError(f"`test_split` must be in [0, 1]. Received: test_split={test_split}")
    local = _sequences.resolve(path, _sequences.ORIGIN_FOLDER + "reuters.npz", FILE_HASH,
                               "reuters.load_data")
    xs, labels = _sequences.load_npz(local, ("x", "y"))
    order = np.arange(len(xs))
    np.random.RandomState(seed).shuffle(order)
    xs, labels = xs[order], labels[order]
    xs = _sequences.shift_and_filter(xs, start_char, oov_char, index_from, num_words, skip_top)
    labels = list(labels)
    if maxlen:
        xs, labels = _sequences.remove_long(maxlen, xs, labels)
    xs = _sequences.restrict(xs, num_words, skip_top, oov_char)
    idx = int(len(xs) * (1 - test_split))
    labels = np.asarray(labels)
    return ((_sequences.as_object_array(xs[:idx]), np.array(labels[:idx])),
            (_sequences.as_object_array(xs[idx:]), np.array(labels[idx:])))


def get_word_index(path="reuters_word_index.json"):
    """Returns the Reuters word index: a dict from words to their (unshifted) indices.

    Args:
        path: A file name in the download cache (the default), or a local JSON file.

    Returns:
        The dict.

    Raises:
        ConnectionError: When the file must be downloaded and cannot be.
    """
    local = _sequences.resolve(path, _sequences.ORIGIN_FOLDER + "reuters_word_index.json",
                               WORD_INDEX_HASH, "reuters.get_word_index")
    return _sequences.load_json(local)


def get_label_names():
    """Returns the names of the 46 topics, in the order of their labels.

    Returns:
        A tuple of strings.

    Example:

    >>> from rnnkit.datasets import reuters
    >>> len(reuters.get_label_names()), reuters.get_label_names()[3]
    (46, 'earn')
    """
    return _LABEL_NAMES
