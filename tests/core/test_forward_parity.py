"""rnnkit.core.rnn_forward against the NumPy reference."""

from __future__ import annotations


import numpy as np
import pytest

import rnnkit._core  # noqa: F401  (a broken build fails here rather than skipping)

import rnnkit  # noqa: E402
from rnnkit import core  # noqa: E402

from helpers import (option_grid, VARIANT_IDS, VARIANTS, make_case, make_mask,  # noqa: E402
                      make_x)
from reference import ACTIVATION_ALIASES, ACTIVATIONS, GATES, reference_forward  # noqa: E402
from helpers import assert_close, assert_same  # noqa: E402

DTYPES = [np.float32, np.float64]
DTYPE_IDS = ["f32", "f64"]


def tol(dtype, T=1):
    if dtype == np.float32:
        t = 1e-5 if T <= 20 else 2e-5
        return dict(rtol=t, atol=t)
    return dict(rtol=1e-12, atol=1e-12)


def run_both(args, kwargs):
    got = core.rnn_forward(*args, **kwargs)
    want_out, want_states = reference_forward(*args, **kwargs)
    return got, want_out, want_states


def check(args, kwargs, T=None):
    x = args[1]
    dtype = x.dtype
    got, want_out, want_states = run_both(args, kwargs)
    t = tol(dtype, x.shape[1] if T is None else T)
    assert got.output.dtype == dtype
    assert got.output.shape == want_out.shape
    assert_close(got.output, want_out, **t, err_msg="output")
    assert isinstance(got.states, list) and len(got.states) == len(want_states)
    for i, (g, w) in enumerate(zip(got.states, want_states)):
        assert g.dtype == dtype and g.shape == w.shape
        assert_close(g, w, **t, err_msg=f"state {i}")
    return got


# ------------------------------------------------------------------ option grid

@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("case", option_grid(20240601, sizes=True))
def test_option_grid(case, dtype):
    rng = np.random.default_rng(case["seed"])
    cell, reset_after = case["variant"]
    args, kw = make_case(rng, cell, case["B"], case["T"], case["I"], case["H"],
                         reset_after=reset_after, use_bias=case["use_bias"], dtype=dtype,
                         initial_state=case["initial_state"], mask=case["mask"],
                         input_dropout=case["input_dropout"],
                         recurrent_dropout=case["recurrent_dropout"])
    kw.update(go_backwards=case["go_backwards"], return_sequences=case["return_sequences"],
              zero_output_for_mask=case["zero_output_for_mask"])
    check(args, kw)


# ------------------------------------------------------------------ sizes

SIZES = [(B, T, I, H) for B in (1, 3) for T in (1, 4) for I in (1, 5) for H in (1, 3, 17)]
BIG_SIZES = [(4, 30, 16, 64), (7, 25, 33, 65), (2, 60, 8, 31)]


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("variant", VARIANTS, ids=VARIANT_IDS)
@pytest.mark.parametrize("sizes", SIZES + BIG_SIZES, ids=lambda s: "B{}T{}I{}H{}".format(*s))
def test_sizes(rng, sizes, variant, dtype):
    cell, reset_after = variant
    B, T, I, H = sizes
    args, kw = make_case(rng, cell, B, T, I, H, reset_after=reset_after, dtype=dtype,
                         initial_state=True, mask="holes" if T > 1 else "none")
    check(args, dict(kw, return_sequences=True))


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("variant", VARIANTS, ids=VARIANT_IDS)
@pytest.mark.parametrize("use_bias", [True, False], ids=["bias", "nobias"])
@pytest.mark.parametrize("initial_state", [False, True], ids=["h0zero", "h0"])
def test_bias_and_initial_state(rng, variant, use_bias, initial_state, dtype):
    cell, reset_after = variant
    args, kw = make_case(rng, cell, 3, 4, 3, 4, reset_after=reset_after, use_bias=use_bias,
                         dtype=dtype, initial_state=initial_state)
    check(args, dict(kw, return_sequences=True))


# ------------------------------------------------------------------ dropout


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("variant", VARIANTS, ids=VARIANT_IDS)
@pytest.mark.parametrize("input_dropout", [None, "shared", "per_gate"])
@pytest.mark.parametrize("recurrent_dropout", [None, "shared", "per_gate"])
@pytest.mark.parametrize("mask", ["none", "holes"])
def test_dropout(rng, variant, input_dropout, recurrent_dropout, mask, dtype):
    cell, reset_after = variant
    args, kw = make_case(rng, cell, 3, 5, 4, 3, reset_after=reset_after, dtype=dtype,
                         initial_state=True, mask=mask, input_dropout=input_dropout,
                         recurrent_dropout=recurrent_dropout)
    check(args, dict(kw, return_sequences=True))


@pytest.mark.parametrize("variant", VARIANTS, ids=VARIANT_IDS)
def test_per_gate_dropout_with_equal_rows_equals_shared(rng, variant):
    cell, reset_after = variant
    G = GATES[cell]
    args, kw = make_case(rng, cell, 3, 4, 3, 5, reset_after=reset_after, initial_state=True,
                         input_dropout="shared", recurrent_dropout="shared")
    kw["return_sequences"] = True
    a = core.rnn_forward(*args, **kw)
    kw["input_dropout_mask"] = np.stack([kw["input_dropout_mask"]] * G)
    kw["recurrent_dropout_mask"] = np.stack([kw["recurrent_dropout_mask"]] * G)
    b = core.rnn_forward(*args, **kw)
    assert_close(a.output, b.output, rtol=1e-13, atol=1e-13)
    for sa, sb in zip(a.states, b.states):
        assert_close(sa, sb, rtol=1e-13, atol=1e-13)


# SimpleRNN has one gate: per-gate and shared masks are the same thing there.
@pytest.mark.parametrize("variant", VARIANTS[1:], ids=VARIANT_IDS[1:])
def test_per_gate_dropout_differs_from_shared(rng, variant):
    """Different per-gate rows must not be collapsed onto one shared mask."""
    cell, reset_after = variant
    args, kw = make_case(rng, cell, 3, 4, 3, 5, reset_after=reset_after,
                         input_dropout="per_gate", recurrent_dropout="per_gate")
    kw["return_sequences"] = True
    got = check(args, kw)
    kw["input_dropout_mask"] = kw["input_dropout_mask"][0]
    kw["recurrent_dropout_mask"] = kw["recurrent_dropout_mask"][0]
    other = core.rnn_forward(*args, **kw)
    assert np.abs(got.output - other.output).max() > 1e-6


def test_simple_rnn_single_gate_per_gate_mask(rng):
    args, kw = make_case(rng, "simple_rnn", 2, 3, 4, 3, input_dropout="shared",
                         recurrent_dropout="shared")
    a = core.rnn_forward(*args, **kw, return_sequences=True)
    kw["input_dropout_mask"] = kw["input_dropout_mask"][None]
    kw["recurrent_dropout_mask"] = kw["recurrent_dropout_mask"][None]
    b = core.rnn_forward(*args, **kw, return_sequences=True)
    assert_close(a.output, b.output, rtol=1e-13, atol=1e-13)


# ------------------------------------------------------------------ activations

ALL_ACTIVATION_NAMES = sorted(ACTIVATIONS) + sorted(ACTIVATION_ALIASES) + [None]


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("variant", VARIANTS, ids=VARIANT_IDS)
@pytest.mark.parametrize("name", ALL_ACTIVATION_NAMES, ids=str)
def test_activation(rng, name, variant, dtype):
    cell, reset_after = variant
    args, kw = make_case(rng, cell, 3, 5, 3, 4, reset_after=reset_after, dtype=dtype,
                         initial_state=True, mask="holes")
    if name == "exponential" and cell == "simple_rnn":
        # h = exp(x W + h R) grows doubly exponentially: keep the recurrence contractive.
        args = args[:3] + ((args[3] * 0.25).astype(dtype),) + args[4:]
    out = check(args, dict(kw, activation=name, return_sequences=True)).output
    assert np.isfinite(out).all()


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("variant", VARIANTS[1:], ids=VARIANT_IDS[1:])
@pytest.mark.parametrize("name", ALL_ACTIVATION_NAMES, ids=str)
def test_recurrent_activation(rng, name, variant, dtype):
    cell, reset_after = variant
    args, kw = make_case(rng, cell, 3, 5, 3, 4, reset_after=reset_after, dtype=dtype,
                         initial_state=True, mask="holes")
    check(args, dict(kw, recurrent_activation=name, return_sequences=True))


def test_simple_rnn_ignores_recurrent_activation(rng):
    args, kw = make_case(rng, "simple_rnn", 2, 3, 3, 4)
    a = core.rnn_forward(*args, **kw, return_sequences=True)
    b = core.rnn_forward(*args, **kw, return_sequences=True, recurrent_activation="relu")
    assert_same(a.output, b.output)


@pytest.mark.parametrize("alias,name", sorted(ACTIVATION_ALIASES.items()) + [(None, "linear")])
def test_activation_aliases_identical(rng, alias, name):
    args, kw = make_case(rng, "lstm", 2, 3, 3, 4)
    a = core.rnn_forward(*args, **kw, activation=alias, recurrent_activation=alias)
    b = core.rnn_forward(*args, **kw, activation=name, recurrent_activation=name)
    assert_same(a.output, b.output)


# ------------------------------------------------------------------ masks


@pytest.mark.parametrize("variant", VARIANTS, ids=VARIANT_IDS)
def test_mask_dtypes(rng, variant):
    cell, reset_after = variant
    args, kw = make_case(rng, cell, 4, 6, 3, 3, reset_after=reset_after, initial_state=True,
                         mask="holes")
    m = kw.pop("mask")
    base = core.rnn_forward(*args, **kw, mask=m, return_sequences=True)
    for variant_mask in (m.astype(np.uint8), m.astype(np.int32), m.astype(np.float32),
                         m.astype(np.float64) * 3.0, m.tolist()):
        other = core.rnn_forward(*args, **kw, mask=variant_mask, return_sequences=True)
        assert_same(base.output, other.output)


@pytest.mark.parametrize("variant", VARIANTS, ids=VARIANT_IDS)
@pytest.mark.parametrize("zero_output_for_mask", [False, True])
@pytest.mark.parametrize("go_backwards", [False, True])
def test_all_masked_batch(rng, variant, zero_output_for_mask, go_backwards):
    cell, reset_after = variant
    args, kw = make_case(rng, cell, 3, 4, 3, 3, reset_after=reset_after, initial_state=True)
    kw.update(mask=np.zeros((3, 4), bool), zero_output_for_mask=zero_output_for_mask,
              go_backwards=go_backwards)
    for rs in (False, True):
        got = check(args, dict(kw, return_sequences=rs))
        assert_same(got.output, 0.0)
        for s, s0 in zip(got.states, kw["initial_state"]):
            assert_same(s, s0)


@pytest.mark.parametrize("variant", VARIANTS, ids=VARIANT_IDS)
def test_masked_steps_carry_states_bit_exactly(rng, variant):
    """Masked steps select the old state (where), no arithmetic: right padding gives bit-identical
    final states to running the core on the truncated row alone."""
    cell, reset_after = variant
    args, kw = make_case(rng, cell, 1, 6, 3, 4, reset_after=reset_after, initial_state=True)
    c, x, k, r, b = args
    kw.pop("mask")
    mask = np.array([[1, 1, 1, 0, 0, 0]], bool)
    padded = core.rnn_forward(c, x, k, r, b, **kw, mask=mask, return_sequences=True)
    short = core.rnn_forward(c, np.ascontiguousarray(x[:, :3]), k, r, b, **kw,
                             return_sequences=True)
    for a, bb in zip(padded.states, short.states):
        assert_same(a, bb)
    assert_same(padded.output[:, 3:], np.repeat(short.output[:, 2:3], 3, 1))


@pytest.mark.parametrize("variant", VARIANTS, ids=VARIANT_IDS)
def test_nan_in_masked_step_is_discarded(rng, variant):
    """The cell is evaluated at a masked step but its result is discarded with where(): NaN in x
    at a masked step must not reach the states or outputs."""
    cell, reset_after = variant
    args, kw = make_case(rng, cell, 2, 5, 3, 3, reset_after=reset_after, initial_state=True)
    x = args[1].copy()
    x[0, 2, :] = np.nan
    x[1, 4, 1] = np.inf
    mask = np.ones((2, 5), bool)
    mask[0, 2] = False
    mask[1, 4] = False
    args = (args[0], x) + args[2:]
    for zo in (False, True):
        got = check(args, dict(kw, mask=mask, return_sequences=True, zero_output_for_mask=zo))
        assert np.isfinite(got.output).all()
        assert all(np.isfinite(s).all() for s in got.states)


# ------------------------------------------------------------------ dtypes, determinism, threads


@pytest.mark.parametrize("variant", VARIANTS, ids=VARIANT_IDS)
def test_output_dtype_follows_input(rng, variant):
    cell, reset_after = variant
    args, kw = make_case(rng, cell, 2, 3, 3, 4, reset_after=reset_after, initial_state=True)
    res64 = core.rnn_forward(*args, **kw)
    cast = [None if a is None or isinstance(a, str) else a.astype(np.float32) for a in args]
    cast[0] = args[0]
    kw32 = dict(kw, initial_state=[s.astype(np.float32) for s in kw["initial_state"]])
    res32 = core.rnn_forward(*cast, **kw32)
    assert res64.output.dtype == np.float64 and res32.output.dtype == np.float32
    assert all(s.dtype == np.float64 for s in res64.states)
    assert all(s.dtype == np.float32 for s in res32.states)
    assert_close(res32.output, res64.output, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("variant", VARIANTS, ids=VARIANT_IDS)
def test_training_flag_does_not_change_output(rng, variant, dtype):
    cell, reset_after = variant
    args, kw = make_case(rng, cell, 3, 5, 4, 6, reset_after=reset_after, dtype=dtype,
                         initial_state=True, mask="holes", input_dropout="per_gate",
                         recurrent_dropout="shared")
    kw["return_sequences"] = True
    a = core.rnn_forward(*args, **kw, training=False)
    b = core.rnn_forward(*args, **kw, training=True)
    assert a.reserve is None
    assert isinstance(b.reserve, np.ndarray) and b.reserve.dtype == dtype
    t = dict(rtol=1e-6, atol=1e-6) if dtype == np.float32 else dict(rtol=1e-14, atol=1e-14)
    assert_close(a.output, b.output, **t)
    for sa, sb in zip(a.states, b.states):
        assert_close(sa, sb, **t)


def _shifted_copy(a, byte_offset):
    """A copy of `a` whose data starts `byte_offset` bytes past a 64-byte boundary (still
    aligned to the element size, so core.py passes it through without copying)."""
    buf = np.empty(a.nbytes + 128, np.uint8)
    start = (-buf.ctypes.data) % 64 + byte_offset
    out = buf[start:start + a.nbytes].view(a.dtype).reshape(a.shape)
    out[...] = a
    return out


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("variant", VARIANTS, ids=VARIANT_IDS)
@pytest.mark.parametrize("training", [False, True], ids=["infer", "train"])
@pytest.mark.parametrize("dropout", [None, "shared", "per_gate"])
@pytest.mark.parametrize("sizes", [(2, 3, 4, 5), (8, 20, 16, 32)],
                         ids=lambda s: "B{}T{}I{}H{}".format(*s))
def test_repeated_calls_bit_identical(rng, variant, dtype, training, dropout, sizes):
    """Documented determinism: the same inputs and thread count give bit-identical results,
    wherever the inputs and the buffers the core allocates happen to lie in memory."""
    cell, reset_after = variant
    args, kw = make_case(rng, cell, *sizes, reset_after=reset_after, dtype=dtype,
                         initial_state=True, mask="holes", input_dropout=dropout,
                         recurrent_dropout=dropout)
    kw["return_sequences"] = True
    first = core.rnn_forward(*args, **kw, training=training)
    heap = []
    item = np.dtype(dtype).itemsize
    for trial in range(8):
        heap.append(np.empty(int(rng.integers(1, 4096)), np.uint8))   # shift the heap
        offset = (trial * item) % 64
        moved = [args[0]] + [None if a is None else _shifted_copy(a, offset) for a in args[1:]]
        for call_args in (args, moved):
            again = core.rnn_forward(*call_args, **kw, training=training)
            assert_same(first.output, again.output,
                        err_msg=f"call {trial + 2}")
            for sa, sb in zip(first.states, again.states):
                assert_same(sa, sb)
            if training:
                assert_same(first.reserve, again.reserve)


def test_inputs_not_modified(rng):
    args, kw = make_case(rng, "lstm", 3, 4, 3, 4, initial_state=True, mask="holes",
                         input_dropout="per_gate", recurrent_dropout="shared")
    copies = [None if not isinstance(a, np.ndarray) else a.copy() for a in args]
    kw_copies = {k: (v.copy() if isinstance(v, np.ndarray) else
                     [s.copy() for s in v] if isinstance(v, list) else v) for k, v in kw.items()}
    core.rnn_forward(*args, **kw, training=True, return_sequences=True)
    for a, cpy in zip(args, copies):
        if cpy is not None:
            assert_same(a, cpy)
    for k, v in kw.items():
        if isinstance(v, np.ndarray):
            assert_same(v, kw_copies[k])
        elif isinstance(v, list):
            for s, sc in zip(v, kw_copies[k]):
                assert_same(s, sc)


@pytest.fixture
def restore_threads():
    before = rnnkit.get_num_threads()
    yield
    rnnkit.set_num_threads(0)
    assert rnnkit.get_num_threads() == before


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("variant", VARIANTS, ids=VARIANT_IDS)
def test_thread_count_does_not_change_results(rng, restore_threads, variant, dtype):
    cell, reset_after = variant
    args, kw = make_case(rng, cell, 16, 12, 24, 40, reset_after=reset_after, dtype=dtype,
                         initial_state=True, mask="holes", input_dropout="shared")
    kw["return_sequences"] = True
    rnnkit.set_num_threads(1)
    assert rnnkit.get_num_threads() == 1
    one = core.rnn_forward(*args, **kw)
    rnnkit.set_num_threads(2)
    assert rnnkit.get_num_threads() == 2
    two = core.rnn_forward(*args, **kw)
    assert_close(one.output, two.output, rtol=1e-6, atol=1e-6)
    for sa, sb in zip(one.states, two.states):
        assert_close(sa, sb, rtol=1e-6, atol=1e-6)
    # Same thread count: bit-identical (documented determinism).
    two_again = core.rnn_forward(*args, **kw)
    assert_same(two.output, two_again.output)
    assert_close(two.output, reference_forward(*args, **kw)[0], **tol(dtype))


# ------------------------------------------------------------------ non-finite inputs


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("variant", VARIANTS, ids=VARIANT_IDS)
def test_nan_propagates(rng, variant, dtype):
    cell, reset_after = variant
    args, kw = make_case(rng, cell, 3, 5, 3, 4, reset_after=reset_after, dtype=dtype,
                         initial_state=True)
    x = args[1].copy()
    x[1, 2, 0] = np.nan
    args = (args[0], x) + args[2:]
    got = core.rnn_forward(*args, **kw, return_sequences=True)
    assert np.isnan(got.output[1, 2:]).all()          # from the NaN step on, in that row only
    assert np.isfinite(got.output[1, :2]).all()
    assert all(np.isnan(s[1]).all() for s in got.states)
    want, want_states = reference_forward(*args, **kw, return_sequences=True)
    keep = [0, 2]
    assert_close(got.output[keep], want[keep], **tol(dtype))
    for s, w in zip(got.states, want_states):
        assert_close(s[keep], w[keep], **tol(dtype))


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("variant", VARIANTS, ids=VARIANT_IDS)
def test_inf_input(rng, variant, dtype):
    """+-Inf in x: saturating activations give what the equations give (tanh(inf) = 1, ...),
    other rows are untouched, and nothing crashes or hangs."""
    cell, reset_after = variant
    args, kw = make_case(rng, cell, 3, 4, 3, 4, reset_after=reset_after, dtype=dtype,
                         initial_state=True)
    x = args[1].copy()
    x[0, 1, 2] = np.inf
    x[2, 0, 0] = -np.inf
    args = (args[0], x) + args[2:]
    got = core.rnn_forward(*args, **kw, return_sequences=True)
    want, want_states = reference_forward(*args, **kw, return_sequences=True)
    np.testing.assert_allclose(got.output, want, equal_nan=True, **tol(dtype))
    for s, w in zip(got.states, want_states):
        np.testing.assert_allclose(s, w, equal_nan=True, **tol(dtype))


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
def test_inf_propagates_with_linear_activation(rng, dtype):
    args, kw = make_case(rng, "simple_rnn", 2, 3, 2, 3, dtype=dtype)
    x = args[1].copy()
    x[0, 1, :] = np.inf
    args = (args[0], x) + args[2:]
    got = core.rnn_forward(*args, **kw, activation="linear", return_sequences=True)
    assert not np.isfinite(got.output[0, 1:]).any()
    assert np.isfinite(got.output[0, 0]).all() and np.isfinite(got.output[1]).all()


@pytest.mark.parametrize("variant", VARIANTS, ids=VARIANT_IDS)
def test_nan_weights_do_not_hang(rng, variant):
    cell, reset_after = variant
    args, kw = make_case(rng, cell, 2, 3, 2, 3, reset_after=reset_after)
    k = args[2].copy()
    k[:] = np.nan
    got = core.rnn_forward(args[0], args[1], k, *args[3:], **kw, training=True)
    assert np.isnan(got.output).all()


# ------------------------------------------------------------------ layouts handled by core.py


@pytest.mark.parametrize("variant", VARIANTS, ids=VARIANT_IDS)
def test_non_contiguous_inputs(rng, variant):
    cell, reset_after = variant
    args, kw = make_case(rng, cell, 3, 8, 4, 5, reset_after=reset_after, initial_state=True)
    c, x, k, r, b = args
    big = make_x(rng, 3, 16, 4)
    big[:, ::2] = x
    strided = big[:, ::2]
    assert not strided.flags.c_contiguous
    kf = np.asfortranarray(k)
    got = core.rnn_forward(c, strided, kf, r, b, **kw, return_sequences=True)
    want = core.rnn_forward(c, x, k, r, b, **kw, return_sequences=True)
    assert_same(got.output, want.output)


def test_mask_pattern_helper_sanity(rng):
    # Guards the helper the grid relies on: patterns have what their names say.
    m = make_mask(rng, "right", 4, 6)
    assert all((np.diff(row.astype(int)) <= 0).all() for row in m)
    m = make_mask(rng, "left", 4, 6)
    assert all((np.diff(row.astype(int)) >= 0).all() for row in m)
    m = make_mask(rng, "all_masked_row", 4, 6)
    assert not m[0].any()
