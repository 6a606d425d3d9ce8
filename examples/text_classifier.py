"""A text classifier from raw strings: TextVectorization -> Embedding(mask_zero) ->
Bidirectional(LSTM) -> GlobalMaxPooling1D -> Dense, written as for Keras.

The data are synthetic movie reviews: a few sentiment words among neutral filler, with
negations ("not good") that flip a word's sense, so that word order matters. The
TextVectorization layer learns its vocabulary with `adapt` and turns the strings into padded
id sequences (0 = padding, which the Embedding masks).

    python examples/text_classifier.py
"""

import time

import numpy as np

import rnnkit as keras
from rnnkit import layers

rng = np.random.default_rng(0)
keras.utils.set_random_seed(0)

POSITIVE = ["good", "great", "wonderful", "fun", "moving", "superb"]
NEGATIVE = ["bad", "boring", "awful", "dull", "weak", "terrible"]
FILLER = ["the", "movie", "film", "plot", "acting", "was", "and", "really", "story", "cast",
          "music", "quite", "very", "a", "it", "this"]


def review():
    """A review string and its label (1 = positive)."""
    words = list(rng.choice(FILLER, size=rng.integers(4, 12)))
    label = int(rng.random() < 0.5)
    for _ in range(rng.integers(1, 3)):
        negate = rng.random() < 0.3
        word = rng.choice(POSITIVE if label != negate else NEGATIVE)
        phrase = ["not", word] if negate else [word]
        at = rng.integers(0, len(words) + 1)
        words[at:at] = phrase
    text = " ".join(words)
    text = text[0].upper() + text[1:] + rng.choice([".", "!", "..."])
    return text, label


def dataset(n):
    pairs = [review() for _ in range(n)]
    return np.array([p[0] for p in pairs]), np.array([p[1] for p in pairs], "float32")


start = time.time()
train_text, y_train = dataset(2000)
test_text, y_test = dataset(500)
print("example:", repr(train_text[0]), "->", int(y_train[0]))

vectorize = layers.TextVectorization(max_tokens=100, output_sequence_length=16)
vectorize.adapt(train_text)
print("vocabulary:", vectorize.get_vocabulary()[:12], "...")
x_train, x_test = vectorize(train_text), vectorize(test_text)

model = keras.Sequential([
    keras.Input((16,), dtype="int32"),
    layers.Embedding(vectorize.vocabulary_size(), 16, mask_zero=True),
    layers.Bidirectional(layers.LSTM(16, return_sequences=True)),
    layers.GlobalMaxPooling1D(),
    layers.Dense(1, activation="sigmoid"),
])
model.compile(optimizer=keras.optimizers.Adam(0.01), loss="binary_crossentropy",
              metrics=["accuracy"])
model.fit(x_train, y_train, batch_size=64, epochs=6, validation_split=0.1, verbose=2)
loss, accuracy = model.evaluate(x_test, y_test, verbose=0)
print(f"test loss {loss:.4f}, test accuracy {accuracy:.4f}")

samples = ["A really wonderful film!", "The plot was not good and the acting dull."]
print("P(positive):", model.predict(vectorize(samples), verbose=0).ravel().round(3),
      "(expected: high, low)")
print(f"{time.time() - start:.1f} s")
if accuracy < 0.9:
    raise SystemExit(f"test accuracy {accuracy:.4f} is below 0.9")
