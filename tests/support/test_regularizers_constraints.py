"""rnnkit.regularizers and rnnkit.constraints: formulas vs NumPy, validation, configs, get()."""

import math

import numpy as np
import pytest

from rnnkit import constraints as C
from rnnkit import regularizers as R
from rnnkit import saving
from helpers import assert_close  # noqa: E402

rng = np.random.default_rng(0)
X32 = rng.normal(size=(6, 5)).astype(np.float32)
X64 = rng.normal(size=(4, 7))


def _np_orthogonal(x, factor, mode):
    v = x / np.linalg.norm(x, axis=1 if mode == "rows" else 0, keepdims=True)
    p = v @ v.T if mode == "rows" else v.T @ v
    n = p.shape[0]
    return factor * 0.5 * np.sum(np.abs(p * (1 - np.eye(n)))) / (n * (n - 1) / 2)


# -- regularizer values ------------------------------------------------------------------------

@pytest.mark.parametrize("x", [X32, X64], ids=["f32", "f64"])
def test_l1_l2_l1l2_values(x):
    assert_close(R.L1(0.3)(x), 0.3 * np.abs(x).sum(), rtol=1e-6)
    assert_close(R.L2(0.2)(x), 0.2 * np.square(x).sum(), rtol=1e-6)
    assert_close(R.L1L2(l1=0.1, l2=0.4)(x),
                 0.1 * np.abs(x).sum() + 0.4 * np.square(x).sum(), rtol=1e-6)
    assert np.asarray(R.L1(0.3)(x)).dtype == x.dtype
    assert np.asarray(R.L2(0.3)(x)).dtype == x.dtype
    assert np.asarray(R.L1L2(0.1, 0.1)(x)).dtype == x.dtype


def test_defaults_and_zero_factors():
    assert R.L1().l1 == 0.01 and R.L2().l2 == 0.01
    assert (R.L1L2().l1, R.L1L2().l2) == (0.0, 0.0)
    assert float(R.L1L2()(X32)) == 0.0
    assert float(R.L1(0.0)(X32)) == 0.0
    assert_close(R.L1L2(l1=0.1, l2=None)(X32), R.L1(0.1)(X32), rtol=1e-6)
    assert_close(R.L1L2(l1=None, l2=0.1)(X32), R.L2(0.1)(X32), rtol=1e-6)
    assert R.L1(None).l1 == 0.01 and R.L2(None).l2 == 0.01
    assert_close(R.L2(2.0)(np.ones((5, 5), np.float32)), 50.0)  # Keras docstring
    assert float(R.Regularizer()(X32)) == 0.0


@pytest.mark.parametrize("mode", ["rows", "columns"])
@pytest.mark.parametrize("x", [X32, X64], ids=["f32", "f64"])
def test_orthogonal_regularizer_value(mode, x):
    got = R.OrthogonalRegularizer(factor=0.2, mode=mode)(x)
    assert_close(got, _np_orthogonal(x.astype(np.float64), 0.2, mode), rtol=1e-5)
    assert np.asarray(got).dtype == x.dtype


def test_orthogonal_regularizer_is_zero_for_orthogonal_rows():
    q, _ = np.linalg.qr(rng.normal(size=(8, 8)))
    assert float(R.OrthogonalRegularizer(1.0)(q[:3])) < 1e-7
    assert float(R.OrthogonalRegularizer(1.0, "columns")(q[:, :3])) < 1e-7
    # identical rows: every normalized dot product is 1
    assert_close(R.OrthogonalRegularizer(1.0)(np.ones((3, 4))), 1.0)


def test_orthogonal_regularizer_zero_row_is_finite():
    x = np.array([[0.0, 0.0], [1.0, 2.0], [2.0, -1.0]])
    assert np.isfinite(float(R.OrthogonalRegularizer(1.0)(x)))


def test_orthogonal_regularizer_validation():
    with pytest.raises(ValueError) as e:
        R.OrthogonalRegularizer(factor=0.01, mode="invalid_mode")
    assert str(e.value) == ('Invalid value for argument `mode`. Expected one of {"rows", '
                            '"columns"}. Received: mode=invalid_mode')
    with pytest.raises(ValueError) as e:
        R.OrthogonalRegularizer(0.1)(np.zeros((4, 4, 4)))
    assert str(e.value) == ("Inputs to OrthogonalRegularizer must have rank 2. "
                            "Received: inputs.shape=(4, 4, 4)")


@pytest.mark.parametrize("bad", [-1, -0.001, float("nan"), float("inf"), "0.1", [0.1], True])
@pytest.mark.parametrize("make", [lambda v: R.L1(v), lambda v: R.L2(v),
                                  lambda v: R.L1L2(l1=v), lambda v: R.L1L2(l2=v),
                                  lambda v: R.OrthogonalRegularizer(factor=v)],
                         ids=["L1", "L2", "L1L2.l1", "L1L2.l2", "Orthogonal"])
def test_invalid_factors(make, bad):
    with pytest.raises(ValueError, match="expected a non-negative float"):
        make(bad)


def test_numpy_number_factors_accepted():
    assert R.L1(np.float32(0.5)).l1 == 0.5 and isinstance(R.L1(np.int32(1)).l1, float)


# -- regularizers are differentiable (computed with rnnkit.ops) ---------------------------------

def test_regularizer_gradients():
    from rnnkit.autodiff import grad

    x = rng.normal(size=(4, 6))
    assert_close(grad(R.L2(0.3))(x), 0.6 * x, rtol=1e-12)
    assert_close(grad(R.L1(0.3))(x), 0.3 * np.sign(x), rtol=1e-12)
    assert_close(grad(R.L1L2(0.1, 0.2))(x), 0.1 * np.sign(x) + 0.4 * x,
                 rtol=1e-12)
    for mode in ("rows", "columns"):
        reg = R.OrthogonalRegularizer(0.5, mode)
        g = grad(reg)(x)
        num = np.zeros_like(x)
        eps = 1e-6
        for idx in np.ndindex(x.shape):
            xp, xm = x.copy(), x.copy()
            xp[idx] += eps
            xm[idx] -= eps
            num[idx] = (_np_orthogonal(xp, 0.5, mode) - _np_orthogonal(xm, 0.5, mode)) / (2 * eps)
        assert_close(g, num, atol=1e-7, rtol=1e-5)


def test_regularizer_on_variable():
    from rnnkit.variables import Variable

    v = Variable(X32)
    assert_close(R.L2(0.1)(v), 0.1 * np.square(X32).sum(), rtol=1e-6)
    assert_close(R.OrthogonalRegularizer(0.1)(v),
                 _np_orthogonal(X32.astype(np.float64), 0.1, "rows"), rtol=1e-5)


# -- regularizer get / config ------------------------------------------------------------------

@pytest.mark.parametrize("name,cls", [("l1", R.L1), ("l2", R.L2), ("l1l2", R.L1L2),
                                      ("l1_l2", R.L1L2),
                                      ("orthogonal_regularizer", R.OrthogonalRegularizer),
                                      ("L1", R.L1), ("L2", R.L2), ("L1L2", R.L1L2),
                                      ("OrthogonalRegularizer", R.OrthogonalRegularizer)])
def test_regularizer_get_strings(name, cls):
    assert type(R.get(name)) is cls


def test_regularizer_get_string_defaults():
    assert R.get("l1").l1 == 0.01 and R.get("l2").l2 == 0.01
    assert (R.get("l1_l2").l1, R.get("l1_l2").l2) == (0.01, 0.01)
    assert (R.get("l1l2").l1, R.get("l1l2").l2) == (0.0, 0.0)


def test_regularizer_get_other_identifiers():
    assert R.get(None) is None
    inst = R.L1(0.5)
    assert R.get(inst) is inst
    assert type(R.get(R.L2)) is R.L2

    def fn(x):
        return 0.0

    assert R.get(fn) is fn
    got = R.get({"module": "keras.regularizers", "class_name": "L2", "config": {"l2": 0.3},
                 "registered_name": None})
    assert type(got) is R.L2 and got.l2 == 0.3
    with pytest.raises(ValueError, match="Could not interpret regularizer identifier: typo"):
        R.get("typo")
    with pytest.raises(ValueError, match="Could not interpret regularizer identifier"):
        R.get({"class_name": "Nope", "config": {}})
    assert R.l1 is R.L1 and R.l2 is R.L2 and R.l1_l2 is R.L1L2
    assert R.orthogonal_regularizer is R.OrthogonalRegularizer


@pytest.mark.parametrize("reg,config", [
    (R.L1(0.1), {"l1": 0.1}), (R.L2(0.2), {"l2": 0.2}),
    (R.L1L2(l1=0.1, l2=0.2), {"l1": 0.1, "l2": 0.2}),
    (R.OrthogonalRegularizer(factor=0.3, mode="columns"), {"factor": 0.3, "mode": "columns"}),
], ids=lambda x: type(x).__name__)
def test_regularizer_config_roundtrip(reg, config):
    assert reg.get_config() == config
    assert type(reg).from_config(config).get_config() == config
    ser = R.serialize(reg)
    assert ser == {"module": "rnnkit.regularizers", "class_name": type(reg).__name__,
                   "config": config, "registered_name": None}
    back = R.deserialize(ser)
    assert type(back) is type(reg) and back.get_config() == config
    assert_close(back(X32), reg(X32))
    assert type(R.deserialize("l2")) is R.L2


def test_regularizer_base_get_config_not_implemented():
    with pytest.raises(NotImplementedError):
        R.Regularizer().get_config()


# -- constraints -------------------------------------------------------------------------------

W32 = rng.normal(size=(5, 4)).astype(np.float32) * 3
W4D = rng.normal(size=(3, 3, 2, 4)) * 2
EPS = 1e-7


def _norms(w, axis):
    return np.sqrt(np.sum(np.square(w), axis=axis, keepdims=True))


@pytest.mark.parametrize("w,axis", [(W32, 0), (W32, 1), (W4D, [0, 1, 2]), (W4D, 3)],
                         ids=["axis0", "axis1", "axes012", "4d-axis3"])
def test_max_norm(w, axis):
    ax = tuple(axis) if isinstance(axis, list) else axis
    out = C.MaxNorm(max_value=2.0, axis=axis)(w)
    n = _norms(w.astype(np.float64), ax)
    expected = w * (np.clip(n, 0, 2.0) / (EPS + n))
    assert_close(out, expected, rtol=1e-6)
    assert out.dtype == w.dtype and out.shape == w.shape
    assert (_norms(out.astype(np.float64), ax) <= 2.0 + 1e-5).all()


def test_max_norm_leaves_small_vectors():
    w = np.array([[0.1, 3.0], [0.2, 4.0]], np.float32)
    out = C.MaxNorm(max_value=1.0)(w)
    assert_close(out[:, 0], w[:, 0], rtol=1e-5)
    assert_close(out[:, 1], [0.6, 0.8], rtol=1e-5)


@pytest.mark.parametrize("rate", [1.0, 0.5])
@pytest.mark.parametrize("axis", [0, 1])
def test_min_max_norm(rate, axis):
    w = W32 * np.array([0.01, 0.5, 1.0, 5.0], np.float32)  # norms below, inside and above
    out = C.MinMaxNorm(min_value=0.5, max_value=1.5, rate=rate, axis=axis)(w)
    n = _norms(w.astype(np.float64), axis)
    desired = rate * np.clip(n, 0.5, 1.5) + (1 - rate) * n
    assert_close(out, w * (desired / (EPS + n)), rtol=1e-5)
    assert out.dtype == np.float32
    if rate == 1.0:
        new = _norms(out.astype(np.float64), axis)
        assert (new >= 0.5 - 1e-4).all() and (new <= 1.5 + 1e-4).all()


def test_non_neg():
    out = C.NonNeg()(W32)
    np.testing.assert_array_equal(out, np.maximum(W32, 0))
    assert out.dtype == np.float32
    assert C.NonNeg()(np.array([-1.0, 2.0])).dtype == np.float64


@pytest.mark.parametrize("axis", [0, 1, [0, 1]])
def test_unit_norm(axis):
    ax = tuple(axis) if isinstance(axis, list) else axis
    out = C.UnitNorm(axis=axis)(W32)
    n = _norms(W32.astype(np.float64), ax)
    assert_close(out, W32 / (EPS + n), rtol=1e-6)
    assert_close(_norms(out.astype(np.float64), ax), 1.0, rtol=1e-5)
    assert out.dtype == np.float32


def test_constraints_accept_variable_and_zero_vectors():
    from rnnkit.variables import Variable

    out = C.UnitNorm()(Variable(W32))
    assert isinstance(out, np.ndarray)
    assert_close(out, C.UnitNorm()(W32))
    z = np.zeros((3, 2), np.float32)
    for con in (C.MaxNorm(), C.MinMaxNorm(), C.UnitNorm()):
        np.testing.assert_array_equal(con(z), 0.0)
    w = np.array([1.0, -2.0])
    assert C.Constraint()(w) is w


@pytest.mark.parametrize("name,cls", [("max_norm", C.MaxNorm), ("min_max_norm", C.MinMaxNorm),
                                      ("non_neg", C.NonNeg), ("unit_norm", C.UnitNorm),
                                      ("MaxNorm", C.MaxNorm), ("MinMaxNorm", C.MinMaxNorm),
                                      ("NonNeg", C.NonNeg), ("UnitNorm", C.UnitNorm)])
def test_constraint_get_strings(name, cls):
    assert type(C.get(name)) is cls
    assert getattr(C, cls.__name__) is cls


def test_constraint_get_other_identifiers():
    assert C.get(None) is None
    inst = C.MaxNorm(3)
    assert C.get(inst) is inst
    assert type(C.get(C.NonNeg)) is C.NonNeg
    got = C.get({"module": "keras.constraints", "class_name": "UnitNorm",
                 "config": {"axis": 1}, "registered_name": None})
    assert type(got) is C.UnitNorm and got.axis == 1
    with pytest.raises(ValueError, match="Could not interpret constraint identifier: nonneg"):
        C.get("nonneg")
    assert C.max_norm is C.MaxNorm and C.min_max_norm is C.MinMaxNorm
    assert C.non_neg is C.NonNeg and C.unit_norm is C.UnitNorm


@pytest.mark.parametrize("con,config", [
    (C.MaxNorm(3, axis=1), {"max_value": 3, "axis": 1}),
    (C.MinMaxNorm(0.1, 2.0, 0.5, [0, 1]),
     {"min_value": 0.1, "max_value": 2.0, "rate": 0.5, "axis": [0, 1]}),
    (C.NonNeg(), {}), (C.UnitNorm(axis=1), {"axis": 1}),
    (C.MaxNorm(), {"max_value": 2, "axis": 0}),
    (C.MinMaxNorm(), {"min_value": 0.0, "max_value": 1.0, "rate": 1.0, "axis": 0}),
], ids=lambda x: type(x).__name__)
def test_constraint_config_roundtrip(con, config):
    assert con.get_config() == config
    ser = saving.serialize(con)
    assert ser == {"module": "rnnkit.constraints", "class_name": type(con).__name__,
                   "config": config, "registered_name": None}
    back = C.deserialize(ser)
    assert type(back) is type(con) and back.get_config() == config
    assert_close(back(W32), con(W32))
    assert math.isfinite(float(np.sum(back(W32))))
