"""LayerNormalization, RMSNormalization, GroupNormalization and UnitNormalization."""

from __future__ import annotations

import numbers
import warnings

import numpy as np

from rnnkit import constraints, initializers, ops, regularizers
from rnnkit.layers.core._checks import check_bool, is_int, normalize_shape
from rnnkit.layers.layer import InputSpec, Layer
from rnnkit.layers.normalization.batch_normalization import _is_16_bit


def _check_axis(axis, layer_name):
    if is_int(axis):
        return int(axis)
    if isinstance(axis, (list, tuple)) and axis and all(is_int(a) for a in axis):
        return [int(a) for a in axis]
    raise TypeError(f"{layer_name}: expected an int or a list/tuple of ints for the argument "
                    f"`axis`, but received: {axis!r}")


def _check_epsilon(epsilon, layer_name):
    if isinstance(epsilon, (bool, np.bool_)) or not isinstance(epsilon, numbers.Real) or \
            epsilon < 0:
        raise ValueError(f"{layer_name}: argument `epsilon` must be a non-negative float, got "
                         f"{epsilon!r}")
    return float(epsilon)


def _axes_in(layer, axis, shape):
    """The sorted, non-negative axes of `axis` in a shape of rank len(shape)."""
    axes = [axis] if isinstance(axis, int) else list(axis)
    rank = len(shape)
    for a in axes:
        if a >= rank or a < -rank:
            raise ValueError(f"Axis {a} is out of bounds for input shape {tuple(shape)}. "
                             f"Received: axis={axis} (layer '{layer.name}')")
    out = sorted({a % rank for a in axes})
    return out


class LayerNormalization(Layer):
    """Normalizes each sample over `axis` (the features by default):
    `gamma * (x - mean) / sqrt(variance + epsilon) + beta`.

    Mean and (population) variance are taken over the axes in `axis`, separately for every
    other index (every sample and timestep of a sequence). Weights: `gamma` (with `scale`)
    and `beta` (with `center`), of the shape of the normalized axes. The mask passes
    through unchanged.

    Args:
        axis: Int or list of ints, the axes normalized. Defaults to -1.
        epsilon: Small float added to the variance. Defaults to 1e-3.
        center: Bool, add `beta`. Defaults to `True`.
        scale: Bool, multiply by `gamma`. Defaults to `True`.
        rms_scaling: Bool (deprecated in Keras, kept for its configs): divide by
            `sqrt(variance + epsilon)` without centering and without `beta`. Defaults to
            `False`; `True` warns as Keras does.
        beta_initializer: Defaults to `"zeros"`.
        gamma_initializer: Defaults to `"ones"`.
        beta_regularizer: Optional regularizer of `beta`.
        gamma_regularizer: Optional regularizer of `gamma`.
        beta_constraint: Optional constraint of `beta`.
        gamma_constraint: Optional constraint of `gamma`.
        **kwargs: Base layer arguments (`name`, `dtype`, ...).

    Raises:
        TypeError: If `axis` is not an int or a list of ints, or a flag is not a bool.
        ValueError: If an axis is out of range for the input, or `epsilon` is negative.

    Example:

    >>> import numpy as np, rnnkit as keras
    >>> layer = keras.layers.LayerNormalization(epsilon=0.0, dtype="float64")
    >>> np.round(layer(np.array([[1.0, 2.0, 3.0]])), 4).tolist()
    [[-1.2247, 0.0, 1.2247]]
    """

    _mixed_precision = True   # computes under "mixed_bfloat16" (docs/mixed_precision.md)

    supports_masking = True

    def __init__(self, axis=-1, epsilon=1e-3, center=True, scale=True,
                 beta_initializer="zeros", gamma_initializer="ones", beta_regularizer=None,
                 gamma_regularizer=None, beta_constraint=None, gamma_constraint=None,
                 **kwargs):
        rms_scaling = check_bool(kwargs.pop("rms_scaling", False), "rms_scaling")
        if rms_scaling:
            warnings.warn("You passed `rms_scaling=True`, which is deprecated in Keras: it "
                          "scales the input by the variance, not the root mean square.",
                          UserWarning, stacklevel=2)
        super().__init__(**kwargs)
        self.axis = _check_axis(axis, "LayerNormalization")
        self.epsilon = _check_epsilon(epsilon, "LayerNormalization")
        self.center = check_bool(center, "center")
        self.scale = check_bool(scale, "scale")
        self.rms_scaling = rms_scaling
        self.beta_initializer = initializers.get(beta_initializer)
        self.gamma_initializer = initializers.get(gamma_initializer)
        self.beta_regularizer = regularizers.get(beta_regularizer)
        self.gamma_regularizer = regularizers.get(gamma_regularizer)
        self.beta_constraint = constraints.get(beta_constraint)
        self.gamma_constraint = constraints.get(gamma_constraint)

    def build(self, input_shape):
        """Creates `gamma` and `beta` of the shape of the normalized axes.

        Raises:
            ValueError: If an axis is out of range or has an undefined size.
        """
        shape = normalize_shape(input_shape, self)
        axes = _axes_in(self, self.axis, shape)
        weight_shape = tuple(shape[a] for a in axes)
        if any(d is None for d in weight_shape):
            raise ValueError(f"Layer '{self.name}' (LayerNormalization): the normalized axes "
                             f"{self.axis} must have defined sizes, got input shape {shape}")
        self.input_spec = InputSpec(ndim=len(shape), axes=dict(zip(axes, weight_shape)))
        self.gamma = self.add_weight(
            shape=weight_shape, name="gamma", initializer=self.gamma_initializer,
            regularizer=self.gamma_regularizer, constraint=self.gamma_constraint,
            autocast=False) \
            if (self.scale or self.rms_scaling) else None
        self.beta = self.add_weight(
            shape=weight_shape, name="beta", initializer=self.beta_initializer,
            regularizer=self.beta_regularizer, constraint=self.beta_constraint,
            autocast=False) \
            if (self.center and not self.rms_scaling) else None

    def call(self, inputs):
        """Returns the normalized input."""
        if _is_16_bit(inputs):
            # As Keras: the moments and the normalization in float32 for 16-bit inputs (a
            # "mixed_bfloat16" policy), the output in the compute dtype.
            return ops.cast(self.call(ops.cast(inputs, "float32")), self.compute_dtype)
        rank = len(inputs.shape)
        axes = _axes_in(self, self.axis, inputs.shape)
        bshape = [1] * rank
        for a in axes:
            bshape[a] = inputs.shape[a]
        bshape = tuple(bshape)
        eps = np.asarray(self.epsilon, dtype=ops.dtype(inputs))
        mean = ops.mean(inputs, axis=tuple(axes), keepdims=True)
        var = ops.var(inputs, axis=tuple(axes), keepdims=True)
        inv = ops.divide(np.asarray(1.0, dtype=ops.dtype(inputs)), ops.sqrt(ops.add(var, eps)))
        if self.rms_scaling:
            out = ops.multiply(inputs, inv)
            if self.gamma is not None:
                out = ops.multiply(out, ops.reshape(self.gamma, bshape))
            return out
        if self.gamma is not None:
            inv = ops.multiply(inv, ops.reshape(self.gamma, bshape))
        res = ops.negative(ops.multiply(mean, inv))
        if self.beta is not None:
            res = ops.add(res, ops.reshape(self.beta, bshape))
        return ops.add(ops.multiply(inputs, inv), res)

    def compute_output_shape(self, input_shape):
        """Returns `input_shape`.

        Raises:
            ValueError: If an axis is out of range.
        """
        shape = normalize_shape(input_shape, self)
        _axes_in(self, self.axis, shape)
        return shape

    def get_config(self):
        return {
            **super().get_config(),
            "axis": self.axis, "epsilon": self.epsilon, "center": self.center,
            "scale": self.scale, "rms_scaling": self.rms_scaling,
            "beta_initializer": initializers.serialize(self.beta_initializer),
            "gamma_initializer": initializers.serialize(self.gamma_initializer),
            "beta_regularizer": regularizers.serialize(self.beta_regularizer),
            "gamma_regularizer": regularizers.serialize(self.gamma_regularizer),
            "beta_constraint": constraints.serialize(self.beta_constraint),
            "gamma_constraint": constraints.serialize(self.gamma_constraint),
        }


class GroupNormalization(Layer):
    """Group normalization: the channels (`axis`) are split into `groups` groups and each
    sample is normalized over every axis but the batch within each group.

    `groups=-1` makes one group per channel (instance normalization); `groups=1` is layer
    normalization over all non-batch axes. Weights: `gamma` and `beta` of shape
    `(channels,)`. The mask passes through unchanged.

    Args:
        groups: Positive int dividing the number of channels, or -1. Defaults to 32.
        axis: Int, the channels axis. Defaults to -1.
        epsilon: Small float added to the variance. Defaults to 1e-3.
        center: Bool, add `beta`. Defaults to `True`.
        scale: Bool, multiply by `gamma`. Defaults to `True`.
        beta_initializer: Defaults to `"zeros"`.
        gamma_initializer: Defaults to `"ones"`.
        beta_regularizer: Optional regularizer of `beta`.
        gamma_regularizer: Optional regularizer of `gamma`.
        beta_constraint: Optional constraint of `beta`.
        gamma_constraint: Optional constraint of `gamma`.
        **kwargs: Base layer arguments (`name`, `dtype`, ...).

    Raises:
        ValueError: If `groups` is not a positive int or -1, exceeds or does not divide the
            number of channels, or `axis` is out of range.
        TypeError: If `axis` is not an int.

    Example:

    >>> import numpy as np, rnnkit as keras
    >>> layer = keras.layers.GroupNormalization(groups=2)
    >>> layer(np.random.rand(3, 5, 4)).shape
    (3, 5, 4)
    """

    supports_masking = True

    def __init__(self, groups=32, axis=-1, epsilon=1e-3, center=True, scale=True,
                 beta_initializer="zeros", gamma_initializer="ones", beta_regularizer=None,
                 gamma_regularizer=None, beta_constraint=None, gamma_constraint=None,
                 **kwargs):
        if not is_int(groups) or (groups <= 0 and groups != -1):
            raise ValueError(f"Received an invalid value for argument `groups`, expected a "
                             f"positive integer (or `-1` for instance normalization). "
                             f"Received: groups={groups!r}")
        if not is_int(axis):
            raise TypeError(f"GroupNormalization: argument `axis` must be an int, got {axis!r}")
        super().__init__(**kwargs)
        self.groups = int(groups)
        self.axis = int(axis)
        self.epsilon = _check_epsilon(epsilon, "GroupNormalization")
        self.center = check_bool(center, "center")
        self.scale = check_bool(scale, "scale")
        self.beta_initializer = initializers.get(beta_initializer)
        self.gamma_initializer = initializers.get(gamma_initializer)
        self.beta_regularizer = regularizers.get(beta_regularizer)
        self.gamma_regularizer = regularizers.get(gamma_regularizer)
        self.beta_constraint = constraints.get(beta_constraint)
        self.gamma_constraint = constraints.get(gamma_constraint)

    def build(self, input_shape):
        """Creates `gamma` and `beta` of shape `(channels,)`.

        Raises:
            ValueError: If the channels axis is undefined or out of range, or `groups` does
                not fit it.
        """
        shape = normalize_shape(input_shape, self)
        (axis,) = _axes_in(self, self.axis, shape)
        dim = shape[axis]
        if dim is None:
            raise ValueError(f"Axis {self.axis} of input tensor should have a defined dimension "
                             f"but the layer received an input with shape {shape}.")
        if self.groups == -1:
            self.groups = dim
        if dim < self.groups:
            raise ValueError(f"Number of groups ({self.groups}) cannot be more than the number "
                             f"of channels ({dim}).")
        if dim % self.groups:
            raise ValueError(f"Number of groups ({self.groups}) must be a divisor of the number "
                             f"of channels ({dim}).")
        self.input_spec = InputSpec(ndim=len(shape), axes={axis: dim})
        self.gamma = self.add_weight(
            shape=(dim,), name="gamma", initializer=self.gamma_initializer,
            regularizer=self.gamma_regularizer, constraint=self.gamma_constraint) \
            if self.scale else None
        self.beta = self.add_weight(
            shape=(dim,), name="beta", initializer=self.beta_initializer,
            regularizer=self.beta_regularizer, constraint=self.beta_constraint) \
            if self.center else None

    def call(self, inputs):
        """Returns the group-normalized input."""
        shape = tuple(inputs.shape)
        rank = len(shape)
        (axis,) = _axes_in(self, self.axis, shape)
        g = self.groups
        grouped_shape = shape[:axis] + (g, shape[axis] // g) + shape[axis + 1:]
        x = ops.reshape(inputs, grouped_shape)
        reduce = tuple(a for a in range(1, rank + 1) if a != axis)
        eps = np.asarray(self.epsilon, dtype=ops.dtype(inputs))
        mean = ops.mean(x, axis=reduce, keepdims=True)
        var = ops.var(x, axis=reduce, keepdims=True)
        inv = ops.divide(np.asarray(1.0, dtype=ops.dtype(inputs)), ops.sqrt(ops.add(var, eps)))
        bshape = [1] * (rank + 1)
        bshape[axis], bshape[axis + 1] = g, shape[axis] // g
        bshape = tuple(bshape)
        if self.gamma is not None:
            inv = ops.multiply(inv, ops.reshape(self.gamma, bshape))
        res = ops.negative(ops.multiply(mean, inv))
        if self.beta is not None:
            res = ops.add(res, ops.reshape(self.beta, bshape))
        return ops.reshape(ops.add(ops.multiply(x, inv), res), shape)

    def compute_output_shape(self, input_shape):
        """Returns `input_shape`.

        Raises:
            ValueError: If `axis` is out of range.
        """
        shape = normalize_shape(input_shape, self)
        _axes_in(self, self.axis, shape)
        return shape

    def get_config(self):
        return {
            **super().get_config(),
            "groups": self.groups, "axis": self.axis, "epsilon": self.epsilon,
            "center": self.center, "scale": self.scale,
            "beta_initializer": initializers.serialize(self.beta_initializer),
            "gamma_initializer": initializers.serialize(self.gamma_initializer),
            "beta_regularizer": regularizers.serialize(self.beta_regularizer),
            "gamma_regularizer": regularizers.serialize(self.gamma_regularizer),
            "beta_constraint": constraints.serialize(self.beta_constraint),
            "gamma_constraint": constraints.serialize(self.gamma_constraint),
        }


class UnitNormalization(Layer):
    """Scales each sample to unit L2 norm over `axis`: `x / sqrt(max(sum(x**2), 1e-12))`.

    The mask passes through unchanged.

    Args:
        axis: Int or list of ints, the axes of the norm. Defaults to -1.
        **kwargs: Base layer arguments (`name`, `dtype`, ...).

    Raises:
        TypeError: If `axis` is not an int or a list of ints.
        ValueError: If an axis is out of range for the input.

    Example:

    >>> import numpy as np, rnnkit as keras
    >>> keras.layers.UnitNormalization(dtype="float64")(np.array([[3.0, 4.0]])).tolist()
    [[0.6, 0.8]]
    """

    supports_masking = True

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        self.axis = _check_axis(axis, "UnitNormalization")
        self.built = True   # no weights: built at creation, as Keras does

    def call(self, inputs):
        """Returns the input divided by its L2 norm over `axis`."""
        axes = tuple(_axes_in(self, self.axis, inputs.shape))
        squares = ops.sum(ops.square(inputs), axis=axes, keepdims=True)
        floor = np.asarray(1e-12, dtype=ops.dtype(inputs))
        return ops.divide(inputs, ops.sqrt(ops.maximum(squares, floor)))

    def compute_output_shape(self, input_shape):
        """Returns `input_shape`.

        Raises:
            ValueError: If an axis is out of range.
        """
        shape = normalize_shape(input_shape, self)
        _axes_in(self, self.axis, shape)
        return shape

    def get_config(self):
        return {**super().get_config(), "axis": self.axis}


class RMSNormalization(Layer):
    """Root-mean-square normalization: `x * scale / sqrt(mean(x**2 over axis) + epsilon)`.

    No centering (unlike `LayerNormalization`). Weight: `scale` (initialized to ones) of the
    shape of the normalized axes. As in Keras, the layer does not propagate masks.

    Args:
        axis: Int or list of ints, the axes normalized. Defaults to -1.
        epsilon: Small float added to the mean square. Defaults to 1e-6.
        **kwargs: Base layer arguments (`name`, `dtype`, ...).

    Raises:
        TypeError: If `axis` is not an int or a list of ints.
        ValueError: If an axis is out of range, or `epsilon` is negative.

    Example:

    >>> import numpy as np, rnnkit as keras
    >>> layer = keras.layers.RMSNormalization(epsilon=0.0, dtype="float64")
    >>> layer(np.array([[3.0, 4.0]])).round(4).tolist()
    [[0.8485, 1.1314]]
    """

    def __init__(self, axis=-1, epsilon=1e-6, **kwargs):
        super().__init__(**kwargs)
        self.axis = _check_axis(axis, "RMSNormalization")
        self.epsilon = _check_epsilon(epsilon, "RMSNormalization")

    def build(self, input_shape):
        """Creates `scale` of the shape of the normalized axes.

        Raises:
            ValueError: If an axis is out of range or has an undefined size.
        """
        shape = normalize_shape(input_shape, self)
        axes = _axes_in(self, self.axis, shape)
        weight_shape = tuple(shape[a] for a in axes)
        if any(d is None for d in weight_shape):
            raise ValueError(f"Layer '{self.name}' (RMSNormalization): the normalized axes "
                             f"{self.axis} must have defined sizes, got input shape {shape}")
        self.input_spec = InputSpec(ndim=len(shape), axes=dict(zip(axes, weight_shape)))
        self.scale = self.add_weight(shape=weight_shape, name="scale", initializer="ones")

    def call(self, inputs):
        """Returns the RMS-normalized input times `scale`."""
        rank = len(inputs.shape)
        axes = _axes_in(self, self.axis, inputs.shape)
        bshape = [1] * rank
        for a in axes:
            bshape[a] = inputs.shape[a]
        dtype = ops.dtype(inputs)
        mean_square = ops.mean(ops.square(inputs), axis=tuple(axes), keepdims=True)
        inv = ops.divide(np.asarray(1.0, dtype=dtype),
                         ops.sqrt(ops.add(mean_square, np.asarray(self.epsilon, dtype=dtype))))
        return ops.multiply(ops.multiply(inputs, inv), ops.reshape(self.scale, tuple(bshape)))

    def compute_output_shape(self, input_shape):
        """Returns `input_shape`.

        Raises:
            ValueError: If an axis is out of range.
        """
        shape = normalize_shape(input_shape, self)
        _axes_in(self, self.axis, shape)
        return shape

    def get_config(self):
        return {**super().get_config(), "axis": self.axis, "epsilon": self.epsilon}
