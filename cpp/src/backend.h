// One device's implementation of the entry points of sequence.h. sequence.cpp validates every
// argument once, for every device, then hands the call to the backend of the context's device.
// The CPU backend is always there; the CUDA backend (cuda/) registers itself when its library is
// linked in (rnnkit::cuda, or the Python module rnnkit._cuda), so the CPU library never needs
// the CUDA runtime.
#pragma once

#include "plan/sequence_plan.h"
#include "rnnkit/context.h"
#include "rnnkit/sequence.h"
#include "validate.h"

namespace rnnkit {

class DeviceBackend {
 public:
  virtual ~DeviceBackend() = default;
  // Workspace bytes of one call; the reserve is the same on every device (plan::Reserve).
  virtual std::int64_t forward_workspace(const CellSpec& cell, const SequenceOptions& options,
                                         DType dtype, const plan::Dims& d) const = 0;
  virtual std::int64_t backward_workspace(const CellSpec& cell, const SequenceOptions& options,
                                          DType dtype, const plan::Dims& d) const = 0;
  // Arguments already validated against `sizes` and the context. A training forward stamps the
  // reserve (plan/reserve_stamp.h); check_reserve, run before backward, refuses a reserve whose
  // stamp is not this call's.
  virtual void forward(const CellSpec& cell, const SequenceOptions& options,
                       const ForwardArgs& args, const CallSizes& sizes,
                       const ExecutionContext& context) const = 0;
  virtual void check_reserve(const CellSpec& cell, const SequenceOptions& options,
                             const BackwardArgs& args, const CallSizes& sizes,
                             const ExecutionContext& context) const = 0;
  virtual void backward(const CellSpec& cell, const SequenceOptions& options,
                        const BackwardArgs& args, const CallSizes& sizes,
                        const ExecutionContext& context) const = 0;
};

// Installs the backend of `device` (called once, at load time, by the CUDA library).
void register_backend(Device device, const DeviceBackend* backend);
// The backend of `device`; throws TypeMismatch when this build has none.
const DeviceBackend& backend_for(Device device);

namespace cpu {
const DeviceBackend& backend();
}  // namespace cpu

}  // namespace rnnkit
