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
    // NaN propagates as in Keras (relu(NaN) = NaN, f'(NaN) as JAX's autodiff gives it); every
    // other input takes the same branch as before, bit for bit (relu(-0) = +0).
    case Activation::relu: y = x > 0 || x != x ? x : T(0); d = x > 0 ? T(1) : T(0); return;
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
      d = (x <= -1 || x >= 1) ? T(0) : T(1);  // 1 at NaN, as JAX's where-based hard_tanh
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
      else { y = (x + 1) / 2; d = x == x ? T(0.5) : T(0); }  // f'(NaN) = 0, as JAX
      return;
    // soft_shrink / hard_shrink map NaN to 0 (and f'(NaN) = 0): so does Keras (nested where).
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

// The vectorized activations (float) run Eigen's SIMD functions on whole packets loaded from
// wherever the data lives; the tail goes through the same packet code on a padded copy. Every
// element therefore takes the same path whatever the buffer's alignment, so results never depend
// on addresses. Double precision (used for gradient checks) takes the scalar path.
template <typename PacketFn>
void packetwise(const float* x, float* y, float* dydx, std::int64_t n, PacketFn fn) {
  using Packet = Eigen::internal::packet_traits<float>::type;
  constexpr std::int64_t L = sizeof(Packet) / sizeof(float);
  std::int64_t i = 0;
  Packet out = Eigen::internal::pset1<Packet>(0.0f), grad = out;
  for (; i + L <= n; i += L) {
    fn(Eigen::internal::ploadu<Packet>(x + i), out, grad);
    Eigen::internal::pstoreu(y + i, out);
    if (dydx) Eigen::internal::pstoreu(dydx + i, grad);
  }
  if (i == n) return;
  alignas(64) float in[L] = {}, o[L], g[L];
  std::copy(x + i, x + n, in);
  fn(Eigen::internal::pload<Packet>(in), out, grad);
  Eigen::internal::pstore(o, out);
  Eigen::internal::pstore(g, grad);
  std::copy(o, o + (n - i), y + i);
  if (dydx) std::copy(g, g + (n - i), dydx + i);
}


// True when f has a SIMD path for T (and `packetwise` handled it).
template <typename T>
bool simd_activate(Activation, const T*, T*, T*, std::int64_t) {
  return false;
}

template <>
bool simd_activate<float>(Activation f, const float* x, float* y, float* dydx, std::int64_t n) {
  if (f != Activation::tanh && f != Activation::sigmoid) return false;
  packetwise(x, y, dydx, n, [&](const FloatPacket& v, FloatPacket& out, FloatPacket& grad) {
    out = dydx ? activate_grad_packet(f, v, grad) : activate_packet(f, v);
  });
  return true;
}

}  // namespace

template <typename T>
void activate(Activation f, const T* x, T* y, std::int64_t n) {
  if (f == Activation::linear) {
    if (x != y) std::copy(x, x + n, y);
    return;
  }
  if (simd_activate<T>(f, x, y, nullptr, n)) return;
  T d;
  for (std::int64_t i = 0; i < n; ++i) scalar_activation(f, x[i], y[i], d);
}

template <typename T>
void activate_grad(Activation f, const T* x, T* y, T* dydx, std::int64_t n) {
  if (simd_activate<T>(f, x, y, dydx, n)) return;
  for (std::int64_t i = 0; i < n; ++i) scalar_activation(f, x[i], y[i], dydx[i]);
}

FloatPacket activate_grad_packet_lanes(Activation f, const FloatPacket& x, FloatPacket& dydx) {
  alignas(64) float in[kFloatLanes], out[kFloatLanes], grad[kFloatLanes];
  Eigen::internal::pstore(in, x);
  for (std::int64_t i = 0; i < kFloatLanes; ++i) scalar_activation(f, in[i], out[i], grad[i]);
  dydx = Eigen::internal::pload<FloatPacket>(grad);
  return Eigen::internal::pload<FloatPacket>(out);
}

template <typename T>
void activate_scalar(Activation f, T x, T& y, T& dydx) {
  scalar_activation(f, x, y, dydx);
}

template void activate_scalar<float>(Activation, float, float&, float&);
template void activate_scalar<double>(Activation, double, double&, double&);
template void activate<float>(Activation, const float*, float*, std::int64_t);
template void activate<double>(Activation, const double*, double*, std::int64_t);
template void activate_grad<float>(Activation, const float*, float*, float*, std::int64_t);
template void activate_grad<double>(Activation, const double*, double*, double*, std::int64_t);

}  // namespace rnnkit::cpu
