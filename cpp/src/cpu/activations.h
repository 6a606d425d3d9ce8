// Elementwise activations over contiguous spans: the pointwise kernels call these once per gate
// block so the switch on the activation kind stays outside the inner loops.
#pragma once

#include "cpu/isa.h"

#include <cstdint>

#include <Eigen/Core>

#include "rnnkit/activation.h"

RNNKIT_CPU_NAMESPACE_BEGIN

// y[i] = f(x[i]); y may alias x.
template <typename T>
void activate(Activation f, const T* x, T* y, std::int64_t n);

// y[i] = f(x[i]) and dydx[i] = f'(x[i]); y may alias x, dydx may not.
template <typename T>
void activate_grad(Activation f, const T* x, T* y, T* dydx, std::int64_t n);

// y = f(x) and dydx = f'(x) for one element, without SIMD: what the span functions compute for
// float64, and for float32 with the activations that have no SIMD form.
template <typename T>
void activate_scalar(Activation f, T x, T& y, T& dydx);

// One SIMD register of floats, for the fused pointwise kernels. The span functions above and these
// compute bit-identical values for the same input.
using FloatPacket = Eigen::internal::packet_traits<float>::type;
inline constexpr std::int64_t kFloatLanes = sizeof(FloatPacket) / sizeof(float);

// The activations without a SIMD form, one lane at a time.
FloatPacket activate_grad_packet_lanes(Activation f, const FloatPacket& x, FloatPacket& dydx);

inline FloatPacket sigmoid_packet(const FloatPacket& x) {
  return Eigen::internal::scalar_logistic_op<float>().packetOp(x);
}

inline FloatPacket activate_grad_packet(Activation f, const FloatPacket& x, FloatPacket& dydx) {
  const FloatPacket one = Eigen::internal::pset1<FloatPacket>(1.0f);
  switch (f) {
    case Activation::tanh: {
      const FloatPacket y = Eigen::internal::ptanh(x);
      dydx = one - y * y;
      return y;
    }
    case Activation::sigmoid: {
      const FloatPacket y = sigmoid_packet(x);
      dydx = y * (one - y);
      return y;
    }
    case Activation::linear:
      dydx = one;
      return x;
    default:
      return activate_grad_packet_lanes(f, x, dydx);
  }
}

inline FloatPacket activate_packet(Activation f, const FloatPacket& x) {
  switch (f) {
    case Activation::tanh: return Eigen::internal::ptanh(x);
    case Activation::sigmoid: return sigmoid_packet(x);
    case Activation::linear: return x;
    default: {
      FloatPacket unused;
      return activate_grad_packet_lanes(f, x, unused);
    }
  }
}

RNNKIT_CPU_NAMESPACE_END
