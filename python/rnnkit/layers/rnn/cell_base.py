"""What SimpleRNNCell, GRUCell and LSTMCell share: their arguments, weights, dropout masks and
config. Each subclass states its gate count and writes its step equations in `call`.

The same cell runs two ways: the whole sequence fused in the C++ core (`fused.py`, used
whenever the cell's configuration allows it), or step by step through `call` in the generic RNN
loop. Both read the weights and dropout masks defined here, so they compute the same thing.
"""

from __future__ import annotations

import inspect

import numpy as np

from rnnkit import activations, array_library, constraints, initializers, ops, regularizers, tree
from rnnkit import random as rnn_random
from rnnkit.layers.core._checks import check_bool
from rnnkit.layers.layer import Layer


# -- what the RNN layer asks of any cell (built in or not) ----------------------------------------

def weights_namespace(layer):
    """The array module of the device `layer`'s weights live on (NumPy for host weights or
    none yet)."""
    weights = layer.weights if getattr(layer, "built", False) else ()
    if not weights or type(weights[0].value) is np.ndarray:
        return np
    return array_library.namespace(weights[0].value)


def _as_state_shape(entry):
    """One state's size: an int (a width) or a shape without the batch axis."""
    if hasattr(entry, "as_list"):
        entry = entry.as_list()
    if isinstance(entry, (int, np.integer)) and not isinstance(entry, bool):
        return (int(entry),)
    if tree.is_shape(entry) and len(entry) > 0:
        return tuple(int(s) for s in entry)
    raise ValueError("state_size must be an integer, or a list/tuple of integers (one for each "
                     f"state tensor), or of shapes. Received: state_size entry {entry!r}")


def state_shapes(cell):
    """The cell's states as shapes without the batch axis: a list with one tuple per state, or
    for a stack of cells (StackedRNNCells) a list with one such list per cell."""
    per_cell = getattr(cell, "state_shapes_per_cell", None)
    if per_cell is not None:
        return per_cell()
    size = cell.state_size
    if hasattr(size, "as_list"):
        size = size.as_list()
    if isinstance(size, (int, np.integer)) and not isinstance(size, bool):
        return [(int(size),)]
    if isinstance(size, (list, tuple)):
        return [_as_state_shape(entry) for entry in size]
    raise ValueError("state_size must be an integer, or a list/tuple of integers (one for each "
                     f"state tensor). Received: state_size={size!r}")


def call_accepts_training(cell):
    """Whether the cell's `call` takes a `training` argument."""
    try:
        return "training" in inspect.signature(cell.call).parameters
    except (TypeError, ValueError):
        return False


_BUILTIN_CLASS = {}   # cell class -> the built-in cell class whose equations it runs, or None


def _builtin_class(cls):
    """The built-in cell class (SimpleRNNCell, GRUCell, LSTMCell) that `cls` is or derives
    from, or None."""
    if cls not in _BUILTIN_CLASS:
        _BUILTIN_CLASS[cls] = next((klass for klass in cls.__mro__
                                    if klass.__dict__.get("core_name") is not None), None)
    return _BUILTIN_CLASS[cls]


def check_units(units):
    if isinstance(units, bool) or not isinstance(units, (int, np.integer)):
        raise TypeError(f"Argument `units` must be a positive integer, got {units!r} "
                        f"of type {type(units).__name__}")
    if units <= 0:
        raise ValueError(f"Received an invalid value for argument `units`, expected a positive "
                         f"integer, got {units}.")
    return int(units)


def clamp_rate(rate, argument):
    if isinstance(rate, bool) or not isinstance(rate, (int, float, np.integer, np.floating)):
        raise TypeError(f"Argument `{argument}` must be a float in [0, 1], got {rate!r}")
    # Keras clamps silently (dropout=1.5 becomes 1.0).
    return float(min(1.0, max(0.0, float(rate))))


def check_seed(seed):
    if seed is None or isinstance(seed, rnn_random.SeedGenerator):
        return seed
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"Argument `seed` must be None, an int or a SeedGenerator, got {seed!r}")
    return int(seed)


class BuiltinCell(Layer):
    """The base of SimpleRNNCell, GRUCell and LSTMCell (not public).

    It holds the arguments, weights (`kernel` `(input_dim, gates * units)`,
    `recurrent_kernel` `(units, gates * units)`, `bias`), dropout masks and config the three
    cells share; each subclass sets its gate count and writes its step in `call`.
    """

    _mixed_precision = True   # computes under "mixed_bfloat16" (docs/mixed_precision.md)

    gates = 1
    core_name = None          # the C++ core's name for the cell: simple_rnn, gru, lstm
    has_recurrent_activation = True
    # GRU and LSTM apply dropout only for 0 < rate < 1; SimpleRNN for any rate > 0 (Keras).
    dropout_needs_rate_below_one = True

    def __setattr__(self, name, value):
        # What the layer call's fast path checked of this cell (fast_call._Plan, which must
        # match this token) may no longer hold.
        self.__dict__.pop("_fast_call_token", None)
        super().__setattr__(name, value)

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid", use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal",
                 bias_initializer="zeros", kernel_regularizer=None, recurrent_regularizer=None,
                 bias_regularizer=None, kernel_constraint=None, recurrent_constraint=None,
                 bias_constraint=None, dropout=0.0, recurrent_dropout=0.0, seed=None,
                 implementation=2, **kwargs):
        super().__init__(**kwargs)
        self.units = check_units(units)
        self.activation = activations.get(activation)
        self.recurrent_activation = activations.get(recurrent_activation)
        self.use_bias = check_bool(use_bias, "use_bias")
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.recurrent_initializer = initializers.get(recurrent_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.recurrent_regularizer = regularizers.get(recurrent_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.recurrent_constraint = constraints.get(recurrent_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        self.dropout = clamp_rate(dropout, "dropout")
        self.recurrent_dropout = clamp_rate(recurrent_dropout, "recurrent_dropout")
        self.seed = check_seed(seed)
        self.seed_generator = seed if isinstance(seed, rnn_random.SeedGenerator) else \
            rnn_random.SeedGenerator(seed)
        if implementation not in (1, 2):
            raise ValueError(f"Argument `implementation` must be 1 or 2, got {implementation!r}")
        # Keras: a recurrent dropout forces implementation 1, with one dropout mask per gate.
        self.implementation = 1 if self.recurrent_dropout > 0 else implementation
        self.state_size = self.units
        self.output_size = self.units
        self._dropout_mask = None
        self._recurrent_dropout_mask = None

    # -- weights ---------------------------------------------------------------------------------
    def bias_shape(self):
        """Returns the shape of the `bias` weight: `(gates * units,)`."""
        return (self.gates * self.units,)

    def bias_initial_value(self, shape, dtype=None):
        """Returns the initial value of the bias (the `bias_initializer`'s value).

        Args:
            shape: The bias shape.
            dtype: The weight's dtype.

        Returns:
            An array of `shape`.
        """
        return self.bias_initializer(shape, dtype=dtype)

    def build(self, input_shape):
        """Creates `kernel`, `recurrent_kernel` and (with `use_bias`) `bias`.

        Args:
            input_shape: The shape of one timestep's input, `(batch, input_dim)`.

        Raises:
            ValueError: If the last dimension is `None`.
        """
        input_dim = input_shape[-1]
        if input_dim is None:
            raise ValueError(f"The last dimension of the input of {self.name} must be defined, "
                             f"got input shape {tuple(input_shape)}")
        width = self.gates * self.units
        self.kernel = self.add_weight(
            shape=(input_dim, width), name="kernel", initializer=self.kernel_initializer,
            regularizer=self.kernel_regularizer, constraint=self.kernel_constraint)
        self.recurrent_kernel = self.add_weight(
            shape=(self.units, width), name="recurrent_kernel",
            initializer=self.recurrent_initializer, regularizer=self.recurrent_regularizer,
            constraint=self.recurrent_constraint)
        if self.use_bias:
            self.bias = self.add_weight(
                shape=self.bias_shape(), name="bias", initializer=self.bias_initial_value,
                regularizer=self.bias_regularizer, constraint=self.bias_constraint)
        else:
            self.bias = None

    def get_initial_state(self, batch_size=None):
        """Returns the zero states for a batch.

        Args:
            batch_size: Int, the batch size.

        Returns:
            A list with one zero array of shape `(batch_size, units)` per state (one for
            SimpleRNN and GRU cells, two (`h`, `c`) for LSTM cells), of the cell's dtype.
        """
        kernel = getattr(self, "kernel", None)
        xp = np if kernel is None or type(kernel.value) is np.ndarray else \
            array_library.namespace(kernel.value)       # on the device of the weights
        return [xp.zeros((batch_size, self.units), dtype=self.compute_dtype)
                for _ in range(len(self.state_shapes()))]

    def state_shapes(self):
        """Returns the shape of each state without the batch axis: `[(units,)]`."""
        return [(self.units,)]

    # -- dropout ---------------------------------------------------------------------------------
    def _rate_applies(self, rate):
        return 0.0 < rate < 1.0 if self.dropout_needs_rate_below_one else rate > 0.0

    @property
    def per_gate_masks(self):
        """Whether dropout draws one mask per gate (implementation 1 of GRU and LSTM)."""
        return self.gates > 1 and self.implementation == 1

    def _draw_mask(self, like, rate):
        count = self.gates if self.per_gate_masks else 1
        shape = (count,) + tuple(like.shape) if count > 1 else tuple(like.shape)
        xp = np if type(like) is np.ndarray else array_library.namespace(like)
        ones = xp.ones(shape, dtype=self.dtype)     # on the device of `like`
        mask = array_library.as_array(rnn_random.dropout(ones, rate, seed=self.seed_generator),
                                      dtype=self.dtype)
        # in the compute dtype (bfloat16 under "mixed_bfloat16"), as the cell's inputs
        return mask if self.compute_dtype == self.dtype else mask.astype(self.compute_dtype)

    def get_dropout_mask(self, step_input):
        """Returns the input dropout multipliers of the current sequence.

        The mask is drawn on the first call after `reset_dropout_mask()` and reused for
        every timestep of the sequence; the RNN layer resets it after each call.

        Args:
            step_input: One timestep's input `(batch, input_dim)`; only its shape is used.

        Returns:
            An array of `{0, 1 / (1 - dropout)}` of shape `(batch, input_dim)`, or
            `(gates, batch, input_dim)` with one mask per gate in implementation 1; `None`
            when no input dropout applies.
        """
        if self._dropout_mask is None and self._rate_applies(self.dropout):
            self._dropout_mask = self._draw_mask(step_input, self.dropout)
        return self._dropout_mask

    def get_recurrent_dropout_mask(self, step_state):
        """Returns the recurrent dropout multipliers of the current sequence.

        Like `get_dropout_mask`, for the state fed to the recurrent projection.

        Args:
            step_state: One state `(batch, units)`; only its shape is used.

        Returns:
            An array of shape `(batch, units)` (or `(gates, batch, units)`), or `None` when
            no recurrent dropout applies.
        """
        if self._recurrent_dropout_mask is None and self._rate_applies(self.recurrent_dropout):
            self._recurrent_dropout_mask = self._draw_mask(step_state, self.recurrent_dropout)
        return self._recurrent_dropout_mask

    def reset_dropout_mask(self):
        """Forgets the input dropout mask, so the next sequence draws a new one."""
        self._dropout_mask = None

    def reset_recurrent_dropout_mask(self):
        """Forgets the recurrent dropout mask, so the next sequence draws a new one."""
        self._recurrent_dropout_mask = None

    def _dropped(self, value, mask, gate):
        """value * the gate's mask (the shared mask when masks are not per gate)."""
        if mask is None:
            return value
        return ops.multiply(value, mask[gate] if mask.ndim == 3 else mask)

    def _gate_projections(self, value, weight, mask):
        """[value @ weight_g for each gate g], with the gate's dropout mask applied to value."""
        units = self.units
        if mask is not None and mask.ndim == 3:
            return [ops.matmul(ops.multiply(value, mask[g]),
                               ops.get_item(weight, (slice(None), slice(g * units,
                                                                        (g + 1) * units))))
                    for g in range(self.gates)]
        return ops.split(ops.matmul(self._dropped(value, mask, 0), weight), self.gates, axis=-1)

    def _step_masks(self, inputs, h_prev, training):
        dp = self.get_dropout_mask(inputs) if training else None
        rec = self.get_recurrent_dropout_mask(h_prev) if training else None
        return dp, rec

    # -- the fused kernel ------------------------------------------------------------------------
    def fused_spec(self):
        """How the C++ core runs this cell over a whole sequence, if it can.

        Returns:
            A pair `(core_name, (activation, recurrent_activation))`, or `None` when the cell
            must run step by step: it is not built, it is a subclass with its own `call`
            (its equations are not the core's), or an activation is one the core does not
            know.
        """
        builtin = _builtin_class(type(self))
        if not self.built or builtin is None or type(self).call is not builtin.call:
            return None
        names = self.fused_activations()
        return None if names is None else (builtin.core_name, names)

    def fused_activations(self):
        """Returns the activation names the C++ core runs for this cell, if it can.

        Returns:
            A pair `(activation, recurrent_activation)` of core names, or `None` when an
            activation is a callable the core does not know (a lambda, a partial, an
            activation with non-default parameters); the RNN then runs the generic loop.
        """
        act = activations.fused_name(self.activation)
        rec = activations.fused_name(self.recurrent_activation) \
            if self.has_recurrent_activation else "sigmoid"
        if act is None or rec is None:
            return None
        return act, rec

    def fused_bias(self):
        """Returns the bias value handed to the C++ core, or `None` without a bias."""
        return None if self.bias is None else self.bias.value

    def derived_weights(self, kind, make):
        """`make(kernel, recurrent_kernel, bias)` of the weights' values (another form of the
        fused weights: copies on a GPU, values rounded to 16 bits), cached per `kind` and made
        again only when a weight changed (`Variable.version`; assignments and the optimizers'
        in-place updates move it), not on every call."""
        variables = [self.kernel, self.recurrent_kernel] + \
            ([self.bias] if self.bias is not None else [])
        versions = tuple((id(v), v.version) for v in variables)
        cache = self.__dict__.setdefault("_derived_weights", {})  # not a tracked attribute
        entry = cache.get(kind)
        if entry is None or entry[0] != versions:
            made = make(self.kernel.value, self.recurrent_kernel.value, self.fused_bias())
            entry = cache[kind] = (versions, made)
        return entry[1]

    # -- config ----------------------------------------------------------------------------------
    def cell_config(self):
        """Returns the cell's own arguments as a dict.

        The SimpleRNN, GRU and LSTM layers list these keys flat in their own config (as
        Keras does); `get_config()` adds the base layer keys to them.
        """
        config = {
            "units": self.units,
            "activation": activations.serialize(self.activation),
        }
        if self.has_recurrent_activation:
            config["recurrent_activation"] = activations.serialize(self.recurrent_activation)
        config.update({
            "use_bias": self.use_bias,
            "kernel_initializer": initializers.serialize(self.kernel_initializer),
            "recurrent_initializer": initializers.serialize(self.recurrent_initializer),
            "bias_initializer": initializers.serialize(self.bias_initializer),
            "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
            "recurrent_regularizer": regularizers.serialize(self.recurrent_regularizer),
            "bias_regularizer": regularizers.serialize(self.bias_regularizer),
            "kernel_constraint": constraints.serialize(self.kernel_constraint),
            "recurrent_constraint": constraints.serialize(self.recurrent_constraint),
            "bias_constraint": constraints.serialize(self.bias_constraint),
            "dropout": self.dropout,
            "recurrent_dropout": self.recurrent_dropout,
            "seed": self.seed if not isinstance(self.seed, rnn_random.SeedGenerator) else None,
        })
        return config

    def get_config(self):
        return {**super().get_config(), **self.cell_config()}
