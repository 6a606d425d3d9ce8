"""LSTMCell and LSTM: gates i (input), f (forget), c (candidate), o (output); states [h, c]."""

from __future__ import annotations

import numpy as np

from rnnkit import ops
from rnnkit.layers.rnn.cell_base import BuiltinCell
from rnnkit.layers.rnn.rnn import BuiltinRNN


class LSTMCell(BuiltinCell):
    """One LSTM step (Keras' `LSTMCell`). With `unit_forget_bias` the forget block of the bias
    starts at 1 whatever `bias_initializer` is."""

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
        if not isinstance(unit_forget_bias, bool):
            raise TypeError(f"Argument `unit_forget_bias` must be a bool, got {unit_forget_bias!r}")
        self.unit_forget_bias = unit_forget_bias
        self.state_size = [self.units, self.units]

    def state_shapes(self):
        return [(self.units,), (self.units,)]

    def bias_initial_value(self, shape, dtype=None):
        if not self.unit_forget_bias:
            return self.bias_initializer(shape, dtype=dtype)
        units = self.units
        return np.concatenate([
            np.asarray(self.bias_initializer((units,), dtype=dtype)),
            np.ones((units,), dtype=dtype),
            np.asarray(self.bias_initializer((2 * units,), dtype=dtype)),
        ])

    def call(self, inputs, states, training=False):
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
    """Long Short-Term Memory layer (Keras' `LSTM`), fused in the C++ core."""

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
