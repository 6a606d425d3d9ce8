"""Regression tests of the hardening issue: each reproducer raises the exact exception type with
a message that names the argument (or now gives Keras' result) instead of crashing or silently
misbehaving."""

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
