"""Regression tests of the hardening issue: each reproducer raises the exact exception type with
a message that names the argument (or now gives Keras' result) instead of crashing or silently
misbehaving."""

import contextlib
import json
import re
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from rnnkit import _core, core


def _run_isolated(code):
    """Runs `code` in a fresh interpreter, so that a crash (SIGFPE, SIGSEGV) fails the test
    instead of killing pytest; returns its stdout."""
    result = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, (result.returncode, result.stdout, result.stderr)
    return result.stdout


@contextlib.contextmanager
def raises_exactly(kind, match):
    """pytest.raises that also demands the exact exception type, not a subclass."""
    with pytest.raises(kind, match=match) as info:
        yield info
    assert type(info.value) is kind, type(info.value)


def _core_forward(**overrides):
    args = dict(cell="lstm", input_size=1, units=1, activation="tanh",
                recurrent_activation="sigmoid", reset_after=True, go_backwards=False,
                return_sequences=False, zero_output_for_mask=False, training=False,
                x=np.zeros((4, 1, 1), np.float32), kernel=np.zeros((1, 4), np.float32),
                recurrent_kernel=np.zeros((1, 4), np.float32), bias=None, initial_h=None,
                initial_c=None, mask=None, input_dropout=None, recurrent_dropout=None)
    args.update(overrides)
    return _core.forward(**args)


# -- 1. Sizes that overflow int64 (used to divide by a wrapped 0: SIGFPE) ---------------------

def test_huge_zero_size_recurrent_kernel_is_refused_not_a_crash():
    out = _run_isolated("""
        import numpy as np
        from rnnkit import core
        x = np.zeros((4, 1, 1), np.float32); rk = np.zeros((2**60, 0), np.float32)
        try:
            core.rnn_forward("lstm", x, np.zeros((1, 4), np.float32), rk)
        except ValueError as e:
            print(type(e).__name__, "|", e)
        """)
    kind, message = out.split(" | ", 1)
    assert kind == "InvalidArgument"
    assert "'units'" in message and "overflow" in message


def test_core_units_overflow_is_refused_not_a_crash():
    out = _run_isolated("""
        import numpy as np
        from rnnkit import _core
        x = np.zeros((4, 1, 1), np.float32)
        for units in (2**60, 2**61, 2**62):
            for training in (False, True):
                try:
                    _core.forward(cell="lstm", input_size=1, units=units, activation="tanh",
                                  recurrent_activation="sigmoid", reset_after=True,
                                  go_backwards=False, return_sequences=False,
                                  zero_output_for_mask=False, training=training, x=x,
                                  kernel=np.zeros((1, 4), np.float32),
                                  recurrent_kernel=np.zeros((2**60, 0), np.float32), bias=None,
                                  initial_h=None, initial_c=None, mask=None, input_dropout=None,
                                  recurrent_dropout=None)
                except ValueError as e:
                    print(type(e).__name__, "|", e)
        """)
    lines = out.strip().splitlines()
    assert len(lines) == 6
    for line in lines:
        kind, message = line.split(" | ", 1)
        assert kind == "InvalidArgument"
        assert "'units'" in message and "overflow" in message


# -- 2. NaN propagates through every activation, forward and backward, as in Keras ------------

# f'(NaN) where Keras (JAX autodiff of its where/clip definitions) gives a number; every other
# fused activation has f'(NaN) = NaN. Checked against Keras 3.15.1 on JAX.
KERAS_GRAD_AT_NAN = {"linear": 1.0, "hard_sigmoid": 0.0, "relu": 0.0, "relu6": 0.0,
                     "leaky_relu": 0.2, "hard_tanh": 1.0, "sparse_sigmoid": 0.0,
                     "soft_shrink": 0.0, "hard_shrink": 0.0}


def _fused_activations():
    from rnnkit import activations
    return activations.FUSED


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("activation", _fused_activations())
def test_nan_forward_matches_reference(activation, dtype):
    from reference import reference_forward
    rng = np.random.default_rng(0)
    H = 19  # float32: several SIMD packets plus a tail
    x = rng.normal(size=(3, 4, 2)).astype(dtype)
    x[0, 1, 0] = np.nan
    x[2, 3, 1] = np.nan
    k = rng.normal(size=(2, H)).astype(dtype)
    r = rng.normal(size=(H, H)).astype(dtype) * 0.3
    got = core.rnn_forward("simple_rnn", x, k, r, activation=activation, return_sequences=True)
    with np.errstate(invalid="ignore"):
        want, _ = reference_forward("simple_rnn", x, k, r, activation=activation,
                                    return_sequences=True)
    np.testing.assert_array_equal(np.isnan(got.output), np.isnan(want))
    if activation not in ("soft_shrink", "hard_shrink"):  # Keras maps NaN to 0 in these two
        assert np.isnan(got.output[0, 1]).all() and np.isnan(got.output[2, 3]).all()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("activation", _fused_activations())
def test_nan_derivative_matches_keras(activation, dtype):
    H = 19
    x = np.full((1, 1, 1), np.nan, dtype)
    k = np.ones((1, H), dtype)
    r = np.zeros((H, H), dtype)
    fwd = core.rnn_forward("simple_rnn", x, k, r, activation=activation, training=True,
                           return_sequences=True)
    grads = core.rnn_backward("simple_rnn", x, k, r, reserve=fwd.reserve,
                              d_output=np.ones_like(fwd.output), activation=activation,
                              return_sequences=True)
    # d_x = sum over the H units of f'(NaN) * 1.
    want = KERAS_GRAD_AT_NAN.get(activation, np.nan) * H
    np.testing.assert_allclose(grads.d_x.ravel(), [want], rtol=1e-6)
    # Whatever f'(NaN) is, the weight gradient multiplies the NaN input: NaN, as in Keras.
    assert np.isnan(grads.d_kernel).all()


@pytest.mark.parametrize("cell", ["gru", "lstm"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_nan_propagates_through_gated_cells(cell, dtype):
    rng = np.random.default_rng(1)
    G, H = (3 if cell == "gru" else 4), 19
    x = rng.normal(size=(2, 3, 2)).astype(dtype)
    x[0, 1, 0] = np.nan
    k = rng.normal(size=(2, G * H)).astype(dtype)
    r = rng.normal(size=(H, G * H)).astype(dtype) * 0.3
    fwd = core.rnn_forward(cell, x, k, r, training=True, return_sequences=True)
    assert np.isnan(fwd.output[0, 1:]).all() and not np.isnan(fwd.output[0, 0]).any()
    assert not np.isnan(fwd.output[1]).any()
    grads = core.rnn_backward(cell, x, k, r, reserve=fwd.reserve,
                              d_output=np.ones_like(fwd.output), return_sequences=True)
    assert np.isnan(grads.d_kernel).any() and np.isnan(grads.d_recurrent_kernel).any()
    assert not np.isnan(grads.d_x[1]).any()


def test_simple_rnn_relu_layer_returns_nan_for_nan_input():
    import rnnkit
    layer = rnnkit.layers.SimpleRNN(3, activation="relu")
    x = np.ones((2, 4, 2), np.float32)
    x[0, 1, 0] = np.nan
    y = np.asarray(layer(x))
    assert np.isnan(y[0]).all() and not np.isnan(y[1]).any()


# -- 3. Wrongly accepted / refused ------------------------------------------------------------

@pytest.mark.parametrize("dtype", [np.complex64, np.complex128])
@pytest.mark.parametrize("layer", ["SimpleRNN", "GRU", "LSTM"])
def test_complex_input_to_a_layer_is_a_type_error(layer, dtype):
    import rnnkit
    with raises_exactly(TypeError, np.dtype(dtype).name):
        getattr(rnnkit.layers, layer)(4)(np.ones((2, 3, 2), dtype))


def test_complex_input_to_the_core_is_a_type_error():
    x = np.ones((2, 3, 1), np.complex64)
    with raises_exactly(TypeError, "'x'.*complex64"):
        core.rnn_forward("simple_rnn", x, np.ones((1, 2), np.float32), np.ones((2, 2), np.float32))


def test_cell_name_with_a_nul_byte_is_refused():
    with raises_exactly(_core.InvalidArgument, "'cell'") as info:
        _core_forward(cell="lstm\x00junk")
    assert type(info.value) is _core.InvalidArgument and isinstance(info.value, ValueError)
    assert "\\x00" in str(info.value)
    _core_forward(cell="lstm")


@pytest.mark.parametrize("argument", ["activation", "recurrent_activation"])
def test_activation_name_with_a_nul_byte_is_refused(argument):
    with raises_exactly(_core.InvalidArgument, argument):
        _core_forward(**{argument: "tanh\x00junk"})


@pytest.mark.parametrize("dtype", [np.int32, np.int64, np.float32, np.float64, np.uint8, bool])
@pytest.mark.parametrize("layout", ["fortran", "transposed"])
def test_mask_in_any_layout_is_accepted(dtype, layout):
    rng = np.random.default_rng(2)
    x = rng.normal(size=(3, 5, 2)).astype(np.float32)
    k = rng.normal(size=(2, 4)).astype(np.float32)
    r = rng.normal(size=(4, 4)).astype(np.float32)
    mask = np.array([[1, 1, 0, 1, 1], [1, 0, 1, 1, 0], [1, 1, 1, 1, 1]]).astype(dtype)
    odd = np.asfortranarray(mask) if layout == "fortran" else np.ascontiguousarray(mask.T).T
    assert not odd.flags.c_contiguous
    want = core.rnn_forward("simple_rnn", x, k, r, mask=mask, return_sequences=True)
    got = core.rnn_forward("simple_rnn", x, k, r, mask=odd, return_sequences=True)
    np.testing.assert_array_equal(got.output, want.output)
    np.testing.assert_array_equal(got.states[0], want.states[0])


@pytest.mark.parametrize("value", ["3", 1.5, True, None])
def test_set_num_threads_refuses_non_integers(value):
    import rnnkit
    before = rnnkit.get_num_threads()
    with raises_exactly(TypeError, "`n`"):
        rnnkit.set_num_threads(value)
    assert rnnkit.get_num_threads() == before


def test_set_num_threads_accepts_ints_and_numpy_integers():
    import rnnkit
    before = rnnkit.get_num_threads()
    try:
        rnnkit.set_num_threads(np.int64(2))
        assert rnnkit.get_num_threads() == 2
        rnnkit.set_num_threads(1)
        assert rnnkit.get_num_threads() == 1
    finally:
        rnnkit.set_num_threads(before)


_FLAGS = [("LSTM", "return_sequences"), ("LSTM", "go_backwards"), ("LSTM", "stateful"),
          ("LSTM", "return_state"), ("LSTM", "unroll"), ("LSTM", "use_bias"),
          ("LSTM", "unit_forget_bias"), ("GRU", "reset_after"), ("SimpleRNN", "use_bias")]


@pytest.mark.parametrize("layer, flag", _FLAGS)
@pytest.mark.parametrize("value", [np.True_, np.False_, 1, 0, np.int64(1)])
def test_layer_flags_accept_numpy_bools_and_0_1(layer, flag, value):
    import rnnkit
    x = np.ones((2, 3, 2), np.float32)
    got = getattr(rnnkit.layers, layer)(4, **{flag: value})
    want = getattr(rnnkit.layers, layer)(4, **{flag: bool(value)})
    attribute = got.cell if flag in ("use_bias", "unit_forget_bias", "reset_after") else got
    assert getattr(attribute, flag) is bool(value)
    got.build(x.shape)
    want.build(x.shape)
    want.set_weights(got.get_weights())
    got_out, want_out = got(x), want(x)
    if not isinstance(got_out, list):
        got_out, want_out = [got_out], [want_out]
    assert len(got_out) == len(want_out)
    for a, b in zip(got_out, want_out):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


@pytest.mark.parametrize("layer, flag", _FLAGS)
@pytest.mark.parametrize("value", [2, -1, "yes", 1.0, None])
def test_layer_flags_refuse_other_values(layer, flag, value):
    import rnnkit
    with raises_exactly(TypeError, f"`{flag}`"):
        getattr(rnnkit.layers, layer)(4, **{flag: value})


# -- Empty batch (B = 0) and inputs without features (I = 0) run, as in Keras ------------------

@pytest.mark.parametrize("cell", ["simple_rnn", "gru", "lstm"])
@pytest.mark.parametrize("B, I", [(0, 2), (2, 0), (0, 0)])
def test_core_empty_batch_and_no_features(cell, B, I):
    from reference import reference_forward
    rng = np.random.default_rng(3)
    G, H, T = core.GATES[cell], 4, 3
    x = rng.normal(size=(B, T, I)).astype(np.float32)
    k = rng.normal(size=(I, G * H)).astype(np.float32)
    r = rng.normal(size=(H, G * H)).astype(np.float32)
    b = rng.normal(size=(2, G * H) if cell == "gru" else (G * H,)).astype(np.float32)
    mask = np.ones((B, T), bool)
    fwd = core.rnn_forward(cell, x, k, r, b, mask=mask, return_sequences=True, training=True)
    want, want_states = reference_forward(cell, x, k, r, b, return_sequences=True)
    assert fwd.output.shape == (B, T, H)
    np.testing.assert_allclose(fwd.output, want, rtol=1e-5, atol=1e-6)
    for got, ref in zip(fwd.states, want_states):
        assert got.shape == (B, H)
        np.testing.assert_allclose(got, ref, rtol=1e-5, atol=1e-6)
    grads = core.rnn_backward(cell, x, k, r, b, reserve=fwd.reserve, mask=mask,
                              d_output=np.ones_like(fwd.output), return_sequences=True)
    assert grads.d_x.shape == (B, T, I)
    assert grads.d_kernel.shape == (I, G * H)
    assert grads.d_recurrent_kernel.shape == (H, G * H) and grads.d_bias.shape == b.shape
    assert all(d.shape == (B, H) for d in grads.d_initial_state)
    if B == 0:  # no sample, no gradient
        assert not grads.d_recurrent_kernel.any() and not grads.d_bias.any()
    else:
        assert grads.d_bias.any()


@pytest.mark.parametrize("layer", ["SimpleRNN", "GRU", "LSTM"])
@pytest.mark.parametrize("shape", [(0, 3, 2), (2, 3, 0)])
def test_layer_empty_batch_and_no_features(layer, shape):
    import rnnkit
    out = getattr(rnnkit.layers, layer)(4, return_sequences=True, return_state=True)(
        np.ones(shape, np.float32))
    assert np.asarray(out[0]).shape == shape[:2] + (4,)
    assert all(np.asarray(s).shape == (shape[0], 4) for s in out[1:])
    assert np.isfinite(np.asarray(out[0])).all()


# -- 5. Memory before refusal: shapes, dtypes and sizes checked from the arrays' metadata --------
# Each reproducer runs in a fresh interpreter that measures, around the refused call alone, the
# growth of its peak resident memory (VmHWM) and of its peak address space (VmPeak: memory
# allocated but never touched counts there). Before the fix the first reproducer cost 4.1 GiB
# (an int8 -> bool -> uint8 copy of the mask), the second 1 GiB (a copy of `x`), the third the
# binding's outputs (B * T * units elements) before the core's shape check.

_MEMORY_PROBE = """
    import json, time
    import numpy as np
    from rnnkit import _core, core

    def peaks():
        fields = dict(line.split(":", 1) for line in open("/proc/self/status"))
        return {k: int(fields[k].split()[0]) / 1024 for k in ("VmHWM", "VmPeak")}

    # A valid call first: the core's threads and scratch exist before the measurement.
    x = np.ones((4, 3, 2), np.float32)
    core.rnn_forward("lstm", x, np.ones((2, 8), np.float32), np.ones((2, 8), np.float32),
                     training=True)
    {setup}
    before, start = peaks(), time.perf_counter()
    try:
        {call}
        error = None
    except Exception as e:
        error = [type(e).__name__, str(e), isinstance(e, ValueError), isinstance(e, TypeError)]
    seconds, after = time.perf_counter() - start, peaks()
    print(json.dumps(dict(error=error, seconds=seconds,
                          rss_mib=after["VmHWM"] - before["VmHWM"],
                          vm_mib=after["VmPeak"] - before["VmPeak"])))
"""

# "A few MiB": what a refused call may cost, resident or merely allocated.
REFUSAL_BUDGET_MIB = 8


def _refusal_cost(call, setup=""):
    """Runs `setup`, then measures the refused `call` (code, in a fresh interpreter)."""
    def indent(code, spaces):
        return textwrap.dedent(code).strip().replace("\n", "\n" + " " * spaces)
    out = _run_isolated(_MEMORY_PROBE.replace("{setup}", indent(setup, 4))
                        .replace("{call}", indent(call, 8)))
    return json.loads(out.strip().splitlines()[-1])


def _assert_cheap_refusal(result, kind, match):
    assert result["error"] is not None, "the call was accepted"
    name, message, is_value, is_type = result["error"]
    assert (is_value if kind is ValueError else is_type), result["error"]
    assert re.search(match, message), message
    assert result["rss_mib"] <= REFUSAL_BUDGET_MIB, result
    assert result["vm_mib"] <= REFUSAL_BUDGET_MIB, result
    assert result["seconds"] < 1.0, result


def test_huge_broadcast_int8_mask_is_refused_before_conversion():
    result = _refusal_cost("""
        mask = np.broadcast_to(np.int8(1), (2**31, 1))
        core.rnn_forward("lstm", np.zeros((4, 1, 1), np.float32), np.zeros((1, 4), np.float32),
                         np.zeros((1, 4), np.float32), mask=mask)
        """)
    _assert_cheap_refusal(result, ValueError, r"'mask' must have shape \(4, 1\), got \(2147483648, 1\)")


def test_broadcast_x_is_not_copied_before_a_kernel_dtype_error():
    # x is a 1 GiB stride-0 view of one float; the kernel is float64.
    result = _refusal_cost("""
        x = np.broadcast_to(np.float32(0), (2**18, 2**10, 1))
        core.rnn_forward("lstm", x, np.zeros((1, 4), np.float64), np.zeros((1, 4), np.float32))
        """)
    _assert_cheap_refusal(result, TypeError, r"'kernel' has dtype float64 but must be float32")


def test_broadcast_x_is_not_copied_before_a_backward_error():
    result = _refusal_cost("""
        x = np.broadcast_to(np.float32(0), (2**18, 2**10, 1))
        core.rnn_backward("lstm", x, np.zeros((1, 4), np.float32), np.zeros((1, 4), np.float32),
                          reserve=np.zeros(3, np.float32), d_output=np.zeros((2**18, 1), np.float32))
        """)
    _assert_cheap_refusal(result, ValueError, r"'reserve' must have shape")


@pytest.mark.parametrize("training", [False, True])
def test_zero_size_recurrent_kernel_allocates_no_outputs(training):
    # units = 2**22 fits every size check, so only the shape check refuses the call: the binding
    # used to allocate output, states and reserve (B * T * units elements, 8 GiB) first.
    result = _refusal_cost(f"""
        _core.forward(cell="simple_rnn", input_size=1, units=2**22, activation="tanh",
                      recurrent_activation="sigmoid", reset_after=True, go_backwards=False,
                      return_sequences=True, zero_output_for_mask=False, training={training},
                      x=x, kernel=kernel, recurrent_kernel=np.zeros((2**22, 0), np.float32),
                      bias=None, initial_h=None, initial_c=None, mask=None, input_dropout=None,
                      recurrent_dropout=None)
        """, setup="x, kernel = np.zeros((512, 1, 1), np.float32), np.zeros((1, 2**22), np.float32)")
    _assert_cheap_refusal(result, ValueError,
                          r"'recurrent_kernel' must have shape \(4194304, 4194304\), got \(4194304, 0\)")


def test_zero_size_recurrent_kernel_through_core_allocates_nothing():
    result = _refusal_cost("""
        core.rnn_forward("simple_rnn", x, kernel, np.zeros((2**22, 0), np.float32),
                         return_sequences=True, training=True)
        """, setup="x, kernel = np.zeros((512, 1, 1), np.float32), np.zeros((1, 2**22), np.float32)")
    _assert_cheap_refusal(result, ValueError, r"'recurrent_kernel' must have shape")


def test_raw_core_checks_every_input_before_allocating_outputs():
    # A bad mask after a huge (valid-looking) x: the binding used to allocate the outputs for
    # B * T * H before the core reached the mask.
    result = _refusal_cost("""
        _core.forward(cell="simple_rnn", input_size=1, units=H, activation="tanh",
                      recurrent_activation="sigmoid", reset_after=True, go_backwards=False,
                      return_sequences=True, zero_output_for_mask=False, training=True, x=x,
                      kernel=np.zeros((1, H), np.float32), recurrent_kernel=np.zeros((H, H), np.float32),
                      bias=None, initial_h=None, initial_c=None,
                      mask=mask, input_dropout=None,
                      recurrent_dropout=None)
        """, setup="B, T, H = 2**16, 2**8, 64; x = np.zeros((B, T, 1), np.float32); "
                   "mask = np.zeros((B, T + 1), np.uint8)")
    _assert_cheap_refusal(result, ValueError, r"'mask' must have shape \(65536, 256\)")


def test_check_forward_applies_the_core_rules_to_any_layout():
    x = np.asfortranarray(np.zeros((3, 2, 4), np.float32))
    args = dict(cell="gru", input_size=4, units=2, activation="tanh",
                recurrent_activation="sigmoid", reset_after=True, go_backwards=False,
                return_sequences=False, zero_output_for_mask=False, training=False, x=x,
                kernel=np.zeros((6, 4), np.float32).T, recurrent_kernel=np.zeros((2, 6), np.float32),
                bias=np.zeros((2, 6), np.float32), initial_h=None, initial_c=None,
                mask=np.ones((3, 2), np.int64), input_dropout=None, recurrent_dropout=None)
    assert _core.check_forward(**args) is None  # any layout, any numeric mask
    with raises_exactly(_core.InvalidArgument, r"'bias' must have shape \(2, 6\)"):
        _core.check_forward(**dict(args, bias=np.zeros(6, np.float32)))
    with raises_exactly(TypeError, "mask must hold booleans or numbers"):
        _core.check_forward(**dict(args, mask=np.ones((3, 2), complex)))
    with raises_exactly(_core.InvalidArgument, "'x' must be C-contiguous"):
        _core.forward(**dict(args, mask=None))  # the raw call reads arrays as they are
    with raises_exactly(TypeError, "'mask' must be uint8 or bool, got int64"):
        _core.forward(**args)


def test_empty_batch_state_gradients_are_taken_and_checked():
    rng = np.random.default_rng(0)
    x = np.zeros((0, 3, 2))
    k, r = rng.normal(size=(2, 16)), rng.normal(size=(4, 16))
    fwd = core.rnn_forward("lstm", x, k, r, training=True, return_sequences=True)
    kw = dict(reserve=fwd.reserve, d_output=np.zeros((0, 3, 4)), return_sequences=True)
    grads = core.rnn_backward("lstm", x, k, r, d_states=[np.zeros((0, 4)), np.zeros((0, 4))], **kw)
    assert grads.d_initial_state[0].shape == (0, 4)
    with raises_exactly(_core.InvalidArgument, r"'d_final_h' must have shape \(0, 4\)"):
        core.rnn_backward("lstm", x, k, r, d_states=[np.zeros((1, 4)), np.zeros((1, 4))], **kw)


def test_kernels_flush_denormals_and_leave_the_callers_mode():
    """A product in float32's denormal range (8e-41 here) is flushed to zero inside the core, as
    TensorFlow's and JAX's CPU kernels do (a gradient decaying through a long sequence would
    otherwise crawl through microcode assists); NumPy, on the calling thread, keeps denormals."""
    x = np.full((40, 3, 8), 1e-20, np.float32)
    kernel = np.full((8, 40), 1e-21, np.float32)
    recurrent = np.full((40, 40), 0.5, np.float32)
    result = core.rnn_forward("simple_rnn", x, kernel, recurrent, activation=None)
    assert np.all(result.output == 0)
    tiny = np.float32(1e-39)
    assert tiny * np.float32(1.0) > 0
