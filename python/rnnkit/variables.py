"""Variables: the mutable, named arrays that hold a layer's weights and a stateful RNN's states.

A `Variable` behaves like the NumPy array it holds (it converts with `np.asarray`, supports
arithmetic and indexing) and adds what Keras code expects of `keras.Variable`: `.numpy()`,
`.assign()`, `.shape`, `.dtype`, `.name`, `.path`, `.trainable`, and an optional constraint that
optimizers apply after each update.
"""

from __future__ import annotations

import itertools

import numpy as np

from rnnkit import array_library, placement
from rnnkit._operators import ArithmeticOperators

_ids = itertools.count()


class Variable(ArithmeticOperators):
    """A mutable, named array: the weights of layers, the states of stateful RNNs.

    A `Variable` holds a NumPy array of fixed shape and dtype. It converts with
    `np.asarray`, supports arithmetic, `@`, `**`, `-v`, indexing and `.T` (through
    `rnnkit.ops`, so those are recorded by a `GradientTape` that watches it), and has what
    Keras code expects of `keras.Variable`: `numpy()`, `assign()`, `shape`, `dtype`,
    `name`, `path` and `trainable`. Layers create theirs with `Layer.add_weight`.

    Args:
        initializer: The initial value (an array-like or another `Variable`), or a
            callable `(shape, dtype) -> array` such as an initializer.
        shape: Tuple of ints; required when `initializer` is a callable, checked
            otherwise.
        dtype: Optional dtype name. Defaults to float32 (bool for a boolean initial value).
        trainable: Bool, whether optimizers update it. Defaults to `True`.
        name: String, the short name (`"kernel"`). Defaults to `"variable"`.
        constraint: Optional callable `array -> array`, applied by `apply_constraint()`
            (optimizers call it after each update).
        path: Optional string, the full name including the owner
            (`"lstm/lstm_cell/kernel"`). Defaults to `name`.

    Raises:
        ValueError: If `shape` is missing for a callable initializer or differs from the
            initial value's, or `trainable` is not a bool.

    Example:

    >>> import numpy as np, rnnkit as keras
    >>> v = keras.Variable(np.zeros((2,)), name="w")
    >>> v.assign_add([1.0, 2.0])
    <Variable path=w, shape=(2,), dtype=float32, value=[1. 2.]>
    >>> v * 2
    array([2., 4.], dtype=float32)
    >>> v.numpy()
    array([1., 2.], dtype=float32)
    """

    # NumPy defers binary operators with a Variable operand to our reflected methods, and so
    # does CuPy for a priority above its arrays' 100 (`cupy_x + v` runs `v.__radd__`).
    __array_priority__ = 150
    # Read in a mixed-precision layer's compute dtype inside its `call` (`add_weight(...,
    # autocast=False)` turns it off for one weight).
    _autocast = True
    # (id(self), (leaf, 0)): the GradientTape's leaf node for this Variable, made by autodiff on
    # first use and shared by every tape (its shape and dtype never change).
    _leaf_ref = None

    def __init__(self, initializer, shape=None, dtype=None, trainable=True, name="variable",
                 constraint=None, path=None):
        if callable(initializer) and not isinstance(initializer, np.ndarray):
            if shape is None:
                raise ValueError(
                    f"Variable {name!r}: `shape` is required when `initializer` is a callable")
            value = initializer(tuple(int(s) for s in shape), dtype=np.dtype(dtype or _floatx()))
        else:
            value = initializer.value if isinstance(initializer, Variable) else initializer
        if dtype is None:
            # Like Keras: numbers become the default float type unless a dtype is asked for.
            value_dtype = getattr(value, "dtype", None)
            if value_dtype is None:
                value_dtype = np.asarray(value).dtype
            dtype = "bool" if value_dtype == np.bool_ else _floatx()
        # The value lives on the current device (`with rnnkit.device(...)`), or on the device
        # of a device array given as the initial value.
        where = placement.current_device()
        if type(value) is np.ndarray or array_library.is_host(value):
            value = np.array(value, dtype=np.dtype(dtype), order="C", copy=True)
            if where != "cpu:0":
                value = array_library.to_device(value, where)
        else:
            xp = array_library.namespace(value)
            value = xp.array(value, dtype=np.dtype(dtype), order="C", copy=True)
        if shape is not None and tuple(value.shape) != tuple(shape):
            raise ValueError(f"Variable {name!r}: initial value has shape {value.shape}, "
                             f"expected {tuple(shape)}")
        if not isinstance(trainable, bool):
            raise ValueError(f"Argument `trainable` must be a bool, got {trainable!r}")
        self._value = value
        self._dtype_name = value.dtype.name   # assign() never changes the dtype
        self._version = 0
        self.trainable = trainable
        self.name = name
        self.path = path or name
        self.constraint = constraint
        self._uid = next(_ids)

    # -- the value ---------------------------------------------------------------------------
    @property
    def value(self) -> np.ndarray:
        """The underlying NumPy array itself (not a copy: do not modify it in place)."""
        return self._value

    @property
    def version(self) -> int:
        """An int bumped on every assignment, so caches derived from the value know when
        to refresh."""
        return self._version

    def numpy(self) -> np.ndarray:
        """Returns a copy of the value as a NumPy array (copied from its device, explicitly,
        when it lives on another device)."""
        value = self._value
        if type(value) is np.ndarray:
            return value.copy()
        return array_library.to_host(value)

    @property
    def device(self) -> str:
        """The device its value lives on, e.g. `"cpu:0"`."""
        return array_library.device_of(self._value)

    def assign(self, value):
        """Sets the value (cast to the variable's dtype; the shape must match).

        Args:
            value: An array-like or a `Variable` of the variable's shape.

        Returns:
            The variable itself.

        Raises:
            ValueError: If the shape differs.
        """
        if isinstance(value, Variable):
            value = value._value
        current = self._value
        if type(value) is not np.ndarray:
            if type(current) is np.ndarray:
                if not array_library.is_host(value):
                    array_library.check_same_device(current, value,
                                                    what=f"assigning to {self.path!r}")
                value = np.asarray(value)
            elif array_library.is_host(value):
                # host data into a device variable: an upload, never a download
                value = array_library.namespace(current).asarray(value)
            else:
                array_library.check_same_device(current, value,
                                                what=f"assigning to {self.path!r}")
        elif type(current) is not np.ndarray:
            value = array_library.namespace(current).asarray(value)     # an upload
        if value.shape != current.shape:
            raise ValueError(
                f"Cannot assign a value of shape {value.shape} to variable {self.path!r} "
                f"of shape {self._value.shape}")
        np.copyto(self._value, value, casting="unsafe")
        self._version += 1
        return self

    def _updated_in_place(self):
        """Marks the value as changed by code that wrote its array in place (an optimizer's
        `out=` ufuncs, a C++ stream's states): the version moves on as an assignment's does."""
        self._version += 1

    def assign_add(self, delta):
        """Adds `delta` (broadcast to the variable's shape) to the value; returns the variable."""
        return self.assign(self._value + _operand(delta))

    def assign_sub(self, delta):
        """Subtracts `delta` from the value; returns the variable."""
        return self.assign(self._value - _operand(delta))

    def apply_constraint(self):
        """Replaces the value by `constraint(value)`, when the variable has a constraint."""
        if self.constraint is not None:
            self.assign(self.constraint(self._value))

    @property
    def shape(self):
        """The shape, a tuple of ints."""
        return tuple(self._value.shape)

    @property
    def dtype(self) -> str:
        """The dtype name, e.g. `"float32"` (it never changes)."""
        return self._dtype_name

    @property
    def ndim(self):
        """The number of dimensions."""
        return self._value.ndim

    def __len__(self):
        return len(self._value)

    def __array__(self, dtype=None, copy=None):
        if type(self._value) is not np.ndarray:
            raise TypeError(f"Variable {self.path!r} lives on {self.device}: it is not "
                            "converted to NumPy implicitly; use .numpy() to copy it to the host")
        if dtype is not None and np.dtype(dtype) != self._value.dtype:
            return self._value.astype(dtype)
        return self._value.copy() if copy else self._value

    def _scalar(self, kind):
        if self._value.ndim > 0:
            raise TypeError(f"Only scalar variables can be converted to Python {kind}s. "
                            f"Got: shape={self.shape}")
        return self._value.item()

    def __int__(self):
        return int(self._scalar("int"))

    def __float__(self):
        return float(self._scalar("float"))

    def __bool__(self):
        # As Keras: a variable is never a truth value (`if v:` is almost always a mistake).
        raise TypeError("A Keras Variable cannot be used as a boolean.")

    def __floordiv__(self, other):
        return np.floor_divide(self._value, np.asarray(other))

    def __rfloordiv__(self, other):
        return np.floor_divide(np.asarray(other), self._value)

    def __mod__(self, other):
        return np.mod(self._value, np.asarray(other))

    def __rmod__(self, other):
        return np.mod(np.asarray(other), self._value)

    def __repr__(self):
        return (f"<Variable path={self.path}, shape={self.shape}, dtype={self.dtype}, "
                f"value={np.array2string(self._value, threshold=6, edgeitems=2)}>")


def _operand(value):
    """An operand of assign_add / assign_sub: arrays (host or device) as they are."""
    if type(value) is np.ndarray:
        return value
    if isinstance(value, Variable) or hasattr(type(value), "_node"):   # Variable, Tensor
        return value._value
    if hasattr(value, "shape") and not array_library.is_host(value):
        return value
    return np.asarray(value)


def _floatx():
    from rnnkit.config import floatx     # the default float dtype (float32 unless set)
    return floatx()
