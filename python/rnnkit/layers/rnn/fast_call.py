"""The layer call's fast path: SimpleRNN, GRU and LSTM called eagerly for inference.

A user who streams data through a recurrent layer (one short sequence, or one step, per call)
pays the Python around the core on every call: the generic `Layer.__call__` (input
conversion, training flag, masks, build), `RNN.call` (shape and state checks, the fused plan)
and `rnnkit.core.rnn_forward` (argument gathering and layout checks). At one timestep that is
two thirds of the call. When a call has nothing for that machinery to do, `try_call` runs the
core directly and returns what the full path returns; otherwise it answers `NOT_TAKEN` and the
full path runs (and reports any error).

The fast path is taken only when every one of these holds:
- the layer's `call` and `get_initial_state` are the RNN's own (SimpleRNN, GRU, LSTM, or
  `RNN(cell)`; `RNN.__call__` checks this), has no activity regularizer and no pending
  losses, and is built (a stateful layer is taken for one timestep of inference, through the
  C++ stream of `streaming.py`, once its states exist); its cell is one built-in cell the core runs as it is
  (`BuiltinCell.fused_spec`), starting from zero states;
- it is called with one positional argument and no keyword other than `training`; training is
  off, or the cell has no dropout (then training changes nothing); the input carries no Keras
  mask;
- the input is a C-contiguous NumPy array (or a `Tensor` of one) of the layer's dtype, of shape (B, T, I) with B, T
  and I positive and I the width the layer was built for, and the weights are C-contiguous.
The C++ core still validates every argument. Under a recording `GradientTape` the call is one
recorded op whose VJP is the core's backward, as on the full path.

What depends on the layer and its cell only (the cell's spec, the weights' checks, the core's
leading arguments) is checked once and kept as the layer's `_Plan` until an attribute of
either is set; each call checks its input, training flag and mask.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from rnnkit import _core, autodiff, masking
from rnnkit.layers import layer as layer_module
from rnnkit.layers.rnn import fused, streaming
from rnnkit.layers.rnn.cell_base import BuiltinCell

NOT_TAKEN = object()

_DTYPES = {name: np.dtype(name) for name in ("float32", "float64")}
# initial_h, initial_c, mask, input_dropout, recurrent_dropout: none on the fast path.
_NO_STATES_MASK_DROPOUT = (None,) * 5


def _contiguous(array):
    flags = array.flags
    return flags.c_contiguous and flags.aligned


def _training_flag(kwargs):
    """The call's training flag (the explicit one, else the enclosing call's), or NOT_TAKEN for
    keyword arguments the fast path does not handle."""
    if not kwargs:
        return layer_module.current_training()
    if len(kwargs) != 1 or "training" not in kwargs:
        return NOT_TAKEN
    training = kwargs["training"]
    return layer_module.current_training() if training is None else training


class _Plan(NamedTuple):
    """What `try_call` checked of a layer and its cell, kept until either changes.

    The layer keeps its plan under `_fast_call_plan`, which `RNN.__setattr__` drops; the cell
    holds a token (`_fast_call_token`, dropped by `BuiltinCell.__setattr__`) that the plan must
    still match. A weight Variable keeps its array for life (assignments copy into it), so the
    weights' checks hold as long as the cell's attributes do.
    """

    token: object            # the cell's _fast_call_token when the plan was made
    methods: tuple           # _cell_methods(cell) then
    spec: tuple              # cell.fused_spec()
    dtype: np.dtype          # the layer's (and weights') dtype
    width: int               # the input width the layer was built for
    dropout: bool            # whether training applies dropout
    head: tuple              # _core.forward's / backward's leading arguments
    weights: tuple           # kernel, recurrent kernel and bias arrays (bias may be None)
    variables: tuple         # their Variables: the recorded op's inputs after x


def _make_plan(layer, cell):
    """The plan of `layer`, or None when its calls need the full path whatever the input."""
    # The cell must run the core's equations (fused_spec) from zero states.
    spec = cell.fused_spec() if isinstance(cell, BuiltinCell) else None
    if spec is None or type(cell).get_initial_state is not BuiltinCell.get_initial_state:
        return None
    if not layer.built or layer.activity_regularizer is not None:
        return None
    dtype = _DTYPES.get(layer.dtype)
    kernel = cell.kernel.value
    if dtype is None or type(kernel) is not np.ndarray:   # weights on a device: the full path
        return None
    width = kernel.shape[0]
    recurrent_kernel = cell.recurrent_kernel.value
    bias = cell.fused_bias()
    if width == 0 or not (_contiguous(kernel) and _contiguous(recurrent_kernel) and
                          (bias is None or _contiguous(bias))):
        return None
    if kernel.dtype is not dtype or recurrent_kernel.dtype is not dtype:
        return None
    core_name, (activation, recurrent_activation) = spec
    # `_core.forward`'s and `_core.backward`'s leading arguments, passed by position (matching 19
    # keywords costs the binding more than the core's own checks at one timestep).
    head = (core_name, width, recurrent_kernel.shape[0], activation, recurrent_activation,
            bool(getattr(cell, "reset_after", True)), bool(layer.go_backwards),
            bool(layer.return_sequences), bool(layer.zero_output_for_mask))
    variables = (cell.kernel, cell.recurrent_kernel) if bias is None else \
        (cell.kernel, cell.recurrent_kernel, cell.bias)
    # Training changes nothing for a cell without dropout.
    dropout = cell._rate_applies(cell.dropout) or cell._rate_applies(cell.recurrent_dropout)
    token = cell.__dict__.get("_fast_call_token")
    if token is None:
        token = cell.__dict__["_fast_call_token"] = object()
    return _Plan(token, _cell_methods(cell), spec, dtype, width, dropout, head,
                 (kernel, recurrent_kernel, bias), variables)


def _cell_methods(cell):
    """The cell class's call and get_initial_state: a class patched after the plan was made
    (not through the cell's attributes) must not keep it."""
    cls = type(cell)
    return (cls.call, cls.get_initial_state)


def try_call(layer, args, kwargs):
    """The outputs of `layer(*args, **kwargs)`, computed directly by the core, or `NOT_TAKEN`
    when the call needs the full path (see the module docstring)."""
    if len(args) != 1:
        return NOT_TAKEN
    training = _training_flag(kwargs)
    if training is NOT_TAKEN:
        return NOT_TAKEN
    x = args[0]
    if type(x) is np.ndarray:
        value = x
    elif type(x) is autodiff.Tensor and type(x._value) is np.ndarray:
        value = x._value
    else:
        return NOT_TAKEN
    if masking.any_masks() and masking.get_keras_mask(x) is not None:
        return NOT_TAKEN
    cell = layer.cell
    plan = layer.__dict__.get("_fast_call_plan")
    if plan is None or cell.__dict__.get("_fast_call_token") is not plan.token or \
            _cell_methods(cell) != plan.methods:
        plan = _make_plan(layer, cell)
        if plan is None:
            return NOT_TAKEN
        layer.__dict__["_fast_call_plan"] = plan    # not through __setattr__, which drops it
    if layer._losses:       # losses added in place since
        return NOT_TAKEN
    if training and plan.dropout:
        return NOT_TAKEN
    if value.dtype is not plan.dtype or value.ndim != 3 or not _contiguous(value):
        return NOT_TAKEN
    batch, steps, width = value.shape
    if batch == 0 or steps == 0 or width != plan.width:
        return NOT_TAKEN
    if layer.stateful:
        return _stateful_step(layer, x, value, training, cell, plan.spec, plan.dtype)
    arrays = (value,) + plan.weights + _NO_STATES_MASK_DROPOUT
    tape = autodiff._state.tape
    if tape is None:
        output, h, c, _ = _core.forward(*plan.head, False, *arrays)
        outputs = [output, h] if c is None else [output, h, c]
    else:
        outputs = _recorded_call(tape, x, plan, arrays, layer.return_state)
    return outputs if layer.return_state else outputs[0]


def _stateful_step(layer, x, value, training, cell, spec, dtype):
    """One timestep of a stateful layer, for inference: the C++ stream that holds the packed
    weights (what `RNN.call` does for such a call, without the layer machinery before it)."""
    if value.shape[1] != 1 or type(x) is not np.ndarray or autodiff._state.tape is not None:
        return NOT_TAKEN
    # fused.plan for the one built-in cell try_call checked (its spec already at hand).
    entry = fused.cell_plan(cell, spec, dtype)
    plan = None if entry is None else [entry]
    returns_states = bool(layer.return_state)
    result = streaming.try_step(layer, plan, value, training, states_out=returns_states)
    if result is streaming.NOT_TAKEN:
        return NOT_TAKEN
    output, states = result
    return [output] + states if returns_states else output


def _as_contiguous(g):
    """A gradient as the core reads it (C-contiguous), copied only when it is not."""
    return g if type(g) is np.ndarray and g.flags.c_contiguous else np.ascontiguousarray(g)


def _recorded_call(tape, x, plan, arrays, return_state):
    """The core's forward under a recording tape: one op whose VJP is the core's backward
    (what `fused._forward_one` records, without its generality). Without `return_state` the op
    has the one output the layer returns, so the backward gets no zero state gradients."""
    output, h, c, reserve = _core.forward(*plan.head, True, *arrays)
    inputs = (x,) + plan.variables
    # _core.backward's arguments up to the output gradients, gathered once.
    leading = plan.head + arrays + (reserve,)
    gradients = slice(3, 2 + len(inputs))       # kernel, recurrent kernel[, bias]

    # Each VJP calls the core itself (no shared helper): one Python call fewer per step.
    if not return_state:
        def output_vjp(g, need):
            d = _core.backward(*leading, _as_contiguous(g), None, None, need[0], False)
            return (d[0],) + d[gradients]       # x, kernel, recurrent kernel[, bias]

        return [autodiff._record_op(tape, output, inputs, output_vjp)]

    def vjp(grads, need):
        d_final_c = _as_contiguous(grads[2]) if c is not None else None
        d = _core.backward(*leading, _as_contiguous(grads[0]), _as_contiguous(grads[1]),
                           d_final_c, need[0], False)
        return (d[0],) + d[gradients]

    outputs = (output, h) if c is None else (output, h, c)
    return autodiff._record_multi(tape, outputs, inputs, vjp, True)
