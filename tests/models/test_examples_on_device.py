"""`examples/guide.py --device ...`: the whole Keras RNN guide on a device, proven on the CPU
with the strict array library (whose arrays, like CuPy's, refuse implicit conversion to the
host): `examples/guide.py --small --device strict:0` must run to the end, and print the same
numbers as the same guide on the CPU.

Both runs read the same synthetic MNIST file (`--data`, 640 training and 128 test images from
a fixed seed), so the test needs neither the project's MNIST subset nor a download.

What is compared, and why:
- every line of the guide's own output but the progress bars (the model summaries, with their
  shapes and parameter counts, the shapes it prints, the prediction line): equal as text;
- the last state of each of the three `fit` progress bars (the two MNIST fits with validation,
  the nested-input fit): each printed loss, accuracy and validation value within 1e-4, one
  unit of the 4 printed decimals (float32 rounding). Those runs are deterministic: the guide
  seeds everything with `keras.utils.set_random_seed(0)`, its NumPy data come from the seeded
  global generator, the strict library draws the initial weights from the same PCG64 streams
  as the CPU, computes with the same NumPy functions and runs the same host C++ core (through
  an explicit copy), and no model of the guide uses dropout. (On a real GPU the numbers
  differ in rounding and the initial weights come from another random stream; this test is
  for the strict stand-in.) The bars' intermediate states are not compared: how many the
  progress bar prints depends on timing.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import paths

ROOT = paths.ROOT
GUIDE = ROOT / "examples" / "guide.py"
RUNNER = paths.TESTS / "guide_on_strict.py"

_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_METRIC = re.compile(r"(\w+): (-?[0-9]+\.[0-9]+)")
_TIMING = re.compile(r"\d+(?:\.\d+)?(?:ms|s|us)/step")
_STEP = re.compile(r"\s*(\d+)/(\d+) ")


def _synthetic_mnist(path):
    rng = np.random.default_rng(12)
    np.savez_compressed(
        path,
        x_train=rng.integers(0, 256, (640, 28, 28), dtype=np.uint8),
        y_train=rng.integers(0, 10, 640, dtype=np.uint8),
        x_test=rng.integers(0, 256, (128, 28, 28), dtype=np.uint8),
        y_test=rng.integers(0, 10, 128, dtype=np.uint8))


def _run(command):
    env = dict(os.environ)
    env.pop("RNNKIT_DEVICE", None)
    done = subprocess.run([sys.executable, *command], capture_output=True, text=True,
                          env=env, cwd=ROOT, timeout=300)
    assert done.returncode == 0, (
        f"{' '.join(map(str, command))} exited with {done.returncode}\n"
        f"--- stdout (tail)\n{done.stdout[-3000:]}\n--- stderr (tail)\n{done.stderr[-3000:]}")
    return done.stdout


def _split(stdout):
    """(the guide's text lines without progress bars, the final state of each progress bar
    as {metric: value}, the DEVICE-CHECK record or None).

    A progress bar redraws itself with \\r on a terminal and prints one line per update
    elsewhere; how many updates it prints depends on timing, so only each bar's last state
    at its last step counts."""
    lines, bars, check = [], [], None
    previous_final = False
    for part in re.split(r"[\r\n]", _ANSI.sub("", stdout).replace("\b", "")):
        if part.startswith("DEVICE-CHECK "):
            check = json.loads(part[len("DEVICE-CHECK "):])
        elif _TIMING.search(part):
            step, total = map(int, _STEP.match(part).groups())
            final = step == total
            if final:
                state = {k: float(v) for k, v in _METRIC.findall(part)}
                if previous_final:
                    bars[-1] = state          # the same bar at its last step, updated
                else:
                    bars.append(state)
            previous_final = final
        elif part.strip():
            lines.append(part.rstrip())
            previous_final = False
    return lines, bars, check


def test_the_guide_runs_on_the_strict_device_as_on_the_cpu(tmp_path):
    data = tmp_path / "mnist.npz"
    _synthetic_mnist(data)
    common = ["--small", "--data", str(data)]
    cpu_lines, cpu_bars, _ = _split(_run([GUIDE, *common, "--device", "cpu"]))
    dev_lines, dev_bars, check = _split(_run([RUNNER, *common, "--device", "strict:0"]))

    # the whole guide ran: its last section's model summary is there, with the same shapes
    assert dev_lines == cpu_lines
    assert "## RNNs with list/dict inputs, or nested inputs" in dev_lines
    assert any("stateful LSTM output (20, 64)" in line for line in dev_lines)
    assert any(line.startswith("Predicted result is:") for line in dev_lines)

    # three fits (two MNIST with validation, the nested one), each bar at its last step
    assert len(dev_bars) == len(cpu_bars) == 3, (cpu_bars, dev_bars)
    for cpu, dev in zip(cpu_bars, dev_bars):
        assert set(dev) == set(cpu) and "loss" in dev
        for key in cpu:
            assert abs(dev[key] - cpu[key]) <= 1e-4, (key, cpu[key], dev[key])
    assert {"val_loss", "val_accuracy"} <= set(dev_bars[0]) and "val_loss" in dev_bars[1]

    # the work happened on the device: results and weights are strict arrays, the recurrent
    # layers ran the strict fused core; the guide's CPU block stayed on the host
    assert check is not None
    assert check["new_output"] == "StrictArray"
    assert check["stateful_states"] == ["StrictArray", "StrictArray"]
    assert check["nested_model_weights"] == ["StrictArray"]
    assert check["noncudnn_weights"] == ["StrictArray"]
    assert check["cpu_model_weights"] == ["ndarray"]
    assert check["prediction"] == "ndarray"
    assert check["fused_core_calls"] > 0
