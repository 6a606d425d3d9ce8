"""Data-parallel training: time per step and the share spent in communication.

    python bench/distributed.py                    # 1 and 2 processes, the guide's model
    python bench/distributed.py --processes 1,2,4 --batch 128 --steps 30
    python bench/distributed.py --scaling          # the scaling model of docs/distributed.md

It launches itself with `mpiexec -n P` for each P (the mpiexec of the MPI that pip
installed, see `rnnkit.distribution.mpi.find_mpiexec`) and trains the Keras RNN guide's
MNIST model (LSTM(64) -> BatchNormalization -> Dense(10) on 28 x 28 inputs; `--units`,
`--timesteps`, `--features` change it) on random data with SGD, global batch `--batch`,
float32. Each process uses `--threads` core threads (default 1: one core per process). P=1
runs with no distribution set (today's single-process step) and with a 1-process
DataParallel (the distributed step's own overhead).

Reported per P: median time per global step over the timed steps (after `--warmup`), the
samples per second, the median time per step inside collectives (all-reduces and
broadcasts, measured around each MPI call: it includes waiting for the slower process) and
its share of the step.

`--scaling` prints, instead, the efficiency the ring all-reduce cost model predicts (see
docs/distributed.md) for the guide's model and a large one on 8, 64 and 512 workers.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def worker(args):
    import numpy as np
    import rnnkit as keras
    keras.set_num_threads(args.threads)
    mode = args.worker
    engine = None
    if mode != "plain":
        engine = keras.distribution.initialize()
        keras.distribution.set_distribution(keras.distribution.DataParallel())
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    steps = args.warmup + args.steps
    n = args.batch * steps
    x = rng.normal(size=(n, args.timesteps, args.features)).astype("float32")
    y = rng.integers(0, 10, size=(n,))
    model = keras.Sequential([keras.Input((None, args.features)),
                              keras.layers.LSTM(args.units),
                              keras.layers.BatchNormalization(),
                              keras.layers.Dense(10)])
    model.compile(optimizer="sgd",
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    step_times, comm_times = [], []

    class Timer(keras.callbacks.Callback):
        def on_train_batch_begin(self, batch, logs=None):
            if engine is not None:
                engine.reset_timing()
            self.start = time.perf_counter()

        def on_train_batch_end(self, batch, logs=None):
            step_times.append(time.perf_counter() - self.start)
            comm_times.append(engine.comm_seconds if engine is not None else 0.0)

    model.fit(x, y, batch_size=args.batch, epochs=1, shuffle=False, verbose=0,
              callbacks=[Timer()])
    rank = engine.rank if engine is not None else 0
    if rank == 0:
        timed = slice(args.warmup, None)
        step = float(np.median(step_times[timed]))
        comm = float(np.median(comm_times[timed]))
        params = sum(int(np.prod(w.shape)) for w in model.trainable_weights)
        print(json.dumps({"mode": mode, "processes": engine.size if engine else 1,
                          "step_s": step, "comm_s": comm, "params": params}), flush=True)


def launch(args, processes, mode):
    from rnnkit.distribution.mpi import find_mpiexec
    mpiexec = find_mpiexec()
    if mpiexec is None:
        sys.exit('no mpiexec found: pip install "rnnkit[mpi]"')
    command = [mpiexec, "-n", str(processes), sys.executable, os.path.abspath(__file__),
               "--worker", mode] + [f"--{k}={getattr(args, k)}" for k in
                                    ("batch", "steps", "warmup", "units", "timesteps",
                                     "features", "threads")]
    env = dict(os.environ, OMP_NUM_THREADS=str(args.threads))
    out = subprocess.run(command, capture_output=True, text=True, env=env, timeout=600)
    if out.returncode != 0:
        sys.exit(out.stdout + out.stderr)
    return json.loads([line for line in out.stdout.splitlines() if line.startswith("{")][-1])


def scaling():
    """The cost model of docs/distributed.md, evaluated."""
    networks = {"InfiniBand HDR (alpha 5 us, 25 GB/s)": (5e-6, 25e9),
                "Ethernet 100 Gb/s (alpha 30 us, 12.5 GB/s)": (30e-6, 12.5e9)}
    # (name, trainable parameters, collectives per step, compute seconds per sample)
    # The guide's model: measured here (bench/distributed.py, 1 thread: ~0.115 ms/sample);
    # 6 collectives per step (loss denominators, BatchNormalization's 2 + 1, gradients,
    # float64 statistics). The large model: 3 x LSTM(1024) on 1024 features, T=100,
    # 3 x 100 x 3 x 2 x 4 x 1024 x 2048 = 1.5e10 FLOP per sample (forward + backward) at an
    # assumed 60 TFLOP/s on one H100-class GPU; 3 collectives per step (no BatchNormalization).
    models = [
        ("guide LSTM(64), T=28, 1 CPU core", 24_586, 6, 0.115e-3),
        ("3 x LSTM(1024), T=100, one H100-class GPU", 25_178_112, 3, 0.25e-3),
    ]
    print("efficiency = compute / (compute + comm), per-worker batch b, float32 gradients")
    for net, (alpha, beta) in networks.items():
        print(f"\n{net}")
        for name, params, collectives, per_sample in models:
            size = 4 * params
            print(f"  {name}: {size / 1e6:.2f} MB of gradients, compute {per_sample * 1e3:.2f} "
                  f"ms/sample")
            for p in (8, 64, 512):
                comm = collectives * alpha * math.log2(p) + 2 * (p - 1) / p * size / beta
                b90 = math.ceil(9 * comm / per_sample)
                effs = ", ".join(f"b={b}: {b * per_sample / (b * per_sample + comm):.0%}"
                                 for b in (16, 64, 256))
                print(f"    p={p:>3}: comm {comm * 1e3:7.3f} ms/step; {effs}; >= 90% from "
                      f"b={b90}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--processes", default="1,2")
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--units", type=int, default=64)
    parser.add_argument("--timesteps", type=int, default=28)
    parser.add_argument("--features", type=int, default=28)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--scaling", action="store_true")
    parser.add_argument("--worker", choices=("plain", "dist"))
    args = parser.parse_args()
    if args.worker:
        return worker(args)
    if args.scaling:
        return scaling()
    print(f"LSTM({args.units}) -> BatchNormalization -> Dense(10), T={args.timesteps}, "
          f"features={args.features}, global batch {args.batch}, float32, SGD, "
          f"{args.threads} thread(s) per process, {args.steps} timed steps")
    print(f"{'processes':>18} {'ms/step':>9} {'samples/s':>10} {'comm ms':>8} {'comm %':>7}")
    runs = []
    for p in (int(v) for v in args.processes.split(",")):
        for mode in (("plain", "dist") if p == 1 else ("dist",)):
            runs.append(launch(args, p, mode))
    for r in runs:
        label = f"{r['processes']}" + (" (no distribution)" if r["mode"] == "plain" else "")
        print(f"{label:>18} {r['step_s'] * 1e3:9.2f} {args.batch / r['step_s']:10.0f} "
              f"{r['comm_s'] * 1e3:8.2f} {100 * r['comm_s'] / r['step_s']:6.1f}%")
    print(f"trainable parameters: {runs[0]['params']}")


if __name__ == "__main__":
    main()
