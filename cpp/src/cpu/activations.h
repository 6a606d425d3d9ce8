// Elementwise activations over contiguous spans: the pointwise kernels call these once per gate
// block so the switch on the activation kind stays outside the inner loops.
#pragma once

#include <cstdint>

#include "rnnkit/activation.h"

namespace rnnkit::cpu {

// y[i] = f(x[i]); y may alias x.
template <typename T>
void activate(Activation f, const T* x, T* y, std::int64_t n);

// y[i] = f(x[i]) and dydx[i] = f'(x[i]); y may alias x, dydx may not.
template <typename T>
void activate_grad(Activation f, const T* x, T* y, T* dydx, std::int64_t n);

}  // namespace rnnkit::cpu
