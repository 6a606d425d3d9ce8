// rnnkit's own thread team for the CPU kernels, in place of OpenMP's parallel regions and
// barriers, so that a call degrades gracefully on a busy machine.
//
// Every wait (a worker waiting for work, the caller waiting for the workers, a thread waiting at
// a StepBarrier) spins only briefly (50 to 300 us), then sleeps on a futex. A
// waiter whose partner was descheduled by another process therefore frees its core after a few
// microseconds, and the scheduler can run the partner there; with OpenMP's default policy it
// would spin for milliseconds (GOMP_SPINCOUNT, read once when libgomp loads) on the core the
// partner needs.
#pragma once

#include <atomic>
#include <cstdint>
#include <type_traits>

namespace rnnkit::detail {

// Waits until `word` no longer holds `old`: bounded spinning (about 300 us for a worker waiting
// for work, 50 us otherwise), then a futex sleep (counted in `sleepers`, so that wake_all can skip
// the system call when nobody sleeps). Returns how long it waited, in nanoseconds, when it had to
// sleep (at least 1), and 0 when the spin was enough.
std::int64_t wait_while_equal(const std::atomic<std::uint32_t>& word, std::uint32_t old,
                              std::atomic<int>& sleepers, bool for_work = false);
// Wakes every sleeper of wait_while_equal on `word` (after `word` was changed).
void wake_all(const std::atomic<std::uint32_t>& word, const std::atomic<int>& sleepers);

// Runs fn(context, t, n) for t in [0, n) concurrently, the calling thread being t = 0, and
// returns when every one has returned. n is `threads`, or 1 when the team is busy with another
// caller's work (fn must accept any n >= 1, as for an OpenMP region's team size).
//
// claimed = true is for a part whose work is all claimed dynamically (from a counter that fn
// shares through `context`), so that any thread, the caller alone included, may do all of it:
// fn(context, 0, n) is then the only call sure to run. Each other t runs at most once, and only
// if its worker joins the part before the caller has finished its own fn; the call returns once
// the caller's fn has returned (every item claimed) and every worker that joined has left. A
// worker that comes late (descheduled by a busy neighbour) finds the part closed and never
// reads `context`, so the caller need not wait for it.
//
// The workers run fn in the caller's floating-point mode (x86: its MXCSR, which holds the
// rounding mode and whether denormals are flushed), so a result never depends on which thread
// computed it.
void run_team(int threads, void (*fn)(void* context, int t, int n), void* context,
              bool claimed = false);

// For the life of the guard, the calling thread flushes denormal float results to zero and reads
// denormal inputs as zero (x86: MXCSR's FTZ and DAZ bits; elsewhere nothing), then gets its
// previous mode back. The CPU backend's kernels run under it: a gradient that decays through many
// timesteps into the denormal range (below about 1e-38 in float32) would otherwise run tens of
// times slower on CPUs that take a microcode assist per denormal, for values that change no
// result beyond them. TensorFlow's and JAX's CPU kernels flush denormals too.
class FlushDenormals {
 public:
  FlushDenormals();
  ~FlushDenormals();
  FlushDenormals(const FlushDenormals&) = delete;
  FlushDenormals& operator=(const FlushDenormals&) = delete;

 private:
  unsigned previous_ = 0;
};

// Runs f(t, n) on the team (`claimed` as for run_team); f(0, 1) alone for one thread.
template <typename F>
void run_on_team(int threads, F&& f, bool claimed) {
  if (threads <= 1) {
    f(0, 1);
    return;
  }
  using Fn = std::remove_reference_t<F>;
  run_team(threads, [](void* c, int t, int n) { (*static_cast<Fn*>(c))(t, n); },
           const_cast<void*>(static_cast<const void*>(&f)), claimed);
}

template <typename F>
void parallel(int threads, F&& f) {
  run_on_team(threads, f, /*claimed=*/false);
}

// parallel() for a part whose work f claims dynamically (run_team's `claimed`): f(t, n) must do
// only work it claims from a counter shared by all threads, and the part is done when f(0, n),
// run by the caller, has returned: the caller does not wait for a worker that has not joined.
template <typename F>
void parallel_claimed(int threads, F&& f) {
  run_on_team(threads, f, /*claimed=*/true);
}

// Items [0, items) handed out in order, one claim at a time, to the threads of a
// parallel_claimed part (it lives on the caller's stack, which the part never outlives).
class WorkClaims {
 public:
  explicit WorkClaims(std::int64_t items) : items_(items) {}

  bool next(std::int64_t& item) {
    item = next_.fetch_add(1, std::memory_order_relaxed);
    return item < items_;
  }

 private:
  const std::int64_t items_;
  alignas(64) std::atomic<std::int64_t> next_{0};
};

// A barrier for the n threads of one parallel() call (the per-step sync of the time loop).
// Every thread calls join(n) with the team size it was given before its first wait.
class StepBarrier {
 public:
  explicit StepBarrier(int n) : n_(n) {}

  void join(int n) { n_.store(n, std::memory_order_relaxed); }

  void wait() {
    const std::uint32_t generation = generation_.load(std::memory_order_acquire);
    if (arrived_.fetch_add(1, std::memory_order_acq_rel) == n_.load(std::memory_order_relaxed) - 1) {
      arrived_.store(0, std::memory_order_relaxed);
      generation_.store(generation + 1, std::memory_order_seq_cst);
      wake_all(generation_, sleepers_);
      return;
    }
    const std::int64_t late = wait_while_equal(generation_, generation, sleepers_);
    if (late) late_ns_.fetch_add(late, std::memory_order_relaxed);
  }

  // The time the threads spent waiting for a partner that was late beyond the spin (most likely
  // descheduled by another process), in nanoseconds, summed over the threads. Read after the
  // threads are done with the barrier.
  std::int64_t late_wait_ns() const { return late_ns_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::int64_t> late_ns_{0};
  std::atomic<int> n_;
  alignas(64) std::atomic<int> arrived_{0};
  alignas(64) std::atomic<std::uint32_t> generation_{0};
  std::atomic<int> sleepers_{0};
};

// A process-wide memory of contention: note_contended_steps() after a time loop whose threads
// spent much of it waiting for each other at the step barrier (StepBarrier::late_wait_ns); for the
// next second, steps_recently_contended() says so, and the time loop prefers the split of its
// rows, which needs no barrier, where it would otherwise split the units (cpu/partition.h).
void note_contended_steps();
bool steps_recently_contended();

}  // namespace rnnkit::detail
