// Row-major GEMMs on cuBLAS, the way the kernels think of them, and the per-call GPU state.
//
// cuBLAS is column-major; a row-major [m, n] matrix with row stride ld is the column-major
// [n, m] matrix with the same ld, so C = op(A) op(B) in row-major is C^T = op(B)^T op(A)^T in
// column-major: the operands swap and each keeps its own transpose flag (the derivation, and a
// host test of it against a naive GEMM: cuda/host_math.h, cpp/tests/test_cuda_host.cpp).
#pragma once

#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>

#include "rnnkit/context.h"

namespace rnnkit::cuda {

// One row-major operand: `data` holds a matrix with row stride `ld`; with `trans` the GEMM reads
// its transpose.
template <typename T>
struct Operand {
  const T* data;
  std::int64_t ld;
  bool trans = false;
};

// What every launch of one call shares: the stream, the cuBLAS handle (its stream and math mode
// set for this call) and the device.
class Gpu {
 public:
  explicit Gpu(const ExecutionContext& context);
  ~Gpu();
  Gpu(const Gpu&) = delete;
  Gpu& operator=(const Gpu&) = delete;

  // Where the call's work goes: the context's stream, or the private one being captured.
  cudaStream_t stream() const { return capturing_ ? capture_stream_ : stream_; }

  // C[m, n] = alpha * op(A)[m, k] op(B)[k, n] + beta * C (row-major, row stride ldc). Strides
  // cuBLAS would refuse throw Error with the shapes before any call.
  template <typename T>
  void gemm(std::int64_t m, std::int64_t n, std::int64_t k, Operand<T> a, Operand<T> b, T* c,
            std::int64_t ldc, T beta = T(0), T alpha = T(1)) const;

  // Records everything `work` queues into a CUDA graph and launches it on the call's stream,
  // reusing the executable graph of an earlier call with the same `key` when its topology
  // matches. Without graphs, and on the first call of a key, runs `work` directly: that first
  // run also loads every kernel and lets cuBLAS set itself up outside a capture (drivers before
  // CUDA 12.3 cannot load a kernel lazily while a stream is captured). When the caller's own
  // stream is being captured (a graph of the caller's), `work` is queued on it directly: the
  // caller's graph then holds it.
  template <typename Work>
  void run(std::uint64_t key, bool use_graph, Work&& work);

  // Whether the caller's stream is being captured by the caller (or its capture status cannot be
  // read: the legacy stream while another stream captures, say). Work is then queued on it
  // directly, and nothing may allocate, free or synchronize.
  bool caller_capturing() const;

 private:
  // The handle, workspace and capture stream of this thread on the context's GPU.
  void set_up(const ExecutionContext& context);
  // True the first time this thread sees `key` on this GPU (and remembers it).
  bool first_sight(std::uint64_t key);
  // Points the handle at `stream` with this call's workspace: cublasSetStream resets the
  // handle's workspace to cuBLAS' default pool, which allocates (cudaMallocAsync) inside a
  // capture, so the workspace is set again after every cublasSetStream.
  void bind_handle(cudaStream_t stream) const;
  void begin_capture();
  void end_capture_and_launch(std::uint64_t key);
  // Puts the handle back on the caller's stream after a capture that threw (errors ignored: the
  // first error is the one reported).
  void abandon_capture() noexcept;
  cudaStream_t stream_;
  cudaStream_t capture_stream_ = nullptr;
  cublasHandle_t handle_;
  void* workspace_ = nullptr;  // cuBLAS workspace of stream_ (kBlasWorkspaceBytes)
  int previous_device_ = -1;  // the caller's device when the call switched to another, else -1
  bool capturing_ = false;
};

template <typename Work>
void Gpu::run(std::uint64_t key, bool use_graph, Work&& work) {
  if (!use_graph || !capture_stream_ || caller_capturing() || first_sight(key)) {
    work();
    return;
  }
  try {
    // Inside the try: a begin that fails must still put the handle back on the caller's stream.
    begin_capture();
    work();
  } catch (...) {
    abandon_capture();
    throw;
  }
  end_capture_and_launch(key);
}

// The cuBLAS workspace of one stream: NVIDIA's advice for Hopper (the largest any GPU needs).
inline constexpr std::size_t kBlasWorkspaceBytes = std::size_t(32) << 20;

// A hash of the values that decide a graph's topology (sizes, options, cell).
std::uint64_t mix(std::uint64_t seed, std::uint64_t value);

}  // namespace rnnkit::cuda
