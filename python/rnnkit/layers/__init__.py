"""Keras-compatible layers: `rnnkit.layers.LSTM(...)` takes the arguments of `keras.layers.LSTM`."""

from rnnkit.layers.core import Activation, Dense, Embedding, Masking
from rnnkit.layers.layer import InputSpec, Layer
from rnnkit.layers.normalization import BatchNormalization
from rnnkit.layers.regularization import Dropout
from rnnkit.layers.rnn.time_distributed import TimeDistributed
from rnnkit.layers.rnn import (GRU, LSTM, RNN, Bidirectional, GRUCell, LSTMCell, SimpleRNN,
                               SimpleRNNCell, StackedRNNCells)



def __getattr__(name):
    # Input and InputLayer live with the models; Keras also exposes them in keras.layers.
    if name in ("Input", "InputLayer"):
        from rnnkit import models
        return getattr(models, name)
    raise AttributeError(f"module 'rnnkit.layers' has no attribute {name!r}")


__all__ = ["Activation", "BatchNormalization", "Bidirectional", "Dense", "Dropout", "Embedding",
           "GRU", "GRUCell", "Input", "InputLayer", "InputSpec", "LSTM", "LSTMCell", "Layer",
           "Masking", "RNN", "SimpleRNN", "SimpleRNNCell", "StackedRNNCells", "TimeDistributed"]
