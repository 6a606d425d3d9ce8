"""Checks that files rnnkit writes load in Keras 3 with rnnkit's predictions.

Run by hand (Keras is never imported by rnnkit or its tests):

    python tools/check_keras_roundtrip.py write /tmp/rk_files          # rnnkit's Python
    KERAS_BACKEND=jax /path/to/keras-venv/bin/python \\
        tools/check_keras_roundtrip.py check /tmp/rk_files              # Keras 3

`write` builds and trains (two steps) one model per recurrent layer family, saves each as
`.keras`, `.weights.h5` and `.h5`, and stores rnnkit's predictions and optimizer variables.
`check` loads every file with `keras.saving.load_model` (and `load_weights` into the loaded
`.keras` model) and prints the largest difference from rnnkit's predictions, and whether
Keras' optimizer variables equal rnnkit's; it exits non-zero above 1e-5.
"""

from __future__ import annotations

import os
import sys

import numpy as np


def build(keras):
    layers = keras.layers
    rng = np.random.default_rng(5)
    out = []
    m = keras.Sequential([keras.Input((5, 3)), layers.LSTM(4, return_sequences=True),
                          layers.BatchNormalization(), layers.TimeDistributed(layers.Dense(2))],
                         name="lstm_bn")
    out.append(("lstm_bn", m, keras.optimizers.Adam(0.01), rng.normal(size=(4, 5, 3)),
                rng.normal(size=(4, 5, 2))))
    m = keras.Sequential([keras.Input((6,), dtype="int32"), layers.Embedding(12, 5, mask_zero=True),
                          layers.GRU(4, return_sequences=True), layers.SimpleRNN(3),
                          layers.Dense(3)], name="embed_gru")
    ids = rng.integers(1, 12, size=(4, 6))
    ids[0, 4:] = 0
    out.append(("embed_gru", m, keras.optimizers.SGD(0.05, momentum=0.9, nesterov=True), ids,
                rng.normal(size=(4, 3))))
    inp = keras.Input((5, 3), name="features")
    h = layers.Bidirectional(layers.LSTM(3, return_sequences=True))(inp)
    h = layers.Bidirectional(layers.GRU(2, reset_after=False), merge_mode="sum")(h)
    m = keras.Model(inp, layers.Dense(2, name="head")(h), name="bidir")
    out.append(("bidir", m, keras.optimizers.RMSprop(0.01, momentum=0.5, centered=True),
                rng.normal(size=(4, 5, 3)), rng.normal(size=(4, 2))))
    m = keras.Sequential([keras.Input((4, 3)),
                          layers.RNN([layers.LSTMCell(3), layers.GRUCell(2)]),
                          layers.Dense(1)], name="stacked")
    out.append(("stacked", m, keras.optimizers.Adam(0.01, amsgrad=True),
                rng.normal(size=(4, 4, 3)), rng.normal(size=(4, 1))))
    m = keras.Sequential([keras.Input(batch_shape=(4, None, 3)), layers.GRU(3, stateful=True),
                          layers.Dense(2)], name="stateful")
    out.append(("stateful", m, keras.optimizers.SGD(0.1), rng.normal(size=(4, 5, 3)),
                rng.normal(size=(4, 2))))
    return out


def write(directory):
    import rnnkit as keras
    os.makedirs(directory, exist_ok=True)
    for name, model, optimizer, x, y in build(keras):
        x = x.astype("int32" if x.dtype.kind == "i" else "float32")
        y = y.astype("float32")
        model.compile(optimizer=optimizer, loss="mse")
        model.train_on_batch(x, y)
        model.train_on_batch(x, y)
        model.reset_states()
        pred = model.predict(x, batch_size=4, verbose=0)
        model.reset_states()
        base = os.path.join(directory, name)
        model.save(base + ".keras")
        model.save_weights(base + ".weights.h5")
        model.save(base + ".h5")
        opts = {f"opt_{i}": np.asarray(v.numpy()) for i, v in
                enumerate(model.optimizer.variables)}
        np.savez(base + ".npz", x=x, y=pred, **opts)
        print("wrote", base)


def check(directory):
    import keras
    worst = 0.0
    names = sorted(f[:-4] for f in os.listdir(directory) if f.endswith(".npz"))
    for name in names:
        base = os.path.join(directory, name)
        ref = np.load(base + ".npz")
        opts = [ref[f"opt_{i}"] for i in range(sum(k.startswith("opt_") for k in ref.files))]
        for ext in (".keras", ".h5"):
            model = keras.saving.load_model(base + ext, compile=(ext == ".keras"))
            if hasattr(model, "reset_states"):
                model.reset_states()
            diff = float(np.max(np.abs(model.predict(ref["x"], batch_size=4, verbose=0)
                                       - ref["y"])))
            worst = max(worst, diff)
            line = f"{name}{ext}: max|diff| {diff:.3g}"
            if ext == ".keras":
                got = [np.asarray(v) for v in model.optimizer.variables]
                same = len(got) == len(opts) and all(
                    np.array_equal(g.reshape(o.shape), o) for g, o in zip(got, opts))
                line += f", optimizer variables equal: {same}"
                if not same:
                    worst = max(worst, 1.0)
                model.load_weights(base + ".weights.h5")
                diff = float(np.max(np.abs(model.predict(ref["x"], batch_size=4, verbose=0)
                                           - ref["y"])))
                worst = max(worst, diff)
                line += f"; .weights.h5 {diff:.3g}"
            print(line)
    print(f"largest difference: {worst:.3g}")
    return 0 if worst <= 1e-5 else 1


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] not in ("write", "check"):
        sys.exit(__doc__)
    if sys.argv[1] == "write":
        write(sys.argv[2])
    else:
        sys.exit(check(sys.argv[2]))
