// How the time loop splits its work among threads (LoopPlan, LoopShare). cpu/lanes.h splits a
// thread's units into SIMD packets.
#pragma once

#include "cpu/isa.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>

#include "cpu/caches.h"
#include "cpu/gemm.h"
#include "rnnkit/threads.h"
#include "thread_pool.h"

RNNKIT_CPU_NAMESPACE_BEGIN

struct UnitRange {
  std::int64_t panel_begin, panel_end;  // panels of kPanelWidth<T> units
  std::int64_t begin, end;              // units
};

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

// How the time loop's threads share a step. Batch rows never exchange data, so when every thread
// can take enough whole rows, each thread may run the whole recurrence of its own rows: no
// barrier at all, so a core that a busy neighbour slows down holds the other back only once per
// call, not once per step. Otherwise the threads split the units (whole GEMM panels, all gates
// of a unit on one thread) of every row, which needs all of h_{t-1}, hence a barrier per step,
// but each core reads only its own slice of the recurrent weights.
//
// Which is faster where both are possible was measured (2 threads, AMD EPYC, 512 KiB of L2 per
// core, paired calls in one process):
// - forward: by rows while all the packed weights fit in half of one core's L2 (the other half
//   for h, the gates and the input products); beyond that every thread would read all of them
//   from L3 at every step, and the units win: LSTM (32, 100, 128, 256), 1 MiB of weights, 20.9
//   ms by units against 22.8 by rows (training forward), GRU 16.2 against 16.7;
// - backward (two barriers per step by units): by rows up to the 8 MiB past which the weights
//   are streamed anyway: LSTM 45.2 ms by rows against 49.6 by units at the same shape.
// A recent time loop whose threads kept waiting at the barrier for a late partner (another
// process on a core: run_loop below) tips the forward's choice back to the rows: with a busy
// process on one core, that LSTM forward takes 42 ms by units and 33 ms by rows.
struct LoopPlan {
  int threads;
  bool by_rows;

  template <typename T>
  static LoopPlan forward(std::int64_t batch, std::int64_t units, std::int64_t gate_columns) {
    const LoopPlan plan = make<T>(batch, units, gate_columns);
    if (plan.by_rows && !rows_keep_weights_in_l2<T>(units, gate_columns) &&
        !detail::steps_recently_contended())
      return {plan.threads, false};
    return plan;
  }

  template <typename T>
  static LoopPlan backward(std::int64_t batch, std::int64_t units, std::int64_t gate_columns) {
    return make<T>(batch, units, gate_columns);
  }

 private:
  // The threads, and whether each can take enough rows (two full micro-tiles: the GEMM reuses each
  // weight panel across a thread's rows) of weights that are not streamed.
  template <typename T>
  static LoopPlan make(std::int64_t batch, std::int64_t units, std::int64_t gate_columns) {
    constexpr std::int64_t kMinRowsPerThread = 12;
    const int threads = loop_threads<T>(batch, units, gate_columns);
    const bool by_rows = threads > 1 && batch / threads >= kMinRowsPerThread &&
                         !PackedPanels<T>::streamed(units, gate_columns);
    return {threads, by_rows};
  }

  template <typename T>
  static bool rows_keep_weights_in_l2(std::int64_t units, std::int64_t gate_columns) {
    const std::int64_t bytes = PackedPanels<T>::elements_for(units, gate_columns) *
                               static_cast<std::int64_t>(sizeof(T));
    return bytes <= l2_cache_bytes() / 2;
  }
};

// One thread's share of every step: units [units.begin, units.end) of rows [row_begin, row_end).
struct LoopShare {
  UnitRange units;
  std::int64_t row_begin, row_end;
  detail::StepBarrier* barrier;  // other threads work on the same rows: a step ends with it

  std::int64_t rows() const { return row_end - row_begin; }

  // Waits for the threads that share these rows (none with the row split): a bounded spin, then
  // a sleep (thread_pool.h), so a partner descheduled by a busy neighbour does not cost a core.
  void sync() const {
    if (barrier) barrier->wait();
  }
};

// The row split's rows, claimed in equal chunks, as many as the threads or twice as many: a thread
// that another process slows down, or that starts late, takes fewer chunks instead of holding
// the others back. Two per thread only where each still has kMinRows (two AVX2 micro-tiles, one
// AVX-512 tile): a chunk of fewer rows reuses each weight panel too little. The count is a
// multiple of the threads, or an uncontended call would end with one thread running the last
// chunk alone (at B = 32 on 2 threads, chunks of 12, 12 and 8 rows took 17% longer than two of
// 16; LSTM (32, 100, 128, 256) forward, AVX-512). Rows never exchange data, so which thread runs
// a row changes no result.
class RowClaims {
 public:
  RowClaims(std::int64_t batch, int threads)
      : batch_(batch), chunk_(chunk_rows(batch, threads)) {}

  static std::int64_t chunk_rows(std::int64_t batch, int threads) {
    constexpr std::int64_t kMinRows = 12;
    const std::int64_t chunks = threads * (batch >= 2 * threads * kMinRows ? 2 : 1);
    return std::max<std::int64_t>(1, (batch + chunks - 1) / chunks);
  }

  bool next(std::int64_t& begin, std::int64_t& end) {
    begin = next_.fetch_add(1, std::memory_order_relaxed) * chunk_;
    if (begin >= batch_) return false;
    end = std::min(batch_, begin + chunk_);
    return true;
  }

 private:
  const std::int64_t batch_, chunk_;
  std::atomic<std::int64_t> next_{0};
};

// `barrier` is the team's (for `threads` threads); unused with the row split or one thread.
template <typename T>
LoopShare loop_share(const LoopPlan& plan, int thread, int threads, std::int64_t batch,
                     std::int64_t units, detail::StepBarrier* barrier) {
  if (!plan.by_rows || threads == 1) {
    if (threads > 1) barrier->join(threads);
    return {unit_range<T>(thread, threads, units), 0, batch, threads > 1 ? barrier : nullptr};
  }
  return {unit_range<T>(0, 1, units), batch * thread / threads, batch * (thread + 1) / threads,
          nullptr};
}

// Runs body(share) over this thread's work of a loop: with the row split, every chunk of rows it
// claims; otherwise its one share (of the units, with the team's barrier).
template <typename T, typename Body>
void for_each_share(const LoopPlan& plan, int thread, int threads, std::int64_t batch,
                    std::int64_t units, detail::StepBarrier* barrier, RowClaims* claims,
                    Body&& body) {
  if (plan.by_rows && threads > 1) {
    std::int64_t begin, end;
    while (claims->next(begin, end)) body(LoopShare{unit_range<T>(0, 1, units), begin, end, nullptr});
    return;
  }
  body(loop_share<T>(plan, thread, threads, batch, units, barrier));
}

// Runs a time loop's parallel part, loop(thread, threads) calling for_each_share with `barrier`:
// with the row split every row chunk is claimed, so the caller closes the part without waiting
// for a worker that has not joined (thread_pool.h, parallel_claimed); the split of the units
// needs every thread (each owns its units, and the step barrier counts them all), and when its
// threads spent more than an eighth of the loop waiting for a late partner, the next plans know
// (LoopPlan). A busy process on one core leaves the other thread asleep for about half of the
// loop; on the shared virtual machine this was measured on, a few calls in a hundred also
// crossed the line without one (the host descheduling a thread), and then the rows are the
// better split too.
template <typename Loop>
void run_loop(const LoopPlan& plan, const detail::StepBarrier& barrier, Loop&& loop) {
  if (plan.by_rows) {
    detail::parallel_claimed(plan.threads, loop);
    return;
  }
  const auto start = std::chrono::steady_clock::now();
  detail::parallel(plan.threads, loop);
  const auto elapsed = std::chrono::duration_cast<std::chrono::nanoseconds>(
                           std::chrono::steady_clock::now() - start).count();
  if (barrier.late_wait_ns() * 8 > elapsed) detail::note_contended_steps();
}

RNNKIT_CPU_NAMESPACE_END
