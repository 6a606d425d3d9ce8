"""Embedding: integer ids -> rows of a trainable `(input_dim, output_dim)` table."""

from __future__ import annotations

import warnings

import numpy as np

from rnnkit import array_library, constraints, initializers, ops, regularizers
from rnnkit.autodiff import unwrap
from rnnkit.layers.core._checks import (check_bool, is_int, normalize_shape, refuse_lora,
                                        refuse_quantization)
from rnnkit.layers.layer import Layer


def _check_dim(value, argument):
    if not is_int(value) or value <= 0:
        raise ValueError(f"`{argument}` must be a positive integer. Received: {argument}={value!r} "
                         f"(of type {type(value).__name__}).")
    return int(value)


class Embedding(Layer):
    """Turns non-negative integer ids into dense vectors of a fixed size.

    Each id selects a row of the trainable `embeddings` table `(input_dim, output_dim)`.
    The lookup is differentiable with respect to the table (the gradients of repeated ids
    add up). Ids outside `[0, input_dim)` raise `ValueError` (Keras on JAX returns NaN rows
    instead).

    Args:
        input_dim: Positive integer, the vocabulary size (the largest id + 1).
        output_dim: Positive integer, the size of each vector.
        embeddings_initializer: Initializer of the table. Defaults to `"uniform"`
            (`RandomUniform(-0.05, 0.05)`).
        embeddings_regularizer: Optional regularizer of the table.
        embeddings_constraint: Optional constraint of the table.
        mask_zero: Bool, whether id 0 is padding: the layer then produces the mask
            `ids != 0` for the layers after it (an RNN skips those timesteps). Row 0 is
            still looked up, so `input_dim` must count the padding id. Defaults to `False`.
        weights: Optional initial table: an array `(input_dim, output_dim)` or a list
            holding it; the layer is built at once with it.
        lora_rank: Must be `None`: LoRA is not implemented.
        lora_alpha: Accepted and ignored (a number or `None`).
        quantization_config: Must be `None`: quantization is not implemented.
        **kwargs: Base layer arguments (`name`, `dtype`, ...); `input_length` is deprecated
            and ignored (with a warning), as in Keras.

    Call arguments:
        inputs: An array of ids of any shape: integers, booleans, or floats (truncated
            towards zero, as Keras' cast to int does).

    Returns:
        An array `inputs.shape + (output_dim,)` of the layer's dtype.

    Raises:
        ValueError: If `input_dim` or `output_dim` is not a positive integer, `lora_rank` or
            `quantization_config` is not `None`, or an id is outside `[0, input_dim)` or not
            finite.
        TypeError: If `mask_zero` is not a bool or the ids are not numbers.

    Example:

    >>> import numpy as np, rnnkit as keras
    >>> layer = keras.layers.Embedding(input_dim=10, output_dim=4, mask_zero=True)
    >>> ids = np.array([[1, 2, 0], [3, 0, 0]])
    >>> layer(ids).shape
    (2, 3, 4)
    >>> layer.compute_mask(ids)
    array([[ True,  True, False],
           [ True, False, False]])
    """

    _mixed_precision = True   # computes under "mixed_bfloat16" (docs/mixed_precision.md)

    # Keep integer ids as they are (the base layer turns other integer inputs into floats).
    _casts_int_inputs = False

    def __init__(self, input_dim, output_dim, embeddings_initializer="uniform",
                 embeddings_regularizer=None, embeddings_constraint=None, mask_zero=False,
                 weights=None, lora_rank=None, lora_alpha=None, quantization_config=None,
                 **kwargs):
        input_length = kwargs.pop("input_length", None)
        if input_length is not None:
            warnings.warn("Argument `input_length` is deprecated. Just remove it.",
                          UserWarning, stacklevel=2)
        super().__init__(**kwargs)
        self.input_dim = _check_dim(input_dim, "input_dim")
        self.output_dim = _check_dim(output_dim, "output_dim")
        self.embeddings_initializer = initializers.get(embeddings_initializer)
        self.embeddings_regularizer = regularizers.get(embeddings_regularizer)
        self.embeddings_constraint = constraints.get(embeddings_constraint)
        self.mask_zero = check_bool(mask_zero, "mask_zero")
        self.supports_masking = self.mask_zero
        self.autocast = False
        refuse_lora("Embedding", lora_rank, lora_alpha)
        refuse_quantization("Embedding", quantization_config)
        self.lora_rank = None
        self.lora_alpha = None
        if weights is not None:
            if not (isinstance(weights, (list, tuple)) and len(weights) == 1):
                weights = [weights]
            self.build()
            self.set_weights(weights)

    def build(self, input_shape=None):
        """Creates the `embeddings` table `(input_dim, output_dim)` (once).

        Args:
            input_shape: Ignored; the table's shape depends on the arguments only.
        """
        if self.built:
            return
        self.embeddings = self.add_weight(
            shape=(self.input_dim, self.output_dim), name="embeddings",
            initializer=self.embeddings_initializer, regularizer=self.embeddings_regularizer,
            constraint=self.embeddings_constraint, trainable=True)

    def _ids(self, inputs):
        """The ids as an integer array, checked against [0, input_dim)."""
        value = unwrap(inputs)
        on_host = type(value) is np.ndarray or array_library.is_host(value)
        if on_host:
            value = np.asarray(value)
        kind = value.dtype.kind
        if kind == "f":
            if on_host and not np.all(np.isfinite(value)):
                raise ValueError(f"Layer '{self.name}' (Embedding) received non-finite ids "
                                 f"(NaN or inf); ids must be integers in [0, {self.input_dim}).")
            # Truncation towards zero, as Keras' cast to int32 (1.7 -> 1; -0.5 -> 0).
            value = np.trunc(value).astype(np.int64)
        elif kind == "b":
            value = value.astype(np.int64)
        elif kind not in "iu":
            raise TypeError(f"Layer '{self.name}' (Embedding) expects integer ids, got an input "
                            f"of dtype {value.dtype}")
        # Checking device ids would copy them to the host: device ids are not checked.
        if value.size and on_host:
            low, high = value.min(), value.max()
            bad = low if low < 0 else (high if high >= self.input_dim else None)
            if bad is not None:
                raise ValueError(
                    f"Layer '{self.name}' (Embedding) received the id {int(bad)}, outside the "
                    f"vocabulary: ids must be in [0, input_dim) = [0, {self.input_dim}) "
                    f"(input_dim={self.input_dim}).")
        return value

    def call(self, inputs):
        """Returns the rows of `embeddings` selected by the ids."""
        ids = self._ids(inputs)
        outputs = ops.take(self.embeddings, ids, axis=0)
        if self._read_dtype is not None:       # a mixed policy: rows in the compute dtype
            outputs = ops.cast(outputs, self.compute_dtype)
        return outputs

    def compute_mask(self, inputs, previous_mask=None):
        """Returns `inputs != 0` with `mask_zero`, else `None`.

        Args:
            inputs: The ids.
            previous_mask: Ignored.
        """
        if not self.mask_zero:
            return None
        return ops.not_equal(inputs, 0)

    def compute_output_shape(self, input_shape):
        """Returns `input_shape + (output_dim,)`."""
        return normalize_shape(input_shape, self) + (self.output_dim,)

    def get_config(self):
        config = {
            **super().get_config(),
            "input_dim": self.input_dim,
            "output_dim": self.output_dim,
            "embeddings_initializer": initializers.serialize(self.embeddings_initializer),
            "embeddings_regularizer": regularizers.serialize(self.embeddings_regularizer),
            "activity_regularizer": regularizers.serialize(self.activity_regularizer),
            "embeddings_constraint": constraints.serialize(self.embeddings_constraint),
            "mask_zero": self.mask_zero,
            "quantization_config": None,
        }
        return config
