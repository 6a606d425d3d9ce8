"""SimpleRNNCell and SimpleRNN: h_t = activation(x_t @ W + b + h_{t-1} @ R)."""

from __future__ import annotations

from rnnkit import ops
from rnnkit.layers.rnn.cell_base import BuiltinCell
from rnnkit.layers.rnn.rnn import BuiltinRNN


class SimpleRNNCell(BuiltinCell):
    """One step of a fully connected RNN (Keras' `SimpleRNNCell`); weights kernel (D, U),
    recurrent_kernel (U, U), bias (U,)."""

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
    """Fully connected RNN whose output is fed back (Keras' `SimpleRNN`), fused in the C++ core.

    Keras quirks kept: `activity_regularizer` is accepted and ignored, and `seed` is not in the
    config.
    """

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
