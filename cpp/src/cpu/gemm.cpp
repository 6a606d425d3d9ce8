#include "cpu/gemm.h"

#include <algorithm>
#include <cstring>

namespace rnnkit::cpu {

namespace {

// GCC/Clang vector extensions: the compiler emits the widest SIMD (and FMA, with
// -ffp-contract=fast) the target allows, without per-ISA intrinsics.
template <typename T>
struct SimdOf;
template <>
struct SimdOf<float> {
  typedef float type __attribute__((vector_size(kVectorBytes)));
};
template <>
struct SimdOf<double> {
  typedef double type __attribute__((vector_size(kVectorBytes)));
};

template <typename V, typename T>
inline V load(const T* p) {
  V v;
  std::memcpy(&v, p, sizeof(V));
  return v;
}

template <typename V, typename T>
inline void store(T* p, V v) {
  std::memcpy(p, &v, sizeof(V));
}

constexpr int kMaxRows = 6;  // rows per micro-tile: 2 * kMaxRows accumulators + 2 B vectors + 1

// One MR x W tile of C over k in [0, K). Bp points at the panel's row k_begin.
template <typename T, int MR>
inline void micro_tile(std::int64_t K, const T* A, std::int64_t lda, const T* Bp, T* C,
                       std::int64_t ldc, int cols, bool accumulate) {
  using V = typename SimdOf<T>::type;
  constexpr int L = static_cast<int>(sizeof(V) / sizeof(T));
  constexpr int W = 2 * L;
  V acc0[MR], acc1[MR];
#pragma GCC unroll 6
  for (int r = 0; r < MR; ++r) {
    acc0[r] = V{};
    acc1[r] = V{};
  }
  for (std::int64_t k = 0; k < K; ++k) {
    const V b0 = load<V>(Bp + k * W);
    const V b1 = load<V>(Bp + k * W + L);
#pragma GCC unroll 6
    for (int r = 0; r < MR; ++r) {
      const T a = A[r * lda + k];
      acc0[r] += a * b0;
      acc1[r] += a * b1;
    }
  }
  if (cols == W) {
#pragma GCC unroll 6
    for (int r = 0; r < MR; ++r) {
      T* c = C + r * ldc;
      if (accumulate) {
        acc0[r] += load<V>(c);
        acc1[r] += load<V>(c + L);
      }
      store(c, acc0[r]);
      store(c + L, acc1[r]);
    }
  } else {
    alignas(64) T tile[W];
    for (int r = 0; r < MR; ++r) {
      store(tile, acc0[r]);
      store(tile + L, acc1[r]);
      T* c = C + r * ldc;
      for (int j = 0; j < cols; ++j) c[j] = accumulate ? c[j] + tile[j] : tile[j];
    }
  }
}

template <typename T>
inline void row_block(int rows, std::int64_t K, const T* A, std::int64_t lda, const T* Bp, T* C,
                      std::int64_t ldc, int cols, bool accumulate) {
  switch (rows) {
    case 6: micro_tile<T, 6>(K, A, lda, Bp, C, ldc, cols, accumulate); break;
    case 5: micro_tile<T, 5>(K, A, lda, Bp, C, ldc, cols, accumulate); break;
    case 4: micro_tile<T, 4>(K, A, lda, Bp, C, ldc, cols, accumulate); break;
    case 3: micro_tile<T, 3>(K, A, lda, Bp, C, ldc, cols, accumulate); break;
    case 2: micro_tile<T, 2>(K, A, lda, Bp, C, ldc, cols, accumulate); break;
    default: micro_tile<T, 1>(K, A, lda, Bp, C, ldc, cols, accumulate); break;
  }
}

}  // namespace

template <typename T>
void pack_panels(const T* src, std::int64_t row_stride, std::int64_t col_stride,
                 PackedPanels<T>& out) {
  constexpr std::int64_t W = kPanelWidth<T>;
  const std::int64_t K = out.rows, N = out.cols;
  for (std::int64_t p = 0; p < out.panels(); ++p) {
    T* panel = out.data + p * K * W;
    const std::int64_t n0 = p * W;
    const std::int64_t width = std::min(W, N - n0);
    for (std::int64_t k = 0; k < K; ++k) {
      T* dst = panel + k * W;
      const T* row = src + k * row_stride + n0 * col_stride;
      std::int64_t j = 0;
      for (; j < width; ++j) dst[j] = row[j * col_stride];
      for (; j < W; ++j) dst[j] = T(0);
    }
  }
}

template <typename T>
void gemm_panels(std::int64_t M, const T* A, std::int64_t lda, const PackedPanels<T>& B,
                 std::int64_t k_begin, std::int64_t k_end, std::int64_t panel_begin,
                 std::int64_t panel_end, T* C, std::int64_t ldc, bool accumulate) {
  constexpr std::int64_t W = kPanelWidth<T>;
  // A 16 KiB slice of the panel stays in L1 while every row block of A streams past it.
  constexpr std::int64_t kDepth = 16384 / (W * static_cast<std::int64_t>(sizeof(T)));
  for (std::int64_t p = panel_begin; p < panel_end; ++p) {
    const int cols = static_cast<int>(std::min(W, B.cols - p * W));
    T* Cp = C + p * W;
    for (std::int64_t k0 = k_begin; k0 < k_end; k0 += kDepth) {
      const std::int64_t depth = std::min(kDepth, k_end - k0);
      const T* Bp = B.panel(p) + k0 * W;
      const bool add = accumulate || k0 > k_begin;
      for (std::int64_t i = 0; i < M; i += kMaxRows) {
        const int rows = static_cast<int>(std::min<std::int64_t>(kMaxRows, M - i));
        row_block(rows, depth, A + i * lda + k0, lda, Bp, Cp + i * ldc, ldc, cols, add);
      }
    }
  }
}

template struct PackedPanels<float>;
template struct PackedPanels<double>;
template void pack_panels<float>(const float*, std::int64_t, std::int64_t, PackedPanels<float>&);
template void pack_panels<double>(const double*, std::int64_t, std::int64_t, PackedPanels<double>&);
template void gemm_panels<float>(std::int64_t, const float*, std::int64_t, const PackedPanels<float>&,
                                 std::int64_t, std::int64_t, std::int64_t, std::int64_t, float*,
                                 std::int64_t, bool);
template void gemm_panels<double>(std::int64_t, const double*, std::int64_t,
                                  const PackedPanels<double>&, std::int64_t, std::int64_t,
                                  std::int64_t, std::int64_t, double*, std::int64_t, bool);

}  // namespace rnnkit::cpu
