// The public entry points: validate once, for every device, then hand the call to the backend of
// the context's device.
#include "rnnkit/sequence.h"

#include <atomic>

#include "backend.h"
#include "plan/sequence_plan.h"
#include "rnnkit/error.h"
#include "validate.h"

namespace rnnkit {

namespace {

std::atomic<const DeviceBackend*> g_cuda_backend{nullptr};

void expect_sizes(std::int64_t batch, std::int64_t timesteps) {
  if (batch < 1 || timesteps < 1) {
    throw InvalidArgument("x must have at least one sample and one timestep, got batch=" +
                          std::to_string(batch) + ", timesteps=" + std::to_string(timesteps));
  }
}

void expect_float_dtype(DType dtype) {
  if (dtype != DType::float32 && dtype != DType::float64) {
    throw TypeMismatch(std::string("dtype must be float32 or float64, got ") + dtype_name(dtype));
  }
}

}  // namespace

void register_backend(Device device, const DeviceBackend* backend) {
  if (device == Device::cuda) g_cuda_backend.store(backend);
}

const DeviceBackend& backend_for(Device device) {
  if (device == Device::cpu) return cpu::backend();
  const DeviceBackend* cuda = g_cuda_backend.load();
  if (!cuda) {
    throw TypeMismatch("the call is on a CUDA device, but this program has no CUDA backend: "
                       "build rnnkit with RNNKIT_CUDA and link rnnkit::cuda (in Python, "
                       "rnnkit.cuda.is_available() says why it cannot run)");
  }
  return *cuda;
}

MemorySizes forward_memory(const CellSpec& cell, const SequenceOptions& options, DType dtype,
                           std::int64_t batch, std::int64_t timesteps, Device device) {
  validate_cell(cell);
  expect_sizes(batch, timesteps);
  validate_dims(cell, batch, timesteps);
  expect_float_dtype(dtype);
  const plan::Dims d(cell, batch, timesteps);
  MemorySizes sizes;
  sizes.workspace_bytes = backend_for(device).forward_workspace(cell, options, dtype, d);
  sizes.reserve_elements = options.training ? plan::reserve_elements(cell, d) : 0;
  return sizes;
}

MemorySizes backward_memory(const CellSpec& cell, const SequenceOptions& options, DType dtype,
                            std::int64_t batch, std::int64_t timesteps, Device device) {
  validate_cell(cell);
  expect_sizes(batch, timesteps);
  validate_dims(cell, batch, timesteps);
  expect_float_dtype(dtype);
  const plan::Dims d(cell, batch, timesteps);
  MemorySizes sizes;
  sizes.workspace_bytes = backend_for(device).backward_workspace(cell, options, dtype, d);
  return sizes;
}

void forward(const CellSpec& cell, const SequenceOptions& options, const ForwardArgs& args,
             const ExecutionContext& context) {
  const CallSizes sizes = validate_forward(cell, options, args, context);
  backend_for(context.device).forward(cell, options, args, sizes, context);
}

void backward(const CellSpec& cell, const SequenceOptions& options, const BackwardArgs& args,
              const ExecutionContext& context) {
  const CallSizes sizes = validate_backward(cell, options, args, context);
  const DeviceBackend& backend = backend_for(context.device);
  backend.check_reserve(cell, options, args, sizes, context);
  backend.backward(cell, options, args, sizes, context);
}

}  // namespace rnnkit
