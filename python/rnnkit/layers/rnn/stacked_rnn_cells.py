"""StackedRNNCells: several cells that act as one; the output of cell k is the input of k+1."""

from __future__ import annotations

import numpy as np

from rnnkit.layers.layer import Layer
from rnnkit.layers.rnn.cell_base import call_accepts_training, state_shapes, weights_namespace


def _check_cell(cell):
    if not hasattr(cell, "call"):
        raise ValueError(f"All cells must have a `call` method. Received cell without a `call` "
                         f"method: {cell}")
    if not hasattr(cell, "state_size"):
        raise ValueError(f"All cells must have a `state_size` attribute. Received cell without "
                         f"a `state_size`: {cell}")


class StackedRNNCells(Layer):
    """Wraps a list of RNN cells so that they act as one cell.

    At each timestep the output of cell `k` is the input of cell `k + 1`; the output of the
    stack is that of the last cell. States are nested per cell: `[[h1, c1], [h2], ...]`.
    `keras.layers.RNN([cell1, cell2])` builds this wrapper itself. A stack of unmodified
    built-in cells runs in the fused C++ kernel, one kernel call per cell.

    Args:
        cells: A non-empty list of cells (each with `call` and `state_size`).
        **kwargs: Base layer arguments (`name`, `dtype`, `trainable`, ...).

    Call arguments:
        inputs: One timestep's input, `(batch, features)`.
        states: A list with the list of states of each cell.
        training: Bool, handed to the cells whose `call` takes it.

    Returns:
        A pair `(output, new_states)`, with `new_states` nested per cell.

    Raises:
        ValueError: If `cells` is empty or not a list, or a cell has no `call` or
            `state_size`.

    Example:

    >>> import numpy as np, rnnkit as keras
    >>> cells = keras.layers.StackedRNNCells(
    ...     [keras.layers.LSTMCell(8), keras.layers.SimpleRNNCell(4)])
    >>> cells.state_size, cells.output_size
    ([[8, 8], 4], 4)
    >>> keras.layers.RNN(cells)(np.random.rand(2, 5, 3)).shape
    (2, 4)
    """

    _mixed_precision = True   # computes under "mixed_bfloat16" (docs/mixed_precision.md)

    def __init__(self, cells, **kwargs):
        if not isinstance(cells, (list, tuple)) or not cells:
            raise ValueError(f"Argument `cells` must be a non-empty list of cells, got {cells!r}")
        for cell in cells:
            _check_cell(cell)
        super().__init__(**kwargs)
        self.cells = list(cells)
        # Decided once: `call` runs every timestep.
        self._takes_training = [call_accepts_training(cell) for cell in self.cells]

    @property
    def state_size(self):
        """A list with the `state_size` of each cell."""
        return [cell.state_size for cell in self.cells]

    def state_shapes_per_cell(self):
        """The state shapes of each cell (see `cell_base.state_shapes`), one list per cell."""
        return [state_shapes(cell) for cell in self.cells]

    @property
    def output_size(self):
        """The last cell's `output_size` (or the size of its first state)."""
        last = self.cells[-1]
        if getattr(last, "output_size", None) is not None:
            return last.output_size
        size = last.state_size
        return size[0] if isinstance(size, (list, tuple)) else size

    def get_initial_state(self, batch_size=None):
        """Returns the initial states, one list per cell.

        Args:
            batch_size: Int, the batch size.

        Returns:
            A list with, for each cell, its `get_initial_state(batch_size)` or zero arrays.
        """
        states = []
        for cell in self.cells:
            fn = getattr(cell, "get_initial_state", None)
            if fn is not None:
                value = fn(batch_size=batch_size)
                states.append(list(value) if isinstance(value, (list, tuple)) else [value])
            else:
                xp = weights_namespace(cell)         # zeros on the device of its weights
                states.append([xp.zeros((batch_size,) + s, dtype=self.dtype)
                               for s in state_shapes(cell)])
        return states

    def build(self, input_shape):
        """Builds each cell with the output shape of the cell before it.

        Args:
            input_shape: The shape of one timestep's input, `(batch, features)`.
        """
        batch = input_shape[0]
        for cell in self.cells:
            if isinstance(cell, Layer) and not cell.built:
                cell.build(input_shape)
            size = getattr(cell, "output_size", None)
            if size is None:
                width = state_shapes(cell)[0]
            elif isinstance(size, (int, np.integer)):
                width = (int(size),)
            else:
                width = tuple(size.as_list() if hasattr(size, "as_list") else size)
            input_shape = (batch,) + width

    def call(self, inputs, states, training=False):
        """Runs one timestep through every cell; see the class docstring."""
        new_states = []
        for cell, takes_training, cell_states in zip(self.cells, self._takes_training, states):
            cell_states = list(cell_states) if isinstance(cell_states, (list, tuple)) \
                else [cell_states]
            kwargs = {"training": training} if takes_training else {}
            inputs, cell_states = cell.call(inputs, cell_states, **kwargs)
            new_states.append(list(cell_states) if isinstance(cell_states, (list, tuple))
                              else [cell_states])
        return inputs, new_states

    def get_config(self):
        from rnnkit import saving
        return {**super().get_config(), "cells": [saving.serialize(c) for c in self.cells]}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        """Creates the stack from `get_config()`, deserializing each cell.

        Args:
            config: A dict from `get_config()`.
            custom_objects: Optional dict of names to custom classes.

        Returns:
            A new `StackedRNNCells`.
        """
        from rnnkit import saving
        config = dict(config)
        cells = [saving.deserialize(c, custom_objects=custom_objects)
                 for c in config.pop("cells")]
        return cls(cells, **config)
