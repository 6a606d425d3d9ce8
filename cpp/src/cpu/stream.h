// The CPU kernel behind rnnkit::Stream (rnnkit/stream.h): packed weights, the states and the step
// loop of one cell and dtype. Arguments reach it already validated (src/stream.cpp).
#pragma once

#include <cstdint>
#include <memory>

#include "rnnkit/cell.h"
#include "rnnkit/stream.h"
#include "rnnkit/tensor.h"

namespace rnnkit::cpu {

class StreamKernel {
 public:
  virtual ~StreamKernel() = default;
  // Weights in the Keras layout (sequence.h); bias null when the cell has none.
  virtual void set_weights(const void* kernel, const void* recurrent_kernel, const void* bias) = 0;
  // x [B, steps, I]; out [B, steps, H] when `sequences`, else [B, H]; mask [B, steps] or null.
  virtual void run(const void* x, std::int64_t steps, void* out, bool sequences,
                   const std::uint8_t* mask) = 0;
  virtual void reset_states() = 0;
  // h [B, H]; c [B, H] or null (zeros) for LSTM.
  virtual void set_states(const void* h, const void* c) = 0;
  virtual void states(void* h, void* c) const = 0;
};

// Allocates everything the kernel will ever use; the states start at zero.
std::unique_ptr<StreamKernel> make_stream_kernel(const CellSpec& cell, DType dtype,
                                                 std::int64_t batch, const StreamOptions& options);

}  // namespace rnnkit::cpu
