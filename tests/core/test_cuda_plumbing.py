"""The GPU backend's plumbing that runs everywhere: availability and its reason, recognising GPU
arrays without CuPy, routing a GPU call (and refusing it clearly where the backend cannot run),
and the precision / graph switches."""

from __future__ import annotations

import numpy as np
import pytest

import rnnkit
from rnnkit import core
from rnnkit.cuda.arrays import is_device_array
import paths


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


# ---- rnnkit.cuda.sequence's Python side, on fakes ------------------------------------------------
# A fake `cupy` (NumPy arrays tagged with a GPU number) and a fake `rnnkit._cuda` that records
# what it is called with: this checks the Python plumbing that needs no device (which arrays are
# taken, converted and refused, what each descriptor says, and that every keyword matches the
# binding's declared arguments in cpp/bindings/cuda_module.cpp). No kernel runs here; the GPU
# itself is tested by tests/core/test_gpu.py.

import re
import sys
import types
from pathlib import Path


class _FakeDeviceArray:
    """A host array standing in for a CuPy array on GPU `device_id`."""

    def __init__(self, array, device_id=0):
        self.array = np.asarray(array)
        self.device = types.SimpleNamespace(id=device_id)

    shape = property(lambda self: self.array.shape)
    ndim = property(lambda self: self.array.ndim)
    dtype = property(lambda self: self.array.dtype)
    strides = property(lambda self: self.array.strides)
    data = property(lambda self: types.SimpleNamespace(ptr=self.array.ctypes.data))

    def __dlpack_device__(self):
        return (2, self.device.id)

    def __ne__(self, other):
        return _FakeDeviceArray(self.array != other, self.device.id)

    def astype(self, dtype):
        return _FakeDeviceArray(self.array.astype(dtype), self.device.id)


def _fake_cupy():
    cupy = types.ModuleType("cupy")
    cupy.ndarray = _FakeDeviceArray
    cupy.uint8 = np.uint8

    def asarray(value):  # a host array is copied to the "device", as CuPy does
        return value if isinstance(value, _FakeDeviceArray) else _FakeDeviceArray(np.array(value))

    cupy.asarray = asarray
    cupy.from_dlpack = asarray
    cupy.ascontiguousarray = lambda a: _FakeDeviceArray(np.ascontiguousarray(a.array),
                                                        a.device.id)
    cupy.empty = lambda shape, dtype: _FakeDeviceArray(np.empty(shape, dtype))

    cupy.current_device = 0          # what cupy.cuda.Device(...) makes current

    class _Device:
        def __init__(self, index):
            self.index = index

        def __enter__(self):
            self.previous, cupy.current_device = cupy.current_device, self.index
            return self

        def __exit__(self, *exc):
            cupy.current_device = self.previous
            return False

    cupy.cuda = types.SimpleNamespace(Device=_Device,
                                      get_current_stream=lambda: types.SimpleNamespace(ptr=0))
    return cupy


class _RecordingModule:
    """Stands in for rnnkit._cuda: records each call's keywords."""

    def __init__(self):
        self.calls = []

    def memory(self, **kwargs):
        self.calls.append(("memory", kwargs))
        return 64, 100

    def forward(self, **kwargs):
        self.calls.append(("forward", kwargs))

    def backward(self, **kwargs):
        self.calls.append(("backward", kwargs))


def _binding_arguments(function):
    """The py::arg names that cpp/bindings/cuda_module.cpp declares for `function`."""
    source = (paths.ROOT / "cpp" / "bindings" /
              "cuda_module.cpp").read_text()
    start = source.index(f'm.def("{function}"')
    end = source.find("m.def(", start + 1)
    return set(re.findall(r'py::arg\("(\w+)"\)', source[start:end if end > 0 else None]))


@pytest.fixture
def fake_gpu(monkeypatch):
    from rnnkit import cuda
    module = _RecordingModule()
    monkeypatch.setitem(sys.modules, "cupy", _fake_cupy())
    monkeypatch.setattr(cuda, "_loaded", (module, None))
    return module


def _lstm_case(rng, B=2, T=3, I=4, H=5):
    return (rng.standard_normal((B, T, I)).astype(np.float32),
            rng.standard_normal((I, 4 * H)).astype(np.float32),
            rng.standard_normal((H, 4 * H)).astype(np.float32),
            rng.standard_normal((4 * H,)).astype(np.float32))


def test_gpu_forward_passes_the_bindings_arguments(fake_gpu):
    rng = np.random.default_rng(0)
    x, k, r, b = (_FakeDeviceArray(a) for a in _lstm_case(rng))
    mask = _FakeDeviceArray(np.array([[1, 0, 1], [1, 1, 0]], bool))
    result = core.rnn_forward("lstm", x, k, r, b, mask=mask, training=True,
                              return_sequences=True)
    (_, memory), (name, kwargs) = fake_gpu.calls
    assert name == "forward"
    assert set(kwargs) == _binding_arguments("forward")
    assert set(memory) == _binding_arguments("memory")
    assert memory["backward"] is False and memory["training"] is True
    assert kwargs["cell"] == "lstm" and kwargs["units"] == 5 and kwargs["input_size"] == 4
    assert kwargs["allow_tf32"] is False and kwargs["stream"] == 0
    # Descriptors: (pointer, typestr, shape, byte strides, device); the mask as uint8.
    assert kwargs["x"][1:] == ("<f4", (2, 3, 4), (48, 16, 4), 0)
    assert kwargs["mask"][1] == "|u1" and kwargs["mask"][2] == (2, 3)
    assert kwargs["initial_h"] is None and kwargs["input_dropout"] is None
    assert kwargs["output"][2] == (2, 3, 5) and kwargs["final_c"][2] == (2, 5)
    assert kwargs["reserve"][2] == (100,) and kwargs["workspace"][1] == "|u1"
    assert isinstance(result.output, _FakeDeviceArray)
    assert len(result.states) == 2


def test_gpu_backward_passes_the_bindings_arguments(fake_gpu):
    rng = np.random.default_rng(1)
    x, k, r, b = (_FakeDeviceArray(a) for a in _lstm_case(rng))
    reserve = _FakeDeviceArray(np.zeros(100, np.float32))
    grads = core.rnn_backward("lstm", x, k, r, b, reserve=reserve,
                              d_output=_FakeDeviceArray(np.ones((2, 5), np.float32)),
                              need_d_x=False)
    (_, memory), (name, kwargs) = fake_gpu.calls
    assert name == "backward"
    assert set(kwargs) == _binding_arguments("backward")
    assert memory["backward"] is True
    assert kwargs["d_x"] is None and grads.d_x is None
    assert kwargs["d_bias"][2] == (20,) and kwargs["d_initial_c"][2] == (2, 5)
    assert kwargs["d_final_h"] is None


def test_gpu_call_refuses_host_arrays_and_other_gpus(fake_gpu):
    rng = np.random.default_rng(2)
    x, k, r, b = _lstm_case(rng)
    with pytest.raises(ValueError, match="'kernel' is a host array"):
        core.rnn_forward("lstm", _FakeDeviceArray(x), k, _FakeDeviceArray(r), _FakeDeviceArray(b))
    with pytest.raises(ValueError, match="'recurrent_kernel' is on cuda:1 but 'x' is on cuda:0"):
        core.rnn_forward("lstm", _FakeDeviceArray(x), _FakeDeviceArray(k),
                         _FakeDeviceArray(r, device_id=1), _FakeDeviceArray(b))
    with pytest.raises(ValueError, match="'d_output' is a host array"):
        core.rnn_backward("lstm", _FakeDeviceArray(x), _FakeDeviceArray(k), _FakeDeviceArray(r),
                          _FakeDeviceArray(b), reserve=_FakeDeviceArray(np.zeros(3, np.float32)),
                          d_output=np.ones((2, 5), np.float32))
    with pytest.raises(TypeError, match="mask must hold booleans or numbers"):
        core.rnn_forward("lstm", _FakeDeviceArray(x), _FakeDeviceArray(k), _FakeDeviceArray(r),
                         mask=_FakeDeviceArray(np.array([["a"] * 3] * 2)))
    assert all(name == "memory" for name, _ in fake_gpu.calls)  # nothing was launched


def test_layer_on_a_gpu_array_goes_to_the_backend_with_cached_device_weights(fake_gpu):
    x = _FakeDeviceArray(np.random.default_rng(3).standard_normal((2, 3, 4)).astype(np.float32))
    layer = rnnkit.layers.GRU(5, go_backwards=True, return_state=True)
    output, state = layer(x)
    assert isinstance(output, _FakeDeviceArray) and isinstance(state, _FakeDeviceArray)
    forwards = [kw for name, kw in fake_gpu.calls if name == "forward"]
    assert len(forwards) == 1
    first = forwards[0]
    assert first["cell"] == "gru" and first["go_backwards"] is True
    assert first["training"] is False and first["reset_after"] is True
    assert first["kernel"][2] == (4, 15) and first["bias"][2] == (2, 15)
    # The device copy of the weights is reused while no weight changes ...
    layer(x)
    second = [kw for name, kw in fake_gpu.calls if name == "forward"][-1]
    assert second["kernel"][0] == first["kernel"][0]
    # ... and refreshed when one does.
    layer.set_weights([w * 2 for w in layer.get_weights()])
    layer(x)
    third = [kw for name, kw in fake_gpu.calls if name == "forward"][-1]
    assert third["kernel"][0] != first["kernel"][0]


class _DlpackProducer:
    """A PyTorch/JAX-like GPU tensor: DLPack only, on GPU `device_id`."""

    def __init__(self, array, device_id):
        self.array, self.device_id = np.asarray(array), device_id

    def __dlpack_device__(self):
        return (2, self.device_id)

    def __dlpack__(self, stream=None):
        raise AssertionError("the fake cupy.from_dlpack does not call it")


def test_dlpack_arrays_are_taken_with_their_own_gpu_current(fake_gpu):
    # CuPy hands the producer the current GPU's stream: that must be the array's own GPU.
    from rnnkit.cuda.arrays import as_cupy
    cupy = sys.modules["cupy"]
    seen = []

    def from_dlpack(value):
        seen.append(cupy.current_device)
        return _FakeDeviceArray(value.array, value.device_id)

    cupy.from_dlpack = from_dlpack
    taken = as_cupy(_DlpackProducer(np.ones(3, np.float32), 1), "x")
    assert seen == [1] and taken.device.id == 1
    assert cupy.current_device == 0            # the caller's current GPU is restored
