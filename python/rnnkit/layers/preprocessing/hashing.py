"""Hashing: strings or integers to hash bins, with the hashes of Keras/TF."""

from __future__ import annotations

import numpy as np

from rnnkit.layers.core._checks import check_bool, is_int
from rnnkit.layers.preprocessing._base import HostLayer, check_choice, encode_categorical, \
    to_numpy
from rnnkit.layers.preprocessing.index_lookup import _check_salt, hash_to_bins

_INT_DTYPES = ("int32", "int64")


class Hashing(HostLayer):
    """Hashes strings or integers into `num_bins` bins, as Keras' `Hashing`.

    Each value is hashed through its UTF-8 string (integers through their decimal string,
    floats after a cast to int64, as Keras): FarmHash `Fingerprint64` by default, or
    SipHash-2-4 keyed by `salt`, modulo the number of bins (the functions behind TF's
    `tf.strings.to_hash_bucket_fast` / `_strong`, so the bins equal Keras'). With a
    `mask_value`, that value goes to bin 0 and the others to `1 + hash % (num_bins - 1)`.

    Args:
        num_bins: Positive int, the number of bins (the mask bin included).
        mask_value: Optional value (string or int) mapped to bin 0.
        salt: Optional int or pair of ints: use SipHash-2-4 with this key.
        output_mode: `"int"` (default), `"one_hot"`, `"multi_hot"` or `"count"`.
        sparse: Must be `False`.
        dtype: Output dtype: `"int64"` (default) or `"int32"` for `"int"`, `"float32"`
            (default) or `"float64"` for the other modes.
        **kwargs: Base layer arguments (`name`, ...).

    Call arguments:
        inputs: An array or list of strings or integers (or floats).

    Returns:
        The bins, of the input's shape (`"int"`), or encoded vectors `(..., num_bins)`.

    Raises:
        ValueError: For a non-positive `num_bins`, an invalid `output_mode`, `salt` or
            `dtype`, or `sparse=True`.

    Example:

    >>> import numpy as np, rnnkit as keras
    >>> layer = keras.layers.Hashing(num_bins=3)
    >>> layer(np.array([["A"], ["B"], ["C"], ["D"], ["E"]])).ravel().tolist()
    [1, 0, 1, 1, 2]
    """

    def __init__(self, num_bins, mask_value=None, salt=None, output_mode="int", sparse=False,
                 **kwargs):
        check_choice(output_mode, ("int", "one_hot", "multi_hot", "count"), "output_mode",
                     "Hashing")
        dtype = kwargs.pop("dtype", None)
        if isinstance(dtype, dict):
            dtype = dtype.get("config", {}).get("name")
        if dtype is None:
            dtype = "int64" if output_mode == "int" else "float32"
        if output_mode == "int" and dtype not in _INT_DTYPES:
            raise ValueError("When `output_mode=\"int\"`, `dtype` should be an integer type, "
                             f"'int32' or 'int64'. Received: dtype={dtype!r}")
        if num_bins is None or not is_int(num_bins) or num_bins <= 0:
            raise ValueError("The `num_bins` for `Hashing` cannot be `None` or non-positive "
                             f"values. Received: num_bins={num_bins!r}.")
        if check_bool(sparse, "sparse"):
            raise ValueError("Hashing: `sparse=True` is not supported by rnnkit; pass "
                             "sparse=False.")
        super().__init__(dtype=None if dtype in _INT_DTYPES else dtype, **kwargs)
        self.num_bins = int(num_bins)
        self.mask_value = mask_value
        self.salt = _check_salt(salt, "Hashing")
        self.strong_hash = self.salt is not None
        self.output_mode = output_mode
        self.sparse = False
        self.output_dtype = dtype
        self.built = True

    def _bins(self, values):
        values = to_numpy(values)
        if values.dtype.kind == "f":
            values = values.astype(np.int64)
        bins = self.num_bins
        mask = None
        if self.mask_value is not None and bins > 1:
            bins -= 1
            mask = values == self.mask_value
        if values.dtype.kind in "iub":
            values = values.astype(np.int64)
        out = hash_to_bins(values, bins, self.salt)
        if mask is not None:
            out = np.where(mask, 0, out + 1)
        return out

    def call(self, inputs):
        """Hashes the inputs; see the class docstring."""
        values = to_numpy(inputs)
        if self.output_mode == "one_hot" and values.ndim and values.shape[-1] == 1:
            values = values[..., 0]
        bins = self._bins(values)
        if self.output_mode == "int":
            return bins.astype(self.output_dtype)
        return encode_categorical(bins, self.output_mode, self.num_bins, self.output_dtype)

    def compute_output_shape(self, input_shape):
        """The input shape (`"int"`), else `input_shape[:-1] + (num_bins,)`."""
        input_shape = tuple(input_shape)
        if self.output_mode == "int":
            return input_shape
        if not input_shape:
            return (self.num_bins,)
        return input_shape[:-1] + (self.num_bins,)

    def get_config(self):
        return {**super().get_config(), "dtype": self.output_dtype, "num_bins": self.num_bins,
                "salt": self.salt, "mask_value": self.mask_value,
                "output_mode": self.output_mode, "sparse": False}
