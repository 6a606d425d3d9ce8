"""The attention layers, the preprocessing layers and ConvLSTM, re-exported by
`rnnkit.layers` (`from rnnkit.layers._sequence_extras import *`)."""

from rnnkit.layers.attention import *  # noqa: F401,F403
from rnnkit.layers.attention import __all__ as _attention_all
from rnnkit.layers.preprocessing import *  # noqa: F401,F403
from rnnkit.layers.preprocessing import __all__ as _preprocessing_all
from rnnkit.layers.rnn.conv_lstm import ConvLSTM1D, ConvLSTM2D, ConvLSTM3D

__all__ = list(_attention_all) + list(_preprocessing_all) + ["ConvLSTM1D", "ConvLSTM2D",
                                                              "ConvLSTM3D"]
