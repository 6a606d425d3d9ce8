// A host emulation of the few CUDA runtime calls rnnkit's CUDA backend makes, so that the
// backend's own sources (cpp/src/cuda/*.cu, compiled as C++ with RNNKIT_CUDA_EMULATION) run on a
// machine without a GPU: "device" memory is host memory, every call runs at once in the calling
// thread (so stream order is program order), a kernel is a plain function run by one "thread"
// whose grid-stride loop covers every element, and a graph capture records nothing (the work
// has already run) while its API calls still go through rnnkit's capture/update/launch logic.
//
// What this proves: the backend's orchestration (buffer carving, ping-pong states, dropout
// slots, the order of GEMMs and kernels, masks, go_backwards, the reserve and its stamp, the
// weight-gradient GEMMs and the arguments each cuBLAS call gets) computes what the CPU backend
// computes. What it cannot prove: anything about real GPUs (parallel execution and races between
// threads of one kernel, launch configurations, the real cuBLAS, real graphs, performance).
#pragma once

#define RNNKIT_CUDA_EMULATION 1

#include <cstddef>
#include <cstdlib>
#include <cstring>

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline

struct dim3 {
  unsigned int x, y, z;
};
// One block of one thread: every kernel's grid-stride loop then visits each element once.
inline constexpr dim3 blockIdx{0, 0, 0}, threadIdx{0, 0, 0}, gridDim{1, 1, 1}, blockDim{1, 1, 1};

enum cudaError_t {
  cudaSuccess = 0,
  cudaErrorInvalidValue = 1,
  cudaErrorMemoryAllocation = 2,
  cudaErrorStreamCaptureUnsupported = 900,
  cudaErrorGraphExecUpdateFailure = 910,
};
enum cudaMemcpyKind {
  cudaMemcpyHostToHost = 0,
  cudaMemcpyHostToDevice = 1,
  cudaMemcpyDeviceToHost = 2,
  cudaMemcpyDeviceToDevice = 3,
  cudaMemcpyDefault = 4,
};
enum cudaStreamCaptureStatus {
  cudaStreamCaptureStatusNone = 0,
  cudaStreamCaptureStatusActive = 1,
  cudaStreamCaptureStatusInvalidated = 2,
};
enum cudaStreamCaptureMode {
  cudaStreamCaptureModeGlobal = 0,
  cudaStreamCaptureModeThreadLocal = 1,
  cudaStreamCaptureModeRelaxed = 2,
};
enum cudaDeviceAttr {
  cudaDevAttrComputeCapabilityMajor = 75,
  cudaDevAttrComputeCapabilityMinor = 76,
};
constexpr unsigned int cudaStreamNonBlocking = 1;

struct rnnkit_emulated_stream {
  bool capturing = false;
};
using cudaStream_t = rnnkit_emulated_stream*;
// Streams being captured now. While one is, the calls CUDA forbids during a capture (allocating,
// freeing, synchronizing, copying to or from host memory on the captured stream) fail as they do
// on a GPU, where they also invalidate the capture: this thread is the only one, so every
// capture mode forbids them here.
inline int& rnnkit_emulated_captures_active() {
  static int active = 0;
  return active;
}
struct rnnkit_emulated_graph {
  int unused = 0;
};
using cudaGraph_t = rnnkit_emulated_graph*;
using cudaGraphExec_t = rnnkit_emulated_graph*;
struct cudaGraphExecUpdateResultInfo {
  int result = 0;
};
struct cudaDeviceProp {
  char name[256];
  int major, minor;
  std::size_t totalGlobalMem;
};

// Counters the emulation test reads (how many graphs were instantiated, launched, ...).
struct RnnkitCudaEmulationCounters {
  long captures = 0, instantiations = 0, updates = 0, launches = 0, live_graphs = 0;
  long allocations = 0, frees = 0;
};
inline RnnkitCudaEmulationCounters& rnnkit_cuda_emulation_counters() {
  static RnnkitCudaEmulationCounters counters;
  return counters;
}

inline const char* cudaGetErrorName(cudaError_t e) {
  if (e == cudaErrorStreamCaptureUnsupported) return "cudaErrorStreamCaptureUnsupported";
  return e == cudaSuccess ? "cudaSuccess" : "cudaErrorEmulated";
}
inline const char* cudaGetErrorString(cudaError_t e) {
  if (e == cudaErrorStreamCaptureUnsupported) return "operation not permitted when stream is capturing";
  return e == cudaSuccess ? "no error" : "emulated CUDA error";
}
inline cudaError_t cudaGetLastError() { return cudaSuccess; }
inline cudaError_t cudaGetDeviceCount(int* count) {
  *count = 1;
  return cudaSuccess;
}
inline cudaError_t cudaGetDevice(int* device) {
  *device = 0;
  return cudaSuccess;
}
inline cudaError_t cudaSetDevice(int device) {
  return device == 0 ? cudaSuccess : cudaErrorInvalidValue;
}
inline cudaError_t cudaDeviceGetAttribute(int* value, cudaDeviceAttr attr, int device) {
  if (device != 0) return cudaErrorInvalidValue;
  *value = attr == cudaDevAttrComputeCapabilityMajor ? 9 : 0;
  return cudaSuccess;
}
inline cudaError_t cudaGetDeviceProperties(cudaDeviceProp* prop, int device) {
  if (device != 0) return cudaErrorInvalidValue;
  std::memset(prop, 0, sizeof(*prop));
  std::strcpy(prop->name, "host emulation of the CUDA runtime");
  prop->major = 9;
  prop->totalGlobalMem = std::size_t(1) << 30;
  return cudaSuccess;
}
inline cudaError_t cudaMalloc(void** p, std::size_t bytes) {
  if (rnnkit_emulated_captures_active()) return cudaErrorStreamCaptureUnsupported;
  // 256-byte aligned, as cudaMalloc's memory is.
  *p = std::aligned_alloc(256, (bytes + 255) / 256 * 256);
  if (!*p) return cudaErrorMemoryAllocation;
  ++rnnkit_cuda_emulation_counters().allocations;
  return cudaSuccess;
}
inline cudaError_t cudaFree(void* p) {
  if (rnnkit_emulated_captures_active()) return cudaErrorStreamCaptureUnsupported;
  if (p) ++rnnkit_cuda_emulation_counters().frees;
  std::free(p);
  return cudaSuccess;
}
inline cudaError_t cudaMemcpy(void* dst, const void* src, std::size_t bytes, cudaMemcpyKind) {
  std::memmove(dst, src, bytes);
  return cudaSuccess;
}
inline cudaError_t cudaMemcpyAsync(void* dst, const void* src, std::size_t bytes,
                                   cudaMemcpyKind kind, cudaStream_t stream) {
  if (bytes && (!dst || !src)) return cudaErrorInvalidValue;
  // A copy between the device and (pageable) host memory cannot be captured.
  if (stream && stream->capturing && kind != cudaMemcpyDeviceToDevice) {
    return cudaErrorStreamCaptureUnsupported;
  }
  std::memmove(dst, src, bytes);
  return cudaSuccess;
}
inline cudaError_t cudaMemset(void* dst, int value, std::size_t bytes) {
  std::memset(dst, value, bytes);
  return cudaSuccess;
}
inline cudaError_t cudaMemsetAsync(void* dst, int value, std::size_t bytes, cudaStream_t) {
  if (bytes && !dst) return cudaErrorInvalidValue;
  std::memset(dst, value, bytes);
  return cudaSuccess;
}
inline cudaError_t cudaDeviceSynchronize() {
  return rnnkit_emulated_captures_active() ? cudaErrorStreamCaptureUnsupported : cudaSuccess;
}
inline cudaError_t cudaStreamSynchronize(cudaStream_t stream) {
  return stream && stream->capturing ? cudaErrorStreamCaptureUnsupported : cudaSuccess;
}
inline cudaError_t cudaStreamCreateWithFlags(cudaStream_t* stream, unsigned int) {
  *stream = new rnnkit_emulated_stream;
  return cudaSuccess;
}
inline cudaError_t cudaStreamDestroy(cudaStream_t stream) {
  delete stream;
  return cudaSuccess;
}
inline cudaError_t cudaStreamIsCapturing(cudaStream_t stream, cudaStreamCaptureStatus* status) {
  *status = stream && stream->capturing ? cudaStreamCaptureStatusActive
                                        : cudaStreamCaptureStatusNone;
  return cudaSuccess;
}
inline cudaError_t cudaStreamBeginCapture(cudaStream_t stream, cudaStreamCaptureMode) {
  if (!stream || stream->capturing) return cudaErrorInvalidValue;  // never the legacy stream
  stream->capturing = true;
  ++rnnkit_emulated_captures_active();
  ++rnnkit_cuda_emulation_counters().captures;
  return cudaSuccess;
}
inline cudaError_t cudaStreamEndCapture(cudaStream_t stream, cudaGraph_t* graph) {
  if (!stream || !stream->capturing) return cudaErrorInvalidValue;
  stream->capturing = false;
  --rnnkit_emulated_captures_active();
  *graph = new rnnkit_emulated_graph;
  return cudaSuccess;
}
inline cudaError_t cudaGraphDestroy(cudaGraph_t graph) {
  delete graph;
  return cudaSuccess;
}
inline cudaError_t cudaGraphInstantiate(cudaGraphExec_t* exec, cudaGraph_t graph,
                                        unsigned long long) {
  if (!graph) return cudaErrorInvalidValue;
  *exec = new rnnkit_emulated_graph;
  ++rnnkit_cuda_emulation_counters().instantiations;
  ++rnnkit_cuda_emulation_counters().live_graphs;
  return cudaSuccess;
}
inline cudaError_t cudaGraphExecUpdate(cudaGraphExec_t exec, cudaGraph_t graph,
                                       cudaGraphExecUpdateResultInfo*) {
  if (!exec || !graph) return cudaErrorInvalidValue;
  ++rnnkit_cuda_emulation_counters().updates;
  return cudaSuccess;
}
inline cudaError_t cudaGraphExecDestroy(cudaGraphExec_t exec) {
  if (exec) --rnnkit_cuda_emulation_counters().live_graphs;
  delete exec;
  return cudaSuccess;
}
// The work already ran while it was "captured".
inline cudaError_t cudaGraphLaunch(cudaGraphExec_t exec, cudaStream_t) {
  if (!exec) return cudaErrorInvalidValue;
  ++rnnkit_cuda_emulation_counters().launches;
  return cudaSuccess;
}
