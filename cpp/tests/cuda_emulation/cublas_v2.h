// A host emulation of the cuBLAS calls rnnkit's CUDA backend makes (see cuda_runtime.h beside
// it): a handle that remembers its stream, workspace and modes, and the reference column-major
// GEMM of BLAS, with cuBLAS' argument checks. It also enforces what the real library only
// punishes on a GPU: cublasSetStream drops the handle's workspace (cuBLAS docs: it "resets the
// cuBLAS library workspace back to the default workspace pool"), and a GEMM queued on a stream
// being captured without a workspace of the caller's would make cuBLAS allocate inside the
// capture; here that GEMM fails with CUBLAS_STATUS_NOT_SUPPORTED.
#pragma once

#include <cstdint>

#include "cuda_runtime.h"

enum cublasStatus_t {
  CUBLAS_STATUS_SUCCESS = 0,
  CUBLAS_STATUS_NOT_INITIALIZED = 1,
  CUBLAS_STATUS_INVALID_VALUE = 7,
  CUBLAS_STATUS_NOT_SUPPORTED = 15,
};
enum cublasOperation_t { CUBLAS_OP_N = 0, CUBLAS_OP_T = 1 };
enum cublasPointerMode_t { CUBLAS_POINTER_MODE_HOST = 0, CUBLAS_POINTER_MODE_DEVICE = 1 };
enum cublasMath_t { CUBLAS_DEFAULT_MATH = 0, CUBLAS_TF32_TENSOR_OP_MATH = 3 };

struct rnnkit_emulated_cublas {
  cudaStream_t stream = nullptr;
  void* workspace = nullptr;  // null: cuBLAS' default pool
  cublasPointerMode_t pointer_mode = CUBLAS_POINTER_MODE_HOST;
  cublasMath_t math = CUBLAS_DEFAULT_MATH;
};
using cublasHandle_t = rnnkit_emulated_cublas*;

inline const char* cublasGetStatusName(cublasStatus_t s) {
  return s == CUBLAS_STATUS_SUCCESS ? "CUBLAS_STATUS_SUCCESS" : "CUBLAS_STATUS_EMULATED_ERROR";
}
inline const char* cublasGetStatusString(cublasStatus_t s) {
  switch (s) {
    case CUBLAS_STATUS_SUCCESS: return "success";
    case CUBLAS_STATUS_INVALID_VALUE: return "an invalid value was used as an argument";
    case CUBLAS_STATUS_NOT_SUPPORTED:
      return "a GEMM on a capturing stream without a user workspace (cuBLAS would allocate)";
    default: return "emulated cuBLAS error";
  }
}
inline cublasStatus_t cublasCreate(cublasHandle_t* handle) {
  *handle = new rnnkit_emulated_cublas;
  return CUBLAS_STATUS_SUCCESS;
}
inline cublasStatus_t cublasDestroy(cublasHandle_t handle) {
  delete handle;
  return CUBLAS_STATUS_SUCCESS;
}
inline cublasStatus_t cublasSetStream(cublasHandle_t handle, cudaStream_t stream) {
  if (!handle) return CUBLAS_STATUS_NOT_INITIALIZED;
  handle->stream = stream;
  handle->workspace = nullptr;  // as documented: back to the default workspace pool
  return CUBLAS_STATUS_SUCCESS;
}
inline cublasStatus_t cublasSetWorkspace(cublasHandle_t handle, void* workspace,
                                         std::size_t bytes) {
  if (!handle) return CUBLAS_STATUS_NOT_INITIALIZED;
  if (bytes > 0 && !workspace) return CUBLAS_STATUS_INVALID_VALUE;
  if (reinterpret_cast<std::uintptr_t>(workspace) % 256 != 0) return CUBLAS_STATUS_INVALID_VALUE;
  handle->workspace = workspace;
  return CUBLAS_STATUS_SUCCESS;
}
inline cublasStatus_t cublasSetPointerMode(cublasHandle_t handle, cublasPointerMode_t mode) {
  if (!handle) return CUBLAS_STATUS_NOT_INITIALIZED;
  handle->pointer_mode = mode;
  return CUBLAS_STATUS_SUCCESS;
}
inline cublasStatus_t cublasSetMathMode(cublasHandle_t handle, cublasMath_t mode) {
  if (!handle) return CUBLAS_STATUS_NOT_INITIALIZED;
  handle->math = mode;
  return CUBLAS_STATUS_SUCCESS;
}

// Reference BLAS gemm, column-major: C = alpha op(A) op(B) + beta C, op(A) m x k, op(B) k x n;
// A(i, l) is a[i + l * lda], or a[l + i * lda] transposed. Sums in double. beta == 0 never reads C
// (BLAS semantics: C may hold NaN).
template <typename T>
cublasStatus_t rnnkit_emulated_gemm(cublasHandle_t handle, cublasOperation_t transa,
                                    cublasOperation_t transb, std::int64_t m, std::int64_t n,
                                    std::int64_t k, const T* alpha, const T* a, std::int64_t lda,
                                    const T* b, std::int64_t ldb, const T* beta, T* c,
                                    std::int64_t ldc) {
  if (!handle) return CUBLAS_STATUS_NOT_INITIALIZED;
  const auto max1 = [](std::int64_t v) { return v < 1 ? std::int64_t(1) : v; };
  if (m < 0 || n < 0 || k < 0) return CUBLAS_STATUS_INVALID_VALUE;
  if (lda < max1(transa == CUBLAS_OP_N ? m : k)) return CUBLAS_STATUS_INVALID_VALUE;
  if (ldb < max1(transb == CUBLAS_OP_N ? k : n)) return CUBLAS_STATUS_INVALID_VALUE;
  if (ldc < max1(m)) return CUBLAS_STATUS_INVALID_VALUE;
  if (handle->pointer_mode != CUBLAS_POINTER_MODE_HOST) return CUBLAS_STATUS_NOT_SUPPORTED;
  cudaStreamCaptureStatus capture = cudaStreamCaptureStatusNone;
  cudaStreamIsCapturing(handle->stream, &capture);
  if (capture != cudaStreamCaptureStatusNone && !handle->workspace) return CUBLAS_STATUS_NOT_SUPPORTED;
  for (std::int64_t j = 0; j < n; ++j) {
    for (std::int64_t i = 0; i < m; ++i) {
      double sum = 0;
      for (std::int64_t l = 0; l < k; ++l) {
        const double av = transa == CUBLAS_OP_N ? a[i + l * lda] : a[l + i * lda];
        const double bv = transb == CUBLAS_OP_N ? b[l + j * ldb] : b[j + l * ldb];
        sum += av * bv;
      }
      T& out = c[i + j * ldc];
      out = static_cast<T>(*alpha * sum + (*beta == T(0) ? 0.0 : double(*beta) * out));
    }
  }
  return CUBLAS_STATUS_SUCCESS;
}

inline cublasStatus_t cublasSgemm_64(cublasHandle_t handle, cublasOperation_t transa,
                                     cublasOperation_t transb, std::int64_t m, std::int64_t n,
                                     std::int64_t k, const float* alpha, const float* a,
                                     std::int64_t lda, const float* b, std::int64_t ldb,
                                     const float* beta, float* c, std::int64_t ldc) {
  return rnnkit_emulated_gemm(handle, transa, transb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}
inline cublasStatus_t cublasDgemm_64(cublasHandle_t handle, cublasOperation_t transa,
                                     cublasOperation_t transb, std::int64_t m, std::int64_t n,
                                     std::int64_t k, const double* alpha, const double* a,
                                     std::int64_t lda, const double* b, std::int64_t ldb,
                                     const double* beta, double* c, std::int64_t ldc) {
  return rnnkit_emulated_gemm(handle, transa, transb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}
