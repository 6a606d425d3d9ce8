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
    """The identity (activation=None)."""
    return x


def tanh(x):
    """Hyperbolic tangent."""
    return ops.tanh(x)


def sigmoid(x):
    """1 / (1 + exp(-x))."""
    return ops.sigmoid(x)


def hard_sigmoid(x):
    """Keras 3: relu6(x + 3) / 6 = clip(x / 6 + 1/2, 0, 1)."""
    return ops.hard_sigmoid(x)


def hard_silu(x):
    """x * hard_sigmoid(x)."""
    return ops.hard_silu(x)


hard_swish = hard_silu


def relu(x, negative_slope=0.0, max_value=None, threshold=0.0):
    """Keras' relu: max(x, 0) by default; `negative_slope` below `threshold`, values at or
    below `threshold` set to 0 (before the slope), and a cap `max_value`."""
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
    """min(max(x, 0), 6)."""
    return ops.relu6(x)


def leaky_relu(x, negative_slope=0.2):
    """x for x >= 0, negative_slope * x otherwise."""
    return ops.leaky_relu(x, negative_slope=negative_slope)


def elu(x, alpha=1.0):
    """x for x > 0, alpha * (exp(x) - 1) otherwise."""
    return ops.elu(x, alpha=alpha)


def selu(x):
    """Scaled exponential linear unit."""
    return ops.selu(x)


def celu(x, alpha=1.0):
    """max(x, 0) + alpha * (exp(min(x, 0) / alpha) - 1)."""
    return ops.celu(x, alpha=alpha)


def softplus(x):
    """log(1 + exp(x))."""
    return ops.softplus(x)


def softsign(x):
    """x / (1 + |x|)."""
    return ops.softsign(x)


def silu(x):
    """x * sigmoid(x)."""
    return ops.silu(x)


swish = silu


def gelu(x, approximate=False):
    """x * Phi(x) (exact by default, as keras.activations.gelu), or the tanh approximation."""
    return ops.gelu(x, approximate=approximate)


def exponential(x):
    """exp(x)."""
    return ops.exp(x)


def mish(x):
    """x * tanh(softplus(x))."""
    return ops.multiply(x, ops.tanh(ops.softplus(x)))


def log_sigmoid(x):
    """log(sigmoid(x))."""
    return ops.log_sigmoid(x)


def hard_tanh(x):
    """clip(x, -1, 1)."""
    return ops.hard_tanh(x)


def tanh_shrink(x):
    """x - tanh(x)."""
    return ops.tanh_shrink(x)


def squareplus(x, b=4):
    """(x + sqrt(x^2 + b)) / 2."""
    return ops.squareplus(x, b=b)


def sparse_plus(x):
    """0 for x <= -1, x for x >= 1, (x + 1)^2 / 4 between."""
    return ops.sparse_plus(x)


def sparse_sigmoid(x):
    """0 for x <= -1, 1 for x >= 1, (x + 1) / 2 between."""
    return ops.sparse_sigmoid(x)


def soft_shrink(x, threshold=0.5):
    """x - threshold above it, x + threshold below -threshold, 0 between."""
    return ops.soft_shrink(x, threshold=threshold)


def hard_shrink(x, threshold=0.5):
    """x where |x| > threshold, 0 elsewhere."""
    return ops.hard_shrink(x, threshold=threshold)


def threshold(x, threshold, default_value):
    """x where x > threshold, default_value elsewhere."""
    return ops.threshold(x, threshold, default_value)


def glu(x, axis=-1):
    """Gated linear unit over `axis`."""
    return ops.glu(x, axis=axis)


def softmax(x, axis=-1):
    """exp(x) / sum(exp(x)) along `axis`."""
    return ops.softmax(x, axis=axis)


def log_softmax(x, axis=-1):
    """x - logsumexp(x) along `axis`."""
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
    """The C++ core's name for `fn` ('tanh', ...) when it is a built-in elementwise activation
    used with its default parameters (also given by name, or None for linear); None otherwise
    (a lambda, a partial, softmax, a custom function)."""
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
    """The activation function for `identifier` (None, a name, a config dict or a callable)."""
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
    """The name of a built-in activation; for a custom one, its registered name (or a config
    dict for an object with `get_config()`), else its `__name__`."""
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
    """The activation for a name or config written by `serialize()` (custom_objects first)."""
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
