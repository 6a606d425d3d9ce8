"""NumPy-like ops (`keras.ops` names and signatures), differentiable under a GradientTape.

Every op accepts arrays, Python numbers and lists, Variables and Tensors. Outside a recording tape
it returns a plain np.ndarray (NumPy's dtype rules: a Python float with a float32 array stays
float32). Inside one, it returns a tracked Tensor when an input is tracked.
"""

from __future__ import annotations

import math
import string

from rnnkit.ops._base import (Tensor, _arr, _expand_reduced, _floatx, _named_function,
                              _nondiff, _norm_axes, _op_doc, _record_multi, _record_op,
                              _state, _unary, builtins, np, unwrap)
from rnnkit.ops._base import _as_array, _check_devices, _xp
from rnnkit import backend as _backend

_sum, _max, _min, _abs, _round, _any, _all = (builtins.sum, builtins.max, builtins.min,
                                              builtins.abs, builtins.round, builtins.any,
                                              builtins.all)



def _binary(name, forward, vjp, doc=None, example=None):
    """A broadcasting binary op. vjp(g, a, b, y, need) -> (ga, gb) at the broadcast shape (the
    tape sums them back to each input's shape). `doc` is the summary line (optionally followed
    by a blank line and more text); Args and Returns are added here."""

    def op(x1, x2):
        a = unwrap(x1)
        b = unwrap(x2)
        if type(a) is not type(b):
            a, b = _check_devices(a, b, name)
        y = forward(a, b)
        tape = _state.tape
        if tape is None:
            return y if type(y) is np.ndarray else _as_array(y)
        return _record_op(tape, y, (x1, x2), lambda g, need: vjp(g, a, b, y, need))

    op.__name__ = op.__qualname__ = name
    summary, _, details = (doc or f"Elementwise `{name}`, with broadcasting.").partition("\n\n")
    op.__doc__ = _op_doc(summary, args=("x1", "x2"), details=details or None, example=example,
                         returns="An array of the broadcast shape of `x1` and `x2` "
                                 "(differentiable in both).")
    return op


def _compare_doc(relation):
    return _op_doc(f"Returns the truth value of `{relation}`, elementwise, with broadcasting.",
                   args=("x1", "x2"), returns="A boolean array of the broadcast shape (not "
                   "differentiable).")


def _logic_doc(name, args=("x1", "x2")):
    return _op_doc(f"Computes the logical {name.upper()} of the inputs' truth values, "
                   "elementwise.", args=args, returns="A boolean array of the broadcast shape "
                   "(not differentiable).")


def _check_doc(what):
    return _op_doc(f"Tests `x` for {what}, elementwise.",
                   returns="A boolean array of the shape of `x` (not differentiable).")


# ------------------------------------------------------------------------------------------------
# Elementwise arithmetic
# ------------------------------------------------------------------------------------------------

def _float_in(forward):
    """`forward` for a float-valued function: integer and boolean inputs are converted to
    `config.floatx()` first, as Keras does (NumPy would give float16 or float64)."""
    def run(x):
        a = x if type(x) is np.ndarray else _as_array(x)
        return forward(a.astype(_floatx()) if a.dtype.kind in "biu" else a)
    return run


add = _binary("add", np.add, lambda g, a, b, y, need: (g, g),
              "Adds the inputs elementwise: `x1 + x2`, with broadcasting.\n\n"
              "The result follows NumPy's dtype rules (a Python float with a float32 array "
              "stays float32).",
              """>>> import numpy as np, rnnkit as keras
>>> keras.ops.add(np.array([1.0, 2.0], dtype="float32"), 1.0)
array([2., 3.], dtype=float32)""")
subtract = _binary("subtract", np.subtract, lambda g, a, b, y, need: (g, -g if need[1] else None),
                   "Subtracts the inputs elementwise: `x1 - x2`, with broadcasting.")
multiply = _binary("multiply", np.multiply,
                   lambda g, a, b, y, need: (g * b if need[0] else None,
                                             g * a if need[1] else None),
                   "Multiplies the inputs elementwise: `x1 * x2`, with broadcasting.")
divide = _binary("divide", np.true_divide,
                 lambda g, a, b, y, need: (g / b if need[0] else None,
                                           -g * y / b if need[1] else None),
                 "Divides the inputs elementwise (true division): `x1 / x2`, with broadcasting."
                 "\n\nInteger inputs give a float64 result, as in NumPy.")
true_divide = divide


def _power_vjp(g, a, b, y, need):
    ga = gb = None
    if need[0]:
        ga = g * b * np.power(a, b - 1)
    if need[1]:
        gb = g * y * np.log(np.where(a > 0, a, 1))
    return ga, gb


power = _binary("power", np.power, _power_vjp,
                "Raises `x1` to the power `x2`, elementwise, with broadcasting.\n\n"
                "The gradient with respect to `x2` is taken as 0 where `x1 <= 0`.")


def _maxmin_vjp(greater):
    def vjp(g, a, b, y, need):
        win = (a > b) if greater else (a < b)
        tie = a == b
        ga = gb = None
        if need[0]:
            ga = np.where(win, g, np.where(tie, g * 0.5, 0))
        if need[1]:
            gb = np.where(win, 0, np.where(tie, g * 0.5, g))
        return ga, gb
    return vjp


maximum = _binary("maximum", np.maximum, _maxmin_vjp(True),
                  "Elementwise maximum of the inputs, with broadcasting.\n\n"
                  "Where the inputs are equal, each receives half of the gradient.")
minimum = _binary("minimum", np.minimum, _maxmin_vjp(False),
                  "Elementwise minimum of the inputs, with broadcasting.\n\n"
                  "Where the inputs are equal, each receives half of the gradient.")

floor_divide = _nondiff("floor_divide", np.floor_divide, params=("x1", "x2"), doc=_op_doc(
    "Divides the inputs elementwise and rounds down: `x1 // x2`, with broadcasting.",
    args=("x1", "x2"), returns="An array of the broadcast shape (not differentiable)."))
mod = _nondiff("mod", np.mod, params=("x1", "x2"), doc=_op_doc(
    "Returns the remainder of `x1 / x2` elementwise, with the sign of `x2` (NumPy's `mod`).",
    args=("x1", "x2"), returns="An array of the broadcast shape (not differentiable)."))

negative = _unary("negative", np.negative, lambda g, x, y: -g,
                  "Numerical negative, elementwise: `-x`.")
square = _unary("square", np.square, lambda g, x, y: g * (2 * x), "Square, elementwise: `x * x`.")
sqrt = _unary("sqrt", _float_in(np.sqrt), lambda g, x, y: g * 0.5 / y,
              "Non-negative square root, elementwise (NaN for negative inputs).")
abs = _unary("abs", np.abs, lambda g, x, y: g * np.sign(x),
             "Absolute value, elementwise: `|x|` (`absolute` is the same op).\n\n"
             "The gradient at 0 is 0.")
absolute = abs
exp = _unary("exp", _float_in(np.exp), lambda g, x, y: g * y, "Exponential, elementwise: `e ** x`.")
exp2 = _unary("exp2", _float_in(np.exp2), lambda g, x, y: g * y * math.log(2.0),
              "Base-2 exponential, elementwise: `2 ** x`.")
log = _unary("log", _float_in(np.log), lambda g, x, y: g / x,
             "Natural logarithm, elementwise (`-inf` at 0, NaN for negative inputs).")
log2 = _unary("log2", _float_in(np.log2), lambda g, x, y: g / (x * math.log(2.0)),
              "Base-2 logarithm, elementwise.")
log10 = _unary("log10", _float_in(np.log10), lambda g, x, y: g / (x * math.log(10.0)),
               "Base-10 logarithm, elementwise.")
log1p = _unary("log1p", _float_in(np.log1p), lambda g, x, y: g / (1 + x),
               "`log(1 + x)`, elementwise, accurate for small `x`.")
expm1 = _unary("expm1", _float_in(np.expm1), lambda g, x, y: g * (y + 1),
               "`exp(x) - 1`, elementwise, accurate for small `x`.")
reciprocal = _unary("reciprocal", lambda x: np.true_divide(1, x), lambda g, x, y: -g * y * y,
                    "Reciprocal, elementwise: `1 / x`.")
sin = _unary("sin", _float_in(np.sin), lambda g, x, y: g * np.cos(x), "Sine, elementwise (radians).")
cos = _unary("cos", _float_in(np.cos), lambda g, x, y: -g * np.sin(x), "Cosine, elementwise (radians).")
tan = _unary("tan", _float_in(np.tan), lambda g, x, y: g * (1 + y * y), "Tangent, elementwise (radians).")
arctan = _unary("arctan", _float_in(np.arctan), lambda g, x, y: g / (1 + x * x),
                "Inverse tangent, elementwise, in `[-pi/2, pi/2]`.")
sinh = _unary("sinh", _float_in(np.sinh), lambda g, x, y: g * np.cosh(x),
              "Hyperbolic sine, elementwise.")
cosh = _unary("cosh", _float_in(np.cosh), lambda g, x, y: g * np.sinh(x),
              "Hyperbolic cosine, elementwise.")
sign = _nondiff("sign", np.sign, _op_doc(
    "Returns the sign of `x` elementwise: -1, 0 or 1.",
    returns="An array of the shape of `x` (not differentiable)."))
floor = _nondiff("floor", np.floor, _op_doc(
    "Rounds down to the nearest integer, elementwise.",
    returns="An array of the shape and dtype of `x` (not differentiable)."))
ceil = _nondiff("ceil", np.ceil, _op_doc(
    "Rounds up to the nearest integer, elementwise.",
    returns="An array of the shape and dtype of `x` (not differentiable)."))


def round(x, decimals=0):
    """Rounds to the given number of decimals, elementwise (halves go to the even value).

    Args:
        x: Input array.
        decimals: Int, the number of decimals to keep. Defaults to 0.

    Returns:
        An array of the shape of `x` (not differentiable).
    """
    return _arr(np.round(unwrap(x), decimals))


def clip(x, x_min, x_max):
    """Clips the values of `x` into `[x_min, x_max]`, elementwise.

    The gradient flows to `x` where `x_min <= x <= x_max`, and to the bound that is taken
    elsewhere.

    Args:
        x: Input array.
        x_min: Lower bound (a scalar or an array broadcast against `x`).
        x_max: Upper bound (a scalar or an array broadcast against `x`).

    Returns:
        An array of the broadcast shape.

    Example:

    >>> import numpy as np, rnnkit as keras
    >>> keras.ops.clip(np.array([-2.0, 0.5, 3.0]), 0.0, 1.0)
    array([0. , 0.5, 1. ])
    """
    xv, lo, hi = unwrap(x), unwrap(x_min), unwrap(x_max)
    y = np.minimum(np.maximum(xv, lo), hi)
    tape = _state.tape
    if tape is None:
        return y if type(y) is np.ndarray else _as_array(y)

    def vjp(g, need):
        below, above = xv < lo, xv > hi
        return (np.where(below | above, 0, g) if need[0] else None,
                np.where(below & ~above, g, 0) if need[1] else None,
                np.where(above, g, 0) if need[2] else None)

    return _record_op(tape, y, (x, x_min, x_max), vjp)


# ------------------------------------------------------------------------------------------------
# Comparisons and logic (never tracked)
# ------------------------------------------------------------------------------------------------

equal = _nondiff("equal", np.equal, _compare_doc("x1 == x2"), ("x1", "x2"))
not_equal = _nondiff("not_equal", np.not_equal, _compare_doc("x1 != x2"), ("x1", "x2"))
greater = _nondiff("greater", np.greater, _compare_doc("x1 > x2"), ("x1", "x2"))
greater_equal = _nondiff("greater_equal", np.greater_equal, _compare_doc("x1 >= x2"), ("x1", "x2"))
less = _nondiff("less", np.less, _compare_doc("x1 < x2"), ("x1", "x2"))
less_equal = _nondiff("less_equal", np.less_equal, _compare_doc("x1 <= x2"), ("x1", "x2"))
logical_and = _nondiff("logical_and", np.logical_and, _logic_doc("and"), ("x1", "x2"))
logical_or = _nondiff("logical_or", np.logical_or, _logic_doc("or"), ("x1", "x2"))
logical_xor = _nondiff("logical_xor", np.logical_xor, _logic_doc("xor"), ("x1", "x2"))
logical_not = _nondiff("logical_not", np.logical_not, _op_doc(
    "Computes the logical NOT of the truth value of `x`, elementwise.",
    returns="A boolean array of the shape of `x` (not differentiable)."))
isnan = _nondiff("isnan", np.isnan, _check_doc("NaN"))
isinf = _nondiff("isinf", np.isinf, _check_doc("positive or negative infinity"))
isfinite = _nondiff("isfinite", np.isfinite, _check_doc("finiteness (not NaN, not infinite)"))


def any(x, axis=None, keepdims=False):
    """Tests whether any element along `axis` is true.

    Args:
        x: Input array.
        axis: Optional int, tuple or list of ints. `None` (the default) tests all elements.
        keepdims: Bool, keep the reduced axes with size 1. Defaults to `False`.

    Returns:
        A boolean array (not differentiable).
    """
    return _arr(np.any(unwrap(x), axis=_axis_arg(axis), keepdims=keepdims))


def all(x, axis=None, keepdims=False):
    """Tests whether every element along `axis` is true.

    Args:
        x: Input array.
        axis: Optional int, tuple or list of ints. `None` (the default) tests all elements.
        keepdims: Bool, keep the reduced axes with size 1. Defaults to `False`.

    Returns:
        A boolean array (not differentiable).
    """
    return _arr(np.all(unwrap(x), axis=_axis_arg(axis), keepdims=keepdims))


def argmax(x, axis=None, keepdims=False):
    """Returns the indices of the maximum values along an axis (the first one on ties).

    Args:
        x: Input array.
        axis: Optional int. `None` (the default) indexes the flattened array.
        keepdims: Bool, keep the reduced axis with size 1. Defaults to `False`.

    Returns:
        An int32 array (not differentiable), as in Keras.

    Example:

    >>> import numpy as np, rnnkit as keras
    >>> keras.ops.argmax(np.array([[1, 5, 2], [7, 0, 3]]), axis=-1)
    array([1, 0], dtype=int32)
    """
    return _arr(np.argmax(unwrap(x), axis=axis, keepdims=keepdims)).astype("int32")


def argmin(x, axis=None, keepdims=False):
    """Returns the indices of the minimum values along an axis (the first one on ties).

    Args:
        x: Input array.
        axis: Optional int. `None` (the default) indexes the flattened array.
        keepdims: Bool, keep the reduced axis with size 1. Defaults to `False`.

    Returns:
        An integer array (not differentiable).
    """
    return _arr(np.argmin(unwrap(x), axis=axis, keepdims=keepdims)).astype("int32")


def argsort(x, axis=-1):
    """Returns the indices that sort `x` along an axis.

    Args:
        x: Input array.
        axis: Int, or `None` to sort the flattened array. Defaults to -1.

    Returns:
        An int32 array of the shape of `x` (not differentiable); ties keep their order.
    """
    return _arr(np.argsort(unwrap(x), axis=axis, kind="stable")).astype("int32")


def _axis_arg(axis):
    return tuple(axis) if isinstance(axis, list) else axis


# ------------------------------------------------------------------------------------------------
# Linear algebra
# ------------------------------------------------------------------------------------------------

def matmul(x1, x2):
    """Matrix product of two arrays, with NumPy's `matmul` rules.

    The last two axes are multiplied as matrices and the leading (batch) axes broadcast; a
    1-D operand is treated as a vector (its added axis is removed from the result).

    Args:
        x1: First input, of rank >= 1.
        x2: Second input, of rank >= 1.

    Returns:
        The product (differentiable in both inputs).

    Example:

    >>> import numpy as np, rnnkit as keras
    >>> keras.ops.matmul(np.ones((4, 2, 3)), np.ones((3, 5))).shape
    (4, 2, 5)
    """
    a, b = unwrap(x1), unwrap(x2)
    if type(a) is not type(b):
        a, b = _check_devices(a, b, "matmul")
    y = np.matmul(a, b)
    if y.dtype.kind == "f" and (a.dtype.kind == "V" or b.dtype.kind == "V"):
        # ml_dtypes multiplies bfloat16 with float32 accumulation and returns float32; Keras'
        # result is the promoted dtype (bfloat16 for two bfloat16 operands)
        y = y.astype(_backend.result_type(a.dtype, b.dtype))
    tape = _state.tape
    if tape is None:
        return y if type(y) is np.ndarray else _as_array(y)

    def vjp(g, need):
        a2 = a[None, :] if a.ndim == 1 else a
        b2 = b[:, None] if b.ndim == 1 else b
        g2 = g
        if b.ndim == 1:
            g2 = np.expand_dims(g2, -1)
        if a.ndim == 1:
            g2 = np.expand_dims(g2, -2)
        ga = gb = None
        if need[0]:
            ga = np.matmul(g2, np.swapaxes(b2, -1, -2))
            if a.ndim == 1:
                ga = _sum_to_vector(ga, -2)
        if need[1]:
            gb = np.matmul(np.swapaxes(a2, -1, -2), g2)
            if b.ndim == 1:
                gb = _sum_to_vector(gb, -1)
        return ga, gb

    return _record_op(tape, y, (x1, x2), vjp)


def _sum_to_vector(g, axis):
    # The gradient of a promoted 1-D operand: drop the promoted axis and any batch axes.
    g = np.squeeze(g, axis)
    return g.reshape(-1, g.shape[-1]).sum(axis=0) if g.ndim > 1 else g


def _normalize_tensordot_axes(axes, nda, ndb):
    if isinstance(axes, int):
        return list(range(nda - axes, nda)), list(range(axes))
    ax_a, ax_b = axes
    ax_a = [ax_a] if isinstance(ax_a, int) else list(ax_a)
    ax_b = [ax_b] if isinstance(ax_b, int) else list(ax_b)
    return [int(i) % nda for i in ax_a], [int(i) % ndb for i in ax_b]


def tensordot(x1, x2, axes=2):
    """Contracts `x1` and `x2` over the given axes (NumPy's `tensordot`).

    Args:
        x1: First input.
        x2: Second input.
        axes: An int `n` (the last `n` axes of `x1` with the first `n` of `x2`) or a pair of
            axis lists `(axes_of_x1, axes_of_x2)`. Defaults to 2.

    Returns:
        The contraction (differentiable in both inputs).
    """
    a, b = unwrap(x1), unwrap(x2)
    ca, cb = _normalize_tensordot_axes(axes, a.ndim, b.ndim)
    y = np.tensordot(a, b, axes=(ca, cb))
    tape = _state.tape
    if tape is None:
        return y if type(y) is np.ndarray else _as_array(y)
    return _record_op(tape, y, (x1, x2), lambda g, need: _tensordot_vjp(g, a, b, ca, cb, need))


def _tensordot_vjp(g, a, b, ca, cb, need):
    fa = [i for i in range(a.ndim) if i not in ca]
    fb = [i for i in range(b.ndim) if i not in cb]
    nfa = len(fa)
    ga = gb = None
    if need[0]:
        r = np.tensordot(g, b, axes=(list(range(nfa, g.ndim)), fb))
        src = fa + [ca[j] for j in np.argsort(cb)]
        ga = np.transpose(r, tuple(np.argsort(src).tolist()))
    if need[1]:
        r = np.tensordot(a, g, axes=(fa, list(range(nfa))))
        src = [cb[j] for j in np.argsort(ca)] + fb
        gb = np.transpose(r, tuple(np.argsort(src).tolist()))
    return ga, gb


def dot(x1, x2):
    """Dot product of two arrays (NumPy's `dot`).

    Scalars are multiplied; for arrays of rank <= 2 it is `matmul`; otherwise it sums over
    the last axis of `x1` and the second-to-last axis of `x2`.

    Args:
        x1: First input.
        x2: Second input.

    Returns:
        The product (differentiable in both inputs).
    """
    a, b = unwrap(x1), unwrap(x2)
    if a.ndim == 0 or b.ndim == 0:
        return multiply(x1, x2)
    if a.ndim <= 2 and b.ndim <= 2:
        return matmul(x1, x2)
    return tensordot(x1, x2, axes=([a.ndim - 1], [_max(b.ndim - 2, 0)]))


def inner(x1, x2):
    """Inner product over the last axes of `x1` and `x2` (NumPy's `inner`).

    Args:
        x1: First input.
        x2: Second input; its last axis has the size of `x1`'s.

    Returns:
        The product (differentiable); a scalar input multiplies the other elementwise.
    """
    a, b = unwrap(x1), unwrap(x2)
    if a.ndim == 0 or b.ndim == 0:
        return multiply(x1, x2)
    return tensordot(x1, x2, axes=([a.ndim - 1], [b.ndim - 1]))


def outer(x1, x2):
    """Outer product of the flattened inputs.

    Args:
        x1: First input (flattened to `M` elements).
        x2: Second input (flattened to `N` elements).

    Returns:
        An array `(M, N)` with `x1[i] * x2[j]` (differentiable).
    """
    return multiply(reshape(x1, (-1, 1)), reshape(x2, (-1,)))


def _parse_einsum(subscripts, ndims):
    s = subscripts.replace(" ", "")
    ins, out = s.split("->") if "->" in s else (s, None)
    subs = ins.split(",")
    if len(subs) != len(ndims):
        raise ValueError(f"einsum: {len(subs)} operand subscripts for {len(ndims)} operands")
    free = [c for c in string.ascii_letters if c not in s]
    n_ell = _max([nd - (len(sb) - 3) for sb, nd in zip(subs, ndims) if "..." in sb] or [0])
    ell = "".join(free[:n_ell])
    subs = [sb.replace("...", ell[n_ell - (nd - (len(sb) - 3)):]) if "..." in sb else sb
            for sb, nd in zip(subs, ndims)]
    if out is None:
        counts = {}
        for sb in subs:
            for c in sb:
                counts[c] = counts.get(c, 0) + 1
        out = ell + "".join(sorted(c for c, n in counts.items() if n == 1 and c not in ell))
    else:
        out = out.replace("...", ell)
    return subs, out


def einsum(subscripts, *operands, **kwargs):
    """Evaluates an Einstein summation over the operands (NumPy's `einsum`).

    Explicit (`"ij,jk->ik"`) and implicit outputs and ellipses are supported. The gradient
    is implemented except for an operand with a repeated index (a trace such as `"ii->"`),
    which raises `NotImplementedError` when differentiated.

    Args:
        subscripts: The subscripts string.
        *operands: The input arrays.
        **kwargs: Keras passes these to the backend; rnnkit accepts `optimize` and
            `preferred_element_type` (a dtype for the result) and refuses others.

    Returns:
        The result of the summation.

    Example:

    >>> import numpy as np, rnnkit as keras
    >>> keras.ops.einsum("bij,bjk->bik", np.ones((2, 3, 4)), np.ones((2, 4, 5))).shape
    (2, 3, 5)
    """
    unknown = set(kwargs) - {"optimize", "preferred_element_type"}
    if unknown:
        raise TypeError(f"einsum: unexpected keyword arguments {sorted(unknown)}")
    vals = [unwrap(o) for o in operands]
    y = np.einsum(subscripts, *vals, optimize=len(vals) > 2)
    if kwargs.get("preferred_element_type") is not None:
        from rnnkit.ops.core import cast
        return cast(einsum(subscripts, *operands), kwargs["preferred_element_type"])
    tape = _state.tape
    if tape is None:
        return y if type(y) is np.ndarray else _as_array(y)

    def vjp(g, need):
        subs, out = _parse_einsum(subscripts, [v.ndim for v in vals])
        grads = []
        for i, (v, sb) in enumerate(zip(vals, subs)):
            if not need[i]:
                grads.append(None)
                continue
            if len(set(sb)) != len(sb):
                raise NotImplementedError(
                    f"einsum gradient for an operand with a repeated index ({sb!r})")
            others = [(s2, v2) for j, (s2, v2) in enumerate(zip(subs, vals)) if j != i]
            avail = set(out).union(*[set(s2) for s2, _ in others])
            target = "".join(c for c in sb if c in avail)
            expr = ",".join([out] + [s2 for s2, _ in others]) + "->" + target
            r = np.einsum(expr, g, *[v2 for _, v2 in others], optimize=len(others) > 1)
            if target != sb:          # indices summed in this operand only: broadcast back
                r = r.reshape([v.shape[k] if c in avail else 1 for k, c in enumerate(sb)])
                r = np.broadcast_to(r, v.shape)
            grads.append(r)
        return tuple(grads)

    return _record_op(tape, y, tuple(operands), vjp)


# ------------------------------------------------------------------------------------------------
# Reductions
# ------------------------------------------------------------------------------------------------

def _reduction(name, forward, vjp, doc, example=None):
    """vjp(g_expanded, x, y_keepdims, axis) -> dL/dx (broadcastable to x). `doc` is the summary
    line (optionally followed by a blank line and more text); Args and Returns are added."""

    def op(x, axis=None, keepdims=False):
        xv = unwrap(x)
        axis = _axis_arg(axis)
        y = forward(xv, axis, keepdims)
        tape = _state.tape
        if tape is None:
            return y if type(y) is np.ndarray else _as_array(y)

        def node_vjp(g, need):
            g = _expand_reduced(g, xv.shape, axis, keepdims)
            yk = _expand_reduced(y, xv.shape, axis, keepdims)
            return (vjp(g, xv, yk, axis),)

        return _record_op(tape, y, (x,), node_vjp)

    op.__name__ = op.__qualname__ = name
    summary, _, details = doc.partition("\n\n")
    op.__doc__ = _op_doc(summary, args=("x", "axis", "keepdims"), details=details or None,
                         example=example, returns="The reduced array (differentiable).")
    return op


def _count(x, axis):
    return int(np.prod([x.shape[a] for a in _norm_axes(axis, x.ndim)], dtype=np.int64))


sum = _reduction("sum", lambda x, axis, k: np.sum(x, axis=axis, keepdims=k),
                 lambda g, x, y, axis: np.broadcast_to(g, x.shape),
                 "Sums the elements of `x` over the given axes.")
mean = _reduction("mean", lambda x, axis, k: np.mean(_float_in(_as_array)(x), axis=axis,
                                                    keepdims=k),
                  lambda g, x, y, axis: np.broadcast_to(g / _count(x, axis), x.shape),
                  "Averages the elements of `x` over the given axes.", """>>> import numpy as np, rnnkit as keras
>>> keras.ops.mean(np.array([[1.0, 2.0], [3.0, 4.0]]), axis=0)
array([2., 3.])""")


def _chooser_vjp(g, x, y, axis):
    hit = x == y
    return np.where(hit, g / np.sum(hit, axis=axis, keepdims=True), 0)


_max = _reduction("max", lambda x, axis, k: np.max(x, axis=axis, keepdims=k), _chooser_vjp,
                 "Returns the maximum of `x` over the given axes (`amax` is the same op).\n\n"
                 "Elements tied for the maximum share the gradient equally.")
_min = _reduction("min", lambda x, axis, k: np.min(x, axis=axis, keepdims=k), _chooser_vjp,
                 "Returns the minimum of `x` over the given axes (`amin` is the same op).\n\n"
                 "Elements tied for the minimum share the gradient equally.")


def _with_initial(reduce, combine, name):
    def op(x, axis=None, keepdims=False, initial=None):
        out = reduce(x, axis=axis, keepdims=keepdims)
        return out if initial is None else combine(out, initial)

    op.__name__ = op.__qualname__ = name
    op.__doc__ = reduce.__doc__.replace(
        "    keepdims:", "    initial: Optional scalar included in the reduction (the result is "
        "at least / at most it).\n    keepdims:", 1)
    return op


max = _with_initial(_max, lambda a, b: maximum(a, b), "max")
min = _with_initial(_min, lambda a, b: minimum(a, b), "min")
amax, amin = _max, _min


def _var_vjp(g, x, y, axis):
    n = _count(x, axis)
    return g * (2.0 / n) * (x - np.mean(x, axis=axis, keepdims=True))


def _std_vjp(g, x, y, axis):
    n = _count(x, axis)
    return g * (x - np.mean(x, axis=axis, keepdims=True)) / (n * y)


var = _reduction("var", lambda x, axis, k: np.var(_float_in(_as_array)(x), axis=axis,
                                                  keepdims=k), _var_vjp,
                 "Returns the variance of `x` over the given axes (population variance, "
                 "`ddof=0`).")
std = _reduction("std", lambda x, axis, k: np.std(_float_in(_as_array)(x), axis=axis,
                                                  keepdims=k), _std_vjp,
                 "Returns the standard deviation of `x` over the given axes (`ddof=0`).")


def _prod_vjp(g, x, y, axis):
    # d prod / d x_i = product of the others: exclusive cumulative products from both sides
    # (exact with zeros).
    axes = _norm_axes(axis, x.ndim)
    keep = [i for i in range(x.ndim) if i not in axes]
    perm = keep + list(axes)
    xt = np.transpose(x, perm)
    lead = xt.shape[:len(keep)]
    flat = xt.reshape(lead + (-1,))
    ones = _xp(x).ones(lead + (1,), dtype=x.dtype)
    left = np.cumprod(np.concatenate([ones, flat[..., :-1]], axis=-1), axis=-1)
    right = np.cumprod(np.concatenate([ones, flat[..., :0:-1]], axis=-1), axis=-1)[..., ::-1]
    others = np.transpose((left * right).reshape(xt.shape), tuple(np.argsort(perm).tolist()))
    return g * others


_prod = _reduction("prod", lambda x, axis, k: np.prod(x, axis=axis, keepdims=k), _prod_vjp,
                   "Multiplies the elements of `x` over the given axes.\n\n"
                   "The gradient is exact with zeros in `x`.")


def prod(x, axis=None, keepdims=False, dtype=None):
    """Multiplies the elements of `x` over the given axes.

    The gradient is exact with zeros in `x`.

    Args:
        x: Input array.
        axis: Optional int or tuple of ints, the axes to reduce. `None` (the default) reduces
            over all axes.
        keepdims: Bool, keep the reduced axes with size 1. Defaults to `False`.
        dtype: Optional dtype `x` is cast to before multiplying.

    Returns:
        The reduced array (differentiable).
    """
    if dtype is not None:
        from rnnkit.ops.core import cast
        x = cast(x, dtype)
    return _prod(x, axis=axis, keepdims=keepdims)


def _logsumexp_forward(x, axis, keepdims):
    m = np.max(x, axis=axis, keepdims=True)
    m = np.where(np.isfinite(m), m, 0)
    y = np.log(np.sum(np.exp(x - m), axis=axis, keepdims=True)) + m
    if not keepdims:
        y = np.squeeze(y, axis=_norm_axes(axis, x.ndim)) if x.ndim else y
    return y


logsumexp = _reduction("logsumexp", _logsumexp_forward,
                       lambda g, x, y, axis: g * np.exp(x - y),
                       "Computes `log(sum(exp(x)))` over the given axes, without overflow.")


def norm(x, ord=None, axis=None, keepdims=False):
    """Returns a vector or matrix norm (NumPy's `linalg.norm`).

    Differentiable for vector norms (any `ord`) and for the Frobenius norm; the gradient of
    other matrix norms raises `NotImplementedError`.

    Args:
        x: Input array.
        ord: The order of the norm (`None` for the 2-norm / Frobenius norm, a number,
            `np.inf`, `"fro"`, ...), as in NumPy.
        axis: `None` (the whole array as a vector or a matrix), an int (vector norms) or a
            pair of ints (matrix norms).
        keepdims: Bool, keep the reduced axes with size 1. Defaults to `False`.

    Returns:
        The norm(s).

    Example:

    >>> import numpy as np, rnnkit as keras
    >>> keras.ops.norm(np.array([[3.0, 4.0], [6.0, 8.0]]), axis=-1)
    array([ 5., 10.])
    """
    xv = unwrap(x)
    y = np.linalg.norm(xv, ord=ord, axis=_axis_arg(axis), keepdims=keepdims)
    tape = _state.tape
    if tape is None:
        return y if type(y) is np.ndarray else _as_array(y)
    if isinstance(axis, (tuple, list)) and len(axis) == 1:
        axis = axis[0]
    if axis is None:
        vector = xv.ndim == 1 or ord in (None, "fro")
        axis_v = None
    else:
        vector = not isinstance(axis, (tuple, list))
        axis_v = axis if vector else tuple(axis)
        if not vector and ord in (None, "fro"):
            vector = True         # Frobenius = the 2-norm of the flattened matrix
    p = 2 if ord in (None, "fro") else ord
    if not vector or isinstance(p, str):
        raise NotImplementedError(f"The gradient of norm(ord={ord!r}) for matrices is not "
                                  f"implemented")

    def vjp(g, need):
        g = _expand_reduced(g, xv.shape, axis_v, keepdims)
        n = _expand_reduced(y, xv.shape, axis_v, keepdims)
        if p == np.inf or p == -np.inf:
            hit = np.abs(xv) == n
            return (np.where(hit, g * np.sign(xv) / np.sum(hit, axis=axis_v, keepdims=True), 0),)
        if p == 0:
            return (np.zeros_like(xv),)
        if p == 2:
            return (g * xv / np.where(n == 0, 1, n),)
        if p == 1:
            return (g * np.sign(xv),)
        a = np.abs(xv)
        return (g * np.sign(xv) * a ** (p - 1) / np.where(n == 0, 1, n) ** (p - 1),)

    return _record_op(tape, y, (x,), vjp)


def cumsum(x, axis=None, dtype=None):
    """Returns the cumulative sum of the elements along an axis.

    Args:
        x: Input array.
        axis: Int, or `None` (the default) for the flattened array.
        dtype: Optional dtype of the result.

    Returns:
        An array of the shape of `x` (flat when `axis` is `None`), differentiable.
    """
    xv = unwrap(x)
    y = np.cumsum(xv, axis=axis, dtype=dtype)
    tape = _state.tape
    if tape is None:
        return y if type(y) is np.ndarray else _as_array(y)

    def vjp(g, need):
        if axis is None:
            return (np.cumsum(g[::-1])[::-1].reshape(xv.shape),)
        return (np.flip(np.cumsum(np.flip(g, axis), axis=axis), axis),)

    return _record_op(tape, y, (x,), vjp)


# ------------------------------------------------------------------------------------------------
# Shapes
# ------------------------------------------------------------------------------------------------

def _reshaping(name, forward, doc, params="x"):
    # `doc` is the op's whole docstring (Args and Returns included); `params` the parameter
    # list of the op (Keras' names and defaults, e.g. "x, axis=None").
    """Ops that only rearrange/re-view elements one-to-one: the gradient is reshaped back."""

    def impl(x, *args, **kwargs):
        xv = unwrap(x)
        y = forward(xv, *args, **kwargs)
        tape = _state.tape
        if tape is None:
            return y if type(y) is np.ndarray else _as_array(y)
        return _record_op(tape, y, (x,), lambda g, need: (np.reshape(g, xv.shape),))

    names = [p.split("=")[0].strip() for p in params.split(",")]
    op = _named_function(name, params, f"_impl({', '.join(names)})", {"_impl": impl})
    op.__qualname__ = name
    op.__doc__ = doc
    return op


def _reshape_forward(x, newshape):
    if isinstance(newshape, int):
        newshape = (newshape,)
    return np.reshape(x, tuple(-1 if d is None else int(d) for d in newshape))


reshape = _reshaping("reshape", _reshape_forward, _op_doc(
    "Gives `x` a new shape without changing its data.",
    args=("x", ("newshape", "An int or a tuple of ints; one entry may be -1 (or `None`, as in "
                            "Keras), inferred from the size.")),
    returns="An array of shape `newshape` (differentiable).",
    example=""">>> import numpy as np, rnnkit as keras
>>> keras.ops.reshape(np.arange(6), (None, 3)).shape
(2, 3)"""), "x, newshape")
expand_dims = _reshaping("expand_dims", lambda x, axis: np.expand_dims(
    x, tuple(axis) if isinstance(axis, list) else axis), _op_doc(
    "Inserts axes of size 1 into the shape of `x`.",
    args=("x", ("axis", "Int, or tuple or list of ints: the position(s) of the new axes in "
                        "the result.")),
    returns="An array with `len(axis)` more dimensions (differentiable)."), "x, axis")
squeeze = _reshaping("squeeze", lambda x, axis=None: np.squeeze(x, axis=_axis_arg(axis)),
                     _op_doc("Removes axes of size 1 from the shape of `x`.",
                             args=("x", ("axis", "Optional int or tuple of ints, the axes to "
                                                 "remove (each must have size 1). `None` "
                                                 "removes every axis of size 1.")),
                             returns="An array with the axes removed (differentiable)."),
                     "x, axis=None")
ravel = _reshaping("ravel", np.ravel, _op_doc(
    "Flattens `x` into one dimension (row-major order).",
    returns="A 1-D array of `x`'s size (differentiable)."))


def transpose(x, axes=None):
    """Permutes the axes of `x`.

    Args:
        x: Input array.
        axes: Optional sequence of ints, the new order of the axes. `None` (the default)
            reverses them.

    Returns:
        The transposed array (differentiable).
    """
    xv = unwrap(x)
    y = np.transpose(xv, axes)
    tape = _state.tape
    if tape is None:
        return y
    if axes is None:
        return _record_op(tape, y, (x,), lambda g, need: (np.transpose(g),))
    inverse = tuple(np.argsort([int(a) % xv.ndim for a in axes]).tolist())
    return _record_op(tape, y, (x,), lambda g, need: (np.transpose(g, inverse),))


def swapaxes(x, axis1, axis2):
    """Interchanges two axes of `x`.

    Args:
        x: Input array.
        axis1: Int, the first axis.
        axis2: Int, the second axis.

    Returns:
        The array with the two axes swapped (differentiable).
    """
    nd = np.ndim(unwrap(x))
    axes = list(range(nd))
    a1, a2 = int(axis1) % nd, int(axis2) % nd
    axes[a1], axes[a2] = axes[a2], axes[a1]
    return transpose(x, axes)


def moveaxis(x, source, destination):
    """Moves axes of `x` to new positions; the other axes keep their order.

    Args:
        x: Input array.
        source: Int or sequence of ints, the original positions of the axes to move.
        destination: Int or sequence of ints, their new positions.

    Returns:
        The array with the axes moved (differentiable).
    """
    nd = np.ndim(unwrap(x))
    src = [source] if isinstance(source, int) else list(source)
    dst = [destination] if isinstance(destination, int) else list(destination)
    src = [s % nd for s in src]
    dst = [d % nd for d in dst]
    order = [n for n in range(nd) if n not in src]       # NumPy's own construction
    for d, s in sorted(zip(dst, src)):
        order.insert(d, s)
    return transpose(x, order)


def broadcast_to(x, shape):
    """Broadcasts `x` to a new shape.

    Args:
        x: Input array.
        shape: Tuple of ints, the target shape (compatible with NumPy's broadcasting rules).

    Returns:
        An array of `shape`: a read-only view, as in NumPy (differentiable).
    """
    xv = unwrap(x)
    y = np.broadcast_to(xv, tuple(shape))
    tape = _state.tape
    if tape is None:
        return y
    return _record_op(tape, y, (x,), lambda g, need: (g,))


def flip(x, axis=None):
    """Reverses the order of the elements of `x` along the given axes.

    Args:
        x: Input array.
        axis: Optional int or tuple of ints. `None` (the default) flips every axis.

    Returns:
        An array of the shape of `x` (differentiable).
    """
    xv = unwrap(x)
    axis = _axis_arg(axis)
    y = np.flip(xv, axis)
    tape = _state.tape
    if tape is None:
        return y
    return _record_op(tape, y, (x,), lambda g, need: (np.flip(g, axis),))


def concatenate(xs, axis=0):
    """Joins a sequence of arrays along an existing axis.

    Args:
        xs: A sequence of arrays with equal shapes except along `axis`.
        axis: Int, the joining axis, or `None` to flatten the inputs first. Defaults to 0.

    Returns:
        The concatenated array (differentiable in every input).

    Example:

    >>> import numpy as np, rnnkit as keras
    >>> keras.ops.concatenate([np.zeros((2, 3)), np.ones((2, 1))], axis=-1).shape
    (2, 4)
    """
    xs = list(xs)
    vals = [unwrap(v) for v in xs]
    y = np.concatenate(vals, axis=axis)
    tape = _state.tape
    if tape is None:
        return y
    if axis is None:
        sizes = np.cumsum([v.size for v in vals])[:-1].tolist()
        return _record_op(tape, y, xs, lambda g, need: tuple(
            p.reshape(v.shape) for p, v in zip(np.split(g, sizes), vals)))
    ax = axis % y.ndim
    cuts = np.cumsum([v.shape[ax] for v in vals])[:-1].tolist()
    return _record_op(tape, y, xs, lambda g, need: tuple(np.split(g, cuts, axis=ax)))


def stack(x, axis=0):
    """Joins a sequence of arrays of equal shape along a new axis.

    Args:
        x: A sequence of arrays of the same shape.
        axis: Int, the position of the new axis in the result. Defaults to 0.

    Returns:
        The stacked array, with one more dimension (differentiable in every input).
    """
    xs = list(x)
    vals = [unwrap(v) for v in xs]
    y = np.stack(vals, axis=axis)
    tape = _state.tape
    if tape is None:
        return y
    ax = axis % y.ndim
    return _record_op(tape, y, xs, lambda g, need: tuple(
        np.take(g, i, axis=ax) if n else None for i, n in enumerate(need)))


def unstack(x, num=None, axis=0):
    """Splits `x` into the list of its slices along an axis.

    Args:
        x: Input array.
        num: Optional int, the expected number of slices (checked).
        axis: Int, the axis to unstack. Defaults to 0.

    Returns:
        A list of `x.shape[axis]` arrays, each without that axis (differentiable).

    Raises:
        ValueError: If `num` differs from the size of `axis`.
    """
    xv = unwrap(x)
    ax = axis % xv.ndim
    if num is not None and num != xv.shape[ax]:
        raise ValueError(f"unstack: num={num} does not match dimension {xv.shape[ax]} of axis "
                         f"{axis}")
    moved = np.moveaxis(xv, ax, 0)
    ys = [moved[i] for i in range(moved.shape[0])]
    tape = _state.tape
    if tape is None:
        return ys
    return _record_multi(tape, ys, (x,), lambda gs, need: (np.stack(gs, axis=ax),))


def split(x, indices_or_sections, axis=0):
    """Splits `x` into several arrays along an axis (NumPy's `split`).

    Args:
        x: Input array.
        indices_or_sections: An int `n` (that many equal parts; the size of `axis` must be
            divisible by it) or a sorted list of split indices.
        axis: Int, the axis to split. Defaults to 0.

    Returns:
        A list of arrays (differentiable).
    """
    xv = unwrap(x)
    ys = np.split(xv, indices_or_sections, axis=axis)
    tape = _state.tape
    if tape is None:
        return ys
    return _record_multi(tape, ys, (x,),
                         lambda gs, need: (np.concatenate(gs, axis=axis),))


def array_split(x, indices_or_sections, axis=0):
    """Splits `x` into several arrays, allowing unequal parts (NumPy's `array_split`).

    Args:
        x: Input array.
        indices_or_sections: An int `n` (that many parts, the first ones one element larger
            when the size is not divisible) or a sorted list of split indices.
        axis: Int, the axis to split. Defaults to 0.

    Returns:
        A list of arrays (differentiable).
    """
    xv = unwrap(x)
    ys = np.array_split(xv, indices_or_sections, axis=axis)
    tape = _state.tape
    if tape is None:
        return ys
    return _record_multi(tape, ys, (x,),
                         lambda gs, need: (np.concatenate(gs, axis=axis),))


def tile(x, repeats):
    """Repeats `x` as a whole the given number of times along each axis (NumPy's `tile`).

    Args:
        x: Input array.
        repeats: An int or a sequence of ints, the number of copies along each axis.

    Returns:
        The tiled array (differentiable).
    """
    xv = unwrap(x)
    y = np.tile(xv, repeats)
    tape = _state.tape
    if tape is None:
        return y
    reps = (repeats,) if isinstance(repeats, int) else tuple(int(r) for r in repeats)

    def vjp(g, need):
        d = y.ndim
        reps_full = (1,) * (d - len(reps)) + reps
        shape_full = (1,) * (d - xv.ndim) + xv.shape
        inter = []
        for r, s in zip(reps_full, shape_full):
            inter += [r, s]
        r = g.reshape(inter).sum(axis=tuple(range(0, 2 * d, 2)))
        return (r.reshape(xv.shape),)

    return _record_op(tape, y, (x,), vjp)


def repeat(x, repeats, axis=None):
    """Repeats each element of `x` (NumPy's `repeat`).

    Args:
        x: Input array.
        repeats: An int, or a sequence of ints with one count per element along `axis`.
        axis: Optional int. `None` (the default) repeats the elements of the flattened array.

    Returns:
        The array with repeated elements (differentiable).
    """
    xv = unwrap(x)
    reps = unwrap(repeats)
    y = np.repeat(xv, reps, axis=axis)
    tape = _state.tape
    if tape is None:
        return y

    def vjp(g, need):
        src = xv.ravel() if axis is None else xv
        ax = 0 if axis is None else axis % xv.ndim
        n = src.shape[ax]
        if np.ndim(reps) == 0 or np.size(reps) == 1:
            r = int(np.reshape(reps, -1)[0]) if np.ndim(reps) else int(reps)
            shape = src.shape[:ax] + (n, r) + src.shape[ax + 1:]
            out = g.reshape(shape).sum(axis=ax + 1)
        else:
            out = np.zeros(src.shape, dtype=g.dtype)
            idx = np.repeat(np.arange(n), reps)
            np.add.at(out, (builtins.slice(None),) * ax + (idx,), g)
        return (out.reshape(xv.shape),)

    return _record_op(tape, y, (x,), vjp)


_PAD_MAPPED = ("edge", "reflect", "symmetric", "wrap")


def pad(x, pad_width, mode="constant", constant_values=None):
    """Pads `x` (NumPy's `pad`).

    Args:
        x: Input array.
        pad_width: The number of values padded before and after each axis: an int, a pair,
            or one pair per axis.
        mode: `"constant"` (the default), `"edge"`, `"reflect"`, `"symmetric"`, `"wrap"` or
            another NumPy mode. The gradient is implemented for the five named here.
        constant_values: Optional value for `mode="constant"` (0 by default).

    Returns:
        The padded array.

    Raises:
        ValueError: If `constant_values` is given with a mode other than `"constant"`.
    """
    xv = unwrap(x)
    kw = {}
    if constant_values is not None:
        if mode != "constant":
            raise ValueError(f"pad: constant_values is only valid with mode='constant', got "
                             f"mode={mode!r}")
        kw["constant_values"] = unwrap(constant_values)
    y = np.pad(xv, pad_width, mode=mode, **kw)
    tape = _state.tape
    if tape is None:
        return y
    widths = np.broadcast_to(np.asarray(pad_width, dtype=np.int64).reshape(
        -1, 2) if np.ndim(pad_width) else np.asarray(pad_width), (xv.ndim, 2))

    def vjp(g, need):
        if mode == "constant":
            key = tuple(builtins.slice(int(lo), int(lo) + s)
                        for (lo, _), s in zip(widths, xv.shape))
            return (g[key],)
        if mode in _PAD_MAPPED:
            source = np.pad(np.arange(xv.size).reshape(xv.shape), pad_width, mode=mode)
            flat = np.bincount(source.ravel(), weights=g.ravel(), minlength=xv.size)
            return (flat.reshape(xv.shape),)
        raise NotImplementedError(f"The gradient of pad(mode={mode!r}) is not implemented")

    return _record_op(tape, y, (x,), vjp)


def _basic_key(key):
    items = key if isinstance(key, tuple) else (key,)
    return _all(k is None or k is Ellipsis or isinstance(k, builtins.slice) or
                (isinstance(k, (int, np.integer)) and not isinstance(k, (bool, np.bool_)))
                for k in items)


def _unwrap_key(key):
    if isinstance(key, tuple):
        return tuple(_unwrap_key(k) for k in key)
    if isinstance(key, list):
        return np.asarray([unwrap(k) for k in key]) if _any(
            isinstance(k, Tensor) for k in key) else key
    if isinstance(key, builtins.slice):
        return builtins.slice(_int_or_none(key.start), _int_or_none(key.stop),
                              _int_or_none(key.step))
    if isinstance(key, np.ndarray) or key is None or key is Ellipsis:
        return key
    key = unwrap(key)
    if isinstance(key, np.ndarray) and key.ndim == 0 and key.dtype.kind in "iu":
        return int(key)
    return key


def _int_or_none(v):
    if v is None or isinstance(v, int):
        return v
    return int(unwrap(v))


def get_item(x, key):
    """Returns `x[key]`, with NumPy's basic and advanced indexing.

    The gradient of an index that appears several times accumulates.

    Args:
        x: Input array.
        key: An index: an int, a slice, `None`, `Ellipsis`, an integer or boolean array,
            or a tuple of those. Tensors in the key are used by value.

    Returns:
        The selected elements (differentiable).
    """
    xv = unwrap(x)
    key = _unwrap_key(key)
    y = xv[key]
    tape = _state.tape
    if tape is None:
        return y if type(y) is np.ndarray else _as_array(y)
    basic = _basic_key(key)

    def vjp(g, need):
        z = _xp(g).zeros(xv.shape, dtype=g.dtype)
        if basic:
            z[key] = g
        else:
            np.add.at(z, key, g)
        return (z,)

    return _record_op(tape, y, (x,), vjp)


def slice(inputs, start_indices, shape):
    """Returns the block of `inputs` that starts at `start_indices` and has shape `shape`.

    Args:
        inputs: Input array.
        start_indices: One start index per axis.
        shape: The size of the block along each axis.

    Returns:
        An array of shape `shape` (differentiable).
    """
    key = tuple(builtins.slice(int(s), int(s) + int(n)) for s, n in zip(start_indices, shape))
    return get_item(inputs, key)


def take(x, indices, axis=None):
    """Takes elements of `x` at `indices` along an axis (NumPy's `take`).

    The gradient of an index that appears several times accumulates.

    Args:
        x: Input array.
        indices: Integer array of indices.
        axis: Optional int. `None` (the default) indexes the flattened array.

    Returns:
        The selected elements (differentiable in `x`).

    Example:

    >>> import numpy as np, rnnkit as keras
    >>> keras.ops.take(np.array([[1, 2], [3, 4], [5, 6]]), np.array([2, 0]), axis=0)
    array([[5, 6],
           [1, 2]])
    """
    xv = unwrap(x)
    idx = _as_array(unwrap(indices))
    y = np.take(xv, idx, axis=axis)
    tape = _state.tape
    if tape is None:
        return y if type(y) is np.ndarray else _as_array(y)

    def vjp(g, need):
        z = _xp(g).zeros(xv.shape, dtype=g.dtype)
        if axis is None:
            np.add.at(z.reshape(-1), idx, g)
        else:
            np.add.at(z, (builtins.slice(None),) * (axis % xv.ndim) + (idx,), g)
        return (z,)

    return _record_op(tape, y, (x,), vjp)


def take_along_axis(x, indices, axis=None):
    """Selects elements of `x` with an index array matching it along an axis (NumPy's
    `take_along_axis`, e.g. with the result of `argsort`).

    Args:
        x: Input array.
        indices: Integer array of the rank of `x`.
        axis: Int, or `None` for the flattened array.

    Returns:
        The selected elements (differentiable in `x`).
    """
    xv = unwrap(x)
    idx = _as_array(unwrap(indices))
    y = np.take_along_axis(xv, idx, axis=axis)
    tape = _state.tape
    if tape is None:
        return y

    def vjp(g, need):
        if axis is None:
            z = _xp(g).zeros(xv.size, dtype=g.dtype)
            np.add.at(z, idx, g)
            return (z.reshape(xv.shape),)
        ax = axis % xv.ndim
        full = list(y.shape)
        full[ax] = xv.shape[ax]
        z = _xp(g).zeros(full, dtype=g.dtype)
        fancy = []
        for d in range(y.ndim):
            if d == ax:
                fancy.append(np.broadcast_to(idx, y.shape))
            else:
                shp = [1] * y.ndim
                shp[d] = y.shape[d]
                fancy.append(_xp(g).arange(y.shape[d]).reshape(shp))
        np.add.at(z, tuple(fancy), g)
        return (z,)      # summed back over axes where x was broadcast

    return _record_op(tape, y, (x,), vjp)


def where(condition, x1=None, x2=None):
    """Chooses elementwise between `x1` (where `condition` is true) and `x2`.

    Args:
        condition: A boolean array (or array-like), broadcast with `x1` and `x2`.
        x1: Values where `condition` is true.
        x2: Values where `condition` is false.

    Returns:
        An array of the broadcast shape (differentiable in `x1` and `x2`). With only
        `condition`, the tuple of index arrays where it is true (NumPy's `nonzero`).

    Raises:
        ValueError: If only one of `x1` and `x2` is given.

    Example:

    >>> import numpy as np, rnnkit as keras
    >>> keras.ops.where(np.array([True, False]), np.array([1, 2]), np.array([10, 20]))
    array([ 1, 20])
    """
    cond = unwrap(condition)
    if x1 is None and x2 is None:
        return np.nonzero(cond)
    if x1 is None or x2 is None:
        raise ValueError("where: x1 and x2 must be given together")
    a, b = unwrap(x1), unwrap(x2)
    if type(a) is not type(b):
        a, b = _check_devices(a, b, "where")
    y = np.where(cond, a, b)
    tape = _state.tape
    if tape is None:
        return y
    return _record_op(tape, y, (condition, x1, x2), lambda g, need: (
        None,
        np.where(cond, g, 0) if need[1] else None,
        np.where(cond, 0, g) if need[2] else None))


def select(condlist, choicelist, default=0):
    """Chooses from a list of arrays by the first condition that holds (NumPy's `select`).

    Args:
        condlist: A list of boolean arrays.
        choicelist: A list of arrays, one per condition.
        default: The value where no condition holds. Defaults to 0.

    Returns:
        An array of the broadcast shape (differentiable in the choices and `default`).
    """
    out = default
    for cond, choice in reversed(list(zip(condlist, choicelist))):
        out = where(cond, choice, out)
    return out


def append(x1, x2, axis=None):
    """Appends `x2` to the end of `x1`.

    Args:
        x1: First array.
        x2: Array to append.
        axis: Optional int, the axis to join along. `None` (the default) flattens both.

    Returns:
        The joined array (differentiable).
    """
    if axis is None:
        return concatenate([reshape(x1, (-1,)), reshape(x2, (-1,))], axis=0)
    return concatenate([x1, x2], axis=axis)


# ------------------------------------------------------------------------------------------------
# Creation (never tracked)
# ------------------------------------------------------------------------------------------------

def _shape_arg(shape):
    if isinstance(shape, (int, np.integer)):
        return (int(shape),)
    return tuple(int(unwrap(s)) for s in shape)


def zeros(shape, dtype=None):
    """Returns a new array of zeros.

    Args:
        shape: An int or a tuple of ints.
        dtype: Optional dtype. Defaults to `config.floatx()` (float32).

    Returns:
        An array of `shape` (never tracked).

    Example:

    >>> import rnnkit as keras
    >>> keras.ops.zeros((2, 3)).dtype
    dtype('float32')
    """
    return np.zeros(_shape_arg(shape), dtype=dtype or _floatx())


def ones(shape, dtype=None):
    """Returns a new array of ones.

    Args:
        shape: An int or a tuple of ints.
        dtype: Optional dtype. Defaults to `config.floatx()` (float32).

    Returns:
        An array of `shape` (never tracked).
    """
    return np.ones(_shape_arg(shape), dtype=dtype or _floatx())


def full(shape, fill_value, dtype=None):
    """Returns a new array filled with `fill_value`.

    Args:
        shape: An int or a tuple of ints.
        fill_value: The value (a scalar or an array broadcast to `shape`).
        dtype: Optional dtype. Defaults to `config.floatx()` (float32).

    Returns:
        An array of `shape` (never tracked).
    """
    return np.full(_shape_arg(shape), unwrap(fill_value), dtype=dtype or _floatx())


def zeros_like(x, dtype=None):
    """Returns an array of zeros with the shape and dtype of `x`.

    Args:
        x: Input array.
        dtype: Optional dtype overriding `x`'s.

    Returns:
        An array (never tracked).
    """
    return np.zeros_like(unwrap(x), dtype=dtype)


def ones_like(x, dtype=None):
    """Returns an array of ones with the shape and dtype of `x`.

    Args:
        x: Input array.
        dtype: Optional dtype overriding `x`'s.

    Returns:
        An array (never tracked).
    """
    return np.ones_like(unwrap(x), dtype=dtype)


def full_like(x, fill_value, dtype=None):
    """Returns an array filled with `fill_value`, with the shape and dtype of `x`.

    Args:
        x: Input array.
        fill_value: The value.
        dtype: Optional dtype overriding `x`'s.

    Returns:
        An array (never tracked).
    """
    return np.full_like(unwrap(x), unwrap(fill_value), dtype=dtype)


def empty(shape, dtype=None):
    """Returns a new array without initializing its values.

    Args:
        shape: An int or a tuple of ints.
        dtype: Optional dtype. Defaults to `config.floatx()` (float32).

    Returns:
        An array of `shape` with arbitrary contents (never tracked).
    """
    return np.empty(_shape_arg(shape), dtype=dtype or _floatx())


def eye(N, M=None, k=0, dtype=None):
    """Returns a 2-D array with ones on a diagonal and zeros elsewhere.

    Args:
        N: Int, the number of rows.
        M: Optional int, the number of columns. Defaults to `N`.
        k: Int, the diagonal: 0 (the default) is the main one, positive values are above.
        dtype: Optional dtype. Defaults to `config.floatx()` (float32).

    Returns:
        An array `(N, M)` (never tracked).
    """
    return np.eye(N, M, k=k, dtype=dtype or _floatx())


def identity(n, dtype=None):
    """Returns the identity matrix of size `n`.

    Args:
        n: Int, the number of rows and columns.
        dtype: Optional dtype. Defaults to `config.floatx()` (float32).

    Returns:
        An array `(n, n)` (never tracked).
    """
    return np.identity(n, dtype=dtype or _floatx())


def tri(N, M=None, k=0, dtype=None):
    """Returns an array with ones at and below a diagonal and zeros elsewhere.

    Args:
        N: Int, the number of rows.
        M: Optional int, the number of columns. Defaults to `N`.
        k: Int, the diagonal at and below which the array is filled. Defaults to 0.
        dtype: Optional dtype. Defaults to `config.floatx()` (float32).

    Returns:
        An array `(N, M)` (never tracked).
    """
    return np.tri(N, M, k=k, dtype=dtype or _floatx())


def _is_floatlike(v):
    return isinstance(v, (float, np.floating)) or (
        isinstance(v, np.ndarray) and v.dtype.kind == "f")


def arange(start, stop=None, step=None, dtype=None):
    """Returns evenly spaced values in `[start, stop)`.

    Args:
        start: The start, or the stop when `stop` is `None` (then the start is 0).
        stop: Optional end of the interval (excluded).
        step: The spacing; `None` (the default) means 1.
        dtype: Optional dtype. Without one, the result is int32 when every argument is an
            integer and float32 otherwise (as in Keras).

    Returns:
        A 1-D array (never tracked).

    Example:

    >>> import rnnkit as keras
    >>> keras.ops.arange(3)
    array([0, 1, 2], dtype=int32)
    """
    start, stop, step = unwrap(start), unwrap(stop), 1 if step is None else unwrap(step)
    if dtype is None:
        dtype = _floatx() if _any(_is_floatlike(v) for v in (start, stop, step)) else "int32"
    if stop is None:
        return np.arange(start, step=step, dtype=dtype)
    return np.arange(start, stop, step, dtype=dtype)


def linspace(start, stop, num=50, endpoint=True, retstep=False, dtype=None, axis=0):
    """Returns `num` evenly spaced values over `[start, stop]`.

    Args:
        start: The first value.
        stop: The last value (excluded when `endpoint=False`).
        num: Int, the number of values. Defaults to 50.
        endpoint: Bool, whether `stop` is included. Defaults to `True`.
        retstep: Bool, also return the spacing. Defaults to `False`.
        dtype: Optional dtype. Defaults to `config.floatx()` (float32).
        axis: Int, the axis of the values when `start`/`stop` are arrays. Defaults to 0.

    Returns:
        An array (never tracked), or `(array, step)` with `retstep`.
    """
    return np.linspace(unwrap(start), unwrap(stop), num, endpoint=endpoint, retstep=retstep,
                       dtype=dtype or _floatx(), axis=axis)


def tril(x, k=0):
    """Returns `x` with the elements above the `k`-th diagonal set to zero.

    Args:
        x: Input array of rank >= 2 (the last two axes are the matrix).
        k: Int, the diagonal: 0 (the default) is the main one, positive values are above.

    Returns:
        An array of the shape of `x` (differentiable).
    """
    xv = unwrap(x)
    mask = np.tri(*xv.shape[-2:], k=k, dtype=bool)
    return where(mask, x, np.zeros((), dtype=xv.dtype))


def triu(x, k=0):
    """Returns `x` with the elements below the `k`-th diagonal set to zero.

    Args:
        x: Input array of rank >= 2 (the last two axes are the matrix).
        k: Int, the diagonal: 0 (the default) is the main one, positive values are above.

    Returns:
        An array of the shape of `x` (differentiable).
    """
    xv = unwrap(x)
    mask = np.tri(*xv.shape[-2:], k=k - 1, dtype=bool)
    return where(mask, np.zeros((), dtype=xv.dtype), x)


# More of keras.ops.numpy (inverse trigonometry, NaN-aware reductions, quantiles, sorting,
# diagonals, stacking helpers, windows, bitwise ops) lives in _numpy_more.
from rnnkit.ops._numpy_more import *  # noqa: E402,F401,F403
from rnnkit.ops._numpy_more import __all__ as _more_names  # noqa: E402
