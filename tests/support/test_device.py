"""rnnkit.device (Keras 3's keras.device) and rnnkit.placement: names, the thread-local stack,
RNNKIT_DEVICE, and the errors of a CPU-only build."""

import threading

import numpy as np
import pytest

import rnnkit as keras
from rnnkit import placement
from helpers import assert_close  # noqa: E402


@pytest.fixture(autouse=True)
def _no_env_device(monkeypatch):
    monkeypatch.delenv(placement.ENV_VAR, raising=False)


CPU_NAMES = ["cpu", "CPU", "cpu:0", "CPU:0", "Cpu:0", "cpu:00", " cpu:0 ", "/cpu:0", "/CPU:0",
             "/device:CPU:0", "device:cpu:0", "/job:localhost/replica:0/task:0/device:CPU:0",
             "/job:localhost/device:CPU:0", "/job:worker/task:3/cpu:0"]


def test_top_level_export():
    assert keras.device is placement.device
    assert "device" in keras.__all__


@pytest.mark.parametrize("name", CPU_NAMES)
def test_cpu_names(name):
    assert placement.parse_device_name(name) == ("cpu", 0)
    with keras.device(name) as ctx:
        assert placement.current_device() == "cpu:0"
        assert (ctx.name, ctx.type, ctx.index) == ("cpu:0", "cpu", 0)


@pytest.mark.parametrize("name, parsed", [
    ("gpu", ("gpu", 0)), ("GPU:1", ("gpu", 1)), ("/device:GPU:0", ("gpu", 0)),
    ("/job:localhost/replica:0/task:0/device:GPU:2", ("gpu", 2)), ("/gpu:0", ("gpu", 0)),
    ("cuda", ("gpu", 0)), ("cuda:1", ("gpu", 1)), ("TPU:0", ("tpu", 0))])
def test_gpu_names_parse_but_are_unavailable(name, parsed):
    assert placement.parse_device_name(name) == parsed
    with pytest.raises(RuntimeError, match="not available in this build") as info:
        keras.device(name)
    assert repr(name) in str(info.value)
    assert parsed[0].upper() in str(info.value)
    assert placement.current_device() == "cpu:0"


@pytest.mark.parametrize("name", ["foo", "", "cpu:x", "cpu:0:0", "cpu:-1", "/job:localhost",
                                  "/job:localhost/replica:x/cpu:0", "/foo/cpu:0", "device:",
                                  "cpu 0", "gpu0"])
def test_unknown_names_are_value_errors_naming_them(name):
    with pytest.raises(ValueError, match="Unknown device name") as info:
        keras.device(name)
    assert repr(name) in str(info.value)


@pytest.mark.parametrize("name", [None, 0, ("cpu", 0)])
def test_non_string_is_value_error(name):
    with pytest.raises(ValueError, match="device_name"):
        keras.device(name)


def test_missing_index_is_value_error():
    with pytest.raises(ValueError, match=r"'cpu:1' not found.*1 CPU device \(cpu:0\)"):
        keras.device("cpu:1")


def test_default_and_list_devices():
    assert placement.current_device() == "cpu:0"
    assert placement.list_devices() == ["cpu:0"]
    assert placement.list_devices("CPU") == ["cpu:0"]
    assert placement.list_devices("gpu") == []


def test_nested_and_exception_restore():
    outer, inner = keras.device("cpu"), keras.device("/device:CPU:0")
    with outer:
        with inner:
            assert placement.current_device() == "cpu:0"
        assert placement._state.stack == ["cpu:0"]
    assert placement._state.stack == []
    with pytest.raises(KeyError):
        with keras.device("cpu:0"):
            with keras.device("cpu:0"):
                raise KeyError("inside")
    assert placement._state.stack == []
    # an exception is not swallowed, and the same context can be entered again
    ctx = keras.device("cpu:0")
    for _ in range(2):
        with ctx:
            assert len(placement._state.stack) == 1
    assert placement._state.stack == []


def test_registered_gpu_is_current_inside_and_thread_local():
    placement.register_device_type("gpu", 2)
    try:
        assert placement.list_devices() == ["cpu:0", "gpu:0", "gpu:1"]
        seen = {}

        def other_thread():
            seen["start"] = placement.current_device()
            with keras.device("cpu"):
                seen["inside"] = placement.current_device()

        with keras.device("GPU:1"):
            assert placement.current_device() == "gpu:1"
            with keras.device("cuda"):
                assert placement.current_device() == "gpu:0"
                t = threading.Thread(target=other_thread)
                t.start()
                t.join()
                assert placement.current_device() == "gpu:0"
            assert placement.current_device() == "gpu:1"
        assert placement.current_device() == "cpu:0"
        assert seen == {"start": "cpu:0", "inside": "cpu:0"}
        with pytest.raises(ValueError, match=r"'gpu:2' not found.*2 GPU devices \(gpu:0, gpu:1\)"):
            keras.device("gpu:2")
    finally:
        placement.register_device_type("gpu", 0)
    with pytest.raises(RuntimeError):
        keras.device("gpu")


def test_env_var_default(monkeypatch):
    monkeypatch.setenv(placement.ENV_VAR, "cpu")
    assert placement.current_device() == "cpu:0"
    monkeypatch.setenv(placement.ENV_VAR, "/device:CPU:0")
    assert placement.current_device() == "cpu:0"
    monkeypatch.setenv(placement.ENV_VAR, "gpu")
    with pytest.raises(RuntimeError, match="RNNKIT_DEVICE"):
        placement.current_device()
    with keras.device("cpu"):  # an explicit context wins over the variable
        assert placement.current_device() == "cpu:0"
    monkeypatch.setenv(placement.ENV_VAR, "nonsense")
    with pytest.raises(ValueError, match="'nonsense'.*RNNKIT_DEVICE"):
        placement.current_device()
    monkeypatch.setenv(placement.ENV_VAR, "")
    assert placement.current_device() == "cpu:0"


def test_guide_cpu_inference():
    # The Keras RNN guide: build and run an inference copy of a trained model on the CPU.
    def build_model(allow_cudnn_kernel=True):
        rnn = (keras.layers.LSTM(8) if allow_cudnn_kernel
               else keras.layers.RNN(keras.layers.LSTMCell(8)))
        return keras.Sequential([keras.Input((None, 5)), rnn, keras.layers.Dense(3)])

    model = build_model()
    x = np.random.default_rng(0).random((2, 4, 5)).astype("float32")
    with keras.device("CPU:0"):
        cpu_model = build_model(allow_cudnn_kernel=False)
        cpu_model.set_weights(model.get_weights())
        out = cpu_model.predict_on_batch(x)
    assert_close(out, model.predict_on_batch(x), rtol=1e-5, atol=1e-6)


def test_default_device_is_the_gpu_where_it_can_run(monkeypatch):
    # A GPU backend that can run makes gpu:0 the default (Keras' placement on the first GPU);
    # RNNKIT_DEVICE=cpu keeps such a machine on the CPU. (_gpu_count stands in for the probe.)
    monkeypatch.setattr(placement, "_gpu_count", lambda: 1)
    monkeypatch.setitem(placement._device_counts, "gpu", 1)
    monkeypatch.setattr(placement._state, "default", None, raising=False)
    assert placement.current_device() == "gpu:0"
    monkeypatch.setenv(placement.ENV_VAR, "cpu")
    assert placement.current_device() == "cpu:0"


def test_default_device_is_the_cpu_without_a_usable_gpu(monkeypatch):
    monkeypatch.setattr(placement, "_gpu_count", lambda: 0)
    monkeypatch.setattr(placement._state, "default", None, raising=False)
    assert placement.current_device() == "cpu:0"
