"""Lambda: wraps an arbitrary function of the inputs as a layer.

Serialization follows Keras 3: a Python `lambda` is saved as its marshalled bytecode (base64),
its defaults and its closure values, under `{"class_name": "__lambda__", ...}`; a named
function is saved by name (`{"class_name": "function", ...}`) and found again through the
registry (`rnnkit.saving.register_keras_serializable`) or `custom_objects`.

Loading a lambda runs code taken from the file, so `Lambda.from_config` refuses it unless the
caller opts in, as Keras' safe mode does: `Lambda.from_config(config, safe_mode=False)`,
`rnnkit.saving.load_model(path, safe_mode=False)` (which enters
`rnnkit.saving.SafeModeScope(False)`), or `rnnkit.config.enable_unsafe_deserialization()`.
"""

from __future__ import annotations

import base64
import inspect
import marshal
import types

import numpy as np

from rnnkit import tree
from rnnkit.layers.layer import Layer

_LAMBDA_ERROR = (
    "Requested the deserialization of a `Lambda` layer whose `function` is a Python lambda. "
    "This carries a potential risk of arbitrary code execution and thus it is disallowed by "
    "default. If you trust the source of the artifact, you can override this error by "
    "passing `safe_mode=False` to the loading function (or to `Lambda.from_config`), or "
    "calling `rnnkit.config.enable_unsafe_deserialization()`.")


def _is_lambda(fn):
    return isinstance(fn, types.LambdaType) and fn.__name__ == "<lambda>"


def _function_to_config(fn):
    if _is_lambda(fn):
        closure = tuple(c.cell_contents for c in fn.__closure__) if fn.__closure__ else None
        return {"class_name": "__lambda__",
                "config": {"code": base64.b64encode(marshal.dumps(fn.__code__)).decode("ascii"),
                           "defaults": fn.__defaults__, "closure": closure}}
    if callable(fn):
        from rnnkit import saving
        registered = saving.get_registered_name(fn)
        name = getattr(fn, "__name__", None) or type(fn).__name__
        return {"module": getattr(fn, "__module__", None), "class_name": "function",
                "config": name, "registered_name": registered}
    raise ValueError(f"Invalid input type for serialization. Received: {fn!r} of type "
                     f"{type(fn).__name__}.")


def _load_globals():
    """The globals a loaded lambda sees: NumPy and rnnkit (also as `keras`, and `ops`)."""
    import builtins

    import rnnkit
    return {"__builtins__": builtins, "np": np, "numpy": np, "rnnkit": rnnkit,
            "keras": rnnkit, "ops": rnnkit.ops}


def _make_cell(value):
    return (lambda: value).__closure__[0]


def _lambda_from_config(inner):
    code = marshal.loads(base64.b64decode(inner["code"]))
    defaults = inner.get("defaults")
    closure = inner.get("closure")
    if closure is not None:
        closure = tuple(_make_cell(v) for v in closure)
    return types.FunctionType(code, _load_globals(), code.co_name,
                              tuple(defaults) if defaults is not None else None, closure)


def _safe_mode(safe_mode):
    """Keras' rule: the explicit argument, else the safe mode in force (the innermost
    `SafeModeScope`'s, else off only after `enable_unsafe_deserialization()`)."""
    if safe_mode is not None:
        return bool(safe_mode)
    from rnnkit.saving import serialization_lib
    return serialization_lib.in_safe_mode() is not False


class Lambda(Layer):
    """Wraps a function of the inputs as a layer: `Lambda(lambda x: x ** 2)`.

    The function is called as `function(inputs, **arguments)`, plus `mask=` and
    `training=` when its signature names them. Write it with `rnnkit.ops` so it works
    under a GradientTape and on symbolic tensors. A Lambda has no weights (variables
    created inside the function are not tracked). Subclass `Layer` for anything stateful.

    Masks: without `mask`, the output has no mask (as in Keras); `mask` may be a constant
    mask or a callable `mask(inputs, previous_mask)` returning the output mask.

    Serialization: `get_config` stores a `lambda` as its bytecode (base64), defaults and
    closure, and a named function by name (it must then be registered with
    `rnnkit.saving.register_keras_serializable` or given in `custom_objects` to load).
    Loading a lambda is refused unless `safe_mode=False` is passed (to `from_config` or to
    `rnnkit.saving.load_model`) or `rnnkit.config.enable_unsafe_deserialization()` was
    called. The bytecode only loads in the Python version that wrote it; a loaded lambda
    sees `np`, `rnnkit`, `keras` (rnnkit) and `ops` as globals.

    Args:
        function: The callable.
        output_shape: Optional output shape (without the batch axis), a nested structure
            of shapes, or a callable `input_shape -> output_shape` (with batch axis). When
            `None`, a functional model infers it by running the function on zeros.
        mask: Optional constant output mask, or a callable `(inputs, mask) -> mask`.
        arguments: Optional dict of extra keyword arguments for `function`.
        **kwargs: Base layer arguments (`name`, `dtype`, ...).

    Raises:
        TypeError: If `function` is not callable or `arguments` is not a dict.

    Example:

    >>> import numpy as np, rnnkit as keras
    >>> layer = keras.layers.Lambda(lambda x, k: x * k, arguments={"k": 3.0})
    >>> layer(np.array([[1.0, 2.0]])).tolist()
    [[3.0, 6.0]]
    >>> config = layer.get_config()
    >>> config["function"]["class_name"]
    '__lambda__'
    >>> keras.layers.Lambda.from_config(config)
    Traceback (most recent call last):
    ...
    ValueError: Requested the deserialization of a `Lambda` layer whose `function` is ...
    >>> restored = keras.layers.Lambda.from_config(config, safe_mode=False)
    >>> restored(np.array([[1.0, 2.0]])).tolist()
    [[3.0, 6.0]]
    """

    def __init__(self, function, output_shape=None, mask=None, arguments=None, **kwargs):
        if not callable(function):
            raise TypeError(f"Argument `function` of Lambda must be callable, got "
                            f"{function!r} of type {type(function).__name__}")
        if arguments is not None and not isinstance(arguments, dict):
            raise TypeError(f"Argument `arguments` of Lambda must be a dict or None, got "
                            f"{arguments!r}")
        super().__init__(**kwargs)
        self.function = function
        self.arguments = dict(arguments or {})
        self.mask = mask
        self.supports_masking = mask is not None
        self._output_shape = output_shape
        try:
            params = inspect.signature(function).parameters
        except (TypeError, ValueError):
            params = {}
        self._fn_expects_training_arg = "training" in params
        self._fn_expects_mask_arg = "mask" in params
        self.built = True   # no weights: built at creation, as Keras does

    def call(self, inputs, mask=None, training=None):
        """Returns `function(inputs, **arguments)` (with `mask` / `training` when the
        function takes them)."""
        kwargs = dict(self.arguments)
        if self._fn_expects_mask_arg:
            kwargs["mask"] = mask
        if self._fn_expects_training_arg:
            kwargs["training"] = training
        return self.function(inputs, **kwargs)

    def compute_mask(self, inputs, previous_mask=None):
        """The `mask` argument: called as `mask(inputs, previous_mask)` when callable,
        returned as is otherwise (`None`: no output mask)."""
        if callable(self.mask):
            return self.mask(inputs, previous_mask)
        return self.mask

    def compute_output_shape(self, input_shape):
        """The output shape from `output_shape` (a callable gets the input shape).

        Raises:
            NotImplementedError: Without `output_shape` (a functional model then runs the
                function on zeros to find it).
        """
        if self._output_shape is None:
            raise NotImplementedError(
                "We could not automatically infer the shape of the Lambda's output. Please "
                "specify the `output_shape` argument for this Lambda layer.")
        if callable(self._output_shape):
            return self._output_shape(input_shape)
        batch = tree.flatten(input_shape)[0] if input_shape else None
        return tree.map_shape_structure(lambda s: (batch,) + tuple(s), self._output_shape)

    def get_config(self):
        from rnnkit import saving
        config = {"function": _function_to_config(self.function)}
        if self._output_shape is not None:
            config["output_shape"] = _function_to_config(self._output_shape) \
                if callable(self._output_shape) else self._output_shape
        if self.mask is not None:
            config["mask"] = _function_to_config(self.mask) if callable(self.mask) \
                else saving.serialize(self.mask)
        config["arguments"] = saving.serialize(self.arguments)
        return {**super().get_config(), **config}

    @classmethod
    def from_config(cls, config, custom_objects=None, safe_mode=None):
        """Creates a Lambda from `get_config()`'s dict.

        Args:
            config: The dict.
            custom_objects: Optional dict of names to functions (for named functions).
            safe_mode: Optional bool. `None` (the default) follows the enclosing
                `rnnkit.saving.SafeModeScope` (`load_model`'s `safe_mode`) and
                `rnnkit.config.enable_unsafe_deserialization()`; safe mode is on otherwise.

        Returns:
            A new Lambda layer.

        Raises:
            ValueError: If the config holds a serialized lambda and safe mode is on.
        """
        from rnnkit import saving
        safe = _safe_mode(safe_mode)
        config = dict(config)

        def load(fn_config):
            if isinstance(fn_config, dict) and fn_config.get("class_name") == "__lambda__":
                if safe:
                    raise ValueError(_LAMBDA_ERROR)
                return _lambda_from_config(fn_config["config"])
            return saving.deserialize(fn_config, custom_objects=custom_objects)

        config["function"] = load(config["function"])
        if "output_shape" in config:
            shape = config["output_shape"]
            if isinstance(shape, dict):
                config["output_shape"] = load(shape)
            elif isinstance(shape, list) and all(d is None or isinstance(d, int) for d in shape):
                config["output_shape"] = tuple(shape)
        if isinstance(config.get("mask"), dict) and \
                config["mask"].get("class_name") in ("__lambda__", "function"):
            config["mask"] = load(config["mask"])
        if "arguments" in config:
            config["arguments"] = saving.deserialize(config["arguments"],
                                                     custom_objects=custom_objects)
        return cls(**config)
