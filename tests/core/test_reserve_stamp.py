"""rnn_backward refuses a reserve that another forward call filled (the reserve's stamp): other
inputs that backward reads, another direction or options, other sizes, or an array no forward
call stamped. Before the stamp, such a reserve of the right size gave silently wrong gradients."""

from __future__ import annotations

import numpy as np
import pytest

from rnnkit import core
from helpers import VARIANTS, VARIANT_IDS, make_case


def _call(variant, rng, **overrides):
    cell, reset_after = variant
    args, kwargs = make_case(rng, cell, 3, 5, 4, 6, reset_after=reset_after,
                             initial_state=True, mask="holes", input_dropout="shared",
                             recurrent_dropout="per_gate")
    kwargs.update(overrides)
    return args, kwargs


@pytest.mark.parametrize("variant", VARIANTS, ids=VARIANT_IDS)
def test_foreign_reserves_are_refused(variant, rng):
    args, kwargs = _call(variant, rng, return_sequences=True)
    fwd = core.rnn_forward(*args, training=True, **kwargs)
    d_output = np.ones_like(fwd.output)
    good = core.rnn_backward(*args, reserve=fwd.reserve, d_output=d_output, **kwargs)

    # Other inputs: x, the mask, an initial state, a dropout mask, a weight.
    cell, x, kernel, recurrent, bias = args
    other_x = x.copy()
    other_x[0, 0, 0] += 1.0
    with pytest.raises(ValueError, match="other inputs"):
        core.rnn_backward(cell, other_x, kernel, recurrent, bias, reserve=fwd.reserve,
                          d_output=d_output, **kwargs)
    other_mask = dict(kwargs, mask=~kwargs["mask"])
    with pytest.raises(ValueError, match="other inputs"):
        core.rnn_backward(*args, reserve=fwd.reserve, d_output=d_output, **other_mask)
    # The initial states and the bias only feed the forward (backward reads the states it saved
    # in the reserve): a stateful layer that overwrote its state arrays in between still gets
    # the forward call's gradients.
    other_state = dict(kwargs, initial_state=[s * 2 for s in kwargs["initial_state"]])
    same = core.rnn_backward(*args, reserve=fwd.reserve, d_output=d_output, **other_state)
    np.testing.assert_array_equal(same.d_recurrent_kernel, good.d_recurrent_kernel)
    drop = kwargs["recurrent_dropout_mask"].copy()
    drop.flat[0] = 7.0
    other_drop = dict(kwargs, recurrent_dropout_mask=drop)
    with pytest.raises(ValueError, match="other inputs"):
        core.rnn_backward(*args, reserve=fwd.reserve, d_output=d_output, **other_drop)
    with pytest.raises(ValueError, match="other inputs"):
        core.rnn_backward(cell, x, kernel * 1.5, recurrent, bias, reserve=fwd.reserve,
                          d_output=d_output, **kwargs)

    # Another direction or output option: named in the message.
    backwards = dict(kwargs, go_backwards=True)
    with pytest.raises(ValueError, match="had go_backwards=False; this call has go_backwards=True$"):
        core.rnn_backward(*args, reserve=fwd.reserve, d_output=d_output, **backwards)
    zero_out = dict(kwargs, zero_output_for_mask=True)
    with pytest.raises(ValueError, match="zero_output_for_mask"):
        core.rnn_backward(*args, reserve=fwd.reserve, d_output=d_output, **zero_out)

    # A reserve of the right size no forward call filled.
    with pytest.raises(ValueError, match="training=True"):
        core.rnn_backward(*args, reserve=np.zeros_like(fwd.reserve), d_output=d_output, **kwargs)

    # The true reserve still works, and gives the same gradients again.
    again = core.rnn_backward(*args, reserve=fwd.reserve, d_output=d_output, **kwargs)
    np.testing.assert_array_equal(again.d_kernel, good.d_kernel)


def test_reserve_of_another_call_with_the_same_sizes(rng):
    """Two forward calls of one layer on different batches: each reserve serves its own call."""
    args_a, kwargs = _call(("lstm", True), rng)
    cell, x, kernel, recurrent, bias = args_a
    x_b = rng.standard_normal(x.shape)
    fwd_a = core.rnn_forward(*args_a, training=True, **kwargs)
    fwd_b = core.rnn_forward(cell, x_b, kernel, recurrent, bias, training=True, **kwargs)
    d_output = np.ones_like(fwd_a.output)
    with pytest.raises(ValueError, match="other inputs"):
        core.rnn_backward(*args_a, reserve=fwd_b.reserve, d_output=d_output, **kwargs)
    core.rnn_backward(cell, x_b, kernel, recurrent, bias, reserve=fwd_b.reserve,
                      d_output=d_output, **kwargs)
