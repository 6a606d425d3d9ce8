"""Global settings (`keras.config`): the default float dtype, the fuzz factor, the backend name.

`floatx()` is the dtype rnnkit gives new floating arrays when none is asked for: `rnnkit.ops`
creation ops (`zeros`, `ones`, `eye`, `arange` with float arguments, ...), Python floats
converted by `convert_to_tensor`, and the float results of ops on integer inputs. Layers and
initializers keep their own `dtype` arguments (float32 unless given).

rnnkit has one backend, NumPy plus its C++ core: `backend()` returns `"numpy"`, and
`set_backend` accepts only that name. Settings that only matter to other backends or to
images are kept (so code that sets them runs) and documented as such.

Example:

>>> import rnnkit as keras
>>> keras.config.floatx()
'float32'
>>> keras.config.epsilon()
1e-07
"""

from __future__ import annotations

import numpy as np

__all__ = ["backend", "get_float32_matmul_precision", "set_float32_matmul_precision", "disable_flash_attention", "disable_interactive_logging",
           "disable_traceback_filtering", "dtype_policy", "enable_flash_attention",
           "enable_interactive_logging", "enable_traceback_filtering",
           "enable_unsafe_deserialization", "epsilon", "floatx", "image_data_format",
           "is_flash_attention_enabled", "is_interactive_logging_enabled", "is_nnx_enabled",
           "is_traceback_filtering_enabled", "max_epochs", "max_steps_per_epoch",
           "set_backend", "set_dtype_policy", "set_epsilon", "set_floatx",
           "set_image_data_format", "set_max_epochs", "set_max_steps_per_epoch"]

_FLOATX = "float32"
_EPSILON = 1e-7
_IMAGE_DATA_FORMAT = "channels_last"
_BACKEND = "numpy"
_SETTINGS = {"interactive_logging": True, "traceback_filtering": True, "flash_attention": None,
             "max_epochs": None, "max_steps_per_epoch": None, "unsafe_deserialization": False}

# The float dtypes rnnkit computes in (the C++ core runs float32 and float64).
_FLOAT_DTYPES = ("float16", "bfloat16", "float32", "float64")


def floatx():
    """Returns the default float dtype, as a string (`"float32"` unless changed).

    Returns:
        One of `"float16"`, `"bfloat16"`, `"float32"`, `"float64"`.
    """
    return _FLOATX


def set_floatx(value):
    """Sets the default float dtype (see the module docstring for where it is used).

    Args:
        value: `"float16"`, `"bfloat16"`, `"float32"` or `"float64"`. `"bfloat16"` is
            refused (layers compute in bfloat16 under the `"mixed_bfloat16"` dtype policy
            instead, see `rnnkit.mixed_precision`); `"float16"` is accepted for creation ops,
            but the RNN core computes in float32 and float64 only.

    Raises:
        ValueError: If `value` is not one of those names.
    """
    global _FLOATX
    value = str(value)
    if value not in _FLOAT_DTYPES:
        raise ValueError(f"Unknown `floatx` value: {value!r}. Expected one of "
                         f"{set(_FLOAT_DTYPES)}")
    if value == "bfloat16":
        raise ValueError("set_floatx: 'bfloat16' is not available in rnnkit as the default "
                         "float dtype; use 'float16', 'float32' or 'float64', and "
                         "keras.mixed_precision.set_global_policy('mixed_bfloat16') to "
                         "compute in bfloat16")
    _FLOATX = value


def epsilon():
    """Returns the fuzz factor used in numeric expressions (`1e-7` unless changed).

    Returns:
        A float.
    """
    return _EPSILON


def set_epsilon(value):
    """Sets the fuzz factor used in numeric expressions.

    Args:
        value: A float (a real number).

    Raises:
        TypeError: If `value` is not a real number.
    """
    global _EPSILON
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating, np.integer)):
        raise TypeError(f"set_epsilon: value must be a float, got {type(value).__name__} "
                        f"{value!r}")
    _EPSILON = float(value)


def image_data_format():
    """Returns the default image data format: `"channels_last"` unless changed.

    Returns:
        `"channels_last"` or `"channels_first"`.
    """
    return _IMAGE_DATA_FORMAT


def set_image_data_format(data_format):
    """Sets the default data format of convolution and pooling layers and ops.

    Args:
        data_format: `"channels_last"` or `"channels_first"` (any case).

    Raises:
        ValueError: For any other value.
    """
    global _IMAGE_DATA_FORMAT
    value = str(data_format).lower()
    if value not in ("channels_first", "channels_last"):
        raise ValueError("The `data_format` argument must be one of {'channels_first', "
                         f"'channels_last'}}. Received: data_format={data_format!r}")
    _IMAGE_DATA_FORMAT = value


def backend():
    """Returns the name of the backend: always `"numpy"` (NumPy plus rnnkit's C++ core).

    Returns:
        The string `"numpy"`.
    """
    return _BACKEND


def set_backend(backend):
    """Keras' backend switch. rnnkit has one backend, so only `"numpy"` is accepted.

    Args:
        backend: The backend name.

    Raises:
        ValueError: For any name other than `"numpy"`.
    """
    if backend != _BACKEND:
        raise ValueError(f"set_backend: rnnkit runs on one backend, 'numpy' (NumPy and its "
                         f"C++ core); got backend={backend!r}")


def is_nnx_enabled():
    """Returns False: Flax NNX is a JAX-backend feature rnnkit does not have."""
    return False


def enable_unsafe_deserialization():
    """Allows loading Lambda layers and other Python code from saved models everywhere.

    Like Keras, this turns off `safe_mode` for later `load_model` / `deserialize` calls
    that do not pass `safe_mode` themselves.
    """
    _SETTINGS["unsafe_deserialization"] = True
    from rnnkit.saving import serialization_lib
    serialization_lib.enable_unsafe_deserialization()


def is_unsafe_deserialization_enabled():
    """Returns whether `enable_unsafe_deserialization()` was called."""
    return _SETTINGS["unsafe_deserialization"]


def enable_interactive_logging():
    """Turns on interactive logging (progress bars printed to stdout, the default)."""
    _SETTINGS["interactive_logging"] = True


def disable_interactive_logging():
    """Turns off interactive logging (Keras then sends its messages to the `logging` module)."""
    _SETTINGS["interactive_logging"] = False


def is_interactive_logging_enabled():
    """Returns whether interactive logging is on (True unless disabled)."""
    return _SETTINGS["interactive_logging"]


def enable_traceback_filtering():
    """Turns on traceback filtering (kept for Keras compatibility; rnnkit's tracebacks are
    never filtered)."""
    _SETTINGS["traceback_filtering"] = True


def disable_traceback_filtering():
    """Turns off traceback filtering (kept for Keras compatibility)."""
    _SETTINGS["traceback_filtering"] = False


def is_traceback_filtering_enabled():
    """Returns the traceback filtering setting (True unless disabled)."""
    return _SETTINGS["traceback_filtering"]


def enable_flash_attention():
    """Records the flash-attention setting (flash attention is a GPU kernel: rnnkit's
    `dot_product_attention` always computes the plain form, which gives the same values)."""
    _SETTINGS["flash_attention"] = True


def disable_flash_attention():
    """Records that flash attention is disabled (see `enable_flash_attention`)."""
    _SETTINGS["flash_attention"] = False


def is_flash_attention_enabled():
    """Returns the flash-attention setting: None (automatic, the default), True or False."""
    return _SETTINGS["flash_attention"]


def _check_limit(name, value):
    if value is not None and (isinstance(value, bool) or not isinstance(value, (int, np.integer))
                              or value < 1):
        raise ValueError(f"{name} must be None or a positive int, got {value!r}")
    return None if value is None else int(value)


def max_epochs():
    """Returns the cap on the number of epochs `fit` runs (None: no cap, the default)."""
    return _SETTINGS["max_epochs"]


def set_max_epochs(max_epochs):
    """Caps the number of epochs of every `fit` call (for quick test runs).

    Args:
        max_epochs: A positive int, or None to remove the cap.

    Raises:
        ValueError: For anything else.
    """
    _SETTINGS["max_epochs"] = _check_limit("max_epochs", max_epochs)


def max_steps_per_epoch():
    """Returns the cap on the steps of one epoch (None: no cap, the default)."""
    return _SETTINGS["max_steps_per_epoch"]


def set_max_steps_per_epoch(max_steps_per_epoch):
    """Caps the number of steps of each training epoch (for quick test runs).

    Args:
        max_steps_per_epoch: A positive int, or None to remove the cap.

    Raises:
        ValueError: For anything else.
    """
    _SETTINGS["max_steps_per_epoch"] = _check_limit("max_steps_per_epoch",
                                                    max_steps_per_epoch)


def dtype_policy():
    """Returns the global dtype policy (`rnnkit.mixed_precision.global_policy()`)."""
    from rnnkit.mixed_precision import global_policy
    return global_policy()


def set_dtype_policy(policy):
    """Sets the global dtype policy (`rnnkit.mixed_precision.set_global_policy`).

    Args:
        policy: A `DTypePolicy` or a policy name (`"float32"`, `"float64"`, ...).
    """
    from rnnkit.mixed_precision import set_global_policy
    set_global_policy(policy)


def set_float32_matmul_precision(precision):
    """Chooses how float32 matrix products run on the GPU (PyTorch's and JAX's name).

    The same as `rnnkit.cuda.set_float32_matmul_precision`: `"highest"` (the default) is full
    float32; `"high"` or `"medium"` allows TF32 tensor cores. The CPU always computes in full
    float32.

    Args:
        precision: `"highest"`, `"high"` or `"medium"`.

    Example:

    >>> import rnnkit
    >>> rnnkit.config.set_float32_matmul_precision("highest")
    >>> rnnkit.config.get_float32_matmul_precision()
    'highest'
    """
    from rnnkit import cuda
    cuda.set_float32_matmul_precision(precision)


def get_float32_matmul_precision():
    """The precision set by `set_float32_matmul_precision` (`"highest"` by default).

    Returns:
        A string.
    """
    from rnnkit import cuda
    return cuda.get_float32_matmul_precision()

