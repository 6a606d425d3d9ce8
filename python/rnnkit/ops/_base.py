"""Helpers shared by the op modules (not public)."""

from __future__ import annotations

import builtins
import sys
import textwrap

import numpy as np

from rnnkit.array_library import as_array as _as_array
from rnnkit.array_library import host_scalar
from rnnkit.array_library import namespace as _namespace
from rnnkit.autodiff import Tensor, _record_multi, _record_op, _state, unwrap

__all__ = ["np", "builtins", "_as_array",
           "Tensor", "_state", "unwrap", "_record_op", "_record_multi",
           "_arr", "_unary", "_norm_axes", "_expand_reduced", "_nondiff", "_op_doc", "_floatx",
           "_named_function", "_xp", "_check_devices"]


def _floatx():
    """The default float dtype (`rnnkit.config.floatx()`)."""
    from rnnkit import config
    return config.floatx()

# The argument descriptions most ops share.
_ARG_DOCS = {
    "x": "Input array (a NumPy array, array-like, `Variable` or `Tensor`).",
    "x1": "First input (array-like); broadcast against `x2`.",
    "x2": "Second input (array-like); broadcast against `x1`.",
    "axis": "Optional int or tuple of ints, the axes to reduce. `None` (the default) "
            "reduces over all axes.",
    "keepdims": "Bool, keep the reduced axes with size 1. Defaults to `False`.",
    "dtype": "Optional dtype of the result. Defaults to `config.floatx()` (float32).",
}


def _op_doc(summary, args=("x",), returns="An array of the shape of `x`.", details=None,
            example=None):
    """A Google-style docstring for an op.

    `args` lists names from `_ARG_DOCS` or `(name, text)` pairs; `details` is an optional
    paragraph after the summary; `example` an optional doctest block (without indentation).
    """
    def fill(text, indent="", first=""):
        return textwrap.fill(text, width=92, initial_indent=first or indent,
                             subsequent_indent=indent)

    lines = [fill(summary), ""]
    if details:
        lines += [fill(details), ""]
    lines.append("Args:")
    for arg in args:
        name, text = (arg, _ARG_DOCS[arg]) if isinstance(arg, str) else arg
        lines.append(fill(f"{name}: {text}", " " * 8, " " * 4))
    lines += ["", "Returns:", fill(returns, " " * 4)]
    if example:
        lines += ["", "Example:", "", example.strip()]
    return "\n".join(lines) + "\n"


def _xp(*arrays):
    """The array module of `arrays` (NumPy for host arrays; see `rnnkit.array_library`)."""
    for a in arrays:
        if type(a) is not np.ndarray:
            return _namespace(*arrays)
    return np


def _host_scalar(x):
    kind = type(x)
    return kind in (int, float, bool, complex) or x is None or isinstance(x, np.generic) or (
        kind is np.ndarray and x.ndim == 0)


def _check_devices(a, b, name):
    """`(a, b)` ready to meet: DeviceMismatchError (a ValueError) naming both devices when
    the arrays live on different devices; a 0-d host array meeting a device array becomes a
    NumPy scalar (which goes with any device; CuPy refuses 0-d NumPy arrays). Called when
    their types differ."""
    a_scalar, b_scalar = _host_scalar(a), _host_scalar(b)
    if a_scalar and b_scalar:
        return a, b
    if a_scalar:            # b is an array of another kind than a
        return host_scalar(a), b
    if b_scalar:
        return a, host_scalar(b)
    from rnnkit.array_library import check_same_device
    check_same_device(a, b, what=f"ops.{name}")
    return a, b


def _arr(y):
    """np.ndarray for a NumPy result (0-d arrays instead of NumPy scalars)."""
    return y if type(y) is np.ndarray else _as_array(y)


def _unary(name, forward, derivative, doc=None, example=None):
    """An elementwise op: y = forward(x); dL/dx = derivative(g, x, y).

    `doc` is the op's summary line (optionally followed by a blank line and more text); the
    Args and Returns sections are added here.
    """

    def op(x):
        xv = unwrap(x)
        y = forward(xv)
        tape = _state.tape
        if tape is None:
            return y if type(y) is np.ndarray else _as_array(y)
        return _record_op(tape, y, (x,), lambda g, need: (derivative(g, xv, y),))

    op.__name__ = op.__qualname__ = name
    summary, _, details = (doc or f"Elementwise `{name}` of `x`.").partition("\n\n")
    op.__doc__ = _op_doc(summary, returns="An array of the shape of `x`, computed elementwise "
                         "(differentiable).", details=details or None, example=example)
    return op


def _named_function(name, params, body, namespace):
    """A function `name(params)` returning `body` (an expression over the parameters and
    `namespace`), so that ops have Keras' parameter names in their signatures."""
    source = f"def {name}({params}):\n    return {body}\n"
    # the function belongs to the module that makes the op (the caller of _nondiff, ...)
    namespace.setdefault("__name__", sys._getframe(2).f_globals.get("__name__", __name__))
    exec(compile(source, f"<rnnkit.ops.{name}>", "exec"), namespace)
    return namespace[name]


def _nondiff(name, forward, doc=None, params=("x",)):
    """An op whose result is never tracked (it has no useful derivative).

    `doc` is the op's whole docstring (build it with `_op_doc`); `params` its parameter names
    (Keras': `("x",)`, `("x1", "x2")`, ...).
    """
    op = _named_function(name, ", ".join(params),
                         f"_arr(_forward({', '.join(f'_unwrap({p})' for p in params)}))",
                         {"_arr": _arr, "_forward": forward, "_unwrap": unwrap})
    op.__qualname__ = name
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
