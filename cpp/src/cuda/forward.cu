// Forward over a whole sequence on the GPU: ONE cuBLAS GEMM projects the inputs of all timesteps;
// each step then runs one GEMM against the recurrent weights and ONE fused pointwise kernel (the
// cell's arithmetic from kernels/cell_math.h, plus the mask select, outputs, reserve stores and
// the next step's recurrent dropout). The time loop is recorded into a CUDA graph (blas.h).
#include <algorithm>

#include "cuda/check.h"
#include "cuda/device_ops.cuh"
#include "cuda/elementwise.cuh"
#include "cuda/kernels.h"
#include "cuda/plan.h"
#include "kernels/cell_math.h"
#include "plan/reserve_stamp.h"

namespace rnnkit::cuda {

namespace {

// Everything one step's pointwise kernels read and write; [B, T, .] buffers at (b, t) = (0, 0).
template <typename T>
struct ForwardStep {
  kernels::CellActivations acts;
  T* proj;                 // [B, T, G*H] the input projection; becomes the gate pre-activations
  const T* recurrent;      // [B, G*H] this step's h_{t-1} R
  const T* h_cur;          // [B, H] h_{t-1}
  T* h_next;               // [B, H] h_t
  const T* bias_in;        // [G*H] (zeros when absent)
  const T* bias_rec;       // [G*H] GRU reset_after: recurrent bias (zeros when absent)
  const T* h_gemm;         // [B, H] reset-before GRU: h_{t-1} as the candidate's GEMM reads it
  T* reset_h;              // [B, H] reset-before GRU: r * h_gemm
  T* c;                    // [B, H] LSTM carry, or null
  T* saved_h;              // reserve h_prev, or null (inference)
  T* saved_c;              // reserve c_prev, or null
  T* saved_hh;             // reserve hh, or null
  T* last_output;          // [B, H]
  T* sequence;             // output [B, T, H] with return_sequences, else null
  const std::uint8_t* mask;  // [B, T] or null
  const T* recurrent_dropout;  // [count, B, H] or null
  T* dropped_next;         // [count, B, H] h_t * recurrent_dropout for the next step's GEMM
  int dropout_count;
  bool zero_output_for_mask;
  std::int64_t B, steps, H, GH;
  std::int64_t s, t;       // processing step, original time

  __device__ __forceinline__ kernels::ForwardRow<T> row(std::int64_t b) const {
    const std::int64_t saved = (b * steps + t) * H;
    kernels::ForwardRow<T> r;
    r.pre = proj + (b * steps + t) * GH;
    r.rec = recurrent + b * GH;
    r.h_prev = h_cur + b * H;
    r.bias_in = bias_in;
    r.bias_rec = bias_rec;
    r.h_gemm = h_gemm + b * H;
    r.reset_h = reset_h + b * H;
    r.c = c ? c + b * H : nullptr;
    r.saved_c = saved_c ? saved_c + saved : nullptr;
    r.saved_hh = saved_hh ? saved_hh + saved : nullptr;
    r.real = !mask || mask[b * steps + t];
    r.keep_sums = true;  // as before; skipping the stores at inference is not measured here
    r.H = H;
    return r;
  }
};

// Reset-before GRU, first phase: z summed, r activated, r * h_{t-1} for the candidate's GEMM.
template <class Cell, typename T>
__global__ void reset_gate_kernel(ForwardStep<T> p) {
  RNNKIT_GRID_STRIDE(k, p.B * p.H) {
    const std::int64_t b = k / p.H, j = k % p.H;
    Cell::template reset_gate<DeviceOps<T>>(p.acts, p.row(b), j);
  }
}

// One step of every (row, unit): the cell, then what every cell shares (as the CPU's commit).
template <class Cell, typename T>
__global__ void forward_step_kernel(ForwardStep<T> p) {
  RNNKIT_GRID_STRIDE(k, p.B * p.H) {
    const std::int64_t b = k / p.H, j = k % p.H, at = b * p.H + j;
    const kernels::ForwardRow<T> r = p.row(b);
    T h_prev;
    const T h_new = Cell::template forward<DeviceOps<T>>(p.acts, r, j, h_prev);
    if (p.saved_h) p.saved_h[(b * p.steps + p.t) * p.H + j] = h_prev;
    const T h_kept = r.real ? h_new : h_prev;
    const T out_kept = r.real ? h_new : (p.zero_output_for_mask ? T(0) : p.last_output[at]);
    p.h_next[at] = h_kept;
    if (p.mask) p.last_output[at] = out_kept;
    if (p.sequence) p.sequence[(b * p.steps + p.s) * p.H + j] = out_kept;
    const std::int64_t plane = p.B * p.H;
    for (int m = 0; m < p.dropout_count; ++m) {
      p.dropped_next[m * plane + at] = h_kept * p.recurrent_dropout[m * plane + at];
    }
  }
}

// Writes the stamp (its fingerprint computed here, from device memory) to the reserve's trailer.
__global__ void write_stamp_kernel(plan::StampInputs inputs, plan::ReserveStamp stamp,
                                   unsigned char* to, int trailer_bytes) {
  if (blockIdx.x != 0 || threadIdx.x != 0) return;
  stamp.words[6] = plan::fingerprint_inputs(inputs);
  for (int b = 8 * plan::kStampWords; b < trailer_bytes; ++b) to[b] = 0;
  for (int w = 0; w < plan::kStampWords; ++w) {
    for (int b = 0; b < 8; ++b) to[w * 8 + b] = static_cast<unsigned char>(stamp.words[w] >> (8 * b));
  }
}

template <typename T>
class ForwardPass {
 public:
  ForwardPass(const CellSpec& cell, const SequenceOptions& options, const ForwardArgs& args,
              const CallSizes& sizes, const Gpu& gpu)
      : cell_(cell), opt_(options), args_(args), gpu_(gpu), d_(cell, sizes.batch, sizes.timesteps) {
    Arena arena(Arena::align(args.workspace.data));
    s_ = ForwardScratch<T>::carve(arena, cell, options, d_);
    if (options.training) reserve_ = Reserve<T>::at(args.reserve.as<T>(), cell, d_);
    input_dropout_count_ = dropout_count(args.input_dropout);
    recurrent_dropout_count_ = dropout_count(args.recurrent_dropout);
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
  T* proj() const { return opt_.training ? reserve_.pre : s_.proj; }
  const T* bias_in() const { return args_.bias.present() ? args_.bias.as<const T>() : s_.zeros; }
  const T* bias_rec() const {
    return has_candidate_projection(cell_) && args_.bias.present() ? bias_in() + d_.GH : s_.zeros;
  }
  const T* recurrent_mask(int g) const {
    return args_.recurrent_dropout.as<const T>() + (recurrent_dropout_count_ == 1 ? 0 : g) * plane();
  }

  template <class Cell>
  void run_cell() {
    RNNKIT_CUDA_CHECK(cudaMemsetAsync(s_.zeros, 0, 2 * d_.GH * sizeof(T), stream()));
    init_states();
    project();
    for (std::int64_t s = 0; s < d_.T; ++s) step<Cell>(s, opt_.go_backwards ? d_.T - 1 - s : s);
    finish();
    if (opt_.training) {
      const DType dtype = sizeof(T) == 8 ? DType::float64 : DType::float32;
      launch(&write_stamp_kernel, 1, 1, stream(), plan::stamp_inputs(args_),
             plan::make_stamp(cell_, opt_, dtype, d_, 0),
             static_cast<unsigned char*>(args_.reserve.data) +
                 plan::stamp_offset_bytes(cell_, d_, dtype),
             static_cast<int>(plan::kStampElements * sizeof(T)));
    }
  }

  void init_states() {
    const std::int64_t n = plane();
    copy_or_zero(stream(), s_.h[0], args_.initial_h.present() ? args_.initial_h.as<const T>() : nullptr, n);
    if (s_.c) copy_or_zero(stream(), s_.c, args_.initial_c.present() ? args_.initial_c.as<const T>() : nullptr, n);
    copy_or_zero<T>(stream(), s_.last_output, nullptr, n);
    for (int g = 0; g < recurrent_dropout_count_; ++g) {
      times_mask(stream(), s_.dropped_h[0] + g * n, s_.h[0], recurrent_mask(g), n);
    }
  }

  // proj[b, t, :] = (x[b, t, :] * input_dropout) W, bias excluded: the step kernel adds it.
  void project() {
    const std::int64_t rows = d_.B * d_.T;
    const T* x = args_.x.as<const T>();
    const T* W = args_.kernel.as<const T>();
    if (input_dropout_count_ == 0) {
      gpu_.gemm<T>(rows, d_.GH, d_.I, {x, d_.I}, {W, d_.GH}, proj(), d_.GH);
      return;
    }
    const std::int64_t cols = input_dropout_count_ == 1 ? d_.GH : d_.H;
    for (int g = 0; g < input_dropout_count_; ++g) {
      const T* m = args_.input_dropout.as<const T>() + g * d_.B * d_.I;
      sequence_times_mask(stream(), s_.x_masked, x, m, d_.B, d_.T, d_.I);
      gpu_.gemm<T>(rows, cols, d_.I, {s_.x_masked, d_.I}, {W + g * cols, d_.GH}, proj() + g * cols, d_.GH);
    }
  }

  // h_{t-1} as the recurrent GEMM of gate g reads it (recurrent dropout applied).
  const T* gemm_input(std::int64_t s, int g) const {
    if (recurrent_dropout_count_ == 0) return s_.h[s & 1];
    return s_.dropped_h[s & 1] + (recurrent_dropout_count_ == 1 ? 0 : g) * plane();
  }

  // recurrent[:, g0*H .. g1*H) = h_in R[:, g0*H .. g1*H), one GEMM when the gates share an input.
  void recurrent_gemm(std::int64_t s, int g0, int g1) {
    const T* R = args_.recurrent_kernel.as<const T>();
    if (recurrent_dropout_count_ <= 1) {
      gpu_.gemm<T>(d_.B, (g1 - g0) * d_.H, d_.H, {gemm_input(s, g0), d_.H}, {R + g0 * d_.H, d_.GH},
                   s_.recurrent + g0 * d_.H, d_.GH);
      return;
    }
    for (int g = g0; g < g1; ++g) {
      gpu_.gemm<T>(d_.B, d_.H, d_.H, {gemm_input(s, g), d_.H}, {R + g * d_.H, d_.GH},
                   s_.recurrent + g * d_.H, d_.GH);
    }
  }

  ForwardStep<T> step_args(std::int64_t s, std::int64_t t) const {
    ForwardStep<T> p;
    p.acts = {cell_.activation, cell_.recurrent_activation};
    p.proj = proj();
    p.recurrent = s_.recurrent;
    p.h_cur = s_.h[s & 1];
    p.h_next = s_.h[(s + 1) & 1];
    p.bias_in = bias_in();
    p.bias_rec = bias_rec();
    p.h_gemm = gemm_input(s, 2);
    p.reset_h = s_.reset_h;
    p.c = s_.c;
    p.saved_h = opt_.training ? reserve_.h_prev : nullptr;
    p.saved_c = opt_.training ? reserve_.c_prev : nullptr;
    p.saved_hh = opt_.training ? reserve_.hh : nullptr;
    p.last_output = s_.last_output;
    p.sequence = opt_.return_sequences ? args_.output.as<T>() : nullptr;
    p.mask = args_.mask.present() ? args_.mask.as<const std::uint8_t>() : nullptr;
    p.recurrent_dropout = recurrent_dropout_count_ ? args_.recurrent_dropout.as<const T>() : nullptr;
    p.dropped_next = s_.dropped_h[(s + 1) & 1];
    p.dropout_count = recurrent_dropout_count_;
    p.zero_output_for_mask = opt_.zero_output_for_mask;
    p.B = d_.B;
    p.steps = d_.T;
    p.H = d_.H;
    p.GH = d_.GH;
    p.s = s;
    p.t = t;
    return p;
  }

  template <class Cell>
  void step(std::int64_t s, std::int64_t t) {
    const ForwardStep<T> p = step_args(s, t);
    const unsigned int blocks = blocks_for(plane());
    if constexpr (Cell::kResetBefore) {
      recurrent_gemm(s, 0, 2);
      launch(&reset_gate_kernel<Cell, T>, blocks, kThreads, stream(), p);
      const T* R = args_.recurrent_kernel.as<const T>();
      gpu_.gemm<T>(d_.B, d_.H, d_.H, {s_.reset_h, d_.H}, {R + 2 * d_.H, d_.GH},
                   s_.recurrent + 2 * d_.H, d_.GH);
    } else {
      recurrent_gemm(s, 0, static_cast<int>(d_.G));
    }
    launch(&forward_step_kernel<Cell, T>, blocks, kThreads, stream(), p);
  }

  void finish() {
    const std::int64_t n = plane();
    const T* h = s_.h[d_.T & 1];
    copy_or_zero(stream(), args_.final_h.as<T>(), h, n);
    if (s_.c) copy_or_zero(stream(), args_.final_c.as<T>(), static_cast<const T*>(s_.c), n);
    if (!opt_.return_sequences) {
      copy_or_zero(stream(), args_.output.as<T>(), args_.mask.present() ? s_.last_output : h, n);
    }
  }

  const CellSpec& cell_;
  const SequenceOptions& opt_;
  const ForwardArgs& args_;
  const Gpu& gpu_;
  Dims d_;
  ForwardScratch<T> s_{};
  Reserve<T> reserve_{};
  int input_dropout_count_ = 0, recurrent_dropout_count_ = 0;
};

}  // namespace

template <typename T>
void forward(const CellSpec& cell, const SequenceOptions& options, const ForwardArgs& args,
             const CallSizes& sizes, const ExecutionContext& context) {
  Gpu gpu(context);
  const Dims d(cell, sizes.batch, sizes.timesteps);
  const std::uint64_t key =
      call_key(cell, options, d, sizes.dtype, false, context.allow_tf32,
               {&args.bias, &args.initial_h, &args.initial_c, &args.mask, &args.input_dropout,
                &args.recurrent_dropout});
  gpu.run(key, context.use_graph, [&] { ForwardPass<T>(cell, options, args, sizes, gpu).run(); });
}

template void forward<float>(const CellSpec&, const SequenceOptions&, const ForwardArgs&,
                             const CallSizes&, const ExecutionContext&);
template void forward<double>(const CellSpec&, const SequenceOptions&, const ForwardArgs&,
                              const CallSizes&, const ExecutionContext&);

}  // namespace rnnkit::cuda
