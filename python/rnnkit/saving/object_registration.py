"""Object registration (`keras.saving.register_keras_serializable` and friends).

The registry maps names (`"package>name"`) to classes and functions, and custom object
scopes make names visible for a `with` block. This module imports nothing from rnnkit, so
that every module of the package can import it (initializers, layers, optimizers, ...).

- `register_keras_serializable(package="Custom", name=None)` (alias `register_serializable`).
- `get_registered_name(obj)`, `get_registered_object(name, custom_objects, module_objects)`,
  `get_custom_objects()`.
- `custom_object_scope(dict)` (alias `CustomObjectScope`).
"""

from __future__ import annotations

import inspect
import threading

__all__ = [
    "CustomObjectScope",
    "custom_object_scope",
    "get_custom_objects",
    "get_registered_name",
    "get_registered_object",
    "register_keras_serializable",
    "register_serializable",
]

_GLOBAL_CUSTOM_OBJECTS: dict = {}  # registered name -> object
_GLOBAL_CUSTOM_NAMES: dict = {}  # object -> registered name


# -- custom object scopes ---------------------------------------------------------------------

_scope_state = threading.local()


def _scope_dict():
    return getattr(_scope_state, "objects", {})


class CustomObjectScope:
    """Exposes custom classes and functions to deserialization inside a `with` block.

    Inside the block, `deserialize`, `load_model` and the `get()` functions of each kind
    resolve the given names. Scopes nest; inner names win. `custom_object_scope` is the
    same class.

    Args:
        custom_objects: Dict of `{name: object}`. More dicts may be passed positionally.

    Example:

    >>> import rnnkit as keras
    >>> def my_activation(x):
    ...     return keras.ops.relu(x)
    >>> with keras.saving.custom_object_scope({"my_activation": my_activation}):
    ...     layer = keras.layers.Dense(2, activation="my_activation")
    >>> layer.activation is my_activation
    True
    """

    def __init__(self, custom_objects=None, *more):
        merged = {}
        for d in (custom_objects, *more):
            if d:
                merged.update(d)
        self.custom_objects = merged
        self._backup = None

    def __enter__(self):
        self._backup = _scope_dict()
        _scope_state.objects = {**self._backup, **self.custom_objects}
        return self

    def __exit__(self, *exc):
        _scope_state.objects = self._backup
        return False


custom_object_scope = CustomObjectScope


# -- the registry ------------------------------------------------------------------------------

def get_custom_objects():
    """Returns the live dict of registered objects, `{"package>name": object}`.

    Changes to the dict change the registry.

    Returns:
        The dict.
    """
    return _GLOBAL_CUSTOM_OBJECTS


def register_keras_serializable(package="Custom", name=None):
    """Decorator that registers a class or function for serialization as `"package>name"`.

    A registered object is found by name when a config or saved model refers to it, with no
    `custom_objects` needed. Registering a name again replaces its entry silently
    (re-running a notebook cell that defines the class), as Keras does:
    `get_registered_object` then returns the new object. `register_serializable` is the
    same function.

    Args:
        package: String, the package part of the name. Defaults to `"Custom"`.
        name: Optional string. Defaults to the object's `__name__`.

    Returns:
        The decorator, which returns its argument unchanged.

    Raises:
        ValueError: If `package` is not a string, or (when decorating) the class has no
            `get_config()`.

    Example:

    >>> import rnnkit as keras
    >>> @keras.saving.register_keras_serializable(package="DocExample")
    ... class Double(keras.layers.Layer):
    ...     def call(self, x):
    ...         return keras.ops.multiply(x, 2.0)
    >>> keras.saving.get_registered_name(Double)
    'DocExample>Double'
    >>> keras.saving.get_registered_object("DocExample>Double") is Double
    True
    """
    if not isinstance(package, str):
        raise ValueError(f"`package` must be a string. Received: package={package!r}")

    def decorator(arg):
        obj_name = name if name is not None else arg.__name__
        registered_name = f"{package}>{obj_name}"
        if inspect.isclass(arg) and not hasattr(arg, "get_config"):
            raise ValueError("Cannot register a class that does not have a get_config() method.")
        # A name registered again (a notebook cell re-run) now means the new object, as in
        # Keras; the old object keeps its name for get_registered_name.
        _GLOBAL_CUSTOM_OBJECTS[registered_name] = arg
        _GLOBAL_CUSTOM_NAMES[arg] = registered_name
        return arg

    return decorator


register_serializable = register_keras_serializable


def get_registered_name(obj):
    """Returns the name an object is registered under.

    Args:
        obj: A class or function.

    Returns:
        Its registered name (`"package>name"`), or its `__name__` when it is not
        registered.
    """
    try:
        if obj in _GLOBAL_CUSTOM_NAMES:
            return _GLOBAL_CUSTOM_NAMES[obj]
    except TypeError:  # unhashable
        pass
    return obj.__name__


def _registered_name_or_none(obj):
    try:
        return _GLOBAL_CUSTOM_NAMES.get(obj)
    except TypeError:
        return None


def get_registered_object(name, custom_objects=None, module_objects=None):
    """Returns the object registered (or otherwise known) under a name.

    The name is looked up in the active `custom_object_scope`, the registry,
    `custom_objects`, then `module_objects`.

    Args:
        name: String.
        custom_objects: Optional dict of names to objects.
        module_objects: Optional dict of names to objects (a module's built-ins).

    Returns:
        The object, or `None` when no source has the name.
    """
    scope = _scope_dict()
    if name in scope:
        return scope[name]
    if name in _GLOBAL_CUSTOM_OBJECTS:
        return _GLOBAL_CUSTOM_OBJECTS[name]
    if custom_objects and name in custom_objects:
        return custom_objects[name]
    if module_objects and name in module_objects:
        return module_objects[name]
    return None


