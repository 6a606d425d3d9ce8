#include "cuda/blas.h"

#include <list>
#include <string>
#include <map>
#include <utility>

#include "cuda/check.h"
#include "cuda/host_math.h"

namespace rnnkit::cuda {

namespace {

// Per host thread and device: a cuBLAS handle, cuBLAS workspaces, a stream to capture graphs on,
// and the executable graphs of recent calls. Handles are not thread-safe, hence per thread.
struct ThreadState {
  cublasHandle_t handle = nullptr;
  // One cuBLAS workspace per caller stream, most recent first: kernels of two streams may run at
  // the same time, and must not share scratch (PyTorch keys its workspaces by handle and stream
  // for the same reason). Set on the handle after every cublasSetStream, so that cuBLAS never
  // allocates while a stream is captured.
  std::list<std::pair<cudaStream_t, void*>> workspaces;
  static constexpr std::size_t kWorkspaces = 8;
  cudaStream_t capture_stream = nullptr;
  // key -> executable graph, most recent first; a few shapes at a time (a training loop
  // alternates forward and backward of each layer).
  std::list<std::pair<std::uint64_t, cudaGraphExec_t>> graphs;
  static constexpr std::size_t kGraphs = 16;
  // Keys run once without a graph (the warm-up), most recent first.
  std::list<std::uint64_t> seen;

  // Whether `stream` has its workspace already.
  bool has_workspace(cudaStream_t stream) const {
    for (const auto& entry : workspaces) {
      if (entry.first == stream) return true;
    }
    return false;
  }

  // The workspace of `stream`, allocated on first use (outside any capture of ours: Gpu's
  // constructor runs before it begins).
  void* workspace_for(cudaStream_t stream) {
    for (auto it = workspaces.begin(); it != workspaces.end(); ++it) {
      if (it->first != stream) continue;
      workspaces.splice(workspaces.begin(), workspaces, it);
      return it->second;
    }
    if (workspaces.size() >= kWorkspaces) {
      // The oldest stream's GEMMs may still run: wait for the device before freeing.
      RNNKIT_CUDA_CHECK(cudaDeviceSynchronize());
      RNNKIT_CUDA_CHECK(cudaFree(workspaces.back().second));
      workspaces.pop_back();
    }
    void* memory = nullptr;
    RNNKIT_CUDA_CHECK(cudaMalloc(&memory, kBlasWorkspaceBytes));
    workspaces.emplace_front(stream, memory);
    return memory;
  }

  ~ThreadState() {
    // At thread exit the driver may already be gone; errors are ignored on purpose.
    for (auto& entry : graphs) cudaGraphExecDestroy(entry.second);
    if (capture_stream) cudaStreamDestroy(capture_stream);
    if (handle) cublasDestroy(handle);
    for (auto& entry : workspaces) cudaFree(entry.second);
  }
};

ThreadState& thread_state(int device) {
  thread_local std::map<int, ThreadState> states;
  return states[device];
}

}  // namespace

std::uint64_t mix(std::uint64_t seed, std::uint64_t value) {
  // splitmix64 of the combination: distinct sizes give distinct keys with overwhelming odds, and a
  // collision only costs a failed graph update (the graph is then instantiated anew).
  std::uint64_t z = seed ^ (value + 0x9e3779b97f4a7c15ULL + (seed << 6) + (seed >> 2));
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

Gpu::Gpu(const ExecutionContext& context)
    : stream_(static_cast<cudaStream_t>(context.stream)) {
  int current = 0;
  RNNKIT_CUDA_CHECK(cudaGetDevice(&current));
  if (current != context.device_index) {
    RNNKIT_CUDA_CHECK(cudaSetDevice(context.device_index));
    previous_device_ = current;  // restored by the destructor; untouched when already current
  }
  try {
    set_up(context);
  } catch (...) {
    // The destructor does not run for a constructor that threw.
    if (previous_device_ >= 0) cudaSetDevice(previous_device_);
    throw;
  }
}

void Gpu::set_up(const ExecutionContext& context) {
  ThreadState& state = thread_state(context.device_index);
  // A call on a stream the caller is capturing queues its work there, but it must not allocate
  // the handle or the stream's workspace now: cublasCreate and cudaMalloc (and the
  // cudaDeviceSynchronize before an old workspace is freed) are not allowed during a capture and
  // would invalidate the caller's graph with an error that does not say why. They are made by
  // the first call on that stream outside a capture.
  const bool capturing = caller_capturing();
  if (capturing && ((!context.blas_handle && !state.handle) || !state.has_workspace(stream_))) {
    throw Error(
        "rnnkit's CUDA backend was called on a stream that is being captured into a CUDA graph "
        "(or while another stream's capture forbids allocations), before any call on that stream "
        "outside a capture: make one call of the same kind on that stream first (it creates the "
        "cuBLAS handle and the stream's cuBLAS workspace, which cannot be allocated during a "
        "capture)");
  }
  if (context.blas_handle) {
    handle_ = static_cast<cublasHandle_t>(context.blas_handle);
  } else {
    if (!state.handle) RNNKIT_CUBLAS_CHECK(cublasCreate(&state.handle));
    handle_ = state.handle;
  }
  workspace_ = state.workspace_for(stream_);
  if (!state.capture_stream && !capturing) {
    // Non-blocking: no implicit ordering with the legacy default stream, whose use by anyone
    // would otherwise invalidate our captures.
    RNNKIT_CUDA_CHECK(cudaStreamCreateWithFlags(&state.capture_stream, cudaStreamNonBlocking));
  }
  capture_stream_ = state.capture_stream;
  bind_handle(stream_);
  // Host pointer mode: alpha and beta are read at the call (and captured into a graph by value).
  RNNKIT_CUBLAS_CHECK(cublasSetPointerMode(handle_, CUBLAS_POINTER_MODE_HOST));
  // CUBLAS_DEFAULT_MATH keeps float32 products in float32 (TF32 only with the TF32 mode);
  // float64 GEMMs ignore the mode.
  RNNKIT_CUBLAS_CHECK(cublasSetMathMode(
      handle_, context.allow_tf32 ? CUBLAS_TF32_TENSOR_OP_MATH : CUBLAS_DEFAULT_MATH));
}

void Gpu::bind_handle(cudaStream_t stream) const {
  // cuBLAS docs, cublasSetStream: it "unconditionally resets the cuBLAS library workspace back
  // to the default workspace pool", so the workspace is set again after it. During a capture the
  // handle is on our capture stream but holds stream_'s workspace: the graph runs on stream_.
  RNNKIT_CUBLAS_CHECK(cublasSetStream(handle_, stream));
  RNNKIT_CUBLAS_CHECK(cublasSetWorkspace(handle_, workspace_, kBlasWorkspaceBytes));
}

bool Gpu::caller_capturing() const {
  cudaStreamCaptureStatus status = cudaStreamCaptureStatusNone;
  if (cudaStreamIsCapturing(stream_, &status) != cudaSuccess) {
    // The legacy stream while another thread captures globally, say: a capture of ours would
    // fail too, so queue the work directly (and let its first call report the error).
    cudaGetLastError();
    return true;
  }
  return status != cudaStreamCaptureStatusNone;
}

Gpu::~Gpu() {
  if (previous_device_ >= 0) cudaSetDevice(previous_device_);
}

namespace {

// The cuBLAS arguments of a row-major GEMM (cuda/host_math.h), checked first.
ColumnMajorGemm checked_gemm(std::int64_t m, std::int64_t n, std::int64_t k, bool trans_a,
                             std::int64_t lda, bool trans_b, std::int64_t ldb, std::int64_t ldc) {
  const ColumnMajorGemm g = column_major_gemm(m, n, k, trans_a, lda, trans_b, ldb, ldc);
  if (const char* why = gemm_argument_error(g)) {
    throw Error("rnnkit internal error: a GEMM with C[" + std::to_string(m) + ", " +
                std::to_string(n) + "] = op(A)[" + std::to_string(m) + ", " + std::to_string(k) +
                "] op(B), lda=" + std::to_string(lda) + ", ldb=" + std::to_string(ldb) +
                ", ldc=" + std::to_string(ldc) + " breaks cuBLAS' rule " + why);
  }
  return g;
}

cublasOperation_t op(bool trans) { return trans ? CUBLAS_OP_T : CUBLAS_OP_N; }

}  // namespace

// Both precisions: cuBLAS' A is our B and its B our A (ColumnMajorGemm::kOperandsSwap).
template <>
void Gpu::gemm<float>(std::int64_t m, std::int64_t n, std::int64_t k, Operand<float> a,
                      Operand<float> b, float* c, std::int64_t ldc, float beta,
                      float alpha) const {
  if (m == 0 || n == 0) return;
  const ColumnMajorGemm g = checked_gemm(m, n, k, a.trans, a.ld, b.trans, b.ld, ldc);
  RNNKIT_CUBLAS_CHECK(cublasSgemm_64(handle_, op(g.trans_a), op(g.trans_b), g.m, g.n, g.k, &alpha,
                                     b.data, g.lda, a.data, g.ldb, &beta, c, g.ldc));
}

template <>
void Gpu::gemm<double>(std::int64_t m, std::int64_t n, std::int64_t k, Operand<double> a,
                       Operand<double> b, double* c, std::int64_t ldc, double beta,
                       double alpha) const {
  if (m == 0 || n == 0) return;
  const ColumnMajorGemm g = checked_gemm(m, n, k, a.trans, a.ld, b.trans, b.ld, ldc);
  RNNKIT_CUBLAS_CHECK(cublasDgemm_64(handle_, op(g.trans_a), op(g.trans_b), g.m, g.n, g.k, &alpha,
                                     b.data, g.lda, a.data, g.ldb, &beta, c, g.ldc));
}

bool Gpu::first_sight(std::uint64_t key) {
  int device = 0;
  RNNKIT_CUDA_CHECK(cudaGetDevice(&device));
  ThreadState& state = thread_state(device);
  for (auto it = state.seen.begin(); it != state.seen.end(); ++it) {
    if (*it != key) continue;
    state.seen.splice(state.seen.begin(), state.seen, it);  // most recent first
    return false;
  }
  state.seen.push_front(key);
  if (state.seen.size() > 4 * ThreadState::kGraphs) state.seen.pop_back();
  return true;
}

void Gpu::begin_capture() {
  // Nothing to wait for: capturing executes nothing, and the graph is launched on the caller's
  // stream, after whatever the caller queued there before this call.
  bind_handle(capture_stream_);
  // Thread-local mode: only this thread's unsafe calls (cudaMalloc, synchronisation) would
  // invalidate the capture; none is made between begin and end.
  RNNKIT_CUDA_CHECK(cudaStreamBeginCapture(capture_stream_, cudaStreamCaptureModeThreadLocal));
  capturing_ = true;
}

void Gpu::abandon_capture() noexcept {
  if (capturing_) {
    cudaGraph_t abandoned = nullptr;
    cudaStreamEndCapture(capture_stream_, &abandoned);
    if (abandoned) cudaGraphDestroy(abandoned);
    capturing_ = false;
  }
  cudaGetLastError();
  cublasSetStream(handle_, stream_);
  cublasSetWorkspace(handle_, workspace_, kBlasWorkspaceBytes);
}

void Gpu::end_capture_and_launch(std::uint64_t key) {
  cudaGraph_t graph = nullptr;
  capturing_ = false;
  const cudaError_t ended = cudaStreamEndCapture(capture_stream_, &graph);
  bind_handle(stream_);
  if (ended != cudaSuccess) {
    // cudaErrorStreamCaptureInvalidated and the like: something in the loop is not capturable.
    if (graph) cudaGraphDestroy(graph);
    fail_cuda(ended, "cudaStreamEndCapture", RNNKIT_WHERE);
  }
  int device = 0;
  RNNKIT_CUDA_CHECK(cudaGetDevice(&device));
  ThreadState& state = thread_state(device);
  cudaGraphExec_t exec = nullptr;
  for (auto it = state.graphs.begin(); it != state.graphs.end(); ++it) {
    if (it->first != key) continue;
    exec = it->second;
    state.graphs.erase(it);
    // CUDA 12+ signature. Kernel, memset and memcpy nodes of the same topology take the new
    // pointers and parameters; anything else (another cuBLAS kernel chosen, say) makes the update
    // fail, and the graph is instantiated anew: correct either way, since every call captures.
    cudaGraphExecUpdateResultInfo info;
    if (cudaGraphExecUpdate(exec, graph, &info) != cudaSuccess) {
      cudaGetLastError();  // a failed update is expected when topologies differ: clear it
      cudaGraphExecDestroy(exec);
      exec = nullptr;
    }
    break;
  }
  if (!exec) {
    const cudaError_t status = cudaGraphInstantiate(&exec, graph, 0);
    if (status != cudaSuccess) {
      cudaGraphDestroy(graph);
      fail_cuda(status, "cudaGraphInstantiate", RNNKIT_WHERE);
    }
  }
  cudaGraphDestroy(graph);
  state.graphs.emplace_front(key, exec);
  if (state.graphs.size() > ThreadState::kGraphs) {
    // Safe while a launch of it is pending: the driver frees it once that launch completes.
    cudaGraphExecDestroy(state.graphs.back().second);
    state.graphs.pop_back();
  }
  RNNKIT_CUDA_CHECK(cudaGraphLaunch(exec, stream_));
}

}  // namespace rnnkit::cuda
