// Argument checks shared by every backend: everything a kernel may assume is proven here first.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>

#include "rnnkit/cell.h"
#include "rnnkit/context.h"
#include "rnnkit/sequence.h"
#include "rnnkit/tensor.h"

namespace rnnkit {

std::string shape_string(const TensorView& view);

// The sizes every tensor of one call is checked against.
struct CallSizes {
  std::int64_t batch = 0, timesteps = 0;
  DType dtype = DType::float32;
  Device device = Device::cpu;
};

void validate_cell(const CellSpec& cell);

// a * b for non-negative sizes; throws InvalidArgument naming `what` (and both factors) when the
// product does not fit in int64.
std::int64_t checked_mul(std::int64_t a, std::int64_t b, const char* what);

// Proves that every size the memory queries, the scratch carving and the kernels derive from the
// cell and (batch, timesteps) fits in int64 (with room for the byte counts), so no later
// multiplication wraps and no division sees a wrapped 0. Throws InvalidArgument naming the
// largest extent and all the sizes. Call after validate_cell and the positivity checks.
void validate_dims(const CellSpec& cell, std::int64_t batch, std::int64_t timesteps);

// Throws unless `view` is present (when required), has `dtype` and `device`, the exact shape,
// is C-contiguous and aligned to its element size. `name` is the argument's name.
void expect_tensor(const TensorView& view, const char* name, DType dtype, Device device,
                   std::initializer_list<std::int64_t> shape);

// Input dropout ([B, I] or [G, B, I]) or recurrent dropout ([B, H] or [G, B, H]); returns how many
// distinct masks it holds (1 or G), or 0 when absent.
int expect_dropout(const TensorView& view, const char* name, const CellSpec& cell,
                   const CallSizes& sizes, std::int64_t width);

// Every tensor is checked against x, and x against the context: its device (and, for CUDA, the
// GPU index of every tensor).
CallSizes validate_forward(const CellSpec& cell, const SequenceOptions& options,
                           const ForwardArgs& args, const ExecutionContext& context);
CallSizes validate_backward(const CellSpec& cell, const SequenceOptions& options,
                            const BackwardArgs& args, const ExecutionContext& context);

}  // namespace rnnkit
