"""Neural-network ops (`keras.ops.nn`): activations, softmax, one_hot.

The elementwise formulas are the Keras 3 definitions, written in their numerically stable forms
and identical to tests/reference.py and the C++ core (cpp/include/rnnkit/activation.h). Constants
are Python floats, so a float32 input gives a float32 result.
"""

from __future__ import annotations

import math

from rnnkit import array_library
from rnnkit.ops._base import _arr, _floatx, _record_op, _state, _unary, np, unwrap
from rnnkit.ops._base import _as_array, _namespace

SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946
_SQRT2 = math.sqrt(2.0)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)


def _apply(x, forward, derivative):
    """y = forward(x) elementwise; dL/dx = derivative(g, x, y)."""
    xv = unwrap(x)
    y = forward(xv)
    tape = _state.tape
    if tape is None:
        return y if type(y) is np.ndarray else _as_array(y)
    return _record_op(tape, y, (x,), lambda g, need: (derivative(g, xv, y),))


# ------------------------------------------------------------------------------------------------
# Forward formulas (on arrays)
# ------------------------------------------------------------------------------------------------

def _sigmoid(x):
    # The true logistic without overflow: exp of a non-positive number only.
    e = np.exp(-np.abs(x))
    r = 1.0 / (1.0 + e)
    return np.where(x >= 0, r, e * r)


def _softplus(x):
    return np.logaddexp(0.0, x)


def _hard_sigmoid(x):
    return np.clip(x / 6.0 + 0.5, 0.0, 1.0)


_host_erf_impl = None


def _host_erf(x):
    """erf of a host array, in its float dtype (SciPy's when available, else math.erf)."""
    global _host_erf_impl
    if _host_erf_impl is None:
        try:
            from scipy.special import erf as scipy_erf
            _host_erf_impl = scipy_erf
        except ImportError:          # pragma: no cover - scipy is optional
            vec = np.vectorize(math.erf, otypes=[np.float64])

            def _host_erf_impl(a):
                a = _as_array(a)
                out = vec(a)
                return out.astype(a.dtype) if a.dtype.kind == "f" else out
    return _host_erf_impl(x)


def _erf(x):
    """erf, elementwise, in x's float dtype, on x's device (the library's own erf there)."""
    return array_library.special_function("erf", x, _host_erf)


# ------------------------------------------------------------------------------------------------
# Elementwise activations
# ------------------------------------------------------------------------------------------------

sigmoid = _unary("sigmoid", _sigmoid, lambda g, x, y: g * (y * (1.0 - y)),
                 "Sigmoid activation: `1 / (1 + exp(-x))`, computed without overflow.",
                 """>>> import numpy as np, rnnkit as keras
>>> keras.ops.sigmoid(np.array([0.0]))
array([0.5])""")
def _float_in(x):
    # integer and boolean inputs of float-valued functions become floatx (as in Keras)
    a = _as_array(x)
    return a.astype(_floatx()) if a.dtype.kind in "biu" else x


tanh = _unary("tanh", lambda x: np.tanh(_float_in(x)), lambda g, x, y: g * (1.0 - y * y),
             "Hyperbolic tangent activation: `(exp(x) - exp(-x)) / (exp(x) + exp(-x))`.")
relu = _unary("relu", lambda x: np.maximum(x, 0.0), lambda g, x, y: np.where(x > 0, g, 0.0),
              "Rectified linear unit activation: `max(x, 0)`.\n\n"
              "The gradient at 0 is 0.")
relu6 = _unary("relu6", lambda x: np.clip(x, 0.0, 6.0),
               lambda g, x, y: np.where((x > 0) & (x < 6), g, 0.0),
               "Rectified linear unit capped at 6: `min(max(x, 0), 6)`.")
selu = _unary("selu", lambda x: SELU_SCALE * np.where(
    x > 0, x, SELU_ALPHA * np.expm1(np.minimum(x, 0.0))),
    lambda g, x, y: g * np.where(x > 0, SELU_SCALE,
                                 (SELU_SCALE * SELU_ALPHA) * np.exp(np.minimum(x, 0.0))),
    "Scaled exponential linear unit (SELU) activation.\n\n"
    "`scale * x` for `x > 0` and `scale * alpha * (exp(x) - 1)` otherwise, with "
    "`alpha = 1.67326324` and `scale = 1.05070098` (Klambauer et al., 2017).")
softplus = _unary("softplus", _softplus, lambda g, x, y: g * _sigmoid(x),
                  "Softplus activation: `log(1 + exp(x))`, computed without overflow.")
softsign = _unary("softsign", lambda x: x / (1.0 + np.abs(x)),
                  lambda g, x, y: g / np.square(1.0 + np.abs(x)),
                  "Softsign activation: `x / (1 + |x|)`.")


def _silu_forward(x):
    return x * _sigmoid(x)


def _silu_derivative(g, x, y):
    s = _sigmoid(x)
    return g * (s * (1.0 + x * (1.0 - s)))


silu = _unary("silu", _silu_forward, _silu_derivative,
              "Sigmoid linear unit (SiLU, also called swish): `x * sigmoid(x)`.\n\n"
              "`swish` is the same op.")
swish = silu

hard_sigmoid = _unary("hard_sigmoid", _hard_sigmoid,
                      lambda g, x, y: np.where((x > -3) & (x < 3), g / 6.0, 0.0),
                      "Hard sigmoid activation: `relu6(x + 3) / 6`, i.e. "
                      "`clip(x / 6 + 0.5, 0, 1)` (Keras 3's definition).")
hard_silu = _unary("hard_silu", lambda x: x * _hard_sigmoid(x),
                   lambda g, x, y: g * (_hard_sigmoid(x) + np.where(
                       (x > -3) & (x < 3), x / 6.0, 0.0)),
                   "Hard SiLU (hard swish) activation: `x * hard_sigmoid(x)`.\n\n"
                   "`hard_swish` is the same op.")
hard_swish = hard_silu
log_sigmoid = _unary("log_sigmoid", lambda x: -np.logaddexp(0.0, -x),
                     lambda g, x, y: g * _sigmoid(-x),
                     "Logarithm of the sigmoid: `log(sigmoid(x)) = -softplus(-x)`, computed "
                     "without overflow.")
hard_tanh = _unary("hard_tanh", lambda x: np.clip(x, -1.0, 1.0),
                   lambda g, x, y: np.where((x > -1) & (x < 1), g, 0.0),
                   "Hard tanh activation: `clip(x, -1, 1)`.")


def _tanh_shrink_derivative(g, x, y):
    t = np.tanh(x)
    return g * (t * t)


tanh_shrink = _unary("tanh_shrink", lambda x: x - np.tanh(x), _tanh_shrink_derivative,
                     "Tanh shrink activation: `x - tanh(x)`.")
sparse_plus = _unary(
    "sparse_plus",
    lambda x: np.where(x <= -1.0, 0.0, np.where(x >= 1.0, x, (x + 1.0) ** 2 / 4.0)),
    lambda g, x, y: np.where(x <= -1.0, 0.0, np.where(x >= 1.0, g, g * ((x + 1.0) / 2.0))),
    "Sparse plus activation: 0 for `x <= -1`, `x` for `x >= 1`, `(x + 1)**2 / 4` between.")
sparse_sigmoid = _unary(
    "sparse_sigmoid",
    lambda x: np.where(x <= -1.0, 0.0, np.where(x >= 1.0, 1.0, (x + 1.0) / 2.0)),
    lambda g, x, y: np.where((x > -1.0) & (x < 1.0), g * 0.5, 0.0),
    "Sparse sigmoid activation: 0 for `x <= -1`, 1 for `x >= 1`, `(x + 1) / 2` between.")


def leaky_relu(x, negative_slope=0.2):
    """Leaky rectified linear unit: `x` for `x >= 0`, `negative_slope * x` otherwise.

    Args:
        x: Input array.
        negative_slope: Float, the slope for negative inputs. Defaults to 0.2.

    Returns:
        An array of the shape of `x` (differentiable).
    """
    a = float(negative_slope)
    return _apply(x, lambda v: np.where(v >= 0, v, a * v),
                  lambda g, v, y: np.where(v >= 0, g, g * a))


def elu(x, alpha=1.0):
    """Exponential linear unit: `x` for `x > 0`, `alpha * (exp(x) - 1)` otherwise.

    Args:
        x: Input array.
        alpha: Float, the scale of the negative part. Defaults to 1.0.

    Returns:
        An array of the shape of `x` (differentiable).
    """
    a = float(alpha)
    return _apply(x, lambda v: np.where(v > 0, v, a * np.expm1(np.minimum(v, 0.0))),
                  lambda g, v, y: np.where(v > 0, g, g * (a * np.exp(np.minimum(v, 0.0)))))


def celu(x, alpha=1.0):
    """Continuously differentiable exponential linear unit (CELU).

    Computes `max(x, 0) + min(0, alpha * (exp(x / alpha) - 1))`.

    Args:
        x: Input array.
        alpha: Float, the scale of the negative part. Defaults to 1.0.

    Returns:
        An array of the shape of `x` (differentiable).
    """
    a = float(alpha)
    return _apply(x, lambda v: np.maximum(v, 0.0) + np.minimum(
        0.0, a * np.expm1(np.minimum(v, 0.0) / a)),
        lambda g, v, y: np.where(v > 0, g, g * np.exp(np.minimum(v, 0.0) / a)))


def gelu(x, approximate=True):
    """Gaussian error linear unit (GELU): `x * Phi(x)`, Phi the standard normal CDF.

    Args:
        x: Input array.
        approximate: Bool. `True` (the default, as in `keras.ops.gelu`) uses the tanh
            approximation `0.5 * x * (1 + tanh(sqrt(2 / pi) * (x + 0.044715 * x**3)))`;
            `False` the exact form with `erf`. (`rnnkit.activations.gelu` defaults to
            `False`.)

    Returns:
        An array of the shape of `x` (differentiable).
    """
    if approximate:
        def forward(v):
            return 0.5 * v * (1.0 + np.tanh(_SQRT_2_OVER_PI * (v + 0.044715 * v ** 3)))

        def derivative(g, v, y):
            t = np.tanh(_SQRT_2_OVER_PI * (v + 0.044715 * v ** 3))
            du = _SQRT_2_OVER_PI * (1.0 + (3 * 0.044715) * v * v)
            return g * (0.5 * (1.0 + t) + 0.5 * v * (1.0 - t * t) * du)
    else:
        def forward(v):
            return 0.5 * v * (1.0 + _erf(v / _SQRT2))

        def derivative(g, v, y):
            return g * (0.5 * (1.0 + _erf(v / _SQRT2)) + v * np.exp(-0.5 * v * v) * _INV_SQRT_2PI)
    return _apply(x, forward, derivative)


def squareplus(x, b=4):
    """Squareplus activation: `(x + sqrt(x**2 + b)) / 2`, a smooth ReLU.

    Args:
        x: Input array.
        b: Non-negative number, the smoothness. Defaults to 4.

    Returns:
        An array of the shape of `x` (differentiable).
    """
    b = float(b)
    return _apply(x, lambda v: (v + np.sqrt(v * v + b)) / 2.0,
                  lambda g, v, y: g * (0.5 + 0.5 * v / np.sqrt(v * v + b)))


def soft_shrink(x, threshold=0.5):
    """Soft shrink: `x - threshold` above `threshold`, `x + threshold` below `-threshold`,
    0 in between.

    Args:
        x: Input array.
        threshold: Non-negative float. Defaults to 0.5.

    Returns:
        An array of the shape of `x` (differentiable).
    """
    t = float(threshold)
    return _apply(x, lambda v: np.where(v > t, v - t, np.where(v < -t, v + t, 0.0)),
                  lambda g, v, y: np.where(np.abs(v) > t, g, 0.0))


def hard_shrink(x, threshold=0.5):
    """Hard shrink: `x` where `|x| > threshold`, 0 elsewhere.

    Args:
        x: Input array.
        threshold: Non-negative float. Defaults to 0.5.

    Returns:
        An array of the shape of `x` (differentiable).
    """
    t = float(threshold)
    return _apply(x, lambda v: np.where(np.abs(v) > t, v, 0.0),
                  lambda g, v, y: np.where(np.abs(v) > t, g, 0.0))


def threshold(x, threshold, default_value):
    """Keeps `x` where `x > threshold` and puts `default_value` elsewhere.

    Args:
        x: Input array.
        threshold: The threshold (a number or a broadcastable array).
        default_value: The value for elements at or below the threshold.

    Returns:
        An array of the broadcast shape (differentiable in `x`).
    """
    from rnnkit.ops.numpy import greater, where
    return where(greater(x, threshold), x, default_value)


# ------------------------------------------------------------------------------------------------
# Along an axis
# ------------------------------------------------------------------------------------------------

def _axis(axis):
    return tuple(axis) if isinstance(axis, list) else axis


def softmax(x, axis=-1):
    """Softmax activation: `exp(x) / sum(exp(x))` along `axis`, computed stably.

    Args:
        x: Input array.
        axis: Int or tuple of ints, the axes normalized over. Defaults to -1.

    Returns:
        An array of the shape of `x` whose entries along `axis` are positive and sum to 1
        (differentiable).

    Example:

    >>> import numpy as np, rnnkit as keras
    >>> keras.ops.softmax(np.array([[1.0, 1.0], [0.0, 0.0]]))
    array([[0.5, 0.5],
           [0.5, 0.5]])
    """
    xv = unwrap(x)
    ax = _axis(axis)
    e = np.exp(xv - np.max(xv, axis=ax, keepdims=True))
    y = e / np.sum(e, axis=ax, keepdims=True)
    tape = _state.tape
    if tape is None:
        return _arr(y)
    return _record_op(tape, y, (x,), lambda g, need: (
        y * (g - np.sum(g * y, axis=ax, keepdims=True)),))


def log_softmax(x, axis=-1):
    """Log-softmax: `x - logsumexp(x)` along `axis`, computed stably.

    Args:
        x: Input array.
        axis: Int or tuple of ints. Defaults to -1.

    Returns:
        An array of the shape of `x` (differentiable).
    """
    xv = unwrap(x)
    ax = _axis(axis)
    s = xv - np.max(xv, axis=ax, keepdims=True)
    y = s - np.log(np.sum(np.exp(s), axis=ax, keepdims=True))
    tape = _state.tape
    if tape is None:
        return _arr(y)
    return _record_op(tape, y, (x,), lambda g, need: (
        g - np.exp(y) * np.sum(g, axis=ax, keepdims=True),))


def glu(x, axis=-1):
    """Gated linear unit: `a * sigmoid(b)`, where `a` and `b` are the two halves of `x`.

    Args:
        x: Input array; its size along `axis` must be even.
        axis: Int, the axis that is split in two. Defaults to -1.

    Returns:
        An array with half the size along `axis` (differentiable).
    """
    from rnnkit.ops.numpy import multiply, split
    a, b = split(x, 2, axis=axis)
    return multiply(a, sigmoid(b))


def normalize(x, axis=-1, order=2, epsilon=None):
    """Divides `x` by its norm along `axis`: `x / max(norm(x, order), epsilon)`.

    Args:
        x: Input array.
        axis: Int, the axis of the norm. Defaults to -1.
        order: The order of the norm (as in `norm`). Defaults to 2.
        epsilon: Lower bound of the norm. Defaults to 1e-7.

    Returns:
        An array of the shape of `x` (differentiable).
    """
    from rnnkit.ops.numpy import divide, maximum, norm
    eps = 1e-7 if epsilon is None else epsilon
    return divide(x, maximum(norm(x, ord=order, axis=axis, keepdims=True), eps))


def moments(x, axes, keepdims=False, synchronized=False):
    """Returns the mean and the (population) variance of `x` over `axes`.

    Args:
        x: Input array.
        axes: Int or list of ints, the axes reduced.
        keepdims: Bool, keep the reduced axes with size 1. Defaults to `False`.
        synchronized: Bool; Keras synchronizes the statistics across devices with it. rnnkit
            runs on one device, so both values give the same result.

    Returns:
        A pair `(mean, variance)` (differentiable).
    """
    from rnnkit.ops.numpy import mean, var
    if not isinstance(synchronized, (bool, np.bool_)):
        raise TypeError(f"moments: synchronized must be a bool, got {synchronized!r}")
    return mean(x, axis=axes, keepdims=keepdims), var(x, axis=axes, keepdims=keepdims)


def one_hot(x, num_classes, axis=-1, dtype=None, sparse=False):
    """Converts integer class ids to one-hot vectors.

    Args:
        x: Integer array of class ids. Ids outside `[0, num_classes)` give all-zero vectors.
        num_classes: Int, the number of classes.
        axis: Int, the position of the new class axis. Defaults to -1 (last).
        dtype: Optional dtype. Defaults to `config.floatx()` (float32).
        sparse: Ignored (the result is always dense).

    Returns:
        An array with one more axis, of size `num_classes` (never tracked).

    Example:

    >>> import numpy as np, rnnkit as keras
    >>> keras.ops.one_hot(np.array([0, 2]), 3)
    array([[1., 0., 0.],
           [0., 0., 1.]], dtype=float32)
    """
    del sparse
    xv = _as_array(unwrap(x))
    classes = np.arange(num_classes) if type(xv) is np.ndarray else \
        _namespace(xv).arange(num_classes)
    out = (xv[..., None] == classes).astype(dtype or _floatx())
    if axis != -1 and axis != out.ndim - 1:
        out = np.moveaxis(out, -1, axis)
    return out


# More of keras.ops.nn (cross-entropies, normalizations, attention, CTC, ...) lives in _nn_more.
from rnnkit.ops._nn_more import *  # noqa: E402,F401,F403
