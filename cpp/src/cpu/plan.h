// The CPU's scratch of one forward or backward call, carved from its workspace; the reserve
// layout and Dims, shared with every backend, are in plan/sequence_plan.h. Both the memory
// queries and the kernels call these, so sizes and layouts cannot drift apart.
#pragma once

#include "cpu/isa.h"

#include <algorithm>
#include <cstdint>
#include <type_traits>

#include "cpu/amx.h"
#include "cpu/caches.h"
#include "cpu/gemm.h"
#include "plan/arena.h"
#include "plan/sequence_plan.h"
#include "rnnkit/cell.h"
#include "rnnkit/sequence.h"

RNNKIT_CPU_NAMESPACE_BEGIN

using plan::Arena;
using plan::Dims;
using plan::has_candidate_projection;
using plan::Reserve;

// Timesteps whose input projection is computed at once. Training projects the whole sequence
// straight into the reserve. Inference bounds the buffer to about kChunkElements; and where the
// products are cheap (I <= kCheapDepth multiply-adds each) but many (more than 8 times one core's
// L2), to half of that L2, or kMinRows rows per GEMM if more (each GEMM packs the kernel again).
// The time loop then reads the products from L2, not from memory: writing them all before the loop
// read them back made that traffic a tenth of the call (LSTM (128, 80, 64, 128) forward, 2 threads,
// Xeon with 2 MiB of L2: 10.2-11.0 -> 9.5-9.7 ms), while the smaller (16, 100, 128, 256) ran 3%
// slower in two chunks. The chunks change no bits: each product's sum does not depend on the rows
// computed with it.
template <typename T>
std::int64_t projection_chunk(const Dims& d, bool training) {
  constexpr std::int64_t kChunkElements = std::int64_t(1) << 23, kCheapDepth = 128, kMinRows = 1024;
  if (training) return d.T;
  std::int64_t elements = kChunkElements;
  const std::int64_t half_l2 = l2_cache_bytes() / 2 / static_cast<std::int64_t>(sizeof(T));
  if (d.I <= kCheapDepth && d.B * d.T * d.GH > 16 * half_l2) {
    elements = std::min(elements, std::max(half_l2, kMinRows * d.GH));
  }
  return std::clamp<std::int64_t>(elements / (d.B * d.GH), 1, d.T);
}

// Whether a forward call multiplies in bfloat16 on AMX tiles (SequenceOptions::bfloat16_matmuls):
// float32, asked for, and this level and CPU have the tiles. The time loop's thread shares are
// panels of kPanelWidth columns, which must be whole tile blocks.
template <typename T>
bool uses_amx(const SequenceOptions& options) {
  if constexpr (std::is_same_v<T, float> && kPanelWidth<float> % kTileBlockCols == 0) {
    return options.bfloat16_matmuls && amx_bf16_available();
  } else {
    return false;
  }
}

template <typename T>
struct ForwardScratch {
  T* packed_recurrent;  // G blocks of PackedPanels [H, H]
  std::uint16_t* tiles_recurrent;  // AMX only: G blocks of PackedTiles [H, H]
  std::uint16_t* tiles_kernel;     // AMX only: PackedTiles [I, G*H]
  T* zeros;             // [2 * G * H]: stands in for an absent bias
  T* proj;              // [B, chunk, G*H] input projection (inference only; training uses reserve)
  T* x_chunk;           // [B, chunk, I] copied / dropout-masked input
  T* recurrent;         // [B, G*H] h_{t-1} R of the current step
  T* h[2];              // [B, H] ping-pong state
  T* c;                 // [B, H] LSTM carry
  T* last_output;       // [B, H]
  T* dropped_h[2];      // [G, B, H] ping-pong h_{t-1} * recurrent_dropout[g]
  T* reset_h;           // [B, H] GRU reset_after=False: r * h_{t-1}, the candidate GEMM's input
  T* gates;             // [B, G + 2, H] activated gates, per row (threads may split rows or units)

  static ForwardScratch carve(Arena& arena, const CellSpec& cell, const SequenceOptions& options,
                              const Dims& d) {
    ForwardScratch s{};
    const std::int64_t chunk = projection_chunk<T>(d, options.training);
    if (uses_amx<T>(options)) {
      s.tiles_recurrent = arena.take<std::uint16_t>(d.G * PackedTiles::elements_for(d.H, d.H));
      s.tiles_kernel = arena.take<std::uint16_t>(PackedTiles::elements_for(d.I, d.GH));
    } else {
      s.packed_recurrent = arena.take<T>(d.G * PackedPanels<T>::elements_for(d.H, d.H));
    }
    s.zeros = arena.take<T>(2 * d.GH);
    s.proj = options.training ? nullptr : arena.take<T>(d.B * chunk * d.GH);
    s.x_chunk = arena.take<T>(d.B * chunk * d.I);
    s.recurrent = arena.take<T>(d.B * d.GH);
    s.h[0] = arena.take<T>(d.B * d.H);
    s.h[1] = arena.take<T>(d.B * d.H);
    s.c = cell.kind == CellKind::lstm ? arena.take<T>(d.B * d.H) : nullptr;
    s.last_output = arena.take<T>(d.B * d.H);
    s.dropped_h[0] = arena.take<T>(d.G * d.B * d.H);
    s.dropped_h[1] = arena.take<T>(d.G * d.B * d.H);
    s.reset_h = arena.take<T>(d.B * d.H);
    s.gates = arena.take<T>(d.B * (d.G + 2) * d.H);
    return s;
  }
};

template <typename T>
struct BackwardScratch {
  T* packed_recurrent_t;  // PackedPanels of R^T: [G*H, H]
  std::uint16_t* tiles_recurrent_t;  // AMX only, instead: G blocks of PackedTiles of R_g^T [H, H]
  T* d_pre;               // [B, T, G*H] gradient of the gate pre-activations (input side)
  T* d_rec;               // [B, T, G*H] GRU reset_after: gradient of h R + b_r (recurrent side)
  T* dh;                  // [B, H] gradient of the state h after the current step
  T* dc;                  // [B, H] LSTM: gradient of c after the current step
  T* carry;               // [B, H] output gradient carried back through masked steps
  T* direct;              // [B, H] gradient of h_{t-1} through paths other than R
  T* tmp;                 // [B, H]
  T* seq_x[2];            // [B, T, I] dropout-masked x, and one gate's d_x
  T* seq_h;               // [B, T, H] dropout-masked h_{t-1}, or GRU's r * h_{t-1}
  T* gates;               // [B, 2 * G + 6, H] per-row temporaries

  static BackwardScratch carve(Arena& arena, const CellSpec& cell, const SequenceOptions& options,
                               const Dims& d) {
    BackwardScratch s{};
    const std::int64_t rows = d.B * d.T;
    if (uses_amx<T>(options)) {
      s.tiles_recurrent_t = arena.take<std::uint16_t>(d.G * PackedTiles::elements_for(d.H, d.H));
    } else {
      s.packed_recurrent_t = arena.take<T>(PackedPanels<T>::elements_for(d.GH, d.H));
    }
    s.d_pre = arena.take<T>(rows * d.GH);
    s.d_rec = has_candidate_projection(cell) ? arena.take<T>(rows * d.GH) : nullptr;
    s.dh = arena.take<T>(d.B * d.H);
    s.dc = arena.take<T>(d.B * d.H);
    s.carry = arena.take<T>(d.B * d.H);
    s.direct = arena.take<T>(d.B * d.H);
    s.tmp = arena.take<T>(d.B * d.H);
    s.seq_x[0] = arena.take<T>(rows * d.I);
    s.seq_x[1] = arena.take<T>(rows * d.I);
    s.seq_h = arena.take<T>(rows * d.H);
    s.gates = arena.take<T>(d.B * (2 * d.G + 6) * d.H);
    return s;
  }
};

RNNKIT_CPU_NAMESPACE_END
