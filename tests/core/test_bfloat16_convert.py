"""float32 <-> bfloat16 in C++ (`rnnkit._core.convert_bfloat16`, `array_library.astype`): the
same bits as ml_dtypes' casts, at every ISA level and thread count; bad arguments refused."""

import os
import subprocess
import sys

import numpy as np
import pytest

import rnnkit
from rnnkit import _core, array_library

ml_dtypes = pytest.importorskip("ml_dtypes")
BF16 = np.dtype(ml_dtypes.bfloat16)


def float32_bits():
    """Every upper half with lower halves around the tie, random patterns, and the specials."""
    rng = np.random.default_rng(7)
    highs = np.arange(1 << 16, dtype=np.uint32) << 16
    lows = np.array([0, 1, 0x7FFF, 0x8000, 0x8001, 0xFFFF], dtype=np.uint32)
    grid = (highs[:, None] | lows[None, :]).ravel()
    return np.concatenate([grid, rng.integers(0, 1 << 32, 200_000, dtype=np.uint64)
                           .astype(np.uint32)])


def test_float32_to_bfloat16_matches_ml_dtypes_bit_for_bit():
    values = float32_bits().view(np.float32)
    got = np.empty(values.size, np.uint16)
    _core.convert_bfloat16(values, got)
    with np.errstate(invalid="ignore"):
        want = values.astype(BF16).view(np.uint16)
    np.testing.assert_array_equal(got, want)


def test_bfloat16_to_float32_matches_ml_dtypes_bit_for_bit():
    halves = np.tile(np.arange(1 << 16, dtype=np.uint16), 5)
    got = np.empty(halves.size, np.float32)
    _core.convert_bfloat16(halves, got)
    np.testing.assert_array_equal(got.view(np.uint32),
                                  halves.view(BF16).astype(np.float32).view(np.uint32))


@pytest.mark.parametrize("shape", [(0,), (1,), (1023,), (1024,), (3, 700), (2, 5, 40_003)])
def test_astype_converts_both_ways_like_numpy(shape):
    rng = np.random.default_rng(sum(shape))
    x = rng.standard_normal(shape).astype(np.float32) * 1e3
    y = array_library.astype(x, BF16)
    assert y.dtype == BF16 and y.shape == x.shape
    np.testing.assert_array_equal(y.view(np.uint16), x.astype(BF16).view(np.uint16))
    z = array_library.astype(y, "float32")
    assert z.dtype == np.float32
    np.testing.assert_array_equal(z, y.astype(np.float32))


def test_astype_keeps_an_array_of_the_dtype_and_handles_strided_ones():
    x = np.random.default_rng(0).standard_normal((64, 64)).astype(np.float32)
    assert array_library.astype(x, np.float32) is x
    strided = x[:, ::2]
    np.testing.assert_array_equal(array_library.astype(strided, BF16).view(np.uint16),
                                  strided.astype(BF16).view(np.uint16))
    np.testing.assert_array_equal(array_library.astype(x, np.float64), x.astype(np.float64))


def test_the_thread_team_and_one_thread_give_the_same_bits():
    values = float32_bits().view(np.float32)
    before = rnnkit.get_num_threads()
    outputs = []
    try:
        for threads in (1, 2):
            rnnkit.set_num_threads(threads)
            out = np.empty(values.size, np.uint16)
            _core.convert_bfloat16(values, out)
            outputs.append(out)
    finally:
        rnnkit.set_num_threads(before)
    np.testing.assert_array_equal(outputs[0], outputs[1])


WORKER = """
import sys
import numpy as np
from rnnkit import _core
values = np.load(sys.argv[1])
out = np.empty(values.size, np.uint16)
_core.convert_bfloat16(values, out)
back = np.empty(values.size, np.float32)
_core.convert_bfloat16(out, back)
np.savez(sys.argv[2], out=out, back=back, isa=_core.cpu_isa())
"""


@pytest.mark.parametrize("level", ["baseline", "avx2", "avx512"])
def test_every_isa_level_converts_the_same(level, tmp_path):
    if level not in _core.build_info()["isa_supported"]:
        pytest.skip(f"this build or CPU does not run the {level} level")
    values = float32_bits().view(np.float32)
    np.save(tmp_path / "values.npy", values)
    env = dict(os.environ, RNNKIT_ISA=level)
    done = subprocess.run([sys.executable, "-c", WORKER, str(tmp_path / "values.npy"),
                           str(tmp_path / "out.npz")], env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    with np.load(tmp_path / "out.npz") as data:
        assert str(data["isa"]) == level
        with np.errstate(invalid="ignore"):
            want = values.astype(BF16)
        np.testing.assert_array_equal(data["out"], want.view(np.uint16))
        np.testing.assert_array_equal(data["back"].view(np.uint32),
                                      want.astype(np.float32).view(np.uint32))


def test_bad_arguments_are_refused_by_name():
    x = np.zeros(8, np.float32)
    with pytest.raises(TypeError, match="float32 -> uint16"):
        _core.convert_bfloat16(x, np.empty(8, np.float32))
    with pytest.raises(TypeError, match="not C-contiguous"):
        _core.convert_bfloat16(np.zeros(16, np.float32)[::2], np.empty(8, np.uint16))
    with pytest.raises(ValueError, match="8 elements, destination 9"):
        _core.convert_bfloat16(x, np.empty(9, np.uint16))
    read_only = np.empty(8, np.uint16)
    read_only.flags.writeable = False
    with pytest.raises(TypeError, match="writable"):
        _core.convert_bfloat16(x, read_only)


def test_ops_cast_and_the_tape_use_the_same_bits():
    """`ops.cast` to and from bfloat16 (what the mixed layers' autocast does) gives ml_dtypes'
    bits on arrays large enough for the C++ path, and its gradient passes through."""
    import rnnkit as keras
    x = np.random.default_rng(3).standard_normal((64, 300)).astype(np.float32)
    y = keras.ops.cast(x, "bfloat16")
    np.testing.assert_array_equal(np.asarray(y).view(np.uint16), x.astype(BF16).view(np.uint16))
    v = keras.Variable(x)
    with keras.GradientTape() as tape:
        z = keras.ops.cast(keras.ops.cast(v, "bfloat16"), "float32")
        loss = keras.ops.sum(z * 2.0)
    grad = tape.gradient(loss, v)
    assert grad.dtype == np.float32
    np.testing.assert_array_equal(grad, np.full_like(x, 2.0))
