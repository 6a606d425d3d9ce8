// How the time loop splits its work: each thread owns a contiguous range of units (whole GEMM
// panels), for every gate, so the fused pointwise pass of a step needs no data from other threads
// and one barrier per step suffices.
#pragma once

#include <algorithm>
#include <cstdint>
#include <type_traits>

#include "cpu/activations.h"
#include "cpu/gemm.h"
#include "rnnkit/threads.h"

namespace rnnkit::cpu {

struct UnitRange {
  std::int64_t panel_begin, panel_end;  // panels of kPanelWidth<T> units
  std::int64_t begin, end;              // units
};

// float: `fused(j0, j1)` on the units of u that fill whole SIMD packets, `generic(range)` on the
// last few (H % lanes); double: `generic(u)` on all of them.
template <typename T, typename Fused, typename Generic>
void by_packets(const UnitRange& u, Fused&& fused, Generic&& generic) {
  if constexpr (std::is_same_v<T, float>) {
    const std::int64_t body = u.begin + (u.end - u.begin) / kFloatLanes * kFloatLanes;
    fused(u.begin, body);
    if (body < u.end) generic(UnitRange{0, 0, body, u.end});
  } else {
    generic(u);
  }
}

// Threads for the time loop: a barrier costs ~1 us, so small steps run on one thread.
template <typename T>
int loop_threads(std::int64_t batch, std::int64_t units, std::int64_t gate_columns) {
  constexpr std::int64_t kMinStepMacsPerThread = 1 << 15;
  const std::int64_t macs = batch * units * gate_columns;
  const std::int64_t panels = (units + kPanelWidth<T> - 1) / kPanelWidth<T>;
  std::int64_t threads = std::min<std::int64_t>(get_num_threads(), panels);
  threads = std::min<std::int64_t>(threads, std::max<std::int64_t>(1, macs / kMinStepMacsPerThread));
  return static_cast<int>(std::max<std::int64_t>(1, threads));
}

template <typename T>
UnitRange unit_range(int thread, int threads, std::int64_t units) {
  const std::int64_t panels = (units + kPanelWidth<T> - 1) / kPanelWidth<T>;
  UnitRange r;
  r.panel_begin = panels * thread / threads;
  r.panel_end = panels * (thread + 1) / threads;
  r.begin = std::min(units, r.panel_begin * kPanelWidth<T>);
  r.end = std::min(units, r.panel_end * kPanelWidth<T>);
  return r;
}

}  // namespace rnnkit::cpu
