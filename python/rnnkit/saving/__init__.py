"""Saving: the object registry, (de)serialization, and Keras' file formats (`keras.saving`).

- Registration (`rnnkit.saving.object_registration`): `register_keras_serializable(package,
  name)` (alias `register_serializable`), `get_registered_name`, `get_registered_object`,
  `get_custom_objects`, `custom_object_scope` (alias `CustomObjectScope`).
- Objects (`rnnkit.saving.serialization_lib`): `serialize` / `deserialize` (aliases
  `serialize_keras_object`, `deserialize_keras_object`, `serialize_rnnkit_object`,
  `deserialize_rnnkit_object`), in Keras 3's format.
- Files (`rnnkit.saving.saving_api`): `save_model` / `load_model` (`.keras`, and legacy
  `.h5`), `save_weights` / `load_weights` (`.weights.h5`, legacy `.h5`), as Keras 3 writes
  and reads them; see `docs/saving.md`.
"""

from rnnkit.saving.object_registration import (
    _GLOBAL_CUSTOM_NAMES,
    _GLOBAL_CUSTOM_OBJECTS,
    CustomObjectScope,
    custom_object_scope,
    get_custom_objects,
    get_registered_name,
    get_registered_object,
    register_keras_serializable,
    register_serializable,
)
from rnnkit.saving.serialization_lib import (
    DeserializationError,
    SafeModeScope,
    _config_repr,
    _deserialize_instance,
    _get_object,
    deserialize,
    deserialize_keras_object,
    deserialize_rnnkit_object,
    serialize,
    serialize_keras_object,
    serialize_rnnkit_object,
)
from rnnkit.saving.saving_api import load_model, load_weights, save_model, save_weights

__all__ = [
    "CustomObjectScope",
    "DeserializationError",
    "SafeModeScope",
    "custom_object_scope",
    "deserialize",
    "deserialize_keras_object",
    "deserialize_rnnkit_object",
    "get_custom_objects",
    "get_registered_name",
    "get_registered_object",
    "load_model",
    "load_weights",
    "register_keras_serializable",
    "register_serializable",
    "save_model",
    "save_weights",
    "serialize",
    "serialize_keras_object",
    "serialize_rnnkit_object",
]
