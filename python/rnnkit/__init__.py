"""rnnkit: recurrent neural networks with the Keras API on a C++ core.

`import rnnkit as keras`: `keras.layers.LSTM(64)`, `keras.ops`, `keras.initializers`, ... take
the arguments of their Keras 3 namesakes and give the same numbers; `rnnkit.core` is the C++
core on NumPy arrays.
"""

from rnnkit import _core, core, cuda
from rnnkit.core import get_num_threads, set_num_threads
from rnnkit.build_info import show_config
from rnnkit import (activations, callbacks, constraints, datasets, initializers, losses, metrics,
                    ops, optimizers, random, regularizers, saving, tree, utils)
from rnnkit import autodiff, distribution, layers, models
from rnnkit.models import Input, Model, Sequential
from rnnkit.placement import device
from rnnkit.autodiff import GradientTape, Tensor
from rnnkit.initializers import Initializer
from rnnkit.losses import Loss
from rnnkit.metrics import Metric
from rnnkit.optimizers import Optimizer
from rnnkit.regularizers import Regularizer
from rnnkit.variables import Variable
from rnnkit import backend, config, dtype_policies, mixed_precision, preprocessing
from rnnkit.graph import KerasTensor, Operation
from rnnkit.layers import InputSpec, Layer
from rnnkit.mixed_precision import DTypePolicy, FloatDTypePolicy

# The one version source is CMakeLists.txt's project(VERSION): compiled into the extension (and
# into rnnkit/version.h for C++), and read by the wheel's metadata (pyproject.toml).
__version__ = _core.__version__

# The CPU kernels' instruction-set level is chosen now: the best one this CPU runs, or the one
# RNNKIT_ISA names (baseline, avx2, avx512). A bad RNNKIT_ISA (an unknown level, or one this CPU
# or build lacks) fails the import with a ValueError naming the levels available, rather than the
# first layer call much later.
_core.cpu_isa()


def version():
    """Returns rnnkit's version string (what Keras' `keras.version()` gives for Keras).

    Returns:
        The version, e.g. `"0.1.0"`.
    """
    return __version__


__all__ = ["GradientTape", "Input", "Model", "Sequential", "Initializer", "Loss", "Metric",
           "Optimizer", "Regularizer", "Tensor", "Variable", "activations", "autodiff",
           "callbacks", "datasets", "device", "losses", "metrics", "optimizers", "constraints",
           "core", "cuda", "get_num_threads", "initializers", "layers", "models", "ops", "random",
           "regularizers", "saving", "set_num_threads", "tree", "utils", "__version__",
           "DTypePolicy", "FloatDTypePolicy", "InputSpec", "KerasTensor", "Layer", "Operation",
           "backend", "config", "dtype_policies", "mixed_precision", "version"]
