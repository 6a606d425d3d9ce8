// Backward through time: the reverse loop turns output and state gradients into gate gradients
// (one fused pointwise pass per step, the cell's arithmetic from kernels/cell_math.h, plus one
// small GEMM with the packed transposed recurrent weights); the weight and input gradients are
// then ONE large GEMM each over all B*T rows.
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
class BackwardPass {
 public:
  BackwardPass(const CellSpec& cell, const SequenceOptions& options, const BackwardArgs& args,
               const CallSizes& sizes)
      : cell_(cell), opt_(options), args_(args), d_(cell, sizes.batch, sizes.timesteps),
        input_dropout_(args.input_dropout, d_.G, d_.B, d_.I),
        recurrent_dropout_(args.recurrent_dropout, d_.G, d_.B, d_.H) {
    Arena arena(Arena::align(args.workspace.data));
    s_ = BackwardScratch<T>::carve(arena, cell, options, d_);
    reserve_ = Reserve<T>::at(args.reserve.as<T>(), cell, d_);
    mask_ = args.mask.present() ? args.mask.as<const std::uint8_t>() : nullptr;
    d_output_ = args.d_output.as<const T>();
    d_rec_ = s_.d_rec ? s_.d_rec : s_.d_pre;
  }

  void run() {
    const LoopPlan plan = LoopPlan::backward<T>(d_.B, d_.H, d_.GH);
    // A step or two of a few rows on one thread: dot products against R's rows instead of a
    // transposition of R (other bits than the packed path; tiny calls only).
    dot_ = !amx_ && d_.B * d_.T <= kDotRows && plan.threads == 1;
    if (amx_) {
      const T* R = args_.recurrent_kernel.as<const T>();
      for (std::int64_t g = 0; g < d_.G; ++g) {  // R_g^T, k = the gate's H units
        tiles_[g] = {s_.tiles_recurrent_t + g * PackedTiles::elements_for(d_.H, d_.H), d_.H, d_.H};
        pack_tiles({as_float(R + g * d_.H), 1, d_.GH}, tiles_[g]);
      }
    } else if (!dot_) {
      packed_.data = s_.packed_recurrent_t;
      packed_.rows = d_.GH;
      packed_.cols = d_.H;
      packed_.prefetch = PackedPanels<T>::streamed(d_.GH, d_.H);
      pack_panels(args_.recurrent_kernel.as<const T>(), 1, d_.GH, packed_);
    }
    init_gradients();
    detail::StepBarrier barrier(plan.threads);
    RowClaims claims(d_.B, plan.threads);
    run_loop(plan, barrier, [&](int thread, int threads) {
      for_each_share<T>(plan, thread, threads, d_.B, d_.H, &barrier, &claims,
                        [&](const LoopShare& share) {
        kernels::visit_cell(cell_, [&](auto cell) {
          for (std::int64_t s = d_.T - 1; s >= 0; --s) {
            step<decltype(cell)>(s, opt_.go_backwards ? d_.T - 1 - s : s, share);
          }
        });
      });
    });
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

  template <class Cell>
  void step(std::int64_t s, std::int64_t t, const LoopShare& share) {
    const UnitRange& u = share.units;
    for (std::int64_t b = share.row_begin; b < share.row_end; ++b) pointwise_row<Cell>(s, t, b, u);
    share.sync();
    if constexpr (Cell::kResetBefore) {
      const kernels::CellActivations acts{cell_.activation, cell_.recurrent_activation};
      recurrent_gemm(t, 2, 3, share, s_.tmp, false);
      for (std::int64_t b = share.row_begin; b < share.row_end; ++b) {
        if (!real_step(b, t)) {  // zero gate gradients: r * h_in only meets zeros in dR_h
          T* reset_h = s_.seq_h + row(b, t) * d_.H;
          std::fill(reset_h + u.begin, reset_h + u.end, T(0));
          continue;
        }
        const kernels::BackwardRow<T> r = backward_row(t, b, nullptr);
        for_lanes<T>(u, [acts, r](auto ops, std::int64_t j) {
          Cell::template backward_reset<decltype(ops)>(acts, r, j);
        });
      }
      share.sync();
    }
    // The last step's h gradient is the initial state's: skipped when the caller needs none.
    if (s == 0 && !args_.d_initial_h.present()) return;
    recurrent_gradient(t, 0, Cell::kResetBefore ? 2 : static_cast<int>(d_.G), share);
  }

  // C[rows, own units] (+)= dR_t[rows, gates g0..g1) R_g^T for this thread's share, where dR_t
  // holds the recurrent-side gate gradients of time t and C is [B, H].
  void recurrent_gemm(std::int64_t t, int g0, int g1, const LoopShare& share, T* C,
                      bool accumulate) {
    const std::int64_t ld = d_.T * d_.GH;
    if (amx_) {  // gate by gate, the later ones added in
      constexpr std::int64_t W = kPanelWidth<T>;
      const std::int64_t c0 = share.units.panel_begin * W;
      const std::int64_t c1 = std::min(share.units.panel_end * W, d_.H);
      for (int g = g0; g < g1; ++g) {
        amx_gemm_columns(share.rows(),
                         {as_float(d_rec_ + t * d_.GH + share.row_begin * ld + g * d_.H), ld, 1},
                         tiles_[g], c0, c1, as_float(C + share.row_begin * d_.H), d_.H,
                         accumulate || g > g0);
      }
      return;
    }
    if (dot_) {  // one thread: all units of its rows
      gemm_dot<T>(share.rows(), d_.H, (g1 - g0) * d_.H,
                  d_rec_ + t * d_.GH + share.row_begin * ld + g0 * d_.H, ld,
                  args_.recurrent_kernel.as<const T>() + g0 * d_.H, d_.GH,
                  C + share.row_begin * d_.H, d_.H, accumulate);
      return;
    }
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
  template <class Cell>
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
    const kernels::CellActivations acts{cell_.activation, cell_.recurrent_activation};
    const kernels::BackwardRow<T> r = backward_row(t, b, dh_total);
    for_lanes<T>(u, [acts, r](auto ops, std::int64_t j) {
      Cell::template backward<decltype(ops)>(acts, r, j);
    });
  }

  // Row b of original time t as the cell structs see it; dh is the gradient of h_t.
  kernels::BackwardRow<T> backward_row(std::int64_t t, std::int64_t b, const T* dh) const {
    const std::int64_t H = d_.H, saved = row(b, t) * H;
    kernels::BackwardRow<T> r;
    r.pre = reserve_.pre + row(b, t) * d_.GH;
    r.h_prev = reserve_.h_prev + saved;
    r.c_prev = reserve_.c_prev ? reserve_.c_prev + saved : nullptr;
    r.hh = reserve_.hh ? reserve_.hh + saved : nullptr;
    r.dh = dh;
    r.dc = s_.dc + b * H;
    r.dpre = s_.d_pre + row(b, t) * d_.GH;
    r.drec = s_.d_rec ? s_.d_rec + row(b, t) * d_.GH : nullptr;
    r.direct = s_.direct + b * H;
    r.q = s_.tmp + b * H;
    r.mask_h = recurrent_mask(2, b);
    r.reset_h = s_.seq_h + saved;
    r.H = H;
    return r;
  }

  // ---- after the loop: one large GEMM per weight ------------------------------------------------

  void weight_gradients() {
    const std::int64_t n = d_.B * d_.H, rows = d_.B * d_.T;
    if (args_.d_initial_h.present()) std::memcpy(args_.d_initial_h.as<T>(), s_.dh, n * sizeof(T));
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
    const auto sums = [=](std::int64_t chunk) {
      const std::int64_t c0 = chunk * kChunk, c1 = std::min(cols, c0 + kChunk);
      std::fill(out + c0, out + c1, T(0));
      for (std::int64_t r = 0; r < rows; ++r) {
        const T* row = m + r * cols;
        for (std::int64_t c = c0; c < c1; ++c) out[c] += row[c];
      }
    };
    if (team == 1 || rows * cols < (std::int64_t(1) << 14)) {  // too little to wake a team for
      for (std::int64_t chunk = 0; chunk < chunks; ++chunk) sums(chunk);
      return;
    }
    detail::WorkClaims claims(chunks);  // any thread may sum any chunk: claimed
    detail::parallel_claimed(team, [&](int, int) {
      for (std::int64_t chunk; claims.next(chunk);) sums(chunk);
    });
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

  // C[M, N] = A[M, K] B[K, N] outside the time loop: bfloat16 products on AMX tiles for a call
  // made with bfloat16_matmuls (where the CPU has them), else the float32 gemm.
  void product(std::int64_t M, std::int64_t N, std::int64_t K, Operand<T> A, Operand<T> B, T* C,
               std::int64_t ldc) const {
    if (amx_) {
      amx_product(M, N, K, {as_float(A.data), A.row_stride, A.col_stride},
                  {as_float(B.data), B.row_stride, B.col_stride}, as_float(C), ldc, false,
                  threads_);
      return;
    }
    gemm<T>(M, N, K, A, B, C, ldc, false, threads_);
  }

  void input_gradients() {
    const std::int64_t rows = d_.B * d_.T, I = d_.I, GH = d_.GH;
    const T* x = args_.x.as<const T>();
    const T* W = args_.kernel.as<const T>();
    T* dW = args_.d_kernel.as<T>();
    T* dx = args_.d_x.present() ? args_.d_x.as<T>() : nullptr;
    const T* dA = s_.d_pre;
    if (input_dropout_.none()) {
      product(I, GH, rows, {x, 1, I}, {dA, GH, 1}, dW, GH);
      if (dx) product(rows, I, GH, {dA, GH, 1}, {W, 1, GH}, dx, I);
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
      product(I, cols, rows, {x_masked, 1, I}, {dA + g * cols, GH, 1}, dW + g * cols, GH);
      if (!dx) continue;
      product(rows, I, cols, {dA + g * cols, GH, 1}, {W + g * cols, 1, GH}, dx_gate, I);
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
      product(H, H, rows, {s_.seq_h, 1, H}, {dR + 2 * H, GH, 1}, dU + 2 * H, GH);
      gates = 2;
    }
    const T* h_prev = reserve_.h_prev;
    if (recurrent_dropout_.none()) {
      product(H, gates * H, rows, {h_prev, 1, H}, {dR, GH, 1}, dU, GH);
      return;
    }
    const bool shared = recurrent_dropout_.shared();
    for (int g = 0; g < gates; ++g) {
      const std::int64_t c0 = shared ? 0 : g * H, cols = shared ? gates * H : H;
      masked_sequence(h_prev, recurrent_dropout_.gate(g), H, s_.seq_h);
      product(H, cols, rows, {s_.seq_h, 1, H}, {dR + c0, GH, 1}, dU + c0, GH);
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
  const bool amx_ = uses_amx<T>(opt_);
  PackedTiles tiles_[4];
  // Rows (B * T) up to which a one-thread call takes gemm_dot for h's gradient.
  static constexpr std::int64_t kDotRows = 4;
  bool dot_ = false;
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

RNNKIT_CPU_NAMESPACE_END
