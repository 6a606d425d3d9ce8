"""A strict array library for the CPU: NumPy arrays that, like CuPy's, refuse implicit
conversion to the host.

`StrictArray` wraps an `np.ndarray`. `np.asarray(s)`, `float(s)`, `int(s)`, `bool(s)`,
`s.item()` and `s.tolist()` raise TypeError, as CuPy's arrays do, so code that pulls device data
to the host behind the user's back fails a test here, without a GPU. `s.get()` and
`to_host` are the explicit copies (CuPy's `.get()` / `cupy.asnumpy`). NumPy functions and
ufuncs applied to a StrictArray dispatch to this library (NumPy's `__array_function__` /
`__array_ufunc__` protocols, which CuPy implements too) and return StrictArrays; mixing a
StrictArray with a host array -- even a 0-d one, which CuPy's kernels refuse as well (they take
Python and NumPy scalars only) -- is a TypeError. Host index arrays are accepted in indexing
(an upload, as in CuPy).

`strict` is the module namespace (`strict.zeros`, `strict.asarray`, `strict.random`, ...): a
proxy over NumPy that unwraps arguments and wraps results. The fused recurrent core for this
library (`StrictSequence`) copies to the host CPU core and back explicitly -- the equivalent of
CuPy's `rnnkit.cuda.sequence`.

`register()` makes it the library of the device type `"strict"` (`rnnkit.device("strict:0")`).
"""

from __future__ import annotations

import types

import numpy as np

from rnnkit import array_library, core

DEVICE = "strict:0"


def _refuse(what):
    raise TypeError(f"Implicit conversion of a StrictArray to {what} is not allowed; use "
                    f".get() or rnnkit.array_library.to_host() to copy it to the host "
                    f"explicitly (as CuPy refuses it)")


def _unwrap(value):
    """StrictArray -> its ndarray (also inside lists and tuples); host arrays are refused,
    0-d ones included (CuPy's kernels take Python and NumPy scalars, no NumPy array)."""
    kind = type(value)
    if kind is StrictArray:
        return value._a
    if kind is np.ndarray:
        raise TypeError(f"A host numpy.ndarray of shape {value.shape} was mixed with "
                        f"StrictArrays; copy it to the device explicitly first")
    if kind in (list, tuple):
        return kind(_unwrap(v) for v in value)
    if kind is dict:
        return {k: _unwrap(v) for k, v in value.items()}
    return value


def _unwrap_key(key):
    if type(key) is tuple:
        return tuple(_unwrap_key(k) for k in key)
    if type(key) is StrictArray:
        return key._a
    return key


def _wrap(value):
    kind = type(value)
    if kind is np.ndarray:
        return StrictArray(value)
    if isinstance(value, np.generic):
        return StrictArray(np.asarray(value))
    if kind in (list, tuple):
        return kind(_wrap(v) for v in value)
    return value


class StrictArray:
    """An `np.ndarray` in a strict "device" memory: no implicit conversion to the host."""

    __slots__ = ("_a",)
    __array_priority__ = 1000

    def __init__(self, array):
        self._a = array if type(array) is np.ndarray else np.asarray(array)

    # -- explicit transfer ---------------------------------------------------------------------
    def get(self):
        """An explicit copy in host memory (CuPy's `.get()`)."""
        return self._a.copy()

    @property
    def device(self):
        """The device name."""
        return DEVICE

    # -- refused implicit conversions ----------------------------------------------------------
    def __array__(self, dtype=None, copy=None):
        _refuse("a NumPy array")

    def __float__(self):
        _refuse("a Python float")

    def __int__(self):
        _refuse("a Python int")

    def __index__(self):
        _refuse("a Python int")

    def __bool__(self):
        _refuse("a Python bool")

    def __complex__(self):
        _refuse("a Python complex")

    def item(self, *args):
        """Refused (implicit host conversion)."""
        _refuse("a Python scalar (item)")

    def tolist(self):
        """Refused (implicit host conversion)."""
        _refuse("a Python list (tolist)")

    def __iter__(self):
        for i in range(len(self._a)):
            yield StrictArray(self._a[i])

    def __len__(self):
        return len(self._a)

    def __repr__(self):
        return f"StrictArray(shape={self._a.shape}, dtype={self._a.dtype})"

    __hash__ = None

    # -- NumPy's protocols (as CuPy) -----------------------------------------------------------
    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        out = kwargs.get("out")
        kwargs = _unwrap(kwargs)
        result = getattr(ufunc, method)(*_unwrap(inputs), **kwargs)
        if out is not None:
            return out[0] if len(out) == 1 else out
        return _wrap(result)

    def __array_function__(self, func, types, args, kwargs):
        return _wrap(func(*_unwrap(args), **_unwrap(kwargs)))

    # -- array attributes and methods ---------------------------------------------------------
    shape = property(lambda self: self._a.shape, doc="The shape.")
    dtype = property(lambda self: self._a.dtype, doc="The dtype.")
    ndim = property(lambda self: self._a.ndim, doc="The number of dimensions.")
    size = property(lambda self: self._a.size, doc="The number of elements.")
    nbytes = property(lambda self: self._a.nbytes, doc="The size in bytes.")
    itemsize = property(lambda self: self._a.itemsize, doc="The element size in bytes.")
    strides = property(lambda self: self._a.strides, doc="The strides in bytes.")
    flags = property(lambda self: self._a.flags, doc="The memory layout flags.")
    T = property(lambda self: StrictArray(self._a.T), doc="The transpose.")

    def __getitem__(self, key):
        # host index arrays are uploaded, as CuPy does (no device data reaches the host)
        return _wrap(self._a[_unwrap_key(key)])

    def __setitem__(self, key, value):
        self._a[_unwrap(key)] = _unwrap(value)

    def __getattr__(self, name):
        # ndarray methods (astype, reshape, sum, copy, ...): unwrap arguments, wrap results.
        # No dunder attribute passes: NumPy would read `__array_interface__` /
        # `__array_struct__` to convert without asking `__array__`.
        if name.startswith("__") or name in ("data", "ctypes", "base", "view", "tobytes",
                                             "tofile", "dump", "dumps"):
            raise AttributeError(name)
        attr = getattr(self._a, name)
        if not callable(attr):
            return attr

        def method(*args, **kwargs):
            return _wrap(attr(*_unwrap(args), **_unwrap(kwargs)))
        return method


def _defers_to(other):
    """CuPy's rule for `cupy_x <op> other` (`_should_use_rop`): the other operand's reflected
    method runs when it opts out of ufuncs (`__array_ufunc__ = None`), or has no
    `__array_ufunc__` and a higher `__array_priority__` than CuPy's 100."""
    if not hasattr(other, "__array_ufunc__"):
        return getattr(other, "__array_priority__", 0) > 100
    return other.__array_ufunc__ is None


def _binary(ufunc, reflected=False):
    if reflected:
        return lambda self, other: ufunc(other, self)
    return lambda self, other: NotImplemented if _defers_to(other) else ufunc(self, other)


for _name, _ufunc in (("add", np.add), ("sub", np.subtract), ("mul", np.multiply),
                      ("truediv", np.true_divide), ("floordiv", np.floor_divide),
                      ("mod", np.mod), ("pow", np.power), ("matmul", np.matmul),
                      ("and", np.bitwise_and), ("or", np.bitwise_or),
                      ("xor", np.bitwise_xor)):
    setattr(StrictArray, f"__{_name}__", _binary(_ufunc))
    setattr(StrictArray, f"__r{_name}__", _binary(_ufunc, reflected=True))
for _name, _ufunc in (("lt", np.less), ("le", np.less_equal), ("gt", np.greater),
                      ("ge", np.greater_equal), ("eq", np.equal), ("ne", np.not_equal)):
    setattr(StrictArray, f"__{_name}__", _binary(_ufunc))
def _inplace(ufunc):
    def method(self, other):
        ufunc(self._a, _unwrap(other), out=self._a)
        return self
    return method


for _name, _ufunc in (("add", np.add), ("sub", np.subtract), ("mul", np.multiply),
                      ("truediv", np.true_divide), ("floordiv", np.floor_divide),
                      ("mod", np.mod), ("pow", np.power), ("and", np.bitwise_and),
                      ("or", np.bitwise_or), ("xor", np.bitwise_xor)):
    setattr(StrictArray, f"__i{_name}__", _inplace(_ufunc))
StrictArray.__neg__ = lambda self: np.negative(self)
StrictArray.__pos__ = lambda self: np.positive(self)
StrictArray.__abs__ = lambda self: np.absolute(self)
StrictArray.__invert__ = lambda self: np.invert(self)


class _Namespace:
    """A module-like proxy over a NumPy module: functions unwrap StrictArrays and wrap
    results; `asarray` / `array` of host data copy it to the strict device (as `cupy.asarray`
    does)."""

    def __init__(self, module, name):
        self._module = module
        self.__name__ = name

    def __getattr__(self, name):
        attr = getattr(self._module, name)
        if isinstance(attr, type(np)):
            return _Namespace(attr, f"{self.__name__}.{name}")
        if not callable(attr) or isinstance(attr, type) and not issubclass(attr, np.generic):
            return attr
        if isinstance(attr, type):          # np.float32 etc: scalar types stay host scalars
            return attr

        def function(*args, **kwargs):
            return _wrap(attr(*_unwrap(args), **_unwrap(kwargs)))
        function.__name__ = name
        return function

    def asarray(self, value, dtype=None, order=None):
        """The array on the strict device (host data is copied there)."""
        if type(value) is StrictArray:
            return value if dtype is None else value.astype(dtype, copy=False)
        return StrictArray(np.array(value, dtype=dtype, order=order))

    def array(self, value, dtype=None, copy=True, order="K", ndmin=0):
        """A copy on the strict device."""
        inner = value._a if type(value) is StrictArray else value
        return StrictArray(np.array(inner, dtype=dtype, copy=copy, order=order, ndmin=ndmin))

    def ascontiguousarray(self, value, dtype=None):
        """A C-contiguous array on the strict device."""
        inner = value._a if type(value) is StrictArray else value
        return StrictArray(np.ascontiguousarray(inner, dtype=dtype))

    def asnumpy(self, value):
        """The explicit copy to the host (CuPy's `asnumpy`)."""
        return value._a.copy() if type(value) is StrictArray else np.asarray(value)

    ndarray = StrictArray


strict = _Namespace(np, "strict")


def to_host(array):
    """Explicit copy to the host."""
    return array._a.copy()


def to_device(array, index=0):
    """Explicit copy to the strict device."""
    return StrictArray(np.array(array, copy=True))


class _Generator:
    """NumPy's Generator drawing "on the strict device": the same numbers as the host."""

    def __init__(self, seed_words):
        self._rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence(
            list(seed_words))))

    def __getattr__(self, name):
        draw = getattr(self._rng, name)
        return lambda *args, **kwargs: _wrap(np.asarray(draw(*_unwrap(args),
                                                             **_unwrap(kwargs))))


class StrictSequence:
    """The fused recurrent core on StrictArrays: explicit copies to the host CPU core and back
    (what `rnnkit.cuda.sequence` is for CuPy arrays)."""

    calls = 0

    @staticmethod
    def _host(kwargs):
        return {k: (to_host(v) if type(v) is StrictArray else
                    [to_host(s) if type(s) is StrictArray else s for s in v]
                    if type(v) in (list, tuple) else v) for k, v in kwargs.items()}

    @classmethod
    def rnn_forward(cls, cell, *arrays, **kwargs):
        """`rnnkit.core.rnn_forward` on StrictArrays (returns StrictArrays)."""
        cls.calls += 1
        arrays = [to_host(a) if type(a) is StrictArray else a for a in arrays]
        result = core.rnn_forward(cell, *arrays, **cls._host(kwargs))
        wrap = lambda a: None if a is None else to_device(a)   # noqa: E731
        return core.ForwardResult(wrap(result.output), [wrap(s) for s in result.states],
                                  wrap(result.reserve))

    @classmethod
    def rnn_backward(cls, cell, *arrays, **kwargs):
        """`rnnkit.core.rnn_backward` on StrictArrays (returns StrictArrays)."""
        cls.calls += 1
        arrays = [to_host(a) if type(a) is StrictArray else a for a in arrays]
        g = core.rnn_backward(cell, *arrays, **cls._host(kwargs))
        wrap = lambda a: None if a is None else to_device(a)   # noqa: E731
        d_initial = None if g.d_initial_state is None else [wrap(s) for s in g.d_initial_state]
        return core.Gradients(wrap(g.d_x), d_initial,
                              wrap(g.d_kernel), wrap(g.d_recurrent_kernel), wrap(g.d_bias))


def _host_erf(a):
    """erf of a host array in its float dtype (SciPy's where installed, else math.erf)."""
    try:
        from scipy.special import erf
    except ImportError:
        import math
        out = np.vectorize(math.erf, otypes=[np.float64])(a)
        return out.astype(a.dtype) if a.dtype.kind == "f" else out
    return erf(a)


# The strict library's scipy.special (CuPy's is cupyx.scipy.special). It has erf but no erfinv,
# so that rnnkit's elementwise fallback for a library without a function runs here too.
_special = _Namespace(types.SimpleNamespace(erf=_host_erf), "strict.special")

LIBRARY = array_library.ArrayLibrary(
    "strict", "strict", (StrictArray,), strict, to_host=to_host, to_device=to_device,
    rng=lambda seed_words, index=0: _Generator(seed_words), sequence=StrictSequence,
    special=_special)


def register():
    """Registers the strict library (device type `"strict"`)."""
    array_library.register_array_library(LIBRARY)


def unregister():
    """Removes it again."""
    array_library.unregister_array_library("strict")
