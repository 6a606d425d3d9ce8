"""The float32 fused SIMD rows (whole packets of units, then a scalar tail) over every option:
widths of several packets plus a tail, forward against the reference and float32 gradients
against the float64 (generic-row) gradients."""

import numpy as np
import pytest

from rnnkit.core import rnn_backward, rnn_forward
from helpers import make_case, option_grid
from reference import reference_forward
from helpers import assert_close  # noqa: E402

ACTIVATION_PAIRS = [("tanh", "sigmoid"), ("relu", "hard_sigmoid"), ("linear", "sigmoid")]


@pytest.mark.parametrize("case", option_grid(seed=19))
def test_fused_rows_forward_and_gradients(rng, case):
    cell, reset_after = case["variant"]
    H = int(rng.choice([16, 19, 27]))   # 2-3 packets (AVX2: 8 floats), with or without a tail
    B, T, I = 3, 5, 4
    activation, recurrent_activation = ACTIVATION_PAIRS[int(rng.integers(3))]
    args64, kwargs = make_case(rng, cell, B, T, I, H, reset_after=reset_after,
                               use_bias=case["use_bias"], initial_state=case["initial_state"],
                               mask=case["mask"], input_dropout=case["input_dropout"],
                               recurrent_dropout=case["recurrent_dropout"])
    options = dict(go_backwards=case["go_backwards"], return_sequences=case["return_sequences"],
                   zero_output_for_mask=case["zero_output_for_mask"], activation=activation,
                   recurrent_activation=recurrent_activation)

    def as32(value):
        if value is None or isinstance(value, (str, bool)):
            return value
        if isinstance(value, list):
            return [as32(v) for v in value]
        return np.asarray(value, dtype=np.float32)

    args32 = tuple(as32(a) for a in args64)
    kwargs32 = {k: as32(v) for k, v in kwargs.items()}
    expected, expected_states = reference_forward(*args64, **kwargs, **options)
    got = rnn_forward(*args32, **kwargs32, **options, training=True)
    assert_close(got.output, expected, atol=2e-5, rtol=1e-5)
    for g, e in zip(got.states, expected_states):
        assert_close(g, e, atol=2e-5, rtol=1e-5)

    probe = rng.standard_normal(got.output.shape)
    state_probes = [rng.standard_normal((B, H)) for _ in got.states]
    reference64 = rnn_forward(*args64, **kwargs, **options, training=True)
    grads64 = rnn_backward(*args64, **kwargs, **options, reserve=reference64.reserve,
                           d_output=probe, d_states=state_probes)
    grads32 = rnn_backward(*args32, **kwargs32, **options, reserve=got.reserve,
                           d_output=as32(probe), d_states=as32(state_probes))
    pairs = [(grads32.d_x, grads64.d_x), (grads32.d_kernel, grads64.d_kernel),
             (grads32.d_recurrent_kernel, grads64.d_recurrent_kernel)]
    pairs += list(zip(grads32.d_initial_state, grads64.d_initial_state))
    if grads64.d_bias is not None:
        pairs.append((grads32.d_bias, grads64.d_bias))
    for g32, g64 in pairs:
        scale = max(1.0, float(np.abs(g64).max()))
        assert_close(g32, g64, atol=2e-4 * scale, rtol=1e-3)
