// Where and how one call runs: the execution context every entry point takes (last, defaulting
// to the CPU), as cuDNN and haste take a handle and a stream.
#pragma once

#include "rnnkit/tensor.h"

namespace rnnkit {

struct ExecutionContext {
  Device device = Device::cpu;
  int device_index = 0;  // CUDA: the GPU every tensor of the call lives on

  // CUDA only. The stream every kernel and GEMM of the call is queued on; nullptr is the
  // default stream. Calls return once the work is queued (asynchronous, like cuDNN): outputs
  // are ready when the stream says so, and the caller keeps every tensor alive until then.
  void* stream = nullptr;  // cudaStream_t
  // A cuBLAS handle to use (the call sets its stream and math mode); nullptr lets rnnkit keep
  // one per host thread and device.
  void* blas_handle = nullptr;  // cublasHandle_t
  // float32 GEMMs on TF32 tensor cores (faster, ~1e-3 relative error). Off by default, so GPU
  // results match the CPU's within 1e-5. float64 is unaffected.
  bool allow_tf32 = false;
  // Record the time loop into a CUDA graph and launch it once, instead of launching every step's
  // GEMM and kernel from the host: saves the launch overhead that dominates small batches.
  bool use_graph = true;

  static ExecutionContext cpu() { return {}; }
  static ExecutionContext cuda(int index = 0, void* stream = nullptr) {
    ExecutionContext context;
    context.device = Device::cuda;
    context.device_index = index;
    context.stream = stream;
    return context;
  }
};

}  // namespace rnnkit
