// Forward over a whole sequence: one GEMM projects the inputs of many timesteps at once; each step
// then runs one small GEMM against the packed recurrent weights and one fused pointwise pass (the
// cell's arithmetic from kernels/cell_math.h, over the lanes of cpu/lanes.h).
#include <algorithm>
#include <cstring>
#include <type_traits>

#include "cpu/activations.h"
#include "cpu/dropout.h"
#include "cpu/gemm.h"
#include "cpu/kernels.h"
#include "cpu/lanes.h"
#include "cpu/partition.h"
#include "cpu/plan.h"
#include "kernels/cell_math.h"
#include "rnnkit/threads.h"

RNNKIT_CPU_NAMESPACE_BEGIN

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
    if (!args.bias.present() || !has_candidate_projection(cell)) {
      std::fill(s_.zeros, s_.zeros + 2 * d_.GH, T(0));  // read where a bias is absent
    }
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
    // A step or two on one thread reads R where it lies: packing it would cost more than the
    // products it serves. Same bits either way (gemm_direct with gemm_panels' depth).
    direct_ = !amx_ && d_.T <= kDirectSteps &&
              LoopPlan::forward<T>(d_.B, d_.H, d_.GH).threads == 1;
    if (amx_) pack_tiles_of_weights();
    else if (!direct_) pack_recurrent_weights();
    init_states();
    kernels::visit_cell(cell_, [this](auto cell) { time_loop<decltype(cell)>(); });
    finish();
  }

 private:
  template <class Cell>
  void time_loop() {
    const std::int64_t chunk = projection_chunk<T>(d_, opt_.training);
    const LoopPlan plan = LoopPlan::forward<T>(d_.B, d_.H, d_.GH);
    for (std::int64_t s0 = 0; s0 < d_.T; s0 += chunk) {
      const std::int64_t n = std::min(chunk, d_.T - s0);
      // Original time range [t_lo, t_lo + n) read by processing steps [s0, s0 + n).
      const std::int64_t t_lo = opt_.go_backwards ? d_.T - s0 - n : s0;
      T* proj = opt_.training ? reserve_.pre : s_.proj;
      project(t_lo, n, proj);
      detail::StepBarrier barrier(plan.threads);
      RowClaims claims(d_.B, plan.threads);
      run_loop(plan, barrier, [&](int thread, int threads) {
        for_each_share<T>(plan, thread, threads, d_.B, d_.H, &barrier, &claims,
                          [&](const LoopShare& share) {
          for (std::int64_t s = s0; s < s0 + n; ++s) {
            const std::int64_t t = opt_.go_backwards ? d_.T - 1 - s : s;
            step<Cell>(s, t, proj + (t - t_lo) * d_.GH, n * d_.GH, share);
            share.sync();
          }
        });
      });
    }
  }

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

  // bfloat16_matmuls on AMX: both weight matrices rounded to bfloat16 and packed for the tiles.
  void pack_tiles_of_weights() {
    const std::int64_t per_gate = PackedTiles::elements_for(d_.H, d_.H);
    for (std::int64_t g = 0; g < d_.G; ++g) {
      tiles_[g] = {s_.tiles_recurrent + g * per_gate, d_.H, d_.H};
      pack_tiles({as_float(recurrent_kernel_ + g * d_.H), d_.GH, 1}, tiles_[g]);
    }
    kernel_tiles_ = {s_.tiles_kernel, d_.I, d_.GH};
    pack_tiles({as_float(kernel_), d_.GH, 1}, kernel_tiles_);
  }

  void init_states() {
    const std::int64_t n = d_.B * d_.H;
    T* h = s_.h[0];
    if (initial_h_) std::memcpy(h, initial_h_, n * sizeof(T)); else std::fill(h, h + n, T(0));
    if (s_.c) {
      if (initial_c_) std::memcpy(s_.c, initial_c_, n * sizeof(T)); else std::fill(s_.c, s_.c + n, T(0));
    }
    if (mask_) std::fill(s_.last_output, s_.last_output + n, T(0));  // read on masked steps only
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
      if (amx_) {
        amx_gemm(rows, {as_float(x_), d_.I, 1}, kernel_tiles_, as_float(proj), d_.GH, false,
                 threads_);
      } else {
        gemm<T>(rows, d_.GH, d_.I, {x_, d_.I, 1}, {kernel_, d_.GH, 1}, proj, d_.GH, false,
                threads_);
      }
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
      // (Per-gate input dropout masks, a core-API option, stay on the float32 GEMM.)
      if (amx_ && passes == 1) {
        amx_gemm(rows, {as_float(s_.x_chunk), d_.I, 1}, kernel_tiles_, as_float(proj), d_.GH,
                 false, threads_);
      } else {
        gemm<T>(rows, cols, d_.I, {s_.x_chunk, d_.I, 1}, {kernel_ + g * cols, d_.GH, 1},
                proj + g * cols, d_.GH, false, threads_);
      }
    }
  }

  // ---- the time loop ----------------------------------------------------------------------------

  // The recurrent GEMM of gate g for this thread's share: recurrent[rows, g] = A_g[rows] R_g.
  // A is [B, H].
  void recurrent_gemm(int g, const T* A, const LoopShare& share) {
    if (amx_) {
      constexpr std::int64_t W = kPanelWidth<T>;
      amx_gemm_columns(share.rows(), {as_float(A + share.row_begin * d_.H), d_.H, 1}, tiles_[g],
                       share.units.panel_begin * W, std::min(share.units.panel_end * W, d_.H),
                       as_float(s_.recurrent + share.row_begin * d_.GH + g * d_.H), d_.GH, false);
      return;
    }
    if (direct_) {
      gemm_direct<T>(share.rows(), d_.H, d_.H, {A + share.row_begin * d_.H, d_.H, 1},
                     recurrent_kernel_ + g * d_.H, d_.GH,
                     s_.recurrent + share.row_begin * d_.GH + g * d_.H, d_.GH, false,
                     kPanelDepth<T>);
      return;
    }
    gemm_panels(share.rows(), A + share.row_begin * d_.H, d_.H, packed_[g], 0, d_.H,
                share.units.panel_begin, share.units.panel_end,
                s_.recurrent + share.row_begin * d_.GH + g * d_.H, d_.GH, false);
  }

  // The recurrent GEMMs of gates [0, gates). On AMX, h_{t-1} is rounded once for all of them,
  // unless each gate has its own recurrent dropout mask.
  void recurrent_gemms(int gates, std::int64_t s, const LoopShare& share) {
    if (amx_ && recurrent_dropout_.count <= 1) {
      constexpr std::int64_t W = kPanelWidth<T>;
      amx_gemm_gates(share.rows(), {as_float(gemm_input(s, 0) + share.row_begin * d_.H), d_.H, 1},
                     tiles_, gates, share.units.panel_begin * W,
                     std::min(share.units.panel_end * W, d_.H),
                     as_float(s_.recurrent + share.row_begin * d_.GH), d_.GH, d_.H, false);
      return;
    }
    for (int g = 0; g < gates; ++g) recurrent_gemm(g, gemm_input(s, g), share);
  }

  // h_{t-1} as the recurrent GEMM of gate g sees it (recurrent dropout applied).
  const T* gemm_input(std::int64_t s, int g) const {
    const T* h = s_.h[s & 1];
    if (recurrent_dropout_.none()) return h;
    const int slot = recurrent_dropout_.shared() ? 0 : g;
    return s_.dropped_h[s & 1] + slot * d_.B * d_.H;
  }

  template <class Cell>
  void step(std::int64_t s, std::int64_t t, T* proj_t, std::int64_t proj_ld,
            const LoopShare& share) {
    const UnitRange& u = share.units;
    const kernels::CellActivations acts{cell_.activation, cell_.recurrent_activation};
    // Reset-before GRU: the candidate's GEMM reads r * h_{t-1}, so z and r come first.
    const int first_phase_gates = Cell::kResetBefore ? 2 : static_cast<int>(d_.G);
    recurrent_gemms(first_phase_gates, s, share);
    if constexpr (Cell::kResetBefore) {
      for (std::int64_t b = share.row_begin; b < share.row_end; ++b) {
        const kernels::ForwardRow<T> r = forward_row(s, t, b, proj_t + b * proj_ld);
        for_lanes<T>(u, [acts, r](auto ops, std::int64_t j) {
          Cell::template reset_gate<decltype(ops)>(acts, r, j);
        });
      }
      share.sync();
      recurrent_gemm(2, s_.reset_h, share);
    }
    for (std::int64_t b = share.row_begin; b < share.row_end; ++b) {
      const kernels::ForwardRow<T> r = forward_row(s, t, b, proj_t + b * proj_ld);
      const RowCommit w = row_commit(s, t, b);
      for_lanes<T>(u, [this, acts, r, w](auto ops, std::int64_t j) {
        using Ops = decltype(ops);
        typename Ops::V h_prev;
        const typename Ops::V h_new = Cell::template forward<Ops>(acts, r, j, h_prev);
        commit<Ops>(w, j, h_prev, h_new);
      });
    }
  }

  bool real_step(std::int64_t b, std::int64_t t) const { return !mask_ || mask_[b * d_.T + t]; }

  // Row b of step s (original time t) as the cell structs see it; pre is its input projection.
  kernels::ForwardRow<T> forward_row(std::int64_t s, std::int64_t t, std::int64_t b, T* pre) const {
    const std::int64_t H = d_.H, saved = (b * d_.T + t) * H;
    kernels::ForwardRow<T> r;
    r.pre = pre;
    r.rec = s_.recurrent + b * d_.GH;
    r.h_prev = s_.h[s & 1] + b * H;
    r.bias_in = bias_in_;
    r.bias_rec = bias_rec_;
    r.h_gemm = gemm_input(s, 2) + b * H;
    r.reset_h = s_.reset_h + b * H;
    r.c = s_.c ? s_.c + b * H : nullptr;
    r.saved_c = opt_.training && reserve_.c_prev ? reserve_.c_prev + saved : nullptr;
    r.saved_hh = opt_.training && reserve_.hh ? reserve_.hh + saved : nullptr;
    r.real = real_step(b, t);
    r.keep_sums = opt_.training;
    r.H = H;
    return r;
  }

  // Where row b of step s (original time t) writes what every cell shares.
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

  // The tail every cell shares, for the lane at unit j: h_prev is h_{t-1}, h_new the cell's new
  // state. Masked steps keep the state and repeat the last output (or output zeros); then the
  // saved h_{t-1}, the outputs and the next step's dropped h.
  template <class Ops>
  RNNKIT_INLINE void commit(const RowCommit& w, std::int64_t j, typename Ops::V h_prev,
                            typename Ops::V h_new) const {
    using V = typename Ops::V;
    if (w.saved_h) Ops::store(w.saved_h + j, h_prev);
    const V h_kept = w.real ? h_new : h_prev;
    const V out_kept = w.real ? h_new
                              : (opt_.zero_output_for_mask ? Ops::splat(T(0))
                                                           : Ops::load(w.out + j));
    Ops::store(w.h_next + j, h_kept);
    if (mask_) Ops::store(w.out + j, out_kept);
    if (w.sequence) Ops::store(w.sequence + j, out_kept);
    const std::int64_t plane = d_.B * d_.H;
    for (int m = 0; m < recurrent_dropout_.count; ++m) {
      Ops::store(w.dropped + m * plane + j,
                 h_kept * Ops::load(recurrent_dropout_.gate(m) + w.row + j));
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
  const bool amx_ = uses_amx<T>(opt_);
  PackedTiles tiles_[4], kernel_tiles_;
  // Steps up to which a one-thread loop reads R unpacked (gemm_direct).
  static constexpr std::int64_t kDirectSteps = 2;
  bool direct_ = false;
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

RNNKIT_CPU_NAMESPACE_END
