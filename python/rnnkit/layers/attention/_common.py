"""Helpers shared by the attention layers (not public): argument checks, masks, dropout."""

from __future__ import annotations

import numbers

import numpy as np

from rnnkit import ops
from rnnkit import random as rnn_random
from rnnkit.layers.core._checks import is_int

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


def dropout_weights(weights, rate, seed_generator):
    """Inverted dropout of attention weights; the mask is a constant, so gradients flow
    through the product."""
    dtype = ops.dtype(weights)
    keep = rnn_random.dropout(np.ones(tuple(ops.shape(weights)), dtype=dtype), rate,
                              seed=seed_generator)
    return ops.multiply(weights, keep.astype(dtype, copy=False))
