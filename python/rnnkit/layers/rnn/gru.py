"""GRUCell and GRU: gates z (update), r (reset), h (candidate), in both of Keras' variants."""

from __future__ import annotations

from rnnkit import ops
from rnnkit.layers.core._checks import check_bool
from rnnkit.layers.rnn.cell_base import BuiltinCell
from rnnkit.layers.rnn.rnn import BuiltinRNN


class GRUCell(BuiltinCell):
    """Cell of a Gated Recurrent Unit: one timestep of `GRU`.

    With gates `z` (update), `r` (reset) and a candidate state:
    `h = z * h_prev + (1 - z) * candidate`. With `reset_after=True` (the default, and
    Keras' default) the reset gate multiplies the recurrent projection
    `h_prev @ R_h + b_rh` and the bias has shape `(2, 3 * units)` (input and recurrent
    biases); with `reset_after=False` it multiplies `h_prev` before that projection and the
    bias has shape `(3 * units,)`. Gate order in the weights: z, r, h. Wrapped in
    `keras.layers.RNN`, an unmodified GRUCell runs in the fused C++ kernel.

    Args:
        units: Positive integer, dimensionality of the output and of the state.
        activation: Activation of the candidate state. Defaults to `"tanh"`.
        recurrent_activation: Activation of the gates. Defaults to `"sigmoid"`.
        use_bias: Bool, whether the cell adds a bias vector. Defaults to `True`.
        kernel_initializer: Initializer for the `kernel` weight (the input projection).
            Defaults to `"glorot_uniform"`.
        recurrent_initializer: Initializer for the `recurrent_kernel` weight (the state
            projection). Defaults to `"orthogonal"`.
        bias_initializer: Initializer for the bias. Defaults to `"zeros"`.
        kernel_regularizer: Optional regularizer for `kernel`.
        recurrent_regularizer: Optional regularizer for `recurrent_kernel`.
        bias_regularizer: Optional regularizer for the bias.
        kernel_constraint: Optional constraint for `kernel`.
        recurrent_constraint: Optional constraint for `recurrent_kernel`.
        bias_constraint: Optional constraint for the bias.
        dropout: Float in [0, 1], the fraction of the input units dropped in training (one
            mask per sequence, shared by all its timesteps). Values outside [0, 1] are
            clipped. Defaults to 0.
        recurrent_dropout: Float in [0, 1], the fraction of the state units dropped in the
            recurrent projection in training (one mask per sequence). Defaults to 0.
            Dropout applies only for rates strictly between 0 and 1.
        reset_after: Bool, where the reset gate applies (see above). Defaults to `True`.
        seed: Optional int or `rnnkit.random.SeedGenerator`, the seed of the dropout masks.
        **kwargs: Base layer arguments, and `implementation` (1 or 2; a recurrent dropout
            forces 1, which draws one dropout mask per gate).

    Call arguments:
        inputs: The input of one timestep, `(batch, input_dim)`.
        states: A list with the previous state `(batch, units)` (or the array itself).
        training: Bool, whether dropout applies.

    Returns:
        A pair `(h, [h])` with the new state `h` of shape `(batch, units)`.

    Raises:
        TypeError: If `units`, a bool argument, a rate or `seed` has the wrong type.
        ValueError: If `units` is not positive or `implementation` is not 1 or 2.

    Example:

    >>> import numpy as np, rnnkit as keras
    >>> cell = keras.layers.GRUCell(4)
    >>> h, states = cell(np.ones((2, 3)), [np.zeros((2, 4))])
    >>> h.shape, cell.bias.shape
    ((2, 4), (2, 12))
    """

    _mixed_precision = True   # computes under "mixed_bfloat16" (docs/mixed_precision.md)

    gates = 3
    core_name = "gru"

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid", use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal",
                 bias_initializer="zeros", kernel_regularizer=None, recurrent_regularizer=None,
                 bias_regularizer=None, kernel_constraint=None, recurrent_constraint=None,
                 bias_constraint=None, dropout=0.0, recurrent_dropout=0.0, reset_after=True,
                 seed=None, **kwargs):
        super().__init__(
            units, activation=activation, recurrent_activation=recurrent_activation,
            use_bias=use_bias, kernel_initializer=kernel_initializer,
            recurrent_initializer=recurrent_initializer, bias_initializer=bias_initializer,
            kernel_regularizer=kernel_regularizer, recurrent_regularizer=recurrent_regularizer,
            bias_regularizer=bias_regularizer, kernel_constraint=kernel_constraint,
            recurrent_constraint=recurrent_constraint, bias_constraint=bias_constraint,
            dropout=dropout, recurrent_dropout=recurrent_dropout, seed=seed, **kwargs)
        self.reset_after = check_bool(reset_after, "reset_after")

    def bias_shape(self):
        """Returns `(2, 3 * units)` with `reset_after`, else `(3 * units,)`."""
        return (2, 3 * self.units) if self.reset_after else (3 * self.units,)

    def call(self, inputs, states, training=False):
        """Runs one timestep; see the class docstring for the arguments."""
        h_prev = states[0] if isinstance(states, (list, tuple)) else states
        dp_mask, rec_mask = self._step_masks(inputs, h_prev, training)
        units = self.units
        input_bias = recurrent_bias = None
        if self.bias is not None:
            if self.reset_after:
                input_bias, recurrent_bias = ops.get_item(self.bias, 0), ops.get_item(self.bias, 1)
            else:
                input_bias = self.bias
        x_z, x_r, x_h = self._gate_projections(inputs, self.kernel, dp_mask)
        if input_bias is not None:
            x_z, x_r, x_h = [ops.add(p, b) for p, b in zip(
                (x_z, x_r, x_h), ops.split(input_bias, 3, axis=-1))]

        if self.reset_after:
            h_z, h_r, h_h = self._gate_projections(h_prev, self.recurrent_kernel, rec_mask)
            if recurrent_bias is not None:
                h_z, h_r, h_h = [ops.add(p, b) for p, b in zip(
                    (h_z, h_r, h_h), ops.split(recurrent_bias, 3, axis=-1))]
            z = self.recurrent_activation(ops.add(x_z, h_z))
            r = self.recurrent_activation(ops.add(x_r, h_r))
            candidate = self.activation(ops.add(x_h, ops.multiply(r, h_h)))
        else:
            zr_kernel = ops.get_item(self.recurrent_kernel, (slice(None), slice(0, 2 * units)))
            h_kernel = ops.get_item(self.recurrent_kernel, (slice(None), slice(2 * units, None)))
            if rec_mask is not None and rec_mask.ndim == 3:
                h_z = ops.matmul(ops.multiply(h_prev, rec_mask[0]),
                                 ops.get_item(zr_kernel, (slice(None), slice(0, units))))
                h_r = ops.matmul(ops.multiply(h_prev, rec_mask[1]),
                                 ops.get_item(zr_kernel, (slice(None), slice(units, None))))
                h_for_candidate = ops.multiply(h_prev, rec_mask[2])
            else:
                dropped = self._dropped(h_prev, rec_mask, 0)
                h_z, h_r = ops.split(ops.matmul(dropped, zr_kernel), 2, axis=-1)
                h_for_candidate = dropped
            z = self.recurrent_activation(ops.add(x_z, h_z))
            r = self.recurrent_activation(ops.add(x_r, h_r))
            candidate = self.activation(
                ops.add(x_h, ops.matmul(ops.multiply(r, h_for_candidate), h_kernel)))

        # z keeps the previous (undropped) state; 1 - z takes the candidate.
        h = ops.add(ops.multiply(z, h_prev), ops.multiply(ops.subtract(1.0, z), candidate))
        return h, [h]

    def cell_config(self):
        config = super().cell_config()
        config["reset_after"] = self.reset_after
        return config


class GRU(BuiltinRNN):
    """Gated Recurrent Unit layer (Cho et al., 2014).

    Runs a `GRUCell` over the timesteps of a sequence. When both activations are built-in
    elementwise activations (by name or as `rnnkit.activations` functions) the whole
    sequence runs in one call of the fused C++ kernel; otherwise the generic loop runs
    `GRUCell.call` step by step. Both give the same numbers and are differentiable under
    `GradientTape`. Masked timesteps keep the previous state and repeat the previous output.
    Weights and arguments are read through the `cell` (`layer.units`, `layer.cell.kernel`).

    Args:
        units: Positive integer, dimensionality of the output space.
        activation: Activation of the candidate state. Defaults to `"tanh"`; `None` means
            linear.
        recurrent_activation: Activation of the update and reset gates. Defaults to
            `"sigmoid"`.
        use_bias: Bool, whether the cell adds a bias vector. Defaults to `True`.
        kernel_initializer: Initializer for the `kernel` weight (the input projection).
            Defaults to `"glorot_uniform"`.
        recurrent_initializer: Initializer for the `recurrent_kernel` weight (the state
            projection). Defaults to `"orthogonal"`.
        bias_initializer: Initializer for the bias. Defaults to `"zeros"`.
        kernel_regularizer: Optional regularizer for `kernel`.
        recurrent_regularizer: Optional regularizer for `recurrent_kernel`.
        bias_regularizer: Optional regularizer for the bias.
        activity_regularizer: Optional regularizer of the layer's output (added to
            `losses`).
        kernel_constraint: Optional constraint for `kernel`.
        recurrent_constraint: Optional constraint for `recurrent_kernel`.
        bias_constraint: Optional constraint for the bias.
        dropout: Float in [0, 1], the fraction of the input units dropped in training (one
            mask per sequence, shared by all its timesteps). Values outside [0, 1] are
            clipped. Defaults to 0.
        recurrent_dropout: Float in [0, 1], the fraction of the state units dropped in the
            recurrent projection in training (one mask per sequence). Defaults to 0.
            Dropout applies only for rates strictly between 0 and 1.
        seed: Optional int or `SeedGenerator` for the dropout masks.
        return_sequences: Bool, return the output of every timestep `(batch, timesteps,
            units)` instead of the last one. Defaults to `False`.
        return_state: Bool, also return the final state: `[output, state]`. Defaults to
            `False`.
        go_backwards: Bool, process the sequence from its last timestep to its first; the
            returned sequence is in processing order (reversed). Defaults to `False`.
        stateful: Bool, the final state of each call is the initial state of the next one
            (the batch size is fixed by the first call; `reset_state()` zeroes it). Defaults
            to `False`.
        unroll: Bool, accepted for Keras compatibility; results do not depend on it.
        reset_after: Bool, apply the reset gate after the recurrent projection (Keras'
            default, bias of shape `(2, 3 * units)`) or before it. Defaults to `True`.
        use_cudnn: `"auto"` (the default), `True` or `False`. There is no cuDNN; `True`
            demands the fused C++ kernel and raises `ValueError` when the configuration
            cannot use it, `"auto"` and `False` fall back to the generic loop silently.
        **kwargs: Base layer arguments (`name`, `dtype`, `trainable`, `input_shape`, ...),
            `implementation` (1 or 2) and `zero_output_for_mask` (see `RNN`).

    Call arguments:
        sequences: A 3D array `(batch, timesteps, features)`.
        initial_state: Optional list with one array `(batch, units)`; defaults to zeros (or
            the stored state of a stateful layer).
        mask: Optional boolean array `(batch, timesteps)`; `False` marks a timestep to skip.
        training: Bool, whether dropout applies.

    Returns:
        `(batch, units)`, or `(batch, timesteps, units)` with `return_sequences`; with
        `return_state`, the list `[output, final_state]`.

    Raises:
        ValueError: If the input is not 3D, `units` is not positive, `use_cudnn` is invalid
            (or `True` where the fused kernel cannot run), `initial_state` or `mask` has the
            wrong shape, or a keyword argument is unknown.
        TypeError: If a bool argument or a rate has the wrong type.

    Example:

    >>> import numpy as np, rnnkit as keras
    >>> x = np.random.rand(32, 10, 8).astype("float32")
    >>> keras.layers.GRU(4)(x).shape
    (32, 4)
    >>> out, state = keras.layers.GRU(4, return_sequences=True, return_state=True)(x)
    >>> out.shape, state.shape
    ((32, 10, 4), (32, 4))
    """

    _mixed_precision = True   # computes under "mixed_bfloat16" (docs/mixed_precision.md)

    cell_class = GRUCell

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid", use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal",
                 bias_initializer="zeros", kernel_regularizer=None, recurrent_regularizer=None,
                 bias_regularizer=None, activity_regularizer=None, kernel_constraint=None,
                 recurrent_constraint=None, bias_constraint=None, dropout=0.0,
                 recurrent_dropout=0.0, seed=None, return_sequences=False, return_state=False,
                 go_backwards=False, stateful=False, unroll=False, reset_after=True,
                 use_cudnn="auto", **kwargs):
        cell_args = dict(
            activation=activation, recurrent_activation=recurrent_activation, use_bias=use_bias,
            kernel_initializer=kernel_initializer, recurrent_initializer=recurrent_initializer,
            bias_initializer=bias_initializer, kernel_regularizer=kernel_regularizer,
            recurrent_regularizer=recurrent_regularizer, bias_regularizer=bias_regularizer,
            kernel_constraint=kernel_constraint, recurrent_constraint=recurrent_constraint,
            bias_constraint=bias_constraint, dropout=dropout,
            recurrent_dropout=recurrent_dropout, reset_after=reset_after, seed=seed)
        for key in ("implementation",):
            if key in kwargs:
                cell_args[key] = kwargs.pop(key)
        super().__init__(units, cell_args, return_sequences=return_sequences,
                         return_state=return_state, go_backwards=go_backwards,
                         stateful=stateful, unroll=unroll, use_cudnn=use_cudnn,
                         activity_regularizer=activity_regularizer, **kwargs)

    @property
    def reset_after(self):
        """The cell's `reset_after` argument."""
        return self.cell.reset_after
