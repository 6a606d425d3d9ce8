// The GPU's scratch of one forward or backward call, carved from its device workspace (the
// reserve layout and Dims, shared with the CPU, are in plan/sequence_plan.h). The memory queries
// and the kernels both call these, so sizes and layouts cannot drift apart. Every buffer is
// batch-major; [B, T, .] buffers are indexed by the ORIGINAL time t, like the reserve.
#pragma once

#include <cstdint>

#include "plan/arena.h"
#include "plan/reserve_stamp.h"
#include "plan/sequence_plan.h"
#include "rnnkit/cell.h"
#include "rnnkit/sequence.h"

namespace rnnkit::cuda {

using plan::Arena;
using plan::Dims;
using plan::has_candidate_projection;
using plan::Reserve;

template <typename T>
struct ForwardScratch {
  T* zeros;         // [2 * G*H] stands in for an absent bias
  T* proj;          // [B, T, G*H] input projection (inference; training projects into the reserve)
  T* x_masked;      // [B, T, I] x times one input dropout mask
  T* recurrent;     // [B, G*H] h_{t-1} R of the current step
  T* h[2];          // [B, H] ping-pong state
  T* c;             // [B, H] LSTM carry
  T* last_output;   // [B, H] the output masked steps repeat
  T* dropped_h[2];  // [G, B, H] ping-pong h_{t-1} * recurrent_dropout[g]
  T* reset_h;       // [B, H] reset-before GRU: r * h_{t-1}, the candidate GEMM's input

  static ForwardScratch carve(Arena& arena, const CellSpec& cell, const SequenceOptions& options,
                              const Dims& d) {
    ForwardScratch s{};
    const std::int64_t rows = d.B * d.T, n = d.B * d.H;
    s.zeros = arena.take<T>(2 * d.GH);
    s.proj = options.training ? nullptr : arena.take<T>(rows * d.GH);
    s.x_masked = arena.take<T>(rows * d.I);
    s.recurrent = arena.take<T>(d.B * d.GH);
    s.h[0] = arena.take<T>(n);
    s.h[1] = arena.take<T>(n);
    s.c = cell.kind == CellKind::lstm ? arena.take<T>(n) : nullptr;
    s.last_output = arena.take<T>(n);
    s.dropped_h[0] = arena.take<T>(d.G * n);
    s.dropped_h[1] = arena.take<T>(d.G * n);
    s.reset_h = arena.take<T>(n);
    return s;
  }
};

template <typename T>
struct BackwardScratch {
  T* d_pre;     // [B, T, G*H] gradient of the gate pre-activations (input side)
  T* d_rec;     // [B, T, G*H] GRU reset_after: recurrent-side gate gradients; else null
  T* dh;        // [B, H] gradient of h after the current step (all paths)
  T* dc;        // [B, H] LSTM: gradient of c after the current step
  T* carry;     // [B, H] output gradient carried back through masked steps
  T* direct;    // [B, H] gradient of h_{t-1} by paths other than R
  T* tmp;       // [B, H] one GEMM's result before its dropout mask / the reset GEMM's q
  T* dh_total;  // [B, H] the gradient of h_t the cell's backward reads
  T* seq_x[2];  // [B, T, I] dropout-masked x, and one gate's d_x
  T* seq_h;     // [B, T, H] dropout-masked h_{t-1}, or reset-before GRU's r * h_{t-1}
  T* ones;      // [B * T] the bias gradient is the GEMM ones^T dA (fixed order, no atomics)
  std::uint64_t* stamp;  // [kStampWords + 1] the reserve's stamp and this call's fingerprint

  static BackwardScratch carve(Arena& arena, const CellSpec& cell, const Dims& d) {
    BackwardScratch s{};
    const std::int64_t rows = d.B * d.T, n = d.B * d.H;
    s.d_pre = arena.take<T>(rows * d.GH);
    s.d_rec = has_candidate_projection(cell) ? arena.take<T>(rows * d.GH) : nullptr;
    s.dh = arena.take<T>(n);
    s.dc = arena.take<T>(n);
    s.carry = arena.take<T>(n);
    s.direct = arena.take<T>(n);
    s.tmp = arena.take<T>(n);
    s.dh_total = arena.take<T>(n);
    s.seq_x[0] = arena.take<T>(rows * d.I);
    s.seq_x[1] = arena.take<T>(rows * d.I);
    s.seq_h = arena.take<T>(rows * d.H);
    s.ones = arena.take<T>(rows);
    s.stamp = arena.take<std::uint64_t>(plan::kStampWords + 1);
    return s;
  }
};

}  // namespace rnnkit::cuda
