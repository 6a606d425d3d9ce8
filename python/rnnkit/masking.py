"""The mask carried by an output array (Keras' `_keras_mask`), for losses and metrics.

Keras attaches a layer's output mask to the output tensor; a loss or metric then reads it from
`y_pred` and leaves the masked timesteps out. NumPy arrays take no attributes, so the mask lives
in a side table keyed by the array's identity and is dropped when the array is collected.
"""

from __future__ import annotations

import weakref

_masks = {}   # id(array) -> mask


def _forget(key):
    _masks.pop(key, None)


def set_keras_mask(x, mask):
    """Attaches `mask` to the array (or tracked Tensor) `x`; `None` removes it."""
    key = id(x)
    if mask is None:
        _masks.pop(key, None)
        return
    if key not in _masks:
        try:
            weakref.finalize(x, _forget, key)
        except TypeError:   # a NumPy scalar or a Python number: nothing to attach to
            return
    _masks[key] = mask


def any_masks():
    """Whether any live array carries a mask (lets unmasked code skip the look-ups)."""
    return bool(_masks)


def get_keras_mask(x):
    """The mask attached to `x` by `set_keras_mask`, or None."""
    if not _masks:
        return None
    return _masks.get(id(x))
