"""`rnnkit.core.RNNStream(..., weight_format=...)`: 16-bit storage of the packed weights.

A bfloat16 or float16 stream rounds each kernel / recurrent_kernel weight to the nearest value of
the format (ties to even) once, when packing, and computes in float32 as the float32 stream does:
its results must equal, bit for bit, `rnn_forward`'s with the weights rounded so beforehand (the
rounding here is this file's own, from the definition). Against the unrounded weights (the NumPy
reference in float64) they stay within the first-order bound of docs/cpp.md.
"""

import numpy as np
import pytest
from helpers import assert_same, assert_stream_gives, make_states, make_weights, make_x
from reference import reference_forward

from rnnkit import core

VARIANTS = [("simple_rnn", True), ("gru", True), ("gru", False), ("lstm", True)]
# name: (significand bits with the implicit one, smallest normal exponent)
FORMATS = {"bfloat16": (8, -126), "float16": (11, -14)}


def round_to(name, a):
    """The nearest value of the format (ties to even) of each element of a float32 array: its
    quantum is 2**(exponent of the leading bit, at least the smallest normal one) / 2**(bits-1);
    np.rint rounds ties to even."""
    bits, min_exp = FORMATS[name]
    a = np.asarray(a, np.float64)
    _, e = np.frexp(a)  # a = m * 2**e, 0.5 <= |m| < 1
    lead = np.maximum(e - 1, min_exp)
    quantum = np.ldexp(1.0, lead - (bits - 1))
    return (np.rint(a / quantum) * quantum).astype(np.float32)


def test_the_reference_rounding_agrees_with_numpy_float16(rng):
    a = np.concatenate([rng.normal(size=2000) * 10.0 ** rng.integers(-9, 5, 2000),
                        [1 + 2 ** -11, 1 + 3 * 2 ** -11, 2 ** -25, 3 * 2 ** -25, 65519.0]])
    a = a.astype(np.float32)
    assert_same(round_to("float16", a), a.astype(np.float16).astype(np.float32))


@pytest.mark.parametrize("weight_format", ["bfloat16", "float16"])
@pytest.mark.parametrize("cell,reset_after", VARIANTS)
@pytest.mark.parametrize("size", [(1, 6, 64, 64), (3, 5, 7, 19), (2, 3, 300, 33)])
def test_16bit_stream_equals_rnn_forward_with_rounded_weights(rng, size, cell, reset_after,
                                                              weight_format):
    B, T, I, H = size
    kernel, recurrent, bias = make_weights(rng, cell, I, H, reset_after=reset_after,
                                           dtype=np.float32)
    x = make_x(rng, B, T, I, np.float32)
    states = make_states(rng, cell, B, H, np.float32)
    rounded = (round_to(weight_format, kernel), round_to(weight_format, recurrent), bias)
    want = core.rnn_forward(cell, x, *rounded, initial_state=states, return_sequences=True,
                            reset_after=reset_after)
    stream = core.RNNStream(cell, kernel, recurrent, bias, batch_size=B, reset_after=reset_after,
                            weight_format=weight_format)
    assert stream.weight_format == weight_format and stream.dtype == "float32"
    steps = assert_stream_gives(stream, x, states, want)

    # Against the unrounded weights, in float64 from the Keras equations: per step a
    # pre-activation moves by at most u * (sum_k |x_k W_kj| + sum_k |h_k R_kj|); over T steps
    # of a contractive recurrence the outputs by at most 2 T u (max_j sum_k |W_kj| max|x| +
    # max_j sum_k |R_kj| max|h|), plus float32's own rounding.
    ref, _ = reference_forward(cell, x.astype(np.float64), kernel.astype(np.float64),
                               recurrent.astype(np.float64), bias.astype(np.float64),
                               initial_state=[s.astype(np.float64) for s in states],
                               return_sequences=True, reset_after=reset_after)
    u = 2.0 ** -FORMATS[weight_format][0]
    max_h = max(1.0, np.abs(ref).max(), *(np.abs(s).max() for s in states))
    bound = 2 * T * u * (np.abs(kernel).sum(0).max() * np.abs(x).max()
                         + np.abs(recurrent).sum(0).max() * max_h) + 1e-4
    assert np.abs(steps - ref).max() <= bound
    # The rounding does change the result (not float32 in disguise).
    assert not np.array_equal(steps, core.rnn_forward(
        cell, x, kernel, recurrent, bias, initial_state=states, return_sequences=True,
        reset_after=reset_after).output)


@pytest.mark.parametrize("weight_format", ["bfloat16", "float16"])
def test_16bit_stream_masked_run_and_set_weights(rng, weight_format):
    B, T, I, H = 3, 6, 5, 11
    kernel, recurrent, bias = make_weights(rng, "gru", I, H, dtype=np.float32)
    x = make_x(rng, B, T, I, np.float32)
    mask = rng.uniform(size=(B, T)) < 0.6
    mask[0, 0] = False
    stream = core.RNNStream("gru", kernel, recurrent, bias, batch_size=B,
                            weight_format=weight_format)
    want = core.rnn_forward("gru", x, round_to(weight_format, kernel),
                            round_to(weight_format, recurrent), bias, mask=mask,
                            return_sequences=True)
    assert_same(stream.run(x, mask=mask), want.output)
    other = make_weights(rng, "gru", I, H, dtype=np.float32)
    stream.set_weights(*other)
    stream.reset_states()
    want = core.rnn_forward("gru", x, round_to(weight_format, other[0]),
                            round_to(weight_format, other[1]), other[2], return_sequences=True)
    assert_same(stream.run(x), want.output)


def test_weight_format_checks(rng):
    kernel, recurrent, bias = make_weights(rng, "lstm", 4, 3, dtype=np.float32)
    assert core.RNNStream("lstm", kernel, recurrent, bias).weight_format == "float32"
    with pytest.raises(ValueError, match="weight_format"):
        core.RNNStream("lstm", kernel, recurrent, bias, weight_format="bf16")
    with pytest.raises(TypeError, match="weight_format"):
        core.RNNStream("lstm", kernel, recurrent, bias, weight_format=16)
    with pytest.raises(ValueError, match="float64"):
        core.RNNStream("lstm", kernel.astype(np.float64), recurrent.astype(np.float64),
                       bias.astype(np.float64), weight_format="float16")
    big = kernel.copy()
    big[1, 2] = 70000.0
    with pytest.raises(ValueError, match="kernel"):
        core.RNNStream("lstm", big, recurrent, bias, weight_format="float16")
    core.RNNStream("lstm", big, recurrent, bias, weight_format="bfloat16")  # within its range
    nan = recurrent.copy()
    nan[0, 0] = np.nan
    with pytest.raises(ValueError, match="recurrent_kernel"):
        core.RNNStream("lstm", kernel, nan, bias, weight_format="bfloat16")
    stream = core.RNNStream("lstm", kernel, recurrent, bias, weight_format="float16")
    with pytest.raises(ValueError, match="kernel"):
        stream.set_weights(big, recurrent, bias)
