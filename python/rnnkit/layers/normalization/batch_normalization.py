"""BatchNormalization: normalise with the batch moments while training, the moving ones after."""

from __future__ import annotations

import numpy as np

from rnnkit import constraints, initializers, ops, regularizers
from rnnkit.autodiff import record, unwrap
from rnnkit.array_library import as_array as _as_array
from rnnkit.distribution import _state as _distribution
from rnnkit.layers.core._checks import check_bool, check_float, is_int, normalize_shape
from rnnkit.layers.layer import InputSpec, Layer, shape_of

# Keras' backend epsilon, added to the count of unmasked positions in the masked moments.
_MASK_EPSILON = 1e-7


def _mean(x, axes, count):
    """`np.mean(x, axis=axes)` of a float32/float64 array without NumPy's Python wrapper (a few
    µs a call): the same sum divided by the same integer count the same way, so the same bits."""
    total = np.add.reduce(x, axis=axes)
    return np.true_divide(total, np.intp(count), out=total, casting="unsafe")


class BatchNormalization(Layer):
    """Normalizes its input to zero mean and unit variance per feature.

    In training (`training=True` on a `trainable` layer) the mean and the biased variance
    are taken over every axis but `axis` (over the unmasked positions when a mask is given),
    the output is `gamma * (x - mean) / sqrt(var + epsilon) + beta`, and the moving
    statistics are updated as `moving = momentum * moving + (1 - momentum) * batch` (a
    plain value update, outside the gradient). At inference, or when the layer is frozen
    (`trainable=False`), the moving statistics are used instead of the batch's. The input
    mask passes through unchanged.

    Weights, in order: `gamma` (with `scale`) and `beta` (with `center`), trainable, then
    `moving_mean` and `moving_variance`, non-trainable; each of shape `(channels,)`.

    Args:
        axis: Integer, the feature axis. Defaults to -1.
        momentum: Float in [0, 1], the momentum of the moving statistics. Defaults to 0.99.
        epsilon: Float >= 0 added to the variance. Defaults to 1e-3.
        center: Bool, whether to add the `beta` offset. Defaults to `True`.
        scale: Bool, whether to multiply by `gamma`. Defaults to `True`.
        beta_initializer: Defaults to `"zeros"`.
        gamma_initializer: Defaults to `"ones"`.
        moving_mean_initializer: Defaults to `"zeros"`.
        moving_variance_initializer: Defaults to `"ones"`.
        beta_regularizer: Optional regularizer for `beta`.
        gamma_regularizer: Optional regularizer for `gamma`.
        beta_constraint: Optional constraint for `beta`.
        gamma_constraint: Optional constraint for `gamma`.
        synchronized: Bool, accepted for Keras compatibility; rnnkit runs on one device,
            where it changes nothing.
        renorm: Must be `False`: batch renormalization is not implemented.
        renorm_clipping: Accepted and stored (unused).
        renorm_momentum: Float, accepted and stored (unused).
        **kwargs: Base layer arguments (`name`, `dtype`, `trainable`, ...).

    Call arguments:
        inputs: An array of any rank >= 1.
        training: Bool, whether to normalize with the batch statistics (and update the
            moving ones) or with the moving statistics.
        mask: Optional boolean array of the input's shape without its last axis; masked
            positions are left out of the batch statistics.

    Returns:
        An array of the input's shape.

    Raises:
        ValueError: If `momentum` is outside [0, 1], `epsilon` is negative, `renorm` is
            `True`, `axis` is out of range for the input, the feature axis is undefined or
            differs from the built size, or the mask has the wrong rank.
        TypeError: If `axis` is not an int or another argument has the wrong type.

    Example:

    >>> import numpy as np, rnnkit as keras
    >>> layer = keras.layers.BatchNormalization()
    >>> x = np.array([[0.0, 1.0], [2.0, 3.0]], dtype="float32")
    >>> layer(x, training=True)
    array([[-0.9995..., -0.9995...],
           [ 0.9995...,  0.9995...]], dtype=float32)
    >>> layer.moving_mean.numpy()
    array([0.01, 0.02], dtype=float32)
    """

    _mixed_precision = True   # computes under "mixed_bfloat16" (docs/mixed_precision.md)

    supports_masking = True

    def __init__(self, axis=-1, momentum=0.99, epsilon=1e-3, center=True, scale=True,
                 beta_initializer="zeros", gamma_initializer="ones",
                 moving_mean_initializer="zeros", moving_variance_initializer="ones",
                 beta_regularizer=None, gamma_regularizer=None, beta_constraint=None,
                 gamma_constraint=None, synchronized=False, renorm=False, renorm_clipping=None,
                 renorm_momentum=0.99, **kwargs):
        super().__init__(**kwargs)
        if not is_int(axis):
            raise TypeError(f"Argument `axis` must be an int, got {axis!r} "
                            f"of type {type(axis).__name__}")
        self.axis = int(axis)
        self.momentum = check_float(momentum, "momentum")
        if not 0.0 <= self.momentum <= 1.0:
            raise ValueError(f"Argument `momentum` must be in [0, 1], got momentum={momentum}")
        self.epsilon = check_float(epsilon, "epsilon")
        if not self.epsilon >= 0.0:
            raise ValueError(f"Argument `epsilon` must be >= 0, got epsilon={epsilon}")
        self.center = check_bool(center, "center")
        self.scale = check_bool(scale, "scale")
        self.beta_initializer = initializers.get(beta_initializer)
        self.gamma_initializer = initializers.get(gamma_initializer)
        self.moving_mean_initializer = initializers.get(moving_mean_initializer)
        self.moving_variance_initializer = initializers.get(moving_variance_initializer)
        self.beta_regularizer = regularizers.get(beta_regularizer)
        self.gamma_regularizer = regularizers.get(gamma_regularizer)
        self.beta_constraint = constraints.get(beta_constraint)
        self.gamma_constraint = constraints.get(gamma_constraint)
        self.synchronized = check_bool(synchronized, "synchronized")
        if check_bool(renorm, "renorm"):
            raise ValueError("BatchNormalization: argument `renorm=True` (batch "
                             "renormalization) is not supported by rnnkit; use renorm=False.")
        self.renorm = False
        self.renorm_clipping = renorm_clipping
        self.renorm_momentum = check_float(renorm_momentum, "renorm_momentum")
        self.gamma = None
        self.beta = None

    # -- build -----------------------------------------------------------------------------------
    def _feature_axis(self, rank):
        if not -rank <= self.axis < rank:
            raise ValueError(f"Layer '{self.name}' (BatchNormalization): invalid `axis`={self.axis}"
                             f" for an input of rank {rank}")
        return self.axis % rank

    def build(self, input_shape):
        """Creates `gamma`, `beta`, `moving_mean` and `moving_variance` of shape
        `(input_shape[axis],)`, and fixes the input rank.

        Raises:
            ValueError: If `axis` is out of range or the feature axis is undefined.
        """
        input_shape = normalize_shape(input_shape, self)
        rank = len(input_shape)
        if rank < 1:
            raise ValueError(f"Layer '{self.name}' (BatchNormalization) needs an input of rank "
                             f">= 1, got input shape {input_shape}")
        axis = self._feature_axis(rank)
        channels = input_shape[axis]
        if channels is None:
            raise ValueError(f"Layer '{self.name}' (BatchNormalization): axis {self.axis} of the "
                             f"input must be defined, got input shape {input_shape}")
        shape = (channels,)
        if self.scale:
            self.gamma = self.add_weight(
                shape=shape, name="gamma", initializer=self.gamma_initializer,
                regularizer=self.gamma_regularizer, constraint=self.gamma_constraint,
                trainable=True, autocast=False)
        if self.center:
            self.beta = self.add_weight(
                shape=shape, name="beta", initializer=self.beta_initializer,
                regularizer=self.beta_regularizer, constraint=self.beta_constraint,
                trainable=True, autocast=False)
        self.moving_mean = self.add_weight(
            shape=shape, name="moving_mean", initializer=self.moving_mean_initializer,
            trainable=False, autocast=False)
        self.moving_variance = self.add_weight(
            shape=shape, name="moving_variance", initializer=self.moving_variance_initializer,
            trainable=False, autocast=False)
        self._rank = rank
        self._channels = channels
        self._axis_index = axis
        self._reduction_axes = tuple(i for i in range(rank) if i != axis)
        self.input_spec = InputSpec(ndim=rank)

    # -- call ------------------------------------------------------------------------------------
    def _check_input(self, shape):
        if shape[self._axis_index] != self._channels:
            raise ValueError(
                f"Input 0 of layer '{self.name}' is incompatible with the layer: expected axis "
                f"{self.axis} of input shape to have value {self._channels}, but received input "
                f"with shape {shape}")

    def _broadcast(self, value):
        """A (C,) value reshaped to broadcast along the feature axis."""
        if self._axis_index == self._rank - 1:
            return value
        shape = [1] * self._rank
        shape[self._axis_index] = self._channels
        return ops.reshape(value, tuple(shape))

    def _moments(self, inputs, mask):
        axes = self._reduction_axes
        if mask is None:
            return ops.mean(inputs, axis=axes), ops.var(inputs, axis=axes)
        weights = ops.expand_dims(ops.cast(mask, ops.dtype(inputs)), -1)
        count = ops.sum(weights, axis=axes, keepdims=True)
        count = ops.add(count, _MASK_EPSILON)
        weighted = ops.multiply(weights, inputs)
        mean = ops.divide(ops.sum(weighted, axis=axes, keepdims=True), count)
        sq = ops.multiply(weights, ops.square(ops.subtract(weighted, mean)))
        variance = ops.divide(ops.sum(sq, axis=axes, keepdims=True), count)
        return ops.reshape(mean, (self._channels,)), ops.reshape(variance, (self._channels,))

    def call(self, inputs, training=False, mask=None):
        """Normalizes the input; see the class docstring for the arguments."""
        if _is_16_bit(inputs):
            # As Keras: 16-bit inputs (a "mixed_bfloat16" policy) are normalized in float32
            # (moments, moving statistics, gamma and beta), the output cast back.
            outputs = self.call(ops.cast(inputs, "float32"), training=training, mask=mask)
            return ops.cast(outputs, self.compute_dtype)
        shape = shape_of(inputs)
        self._check_input(shape)
        if mask is not None:
            mask = _as_array(unwrap(mask))
            if mask.ndim != len(shape) - 1:
                raise ValueError(
                    f"Layer '{self.name}' (BatchNormalization): the mask provided should be one "
                    f"dimension less than the inputs. Received: mask.shape={mask.shape}, "
                    f"inputs.shape={shape}")
            if mask.dtype != np.bool_:
                mask = mask.astype(bool)
        if training and self.trainable and _distribution.in_step:
            # Data-parallel training: the global batch's moments (rnnkit.distribution).
            from rnnkit.distribution import _training
            return _training.batch_norm_train(self, inputs, mask)
        if training and self.trainable and mask is None:
            return self._train_unmasked(inputs)
        dtype = ops.dtype(inputs)
        if training and self.trainable:
            mean, variance = self._moments(inputs, mask)
            self._update_moving(_as_array(unwrap(mean)), _as_array(unwrap(variance)))
        else:
            mean = ops.cast(self.moving_mean, dtype)
            variance = ops.cast(self.moving_variance, dtype)
        return self._normalize(inputs, mean, variance, dtype)

    def _normalize(self, inputs, mean, variance, dtype):
        """Keras' batch_normalization: x * inv + (beta - mean * inv), inv = gamma / sqrt(var +
        eps), with per-channel `mean` and `variance`."""
        inv = ops.divide(1.0, ops.sqrt(ops.add(variance, ops.cast(self.epsilon, dtype))))
        if self.gamma is not None:
            inv = ops.multiply(inv, ops.cast(self.gamma, dtype))
        shift = ops.negative(ops.multiply(mean, inv))
        if self.beta is not None:
            shift = ops.add(shift, ops.cast(self.beta, dtype))
        return ops.add(ops.multiply(inputs, self._broadcast(inv)), self._broadcast(shift))

    def _update_moving(self, batch_mean, batch_var):
        momentum = self.momentum
        self.moving_mean.assign(self.moving_mean.value * momentum +
                                batch_mean * (1.0 - momentum))
        self.moving_variance.assign(self.moving_variance.value * momentum +
                                    batch_var * (1.0 - momentum))

    def _train_unmasked(self, inputs):
        """Training without a mask as ONE differentiable op (it runs every training step):
        the batch moments, the normalisation and its closed-form VJP for x, gamma and beta."""
        x = _as_array(unwrap(inputs))
        axes = self._reduction_axes
        count = x.size // self._channels
        broadcast = self._broadcast_array
        mean = _mean(x, axes, count)
        centered = x - broadcast(mean)
        variance = _mean(np.square(centered), axes, count)
        self._update_moving(mean, variance)
        rstd = (1.0 / np.sqrt(variance + x.dtype.type(self.epsilon))).astype(x.dtype)
        normalized = centered * broadcast(rstd)
        gamma = None if self.gamma is None else self.gamma.value.astype(x.dtype, copy=False)
        beta = None if self.beta is None else self.beta.value.astype(x.dtype, copy=False)
        if gamma is None:
            out = normalized if beta is None else normalized + broadcast(beta)
        else:
            out = normalized * broadcast(gamma)
            if beta is not None:
                out += broadcast(beta)     # a new array: `normalized` (kept for the VJP) is intact

        def vjp(grads):
            dy = grads[0]
            d_beta = np.add.reduce(dy, axis=axes)
            d_gamma = np.add.reduce(dy * normalized, axis=axes)
            scale = rstd if gamma is None else rstd * gamma
            d_x = broadcast(scale / count) * (
                count * dy - broadcast(d_beta) - normalized * broadcast(d_gamma))
            return (d_x, None if gamma is None else d_gamma, None if beta is None else d_beta)

        return record(out, (inputs, self.gamma, self.beta), vjp)

    def _broadcast_array(self, value):
        if self._axis_index == self._rank - 1:
            return value
        shape = [1] * self._rank
        shape[self._axis_index] = self._channels
        return value.reshape(shape)

    def compute_output_shape(self, input_shape):
        """Returns `input_shape` (as a tuple)."""
        return normalize_shape(input_shape, self)

    def get_config(self):
        return {
            **super().get_config(),
            "axis": self.axis,
            "momentum": self.momentum,
            "epsilon": self.epsilon,
            "center": self.center,
            "scale": self.scale,
            "beta_initializer": initializers.serialize(self.beta_initializer),
            "gamma_initializer": initializers.serialize(self.gamma_initializer),
            "moving_mean_initializer": initializers.serialize(self.moving_mean_initializer),
            "moving_variance_initializer":
                initializers.serialize(self.moving_variance_initializer),
            "beta_regularizer": regularizers.serialize(self.beta_regularizer),
            "gamma_regularizer": regularizers.serialize(self.gamma_regularizer),
            "beta_constraint": constraints.serialize(self.beta_constraint),
            "gamma_constraint": constraints.serialize(self.gamma_constraint),
            "synchronized": self.synchronized,
            "renorm": self.renorm,
            "renorm_clipping": self.renorm_clipping,
            "renorm_momentum": self.renorm_momentum,
        }


def _is_16_bit(x):
    """Whether `x` holds bfloat16 (or float16) values."""
    dtype = getattr(x, "dtype", None)
    # (itemsize and kind: `dtype.name` is computed in Python by NumPy on every read)
    return dtype is not None and dtype.itemsize == 2 and dtype.kind in "fV"
