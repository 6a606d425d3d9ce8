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
// the system call when nobody sleeps).
void wait_while_equal(const std::atomic<std::uint32_t>& word, std::uint32_t old,
                      std::atomic<int>& sleepers, bool for_work = false);
// Wakes every sleeper of wait_while_equal on `word` (after `word` was changed).
void wake_all(const std::atomic<std::uint32_t>& word, const std::atomic<int>& sleepers);

// Runs fn(context, t, n) for t in [0, n) concurrently, the calling thread being t = 0, and
// returns when every one has returned. n is `threads`, or 1 when the team is busy with another
// caller's work (fn must accept any n >= 1, as for an OpenMP region's team size).
void run_team(int threads, void (*fn)(void* context, int t, int n), void* context);

template <typename F>
void parallel(int threads, F&& f) {
  if (threads <= 1) {
    f(0, 1);
    return;
  }
  using Fn = std::remove_reference_t<F>;
  run_team(threads, [](void* c, int t, int n) { (*static_cast<Fn*>(c))(t, n); },
           const_cast<void*>(static_cast<const void*>(&f)));
}

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
    wait_while_equal(generation_, generation, sleepers_);
  }

 private:
  std::atomic<int> n_;
  alignas(64) std::atomic<int> arrived_{0};
  alignas(64) std::atomic<std::uint32_t> generation_{0};
  std::atomic<int> sleepers_{0};
};

}  // namespace rnnkit::detail
