// Forward over a whole sequence: one GEMM projects the inputs of many timesteps at once; each step
// then runs one small GEMM against the packed recurrent weights and one fused pointwise pass.
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
class ForwardPass {
 public:
  ForwardPass(const CellSpec& cell, const SequenceOptions& options, const ForwardArgs& args,
              const CallSizes& sizes)
      : cell_(cell), opt_(options), d_(cell, sizes.batch, sizes.timesteps),
        input_dropout_(args.input_dropout, d_.G, d_.B, d_.I),
        recurrent_dropout_(args.recurrent_dropout, d_.G, d_.B, d_.H) {
    Arena arena(Arena::align(args.workspace.data));
    s_ = ForwardScratch<T>::carve(arena, cell, options, d_);
    if (options.training) reserve_ = Reserve<T>::at(args.reserve.as<T>(), cell, d_);
    x_ = args.x.as<const T>();
    kernel_ = args.kernel.as<const T>();
    recurrent_kernel_ = args.recurrent_kernel.as<const T>();
    std::fill(s_.zeros, s_.zeros + 2 * d_.GH, T(0));
    bias_in_ = args.bias.present() ? args.bias.as<const T>() : s_.zeros;
    bias_rec_ = has_candidate_projection(cell) && args.bias.present() ? bias_in_ + d_.GH : s_.zeros;
    mask_ = args.mask.present() ? args.mask.as<const std::uint8_t>() : nullptr;
    output_ = args.output.as<T>();
    final_h_ = args.final_h.as<T>();
    final_c_ = args.final_c.present() ? args.final_c.as<T>() : nullptr;
    initial_h_ = args.initial_h.present() ? args.initial_h.as<const T>() : nullptr;
    initial_c_ = args.initial_c.present() ? args.initial_c.as<const T>() : nullptr;
  }

  void run() {
    pack_recurrent_weights();
    init_states();
    const std::int64_t chunk = projection_chunk(d_, opt_.training);
    const LoopPlan plan = LoopPlan::make<T>(d_.B, d_.H, d_.GH);
    for (std::int64_t s0 = 0; s0 < d_.T; s0 += chunk) {
      const std::int64_t n = std::min(chunk, d_.T - s0);
      // Original time range [t_lo, t_lo + n) read by processing steps [s0, s0 + n).
      const std::int64_t t_lo = opt_.go_backwards ? d_.T - s0 - n : s0;
      T* proj = opt_.training ? reserve_.pre : s_.proj;
      project(t_lo, n, proj);
#pragma omp parallel num_threads(plan.threads)
      {
        const LoopShare share =
            loop_share<T>(plan, omp_get_thread_num(), omp_get_num_threads(), d_.B, d_.H);
        for (std::int64_t s = s0; s < s0 + n; ++s) {
          const std::int64_t t = opt_.go_backwards ? d_.T - 1 - s : s;
          step(s, t, proj + (t - t_lo) * d_.GH, n * d_.GH, share);
          share.sync();
        }
      }
    }
    finish();
  }

 private:
  // ---- setup ----------------------------------------------------------------------------------

  void pack_recurrent_weights() {
    const std::int64_t per_gate = PackedPanels<T>::elements_for(d_.H, d_.H);
    for (std::int64_t g = 0; g < d_.G; ++g) {
      packed_[g].data = s_.packed_recurrent + g * per_gate;
      packed_[g].rows = d_.H;
      packed_[g].cols = d_.H;
      packed_[g].prefetch = PackedPanels<T>::streamed(d_.H, d_.GH);
      pack_panels(recurrent_kernel_ + g * d_.H, d_.GH, 1, packed_[g]);
    }
  }

  void init_states() {
    const std::int64_t n = d_.B * d_.H;
    T* h = s_.h[0];
    if (initial_h_) std::memcpy(h, initial_h_, n * sizeof(T)); else std::fill(h, h + n, T(0));
    if (s_.c) {
      if (initial_c_) std::memcpy(s_.c, initial_c_, n * sizeof(T)); else std::fill(s_.c, s_.c + n, T(0));
    }
    std::fill(s_.last_output, s_.last_output + n, T(0));
    for (int g = 0; g < recurrent_dropout_.count; ++g) {
      const T* m = recurrent_dropout_.gate(g);
      T* hd = s_.dropped_h[0] + g * n;
      for (std::int64_t i = 0; i < n; ++i) hd[i] = h[i] * m[i];
    }
  }

  // proj[b, tt, :] = x[b, t_lo + tt, :] W (times the input dropout mask), bias excluded: the
  // pointwise pass adds it.
  void project(std::int64_t t_lo, std::int64_t n, T* proj) {
    const std::int64_t rows = d_.B * n;
    if (input_dropout_.none() && n == d_.T) {
      gemm<T>(rows, d_.GH, d_.I, {x_, d_.I, 1}, {kernel_, d_.GH, 1}, proj, d_.GH, false, threads_);
      return;
    }
    const int passes = std::max(1, input_dropout_.count);
    const std::int64_t cols = passes == 1 ? d_.GH : d_.H;
    for (int g = 0; g < passes; ++g) {
      const T* m = input_dropout_.gate(g);
      for (std::int64_t b = 0; b < d_.B; ++b) {
        const T* src = x_ + (b * d_.T + t_lo) * d_.I;
        T* dst = s_.x_chunk + b * n * d_.I;
        if (!m) {
          std::memcpy(dst, src, n * d_.I * sizeof(T));
          continue;
        }
        const T* mb = m + b * d_.I;
        for (std::int64_t tt = 0; tt < n; ++tt) {
          for (std::int64_t i = 0; i < d_.I; ++i) dst[tt * d_.I + i] = src[tt * d_.I + i] * mb[i];
        }
      }
      gemm<T>(rows, cols, d_.I, {s_.x_chunk, d_.I, 1}, {kernel_ + g * cols, d_.GH, 1},
              proj + g * cols, d_.GH, false, threads_);
    }
  }

  // ---- the time loop ----------------------------------------------------------------------------

  // The recurrent GEMM of gate g for this thread's share: recurrent[rows, g] = A_g[rows] R_g.
  // A is [B, H].
  void recurrent_gemm(int g, const T* A, const LoopShare& share) {
    gemm_panels(share.rows(), A + share.row_begin * d_.H, d_.H, packed_[g], 0, d_.H,
                share.units.panel_begin, share.units.panel_end,
                s_.recurrent + share.row_begin * d_.GH + g * d_.H, d_.GH, false);
  }

  // h_{t-1} as the recurrent GEMM of gate g sees it (recurrent dropout applied).
  const T* gemm_input(std::int64_t s, int g) const {
    const T* h = s_.h[s & 1];
    if (recurrent_dropout_.none()) return h;
    const int slot = recurrent_dropout_.shared() ? 0 : g;
    return s_.dropped_h[s & 1] + slot * d_.B * d_.H;
  }

  void step(std::int64_t s, std::int64_t t, T* proj_t, std::int64_t proj_ld,
            const LoopShare& share) {
    const UnitRange& u = share.units;
    const bool two_phase = cell_.kind == CellKind::gru && !cell_.reset_after;
    const int first_phase_gates = two_phase ? 2 : static_cast<int>(d_.G);
    for (int g = 0; g < first_phase_gates; ++g) recurrent_gemm(g, gemm_input(s, g), share);
    for (std::int64_t b = share.row_begin; b < share.row_end; ++b) {
      T* pre = proj_t + b * proj_ld;
      const T* rec = s_.recurrent + b * d_.GH;
      // The generic lambdas (auto j0, j1) keep the float-only fused rows out of the double build.
      switch (cell_.kind) {
        case CellKind::simple_rnn:
          by_packets<T>(u, [&](auto j0, auto j1) { simple_rnn_row_fused(s, t, b, pre, rec, j0, j1); },
                     [&](const UnitRange& r) { simple_rnn_row(s, t, b, pre, rec, r); });
          break;
        case CellKind::lstm:
          by_packets<T>(u, [&](auto j0, auto j1) { lstm_row_fused(s, t, b, pre, rec, j0, j1); },
                     [&](const UnitRange& r) { lstm_row(s, t, b, pre, rec, r); });
          break;
        case CellKind::gru:
          if (two_phase) {
            by_packets<T>(u, [&](auto j0, auto j1) { gru_reset_gate_row_fused(s, b, pre, rec, j0, j1); },
                       [&](const UnitRange& r) { gru_reset_gate_row(s, b, pre, rec, r); });
          } else {
            by_packets<T>(u, [&](auto j0, auto j1) { gru_row_fused(s, t, b, pre, rec, j0, j1); },
                       [&](const UnitRange& r) { gru_row(s, t, b, pre, rec, r); });
          }
          break;
      }
    }
    if (!two_phase) return;
    share.sync();
    recurrent_gemm(2, s_.reset_h, share);
    for (std::int64_t b = share.row_begin; b < share.row_end; ++b) {
      T* pre = proj_t + b * proj_ld;
      const T* rec = s_.recurrent + b * d_.GH;
      by_packets<T>(u, [&](auto j0, auto j1) { gru_candidate_row_fused(s, t, b, pre, rec, j0, j1); },
                 [&](const UnitRange& r) { gru_candidate_row(s, t, b, pre, rec, r); });
    }
  }

  // a[g, u] = proj + bias_in + recurrent (+ bias_rec) for gates [g0, g1); saved in place.
  void sum_pre(T* pre, const T* rec, int g0, int g1, const UnitRange& u, bool recurrent_bias) {
    for (int g = g0; g < g1; ++g) {
      const std::int64_t o = g * d_.H;
      const T* bi = bias_in_ + o;
      const T* br = recurrent_bias ? bias_rec_ + o : s_.zeros;
      for (std::int64_t j = u.begin; j < u.end; ++j) pre[o + j] += bi[j] + rec[o + j] + br[j];
    }
  }

  // Row b's scratch for gate k: [H].
  T* gate(std::int64_t b, int k) const { return s_.gates + (b * (d_.G + 2) + k) * d_.H; }

  bool real_step(std::int64_t b, std::int64_t t) const { return !mask_ || mask_[b * d_.T + t]; }

  // Shared tail of every cell: mask select, state and output writes, dropout of the next h.
  // h_new holds the candidate state for this thread's units.
  void commit_row(std::int64_t s, std::int64_t t, std::int64_t b, const T* h_new,
                  const UnitRange& u) {
    const std::int64_t row = b * d_.H;
    const T* h_old = s_.h[s & 1] + row;
    T* h_next = s_.h[(s + 1) & 1] + row;
    T* saved = opt_.training ? reserve_.h_prev + (b * d_.T + t) * d_.H : nullptr;
    T* sequence = opt_.return_sequences ? output_ + (b * d_.T + s) * d_.H : nullptr;
    const bool real = real_step(b, t);
    // Masked steps keep the state and repeat the last output (or output zeros).
    const T* h_kept = real ? h_new : h_old;
    // Separate copies: a loop with conditional stores would not vectorize.
    const std::int64_t j0 = u.begin, j1 = u.end;
    if (saved) std::copy(h_old + j0, h_old + j1, saved + j0);
    std::copy(h_kept + j0, h_kept + j1, h_next + j0);
    const T* out_kept = h_new;
    if (mask_) {  // without a mask every output is the new state: no running output to keep
      T* out = s_.last_output + row;
      out_kept = real ? h_new : (opt_.zero_output_for_mask ? s_.zeros : out);
      if (out_kept != out) std::copy(out_kept + j0, out_kept + j1, out + j0);
    }
    if (sequence) std::copy(out_kept + j0, out_kept + j1, sequence + j0);
    const std::int64_t plane = d_.B * d_.H;
    for (int g = 0; g < recurrent_dropout_.count; ++g) {
      const T* m = recurrent_dropout_.gate(g) + row;
      T* hd = s_.dropped_h[(s + 1) & 1] + g * plane + row;
      for (std::int64_t j = u.begin; j < u.end; ++j) hd[j] = h_next[j] * m[j];
    }
  }

  void simple_rnn_row(std::int64_t s, std::int64_t t, std::int64_t b, T* pre, const T* rec,
                      const UnitRange& u) {
    sum_pre(pre, rec, 0, 1, u, false);
    const std::int64_t n = u.end - u.begin;
    activate(cell_.activation, pre + u.begin, gate(b, 0) + u.begin, n);
    commit_row(s, t, b, gate(b, 0), u);
  }

  void lstm_row(std::int64_t s, std::int64_t t, std::int64_t b, T* pre, const T* rec,
                const UnitRange& u) {
    const std::int64_t H = d_.H, n = u.end - u.begin, j0 = u.begin;
    sum_pre(pre, rec, 0, 4, u, false);
    T *i = gate(b, 0), *f = gate(b, 1), *g = gate(b, 2), *o = gate(b, 3);
    T *c_new = gate(b, 4), *h_new = gate(b, 5);
    activate(cell_.recurrent_activation, pre + j0, i + j0, n);
    activate(cell_.recurrent_activation, pre + H + j0, f + j0, n);
    activate(cell_.activation, pre + 2 * H + j0, g + j0, n);
    activate(cell_.recurrent_activation, pre + 3 * H + j0, o + j0, n);
    T* c = s_.c + b * H;
    if (opt_.training) {
      std::copy(c + u.begin, c + u.end, reserve_.c_prev + (b * d_.T + t) * H + u.begin);
    }
    for (std::int64_t j = u.begin; j < u.end; ++j) c_new[j] = f[j] * c[j] + i[j] * g[j];
    activate(cell_.activation, c_new + j0, h_new + j0, n);
    for (std::int64_t j = u.begin; j < u.end; ++j) h_new[j] *= o[j];
    if (real_step(b, t)) std::copy(c_new + u.begin, c_new + u.end, c + u.begin);
    commit_row(s, t, b, h_new, u);
  }

  // GRU, reset_after = true: n = act(x W_h + b_ih + r * (h R_h + b_rh)).
  void gru_row(std::int64_t s, std::int64_t t, std::int64_t b, T* pre, const T* rec,
               const UnitRange& u) {
    const std::int64_t H = d_.H, n = u.end - u.begin, j0 = u.begin;
    sum_pre(pre, rec, 0, 2, u, true);
    T *z = gate(b, 0), *r = gate(b, 1), *cand = gate(b, 2), *hh = gate(b, 3);
    activate(cell_.recurrent_activation, pre + j0, z + j0, n);
    activate(cell_.recurrent_activation, pre + H + j0, r + j0, n);
    const T* bi = bias_in_ + 2 * H;
    const T* br = bias_rec_ + 2 * H;
    T* a = pre + 2 * H;
    for (std::int64_t j = u.begin; j < u.end; ++j) {
      hh[j] = rec[2 * H + j] + br[j];
      a[j] += bi[j] + r[j] * hh[j];
    }
    if (opt_.training) {
      std::copy(hh + u.begin, hh + u.end, reserve_.hh + (b * d_.T + t) * H + u.begin);
    }
    activate(cell_.activation, a + j0, cand + j0, n);
    const T* h = s_.h[s & 1] + b * H;
    for (std::int64_t j = u.begin; j < u.end; ++j) cand[j] = z[j] * h[j] + (T(1) - z[j]) * cand[j];
    commit_row(s, t, b, cand, u);
  }

  // GRU, reset_after = false, phase 1: z and r, then the candidate GEMM's input r * h_{t-1}.
  void gru_reset_gate_row(std::int64_t s, std::int64_t b, T* pre, const T* rec, const UnitRange& u) {
    const std::int64_t H = d_.H, n = u.end - u.begin, j0 = u.begin;
    sum_pre(pre, rec, 0, 2, u, false);
    T* r = gate(b, 1);
    activate(cell_.recurrent_activation, pre + H + j0, r + j0, n);
    const T* h = gemm_input(s, 2) + b * H;
    T* rh = s_.reset_h + b * H;
    for (std::int64_t j = u.begin; j < u.end; ++j) rh[j] = r[j] * h[j];
  }

  // GRU, reset_after = false, phase 2: n = act(x W_h + b_h + (r * h_{t-1}) R_h), then h.
  void gru_candidate_row(std::int64_t s, std::int64_t t, std::int64_t b, T* pre, const T* rec,
                         const UnitRange& u) {
    const std::int64_t H = d_.H, n = u.end - u.begin, j0 = u.begin;
    sum_pre(pre, rec, 2, 3, u, false);
    T *z = gate(b, 0), *cand = gate(b, 2);
    activate(cell_.recurrent_activation, pre + j0, z + j0, n);
    activate(cell_.activation, pre + 2 * H + j0, cand + j0, n);
    const T* h = s_.h[s & 1] + b * H;
    for (std::int64_t j = u.begin; j < u.end; ++j) cand[j] = z[j] * h[j] + (T(1) - z[j]) * cand[j];
    commit_row(s, t, b, cand, u);
  }

  // ---- the fused float rows: one pass over SIMD registers per row ------------------------------
  //
  // Each *_row_fused does what its generic row above does, for units [j0, j1) (whole packets),
  // with the same arithmetic in the same order: gate sums, activations, state update, then
  // commit_packet's mask select, saved state, outputs and the next step's dropped h.

  // commit_row's destinations for row b of step s (original time t).
  struct RowCommit {
    std::int64_t row;  // b * H
    bool real;         // not masked
    const T* h_old;
    T *h_next, *out, *saved_h, *sequence, *dropped;
  };

  RowCommit row_commit(std::int64_t s, std::int64_t t, std::int64_t b) const {
    const std::int64_t H = d_.H, row = b * H;
    return {row,
            real_step(b, t),
            s_.h[s & 1] + row,
            s_.h[(s + 1) & 1] + row,
            s_.last_output + row,
            opt_.training ? reserve_.h_prev + (b * d_.T + t) * H : nullptr,
            opt_.return_sequences ? output_ + (b * d_.T + s) * H : nullptr,
            s_.dropped_h[(s + 1) & 1] + row};
  }

  // commit_row for the packet at unit j: h_prev is h_{t-1}, h_new the candidate state.
  void commit_packet(const RowCommit& w, std::int64_t j, const FloatPacket& h_prev,
                     const FloatPacket& h_new) const {
    using Eigen::internal::ploadu;
    using Eigen::internal::pstoreu;
    using P = FloatPacket;
    if (w.saved_h) pstoreu(w.saved_h + j, h_prev);
    // Masked steps keep the state and repeat the last output (or output zeros).
    const P h_kept = w.real ? h_new : h_prev;
    const P out_kept = w.real ? h_new
                              : (opt_.zero_output_for_mask ? Eigen::internal::pset1<P>(0.0f)
                                                           : ploadu<P>(w.out + j));
    pstoreu(w.h_next + j, h_kept);
    if (mask_) pstoreu(w.out + j, out_kept);
    if (w.sequence) pstoreu(w.sequence + j, out_kept);
    const std::int64_t plane = d_.B * d_.H;
    for (int m = 0; m < recurrent_dropout_.count; ++m) {
      pstoreu(w.dropped + m * plane + j,
              h_kept * ploadu<P>(recurrent_dropout_.gate(m) + w.row + j));
    }
  }

  // pre[k] + bias_in[k] + rec[k] (+ bias_rec[k]) in sum_pre's order, stored back into pre.
  FloatPacket sum_pre_packet(float* pre, const float* rec, std::int64_t k, bool recurrent_bias) const {
    using Eigen::internal::ploadu;
    using P = FloatPacket;
    const P br = recurrent_bias ? ploadu<P>(bias_rec_ + k) : Eigen::internal::pset1<P>(0.0f);
    const P a = ploadu<P>(pre + k) + (ploadu<P>(bias_in_ + k) + ploadu<P>(rec + k) + br);
    Eigen::internal::pstoreu(pre + k, a);
    return a;
  }

  void simple_rnn_row_fused(std::int64_t s, std::int64_t t, std::int64_t b, float* pre,
                            const float* rec, std::int64_t j0, std::int64_t j1) {
    const RowCommit w = row_commit(s, t, b);
    for (std::int64_t j = j0; j < j1; j += kFloatLanes) {
      const FloatPacket h_new = activate_packet(cell_.activation, sum_pre_packet(pre, rec, j, false));
      commit_packet(w, j, Eigen::internal::ploadu<FloatPacket>(w.h_old + j), h_new);
    }
  }

  void lstm_row_fused(std::int64_t s, std::int64_t t, std::int64_t b, float* pre, const float* rec,
                      std::int64_t j0, std::int64_t j1) {
    using Eigen::internal::ploadu;
    using Eigen::internal::pstoreu;
    using P = FloatPacket;
    const std::int64_t H = d_.H;
    const Activation act = cell_.activation, gate_act = cell_.recurrent_activation;
    const RowCommit w = row_commit(s, t, b);
    float* c = s_.c + w.row;
    float* saved_c = opt_.training ? reserve_.c_prev + (b * d_.T + t) * H : nullptr;
    for (std::int64_t j = j0; j < j1; j += kFloatLanes) {
      P a[4];
      for (int g = 0; g < 4; ++g) a[g] = sum_pre_packet(pre, rec, g * H + j, false);
      const P i = activate_packet(gate_act, a[0]), f = activate_packet(gate_act, a[1]);
      const P g = activate_packet(act, a[2]), o = activate_packet(gate_act, a[3]);
      const P c_old = ploadu<P>(c + j);
      if (saved_c) pstoreu(saved_c + j, c_old);
      const P c_new = f * c_old + i * g;
      if (w.real) pstoreu(c + j, c_new);
      commit_packet(w, j, ploadu<P>(w.h_old + j), o * activate_packet(act, c_new));
    }
  }

  void gru_row_fused(std::int64_t s, std::int64_t t, std::int64_t b, float* pre, const float* rec,
                     std::int64_t j0, std::int64_t j1) {
    using Eigen::internal::ploadu;
    using Eigen::internal::pstoreu;
    using P = FloatPacket;
    const std::int64_t H = d_.H;
    const Activation act = cell_.activation, gate_act = cell_.recurrent_activation;
    const RowCommit w = row_commit(s, t, b);
    float* saved_hh = opt_.training ? reserve_.hh + (b * d_.T + t) * H : nullptr;
    const P one = Eigen::internal::pset1<P>(1.0f);
    for (std::int64_t j = j0; j < j1; j += kFloatLanes) {
      const P z = activate_packet(gate_act, sum_pre_packet(pre, rec, j, true));
      const P r = activate_packet(gate_act, sum_pre_packet(pre, rec, H + j, true));
      const std::int64_t k = 2 * H + j;
      const P hh = ploadu<P>(rec + k) + ploadu<P>(bias_rec_ + k);
      if (saved_hh) pstoreu(saved_hh + j, hh);
      const P a = ploadu<P>(pre + k) + (ploadu<P>(bias_in_ + k) + r * hh);
      pstoreu(pre + k, a);
      const P h_prev = ploadu<P>(w.h_old + j);
      commit_packet(w, j, h_prev, z * h_prev + (one - z) * activate_packet(act, a));
    }
  }

  // Phase 1 only sums z (phase 2 activates it) and writes r * h_{t-1} for the candidate GEMM.
  void gru_reset_gate_row_fused(std::int64_t s, std::int64_t b, float* pre, const float* rec,
                                std::int64_t j0, std::int64_t j1) {
    using P = FloatPacket;
    const std::int64_t H = d_.H;
    const float* h = gemm_input(s, 2) + b * H;
    float* rh = s_.reset_h + b * H;
    for (std::int64_t j = j0; j < j1; j += kFloatLanes) {
      sum_pre_packet(pre, rec, j, false);
      const P r = activate_packet(cell_.recurrent_activation, sum_pre_packet(pre, rec, H + j, false));
      Eigen::internal::pstoreu(rh + j, r * Eigen::internal::ploadu<P>(h + j));
    }
  }

  void gru_candidate_row_fused(std::int64_t s, std::int64_t t, std::int64_t b, float* pre,
                               const float* rec, std::int64_t j0, std::int64_t j1) {
    using Eigen::internal::ploadu;
    using P = FloatPacket;
    const std::int64_t H = d_.H;
    const RowCommit w = row_commit(s, t, b);
    const P one = Eigen::internal::pset1<P>(1.0f);
    for (std::int64_t j = j0; j < j1; j += kFloatLanes) {
      const P a = sum_pre_packet(pre, rec, 2 * H + j, false);
      const P z = activate_packet(cell_.recurrent_activation, ploadu<P>(pre + j));
      const P h_prev = ploadu<P>(w.h_old + j);
      commit_packet(w, j, h_prev, z * h_prev + (one - z) * activate_packet(cell_.activation, a));
    }
  }

  void finish() {
    const std::int64_t n = d_.B * d_.H;
    const T* h = s_.h[d_.T & 1];
    std::memcpy(final_h_, h, n * sizeof(T));
    if (final_c_) std::memcpy(final_c_, s_.c, n * sizeof(T));
    if (!opt_.return_sequences) std::memcpy(output_, mask_ ? s_.last_output : h, n * sizeof(T));
  }

  const CellSpec& cell_;
  const SequenceOptions& opt_;
  Dims d_;
  const int threads_ = get_num_threads();
  DropoutMasks<T> input_dropout_, recurrent_dropout_;
  ForwardScratch<T> s_{};
  Reserve<T> reserve_{};
  PackedPanels<T> packed_[4];
  const T *x_, *kernel_, *recurrent_kernel_, *bias_in_, *bias_rec_;
  const std::uint8_t* mask_;
  T *output_, *final_h_, *final_c_;
  const T *initial_h_, *initial_c_;
};

}  // namespace

template <typename T>
void forward(const CellSpec& cell, const SequenceOptions& options, const ForwardArgs& args,
             const CallSizes& sizes) {
  ForwardPass<T>(cell, options, args, sizes).run();
}

template void forward<float>(const CellSpec&, const SequenceOptions&, const ForwardArgs&, const CallSizes&);
template void forward<double>(const CellSpec&, const SequenceOptions&, const ForwardArgs&, const CallSizes&);

}  // namespace rnnkit::cpu
