// Each cell's pointwise arithmetic, written once: one struct per cell with its forward step and
// its backward step for ONE lane of units (unit j, or the units j .. j + lanes - 1 of a SIMD
// packet). The structs are templated on an Ops type that supplies the lane type and what the
// arithmetic operators do not:
//
//   using V = ...;  using S = ...;             // the lane (float packet, float, double) and its scalar
//   static V load(const S* p);                 // lanes p[0 .. lanes)
//   static void store(S* p, V v);
//   static V splat(S s);                       // every lane s
//   static V madd(V a, V b, V c);              // a * b + c with one rounding (fused multiply-add)
//   static constexpr bool kGruFusesZh;         // see detail::gru_update
//   static constexpr bool kResetGradFusesQr;   // see GruResetBeforeCell::backward_reset
//   static V act(Activation f, V x);           // f(x)
//   static V act_grad(Activation f, V x, V& d);  // f(x), and d = f'(x)
//
// so the same code serves the CPU's float32 SIMD packets, its float64 and its scalar tail
// (cpu/lanes.h), and could serve a GPU's pointwise kernels: no std:: containers, no exceptions,
// no Eigen here, and every function is RNNKIT_HD.
//
// A row structure (ForwardRow / BackwardRow) points at one batch row of one step (unit 0); the
// caller does everything that is not the cell's: the mask select, outputs, saved h, dropout of
// the next h (forward), and the output / masked-step gradients (backward). A forward step returns
// the new h and hands back h_{t-1}, loaded where the cell needs it (keeping it live across the
// activations would spill it).
#pragma once

#include <cstdint>

#include "rnnkit/activation.h"
#include "rnnkit/cell.h"

#if defined(__CUDACC__)
#define RNNKIT_HD __host__ __device__
#define RNNKIT_INLINE __forceinline__
#elif defined(__GNUC__)
#define RNNKIT_HD
#define RNNKIT_INLINE inline __attribute__((always_inline))
#else
#define RNNKIT_HD
#define RNNKIT_INLINE inline
#endif

namespace rnnkit::kernels {

struct CellActivations {
  Activation act;   // activation (candidate, cell state, SimpleRNN output)
  Activation gate;  // recurrent_activation (GRU and LSTM gates)
};

// One batch row of one forward step; every pointer at unit 0 of its row. Gate blocks [G*H] are
// in the Keras order (LSTM i, f, c, o; GRU z, r, h).
template <typename S>
struct ForwardRow {
  S* pre;             // [G*H] in: x_t W (no bias); out, when keep_sums: the summed gate
                      // pre-activations
  const S* rec;       // [G*H] h_{t-1} R (reset-before GRU, candidate block: (r * h_{t-1}) R_h)
  const S* h_prev;    // [H] h_{t-1}
  const S* bias_in;   // [G*H] input bias (zeros when absent)
  const S* bias_rec;  // [G*H] GRU reset_after: recurrent bias (zeros when absent)
  const S* h_gemm;    // [H] reset-before GRU: h_{t-1} as the candidate's GEMM reads it (dropout)
  S* reset_h;         // [H] reset-before GRU, out: r * h_gemm, the candidate GEMM's input
  S* c;               // [H] LSTM: c_{t-1} in; c_t out on real (unmasked) steps
  S* saved_c;         // [H] LSTM, training: out c_{t-1}; else null
  S* saved_hh;        // [H] GRU reset_after, training: out h_{t-1} R_h + b_rh; else null
  bool real;          // the step is not masked
  bool keep_sums;     // training: pre must hold the sums afterwards (the reserve); inference
                      // skips those stores (a cell that reads a sum back stores it anyway)
  std::int64_t H;
};

// One batch row of one backward step, from the forward's reserve.
template <typename S>
struct BackwardRow {
  const S* pre;     // [G*H] the saved gate pre-activations
  const S* h_prev;  // [H] the saved h_{t-1}
  const S* c_prev;  // [H] LSTM: the saved c_{t-1}
  const S* hh;      // [H] GRU reset_after: the saved h_{t-1} R_h + b_rh
  const S* dh;      // [H] gradient of h_t, all paths
  S* dc;            // [H] LSTM: gradient of c_t in, of c_{t-1} out
  S* dpre;          // [G*H] out: gradient of the gate pre-activations (input side)
  S* drec;          // [G*H] GRU reset_after, out: recurrent-side gradients
  S* direct;        // [H] out: gradient of h_{t-1} by paths other than R
  const S* q;       // [H] reset-before GRU: dL/d(r * h_in), from the candidate's GEMM
  const S* mask_h;  // [H] reset-before GRU: the candidate gate's recurrent dropout, or null
  S* reset_h;       // [H] reset-before GRU, out: r * h_in (for dR_h)
  std::int64_t H;
};

namespace detail {

// GRU's state update h_t = z * h_{t-1} + (1 - z) * n, one product fused into the sum. Which one
// is the lane type's choice (Ops::kGruFusesZh), kept from before the cell structs so that results
// did not change: the float32 packets fused (1 - z) * n, the per-unit code z * h_{t-1}.
template <class Ops>
RNNKIT_HD RNNKIT_INLINE typename Ops::V gru_update(typename Ops::V z, typename Ops::V h_prev,
                                                   typename Ops::V n) {
  if constexpr (Ops::kGruFusesZh) return Ops::madd(z, h_prev, (Ops::splat(1) - z) * n);
  else return Ops::madd(Ops::splat(1) - z, n, z * h_prev);
}

// pre[k] + (bias_in[k] + rec[k] + bias_rec[k]), stored back into pre when r.keep_sums (or
// kKeep: the cell reads it back). Without a recurrent bias the last term is a zero lane (adding
// it keeps the sum's rounding the same as with one).
template <class Ops, bool kRecurrentBias, bool kKeep = false>
RNNKIT_HD RNNKIT_INLINE typename Ops::V gate_sum(const ForwardRow<typename Ops::S>& r,
                                                 std::int64_t k) {
  using V = typename Ops::V;
  const V br = kRecurrentBias ? Ops::load(r.bias_rec + k) : Ops::splat(0);
  const V a = Ops::load(r.pre + k) + (Ops::load(r.bias_in + k) + Ops::load(r.rec + k) + br);
  if (kKeep || r.keep_sums) Ops::store(r.pre + k, a);
  return a;
}

// GRU's update h = z * h_{t-1} + (1 - z) * n, backward: the z and candidate gradients and the
// direct path z * dh. Returns the candidate gradient; da_z is the z gradient.
template <class Ops>
RNNKIT_HD RNNKIT_INLINE typename Ops::V gru_update_backward(CellActivations f,
                                                            const BackwardRow<typename Ops::S>& r,
                                                            std::int64_t j, typename Ops::V dh,
                                                            typename Ops::V& da_z) {
  using V = typename Ops::V;
  const std::int64_t H = r.H;
  V dz, dcand;
  const V z = Ops::act_grad(f.gate, Ops::load(r.pre + j), dz);
  const V cand = Ops::act_grad(f.act, Ops::load(r.pre + 2 * H + j), dcand);
  da_z = dh * (Ops::load(r.h_prev + j) - cand) * dz;
  const V da_cand = dh * (Ops::splat(1) - z) * dcand;
  Ops::store(r.dpre + j, da_z);
  Ops::store(r.dpre + 2 * H + j, da_cand);
  Ops::store(r.direct + j, dh * z);
  return da_cand;
}

}  // namespace detail

// h_t = act(x W + b + h_{t-1} R).
struct SimpleRnnCell {
  static constexpr bool kResetBefore = false;

  // Returns the new h (before the mask select).
  template <class Ops>
  RNNKIT_HD RNNKIT_INLINE static typename Ops::V forward(CellActivations f,
                                                         const ForwardRow<typename Ops::S>& r,
                                                         std::int64_t j, typename Ops::V& h_prev) {
    const typename Ops::V h = Ops::act(f.act, detail::gate_sum<Ops, false>(r, j));
    h_prev = Ops::load(r.h_prev + j);
    return h;
  }

  template <class Ops>
  RNNKIT_HD RNNKIT_INLINE static void backward(CellActivations f,
                                               const BackwardRow<typename Ops::S>& r,
                                               std::int64_t j) {
    typename Ops::V dy;
    Ops::act_grad(f.act, Ops::load(r.pre + j), dy);
    Ops::store(r.dpre + j, Ops::load(r.dh + j) * dy);
    Ops::store(r.direct + j, Ops::splat(0));
  }
};

// i, f, o = gate(.), g = act(.); c_t = f * c_{t-1} + i * g; h_t = o * act(c_t).
struct LstmCell {
  static constexpr bool kResetBefore = false;

  template <class Ops>
  RNNKIT_HD RNNKIT_INLINE static typename Ops::V forward(CellActivations f,
                                                         const ForwardRow<typename Ops::S>& r,
                                                         std::int64_t j, typename Ops::V& h_prev) {
    using V = typename Ops::V;
    const std::int64_t H = r.H;
    V a[4];
    for (int k = 0; k < 4; ++k) a[k] = detail::gate_sum<Ops, false>(r, k * H + j);
    const V i = Ops::act(f.gate, a[0]), fg = Ops::act(f.gate, a[1]);
    const V g = Ops::act(f.act, a[2]), o = Ops::act(f.gate, a[3]);
    const V c_old = Ops::load(r.c + j);
    if (r.saved_c) Ops::store(r.saved_c + j, c_old);
    const V c_new = fg * c_old + i * g;
    if (r.real) Ops::store(r.c + j, c_new);
    const V h = o * Ops::act(f.act, c_new);
    h_prev = Ops::load(r.h_prev + j);
    return h;
  }

  template <class Ops>
  RNNKIT_HD RNNKIT_INLINE static void backward(CellActivations f,
                                               const BackwardRow<typename Ops::S>& r,
                                               std::int64_t j) {
    using V = typename Ops::V;
    const std::int64_t H = r.H;
    V di, df, dg, d_o, dtc;
    const V i = Ops::act_grad(f.gate, Ops::load(r.pre + j), di);
    const V fg = Ops::act_grad(f.gate, Ops::load(r.pre + H + j), df);
    const V g = Ops::act_grad(f.act, Ops::load(r.pre + 2 * H + j), dg);
    const V o = Ops::act_grad(f.gate, Ops::load(r.pre + 3 * H + j), d_o);
    const V cp = Ops::load(r.c_prev + j), dh = Ops::load(r.dh + j);
    const V tc = Ops::act_grad(f.act, fg * cp + i * g, dtc);
    const V dct = Ops::load(r.dc + j) + dh * o * dtc;
    Ops::store(r.dpre + j, dct * g * di);
    Ops::store(r.dpre + H + j, dct * cp * df);
    Ops::store(r.dpre + 2 * H + j, dct * i * dg);
    Ops::store(r.dpre + 3 * H + j, dh * tc * d_o);
    Ops::store(r.dc + j, dct * fg);
    Ops::store(r.direct + j, Ops::splat(0));
  }
};

// GRU, reset_after = true (Keras' default, cuDNN's): z, r = gate(x W + b_i + h R + b_r);
// n = act(x W_h + b_ih + r * (h R_h + b_rh)); h_t = z * h_{t-1} + (1 - z) * n.
struct GruCell {
  static constexpr bool kResetBefore = false;

  template <class Ops>
  RNNKIT_HD RNNKIT_INLINE static typename Ops::V forward(CellActivations f,
                                                         const ForwardRow<typename Ops::S>& r,
                                                         std::int64_t j, typename Ops::V& h_prev) {
    using V = typename Ops::V;
    const std::int64_t H = r.H;
    const V z = Ops::act(f.gate, detail::gate_sum<Ops, true>(r, j));
    const V rg = Ops::act(f.gate, detail::gate_sum<Ops, true>(r, H + j));
    const std::int64_t k = 2 * H + j;
    const V hh = Ops::load(r.rec + k) + Ops::load(r.bias_rec + k);
    if (r.saved_hh) Ops::store(r.saved_hh + j, hh);
    const V a = Ops::load(r.pre + k) + (Ops::load(r.bias_in + k) + rg * hh);
    if (r.keep_sums) Ops::store(r.pre + k, a);
    h_prev = Ops::load(r.h_prev + j);
    return detail::gru_update<Ops>(z, h_prev, Ops::act(f.act, a));
  }

  template <class Ops>
  RNNKIT_HD RNNKIT_INLINE static void backward(CellActivations f,
                                               const BackwardRow<typename Ops::S>& r,
                                               std::int64_t j) {
    using V = typename Ops::V;
    const std::int64_t H = r.H;
    const V dh = Ops::load(r.dh + j);
    V da_z;
    const V da_cand = detail::gru_update_backward<Ops>(f, r, j, dh, da_z);
    V dr;
    const V rg = Ops::act_grad(f.gate, Ops::load(r.pre + H + j), dr);
    const V da_r = da_cand * Ops::load(r.hh + j) * dr;
    Ops::store(r.dpre + H + j, da_r);
    Ops::store(r.drec + j, da_z);
    Ops::store(r.drec + H + j, da_r);
    Ops::store(r.drec + 2 * H + j, da_cand * rg);
  }
};

// GRU, reset_after = false: n = act(x W_h + b_h + (r * h_{t-1}) R_h). The candidate's GEMM needs
// r first, so each direction has two phases: forward reset_gate (z summed, r, r * h) then, after
// the candidate GEMM, forward; backward (z, candidate) then, after dL/d(r * h) = d_cand R_h^T,
// backward_reset.
struct GruResetBeforeCell {
  static constexpr bool kResetBefore = true;

  template <class Ops>
  RNNKIT_HD RNNKIT_INLINE static void reset_gate(CellActivations f,
                                                 const ForwardRow<typename Ops::S>& r,
                                                 std::int64_t j) {
    using V = typename Ops::V;
    detail::gate_sum<Ops, false, true>(r, j);  // z: activated in forward, from pre
    const V rg = Ops::act(f.gate, detail::gate_sum<Ops, false>(r, r.H + j));
    Ops::store(r.reset_h + j, rg * Ops::load(r.h_gemm + j));
  }

  template <class Ops>
  RNNKIT_HD RNNKIT_INLINE static typename Ops::V forward(CellActivations f,
                                                         const ForwardRow<typename Ops::S>& r,
                                                         std::int64_t j, typename Ops::V& h_prev) {
    using V = typename Ops::V;
    const V a = detail::gate_sum<Ops, false>(r, 2 * r.H + j);
    const V z = Ops::act(f.gate, Ops::load(r.pre + j));
    h_prev = Ops::load(r.h_prev + j);
    return detail::gru_update<Ops>(z, h_prev, Ops::act(f.act, a));
  }

  template <class Ops>
  RNNKIT_HD RNNKIT_INLINE static void backward(CellActivations f,
                                               const BackwardRow<typename Ops::S>& r,
                                               std::int64_t j) {
    typename Ops::V da_z;
    detail::gru_update_backward<Ops>(f, r, j, Ops::load(r.dh + j), da_z);
  }

  // Real steps only (a masked step's gate gradients are zero).
  template <class Ops>
  RNNKIT_HD RNNKIT_INLINE static void backward_reset(CellActivations f,
                                                     const BackwardRow<typename Ops::S>& r,
                                                     std::int64_t j) {
    using V = typename Ops::V;
    const std::int64_t H = r.H;
    V dr;
    const V rg = Ops::act_grad(f.gate, Ops::load(r.pre + H + j), dr);
    const V hp = Ops::load(r.h_prev + j), q = Ops::load(r.q + j);
    const V m = r.mask_h ? Ops::load(r.mask_h + j) : Ops::splat(1);
    const V h_in = r.mask_h ? hp * m : hp;
    Ops::store(r.reset_h + j, rg * h_in);
    Ops::store(r.dpre + H + j, q * h_in * dr);
    // Without a mask, which rounding the direct path's q * r gets is the lane type's choice
    // (Ops::kResetGradFusesQr), kept from before the cell structs: the float32 per-unit code
    // fused q * r into the sum.
    if (Ops::kResetGradFusesQr && !r.mask_h) {
      Ops::store(r.direct + j, Ops::madd(q, rg, Ops::load(r.direct + j)));
    } else {
      Ops::store(r.direct + j, Ops::load(r.direct + j) + q * rg * m);
    }
  }
};

// The one switch on the cell kind: calls fn(Cell{}) with the cell's struct.
template <typename Fn>
decltype(auto) visit_cell(const CellSpec& cell, Fn&& fn) {
  switch (cell.kind) {
    case CellKind::simple_rnn: return fn(SimpleRnnCell{});
    case CellKind::lstm: return fn(LstmCell{});
    case CellKind::gru: break;
  }
  if (cell.reset_after) return fn(GruCell{});
  return fn(GruResetBeforeCell{});
}

}  // namespace rnnkit::kernels
