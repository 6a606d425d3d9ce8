"""GroupedQueryAttention (`keras.layers.GroupQueryAttention`): attention in which groups of
query heads share one key/value head."""

from __future__ import annotations

import numpy as np

from rnnkit import constraints, initializers, ops, regularizers
from rnnkit import random as rnn_random
from rnnkit.layers.attention._common import (LARGE_NEGATIVE, QueryValueKeyCall, check_rate,
                                              check_seed, combine_masks, dropout_weights)
from rnnkit.layers.core._checks import check_bool, is_int
from rnnkit.layers.core.einsum_dense import EinsumDense
from rnnkit.layers.layer import Layer, shape_of


def _copy(initializer):
    """A fresh initializer of the same configuration (one per projection, as Keras)."""
    return initializers.deserialize(initializers.serialize(initializer))


class GroupedQueryAttention(QueryValueKeyCall, Layer):
    """Grouped-query attention (Ainslie et al., 2023), `keras.layers.GroupQueryAttention`.

    `num_query_heads` query heads attend through `num_key_value_heads` key/value heads, each
    shared by `num_query_heads / num_key_value_heads` query heads (multi-query attention when
    there is one key/value head, multi-head attention when there are as many as query heads).
    Projections, with Keras' names and weight layout (`EinsumDense` sublayers): `query`
    `(features, num_query_heads, head_dim)`, `key` and `value` `(features,
    num_key_value_heads, head_dim)`, optional `gate` (sigmoid, like `query`), and
    `attention_output` `(num_query_heads, head_dim, features)`, each with a bias when
    `use_bias`. The scores are `softmax(q . k / sqrt(head_dim))` over the keys.

    Masks: the Keras masks carried by `query`, `value` and `key` (or passed as `query_mask`,
    `value_mask`, `key_mask`), `attention_mask` `(B, T, S)`, `use_causal_mask` and the
    `sliding_window` band (`|i - j| < sliding_window`) are combined with AND. Masked scores
    get -1e9 before the softmax. As in Keras, when the scores are returned or dropout is set,
    a query whose keys are all masked gets zero weights; otherwise (Keras' fused path) it
    gets uniform weights.

    Args:
        head_dim: Int > 0, the size of each head.
        num_query_heads: Int > 0.
        num_key_value_heads: Int > 0 dividing `num_query_heads`.
        dropout: Float in [0, 1], dropout of the attention weights in training.
        use_bias: Bool. Defaults to `True`.
        sliding_window: `None` or an int > 0, the attention band's half width plus one.
        flash_attention: `None` or `False` (a GPU kernel; `True` is refused).
        kernel_initializer: Defaults to `"glorot_uniform"`.
        bias_initializer: Defaults to `"zeros"`.
        kernel_regularizer: Optional, for every projection kernel.
        bias_regularizer: Optional, for every projection bias.
        activity_regularizer: Optional, of the output (and, as in Keras, of each
            projection).
        kernel_constraint: Optional.
        bias_constraint: Optional.
        use_gate: Bool, gate the attention output with a sigmoid projection of the query.
            Defaults to `False`.
        seed: Optional int, the dropout seed.
        **kwargs: Base layer arguments (`name`, `dtype`, ...).

    Call arguments:
        query: `(B, T, features)`.
        value: `(B, S, features_v)`.
        key: Optional `(B, S, features_k)`; defaults to `value`.
        query_mask, value_mask, key_mask: Optional `(B, T)` / `(B, S)` masks.
        attention_mask: Optional boolean `(B, T, S)` mask (True = attend).
        return_attention_scores: Bool; also return the weights `(B, num_query_heads, T, S)`.
        training: Bool, applies dropout.
        use_causal_mask: Bool, query `i` attends to keys `j <= i` only.

    Raises:
        ValueError: For non-positive sizes, heads that do not divide, an invalid
            `sliding_window`, `flash_attention=True`, or inputs whose shapes do not fit.

    Example:

    >>> import numpy as np, rnnkit as keras
    >>> layer = keras.layers.GroupQueryAttention(head_dim=4, num_query_heads=4,
    ...                                          num_key_value_heads=2)
    >>> out, scores = layer(np.ones((2, 3, 8)), np.ones((2, 5, 8)),
    ...                     return_attention_scores=True)
    >>> out.shape, scores.shape
    ((2, 3, 8), (2, 4, 3, 5))
    """

    supports_masking = True

    def __init__(self, head_dim, num_query_heads, num_key_value_heads, dropout=0.0,
                 use_bias=True, sliding_window=None, flash_attention=None,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, use_gate=False, seed=None,
                 **kwargs):
        for argument, value in (("head_dim", head_dim), ("num_query_heads", num_query_heads),
                                ("num_key_value_heads", num_key_value_heads)):
            if not is_int(value) or value <= 0:
                raise ValueError(f"Received an invalid value for argument `{argument}`, "
                                 f"expected a positive integer. Received: {argument}={value!r}")
        if num_query_heads % num_key_value_heads != 0:
            raise ValueError(f"`num_query_heads` must be divisible by `num_key_value_heads`. "
                             f"Received: num_query_heads={num_query_heads}, "
                             f"num_key_value_heads={num_key_value_heads}")
        if sliding_window is not None and (not is_int(sliding_window) or sliding_window <= 0):
            raise ValueError(f"`sliding_window` must be `None` or a positive integer. "
                             f"Received: sliding_window={sliding_window}")
        if flash_attention:
            raise ValueError("GroupQueryAttention: `flash_attention=True` is not supported by "
                             "rnnkit (CPU computation); pass None or False.")
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        self.head_dim = int(head_dim)
        self.num_query_heads = int(num_query_heads)
        self.num_key_value_heads = int(num_key_value_heads)
        self.num_repeats = self.num_query_heads // self.num_key_value_heads
        self.dropout = check_rate(dropout)
        self.use_bias = check_bool(use_bias, "use_bias")
        self.use_gate = check_bool(use_gate, "use_gate")
        self.sliding_window = None if sliding_window is None else int(sliding_window)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        self.seed = check_seed(seed)
        self.seed_generator = rnn_random.SeedGenerator(self.seed)
        self._with_scores = False

    def _projection(self, equation, out_shape, bias_axes, name, activation=None):
        return EinsumDense(equation, output_shape=out_shape,
                           bias_axes=bias_axes if self.use_bias else None,
                           activation=activation, name=name,
                           kernel_initializer=_copy(self.kernel_initializer),
                           bias_initializer=_copy(self.bias_initializer),
                           kernel_regularizer=self.kernel_regularizer,
                           bias_regularizer=self.bias_regularizer,
                           activity_regularizer=self.activity_regularizer,
                           kernel_constraint=self.kernel_constraint,
                           bias_constraint=self.bias_constraint, dtype=self.dtype)

    def build(self, query_shape, value_shape=None, key_shape=None):
        """Creates the projections `query`, `key`, (`gate`,) `value`, `attention_output`."""
        query_shape = tuple(query_shape)
        value_shape = query_shape if value_shape is None else tuple(value_shape)
        key_shape = value_shape if key_shape is None else tuple(key_shape)
        self._check_shapes(query_shape, value_shape, key_shape)
        self.feature_dim = query_shape[-1]
        hq, hkv, d = self.num_query_heads, self.num_key_value_heads, self.head_dim
        self._query_dense = self._projection("bqm,muh->bquh", (None, hq, d), "uh", "query")
        self._query_dense.build(query_shape)
        self._key_dense = self._projection("bkm,mvh->bkvh", (None, hkv, d), "vh", "key")
        self._key_dense.build(key_shape)
        if self.use_gate:
            self._gate_dense = self._projection("bqm,muh->bquh", (None, hq, d), "uh", "gate",
                                                activation="sigmoid")
            self._gate_dense.build(query_shape)
        self._value_dense = self._projection("bkm,mvh->bkvh", (None, hkv, d), "vh", "value")
        self._value_dense.build(value_shape)
        self._output_dense = self._projection("bquh,uhm->bqm", (None, self.feature_dim), "m",
                                              "attention_output")
        self._output_dense.build((None, None, hq, d))

    def _check_shapes(self, query_shape, value_shape, key_shape):
        if len(query_shape) != 3 or len(value_shape) != 3 or len(key_shape) != 3:
            raise ValueError(f"Layer '{self.name}' (GroupQueryAttention) expects `query`, "
                             f"`value` and `key` of rank 3 (batch, steps, features); received "
                             f"query_shape={query_shape}, value_shape={value_shape}, "
                             f"key_shape={key_shape}")
        if value_shape[1:-1] != key_shape[1:-1]:
            raise ValueError(f"All dimensions of `value` and `key`, except the last one, must "
                             f"be equal. Received: value_shape={value_shape} and "
                             f"key_shape={key_shape}")

    def call(self, query, value, key=None, query_mask=None, value_mask=None, key_mask=None,
             attention_mask=None, return_attention_scores=False, training=False,
             use_causal_mask=False):
        """Computes grouped-query attention; see the class docstring."""
        return_attention_scores = check_bool(return_attention_scores, "return_attention_scores")
        use_causal_mask = check_bool(use_causal_mask, "use_causal_mask")
        value = self._convert_input(value)
        key = value if key is None else self._convert_input(key)
        self._check_shapes(shape_of(query), shape_of(value), shape_of(key))
        t_len, s_len = shape_of(query)[1], shape_of(value)[1]
        window = None
        if self.sliding_window is not None:
            rows, cols = np.arange(t_len)[:, None], np.arange(s_len)[None, :]
            window = (np.abs(rows - cols) < self.sliding_window)[None]
        mask = combine_masks(t_len, s_len, query_mask, value_mask, key_mask, attention_mask,
                             use_causal_mask, extra=window)
        gate = self._gate_dense(query) if self.use_gate else None
        q = self._query_dense(query)
        k = ops.repeat(self._key_dense(key), self.num_repeats, axis=2)
        v = ops.repeat(self._value_dense(value), self.num_repeats, axis=2)
        q = ops.multiply(q, np.asarray(1.0 / np.sqrt(self.head_dim), dtype=ops.dtype(q)))
        scores = ops.einsum("bquh,bkuh->buqk", q, k)
        if mask is not None:
            while mask.ndim < 4:
                mask = np.expand_dims(mask, -3)
            scores = ops.where(mask, scores, np.asarray(-LARGE_NEGATIVE, ops.dtype(scores)))
        weights = ops.softmax(scores, axis=-1)
        if mask is not None and (return_attention_scores or self.dropout > 0):
            # Keras' explicit path (a Softmax layer with the mask) zeroes masked weights.
            weights = ops.where(mask, weights, np.zeros((), ops.dtype(weights)))
        used = weights
        if training and self.dropout > 0:
            used = dropout_weights(weights, self.dropout, self.seed_generator)
        output = ops.einsum("buqk,bkuh->bquh", used, v)
        if gate is not None:
            output = ops.multiply(output, gate)
        output = self._output_dense(output)
        if return_attention_scores:
            return output, weights
        return output

    def compute_output_shape(self, query_shape, value_shape=None, key_shape=None):
        """Returns `query_shape` (with `return_attention_scores`, found by running the
        layer)."""
        query_shape = tuple(query_shape)
        if value_shape is not None:
            value_shape = tuple(value_shape)
            if query_shape[-1] != value_shape[-1]:
                raise ValueError(f"The last dimension of `query_shape` and `value_shape` must "
                                 f"be equal, but are {query_shape[-1]}, {value_shape[-1]}. "
                                 f"Received: query_shape={query_shape}, "
                                 f"value_shape={value_shape}")
        if self._with_scores:
            raise NotImplementedError  # the shapes are found by running the layer
        return query_shape

    def get_config(self):
        return {
            **super().get_config(),
            "head_dim": self.head_dim,
            "num_query_heads": self.num_query_heads,
            "num_key_value_heads": self.num_key_value_heads,
            "use_bias": self.use_bias,
            "use_gate": self.use_gate,
            "sliding_window": self.sliding_window,
            "dropout": self.dropout,
            "kernel_initializer": initializers.serialize(self.kernel_initializer),
            "bias_initializer": initializers.serialize(self.bias_initializer),
            "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
            "bias_regularizer": regularizers.serialize(self.bias_regularizer),
            "activity_regularizer": regularizers.serialize(self.activity_regularizer),
            "kernel_constraint": constraints.serialize(self.kernel_constraint),
            "bias_constraint": constraints.serialize(self.bias_constraint),
            "seed": self.seed,
        }


GroupQueryAttention = GroupedQueryAttention
