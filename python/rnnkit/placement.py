"""Device placement: the current device and `rnnkit.device(name)` (Keras 3's `keras.device`).

    with rnnkit.device("CPU:0"):
        cpu_model = build_model()
        cpu_model.predict_on_batch(x)

- `device(name)`: a context manager making `name` the current device of this thread inside
  the `with` block. Contexts nest; leaving one (normally or by an exception) restores the
  device that was current before it.
- `current_device()`: the current device as a canonical name. By default that is `"gpu:0"`
  where the GPU backend can run (`rnnkit.cuda.is_available()`: a CUDA build, CuPy, a GPU), as
  Keras puts work on the first GPU, else `"cpu:0"`; the `RNNKIT_DEVICE` environment variable
  (any accepted name, e.g. `RNNKIT_DEVICE=cpu` to keep a GPU machine on the CPU) sets the
  default of every thread.
- `parse_device_name(name)`: `(type, index)`, e.g. `("gpu", 1)` for `"/device:GPU:1"`.
- `list_devices(device_type=None)`: the available devices, e.g. `["cpu:0"]`.

Accepted names (case-insensitive): Keras' `"cpu"`, `"cpu:0"`, `"gpu:1"` (the type alone means
index 0), and TensorFlow's `"/cpu:0"`, `"/device:GPU:0"`,
`"/job:localhost/replica:0/task:0/device:CPU:0"`; `"cuda"` is a synonym of `"gpu"`.

The CPU has one device, `cpu:0`. The GPUs are registered the first time a GPU name is used,
when the GPU backend can run here (`rnnkit.cuda.is_available()`, CuPy installed); elsewhere
naming a GPU (or TPU) raises RuntimeError (as Keras on JAX does where no GPU is present). A
device index that does not exist or a name that is not a device raises ValueError. An array
library registered with `rnnkit.array_library.register_array_library` brings its own device
type. Variables are created on the current device; code that places arrays reads
`current_device()`.

The stack is thread-local: a new thread starts on the default device, not on its parent's.
"""

from __future__ import annotations

import os
import re
import threading

__all__ = ["current_device", "device", "list_devices", "parse_device_name",
           "register_device_type"]

ENV_VAR = "RNNKIT_DEVICE"

# Device types rnnkit knows by name, and the number of devices of each that this build has.
_KNOWN_TYPES = ["cpu", "gpu", "tpu"]
_ALIASES = {"cuda": "gpu"}
_device_counts = {"cpu": 1}

_TF_PREFIX = re.compile(r"job:[a-z0-9_-]+|replica:\d+|task:\d+")
_TYPE_INDEX = re.compile(r"([a-z_]+)(?::(\d+))?")

_state = threading.local()


def _define_device_type(device_type):
    """Adds a device type name (an array library registered for a new kind of device)."""
    device_type = device_type.lower()
    if not _TYPE_INDEX.fullmatch(device_type) or ":" in device_type:
        raise ValueError(f"Invalid device type name {device_type!r}")
    if device_type not in _KNOWN_TYPES:
        _KNOWN_TYPES.append(device_type)


def register_device_type(device_type, count):
    """Makes `count` devices of `device_type` available, or removes them with `count=0`.

    A backend calls this when it loads, so that `device("gpu:0")` and friends accept its
    devices; the CPU backend registers one `"cpu"` device. Registering a type again replaces
    its count.

    Args:
        device_type: `"cpu"`, `"gpu"` (or its synonym `"cuda"`) or `"tpu"`,
            case-insensitive.
        count: The number of devices of that type (`cpu:0`, `cpu:1`, ...); 0 (or None)
            removes the type.

    Raises:
        ValueError: If `device_type` is not one of the known types.

    Example:

    >>> from rnnkit import placement
    >>> placement.register_device_type("gpu", 2)
    >>> placement.list_devices("gpu")
    ['gpu:0', 'gpu:1']
    >>> placement.register_device_type("gpu", 0)
    >>> placement.list_devices("gpu")
    []
    """
    device_type = _ALIASES.get(device_type.lower(), device_type.lower())
    if device_type not in _KNOWN_TYPES:
        raise ValueError(f"Unknown device type {device_type!r}; expected one of "
                         f"{', '.join(_KNOWN_TYPES)}.")
    if count:
        _device_counts[device_type] = int(count)
    else:
        _device_counts.pop(device_type, None)


def list_devices(device_type=None):
    """Lists the available devices as canonical names.

    Args:
        device_type: Optional device type (`"cpu"`, `"gpu"`, `"cuda"`, ...,
            case-insensitive) to list only the devices of that type. A type with no
            devices gives an empty list.

    Returns:
        A list of names `"<type>:<index>"`, such as `["cpu:0"]` (the only device of this
        build unless a backend registered more).

    Example:

    >>> from rnnkit import placement
    >>> placement.list_devices()
    ['cpu:0']
    >>> placement.list_devices("GPU")
    []
    """
    if device_type is not None:
        device_type = _ALIASES.get(device_type.lower(), device_type.lower())
    return [f"{t}:{i}" for t, n in _device_counts.items() if device_type in (None, t)
            for i in range(n)]


def parse_device_name(name):
    """Splits a device name into its type and index.

    Accepts Keras' names (`"cpu"`, `"gpu:1"`; the type alone means index 0) and TensorFlow's
    (`"/cpu:0"`, `"/device:GPU:0"`, `"/job:localhost/replica:0/task:0/device:CPU:0"`),
    case-insensitive; `"cuda"` reads as `"gpu"`. Only the form is checked, not whether such
    a device exists (`device()` checks that).

    Args:
        name: The device name, a string.

    Returns:
        A tuple `(type, index)`: `type` is `"cpu"`, `"gpu"` or `"tpu"`, `index` an int.

    Raises:
        ValueError: If `name` is not a string, or not a name of an accepted form.

    Example:

    >>> from rnnkit import placement
    >>> placement.parse_device_name("CPU")
    ('cpu', 0)
    >>> placement.parse_device_name("/device:GPU:1")
    ('gpu', 1)
    >>> placement.parse_device_name("cuda:2")
    ('gpu', 2)
    """
    if not isinstance(name, str):
        raise ValueError("Invalid value for argument `device_name`: expected a string such as "
                         f"'cpu:0' or 'gpu:0'. Received: device_name={name!r}")
    text = name.strip().lower()
    if text.startswith("/"):  # TensorFlow: [/job:x][/replica:n][/task:n]/device:TYPE:n or /TYPE:n
        *prefix, text = text[1:].split("/")
        if not all(_TF_PREFIX.fullmatch(p) for p in prefix):
            text = ""
    if text.startswith("device:"):
        text = text[len("device:"):]
    match = _TYPE_INDEX.fullmatch(text)
    device_type = match and _ALIASES.get(match[1], match[1])
    if device_type not in _KNOWN_TYPES:
        raise ValueError(f"Unknown device name {name!r}. Expected a name such as 'cpu', "
                         "'cpu:0', 'gpu:0', '/cpu:0' or '/device:GPU:0'.")
    return device_type, int(match[2] or 0)


def _gpu_count():
    """Registers the GPUs (through CuPy, `rnnkit.array_library`) when the GPU backend can
    run here; returns their number (0 without a usable GPU)."""
    try:
        from rnnkit import cuda
        if not cuda.is_available():
            return 0
        from rnnkit import array_library
        array_library._cupy()
    except Exception:       # no CuPy, no driver: the GPU is not available
        return 0
    return _device_counts.get("gpu", 0)


def _check_available(name, device_type, index, source=""):
    count = _device_counts.get(device_type, 0)
    if count == 0 and device_type == "gpu":
        count = _gpu_count()
    if count == 0:
        raise RuntimeError(
            f"Device {name!r}{source} is not available: the {device_type.upper()} backend is "
            f"not available in this build of rnnkit. Available devices: "
            f"{', '.join(list_devices())}.")
    if index >= count:
        raise ValueError(
            f"Device {name!r}{source} not found: this build has {count} "
            f"{device_type.upper()} device{'s' if count > 1 else ''} "
            f"({', '.join(list_devices(device_type))}).")


def _default_device():
    """The device `RNNKIT_DEVICE` names, else `gpu:0` where the GPU backend can run (as Keras
    places work on the first GPU), else `cpu:0` (cached per value of the variable)."""
    value = os.environ.get(ENV_VAR)
    cached = getattr(_state, "default", None)
    if cached is None or cached[0] != value:
        if value is None or not value.strip():
            resolved = "gpu:0" if _gpu_count() > 0 else "cpu:0"
        else:
            source = f" (from the {ENV_VAR} environment variable)"
            try:
                device_type, index = parse_device_name(value)
            except ValueError as e:
                raise ValueError(f"{e}{source}") from None
            _check_available(value, device_type, index, source)
            resolved = f"{device_type}:{index}"
        cached = _state.default = (value, resolved)
    return cached[1]


def current_device():
    """Returns the current device of this thread as a canonical name, such as `"cpu:0"`.

    That is the device of the innermost `with rnnkit.device(...)` block of this thread;
    outside any block, the device named by the `RNNKIT_DEVICE` environment variable, else
    `"gpu:0"` where the GPU backend can run (`rnnkit.cuda.is_available()`), else `"cpu:0"`.

    Returns:
        A string `"<type>:<index>"`.

    Raises:
        ValueError: If `RNNKIT_DEVICE` is not a device name, or names a device index that
            does not exist (outside any `device` block).
        RuntimeError: If `RNNKIT_DEVICE` names a device type this build lacks (a GPU).

    Example:

    >>> import rnnkit as keras
    >>> from rnnkit import placement
    >>> with keras.device("CPU"):
    ...     placement.current_device()
    'cpu:0'
    """
    stack = getattr(_state, "stack", None)
    if stack:
        return stack[-1]
    return _default_device()


class device:
    """Context manager that makes one device the current device (Keras' `keras.device`).

    Inside `with rnnkit.device(name):` the named device is the current device of this
    thread (`rnnkit.placement.current_device()`), which code placing arrays or kernels
    reads: variables created inside it live on that device (a GPU's through CuPy), and
    layers and `fit` compute where their weights are (docs/gpu.md). Blocks nest, and leaving one, normally or by an exception, restores the device that was
    current before. Each thread has its own stack: a new thread starts on the default
    device.

    Accepted names, case-insensitive: Keras' `"cpu"`, `"cpu:0"`, `"gpu:1"` (the type alone
    means index 0), TensorFlow's `"/cpu:0"`, `"/device:GPU:0"` and
    `"/job:localhost/replica:0/task:0/device:CPU:0"`; `"cuda"` is a synonym of `"gpu"`.
    The GPUs become devices the first time a GPU name is used, where the GPU backend and CuPy
    can run (see the module's docstring).

    Args:
        device_name: The device, a string of one of the forms above.

    Attributes:
        name: The canonical device name, such as `"cpu:0"`.
        type: The device type, such as `"cpu"`.
        index: The device index, an int.

    Raises:
        ValueError: If `device_name` is not a device name, or names a device index that
            does not exist (`"cpu:1"`). Raised when `device(...)` is called.
        RuntimeError: If the device type is not available in this build (a GPU or TPU, as
            Keras on JAX does without a GPU).

    Example:

    >>> import numpy as np, rnnkit as keras
    >>> with keras.device("CPU:0") as where:
    ...     y = keras.layers.Dense(2)(np.ones((1, 3)))
    >>> where.name, where.type, where.index
    ('cpu:0', 'cpu', 0)
    >>> y.shape
    (1, 2)
    >>> keras.device("/device:CPU:0")
    rnnkit.device('cpu:0')
    >>> keras.device("cpu:1")
    Traceback (most recent call last):
        ...
    ValueError: Device 'cpu:1' not found: this build has 1 CPU device (cpu:0).
    """

    def __init__(self, device_name):
        self.type, self.index = parse_device_name(device_name)
        _check_available(device_name, self.type, self.index)
        self.name = f"{self.type}:{self.index}"

    def __enter__(self):
        """Makes this device the current one; returns this context."""
        stack = getattr(_state, "stack", None)
        if stack is None:
            stack = _state.stack = []
        stack.append(self.name)
        return self

    def __exit__(self, *exc):
        """Restores the device that was current before; exceptions propagate."""
        _state.stack.pop()
        return False

    def __repr__(self):
        return f"rnnkit.device({self.name!r})"
