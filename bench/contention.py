"""Per-call time of one recurrent layer on a busy machine: median and p95 with and without a
competing process, rnnkit's core against PyTorch (both with the same thread count).

    python bench/contention.py [--cell gru] [--shape 64,28,28,64] [--calls 300] [--threads 2]
                               [--rounds 2] [--no-torch]

For each round and each condition (quiet, then busy: a `while True: pass` process pinned to the
last CPU this process may use), every library runs `--calls` timed calls of each mode after a
warm-up, back to back (a loop of calls, as training or inference runs them):
  forward: inference over the sequence (last output);
  train:   forward with return_sequences and the backward of all weights and the input.
Prints one line per (condition, library, mode): median, p95, max and mean in ms over all rounds
(the mean is the throughput: a loop of N calls takes N times the mean).
RNNKIT_THREAD_TEAM=openmp in the environment runs rnnkit's parallel parts as OpenMP regions
(libgomp's wait policy) instead of rnnkit's own thread team, for the comparison.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time

import numpy as np


def _rnnkit_calls(cell, B, T, I, H):
    from rnnkit import core
    G = core.GATES[cell]
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, (B, T, I)).astype(np.float32)
    kernel = rng.uniform(-0.1, 0.1, (I, G * H)).astype(np.float32)
    recurrent = rng.uniform(-0.1, 0.1, (H, G * H)).astype(np.float32)
    bias = rng.uniform(-0.1, 0.1, (2, G * H) if cell == "gru" else (G * H,)).astype(np.float32)
    d_out = rng.uniform(-1, 1, (B, T, H)).astype(np.float32)

    def forward():
        core.rnn_forward(cell, x, kernel, recurrent, bias)

    def train():
        r = core.rnn_forward(cell, x, kernel, recurrent, bias, training=True,
                             return_sequences=True)
        core.rnn_backward(cell, x, kernel, recurrent, bias, reserve=r.reserve, d_output=d_out,
                          return_sequences=True)

    return {"forward": forward, "train": train}


def _torch_calls(cell, B, T, I, H):
    import torch
    module = {"gru": torch.nn.GRU, "lstm": torch.nn.LSTM, "simple_rnn": torch.nn.RNN}[cell]
    layer = module(I, H, batch_first=True)
    x = torch.rand(B, T, I) * 2 - 1
    x_grad = x.clone().requires_grad_(True)

    def forward():
        with torch.inference_mode():
            layer(x)

    def train():
        out, _ = layer(x_grad)
        out.sum().backward()

    return {"forward": forward, "train": train}


def _busy_process():
    """A spinning process pinned to the last CPU this process may use."""
    cpus = sorted(os.sched_getaffinity(0))
    proc = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    os.sched_setaffinity(proc.pid, {cpus[-1]})
    time.sleep(0.3)
    return proc


def _measure(libraries, calls, warmup):
    times = {(lib, mode): [] for lib, fns in libraries.items() for mode in fns}
    for lib, fns in libraries.items():
        for fn in fns.values():
            for _ in range(warmup):
                fn()
    for lib, fns in libraries.items():
        for mode, fn in fns.items():
            for _ in range(calls):
                t0 = time.perf_counter()
                fn()
                times[(lib, mode)].append(time.perf_counter() - t0)
    return times


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cell", default="gru", choices=("gru", "lstm", "simple_rnn"))
    parser.add_argument("--shape", default="64,28,28,64", help="B,T,I,H")
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--no-torch", action="store_true")
    args = parser.parse_args()
    B, T, I, H = (int(v) for v in args.shape.split(","))

    import rnnkit
    rnnkit.set_num_threads(args.threads)
    libraries = {"rnnkit": _rnnkit_calls(args.cell, B, T, I, H)}
    if not args.no_torch:
        import torch
        torch.set_num_threads(args.threads)
        libraries["torch"] = _torch_calls(args.cell, B, T, I, H)

    results = {}
    for _ in range(args.rounds):
        for condition in ("quiet", "busy"):
            proc = _busy_process() if condition == "busy" else None
            try:
                times = _measure(libraries, args.calls, args.warmup)
            finally:
                if proc is not None:
                    proc.kill()
                    proc.wait()
            for key, values in times.items():
                results.setdefault((condition,) + key, []).extend(values)
    print(f"# {args.cell} B,T,I,H={args.shape}, {args.threads} threads, {args.rounds} rounds x "
          f"{args.calls} calls, CPUs {sorted(os.sched_getaffinity(0))}")
    print(f"{'condition':9s} {'library':7s} {'mode':8s} {'median ms':>10s} {'p95 ms':>8s} "
          f"{'max ms':>8s} {'mean ms':>8s}")
    for (condition, lib, mode), values in sorted(results.items()):
        v = np.asarray(values) * 1e3
        print(f"{condition:9s} {lib:7s} {mode:8s} {np.median(v):10.3f} "
              f"{np.percentile(v, 95):8.3f} {v.max():8.2f} {v.mean():8.3f}")


if __name__ == "__main__":
    main()
