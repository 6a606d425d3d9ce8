// The GPU's lane type for the cell structs of kernels/cell_math.h: one unit per thread, in the
// call's float type, with the activations of kernels/activation_math.h.
#pragma once

#include <cstdint>
#include <utility>

#include "cuda/check.h"
#include "cuda/host_math.h"
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

// kThreads and blocks_for(n), the grid of the pointwise kernels, are in cuda/host_math.h (tested
// on the host); each kernel walks its n elements with the grid's stride, in 64-bit indices.
#define RNNKIT_GRID_STRIDE(i, n)                                                       \
  for (std::int64_t i = std::int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < (n); \
       i += std::int64_t(gridDim.x) * blockDim.x)

// Launches kernel<<<blocks, threads, 0, stream>>>(args...) and checks the launch. Every kernel of
// the backend is launched here, so that the host emulation of the CUDA runtime
// (cpp/tests/cuda_emulation, RNNKIT_CUDA_EMULATION) runs it as a plain function: one "thread"
// whose grid-stride loop covers every element.
template <typename... Params, typename... Args>
void launch(void (*kernel)(Params...), unsigned int blocks, int threads, cudaStream_t stream,
            Args&&... args) {
#if defined(RNNKIT_CUDA_EMULATION)
  (void)blocks;
  (void)threads;
  (void)stream;
  kernel(std::forward<Args>(args)...);
#else
  kernel<<<blocks, threads, 0, stream>>>(std::forward<Args>(args)...);
#endif
  RNNKIT_CUDA_CHECK_LAUNCH();
}

}  // namespace rnnkit::cuda
