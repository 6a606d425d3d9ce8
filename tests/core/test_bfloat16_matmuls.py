"""`rnn_forward(..., bfloat16_matmuls=True)`: on a CPU with AMX-BF16 the GEMMs multiply bfloat16
roundings of both factors (x, the kernels, h_{t-1}) and sum in float32; elsewhere (or with
RNNKIT_AMX=0) the option changes nothing. Checked against tests/reference.py with the factors
rounded, and against the float32 path."""

import os
import subprocess
import sys

import numpy as np
import pytest

import rnnkit
from rnnkit import core
from reference import GATES, reference_forward

ml_dtypes = pytest.importorskip("ml_dtypes")
BF16 = np.dtype(ml_dtypes.bfloat16)
AMX = rnnkit._core.build_info()["amx_bf16"]
needs_amx = pytest.mark.skipif(not AMX, reason="this CPU (or build) has no AMX-BF16 tiles: "
                               "bfloat16_matmuls computes in float32 here")


def to_bf16(a):
    """`a` rounded to bfloat16 (to nearest, ties to even), as float64."""
    return np.asarray(a, np.float32).astype(BF16).astype(np.float64)


def weights(rng, cell, I, H, reset_after=True, scale=0.2):
    G = GATES[cell]
    kernel = rng.uniform(-scale, scale, (I, G * H)).astype(np.float32)
    recurrent = rng.uniform(-scale, scale, (H, G * H)).astype(np.float32)
    shape = (2, G * H) if cell == "gru" and reset_after else (G * H,)
    bias = rng.uniform(-0.3, 0.3, shape).astype(np.float32)
    return kernel, recurrent, bias


# Batches and sizes around the tiles: 16 and 32 rows, 32 columns, 32 k.
SHAPES = [(1, 5, 3), (5, 13, 40), (17, 70, 48), (33, 64, 64), (40, 33, 100)]


@pytest.mark.parametrize("B,I,H", SHAPES)
def test_one_step_is_the_product_of_the_rounded_factors(rng, B, I, H):
    """One linear step from a given state: x W + h0 R + b, each product over bfloat16 roundings
    (with AMX; float32 factors without), summed in float32."""
    x = rng.uniform(-1, 1, (B, 1, I)).astype(np.float32)
    h0 = rng.uniform(-1, 1, (B, H)).astype(np.float32)
    kernel, recurrent, bias = weights(rng, "simple_rnn", I, H)
    got = core.rnn_forward("simple_rnn", x, kernel, recurrent, bias, initial_state=[h0],
                           activation=None, bfloat16_matmuls=True).output
    factor = to_bf16 if AMX else (lambda a: np.asarray(a, np.float64))
    want = factor(x[:, 0]) @ factor(kernel) + factor(h0) @ factor(recurrent) + bias
    scale = np.abs(factor(x[:, 0])) @ np.abs(factor(kernel)) + \
        np.abs(factor(h0)) @ np.abs(factor(recurrent)) + np.abs(bias)
    # float32 accumulation: within a few float32 roundings of the sum of magnitudes
    assert np.all(np.abs(got - want) <= 4 * 2.0 ** -24 * (I + H) ** 0.5 * scale + 1e-30)


@pytest.mark.parametrize("B,I,H", SHAPES)
def test_backward_products_are_those_of_the_rounded_factors(rng, B, I, H):
    """One linear step: the pre-activation's gradient is d_output, so d_kernel = x^T g,
    d_recurrent_kernel = h0^T g and d_x = g W^T, each over bfloat16 roundings with AMX."""
    x = rng.uniform(-1, 1, (B, 1, I)).astype(np.float32)
    h0 = rng.uniform(-1, 1, (B, H)).astype(np.float32)
    kernel, recurrent, bias = weights(rng, "simple_rnn", I, H)
    g_out = rng.uniform(-1, 1, (B, H)).astype(np.float32)
    options = dict(initial_state=[h0], activation=None)
    fwd = core.rnn_forward("simple_rnn", x, kernel, recurrent, bias, training=True,
                           bfloat16_matmuls=True, **options)
    got = core.rnn_backward("simple_rnn", x, kernel, recurrent, bias, reserve=fwd.reserve,
                            d_output=g_out, bfloat16_matmuls=True, **options)
    factor = to_bf16 if AMX else (lambda a: np.asarray(a, np.float64))
    cases = ((got.d_kernel, factor(x[:, 0]).T, factor(g_out)),
             (got.d_recurrent_kernel, factor(h0).T, factor(g_out)),
             (got.d_x[:, 0], factor(g_out), factor(kernel).T))
    for result, a, b in cases:
        want = a @ b
        scale = np.abs(a) @ np.abs(b)
        assert np.all(np.abs(result - want) <= 4 * 2.0 ** -24 * a.shape[1] ** 0.5 * scale)


CASES = [
    ("lstm", {}),
    ("gru", {"reset_after": True}),
    ("gru", {"reset_after": False}),
    ("simple_rnn", {}),
    ("lstm", {"go_backwards": True, "masked": True}),
    ("gru", {"reset_after": False, "dropout": "shared"}),
    ("lstm", {"dropout": "per_gate"}),
]


def case_arrays(rng, cell, options, B=5, T=6, I=13, H=40):
    reset_after = options.get("reset_after", True)
    kernel, recurrent, bias = weights(rng, cell, I, H, reset_after)
    x = rng.uniform(-1, 1, (B, T, I)).astype(np.float32)
    n_states = 2 if cell == "lstm" else 1
    states = [rng.uniform(-0.8, 0.8, (B, H)).astype(np.float32) for _ in range(n_states)]
    extra = {"reset_after": reset_after, "go_backwards": options.get("go_backwards", False),
             "return_sequences": True, "initial_state": states}
    if options.get("masked"):
        mask = np.ones((B, T), bool)
        mask[1, 3:] = False
        mask[3, :2] = False
        extra["mask"] = mask
    if options.get("dropout"):
        G = GATES[cell]
        lead = () if options["dropout"] == "shared" else (G,)
        extra["input_dropout_mask"] = (rng.uniform(size=lead + (B, I)) > 0.3) / 0.7
        extra["recurrent_dropout_mask"] = (rng.uniform(size=lead + (B, H)) > 0.3) / 0.7
        extra["input_dropout_mask"] = extra["input_dropout_mask"].astype(np.float32)
        extra["recurrent_dropout_mask"] = extra["recurrent_dropout_mask"].astype(np.float32)
    return x, kernel, recurrent, bias, extra


class _RecurrentOnly:
    """product_operand rounding the recurrent products' factors (h_{t-1}, r * h_{t-1}, the
    [H, H] blocks of R) and leaving the input projection's (x_t, the [I, H] blocks of the
    kernel) as they are: per-gate input dropout masks, a core-API form, keep the projection
    on the float32 GEMM."""

    def __init__(self, input_size):
        self.input_size = input_size

    def __call__(self, a):
        if a.shape[-1] == self.input_size or a.shape[0] == self.input_size:
            return a
        return to_bf16(a)


@needs_amx
@pytest.mark.parametrize("cell,options", CASES)
def test_sequence_rounds_every_factor_and_keeps_the_state_in_float32(rng, cell, options):
    """Over a sequence: the reference with every product's factors rounded to bfloat16 (h_{t-1}
    included; the state, the gates and the outputs in float64) is within float32 rounding,
    and the plain reference is much further off."""
    x, kernel, recurrent, bias, extra = case_arrays(rng, cell, options)
    got = core.rnn_forward(cell, x, kernel, recurrent, bias, bfloat16_matmuls=True, **extra)
    per_gate_input = options.get("dropout") == "per_gate"
    operand = _RecurrentOnly(x.shape[-1]) if per_gate_input else to_bf16
    want_out, want_states = reference_forward(cell, x.astype(np.float64), kernel, recurrent,
                                              bias, product_operand=operand, **extra)
    plain_out, _ = reference_forward(cell, x.astype(np.float64), kernel, recurrent, bias,
                                     **extra)
    err = np.abs(got.output - want_out)
    far = np.abs(got.output - plain_out)
    # A state within float32 rounding of a bfloat16 rounding boundary may round the other way
    # in float32 than in float64 (one bfloat16 step of one factor): rare, hence quantiles.
    assert np.quantile(err, 0.98) <= 2e-6, np.quantile(err, 0.98)
    assert err.max() <= 2e-3, err.max()
    assert np.quantile(far, 0.5) > 10 * max(np.quantile(err, 0.5), 1e-7)
    for g, w in zip(got.states, want_states):
        assert np.quantile(np.abs(g - w), 0.98) <= 2e-6


@pytest.mark.parametrize("cell,options", CASES)
def test_backward_within_bfloat16_error_of_float32(rng, cell, options):
    """Every gradient of the backward with bfloat16 products (outside the time loop and the
    loop's dh_{t-1} = dA_t R^T, gate by gate) within a few bfloat16 roundings (relative,
    Frobenius) of the float32 backward on the same reserve; bit-identical without AMX."""
    x, kernel, recurrent, bias, extra = case_arrays(rng, cell, options, B=37, T=5, I=20, H=45)
    fwd = core.rnn_forward(cell, x, kernel, recurrent, bias, training=True,
                           bfloat16_matmuls=True, **extra)
    d_output = rng.uniform(-1, 1, fwd.output.shape).astype(np.float32)
    d_states = [rng.uniform(-1, 1, s.shape).astype(np.float32) for s in fwd.states]
    grads = [core.rnn_backward(cell, x, kernel, recurrent, bias, reserve=fwd.reserve,
                               d_output=d_output, d_states=d_states, bfloat16_matmuls=b16,
                               **extra) for b16 in (False, True)]
    plain, mixed = ([g.d_x, *g.d_initial_state, g.d_kernel, g.d_recurrent_kernel, g.d_bias]
                    for g in grads)
    for want, got in zip(plain, mixed):
        if not AMX:
            np.testing.assert_array_equal(got, want)
            continue
        rel = np.linalg.norm(got - want) / np.linalg.norm(want)
        assert 0 < rel <= 8 * 2.0 ** -9, rel


@pytest.mark.parametrize("cell", ["lstm", "gru", "simple_rnn"])
def test_training_reserve_serves_the_float32_backward(rng, cell):
    """The reserve of a bfloat16_matmuls forward feeds rnn_backward (float32): same outputs as
    inference, finite gradients of the right shapes."""
    x, kernel, recurrent, bias, extra = case_arrays(rng, cell, {}, B=34, T=4, I=20, H=33)
    infer = core.rnn_forward(cell, x, kernel, recurrent, bias, bfloat16_matmuls=True, **extra)
    train = core.rnn_forward(cell, x, kernel, recurrent, bias, bfloat16_matmuls=True,
                             training=True, **extra)
    np.testing.assert_array_equal(infer.output, train.output)
    g = core.rnn_backward(cell, x, kernel, recurrent, bias, reserve=train.reserve,
                          d_output=np.ones_like(train.output), **extra)
    for got, like in ((g.d_x, x), (g.d_kernel, kernel), (g.d_recurrent_kernel, recurrent)):
        assert got.shape == like.shape and np.all(np.isfinite(got))


def test_same_bits_for_one_and_two_threads(rng):
    x, kernel, recurrent, bias, extra = case_arrays(rng, "lstm", {}, B=70, T=5, I=40, H=96)
    before = rnnkit.get_num_threads()
    results = []
    try:
        for threads in (1, 2):
            rnnkit.set_num_threads(threads)
            results.append(core.rnn_forward("lstm", x, kernel, recurrent, bias,
                                            bfloat16_matmuls=True, **extra).output)
    finally:
        rnnkit.set_num_threads(before)
    np.testing.assert_array_equal(results[0], results[1])


def test_refused_for_float64():
    x = np.zeros((2, 3, 4))
    kernel, recurrent = np.zeros((4, 20)), np.zeros((5, 20))
    with pytest.raises(ValueError, match="bfloat16_matmuls needs float32"):
        core.rnn_forward("lstm", x, kernel, recurrent, bfloat16_matmuls=True)
    fwd = core.rnn_forward("lstm", x, kernel, recurrent, training=True)
    with pytest.raises(ValueError, match="bfloat16_matmuls needs float32"):
        core.rnn_backward("lstm", x, kernel, recurrent, reserve=fwd.reserve,
                          d_output=np.zeros((2, 5)), bfloat16_matmuls=True)


def test_without_amx_the_option_changes_nothing():
    """RNNKIT_AMX=0 (or a CPU without AMX): the same bits as the float32 call."""
    code = (
        "import numpy as np, rnnkit\n"
        "from rnnkit import core\n"
        "assert not rnnkit._core.build_info()['amx_bf16']\n"
        "rng = np.random.default_rng(3)\n"
        "x = rng.uniform(-1, 1, (33, 7, 20)).astype(np.float32)\n"
        "k = rng.uniform(-.3, .3, (20, 160)).astype(np.float32)\n"
        "r = rng.uniform(-.3, .3, (40, 160)).astype(np.float32)\n"
        "a = core.rnn_forward('lstm', x, k, r, return_sequences=True, training=True)\n"
        "b = core.rnn_forward('lstm', x, k, r, return_sequences=True, training=True,\n"
        "                     bfloat16_matmuls=True)\n"
        "assert np.array_equal(a.output, b.output)\n"
        "g = np.ones_like(a.output)\n"
        "ga = core.rnn_backward('lstm', x, k, r, reserve=a.reserve, d_output=g,\n"
        "                       return_sequences=True)\n"
        "gb = core.rnn_backward('lstm', x, k, r, reserve=b.reserve, d_output=g,\n"
        "                       return_sequences=True, bfloat16_matmuls=True)\n"
        "for u, v in zip(ga[:1] + ga[2:4], gb[:1] + gb[2:4]):\n"
        "    assert np.array_equal(u, v)\n"
        "print('ok')\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120, env=dict(os.environ, RNNKIT_AMX="0"))
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"
