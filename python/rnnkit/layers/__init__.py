"""Keras-compatible layers: `rnnkit.layers.LSTM(...)` takes the arguments of `keras.layers.LSTM`."""

from rnnkit.layers.layer import InputSpec, Layer
from rnnkit.layers.rnn import (GRU, LSTM, RNN, Bidirectional, GRUCell, LSTMCell, SimpleRNN,
                               SimpleRNNCell, StackedRNNCells)

__all__ = ["Bidirectional", "GRU", "GRUCell", "InputSpec", "LSTM", "LSTMCell", "Layer", "RNN",
           "SimpleRNN", "SimpleRNNCell", "StackedRNNCells"]
