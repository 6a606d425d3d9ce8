"""Dot-product (Luong) and additive (Bahdanau) attention over `[query, value(, key)]`."""

from __future__ import annotations

import numpy as np

from rnnkit import ops
from rnnkit import random as rnn_random
from rnnkit.layers.attention._common import (LARGE_NEGATIVE, as_bool_mask, causal_mask,
                                              check_rate, check_seed, dropout_weights)
from rnnkit.layers.core._checks import check_bool
from rnnkit.layers.layer import Layer

_SCORE_MODES = ("dot", "concat")


class Attention(Layer):
    """Dot-product attention layer, a.k.a. Luong-style attention.

    Takes a list `[query, value]` or `[query, value, key]` of arrays `(batch, Tq, dim)`,
    `(batch, Tv, dim)` and `(batch, Tv, dim)` (`key` defaults to `value`) and computes

    1. scores `(batch, Tq, Tv)`: `query @ key^T` for `score_mode="dot"`, or
       `concat_score_weight * sum(tanh(query_i + key_j), -1)` for `score_mode="concat"`;
       with `use_scale`, the scores (dot) or the sum `query_i + key_j` (concat) are multiplied
       by a trainable scalar `scale`;
    2. masked positions (value mask, causal mask) get `-1e9` added, then
       `weights = softmax(scores, axis=-1)` (with dropout of the weights in training);
    3. `output = weights @ value`, `(batch, Tq, dim)`, zeroed at masked query steps.

    Weights: `scale` (shape `()`, initialized to 1) when `use_scale`, and
    `concat_score_weight` (shape `()`, initialized to 1) when `score_mode="concat"`.

    Args:
        use_scale: Bool. If `True`, creates the trainable scalar `scale`. Defaults to `False`.
        score_mode: `"dot"` (the default) or `"concat"`.
        dropout: Float in [0, 1], the fraction of attention weights dropped in training.
        seed: Optional int seeding the dropout.
        **kwargs: Base layer arguments (`name`, `dtype`, ...).

    Call arguments:
        inputs: A list `[query, value]` or `[query, value, key]`.
        mask: Optional list `[query_mask, value_mask]` of boolean arrays `(batch, Tq)` and
            `(batch, Tv)` (either may be `None`). Masked value steps get no attention; the
            output is 0 at masked query steps. Masks carried by the inputs are used when no
            `mask` is passed.
        training: Bool, whether dropout applies.
        return_attention_scores: Bool; if `True`, returns `(output, weights)`.
        use_causal_mask: Bool; if `True`, query step `i` attends only to steps `j <= i`.

    Returns:
        The output `(batch, Tq, dim)`, or `(output, weights)` with the weights
        `(batch, Tq, Tv)`. The output's mask is the query mask.

    Raises:
        ValueError: If `score_mode` is not `"dot"`/`"concat"`, `dropout` is outside [0, 1],
            or the inputs / mask are not lists of length 2 or 3.
        TypeError: If `use_scale` is not a bool or `dropout` / `seed` have the wrong type.

    Example:

    >>> import numpy as np, rnnkit as keras
    >>> query = np.ones((2, 3, 4), "float32")
    >>> value = np.ones((2, 5, 4), "float32")
    >>> keras.layers.Attention()([query, value]).shape
    (2, 3, 4)
    >>> out, weights = keras.layers.Attention()([query, value], return_attention_scores=True)
    >>> weights.shape, float(weights.sum(-1)[0, 0])
    ((2, 3, 5), 1.0)
    """

    supports_masking = True

    def __init__(self, use_scale=False, score_mode="dot", dropout=0.0, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.use_scale = check_bool(use_scale, "use_scale")
        if score_mode not in _SCORE_MODES:
            raise ValueError("Invalid value for argument score_mode. Expected one of "
                             f"{{'dot', 'concat'}}. Received: score_mode={score_mode!r}")
        self.score_mode = score_mode
        self.dropout = check_rate(dropout)
        self.seed = check_seed(seed)
        self.seed_generator = rnn_random.SeedGenerator(self.seed)
        self._with_scores = False

    # -- inputs ------------------------------------------------------------------------------
    def _validate_inputs(self, inputs, mask=None):
        name = type(self).__name__
        if not isinstance(inputs, (list, tuple)):
            raise ValueError(f"{name} layer must be called on a list of inputs, namely "
                             f"[query, value] or [query, value, key]. Received: inputs of "
                             f"type {type(inputs).__name__}.")
        if not 2 <= len(inputs) <= 3:
            raise ValueError(f"{name} layer accepts inputs list of length 2 or 3, namely "
                             f"[query, value] or [query, value, key]. Received length: "
                             f"{len(inputs)}.")
        if mask is not None:
            if not isinstance(mask, (list, tuple)):
                raise ValueError(f"{name} layer mask must be a list, namely "
                                 f"[query_mask, value_mask]. Received: mask of type "
                                 f"{type(mask).__name__}.")
            if not 2 <= len(mask) <= 3:
                raise ValueError(f"{name} layer accepts mask list of length 2 or 3. "
                                 f"Received length: {len(mask)}.")

    def _shapes(self, input_shape):
        self._validate_inputs(input_shape)
        shapes = [tuple(s) for s in input_shape]
        for index, shape in enumerate(shapes):
            if len(shape) < 2:
                raise ValueError(f"Layer '{self.name}' ({type(self).__name__}): input {index} "
                                 f"must have rank >= 2 (batch, steps, dim), got shape {shape}")
        return shapes

    def build(self, input_shape):
        """Creates `scale` (with `use_scale`) and `concat_score_weight` (concat mode).

        Args:
            input_shape: A list of the shapes of `[query, value(, key)]`.

        Raises:
            ValueError: If `input_shape` is not a list of 2 or 3 shapes.
        """
        self._shapes(input_shape)
        self.scale = None
        self.concat_score_weight = None
        if self.use_scale:
            self.scale = self.add_weight(shape=(), initializer="ones", name="scale")
        if self.score_mode == "concat":
            self.concat_score_weight = self.add_weight(shape=(), initializer="ones",
                                                       name="concat_score_weight")

    # -- computation -------------------------------------------------------------------------
    def _calculate_scores(self, query, key):
        """Scores `(batch, Tq, Tv)` of every query step against every key step."""
        if self.score_mode == "dot":
            scores = ops.matmul(query, ops.swapaxes(key, -2, -1))
            if self.scale is not None:
                scores = ops.multiply(scores, self.scale)
            return scores
        pair = ops.add(ops.expand_dims(query, -2), ops.expand_dims(key, -3))
        if self.scale is not None:
            pair = ops.multiply(self.scale, pair)
        return ops.multiply(self.concat_score_weight, ops.sum(ops.tanh(pair), axis=-1))

    def _apply_scores(self, scores, value, scores_mask, training):
        if scores_mask is not None:
            if scores_mask.ndim == 2:
                scores_mask = scores_mask[:, None, :]
            scores = ops.where(scores_mask, scores,
                               ops.subtract(scores, np.asarray(LARGE_NEGATIVE,
                                                               ops.dtype(scores))))
        weights = ops.softmax(scores, axis=-1)
        used = weights
        if training and self.dropout > 0:
            used = dropout_weights(weights, self.dropout, self.seed_generator)
        return ops.matmul(used, value), weights

    def call(self, inputs, mask=None, training=False, return_attention_scores=False,
             use_causal_mask=False):
        """Computes the attention output; see the class docstring."""
        self._validate_inputs(inputs, mask)
        return_attention_scores = check_bool(return_attention_scores, "return_attention_scores")
        use_causal_mask = check_bool(use_causal_mask, "use_causal_mask")
        query, value = inputs[0], inputs[1]
        key = inputs[2] if len(inputs) > 2 else value
        q_mask = as_bool_mask(mask[0]) if mask else None
        v_mask = as_bool_mask(mask[1]) if mask else None
        scores = self._calculate_scores(query, key)
        scores_mask = v_mask
        if use_causal_mask:
            shape = ops.shape(scores)
            scores_mask = causal_mask(shape[-2], shape[-1])
            if v_mask is not None:
                scores_mask = np.logical_and(v_mask[..., None, :], scores_mask)
        output, weights = self._apply_scores(scores, value, scores_mask, training)
        if q_mask is not None:
            output = ops.where(q_mask[..., None], output,
                               np.zeros((), dtype=ops.dtype(output)))
        if return_attention_scores:
            return output, weights
        return output

    def __call__(self, *args, **kwargs):
        """Calls the layer on `[query, value(, key)]`; see the class docstring."""
        inputs = args[0] if args else kwargs.get("inputs")
        self._validate_inputs(inputs, kwargs.get("mask"))
        self._with_scores = bool(kwargs.get("return_attention_scores", False))
        try:
            return super().__call__(*args, **kwargs)
        finally:
            self._with_scores = False

    def compute_mask(self, inputs, mask=None):
        """Returns the query mask (the first entry of `mask`), or `None`."""
        self._validate_inputs(inputs, mask)
        if mask is None or mask[0] is None:
            return None
        return as_bool_mask(mask[0])

    def compute_output_shape(self, input_shape):
        """Returns `query_shape[:-1] + value_shape[-1:]` (and the weights' shape
        `query_shape[:-1] + (Tv,)` when called with `return_attention_scores=True`)."""
        shapes = self._shapes(input_shape)
        out = shapes[0][:-1] + shapes[1][-1:]
        if self._with_scores:
            key = shapes[2] if len(shapes) > 2 else shapes[1]
            return out, shapes[0][:-1] + (key[-2],)
        return out

    def get_config(self):
        return {**super().get_config(), "use_scale": self.use_scale,
                "score_mode": self.score_mode, "dropout": self.dropout, "seed": self.seed}


class AdditiveAttention(Attention):
    """Additive attention layer, a.k.a. Bahdanau-style attention.

    Like `Attention`, on a list `[query, value]` or `[query, value, key]`, but the scores are
    `sum(scale * tanh(query_i + key_j), axis=-1)`: `(batch, Tq, Tv)`, with `scale` a
    trainable vector `(dim,)` (Glorot-uniform initialized) when `use_scale`, else 1. The
    masking, softmax, dropout and output are those of `Attention`.

    Args:
        use_scale: Bool. If `True` (the default), creates the trainable vector `scale`.
        dropout: Float in [0, 1], the fraction of attention weights dropped in training.
        seed: Optional int seeding the dropout.
        **kwargs: Base layer arguments (`name`, `dtype`, ...).

    Call arguments:
        inputs: A list `[query, value]` or `[query, value, key]`; query and key must have
            the same last dimension.
        mask: Optional list `[query_mask, value_mask]`.
        training: Bool, whether dropout applies.
        return_attention_scores: Bool; if `True`, returns `(output, weights)`.
        use_causal_mask: Bool; if `True`, query step `i` attends only to steps `j <= i`.

    Returns:
        As `Attention`.

    Raises:
        ValueError: As `Attention`.
        TypeError: As `Attention`.

    Example:

    >>> import numpy as np, rnnkit as keras
    >>> layer = keras.layers.AdditiveAttention()
    >>> layer([np.ones((2, 3, 4)), np.ones((2, 5, 4))]).shape
    (2, 3, 4)
    >>> layer.scale.shape
    (4,)
    """

    def __init__(self, use_scale=True, dropout=0.0, seed=None, **kwargs):
        if "score_mode" in kwargs:
            raise ValueError("AdditiveAttention does not take `score_mode` (its scores are "
                             f"additive); received score_mode={kwargs['score_mode']!r}")
        super().__init__(use_scale=use_scale, dropout=dropout, seed=seed, **kwargs)

    def build(self, input_shape):
        """Creates `scale` `(dim,)` (with `use_scale`), `dim` being the query's last axis.

        Args:
            input_shape: A list of the shapes of `[query, value(, key)]`.
        """
        shapes = self._shapes(input_shape)
        dim = shapes[0][-1]
        self.scale = None
        self.concat_score_weight = None
        if self.use_scale:
            self.scale = self.add_weight(shape=(dim,), initializer="glorot_uniform",
                                         name="scale")

    def _calculate_scores(self, query, key):
        """Scores `sum(scale * tanh(query_i + key_j), -1)`, `(batch, Tq, Tv)`."""
        pair = ops.tanh(ops.add(ops.expand_dims(query, -2), ops.expand_dims(key, -3)))
        if self.scale is not None:
            pair = ops.multiply(self.scale, pair)
        return ops.sum(pair, axis=-1)

    def get_config(self):
        config = super().get_config()
        config.pop("score_mode")
        return config
