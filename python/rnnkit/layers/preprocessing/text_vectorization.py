"""TextVectorization: raw strings to token indices (or bag-of-words vectors), in NumPy."""

from __future__ import annotations

import re

import numpy as np

from rnnkit.layers.core._checks import check_bool, is_int
from rnnkit.layers.preprocessing._base import (OUTPUT_MODES, HostLayer, check_choice,
                                               iterate_batches, to_numpy)
from rnnkit.layers.preprocessing.index_lookup import StringLookup

# Keras' (TF regex) punctuation class: `,-\.` is the range ',' '-' '.'.
_PUNCTUATION = re.compile(r'[!"#$%&()\*\+,-\./:;<=>?@\[\\\]^_`{|}~\']')
# tf.strings.lower without an encoding lowercases ASCII letters only.
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
# tf.strings.split splits on ASCII whitespace.
_WHITESPACE = re.compile(r"[ \t\n\v\f\r]+")


def _ngrams(tokens, widths):
    """The n-grams of each width in `widths` (in that order), joined by a space; a sequence
    shorter than a width gives none of that width (tf.strings.ngrams' defaults)."""
    out = []
    for n in widths:
        out.extend(" ".join(tokens[i:i + n]) for i in range(len(tokens) - n + 1))
    return out


def _serialize_callable(value):
    if value is None or isinstance(value, str):
        return value
    from rnnkit import saving
    return saving.serialize(value)


def _deserialize_callable(value):
    if isinstance(value, dict):
        from rnnkit import saving
        return saving.deserialize(value)
    return value


class TextVectorization(HostLayer):
    """Turns raw strings into sequences of token indices or into token-count vectors.

    Each input string goes through: (1) `standardize` (lowercase ASCII letters and/or strip
    punctuation `!"#$%&()*+,-./:;<=>?@[\\]^_`{|}~'`), (2) `split` into tokens (on ASCII
    whitespace, or into characters), (3) optional `ngrams`, (4) a lookup in the vocabulary
    (built by `adapt`, or given): index 0 is padding (`""`), 1 the OOV token `"[UNK]"`, then
    the tokens by decreasing frequency. `output_mode="int"` returns int64 indices, padded with
    0 (or truncated) to `output_sequence_length` (else to the longest sequence of the
    batch); the other modes return one float32 vector per string (multi-hot, counts or
    TF-IDF) of the vocabulary's size. It runs in NumPy on the host, as Keras' runs in TF.

    Args:
        max_tokens: Optional int, the maximum vocabulary size (padding and OOV included).
        standardize: `"lower_and_strip_punctuation"` (default), `"lower"`,
            `"strip_punctuation"`, `None`, or a callable taking and returning a NumPy str
            array.
        split: `"whitespace"` (default), `"character"`, `None` (each string is one token),
            or a callable mapping a 1-D NumPy str array to a list of token lists.
        ngrams: `None`, an int `n` (all n-grams of widths 1..n) or a tuple of widths.
        output_mode: `"int"` (default), `"multi_hot"`, `"count"` or `"tf_idf"` (also
            `"one_hot"`, accepted as Keras does, for unsplit single tokens).
        output_sequence_length: Int mode only: pad or truncate every output to this length.
        pad_to_max_tokens: Bool; vector modes only: outputs have `max_tokens` entries.
        vocabulary: Optional list of tokens or text file path (one token per line).
        idf_weights: IDF weights, one per vocabulary entry (output_mode `"tf_idf"`).
        ragged: Must be `False` (no ragged arrays in NumPy).
        sparse: Must be `False`.
        encoding: Only `"utf-8"`.
        **kwargs: Base layer arguments (`name`, ...).

    Call arguments:
        inputs: Strings: a list, a 1-D str/object array `(batch,)` or `(batch, 1)`, or a
            single string.

    Returns:
        int64 `(batch, length)` (`"int"`), or float32 `(batch, vocabulary_size)`.

    Raises:
        ValueError: For invalid arguments (Keras' messages), inputs of rank 2 with a last
            axis other than 1 when splitting, or adapting a layer with a fixed vocabulary.

    Example:

    >>> import numpy as np, rnnkit as keras
    >>> layer = keras.layers.TextVectorization(output_sequence_length=4)
    >>> layer.adapt(["The cat sat.", "The dog sat on the mat!"])
    >>> layer.get_vocabulary()[:4]
    ['', '[UNK]', 'the', 'sat']
    >>> layer(["the cat ran"]).tolist()
    [[2, 7, 1, 0]]
    """

    def __init__(self, max_tokens=None, standardize="lower_and_strip_punctuation",
                 split="whitespace", ngrams=None, output_mode="int", output_sequence_length=None,
                 pad_to_max_tokens=False, vocabulary=None, idf_weights=None, sparse=False,
                 ragged=False, encoding="utf-8", name=None, **kwargs):
        caller = "TextVectorization"
        if not (standardize is None or callable(standardize) or isinstance(standardize, dict)):
            check_choice(standardize, ("lower_and_strip_punctuation", "lower",
                                       "strip_punctuation"), "standardize", caller)
        if not (split is None or callable(split) or isinstance(split, dict)):
            check_choice(split, ("whitespace", "character"), "split", caller)
        standardize, split = _deserialize_callable(standardize), _deserialize_callable(split)
        if output_mode == "binary":
            output_mode = "multi_hot"
        if output_mode == "tf-idf":
            output_mode = "tf_idf"
        check_choice(output_mode, OUTPUT_MODES, "output_mode", caller)
        if isinstance(ngrams, list):
            ngrams = tuple(ngrams)
        if not (ngrams is None or (is_int(ngrams) and ngrams > 0) or
                (isinstance(ngrams, tuple) and ngrams and
                 all(is_int(n) and n > 0 for n in ngrams))):
            raise ValueError("`ngrams` must be None, an integer, or a tuple of integers. "
                             f"Received: ngrams={ngrams!r}")
        if output_mode == "int" and not (output_sequence_length is None or
                                         (is_int(output_sequence_length) and
                                          output_sequence_length > 0)):
            raise ValueError("`output_sequence_length` must be either None or an integer when "
                             "`output_mode` is 'int'. Received: "
                             f"output_sequence_length={output_sequence_length!r}")
        if output_mode != "int" and output_sequence_length is not None:
            raise ValueError("`output_sequence_length` must not be set if `output_mode` is not "
                             f"'int'. Received output_sequence_length={output_sequence_length}.")
        if check_bool(ragged, "ragged"):
            raise ValueError("TextVectorization: `ragged=True` is not supported by rnnkit (no "
                             "ragged arrays); use output_sequence_length or the padded output.")
        if check_bool(sparse, "sparse"):
            raise ValueError("TextVectorization: `sparse=True` is not supported by rnnkit; pass "
                             "sparse=False.")
        if encoding not in ("utf-8", "utf8", "UTF-8"):
            raise ValueError(f"TextVectorization: only `encoding='utf-8'` is supported. "
                             f"Received: encoding={encoding!r}")
        kwargs.pop("vocabulary_size", None)
        kwargs.pop("has_input_vocabulary", None)
        super().__init__(name=name, **{k: v for k, v in kwargs.items() if k != "dtype"})
        self._standardize = standardize
        self._split = split
        self._ngrams_arg = ngrams
        self._ngrams = tuple(range(1, ngrams + 1)) if is_int(ngrams) else ngrams
        self._output_mode = output_mode
        self._output_sequence_length = None if output_sequence_length is None else \
            int(output_sequence_length)
        self._lookup_layer = StringLookup(
            max_tokens=max_tokens, vocabulary=vocabulary, idf_weights=idf_weights,
            pad_to_max_tokens=pad_to_max_tokens, mask_token="", output_mode=output_mode,
            name=f"{self.name}_lookup")
        self.built = True

    # -- properties ----------------------------------------------------------------------------
    @property
    def output_mode(self):
        """The output mode (`"int"`, `"multi_hot"`, `"count"`, `"tf_idf"`, `"one_hot"`)."""
        return self._output_mode

    @property
    def idf_weights(self):
        """The IDF weights (output_mode `"tf_idf"`), or `None`."""
        return self._lookup_layer.idf_weights

    def get_vocabulary(self, include_special_tokens=True):
        """Returns the vocabulary, in index order.

        Args:
            include_special_tokens: If `True` (the default), the list starts with the
                padding token `""` (int mode) and the OOV token `"[UNK]"`.
        """
        return self._lookup_layer.get_vocabulary(include_special_tokens)

    def vocabulary_size(self):
        """Returns the size of the vocabulary, padding and OOV tokens included."""
        return self._lookup_layer.vocabulary_size()

    def set_vocabulary(self, vocabulary, idf_weights=None):
        """Sets the vocabulary (and IDF weights in `"tf_idf"` mode); see
        `StringLookup.set_vocabulary`."""
        self._lookup_layer.set_vocabulary(vocabulary, idf_weights)

    # -- preprocessing -------------------------------------------------------------------------
    def _standardized(self, strings):
        """Standardizes a NumPy str array (any shape)."""
        mode = self._standardize
        if mode is None:
            return strings
        if callable(mode):
            return to_numpy(mode(strings))
        flat = [str(s) for s in strings.ravel()]
        if mode in ("lower", "lower_and_strip_punctuation"):
            flat = [s.translate(_ASCII_LOWER) for s in flat]
        if mode in ("strip_punctuation", "lower_and_strip_punctuation"):
            flat = [_PUNCTUATION.sub("", s) for s in flat]
        return np.array(flat, dtype=str).reshape(strings.shape) if flat else \
            np.zeros(strings.shape, dtype=str)

    def _token_rows(self, inputs):
        """The token lists of the inputs: one list per string (after split and n-grams)."""
        strings = to_numpy(inputs)
        if strings.dtype.kind not in "UO":
            raise ValueError(f"Layer '{self.name}' (TextVectorization) expects strings, got an "
                             f"array of dtype {strings.dtype}")
        if strings.ndim == 0:
            strings = strings[None]
        strings = self._standardized(strings.astype(str))
        if self._split is None:
            rows = [[str(s)] for s in strings.ravel()] if strings.ndim == 1 else \
                [[str(s) for s in row] for row in strings.reshape(len(strings), -1)]
        else:
            if strings.ndim > 1:
                if strings.shape[-1] != 1:
                    raise ValueError(
                        "When using `TextVectorization` to tokenize strings, the input rank "
                        "must be 1 or the last shape dimension must be 1. Received: "
                        f"inputs.shape={strings.shape} with rank={strings.ndim}")
                strings = strings[..., 0]
            strings = strings.reshape(-1)
            if self._split == "whitespace":
                rows = [[t for t in _WHITESPACE.split(s) if t] for s in strings.tolist()]
            elif self._split == "character":
                rows = [list(s) for s in strings.tolist()]
            else:
                rows = [[str(t) for t in np.asarray(to_numpy(row)).ravel()]
                        for row in self._split(strings)]
        if self._ngrams is not None:
            rows = [_ngrams(row, self._ngrams) for row in rows]
        return rows

    @staticmethod
    def _padded(rows, length=None):
        """Token rows as a rectangular str array, padded with the mask token `""`."""
        width = max((len(r) for r in rows), default=0) if length is None else length
        out = np.full((len(rows), width), "", dtype=object)
        for i, row in enumerate(rows):
            row = row[:width]
            out[i, :len(row)] = row
        return out

    # -- adapt ---------------------------------------------------------------------------------
    def update_state(self, data):
        """Adds the tokens of a batch of strings to the counts `adapt` uses."""
        if self._lookup_layer._has_input_vocabulary:
            raise ValueError(f"Cannot adapt layer '{self.name}' after setting a static vocabulary "
                             "via `vocabulary` argument or `set_vocabulary()` method.")
        self._lookup_layer._add_documents(self._token_rows(data))

    def finalize_state(self):
        """Builds the vocabulary from the counts (see `StringLookup.finalize_state`)."""
        self._lookup_layer.finalize_state()

    def reset_state(self):
        """Clears the counts gathered by `update_state`."""
        self._lookup_layer.reset_state()

    def adapt(self, data, batch_size=None, steps=None):
        """Builds the vocabulary (and IDF weights) from a dataset of strings.

        Args:
            data: A list or array of strings, or an iterable of batches of strings (a
                generator, a PyDataset; `(x, y)` batches use `x`).
            batch_size: Optional int, the batch size to walk an array with.
            steps: Optional int, the number of batches to read.
        """
        self.reset_state()
        for batch in iterate_batches(data, batch_size, steps):
            self.update_state(batch)
        self.finalize_state()

    # -- call ----------------------------------------------------------------------------------
    def call(self, inputs):
        """Vectorizes the strings; see the class docstring."""
        rows = self._token_rows(inputs)
        if self._output_mode == "int":
            tokens = self._padded(rows, self._output_sequence_length)
            return self._lookup_layer.call(tokens)
        return self._lookup_layer.call(self._padded(rows))

    def compute_output_shape(self, input_shape):
        """`(batch, output_sequence_length)` in int mode; `(batch, vocabulary_size)` (or
        `max_tokens` with `pad_to_max_tokens`) otherwise."""
        if self._output_mode == "int":
            return (tuple(input_shape)[0], self._output_sequence_length)
        lookup = self._lookup_layer
        depth = lookup.max_tokens if lookup.pad_to_max_tokens else lookup.vocabulary_size()
        return (tuple(input_shape)[0], depth)

    def get_config(self):
        """Keras' TextVectorization config, with the current vocabulary (and IDF weights),
        so that `from_config` rebuilds a layer that vectorizes the same way."""
        lookup = self._lookup_layer.get_config()
        return {**super().get_config(),
                "max_tokens": lookup["max_tokens"],
                "standardize": _serialize_callable(self._standardize),
                "split": _serialize_callable(self._split),
                "ngrams": self._ngrams_arg,
                "output_mode": self._output_mode,
                "output_sequence_length": self._output_sequence_length,
                "pad_to_max_tokens": lookup["pad_to_max_tokens"],
                "sparse": False, "ragged": False,
                "vocabulary": lookup["vocabulary"],
                "idf_weights": lookup["idf_weights"],
                "encoding": "utf-8",
                "vocabulary_size": lookup["vocabulary_size"]}
