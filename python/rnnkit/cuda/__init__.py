"""The GPU backend: rnnkit's CUDA kernels on NVIDIA GPUs.

`rnnkit.core.rnn_forward` / `rnn_backward` run on the GPU when given GPU arrays (CuPy arrays, or
any array with `__dlpack__` / `__cuda_array_interface__` on a CUDA device: PyTorch CUDA tensors,
JAX GPU arrays) and return CuPy arrays; the recurrent layers do the same for inference
(`rnnkit.layers.LSTM(64)(cupy_x)`). Installing: `pip install "rnnkit[cuda]"` (CuPy and NVIDIA's
cuBLAS wheel) with rnnkit built where `nvcc` is found.

The backend lives in a separate extension module, `rnnkit._cuda`, loaded on first use, so
`import rnnkit` works on machines without a GPU, a driver or the CUDA libraries;
`is_available()` says whether the backend can run here and `unavailable_reason()` why not.

Example:

>>> import rnnkit
>>> isinstance(rnnkit.cuda.is_available(), bool)
True
"""

from __future__ import annotations

import ctypes
import glob
import importlib.util
import os
import sys
import threading

_lock = threading.Lock()
_loaded = None          # (module or None, reason or None) once probed
_precision = "highest"  # float32 GEMM precision: "highest" (full fp32), "high"/"medium" (TF32)
_graphs = os.environ.get("RNNKIT_CUDA_GRAPHS", "1") not in ("0", "false", "False", "")


def _preload_cublas():
    """Loads cuBLAS from NVIDIA's wheel (nvidia/cu13/lib or nvidia/cublas/lib on sys.path), so
    that rnnkit._cuda finds it whatever the loader's search path. Returns the path or None."""
    for root in sys.path:
        for sub in ("cu13", "cublas"):
            lib = os.path.join(root or ".", "nvidia", sub, "lib")
            found = sorted(glob.glob(os.path.join(lib, "libcublas.so.*")))
            if not found:
                continue
            for name in sorted(glob.glob(os.path.join(lib, "libcublasLt.so.*"))) + found:
                ctypes.CDLL(name, mode=ctypes.RTLD_GLOBAL)
            return found[0]
    return None


def _probe():
    """(rnnkit._cuda or None, why not), computed once."""
    global _loaded
    with _lock:
        if _loaded is not None:
            return _loaded
        module, reason = None, None
        try:
            _preload_cublas()
        except OSError as error:
            reason = f"cuBLAS could not be loaded: {error}"
        if reason is None and importlib.util.find_spec("rnnkit._cuda") is None:
            reason = ("this rnnkit was built without the CUDA backend (it needs nvcc and cuBLAS "
                      "at build time: pip install nvidia-cublas, then reinstall rnnkit where nvcc "
                      "is on the PATH)")
        if reason is None:
            try:
                from rnnkit import _cuda as module
            except ImportError as error:
                reason = f"the CUDA backend could not be loaded: {error}"
        if module is not None:
            usable, why = module.availability()
            if not usable:
                module, reason = None, why
        if module is not None:
            try:
                import cupy  # noqa: F401
            except ImportError as error:
                module, reason = None, (f"CuPy is not installed (pip install 'rnnkit[cuda]'): "
                                        f"{error}")
        _loaded = (module, reason)
        return _loaded


def is_available() -> bool:
    """Whether the GPU backend can run here (a CUDA build, cuBLAS, CuPy, a driver and a GPU).

    Returns:
        A bool; `unavailable_reason()` says why not.
    """
    return _probe()[0] is not None


def unavailable_reason():
    """Why the GPU backend cannot run here, in words; `None` when it can.

    Returns:
        A string, or `None`.
    """
    return _probe()[1]


def device_count() -> int:
    """The number of GPUs the backend sees (0 when it cannot run).

    Returns:
        An int.
    """
    module = _probe()[0]
    return module.device_count() if module is not None else 0


def get_device_name(index: int = 0) -> str:
    """A description of GPU `index`: its name, architecture and memory.

    Args:
        index: Int, the GPU. Defaults to 0.

    Returns:
        A string such as `"NVIDIA H100 80GB HBM3 (sm_90, 79.1 GiB)"`.

    Raises:
        RuntimeError: If the GPU backend cannot run here.
    """
    return backend().device_description(int(index))


def backend():
    """The loaded extension module `rnnkit._cuda`.

    Returns:
        The module.

    Raises:
        RuntimeError: If the GPU backend cannot run here (the message says why).
    """
    module, reason = _probe()
    if module is None:
        raise RuntimeError(f"rnnkit's GPU backend cannot run here: {reason}")
    return module


def set_float32_matmul_precision(precision: str) -> None:
    """Chooses how float32 matrix products run on the GPU (PyTorch's and JAX's name).

    Args:
        precision: `"highest"` (the default): full float32, so GPU results match the CPU's
            within 1e-5. `"high"` or `"medium"`: TF32 tensor cores, faster, with about 1e-3
            relative error in each product. float64 is unaffected.

    Raises:
        ValueError: For another value.
    """
    global _precision
    if precision not in ("highest", "high", "medium"):
        raise ValueError(f"precision must be 'highest', 'high' or 'medium', got {precision!r}")
    _precision = precision


def get_float32_matmul_precision() -> str:
    """The precision set by `set_float32_matmul_precision` (`"highest"` by default).

    Returns:
        A string.
    """
    return _precision


def set_graphs_enabled(enabled: bool) -> None:
    """Whether the GPU time loop is recorded into a CUDA graph and launched at once (the
    default, also set by the environment variable `RNNKIT_CUDA_GRAPHS=0/1`) or launched step by
    step. Results are the same bit for bit; only the launch overhead differs.

    Args:
        enabled: Bool.
    """
    global _graphs
    if not isinstance(enabled, bool):
        raise TypeError(f"enabled must be a bool, got {type(enabled).__name__}")
    _graphs = enabled


def graphs_enabled() -> bool:
    """Whether CUDA graphs are used (see `set_graphs_enabled`).

    Returns:
        A bool.
    """
    return _graphs


__all__ = ["backend", "device_count", "get_device_name", "get_float32_matmul_precision",
           "graphs_enabled", "is_available", "set_float32_matmul_precision",
           "set_graphs_enabled", "unavailable_reason"]
