"""`keras.mixed_precision`: dtype policies (the dtypes a layer keeps its weights in and
computes in) and the global policy.

The policies that work are `"float32"`, `"float64"`, `"mixed_bfloat16"` and `"mixed_float16"`. A layer built with
`dtype=DTypePolicy("float64")` (or under `set_global_policy("float64")`) keeps float64 weights
and computes in float64. Under `"mixed_bfloat16"` a layer keeps float32 weights and computes in
bfloat16 (Keras' mixed precision): floating inputs are cast to bfloat16, weights are read as
bfloat16 inside `call`, outputs are bfloat16, gradients of the weights are float32. bfloat16
arrays are NumPy arrays of `ml_dtypes.bfloat16` (`pip install ml_dtypes`, or rnnkit's `bf16`
extra); the recurrent layers keep their state and accumulate in float32 (see
docs/mixed_precision.md for what is computed and the expected error). `"mixed_float16"` is the
same with NumPy's float16 (no extra package), and `Model.compile` wraps the optimizer in a
`LossScaleOptimizer` under it, as Keras does. The policies `"float16"` and `"bfloat16"`
(16-bit weights) can be created and serialized, but `set_global_policy` and layers refuse them
with a `ValueError` saying so.

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
# The policies rnnkit computes with: the plain float32 / float64 ones and the two mixed ones.
SUPPORTED_POLICIES = ("float32", "float64", "mixed_bfloat16", "mixed_float16")

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
        """Whether rnnkit can compute with this policy (`"float32"`, `"float64"`,
        `"mixed_bfloat16"`, `"mixed_float16"`)."""
        return self._name in SUPPORTED_POLICIES

    def convert_input(self, x, autocast, dtype):
        """Casts floating `x` to `dtype` when `autocast` is on (Keras' hook; rnnkit layers
        cast their inputs themselves)."""
        from rnnkit import ops
        from rnnkit.backend import is_float_dtype
        if autocast and is_float_dtype(ops.dtype(x)) and ops.dtype(x) != dtype:
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
        ValueError: For an unknown policy, one rnnkit does not compute with (`"float16"`,
            `"bfloat16"`), or `"mixed_bfloat16"` without `ml_dtypes`.
    """
    global _global_policy
    new = _as_policy(policy)
    if new is not None:
        check_supported(new)
    _global_policy = new


def check_supported(policy, what="rnnkit"):
    """Raises a ValueError unless rnnkit can compute with `policy` (a `DTypePolicy`); `what`
    names who refuses (a layer) in the message."""
    if not policy.is_supported:
        raise ValueError(f"{what} cannot use the dtype policy {policy.name!r}: it computes in "
                         f"{policy.compute_dtype} with {policy.variable_dtype} weights, and "
                         f"rnnkit supports the policies {list(SUPPORTED_POLICIES)} only.")
    if policy.compute_dtype == "bfloat16":
        bfloat16_dtype(f"the dtype policy {policy.name!r}")


def bfloat16_dtype(purpose="bfloat16"):
    """The NumPy dtype of bfloat16 (`ml_dtypes.bfloat16`), imported on first use.

    Args:
        purpose: What needs it (for the error message).

    Raises:
        ValueError: If `ml_dtypes` is not installed.
    """
    try:
        import ml_dtypes
    except ImportError:
        raise ValueError(f"{purpose} needs bfloat16 arrays, which rnnkit takes from the "
                         f"`ml_dtypes` package: `pip install ml_dtypes` (or "
                         f"`pip install rnnkit[bf16]`).") from None
    import numpy as np
    return np.dtype(ml_dtypes.bfloat16)


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
