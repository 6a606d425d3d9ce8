// The CUDA backend's host-side arithmetic (cuda/host_math.h), tested without a GPU: the row-major
// -> column-major GEMM mapping every cuBLAS call of the backend goes through, against a naive
// row-major GEMM, with the backend's own kinds of operands (gate blocks of [., G*H] weights, one
// time step of a [B, T, G*H] buffer, the bias gradient as ones^T dA); cuBLAS' argument rules;
// the pointwise kernels' grid; which GPUs a list of CUDA architectures runs on. What needs a GPU
// (the kernels, cuBLAS itself) is tested by rnnkit_cuda_tests.
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "../src/cuda/host_math.h"
#include "test_harness.h"

using rnnkit::cuda::arch_list_runs_on;
using rnnkit::cuda::blocks_for;
using rnnkit::cuda::ColumnMajorGemm;
using rnnkit::cuda::column_major_gemm;
using rnnkit::cuda::gemm_argument_error;
using rnnkit::cuda::kThreads;

namespace {

// Reference BLAS gemm semantics, column-major: C[m, n] = op(A) op(B) + beta C with
// A(i, l) = a[i + l * lda] (or a[l + i * lda] transposed), as cuBLAS computes it.
void blas_gemm(const ColumnMajorGemm& g, const double* a, const double* b, double* c,
               double beta) {
  for (std::int64_t j = 0; j < g.n; ++j) {
    for (std::int64_t i = 0; i < g.m; ++i) {
      double sum = 0;
      for (std::int64_t l = 0; l < g.k; ++l) {
        const double av = g.trans_a ? a[l + i * g.lda] : a[i + l * g.lda];
        const double bv = g.trans_b ? b[j + l * g.ldb] : b[l + j * g.ldb];
        sum += av * bv;
      }
      c[i + j * g.ldc] = sum + beta * c[i + j * g.ldc];
    }
  }
}

// The row-major definition: C[i, j] = sum_l op(A)[i, l] op(B)[l, j] + beta C[i, j].
void row_major_gemm(std::int64_t m, std::int64_t n, std::int64_t k, const double* a,
                    std::int64_t lda, bool trans_a, const double* b, std::int64_t ldb,
                    bool trans_b, double* c, std::int64_t ldc, double beta) {
  for (std::int64_t i = 0; i < m; ++i) {
    for (std::int64_t j = 0; j < n; ++j) {
      double sum = 0;
      for (std::int64_t l = 0; l < k; ++l) {
        const double av = trans_a ? a[l * lda + i] : a[i * lda + l];
        const double bv = trans_b ? b[j * ldb + l] : b[l * ldb + j];
        sum += av * bv;
      }
      c[i * ldc + j] = sum + beta * c[i * ldc + j];
    }
  }
}

struct Buffer {
  std::vector<double> data;
  explicit Buffer(std::int64_t n, std::mt19937& rng) : data(static_cast<std::size_t>(n)) {
    std::uniform_real_distribution<double> u(-1, 1);
    for (double& v : data) v = u(rng);
  }
};

// One row-major GEMM through the mapping and through the definition: the same numbers, the
// elements of C outside the product untouched, and arguments cuBLAS accepts.
void check_gemm(const std::string& what, std::int64_t m, std::int64_t n, std::int64_t k,
                bool trans_a, std::int64_t lda, std::int64_t a_offset, bool trans_b,
                std::int64_t ldb, std::int64_t b_offset, std::int64_t ldc, std::int64_t c_offset,
                double beta, std::mt19937& rng) {
  const std::int64_t a_rows = trans_a ? k : m, b_rows = trans_b ? n : k;
  Buffer a(a_offset + a_rows * lda, rng), b(b_offset + b_rows * ldb, rng),
      c(c_offset + m * ldc, rng);
  std::vector<double> want = c.data, got = c.data;
  row_major_gemm(m, n, k, a.data.data() + a_offset, lda, trans_a, b.data.data() + b_offset, ldb,
                 trans_b, want.data() + c_offset, ldc, beta);
  const ColumnMajorGemm g = column_major_gemm(m, n, k, trans_a, lda, trans_b, ldb, ldc);
  const char* error = gemm_argument_error(g);
  CHECK_MSG(error == nullptr, what + ": cuBLAS would refuse it: " + (error ? error : ""));
  CHECK_MSG(ColumnMajorGemm::kOperandsSwap, what);
  // cuBLAS' A is the row-major B, its B the row-major A.
  blas_gemm(g, b.data.data() + b_offset, a.data.data() + a_offset, got.data() + c_offset, beta);
  double worst = 0;
  for (std::size_t i = 0; i < want.size(); ++i) worst = std::fmax(worst, std::fabs(got[i] - want[i]));
  CHECK_MSG(worst <= 1e-12, what + ": differs from the row-major definition by " +
                                std::to_string(worst));
}

}  // namespace

TEST_CASE(cuda_host_gemm_mapping_random) {
  std::mt19937 rng(7);
  std::uniform_int_distribution<int> size(1, 9), pad(0, 3);
  for (int trial = 0; trial < 200; ++trial) {
    const std::int64_t m = size(rng), n = size(rng), k = size(rng);
    const bool ta = trial & 1, tb = trial & 2;
    const std::int64_t lda = (ta ? m : k) + pad(rng), ldb = (tb ? k : n) + pad(rng),
                       ldc = n + pad(rng);
    check_gemm("trial " + std::to_string(trial), m, n, k, ta, lda, pad(rng), tb, ldb, pad(rng),
               ldc, pad(rng), trial % 3 == 0 ? 1.0 : 0.0, rng);
  }
}

// The operands rnnkit's CUDA forward and backward pass (cuda/forward.cu, cuda/backward.cu), at
// sizes where B, T, I, H and G*H all differ.
TEST_CASE(cuda_host_gemm_mapping_backend_operands) {
  std::mt19937 rng(11);
  const std::int64_t B = 3, T = 4, I = 5, H = 6, G = 4, GH = G * H, rows = B * T;
  // forward.cu project(): proj[B*T, GH] = x[B*T, I] W[I, GH].
  check_gemm("input projection", rows, GH, I, false, I, 0, false, GH, 0, GH, 0, 0.0, rng);
  // project() with per-gate input dropout: gate g's columns of W and of proj, row stride GH.
  check_gemm("input projection, gate 2", rows, H, I, false, I, 0, false, GH, 2 * H, GH, 2 * H, 0.0, rng);
  // recurrent_gemm(): recurrent[:, g0*H .. g1*H) = h[B, H] R[:, g0*H .. g1*H).
  check_gemm("recurrent gates 0..2", B, 2 * H, H, false, H, 0, false, GH, 0, GH, 0, 0.0, rng);
  check_gemm("recurrent gate 3", B, H, H, false, H, 0, false, GH, 3 * H, GH, 3 * H, 0.0, rng);
  // backward.cu recurrent_gemm(): C[B, H] = dA_t[B, (g1-g0)*H] R_block^T, where dA_t is time t
  // of a [B, T, GH] buffer (row stride T*GH) and R_block is [H, (g1-g0)*H] inside [H, GH].
  const std::int64_t t = 2;
  check_gemm("state gradient, all gates", B, H, GH, false, T * GH, t * GH, true, GH, 0, H, 0, 0.0, rng);
  check_gemm("state gradient, accumulated", B, H, GH, false, T * GH, t * GH, true, GH, 0, H, 0, 1.0, rng);
  check_gemm("reset-before q, gate 2", B, H, H, false, T * GH, t * GH + 2 * H, true, GH, 2 * H, H, 0, 0.0, rng);
  // weight_gradients(): d_bias[1, GH] = ones[1, rows] dA[rows, GH].
  check_gemm("bias gradient", 1, GH, rows, false, rows, 0, false, GH, 0, GH, 0, 0.0, rng);
  // input_gradients(): dW[I, GH] = x^T dA; dx[rows, I] = dA W^T; per gate with offsets.
  check_gemm("kernel gradient", I, GH, rows, true, I, 0, false, GH, 0, GH, 0, 0.0, rng);
  check_gemm("input gradient", rows, I, GH, false, GH, 0, true, GH, 0, I, 0, 0.0, rng);
  check_gemm("kernel gradient, gate 1", I, H, rows, true, I, 0, false, GH, H, GH, H, 0.0, rng);
  check_gemm("input gradient, gate 1", rows, I, H, false, GH, H, true, GH, H, I, 0, 0.0, rng);
  // recurrent_kernel_gradient(): dU[H, gates*H] = h_prev^T dR.
  check_gemm("recurrent kernel gradient", H, GH, rows, true, H, 0, false, GH, 0, GH, 0, 0.0, rng);
  check_gemm("recurrent kernel gradient, gate 2", H, H, rows, true, H, 0, false, GH, 2 * H, GH, 2 * H, 0.0, rng);
}

TEST_CASE(cuda_host_cublas_argument_rules) {
  // C[2, 3] = A[2, 4] B[4, 3], row-major and tight: valid.
  CHECK(gemm_argument_error(column_major_gemm(2, 3, 4, false, 4, false, 3, 3)) == nullptr);
  // A row stride below its width (k = 4) breaks cuBLAS' ldb rule (A is cuBLAS' B).
  CHECK(gemm_argument_error(column_major_gemm(2, 3, 4, false, 3, false, 3, 3)) != nullptr);
  // B's row stride below n = 3 breaks lda; C's below n breaks ldc.
  CHECK(gemm_argument_error(column_major_gemm(2, 3, 4, false, 4, false, 2, 3)) != nullptr);
  CHECK(gemm_argument_error(column_major_gemm(2, 3, 4, false, 4, false, 3, 2)) != nullptr);
  // Transposed A: stored [k, m], row stride >= m.
  CHECK(gemm_argument_error(column_major_gemm(2, 3, 4, true, 2, false, 3, 3)) == nullptr);
  CHECK(gemm_argument_error(column_major_gemm(2, 3, 4, true, 1, false, 3, 3)) != nullptr);
  // Transposed B: stored [n, k], stride >= k.
  CHECK(gemm_argument_error(column_major_gemm(2, 3, 4, false, 4, true, 4, 3)) == nullptr);
  CHECK(gemm_argument_error(column_major_gemm(2, 3, 4, false, 4, true, 3, 3)) != nullptr);
  CHECK(gemm_argument_error(column_major_gemm(-1, 3, 4, false, 4, false, 3, 3)) != nullptr);
  // Every leading dimension is at least 1, even for an empty side.
  CHECK(gemm_argument_error(column_major_gemm(0, 0, 0, false, 0, false, 1, 1)) != nullptr);
  static_assert(column_major_gemm(2, 3, 4, true, 5, false, 6, 7).m == 3, "m and n swap");
  static_assert(column_major_gemm(2, 3, 4, true, 5, false, 6, 7).trans_b, "flags follow operands");
}

TEST_CASE(cuda_host_pointwise_grid) {
  CHECK_EQ(blocks_for(0), 1u);
  CHECK_EQ(blocks_for(1), 1u);
  CHECK_EQ(blocks_for(kThreads), 1u);
  CHECK_EQ(blocks_for(kThreads + 1), 2u);
  // Larger than 2^31 elements (B*T*H of a big batch): capped, never over gridDim.x's limit.
  const std::int64_t huge = (std::int64_t(1) << 40) + 3;
  CHECK(blocks_for(huge) <= 2147483647u);
  CHECK(blocks_for(huge) >= 1u);
  // A grid-stride loop with this grid visits every index exactly once: with stride S =
  // blocks * kThreads, thread i covers i, i + S, ...; the threads' first indices are 0 .. S-1.
  for (std::int64_t n : {std::int64_t(1), std::int64_t(255), std::int64_t(257),
                         std::int64_t(1) << 28, huge}) {
    const std::int64_t stride = std::int64_t(blocks_for(n)) * kThreads;
    CHECK_MSG(stride >= 1 && (stride >= n || stride == (std::int64_t(1) << 20) * kThreads),
              "grid for n=" + std::to_string(n));
    // 64-bit index arithmetic: the last index the loop forms stays below n + stride.
    CHECK(n - 1 + stride > n - 1);
  }
}

TEST_CASE(cuda_host_architecture_list) {
  const char* ours = "80-real,90";  // cmake/cuda.cmake's default
  CHECK(arch_list_runs_on(ours, 8, 0));    // A100: sm_80 machine code
  CHECK(arch_list_runs_on(ours, 8, 6));    // A10 / RTX 30xx: sm_80 code runs on 8.6
  CHECK(arch_list_runs_on(ours, 8, 9));    // L4 / RTX 40xx
  CHECK(arch_list_runs_on(ours, 9, 0));    // H100 / H200
  CHECK(arch_list_runs_on(ours, 10, 0));   // B200: compute_90 PTX, compiled by the driver
  CHECK(arch_list_runs_on(ours, 12, 0));
  CHECK(!arch_list_runs_on(ours, 7, 5));   // T4: nothing for it
  CHECK(!arch_list_runs_on(ours, 7, 0));
  CHECK(!arch_list_runs_on("80-real;90-real", 10, 0));  // no PTX: nothing for Blackwell
  CHECK(arch_list_runs_on("80-real;90-real", 9, 0));
  CHECK(arch_list_runs_on("75-virtual", 9, 0));         // PTX only
  CHECK(!arch_list_runs_on("86-real", 8, 0));           // sm_86 code needs 8.6 or later 8.x
  CHECK(arch_list_runs_on("90a-real", 9, 0));
  CHECK(!arch_list_runs_on("90a", 10, 0));               // arch-specific: 9.0 only
  CHECK(arch_list_runs_on("100f-real", 10, 3));
  CHECK(!arch_list_runs_on("100f-real", 12, 0));
  CHECK(arch_list_runs_on("native", 7, 0));              // cannot tell: let a launch say
  CHECK(arch_list_runs_on("all-major", 7, 0));
  CHECK(arch_list_runs_on("", 7, 0));
  static_assert(arch_list_runs_on("80-real,90", 9, 0), "usable in constant expressions");
}
