"""`keras.mixed_precision`: dtype policies (the dtypes a layer keeps its weights in and
computes in) and the global policy.

rnnkit's layers and its C++ core compute in float32 or float64, so the policies that work are
`"float32"` and `"float64"`: a layer built with `dtype=DTypePolicy("float64")` (or under
`set_global_policy("float64")`) keeps float64 weights and computes in float64. Policies that
compute in float16 or bfloat16 (`"float16"`, `"mixed_float16"`, `"bfloat16"`,
`"mixed_bfloat16"`) can be created and serialized, but `set_global_policy` and layers refuse
them with a `ValueError` saying so.

Example:

>>> import rnnkit as keras
>>> policy = keras.mixed_precision.DTypePolicy("float64")
>>> policy.compute_dtype, policy.variable_dtype
('float64', 'float64')
>>> keras.mixed_precision.global_policy().name
'float32'
"""

from __future__ import annotations

__all__ = ["DTypePolicy", "FloatDTypePolicy", "LossScaleOptimizer", "Policy", "dtype_policy",
           "global_policy", "set_dtype_policy", "set_global_policy"]

# Policy name -> (compute dtype, variable dtype).
_POLICIES = {
    "float16": ("float16", "float16"), "bfloat16": ("bfloat16", "bfloat16"),
    "float32": ("float32", "float32"), "float64": ("float64", "float64"),
    "mixed_float16": ("float16", "float32"), "mixed_bfloat16": ("bfloat16", "float32"),
}
# What rnnkit computes in.
SUPPORTED_COMPUTE_DTYPES = ("float32", "float64")

_global_policy = None


class DTypePolicy:
    """A dtype policy: the dtype a layer computes in and the dtype of its weights.

    Args:
        name: `"float32"`, `"float64"`, `"float16"`, `"bfloat16"`, `"mixed_float16"` or
            `"mixed_bfloat16"`. Defaults to `config.floatx()`.

    Raises:
        ValueError: For any other name.
        TypeError: If `name` is not a string.
    """

    def __init__(self, name=None):
        if name is None:
            from rnnkit.config import floatx
            name = floatx()
        if not isinstance(name, str):
            raise TypeError(f"'name' must be a string, such as 'mixed_float16'. Received: "
                            f"name={name!r} (of type {type(name).__name__})")
        if name not in _POLICIES:
            raise ValueError(f"Cannot convert {name!r} to a mixed precision DTypePolicy. "
                             f"Valid policies include {sorted(_POLICIES)}")
        self._name = name
        self._compute_dtype, self._variable_dtype = _POLICIES[name]

    @property
    def name(self):
        """The policy's name (`"mixed_float16"`, ...)."""
        return self._name

    @property
    def compute_dtype(self):
        """The dtype of the layer's computations (and of its outputs)."""
        return self._compute_dtype

    @property
    def variable_dtype(self):
        """The dtype of the layer's weights."""
        return self._variable_dtype

    @property
    def quantization_mode(self):
        """None: rnnkit has no quantized policies."""
        return None

    @property
    def is_supported(self):
        """Whether rnnkit can compute with this policy (float32 or float64 compute)."""
        return self._compute_dtype in SUPPORTED_COMPUTE_DTYPES

    def convert_input(self, x, autocast, dtype):
        """Casts floating `x` to `dtype` when `autocast` is on (Keras' hook; rnnkit layers
        cast their inputs themselves)."""
        import numpy as np
        from rnnkit import ops
        if autocast and np.dtype(ops.dtype(x)).kind == "f" and ops.dtype(x) != dtype:
            return ops.cast(x, dtype)
        return x

    def get_config(self):
        """Returns `{"name": name}`."""
        return {"name": self._name}

    @classmethod
    def from_config(cls, config):
        """Creates a policy from `get_config()`'s dictionary."""
        return cls(**config)

    def __eq__(self, other):
        return isinstance(other, DTypePolicy) and other.name == self.name

    def __hash__(self):
        return hash(("DTypePolicy", self._name))

    def __repr__(self):
        return f'<DTypePolicy "{self._name}">'


FloatDTypePolicy = DTypePolicy
Policy = DTypePolicy


def _as_policy(policy):
    if policy is None:
        return None
    if isinstance(policy, DTypePolicy):
        return policy
    if isinstance(policy, str):
        return DTypePolicy(policy)
    if isinstance(policy, dict):
        return DTypePolicy.from_config(policy.get("config", policy))
    raise ValueError(f"Invalid `policy` argument. Expected the string name of a policy (such "
                     f"as 'float32') or a `DTypePolicy` instance. Received: policy={policy!r}")


def set_dtype_policy(policy):
    """Sets the default dtype policy of new layers.

    Args:
        policy: A `DTypePolicy`, a policy name (`"float32"`, `"float64"`), or None to go back
            to `config.floatx()`.

    Raises:
        ValueError: For an unknown policy, or one that computes in float16 or bfloat16
            (rnnkit's core computes in float32 and float64 only).
    """
    global _global_policy
    new = _as_policy(policy)
    if new is not None and not new.is_supported:
        raise ValueError(f"rnnkit cannot use the dtype policy {new.name!r}: it computes in "
                         f"{new.compute_dtype}, and rnnkit's layers and C++ core compute in "
                         f"float32 or float64 only. Use 'float32' or 'float64'.")
    _global_policy = new


set_global_policy = set_dtype_policy


def dtype_policy():
    """Returns the default dtype policy of new layers: the one set with `set_dtype_policy`,
    else `DTypePolicy(config.floatx())`."""
    return _global_policy if _global_policy is not None else DTypePolicy()


global_policy = dtype_policy


def __getattr__(name):
    # LossScaleOptimizer lives with the optimizers (imported lazily: optimizers import layers).
    if name == "LossScaleOptimizer":
        from rnnkit.optimizers import LossScaleOptimizer
        return LossScaleOptimizer
    raise AttributeError(f"module 'rnnkit.mixed_precision' has no attribute {name!r}")
