"""Helpers shared by the attention layers (not public): argument checks, masks, dropout."""

from __future__ import annotations

import numbers

import numpy as np

from rnnkit import masking, ops
from rnnkit import random as rnn_random
from rnnkit.graph import is_symbolic
from rnnkit.layers.core._checks import is_int
from rnnkit.layers.layer import shape_of

# Keras adds this to masked scores (float32/float64) before the softmax.
LARGE_NEGATIVE = 1.0e9


def check_rate(rate, argument="dropout"):
    """`rate` as a float in [0, 1]; TypeError / ValueError naming `argument`."""
    if isinstance(rate, (bool, np.bool_)) or not isinstance(rate, numbers.Real):
        raise TypeError(f"Argument `{argument}` must be a float between 0 and 1, got {rate!r} "
                        f"of type {type(rate).__name__}")
    if not 0.0 <= float(rate) <= 1.0:
        raise ValueError(f"Argument `{argument}` must be a float between 0 and 1, got {rate}")
    return float(rate)


def check_seed(seed):
    """None or an int; TypeError otherwise."""
    if seed is None:
        return None
    if not is_int(seed):
        raise TypeError(f"Argument `seed` must be None or an int, got {seed!r} of type "
                        f"{type(seed).__name__}")
    return int(seed)


def as_bool_mask(mask):
    """A mask (bool, int or float array) as a boolean array; None stays None."""
    if mask is None:
        return None
    mask = np.asarray(ops.convert_to_numpy(mask))
    return mask if mask.dtype == bool else mask != 0


def causal_mask(q_len, v_len):
    """`(1, q_len, v_len)` boolean lower-triangular mask: query i sees keys j <= i."""
    return np.tril(np.ones((q_len, v_len), dtype=bool))[None]


def combine_masks(t_len, s_len, query_mask, value_mask, key_mask, attention_mask,
                  use_causal_mask, extra=None):
    """The boolean `(batch, t_len, s_len)`-broadcastable mask of where each query may attend:
    the query, value and key masks, the causal mask, an `extra` part (e.g. a sliding window)
    and the explicit `attention_mask`, all and-ed; None when none is given."""
    mask = None
    parts = (None if query_mask is None else as_bool_mask(query_mask)[..., None],
             None if value_mask is None else as_bool_mask(value_mask)[..., None, :],
             None if key_mask is None else as_bool_mask(key_mask)[..., None, :],
             causal_mask(t_len, s_len) if use_causal_mask else None,
             extra,
             None if attention_mask is None else as_bool_mask(attention_mask))
    for part in parts:
        if part is not None:
            mask = part if mask is None else np.logical_and(mask, part)
    return mask


class QueryValueKeyCall:
    """`__call__` of the attention layers called as `layer(query, value, key=None, ...)`:
    the masks the inputs carry become `query_mask` / `value_mask` / `key_mask` (Keras' implicit
    masks), the layer is built from the three shapes, and `_with_scores` tells
    `compute_output_shape` whether the scores are returned. Mix in before `Layer`."""

    def __call__(self, query, value=None, key=None, **kwargs):
        """Calls the layer on `query`, `value` (and `key`); see the class docstring."""
        if value is None:
            raise TypeError(f"Layer '{self.name}' ({type(self).__name__}) must be called with "
                            f"`query` and `value`.")
        # The masks the inputs carry (read before any conversion copies the arrays).
        for name, tensor in (("query_mask", query), ("value_mask", value), ("key_mask", key)):
            if kwargs.get(name) is None and tensor is not None and \
                    not is_symbolic(tensor) and masking.any_masks():
                kwargs[name] = masking.get_keras_mask(tensor)
        if not self.built:
            def shape(t):
                return t.shape if is_symbolic(t) else shape_of(t)
            self.build(shape(query), shape(value), None if key is None else shape(key))
        self._with_scores = bool(kwargs.get("return_attention_scores", False))
        try:
            return super().__call__(query, value, key, **kwargs)
        finally:
            self._with_scores = False


def dropout_weights(weights, rate, seed_generator):
    """Inverted dropout of attention weights; the mask is a constant, so gradients flow
    through the product."""
    dtype = ops.dtype(weights)
    keep = rnn_random.dropout(np.ones(tuple(ops.shape(weights)), dtype=dtype), rate,
                              seed=seed_generator)
    return ops.multiply(weights, keep.astype(dtype, copy=False))
