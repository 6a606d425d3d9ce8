"""The fused path: a built-in cell, or a stack of them, over a whole sequence in the C++ core.

`plan` decides whether a layer can take this path for the given inputs (every cell built in and
unmodified, activations the core knows, one rank-3 input in the layer's dtype); `run` executes
it. A stack runs one core call per cell: the per-step interleaving of a stack and the
cell-by-cell order give the same numbers, because every cell's masked steps keep its states
whatever input they receive.
"""

from __future__ import annotations

import numpy as np

from rnnkit import array_library, autodiff, core, ops
from rnnkit.layers.rnn.cell_base import BuiltinCell
from rnnkit.layers.rnn.stacked_rnn_cells import StackedRNNCells


def plan(layer, sequences):
    """The cells to run fused, each with its activation names; None for the generic loop."""
    shape = getattr(sequences, "shape", None)
    if shape is None or len(shape) != 3:
        return None
    cell = layer.cell
    cells = cell.cells if isinstance(cell, StackedRNNCells) else (cell,)
    dtype = sequences.dtype
    fused_cells = []
    for cell in cells:
        entry = cell_plan(cell, cell.fused_spec() if isinstance(cell, BuiltinCell) else None,
                          dtype)
        if entry is None:
            return None
        fused_cells.append(entry)
    return fused_cells


def cell_plan(cell, spec, dtype):
    """One cell's entry of `plan`: `(cell, activation names)` when the core runs it on `dtype`
    inputs, else None. `spec` is the cell's `fused_spec()` (None for a cell that is no
    built-in one)."""
    # `is` first: `dtype.name` is computed in Python by NumPy on every read.
    if spec is None or (dtype is not _DTYPES.get(cell.compute_dtype) and
                        cell.compute_dtype != dtype.name):
        return None
    return cell, spec[1]


_DTYPES = {name: np.dtype(name) for name in ("float32", "float64")}


def _forward_one(cell, names, x, states, mask, go_backwards, return_sequences,
                 zero_output_for_mask, training):
    """One cell over the sequence: (output, [states]). Under a recording GradientTape this is
    one differentiable op whose VJP is the core's BPTT."""
    x_value = array_library.as_array(autodiff.unwrap(x))
    state_values = [array_library.as_array(autodiff.unwrap(s)) for s in states]
    input_mask = recurrent_mask = None
    if training:
        # the masks are drawn on the device of x (only the shapes of these arrays are read)
        input_mask = cell.get_dropout_mask(x_value[:, 0])
        recurrent_mask = cell.get_recurrent_dropout_mask(
            state_values[0] if state_values and state_values[0].shape ==
            (x_value.shape[0], cell.units) else
            np.zeros((x_value.shape[0], cell.units), dtype=x_value.dtype))
    activation, recurrent_activation = names
    kernel, recurrent_kernel = cell.kernel.value, cell.recurrent_kernel.value
    bias = cell.fused_bias()
    # 16-bit compute (bfloat16 or float16: a "mixed_bfloat16" or "mixed_float16" policy)
    reduced = x_value.dtype.itemsize == 2
    if reduced:
        # The float32 core on 16-bit values (exact in float32): the inputs and the weights
        # rounded to the compute dtype, as a 16-bit GEMM with float32 accumulation multiplies
        # them; the state and the gates in float32; the outputs rounded back below.
        compute = x_value.dtype
        x_value = array_library.astype(x_value, np.float32)
        state_values = [_round_through(s, compute) for s in state_values]
        kernel, recurrent_kernel, bias = cell.derived_weights(
            ("rounded", compute), lambda *weights: tuple(
                None if w is None else _round_through(w, compute) for w in weights))
        input_mask = None if input_mask is None else input_mask.astype(np.float32)
        recurrent_mask = None if recurrent_mask is None else recurrent_mask.astype(np.float32)
    options = dict(
        mask=mask, input_dropout_mask=input_mask, recurrent_dropout_mask=recurrent_mask,
        activation=activation, recurrent_activation=recurrent_activation,
        reset_after=getattr(cell, "reset_after", True), go_backwards=go_backwards,
        return_sequences=return_sequences, zero_output_for_mask=zero_output_for_mask)
    recording = autodiff.is_recording()
    # bfloat16 products on AMX tiles where the CPU has them (the same values, h_{t-1} rounded
    # too); elsewhere the float32 core on the rounded values.
    bf16 = reduced and compute.name == "bfloat16"
    result = core.rnn_forward(cell.core_name, x_value, kernel, recurrent_kernel, bias,
                              initial_state=state_values, training=recording,
                              bfloat16_matmuls=bf16, **options)
    output, final_states = result.output, list(result.states)
    if reduced:
        output = array_library.astype(output, compute)
        final_states = [array_library.astype(s, compute) for s in final_states]
    if not recording:
        return output, final_states

    weights = [cell.kernel, cell.recurrent_kernel] + ([cell.bias] if cell.bias is not None
                                                      else [])
    # Data fed to a model's first layer needs no gradient: skip that GEMM. Zero (or constant)
    # initial states need none either: skip the first step's recurrent product.
    need_d_x = autodiff.is_tracked(x)
    need_d_states = any(autodiff.is_tracked(s) for s in states)

    def vjp(grads):
        d_output, d_states = grads[0], list(grads[1:])
        if reduced:
            # the core's backward (with bfloat16, bfloat16 products outside the time loop);
            # the casts' gradients pass unchanged
            d_output = array_library.astype(d_output, np.float32)
            d_states = [array_library.astype(d, np.float32) for d in d_states]
        g = core.rnn_backward(cell.core_name, x_value, kernel, recurrent_kernel, bias,
                              reserve=result.reserve, d_output=d_output, d_states=d_states,
                              initial_state=state_values, need_d_x=need_d_x,
                              need_d_initial_state=need_d_states, bfloat16_matmuls=bf16,
                              **options)
        weight_grads = [g.d_kernel, g.d_recurrent_kernel] + \
            ([g.d_bias] if bias is not None else [])
        d_initial = list(g.d_initial_state) if need_d_states else [None] * len(states)
        return [g.d_x] + d_initial + weight_grads

    outputs = autodiff.record((output, *final_states), (x, *states, *weights), vjp)
    return outputs[0], list(outputs[1:])


def _round_through(value, dtype):
    """`value` (a weight or a state) rounded to `dtype` (bfloat16 or float16), as float32."""
    return np.ascontiguousarray(array_library.astype(array_library.astype(value, dtype), np.float32))


def run(fused_cells, x, states, *, mask, go_backwards, return_sequences, zero_output_for_mask,
        training, forward_one=_forward_one, reverse=None):
    """(output, final states) exactly as the generic loop would give them.

    `forward_one(cell, names, x, states, mask, go_backwards, return_sequences,
    zero_output_for_mask, training)` runs one cell: by default the CPU core, differentiably
    (the GPU layer path passes its own). `reverse(array)` reverses the time axis of x and the
    mask for a stack read backwards (default: `ops.flip`, differentiable, for x)."""
    if len(fused_cells) == 1:
        cell, names = fused_cells[0]
        return forward_one(cell, names, x, states, mask, go_backwards, return_sequences,
                           zero_output_for_mask, training)
    if go_backwards:
        # The whole stack reads the reversed sequence; its output is in that (processing) order.
        if reverse is None:
            x = ops.flip(x, axis=1)
            mask = None if mask is None else np.ascontiguousarray(mask[:, ::-1])
        else:
            x = reverse(x)
            mask = None if mask is None else reverse(mask)
    final_states = []
    for index, (cell, names) in enumerate(fused_cells):
        last = index == len(fused_cells) - 1
        x, cell_states = forward_one(
            cell, names, x, states[index], mask, False, return_sequences or not last,
            zero_output_for_mask and last, training)
        final_states.append(cell_states)
    return x, final_states
