"""The stateful streaming path: a stateful SimpleRNN, GRU or LSTM layer called on one timestep
at a time, for inference, runs through a C++ stream (`rnnkit.core.RNNStream`'s kernel) that keeps
the packed weights from call to call.

`try_step` is tried by `RNN.call` and answers `NOT_TAKEN` unless every one of these holds:
- the layer is stateful, its states exist, and the call has one timestep, no mask and no
  `initial_state`, with the batch size of the stored states;
- the fused plan accepts the layer with a single cell (not a stack), and the input is a NumPy
  array of the layer's dtype;
- no `GradientTape` records, and training is off or the cell has no dropout.

Results equal the fused path's bit for bit (the C++ stream computes the same products in the
same order and the same cell arithmetic). The weights are repacked only when a weight variable
changed: the cache holds the variables and their `version` (bumped by every assignment, which is
how `set_weights`, optimizers and `assign` change a weight). The stream's states are the stored
state variables' values: they are copied into the stream only when a variable's version is not
the one the last call left (after `reset_states`, an assignment, or a call through another path),
and the new states reach the variables after every call: assigned from new arrays when the call
returns them (`return_state`), else written by the stream straight into the variables' arrays
(what `assign` would copy there; the versions move on the same way).
"""

from __future__ import annotations

import numpy as np

from rnnkit import _core, autodiff, tree

NOT_TAKEN = object()


class _Cache:
    """One layer's stream and what it was made from."""

    __slots__ = ("stream", "weights", "versions", "config", "state_versions")

    def __init__(self, stream, weights, versions, config):
        self.stream = stream
        self.weights = weights
        self.versions = versions
        self.config = config
        self.state_versions = None


def _weights(cell):
    return (cell.kernel, cell.recurrent_kernel, cell.bias)


def _values(cell):
    kernel, recurrent_kernel, bias = _weights(cell)
    return kernel.value, recurrent_kernel.value, None if bias is None else cell.fused_bias()


def _stream_for(layer, cell, names, batch, dtype):
    """The layer's stream, made or repacked when the weights or the configuration changed."""
    kernel, recurrent_kernel, bias = weights = (cell.kernel, cell.recurrent_kernel, cell.bias)
    cache = layer.__dict__.get("_stream_cache")
    if (cache is not None and cache.config[0] == names and cache.config[1] == batch and
            cache.config[2] == dtype and cache.weights[0] is kernel and
            cache.weights[1] is recurrent_kernel and cache.weights[2] is bias):
        versions = (kernel.version, recurrent_kernel.version, -1 if bias is None else bias.version)
        if cache.versions != versions:
            cache.stream.set_weights(*_values(cell))
            cache.versions = versions
        return cache
    versions = (kernel.version, recurrent_kernel.version, -1 if bias is None else bias.version)
    values = _values(cell)
    for array in values:
        if array is not None and not (array.flags.c_contiguous and array.flags.aligned):
            return None
    activation, recurrent_activation = names
    stream = _core.Stream(
        cell=cell.core_name, input_size=values[0].shape[0], units=values[1].shape[0],
        activation=activation, recurrent_activation=recurrent_activation,
        reset_after=bool(getattr(cell, "reset_after", True)),
        zero_output_for_mask=bool(layer.zero_output_for_mask), batch=batch, kernel=values[0],
        recurrent_kernel=values[1], bias=values[2])
    # The activation names, batch size and dtype fix the stream; reset_after is fixed with the
    # cell, and zero_output_for_mask does not matter without a mask.
    cache = _Cache(stream, weights, versions, (names, batch, dtype))
    layer.__dict__["_stream_cache"] = cache
    return cache


def _in_place(variable, dtype):
    """Whether the stream (of `dtype`) may write a state straight into the variable's array."""
    value = variable.value
    return (type(value) is np.ndarray and value.dtype is dtype and value.flags.c_contiguous and
            value.flags.writeable)


def try_step(layer, plan, sequences, training, states_out=True):
    """`(output, final_states)` of a stateful one-step inference call through the stream, with
    the layer's state variables updated; or `NOT_TAKEN` (see the module docstring). `plan` is
    the fused plan of the call. Without `states_out` (a layer that does not return its states)
    the final states are only written into the variables, and the list is empty."""
    if plan is None or len(plan) != 1 or autodiff._state.tape is not None:
        return NOT_TAKEN
    states = layer.states
    if type(sequences) is not np.ndarray or states is None:
        return NOT_TAKEN
    cell, names = plan[0]
    if training and (cell._rate_applies(cell.dropout) or
                     cell._rate_applies(cell.recurrent_dropout)):
        return NOT_TAKEN
    batch, steps = sequences.shape[:2]
    if steps != 1:
        return NOT_TAKEN
    flags = sequences.flags
    if not (flags.c_contiguous and flags.aligned):
        sequences = np.ascontiguousarray(sequences)   # one timestep: a small copy
    variables = states if type(states) is list and len(states) <= 2 else tree.flatten(states)
    if variables[0].shape[0] != batch:
        return NOT_TAKEN   # the full path reports the mismatch
    cache = _stream_for(layer, cell, names, batch, sequences.dtype)
    if cache is None:
        return NOT_TAKEN
    stream = cache.stream
    lstm = len(variables) == 2
    versions = (variables[0].version, variables[1].version) if lstm else variables[0].version
    if cache.state_versions != versions:
        stream.set_states(variables[0].value, variables[1].value if lstm else None)
    output = stream.run(sequences, bool(layer.return_sequences), None)
    h_var = variables[0]
    c_var = variables[1] if lstm else None
    dtype = sequences.dtype
    if not states_out and _in_place(h_var, dtype) and (c_var is None or _in_place(c_var, dtype)):
        # Straight into the variables' arrays, as assign() would copy them there.
        if c_var is None:
            stream.states(h_var.value)
            h_var._updated_in_place()
            cache.state_versions = h_var.version
        else:
            stream.states(h_var.value, c_var.value)
            h_var._updated_in_place()
            c_var._updated_in_place()
            cache.state_versions = (h_var.version, c_var.version)
        return output, []
    h, c = stream.states()
    variables[0].assign(h)
    if lstm:
        variables[1].assign(c)
        cache.state_versions = (variables[0].version, variables[1].version)
        return output, [h, c]
    cache.state_versions = variables[0].version
    return output, [h]
