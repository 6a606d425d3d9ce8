"""The fused path: a built-in cell, or a stack of them, over a whole sequence in the C++ core.

`plan` decides whether a layer can take this path for the given inputs (every cell built in and
unmodified, activations the core knows, one rank-3 input in the layer's dtype); `run` executes
it. A stack runs one core call per cell: the per-step interleaving of a stack and the
cell-by-cell order give the same numbers, because every cell's masked steps keep its states
whatever input they receive.
"""

from __future__ import annotations

import numpy as np

from rnnkit import autodiff, core
from rnnkit.layers.rnn.cell_base import BuiltinCell


def _unmodified_builtin(cell):
    """A built-in cell whose step equations are ours (a subclass may override `call`)."""
    if not isinstance(cell, BuiltinCell) or cell.core_name is None:
        return False
    from rnnkit.layers.rnn.gru import GRUCell
    from rnnkit.layers.rnn.lstm import LSTMCell
    from rnnkit.layers.rnn.simple_rnn import SimpleRNNCell
    builtin = {"simple_rnn": SimpleRNNCell, "gru": GRUCell, "lstm": LSTMCell}[cell.core_name]
    return type(cell).call is builtin.call and isinstance(cell, builtin)


def plan(layer, sequences):
    """The cells to run fused, each with its activation names; None for the generic loop."""
    from rnnkit.layers.rnn.stacked_rnn_cells import StackedRNNCells
    if not hasattr(sequences, "shape") or len(sequences.shape) != 3:
        return None
    if autodiff.is_tracked(sequences):
        # Gradients through the fused kernel come with the training issue; until then the
        # generic loop, written with differentiable ops, serves tracked inputs.
        return None
    cells = layer.cell.cells if isinstance(layer.cell, StackedRNNCells) else [layer.cell]
    steps = []
    for cell in cells:
        if not _unmodified_builtin(cell) or not cell.built:
            return None
        names = cell.fused_activations()
        if names is None or cell.dtype != sequences.dtype.name:
            return None
        steps.append((cell, names))
    return steps


def _forward_one(cell, names, x, states, mask, go_backwards, return_sequences,
                 zero_output_for_mask, training):
    input_mask = recurrent_mask = None
    if training:
        input_mask = cell.get_dropout_mask(x[:, 0])
        recurrent_mask = cell.get_recurrent_dropout_mask(
            np.zeros((x.shape[0], cell.units), dtype=x.dtype))
    activation, recurrent_activation = names
    result = core.rnn_forward(
        cell.core_name, x, cell.kernel.value, cell.recurrent_kernel.value, cell.fused_bias(),
        initial_state=[np.asarray(s) for s in states], mask=mask,
        input_dropout_mask=input_mask, recurrent_dropout_mask=recurrent_mask,
        activation=activation, recurrent_activation=recurrent_activation,
        reset_after=getattr(cell, "reset_after", True), go_backwards=go_backwards,
        return_sequences=return_sequences, zero_output_for_mask=zero_output_for_mask)
    return result.output, list(result.states)


def run(steps, x, states, *, mask, go_backwards, return_sequences, zero_output_for_mask,
        training):
    """(output, final states) exactly as the generic loop would give them."""
    if len(steps) == 1:
        cell, names = steps[0]
        return _forward_one(cell, names, x, states, mask, go_backwards, return_sequences,
                            zero_output_for_mask, training)
    if go_backwards:
        # The whole stack reads the reversed sequence; its output is in that (processing) order.
        x = np.ascontiguousarray(x[:, ::-1])
        mask = None if mask is None else np.ascontiguousarray(mask[:, ::-1])
    final_states = []
    for index, (cell, names) in enumerate(steps):
        last = index == len(steps) - 1
        x, cell_states = _forward_one(
            cell, names, x, states[index], mask, False, return_sequences or not last,
            zero_output_for_mask and last, training)
        final_states.append(cell_states)
    return x, final_states
