"""Which array library computes: the one place that chooses it from the arrays at hand.

rnnkit computes with NumPy on the CPU and with a library that follows NumPy's API on other
devices (CuPy on NVIDIA GPUs). Code that needs a module to create arrays or convert values
asks this module for it instead of naming NumPy:

    xp = array_library.namespace(x, w)        # numpy, cupy, ... ; mixing devices is an error
    zeros = xp.zeros(x.shape, dtype=x.dtype)

Functions of NumPy applied to a device array (`np.tanh(cupy_x)`, `np.sum(...)`) dispatch to
the array's own library through NumPy's `__array_ufunc__` / `__array_function__` protocols
(CuPy implements both), so arithmetic written against NumPy runs where its inputs live; what
must be chosen here is where an array is *made* (`xp.zeros`, `xp.asarray`) or a value is
converted.

Host round-trips happen only where they are asked for: `to_host(x)` (a NumPy array) and
`to_device(x, device)`. Nothing else copies device data to the host; a device array refuses
implicit conversion (`np.asarray(cupy_x)` raises TypeError).

Libraries: NumPy for host arrays (`"cpu:0"`), CuPy for GPU arrays (imported only when a GPU
array is seen, never required), and any library registered with `register_array_library`
(the test suite registers a strict wrapper around NumPy that, like CuPy, refuses implicit
conversion, so a hidden host round-trip fails a test on a machine without a GPU).
"""

from __future__ import annotations

import threading

import numpy as np

from rnnkit import _core

__all__ = ["ArrayLibrary", "NUMPY", "as_array", "register_array_library", "unregister_array_library",
           "only_host", "library_of", "library_for_device", "namespace", "device_of", "is_host",
           "to_host", "to_device", "check_same_device", "DeviceMismatchError"]


class DeviceMismatchError(ValueError):
    """Arrays on different devices were given to one operation."""


class ArrayLibrary:
    """An array library rnnkit computes with on one type of device.

    Args:
        name: Short name, e.g. `"numpy"`, `"cupy"`.
        device_type: The device type its arrays live on (`"cpu"`, `"gpu"`, or a new type,
            which `rnnkit.device(...)` then accepts).
        array_types: Tuple of the classes of its arrays (matched by exact type).
        namespace: The module (or module-like object) with NumPy's functions for its arrays
            (`zeros`, `asarray`, `where`, ...).
        device_index: Callable `array -> int`, the index of the device an array is on.
            Defaults to 0 for every array.
        to_host: Callable `array -> np.ndarray`, the explicit copy to host memory.
        to_device: Callable `(np.ndarray, index) -> array`, the explicit copy to device
            `index`.
        device_count: Number of devices of `device_type`. Defaults to 1.
        rng: Optional callable `(seed_words, index) -> generator` with NumPy Generator's
            `random(shape, dtype)`, `standard_normal(shape, dtype)` and `uniform`, drawing
            on the device. Defaults to drawing on the host and copying (explicitly).
        sequence: Optional module-like object with the fused recurrent core for its arrays:
            `rnn_forward` / `rnn_backward` with `rnnkit.core`'s signatures.
        special: Optional module-like object with `scipy.special`'s functions (`erf`,
            `erfinv`, ...) for its arrays, e.g. `cupyx.scipy.special`.
    """

    def __init__(self, name, device_type, array_types, namespace, *, to_host, to_device,
                 device_index=None, device_count=1, rng=None, sequence=None, special=None):
        self.name = name
        self.device_type = device_type
        self.array_types = tuple(array_types)
        self.namespace = namespace
        self._to_host = to_host
        self._to_device = to_device
        self._device_index = device_index
        self.device_count = device_count
        self._rng = rng
        self.sequence = sequence
        self.special = special

    def device_index(self, array):
        """The index of the device `array` is on."""
        return 0 if self._device_index is None else int(self._device_index(array))

    def device_name(self, array):
        """The canonical device name of `array`, e.g. `"gpu:0"`."""
        return f"{self.device_type}:{self.device_index(array)}"

    def to_host(self, array):
        """An explicit copy of `array` in host memory (a NumPy array)."""
        return self._to_host(array)

    def to_device(self, array, index=0):
        """An explicit copy of the host array `array` on device `index`."""
        return self._to_device(array, index)

    def rng(self, seed_words, index=0):
        """A random generator that draws on device `index` from `seed_words` (ints)."""
        if self._rng is not None:
            return self._rng(seed_words, index)
        return _HostDrawnGenerator(self, seed_words, index)

    def __repr__(self):
        return f"<ArrayLibrary {self.name} on {self.device_type}>"


def _numpy_rng(seed_words, index=0):
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(list(seed_words))))


class _HostDrawnGenerator:
    """Draws with NumPy's generator and copies the draws to the device (explicitly)."""

    def __init__(self, library, seed_words, index):
        self._library, self._index = library, index
        self._rng = _numpy_rng(seed_words)

    def __getattr__(self, name):
        draw = getattr(self._rng, name)

        def on_device(*args, **kwargs):
            return self._library.to_device(np.asarray(draw(*args, **kwargs)), self._index)
        return on_device


NUMPY = ArrayLibrary("numpy", "cpu", (np.ndarray,), np, to_host=lambda a: a,
                     to_device=lambda a, index=0: a, rng=_numpy_rng)

_HOST_SCALARS = (int, float, bool, complex)
_lock = threading.Lock()
_by_type = {np.ndarray: NUMPY}        # exact array class -> library
_by_device_type = {"cpu": NUMPY}
_cupy_library = None
_only_host = True       # no library but NumPy's is registered: every array is a host array


def only_host():
    """Whether NumPy is the only array library registered, so that no array, `Variable` or
    current device can be anywhere but on the host (the CPU's fast check: code that places
    arrays skips its device logic when this is true)."""
    return _only_host


def register_array_library(library):
    """Makes rnnkit compute with `library` on arrays of its types and on its device type.

    The library's device type becomes available to `rnnkit.device(...)` with
    `library.device_count` devices. Registering a library of the same name again replaces it.

    Args:
        library: An `ArrayLibrary`.

    Raises:
        TypeError: If `library` is not an `ArrayLibrary`.
        ValueError: If its device type is `"cpu"` (NumPy's).
    """
    global _only_host
    from rnnkit import placement
    if not isinstance(library, ArrayLibrary):
        raise TypeError(f"register_array_library expects an ArrayLibrary, got "
                        f"{type(library).__name__}")
    if library.device_type == "cpu":
        raise ValueError("The 'cpu' device type belongs to NumPy; register the library under "
                         "another device type")
    with _lock:
        _remove(library.name)
        for kind in library.array_types:
            _by_type[kind] = library
        _by_device_type[library.device_type] = library
        _only_host = False
    placement._define_device_type(library.device_type)
    placement.register_device_type(library.device_type, library.device_count)


def unregister_array_library(name):
    """Removes the library registered under `name` (and its devices); unknown names are
    ignored."""
    from rnnkit import placement
    with _lock:
        removed = _remove(name)
    if removed is not None:
        placement.register_device_type(removed.device_type, 0)


def _remove(name):
    global _cupy_library, _only_host
    old = next((lib for lib in _by_device_type.values() if lib.name == name), None)
    if old is None or old is NUMPY:
        return None
    for kind in old.array_types:
        _by_type.pop(kind, None)
    _by_device_type.pop(old.device_type, None)
    if old is _cupy_library:
        _cupy_library = None
    _only_host = len(_by_device_type) == 1
    return old


def _cupy():
    """The CuPy library, registered on first use (imports CuPy)."""
    global _cupy_library
    if _cupy_library is None:
        import cupy

        import cupyx.scipy.special as special

        from rnnkit.cuda import sequence

        def to_device(array, index=0):
            with cupy.cuda.Device(index):
                return cupy.asarray(array)

        def rng(seed_words, index=0):
            with cupy.cuda.Device(index):
                return cupy.random.Generator(cupy.random.XORWOW(
                    int(np.random.SeedSequence(list(seed_words)).generate_state(1)[0])))

        library = ArrayLibrary(
            "cupy", "gpu", (cupy.ndarray,), cupy, to_host=cupy.asnumpy, to_device=to_device,
            device_index=lambda a: a.device.id, device_count=cupy.cuda.runtime.getDeviceCount(),
            rng=rng, sequence=sequence, special=special)
        register_array_library(library)
        _cupy_library = library
    return _cupy_library


def library_of(value):
    """The `ArrayLibrary` of `value`: NumPy for host arrays and Python values, CuPy for GPU
    arrays, or a registered library.

    Args:
        value: An array, a `Variable` or `Tensor` (their value counts), or any Python value.

    Returns:
        An `ArrayLibrary`.
    """
    kind = type(value)
    if kind is np.ndarray:            # the CPU's fast path
        return NUMPY
    library = _by_type.get(kind)
    if library is not None:
        return library
    if kind in _HOST_SCALARS or isinstance(value, np.generic):
        return NUMPY
    inner = getattr(value, "_value", None)       # Variable, autodiff.Tensor
    if inner is not None and kind.__name__ in ("Variable", "Tensor"):
        return library_of(inner)
    if kind in (list, tuple) or value is None:
        return NUMPY
    from rnnkit.cuda.arrays import is_device_array
    if is_device_array(value):
        return _cupy()        # CuPy arrays, and GPU arrays CuPy takes (DLPack, CUDA interface)
    for kind_, library in list(_by_type.items()):
        if isinstance(value, kind_):
            return library
    return NUMPY


def library_for_device(device=None):
    """The `ArrayLibrary` that holds arrays on `device` (default: the current device).

    Args:
        device: A device name (`"cpu"`, `"gpu:0"`, ...) or `None` for
            `rnnkit.placement.current_device()`.

    Raises:
        RuntimeError: If no library computes on that device type.
    """
    from rnnkit import placement
    name = placement.current_device() if device is None else device
    device_type, _ = placement.parse_device_name(name)
    library = _by_device_type.get(device_type)
    if library is None and device_type == "gpu":
        library = _cupy()
    if library is None:
        raise RuntimeError(f"No array library computes on device {name!r}")
    return library


def device_of(value):
    """The canonical device name of `value` (`"cpu:0"` for host arrays and Python values)."""
    library = library_of(value)
    if library is NUMPY:
        return "cpu:0"
    if type(value).__name__ in ("Variable", "Tensor") and hasattr(value, "_value"):
        value = value._value
    return library.device_name(value)


def is_real_floating(dtype):
    """Whether `dtype` (a NumPy dtype) holds real floats: float16/32/64, and bfloat16, which
    `ml_dtypes` registers with NumPy's kind "V" (a mixed_bfloat16 policy's compute dtype)."""
    return dtype.kind == "f" or (dtype.kind == "V" and dtype.name == "bfloat16")


_FLOAT32 = np.dtype(np.float32)
_UINT16 = np.dtype(np.uint16)


def astype(array, dtype):
    """`array` (a NumPy array) in `dtype`: `array` itself when it has it already, else
    `array.astype(dtype)`. float32 <-> bfloat16 conversions of C-contiguous arrays run in C++
    (`rnnkit._core.convert_bfloat16`: the same bits as ml_dtypes' cast, several times faster,
    large arrays on the thread team)."""
    dtype = np.dtype(dtype)
    source = array.dtype
    if source is dtype or source == dtype:
        return array
    if array.size >= 1024 and array.flags.c_contiguous:
        if source is _FLOAT32 and dtype.kind == "V" and dtype.name == "bfloat16":
            out = np.empty(array.shape, dtype)
            _core.convert_bfloat16(array, out.view(_UINT16))
            return out
        if dtype is _FLOAT32 and source.kind == "V" and source.name == "bfloat16":
            out = np.empty(array.shape, _FLOAT32)
            _core.convert_bfloat16(array.view(_UINT16), out)
            return out
    return array.astype(dtype)


def is_host(value):
    """Whether `value` is in host memory (a NumPy array or a Python value)."""
    return type(value) is np.ndarray or library_of(value) is NUMPY


def host_scalar(value):
    """A 0-d NumPy array as a NumPy scalar, anything else as it is: a host number meets the
    arrays of every device as a scalar (CuPy's kernels refuse 0-d NumPy arrays)."""
    return value[()] if type(value) is np.ndarray and value.ndim == 0 else value


def special_function(name, x, host, generic=None):
    """`scipy.special.<name>` of array `x` on its own device: `host(x)` for host arrays, else
    the library's `special.<name>` (`ArrayLibrary.special`), else `generic(x)` (an
    implementation from elementwise NumPy functions, which follow the array's library).

    Raises:
        NotImplementedError: `x` is a device array whose library has no such function and no
            `generic` was given (copying to the host behind the caller's back is not an option).
    """
    if type(x) is np.ndarray or is_host(x):
        return host(x)
    library = library_of(x)
    function = getattr(library.special, name, None) if library.special is not None else None
    if function is not None:
        return function(x)
    if generic is not None:
        return generic(x)
    raise NotImplementedError(
        f"{name} of {library.name} arrays: the library registered no special function "
        f"{name!r} (ArrayLibrary.special); copy the array to the host explicitly first")


def check_same_device(*values, what="this operation"):
    """The device all `values` (arrays; `None` and Python numbers are ignored) are on.

    Raises:
        DeviceMismatchError: (a ValueError) naming both devices when two differ.
    """
    first = None
    for value in values:
        if value is None or type(value) in (int, float, bool):
            continue
        where = "cpu:0" if type(value) is np.ndarray else device_of(value)
        if first is None:
            first = where
        elif where != first:
            raise DeviceMismatchError(
                f"Arrays on different devices in {what}: one is on {first!r} and another on "
                f"{where!r}. Move them to one device first (rnnkit.array_library.to_device / "
                f"to_host).")
    return first or "cpu:0"


def namespace(*values):
    """The array module for `values` (numpy, cupy, or a registered library's namespace).

    Python numbers, NumPy scalars and `None` count as any device; all arrays must be on one
    device.

    Raises:
        DeviceMismatchError: (a ValueError) naming both devices when arrays are on different
            devices.
    """
    library = None
    for value in values:
        if type(value) is np.ndarray:
            this = NUMPY
        elif value is None or type(value) in (int, float, bool):
            continue
        else:
            this = library_of(value)
        if library is None:
            library = this
        elif this is not library:
            check_same_device(*values)
    if library is None or library is NUMPY:
        return np
    if library.device_count > 1:
        check_same_device(*values)
    return library.namespace


def as_array(value, dtype=None):
    """`value` as an array of its own library, never moved: host values (Python numbers,
    lists, NumPy scalars) become NumPy arrays, device arrays stay as they are (cast to `dtype`
    when given, on their device)."""
    kind = type(value)
    if kind is np.ndarray:
        return value if dtype is None else value.astype(dtype, copy=False)
    if kind in _HOST_SCALARS or isinstance(value, np.generic):    # an op's NumPy scalar
        return np.asarray(value, dtype=dtype)
    library = library_of(value)
    if library is NUMPY:
        return np.asarray(value, dtype=dtype)
    if type(value).__name__ in ("Variable", "Tensor") and hasattr(value, "_value"):
        value = value._value
    return value if dtype is None else value.astype(dtype, copy=False)


def to_host(value):
    """An explicit copy of `value` in host memory: a NumPy array (host arrays pass as they
    are). The only sanctioned way to bring device data to the host."""
    if type(value) is np.ndarray:
        return value
    if type(value).__name__ in ("Variable", "Tensor") and hasattr(value, "_value"):
        value = value._value
    library = library_of(value)
    if library is NUMPY:
        return np.asarray(value)
    return library.to_host(value)


def to_device(value, device=None):
    """`value` on `device` (default: the current device), copied there explicitly when it is
    elsewhere.

    Args:
        value: An array (host or device) or array-like.
        device: A device name such as `"cpu"` or `"gpu:0"`; `None` means the current device.

    Returns:
        An array of the device's library (a NumPy array for the CPU).
    """
    from rnnkit import placement
    name = placement.current_device() if device is None else device
    target = library_for_device(name)
    _, index = placement.parse_device_name(name)
    source = library_of(value)
    if target is NUMPY:
        return to_host(value)
    if source is target and target.device_index(value) == index:
        return value
    host = to_host(value) if source is not NUMPY else np.asarray(value)
    return target.to_device(host, index)
