"""No memory grows over many core calls: 10**4 calls of rnnkit.core and rnnkit._core (forward and
backward, accepted and refused) leave the resident memory where it was after a warm-up.

The calls run in a child process (its resident set is not pytest's). A quarter of the calls are
accepted and return arrays of >= 4 KiB each (a leak of one output per accepted call would be
>= 10 MiB); the tolerance is TOLERANCE_MIB (the allocator's and interpreter's noise), i.e. under
420 bytes per call on average.
"""

import json
import subprocess
import sys
import textwrap

CALLS = 10**4
TOLERANCE_MIB = 4

_CHILD = """
import json
import numpy as np
from rnnkit import _core, core

def rss_mib():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096 / 2**20

rng = np.random.default_rng(0)
B, T, I, H = 8, 16, 4, 8
x = rng.normal(size=(B, T, I))
weights = {c: (rng.normal(size=(I, g * H)) * 0.3, rng.normal(size=(H, g * H)) * 0.3)
           for c, g in core.GATES.items()}
mask = rng.random((B, T)) < 0.8
fortran_x = np.asfortranarray(x)

def raw(cell, **kw):
    k, r = weights[cell]
    args = dict(cell=cell, input_size=I, units=H, activation="tanh",
                recurrent_activation="sigmoid", reset_after=True, go_backwards=False,
                return_sequences=True, zero_output_for_mask=False, x=x, kernel=k,
                recurrent_kernel=r, bias=None, initial_h=None, initial_c=None, mask=None,
                input_dropout=None, recurrent_dropout=None)
    args.update(kw)
    return args

def one(i):
    cell = ("simple_rnn", "gru", "lstm")[i % 3]
    k, r = weights[cell]
    kind = (i // 3) % 8
    try:
        if kind == 0:  # accepted forward + backward, rnnkit.core (Fortran x, bool mask: copies)
            f = core.rnn_forward(cell, fortran_x, k, r, mask=mask, return_sequences=True,
                                 training=True)
            core.rnn_backward(cell, fortran_x, k, r, reserve=f.reserve, mask=mask,
                              d_output=f.output, return_sequences=True)
        elif kind == 1:  # accepted forward + backward, rnnkit._core
            out, h, c, reserve = _core.forward(training=True, **raw(cell))
            _core.backward(reserve=reserve, d_output=out, d_final_h=None, d_final_c=None,
                           **raw(cell))
        elif kind == 2:  # refused: a wrong mask shape through the metadata check
            core.rnn_forward(cell, x, k, r, mask=np.ones((B, T + 1), np.int8))
        elif kind == 3:  # refused: a dtype mismatch
            core.rnn_forward(cell, x, k.astype(np.float32), r)
        elif kind == 4:  # refused: a wrong reserve
            core.rnn_backward(cell, x, k, r, reserve=np.zeros(5), d_output=np.zeros((B, H)))
        elif kind == 5:  # refused by the raw binding: non-contiguous x
            _core.forward(training=False, **raw(cell, x=fortran_x))
        elif kind == 6:  # refused: a bad name
            _core.forward(training=True, **raw(cell, activation="nope"))
        else:  # refused: a zero-size recurrent kernel with a huge extent
            core.rnn_forward(cell, x, k, np.zeros((2**40, 0)))
    except (ValueError, TypeError):
        if kind in (0, 1):
            raise

for i in range(1000):  # warm-up: thread pool, per-thread scratch, interpreter caches
    one(i)
before = rss_mib()
for i in range({calls}):
    one(i)
after = rss_mib()
print(json.dumps(dict(before=before, after=after)))
"""


def test_rss_does_not_grow_over_ten_thousand_core_calls():
    result = subprocess.run([sys.executable, "-c", textwrap.dedent(_CHILD).replace(
        "{calls}", str(CALLS))], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, (result.returncode, result.stderr[-4000:])
    rss = json.loads(result.stdout.strip().splitlines()[-1])
    growth = rss["after"] - rss["before"]
    print(f"RSS growth over {CALLS} calls: {growth:.2f} MiB")
    assert growth <= TOLERANCE_MIB, rss


def test_the_measure_sees_a_leak():
    """The same child with one output kept per accepted call grows well past the tolerance."""
    leaky = textwrap.dedent(_CHILD).replace("{calls}", str(CALLS)).replace(
        "def one(i):", "kept = []\ndef one(i):").replace(
        "            out, h, c, reserve = _core.forward(training=True, **raw(cell))",
        "            out, h, c, reserve = _core.forward(training=True, **raw(cell))\n"
        "            kept.append((out, reserve))")
    result = subprocess.run([sys.executable, "-c", leaky], capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr[-4000:]
    rss = json.loads(result.stdout.strip().splitlines()[-1])
    assert rss["after"] - rss["before"] > 3 * TOLERANCE_MIB, rss
