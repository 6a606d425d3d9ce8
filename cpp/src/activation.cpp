#include "rnnkit/activation.h"

#include <utility>

#include "rnnkit/error.h"

namespace rnnkit {

namespace {

struct NamedActivation {
  const char* name;
  Activation activation;
};

// The first entry of each activation is its canonical name.
constexpr NamedActivation kNames[] = {
    {"linear", Activation::linear},
    {"tanh", Activation::tanh},
    {"sigmoid", Activation::sigmoid},
    {"hard_sigmoid", Activation::hard_sigmoid},
    {"hard_silu", Activation::hard_silu},
    {"hard_swish", Activation::hard_silu},
    {"relu", Activation::relu},
    {"relu6", Activation::relu6},
    {"leaky_relu", Activation::leaky_relu},
    {"elu", Activation::elu},
    {"selu", Activation::selu},
    {"celu", Activation::celu},
    {"softplus", Activation::softplus},
    {"softsign", Activation::softsign},
    {"silu", Activation::silu},
    {"swish", Activation::silu},
    {"gelu", Activation::gelu},
    {"exponential", Activation::exponential},
    {"mish", Activation::mish},
    {"log_sigmoid", Activation::log_sigmoid},
    {"hard_tanh", Activation::hard_tanh},
    {"tanh_shrink", Activation::tanh_shrink},
    {"squareplus", Activation::squareplus},
    {"sparse_plus", Activation::sparse_plus},
    {"sparse_sigmoid", Activation::sparse_sigmoid},
    {"soft_shrink", Activation::soft_shrink},
    {"hard_shrink", Activation::hard_shrink},
};

}  // namespace

Activation activation_from_name(const std::string& name, const char* argument) {
  for (const auto& entry : kNames) {
    if (name == entry.name) return entry.activation;
  }
  std::string shown;  // a NUL byte shown as \x00: the whole name is compared, NULs included
  for (char ch : name) {
    if (ch == '\0') shown += "\\x00";
    else shown += ch;
  }
  std::string known;
  for (const auto& entry : kNames) {
    if (!known.empty()) known += ", ";
    known += entry.name;
  }
  throw InvalidArgument(std::string("Could not interpret ") + argument + " identifier: '" + shown +
                        "'. Fused activations: " + known);
}

const char* activation_name(Activation activation) {
  for (const auto& entry : kNames) {
    if (entry.activation == activation) return entry.name;
  }
  return "unknown";
}

}  // namespace rnnkit
