"""LSTMCell and LSTM: gates i (input), f (forget), c (candidate), o (output); states [h, c]."""

from __future__ import annotations

import numpy as np

from rnnkit import ops
from rnnkit.layers.core._checks import check_bool
from rnnkit.layers.rnn.cell_base import BuiltinCell
from rnnkit.layers.rnn.rnn import BuiltinRNN


class LSTMCell(BuiltinCell):
    """Cell of a Long Short-Term Memory layer: one timestep of `LSTM`.

    With gates `i` (input), `f` (forget), `o` (output) and candidate `g`:
    `c = f * c_prev + i * g`, `h = o * activation(c)`. The states are `[h, c]`; the output
    is `h`. Weights: `kernel` `(input_dim, 4 * units)`, `recurrent_kernel`
    `(units, 4 * units)`, `bias` `(4 * units,)`, gate order i, f, c, o. Wrapped in
    `keras.layers.RNN`, an unmodified LSTMCell runs in the fused C++ kernel.

    Args:
        units: Positive integer, dimensionality of the output and of each state.
        activation: Activation of the candidate and of the cell state in the output.
            Defaults to `"tanh"`.
        recurrent_activation: Activation of the gates. Defaults to `"sigmoid"`.
        use_bias: Bool, whether the cell adds a bias vector. Defaults to `True`.
        kernel_initializer: Initializer for the `kernel` weight (the input projection).
            Defaults to `"glorot_uniform"`.
        recurrent_initializer: Initializer for the `recurrent_kernel` weight (the state
            projection). Defaults to `"orthogonal"`.
        bias_initializer: Initializer for the bias. Defaults to `"zeros"`.
        unit_forget_bias: Bool. If `True` (the default), the forget-gate block of the bias
            starts at 1 whatever `bias_initializer` is (Jozefowicz et al., 2015).
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
        seed: Optional int or `rnnkit.random.SeedGenerator`, the seed of the dropout masks.
        **kwargs: Base layer arguments, and `implementation` (1 or 2; a recurrent dropout
            forces 1, which draws one dropout mask per gate).

    Call arguments:
        inputs: The input of one timestep, `(batch, input_dim)`.
        states: The list `[h_prev, c_prev]`, each `(batch, units)`.
        training: Bool, whether dropout applies.

    Returns:
        A pair `(h, [h, c])`, each of shape `(batch, units)`.

    Raises:
        TypeError: If `units`, a bool argument, a rate or `seed` has the wrong type.
        ValueError: If `units` is not positive or `implementation` is not 1 or 2.

    Example:

    >>> import numpy as np, rnnkit as keras
    >>> cell = keras.layers.LSTMCell(4)
    >>> h, (h2, c) = cell(np.ones((2, 3)), [np.zeros((2, 4)), np.zeros((2, 4))])
    >>> h.shape, c.shape
    ((2, 4), (2, 4))
    >>> keras.layers.RNN(cell)(np.ones((2, 5, 3))).shape
    (2, 4)
    """

    _mixed_precision = True   # computes under "mixed_bfloat16" (docs/mixed_precision.md)

    gates = 4
    core_name = "lstm"

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid", use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal",
                 bias_initializer="zeros", unit_forget_bias=True, kernel_regularizer=None,
                 recurrent_regularizer=None, bias_regularizer=None, kernel_constraint=None,
                 recurrent_constraint=None, bias_constraint=None, dropout=0.0,
                 recurrent_dropout=0.0, seed=None, **kwargs):
        super().__init__(
            units, activation=activation, recurrent_activation=recurrent_activation,
            use_bias=use_bias, kernel_initializer=kernel_initializer,
            recurrent_initializer=recurrent_initializer, bias_initializer=bias_initializer,
            kernel_regularizer=kernel_regularizer, recurrent_regularizer=recurrent_regularizer,
            bias_regularizer=bias_regularizer, kernel_constraint=kernel_constraint,
            recurrent_constraint=recurrent_constraint, bias_constraint=bias_constraint,
            dropout=dropout, recurrent_dropout=recurrent_dropout, seed=seed, **kwargs)
        self.unit_forget_bias = check_bool(unit_forget_bias, "unit_forget_bias")
        self.state_size = [self.units, self.units]

    def state_shapes(self):
        """Returns `[(units,), (units,)]`: the shapes of `h` and `c` without the batch axis."""
        return [(self.units,), (self.units,)]

    def bias_initial_value(self, shape, dtype=None):
        """Returns the initial bias: `bias_initializer`'s value, with ones in the forget
        block when `unit_forget_bias` is set.

        Args:
            shape: The bias shape, `(4 * units,)`.
            dtype: The weight's dtype.

        Returns:
            An array of `shape`.
        """
        if not self.unit_forget_bias:
            return self.bias_initializer(shape, dtype=dtype)
        units = self.units
        return np.concatenate([
            np.asarray(self.bias_initializer((units,), dtype=dtype)),
            np.ones((units,), dtype=dtype),
            np.asarray(self.bias_initializer((2 * units,), dtype=dtype)),
        ])

    def call(self, inputs, states, training=False):
        """Runs one timestep; see the class docstring for the arguments."""
        h_prev, c_prev = states[0], states[1]
        dp_mask, rec_mask = self._step_masks(inputs, h_prev, training)
        x_parts = self._gate_projections(inputs, self.kernel, dp_mask)
        h_parts = self._gate_projections(h_prev, self.recurrent_kernel, rec_mask)
        parts = [ops.add(a, b) for a, b in zip(x_parts, h_parts)]
        if self.bias is not None:
            parts = [ops.add(p, b) for p, b in zip(parts, ops.split(self.bias, 4, axis=-1))]
        i = self.recurrent_activation(parts[0])
        f = self.recurrent_activation(parts[1])
        c = ops.add(ops.multiply(f, c_prev), ops.multiply(i, self.activation(parts[2])))
        o = self.recurrent_activation(parts[3])
        h = ops.multiply(o, self.activation(c))
        return h, [h, c]

    def cell_config(self):
        config = super().cell_config()
        keys = list(config)
        # Keras lists unit_forget_bias right after the initializers.
        position = keys.index("bias_initializer") + 1
        items = list(config.items())
        items.insert(position, ("unit_forget_bias", self.unit_forget_bias))
        return dict(items)


class LSTM(BuiltinRNN):
    """Long Short-Term Memory layer (Hochreiter & Schmidhuber, 1997).

    Runs an `LSTMCell` over the timesteps of a sequence. When both activations are built-in
    elementwise activations (by name or as `rnnkit.activations` functions) the whole
    sequence runs in one call of the fused C++ kernel; otherwise (a lambda, a custom
    function) the generic loop runs `LSTMCell.call` step by step. Both give the same
    numbers and are differentiable under `GradientTape`. Masked timesteps keep the previous
    states `[h, c]` and repeat the previous output. Weights and arguments are read through
    the `cell` (`layer.units`, `layer.cell.kernel`, ...).

    Args:
        units: Positive integer, dimensionality of the output space.
        activation: Activation of the candidate and of the cell state in the output.
            Defaults to `"tanh"`; `None` means linear.
        recurrent_activation: Activation of the input, forget and output gates. Defaults
            to `"sigmoid"`.
        use_bias: Bool, whether the cell adds a bias vector. Defaults to `True`.
        kernel_initializer: Initializer for the `kernel` weight (the input projection).
            Defaults to `"glorot_uniform"`.
        recurrent_initializer: Initializer for the `recurrent_kernel` weight (the state
            projection). Defaults to `"orthogonal"`.
        bias_initializer: Initializer for the bias. Defaults to `"zeros"`.
        unit_forget_bias: Bool. If `True` (the default), the forget-gate block of the bias
            starts at 1 whatever `bias_initializer` is.
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
        return_state: Bool, also return the final states: `[output, h, c]`. Defaults to
            `False`.
        go_backwards: Bool, process the sequence from its last timestep to its first; the
            returned sequence is in processing order (reversed). Defaults to `False`.
        stateful: Bool, the final states of each call are the initial states of the next
            one (the batch size is fixed by the first call; `reset_state()` zeroes them).
            Defaults to `False`.
        unroll: Bool, accepted for Keras compatibility; results do not depend on it.
        use_cudnn: `"auto"` (the default), `True` or `False`. There is no cuDNN; `True`
            demands the fused C++ kernel and raises `ValueError` when the configuration
            cannot use it, `"auto"` and `False` fall back to the generic loop silently.
        **kwargs: Base layer arguments (`name`, `dtype`, `trainable`, `input_shape`, ...),
            `implementation` (1 or 2) and `zero_output_for_mask` (see `RNN`).

    Call arguments:
        sequences: A 3D array `(batch, timesteps, features)`.
        initial_state: Optional list `[h, c]` of arrays `(batch, units)`; defaults to zeros
            (or the stored states of a stateful layer).
        mask: Optional boolean array `(batch, timesteps)`; `False` marks a timestep to skip.
        training: Bool, whether dropout applies.

    Returns:
        `(batch, units)`, or `(batch, timesteps, units)` with `return_sequences`; with
        `return_state`, the list `[output, h, c]`.

    Raises:
        ValueError: If the input is not 3D, `units` is not positive, `use_cudnn` is invalid
            (or `True` where the fused kernel cannot run), `initial_state` or `mask` has the
            wrong shape, or a keyword argument is unknown.
        TypeError: If a bool argument or a rate has the wrong type.

    Example:

    >>> import numpy as np, rnnkit as keras
    >>> x = np.random.rand(32, 10, 8).astype("float32")
    >>> keras.layers.LSTM(4)(x).shape
    (32, 4)
    >>> lstm = keras.layers.LSTM(4, return_sequences=True, return_state=True)
    >>> out, h, c = lstm(x)
    >>> out.shape, h.shape, c.shape
    ((32, 10, 4), (32, 4), (32, 4))
    """

    _mixed_precision = True   # computes under "mixed_bfloat16" (docs/mixed_precision.md)

    cell_class = LSTMCell

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid", use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal",
                 bias_initializer="zeros", unit_forget_bias=True, kernel_regularizer=None,
                 recurrent_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, recurrent_constraint=None, bias_constraint=None,
                 dropout=0.0, recurrent_dropout=0.0, seed=None, return_sequences=False,
                 return_state=False, go_backwards=False, stateful=False, unroll=False,
                 use_cudnn="auto", **kwargs):
        cell_args = dict(
            activation=activation, recurrent_activation=recurrent_activation, use_bias=use_bias,
            kernel_initializer=kernel_initializer, recurrent_initializer=recurrent_initializer,
            bias_initializer=bias_initializer, unit_forget_bias=unit_forget_bias,
            kernel_regularizer=kernel_regularizer, recurrent_regularizer=recurrent_regularizer,
            bias_regularizer=bias_regularizer, kernel_constraint=kernel_constraint,
            recurrent_constraint=recurrent_constraint, bias_constraint=bias_constraint,
            dropout=dropout, recurrent_dropout=recurrent_dropout, seed=seed)
        if "implementation" in kwargs:
            cell_args["implementation"] = kwargs.pop("implementation")
        super().__init__(units, cell_args, return_sequences=return_sequences,
                         return_state=return_state, go_backwards=go_backwards,
                         stateful=stateful, unroll=unroll, use_cudnn=use_cudnn,
                         activity_regularizer=activity_regularizer, **kwargs)
