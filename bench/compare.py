#!/usr/bin/env python
"""rnnkit vs PyTorch (and Keras on JAX) on the CPU, side by side, at two levels.

    python bench/compare.py [--levels api,core] [--cells lstm,gru] \
                            [--shapes seed_mnist,one_step|BxTxIxH] [--modes forward,train] \
                            [--frameworks torch,rnnkit,keras] [--keras-python PATH] \
                            [--threads N] [--quick] [--json]

For every cell, shape and mode the parent process starts one worker subprocess per framework
and level (`compare.py --worker torch|rnnkit|keras --level api|core ...`), each pinned to the
same thread count, so no two share a process, an allocator or a thread pool. A worker builds
the layer, warms up (at least two calls, which also estimate the cost of a call), then times as
many calls as fit in the target time (about 2 s, or 0.3 s with --quick; never fewer than 2, or
1 with --quick; at most 200 calls of 1 ms or more, at most 20000 shorter ones) and prints one
JSON object per mode on stdout. Reported times are medians, in seconds per call.

Levels:
    api      what a user calls. rnnkit: the Keras layer (`layer(x)`), a `GradientTape` over
             it, `model.fit`. PyTorch: `nn.LSTM/GRU/RNN` and autograd (its public API at
             both levels). Keras on JAX: the layer's `stateless_call` under `jax.jit`
             (forward), `jax.jit(jax.grad(...))` of it (train), `model.fit` (compiled).
    core     rnnkit's `rnnkit.core.rnn_forward` / `rnn_backward` on NumPy arrays (no layer, no
             tape); PyTorch as at the api level (the same worker run serves both rows);
             Keras has no core level.

Modes (rows):
    forward  inference: training=False, return_sequences=False;
             torch under torch.inference_mode() (it computes the whole sequence regardless).
    train    forward with return_sequences=True, then the gradients of sum(output * g) with
             respect to the inputs and every weight. rnnkit api: `tape.gradient(y, [x,
             *layer.trainable_weights], output_gradients=g)` after `tape.watch(x)`; rnnkit
             core: rnn_forward(training=True) + rnn_backward (need_d_initial_state=False: the
             zero initial state is no input here, as in the layer); torch autograd.grad(out, [x,
             *params], g); Keras/JAX: the gradient of sum(output * g) in (weights, x).
    fit      one training epoch of the Keras guide's MNIST model at the case's sizes: the
             recurrent layer (H units) -> BatchNormalization -> Dense(10), on FIT_SAMPLES
             sequences of (T, I) in batches of B, SGD (lr 0.01), sparse cross-entropy from
             logits, accuracy tracked, reshuffled each epoch. rnnkit and Keras: `model.fit(
             epochs=1, verbose=0)`; torch: the same model as nn modules and a hand-written
             epoch loop. An api-level mode only (with --levels core it runs as the core row).
             Not in the default modes: `--modes fit --cells lstm --shapes seed_mnist` is the
             MNIST model itself.

To add a row, add its name to MODES and a `mode_<name>` method to the runner classes returning
a zero-argument callable that runs one step.

ISA levels (`--isa baseline,avx2[,avx512]`): the rnnkit column becomes one column per ISA level
of its CPU kernels (each worker runs with `RNNKIT_ISA=<level>`; only levels this CPU runs), and
`--native-python PATH` adds a column for an interpreter whose rnnkit is a `-march=native` build,
the reference of the ratio columns (`<level>/native`: native's time over the level's, so 1.0 is
as fast as native). `--rnnkit-python PATH` runs the level columns in another interpreter, e.g. a
fresh venv with the portable wheel installed. With --isa the keras column is left out.

    python bench/compare.py --isa baseline,avx2 --rnnkit-python /tmp/wheel-venv/bin/python \
        --native-python .venv-native/bin/python --cells lstm,gru,simple_rnn \
        --shapes seed_mnist,medium --levels core

PyTorch is a benchmark-only extra: `pip install torch==2.13.0` (the CPU build). Keras on JAX
is optional: the keras column is filled when `--keras-python` names an interpreter with keras
and jax (or the running one has them); otherwise it shows `-`.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

CELLS = ("lstm", "gru", "simple_rnn")
GATES = {"simple_rnn": 1, "gru": 3, "lstm": 4}
MODES = ("forward", "train", "fit")
DEFAULT_MODES = ("forward", "train")
FIT_SAMPLES = 4000   # the MNIST example's training set
FRAMEWORKS = ("torch", "keras", "rnnkit")
LEVELS = ("api", "core")
SHAPES = {  # name: (B, T, I, H)
    "one_step": (1, 1, 64, 64),
    "seed_mnist": (64, 28, 28, 64),
    "small_stream": (1, 1000, 32, 128),
    "medium": (32, 100, 128, 256),
    "medium_b16": (16, 100, 128, 256),
    "large": (64, 200, 512, 1024),
    "text_cls": (128, 80, 64, 128),
}


def flops(cell, mode, shape):
    B, T, I, H = shape
    fwd = 2.0 * B * T * (I + H) * GATES[cell] * H
    if mode == "fit":
        return 3.0 * fwd * FIT_SAMPLES / B
    return fwd if mode == "forward" else 3.0 * fwd


# --------------------------------------------------------------------------------------------
# Workers: one framework, one cell, one shape, one or more modes.
# --------------------------------------------------------------------------------------------

class TorchRunner:
    """nn.LSTM/GRU/RNN and autograd: PyTorch's public API, the same at both levels."""

    name = "torch"

    def __init__(self, cell, shape, threads, level="api", seed=0):
        import torch

        self.torch = torch
        torch.set_num_threads(threads)
        torch.manual_seed(seed)
        B, T, I, H = shape
        layer = {"lstm": torch.nn.LSTM, "gru": torch.nn.GRU, "simple_rnn": torch.nn.RNN}[cell]
        kwargs = {"nonlinearity": "tanh"} if cell == "simple_rnn" else {}
        self.shape = shape
        self.layer = layer(I, H, batch_first=True, dtype=torch.float32, **kwargs)
        self.x = torch.randn(B, T, I, dtype=torch.float32)
        self.g = torch.randn(B, T, H, dtype=torch.float32)

    @staticmethod
    def version():
        import torch
        return torch.__version__

    def mode_forward(self):
        torch, layer, x = self.torch, self.layer, self.x

        def step():
            with torch.inference_mode():
                out, _ = layer(x)
                return out[:, -1]
        return step

    def mode_train(self):
        torch, layer, g = self.torch, self.layer, self.g
        x = self.x.clone().requires_grad_(True)
        params = [p for p in layer.parameters() if p.requires_grad]

        def step():
            out, _ = layer(x)
            return torch.autograd.grad(out, [x, *params], g)
        return step

    def mode_fit(self):
        torch = self.torch
        B, T, I, H = self.shape
        nn = torch.nn
        recurrent = self.layer
        # Keras' BatchNormalization: momentum 0.99 (torch's 0.01), epsilon 1e-3.
        norm = nn.BatchNorm1d(H, momentum=0.01, eps=1e-3)
        dense = nn.Linear(H, 10)
        params = list(recurrent.parameters()) + list(norm.parameters()) + list(dense.parameters())
        optimizer = torch.optim.SGD(params, lr=0.01)
        loss_fn = nn.CrossEntropyLoss()
        generator = torch.Generator().manual_seed(0)
        x = torch.rand(FIT_SAMPLES, T, I, generator=generator)
        y = torch.randint(0, 10, (FIT_SAMPLES,), generator=generator)

        def step():
            recurrent.train()
            norm.train()
            order = torch.randperm(FIT_SAMPLES)
            correct, total_loss = 0, 0.0
            for start in range(0, FIT_SAMPLES, B):
                index = order[start:start + B]
                xb, yb = x[index], y[index]
                out, _ = recurrent(xb)
                logits = dense(norm(out[:, -1]))
                loss = loss_fn(logits, yb)
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                with torch.no_grad():
                    total_loss += float(loss) * len(index)
                    correct += int((logits.argmax(1) == yb).sum())
            return total_loss / FIT_SAMPLES, correct / FIT_SAMPLES
        return step


class RnnkitRunner:
    """rnnkit: the Keras layers (level api) or `rnnkit.core` on NumPy arrays (level core)."""

    name = "rnnkit"

    def __init__(self, cell, shape, threads, level="api", seed=0):
        import numpy as np
        from rnnkit import core

        self.core = core
        core.set_num_threads(threads)
        rng = np.random.default_rng(seed)
        B, T, I, H = shape
        G = GATES[cell]
        f32 = np.float32
        self.cell = cell
        self.shape = shape
        self.level = level
        self.x = rng.standard_normal((B, T, I), dtype=f32)
        self.kernel = rng.uniform(-0.1, 0.1, (I, G * H)).astype(f32)
        self.recurrent_kernel = rng.uniform(-0.1, 0.1, (H, G * H)).astype(f32)
        bias_shape = (2, G * H) if cell == "gru" else (G * H,)  # GRU: reset_after=True
        self.bias = rng.uniform(-0.1, 0.1, bias_shape).astype(f32)
        self.g = rng.standard_normal((B, T, H), dtype=f32)

    @staticmethod
    def version():
        import rnnkit
        return getattr(rnnkit, "__version__", "?")

    def _weights(self):
        return (self.cell, self.x, self.kernel, self.recurrent_kernel, self.bias)

    def _layer(self, return_sequences):
        """The Keras layer of the cell, built, with the core level's weights."""
        import rnnkit as keras
        H = self.shape[3]
        layer = {"lstm": keras.layers.LSTM, "gru": keras.layers.GRU,
                 "simple_rnn": keras.layers.SimpleRNN}[self.cell](
                     H, return_sequences=return_sequences)
        layer(self.x)
        layer.set_weights([self.kernel, self.recurrent_kernel, self.bias])
        return layer

    def mode_forward(self):
        if self.level == "api":
            layer, x = self._layer(False), self.x

            def step():
                return layer(x)
            return step
        core, w = self.core, self._weights()

        def step():
            return core.rnn_forward(*w, training=False, return_sequences=False).output
        return step

    def mode_train(self):
        g = self.g
        if self.level == "api":
            import rnnkit as keras
            layer, x = self._layer(True), self.x
            sources = [x, *layer.trainable_weights]
            tape_class = keras.GradientTape

            def step():
                with tape_class() as tape:
                    tape.watch(x)
                    y = layer(x, training=True)
                return tape.gradient(y, sources, output_gradients=g)
            return step
        core, w = self.core, self._weights()

        def step():
            res = core.rnn_forward(*w, training=True, return_sequences=True)
            return core.rnn_backward(*w, reserve=res.reserve, d_output=g, return_sequences=True,
                                     need_d_initial_state=False)
        return step

    def mode_fit(self):
        import numpy as np
        import rnnkit as keras
        B, T, I, H = self.shape
        layer = {"lstm": keras.layers.LSTM, "gru": keras.layers.GRU,
                 "simple_rnn": keras.layers.SimpleRNN}[self.cell]
        keras.utils.set_random_seed(0)
        model = keras.Sequential([keras.Input((T, I)), layer(H),
                                  keras.layers.BatchNormalization(), keras.layers.Dense(10)])
        model.compile(loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                      optimizer="sgd", metrics=["accuracy"])
        rng = np.random.default_rng(0)
        x = rng.random((FIT_SAMPLES, T, I), dtype=np.float32)
        y = rng.integers(0, 10, FIT_SAMPLES)

        def step():
            return model.fit(x, y, batch_size=B, epochs=1, verbose=0)
        return step


class KerasRunner:
    """Keras 3 on JAX (api level only): the layer's stateless_call under jax.jit, and fit."""

    name = "keras"

    def __init__(self, cell, shape, threads, level="api", seed=0):
        os.environ.setdefault("KERAS_BACKEND", "jax")
        import jax
        import jax.numpy as jnp
        import keras
        import numpy as np

        if level != "api":
            raise SystemExit("keras runs at the api level only")
        self.jax, self.jnp, self.keras = jax, jnp, keras
        keras.utils.set_random_seed(seed)
        rng = np.random.default_rng(seed)
        B, T, I, H = shape
        G = GATES[cell]
        f32 = np.float32
        self.cell = cell
        self.shape = shape
        self.x = jnp.asarray(rng.standard_normal((B, T, I), dtype=f32))
        self.weights = [rng.uniform(-0.1, 0.1, (I, G * H)).astype(f32),
                        rng.uniform(-0.1, 0.1, (H, G * H)).astype(f32),
                        rng.uniform(-0.1, 0.1, (2, G * H) if cell == "gru" else (G * H,))
                        .astype(f32)]
        self.g = jnp.asarray(rng.standard_normal((B, T, H), dtype=f32))

    @staticmethod
    def version():
        import jax
        import keras
        return f"{keras.__version__} (jax {jax.__version__})"

    def _layer_class(self):
        keras = self.keras
        return {"lstm": keras.layers.LSTM, "gru": keras.layers.GRU,
                "simple_rnn": keras.layers.SimpleRNN}[self.cell]

    def _layer(self, return_sequences):
        layer = self._layer_class()(self.shape[3], return_sequences=return_sequences)
        layer.build(self.shape[:1] + self.shape[1:3])
        layer.set_weights(self.weights)
        trainable = [v.value for v in layer.trainable_variables]
        non_trainable = [v.value for v in layer.non_trainable_variables]
        return layer, trainable, non_trainable

    def mode_forward(self):
        jax = self.jax
        layer, trainable, non_trainable = self._layer(False)
        x = self.x

        @jax.jit
        def forward(trainable, non_trainable, x):
            return layer.stateless_call(trainable, non_trainable, x, training=False)[0]

        def step():
            return forward(trainable, non_trainable, x).block_until_ready()
        return step

    def mode_train(self):
        jax, jnp = self.jax, self.jnp
        layer, trainable, non_trainable = self._layer(True)
        x, g = self.x, self.g

        def loss(trainable, x, non_trainable):
            out = layer.stateless_call(trainable, non_trainable, x, training=True)[0]
            return jnp.sum(out * g)

        grad = jax.jit(jax.grad(loss, argnums=(0, 1)))

        def step():
            return jax.block_until_ready(grad(trainable, x, non_trainable))
        return step

    def mode_fit(self):
        import numpy as np
        keras = self.keras
        B, T, I, H = self.shape
        keras.utils.set_random_seed(0)
        model = keras.Sequential([keras.Input((T, I)), self._layer_class()(H),
                                  keras.layers.BatchNormalization(), keras.layers.Dense(10)])
        model.compile(loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                      optimizer="sgd", metrics=["accuracy"])
        rng = np.random.default_rng(0)
        x = rng.random((FIT_SAMPLES, T, I), dtype=np.float32)
        y = rng.integers(0, 10, FIT_SAMPLES)

        def step():
            return model.fit(x, y, batch_size=B, epochs=1, verbose=0)
        return step


RUNNERS = {"torch": TorchRunner, "rnnkit": RnnkitRunner, "keras": KerasRunner}


def time_step(step, target_s, min_repeats, max_repeats):
    """Warm-up, then as many timed calls as fit in target_s (within the bounds).

    Warm-up: at least two calls (the first ones pay for lazy initialisation, compilation and
    first-touch page faults) and up to a quarter of target_s, unless one call alone takes longer
    than target_s. The fastest warm-up call after the first estimates the cost of a call.
    max_repeats None: at most 200 calls of 1 ms or more, at most 20000 shorter ones.
    """
    warm = []
    start = time.perf_counter()
    while True:
        t0 = time.perf_counter()
        step()
        warm.append(time.perf_counter() - t0)
        if warm[-1] >= target_s:
            break
        if len(warm) >= 2 and time.perf_counter() - start >= 0.25 * target_s:
            break
        if len(warm) >= 2000:
            break
    estimate = min(warm[1:]) if len(warm) > 1 else warm[0]
    if max_repeats is None:
        max_repeats = 200 if estimate >= 1e-3 else 20000
    repeats = int(min(max(target_s // max(estimate, 1e-7), min_repeats), max_repeats))
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), times


def worker_main(args):
    shape = parse_shape(args.shape)[1]
    runner = RUNNERS[args.worker](args.cell, shape, args.threads, level=args.level)
    for mode in args.modes.split(","):
        step = getattr(runner, f"mode_{mode}")()
        med, times = time_step(step, args.target_s, args.min_repeats, args.max_repeats)
        del step
        print(json.dumps({"framework": args.worker, "version": runner.version(),
                          "level": args.level, "cell": args.cell, "mode": mode,
                          "shape": list(shape), "threads": args.threads, "median_s": med,
                          "repeats": len(times),
                          "gflops": flops(args.cell, mode, shape) / med * 1e-9,
                          "times_s": times}), flush=True)


# --------------------------------------------------------------------------------------------
# Parent: runs the workers one after another and prints the table.
# --------------------------------------------------------------------------------------------

def parse_shape(text):
    """A shape name from SHAPES, or BxTxIxH. Returns (name, (B, T, I, H))."""
    if text in SHAPES:
        return text, SHAPES[text]
    parts = text.lower().split("x")
    try:
        dims = tuple(int(p) for p in parts)
    except ValueError:
        dims = ()
    if len(dims) != 4 or min(dims) < 1:
        raise argparse.ArgumentTypeError(
            f"shape must be one of {', '.join(SHAPES)} or BxTxIxH, got {text!r}")
    return text, dims


def parse_list(text, allowed, what):
    items = [s.strip() for s in text.split(",") if s.strip()]
    for item in items:
        if allowed is not None and item not in allowed:
            raise SystemExit(f"error: unknown {what} {item!r}; choose from {', '.join(allowed)}")
    return items


def python_of(framework, args):
    if framework == "keras":
        return args.keras_python
    if framework == "rnnkit" and args.rnnkit_python:
        return args.rnnkit_python
    return sys.executable


def run_worker(framework, level, cell, shape_text, modes, args, python=None, extra_env=None):
    """Runs one worker subprocess; returns {mode: result row}. `python` overrides the
    framework's interpreter, `extra_env` adds environment variables (e.g. RNNKIT_ISA)."""
    cmd = [python or python_of(framework, args), os.path.abspath(__file__), "--worker", framework,
           "--level", level, "--cell", cell, "--shape", shape_text, "--modes", ",".join(modes),
           "--threads", str(args.threads), "--target-s", str(args.target_s),
           "--min-repeats", str(args.min_repeats)]
    if args.max_repeats is not None:
        cmd += ["--max-repeats", str(args.max_repeats)]
    env = dict(os.environ)
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        env[var] = str(args.threads)
    env.update(extra_env or {})
    if framework == "keras":
        env["KERAS_BACKEND"] = "jax"
        env.setdefault("JAX_PLATFORMS", "cpu")
        env.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    results = {}
    for line in proc.stdout.splitlines():
        if line.startswith("{"):
            row = json.loads(line)
            results[row["mode"]] = row
    if proc.returncode != 0:
        tail = "\n".join(proc.stderr.strip().splitlines()[-5:])
        print(f"error: {framework} worker failed for {cell} {shape_text} "
              f"(exit {proc.returncode}):\n{tail}", file=sys.stderr, flush=True)
    return results


def check_importable(framework, python):
    """None if `framework` imports in a fresh `python` interpreter, else the error text."""
    module = {"torch": "torch", "rnnkit": "rnnkit.core", "keras": "jax, keras"}[framework]
    env = dict(os.environ, KERAS_BACKEND="jax", JAX_PLATFORMS="cpu")
    try:
        proc = subprocess.run([python, "-c", f"import {module}"], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, env=env)
    except OSError as e:
        return str(e)
    if proc.returncode == 0:
        return None
    lines = proc.stderr.strip().splitlines()
    return lines[-1] if lines else f"exit status {proc.returncode}"


def _ms(seconds):
    if seconds is None:
        return "-"
    ms = seconds * 1e3
    return f"{ms:.4f}" if ms < 1 else f"{ms:.3f}"


def _ratio(a, b):
    return a / b if a is not None and b else None


def best_of_rounds(jobs, run_job, rounds):
    """Runs every job once per round, rotating (and every other round reversing) their order,
    and keeps each (job, mode)'s least median: the machines are shared and their speed drifts
    over seconds, and noise only slows calls down. `run_job(job)` returns {mode: row}."""
    best = {}
    for round_index in range(rounds):
        shift = round_index % len(jobs)
        order = jobs[shift:] + jobs[:shift]
        if round_index % 2:
            order = order[::-1]
        for job in order:
            for mode, row in run_job(job).items():
                key = (job, mode)
                best[key] = row["median_s"] if key not in best else min(best[key], row["median_s"])
    return best


def isa_table(args, isa_levels, levels, cells, shapes, modes):
    """The --isa table: torch, the native build (--native-python) and rnnkit at each ISA level,
    every case in rotating rounds. Returns the exit status."""
    columns = (["native"] if args.native_python else []) + isa_levels
    if not args.json:
        print(f"# threads={args.threads}, float32, best of {args.rounds} rotating rounds of the "
              f"median time per call; rnnkit at each ISA level from "
              f"{args.rnnkit_python or sys.executable}"
              + (f", native build from {args.native_python}" if args.native_python else "")
              + "; <level>/native > 1: the level is faster than the native build")
        head = f"{'level':<5} {'cell':<10} {'mode':<7} {'shape':<13} {'torch ms':>10}"
        head += "".join(f" {c + ' ms':>12}" for c in columns)
        if args.native_python:
            head += "".join(f" {c + '/native':>15}" for c in isa_levels)
        print(head, flush=True)

    def run_job(job):
        column, level, cell, shape_name = job
        if column == "torch":
            return run_worker("torch", "api", cell, shape_name, modes, args)
        if column == "native":
            return run_worker("rnnkit", level, cell, shape_name, modes, args,
                              python=args.native_python)
        return run_worker("rnnkit", level, cell, shape_name, modes, args,
                          extra_env={"RNNKIT_ISA": column})

    failed = False
    for cell in cells:
        for shape_name, shape in shapes:
            jobs = [("torch", "api", cell, shape_name)]
            jobs += [(c, level, cell, shape_name) for level in levels for c in columns]
            best = best_of_rounds(jobs, run_job, args.rounds)
            for level in levels:
                for mode in modes:
                    torch_s = best.get((("torch", "api", cell, shape_name), mode))
                    t = {c: best.get(((c, level, cell, shape_name), mode)) for c in columns}
                    failed |= torch_s is None or any(v is None for v in t.values())
                    ratios = {c: _ratio(t.get("native"), t[c]) for c in isa_levels}
                    if args.json:
                        print(json.dumps({"level": level, "cell": cell, "mode": mode,
                                          "shape": shape_name, "torch_s": torch_s,
                                          **{f"{c}_s": t[c] for c in columns},
                                          **{f"{c}_over_native": ratios[c] for c in isa_levels}}),
                              flush=True)
                        continue
                    line = f"{level:<5} {cell:<10} {mode:<7} {shape_name:<13} {_ms(torch_s):>10}"
                    line += "".join(f" {_ms(t[c]):>12}" for c in columns)
                    if args.native_python:
                        line += "".join(f" {ratios[c]:>15.2f}" if ratios[c] is not None
                                        else f" {'-':>15}" for c in isa_levels)
                    print(line, flush=True)
    return 1 if failed else 0


def supported_isa_levels(python):
    """The ISA levels the rnnkit of `python` can run on this CPU (lowest first)."""
    proc = subprocess.run([python, "-c", "import rnnkit; print(' '.join("
                           "rnnkit._core.build_info()['isa_supported']))"],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    return proc.stdout.split() if proc.returncode == 0 else []


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--levels", default=",".join(LEVELS),
                   help="comma-separated from api,core (default: both)")
    p.add_argument("--cells", default=",".join(CELLS), help="comma-separated (default: all)")
    p.add_argument("--shapes", default=",".join(SHAPES),
                   help="comma-separated names or BxTxIxH (default: all seven)")
    p.add_argument("--modes", default=",".join(DEFAULT_MODES),
                   help=f"comma-separated from {', '.join(MODES)} (default: forward,train)")
    p.add_argument("--frameworks", default=None,
                   help="comma-separated subset of torch,keras,rnnkit (default: torch and "
                        "rnnkit, and keras when --keras-python or this interpreter has it)")
    p.add_argument("--keras-python", default=None,
                   help="a Python interpreter with keras and jax for the keras column "
                        "(default: this one)")
    p.add_argument("--isa", default=None,
                   help="comma-separated ISA levels (baseline,avx2,avx512): one rnnkit column "
                        "per level (RNNKIT_ISA), instead of the keras and rnnkit columns")
    p.add_argument("--rnnkit-python", default=None,
                   help="the Python interpreter whose rnnkit is timed (default: this one)")
    p.add_argument("--native-python", default=None,
                   help="with --isa: an interpreter whose rnnkit is a -march=native build, the "
                        "reference column")
    p.add_argument("--threads", type=int, default=os.cpu_count() or 1,
                   help="threads for every framework (default: os.cpu_count())")
    p.add_argument("--quick", action="store_true", help="fewer repeats (about 0.3 s per case)")
    p.add_argument("--target-s", type=float, default=None,
                   help="seconds of timed calls per case (default 2, or 0.3 with --quick)")
    p.add_argument("--max-repeats", type=int, default=None,
                   help="timed calls per case at most (default 200, 20000 for calls under 1 ms)")
    p.add_argument("--rounds", type=int, default=3,
                   help="alternating rounds per case; each framework keeps its best median (default 3)")
    p.add_argument("--json", action="store_true",
                   help="one JSON object per case: level, cell, mode, shape, torch_s, keras_s, "
                        "rnnkit_s, ratio, keras_ratio")
    # Internal: run one framework in this process.
    p.add_argument("--worker", choices=FRAMEWORKS, help=argparse.SUPPRESS)
    p.add_argument("--level", choices=LEVELS, default="api", help=argparse.SUPPRESS)
    p.add_argument("--cell", choices=CELLS, help=argparse.SUPPRESS)
    p.add_argument("--shape", help=argparse.SUPPRESS)
    p.add_argument("--min-repeats", type=int, default=None, help=argparse.SUPPRESS)
    args = p.parse_args(argv)

    if args.threads < 1:
        p.error("--threads must be >= 1")
    if args.rounds < 1:
        p.error("--rounds must be >= 1")
    if args.target_s is None:
        args.target_s = 0.3 if args.quick else 2.0
    if args.min_repeats is None:
        args.min_repeats = 1 if args.quick else 2

    if args.worker:
        return worker_main(args)

    levels = parse_list(args.levels, LEVELS, "level")
    cells = parse_list(args.cells, CELLS, "cell")
    modes = parse_list(args.modes, MODES, "mode")
    try:
        shapes = [parse_shape(s) for s in parse_list(args.shapes, None, "shape")]
    except argparse.ArgumentTypeError as e:
        p.error(str(e))
    if args.isa is not None:
        isa_levels = parse_list(args.isa, ("baseline", "avx2", "avx512"), "ISA level")
        runnable = supported_isa_levels(python_of("rnnkit", args))
        missing = [level for level in isa_levels if level not in runnable]
        if missing:
            p.error(f"--isa: this CPU (or the rnnkit of {python_of('rnnkit', args)}) cannot run "
                    f"{', '.join(missing)}; it runs {', '.join(runnable) or 'nothing'}")
        for fw, python in (("torch", sys.executable), ("rnnkit", python_of("rnnkit", args)),
                           ("rnnkit", args.native_python)):
            err = python and check_importable(fw, python)
            if err:
                print(f"error: cannot import {fw} in {python}: {err}", file=sys.stderr)
                return 1
        return isa_table(args, isa_levels, levels, cells, shapes, modes)
    if args.native_python:
        p.error("--native-python needs --isa")
    if args.keras_python is None:
        args.keras_python = sys.executable
    notes = []
    if args.frameworks is None:
        frameworks = ["torch", "rnnkit"]
        err = check_importable("keras", args.keras_python) if "api" in levels else "no api level"
        if err is None:
            frameworks.insert(1, "keras")
        elif "api" in levels:
            notes.append(f"keras column empty: cannot import keras and jax in "
                         f"{args.keras_python} ({err}); see --keras-python")
    else:
        frameworks = parse_list(args.frameworks, FRAMEWORKS, "framework")

    for fw in frameworks:
        err = check_importable(fw, python_of(fw, args))
        if err is not None:
            hint = {"torch": "PyTorch is a benchmark-only extra: pip install torch==2.13.0 "
                             "(CPU build)",
                    "keras": "name an interpreter with keras and jax: --keras-python PATH",
                    "rnnkit": "build and install rnnkit first (pip install -e .)"}[fw]
            print(f"error: cannot import {fw}: {err}\n{hint}", file=sys.stderr)
            return 1

    if not args.json:
        print(f"# threads={args.threads}, float32, best of {args.rounds} rotating rounds of the "
              f"median time per call (target {args.target_s:g} s of timed calls per case); "
              f"ratio > 1: rnnkit faster")
        for note in notes:
            print(f"# {note}")
        print(f"{'level':<5} {'cell':<10} {'mode':<7} {'shape':<13} {'B,T,I,H':<17} "
              f"{'torch ms':>10} {'keras ms':>10} {'rnnkit ms':>10} {'torch/rnnkit':>12} "
              f"{'keras/rnnkit':>12}", flush=True)

    failed = False
    for cell in cells:
        for shape_name, shape in shapes:
            # The workers take turns over several rounds (best_of_rounds). Torch's API is the
            # same at both levels, so one torch worker per round serves both.
            jobs = []
            for fw in frameworks:
                if fw == "torch":
                    jobs.append((fw, "api"))
                elif fw == "keras":
                    if "api" in levels:
                        jobs.append((fw, "api"))
                else:
                    jobs += [(fw, level) for level in levels]
            def run_job(job):
                fw, level = job
                run_modes = modes
                if level == "core" and "api" in levels and fw == "rnnkit":
                    run_modes = [m for m in modes if m != "fit"]   # fit is an api mode
                if not run_modes:
                    return {}
                return run_worker(fw, level, cell, shape_name, run_modes, args)

            best = {(fw, level, mode): t
                    for ((fw, level), mode), t in best_of_rounds(jobs, run_job, args.rounds).items()}
            for level in levels:
                for mode in modes:
                    if level == "core" and mode == "fit" and "api" in levels:
                        continue
                    t = {"torch": best.get(("torch", "api", mode)),
                         "keras": best.get(("keras", "api", mode)) if level == "api" else None,
                         "rnnkit": best.get(("rnnkit", level, mode))}
                    expected = [fw for fw in frameworks if not (fw == "keras" and level != "api")]
                    failed |= any(t[fw] is None for fw in expected)
                    ratio, keras_ratio = _ratio(t["torch"], t["rnnkit"]), \
                        _ratio(t["keras"], t["rnnkit"])
                    if args.json:
                        print(json.dumps({"level": level, "cell": cell, "mode": mode,
                                          "shape": shape_name, "torch_s": t["torch"],
                                          "keras_s": t["keras"], "rnnkit_s": t["rnnkit"],
                                          "ratio": ratio, "keras_ratio": keras_ratio}),
                              flush=True)
                    else:
                        dims = ",".join(map(str, shape))
                        r1 = f"{ratio:.2f}" if ratio is not None else "-"
                        r2 = f"{keras_ratio:.2f}" if keras_ratio is not None else "-"
                        print(f"{level:<5} {cell:<10} {mode:<7} {shape_name:<13} {dims:<17} "
                              f"{_ms(t['torch']):>10} {_ms(t['keras']):>10} "
                              f"{_ms(t['rnnkit']):>10} {r1:>12} {r2:>12}", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
