"""Core layers: Dense, Embedding, Masking, Activation, and InputLayer / Input."""

from rnnkit.layers.core.activation import Activation
from rnnkit.layers.core.dense import Dense
from rnnkit.layers.core.embedding import Embedding
from rnnkit.layers.core.input_layer import Input, InputLayer
from rnnkit.layers.core.masking import Masking

__all__ = ["Activation", "Dense", "Embedding", "Input", "InputLayer", "Masking"]
