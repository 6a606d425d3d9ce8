"""The object registry and generic (de)serialization (`keras.saving`).

- `register_keras_serializable(package="Custom", name=None)` (alias `register_serializable`)
  registers a class or function under `"package>name"`.
- `get_registered_name(obj)`, `get_registered_object(name, custom_objects, module_objects)`,
  `get_custom_objects()`.
- `custom_object_scope(dict)` (alias `CustomObjectScope`): names visible to `deserialize`
  inside the `with` block (scopes nest; inner names win).
- `serialize(obj)` / `deserialize(config, custom_objects=None)` (aliases
  `serialize_keras_object`, `serialize_rnnkit_object`, `deserialize_keras_object`,
  `deserialize_rnnkit_object`), in Keras 3's format:
  `{'module': 'rnnkit.initializers', 'class_name': 'GlorotUniform', 'config': {...},
  'registered_name': None}`. Configs written by Keras itself (`'module': 'keras.layers'`, ...)
  resolve to the rnnkit class of the same name.

Configs are plain Python (JSON-compatible apart from tuples).
"""

from __future__ import annotations

import base64
import importlib
import inspect
import marshal
import threading
import types

import numpy as np

__all__ = [
    "CustomObjectScope",
    "custom_object_scope",
    "deserialize",
    "deserialize_keras_object",
    "deserialize_rnnkit_object",
    "get_custom_objects",
    "get_registered_name",
    "get_registered_object",
    "load_model",
    "register_keras_serializable",
    "save_model",
    "register_serializable",
    "serialize",
    "serialize_keras_object",
    "serialize_rnnkit_object",
]

_GLOBAL_CUSTOM_OBJECTS: dict = {}  # registered name -> object
_GLOBAL_CUSTOM_NAMES: dict = {}  # object -> registered name

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


def deserialize(config, custom_objects=None, safe_mode=True, module_objects=None):
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
        safe_mode: Bool. With `True` (the default) a serialized lambda is refused, since
            loading it runs arbitrary code.
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
    with CustomObjectScope(custom_objects or {}):
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


def save_model(model, filepath, overwrite=True, **kwargs):
    """Saves a model to a `.keras` file; the same as `model.save(filepath)`.

    The file is a zip holding the model's config (JSON, with the compile arguments when the
    model is compiled) and its weights (`.npz`); nothing is pickled.

    Args:
        model: The model.
        filepath: Path ending in `.keras`.
        overwrite: Bool, overwrite an existing file. Defaults to `True`.
        **kwargs: Accepted for Keras compatibility; ignored.

    Raises:
        ValueError: If `filepath` does not end in `.keras`.
        FileExistsError: If the file exists and `overwrite` is `False`.
    """
    model.save(filepath, overwrite=overwrite)


def load_model(filepath, custom_objects=None, compile=True, safe_mode=True):
    """Loads a model saved by `model.save()` (`rnnkit.models.load_model` is the same).

    Classes are looked up by name (built-ins, registered classes, `custom_objects`), never
    unpickled; the weights are then assigned and, with `compile`, the model is compiled
    with the saved optimizer, loss and metrics.

    Args:
        filepath: Path of a `.keras` file.
        custom_objects: Optional dict of names to custom classes and functions.
        compile: Bool, compile the model when the file holds compile arguments. Defaults
            to `True`.
        safe_mode: Accepted for Keras compatibility; currently not used (a saved lambda is
            always refused).

    Returns:
        The model, with its weights.

    Raises:
        ValueError: If `filepath` does not end in `.keras`, a class cannot be found, or the
            weights do not match the architecture.
        FileNotFoundError: If the file does not exist.

    Example:

    >>> import os, tempfile, numpy as np, rnnkit as keras
    >>> model = keras.Sequential([keras.Input((5, 3)), keras.layers.LSTM(2)])
    >>> path = os.path.join(tempfile.mkdtemp(), "model.keras")
    >>> model.save(path)
    >>> restored = keras.saving.load_model(path)
    >>> x = np.ones((1, 5, 3), dtype="float32")
    >>> bool(np.allclose(restored.predict(x, verbose=0), model.predict(x, verbose=0)))
    True
    """
    from rnnkit.models import load_model as _load
    return _load(filepath, custom_objects=custom_objects, compile=compile, safe_mode=safe_mode)
