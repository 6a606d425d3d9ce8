// The CUDA backend's arithmetic that needs no GPU, in plain C++ so that the CPU test suite
// checks it (cpp/tests/test_cuda_host.cpp): how a row-major GEMM becomes cuBLAS' column-major
// arguments, cuBLAS' own argument rules, and the grid of the pointwise kernels. No CUDA header
// here: the CPU build compiles this file too.
#pragma once

#include <cstdint>

namespace rnnkit::cuda {

// ---- GEMM: row-major -> column-major ------------------------------------------------------------
//
// The kernels think in row-major: C[m, n] = op(A)[m, k] op(B)[k, n], each operand a pointer and a
// row stride (ld), op() the transpose when asked. cuBLAS is column-major. A row-major [r, c]
// matrix with row stride ld is, read column-major, the [c, r] matrix with leading dimension ld:
// its transpose, same memory. So
//
//   C = op(A) op(B)   (row-major)   <=>   C^T = op(B)^T op(A)^T   (column-major, same memory)
//
// and cuBLAS gets: its A = our B, its B = our A (the operands swap); each keeps ITS OWN transpose
// flag (op(B)^T of a non-transposed B is B's column-major view itself, hence OP_N); m and n swap,
// k stays; every leading dimension is the operand's own row stride.
struct ColumnMajorGemm {
  bool trans_a, trans_b;  // cuBLAS transa / transb (true: CUBLAS_OP_T)
  std::int64_t m, n, k;   // cuBLAS m, n, k
  std::int64_t lda, ldb, ldc;
  // cuBLAS' A operand is the row-major call's B (and its B the call's A): always true, spelled
  // out so that the call site reads what it passes.
  static constexpr bool kOperandsSwap = true;
};

// The column-major cuBLAS arguments of the row-major C[m, n] = op(A)[m, k] op(B)[k, n] with row
// strides lda, ldb, ldc (see above).
constexpr ColumnMajorGemm column_major_gemm(std::int64_t m, std::int64_t n, std::int64_t k,
                                            bool trans_a, std::int64_t lda, bool trans_b,
                                            std::int64_t ldb, std::int64_t ldc) {
  return ColumnMajorGemm{trans_b, trans_a, n, m, k, ldb, lda, ldc};
}

// What cuBLAS' gemm refuses with CUBLAS_STATUS_INVALID_VALUE, checked before the call so that a
// wrong stride is reported with the shapes instead of a bare status: m, n, k >= 0;
// lda >= max(1, transa ? k : m); ldb >= max(1, transb ? n : k); ldc >= max(1, m). Returns null
// when the arguments are valid, else which rule fails.
constexpr const char* gemm_argument_error(const ColumnMajorGemm& g) {
  const auto at_least_one = [](std::int64_t v) { return v < 1 ? std::int64_t(1) : v; };
  if (g.m < 0 || g.n < 0 || g.k < 0) return "a negative size";
  if (g.lda < at_least_one(g.trans_a ? g.k : g.m)) return "lda < max(1, transa ? k : m)";
  if (g.ldb < at_least_one(g.trans_b ? g.n : g.k)) return "ldb < max(1, transb ? n : k)";
  if (g.ldc < at_least_one(g.m)) return "ldc < max(1, m)";
  return nullptr;
}

// ---- the pointwise kernels' grid ----------------------------------------------------------------

// Threads per block of the pointwise kernels, and the blocks that cover n elements. Each thread
// loops with the grid's stride (RNNKIT_GRID_STRIDE, 64-bit indices), so any n fits one launch:
// the grid is capped far below gridDim.x's limit (2^31 - 1), and only grid.x is used (grid.y and
// grid.z, limited to 65535, stay 1).
constexpr int kThreads = 256;
constexpr std::int64_t kMaxBlocks = std::int64_t(1) << 20;

constexpr unsigned int blocks_for(std::int64_t n) {
  const std::int64_t blocks = (n + kThreads - 1) / kThreads;
  return static_cast<unsigned int>(blocks < 1 ? 1 : (blocks > kMaxBlocks ? kMaxBlocks : blocks));
}

// ---- which GPUs the build runs on -----------------------------------------------------------

// Whether code built for CMAKE_CUDA_ARCHITECTURES `archs` (entries separated by ';' or ',', such
// as "80-real,90") has an image a GPU of compute capability major.minor can run: machine code
// (sm_XY, entries without "-virtual") runs on the same major version with a minor >= Y; PTX
// (compute_XY, entries without "-real") is compiled by the driver for any GPU >= X.Y. An "a"
// entry (90a) runs on exactly X.Y, an "f" entry (100f) on its major family from X.Y. Lists this
// cannot judge ("native", "all", "all-major", empty) count as runnable: a launch then reports.
constexpr bool arch_list_runs_on(const char* archs, int major, int minor) {
  if (!archs || !*archs) return true;
  const int cc = major * 10 + minor;
  const char* p = archs;
  bool judged = false;
  while (*p) {
    while (*p == ';' || *p == ',' || *p == ' ') ++p;
    if (!*p) break;
    if (*p < '0' || *p > '9') return true;  // native, all, all-major
    int arch = 0;
    while (*p >= '0' && *p <= '9') arch = arch * 10 + (*p++ - '0');
    char suffix = 0;
    if (*p == 'a' || *p == 'f') suffix = *p++;
    bool sass = true, ptx = true;
    if (*p == '-') {
      ++p;
      if (*p == 'r') ptx = false;        // -real
      else if (*p == 'v') sass = false;  // -virtual
      while (*p && *p != ';' && *p != ',') ++p;
    }
    judged = true;
    const int arch_major = arch / 10;
    if (suffix == 'a') {
      if (cc == arch) return true;
    } else if (suffix == 'f') {
      if (sass && major == arch_major && cc >= arch) return true;
      if (ptx && cc == arch) return true;
    } else {
      if (sass && major == arch_major && cc >= arch) return true;
      if (ptx && cc >= arch) return true;
    }
  }
  return !judged;
}

}  // namespace rnnkit::cuda
