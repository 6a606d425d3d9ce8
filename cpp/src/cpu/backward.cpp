// Backward through time: the reverse loop turns output and state gradients into gate gradients
// (one fused pointwise pass per step, plus one small GEMM with the packed transposed recurrent
// weights); the weight and input gradients are then ONE large GEMM each over all B*T rows.
#include <omp.h>

#include <algorithm>
#include <cstring>
#include <type_traits>

#include "cpu/activations.h"
#include "cpu/dropout.h"
#include "cpu/gemm.h"
#include "cpu/kernels.h"
#include "cpu/partition.h"
#include "cpu/plan.h"
#include "rnnkit/threads.h"

namespace rnnkit::cpu {

namespace {

template <typename T>
class BackwardPass {
 public:
  BackwardPass(const CellSpec& cell, const SequenceOptions& options, const BackwardArgs& args,
               const CallSizes& sizes)
      : cell_(cell), opt_(options), args_(args), d_(cell, sizes.batch, sizes.timesteps),
        input_dropout_(args.input_dropout, d_.G, d_.B, d_.I),
        recurrent_dropout_(args.recurrent_dropout, d_.G, d_.B, d_.H) {
    Arena arena(Arena::align(args.workspace.data));
    s_ = BackwardScratch<T>::carve(arena, cell, d_);
    reserve_ = Reserve<T>::at(args.reserve.as<T>(), cell, d_);
    mask_ = args.mask.present() ? args.mask.as<const std::uint8_t>() : nullptr;
    d_output_ = args.d_output.as<const T>();
    d_rec_ = s_.d_rec ? s_.d_rec : s_.d_pre;
  }

  void run() {
    packed_.data = s_.packed_recurrent_t;
    packed_.rows = d_.GH;
    packed_.cols = d_.H;
    packed_.prefetch = PackedPanels<T>::streamed(d_.GH, d_.H);
    pack_panels(args_.recurrent_kernel.as<const T>(), 1, d_.GH, packed_);
    init_gradients();
    const LoopPlan plan = LoopPlan::make<T>(d_.B, d_.H, d_.GH);
#pragma omp parallel num_threads(plan.threads)
    {
      const LoopShare share =
          loop_share<T>(plan, omp_get_thread_num(), omp_get_num_threads(), d_.B, d_.H);
      for (std::int64_t s = d_.T - 1; s >= 0; --s) {
        step(s, opt_.go_backwards ? d_.T - 1 - s : s, share);
      }
    }
    weight_gradients();
  }

 private:
  void init_gradients() {
    const std::int64_t n = d_.B * d_.H;
    const auto copy_or_zero = [n](const TensorView& from, T* to) {
      if (from.present()) std::memcpy(to, from.as<const T>(), n * sizeof(T));
      else std::fill(to, to + n, T(0));
    };
    copy_or_zero(args_.d_final_h, s_.dh);
    copy_or_zero(args_.d_final_c, s_.dc);
    std::fill(s_.carry, s_.carry + n, T(0));
  }

  bool real_step(std::int64_t b, std::int64_t t) const { return !mask_ || mask_[b * d_.T + t]; }
  // Row b's scratch k: [H].
  T* scratch(std::int64_t b, int k) const { return s_.gates + (b * (2 * d_.G + 6) + k) * d_.H; }
  std::int64_t row(std::int64_t b, std::int64_t t) const { return b * d_.T + t; }

  // The recurrent dropout multiplier of gate g, row b; nullptr when there is none.
  const T* recurrent_mask(int g, std::int64_t b) const {
    const T* m = recurrent_dropout_.gate(g);
    return m ? m + b * d_.H : nullptr;
  }

  void step(std::int64_t s, std::int64_t t, const LoopShare& share) {
    const UnitRange& u = share.units;
    for (std::int64_t b = share.row_begin; b < share.row_end; ++b) pointwise_row(s, t, b, u);
    share.sync();
    const bool two_phase = cell_.kind == CellKind::gru && !cell_.reset_after;
    if (two_phase) {
      recurrent_gemm(t, 2, 3, share, s_.tmp, false);
      for (std::int64_t b = share.row_begin; b < share.row_end; ++b) {
        if (!real_step(b, t)) {  // zero gate gradients: r * h_in only meets zeros in dR_h
          T* reset_h = s_.seq_h + row(b, t) * d_.H;
          std::fill(reset_h + u.begin, reset_h + u.end, T(0));
          continue;
        }
        by_packets<T>(u, [&](auto j0, auto j1) { gru_reset_gate_row_fused(t, b, j0, j1); },
                   [&](const UnitRange& r) { gru_reset_gate_row(t, b, r); });
      }
      share.sync();
    }
    recurrent_gradient(t, 0, two_phase ? 2 : static_cast<int>(d_.G), share);
  }

  // C[rows, own units] (+)= dR_t[rows, gates g0..g1) R_g^T for this thread's share, where dR_t
  // holds the recurrent-side gate gradients of time t and C is [B, H].
  void recurrent_gemm(std::int64_t t, int g0, int g1, const LoopShare& share, T* C,
                      bool accumulate) {
    const std::int64_t ld = d_.T * d_.GH;
    gemm_panels(share.rows(), d_rec_ + t * d_.GH + share.row_begin * ld, ld, packed_, g0 * d_.H,
                g1 * d_.H, share.units.panel_begin, share.units.panel_end,
                C + share.row_begin * d_.H, d_.H, accumulate);
  }

  // dh[own rows, own units] = direct + sum over gates [g0, g1) of (dR_g R_g^T) * recurrent_mask_g.
  void recurrent_gradient(std::int64_t t, int g0, int g1, const LoopShare& share) {
    const UnitRange& u = share.units;
    // Only GRU's z * h_{t-1} and masked steps make the direct path non-zero.
    const bool direct = mask_ || cell_.kind == CellKind::gru;
    if (recurrent_dropout_.none() && !direct) {
      recurrent_gemm(t, g0, g1, share, s_.dh, false);
      return;
    }
    for (std::int64_t b = share.row_begin; b < share.row_end; ++b) {
      std::copy(s_.direct + b * d_.H + u.begin, s_.direct + b * d_.H + u.end, s_.dh + b * d_.H + u.begin);
    }
    if (recurrent_dropout_.none()) {
      recurrent_gemm(t, g0, g1, share, s_.dh, true);
      return;
    }
    const bool shared = recurrent_dropout_.shared();
    for (int g = g0; g < g1; ++g) {
      const int k0 = shared ? g0 : g, k1 = shared ? g1 : g + 1;
      recurrent_gemm(t, k0, k1, share, s_.tmp, false);
      for (std::int64_t b = share.row_begin; b < share.row_end; ++b) {
        const T* m = recurrent_mask(g, b);
        const T* tmp = s_.tmp + b * d_.H;
        T* dh = s_.dh + b * d_.H;
        for (std::int64_t j = u.begin; j < u.end; ++j) dh[j] += tmp[j] * m[j];
      }
      if (shared) break;
    }
  }

  // Output gradient for (b, s) plus what masked later steps carried back; routes it to dh.
  void pointwise_row(std::int64_t s, std::int64_t t, std::int64_t b, const UnitRange& u) {
    const std::int64_t H = d_.H;
    T* carry = s_.carry + b * H;
    T* dh = s_.dh + b * H;
    T* dh_total = scratch(b, static_cast<int>(2 * d_.G));
    const T* dy = nullptr;
    if (opt_.return_sequences) dy = d_output_ + (b * d_.T + s) * H;
    else if (s == d_.T - 1) dy = d_output_ + b * H;
    for (std::int64_t j = u.begin; j < u.end; ++j) dh_total[j] = carry[j] + (dy ? dy[j] : T(0));
    if (!real_step(b, t)) {
      // The state passes through unchanged; the output repeated the previous one (or was zero).
      for (std::int64_t j = u.begin; j < u.end; ++j) carry[j] = opt_.zero_output_for_mask ? T(0) : dh_total[j];
      std::copy(dh + u.begin, dh + u.end, s_.direct + b * H + u.begin);
      T* dpre = s_.d_pre + row(b, t) * d_.GH;
      for (std::int64_t g = 0; g < d_.G; ++g) std::fill(dpre + g * H + u.begin, dpre + g * H + u.end, T(0));
      if (s_.d_rec) {
        T* drec = s_.d_rec + row(b, t) * d_.GH;
        for (std::int64_t g = 0; g < d_.G; ++g) std::fill(drec + g * H + u.begin, drec + g * H + u.end, T(0));
      }
      return;
    }
    for (std::int64_t j = u.begin; j < u.end; ++j) {
      dh_total[j] += dh[j];
      carry[j] = T(0);
    }
    // The generic lambdas (auto j0, j1) keep the float-only fused rows out of the double build.
    switch (cell_.kind) {
      case CellKind::simple_rnn:
        by_packets<T>(u, [&](auto j0, auto j1) { simple_rnn_row_fused(t, b, dh_total, j0, j1); },
                   [&](const UnitRange& r) { simple_rnn_row(t, b, dh_total, r); });
        break;
      case CellKind::lstm:
        by_packets<T>(u, [&](auto j0, auto j1) { lstm_row_fused(t, b, dh_total, j0, j1); },
                   [&](const UnitRange& r) { lstm_row(t, b, dh_total, r); });
        break;
      case CellKind::gru:
        by_packets<T>(u, [&](auto j0, auto j1) { gru_row_fused(t, b, dh_total, j0, j1); },
                   [&](const UnitRange& r) { gru_row(t, b, dh_total, r); });
        break;
    }
  }

  void simple_rnn_row(std::int64_t t, std::int64_t b, const T* dh, const UnitRange& u) {
    const std::int64_t n = u.end - u.begin, j0 = u.begin;
    const T* pre = reserve_.pre + row(b, t) * d_.GH;
    T* dpre = s_.d_pre + row(b, t) * d_.GH;
    T *y = scratch(b, 0), *dy = scratch(b, 1);
    activate_grad(cell_.activation, pre + j0, y + j0, dy + j0, n);
    for (std::int64_t j = u.begin; j < u.end; ++j) dpre[j] = dh[j] * dy[j];
    std::fill(s_.direct + b * d_.H + u.begin, s_.direct + b * d_.H + u.end, T(0));
  }

  void lstm_row(std::int64_t t, std::int64_t b, const T* dh, const UnitRange& u) {
    const std::int64_t H = d_.H, n = u.end - u.begin, j0 = u.begin;
    const T* pre = reserve_.pre + row(b, t) * d_.GH;
    const T* c_prev = reserve_.c_prev + row(b, t) * H;
    T* dpre = s_.d_pre + row(b, t) * d_.GH;
    T *i = scratch(b, 0), *f = scratch(b, 1), *g = scratch(b, 2), *o = scratch(b, 3);
    T *di = scratch(b, 4), *df = scratch(b, 5), *dg = scratch(b, 6), *d_o = scratch(b, 7);
    T *c = scratch(b, 9), *tc = scratch(b, 10), *dtc = scratch(b, 11);
    activate_grad(cell_.recurrent_activation, pre + j0, i + j0, di + j0, n);
    activate_grad(cell_.recurrent_activation, pre + H + j0, f + j0, df + j0, n);
    activate_grad(cell_.activation, pre + 2 * H + j0, g + j0, dg + j0, n);
    activate_grad(cell_.recurrent_activation, pre + 3 * H + j0, o + j0, d_o + j0, n);
    for (std::int64_t j = u.begin; j < u.end; ++j) c[j] = f[j] * c_prev[j] + i[j] * g[j];
    activate_grad(cell_.activation, c + j0, tc + j0, dtc + j0, n);
    T* dc = s_.dc + b * H;
    for (std::int64_t j = u.begin; j < u.end; ++j) {
      const T dct = dc[j] + dh[j] * o[j] * dtc[j];
      dpre[j] = dct * g[j] * di[j];
      dpre[H + j] = dct * c_prev[j] * df[j];
      dpre[2 * H + j] = dct * i[j] * dg[j];
      dpre[3 * H + j] = dh[j] * tc[j] * d_o[j];
      dc[j] = dct * f[j];
    }
    std::fill(s_.direct + b * H + u.begin, s_.direct + b * H + u.end, T(0));
  }

  // GRU: z, candidate (both variants) and, with reset_after, r. Without reset_after, r needs
  // dL/d(r * h) from the candidate GEMM first: gru_reset_gate_row finishes it.
  void gru_row(std::int64_t t, std::int64_t b, const T* dh, const UnitRange& u) {
    const std::int64_t H = d_.H, n = u.end - u.begin, j0 = u.begin;
    const T* pre = reserve_.pre + row(b, t) * d_.GH;
    const T* h_prev = reserve_.h_prev + row(b, t) * H;
    T* dpre = s_.d_pre + row(b, t) * d_.GH;
    T *z = scratch(b, 0), *r = scratch(b, 1), *cand = scratch(b, 2);
    T *dz = scratch(b, 3), *dr = scratch(b, 4), *dcand = scratch(b, 5);
    activate_grad(cell_.recurrent_activation, pre + j0, z + j0, dz + j0, n);
    activate_grad(cell_.activation, pre + 2 * H + j0, cand + j0, dcand + j0, n);
    T* direct = s_.direct + b * H;
    for (std::int64_t j = u.begin; j < u.end; ++j) {
      dpre[j] = dh[j] * (h_prev[j] - cand[j]) * dz[j];
      dpre[2 * H + j] = dh[j] * (T(1) - z[j]) * dcand[j];
      direct[j] = dh[j] * z[j];
    }
    if (!cell_.reset_after) return;
    activate_grad(cell_.recurrent_activation, pre + H + j0, r + j0, dr + j0, n);
    const T* hh = reserve_.hh + row(b, t) * H;
    T* drec = s_.d_rec + row(b, t) * d_.GH;
    for (std::int64_t j = u.begin; j < u.end; ++j) {
      const T da_cand = dpre[2 * H + j];
      dpre[H + j] = da_cand * hh[j] * dr[j];
      drec[j] = dpre[j];
      drec[H + j] = dpre[H + j];
      drec[2 * H + j] = da_cand * r[j];
    }
  }

  // GRU reset_after = false, after tmp = d(candidate pre) R_h^T = dL/d(r * h_in); real steps only.
  void gru_reset_gate_row(std::int64_t t, std::int64_t b, const UnitRange& u) {
    const std::int64_t H = d_.H, n = u.end - u.begin, j0 = u.begin;
    T* reset_h = s_.seq_h + row(b, t) * H;
    T* dpre = s_.d_pre + row(b, t) * d_.GH;
    const T* pre = reserve_.pre + row(b, t) * d_.GH;
    const T* h_prev = reserve_.h_prev + row(b, t) * H;
    const T* m = recurrent_mask(2, b);
    T *r = scratch(b, 1), *dr = scratch(b, 4);
    activate_grad(cell_.recurrent_activation, pre + H + j0, r + j0, dr + j0, n);
    const T* q = s_.tmp + b * H;
    T* direct = s_.direct + b * H;
    for (std::int64_t j = u.begin; j < u.end; ++j) {
      const T h_in = m ? h_prev[j] * m[j] : h_prev[j];
      reset_h[j] = r[j] * h_in;
      dpre[H + j] = q[j] * h_in * dr[j];
      direct[j] += q[j] * r[j] * (m ? m[j] : T(1));
    }
  }

  // ---- the fused float rows: one pass over SIMD registers per row ------------------------------
  //
  // Each *_row_fused does what its generic row above does, for units [j0, j1) (whole packets),
  // with the same arithmetic in the same order.

  void simple_rnn_row_fused(std::int64_t t, std::int64_t b, const float* dh, std::int64_t j0,
                            std::int64_t j1) {
    using Eigen::internal::ploadu;
    using Eigen::internal::pstoreu;
    using P = FloatPacket;
    const float* pre = reserve_.pre + row(b, t) * d_.GH;
    float* dpre = s_.d_pre + row(b, t) * d_.GH;
    float* direct = s_.direct + b * d_.H;
    const P zero = Eigen::internal::pset1<P>(0.0f);
    for (std::int64_t j = j0; j < j1; j += kFloatLanes) {
      P dy;
      activate_grad_packet(cell_.activation, ploadu<P>(pre + j), dy);
      pstoreu(dpre + j, ploadu<P>(dh + j) * dy);
      pstoreu(direct + j, zero);
    }
  }

  void lstm_row_fused(std::int64_t t, std::int64_t b, const float* dh, std::int64_t j0,
                      std::int64_t j1) {
    using Eigen::internal::ploadu;
    using Eigen::internal::pstoreu;
    using P = FloatPacket;
    const std::int64_t H = d_.H;
    const Activation act = cell_.activation, gate_act = cell_.recurrent_activation;
    const float* pre = reserve_.pre + row(b, t) * d_.GH;
    const float* c_prev = reserve_.c_prev + row(b, t) * H;
    float* dpre = s_.d_pre + row(b, t) * d_.GH;
    float* dc = s_.dc + b * H;
    float* direct = s_.direct + b * H;
    const P zero = Eigen::internal::pset1<P>(0.0f);
    for (std::int64_t j = j0; j < j1; j += kFloatLanes) {
      P di, df, dg, d_o, dtc;
      const P i = activate_grad_packet(gate_act, ploadu<P>(pre + j), di);
      const P f = activate_grad_packet(gate_act, ploadu<P>(pre + H + j), df);
      const P g = activate_grad_packet(act, ploadu<P>(pre + 2 * H + j), dg);
      const P o = activate_grad_packet(gate_act, ploadu<P>(pre + 3 * H + j), d_o);
      const P cp = ploadu<P>(c_prev + j), dh_j = ploadu<P>(dh + j);
      const P tc = activate_grad_packet(act, f * cp + i * g, dtc);
      const P dct = ploadu<P>(dc + j) + dh_j * o * dtc;
      pstoreu(dpre + j, dct * g * di);
      pstoreu(dpre + H + j, dct * cp * df);
      pstoreu(dpre + 2 * H + j, dct * i * dg);
      pstoreu(dpre + 3 * H + j, dh_j * tc * d_o);
      pstoreu(dc + j, dct * f);
      pstoreu(direct + j, zero);
    }
  }

  void gru_row_fused(std::int64_t t, std::int64_t b, const float* dh, std::int64_t j0,
                     std::int64_t j1) {
    using Eigen::internal::ploadu;
    using Eigen::internal::pstoreu;
    using P = FloatPacket;
    const std::int64_t H = d_.H;
    const Activation act = cell_.activation, gate_act = cell_.recurrent_activation;
    const float* pre = reserve_.pre + row(b, t) * d_.GH;
    const float* h_prev = reserve_.h_prev + row(b, t) * H;
    const float* hh = cell_.reset_after ? reserve_.hh + row(b, t) * H : nullptr;
    float* dpre = s_.d_pre + row(b, t) * d_.GH;
    float* drec = cell_.reset_after ? s_.d_rec + row(b, t) * d_.GH : nullptr;
    float* direct = s_.direct + b * H;
    const P one = Eigen::internal::pset1<P>(1.0f);
    for (std::int64_t j = j0; j < j1; j += kFloatLanes) {
      P dz, dcand;
      const P z = activate_grad_packet(gate_act, ploadu<P>(pre + j), dz);
      const P cand = activate_grad_packet(act, ploadu<P>(pre + 2 * H + j), dcand);
      const P dh_j = ploadu<P>(dh + j);
      const P da_z = dh_j * (ploadu<P>(h_prev + j) - cand) * dz;
      const P da_cand = dh_j * (one - z) * dcand;
      pstoreu(dpre + j, da_z);
      pstoreu(dpre + 2 * H + j, da_cand);
      pstoreu(direct + j, dh_j * z);
      if (!drec) continue;  // without reset_after, gru_reset_gate_row(_fused) does r
      P dr;
      const P r = activate_grad_packet(gate_act, ploadu<P>(pre + H + j), dr);
      const P da_r = da_cand * ploadu<P>(hh + j) * dr;
      pstoreu(dpre + H + j, da_r);
      pstoreu(drec + j, da_z);
      pstoreu(drec + H + j, da_r);
      pstoreu(drec + 2 * H + j, da_cand * r);
    }
  }

  void gru_reset_gate_row_fused(std::int64_t t, std::int64_t b, std::int64_t j0, std::int64_t j1) {
    using Eigen::internal::ploadu;
    using Eigen::internal::pstoreu;
    using P = FloatPacket;
    const std::int64_t H = d_.H;
    const float* pre = reserve_.pre + row(b, t) * d_.GH;
    const float* h_prev = reserve_.h_prev + row(b, t) * H;
    const float* m = recurrent_mask(2, b);
    const float* q = s_.tmp + b * H;
    float* reset_h = s_.seq_h + row(b, t) * H;
    float* dpre = s_.d_pre + row(b, t) * d_.GH;
    float* direct = s_.direct + b * H;
    for (std::int64_t j = j0; j < j1; j += kFloatLanes) {
      P dr;
      const P r = activate_grad_packet(cell_.recurrent_activation, ploadu<P>(pre + H + j), dr);
      const P hp = ploadu<P>(h_prev + j), q_j = ploadu<P>(q + j);
      const P m_j = m ? ploadu<P>(m + j) : Eigen::internal::pset1<P>(1.0f);
      const P h_in = m ? hp * m_j : hp;
      pstoreu(reset_h + j, r * h_in);
      pstoreu(dpre + H + j, q_j * h_in * dr);
      pstoreu(direct + j, ploadu<P>(direct + j) + q_j * r * m_j);
    }
  }

  // ---- after the loop: one large GEMM per weight ------------------------------------------------

  void weight_gradients() {
    const std::int64_t n = d_.B * d_.H, rows = d_.B * d_.T;
    std::memcpy(args_.d_initial_h.as<T>(), s_.dh, n * sizeof(T));
    if (args_.d_initial_c.present()) std::memcpy(args_.d_initial_c.as<T>(), s_.dc, n * sizeof(T));
    if (args_.d_bias.present()) {
      T* db = args_.d_bias.as<T>();
      column_sums(s_.d_pre, rows, d_.GH, db);
      if (s_.d_rec) column_sums(s_.d_rec, rows, d_.GH, db + d_.GH);
    }
    input_gradients();
    recurrent_kernel_gradient();
  }

  // Sums rows in order, so the result depends neither on how the buffers happen to be aligned
  // nor on the thread count; the threads split the columns.
  void column_sums(const T* m, std::int64_t rows, std::int64_t cols, T* out) const {
    constexpr std::int64_t kChunk = 256;
    const std::int64_t chunks = (cols + kChunk - 1) / kChunk;
    const int team = static_cast<int>(std::min<std::int64_t>(threads_, chunks));
#pragma omp parallel for num_threads(team) schedule(static)
    for (std::int64_t chunk = 0; chunk < chunks; ++chunk) {
      const std::int64_t c0 = chunk * kChunk, c1 = std::min(cols, c0 + kChunk);
      std::fill(out + c0, out + c1, T(0));
      for (std::int64_t r = 0; r < rows; ++r) {
        const T* row = m + r * cols;
        for (std::int64_t c = c0; c < c1; ++c) out[c] += row[c];
      }
    }
  }

  // Copies a [B, T, width] sequence scaled by a per-(b, feature) dropout mask [B, width].
  void masked_sequence(const T* src, const T* m, std::int64_t width, T* dst) const {
    for (std::int64_t b = 0; b < d_.B; ++b) {
      const T* mb = m + b * width;
      for (std::int64_t t = 0; t < d_.T; ++t) {
        const T* x = src + row(b, t) * width;
        T* y = dst + row(b, t) * width;
        for (std::int64_t i = 0; i < width; ++i) y[i] = x[i] * mb[i];
      }
    }
  }

  void input_gradients() {
    const std::int64_t rows = d_.B * d_.T, I = d_.I, GH = d_.GH;
    const T* x = args_.x.as<const T>();
    const T* W = args_.kernel.as<const T>();
    T* dW = args_.d_kernel.as<T>();
    T* dx = args_.d_x.present() ? args_.d_x.as<T>() : nullptr;
    const T* dA = s_.d_pre;
    if (input_dropout_.none()) {
      gemm<T>(I, GH, rows, {x, 1, I}, {dA, GH, 1}, dW, GH, false, threads_);
      if (dx) gemm<T>(rows, I, GH, {dA, GH, 1}, {W, 1, GH}, dx, I, false, threads_);
      return;
    }
    const bool shared = input_dropout_.shared();
    const std::int64_t cols = shared ? GH : d_.H;
    T* x_masked = s_.seq_x[0];
    T* dx_gate = shared ? dx : s_.seq_x[1];
    if (dx && !shared) std::fill(dx, dx + rows * I, T(0));
    for (int g = 0; g < input_dropout_.count; ++g) {
      const T* m = input_dropout_.gate(g);
      masked_sequence(x, m, I, x_masked);
      gemm<T>(I, cols, rows, {x_masked, 1, I}, {dA + g * cols, GH, 1}, dW + g * cols, GH, false,
              threads_);
      if (!dx) continue;
      gemm<T>(rows, I, cols, {dA + g * cols, GH, 1}, {W + g * cols, 1, GH}, dx_gate, I, false,
              threads_);
      for (std::int64_t b = 0; b < d_.B; ++b) {
        const T* mb = m + b * I;
        for (std::int64_t t = 0; t < d_.T; ++t) {
          const T* from = dx_gate + row(b, t) * I;
          T* to = dx + row(b, t) * I;
          if (shared) {
            for (std::int64_t i = 0; i < I; ++i) to[i] = from[i] * mb[i];
          } else {
            for (std::int64_t i = 0; i < I; ++i) to[i] += from[i] * mb[i];
          }
        }
      }
    }
  }

  void recurrent_kernel_gradient() {
    const std::int64_t rows = d_.B * d_.T, H = d_.H, GH = d_.GH;
    T* dU = args_.d_recurrent_kernel.as<T>();
    const T* dR = d_rec_;
    std::int64_t gates = d_.G;
    if (cell_.kind == CellKind::gru && !cell_.reset_after) {
      // The candidate's recurrent GEMM read r * h_in, kept by the loop in seq_h.
      gemm<T>(H, H, rows, {s_.seq_h, 1, H}, {dR + 2 * H, GH, 1}, dU + 2 * H, GH, false, threads_);
      gates = 2;
    }
    const T* h_prev = reserve_.h_prev;
    if (recurrent_dropout_.none()) {
      gemm<T>(H, gates * H, rows, {h_prev, 1, H}, {dR, GH, 1}, dU, GH, false, threads_);
      return;
    }
    const bool shared = recurrent_dropout_.shared();
    for (int g = 0; g < gates; ++g) {
      const std::int64_t c0 = shared ? 0 : g * H, cols = shared ? gates * H : H;
      masked_sequence(h_prev, recurrent_dropout_.gate(g), H, s_.seq_h);
      gemm<T>(H, cols, rows, {s_.seq_h, 1, H}, {dR + c0, GH, 1}, dU + c0, GH, false, threads_);
      if (shared) break;
    }
  }

  const CellSpec& cell_;
  const SequenceOptions& opt_;
  const BackwardArgs& args_;
  Dims d_;
  const int threads_ = get_num_threads();
  DropoutMasks<T> input_dropout_, recurrent_dropout_;
  BackwardScratch<T> s_{};
  Reserve<T> reserve_{};
  PackedPanels<T> packed_;
  const std::uint8_t* mask_;
  const T* d_output_;
  T* d_rec_;
};

}  // namespace

template <typename T>
void backward(const CellSpec& cell, const SequenceOptions& options, const BackwardArgs& args,
              const CallSizes& sizes) {
  BackwardPass<T>(cell, options, args, sizes).run();
}

template void backward<float>(const CellSpec&, const SequenceOptions&, const BackwardArgs&, const CallSizes&);
template void backward<double>(const CellSpec&, const SequenceOptions&, const BackwardArgs&, const CallSizes&);

}  // namespace rnnkit::cpu
