// The CPU's lane types for the cell structs of kernels/cell_math.h, and the loop that runs a
// cell over a thread's units: whole float32 SIMD packets, then the last few units one at a time;
// float64 one unit at a time.
//
// Every lane type computes the same values for the same input as the span functions of
// activations.h: tanh and sigmoid (and linear) in float32 go through Eigen's packet functions, in
// the tail too (one lane of a packet), so a unit's result does not depend on where it falls.
#pragma once

#include "cpu/isa.h"

#include <cmath>
#include <cstdint>
#include <type_traits>

#include <Eigen/Core>

#include "cpu/activations.h"
#include "cpu/partition.h"
#include "kernels/cell_math.h"

RNNKIT_CPU_NAMESPACE_BEGIN

// float32, one SIMD packet of units.
struct PacketOps {
  using V = FloatPacket;
  using S = float;
  static constexpr std::int64_t kLanes = kFloatLanes;
  static constexpr bool kGruFusesZh = false;
  static constexpr bool kResetGradFusesQr = false;
  RNNKIT_INLINE static V load(const float* p) { return Eigen::internal::ploadu<V>(p); }
  RNNKIT_INLINE static void store(float* p, V v) { Eigen::internal::pstoreu(p, v); }
  RNNKIT_INLINE static V splat(float s) { return Eigen::internal::pset1<V>(s); }
  RNNKIT_INLINE static V madd(V a, V b, V c) {
    return Eigen::internal::pmadd(a, b, c);
  }
  RNNKIT_INLINE static V act(Activation f, V x) { return activate_packet(f, x); }
  RNNKIT_INLINE static V act_grad(Activation f, V x, V& d) {
    return activate_grad_packet(f, x, d);
  }
};

// One unit: float64, or the float32 tail.
template <typename T>
struct ScalarOps {
  using V = T;
  using S = T;
  static constexpr std::int64_t kLanes = 1;
  static constexpr bool kGruFusesZh = true;
  static constexpr bool kResetGradFusesQr = std::is_same_v<T, float>;
  RNNKIT_INLINE static V load(const T* p) { return *p; }
  RNNKIT_INLINE static void store(T* p, V v) { *p = v; }
  RNNKIT_INLINE static V splat(T s) { return s; }
  RNNKIT_INLINE static V madd(V a, V b, V c) { return std::fma(a, b, c); }
  RNNKIT_INLINE static V act(Activation f, V x) {
    if constexpr (std::is_same_v<T, float>) {
      if (f == Activation::tanh || f == Activation::sigmoid || f == Activation::linear) {
        return Eigen::internal::pfirst(activate_packet(f, Eigen::internal::pset1<FloatPacket>(x)));
      }
    }
    V y, d;
    activate_scalar(f, x, y, d);
    return y;
  }
  RNNKIT_INLINE static V act_grad(Activation f, V x, V& d) {
    if constexpr (std::is_same_v<T, float>) {
      if (f == Activation::tanh || f == Activation::sigmoid || f == Activation::linear) {
        FloatPacket dp;
        const FloatPacket y = activate_grad_packet(f, Eigen::internal::pset1<FloatPacket>(x), dp);
        d = Eigen::internal::pfirst(dp);
        return Eigen::internal::pfirst(y);
      }
    }
    V y;
    activate_scalar(f, x, y, d);
    return y;
  }
};

// fn(Ops{}, j) for every lane of units [u.begin, u.end).
template <typename T, typename Fn>
RNNKIT_INLINE void for_lanes(const UnitRange& u, Fn&& fn) {
  std::int64_t j = u.begin;
  if constexpr (std::is_same_v<T, float>) {
    for (const std::int64_t body = u.begin + (u.end - u.begin) / kFloatLanes * kFloatLanes;
         j < body; j += kFloatLanes) {
      fn(PacketOps{}, j);
    }
  }
  for (; j < u.end; ++j) fn(ScalarOps<T>{}, j);
}

RNNKIT_CPU_NAMESPACE_END
