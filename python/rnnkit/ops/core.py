"""Conversion, dtype and shape ops, gradient control and simple control flow."""

from __future__ import annotations

from rnnkit import array_library
from rnnkit.autodiff import _input_node, _is_float, custom_gradient  # noqa: F401 (re-exported)
from rnnkit.ops._base import Tensor, _floatx, _record_op, _state, np, unwrap
from rnnkit.ops._base import _as_array
from rnnkit.variables import Variable


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
        if type(x) is Tensor and x._node is not None and x._node.tape is tape._key:
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
    if hasattr(value, "shape") and not array_library.is_host(value):     # a device array
        return value if dtype is None else value.astype(dtype, copy=False)
    arr = np.asarray(value if not isinstance(value, (list, tuple)) else
                     [unwrap(v) for v in value], dtype=dtype)
    if dtype is None:
        if arr.dtype == np.float64:
            arr = arr.astype(_floatx())
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
    value = unwrap(x)
    if type(value) is not np.ndarray and not array_library.is_host(value):
        return array_library.to_host(value)      # the explicit copy from the device
    return np.array(value)


def is_tensor(x):
    """Returns whether `x` is a tensor of this backend: an `np.ndarray` or a `Tensor`.

    Args:
        x: Any object.

    Returns:
        Bool (`False` for a `Variable`, a number or a list).
    """
    return isinstance(x, (np.ndarray, Tensor)) or (
        hasattr(x, "shape") and not isinstance(x, Variable) and not array_library.is_host(x))


def stop_gradient(variable):
    """Returns the value of `variable`, cut from the gradient graph.

    No gradient flows through the result, even under a recording `GradientTape`.

    Args:
        variable: An array, `Variable` or `Tensor`.

    Returns:
        A plain `np.ndarray`.
    """
    return _as_array(unwrap(variable))


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
        xv = _as_array(xv)
    y = array_library.astype(xv, dtype) if type(xv) is np.ndarray else xv.astype(dtype, copy=False)
    tape = _state.tape
    if tape is None or not _is_float(y.dtype) or not _is_float(xv.dtype):
        return y
    return _record_op(tape, y, (x,), _identity_vjp)


def dtype(x):
    """Returns the dtype name of `x`.

    Args:
        x: An array, `Variable`, `Tensor` or array-like.

    Returns:
        A string such as `"float32"`.
    """
    dt = _as_array(unwrap(x)).dtype
    name = _DTYPE_NAMES.get(dt)
    if name is None:
        name = _DTYPE_NAMES[dt] = dt.name
    return name


# dtype -> its name: NumPy computes `dtype.name` in Python on every read (a few µs).
_DTYPE_NAMES = {}


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


# ------------------------------------------------------------------------------------------------
# Mapping and scanning (eager Python loops over rnnkit.ops, so they differentiate)
# ------------------------------------------------------------------------------------------------

def _stack_tree(items):
    from rnnkit import tree
    from rnnkit.ops.numpy import stack
    return tree.map_structure(lambda *leaves: stack(list(leaves)), *items)


def _slice_tree(xs, i):
    from rnnkit import tree
    from rnnkit.ops.numpy import get_item
    return tree.map_structure(lambda leaf: get_item(leaf, i), xs)


def _leading_size(xs):
    from rnnkit import tree
    leaves = tree.flatten(xs)
    if not leaves:
        raise ValueError("Expected at least one array to iterate over")
    sizes = {int(np.shape(unwrap(leaf))[0]) for leaf in leaves}
    if len(sizes) != 1:
        raise ValueError(f"All arrays must have the same leading size, got {sorted(sizes)}")
    return sizes.pop()


def map(f, xs):
    """Applies `f` to each slice of `xs` along its first axis and stacks the results.

    Args:
        f: Callable taking one slice (with the structure of `xs`).
        xs: An array, or a nested structure of arrays with the same leading size.

    Returns:
        The stacked results, with the structure `f` returns (differentiable when `f` is).

    Example:

    >>> import numpy as np, rnnkit as keras
    >>> keras.ops.map(lambda row: keras.ops.sum(row), np.arange(6.0).reshape(3, 2))
    array([1., 5., 9.])
    """
    n = _leading_size(xs)
    return _stack_tree([f(_slice_tree(xs, i)) for i in range(n)])


def vectorized_map(function, elements):
    """Maps `function` over the first axis of `elements` (here the same as `map`).

    Args:
        function: Callable taking one slice.
        elements: An array or a nested structure of arrays.

    Returns:
        The stacked results (differentiable when `function` is).
    """
    return map(function, elements)


def scan(f, init, xs=None, length=None, reverse=False, unroll=1):
    """Loops `carry, y = f(carry, x)` over the first axis of `xs`, stacking the `y`s.

    Args:
        f: Callable `(carry, x) -> (new_carry, y)`.
        init: The initial carry (any structure).
        xs: Optional array or structure of arrays to scan over; with None, `x` is None and
            `length` gives the number of steps.
        length: Optional int, the number of steps (checked against `xs`).
        reverse: Bool, scan from the last slice to the first (the stacked `y`s keep the
            order of `xs`). Defaults to False.
        unroll: Accepted for compatibility (a positive int or bool); loops run eagerly.

    Returns:
        `(final_carry, stacked_ys)`.

    Raises:
        ValueError: If neither `xs` nor `length` is given, or they disagree.
    """
    if isinstance(unroll, bool) or not isinstance(unroll, int) or unroll < 1:
        if not isinstance(unroll, bool):
            raise ValueError(f"scan: unroll must be a positive int or a bool, got {unroll!r}")
    if xs is None:
        if length is None:
            raise ValueError("scan: give xs or length")
        n = int(length)
    else:
        n = _leading_size(xs)
        if length is not None and int(length) != n:
            raise ValueError(f"scan: length={length} does not match the leading size of xs "
                             f"({n})")
    carry = init
    ys = [None] * n
    order = range(n - 1, -1, -1) if reverse else range(n)
    for i in order:
        carry, y = f(carry, None if xs is None else _slice_tree(xs, i))
        ys[i] = y
    if n == 0 or ys[0] is None:
        return carry, None
    return carry, _stack_tree(ys)


def associative_scan(f, elems, reverse=False, axis=0):
    """Inclusive scan with an associative binary function: `out[i] = f(out[i-1], x[i])`
    along `axis` (for `add`, a cumulative sum).

    Args:
        f: Associative callable `(a, b) -> c` on slices (structures like `elems`).
        elems: An array or a nested structure of arrays of the same size along `axis`.
        reverse: Bool, scan from the end. Defaults to False.
        axis: Int, the scanned axis. Defaults to 0.

    Returns:
        The scanned result, with the structure and shapes of `elems` (differentiable when
        `f` is).
    """
    from rnnkit import tree
    from rnnkit.ops.numpy import moveaxis
    moved = tree.map_structure(lambda leaf: moveaxis(leaf, axis, 0), elems)
    n = _leading_size(moved)
    out = [None] * n
    order = list(range(n - 1, -1, -1)) if reverse else list(range(n))
    acc = None
    for i in order:
        x = _slice_tree(moved, i)
        acc = x if acc is None else (f(x, acc) if reverse else f(acc, x))
        out[i] = acc
    stacked = _stack_tree(out)
    return tree.map_structure(lambda leaf: moveaxis(leaf, 0, axis), stacked)


def switch(index, branches, *operands):
    """Calls `branches[index](*operands)`; the index is clipped to the valid range, as in
    Keras.

    Args:
        index: Int (or scalar integer array).
        branches: A sequence of callables.
        *operands: The arguments passed to the chosen branch.

    Returns:
        What the chosen branch returns.
    """
    if not branches:
        raise ValueError("switch: branches must not be empty")
    i = int(unwrap(index))
    i = 0 if i < 0 else (len(branches) - 1 if i >= len(branches) else i)
    return branches[i](*operands)


def _parse_einops_side(side):
    groups, current, depth = [], None, 0
    for token in side.replace("(", " ( ").replace(")", " ) ").split():
        if token == "(":
            if current is not None:
                raise ValueError(f"rearrange: nested parentheses in {side!r}")
            current = []
        elif token == ")":
            if current is None:
                raise ValueError(f"rearrange: unbalanced parentheses in {side!r}")
            groups.append(current)
            current = None
        elif current is not None:
            current.append(token)
        else:
            groups.append([token])
    if current is not None:
        raise ValueError(f"rearrange: unbalanced parentheses in {side!r}")
    del depth
    return groups


def rearrange(tensor, pattern, **axes_lengths):
    """Rearranges axes einops-style: transposes, splits and merges axes by name.

    `"b (h w) c -> b h w c"` with `h=2` splits an axis; `"b h w c -> b (h w) c"` merges two;
    `"b c -> c b"` transposes.

    Args:
        tensor: Input array.
        pattern: `"left -> right"`, each side a list of axis names and parenthesized groups.
        **axes_lengths: Sizes of axes that cannot be inferred.

    Returns:
        The rearranged array (differentiable).

    Raises:
        ValueError: If the pattern does not fit the input.
    """
    from rnnkit.ops.numpy import reshape, transpose
    if "->" not in pattern:
        raise ValueError(f"rearrange: pattern must contain '->', got {pattern!r}")
    left, right = (_parse_einops_side(s) for s in pattern.split("->"))
    shape = np.shape(unwrap(tensor))
    if len(left) != len(shape):
        raise ValueError(f"rearrange: the left side of {pattern!r} has {len(left)} axes, the "
                         f"input has shape {shape}")
    sizes = dict(axes_lengths)
    for group, dim in zip(left, shape):
        unknown = [a for a in group if a not in sizes]
        known = int(np.prod([sizes[a] for a in group if a in sizes], dtype=np.int64))
        if len(unknown) > 1:
            raise ValueError(f"rearrange: cannot infer the sizes of {unknown} in {pattern!r}")
        if unknown:
            if dim % known:
                raise ValueError(f"rearrange: axis of size {dim} cannot be split by {known}")
            sizes[unknown[0]] = dim // known
        elif known != dim:
            raise ValueError(f"rearrange: group {group} has size {known}, the axis has {dim}")
    flat_left = [a for g in left for a in g]
    flat_right = [a for g in right for a in g]
    if sorted(flat_left) != sorted(flat_right):
        raise ValueError(f"rearrange: both sides of {pattern!r} must name the same axes")
    x = reshape(tensor, tuple(sizes[a] for a in flat_left))
    x = transpose(x, tuple(flat_left.index(a) for a in flat_right))
    return reshape(x, tuple(int(np.prod([sizes[a] for a in g], dtype=np.int64))
                            for g in right))
