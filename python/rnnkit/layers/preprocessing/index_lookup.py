"""StringLookup and IntegerLookup: map tokens to indices in a vocabulary (or back)."""

from __future__ import annotations

import collections
import os

import numpy as np

from rnnkit.layers.core._checks import check_bool, is_int
from rnnkit.layers.preprocessing._base import (OUTPUT_MODES, HostLayer, check_choice,
                                               encode_categorical, iterate_batches, to_numpy)
from rnnkit.layers.preprocessing._hash import fingerprint64, siphash24

_INT64_MAX = np.iinfo(np.int64).max


def _check_salt(salt, caller):
    if salt is None:
        return None
    if isinstance(salt, (list, tuple)) and len(salt) == 2 and all(is_int(s) for s in salt):
        return [int(s) for s in salt]
    if is_int(salt):
        return [int(salt), int(salt)]
    raise ValueError(f"The `salt` argument for `{caller}` can only be a tuple of 2 integers, or "
                     f"a single integer. Received: salt={salt!r}.")


def hash_to_bins(values, num_bins, salt=None):
    """Hashes every value (strings as UTF-8; other values through their decimal string) to
    `[0, num_bins)` with FarmHash Fingerprint64, or SipHash-2-4 keyed by `salt`, as TF's
    `to_hash_bucket_fast` / `to_hash_bucket_strong`."""
    values = np.asarray(values)
    out = np.empty(values.shape, dtype=np.int64)
    cache = {}
    for idx, value in np.ndenumerate(values):
        if value in cache:
            out[idx] = cache[value]
            continue
        text = value if isinstance(value, str) else str(value)
        data = text.encode("utf-8")
        h = fingerprint64(data) if salt is None else siphash24(data, salt)
        cache[value] = out[idx] = h % num_bins
    return out


class _IndexLookup(HostLayer):
    """Shared implementation of StringLookup and IntegerLookup (see their docstrings)."""

    _kind = "string"

    def __init__(self, max_tokens, num_oov_indices, mask_token, oov_token, vocabulary_dtype,
                 vocabulary=None, idf_weights=None, invert=False, output_mode="int",
                 sparse=False, pad_to_max_tokens=False, oov_method="floormod", salt=None,
                 **kwargs):
        caller = type(self).__name__
        kwargs.pop("vocabulary_size", None)
        kwargs.pop("has_input_vocabulary", None)
        dtype = kwargs.pop("dtype", None)
        if max_tokens is not None and (not is_int(max_tokens) or max_tokens <= 1):
            raise ValueError("If set, `max_tokens` must be greater than 1. "
                             f"Received: max_tokens={max_tokens!r}")
        pad_to_max_tokens = check_bool(pad_to_max_tokens, "pad_to_max_tokens")
        if pad_to_max_tokens and max_tokens is None:
            raise ValueError("If pad_to_max_tokens is True, must set `max_tokens`. "
                             f"Received: max_tokens={max_tokens}")
        if not is_int(num_oov_indices) or num_oov_indices < 0:
            raise ValueError("`num_oov_indices` must be greater than or equal to 0. "
                             f"Received: num_oov_indices={num_oov_indices!r}")
        check_choice(oov_method, ("floormod", "farmhash"), "oov_method", caller)
        if salt is not None and self._kind == "int" and oov_method != "farmhash":
            raise ValueError("`salt` can only be used when `oov_method='farmhash'`. "
                             f"Received: oov_method={oov_method}")
        salt = _check_salt(salt, caller)
        if output_mode == "binary":
            output_mode = "multi_hot"
        if output_mode == "tf-idf":
            output_mode = "tf_idf"
        check_choice(output_mode, OUTPUT_MODES, "output_mode", caller)
        invert = check_bool(invert, "invert")
        if invert and output_mode != "int":
            raise ValueError("`output_mode` must be `'int'` when `invert` is true. "
                             f"Received: output_mode={output_mode}")
        if check_bool(sparse, "sparse"):
            raise ValueError(f"{caller}: `sparse=True` is not supported by rnnkit (outputs are "
                             "dense NumPy arrays); pass sparse=False.")
        if idf_weights is not None and output_mode != "tf_idf":
            raise ValueError("`idf_weights` should only be set if `output_mode` is `'tf_idf'`. "
                             f"Received: idf_weights={idf_weights} and "
                             f"output_mode={output_mode}")
        super().__init__(dtype=None if dtype in (None, "int64", "int32", "string") or
                         isinstance(dtype, dict) else dtype, **kwargs)
        self.invert = invert
        self.max_tokens = None if max_tokens is None else int(max_tokens)
        self.num_oov_indices = int(num_oov_indices)
        self.mask_token = mask_token
        self.oov_token = oov_token
        self.output_mode = output_mode
        self.sparse = False
        self.pad_to_max_tokens = pad_to_max_tokens
        self.vocabulary_dtype = vocabulary_dtype
        self.oov_method = oov_method
        self.salt = salt
        self._tokens = []
        self._index = {}
        self.idf_weights = None
        self._reset_counts()
        self._has_input_vocabulary = vocabulary is not None
        if output_mode == "tf_idf" and vocabulary is not None and idf_weights is None:
            raise ValueError("When specifying the `vocabulary` argument, in TF-IDF output mode, "
                             "the `idf_weights` argument must also be provided.")
        if vocabulary is not None:
            self.set_vocabulary(vocabulary, idf_weights)
        self.built = True

    # -- vocabulary ----------------------------------------------------------------------------
    def _oov_start_index(self):
        return 1 if self.mask_token is not None and self.output_mode == "int" else 0

    def _token_start_index(self):
        return self._oov_start_index() + self.num_oov_indices

    def _key(self, token):
        """A token as the layer's vocabulary type (str, or int)."""
        if self._kind == "string":
            return token.decode("utf-8") if isinstance(token, bytes) else str(token)
        return int(token)

    def vocabulary_size(self):
        """Returns the size of the vocabulary, mask and OOV indices included."""
        return self._token_start_index() + len(self._tokens)

    def get_vocabulary(self, include_special_tokens=True):
        """Returns the vocabulary as a list, in index order.

        Args:
            include_special_tokens: If `True` (the default), the list starts with the mask
                token (output_mode `"int"` with a mask token) and the OOV tokens, so that a
                token's position is its index; if `False`, only the learned tokens.
        """
        special = ([self.mask_token] if self._oov_start_index() else []) + \
            [self.oov_token] * self.num_oov_indices
        vocab = list(self._tokens)
        return special + vocab if include_special_tokens else vocab

    def set_vocabulary(self, vocabulary, idf_weights=None):
        """Sets the vocabulary (and, for `"tf_idf"`, the IDF weights) directly.

        Args:
            vocabulary: A list / 1-D array of tokens, or the path of a text file with one
                token per line. It may start with the special tokens (mask, then OOV) in
                the layer's order; otherwise they are added.
            idf_weights: For `output_mode="tf_idf"` (and only then): one weight per entry of
                `vocabulary`.

        Raises:
            ValueError: For an empty or repeated vocabulary, a vocabulary larger than
                `max_tokens`, special tokens inside it, or missing / unexpected
                `idf_weights`.
        """
        caller = type(self).__name__
        if self.output_mode == "tf_idf":
            if idf_weights is None:
                raise ValueError("`idf_weights` must be set if output_mode is 'tf_idf'.")
        elif idf_weights is not None:
            raise ValueError("`idf_weights` should only be set if output_mode is `'tf_idf'`. "
                             f"Received: output_mode={self.output_mode} and "
                             f"idf_weights={idf_weights}")
        if isinstance(vocabulary, (str, os.PathLike)):
            if not os.path.exists(vocabulary):
                raise ValueError(f"Vocabulary file {vocabulary} does not exist.")
            if self.output_mode == "tf_idf":
                raise ValueError("output_mode `'tf_idf'` does not support loading a vocabulary "
                                 "from file.")
            with open(vocabulary, encoding="utf-8") as f:
                lines = f.read().splitlines()
            while lines and lines[-1] == "":
                lines.pop()
            vocabulary = lines
        vocabulary = [self._key(t) for t in np.asarray(to_numpy(vocabulary)).ravel()]
        if not vocabulary:
            raise ValueError(f"Cannot set an empty vocabulary. Received: vocabulary={vocabulary}")
        oov_start, token_start = self._oov_start_index(), self._token_start_index()
        special = [self.mask_token] * oov_start + [self.oov_token] * self.num_oov_indices
        found_special = vocabulary[:token_start] == special
        tokens = vocabulary[token_start:] if found_special else vocabulary
        repeated = [t for t, c in collections.Counter(tokens).items() if c > 1]
        if repeated:
            raise ValueError(f"{caller}: the passed vocabulary has at least one repeated term. "
                             f"Please uniquify your dataset. The repeated terms are {repeated}")
        if self.mask_token is not None and self.mask_token in tokens:
            raise ValueError("Found reserved mask token at unexpected location in `vocabulary`. "
                             "Note that passed `vocabulary` does not need to include the OOV "
                             "and mask tokens. Either remove all mask and OOV tokens, or "
                             "include them only at the start of the vocabulary in precisely "
                             f"this order: {special}. Received: mask_token={self.mask_token}")
        if self.oov_token is not None and self.invert and self.oov_token in tokens:
            raise ValueError("Found reserved OOV token at unexpected location in `vocabulary`. "
                             "Either remove all mask and OOV tokens, or include them only at "
                             f"the start of the vocabulary in precisely this order: {special}. "
                             f"Received: oov_token={self.oov_token}")
        size = token_start + len(tokens)
        if self.max_tokens is not None and size > self.max_tokens:
            raise ValueError("Attempted to set a vocabulary larger than the maximum vocab size. "
                             f"Received vocabulary size is {size}; `max_tokens` is "
                             f"{self.max_tokens}.")
        if self.output_mode == "tf_idf":
            idf_weights = np.asarray(to_numpy(idf_weights), dtype=np.float64)
            if idf_weights.ndim != 1:
                raise ValueError(f"TF-IDF data must be a 1-index array. Received: idf_weights "
                                 f"of shape {idf_weights.shape}")
            if len(idf_weights) != len(vocabulary):
                raise ValueError("`idf_weights` must be the same length as vocabulary. "
                                 f"len(idf_weights) is {len(idf_weights)}; len(vocabulary) is "
                                 f"{len(vocabulary)}")
            front = 0 if found_special else token_start
            front_value = 0.0 if found_special else float(np.average(idf_weights))
            back = (self.max_tokens - front - len(idf_weights)) \
                if self.pad_to_max_tokens and self.max_tokens is not None else 0
            idf_weights = np.pad(idf_weights, (front, back), constant_values=(front_value, 0.0))
            self.idf_weights = idf_weights.astype("float32")
        self._set_tokens(tokens)
        self._has_input_vocabulary = True

    def _set_tokens(self, tokens):
        self._tokens = list(tokens)
        start = self._token_start_index()
        self._index = {t: i + start for i, t in enumerate(self._tokens)}

    # -- adapt ---------------------------------------------------------------------------------
    def _reset_counts(self):
        self._counts = collections.Counter()
        self._doc_counts = collections.Counter()
        self._num_documents = 0

    def update_state(self, data):
        """Adds the tokens of one batch to the counts `adapt` computes the vocabulary from.

        Raises:
            ValueError: If the layer's vocabulary was given (`vocabulary=` or
                `set_vocabulary`).
        """
        if self._has_input_vocabulary:
            raise ValueError(f"Cannot adapt layer '{self.name}' after setting a static vocabulary "
                             "via `vocabulary` argument or `set_vocabulary()` method.")
        data = to_numpy(data)
        if data.ndim == 0:
            data = data[None]
        if data.ndim == 1:
            data = data[None]
        rows = [[self._key(t) for t in np.asarray(row).ravel()] for row in data]
        self._add_documents(rows)

    def _add_documents(self, rows):
        """Counts the tokens of documents given as lists of tokens."""
        for row in rows:
            self._counts.update(row)
        if self.output_mode == "tf_idf":
            for row in rows:
                self._doc_counts.update(set(row))
            self._num_documents += len(rows)

    def finalize_state(self):
        """Builds the vocabulary from the counts: tokens by decreasing count (ties broken by
        decreasing token, as Keras), at most `max_tokens` entries in all."""
        if self._has_input_vocabulary or not self._counts:
            return
        counts = dict(self._counts)
        for special in (self.mask_token, self.oov_token):
            if special is not None:
                counts.pop(self._key(special) if self._kind == "int" else special, None)
        tokens = sorted(counts, key=lambda t: (counts[t], t), reverse=True)
        if self.max_tokens:
            tokens = tokens[:self.max_tokens - self._token_start_index()]
        self._set_tokens(tokens)
        if self.output_mode == "tf_idf":
            df = np.array([self._doc_counts[t] for t in tokens], dtype=np.float64)
            idf = np.log(1.0 + self._num_documents / (1.0 + df)).astype("float32")
            idf = np.pad(idf, (self._token_start_index(), 0),
                         constant_values=np.mean(idf, dtype=np.float32) if len(idf) else 0.0)
            if self.pad_to_max_tokens and self.max_tokens is not None:
                idf = np.pad(idf, (0, self.max_tokens - len(idf)))
            self.idf_weights = idf.astype("float32")
        self._reset_counts()

    def reset_state(self):
        """Clears the counts gathered by `update_state`."""
        self._reset_counts()

    def adapt(self, data, batch_size=None, steps=None):
        """Computes the vocabulary from `data`.

        Args:
            data: An array or list of tokens (a 1-D input is one token per document), or an
                iterable of such batches.
            batch_size: Optional int, the batch size to walk an array with.
            steps: Optional int, the number of batches to read.
        """
        self.reset_state()
        for batch in iterate_batches(data, batch_size, steps):
            if batch.ndim == 1:
                batch = batch[:, None]
            self.update_state(batch)
        self.finalize_state()

    # -- call ----------------------------------------------------------------------------------
    def _lookup(self, inputs):
        if self.invert:
            ids = np.asarray(inputs).astype(np.int64)
            out = np.empty(ids.shape, dtype=object)
            tokens, start = self._tokens, self._token_start_index()
            for idx, i in np.ndenumerate(ids):
                if self.mask_token is not None and i == 0:
                    out[idx] = self.mask_token
                elif start <= i < start + len(tokens):
                    out[idx] = tokens[i - start]
                else:
                    out[idx] = self.oov_token
            return out.astype(str) if self._kind == "string" else out.astype(np.int64)
        inputs = np.asarray(inputs)
        keys = np.vectorize(self._key, otypes=[object])(inputs) if inputs.size else \
            inputs.astype(object)
        n_oov = self.num_oov_indices
        default = self._oov_start_index() if n_oov == 1 else -1
        lookups = np.fromiter((self._index.get(k, default) for k in keys.ravel()),
                              dtype=np.int64, count=keys.size).reshape(keys.shape)
        if self.mask_token is not None:
            mask_value = 0 if self.output_mode == "int" else _INT64_MAX
            lookups = np.where(keys == self._key(self.mask_token), mask_value, lookups)
        if n_oov == 0:
            missing = lookups == -1
            if missing.any():
                raise ValueError("When `num_oov_indices=0` all inputs should be in vocabulary, "
                                 f"found OOV values {keys[missing].tolist()}, consider setting "
                                 "`num_oov_indices=1`.")
        elif n_oov > 1:
            missing = lookups == -1
            if missing.any():
                values = keys[missing]
                if self._kind == "int" and self.oov_method != "farmhash":
                    buckets = np.mod(values.astype(np.int64), n_oov)
                else:
                    buckets = hash_to_bins(values, n_oov, self.salt)
                lookups[missing] = buckets + self._oov_start_index()
        return lookups

    def call(self, inputs):
        """Looks the inputs up; see the class docstring."""
        inputs = to_numpy(inputs)
        lookups = self._lookup(inputs)
        if self.output_mode == "int":
            return lookups
        depth = self.max_tokens if self.pad_to_max_tokens else self.vocabulary_size()
        mode = "count" if self.output_mode == "tf_idf" else self.output_mode
        out = encode_categorical(lookups, mode, depth, "float32")
        if self.output_mode == "tf_idf":
            if self.idf_weights is None:
                raise ValueError("When `output_mode` is `'tf_idf'`, `idf_weights` must be "
                                 "provided (call `adapt` or pass `vocabulary` and "
                                 "`idf_weights`).")
            out = (out * self.idf_weights[:depth]).astype("float32")
        return out

    def compute_output_shape(self, input_shape):
        """`input_shape` for `"int"`; otherwise the last axis becomes the vocabulary size."""
        input_shape = tuple(input_shape)
        if self.output_mode == "int":
            return input_shape
        depth = self.max_tokens if self.pad_to_max_tokens else self.vocabulary_size()
        if self.output_mode == "one_hot":
            if len(input_shape) > 1 and input_shape[-1] == 1:
                return input_shape[:-1] + (depth,)
            return input_shape + (depth,)
        return input_shape[:-1] + (depth,)

    def get_config(self):
        """The constructor arguments, with the current vocabulary (learned by `adapt` or
        set) and IDF weights, so that `from_config` rebuilds a layer that maps the same
        tokens."""
        vocabulary = self.get_vocabulary(include_special_tokens=False) or None
        idf = None
        if self.output_mode == "tf_idf" and vocabulary is not None and \
                self.idf_weights is not None:
            start = self._token_start_index()
            idf = self.idf_weights[start:start + len(vocabulary)].tolist()
        config = {**super().get_config(), "invert": self.invert, "max_tokens": self.max_tokens,
                  "num_oov_indices": self.num_oov_indices, "oov_token": self.oov_token,
                  "mask_token": self.mask_token, "output_mode": self.output_mode,
                  "sparse": False, "pad_to_max_tokens": self.pad_to_max_tokens,
                  "vocabulary_dtype": self.vocabulary_dtype, "idf_weights": idf,
                  "vocabulary": vocabulary,
                  "vocabulary_size": self.vocabulary_size() if vocabulary else None,
                  "oov_method": self.oov_method, "salt": self.salt}
        return config


class StringLookup(_IndexLookup):
    """Maps strings to integer indices in a vocabulary (or, with `invert`, indices back to
    strings).

    The vocabulary comes from `vocabulary=`, `set_vocabulary` or `adapt(data)` (tokens by
    decreasing frequency). Index layout (output_mode `"int"`): the mask token (if any) is 0,
    then `num_oov_indices` OOV indices, then the tokens. Unknown strings go to the OOV index
    (with several OOV indices, FarmHash Fingerprint64 of the string modulo
    `num_oov_indices`, as Keras/TF). Other output modes encode each sample into a vector of
    the vocabulary's size. Runs in NumPy on the host; inputs are NumPy str/object arrays or
    lists.

    Args:
        max_tokens: Optional int > 1, the largest vocabulary (special tokens included).
        num_oov_indices: Int >= 0, the number of OOV indices. Defaults to 1.
        mask_token: Optional string mapped to index 0 (output_mode `"int"`) or ignored.
        oov_token: The token `get_vocabulary` and `invert` use for OOV indices.
            Defaults to `"[UNK]"`.
        vocabulary: Optional list / array of tokens, or a text file path.
        idf_weights: IDF weights, one per vocabulary entry (output_mode `"tf_idf"` only).
        invert: Bool; if `True`, maps indices to tokens.
        output_mode: `"int"` (default), `"one_hot"`, `"multi_hot"`, `"count"` or
            `"tf_idf"`.
        pad_to_max_tokens: Bool; for the vector modes, pad the output to `max_tokens`.
        sparse: Must be `False` (dense outputs only).
        encoding: Text encoding of bytes inputs; only `"utf-8"`.
        **kwargs: Base layer arguments (`name`, ...).

    Call arguments:
        inputs: An array (or list) of strings of any shape.

    Returns:
        int64 indices of the input's shape (`"int"`); or float32 vectors
        `(..., vocabulary_size)`.

    Raises:
        ValueError: For invalid arguments (messages as Keras'), unknown inputs with
            `num_oov_indices=0`, or adapting a layer with a fixed vocabulary.

    Example:

    >>> import numpy as np, rnnkit as keras
    >>> layer = keras.layers.StringLookup(vocabulary=["a", "b", "c"])
    >>> layer(np.array([["a", "c", "d"], ["d", "z", "b"]])).tolist()
    [[1, 3, 0], [0, 0, 2]]
    >>> layer.get_vocabulary()
    ['[UNK]', 'a', 'b', 'c']
    >>> keras.layers.StringLookup(vocabulary=["a", "b"], invert=True)(np.array([2, 0])).tolist()
    ['b', '[UNK]']
    """

    def __init__(self, max_tokens=None, num_oov_indices=1, mask_token=None, oov_token="[UNK]",
                 vocabulary=None, idf_weights=None, invert=False, output_mode="int",
                 pad_to_max_tokens=False, sparse=False, encoding="utf-8", **kwargs):
        if encoding not in ("utf-8", "utf8", "UTF-8"):
            raise ValueError(f"StringLookup: only `encoding='utf-8'` is supported. Received: "
                             f"encoding={encoding!r}")
        kwargs.pop("vocabulary_dtype", None)
        self.encoding = "utf-8"
        super().__init__(max_tokens=max_tokens, num_oov_indices=num_oov_indices,
                         mask_token=mask_token, oov_token=oov_token, vocabulary_dtype="string",
                         vocabulary=vocabulary, idf_weights=idf_weights, invert=invert,
                         output_mode=output_mode, pad_to_max_tokens=pad_to_max_tokens,
                         sparse=sparse, **kwargs)

    def get_config(self):
        config = {**super().get_config(), "encoding": self.encoding}
        config.pop("vocabulary_dtype")
        return config


class IntegerLookup(_IndexLookup):
    """Maps integers to indices in a vocabulary (or, with `invert`, indices back).

    As `StringLookup`, for integer tokens: the vocabulary from `vocabulary=`,
    `set_vocabulary` or `adapt`; the mask token (if any) is index 0 in output_mode `"int"`,
    then `num_oov_indices` OOV indices, then the tokens. With several OOV indices an unknown
    value `x` goes to `x mod num_oov_indices` (`oov_method="floormod"`, the default) or to
    the FarmHash of its decimal string (`"farmhash"`, optionally keyed by `salt`).

    Args:
        max_tokens: Optional int > 1, the largest vocabulary (special tokens included).
        num_oov_indices: Int >= 0. Defaults to 1.
        mask_token: Optional int mapped to index 0 (output_mode `"int"`) or ignored.
        oov_token: The int `invert` returns for OOV indices. Defaults to -1.
        vocabulary: Optional list / array of ints, or a text file path.
        vocabulary_dtype: `"int64"` (the default) or `"int32"`.
        idf_weights: IDF weights (output_mode `"tf_idf"` only).
        invert: Bool; if `True`, maps indices to tokens.
        output_mode: `"int"`, `"one_hot"`, `"multi_hot"`, `"count"` or `"tf_idf"`.
        sparse: Must be `False`.
        pad_to_max_tokens: Bool; pad vector outputs to `max_tokens`.
        oov_method: `"floormod"` (default) or `"farmhash"`.
        salt: Optional int or pair of ints keying the hash (`oov_method="farmhash"`).
        **kwargs: Base layer arguments.

    Call arguments:
        inputs: An integer array (or list) of any shape.

    Returns:
        As `StringLookup`.

    Raises:
        ValueError: As `StringLookup`, and for `salt` without `oov_method="farmhash"`.

    Example:

    >>> import numpy as np, rnnkit as keras
    >>> layer = keras.layers.IntegerLookup(vocabulary=[12, 36, 1138, 42])
    >>> layer(np.array([[12, 1138, 42], [42, 1000, 36]])).tolist()
    [[1, 3, 4], [4, 0, 2]]
    """

    _kind = "int"

    def __init__(self, max_tokens=None, num_oov_indices=1, mask_token=None, oov_token=-1,
                 vocabulary=None, vocabulary_dtype="int64", idf_weights=None, invert=False,
                 output_mode="int", sparse=False, pad_to_max_tokens=False,
                 oov_method="floormod", salt=None, **kwargs):
        check_choice(vocabulary_dtype, ("int64", "int32"), "vocabulary_dtype", "IntegerLookup")
        if mask_token is not None and not is_int(mask_token):
            raise ValueError(f"IntegerLookup: `mask_token` must be None or an int. Received: "
                             f"mask_token={mask_token!r}")
        if oov_token is not None and not is_int(oov_token):
            raise ValueError(f"IntegerLookup: `oov_token` must be an int. Received: "
                             f"oov_token={oov_token!r}")
        super().__init__(max_tokens=max_tokens, num_oov_indices=num_oov_indices,
                         mask_token=None if mask_token is None else int(mask_token),
                         oov_token=None if oov_token is None else int(oov_token),
                         vocabulary_dtype=vocabulary_dtype, vocabulary=vocabulary,
                         idf_weights=idf_weights, invert=invert, output_mode=output_mode,
                         sparse=sparse, pad_to_max_tokens=pad_to_max_tokens,
                         oov_method=oov_method, salt=salt, **kwargs)
