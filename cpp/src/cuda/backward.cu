// Backward through time on the GPU: in reverse, ONE fused pointwise kernel per step turns output
// and state gradients into gate gradients (the cell's arithmetic from kernels/cell_math.h), and
// one GEMM with the recurrent weights carries the state gradient back a step; then the weight,
// input and bias gradients are ONE large GEMM each over all B*T rows. No reduction uses atomics:
// the results are the same bit for bit on every run.
#include <algorithm>

#include "cuda/check.h"
#include "cuda/device_ops.cuh"
#include "cuda/elementwise.cuh"
#include "cuda/kernels.h"
#include "cuda/plan.h"
#include "kernels/cell_math.h"

namespace rnnkit::cuda {

namespace {

// What one step's backward kernels read and write; [B, T, .] buffers at (b, t) = (0, 0).
template <typename T>
struct BackwardStep {
  kernels::CellActivations acts;
  Reserve<T> reserve;
  const T* d_output;       // [B, T, H] with return_sequences, else [B, H]
  T* dh;                   // [B, H] gradient of h_t through later steps
  T* dc;                   // [B, H] LSTM
  T* carry;                // [B, H]
  T* direct;               // [B, H]
  T* dh_total;             // [B, H]
  T* d_pre;                // [B, T, G*H]
  T* d_rec;                // [B, T, G*H] or null
  const T* q;              // [B, H] reset-before GRU: dL/d(r * h_in)
  const T* mask_h;         // [B, H] the candidate gate's recurrent dropout, or null
  T* reset_h;              // [B, T, H] reset-before GRU: r * h_in, for dR_h
  const std::uint8_t* mask;  // [B, T] or null
  bool return_sequences, zero_output_for_mask;
  std::int64_t B, steps, H, G, GH;
  std::int64_t s, t;

  __device__ __forceinline__ bool real(std::int64_t b) const { return !mask || mask[b * steps + t]; }

  __device__ __forceinline__ kernels::BackwardRow<T> row(std::int64_t b) const {
    const std::int64_t at = b * steps + t, saved = at * H;
    kernels::BackwardRow<T> r;
    r.pre = reserve.pre + at * GH;
    r.h_prev = reserve.h_prev + saved;
    r.c_prev = reserve.c_prev ? reserve.c_prev + saved : nullptr;
    r.hh = reserve.hh ? reserve.hh + saved : nullptr;
    r.dh = dh_total + b * H;
    r.dc = dc + b * H;
    r.dpre = d_pre + at * GH;
    r.drec = d_rec ? d_rec + at * GH : nullptr;
    r.direct = direct + b * H;
    r.q = q + b * H;
    r.mask_h = mask_h ? mask_h + b * H : nullptr;
    r.reset_h = reset_h + saved;
    r.H = H;
    return r;
  }
};

// The output gradient of (b, s) plus what masked later steps carried back, routed to h_t; then
// the cell's backward (real steps) or the pass-through of a masked step. As the CPU's
// pointwise_row, one thread per (row, unit).
template <class Cell, typename T>
__global__ void backward_step_kernel(BackwardStep<T> p) {
  RNNKIT_GRID_STRIDE(k, p.B * p.H) {
    const std::int64_t b = k / p.H, j = k % p.H, at = b * p.H + j;
    T dy = T(0);
    if (p.return_sequences) dy = p.d_output[(b * p.steps + p.s) * p.H + j];
    else if (p.s == p.steps - 1) dy = p.d_output[at];
    const T total = p.carry[at] + dy;
    if (!p.real(b)) {
      // The state passes through unchanged; the output repeated the previous one (or was zero).
      p.carry[at] = p.zero_output_for_mask ? T(0) : total;
      p.direct[at] = p.dh[at];
      const std::int64_t row = (b * p.steps + p.t) * p.GH;
      for (std::int64_t g = 0; g < p.G; ++g) {
        p.d_pre[row + g * p.H + j] = T(0);
        if (p.d_rec) p.d_rec[row + g * p.H + j] = T(0);
      }
      continue;
    }
    p.dh_total[at] = total + p.dh[at];
    p.carry[at] = T(0);
    Cell::template backward<DeviceOps<T>>(p.acts, p.row(b), j);
  }
}

// Reset-before GRU, after q = d_cand R_h^T: the reset gate's gradient and r * h_in for dR_h.
template <class Cell, typename T>
__global__ void backward_reset_kernel(BackwardStep<T> p) {
  RNNKIT_GRID_STRIDE(k, p.B * p.H) {
    const std::int64_t b = k / p.H, j = k % p.H;
    if (!p.real(b)) {  // zero gate gradients: r * h_in only meets zeros in dR_h
      p.reset_h[(b * p.steps + p.t) * p.H + j] = T(0);
      continue;
    }
    Cell::template backward_reset<DeviceOps<T>>(p.acts, p.row(b), j);
  }
}

template <typename T>
class BackwardPass {
 public:
  BackwardPass(const CellSpec& cell, const SequenceOptions& options, const BackwardArgs& args,
               const CallSizes& sizes, const Gpu& gpu)
      : cell_(cell), opt_(options), args_(args), gpu_(gpu), d_(cell, sizes.batch, sizes.timesteps) {
    Arena arena(Arena::align(args.workspace.data));
    s_ = BackwardScratch<T>::carve(arena, cell, d_);
    reserve_ = Reserve<T>::at(args.reserve.as<T>(), cell, d_);
    input_dropout_count_ = dropout_count(args.input_dropout);
    recurrent_dropout_count_ = dropout_count(args.recurrent_dropout);
    d_rec_ = s_.d_rec ? s_.d_rec : s_.d_pre;
  }

  void run() {
    kernels::visit_cell(cell_, [this](auto cell) { run_cell<decltype(cell)>(); });
  }

 private:
  int dropout_count(const TensorView& mask) const {
    if (!mask.present()) return 0;
    return mask.rank == 3 ? static_cast<int>(d_.G) : 1;
  }
  cudaStream_t stream() const { return gpu_.stream(); }
  std::int64_t plane() const { return d_.B * d_.H; }
  const T* R() const { return args_.recurrent_kernel.as<const T>(); }
  const T* recurrent_mask(int g) const {
    if (recurrent_dropout_count_ == 0) return nullptr;
    return args_.recurrent_dropout.as<const T>() + (recurrent_dropout_count_ == 1 ? 0 : g) * plane();
  }
  const T* input_mask(int g) const {
    return args_.input_dropout.as<const T>() + (input_dropout_count_ == 1 ? 0 : g) * d_.B * d_.I;
  }

  template <class Cell>
  void run_cell() {
    const std::int64_t n = plane();
    copy_or_zero(stream(), s_.dh, args_.d_final_h.present() ? args_.d_final_h.as<const T>() : nullptr, n);
    copy_or_zero(stream(), s_.dc, args_.d_final_c.present() ? args_.d_final_c.as<const T>() : nullptr, n);
    copy_or_zero<T>(stream(), s_.carry, nullptr, n);
    for (std::int64_t s = d_.T - 1; s >= 0; --s) step<Cell>(s, opt_.go_backwards ? d_.T - 1 - s : s);
    weight_gradients();
  }

  BackwardStep<T> step_args(std::int64_t s, std::int64_t t) const {
    BackwardStep<T> p;
    p.acts = {cell_.activation, cell_.recurrent_activation};
    p.reserve = reserve_;
    p.d_output = args_.d_output.as<const T>();
    p.dh = s_.dh;
    p.dc = s_.dc;
    p.carry = s_.carry;
    p.direct = s_.direct;
    p.dh_total = s_.dh_total;
    p.d_pre = s_.d_pre;
    p.d_rec = s_.d_rec;
    p.q = s_.tmp;
    p.mask_h = recurrent_mask(2);
    p.reset_h = s_.seq_h;
    p.mask = args_.mask.present() ? args_.mask.as<const std::uint8_t>() : nullptr;
    p.return_sequences = opt_.return_sequences;
    p.zero_output_for_mask = opt_.zero_output_for_mask;
    p.B = d_.B;
    p.steps = d_.T;
    p.H = d_.H;
    p.G = d_.G;
    p.GH = d_.GH;
    p.s = s;
    p.t = t;
    return p;
  }

  template <class Cell>
  void step(std::int64_t s, std::int64_t t) {
    const BackwardStep<T> p = step_args(s, t);
    const unsigned int blocks = blocks_for(plane());
    launch(&backward_step_kernel<Cell, T>, blocks, kThreads, stream(), p);
    if constexpr (Cell::kResetBefore) {
      // q = d_cand R_h^T (the candidate's recurrent-side gradient is its input-side one).
      recurrent_gemm(t, 2, 3, s_.tmp, T(0));
      launch(&backward_reset_kernel<Cell, T>, blocks, kThreads, stream(), p);
    }
    recurrent_gradient(t, 0, Cell::kResetBefore ? 2 : static_cast<int>(d_.G));
  }

  // C[B, H] = dR_t[:, g0*H .. g1*H) R[:, g0*H .. g1*H)^T + beta * C, where dR_t holds the
  // recurrent-side gate gradients of time t.
  void recurrent_gemm(std::int64_t t, int g0, int g1, T* C, T beta) {
    const std::int64_t ld = d_.T * d_.GH;
    gpu_.gemm<T>(d_.B, d_.H, (g1 - g0) * d_.H, {d_rec_ + t * d_.GH + g0 * d_.H, ld},
                 {R() + g0 * d_.H, d_.GH, true}, C, d_.H, beta);
  }

  // dh = direct + sum over gates [g0, g1) of (dR_g R_g^T) * recurrent_mask_g.
  void recurrent_gradient(std::int64_t t, int g0, int g1) {
    // Only GRU's z * h_{t-1} and masked steps make the direct path non-zero.
    const bool direct = args_.mask.present() || cell_.kind == CellKind::gru;
    if (recurrent_dropout_count_ == 0) {
      if (direct) copy_or_zero(stream(), s_.dh, static_cast<const T*>(s_.direct), plane());
      recurrent_gemm(t, g0, g1, s_.dh, direct ? T(1) : T(0));
      return;
    }
    copy_or_zero(stream(), s_.dh, static_cast<const T*>(s_.direct), plane());
    const bool shared = recurrent_dropout_count_ == 1;
    for (int g = g0; g < g1; ++g) {
      recurrent_gemm(t, shared ? g0 : g, shared ? g1 : g + 1, s_.tmp, T(0));
      times_mask(stream(), s_.dh, static_cast<const T*>(s_.tmp), recurrent_mask(g), plane(), true);
      if (shared) break;
    }
  }

  // ---- after the loop: one large GEMM per weight ------------------------------------------------

  void weight_gradients() {
    const std::int64_t n = plane(), rows = d_.B * d_.T;
    if (args_.d_initial_h.present()) {
      copy_or_zero(stream(), args_.d_initial_h.as<T>(), static_cast<const T*>(s_.dh), n);
    }
    if (args_.d_initial_c.present()) {
      copy_or_zero(stream(), args_.d_initial_c.as<T>(), static_cast<const T*>(s_.dc), n);
    }
    if (args_.d_bias.present()) {
      // d_bias = ones^T dA: a GEMM sums the rows in a fixed order (no atomics).
      fill(stream(), s_.ones, T(1), rows);
      T* db = args_.d_bias.as<T>();
      gpu_.gemm<T>(1, d_.GH, rows, {s_.ones, rows}, {s_.d_pre, d_.GH}, db, d_.GH);
      if (s_.d_rec) gpu_.gemm<T>(1, d_.GH, rows, {s_.ones, rows}, {s_.d_rec, d_.GH}, db + d_.GH, d_.GH);
    }
    input_gradients();
    recurrent_kernel_gradient();
  }

  void input_gradients() {
    const std::int64_t rows = d_.B * d_.T, I = d_.I, GH = d_.GH;
    const T* x = args_.x.as<const T>();
    const T* W = args_.kernel.as<const T>();
    T* dW = args_.d_kernel.as<T>();
    T* dx = args_.d_x.present() ? args_.d_x.as<T>() : nullptr;
    const T* dA = s_.d_pre;
    if (input_dropout_count_ == 0) {
      gpu_.gemm<T>(I, GH, rows, {x, I, true}, {dA, GH}, dW, GH);
      if (dx) gpu_.gemm<T>(rows, I, GH, {dA, GH}, {W, GH, true}, dx, I);
      return;
    }
    const bool shared = input_dropout_count_ == 1;
    const std::int64_t cols = shared ? GH : d_.H;
    T* x_masked = s_.seq_x[0];
    T* dx_gate = shared ? dx : s_.seq_x[1];
    for (int g = 0; g < input_dropout_count_; ++g) {
      const T* m = input_mask(g);
      sequence_times_mask(stream(), x_masked, x, m, d_.B, d_.T, I);
      gpu_.gemm<T>(I, cols, rows, {x_masked, I, true}, {dA + g * cols, GH}, dW + g * cols, GH);
      if (!dx) continue;
      gpu_.gemm<T>(rows, I, cols, {dA + g * cols, GH}, {W + g * cols, GH, true}, dx_gate, I);
      // Shared: dx = dx_gate * m in place; per gate: dx (=, then +=) dx_gate * m.
      sequence_times_mask(stream(), dx, static_cast<const T*>(dx_gate), m, d_.B, d_.T, I,
                          !shared && g > 0);
    }
  }

  void recurrent_kernel_gradient() {
    const std::int64_t rows = d_.B * d_.T, H = d_.H, GH = d_.GH;
    T* dU = args_.d_recurrent_kernel.as<T>();
    const T* dR = d_rec_;
    std::int64_t gates = d_.G;
    if (cell_.kind == CellKind::gru && !cell_.reset_after) {
      // The candidate's recurrent GEMM read r * h_in, kept by the loop in seq_h.
      gpu_.gemm<T>(H, H, rows, {s_.seq_h, H, true}, {dR + 2 * H, GH}, dU + 2 * H, GH);
      gates = 2;
    }
    const T* h_prev = reserve_.h_prev;
    if (recurrent_dropout_count_ == 0) {
      gpu_.gemm<T>(H, gates * H, rows, {h_prev, H, true}, {dR, GH}, dU, GH);
      return;
    }
    const bool shared = recurrent_dropout_count_ == 1;
    // seq_h held the reset-before GRU's r * h_in, whose GEMM above is queued first.
    T* masked = s_.seq_h;
    for (int g = 0; g < gates; ++g) {
      const std::int64_t c0 = shared ? 0 : g * H, cols = shared ? gates * H : H;
      sequence_times_mask(stream(), masked, h_prev, recurrent_mask(g), d_.B, d_.T, H);
      gpu_.gemm<T>(H, cols, rows, {masked, H, true}, {dR + c0, GH}, dU + c0, GH);
      if (shared) break;
    }
  }

  const CellSpec& cell_;
  const SequenceOptions& opt_;
  const BackwardArgs& args_;
  const Gpu& gpu_;
  Dims d_;
  BackwardScratch<T> s_{};
  Reserve<T> reserve_{};
  int input_dropout_count_ = 0, recurrent_dropout_count_ = 0;
  T* d_rec_ = nullptr;
};

}  // namespace

template <typename T>
void backward(const CellSpec& cell, const SequenceOptions& options, const BackwardArgs& args,
              const CallSizes& sizes, const ExecutionContext& context) {
  Gpu gpu(context);
  const Dims d(cell, sizes.batch, sizes.timesteps);
  const std::uint64_t key =
      call_key(cell, options, d, sizes.dtype, true, context.allow_tf32,
               {&args.bias, &args.initial_h, &args.initial_c, &args.mask, &args.input_dropout,
                &args.recurrent_dropout, &args.d_final_h, &args.d_final_c, &args.d_x});
  gpu.run(key, context.use_graph, [&] { BackwardPass<T>(cell, options, args, sizes, gpu).run(); });
}

template void backward<float>(const CellSpec&, const SequenceOptions&, const BackwardArgs&,
                              const CallSizes&, const ExecutionContext&);
template void backward<double>(const CellSpec&, const SequenceOptions&, const BackwardArgs&,
                               const CallSizes&, const ExecutionContext&);

}  // namespace rnnkit::cuda
