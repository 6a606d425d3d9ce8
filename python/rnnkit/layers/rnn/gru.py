"""GRUCell and GRU: gates z (update), r (reset), h (candidate), in both of Keras' variants."""

from __future__ import annotations

from rnnkit import ops
from rnnkit.layers.rnn.cell_base import BuiltinCell
from rnnkit.layers.rnn.rnn import BuiltinRNN


class GRUCell(BuiltinCell):
    """One GRU step (Keras' `GRUCell`).

    reset_after=True (default): bias (2, 3U), the reset gate multiplies (h @ R_h + b_rh).
    reset_after=False: bias (3U,), the reset gate multiplies h before the matmul.
    """

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
        if not isinstance(reset_after, bool):
            raise TypeError(f"Argument `reset_after` must be a bool, got {reset_after!r}")
        self.reset_after = reset_after

    def bias_shape(self):
        return (2, 3 * self.units) if self.reset_after else (3 * self.units,)

    def call(self, inputs, states, training=False):
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
    """Gated Recurrent Unit (Keras' `GRU`), fused in the C++ core."""

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
        return self.cell.reset_after
