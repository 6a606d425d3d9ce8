"""The layer call's fast path: SimpleRNN, GRU and LSTM called eagerly for inference.

A user who streams data through a recurrent layer (one short sequence, or one step, per call)
pays the Python around the core on every call: the generic `Layer.__call__` (input
conversion, training flag, masks, build), `RNN.call` (shape and state checks, the fused plan)
and `rnnkit.core.rnn_forward` (argument gathering and layout checks). At one timestep that is
two thirds of the call. When a call has nothing for that machinery to do, `try_call` runs the
core directly and returns what the full path returns; otherwise it answers `NOT_TAKEN` and the
full path runs (and reports any error).

The fast path is taken only when every one of these holds:
- the layer is an unmodified built-in SimpleRNN, GRU or LSTM (not stateful, no activity
  regularizer, no pending losses), already built, with a built-in cell that the fused plan
  accepts (a single cell, not a stack);
- it is called with one positional argument and no keyword other than `training=False` (or
  `None` outside any training context), no `GradientTape` records, and no array carries a
  Keras mask;
- the input is a C-contiguous NumPy array of the layer's dtype, of shape (B, T, I) with B, T
  and I positive and I the width the layer was built for, and the weights are C-contiguous.
The C++ core still validates every argument.
"""

from __future__ import annotations

import numpy as np

from rnnkit import _core, autodiff, masking
from rnnkit.layers import layer as layer_module

NOT_TAKEN = object()

_DTYPES = {name: np.dtype(name) for name in ("float32", "float64")}
_FAST_CLASSES = {}   # layer class -> (its cell class's `call`, `get_initial_state`)


def _fast_classes():
    """The built-in layers and what their cells must not override (imported on first use)."""
    if not _FAST_CLASSES:
        from rnnkit.layers.rnn.gru import GRU, GRUCell
        from rnnkit.layers.rnn.lstm import LSTM, LSTMCell
        from rnnkit.layers.rnn.simple_rnn import SimpleRNN, SimpleRNNCell
        for layer_class, cell_class in ((SimpleRNN, SimpleRNNCell), (GRU, GRUCell),
                                        (LSTM, LSTMCell)):
            _FAST_CLASSES[layer_class] = (cell_class, cell_class.call,
                                          cell_class.get_initial_state)
    return _FAST_CLASSES


def _contiguous(array):
    flags = array.flags
    return flags.c_contiguous and flags.aligned


def try_call(layer, args, kwargs):
    """The outputs of `layer(*args, **kwargs)`, computed directly by the core, or `NOT_TAKEN`
    when the call needs the full path (see the module docstring)."""
    if len(args) != 1 or autodiff._state.tape is not None or masking.any_masks():
        return NOT_TAKEN
    if kwargs:
        if len(kwargs) != 1 or "training" not in kwargs or kwargs["training"]:
            return NOT_TAKEN
        if kwargs["training"] is None and layer_module.current_training():
            return NOT_TAKEN
    elif layer_module.current_training():
        return NOT_TAKEN
    x = args[0]
    known = _fast_classes().get(type(layer))
    if known is None or type(x) is not np.ndarray or not layer.built:
        return NOT_TAKEN
    cell = layer.cell
    cell_class, cell_call, cell_initial_state = known
    if (type(cell) is not cell_class and (type(cell).call is not cell_call or
                                         type(cell).get_initial_state is not cell_initial_state
                                         or not isinstance(cell, cell_class))):
        return NOT_TAKEN
    if (layer.stateful or layer.activity_regularizer is not None or layer._losses
            or not cell.built):
        return NOT_TAKEN
    dtype = _DTYPES.get(layer.dtype)
    if x.dtype is not dtype or x.ndim != 3 or not _contiguous(x):
        return NOT_TAKEN
    batch, steps, width = x.shape
    kernel = cell.kernel.value
    if batch == 0 or steps == 0 or width == 0 or kernel.shape[0] != width:
        return NOT_TAKEN
    names = cell.fused_activations()
    if names is None:
        return NOT_TAKEN
    recurrent_kernel = cell.recurrent_kernel.value
    bias = cell.fused_bias()
    if not (_contiguous(kernel) and _contiguous(recurrent_kernel) and
            (bias is None or _contiguous(bias))):
        return NOT_TAKEN
    if kernel.dtype is not dtype or recurrent_kernel.dtype is not dtype:
        return NOT_TAKEN
    activation, recurrent_activation = names
    output, h, c, _ = _core.forward(
        training=False, cell=cell.core_name, input_size=width,
        units=recurrent_kernel.shape[0], activation=activation,
        recurrent_activation=recurrent_activation,
        reset_after=bool(getattr(cell, "reset_after", True)),
        go_backwards=bool(layer.go_backwards), return_sequences=bool(layer.return_sequences),
        zero_output_for_mask=bool(layer.zero_output_for_mask), x=x, kernel=kernel,
        recurrent_kernel=recurrent_kernel, bias=bias, initial_h=None, initial_c=None, mask=None,
        input_dropout=None, recurrent_dropout=None)
    if layer.return_state:
        return [output, h] if c is None else [output, h, c]
    return output
