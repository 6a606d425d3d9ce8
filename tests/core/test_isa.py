"""Run-time ISA dispatch of the CPU kernels (cpp/src/cpu/isa.h): each level this CPU runs, forced
with RNNKIT_ISA in a subprocess, gives bit-identical results for any thread count, and the levels
agree with each other within 1e-5 (float32) / 1e-12 (float64), outputs and gradients of all
three cells (and the streaming step); a level that is unknown, not built, or beyond this CPU is
refused at import."""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys

import numpy as np
import pytest

import rnnkit
from rnnkit import _core, build_info
from helpers import assert_close, assert_same
import paths

INFO = _core.build_info()
COMPILED = list(INFO["isa_compiled"])
SUPPORTED = list(INFO["isa_supported"])
NAMES = ("baseline", "avx2", "avx512", "native")

# Computes forward outputs, final states and every gradient of the three cells (both GRU
# variants), float32 and float64, with a mask, initial states, a bias and dropout masks, at two
# shapes (one with SIMD tails, one large enough to split across threads), once per thread count;
# and a streamed inference step by step with the whole-sequence inference it must equal;
# saves them to argv[1] (npz) and the chosen level to argv[1] + ".json".
WORKER = r'''
import json, sys
import numpy as np
import rnnkit
from rnnkit import core

GATES = {"simple_rnn": 1, "gru": 3, "lstm": 4}
out = {}
for threads in (1, 4):
    rnnkit.set_num_threads(threads)
    for shape_id, (B, T, I, H) in enumerate([(13, 9, 19, 37), (32, 6, 64, 160)]):
        for cell, reset_after in [("simple_rnn", True), ("gru", True), ("gru", False),
                                  ("lstm", True)]:
            for dtype in (np.float32, np.float64):
                rng = np.random.default_rng(1234 + shape_id)
                G = GATES[cell]
                kernel = (rng.uniform(-1, 1, (I, G * H)) / np.sqrt(I)).astype(dtype)
                recurrent = (rng.uniform(-1, 1, (H, G * H)) / np.sqrt(H)).astype(dtype)
                bias_shape = (2, 3 * H) if cell == "gru" and reset_after else (G * H,)
                bias = rng.uniform(-0.5, 0.5, bias_shape).astype(dtype)
                x = rng.uniform(-1.5, 1.5, (B, T, I)).astype(dtype)
                states = [rng.uniform(-0.8, 0.8, (B, H)).astype(dtype)
                          for _ in range(2 if cell == "lstm" else 1)]
                mask = rng.random((B, T)) < 0.8
                mask[:, 0] = True
                in_drop = (rng.random((G, B, I)) < 0.8).astype(dtype) / dtype(0.8)
                rec_drop = (rng.random((B, H)) < 0.8).astype(dtype) / dtype(0.8)
                kw = dict(initial_state=states, mask=mask, input_dropout_mask=in_drop,
                          recurrent_dropout_mask=rec_drop, reset_after=reset_after,
                          return_sequences=True)
                fwd = core.rnn_forward(cell, x, kernel, recurrent, bias, training=True, **kw)
                d_out = rng.normal(size=fwd.output.shape).astype(dtype)
                d_states = [rng.normal(size=s.shape).astype(dtype) for s in fwd.states]
                grads = core.rnn_backward(cell, x, kernel, recurrent, bias, reserve=fwd.reserve,
                                          d_output=d_out, d_states=d_states, **kw)
                key = f"{threads}/{shape_id}/{cell}{'' if reset_after else '_before'}/" \
                      f"{np.dtype(dtype).name}"
                out[key + "/output"] = fwd.output
                for i, s in enumerate(fwd.states):
                    out[key + f"/state{i}"] = s
                out[key + "/d_x"] = grads.d_x
                out[key + "/d_kernel"] = grads.d_kernel
                out[key + "/d_recurrent_kernel"] = grads.d_recurrent_kernel
                out[key + "/d_bias"] = grads.d_bias
                for i, s in enumerate(grads.d_initial_state):
                    out[key + f"/d_state{i}"] = s
                # Streaming inference (rnnkit::Stream's kernel, dispatched like the rest) and
                # the whole-sequence inference it must equal bit for bit.
                stream = core.RNNStream(cell, kernel, recurrent, bias, batch_size=B,
                                        reset_after=reset_after)
                out[key + "/stream"] = np.stack([stream.step(x[:, t]) for t in range(T)], 1)
                out[key + "/inference"] = core.rnn_forward(
                    cell, x, kernel, recurrent, bias, reset_after=reset_after,
                    return_sequences=True).output
np.savez(sys.argv[1], **out)
with open(sys.argv[1] + ".json", "w") as handle:
    json.dump({"isa": rnnkit._core.cpu_isa(), "config": rnnkit.build_info.format_config()},
              handle)
'''


def _env(level):
    env = dict(os.environ)
    env.pop("RNNKIT_ISA", None)
    if level is not None:
        env["RNNKIT_ISA"] = level
    return env


# Imports rnnkit; exits 3 printing the message when that raises ValueError.
IMPORT = """
import sys
try:
    import rnnkit
except ValueError as error:
    print(error)
    sys.exit(3)
"""


def _python(code, level, *args):
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True,
                          env=_env(level), timeout=300)


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    """{level: (arrays, facts)} for every level this CPU runs, each from its own process."""
    folder = tmp_path_factory.mktemp("isa")
    found = {}
    for level in SUPPORTED:
        path = folder / f"{level}.npz"
        done = _python(WORKER, level, str(path))
        assert done.returncode == 0, done.stderr
        with np.load(path) as data:
            arrays = {key: data[key] for key in data.files}
        found[level] = (arrays, json.loads(pathlib.Path(str(path) + ".json").read_text()))
    return found


def test_levels_built_and_supported():
    assert SUPPORTED and set(SUPPORTED) <= set(COMPILED)
    assert COMPILED == [name for name in NAMES if name in COMPILED]  # lowest first
    if INFO["native"]:
        assert COMPILED == ["native"]
    else:
        # The default build dispatches on x86-64; every x86-64 CPU runs the baseline.
        assert COMPILED == ["baseline", "avx2", "avx512"]
        assert SUPPORTED[0] == "baseline"
        # What the CPU reports agrees with what the dispatcher found.
        assert SUPPORTED[-1] == build_info.isa_level(build_info.cpu_flags())
    # Without RNNKIT_ISA the best supported level runs.
    if not os.environ.get("RNNKIT_ISA"):
        assert INFO["isa"] == _core.cpu_isa() == SUPPORTED[-1]


def test_each_level_runs_when_forced(results):
    for level, (_, facts) in results.items():
        assert facts["isa"] == level
        assert f"ISA running:       {level} (forced by RNNKIT_ISA={level}" in facts["config"]


def test_within_a_level_results_do_not_depend_on_threads(results):
    for level, (arrays, _) in results.items():
        keys = [key for key in arrays if key.startswith("1/")]
        assert len(keys) > 50
        for key in keys:
            assert_same(arrays["4/" + key[2:]], arrays[key], err_msg=f"{level} {key}")


def test_stream_matches_forward_at_each_level(results):
    """rnnkit::Stream's kernel and forward's come from the same level: bit for bit equal."""
    for level, (arrays, _) in results.items():
        keys = [key for key in arrays if key.endswith("/stream")]
        assert len(keys) == 32
        for key in keys:
            assert_same(arrays[key], arrays[key[:-len("stream")] + "inference"],
                        err_msg=f"{level} {key}")


def test_levels_agree(results):
    levels = list(results)
    reference, _ = results[levels[0]]
    for level in levels[1:]:
        arrays, _ = results[level]
        assert arrays.keys() == reference.keys()
        for key, desired in reference.items():
            tol = 1e-5 if desired.dtype == np.float32 else 1e-12
            scale = max(1.0, float(np.max(np.abs(desired))))
            assert_close(arrays[key], desired, rtol=tol, atol=tol * scale,
                         err_msg=f"{level} against {levels[0]}: {key}")


def test_levels_differ_only_in_rounding(results):
    """The levels really are different code: the float32 results of two levels are not all
    bit-identical (else the dispatch would not be switching kernels)."""
    if len(results) < 2:
        pytest.skip(f"this CPU runs only {SUPPORTED}")
    (a, _), (b, _) = results[SUPPORTED[0]], results[SUPPORTED[-1]]
    assert any(not np.array_equal(a[key], b[key]) for key in a if key.endswith("float32/output"))


@pytest.mark.parametrize("value", ["sse9", "AVX2", "avx-512", "native"])
def test_unknown_or_missing_level_is_refused(value):
    if value in COMPILED:
        value = "baseline" if value == "native" else "native"
    done = _python(IMPORT, value)
    assert done.returncode == 3, done.stderr
    message = done.stdout.strip()
    assert message.startswith(f"RNNKIT_ISA='{value}' ")
    for level in SUPPORTED:
        assert level in message


def test_level_the_cpu_lacks_is_refused():
    lacking = [name for name in COMPILED if name not in SUPPORTED]
    if not lacking:
        pytest.skip(f"this CPU runs every level of this build ({COMPILED})")
    done = _python(IMPORT, lacking[-1])
    assert done.returncode == 3, done.stderr
    assert done.stdout.strip() == (f"RNNKIT_ISA='{lacking[-1]}' asks for a level this CPU does "
                                   "not support; it can run " + ", ".join(SUPPORTED))


def test_auto_is_the_default():
    done = _python("import rnnkit; print(rnnkit._core.cpu_isa())", "auto")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == SUPPORTED[-1]


def test_show_config_reports_levels():
    text = build_info.format_config()
    assert f"ISA running:       {rnnkit._core.cpu_isa()} (" in text
    assert "this CPU runs " + ", ".join(SUPPORTED) in text
    assert INFO["isa_level_flags"] in text
    for level in COMPILED:
        assert level + ":" in INFO["isa_level_flags"]


def _checker():
    path = paths.TOOLS / "check_isa_symbols.py"
    if not path.exists():
        pytest.skip("tools/check_isa_symbols.py is not beside these tests (an installed copy)")
    import importlib.util
    spec = importlib.util.spec_from_file_location("check_isa_symbols", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_symbol_checker_flags_wide_registers_outside_their_level():
    """tools/check_isa_symbols.py (ctest isa_symbols) on a made-up disassembly: a shared function
    outside the avx2/avx512 levels that uses ymm/zmm registers is an offence; the levels' own
    functions, their renamed weak copies and local functions are not."""
    check = _checker()
    disassembly = "\n".join([
        "0000000000001000 <std::fill(float*, float*, float const&)>:",
        "    1000:\tvmovups %zmm0,(%rdi)",
        "0000000000001100 <Eigen::internal::pload<float __vector(8)>(float const*)>:",
        "    1100:\tvmovups (%rdi),%ymm0",
        "0000000000001200 <rnnkit::cpu::avx512::gemm<float>(long)>:",
        "    1200:\tvfmadd231ps %zmm1,%zmm2,%zmm0",
        "0000000000001300 <std::fill(float*, float*, float const&) [clone .rnnkit_avx2]>:",
        "    1300:\tvmovups %ymm0,(%rdi)",
        "0000000000001400 <std::fill(double*, double*, double const&) [clone .rnnkit_avx2]>:",
        "    1400:\tkmovw %k1,%eax",
        "0000000000001500 <rnnkit::validate(int)>:",
        "    1500:\tmovaps %xmm0,%xmm1",
        "0000000000001600 <local_helper(float) [clone .isra.0]>:",
        "    1600:\tvmovups %ymm0,(%rdi)",
    ])
    nm = "\n".join(f"{address:016x} {kind} sym{address}" for address, kind in [
        (0x1000, "W"), (0x1100, "W"), (0x1200, "W"), (0x1300, "W"), (0x1400, "W"),
        (0x1500, "T"), (0x1600, "t")])
    shared = check.global_addresses(nm)
    assert 0x1600 not in shared and 0x1500 in shared
    found = {(name.split("(")[0], level, what[:3]) for name, level, what in
             check.offences(disassembly, shared)}
    assert found == {("std::fill", "common", "zmm"), ("std::fill", "avx2", "zmm"),
                     ("Eigen::internal::pload<float __vector", "common", "ymm")}
    # Without the symbol table every function counts, the local AVX one too.
    assert len(check.offences(disassembly)) == 4
