"""`keras.dtype_policies`: dtype policies, their (de)serialization, and `DTypePolicyMap`.

`DTypePolicy` is the class of `rnnkit.mixed_precision` (see there for which policies rnnkit
computes with). Keras' quantized policies (`QuantizedDTypePolicy`, `Int4DTypePolicy`, ...) are
left out: rnnkit has no quantization.

Example:

>>> import rnnkit as keras
>>> keras.dtype_policies.get("float64")
<DTypePolicy "float64">
>>> keras.dtype_policies.serialize(keras.DTypePolicy("float32"))["class_name"]
'DTypePolicy'
"""

from __future__ import annotations

import re

from rnnkit.mixed_precision import DTypePolicy, FloatDTypePolicy, dtype_policy

__all__ = ["DTypePolicy", "DTypePolicyMap", "FloatDTypePolicy", "deserialize", "get",
           "serialize"]


def serialize(dtype_policy):
    """Returns the Keras config of a policy: `{"module": "keras", "class_name": "DTypePolicy",
    "config": {"name": ...}, "registered_name": None}`.

    Args:
        dtype_policy: A `DTypePolicy`.

    Raises:
        TypeError: If `dtype_policy` is not a `DTypePolicy` (or a `DTypePolicyMap`).
    """
    if isinstance(dtype_policy, DTypePolicyMap):
        return {"module": "keras.dtype_policies", "class_name": "DTypePolicyMap",
                "config": dtype_policy.get_config(), "registered_name": None}
    if not isinstance(dtype_policy, DTypePolicy):
        raise TypeError(f"serialize: expected a DTypePolicy, got {dtype_policy!r}")
    return {"module": "keras", "class_name": "DTypePolicy",
            "config": dtype_policy.get_config(), "registered_name": None}


def deserialize(config, custom_objects=None):
    """Builds a policy from the dictionary `serialize` returns.

    Args:
        config: The dictionary.
        custom_objects: Ignored (accepted for Keras compatibility).

    Raises:
        ValueError: For a class name that is not a dtype policy.
    """
    del custom_objects
    if not isinstance(config, dict) or "class_name" not in config:
        raise ValueError(f"deserialize: expected a serialized dtype policy, got {config!r}")
    name = config["class_name"]
    if name in ("DTypePolicy", "FloatDTypePolicy"):
        return DTypePolicy(**config.get("config", {}))
    if name == "DTypePolicyMap":
        return DTypePolicyMap.from_config(config.get("config", {}))
    raise ValueError(f"deserialize: {name!r} is not a dtype policy rnnkit has (quantized "
                     "policies are not supported)")


def get(identifier):
    """Returns a policy from a name, a serialized dictionary, a `DTypePolicy` (returned as is)
    or None (the global policy).

    Args:
        identifier: The policy, its name or its config.

    Raises:
        ValueError: If `identifier` cannot be interpreted as a policy.
    """
    if identifier is None:
        return dtype_policy()
    if isinstance(identifier, (DTypePolicy, DTypePolicyMap)):
        return identifier
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if isinstance(identifier, str):
        return DTypePolicy(identifier)
    raise ValueError(f"Cannot interpret `dtype` argument. Expected a string or an instance of "
                     f"DTypePolicy. Received: dtype={identifier!r}")


class DTypePolicyMap:
    """A dictionary from layer paths (or regular expressions matching them) to dtype
    policies, with a default for the paths it does not name (Keras' `DTypePolicyMap`).

    Args:
        default_policy: The policy of unlisted paths (a policy, a name or None for the global
            policy).
        policy_map: Optional dict `{path or pattern: policy}`.
    """

    def __init__(self, default_policy=None, policy_map=None):
        self._default = get(default_policy) if default_policy is not None else None
        self._map = {}
        for key, value in (policy_map or {}).items():
            self[key] = value

    @property
    def default_policy(self):
        """The policy of paths the map does not name."""
        return self._default if self._default is not None else dtype_policy()

    @property
    def policy_map(self):
        """The `{path: DTypePolicy}` dictionary."""
        return dict(self._map)

    def __getitem__(self, key):
        if key in self._map:
            return self._map[key]
        matches = [k for k in self._map if re.search(k, key)]
        if len(matches) > 1:
            raise ValueError(f"Path {key!r} matches several keys of the DTypePolicyMap: "
                             f"{matches}")
        return self._map[matches[0]] if matches else self.default_policy

    def __setitem__(self, key, policy):
        if key in self._map:
            raise ValueError(f"The DTypePolicyMap already has the key {key!r}")
        self._map[key] = get(policy)

    def __delitem__(self, key):
        del self._map[key]

    def __contains__(self, key):
        return key in self._map

    def __len__(self):
        return len(self._map)

    def __iter__(self):
        return iter(self._map)

    def get_config(self):
        """Returns the default policy and the map, serialized."""
        return {"default_policy": None if self._default is None else serialize(self._default),
                "policy_map": {k: serialize(v) for k, v in self._map.items()}}

    @classmethod
    def from_config(cls, config):
        """Builds a map from `get_config()`'s dictionary."""
        default = config.get("default_policy")
        return cls(default_policy=None if default is None else get(default),
                   policy_map={k: get(v) for k, v in (config.get("policy_map") or {}).items()})

    def __repr__(self):
        return f"<DTypePolicyMap default={self.default_policy.name!r} size={len(self._map)}>"
