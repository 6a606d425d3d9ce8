"""Fuzzes rnnkit.core and rnnkit._core as an adversarial caller would, and counts what goes wrong.

Every call is generated from its index (and --seed), so any call can be replayed alone:

    python tools/fuzz.py                      # 10**6 calls, prints a summary
    python tools/fuzz.py --calls 20000 --workers 2
    python tools/fuzz.py --replay 1234        # runs call 1234 in this process, with details

A generated call is a small valid call of rnn_forward / rnn_backward (random cell, dtype, sizes
including an empty batch and no features, masks of several dtypes, dropout masks, initial states,
options, activations, NaN and Inf in the data, arrays in Fortran, strided, broadcast, misaligned
or list form), to which zero to two mutations are applied, each of which makes the call invalid:
a wrong dtype or extent, a wrong rank, a zero-size array with a huge extent, a bad name, a
non-array, a missing array, a state an LSTM does not have, a wrong reserve or d_output, wrong
`units` / `input_size` (raw level). At the raw `rnnkit._core` level every non C-contiguous or
misaligned array and every empty extent is invalid too.

Each call must either succeed (a valid call) with results that agree with tests/reference.py
(forward; for a share of the calls) and with central finite differences (backward, float64,
smooth activations, finite data) and with the same call on C-ordered copies (layouts), or be
refused (an invalid call) with a ValueError or TypeError whose message names an argument.

The supervisor runs the calls in a worker process and watches it: a worker that dies (a signal)
is a crash of the call it was running, a call that runs longer than --timeout seconds is a hang
(the worker is killed); either way a new worker goes on with the next call. Printed at the end:
the number of calls, crashes, hangs, wrongly accepted and wrongly refused calls, wrong results,
unclear messages, the exceptions by type, and the first failing call indices.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import re
import select
import subprocess
import sys
import time

import numpy as np

_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(_HERE, "..", "tests"))

from reference import reference_forward  # noqa: E402  (tests/reference.py, the oracle)

GATES = {"simple_rnn": 1, "gru": 3, "lstm": 4}
HUGE = (2**31, 2**40, 2**60, 2**62)
ACTIVATIONS = ("tanh", "sigmoid", "relu", None, "softsign", "elu")
RECURRENT_ACTIVATIONS = ("sigmoid", "hard_sigmoid", "tanh")
SMOOTH = ("tanh", "sigmoid", None, "softsign")
# Words a refusal's message must contain one of: it names what is wrong.
NAMES = ("x", "kernel", "recurrent_kernel", "bias", "initial_h", "initial_c", "initial_state",
         "mask", "input_dropout", "recurrent_dropout", "input_dropout_mask",
         "recurrent_dropout_mask", "reserve", "d_output", "d_states", "d_final_h", "d_final_c",
         "units", "input_size", "cell", "activation", "recurrent_activation")
_NAMED = re.compile(r"\b(" + "|".join(NAMES) + r")\b")
ARRAY_NAMES = ("x", "kernel", "recurrent_kernel", "bias", "initial_h", "initial_c", "mask",
               "input_dropout", "recurrent_dropout")
GRAD_NAMES = ("reserve", "d_output", "d_final_h", "d_final_c")


# ------------------------------------------------------------------------------ random choices

class NumpySource:
    """The choices a generated call makes, drawn from a NumPy generator (the test draws them
    from hypothesis instead, through the same three methods)."""

    def __init__(self, rng):
        self.rng = rng

    def integer(self, low, high):
        """An int in [low, high]."""
        return int(self.rng.integers(low, high + 1))

    def boolean(self, p=0.5):
        """True with probability p."""
        return bool(self.rng.random() < p)

    def pick(self, options):
        """One of `options`."""
        return options[self.integer(0, len(options) - 1)]


def source_for(seed, index):
    """The choices of call `index` of a run with `seed`."""
    return NumpySource(np.random.default_rng([seed, index]))


# ------------------------------------------------------------------------------ generation

def _layout(array, kind, rng):
    """`array` (C-ordered) in the layout `kind`; same values."""
    if kind == "fortran":
        return np.asfortranarray(array)
    if kind == "strided":
        big = np.zeros(array.shape[:-1] + (2 * array.shape[-1],) if array.ndim else (), array.dtype)
        view = big[..., ::2] if array.ndim else big
        view[...] = array
        return view
    if kind == "misaligned":
        buf = bytearray(array.nbytes + array.itemsize)
        out = np.frombuffer(buf, dtype=array.dtype, offset=1, count=array.size).reshape(array.shape)
        out[...] = array
        return out
    if kind == "list" and array.size:
        return array.tolist()
    return array


def make_case(src):
    """A generated call: a JSON-able dict of choices (arrays are made from its seed by
    `build_call`), with `valid` saying whether the call is valid."""
    level = src.pick(("core", "_core"))
    op = src.pick(("forward", "backward"))
    cell = src.pick(tuple(GATES))
    dtype = src.pick(("float32", "float64"))
    empty = level == "core" and src.boolean(0.1)
    case = dict(level=level, op=op, cell=cell, dtype=dtype, reset_after=src.boolean(),
                B=src.integer(0, 3) if empty else src.integer(1, 3), T=src.integer(1, 4),
                I=src.integer(0, 3) if empty else src.integer(1, 3), H=src.integer(1, 4),
                use_bias=src.boolean(0.7), initial_state=src.boolean(0.3),
                mask=src.pick((None, None, "bool", "uint8", "int8", "int64", "float32")),
                input_dropout=src.pick((None, None, "shared", "per_gate")),
                recurrent_dropout=src.pick((None, None, "shared", "per_gate")),
                go_backwards=src.boolean(), return_sequences=src.boolean(),
                zero_output_for_mask=src.boolean(), training=src.boolean(),
                activation=src.pick(ACTIVATIONS),
                recurrent_activation=src.pick(RECURRENT_ACTIVATIONS),
                special=src.pick((None,) * 6 + ("nan_x", "inf_x", "nan_kernel", "inf_kernel")),
                d_states=src.boolean(0.3), seed=src.integer(0, 2**32 - 1), layouts={},
                mutations=[])
    if level == "_core" and case["mask"] not in (None, "bool", "uint8"):
        case["mask"] = "uint8"
    names = list(ARRAY_NAMES) + (["d_output"] if op == "backward" else [])
    for name in names:
        if src.boolean(0.08):
            case["layouts"][name] = src.pick(("fortran", "strided", "broadcast", "misaligned",
                                              "list"))
    for _ in range(src.pick((0, 0, 0, 1, 1, 2))):
        case["mutations"].append(_mutation(src, case))
    case["valid"] = None  # decided by build_call, which sees the arrays
    return case


def _mutation(src, case):
    kind = src.pick(("float_dtype", "bad_dtype", "extent", "rank", "huge_zero", "name",
                     "not_array", "missing", "extra_state", "sizes_arg", "reserve"))
    target = src.pick(("x", "kernel", "recurrent_kernel", "bias", "initial_h", "mask",
                       "input_dropout", "recurrent_dropout", "d_output", "reserve"))
    return dict(kind=kind, target=target, axis=src.integer(0, 3), which=src.integer(0, 7))


def _arrays(case):
    """The logical (C-ordered) arrays of a valid call."""
    rng = np.random.default_rng(case["seed"])
    dtype = np.dtype(case["dtype"])
    cell, B, T, I, H = case["cell"], case["B"], case["T"], case["I"], case["H"]
    G = GATES[cell]

    def normal(shape, scale=1.0):
        return (rng.standard_normal(shape) * scale).astype(dtype)

    a = dict(x=normal((B, T, I)), kernel=normal((I, G * H), 0.5),
             recurrent_kernel=normal((H, G * H), 0.5), bias=None, initial_h=None,
             initial_c=None, mask=None, input_dropout=None, recurrent_dropout=None)
    if case["use_bias"]:
        shape = (2, G * H) if cell == "gru" and case["reset_after"] else (G * H,)
        a["bias"] = normal(shape, 0.5)
    if case["initial_state"]:
        a["initial_h"] = normal((B, H), 0.5)
        if cell == "lstm":
            a["initial_c"] = normal((B, H), 0.5)
    if case["mask"] is not None:
        m = rng.random((B, T)) < 0.7
        a["mask"] = m.astype(case["mask"])
    for name, width in (("input_dropout", I), ("recurrent_dropout", H)):
        kind = case[name]
        if kind is not None:
            shape = (B, width) if kind == "shared" else (G, B, width)
            a[name] = ((rng.random(shape) >= 0.3) / 0.7).astype(dtype)
    special = case["special"]
    if special is not None:
        target = a["x"] if special.endswith("_x") else a["kernel"]
        if target.size:
            flat = target.reshape(-1)
            for _ in range(int(rng.integers(1, 3))):
                flat[rng.integers(flat.size)] = np.nan if special.startswith("nan") else \
                    rng.choice([np.inf, -np.inf])
    return a, rng


def _broadcast(array, rng):
    """`array` made constant along one axis of extent > 1 and given as a stride-0 view; None if
    it has no such axis."""
    axes = [i for i, n in enumerate(array.shape) if n > 1]
    if not axes:
        return None
    axis = axes[int(rng.integers(len(axes)))]
    return np.broadcast_to(array.take([0], axis=axis), array.shape)


class Call:
    """One call ready to run: the function, its arguments, whether it is valid, the logical
    arrays (for the oracles) and what to report."""

    def __init__(self, case):
        self.case = case
        self.arrays, self.rng = _arrays(case)
        self.valid = True
        self.why = []  # why the call is invalid
        self.objects = {}  # what is passed for each array argument
        self.mutated = set()  # arguments a mutation changed

    def invalid(self, why):
        """Marks the call invalid (it must be refused)."""
        self.valid = False
        self.why.append(why)


def build_call(case):
    """A `Call` for `case`: arrays in their layouts, mutations applied, validity decided."""
    call = Call(case)
    a, rng = call.arrays, call.rng
    level = case["level"]
    for name, kind in case["layouts"].items():
        if name not in a or a[name] is None:
            continue
        if kind == "broadcast":
            b = _broadcast(a[name], rng)
            if b is None:
                continue
            a[name] = np.ascontiguousarray(b)  # the values the call sees
            call.objects[name] = b
        elif kind == "list" and level == "core" and name != "mask" and case["dtype"] == "float32":
            continue  # a list of floats is float64: a dtype error, not a layout
        else:
            call.objects[name] = _layout(a[name], kind, rng)
    for name in ARRAY_NAMES:
        call.objects.setdefault(name, a[name])
    if level == "_core":
        if case["B"] == 0 or case["I"] == 0:
            call.invalid("empty extent at the raw level")
        for name, obj in list(call.objects.items()):
            if obj is None:
                continue
            if not isinstance(obj, np.ndarray):
                call.invalid(f"{name} is not an ndarray")
            elif not (obj.flags.c_contiguous and obj.flags.aligned):
                call.invalid(f"{name} is not C-contiguous and aligned")
    call.base_options = dict(cell=case["cell"], activation=case["activation"],
                        recurrent_activation=case["recurrent_activation"],
                        reset_after=case["reset_after"], go_backwards=case["go_backwards"],
                        return_sequences=case["return_sequences"],
                        zero_output_for_mask=case["zero_output_for_mask"])
    call.options = dict(call.base_options)
    call.sizes_arg = {}
    call.grad_mutations = []
    for m in case["mutations"]:
        try:
            with np.errstate(all="ignore"):
                _apply(call, m)
        except (TypeError, ValueError, MemoryError):
            call.invalid("a second mutation of an already invalid argument")
    return call


def _present(call, names):
    return [n for n in names if call.objects.get(n) is not None]


def _huge_zero(huge, dtype, zero_first):
    """A zero-size 2-D array with one extent `huge` (as large as NumPy allows for `dtype`)."""
    huge = min(huge, (2**63 - 1) // np.dtype(dtype).itemsize)
    return np.zeros((0, huge) if zero_first else (huge, 0), dtype)


def _apply(call, m):
    """Applies mutation `m` (each makes the call invalid); some act on the gradient arguments,
    which exist only once the forward ran (kept in call.grad_mutations)."""
    case, objects, rng = call.case, call.objects, call.rng
    kind, target, which = m["kind"], m["target"], m["which"]
    dtype = np.dtype(case["dtype"])
    if target in GRAD_NAMES:
        if case["op"] == "backward" and not (target == "reserve" and case["B"] == 0):
            # (an empty batch's reserve holds nothing: rnnkit.core makes its own)
            call.grad_mutations.append(m)
            call.invalid(f"{kind} of {target}")
            return
        target = "kernel"
    if objects.get(target) is None:
        target = "kernel"
    if target in call.mutated:
        return  # a second mutation could undo the first (an extent +1 then 0)
    call.mutated.add(target)
    if target in ("x", "kernel") or kind in ("reserve", "sizes_arg"):
        call.mutated.update(("x", "kernel"))  # coupled through I: two changes could agree
    obj = objects[target]
    arr = np.asarray(obj)
    if arr.size == 0 and max(arr.shape, default=0) > 2**20 or arr.dtype.kind not in "fiub":
        raise ValueError("already made invalid by another mutation")
    if kind == "float_dtype":
        if target == "mask":
            target, arr = "kernel", np.asarray(objects["kernel"])
        other = np.float64 if dtype == np.float32 else np.float32
        objects[target] = arr.astype(other)
    elif kind == "bad_dtype":
        bad = (np.int32, np.complex64, np.bool_, object, "U3", np.float16, np.int64, np.uint16)
        choice = bad[which % len(bad)]
        if target == "mask":
            choice = (np.complex64, object, "U3")[which % 3] if case["level"] == "core" else \
                (np.complex64, object, np.float32, np.int8)[which % 4]
        objects[target] = arr.astype(choice)
    elif kind == "extent":
        shape = list(arr.shape)
        axis = m["axis"] % max(len(shape), 1)
        if target == "x":
            axis = 2
        if not shape:
            shape = [2]
        elif shape[axis] == 0 or which % 2 == 0:
            shape[axis] += 1
        else:
            shape[axis] = 0
        objects[target] = np.zeros(shape, arr.dtype)
    elif kind == "rank":
        objects[target] = arr.reshape(arr.shape + ((1, 1) if which % 3 == 0 else (1,)))
        if target.endswith("dropout") and arr.ndim == 2:
            objects[target] = arr.reshape(arr.shape + (1, 1))
    elif kind == "huge_zero":
        huge = HUGE[which % len(HUGE)]
        if target == "x":
            huge = min(huge, (2**63 - 1) // (arr.dtype.itemsize * case["T"]))
            objects[target] = np.zeros((0, case["T"], huge), arr.dtype)
        else:
            objects[target] = _huge_zero(huge, arr.dtype, which % 2 == 0)
    elif kind == "name":
        field = ("cell", "activation", "recurrent_activation")[which % 3]
        call.options[field] = (f"{call.options[field] or 'tanh'}\x00junk", "LSTMx", "nope",
                               f"{call.options[field] or 'tanh'} ")[which % 4]
        if field == "recurrent_activation" and case["cell"] == "simple_rnn":
            # SimpleRNN ignores recurrent_activation only by value; a bad name is still bad
            pass
    elif kind == "not_array":
        objects[target] = ("abc", {"a": 1}, 3 + 4j, [[1, "x"]])[which % 4]
        if case["level"] == "_core":
            objects[target] = ("abc", {"a": 1}, 1.5, [[1.0]])[which % 4]
    elif kind == "missing":
        target = ("x", "kernel", "recurrent_kernel")[which % 3]
        objects[target] = None
    elif kind == "extra_state":
        if case["cell"] == "lstm":
            if case["level"] == "core":
                call.sizes_arg["states"] = "one"  # an LSTM with [h] only
            else:
                objects["initial_c"] = np.zeros((case["B"] + 1, case["H"]), dtype)
        else:
            if case["level"] == "core":
                call.sizes_arg["states"] = "three"
            objects["initial_c"] = np.zeros((case["B"], case["H"]), dtype)
    elif kind == "sizes_arg":
        if case["level"] == "_core":
            field = ("units", "input_size")[which % 2]
            value = (case["H"] if field == "units" else case["I"])
            call.sizes_arg[field] = (value + 1, 0, -1, 2**61, value - 1 or 5)[m["axis"] % 5]
        else:
            objects["recurrent_kernel"] = np.zeros((case["H"] + 1, GATES[case["cell"]] * case["H"]),
                                                   dtype)
    elif kind == "reserve":
        objects["kernel"] = np.zeros((case["I"] + 1, GATES[case["cell"]] * case["H"]), dtype)
    call.invalid(f"{kind} of {target}")


def _apply_grad(call, m, grads):
    """A gradient-argument mutation on `grads` (reserve, d_output, d_final_h, d_final_c)."""
    kind, target, which = m["kind"], m["target"], m["which"]
    dtype = np.dtype(call.case["dtype"])
    arr = grads[target]
    if arr is None or (target == "reserve" and call.case["B"] == 0):
        target, arr = "d_output", grads["d_output"]
    if not isinstance(arr, np.ndarray):
        return  # already made invalid by another mutation
    if kind in ("missing", "name", "extra_state", "sizes_arg"):
        if target in ("reserve", "d_output"):
            grads[target] = None
        else:
            grads[target] = np.zeros((call.case["B"] + 1, call.case["H"]), dtype)
    elif kind == "float_dtype":
        grads[target] = arr.astype(np.float64 if dtype == np.float32 else np.float32)
    elif kind == "bad_dtype":
        grads[target] = arr.astype((np.int32, np.complex64, object, np.float16)[which % 4])
    elif kind in ("extent", "reserve"):
        shape = list(arr.shape)
        axis = m["axis"] % len(shape)
        shape[axis] += 1
        grads[target] = np.zeros(shape, arr.dtype)
    elif kind == "rank":
        grads[target] = arr.reshape(arr.shape + (1,))
    elif kind == "huge_zero":
        grads[target] = _huge_zero(HUGE[which % len(HUGE)], arr.dtype, False)
    elif kind == "not_array":
        grads[target] = ("abc", {"a": 1}, 1.5)[which % 3]


# ------------------------------------------------------------------------------ running

FAILURES = ("crash", "hang", "wrongly_accepted", "wrongly_refused", "wrong_result",
            "unclear_message", "other_exception")


class Failure(Exception):
    """A call that went wrong: `kind` is the counter it goes to."""

    def __init__(self, kind, detail):
        super().__init__(f"{kind}: {detail}")
        self.kind = kind
        self.detail = detail


def _states(call):
    o = call.objects
    if call.case["cell"] == "lstm":
        states = [o["initial_h"], o["initial_c"]]
        if call.sizes_arg.get("states") == "one":
            return [states[0] if states[0] is not None else np.zeros(
                (call.case["B"], call.case["H"]), call.case["dtype"])]
        if all(s is None for s in states):
            return None
        return states
    if call.sizes_arg.get("states") == "three":
        return [o["initial_h"], o["initial_c"]]
    return None if o["initial_h"] is None else [o["initial_h"]]


def _forward(call, objects=None, training=None, clean=False):
    """Runs the forward call (at the case's level); returns (output, states, reserve). With
    `objects`, on those arrays; `clean`: the unmutated options and sizes (the forward call of a
    backward case, whose mutations are the backward call's)."""
    o = call.objects if objects is None else objects
    opts, case = (call.base_options if clean else call.options), call.case
    training = case["training"] if training is None else training
    if case["level"] == "core":
        r = _core_api().rnn_forward(
            opts["cell"], o["x"], o["kernel"], o["recurrent_kernel"], o["bias"],
            initial_state=_states(call) if objects is None else _plain_states(call, o),
            mask=o["mask"], input_dropout_mask=o["input_dropout"],
            recurrent_dropout_mask=o["recurrent_dropout"], activation=opts["activation"],
            recurrent_activation=opts["recurrent_activation"], reset_after=opts["reset_after"],
            go_backwards=opts["go_backwards"], return_sequences=opts["return_sequences"],
            zero_output_for_mask=opts["zero_output_for_mask"], training=training)
        return r.output, r.states, r.reserve
    out, h, c, reserve = _raw().forward(training=training, **_raw_args(call, o, clean))
    return out, [h] if c is None else [h, c], reserve


def _plain_states(call, o):
    if o["initial_h"] is None:
        return None
    return [o["initial_h"], o["initial_c"]] if call.case["cell"] == "lstm" else [o["initial_h"]]


def _raw_args(call, o, clean=False):
    opts, case = (call.base_options if clean else call.options), call.case
    x = o["x"]
    sizes = {} if clean else call.sizes_arg
    input_size = sizes.get("input_size", case["I"])
    units = sizes.get("units", case["H"])
    return dict(cell=opts["cell"], input_size=input_size, units=units,
                activation=opts["activation"] or "linear",
                recurrent_activation=opts["recurrent_activation"],
                reset_after=opts["reset_after"], go_backwards=opts["go_backwards"],
                return_sequences=opts["return_sequences"],
                zero_output_for_mask=opts["zero_output_for_mask"], x=x, kernel=o["kernel"],
                recurrent_kernel=o["recurrent_kernel"], bias=o["bias"],
                initial_h=o["initial_h"], initial_c=o["initial_c"], mask=o["mask"],
                input_dropout=o["input_dropout"], recurrent_dropout=o["recurrent_dropout"])


def _backward(call, reserve, d_output, d_states, objects=None, need_d_x=True):
    o = call.objects if objects is None else objects
    opts, case = call.options, call.case
    if case["level"] == "core":
        g = _core_api().rnn_backward(
            opts["cell"], o["x"], o["kernel"], o["recurrent_kernel"], o["bias"],
            reserve=reserve, d_output=d_output, d_states=d_states,
            initial_state=_states(call) if objects is None else _plain_states(call, o),
            mask=o["mask"], input_dropout_mask=o["input_dropout"],
            recurrent_dropout_mask=o["recurrent_dropout"], activation=opts["activation"],
            recurrent_activation=opts["recurrent_activation"], reset_after=opts["reset_after"],
            go_backwards=opts["go_backwards"], return_sequences=opts["return_sequences"],
            zero_output_for_mask=opts["zero_output_for_mask"], need_d_x=need_d_x)
        return [g.d_x] + list(g.d_initial_state) + [g.d_kernel, g.d_recurrent_kernel, g.d_bias]
    d_states = d_states or [None, None]
    d_x, dh, dc, dk, dr, db = _raw().backward(
        reserve=reserve, d_output=d_output, d_final_h=d_states[0],
        d_final_c=d_states[1] if len(d_states) > 1 else None, need_d_x=need_d_x,
        **_raw_args(call, o))
    return [d_x, dh] + ([dc] if dc is not None else []) + [dk, dr, db]


def _core_api():
    from rnnkit import core
    return core


def _raw():
    from rnnkit import _core
    return _core


def _same(a, b):
    """Bitwise-equal arrays (NaN equal to NaN)."""
    if a is None or b is None:
        return a is None and b is None
    return a.shape == b.shape and a.dtype == b.dtype and np.array_equal(a, b, equal_nan=True)


def _close(got, want, dtype, what, inf_data=False):
    """`got` agrees with the reference `want`: same shape, NaN and infinities in the same
    places, finite values within the dtype's tolerance."""
    if got.shape != want.shape:
        raise Failure("wrong_result", f"{what}: shape {got.shape}, reference {want.shape}")
    if got.dtype != np.dtype(dtype):
        raise Failure("wrong_result", f"{what}: dtype {got.dtype}, expected {dtype}")
    g = got.astype(np.float64)
    w = want.astype(np.float64)
    if not np.array_equal(np.isnan(g), np.isnan(w)):
        extra = np.isnan(w) & ~np.isnan(g)
        if np.any(np.isnan(g) & ~np.isnan(w)) or not inf_data or g.dtype != np.float64 and \
                np.dtype(dtype) != np.float32:
            raise Failure("wrong_result", f"{what}: NaN in other places than the reference")
        if np.dtype(dtype) == np.float32:
            # Known: the core's float32 sigmoid (Eigen's packet logistic) maps -inf to a tiny
            # positive number where Keras gives 0, so 0 * inf = NaN in Keras is inf (or a
            # finite value after tanh) in rnnkit. Counted apart, not as a wrong result.
            raise Failure("inf_saturation", f"{what}: {int(extra.sum())} NaN of the reference "
                                            f"are not NaN (float32, infinite data)")
        raise Failure("wrong_result", f"{what}: NaN in other places than the reference")
    finite = np.isfinite(w)
    if not np.array_equal(g[~finite & ~np.isnan(w)], w[~finite & ~np.isnan(w)]):
        raise Failure("wrong_result", f"{what}: infinities differ from the reference")
    tol = 2e-4 if np.dtype(dtype) == np.float32 else 1e-9
    if not np.allclose(g[finite], w[finite], rtol=tol, atol=tol):
        err = np.max(np.abs(g[finite] - w[finite]))
        raise Failure("wrong_result", f"{what}: differs from the reference by {err:.3g}")


def _reference_check(call, output, states):
    a, opts, case = call.arrays, call.options, call.case
    init = None
    if a["initial_h"] is not None:
        init = [a["initial_h"], a["initial_c"]] if case["cell"] == "lstm" else [a["initial_h"]]
    with np.errstate(all="ignore"):
        want_out, want_states = reference_forward(
            case["cell"], a["x"], a["kernel"], a["recurrent_kernel"], a["bias"],
            initial_state=init, mask=a["mask"], input_dropout_mask=a["input_dropout"],
            recurrent_dropout_mask=a["recurrent_dropout"], activation=opts["activation"],
            recurrent_activation=opts["recurrent_activation"], reset_after=opts["reset_after"],
            go_backwards=opts["go_backwards"], return_sequences=opts["return_sequences"],
            zero_output_for_mask=opts["zero_output_for_mask"])
    inf_data = case["special"] in ("inf_x", "inf_kernel")
    _close(output, want_out, case["dtype"], "output", inf_data)
    for i, (s, w) in enumerate(zip(states, want_states)):
        _close(s, w, case["dtype"], f"state {i}", inf_data)


def _c_copies(call):
    """The call's arrays as C-ordered copies of the same values (a layout cross-check)."""
    return {n: (None if v is None else np.ascontiguousarray(v)) for n, v in call.arrays.items()}


def _fd_check(call, grads, d_output):
    """Central finite differences of L = sum(output * d_output) along a random direction of
    every differentiable input, against the analytic gradients (float64, smooth activations)."""
    case = call.case
    names = ["x", "kernel", "recurrent_kernel"] + (["bias"] if case["use_bias"] else []) + \
        (["initial_h"] + (["initial_c"] if case["cell"] == "lstm" else [])
         if case["initial_state"] else [])
    base = _c_copies(call)
    direction = {n: call.rng.standard_normal(base[n].shape) for n in names}
    by_name = dict(x=grads[0], initial_h=grads[1],
                   initial_c=grads[2] if case["cell"] == "lstm" else None,
                   kernel=grads[-3], recurrent_kernel=grads[-2], bias=grads[-1])
    analytic = sum(float(np.sum(by_name[n] * direction[n])) for n in names)

    def loss(sign, eps):
        moved = dict(base)
        for n in names:
            moved[n] = base[n] + sign * eps * direction[n]
        out = _forward(call, moved, training=False)[0]
        return float(np.sum(out * d_output))

    eps = 1e-6
    numeric = (loss(1, eps) - loss(-1, eps)) / (2 * eps)
    if abs(numeric - analytic) > 1e-5 * max(1.0, abs(numeric)):
        raise Failure("wrong_result", f"gradient: directional derivative {analytic!r}, finite "
                                      f"differences {numeric!r}")


def _finite(call):
    return all(v is None or np.all(np.isfinite(v)) for v in call.arrays.values()
               if v is None or v.dtype.kind == "f")


def _gradient_arguments(call, output, states):
    """(d_output, {reserve, d_output, d_final_h, d_final_c} as the backward call gets them):
    the case's gradients, with its mutations and d_output's layout applied."""
    case = call.case
    d_output = np.random.default_rng(case["seed"] + 1).standard_normal(
        output.shape).astype(case["dtype"])
    d_states = None
    if case["d_states"]:
        d_states = [np.random.default_rng(case["seed"] + 2 + i).standard_normal(
            s.shape).astype(case["dtype"]) for i, s in enumerate(states)]
    grads = dict(reserve=call.reserve, d_output=d_output,
                 d_final_h=None if d_states is None else d_states[0],
                 d_final_c=None if d_states is None or len(d_states) < 2 else d_states[1])
    mutated = set()
    for m in call.grad_mutations:
        if m["target"] in mutated:
            continue  # a second mutation could undo the first
        mutated.add(m["target"])
        try:
            with np.errstate(all="ignore"):
                _apply_grad(call, m, grads)
        except (TypeError, ValueError, MemoryError):
            pass  # a mutation of an argument another mutation made invalid
    layout = case["layouts"].get("d_output")
    g = grads["d_output"]
    if layout in ("fortran", "strided", "misaligned") and isinstance(g, np.ndarray) and \
            g.ndim and g.dtype.kind in "fiub":
        grads["d_output"] = g = _layout(g, layout, call.rng)
        if case["level"] == "_core" and not (g.flags.c_contiguous and g.flags.aligned):
            call.invalid("d_output is not C-contiguous and aligned")
    return d_output, grads


def _refusal(call, error):
    """The outcome of a call refused with `error` (a ValueError or TypeError)."""
    if call.valid:
        raise Failure("wrongly_refused", f"{type(error).__name__}: {error}")
    message = str(error)
    if not _NAMED.search(message):
        raise Failure("unclear_message", f"{type(error).__name__}: {message!r}")
    return f"refused:{type(error).__name__}"


def run_call(call, reference=True):
    """Runs `call` and checks its outcome. Returns 'ok' (a valid call, results checked) or
    'refused:<Type>' (an invalid call refused properly); raises Failure otherwise."""
    case = call.case
    try:
        if case["op"] == "forward":
            output, states, reserve = _forward(call)
            result = [output] + list(states) + [reserve]
        else:
            # The forward call runs on valid C-ordered copies; the mutations are the backward's.
            output, states, reserve = _forward(call, _c_copies(call), training=True, clean=True)
    except (ValueError, TypeError) as e:
        if call.valid or case["op"] == "forward":
            return _refusal(call, e)
        raise Failure("wrongly_refused", f"the forward call of a backward case: "
                                         f"{type(e).__name__}: {e}") from None
    except Exception as e:  # noqa: BLE001 -- any other exception type is a finding
        raise Failure("other_exception", f"{type(e).__name__}: {e}") from e
    if case["op"] == "backward":
        call.reserve = reserve
        d_output, grads = _gradient_arguments(call, output, states)
        dstates_arg = None
        if grads["d_final_h"] is not None:
            dstates_arg = [grads["d_final_h"]] + (
                [grads["d_final_c"]] if case["cell"] == "lstm" else [])
        try:
            result = _backward(call, grads["reserve"], grads["d_output"], dstates_arg)
        except (ValueError, TypeError) as e:
            return _refusal(call, e)
        except Exception as e:  # noqa: BLE001 -- any other exception type is a finding
            raise Failure("other_exception", f"{type(e).__name__}: {e}") from e
    if not call.valid:
        raise Failure("wrongly_accepted", "; ".join(call.why))
    # A valid call: check what it returned.
    if case["op"] == "forward":
        if reference:
            _reference_check(call, output, states)
        if case["layouts"]:
            again = _forward(call, _c_copies(call))
            if not all(_same(p, q) for p, q in zip(result, [again[0]] + list(again[1]) +
                                                   [again[2]])):
                raise Failure("wrong_result", "another layout gives another result")
    else:
        if any(g is not None and g.dtype != np.dtype(case["dtype"]) for g in result):
            raise Failure("wrong_result", "a gradient has another dtype")
        if reference and case["dtype"] == "float64" and case["B"] > 0 and \
                case["activation"] in SMOOTH and case["recurrent_activation"] != "hard_sigmoid" \
                and _finite(call) and not case["d_states"]:
            _fd_check(call, result, d_output)
        if case["layouts"]:
            out2, _, reserve2 = _forward(call, _c_copies(call), training=True)
            again = _backward(call, reserve2, np.ascontiguousarray(d_output), dstates_arg,
                              objects=_c_copies(call))
            if not all(_same(p, q) for p, q in zip(result, again)):
                raise Failure("wrong_result", "another layout gives other gradients")
    return "ok"


def run_case(case, reference=True):
    """Builds and runs one generated case (see run_call)."""
    return run_call(build_call(case), reference=reference)


# ------------------------------------------------------------------------------ the supervisor

def _worker(seed, start, stop, reference_every, simulate):
    """Runs calls start..stop-1, one result line each on stdout: '<index> <outcome>'.
    `simulate` maps a call index to 'crash' or 'hang' (to test the watchdog)."""
    import signal
    import warnings
    warnings.simplefilter("ignore")
    _core_api(), _raw()  # imported before the first call's watchdog starts
    out = sys.stdout
    for i in range(start, stop):
        case = make_case(source_for(seed, i))
        out.write(f"{i} start\n")
        out.flush()
        if simulate.get(i) == "crash":
            os.kill(os.getpid(), signal.SIGSEGV)
        if simulate.get(i) == "hang":
            time.sleep(3600)
        try:
            outcome = run_case(case, reference=reference_every > 0 and i % reference_every == 0)
        except Failure as f:
            outcome = f"FAIL:{f.kind} {json.dumps(str(f.detail)[:300])}"
        out.write(f"{i} {outcome}\n")
        out.flush()


def supervise(calls, seed, timeout, workers, reference_every, progress, simulate=""):
    """Runs `calls` calls in `workers` worker processes under a watchdog; returns the counts,
    up to 5 examples of each failure and the seconds taken."""
    counts = collections.Counter()
    examples = collections.defaultdict(list)
    chunks = [(calls * k // workers, calls * (k + 1) // workers) for k in range(workers)]
    running = {}

    def spawn(start, stop):
        proc = subprocess.Popen(
            [sys.executable, os.path.abspath(__file__), "--worker", "--seed", str(seed),
             "--start", str(start), "--stop", str(stop), "--reference-every",
             str(reference_every), "--simulate", simulate], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
            text=True, bufsize=1)
        running[proc.stdout.fileno()] = dict(proc=proc, stop=stop, current=None,
                                             since=time.monotonic(), buffer="")

    for start, stop in chunks:
        if stop > start:
            spawn(start, stop)
    t0 = time.monotonic()
    done = 0
    last_report = t0
    while running:
        ready, _, _ = select.select(list(running), [], [], 1.0)
        now = time.monotonic()
        for fd in ready:
            w = running[fd]
            data = os.read(fd, 1 << 16).decode()
            if not data:  # the worker exited
                proc = w["proc"]
                proc.wait()
                del running[fd]
                if w["current"] is not None:  # it died inside a call: a crash
                    counts["crash"] += 1
                    examples["crash"].append((w["current"], f"exit status {proc.returncode}"))
                    done += 1
                    if w["current"] + 1 < w["stop"]:
                        spawn(w["current"] + 1, w["stop"])
                continue
            w["buffer"] += data
            *lines, w["buffer"] = w["buffer"].split("\n")
            for line in lines:
                index, outcome = line.split(" ", 1)
                index = int(index)
                if outcome == "start":
                    w["current"], w["since"] = index, now
                    continue
                w["current"] = None
                done += 1
                if outcome.startswith("FAIL:"):
                    kind, detail = outcome[5:].split(" ", 1)
                    counts[kind] += 1
                    if len(examples[kind]) < 5:
                        examples[kind].append((index, json.loads(detail)))
                else:
                    counts[outcome] += 1
        for fd, w in list(running.items()):
            if w["current"] is not None and now - w["since"] > timeout:
                counts["hang"] += 1
                examples["hang"].append((w["current"], f"no result after {timeout} s"))
                w["proc"].kill()
                w["proc"].wait()
                del running[fd]
                done += 1
                if w["current"] + 1 < w["stop"]:
                    spawn(w["current"] + 1, w["stop"])
        if progress and now - last_report > 60:
            last_report = now
            print(f"  {done}/{calls} calls, {now - t0:.0f} s", file=sys.stderr, flush=True)
    return counts, examples, time.monotonic() - t0


def summary(counts, examples, calls, seconds, seed):
    """The printed report of a run."""
    refused = {k.split(":", 1)[1]: v for k, v in counts.items() if k.startswith("refused:")}
    failures = FAILURES
    ran = sum(counts.values())
    lines = [f"rnnkit fuzz: {calls} calls (seed {seed}) in {seconds:.0f} s; {ran} ran"
             f"{'' if ran == calls else ' (a worker could not start: ' + str(calls - ran) + ' not run)'}",
             f"  valid calls accepted, results checked: {counts['ok']}",
             f"  invalid calls refused: {sum(refused.values())} "
             f"({', '.join(f'{k} {v}' for k, v in sorted(refused.items()))})"]
    for kind in failures:
        lines.append(f"  {kind.replace('_', ' ')}: {counts[kind]}")
    lines.append(f"  known, counted apart: float32 NaN of the reference not NaN with infinite data "
                 f"(the core's sigmoid(-inf) > 0): {counts['inf_saturation']}")
    for kind in failures + ("inf_saturation",):
        for index, detail in examples.get(kind, [])[:5]:
            lines.append(f"    {kind} call {index}: {detail}  (--replay {index})")
    return "\n".join(lines)


def main(argv=None):
    """Command line: see the module docstring."""
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--calls", type=int, default=10**6)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--timeout", type=float, default=20.0, help="seconds a call may take")
    p.add_argument("--workers", type=int, default=1)
    p.add_argument("--reference-every", type=int, default=4,
                   help="check every n-th call against the reference / finite differences "
                        "(0: never)")
    p.add_argument("--replay", type=int, default=None, help="run one call here, verbosely")
    p.add_argument("--quiet", action="store_true")
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--start", type=int, default=0, help=argparse.SUPPRESS)
    p.add_argument("--stop", type=int, default=0, help=argparse.SUPPRESS)
    p.add_argument("--simulate", default="", help=argparse.SUPPRESS)  # '12:crash,40:hang'
    args = p.parse_args(argv)
    if args.worker:
        simulate = dict((int(k), v) for k, v in
                        (item.split(":") for item in args.simulate.split(",") if item))
        _worker(args.seed, args.start, args.stop, args.reference_every, simulate)
        return 0
    if args.replay is not None:
        case = make_case(source_for(args.seed, args.replay))
        print(json.dumps(case, indent=1))
        print(run_case(case))
        return 0
    counts, examples, seconds = supervise(args.calls, args.seed, args.timeout, args.workers,
                                          args.reference_every, not args.quiet, args.simulate)
    print(summary(counts, examples, args.calls, seconds, args.seed))
    return 1 if sum(counts[k] for k in FAILURES) or sum(counts.values()) != args.calls else 0


if __name__ == "__main__":
    sys.exit(main())
