// bfloat16 GEMMs on AMX tiles (Intel Advanced Matrix Extensions, AMX-BF16), for float32 calls
// made with SequenceOptions::bfloat16_matmuls: both operands rounded to bfloat16 (to nearest,
// ties to even), products summed in float32. One TDPBF16PS multiplies a 16 x 32 tile of A by a
// 32 x 16 tile of B into a 16 x 16 float32 tile of C.
//
// Only the avx512 level has the kernels (on Linux, and where the compiler knows AMX: see
// cmake/isa.cmake); other levels' amx_bf16_available() is false and their other functions are
// never called.
#pragma once

#include "cpu/isa.h"

#include <cstdint>
#include <cstdlib>

RNNKIT_CPU_NAMESPACE_BEGIN

// Whether the AMX path runs: this level has it, the CPU has AMX-TILE and AMX-BF16, the OS lets the
// process use the tile registers (Linux: arch_prctl ARCH_REQ_XCOMP_PERM, asked once), and
// RNNKIT_AMX is not "0" in the environment (read once; for comparing against the float32 path).
bool amx_bf16_available();

// Columns of one block of packed B: two 16-column tiles.
inline constexpr std::int64_t kTileBlockCols = 32;
// k per tile: 16 rows of bfloat16 pairs.
inline constexpr std::int64_t kTileDepth = 32;

// B of shape [K, N] in bfloat16, packed for the tiles: ceil(N / 32) column blocks, each of
// ceil(K / 32) k blocks, each two 16 x 16 tiles of bfloat16 pairs (row r of a tile holds, for
// its 16 columns n, B[k0 + 2r, n] and B[k0 + 2r + 1, n] side by side: AMX's "VNNI" layout).
// Zero-padded in k and n, so that partial tiles multiply as full ones.
struct PackedTiles {
  std::uint16_t* data = nullptr;  // 64-byte aligned
  std::int64_t rows = 0;          // K
  std::int64_t cols = 0;          // N

  static std::int64_t k_blocks(std::int64_t rows) { return (rows + kTileDepth - 1) / kTileDepth; }
  static std::int64_t col_blocks(std::int64_t cols) {
    return (cols + kTileBlockCols - 1) / kTileBlockCols;
  }
  static std::int64_t elements_for(std::int64_t rows, std::int64_t cols) {
    return col_blocks(cols) * k_blocks(rows) * kTileDepth * kTileBlockCols;
  }
  const std::uint16_t* block(std::int64_t nb) const {
    return data + nb * k_blocks(rows) * kTileDepth * kTileBlockCols;
  }
};

// A float32 matrix by element strides: element (i, j) is data[i * row_stride + j * col_stride]
// (gemm.h's Operand<float>, repeated here so that this header stands alone).
struct FloatOperand {
  const float* data;
  std::int64_t row_stride, col_stride;
};

// Packs the float32 [K, N] matrix B, rounded to bfloat16, into `out` (out.data holds
// elements_for(K, N); out.rows = K, out.cols = N). Fast for row-major and transposed sources.
void pack_tiles(FloatOperand B, PackedTiles& out);

// C[M, col_begin:col_end) (+)= A[M, K] * B[K, same columns] on one thread, A rounded to bfloat16
// here, C row-major (leading dimension ldc, pointing at B's column 0). col_begin is a multiple of
// kTileBlockCols. Overwrites C unless accumulate.
void amx_gemm_columns(std::int64_t M, FloatOperand A, const PackedTiles& B,
                      std::int64_t col_begin, std::int64_t col_end, float* C, std::int64_t ldc,
                      bool accumulate);

// amx_gemm_columns for `gates` matrices B[g] of the same K, against one A rounded once: C_g =
// C + g * gate_stride (the time loop's gates, which all read h_{t-1}).
void amx_gemm_gates(std::int64_t M, FloatOperand A, const PackedTiles* B, int gates,
                    std::int64_t col_begin, std::int64_t col_end, float* C, std::int64_t ldc,
                    std::int64_t gate_stride, bool accumulate);

// The same over all of B's columns, with the rows of C split among up to `threads` threads.
void amx_gemm(std::int64_t M, FloatOperand A, const PackedTiles& B, float* C, std::int64_t ldc,
              bool accumulate, int threads);

// C[M, N] (+)= A[M, K] * B[K, N], both rounded to bfloat16, for operands that are not packed
// yet (backward's products): packs B a slice of k at a time into a buffer of the calling thread
// (at most about 8 MiB, kept for the next call), the slices' sums added in k order. Every element
// of C is summed in the same order whatever the thread count.
void amx_product(std::int64_t M, std::int64_t N, std::int64_t K, FloatOperand A, FloatOperand B,
                 float* C, std::int64_t ldc, bool accumulate, int threads);

// The AMX calls take float32; only float32 calls reach them (uses_amx in cpu/plan.h), but the
// float64 kernels compile the same code.
inline const float* as_float(const float* p) { return p; }
inline float* as_float(float* p) { return p; }
inline const float* as_float(const double*) { std::abort(); }
inline float* as_float(double*) { std::abort(); }

RNNKIT_CPU_NAMESPACE_END
