"""(De)serialization of objects to and from plain config data, in Keras 3's format.

- `serialize(obj)` / `deserialize(config, custom_objects=None, safe_mode=True)` (aliases
  `serialize_keras_object`, `serialize_rnnkit_object`, `deserialize_keras_object`,
  `deserialize_rnnkit_object`):
  `{'module': 'rnnkit.initializers', 'class_name': 'GlorotUniform', 'config': {...},
  'registered_name': None}`. Configs written by Keras itself (`'module': 'keras.layers'`, ...)
  resolve to the rnnkit class of the same name.
- `SafeModeScope(safe_mode)`: the safe mode that nested `deserialize` calls use (a lambda is
  refused in safe mode, the default).

Nothing here imports a module named by a config unless it is an rnnkit module: a config can
only name classes and functions that rnnkit or the caller already knows.
"""

from __future__ import annotations

import base64
import importlib
import inspect
import marshal
import threading
import types

import numpy as np

from rnnkit.saving.object_registration import (
    _GLOBAL_CUSTOM_NAMES,
    _GLOBAL_CUSTOM_OBJECTS,
    CustomObjectScope,
    _registered_name_or_none,
    _scope_dict,
    get_registered_name,
    get_registered_object,
)

__all__ = [
    "DeserializationError",
    "SafeModeScope",
    "deserialize",
    "deserialize_keras_object",
    "deserialize_rnnkit_object",
    "serialize",
    "serialize_keras_object",
    "serialize_rnnkit_object",
]

# Modules searched for a class or function when a config names none (legacy Keras 2 configs,
# built-in functions serialized as 'builtins').
_BUILTIN_MODULES = ("layers", "activations", "initializers", "regularizers", "constraints",
                    "losses", "metrics", "optimizers", "random", "models", "ops")

_PLAIN_TYPES = (str, int, float, bool)


class DeserializationError(ValueError, TypeError):
    """Raised when a config names a class or function that cannot be found.

    It is both a `ValueError` (as rnnkit documents) and a `TypeError` (what Keras raises),
    so either `except` clause catches it.
    """


_safe_mode_state = threading.local()


class SafeModeScope:
    """Sets the safe mode of the `deserialize` calls made inside a `with` block.

    `load_model(..., safe_mode=False)` enters `SafeModeScope(False)` so that the
    `from_config` methods of nested objects, which call `deserialize` without a
    `safe_mode` argument, follow the caller's choice. Outside any scope, safe mode is on.

    Args:
        safe_mode: Bool. `True` refuses serialized lambdas (their bytecode would run).
    """

    def __init__(self, safe_mode=True):
        if not isinstance(safe_mode, bool):
            raise TypeError(f"`safe_mode` must be a bool, got {safe_mode!r}")
        self.safe_mode = safe_mode
        self._backup = None

    def __enter__(self):
        self._backup = getattr(_safe_mode_state, "value", None)
        _safe_mode_state.value = self.safe_mode
        return self

    def __exit__(self, *exc):
        _safe_mode_state.value = self._backup
        return False


_GLOBAL_SAFE_MODE = [True]


def enable_unsafe_deserialization():
    """Turns safe mode off for every later `deserialize` call made outside a
    `SafeModeScope` and without a `safe_mode` argument (Keras'
    `keras.config.enable_unsafe_deserialization`)."""
    _GLOBAL_SAFE_MODE[0] = False


def _effective_safe_mode(safe_mode):
    """Keras' rule: an enclosing `SafeModeScope`, then `enable_unsafe_deserialization()`,
    win over the argument; the argument (default `True`) applies otherwise."""
    value = getattr(_safe_mode_state, "value", None)
    if value is not None:
        return value
    if not _GLOBAL_SAFE_MODE[0]:
        return False
    return True if safe_mode is None else bool(safe_mode)


def in_safe_mode():
    """Returns the safe mode in force: the innermost `SafeModeScope`'s, else `True` (or
    `False` after `enable_unsafe_deserialization()`)."""
    value = getattr(_safe_mode_state, "value", None)
    return _GLOBAL_SAFE_MODE[0] if value is None else value


# -- serialize ---------------------------------------------------------------------------------

def _public_module(cls):
    """`rnnkit.layers` for a class defined in `rnnkit.layers.rnn.lstm` when `rnnkit.layers`
    exports it; the defining module otherwise."""
    module = cls.__module__
    if module.startswith("rnnkit."):
        public = ".".join(module.split(".")[:2])
        if public != module:
            try:
                if getattr(importlib.import_module(public), cls.__name__, None) is cls:
                    return public
            except ImportError:
                pass
    return module


def _serialize_function(fn):
    if getattr(fn, "__name__", None) == "<lambda>":
        code = marshal.dumps(fn.__code__)
        return {"module": fn.__module__, "class_name": "__lambda__",
                "config": {"value": base64.b64encode(code).decode("ascii")},
                "registered_name": None}
    registered = _registered_name_or_none(fn)
    return registered if registered is not None else fn.__name__


def serialize(obj):
    """Turns an object into plain Python config data, in Keras 3's format.

    - `None`, str, int, float, bool: unchanged; NumPy scalars become Python numbers.
    - list, tuple, dict: serialized element by element (the container type is kept).
    - NumPy arrays: `{"class_name": "__numpy__", "config": {"value": [...], "dtype": ...}}`.
    - Objects with `get_config()`: `{"module", "class_name", "config", "registered_name"}`
      (plus `build_config` / `compile_config` when the object provides them).
    - Functions: their registered name, else their `__name__` (e.g. `"tanh"`); a lambda is
      saved as its bytecode, which `deserialize` loads only with `safe_mode=False`.

    The aliases `serialize_keras_object` and `serialize_rnnkit_object` are the same
    function.

    Args:
        obj: The object.

    Returns:
        JSON-compatible data (apart from tuples).

    Raises:
        TypeError: If `obj` cannot be serialized.

    Example:

    >>> import rnnkit as keras
    >>> keras.saving.serialize(keras.initializers.Constant(2.0))
    {'module': 'rnnkit.initializers', 'class_name': 'Constant', 'config': {'value': 2.0}, 'registered_name': None}
    """
    if obj is None or isinstance(obj, _PLAIN_TYPES):
        return obj
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.dtype):
        return str(obj)
    if isinstance(obj, bytes):
        return {"class_name": "__bytes__", "config": {"value": obj.decode("utf-8")}}
    if isinstance(obj, np.ndarray):
        if obj.ndim == 0:
            return obj.item()
        return {"class_name": "__numpy__",
                "config": {"value": obj.tolist(), "dtype": str(obj.dtype)}}
    if isinstance(obj, (list, tuple)):
        items = [serialize(x) for x in obj]
        return tuple(items) if isinstance(obj, tuple) else items
    if isinstance(obj, dict):
        return {k: serialize(v) for k, v in obj.items()}
    if obj is Ellipsis:
        return {"class_name": "__ellipsis__", "config": {}}
    if isinstance(obj, slice):
        return {"class_name": "__slice__",
                "config": {"start": serialize(obj.start), "stop": serialize(obj.stop),
                           "step": serialize(obj.step)}}
    if inspect.isclass(obj):
        registered = _registered_name_or_none(obj)
        return registered if registered is not None else obj.__name__
    if isinstance(obj, (types.FunctionType, types.BuiltinFunctionType, np.ufunc)):
        return _serialize_function(obj)
    if hasattr(obj, "get_config"):
        cls = type(obj)
        try:
            inner = obj.get_config()
        except NotImplementedError as e:
            raise TypeError(
                f"Cannot serialize {obj!r}: its `get_config()` is not implemented.") from e
        module = _public_module(cls)
        if module == "rnnkit" or module.startswith("rnnkit."):
            registered_name = _registered_name_or_none(cls)
        else:
            registered_name = get_registered_name(cls)
        config = {"module": module, "class_name": cls.__name__, "config": serialize(inner),
                  "registered_name": registered_name}
        get_build = getattr(obj, "get_build_config", None)
        if callable(get_build):
            build_config = get_build()
            if build_config is not None:
                config["build_config"] = serialize(build_config)
        get_compile = getattr(obj, "get_compile_config", None)
        if callable(get_compile):
            compile_config = get_compile()
            if compile_config is not None:
                config["compile_config"] = serialize(compile_config)
        return config
    if callable(obj) and hasattr(obj, "__name__"):
        return _serialize_function(obj)
    raise TypeError(
        f"Cannot serialize object {obj!r} of type {type(obj)}. To be serializable, a class "
        "must implement the `get_config()` method.")


serialize_keras_object = serialize
serialize_rnnkit_object = serialize


# -- deserialize -------------------------------------------------------------------------------

def _candidate_modules(module):
    """rnnkit modules to search for a config's `module` ('keras.layers' -> rnnkit.layers)."""
    if not module:
        return []
    parts = module.split(".")
    if parts[0] == "keras":
        parts = ["rnnkit"] + parts[1:]
        if len(parts) > 1 and parts[1] == "src":
            parts = ["rnnkit"] + parts[2:]
    elif parts[0] != "rnnkit":
        return []  # never import arbitrary modules named by a config
    out = []
    for n in range(len(parts), 0, -1):
        out.append(".".join(parts[:n]))
    return out


def _lookup_in_modules(name, modules):
    for modname in modules:
        try:
            mod = importlib.import_module(modname)
        except ImportError:
            continue
        obj = vars(mod).get(name)
        if obj is not None:
            return obj
    return None


def _builtin_module_names():
    return [f"rnnkit.{m}" for m in _BUILTIN_MODULES] + ["rnnkit"]


def _registry_match_by_class_name(class_name):
    if class_name in _GLOBAL_CUSTOM_OBJECTS:
        return _GLOBAL_CUSTOM_OBJECTS[class_name]
    suffix = ">" + class_name
    matches = [obj for key, obj in _GLOBAL_CUSTOM_OBJECTS.items() if key.endswith(suffix)]
    if len(matches) == 1:
        return matches[0]
    return None


def _lookup_name(name, custom_objects, module_objects):
    """A string name in custom_objects, the scope, the registry, then module_objects."""
    for d in (custom_objects, _scope_dict(), _GLOBAL_CUSTOM_OBJECTS, module_objects):
        if d and isinstance(name, str) and name in d:
            return d[name]
    return None


def _not_found(kind, name, config):
    return DeserializationError(
        f"Could not locate {kind} '{name}'. Make sure custom classes and functions are "
        "decorated with `@rnnkit.saving.register_keras_serializable()` (and imported before "
        "loading), or pass them in `custom_objects` (or a `custom_object_scope`). "
        f"Full object config: {config}")


def _retrieve_class(config, custom_objects, module_objects):
    class_name = config["class_name"]
    registered_name = config.get("registered_name")
    module = config.get("module")
    scope = _scope_dict()
    # 1-2. custom_objects, then the active scope: registered name, then class name.
    for d in (custom_objects, scope):
        if d:
            if registered_name is not None and registered_name in d:
                return d[registered_name]
            if class_name in d:
                return d[class_name]
    # 3. the registry, by registered name.
    if registered_name is not None and registered_name in _GLOBAL_CUSTOM_OBJECTS:
        return _GLOBAL_CUSTOM_OBJECTS[registered_name]
    # 4. module_objects given by the caller (e.g. the initializers' aliases).
    if module_objects and class_name in module_objects:
        return module_objects[class_name]
    # 5. the built-in module ('keras.X' and 'rnnkit.X' both mean rnnkit.X).
    obj = _lookup_in_modules(class_name, _candidate_modules(module))
    if obj is not None:
        return obj
    # 6. the registry, by class name.
    obj = _registry_match_by_class_name(class_name)
    if obj is not None:
        return obj
    # 7. legacy configs without a module: search the built-in modules.
    if not module:
        obj = _lookup_in_modules(class_name, _builtin_module_names())
        if obj is not None:
            return obj
    raise _not_found("class", class_name, config)


def _retrieve_function(config, custom_objects, module_objects):
    fn_name = config.get("config")
    registered_name = config.get("registered_name") or fn_name
    for name in (registered_name, fn_name):
        obj = _lookup_name(name, custom_objects, module_objects)
        if obj is not None:
            return obj
    module = config.get("module")
    obj = _lookup_in_modules(fn_name, _candidate_modules(module))
    if obj is None and (not module or module == "builtins"):
        obj = _lookup_in_modules(fn_name, _builtin_module_names())
    if obj is None and isinstance(fn_name, str):
        obj = _registry_match_by_class_name(fn_name)
    if obj is None:
        raise _not_found("function", fn_name, config)
    return obj


def _load_lambda(config, safe_mode):
    if safe_mode:
        raise ValueError(
            "Requested the deserialization of a `lambda` object. This carries a potential risk "
            "of arbitrary code execution and thus it is disallowed by default. If you trust "
            "the source of the config, pass `safe_mode=False` to allow `lambda` loading.")
    code = marshal.loads(base64.b64decode(config["config"]["value"]))
    return types.FunctionType(code, globals())


def deserialize(config, custom_objects=None, safe_mode=None, module_objects=None):
    """Rebuilds an object from `serialize()` output (or from a config written by Keras 3).

    A dict with a `class_name` is resolved, in order, through `custom_objects` (by
    registered name, then class name), the active `custom_object_scope`, the registry
    (`registered_name`), `module_objects`, the built-in module named by `module`
    (`"rnnkit.X"` or `"keras.X"` both mean `rnnkit.X`), then the registry by class name;
    the instance is `cls.from_config(config["config"])`, built inside a scope holding
    `custom_objects` so that nested objects resolve too. A string is looked up as a name
    and returned unchanged when nothing has it. Lists, tuples and other dicts are
    deserialized element by element. The aliases `deserialize_keras_object` and
    `deserialize_rnnkit_object` are the same function.

    Args:
        config: The serialized data.
        custom_objects: Optional dict of names to custom classes and functions.
        safe_mode: Bool. With `True` a serialized lambda is refused, since loading it
            runs arbitrary code. As in Keras, an enclosing `SafeModeScope` (and, outside
            any, `enable_unsafe_deserialization()`) takes precedence; else it defaults to
            `True`.
        module_objects: Optional dict of names to objects, searched before the built-in
            modules.

    Returns:
        The rebuilt object.

    Raises:
        ValueError: If a class or function cannot be found (a `DeserializationError`, also
            a `TypeError`), or a lambda is loaded in safe mode.
        TypeError: If the class has no `from_config()` or it fails.

    Example:

    >>> import rnnkit as keras
    >>> layer = keras.saving.deserialize(keras.saving.serialize(keras.layers.Dense(3)))
    >>> type(layer).__name__, layer.units
    ('Dense', 3)
    """
    safe_mode = _effective_safe_mode(safe_mode)
    if config is None:
        return None
    if isinstance(config, str):
        obj = _lookup_name(config, custom_objects, module_objects)
        return obj if obj is not None else config
    if isinstance(config, _PLAIN_TYPES):
        return config
    if isinstance(config, list):
        return [deserialize(x, custom_objects, safe_mode, module_objects) for x in config]
    if isinstance(config, tuple):
        return tuple(deserialize(x, custom_objects, safe_mode, module_objects) for x in config)
    if not isinstance(config, dict):
        if isinstance(config, np.generic):
            return config.item()
        return config  # already an object
    if "class_name" not in config:
        return {k: deserialize(v, custom_objects, safe_mode, module_objects)
                for k, v in config.items()}

    class_name = config["class_name"]
    inner = config.get("config")
    if class_name == "__numpy__":
        return np.array(inner["value"], dtype=inner["dtype"])
    if class_name == "__bytes__":
        return inner["value"].encode("utf-8")
    if class_name == "__ellipsis__":
        return Ellipsis
    if class_name == "__slice__":
        return slice(deserialize(inner["start"]), deserialize(inner["stop"]),
                     deserialize(inner["step"]))
    if class_name == "__lambda__":
        return _load_lambda(config, safe_mode)
    if class_name == "__tuple__":  # older Keras format
        return tuple(deserialize(x, custom_objects, safe_mode, module_objects)
                     for x in inner["value"])
    if class_name == "function":
        return _retrieve_function(config, custom_objects, module_objects)

    cls = _retrieve_class(config, custom_objects, module_objects)
    if not inspect.isclass(cls):
        return cls  # a function (or an object) registered under that name
    if not hasattr(cls, "from_config"):
        raise TypeError(
            f"Unable to reconstruct an instance of '{class_name}' because the class is missing "
            f"a `from_config()` method. Full object config: {config}")
    with CustomObjectScope(custom_objects or {}), SafeModeScope(bool(safe_mode)):
        try:
            instance = cls.from_config(inner if inner is not None else {})
        except TypeError as e:
            raise TypeError(
                f"{cls} could not be deserialized properly. Please ensure that components that "
                "are Python object instances (layers, models, etc.) returned by `get_config()` "
                "are explicitly deserialized in the class's `from_config()` method.\n\n"
                f"config={config}.\n\nException encountered: {e}") from e
        build_config = config.get("build_config")
        if build_config and hasattr(instance, "build_from_config") \
                and not getattr(instance, "built", False):
            instance.build_from_config(build_config)
        compile_config = config.get("compile_config")
        if compile_config and hasattr(instance, "compile_from_config"):
            instance.compile_from_config(compile_config)
    return instance


deserialize_keras_object = deserialize
deserialize_rnnkit_object = deserialize


# -- the `get` / `deserialize` of the built-in kinds (initializers, constraints, ...) -------------
# One implementation, so that every kind follows Keras' identifier rules and words its errors
# the same way.

def _deserialize_instance(config, custom_objects, module_objects):
    """`deserialize`, where a bare name stands for the default instance of its class."""
    obj = deserialize(config, custom_objects=custom_objects, module_objects=module_objects)
    if isinstance(config, str) and inspect.isclass(obj):
        obj = obj()  # a bare name means the default instance, as in Keras
    return obj


def _config_repr(obj):
    """`ClassName(key=value, ...)` from `obj.get_config()`; just `ClassName()` when the class
    does not implement `get_config()`, so that printing never fails."""
    try:
        args = ", ".join(f"{k}={v!r}" for k, v in obj.get_config().items())
    except NotImplementedError:
        args = ""
    return f"{type(obj).__name__}({args})"


def _get_object(identifier, kind, module_objects, deserialize_fn,
                dict_errors=(DeserializationError,)):
    """Keras' `get(identifier)` for one kind of object ('initializer', 'loss', ...).

    None gives None; a string is looked up (scope, registry, `module_objects`); a dict goes
    through `deserialize_fn` (the kind's own `deserialize`), with `dict_errors` reworded as
    ValueError; a class gives its default instance; any other callable passes through.
    """
    if identifier is None:
        return None
    if isinstance(identifier, str):
        obj = get_registered_object(identifier, module_objects=module_objects)
    elif isinstance(identifier, dict):
        try:
            obj = deserialize_fn(identifier)
        except dict_errors as e:
            raise ValueError(f"Could not interpret {kind} identifier: {identifier}. {e}") from e
    else:
        obj = identifier
    if callable(obj):
        if inspect.isclass(obj):
            obj = obj()
        return obj
    raise ValueError(f"Could not interpret {kind} identifier: {identifier}")


