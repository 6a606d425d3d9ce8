"""Times an rnnkit recurrent layer under the "float32" and "mixed_bfloat16" dtype policies,
interleaved (A, B, A, B, ...), and prints the medians.

    python bench/mixed_precision.py [--cell lstm] [--shape 32,100,128,256] [--rounds 15]
                                    [--modes forward,train]

The shape is (batch, timesteps, input features, units). `forward` is the layer call;
`train` is a GradientTape step over it: the call in training mode and the gradients of
sum(output * seed) for the layer's weights (the input is data: no gradient for it), what `fit`
asks of a first layer. Where the CPU has AMX-BF16 tiles
(`rnnkit._core.build_info()["amx_bf16"]`, printed), mixed_bfloat16 multiplies in bfloat16;
elsewhere it runs the float32 core on bfloat16-rounded values (docs/mixed_precision.md) and is a
little slower than float32 (the casts). RNNKIT_AMX=0 forces the latter.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

import rnnkit as keras


def forward(layer, x, seed):
    """One inference call."""
    del seed
    layer(x)


def train(layer, x, seed):
    """One GradientTape step: the call in training mode and the weights' gradients."""
    with keras.GradientTape() as tape:
        y = layer(x, training=True)
        loss = keras.ops.sum(keras.ops.multiply(keras.ops.cast(y, "float32"), seed))
    tape.gradient(loss, layer.trainable_weights)


def main():
    """Parses the arguments, times both policies and prints a table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cell", default="lstm", choices=["simple_rnn", "gru", "lstm"])
    parser.add_argument("--shape", default="32,100,128,256")
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--modes", default="forward,train")
    args = parser.parse_args()
    batch, steps, features, units = (int(s) for s in args.shape.split(","))
    cls = {"simple_rnn": keras.layers.SimpleRNN, "gru": keras.layers.GRU,
           "lstm": keras.layers.LSTM}[args.cell]
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, (batch, steps, features)).astype(np.float32)
    seed = rng.uniform(-1, 1, (batch, units)).astype(np.float32)
    layers = {"float32": cls(units, dtype="float32"), "mixed_bfloat16": cls(units,
                                                                        dtype="mixed_bfloat16")}
    for layer in layers.values():
        layer(x)                                     # build and warm up
    layers["mixed_bfloat16"].set_weights(layers["float32"].get_weights())
    info = keras._core.build_info()
    print(f"{args.cell}, shape (B,T,I,H)={args.shape}, {args.rounds} interleaved rounds, "
          f"ISA {info['isa']}, AMX-BF16 {'yes' if info['amx_bf16'] else 'no'}, "
          f"{keras.get_num_threads()} threads")
    print("| mode | policy | median ms | vs float32 |")
    print("|---|---|---|---|")
    for mode in args.modes.split(","):
        run = {"forward": forward, "train": train}[mode]
        for layer in layers.values():
            run(layer, x, seed)                      # warm up this mode
        times = {name: [] for name in layers}
        for _ in range(args.rounds):
            for name, layer in layers.items():
                start = time.perf_counter()
                run(layer, x, seed)
                times[name].append(time.perf_counter() - start)
        base = statistics.median(times["float32"])
        for name, values in times.items():
            median = statistics.median(values)
            print(f"| {mode} | {name} | {median * 1e3:.2f} | {base / median:.2f}x |")


if __name__ == "__main__":
    main()
