"""`Layer`: the base class of every rnnkit layer and of users' own cells.

It does what Keras' base layer does for a user: unique names (`lstm`, `lstm_1`, ...), weights
created with `add_weight` and tracked through sub-layers, `build` on the first call, weight paths
(`lstm/lstm_cell/kernel`), `get_weights`/`set_weights`, the `losses` of regularizers,
`get_config`/`from_config`, and the `training` flag handed down to nested calls.
"""

from __future__ import annotations

import inspect
import re
import threading
import warnings

import numpy as np

from rnnkit import array_library, masking, tree
from rnnkit.graph import is_symbolic, symbolic_call
from rnnkit.naming import unique_name
from rnnkit.variables import Variable

SUPPORTED_DTYPES = ("float32", "float64")
# The dtype objects of SUPPORTED_DTYPES: `array.dtype is _NUMPY_DTYPES[name]` is a cheap exact
# test (`dtype.name` is computed in Python by NumPy on every read).
_NUMPY_DTYPES = {name: np.dtype(name) for name in SUPPORTED_DTYPES}

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
    # Keras' rule exactly ("Conv1D" -> "conv1d", "GRUCell" -> "gru_cell"): default layer
    # names and the container names of weight files must match the ones Keras writes.
    name = re.sub(r"\W+", "", name)
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", name).lower()


def standardize_dtype(dtype, argument="dtype"):
    if dtype is None:  # the global dtype policy: config.floatx() unless one was set
        dtype = __import__("rnnkit.mixed_precision").mixed_precision.dtype_policy().name
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


def layer_policy(dtype, layer_class=None):
    """The `DTypePolicy` a layer's `dtype` argument stands for: None (the global policy), a
    policy, a policy name, a serialized policy (a dict) or a dtype name ("float32").

    Args:
        dtype: The argument.
        layer_class: The layer's class, named in the error when it cannot use the policy.

    Raises:
        ValueError: For a dtype or policy rnnkit does not compute with, or a mixed policy on a
            layer that does not support one.
    """
    from rnnkit import mixed_precision
    if dtype is None:
        policy = mixed_precision.dtype_policy()
    elif isinstance(dtype, mixed_precision.DTypePolicy):
        policy = dtype
    elif isinstance(dtype, dict):
        policy = mixed_precision.DTypePolicy.from_config(dtype.get("config", dtype))
    elif isinstance(dtype, str) and dtype in mixed_precision._POLICIES:
        policy = mixed_precision.DTypePolicy(dtype)
    else:
        policy = mixed_precision.DTypePolicy(standardize_dtype(dtype))
    what = "rnnkit" if layer_class is None else f"Layer {layer_class.__name__}"
    mixed_precision.check_supported(policy, what)
    if policy.compute_dtype == policy.variable_dtype:
        return policy
    if layer_class is not None and not supports_mixed_precision(layer_class):
        raise ValueError(
            f"Layer {layer_class.__name__} does not support the dtype policy {policy.name!r} "
            f"in rnnkit (it would compute in float32 silently). Pass dtype='float32' to this "
            f"layer, or use a layer that supports mixed precision (docs/mixed_precision.md).")
    return policy


def supports_mixed_precision(layer_class):
    """Whether layers of `layer_class` compute under a mixed policy: a user's layer written
    with rnnkit.ops does; a built-in layer does when its own class says so
    (`_mixed_precision = True` in the class body, not inherited)."""
    for cls in layer_class.__mro__:
        if cls.__module__.startswith("rnnkit."):
            return cls is Layer or cls.__dict__.get("_mixed_precision", False)
    return True


def _carried_mask(inputs):
    """The mask the inputs carry: one input's, or a list when several inputs carry one."""
    if type(inputs) in _LEAF_TYPES:
        return masking.get_keras_mask(inputs)
    found = [masking.get_keras_mask(leaf) for leaf in tree.flatten(inputs)]
    if all(mask is None for mask in found):
        return None
    return found[0] if len(found) == 1 else found


def shape_of(value):
    """The shape of an array-like (a tuple of ints)."""
    if type(value) is np.ndarray:
        return value.shape
    shape = getattr(value, "shape", None)
    if shape is None:
        shape = np.shape(value)
    return tuple(int(s) for s in shape)


_AUTODIFF = []


def _autodiff():
    """rnnkit.autodiff (imported on first use: it imports this module's neighbours)."""
    if not _AUTODIFF:
        from rnnkit import autodiff
        _AUTODIFF.append(autodiff)
    return _AUTODIFF[0]


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
    """Describes the rank and axis sizes a layer accepts; checked on every call.

    A layer sets `self.input_spec = InputSpec(...)` (in `__init__` or `build`) and the base
    `Layer.__call__` checks each input against it before `call` runs; a built layer whose
    weights fix the input width (Dense, the RNN layers) sets `axes={-1: width}`. The rank and
    axis sizes are checked (Keras' `InputSpec` also takes `dtype`, `shape`, ..., which rnnkit
    does not accept).

    Args:
        ndim: Optional int, the exact rank every input must have.
        min_ndim: Optional int, the smallest rank an input may have.
        axes: Optional dict `{axis: size}` (negative axes count from the end): the size each
            listed axis must have. Unknown (`None`) sizes match anything. Without `ndim` or
            `min_ndim`, the rank must be large enough to hold every listed axis.

    Example:

    >>> import numpy as np, rnnkit as keras
    >>> spec = keras.layers.InputSpec(ndim=3)
    >>> spec.check(keras.layers.Dense(2, name="d"), np.zeros((4, 5, 6)))
    >>> spec.check(keras.layers.Dense(2, name="d"), np.zeros((4, 6)))
    Traceback (most recent call last):
    ...
    ValueError: Input 0 of layer 'd' is incompatible with the layer: expected ndim=3, found ndim=2. Full shape received: (4, 6)
    """

    def __init__(self, ndim=None, min_ndim=None, axes=None):
        self.axes = {int(axis): size for axis, size in axes.items()} if axes else {}
        if self.axes and ndim is None and min_ndim is None:
            min_ndim = max(axis + 1 if axis >= 0 else -axis for axis in self.axes)
        self.ndim = ndim
        self.min_ndim = min_ndim

    def check(self, layer, inputs):
        """Checks every array in `inputs` (an array or a nested structure) against the spec.

        Args:
            layer: The layer being called (its name goes in the error message).
            inputs: An array, or a nested structure of arrays.

        Raises:
            ValueError: If an input's rank differs from `ndim` or is below `min_ndim`, or an
                axis listed in `axes` has another size.
        """
        if type(inputs) is np.ndarray:  # the eager hot path: one array, int dims
            self.check_shape(layer, inputs.shape)
            return
        leaves = [inputs] if hasattr(inputs, "shape") else tree.flatten(inputs)
        for index, value in enumerate(leaves):
            shape = getattr(value, "shape", None)
            shape = np.shape(value) if shape is None else shape
            self.check_shape(layer, tuple(None if s is None else int(s) for s in shape), index)

    def check_shape(self, layer, shape, index=0):
        """Checks one input shape (a tuple; `None` sizes match anything) against the spec.

        Args:
            layer: The layer being called or built (its name goes in the error message).
            shape: The input's shape.
            index: The input's position among the layer's inputs (for the message).

        Raises:
            ValueError: As `check`.
        """
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
        for axis, size in self.axes.items():
            found = shape[axis]
            if found != size and found is not None and size is not None:
                raise ValueError(
                    f"Input {index} of layer '{layer.name}' is incompatible with the layer: "
                    f"expected axis {axis} of input shape to have value {size}, but received "
                    f"input with shape {shape}")


class Layer:
    """The base class of every layer, cell and model in rnnkit.

    A layer is a callable object holding weights (`Variable`s) and a computation. To write
    your own, subclass `Layer`, create the weights in `build(input_shape)` with `add_weight`
    and write the computation in `call(...)` with `rnnkit.ops`. Calling a layer
    (`layer(inputs, ...)`) converts the inputs to arrays of the layer's dtype, checks them
    against `input_spec`, builds the layer on its first call (with the inputs' shapes), runs
    `call`, and adds the activity regularization of the output to `losses`. Called on
    symbolic inputs (`rnnkit.Input`), the call is recorded into a functional model graph
    instead.

    Layers assigned as attributes of a layer are tracked: their weights are part of the outer
    layer's `weights`, and setting `trainable` on the outer layer sets it on them too. Weights
    get paths such as `"lstm/lstm_cell/kernel"`.

    Args:
        activity_regularizer: Optional regularizer (a name, config dict or callable) applied to
            the layer's output on every call; the penalty is added to `losses`.
        trainable: Bool, whether the layer's weights are updated in training. Defaults to
            `True`.
        dtype: `"float32"` (the default), `"float64"`, or a dtype policy (a `DTypePolicy`,
            its name or its config): `"mixed_bfloat16"` keeps float32 weights and computes in
            bfloat16 (see `rnnkit.mixed_precision`). Other dtypes raise `ValueError`; so does
            a mixed policy on a built-in layer that does not support one. Defaults to the
            global policy (`mixed_precision.global_policy()`).
        autocast: Bool, whether floating inputs are cast to `dtype` on call. Defaults to
            `True`.
        name: Optional string. By default a unique name derived from the class name
            (`"my_layer"`, then `"my_layer_1"`, ...).
        **kwargs: `input_shape`, `input_dim` and `batch_size` are accepted as in Keras (with
            Keras' warning to use `rnnkit.Input` instead); any other keyword raises
            `ValueError`.

    Raises:
        ValueError: For unknown keyword arguments, a non-bool `trainable` or an unsupported
            dtype.
        TypeError: If `name` is not a string.

    Example:

    >>> import numpy as np, rnnkit as keras
    >>> class Scale(keras.layers.Layer):
    ...     def build(self, input_shape):
    ...         self.w = self.add_weight(shape=(input_shape[-1],), initializer="ones",
    ...                                  name="w")
    ...     def call(self, inputs):
    ...         return keras.ops.multiply(inputs, self.w)
    >>> layer = Scale(name="scale")
    >>> layer(np.ones((2, 3))).shape
    (2, 3)
    >>> [w.path for w in layer.weights]
    ['scale/w']
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
        policy = layer_policy(dtype, type(self))
        self._dtype_policy = policy
        self.dtype = policy.variable_dtype
        self.compute_dtype = policy.compute_dtype
        # The dtype weights are read in inside `call` (None: as they are).
        self._read_dtype = None if policy.compute_dtype == policy.variable_dtype else \
            np.dtype(policy.compute_dtype)
        if self._read_dtype is not None:
            _autodiff().mixed_layers_exist = True
        self._trainable = trainable
        self.autocast = autocast
        self.built = False
        self.input_spec = None
        from rnnkit import regularizers
        self.activity_regularizer = regularizers.get(activity_regularizer)
        self._call_signature = inspect.signature(self.call)
        self._call_has_training_arg = "training" in self._call_signature.parameters
        self._call_has_mask_arg = "mask" in self._call_signature.parameters

    @property
    def dtype_policy(self):
        """The layer's `DTypePolicy` (Keras' attribute): `dtype` is its variable dtype,
        `compute_dtype` the dtype of inputs, computations and outputs."""
        return self._dtype_policy

    @property
    def variable_dtype(self):
        """The dtype of the layer's weights (the same as `dtype`)."""
        return self._dtype_policy.variable_dtype

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
        """The layer's path (its name); weight paths start with it."""
        return self.name

    def add_weight(self, shape=None, initializer=None, dtype=None, trainable=True,
                   autocast=True, regularizer=None, constraint=None, name=None):
        """Creates a weight of this layer and returns it.

        Call it from `build` (weights created there get paths under the layer's name, such as
        `"dense/kernel"`). The weight is listed in `weights` in creation order, trainable
        weights first.

        Args:
            shape: Tuple of ints, the weight's shape. `None` (the default) means a scalar.
            initializer: An initializer name (`"zeros"`, `"glorot_uniform"`, ...), an
                `Initializer`, a config dict or a callable `(shape, dtype) -> array`. Defaults
                to `"glorot_uniform"` for weights of rank >= 2, else `"zeros"`.
            dtype: `"float32"` or `"float64"`. Defaults to the layer's dtype.
            trainable: Bool, whether optimizers update the weight. Defaults to `True`.
            autocast: Bool, whether the layer reads the weight in its compute dtype inside
                `call` under a mixed policy (`"mixed_bfloat16"`). Defaults to `True`.
            regularizer: Optional regularizer; its penalty on the weight is part of `losses`.
            constraint: Optional constraint applied to the weight after each optimizer update.
            name: Optional string. Defaults to `"variable_<n>"`.

        Returns:
            The new `rnnkit.Variable`.

        Raises:
            ValueError: If `dtype` is not float32 or float64, or a name cannot be resolved.
        """
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
        if not autocast:
            variable._autocast = False   # read as stored under a mixed policy
        self._own_weights.append(variable)
        return variable

    @property
    def trainable(self):
        """Whether the layer is trained. Setting it sets it on every tracked sub-layer too."""
        return self._trainable

    @trainable.setter
    def trainable(self, value):
        self._trainable = bool(value)
        for layer in self._tracked_layers:
            layer.trainable = value

    @property
    def weights(self):
        """Every weight of the layer and of its sub-layers, as a list of `Variable`s.

        The layer's own weights come first (trainable before non-trainable, each in creation
        order), then those of its sub-layers; this is the order of `get_weights()`.
        """
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
        """The same list as `weights`."""
        return self.weights

    @property
    def trainable_weights(self):
        """The weights that training updates: none when the layer is not `trainable`."""
        if not self.trainable:
            return []
        return [w for w in self._own_weights if w.trainable] + \
            [w for layer in self._tracked_layers for w in layer.trainable_weights]

    trainable_variables = trainable_weights

    @property
    def non_trainable_weights(self):
        """The weights that are not in `trainable_weights` (e.g. moving statistics)."""
        trainable = {id(w) for w in self.trainable_weights}
        return [w for w in self.weights if id(w) not in trainable]

    non_trainable_variables = non_trainable_weights

    def get_weights(self):
        """Returns the values of `weights` as a list of NumPy arrays (copies).

        Example:

        >>> import numpy as np, rnnkit as keras
        >>> layer = keras.layers.Dense(3)
        >>> _ = layer(np.ones((1, 2)))
        >>> [w.shape for w in layer.get_weights()]
        [(2, 3), (3,)]
        """
        return [w.numpy() for w in self.weights]

    def set_weights(self, weights):
        """Sets the values of the layer's weights.

        Args:
            weights: A list of arrays, one per entry of `weights` and in that order (the
                order of `get_weights()`), each of the weight's shape.

        Raises:
            ValueError: If the number of arrays or a shape does not match; no weight is
                changed then.
        """
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
        """Returns the total number of scalars in the layer's weights.

        Raises:
            ValueError: If the layer is not built yet.
        """
        if not self.built:
            raise ValueError(
                f"You tried to call `count_params` on layer '{self.name}', but the layer isn't "
                f"built. You can build it manually via: `layer.build(input_shape)`.")
        return int(sum(int(np.prod(w.shape)) for w in self.weights))

    # -- losses ----------------------------------------------------------------------------------
    def add_loss(self, loss):
        """Adds a loss value (for example a penalty computed in `call`) to `losses`.

        Losses added during a call are cleared at the start of the layer's next call; a
        model adds them to its training loss.

        Args:
            loss: A scalar array or tracked Tensor.
        """
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
        """Creates the layer's weights, given the shape of its input.

        Called once, by the first call of the layer, with the shape of the first input (a
        tuple, or a nested structure of tuples for several inputs). Override it to create
        weights with `add_weight`; the base implementation creates none. The layer is marked
        `built` afterwards.

        Args:
            input_shape: The input's shape, including the batch axis.
        """

    def call(self, *args, **kwargs):
        """The layer's computation; override it in subclasses.

        `Layer.__call__` runs it with the converted inputs. If its signature has a `training`
        argument, it receives a bool (the explicit value, else the enclosing call's, else
        `False`); if it has a `mask` argument, it receives the mask passed to the layer.

        Args:
            *args: The inputs, then any other positional arguments of the call.
            **kwargs: The keyword arguments of the call.

        Returns:
            The output(s).

        Raises:
            NotImplementedError: The base implementation always raises.
        """
        raise NotImplementedError(f"Layer {type(self).__name__} does not implement `call()`.")

    # Whether the layer passes an input mask on unchanged (Keras' `supports_masking`).
    supports_masking = False

    def compute_mask(self, inputs, previous_mask=None):
        """Returns the mask of the layer's output, given its inputs and their mask.

        The base implementation returns `previous_mask` when the layer's
        `supports_masking` is true (the layer keeps the timestep structure) and `None`
        otherwise. Layers that create a mask (`Embedding(mask_zero=True)`, `Masking`) or
        consume one (an RNN returning its last output only) override it.

        Args:
            inputs: The layer's inputs.
            previous_mask: The mask of the inputs, or `None`.

        Returns:
            The output mask (a boolean array), or `None`.
        """
        return previous_mask if self.supports_masking else None

    def compute_output_shape(self, *args, **kwargs):
        """Returns the output shape for the given input shape(s), without computing anything.

        Built-in layers implement it; the base implementation raises. Shapes are tuples
        including the batch axis, which may be `None`.

        Raises:
            NotImplementedError: In the base class.
        """
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
        autodiff = _autodiff()
        if type(value) is np.ndarray and value.dtype is _NUMPY_DTYPES.get(self.compute_dtype):
            # The hot path: an array in the layer's dtype is used as it is (a watched one
            # stays tracked: the tape knows it by identity).
            return value
        if type(value) is autodiff.Tensor:
            # The other hot path: the previous layer's output on the recording tape.
            node = value._node
            if (node is not None and node.tape is autodiff._state.tape and
                    value._value.dtype is _NUMPY_DTYPES.get(self.compute_dtype)):
                return value
        recording = autodiff.is_recording()
        from rnnkit import ops
        if recording and (isinstance(value, Variable) or autodiff.is_tracked(value)):
            value = ops.convert_to_tensor(value)
            if autodiff.is_tracked(value):
                if self.autocast and array_library.is_real_floating(np.dtype(value.dtype)) and \
                        value.dtype != np.dtype(self.compute_dtype):
                    return ops.cast(value, self.compute_dtype)
                return value
        if isinstance(value, Variable):
            value = value.value
        if type(value) is np.ndarray or array_library.is_host(value):
            array = np.asarray(value)
        else:
            array = value                     # a device array stays on its device
            self._refuse_device_input_if_mixed()
        if array_library.is_real_floating(array.dtype) and self.autocast and \
                array.dtype != np.dtype(self.compute_dtype):
            array = array_library.astype(array, self.compute_dtype)
        elif array.dtype.kind in "iu" and self._casts_int_inputs:
            array = array.astype(self.compute_dtype)
        return array

    def _refuse_device_input_if_mixed(self):
        """A layer under a mixed policy computes on the CPU only (its 16-bit arrays are NumPy's,
        bfloat16 from ml_dtypes): a device input is a ValueError saying so."""
        if self._read_dtype is not None:
            raise ValueError(
                f"Layer '{self.name}' has the dtype policy {self._dtype_policy.name!r}, which "
                f"rnnkit computes on the CPU only (NumPy arrays of ml_dtypes' bfloat16); got a "
                f"device array. Use dtype='float32' on a GPU.")

    # Most layers compute on floats; an Embedding turns this off to keep its integer ids.
    _casts_int_inputs = True

    # Host inputs are uploaded to the layer's device (see `_host_input_uploader`); layers that
    # compute on the host by nature (the preprocessing layers) turn this off.
    _uploads_host_inputs = True

    def _weights_device(self):
        """The device of the layer's weights (that of its first weight), e.g. `"gpu:0"` or
        `"cpu:0"`; `None` while it has none."""
        first = self.__dict__.get("_first_weight")      # the first weight, once there is one
        if first is None:
            weights = self.weights
            if not weights:
                return None
            first = self.__dict__["_first_weight"] = weights[0]  # not a tracked attribute
        value = first.value
        return "cpu:0" if type(value) is np.ndarray else array_library.device_of(value)

    def _host_input_uploader(self):
        """A function that copies the host arrays of a structure (NumPy arrays, and the Python
        numbers and lists that the input conversion made arrays) to the layer's device,
        explicitly: the device of its weights, or the current device while it has none (it
        builds them there). `None` for the CPU. Device arrays are left as they are: one on
        another device than the layer's fails in the op that meets both, naming both devices.
        Nothing ever moves from a device to the host."""
        from rnnkit import placement
        where = self._weights_device() or placement.current_device()
        if where == "cpu:0":
            return None

        def upload_leaf(leaf):
            return array_library.to_device(leaf, where) if type(leaf) is np.ndarray else leaf

        def upload(structure):
            if type(structure) in _LEAF_TYPES or type(structure) in _SCALAR_TYPES:
                return upload_leaf(structure)      # one array (the common case): no walk
            return tree.map_structure(upload_leaf, structure)
        return upload

    def __call__(self, *args, **kwargs):
        """Calls the layer: converts the inputs, builds the layer if needed and runs `call`.

        Floating inputs are cast to the layer's dtype (unless `autocast=False`); integer
        inputs become floats except for layers that look ids up (`Embedding`). Under a
        recording `GradientTape`, tracked inputs stay tracked, so the call is
        differentiable.

        Args:
            *args: The inputs (the first positional argument, or `inputs=`), then any other
                arguments of `call`.
            **kwargs: Keyword arguments of `call`, such as `training` and `mask`.

        Returns:
            What `call` returns; a symbolic output when called on `rnnkit.Input` tensors.

        Raises:
            TypeError: If no input is given.
            ValueError: If the inputs do not match `input_spec`, or a non-None `mask` is
                passed to a layer whose `call` takes no `mask`.
        """
        if not args:
            if "inputs" in kwargs:
                args = (kwargs.pop("inputs"),)
            else:
                raise TypeError(f"Layer {self.name} was called without inputs")
        if not _all_concrete(args, kwargs):
            if is_symbolic((args, kwargs)):
                return symbolic_call(self, args, kwargs)
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
        # Keras' implicit masks: an input carrying a mask (see rnnkit.masking) hands it to a
        # `call` that takes one, unless the caller passed one.
        previous_mask = kwargs.get("mask")
        if previous_mask is None and masking.any_masks():
            previous_mask = _carried_mask(first)
            if previous_mask is not None and self._call_has_mask_arg:
                kwargs["mask"] = previous_mask
        # A device library is registered: the call's host arrays (the inputs, `mask`,
        # `initial_state`, ...) go to the layer's device, once (Keras converts NumPy inputs
        # to tensors of its device the same way).
        upload = None if array_library.only_host() or not self._uploads_host_inputs \
            else self._host_input_uploader()
        if upload is not None:
            args = tuple(upload(a) for a in args)
            kwargs = {k: (v if k == "training" else upload(v)) for k, v in kwargs.items()}
            inputs = args[0]
            previous_mask = kwargs["mask"] if "mask" in kwargs else upload(previous_mask)
        if not self.built:
            self._maybe_build(inputs)
        if self._losses:
            self._losses = []
        stack = _training_stack()
        stack.append(explicit_training if explicit_training is not None else current_training())
        # Under a mixed policy, weights are read in the compute dtype inside `call`
        # (autodiff.unwrap casts them; their gradients stay in the variable dtype). Until a
        # mixed layer exists, nothing to do.
        read_dtype = previous_read = None
        if _AUTODIFF and _AUTODIFF[0].mixed_layers_exist:
            autocast_state = _AUTODIFF[0]._state
            read_dtype = self._read_dtype if self.autocast else None
            previous_read = autocast_state.autocast
            if read_dtype is not previous_read:
                autocast_state.autocast = read_dtype
        try:
            outputs = self.call(*args, **kwargs)
        finally:
            stack.pop()
            if read_dtype is not previous_read:
                autocast_state.autocast = previous_read
        if self.activity_regularizer is not None:
            for leaf in tree.flatten(outputs):
                self.add_loss(self.activity_regularizer(leaf))
        if previous_mask is not None or (self.supports_masking and
                                         type(self).compute_mask is not Layer.compute_mask):
            self._attach_output_masks(inputs, outputs, previous_mask)
        return outputs

    def _attach_output_masks(self, inputs, outputs, previous_mask):
        """Attaches `compute_mask`'s masks to the outputs that carry none yet (Keras sets them
        on the output tensors), so the next layer, and a loss or metric, sees them."""
        leaves = tree.flatten(outputs)
        if all(masking.get_keras_mask(leaf) is not None for leaf in leaves):
            return   # set inside `call` already (e.g. by a nested model's last layer)
        masks = self.compute_mask(inputs, previous_mask)
        if masks is None:
            return
        if len(leaves) == 1:
            masks = [masks[0] if isinstance(masks, (list, tuple)) else masks]
        elif not (isinstance(masks, (list, tuple)) and len(masks) == len(leaves)):
            return
        for leaf, mask in zip(leaves, masks):
            if mask is not None and masking.get_keras_mask(leaf) is None:
                masking.set_keras_mask(leaf, mask)

    # -- config ----------------------------------------------------------------------------------
    def get_config(self):
        """Returns the layer's constructor arguments as a JSON-serializable dict.

        `type(layer).from_config(layer.get_config())` makes a layer with the same
        configuration (and fresh weights). Subclasses with constructor arguments of their
        own extend the base config (`name`, `trainable`, `dtype`) with them.

        Example:

        >>> import rnnkit as keras
        >>> keras.layers.Dropout(0.5, name="drop").get_config()
        {'name': 'drop', 'trainable': True, 'dtype': 'float32', 'rate': 0.5, 'seed': None, 'noise_shape': None}
        """
        dtype = self.dtype
        if self._read_dtype is not None:   # a mixed policy: serialized as Keras 3 does
            from rnnkit import dtype_policies
            dtype = dtype_policies.serialize(self._dtype_policy)
        config = {"name": self.name, "trainable": self.trainable, "dtype": dtype}
        return config

    @classmethod
    def from_config(cls, config):
        """Creates a layer from the dict returned by `get_config()`.

        Args:
            config: A dict of constructor arguments.

        Returns:
            A new, unbuilt layer.
        """
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
    # The subclass's own name, so that `help()` and `inspect.getdoc` find the docstring of
    # the build it overrides when this one has none.
    wrapped.__name__, wrapped.__qualname__ = build.__name__, build.__qualname__
    wrapped.__module__ = build.__module__
    return wrapped
