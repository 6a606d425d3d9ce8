"""Times an rnnkit recurrent layer's forward call under the "float32" and "mixed_bfloat16"
dtype policies, interleaved (A, B, A, B, ...), and prints the medians.

    python bench/mixed_precision.py [--cell lstm] [--shape 32,100,128,256] [--rounds 15]

The shape is (batch, timesteps, input features, units). rnnkit's mixed_bfloat16 runs the
float32 core on bfloat16-rounded values (docs/mixed_precision.md), so it is expected to be a
little slower than float32 (the extra casts), never faster.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

import rnnkit as keras


def main():
    """Parses the arguments, times both policies and prints a table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cell", default="lstm", choices=["simple_rnn", "gru", "lstm"])
    parser.add_argument("--shape", default="32,100,128,256")
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    batch, steps, features, units = (int(s) for s in args.shape.split(","))
    cls = {"simple_rnn": keras.layers.SimpleRNN, "gru": keras.layers.GRU,
           "lstm": keras.layers.LSTM}[args.cell]
    x = np.random.default_rng(0).uniform(-1, 1, (batch, steps, features)).astype(np.float32)
    layers = {"float32": cls(units, dtype="float32"), "mixed_bfloat16": cls(units,
                                                                        dtype="mixed_bfloat16")}
    for layer in layers.values():
        layer(x)                                     # build and warm up
        layer(x)
    layers["mixed_bfloat16"].set_weights(layers["float32"].get_weights())
    times = {name: [] for name in layers}
    for _ in range(args.rounds):
        for name, layer in layers.items():
            start = time.perf_counter()
            layer(x)
            times[name].append(time.perf_counter() - start)
    base = statistics.median(times["float32"])
    print(f"{args.cell} forward, shape (B,T,I,H)={args.shape}, {args.rounds} interleaved rounds")
    print("| policy | median ms | vs float32 |")
    print("|---|---|---|")
    for name, values in times.items():
        median = statistics.median(values)
        print(f"| {name} | {median * 1e3:.2f} | {base / median:.2f}x |")


if __name__ == "__main__":
    main()
