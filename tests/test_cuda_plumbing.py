"""The GPU backend's plumbing that runs everywhere: availability and its reason, recognising GPU
arrays without CuPy, routing a GPU call (and refusing it clearly where the backend cannot run),
and the precision / graph switches."""

from __future__ import annotations

import numpy as np
import pytest

import rnnkit
from rnnkit import core
from rnnkit.cuda.arrays import is_device_array


class _FakeCudaArray:
    """Looks like a CUDA array to the dispatcher (it has `__cuda_array_interface__`)."""
    shape = (2, 3, 4)
    dtype = np.dtype("float32")

    @property
    def __cuda_array_interface__(self):
        return {"shape": self.shape, "typestr": "<f4", "data": (0, False), "version": 3}


class _FakeDLPack:
    def __init__(self, device_type):
        self.device_type = device_type

    def __dlpack_device__(self):
        return (self.device_type, 0)


class _FakeHostTensor:
    """Like a PyTorch CPU tensor: its class defines `__cuda_array_interface__` (reading it raises
    AttributeError for host memory) and its DLPack device is the CPU; NumPy can read it."""

    def __init__(self, array):
        self.array = array

    @property
    def __cuda_array_interface__(self):
        raise AttributeError("Can't get __cuda_array_interface__ on non-CUDA tensor type")

    def __dlpack_device__(self):
        return (1, 0)  # kDLCPU

    def __array__(self, dtype=None, copy=None):
        return self.array if dtype is None else self.array.astype(dtype)


class _FakeHostTensorNoDLPack:
    """A host array whose class has the CUDA interface property but no DLPack (reading raises)."""

    @property
    def __cuda_array_interface__(self):
        raise AttributeError("not on a GPU")


class _FakeGradTensor:
    """Like a PyTorch CUDA tensor that requires grad: DLPack says CUDA, while reading
    `__cuda_array_interface__` raises RuntimeError."""

    @property
    def __cuda_array_interface__(self):
        raise RuntimeError("Can't get __cuda_array_interface__ on Variable that requires grad")

    def __dlpack_device__(self):
        return (2, 0)


def test_availability_has_a_reason():
    available = rnnkit.cuda.is_available()
    assert isinstance(available, bool)
    reason = rnnkit.cuda.unavailable_reason()
    if available:
        assert reason is None
        assert rnnkit.cuda.device_count() >= 1
    else:
        assert isinstance(reason, str) and len(reason) > 10
        assert rnnkit.cuda.device_count() == 0
        with pytest.raises(RuntimeError, match="cannot run here"):
            rnnkit.cuda.backend()


def test_device_arrays_are_recognised():
    assert not is_device_array(np.zeros(3))
    assert not is_device_array(None)
    assert not is_device_array([1, 2])
    assert is_device_array(_FakeCudaArray())
    assert is_device_array(_FakeDLPack(2))        # kDLCUDA
    assert is_device_array(_FakeDLPack(13))       # kDLCUDAManaged
    assert not is_device_array(_FakeDLPack(1))    # kDLCPU


def test_host_tensors_whose_class_has_the_cuda_interface_are_host_arrays():
    """PyTorch's and JAX's array classes define `__cuda_array_interface__` for host arrays too:
    the instance decides (its DLPack device, or whether the property can be read)."""
    assert not is_device_array(_FakeHostTensor(np.zeros(3)))
    assert not is_device_array(_FakeHostTensorNoDLPack())
    assert is_device_array(_FakeGradTensor())


def test_host_tensor_with_a_cuda_interface_class_runs_on_the_cpu():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 3, 4)).astype(np.float32)
    kernel = rng.standard_normal((4, 9)).astype(np.float32)
    recurrent = rng.standard_normal((3, 9)).astype(np.float32)
    want = core.rnn_forward("gru", x, kernel, recurrent).output
    got = core.rnn_forward("gru", _FakeHostTensor(x), kernel, recurrent).output
    assert type(got) is np.ndarray
    np.testing.assert_array_equal(got, want)
    layer = rnnkit.layers.GRU(3)
    out = layer(_FakeHostTensor(x))
    assert type(out) is np.ndarray and out.shape == (2, 3)


@pytest.mark.skipif(rnnkit.cuda.is_available(), reason="checks the refusal without a GPU")
def test_gpu_call_without_backend_is_refused_clearly():
    x = _FakeCudaArray()
    with pytest.raises(RuntimeError, match="GPU backend cannot run here"):
        core.rnn_forward("lstm", x, np.zeros((4, 8), np.float32), np.zeros((2, 8), np.float32))
    with pytest.raises(RuntimeError, match="GPU backend cannot run here"):
        rnnkit.layers.LSTM(2)(x)


def test_host_calls_stay_on_the_cpu():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 3, 4)).astype(np.float32)
    result = core.rnn_forward("gru", x, np.zeros((4, 9), np.float32),
                              np.zeros((3, 9), np.float32))
    assert type(result.output) is np.ndarray


def test_precision_and_graph_switches():
    assert rnnkit.cuda.get_float32_matmul_precision() == "highest"
    rnnkit.cuda.set_float32_matmul_precision("high")
    try:
        assert rnnkit.cuda.get_float32_matmul_precision() == "high"
    finally:
        rnnkit.cuda.set_float32_matmul_precision("highest")
    with pytest.raises(ValueError, match="precision"):
        rnnkit.cuda.set_float32_matmul_precision("fast")
    before = rnnkit.cuda.graphs_enabled()
    rnnkit.cuda.set_graphs_enabled(not before)
    assert rnnkit.cuda.graphs_enabled() is (not before)
    rnnkit.cuda.set_graphs_enabled(before)
    with pytest.raises(TypeError, match="bool"):
        rnnkit.cuda.set_graphs_enabled(1)


def test_core_errors_keep_their_classes_after_the_gpu_module_loads():
    """rnnkit._cuda translates C++ errors to rnnkit._core's classes (a second set of classes
    would also catch, and rename, the CPU backend's errors)."""
    from rnnkit import _core
    rnnkit.cuda.is_available()   # loads rnnkit._cuda where it is built
    with pytest.raises(_core.InvalidArgument) as info:
        core.rnn_forward("lstm", np.zeros((2, 3, 4), np.float32), np.zeros((4, 7), np.float32),
                         np.zeros((2, 8), np.float32))
    assert type(info.value) is _core.InvalidArgument
    assert issubclass(_core.InvalidArgument, ValueError)
