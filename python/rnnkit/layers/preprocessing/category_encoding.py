"""CategoryEncoding: integer category ids to one-hot, multi-hot or count vectors."""

from __future__ import annotations

import numpy as np

from rnnkit import ops
from rnnkit.layers.core._checks import is_int, normalize_shape
from rnnkit.layers.layer import Layer

_MODES = ("count", "one_hot", "multi_hot")


class CategoryEncoding(Layer):
    """Encodes integer category ids (in `[0, num_tokens)`) as dense vectors.

    - `"one_hot"`: each id becomes a one-hot vector: `(batch,)` or `(batch, 1)` ->
      `(batch, num_tokens)`; `(batch, T)` -> `(batch, T, num_tokens)`.
    - `"multi_hot"` (the default): each sample's ids become one vector with a 1 for every id
      present: `(batch, T)` -> `(batch, num_tokens)`; a 1-D input is one sample.
    - `"count"`: as multi-hot, with the number of times each id occurs (or the sum of the
      `count_weights` of its occurrences).

    Only dense outputs are produced (`sparse=False`).

    Args:
        num_tokens: Int >= 1, the number of categories (the output's last dimension).
        output_mode: `"multi_hot"` (the default), `"one_hot"` or `"count"`; `"binary"` is
            Keras' old name of `"multi_hot"`.
        sparse: Must be `False`.
        **kwargs: Base layer arguments (`name`, `dtype`, ...). The output has the layer's
            dtype (`"float32"` by default).

    Call arguments:
        inputs: Integer ids, rank 0 to 2 (one-hot also takes higher ranks).
        count_weights: Optional array of the input's shape, the weight of each id
            (`output_mode="count"` only).

    Raises:
        ValueError: If `num_tokens` is missing or below 1, `output_mode` is unknown, `sparse`
            is True, `count_weights` is given for another mode or with another shape, an id
            lies outside `[0, num_tokens)`, or a multi-hot/count input has rank above 2.

    Example:

    >>> import numpy as np, rnnkit as keras
    >>> keras.layers.CategoryEncoding(4, output_mode="count")(np.array([[0, 1, 1], [3, 3, 2]]))
    array([[1., 2., 0., 0.],
           [0., 0., 1., 2.]], dtype=float32)
    """

    def __init__(self, num_tokens=None, output_mode="multi_hot", sparse=False, **kwargs):
        super().__init__(**kwargs)
        if output_mode == "binary":
            output_mode = "multi_hot"
        if output_mode not in _MODES:
            raise ValueError(f"Unknown arg for output_mode: {output_mode}. Expected one of "
                             f"{_MODES}")
        if num_tokens is None:
            raise ValueError("num_tokens must be set to use this layer. If the number of "
                             "tokens is not known beforehand, use the IntegerLookup layer "
                             "instead.")
        if not is_int(num_tokens) or num_tokens < 1:
            raise ValueError(f"`num_tokens` must be >= 1. Received: num_tokens={num_tokens}.")
        if sparse:
            raise ValueError("CategoryEncoding: argument `sparse=True` is not supported by "
                             "rnnkit (dense outputs only). Received: sparse=True")
        self.num_tokens = int(num_tokens)
        self.output_mode = output_mode
        self.sparse = False
        self.built = True

    def call(self, inputs, count_weights=None):
        """Returns the encoded ids (float, the layer's dtype)."""
        if count_weights is not None and self.output_mode != "count":
            raise ValueError(f"`count_weights` is not used when `output_mode` is not "
                             f"`'count'`. Received `count_weights={count_weights}`.")
        ids = np.asarray(ops.convert_to_numpy(inputs))
        if ids.dtype.kind == "f":
            if not np.all(ids == np.round(ids)):
                raise ValueError(f"CategoryEncoding: the inputs must be integer ids, got "
                                 f"non-integer values of dtype {ids.dtype}")
        elif ids.dtype.kind not in "iu":
            raise ValueError(f"CategoryEncoding: the inputs must be integer ids, got dtype "
                             f"{ids.dtype}")
        ids = ids.astype(np.int64)
        if ids.size and (ids.min() < 0 or ids.max() >= self.num_tokens):
            raise ValueError(f"CategoryEncoding: input values must be in the range 0 <= values "
                             f"< num_tokens with num_tokens={self.num_tokens}; got values from "
                             f"{ids.min()} to {ids.max()}")
        dtype = self.dtype
        if ids.ndim == 0:
            ids = ids[None]
        eye = np.eye(self.num_tokens, dtype=dtype)
        if self.output_mode == "one_hot":
            if ids.ndim > 1 and ids.shape[-1] == 1:
                ids = ids[..., 0]
            return eye[ids]
        if ids.ndim > 2:
            raise ValueError(f"CategoryEncoding: output_mode='{self.output_mode}' takes inputs "
                             f"of rank <= 2 (batch, ids), got shape {ids.shape}")
        axis = 1 if ids.ndim > 1 else 0
        hot = eye[ids]
        if self.output_mode == "multi_hot":
            return hot.max(axis=axis) if ids.shape[axis] else hot.sum(axis=axis)
        if count_weights is not None:
            w = np.asarray(ops.convert_to_numpy(count_weights))
            if w.ndim == 0 or w.shape != ids.shape and w.shape != np.shape(inputs):
                raise ValueError(f"CategoryEncoding: `count_weights` must have the input's "
                                 f"shape {np.shape(inputs)}, got {w.shape}")
            w = w.reshape(ids.shape)
            hot = hot.astype(np.result_type(w.dtype, np.float32)) * w[..., None]
        return hot.sum(axis=axis).astype(dtype if count_weights is None else hot.dtype)

    def compute_output_shape(self, input_shape):
        """Returns the encoded shape (see the class docstring)."""
        input_shape = normalize_shape(input_shape, self)
        if len(input_shape) == 0:
            return (self.num_tokens,)
        if self.output_mode == "one_hot" and (input_shape[-1] != 1 or len(input_shape) == 1):
            return input_shape + (self.num_tokens,)
        return input_shape[:-1] + (self.num_tokens,)

    def get_config(self):
        # Keras 3 writes no `sparse` (it reads one, as here).
        return {**super().get_config(), "num_tokens": self.num_tokens,
                "output_mode": self.output_mode}
