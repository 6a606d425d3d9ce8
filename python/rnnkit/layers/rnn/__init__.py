"""Recurrent layers and cells."""

from rnnkit.layers.rnn.bidirectional import Bidirectional
from rnnkit.layers.rnn.gru import GRU, GRUCell
from rnnkit.layers.rnn.lstm import LSTM, LSTMCell
from rnnkit.layers.rnn.rnn import RNN
from rnnkit.layers.rnn.simple_rnn import SimpleRNN, SimpleRNNCell
from rnnkit.layers.rnn.stacked_rnn_cells import StackedRNNCells

__all__ = ["Bidirectional", "GRU", "GRUCell", "LSTM", "LSTMCell", "RNN", "SimpleRNN",
           "SimpleRNNCell", "StackedRNNCells"]
