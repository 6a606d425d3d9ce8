"""`KerasTensor`: a symbolic tensor, with a shape and a dtype but no value.

`rnnkit.Input` makes one; a layer or an `rnnkit.ops` function called on one returns new ones and
records the call as a `Node` (`history` says which). Operators (`x + y`, `x[:, 0]`, `-x`, `x < 0`,
...) go through `rnnkit.ops`, so they are recorded like any other op.
"""

from __future__ import annotations

import numpy as np

from rnnkit import tree
from rnnkit._operators import ArithmeticOperators, binary, ops


class SymbolicValueError(TypeError):
    """Raised when a symbolic tensor is used where a value is needed.

    Converting a `KerasTensor` to an array, a number or a bool, taking its `len()` or
    iterating over it raises it. Inside `rnnkit.ops` it is the signal to record the op as a
    graph node instead of computing it; elsewhere it tells the user that a symbolic tensor
    has no value. It is a `TypeError`.
    """


_NO_VALUE = ("A symbolic KerasTensor (from rnnkit.Input, or a layer or an rnnkit.ops function "
             "called on one) has no value: it only describes a model's graph. Use it as the "
             "input of a layer or an rnnkit.ops function, and call the model on arrays to "
             "compute.")


def no_value_error(tensor):
    """The error for code that needs the value of the symbolic `tensor`."""
    return SymbolicValueError(f"{tensor!r}: {_NO_VALUE}")


class KerasTensor(ArithmeticOperators):
    """A symbolic tensor: a shape (None for unknown sizes, e.g. the batch), a dtype, a name, and
    where it comes from (`history`: the operation, the node index and the output index; None for
    a tensor made directly).

    `rnnkit.Input` makes one; layers and `rnnkit.ops` functions called on it return new
    ones. Operators (`x + y`, `x * 2`, `x[:, 0]`, `x < 0`, `abs(x)`, ...) are recorded as
    `rnnkit.ops` calls; `==` compares identities, so tensors can be dict keys. A symbolic
    tensor has no value: converting it to an array, a number or a bool raises
    `SymbolicValueError`.

    Args:
        shape: The shape, a tuple of ints or None (unknown sizes).
        dtype: The dtype name. Defaults to `"float32"`.
        name: Optional name.
        history: Optional `(operation, node index, output index)`; set by the `Node` that
            produces the tensor.

    Example:

    >>> import rnnkit as keras
    >>> x = keras.Input((None, 3), name="x")
    >>> y = x * 2
    >>> y.shape, y.dtype, y.ndim
    ((None, None, 3), 'float32', 3)
    >>> operation, node_index, output_index = y.history
    >>> operation.op_name, node_index, output_index
    ('multiply', 0, 0)
    >>> bool(x)
    Traceback (most recent call last):
        ...
    rnnkit.graph.keras_tensor.SymbolicValueError: A symbolic KerasTensor cannot be used as a boolean: it has no value.
    """

    # NumPy hands binary operators with arrays back to us (`array + x` calls `x.__radd__`) and
    # refuses ufuncs on symbolic tensors instead of trying to convert them.
    __array_ufunc__ = None

    def __init__(self, shape, dtype="float32", name=None, history=None):
        self.shape = tuple(None if s is None else int(s) for s in shape)
        self.dtype = np.dtype(dtype).name
        self.name = name
        self.history = history  # (operation, node_index, tensor_index)

    @property
    def ndim(self):
        """The number of dimensions, `len(shape)`."""
        return len(self.shape)

    @property
    def sparse(self):
        """Always False: rnnkit has no sparse tensors (Keras' attribute)."""
        return False

    def __repr__(self):
        return f"<KerasTensor shape={self.shape}, dtype={self.dtype}, name={self.name}>"

    def _no_value(self, *args, **kwargs):
        raise no_value_error(self)

    __array__ = __int__ = __float__ = __index__ = _no_value

    def __bool__(self):
        raise SymbolicValueError("A symbolic KerasTensor cannot be used as a boolean: it has "
                                 "no value.")

    def __len__(self):
        raise SymbolicValueError("A symbolic KerasTensor has no length; use `.shape`.")

    def __iter__(self):
        raise SymbolicValueError("Iterating over a symbolic KerasTensor is not supported; "
                                 "index it (`x[:, i]`) or use rnnkit.ops.unstack.")

    # Operators beyond ArithmeticOperators' (arithmetic, indexing, `-x`, `.T`). `==` stays
    # identity, so that symbolic tensors hash and compare as objects, as in Keras.
    __lt__ = binary("less")
    __le__ = binary("less_equal")
    __gt__ = binary("greater")
    __ge__ = binary("greater_equal")
    __ne__ = binary("not_equal")
    __hash__ = object.__hash__
    __floordiv__ = binary("floor_divide")
    __rfloordiv__ = binary("floor_divide", True)
    __mod__ = binary("mod")
    __rmod__ = binary("mod", True)
    __and__ = binary("logical_and")
    __rand__ = binary("logical_and", True)
    __or__ = binary("logical_or")
    __ror__ = binary("logical_or", True)
    __xor__ = binary("logical_xor")
    __rxor__ = binary("logical_xor", True)

    # Keras' names for these two: an `Absolute` and a `TrueDivide` op.
    __truediv__ = binary("true_divide")
    __rtruediv__ = binary("true_divide", True)

    def __abs__(self):
        return ops().absolute(self)

    def __invert__(self):
        return ops().logical_not(self)

    def __round__(self, ndigits=None):
        return ops().round(self, ndigits or 0)


def is_symbolic(structure):
    """Whether `structure` (a value, or lists / tuples / dicts of values) holds a KerasTensor.

    Example:

    >>> import numpy as np, rnnkit as keras
    >>> from rnnkit.graph import is_symbolic
    >>> is_symbolic([np.ones(2), {"a": keras.Input((3,))}]), is_symbolic(np.ones(2))
    (True, False)
    """
    if isinstance(structure, KerasTensor):
        return True
    return any(isinstance(x, KerasTensor) for x in tree.flatten(structure))
