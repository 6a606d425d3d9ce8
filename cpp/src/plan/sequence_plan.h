// The forward -> backward contract of one recurrent layer, the same on every device: the sizes a
// call works with (Dims) and the layout of the reserve that a training forward leaves for backward.
// Both the memory queries and every backend's kernels use these, so the reserve a forward fills is
// the one any backward reads. Device-specific scratch (workspace carving) lives in each backend
// (cpu/plan.h).
#pragma once

#include <cstdint>

#include "rnnkit/cell.h"

namespace rnnkit::plan {

// What the memory queries and the kernels size everything from: the cell and (B, T).
struct Dims {
  std::int64_t B, T, I, H, G, GH;
  Dims(const CellSpec& cell, std::int64_t batch, std::int64_t timesteps)
      : B(batch), T(timesteps), I(cell.input_size), H(cell.units), G(cell.gates()),
        GH(cell.gates() * cell.units) {}
};

// GRU with reset_after: the candidate's recurrent term h R_h + b_rh is kept apart (reserve.hh,
// recurrent-side gate gradients, the [2, 3H] bias).
inline bool has_candidate_projection(const CellSpec& cell) {
  return cell.kind == CellKind::gru && cell.reset_after;
}

// The reserve's trailer: the forward call's stamp (plan/reserve_stamp.h).
inline constexpr std::int64_t kReserveStampElements = 16;

// Saved by a training forward, all batch-major in the ORIGINAL time index t (whatever the
// processing order), so that X, dA and the saved states line up row by row for the weight GEMMs.
template <typename T>
struct Reserve {
  T* pre;     // [B, T, G*H] gate pre-activations (GRU: z, r, candidate incl. r * (h R_h + b_rh))
  T* h_prev;  // [B, T, H]   h before the step that read x_t
  T* c_prev;  // [B, T, H]   LSTM: c before that step
  T* hh;      // [B, T, H]   GRU reset_after: h_{t-1} R_h + b_rh, the term the reset gate scales

  // Reserve is a plain element array: no alignment padding between its parts. Its last
  // kStampElements elements hold the forward call's stamp (reserve_stamp.h).
  static std::int64_t elements(const CellSpec& cell, const Dims& d) {
    const std::int64_t rows = d.B * d.T;
    return rows * (d.GH + d.H * (1 + (cell.kind == CellKind::lstm) + has_candidate_projection(cell))) +
           kReserveStampElements;
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

// Reserve<T>::elements without a dtype: the count is the same for float32 and float64.
inline std::int64_t reserve_elements(const CellSpec& cell, const Dims& d) {
  return Reserve<float>::elements(cell, d);
}

}  // namespace rnnkit::plan
