"""ReversibleEmbedding: an Embedding that can also project hidden states back to logits."""

from __future__ import annotations

import numbers

import numpy as np

from rnnkit import masking, ops
from rnnkit.autodiff import unwrap
from rnnkit.layers.core._checks import check_bool, normalize_shape
from rnnkit.layers.core.embedding import Embedding


class ReversibleEmbedding(Embedding):
    """An `Embedding` whose table also maps hidden vectors back to vocabulary logits.

    Called normally, it looks ids up as `Embedding` does (with `mask_zero`, the output has the
    mask `ids != 0`). Called with `reverse=True` on hidden states `(..., output_dim)`, it
    returns `hidden @ embeddings.T` (`tie_weights=True`, the default: the output layer of a
    language model sharing the input table) or `hidden @ reverse_embeddings` with a separate
    `(output_dim, input_dim)` weight (`tie_weights=False`), shape `(..., input_dim)`, without
    a mask. `logit_soft_cap=c` turns the logits into `c * tanh(logits / c)`.

    Args:
        input_dim: Int > 0, the vocabulary size.
        output_dim: Int > 0, the embedding size.
        tie_weights: Bool, reuse `embeddings` for the reverse projection. Defaults to `True`.
        embeddings_initializer: Defaults to `"uniform"`; also initializes
            `reverse_embeddings`.
        embeddings_regularizer: Optional regularizer of `embeddings`.
        embeddings_constraint: Optional constraint of `embeddings`.
        mask_zero: Bool, id 0 is padding (forward calls only). Defaults to `False`.
        reverse_dtype: Optional float dtype the reverse product is computed in (and
            returned in). Defaults to `None` (the layer's dtype).
        logit_soft_cap: Optional positive number, the soft cap of the reverse logits.
        **kwargs: Base layer and `Embedding` arguments (`name`, `dtype`, ...).

    Call arguments:
        inputs: Ids (forward) or hidden states `(..., output_dim)` (reverse).
        reverse: Bool, the direction. Defaults to `False`.

    Raises:
        ValueError: As `Embedding`, or for a non-float `reverse_dtype`, a non-positive
            `logit_soft_cap`, or reverse inputs whose last dimension is not `output_dim`.
        TypeError: If `tie_weights` is not a bool.

    Example:

    >>> import numpy as np, rnnkit as keras
    >>> layer = keras.layers.ReversibleEmbedding(10, 4)
    >>> hidden = layer(np.array([[1, 2, 3]]))
    >>> hidden.shape, layer(hidden, reverse=True).shape
    ((1, 3, 4), (1, 3, 10))
    """

    def __init__(self, input_dim, output_dim, tie_weights=True,
                 embeddings_initializer="uniform", embeddings_regularizer=None,
                 embeddings_constraint=None, mask_zero=False, reverse_dtype=None,
                 logit_soft_cap=None, **kwargs):
        super().__init__(input_dim, output_dim, embeddings_initializer=embeddings_initializer,
                         embeddings_regularizer=embeddings_regularizer,
                         embeddings_constraint=embeddings_constraint, mask_zero=mask_zero,
                         **kwargs)
        self.tie_weights = check_bool(tie_weights, "tie_weights")
        if reverse_dtype is not None:
            try:
                kind = np.dtype(reverse_dtype).kind
            except TypeError:
                kind = None
            if kind != "f":
                raise ValueError(f"ReversibleEmbedding: argument `reverse_dtype` must be a float "
                                 f"dtype or None, got {reverse_dtype!r}")
        if logit_soft_cap is not None and (
                isinstance(logit_soft_cap, bool) or
                not isinstance(logit_soft_cap, numbers.Real) or logit_soft_cap <= 0):
            raise ValueError(f"ReversibleEmbedding: argument `logit_soft_cap` must be a positive "
                             f"number or None, got {logit_soft_cap!r}")
        self.reverse_dtype = reverse_dtype
        self.logit_soft_cap = logit_soft_cap
        self._reverse_call = False

    def build(self, input_shape=None):
        """Creates `embeddings` and, with `tie_weights=False`, `reverse_embeddings`."""
        if self.built:
            return
        super().build(input_shape)
        if not self.tie_weights:
            self.reverse_embeddings = self.add_weight(
                shape=(self.output_dim, self.input_dim), name="reverse_embeddings",
                initializer=self.embeddings_initializer, trainable=True)

    def __call__(self, *args, reverse=False, **kwargs):
        """Calls the layer; `reverse=True` projects hidden states to logits."""
        previous, self._reverse_call = self._reverse_call, bool(reverse)
        try:
            if reverse:
                return super().__call__(*args, reverse=True, **kwargs)
            return super().__call__(*args, **kwargs)
        finally:
            self._reverse_call = previous

    def call(self, inputs, reverse=False):
        """Returns the embeddings of the ids, or (`reverse=True`) the logits of `inputs`."""
        if not reverse:
            result = super().call(inputs)
            if self.mask_zero:
                # Set here, as Keras does: `compute_mask` cannot tell the direction.
                masking.set_keras_mask(result, np.asarray(unwrap(inputs)) != 0)
            return result
        x = ops.convert_to_tensor(inputs)
        if ops.shape(x)[-1] != self.output_dim:
            raise ValueError(f"Layer '{self.name}' (ReversibleEmbedding) called with "
                             f"reverse=True expects inputs whose last dimension is "
                             f"output_dim={self.output_dim}, got shape {tuple(ops.shape(x))}")
        kernel = ops.transpose(self.embeddings) if self.tie_weights \
            else self.reverse_embeddings
        if self.reverse_dtype is not None:
            x = ops.cast(x, self.reverse_dtype)
            kernel = ops.cast(kernel, self.reverse_dtype)
        elif ops.dtype(x) != self.dtype:
            x = ops.cast(x, self.dtype)
        logits = ops.matmul(x, kernel)
        if self.logit_soft_cap is not None:
            cap = self.logit_soft_cap
            logits = ops.multiply(ops.tanh(ops.divide(logits, cap)), cap)
        return logits

    def compute_mask(self, inputs, previous_mask=None):
        """Returns `None`: a forward call with `mask_zero` sets its mask in `call` (as Keras
        does), a reverse call has none."""
        return None

    def compute_output_shape(self, input_shape, reverse=None):
        """`input_shape + (output_dim,)`, or with `reverse` the last axis set to
        `input_dim`."""
        reverse = self._reverse_call if reverse is None else reverse
        shape = normalize_shape(input_shape, self)
        if reverse:
            return shape[:-1] + (self.input_dim,)
        return shape + (self.output_dim,)

    def get_config(self):
        return {**super().get_config(), "tie_weights": self.tie_weights,
                "reverse_dtype": self.reverse_dtype, "logit_soft_cap": self.logit_soft_cap}
