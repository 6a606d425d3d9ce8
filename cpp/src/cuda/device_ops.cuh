// The GPU's lane type for the cell structs of kernels/cell_math.h: one unit per thread, in the
// call's float type, with the activations of kernels/activation_math.h.
#pragma once

#include <cstdint>

#include "kernels/activation_math.h"
#include "kernels/cell_math.h"

namespace rnnkit::cuda {

template <typename T>
struct DeviceOps {
  using V = T;
  using S = T;
  // Which product of GRU's update and reset gradient gets the fused multiply-add: the same
  // choice as the CPU's scalar lanes (cpu/lanes.h ScalarOps<double>).
  static constexpr bool kGruFusesZh = true;
  static constexpr bool kResetGradFusesQr = false;
  __device__ __forceinline__ static V load(const T* p) { return *p; }
  __device__ __forceinline__ static void store(T* p, V v) { *p = v; }
  __device__ __forceinline__ static V splat(T s) { return s; }
  __device__ __forceinline__ static V madd(V a, V b, V c) { return fma(a, b, c); }
  __device__ __forceinline__ static V act(Activation f, V x) {
    T y, d;
    kernels::activate(f, x, y, d);
    return y;
  }
  __device__ __forceinline__ static V act_grad(Activation f, V x, V& d) {
    T y;
    kernels::activate(f, x, y, d);
    return y;
  }
};

// Threads per block of the pointwise kernels, and the grid that covers n elements (each thread
// loops with the grid's stride, so any n fits in one launch).
constexpr int kThreads = 256;
inline unsigned int blocks_for(std::int64_t n) {
  const std::int64_t blocks = (n + kThreads - 1) / kThreads;
  constexpr std::int64_t kMaxBlocks = std::int64_t(1) << 20;
  return static_cast<unsigned int>(blocks < 1 ? 1 : (blocks > kMaxBlocks ? kMaxBlocks : blocks));
}

#define RNNKIT_GRID_STRIDE(i, n)                                                       \
  for (std::int64_t i = std::int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < (n); \
       i += std::int64_t(gridDim.x) * blockDim.x)

}  // namespace rnnkit::cuda
