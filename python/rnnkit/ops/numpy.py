"""NumPy-like ops (`keras.ops` names and signatures), differentiable under a GradientTape.

Every op accepts arrays, Python numbers and lists, Variables and Tensors. Outside a recording tape
it returns a plain np.ndarray (NumPy's dtype rules: a Python float with a float32 array stays
float32). Inside one, it returns a tracked Tensor when an input is tracked.
"""

from __future__ import annotations

import math
import string

from rnnkit.ops._base import (Tensor, _arr, _expand_reduced, _nondiff, _norm_axes,
                              _record_multi, _record_op, _state, _unary, builtins, np, unwrap)

_sum, _max, _min, _abs, _round, _any, _all = (builtins.sum, builtins.max, builtins.min,
                                              builtins.abs, builtins.round, builtins.any,
                                              builtins.all)

_FLOATX = "float32"


def _binary(name, forward, vjp, doc=None):
    """A broadcasting binary op. vjp(g, a, b, y, need) -> (ga, gb) at the broadcast shape (the
    tape sums them back to each input's shape)."""

    def op(x1, x2):
        a = unwrap(x1)
        b = unwrap(x2)
        y = forward(a, b)
        tape = _state.tape
        if tape is None:
            return y if type(y) is np.ndarray else np.asarray(y)
        return _record_op(tape, y, (x1, x2), lambda g, need: vjp(g, a, b, y, need))

    op.__name__ = op.__qualname__ = name
    op.__doc__ = doc or f"Elementwise {name}, with broadcasting."
    return op


# ------------------------------------------------------------------------------------------------
# Elementwise arithmetic
# ------------------------------------------------------------------------------------------------

add = _binary("add", np.add, lambda g, a, b, y, need: (g, g))
subtract = _binary("subtract", np.subtract, lambda g, a, b, y, need: (g, -g if need[1] else None))
multiply = _binary("multiply", np.multiply,
                   lambda g, a, b, y, need: (g * b if need[0] else None,
                                             g * a if need[1] else None))
divide = _binary("divide", np.true_divide,
                 lambda g, a, b, y, need: (g / b if need[0] else None,
                                           -g * y / b if need[1] else None))
true_divide = divide


def _power_vjp(g, a, b, y, need):
    ga = gb = None
    if need[0]:
        ga = g * b * np.power(a, b - 1)
    if need[1]:
        gb = g * y * np.log(np.where(a > 0, a, 1))
    return ga, gb


power = _binary("power", np.power, _power_vjp)


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
                  "Elementwise maximum (a tie sends half the gradient to each input).")
minimum = _binary("minimum", np.minimum, _maxmin_vjp(False),
                  "Elementwise minimum (a tie sends half the gradient to each input).")

floor_divide = _nondiff("floor_divide", np.floor_divide)
mod = _nondiff("mod", np.mod)

negative = _unary("negative", np.negative, lambda g, x, y: -g)
square = _unary("square", np.square, lambda g, x, y: g * (2 * x))
sqrt = _unary("sqrt", np.sqrt, lambda g, x, y: g * 0.5 / y)
abs = _unary("abs", np.abs, lambda g, x, y: g * np.sign(x))
absolute = abs
exp = _unary("exp", np.exp, lambda g, x, y: g * y)
exp2 = _unary("exp2", np.exp2, lambda g, x, y: g * y * math.log(2.0))
log = _unary("log", np.log, lambda g, x, y: g / x)
log2 = _unary("log2", np.log2, lambda g, x, y: g / (x * math.log(2.0)))
log10 = _unary("log10", np.log10, lambda g, x, y: g / (x * math.log(10.0)))
log1p = _unary("log1p", np.log1p, lambda g, x, y: g / (1 + x))
expm1 = _unary("expm1", np.expm1, lambda g, x, y: g * (y + 1))
reciprocal = _unary("reciprocal", lambda x: np.true_divide(1, x), lambda g, x, y: -g * y * y)
sin = _unary("sin", np.sin, lambda g, x, y: g * np.cos(x))
cos = _unary("cos", np.cos, lambda g, x, y: -g * np.sin(x))
tan = _unary("tan", np.tan, lambda g, x, y: g * (1 + y * y))
arctan = _unary("arctan", np.arctan, lambda g, x, y: g / (1 + x * x))
sinh = _unary("sinh", np.sinh, lambda g, x, y: g * np.cosh(x))
cosh = _unary("cosh", np.cosh, lambda g, x, y: g * np.sinh(x))
sign = _nondiff("sign", np.sign)
floor = _nondiff("floor", np.floor)
ceil = _nondiff("ceil", np.ceil)


def round(x, decimals=0):
    """Round half to even (not differentiable)."""
    return _arr(np.round(unwrap(x), decimals))


def clip(x, x_min, x_max):
    """Clip into [x_min, x_max]; the gradient passes where x_min <= x <= x_max."""
    xv, lo, hi = unwrap(x), unwrap(x_min), unwrap(x_max)
    y = np.minimum(np.maximum(xv, lo), hi)
    tape = _state.tape
    if tape is None:
        return y if type(y) is np.ndarray else np.asarray(y)

    def vjp(g, need):
        below, above = xv < lo, xv > hi
        return (np.where(below | above, 0, g) if need[0] else None,
                np.where(below & ~above, g, 0) if need[1] else None,
                np.where(above, g, 0) if need[2] else None)

    return _record_op(tape, y, (x, x_min, x_max), vjp)


# ------------------------------------------------------------------------------------------------
# Comparisons and logic (never tracked)
# ------------------------------------------------------------------------------------------------

equal = _nondiff("equal", np.equal)
not_equal = _nondiff("not_equal", np.not_equal)
greater = _nondiff("greater", np.greater)
greater_equal = _nondiff("greater_equal", np.greater_equal)
less = _nondiff("less", np.less)
less_equal = _nondiff("less_equal", np.less_equal)
logical_and = _nondiff("logical_and", np.logical_and)
logical_or = _nondiff("logical_or", np.logical_or)
logical_xor = _nondiff("logical_xor", np.logical_xor)
logical_not = _nondiff("logical_not", np.logical_not)
isnan = _nondiff("isnan", np.isnan)
isinf = _nondiff("isinf", np.isinf)
isfinite = _nondiff("isfinite", np.isfinite)


def any(x, axis=None, keepdims=False):
    return _arr(np.any(unwrap(x), axis=_axis_arg(axis), keepdims=keepdims))


def all(x, axis=None, keepdims=False):
    return _arr(np.all(unwrap(x), axis=_axis_arg(axis), keepdims=keepdims))


def argmax(x, axis=None, keepdims=False):
    return _arr(np.argmax(unwrap(x), axis=axis, keepdims=keepdims))


def argmin(x, axis=None, keepdims=False):
    return _arr(np.argmin(unwrap(x), axis=axis, keepdims=keepdims))


def argsort(x, axis=-1):
    return _arr(np.argsort(unwrap(x), axis=axis))


def _axis_arg(axis):
    return tuple(axis) if isinstance(axis, list) else axis


# ------------------------------------------------------------------------------------------------
# Linear algebra
# ------------------------------------------------------------------------------------------------

def matmul(x1, x2):
    """Matrix product with NumPy's matmul semantics (1-D operands, broadcast batch dims)."""
    a, b = unwrap(x1), unwrap(x2)
    y = np.matmul(a, b)
    tape = _state.tape
    if tape is None:
        return y if type(y) is np.ndarray else np.asarray(y)

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
    """np.tensordot."""
    a, b = unwrap(x1), unwrap(x2)
    ca, cb = _normalize_tensordot_axes(axes, a.ndim, b.ndim)
    y = np.tensordot(a, b, axes=(ca, cb))
    tape = _state.tape
    if tape is None:
        return y if type(y) is np.ndarray else np.asarray(y)
    return _record_op(tape, y, (x1, x2), lambda g, need: _tensordot_vjp(g, a, b, ca, cb, need))


def _tensordot_vjp(g, a, b, ca, cb, need):
    fa = [i for i in range(a.ndim) if i not in ca]
    fb = [i for i in range(b.ndim) if i not in cb]
    nfa = len(fa)
    ga = gb = None
    if need[0]:
        r = np.tensordot(g, b, axes=(list(range(nfa, g.ndim)), fb))
        src = fa + [ca[j] for j in np.argsort(cb)]
        ga = np.transpose(r, np.argsort(src))
    if need[1]:
        r = np.tensordot(a, g, axes=(fa, list(range(nfa))))
        src = [cb[j] for j in np.argsort(ca)] + fb
        gb = np.transpose(r, np.argsort(src))
    return ga, gb


def dot(x1, x2):
    """np.dot."""
    a, b = unwrap(x1), unwrap(x2)
    if a.ndim == 0 or b.ndim == 0:
        return multiply(x1, x2)
    if a.ndim <= 2 and b.ndim <= 2:
        return matmul(x1, x2)
    return tensordot(x1, x2, axes=([a.ndim - 1], [_max(b.ndim - 2, 0)]))


def inner(x1, x2):
    a, b = unwrap(x1), unwrap(x2)
    if a.ndim == 0 or b.ndim == 0:
        return multiply(x1, x2)
    return tensordot(x1, x2, axes=([a.ndim - 1], [b.ndim - 1]))


def outer(x1, x2):
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


def einsum(subscripts, *operands):
    """np.einsum (explicit or implicit output, ellipses)."""
    vals = [unwrap(o) for o in operands]
    y = np.einsum(subscripts, *vals, optimize=len(vals) > 2)
    tape = _state.tape
    if tape is None:
        return y if type(y) is np.ndarray else np.asarray(y)

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

def _reduction(name, forward, vjp, doc):
    """vjp(g_expanded, x, y_keepdims, axis) -> dL/dx (broadcastable to x)."""

    def op(x, axis=None, keepdims=False):
        xv = unwrap(x)
        axis = _axis_arg(axis)
        y = forward(xv, axis, keepdims)
        tape = _state.tape
        if tape is None:
            return y if type(y) is np.ndarray else np.asarray(y)

        def node_vjp(g, need):
            g = _expand_reduced(g, xv.shape, axis, keepdims)
            yk = _expand_reduced(y, xv.shape, axis, keepdims)
            return (vjp(g, xv, yk, axis),)

        return _record_op(tape, y, (x,), node_vjp)

    op.__name__ = op.__qualname__ = name
    op.__doc__ = doc
    return op


def _count(x, axis):
    return int(np.prod([x.shape[a] for a in _norm_axes(axis, x.ndim)], dtype=np.int64))


sum = _reduction("sum", lambda x, axis, k: np.sum(x, axis=axis, keepdims=k),
                 lambda g, x, y, axis: np.broadcast_to(g, x.shape), "Sum over `axis`.")
mean = _reduction("mean", lambda x, axis, k: np.mean(x, axis=axis, keepdims=k),
                  lambda g, x, y, axis: np.broadcast_to(g / _count(x, axis), x.shape),
                  "Mean over `axis`.")


def _chooser_vjp(g, x, y, axis):
    hit = x == y
    return np.where(hit, g / np.sum(hit, axis=axis, keepdims=True), 0)


max = _reduction("max", lambda x, axis, k: np.max(x, axis=axis, keepdims=k), _chooser_vjp,
                 "Maximum over `axis` (ties share the gradient equally).")
min = _reduction("min", lambda x, axis, k: np.min(x, axis=axis, keepdims=k), _chooser_vjp,
                 "Minimum over `axis` (ties share the gradient equally).")
amax, amin = max, min


def _var_vjp(g, x, y, axis):
    n = _count(x, axis)
    return g * (2.0 / n) * (x - np.mean(x, axis=axis, keepdims=True))


def _std_vjp(g, x, y, axis):
    n = _count(x, axis)
    return g * (x - np.mean(x, axis=axis, keepdims=True)) / (n * y)


var = _reduction("var", lambda x, axis, k: np.var(x, axis=axis, keepdims=k), _var_vjp,
                 "Population variance (ddof=0) over `axis`.")
std = _reduction("std", lambda x, axis, k: np.std(x, axis=axis, keepdims=k), _std_vjp,
                 "Population standard deviation (ddof=0) over `axis`.")


def _prod_vjp(g, x, y, axis):
    # d prod / d x_i = product of the others: exclusive cumulative products from both sides
    # (exact with zeros).
    axes = _norm_axes(axis, x.ndim)
    keep = [i for i in range(x.ndim) if i not in axes]
    perm = keep + list(axes)
    xt = np.transpose(x, perm)
    lead = xt.shape[:len(keep)]
    flat = xt.reshape(lead + (-1,))
    ones = np.ones(lead + (1,), dtype=x.dtype)
    left = np.cumprod(np.concatenate([ones, flat[..., :-1]], axis=-1), axis=-1)
    right = np.cumprod(np.concatenate([ones, flat[..., :0:-1]], axis=-1), axis=-1)[..., ::-1]
    others = np.transpose((left * right).reshape(xt.shape), np.argsort(perm))
    return g * others


prod = _reduction("prod", lambda x, axis, k: np.prod(x, axis=axis, keepdims=k), _prod_vjp,
                  "Product over `axis`.")


def _logsumexp_forward(x, axis, keepdims):
    m = np.max(x, axis=axis, keepdims=True)
    m = np.where(np.isfinite(m), m, 0)
    y = np.log(np.sum(np.exp(x - m), axis=axis, keepdims=True)) + m
    if not keepdims:
        y = np.squeeze(y, axis=_norm_axes(axis, x.ndim)) if x.ndim else y
    return y


logsumexp = _reduction("logsumexp", _logsumexp_forward,
                       lambda g, x, y, axis: g * np.exp(x - y),
                       "log(sum(exp(x))) over `axis`, computed stably.")


def norm(x, ord=None, axis=None, keepdims=False):
    """np.linalg.norm. Differentiable for vector norms (any `ord`) and the Frobenius norm."""
    xv = unwrap(x)
    y = np.linalg.norm(xv, ord=ord, axis=_axis_arg(axis), keepdims=keepdims)
    tape = _state.tape
    if tape is None:
        return y if type(y) is np.ndarray else np.asarray(y)
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
    """Cumulative sum along `axis` (over the flattened array when None)."""
    xv = unwrap(x)
    y = np.cumsum(xv, axis=axis, dtype=dtype)
    tape = _state.tape
    if tape is None:
        return y if type(y) is np.ndarray else np.asarray(y)

    def vjp(g, need):
        if axis is None:
            return (np.cumsum(g[::-1])[::-1].reshape(xv.shape),)
        return (np.flip(np.cumsum(np.flip(g, axis), axis=axis), axis),)

    return _record_op(tape, y, (x,), vjp)


# ------------------------------------------------------------------------------------------------
# Shapes
# ------------------------------------------------------------------------------------------------

def _reshaping(name, forward, doc):
    """Ops that only rearrange/re-view elements one-to-one: the gradient is reshaped back."""

    def op(x, *args, **kwargs):
        xv = unwrap(x)
        y = forward(xv, *args, **kwargs)
        tape = _state.tape
        if tape is None:
            return y if type(y) is np.ndarray else np.asarray(y)
        return _record_op(tape, y, (x,), lambda g, need: (np.reshape(g, xv.shape),))

    op.__name__ = op.__qualname__ = name
    op.__doc__ = doc
    return op


def _reshape_forward(x, newshape):
    if isinstance(newshape, int):
        newshape = (newshape,)
    return np.reshape(x, tuple(-1 if d is None else int(d) for d in newshape))


reshape = _reshaping("reshape", _reshape_forward,
                     "reshape(x, newshape); None in newshape means -1 (Keras).")
expand_dims = _reshaping("expand_dims", lambda x, axis: np.expand_dims(
    x, tuple(axis) if isinstance(axis, list) else axis), "np.expand_dims (axis may be a tuple).")
squeeze = _reshaping("squeeze", lambda x, axis=None: np.squeeze(x, axis=_axis_arg(axis)),
                     "np.squeeze.")
ravel = _reshaping("ravel", np.ravel, "np.ravel (flatten).")


def transpose(x, axes=None):
    """np.transpose."""
    xv = unwrap(x)
    y = np.transpose(xv, axes)
    tape = _state.tape
    if tape is None:
        return y
    if axes is None:
        return _record_op(tape, y, (x,), lambda g, need: (np.transpose(g),))
    inverse = np.argsort([int(a) % xv.ndim for a in axes])
    return _record_op(tape, y, (x,), lambda g, need: (np.transpose(g, inverse),))


def swapaxes(x, axis1, axis2):
    nd = np.ndim(unwrap(x))
    axes = list(range(nd))
    a1, a2 = int(axis1) % nd, int(axis2) % nd
    axes[a1], axes[a2] = axes[a2], axes[a1]
    return transpose(x, axes)


def moveaxis(x, source, destination):
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
    """np.broadcast_to (a read-only view, like NumPy)."""
    xv = unwrap(x)
    y = np.broadcast_to(xv, tuple(shape))
    tape = _state.tape
    if tape is None:
        return y
    return _record_op(tape, y, (x,), lambda g, need: (g,))


def flip(x, axis=None):
    xv = unwrap(x)
    axis = _axis_arg(axis)
    y = np.flip(xv, axis)
    tape = _state.tape
    if tape is None:
        return y
    return _record_op(tape, y, (x,), lambda g, need: (np.flip(g, axis),))


def concatenate(xs, axis=0):
    """np.concatenate of a sequence of arrays/tensors."""
    xs = list(xs)
    vals = [unwrap(v) for v in xs]
    y = np.concatenate(vals, axis=axis)
    tape = _state.tape
    if tape is None:
        return y
    if axis is None:
        sizes = np.cumsum([v.size for v in vals])[:-1]
        return _record_op(tape, y, xs, lambda g, need: tuple(
            p.reshape(v.shape) for p, v in zip(np.split(g, sizes), vals)))
    ax = axis % y.ndim
    cuts = np.cumsum([v.shape[ax] for v in vals])[:-1]
    return _record_op(tape, y, xs, lambda g, need: tuple(np.split(g, cuts, axis=ax)))


def stack(x, axis=0):
    """np.stack of a sequence of arrays/tensors."""
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
    """The list of slices of `x` along `axis`."""
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
    """np.split (a list)."""
    xv = unwrap(x)
    ys = np.split(xv, indices_or_sections, axis=axis)
    tape = _state.tape
    if tape is None:
        return ys
    return _record_multi(tape, ys, (x,),
                         lambda gs, need: (np.concatenate(gs, axis=axis),))


def array_split(x, indices_or_sections, axis=0):
    xv = unwrap(x)
    ys = np.array_split(xv, indices_or_sections, axis=axis)
    tape = _state.tape
    if tape is None:
        return ys
    return _record_multi(tape, ys, (x,),
                         lambda gs, need: (np.concatenate(gs, axis=axis),))


def tile(x, repeats):
    """np.tile."""
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
    """np.repeat."""
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
    """np.pad. Differentiable for the constant, edge, reflect, symmetric and wrap modes."""
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
    """x[key]: basic and advanced indexing (repeated indices accumulate their gradients)."""
    xv = unwrap(x)
    key = _unwrap_key(key)
    y = xv[key]
    tape = _state.tape
    if tape is None:
        return y if type(y) is np.ndarray else np.asarray(y)
    basic = _basic_key(key)

    def vjp(g, need):
        z = np.zeros(xv.shape, dtype=g.dtype)
        if basic:
            z[key] = g
        else:
            np.add.at(z, key, g)
        return (z,)

    return _record_op(tape, y, (x,), vjp)


def slice(x, start_indices, shape):
    """x[start:start+shape] along every axis (keras.ops.slice)."""
    key = tuple(builtins.slice(int(s), int(s) + int(n)) for s, n in zip(start_indices, shape))
    return get_item(x, key)


def take(x, indices, axis=None):
    """np.take (repeated indices accumulate their gradients)."""
    xv = unwrap(x)
    idx = np.asarray(unwrap(indices))
    y = np.take(xv, idx, axis=axis)
    tape = _state.tape
    if tape is None:
        return y if type(y) is np.ndarray else np.asarray(y)

    def vjp(g, need):
        z = np.zeros(xv.shape, dtype=g.dtype)
        if axis is None:
            np.add.at(z.reshape(-1), idx, g)
        else:
            np.add.at(z, (builtins.slice(None),) * (axis % xv.ndim) + (idx,), g)
        return (z,)

    return _record_op(tape, y, (x,), vjp)


def take_along_axis(x, indices, axis=None):
    """np.take_along_axis (repeated indices accumulate their gradients)."""
    xv = unwrap(x)
    idx = np.asarray(unwrap(indices))
    y = np.take_along_axis(xv, idx, axis=axis)
    tape = _state.tape
    if tape is None:
        return y

    def vjp(g, need):
        if axis is None:
            z = np.zeros(xv.size, dtype=g.dtype)
            np.add.at(z, idx, g)
            return (z.reshape(xv.shape),)
        ax = axis % xv.ndim
        full = list(y.shape)
        full[ax] = xv.shape[ax]
        z = np.zeros(full, dtype=g.dtype)
        fancy = []
        for d in range(y.ndim):
            if d == ax:
                fancy.append(np.broadcast_to(idx, y.shape))
            else:
                shp = [1] * y.ndim
                shp[d] = y.shape[d]
                fancy.append(np.arange(y.shape[d]).reshape(shp))
        np.add.at(z, tuple(fancy), g)
        return (z,)      # summed back over axes where x was broadcast

    return _record_op(tape, y, (x,), vjp)


def where(condition, x1=None, x2=None):
    """np.where(condition, x1, x2); with only `condition`, the indices where it is true."""
    cond = unwrap(condition)
    if x1 is None and x2 is None:
        return np.nonzero(cond)
    if x1 is None or x2 is None:
        raise ValueError("where: x1 and x2 must be given together")
    a, b = unwrap(x1), unwrap(x2)
    y = np.where(cond, a, b)
    tape = _state.tape
    if tape is None:
        return y
    return _record_op(tape, y, (condition, x1, x2), lambda g, need: (
        None,
        np.where(cond, g, 0) if need[1] else None,
        np.where(cond, 0, g) if need[2] else None))


def select(condlist, choicelist, default=0):
    """np.select, written with where (differentiable in the choices)."""
    out = default
    for cond, choice in reversed(list(zip(condlist, choicelist))):
        out = where(cond, choice, out)
    return out


def append(x1, x2, axis=None):
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
    return np.zeros(_shape_arg(shape), dtype=dtype or _FLOATX)


def ones(shape, dtype=None):
    return np.ones(_shape_arg(shape), dtype=dtype or _FLOATX)


def full(shape, fill_value, dtype=None):
    return np.full(_shape_arg(shape), unwrap(fill_value), dtype=dtype or _FLOATX)


def zeros_like(x, dtype=None):
    return np.zeros_like(unwrap(x), dtype=dtype)


def ones_like(x, dtype=None):
    return np.ones_like(unwrap(x), dtype=dtype)


def full_like(x, fill_value, dtype=None):
    return np.full_like(unwrap(x), unwrap(fill_value), dtype=dtype)


def empty(shape, dtype=None):
    return np.empty(_shape_arg(shape), dtype=dtype or _FLOATX)


def eye(N, M=None, k=0, dtype=None):
    return np.eye(N, M, k=k, dtype=dtype or _FLOATX)


def identity(n, dtype=None):
    return np.identity(n, dtype=dtype or _FLOATX)


def tri(N, M=None, k=0, dtype=None):
    return np.tri(N, M, k=k, dtype=dtype or _FLOATX)


def _is_floatlike(v):
    return isinstance(v, (float, np.floating)) or (
        isinstance(v, np.ndarray) and v.dtype.kind == "f")


def arange(start, stop=None, step=1, dtype=None):
    """np.arange; without a dtype, int32 for integer arguments and float32 otherwise (Keras)."""
    start, stop, step = unwrap(start), unwrap(stop), unwrap(step)
    if dtype is None:
        dtype = _FLOATX if _any(_is_floatlike(v) for v in (start, stop, step)) else "int32"
    if stop is None:
        return np.arange(start, step=step, dtype=dtype)
    return np.arange(start, stop, step, dtype=dtype)


def linspace(start, stop, num=50, endpoint=True, retstep=False, dtype=None, axis=0):
    """np.linspace; float32 unless a dtype is given."""
    return np.linspace(unwrap(start), unwrap(stop), num, endpoint=endpoint, retstep=retstep,
                       dtype=dtype or _FLOATX, axis=axis)


def tril(x, k=0):
    xv = unwrap(x)
    mask = np.tri(*xv.shape[-2:], k=k, dtype=bool)
    return where(mask, x, np.zeros((), dtype=xv.dtype))


def triu(x, k=0):
    xv = unwrap(x)
    mask = np.tri(*xv.shape[-2:], k=k - 1, dtype=bool)
    return where(mask, np.zeros((), dtype=xv.dtype), x)
