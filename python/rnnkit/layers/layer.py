"""`Layer`: the base class of every rnnkit layer and of users' own cells.

It does what Keras' base layer does for a user: unique names (`lstm`, `lstm_1`, ...), weights
created with `add_weight` and tracked through sub-layers, `build` on the first call, weight paths
(`lstm/lstm_cell/kernel`), `get_weights`/`set_weights`, the `losses` of regularizers,
`get_config`/`from_config`, and the `training` flag handed down to nested calls.
"""

from __future__ import annotations

import collections
import inspect
import re
import threading
import warnings

import numpy as np

from rnnkit import tree
from rnnkit.variables import Variable

SUPPORTED_DTYPES = ("float32", "float64")

_uids = collections.defaultdict(int)
_local = threading.local()


def _scope_stack():
    if not hasattr(_local, "scopes"):
        _local.scopes = []
    return _local.scopes


def _training_stack():
    if not hasattr(_local, "training"):
        _local.training = []
    return _local.training


def current_training():
    """The `training` value of the innermost enclosing layer call that set one (None if none)."""
    stack = _training_stack()
    return stack[-1] if stack else None


def to_snake_case(name):
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name).lower()


def unique_name(prefix):
    """`prefix` the first time, then `prefix_1`, `prefix_2`, ... (Keras' auto names)."""
    _uids[prefix] += 1
    count = _uids[prefix]
    return prefix if count == 1 else f"{prefix}_{count - 1}"


def standardize_dtype(dtype, argument="dtype"):
    if dtype is None:
        return "float32"
    if isinstance(dtype, dict):  # a serialized Keras DTypePolicy
        dtype = dtype.get("config", {}).get("name", dtype)
    name = getattr(dtype, "name", dtype)
    try:
        name = np.dtype(name).name
    except TypeError:
        raise ValueError(f"Argument `{argument}` must be a dtype name such as 'float32', "
                         f"got {dtype!r}") from None
    if name not in SUPPORTED_DTYPES:
        raise ValueError(f"Argument `{argument}` must be one of {SUPPORTED_DTYPES} "
                         f"(rnnkit computes in float32 or float64), got {name!r}")
    return name


def shape_of(value):
    """The shape of an array-like (a tuple of ints)."""
    shape = getattr(value, "shape", None)
    if shape is None:
        shape = np.shape(value)
    return tuple(int(s) for s in shape)


def _leaf_types():
    from rnnkit.autodiff import Tensor
    return (np.ndarray, Tensor, Variable)


_LEAF_TYPES = None
_SCALAR_TYPES = (bool, int, float, str, type(None))


def _all_concrete(args, kwargs):
    """True when no argument can hold a symbolic tensor: each is an array, a Tensor, a
    Variable or a plain scalar (the fast path of every eager call)."""
    global _LEAF_TYPES
    if _LEAF_TYPES is None:
        _LEAF_TYPES = _leaf_types()
    for value in args:
        if type(value) not in _LEAF_TYPES and type(value) not in _SCALAR_TYPES:
            return False
    for value in kwargs.values():
        if type(value) not in _LEAF_TYPES and type(value) not in _SCALAR_TYPES:
            return False
    return True


class InputSpec:
    """What a layer accepts: for now the rank (`ndim`), as Keras' `InputSpec(ndim=3)`."""

    def __init__(self, ndim=None, min_ndim=None):
        self.ndim = ndim
        self.min_ndim = min_ndim

    def check(self, layer, inputs):
        leaves = [inputs] if hasattr(inputs, "shape") else tree.flatten(inputs)
        for index, value in enumerate(leaves):
            shape = shape_of(value)
            if self.ndim is not None and len(shape) != self.ndim:
                raise ValueError(
                    f"Input {index} of layer '{layer.name}' is incompatible with the layer: "
                    f"expected ndim={self.ndim}, found ndim={len(shape)}. "
                    f"Full shape received: {shape}")
            if self.min_ndim is not None and len(shape) < self.min_ndim:
                raise ValueError(
                    f"Input {index} of layer '{layer.name}' is incompatible with the layer: "
                    f"expected min_ndim={self.min_ndim}, found ndim={len(shape)}. "
                    f"Full shape received: {shape}")


class Layer:
    """Base class: subclass it, create weights in `build(input_shape)` with `add_weight`, and
    compute in `call(...)` with `rnnkit.ops`.

    Args:
        name: unique by default (snake case of the class name, then `_1`, `_2`, ...).
        dtype: "float32" (default) or "float64"; weights and outputs use it.
        trainable: whether the layer's weights are trainable.
        activity_regularizer: applied to the layer's output; the loss goes to `losses`.
        input_shape / input_dim: accepted as in Keras (with its warning), for a model's first layer.
    """

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "build" in cls.__dict__:
            cls.build = _build_wrapper(cls.__dict__["build"])

    def __init__(self, *, activity_regularizer=None, trainable=True, dtype=None, autocast=True,
                 name=None, **kwargs):
        input_dim = kwargs.pop("input_dim", None)
        input_shape = kwargs.pop("input_shape", None)
        batch_size = kwargs.pop("batch_size", None)
        if input_dim is not None:
            input_shape = (input_dim,)
        if input_shape is not None:
            warnings.warn(
                "Do not pass an `input_shape`/`input_dim` argument to a layer. When using "
                "Sequential models, prefer using an `Input(shape)` object as the first layer "
                "in the model instead.", UserWarning, stacklevel=3)
        if kwargs:
            raise ValueError(
                f"Unrecognized keyword arguments passed to {type(self).__name__}: {kwargs}")
        if not isinstance(trainable, bool):
            raise ValueError(f"Argument `trainable` must be a bool, got {trainable!r}")
        if name is not None and not isinstance(name, str):
            raise TypeError(f"Argument `name` must be a string, got {type(name).__name__}")
        object.__setattr__(self, "_tracked_layers", [])
        self._own_weights = []
        self._losses = []
        self._input_shape_arg = None if input_shape is None else tuple(input_shape)
        self._batch_size_arg = batch_size
        self.name = name or unique_name(to_snake_case(type(self).__name__))
        self.dtype = standardize_dtype(dtype)
        self._trainable = trainable
        self.autocast = autocast
        self.built = False
        self.input_spec = None
        from rnnkit import regularizers
        self.activity_regularizer = regularizers.get(activity_regularizer)
        self._call_signature = inspect.signature(self.call)
        self._call_has_training_arg = "training" in self._call_signature.parameters
        self._call_has_mask_arg = "mask" in self._call_signature.parameters

    # -- sub-layer tracking --------------------------------------------------------------------
    def __setattr__(self, name, value):
        tracked = self.__dict__.get("_tracked_layers")
        if tracked is not None and not name.startswith("_tracked"):
            for item in tree.flatten(value) if isinstance(value, (list, tuple)) else [value]:
                if isinstance(item, Layer) and item is not self and \
                        all(item is not t for t in tracked):
                    tracked.append(item)
        object.__setattr__(self, name, value)

    @property
    def _layers(self):
        return list(self._tracked_layers)

    # -- weights ---------------------------------------------------------------------------------
    @property
    def path(self):
        return self.name

    def add_weight(self, shape=None, initializer=None, dtype=None, trainable=True,
                   autocast=True, regularizer=None, constraint=None, name=None):
        """Creates a weight; `initializer` is a name, an Initializer or a callable(shape, dtype)."""
        from rnnkit import constraints, initializers, regularizers
        shape = () if shape is None else tuple(int(s) for s in shape)
        dtype = standardize_dtype(dtype or self.dtype)
        if initializer is None:
            initializer = "glorot_uniform" if len(shape) >= 2 else "zeros"
        init = initializers.get(initializer)
        name = name or f"variable_{len(self._own_weights)}"
        path = "/".join(_scope_stack() + [name]) if _scope_stack() else f"{self.name}/{name}"
        variable = Variable(init, shape=shape, dtype=dtype, trainable=trainable, name=name,
                            constraint=constraints.get(constraint), path=path)
        variable.regularizer = regularizers.get(regularizer)
        self._own_weights.append(variable)
        return variable

    @property
    def trainable(self):
        return self._trainable

    @trainable.setter
    def trainable(self, value):
        self._trainable = bool(value)
        for layer in self._tracked_layers:
            layer.trainable = value

    @property
    def weights(self):
        """Every weight of the layer and its sub-layers, in creation order (Keras' order)."""
        seen, out = set(), []
        own = [w for w in self._own_weights if w.trainable] + \
              [w for w in self._own_weights if not w.trainable]
        for w in own + [w for layer in self._tracked_layers for w in layer.weights]:
            if id(w) not in seen:
                seen.add(id(w))
                out.append(w)
        return out

    @property
    def variables(self):
        return self.weights

    @property
    def trainable_weights(self):
        if not self.trainable:
            return []
        return [w for w in self._own_weights if w.trainable] + \
            [w for layer in self._tracked_layers for w in layer.trainable_weights]

    trainable_variables = trainable_weights

    @property
    def non_trainable_weights(self):
        trainable = {id(w) for w in self.trainable_weights}
        return [w for w in self.weights if id(w) not in trainable]

    non_trainable_variables = non_trainable_weights

    def get_weights(self):
        return [w.numpy() for w in self.weights]

    def set_weights(self, weights):
        own = self.weights
        weights = list(weights)
        if len(weights) != len(own):
            raise ValueError(
                f"You called `set_weights(weights)` on layer '{self.name}' with a weight list "
                f"of length {len(weights)}, but the layer was expecting {len(own)} weights.")
        for variable, value in zip(own, weights):
            value = np.asarray(value)
            if tuple(value.shape) != variable.shape:
                raise ValueError(
                    f"Layer {self.name} weight shape {variable.shape} is not compatible with "
                    f"provided weight shape {tuple(value.shape)}.")
        for variable, value in zip(own, weights):
            variable.assign(value)

    def count_params(self):
        if not self.built:
            raise ValueError(
                f"You tried to call `count_params` on layer '{self.name}', but the layer isn't "
                f"built. You can build it manually via: `layer.build(input_shape)`.")
        return int(sum(int(np.prod(w.shape)) for w in self.weights))

    # -- losses ----------------------------------------------------------------------------------
    def add_loss(self, loss):
        self._losses.append(loss)

    @property
    def losses(self):
        """Losses added during the last call (activity regularization, `add_loss`) plus the
        current regularization penalty of every weight that has a regularizer."""
        out = list(self._losses)
        for w in self._own_weights:
            if getattr(w, "regularizer", None) is not None:
                out.append(w.regularizer(w))
        for layer in self._tracked_layers:
            out.extend(layer.losses)
        return out

    def _clear_losses(self):
        self._losses = []
        for layer in self._tracked_layers:
            layer._clear_losses()

    # -- build and call --------------------------------------------------------------------------
    def build(self, input_shape):
        """Creates the weights. The default creates none."""

    def call(self, *args, **kwargs):
        raise NotImplementedError(f"Layer {type(self).__name__} does not implement `call()`.")

    # Whether the layer passes an input mask on unchanged (Keras' `supports_masking`).
    supports_masking = False

    def compute_mask(self, inputs, previous_mask=None):
        """The mask of the outputs, given the inputs and their mask (Keras' protocol): by
        default the input mask when `supports_masking`, else None."""
        return previous_mask if self.supports_masking else None

    def compute_output_shape(self, *args, **kwargs):
        raise NotImplementedError(
            f"Layer {type(self).__name__} does not implement `compute_output_shape()`.")

    def _maybe_build(self, inputs):
        if self.built:
            return
        shapes = tree.map_structure(shape_of, inputs)
        self._build_input_shape = shapes
        self.build(shapes)

    def _convert_input(self, value):
        """Array-likes to arrays; floating inputs take the layer's dtype (Keras' autocast).
        Under a recording GradientTape, tracked inputs (watched Variables, Tensors) stay
        tracked."""
        from rnnkit import autodiff, ops
        if autodiff.is_recording() and (isinstance(value, Variable) or
                                        autodiff.is_tracked(value)):
            value = ops.convert_to_tensor(value)
            if autodiff.is_tracked(value):
                if self.autocast and np.dtype(value.dtype).kind == "f" and \
                        value.dtype != np.dtype(self.dtype):
                    return ops.cast(value, self.dtype)
                return value
        if isinstance(value, Variable):
            value = value.value
        array = np.asarray(value)
        if array.dtype.kind == "f" and self.autocast and array.dtype != np.dtype(self.dtype):
            array = array.astype(self.dtype)
        elif array.dtype.kind in "iu" and self._casts_int_inputs:
            array = array.astype(self.dtype)
        return array

    # Most layers compute on floats; an Embedding turns this off to keep its integer ids.
    _casts_int_inputs = True

    def __call__(self, *args, **kwargs):
        if not args:
            if "inputs" in kwargs:
                args = (kwargs.pop("inputs"),)
            else:
                raise TypeError(f"Layer {self.name} was called without inputs")
        if not _all_concrete(args, kwargs):
            from rnnkit.models import graph
            if graph.is_symbolic((args, kwargs)):
                return graph.symbolic_call(self, args, kwargs)
        first = args[0]
        # One array in (the common case) skips the walk over nested structures.
        inputs = self._convert_input(first) if type(first) in _LEAF_TYPES \
            else tree.map_structure(self._convert_input, first)
        args = (inputs,) + args[1:]
        if self.input_spec is not None:
            self.input_spec.check(self, inputs)
        explicit_training = kwargs.get("training", None)
        if self._call_has_training_arg:
            training = explicit_training if explicit_training is not None else current_training()
            kwargs["training"] = bool(training) if training is not None else False
        elif "training" in kwargs:
            kwargs.pop("training")
        if "mask" in kwargs and not self._call_has_mask_arg:
            if kwargs["mask"] is not None:
                raise ValueError(f"Layer {self.name} does not support masking, but was passed "
                                 f"a `mask`")
            kwargs.pop("mask")
        self._maybe_build(inputs)
        self._losses = []
        stack = _training_stack()
        stack.append(explicit_training if explicit_training is not None else current_training())
        try:
            outputs = self.call(*args, **kwargs)
        finally:
            stack.pop()
        if self.activity_regularizer is not None:
            for leaf in tree.flatten(outputs):
                self.add_loss(self.activity_regularizer(leaf))
        return outputs

    # -- config ----------------------------------------------------------------------------------
    def get_config(self):
        config = {"name": self.name, "trainable": self.trainable, "dtype": self.dtype}
        return config

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name}, built={self.built}>"


def _build_wrapper(build):
    """Runs `build` inside the layer's name scope (so weights get paths such as
    `lstm/lstm_cell/kernel`) and marks the layer built."""

    def wrapped(self, *args, **kwargs):
        stack = _scope_stack()
        previous = getattr(_local, "building", None)
        entered = previous is not self  # a subclass's build calling super().build() re-enters
        if entered:
            stack.append(self.name)
            _local.building = self
        try:
            result = build(self, *args, **kwargs)
        finally:
            if entered:
                stack.pop()
                _local.building = previous
        self.built = True
        return result

    wrapped.__wrapped__ = build
    wrapped.__doc__ = build.__doc__
    return wrapped
