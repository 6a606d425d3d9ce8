// The streaming step (rnnkit::Stream): per step, the input and the recurrent products of each
// batch row against weights packed once, then the cell's fused pointwise pass (the cell structs
// of kernels/cell_math.h over the lanes of cpu/lanes.h, as forward.cpp runs them).
//
// Same bits as forward(): every product element is the chain of fused multiply-adds over k, from
// zero, in passes of the depth the big GEMMs use (kGemmDepth for x W, kPanelDepth for h R), the
// passes added in k order; the pointwise pass is the same code. The speed at B = 1 comes from
// running several column panels at once (eight independent accumulator chains instead of the
// micro-tile's two), with no packing, thread team or zero-fill per call.
#include "cpu/stream.h"

#include <algorithm>
#include <cstring>
#include <new>
#include <utility>
#include <vector>

#include "cpu/gemm.h"
#include "cpu/lanes.h"
#include "cpu/partition.h"
#include "cpu/simd.h"
#include "kernels/cell_math.h"

RNNKIT_CPU_NAMESPACE_BEGIN

namespace {

// Packed weights as groups of up to four column panels of W = kPanelWidth<T> columns, each group
// stored k-major ([K, np * W]: the np panels' rows of one k side by side), so that one pass over
// the group reads one contiguous stream. Panel p of a group holds output columns
// [col[p], col[p] + width[p]), zero-padded to W.
constexpr int kGroupPanels = 4;

template <typename T>
struct PanelGroup {
  T* data = nullptr;
  int np = 0;
  std::int64_t col[kGroupPanels] = {};
  int width[kGroupPanels] = {};
};

// C[col[p] ..] = a[0 .. K) * panel p of the group, in passes of `depth` added in k order.
template <typename T, int NP>
RNNKIT_INLINE void panel_group(const PanelGroup<T>& g, std::int64_t K, std::int64_t depth,
                               const T* a, T* C) {
  using V = typename SimdOf<T>::type;
  constexpr int L = static_cast<int>(sizeof(V) / sizeof(T));
  constexpr int W = 2 * L;
  const T* b = g.data;
  for (std::int64_t k0 = 0; k0 < K; k0 += depth) {
    const std::int64_t k1 = std::min(K, k0 + depth);
    V acc[2 * NP];
#pragma GCC unroll 8
    for (int p = 0; p < 2 * NP; ++p) acc[p] = V{};
    for (std::int64_t k = k0; k < k1; ++k) {
      const T av = a[k];
      const T* row = b + k * (NP * W);
#pragma GCC unroll 8
      for (int p = 0; p < 2 * NP; ++p) acc[p] += av * load<V>(row + p * L);
    }
    const bool add = k0 > 0;
#pragma GCC unroll 4
    for (int p = 0; p < NP; ++p) {
      T* c = C + g.col[p];
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

// C = a * the panels of groups [g0, g1).
template <typename T>
void groups_row(const std::vector<PanelGroup<T>>& groups, std::size_t g0, std::size_t g1,
                std::int64_t K, std::int64_t depth, const T* a, T* C) {
  for (std::size_t i = g0; i < g1; ++i) {
    const PanelGroup<T>& g = groups[i];
    switch (g.np) {
      case 4: panel_group<T, 4>(g, K, depth, a, C); break;
      case 3: panel_group<T, 3>(g, K, depth, a, C); break;
      case 2: panel_group<T, 2>(g, K, depth, a, C); break;
      default: panel_group<T, 1>(g, K, depth, a, C); break;
    }
  }
}

// Packs src [K, *] (row stride ld) into the groups: group g's panel p, row k, holds
// src[k, col[p] + j] for j < width[p], zeros after.
template <typename T>
void pack_groups(const std::vector<PanelGroup<T>>& groups, std::int64_t K, const T* src,
                 std::int64_t ld) {
  constexpr std::int64_t W = kPanelWidth<T>;
  for (const PanelGroup<T>& g : groups) {
    for (std::int64_t k = 0; k < K; ++k) {
      for (int p = 0; p < g.np; ++p) {
        T* dst = g.data + (k * g.np + p) * W;
        const T* row = src + k * ld + g.col[p];
        for (std::int64_t j = 0; j < W; ++j) dst[j] = j < g.width[p] ? row[j] : T(0);
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

template <typename T, class Cell>
class StreamKernelT final : public StreamKernel {
 public:
  StreamKernelT(const CellSpec& cell, std::int64_t batch, const StreamOptions& options)
      : cell_(cell), opt_(options), B_(batch), I_(cell.input_size), H_(cell.units),
        G_(cell.gates()), GH_(cell.gates() * cell.units),
        panels_per_gate_(PackedPanels<T>::panels_for(H_)),
        w_elems_(G_ * panels_per_gate_ * I_ * kPanelWidth<T>),
        r_elems_(G_ * panels_per_gate_ * H_ * kPanelWidth<T>),
        buffer_(w_elems_ + r_elems_ + 2 * GH_ + 2 * B_ * GH_ + 4 * B_ * H_ + 10 * 16) {
    T* at = buffer_.data;
    const auto take = [&at](std::int64_t n) {
      T* p = at;
      at += (n + 15) / 16 * 16;  // 64-byte aligned arrays: at most 15 elements of slack each
      return p;
    };
    packed_w_ = take(w_elems_);
    packed_r_ = take(r_elems_);
    bias_in_ = take(GH_);
    bias_rec_ = take(GH_);
    proj_ = take(B_ * GH_);
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
        PanelGroup<T> g;
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
    pack_groups(w_groups_, I_, k, GH_);
    pack_groups(r_groups_, H_, r, GH_);
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
    for (std::int64_t t = 0; t < steps; ++t) {
      T* seq = sequences ? out + t * H_ : nullptr;
      step(x + t * I_, steps * I_, t, steps, seq, steps * H_, mask);
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
  void step(const T* x, std::int64_t x_ld, std::int64_t t, std::int64_t steps, T* seq,
            std::int64_t out_ld, const std::uint8_t* mask) {
    const kernels::CellActivations acts{cell_.activation, cell_.recurrent_activation};
    const std::size_t groups = w_groups_.size();
    for (std::int64_t b = 0; b < B_; ++b) {
      groups_row(w_groups_, 0, groups, I_, kGemmDepth, x + b * x_ld, proj_ + b * GH_);
    }
    // Reset-before GRU: the candidate's product reads r * h_{t-1}, so z and r come first.
    const std::size_t first = first_phase_groups_;
    for (std::int64_t b = 0; b < B_; ++b) {
      groups_row(r_groups_, 0, first, H_, kPanelDepth<T>, h_ + b * H_, rec_ + b * GH_);
    }
    if constexpr (Cell::kResetBefore) {
      for (std::int64_t b = 0; b < B_; ++b) {
        const kernels::ForwardRow<T> r = row(b, mask ? mask[b * steps + t] != 0 : true);
        for_lanes<T>(units_, [acts, r](auto ops, std::int64_t j) {
          Cell::template reset_gate<decltype(ops)>(acts, r, j);
        });
        groups_row(r_groups_, first, groups, H_, kPanelDepth<T>, reset_h_ + b * H_,
                   rec_ + b * GH_);
      }
    }
    const bool zero_masked = opt_.zero_output_for_mask;
    for (std::int64_t b = 0; b < B_; ++b) {
      const bool real = mask ? mask[b * steps + t] != 0 : true;
      const kernels::ForwardRow<T> r = row(b, real);
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

  kernels::ForwardRow<T> row(std::int64_t b, bool real) const {
    kernels::ForwardRow<T> r;
    r.pre = proj_ + b * GH_;
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
    r.H = H_;
    return r;
  }

  CellSpec cell_;
  StreamOptions opt_;
  std::int64_t B_, I_, H_, G_, GH_, panels_per_gate_, w_elems_, r_elems_;
  AlignedArray<T> buffer_;
  T *packed_w_, *packed_r_, *bias_in_, *bias_rec_, *proj_, *rec_, *h_, *c_, *last_output_,
      *reset_h_;
  std::vector<PanelGroup<T>> w_groups_, r_groups_;
  std::size_t first_phase_groups_ = 0;
  UnitRange units_{};
};

template <typename T>
std::unique_ptr<StreamKernel> make_typed(const CellSpec& cell, std::int64_t batch,
                                         const StreamOptions& options) {
  return kernels::visit_cell(cell, [&](auto c) -> std::unique_ptr<StreamKernel> {
    return std::make_unique<StreamKernelT<T, decltype(c)>>(cell, batch, options);
  });
}

}  // namespace

std::unique_ptr<StreamKernel> isa_make_stream_kernel(const CellSpec& cell, DType dtype,
                                                     std::int64_t batch,
                                                     const StreamOptions& options) {
  if (dtype == DType::float64) return make_typed<double>(cell, batch, options);
  return make_typed<float>(cell, batch, options);
}

RNNKIT_CPU_NAMESPACE_END
