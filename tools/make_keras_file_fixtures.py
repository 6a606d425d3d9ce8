"""Writes small model files made by Keras itself, plus Keras' predictions, for the saving tests.

Run by hand, never in CI (the tests only read the committed files):

    KERAS_BACKEND=jax python tools/make_keras_file_fixtures.py            # Keras 3 files, k3_*
    python tools/make_keras_file_fixtures.py --tf                         # tf.keras 2.x, tf2_*

The first needs Keras 3 with JAX; the second TensorFlow 2.x with its own Keras 2
(`pip install "tensorflow-cpu<2.16"`). Files go to tests/data/keras_files/:

- k3_<name>.keras, k3_<name>.weights.h5 and k3_<name>.h5 (legacy full model): the same
  trained model (two training steps, so the optimizer has state), saved in that order
  (saving `.h5` changes a Keras model's compile config);
- tf2_<name>.keras, tf2_<name>.h5 (full model) and tf2_<name>.wonly.h5
  (`save_weights("x.h5")`);
- <prefix>_<name>.npz: `x` and Keras' `y` = predict(x); `train_x`, `train_y`, the batch of a
  further training step, and `after_<i>`, the model's weights after that step (so the tests
  can check that training resumes exactly); `opt_<i>`, the optimizer's variables as saved.

Everything is seeded, so running it again writes the same numbers.
"""

from __future__ import annotations

import argparse
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "tests", "data", "keras_files")


def models(keras, tf2):
    """(name, model, loss, optimizer, metrics, x, y) for every fixture."""
    layers = keras.layers
    rng = np.random.default_rng(1234)

    def floats(*shape):
        return rng.normal(size=shape).astype("float32")

    out = []

    # a: LSTM -> BatchNormalization -> Dense (Sequential), Adam.
    m = keras.Sequential([keras.Input((5, 3)), layers.LSTM(4, return_sequences=True),
                          layers.BatchNormalization(), layers.TimeDistributed(layers.Dense(2))],
                         name="lstm_bn")
    out.append(("lstm_bn", m, "mse", keras.optimizers.Adam(0.01), None,
                floats(4, 5, 3), floats(4, 5, 2)))

    # b: Embedding(mask_zero) -> GRU -> SimpleRNN -> Dense, SGD with momentum, a loss object.
    m = keras.Sequential([keras.Input((6,), dtype="int32"),
                          layers.Embedding(12, 5, mask_zero=True),
                          layers.GRU(4, return_sequences=True),
                          layers.SimpleRNN(3), layers.Dense(3)], name="embed_gru")
    ids = rng.integers(1, 12, size=(4, 6)).astype("int32")
    ids[0, 4:] = 0
    ids[2, 2:] = 0
    out.append(("embed_gru", m,
                keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                keras.optimizers.SGD(0.05, momentum=0.9, nesterov=True), ["accuracy"],
                ids, rng.integers(0, 3, size=(4,)).astype("int32")))

    # c: functional, Bidirectional LSTM / GRU(reset_after=False), Dense named "head", RMSprop.
    inp = keras.Input((5, 3), name="features")
    h = layers.Bidirectional(layers.LSTM(3, return_sequences=True))(inp)
    h = layers.Bidirectional(layers.GRU(2, reset_after=False), merge_mode="sum")(h)
    o = layers.Dense(2, name="head")(h)
    m = keras.Model(inp, o, name="bidir")
    out.append(("bidir", m, "mse",
                keras.optimizers.RMSprop(0.01, momentum=0.5, centered=True), None,
                floats(4, 5, 3), floats(4, 2)))

    # d: RNN(StackedRNNCells([LSTMCell, GRUCell])) -> Dense, Adam with amsgrad.
    cells = [layers.LSTMCell(3), layers.GRUCell(2)]
    m = keras.Sequential([keras.Input((4, 3)), layers.RNN(cells), layers.Dense(1)],
                         name="stacked")
    out.append(("stacked", m, "mse", keras.optimizers.Adam(0.01, amsgrad=not tf2), None,
                floats(4, 4, 3), floats(4, 1)))

    # e: a stateful GRU with a fixed batch of 4, plain SGD.
    if tf2:
        inp = keras.Input((None, 3), batch_size=4)
    else:
        inp = keras.Input(batch_shape=(4, None, 3))
    m = keras.Sequential([inp, layers.GRU(3, stateful=True), layers.Dense(2)], name="stateful")
    out.append(("stateful", m, "mse", keras.optimizers.SGD(0.1), None,
                floats(4, 5, 3), floats(4, 2)))

    # f: a registered custom cell in RNN (Keras 3 only).
    if not tf2:
        m = keras.Sequential([keras.Input((5, 3)), layers.RNN(MinimalRNNCell(4)),
                              layers.Dense(1)], name="custom_cell")
        out.append(("custom_cell", m, "mse", keras.optimizers.Adam(0.01), None,
                    floats(4, 5, 3), floats(4, 1)))
    return out


MinimalRNNCell = None


def define_custom_cell(keras):
    """The cell of the Keras docs' "custom RNN cell" example, registered as
    RnnkitFixtures>MinimalRNNCell (the tests define the same class for rnnkit)."""
    global MinimalRNNCell

    @keras.saving.register_keras_serializable(package="RnnkitFixtures")
    class MinimalRNNCell(keras.layers.Layer):  # noqa: F811
        def __init__(self, units, **kwargs):
            super().__init__(**kwargs)
            self.units = units
            self.state_size = units

        def build(self, input_shape):
            self.kernel = self.add_weight(shape=(input_shape[-1], self.units),
                                          initializer="glorot_uniform", name="kernel")
            self.recurrent_kernel = self.add_weight(shape=(self.units, self.units),
                                                    initializer="orthogonal",
                                                    name="recurrent_kernel")

        def call(self, inputs, states):
            prev = states[0]
            h = keras.ops.matmul(inputs, self.kernel)
            output = keras.ops.tanh(h + keras.ops.matmul(prev, self.recurrent_kernel))
            return output, [output]

        def get_config(self):
            return {**super().get_config(), "units": self.units}

    globals()["MinimalRNNCell"] = MinimalRNNCell


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tf", action="store_true", help="write the tf.keras 2.x files")
    args = parser.parse_args()
    os.makedirs(OUT, exist_ok=True)
    if args.tf:
        import tensorflow as tf
        keras = tf.keras
        prefix = "tf2"
        tf.keras.utils.set_random_seed(7)
    else:
        import keras
        tf = None
        prefix = "k3"
        keras.utils.set_random_seed(7)
        define_custom_cell(keras)
    print(prefix, getattr(keras, "__version__", None) or tf.__version__, file=sys.stderr)
    for name, model, loss, optimizer, metrics, x, y in models(keras, args.tf):
        model.compile(optimizer=optimizer, loss=loss, metrics=metrics)
        # Two steps on the same batch: the optimizer's slots are non-zero.
        model.train_on_batch(x, y)
        model.train_on_batch(x, y)
        if hasattr(model, "reset_states"):
            model.reset_states()
        base = os.path.join(OUT, f"{prefix}_{name}")
        pred = model.predict(x, batch_size=4, verbose=0)
        if hasattr(model, "reset_states"):
            model.reset_states()
        optimizer_values = [np.asarray(v) for v in model.optimizer.variables] if not args.tf \
            else [np.asarray(v) for v in model.optimizer.variables()]
        if args.tf:
            model.save(base + ".keras")
            model.save(base + ".h5")
            model.save_weights(base + ".wonly.h5")
        else:
            model.save(base + ".keras")
            model.save_weights(base + ".weights.h5")
            model.save(base + ".h5")
        train_x = x[::-1].copy()
        train_y = y[::-1].copy()
        model.train_on_batch(train_x, train_y)
        after = {f"after_{i}": np.asarray(w) for i, w in enumerate(model.get_weights())}
        opts = {f"opt_{i}": v for i, v in enumerate(optimizer_values)}
        np.savez(base + ".npz", x=x, y=pred, train_x=train_x, train_y=train_y, **after, **opts)
        print(name, "ok", file=sys.stderr)


if __name__ == "__main__":
    main()
