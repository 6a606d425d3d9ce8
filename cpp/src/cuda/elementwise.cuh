// The small elementwise kernels around the recurrent loops: dropout-masked copies, scaled
// accumulation and fills. Each launch is checked.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#include "cuda/check.h"
#include "cuda/device_ops.cuh"

namespace rnnkit::cuda {

namespace detail {

// dst[b, t, i] (+)= src[b, t, i] * m[b, i] over [B, T, W].
template <typename T, bool kAccumulate>
__global__ void rows_times_mask(T* dst, const T* src, const T* m, std::int64_t steps,
                                std::int64_t width, std::int64_t n) {
  RNNKIT_GRID_STRIDE(k, n) {
    const std::int64_t i = k % width, b = k / (steps * width);
    const T v = src[k] * m[b * width + i];
    if (kAccumulate) dst[k] += v;
    else dst[k] = v;
  }
}

// dst[k] (+)= src[k] * m[k].
template <typename T, bool kAccumulate>
__global__ void times_mask(T* dst, const T* src, const T* m, std::int64_t n) {
  RNNKIT_GRID_STRIDE(k, n) {
    const T v = src[k] * m[k];
    if (kAccumulate) dst[k] += v;
    else dst[k] = v;
  }
}

template <typename T>
__global__ void fill_value(T* dst, T value, std::int64_t n) {
  RNNKIT_GRID_STRIDE(k, n) dst[k] = value;
}

}  // namespace detail

// dst = src * mask over a [B, T, width] sequence with a [B, width] mask (the same for every t);
// with accumulate, dst += instead. dst may be src.
template <typename T>
void sequence_times_mask(cudaStream_t stream, T* dst, const T* src, const T* mask,
                         std::int64_t batch, std::int64_t steps, std::int64_t width,
                         bool accumulate = false) {
  const std::int64_t n = batch * steps * width;
  if (n == 0) return;
  launch(accumulate ? &detail::rows_times_mask<T, true> : &detail::rows_times_mask<T, false>,
         blocks_for(n), kThreads, stream, dst, src, mask, steps, width, n);
}

// dst = src * mask elementwise over n; with accumulate, dst +=.
template <typename T>
void times_mask(cudaStream_t stream, T* dst, const T* src, const T* mask, std::int64_t n,
                bool accumulate = false) {
  if (n == 0) return;
  launch(accumulate ? &detail::times_mask<T, true> : &detail::times_mask<T, false>, blocks_for(n),
         kThreads, stream, dst, src, mask, n);
}

template <typename T>
void fill(cudaStream_t stream, T* dst, T value, std::int64_t n) {
  if (n == 0) return;
  launch(&detail::fill_value<T>, blocks_for(n), kThreads, stream, dst, value, n);
}

// dst = src (n elements), or zeros when src is null.
template <typename T>
void copy_or_zero(cudaStream_t stream, T* dst, const T* src, std::int64_t n) {
  if (n == 0) return;
  if (src) {
    RNNKIT_CUDA_CHECK(cudaMemcpyAsync(dst, src, n * sizeof(T), cudaMemcpyDeviceToDevice, stream));
  } else {
    RNNKIT_CUDA_CHECK(cudaMemsetAsync(dst, 0, n * sizeof(T), stream));
  }
}

}  // namespace rnnkit::cuda
