// The CUDA backend behind the entry points: registered with the core when this library is
// linked in, so the CPU library itself never needs the CUDA runtime.
#include <cuda_runtime.h>

#include <cstdio>
#include <string>

#include "backend.h"
#include "cuda/check.h"
#include "cuda/device_ops.cuh"
#include "cuda/kernels.h"
#include "cuda/blas.h"
#include "cuda/host_math.h"
#include "cuda/plan.h"
#include "plan/reserve_stamp.h"
#include "rnnkit/cuda.h"

namespace rnnkit::cuda {

namespace {

#ifdef RNNKIT_CUDA_ARCHITECTURES
constexpr const char* kArchitectures = RNNKIT_CUDA_ARCHITECTURES;
#else
constexpr const char* kArchitectures = "";
#endif

// The reserve's stamp and the fingerprint of this call's inputs, read on the device into
// out[0 .. kStampWords) and out[kStampWords].
__global__ void read_stamp_kernel(plan::StampInputs inputs, const unsigned char* stamp,
                                  std::uint64_t* out) {
  if (blockIdx.x != 0 || threadIdx.x != 0) return;
  for (int w = 0; w < plan::kStampWords; ++w) {
    std::uint64_t v = 0;
    for (int b = 0; b < 8; ++b) v |= static_cast<std::uint64_t>(stamp[w * 8 + b]) << (8 * b);
    out[w] = v;
  }
  out[plan::kStampWords] = plan::fingerprint_inputs(inputs);
}

class CudaBackend final : public DeviceBackend {
 public:
  std::int64_t forward_workspace(const CellSpec& cell, const SequenceOptions& options,
                                 DType dtype, const Dims& d) const override {
    Arena arena;
    if (dtype == DType::float64) ForwardScratch<double>::carve(arena, cell, options, d);
    else ForwardScratch<float>::carve(arena, cell, options, d);
    return arena.bytes();
  }

  std::int64_t backward_workspace(const CellSpec& cell, const SequenceOptions&, DType dtype,
                                  const Dims& d) const override {
    Arena arena;
    if (dtype == DType::float64) BackwardScratch<double>::carve(arena, cell, d);
    else BackwardScratch<float>::carve(arena, cell, d);
    return arena.bytes();
  }

  void forward(const CellSpec& cell, const SequenceOptions& options, const ForwardArgs& args,
               const CallSizes& sizes, const ExecutionContext& context) const override {
    if (sizes.dtype == DType::float32) cuda::forward<float>(cell, options, args, sizes, context);
    else cuda::forward<double>(cell, options, args, sizes, context);
  }

  // Reads the stamp on the device and waits for it: the one synchronizing step of a backward
  // call (it lets backward refuse a foreign reserve before any of its kernels runs).
  void check_reserve(const CellSpec& cell, const SequenceOptions& options,
                     const BackwardArgs& args, const CallSizes& sizes,
                     const ExecutionContext& context) const override {
    Gpu gpu(context);
    // On a stream the caller is capturing, nothing runs now: the reserve holds what an earlier
    // call left (or nothing yet, when the forward is in the same capture), and the copy to the
    // host and the wait below are not allowed during a capture (they would invalidate the
    // caller's graph). The stamp cannot be checked then; backward's work is captured as is.
    if (gpu.caller_capturing()) return;
    const Dims d(cell, sizes.batch, sizes.timesteps);
    Arena arena(Arena::align(args.workspace.data));
    std::uint64_t* slot = sizes.dtype == DType::float64
                              ? BackwardScratch<double>::carve(arena, cell, d).stamp
                              : BackwardScratch<float>::carve(arena, cell, d).stamp;
    const auto* stamp = static_cast<const unsigned char*>(args.reserve.data) +
                        plan::stamp_offset_bytes(cell, d, sizes.dtype);
    launch(&read_stamp_kernel, 1, 1, gpu.stream(), plan::stamp_inputs(args), stamp, slot);
    std::uint64_t host[plan::kStampWords + 1];
    RNNKIT_CUDA_CHECK(cudaMemcpyAsync(host, slot, sizeof(host), cudaMemcpyDeviceToHost, gpu.stream()));
    RNNKIT_CUDA_CHECK(cudaStreamSynchronize(gpu.stream()));
    plan::ReserveStamp found;
    for (int w = 0; w < plan::kStampWords; ++w) found.words[w] = host[w];
    plan::check_stamp(plan::make_stamp(cell, options, sizes.dtype, d, host[plan::kStampWords]), found);
  }

  void backward(const CellSpec& cell, const SequenceOptions& options, const BackwardArgs& args,
                const CallSizes& sizes, const ExecutionContext& context) const override {
    if (sizes.dtype == DType::float32) cuda::backward<float>(cell, options, args, sizes, context);
    else cuda::backward<double>(cell, options, args, sizes, context);
  }
};

const CudaBackend g_backend;
[[maybe_unused]] const bool g_registered = (register_backend(Device::cuda, &g_backend), true);

}  // namespace

std::uint64_t call_key(const CellSpec& cell, const SequenceOptions& options, const Dims& d,
                       DType dtype, bool backward, bool allow_tf32,
                       std::initializer_list<const TensorView*> optional) {
  std::uint64_t key = mix(0, static_cast<std::uint64_t>(cell.kind));
  for (std::int64_t v : {d.B, d.T, d.I, d.H}) key = mix(key, static_cast<std::uint64_t>(v));
  key = mix(key, static_cast<std::uint64_t>(cell.activation) * 64 +
                     static_cast<std::uint64_t>(cell.recurrent_activation));
  const unsigned flags = cell.use_bias | cell.reset_after << 1 | options.go_backwards << 2 |
                         options.return_sequences << 3 | options.zero_output_for_mask << 4 |
                         options.training << 5 | backward << 6 |
                         (dtype == DType::float64) << 7 |
                         (allow_tf32 && dtype == DType::float32) << 8;
  key = mix(key, flags);
  for (const TensorView* view : optional) {
    key = mix(key, view->present() ? static_cast<std::uint64_t>(view->rank) + 1 : 0);
  }
  return key;
}

int device_count() {
  int count = 0;
  if (cudaGetDeviceCount(&count) != cudaSuccess) {
    cudaGetLastError();
    return 0;
  }
  return count;
}

bool is_available(std::string* why) {
  int count = 0;
  const cudaError_t status = cudaGetDeviceCount(&count);
  if (status != cudaSuccess) {
    cudaGetLastError();
    if (why) {
      *why = std::string("the CUDA runtime found no usable GPU: ") + cudaGetErrorName(status) +
             ": " + cudaGetErrorString(status);
    }
    return false;
  }
  if (count == 0) {
    if (why) *why = "the CUDA driver sees no GPU";
    return false;
  }
  // A GPU this build has no code for would fail its first launch with "no kernel image": say so
  // here instead. The compute capability is read without creating a context on the GPU.
  std::string unsupported;
  for (int index = 0; index < count; ++index) {
    int major = 0, minor = 0;
    if (cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, index) != cudaSuccess ||
        cudaDeviceGetAttribute(&minor, cudaDevAttrComputeCapabilityMinor, index) != cudaSuccess) {
      cudaGetLastError();
      continue;
    }
    if (arch_list_runs_on(kArchitectures, major, minor)) {
      if (why) why->clear();
      return true;
    }
    unsupported += (unsupported.empty() ? "" : ", ") + std::string("cuda:") +
                   std::to_string(index) + " is sm_" + std::to_string(major) + std::to_string(minor);
  }
  if (why) {
    *why = "no GPU here runs this build's code (built for CUDA architectures " +
           std::string(kArchitectures) + "; " + unsupported +
           "): rebuild with -DCMAKE_CUDA_ARCHITECTURES=native";
  }
  return false;
}

std::string device_description(int index) {
  cudaDeviceProp prop{};
  RNNKIT_CUDA_CHECK(cudaGetDeviceProperties(&prop, index));
  char text[320];
  std::snprintf(text, sizeof(text), "%s (sm_%d%d, %.1f GiB)", prop.name, prop.major, prop.minor,
                static_cast<double>(prop.totalGlobalMem) / (1 << 30));
  return text;
}

}  // namespace rnnkit::cuda
