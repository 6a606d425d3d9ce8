"""The array operators that `autodiff.Tensor` and `variables.Variable` share.

Every operator goes through `rnnkit.ops`, so that it is recorded on a `GradientTape` like any
other op. `rnnkit.ops` is built on both classes, so it is imported on first use, not here.
"""

from __future__ import annotations

_ops_module = None


def ops():
    """`rnnkit.ops`, imported on first use and cached (operators run on every training step)."""
    global _ops_module
    if _ops_module is None:
        from rnnkit import ops as module
        _ops_module = module
    return _ops_module


def binary(name, reflected=False):
    """A binary operator method calling `rnnkit.ops.<name>` (with swapped operands if
    `reflected`)."""
    def method(self, other):
        fn = getattr(ops(), name)
        return fn(other, self) if reflected else fn(self, other)
    method.__name__ = name
    return method


class ArithmeticOperators:
    """Arithmetic, `-x`, indexing and `.T` through `rnnkit.ops`.

    No comparisons here: `==` on a Variable stays identity (so it hashes and compares as an
    object, as it always has), while Tensor adds element-wise comparisons itself.
    """

    __slots__ = ()  # Tensor has __slots__; a mixin without them would give it a __dict__

    def __getitem__(self, key):
        return ops().get_item(self, key)

    @property
    def T(self):
        """The transpose (`rnnkit.ops.transpose`), recorded on a `GradientTape`."""
        return ops().transpose(self)

    def __neg__(self):
        return ops().negative(self)

    __add__ = binary("add")
    __radd__ = binary("add", True)
    __sub__ = binary("subtract")
    __rsub__ = binary("subtract", True)
    __mul__ = binary("multiply")
    __rmul__ = binary("multiply", True)
    __truediv__ = binary("divide")
    __rtruediv__ = binary("divide", True)
    __matmul__ = binary("matmul")
    __rmatmul__ = binary("matmul", True)
    __pow__ = binary("power")
    __rpow__ = binary("power", True)
