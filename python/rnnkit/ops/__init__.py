"""rnnkit.ops: the `keras.ops` API on NumPy, differentiable under `rnnkit.GradientTape`.

    core   conversion, casts, shapes, stop_gradient, custom_gradient, cond / loops
    numpy  arithmetic, math, reductions, sorting, shape manipulation, indexing, creation
    nn     activations, softmax / log_softmax, one_hot, cross-entropies, normalizations,
           attention, CTC
    math   erf / erfinv / rsqrt, top_k, segment reductions, FFT / STFT, scatter updates
    linalg factorizations, solves, inverses, determinants (also `rnnkit.ops.linalg`)

Outside a recording GradientTape every op returns a plain np.ndarray; inside one, an op with a
tracked input returns a tracked `rnnkit.autodiff.Tensor`.
"""

from rnnkit.ops import core, linalg, math, nn, numpy
from rnnkit.ops.conv import (adaptive_average_pool, adaptive_max_pool, average_pool, conv, conv_transpose, depthwise_conv, max_pool, separable_conv)  # noqa: E501
from rnnkit.ops.core import (associative_scan, cast, cond, convert_to_numpy, convert_to_tensor,
                             custom_gradient, dtype, fori_loop, is_tensor, map, ndim,
                             rearrange, scan, shape, size, stop_gradient, switch,
                             vectorized_map, while_loop)
from rnnkit.ops.nn import (celu, elu, gelu, glu, hard_shrink, hard_sigmoid, hard_silu,
                           hard_swish, hard_tanh, leaky_relu, log_sigmoid, log_softmax, moments,
                           normalize, one_hot, relu, relu6, selu, sigmoid, silu, soft_shrink,
                           softmax, softplus, softsign, sparse_plus, sparse_sigmoid, squareplus,
                           swish, tanh, tanh_shrink, threshold)
from rnnkit.ops._nn_more import *  # noqa: F401,F403
from rnnkit.ops.numpy import (abs, absolute, add, all, amax, amin, any, append, arange, arctan,
                              argmax, argmin, argsort, array_split, broadcast_to, ceil, clip,
                              concatenate, cos, cosh, cumsum, divide, dot, einsum, empty, equal,
                              exp, exp2, expand_dims, expm1, eye, flip, floor, floor_divide,
                              full, full_like, get_item, greater, greater_equal, identity, inner,
                              isfinite,
                              isinf, isnan, less, less_equal, linspace, log, log1p, log2, log10,
                              logical_and, logical_not, logical_or, logical_xor, logsumexp,
                              matmul, max, maximum, mean, min, minimum, mod, moveaxis, multiply,
                              negative, norm, not_equal, ones, ones_like, outer, pad, power, prod,
                              ravel, reciprocal, repeat, reshape, round, select, sign, sin, sinh,
                              slice, split, sqrt, square, squeeze, stack, std, subtract, sum,
                              swapaxes, take, take_along_axis, tan, tensordot, tile, transpose,
                              tri, tril, triu, true_divide, unstack, var, where, zeros,
                              zeros_like)
from rnnkit.ops._numpy_more import *  # noqa: F401,F403
from rnnkit.ops.math import *  # noqa: F401,F403
from rnnkit.ops.linalg import (cholesky, cholesky_inverse, det, eig, eigh, inv, jvp, lstsq,
                               lu_factor, matrix_rank, pinv, qr, slogdet, solve,
                               solve_triangular, svd)

# keras.ops.numpy also holds these names from other groups; keras.ops.nn the convolutions.
numpy.ndim, numpy.size, numpy.tanh, numpy.slogdet = ndim, size, tanh, slogdet
_conv_module = __import__("sys").modules["rnnkit.ops.conv"]
for _name in getattr(_conv_module, "__all__", ()):
    setattr(nn, _name, getattr(_conv_module, _name))

__all__ = [n for n in dir()
           if not n.startswith("_") and n not in ("core", "nn", "numpy", "math")]


def _accept_symbolic_tensors():
    """Every op takes symbolic tensors too (a functional model records it as a graph node),
    except those that need a value to decide what to do (control flow, conversion to NumPy)."""
    from rnnkit.graph import accept_symbolic
    eager_only = {"cond", "while_loop", "fori_loop", "custom_gradient", "convert_to_numpy",
                  "is_tensor", "vectorize", "jvp", "linalg"}
    # Names Keras records as one op (ops.abs records an `absolute`); other aliases here
    # (true_divide for divide, amax for max) record ops of their own names, as in Keras.
    same_op = {"abs": "absolute", "swish": "silu", "hard_swish": "hard_silu"}
    for name in __all__:
        fn = globals()[name]
        if name not in eager_only and name not in same_op and callable(fn):
            globals()[name] = accept_symbolic(fn, name)
    for alias, name in same_op.items():
        globals()[alias] = globals()[name]
    # keras.ops.linalg.qr(x) on a symbolic tensor works as keras.ops.qr(x) does.
    for name in linalg.__all__:
        if name not in eager_only:
            setattr(linalg, name, globals()[name])


_accept_symbolic_tensors()
