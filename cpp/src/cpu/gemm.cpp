#include "cpu/gemm.h"

#include <algorithm>
#include <cstring>

#include "cpu/caches.h"
#include "cpu/simd.h"
#include "cpu/thread_buffer.h"
#include "thread_pool.h"

RNNKIT_CPU_NAMESPACE_BEGIN

namespace {

// Rows per micro-tile: 2 * kMaxRows accumulators + 2 B vectors + 1 broadcast, in the 16 vector
// registers of AVX / SSE, or the 32 of AVX-512 (fewer loads of B per FMA).
constexpr int kMaxRows = kVectorBytes == 64 ? 12 : 6;

// One MR x W tile of C over k in [0, K). Bp points at the panel's row k_begin. A is either
// row-major with leading dimension lda, or (kPackedA) a sliver holding the MR values of each k
// contiguously.
//
// With kPrefetch, the tile also asks for `prefetch_lines` cache lines from `prefetch` into L2, one
// every K / prefetch_lines steps of k: streamed weights (gemm_panels) fetch their next slice while
// the FMAs run, rather than in a burst that stalls the loads behind it.
template <typename T, int MR, bool kPackedA, bool kPrefetch = false>
inline void micro_tile(std::int64_t K, const T* A, std::int64_t lda, const T* Bp, T* C,
                       std::int64_t ldc, int rows, int cols, bool accumulate,
                       const char* prefetch = nullptr, std::int64_t prefetch_lines = 0) {
  using V = typename SimdOf<T>::type;
  constexpr int L = static_cast<int>(sizeof(V) / sizeof(T));
  constexpr int W = 2 * L;
  V acc0[MR], acc1[MR];
#pragma GCC unroll 12
  for (int r = 0; r < MR; ++r) {
    acc0[r] = V{};
    acc1[r] = V{};
    // The rows of a C tile lie far apart, beyond the hardware prefetcher's reach: ask for them
    // now so that they arrive while the k loop runs.
    __builtin_prefetch(C + r * ldc, 1);
    __builtin_prefetch(C + r * ldc + W - 1, 1);
  }
  const std::int64_t every =
      kPrefetch && prefetch_lines > 0 ? std::max<std::int64_t>(1, K / prefetch_lines) : 0;
  std::int64_t countdown = every, issued = 0;
#pragma GCC unroll 4
  for (std::int64_t k = 0; k < K; ++k) {
    const V b0 = load<V>(Bp + k * W);
    const V b1 = load<V>(Bp + k * W + L);
#pragma GCC unroll 12
    for (int r = 0; r < MR; ++r) {
      const T a = kPackedA ? A[k * MR + r] : A[r * lda + k];
      acc0[r] += a * b0;
      acc1[r] += a * b1;
    }
    if constexpr (kPrefetch) {
      if (--countdown == 0) {
        countdown = every;
        if (issued < prefetch_lines) __builtin_prefetch(prefetch + 64 * issued++, 0, 2);
      }
    }
  }
  if constexpr (kPrefetch) {
    for (; issued < prefetch_lines; ++issued) __builtin_prefetch(prefetch + 64 * issued, 0, 2);
  }
  if (cols == W && rows == MR) {
#pragma GCC unroll 12
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
    for (int r = 0; r < rows; ++r) {
      store(tile, acc0[r]);
      store(tile + L, acc1[r]);
      T* c = C + r * ldc;
      for (int j = 0; j < cols; ++j) c[j] = accumulate ? c[j] + tile[j] : tile[j];
    }
  }
}

// micro_tile for `rows` (1 to MR) rows: the instance of exactly that many.
// With `prefetch`, micro_tile's kPrefetch instance.
template <typename T, int MR = kMaxRows>
inline void row_block(int rows, std::int64_t K, const T* A, std::int64_t lda, const T* Bp, T* C,
                      std::int64_t ldc, int cols, bool accumulate,
                      const char* prefetch = nullptr, std::int64_t prefetch_lines = 0) {
  if constexpr (MR > 1) {
    if (rows < MR) {
      row_block<T, MR - 1>(rows, K, A, lda, Bp, C, ldc, cols, accumulate, prefetch,
                           prefetch_lines);
      return;
    }
  }
  if (prefetch) {
    micro_tile<T, MR, false, true>(K, A, lda, Bp, C, ldc, MR, cols, accumulate, prefetch,
                                   prefetch_lines);
  } else {
    micro_tile<T, MR, false>(K, A, lda, Bp, C, ldc, MR, cols, accumulate);
  }
}

// Rows [0, MR) of C over NP consecutive panels of W columns, k in [0, K): A's element (r, k) at
// A[r * lda + k * a_step]; panel p's row k at Bp + p * panel_stride + k * b_step; C's row r at
// C + r * ldc. 2 * MR * NP independent accumulator chains: the micro-tile has 2 * MR, and with one
// or two rows (a batch of one or two) the FMA latency, not the FMA rate, would set its pace.
// Each element is the chain of FMAs over k from zero, as in micro_tile: the same bits.
template <typename T, int MR, int NP>
inline void few_rows_panels(std::int64_t K, const T* A, std::int64_t lda, std::int64_t a_step,
                            const T* Bp, std::int64_t b_step, std::int64_t panel_stride, T* C,
                            std::int64_t ldc, bool accumulate) {
  using V = typename SimdOf<T>::type;
  constexpr int L = static_cast<int>(sizeof(V) / sizeof(T));
  constexpr int W = 2 * L;
  V acc[MR][2 * NP];
#pragma GCC unroll 2
  for (int r = 0; r < MR; ++r) {
#pragma GCC unroll 8
    for (int p = 0; p < 2 * NP; ++p) acc[r][p] = V{};
  }
  for (std::int64_t k = 0; k < K; ++k) {
#pragma GCC unroll 4
    for (int p = 0; p < NP; ++p) {
      const T* b = Bp + p * panel_stride + k * b_step;
      const V b0 = load<V>(b), b1 = load<V>(b + L);
#pragma GCC unroll 2
      for (int r = 0; r < MR; ++r) {
        const T a = A[r * lda + k * a_step];
        acc[r][2 * p] += a * b0;
        acc[r][2 * p + 1] += a * b1;
      }
    }
  }
#pragma GCC unroll 2
  for (int r = 0; r < MR; ++r) {
#pragma GCC unroll 4
    for (int p = 0; p < NP; ++p) {
      T* c = C + r * ldc + p * W;
      if (accumulate) {
        acc[r][2 * p] += load<V>(c);
        acc[r][2 * p + 1] += load<V>(c + L);
      }
      store(c, acc[r][2 * p]);
      store(c + L, acc[r][2 * p + 1]);
    }
  }
}

// gemm_panels for MR = 1 or 2 rows of A (a batch of one or two): the full panels NP at a time
// (eight accumulator chains), then the rest; the last, partial panel on the micro-tile.
template <typename T, int MR>
void gemm_panels_few_rows(const T* A, std::int64_t lda, const PackedPanels<T>& B, std::int64_t k0,
                          std::int64_t depth, std::int64_t panel_begin, std::int64_t panel_end,
                          T* C, std::int64_t ldc, bool add) {
  constexpr std::int64_t W = kPanelWidth<T>;
  constexpr int NP = 4 / MR;
  const std::int64_t stride = B.rows * W;
  const std::int64_t full_end = std::min(panel_end, B.cols / W);
  const T* a = A + k0;
  std::int64_t p = panel_begin;
  for (; p + NP <= full_end; p += NP)
    few_rows_panels<T, MR, NP>(depth, a, lda, 1, B.panel(p) + k0 * W, W, stride, C + p * W, ldc,
                               add);
  const std::int64_t left = full_end - p;  // fewer than NP
  const T* Bp = B.panel(p) + k0 * W;
  if constexpr (NP > 3) {
    if (left == 3) few_rows_panels<T, MR, 3>(depth, a, lda, 1, Bp, W, stride, C + p * W, ldc, add);
  }
  if constexpr (NP > 2) {
    if (left == 2) few_rows_panels<T, MR, 2>(depth, a, lda, 1, Bp, W, stride, C + p * W, ldc, add);
  }
  if (left == 1) few_rows_panels<T, MR, 1>(depth, a, lda, 1, Bp, W, stride, C + p * W, ldc, add);
  for (p = std::max(p, full_end); p < panel_end; ++p) {
    const int cols = static_cast<int>(std::min(W, B.cols - p * W));
    row_block(MR, depth, a, lda, B.panel(p) + k0 * W, C + p * W, ldc, cols, add);
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
    if (width == W && col_stride == 1) {  // rows of the panel are contiguous: plain copies
      for (std::int64_t k = 0; k < K; ++k) {
        std::memcpy(panel + k * W, src + k * row_stride + n0, W * sizeof(T));
      }
      continue;
    }
    std::int64_t k0 = 0;
    if (row_stride == 1 && width == W) {
      // A transposed source (backward's R^T): its columns are contiguous. Eight k at a time:
      // read eight contiguous values of each of J source columns, write them as rows. J is 8,
      // or W where a panel is narrower (float64 on SSE: W = 4; blocks of 8 columns read and
      // wrote past the panel there).
      constexpr int J = W < 8 ? static_cast<int>(W) : 8;
      static_assert(W % J == 0, "whole blocks per panel");
      for (; k0 + 8 <= K; k0 += 8) {
        for (std::int64_t j0 = 0; j0 < W; j0 += J) {
          T block[J][8];
          for (int j = 0; j < J; ++j) {
            std::memcpy(block[j], src + k0 + (n0 + j0 + j) * col_stride, sizeof(block[j]));
          }
          T* dst = panel + k0 * W + j0;
#pragma GCC unroll 8
          for (int kk = 0; kk < 8; ++kk) {
#pragma GCC unroll 8
            for (int j = 0; j < J; ++j) dst[kk * W + j] = block[j][kk];
          }
        }
      }
    }
    for (std::int64_t k = k0; k < K; ++k) {
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
  constexpr std::int64_t kDepth = kPanelDepth<T>;
  // Rows split into equal tiles (32 = 6+6+5+5+5+5, not 6*5+2): a tiny last tile would waste most
  // of its FMA slots.
  const std::int64_t tiles = (M + kMaxRows - 1) / kMaxRows;
  // The k slices are the outer loop so that A's [M, kDepth] slice stays in L2 across all the
  // panels: backward's A (M x G*H, 768 KiB for GRU at B = 64, H = 1024) does not fit in L2, and
  // panels outermost streamed all of it from L3 once per panel. Each C element still sums its k
  // slices in order.
  for (std::int64_t k0 = k_begin; k0 < k_end; k0 += kDepth) {
    const std::int64_t depth = std::min(kDepth, k_end - k0);
    const bool add = accumulate || k0 > k_begin;
    if (M <= 2 && !B.prefetch) {
      if (M == 1) gemm_panels_few_rows<T, 1>(A, lda, B, k0, depth, panel_begin, panel_end, C, ldc, add);
      else gemm_panels_few_rows<T, 2>(A, lda, B, k0, depth, panel_begin, panel_end, C, ldc, add);
      continue;
    }
    // The slice the next panel will read, asked for into L2 a share per tile, spread over the
    // tile's k loop (micro_tile): LSTM (64, 200, 512, 1024) forward 661 -> 645 ms, GRU 493 ->
    // 469 ms against a burst of the share before each tile (one thread's GEMMs alone: 136 ->
    // 139 GFLOP/s; without any prefetching, as fast as the burst).
    constexpr std::int64_t kLine = 64;
    const std::int64_t slice_lines = depth * W * static_cast<std::int64_t>(sizeof(T)) / kLine;
    const std::int64_t lines_per_tile = (slice_lines + tiles - 1) / tiles;
    for (std::int64_t p = panel_begin; p < panel_end; ++p) {
      const int cols = static_cast<int>(std::min(W, B.cols - p * W));
      const T* Bp = B.panel(p) + k0 * W;
      T* Cp = C + p * W;
      const char* next = nullptr;
      if (B.prefetch) {
        const T* n = p + 1 < panel_end            ? B.panel(p + 1) + k0 * W
                     : k0 + kDepth < k_end ? B.panel(panel_begin) + (k0 + kDepth) * W
                                                  : nullptr;
        next = reinterpret_cast<const char*>(n);
      }
      for (std::int64_t tile = 0, i = 0; tile < tiles; ++tile) {
        const std::int64_t l0 = std::min(slice_lines, tile * lines_per_tile);
        const std::int64_t l1 = std::min(slice_lines, l0 + lines_per_tile);
        const int rows = static_cast<int>((M - i) / (tiles - tile) + ((M - i) % (tiles - tile) != 0));
        row_block(rows, depth, A + i * lda + k0, lda, Bp, Cp + i * ldc, ldc, cols, add,
                  next && l1 > l0 ? next + l0 * kLine : nullptr, l1 - l0);
        i += rows;
      }
    }
  }
}

namespace {

// Cache blocking: a KC x W slice of B stays in L1 across the MR-row slivers of an MC x KC block of
// A in L2, and a KC x NC block of B in L3.
constexpr std::int64_t kBlockK = kGemmDepth, kBlockM = 64 * kMaxRows, kBlockN = 1024;

// gemm's direct path (gemm_direct): at most this many rows of A, against at most this much of B.
// With more rows, few k (at most kDirectRows) and little work (one thread's worth).
constexpr std::int64_t kDirectRows = 4, kDirectBytes = 512 * 1024, kDirectMacs = 1 << 20;

// Copies a kMaxRows x kc block of A (element (r, k) at src[r * rs + k * cs]) into a sliver, the
// kMaxRows values of each k together. Fixed sizes, so the compiler unrolls and vectorizes.
template <typename T>
inline void pack_full_sliver(const T* src, std::int64_t rs, std::int64_t cs, std::int64_t kc,
                             T* sliver) {
  if (rs == 1) {  // a transposed view: the values of one k are adjacent
    for (std::int64_t k = 0; k < kc; ++k) {
      std::memcpy(sliver + k * kMaxRows, src + k * cs, kMaxRows * sizeof(T));
    }
    return;
  }
  if (cs == 1) {
    // Eight k at a time: read eight contiguous values of each row, write them interleaved.
    std::int64_t k = 0;
    for (; k + 8 <= kc; k += 8) {
      T block[kMaxRows][8];
      for (int r = 0; r < kMaxRows; ++r) std::memcpy(block[r], src + r * rs + k, sizeof(block[r]));
      T* dst = sliver + k * kMaxRows;
#pragma GCC unroll 8
      for (int kk = 0; kk < 8; ++kk) {
#pragma GCC unroll 12
        for (int r = 0; r < kMaxRows; ++r) dst[kk * kMaxRows + r] = block[r][kk];
      }
    }
    for (; k < kc; ++k) {
      for (int r = 0; r < kMaxRows; ++r) sliver[k * kMaxRows + r] = src[r * rs + k];
    }
    return;
  }
  for (std::int64_t k = 0; k < kc; ++k) {
    for (int r = 0; r < kMaxRows; ++r) sliver[k * kMaxRows + r] = src[r * rs + k * cs];
  }
}

template <typename T>
void pack_a_block(Operand<T> A, std::int64_t m0, std::int64_t mc, std::int64_t k0,
                  std::int64_t kc, T* out) {
  for (std::int64_t s = 0; s * kMaxRows < mc; ++s) {
    T* sliver = out + s * kc * kMaxRows;
    const std::int64_t rows = std::min<std::int64_t>(kMaxRows, mc - s * kMaxRows);
    const T* src = A.data + (m0 + s * kMaxRows) * A.row_stride + k0 * A.col_stride;
    if (rows == kMaxRows) {
      pack_full_sliver(src, A.row_stride, A.col_stride, kc, sliver);
      continue;
    }
    for (std::int64_t k = 0; k < kc; ++k) {
      for (std::int64_t r = 0; r < kMaxRows; ++r) {
        sliver[k * kMaxRows + r] = r < rows ? src[r * A.row_stride + k * A.col_stride] : T(0);
      }
    }
  }
}

template <typename T>
void gemm_serial(std::int64_t M, std::int64_t N, std::int64_t K, Operand<T> A, Operand<T> B,
                 T* C, std::int64_t ldc, bool accumulate) {
  constexpr std::int64_t W = kPanelWidth<T>;
  T* packed_a = thread_buffer<T>(0, kBlockM * kBlockK);
  T* packed_b = thread_buffer<T>(1, kBlockK * kBlockN);
  const std::int64_t b_block_bytes =
      std::min(kBlockK, K) * std::min(kBlockN, N) * static_cast<std::int64_t>(sizeof(T));
  const bool b_block_in_l2 = b_block_bytes <= l2_cache_bytes() / 2;
  for (std::int64_t n0 = 0; n0 < N; n0 += kBlockN) {
    const std::int64_t nc = std::min(kBlockN, N - n0);
    for (std::int64_t k0 = 0; k0 < K; k0 += kBlockK) {
      const std::int64_t kc = std::min(kBlockK, K - k0);
      const bool add = accumulate || k0 > 0;
      PackedPanels<T> block{packed_b, kc, nc};
      pack_panels(B.data + k0 * B.row_stride + n0 * B.col_stride, B.row_stride, B.col_stride,
                  block);
      for (std::int64_t m0 = 0; m0 < M; m0 += kBlockM) {
        const std::int64_t mc = std::min(kBlockM, M - m0);
        pack_a_block(A, m0, mc, k0, kc, packed_a);
        const auto tile = [&](std::int64_t s, std::int64_t p) {
          const int rows = static_cast<int>(std::min<std::int64_t>(kMaxRows, mc - s * kMaxRows));
          const int cols = static_cast<int>(std::min(W, nc - p * W));
          micro_tile<T, kMaxRows, true>(kc, packed_a + s * kc * kMaxRows, 0, packed_b + p * kc * W,
                                        C + (m0 + s * kMaxRows) * ldc + n0 + p * W, ldc, rows,
                                        cols, add);
        };
        // Both orders give every element of C the same sum. Sliver by sliver when the packed
        // block of B stays in L2 meanwhile: each sliver of A then stays in L1, and C is written
        // row after row (3200 x 1024 x 128: 120 -> 150 GFLOP/s on one core of a 2 MiB-L2 Xeon).
        // Otherwise panel by panel, each panel of B in L1 while the slivers stream from L2.
        if (b_block_in_l2) {
          for (std::int64_t s = 0; s * kMaxRows < mc; ++s) {
            for (std::int64_t p = 0; p * W < nc; ++p) tile(s, p);
          }
        } else {
          for (std::int64_t p = 0; p * W < nc; ++p) {
            for (std::int64_t s = 0; s * kMaxRows < mc; ++s) tile(s, p);
          }
        }
      }
    }
  }
}

}  // namespace

namespace {

// NP consecutive panels of W columns of one row of C, B read where it lies (row-major, ldb), in
// passes of `depth` added in k order.
template <typename T, int NP>
inline void direct_panels(std::int64_t K, std::int64_t depth, const T* A, std::int64_t a_stride,
                          const T* B, std::int64_t ldb, T* C, bool accumulate) {
  constexpr std::int64_t W = kPanelWidth<T>;
  for (std::int64_t k0 = 0; k0 < K; k0 += depth) {
    few_rows_panels<T, 1, NP>(std::min(depth, K - k0), A + k0 * a_stride, 0, a_stride,
                              B + k0 * ldb, ldb, W, C, 0, accumulate || k0 > 0);
  }
}

// The last n < W columns: copied, one pass of k at a time, into a zero-padded panel that
// direct_panels runs on (scalar code here would not round as the SIMD lanes do).
template <typename T>
inline void direct_columns(std::int64_t K, std::int64_t depth, const T* A, std::int64_t a_stride,
                           const T* B, std::int64_t ldb, T* C, std::int64_t n, bool accumulate) {
  constexpr std::int64_t W = kPanelWidth<T>;
  // The deeper of the two passes: kPanelDepth<T> is 512 for float64 with 16-byte (SSE) vectors.
  constexpr std::int64_t kMaxDepth = std::max<std::int64_t>(kGemmDepth, kPanelDepth<T>);
  alignas(64) T panel[kMaxDepth * W];
  alignas(64) T tile[W];
  for (std::int64_t k0 = 0; k0 < K; k0 += depth) {
    const std::int64_t len = std::min(depth, K - k0);
    for (std::int64_t k = 0; k < len; ++k) {
      for (std::int64_t j = 0; j < W; ++j) panel[k * W + j] = j < n ? B[(k0 + k) * ldb + j] : T(0);
    }
    for (std::int64_t j = 0; j < W; ++j) tile[j] = j < n ? C[j] : T(0);
    direct_panels<T, 1>(len, len, A + k0 * a_stride, a_stride, panel, W, tile,
                        accumulate || k0 > 0);
    for (std::int64_t j = 0; j < n; ++j) C[j] = tile[j];
  }
}

}  // namespace

template <typename T>
void gemm_direct(std::int64_t M, std::int64_t N, std::int64_t K, Operand<T> A, const T* B,
                 std::int64_t ldb, T* C, std::int64_t ldc, bool accumulate, std::int64_t depth) {
  constexpr std::int64_t W = kPanelWidth<T>;
  for (std::int64_t m = 0; m < M; ++m) {
    const T* a = A.data + m * A.row_stride;
    T* c = C + m * ldc;
    std::int64_t n = 0;
    for (; n + 4 * W <= N; n += 4 * W) {
      direct_panels<T, 4>(K, depth, a, A.col_stride, B + n, ldb, c + n, accumulate);
    }
    switch ((N - n) / W) {
      case 3: direct_panels<T, 3>(K, depth, a, A.col_stride, B + n, ldb, c + n, accumulate); break;
      case 2: direct_panels<T, 2>(K, depth, a, A.col_stride, B + n, ldb, c + n, accumulate); break;
      case 1: direct_panels<T, 1>(K, depth, a, A.col_stride, B + n, ldb, c + n, accumulate); break;
      default: break;
    }
    n += (N - n) / W * W;
    if (n < N) direct_columns(K, depth, a, A.col_stride, B + n, ldb, c + n, N - n, accumulate);
  }
}

namespace {

// Four dot products of one row of A against rows n .. n + NB of Bt.
template <typename T, int NB>
inline void dot_rows(std::int64_t K, const T* a, const T* Bt, std::int64_t ldbt, T* c,
                     bool accumulate) {
  using V = typename SimdOf<T>::type;
  constexpr int L = static_cast<int>(sizeof(V) / sizeof(T));
  V acc[NB];
#pragma GCC unroll 4
  for (int i = 0; i < NB; ++i) acc[i] = V{};
  std::int64_t k = 0;
  for (; k + L <= K; k += L) {
    const V av = load<V>(a + k);
#pragma GCC unroll 4
    for (int i = 0; i < NB; ++i) acc[i] += av * load<V>(Bt + i * ldbt + k);
  }
#pragma GCC unroll 4
  for (int i = 0; i < NB; ++i) {
    alignas(64) T lanes[L];
    store(lanes, acc[i]);
    T tail = T(0);
    for (std::int64_t kk = k; kk < K; ++kk) tail += a[kk] * Bt[i * ldbt + kk];
    // The lanes in a fixed pairwise order, then the tail.
    for (int width = L / 2; width > 0; width /= 2) {
      for (int l = 0; l < width; ++l) lanes[l] += lanes[l + width];
    }
    const T sum = lanes[0] + tail;
    c[i] = accumulate ? c[i] + sum : sum;
  }
}

}  // namespace

template <typename T>
void gemm_dot(std::int64_t M, std::int64_t N, std::int64_t K, const T* A, std::int64_t lda,
              const T* Bt, std::int64_t ldbt, T* C, std::int64_t ldc, bool accumulate) {
  for (std::int64_t m = 0; m < M; ++m) {
    const T* a = A + m * lda;
    T* c = C + m * ldc;
    std::int64_t n = 0;
    for (; n + 4 <= N; n += 4) dot_rows<T, 4>(K, a, Bt + n * ldbt, ldbt, c + n, accumulate);
    for (; n < N; ++n) dot_rows<T, 1>(K, a, Bt + n * ldbt, ldbt, c + n, accumulate);
  }
}

template <typename T>
void gemm(std::int64_t M, std::int64_t N, std::int64_t K, Operand<T> A, Operand<T> B, T* C,
          std::int64_t ldc, bool accumulate, int threads) {
  if (M <= 0 || N <= 0) return;
  if (K <= 0) {
    if (!accumulate) {
      for (std::int64_t i = 0; i < M; ++i) std::fill(C + i * ldc, C + i * ldc + N, T(0));
    }
    return;
  }
  // A few rows (or a few k) against a B that fits in L2, read where it lies: packing would cost
  // as much as the product (the forward projection of a step or two; the weight gradients of
  // one, whose k is B * T).
  const bool few_k = K <= kDirectRows && M * N * K <= kDirectMacs;
  if ((M <= kDirectRows || few_k) && B.col_stride == 1 &&
      K * N * static_cast<std::int64_t>(sizeof(T)) <= kDirectBytes) {
    gemm_direct(M, N, K, A, B.data, B.row_stride, C, ldc, accumulate, kGemmDepth);
    return;
  }
  // The same against a transposed B (backward's input gradient, dA W^T): dot products along k
  // instead of a transposition of W. Other bits than the packed path: tiny products only.
  if (M <= kDirectRows && B.row_stride == 1 && A.col_stride == 1 &&
      K * N * static_cast<std::int64_t>(sizeof(T)) <= kDirectBytes) {
    gemm_dot(M, N, K, A.data, A.row_stride, B.data, B.col_stride, C, ldc, accumulate);
    return;
  }
  constexpr std::int64_t W = kPanelWidth<T>;
  const std::int64_t slivers = (M + kMaxRows - 1) / kMaxRows, panels = (N + W - 1) / W;
  // Each thread packs all of the operand it does not split: splitting rows repacks B (K x N) per
  // thread, splitting columns repacks A (M x K). Split where the copy is smaller, given enough parts.
  const bool split_rows = panels < threads || (M >= N && slivers >= threads);
  const std::int64_t units = split_rows ? slivers : panels;
  // Below ~64K multiply-adds a thread costs more to wake than it saves.
  const std::int64_t work_threads = std::max<std::int64_t>(1, M * N * K / (std::int64_t(1) << 16));
  const int team = static_cast<int>(std::max<std::int64_t>(
      1, std::min({static_cast<std::int64_t>(threads), units, work_threads})));
  // One piece of the units per thread, as a fixed split would give them, but claimed in order
  // by whichever thread is free: the caller takes the next piece when it is done with its own
  // and finds it unclaimed, so it never waits for a worker that has not started (a busy
  // neighbour delayed it: thread_pool.h, parallel_claimed). Not finer: each piece packs its own
  // copy of the operand it does not split, so more pieces would cost a quiet machine more
  // packing. Every element of C is one thread's whole sum over k either way.
  const std::int64_t pieces = team;
  detail::WorkClaims claims(pieces);
  const auto piece = [&](std::int64_t t, std::int64_t n) {
    const std::int64_t u0 = units * t / n, u1 = units * (t + 1) / n;
    if (split_rows) {
      const std::int64_t m0 = u0 * kMaxRows, m1 = std::min(M, u1 * kMaxRows);
      if (m1 > m0) {
        Operand<T> a{A.data + m0 * A.row_stride, A.row_stride, A.col_stride};
        gemm_serial(m1 - m0, N, K, a, B, C + m0 * ldc, ldc, accumulate);
      }
    } else {
      const std::int64_t n0 = u0 * W, n1 = std::min(N, u1 * W);
      if (n1 > n0) {
        Operand<T> b{B.data + n0 * B.col_stride, B.row_stride, B.col_stride};
        gemm_serial(M, n1 - n0, K, A, b, C + n0, ldc, accumulate);
      }
    }
  };
  if (team == 1) {  // no team to wake
    piece(0, 1);
    return;
  }
  detail::parallel_claimed(team, [&](int, int) {
    for (std::int64_t p; claims.next(p);) piece(p, pieces);
  });
}

template void gemm<float>(std::int64_t, std::int64_t, std::int64_t, Operand<float>, Operand<float>,
                          float*, std::int64_t, bool, int);
template void gemm<double>(std::int64_t, std::int64_t, std::int64_t, Operand<double>,
                           Operand<double>, double*, std::int64_t, bool, int);
template void gemm_dot<float>(std::int64_t, std::int64_t, std::int64_t, const float*,
                              std::int64_t, const float*, std::int64_t, float*, std::int64_t,
                              bool);
template void gemm_dot<double>(std::int64_t, std::int64_t, std::int64_t, const double*,
                               std::int64_t, const double*, std::int64_t, double*, std::int64_t,
                               bool);
template void gemm_direct<float>(std::int64_t, std::int64_t, std::int64_t, Operand<float>,
                                 const float*, std::int64_t, float*, std::int64_t, bool,
                                 std::int64_t);
template void gemm_direct<double>(std::int64_t, std::int64_t, std::int64_t, Operand<double>,
                                  const double*, std::int64_t, double*, std::int64_t, bool,
                                  std::int64_t);

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

RNNKIT_CPU_NAMESPACE_END
