"""MultiHeadAttention: `num_heads` scaled dot-product attentions over learned projections."""

from __future__ import annotations

import string

import numpy as np

from rnnkit import constraints, initializers, ops, regularizers
from rnnkit import random as rnn_random
from rnnkit.layers.attention._common import (LARGE_NEGATIVE, QueryValueKeyCall, check_rate,
                                              check_seed, combine_masks, dropout_weights)
from rnnkit.layers.core._checks import check_bool, is_int
from rnnkit.layers.layer import Layer, shape_of

_LETTERS = string.ascii_lowercase


def _projection_equation(free, bound, out):
    """einsum equation of a projection: `free` axes kept, `bound` contracted with the kernel,
    `out` new axes from the kernel; also returns the letters of the bias axes."""
    kept = _LETTERS[:free]
    contracted = _LETTERS[free:free + bound]
    new = _LETTERS[free + bound:free + bound + out]
    return f"{kept}{contracted},{contracted}{new}->{kept}{new}", new


def _attention_equations(rank, attention_axes):
    """einsum equations `(key, query) -> scores` and `(scores, value) -> output` for
    projected tensors of rank `rank` laid out `(batch, ..., heads, channels)`."""
    target = _LETTERS[:rank]
    batch_axes = [i for i in range(rank - 1) if i not in attention_axes]
    source = list(target)
    extra = iter(_LETTERS[rank:])
    for axis in attention_axes:
        source[axis] = next(extra)
    source = "".join(source)
    product = ("".join(target[i] for i in batch_axes) + "".join(target[i] for i in attention_axes)
               + "".join(source[i] for i in attention_axes))
    return f"{source},{target}->{product}", f"{product},{source}->{target}", len(product)


class _EinsumProjection(Layer):
    """One projection of MultiHeadAttention: `einsum(equation, x, kernel) + bias`, with Keras'
    `EinsumDense` weight layout (`kernel`, then `bias`)."""

    def __init__(self, equation, kernel_shape, bias_shape, owner, **kwargs):
        super().__init__(dtype=owner.dtype, **kwargs)
        self.equation = equation
        self.kernel_shape = tuple(kernel_shape)
        self.bias_shape = None if bias_shape is None else tuple(bias_shape)
        # The owner's settings (not the owner itself: a tracked attribute would nest it).
        self._settings = dict(
            kernel_initializer=initializers.serialize(owner.kernel_initializer),
            bias_initializer=initializers.serialize(owner.bias_initializer),
            kernel_regularizer=owner.kernel_regularizer, bias_regularizer=owner.bias_regularizer,
            kernel_constraint=owner.kernel_constraint, bias_constraint=owner.bias_constraint)

    def build(self, input_shape):
        """Creates `kernel` and (with a bias) `bias` with the owner's initializers."""
        settings = self._settings
        self.kernel = self.add_weight(
            shape=self.kernel_shape, name="kernel",
            initializer=initializers.get(settings["kernel_initializer"]),
            regularizer=settings["kernel_regularizer"],
            constraint=settings["kernel_constraint"])
        self.bias = None
        if self.bias_shape is not None:
            self.bias = self.add_weight(
                shape=self.bias_shape, name="bias",
                initializer=initializers.get(settings["bias_initializer"]),
                regularizer=settings["bias_regularizer"], constraint=settings["bias_constraint"])

    def call(self, inputs):
        """Returns `einsum(equation, inputs, kernel) (+ bias)`."""
        out = ops.einsum(self.equation, inputs, self.kernel)
        return out if self.bias is None else ops.add(out, self.bias)


class MultiHeadAttention(QueryValueKeyCall, Layer):
    """Multi-head attention layer (as in "Attention Is All You Need").

    `query` `(batch, T, dim_q)`, `value` `(batch, S, dim_v)` and `key` (defaults to `value`)
    are projected per head: `Q = query @ Wq + bq` `(batch, T, num_heads, key_dim)`, `K` the
    same from `key`, `V` `(batch, S, num_heads, value_dim)` from `value`. Each head computes
    `softmax(Q K^T / sqrt(key_dim))` (masked positions get -1e9 first; dropout on these
    weights in training) and applies it to `V`; the heads are projected back by the output
    kernel to `(batch, T, dim_q)` (or `output_shape`).

    Weights, in Keras' order and layout (so weights transfer with `set_weights`):
    `query/kernel` `(dim_q, num_heads, key_dim)`, `query/bias` `(num_heads, key_dim)`,
    `key/kernel` `(dim_k, num_heads, key_dim)`, `key/bias`, `value/kernel`
    `(dim_v, num_heads, value_dim)`, `value/bias` `(num_heads, value_dim)`,
    `attention_output/kernel` `(num_heads, value_dim, *output_shape)` and
    `attention_output/bias` `output_shape` (biases only with `use_bias`).

    Args:
        num_heads: Positive int, the number of attention heads.
        key_dim: Positive int, the size of each head for query and key.
        value_dim: Positive int, the size of each head for value. Defaults to `key_dim`.
        dropout: Float in [0, 1], the dropout rate of the attention weights (training only).
        use_bias: Bool, whether the projections have biases. Defaults to `True`.
        output_shape: Optional int or tuple, the trailing output shape. Defaults to the
            query's last dimension.
        attention_axes: Optional int or tuple of axes of the inputs over which attention is
            applied (not the batch or feature axis). Defaults to every such axis (axis 1 for a
            sequence `(batch, T, dim)`).
        sliding_window: Must be `None` (Keras' sliding-window mask is not implemented).
        flash_attention: `None` or `False` (flash attention does not apply on a CPU);
            `True` raises `ValueError`.
        kernel_initializer: Initializer of the kernels. Defaults to `"glorot_uniform"`.
        bias_initializer: Initializer of the biases. Defaults to `"zeros"`.
        kernel_regularizer: Optional regularizer of the kernels.
        bias_regularizer: Optional regularizer of the biases.
        activity_regularizer: Optional regularizer of the output.
        kernel_constraint: Optional constraint of the kernels.
        bias_constraint: Optional constraint of the biases.
        use_gate: Must be `False` (Keras' gated attention is not implemented).
        seed: Optional int seeding the dropout.
        **kwargs: Base layer arguments (`name`, `dtype`, ...).

    Call arguments:
        query: Array `(batch, T, dim_q)`.
        value: Array `(batch, S, dim_v)`.
        key: Optional array `(batch, S, dim_k)`; defaults to `value`.
        attention_mask: Optional boolean array `(batch, T, S)`: `True` where query `t` may
            attend to key `s`.
        return_attention_scores: Bool; if `True`, also returns the attention weights
            `(batch, num_heads, T, S)` (before dropout).
        training: Bool, whether dropout applies.
        use_causal_mask: Bool; if `True`, query `t` attends only to keys `s <= t`.
        query_mask, value_mask, key_mask: Optional boolean arrays `(batch, T)` / `(batch, S)`.
            By default the masks carried by `query`, `value` and `key` (from
            `Embedding(mask_zero=True)`, `Masking`, ...); all masks are combined with `and`.

    Returns:
        The output `(batch, T, *output_shape)`, or `(output, scores)`. The output carries
        the query's mask.

    Raises:
        ValueError: For invalid `num_heads`, `key_dim`, `value_dim`, `dropout`,
            `output_shape` or `attention_axes`, and for `value` / `key` shapes that differ
            in any axis but the last.
        TypeError: For non-bool flags or a non-int `seed`.

    Example:

    >>> import numpy as np, rnnkit as keras
    >>> layer = keras.layers.MultiHeadAttention(num_heads=2, key_dim=3, name="mha")
    >>> query, value = np.ones((4, 5, 8)), np.ones((4, 6, 7))
    >>> out, scores = layer(query, value, return_attention_scores=True)
    >>> out.shape, scores.shape
    ((4, 5, 8), (4, 2, 5, 6))
    >>> [w.path for w in layer.weights][:2]
    ['mha/query/kernel', 'mha/query/bias']
    """

    supports_masking = True

    def __init__(self, num_heads, key_dim, value_dim=None, dropout=0.0, use_bias=True,
                 output_shape=None, attention_axes=None, sliding_window=None,
                 flash_attention=None, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, kernel_constraint=None, bias_constraint=None,
                 use_gate=False, seed=None, **kwargs):
        for argument, value in (("num_heads", num_heads), ("key_dim", key_dim)):
            if not is_int(value) or value <= 0:
                raise ValueError(f"Received an invalid value for argument `{argument}`, "
                                 f"expected a positive integer. Received: {argument}={value!r}")
        if value_dim is not None and (not is_int(value_dim) or value_dim <= 0):
            raise ValueError("Received an invalid value for argument `value_dim`, expected a "
                             f"positive integer or `None`. Received: value_dim={value_dim!r}")
        if sliding_window is not None:
            raise ValueError("MultiHeadAttention: argument `sliding_window` is not supported "
                             f"by rnnkit; received sliding_window={sliding_window!r}. Pass "
                             "None (or build the band with `attention_mask`).")
        if flash_attention:
            raise ValueError("MultiHeadAttention: `flash_attention=True` is not supported by "
                             "rnnkit (CPU computation); pass None or False.")
        if check_bool(use_gate, "use_gate"):
            raise ValueError("MultiHeadAttention: `use_gate=True` is not supported by rnnkit; "
                             "pass use_gate=False.")
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        self.num_heads = int(num_heads)
        self.key_dim = int(key_dim)
        self.value_dim = int(value_dim) if value_dim else self.key_dim
        self.dropout = check_rate(dropout)
        self.use_bias = check_bool(use_bias, "use_bias")
        if output_shape is not None and output_shape != ():
            if is_int(output_shape):
                output_shape = (output_shape,)
            if not isinstance(output_shape, (list, tuple)) or \
                    not all(is_int(d) and d > 0 for d in output_shape):
                raise ValueError(f"Invalid `output_shape`: {output_shape!r}. When specified, the "
                                 "`output_shape` should be a positive int or a tuple/list of "
                                 "them.")
            output_shape = tuple(int(d) for d in output_shape)
        else:
            output_shape = None
        self.output_shape_arg = output_shape
        if is_int(attention_axes):
            attention_axes = (int(attention_axes),)
        elif attention_axes is not None:
            if not isinstance(attention_axes, (list, tuple)) or \
                    not all(is_int(a) for a in attention_axes) or not attention_axes:
                raise ValueError("`attention_axes` must be an int, list, or tuple of ints. "
                                 f"Received: attention_axes={attention_axes!r}")
            attention_axes = tuple(int(a) for a in attention_axes)
        self.attention_axes = attention_axes
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        self.seed = check_seed(seed)
        self.seed_generator = rnn_random.SeedGenerator(self.seed)
        self._with_scores = False

    # -- build -------------------------------------------------------------------------------
    def _resolved_axes(self, rank):
        """Attention axes of the projected tensors (rank `rank` + 1), as non-negative ints."""
        if self.attention_axes is None:
            return tuple(range(1, rank - 1))
        axes = []
        for axis in self.attention_axes:
            resolved = axis if axis >= 0 else rank - 1 + axis
            if not 1 <= resolved <= rank - 2:
                raise ValueError(
                    f"Layer '{self.name}' (MultiHeadAttention): `attention_axes` "
                    f"{self.attention_axes} must name axes between the batch axis and the "
                    f"feature axis of inputs of rank {rank}; axis {axis} does not")
            axes.append(resolved)
        return tuple(axes)

    def build(self, query_shape, value_shape=None, key_shape=None):
        """Creates the projections `query`, `key`, `value` and `attention_output`.

        Args:
            query_shape: Shape of `query`.
            value_shape: Shape of `value`. Defaults to `query_shape`.
            key_shape: Shape of `key`. Defaults to `value_shape`.

        Raises:
            ValueError: If `value` and `key` differ in any axis but the last, the ranks
                differ or are below 3, or `attention_axes` is out of range.
        """
        query_shape = tuple(query_shape)
        value_shape = query_shape if value_shape is None else tuple(value_shape)
        key_shape = value_shape if key_shape is None else tuple(key_shape)
        self._check_shapes(query_shape, value_shape, key_shape)
        rank = len(query_shape)
        self._axes = self._resolved_axes(rank)
        self._dot_equation, self._combine_equation, scores_rank = \
            _attention_equations(rank + 1, self._axes)
        self._softmax_axes = tuple(range(scores_rank - len(self._axes), scores_rank))
        heads = self.num_heads

        def projection(name, dim, size):
            equation, _ = _projection_equation(rank - 1, 1, 2)
            return _EinsumProjection(equation, (dim, heads, size),
                                     (heads, size) if self.use_bias else None, self, name=name)

        self._query_dense = projection("query", query_shape[-1], self.key_dim)
        self._query_dense.build(query_shape)
        self._key_dense = projection("key", key_shape[-1], self.key_dim)
        self._key_dense.build(key_shape)
        self._value_dense = projection("value", value_shape[-1], self.value_dim)
        self._value_dense.build(value_shape)
        out_shape = self.output_shape_arg or (query_shape[-1],)
        equation, _ = _projection_equation(rank - 1, 2, len(out_shape))
        self._output_dense = _EinsumProjection(
            equation, (heads, self.value_dim) + tuple(out_shape),
            tuple(out_shape) if self.use_bias else None, self, name="attention_output")
        self._output_dense.build(query_shape[:-1] + (heads, self.value_dim))

    def _check_shapes(self, query_shape, value_shape, key_shape):
        if value_shape[1:-1] != key_shape[1:-1]:
            raise ValueError("All dimensions of `value` and `key`, except the last one, must be "
                             f"equal. Received: value_shape={value_shape} and "
                             f"key_shape={key_shape}")
        if len(query_shape) < 3 or len(value_shape) != len(query_shape):
            raise ValueError(f"Layer '{self.name}' (MultiHeadAttention): `query` and `value` "
                             "must have the same rank, at least 3 (batch, steps, features); "
                             f"received query_shape={query_shape}, value_shape={value_shape}")

    @property
    def query_dense(self):
        """The query projection (a layer holding `kernel` and `bias`)."""
        return self._query_dense

    @property
    def key_dense(self):
        """The key projection."""
        return self._key_dense

    @property
    def value_dense(self):
        """The value projection."""
        return self._value_dense

    @property
    def output_dense(self):
        """The output projection."""
        return self._output_dense

    # -- call --------------------------------------------------------------------------------
    def call(self, query, value, key=None, query_mask=None, value_mask=None, key_mask=None,
             attention_mask=None, return_attention_scores=False, training=False,
             use_causal_mask=False):
        """Computes multi-head attention; see the class docstring."""
        return_attention_scores = check_bool(return_attention_scores, "return_attention_scores")
        use_causal_mask = check_bool(use_causal_mask, "use_causal_mask")
        value = self._convert_input(value)
        key = value if key is None else self._convert_input(key)
        self._check_shapes(shape_of(query), shape_of(value), shape_of(key))
        mask = combine_masks(shape_of(query)[1], shape_of(value)[1], query_mask, value_mask,
                             key_mask, attention_mask, use_causal_mask)
        q = self._query_dense(query)
        k = self._key_dense(key)
        v = self._value_dense(value)
        q = ops.multiply(q, np.asarray(1.0 / np.sqrt(self.key_dim), dtype=ops.dtype(q)))
        scores = ops.einsum(self._dot_equation, k, q)
        if mask is not None:
            axis = -2 * len(self._axes) - 1
            while mask.ndim < len(ops.shape(scores)):
                mask = np.expand_dims(mask, axis)
            scores = ops.where(mask, scores, np.asarray(-LARGE_NEGATIVE, ops.dtype(scores)))
        weights = ops.softmax(scores, axis=self._softmax_axes)
        used = weights
        if training and self.dropout > 0:
            used = dropout_weights(weights, self.dropout, self.seed_generator)
        output = self._output_dense(ops.einsum(self._combine_equation, used, v))
        if return_attention_scores:
            return output, weights
        return output

    def compute_output_shape(self, query_shape, value_shape=None, key_shape=None):
        """Returns `query_shape[:-1] + output_shape` (by default the query's shape); with
        `return_attention_scores=True` in the call, also the scores' shape."""
        query_shape = tuple(query_shape)
        if value_shape is not None:
            value_shape = tuple(value_shape)
            key_shape = value_shape if key_shape is None else tuple(key_shape)
            self._check_shapes(query_shape, value_shape, key_shape)
        out = query_shape[:-1] + self.output_shape_arg if self.output_shape_arg \
            else query_shape
        if self._with_scores:
            raise NotImplementedError  # the shapes are found by running the layer
        return out

    def get_config(self):
        return {
            **super().get_config(),
            "num_heads": self.num_heads,
            "key_dim": self.key_dim,
            "value_dim": self.value_dim,
            "dropout": self.dropout,
            "use_bias": self.use_bias,
            "use_gate": False,
            "output_shape": self.output_shape_arg,
            "attention_axes": self.attention_axes,
            "sliding_window": None,
            "kernel_initializer": initializers.serialize(self.kernel_initializer),
            "bias_initializer": initializers.serialize(self.bias_initializer),
            "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
            "bias_regularizer": regularizers.serialize(self.bias_regularizer),
            "activity_regularizer": regularizers.serialize(self.activity_regularizer),
            "kernel_constraint": constraints.serialize(self.kernel_constraint),
            "bias_constraint": constraints.serialize(self.bias_constraint),
            "seed": self.seed,
        }
