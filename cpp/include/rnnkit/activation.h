// The elementwise activations a fused cell can apply: every Keras 3 activation that acts on one
// element at a time, used with its default parameters (as when named by a string in Keras).
#pragma once

#include <string>

namespace rnnkit {

enum class Activation {
  linear,         // x                              (Keras "linear", or activation=None)
  tanh,
  sigmoid,        // 1 / (1 + exp(-x))
  hard_sigmoid,   // Keras 3: relu6(x + 3) / 6 = clip(x / 6 + 1/2, 0, 1)
  hard_silu,      // x * hard_sigmoid(x)            (alias "hard_swish")
  relu,
  relu6,
  leaky_relu,     // negative_slope = 0.2
  elu,            // alpha = 1
  selu,
  celu,           // alpha = 1
  softplus,
  softsign,
  silu,           // x * sigmoid(x)                 (alias "swish")
  gelu,           // exact: x/2 * (1 + erf(x / sqrt 2))  (Keras default approximate=False)
  exponential,
  mish,           // x * tanh(softplus(x))
  log_sigmoid,
  hard_tanh,      // clip(x, -1, 1)
  tanh_shrink,    // x - tanh(x)
  squareplus,     // (x + sqrt(x^2 + 4)) / 2
  sparse_plus,
  sparse_sigmoid,
  soft_shrink,    // threshold 0.5
  hard_shrink,    // threshold 0.5
};

// Keras name (or alias) -> Activation. Throws InvalidArgument naming `argument` for unknown names.
Activation activation_from_name(const std::string& name, const char* argument = "activation");
const char* activation_name(Activation activation);

}  // namespace rnnkit
