"""Conversion, dtype and shape ops, gradient control and simple control flow."""

from __future__ import annotations

from rnnkit.autodiff import _input_node, custom_gradient  # noqa: F401 (re-exported)
from rnnkit.ops._base import Tensor, _record_op, _state, np, unwrap

_FLOATX = "float32"


def _identity_vjp(g, need):
    return (g,)


def convert_to_tensor(x, dtype=None, sparse=None, ragged=None):
    """The array of `x`. NumPy arrays keep their dtype; Python numbers and lists become float32
    (floats) or int32 (ints) like in Keras. Inside a recording tape a tracked input (a watched
    Variable, a tracked Tensor) stays tracked."""
    del sparse, ragged
    tape = _state.tape
    if tape is not None and _input_node(tape, x) is not None:
        value = unwrap(x)
        if dtype is not None and np.dtype(dtype) != value.dtype:
            return cast(x, dtype)
        if type(x) is Tensor and x._node is not None and x._node.tape is tape:
            return x
        return _record_op(tape, value, (x,), _identity_vjp)
    if isinstance(x, (list, tuple)) and tape is not None and any(
            _input_node(tape, v) is not None for v in x):
        from rnnkit.ops.numpy import stack
        return convert_to_tensor(stack([convert_to_tensor(v, dtype) for v in x]), dtype)
    if type(x) is np.ndarray:
        return x if dtype is None else x.astype(dtype, copy=False)
    value = unwrap(x)
    if isinstance(value, np.ndarray):
        return value if dtype is None else value.astype(dtype, copy=False)
    if isinstance(value, np.generic):
        return np.asarray(value, dtype=dtype)
    arr = np.asarray(value if not isinstance(value, (list, tuple)) else
                     [unwrap(v) for v in value], dtype=dtype)
    if dtype is None:
        if arr.dtype == np.float64:
            arr = arr.astype(_FLOATX)
        elif arr.dtype == np.int64:
            arr = arr.astype("int32")
    return arr


def convert_to_numpy(x):
    """A NumPy copy of `x` (never tracked)."""
    return np.array(unwrap(x))


def is_tensor(x):
    return isinstance(x, (np.ndarray, Tensor))


def stop_gradient(variable):
    """The value of `variable`, cut from the gradient graph."""
    return np.asarray(unwrap(variable))


def cast(x, dtype):
    """x as `dtype` (no copy when it already has it). Differentiable between float dtypes."""
    xv = unwrap(x)
    if not isinstance(xv, np.ndarray):
        xv = np.asarray(xv)
    y = xv.astype(dtype, copy=False)
    tape = _state.tape
    if tape is None or y.dtype.kind not in "fc" or xv.dtype.kind not in "fc":
        return y
    return _record_op(tape, y, (x,), _identity_vjp)


def dtype(x):
    """The dtype name of `x` ('float32', ...)."""
    return np.asarray(unwrap(x)).dtype.name


def shape(x):
    """The shape of `x` as a tuple of ints."""
    return tuple(np.shape(unwrap(x)))


def ndim(x):
    return int(np.ndim(unwrap(x)))


def size(x):
    return int(np.size(unwrap(x)))


def cond(pred, true_fn, false_fn):
    """`true_fn()` if `pred` else `false_fn()` (eager)."""
    return true_fn() if bool(unwrap(pred)) else false_fn()


def fori_loop(lower, upper, body_fun, init_val):
    """`val = body_fun(i, val)` for i in range(lower, upper) (eager)."""
    val = init_val
    for i in range(int(unwrap(lower)), int(unwrap(upper))):
        val = body_fun(i, val)
    return val


def while_loop(cond, body, loop_vars, maximum_iterations=None):
    """keras.ops.while_loop (eager)."""
    single = not isinstance(loop_vars, (list, tuple))
    vars_ = (loop_vars,) if single else tuple(loop_vars)
    n = 0
    while bool(unwrap(cond(*vars_))) and (maximum_iterations is None or n < maximum_iterations):
        out = body(*vars_)
        vars_ = (out,) if single else tuple(out)
        n += 1
    return vars_[0] if single else vars_
