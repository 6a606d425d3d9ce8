// The stamp a training forward leaves at the end of its reserve, and backward checks before it
// reads anything: the call's sizes, cell, options and dtype, and a fingerprint of its inputs. A
// reserve of the right size from ANOTHER forward call (other inputs, another go_backwards, ...)
// would otherwise give silently wrong gradients.
//
// The fingerprint covers what backward reads besides the reserve -- x, the mask, the dropout
// masks, kernel and recurrent_kernel -- not the initial states or the bias, which only the
// forward reads (a stateful layer may overwrite its state arrays between the two calls). It
// hashes the bits of up to 16 evenly spaced elements of each, and their sizes: O(1) per
// call whatever the sizes, the same on every device (RNNKIT_HD, bit patterns only), and it tells
// any two unrelated arrays apart; it is a check against mistakes, not against an adversary who
// edits one element.
#pragma once

#include <cstdint>
#include <cstring>

#include "kernels/cell_math.h"
#include "plan/sequence_plan.h"
#include "rnnkit/cell.h"
#include "rnnkit/sequence.h"

namespace rnnkit::plan {

// Trailer elements (of the reserve's dtype) holding the stamp's words: 64 bytes for float32.
inline constexpr std::int64_t kStampElements = kReserveStampElements;
inline constexpr int kStampWords = 8;
inline constexpr std::uint64_t kStampMagic = 0x31565352'4b4e5252ULL;  // "RRNKRSV1"

struct ReserveStamp {
  // 0 magic, 1 cell and options, 2 B, 3 T, 4 I, 5 H, 6 inputs' fingerprint, 7 unused (0).
  std::uint64_t words[kStampWords];
};

RNNKIT_HD RNNKIT_INLINE std::uint64_t stamp_mix(std::uint64_t h, std::uint64_t v) {
  h ^= v + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
  h ^= h >> 31;
  h *= 0xbf58476d1ce4e5b9ULL;
  return h ^ (h >> 29);
}

// Hash of `n` elements of `data` (each 1, 4 or 8 bytes wide, aligned to that): n and up to
// kSamples evenly spaced ones (the first and the last among them).
RNNKIT_HD inline std::uint64_t fingerprint(const void* data, std::int64_t n, int bytes,
                                           std::uint64_t h) {
  constexpr std::int64_t kSamples = 16;
  h = stamp_mix(h, static_cast<std::uint64_t>(n));
  if (!data || n <= 0) return stamp_mix(h, 0x5eed);
  const std::int64_t count = n < kSamples ? n : kSamples;
  for (std::int64_t k = 0; k < count; ++k) {
    const std::int64_t i = count == 1 ? 0 : k * (n - 1) / (count - 1);
    std::uint64_t v;
    if (bytes == 8) v = static_cast<const std::uint64_t*>(data)[i];
    else if (bytes == 4) v = static_cast<const std::uint32_t*>(data)[i];
    else v = static_cast<const unsigned char*>(data)[i];
    h = stamp_mix(h, v);
  }
  return h;
}

// The inputs a forward call and its backward call share that backward reads, as the
// fingerprint sees them.
inline constexpr int kStampInputs = 6;
struct StampInputs {
  const void* data[kStampInputs];
  std::int64_t count[kStampInputs];
  int bytes[kStampInputs];
};

template <typename Args>
StampInputs stamp_inputs(const Args& a) {
  const TensorView* views[kStampInputs] = {&a.x, &a.mask, &a.input_dropout, &a.recurrent_dropout,
                                           &a.kernel, &a.recurrent_kernel};
  StampInputs in{};
  for (int k = 0; k < kStampInputs; ++k) {
    const TensorView& v = *views[k];
    in.data[k] = v.present() ? v.data : nullptr;
    in.count[k] = v.present() ? v.numel() : -1;
    in.bytes[k] = static_cast<int>(dtype_size(v.dtype));
  }
  return in;
}

// The fingerprint of all inputs (host or device code; device code reads device memory).
RNNKIT_HD inline std::uint64_t fingerprint_inputs(const StampInputs& in) {
  std::uint64_t h = 0x243f6a8885a308d3ULL;
  for (int k = 0; k < kStampInputs; ++k) h = fingerprint(in.data[k], in.count[k], in.bytes[k], h);
  return h;
}

inline ReserveStamp make_stamp(const CellSpec& cell, const SequenceOptions& options, DType dtype,
                               const Dims& d, std::uint64_t inputs_fingerprint) {
  ReserveStamp s{};
  s.words[0] = kStampMagic;
  s.words[1] = static_cast<std::uint64_t>(cell.kind) | std::uint64_t(cell.reset_after) << 8 |
               static_cast<std::uint64_t>(cell.activation) << 16 |
               static_cast<std::uint64_t>(cell.recurrent_activation) << 24 |
               static_cast<std::uint64_t>(dtype) << 32 | std::uint64_t(cell.use_bias) << 40 |
               std::uint64_t(options.go_backwards) << 41 |
               std::uint64_t(options.return_sequences) << 42 |
               std::uint64_t(options.zero_output_for_mask) << 43;
  s.words[2] = static_cast<std::uint64_t>(d.B);
  s.words[3] = static_cast<std::uint64_t>(d.T);
  s.words[4] = static_cast<std::uint64_t>(d.I);
  s.words[5] = static_cast<std::uint64_t>(d.H);
  s.words[6] = inputs_fingerprint;
  return s;
}

// Where the stamp lives: the first 64 bytes of the reserve's last kStampElements elements.
inline std::int64_t stamp_offset_bytes(const CellSpec& cell, const Dims& d, DType dtype) {
  return (reserve_elements(cell, d) - kStampElements) * dtype_size(dtype);
}

// Throws InvalidArgument, saying what differs, unless `found` (read from the reserve) is the
// stamp `expected` of this backward call.
void check_stamp(const ReserveStamp& expected, const ReserveStamp& found);

}  // namespace rnnkit::plan
