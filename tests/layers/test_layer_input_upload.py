"""The layer-call upload rule: host inputs given to a layer or a model whose weights live on a
device are copied there (explicitly, once), as Keras converts NumPy inputs to tensors of its
device; device inputs are never copied to the host.

Rule (docs/gpu.md): host arrays -- NumPy arrays, and the Python numbers that the input
conversion makes arrays -- go to the device of the layer's weights, or to the current device
when the layer has no weight yet. Checked on the strict library (`strict_arrays.py`), whose
arrays refuse implicit host conversion, so a result computed on the host or a hidden copy back
would fail here.
"""

from __future__ import annotations

import numpy as np
import pytest

import rnnkit as keras
import strict_arrays
from device_params import strict_registered  # noqa: F401
from rnnkit import array_library
from rnnkit.array_library import DeviceMismatchError

DEVICE = strict_arrays.DEVICE
STRICT = strict_arrays.StrictArray
BOTH = r"'strict:0'.*'cpu:0'|'cpu:0'.*'strict:0'"


def _dense(device=None, units=2, width=3):
    def make():
        layer = keras.layers.Dense(units, activation="tanh")
        layer.build((None, width))
        return layer
    if device is None:
        return make()
    with keras.device(device):
        return make()


def _reference(layer, x):
    kernel, bias = layer.get_weights()
    return np.tanh(x.astype("float32") @ kernel + bias)


class _Identity(keras.layers.Layer):
    """Returns what `call` receives: shows the conversion's output itself."""

    def call(self, inputs):
        return inputs


class _Seen(keras.layers.Layer):
    """Records the type of the input `call` receives (and passes it on)."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.seen = []

    def call(self, inputs):
        self.seen.append(type(inputs))
        return inputs


def test_only_host_tells_whether_a_device_library_is_registered():
    assert array_library.only_host()
    strict_arrays.register()
    try:
        assert not array_library.only_host()
    finally:
        strict_arrays.unregister()
    assert array_library.only_host()


def test_numpy_into_a_device_layer_computes_on_its_device(strict_registered):  # noqa: F811
    layer = _dense(DEVICE)
    x = np.random.default_rng(0).standard_normal((4, 3)).astype("float32")
    y = layer(x)                                    # outside any device block
    assert type(y) is STRICT
    np.testing.assert_allclose(array_library.to_host(y), _reference(layer, x), rtol=1e-6)
    with keras.device("cpu"):                       # the weights' device wins over the block
        assert type(layer(x)) is STRICT
    # float64 and integer host inputs are cast (on the host) and uploaded
    assert type(layer(x.astype("float64"))) is STRICT
    y_int = layer(np.arange(6).reshape(2, 3))
    np.testing.assert_allclose(array_library.to_host(y_int),
                               _reference(layer, np.arange(6).reshape(2, 3)), rtol=1e-6)


def test_unbuilt_and_weightless_layers_take_the_current_device(strict_registered):  # noqa: F811
    x = np.ones((2, 3), dtype="float32")
    with keras.device(DEVICE):
        layer = keras.layers.Dense(2)
        y = layer(x)                                # built by this call, on the device
        assert type(layer.kernel.value) is STRICT and type(y) is STRICT
        assert type(keras.layers.Activation("relu")(x)) is STRICT
        assert type(keras.layers.Dropout(0.5, seed=1)(x, training=True)) is STRICT
    # outside the block a weightless layer leaves host data on the host
    assert type(keras.layers.Activation("relu")(x)) is np.ndarray


def test_python_scalars_and_lists_are_uploaded(strict_registered):  # noqa: F811
    with keras.device(DEVICE):
        relu = keras.layers.Activation("relu")
        y = relu(-2.0)                                # a Python number: a 0-d input
        assert type(y) is STRICT and y.shape == ()
        np.testing.assert_array_equal(array_library.to_host(y), 0.0)
        joined = keras.layers.Concatenate()([np.ones((2, 1)), np.zeros((2, 2))])  # a list
        assert type(joined) is STRICT
        np.testing.assert_array_equal(array_library.to_host(joined),
                                      [[1, 0, 0], [1, 0, 0]])
        seen = _Seen()
        model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2), seen])
    kernel, bias = model.get_weights()
    # a nested list of numbers is one array: uploaded, computed there, returned as NumPy
    out = model.predict_on_batch([[1.0, 2.0, 3.0]])
    assert type(out) is np.ndarray and seen.seen[-1] is STRICT
    np.testing.assert_allclose(out, np.array([[1.0, 2.0, 3.0]]) @ kernel + bias, rtol=1e-6)
    # a model called on NumPy returns a device array (outputs stay on the device)
    assert type(model(np.ones((2, 3)))) is STRICT
    assert model.predict_on_batch(np.ones((2, 3))).shape == (2, 2)


def test_keyword_inputs_mask_and_initial_state_are_uploaded(strict_registered):  # noqa: F811
    rng = np.random.default_rng(1)
    x = rng.standard_normal((3, 5, 2)).astype("float32")
    h0 = rng.standard_normal((3, 4)).astype("float32")
    c0 = rng.standard_normal((3, 4)).astype("float32")
    mask = np.array([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1], [1, 0, 0, 0, 0]], dtype=bool)
    host = keras.layers.LSTM(4, return_sequences=True)
    expected = host(x, initial_state=[h0, c0], mask=mask)
    with keras.device(DEVICE):
        dev = keras.layers.LSTM(4, return_sequences=True)
        dev.build((None, 5, 2))
    dev.set_weights(host.get_weights())
    got = dev(x, initial_state=[h0, c0], mask=mask)
    assert type(got) is STRICT
    np.testing.assert_allclose(array_library.to_host(got), expected, rtol=1e-6, atol=1e-7)
    # a layer called without keywords goes through the fast path on the host only
    assert type(dev(x)) is STRICT
    np.testing.assert_allclose(array_library.to_host(dev(x)), host(x), rtol=1e-6, atol=1e-7)


def test_the_on_batch_methods_take_host_data(strict_registered):  # noqa: F811
    def model(device):
        with keras.device(device):
            m = keras.Sequential([keras.Input((4, 3)), keras.layers.GRU(5),
                                  keras.layers.Dense(1)])
            m.compile(optimizer="sgd", loss="mse", metrics=["mae"])
            return m
    host, dev = model("cpu"), model(DEVICE)
    dev.set_weights(host.get_weights())
    rng = np.random.default_rng(2)
    x = rng.standard_normal((6, 4, 3)).astype("float32")
    y = rng.standard_normal((6, 1)).astype("float32")
    for method in ("train_on_batch", "test_on_batch"):
        want = getattr(host, method)(x, y)
        got = getattr(dev, method)(x, y)
        assert all(type(v) is float for v in got)            # copied to the host explicitly
        np.testing.assert_allclose(got, want, rtol=1e-6)
    assert type(dev.weights[0].value) is STRICT                # trained where it lives
    np.testing.assert_allclose(dev.predict_on_batch(x), host.predict_on_batch(x), rtol=1e-6)


def test_mixed_devices_are_still_an_error_naming_both(strict_registered):  # noqa: F811
    s = strict_arrays.strict.ones((2, 3), dtype="float32")
    with pytest.raises(DeviceMismatchError, match=BOTH):
        _dense()(s)                           # host weights, device input: never downloaded
    lstm = keras.layers.LSTM(4)
    lstm.build((None, 5, 3))
    with pytest.raises(DeviceMismatchError, match=BOTH):
        lstm(strict_arrays.strict.ones((2, 5, 3), dtype="float32"))
    with keras.device(DEVICE):
        joined = keras.layers.Concatenate()
        # a host array next to a device array in one call: the host one is uploaded
        assert type(joined([s, np.ones((2, 1), dtype="float32")])) is STRICT


def test_host_layers_keep_their_inputs_on_the_host(strict_registered):  # noqa: F811
    with keras.device(DEVICE):
        hashing = keras.layers.Hashing(num_bins=3)
        out = hashing(np.array([["a"], ["b"]]))
    assert type(out) is np.ndarray


@pytest.mark.parametrize("registered", [False, True], ids=["numpy-only", "strict-registered"])
def test_the_cpu_path_is_unchanged(registered):
    if registered:
        strict_arrays.register()
    try:
        x = np.ones((2, 3), dtype="float32")
        identity = _Identity()
        assert identity(x) is x                    # the very same array reaches `call`
        scalar = identity(2.0)
        assert type(scalar) is np.ndarray and scalar.dtype == np.float32
        layer = _dense()
        y = layer(x)
        assert type(y) is np.ndarray
        np.testing.assert_allclose(y, _reference(layer, x), rtol=1e-6)
        lstm = keras.layers.LSTM(4)
        assert type(lstm(np.ones((2, 5, 3), dtype="float32"))) is np.ndarray
        model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
        assert type(model(x)) is np.ndarray
        assert type(model.predict_on_batch(x)) is np.ndarray
        with keras.device("cpu"):
            assert identity(x) is x
    finally:
        if registered:
            strict_arrays.unregister()
