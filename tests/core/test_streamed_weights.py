"""Recurrent weights too large to stay in the caches from one step to the next (more than 8 MiB
packed): the time loop's GEMMs then fetch each next slice of the weights while they compute the
current one. Forward against the reference and float32 gradients against float64, at batches of
one micro-tile and of several, on one thread and two."""

import numpy as np
import pytest

from rnnkit import core
from rnnkit.core import rnn_backward, rnn_forward
from helpers import assert_close, make_case
from reference import reference_forward

STREAMED_BYTES = 8 << 20
# (cell, H): the smallest round widths whose float32 recurrent weights pass 8 MiB.
CASES = [("lstm", 768), ("gru", 896), ("simple_rnn", 1536)]
GATES = {"lstm": 4, "gru": 3, "simple_rnn": 1}


@pytest.fixture(params=[1, 2], ids=["1-thread", "2-threads"])
def threads(request):
    before = core.get_num_threads()
    core.set_num_threads(request.param)
    yield request.param
    core.set_num_threads(before)


@pytest.mark.parametrize("cell,H", CASES)
@pytest.mark.parametrize("B", [3, 13])
def test_streamed_weights_forward_and_gradients(rng, threads, cell, H, B):
    assert GATES[cell] * H * H * 4 > STREAMED_BYTES
    T, I = 3, 8
    args64, kwargs = make_case(rng, cell, B, T, I, H, reset_after=True, use_bias=True,
                               initial_state=True, mask="none", input_dropout=None,
                               recurrent_dropout=None)
    args32 = tuple(a if a is None or isinstance(a, str) else np.asarray(a, np.float32)
                   for a in args64)
    kwargs32 = {k: [np.asarray(s, np.float32) for s in v] if isinstance(v, list) else v
                for k, v in kwargs.items()}
    options = dict(return_sequences=True)

    expected, expected_states = reference_forward(*args64, **kwargs, **options)
    got64 = rnn_forward(*args64, **kwargs, **options, training=True)
    got32 = rnn_forward(*args32, **kwargs32, **options, training=True)
    assert_close(got64.output, expected, atol=1e-12, rtol=1e-10)
    assert_close(got32.output, expected, atol=2e-5, rtol=1e-4)
    for g, e in zip(got32.states, expected_states):
        assert_close(g, e, atol=2e-5, rtol=1e-4)

    probe = rng.standard_normal(got64.output.shape)
    state_probes = [rng.standard_normal((B, H)) for _ in got64.states]
    grads64 = rnn_backward(*args64, **kwargs, **options, reserve=got64.reserve,
                           d_output=probe, d_states=state_probes)
    grads32 = rnn_backward(*args32, **kwargs32, **options, reserve=got32.reserve,
                           d_output=probe.astype(np.float32),
                           d_states=[p.astype(np.float32) for p in state_probes])
    pairs = [(grads32.d_x, grads64.d_x), (grads32.d_kernel, grads64.d_kernel),
             (grads32.d_recurrent_kernel, grads64.d_recurrent_kernel),
             (grads32.d_bias, grads64.d_bias)]
    pairs += list(zip(grads32.d_initial_state, grads64.d_initial_state))
    for g32, g64 in pairs:
        scale = max(1.0, float(np.abs(g64).max()))
        assert_close(g32, g64, atol=2e-4 * scale, rtol=1e-3)
