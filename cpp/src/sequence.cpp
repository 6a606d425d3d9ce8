// The public entry points: validate once, then dispatch on device and dtype.
#include "rnnkit/sequence.h"

#include "cpu/kernels.h"
#include "cpu/plan.h"
#include "plan/sequence_plan.h"
#include "rnnkit/error.h"
#include "validate.h"

namespace rnnkit {

namespace {

void expect_sizes(std::int64_t batch, std::int64_t timesteps) {
  if (batch < 1 || timesteps < 1) {
    throw InvalidArgument("x must have at least one sample and one timestep, got batch=" +
                          std::to_string(batch) + ", timesteps=" + std::to_string(timesteps));
  }
}

void expect_cpu(Device device) {
  if (device != Device::cpu) {
    throw TypeMismatch("tensors are on a CUDA device, but this rnnkit build has no CUDA backend");
  }
}

template <typename T>
MemorySizes forward_memory_of(const CellSpec& cell, const SequenceOptions& options,
                              const plan::Dims& d) {
  cpu::Arena arena;
  cpu::ForwardScratch<T>::carve(arena, cell, options, d);
  MemorySizes sizes;
  sizes.workspace_bytes = arena.bytes();
  sizes.reserve_elements = options.training ? plan::Reserve<T>::elements(cell, d) : 0;
  return sizes;
}

template <typename T>
MemorySizes backward_memory_of(const CellSpec& cell, const plan::Dims& d) {
  cpu::Arena arena;
  cpu::BackwardScratch<T>::carve(arena, cell, d);
  MemorySizes sizes;
  sizes.workspace_bytes = arena.bytes();
  return sizes;
}

}  // namespace

MemorySizes forward_memory(const CellSpec& cell, const SequenceOptions& options, DType dtype,
                           std::int64_t batch, std::int64_t timesteps) {
  validate_cell(cell);
  expect_sizes(batch, timesteps);
  validate_dims(cell, batch, timesteps);
  const plan::Dims d(cell, batch, timesteps);
  switch (dtype) {
    case DType::float32: return forward_memory_of<float>(cell, options, d);
    case DType::float64: return forward_memory_of<double>(cell, options, d);
    default: throw TypeMismatch(std::string("dtype must be float32 or float64, got ") + dtype_name(dtype));
  }
}

MemorySizes backward_memory(const CellSpec& cell, const SequenceOptions& options, DType dtype,
                            std::int64_t batch, std::int64_t timesteps) {
  (void)options;
  validate_cell(cell);
  expect_sizes(batch, timesteps);
  validate_dims(cell, batch, timesteps);
  const plan::Dims d(cell, batch, timesteps);
  switch (dtype) {
    case DType::float32: return backward_memory_of<float>(cell, d);
    case DType::float64: return backward_memory_of<double>(cell, d);
    default: throw TypeMismatch(std::string("dtype must be float32 or float64, got ") + dtype_name(dtype));
  }
}

void forward(const CellSpec& cell, const SequenceOptions& options, const ForwardArgs& args) {
  const CallSizes sizes = validate_forward(cell, options, args);
  expect_cpu(sizes.device);
  if (sizes.dtype == DType::float32) {
    cpu::forward<float>(cell, options, args, sizes);
  } else {
    cpu::forward<double>(cell, options, args, sizes);
  }
}

void backward(const CellSpec& cell, const SequenceOptions& options, const BackwardArgs& args) {
  const CallSizes sizes = validate_backward(cell, options, args);
  expect_cpu(sizes.device);
  if (sizes.dtype == DType::float32) {
    cpu::backward<float>(cell, options, args, sizes);
  } else {
    cpu::backward<double>(cell, options, args, sizes);
  }
}

}  // namespace rnnkit
