"""rnn_backward against central finite differences of rnn_forward (float64).

Scalar loss: L = sum(output * W_out) + sum_k sum(state_k * W_k), with fixed random W's, so the
analytic call gets d_output = W_out and d_states = [W_k].
"""

from __future__ import annotations


import numpy as np
import pytest

import rnnkit._core  # noqa: F401  (a broken build fails here rather than skipping)

from rnnkit import core  # noqa: E402

from helpers import (option_grid, VARIANT_IDS, VARIANTS, make_case,  # noqa: E402
                      numeric_gradient)
from reference import ACTIVATION_KINKS, ACTIVATIONS, reference_forward  # noqa: E402
from helpers import assert_close, assert_same  # noqa: E402

EPS = 1e-6
RTOL = 1e-6
ATOL = 1e-8

# Tiny sizes: every weight and input is perturbed one at a time.
B, T, I, H = 2, 3, 3, 3


def loss_weights(rng, args, kw):
    """Random fixed W_out (like the output) and W_k (like each state)."""
    cell, x, _, recurrent, _ = args
    b, t, _ = x.shape
    h = recurrent.shape[0]
    out_shape = (b, t, h) if kw.get("return_sequences") else (b, h)
    n_states = 2 if cell == "lstm" else 1
    w_out = rng.normal(size=out_shape).astype(x.dtype)
    w_states = [rng.normal(size=(b, h)).astype(x.dtype) for _ in range(n_states)]
    return w_out, w_states


def forward_loss(args, kw, w_out, w_states):
    res = core.rnn_forward(*args, **kw)
    total = float(np.sum(res.output * w_out))
    for s, w in zip(res.states, w_states):
        total += float(np.sum(s * w))
    return total


def analytic(args, kw, w_out, w_states, *, pass_d_states=True):
    fwd = core.rnn_forward(*args, **kw, training=True)
    return core.rnn_backward(*args, **kw, reserve=fwd.reserve, d_output=w_out,
                             d_states=w_states if pass_d_states else None)


def check_gradients(rng, args, kw, *, explicit_initial_state=True):
    """Compares every gradient rnn_backward returns with finite differences.

    With explicit_initial_state=False the analytic call gets initial_state=None and its
    d_initial_state is compared with the derivative at zero initial states."""
    cell, x, kernel, recurrent, bias = args
    n_states = 2 if cell == "lstm" else 1
    states = kw.get("initial_state")
    if states is None:
        states = [np.zeros((x.shape[0], recurrent.shape[0])) for _ in range(n_states)]
    states = [s.copy() for s in states]
    x, kernel, recurrent = x.copy(), kernel.copy(), recurrent.copy()
    bias = None if bias is None else bias.copy()
    w_out, w_states = loss_weights(rng, args, kw)

    fd_args = (cell, x, kernel, recurrent, bias)
    fd_kw = dict(kw, initial_state=states)

    def loss():
        return forward_loss(fd_args, fd_kw, w_out, w_states)

    an_kw = dict(kw, initial_state=states if explicit_initial_state else None)
    grads = analytic(fd_args, an_kw, w_out, w_states)

    # Rounding in the finite difference grows with |L| (about 1e-16 |L| / EPS).
    atol = ATOL * max(1.0, abs(loss()))

    def cmp(got, arr, what):
        assert got is not None, f"{what} is None"
        assert got.shape == arr.shape and got.dtype == arr.dtype, (what, got.shape, got.dtype)
        want = numeric_gradient(loss, arr, EPS)
        assert_close(got, want, rtol=RTOL, atol=atol, err_msg=what)

    cmp(grads.d_x, x, "d_x")
    cmp(grads.d_kernel, kernel, "d_kernel")
    cmp(grads.d_recurrent_kernel, recurrent, "d_recurrent_kernel")
    if bias is None:
        assert grads.d_bias is None
    else:
        cmp(grads.d_bias, bias, "d_bias")
    assert len(grads.d_initial_state) == n_states
    for k, (g, s) in enumerate(zip(grads.d_initial_state, states)):
        cmp(g, s, f"d_initial_state[{k}]")
    return grads


def tame(args, name):
    """exponential grows fast (LSTM's exp(c), SimpleRNN's exp(h R)): smaller weights keep the
    values, and so the finite differences, well conditioned."""
    if name != "exponential":
        return args
    cell, x, kernel, recurrent, bias = args
    return (cell, x, kernel * 0.3, recurrent * 0.3, None if bias is None else bias * 0.3)


def near_kink(args, kw, margin=1e-4):
    """True when a pre-activation of a piecewise activation sits within `margin` of a kink, where
    a finite difference is meaningless."""
    names = {kw.get("activation", "tanh"), kw.get("recurrent_activation", "sigmoid")}
    if not any(n in ACTIVATION_KINKS for n in names):
        return False
    trace = []
    reference_forward(*args, **kw, trace=trace)
    return any(np.abs(z - p).min() < margin
               for name, z in trace for p in ACTIVATION_KINKS.get(name, ()))


def case_away_from_kinks(draw, attempts=20):
    """Draws (args, kw) until no pre-activation sits next to a kink of the case's activations."""
    for _ in range(attempts):
        args, kw = draw()
        if not near_kink(args, kw):
            return args, kw
    raise AssertionError(f"every one of {attempts} random cases had a pre-activation at a kink")


# ------------------------------------------------------------------ option grid


@pytest.mark.parametrize("case", option_grid(777, p_bias=0.75, p_initial_state=0.7))
def test_gradient_grid(case):
    rng = np.random.default_rng(case["seed"])
    cell, reset_after = case["variant"]
    args, kw = make_case(rng, cell, B, T, I, H, reset_after=reset_after,
                         use_bias=case["use_bias"], initial_state=case["initial_state"],
                         mask=case["mask"], input_dropout=case["input_dropout"],
                         recurrent_dropout=case["recurrent_dropout"])
    kw.update(go_backwards=case["go_backwards"], return_sequences=case["return_sequences"],
              zero_output_for_mask=case["zero_output_for_mask"])
    check_gradients(rng, args, kw, explicit_initial_state=case["initial_state"])


@pytest.mark.parametrize("variant", VARIANTS, ids=VARIANT_IDS)
@pytest.mark.parametrize("use_bias", [True, False], ids=["bias", "nobias"])
@pytest.mark.parametrize("input_dropout", [None, "shared", "per_gate"])
@pytest.mark.parametrize("recurrent_dropout", [None, "shared", "per_gate"])
def test_gradient_bias_and_dropout(rng, variant, use_bias, input_dropout, recurrent_dropout):
    cell, reset_after = variant
    args, kw = make_case(rng, cell, B, T, I, H, reset_after=reset_after, use_bias=use_bias,
                         initial_state=True, mask="holes", input_dropout=input_dropout,
                         recurrent_dropout=recurrent_dropout)
    kw["return_sequences"] = True
    check_gradients(rng, args, kw)


@pytest.mark.parametrize("variant", VARIANTS, ids=VARIANT_IDS)
@pytest.mark.parametrize("sizes", [(1, 1, 1, 1), (1, 4, 2, 1), (3, 2, 1, 2), (2, 5, 4, 5)],
                         ids=lambda s: "B{}T{}I{}H{}".format(*s))
def test_gradient_sizes(rng, variant, sizes):
    cell, reset_after = variant
    b, t, i, h = sizes
    args, kw = make_case(rng, cell, b, t, i, h, reset_after=reset_after, initial_state=True,
                         mask="holes" if t > 1 else "none")
    kw["return_sequences"] = True
    check_gradients(rng, args, kw)


# ------------------------------------------------------------------ activations

SMOOTH_HIGHLIGHTS = ["gelu", "silu", "elu", "softplus", "mish", "selu", "tanh", "sigmoid"]


@pytest.mark.parametrize("variant", VARIANTS, ids=VARIANT_IDS)
@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_gradient_activation(rng, variant, name):
    cell, reset_after = variant

    def draw():
        args, kw = make_case(rng, cell, B, T, I, H, reset_after=reset_after, initial_state=True,
                             mask="holes")
        kw.update(activation=name, return_sequences=True)
        return tame(args, name), kw

    args, kw = case_away_from_kinks(draw)
    check_gradients(rng, args, kw)


@pytest.mark.parametrize("variant", VARIANTS[1:], ids=VARIANT_IDS[1:])
@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_gradient_recurrent_activation(rng, variant, name):
    cell, reset_after = variant

    def draw():
        args, kw = make_case(rng, cell, B, T, I, H, reset_after=reset_after, initial_state=True,
                             input_dropout="per_gate", recurrent_dropout="per_gate")
        kw.update(recurrent_activation=name, return_sequences=True)
        return tame(args, name), kw

    args, kw = case_away_from_kinks(draw)
    check_gradients(rng, args, kw)


@pytest.mark.parametrize("variant", VARIANTS, ids=VARIANT_IDS)
@pytest.mark.parametrize("name", SMOOTH_HIGHLIGHTS)
@pytest.mark.parametrize("go_backwards", [False, True])
def test_gradient_smooth_activation_both_roles(rng, variant, name, go_backwards):
    cell, reset_after = variant
    args, kw = make_case(rng, cell, B, T, I, H, reset_after=reset_after, initial_state=True,
                         mask="right", input_dropout="shared", recurrent_dropout="per_gate")
    kw.update(activation=name, recurrent_activation=name, go_backwards=go_backwards)
    check_gradients(rng, args, kw)


# ------------------------------------------------------------------ properties


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("variant", VARIANTS, ids=VARIANT_IDS)
def test_backward_deterministic(rng, variant, dtype):
    cell, reset_after = variant
    args, kw = make_case(rng, cell, 6, 15, 10, 24, reset_after=reset_after, dtype=dtype,
                         initial_state=True, mask="holes", input_dropout="per_gate",
                         recurrent_dropout="shared")
    kw["return_sequences"] = True
    w_out = rng.normal(size=(6, 15, 24)).astype(dtype)
    w_states = [rng.normal(size=(6, 24)).astype(dtype) for _ in kw["initial_state"]]
    fwd = core.rnn_forward(*args, **kw, training=True)
    first = core.rnn_backward(*args, **kw, reserve=fwd.reserve, d_output=w_out,
                              d_states=w_states)
    heap = []
    for trial in range(6):
        # Shift the heap between calls, so buffers the core allocates land at other addresses.
        heap.append(np.empty(int(rng.integers(1, 4096)), np.uint8))
        again = core.rnn_backward(*args, **kw, reserve=fwd.reserve, d_output=w_out,
                                  d_states=w_states)
        for (name, a), (_, b) in zip(_named(first), _named(again)):
            assert a.dtype == dtype
            assert_same(a, b, err_msg=f"{name}, call {trial + 2}")


def _named(g):
    out = [("d_x", g.d_x)]
    out += [(f"d_initial_state[{k}]", d) for k, d in enumerate(g.d_initial_state)]
    out += [("d_kernel", g.d_kernel), ("d_recurrent_kernel", g.d_recurrent_kernel)]
    if g.d_bias is not None:
        out.append(("d_bias", g.d_bias))
    return out


def _flat(g):
    out = [g.d_x, *g.d_initial_state, g.d_kernel, g.d_recurrent_kernel]
    if g.d_bias is not None:
        out.append(g.d_bias)
    return out


@pytest.mark.parametrize("variant", VARIANTS, ids=VARIANT_IDS)
def test_d_states_none_equals_zeros(rng, variant):
    cell, reset_after = variant
    args, kw = make_case(rng, cell, B, T, I, H, reset_after=reset_after, initial_state=True,
                         mask="holes")
    w_out, w_states = loss_weights(rng, args, kw)
    zeros = [np.zeros_like(w) for w in w_states]
    a = analytic(args, kw, w_out, zeros)
    b = analytic(args, kw, w_out, None, pass_d_states=False)
    for x, y in zip(_flat(a), _flat(b)):
        # (Bit-identity of repeated calls is test_backward_deterministic's business.)
        assert_close(x, y, rtol=1e-14, atol=1e-14)


@pytest.mark.parametrize("variant", VARIANTS, ids=VARIANT_IDS)
@pytest.mark.parametrize("options", [
    dict(),
    dict(go_backwards=True, return_sequences=True, mask="holes", input_dropout="per_gate"),
    dict(zero_output_for_mask=True, mask="right", recurrent_dropout="per_gate"),
], ids=["plain", "backwards_holes", "zero_output_right"])
def test_float32_gradients_match_float64(rng, variant, options):
    cell, reset_after = variant
    options = dict(options)
    make_opts = {k: options.pop(k) for k in ("mask", "input_dropout", "recurrent_dropout")
                 if k in options}
    seed = int(rng.integers(2**31))
    results = {}
    for dtype in (np.float64, np.float32):
        r = np.random.default_rng(seed)
        args, kw = make_case(r, cell, 3, 6, 4, 5, reset_after=reset_after, dtype=dtype,
                             initial_state=True, **make_opts)
        kw.update(options)
        out_shape = (3, 6, 5) if kw.get("return_sequences") else (3, 5)
        w_out = r.normal(size=out_shape).astype(dtype)
        w_states = [r.normal(size=(3, 5)).astype(dtype) for _ in kw["initial_state"]]
        results[dtype] = analytic(args, kw, w_out, w_states)
    for a, b in zip(_flat(results[np.float32]), _flat(results[np.float64])):
        assert a.dtype == np.float32 and b.dtype == np.float64
        assert_close(a, b, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("variant", VARIANTS, ids=VARIANT_IDS)
def test_reserve_none_without_training(rng, variant):
    cell, reset_after = variant
    args, kw = make_case(rng, cell, B, T, I, H, reset_after=reset_after)
    fwd = core.rnn_forward(*args, **kw, training=False)
    assert fwd.reserve is None
    with pytest.raises(ValueError, match="reserve"):
        core.rnn_backward(*args, **kw, reserve=fwd.reserve, d_output=np.ones((B, H)))


@pytest.mark.parametrize("variant", VARIANTS, ids=VARIANT_IDS)
def test_backward_does_not_modify_inputs(rng, variant):
    cell, reset_after = variant
    args, kw = make_case(rng, cell, B, T, I, H, reset_after=reset_after, initial_state=True,
                         mask="holes", input_dropout="per_gate", recurrent_dropout="shared")
    w_out, w_states = loss_weights(rng, args, kw)
    fwd = core.rnn_forward(*args, **kw, training=True)
    reserve = fwd.reserve.copy()
    snapshot = [a.copy() for a in args[1:] if a is not None]
    core.rnn_backward(*args, **kw, reserve=fwd.reserve, d_output=w_out, d_states=w_states)
    assert_same(fwd.reserve, reserve)
    for a, s in zip([a for a in args[1:] if a is not None], snapshot):
        assert_same(a, s)
    # The reserve can be reused: a second backward gives the same gradients.
    g1 = core.rnn_backward(*args, **kw, reserve=fwd.reserve, d_output=w_out, d_states=w_states)
    g2 = core.rnn_backward(*args, **kw, reserve=fwd.reserve, d_output=w_out, d_states=w_states)
    for a, b in zip(_flat(g1), _flat(g2)):
        assert_close(a, b, rtol=1e-14, atol=1e-14)


@pytest.mark.parametrize("variant", VARIANTS, ids=VARIANT_IDS)
def test_all_masked_batch_gradients(rng, variant):
    """Nothing is processed: d_initial_state passes d_states straight through, weights get 0."""
    cell, reset_after = variant
    args, kw = make_case(rng, cell, B, T, I, H, reset_after=reset_after, initial_state=True)
    kw.update(mask=np.zeros((B, T), bool), return_sequences=True)
    w_out, w_states = loss_weights(rng, args, kw)
    g = analytic(args, kw, w_out, w_states)
    assert_same(g.d_x, 0.0)
    assert_same(g.d_kernel, 0.0)
    assert_same(g.d_recurrent_kernel, 0.0)
    if g.d_bias is not None:
        assert_same(g.d_bias, 0.0)
    for d, w in zip(g.d_initial_state, w_states):
        assert_same(d, w)


def _backward_with_and_without(rng, case, **skip):
    """One option-grid case's forward call, its backward with every gradient, and its backward
    with `skip` (`need_d_x=False` or `need_d_initial_state=False`), from the same probes."""
    cell, reset_after = case["variant"]
    args, kwargs = make_case(rng, cell, 3, 4, 5, 6, reset_after=reset_after,
                             use_bias=case["use_bias"], initial_state=case["initial_state"],
                             mask=case["mask"], input_dropout=case["input_dropout"],
                             recurrent_dropout=case["recurrent_dropout"])
    kwargs.update(go_backwards=case["go_backwards"], return_sequences=case["return_sequences"],
                  zero_output_for_mask=case["zero_output_for_mask"])
    result = core.rnn_forward(*args, **kwargs, training=True)
    kwargs.update(reserve=result.reserve, d_output=rng.standard_normal(result.output.shape),
                  d_states=[rng.standard_normal(s.shape) for s in result.states])
    return result, core.rnn_backward(*args, **kwargs), core.rnn_backward(*args, **kwargs, **skip)


def _assert_same_gradients(full, partial, names):
    for name in names:
        a, b = getattr(full, name), getattr(partial, name)
        assert (a is None and b is None) or np.array_equal(a, b), name


@pytest.mark.parametrize("case", option_grid(seed=23)[::4])
def test_skipping_the_input_gradient_leaves_the_others_unchanged(rng, case):
    _, full, partial = _backward_with_and_without(rng, case, need_d_x=False)
    assert partial.d_x is None and full.d_x is not None
    _assert_same_gradients(full, partial, ("d_kernel", "d_recurrent_kernel", "d_bias"))
    for a, b in zip(full.d_initial_state, partial.d_initial_state):
        assert_same(a, b)


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("case", option_grid(seed=29)[::3])
def test_skipping_the_initial_state_gradient_leaves_the_others_unchanged(rng, case, threads):
    """need_d_initial_state=False skips the first step's recurrent product: every other
    gradient keeps its bits (masks, dropout, GRU's reset-before candidate, 1 and 2 threads)."""
    import rnnkit
    before = rnnkit.get_num_threads()
    rnnkit.set_num_threads(threads)
    try:
        result, full, partial = _backward_with_and_without(rng, case, need_d_initial_state=False)
    finally:
        rnnkit.set_num_threads(before)
    assert partial.d_initial_state is None
    assert len(full.d_initial_state) == len(result.states)
    _assert_same_gradients(full, partial, ("d_x", "d_kernel", "d_recurrent_kernel", "d_bias"))


@pytest.fixture
def two_threads():
    import rnnkit
    before = rnnkit.get_num_threads()
    rnnkit.set_num_threads(2)
    yield
    rnnkit.set_num_threads(0)
    assert rnnkit.get_num_threads() == before


@pytest.mark.parametrize("variant", VARIANTS, ids=VARIANT_IDS)
@pytest.mark.parametrize("dropout", [None, "per_gate"])
@pytest.mark.parametrize("B, H", [(64, 64), (16, 256), (64, 256)],
                         ids=["split_rows", "split_units", "split_units_large_weights"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
def test_threaded_sizes_bit_identical(rng, two_threads, variant, dropout, B, H, dtype):
    """At these sizes two threads share the time loop, every large GEMM and the bias gradient's
    columns: B = 64, H = 64: 32 batch rows each (the packed recurrent weights, at most 128 KiB,
    fit in half of any L2); B = 16: half the units of every row each; B = 64, H = 256: the
    forward splits the units wherever the weights (up to 2 MiB) overflow half the L2, the
    backward the rows. Which thread
    computes an element must not change its arithmetic: repeated calls, and one thread alone,
    give bit-identical outputs and gradients."""
    import rnnkit
    cell, reset_after = variant
    T, I = 10, 8
    args, kw = make_case(rng, cell, B, T, I, H, reset_after=reset_after, dtype=dtype,
                         initial_state=True, mask="holes", recurrent_dropout=dropout)
    kw["return_sequences"] = True
    w_out = rng.normal(size=(B, T, H)).astype(dtype)

    def run():
        fwd = core.rnn_forward(*args, **kw, training=True)
        grads = core.rnn_backward(*args, **kw, reserve=fwd.reserve, d_output=w_out)
        return [fwd.output, *fwd.states] + [a for _, a in _named(grads)]

    first = run()
    ref = reference_forward(*args, **kw)[0]
    tight = dtype == np.float64
    assert_close(first[0], ref, rtol=1e-10 if tight else 1e-4,
                 atol=1e-12 if tight else 1e-5)
    for trial in range(4):
        for a, b in zip(first, run()):
            assert_same(a, b, err_msg=f"call {trial + 2}")
    rnnkit.set_num_threads(1)
    for a, b in zip(first, run()):
        assert_same(a, b, err_msg="one thread")
