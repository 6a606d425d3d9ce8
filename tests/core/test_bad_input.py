"""Invalid arguments: the right exception type, and a message naming the offending argument (and,
for shapes, the shape actually given). Also the layouts core.py must repair before the C++ core."""

from __future__ import annotations

import numpy as np
import pytest

import rnnkit._core  # noqa: F401  (a broken build fails here rather than skipping)

from rnnkit import _core, core  # noqa: E402

from helpers import VARIANT_IDS, VARIANTS, bias_shape, make_case, name_pattern  # noqa: E402
from helpers import shape_pattern  # noqa: E402
from reference import GATES  # noqa: E402
from helpers import assert_close  # noqa: E402

B, T, I, H = 2, 3, 4, 5

# What the message may call each argument: the Python name, or the C++ core's name for it.
NAMES = {
    "x": ("x",),
    "kernel": ("kernel",),
    "recurrent_kernel": ("recurrent_kernel",),
    "bias": ("bias",),
    "initial_state": ("initial_state", "initial_h", "initial_c"),
    "initial_h": ("initial_state", "initial_h"),
    "initial_c": ("initial_state", "initial_c"),
    "mask": ("mask",),
    "input_dropout_mask": ("input_dropout_mask", "input_dropout"),
    "recurrent_dropout_mask": ("recurrent_dropout_mask", "recurrent_dropout"),
    "reserve": ("reserve",),
    "d_output": ("d_output",),
    "d_states": ("d_states", "d_final_h", "d_final_c"),
    "d_h": ("d_states", "d_final_h"),
    "d_c": ("d_states", "d_final_c"),
}


def names(arg):
    return name_pattern(*NAMES[arg])


def shape_error(arg, shape):
    """match= pattern: the argument's name, then (anywhere) the numbers of the given shape."""
    return rf"(?s)(?=.*{names(arg)})(?=.*{shape_pattern(shape)})"


def build(cell="lstm", reset_after=True, dtype=np.float64, seed=0, **make):
    rng = np.random.default_rng(seed)
    make.setdefault("initial_state", True)
    make.setdefault("mask", "holes")
    make.setdefault("input_dropout", "shared")
    make.setdefault("recurrent_dropout", "shared")
    args, kw = make_case(rng, cell, B, T, I, H, reset_after=reset_after, dtype=dtype, **make)
    return list(args), kw


def call(args, kw):
    return core.rnn_forward(*args, **kw)


def sanity(args, kw):
    """The unmodified call works (so every failure below is due to the one change made)."""
    call(args, kw)


CELL_PARAMS = pytest.mark.parametrize("variant", VARIANTS, ids=VARIANT_IDS)


def x_kernel_mismatch():
    """x and kernel disagree on I (one has I + 1): blaming either is fair, with both sizes shown."""
    return rf"(?s)(?=.*(?:{names('x')}|{names('kernel')}))(?=.*{I + 1})(?=.*{I})"

# ------------------------------------------------------------------ forward: shapes


@CELL_PARAMS
@pytest.mark.parametrize("shape", [(B, T * I), (B, T, I, 1), (B * T, I), (B * T * I,)])
def test_x_rank(variant, shape):
    args, kw = build(*variant)
    sanity(args, kw)
    args[1] = args[1].reshape(shape)
    with pytest.raises(ValueError, match=shape_error("x", shape)):
        call(args, kw)


@CELL_PARAMS
def test_x_feature_mismatch(variant):
    cell, reset_after = variant
    args, kw = build(*variant)
    args[1] = np.ones((B, T, I + 1))
    with pytest.raises(ValueError, match=x_kernel_mismatch()):
        call(args, kw)


@CELL_PARAMS
@pytest.mark.parametrize("which", ["rank1", "rank3", "rows", "cols"])
def test_kernel_shape(variant, which):
    cell, reset_after = variant
    G = GATES[cell]
    args, kw = build(*variant)
    shape = {"rank1": (I * G * H,), "rank3": (I, G, H), "rows": (I + 1, G * H),
             "cols": (I, G * H + 1)}[which]
    args[2] = np.ones(shape)
    pattern = shape_error("kernel", shape)
    if which == "rows":
        pattern = x_kernel_mismatch()
    with pytest.raises(ValueError, match=pattern):
        call(args, kw)


@CELL_PARAMS
@pytest.mark.parametrize("which", ["rank1", "rank3", "cols", "cols_short"])
def test_recurrent_kernel_shape(variant, which):
    cell, reset_after = variant
    G = GATES[cell]
    args, kw = build(*variant)
    # (Row-count mismatches are left out: whether kernel or recurrent_kernel then defines H,
    # and so which one is "wrong", is the core's choice.)
    shape = {"rank1": (H * G * H,), "rank3": (H, G, H), "cols": (H, G * H + 1),
             "cols_short": (H, G * H - 1)}[which]
    args[3] = np.ones(shape)
    with pytest.raises(ValueError, match=shape_error("recurrent_kernel", shape)):
        call(args, kw)


@CELL_PARAMS
@pytest.mark.parametrize("which", ["long", "short", "rank3", "scalar"])
def test_bias_shape(variant, which):
    cell, reset_after = variant
    args, kw = build(*variant)
    good = bias_shape(cell, H, reset_after)
    shape = {"long": good[:-1] + (good[-1] + 1,), "short": good[:-1] + (good[-1] - 1,),
             "rank3": (1,) + good + (1,) if len(good) == 1 else (1,) + good,
             "scalar": ()}[which]
    args[4] = np.ones(shape)
    pattern = shape_error("bias", shape) if shape else names("bias")
    with pytest.raises(ValueError, match=pattern):
        call(args, kw)


@pytest.mark.parametrize("reset_after", [True, False])
def test_gru_bias_of_other_variant(reset_after):
    args, kw = build("gru", reset_after)
    sanity(args, kw)
    other = bias_shape("gru", H, not reset_after)
    args[4] = np.ones(other)
    with pytest.raises(ValueError, match=shape_error("bias", other)):
        call(args, kw)


@CELL_PARAMS
@pytest.mark.parametrize("shape", [(B, H + 1), (B + 1, H), (B * H,), (1, B, H)])
def test_initial_h_shape(variant, shape):
    args, kw = build(*variant)
    kw["initial_state"][0] = np.ones(shape)
    with pytest.raises(ValueError, match=shape_error("initial_h", shape)):
        call(args, kw)


@pytest.mark.parametrize("shape", [(B, H + 1), (B + 1, H), (B * H,)])
def test_initial_c_shape(shape):
    args, kw = build("lstm")
    kw["initial_state"][1] = np.ones(shape)
    with pytest.raises(ValueError, match=shape_error("initial_c", shape)):
        call(args, kw)


def test_lstm_initial_state_with_one_array():
    args, kw = build("lstm")
    kw["initial_state"] = [kw["initial_state"][0]]
    with pytest.raises(ValueError, match=names("initial_state")):
        call(args, kw)
    kw["initial_state"] = kw["initial_state"][0]      # a bare array
    with pytest.raises(ValueError, match=names("initial_state")):
        call(args, kw)


@pytest.mark.parametrize("variant", VARIANTS[:3], ids=VARIANT_IDS[:3])
def test_one_state_cell_with_two_initial_arrays(variant):
    args, kw = build(*variant)
    kw["initial_state"] = kw["initial_state"] * 2
    with pytest.raises(ValueError, match=names("initial_state")):
        call(args, kw)


@CELL_PARAMS
@pytest.mark.parametrize("shape", [(B, T + 1), (B + 1, T), (B * T,), (B, T, 1), (T, B)])
def test_mask_shape(variant, shape):
    args, kw = build(*variant)
    kw["mask"] = np.ones(shape, dtype=bool)
    with pytest.raises(ValueError, match=shape_error("mask", shape)):
        call(args, kw)


def _dropout_shapes(G, n):
    return [(B, n + 1), (B + 1, n), (B * n,), (G + 1, B, n), (G, B + 1, n), (G, B, n + 1),
            (1, G, B, n)] + ([(G - 1, B, n)] if G > 1 else [])


def _dropout_cases(width):
    return [pytest.param(variant, shape, id=f"{vid}-{shape}")
            for variant, vid in zip(VARIANTS, VARIANT_IDS)
            for shape in _dropout_shapes(GATES[variant[0]], width)]


@pytest.mark.parametrize("variant,shape", _dropout_cases(I))
def test_input_dropout_shape(variant, shape):
    args, kw = build(*variant)
    kw["input_dropout_mask"] = np.ones(shape)
    with pytest.raises(ValueError, match=shape_error("input_dropout_mask", shape)):
        call(args, kw)


@pytest.mark.parametrize("variant,shape", _dropout_cases(H))
def test_recurrent_dropout_shape(variant, shape):
    args, kw = build(*variant)
    kw["recurrent_dropout_mask"] = np.ones(shape)
    with pytest.raises(ValueError, match=shape_error("recurrent_dropout_mask", shape)):
        call(args, kw)


# ------------------------------------------------------------------ forward: sizes


@CELL_PARAMS
@pytest.mark.parametrize("dim", ["T"])  # B = 0 and I = 0 run as in Keras (test_hardening)
def test_zero_sizes(variant, dim):
    cell, reset_after = variant
    G = GATES[cell]
    b, t, i = (0 if dim == "B" else B), (0 if dim == "T" else T), (0 if dim == "I" else I)
    rng = np.random.default_rng(1)
    x = np.ones((b, t, i))
    kernel = np.ones((i, G * H))
    recurrent = rng.normal(size=(H, G * H))
    bias = np.zeros(bias_shape(cell, H, reset_after))
    # The message names what is empty: x (or its batch / timesteps / input size), or the kernel
    # whose rows are the input size.
    pattern = rf"(?i){names('x')}|{names('kernel')}|batch|time|input|empty|zero|positive"
    with pytest.raises(ValueError, match=pattern):
        core.rnn_forward(cell, x, kernel, recurrent, bias, reset_after=reset_after)


@CELL_PARAMS
def test_zero_units(variant):
    cell, reset_after = variant
    x = np.ones((B, T, I))
    kernel = np.ones((I, 0))
    recurrent = np.ones((0, 0))
    pattern = rf"(?i){names('kernel')}|{names('recurrent_kernel')}|units|empty|zero|positive"
    with pytest.raises(ValueError, match=pattern):
        core.rnn_forward(cell, x, kernel, recurrent, None, reset_after=reset_after)


# ------------------------------------------------------------------ forward: dtypes

FLOAT_ARGS = ["x", "kernel", "recurrent_kernel", "bias", "initial_h", "initial_c",
              "input_dropout_mask", "recurrent_dropout_mask"]


def _replace(args, kw, arg, fn):
    pos = {"x": 1, "kernel": 2, "recurrent_kernel": 3, "bias": 4}
    if arg in pos:
        args[pos[arg]] = fn(args[pos[arg]])
    elif arg == "initial_h":
        kw["initial_state"][0] = fn(kw["initial_state"][0])
    elif arg == "initial_c":
        kw["initial_state"][1] = fn(kw["initial_state"][1])
    else:
        kw[arg] = fn(kw[arg])


@pytest.mark.parametrize("arg", FLOAT_ARGS)
@pytest.mark.parametrize("bad", [np.int64, np.int32, np.float16, np.complex128, np.bool_],
                         ids=lambda d: np.dtype(d).name)
def test_non_float_dtype(arg, bad):
    args, kw = build("lstm")
    _replace(args, kw, arg, lambda a: a.astype(bad))
    with pytest.raises(TypeError, match=names(arg)):
        call(args, kw)


@pytest.mark.parametrize("arg", FLOAT_ARGS)
@pytest.mark.parametrize("base,odd", [(np.float64, np.float32), (np.float32, np.float64)],
                         ids=["f64_with_one_f32", "f32_with_one_f64"])
def test_mixed_float_dtypes(arg, base, odd):
    args, kw = build("lstm", dtype=base)
    sanity(args, kw)
    _replace(args, kw, arg, lambda a: a.astype(odd))
    if arg == "x":
        # Every other argument disagrees with x: blaming x or the first weight is fair.
        pattern = rf"{names('x')}|{names('kernel')}"
    else:
        pattern = names(arg)
    with pytest.raises(TypeError, match=pattern):
        call(args, kw)


@pytest.mark.parametrize("variant", VARIANTS[1:3], ids=VARIANT_IDS[1:3])
def test_mixed_dtype_gru(variant):
    args, kw = build(*variant, dtype=np.float32)
    args[4] = args[4].astype(np.float64)
    with pytest.raises(TypeError, match=names("bias")):
        call(args, kw)


def test_mask_of_strings():
    args, kw = build("gru")
    kw["mask"] = np.array([["a"] * T] * B)
    with pytest.raises(TypeError, match=names("mask")):
        call(args, kw)


# ------------------------------------------------------------------ forward: names


@pytest.mark.parametrize("cell", ["rnn", "LSTM", "lstm ", "", "simple-rnn", None])
def test_unknown_cell(cell):
    args, kw = build("lstm")
    args[0] = cell
    with pytest.raises(ValueError, match=r"(?<![A-Za-z_])cell(?![A-Za-z_])"):
        call(args, kw)


@CELL_PARAMS
@pytest.mark.parametrize("bad", ["no_such_activation", "Tanh", "hard_sigmoid_v2", ""])
def test_unknown_activation(variant, bad):
    args, kw = build(*variant)
    with pytest.raises(ValueError, match=name_pattern("activation")):
        call(args, dict(kw, activation=bad))


@pytest.mark.parametrize("variant", VARIANTS[1:], ids=VARIANT_IDS[1:])
@pytest.mark.parametrize("bad", ["no_such_activation", "Sigmoid", "hardsigmoid"])
def test_unknown_recurrent_activation(variant, bad):
    args, kw = build(*variant)
    with pytest.raises(ValueError, match=name_pattern("recurrent_activation")):
        call(args, dict(kw, recurrent_activation=bad))


@pytest.mark.parametrize("arg", ["activation", "recurrent_activation"])
@pytest.mark.parametrize("bad", [3, np.tanh, b"tanh"], ids=["int", "function", "bytes"])
def test_activation_not_a_string(arg, bad):
    args, kw = build("lstm")
    with pytest.raises(TypeError, match=name_pattern(arg)):
        call(args, dict(kw, **{arg: bad}))


# ------------------------------------------------------------------ backward


def trained(cell="lstm", reset_after=True, return_sequences=True, dtype=np.float64):
    args, kw = build(cell, reset_after, dtype=dtype)
    kw["return_sequences"] = return_sequences
    fwd = core.rnn_forward(*args, **kw, training=True)
    rng = np.random.default_rng(3)
    d_output = rng.normal(size=fwd.output.shape).astype(dtype)
    d_states = [rng.normal(size=s.shape).astype(dtype) for s in fwd.states]
    return args, kw, fwd, d_output, d_states


_SAME = object()


def back(args, kw, fwd, d_output, d_states, reserve=_SAME):
    return core.rnn_backward(*args, **kw, reserve=fwd.reserve if reserve is _SAME else reserve,
                             d_output=d_output, d_states=d_states)


@CELL_PARAMS
def test_backward_sanity(variant):
    args, kw, fwd, d_output, d_states = trained(*variant)
    back(args, kw, fwd, d_output, d_states)


@CELL_PARAMS
@pytest.mark.parametrize("return_sequences", [True, False])
def test_d_output_shape(variant, return_sequences):
    args, kw, fwd, d_output, d_states = trained(*variant, return_sequences=return_sequences)
    wrong = [(B, H), (B, T, H), (B, T, H + 1), (B, H + 1), (B, T, H, 1), (B * T * H,)]
    for shape in wrong:
        if shape == d_output.shape:
            continue
        with pytest.raises(ValueError, match=shape_error("d_output", shape)):
            back(args, kw, fwd, np.ones(shape), d_states)
    if return_sequences:
        with pytest.raises(ValueError, match=shape_error("d_output", (B, T + 1, H))):
            back(args, kw, fwd, np.ones((B, T + 1, H)), d_states)


@CELL_PARAMS
@pytest.mark.parametrize("shape", [(B, H + 1), (B + 1, H), (B * H,)])
def test_d_states_shape(variant, shape):
    cell, _ = variant
    args, kw, fwd, d_output, d_states = trained(*variant)
    bad = list(d_states)
    bad[0] = np.ones(shape)
    with pytest.raises(ValueError, match=shape_error("d_h", shape)):
        back(args, kw, fwd, d_output, bad)
    if cell == "lstm":
        bad = [d_states[0], np.ones(shape)]
        with pytest.raises(ValueError, match=shape_error("d_c", shape)):
            back(args, kw, fwd, d_output, bad)


def test_lstm_d_states_with_one_array():
    args, kw, fwd, d_output, d_states = trained("lstm")
    with pytest.raises(ValueError, match=names("d_states")):
        back(args, kw, fwd, d_output, d_states[:1])


@CELL_PARAMS
def test_reserve_wrong_size(variant):
    args, kw, fwd, d_output, d_states = trained(*variant)
    for bad in (fwd.reserve[:-1], np.concatenate([fwd.reserve, fwd.reserve[:1]]),
                fwd.reserve.reshape(1, -1), np.zeros(0)):
        with pytest.raises(ValueError, match=names("reserve")):
            back(args, kw, fwd, d_output, d_states, reserve=bad)


@CELL_PARAMS
def test_reserve_from_other_batch(variant):
    cell, reset_after = variant
    args, kw, fwd, d_output, d_states = trained(*variant)
    small_args = list(args)
    small_args[1] = np.ascontiguousarray(args[1][:1])
    small_kw = dict(kw, mask=kw["mask"][:1], initial_state=[s[:1] for s in kw["initial_state"]],
                    input_dropout_mask=kw["input_dropout_mask"][:1],
                    recurrent_dropout_mask=kw["recurrent_dropout_mask"][:1])
    small = core.rnn_forward(*small_args, **small_kw, training=True)
    if small.reserve.size == fwd.reserve.size:
        pytest.skip("reserve size does not depend on the batch")
    with pytest.raises(ValueError, match=names("reserve")):
        back(args, kw, fwd, d_output, d_states, reserve=small.reserve)


@pytest.mark.parametrize("base,odd", [(np.float64, np.float32), (np.float32, np.float64)],
                         ids=["f64", "f32"])
@pytest.mark.parametrize("arg", ["reserve", "d_output", "d_h", "d_c"])
def test_backward_mixed_dtypes(base, odd, arg):
    args, kw, fwd, d_output, d_states = trained("lstm", dtype=base)
    reserve = fwd.reserve
    d_states = list(d_states)
    if arg == "reserve":
        reserve = reserve.astype(odd)
    elif arg == "d_output":
        d_output = d_output.astype(odd)
    else:
        k = 0 if arg == "d_h" else 1
        d_states[k] = d_states[k].astype(odd)
    with pytest.raises(TypeError, match=names(arg)):
        back(args, kw, fwd, d_output, d_states, reserve=reserve)


@pytest.mark.parametrize("arg", ["reserve", "d_output"])
def test_backward_int_dtypes(arg):
    args, kw, fwd, d_output, d_states = trained("gru")
    reserve = fwd.reserve
    if arg == "reserve":
        reserve = reserve.astype(np.int64)
    else:
        d_output = d_output.astype(np.int64)
    with pytest.raises(TypeError, match=names(arg)):
        back(args, kw, fwd, d_output, d_states, reserve=reserve)


@CELL_PARAMS
@pytest.mark.parametrize("arg", ["x", "kernel", "recurrent_kernel", "bias", "mask",
                                 "input_dropout_mask", "recurrent_dropout_mask", "initial_h"])
def test_backward_validates_inputs(variant, arg):
    """rnn_backward validates the forward inputs too (same rules as rnn_forward)."""
    args, kw, fwd, d_output, d_states = trained(*variant)

    def grow(a):
        return np.ones(a.shape[:-1] + (a.shape[-1] + 1,), dtype=a.dtype)

    if arg == "mask":
        kw["mask"] = np.ones((B, T + 1), bool)
        shape = (B, T + 1)
    else:
        holder = {}

        def fn(a):
            holder["shape"] = a.shape[:-1] + (a.shape[-1] + 1,)
            return grow(a)
        kw = dict(kw, initial_state=list(kw["initial_state"]))
        _replace(args, kw, arg, fn)
        shape = holder["shape"]
    pattern = shape_error(arg, shape)
    if arg == "x":
        pattern = rf"{names('x')}|{names('kernel')}"
    with pytest.raises(ValueError, match=pattern):
        back(args, kw, fwd, d_output, d_states)


def test_backward_without_reserve_raises():
    args, kw, fwd, d_output, d_states = trained("lstm")
    with pytest.raises(ValueError, match=names("reserve")):
        back(args, kw, fwd, d_output, d_states, reserve=None)


# ------------------------------------------------------------------ layouts


def _raw_args(args, kw):
    """The keyword arguments core.py passes to _core.forward."""
    return core._common(args[0], args[1], args[2], args[3], args[4], kw.get("initial_state"),
                        kw.get("mask"), kw.get("input_dropout_mask"),
                        kw.get("recurrent_dropout_mask"), "tanh", "sigmoid",
                        kw.get("reset_after", True), False, True, False)


def _misaligned(a):
    """A copy of `a` whose data pointer is not aligned to its element size."""
    buf = bytearray(a.nbytes + a.itemsize)
    out = np.frombuffer(buf, dtype=a.dtype, offset=1, count=a.size).reshape(a.shape)
    out[...] = a
    assert out.ctypes.data % a.itemsize != 0 and not out.flags.aligned
    return out


def test_raw_core_accepts_what_core_py_builds():
    args, kw = build("lstm")
    raw = _raw_args(args, kw)
    out, h, c, reserve = _core.forward(training=False, **raw)
    np.testing.assert_array_equal(out, core.rnn_forward(*args, **kw,
                                                        return_sequences=True).output)


LAYOUT_ARGS = ["x", "kernel", "recurrent_kernel", "bias", "initial_h", "input_dropout",
               "recurrent_dropout"]


# A Fortran-ordered copy of the 1-D bias is C-contiguous too: no such case for it.
@pytest.mark.parametrize("arg,layout", [(a, layout) for a in LAYOUT_ARGS
                                        for layout in ("strided", "fortran", "misaligned")
                                        if not (a == "bias" and layout == "fortran")])
def test_raw_core_rejects_bad_layout(arg, layout):
    args, kw = build("lstm", dtype=np.float32)
    raw = _raw_args(args, kw)
    a = raw[arg]
    if layout == "strided":
        big = np.zeros(a.shape[:-1] + (2 * a.shape[-1],), dtype=a.dtype)
        big[..., ::2] = a
        bad = big[..., ::2]
        assert not bad.flags.c_contiguous
    elif layout == "fortran":
        bad = np.asfortranarray(a)
        assert not bad.flags.c_contiguous
    else:
        bad = _misaligned(a)
    raw[arg] = bad
    with pytest.raises(ValueError, match=name_pattern(arg)):
        _core.forward(training=False, **raw)


@pytest.mark.parametrize("variant", VARIANTS, ids=VARIANT_IDS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
def test_core_py_handles_strided_and_misaligned(variant, dtype):
    cell, reset_after = variant
    # Same values, up to rounding (bit-identity across calls is tested in test_forward_parity /
    # test_gradients; here only the layout handling is in question).
    t = 1e-6 if dtype == np.float32 else 1e-14

    def assert_same(a, b):
        assert_close(a, b, rtol=t, atol=t)

    args, kw = build(cell, reset_after, dtype=dtype, input_dropout="per_gate")
    kw["return_sequences"] = True
    want = core.rnn_forward(*args, **kw, training=True)

    # A strided view x[:, ::2] of a longer sequence.
    long = np.zeros((B, 2 * T, I), dtype=dtype)
    long[:, ::2] = args[1]
    strided = long[:, ::2]
    assert not strided.flags.c_contiguous
    got = core.rnn_forward(args[0], strided, *args[2:], **kw)
    assert_same(got.output, want.output)

    # Every float argument misaligned (and a transposed-view kernel).
    mis_args = [args[0], _misaligned(args[1]), np.asfortranarray(args[2]),
                _misaligned(args[3]), _misaligned(args[4])]
    mis_kw = dict(kw, initial_state=[_misaligned(s) for s in kw["initial_state"]],
                  input_dropout_mask=_misaligned(kw["input_dropout_mask"]),
                  recurrent_dropout_mask=_misaligned(kw["recurrent_dropout_mask"]))
    got = core.rnn_forward(*mis_args, **mis_kw, training=True)
    assert_same(got.output, want.output)
    for a, b in zip(got.states, want.states):
        assert_same(a, b)

    # Backward too, with misaligned d_output / d_states / reserve.
    rng = np.random.default_rng(5)
    d_out = rng.normal(size=want.output.shape).astype(dtype)
    d_states = [rng.normal(size=s.shape).astype(dtype) for s in want.states]
    g_want = core.rnn_backward(*args, **kw, reserve=want.reserve, d_output=d_out,
                               d_states=d_states)
    g_got = core.rnn_backward(*mis_args, **mis_kw, reserve=_misaligned(got.reserve),
                              d_output=_misaligned(d_out),
                              d_states=[_misaligned(d) for d in d_states])
    assert_same(g_got.d_x, g_want.d_x)
    assert_same(g_got.d_kernel, g_want.d_kernel)
    assert_same(g_got.d_recurrent_kernel, g_want.d_recurrent_kernel)
    assert_same(g_got.d_bias, g_want.d_bias)
    for a, b in zip(g_got.d_initial_state, g_want.d_initial_state):
        assert_same(a, b)


def test_python_lists_are_accepted():
    args, kw = build("simple_rnn", mask="none", input_dropout=None, recurrent_dropout=None,
                     initial_state=False)
    want = core.rnn_forward(*args, **kw)
    lists = [args[0]] + [a.tolist() for a in args[1:]]
    got = core.rnn_forward(*lists, **kw)
    np.testing.assert_array_equal(got.output, want.output)
