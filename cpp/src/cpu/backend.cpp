// The CPU backend behind the entry points: Eigen-style packed GEMMs and the fused SIMD rows.
#include "backend.h"

#include "cpu/kernels.h"
#include "cpu/plan.h"
#include "plan/reserve_stamp.h"
#include "thread_pool.h"

#include <cstring>

RNNKIT_CPU_NAMESPACE_BEGIN

namespace {

class CpuBackend final : public DeviceBackend {
 public:
  std::int64_t forward_workspace(const CellSpec& cell, const SequenceOptions& options,
                                 DType dtype, const Dims& d) const override {
    Arena arena;
    if (dtype == DType::float64) ForwardScratch<double>::carve(arena, cell, options, d);
    else ForwardScratch<float>::carve(arena, cell, options, d);
    return arena.bytes();
  }

  std::int64_t backward_workspace(const CellSpec& cell, const SequenceOptions& options,
                                  DType dtype, const Dims& d) const override {
    Arena arena;
    if (dtype == DType::float64) BackwardScratch<double>::carve(arena, cell, options, d);
    else BackwardScratch<float>::carve(arena, cell, options, d);
    return arena.bytes();
  }

  void forward(const CellSpec& cell, const SequenceOptions& options, const ForwardArgs& args,
               const CallSizes& sizes, const ExecutionContext&) const override {
    const detail::FlushDenormals flush;  // thread_pool.h: also on the team's workers
    if (sizes.dtype == DType::float32) cpu::forward<float>(cell, options, args, sizes);
    else cpu::forward<double>(cell, options, args, sizes);
    if (options.training) {
      const Dims d(cell, sizes.batch, sizes.timesteps);
      const plan::ReserveStamp stamp = plan::make_stamp(
          cell, options, sizes.dtype, d, plan::fingerprint_inputs(plan::stamp_inputs(args)));
      // The whole trailer is written (float64's is wider than the stamp): a reserve holds no
      // uninitialized bytes.
      char* trailer = static_cast<char*>(args.reserve.data) +
                      plan::stamp_offset_bytes(cell, d, sizes.dtype);
      std::memset(trailer, 0, plan::kStampElements * dtype_size(sizes.dtype));
      std::memcpy(trailer, stamp.words, sizeof(stamp.words));
    }
  }

  void check_reserve(const CellSpec& cell, const SequenceOptions& options,
                     const BackwardArgs& args, const CallSizes& sizes,
                     const ExecutionContext&) const override {
    const Dims d(cell, sizes.batch, sizes.timesteps);
    plan::ReserveStamp found;
    std::memcpy(found.words,
                static_cast<const char*>(args.reserve.data) +
                    plan::stamp_offset_bytes(cell, d, sizes.dtype),
                sizeof(found.words));
    plan::check_stamp(plan::make_stamp(cell, options, sizes.dtype, d,
                                       plan::fingerprint_inputs(plan::stamp_inputs(args))),
                      found);
  }

  void backward(const CellSpec& cell, const SequenceOptions& options, const BackwardArgs& args,
                const CallSizes& sizes, const ExecutionContext&) const override {
    const detail::FlushDenormals flush;
    if (sizes.dtype == DType::float32) cpu::backward<float>(cell, options, args, sizes);
    else cpu::backward<double>(cell, options, args, sizes);
  }
};

}  // namespace

const DeviceBackend& isa_backend() {
  static const CpuBackend instance;
  return instance;
}

RNNKIT_CPU_NAMESPACE_END
