"""Every layer snippet of the Keras guide "Working with RNNs", with `import rnnkit as keras`.

The guide wraps the layers in Sequential/functional models with Embedding and Dense layers. Here
the recurrent layers are called directly on NumPy arrays, and a NumPy lookup table stands in
for Embedding; the models themselves come with rnnkit's models module. Prints each output shape.
"""

import numpy as np

import rnnkit as keras
from rnnkit import layers

rng = np.random.default_rng(0)


def embed(ids, vocab, dim=64):
    """A stand-in for layers.Embedding(vocab, dim): a random lookup table."""
    table = np.random.default_rng(vocab).uniform(-0.05, 0.05, (vocab, dim)).astype(np.float32)
    return table[ids]


def show(title, value):
    if isinstance(value, (list, tuple)):
        shapes = [show_shape(v) for v in value]
    else:
        shapes = show_shape(value)
    print(f"{title:<58} {shapes}")


def show_shape(value):
    if isinstance(value, (list, tuple)):
        return [show_shape(v) for v in value]
    return tuple(value.shape)


tokens = rng.integers(0, 1000, size=(32, 10))

# -- Built-in RNN layers: a simple example --------------------------------------------------------
lstm = layers.LSTM(128)
show("LSTM(128) on embedded tokens", lstm(embed(tokens, 1000)))

gru = layers.GRU(256, return_sequences=True)
simple = layers.SimpleRNN(128)
sequence = gru(embed(tokens, 1000))
show("GRU(256, return_sequences=True)", sequence)
show("SimpleRNN(128) on the GRU's sequence", simple(sequence))

# -- Outputs and states ----------------------------------------------------------------------------
encoder_tokens = rng.integers(0, 1000, size=(32, 12))
decoder_tokens = rng.integers(0, 2000, size=(32, 7))
encoder = layers.LSTM(64, return_state=True, name="encoder")
output, state_h, state_c = encoder(embed(encoder_tokens, 1000))
encoder_state = [state_h, state_c]
show("encoder LSTM(64, return_state=True): output, h, c", [output, state_h, state_c])
decoder = layers.LSTM(64, name="decoder")
decoder_output = decoder(embed(decoder_tokens, 2000), initial_state=encoder_state)
show("decoder LSTM(64) with the encoder's states", decoder_output)

# -- Cross-batch statefulness ----------------------------------------------------------------------
paragraph1 = np.random.random((20, 10, 50)).astype(np.float32)
paragraph2 = np.random.random((20, 10, 50)).astype(np.float32)
paragraph3 = np.random.random((20, 10, 50)).astype(np.float32)

lstm_layer = layers.LSTM(64, stateful=True)
output = lstm_layer(paragraph1)
output = lstm_layer(paragraph2)
output = lstm_layer(paragraph3)
show("stateful LSTM(64) after three paragraphs", output)

# reset_states() resets the cached state to zeros.
lstm_layer.reset_states()
assert all(np.all(s.numpy() == 0) for s in lstm_layer.states)

# -- RNN state reuse -------------------------------------------------------------------------------
output = lstm_layer(paragraph1)
existing_state = lstm_layer.states
new_lstm_layer = layers.LSTM(64)
new_output = new_lstm_layer(paragraph3, initial_state=existing_state)
show("LSTM(64) started from another layer's states", new_output)

# -- Bidirectional RNNs ----------------------------------------------------------------------------
bidirectional_1 = layers.Bidirectional(layers.LSTM(64, return_sequences=True))
bidirectional_2 = layers.Bidirectional(layers.LSTM(32))
x = rng.random((16, 5, 10)).astype(np.float32)
first = bidirectional_1(x)
show("Bidirectional(LSTM(64, return_sequences=True)), (5, 10)", first)
show("Bidirectional(LSTM(32))", bidirectional_2(first))
print(f"{'  params':<58} {bidirectional_1.count_params():,} and "
      f"{bidirectional_2.count_params():,}")

# -- Performance: the fused layer and RNN(LSTMCell) ------------------------------------------------
batch_size, input_dim, units = 64, 28, 64
fused = layers.LSTM(units)
generic = layers.RNN(layers.LSTMCell(units))
digits = rng.random((batch_size, 28, input_dim)).astype(np.float32)
fused_out = fused(digits)
generic(digits)
generic.set_weights(fused.get_weights())
generic_out = generic(digits)
show("LSTM(64) and RNN(LSTMCell(64)) on MNIST-shaped input", [fused_out, generic_out])
print(f"{'  same weights, max difference':<58} {np.abs(fused_out - generic_out).max():.1e}")
assert np.array_equal(fused_out, generic_out)


# -- RNNs with list/dict inputs, or nested inputs --------------------------------------------------
from nested_cell import NestedCell  # noqa: E402  (the guide's class, verbatim)


unit_1, unit_2, unit_3 = 10, 20, 30
i1, i2, i3 = 32, 64, 32
batch_size, timestep = 64, 50

cell = NestedCell(unit_1, unit_2, unit_3)
rnn = keras.layers.RNN(cell)
input_1 = rng.random((batch_size, timestep, i1)).astype(np.float32)
input_2 = rng.random((batch_size, timestep, i2, i3)).astype(np.float32)
outputs = rnn((input_1, input_2))
show("RNN(NestedCell(10, 20, 30)) on (64,50,32) and (64,50,64,32)", outputs)
