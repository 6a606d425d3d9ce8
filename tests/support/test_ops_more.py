"""The rest of keras.ops: values against Keras 3 (fixtures made by tools/make_ops_fixtures.py)
and against NumPy / the definitions, gradients against central finite differences (float64),
symbolic tensors in functional models, and argument errors."""

from __future__ import annotations

import importlib.util
import math
import os
import warnings

import numpy as np
import pytest

import rnnkit as keras
from rnnkit import ops
from rnnkit.autodiff import GradientTape, Tensor
from rnnkit.graph import KerasTensor
from helpers import assert_close, assert_same  # noqa: E402
import paths

ROOT = str(paths.ROOT)


def _load_fixture_tool():
    spec = importlib.util.spec_from_file_location(
        "make_ops_fixtures", os.path.join(ROOT, "tools", "make_ops_fixtures.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


FIXTURES = _load_fixture_tool()
KERAS_VERSION, ARRAYS = FIXTURES.load()


def _fixture(name):
    ins, outs = [], []
    while f"{name}/in_{len(ins)}" in ARRAYS:
        ins.append(ARRAYS[f"{name}/in_{len(ins)}"])
    while f"{name}/out_{len(outs)}" in ARRAYS:
        outs.append(ARRAYS[f"{name}/out_{len(outs)}"])
    return ins, outs


# Results computed through LAPACK / FFTs / long reductions differ from Keras (JAX, float32)
# by rounding only.
LOOSE = {"linalg_basic", "linalg_factor", "svd_pinv", "lstsq", "solve_triangular",
         "cdist_logdet", "fft", "rfft_irfft", "stft_istft", "ctc_loss", "corrcoef",
         "dot_product_attention", "dot_product_attention_masked", "dot_product_attention_gqa",
         "normalizations", "batch_normalization", "quantiles", "nan_reductions", "lu_factor"}


def test_fixture_file_is_from_keras_3_and_has_every_case():
    assert KERAS_VERSION.startswith("3.")
    missing = [name for name in FIXTURES.CASES if not _fixture(name)[1]]
    assert not missing, f"cases without Keras values: {missing}"


@pytest.mark.parametrize("name", sorted(FIXTURES.CASES))
def test_against_keras(name):
    ins, expected = _fixture(name)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        got = FIXTURES._flatten(FIXTURES.CASES[name](ops, *ins))
    assert len(got) == len(expected)
    rtol, atol = (2e-4, 2e-5) if name in LOOSE else (1e-5, 1e-6)
    for j, (g, e) in enumerate(zip(got, expected)):
        assert type(g) is np.ndarray, (j, type(g))
        assert g.shape == e.shape, (j, g.shape, e.shape)
        assert g.dtype == e.dtype, (j, g.dtype, e.dtype)
        if e.dtype.kind in "biu":
            assert_same(g, e, err_msg=f"output {j}")
        else:
            np.testing.assert_allclose(g, e, rtol=rtol, atol=atol, equal_nan=True,
                                       err_msg=f"output {j}")


@pytest.mark.parametrize("name", sorted(FIXTURES.GRAD_CASES))
def test_gradient_conventions_match_keras(name):
    """At ties, zeros and kinks, the gradient Keras (JAX) gives: d/dx sum(case(x) * w)."""
    case, _ = FIXTURES.GRAD_CASES[name]
    x = ARRAYS[f"grad/{name}/in"]
    want = ARRAYS[f"grad/{name}/grad"]
    t = Tensor(x.copy())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        with GradientTape() as tape:
            tape.watch(t)
            out = case(ops, t)
            loss = ops.sum(ops.multiply(out, FIXTURES._grad_weights(np.shape(out))))
        got = tape.gradient(loss, t)
    assert got is not None and got.shape == x.shape and got.dtype == want.dtype
    np.testing.assert_allclose(got, want, rtol=2e-5, atol=2e-5)


# ------------------------------------------------------------------------------------------------
# Values against NumPy / SciPy / the definitions
# ------------------------------------------------------------------------------------------------

def _r(rng, *shape):
    return rng.standard_normal(shape)


def test_elementwise_against_numpy(rng):
    x = rng.uniform(-0.9, 0.9, (3, 4))
    y = rng.uniform(0.5, 2, (3, 4))
    for name, ref, arg in [("arccos", np.arccos, x), ("arcsin", np.arcsin, x),
                           ("arctanh", np.arctanh, x), ("arcsinh", np.arcsinh, x),
                           ("arccosh", np.arccosh, y + 1), ("cbrt", np.cbrt, x),
                           ("deg2rad", np.deg2rad, x), ("rad2deg", np.rad2deg, x),
                           ("fabs", np.fabs, x), ("sinc", np.sinc, x), ("i0", np.i0, x),
                           ("trunc", np.trunc, 3 * x), ("signbit", np.signbit, x),
                           ("isneginf", np.isneginf, x), ("isposinf", np.isposinf, x),
                           ("isreal", np.isreal, x), ("rsqrt", lambda v: 1 / np.sqrt(v), y),
                           ("real", np.real, x), ("imag", np.imag, x),
                           ("conj", np.conj, x), ("angle", np.angle, -x)]:
        got = getattr(ops, name)(arg)
        want = ref(arg)
        assert got.dtype == np.asarray(want).dtype, name
        assert_close(got, want, rtol=1e-12, atol=1e-15, err_msg=name)
    for name, ref in [("arctan2", np.arctan2), ("hypot", np.hypot),
                      ("logaddexp", np.logaddexp), ("logaddexp2", np.logaddexp2),
                      ("fmax", np.fmax), ("fmin", np.fmin), ("fmod", np.fmod),
                      ("heaviside", np.heaviside), ("nextafter", np.nextafter)]:
        assert_close(getattr(ops, name)(x, y), ref(x, y), rtol=1e-12, err_msg=name)
    a = np.array([12, 18, 7], "int32")
    b = np.array([8, 27, 3], "int32")
    for name, ref in [("gcd", np.gcd), ("lcm", np.lcm), ("bitwise_and", np.bitwise_and),
                      ("bitwise_or", np.bitwise_or), ("bitwise_xor", np.bitwise_xor),
                      ("bitwise_left_shift", np.left_shift), ("left_shift", np.left_shift),
                      ("bitwise_right_shift", np.right_shift), ("right_shift", np.right_shift)]:
        assert_same(getattr(ops, name)(a, b % 5), ref(a, b % 5), err_msg=name)
    assert_same(ops.bitwise_invert(a), np.invert(a))
    assert_same(ops.bitwise_not(a), np.invert(a))
    assert_close(ops.ldexp(x, np.array(3)), x * 8)
    assert_close(ops.erf(x), [[math.erf(v) for v in row] for row in x], rtol=1e-12)
    assert_close(ops.erfc(x), [[math.erfc(v) for v in row] for row in x], rtol=1e-12)
    assert_close(ops.erf(ops.erfinv(x)), x, rtol=1e-10)


def test_integer_inputs_give_floatx_for_float_functions():
    x = np.arange(1, 5, dtype="int32")
    for name in ["arcsinh", "cbrt", "deg2rad", "sinc", "erf", "erfinv", "rsqrt", "i0", "sqrt",
                 "exp", "exp2", "log", "log2", "log10", "log1p", "expm1", "sin", "cos", "tan",
                 "arctan", "sinh", "cosh", "tanh", "mean", "var", "std"]:
        for dtype in ["int8", "uint8", "int32", "int64", "bool"]:
            assert getattr(ops, name)(x.astype(dtype)).dtype == np.float32, (name, dtype)
        for dtype in ["float16", "float32", "float64"]:      # floats keep their dtype
            assert getattr(ops, name)(x.astype(dtype) / 8).dtype == np.dtype(dtype), (name,
                                                                                     dtype)
    assert_close(ops.sqrt(np.array([4, 9])), [2.0, 3.0])
    keras.config.set_floatx("float64")
    try:
        assert ops.cbrt(x).dtype == np.float64
        assert ops.zeros((2,)).dtype == np.float64
        assert ops.convert_to_tensor([1.5]).dtype == np.float64
        assert ops.hamming(4).dtype == np.float64
    finally:
        keras.config.set_floatx("float32")
    assert ops.zeros((2,)).dtype == np.float32


def test_reductions_against_numpy(rng):
    x = _r(rng, 4, 5)
    xn = x.copy()
    xn[0, 1] = xn[2, 3] = xn[2, 4] = np.nan
    for name in ["nansum", "nanmean", "nanmax", "nanmin", "nanprod", "nanvar", "nanstd",
                 "nanmedian"]:
        for axis in [None, 0, 1]:
            got = getattr(ops, name)(xn, axis=axis)
            assert_close(got, getattr(np, name)(xn, axis=axis), rtol=1e-12, err_msg=name)
    for name in ["nanargmax", "nanargmin"]:
        assert_same(getattr(ops, name)(xn, axis=1), getattr(np, name)(xn, axis=1))
    assert_close(ops.nancumsum(xn, axis=1), np.nancumsum(xn, axis=1))
    assert_close(ops.nancumprod(xn, axis=0), np.nancumprod(xn, axis=0))
    assert_close(ops.cumprod(x, axis=0), np.cumprod(x, axis=0))
    assert_close(ops.ptp(x, axis=0), np.ptp(x, axis=0))
    for method in ["linear", "lower", "higher", "midpoint", "nearest"]:
        for axis in [None, 1, (0, 1)]:
            for q in [0.3, [0.0, 0.5, 1.0]]:
                assert_close(ops.quantile(x, q, axis=axis, method=method),
                             np.quantile(x, q, axis=axis, method=method), rtol=1e-12,
                             err_msg=f"{method} {axis} {q}")
    assert_close(ops.quantile(x, [0.2, 0.7], axis=0, keepdims=True),
                 np.quantile(x, [0.2, 0.7], axis=0, keepdims=True), rtol=1e-12)
    assert_close(ops.percentile(x, 35, axis=1), np.percentile(x, 35, axis=1), rtol=1e-12)
    assert_close(ops.nanpercentile(xn, 35, axis=1), np.nanpercentile(xn, 35, axis=1))
    assert_close(ops.median(x, axis=1), np.median(x, axis=1), rtol=1e-12)
    w = rng.uniform(0.1, 1, 5)
    assert_close(ops.average(x, axis=1, weights=w), np.average(x, axis=1, weights=w))
    assert_close(ops.average(x, weights=np.abs(x)), np.average(x, weights=np.abs(x)))
    assert_close(ops.trapezoid(x, dx=0.3), np.trapezoid(x, dx=0.3))
    assert_close(ops.trapezoid(x, x=np.arange(5.0) ** 2), np.trapezoid(x, x=np.arange(5.0) ** 2))
    assert_same(ops.count_nonzero(np.array([[0, 1], [2, 0]]), axis=0), [1, 1])
    with pytest.raises(ValueError, match="method"):
        ops.quantile(x, 0.5, method="bogus")
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        ops.quantile(x, 1.5)


def test_sorting_searching_counting(rng):
    x = _r(rng, 3, 6)
    assert_close(ops.sort(x), np.sort(x))
    assert_close(ops.sort(x, axis=None), np.sort(x, axis=None))
    part = ops.argpartition(x, 2, axis=1)
    picked = np.take_along_axis(x, part, axis=1)
    assert np.all(picked[:, :2] <= picked[:, 2:3]) and np.all(picked[:, 3:] >= picked[:, 2:3])
    s = np.array([1.0, 2.0, 2.0, 5.0])
    assert_same(ops.searchsorted(s, [2.0, 3.0], side="right"), [3, 3])
    assert_same(ops.digitize([0.5, 2.0, 9.0], [1.0, 2.0]), np.digitize([0.5, 2.0, 9.0],
                                                                        [1.0, 2.0]))
    assert_same(ops.bincount(np.array([[0, 1, 1], [2, 2, 0]])), [[1, 2, 0], [1, 0, 2]])
    values, idx = ops.top_k(np.array([[1, 200, 3, 200]], "uint8"), 3)
    assert_same(values, [[200, 200, 3]])
    assert_same(idx, [[1, 3, 2]])
    values, idx = ops.top_k(np.array([[1.0, np.nan, 3.0, 3.0]]), 2)
    assert np.isnan(values[0, 0]) and values[0, 1] == 3.0 and list(idx[0]) == [1, 2]
    assert_same(ops.in_top_k(np.array([0, 1]), np.array([[1.0, 1.0, 0.0], [0.0, 1.0, 2.0]]),
                             1), [True, False])
    vals, inv, counts = ops.unique(np.array([3, 1, 3, 2]), return_inverse=True,
                                   return_counts=True)
    assert_same(vals, [1, 2, 3])
    assert_same(vals[inv], [3, 1, 3, 2])
    assert_same(ops.unique(np.array([3, 1, 3]), size=4, fill_value=-1), [1, 3, -1, -1])
    assert_same(ops.nonzero(np.array([[0, 1], [1, 0]]))[1], [1, 0])
    rows, cols = ops.unravel_index(np.array([1, 5]), (2, 3))
    assert_same(rows, [0, 1])
    assert_same(cols, [1, 2])
    assert ops.isin(np.array([1, 2, 3]), [2, 5]).tolist() == [False, True, False]
    assert ops.allclose(np.ones(3), np.ones(3) + 1e-9) and not ops.allclose(1.0, 1.1)
    with pytest.raises(ValueError, match="k must be an int"):
        ops.top_k(x, 7)
    with pytest.raises(ValueError, match="side"):
        ops.searchsorted(s, s, side="middle")


def test_shapes_and_products_against_numpy(rng):
    x = _r(rng, 4, 4)
    a, b = _r(rng, 2, 3), _r(rng, 3, 2)
    assert_close(ops.kron(a, b), np.kron(a, b))
    assert_close(ops.kron(a[0], b), np.kron(a[0], b))
    c = _r(rng, 5, 3)
    assert_close(ops.cross(c, np.ones(3)), np.cross(c, np.ones(3)))
    assert_close(ops.cross(c[:, :2], np.ones(2)), c[:, 0] - c[:, 1])
    u, v = _r(rng, 4, 3), _r(rng, 4, 3)
    assert_close(ops.cross(u, v), np.cross(u, v))
    assert_close(ops.cross(u.T, v.T, axis=0), np.cross(u.T, v.T, axis=0))
    assert_close(ops.vdot(a, a), np.vdot(a, a))
    for m in ["valid", "same", "full"]:
        for n1, n2 in [(6, 3), (3, 6), (5, 5), (4, 1)]:
            p, q = _r(rng, n1), _r(rng, n2)
            assert_close(ops.correlate(p, q, mode=m), np.correlate(p, q, mode=m),
                         err_msg=f"{m} {n1} {n2}")
    for k in [-1, 0, 2]:
        assert_close(ops.diagonal(x, k), np.diagonal(x, k))
        assert_close(ops.trace(x, k), np.trace(x, k))
        assert_close(ops.diag(x[0], k), np.diag(x[0], k))
        assert_close(ops.diagflat(a, k), np.diagflat(a, k))
    y = _r(rng, 2, 3, 4)
    assert_close(ops.diagonal(y, 1, 2, 0), np.diagonal(y, 1, 2, 0))
    assert_close(ops.diff(y, 2, axis=1), np.diff(y, 2, axis=1))
    assert_close(ops.roll(y, (1, -2), axis=(0, 2)), np.roll(y, (1, -2), axis=(0, 2)))
    for k in range(-1, 5):
        assert_close(ops.rot90(y, k, axes=(1, 2)), np.rot90(y, k, axes=(1, 2)))
    for name in ["hstack", "vstack", "dstack"]:
        for arrays in [[a[0], a[1]], [a, a], [y, y]]:
            assert_close(getattr(ops, name)(arrays), getattr(np, name)(arrays), err_msg=name)
    for name in ["hsplit", "vsplit", "dsplit"]:
        for got, want in zip(getattr(ops, name)(y if name == "dsplit" else x, 2),
                             getattr(np, name)(y if name == "dsplit" else x, 2)):
            assert_close(got, want)
    for indexing in ["xy", "ij"]:
        for got, want in zip(ops.meshgrid(a[0], b[0], x[0], indexing=indexing),
                             np.meshgrid(a[0], b[0], x[0], indexing=indexing)):
            assert_close(got, want)
    assert_close(ops.corrcoef(x), np.corrcoef(x), atol=1e-12)
    assert_close(ops.vander(a[0], 4), np.vander(a[0], 4))
    assert_close(ops.nan_to_num(np.array([np.nan, np.inf]), posinf=3.0), [0.0, 3.0])
    assert_close(ops.divide_no_nan(np.array([1.0, 2.0]), np.array([0.0, 4.0])), [0.0, 0.5])
    assert_close(ops.geomspace(1, 8, 4), [1, 2, 4, 8])
    assert_close(ops.logspace(0, 2, 3), [1, 10, 100])
    for name in ["bartlett", "blackman", "hamming", "hanning"]:
        assert_close(getattr(ops, name)(7), getattr(np, name)(7), rtol=1e-6, atol=1e-7)
    assert_close(ops.kaiser(7, 3.0), np.kaiser(7, 3.0), rtol=1e-6)
    with pytest.raises(ValueError, match="must be 2 or 3"):
        ops.cross(np.ones(4), np.ones(4))
    with pytest.raises(ValueError, match="1-D"):
        ops.correlate(np.ones((2, 2)), np.ones(2))


def test_math_ops_against_definitions(rng):
    d = _r(rng, 6, 2)
    ids = np.array([0, 2, 2, 1, 0, 5])
    for name, ufunc, empty in [("segment_sum", np.add, 0.0), ("segment_max", np.maximum,
                                                              -np.inf),
                               ("segment_min", np.minimum, np.inf),
                               ("segment_prod", np.multiply, 1.0)]:
        want = np.full((4, 2), empty)
        for row, s in zip(d, ids):
            if s < 4:
                want[s] = ufunc(want[s], row) if not (
                    empty in (np.inf, -np.inf) and np.isinf(want[s]).all()) else row
        got = getattr(ops, name)(d, ids, num_segments=4)
        np.testing.assert_allclose(got, want, err_msg=name)
    assert ops.segment_sum(d, ids).shape == (6, 2)
    re, im = _r(rng, 3, 8), _r(rng, 3, 8)
    z = np.fft.fft(re + 1j * im)
    fr, fi = ops.fft((re, im))
    assert_close(fr, z.real, atol=1e-12)
    assert_close(fi, z.imag, atol=1e-12)
    rr, ri = ops.rfft(re, fft_length=10)
    assert_close(rr + 1j * ri, np.fft.rfft(re, 10), atol=1e-12)
    assert_close(ops.irfft((rr, ri), 10), np.fft.irfft(rr + 1j * ri, 10), atol=1e-12)
    assert_close(ops.irfft(ops.rfft(re)), re, atol=1e-12)
    sig = _r(rng, 2, 40)
    spec = ops.stft(sig, 16, 4, 16)
    assert spec[0].shape == (2, 11, 9)
    assert_close(ops.istft(spec, 16, 4, 16, length=40), sig, atol=1e-10)
    frames = ops.extract_sequences(np.arange(10.0), 4, 3)
    assert_same(frames, [[0, 1, 2, 3], [3, 4, 5, 6], [6, 7, 8, 9]])
    p, q = _r(rng, 3, 2), _r(rng, 5, 2)
    assert_close(ops.cdist(p, q), np.sqrt(((p[:, None] - q[None]) ** 2).sum(-1)))
    assert_close(ops.scatter(np.array([[0], [2], [0]]), np.array([1.0, 2.0, 3.0]), (4,)),
                 [4.0, 0.0, 2.0, 0.0])
    base = np.zeros((3, 3))
    for red, want in [(None, 2.0), ("add", 3.0), ("max", 2.0), ("min", 0.0), ("mul", 0.0)]:
        out = ops.scatter_update(base, np.array([[1, 1], [1, 1]]), np.array([1.0, 2.0]),
                                 reduction=red)
        assert out[1, 1] == want, red
    assert_close(ops.slice_update(base, (1, 0), np.ones((2, 2))),
                 [[0, 0, 0], [1, 1, 0], [1, 1, 0]])
    assert_same(ops.saturate_cast(np.array([-5.0, 300.0]), "uint8"), [0, 255])
    assert_same(ops.view_as_complex(ops.view_as_real(np.array([1 + 2j, 3j]))), [1 + 2j, 3j])
    assert_close(ops.polar(np.array([2.0]), np.array([np.pi / 2])), [2j], atol=1e-12)
    with pytest.raises(ValueError, match="reduction"):
        ops.scatter_update(base, np.array([[0, 0]]), np.ones(1), reduction="avg")
    with pytest.raises(ValueError, match="fft_length"):
        ops.stft(sig, 16, 4, 8)
    with pytest.raises(ValueError, match="window"):
        ops.stft(sig, 8, 4, 8, window="kaiser")


def _spd(rng, n=4, batch=()):
    a = rng.standard_normal(batch + (n, n))
    return a @ np.swapaxes(a, -1, -2) + n * np.eye(n)


def test_linalg_against_numpy(rng):
    a = _spd(rng, 4, (2,))
    b = _r(rng, 2, 4, 3)
    la = ops.linalg
    assert_close(la.inv(a), np.linalg.inv(a))
    assert_close(la.det(a), np.linalg.det(a))
    assert_close(la.solve(a, b), np.linalg.solve(a, b))
    assert_close(la.solve(a[0], b[0, :, 0]), np.linalg.solve(a[0], b[0, :, 0]))
    L = la.cholesky(a)
    assert_close(L @ np.swapaxes(L, -1, -2), a)
    assert_close(la.cholesky(a, upper=True), np.swapaxes(L, -1, -2))
    assert_close(la.cholesky_inverse(L), np.linalg.inv(a))
    assert_close(la.cholesky_inverse(np.swapaxes(L, -1, -2), upper=True), np.linalg.inv(a))
    w, v = la.eigh(a)
    assert_close(v @ (w[..., None] * np.swapaxes(v, -1, -2)), a)
    ew, ev = la.eig(a[0])
    assert_close(np.sort(ew.real), np.sort(np.linalg.eigvalsh(a[0])))
    m = _r(rng, 5, 3)
    q, r = la.qr(m)
    assert q.shape == (5, 3) and r.shape == (3, 3)
    assert_close(q @ r, m)
    assert_close(np.triu(r), r)
    assert la.qr(m, mode="complete")[0].shape == (5, 5)
    u, s, vh = la.svd(m)
    assert u.shape == (5, 5) and vh.shape == (3, 3)
    assert_close((u[:, :3] * s) @ vh, m)
    assert_close(la.svd(m, full_matrices=False)[0].shape, (5, 3))
    assert_close(la.pinv(m), np.linalg.pinv(m))
    assert_close(la.lstsq(m, b[0, :, 0][:4].tolist() + [1.0]),
                 np.linalg.lstsq(m, b[0, :, 0][:4].tolist() + [1.0], rcond=None)[0])
    assert_same(la.matrix_rank(np.array([[1.0, 2.0], [2.0, 4.0]])), 1)
    tri = np.tril(a[0])
    assert_close(la.solve_triangular(a[0], b[0], lower=True), np.linalg.solve(tri, b[0]))
    assert_close(la.norm(m, ord="fro"), np.linalg.norm(m, "fro"))
    sign, logdet = ops.slogdet(a)
    assert_close(sign * np.exp(logdet), np.linalg.det(a))
    assert_close(ops.logdet(a), np.log(np.linalg.det(a)))
    g = _r(rng, 4, 4)
    lu, piv = la.lu_factor(g)
    P = np.eye(4)
    for i, p in enumerate(piv):
        P[[i, p]] = P[[p, i]]
    Lm = np.tril(lu, -1) + np.eye(4)
    assert_close(Lm @ np.triu(lu), P @ g, atol=1e-12)
    with pytest.raises(ValueError, match="square"):
        la.inv(np.ones((2, 3)))
    assert np.isnan(la.cholesky(-np.eye(2))).all()       # as Keras on JAX: NaN, no error
    assert np.isnan(la.inv(np.ones((2, 2)))).all()
    assert np.isnan(la.solve(np.ones((2, 2)), np.ones(2))).all()
    with pytest.raises(ValueError, match="mode"):
        la.qr(m, mode="r")


def test_jvp_matches_the_jacobian(rng):
    x = _r(rng, 3)
    t = _r(rng, 3)
    out, tangent = ops.linalg.jvp(lambda v: ops.sin(v) * ops.sum(v), (x,), (t,))
    jac = np.diag(np.cos(x) * x.sum()) + np.outer(np.sin(x), np.ones(3))
    assert_close(out, np.sin(x) * x.sum())
    assert_close(tangent, jac @ t, rtol=1e-10)
    out, tangent, aux = ops.jvp(lambda v: (ops.square(v), "aux"), [x], [t], has_aux=True)
    assert aux == "aux"
    assert_close(tangent, 2 * x * t, rtol=1e-12)


def _sparsemax_reference(z):
    """Projection onto the simplex (Martins & Astudillo), row by row."""
    out = np.zeros_like(z)
    for i, row in enumerate(z):
        s = np.sort(row)[::-1]
        c = np.cumsum(s)
        k = np.arange(1, len(row) + 1)
        kk = k[1 + k * s > c].max()
        tau = (c[kk - 1] - 1) / kk
        out[i] = np.maximum(row - tau, 0)
    return out


def test_nn_ops_against_definitions(rng):
    z = _r(rng, 4, 6)
    sm = ops.sparsemax(z)
    assert_close(sm, _sparsemax_reference(z), atol=1e-12)
    assert_close(sm.sum(-1), np.ones(4))
    t = rng.uniform(0, 1, (3, 4))
    p = rng.uniform(0.05, 0.95, (3, 4))
    assert_close(ops.binary_crossentropy(t, p), -(t * np.log(p) + (1 - t) * np.log(1 - p)))
    logits = _r(rng, 3, 4)
    prob = 1 / (1 + np.exp(-logits))
    assert_close(ops.binary_crossentropy(t, logits, from_logits=True),
                 -(t * np.log(prob) + (1 - t) * np.log(1 - prob)), rtol=1e-10)
    onehot = np.eye(4)[[0, 3, 1]]
    soft = np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)
    assert_close(ops.categorical_crossentropy(onehot, logits, from_logits=True),
                 -np.log(soft[[0, 1, 2], [0, 3, 1]]), rtol=1e-10)
    assert_close(ops.sparse_categorical_crossentropy(np.array([[0], [3], [1]]), soft),
                 -np.log(soft[[0, 1, 2], [0, 3, 1]]), rtol=1e-10)
    x = _r(rng, 2, 3, 5)
    mean, var = x.mean(-1, keepdims=True), x.var(-1, keepdims=True)
    assert_close(ops.layer_normalization(x, epsilon=1e-3), (x - mean) / np.sqrt(var + 1e-3))
    assert_close(ops.rms_normalization(x, epsilon=1e-3),
                 x / np.sqrt((x ** 2).mean(-1, keepdims=True) + 1e-3))
    assert_same(ops.multi_hot(np.array([[1, 1, 4]]), 5), [[0, 1, 0, 0, 1]])
    a, b = rng.uniform(0, 1, (4, 4)), rng.uniform(0, 1, (4, 4))
    assert_close(ops.psnr(a, b, 1.0), -10 * np.log10(((a - b) ** 2).mean()))
    q, k, v = _r(rng, 2, 3, 2, 4), _r(rng, 2, 5, 2, 4), _r(rng, 2, 5, 2, 4)
    logit = np.einsum("btnh,bsnh->bnts", q, k) / 2.0
    w = np.exp(logit - logit.max(-1, keepdims=True))
    w /= w.sum(-1, keepdims=True)
    assert_close(ops.dot_product_attention(q, k, v), np.einsum("bnts,bsnh->btnh", w, v),
                 rtol=1e-10)
    capped = ops.dot_product_attention(q, k, v, attn_logits_soft_cap=0.5)
    logit_c = 0.5 * np.tanh(logit / 0.5)
    w = np.exp(logit_c) / np.exp(logit_c).sum(-1, keepdims=True)
    assert_close(capped, np.einsum("bnts,bsnh->btnh", w, v), rtol=1e-10)
    with pytest.raises(ValueError, match="flash_attention"):
        ops.dot_product_attention(q, k, v, flash_attention=True)
    with pytest.raises(ValueError, match="num_classes"):
        ops.multi_hot(np.array([1]))
    with pytest.raises(ValueError, match="same shape"):
        ops.binary_crossentropy(np.ones(3), np.ones(4))


def _ctc_brute_force(logits, labels, blank=0):
    """-log of the summed probability of every frame path that collapses to `labels`."""
    import itertools
    T, C = logits.shape
    logp = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    total = -np.inf
    for path in itertools.product(range(C), repeat=T):
        collapsed = [c for i, c in enumerate(path) if c != blank and (i == 0 or c != path[i - 1])]
        if collapsed == list(labels):
            total = np.logaddexp(total, sum(logp[t, c] for t, c in enumerate(path)))
    return -total


def test_ctc_loss_against_brute_force_and_decode(rng):
    logits = _r(rng, 2, 5, 3)
    target = np.array([[1, 1], [2, 0]])
    loss = ops.ctc_loss(target, logits, np.array([2, 1]), np.array([5, 4]))
    assert_close(loss[0], _ctc_brute_force(logits[0], [1, 1]), rtol=1e-10)
    assert_close(loss[1], _ctc_brute_force(logits[1, :4], [2]), rtol=1e-10)
    decoded, scores = ops.ctc_decode(np.log(np.array([[[0.1, 0.8, 0.1], [0.1, 0.8, 0.1],
                                                       [0.9, 0.05, 0.05],
                                                       [0.1, 0.1, 0.8]]])), np.array([4]))
    assert_same(decoded[0, 0], [1, 2, -1, -1])
    with pytest.raises(ValueError, match="strategy"):
        ops.ctc_decode(logits, np.array([5, 5]), strategy="viterbi")


def test_control_flow_and_rearrange(rng):
    x = _r(rng, 4, 3)
    assert_close(ops.map(lambda r: r * 2, x), x * 2)
    assert_close(ops.vectorized_map(ops.sum, x), x.sum(1))
    carry, ys = ops.scan(lambda c, r: (c + r, c * 2), np.zeros(3), x)
    assert_close(carry, x.sum(0))
    assert_close(ys, 2 * (np.cumsum(x, 0) - x))
    carry, ys = ops.scan(lambda c, r: (c + r, c), np.zeros(3), x, reverse=True)
    assert_close(ys[0], x[1:].sum(0))
    assert ops.scan(lambda c, _: (c + 1, None), 0, length=3) == (3, None)
    assert_close(ops.associative_scan(ops.add, x, axis=1), np.cumsum(x, 1))
    assert_close(ops.associative_scan(ops.add, x, reverse=True),
                 np.cumsum(x[::-1], 0)[::-1])
    assert ops.switch(5, [lambda v: v + 1, lambda v: v * 10], 2) == 20
    assert ops.switch(-1, [lambda v: v + 1, lambda v: v * 10], 2) == 3
    y = _r(rng, 2, 6, 3)
    assert_close(ops.rearrange(y, "b (h w) c -> b h w c", w=3), y.reshape(2, 2, 3, 3))
    assert_close(ops.rearrange(y, "b t c -> (b t) c"), y.reshape(12, 3))
    assert_close(ops.rearrange(y, "b t c -> c t b"), y.transpose(2, 1, 0))
    f = ops.vectorize(lambda a, b: a * b + 1)
    assert_close(f(x, np.arange(3.0)), x * np.arange(3.0) + 1)
    g = ops.vectorize(lambda r: np.sum(r), signature="(n)->()")
    assert_close(g(x), x.sum(1))
    with pytest.raises(ValueError, match="same axes"):
        ops.rearrange(y, "b t c -> b t")
    with pytest.raises(ValueError, match="length"):
        ops.scan(lambda c, r: (c, r), 0, x, length=7)


_X = np.ones((3, 4), "float32")
BAD_ARGUMENTS = {
    "top_k": (lambda: ops.top_k(_X, "2"), ValueError, "k must be an int"),
    "extract_sequences": (lambda: ops.extract_sequences(_X, 0, 1), ValueError,
                          "sequence_length"),
    "stft": (lambda: ops.stft(np.ones(16), 8, 0, 8), ValueError, "sequence_stride"),
    "segment_sum": (lambda: ops.segment_sum(_X, np.array([0, 1])), ValueError, "segment_ids"),
    "multi_hot": (lambda: ops.multi_hot(np.array([1]), 3, sparse=True), ValueError, "sparse"),
    "bincount": (lambda: ops.bincount(np.array([-1, 2])), ValueError, "non-negative"),
    "histogram": (lambda: ops.histogram(np.ones(3), bins=0), ValueError, "bins"),
    "layer_normalization": (lambda: ops.layer_normalization(_X, bogus=1), TypeError, "bogus"),
    "diag": (lambda: ops.diag(np.ones((2, 2, 2))), ValueError, "1-D or 2-D"),
    "vander": (lambda: ops.vander(_X), ValueError, "1-D"),
    "depth_to_space": (lambda: ops.depth_to_space(np.ones((1, 2, 2, 4)), 2, "nhwc"),
                       ValueError, "data_format"),
    "depth_to_space_channels": (lambda: ops.depth_to_space(np.ones((1, 2, 2, 3)), 2),
                                ValueError, "divisible"),
    "space_to_depth": (lambda: ops.space_to_depth(np.ones((1, 3, 2, 1)), 2), ValueError,
                       "divisible"),
    "dot_product_attention": (lambda: ops.dot_product_attention(_X, _X, _X), ValueError,
                              "4-D"),
    "sparse_categorical_crossentropy": (lambda: ops.sparse_categorical_crossentropy(
        np.ones(5), np.ones((3, 4))), ValueError, "target shape"),
    "psnr": (lambda: ops.psnr(np.ones(3), np.ones(4), 1.0), ValueError, "shapes"),
    "ctc_loss": (lambda: ops.ctc_loss(np.ones((2, 2)), np.ones((2, 3)), np.ones(2),
                                      np.ones(2)), ValueError, "target"),
    "lstsq": (lambda: ops.lstsq(np.ones((3, 2)), np.ones(4)), ValueError, "lstsq"),
    "solve": (lambda: ops.solve(np.ones((3, 2)), np.ones(3)), ValueError, "square"),
    "average": (lambda: ops.average(_X, axis=1, weights=np.ones(3)), ValueError, "weights"),
    "rearrange": (lambda: ops.rearrange(_X, "a (b c) -> a b c", b=3), ValueError, "split"),
    "scan": (lambda: ops.scan(lambda c, v: (c, v), 0), ValueError, "xs or length"),
    "switch": (lambda: ops.switch(0, [], _X), ValueError, "branches"),
    "jvp": (lambda: ops.jvp(ops.sin, (np.ones(3),), (np.ones(2),)), ValueError, "tangent"),
    "saturate_cast": (lambda: ops.saturate_cast(_X, "nonsense"), TypeError, "dtype"),
    "view_as_complex": (lambda: ops.view_as_complex(np.ones((2, 3))), ValueError, "size 2"),
    "fft": (lambda: ops.fft(np.ones(4)), ValueError, "pair"),
    "irfft": (lambda: ops.irfft((np.ones(3), np.ones(4))), ValueError, "same shape"),
    "einsum": (lambda: ops.einsum("ij->i", _X, bogus=True), TypeError, "bogus"),
    "rms_normalization_axis": (lambda: ops.rms_normalization(_X, axis=5), ValueError, "axis"),
}


@pytest.mark.parametrize("name", sorted(BAD_ARGUMENTS))
def test_bad_arguments_raise_clear_errors(name):
    call, error, words = BAD_ARGUMENTS[name]
    with pytest.raises(error, match=words):
        call()


# ------------------------------------------------------------------------------------------------
# Gradients against central finite differences (float64)
# ------------------------------------------------------------------------------------------------

EPS = 1e-6


def _outs(o):
    return list(o) if isinstance(o, (list, tuple)) else [o]


def _check_vjp(fn, inputs, rng, rtol=1e-5, atol=1e-7):
    plain = _outs(fn(*inputs))
    weights = [rng.normal(size=np.shape(o)) for o in plain]
    tensors = [Tensor(a.copy()) for a in inputs]
    with GradientTape() as tape:
        tape.watch(tensors)
        outs = _outs(fn(*tensors))
    for o in outs:
        assert isinstance(o, Tensor), f"an op on tracked inputs returned {type(o).__name__}"
    analytic = tape.gradient(outs, tensors, output_gradients=weights)

    def loss():
        return sum(float(np.sum(np.asarray(o) * w)) for o, w in zip(_outs(fn(*inputs)),
                                                                     weights))
    for k, a in enumerate(inputs):
        num = np.zeros_like(a)
        for idx in np.ndindex(a.shape):
            orig = a[idx]
            a[idx] = orig + EPS
            plus = loss()
            a[idx] = orig - EPS
            minus = loss()
            a[idx] = orig
            num[idx] = (plus - minus) / (2 * EPS)
        assert analytic[k] is not None, f"input {k}: no gradient"
        assert analytic[k].shape == a.shape, (k, analytic[k].shape, a.shape)
        assert_close(analytic[k], num, rtol=rtol, atol=atol, err_msg=f"input {k}")


def U(lo, hi):
    return lambda rng, shape: rng.uniform(lo, hi, shape)


ANY, POS, UNIT = U(-2, 2), U(0.5, 2), U(-0.9, 0.9)


def NZ(rng, shape):
    return rng.uniform(0.2, 2, shape) * rng.choice([-1.0, 1.0], shape)


def DISTINCT(rng, shape):
    """Values at least 0.05 apart (sorting and quantiles without ties)."""
    n = int(np.prod(shape))
    return (rng.permutation(n) * 0.1 + rng.uniform(0, 0.05, n)).reshape(shape) - n * 0.05


def SPD(rng, shape):
    a = rng.standard_normal(shape)
    return a @ np.swapaxes(a, -1, -2) + shape[-1] * np.eye(shape[-1])


S = (3, 4)
NANMASK = np.zeros(S, bool)
NANMASK[0, 1] = NANMASK[2, 2] = True
SEG = np.array([0, 2, 2, 1, 0])
I3 = np.eye(3)


def _sym(a):
    return ops.multiply(ops.add(a, ops.swapaxes(a, -1, -2)), 0.5)


GRAD_CASES = {
    # elementwise
    "arccos": (ops.arccos, [(S, UNIT)]), "arcsin": (ops.arcsin, [(S, UNIT)]),
    "arccosh": (ops.arccosh, [(S, U(1.2, 3))]), "arcsinh": (ops.arcsinh, [(S, ANY)]),
    "arctanh": (ops.arctanh, [(S, UNIT)]), "cbrt": (ops.cbrt, [(S, NZ)]),
    "deg2rad": (ops.deg2rad, [(S, ANY)]), "rad2deg": (ops.rad2deg, [(S, ANY)]),
    "fabs": (ops.fabs, [(S, NZ)]), "sinc": (ops.sinc, [(S, NZ)]), "i0": (ops.i0, [(S, ANY)]),
    "conj": (ops.conj, [(S, ANY)]), "conjugate": (ops.conjugate, [(S, ANY)]),
    "real": (ops.real, [(S, ANY)]), "copy": (ops.copy, [(S, ANY)]),
    "array": (ops.array, [(S, ANY)]),
    "nan_to_num": (lambda x: ops.nan_to_num(ops.where(NANMASK, np.nan, x)), [(S, ANY)]),
    "erf": (ops.erf, [(S, ANY)]), "erfc": (ops.erfc, [(S, ANY)]),
    "erfinv": (ops.erfinv, [(S, UNIT)]), "rsqrt": (ops.rsqrt, [(S, POS)]),
    "saturate_cast": (lambda x: ops.saturate_cast(x, "float64"), [(S, ANY)]),
    "arctan2": (ops.arctan2, [(S, NZ), (S, NZ)]), "hypot": (ops.hypot, [(S, NZ), (S, NZ)]),
    "logaddexp": (ops.logaddexp, [(S, ANY), ((4,), ANY)]),
    "logaddexp2": (ops.logaddexp2, [(S, ANY), (S, ANY)]),
    "fmax": (ops.fmax, [(S, ANY), (S, ANY)]), "fmin": (ops.fmin, [(S, ANY), (S, ANY)]),
    "fmod": (ops.fmod, [(S, U(3.1, 3.5)), (S, U(1.2, 1.4))]),
    "divide_no_nan": (lambda a, b: ops.divide_no_nan(a, ops.where(NANMASK, 0.0, b)),
                      [(S, ANY), (S, NZ)]),
    "ldexp": (lambda x: ops.ldexp(x, np.array([1, 0, -1, 2])), [(S, ANY)]),
    # products
    "vdot": (ops.vdot, [(S, ANY), (S, ANY)]), "kron": (ops.kron, [((2, 3), ANY), ((2,), ANY)]),
    "cross": (ops.cross, [((2, 3), ANY), ((2, 3), ANY)]),
    "cross_2d": (ops.cross, [((2, 2), ANY), ((2, 3), ANY)]),
    "correlate": (lambda a, v: ops.correlate(a, v, mode="full"), [((5,), ANY), ((3,), ANY)]),
    "correlate_same": (lambda a, v: ops.correlate(a, v, mode="same"),
                       [((3,), ANY), ((5,), ANY)]),
    # sorting and reductions
    "sort": (lambda x: ops.sort(x, axis=0), [(S, DISTINCT)]),
    "top_k": (lambda x: ops.top_k(x, 2)[0], [(S, DISTINCT)]),
    "cumprod": (lambda x: ops.cumprod(ops.where(NANMASK, 0.0, x), axis=1), [(S, ANY)]),
    "nancumsum": (lambda x: ops.nancumsum(ops.where(NANMASK, np.nan, x), axis=0), [(S, ANY)]),
    "nancumprod": (lambda x: ops.nancumprod(ops.where(NANMASK, np.nan, x), axis=1),
                   [(S, ANY)]),
    "nansum": (lambda x: ops.nansum(ops.where(NANMASK, np.nan, x), axis=1), [(S, ANY)]),
    "nanprod": (lambda x: ops.nanprod(ops.where(NANMASK, np.nan, x), axis=0), [(S, ANY)]),
    "nanmean": (lambda x: ops.nanmean(ops.where(NANMASK, np.nan, x), axis=1), [(S, ANY)]),
    "nanvar": (lambda x: ops.nanvar(ops.where(NANMASK, np.nan, x), axis=0), [(S, ANY)]),
    "nanstd": (lambda x: ops.nanstd(ops.where(NANMASK, np.nan, x)), [(S, ANY)]),
    "nanmax": (lambda x: ops.nanmax(ops.where(NANMASK, np.nan, x), axis=1), [(S, DISTINCT)]),
    "nanmin": (lambda x: ops.nanmin(ops.where(NANMASK, np.nan, x), axis=0), [(S, DISTINCT)]),
    "ptp": (lambda x: ops.ptp(x, axis=1), [(S, DISTINCT)]),
    "average": (lambda x, w: ops.average(x, axis=1, weights=w), [(S, ANY), ((4,), POS)]),
    "quantile": (lambda x: ops.quantile(x, [0.3, 0.5], axis=1), [(S, DISTINCT)]),
    "percentile": (lambda x: ops.percentile(x, 40.0), [(S, DISTINCT)]),
    "median": (lambda x: ops.median(x, axis=0), [(S, DISTINCT)]),
    "trapezoid": (lambda y: ops.trapezoid(y, x=np.array([0.0, 0.5, 1.5, 3.0])), [(S, ANY)]),
    # shapes
    "diagonal": (lambda x: ops.diagonal(x, 1), [(S, ANY)]),
    "trace": (lambda x: ops.trace(x, -1), [(S, ANY)]),
    "diag": (ops.diag, [((3,), ANY)]), "diag_matrix": (lambda x: ops.diag(x, 1), [(S, ANY)]),
    "diagflat": (ops.diagflat, [((2, 2), ANY)]),
    "diff": (lambda x: ops.diff(x, 2), [(S, ANY)]),
    "roll": (lambda x: ops.roll(x, 2, axis=1), [(S, ANY)]),
    "rot90": (ops.rot90, [(S, ANY)]), "fliplr": (ops.fliplr, [(S, ANY)]),
    "flipud": (ops.flipud, [(S, ANY)]),
    "hstack": (lambda a, b: ops.hstack([a, b]), [(S, ANY), ((3, 2), ANY)]),
    "vstack": (lambda a, b: ops.vstack([a, b]), [((4,), ANY), (S, ANY)]),
    "dstack": (lambda a, b: ops.dstack([a, b]), [(S, ANY), (S, ANY)]),
    "hsplit": (lambda x: ops.hsplit(x, 2), [(S, ANY)]),
    "vsplit": (lambda x: ops.vsplit(x, [1]), [(S, ANY)]),
    "dsplit": (lambda x: ops.dsplit(x, 2), [((2, 2, 4), ANY)]),
    "meshgrid": (lambda a, b: ops.meshgrid(a, b), [((3,), ANY), ((2,), ANY)]),
    "corrcoef": (ops.corrcoef, [((3, 5), ANY)]),
    "rearrange": (lambda x: ops.rearrange(x, "a (b c) -> c a b", c=2), [(S, ANY)]),
    # segments, scatter, signal
    "segment_sum": (lambda d: ops.segment_sum(d, SEG, 4), [((5, 2), ANY)]),
    "segment_max": (lambda d: ops.segment_max(d, SEG, 3), [((5, 2), DISTINCT)]),
    "segment_min": (lambda d: ops.segment_min(d, SEG, 3), [((5, 2), DISTINCT)]),
    "segment_prod": (lambda d: ops.segment_prod(d, SEG, 4)[:3], [((5, 2), ANY)]),
    "scatter": (lambda v: ops.scatter(np.array([[0, 1], [2, 0], [0, 1]]), v, (3, 2)),
                [((3,), ANY)]),
    "scatter_update": (lambda x, u: ops.scatter_update(x, np.array([[0, 1], [2, 3], [0, 1]]),
                                                       u), [(S, ANY), ((3,), ANY)]),
    "scatter_update_add": (lambda x, u: ops.scatter_update(
        x, np.array([[0, 1], [2, 3], [0, 1]]), u, reduction="add"), [(S, ANY), ((3,), ANY)]),
    "slice_update": (lambda x, u: ops.slice_update(x, (1, 1), u), [(S, ANY), ((2, 2), ANY)]),
    "extract_sequences": (lambda x: ops.extract_sequences(x, 3, 2), [((2, 7), ANY)]),
    "fft": (lambda a, b: ops.fft((a, b)), [(S, ANY), (S, ANY)]),
    "fft2": (lambda a, b: ops.fft2((a, b)), [(S, ANY), (S, ANY)]),
    "ifft2": (lambda a, b: ops.ifft2((a, b)), [(S, ANY), (S, ANY)]),
    "rfft": (lambda x: ops.rfft(x, fft_length=6), [((2, 5), ANY)]),
    "rfft_short": (lambda x: ops.rfft(x, fft_length=4), [((2, 5), ANY)]),
    "irfft": (lambda a, b: ops.irfft((a, b)), [((2, 5), ANY), ((2, 5), ANY)]),
    "irfft_odd": (lambda a, b: ops.irfft((a, b), fft_length=7), [((2, 4), ANY), ((2, 4), ANY)]),
    "stft": (lambda x: ops.stft(x, 6, 3, 8), [((2, 16), ANY)]),
    "istft": (lambda a, b: ops.istft((a, b), 6, 3, 8), [((2, 4, 5), ANY), ((2, 4, 5), ANY)]),
    "cdist": (ops.cdist, [((3, 2), ANY), ((4, 2), ANY)]),
    "logdet": (lambda a: ops.logdet(ops.add(ops.matmul(a, ops.transpose(a)), 3 * I3)),
               [((3, 3), ANY)]),
    # linalg
    "inv": (ops.inv, [((2, 3, 3), SPD)]), "det": (ops.det, [((2, 3, 3), SPD)]),
    "slogdet": (lambda a: ops.slogdet(a)[1], [((3, 3), SPD)]),
    "solve": (ops.solve, [((2, 3, 3), SPD), ((2, 3, 2), ANY)]),
    "solve_vector": (ops.solve, [((3, 3), SPD), ((3,), ANY)]),
    "solve_triangular": (lambda a, b: ops.solve_triangular(a, b, lower=True),
                         [((3, 3), SPD), ((3, 2), ANY)]),
    "solve_triangular_upper": (ops.solve_triangular, [((3, 3), SPD), ((3,), ANY)]),
    "cholesky": (lambda a: ops.cholesky(_sym(a)), [((3, 3), SPD)]),
    "cholesky_upper": (lambda a: ops.cholesky(_sym(a), upper=True), [((3, 3), SPD)]),
    "cholesky_inverse": (lambda a: ops.cholesky_inverse(ops.add(ops.tril(a), 3 * I3)),
                         [((3, 3), U(0, 1))]),
    "eigh": (lambda a: ops.eigh(_sym(a)), [((3, 3), SPD)]),
    "qr": (ops.qr, [((4, 3), ANY)]),
    "svd": (lambda a: ops.svd(a, compute_uv=False), [((4, 3), ANY)]),
    "svd_values": (lambda a: ops.svd(a)[1], [((3, 4), ANY)]),
    "pinv": (ops.pinv, [((4, 3), ANY)]),
    "lstsq": (ops.lstsq, [((4, 2), ANY), ((4,), ANY)]),
    "norm_linalg": (lambda x: ops.linalg.norm(x, axis=1), [(S, ANY)]),
    # nn
    "binary_crossentropy": (ops.binary_crossentropy, [(S, U(0, 1)), (S, U(0.05, 0.95))]),
    "binary_crossentropy_logits": (lambda t, o: ops.binary_crossentropy(t, o, True),
                                   [(S, U(0, 1)), (S, ANY)]),
    "categorical_crossentropy": (ops.categorical_crossentropy,
                                 [(S, U(0, 1)), (S, U(0.1, 1))]),
    "categorical_crossentropy_logits": (lambda t, o: ops.categorical_crossentropy(
        t, o, from_logits=True, axis=0), [(S, U(0, 1)), (S, ANY)]),
    "sparse_categorical_crossentropy": (lambda o: ops.sparse_categorical_crossentropy(
        np.array([0, 3, 1]), o, from_logits=True), [(S, ANY)]),
    "batch_normalization": (lambda x, m, v, o, s: ops.batch_normalization(
        x, m, v, axis=1, offset=o, scale=s), [((2, 3, 2), ANY), ((3,), ANY), ((3,), POS),
                                              ((3,), ANY), ((3,), ANY)]),
    "layer_normalization": (lambda x, g, b: ops.layer_normalization(x, g, b),
                            [((2, 4), ANY), ((4,), ANY), ((4,), ANY)]),
    "layer_normalization_rms": (lambda x, g: ops.layer_normalization(
        x, g, axis=(0, 1), rms_scaling=True), [((2, 4), ANY), ((2, 4), ANY)]),
    "rms_normalization": (ops.rms_normalization, [((2, 4), ANY), ((4,), ANY)]),
    "psnr": (lambda a, b: ops.psnr(a, b, 2.0), [(S, ANY), (S, ANY)]),
    "sparsemax": (lambda x: ops.sparsemax(ops.multiply(x, 0.3)), [(S, DISTINCT)]),
    "dot_product_attention": (lambda q, k, v, b: ops.dot_product_attention(
        q, k, v, bias=b, mask=np.array([[[[1, 0, 1]]]], bool), is_causal=False),
        [((1, 2, 2, 2), ANY), ((1, 3, 2, 2), ANY), ((1, 3, 2, 2), ANY), ((1, 2, 2, 3), ANY)]),
    "dot_product_attention_causal": (lambda q, k, v: ops.dot_product_attention(
        q, k, v, is_causal=True, attn_logits_soft_cap=1.5),
        [((1, 3, 2, 2), ANY), ((1, 3, 1, 2), ANY), ((1, 3, 1, 2), ANY)]),
    "ctc_loss": (lambda o: ops.ctc_loss(np.array([[1, 2], [1, 1]]), o, np.array([2, 2]),
                                        np.array([4, 5])), [((2, 5, 3), ANY)]),
    "depth_to_space": (lambda x: ops.depth_to_space(x, 2, data_format="channels_first"),
                       [((1, 4, 1, 2), ANY)]),
    "space_to_depth": (lambda x: ops.space_to_depth(x, 2), [((1, 2, 4, 1), ANY)]),
    # control flow
    "map": (lambda x: ops.map(ops.sin, x), [(S, ANY)]),
    "vectorized_map": (lambda x: ops.vectorized_map(ops.sum, x), [(S, ANY)]),
    "scan": (lambda x: ops.scan(lambda c, r: (ops.multiply(c, r), ops.sum(c)),
                                np.ones(4), x)[0], [(S, ANY)]),
    "associative_scan": (lambda x: ops.associative_scan(ops.multiply, x, axis=1), [(S, ANY)]),
    "switch": (lambda x: ops.switch(1, [ops.sin, ops.cos], x), [(S, ANY)]),
    "vectorize": (lambda x: ops.vectorize(lambda v: ops.square(v))(x), [((2, 2), ANY)]),
}

# New ops whose results are never tracked (integer, boolean or complex results, creation).
NOT_DIFFERENTIABLE_HERE = {
    "allclose", "angle", "argpartition", "bartlett", "bincount", "bitwise_and",
    "bitwise_invert", "bitwise_left_shift", "bitwise_not", "bitwise_or",
    "bitwise_right_shift", "bitwise_xor", "blackman", "count_nonzero", "ctc_decode",
    "digitize", "eig", "empty_like", "gcd", "geomspace", "hamming", "hanning", "heaviside",
    "histogram", "imag", "in_top_k", "isclose", "isin", "isneginf", "isposinf", "isreal",
    "kaiser", "lcm", "left_shift", "logspace", "lu_factor", "matrix_rank", "multi_hot",
    "nanargmax", "nanargmin", "nanmedian", "nanpercentile", "nanquantile", "nextafter",
    "nonzero", "polar", "right_shift", "searchsorted", "signbit", "trunc", "unique",
    "unravel_index", "vander", "view", "view_as_complex", "view_as_real"}
# The linalg module itself, and jvp (tested against the Jacobian above).
HELPERS_HERE = {"linalg", "jvp"}

# test_autodiff.py's coverage check counts the ops handled here.
CHECKED_HERE = ({n for n in ops.__all__
                 if n in GRAD_CASES or any(k.startswith(n + "_") for k in GRAD_CASES)}
                | NOT_DIFFERENTIABLE_HERE | HELPERS_HERE)


def test_every_new_op_is_checked_or_declared():
    for name in NOT_DIFFERENTIABLE_HERE:
        assert name in ops.__all__, name
    for name in GRAD_CASES:
        assert name in ops.__all__ or any(name.startswith(n + "_") for n in ops.__all__), name


@pytest.mark.parametrize("name", sorted(GRAD_CASES))
def test_gradient_against_finite_differences(rng, name):
    fn, specs = GRAD_CASES[name]
    inputs = [make(rng, shape) for shape, make in specs]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        _check_vjp(fn, inputs, rng)


def test_non_differentiable_ops_are_not_tracked():
    x = Tensor(np.array([[1.0, 2.5], [-3.0, 2.5]]))
    with GradientTape() as tape:
        tape.watch(x)
        outs = [ops.trunc(x), ops.signbit(x), ops.isclose(x, x), ops.nanargmax(x, axis=1),
                ops.searchsorted(np.array([0.0, 1.0]), x), ops.histogram(x[0])[0],
                ops.argpartition(x, 1), ops.nanmedian(x), ops.in_top_k(np.array([0, 1]), x, 1)]
    for out in outs:
        assert type(out) is np.ndarray


# ------------------------------------------------------------------------------------------------
# Symbolic tensors in functional models
# ------------------------------------------------------------------------------------------------

SYMBOLIC = {
    "erf": lambda x: ops.erf(x), "rsqrt": lambda x: ops.rsqrt(ops.square(x) + 1.0),
    "top_k": lambda x: ops.top_k(x, 2)[0], "sort": lambda x: ops.sort(x),
    "quantile": lambda x: ops.quantile(x, 0.5, axis=-1), "nansum": lambda x: ops.nansum(x, 1),
    "cumprod": lambda x: ops.cumprod(x, axis=1), "kron": lambda x: ops.kron(x, np.ones(2)),
    "diagonal": lambda x: ops.diagonal(x, axis1=1, axis2=2),
    "layer_normalization": lambda x: ops.layer_normalization(x),
    "rms_normalization": lambda x: ops.rms_normalization(x),
    "sparsemax": lambda x: ops.sparsemax(x), "logaddexp": lambda x: ops.logaddexp(x, x * 2),
    "cdist": lambda x: ops.cdist(x, x), "inv": lambda x: ops.inv(
        ops.matmul(x, ops.swapaxes(x, -1, -2)) + 3 * np.eye(3)),
    "rfft": lambda x: ops.rfft(x)[0], "stft": lambda x: ops.stft(x, 2, 1, 2)[1],
    "nan_to_num": lambda x: ops.nan_to_num(x),
    "categorical_crossentropy": lambda x: ops.categorical_crossentropy(
        ops.softmax(x), ops.softmax(x * 2)),
    "rearrange": lambda x: ops.rearrange(x, "b t c -> b c t"),
    "roll": lambda x: ops.roll(x, 1, axis=-1), "rot90": lambda x: ops.rot90(x, axes=(1, 2)),
    "dot_product_attention": lambda x: ops.dot_product_attention(
        ops.expand_dims(x, 2), ops.expand_dims(x, 2), ops.expand_dims(x, 2), is_causal=True),
    "median": lambda x: ops.median(x, axis=1), "cross": lambda x: ops.cross(x, x * x),
}


@pytest.mark.parametrize("name", sorted(SYMBOLIC))
def test_ops_on_symbolic_tensors_in_a_functional_model(rng, name):
    fn = SYMBOLIC[name]
    inp = keras.Input((3, 3))
    out = fn(inp)
    assert isinstance(out, KerasTensor)
    model = keras.Model(inp, out)
    x = rng.standard_normal((2, 3, 3)).astype("float32")
    got = model(x)
    want = fn(x)
    assert got.shape == np.shape(want) and out.shape[1:] == np.shape(want)[1:]
    assert_close(got, want, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", sorted(GRAD_CASES))
def test_every_differentiable_case_runs_in_a_functional_model(rng, name):
    """The gradient cases again, on symbolic inputs of the same (fully known) shapes."""
    fn, specs = GRAD_CASES[name]
    arrays = [make(rng, shape).astype("float32") for shape, make in specs]
    inputs = [keras.Input(shape=a.shape[1:], batch_size=a.shape[0]) for a in arrays]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        model = keras.Model(inputs, fn(*inputs))
        got = _outs(model(arrays if len(arrays) > 1 else arrays[0]))
        want = _outs(fn(*arrays))
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert np.shape(g) == np.shape(w)
        np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-6, equal_nan=True)


_I = np.array([[0, 1, 2, 1], [3, 0, 1, 1], [2, 2, 0, 1]], "int32")
NON_DIFFERENTIABLE_SYMBOLIC = {
    "argpartition": lambda x: ops.argpartition(x, 1),
    "bincount": lambda x: ops.bincount(ops.cast(ops.abs(x) * 2, "int32"), minlength=5),
    "count_nonzero": lambda x: ops.count_nonzero(ops.round(x), axis=1),
    "ctc_decode": lambda x: ops.ctc_decode(ops.reshape(x, (1, 3, 4)), np.array([3]))[0],
    "digitize": lambda x: ops.digitize(x, np.array([0.0, 1.0])),
    "eig": lambda x: ops.abs(ops.eig(x[:, :3])[0]),
    "histogram": lambda x: ops.histogram(x[0], bins=3)[0],
    "in_top_k": lambda x: ops.in_top_k(np.array([0, 1, 2]), x, 2),
    "isclose": lambda x: ops.isclose(x, x * 1.000001),
    "lu_factor": lambda x: ops.lu_factor(x)[0], "matrix_rank": ops.matrix_rank,
    "multi_hot": lambda x: ops.multi_hot(ops.cast(ops.abs(x) * 2, "int32"), 4),
    "nanargmax": lambda x: ops.nanargmax(x, axis=1),
    "nanmedian": lambda x: ops.nanmedian(x, axis=1),
    "nanquantile": lambda x: ops.nanquantile(x, 0.3, axis=0),
    "searchsorted": lambda x: ops.searchsorted(np.array([0.0, 1.0]), x),
    "signbit": ops.signbit, "trunc": ops.trunc,
    "unique": lambda x: ops.unique(ops.cast(ops.abs(x) * 2, "int32"), size=6),
    "vander": lambda x: ops.vander(x[0]),
    "view_as_real": lambda x: ops.view_as_real(ops.polar(x, x)),
}


@pytest.mark.parametrize("name", sorted(NON_DIFFERENTIABLE_SYMBOLIC))
def test_non_differentiable_ops_run_in_a_functional_model(rng, name):
    fn = NON_DIFFERENTIABLE_SYMBOLIC[name]
    x = rng.standard_normal((3, 4)).astype("float32")
    inp = keras.Input(shape=(4,), batch_size=3)
    model = keras.Model(inp, fn(inp))
    got, want = model(x), fn(x)
    assert np.shape(got) == np.shape(want) and np.asarray(got).dtype == np.asarray(want).dtype
    np.testing.assert_array_equal(got, want)


def test_keras_arguments_of_existing_ops(rng):
    x = _r(rng, 3, 4)
    assert_close(ops.max(x, axis=1, initial=5.0), np.max(x, axis=1, initial=5.0))
    assert_close(ops.min(x, initial=-9.0), np.min(x, initial=-9.0))
    assert ops.prod(np.array([2, 3]), dtype="float32").dtype == np.float32
    assert ops.arange(3, 6).tolist() == [3, 4, 5]
    assert ops.einsum("ij->j", x, preferred_element_type="float32").dtype == np.float32
    with pytest.raises(TypeError, match="unexpected keyword"):
        ops.einsum("ij->j", x, precision="high")
    mean, var = ops.moments(x, axes=[0], synchronized=True)
    assert_close(var, x.var(0))
    with pytest.raises(TypeError, match="synchronized"):
        ops.moments(x, axes=[0], synchronized="yes")
    assert_same(ops.equal(x1=np.array([1, 2]), x2=np.array([1, 3])), [True, False])
    assert_same(ops.bitwise_and(x=np.array([6]), y=np.array([3])), [2])
    assert ops.reshape(x=x, newshape=(4, 3)).shape == (4, 3)
    assert ops.slice(inputs=x, start_indices=(1, 1), shape=(1, 2)).shape == (1, 2)


def test_signatures_match_keras():
    """Every keras.ops function rnnkit has takes Keras' parameters (names, kinds, defaults)."""
    import inspect
    import json
    with open(os.path.join(ROOT, "tests", "fixtures", "ops", "keras_ops_signatures.json")) as f:
        keras_signatures = json.load(f)
    # custom_gradient is rnnkit.autodiff's (its parameter is named `fn`, Keras' `f`).
    differ = {"custom_gradient"}
    checked = 0
    for name, params in keras_signatures.items():
        fn = getattr(ops, name, None)
        if fn is None or name in differ:
            continue
        mine = [[p.name, p.kind.name, None if p.default is inspect.Parameter.empty
                 else repr(p.default)] for p in inspect.signature(fn).parameters.values()]
        assert mine == params, (name, mine, params)
        checked += 1
    assert checked >= 330


@pytest.mark.parametrize("name", ["top_k", "quantile", "layer_normalization", "rearrange",
                                  "rfft", "inv", "dot_product_attention", "cumprod"])
def test_functional_models_with_new_ops_round_trip_through_their_config(rng, name):
    import json
    fn = {**SYMBOLIC, "layer_normalization": lambda x: ops.layer_normalization(x, axis=-1),
          "cumprod": lambda x: ops.cumprod(ops.tanh(x), axis=1)}[name]
    inp = keras.Input((3, 3))
    model = keras.Model(inp, fn(inp))
    config = json.loads(json.dumps(model.get_config()))
    clone = keras.Model.from_config(config)
    x = rng.standard_normal((2, 3, 3)).astype("float32")
    assert_close(clone(x), model(x), rtol=1e-6, atol=1e-7)


def test_linalg_namespace_and_numpy_namespace_names():
    import json
    with open(os.path.join(ROOT, "tools", "keras_names.json")) as f:
        names = json.load(f)["namespaces"]
    for ns, module in [("ops.linalg", ops.linalg), ("ops.numpy", ops.numpy)]:
        missing = [n for n in names[ns] if getattr(module, n, None) is None]
        assert not missing, (ns, missing)
    covered = [n for n in names["ops"] if getattr(ops, n, None) is not None]
    assert len(covered) >= 300, len(covered)
