"""GPU arrays at rnnkit's boundary: recognising them without importing CuPy, taking them in
through DLPack or `__cuda_array_interface__` (no copies), and describing them to `rnnkit._cuda`."""

from __future__ import annotations

import numpy as np

# DLPack device types of memory a CUDA kernel may read: device, and managed memory.
_DLPACK_CUDA = (2, 13)


def is_device_array(value) -> bool:
    """Whether `value` is an array in GPU memory (CuPy, PyTorch CUDA, JAX GPU, Numba, ...).

    Asks the array itself: its DLPack device when it has one, else whether its
    `__cuda_array_interface__` can be read. Classes such as `torch.Tensor` define that property
    for host tensors too (reading it then raises), so the class having it proves nothing.

    Args:
        value: Anything.

    Returns:
        A bool; `False` for NumPy arrays, host tensors and Python values, without importing CuPy.
    """
    kind = type(value)
    if kind is np.ndarray or value is None or kind in (int, float, bool, list, tuple):
        return False
    device = getattr(kind, "__dlpack_device__", None)
    if device is not None:
        try:
            return int(device(value)[0]) in _DLPACK_CUDA
        except Exception:  # an object whose __dlpack_device__ fails is not ours to judge
            pass
    if not hasattr(kind, "__cuda_array_interface__"):
        return False
    try:
        value.__cuda_array_interface__  # noqa: B018 -- raises for host tensors (torch, JAX)
    except Exception:
        return False
    return True


def device_of(value) -> str:
    """`"cuda:N"` for a GPU array, `"cpu"` otherwise (for error messages)."""
    if not is_device_array(value):
        return "cpu"
    return f"cuda:{as_cupy(value, 'value').device.id}"


def as_cupy(value, name):
    """`value` as a CuPy array sharing its memory.

    Raises:
        ValueError: If `value` is not in GPU memory (rnnkit never copies between host and device
            behind the caller's back).
    """
    import cupy
    if isinstance(value, cupy.ndarray):
        return value
    if not is_device_array(value):
        raise ValueError(
            f"argument '{name}' is a host array ({type(value).__name__}) but this call runs on the "
            f"GPU: pass every array on the same GPU (cupy.asarray(...) copies one there)")
    # DLPack first (PyTorch, JAX): the producer orders the hand-over on the stream CuPy names,
    # the current one of the current GPU; so the array's own GPU is made current first (another
    # GPU's stream would order nothing, or be refused).
    if hasattr(type(value), "__dlpack__"):
        device = _dlpack_gpu(value)
        if device is None:
            return cupy.from_dlpack(value)
        with cupy.cuda.Device(device):
            return cupy.from_dlpack(value)
    return cupy.asarray(value)


def _dlpack_gpu(value):
    """The GPU index of a DLPack producer's CUDA memory, or None when it does not say."""
    try:
        kind, index = type(value).__dlpack_device__(value)
    except Exception:  # no __dlpack_device__, or one that fails: let CuPy decide
        return None
    return int(index) if int(kind) in _DLPACK_CUDA else None


def descriptor(array):
    """What `rnnkit._cuda` reads of a CuPy array: (pointer, typestr, shape, byte strides,
    device index)."""
    if array is None:
        return None
    return (array.data.ptr, array.dtype.str, tuple(array.shape), tuple(array.strides),
            array.device.id)
