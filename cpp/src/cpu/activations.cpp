#include "cpu/activations.h"

#include <algorithm>
#include <cmath>

#include <Eigen/Core>

namespace rnnkit::cpu {

namespace {

constexpr double kSeluAlpha = 1.6732632423543772848170429916717;
constexpr double kSeluScale = 1.0507009873554804934193349852946;
constexpr double kLeakySlope = 0.2;
constexpr double kShrink = 0.5;
constexpr double kSquareplusB = 4.0;

template <typename T>
T sigmoid(T x) {
  // Split at 0 so exp never overflows.
  if (x >= 0) return T(1) / (T(1) + std::exp(-x));
  const T e = std::exp(x);
  return e / (T(1) + e);
}

template <typename T>
T softplus(T x) {
  return std::max(x, T(0)) + std::log1p(std::exp(-std::abs(x)));
}

// f(x) and f'(x) for the activations without a vectorized path.
template <typename T>
void scalar_activation(Activation f, T x, T& y, T& d) {
  switch (f) {
    case Activation::linear: y = x; d = 1; return;
    case Activation::tanh: y = std::tanh(x); d = 1 - y * y; return;
    case Activation::sigmoid: y = sigmoid(x); d = y * (1 - y); return;
    case Activation::exponential: y = std::exp(x); d = y; return;
    case Activation::hard_sigmoid:
      y = std::clamp(x / T(6) + T(0.5), T(0), T(1));
      d = (x > -3 && x < 3) ? T(1) / T(6) : T(0);
      return;
    case Activation::hard_silu: {
      const T hs = std::clamp(x / T(6) + T(0.5), T(0), T(1));
      y = x * hs;
      d = hs + ((x > -3 && x < 3) ? x / T(6) : T(0));
      return;
    }
    case Activation::relu: y = x > 0 ? x : T(0); d = x > 0 ? T(1) : T(0); return;
    case Activation::relu6:
      y = std::clamp(x, T(0), T(6));
      d = (x > 0 && x < 6) ? T(1) : T(0);
      return;
    case Activation::leaky_relu:
      y = x > 0 ? x : T(kLeakySlope) * x;
      d = x > 0 ? T(1) : T(kLeakySlope);
      return;
    case Activation::elu:
    case Activation::celu:  // celu with alpha = 1 is elu
      y = x > 0 ? x : std::expm1(x);
      d = x > 0 ? T(1) : std::exp(x);
      return;
    case Activation::selu:
      y = T(kSeluScale) * (x > 0 ? x : T(kSeluAlpha) * std::expm1(x));
      d = T(kSeluScale) * (x > 0 ? T(1) : T(kSeluAlpha) * std::exp(x));
      return;
    case Activation::softplus: y = softplus(x); d = sigmoid(x); return;
    case Activation::softsign: {
      const T q = 1 + std::abs(x);
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
      const T cdf = T(0.5) * (1 + std::erf(x * T(0.70710678118654752440)));
      y = x * cdf;
      d = cdf + x * std::exp(T(-0.5) * x * x) * T(0.39894228040143267794);
      return;
    }
    case Activation::mish: {
      const T t = std::tanh(softplus(x));
      y = x * t;
      d = t + x * (1 - t * t) * sigmoid(x);
      return;
    }
    case Activation::log_sigmoid: y = -softplus(-x); d = sigmoid(-x); return;
    case Activation::hard_tanh:
      y = std::clamp(x, T(-1), T(1));
      d = (x > -1 && x < 1) ? T(1) : T(0);
      return;
    case Activation::tanh_shrink: {
      const T t = std::tanh(x);
      y = x - t;
      d = t * t;
      return;
    }
    case Activation::squareplus: {
      const T r = std::sqrt(x * x + T(kSquareplusB));
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
      else { y = (x + 1) / 2; d = T(0.5); }
      return;
    case Activation::soft_shrink:
      if (x > T(kShrink)) { y = x - T(kShrink); d = 1; }
      else if (x < -T(kShrink)) { y = x + T(kShrink); d = 1; }
      else { y = 0; d = 0; }
      return;
    case Activation::hard_shrink:
      if (std::abs(x) > T(kShrink)) { y = x; d = 1; }
      else { y = 0; d = 0; }
      return;
  }
  y = x;
  d = 1;
}

// Eigen evaluates the unaligned head and tail of a span with scalar code that rounds differently
// from its SIMD code, which would make results depend on buffer addresses. The vectorized
// activations therefore run on an aligned block padded to whole vectors: every element takes the
// same SIMD path wherever the caller's data lives.
constexpr std::int64_t kBlock = 256;

template <typename T, typename Apply>
void blockwise(const T* x, T* y, T* dydx, std::int64_t n, Apply apply) {
  alignas(64) T in[kBlock], out[kBlock], grad[kBlock];
  for (std::int64_t start = 0; start < n; start += kBlock) {
    const std::int64_t len = std::min(kBlock, n - start);
    const std::int64_t padded = std::min(kBlock, (len + 15) / 16 * 16);
    std::copy(x + start, x + start + len, in);
    std::fill(in + len, in + padded, T(0));
    using Block = Eigen::Map<Eigen::Array<T, Eigen::Dynamic, 1>, Eigen::Aligned64>;
    apply(Block(in, padded), Block(out, padded), Block(grad, padded));
    std::copy(out, out + len, y + start);
    if (dydx) std::copy(grad, grad + len, dydx + start);
  }
}

}  // namespace

template <typename T>
void activate(Activation f, const T* x, T* y, std::int64_t n) {
  switch (f) {
    case Activation::linear:
      if (x != y) std::copy(x, x + n, y);
      return;
    case Activation::tanh:
      blockwise(x, y, static_cast<T*>(nullptr), n, [](auto in, auto out, auto) { out = in.tanh(); });
      return;
    case Activation::sigmoid:
      blockwise(x, y, static_cast<T*>(nullptr), n, [](auto in, auto out, auto) { out = in.logistic(); });
      return;
    default: break;
  }
  T d;
  for (std::int64_t i = 0; i < n; ++i) scalar_activation(f, x[i], y[i], d);
}

template <typename T>
void activate_grad(Activation f, const T* x, T* y, T* dydx, std::int64_t n) {
  switch (f) {
    case Activation::linear:
      if (x != y) std::copy(x, x + n, y);
      std::fill(dydx, dydx + n, T(1));
      return;
    case Activation::tanh:
      blockwise(x, y, dydx, n, [](auto in, auto out, auto grad) {
        out = in.tanh();
        grad = T(1) - out.square();
      });
      return;
    case Activation::sigmoid:
      blockwise(x, y, dydx, n, [](auto in, auto out, auto grad) {
        out = in.logistic();
        grad = out * (T(1) - out);
      });
      return;
    default: break;
  }
  for (std::int64_t i = 0; i < n; ++i) scalar_activation(f, x[i], y[i], dydx[i]);
}

template void activate<float>(Activation, const float*, float*, std::int64_t);
template void activate<double>(Activation, const double*, double*, std::int64_t);
template void activate_grad<float>(Activation, const float*, float*, float*, std::int64_t);
template void activate_grad<double>(Activation, const double*, double*, double*, std::int64_t);

}  // namespace rnnkit::cpu
