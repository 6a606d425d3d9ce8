// Streaming inference: one recurrent layer advanced a step (or a chunk of steps) per call, for
// real-time audio and online inference.
//
// A Stream is built once from a CellSpec, the batch size, the dtype and the weights (in the Keras
// layout of sequence.h). It packs the weights into the layout its step kernel reads and owns the
// state (h, and c for LSTM); after construction no call allocates. It runs on the calling thread.
//
// Results equal rnnkit::forward's (inference, no dropout) bit for bit: the same products summed
// in the same order and the cell arithmetic of the same code, so T calls of step() give what one
// forward() over the T steps gives, final states included.
//
//   rnnkit::Stream lstm(cell, rnnkit::DType::float32, /*batch=*/1, kernel, recurrent_kernel, bias);
//   for (...) lstm.step(x_t, h_t);  // x_t [1, I] in, h_t [1, H] out
//
// Every call checks its tensors (dtype, device, shape, layout) against the stream and throws
// InvalidArgument / TypeMismatch naming the argument, the expected and the actual values, before
// touching any state. Not thread-safe: one Stream per thread (they may share nothing else).
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "rnnkit/cell.h"
#include "rnnkit/tensor.h"

namespace rnnkit {

// How a float32 stream stores its packed weights (kernel and recurrent_kernel; the bias stays in
// the stream's dtype). The arithmetic and the states are float32 in every format.
//   float32   the default: results equal forward()'s bit for bit.
//   bfloat16  each weight rounded to the nearest bfloat16 (ties to even) once, when packed.
//   float16   each weight rounded to the nearest IEEE half (ties to even) once, when packed.
// A 16-bit stream reads half the bytes per step. Its results equal, bit for bit, those of a
// float32 stream (or forward()) given the weights already rounded to that format: the same
// products in the same order, only the weights differ. Against the unrounded weights each weight
// moves by at most u relative (u = 2^-8 for bfloat16, 2^-11 for float16; float16 subnormals, below
// 2^-14, by at most 2^-25 absolute), so a pre-activation moves by at most
// u * (sum_k |x_k W_kj| + sum_k |h_k R_kj|) per step (first order; docs/cpp.md).
// A weight whose rounding is not finite (NaN, infinite, or beyond the format's range: 65504 for
// float16) is refused with InvalidArgument. Only for float32 streams: a float64 stream with a
// 16-bit format is refused.
enum class WeightFormat { float32, bfloat16, float16 };

// "float32", "bfloat16", "float16"; InvalidArgument for a value outside the enum.
const char* weight_format_name(WeightFormat format);
// The inverse; InvalidArgument naming `argument` for an unknown name.
WeightFormat weight_format_from_name(const std::string& name,
                                     const char* argument = "weight_format");

struct StreamOptions {
  // run() with a mask: masked steps output zeros instead of repeating the previous output.
  bool zero_output_for_mask = false;
  // The packed weights' storage (see WeightFormat).
  WeightFormat weight_format = WeightFormat::float32;
};

class Stream {
 public:
  // kernel [I, G*H], recurrent_kernel [H, G*H], bias [G*H] ([2, 3H] for GRU with reset_after;
  // absent when !cell.use_bias), all of `dtype` (float32 or float64) in host memory. The weights
  // are copied (packed): the views need not outlive the constructor. States start at zero.
  Stream(const CellSpec& cell, DType dtype, std::int64_t batch, const TensorView& kernel,
         const TensorView& recurrent_kernel, const TensorView& bias = {},
         const StreamOptions& options = {});
  ~Stream();
  Stream(Stream&&) noexcept;
  Stream& operator=(Stream&&) noexcept;
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;

  // Repacks new weights of the same shapes (no allocation); the states are kept.
  void set_weights(const TensorView& kernel, const TensorView& recurrent_kernel,
                   const TensorView& bias = {});

  // One step: x_t [B, I] in, output [B, H] out (the new h). output may not alias x_t.
  void step(const TensorView& x_t, const TensorView& output);

  // T steps: x [B, T, I] in; output [B, T, H] (every step's output) or [B, H] (the last one).
  // mask [B, T] uint8 (optional, 0 = skip): a masked step keeps the states and outputs the
  // previous output of this call (zeros before its first real step), or zeros with
  // zero_output_for_mask, as forward() does.
  void run(const TensorView& x, const TensorView& output, const TensorView& mask = {});

  // States to zero.
  void reset_states();
  // Copies h [B, H] (and, for LSTM, c [B, H]; zeros when absent) into the stream's states.
  void set_states(const TensorView& h, const TensorView& c = {});
  // Copies the current states out: h [B, H], and c [B, H] for LSTM (optional; not overlapping h).
  void states(const TensorView& h, const TensorView& c = {}) const;

  const CellSpec& cell() const;
  DType dtype() const;
  std::int64_t batch() const;
  WeightFormat weight_format() const;

  // The per-dtype implementation (cpu/stream.cpp).
  class Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace rnnkit
