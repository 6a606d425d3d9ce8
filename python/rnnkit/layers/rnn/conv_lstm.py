"""ConvLSTM1D, ConvLSTM2D and ConvLSTM3D: LSTMs whose input and recurrent transformations are
convolutions, run by the generic cell loop of `RNN` (written with `rnnkit.ops`, so they are
differentiable)."""

from __future__ import annotations

import itertools

import numpy as np

from rnnkit import activations, array_library, constraints, initializers, ops, regularizers
from rnnkit import random as rnn_random
from rnnkit.layers.core._checks import check_bool, is_int
from rnnkit.layers.layer import InputSpec, Layer
from rnnkit.layers.rnn.cell_base import state_shapes
from rnnkit.layers.rnn.rnn import RNN
from rnnkit.naming import unique_name


def _tuple(value, rank, argument, allow_zero=False):
    """An int or a sequence of `rank` ints as a tuple (Keras' standardize_tuple)."""
    values = (value,) * rank if is_int(value) else value
    if not isinstance(values, (list, tuple)) or len(values) != rank or \
            not all(is_int(v) for v in values):
        raise ValueError(f"The `{argument}` argument must be a tuple of {rank} integers. "
                         f"Received {argument}={value!r}")
    low = 0 if allow_zero else 1
    if any(v < low for v in values):
        raise ValueError(f"The `{argument}` argument must be a tuple of {rank} integers >= "
                         f"{low}. Received {argument}={value!r}")
    return tuple(int(v) for v in values)


def _conv_geometry(size, kernel, stride, dilation, padding):
    """(output size, padding before, padding after) of one spatial axis."""
    span = (kernel - 1) * dilation + 1
    if padding == "valid":
        return max((size - span) // stride + 1, 0), 0, 0
    out = -(-size // stride)
    total = max((out - 1) * stride + span - size, 0)
    return out, total // 2, total - total // 2


def conv_nd(x, kernel, strides, padding, dilation):
    """N-D convolution (cross-correlation), channels last: `x` `(batch, *spatial, C)`,
    `kernel` `(*kernel_size, C, F)` -> `(batch, *out_spatial, F)`. One matmul per kernel
    offset, with `rnnkit.ops` (differentiable)."""
    rank = len(strides)
    spatial = tuple(ops.shape(x))[1:1 + rank]
    ksize = tuple(ops.shape(kernel))[:rank]
    geometry = [_conv_geometry(n, k, s, d, padding)
                for n, k, s, d in zip(spatial, ksize, strides, dilation)]
    if any(before or after for _, before, after in geometry):
        x = ops.pad(x, [(0, 0)] + [(b, a) for _, b, a in geometry] + [(0, 0)])
    out = None
    for offset in itertools.product(*(range(k) for k in ksize)):
        index = (slice(None),) + tuple(
            slice(o * d, o * d + (n_out - 1) * s + 1, s)
            for o, d, s, (n_out, _, _) in zip(offset, dilation, strides, geometry)) + \
            (slice(None),)
        term = ops.matmul(ops.get_item(x, index), ops.get_item(kernel, offset))
        out = term if out is None else ops.add(out, term)
    return out


class ConvLSTMCell(Layer):
    """The cell of the ConvLSTM layers: one LSTM step with convolutions (not in Keras' public
    namespace; `ConvLSTM1D/2D/3D` create it).

    Gates `i, f, c, o` (in that order along the last axis of the kernels):
    `x_g = conv(x, kernel_g) + bias_g` (with the layer's strides, padding and dilation),
    `h_g = conv(h, recurrent_kernel_g)` ("same" padding, stride 1),
    `c' = f * c + i * activation(x_c + h_c)`, `h' = o * activation(c')`.

    Args:
        rank: 1, 2 or 3, the number of spatial axes.
        filters: Positive int, the number of output channels.
        kernel_size, strides, dilation_rate: Ints or tuples of `rank` ints.
        padding: `"valid"` or `"same"`.
        data_format: `"channels_last"` (default) or `"channels_first"`.
        activation, recurrent_activation, use_bias, *_initializer, unit_forget_bias,
        *_regularizer, *_constraint, dropout, recurrent_dropout, seed: As in `LSTMCell`.
        **kwargs: Base layer arguments.

    Raises:
        ValueError: For invalid sizes, padding or data format, or strides > 1 together with
            dilation > 1.
    """

    def __init__(self, rank, filters, kernel_size, strides=1, padding="valid", data_format=None,
                 dilation_rate=1, activation="tanh", recurrent_activation="sigmoid",
                 use_bias=True, kernel_initializer="glorot_uniform",
                 recurrent_initializer="orthogonal", bias_initializer="zeros",
                 unit_forget_bias=True, kernel_regularizer=None, recurrent_regularizer=None,
                 bias_regularizer=None, kernel_constraint=None, recurrent_constraint=None,
                 bias_constraint=None, dropout=0.0, recurrent_dropout=0.0, seed=None, **kwargs):
        super().__init__(**kwargs)
        if rank not in (1, 2, 3):
            raise ValueError(f"Rank {rank} convolutions are not currently implemented. "
                             f"Received: rank={rank}")
        if not is_int(filters) or filters <= 0:
            raise ValueError(f"Invalid value for argument `filters`. Expected a strictly "
                             f"positive value. Received filters={filters!r}.")
        self.rank = rank
        self.filters = int(filters)
        self.kernel_size = _tuple(kernel_size, rank, "kernel_size")
        self.strides = _tuple(strides, rank, "strides")
        self.dilation_rate = _tuple(dilation_rate, rank, "dilation_rate")
        if not isinstance(padding, str) or padding.lower() not in ("valid", "same"):
            raise ValueError("The `padding` argument must be a list/tuple or one of "
                             f"['valid', 'same']. Received: padding={padding!r}")
        self.padding = padding.lower()
        data_format = "channels_last" if data_format is None else data_format
        if data_format not in ("channels_last", "channels_first"):
            raise ValueError("The `data_format` argument must be one of {'channels_first', "
                             f"'channels_last'}}. Received: data_format={data_format!r}")
        self.data_format = data_format
        if max(self.strides) > 1 and max(self.dilation_rate) > 1:
            raise ValueError("Specifying `strides > 1` is not compatible with `dilation_rate > "
                             "1`. Please provide `strides=1` or `dilation_rate=1`. Received: "
                             f"strides={self.strides} and dilation_rate={self.dilation_rate}")
        self.activation = activations.get(activation)
        self.recurrent_activation = activations.get(recurrent_activation)
        self.use_bias = check_bool(use_bias, "use_bias")
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.recurrent_initializer = initializers.get(recurrent_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.unit_forget_bias = check_bool(unit_forget_bias, "unit_forget_bias")
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.recurrent_regularizer = regularizers.get(recurrent_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.recurrent_constraint = constraints.get(recurrent_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        self.dropout = min(1.0, max(0.0, float(dropout)))
        self.recurrent_dropout = min(1.0, max(0.0, float(recurrent_dropout)))
        if seed is not None and not is_int(seed):
            raise TypeError(f"Argument `seed` must be None or an int, got {seed!r}")
        self.seed = seed
        self.seed_generator = rnn_random.SeedGenerator(seed)
        self.spatial_dims = None
        self.state_size = [(1,), (1,)]   # the real shapes are known once built
        self._dropout_mask = self._recurrent_dropout_mask = None

    def _output_spatial(self, spatial):
        return tuple(_conv_geometry(n, k, s, d, self.padding)[0]
                     for n, k, s, d in zip(spatial, self.kernel_size, self.strides,
                                           self.dilation_rate))

    def build(self, input_shape):
        """Creates `kernel` `(*kernel_size, channels, 4 filters)`, `recurrent_kernel`
        `(*kernel_size, filters, 4 filters)` and `bias` `(4 filters,)`.

        Args:
            input_shape: One step's shape `(batch, *spatial, channels)` (channels first with
                `data_format="channels_first"`).

        Raises:
            ValueError: If a spatial size or the channel count is unknown, or the rank is
                wrong.
        """
        input_shape = tuple(input_shape)
        if len(input_shape) != self.rank + 2:
            raise ValueError(f"Layer '{self.name}' expects steps of rank {self.rank + 2}, got "
                             f"shape {input_shape}")
        first = self.data_format == "channels_first"
        spatial = input_shape[2:] if first else input_shape[1:-1]
        channels = input_shape[1] if first else input_shape[-1]
        if None in spatial:
            raise ValueError("ConvLSTM layers only support static input shapes for the spatial "
                             f"dimension. Received invalid input shape: input_shape="
                             f"{input_shape}")
        if channels is None:
            raise ValueError("The channel dimension of the inputs should be defined. Found "
                             f"None. Full input shape received: input_shape={input_shape}")
        self.spatial_dims = tuple(spatial)
        self.input_dim = channels
        out = self._output_spatial(spatial)
        state = (self.filters,) + out if first else out + (self.filters,)
        self.state_size = [state, state]
        self.kernel = self.add_weight(
            shape=self.kernel_size + (channels, 4 * self.filters), name="kernel",
            initializer=self.kernel_initializer, regularizer=self.kernel_regularizer,
            constraint=self.kernel_constraint)
        self.recurrent_kernel = self.add_weight(
            shape=self.kernel_size + (self.filters, 4 * self.filters), name="recurrent_kernel",
            initializer=self.recurrent_initializer, regularizer=self.recurrent_regularizer,
            constraint=self.recurrent_constraint)
        self.bias = None
        if self.use_bias:
            base, filters = self.bias_initializer, self.filters

            def bias_init(shape, dtype=None):
                if not self.unit_forget_bias:
                    return base(shape, dtype=dtype)
                return np.concatenate([np.asarray(base((filters,), dtype=dtype)),
                                       np.ones((filters,), dtype=dtype),
                                       np.asarray(base((2 * filters,), dtype=dtype))])

            self.bias = self.add_weight(shape=(4 * self.filters,), name="bias",
                                        initializer=bias_init, regularizer=self.bias_regularizer,
                                        constraint=self.bias_constraint)

    def get_initial_state(self, batch_size=None):
        """Zero `h` and `c`, `(batch, *output_spatial, filters)`."""
        shape = (batch_size,) + tuple(self.state_size[0])
        xp = np if type(self.kernel.value) is np.ndarray else \
            array_library.namespace(self.kernel.value)       # on the device of the weights
        return [xp.zeros(shape, self.dtype), xp.zeros(shape, self.dtype)]

    def reset_dropout_mask(self):
        """Forgets the input dropout masks (a new sequence draws new ones)."""
        self._dropout_mask = None

    def reset_recurrent_dropout_mask(self):
        """Forgets the recurrent dropout masks."""
        self._recurrent_dropout_mask = None

    def _masks(self, like, rate, attribute):
        if not 0.0 < rate < 1.0:
            return None
        if getattr(self, attribute) is None:
            ones = np.ones((4,) + tuple(ops.shape(like)), dtype=self.dtype)
            setattr(self, attribute, np.asarray(rnn_random.dropout(ones, rate,
                                                                   seed=self.seed_generator),
                                                dtype=self.dtype))
        return getattr(self, attribute)

    def _to_last(self, x):
        return ops.moveaxis(x, 1, -1) if self.data_format == "channels_first" else x

    def _from_last(self, x):
        return ops.moveaxis(x, -1, 1) if self.data_format == "channels_first" else x

    def call(self, inputs, states, training=False):
        """One step: returns `(h, [h, c])`."""
        h_prev, c_prev = states[0], states[1]
        dp = self._masks(inputs, self.dropout, "_dropout_mask") if training else None
        rec = self._masks(h_prev, self.recurrent_dropout, "_recurrent_dropout_mask") \
            if training else None
        f = self.filters
        gates = []
        ones = (1,) * self.rank
        for g in range(4):
            x_g = inputs if dp is None else ops.multiply(inputs, dp[g])
            h_g = h_prev if rec is None else ops.multiply(h_prev, rec[g])
            k_g = ops.get_item(self.kernel, (Ellipsis, slice(g * f, (g + 1) * f)))
            r_g = ops.get_item(self.recurrent_kernel, (Ellipsis, slice(g * f, (g + 1) * f)))
            z = ops.add(conv_nd(self._to_last(x_g), k_g, self.strides, self.padding,
                                self.dilation_rate),
                        conv_nd(self._to_last(h_g), r_g, ones, "same", ones))
            if self.bias is not None:
                z = ops.add(z, ops.get_item(self.bias, slice(g * f, (g + 1) * f)))
            gates.append(z)
        i = self.recurrent_activation(gates[0])
        fg = self.recurrent_activation(gates[1])
        c = ops.add(ops.multiply(fg, self._to_last(c_prev)),
                    ops.multiply(i, self.activation(gates[2])))
        o = self.recurrent_activation(gates[3])
        h = self._from_last(ops.multiply(o, self.activation(c)))
        c = self._from_last(c)
        return h, [h, c]

    def get_config(self):
        return {**super().get_config(), **self.cell_config(), "rank": self.rank}

    def cell_config(self):
        """The cell's arguments, as the ConvLSTM layers list them in their config."""
        return {
            "filters": self.filters, "kernel_size": self.kernel_size, "strides": self.strides,
            "padding": self.padding, "data_format": self.data_format,
            "dilation_rate": self.dilation_rate,
            "activation": activations.serialize(self.activation),
            "recurrent_activation": activations.serialize(self.recurrent_activation),
            "use_bias": self.use_bias,
            "kernel_initializer": initializers.serialize(self.kernel_initializer),
            "recurrent_initializer": initializers.serialize(self.recurrent_initializer),
            "bias_initializer": initializers.serialize(self.bias_initializer),
            "unit_forget_bias": self.unit_forget_bias,
            "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
            "recurrent_regularizer": regularizers.serialize(self.recurrent_regularizer),
            "bias_regularizer": regularizers.serialize(self.bias_regularizer),
            "kernel_constraint": constraints.serialize(self.kernel_constraint),
            "recurrent_constraint": constraints.serialize(self.recurrent_constraint),
            "bias_constraint": constraints.serialize(self.bias_constraint),
            "dropout": self.dropout, "recurrent_dropout": self.recurrent_dropout,
            "seed": self.seed,
        }


_CELL_ARGS = ("strides", "padding", "data_format", "dilation_rate", "activation",
              "recurrent_activation", "use_bias", "kernel_initializer", "recurrent_initializer",
              "bias_initializer", "unit_forget_bias", "kernel_regularizer",
              "recurrent_regularizer", "bias_regularizer", "kernel_constraint",
              "recurrent_constraint", "bias_constraint", "dropout", "recurrent_dropout", "seed")


class _ConvLSTM(RNN):
    """The ConvLSTM layers: an `RNN` around a `ConvLSTMCell` whose arguments the layer takes
    flat (see `ConvLSTM2D`)."""

    rank = None

    def __init__(self, filters, kernel_size, strides=1, padding="valid", data_format=None,
                 dilation_rate=1, activation="tanh", recurrent_activation="sigmoid",
                 use_bias=True, kernel_initializer="glorot_uniform",
                 recurrent_initializer="orthogonal", bias_initializer="zeros",
                 unit_forget_bias=True, kernel_regularizer=None, recurrent_regularizer=None,
                 bias_regularizer=None, activity_regularizer=None, kernel_constraint=None,
                 recurrent_constraint=None, bias_constraint=None, dropout=0.0,
                 recurrent_dropout=0.0, seed=None, return_sequences=False, return_state=False,
                 go_backwards=False, stateful=False, **kwargs):
        values = locals()
        if kwargs.get("name") is None:   # Keras' default names: conv_lstm2d, conv_lstm2d_1, ...
            kwargs["name"] = unique_name(f"conv_lstm{self.rank}d")
        base = {key: kwargs[key] for key in ("dtype", "trainable") if key in kwargs}
        cell = ConvLSTMCell(self.rank, filters, kernel_size, name="conv_lstm_cell",
                            **{k: values[k] for k in _CELL_ARGS}, **base)
        super().__init__(cell, return_sequences=return_sequences, return_state=return_state,
                         go_backwards=go_backwards, stateful=stateful,
                         activity_regularizer=activity_regularizer, **kwargs)
        self.input_spec = InputSpec(ndim=self.rank + 3)

    def __getattr__(self, name):
        # filters, kernel_size, ... read through to the cell, as in Keras.
        if name.startswith("_") or name in ("cell",):
            raise AttributeError(name)
        cell = self.__dict__.get("cell")
        if cell is not None and hasattr(cell, name):
            return getattr(cell, name)
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def build(self, sequences_shape, initial_state_shape=None):
        """Builds the cell for one step's shape and records the state shapes.

        Raises:
            ValueError: If the input does not have rank `rank + 3` or has unknown spatial
                sizes.
        """
        sequences_shape = tuple(sequences_shape)
        if len(sequences_shape) != self.rank + 3:
            raise ValueError(f"Layer '{self.name}' ({type(self).__name__}) expects inputs of "
                             f"rank {self.rank + 3} (batch, time, spatial..., channels), got "
                             f"shape {sequences_shape}")
        if not self.cell.built:
            self.cell.build((sequences_shape[0],) + sequences_shape[2:])
        self._state_shapes = state_shapes(self.cell)
        super().build(sequences_shape, initial_state_shape)

    def get_config(self):
        from rnnkit import regularizers as regs
        config = super().get_config()
        del config["cell"]
        config.update(self.cell.cell_config())
        config["activity_regularizer"] = regs.serialize(self.activity_regularizer)
        return config

    @classmethod
    def from_config(cls, config, custom_objects=None):
        """Creates the layer from its flat `get_config()` dict."""
        return cls(**config)


class ConvLSTM1D(_ConvLSTM):
    """1D convolutional LSTM: inputs `(batch, time, steps, channels)`.

    Like `ConvLSTM2D` with one spatial axis; see it for the arguments and the step
    equations.

    Example:

    >>> import numpy as np, rnnkit as keras
    >>> layer = keras.layers.ConvLSTM1D(4, 3, padding="same", return_sequences=True)
    >>> layer(np.ones((2, 5, 7, 3))).shape
    (2, 5, 7, 4)
    """

    rank = 1


class ConvLSTM2D(_ConvLSTM):
    """2D convolutional LSTM: an LSTM whose input and recurrent transformations are
    convolutions, on inputs `(batch, time, rows, cols, channels)`.

    Per step, for the gates `i, f, c, o`: `x_g = conv(x_t, kernel_g) + bias_g` (the layer's
    `strides`, `padding`, `dilation_rate`), `h_g = conv(h, recurrent_kernel_g)` (stride 1,
    "same" padding), `i, f, o = recurrent_activation(x + h)`,
    `c = f * c + i * activation(x_c + h_c)`, `h = o * activation(c)`. Weights, in Keras'
    layout: `kernel` `(*kernel_size, channels, 4 filters)`, `recurrent_kernel`
    `(*kernel_size, filters, 4 filters)`, `bias` `(4 filters,)`. The sequence runs through
    `RNN`'s generic cell loop (written with `rnnkit.ops`, so it is differentiable; not
    optimized for speed).

    Args:
        filters: Positive int, the number of output channels.
        kernel_size: Int or tuple of 2 ints.
        strides: Int or tuple of 2 ints. Defaults to 1.
        padding: `"valid"` (default) or `"same"`.
        data_format: `"channels_last"` (default) or `"channels_first"`
            (`(batch, time, channels, rows, cols)`).
        dilation_rate: Int or tuple of 2 ints (not with strides > 1).
        activation: Defaults to `"tanh"`.
        recurrent_activation: Defaults to `"sigmoid"`.
        use_bias: Bool. Defaults to `True`.
        kernel_initializer, recurrent_initializer, bias_initializer: Initializers
            (`"glorot_uniform"`, `"orthogonal"`, `"zeros"`).
        unit_forget_bias: Bool; the forget gate's bias starts at 1. Defaults to `True`.
        kernel_regularizer, recurrent_regularizer, bias_regularizer, activity_regularizer:
            Optional regularizers.
        kernel_constraint, recurrent_constraint, bias_constraint: Optional constraints.
        dropout, recurrent_dropout: Floats in [0, 1]: dropout of the inputs / states (one
            mask per gate, fixed over the sequence; training only).
        seed: Optional int seeding the dropout.
        return_sequences, return_state, go_backwards, stateful: As in `LSTM`.
        **kwargs: Base layer arguments (`name`, `dtype`, ...).

    Call arguments:
        inputs: `(batch, time, rows, cols, channels)`.
        initial_state: Optional `[h, c]`, each `(batch, out_rows, out_cols, filters)`.
        mask: Optional `(batch, time)` boolean mask.
        training: Bool, whether dropout applies.

    Returns:
        `(batch, out_rows, out_cols, filters)` (or with the time axis with
        `return_sequences`); with `return_state`, `[output, h, c]`.

    Raises:
        ValueError: For invalid arguments or inputs of another rank.

    Example:

    >>> import numpy as np, rnnkit as keras
    >>> layer = keras.layers.ConvLSTM2D(2, (3, 3))
    >>> layer(np.ones((1, 4, 6, 6, 1))).shape
    (1, 4, 4, 2)
    >>> layer.cell.kernel.shape, layer.cell.recurrent_kernel.shape
    ((3, 3, 1, 8), (3, 3, 2, 8))
    """

    rank = 2


class ConvLSTM3D(_ConvLSTM):
    """3D convolutional LSTM: inputs `(batch, time, dim1, dim2, dim3, channels)`.

    Like `ConvLSTM2D` with three spatial axes; see it for the arguments.

    Example:

    >>> import numpy as np, rnnkit as keras
    >>> keras.layers.ConvLSTM3D(2, 2)(np.ones((1, 2, 3, 3, 3, 1))).shape
    (1, 2, 2, 2, 2)
    """

    rank = 3
