// Every CUDA runtime and cuBLAS call is checked: a failure throws rnnkit::Error naming the call,
// the file position and the library's own error string, so it reaches Python as RuntimeError
// instead of leaving a silently wrong result.
#pragma once

#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <string>

#include "rnnkit/error.h"

namespace rnnkit::cuda {

[[noreturn]] inline void fail_cuda(cudaError_t status, const char* call, const char* where) {
  throw Error(std::string("CUDA error in ") + call + " (" + where + "): " +
              cudaGetErrorName(status) + ": " + cudaGetErrorString(status));
}

[[noreturn]] inline void fail_cublas(cublasStatus_t status, const char* call, const char* where) {
  throw Error(std::string("cuBLAS error in ") + call + " (" + where + "): " +
              cublasGetStatusName(status) + ": " + cublasGetStatusString(status));
}

}  // namespace rnnkit::cuda

#define RNNKIT_STRINGIFY_(x) #x
#define RNNKIT_STRINGIFY(x) RNNKIT_STRINGIFY_(x)
#define RNNKIT_WHERE __FILE__ ":" RNNKIT_STRINGIFY(__LINE__)

#define RNNKIT_CUDA_CHECK(call)                                                    \
  do {                                                                             \
    const cudaError_t rnnkit_status_ = (call);                                     \
    if (rnnkit_status_ != cudaSuccess)                                             \
      ::rnnkit::cuda::fail_cuda(rnnkit_status_, #call, RNNKIT_WHERE);              \
  } while (0)

#define RNNKIT_CUBLAS_CHECK(call)                                                  \
  do {                                                                             \
    const cublasStatus_t rnnkit_status_ = (call);                                  \
    if (rnnkit_status_ != CUBLAS_STATUS_SUCCESS)                                   \
      ::rnnkit::cuda::fail_cublas(rnnkit_status_, #call, RNNKIT_WHERE);            \
  } while (0)

// After a kernel launch: reports a bad launch configuration at once (execution errors surface
// at the next synchronizing call).
#define RNNKIT_CUDA_CHECK_LAUNCH() RNNKIT_CUDA_CHECK(cudaGetLastError())
