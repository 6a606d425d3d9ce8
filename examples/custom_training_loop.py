"""A training loop written by hand: `rnnkit.GradientTape` gives the gradients, an optimizer
applies them. The model mixes a fused LSTM layer (its backward pass is the C++ BPTT) with a
research cell written with `rnnkit.ops` (differentiated op by op).

    python examples/custom_training_loop.py
"""

import time

import numpy as np

import rnnkit as keras
from rnnkit import ops


class LeakyCell(keras.layers.Layer):
    """h_t = (1 - a) * h_{t-1} + a * tanh(x_t @ W + h_{t-1} @ U + b), with a learned leak a."""

    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.state_size = units

    def build(self, input_shape):
        self.kernel = self.add_weight(shape=(input_shape[-1], self.units), name="kernel")
        self.recurrent_kernel = self.add_weight(shape=(self.units, self.units),
                                                initializer="orthogonal",
                                                name="recurrent_kernel")
        self.bias = self.add_weight(shape=(self.units,), initializer="zeros", name="bias")
        self.leak_logit = self.add_weight(shape=(self.units,), initializer="zeros",
                                          name="leak_logit")

    def call(self, inputs, states):
        h = states[0]
        candidate = ops.tanh(ops.matmul(inputs, self.kernel) +
                             ops.matmul(h, self.recurrent_kernel) + self.bias)
        leak = ops.sigmoid(self.leak_logit)
        h = (1.0 - leak) * h + leak * candidate
        return h, [h]


def make_data(rng, n):
    """Sequences whose label says whether the first feature's running sum ends positive."""
    x = rng.standard_normal((n, 20, 4)).astype("float32")
    y = (x[:, :, 0].sum(axis=1) > 0).astype("int64")
    return x, y


def main():
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    x_train, y_train = make_data(rng, 1024)
    x_val, y_val = make_data(rng, 256)

    inputs = keras.Input((None, 4))
    hidden = keras.layers.LSTM(16, return_sequences=True)(inputs)
    hidden = keras.layers.RNN(LeakyCell(16))(hidden)
    model = keras.Model(inputs, keras.layers.Dense(2)(hidden))

    loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    optimizer = keras.optimizers.Adam(learning_rate=0.01)
    accuracy = keras.metrics.SparseCategoricalAccuracy()
    batch_size = 64

    for epoch in range(5):
        start = time.perf_counter()
        order = rng.permutation(len(x_train))
        losses = []
        for begin in range(0, len(order), batch_size):
            index = order[begin:begin + batch_size]
            with keras.GradientTape() as tape:
                logits = model(x_train[index], training=True)
                loss = loss_fn(y_train[index], logits)
            grads = tape.gradient(loss, model.trainable_weights)
            optimizer.apply(grads, model.trainable_weights)
            losses.append(float(loss))
        accuracy.reset_state()
        accuracy.update_state(y_val, model(x_val))
        print(f"epoch {epoch + 1}: loss {np.mean(losses):.4f}, validation accuracy "
              f"{float(accuracy.result()):.4f} ({time.perf_counter() - start:.2f} s)")

    leak = 1 / (1 + np.exp(-model.layers[2].cell.leak_logit.numpy()))
    print(f"learned leak rates: mean {leak.mean():.3f}, min {leak.min():.3f}, "
          f"max {leak.max():.3f}")


if __name__ == "__main__":
    main()
