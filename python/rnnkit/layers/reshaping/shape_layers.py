"""Flatten, Reshape, RepeatVector and Permute: layers that rearrange the non-batch axes."""

from __future__ import annotations

import math

from rnnkit import ops
from rnnkit.layers.convolutional._args import standardize_data_format
from rnnkit.layers.core._checks import is_int, normalize_shape
from rnnkit.layers.layer import InputSpec, Layer


class Flatten(Layer):
    """Flattens every axis but the batch axis: `(B, d1, d2, ...)` -> `(B, d1 * d2 * ...)`.

    An input `(B,)` becomes `(B, 1)`. With `data_format="channels_first"` an input of rank
    >= 3 is first transposed to channels-last (axis 1 moved to the end), so the flattened
    order matches a channels-last model, as Keras does. The output has no mask.

    Args:
        data_format: `"channels_last"` or `"channels_first"`. Defaults to the configured
            image data format (`"channels_last"`).
        **kwargs: Base layer arguments (`name`, `dtype`, ...).

    Raises:
        ValueError: If `data_format` is not one of the two values.

    Example:

    >>> import numpy as np, rnnkit as keras
    >>> keras.layers.Flatten()(np.zeros((2, 3, 4))).shape
    (2, 12)
    """

    _mixed_precision = True   # computes under "mixed_bfloat16" (docs/mixed_precision.md)

    def __init__(self, data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.data_format = standardize_data_format(data_format)
        self.input_spec = InputSpec(min_ndim=1)
        self.built = True   # no weights: built at creation, as Keras does

    def call(self, inputs):
        """Returns the input reshaped to `(batch, -1)`."""
        rank = len(inputs.shape)
        if self.data_format == "channels_first" and rank > 2:
            inputs = ops.transpose(inputs, (0, *range(2, rank), 1))
        return ops.reshape(inputs, (inputs.shape[0], math.prod(inputs.shape[1:])))

    def compute_output_shape(self, input_shape):
        """Returns `(batch, product of the other sizes)` (None if one is unknown)."""
        shape = normalize_shape(input_shape, self)
        rest = shape[1:]
        size = None if any(d is None for d in rest) else math.prod(rest)
        return (shape[0], size)

    def get_config(self):
        return {**super().get_config(), "data_format": self.data_format}


def _check_target_shape(target_shape):
    try:
        target = tuple(target_shape)
    except TypeError:
        raise TypeError(f"Argument `target_shape` of Reshape must be a tuple of ints, got "
                        f"{target_shape!r}") from None
    if not all(is_int(d) for d in target):
        raise TypeError(f"Argument `target_shape` of Reshape must be a tuple of ints, got "
                        f"{target_shape!r}")
    target = tuple(int(d) for d in target)
    if sum(1 for d in target if d == -1) > 1:
        raise ValueError(f"There cannot be more than one unknown dimension (-1) in "
                         f"`target_shape`. Received: target_shape={target}")
    if any(d == 0 or d < -1 for d in target):
        raise ValueError(f"All dimensions of `target_shape` must be positive, or -1 for one "
                         f"unknown dimension. Received: target_shape={target}")
    return target


def _resolve(layer, input_dims, target):
    """The target shape with its -1 resolved when the input sizes are known (None otherwise)."""
    if any(d is None for d in input_dims):
        return tuple(None if d == -1 else d for d in target)
    total = math.prod(input_dims)
    known = math.prod(d for d in target if d != -1)
    if -1 in target:
        if known == 0 or total % known:
            raise ValueError(f"Layer '{layer.name}' (Reshape): the total size of the input "
                             f"{tuple(input_dims)} ({total}) is not divisible by the product of "
                             f"the known sizes of target_shape={target} ({known})")
        return tuple(total // known if d == -1 else d for d in target)
    if known != total:
        raise ValueError(f"Layer '{layer.name}' (Reshape): the total size of the input "
                         f"{tuple(input_dims)} ({total}) must equal that of "
                         f"target_shape={target} ({known})")
    return target


class Reshape(Layer):
    """Reshapes each sample to `target_shape`: `(B, ...)` -> `(B, *target_shape)`.

    One entry of `target_shape` may be -1: it takes the size that keeps the number of
    elements. The output has no mask.

    Args:
        target_shape: Tuple of ints, the shape of each sample (batch axis excluded).
        **kwargs: Base layer arguments (`name`, `dtype`, ...).

    Raises:
        TypeError: If `target_shape` is not a tuple of ints.
        ValueError: If it has more than one -1 or a size below 1, or the sizes do not match
            the input's.

    Example:

    >>> import numpy as np, rnnkit as keras
    >>> keras.layers.Reshape((3, -1))(np.zeros((2, 12))).shape
    (2, 3, 4)
    """

    _mixed_precision = True   # computes under "mixed_bfloat16" (docs/mixed_precision.md)

    def __init__(self, target_shape, **kwargs):
        super().__init__(**kwargs)
        self.target_shape = _check_target_shape(target_shape)
        self.built = True   # no weights: built at creation, as Keras does

    def call(self, inputs):
        """Returns the input reshaped to `(batch, *target_shape)`."""
        target = _resolve(self, tuple(inputs.shape[1:]), self.target_shape)
        return ops.reshape(inputs, (inputs.shape[0],) + target)

    def compute_output_shape(self, input_shape):
        """Returns `(batch, *target_shape)` with -1 resolved when the sizes are known."""
        shape = normalize_shape(input_shape, self)
        return (shape[0],) + _resolve(self, shape[1:], self.target_shape)

    def get_config(self):
        return {**super().get_config(), "target_shape": self.target_shape}


class RepeatVector(Layer):
    """Repeats a `(B, F)` input `n` times: output `(B, n, F)`.

    The classic bridge from an encoder's last state to a decoder's input sequence.

    Args:
        n: Positive int, the number of repetitions.
        **kwargs: Base layer arguments (`name`, `dtype`, ...).

    Raises:
        TypeError: If `n` is not an int.
        ValueError: If `n` is not positive, or the input is not of rank 2.

    Example:

    >>> import numpy as np, rnnkit as keras
    >>> keras.layers.RepeatVector(3)(np.zeros((2, 5))).shape
    (2, 3, 5)
    """

    def __init__(self, n, **kwargs):
        if not is_int(n):
            raise TypeError(f"Expected an integer value for `n`, got {type(n).__name__} "
                            f"({n!r}).")
        if n <= 0:
            raise ValueError(f"Argument `n` should be a positive integer. Received: n={n}")
        super().__init__(**kwargs)
        self.n = int(n)
        self.input_spec = InputSpec(ndim=2)
        self.built = True   # no weights: built at creation, as Keras does

    def call(self, inputs):
        """Returns the input repeated `n` times along a new axis 1."""
        x = ops.expand_dims(inputs, 1)
        return ops.repeat(x, self.n, axis=1)

    def compute_output_shape(self, input_shape):
        """Returns `(batch, n, features)`."""
        shape = normalize_shape(input_shape, self)
        if len(shape) != 2:
            raise ValueError(f"Layer '{self.name}' (RepeatVector) expects an input of rank 2, "
                             f"got input shape {shape}")
        return (shape[0], self.n, shape[1])

    def get_config(self):
        return {**super().get_config(), "n": self.n}


class Permute(Layer):
    """Permutes the non-batch axes: `dims` is a permutation of `1..rank-1`.

    `Permute((2, 1))` swaps the first two non-batch axes: `(B, T, F)` -> `(B, F, T)`. The
    output has no mask.

    Args:
        dims: Tuple of ints, a permutation of `1, ..., len(dims)` (1-based; the batch axis
            is not included).
        **kwargs: Base layer arguments (`name`, `dtype`, ...).

    Raises:
        ValueError: If `dims` is not a permutation of `1..len(dims)`, or the input's rank
            is not `len(dims) + 1`.

    Example:

    >>> import numpy as np, rnnkit as keras
    >>> keras.layers.Permute((2, 1))(np.zeros((2, 3, 4))).shape
    (2, 4, 3)
    """

    def __init__(self, dims, **kwargs):
        try:
            dims = tuple(dims)
        except TypeError:
            raise ValueError(f"Invalid permutation argument `dims` for Permute Layer: it must be "
                             f"a tuple of ints. Received dims={dims!r}") from None
        if not all(is_int(d) for d in dims) or \
                sorted(int(d) for d in dims) != list(range(1, len(dims) + 1)):
            raise ValueError(f"Invalid permutation argument `dims` for Permute Layer. The set of "
                             f"indices in `dims` must be consecutive and start from 1. "
                             f"Received dims={dims}")
        super().__init__(**kwargs)
        self.dims = tuple(int(d) for d in dims)
        self.input_spec = InputSpec(ndim=len(self.dims) + 1)
        self.built = True   # no weights: built at creation, as Keras does

    def call(self, inputs):
        """Returns the input with its axes permuted."""
        return ops.transpose(inputs, (0,) + self.dims)

    def compute_output_shape(self, input_shape):
        """Returns the input shape with the non-batch axes in the order `dims`."""
        shape = normalize_shape(input_shape, self)
        if len(shape) != len(self.dims) + 1:
            raise ValueError(f"Layer '{self.name}' (Permute) expects an input of rank "
                             f"{len(self.dims) + 1}, got input shape {shape}")
        return (shape[0],) + tuple(shape[d] for d in self.dims)

    def get_config(self):
        return {**super().get_config(), "dims": self.dims}
