"""rnnkit.autodiff: every differentiable op's VJP against central finite differences (float64),
and the tape's contract (Variables, watch, record(), None for unconnected sources, persistence,
nesting, custom_gradient, value_and_grad)."""

from __future__ import annotations

import numpy as np
import pytest

from rnnkit import activations, autodiff, ops
from rnnkit.autodiff import GradientTape, Tensor
from rnnkit.variables import Variable

from reference import ACTIVATION_KINKS, ACTIVATIONS
from helpers import assert_close, assert_same  # noqa: E402

EPS = 1e-6
RTOL = 1e-5
ATOL = 1e-7


# ------------------------------------------------------------------------------------------------
# The generic checker
# ------------------------------------------------------------------------------------------------

def _outputs(out):
    return list(out) if isinstance(out, (list, tuple)) else [out]


def numeric_vjp(fn, inputs, weights):
    """d/d inputs of sum_k sum(fn(*inputs)[k] * weights[k]), by central differences."""
    def loss():
        return sum(float(np.sum(np.asarray(o) * w)) for o, w in zip(_outputs(fn(*inputs)), weights))

    grads = []
    for a in inputs:
        g = np.zeros_like(a)
        for idx in np.ndindex(a.shape):
            orig = a[idx]
            a[idx] = orig + EPS
            plus = loss()
            a[idx] = orig - EPS
            minus = loss()
            a[idx] = orig
            g[idx] = (plus - minus) / (2 * EPS)
        grads.append(g)
    return grads


def analytic_vjp(fn, inputs, weights):
    tensors = [Tensor(a.copy()) for a in inputs]
    with GradientTape() as tape:
        tape.watch(tensors)
        outs = _outputs(fn(*tensors))
    for o in outs:
        assert isinstance(o, Tensor), f"an op on tracked inputs returned {type(o).__name__}"
    return tape.gradient(outs, tensors, output_gradients=weights)


def check_vjp(fn, inputs, rng):
    plain = _outputs(fn(*inputs))
    for o in plain:
        assert type(o) is np.ndarray, type(o)        # outside a tape: plain arrays
    weights = [rng.normal(size=np.shape(o)) for o in plain]
    analytic = analytic_vjp(fn, inputs, weights)
    numeric = numeric_vjp(fn, inputs, weights)
    for k, (a, n, x) in enumerate(zip(analytic, numeric, inputs)):
        assert a is not None, f"input {k}: no gradient"
        assert a.shape == x.shape and a.dtype == x.dtype, (k, a.shape, a.dtype)
        assert_close(a, n, rtol=RTOL, atol=ATOL, err_msg=f"input {k}")


# Input domains
def U(lo, hi):
    return lambda rng, shape: rng.uniform(lo, hi, shape)


ANY, POS, UNIT = U(-2, 2), U(0.5, 2), U(-0.9, 0.9)


def NZ(rng, shape):
    return rng.uniform(0.2, 2, shape) * rng.choice([-1.0, 1.0], shape)


def WITH_ZERO(rng, shape):
    x = rng.uniform(-2, 2, shape)
    x.flat[1] = 0.0
    return x


def away_from(kinks, lo=-4.0, hi=4.0, gap=0.01):
    def make(rng, shape):
        x = rng.uniform(lo, hi, shape)
        for k in kinks:
            near = np.abs(x - k) < gap
            x[near] = k + np.where(x[near] >= k, 2 * gap, -2 * gap)
        return x
    return make


S = (3, 4)
CASES = {
    # elementwise binary, with broadcasting
    "add": (ops.add, [((3, 1, 4), ANY), ((2, 4), ANY)]),
    "add_scalar": (lambda a: ops.add(a, 2.0), [(S, ANY)]),
    "subtract": (ops.subtract, [((4,), ANY), ((3, 4), ANY)]),
    "rsubtract_scalar": (lambda a: ops.subtract(1.5, a), [(S, ANY)]),
    "multiply": (ops.multiply, [((3, 1), ANY), ((1, 4), ANY)]),
    "divide": (ops.divide, [(S, ANY), ((4,), POS)]),
    "true_divide": (ops.true_divide, [((), POS), (S, POS)]),
    "power": (ops.power, [(S, POS), (S, ANY)]),
    "power_scalar": (lambda a: ops.power(a, 3), [(S, ANY)]),
    "maximum": (ops.maximum, [(S, ANY), ((4,), ANY)]),
    "minimum": (ops.minimum, [((3, 1), ANY), (S, ANY)]),
    # elementwise unary
    "negative": (ops.negative, [(S, ANY)]),
    "square": (ops.square, [(S, ANY)]),
    "sqrt": (ops.sqrt, [(S, POS)]),
    "abs": (ops.abs, [(S, NZ)]),
    "exp": (ops.exp, [(S, ANY)]),
    "exp2": (ops.exp2, [(S, ANY)]),
    "log": (ops.log, [(S, POS)]),
    "log2": (ops.log2, [(S, POS)]),
    "log10": (ops.log10, [(S, POS)]),
    "log1p": (ops.log1p, [(S, U(-0.5, 2))]),
    "expm1": (ops.expm1, [(S, ANY)]),
    "reciprocal": (ops.reciprocal, [(S, NZ)]),
    "sin": (ops.sin, [(S, ANY)]),
    "cos": (ops.cos, [(S, ANY)]),
    "tan": (ops.tan, [(S, UNIT)]),
    "arctan": (ops.arctan, [(S, ANY)]),
    "sinh": (ops.sinh, [(S, ANY)]),
    "cosh": (ops.cosh, [(S, ANY)]),
    "clip": (lambda x: ops.clip(x, -0.5, 0.8), [(S, away_from([-0.5, 0.8], -2, 2))]),
    "clip_tensor_bounds": (ops.clip, [(S, away_from([-0.5, 0.5], -2, 2)), ((3, 1), U(-0.4, -0.3)),
                                      ((4,), U(0.3, 0.4))]),
    # linear algebra
    "matmul": (ops.matmul, [((3, 4), ANY), ((4, 2), ANY)]),
    "matmul_batch_broadcast": (ops.matmul, [((2, 1, 3, 4), ANY), ((5, 4, 2), ANY)]),
    "matmul_vec_mat": (ops.matmul, [((4,), ANY), ((2, 4, 3), ANY)]),
    "matmul_mat_vec": (ops.matmul, [((2, 3, 4), ANY), ((4,), ANY)]),
    "matmul_vec_vec": (ops.matmul, [((4,), ANY), ((4,), ANY)]),
    "dot_2d": (ops.dot, [((3, 4), ANY), ((4, 2), ANY)]),
    "dot_nd": (ops.dot, [((2, 3, 4), ANY), ((3, 4, 2), ANY)]),
    "dot_scalar": (ops.dot, [((), ANY), ((3,), ANY)]),
    "tensordot_2": (ops.tensordot, [((2, 3, 4), ANY), ((3, 4, 2), ANY)]),
    "tensordot_lists": (lambda a, b: ops.tensordot(a, b, axes=([2, 0], [0, 1])),
                        [((2, 3, 4), ANY), ((4, 2, 3), ANY)]),
    "tensordot_0": (lambda a, b: ops.tensordot(a, b, axes=0), [((2, 3), ANY), ((2,), ANY)]),
    "einsum_matmul": (lambda a, b: ops.einsum("ij,jk->ik", a, b), [((3, 4), ANY), ((4, 2), ANY)]),
    "einsum_batch": (lambda a, b: ops.einsum("bij,bjk->bik", a, b),
                     [((2, 3, 4), ANY), ((2, 4, 2), ANY)]),
    "einsum_implicit": (lambda a, b: ops.einsum("ij,jk", a, b), [((3, 4), ANY), ((4, 2), ANY)]),
    "einsum_ellipsis": (lambda a, b: ops.einsum("...ij,jk->...ik", a, b),
                        [((2, 3, 4), ANY), ((4, 2), ANY)]),
    "einsum_sum_inside": (lambda a: ops.einsum("ijk->i", a), [((2, 3, 4), ANY)]),
    "einsum_outer": (lambda a, b: ops.einsum("i,jk->ijk", a, b), [((2,), ANY), ((3, 2), ANY)]),
    "einsum_label_broadcast": (lambda a, b: ops.einsum("ij,ij->i", a, b),
                               [((3, 1), ANY), ((3, 4), ANY)]),
    "einsum_three": (lambda a, b, c: ops.einsum("ij,jk,kl->il", a, b, c),
                     [((2, 3), ANY), ((3, 4), ANY), ((4, 2), ANY)]),
    "inner": (ops.inner, [((3, 4), ANY), ((2, 4), ANY)]),
    "outer": (ops.outer, [((3,), ANY), ((2, 2), ANY)]),
    # reductions
    "sum": (ops.sum, [((2, 3, 4), ANY)]),
    "sum_axis": (lambda x: ops.sum(x, axis=1), [((2, 3, 4), ANY)]),
    "sum_axes_keepdims": (lambda x: ops.sum(x, axis=(0, 2), keepdims=True), [((2, 3, 4), ANY)]),
    "mean": (lambda x: ops.mean(x, axis=-1), [((2, 3, 4), ANY)]),
    "mean_all": (ops.mean, [((2, 3), ANY)]),
    "max": (lambda x: ops.max(x, axis=0), [((3, 4), ANY)]),
    "max_all": (ops.max, [((3, 4), ANY)]),
    "min": (lambda x: ops.min(x, axis=(0, 1), keepdims=True), [((3, 2, 2), ANY)]),
    "var": (lambda x: ops.var(x, axis=1), [((3, 4), ANY)]),
    "var_all": (ops.var, [((3, 4), ANY)]),
    "std": (lambda x: ops.std(x, axis=0, keepdims=True), [((3, 4), ANY)]),
    "prod": (lambda x: ops.prod(x, axis=1), [((3, 4), ANY)]),
    "prod_with_zero": (ops.prod, [((2, 3), WITH_ZERO)]),
    "prod_axes": (lambda x: ops.prod(x, axis=(0, 2)), [((2, 3, 2), ANY)]),
    "logsumexp": (lambda x: ops.logsumexp(x, axis=1), [((3, 4), ANY)]),
    "logsumexp_all_keepdims": (lambda x: ops.logsumexp(x, keepdims=True), [((3, 4), ANY)]),
    "norm": (ops.norm, [((5,), ANY)]),
    "norm_fro": (ops.norm, [((3, 4), ANY)]),
    "norm_axis": (lambda x: ops.norm(x, axis=-1, keepdims=True), [((3, 4), ANY)]),
    "norm_1": (lambda x: ops.norm(x, ord=1), [((5,), NZ)]),
    "norm_3": (lambda x: ops.norm(x, ord=3, axis=0), [((4, 2), NZ)]),
    "norm_inf": (lambda x: ops.norm(x, ord=np.inf), [((5,), NZ)]),
    "cumsum": (ops.cumsum, [((3, 4), ANY)]),
    "cumsum_axis": (lambda x: ops.cumsum(x, axis=1), [((3, 4), ANY)]),
    # shapes
    "reshape": (lambda x: ops.reshape(x, (4, -1)), [((2, 3, 2), ANY)]),
    "transpose": (ops.transpose, [((2, 3, 4), ANY)]),
    "transpose_axes": (lambda x: ops.transpose(x, (1, -1, 0)), [((2, 3, 4), ANY)]),
    "expand_dims": (lambda x: ops.expand_dims(x, (0, -1)), [(S, ANY)]),
    "squeeze": (lambda x: ops.squeeze(x, 1), [((3, 1, 2), ANY)]),
    "ravel": (ops.ravel, [(S, ANY)]),
    "swapaxes": (lambda x: ops.swapaxes(x, 0, 2), [((2, 3, 4), ANY)]),
    "moveaxis": (lambda x: ops.moveaxis(x, 0, -1), [((2, 3, 4), ANY)]),
    "broadcast_to": (lambda x: ops.broadcast_to(x, (2, 3, 4)), [((3, 1), ANY)]),
    "flip": (lambda x: ops.flip(x, 1), [(S, ANY)]),
    "flip_all": (ops.flip, [(S, ANY)]),
    "concatenate": (lambda a, b: ops.concatenate([a, b], axis=1), [((2, 3), ANY), ((2, 2), ANY)]),
    "concatenate_none": (lambda a, b: ops.concatenate([a, b], axis=None),
                         [((2, 3), ANY), ((4,), ANY)]),
    "stack": (lambda a, b: ops.stack([a, b], axis=1), [((2, 3), ANY), ((2, 3), ANY)]),
    "stack_reuse": (lambda a: ops.stack([a, a * 2.0, a], axis=-1), [((2, 3), ANY)]),
    "unstack": (lambda x: ops.unstack(x, axis=1), [((2, 3), ANY)]),
    "unstack_partial_use": (lambda x: ops.unstack(x)[1], [((3, 2), ANY)]),
    "split": (lambda x: ops.split(x, [1, 3], axis=1), [((2, 4), ANY)]),
    "array_split": (lambda x: ops.array_split(x, 2, axis=0), [((3, 2), ANY)]),
    "append": (ops.append, [((2, 2), ANY), ((3,), ANY)]),
    "tile": (lambda x: ops.tile(x, (2, 1, 3)), [((2, 3), ANY)]),
    "repeat": (lambda x: ops.repeat(x, 2, axis=1), [((2, 3), ANY)]),
    "repeat_flat": (lambda x: ops.repeat(x, 3), [((2, 2), ANY)]),
    "repeat_array": (lambda x: ops.repeat(x, [2, 0, 1], axis=0), [((3, 2), ANY)]),
    "pad_constant": (lambda x: ops.pad(x, ((1, 0), (2, 1)), constant_values=3.0), [(S, ANY)]),
    "pad_reflect": (lambda x: ops.pad(x, ((2, 1), (1, 3)), mode="reflect"), [(S, ANY)]),
    "pad_symmetric": (lambda x: ops.pad(x, 2, mode="symmetric"), [(S, ANY)]),
    "pad_edge": (lambda x: ops.pad(x, ((0, 2), (1, 1)), mode="edge"), [(S, ANY)]),
    "pad_wrap": (lambda x: ops.pad(x, ((1, 1), (3, 0)), mode="wrap"), [(S, ANY)]),
    # indexing
    "get_item_basic": (lambda x: x[1:, ::-2], [(S, ANY)]),
    "get_item_int": (lambda x: ops.get_item(x, (Ellipsis, 1, None)), [((2, 3, 4), ANY)]),
    "get_item_advanced_repeated": (lambda x: x[[0, 2, 2, 0]], [(S, ANY)]),
    "get_item_mixed": (lambda x: ops.get_item(x, (slice(None), [1, 1, 3])), [(S, ANY)]),
    "get_item_pairs": (lambda x: ops.get_item(x, ([0, 1, 1], [2, 3, 3])), [(S, ANY)]),
    "get_item_bool": (lambda x: ops.get_item(x, np.array([True, False, True])), [(S, ANY)]),
    "slice": (lambda x: ops.slice(x, (1, 0), (2, 3)), [(S, ANY)]),
    "take": (lambda x: ops.take(x, [1, 1, 3], axis=1), [(S, ANY)]),
    "take_flat": (lambda x: ops.take(x, np.array([[0, 5], [5, 11]])), [(S, ANY)]),
    "take_along_axis": (lambda x: ops.take_along_axis(x, np.array([[0, 0], [3, 1], [2, 2]]),
                                                      axis=1), [(S, ANY)]),
    "take_along_axis_flat": (lambda x: ops.take_along_axis(x, np.array([1, 1, 7]), axis=None),
                             [(S, ANY)]),
    "where": (lambda a, b: ops.where(np.array([True, False, True, False]), a, b),
              [(S, ANY), ((3, 1), ANY)]),
    "select": (lambda a, b: ops.select([np.array([[True], [False], [False]]),
                                        np.array([[False], [True], [False]])], [a, b], 0.5),
               [(S, ANY), ((4,), ANY)]),
    "tril": (ops.tril, [(S, ANY)]),
    "triu": (lambda x: ops.triu(x, 1), [(S, ANY)]),
    "convert_to_tensor": (ops.convert_to_tensor, [(S, ANY)]),
    "cast_same": (lambda x: ops.cast(x, "float64"), [(S, ANY)]),
    # nn
    "softmax": (ops.softmax, [(S, ANY)]),
    "softmax_axis0": (lambda x: ops.softmax(x, axis=0), [(S, ANY)]),
    "log_softmax": (ops.log_softmax, [(S, ANY)]),
    "log_softmax_axes": (lambda x: ops.log_softmax(x, axis=(0, 1)), [((2, 3, 2), ANY)]),
    "gelu_approximate": (ops.gelu, [(S, ANY)]),
    "gelu_exact": (lambda x: ops.gelu(x, approximate=False), [(S, ANY)]),
    "leaky_relu_slope": (lambda x: ops.leaky_relu(x, negative_slope=0.3), [(S, NZ)]),
    "elu_alpha": (lambda x: ops.elu(x, alpha=0.5), [(S, NZ)]),
    "celu_alpha": (lambda x: ops.celu(x, alpha=2.0), [(S, NZ)]),
    "squareplus_b": (lambda x: ops.squareplus(x, b=1.5), [(S, ANY)]),
    "soft_shrink_t": (lambda x: ops.soft_shrink(x, 1.0), [(S, away_from([-1, 1], -3, 3))]),
    "hard_shrink_t": (lambda x: ops.hard_shrink(x, 1.0), [(S, away_from([-1, 1], -3, 3))]),
    "threshold": (lambda x: ops.threshold(x, 0.3, -1.0), [(S, away_from([0.3], -2, 2))]),
    "glu": (ops.glu, [((3, 4), ANY)]),
    "normalize": (ops.normalize, [((3, 4), ANY)]),
    "moments": (lambda x: ops.moments(x, axes=[0]), [((3, 4), ANY)]),
    "keras_relu_params": (lambda x: activations.relu(x, negative_slope=0.1, max_value=1.5,
                                                     threshold=0.5),
                          [((4, 5), away_from([0.5, 1.5], -3, 3))]),
    "keras_relu_max6": (lambda x: activations.relu(x, max_value=6.0),
                        [((4, 5), away_from([0.0, 6.0], -2, 8))]),
    # 1-D convolution and pooling (rnnkit/ops/conv.py)
    "conv": (lambda x, k: ops.conv(x, k, strides=2, padding="same"),
             [((2, 7, 4), ANY), ((3, 2, 6), ANY)]),
    "conv_dilated": (lambda x, k: ops.conv(x, k, dilation_rate=2),
                     [((2, 8, 3), ANY), ((3, 3, 2), ANY)]),
    "depthwise_conv": (lambda x, k: ops.depthwise_conv(x, k, padding="same"),
                       [((2, 6, 3), ANY), ((3, 3, 2), ANY)]),
    "separable_conv": (ops.separable_conv, [((2, 6, 3), ANY), ((2, 3, 2), ANY), ((1, 6, 4), ANY)]),
    "max_pool": (lambda x: ops.max_pool(x, 3, 2, "same"), [((2, 7, 3), ANY)]),
    "average_pool": (lambda x: ops.average_pool(x, 3, 2, "same"), [((2, 7, 3), ANY)]),
    "conv_transpose": (lambda x, k: ops.conv_transpose(x, k, 2, "same", output_padding=1),
                       [((2, 5, 3), ANY), ((3, 4, 3), ANY)]),
    "adaptive_average_pool": (lambda x: ops.adaptive_average_pool(x, 3), [((2, 7, 3), ANY)]),
    "adaptive_max_pool": (lambda x: ops.adaptive_max_pool(x, 3), [((2, 7, 3), ANY)]),
}
# Every elementwise activation, through rnnkit.activations (mish is a composition of ops).
for _name in ACTIVATIONS:
    CASES[f"activation_{_name}"] = (activations.get(_name),
                                    [((4, 6), away_from(ACTIVATION_KINKS.get(_name, ())))])


# Ops with no gradient (their results are never tracked), aliases, and non-op helpers.
NOT_DIFFERENTIABLE = {
    "all", "any", "arange", "argmax", "argmin", "argsort", "ceil", "equal", "eye", "empty",
    "floor", "floor_divide", "full", "full_like", "greater", "greater_equal", "identity",
    "isfinite", "isinf", "isnan", "less", "less_equal", "linspace", "logical_and",
    "logical_not", "logical_or", "logical_xor", "mod", "not_equal", "one_hot", "ones",
    "ones_like", "round", "sign", "stop_gradient", "tri", "zeros", "zeros_like",
    "convert_to_numpy", "dtype", "is_tensor", "ndim", "shape", "size"}
ALIASES_AND_HELPERS = {"absolute", "amax", "amin", "hard_swish", "swish", "cond", "fori_loop",
                       "while_loop", "custom_gradient"}


def test_every_differentiable_op_has_a_case():
    covered = {n for n in ops.__all__
               if any(k == n or k.startswith(n + "_") or k == "activation_" + n for k in CASES)}
    missing = set(ops.__all__) - covered - NOT_DIFFERENTIABLE - ALIASES_AND_HELPERS
    missing -= __import__("test_ops_more").CHECKED_HERE     # the ops test_ops_more.py checks
    assert not missing, f"ops without a finite-difference check: {sorted(missing)}"


@pytest.mark.parametrize("name", sorted(CASES))
def test_vjp_against_finite_differences(rng, name):
    fn, specs = CASES[name]
    inputs = [make(rng, shape) for shape, make in specs]
    check_vjp(fn, inputs, rng)


# ------------------------------------------------------------------------------------------------
# Tape behaviour
# ------------------------------------------------------------------------------------------------

def test_reuse_of_a_value_accumulates(rng):
    x = rng.normal(size=(3,))
    t = Tensor(x)
    with GradientTape() as tape:
        tape.watch(t)
        y = t * t + t              # d/dx = 2x + 1
        z = ops.sum(y * ops.exp(t))
    g = tape.gradient(z, t)
    assert_close(g, (2 * x + 1) * np.exp(x) + (x * x + x) * np.exp(x), rtol=1e-12)


def test_trainable_variables_are_watched(rng):
    w = Variable(rng.normal(size=(3, 2)), dtype="float64")
    b = Variable(np.zeros(2), dtype="float64")
    frozen = Variable(np.ones(2), dtype="float64", trainable=False)
    x = rng.normal(size=(4, 3))
    with GradientTape() as tape:
        y = ops.sum(ops.tanh(x @ w + b) * frozen)
    gw, gb, gf = tape.gradient(y, [w, b, frozen])
    d = 1 - np.tanh(x @ w.value) ** 2
    assert_close(gw, x.T @ d, rtol=1e-12)
    assert_close(gb, d.sum(0), rtol=1e-12)
    assert gf is None                                  # not trainable: not watched
    assert {id(v) for v in tape.watched_variables()} == {id(w), id(b)}


def test_a_variable_and_its_copies_are_separate_sources_on_every_tape(rng):
    """A Variable keeps its leaf node across tapes; a copy of it (copy, deepcopy, pickle:
    the kept leaf comes along) must still be a source of its own."""
    import copy
    import pickle
    w = Variable(rng.normal(size=(2, 3)), dtype="float64")
    with GradientTape() as tape:            # w gets its leaf
        y = ops.sum(w * 2.0)
    assert_close(tape.gradient(y, w), np.full((2, 3), 2.0), rtol=0)
    for twin in (copy.copy(w), copy.deepcopy(w), pickle.loads(pickle.dumps(w))):
        with GradientTape() as tape:
            y = ops.sum(w * 2.0) + ops.sum(twin * 3.0)
        g_w, g_twin = tape.gradient(y, [w, twin])
        assert_close(g_w, np.full((2, 3), 2.0), rtol=0)
        assert_close(g_twin, np.full((2, 3), 3.0), rtol=0)
    # Two tapes at once (a persistent one kept open) share the leaf without mixing.
    with GradientTape(persistent=True) as first:
        a = ops.sum(w * 5.0)
    with GradientTape() as second:
        b = ops.sum(w * 7.0)
    assert_close(second.gradient(b, w), np.full((2, 3), 7.0), rtol=0)
    assert_close(first.gradient(a, w), np.full((2, 3), 5.0), rtol=0)


def test_variable_operators_and_float32(rng):
    w = Variable(rng.normal(size=(3, 3)))              # float32
    with GradientTape() as tape:
        y = w * 2.0 - w.T + (w @ w)[0] ** 2 / 3.0 + (-w)[1]
        loss = ops.mean(y)
    assert isinstance(y, Tensor) and y.dtype == np.float32
    g = tape.gradient(loss, w)
    assert g.dtype == np.float32 and g.shape == (3, 3)
    w64 = w.value.astype(np.float64)

    def f(m):
        return np.mean(m * 2.0 - m.T + (m @ m)[0] ** 2 / 3.0 + (-m)[1])

    num = np.zeros((3, 3))
    for idx in np.ndindex(3, 3):
        p, q = w64.copy(), w64.copy()
        p[idx] += 1e-6
        q[idx] -= 1e-6
        num[idx] = (f(p) - f(q)) / 2e-6
    assert_close(g, num, rtol=1e-4, atol=1e-5)


def test_watch_accessed_variables_false(rng):
    w = Variable(rng.normal(size=(2,)), dtype="float64")
    v = Variable(rng.normal(size=(2,)), dtype="float64")
    with GradientTape(watch_accessed_variables=False) as tape:
        tape.watch(v)
        y = ops.sum(w * v)
    gw, gv = tape.gradient(y, [w, v])
    assert gw is None
    assert_close(gv, w.value)


def test_watch_arrays_and_nested_sources(rng):
    x = rng.normal(size=(2, 3))
    w = Variable(rng.normal(size=(3,)), dtype="float64")
    with GradientTape() as tape:
        tape.watch(x)
        y = ops.sum(ops.square(x) * w)
    grads = tape.gradient(y, {"x": x, "params": [w, (w,)]})
    assert set(grads) == {"x", "params"}
    assert_close(grads["x"], 2 * x * w.value)
    assert_close(grads["params"][0], np.sum(x * x, 0))
    assert isinstance(grads["params"][1], tuple)
    assert_close(grads["params"][1][0], np.sum(x * x, 0))


def test_unconnected_sources_get_none_or_zeros(rng):
    a, b = Tensor(rng.normal(size=3)), Tensor(rng.normal(size=2))
    with GradientTape(persistent=True) as tape:
        tape.watch([a, b])
        y = ops.sum(ops.exp(a))
        _ = ops.sum(b * 2.0)                             # recorded, but not part of y
    assert tape.gradient(y, b) is None
    ga, gb = tape.gradient(y, [a, b], unconnected_gradients="zero")
    assert_close(gb, np.zeros(2))
    assert_close(ga, np.exp(a.numpy()))
    assert tape.gradient(y, Tensor(np.ones(2))) is None  # never watched
    assert tape.gradient(np.ones(()), a) is None          # untracked target


def test_non_persistent_tape_second_call_raises(rng):
    t = Tensor(rng.normal(size=2))
    with GradientTape() as tape:
        tape.watch(t)
        y = ops.sum(t * t)
    tape.gradient(y, t)
    with pytest.raises(RuntimeError, match="non-persistent"):
        tape.gradient(y, t)


def test_persistent_tape_gives_the_same_gradients_twice(rng):
    t = Tensor(rng.normal(size=2))
    with GradientTape(persistent=True) as tape:
        tape.watch(t)
        y = ops.sum(ops.sin(t))
        z = ops.sum(t * 3.0)
    g1 = tape.gradient(y, t)
    g2 = tape.gradient(y, t)
    assert_same(g1, g2)
    assert_close(tape.gradient(z, t), [3.0, 3.0])


def test_nested_tapes_raise():
    with GradientTape():
        with pytest.raises(RuntimeError, match="Nested"):
            with GradientTape():
                pass
    with GradientTape():          # the outer tape still exited cleanly
        pass


def test_non_differentiable_ops_are_untracked(rng):
    t = Tensor(rng.normal(size=(2, 3)))
    with GradientTape() as tape:
        tape.watch(t)
        for out in (ops.argmax(t), ops.round(t), ops.sign(t), ops.floor(t), t > 0, t == t,
                    ops.cast(t, "int32"), ops.isnan(t), ops.stop_gradient(t),
                    ops.zeros_like(t), ops.convert_to_numpy(t), ops.equal(t, 0.0)):
            assert type(out) is np.ndarray
        assert ops.shape(t) == (2, 3)
        y = ops.sum(ops.stop_gradient(t) * t)
    assert_close(tape.gradient(y, t), t.numpy())


def test_multiple_targets_are_summed_and_intermediate_sources(rng):
    t = Tensor(rng.normal(size=3))
    with GradientTape(persistent=True) as tape:
        tape.watch(t)
        h = ops.exp(t)
        y1 = ops.sum(h)
        y2 = ops.sum(h * t)
    g = tape.gradient([y1, y2], t)
    x = t.numpy()
    assert_close(g, np.exp(x) + np.exp(x) * (1 + x))
    assert_close(tape.gradient(y2, h), x)                # w.r.t. an intermediate
    assert_close(tape.gradient(h, t), np.exp(x))         # non-scalar target: summed


def test_record_custom_primitive(rng):
    """A two-output primitive through record(): unused outputs arrive as zeros."""
    x = rng.normal(size=(2, 3))
    w = Variable(rng.normal(size=(3,)), dtype="float64")
    seen = []

    def primitive(a, b):
        av, bv = autodiff.unwrap(a), autodiff.unwrap(b)
        outs = (av * bv, np.sum(av, axis=1))

        def vjp(grads):
            g0, g1 = grads
            seen.append(tuple(g.copy() for g in grads))
            return g0 * bv + g1[:, None], g0 * av      # second one broadcast: summed by the tape

        return autodiff.record(outs, (a, b), vjp)

    plain = primitive(x, w)
    assert isinstance(plain, tuple) and all(type(o) is np.ndarray for o in plain)

    xt = Tensor(x)
    with GradientTape() as tape:
        tape.watch(xt)
        p, s = primitive(xt, w)
        assert isinstance(p, Tensor) and isinstance(s, Tensor)
        loss = ops.sum(p * p)
    gx, gw = tape.gradient(loss, [xt, w])
    assert len(seen) == 1
    assert_same(seen[0][1], np.zeros(2))             # s got no gradient
    assert_close(gx, 2 * x * w.value ** 2)
    assert_close(gw, np.sum(2 * x * x * w.value, axis=0))


def test_record_single_output_and_none_gradient(rng):
    x = Tensor(rng.normal(size=3))
    c = rng.normal(size=3)

    def vjp(grads):
        (g,) = grads
        return (g * 2.0, None)

    with GradientTape() as tape:
        tape.watch(x)
        y = autodiff.record(autodiff.unwrap(x) * 2.0 + c, (x, c), vjp)
        assert isinstance(y, Tensor)
        loss = ops.sum(y)
    assert_close(tape.gradient(loss, x), [2.0, 2.0, 2.0])
    assert autodiff.record(np.ones(2), (np.ones(2),), vjp).__class__ is np.ndarray


def test_record_with_wrong_gradient_count_raises(rng):
    x = Tensor(np.ones(2))
    with GradientTape() as tape:
        tape.watch(x)
        y = autodiff.record((np.ones(2),), (x,), lambda g: (g[0], g[0]))[0]
    with pytest.raises(ValueError, match="2 gradients for 1 inputs"):
        tape.gradient(y, x)


def test_unwrap_and_is_tracked(rng):
    v = Variable(np.ones(2))
    t = Tensor(np.zeros(2))
    a = np.ones(3)
    assert autodiff.unwrap(v) is v.value and autodiff.unwrap(t) is t.value
    assert autodiff.unwrap(a) is a and autodiff.unwrap(1.5) == 1.5
    assert not autodiff.is_tracked(v)
    with GradientTape() as tape:
        assert not autodiff.is_tracked(a)
        tape.watch(a)
        assert autodiff.is_tracked(a)
        y = ops.exp(v)
        assert autodiff.is_tracked(y) and autodiff.is_tracked(v)
    assert not autodiff.is_tracked(y)


def test_non_trainable_variable_assigned_inside_the_tape(rng):
    """A stateful RNN reads its state, then assigns the new one in the same tape: the VJPs
    must keep the value that was read."""
    w = Variable(rng.normal(size=(2, 2)), dtype="float64")
    state = Variable(rng.normal(size=(1, 2)), dtype="float64", trainable=False)
    h0 = state.value.copy()
    with GradientTape() as tape:
        h = ops.tanh(ops.matmul(state, w))
        state.assign(autodiff.unwrap(h))
        loss = ops.sum(h)
    g = tape.gradient(loss, w)
    assert_close(g, h0.T @ (1 - np.tanh(h0 @ w.value) ** 2), rtol=1e-12)


def test_python_rnn_loop_gradient(rng):
    """A per-timestep SimpleRNN written with ops: gradients of every weight vs FD."""
    B, T, I, H = 2, 5, 3, 4
    x = rng.normal(size=(B, T, I))
    W, R, b = rng.normal(size=(I, H)) * 0.5, rng.normal(size=(H, H)) * 0.5, rng.normal(size=H)
    w_out = rng.normal(size=(B, H))

    def forward(W, R, b):
        h = ops.zeros((B, H), dtype="float64")
        for t in range(T):
            h = ops.tanh(ops.matmul(x[:, t], W) + ops.matmul(h, R) + b)
        return h

    check_vjp(forward, [W, R, b], rng)
    vw = [Variable(a, dtype="float64") for a in (W, R, b)]
    with GradientTape() as tape:
        loss = ops.sum(forward(*vw) * w_out)
    grads = tape.gradient(loss, vw)
    ref = numeric_vjp(forward, [W.copy(), R.copy(), b.copy()], [w_out])
    for g, n in zip(grads, ref):
        assert_close(g, n, rtol=RTOL, atol=ATOL)


def test_custom_gradient():
    @autodiff.custom_gradient
    def clipped_identity(x):
        def grad(upstream):
            return np.clip(upstream, -1.0, 1.0)
        return x * 1.0, grad

    t = Tensor(np.array([1.0, 2.0]))
    with GradientTape() as tape:
        tape.watch(t)
        y = ops.sum(clipped_identity(t) * np.array([0.5, 3.0]))
    assert_close(tape.gradient(y, t), [0.5, 1.0])
    assert type(clipped_identity(np.ones(2))) is np.ndarray
    assert ops.custom_gradient is autodiff.custom_gradient


def test_value_and_grad_and_grad(rng):
    x, w = rng.normal(size=3), rng.normal(size=3)

    def f(a, b):
        return ops.sum(ops.sin(a) * b)

    value, (ga, gb) = autodiff.value_and_grad(f, argnums=(0, 1))(x, w)
    assert_close(value, np.sum(np.sin(x) * w))
    assert_close(ga, np.cos(x) * w)
    assert_close(gb, np.sin(x))
    assert_close(autodiff.grad(f)(x, w), np.cos(x) * w)
    (value, aux), g = autodiff.value_and_grad(lambda a: (ops.sum(a["p"] ** 2), "aux"),
                                              has_aux=True)({"p": x})
    assert aux == "aux"
    assert_close(g["p"], 2 * x)


def test_tensor_behaves_like_an_array(rng):
    x = rng.normal(size=(2, 3))
    t = Tensor(x)
    with GradientTape() as tape:
        tape.watch(t)
        y = ((1.0 - t) * 2 + t / 3 - 1 / (t + 10) + abs(t) + t ** 2 + 2 ** t) @ t.T
        z = t.reshape(3, 2).sum() + t.reshape((6,)).mean() + t.astype("float64").sum()
        rows = [r for r in t]
        loss = ops.sum(y) + z + ops.sum(rows[1])
    assert isinstance(y, Tensor) and isinstance(rows[0], Tensor) and len(t) == 2
    assert t.shape == (2, 3) and t.ndim == 2 and t.dtype == np.float64 and t.size == 6
    assert_same(np.asarray(t), x)
    assert t.numpy() is not x and np.array_equal(t.numpy(), x)
    assert f"{ops.sum(np.ones(2)):.1f}" == "2.0" and f"{Tensor(np.array(2.0)):.2f}" == "2.00"
    assert float(Tensor(np.array(1.5))) == 1.5
    g = tape.gradient(loss, t)
    xs = [x.copy()]

    def f(a):
        y = ((1.0 - a) * 2 + a / 3 - 1 / (a + 10) + np.abs(a) + a ** 2 + 2 ** a) @ a.T
        return np.sum(y) + a.sum() + a.mean() + a.sum() + a[1].sum()

    num = numeric_vjp(lambda a: f(a), xs, [1.0])[0]
    assert_close(g, num, rtol=1e-5, atol=1e-6)


def test_numpy_array_on_the_left_dispatches_to_tensor(rng):
    t = Tensor(rng.normal(size=3))
    a = rng.normal(size=3)
    with GradientTape() as tape:
        tape.watch(t)
        y = a * t + a - t
    assert isinstance(y, Tensor)
    assert_close(tape.gradient(y, t), a - 1)


def test_released_graph_after_non_persistent_gradient(rng):
    t = Tensor(rng.normal(size=3))
    with GradientTape() as tape:
        tape.watch(t)
        y = ops.exp(t)
        loss = ops.sum(y)
    tape.gradient(loss, t)
    # A Tensor of a finished tape is a constant for a new tape.
    with GradientTape() as tape2:
        z = ops.sum(y * 2.0)
    assert type(z) is np.ndarray
    assert tape2.gradient(z, t) is None


def test_a_dropped_tape_and_its_graph_are_freed_without_the_garbage_collector(rng):
    """Nodes name their tape by a key, not by the tape: a tape and what its VJPs keep (a fused
    RNN's reserve, say) go as soon as the last reference does, not at the next collection."""
    import gc
    import weakref
    w = Variable(rng.normal(size=3))
    enabled = gc.isenabled()
    gc.disable()
    try:
        with GradientTape() as tape:
            y = ops.sum(ops.exp(w * 2.0))
        tape_ref, y_ref = weakref.ref(tape), weakref.ref(y)
        del tape, y
        assert tape_ref() is None and y_ref() is None
    finally:
        if enabled:
            gc.enable()


def test_stop_recording(rng):
    t = Tensor(rng.normal(size=3))
    with GradientTape() as tape:
        tape.watch(t)
        with tape.stop_recording():
            assert type(ops.exp(t)) is np.ndarray
        assert isinstance(ops.exp(t), Tensor)


def test_cast_gradient_dtype(rng):
    t = Tensor(rng.normal(size=3))
    with GradientTape() as tape:
        tape.watch(t)
        y = ops.cast(t, "float32")
        assert isinstance(y, Tensor) and y.dtype == np.float32
        loss = ops.sum(y * 2.0)
    g = tape.gradient(loss, t)
    assert g.dtype == np.float64
    assert_close(g, [2.0, 2.0, 2.0])


# -- gradients on every array library (the strict CPU stand-in for a GPU, and CuPy) ----------

from device_op_cases import CASES as DEVICE_CASES  # noqa: E402
from device_params import LIBRARIES, on, strict_registered  # noqa: E402,F401

_DIFFERENTIABLE = sorted(
    name for name, (fn, arrays) in DEVICE_CASES.items()
    if arrays[0].dtype.kind == "f" and np.asarray(fn(ops, *arrays)).dtype.kind == "f")


@pytest.mark.parametrize("name", _DIFFERENTIABLE)
@pytest.mark.parametrize("library", LIBRARIES)
def test_gradient_on_each_array_library(library, name, strict_registered):
    """The gradient of `sum(op(...))` with respect to every float input, taken on the
    library's arrays, stays there and equals the NumPy gradient (bit for bit on the strict
    library, which runs the same NumPy code)."""
    dev = on(library)
    fn, arrays = DEVICE_CASES[name]
    results = []
    for put, check in ((lambda a: a, None), (dev.put, dev)):
        inputs = [Variable(put(a)) if a.dtype.kind == "f" else put(a) for a in arrays]
        watched = [v for v in inputs if isinstance(v, Variable)]
        with GradientTape() as tape:
            loss = ops.sum(fn(ops, *inputs))
        grads = tape.gradient(loss, watched)
        if check is not None:
            assert all(g is None or check.is_native(g) for g in grads)
        results.append([None if g is None else dev.host(g) for g in grads])
    tolerance = dict(rtol=0, atol=0) if library != "cupy" else dict(rtol=1e-5, atol=1e-6)
    for got, want in zip(*results):
        assert (got is None) == (want is None)
        if want is not None:
            np.testing.assert_allclose(got, want, **tolerance)
