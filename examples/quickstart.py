"""rnnkit quickstart: a small Keras model, written as for Keras, trained and used.

The task: sequences of word ids of different lengths (0 is padding) -- does the sequence
contain word 7? An Embedding with `mask_zero=True` makes the LSTM skip the padding.

    python examples/quickstart.py
"""

import numpy as np

import rnnkit as keras
from rnnkit import layers

VOCAB, MAX_LEN = 20, 12
rng = np.random.default_rng(0)
keras.utils.set_random_seed(0)


def make_data(n):
    lengths = rng.integers(3, MAX_LEN + 1, size=n)
    ids = rng.integers(1, VOCAB, size=(n, MAX_LEN))
    ids[np.arange(MAX_LEN)[None, :] >= lengths[:, None]] = 0     # right padding
    labels = (ids == 7).any(axis=1).astype("int32")
    return ids, labels


x_train, y_train = make_data(2000)
x_test, y_test = make_data(500)

model = keras.Sequential([
    keras.Input((None,), dtype="int32"),
    layers.Embedding(VOCAB, 16, mask_zero=True),
    layers.LSTM(32),
    layers.Dense(1, activation="sigmoid"),
])
model.compile(optimizer=keras.optimizers.Adam(0.01), loss="binary_crossentropy",
              metrics=["accuracy"])
model.summary()

model.fit(x_train, y_train, batch_size=64, epochs=5, validation_split=0.1, verbose=2)
loss, accuracy = model.evaluate(x_test, y_test, verbose=0)
print(f"test loss {loss:.4f}, test accuracy {accuracy:.4f}")

examples = np.array([[3, 7, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0],
                     [3, 5, 2, 9, 1, 0, 0, 0, 0, 0, 0, 0]])
print("P(contains 7):", model.predict(examples, verbose=0).ravel().round(3), "(expected: high, low)")
if accuracy < 0.9:
    raise SystemExit(f"test accuracy {accuracy:.4f} is below 0.9")
