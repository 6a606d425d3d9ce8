// Our GEMMs, one SIMD micro-kernel for both:
// - gemm_panels, the recurrent GEMM of the time loop: C[M, N] (+)= A[M, K] * B[K, N] where B (the
//   recurrent weights) is packed ONCE per call into column panels and stays hot across all
//   timesteps, M (the batch) is small, and each thread computes its own column range;
// - gemm, the big products outside the loop (input projection, weight gradients), cache-blocked
//   with both operands packed.
#pragma once

#include "cpu/isa.h"

#include <cstdint>

RNNKIT_CPU_NAMESPACE_BEGIN

#if defined(__AVX512F__)
inline constexpr int kVectorBytes = 64;
#elif defined(__AVX__)
inline constexpr int kVectorBytes = 32;
#else
inline constexpr int kVectorBytes = 16;
#endif

// Columns per packed panel: two SIMD vectors.
template <typename T>
inline constexpr std::int64_t kPanelWidth = 2 * kVectorBytes / static_cast<std::int64_t>(sizeof(T));

// How deep (in k) one pass of each GEMM sums before adding into C: every element of C is a chain
// of fused multiply-adds over k from zero within a pass, and the passes are added in k order.
// Other kernels that must give the same bits (the streaming step of cpu/stream.cpp) use these.
// gemm_panels: a 16 KiB slice of a panel stays in L1 while the rows of A stream past it.
template <typename T>
inline constexpr std::int64_t kPanelDepth = 16384 / (kPanelWidth<T> * static_cast<std::int64_t>(sizeof(T)));
// gemm: the k extent of its cache blocks.
inline constexpr std::int64_t kGemmDepth = 256;

// B of shape [K, N], packed as ceil(N / kPanelWidth) panels of [K, kPanelWidth] (k-major, the last
// panel zero-padded). Packing is cheap (one pass over B) compared with the T GEMMs that reuse it.
template <typename T>
struct PackedPanels {
  T* data = nullptr;
  std::int64_t rows = 0;  // K
  std::int64_t cols = 0;  // N
  // Set when all the packed weights a step reads are too large to stay in the caches from one
  // step to the next: gemm_panels then asks for each next panel slice while it computes the
  // current one.
  bool prefetch = false;

  // Whether [rows, cols] packed weights, read once per step, are too large to stay in the caches
  // from one step to the next (above 8 MiB: GRU and LSTM at H = 1024 on a 32 MiB L3).
  static bool streamed(std::int64_t rows, std::int64_t cols) {
    return elements_for(rows, cols) * static_cast<std::int64_t>(sizeof(T)) > (std::int64_t(8) << 20);
  }

  static std::int64_t panels_for(std::int64_t cols) {
    return (cols + kPanelWidth<T> - 1) / kPanelWidth<T>;
  }
  static std::int64_t elements_for(std::int64_t rows, std::int64_t cols) {
    return panels_for(cols) * rows * kPanelWidth<T>;
  }
  std::int64_t panels() const { return panels_for(cols); }
  const T* panel(std::int64_t p) const { return data + p * rows * kPanelWidth<T>; }
};

// Packs the [K, N] matrix whose element (k, n) is src[k * row_stride + n * col_stride] into `out`
// (out.data must hold elements_for(K, N) and be 64-byte aligned). Transposed sources use
// row_stride = 1, col_stride = ld.
template <typename T>
void pack_panels(const T* src, std::int64_t row_stride, std::int64_t col_stride,
                 PackedPanels<T>& out);

// C[:, panel_begin*W .. min(panel_end*W, N)) (+)= A[M, k_begin:k_end] * B[k_begin:k_end, same cols]
// with W = kPanelWidth<T>. A is row-major with leading dimension lda and points at column 0 of A
// (the k range indexes it). C is row-major with leading dimension ldc and points at column 0 of
// B's columns. Overwrites C when accumulate is false.
template <typename T>
void gemm_panels(std::int64_t M, const T* A, std::int64_t lda, const PackedPanels<T>& B,
                 std::int64_t k_begin, std::int64_t k_end, std::int64_t panel_begin,
                 std::int64_t panel_end, T* C, std::int64_t ldc, bool accumulate);

// A matrix operand by element strides: element (i, j) is data[i * row_stride + j * col_stride],
// so transposed views cost nothing.
template <typename T>
struct Operand {
  const T* data;
  std::int64_t row_stride, col_stride;
};

// C[M, N] (+)= A[M, K] * B[K, N] with B read where it lies (row-major, leading dimension ldb, unit
// column stride): no packing, no thread team, for products too small to repay them. Every element
// of C gets the bits gemm (depth kGemmDepth) or gemm_panels (depth kPanelDepth<T>) would give it.
template <typename T>
void gemm_direct(std::int64_t M, std::int64_t N, std::int64_t K, Operand<T> A, const T* B,
                 std::int64_t ldb, T* C, std::int64_t ldc, bool accumulate, std::int64_t depth);

// C[M, N] (+)= A[M, K] * Bt[N, K]^T as M * N dot products along k, both operands read where
// they lie (row-major, unit k stride): no transposition of Bt, no thread team. Each dot product
// sums SIMD lanes over k and then the lanes in a fixed order: deterministic, but not the bits of
// gemm's k-ordered chains, so it serves only products gated as tiny (a step or two of backward).
template <typename T>
void gemm_dot(std::int64_t M, std::int64_t N, std::int64_t K, const T* A, std::int64_t lda,
              const T* Bt, std::int64_t ldbt, T* C, std::int64_t ldc, bool accumulate);

// C[M, N] (+)= A[M, K] * B[K, N] for the large products outside the time loop (input projection,
// weight and input gradients). Blocked for the caches with both operands packed; the threads
// split C, never K, so every element is summed in the same order whatever the thread count.
// C is row-major with leading dimension ldc. A few rows against a small B run without packing:
// gemm_direct (the same bits), or for a transposed B (unit row stride) gemm_dot (other bits,
// below kDirectRows rows only).
template <typename T>
void gemm(std::int64_t M, std::int64_t N, std::int64_t K, Operand<T> A, Operand<T> B, T* C,
          std::int64_t ldc, bool accumulate, int threads);

RNNKIT_CPU_NAMESPACE_END
