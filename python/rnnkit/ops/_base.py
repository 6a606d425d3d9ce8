"""Helpers shared by the op modules (not public)."""

from __future__ import annotations

import builtins

import numpy as np

from rnnkit.autodiff import Tensor, _record_multi, _record_op, _state, unwrap

__all__ = ["np", "builtins", "Tensor", "_state", "unwrap", "_record_op", "_record_multi",
           "_arr", "_unary", "_norm_axes", "_expand_reduced", "_nondiff"]


def _arr(y):
    """np.ndarray for a NumPy result (0-d arrays instead of NumPy scalars)."""
    return y if type(y) is np.ndarray else np.asarray(y)


def _unary(name, forward, derivative, doc=None):
    """An elementwise op: y = forward(x); dL/dx = derivative(g, x, y)."""

    def op(x):
        xv = unwrap(x)
        y = forward(xv)
        tape = _state.tape
        if tape is None:
            return y if type(y) is np.ndarray else np.asarray(y)
        return _record_op(tape, y, (x,), lambda g, need: (derivative(g, xv, y),))

    op.__name__ = op.__qualname__ = name
    op.__doc__ = doc or f"Elementwise {name}."
    return op


def _nondiff(name, forward, doc=None):
    """An op whose result is never tracked (it has no useful derivative)."""

    def op(*args, **kwargs):
        return _arr(forward(*[unwrap(a) for a in args], **kwargs))

    op.__name__ = op.__qualname__ = name
    op.__doc__ = doc or f"{name} (not differentiable)."
    return op


def _norm_axes(axis, ndim):
    """axis (None, int or sequence) -> sorted tuple of non-negative axes."""
    if axis is None:
        return tuple(range(ndim))
    if isinstance(axis, (list, tuple)):
        return tuple(sorted(int(a) % ndim if ndim else 0 for a in axis))
    return (int(axis) % ndim if ndim else 0,)


def _expand_reduced(g, shape, axis, keepdims):
    """Bring the gradient of a reduction back to broadcastable form against `shape`."""
    if not keepdims and axis is not None and len(shape):
        g = np.expand_dims(g, _norm_axes(axis, len(shape)))
    return g
