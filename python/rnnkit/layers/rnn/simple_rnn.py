"""SimpleRNNCell and SimpleRNN: h_t = activation(x_t @ W + b + h_{t-1} @ R)."""

from __future__ import annotations

from rnnkit import ops
from rnnkit.layers.rnn.cell_base import BuiltinCell
from rnnkit.layers.rnn.rnn import BuiltinRNN


class SimpleRNNCell(BuiltinCell):
    """Cell of a fully connected RNN: one timestep of `SimpleRNN`.

    Computes `h = activation(x @ kernel + bias + h_prev @ recurrent_kernel)`; the output is
    the new state. Weights: `kernel` `(input_dim, units)`, `recurrent_kernel`
    `(units, units)`, `bias` `(units,)`. Wrapped in `keras.layers.RNN`, the cell runs over a
    sequence; an RNN around an unmodified built-in cell runs it in the fused C++ kernel.

    Args:
        units: Positive integer, dimensionality of the output and of the state.
        activation: Activation function (a name or a callable). Defaults to `"tanh"`;
            `None` means linear.
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
            For SimpleRNN any rate above 0, including 1, applies.
        seed: Optional int or `rnnkit.random.SeedGenerator`, the seed of the dropout masks.
        **kwargs: Base layer arguments (`name`, `dtype`, `trainable`, ...).

    Call arguments:
        sequence: The input of one timestep, `(batch, input_dim)`.
        states: A list with the previous state `(batch, units)` (or the array itself).
        training: Bool, whether dropout applies.

    Returns:
        A pair `(output, [new_state])`, where `output` is `new_state`, of shape
        `(batch, units)`.

    Raises:
        TypeError: If `units`, `use_bias`, a rate or `seed` has the wrong type.
        ValueError: If `units` is not positive.

    Example:

    >>> import numpy as np, rnnkit as keras
    >>> x = np.random.rand(32, 10, 8).astype("float32")
    >>> rnn = keras.layers.RNN(keras.layers.SimpleRNNCell(4))
    >>> rnn(x).shape
    (32, 4)
    """

    _mixed_precision = True   # computes under "mixed_bfloat16" (docs/mixed_precision.md)

    gates = 1
    core_name = "simple_rnn"
    has_recurrent_activation = False
    dropout_needs_rate_below_one = False

    def __init__(self, units, activation="tanh", use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal",
                 bias_initializer="zeros", kernel_regularizer=None, recurrent_regularizer=None,
                 bias_regularizer=None, kernel_constraint=None, recurrent_constraint=None,
                 bias_constraint=None, dropout=0.0, recurrent_dropout=0.0, seed=None, **kwargs):
        super().__init__(
            units, activation=activation, recurrent_activation=None, use_bias=use_bias,
            kernel_initializer=kernel_initializer, recurrent_initializer=recurrent_initializer,
            bias_initializer=bias_initializer, kernel_regularizer=kernel_regularizer,
            recurrent_regularizer=recurrent_regularizer, bias_regularizer=bias_regularizer,
            kernel_constraint=kernel_constraint, recurrent_constraint=recurrent_constraint,
            bias_constraint=bias_constraint, dropout=dropout,
            recurrent_dropout=recurrent_dropout, seed=seed, **kwargs)

    def call(self, sequence, states, training=False):
        """Runs one timestep; see the class docstring for the arguments."""
        prev_output = states[0] if isinstance(states, (list, tuple)) else states
        dp_mask, rec_mask = self._step_masks(sequence, prev_output, training)
        h = ops.matmul(self._dropped(sequence, dp_mask, 0), self.kernel)
        if self.bias is not None:
            h = ops.add(h, self.bias)
        h = ops.add(h, ops.matmul(self._dropped(prev_output, rec_mask, 0),
                                  self.recurrent_kernel))
        output = self.activation(h)
        return output, [output]


class SimpleRNN(BuiltinRNN):
    """Fully connected RNN layer whose output is fed back as its state.

    At each timestep `h_t = activation(x_t @ kernel + bias + h_{t-1} @ recurrent_kernel)`.
    When the activation is one of the built-in elementwise activations (by name or as the
    `rnnkit.activations` function) the whole sequence runs in one call of the fused C++
    kernel; otherwise (a lambda, a custom function) the generic loop runs `SimpleRNNCell.call`
    step by step. Both give the same numbers and are differentiable under `GradientTape`.
    Masked timesteps keep the previous state and repeat the previous output. The layer reads
    its weights and arguments through its `cell` (`layer.units`, `layer.cell.kernel`, ...).

    Args:
        units: Positive integer, dimensionality of the output space.
        activation: Activation function. Defaults to `"tanh"`; `None` means linear.
        use_bias: Bool, whether the cell adds a bias vector. Defaults to `True`.
        kernel_initializer: Initializer for the `kernel` weight (the input projection).
            Defaults to `"glorot_uniform"`.
        recurrent_initializer: Initializer for the `recurrent_kernel` weight (the state
            projection). Defaults to `"orthogonal"`.
        bias_initializer: Initializer for the bias. Defaults to `"zeros"`.
        kernel_regularizer: Optional regularizer for `kernel`.
        recurrent_regularizer: Optional regularizer for `recurrent_kernel`.
        bias_regularizer: Optional regularizer for the bias.
        activity_regularizer: Accepted and ignored, as in Keras' SimpleRNN.
        kernel_constraint: Optional constraint for `kernel`.
        recurrent_constraint: Optional constraint for `recurrent_kernel`.
        bias_constraint: Optional constraint for the bias.
        dropout: Float in [0, 1], the fraction of the input units dropped in training (one
            mask per sequence, shared by all its timesteps). Values outside [0, 1] are
            clipped. Defaults to 0.
        recurrent_dropout: Float in [0, 1], the fraction of the state units dropped in the
            recurrent projection in training (one mask per sequence). Defaults to 0.
            For SimpleRNN any rate above 0, including 1, applies.
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
        seed: Optional int or `SeedGenerator` for the dropout masks (not saved in the
            config, as in Keras).
        **kwargs: Base layer arguments (`name`, `dtype`, `trainable`, `input_shape`, ...)
            and `zero_output_for_mask` (see `RNN`).

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
        ValueError: If the input is not 3D, `units` is not positive, `initial_state` or
            `mask` has the wrong shape, or a keyword argument is unknown.
        TypeError: If a bool argument or a rate has the wrong type.

    Example:

    >>> import numpy as np, rnnkit as keras
    >>> x = np.random.rand(32, 10, 8).astype("float32")
    >>> keras.layers.SimpleRNN(4)(x).shape
    (32, 4)
    >>> out, state = keras.layers.SimpleRNN(4, return_sequences=True, return_state=True)(x)
    >>> out.shape, state.shape
    ((32, 10, 4), (32, 4))
    """

    _mixed_precision = True   # computes under "mixed_bfloat16" (docs/mixed_precision.md)

    cell_class = SimpleRNNCell

    def __init__(self, units, activation="tanh", use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal",
                 bias_initializer="zeros", kernel_regularizer=None, recurrent_regularizer=None,
                 bias_regularizer=None, activity_regularizer=None, kernel_constraint=None,
                 recurrent_constraint=None, bias_constraint=None, dropout=0.0,
                 recurrent_dropout=0.0, return_sequences=False, return_state=False,
                 go_backwards=False, stateful=False, unroll=False, seed=None, **kwargs):
        cell_args = dict(
            activation=activation, use_bias=use_bias, kernel_initializer=kernel_initializer,
            recurrent_initializer=recurrent_initializer, bias_initializer=bias_initializer,
            kernel_regularizer=kernel_regularizer, recurrent_regularizer=recurrent_regularizer,
            bias_regularizer=bias_regularizer, kernel_constraint=kernel_constraint,
            recurrent_constraint=recurrent_constraint, bias_constraint=bias_constraint,
            dropout=dropout, recurrent_dropout=recurrent_dropout, seed=seed)
        super().__init__(units, cell_args, return_sequences=return_sequences,
                         return_state=return_state, go_backwards=go_backwards,
                         stateful=stateful, unroll=unroll, **kwargs)
        # Keras' SimpleRNN never forwards activity_regularizer (verified); keep that.
        del activity_regularizer

    def get_config(self):
        config = super().get_config()
        del config["seed"]
        return config
