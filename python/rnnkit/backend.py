"""`keras.backend`: the default dtypes, Keras' dtype promotion, auto-name counters.

rnnkit has one backend (NumPy plus its C++ core), so `backend()` is `"numpy"`; `floatx`,
`epsilon` and `image_data_format` are the settings of `rnnkit.config`.

Example:

>>> import rnnkit as keras
>>> keras.backend.result_type("int32", "float16")
'float16'
>>> keras.backend.standardize_dtype(float)
'float32'
"""

from __future__ import annotations

import gc

import numpy as np

from rnnkit import naming
from rnnkit.config import (backend, epsilon, floatx, image_data_format, set_epsilon,
                           set_floatx, set_image_data_format)

__all__ = ["backend", "clear_session", "epsilon", "floatx", "get_uid", "image_data_format",
           "is_float_dtype", "is_int_dtype", "is_keras_tensor", "result_type", "set_epsilon",
           "set_floatx", "set_image_data_format", "standardize_dtype"]

# The dtype names Keras knows (rnnkit arrays use the NumPy ones; bfloat16 and the float8
# types have no NumPy dtype but are valid names for promotion).
ALLOWED_DTYPES = ("bool", "uint8", "uint16", "uint32", "uint64", "int8", "int16", "int32",
                  "int64", "bfloat16", "float16", "float32", "float64", "complex64",
                  "complex128", "string")
_PYTHON_DTYPES = {bool: "bool", int: "int32", float: "float32", str: "string", "int": "int32"}


def standardize_dtype(dtype):
    """Returns the Keras name of a dtype (`"float32"`, `"int32"`, ...).

    Args:
        dtype: None (gives `floatx()`), a name, a NumPy dtype or scalar type, or a Python
            type (`int` -> `"int32"`, `float` -> `"float32"`, as in Keras).

    Returns:
        The dtype name, a string.

    Raises:
        ValueError: If `dtype` is not a dtype Keras knows.
    """
    if dtype is None:
        return floatx()
    if isinstance(dtype, (str, type)) and dtype in _PYTHON_DTYPES:
        return _PYTHON_DTYPES[dtype]
    if hasattr(dtype, "name"):
        name = dtype.name
    elif hasattr(dtype, "__name__"):
        name = dtype.__name__
    else:
        name = dtype
    if name == "str":
        name = "string"
    if name not in ALLOWED_DTYPES:
        raise ValueError(f"Invalid dtype: {dtype!r}")
    return name


def is_float_dtype(dtype):
    """Returns whether `dtype` is a floating dtype (`bfloat16` and `float16` included).

    Args:
        dtype: Anything `standardize_dtype` accepts.
    """
    name = standardize_dtype(dtype)
    return name.startswith("float") or name.startswith("bfloat")


def is_int_dtype(dtype):
    """Returns whether `dtype` is a signed or unsigned integer dtype (not bool).

    Args:
        dtype: Anything `standardize_dtype` accepts.
    """
    name = standardize_dtype(dtype)
    return name.startswith("int") or name.startswith("uint")


# Keras' type promotion lattice (the one JAX uses): each node and the nodes directly above it.
# "int" and "float" are the weak types of Python numbers.
_LATTICE = {
    "bool": ["int"], "int": ["uint8", "int8"], "uint8": ["int16", "uint16"],
    "uint16": ["int32", "uint32"], "uint32": ["int64", "uint64"], "uint64": ["float"],
    "int8": ["int16"], "int16": ["int32"], "int32": ["int64"], "int64": ["float"],
    "float": ["bfloat16", "float16", "complex"], "bfloat16": ["float32"],
    "float16": ["float32"], "float32": ["float64", "complex64"], "float64": ["complex128"],
    "complex": ["complex64"], "complex64": ["complex128"], "complex128": [],
    "string": [],
}
_UPPER = {}


def _upper_bounds(node):
    if node not in _UPPER:
        bounds = {node}
        for parent in _LATTICE[node]:
            bounds |= _upper_bounds(parent)
        _UPPER[node] = frozenset(bounds)
    return _UPPER[node]


def _least_upper_bound(nodes):
    common = frozenset.intersection(*[_upper_bounds(n) for n in nodes])
    least = [c for c in common if _upper_bounds(c) == common]
    if len(least) != 1:
        raise ValueError(f"Input dtypes {tuple(nodes)} have no available implicit dtype "
                         "promotion path. Try explicitly casting inputs to the desired output "
                         "type.")
    return least[0]


_TO_32_BITS = {"int64": "int32", "uint64": "uint32", "float64": "float32",
               "complex128": "complex64"}


def result_type(*dtypes):
    """The dtype Keras' promotion rules give for combining `dtypes`.

    Python `int` and `float` (the types, or None for floatx) count as weak types: they do not
    widen a typed operand (`result_type("int8", int)` is `"int8"`). As in Keras,
    the result is then narrowed to 32 bits (`"float64"` becomes `"float32"`; NumPy ops on
    rnnkit arrays keep float64 when they compute it). With no arguments, `floatx()`.

    Args:
        *dtypes: Dtypes (anything `standardize_dtype` accepts), or the Python types `int`,
            `float`, `bool`.

    Returns:
        The dtype name.

    Raises:
        ValueError: If the dtypes have no common promotion (e.g. `"string"` with a number).
    """
    if not dtypes:
        return floatx()
    names, weak = [], []
    for d in dtypes:
        d = floatx() if d is None else d
        weak.append(d is int or d is float)
        names.append(standardize_dtype(d))
    if len(names) == 1:
        out, out_weak = names[0], weak[0]
    elif len(set(names)) == 1 and not all(weak):
        out, out_weak = names[0], False
    else:
        nodes = {(("float" if "float" in n else "int" if "int" in n else "complex")
                  if w and n != "bool" else n) for n, w in zip(names, weak)}
        if all(weak):
            nodes = set(names)
        out = _least_upper_bound(sorted(nodes))
        out_weak = out in ("int", "float", "complex")
    if out_weak and out != "bool":
        bits = floatx()[-2:]
        out = {"i": f"int{bits}", "u": f"uint{bits}", "c": "complex64"}.get(
            out[0], f"float{bits}")
    return _TO_32_BITS.get(out, out)


def is_keras_tensor(x):
    """Returns whether `x` is a symbolic tensor (from `rnnkit.Input` or a layer or op called
    on one).

    Args:
        x: Any object.
    """
    from rnnkit.graph import KerasTensor
    return isinstance(x, KerasTensor)


def get_uid(prefix=""):
    """Returns 1, 2, 3, ... on successive calls with the same prefix (Keras' name counters,
    shared with the automatic layer and op names).

    Args:
        prefix: String key of the counter. Defaults to `""`.

    Returns:
        An int.
    """
    naming._uids[prefix] += 1
    return naming._uids[prefix]


def clear_session(free_memory=True):
    """Resets rnnkit's global state: the automatic name counters (the next `Dense` is
    `dense` again).

    Args:
        free_memory: Bool, run Python's garbage collector. Defaults to True.
    """
    naming._uids.clear()
    if free_memory:
        gc.collect()
