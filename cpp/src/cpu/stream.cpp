// The streaming step (rnnkit::Stream): per step, the input and the recurrent products of each
// batch row against weights packed once, then the cell's fused pointwise pass (the cell structs
// of kernels/cell_math.h over the lanes of cpu/lanes.h, as forward.cpp runs them).
//
// Same bits as forward(): every product element is the chain of fused multiply-adds over k, from
// zero, in passes of the depth the big GEMMs use (kGemmDepth for x W, kPanelDepth for h R), the
// passes added in k order; the pointwise pass is the same code. The speed at B = 1 comes from
// running several column panels at once (eight independent accumulator chains instead of the
// micro-tile's two), with no packing, thread team or zero-fill per call; run() computes the input
// products of a chunk of steps before their recurrent parts (project()).
//
// The weights may be stored in 16 bits (StreamOptions::weight_format): only how a panel row is
// read changes (load_row), so the products are those of the float32 stream with the rounded
// weights, in the same order.
#include "cpu/stream.h"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <type_traits>
#include <new>
#include <utility>
#include <vector>

#include "cpu/gemm.h"
#include "cpu/lanes.h"
#include "cpu/partition.h"
#include "cpu/simd.h"
#include "kernels/cell_math.h"

#if defined(__F16C__)
#include <immintrin.h>
#endif

RNNKIT_CPU_NAMESPACE_BEGIN

namespace {

// Packed weights as groups of up to four column panels of W = kPanelWidth<T> columns, each group
// stored k-major ([K, np * W]: the np panels' rows of one k side by side), so that one pass over
// the group reads one contiguous stream. Panel p of a group holds output columns
// [col[p], col[p] + width[p]), zero-padded to W. S is the stored type: T itself, or the 16 bits of
// a bfloat16 / float16 weight (StreamOptions::weight_format) for T = float.
constexpr int kGroupPanels = 4;

template <typename S>
struct PanelGroup {
  S* data = nullptr;
  int np = 0;
  std::int64_t col[kGroupPanels] = {};
  int width[kGroupPanels] = {};
};

// How a panel row of W columns is stored and read back as two SIMD vectors (columns [0, L) and
// [L, 2L)):
//   same        T as is, columns in order;
//   bf16        bfloat16, interleaved: 16-bit element 2i holds column i, 2i + 1 column L + i, so
//               that one load of L 32-bit lanes gives both vectors with a shift (the even
//               elements) and a mask (the odd ones), no shuffle;
//   f16_bits    float16, interleaved as bf16, widened with integer operations and one multiply
//               (exact for every finite half, subnormals included): the levels without F16C;
//   f16c        float16, columns in order, widened by F16C's vcvtph2ps (the AVX2 and AVX-512
//               levels; the AVX-512 variant is compiled but cannot be run on the machines this
//               was written on).
enum class Code { same, bf16, f16_bits, f16c };

template <Code C>
constexpr bool kInterleaved = C == Code::bf16 || C == Code::f16_bits;

// 32-bit unsigned lanes, as many as the float vector has.
using UintVec = std::uint32_t __attribute__((vector_size(kVectorBytes)));

// The float of a finite half's bits held in the low 16 bits of each lane (the high bits zero).
// A normal half's magnitude bits moved into float position, plus 112 in the exponent (the biases
// differ by 112), are its float. A subnormal half (exponent 0, value m * 2^-24) goes through the
// normal float 2^-14 + m * 2^-24 (exponent field 113), less 2^-14: exact, and no float denormal
// on the way, which the kernels' flush-to-zero mode would read as zero (thread_pool.h).
template <typename V, typename U>
RNNKIT_INLINE V widen_half_bits(U h) {
  const U magnitude = (h & 0x7fffu) << 13;
  const U subnormal = (h & 0x7c00u) == 0;  // all ones where true
  const U normal_bits = magnitude + (112u << 23);
  const V lifted = (V)(magnitude + (113u << 23)) - 0x1p-14f;  // vector casts reinterpret bits
  const U bits = (subnormal & (U)lifted) | (~subnormal & normal_bits);
  return (V)(bits | ((h & 0x8000u) << 16));
}

// The two vectors of the W-column row at `row` (stored as S per Code C).
template <typename V, Code C, typename S>
RNNKIT_INLINE void load_row(const S* row, V& lo, V& hi) {
  [[maybe_unused]] constexpr int L = static_cast<int>(sizeof(V) / sizeof(float));
  if constexpr (C == Code::same) {
    constexpr int LT = static_cast<int>(sizeof(V) / sizeof(S));
    lo = load<V>(row);
    hi = load<V>(row + LT);
  } else if constexpr (C == Code::f16c) {
#if defined(__F16C__)
    if constexpr (L == 16) {
#if defined(__AVX512F__)
      lo = (V)(_mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(row))));
      hi = (V)(_mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(row + L))));
#endif
    } else if constexpr (L == 8) {
      lo = (V)(_mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(row))));
      hi = (V)(_mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(row + L))));
    }
#endif
  } else {
    using U = UintVec;
    const U u = load<U>(row);
    if constexpr (C == Code::bf16) {
      const U even = u << 16, odd = u & 0xffff0000u;
      lo = (V)even;
      hi = (V)odd;
    } else {
      lo = widen_half_bits<V>(u & 0xffffu);
      hi = widen_half_bits<V>(u >> 16);
    }
  }
}

// C[col[p] ..] = a[0 .. K) * panel p of the group, in passes of `depth` added in k order. The
// products and their order do not depend on C: only how the weights are read does.
template <typename T, int NP, Code C, typename S>
RNNKIT_INLINE void panel_group(const PanelGroup<S>& g, std::int64_t K, std::int64_t depth,
                               const T* a, T* out) {
  using V = typename SimdOf<T>::type;
  constexpr int L = static_cast<int>(sizeof(V) / sizeof(T));
  constexpr int W = 2 * L;
  const S* b = g.data;
  for (std::int64_t k0 = 0; k0 < K; k0 += depth) {
    const std::int64_t k1 = std::min(K, k0 + depth);
    V acc[2 * NP];
#pragma GCC unroll 8
    for (int p = 0; p < 2 * NP; ++p) acc[p] = V{};
    for (std::int64_t k = k0; k < k1; ++k) {
      const T av = a[k];
      const S* row = b + k * (NP * W);
#pragma GCC unroll 4
      for (int p = 0; p < NP; ++p) {
        V lo, hi;
        load_row<V, C>(row + p * W, lo, hi);
        acc[2 * p] += av * lo;
        acc[2 * p + 1] += av * hi;
      }
    }
    const bool add = k0 > 0;
#pragma GCC unroll 4
    for (int p = 0; p < NP; ++p) {
      T* c = out + g.col[p];
      if (g.width[p] == W) {
        if (add) {
          acc[2 * p] += load<V>(c);
          acc[2 * p + 1] += load<V>(c + L);
        }
        store(c, acc[2 * p]);
        store(c + L, acc[2 * p + 1]);
      } else {
        alignas(64) T tile[W];
        store(tile, acc[2 * p]);
        store(tile + L, acc[2 * p + 1]);
        for (int j = 0; j < g.width[p]; ++j) c[j] = add ? c[j] + tile[j] : tile[j];
      }
    }
  }
}

// out = a * the panels of groups [g0, g1).
template <typename T, Code C, typename S>
void groups_row(const std::vector<PanelGroup<S>>& groups, std::size_t g0, std::size_t g1,
                std::int64_t K, std::int64_t depth, const T* a, T* out) {
  for (std::size_t i = g0; i < g1; ++i) {
    const PanelGroup<S>& g = groups[i];
    switch (g.np) {
      case 4: panel_group<T, 4, C>(g, K, depth, a, out); break;
      case 3: panel_group<T, 3, C>(g, K, depth, a, out); break;
      case 2: panel_group<T, 2, C>(g, K, depth, a, out); break;
      default: panel_group<T, 1, C>(g, K, depth, a, out); break;
    }
  }
}

// The nearest bfloat16 / float16 (ties to even) of a float whose rounding is finite (the caller,
// src/stream.cpp, refused the others), as bits.
inline std::uint16_t to_bfloat16(float f) {
  std::uint32_t x;
  std::memcpy(&x, &f, sizeof x);
  return static_cast<std::uint16_t>((x + 0x7fffu + ((x >> 16) & 1u)) >> 16);
}

inline std::uint16_t to_float16(float f) {
  std::uint32_t x;
  std::memcpy(&x, &f, sizeof x);
  const std::uint32_t sign = (x >> 16) & 0x8000u, ax = x & 0x7fffffffu;
  if (ax < 0x38800000u) {
    // Below 2^-14: a subnormal half (or zero), a multiple of 2^-24. Adding 0.5 leaves a float
    // whose last bit is worth 2^-24, rounded to nearest even by the addition itself.
    float m;
    std::memcpy(&m, &ax, sizeof m);
    const float sum = m + 0.5f;
    std::uint32_t s;
    std::memcpy(&s, &sum, sizeof s);
    return static_cast<std::uint16_t>(sign | (s - 0x3f000000u));
  }
  // Normal: rebias the exponent (127 -> 15) and round the 13 dropped bits to nearest even.
  const std::uint32_t r = ax - 0x38000000u + 0xfffu + ((ax >> 13) & 1u);
  return static_cast<std::uint16_t>(sign | (r >> 13));
}

template <Code C, typename T>
inline auto encode(T v) {
  if constexpr (C == Code::same) return v;
  else if constexpr (C == Code::bf16) return to_bfloat16(v);
  else return to_float16(v);
}

// Packs src [K, *] (row stride ld) into the groups: group g's panel p, row k, holds
// src[k, col[p] + j] for j < width[p], zeros after (per Code C: converted, maybe interleaved).
template <Code C, typename T, typename S>
void pack_groups(const std::vector<PanelGroup<S>>& groups, std::int64_t K, const T* src,
                 std::int64_t ld) {
  constexpr std::int64_t W = kPanelWidth<T>, L = W / 2;
  for (const PanelGroup<S>& g : groups) {
    for (std::int64_t k = 0; k < K; ++k) {
      for (int p = 0; p < g.np; ++p) {
        S* dst = g.data + (k * g.np + p) * W;
        const T* row = src + k * ld + g.col[p];
        for (std::int64_t j = 0; j < W; ++j) {
          const S v = encode<C>(j < g.width[p] ? row[j] : T(0));
          if constexpr (kInterleaved<C>) dst[j < L ? 2 * j : 2 * (j - L) + 1] = v;
          else dst[j] = v;
        }
      }
    }
  }
}

template <typename T>
struct AlignedArray {
  T* data = nullptr;
  explicit AlignedArray(std::int64_t n) {
    const std::size_t bytes = static_cast<std::size_t>(std::max<std::int64_t>(n, 1)) * sizeof(T);
    data = static_cast<T*>(::operator new((bytes + 63) / 64 * 64, std::align_val_t(64)));
    std::memset(static_cast<void*>(data), 0, (bytes + 63) / 64 * 64);
  }
  ~AlignedArray() { ::operator delete(data, std::align_val_t(64)); }
  AlignedArray(const AlignedArray&) = delete;
  AlignedArray& operator=(const AlignedArray&) = delete;
};

template <typename T, class Cell, Code C>
class StreamKernelT final : public StreamKernel {
  using S = std::conditional_t<C == Code::same, T, std::uint16_t>;

 public:
  StreamKernelT(const CellSpec& cell, std::int64_t batch, const StreamOptions& options)
      : cell_(cell), opt_(options), B_(batch), I_(cell.input_size), H_(cell.units),
        G_(cell.gates()), GH_(cell.gates() * cell.units),
        panels_per_gate_(PackedPanels<T>::panels_for(H_)),
        w_elems_(G_ * panels_per_gate_ * I_ * kPanelWidth<T>),
        r_elems_(G_ * panels_per_gate_ * H_ * kPanelWidth<T>),
        weights_(w_elems_ + r_elems_ + 64),
        chunk_(std::clamp<std::int64_t>(kProjectionBytes / (B_ * GH_ * std::int64_t(sizeof(T))), 1,
                                        kMaxChunk)),
        buffer_(2 * GH_ + (chunk_ + 1) * B_ * GH_ + 4 * B_ * H_ + 8 * 16) {
    T* at = buffer_.data;
    const auto take = [&at](std::int64_t n) {
      T* p = at;
      at += (n + 15) / 16 * 16;  // 64-byte aligned arrays: at most 15 elements of slack each
      return p;
    };
    packed_w_ = weights_.data;
    packed_r_ = weights_.data + (w_elems_ + 31) / 32 * 32;  // 64-byte aligned
    bias_in_ = take(GH_);
    bias_rec_ = take(GH_);
    proj_ = take(chunk_ * B_ * GH_);
    rec_ = take(B_ * GH_);
    h_ = take(B_ * H_);
    c_ = take(B_ * H_);
    last_output_ = take(B_ * H_);
    reset_h_ = take(B_ * H_);
    // Panels of every gate in order (gate g, panel p: columns g * H + p * W ..), grouped by
    // four; reset-before GRU starts a new group at the candidate gate (its product runs apart).
    constexpr std::int64_t W = kPanelWidth<T>;
    const std::int64_t split = Cell::kResetBefore ? 2 : G_;
    for (std::int64_t part = 0; part < 2; ++part) {
      const std::int64_t g_begin = part == 0 ? 0 : split, g_end = part == 0 ? split : G_;
      std::vector<std::pair<std::int64_t, int>> panels;
      for (std::int64_t g = g_begin; g < g_end; ++g)
        for (std::int64_t p = 0; p < panels_per_gate_; ++p)
          panels.push_back({g * H_ + p * W, static_cast<int>(std::min(W, H_ - p * W))});
      for (std::size_t i = 0; i < panels.size(); i += kGroupPanels) {
        PanelGroup<S> g;
        g.np = static_cast<int>(std::min<std::size_t>(kGroupPanels, panels.size() - i));
        for (int p = 0; p < g.np; ++p) {
          g.col[p] = panels[i + p].first;
          g.width[p] = panels[i + p].second;
        }
        w_groups_.push_back(g);
      }
      if (part == 0) first_phase_groups_ = w_groups_.size();
    }
    r_groups_ = w_groups_;
    std::int64_t w_at = 0, r_at = 0;
    for (std::size_t i = 0; i < w_groups_.size(); ++i) {
      w_groups_[i].data = packed_w_ + w_at;
      r_groups_[i].data = packed_r_ + r_at;
      w_at += I_ * w_groups_[i].np * W;
      r_at += H_ * r_groups_[i].np * W;
    }
    units_ = {0, panels_per_gate_, 0, H_};
  }

  void set_weights(const void* kernel, const void* recurrent_kernel, const void* bias) override {
    const T* k = static_cast<const T*>(kernel);
    const T* r = static_cast<const T*>(recurrent_kernel);
    pack_groups<C>(w_groups_, I_, k, GH_);
    pack_groups<C>(r_groups_, H_, r, GH_);
    const T* b = static_cast<const T*>(bias);
    if (b) std::memcpy(bias_in_, b, GH_ * sizeof(T));
    else std::fill(bias_in_, bias_in_ + GH_, T(0));
    if (b && plan_has_candidate()) std::memcpy(bias_rec_, b + GH_, GH_ * sizeof(T));
    else std::fill(bias_rec_, bias_rec_ + GH_, T(0));
  }

  void run(const void* x_any, std::int64_t steps, void* out_any, bool sequences,
           const std::uint8_t* mask) override {
    const T* x = static_cast<const T*>(x_any);
    T* out = static_cast<T*>(out_any);
    if (mask) std::fill(last_output_, last_output_ + B_ * H_, T(0));
    for (std::int64_t t0 = 0; t0 < steps; t0 += chunk_) {
      const std::int64_t n = std::min(chunk_, steps - t0);
      project(x, steps, t0, n);
      for (std::int64_t t = t0; t < t0 + n; ++t) {
        T* seq = sequences ? out + t * H_ : nullptr;
        step(proj_ + (t - t0) * B_ * GH_, t, steps, seq, steps * H_, mask);
      }
    }
    if (!sequences) std::memcpy(out, mask ? last_output_ : h_, B_ * H_ * sizeof(T));
  }

  void reset_states() override {
    std::fill(h_, h_ + B_ * H_, T(0));
    std::fill(c_, c_ + B_ * H_, T(0));
  }

  void set_states(const void* h, const void* c) override {
    std::memcpy(h_, h, B_ * H_ * sizeof(T));
    if (c) std::memcpy(c_, c, B_ * H_ * sizeof(T));
    else std::fill(c_, c_ + B_ * H_, T(0));
  }

  void states(void* h, void* c) const override {
    std::memcpy(h, h_, B_ * H_ * sizeof(T));
    if (c) std::memcpy(c, c_, B_ * H_ * sizeof(T));
  }

 private:
  bool plan_has_candidate() const { return cell_.kind == CellKind::gru && cell_.reset_after; }

  // One step at time t of `steps`: x row b at x + b * x_ld; its output (when seq) at
  // seq + b * out_ld.
  // The input products of steps [t0, t0 + n) of x [B, steps, I] into proj_ ([n, B, GH]): they
  // do not depend on the states, so each weight group is read once for the whole chunk (it stays
  // in L1 across the chunk's rows) instead of once per step. Each element is the same chain of
  // products as one step at a time would compute.
  void project(const T* x, std::int64_t steps, std::int64_t t0, std::int64_t n) {
    for (std::size_t i = 0; i < w_groups_.size(); ++i)
      for (std::int64_t t = 0; t < n; ++t)
        for (std::int64_t b = 0; b < B_; ++b)
          groups_row<T, C>(w_groups_, i, i + 1, I_, kGemmDepth, x + (b * steps + t0 + t) * I_,
                           proj_ + (t * B_ + b) * GH_);
  }

  // One step at time t of `steps`, its input products at proj [B, GH]: the recurrent products
  // and the pointwise pass. Its output row b (when seq) goes to seq + b * out_ld.
  void step(T* proj, std::int64_t t, std::int64_t steps, T* seq, std::int64_t out_ld,
            const std::uint8_t* mask) {
    const kernels::CellActivations acts{cell_.activation, cell_.recurrent_activation};
    const std::size_t groups = w_groups_.size();
    // Reset-before GRU: the candidate's product reads r * h_{t-1}, so z and r come first.
    const std::size_t first = first_phase_groups_;
    recurrent_products(0, first, h_);
    if constexpr (Cell::kResetBefore) {
      for (std::int64_t b = 0; b < B_; ++b) {
        const kernels::ForwardRow<T> r = row(proj, b, mask ? mask[b * steps + t] != 0 : true);
        for_lanes<T>(units_, [acts, r](auto ops, std::int64_t j) {
          Cell::template reset_gate<decltype(ops)>(acts, r, j);
        });
      }
      recurrent_products(first, groups, reset_h_);
    }
    const bool zero_masked = opt_.zero_output_for_mask;
    for (std::int64_t b = 0; b < B_; ++b) {
      const bool real = mask ? mask[b * steps + t] != 0 : true;
      const kernels::ForwardRow<T> r = row(proj, b, real);
      T* h = h_ + b * H_;
      T* last = mask ? last_output_ + b * H_ : nullptr;
      T* o = seq ? seq + b * out_ld : nullptr;
      for_lanes<T>(units_, [acts, r, h, last, o, real, zero_masked](auto ops, std::int64_t j) {
        using Ops = decltype(ops);
        using V = typename Ops::V;
        V h_prev;
        const V h_new = Cell::template forward<Ops>(acts, r, j, h_prev);
        // As forward's commit: a masked step keeps h (already in place) and outputs the last
        // output, or zeros, which then become the last output.
        if (real) Ops::store(h + j, h_new);
        const V out = real ? h_new : (zero_masked ? Ops::splat(T(0)) : Ops::load(last + j));
        if (last) Ops::store(last + j, out);
        if (o) Ops::store(o + j, out);
      });
    }
  }

  // rec_ [B, GH] = a [B, H] * the recurrent panels of groups [g0, g1), group by group: a group
  // (four panels, 16 KiB of float32 weights at H = 64) is read from L2 once per step and then
  // from L1 for the other rows, instead of the whole matrix once per row (B = 4, LSTM, H = 64:
  // run 5.5 -> 4.7 us a step). The order changes no product: each column is one group's, summed
  // over k as before.
  void recurrent_products(std::size_t g0, std::size_t g1, const T* a) {
    for (std::size_t i = g0; i < g1; ++i)
      for (std::int64_t b = 0; b < B_; ++b)
        groups_row<T, C>(r_groups_, i, i + 1, H_, kPanelDepth<T>, a + b * H_, rec_ + b * GH_);
  }

  kernels::ForwardRow<T> row(T* proj, std::int64_t b, bool real) const {
    kernels::ForwardRow<T> r;
    r.pre = proj + b * GH_;
    r.rec = rec_ + b * GH_;
    r.h_prev = h_ + b * H_;
    r.bias_in = bias_in_;
    r.bias_rec = bias_rec_;
    r.h_gemm = h_ + b * H_;
    r.reset_h = reset_h_ + b * H_;
    r.c = c_ + b * H_;
    r.saved_c = nullptr;
    r.saved_hh = nullptr;
    r.real = real;
    r.keep_sums = false;
    r.H = H_;
    return r;
  }

  CellSpec cell_;
  StreamOptions opt_;
  std::int64_t B_, I_, H_, G_, GH_, panels_per_gate_, w_elems_, r_elems_;
  // run() computes the input products of up to chunk_ steps at once (project()), in a buffer
  // of at most kProjectionBytes (at least one step's).
  static constexpr std::int64_t kProjectionBytes = 32 * 1024, kMaxChunk = 32;
  AlignedArray<S> weights_;
  std::int64_t chunk_;
  AlignedArray<T> buffer_;
  S *packed_w_, *packed_r_;
  T *bias_in_, *bias_rec_, *proj_, *rec_, *h_, *c_, *last_output_,
      *reset_h_;
  std::vector<PanelGroup<S>> w_groups_, r_groups_;
  std::size_t first_phase_groups_ = 0;
  UnitRange units_{};
};

template <typename T, Code C>
std::unique_ptr<StreamKernel> make_typed(const CellSpec& cell, std::int64_t batch,
                                         const StreamOptions& options) {
  return kernels::visit_cell(cell, [&](auto c) -> std::unique_ptr<StreamKernel> {
    return std::make_unique<StreamKernelT<T, decltype(c), C>>(cell, batch, options);
  });
}

}  // namespace

std::unique_ptr<StreamKernel> isa_make_stream_kernel(const CellSpec& cell, DType dtype,
                                                     std::int64_t batch,
                                                     const StreamOptions& options) {
  if (dtype == DType::float64) return make_typed<double, Code::same>(cell, batch, options);
  switch (options.weight_format) {
    case WeightFormat::bfloat16: return make_typed<float, Code::bf16>(cell, batch, options);
#if defined(__F16C__)
    case WeightFormat::float16: return make_typed<float, Code::f16c>(cell, batch, options);
#else
    case WeightFormat::float16: return make_typed<float, Code::f16_bits>(cell, batch, options);
#endif
    case WeightFormat::float32: break;
  }
  return make_typed<float, Code::same>(cell, batch, options);
}

RNNKIT_CPU_NAMESPACE_END
