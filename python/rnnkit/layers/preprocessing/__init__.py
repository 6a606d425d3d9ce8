"""Preprocessing layers that run on the host, as in Keras: `TextVectorization`,
`StringLookup`, `IntegerLookup`, `Hashing`, `Normalization` and `Discretization`."""

from rnnkit.layers.preprocessing.discretization import Discretization
from rnnkit.layers.preprocessing.hashing import Hashing
from rnnkit.layers.preprocessing.index_lookup import IntegerLookup, StringLookup
from rnnkit.layers.preprocessing.normalization import Normalization
from rnnkit.layers.preprocessing.text_vectorization import TextVectorization

__all__ = ["Discretization", "Hashing", "IntegerLookup", "Normalization", "StringLookup",
           "TextVectorization"]
