"""rnnkit.ops against NumPy: values, broadcasting, dtypes, Keras defaults, return types."""

from __future__ import annotations

import numpy as np
import pytest

from rnnkit import ops
from rnnkit.autodiff import GradientTape, Tensor
from rnnkit.variables import Variable
from helpers import assert_close  # noqa: E402


def rand(rng, *shape, lo=-2.0, hi=2.0, dtype=np.float64):
    return rng.uniform(lo, hi, shape).astype(dtype)


def check(result, expected, dtype=None, atol=0.0, rtol=1e-12):
    assert type(result) is np.ndarray, type(result)
    expected = np.asarray(expected)
    assert result.shape == expected.shape, (result.shape, expected.shape)
    assert result.dtype == (expected.dtype if dtype is None else np.dtype(dtype)), \
        (result.dtype, expected.dtype)
    assert_close(result, expected, atol=atol, rtol=rtol)


# ------------------------------------------------------------------------------------------------
# Elementwise, with broadcasting, in float64 and float32
# ------------------------------------------------------------------------------------------------

BINARY = {
    "add": np.add, "subtract": np.subtract, "multiply": np.multiply, "divide": np.true_divide,
    "true_divide": np.true_divide, "maximum": np.maximum, "minimum": np.minimum,
    "power": np.power,
}
BROADCAST_SHAPES = [((3, 4), (3, 4)), ((3, 1, 4), (2, 4)), ((4,), (5, 1)), ((), (2, 3)),
                    ((2, 3), ())]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("shapes", BROADCAST_SHAPES, ids=str)
@pytest.mark.parametrize("name", sorted(BINARY))
def test_binary(rng, name, shapes, dtype):
    a = rand(rng, *shapes[0], lo=0.5, hi=2.0, dtype=dtype)
    b = rand(rng, *shapes[1], lo=0.5, hi=2.0, dtype=dtype)
    check(getattr(ops, name)(a, b), BINARY[name](a, b))


@pytest.mark.parametrize("name", sorted(BINARY))
def test_binary_python_scalar_keeps_float32(rng, name):
    a = rand(rng, 3, 4, lo=0.5, hi=2.0, dtype=np.float32)
    check(getattr(ops, name)(a, 1.5), BINARY[name](a, 1.5), dtype=np.float32)
    check(getattr(ops, name)(1.5, a), BINARY[name](1.5, a), dtype=np.float32)


def test_binary_lists_and_variables(rng):
    v = Variable(rand(rng, 2, 3))           # float32 variable
    check(ops.add(v, 1.0), v.value + 1.0, dtype=np.float32)
    check(ops.multiply([1.0, 2.0, 3.0], [[2.0], [3.0]]),
          np.multiply([1.0, 2.0, 3.0], [[2.0], [3.0]]))
    check(ops.subtract(v, v), np.zeros((2, 3), np.float32))


UNARY = {
    "negative": (np.negative, "any"), "square": (np.square, "any"), "sqrt": (np.sqrt, "pos"),
    "abs": (np.abs, "any"), "absolute": (np.abs, "any"), "exp": (np.exp, "any"),
    "exp2": (np.exp2, "any"), "log": (np.log, "pos"), "log2": (np.log2, "pos"),
    "log10": (np.log10, "pos"), "log1p": (np.log1p, "pos"), "expm1": (np.expm1, "any"),
    "reciprocal": (np.reciprocal, "pos"), "sin": (np.sin, "any"), "cos": (np.cos, "any"),
    "tan": (np.tan, "any"), "arctan": (np.arctan, "any"), "sinh": (np.sinh, "any"),
    "cosh": (np.cosh, "any"), "sign": (np.sign, "any"), "floor": (np.floor, "any"),
    "ceil": (np.ceil, "any"), "round": (np.round, "any"), "tanh": (np.tanh, "any"),
    "isnan": (np.isnan, "any"), "isfinite": (np.isfinite, "any"), "isinf": (np.isinf, "any"),
    "logical_not": (np.logical_not, "any"),
}


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary(rng, name, dtype):
    fn, domain = UNARY[name]
    x = rand(rng, 3, 5, lo=0.1 if domain == "pos" else -2.0, dtype=dtype)
    x[0, 0] = 0.5 if domain == "pos" else 0.0
    check(getattr(ops, name)(x), fn(x))
    # 0-d input: still an ndarray
    check(getattr(ops, name)(x[1, 1]), fn(x[1, 1]))


def test_round_decimals_and_clip(rng):
    x = rand(rng, 4, 4, dtype=np.float32)
    check(ops.round(x, 2), np.round(x, 2))
    check(ops.clip(x, -0.5, 0.7), np.clip(x, -0.5, 0.7), dtype=np.float32)
    lo, hi = rand(rng, 4, 1, lo=-1, hi=0), rand(rng, 4, lo=0, hi=1)
    check(ops.clip(x.astype(np.float64), lo, hi), np.clip(x.astype(np.float64), lo, hi))


@pytest.mark.parametrize("name", ["equal", "not_equal", "greater", "greater_equal", "less",
                                  "less_equal", "logical_and", "logical_or", "logical_xor"])
def test_comparisons(rng, name):
    a = np.round(rand(rng, 3, 4))
    b = np.round(rand(rng, 4))
    check(getattr(ops, name)(a, b), getattr(np, name)(a, b))


def test_floor_divide_mod(rng):
    a, b = rand(rng, 3, 4), rand(rng, 4, lo=0.5)
    check(ops.floor_divide(a, b), np.floor_divide(a, b))
    check(ops.mod(a, b), np.mod(a, b))


# ------------------------------------------------------------------------------------------------
# Linear algebra
# ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("shapes", [((3, 4), (4, 5)), ((2, 3, 4), (4, 5)), ((4,), (4, 5)),
                                    ((3, 4), (4,)), ((4,), (4,)), ((2, 1, 3, 4), (5, 4, 2))],
                         ids=str)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_matmul(rng, shapes, dtype):
    a, b = rand(rng, *shapes[0], dtype=dtype), rand(rng, *shapes[1], dtype=dtype)
    check(ops.matmul(a, b), np.matmul(a, b), rtol=1e-5 if dtype == np.float32 else 1e-12)


@pytest.mark.parametrize("shapes", [((3, 4), (4, 5)), ((2, 3, 4), (4, 5)), ((2, 3, 4), (5, 4, 2)),
                                    ((4,), (4,)), ((), (3,)), ((2, 3, 4), (4,))], ids=str)
def test_dot(rng, shapes):
    a, b = rand(rng, *shapes[0]), rand(rng, *shapes[1])
    check(ops.dot(a, b), np.dot(a, b))


@pytest.mark.parametrize("axes", [2, 1, 0, ([1, 0], [0, 2]), (2, 1), ([0], [1])], ids=str)
def test_tensordot(rng, axes):
    a = rand(rng, 3, 4, 5)
    b = {2: (4, 5, 2), 1: (5, 2), 0: (2,), str(([1, 0], [0, 2])): (4, 2, 3),
         str((2, 1)): (3, 5), str(([0], [1])): (2, 3)}[axes if isinstance(axes, int)
                                                       else str(axes)]
    b = rand(rng, *b)
    check(ops.tensordot(a, b, axes=axes), np.tensordot(a, b, axes=axes))


@pytest.mark.parametrize("expr,shapes", [
    ("ij,jk->ik", [(3, 4), (4, 5)]), ("bij,bjk->bik", [(2, 3, 4), (2, 4, 5)]),
    ("ij,jk", [(3, 4), (4, 5)]), ("ij->", [(3, 4)]), ("...ij,jk->...ik", [(2, 3, 4), (4, 5)]),
    ("ii->i", [(3, 3)]), ("ij,ij,ij->i", [(2, 3), (2, 3), (2, 3)])])
def test_einsum(rng, expr, shapes):
    arrays = [rand(rng, *s) for s in shapes]
    check(ops.einsum(expr, *arrays), np.einsum(expr, *arrays))


def test_inner_outer(rng):
    a, b = rand(rng, 3, 4), rand(rng, 2, 4)
    check(ops.inner(a, b), np.inner(a, b))
    check(ops.outer(a, b), np.outer(a, b))


# ------------------------------------------------------------------------------------------------
# Reductions
# ------------------------------------------------------------------------------------------------

REDUCTIONS = {"sum": np.sum, "mean": np.mean, "max": np.max, "min": np.min, "prod": np.prod,
              "var": np.var, "std": np.std, "any": np.any, "all": np.all}


@pytest.mark.parametrize("keepdims", [False, True])
@pytest.mark.parametrize("axis", [None, 0, -1, (0, 2), [1]], ids=str)
@pytest.mark.parametrize("name", sorted(REDUCTIONS))
def test_reductions(rng, name, axis, keepdims):
    x = rand(rng, 2, 3, 4, dtype=np.float32)
    if name in ("any", "all"):
        x = x > 0
    np_axis = tuple(axis) if isinstance(axis, list) else axis
    expected = REDUCTIONS[name](x, axis=np_axis, keepdims=keepdims)
    check(getattr(ops, name)(x, axis=axis, keepdims=keepdims), expected, rtol=1e-6)


@pytest.mark.parametrize("keepdims", [False, True])
@pytest.mark.parametrize("axis", [None, 1, (0, 1)], ids=str)
def test_logsumexp(rng, axis, keepdims):
    x = rand(rng, 3, 4, 2) * 200.0            # would overflow a naive exp
    m = np.max(x, axis=axis, keepdims=True)
    expected = np.log(np.sum(np.exp(x - m), axis=axis, keepdims=True)) + m
    if not keepdims:
        expected = np.squeeze(expected, axis=axis)
    check(ops.logsumexp(x, axis=axis, keepdims=keepdims), expected)
    x32 = x.astype(np.float32)
    assert ops.logsumexp(x32, axis=axis).dtype == np.float32


@pytest.mark.parametrize("ord,axis,shape", [(None, None, (5,)), (None, None, (3, 4)),
                                            (1, None, (5,)), (np.inf, None, (5,)),
                                            (3, -1, (2, 5)), ("fro", None, (3, 4)),
                                            (None, (0, 1), (3, 4, 2)), (2, None, (3, 4))],
                         ids=str)
def test_norm(rng, ord, axis, shape):
    x = rand(rng, *shape)
    check(ops.norm(x, ord=ord, axis=axis), np.linalg.norm(x, ord=ord, axis=axis), rtol=1e-10)


def test_arg_and_cumsum(rng):
    x = rand(rng, 3, 4)
    check(ops.argmax(x), np.argmax(x), dtype="int32")
    check(ops.argmax(x, axis=1), np.argmax(x, axis=1), dtype="int32")
    check(ops.argmin(x, axis=0, keepdims=True), np.argmin(x, axis=0, keepdims=True),
          dtype="int32")
    check(ops.argsort(x), np.argsort(x), dtype="int32")
    check(ops.cumsum(x), np.cumsum(x))
    check(ops.cumsum(x, axis=1), np.cumsum(x, axis=1))


# ------------------------------------------------------------------------------------------------
# Shapes and indexing
# ------------------------------------------------------------------------------------------------

def test_shape_ops(rng):
    x = rand(rng, 2, 3, 4, dtype=np.float32)
    check(ops.reshape(x, (4, 6)), x.reshape(4, 6))
    check(ops.reshape(x, (None, 4)), x.reshape(-1, 4))
    check(ops.reshape(x, 24), x.reshape(24))
    check(ops.transpose(x), x.T)
    check(ops.transpose(x, (1, 0, 2)), x.transpose(1, 0, 2))
    check(ops.transpose(x, (-1, 0, 1)), x.transpose(2, 0, 1))
    check(ops.expand_dims(x, 1), x[:, None])
    check(ops.expand_dims(x, (0, -1)), x[None, ..., None])
    check(ops.squeeze(x[:, :1, None]), np.squeeze(x[:, :1, None]))
    check(ops.squeeze(x[:, :1], axis=1), x[:, 0])
    check(ops.ravel(x), x.ravel())
    check(ops.swapaxes(x, 0, 2), np.swapaxes(x, 0, 2))
    check(ops.moveaxis(x, 0, -1), np.moveaxis(x, 0, -1))
    check(ops.moveaxis(x, [0, 1], [2, 0]), np.moveaxis(x, [0, 1], [2, 0]))
    check(ops.broadcast_to(x[:, :1], (2, 3, 4)), np.broadcast_to(x[:, :1], (2, 3, 4)))
    check(ops.flip(x), np.flip(x))
    check(ops.flip(x, 1), np.flip(x, 1))
    check(ops.tile(x, (2, 1, 1, 3)), np.tile(x, (2, 1, 1, 3)))
    check(ops.tile(x, 2), np.tile(x, 2))
    check(ops.repeat(x, 2), np.repeat(x, 2))
    check(ops.repeat(x, 3, axis=1), np.repeat(x, 3, axis=1))
    check(ops.repeat(x, [1, 0, 2], axis=1), np.repeat(x, [1, 0, 2], axis=1))
    assert ops.shape(x) == (2, 3, 4) and ops.ndim(x) == 3 and ops.size(x) == 24
    assert ops.shape(Variable(np.zeros((2, 5)))) == (2, 5)


def test_join_and_split(rng):
    a, b = rand(rng, 2, 3), rand(rng, 2, 5)
    check(ops.concatenate([a, b], axis=1), np.concatenate([a, b], axis=1))
    check(ops.concatenate([a, a], axis=0), np.concatenate([a, a]))
    check(ops.concatenate([a, b], axis=None), np.concatenate([a, b], axis=None))
    check(ops.stack([a, a * 2], axis=1), np.stack([a, a * 2], axis=1))
    check(ops.stack([a, a], axis=-1), np.stack([a, a], axis=-1))
    check(ops.append(a, b), np.append(a, b))
    parts = ops.unstack(b, axis=1)
    assert isinstance(parts, list) and len(parts) == 5
    for i, p in enumerate(parts):
        check(p, b[:, i])
    with pytest.raises(ValueError):
        ops.unstack(b, num=3, axis=1)
    for got, want in zip(ops.split(b, [1, 3], axis=1), np.split(b, [1, 3], axis=1)):
        check(got, want)
    for got, want in zip(ops.split(a, 3, axis=1), np.split(a, 3, axis=1)):
        check(got, want)
    for got, want in zip(ops.array_split(b, 2, axis=1), np.array_split(b, 2, axis=1)):
        check(got, want)


@pytest.mark.parametrize("mode", ["constant", "edge", "reflect", "symmetric", "wrap"])
def test_pad(rng, mode):
    x = rand(rng, 3, 4, dtype=np.float32)
    check(ops.pad(x, ((1, 2), (0, 3)), mode=mode), np.pad(x, ((1, 2), (0, 3)), mode=mode))
    check(ops.pad(x, 1, mode=mode), np.pad(x, 1, mode=mode))
    if mode == "constant":
        check(ops.pad(x, ((1, 0), (2, 1)), constant_values=7.0),
              np.pad(x, ((1, 0), (2, 1)), constant_values=7.0))


KEYS = [0, -1, (slice(None), 1), (slice(1, None, 2), slice(None, None, -1)), (Ellipsis, 0),
        (None, 1), ([0, 2, 2],), (slice(None), [1, 1, 0]), ([0, 1], [2, 3]),
        (np.array([True, False, True]),), (1, Ellipsis, None)]


@pytest.mark.parametrize("key", KEYS, ids=repr)
def test_get_item(rng, key):
    x = rand(rng, 3, 4, 2)
    check(ops.get_item(x, key), x[key])
    check(np.asarray(Tensor(x)[key]), x[key])
    v = Variable(x)
    check(v[key], x.astype(np.float32)[key])


def test_get_item_tensor_key(rng):
    x = rand(rng, 5, 3)
    idx = Tensor(np.array([4, 0]))
    check(ops.get_item(x, idx), x[[4, 0]])
    check(ops.get_item(x, (slice(Tensor(np.array(1)), None), 0)), x[1:, 0])


def test_take_where_select(rng):
    x = rand(rng, 3, 4)
    check(ops.take(x, [0, 2, 2]), np.take(x, [0, 2, 2]))
    check(ops.take(x, np.array([[3, 0], [1, 1]]), axis=1),
          np.take(x, np.array([[3, 0], [1, 1]]), axis=1))
    idx = np.argsort(x, axis=1)
    check(ops.take_along_axis(x, idx, axis=1), np.take_along_axis(x, idx, axis=1))
    check(ops.take_along_axis(x, np.array([5, 1]), axis=None),
          np.take_along_axis(x, np.array([5, 1]), axis=None))
    check(ops.slice(x, (1, 1), (2, 2)), x[1:3, 1:3])
    cond = x > 0
    check(ops.where(cond, x, 0.0), np.where(cond, x, 0.0))
    y = rand(rng, 4)
    check(ops.where(cond[:, :1], x, y), np.where(cond[:, :1], x, y))
    for got, want in zip(ops.where(cond), np.nonzero(cond)):
        np.testing.assert_array_equal(got, want)
    check(ops.select([x < -1, x > 1], [x * 2, x * 3], 0.5),
          np.select([x < -1, x > 1], [x * 2, x * 3], 0.5))
    check(ops.tril(x), np.tril(x))
    check(ops.triu(x, 1), np.triu(x, 1))


# ------------------------------------------------------------------------------------------------
# Creation, conversion, Keras defaults
# ------------------------------------------------------------------------------------------------

def test_creation_defaults():
    check(ops.zeros((2, 3)), np.zeros((2, 3), np.float32))
    check(ops.ones(4), np.ones(4, np.float32))
    check(ops.ones((2,), dtype="int32"), np.ones(2, np.int32))
    check(ops.full((2, 2), 3), np.full((2, 2), 3, np.float32))
    check(ops.full((2, 2), 3, dtype="int64"), np.full((2, 2), 3, np.int64))
    x = np.arange(6, dtype=np.float64).reshape(2, 3)
    check(ops.zeros_like(x), np.zeros_like(x))
    check(ops.ones_like(x, dtype="float32"), np.ones((2, 3), np.float32))
    check(ops.full_like(x, 2.5), np.full_like(x, 2.5))
    check(ops.eye(3), np.eye(3, dtype=np.float32))
    check(ops.eye(3, 4, k=1), np.eye(3, 4, k=1, dtype=np.float32))
    check(ops.identity(2), np.identity(2, dtype=np.float32))
    check(ops.arange(5), np.arange(5, dtype=np.int32))
    check(ops.arange(1, 7, 2), np.arange(1, 7, 2, dtype=np.int32))
    check(ops.arange(0.0, 1.0, 0.25), np.arange(0, 1, 0.25, dtype=np.float32))
    check(ops.linspace(0, 1, 5), np.linspace(0, 1, 5, dtype=np.float32))
    check(ops.one_hot(np.array([0, 2, -1, 3]), 3),
          np.array([[1, 0, 0], [0, 0, 1], [0, 0, 0], [0, 0, 0]], np.float32))
    check(ops.one_hot(np.array([[0, 1]]), 2, axis=0),
          np.moveaxis(np.eye(2, dtype=np.float32)[[[0, 1]]], -1, 0))


def test_convert_and_cast():
    assert ops.convert_to_tensor(1.5).dtype == np.float32
    assert ops.convert_to_tensor([1, 2]).dtype == np.int32
    assert ops.convert_to_tensor([1.0, 2.0], dtype="float64").dtype == np.float64
    x64 = np.ones(3)
    assert ops.convert_to_tensor(x64) is x64
    v = Variable(np.ones((2, 2)))
    assert ops.convert_to_tensor(v) is v.value
    assert ops.convert_to_tensor(v, dtype="float64").dtype == np.float64
    n = ops.convert_to_numpy(v)
    assert type(n) is np.ndarray and n is not v.value
    c = ops.cast(x64, "float32")
    check(c, x64.astype(np.float32))
    assert ops.cast(c, "float32") is c
    check(ops.cast(np.array([1.7, -1.2]), "int32"), np.array([1, -1], np.int32))
    assert ops.dtype(c) == "float32"
    check(ops.stop_gradient(v), v.value)
    assert ops.is_tensor(x64) and not ops.is_tensor([1.0])


def test_control_flow():
    assert ops.cond(True, lambda: 1, lambda: 2) == 1
    assert ops.fori_loop(0, 4, lambda i, v: v + i, 0) == 6
    assert ops.while_loop(lambda a, b: a < 5, lambda a, b: (a + 1, b * 2), (0, 1)) == (5, 32)


# ------------------------------------------------------------------------------------------------
# nn ops and dtypes
# ------------------------------------------------------------------------------------------------

NN_UNARY = ["sigmoid", "tanh", "relu", "relu6", "elu", "selu", "celu", "softplus", "softsign",
            "silu", "swish", "gelu", "hard_sigmoid", "hard_silu", "hard_swish", "leaky_relu",
            "log_sigmoid", "hard_tanh", "tanh_shrink", "squareplus", "sparse_plus",
            "sparse_sigmoid", "soft_shrink", "hard_shrink", "softmax", "log_softmax"]


@pytest.mark.parametrize("name", NN_UNARY)
def test_nn_float32_stays_float32(rng, name):
    x = rand(rng, 3, 7, lo=-5, hi=5)
    y32 = getattr(ops, name)(x.astype(np.float32))
    y64 = getattr(ops, name)(x)
    assert type(y32) is np.ndarray and y32.dtype == np.float32
    assert y64.dtype == np.float64
    assert_close(y32, y64, atol=2e-6, rtol=1e-5)


def test_nn_parameters(rng):
    x = rand(rng, 50, lo=-4, hi=4)
    check(ops.leaky_relu(x, negative_slope=0.1), np.where(x >= 0, x, 0.1 * x))
    check(ops.elu(x, alpha=0.5), np.where(x > 0, x, 0.5 * np.expm1(np.minimum(x, 0))))
    check(ops.celu(x, alpha=2.0),
          np.maximum(x, 0) + np.minimum(0, 2.0 * np.expm1(np.minimum(x, 0) / 2.0)))
    check(ops.squareplus(x, b=1), (x + np.sqrt(x * x + 1)) / 2)
    check(ops.soft_shrink(x, 1.0), np.where(x > 1, x - 1, np.where(x < -1, x + 1, 0.0)))
    check(ops.hard_shrink(x, 1.0), np.where(np.abs(x) > 1, x, 0.0))
    approx = 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x ** 3)))
    check(ops.gelu(x), approx)                         # keras.ops.gelu: approximate=True
    assert np.max(np.abs(ops.gelu(x, approximate=False) - approx)) > 1e-4
    check(ops.threshold(x, 0.5, -1.0), np.where(x > 0.5, x, -1.0))
    z = rand(rng, 2, 6)
    check(ops.glu(z), z[:, :3] / (1 + np.exp(-z[:, 3:])))
    check(ops.normalize(z), z / np.linalg.norm(z, axis=-1, keepdims=True))
    m, v = ops.moments(z, axes=[1])
    check(m, z.mean(axis=1))
    check(v, z.var(axis=1))


@pytest.mark.parametrize("axis", [-1, 0, (0, 1)], ids=str)
def test_softmax(rng, axis):
    x = rand(rng, 3, 4) * 300                # large: the naive form overflows
    e = np.exp(x - np.max(x, axis=axis, keepdims=True))
    want = e / e.sum(axis=axis, keepdims=True)
    check(ops.softmax(x, axis=axis), want, atol=1e-15)
    check(ops.log_softmax(x, axis=axis),
          x - ops.logsumexp(x, axis=axis, keepdims=True), atol=1e-12)
    assert np.all(np.isfinite(ops.log_softmax(x, axis=axis)))


def test_sigmoid_extremes():
    x = np.array([-1000.0, -50.0, 0.0, 50.0, 1000.0])
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        y = ops.sigmoid(x)
        ops.softplus(x)
        ops.log_sigmoid(x)
    assert_close(y, [0.0, np.exp(-50) / (1 + np.exp(-50)), 0.5, 1.0, 1.0],
                 rtol=1e-15, atol=0)


# ------------------------------------------------------------------------------------------------
# Return types inside and outside a tape
# ------------------------------------------------------------------------------------------------

def test_untracked_inputs_give_arrays_even_inside_a_tape(rng):
    x = rand(rng, 3, 3)
    with GradientTape():
        y = ops.tanh(ops.matmul(x, x))
        z = ops.sum(x)
    assert type(y) is np.ndarray and type(z) is np.ndarray


def test_tensor_inputs_outside_a_tape_give_arrays(rng):
    t = Tensor(rand(rng, 2, 2))
    for out in (ops.exp(t), t + 1, 2 * t, t @ t, t[0], ops.sum(t), -t, t.T, t ** 2):
        assert type(out) is np.ndarray


def test_every_op_is_exported():
    import inspect
    from rnnkit.ops import core, nn, numpy as np_ops
    for mod in (core, nn, np_ops):
        for name, obj in vars(mod).items():
            if not name.startswith("_") and inspect.isfunction(obj) and \
                    obj.__module__.startswith("rnnkit.ops"):
                # The exported op may be the wrapper that also takes symbolic tensors.
                exported = getattr(ops, name, None)
                assert getattr(exported, "__wrapped__", exported) is obj, name
    for name in ("add", "subtract", "multiply", "divide", "matmul", "power", "negative",
                 "get_item", "transpose"):      # what Variable's operators call
        assert callable(getattr(ops, name))


# -- the same ops on every array library (the strict CPU stand-in for a GPU, and CuPy) -------

from device_op_cases import CASES as DEVICE_CASES  # noqa: E402
from device_params import LIBRARIES, on, strict_registered  # noqa: E402,F401


def _device_tolerance(library):
    # numpy and strict run the same NumPy code: equal to the last bit; CuPy: GPU arithmetic
    return dict(rtol=0, atol=0) if library != "cupy" else dict(rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", sorted(DEVICE_CASES))
@pytest.mark.parametrize("library", LIBRARIES)
def test_op_on_each_array_library(library, name, strict_registered):
    """Each op computes on the library of its inputs, returns that library's array and
    never converts to the host implicitly (the strict library raises if it did)."""
    dev = on(library)
    fn, arrays = DEVICE_CASES[name]
    want = fn(ops, *arrays)
    got = fn(ops, *[dev.put(a) for a in arrays])
    assert dev.is_native(got), type(got)
    got = dev.host(got)
    assert got.shape == np.shape(want) and got.dtype == np.asarray(want).dtype
    np.testing.assert_allclose(got, want, **_device_tolerance(library))
