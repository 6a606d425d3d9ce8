"""Activation functions (`keras.activations`), written with `rnnkit.ops` so they are
differentiable, and their lookup by name.

    get(identifier)          None -> linear; 'tanh' -> tanh; a callable -> itself; a config dict
                             or a registered custom name -> the registered object
    serialize(fn)            the name of a built-in ('tanh'; aliases give their canonical name,
                             'swish' -> 'silu'); a custom function's registered name or __name__
    deserialize(name)        the inverse (custom_objects first)
    fused_name(fn)           the C++ core's name for `fn` when the fused kernel can apply it
                             (a built-in elementwise activation with default parameters), else None
"""

from __future__ import annotations

from rnnkit import ops

__all__ = [
    "celu", "deserialize", "elu", "exponential", "fused_name", "gelu", "get", "glu",
    "hard_shrink", "hard_sigmoid", "hard_silu", "hard_swish", "hard_tanh", "leaky_relu",
    "linear", "log_sigmoid", "log_softmax", "mish", "relu", "relu6", "selu", "serialize",
    "sigmoid", "silu", "soft_shrink", "softmax", "softplus", "softsign", "sparse_plus",
    "sparse_sigmoid", "squareplus", "swish", "tanh", "tanh_shrink", "threshold",
]


def linear(x):
    """Linear activation: returns `x` unchanged (what `activation=None` means).

    Args:
        x: Input array (or array-like, `Variable`, `Tensor`).

    Returns:
        `x` itself.
    """
    return x


def tanh(x):
    """Hyperbolic tangent activation: `tanh(x)`.

    Args:
        x: Input array (or array-like, `Variable`, `Tensor`).

    Returns:
        An array of the shape of `x`, in (-1, 1).
    """
    return ops.tanh(x)


def sigmoid(x):
    """Sigmoid activation: `1 / (1 + exp(-x))`, computed without overflow.

    Args:
        x: Input array (or array-like, `Variable`, `Tensor`).

    Returns:
        An array of the shape of `x`, in (0, 1).
    """
    return ops.sigmoid(x)


def hard_sigmoid(x):
    """Hard sigmoid activation: `relu6(x + 3) / 6`, i.e. `clip(x / 6 + 0.5, 0, 1)`.

    A piecewise linear approximation of the sigmoid (Keras 3's definition).

    Args:
        x: Input array (or array-like, `Variable`, `Tensor`).

    Returns:
        An array of the shape of `x`.
    """
    return ops.hard_sigmoid(x)


def hard_silu(x):
    """Hard SiLU activation (`hard_swish` is the same function): `x * hard_sigmoid(x)`.

    Args:
        x: Input array (or array-like, `Variable`, `Tensor`).

    Returns:
        An array of the shape of `x`.
    """
    return ops.hard_silu(x)


hard_swish = hard_silu


def relu(x, negative_slope=0.0, max_value=None, threshold=0.0):
    """Rectified linear unit activation, with optional slope, cap and threshold.

    With the defaults it returns `max(x, 0)`. Otherwise values at or below `threshold`
    become 0, values above it are capped at `max_value`, and `negative_slope * (x -
    threshold)` is added below the threshold.

    Args:
        x: Input array.
        negative_slope: Float, the slope below the threshold. Defaults to 0.
        max_value: Optional float, the largest output value.
        threshold: Float, the value below which the output is damped (or 0). Defaults
            to 0.

    Returns:
        An array of the shape of `x`.

    Example:

    >>> import numpy as np, rnnkit as keras
    >>> x = np.array([-10.0, -5.0, 0.0, 5.0, 10.0])
    >>> keras.activations.relu(x)
    array([ 0.,  0.,  0.,  5., 10.])
    >>> keras.activations.relu(x, negative_slope=0.5, max_value=6.0, threshold=1.0)
    array([-5.5, -3. , -0.5,  5. ,  6. ])
    """
    if negative_slope == 0.0 and max_value is None and threshold == 0.0:
        return ops.relu(x)
    x = ops.convert_to_tensor(x)
    if negative_slope != 0.0:
        if max_value is None and threshold == 0:
            return ops.leaky_relu(x, negative_slope=negative_slope)
        negative_part = ops.relu(-x + threshold) if threshold != 0 else ops.relu(-x)
    clip_max = max_value is not None
    if threshold != 0:
        x = x * ops.cast(ops.greater(x, threshold), ops.dtype(x))
    elif max_value == 6:
        x = ops.relu6(x)
        clip_max = False
    else:
        x = ops.relu(x)
    if clip_max:
        x = ops.clip(x, 0.0, max_value)
    if negative_slope != 0.0:
        x = x - negative_slope * negative_part
    return x


def relu6(x):
    """ReLU capped at 6: `min(max(x, 0), 6)`.

    Args:
        x: Input array (or array-like, `Variable`, `Tensor`).

    Returns:
        An array of the shape of `x`.
    """
    return ops.relu6(x)


def leaky_relu(x, negative_slope=0.2):
    """Leaky ReLU activation: `x` for `x >= 0`, `negative_slope * x` otherwise.

    Args:
        x: Input array.
        negative_slope: Float, the slope for negative inputs. Defaults to 0.2.

    Returns:
        An array of the shape of `x`.
    """
    return ops.leaky_relu(x, negative_slope=negative_slope)


def elu(x, alpha=1.0):
    """Exponential linear unit: `x` for `x > 0`, `alpha * (exp(x) - 1)` otherwise.

    Args:
        x: Input array.
        alpha: Float, the scale of the negative part. Defaults to 1.0.

    Returns:
        An array of the shape of `x`.
    """
    return ops.elu(x, alpha=alpha)


def selu(x):
    """Scaled exponential linear unit (SELU): `scale * elu(x, alpha)`.

    With `alpha = 1.67326324` and `scale = 1.05070098` (Klambauer et al., 2017); use it with
    the `"lecun_normal"` initializer.

    Args:
        x: Input array (or array-like, `Variable`, `Tensor`).

    Returns:
        An array of the shape of `x`.
    """
    return ops.selu(x)


def celu(x, alpha=1.0):
    """Continuously differentiable exponential linear unit (CELU).

    Computes `max(x, 0) + min(0, alpha * (exp(x / alpha) - 1))`.

    Args:
        x: Input array.
        alpha: Float, the scale of the negative part. Defaults to 1.0.

    Returns:
        An array of the shape of `x`.
    """
    return ops.celu(x, alpha=alpha)


def softplus(x):
    """Softplus activation: `log(1 + exp(x))`, computed without overflow.

    Args:
        x: Input array (or array-like, `Variable`, `Tensor`).

    Returns:
        An array of the shape of `x`.
    """
    return ops.softplus(x)


def softsign(x):
    """Softsign activation: `x / (1 + |x|)`.

    Args:
        x: Input array (or array-like, `Variable`, `Tensor`).

    Returns:
        An array of the shape of `x`.
    """
    return ops.softsign(x)


def silu(x):
    """SiLU (swish) activation: `x * sigmoid(x)` (`swish` is the same function).

    Args:
        x: Input array (or array-like, `Variable`, `Tensor`).

    Returns:
        An array of the shape of `x`.
    """
    return ops.silu(x)


swish = silu


def gelu(x, approximate=False):
    """Gaussian error linear unit (GELU): `x * Phi(x)`, Phi the standard normal CDF.

    Args:
        x: Input array.
        approximate: Bool, use the tanh approximation instead of the exact form with
            `erf`. Defaults to `False` (as `keras.activations.gelu`; `rnnkit.ops.gelu`
            defaults to `True`).

    Returns:
        An array of the shape of `x`.
    """
    return ops.gelu(x, approximate=approximate)


def exponential(x):
    """Exponential activation: `exp(x)`.

    Args:
        x: Input array (or array-like, `Variable`, `Tensor`).

    Returns:
        An array of the shape of `x`.
    """
    return ops.exp(x)


def mish(x):
    """Mish activation: `x * tanh(softplus(x))` (Misra, 2019).

    Args:
        x: Input array (or array-like, `Variable`, `Tensor`).

    Returns:
        An array of the shape of `x`.
    """
    return ops.multiply(x, ops.tanh(ops.softplus(x)))


def log_sigmoid(x):
    """Logarithm of the sigmoid: `log(sigmoid(x))`, computed without overflow.

    Args:
        x: Input array (or array-like, `Variable`, `Tensor`).

    Returns:
        An array of the shape of `x`.
    """
    return ops.log_sigmoid(x)


def hard_tanh(x):
    """Hard tanh activation: `clip(x, -1, 1)`.

    Args:
        x: Input array (or array-like, `Variable`, `Tensor`).

    Returns:
        An array of the shape of `x`.
    """
    return ops.hard_tanh(x)


def tanh_shrink(x):
    """Tanh shrink activation: `x - tanh(x)`.

    Args:
        x: Input array (or array-like, `Variable`, `Tensor`).

    Returns:
        An array of the shape of `x`.
    """
    return ops.tanh_shrink(x)


def squareplus(x, b=4):
    """Squareplus activation: `(x + sqrt(x**2 + b)) / 2`, a smooth ReLU.

    Args:
        x: Input array.
        b: Non-negative number, the smoothness. Defaults to 4.

    Returns:
        An array of the shape of `x`.
    """
    return ops.squareplus(x, b=b)


def sparse_plus(x):
    """Sparse plus activation: 0 for `x <= -1`, `x` for `x >= 1`, `(x + 1)**2 / 4` between.

    Args:
        x: Input array (or array-like, `Variable`, `Tensor`).

    Returns:
        An array of the shape of `x`.
    """
    return ops.sparse_plus(x)


def sparse_sigmoid(x):
    """Sparse sigmoid activation: 0 for `x <= -1`, 1 for `x >= 1`, `(x + 1) / 2` between.

    Args:
        x: Input array (or array-like, `Variable`, `Tensor`).

    Returns:
        An array of the shape of `x`.
    """
    return ops.sparse_sigmoid(x)


def soft_shrink(x, threshold=0.5):
    """Soft shrink activation: `x - threshold` above `threshold`, `x + threshold` below
    `-threshold`, 0 in between.

    Args:
        x: Input array.
        threshold: Non-negative float. Defaults to 0.5.

    Returns:
        An array of the shape of `x`.
    """
    return ops.soft_shrink(x, threshold=threshold)


def hard_shrink(x, threshold=0.5):
    """Hard shrink activation: `x` where `|x| > threshold`, 0 elsewhere.

    Args:
        x: Input array.
        threshold: Non-negative float. Defaults to 0.5.

    Returns:
        An array of the shape of `x`.
    """
    return ops.hard_shrink(x, threshold=threshold)


def threshold(x, threshold, default_value):
    """Threshold activation: `x` where `x > threshold`, `default_value` elsewhere.

    Args:
        x: Input array.
        threshold: The threshold.
        default_value: The value for elements at or below the threshold.

    Returns:
        An array of the broadcast shape.
    """
    return ops.threshold(x, threshold, default_value)


def glu(x, axis=-1):
    """Gated linear unit: `a * sigmoid(b)`, with `a` and `b` the two halves of `x`.

    Args:
        x: Input array; its size along `axis` must be even.
        axis: Int, the axis split in two. Defaults to -1.

    Returns:
        An array with half the size of `x` along `axis`.
    """
    return ops.glu(x, axis=axis)


def softmax(x, axis=-1):
    """Softmax activation: `exp(x) / sum(exp(x))` along `axis`, computed stably.

    Turns scores into a probability distribution (the values along `axis` are positive and
    sum to 1).

    Args:
        x: Input array.
        axis: Int or tuple of ints, the axes normalized over. Defaults to -1.

    Returns:
        An array of the shape of `x`.

    Example:

    >>> import numpy as np, rnnkit as keras
    >>> keras.activations.softmax(np.array([[0.0, 0.0]]))
    array([[0.5, 0.5]])
    """
    return ops.softmax(x, axis=axis)


def log_softmax(x, axis=-1):
    """Log-softmax activation: `x - logsumexp(x)` along `axis`, computed stably.

    Args:
        x: Input array.
        axis: Int or tuple of ints. Defaults to -1.

    Returns:
        An array of the shape of `x`.
    """
    return ops.log_softmax(x, axis=axis)


# ------------------------------------------------------------------------------------------------
# Lookup
# ------------------------------------------------------------------------------------------------

_BUILTINS = (linear, tanh, sigmoid, hard_sigmoid, hard_silu, relu, relu6, leaky_relu, elu, selu,
             celu, softplus, softsign, silu, gelu, exponential, mish, log_sigmoid, hard_tanh,
             tanh_shrink, squareplus, sparse_plus, sparse_sigmoid, soft_shrink, hard_shrink,
             threshold, glu, softmax, log_softmax)

ALL_OBJECTS = {fn.__name__: fn for fn in _BUILTINS}
ALL_OBJECTS.update(swish=silu, hard_swish=hard_silu)

# The activations the fused C++ kernel applies (cpp/include/rnnkit/activation.h): built-in
# elementwise activations with their default parameters.
FUSED = ("linear", "tanh", "sigmoid", "hard_sigmoid", "hard_silu", "relu", "relu6", "leaky_relu",
         "elu", "selu", "celu", "softplus", "softsign", "silu", "gelu", "exponential", "mish",
         "log_sigmoid", "hard_tanh", "tanh_shrink", "squareplus", "sparse_plus",
         "sparse_sigmoid", "soft_shrink", "hard_shrink")

_FUSED_OBJECTS = {name: ALL_OBJECTS[name] for name in FUSED}
# The ops with the same defaults compute the same functions (not ops.gelu: approximate=True).
_FUSED_OPS = {name: getattr(ops, name) for name in FUSED
              if name not in ("linear", "gelu", "exponential", "mish")}
_FUSED_OPS.update(exponential=ops.exp)
_FUSED_BY_ID = {id(fn): (fn, name) for d in (_FUSED_OPS, _FUSED_OBJECTS) for name, fn in d.items()}


def fused_name(fn):
    """Returns the C++ core's name for an activation, when the fused RNN kernel can run it.

    The fused kernel applies the built-in elementwise activations with their default
    parameters (`"tanh"`, `"sigmoid"`, `"relu"`, ...; see `FUSED`), given as the
    `rnnkit.activations` function, the `rnnkit.ops` function with the same definition, or
    their name. An RNN layer whose activations have no fused name runs the generic loop.

    Args:
        fn: An activation function, a name, or `None` (linear).

    Returns:
        The core's name, or `None` (a lambda, a partial, `softmax`, a custom function).

    Example:

    >>> import rnnkit as keras
    >>> keras.activations.fused_name(keras.activations.tanh)
    'tanh'
    >>> keras.activations.fused_name(lambda x: x) is None
    True
    """
    if fn is None:
        return "linear"
    if isinstance(fn, str):
        fn = ALL_OBJECTS.get(fn)
    entry = _FUSED_BY_ID.get(id(fn))
    return entry[1] if entry is not None and entry[0] is fn else None


def _saving():
    try:
        from rnnkit import saving
    except ImportError:          # pragma: no cover - saving is optional here
        return None
    return saving


def _not_interpretable(identifier):
    return ValueError(f"Could not interpret activation function identifier: {identifier}")


def _lookup(name, custom_objects=None):
    if custom_objects and name in custom_objects:
        return custom_objects[name]
    if name in ALL_OBJECTS:
        return ALL_OBJECTS[name]
    saving = _saving()
    if saving is not None and hasattr(saving, "get_registered_object"):
        return saving.get_registered_object(name, custom_objects=custom_objects)
    return None


def _from_dict(config, custom_objects=None):
    saving = _saving()
    if saving is not None and hasattr(saving, "deserialize"):
        try:
            return saving.deserialize(config, custom_objects=custom_objects,
                                      module_objects=ALL_OBJECTS)
        except (ValueError, TypeError) as e:
            raise _not_interpretable(config) from e
    name = config.get("config") if config.get("class_name") == "function" else \
        config.get("registered_name") or config.get("class_name")
    return _lookup(name, custom_objects) if isinstance(name, str) else None


def get(identifier):
    """Returns the activation function for an identifier.

    Args:
        identifier: `None` (gives `linear`), a name (`"tanh"`, `"swish"`, a registered
            custom name, ...), a serialized config dict, or a callable (returned as is).

    Returns:
        A callable activation.

    Raises:
        ValueError: If the identifier cannot be interpreted.

    Example:

    >>> import rnnkit as keras
    >>> keras.activations.get("swish").__name__
    'silu'
    >>> keras.activations.get(None).__name__
    'linear'
    """
    if identifier is None:
        return linear
    if isinstance(identifier, str):
        obj = _lookup(identifier)
    elif isinstance(identifier, dict):
        obj = _from_dict(identifier)
    else:
        obj = identifier
    if callable(obj):
        return obj
    raise _not_interpretable(identifier)


def serialize(activation):
    """Serializes an activation for saving.

    Args:
        activation: An activation function or object, or `None`.

    Returns:
        The canonical name of a built-in activation (`"silu"` for `swish`; `"linear"` for
        `None`); for a custom function its registered name (`"package>name"`) or
        `__name__`; for a nameless object with `get_config()`, a config dict.

    Raises:
        ValueError: If the activation has neither a name nor a `get_config()`.
    """
    if activation is None:
        return "linear"
    name = getattr(activation, "__name__", None)
    if name is not None and ALL_OBJECTS.get(name) is activation:
        return name
    saving = _saving()
    if name is None:
        if saving is not None and hasattr(activation, "get_config"):
            return saving.serialize(activation)
        raise ValueError(f"Cannot serialize the activation {activation!r}: it has no name and "
                         f"no get_config(). Register it with "
                         f"rnnkit.saving.register_keras_serializable().")
    if saving is not None and hasattr(saving, "get_registered_name"):
        return saving.get_registered_name(activation)
    return name


def deserialize(config, custom_objects=None):
    """Returns the activation for a name or config written by `serialize()`.

    Args:
        config: A name, a config dict, a callable, or `None` (gives `linear`).
        custom_objects: Optional dict of custom activations, looked up first.

    Returns:
        A callable activation.

    Raises:
        ValueError: If the name or config cannot be interpreted.
    """
    if config is None:
        return linear
    if isinstance(config, str):
        obj = _lookup(config, custom_objects)
    elif isinstance(config, dict):
        obj = _from_dict(config, custom_objects)
    else:
        obj = config
    if callable(obj):
        return obj
    raise _not_interpretable(config)
