"""More of `keras.ops.numpy` (imported into `rnnkit.ops.numpy`): inverse trigonometric and
other elementwise functions, NaN-aware reductions, quantiles, sorting and searching, diagonals,
stacking and splitting helpers, window functions, bitwise ops.

Float-valued functions of integer or boolean inputs return `floatx()` (float32 by default) as
Keras does, where NumPy would give float64; float inputs keep their dtype.
"""

from __future__ import annotations

import math

from rnnkit.ops import numpy as _n
from rnnkit.ops._base import (_arr, _expand_reduced, _nondiff, _norm_axes, _op_doc, _record_op,
                              _state, _unary, builtins, np, unwrap)
from rnnkit.ops._base import _as_array

_binary = _n._binary
_reduction = _n._reduction
_axis_arg = _n._axis_arg


def _floatx():
    from rnnkit import config
    return config.floatx()


def _as_float(x):
    """`x` as an array; integer and boolean arrays converted to floatx."""
    x = _as_array(x)
    return x.astype(_floatx()) if x.dtype.kind in "biu" else x


def _float_unary(name, forward, derivative, doc):
    """A `_unary` op whose integer inputs are converted to floatx first."""
    return _unary(name, lambda x: forward(_as_float(x)), derivative, doc)


def _float_binary(name, forward, vjp, doc):
    def fwd(a, b):
        a, b = _as_array(a), _as_array(b)
        if a.dtype.kind in "biu" and b.dtype.kind in "biu":
            a = a.astype(_floatx())
        return forward(a, b)
    return _binary(name, fwd, vjp, doc)


def _doc(summary, args=("x",), returns="An array of the shape of `x` (not differentiable).",
         details=None):
    return _op_doc(summary, args=args, returns=returns, details=details)


# ------------------------------------------------------------------------------------------------
# Elementwise functions
# ------------------------------------------------------------------------------------------------

arccos = _float_unary("arccos", np.arccos, lambda g, x, y: -g / np.sqrt(1 - x * x),
                      "Inverse cosine, elementwise, in `[0, pi]` (NaN outside `[-1, 1]`).")
arcsin = _float_unary("arcsin", np.arcsin, lambda g, x, y: g / np.sqrt(1 - x * x),
                      "Inverse sine, elementwise, in `[-pi/2, pi/2]`.")
arccosh = _float_unary("arccosh", np.arccosh, lambda g, x, y: g / np.sqrt(x * x - 1),
                       "Inverse hyperbolic cosine, elementwise (NaN below 1).")
arcsinh = _float_unary("arcsinh", np.arcsinh, lambda g, x, y: g / np.sqrt(x * x + 1),
                       "Inverse hyperbolic sine, elementwise.")
arctanh = _float_unary("arctanh", np.arctanh, lambda g, x, y: g / (1 - x * x),
                       "Inverse hyperbolic tangent, elementwise (infinite at +-1).")
cbrt = _float_unary("cbrt", np.cbrt, lambda g, x, y: g / (3 * y * y),
                    "Cube root, elementwise (real for negative inputs).")
deg2rad = _float_unary("deg2rad", np.deg2rad, lambda g, x, y: g * (math.pi / 180),
                       "Converts angles from degrees to radians.")
rad2deg = _float_unary("rad2deg", np.rad2deg, lambda g, x, y: g * (180 / math.pi),
                       "Converts angles from radians to degrees.")
fabs = _float_unary("fabs", np.fabs, lambda g, x, y: g * np.sign(x),
                    "Absolute value, elementwise, as a float array.")


def _sinc_derivative(g, x, y):
    px = np.pi * x
    safe = np.where(x == 0, 1, x)
    return g * np.where(x == 0, 0, (np.cos(px) - y) / safe)


sinc = _float_unary("sinc", np.sinc, _sinc_derivative,
                    "Normalized sinc, elementwise: `sin(pi x) / (pi x)`, 1 at 0.")


def _i0(x):
    try:
        from scipy.special import i0 as scipy_i0
        return _arr(scipy_i0(x)).astype(x.dtype)
    except ImportError:          # pragma: no cover - scipy is optional
        return np.i0(x).astype(x.dtype)


def _i1(x):
    try:
        from scipy.special import i1 as scipy_i1
        return scipy_i1(x).astype(x.dtype)
    except ImportError:          # pragma: no cover - series for I1
        x64 = np.asarray(x, np.float64)
        total = np.zeros_like(x64)
        term = x64 / 2
        for k in range(60):
            total = total + term
            term = term * (x64 / 2) ** 2 / ((k + 1) * (k + 2))
        return total.astype(x.dtype)


i0 = _float_unary("i0", _i0, lambda g, x, y: g * _i1(x),
                  "Modified Bessel function of the first kind, order 0, elementwise.")

trunc = _nondiff("trunc", np.trunc, _doc("Rounds towards zero, elementwise."))
signbit = _nondiff("signbit", np.signbit, _doc(
    "Tests whether the sign bit is set (negative numbers and -0.0), elementwise.",
    returns="A boolean array (not differentiable)."))
isneginf = _nondiff("isneginf", np.isneginf, _doc(
    "Tests for negative infinity, elementwise.", returns="A boolean array (not differentiable)."))
isposinf = _nondiff("isposinf", np.isposinf, _doc(
    "Tests for positive infinity, elementwise.", returns="A boolean array (not differentiable)."))
isreal = _nondiff("isreal", np.isreal, _doc(
    "Tests whether each element is real (imaginary part 0); true for real arrays.",
    returns="A boolean array (not differentiable)."))


def conjugate(x):
    """Complex conjugate, elementwise (`conj` is the same op). The identity on real arrays.

    Args:
        x: Input array.

    Returns:
        An array of the shape of `x` (differentiable for real inputs).
    """
    xv = unwrap(x)
    if np.iscomplexobj(xv):
        return _arr(np.conjugate(xv))
    return copy(x)


conj = conjugate


def real(x):
    """Real part, elementwise (the identity on real arrays).

    Args:
        x: Input array.

    Returns:
        A real array of the shape of `x` (differentiable for real inputs).
    """
    xv = unwrap(x)
    if np.iscomplexobj(xv):
        return _arr(np.real(xv))
    return copy(x)


imag = _nondiff("imag", lambda x: np.imag(x) if np.iscomplexobj(x) else np.zeros_like(x),
                _doc("Imaginary part, elementwise (zeros for real arrays)."))
angle = _nondiff("angle", lambda x: np.angle(_as_float(x)).astype(
    _as_float(x).dtype if not np.iscomplexobj(x) else np.real(x).dtype),
    _doc("Angle of the complex argument, elementwise (0 or pi for real numbers)."))


def copy(x):
    """Returns a copy of `x`.

    Args:
        x: Input array.

    Returns:
        A new array equal to `x` (differentiable).
    """
    xv = unwrap(x)
    y = np.array(xv, copy=True)
    tape = _state.tape
    if tape is None:
        return y
    return _record_op(tape, y, (x,), lambda g, need: (g,))


def array(x, dtype=None):
    """Creates an array from `x` (a list, number or array), like `convert_to_tensor`.

    Args:
        x: Array-like input.
        dtype: Optional dtype of the result.

    Returns:
        An `np.ndarray` (Python floats become floatx, Python ints int32, as in Keras).
    """
    from rnnkit.ops.core import convert_to_tensor
    return convert_to_tensor(x, dtype=dtype)


def view(x, dtype=None):
    """Reinterprets the bytes of `x` as `dtype` (NumPy's `view`).

    Args:
        x: Input array.
        dtype: The new dtype; `None` keeps `x`'s.

    Returns:
        An array sharing `x`'s bytes (not differentiable). Its last axis is rescaled when the
        item sizes differ.
    """
    xv = _as_array(unwrap(x))
    return xv.view(dtype) if dtype is not None else xv.view()


def empty_like(x, dtype=None):
    """Returns an uninitialized array with the shape and dtype of `x`.

    Args:
        x: Input array.
        dtype: Optional dtype overriding `x`'s.

    Returns:
        An array with arbitrary contents (never tracked).
    """
    return np.empty_like(unwrap(x), dtype=dtype)


def nan_to_num(x, nan=0.0, posinf=None, neginf=None):
    """Replaces NaN by `nan` and infinities by `posinf`/`neginf` (by default the largest
    finite values of the dtype).

    Args:
        x: Input array.
        nan: The value for NaN. Defaults to 0.
        posinf: The value for +inf; `None` gives the dtype's largest finite value.
        neginf: The value for -inf; `None` gives the dtype's most negative finite value.

    Returns:
        An array of the shape and dtype of `x` (differentiable: the gradient flows where `x`
        was finite).
    """
    xv = unwrap(x)
    y = np.nan_to_num(_as_array(xv), nan=nan, posinf=posinf, neginf=neginf)
    tape = _state.tape
    if tape is None:
        return _arr(y)
    return _record_op(tape, y, (x,), lambda g, need: (np.where(np.isfinite(xv), g, 0),))


# ------------------------------------------------------------------------------------------------
# Binary elementwise functions
# ------------------------------------------------------------------------------------------------

def _arctan2_vjp(g, a, b, y, need):
    d = a * a + b * b
    d = np.where(d == 0, 1, d)
    return (g * b / d if need[0] else None, -g * a / d if need[1] else None)


arctan2 = _float_binary("arctan2", np.arctan2, _arctan2_vjp,
                        "Elementwise arc tangent of `x1 / x2`, choosing the quadrant by the "
                        "signs of both (in `[-pi, pi]`).")


def _hypot_vjp(g, a, b, y, need):
    s = np.where(y == 0, 1, y)
    return (g * a / s if need[0] else None, g * b / s if need[1] else None)


hypot = _float_binary("hypot", np.hypot, _hypot_vjp,
                      "Elementwise `sqrt(x1**2 + x2**2)`, without intermediate overflow.")
logaddexp = _float_binary("logaddexp", np.logaddexp,
                          lambda g, a, b, y, need: (g * np.exp(a - y) if need[0] else None,
                                                    g * np.exp(b - y) if need[1] else None),
                          "Elementwise `log(exp(x1) + exp(x2))`, computed stably.")
logaddexp2 = _float_binary("logaddexp2", np.logaddexp2,
                           lambda g, a, b, y, need: (g * np.exp2(a - y) if need[0] else None,
                                                     g * np.exp2(b - y) if need[1] else None),
                           "Elementwise `log2(2**x1 + 2**x2)`, computed stably.")


def _fmaxmin_vjp(pick_first):
    def vjp(g, a, b, y, need):
        first = pick_first(a, b)
        return (np.where(first, g, 0) if need[0] else None,
                np.where(first, 0, g) if need[1] else None)
    return vjp


fmax = _binary("fmax", np.fmax, _fmaxmin_vjp(lambda a, b: (a > b) | np.isnan(b)),
               "Elementwise maximum that ignores NaN (NaN only where both are NaN).\n\n"
               "Where the inputs are equal, the gradient goes to `x2` (as in Keras on JAX).")
fmin = _binary("fmin", np.fmin, _fmaxmin_vjp(lambda a, b: (a < b) | np.isnan(b)),
               "Elementwise minimum that ignores NaN (NaN only where both are NaN).\n\n"
               "Where the inputs are equal, the gradient goes to `x2` (as in Keras on JAX).")
fmod = _binary("fmod", np.fmod,
               lambda g, a, b, y, need: (g if need[0] else None,
                                         -g * np.trunc(a / b) if need[1] else None),
               "Elementwise remainder of `x1 / x2` with the sign of `x1` (C's `fmod`).")


def _divide_no_nan_forward(a, b):
    a, b = _as_array(a), _as_array(b)
    if a.dtype.kind in "biu" and b.dtype.kind in "biu":
        a = a.astype(_floatx())
    safe = np.where(b == 0, 1, b)
    return np.where(b == 0, 0, a / safe).astype(np.result_type(a, b, np.float16))


def _divide_no_nan_vjp(g, a, b, y, need):
    zero = b == 0
    safe = np.where(zero, 1, b)
    return (np.where(zero, 0, g / safe) if need[0] else None,
            np.where(zero, 0, -g * y / safe) if need[1] else None)


divide_no_nan = _binary("divide_no_nan", _divide_no_nan_forward, _divide_no_nan_vjp,
                        "Elementwise `x1 / x2`, with 0 wherever `x2` is 0.")
ldexp = _binary("ldexp", lambda a, b: np.ldexp(_as_float(a), _as_array(b).astype(np.int32)),
                lambda g, a, b, y, need: (g * np.exp2(b) if need[0] else None, None),
                "Elementwise `x1 * 2**x2` (`x2` integer).")


def _nondiff2(name, fn, summary, returns="An array of the broadcast shape (not "
              "differentiable)."):
    return _nondiff(name, fn, _op_doc(summary, args=("x1", "x2"), returns=returns),
                    ("x1", "x2"))


heaviside = _nondiff2("heaviside", lambda a, b: np.heaviside(_as_float(a), b),
                      "Heaviside step: 0 where `x1 < 0`, 1 where `x1 > 0`, `x2` where "
                      "`x1 == 0`.")
nextafter = _nondiff2("nextafter", lambda a, b: np.nextafter(_as_float(a), _as_float(b)),
                      "The next representable float after `x1` towards `x2`, elementwise.")
gcd = _nondiff2("gcd", np.gcd, "Greatest common divisor of integer inputs, elementwise.")
lcm = _nondiff2("lcm", np.lcm, "Least common multiple of integer inputs, elementwise.")


def _bitwise(name, fn, summary):
    op = _nondiff(name, fn, _op_doc(summary, args=(("x", "Integer or boolean array."),
                                                   ("y", "Integer or boolean array, broadcast "
                                                         "against `x`.")),
                                    returns="An array of the broadcast shape (not "
                                            "differentiable)."), ("x", "y"))
    return op


bitwise_and = _bitwise("bitwise_and", np.bitwise_and, "Bitwise AND of `x` and `y`.")
bitwise_or = _bitwise("bitwise_or", np.bitwise_or, "Bitwise OR of `x` and `y`.")
bitwise_xor = _bitwise("bitwise_xor", np.bitwise_xor, "Bitwise XOR of `x` and `y`.")
bitwise_left_shift = _bitwise("bitwise_left_shift", np.left_shift,
                              "Shifts the bits of `x` left by `y`.")
bitwise_right_shift = _bitwise("bitwise_right_shift", np.right_shift,
                               "Shifts the bits of `x` right by `y`.")
left_shift = _bitwise("left_shift", np.left_shift, "Shifts the bits of `x` left by `y`.")
right_shift = _bitwise("right_shift", np.right_shift, "Shifts the bits of `x` right by `y`.")
bitwise_invert = _nondiff("bitwise_invert", np.invert, _op_doc(
    "Bitwise NOT of an integer or boolean array (`bitwise_not` is the same op).",
    returns="An array of the shape of `x` (not differentiable)."))
bitwise_not = _nondiff("bitwise_not", np.invert, bitwise_invert.__doc__)


def isclose(x1, x2, rtol=1e-5, atol=1e-8, equal_nan=False):
    """Tests elementwise whether `|x1 - x2| <= atol + rtol * |x2|`.

    Args:
        x1: First input.
        x2: Second input.
        rtol: Relative tolerance. Defaults to 1e-5.
        atol: Absolute tolerance. Defaults to 1e-8.
        equal_nan: Bool, whether two NaNs count as close. Defaults to False.

    Returns:
        A boolean array of the broadcast shape (not differentiable).
    """
    return _arr(np.isclose(unwrap(x1), unwrap(x2), rtol=rtol, atol=atol, equal_nan=equal_nan))


def allclose(x1, x2, rtol=1e-5, atol=1e-8, equal_nan=False):
    """Returns whether every element of `x1` is close to `x2` (see `isclose`).

    Args:
        x1: First input.
        x2: Second input.
        rtol: Relative tolerance. Defaults to 1e-5.
        atol: Absolute tolerance. Defaults to 1e-8.
        equal_nan: Bool, whether two NaNs count as close. Defaults to False.

    Returns:
        A 0-d boolean array (not differentiable).
    """
    return _arr(np.all(isclose(x1, x2, rtol, atol, equal_nan)))


def isin(x1, x2, assume_unique=False, invert=False):
    """Tests whether each element of `x1` is in `x2`.

    Args:
        x1: Input array.
        x2: The values to look for (flattened).
        assume_unique: Bool, both inputs hold unique values (a speed hint).
        invert: Bool, return the opposite test. Defaults to False.

    Returns:
        A boolean array of the shape of `x1` (not differentiable).
    """
    return _arr(np.isin(unwrap(x1), unwrap(x2), assume_unique=assume_unique, invert=invert))


# ------------------------------------------------------------------------------------------------
# Products
# ------------------------------------------------------------------------------------------------

def vdot(x1, x2):
    """Dot product of the flattened inputs (`sum(x1 * x2)`; `x1` conjugated if complex).

    Args:
        x1: First input.
        x2: Second input of the same size.

    Returns:
        A 0-d array (differentiable).
    """
    return _n.sum(_n.multiply(conjugate(_n.ravel(x1)), _n.ravel(x2)))


def kron(x1, x2):
    """Kronecker product: blocks `x1[i, j] * x2` (NumPy's `kron`).

    Args:
        x1: First input.
        x2: Second input.

    Returns:
        The product, of shape `x1.shape * x2.shape` per axis (differentiable).
    """
    a, b = unwrap(x1), unwrap(x2)
    nd = builtins.max(a.ndim, b.ndim)
    x1 = _n.reshape(x1, (1,) * (nd - a.ndim) + a.shape)
    x2 = _n.reshape(x2, (1,) * (nd - b.ndim) + b.shape)
    sa, sb = (1,) * (nd - a.ndim) + a.shape, (1,) * (nd - b.ndim) + b.shape
    # Interleave: x1 axes at even positions, x2 axes at odd positions.
    ea = _n.reshape(x1, tuple(v for s in sa for v in (s, 1)))
    eb = _n.reshape(x2, tuple(v for s in sb for v in (1, s)))
    return _n.reshape(_n.multiply(ea, eb), tuple(p * q for p, q in zip(sa, sb)))


def cross(x1, x2, axisa=-1, axisb=-1, axisc=-1, axis=None):
    """Cross product of 3-vectors (or 2-vectors, giving the z component) along an axis.

    Args:
        x1: First input; its vector axis has size 2 or 3.
        x2: Second input; its vector axis has size 2 or 3.
        axisa: The vector axis of `x1`. Defaults to -1.
        axisb: The vector axis of `x2`. Defaults to -1.
        axisc: The vector axis of the result. Defaults to -1.
        axis: If given, overrides `axisa`, `axisb` and `axisc`.

    Returns:
        The cross products (differentiable).
    """
    if axis is not None:
        axisa = axisb = axisc = axis
    a = _n.moveaxis(x1, axisa, -1)
    b = _n.moveaxis(x2, axisb, -1)
    na, nb = unwrap(a).shape[-1], unwrap(b).shape[-1]
    if na not in (2, 3) or nb not in (2, 3):
        raise ValueError(f"cross: incompatible dimensions for cross product (dimension must "
                         f"be 2 or 3), got {na} and {nb}")
    ax = [a[..., i] for i in range(na)] + ([0.0] if na == 2 else [])
    bx = [b[..., i] for i in range(nb)] + ([0.0] if nb == 2 else [])
    mul, sub = _n.multiply, _n.subtract
    z = sub(mul(ax[0], bx[1]), mul(ax[1], bx[0]))
    if na == 2 and nb == 2:
        return z
    x = sub(mul(ax[1], bx[2]), mul(ax[2], bx[1]))
    y = sub(mul(ax[2], bx[0]), mul(ax[0], bx[2]))
    return _n.moveaxis(_n.stack(_broadcast_arrays_like([x, y, z]), axis=-1), -1, axisc)


def _broadcast_arrays_like(arrays):
    shape = np.broadcast_shapes(*[np.shape(unwrap(v)) for v in arrays])
    return [_n.broadcast_to(v, shape) for v in arrays]


def correlate(x1, x2, mode="valid"):
    """Cross-correlation of two 1-D arrays (NumPy's `correlate`, no conjugation).

    Args:
        x1: First 1-D input.
        x2: Second 1-D input.
        mode: `"valid"` (the default), `"same"` or `"full"`, as in NumPy.

    Returns:
        A 1-D array (differentiable in both inputs).

    Raises:
        ValueError: If an input is not 1-D or `mode` is unknown.
    """
    a, v = _as_array(unwrap(x1)), _as_array(unwrap(x2))
    if a.ndim != 1 or v.ndim != 1:
        raise ValueError(f"correlate: x1 and x2 must be 1-D, got shapes {a.shape} and "
                         f"{v.shape}")
    if mode not in ("valid", "same", "full"):
        raise ValueError(f"correlate: mode must be 'valid', 'same' or 'full', got {mode!r}")
    if a.dtype.kind in "biu" and v.dtype.kind in "biu":
        a, v = a.astype(_floatx()), v.astype(_floatx())
    m, n = a.size, v.size
    # full[k] = sum_j a[j + k - (n - 1)] * v[j]
    ks, js = np.meshgrid(np.arange(m + n - 1), np.arange(n), indexing="ij")
    ii = js + ks - (n - 1)
    ok = (ii >= 0) & (ii < m)
    k_idx, j_idx, i_idx = ks[ok], js[ok], ii[ok]
    lo, hi = builtins.min(m, n), builtins.max(m, n)
    if mode == "full":
        start, length = 0, m + n - 1
    elif mode == "valid":
        start, length = lo - 1, hi - lo + 1
    else:
        start, length = (lo - 1) // 2 if m >= n else lo // 2, hi
    full = np.zeros(m + n - 1, dtype=np.result_type(a, v))
    np.add.at(full, k_idx, a[i_idx] * v[j_idx])
    y = full[start:start + length]
    tape = _state.tape
    if tape is None:
        return y

    def vjp(g, need):
        gf = np.zeros(m + n - 1, dtype=g.dtype)
        gf[start:start + length] = g
        ga = gv = None
        if need[0]:
            ga = np.zeros(m, dtype=g.dtype)
            np.add.at(ga, i_idx, gf[k_idx] * v[j_idx])
        if need[1]:
            gv = np.zeros(n, dtype=g.dtype)
            np.add.at(gv, j_idx, gf[k_idx] * a[i_idx])
        return ga, gv

    return _record_op(tape, y, (x1, x2), vjp)


# ------------------------------------------------------------------------------------------------
# Sorting, searching, counting
# ------------------------------------------------------------------------------------------------

def sort(x, axis=-1):
    """Sorts `x` along an axis (ascending; NaN last).

    Args:
        x: Input array.
        axis: Int, or `None` to sort the flattened array. Defaults to -1.

    Returns:
        The sorted array (differentiable: each gradient goes back to its element).
    """
    if axis is None:
        x = _n.reshape(x, (-1,))
        axis = 0
    idx = np.argsort(unwrap(x), axis=axis, kind="stable")
    return _n.take_along_axis(x, idx, axis=axis)


def argpartition(x, kth, axis=-1):
    """Indices that partition `x` around its `kth` element along an axis (NumPy's
    `argpartition`): smaller elements first, then the `kth`, then larger ones.

    Args:
        x: Input array.
        kth: Int, the element index to partition by.
        axis: Int. Defaults to -1.

    Returns:
        An integer array of the shape of `x` (not differentiable).
    """
    return _arr(np.argpartition(unwrap(x), kth, axis=axis).astype("int32"))


def searchsorted(sorted_sequence, values, side="left"):
    """Indices where `values` would be inserted into a sorted 1-D sequence to keep it sorted.

    Args:
        sorted_sequence: 1-D array sorted in ascending order.
        values: Array of values to insert.
        side: `"left"` (the first suitable index, the default) or `"right"` (the last).

    Returns:
        An int32 array of the shape of `values` (not differentiable).

    Raises:
        ValueError: If `sorted_sequence` is not 1-D or `side` is unknown.
    """
    s = _as_array(unwrap(sorted_sequence))
    if s.ndim != 1:
        raise ValueError(f"searchsorted: sorted_sequence must be 1-D, got shape {s.shape}")
    if side not in ("left", "right"):
        raise ValueError(f"searchsorted: side must be 'left' or 'right', got {side!r}")
    return _arr(np.searchsorted(s, unwrap(values), side=side).astype("int32"))


def digitize(x, bins):
    """Returns the index of the bin of each value of `x` (NumPy's `digitize`, `right=False`).

    Args:
        x: Input array.
        bins: 1-D monotonic array of bin edges.

    Returns:
        An int32 array of the shape of `x` (not differentiable).
    """
    return _arr(np.digitize(unwrap(x), _as_array(unwrap(bins))).astype("int32"))


def bincount(x, weights=None, minlength=0, sparse=False):
    """Counts the occurrences of each non-negative integer in `x` (weighted if asked).

    A 2-D `x` counts each row separately, as in Keras.

    Args:
        x: 1-D or 2-D array of non-negative integers.
        weights: Optional array of the shape of `x`; the counts sum these instead of 1.
        minlength: Int, the minimum number of bins. Defaults to 0.
        sparse: Must be False (there are no sparse tensors).

    Returns:
        An array of counts (not differentiable): int32, or the dtype of `weights`.

    Raises:
        ValueError: If `x` has negative values, a rank other than 1 or 2, or `sparse` is set.
    """
    if sparse:
        raise ValueError("bincount: sparse=True is not supported (rnnkit has no sparse "
                         "tensors)")
    xv = _as_array(unwrap(x))
    w = None if weights is None else _as_array(unwrap(weights))
    if xv.size and xv.min() < 0:
        raise ValueError("bincount: x must hold non-negative integers")
    length = builtins.max(int(minlength), int(xv.max()) + 1 if xv.size else 0)
    dtype = "int32" if w is None else w.dtype
    if xv.ndim == 1:
        return np.bincount(xv, weights=w, minlength=length).astype(dtype)
    if xv.ndim == 2:
        return np.stack([np.bincount(row, weights=None if w is None else w[i],
                                     minlength=length) for i, row in enumerate(xv)]
                        ).astype(dtype).reshape(xv.shape[0], length)
    raise ValueError(f"bincount: x must be 1-D or 2-D, got shape {xv.shape}")


def count_nonzero(x, axis=None):
    """Counts the non-zero values of `x` along the given axes.

    Args:
        x: Input array.
        axis: Optional int or tuple of ints. `None` (the default) counts all.

    Returns:
        An int32 array (not differentiable).
    """
    return _arr(np.count_nonzero(unwrap(x), axis=_axis_arg(axis))).astype("int32")


def nonzero(x):
    """Returns the indices of the non-zero elements of `x`, one int32 array per axis.

    Args:
        x: Input array.

    Returns:
        A tuple of 1-D int32 arrays (not differentiable).
    """
    return tuple(i.astype("int32") for i in np.nonzero(unwrap(x)))


def unravel_index(indices, shape):
    """Converts flat indices into a tuple of coordinate arrays for an array of `shape`.

    Args:
        indices: Integer array of flat indices.
        shape: The array shape (tuple of ints).

    Returns:
        A tuple of arrays of the indices' integer dtype, one per axis (not differentiable).
    """
    idx = _as_array(unwrap(indices))
    dtype = idx.dtype if idx.dtype.kind in "iu" else np.dtype("int32")
    return tuple(_arr(i).astype(dtype) for i in np.unravel_index(idx, shape))


def histogram(x, bins=10, range=None):
    """Histogram of a 1-D array: the counts and the bin edges (NumPy's `histogram`).

    Args:
        x: 1-D input array.
        bins: Int, the number of equal-width bins. Defaults to 10.
        range: Optional pair `(low, high)`; defaults to the data's min and max.

    Returns:
        `(counts, bin_edges)`: the counts and the `bins + 1` edges, both float (of `x`'s
        float dtype, floatx for integers, as in Keras); not differentiable.

    Raises:
        ValueError: If `x` is not 1-D or `bins` is not a positive int.
    """
    xv = _as_array(unwrap(x))
    if xv.ndim != 1:
        raise ValueError(f"histogram: x must be 1-D, got shape {xv.shape}")
    if isinstance(bins, bool) or not isinstance(bins, (int, np.integer)) or bins < 1:
        raise ValueError(f"histogram: bins must be a positive int, got {bins!r}")
    counts, edges = np.histogram(xv, bins=int(bins), range=range)
    dtype = _as_float(xv).dtype
    return counts.astype(dtype), edges.astype(dtype)


def unique(x, sorted=True, return_index=False, return_inverse=False, return_counts=False,
           axis=None, size=None, fill_value=None):
    """The unique elements of `x` (NumPy's `unique`), optionally padded to `size`.

    Args:
        x: Input array.
        sorted: Bool; the result is always sorted (NumPy's order).
        return_index: Bool, also return the first index of each unique value (int32).
        return_inverse: Bool, also return the int32 indices rebuilding `x` from the result.
        return_counts: Bool, also return how often each value occurs (int32).
        axis: Optional int: unique slices along this axis instead of elements.
        size: Optional int: pad (with `fill_value`) or cut the unique values to this length,
            as Keras needs for static shapes.
        fill_value: The padding value with `size`; defaults to the smallest unique value.

    Returns:
        The unique values, or a tuple with the extra arrays asked for (not differentiable).
    """
    del sorted
    xv = _as_array(unwrap(x))
    res = np.unique(xv, return_index=return_index, return_inverse=return_inverse,
                    return_counts=return_counts, axis=axis)
    res = list(res) if isinstance(res, tuple) else [res]
    if size is not None:
        vals = res[0]
        n = vals.shape[0 if axis is None else axis]
        fill = (vals.min() if vals.size else 0) if fill_value is None else fill_value
        if n < size:
            pad = [(0, 0)] * vals.ndim
            pad[0 if axis is None else axis] = (0, size - n)
            res[0] = np.pad(vals, pad, constant_values=fill)
        else:
            res[0] = np.take(vals, np.arange(size), axis=0 if axis is None else axis)
        k = 1
        if return_index:
            res[k] = np.pad(res[k], (0, builtins.max(size - n, 0)))[:size]
            k += 1
        if return_inverse:
            k += 1
        if return_counts:
            res[k] = np.pad(res[k], (0, builtins.max(size - n, 0)))[:size]
    if return_inverse:
        k = 1 + int(return_index)
        res[k] = res[k].reshape(xv.shape if axis is None else (-1,))
    res = [res[0]] + [r.astype("int32") for r in res[1:]]
    return res[0] if len(res) == 1 else tuple(res)


# ------------------------------------------------------------------------------------------------
# Reductions
# ------------------------------------------------------------------------------------------------

def _nan_fill(x, value):
    return _n.where(_n.isnan(x), np.asarray(value, dtype=_as_float(unwrap(x)).dtype), x)


def nansum(x, axis=None, keepdims=False):
    """Sums `x` over the given axes, treating NaN as 0.

    Args:
        x: Input array.
        axis: Optional int or tuple of ints; `None` reduces all axes.
        keepdims: Bool, keep the reduced axes with size 1. Defaults to False.

    Returns:
        The sum (differentiable; NaN entries get no gradient).
    """
    return _n.sum(_nan_fill(x, 0), axis=axis, keepdims=keepdims)


def nanprod(x, axis=None, keepdims=False):
    """Multiplies the elements of `x` over the given axes, treating NaN as 1.

    Args:
        x: Input array.
        axis: Optional int or tuple of ints; `None` reduces all axes.
        keepdims: Bool, keep the reduced axes with size 1. Defaults to False.

    Returns:
        The product (differentiable).
    """
    return _n.prod(_nan_fill(x, 1), axis=axis, keepdims=keepdims)


def _nan_count(x, axis, keepdims):
    xv = unwrap(x)
    return np.sum(~np.isnan(xv), axis=_axis_arg(axis), keepdims=keepdims).astype(
        _as_float(xv).dtype)


def nanmean(x, axis=None, keepdims=False):
    """Averages `x` over the given axes, ignoring NaN (NaN where all are NaN).

    Args:
        x: Input array.
        axis: Optional int or tuple of ints; `None` reduces all axes.
        keepdims: Bool, keep the reduced axes with size 1. Defaults to False.

    Returns:
        The mean (differentiable).
    """
    with np.errstate(invalid="ignore", divide="ignore"):
        return _n.divide(nansum(x, axis, keepdims), _nan_count(x, axis, keepdims))


def nanvar(x, axis=None, keepdims=False):
    """Variance of `x` over the given axes (`ddof=0`), ignoring NaN.

    Args:
        x: Input array.
        axis: Optional int or tuple of ints; `None` reduces all axes.
        keepdims: Bool, keep the reduced axes with size 1. Defaults to False.

    Returns:
        The variance (differentiable).
    """
    with np.errstate(invalid="ignore", divide="ignore"):
        m = nanmean(x, axis, keepdims=True)
        nan = np.isnan(_as_array(unwrap(x)))
        # NaN entries are replaced before subtracting, so no NaN reaches the gradient
        d = _n.where(nan, np.zeros((), _as_array(unwrap(m)).dtype),
                     _n.subtract(_nan_fill(x, 0), m))
        return _n.divide(_n.sum(_n.square(d), axis=axis, keepdims=keepdims),
                         _nan_count(x, axis, keepdims))


def nanstd(x, axis=None, keepdims=False):
    """Standard deviation of `x` over the given axes (`ddof=0`), ignoring NaN.

    Args:
        x: Input array.
        axis: Optional int or tuple of ints; `None` reduces all axes.
        keepdims: Bool, keep the reduced axes with size 1. Defaults to False.

    Returns:
        The standard deviation (differentiable).
    """
    return _n.sqrt(nanvar(x, axis, keepdims))


def _nan_extreme(fn, fill, x, axis, keepdims):
    xv = unwrap(x)
    r = fn(_nan_fill(x, fill), axis=axis, keepdims=keepdims)
    allnan = np.all(np.isnan(xv), axis=_axis_arg(axis), keepdims=keepdims)
    if np.any(allnan):
        r = _n.where(allnan, np.asarray(np.nan, dtype=_as_float(xv).dtype), r)
    return r


def nanmax(x, axis=None, keepdims=False):
    """Maximum of `x` over the given axes, ignoring NaN (NaN where all are NaN).

    Args:
        x: Input array.
        axis: Optional int or tuple of ints; `None` reduces all axes.
        keepdims: Bool, keep the reduced axes with size 1. Defaults to False.

    Returns:
        The maximum (differentiable).
    """
    return _nan_extreme(_n.max, -np.inf, x, axis, keepdims)


def nanmin(x, axis=None, keepdims=False):
    """Minimum of `x` over the given axes, ignoring NaN (NaN where all are NaN).

    Args:
        x: Input array.
        axis: Optional int or tuple of ints; `None` reduces all axes.
        keepdims: Bool, keep the reduced axes with size 1. Defaults to False.

    Returns:
        The minimum (differentiable).
    """
    return _nan_extreme(_n.min, np.inf, x, axis, keepdims)


def nanargmax(x, axis=None, keepdims=False):
    """Indices of the maxima along an axis, ignoring NaN (-1 where all are NaN, as Keras).

    Args:
        x: Input array.
        axis: Optional int; `None` indexes the flattened array.
        keepdims: Bool, keep the reduced axis with size 1. Defaults to False.

    Returns:
        An int32 array (not differentiable).
    """
    xv = _as_float(unwrap(x))
    allnan = np.all(np.isnan(xv), axis=axis, keepdims=keepdims)
    r = np.argmax(np.where(np.isnan(xv), -np.inf, xv), axis=axis, keepdims=keepdims)
    return _arr(np.where(allnan, -1, r).astype("int32"))


def nanargmin(x, axis=None, keepdims=False):
    """Indices of the minima along an axis, ignoring NaN (-1 where all are NaN, as Keras).

    Args:
        x: Input array.
        axis: Optional int; `None` indexes the flattened array.
        keepdims: Bool, keep the reduced axis with size 1. Defaults to False.

    Returns:
        An int32 array (not differentiable).
    """
    xv = _as_float(unwrap(x))
    allnan = np.all(np.isnan(xv), axis=axis, keepdims=keepdims)
    r = np.argmin(np.where(np.isnan(xv), np.inf, xv), axis=axis, keepdims=keepdims)
    return _arr(np.where(allnan, -1, r).astype("int32"))


def cumprod(x, axis=None, dtype=None):
    """Cumulative product of the elements along an axis.

    Args:
        x: Input array.
        axis: Int, or `None` (the default) for the flattened array.
        dtype: Optional dtype of the result.

    Returns:
        An array of the shape of `x` (flat when `axis` is None), differentiable (exact with
        zeros).
    """
    xv = _as_array(unwrap(x))
    if axis is None:
        flat = _n.reshape(x, (-1,))
        return cumprod(flat, axis=0, dtype=dtype)
    y = np.cumprod(xv, axis=axis, dtype=dtype)
    tape = _state.tape
    if tape is None:
        return _arr(y)

    def vjp(g, need):
        ax = axis % xv.ndim
        xm = np.moveaxis(xv, ax, -1)
        gm = np.moveaxis(g, ax, -1)
        n = xm.shape[-1]
        out = np.zeros(xm.shape, dtype=g.dtype)
        # d y_k / d x_i = prod_{j <= k, j != i} x_j for k >= i.
        for i in range(n):
            others = xm.copy()
            others[..., i] = 1
            partial = np.cumprod(others, axis=-1)
            out[..., i] = np.sum(gm[..., i:] * partial[..., i:], axis=-1)
        return (np.moveaxis(out, -1, ax),)

    return _record_op(tape, y, (x,), vjp)


def nancumsum(x, axis=None, dtype=None):
    """Cumulative sum along an axis, treating NaN as 0.

    Args:
        x: Input array.
        axis: Int, or `None` (the default) for the flattened array.
        dtype: Optional dtype of the result.

    Returns:
        An array (differentiable).
    """
    return _n.cumsum(_nan_fill(x, 0), axis=axis, dtype=dtype)


def nancumprod(x, axis=None, dtype=None):
    """Cumulative product along an axis, treating NaN as 1.

    Args:
        x: Input array.
        axis: Int, or `None` (the default) for the flattened array.
        dtype: Optional dtype of the result.

    Returns:
        An array (differentiable).
    """
    return cumprod(_nan_fill(x, 1), axis=axis, dtype=dtype)


def ptp(x, axis=None, keepdims=False):
    """Range of values (maximum minus minimum) over the given axes.

    Args:
        x: Input array.
        axis: Optional int or tuple of ints; `None` reduces all axes.
        keepdims: Bool, keep the reduced axes with size 1. Defaults to False.

    Returns:
        The range (differentiable).
    """
    return _n.subtract(_n.max(x, axis=axis, keepdims=keepdims),
                       _n.min(x, axis=axis, keepdims=keepdims))


def average(x, axis=None, weights=None):
    """Weighted average of `x` along an axis.

    Args:
        x: Input array.
        axis: Optional int; `None` averages all elements.
        weights: Optional weights, of the shape of `x` or 1-D along `axis`.

    Returns:
        The average (differentiable in `x` and `weights`).

    Raises:
        ValueError: If the weights' shape fits neither.
    """
    if weights is None:
        return _n.mean(_as_float_op(x), axis=axis)
    xv, wv = unwrap(x), unwrap(weights)
    if np.shape(wv) != np.shape(xv):
        if axis is None or np.ndim(wv) != 1 or np.shape(wv)[0] != np.shape(xv)[axis]:
            raise ValueError(f"average: weights of shape {np.shape(wv)} fit neither x's shape "
                             f"{np.shape(xv)} nor axis={axis}")
        shape = [1] * np.ndim(xv)
        shape[axis] = -1
        weights = _n.reshape(weights, tuple(shape))
    num = _n.sum(_n.multiply(_as_float_op(x), weights), axis=axis)
    den = _n.sum(_n.multiply(_n.ones_like(_as_float_op(x)), weights), axis=axis)
    return _n.divide(num, den)


def _as_float_op(x):
    xv = unwrap(x)
    if _as_array(xv).dtype.kind in "biu":
        return _as_array(xv).astype(_floatx())
    return x


_QUANTILE_METHODS = ("linear", "lower", "higher", "midpoint", "nearest")


def _quantile(x, q, axis, method, keepdims, nan):
    if method not in _QUANTILE_METHODS:
        raise ValueError(f"quantile: method must be one of {_QUANTILE_METHODS}, got "
                         f"{method!r}")
    qv = _as_array(unwrap(q), dtype=np.float64)
    if np.any((qv < 0) | (qv > 1)):
        raise ValueError(f"quantile: q must be in [0, 1], got {qv}")
    x = _as_float_op(x)
    xv = _as_array(unwrap(x))
    if nan:
        out = np.nanquantile(xv, qv, axis=_axis_arg(axis), method=method, keepdims=keepdims)
        return _arr(out.astype(xv.dtype))
    axes = _norm_axes(_axis_arg(axis), xv.ndim)
    keep = [i for i in range(xv.ndim) if i not in axes]
    moved = _n.transpose(x, keep + list(axes))
    lead = tuple(xv.shape[i] for i in keep)
    flat = _n.reshape(moved, lead + (-1,))
    s = sort(flat, axis=-1)
    n = unwrap(flat).shape[-1]
    pos = qv * (n - 1)
    lo = np.floor(pos).astype(np.int64)
    hi = np.minimum(lo + 1, n - 1)
    frac = pos - lo
    if method == "lower":
        hi, frac = lo, np.zeros_like(frac)
    elif method == "higher":
        lo = np.ceil(pos).astype(np.int64)
        hi, frac = lo, np.zeros_like(frac)
    elif method == "nearest":
        lo = np.round(pos).astype(np.int64)       # NumPy rounds halves to even
        hi, frac = lo, np.zeros_like(frac)
    elif method == "midpoint":
        hi = np.ceil(pos).astype(np.int64)
        frac = np.where(hi > lo, 0.5, 0.0)
    a = _n.take(s, lo.ravel(), axis=-1)
    b = _n.take(s, hi.ravel(), axis=-1)
    fr = frac.ravel().astype(xv.dtype)
    r = _n.add(a, _n.multiply(_n.subtract(b, a), fr))      # (..., nq)
    r = _n.moveaxis(r, -1, 0)                              # (nq, ...)
    if keepdims:
        shape = list(xv.shape)
        for a_ in axes:
            shape[a_] = 1
        r = _n.reshape(r, (qv.size,) + tuple(shape))
    return _n.reshape(r, qv.shape + tuple(unwrap(r).shape[1:]))


def quantile(x, q, axis=None, method="linear", keepdims=False):
    """The `q`-th quantiles of `x` along the given axes (NumPy's `quantile`).

    Args:
        x: Input array.
        q: A float or array of floats in `[0, 1]`.
        axis: Optional int or tuple of ints; `None` uses all elements.
        method: `"linear"` (the default), `"lower"`, `"higher"`, `"midpoint"` or
            `"nearest"`.
        keepdims: Bool, keep the reduced axes with size 1. Defaults to False.

    Returns:
        The quantiles, with `q`'s shape in front (differentiable).

    Raises:
        ValueError: For an unknown method or `q` outside `[0, 1]`.
    """
    return _quantile(x, q, axis, method, keepdims, nan=False)


def percentile(x, q, axis=None, method="linear", keepdims=False):
    """The `q`-th percentiles of `x` (`quantile` with `q / 100`).

    Args:
        x: Input array.
        q: A float or array of floats in `[0, 100]`.
        axis: Optional int or tuple of ints; `None` uses all elements.
        method: As in `quantile`. Defaults to `"linear"`.
        keepdims: Bool, keep the reduced axes with size 1. Defaults to False.

    Returns:
        The percentiles (differentiable).
    """
    return _quantile(x, _as_array(unwrap(q), np.float64) / 100, axis, method, keepdims,
                     nan=False)


def nanquantile(x, q, axis=None, method="linear", keepdims=False):
    """`quantile` ignoring NaN values.

    Args:
        x: Input array.
        q: A float or array of floats in `[0, 1]`.
        axis: Optional int or tuple of ints; `None` uses all elements.
        method: As in `quantile`. Defaults to `"linear"`.
        keepdims: Bool, keep the reduced axes with size 1. Defaults to False.

    Returns:
        The quantiles (not differentiable).
    """
    return _quantile(x, q, axis, method, keepdims, nan=True)


def nanpercentile(x, q, axis=None, method="linear", keepdims=False):
    """`percentile` ignoring NaN values.

    Args:
        x: Input array.
        q: A float or array of floats in `[0, 100]`.
        axis: Optional int or tuple of ints; `None` uses all elements.
        method: As in `quantile`. Defaults to `"linear"`.
        keepdims: Bool, keep the reduced axes with size 1. Defaults to False.

    Returns:
        The percentiles (not differentiable).
    """
    return _quantile(x, _as_array(unwrap(q), np.float64) / 100, axis, method, keepdims,
                     nan=True)


def median(x, axis=None, keepdims=False):
    """Median of `x` along the given axes (the mean of the two middle values for even sizes).

    Args:
        x: Input array.
        axis: Optional int or tuple of ints; `None` uses all elements.
        keepdims: Bool, keep the reduced axes with size 1. Defaults to False.

    Returns:
        The median (differentiable).
    """
    return quantile(x, 0.5, axis=axis, keepdims=keepdims)


def nanmedian(x, axis=None, keepdims=False):
    """Median of `x` along the given axes, ignoring NaN.

    Args:
        x: Input array.
        axis: Optional int or tuple of ints; `None` uses all elements.
        keepdims: Bool, keep the reduced axes with size 1. Defaults to False.

    Returns:
        The median (not differentiable).
    """
    return nanquantile(x, 0.5, axis=axis, keepdims=keepdims)


def trapezoid(y, x=None, dx=1.0, axis=-1):
    """Integrates `y` along an axis with the trapezoidal rule.

    Args:
        y: Input array of values.
        x: Optional sample points (1-D along `axis`, or of `y`'s shape); else spacing `dx`.
        dx: The spacing when `x` is None. Defaults to 1.
        axis: Int, the axis integrated along. Defaults to -1.

    Returns:
        The integral (differentiable in `y`).
    """
    y = _as_float_op(y)
    yv = unwrap(y)
    ax = axis % np.ndim(yv)
    n = np.shape(yv)[ax]
    sl = lambda s: tuple([builtins.slice(None)] * ax + [s])  # noqa: E731
    avg = _n.multiply(_n.add(_n.get_item(y, sl(builtins.slice(1, None))),
                             _n.get_item(y, sl(builtins.slice(None, n - 1)))), 0.5)
    if x is None:
        return _n.multiply(_n.sum(avg, axis=ax), np.asarray(dx, dtype=_as_array(yv).dtype))
    d = diff(x, axis=-1 if np.ndim(unwrap(x)) == 1 else ax)
    if np.ndim(unwrap(x)) == 1:
        shape = [1] * np.ndim(yv)
        shape[ax] = -1
        d = _n.reshape(d, tuple(shape))
    return _n.sum(_n.multiply(avg, d), axis=ax)


# ------------------------------------------------------------------------------------------------
# Diagonals and shapes
# ------------------------------------------------------------------------------------------------

def diagonal(x, offset=0, axis1=0, axis2=1):
    """The diagonal of `x` over two axes (moved to the last axis of the result).

    Args:
        x: Input array of rank >= 2.
        offset: Int, the diagonal: 0 the main one, positive above. Defaults to 0.
        axis1: The first axis of the matrices. Defaults to 0.
        axis2: The second axis. Defaults to 1.

    Returns:
        The diagonal(s) (differentiable).
    """
    xv = unwrap(x)
    y = np.array(np.diagonal(xv, offset, axis1, axis2))
    tape = _state.tape
    if tape is None:
        return y
    a1, a2 = axis1 % xv.ndim, axis2 % xv.ndim

    def vjp(g, need):
        moved = np.zeros(tuple(s for i, s in enumerate(xv.shape) if i not in (a1, a2)) +
                         (xv.shape[a1], xv.shape[a2]), dtype=g.dtype)
        k = g.shape[-1]
        rows = np.arange(k) + builtins.max(-offset, 0)
        cols = np.arange(k) + builtins.max(offset, 0)
        moved[..., rows, cols] = g
        return (np.moveaxis(moved, (-2, -1), (a1, a2)),)

    return _record_op(tape, y, (x,), vjp)


def trace(x, offset=0, axis1=0, axis2=1):
    """Sum along a diagonal of `x`.

    Args:
        x: Input array of rank >= 2.
        offset: Int, the diagonal. Defaults to 0.
        axis1: The first axis of the matrices. Defaults to 0.
        axis2: The second axis. Defaults to 1.

    Returns:
        The traces (differentiable).
    """
    return _n.sum(diagonal(x, offset, axis1, axis2), axis=-1)


def diag(x, k=0):
    """Extracts a diagonal of a 2-D array, or builds a 2-D array with a 1-D input on its
    `k`-th diagonal.

    Args:
        x: 1-D or 2-D input.
        k: Int, the diagonal. Defaults to 0.

    Returns:
        The diagonal (1-D) or the matrix (2-D), differentiable.

    Raises:
        ValueError: If `x` is not 1-D or 2-D.
    """
    xv = unwrap(x)
    if np.ndim(xv) == 2:
        return diagonal(x, k)
    if np.ndim(xv) != 1:
        raise ValueError(f"diag: x must be 1-D or 2-D, got shape {np.shape(xv)}")
    n = np.shape(xv)[0] + builtins.abs(k)
    base = np.zeros((n, n), dtype=bool)
    idx = np.arange(np.shape(xv)[0])
    rows, cols = idx + builtins.max(-k, 0), idx + builtins.max(k, 0)
    base[rows, cols] = True
    # scatter x to the diagonal: a one-hot matrix product keeps it differentiable
    sel = np.zeros((np.shape(xv)[0], n * n), dtype=_as_array(xv).dtype
                   if _as_array(xv).dtype.kind == "f" else np.float64)
    sel[idx, rows * n + cols] = 1
    out = _n.reshape(_n.matmul(_as_float_op(x), sel.astype(_as_float(xv).dtype)), (n, n))
    if _as_array(xv).dtype.kind in "biu":
        return _arr(_as_array(unwrap(out)).astype(_as_array(xv).dtype))
    return out


def diagflat(x, k=0):
    """A 2-D array with the flattened input on its `k`-th diagonal.

    Args:
        x: Input array (flattened).
        k: Int, the diagonal. Defaults to 0.

    Returns:
        A square 2-D array (differentiable).
    """
    return diag(_n.reshape(x, (-1,)), k)


def diff(a, n=1, axis=-1):
    """The `n`-th discrete difference along an axis: `a[1:] - a[:-1]`, `n` times.

    Args:
        a: Input array.
        n: Int, how many times to difference. Defaults to 1.
        axis: Int. Defaults to -1.

    Returns:
        An array shorter by `n` along `axis` (differentiable).
    """
    av = unwrap(a)
    ax = axis % np.ndim(av)
    out = a
    for _ in range(int(n)):
        size = np.shape(unwrap(out))[ax]
        head = tuple([builtins.slice(None)] * ax + [builtins.slice(1, size)])
        tail = tuple([builtins.slice(None)] * ax + [builtins.slice(0, size - 1)])
        out = _n.subtract(_n.get_item(out, head), _n.get_item(out, tail))
    return out


def roll(x, shift, axis=None):
    """Rolls the elements of `x` along an axis (elements leaving one end come back at the
    other).

    Args:
        x: Input array.
        shift: Int or tuple of ints, the number of places.
        axis: Optional int or tuple of ints; `None` rolls the flattened array.

    Returns:
        An array of the shape of `x` (differentiable).
    """
    xv = unwrap(x)
    y = np.roll(xv, shift, axis=_axis_arg(axis))
    tape = _state.tape
    if tape is None:
        return _arr(y)
    neg = tuple(-s for s in shift) if isinstance(shift, (tuple, list)) else -shift
    return _record_op(tape, y, (x,), lambda g, need: (np.roll(g, neg, axis=_axis_arg(axis)),))


def rot90(array, k=1, axes=(0, 1)):
    """Rotates an array by 90 degrees `k` times in the plane of `axes` (NumPy's `rot90`).

    Args:
        array: Input array of rank >= 2.
        k: Int, the number of quarter turns (counter-clockwise). Defaults to 1.
        axes: Pair of ints, the plane. Defaults to `(0, 1)`.

    Returns:
        The rotated array (differentiable).

    Raises:
        ValueError: If `axes` is not two different axes of `array`.
    """
    nd = np.ndim(unwrap(array))
    axes = tuple(axes)
    if len(axes) != 2 or axes[0] % nd == axes[1] % nd:
        raise ValueError(f"rot90: axes must be two different axes, got {axes}")
    k = int(k) % 4
    a0, a1 = axes[0] % nd, axes[1] % nd
    if k == 0:
        return copy(array)
    if k == 2:
        return _n.flip(_n.flip(array, a0), a1)
    perm = list(range(nd))
    perm[a0], perm[a1] = perm[a1], perm[a0]
    if k == 1:
        return _n.transpose(_n.flip(array, a1), perm)
    return _n.flip(_n.transpose(array, perm), a1)


def fliplr(x):
    """Reverses `x` along axis 1 (left/right).

    Args:
        x: Input array of rank >= 2.

    Returns:
        The flipped array (differentiable).
    """
    return _n.flip(x, 1)


def flipud(x):
    """Reverses `x` along axis 0 (up/down).

    Args:
        x: Input array of rank >= 1.

    Returns:
        The flipped array (differentiable).
    """
    return _n.flip(x, 0)


def _atleast(x, n):
    xv = unwrap(x)
    nd = np.ndim(xv)
    if nd >= n:
        return x
    shape = np.shape(xv)
    if n == 1:
        return _n.reshape(x, (1,))
    if n == 2:
        return _n.reshape(x, (1,) * (2 - nd) + shape)
    new = {0: (1, 1, 1), 1: (1,) + shape + (1,), 2: shape + (1,)}[nd]
    return _n.reshape(x, new)


def hstack(xs):
    """Stacks arrays horizontally: along axis 1 (axis 0 for 1-D arrays).

    Args:
        xs: A sequence of arrays.

    Returns:
        The joined array (differentiable).
    """
    xs = [_atleast(x, 1) for x in xs]
    return _n.concatenate(xs, axis=0 if np.ndim(unwrap(xs[0])) == 1 else 1)


def vstack(xs):
    """Stacks arrays vertically: along axis 0, 1-D arrays as rows.

    Args:
        xs: A sequence of arrays.

    Returns:
        The joined array (differentiable).
    """
    return _n.concatenate([_atleast(x, 2) for x in xs], axis=0)


def dstack(xs):
    """Stacks arrays depth-wise: along axis 2 (inputs made at least 3-D).

    Args:
        xs: A sequence of arrays.

    Returns:
        The joined array (differentiable).
    """
    return _n.concatenate([_atleast(x, 3) for x in xs], axis=2)


def hsplit(x, indices_or_sections):
    """Splits along axis 1 (axis 0 for 1-D arrays).

    Args:
        x: Input array.
        indices_or_sections: An int (equal sections) or a list of split indices.

    Returns:
        A list of arrays (differentiable).
    """
    return _n.split(x, indices_or_sections, axis=0 if np.ndim(unwrap(x)) == 1 else 1)


def vsplit(x, indices_or_sections):
    """Splits along axis 0.

    Args:
        x: Input array of rank >= 2.
        indices_or_sections: An int (equal sections) or a list of split indices.

    Returns:
        A list of arrays (differentiable).
    """
    return _n.split(x, indices_or_sections, axis=0)


def dsplit(x, indices_or_sections):
    """Splits along axis 2.

    Args:
        x: Input array of rank >= 3.
        indices_or_sections: An int (equal sections) or a list of split indices.

    Returns:
        A list of arrays (differentiable).
    """
    return _n.split(x, indices_or_sections, axis=2)


def meshgrid(*x, indexing="xy"):
    """Coordinate matrices from 1-D coordinate vectors (NumPy's `meshgrid`).

    Args:
        *x: 1-D arrays.
        indexing: `"xy"` (Cartesian, the default) or `"ij"` (matrix).

    Returns:
        A list of arrays, one per input (differentiable).

    Raises:
        ValueError: For another `indexing`.
    """
    if indexing not in ("xy", "ij"):
        raise ValueError(f"meshgrid: indexing must be 'xy' or 'ij', got {indexing!r}")
    sizes = [np.size(unwrap(v)) for v in x]
    n = len(x)
    out_shape = list(sizes)
    if indexing == "xy" and n >= 2:
        out_shape[0], out_shape[1] = out_shape[1], out_shape[0]
    result = []
    for i, v in enumerate(x):
        shape = [1] * n
        pos = i
        if indexing == "xy" and n >= 2 and i < 2:
            pos = 1 - i
        shape[pos] = sizes[i]
        result.append(_n.broadcast_to(_n.reshape(v, tuple(shape)), tuple(out_shape)))
    return result


def vander(x, N=None, increasing=False):
    """Vandermonde matrix: columns are powers of the 1-D input.

    Args:
        x: 1-D input.
        N: Int, the number of columns; defaults to `len(x)`.
        increasing: Bool, powers increase left to right. Defaults to False.

    Returns:
        A 2-D array (not differentiable).
    """
    xv = _as_array(unwrap(x))
    if xv.ndim != 1:
        raise ValueError(f"vander: x must be 1-D, got shape {xv.shape}")
    out = np.vander(xv, N, increasing=increasing)
    return out.astype(xv.dtype) if xv.dtype.kind in "fc" else out


def corrcoef(x):
    """Pearson correlation coefficients of the rows of `x` (variables in rows).

    Args:
        x: 1-D or 2-D input.

    Returns:
        The correlation matrix (differentiable).
    """
    x = _as_float_op(x)
    if np.ndim(unwrap(x)) == 1:
        x = _n.reshape(x, (1, -1))
    c = _n.subtract(x, _n.mean(x, axis=1, keepdims=True))
    cov = _n.matmul(c, _n.transpose(c))
    d = _n.sqrt(diagonal(cov))
    out = _n.divide(_n.divide(cov, _n.reshape(d, (-1, 1))), _n.reshape(d, (1, -1)))
    out = _n.clip(out, -1.0, 1.0)
    return _n.reshape(out, ()) if np.shape(unwrap(out)) == (1, 1) else out


# ------------------------------------------------------------------------------------------------
# Creation
# ------------------------------------------------------------------------------------------------

def geomspace(start, stop, num=50, endpoint=True, dtype=None, axis=0):
    """`num` numbers spaced evenly on a log scale from `start` to `stop`.

    Args:
        start: The first value (non-zero).
        stop: The last value (excluded when `endpoint=False`).
        num: Int, the number of values. Defaults to 50.
        endpoint: Bool, include `stop`. Defaults to True.
        dtype: Optional dtype; defaults to floatx.
        axis: Int, the axis of the values when `start`/`stop` are arrays. Defaults to 0.

    Returns:
        An array (never tracked).
    """
    return np.geomspace(unwrap(start), unwrap(stop), num, endpoint=endpoint,
                        dtype=dtype or _floatx(), axis=axis)


def logspace(start, stop, num=50, endpoint=True, base=10, dtype=None, axis=0):
    """`num` numbers `base ** t` for `t` evenly spaced from `start` to `stop`.

    Args:
        start: The first exponent.
        stop: The last exponent (excluded when `endpoint=False`).
        num: Int, the number of values. Defaults to 50.
        endpoint: Bool, include `stop`. Defaults to True.
        base: The base. Defaults to 10.
        dtype: Optional dtype; defaults to floatx.
        axis: Int, the axis of the values when `start`/`stop` are arrays. Defaults to 0.

    Returns:
        An array (never tracked).
    """
    return np.logspace(unwrap(start), unwrap(stop), num, endpoint=endpoint, base=base,
                       dtype=dtype or _floatx(), axis=axis)


def _window(name, fn, summary):
    def op(x):
        n = int(unwrap(x))
        return fn(n).astype(_floatx())

    op.__name__ = op.__qualname__ = name
    op.__doc__ = _op_doc(summary, args=(("x", "Int, the number of points."),),
                         returns="A 1-D floatx array of `x` points (never tracked).")
    return op


bartlett = _window("bartlett", np.bartlett, "The Bartlett (triangular) window.")
blackman = _window("blackman", np.blackman, "The Blackman window.")
hamming = _window("hamming", np.hamming, "The Hamming window.")
hanning = _window("hanning", np.hanning, "The Hann window.")


def kaiser(x, beta):
    """The Kaiser window.

    Args:
        x: Int, the number of points.
        beta: Float, the shape parameter.

    Returns:
        A 1-D floatx array (never tracked).
    """
    return np.kaiser(int(unwrap(x)), float(unwrap(beta))).astype(_floatx())


def vectorize(pyfunc, *, excluded=None, signature=None):
    """Turns a function of scalars (or of core arrays, with `signature`) into one that maps
    over arrays, like NumPy's `vectorize`.

    Without `signature`, the inputs are broadcast and `pyfunc` is called on each element
    (0-d arrays); the results are stacked, so gradients flow when `pyfunc` uses `rnnkit.ops`.
    With `signature` (e.g. `"(n),(n)->()"`), NumPy's `vectorize` maps it on plain arrays.
    The vectorized function also takes symbolic tensors (it is recorded as one op).

    Args:
        pyfunc: The function.
        excluded: Optional set of argument positions or names passed through unchanged.
        signature: Optional generalized-ufunc signature.

    Returns:
        The vectorized function.
    """
    excluded = set(excluded or ())
    if signature is not None:
        vec = np.vectorize(lambda *a, **k: unwrap(pyfunc(*a, **k)), excluded=excluded,
                           signature=signature)

        def wrapped_sig(*args, **kwargs):
            return vec(*[a if i in excluded else unwrap(a) for i, a in enumerate(args)],
                       **{k: v if k in excluded else unwrap(v) for k, v in kwargs.items()})
        return _symbolic(wrapped_sig)

    def wrapped(*args, **kwargs):
        mapped = [i for i in range(len(args)) if i not in excluded]
        keys = [k for k in kwargs if k not in excluded]
        values = [args[i] for i in mapped] + [kwargs[k] for k in keys]
        shape = np.broadcast_shapes(*[np.shape(unwrap(v)) for v in values]) if values else ()
        flat = [_n.reshape(_n.broadcast_to(v, shape), (-1,)) for v in values]
        n = int(np.prod(shape, dtype=np.int64))
        outs = []
        for j in range(n):
            a = list(args)
            kw = dict(kwargs)
            for pos, i in enumerate(mapped):
                a[i] = flat[pos][j]
            for pos, k in enumerate(keys):
                kw[k] = flat[len(mapped) + pos][j]
            outs.append(pyfunc(*a, **kw))
        if not outs:
            return np.zeros(shape, dtype=_floatx())
        return _n.reshape(_n.stack(outs), shape)

    wrapped.__doc__ = getattr(pyfunc, "__doc__", None)
    return _symbolic(wrapped)


def _symbolic(fn):
    from rnnkit.graph import accept_symbolic
    return accept_symbolic(fn, "vectorize")


__all__ = [
    "allclose", "angle", "arccos", "arccosh", "arcsin", "arcsinh", "arctan2", "arctanh",
    "argpartition", "array", "average", "bartlett", "bincount", "bitwise_and",
    "bitwise_invert", "bitwise_left_shift", "bitwise_not", "bitwise_or", "bitwise_right_shift",
    "bitwise_xor", "blackman", "cbrt", "conj", "conjugate", "copy", "corrcoef", "correlate",
    "count_nonzero", "cross", "cumprod", "deg2rad", "diag", "diagflat", "diagonal", "diff",
    "digitize", "divide_no_nan", "dsplit", "dstack", "empty_like", "fabs", "fliplr", "flipud",
    "fmax", "fmin", "fmod", "gcd", "geomspace", "hamming", "hanning", "heaviside", "histogram",
    "hsplit", "hstack", "hypot", "i0", "imag", "isclose", "isin", "isneginf", "isposinf",
    "isreal", "kaiser", "kron", "lcm", "ldexp", "left_shift", "logaddexp", "logaddexp2",
    "logspace", "median", "meshgrid", "nan_to_num", "nanargmax", "nanargmin", "nancumprod",
    "nancumsum", "nanmax", "nanmean", "nanmedian", "nanmin", "nanpercentile", "nanprod",
    "nanquantile", "nanstd", "nansum", "nanvar", "nextafter", "nonzero", "percentile", "ptp",
    "quantile", "rad2deg", "real", "right_shift", "roll", "rot90", "searchsorted", "signbit",
    "sinc", "sort", "trace", "trapezoid", "trunc", "unique",
    "unravel_index", "vander", "vdot", "vectorize", "view", "vsplit", "vstack"]
