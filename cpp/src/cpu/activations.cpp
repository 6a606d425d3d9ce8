#include "cpu/activations.h"

#include "kernels/activation_math.h"

#include <algorithm>
#include <cmath>

#include <Eigen/Core>

RNNKIT_CPU_NAMESPACE_BEGIN

namespace {

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
  for (std::int64_t i = 0; i < n; ++i) kernels::activate(f, x[i], y[i], d);
}

template <typename T>
void activate_grad(Activation f, const T* x, T* y, T* dydx, std::int64_t n) {
  if (simd_activate<T>(f, x, y, dydx, n)) return;
  for (std::int64_t i = 0; i < n; ++i) kernels::activate(f, x[i], y[i], dydx[i]);
}

FloatPacket activate_grad_packet_lanes(Activation f, const FloatPacket& x, FloatPacket& dydx) {
  alignas(64) float in[kFloatLanes], out[kFloatLanes], grad[kFloatLanes];
  Eigen::internal::pstore(in, x);
  for (std::int64_t i = 0; i < kFloatLanes; ++i) kernels::activate(f, in[i], out[i], grad[i]);
  dydx = Eigen::internal::pload<FloatPacket>(grad);
  return Eigen::internal::pload<FloatPacket>(out);
}

template <typename T>
void activate_scalar(Activation f, T x, T& y, T& dydx) {
  kernels::activate(f, x, y, dydx);
}

template void activate_scalar<float>(Activation, float, float&, float&);
template void activate_scalar<double>(Activation, double, double&, double&);
template void activate<float>(Activation, const float*, float*, std::int64_t);
template void activate<double>(Activation, const double*, double*, std::int64_t);
template void activate_grad<float>(Activation, const float*, float*, float*, std::int64_t);
template void activate_grad<double>(Activation, const double*, double*, double*, std::int64_t);

RNNKIT_CPU_NAMESPACE_END
