"""Reverse-mode automatic differentiation of `rnnkit.ops`: a gradient tape.

    with GradientTape() as tape:
        loss = ops.sum(ops.square(ops.matmul(x, w) - y))      # w: a trainable Variable
    dw = tape.gradient(loss, w)

How it works
------------
While a tape is recording (inside its `with` block, on the thread that entered it), every op whose
inputs include a *tracked* value returns a `Tensor`: the NumPy result plus a graph node holding the
op's vector-Jacobian product (VJP) and the nodes of its inputs. Tracked values are

- trainable `Variable`s read by an op (watched automatically; `watch_accessed_variables=False`
  turns that off), and anything passed to `tape.watch()` (a Variable, an array, a Tensor);
- `Tensor`s produced by ops of the same tape.

Ops whose inputs are all untracked return plain `np.ndarray`s, inside a tape or not, so inference
pays nothing for autodiff. `tape.gradient()` walks the recorded nodes that connect the target to
the sources in reverse creation order (a valid reverse topological order), calls each VJP once with
the summed gradient of its outputs, sums gradients over broadcast axes and casts them to the
dtype of the value they belong to. Non-floating values (ints, bools) are never tracked, and
non-differentiable ops (comparisons, argmax, round, casts to int, ...) return untracked arrays.

Primitives computed elsewhere (the fused C++ RNN sequence) join the graph through `record()`.
"""

from __future__ import annotations

import contextlib
import functools
import threading

import numpy as np

from rnnkit._operators import ArithmeticOperators
from rnnkit.array_library import as_array as _as_array
from rnnkit.array_library import astype as _astype
from rnnkit.array_library import is_real_floating as _is_real_floating
from rnnkit.array_library import namespace as _namespace
from rnnkit._operators import binary as _binary
from rnnkit._operators import ops as _ops
from rnnkit.graph.keras_tensor import KerasTensor, no_value_error
from rnnkit.variables import Variable

__all__ = ["GradientTape", "Tensor", "record", "unwrap", "is_tracked", "custom_gradient",
           "grad", "value_and_grad", "stop_recording", "is_recording"]


class _State(threading.local):
    tape = None          # the tape recording on this thread, or None
    autocast = None      # a mixed-precision layer's compute dtype: Variables are read in it


_state = _State()
# True once a layer with a mixed dtype policy exists (until then unwrap skips the autocast read)
mixed_layers_exist = False


def _is_float(dtype):
    return dtype.kind in "fc" or _is_real_floating(dtype)


# ------------------------------------------------------------------------------------------------
# Graph
# ------------------------------------------------------------------------------------------------

class _Node:
    """One recorded op (or a leaf: vjp is None).

    parents: per input, (parent node, output index) or None for an untracked input.
    outs: per output, (shape, dtype). vjp(grads, need) -> one gradient (or None) per input, where
    `grads` is the gradient array of the single output (multi=False) or a tuple with one array per
    output (multi=True), and `need` a tuple of bools: which inputs need a gradient.
    An op joins its tape's list of ops, in creation order (a topological order). `tape` is the
    tape's key, not the tape: the tape holds its nodes, and a node holding the tape back would
    make a reference cycle that only the garbage collector frees (keeping every VJP's arrays
    alive until it runs).
    """

    __slots__ = ("tape", "vjp", "parents", "outs", "multi")

    def __init__(self, tape, vjp, parents, outs, multi=False):
        self.tape = tape._key
        self.vjp = vjp
        self.parents = parents
        self.outs = outs
        self.multi = multi
        if vjp is not None:
            tape._ops.append(self)


class _Leaf:
    """A watched value, or a Variable an op read: a node without parents or VJP.

    A tape finds its leaves through its own table (`GradientTape._leaves`), never through the
    leaf, so a Variable's leaf can serve every tape: it is made once per Variable (`_leaf_ref`).
    """

    __slots__ = ("outs",)
    vjp = None
    parents = ()
    multi = False

    def __init__(self, shape, dtype):
        self.outs = ((shape, dtype),)


def _variable_ref(x):
    """A Variable's (leaf node, 0), or None before it has one. The Variable keeps it with its
    own id: a copy of the Variable (copy, deepcopy, pickle) has another id and gets its own."""
    kept = x._leaf_ref
    return kept[1] if kept is not None and kept[0] == id(x) else None


def _leaf_ref(x, value):
    """(leaf node, 0) for the value `x`: a Variable's own (its shape and dtype never change,
    so it is made on first use and kept on the Variable), a new one for anything else."""
    if isinstance(x, Variable):
        ref = _variable_ref(x)
        if ref is None:
            ref = (_Leaf(value.shape, value.dtype), 0)
            x._leaf_ref = (id(x), ref)
        return ref
    return (_Leaf(value.shape, value.dtype), 0)


def _released_vjp(*_):
    raise RuntimeError("This part of the graph was released by a non-persistent GradientTape "
                       "after its gradient() call; use GradientTape(persistent=True) to call "
                       "gradient() several times.")


class Tensor(ArithmeticOperators):
    """A value computed under a `GradientTape`: an `np.ndarray` plus its place in the graph.

    Ops return a `Tensor` when a tape is recording and one of their inputs is tracked;
    otherwise they return plain arrays. A Tensor behaves like its array (`np.asarray(t)`,
    `numpy()`, `shape`, `dtype`, operators, comparisons, indexing, iteration, `float(t)`);
    its operators and methods go through `rnnkit.ops`, so they are recorded too.

    Args:
        value: The array (or array-like) it holds. `Tensor(array)` makes an untracked
            tensor, which `tape.watch()` can track.

    Example:

    >>> import numpy as np, rnnkit as keras
    >>> x = keras.Tensor(np.array([1.0, 2.0]))
    >>> with keras.GradientTape() as tape:
    ...     tape.watch(x)
    ...     y = (x * x).sum()
    >>> y
    <Tensor shape=(), dtype=float64, value=5.>
    >>> tape.gradient(y, x)
    array([2., 4.])
    """

    __slots__ = ("_value", "_node", "_index", "__weakref__")
    # NumPy defers binary operators with a Tensor operand to our reflected methods.
    __array_priority__ = 200

    def __init__(self, value, _node=None, _index=0):
        self._value = value if type(value) is np.ndarray else _as_array(unwrap(value))
        self._node = _node
        self._index = _index

    # -- the value ---------------------------------------------------------------------------
    @property
    def value(self):
        """The underlying NumPy array (not a copy)."""
        return self._value

    def numpy(self):
        """Returns a copy of the value as a NumPy array."""
        return self._value.copy()

    def __array__(self, dtype=None, copy=None):
        v = self._value
        if dtype is not None and np.dtype(dtype) != v.dtype:
            return v.astype(dtype)
        return v.copy() if copy else v

    @property
    def shape(self):
        """The shape, a tuple of ints."""
        return self._value.shape

    @property
    def dtype(self):
        """The NumPy dtype."""
        return self._value.dtype

    @property
    def ndim(self):
        """The number of dimensions."""
        return self._value.ndim

    @property
    def size(self):
        """The number of elements."""
        return self._value.size

    def __len__(self):
        return len(self._value)

    def __iter__(self):
        for i in range(len(self._value)):
            yield self[i]

    def __bool__(self):
        return bool(self._value)

    def __float__(self):
        return float(self._value)

    def __int__(self):
        return int(self._value)

    def __format__(self, spec):
        v = self._value
        return format(v.item() if v.ndim == 0 else v, spec)

    def __repr__(self):
        return (f"<Tensor shape={self.shape}, dtype={self.dtype.name}, "
                f"value={np.array2string(self._value, threshold=6, edgeitems=2)}>")

    __hash__ = object.__hash__

    # -- array behaviour through rnnkit.ops (arithmetic, indexing, .T: ArithmeticOperators) --
    def astype(self, dtype):
        """Returns `rnnkit.ops.cast(self, dtype)`."""
        return _ops().cast(self, dtype)

    def reshape(self, *shape):
        """Returns `rnnkit.ops.reshape(self, shape)`; the shape may be given as several ints."""
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = shape[0]
        return _ops().reshape(self, tuple(shape))

    def sum(self, axis=None, keepdims=False):
        """Returns `rnnkit.ops.sum(self, axis, keepdims)`."""
        return _ops().sum(self, axis=axis, keepdims=keepdims)

    def mean(self, axis=None, keepdims=False):
        """Returns `rnnkit.ops.mean(self, axis, keepdims)`."""
        return _ops().mean(self, axis=axis, keepdims=keepdims)

    def __pos__(self):
        return self

    def __abs__(self):
        return _ops().abs(self)

    __floordiv__ = _binary("floor_divide")
    __rfloordiv__ = _binary("floor_divide", True)
    __mod__ = _binary("mod")
    __rmod__ = _binary("mod", True)
    __eq__ = _binary("equal")
    __ne__ = _binary("not_equal")
    __lt__ = _binary("less")
    __le__ = _binary("less_equal")
    __gt__ = _binary("greater")
    __ge__ = _binary("greater_equal")
    __and__ = _binary("logical_and")
    __rand__ = _binary("logical_and", True)
    __or__ = _binary("logical_or")
    __ror__ = _binary("logical_or", True)

    def __invert__(self):
        return _ops().logical_not(self)


# ------------------------------------------------------------------------------------------------
# Values
# ------------------------------------------------------------------------------------------------

def unwrap(x):
    """Returns the plain value of `x`: the array of a `Tensor` or a `Variable`.

    Inside a recording tape a non-trainable Variable is read as a copy, so that assigning it
    later in the same tape (a stateful RNN's states) cannot change values a VJP has kept.

    Args:
        x: A `Tensor`, a `Variable`, or anything else (returned unchanged).

    Returns:
        The NumPy array of a Tensor or Variable; `x` otherwise.
    """
    t = type(x)
    if t is np.ndarray:
        return x
    if t is Tensor:
        return x._value
    if isinstance(x, Variable):
        v = x.value
        if mixed_layers_exist:
            autocast = _state.autocast
            if autocast is not None and x._autocast and v.dtype.kind == "f":
                # Inside a mixed-precision layer's call (Keras' autocast scope): the op sees
                # the weight in the compute dtype; its gradient is cast back to the Variable's
                # dtype.
                return v.astype(autocast)
        if _state.tape is not None and not x.trainable:
            return v.copy()
        return v
    if t is KerasTensor:   # the op then records itself in the graph (graph.accept_symbolic)
        raise no_value_error(x)
    return x


def _input_node(tape, x, create=True):
    """(node, output index) of `x` in `tape`, or None when `x` is untracked there."""
    t = type(x)
    if t is Tensor:
        node = x._node
        if node is not None and node.tape is tape._key:
            return (node, x._index)
    elif t is not np.ndarray and not isinstance(x, Variable):
        return None
    # A watched value, or a Variable an op read before: the tape's leaves know it by identity.
    entry = tape._leaves.get(id(x))
    if entry is not None and entry[0] is x:
        return entry[1]
    if create and t is not Tensor and t is not np.ndarray and x.trainable and \
            tape._watch_accessed:
        kept = x._leaf_ref          # _variable_ref(x), inline: this runs per weight per op
        if kept is not None and kept[0] == id(x):
            ref = kept[1]
        else:
            value = x.value
            if value.dtype.kind not in "fc":
                return None
            ref = _leaf_ref(x, value)
        tape._leaves[id(x)] = (x, ref)
        return ref
    return None


def _source_ref(tape, x):
    """`_input_node` of a gradient() source, which must be a Variable, Tensor or array."""
    # A watched value or a Variable an op read (the common sources) is one of the tape's leaves:
    # found by identity before the type checks.
    entry = tape._leaves.get(id(x))
    if entry is not None and entry[0] is x:
        return entry[1]
    t = type(x)
    if t is not Tensor and t is not np.ndarray and not isinstance(x, (Variable, np.ndarray)):
        raise TypeError(f"gradient() sources must be Variables, Tensors or arrays, got "
                        f"{t.__name__}")
    return _input_node(tape, x, create=False)


def is_tracked(x):
    """Returns whether `x` is tracked by the tape recording on this thread.

    A value is tracked when it is a `Tensor` recorded by that tape or was watched by it
    (explicitly, or as a trainable `Variable` an op read).

    Args:
        x: Any value.

    Returns:
        Bool; always `False` when no tape is recording.
    """
    tape = _state.tape
    return tape is not None and _input_node(tape, x, create=False) is not None


def is_recording():
    """Returns whether a `GradientTape` is recording on this thread.

    Returns:
        Bool.
    """
    return _state.tape is not None


@contextlib.contextmanager
def stop_recording():
    """A context manager in which ops are not recorded (they return plain arrays).

    Unlike `GradientTape.stop_recording`, it works whatever tape (if any) is recording.

    Example:

    >>> import numpy as np, rnnkit as keras
    >>> w = keras.Variable(np.ones(2))
    >>> with keras.GradientTape():
    ...     with keras.autodiff.stop_recording():
    ...         y = keras.ops.multiply(w, 2.0)
    >>> type(y).__name__
    'ndarray'
    """
    tape = _state.tape
    _state.tape = None
    try:
        yield
    finally:
        _state.tape = tape


def _record_op(tape, y, inputs, vjp):
    """Single-output internal op: `y` computed from the unwrapped `inputs`; vjp(g, need)."""
    if type(y) is not np.ndarray:
        y = _as_array(y)
    parents = tuple([_input_node(tape, x) for x in inputs])
    if not any(parents) or not _is_float(y.dtype):
        return y
    return Tensor(y, _Node(tape, vjp, parents, ((y.shape, y.dtype),)), 0)


def _record_multi(tape, ys, inputs, vjp, converted=False):
    """Multi-output internal op: vjp(grads_tuple, need). Returns a list. `converted`: the
    outputs are already arrays."""
    if not converted:
        ys = [y if type(y) is np.ndarray else _as_array(y) for y in ys]
    parents = tuple([_input_node(tape, x) for x in inputs])
    if not any(parents):
        return ys
    node = _Node(tape, vjp, parents, tuple([(y.shape, y.dtype) for y in ys]), multi=True)
    return [Tensor(y, node, i) if _is_float(y.dtype) else y for i, y in enumerate(ys)]


def record(outputs, inputs, vjp):
    """Registers a primitive computed outside `rnnkit.ops` (e.g. the fused C++ RNN sequence).

    Use it to make a function computed in NumPy (or in C++) differentiable: compute the
    outputs from the unwrapped inputs, then hand them to `record` with the vector-Jacobian
    product.

    Args:
        outputs: a tuple (or list) of np.ndarrays already computed from the *unwrapped* inputs,
            or a single np.ndarray.
        inputs: a tuple of the original arguments (Tensors, Variables, arrays; anything else, such
            as None or a Python number, is treated as a constant).
        vjp: `vjp(output_grads) -> input_grads`. `output_grads` is a tuple with one C-contiguous
            array per output, of that output's shape and dtype; an output that received no
            gradient gets a zeros array (never None). Treat them as read-only. It returns a
            sequence with one entry per input: an array (broadcastable to the input's shape; it
            is summed over broadcast axes and cast to the input's dtype) or None (no gradient).
            It runs outside any recording, so it may call rnnkit.ops freely.

    Returns:
        If a tape is recording and any input is tracked: the outputs as tracked `Tensor`s (a
        tuple, or one Tensor for a single array; non-floating outputs stay plain arrays).
        Otherwise `outputs` unchanged.
    """
    tape = _state.tape
    if tape is None:
        return outputs
    single = not isinstance(outputs, (tuple, list))
    if single:
        ys = [outputs if type(outputs) is np.ndarray else _as_array(outputs)]
    else:
        ys = [o if type(o) is np.ndarray else _as_array(o) for o in outputs]
    n_inputs = len(inputs)

    def node_vjp(grads, need):
        grads = tuple([g if type(g) is np.ndarray and g.flags.c_contiguous else
                       np.ascontiguousarray(g) if type(g) is np.ndarray else
                       _namespace(g).ascontiguousarray(g) for g in grads])
        result = vjp(grads)
        if result is None:
            return (None,) * n_inputs
        result = tuple(result)
        if len(result) != n_inputs:
            raise ValueError(f"The vjp of a recorded primitive returned {len(result)} gradients "
                             f"for {n_inputs} inputs")
        return result

    wrapped = _record_multi(tape, ys, tuple(inputs), node_vjp, True)
    if single:
        return wrapped[0]
    return tuple(wrapped) if isinstance(outputs, tuple) else list(wrapped)


# ------------------------------------------------------------------------------------------------
# Nested structures (list / tuple / dict) of leaves, without depending on rnnkit.tree
# ------------------------------------------------------------------------------------------------

def _flatten(x):
    t = type(x)
    if t is list or t is tuple:
        # A flat list of leaves (a model's weights, say) is the common case: no recursion.
        for item in x:
            if isinstance(item, (list, tuple, dict)):
                return [leaf for item in x for leaf in _flatten(item)]
        return list(x)
    if isinstance(x, (list, tuple)):
        return [leaf for item in x for leaf in _flatten(item)]
    if isinstance(x, dict):
        return [leaf for k in sorted(x, key=repr) for leaf in _flatten(x[k])]
    return [x]


def _pack_like(structure, leaves):
    if type(structure) is list:
        for s in structure:
            if isinstance(s, (list, tuple, dict)):
                break
        else:
            return list(leaves)
    it = iter(leaves)

    def build(s):
        if isinstance(s, list):
            return [build(i) for i in s]
        if isinstance(s, tuple):
            items = [build(i) for i in s]
            return type(s)(*items) if hasattr(s, "_fields") else tuple(items)
        if isinstance(s, dict):
            built = {k: build(s[k]) for k in sorted(s, key=repr)}
            return type(s)((k, built[k]) for k in s) if type(s) is not dict else \
                {k: built[k] for k in s}
        return next(it)

    return build(structure)


# ------------------------------------------------------------------------------------------------
# The tape
# ------------------------------------------------------------------------------------------------

def _unbroadcast(g, shape):
    """Sum `g` over the axes along which a value of `shape` was broadcast to g's shape."""
    if g.shape == shape:
        return g
    extra = g.ndim - len(shape)
    if extra > 0:
        g = g.sum(axis=tuple(range(extra)))
    axes = tuple(i for i, s in enumerate(shape) if s == 1 and g.shape[i] != 1)
    if axes:
        g = g.sum(axis=axes, keepdims=True)
    if g.shape != shape:
        g = np.broadcast_to(g, shape).copy()
    return g


def _zeros_namespace(slots):
    """The array module of the gradients in `slots` that are not None."""
    for g in slots:
        if g is not None:
            return np if type(g) is np.ndarray else _namespace(g)
    return np


def _accumulate(grads, ref, g):
    """Adds the gradient `g` of output `ref[1]` of node `ref[0]` into `grads` (summed over
    broadcast axes and cast to the output's shape and dtype)."""
    node, idx = ref
    shape, dtype = node.outs[idx]
    if type(g) is not np.ndarray:
        g = _as_array(g)
    if g.shape != shape:
        g = _unbroadcast(g, shape)
    if g.dtype is not dtype and g.dtype != dtype:
        g = _astype(g, dtype) if type(g) is np.ndarray else g.astype(dtype)
    slots = grads.get(node)
    if slots is None:
        if not node.multi:
            grads[node] = [g]
            return
        slots = grads[node] = [None] * len(node.outs)
    slots[idx] = g if slots[idx] is None else slots[idx] + g


class GradientTape:
    """Records the ops run inside its `with` block, to compute gradients with `gradient()`.

    While the tape records (inside its `with` block, on the thread that entered it), every
    `rnnkit.ops` op with a tracked input returns a tracked `Tensor`. Tracked values are the
    trainable `Variable`s that ops read (watched automatically), what `watch()` was given,
    and the Tensors the tape's ops produce. Layers, losses and the fused C++ RNN kernel are
    all differentiable this way. The API follows `tf.GradientTape`.

    Args:
        persistent: Bool, allow several `gradient()` calls. Otherwise a second call raises
            `RuntimeError` and the recorded graph is released after the first. Defaults to
            `False`.
        watch_accessed_variables: Bool, watch every trainable Variable an op reads.
            Defaults to `True`.

    Raises:
        RuntimeError: On entering a tape while another one records on the thread (nested
            tapes, hence higher-order gradients, are not supported), or entering a tape
            twice.

    Example:

    >>> import numpy as np, rnnkit as keras
    >>> w = keras.Variable(np.array([1.0, 2.0]))
    >>> with keras.GradientTape() as tape:
    ...     loss = keras.ops.sum(keras.ops.square(w))
    >>> tape.gradient(loss, w)
    array([2., 4.], dtype=float32)
    """

    def __init__(self, persistent=False, watch_accessed_variables=True):
        self._persistent = bool(persistent)
        self._watch_accessed = bool(watch_accessed_variables)
        self._leaves = {}          # id(obj) -> (obj, (leaf node, 0))
        self._ops = []             # the recorded op nodes, in creation order
        self._key = object()       # what the nodes of this tape hold to say so (see _Node)
        self._used = False
        self._entered = False

    # -- recording ---------------------------------------------------------------------------
    def __enter__(self):
        if _state.tape is not None:
            raise RuntimeError("Nested GradientTapes are not supported: a GradientTape is "
                               "already recording on this thread.")
        if self._entered:
            raise RuntimeError("A GradientTape can be entered only once.")
        self._entered = True
        _state.tape = self
        return self

    def __exit__(self, *exc):
        if _state.tape is self:
            _state.tape = None
        return False

    @contextlib.contextmanager
    def stop_recording(self):
        """A context manager that pauses this tape's recording (ops return plain arrays).

        Raises:
            RuntimeError: If this tape is not the one recording.
        """
        if _state.tape is not self:
            raise RuntimeError("stop_recording() is only valid while this tape is recording.")
        _state.tape = None
        try:
            yield
        finally:
            _state.tape = self

    def _add_leaf(self, obj, value):
        ref = _leaf_ref(obj, value)
        self._leaves[id(obj)] = (obj, ref)
        return ref

    def watch(self, x):
        """Tracks values, so that ops on them are recorded and `gradient()` can differentiate
        with respect to them.

        Non-floating values are ignored.

        Args:
            x: A `Variable`, an array or a `Tensor`, or a nested list/tuple/dict of them.

        Raises:
            TypeError: For any other kind of value.
        """
        if type(x) is np.ndarray:      # one array: the common case, without the walk
            if _is_float(x.dtype):
                entry = self._leaves.get(id(x))
                if entry is None or entry[0] is not x:
                    self._add_leaf(x, x)
            return
        for leaf in _flatten(x):
            if isinstance(leaf, (Variable, Tensor)):
                value = unwrap(leaf) if isinstance(leaf, Tensor) else leaf.value
            elif isinstance(leaf, np.ndarray):
                value = leaf
            else:
                raise TypeError(f"GradientTape.watch() expects Variables, arrays or Tensors, "
                                f"got {type(leaf).__name__}")
            if not _is_float(value.dtype):
                continue
            if isinstance(leaf, Tensor) and leaf._node is not None and leaf._node.tape is self._key:
                continue
            entry = self._leaves.get(id(leaf))
            if entry is None or entry[0] is not leaf:
                self._add_leaf(leaf, value)

    def watched_variables(self):
        """Returns the `Variable`s the tape watches (explicitly or as read by ops)."""
        return [obj for obj, _ in self._leaves.values() if isinstance(obj, Variable)]

    def reset(self):
        """Forgets the watched values and allows `gradient()` again.

        Ops recorded before stay in the graph but are no longer reachable from new sources.
        """
        self._leaves = {}
        self._used = False

    # -- differentiation ---------------------------------------------------------------------
    def _ref(self, x):
        return _input_node(self, x, create=False)

    def gradient(self, target, sources, output_gradients=None, unconnected_gradients="none"):
        """Computes the gradients of `target` with respect to `sources`.

        Args:
            target: A Tensor, or a nested structure of Tensors (their gradients add up). A
                non-scalar target is summed (its output gradient defaults to ones).
            sources: A `Variable`, `Tensor` or array, or a nested list/tuple/dict of them.
            output_gradients: Optional initial gradients of `target`, in its structure.
            unconnected_gradients: `"none"` (the default: sources the target does not
                depend on get `None`) or `"zero"` (they get zeros).

        Returns:
            The gradients, in the structure of `sources`; each has the shape and dtype of
            its source.

        Raises:
            RuntimeError: On a second call of a non-persistent tape.
            TypeError: If a source is not a Variable, Tensor or array.
            ValueError: If `unconnected_gradients` is invalid or `output_gradients` does not
                match `target`.
        """
        if unconnected_gradients not in ("none", "zero"):
            raise ValueError(f"unconnected_gradients must be 'none' or 'zero', "
                             f"got {unconnected_gradients!r}")
        if self._used and not self._persistent:
            raise RuntimeError("A non-persistent GradientTape can only be used to compute one "
                               "set of gradients; use GradientTape(persistent=True) to call "
                               "gradient() several times.")
        self._used = True

        single_source = not isinstance(sources, (list, tuple, dict))
        src_leaves = [sources] if single_source else _flatten(sources)
        src_refs = [_source_ref(self, s) for s in src_leaves]

        # One target with its seed (a loss, a layer's output) skips the nested-structure walk.
        single_target = type(target) is Tensor
        targets = [target] if single_target else _flatten(target)
        if output_gradients is None:
            seeds = [None] * len(targets)
        else:
            seeds = [output_gradients] if single_target and \
                type(output_gradients) is np.ndarray else _flatten(output_gradients)
            if len(seeds) != len(targets):
                raise ValueError("output_gradients must have the structure of target")

        grads = {}          # node -> list of accumulated output gradients
        for t, seed in zip(targets, seeds):
            ref = _input_node(self, t, create=False)
            if ref is None:
                continue
            if seed is None:
                value = unwrap(t)
                seed = np.ones(value.shape, value.dtype) if type(value) is np.ndarray \
                    else np.ones_like(value)
            else:
                seed = unwrap(seed)
            _accumulate(grads, ref, seed)

        # The ops on a path from a source to a target need a VJP call. The tape's list is in
        # creation order, so one pass forward finds those that depend on a source, and one pass
        # back (over the ops that received a gradient) propagates the gradients.
        recorded = self._ops
        source_nodes = {r[0] for r in src_refs if r is not None}
        relevant = set(source_nodes)
        if relevant:
            for node in recorded:
                for p in node.parents:
                    if p is not None and p[0] in relevant:
                        relevant.add(node)
                        break

        previous, _state.tape = _state.tape, None      # VJPs run unrecorded
        try:
            for node in reversed(recorded):
                if node not in relevant or node not in grads:
                    continue
                slots = grads[node] if node in source_nodes else grads.pop(node)
                parents = node.parents
                need = tuple([p is not None and p[0] in relevant for p in parents])
                if True not in need:
                    continue
                if node.multi:
                    xp = None
                    gs = []
                    for g, (shape, dtype) in zip(slots, node.outs):
                        if g is None:
                            if xp is None:     # on the device of the gradients received
                                xp = _zeros_namespace(slots)
                            g = xp.zeros(shape, dtype)
                        gs.append(g)
                    in_grads = node.vjp(tuple(gs), need)
                else:
                    in_grads = node.vjp(slots[0], need)
                for p, n, g in zip(parents, need, in_grads):
                    if n and g is not None:
                        # The first gradient of a single-output node, of its exact shape and
                        # dtype (a leaf's, from a VJP): _accumulate has nothing to convert.
                        parent = p[0]
                        if not parent.multi and type(g) is np.ndarray and parent not in grads:
                            shape, dtype = parent.outs[0]
                            if g.dtype is dtype and g.shape == shape:
                                grads[parent] = [g]
                                continue
                        _accumulate(grads, p, g)
        finally:
            _state.tape = previous

        out = []
        for s, ref in zip(src_leaves, src_refs):
            slots = grads.get(ref[0]) if ref is not None else None
            g = slots[ref[1]] if slots is not None else None
            if g is None and unconnected_gradients == "zero":
                value = unwrap(s) if not isinstance(s, Variable) else s.value
                g = np.zeros_like(value)
            out.append(g)

        if not self._persistent:
            for node in recorded:        # release what the VJPs kept alive
                node.vjp = _released_vjp
            self._ops = []
        if single_source:
            return out[0]
        return _pack_like(sources, out)


# ------------------------------------------------------------------------------------------------
# Functional helpers
# ------------------------------------------------------------------------------------------------

def custom_gradient(fn):
    """Decorator that gives a function its own gradient (like `tf.custom_gradient`).

    The decorated `fn(*args)` returns `(outputs, grad_fn)`: `outputs` is one array or a
    tuple of arrays, and `grad_fn(*output_grads)` returns the gradient of each positional
    argument (a single value when there is one argument; `None` for no gradient). Inside
    `fn` the arguments are plain arrays and nothing is recorded.

    Args:
        fn: The function to decorate.

    Returns:
        A function returning `outputs`, differentiable with `grad_fn` under a
        `GradientTape`.

    Example:

    >>> import numpy as np, rnnkit as keras
    >>> @keras.ops.custom_gradient
    ... def triple_with_clipped_grad(x):
    ...     return x * 3.0, lambda g: np.clip(g * 3.0, -1.0, 1.0)
    >>> x = keras.Variable(np.array([1.0]))
    >>> with keras.GradientTape() as tape:
    ...     y = triple_with_clipped_grad(x)
    >>> tape.gradient(y, x)
    array([1.], dtype=float32)
    """

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        values = [unwrap(a) for a in args]
        with stop_recording():
            outputs, grad_fn = fn(*values, **kwargs)
        single = not isinstance(outputs, (tuple, list))
        outs = (outputs,) if single else tuple(outputs)
        outs = tuple(_as_array(unwrap(o)) for o in outs)

        def vjp(gs):
            res = grad_fn(*gs)
            if len(args) == 1 and not isinstance(res, (tuple, list)):
                res = (res,)
            return tuple(None if r is None else unwrap(r) for r in res)

        result = record(outs, args, vjp)
        return result[0] if single else result

    return wrapper


def value_and_grad(fn, argnums=0, has_aux=False):
    """Returns a function computing a scalar function's value and gradients (JAX-style).

    Args:
        fn: A function returning a scalar (or `(scalar, aux)` with `has_aux`), written
            with `rnnkit.ops`.
        argnums: Int, or tuple of ints: the positional arguments to differentiate. Each
            may be an array, a `Variable` or a nested list/dict of them. Defaults to 0.
        has_aux: Bool, `fn` returns `(value, aux)`. Defaults to `False`.

    Returns:
        A function `f(*args)` returning `(value, grads)`, or `((value, aux), grads)` with
        `has_aux`; `grads` is one gradient (in the argument's structure) for an int
        `argnums`, else a tuple. Unconnected arguments get zeros.

    Example:

    >>> import numpy as np, rnnkit as keras
    >>> f = keras.autodiff.value_and_grad(lambda x: keras.ops.sum(x ** 2))
    >>> f(np.array([1.0, 3.0]))
    (array(10.), array([2., 6.]))
    """
    single = isinstance(argnums, int)
    nums = (argnums,) if single else tuple(argnums)

    def wrapped(*args, **kwargs):
        args = list(args)
        watched = []
        with GradientTape() as tape:
            for i in nums:
                leaves = [leaf if isinstance(leaf, Variable) else
                          Tensor(_as_array(unwrap(leaf))) for leaf in _flatten(args[i])]
                args[i] = _pack_like(args[i], leaves)
                tape.watch(leaves)
                watched.append(args[i])
            out = fn(*args, **kwargs)
        value, aux = out if has_aux else (out, None)
        grads = tape.gradient(value, watched, unconnected_gradients="zero")
        value = unwrap(value)
        if isinstance(value, np.ndarray) or np.isscalar(value):
            value = np.asarray(value)
        grads = grads[0] if single else tuple(grads)
        return ((value, _unwrap_tree(aux)), grads) if has_aux else (value, grads)

    return wrapped


def grad(fn, argnums=0, has_aux=False):
    """Returns a function computing the gradient of a scalar function (JAX-style).

    Args:
        fn: A function returning a scalar (or `(scalar, aux)` with `has_aux`).
        argnums: Int, or tuple of ints: the positional arguments to differentiate.
            Defaults to 0.
        has_aux: Bool, `fn` returns `(value, aux)`; the new function then returns
            `(grads, aux)`. Defaults to `False`.

    Returns:
        A function `g(*args)` returning the gradient(s), as `value_and_grad` does.

    Example:

    >>> import numpy as np, rnnkit as keras
    >>> keras.autodiff.grad(lambda x: keras.ops.sum(x ** 2))(np.array([1.0, 3.0]))
    array([2., 6.])
    """
    vg = value_and_grad(fn, argnums, has_aux)

    def wrapped(*args, **kwargs):
        (value, grads) = vg(*args, **kwargs)
        return (grads, value[1]) if has_aux else grads

    return wrapped


def _unwrap_tree(x):
    if isinstance(x, (list, tuple, dict)):
        return _pack_like(x, [unwrap(leaf) for leaf in _flatten(x)])
    return unwrap(x)
