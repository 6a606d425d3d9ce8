"""`rnnkit.ops` functions on symbolic tensors: each such call becomes an `Operation` with one
`Node` in the graph, which a model replays on arrays (on tracked Tensors inside a GradientTape,
so it differentiates like any op).

`accept_symbolic(fn)` gives an op this ability. The returned function has `fn`'s signature and
first simply calls `fn`: an op meeting a symbolic tensor raises `SymbolicValueError` (from
`autodiff.unwrap` or the tensor's `__array__`), and only then are the arguments searched for
symbolic tensors and the call recorded. Eager calls pay one extra Python call and no checks.

Output shapes come from running `fn` on stand-in arrays (ones for floating inputs, zeros for
integer and boolean ones): unknown sizes are set to 2, then to 3, and an output size that changes
with them is unknown (None). When the op rejects those sizes (say, a broadcast of an unknown size
against a known one), it runs once with unknown sizes set to 1 and an unknown batch size is kept
on the outputs' first axis.
"""

from __future__ import annotations

import inspect
import re
import warnings

import numpy as np

from rnnkit import tree
from rnnkit.graph.keras_tensor import KerasTensor, is_symbolic
from rnnkit.graph.node import Node
from rnnkit.naming import unique_name


def class_name_of(op_name):
    """`log_softmax` -> `LogSoftmax`: the name Keras gives the class of the op."""
    return "".join(part[:1].upper() + part[1:] for part in op_name.split("_"))


def op_name_of(class_name):
    """`LogSoftmax` -> `log_softmax`: the op a saved class name stands for."""
    return re.sub(r"(?<!^)([A-Z])", r"_\1", class_name).lower()


class Operation:
    """One call of an `rnnkit.ops` function in a graph (Keras' `Operation` instance for an op).

    It has no weights and no mask; called on arrays it calls the function. `name` is unique
    (`add`, `add_1`, ...) and `op_name` is the function's name in `rnnkit.ops`.
    `symbolic_op` makes one per recorded call; a functional model lists them in
    `model.operations`.

    Args:
        fn: The function to call (the unwrapped op).
        name: Optional unique name; by default made from `op_name`.
        op_name: The op's name in `rnnkit.ops`. Defaults to `fn.__name__`.
    """

    built = True
    trainable = False
    supports_masking = False
    _call_has_training_arg = False
    _call_has_mask_arg = False

    def __init__(self, fn, name=None, op_name=None):
        self.fn = fn
        self.op_name = op_name or fn.__name__
        self.name = name or unique_name(self.op_name)
        self._inbound_nodes = []

    @property
    def class_name(self):
        """Keras' class name of the op (`"LogSoftmax"` for `log_softmax`), used in configs
        and summaries."""
        return class_name_of(self.op_name)

    @property
    def weights(self):
        """An empty list: an op has no weights (also `trainable_weights` and
        `non_trainable_weights`)."""
        return []

    trainable_weights = non_trainable_weights = weights

    def count_params(self):
        """Returns 0: an op has no weights."""
        return 0

    def __call__(self, *args, **kwargs):
        """Calls the op's function on the (concrete) arguments and returns its result."""
        return self.fn(*args, **kwargs)

    def compute_mask(self, inputs, previous_mask=None):
        """Returns None: an op's outputs carry no mask."""
        return None

    def get_config(self):
        """Returns `{"name": name}` (the op's other arguments are saved with its node)."""
        return {"name": self.name}

    def __repr__(self):
        return f"<Operation {self.op_name} name={self.name}>"


def _stand_in(tensor, fill):
    shape = tuple(fill if s is None else s for s in tensor.shape)
    dtype = np.dtype(tensor.dtype)
    return np.ones(shape, dtype) if dtype.kind in "fc" else np.zeros(shape, dtype)


def _run_on_stand_ins(fn, args, kwargs, fill):
    concrete_args, concrete_kwargs = tree.map_structure(
        lambda v: _stand_in(v, fill) if isinstance(v, KerasTensor) else v, (args, kwargs))
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = fn(*concrete_args, **concrete_kwargs)
    return tree.map_structure(_spec, result)


class _Spec:
    """The shape and dtype of one output (a leaf for `tree`)."""

    def __init__(self, shape, dtype):
        self.shape = shape
        self.dtype = dtype


def _spec(value):
    value = getattr(value, "_value", value)     # an autodiff Tensor
    array = value if isinstance(value, np.ndarray) else np.asarray(value)
    return _Spec(tuple(array.shape), array.dtype.name)


def _merge(small, large):
    """Sizes that differ between the runs with unknown sizes 2 and 3 are unknown."""
    if len(small.shape) != len(large.shape):
        return _Spec(None, small.dtype)
    return _Spec(tuple(a if a == b else None for a, b in zip(small.shape, large.shape)),
                 small.dtype)


def _output_specs(fn, args, kwargs):
    """The `_Spec` of each output of `fn(*args, **kwargs)`, with None for sizes that depend on
    the unknown sizes of the symbolic inputs."""
    inputs = [x for x in tree.flatten((args, kwargs)) if isinstance(x, KerasTensor)]
    if not any(s is None for t in inputs for s in t.shape):
        return _run_on_stand_ins(fn, args, kwargs, 1)
    try:
        small = _run_on_stand_ins(fn, args, kwargs, 2)
        large = _run_on_stand_ins(fn, args, kwargs, 3)
    except Exception:
        small = None
    if small is not None:
        if len(tree.flatten(small)) != len(tree.flatten(large)):
            raise ValueError(f"rnnkit.ops.{fn.__name__}: the number of its outputs depends on "
                             "unknown sizes of its symbolic inputs")
        return tree.map_structure(_merge, small, large)
    specs = _run_on_stand_ins(fn, args, kwargs, 1)
    batch_unknown = any(t.shape and t.shape[0] is None for t in inputs)
    return tree.map_structure(
        lambda s: _Spec((None,) + s.shape[1:], s.dtype) if batch_unknown and s.shape else s,
        specs)


def symbolic_op(fn, args, kwargs, name=None, op_name=None):
    """Records `fn(*args, **kwargs)` on symbolic tensors as a new `Operation` (named `name`, or
    automatically after `op_name`, the op's name in rnnkit.ops, by default `fn.__name__`);
    returns its symbolic outputs, in the structure `fn` returns.

    The output shapes and dtypes come from running `fn` on stand-in arrays (see the module
    docstring); an error `fn` raises there propagates, with a note giving the input shapes.

    Raises:
        ValueError: If the number or rank of the outputs depends on unknown input sizes.

    Example:

    >>> import numpy as np, rnnkit as keras
    >>> from rnnkit import graph
    >>> x = keras.Input((4,))
    >>> y = graph.symbolic_op(np.cumsum, (x,), {"axis": 1}, op_name="cumsum")
    >>> y.shape, y.history[0].op_name
    ((None, 4), 'cumsum')
    """
    op_name = op_name or fn.__name__
    try:
        specs = _output_specs(fn, args, kwargs)
    except Exception as error:
        shapes = [t.shape for t in tree.flatten((args, kwargs)) if isinstance(t, KerasTensor)]
        error.add_note(f"(rnnkit.ops.{op_name} on symbolic tensors of shapes {shapes}, "
                       "run on stand-in arrays for the unknown sizes)")
        raise
    operation = Operation(fn, name=name, op_name=op_name)
    counter = iter(range(1 << 30))

    def make(spec):
        if spec.shape is None:
            raise ValueError(f"rnnkit.ops.{op_name}: the number of dimensions of its "
                             "output depends on unknown sizes of its symbolic inputs")
        return KerasTensor(spec.shape, spec.dtype,
                           name=f"{operation.name}_0_{next(counter)}")

    outputs = tree.map_structure(make, specs)
    Node(operation, args, kwargs, outputs)
    return outputs


# ------------------------------------------------------------------------------------------------
# The wrapper that lets an op take symbolic tensors
# ------------------------------------------------------------------------------------------------

# Ops that answer from a symbolic tensor's static description instead of recording a node.
_STATIC = {"dtype": lambda x: x.dtype, "shape": lambda x: x.shape, "ndim": lambda x: x.ndim}

_MISSING = object()


def _record(fn, op_name, positional, defaults, args_rest, keywords, kw_defaults, kwargs_rest):
    """The slow path: the op met a symbolic tensor. Drops trailing arguments left at their
    default (so that the node holds the call as written), then records it."""
    positional = list(positional)
    while positional and defaults and defaults[len(positional) - 1] is not _MISSING and \
            positional[-1] is defaults[len(positional) - 1] and not args_rest:
        positional.pop()
    args = tuple(positional) + tuple(args_rest)
    kwargs = {k: v for k, v in keywords.items() if v is not kw_defaults.get(k, _MISSING)}
    kwargs.update(kwargs_rest)
    static = _STATIC.get(op_name)
    if static is not None and args and isinstance(args[0], KerasTensor):
        return static(args[0])
    return symbolic_op(fn, args, kwargs, op_name=op_name)


def accept_symbolic(fn, name=None):
    """`fn` (an rnnkit.ops function) made to record a graph node when given symbolic tensors;
    `name` is the op's public name (`true_divide` for `divide`), by default `fn.__name__`.

    The wrapper is generated with `fn`'s own parameters, so that an eager call costs one plain
    extra call: it calls `fn` at once and looks for symbolic tensors only if `fn` raised a
    TypeError.
    """
    signature = inspect.signature(fn)
    name = name or fn.__name__
    params, call, positional, defaults, keywords, kw_defaults = [], [], [], [], [], {}
    args_rest, kwargs_rest = "()", "{}"
    namespace = {"_fn": fn, "_name": name, "_record": _record, "_is_symbolic": is_symbolic,
                 "_MISSING": _MISSING}
    seen_keyword_only = False
    for index, p in enumerate(signature.parameters.values()):
        default = ""
        if p.default is not inspect.Parameter.empty:
            namespace[f"_d{index}"] = p.default
            default = f"=_d{index}"
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD):
            params.append(f"{p.name}{default}")
            call.append(p.name)
            positional.append(p.name)
            defaults.append(f"_d{index}" if default else "_MISSING")
        elif p.kind is p.VAR_POSITIONAL:
            params.append(f"*{p.name}")
            call.append(f"*{p.name}")
            args_rest = p.name
            seen_keyword_only = True
        elif p.kind is p.KEYWORD_ONLY:
            if not seen_keyword_only:
                params.append("*")
                seen_keyword_only = True
            params.append(f"{p.name}{default}")
            call.append(f"{p.name}={p.name}")
            keywords.append(p.name)
            if default:
                kw_defaults[p.name] = f"_d{index}"
        else:
            params.append(f"**{p.name}")
            call.append(f"**{p.name}")
            kwargs_rest = p.name
        if p.kind is p.POSITIONAL_ONLY and (index + 1 == len(signature.parameters) or list(
                signature.parameters.values())[index + 1].kind is not p.POSITIONAL_ONLY):
            params.append("/")
    source = (
        f"def {name}({', '.join(params)}):\n"
        f"    try:\n"
        f"        return _fn({', '.join(call)})\n"
        f"    except TypeError:\n"
        f"        if not _is_symbolic(({', '.join(positional + [''])}{args_rest}, "
        f"{{{', '.join(f'{k!r}: {k}' for k in keywords)}}}, {kwargs_rest})):\n"
        f"            raise\n"
        f"    return _record(_fn, _name, ({', '.join(positional + [''])}), "
        f"({', '.join(defaults + [''])}), {args_rest}, "
        f"{{{', '.join(f'{k!r}: {k}' for k in keywords)}}}, "
        f"{{{', '.join(f'{k!r}: {v}' for k, v in kw_defaults.items())}}}, {kwargs_rest})\n")
    exec(compile(source, f"<rnnkit.ops.{name}>", "exec"), namespace)
    wrapper = namespace[name]
    wrapper.__doc__ = fn.__doc__
    wrapper.__module__ = fn.__module__
    wrapper.__wrapped__ = fn
    return wrapper
