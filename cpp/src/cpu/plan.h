// Memory layout of one forward or backward call on the CPU: the reserve that forward leaves for
// backward, and the scratch each one carves from its workspace. Both the memory queries and the
// kernels call these, so sizes and layouts cannot drift apart.
#pragma once

#include <algorithm>
#include <cstdint>

#include "cpu/arena.h"
#include "cpu/gemm.h"
#include "rnnkit/cell.h"
#include "rnnkit/sequence.h"

namespace rnnkit::cpu {

struct Dims {
  std::int64_t B, T, I, H, G, GH;
  Dims(const CellSpec& cell, std::int64_t batch, std::int64_t timesteps)
      : B(batch), T(timesteps), I(cell.input_size), H(cell.units), G(cell.gates()),
        GH(cell.gates() * cell.units) {}
};

inline bool has_candidate_projection(const CellSpec& cell) {
  return cell.kind == CellKind::gru && cell.reset_after;
}

// Saved by a training forward, all batch-major in the ORIGINAL time index t (whatever the
// processing order), so that X, dA and the saved states line up row by row for the weight GEMMs.
template <typename T>
struct Reserve {
  T* pre;     // [B, T, G*H] gate pre-activations (GRU: z, r, candidate incl. r * (h R_h + b_rh))
  T* h_prev;  // [B, T, H]   h before the step that read x_t
  T* c_prev;  // [B, T, H]   LSTM: c before that step
  T* hh;      // [B, T, H]   GRU reset_after: h_{t-1} R_h + b_rh, the term the reset gate scales

  // Reserve is a plain element array: no alignment padding between its parts.
  static std::int64_t elements(const CellSpec& cell, const Dims& d) {
    const std::int64_t rows = d.B * d.T;
    return rows * (d.GH + d.H * (1 + (cell.kind == CellKind::lstm) + has_candidate_projection(cell)));
  }
  static Reserve at(T* base, const CellSpec& cell, const Dims& d) {
    Reserve r{};
    const std::int64_t rows = d.B * d.T;
    r.pre = base;
    r.h_prev = r.pre + rows * d.GH;
    T* next = r.h_prev + rows * d.H;
    r.c_prev = cell.kind == CellKind::lstm ? next : nullptr;
    if (r.c_prev) next += rows * d.H;
    r.hh = has_candidate_projection(cell) ? next : nullptr;
    return r;
  }
};

// Timesteps whose input projection is computed at once. Training projects the whole sequence
// straight into the reserve; inference bounds the buffer to about kChunkElements.
inline std::int64_t projection_chunk(const Dims& d, bool training) {
  constexpr std::int64_t kChunkElements = std::int64_t(1) << 23;
  if (training) return d.T;
  return std::clamp<std::int64_t>(kChunkElements / (d.B * d.GH), 1, d.T);
}

template <typename T>
struct ForwardScratch {
  T* packed_recurrent;  // G blocks of PackedPanels [H, H]
  T* zeros;             // [2 * G * H]: stands in for an absent bias
  T* proj;              // [B, chunk, G*H] input projection (inference only; training uses reserve)
  T* x_chunk;           // [B, chunk, I] copied / dropout-masked input
  T* recurrent;         // [B, G*H] h_{t-1} R of the current step
  T* h[2];              // [B, H] ping-pong state
  T* c;                 // [B, H] LSTM carry
  T* last_output;       // [B, H]
  T* dropped_h[2];      // [G, B, H] ping-pong h_{t-1} * recurrent_dropout[g]
  T* reset_h;           // [B, H] GRU reset_after=False: r * h_{t-1}, the candidate GEMM's input
  T* gates;             // [B, G + 2, H] activated gates, per row (threads may split rows or units)

  static ForwardScratch carve(Arena& arena, const CellSpec& cell, const SequenceOptions& options,
                              const Dims& d) {
    ForwardScratch s{};
    const std::int64_t chunk = projection_chunk(d, options.training);
    s.packed_recurrent = arena.take<T>(d.G * PackedPanels<T>::elements_for(d.H, d.H));
    s.zeros = arena.take<T>(2 * d.GH);
    s.proj = options.training ? nullptr : arena.take<T>(d.B * chunk * d.GH);
    s.x_chunk = arena.take<T>(d.B * chunk * d.I);
    s.recurrent = arena.take<T>(d.B * d.GH);
    s.h[0] = arena.take<T>(d.B * d.H);
    s.h[1] = arena.take<T>(d.B * d.H);
    s.c = cell.kind == CellKind::lstm ? arena.take<T>(d.B * d.H) : nullptr;
    s.last_output = arena.take<T>(d.B * d.H);
    s.dropped_h[0] = arena.take<T>(d.G * d.B * d.H);
    s.dropped_h[1] = arena.take<T>(d.G * d.B * d.H);
    s.reset_h = arena.take<T>(d.B * d.H);
    s.gates = arena.take<T>(d.B * (d.G + 2) * d.H);
    return s;
  }
};

template <typename T>
struct BackwardScratch {
  T* packed_recurrent_t;  // PackedPanels of R^T: [G*H, H]
  T* d_pre;               // [B, T, G*H] gradient of the gate pre-activations (input side)
  T* d_rec;               // [B, T, G*H] GRU reset_after: gradient of h R + b_r (recurrent side)
  T* dh;                  // [B, H] gradient of the state h after the current step
  T* dc;                  // [B, H] LSTM: gradient of c after the current step
  T* carry;               // [B, H] output gradient carried back through masked steps
  T* direct;              // [B, H] gradient of h_{t-1} through paths other than R
  T* tmp;                 // [B, H]
  T* seq_x[2];            // [B, T, I] dropout-masked x, and one gate's d_x
  T* seq_h;               // [B, T, H] dropout-masked h_{t-1}, or GRU's r * h_{t-1}
  T* gates;               // [B, 2 * G + 6, H] per-row temporaries

  static BackwardScratch carve(Arena& arena, const CellSpec& cell, const Dims& d) {
    BackwardScratch s{};
    const std::int64_t rows = d.B * d.T;
    s.packed_recurrent_t = arena.take<T>(PackedPanels<T>::elements_for(d.GH, d.H));
    s.d_pre = arena.take<T>(rows * d.GH);
    s.d_rec = has_candidate_projection(cell) ? arena.take<T>(rows * d.GH) : nullptr;
    s.dh = arena.take<T>(d.B * d.H);
    s.dc = arena.take<T>(d.B * d.H);
    s.carry = arena.take<T>(d.B * d.H);
    s.direct = arena.take<T>(d.B * d.H);
    s.tmp = arena.take<T>(d.B * d.H);
    s.seq_x[0] = arena.take<T>(rows * d.I);
    s.seq_x[1] = arena.take<T>(rows * d.I);
    s.seq_h = arena.take<T>(rows * d.H);
    s.gates = arena.take<T>(d.B * (2 * d.G + 6) * d.H);
    return s;
  }
};

}  // namespace rnnkit::cpu
