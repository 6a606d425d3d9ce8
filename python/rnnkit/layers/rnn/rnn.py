"""`RNN`: runs a cell over the time axis (Keras' `keras.layers.RNN`), and `BuiltinRNN`, the base
of SimpleRNN, GRU and LSTM.

Two ways to run a sequence, with the same results:
- fused: a built-in cell (or a stack of them) whose configuration the C++ core supports runs
  the whole sequence in one core call per cell (`fused.py`);
- generic: any other cell (users' cells, activations given as arbitrary callables) runs step by
  step in Python, calling `cell.call(inputs_t, states[, training])`.
Masks, go_backwards, zero_output_for_mask, initial and stateful states and the output structure
are handled here for both.
"""

from __future__ import annotations

import contextlib

import numpy as np

from rnnkit import array_library, autodiff, ops, tree
from rnnkit.cuda.arrays import is_device_array
from rnnkit.layers.core._checks import check_bool
from rnnkit.layers.layer import InputSpec, Layer, shape_of, to_snake_case
from rnnkit.layers.rnn import fast_call, fused, streaming
from rnnkit.layers.rnn.cell_base import (BuiltinCell, call_accepts_training, state_shapes,
                                         weights_namespace)
from rnnkit.layers.rnn.stacked_rnn_cells import StackedRNNCells
from rnnkit.variables import Variable

_generic_only = [False]


@contextlib.contextmanager
def generic_loop_only():
    """Runs every RNN through the generic Python loop (the second oracle of the tests)."""
    _generic_only.append(True)
    try:
        yield
    finally:
        _generic_only.pop()


def _builtin_input_width(cell):
    """The input width fixed by the kernel of a built-in cell (or of the first cell of a
    stack); None for other cells, whose inputs are left to them."""
    if isinstance(cell, StackedRNNCells):
        cell = cell.cells[0] if cell.cells else None
    kernel = getattr(cell, "kernel", None) if isinstance(cell, BuiltinCell) else None
    return None if kernel is None else kernel.shape[0]


def _is_stacked(shapes):
    return bool(shapes) and isinstance(shapes[0], list)


class RNN(Layer):
    """Base class for recurrent layers: runs a cell over the time axis of a sequence.

    The cell is called once per timestep as `cell.call(inputs_t, states[, training])` and
    returns `(output_t, new_states)`. A built-in cell (`SimpleRNNCell`, `GRUCell`,
    `LSTMCell`, or a `StackedRNNCells` of them) with built-in elementwise activations runs
    the whole sequence in the fused C++ kernel; any other cell runs in the generic Python
    loop, written with `rnnkit.ops` so that it is differentiable. Both paths handle masks,
    `go_backwards`, initial and stateful states the same way.

    Args:
        cell: A cell, or a list of cells (wrapped in `StackedRNNCells`, the output of each
            feeding the next). A cell is any object with a `call(inputs, states[,
            training])` method returning `(output, new_states)` and a `state_size`
            attribute (an int, or a list of ints or shapes, one per state); optional are
            `output_size` (defaults to the first state's size) and
            `get_initial_state(batch_size)` (defaults to zeros). A `Layer` cell is built on
            the first call with the shape of one timestep's input.
        return_sequences: Bool, return the output of every timestep `(batch, timesteps,
            ...)` instead of the last one. Defaults to `False`.
        return_state: Bool, also return the final states: `[output, *states]` (for a stack
            of cells, one list of states per cell). Defaults to `False`.
        go_backwards: Bool, process the sequence from its last timestep to its first; the
            returned sequence is in processing order (reversed), as in Keras. Defaults to
            `False`.
        stateful: Bool, the final states of a call are the initial states of the next one.
            They are kept in `states` (non-trainable variables) and zeroed by
            `reset_state()`; the batch size is fixed by the first call. Defaults to `False`.
        unroll: Bool, accepted for Keras compatibility; results do not depend on it.
        zero_output_for_mask: Bool, masked timesteps output zeros instead of repeating the
            previous output. Defaults to `False`.
        **kwargs: Base layer arguments (`name`, `dtype`, `trainable`, ...).

    Call arguments:
        sequences: A 3D array `(batch, timesteps, features)` (or a nested structure of
            arrays with the same batch and timesteps, for cells taking several inputs).
        initial_state: Optional list of initial states, one `(batch, *state_shape)` array
            per state (one list per cell for a stack). Defaults to the cell's
            `get_initial_state`, zeros, or the stored states of a stateful layer.
        mask: Optional boolean array `(batch, timesteps)`; at a `False` timestep the states
            are carried over unchanged and the output repeats the previous one (or is zero
            with `zero_output_for_mask`).
        training: Bool, handed to the cell's `call` when it takes a `training` argument.

    Returns:
        The last output `(batch, *output_shape)`, or the outputs of every timestep with
        `return_sequences`; with `return_state`, the list `[output, *final_states]`.

    Raises:
        ValueError: If `cell` has no `call` or `state_size`, the input is not at least 3D,
            `initial_state` or `mask` has the wrong shape, or a stateful layer is called
            with another batch size.
        TypeError: If a bool argument is not a bool.

    Example:

    >>> import numpy as np, rnnkit as keras
    >>> class MinimalCell(keras.layers.Layer):
    ...     def __init__(self, units, **kwargs):
    ...         super().__init__(**kwargs)
    ...         self.units = units
    ...         self.state_size = units
    ...     def build(self, input_shape):
    ...         self.kernel = self.add_weight(shape=(input_shape[-1], self.units))
    ...     def call(self, inputs, states):
    ...         h = keras.ops.add(keras.ops.matmul(inputs, self.kernel), states[0])
    ...         return h, [h]
    >>> x = np.random.rand(32, 10, 8).astype("float32")
    >>> keras.layers.RNN(MinimalCell(4), return_sequences=True)(x).shape
    (32, 10, 4)
    >>> keras.layers.RNN([keras.layers.LSTMCell(4), keras.layers.GRUCell(2)])(x).shape
    (32, 2)
    """

    _mixed_precision = True   # computes under "mixed_bfloat16" (docs/mixed_precision.md)

    def __init__(self, cell, return_sequences=False, return_state=False, go_backwards=False,
                 stateful=False, unroll=False, zero_output_for_mask=False, **kwargs):
        if isinstance(cell, (list, tuple)):
            cell = StackedRNNCells(cell)
        if not hasattr(cell, "call"):
            raise ValueError(f"Argument `cell` should have a `call` method. Received: cell={cell}")
        if not hasattr(cell, "state_size"):
            raise ValueError(
                "The RNN cell should have a `state_size` attribute (single integer or list of "
                f"integers, one integer per RNN state). Received: cell={cell}")
        self._state_shapes = state_shapes(cell)
        output_size = getattr(cell, "output_size", None)
        if output_size is not None and not _is_stacked(self._state_shapes) and not (
                isinstance(output_size, (int, np.integer)) or hasattr(output_size, "as_list")
                or isinstance(output_size, (list, tuple))):
            raise ValueError(f"output_size must be an integer. Received: {output_size!r}")
        super().__init__(**kwargs)
        self.cell = cell
        self.return_sequences = check_bool(return_sequences, "return_sequences")
        self.return_state = check_bool(return_state, "return_state")
        self.go_backwards = check_bool(go_backwards, "go_backwards")
        self.stateful = check_bool(stateful, "stateful")
        self.unroll = check_bool(unroll, "unroll")
        self.zero_output_for_mask = check_bool(zero_output_for_mask, "zero_output_for_mask")
        self.states = None
        self._cell_takes_training = call_accepts_training(cell)

    # -- shapes ------------------------------------------------------------------------------------
    @property
    def state_size(self):
        """The cell's `state_size`."""
        return self.cell.state_size

    def _output_shapes(self):
        """Output shape(s) without the batch axis, from `output_size` or the first state."""
        size = getattr(self.cell, "output_size", None)
        if size is None:
            first = self._state_shapes[-1][0] if _is_stacked(self._state_shapes) \
                else self._state_shapes[0]
            return first
        if hasattr(size, "as_list"):
            size = size.as_list()
        if isinstance(size, (int, np.integer)):
            return (int(size),)
        if tree.is_shape(size):
            return tuple(size)
        return [tuple(s.as_list()) if hasattr(s, "as_list") else
                ((int(s),) if isinstance(s, (int, np.integer)) else tuple(s)) for s in size]

    def compute_output_shape(self, sequences_shape, initial_state_shape=None):
        """Returns the output shape (and state shapes with `return_state`).

        Args:
            sequences_shape: The input shape `(batch, timesteps, features)`.
            initial_state_shape: Ignored.

        Returns:
            `(batch, *output_shape)` or `(batch, timesteps, *output_shape)`; with
            `return_state`, the list `[output_shape, *state_shapes]`.
        """
        batch, steps = _shape_leaves(sequences_shape)[0][:2]
        out = self._output_shapes()

        def with_time(shape):
            return (batch, steps) + tuple(shape) if self.return_sequences else \
                (batch,) + tuple(shape)

        output_shape = with_time(out) if tree.is_shape(out) else [with_time(s) for s in out]
        if not self.return_state:
            return output_shape
        if _is_stacked(self._state_shapes):
            states = [[(batch,) + s for s in cell] for cell in self._state_shapes]
        else:
            states = [(batch,) + s for s in self._state_shapes]
        return [output_shape] + states

    def compute_mask(self, inputs, previous_mask=None):
        """Returns the output mask: the input mask with `return_sequences`, else `None`.

        With `return_state` it returns a list: the output's mask, then `None` per state.

        Args:
            inputs: The layer's inputs.
            previous_mask: The input mask `(batch, timesteps)` or `None`.
        """
        if isinstance(previous_mask, (list, tuple)):
            previous_mask = previous_mask[0]
        output_mask = previous_mask if self.return_sequences else None
        if self.return_state:
            count = len(tree.flatten(self._state_shapes)) if not _is_stacked(self._state_shapes) \
                else len(self._state_shapes)
            return [output_mask] + [None] * count
        return output_mask

    # -- build -------------------------------------------------------------------------------------
    def build(self, sequences_shape, initial_state_shape=None):
        """Builds the cell for one timestep's input and, if stateful, the state variables.

        Args:
            sequences_shape: The input shape `(batch, timesteps, features...)`.
            initial_state_shape: Ignored.

        Raises:
            ValueError: If the input has rank below 3, or a stateful layer has no static
                batch size.
        """
        leaves = _shape_leaves(sequences_shape)
        for shape in leaves:
            if len(shape) < 3:
                raise ValueError(
                    f"Layer '{self.name}' expects sequences of shape (batch, timesteps, "
                    f"features...), got an input of shape {tuple(shape)}")
        step_shape = tree.map_shape_structure(lambda s: (s[0],) + tuple(s[2:]), sequences_shape)
        if isinstance(self.cell, Layer) and not self.cell.built:
            self.cell.build(step_shape)
        width = _builtin_input_width(self.cell)
        if width is not None and len(leaves) == 1:
            # Calls with another feature count fail here, naming the layer, not in the core
            # (this one too, where the cell was built before).
            self.input_spec = InputSpec(ndim=len(leaves[0]), axes={-1: width})
            self.input_spec.check_shape(self, tuple(leaves[0]))
        if self.stateful:
            batch = leaves[0][0]
            if batch is None:
                raise ValueError(
                    "When using `stateful=True` in a RNN, the batch size must be static. Found "
                    f"dynamic batch size: sequence.shape={tuple(leaves[0])}")
            self._create_state_variables(batch)

    def _create_state_variables(self, batch):
        initial = self.get_initial_state(batch)
        self.states = tree.map_structure(
            lambda value: Variable(value, dtype=self.dtype, trainable=False,
                                   name="rnn_state", path=f"{self.name}/rnn_state"), initial)

    def get_initial_state(self, batch_size):
        """Returns the states a call starts from when no `initial_state` is given.

        Args:
            batch_size: Int, the batch size.

        Returns:
            A list: what the cell's `get_initial_state(batch_size=...)` returns, or one
            zero array `(batch_size, *state_shape)` per state.
        """
        fn = getattr(self.cell, "get_initial_state", None)
        if fn is not None:
            states = fn(batch_size=batch_size)
            if not isinstance(states, (list, tuple)):
                states = [states]
            return list(states)
        xp = weights_namespace(self.cell)            # zeros on the device of the weights
        return [xp.zeros((batch_size,) + shape, dtype=self.compute_dtype)
                for shape in self._state_shapes]

    # -- state handling ----------------------------------------------------------------------------
    def reset_state(self):
        """Sets every stored state of a stateful layer to zeros.

        Raises:
            AttributeError: If the layer is not stateful.
        """
        if not self.stateful:
            raise AttributeError("Layer must be stateful.")
        if self.states is not None:
            for variable in tree.flatten(self.states):
                variable.assign(np.zeros(variable.shape, dtype=variable.dtype))

    def reset_states(self):
        """Same as `reset_state()` (the Keras 2 name)."""
        self.reset_state()

    def _initial_states(self, initial_state, batch):
        """The initial states as a list (per cell for stacks), checked against the cell."""
        if initial_state is None:
            if self.stateful:
                if self.states is None:
                    self._create_state_variables(batch)
                stored = tree.flatten(self.states)[0]
                if stored.shape[0] != batch:
                    raise ValueError(
                        "If an RNN is stateful, the batch size of the input sequences must be "
                        "the same as the batch size of the initial state. - Expected batch "
                        f"size: {stored.shape[0]} - Received batch size: {batch}")
                return tree.map_structure(lambda v: v.value, self.states)
            return self.get_initial_state(batch)
        return self._check_states(initial_state, self._state_shapes, batch, "initial_state")

    def _check_states(self, given, shapes, batch, argument):
        if _is_stacked(shapes):
            if not isinstance(given, (list, tuple)) or len(given) != len(shapes):
                raise ValueError(
                    f"`{argument}` of a stack of {len(shapes)} cells must be a list with one "
                    f"entry per cell (each the list of that cell's states), got "
                    f"{_describe(given)}")
            return [self._check_states(g, s, batch, f"{argument}[{i}]")
                    for i, (g, s) in enumerate(zip(given, shapes))]
        if isinstance(given, Variable) or not isinstance(given, (list, tuple)):
            given = [given]
        given = list(given)
        if len(given) != len(shapes):
            raise ValueError(
                f"`{argument}` must hold {len(shapes)} state tensor(s) of shapes "
                f"{[(batch,) + s for s in shapes]}, got {len(given)}: {_describe(given)}")
        out = []
        for index, (value, shape) in enumerate(zip(given, shapes)):
            value = self._convert_input(value)
            expected = (batch,) + tuple(shape)
            if shape_of(value) != expected:
                raise ValueError(
                    f"`{argument}[{index}]` must have shape {expected} (batch, state size), got "
                    f"{shape_of(value)}")
            out.append(value)
        return out

    # -- call --------------------------------------------------------------------------------------
    def __setattr__(self, name, value):
        # What the fast path checked of this layer (fast_call._Plan) may no longer hold.
        self.__dict__.pop("_fast_call_plan", None)
        super().__setattr__(name, value)

    def __call__(self, *args, **kwargs):
        """Calls the layer (see `Layer.__call__`). On a GPU array (CuPy, or any CUDA array with
        `__dlpack__`) the layer runs its inference on the GPU and returns CuPy arrays."""
        if (type(self).call is RNN.call and type(self).get_initial_state is
                RNN.get_initial_state and not _generic_only[-1] and self._read_dtype is None):
            # (a mixed policy takes the full path: fused.run computes it)
            result = fast_call.try_call(self, args, kwargs)
            if result is not fast_call.NOT_TAKEN:
                return result
        first = args[0] if args else kwargs.get("inputs")
        if is_device_array(first) and not _weights_on_device(self):
            self._refuse_device_input_if_mixed()
            # host weights, GPU input: inference on device copies of the weights
            from rnnkit.cuda import layers as gpu_layers
            if not args:
                args = (kwargs.pop("inputs"),)
            return gpu_layers.call_rnn(self, *args, **kwargs)
        return super().__call__(*args, **kwargs)

    def call(self, sequences, initial_state=None, mask=None, training=False):
        """Runs the cell over the sequence; see the class docstring for the arguments."""
        leaves = (sequences,) if type(sequences) is np.ndarray else tree.flatten(sequences)
        batch, steps = shape_of(leaves[0])[:2]
        for leaf in leaves:
            shape = shape_of(leaf)
            if len(shape) < 3:
                raise ValueError(
                    f"Layer '{self.name}' expects sequences of shape (batch, timesteps, "
                    f"features...), got an input of shape {shape}")
            if shape[:2] != (batch, steps):
                raise ValueError(
                    f"Every input sequence of layer '{self.name}' must have the same batch size "
                    f"and number of timesteps; got shapes {[shape_of(x) for x in leaves]}")
            _check_real(leaf, self.name)
        mask = _check_mask(mask, batch, steps)
        if (self.stateful and steps == 1 and initial_state is None and mask is None
                and not _generic_only[-1] and self._read_dtype is None):
            # One timestep of a stateful layer: the C++ stream keeps the packed weights.
            streamed = streaming.try_step(self, fused.plan(self, sequences), sequences,
                                          training)
            if streamed is not streaming.NOT_TAKEN:
                output, final_states = streamed
                return [output] + final_states if self.return_state else output
        states = self._initial_states(initial_state, batch)

        plan = None if _generic_only[-1] else fused.plan(self, sequences)
        try:
            if plan is not None:
                output, final_states = fused.run(
                    plan, sequences, states, mask=mask, go_backwards=self.go_backwards,
                    return_sequences=self.return_sequences,
                    zero_output_for_mask=self.zero_output_for_mask, training=training)
            else:
                self._refuse_forced_fused()
                output, final_states = self._generic_loop(sequences, states, mask, training)
        finally:
            _reset_dropout_masks(self.cell)

        if self.stateful:
            for variable, value in zip(tree.flatten(self.states), tree.flatten(final_states)):
                variable.assign(array_library.as_array(autodiff.unwrap(value)))
        if self.return_state:
            return [output] + list(final_states)
        return output

    def _refuse_forced_fused(self):
        """`use_cudnn=True` asks for the fused kernel; say why it cannot run (Keras raises too)."""

    def _generic_loop(self, sequences, states, mask, training):
        """The per-step loop: any cell, written with rnnkit.ops (so it is differentiable)."""
        steps = shape_of(tree.flatten(sequences)[0])[1]
        cell_call = self.cell.call
        kwargs = {"training": training} if self._cell_takes_training else {}
        stacked = _is_stacked(self._state_shapes)
        outputs = []
        previous_output = zeros = None
        for k in range(steps):
            t = steps - 1 - k if self.go_backwards else k
            step_input = tree.map_structure(lambda x: ops.get_item(x, (slice(None), t)), sequences)
            output, new_states = cell_call(step_input, states, **kwargs)
            new_states = _as_state_list(new_states, stacked)
            if mask is not None:
                step_mask = mask[:, t]
                new_states = tree.map_structure(
                    lambda new, old: _select(step_mask, new, old), new_states, states)
                if zeros is None:  # before the first real step the "previous output" is zeros
                    zeros = tree.map_structure(ops.zeros_like, output)
                    previous_output = zeros
                fallback = zeros if self.zero_output_for_mask else previous_output
                output = tree.map_structure(
                    lambda new, old: _select(step_mask, new, old), output, fallback)
            previous_output = output
            states = new_states
            if self.return_sequences:
                outputs.append(output)
        if self.return_sequences:
            result = tree.map_structure(lambda *xs: ops.stack(xs, axis=1), *outputs)
        else:
            result = previous_output
        return result, states

    # -- config ------------------------------------------------------------------------------------
    def get_config(self):
        from rnnkit import saving
        config = {
            **super().get_config(),
            "return_sequences": self.return_sequences,
            "return_state": self.return_state,
            "go_backwards": self.go_backwards,
            "stateful": self.stateful,
            "unroll": self.unroll,
            "zero_output_for_mask": self.zero_output_for_mask,
            "cell": saving.serialize(self.cell),
        }
        return config

    @classmethod
    def from_config(cls, config, custom_objects=None):
        """Creates the layer from `get_config()`, deserializing the nested `cell` config.

        Args:
            config: A dict from `get_config()`.
            custom_objects: Optional dict of names to custom classes (for custom cells).

        Returns:
            A new, unbuilt layer.
        """
        from rnnkit import saving
        config = dict(config)
        cell = saving.deserialize(config.pop("cell"), custom_objects=custom_objects)
        return cls(cell, **config)


class BuiltinRNN(RNN):
    """The base of SimpleRNN, GRU and LSTM (not public).

    An `RNN` around the layer's own cell, whose arguments the layer takes (and lists in its
    config) flat; attribute reads such as `layer.units` go through to the cell.
    """

    _mixed_precision = True   # computes under "mixed_bfloat16" (docs/mixed_precision.md)

    cell_class = None

    def __init__(self, units, cell_args, *, use_cudnn=None, activity_regularizer=None,
                 **kwargs):
        if use_cudnn is not None and not (isinstance(use_cudnn, bool) or use_cudnn == "auto"):
            raise ValueError(
                "Invalid valid received for argument `use_cudnn`. Expected one of {'auto', "
                f"True, False}}. Received: use_cudnn={use_cudnn}")
        cell_name = to_snake_case(self.cell_class.__name__)
        base = {key: kwargs[key] for key in ("dtype", "trainable") if key in kwargs}
        cell = self.cell_class(units, name=cell_name, **cell_args, **base)
        super().__init__(cell, activity_regularizer=activity_regularizer, **kwargs)
        self.input_spec = InputSpec(ndim=3)
        self.use_cudnn = use_cudnn

    def _refuse_forced_fused(self):
        if self.use_cudnn is True:
            raise ValueError(
                f"use_cudnn=True was specified, but the fused kernel does not support this "
                f"configuration of layer '{self.name}' (an activation that is not one of the "
                f"built-in elementwise activations). Pass use_cudnn='auto' to fall back to the "
                f"generic loop.")

    def __getattr__(self, name):
        # units, activation, dropout, ... read through to the cell, as in Keras.
        if name.startswith("_") or name in ("cell",):
            raise AttributeError(name)
        cell = self.__dict__.get("cell")
        if cell is not None and hasattr(cell, name):
            return getattr(cell, name)
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def get_config(self):
        from rnnkit import regularizers
        config = super().get_config()
        del config["cell"]
        config.update(self.cell.cell_config())
        config["activity_regularizer"] = regularizers.serialize(self.activity_regularizer)
        if self.use_cudnn is not None:
            config["use_cudnn"] = self.use_cudnn
        return config

    @classmethod
    def from_config(cls, config, custom_objects=None):
        """Creates the layer from its flat `get_config()` dict.

        Args:
            config: A dict from `get_config()`.
            custom_objects: Unused (the cell is built from the flat arguments).

        Returns:
            A new, unbuilt layer.
        """
        return cls(**config)


# -- helpers ---------------------------------------------------------------------------------------
def _shape_leaves(shapes):
    leaves = []
    tree.map_shape_structure(leaves.append, shapes)
    return [tuple(shape) for shape in leaves]


def _describe(value):
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_describe(v) for v in value) + "]"
    shape = getattr(value, "shape", None)
    return f"array of shape {tuple(shape)}" if shape is not None else repr(value)


def _weights_on_device(layer):
    """Whether the layer's weights live on a device (placed with `rnnkit.device`): it then
    computes there through the generic path, training included."""
    return layer._weights_device() not in (None, "cpu:0")


def _check_real(leaf, layer_name):
    """TypeError for a complex (or otherwise non-real) input, as Keras; floats, ints and bools
    pass (Keras casts them to the compute dtype)."""
    dtype = getattr(leaf, "dtype", None)
    if dtype is None:
        dtype = np.asarray(leaf).dtype
    if not isinstance(dtype, np.dtype):
        try:
            dtype = np.dtype(dtype)
        except TypeError:
            return
    if dtype.kind not in "biu" and not array_library.is_real_floating(dtype):
        raise TypeError(f"Layer '{layer_name}' expects real inputs (float, int or bool), got an "
                        f"input of dtype {dtype}")


def _check_mask(mask, batch, steps):
    if mask is None:
        return None
    if isinstance(mask, (list, tuple)) and mask and not np.isscalar(mask[0]) and \
            np.ndim(mask[0]) == 2:
        mask = mask[0]  # one mask per input sequence: they are the same
    mask = array_library.as_array(mask.value if isinstance(mask, Variable) else mask)
    if mask.dtype.kind not in "biuf":
        raise TypeError(f"`mask` must hold booleans or numbers, got dtype {mask.dtype}")
    if mask.shape != (batch, steps):
        raise ValueError(f"`mask` must have shape (batch, timesteps) = {(batch, steps)}, got "
                         f"{mask.shape}")
    return mask.astype(bool)


def _select(step_mask, new, old):
    """new where the step is real, old where it is masked, broadcast over feature axes."""
    shape = (step_mask.shape[0],) + (1,) * (len(shape_of(new)) - 1)
    return ops.where(step_mask.reshape(shape), new, old)


def _as_state_list(new_states, stacked):
    if stacked:
        return [list(s) if isinstance(s, (list, tuple)) else [s] for s in new_states]
    if isinstance(new_states, (list, tuple)):
        return list(new_states)
    return [new_states]


def _reset_dropout_masks(cell):
    for c in getattr(cell, "cells", (cell,)):
        for name, attribute in (("reset_dropout_mask", "_dropout_mask"),
                                ("reset_recurrent_dropout_mask", "_recurrent_dropout_mask")):
            fn = getattr(c, name, None)
            if fn is None:
                continue
            # A built-in cell's reset only clears the attribute: nothing to do when it is clear.
            if getattr(type(c), name, None) is getattr(BuiltinCell, name) and \
                    c.__dict__.get(attribute) is None:
                continue
            fn()


