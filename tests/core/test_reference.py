"""Sanity checks of the NumPy reference itself (no C++ core needed)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from helpers import (VARIANT_IDS, VARIANTS, make_case, make_dropout, make_states, make_weights,
                      make_x, numeric_gradient)
from reference import (ACTIVATION_ALIASES, ACTIVATION_KINKS, ACTIVATIONS, GATES,
                       canonical_activation, reference_forward)
from helpers import assert_close, assert_same  # noqa: E402


def sig(v):
    return 1.0 / (1.0 + math.exp(-v))


# ------------------------------------------------------------------ hand-computed cells


def test_simple_rnn_by_hand():
    # I = 2, H = 1, T = 2, B = 1.
    kernel = np.array([[0.5], [-0.3]])
    recurrent = np.array([[0.8]])
    bias = np.array([0.1])
    x = np.array([[[1.0, 2.0], [-1.0, 0.5]]])
    h1 = math.tanh(0.5 * 1 - 0.3 * 2 + 0.1)
    h2 = math.tanh(0.5 * -1 - 0.3 * 0.5 + 0.1 + 0.8 * h1)
    out, (h,) = reference_forward("simple_rnn", x, kernel, recurrent, bias, return_sequences=True)
    assert_close(out[0, :, 0], [h1, h2], rtol=0, atol=1e-15)
    assert_close(h[0, 0], h2, rtol=0, atol=1e-15)


def test_lstm_by_hand():
    # I = 1, H = 1, B = 1, T = 2; gate order i, f, c, o.
    wi, wf, wc, wo = 0.5, -0.4, 0.9, 0.3
    ri, rf, rc, ro = 0.2, 0.7, -0.6, 0.1
    bi, bf, bc, bo = 0.05, 1.0, -0.1, 0.2
    kernel = np.array([[wi, wf, wc, wo]])
    recurrent = np.array([[ri, rf, rc, ro]])
    bias = np.array([bi, bf, bc, bo])
    xs = [0.7, -1.2]
    h0, c0 = 0.3, -0.5
    h, c = h0, c0
    outs = []
    for xv in xs:
        i = sig(wi * xv + ri * h + bi)
        f = sig(wf * xv + rf * h + bf)
        g = math.tanh(wc * xv + rc * h + bc)
        o = sig(wo * xv + ro * h + bo)
        c = f * c + i * g
        h = o * math.tanh(c)
        outs.append(h)
    x = np.array(xs).reshape(1, 2, 1)
    out, (hf, cf) = reference_forward("lstm", x, kernel, recurrent, bias,
                                      initial_state=[np.array([[h0]]), np.array([[c0]])],
                                      return_sequences=True)
    assert_close(out[0, :, 0], outs, rtol=0, atol=1e-15)
    assert_close([hf[0, 0], cf[0, 0]], [h, c], rtol=0, atol=1e-15)


@pytest.mark.parametrize("reset_after", [True, False])
def test_gru_by_hand(reset_after):
    # I = 1, H = 1, B = 1, T = 2; gate order z, r, h.
    wz, wr, wh = 0.4, -0.7, 1.1
    rz, rr, rh = 0.3, 0.5, -0.8
    bz, br, bh = 0.1, -0.2, 0.05
    rbz, rbr, rbh = -0.15, 0.25, 0.3
    kernel = np.array([[wz, wr, wh]])
    recurrent = np.array([[rz, rr, rh]])
    if reset_after:
        bias = np.array([[bz, br, bh], [rbz, rbr, rbh]])
    else:
        bias = np.array([bz, br, bh])
        rbz = rbr = rbh = 0.0
    xs = [0.9, -0.4]
    h = 0.6
    h0 = h
    for xv in xs:
        z = sig(wz * xv + bz + rz * h + rbz)
        r = sig(wr * xv + br + rr * h + rbr)
        if reset_after:
            n = math.tanh(wh * xv + bh + r * (rh * h + rbh))
        else:
            n = math.tanh(wh * xv + bh + rh * (r * h))
        h = z * h + (1 - z) * n
    x = np.array(xs).reshape(1, 2, 1)
    out, (hf,) = reference_forward("gru", x, kernel, recurrent, bias, reset_after=reset_after,
                                   initial_state=[np.array([[h0]])])
    assert_close([out[0, 0], hf[0, 0]], [h, h], rtol=0, atol=1e-15)


def test_gru_reset_after_variants_differ(rng):
    kernel, recurrent, _ = make_weights(rng, "gru", 3, 4, use_bias=False)
    x = make_x(rng, 2, 6, 3)
    a, _ = reference_forward("gru", x, kernel, recurrent, None, reset_after=True,
                             return_sequences=True)
    b, _ = reference_forward("gru", x, kernel, recurrent, None, reset_after=False,
                             return_sequences=True)
    assert np.abs(a - b).max() > 1e-3
    # reset_after=True with a zero recurrent bias row equals no bias at all.
    bias = np.zeros((2, 12))
    c, _ = reference_forward("gru", x, kernel, recurrent, bias, reset_after=True,
                             return_sequences=True)
    assert_same(a, c)


# ------------------------------------------------------------------ masking


@pytest.mark.parametrize("variant", VARIANTS, ids=VARIANT_IDS)
@pytest.mark.parametrize("zero_output_for_mask", [False, True])
def test_right_padding_equals_truncated(rng, variant, zero_output_for_mask):
    cell, reset_after = variant
    B, T, I, H = 3, 6, 3, 4
    (c, x, k, r, b), kw = make_case(rng, cell, B, T, I, H, reset_after=reset_after,
                                    initial_state=True)
    lengths = [6, 2, 4]
    mask = np.arange(T)[None, :] < np.array(lengths)[:, None]
    out, states = reference_forward(c, x, k, r, b, initial_state=kw["initial_state"],
                                    reset_after=reset_after, mask=mask, return_sequences=True,
                                    zero_output_for_mask=zero_output_for_mask)
    last, _ = reference_forward(c, x, k, r, b, initial_state=kw["initial_state"],
                                reset_after=reset_after, mask=mask,
                                zero_output_for_mask=zero_output_for_mask)
    for row, L in enumerate(lengths):
        init = [s[row:row + 1] for s in kw["initial_state"]]
        o1, s1 = reference_forward(c, x[row:row + 1, :L], k, r, b, initial_state=init,
                                   reset_after=reset_after, return_sequences=True)
        assert_close(out[row, :L], o1[0], rtol=0, atol=1e-14)
        for sa, sb in zip(states, s1):
            assert_close(sa[row], sb[0], rtol=0, atol=1e-14)
        pad = 0.0 if zero_output_for_mask else o1[0, -1]
        assert_close(out[row, L:], np.broadcast_to(pad, out[row, L:].shape),
                     rtol=0, atol=1e-14)
        # Padded positions repeat the last valid output exactly (or are exactly 0).
        assert_same(out[row, L:],
                    np.broadcast_to(out[row, L - 1] * (not zero_output_for_mask),
                                    out[row, L:].shape))
        expected_last = o1[0, -1] if L == T or not zero_output_for_mask else 0.0
        assert_close(last[row], np.broadcast_to(expected_last, (H,)), atol=1e-14)


@pytest.mark.parametrize("variant", VARIANTS, ids=VARIANT_IDS)
def test_left_padding_equals_unpadded(rng, variant):
    cell, reset_after = variant
    B, T, I, H = 2, 5, 2, 3
    (c, x, k, r, b), kw = make_case(rng, cell, B, T, I, H, reset_after=reset_after,
                                    initial_state=True)
    mask = np.array([[0, 0, 1, 1, 1], [0, 1, 1, 1, 1]], dtype=bool)
    out, states = reference_forward(c, x, k, r, b, initial_state=kw["initial_state"],
                                    reset_after=reset_after, mask=mask, return_sequences=True)
    for row in range(B):
        start = int(np.argmax(mask[row]))
        init = [s[row:row + 1] for s in kw["initial_state"]]
        o1, s1 = reference_forward(c, x[row:row + 1, start:], k, r, b, initial_state=init,
                                   reset_after=reset_after, return_sequences=True)
        # Leading masked steps output zeros, even with a non-zero initial state.
        assert_same(out[row, :start], 0.0)
        assert_close(out[row, start:], o1[0], atol=1e-14)
        for sa, sb in zip(states, s1):
            assert_close(sa[row], sb[0], atol=1e-14)


@pytest.mark.parametrize("variant", VARIANTS, ids=VARIANT_IDS)
def test_holes_skip_steps(rng, variant):
    cell, reset_after = variant
    B, T, I, H = 3, 7, 3, 2
    (c, x, k, r, b), kw = make_case(rng, cell, B, T, I, H, reset_after=reset_after,
                                    initial_state=True, mask="holes")
    mask = kw["mask"]
    out, states = reference_forward(c, x, k, r, b, initial_state=kw["initial_state"],
                                    reset_after=reset_after, mask=mask, return_sequences=True)
    for row in range(B):
        keep = np.flatnonzero(mask[row])
        init = [s[row:row + 1] for s in kw["initial_state"]]
        o1, s1 = reference_forward(c, x[row:row + 1, keep], k, r, b, initial_state=init,
                                   reset_after=reset_after, return_sequences=True)
        assert_close(out[row, keep], o1[0], atol=1e-14)
        for sa, sb in zip(states, s1):
            assert_close(sa[row], sb[0], atol=1e-14)
        # A hole repeats the previous output (zeros before the first real step).
        for t in range(T):
            if not mask[row, t]:
                prev = out[row, t - 1] if t > 0 else np.zeros(H)
                assert_same(out[row, t], prev)


@pytest.mark.parametrize("variant", VARIANTS, ids=VARIANT_IDS)
def test_all_masked_row_keeps_initial_state(rng, variant):
    cell, reset_after = variant
    (c, x, k, r, b), kw = make_case(rng, cell, 2, 4, 3, 3, reset_after=reset_after,
                                    initial_state=True)
    mask = np.array([[0, 0, 0, 0], [1, 0, 1, 1]], dtype=bool)
    for zero in (False, True):
        out, states = reference_forward(c, x, k, r, b, initial_state=kw["initial_state"],
                                        reset_after=reset_after, mask=mask,
                                        return_sequences=True, zero_output_for_mask=zero)
        assert_same(out[0], 0.0)
        for s, s0 in zip(states, kw["initial_state"]):
            assert_same(s[0], s0[0])


@pytest.mark.parametrize("variant", VARIANTS, ids=VARIANT_IDS)
@pytest.mark.parametrize("mask_pattern", ["none", "right", "holes"])
def test_go_backwards_equals_flipped_input(rng, variant, mask_pattern):
    cell, reset_after = variant
    (c, x, k, r, b), kw = make_case(rng, cell, 3, 5, 2, 3, reset_after=reset_after,
                                    initial_state=True, mask=mask_pattern,
                                    input_dropout="shared", recurrent_dropout="per_gate")
    mask = kw.pop("mask")
    flipped_mask = None if mask is None else mask[:, ::-1]
    for rs in (False, True):
        o1, s1 = reference_forward(c, x, k, r, b, mask=mask, go_backwards=True,
                                   return_sequences=rs, **kw)
        o2, s2 = reference_forward(c, x[:, ::-1], k, r, b, mask=flipped_mask,
                                   return_sequences=rs, **kw)
        assert_same(o1, o2)   # processing order, not flipped back
        for a, bb in zip(s1, s2):
            assert_same(a, bb)


# ------------------------------------------------------------------ dropout


@pytest.mark.parametrize("variant", VARIANTS, ids=VARIANT_IDS)
def test_equal_per_gate_masks_equal_shared(rng, variant):
    cell, reset_after = variant
    G = GATES[cell]
    (c, x, k, r, b), kw = make_case(rng, cell, 3, 4, 3, 2, reset_after=reset_after,
                                    initial_state=True, input_dropout="shared",
                                    recurrent_dropout="shared")
    o1, s1 = reference_forward(c, x, k, r, b, return_sequences=True, **kw)
    kw["input_dropout_mask"] = np.stack([kw["input_dropout_mask"]] * G)
    kw["recurrent_dropout_mask"] = np.stack([kw["recurrent_dropout_mask"]] * G)
    o2, s2 = reference_forward(c, x, k, r, b, return_sequences=True, **kw)
    assert_same(o1, o2)
    for a, bb in zip(s1, s2):
        assert_same(a, bb)


@pytest.mark.parametrize("variant", VARIANTS, ids=VARIANT_IDS)
def test_zero_dropout_row_equals_zero_weight_block(rng, variant):
    """Per-gate semantics: zeroing gate k's input (recurrent) mask equals zeroing gate k's block of
    the kernel (recurrent kernel), GRU's z*h term and LSTM's c never being dropped."""
    cell, reset_after = variant
    G = GATES[cell]
    B, T, I, H = 2, 4, 3, 3
    (c, x, k, r, b), kw = make_case(rng, cell, B, T, I, H, reset_after=reset_after,
                                    initial_state=True)
    for gate in range(G):
        for which in ("input", "recurrent"):
            n = I if which == "input" else H
            m = np.ones((G, B, n))
            m[gate] = 0.0
            k2, r2 = k.copy(), r.copy()
            target = k2 if which == "input" else r2
            target[:, gate * H:(gate + 1) * H] = 0.0
            o1, s1 = reference_forward(c, x, k, r, b, return_sequences=True,
                                       **{**kw, f"{which}_dropout_mask": m})
            o2, s2 = reference_forward(c, x, k2, r2, b, return_sequences=True, **kw)
            assert_close(o1, o2, atol=1e-15)
            for a, bb in zip(s1, s2):
                assert_close(a, bb, atol=1e-15)


def test_shared_dropout_scales_inputs(rng):
    # A shared input mask equals multiplying x itself by it at every step.
    (c, x, k, r, b), kw = make_case(rng, "lstm", 2, 3, 4, 3, initial_state=True)
    del kw["input_dropout_mask"]
    m = make_dropout(rng, "shared", 4, 2, 4)
    o1, _ = reference_forward(c, x, k, r, b, input_dropout_mask=m, **kw)
    o2, _ = reference_forward(c, x * m[:, None, :], k, r, b, **kw)
    assert_close(o1, o2, atol=1e-15)


# ------------------------------------------------------------------ activations and dtypes


def test_activation_known_values():
    A = {name: (lambda v, f=f: float(f(np.array(v, dtype=np.float64)))) for name, f in
         ACTIVATIONS.items()}
    e = math.e
    checks = {
        ("linear", -2.5): -2.5,
        ("tanh", 0.5): math.tanh(0.5),
        ("sigmoid", 0.0): 0.5,
        ("sigmoid", -800.0): 0.0,
        ("sigmoid", 800.0): 1.0,
        ("hard_sigmoid", 1.0): 2.0 / 3.0,          # Keras 3, not 0.7
        ("hard_sigmoid", -4.0): 0.0,
        ("hard_sigmoid", 3.5): 1.0,
        ("hard_silu", 1.0): 2.0 / 3.0,
        ("hard_silu", -1.0): -1.0 / 3.0,
        ("relu", -1.0): 0.0,
        ("relu6", 7.0): 6.0,
        ("leaky_relu", -1.0): -0.2,
        ("leaky_relu", 2.0): 2.0,
        ("elu", -1.0): 1 / e - 1,
        ("selu", -1.0): 1.0507009873554805 * 1.6732632423543772 * (1 / e - 1),
        ("selu", 2.0): 2 * 1.0507009873554805,
        ("celu", -1.0): 1 / e - 1,
        ("celu", 1.5): 1.5,
        ("softplus", 0.0): math.log(2.0),
        ("softsign", 3.0): 0.75,
        ("silu", 1.0): 1 / (1 + 1 / e),
        ("gelu", 1.0): 0.8413447460685429,
        ("gelu", -1.0): -0.15865525393145707,
        ("exponential", 1.0): e,
        ("mish", 1.0): math.tanh(math.log(1 + e)),
        ("log_sigmoid", 0.0): -math.log(2.0),
        ("hard_tanh", -3.0): -1.0,
        ("tanh_shrink", 1.0): 1 - math.tanh(1.0),
        ("squareplus", 0.0): 1.0,
        ("squareplus", 1.5): (1.5 + math.sqrt(1.5 ** 2 + 4)) / 2,
        ("sparse_plus", 0.0): 0.25,
        ("sparse_plus", -1.5): 0.0,
        ("sparse_plus", 2.0): 2.0,
        ("sparse_sigmoid", 0.0): 0.5,
        ("sparse_sigmoid", 1.5): 1.0,
        ("soft_shrink", 0.7): 0.2,
        ("soft_shrink", -0.7): -0.2,
        ("soft_shrink", 0.3): 0.0,
        ("hard_shrink", 0.4): 0.0,
        ("hard_shrink", -0.6): -0.6,
    }
    for (name, v), expected in checks.items():
        assert A[name](v) == pytest.approx(expected, rel=1e-14, abs=1e-15), (name, v)
    assert {n for n, _ in checks} == set(ACTIVATIONS)


def test_activation_names():
    assert len(ACTIVATIONS) == 25
    for alias, target in ACTIVATION_ALIASES.items():
        assert canonical_activation(alias) == target
    assert canonical_activation(None) == "linear"
    with pytest.raises(ValueError):
        canonical_activation("no_such_activation")
    assert set(ACTIVATION_KINKS) <= set(ACTIVATIONS)


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_activation_continuity(name):
    # Every activation but hard_shrink is continuous, so at its kinks too.
    f = ACTIVATIONS[name]
    if name == "hard_shrink":
        return
    for p in ACTIVATION_KINKS.get(name, ()) + (-1.0, 0.0, 1.0):
        lo, hi = f(np.array(p - 1e-9)), f(np.array(p + 1e-9))
        assert abs(float(hi) - float(lo)) < 1e-8, (name, p)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("variant", VARIANTS, ids=VARIANT_IDS)
def test_output_dtype_and_shapes(rng, dtype, variant):
    cell, reset_after = variant
    (c, x, k, r, b), kw = make_case(rng, cell, 2, 3, 4, 5, reset_after=reset_after, dtype=dtype)
    out, states = reference_forward(c, x, k, r, b, return_sequences=True, **kw)
    assert out.dtype == dtype and out.shape == (2, 3, 5)
    assert len(states) == (2 if cell == "lstm" else 1)
    assert all(s.dtype == dtype and s.shape == (2, 5) for s in states)
    last, _ = reference_forward(c, x, k, r, b, **kw)
    assert last.shape == (2, 5)
    assert_same(last, out[:, -1])
    assert_same(last, states[0])    # no mask: last output == final h


def test_numeric_gradient_helper():
    # Linear SimpleRNN over one step: output = x W + h0 R + b, so dL/dW = x^T W_out, etc.
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2, 1, 3))
    k, r, b = make_weights(rng, "simple_rnn", 3, 2)
    h0 = make_states(rng, "simple_rnn", 2, 2)[0]
    w_out = rng.normal(size=(2, 2))

    def loss():
        out, _ = reference_forward("simple_rnn", x, k, r, b, initial_state=[h0],
                                   activation="linear")
        return float(np.sum(out * w_out))

    assert_close(numeric_gradient(loss, k), x[:, 0].T @ w_out, atol=1e-8)
    assert_close(numeric_gradient(loss, r), h0.T @ w_out, atol=1e-8)
    assert_close(numeric_gradient(loss, b), w_out.sum(0), atol=1e-8)
    assert_close(numeric_gradient(loss, h0), w_out @ r.T, atol=1e-8)
