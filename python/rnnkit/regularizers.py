"""Weight regularizers (`keras.regularizers`).

A regularizer maps a weight (array, Variable or autodiff Tensor) to a scalar penalty. The
penalties are computed with `rnnkit.ops`, so they are differentiable when recorded on a
gradient tape.

    L1(l1=0.01)           l1 * sum(|x|)
    L2(l2=0.01)           l2 * sum(x**2)
    L1L2(l1=0.0, l2=0.0)  both
    OrthogonalRegularizer(factor=0.01, mode="rows")
        factor * 0.5 * sum(|P - diag(P)|) / (n (n - 1) / 2), P = the Gram matrix of the
        L2-normalized rows (or columns) of a 2-D weight, n = their number.

`get(identifier)` accepts None, 'l1', 'l2', 'l1l2' / 'l1_l2', 'orthogonal_regularizer', the
class names, a config dict, a Regularizer, a class, or any callable `x -> scalar`.
"""

from __future__ import annotations

import math

import numpy as np

from rnnkit import saving as _saving

__all__ = ["L1", "L1L2", "L2", "OrthogonalRegularizer", "Regularizer", "deserialize", "get",
           "l1", "l1_l2", "l2", "orthogonal_regularizer", "serialize"]

_EPSILON = 1e-7


def _ops():
    from rnnkit import ops  # imported lazily: ops is a sibling module built on autodiff

    return ops


def validate_float_arg(value, name):
    """Checks a regularization factor.

    Args:
        value: The factor.
        name: The argument's name, for the error message.

    Returns:
        `float(value)`.

    Raises:
        ValueError: If `value` is not a finite non-negative number.
    """
    if (isinstance(value, (bool, np.bool_))
            or not isinstance(value, (int, float, np.integer, np.floating))
            or math.isinf(value) or math.isnan(value) or value < 0):
        raise ValueError(
            f"Invalid value for argument {name}: expected a non-negative float."
            f"Received: {name}={value}")
    return float(value)


def _float_dtype(x):
    dt = getattr(x, "dtype", None)
    dt = np.asarray(x).dtype if dt is None else np.dtype(dt)
    return dt if dt.kind == "f" else np.dtype("float32")


def _factor(value, x):
    return np.asarray(value, dtype=_float_dtype(x))


class Regularizer:
    """The base class of weight regularizers.

    A regularizer maps a weight to a scalar penalty that is added to the training loss
    (through `layer.losses`). Pass one as a layer's `kernel_regularizer` and the like.
    Subclasses implement `__call__(x)` with `rnnkit.ops` (so that the penalty is
    differentiable) and `get_config()`.

    Example:

    >>> import numpy as np, rnnkit as keras
    >>> class SumSquares(keras.regularizers.Regularizer):
    ...     def __call__(self, x):
    ...         return keras.ops.sum(keras.ops.square(x))
    ...     def get_config(self):
    ...         return {}
    >>> SumSquares()(np.array([1.0, 2.0]))
    array(5.)
    """

    def __call__(self, x):
        """Returns the penalty of weight `x` (0.0 in the base class)."""
        return 0.0

    @classmethod
    def from_config(cls, config):
        """Creates a regularizer from the dict returned by `get_config()`."""
        return cls(**config)

    def get_config(self):
        """Returns the constructor arguments as a dict; override it in subclasses.

        Raises:
            NotImplementedError: In the base class.
        """
        raise NotImplementedError(f"{type(self).__name__} does not implement get_config()")

    def __repr__(self):
        return _saving._config_repr(self)


class L1L2(Regularizer):
    """A regularizer applying both L1 and L2 penalties: `l1 * sum(|x|) + l2 * sum(x**2)`.

    Args:
        l1: Non-negative float, the L1 factor. Defaults to 0 (`None` also means 0).
        l2: Non-negative float, the L2 factor. Defaults to 0 (`None` also means 0).

    Call arguments:
        x: The weight (an array, `Variable` or `Tensor`).

    Returns:
        A scalar penalty, in the weight's floating dtype (differentiable).

    Raises:
        ValueError: If a factor is negative or not a finite number.

    Example:

    >>> import numpy as np, rnnkit as keras
    >>> keras.regularizers.L1L2(l1=0.1, l2=0.1)(np.array([1.0, -2.0]))
    array(0.8)
    """

    def __init__(self, l1=0.0, l2=0.0):
        l1 = 0.0 if l1 is None else l1
        l2 = 0.0 if l2 is None else l2
        self.l1 = validate_float_arg(l1, name="l1")
        self.l2 = validate_float_arg(l2, name="l2")

    def __call__(self, x):
        ops = _ops()
        reg = None
        if self.l1:
            reg = ops.multiply(_factor(self.l1, x), ops.sum(ops.abs(x)))
        if self.l2:
            term = ops.multiply(_factor(self.l2, x), ops.sum(ops.square(x)))
            reg = term if reg is None else ops.add(reg, term)
        if reg is None:
            return np.zeros((), dtype=_float_dtype(x))
        return reg

    def get_config(self):
        return {"l1": float(self.l1), "l2": float(self.l2)}


class L1(Regularizer):
    """A regularizer applying an L1 penalty: `l1 * sum(|x|)`.

    Args:
        l1: Non-negative float. Defaults to 0.01 (`None` also means 0.01).

    Call arguments:
        x: The weight (an array, `Variable` or `Tensor`).

    Returns:
        A scalar penalty, in the weight's floating dtype (differentiable).

    Raises:
        ValueError: If `l1` is negative or not a finite number.

    Example:

    >>> import numpy as np, rnnkit as keras
    >>> keras.regularizers.L1(0.1)(np.array([1.0, -2.0]))
    array(0.3)
    """

    def __init__(self, l1=0.01):
        l1 = 0.01 if l1 is None else l1
        self.l1 = validate_float_arg(l1, name="l1")

    def __call__(self, x):
        ops = _ops()
        return ops.multiply(_factor(self.l1, x), ops.sum(ops.abs(x)))

    def get_config(self):
        return {"l1": float(self.l1)}


class L2(Regularizer):
    """A regularizer applying an L2 penalty: `l2 * sum(x**2)`.

    Args:
        l2: Non-negative float. Defaults to 0.01 (`None` also means 0.01).

    Call arguments:
        x: The weight (an array, `Variable` or `Tensor`).

    Returns:
        A scalar penalty, in the weight's floating dtype (differentiable).

    Raises:
        ValueError: If `l2` is negative or not a finite number.

    Example:

    >>> import numpy as np, rnnkit as keras
    >>> layer = keras.layers.Dense(2, kernel_regularizer=keras.regularizers.L2(0.01))
    >>> _ = layer(np.ones((1, 3)))
    >>> len(layer.losses)
    1
    """

    def __init__(self, l2=0.01):
        l2 = 0.01 if l2 is None else l2
        self.l2 = validate_float_arg(l2, name="l2")

    def __call__(self, x):
        ops = _ops()
        return ops.multiply(_factor(self.l2, x), ops.sum(ops.square(x)))

    def get_config(self):
        return {"l2": float(self.l2)}


class OrthogonalRegularizer(Regularizer):
    """A regularizer that pushes the rows or columns of a 2-D weight to be orthogonal.

    The rows (`mode="rows"`) or columns are L2-normalized; the penalty is `factor * 0.5`
    times the sum of the absolute off-diagonal entries of their Gram matrix, divided by
    the number of pairs `n * (n - 1) / 2`.

    Args:
        factor: Non-negative float. Defaults to 0.01.
        mode: `"rows"` (the default) or `"columns"`.

    Call arguments:
        x: The weight (an array, `Variable` or `Tensor`).

    Returns:
        A scalar penalty, in the weight's floating dtype (differentiable).

    Raises:
        ValueError: If `factor` is invalid or `mode` is unknown; on call, if the weight is
            not 2-D.

    Example:

    >>> import numpy as np, rnnkit as keras
    >>> keras.regularizers.OrthogonalRegularizer(factor=1.0)(np.eye(3))
    array(0.)
    """

    def __init__(self, factor=0.01, mode="rows"):
        self.factor = validate_float_arg(factor, name="factor")
        if mode not in {"rows", "columns"}:
            raise ValueError(
                "Invalid value for argument `mode`. Expected one of "
                f'{{"rows", "columns"}}. Received: mode={mode}')
        self.mode = mode

    def __call__(self, inputs):
        shape = tuple(np.shape(inputs) if not hasattr(inputs, "shape") else inputs.shape)
        if len(shape) != 2:
            raise ValueError(
                "Inputs to OrthogonalRegularizer must have rank 2. Received: "
                f"inputs.shape={shape}")
        ops = _ops()
        dt = _float_dtype(inputs)
        axis = 1 if self.mode == "rows" else 0
        square_sum = ops.sum(ops.square(inputs), axis=axis, keepdims=True)
        norm = ops.sqrt(ops.maximum(square_sum, np.asarray(_EPSILON ** 2, dtype=dt)))
        unit = ops.divide(inputs, norm)
        if self.mode == "rows":
            product = ops.matmul(unit, ops.transpose(unit))
            size = shape[0]
        else:
            product = ops.matmul(ops.transpose(unit), unit)
            size = shape[1]
        off_diagonal = ops.multiply(product, (1.0 - np.eye(size)).astype(dt))
        num_pairs = size * (size - 1.0) / 2.0
        scale = np.asarray(self.factor * 0.5 / num_pairs if num_pairs else 0.0, dtype=dt)
        return ops.multiply(scale, ops.sum(ops.abs(off_diagonal)))

    def get_config(self):
        return {"factor": float(self.factor), "mode": self.mode}


# Lower-case aliases, as Keras exports them (they are the classes).
l1 = L1
l2 = L2
l1_l2 = L1L2
orthogonal_regularizer = OrthogonalRegularizer

ALL_OBJECTS_DICT = {
    "Regularizer": Regularizer, "regularizer": Regularizer,
    "L1": L1, "l1": L1,
    "L2": L2, "l2": L2,
    "L1L2": L1L2, "l1l2": L1L2, "l1_l2": L1L2,
    "OrthogonalRegularizer": OrthogonalRegularizer,
    "orthogonal_regularizer": OrthogonalRegularizer,
}


def serialize(regularizer):
    """Serializes a regularizer for saving.

    Args:
        regularizer: A `Regularizer`.

    Returns:
        A config dict (`{"module", "class_name", "config", ...}`).
    """
    return _saving.serialize(regularizer)


def deserialize(config, custom_objects=None):
    """Returns a regularizer from its serialized form.

    Args:
        config: A config dict from `serialize()`, or a name.
        custom_objects: Optional dict mapping names to custom regularizers.

    Returns:
        A `Regularizer` instance.
    """
    return _saving._deserialize_instance(config, custom_objects, ALL_OBJECTS_DICT)


def get(identifier):
    """Returns a regularizer from an identifier.

    Names give an instance with the default arguments: `"l1"`, `"l2"`,
    `"orthogonal_regularizer"` and the class names. `"l1_l2"` gives
    `L1L2(l1=0.01, l2=0.01)` (the Keras documentation's meaning of the string); `"l1l2"`
    and `"L1L2"` give `L1L2()` (both factors 0), as in Keras 3.

    Args:
        identifier: A name, a config dict, a `Regularizer` class or instance, any callable
            `x -> scalar`, or `None`.

    Returns:
        The regularizer (or callable), or `None` for `None`.

    Raises:
        ValueError: If the identifier cannot be interpreted.

    Example:

    >>> import rnnkit as keras
    >>> keras.regularizers.get("l2")
    L2(l2=0.01)
    """
    if isinstance(identifier, str) and identifier == "l1_l2" \
            and _saving.get_registered_object("l1_l2") is None:
        return L1L2(l1=0.01, l2=0.01)
    return _saving._get_object(identifier, "regularizer", ALL_OBJECTS_DICT, deserialize)
