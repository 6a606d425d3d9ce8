"""Keras-compatible layers: `rnnkit.layers.LSTM(...)` takes the arguments of `keras.layers.LSTM`."""

from rnnkit.layers.activations import ELU, LeakyReLU, PReLU, ReLU, Softmax
from rnnkit.layers.core import Activation, Dense, Embedding, Input, InputLayer, Masking
from rnnkit.layers.convolutional.conv1d import (Conv1D, Convolution1D, DepthwiseConv1D,
                                                SeparableConv1D, SeparableConvolution1D)
from rnnkit.layers.attention.grouped_query_attention import (GroupedQueryAttention,
                                                           GroupQueryAttention)
from rnnkit.layers.convolutional.conv1d_transpose import Conv1DTranspose, Convolution1DTranspose
from rnnkit.layers.core.einsum_dense import EinsumDense
from rnnkit.layers.core.identity import Identity
from rnnkit.layers.core.reversible_embedding import ReversibleEmbedding
from rnnkit.layers.core.wrapper import Wrapper
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
from rnnkit.layers.pooling.adaptive_pooling1d import (AdaptiveAveragePooling1D,
                                                     AdaptiveMaxPooling1D)
from rnnkit.layers.preprocessing.category_encoding import CategoryEncoding
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

def serialize(layer):
    """Returns a layer's config in Keras 3's format (`rnnkit.saving.serialize(layer)`).

    Args:
        layer: A `Layer`.

    Returns:
        A dict `{"module", "class_name", "config", "registered_name"}`.

    Example:

    >>> import rnnkit as keras
    >>> keras.layers.serialize(keras.layers.Flatten(name="f"))["class_name"]
    'Flatten'
    """
    from rnnkit import saving
    return saving.serialize(layer)


def deserialize(config, custom_objects=None):
    """Rebuilds a layer from `serialize()`'s dict (or one written by Keras 3).

    Args:
        config: The dict.
        custom_objects: Optional dict of names to custom classes and functions.

    Returns:
        A new, unbuilt layer.

    Raises:
        ValueError: If the config does not describe a layer.

    Example:

    >>> import rnnkit as keras
    >>> layer = keras.layers.deserialize(keras.layers.serialize(keras.layers.Reshape((2, 3))))
    >>> layer.target_shape
    (2, 3)
    """
    from rnnkit import saving
    obj = saving.deserialize(config, custom_objects=custom_objects)
    if not isinstance(obj, Layer):
        raise ValueError(f"`rnnkit.layers.deserialize` was passed a `config` object that is "
                         f"not a `rnnkit.layers.Layer`. Received: {config}")
    return obj


__all__ += ["AdaptiveAveragePooling1D", "AdaptiveMaxPooling1D", "CategoryEncoding",
            "Conv1DTranspose", "Convolution1DTranspose", "ELU", "EinsumDense",
            "GroupQueryAttention", "GroupedQueryAttention", "LeakyReLU",
            "PReLU", "ReLU", "ReversibleEmbedding", "Softmax", "Wrapper"]
__all__ += ["deserialize", "serialize"]

from rnnkit.layers._sequence_extras import *  # noqa: E402,F401,F403 (attention, ...)
from rnnkit.layers._sequence_extras import __all__ as _extras_all  # noqa: E402

__all__ += [n for n in _extras_all if n not in __all__]
