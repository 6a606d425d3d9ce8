"""Conversion, dtype and shape ops, gradient control and simple control flow."""

from __future__ import annotations

from rnnkit.autodiff import _input_node, custom_gradient  # noqa: F401 (re-exported)
from rnnkit.ops._base import Tensor, _record_op, _state, np, unwrap

_FLOATX = "float32"


def _identity_vjp(g, need):
    return (g,)


def convert_to_tensor(x, dtype=None, sparse=None, ragged=None):
    """Converts `x` to an array.

    NumPy arrays keep their dtype (no copy); Python numbers and lists become float32
    (floats) or int32 (ints), as in Keras; a `Variable` gives its value. Inside a recording
    `GradientTape`, a tracked input (a watched Variable, a tracked Tensor, or a list holding
    one) gives a tracked `Tensor`, so gradients flow through the conversion.

    Args:
        x: An array, number, nested list, `Variable` or `Tensor`.
        dtype: Optional dtype of the result.
        sparse: Ignored (there are no sparse tensors).
        ragged: Ignored.

    Returns:
        An `np.ndarray`, or a tracked `Tensor` under a recording tape.

    Example:

    >>> import rnnkit as keras
    >>> keras.ops.convert_to_tensor([1.0, 2.0]).dtype
    dtype('float32')
    >>> keras.ops.convert_to_tensor([1, 2]).dtype
    dtype('int32')
    """
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
    """Returns a NumPy copy of `x` (never tracked).

    Args:
        x: An array, `Variable`, `Tensor` or array-like.

    Returns:
        A new `np.ndarray`.
    """
    return np.array(unwrap(x))


def is_tensor(x):
    """Returns whether `x` is a tensor of this backend: an `np.ndarray` or a `Tensor`.

    Args:
        x: Any object.

    Returns:
        Bool (`False` for a `Variable`, a number or a list).
    """
    return isinstance(x, (np.ndarray, Tensor))


def stop_gradient(variable):
    """Returns the value of `variable`, cut from the gradient graph.

    No gradient flows through the result, even under a recording `GradientTape`.

    Args:
        variable: An array, `Variable` or `Tensor`.

    Returns:
        A plain `np.ndarray`.
    """
    return np.asarray(unwrap(variable))


def cast(x, dtype):
    """Casts `x` to `dtype` (no copy when it already has it).

    The cast is differentiable when both dtypes are floating (the gradient passes through
    unchanged); casts to or from integer and boolean dtypes are not tracked.

    Args:
        x: An array, `Variable`, `Tensor` or array-like.
        dtype: The target dtype (a name such as `"float32"` or a NumPy dtype).

    Returns:
        An array of `dtype`.

    Example:

    >>> import numpy as np, rnnkit as keras
    >>> keras.ops.cast(np.array([1.7, -1.7]), "int32")
    array([ 1, -1], dtype=int32)
    """
    xv = unwrap(x)
    if not isinstance(xv, np.ndarray):
        xv = np.asarray(xv)
    y = xv.astype(dtype, copy=False)
    tape = _state.tape
    if tape is None or y.dtype.kind not in "fc" or xv.dtype.kind not in "fc":
        return y
    return _record_op(tape, y, (x,), _identity_vjp)


def dtype(x):
    """Returns the dtype name of `x`.

    Args:
        x: An array, `Variable`, `Tensor` or array-like.

    Returns:
        A string such as `"float32"`.
    """
    return np.asarray(unwrap(x)).dtype.name


def shape(x):
    """Returns the shape of `x`.

    Args:
        x: An array, `Variable`, `Tensor` or array-like.

    Returns:
        A tuple of ints.
    """
    return tuple(np.shape(unwrap(x)))


def ndim(x):
    """Returns the number of dimensions (rank) of `x`.

    Args:
        x: An array, `Variable`, `Tensor` or array-like.

    Returns:
        An int.
    """
    return int(np.ndim(unwrap(x)))


def size(x):
    """Returns the number of elements of `x`.

    Args:
        x: An array, `Variable`, `Tensor` or array-like.

    Returns:
        An int.
    """
    return int(np.size(unwrap(x)))


def cond(pred, true_fn, false_fn):
    """Returns `true_fn()` if `pred` is true, else `false_fn()`.

    Runs eagerly: only the chosen branch is called.

    Args:
        pred: A scalar boolean (array, number or Tensor).
        true_fn: Callable with no arguments.
        false_fn: Callable with no arguments.

    Returns:
        What the chosen function returns.
    """
    return true_fn() if bool(unwrap(pred)) else false_fn()


def fori_loop(lower, upper, body_fun, init_val):
    """Runs `val = body_fun(i, val)` for `i` in `range(lower, upper)` (eagerly).

    Args:
        lower: Int, the first index.
        upper: Int, the end of the range (excluded).
        body_fun: Callable `(i, val) -> val`.
        init_val: The initial value (any structure).

    Returns:
        The final value.

    Example:

    >>> import rnnkit as keras
    >>> keras.ops.fori_loop(0, 4, lambda i, total: total + i, 0)
    6
    """
    val = init_val
    for i in range(int(unwrap(lower)), int(unwrap(upper))):
        val = body_fun(i, val)
    return val


def while_loop(cond, body, loop_vars, maximum_iterations=None):
    """Runs `loop_vars = body(*loop_vars)` while `cond(*loop_vars)` is true (eagerly).

    Args:
        cond: Callable taking the loop variables and returning a scalar boolean.
        body: Callable taking the loop variables and returning their new values (a tuple
            or list of the same length, or a single value for a single variable).
        loop_vars: A single value, or a tuple or list of values.
        maximum_iterations: Optional int, the most iterations to run.

    Returns:
        The final loop variables, with the structure of `loop_vars` (a tuple for a list or
        tuple).
    """
    single = not isinstance(loop_vars, (list, tuple))
    vars_ = (loop_vars,) if single else tuple(loop_vars)
    n = 0
    while bool(unwrap(cond(*vars_))) and (maximum_iterations is None or n < maximum_iterations):
        out = body(*vars_)
        vars_ = (out,) if single else tuple(out)
        n += 1
    return vars_[0] if single else vars_
