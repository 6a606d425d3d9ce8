"""A small encoder-decoder with attention, written as for Keras: it learns to reverse digit
strings ("40213" -> "31204").

The encoder (Embedding + LSTM) reads the digits; the decoder LSTM starts from the encoder's
final state and is fed the previous target digit (teacher forcing); a Luong-style
`Attention` layer lets each decoder step look at every encoder step, and the decoder output
and its attention context go through a softmax over the digits. At the end the model
decodes unseen strings greedily, one digit at a time.

    python examples/seq2seq_attention.py
"""

import time

import numpy as np

import rnnkit as keras
from rnnkit import layers

LENGTH, DIGITS = 6, 10
PAD, START = 0, 1          # token ids; digit d is token d + 2
VOCAB = DIGITS + 2
rng = np.random.default_rng(0)
keras.utils.set_random_seed(0)


def make_data(n):
    digits = rng.integers(0, DIGITS, size=(n, LENGTH))
    source = digits + 2
    target = source[:, ::-1]
    decoder_in = np.concatenate([np.full((n, 1), START), target[:, :-1]], axis=1)
    return source, decoder_in, target


start = time.time()
src_train, dec_train, tgt_train = make_data(3000)
src_test, _, tgt_test = make_data(300)

encoder_in = keras.Input((LENGTH,), dtype="int32", name="source")
decoder_in = keras.Input((LENGTH,), dtype="int32", name="decoder_input")
encoded, state_h, state_c = layers.LSTM(32, return_sequences=True, return_state=True)(
    layers.Embedding(VOCAB, 16)(encoder_in))
decoded = layers.LSTM(32, return_sequences=True)(layers.Embedding(VOCAB, 16)(decoder_in),
                                                 initial_state=[state_h, state_c])
context = layers.Attention(use_scale=True)([decoded, encoded])
hidden = layers.Concatenate()([decoded, context])
probabilities = layers.Dense(VOCAB, activation="softmax")(hidden)
model = keras.Model([encoder_in, decoder_in], probabilities)
model.compile(optimizer=keras.optimizers.Adam(0.02), loss="sparse_categorical_crossentropy",
              metrics=["accuracy"])
model.fit([src_train, dec_train], tgt_train, batch_size=100, epochs=4, verbose=2)


def greedy_decode(source):
    """Feeds the decoder its own previous predictions, one step at a time."""
    decoder = np.zeros_like(source)
    decoder[:, 0] = START
    for t in range(LENGTH):
        step = model.predict([source, decoder], verbose=0)[:, t].argmax(-1)
        if t + 1 < LENGTH:
            decoder[:, t + 1] = step
        else:
            last = step
    return np.concatenate([decoder[:, 1:], last[:, None]], axis=1)


predicted = greedy_decode(src_test)
digit_accuracy = float((predicted == tgt_test).mean())
string_accuracy = float((predicted == tgt_test).all(axis=1).mean())
for s, p in zip(src_test[:3], predicted[:3]):
    print("".join(str(d - 2) for d in s), "->", "".join(str(d - 2) for d in p))
print(f"greedy decoding: digit accuracy {digit_accuracy:.3f}, "
      f"whole-string accuracy {string_accuracy:.3f}")
print(f"{time.time() - start:.1f} s")
if digit_accuracy < 0.9:
    raise SystemExit(f"digit accuracy {digit_accuracy:.3f} is below 0.9")
