"""Shared test helpers: random weights, inputs, states, masks and dropout masks of RNN cases, option
grids, finite-difference gradients and the assertions `assert_close` / `assert_same`.
(`conftest.py` holds the pytest fixtures; paths are in `paths.py`.)"""

from __future__ import annotations

import itertools
import re

import numpy as np
import pytest

from reference import GATES

# Cell variants: (cell, reset_after). reset_after only matters for GRU.
VARIANTS = [("simple_rnn", True), ("gru", True), ("gru", False), ("lstm", True)]
VARIANT_IDS = ["simple_rnn", "gru_reset_after", "gru_reset_before", "lstm"]

MASK_PATTERNS = ("none", "right", "left", "holes", "all_masked_row")


def option_grid(seed, sizes=False, p_bias=0.7, p_initial_state=0.6):
    """Every cell variant x mask pattern x go_backwards x return_sequences x zero_output_for_mask,
    with seeded random use_bias, initial state, dropout kinds and (with `sizes`) B, T, I, H."""
    r = np.random.default_rng(seed)
    cases = []
    for (variant, vid), mask, gb, rs, zo in itertools.product(
            zip(VARIANTS, VARIANT_IDS), MASK_PATTERNS, [False, True], [False, True],
            [False, True]):
        case = dict(variant=variant, mask=mask, go_backwards=gb, return_sequences=rs,
                    zero_output_for_mask=zo)
        if sizes:
            case.update(B=int(r.choice([1, 2, 3, 5])), T=int(r.choice([1, 2, 5, 7])),
                        I=int(r.choice([1, 2, 3, 6])), H=int(r.choice([1, 2, 3, 5, 9])))
        case.update(use_bias=bool(r.random() < p_bias),
                    initial_state=bool(r.random() < p_initial_state),
                    input_dropout=[None, "shared", "per_gate"][r.integers(3)],
                    recurrent_dropout=[None, "shared", "per_gate"][r.integers(3)],
                    seed=int(r.integers(2**31)))
        cases.append(pytest.param(case, id=f"{vid}-{mask}-gb{int(gb)}-rs{int(rs)}-zo{int(zo)}"))
    return cases

DROPOUT_RATE = 0.3


def bias_shape(cell, H, reset_after=True):
    G = GATES[cell]
    if cell == "gru" and reset_after:
        return (2, 3 * H)
    return (G * H,)


def make_weights(rng, cell, I, H, *, use_bias=True, reset_after=True, dtype=np.float64,
                 scale=1.0):
    """kernel (I, G*H), recurrent_kernel (H, G*H), bias (or None), scaled to keep activations
    in their interesting range."""
    G = GATES[cell]
    kernel = rng.uniform(-1, 1, (I, G * H)) * scale / np.sqrt(I)
    recurrent = rng.uniform(-1, 1, (H, G * H)) * scale / np.sqrt(H)
    bias = rng.uniform(-0.5, 0.5, bias_shape(cell, H, reset_after)) * scale if use_bias else None
    cast = (lambda a: None if a is None else a.astype(dtype))
    return cast(kernel), cast(recurrent), cast(bias)


def make_x(rng, B, T, I, dtype=np.float64):
    return rng.uniform(-1.5, 1.5, (B, T, I)).astype(dtype)


def make_states(rng, cell, B, H, dtype=np.float64):
    n = 2 if cell == "lstm" else 1
    return [rng.uniform(-0.8, 0.8, (B, H)).astype(dtype) for _ in range(n)]


def make_mask(rng, pattern, B, T, dtype=bool):
    """(B, T) mask (True = real step) of the given pattern, or None for "none".

    right: right padding (each row keeps a random prefix); left: left padding; holes: random
    holes anywhere; all_masked_row: random holes plus row 0 fully masked.
    Every pattern but all_masked_row keeps at least one real step per row.
    """
    if pattern == "none":
        return None
    if pattern in ("right", "left"):
        lengths = rng.integers(1, T + 1, B)
        if B > 1:
            lengths[0] = max(1, T - 1) if T > 1 else 1   # at least one padded row when possible
        idx = np.arange(T)[None, :]
        m = idx < lengths[:, None] if pattern == "right" else idx >= (T - lengths)[:, None]
    elif pattern in ("holes", "all_masked_row"):
        m = rng.random((B, T)) < 0.6
        m[np.arange(B), rng.integers(0, T, B)] = True
        if pattern == "all_masked_row":
            m[0, :] = False
    else:
        raise ValueError(pattern)
    return m.astype(dtype)


def make_dropout(rng, kind, gates, B, n, dtype=np.float64, rate=DROPOUT_RATE):
    """Keras-like inverted-dropout multipliers {0, 1/(1-rate)}: kind None, "shared" (B, n) or
    "per_gate" (gates, B, n) with an independent mask per gate."""
    if kind is None:
        return None
    shape = (B, n) if kind == "shared" else (gates, B, n)
    keep = rng.random(shape) >= rate
    return (keep / (1.0 - rate)).astype(dtype)


def make_case(rng, cell, B, T, I, H, *, reset_after=True, use_bias=True, dtype=np.float64,
              initial_state=False, mask="none", input_dropout=None, recurrent_dropout=None):
    """(args, kwargs) for rnn_forward / reference_forward."""
    G = GATES[cell]
    kernel, recurrent, bias = make_weights(rng, cell, I, H, use_bias=use_bias,
                                           reset_after=reset_after, dtype=dtype)
    x = make_x(rng, B, T, I, dtype)
    kwargs = dict(
        initial_state=make_states(rng, cell, B, H, dtype) if initial_state else None,
        mask=make_mask(rng, mask, B, T),
        input_dropout_mask=make_dropout(rng, input_dropout, G, B, I, dtype),
        recurrent_dropout_mask=make_dropout(rng, recurrent_dropout, G, B, H, dtype),
        reset_after=reset_after,
    )
    return (cell, x, kernel, recurrent, bias), kwargs


def shape_pattern(shape):
    """A regex matching the numbers of `shape` in order, whatever the brackets/separators:
    (2, 5, 3), [2, 5, 3], 2x5x3 ..."""
    dims = [str(int(d)) for d in shape]
    return r"(?<!\d)" + r"\D{1,4}".join(dims) + r"(?!\d)"


def name_pattern(*names):
    """A regex matching any of `names` as a whole identifier (so "kernel" does not match inside
    "recurrent_kernel")."""
    alts = "|".join(re.escape(n) for n in names)
    return rf"(?<![A-Za-z0-9_])(?:{alts})(?![A-Za-z0-9_])"


def numeric_gradient(f, a, eps=1e-6):
    """Central finite differences of the scalar function f() with respect to the array `a`,
    which f reads and which is perturbed in place (and restored)."""
    g = np.zeros(a.shape, dtype=np.float64)
    for idx in np.ndindex(a.shape):
        orig = a[idx]
        a[idx] = orig + eps
        plus = f()
        a[idx] = orig - eps
        minus = f()
        a[idx] = orig
        g[idx] = (plus - minus) / (2 * eps)
    return g


def _check_finite(value, what):
    arr = np.asarray(value)
    if arr.dtype == object:
        items = arr.ravel()
        if arr.ndim == 0:
            item = arr.item()
            if not (isinstance(item, (list, tuple, np.ndarray)) or hasattr(item, "__array__")):
                return
            items = [item]
        for item in items:
            _check_finite(item, what)
        return
    if arr.dtype.kind in "fc":
        bad = ~np.isfinite(arr)
        assert not bad.any(), (f"{what} has {int(bad.sum())} non-finite value(s) (NaN/inf) of "
                               f"{arr.size}, first at {np.argwhere(bad)[0].tolist()}")


def assert_close(actual, desired, rtol=1e-7, atol=0, err_msg="", **kwargs):
    """np.testing.assert_allclose (same defaults) for results that must be finite: fails when
    either side holds a NaN or an inf, which assert_allclose would accept when both sides agree
    (NaN == NaN). Use np.testing.assert_allclose(..., equal_nan=True) where NaN is intended."""
    suffix = f" ({err_msg})" if err_msg else ""
    _check_finite(actual, "actual" + suffix)
    _check_finite(desired, "desired" + suffix)
    np.testing.assert_allclose(actual, desired, rtol=rtol, atol=atol, equal_nan=False,
                               err_msg=err_msg, **kwargs)


def assert_same(actual, desired, err_msg="", **kwargs):
    """np.testing.assert_array_equal for results that must be finite: it, too, treats NaN in
    the same places as equal."""
    suffix = f" ({err_msg})" if err_msg else ""
    _check_finite(actual, "actual" + suffix)
    _check_finite(desired, "desired" + suffix)
    np.testing.assert_array_equal(actual, desired, err_msg=err_msg, **kwargs)


def assert_stream_gives(stream, x, states, want):
    """From `states`, `stream` gives `want` (an `rnn_forward` result with return_sequences) bit
    for bit, stepped one timestep at a time (outputs and final states) and in one `run`.
    Returns the stepped outputs."""
    stream.set_states(states)
    steps = np.stack([stream.step(x[:, t]) for t in range(x.shape[1])], axis=1)
    assert_same(steps, want.output)
    for got, expected in zip(stream.states, want.states):
        assert_same(got, expected)
    stream.set_states(states)
    assert_same(stream.run(x), want.output)
    return steps
