#include "cpu/amx.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>

// The avx512 level is compiled with -mamx-tile -mamx-bf16 where the compiler knows them
// (cmake/isa.cmake), a native build where the build machine has AMX.
#if defined(__AMX_TILE__) && defined(__AMX_BF16__) && defined(__AVX512BW__) && defined(__linux__)
#define RNNKIT_AMX_BF16 1
#endif

#if defined(RNNKIT_AMX_BF16)
#include <cpuid.h>
#include <immintrin.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cpu/thread_buffer.h"
#include "thread_pool.h"
#endif

RNNKIT_CPU_NAMESPACE_BEGIN

#if !defined(RNNKIT_AMX_BF16)

bool amx_bf16_available() { return false; }
void pack_tiles(FloatOperand, PackedTiles&) { std::abort(); }
void amx_gemm_columns(std::int64_t, FloatOperand, const PackedTiles&, std::int64_t, std::int64_t,
                      float*, std::int64_t, bool) {
  std::abort();
}
void amx_gemm_gates(std::int64_t, FloatOperand, const PackedTiles*, int, std::int64_t,
                    std::int64_t, float*, std::int64_t, std::int64_t, bool) {
  std::abort();
}
void amx_gemm(std::int64_t, FloatOperand, const PackedTiles&, float*, std::int64_t, bool, int) {
  std::abort();
}
void amx_product(std::int64_t, std::int64_t, std::int64_t, FloatOperand, FloatOperand, float*,
                 std::int64_t, bool, int) {
  std::abort();
}

#else

namespace {

// Linux's names for asking to use the tile data registers (asm/prctl.h, 5.16+).
constexpr int kArchReqXcompPerm = 0x1023;
constexpr int kXfeatureXtiledata = 18;

bool probe_amx() {
  const char* env = std::getenv("RNNKIT_AMX");
  if (env && std::strcmp(env, "0") == 0) return false;
  unsigned a = 0, b = 0, c = 0, d = 0;
  if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return false;
  const bool tile = (d >> 24) & 1u, bf16 = (d >> 22) & 1u;
  if (!tile || !bf16) return false;
  return syscall(SYS_arch_prctl, kArchReqXcompPerm, kXfeatureXtiledata) == 0;
}

// float32 -> bfloat16, to nearest with ties to even; NaNs stay (quiet) NaNs.
inline std::uint16_t to_bf16(float f) {
  std::uint32_t u;
  std::memcpy(&u, &f, sizeof(u));
  if ((u & 0x7fffffffu) > 0x7f800000u) return static_cast<std::uint16_t>((u >> 16) | 0x40u);
  return static_cast<std::uint16_t>((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);
}

// 16 floats to bfloat16, as to_bf16 does each.
inline __m256i to_bf16(__m512 v) {
  const __m512i u = _mm512_castps_si512(v);
  const __m512i lsb = _mm512_and_si512(_mm512_srli_epi32(u, 16), _mm512_set1_epi32(1));
  const __m512i rounded =
      _mm512_srli_epi32(_mm512_add_epi32(u, _mm512_add_epi32(lsb, _mm512_set1_epi32(0x7fff))), 16);
  const __m512i quiet = _mm512_or_si512(_mm512_srli_epi32(u, 16), _mm512_set1_epi32(0x40));
  const __mmask16 nan = _mm512_cmpgt_epu32_mask(
      _mm512_and_si512(u, _mm512_set1_epi32(0x7fffffff)), _mm512_set1_epi32(0x7f800000));
  return _mm512_cvtepi32_epi16(_mm512_mask_mov_epi32(rounded, nan, quiet));
}

// Every tile is 16 rows of 64 bytes: C tiles 0-3 (float32), A tiles 4-5, B tiles 6-7.
struct alignas(64) TileConfig {
  std::uint8_t palette = 1, start_row = 0;
  std::uint8_t reserved[14] = {};
  std::uint16_t bytes_per_row[16] = {};
  std::uint8_t rows[16] = {};

  TileConfig() {
    for (int t = 0; t < 8; ++t) {
      bytes_per_row[t] = 64;
      rows[t] = 16;
    }
  }
};

// Loads the tile shapes on this thread for the life of one call, and gives the tiles back after
// (so that the OS need not save 8 KiB of tile data at each context switch).
class TileScope {
 public:
  TileScope() {
    static const TileConfig config;
    _tile_loadconfig(&config);
  }
  ~TileScope() { _tile_release(); }
  TileScope(const TileScope&) = delete;
  TileScope& operator=(const TileScope&) = delete;
};

constexpr std::int64_t kBlockRows = 32;  // rows of C per block: two A tiles
constexpr std::int64_t kTileElements = 16 * 32;  // bfloat16 values per A or B tile

// Rows [0, rows) of A (rows <= 32), k in [0, K), as bfloat16 into `out` [32, Kp] (Kp = K rounded
// up to kTileDepth), zeros beyond.
void convert_rows(FloatOperand A, std::int64_t rows, std::int64_t K, std::int64_t Kp,
                  std::uint16_t* out) {
  if (A.col_stride != 1 && A.row_stride == 1) {
    // A transposed view (backward's x^T, h^T): the rows' values of one k are contiguous. Two k
    // at a time, 16 rows at a time: the pairs interleaved as 32-bit words, scattered to the rows.
    std::memset(out, 0, kBlockRows * Kp * sizeof(std::uint16_t));
    const __m512i row_words = _mm512_mullo_epi32(_mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7,
                                                                  6, 5, 4, 3, 2, 1, 0),
                                                 _mm512_set1_epi32(static_cast<int>(Kp / 2)));
    const auto one_by_one = [&](std::int64_t r_begin, std::int64_t r_end, std::int64_t k_begin) {
      for (std::int64_t k = k_begin; k < K; ++k) {
        const float* src = A.data + k * A.col_stride;
        for (std::int64_t r = r_begin; r < r_end; ++r) out[r * Kp + k] = to_bf16(src[r]);
      }
    };
    std::int64_t r0 = 0;
    for (; r0 + 16 <= rows; r0 += 16) {
      std::int64_t k = 0;
      for (; k + 2 <= K; k += 2) {
        const float* even = A.data + r0 + k * A.col_stride;
        const __m512i lo = _mm512_cvtepu16_epi32(to_bf16(_mm512_loadu_ps(even)));
        const __m512i hi = _mm512_cvtepu16_epi32(to_bf16(_mm512_loadu_ps(even + A.col_stride)));
        _mm512_i32scatter_epi32(out + r0 * Kp + k, row_words,
                                _mm512_or_si512(lo, _mm512_slli_epi32(hi, 16)), 4);
      }
      one_by_one(r0, r0 + 16, k);  // an odd K's last k
    }
    one_by_one(r0, rows, 0);
    return;
  }
  if (A.col_stride != 1) {
    for (std::int64_t r = 0; r < kBlockRows; ++r) {
      for (std::int64_t k = 0; k < Kp; ++k) {
        const bool inside = r < rows && k < K;
        out[r * Kp + k] = inside ? to_bf16(A.data[r * A.row_stride + k * A.col_stride]) : 0;
      }
    }
    return;
  }
  for (std::int64_t r = 0; r < kBlockRows; ++r) {
    std::uint16_t* dst = out + r * Kp;
    if (r >= rows) {
      std::memset(dst, 0, Kp * sizeof(std::uint16_t));
      continue;
    }
    const float* src = A.data + r * A.row_stride;
    std::int64_t k = 0;
    for (; k + 16 <= K; k += 16) {
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + k), to_bf16(_mm512_loadu_ps(src + k)));
    }
    for (; k < K; ++k) dst[k] = to_bf16(src[k]);
    for (; k < Kp; ++k) dst[k] = 0;
  }
}

// One 32 x 32 block of C (rows r0.., block nb's columns) from converted A rows `a` [32, Kp].
// TWO_A: both 16-row halves of A hold rows (else only the first).
template <bool kTwoA>
void block_product(const std::uint16_t* a, std::int64_t Kp, const std::uint16_t* b,
                   std::int64_t k_blocks, float* C, std::int64_t ldc_bytes, bool load_c) {
  if (load_c) {
    _tile_loadd(0, C, ldc_bytes);
    _tile_loadd(1, C + 16, ldc_bytes);
    if constexpr (kTwoA) {
      _tile_loadd(2, reinterpret_cast<char*>(C) + 16 * ldc_bytes, ldc_bytes);
      _tile_loadd(3, reinterpret_cast<char*>(C + 16) + 16 * ldc_bytes, ldc_bytes);
    }
  } else {
    _tile_zero(0);
    _tile_zero(1);
    if constexpr (kTwoA) {
      _tile_zero(2);
      _tile_zero(3);
    }
  }
  const std::int64_t a_stride = Kp * 2;
  for (std::int64_t kb = 0; kb < k_blocks; ++kb) {
    const std::uint16_t* bk = b + kb * 2 * kTileElements;
    _tile_loadd(6, bk, 64);
    _tile_loadd(7, bk + kTileElements, 64);
    _tile_loadd(4, a + kb * kTileDepth, a_stride);
    _tile_dpbf16ps(0, 4, 6);
    _tile_dpbf16ps(1, 4, 7);
    if constexpr (kTwoA) {
      _tile_loadd(5, a + 16 * Kp + kb * kTileDepth, a_stride);
      _tile_dpbf16ps(2, 5, 6);
      _tile_dpbf16ps(3, 5, 7);
    }
  }
  _tile_stored(0, C, ldc_bytes);
  _tile_stored(1, C + 16, ldc_bytes);
  if constexpr (kTwoA) {
    _tile_stored(2, reinterpret_cast<char*>(C) + 16 * ldc_bytes, ldc_bytes);
    _tile_stored(3, reinterpret_cast<char*>(C + 16) + 16 * ldc_bytes, ldc_bytes);
  }
}

// C[rows, cols] (+)= (a * block nb of B), for a block of up to 32 x 32: full blocks in place,
// partial ones through a 32 x 32 scratch tile.
void block_into(const std::uint16_t* a, std::int64_t Kp, const PackedTiles& B, std::int64_t nb,
                std::int64_t rows, std::int64_t cols, float* C, std::int64_t ldc, bool accumulate) {
  const std::int64_t k_blocks = PackedTiles::k_blocks(B.rows);
  const std::uint16_t* b = B.block(nb);
  const bool two = rows > 16;
  if (cols == kTileBlockCols && (rows == kBlockRows || rows == 16)) {
    if (two) block_product<true>(a, Kp, b, k_blocks, C, ldc * 4, accumulate);
    else block_product<false>(a, Kp, b, k_blocks, C, ldc * 4, accumulate);
    return;
  }
  alignas(64) float tile[kBlockRows * 32];
  if (accumulate) {
    std::memset(tile, 0, sizeof(tile));
    for (std::int64_t r = 0; r < rows; ++r) std::memcpy(tile + r * 32, C + r * ldc, cols * 4);
  }
  if (two) block_product<true>(a, Kp, b, k_blocks, tile, 32 * 4, accumulate);
  else block_product<false>(a, Kp, b, k_blocks, tile, 32 * 4, accumulate);
  for (std::int64_t r = 0; r < rows; ++r) std::memcpy(C + r * ldc, tile + r * 32, cols * 4);
}

}  // namespace

bool amx_bf16_available() {
  static const bool available = probe_amx();
  return available;
}

namespace {

// pack_tiles for column blocks [nb_begin, nb_end).
void pack_tile_blocks(FloatOperand B, const PackedTiles& out, std::int64_t nb_begin,
                      std::int64_t nb_end) {
  const std::int64_t K = out.rows, N = out.cols, kb_count = PackedTiles::k_blocks(K);
  const auto at = [&](std::int64_t k, std::int64_t n) {
    return B.data[k * B.row_stride + n * B.col_stride];
  };
  for (std::int64_t nb = nb_begin; nb < nb_end; ++nb) {
    std::uint16_t* block = out.data + nb * kb_count * 2 * kTileElements;
    for (std::int64_t kb = 0; kb < kb_count; ++kb) {
      for (int half = 0; half < 2; ++half) {
        std::uint16_t* tile = block + (kb * 2 + half) * kTileElements;
        const std::int64_t n0 = nb * kTileBlockCols + half * 16;
        const std::int64_t k0 = kb * kTileDepth;
        if (B.col_stride == 1 && n0 + 16 <= N && k0 + kTileDepth <= K) {
          // Row-major: rows k and k + 1 of 16 columns, interleaved into pairs.
          for (std::int64_t pair = 0; pair < 16; ++pair) {
            const float* even = B.data + (k0 + 2 * pair) * B.row_stride + n0;
            const __m512i lo = _mm512_cvtepu16_epi32(to_bf16(_mm512_loadu_ps(even)));
            const __m512i hi = _mm512_cvtepu16_epi32(to_bf16(_mm512_loadu_ps(even + B.row_stride)));
            _mm512_storeu_si512(tile + pair * 32, _mm512_or_si512(lo, _mm512_slli_epi32(hi, 16)));
          }
          continue;
        }
        if (B.row_stride == 1 && n0 + 16 <= N && k0 + kTileDepth <= K) {
          // Transposed (W^T, R^T): each column's 32 k are contiguous; a column's pair p goes to
          // row p of the tile.
          alignas(64) std::uint32_t pairs[16][16];
          for (std::int64_t j = 0; j < 16; ++j) {
            const float* column = B.data + (n0 + j) * B.col_stride + k0;
            const __m256i a = to_bf16(_mm512_loadu_ps(column));
            const __m256i b = to_bf16(_mm512_loadu_ps(column + 16));
            _mm256_store_si256(reinterpret_cast<__m256i*>(pairs[j]), a);
            _mm256_store_si256(reinterpret_cast<__m256i*>(pairs[j] + 8), b);
          }
          auto* rows32 = reinterpret_cast<std::uint32_t*>(tile);
          for (std::int64_t p = 0; p < 16; ++p) {
            for (std::int64_t j = 0; j < 16; ++j) rows32[p * 16 + j] = pairs[j][p];
          }
          continue;
        }
        for (std::int64_t pair = 0; pair < 16; ++pair) {
          for (std::int64_t j = 0; j < 16; ++j) {
            for (std::int64_t e = 0; e < 2; ++e) {
              const std::int64_t k = k0 + 2 * pair + e, n = n0 + j;
              tile[pair * 32 + j * 2 + e] = k < K && n < N ? to_bf16(at(k, n)) : 0;
            }
          }
        }
      }
    }
  }
}

}  // namespace

void pack_tiles(FloatOperand B, PackedTiles& out) {
  pack_tile_blocks(B, out, 0, PackedTiles::col_blocks(out.cols));
}

void amx_gemm_gates(std::int64_t M, FloatOperand A, const PackedTiles* B, int gates,
                    std::int64_t col_begin, std::int64_t col_end, float* C, std::int64_t ldc,
                    std::int64_t gate_stride, bool accumulate) {
  if (M <= 0 || col_end <= col_begin || gates <= 0) return;
  const std::int64_t K = B[0].rows, Kp = PackedTiles::k_blocks(K) * kTileDepth;
  std::uint16_t* a = thread_buffer<std::uint16_t>(0, kBlockRows * Kp);
  const TileScope tiles;
  for (std::int64_t m0 = 0; m0 < M; m0 += kBlockRows) {
    const std::int64_t rows = std::min(kBlockRows, M - m0);
    convert_rows({A.data + m0 * A.row_stride, A.row_stride, A.col_stride}, rows, K, Kp, a);
    for (int g = 0; g < gates; ++g) {
      for (std::int64_t n0 = col_begin; n0 < col_end; n0 += kTileBlockCols) {
        block_into(a, Kp, B[g], n0 / kTileBlockCols, rows, std::min(kTileBlockCols, col_end - n0),
                   C + g * gate_stride + m0 * ldc + n0, ldc, accumulate);
      }
    }
  }
}

void amx_gemm_columns(std::int64_t M, FloatOperand A, const PackedTiles& B,
                      std::int64_t col_begin, std::int64_t col_end, float* C, std::int64_t ldc,
                      bool accumulate) {
  amx_gemm_gates(M, A, &B, 1, col_begin, col_end, C, ldc, 0, accumulate);
}

void amx_gemm(std::int64_t M, FloatOperand A, const PackedTiles& B, float* C, std::int64_t ldc,
              bool accumulate, int threads) {
  if (M <= 0 || B.cols <= 0) return;
  const std::int64_t blocks = (M + kBlockRows - 1) / kBlockRows;
  // Each block of rows is converted once and multiplied by all of B.
  const auto rows_of = [&](std::int64_t b0, std::int64_t b1) {
    const std::int64_t m0 = b0 * kBlockRows, m1 = std::min(M, b1 * kBlockRows);
    amx_gemm_columns(m1 - m0, {A.data + m0 * A.row_stride, A.row_stride, A.col_stride}, B, 0,
                     B.cols, C + m0 * ldc, ldc, accumulate);
  };
  const int team = static_cast<int>(std::min<std::int64_t>(std::max(threads, 1), blocks));
  if (team == 1) {
    rows_of(0, blocks);
    return;
  }
  // As gemm: one piece per thread, claimed by whichever thread is free.
  detail::WorkClaims claims(team);
  detail::parallel_claimed(team, [&](int, int) {
    for (std::int64_t p; claims.next(p);) rows_of(blocks * p / team, blocks * (p + 1) / team);
  });
}

void amx_product(std::int64_t M, std::int64_t N, std::int64_t K, FloatOperand A, FloatOperand B,
                 float* C, std::int64_t ldc, bool accumulate, int threads) {
  if (M <= 0 || N <= 0) return;
  if (K <= 0) {
    if (!accumulate) {
      for (std::int64_t i = 0; i < M; ++i) std::fill(C + i * ldc, C + i * ldc + N, 0.0f);
    }
    return;
  }
  // k per slice: about 8 MiB of packed B (whole tiles' worth of k).
  const std::int64_t per_k = PackedTiles::col_blocks(N) * kTileBlockCols;
  const std::int64_t slice = std::min(
      PackedTiles::k_blocks(K) * kTileDepth,
      std::max<std::int64_t>(kTileDepth,
                             (std::int64_t(4) << 20) / per_k / kTileDepth * kTileDepth));
  std::uint16_t* buffer = thread_buffer<std::uint16_t>(1, PackedTiles::elements_for(slice, N));
  for (std::int64_t k0 = 0; k0 < K; k0 += slice) {
    const std::int64_t depth = std::min(slice, K - k0);
    PackedTiles packed{buffer, depth, N};
    const FloatOperand slice_of_b{B.data + k0 * B.row_stride, B.row_stride, B.col_stride};
    const std::int64_t blocks = PackedTiles::col_blocks(N);
    const int team = depth * N < (std::int64_t(1) << 16)
                         ? 1
                         : static_cast<int>(std::min<std::int64_t>(std::max(threads, 1), blocks));
    if (team == 1) {
      pack_tiles(slice_of_b, packed);
    } else {
      detail::WorkClaims claims(team);
      detail::parallel_claimed(team, [&](int, int) {
        for (std::int64_t p; claims.next(p);) {
          pack_tile_blocks(slice_of_b, packed, blocks * p / team, blocks * (p + 1) / team);
        }
      });
    }
    amx_gemm(M, {A.data + k0 * A.col_stride, A.row_stride, A.col_stride}, packed, C, ldc,
             accumulate || k0 > 0, threads);
  }
}

#endif  // RNNKIT_AMX_BF16

RNNKIT_CPU_NAMESPACE_END
