"""rnnkit: recurrent neural networks with the Keras API on a C++ core."""

from rnnkit import core
from rnnkit.core import get_num_threads, set_num_threads

__version__ = "0.1.0"

__all__ = ["core", "get_num_threads", "set_num_threads", "__version__"]
