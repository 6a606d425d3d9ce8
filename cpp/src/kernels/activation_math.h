// Every activation rnnkit fuses, and its derivative, for one element: the definitions of Keras 3
// (keras.activations), written once for every backend. The CPU runs them for float64 and for the
// float32 activations without a SIMD form (cpu/activations.cpp); the CUDA kernels run them for
// everything. On the host the math functions are the C++ library's, so the CPU's results are
// those it always gave; on the device they are CUDA's (correctly rounded or within 1-2 ulp).
#pragma once

#include <cmath>

#include "kernels/cell_math.h"
#include "rnnkit/activation.h"

namespace rnnkit::kernels {

// The few functions the activations need, from the C++ library on the host and from CUDA's math
// library on the device (std:: functions are host-only in device code).
namespace math {
#if defined(__CUDA_ARCH__)
#define RNNKIT_MATH_FN(name) \
  RNNKIT_HD RNNKIT_INLINE float name(float x) { return ::name##f(x); } \
  RNNKIT_HD RNNKIT_INLINE double name(double x) { return ::name(x); }
#else
#define RNNKIT_MATH_FN(name) \
  RNNKIT_HD RNNKIT_INLINE float name(float x) { return std::name(x); } \
  RNNKIT_HD RNNKIT_INLINE double name(double x) { return std::name(x); }
#endif
RNNKIT_MATH_FN(exp)
RNNKIT_MATH_FN(tanh)
RNNKIT_MATH_FN(log1p)
RNNKIT_MATH_FN(expm1)
RNNKIT_MATH_FN(erf)
RNNKIT_MATH_FN(sqrt)
RNNKIT_MATH_FN(fabs)
#undef RNNKIT_MATH_FN
// std::clamp's and std::max's exact comparisons (NaN passes through clamp, max(NaN, 0) is NaN).
template <typename T>
RNNKIT_HD RNNKIT_INLINE T clamp(T v, T lo, T hi) { return v < lo ? lo : (hi < v ? hi : v); }
template <typename T>
RNNKIT_HD RNNKIT_INLINE T max(T a, T b) { return a < b ? b : a; }
}  // namespace math

constexpr double kSeluAlpha = 1.6732632423543772848170429916717;
constexpr double kSeluScale = 1.0507009873554804934193349852946;
constexpr double kLeakySlope = 0.2;
constexpr double kShrink = 0.5;
constexpr double kSquareplusB = 4.0;

template <typename T>
RNNKIT_HD RNNKIT_INLINE T sigmoid(T x) {
  // Split at 0 so exp never overflows.
  if (x >= 0) return T(1) / (T(1) + math::exp(-x));
  const T e = math::exp(x);
  return e / (T(1) + e);
}

template <typename T>
RNNKIT_HD RNNKIT_INLINE T softplus(T x) {
  return math::max(x, T(0)) + math::log1p(math::exp(-math::fabs(x)));
}

// y = f(x) and d = f'(x), one element.
template <typename T>
RNNKIT_HD inline void activate(Activation f, T x, T& y, T& d) {
  switch (f) {
    case Activation::linear: y = x; d = 1; return;
    case Activation::tanh: y = math::tanh(x); d = 1 - y * y; return;
    case Activation::sigmoid: y = sigmoid(x); d = y * (1 - y); return;
    case Activation::exponential: y = math::exp(x); d = y; return;
    case Activation::hard_sigmoid:
      y = math::clamp(x / T(6) + T(0.5), T(0), T(1));
      d = (x > -3 && x < 3) ? T(1) / T(6) : T(0);
      return;
    case Activation::hard_silu: {
      const T hs = math::clamp(x / T(6) + T(0.5), T(0), T(1));
      y = x * hs;
      d = hs + ((x > -3 && x < 3) ? x / T(6) : T(0));
      return;
    }
    // NaN propagates as in Keras (relu(NaN) = NaN, f'(NaN) as JAX's autodiff gives it); every
    // other input takes the same branch as before, bit for bit (relu(-0) = +0).
    case Activation::relu: y = x > 0 || x != x ? x : T(0); d = x > 0 ? T(1) : T(0); return;
    case Activation::relu6:
      y = math::clamp(x, T(0), T(6));
      d = (x > 0 && x < 6) ? T(1) : T(0);
      return;
    case Activation::leaky_relu:
      y = x > 0 ? x : T(kLeakySlope) * x;
      d = x > 0 ? T(1) : T(kLeakySlope);
      return;
    case Activation::elu:
    case Activation::celu:  // celu with alpha = 1 is elu
      y = x > 0 ? x : math::expm1(x);
      d = x > 0 ? T(1) : math::exp(x);
      return;
    case Activation::selu:
      y = T(kSeluScale) * (x > 0 ? x : T(kSeluAlpha) * math::expm1(x));
      d = T(kSeluScale) * (x > 0 ? T(1) : T(kSeluAlpha) * math::exp(x));
      return;
    case Activation::softplus: y = softplus(x); d = sigmoid(x); return;
    case Activation::softsign: {
      const T q = 1 + math::fabs(x);
      y = x / q;
      d = 1 / (q * q);
      return;
    }
    case Activation::silu: {
      const T s = sigmoid(x);
      y = x * s;
      d = s + x * s * (1 - s);
      return;
    }
    case Activation::gelu: {
      const T cdf = T(0.5) * (1 + math::erf(x * T(0.70710678118654752440)));
      y = x * cdf;
      d = cdf + x * math::exp(T(-0.5) * x * x) * T(0.39894228040143267794);
      return;
    }
    case Activation::mish: {
      const T t = math::tanh(softplus(x));
      y = x * t;
      d = t + x * (1 - t * t) * sigmoid(x);
      return;
    }
    case Activation::log_sigmoid: y = -softplus(-x); d = sigmoid(-x); return;
    case Activation::hard_tanh:
      y = math::clamp(x, T(-1), T(1));
      d = (x <= -1 || x >= 1) ? T(0) : T(1);  // 1 at NaN, as JAX's where-based hard_tanh
      return;
    case Activation::tanh_shrink: {
      const T t = math::tanh(x);
      y = x - t;
      d = t * t;
      return;
    }
    case Activation::squareplus: {
      const T r = math::sqrt(x * x + T(kSquareplusB));
      y = (x + r) / 2;
      d = (1 + x / r) / 2;
      return;
    }
    case Activation::sparse_plus:
      if (x <= -1) { y = 0; d = 0; }
      else if (x >= 1) { y = x; d = 1; }
      else { y = (x + 1) * (x + 1) / 4; d = (x + 1) / 2; }
      return;
    case Activation::sparse_sigmoid:
      if (x <= -1) { y = 0; d = 0; }
      else if (x >= 1) { y = 1; d = 0; }
      else { y = (x + 1) / 2; d = x == x ? T(0.5) : T(0); }  // f'(NaN) = 0, as JAX
      return;
    // soft_shrink / hard_shrink map NaN to 0 (and f'(NaN) = 0): so does Keras (nested where).
    case Activation::soft_shrink:
      if (x > T(kShrink)) { y = x - T(kShrink); d = 1; }
      else if (x < -T(kShrink)) { y = x + T(kShrink); d = 1; }
      else { y = 0; d = 0; }
      return;
    case Activation::hard_shrink:
      if (math::fabs(x) > T(kShrink)) { y = x; d = 1; }
      else { y = 0; d = 0; }
      return;
  }
  y = x;
  d = 1;
}

}  // namespace rnnkit::kernels
