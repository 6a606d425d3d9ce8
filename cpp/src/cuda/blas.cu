#include "cuda/blas.h"

#include <list>
#include <map>
#include <utility>

#include "cuda/check.h"

namespace rnnkit::cuda {

namespace {

// Per host thread and device: a cuBLAS handle, a stream to capture graphs on, and the executable
// graphs of recent calls. Handles are not thread-safe, hence per thread.
struct ThreadState {
  cublasHandle_t handle = nullptr;
  void* blas_workspace = nullptr;  // given to the handle, so cuBLAS never allocates while captured
  cudaStream_t capture_stream = nullptr;
  // key -> executable graph, most recent first; a few shapes at a time (a training loop
  // alternates forward and backward of each layer).
  std::list<std::pair<std::uint64_t, cudaGraphExec_t>> graphs;
  static constexpr std::size_t kGraphs = 16;
  // Keys run once without a graph (the warm-up), most recent first.
  std::list<std::uint64_t> seen;

  ~ThreadState() {
    // At thread exit the driver may already be gone; errors are ignored on purpose.
    for (auto& entry : graphs) cudaGraphExecDestroy(entry.second);
    if (capture_stream) cudaStreamDestroy(capture_stream);
    if (handle) cublasDestroy(handle);
    if (blas_workspace) cudaFree(blas_workspace);
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
  RNNKIT_CUDA_CHECK(cudaGetDevice(&previous_device_));
  if (previous_device_ != context.device_index) RNNKIT_CUDA_CHECK(cudaSetDevice(context.device_index));
  ThreadState& state = thread_state(context.device_index);
  if (context.blas_handle) {
    handle_ = static_cast<cublasHandle_t>(context.blas_handle);
  } else {
    if (!state.handle) {
      RNNKIT_CUBLAS_CHECK(cublasCreate(&state.handle));
      // 32 MiB, what NVIDIA advises for Hopper; set once, so no GEMM allocates during capture.
      constexpr std::size_t kBlasWorkspace = std::size_t(32) << 20;
      RNNKIT_CUDA_CHECK(cudaMalloc(&state.blas_workspace, kBlasWorkspace));
      RNNKIT_CUBLAS_CHECK(cublasSetWorkspace(state.handle, state.blas_workspace, kBlasWorkspace));
    }
    handle_ = state.handle;
  }
  if (!state.capture_stream) {
    RNNKIT_CUDA_CHECK(cudaStreamCreateWithFlags(&state.capture_stream, cudaStreamNonBlocking));
  }
  capture_stream_ = state.capture_stream;
  RNNKIT_CUBLAS_CHECK(cublasSetStream(handle_, stream_));
  RNNKIT_CUBLAS_CHECK(cublasSetPointerMode(handle_, CUBLAS_POINTER_MODE_HOST));
  RNNKIT_CUBLAS_CHECK(cublasSetMathMode(
      handle_, context.allow_tf32 ? CUBLAS_TF32_TENSOR_OP_MATH : CUBLAS_DEFAULT_MATH));
}

Gpu::~Gpu() {
  if (previous_device_ >= 0) cudaSetDevice(previous_device_);
}

template <>
void Gpu::gemm<float>(std::int64_t m, std::int64_t n, std::int64_t k, Operand<float> a,
                      Operand<float> b, float* c, std::int64_t ldc, float beta,
                      float alpha) const {
  if (m == 0 || n == 0) return;
  RNNKIT_CUBLAS_CHECK(cublasSgemm_64(handle_, b.trans ? CUBLAS_OP_T : CUBLAS_OP_N,
                                     a.trans ? CUBLAS_OP_T : CUBLAS_OP_N, n, m, k, &alpha, b.data,
                                     b.ld, a.data, a.ld, &beta, c, ldc));
}

template <>
void Gpu::gemm<double>(std::int64_t m, std::int64_t n, std::int64_t k, Operand<double> a,
                       Operand<double> b, double* c, std::int64_t ldc, double beta,
                       double alpha) const {
  if (m == 0 || n == 0) return;
  RNNKIT_CUBLAS_CHECK(cublasDgemm_64(handle_, b.trans ? CUBLAS_OP_T : CUBLAS_OP_N,
                                     a.trans ? CUBLAS_OP_T : CUBLAS_OP_N, n, m, k, &alpha, b.data,
                                     b.ld, a.data, a.ld, &beta, c, ldc));
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
  // The private stream must first wait for what the caller queued before this call; the graph
  // is launched on the caller's stream, so ordering after it is the stream's own.
  RNNKIT_CUBLAS_CHECK(cublasSetStream(handle_, capture_stream_));
  RNNKIT_CUDA_CHECK(cudaStreamBeginCapture(capture_stream_, cudaStreamCaptureModeThreadLocal));
  capturing_ = true;
}

void Gpu::end_capture_and_launch(std::uint64_t key) {
  cudaGraph_t graph = nullptr;
  capturing_ = false;
  RNNKIT_CUDA_CHECK(cudaStreamEndCapture(capture_stream_, &graph));
  RNNKIT_CUBLAS_CHECK(cublasSetStream(handle_, stream_));
  int device = 0;
  RNNKIT_CUDA_CHECK(cudaGetDevice(&device));
  ThreadState& state = thread_state(device);
  cudaGraphExec_t exec = nullptr;
  for (auto it = state.graphs.begin(); it != state.graphs.end(); ++it) {
    if (it->first != key) continue;
    exec = it->second;
    state.graphs.erase(it);
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
    cudaGraphExecDestroy(state.graphs.back().second);
    state.graphs.pop_back();
  }
  RNNKIT_CUDA_CHECK(cudaGraphLaunch(exec, stream_));
}

}  // namespace rnnkit::cuda
