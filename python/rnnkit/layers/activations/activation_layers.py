"""The activation layers of `keras.layers`: `ReLU`, `LeakyReLU`, `PReLU`, `ELU`, `Softmax`.

Each layer has the arguments, config and errors of its Keras 3 namesake. None but `PReLU`
has weights; all pass the input mask through unchanged.
"""

from __future__ import annotations

import numbers

import numpy as np

from rnnkit import activations, constraints, initializers, ops, regularizers
from rnnkit.layers.core._checks import normalize_shape
from rnnkit.layers.layer import InputSpec, Layer


def _number(value, argument, layer, allow_none=False):
    """`value` as a float (or None where allowed); TypeError naming `argument` otherwise."""
    if value is None and allow_none:
        return None
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{layer}: argument `{argument}` must be a number"
                        f"{' or None' if allow_none else ''}, got {value!r} of type "
                        f"{type(value).__name__}")
    return value


class _Elementwise(Layer):
    """Base of the weightless activation layers: built at creation, shape kept, mask kept."""

    supports_masking = True

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.built = True

    def compute_output_shape(self, input_shape):
        """Returns `input_shape`."""
        return normalize_shape(input_shape, self)


class ReLU(_Elementwise):
    """Rectified linear unit layer with Keras' options.

    Computes, elementwise, `min(x, max_value)` for `x > threshold` (or `x >= 0` when
    `threshold` is 0) and `negative_slope * (x - threshold)` otherwise.

    Args:
        max_value: Float >= 0 or `None` (no upper bound), the largest output value.
        negative_slope: Float >= 0, the slope below the threshold. Defaults to 0.
        threshold: Float >= 0, the value below which the output is damped. Defaults to 0.
        **kwargs: Base layer arguments (`name`, `dtype`, ...).

    Raises:
        ValueError: If `max_value` or `negative_slope` is negative, or `threshold` is
            negative or `None`, with Keras' messages.
        TypeError: If an argument is not a number.

    Example:

    >>> import numpy as np, rnnkit as keras
    >>> keras.layers.ReLU(max_value=2.0)(np.array([[-1.0, 1.0, 3.0]])).tolist()
    [[0.0, 1.0, 2.0]]
    """

    def __init__(self, max_value=None, negative_slope=0.0, threshold=0.0, **kwargs):
        super().__init__(**kwargs)
        _number(max_value, "max_value", "ReLU", allow_none=True)
        if max_value is not None and max_value < 0.0:
            raise ValueError(f"max_value of a ReLU layer cannot be a negative value. "
                             f"Received: max_value={max_value}")
        if negative_slope is None or _number(negative_slope, "negative_slope", "ReLU") < 0.0:
            raise ValueError(f"negative_slope of a ReLU layer cannot be None or a negative "
                             f"value. Received: negative_slope={negative_slope}")
        if threshold is None or _number(threshold, "threshold", "ReLU") < 0.0:
            raise ValueError(f"threshold of a ReLU layer cannot be None or a negative value. "
                             f"Received: threshold={threshold}")
        self.max_value = max_value
        self.negative_slope = negative_slope
        self.threshold = threshold

    def call(self, inputs):
        """Returns the thresholded, clipped, leaky ReLU of `inputs`."""
        return activations.relu(inputs, negative_slope=self.negative_slope,
                                max_value=self.max_value, threshold=self.threshold)

    def get_config(self):
        return {**super().get_config(), "max_value": self.max_value,
                "negative_slope": self.negative_slope, "threshold": self.threshold}


class LeakyReLU(_Elementwise):
    """Leaky ReLU layer: `x` for `x >= 0`, `negative_slope * x` otherwise.

    Args:
        negative_slope: Float >= 0. Defaults to 0.3 (Keras' default). The deprecated
            keyword `alpha` is accepted in its place, with a warning, as Keras does.
        **kwargs: Base layer arguments (`name`, `dtype`, ...).

    Raises:
        ValueError: If `negative_slope` is `None` or negative.
        TypeError: If `negative_slope` is not a number.

    Example:

    >>> import numpy as np, rnnkit as keras
    >>> keras.layers.LeakyReLU(negative_slope=0.5)(np.array([[-2.0, 2.0]])).tolist()
    [[-1.0, 2.0]]
    """

    def __init__(self, negative_slope=0.3, **kwargs):
        if "alpha" in kwargs:
            import warnings
            negative_slope = kwargs.pop("alpha")
            warnings.warn("Argument `alpha` is deprecated. Use `negative_slope` instead.",
                          stacklevel=2)
        super().__init__(**kwargs)
        if negative_slope is None or _number(negative_slope, "negative_slope",
                                             "LeakyReLU") < 0:
            raise ValueError(f"The negative_slope value of a Leaky ReLU layer cannot be None "
                             f"or negative value. Expected a float. Received: "
                             f"negative_slope={negative_slope}")
        self.negative_slope = negative_slope

    def call(self, inputs):
        """Returns the leaky ReLU of `inputs`."""
        return activations.leaky_relu(inputs, negative_slope=self.negative_slope)

    def get_config(self):
        return {**super().get_config(), "negative_slope": self.negative_slope}


class ELU(_Elementwise):
    """Exponential linear unit layer: `x` for `x > 0`, `alpha * (exp(x) - 1)` otherwise.

    Args:
        alpha: Float, the scale of the negative part. Defaults to 1.
        **kwargs: Base layer arguments (`name`, `dtype`, ...).

    Raises:
        TypeError: If `alpha` is not a number.

    Example:

    >>> import numpy as np, rnnkit as keras
    >>> keras.layers.ELU(alpha=2.0)(np.array([[0.0, 1.0]])).tolist()
    [[0.0, 1.0]]
    """

    def __init__(self, alpha=1.0, **kwargs):
        super().__init__(**kwargs)
        self.alpha = _number(alpha, "alpha", "ELU")

    def call(self, inputs):
        """Returns the ELU of `inputs`."""
        return activations.elu(inputs, alpha=self.alpha)

    def get_config(self):
        return {**super().get_config(), "alpha": self.alpha}


def _large_negative(dtype):
    return -3e4 if np.dtype(dtype) == np.float16 else -1e9


class Softmax(_Elementwise):
    """Softmax layer: `exp(x) / sum(exp(x))` along `axis`, with Keras' mask handling.

    With a mask, the masked positions (False, or <= 0.5 for a numeric mask) are replaced by
    a large negative number (-1e9; -3e4 in float16) before the softmax, so they get no
    weight, and are set to 0 after it (a slice with every position masked gives zeros).

    Args:
        axis: Int, or a tuple/list of ints, the axes normalized over. Defaults to -1.
        **kwargs: Base layer arguments (`name`, `dtype`, ...).

    Call arguments:
        inputs: An array of any shape.
        mask: Optional mask broadcastable to `inputs` (True / > 0.5 = keep).

    Raises:
        ValueError: If the mask has more dimensions than the input or does not broadcast
            to it.
        TypeError: If `axis` is not an int or a tuple/list of ints.

    Example:

    >>> import numpy as np, rnnkit as keras
    >>> keras.layers.Softmax()(np.array([[0.0, 0.0]])).tolist()
    [[0.5, 0.5]]
    >>> keras.layers.Softmax()(np.array([[1.0, 2.0, 3.0]]),
    ...                        mask=np.array([[True, True, False]]))
    array([[0.2689414, 0.7310586, 0.       ]], dtype=float32)
    """

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        items = axis if isinstance(axis, (list, tuple)) else [axis]
        if not items or any(isinstance(a, (bool, np.bool_)) or
                            not isinstance(a, (int, np.integer)) for a in items):
            raise TypeError(f"Softmax: argument `axis` must be an int or a tuple/list of "
                            f"ints, got {axis!r}")
        self.axis = axis

    def call(self, inputs, mask=None):
        """Returns the (masked) softmax of `inputs` along `axis`."""
        x = ops.convert_to_tensor(inputs)
        keep = None
        if mask is not None:
            m = np.asarray(ops.convert_to_numpy(mask))
            in_shape = tuple(ops.shape(x))
            if m.ndim > len(in_shape):
                raise ValueError(f"The `mask` must be broadcastable to `inputs` and must not "
                                 f"have more dimensions. Received: inputs.shape={in_shape}, "
                                 f"mask.shape={m.shape}")
            for m_dim, i_dim in zip(m.shape[::-1], in_shape[::-1]):
                if m_dim != 1 and m_dim != i_dim:
                    raise ValueError(f"The `mask` must be broadcastable to `inputs`. Each "
                                     f"mask dimension must be 1 or match the corresponding "
                                     f"input dimension. Received: inputs.shape={in_shape}, "
                                     f"mask.shape={m.shape}")
            keep = m if m.dtype == bool else m > 0.5
            x = ops.where(keep, x, np.asarray(_large_negative(ops.dtype(x)),
                                              dtype=ops.dtype(x)))
        axis = self.axis
        if isinstance(axis, (list, tuple)) and len(axis) == 1:
            axis = axis[0]
        if isinstance(axis, (list, tuple)):
            y = ops.exp(ops.subtract(x, ops.logsumexp(x, axis=tuple(axis), keepdims=True)))
        else:
            y = activations.softmax(x, axis=int(axis))
        if keep is not None:
            y = ops.where(keep, y, np.zeros((), dtype=ops.dtype(y)))
        return y

    def get_config(self):
        return {**super().get_config(), "axis": self.axis}


class PReLU(Layer):
    """Parametric ReLU: `x` for `x >= 0`, `alpha * x` otherwise, with a learned `alpha`.

    `alpha` has the input's shape without the batch axis, except along `shared_axes`, where
    it has size 1 (one slope shared across that axis: `shared_axes=[1]` on a sequence
    `(batch, steps, features)` learns one slope per feature).

    Args:
        alpha_initializer: Initializer for `alpha`. Defaults to `"Zeros"`.
        alpha_regularizer: Optional regularizer for `alpha`.
        alpha_constraint: Optional constraint for `alpha`.
        shared_axes: Optional int or list of ints (1-based, the batch axis being 0), the
            axes along which `alpha` is shared.
        **kwargs: Base layer arguments (`name`, `dtype`, ...).

    Call arguments:
        inputs: An array of rank >= 2 whose non-shared dimensions are known.

    Raises:
        ValueError: If a shared axis is not an int in `[1, rank)`, or an input dimension that
            `alpha` spans is unknown.

    Example:

    >>> import numpy as np, rnnkit as keras
    >>> layer = keras.layers.PReLU(alpha_initializer=keras.initializers.Constant(0.5),
    ...                            shared_axes=[1])
    >>> layer(np.array([[[-2.0, 2.0], [-4.0, 1.0]]])).tolist()
    [[[-1.0, 2.0], [-2.0, 1.0]]]
    >>> layer.alpha.shape
    (1, 2)
    """

    supports_masking = True

    def __init__(self, alpha_initializer="Zeros", alpha_regularizer=None,
                 alpha_constraint=None, shared_axes=None, **kwargs):
        super().__init__(**kwargs)
        self.alpha_initializer = initializers.get(alpha_initializer)
        self.alpha_regularizer = regularizers.get(alpha_regularizer)
        self.alpha_constraint = constraints.get(alpha_constraint)
        if shared_axes is None:
            self.shared_axes = None
        else:
            axes = list(shared_axes) if isinstance(shared_axes, (list, tuple)) \
                else [shared_axes]
            for a in axes:
                if isinstance(a, (bool, np.bool_)) or not isinstance(a, (int, np.integer)) \
                        or a < 1:
                    raise ValueError(f"PReLU: argument `shared_axes` must hold ints >= 1 (the "
                                     f"batch axis, 0, cannot be shared), got "
                                     f"shared_axes={shared_axes!r}")
            self.shared_axes = [int(a) for a in axes]

    def build(self, input_shape):
        """Creates `alpha`, of shape `input_shape[1:]` with the shared axes set to 1."""
        input_shape = normalize_shape(input_shape, self)
        param_shape = list(input_shape[1:])
        for a in self.shared_axes or ():
            if a >= len(input_shape):
                raise ValueError(f"PReLU: shared axis {a} is out of range for an input of "
                                 f"rank {len(input_shape)} (shape {input_shape})")
            param_shape[a - 1] = 1
        if any(d is None for d in param_shape):
            raise ValueError(f"PReLU: every input dimension that `alpha` spans must be known "
                             f"(share the others with `shared_axes`); got input shape "
                             f"{input_shape} and shared_axes={self.shared_axes}")
        self.alpha = self.add_weight(shape=tuple(param_shape), name="alpha",
                                     initializer=self.alpha_initializer,
                                     regularizer=self.alpha_regularizer,
                                     constraint=self.alpha_constraint)
        axes = {i: input_shape[i] for i in range(1, len(input_shape))
                if i not in (self.shared_axes or ())}
        self.input_spec = InputSpec(ndim=len(input_shape), axes=axes)

    def call(self, inputs):
        """Returns `relu(x) - alpha * relu(-x)`."""
        x = ops.convert_to_tensor(inputs)
        return ops.subtract(ops.relu(x), ops.multiply(self.alpha, ops.relu(ops.negative(x))))

    def compute_output_shape(self, input_shape):
        """Returns `input_shape`."""
        return normalize_shape(input_shape, self)

    def get_config(self):
        return {**super().get_config(),
                "alpha_initializer": initializers.serialize(self.alpha_initializer),
                "alpha_regularizer": regularizers.serialize(self.alpha_regularizer),
                "alpha_constraint": constraints.serialize(self.alpha_constraint),
                "shared_axes": self.shared_axes}
