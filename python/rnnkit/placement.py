"""Device placement: the current device and `rnnkit.device(name)` (Keras 3's `keras.device`).

    with rnnkit.device("CPU:0"):
        cpu_model = build_model()
        cpu_model.predict_on_batch(x)

- `device(name)`: a context manager making `name` the current device of this thread inside
  the `with` block. Contexts nest; leaving one (normally or by an exception) restores the
  device that was current before it.
- `current_device()`: the current device as a canonical name, `"cpu:0"` by default; the
  `RNNKIT_DEVICE` environment variable (any accepted name, e.g. `RNNKIT_DEVICE=cpu`) sets the
  default of every thread.
- `parse_device_name(name)`: `(type, index)`, e.g. `("gpu", 1)` for `"/device:GPU:1"`.
- `list_devices(device_type=None)`: the available devices, e.g. `["cpu:0"]`.

Accepted names (case-insensitive): Keras' `"cpu"`, `"cpu:0"`, `"gpu:1"` (the type alone means
index 0), and TensorFlow's `"/cpu:0"`, `"/device:GPU:0"`,
`"/job:localhost/replica:0/task:0/device:CPU:0"`; `"cuda"` is a synonym of `"gpu"`.

This build has only the CPU backend, with one device, `cpu:0`: naming a GPU (or TPU) raises
RuntimeError (as Keras on JAX does where no GPU is present), a device index that does not exist
or a name that is not a device raises ValueError. A GPU backend makes its devices available with
`register_device_type("gpu", count)`; code that places arrays or kernels reads
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
_KNOWN_TYPES = ("cpu", "gpu", "tpu")
_ALIASES = {"cuda": "gpu"}
_device_counts = {"cpu": 1}

_TF_PREFIX = re.compile(r"job:[a-z0-9_-]+|replica:\d+|task:\d+")
_TYPE_INDEX = re.compile(r"([a-z_]+)(?::(\d+))?")

_state = threading.local()


def register_device_type(device_type, count):
    """Make `count` devices of `device_type` ("gpu", ...) available (for a backend to call when
    it loads); `count=0` removes them."""
    device_type = _ALIASES.get(device_type.lower(), device_type.lower())
    if device_type not in _KNOWN_TYPES:
        raise ValueError(f"Unknown device type {device_type!r}; expected one of "
                         f"{', '.join(_KNOWN_TYPES)}.")
    if count:
        _device_counts[device_type] = int(count)
    else:
        _device_counts.pop(device_type, None)


def list_devices(device_type=None):
    """The available devices as canonical names (`["cpu:0"]` in this build), of one type if
    `device_type` is given."""
    if device_type is not None:
        device_type = _ALIASES.get(device_type.lower(), device_type.lower())
    return [f"{t}:{i}" for t, n in _device_counts.items() if device_type in (None, t)
            for i in range(n)]


def parse_device_name(name):
    """`(type, index)` for a device name, e.g. `("cpu", 0)` for `"CPU:0"` or
    `"/job:localhost/replica:0/task:0/device:CPU:0"`. Checks the form only, not whether the
    device exists; a name of no accepted form raises ValueError."""
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


def _check_available(name, device_type, index, source=""):
    count = _device_counts.get(device_type, 0)
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
    """`cpu:0`, or the device `RNNKIT_DEVICE` names (cached per value of the variable)."""
    value = os.environ.get(ENV_VAR)
    cached = getattr(_state, "default", None)
    if cached is None or cached[0] != value:
        if value is None or not value.strip():
            resolved = "cpu:0"
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
    """The current device of this thread as a canonical name, e.g. `"cpu:0"`: the innermost
    `rnnkit.device(...)` block's device, else the default (`RNNKIT_DEVICE`, else `"cpu:0"`)."""
    stack = getattr(_state, "stack", None)
    if stack:
        return stack[-1]
    return _default_device()


class device:
    """Context manager: inside `with rnnkit.device(name):` what is created and computed is
    placed on device `name` ("cpu", "CPU:0", "/device:CPU:0", ...).

    The name is checked when `device(name)` is called: an unknown name raises ValueError, a
    device type this build lacks (a GPU) raises RuntimeError. `__enter__` returns the context,
    whose `.name` is the canonical device name (`"cpu:0"`), `.type` and `.index` its parts.
    """

    def __init__(self, device_name):
        self.type, self.index = parse_device_name(device_name)
        _check_available(device_name, self.type, self.index)
        self.name = f"{self.type}:{self.index}"

    def __enter__(self):
        stack = getattr(_state, "stack", None)
        if stack is None:
            stack = _state.stack = []
        stack.append(self.name)
        return self

    def __exit__(self, *exc):
        _state.stack.pop()
        return False

    def __repr__(self):
        return f"rnnkit.device({self.name!r})"
