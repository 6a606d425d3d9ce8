"""The array libraries a device-generic test runs on: "numpy" (the host), "strict" (the CPU
stand-in for a GPU library that refuses implicit host conversion, `strict_arrays.py`) and
"cupy" (marked `gpu`, skipped with the reason where no usable GPU is present).

    @pytest.mark.parametrize("library", LIBRARIES)
    def test_x(library, strict_registered):
        dev = on(library)              # skips "cupy" without a GPU
        y = keras.ops.tanh(dev.put(x))
        assert dev.is_native(y)
        np.testing.assert_array_equal(dev.host(y), np.tanh(x))
"""

from __future__ import annotations

import numpy as np
import pytest

import rnnkit
import strict_arrays
from rnnkit import array_library

LIBRARIES = ["numpy", "strict",
             pytest.param("cupy", marks=[
                 pytest.mark.gpu,
                 pytest.mark.skipif(
                     not rnnkit.cuda.is_available(),
                     reason=f"GPU backend unavailable: {rnnkit.cuda.unavailable_reason()}")])]

DEVICES = {"numpy": "cpu:0", "strict": strict_arrays.DEVICE, "cupy": "gpu:0"}


class On:
    """Moves test data to one library's device and back, explicitly."""

    def __init__(self, name):
        self.name = name
        self.device = DEVICES[name]

    def put(self, value):
        """A host array (or a list of them) on the device."""
        if value is None or np.isscalar(value):
            return value
        if isinstance(value, (list, tuple)):
            return type(value)(self.put(v) for v in value)
        return array_library.to_device(np.asarray(value), self.device)

    def host(self, value):
        """A device result as a NumPy array (lists element by element)."""
        value = rnnkit.autodiff.unwrap(value)
        if isinstance(value, (list, tuple)):
            return [self.host(v) for v in value]
        return array_library.to_host(value)

    def is_native(self, value):
        """Whether `value` is an array of this library (no host fallback happened)."""
        value = rnnkit.autodiff.unwrap(value)
        if self.name == "numpy":
            return type(value) is np.ndarray
        return array_library.device_of(value) == self.device and \
            type(value) is not np.ndarray


@pytest.fixture
def strict_registered():
    """The strict library registered for one test (removed after it, so that the device
    list of other tests is unchanged)."""
    strict_arrays.register()
    yield
    strict_arrays.unregister()


def on(name):
    """The `On` helper for `name` ("numpy", "strict" or "cupy")."""
    return On(name)
