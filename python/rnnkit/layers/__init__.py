"""Keras-compatible layers: `rnnkit.layers.LSTM(...)` takes the arguments of `keras.layers.LSTM`."""

from rnnkit.layers.core import Activation, Dense, Embedding, Input, InputLayer, Masking
from rnnkit.layers.convolutional.conv1d import (Conv1D, Convolution1D, DepthwiseConv1D,
                                                SeparableConv1D, SeparableConvolution1D)
from rnnkit.layers.core.identity import Identity
from rnnkit.layers.core.lambda_layer import Lambda
from rnnkit.layers.layer import InputSpec, Layer
from rnnkit.layers.merging import (Add, Average, Concatenate, Dot, Maximum, Minimum, Multiply,
                                   Subtract, add, average, concatenate, dot, maximum, minimum,
                                   multiply, subtract)
from rnnkit.layers.normalization import BatchNormalization
from rnnkit.layers.normalization.layer_normalization import (GroupNormalization,
                                                            LayerNormalization,
                                                            RMSNormalization,
                                                            UnitNormalization)
from rnnkit.layers.pooling import (AveragePooling1D, AvgPool1D, GlobalAveragePooling1D,
                                  GlobalAvgPool1D, GlobalMaxPool1D, GlobalMaxPooling1D,
                                  MaxPool1D, MaxPooling1D)
from rnnkit.layers.regularization import Dropout
from rnnkit.layers.regularization.noise import (ActivityRegularization, AlphaDropout,
                                               GaussianDropout, GaussianNoise, SpatialDropout1D)
from rnnkit.layers.reshaping import (Cropping1D, Flatten, Permute, RepeatVector, Reshape,
                                     UpSampling1D, ZeroPadding1D)
from rnnkit.layers.rnn.time_distributed import TimeDistributed
from rnnkit.layers.rnn import (GRU, LSTM, RNN, Bidirectional, GRUCell, LSTMCell, SimpleRNN,
                               SimpleRNNCell, StackedRNNCells)

__all__ = ["Activation", "ActivityRegularization", "Add", "AlphaDropout", "Average",
           "AveragePooling1D", "AvgPool1D", "BatchNormalization", "Bidirectional", "Concatenate",
           "Conv1D", "Convolution1D", "Cropping1D", "Dense", "DepthwiseConv1D", "Dot", "Dropout",
           "Embedding", "Flatten", "GRU", "GRUCell", "GaussianDropout", "GaussianNoise",
           "GlobalAveragePooling1D", "GlobalAvgPool1D", "GlobalMaxPool1D", "GlobalMaxPooling1D",
           "GroupNormalization", "Identity", "Input", "InputLayer", "InputSpec", "LSTM",
           "LSTMCell", "Lambda", "Layer", "LayerNormalization", "Masking", "MaxPool1D",
           "MaxPooling1D", "Maximum", "Minimum", "Multiply", "Permute", "RMSNormalization", "RNN",
           "RepeatVector", "Reshape", "SeparableConv1D", "SeparableConvolution1D", "SimpleRNN",
           "SimpleRNNCell", "SpatialDropout1D", "StackedRNNCells", "Subtract", "TimeDistributed",
           "UnitNormalization", "UpSampling1D", "ZeroPadding1D", "add", "average", "concatenate",
           "dot", "maximum", "minimum", "multiply", "subtract"]
from rnnkit.layers._sequence_extras import *  # noqa: E402,F401,F403 (attention, ...)
