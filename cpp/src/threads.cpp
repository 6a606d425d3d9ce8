#include "rnnkit/threads.h"

#if defined(RNNKIT_WITH_OPENMP)
#include <omp.h>
#endif
#include <pthread.h>
#include <sched.h>

#include <algorithm>
#include <chrono>
#include <climits>
#include <cstdlib>
#include <string>
#include <mutex>
#include <thread>
#include <vector>

#if defined(__linux__)
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif

#include "rnnkit/error.h"
#include "thread_pool.h"

#if defined(__x86_64__) || defined(__i386__)
#include <xmmintrin.h>
#define RNNKIT_HAS_MXCSR 1
#endif

namespace rnnkit {

namespace {
int g_threads = 0;  // 0 = default
}

void set_num_threads(int n) {
  if (n < 0) throw InvalidArgument("num_threads must be >= 0 (0 = all cores), got " + std::to_string(n));
  g_threads = n;
}

namespace {
#if defined(RNNKIT_WITH_OPENMP)
int default_threads() { return omp_get_max_threads(); }
#else
// What omp_get_max_threads() gives: the first number of OMP_NUM_THREADS when it is a positive
// integer, else the CPUs this process may run on.
int default_threads() {
  static const int threads = [] {
    if (const char* v = std::getenv("OMP_NUM_THREADS")) {
      char* end = nullptr;
      const long n = std::strtol(v, &end, 10);
      if (end != v && n > 0 && n <= INT_MAX && (*end == '\0' || *end == ',')) return static_cast<int>(n);
    }
#if defined(__linux__)
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof(set), &set) == 0 && CPU_COUNT(&set) > 0) return CPU_COUNT(&set);
#endif
    const unsigned n = std::thread::hardware_concurrency();
    return n > 0 ? static_cast<int>(n) : 1;
  }();
  return threads;
}
#endif
}  // namespace

int get_num_threads() { return g_threads > 0 ? g_threads : default_threads(); }

namespace detail {

namespace {

// The thread's floating-point control word (x86: MXCSR), and setting it.
unsigned float_mode() {
#ifdef RNNKIT_HAS_MXCSR
  return _mm_getcsr();
#else
  return 0;
#endif
}

void set_float_mode(unsigned mode) {
#ifdef RNNKIT_HAS_MXCSR
  if (_mm_getcsr() != mode) _mm_setcsr(mode);
#else
  (void)mode;
#endif
}

// MXCSR's flush-to-zero (bit 15) and denormals-are-zero (bit 6).
constexpr unsigned kFlushDenormalBits = 0x8040;

}  // namespace

FlushDenormals::FlushDenormals() : previous_(float_mode()) {
  set_float_mode(previous_ | kFlushDenormalBits);
}

FlushDenormals::~FlushDenormals() { set_float_mode(previous_); }

namespace {

// How long a waiter spins before it sleeps. A step's partner normally arrives within a few
// microseconds, and the next parallel part of a call starts within tens; one that has not after
// this long was most likely descheduled, and the core is better given up. (No sched_yield
// phase: on a busy machine a yield can hand the core away for a whole time slice, while a futex
// sleeper is woken with the scheduler's preference for sleepers.)
constexpr auto kStepSpin = std::chrono::microseconds(50);
constexpr auto kJobSpin = std::chrono::microseconds(300);

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

std::uint32_t* futex_word(const std::atomic<std::uint32_t>& word) {
  static_assert(sizeof(std::atomic<std::uint32_t>) == sizeof(std::uint32_t), "futex layout");
  return reinterpret_cast<std::uint32_t*>(const_cast<std::atomic<std::uint32_t>*>(&word));
}

void futex_wait(const std::atomic<std::uint32_t>& word, std::uint32_t old) {
#if defined(__linux__)
  syscall(SYS_futex, futex_word(word), FUTEX_WAIT_PRIVATE, old, nullptr, nullptr, 0);
#else
  (void)word;
  (void)old;
  std::this_thread::yield();
#endif
}

void futex_wake(const std::atomic<std::uint32_t>& word) {
#if defined(__linux__)
  syscall(SYS_futex, futex_word(word), FUTEX_WAKE_PRIVATE, INT_MAX, nullptr, nullptr, 0);
#else
  (void)word;
#endif
}

}  // namespace

std::int64_t wait_while_equal(const std::atomic<std::uint32_t>& word, std::uint32_t old,
                              std::atomic<int>& sleepers, bool for_work) {
  const auto spin = for_work ? kJobSpin : kStepSpin;
  const auto start = std::chrono::steady_clock::now();
  for (int i = 1;; ++i) {
    if (word.load(std::memory_order_acquire) != old) return 0;
    cpu_relax();
    if (i % 64 == 0 && std::chrono::steady_clock::now() - start > spin) break;
  }
  // Dekker with wake_all: either the waker sees this sleeper, or this load sees the new value.
  sleepers.fetch_add(1, std::memory_order_seq_cst);
  while (word.load(std::memory_order_seq_cst) == old) futex_wait(word, old);
  sleepers.fetch_sub(1, std::memory_order_seq_cst);
  const auto waited = std::chrono::steady_clock::now() - start;
  return std::max<std::int64_t>(
      1, std::chrono::duration_cast<std::chrono::nanoseconds>(waited).count());
}

namespace {
// steady_clock nanoseconds until which steps_recently_contended() holds.
std::atomic<std::int64_t> g_contended_until{0};
constexpr auto kContentionMemory = std::chrono::seconds(1);

std::int64_t steady_now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}
}  // namespace

void note_contended_steps() {
  g_contended_until.store(
      steady_now_ns() + std::chrono::nanoseconds(kContentionMemory).count(),
      std::memory_order_relaxed);
}

bool steps_recently_contended() {
  const std::int64_t until = g_contended_until.load(std::memory_order_relaxed);
  return until != 0 && steady_now_ns() < until;
}

void wake_all(const std::atomic<std::uint32_t>& word, const std::atomic<int>& sleepers) {
  if (sleepers.load(std::memory_order_seq_cst) > 0) futex_wake(word);
}

namespace {

// The workers of run_team. A part (job) is published in two words: `job_`, its 32-bit
// generation, which idle workers wait on (a futex word), and `state_`, 64 bits that a worker
// reads, and for a claimed part changes, before it touches the part's fields (fn_, context_):
//   bits 0-7   the team size n of the part
//   bits 8-15  (claimed parts) the workers that joined the part and have not yet left
//   bit  16    (claimed parts) closed: the caller's share is done, nobody may join any more
//   bit  17    the part is claimed
//   bits 32-63 the generation (the same as job_)
// A worker runs a fixed part (claimed = false) always, and the caller waits for every worker (as
// before). A worker joins a claimed part only by a compare-and-swap on state_ that checks the
// generation it saw and that the part is still open; once joined, the caller cannot close the
// part and reuse fn_ / context_ (or return, ending the lifetime of the context on its stack)
// until the worker has left. So a worker that wakes up late, after its part closed, sees the
// generation or the closed bit changed, and goes back to waiting without reading anything else.
// `finished_` is only a wake-up counter for the caller: the caller tests the real condition
// (pending_ == 0, or no worker joined) and sleeps while finished_ keeps the value it read
// before that test, so a wake-up between the test and the sleep is not lost.
class Team {
 public:
  static constexpr int kMaxThreads = 255;

  bool try_run(int threads, void (*fn)(void*, int, int), void* context, bool claimed) {
    std::unique_lock<std::mutex> lock(use_, std::try_to_lock);
    if (!lock.owns_lock()) return false;
    threads = threads > kMaxThreads ? kMaxThreads : threads;
    const std::uint32_t previous = job_.load(std::memory_order_relaxed);
    while (static_cast<int>(workers_.size()) < threads - 1) {
      const int index = static_cast<int>(workers_.size()) + 1;
      workers_.emplace_back([this, index, previous] { work(index, previous); });
    }
    fn_ = fn;
    context_ = context;
    float_mode_ = float_mode();
    const std::uint32_t generation = previous + 1;
    if (!claimed) pending_.store(threads - 1, std::memory_order_relaxed);
    state_.store(std::uint64_t{generation} << 32 | (claimed ? kClaimed : 0) |
                     static_cast<std::uint64_t>(threads),
                 std::memory_order_seq_cst);
    job_.store(generation, std::memory_order_seq_cst);
    wake_all(job_, job_sleepers_);
    fn(context, 0, threads);
    if (claimed) {
      // Every item is claimed: close the part, then wait for the workers that joined it.
      if (joined(state_.fetch_or(kClosed, std::memory_order_seq_cst)) > 0) {
        wait_until([this] { return joined(state_.load(std::memory_order_seq_cst)) == 0; });
      }
    } else {
      wait_until([this] { return pending_.load(std::memory_order_seq_cst) == 0; });
    }
    return true;
  }

 private:
  static constexpr std::uint64_t kJoinedOne = 1 << 8, kClosed = 1 << 16, kClaimed = 1 << 17;
  static int joined(std::uint64_t state) { return static_cast<int>(state >> 8 & 0xFF); }

  template <typename Done>
  void wait_until(Done done) {
    for (;;) {
      const std::uint32_t seen = finished_.load(std::memory_order_seq_cst);
      if (done()) return;
      wait_while_equal(finished_, seen, caller_sleepers_);
    }
  }

  void signal_caller() {
    finished_.fetch_add(1, std::memory_order_seq_cst);
    wake_all(finished_, caller_sleepers_);
  }

  void work(int index, std::uint32_t seen) {
    for (;;) {
      wait_while_equal(job_, seen, job_sleepers_, /*for_work=*/true);
      seen = job_.load(std::memory_order_acquire);
      std::uint64_t state = state_.load(std::memory_order_acquire);
      if (static_cast<std::uint32_t>(state >> 32) != seen) continue;  // gone already
      const int n = static_cast<int>(state & 0xFF);
      if (index >= n) continue;  // not in this part
      if (!(state & kClaimed)) {
        set_float_mode(float_mode_);
        fn_(context_, index, n);  // the caller waits for this thread
        if (pending_.fetch_sub(1, std::memory_order_seq_cst) == 1) signal_caller();
        continue;
      }
      // Join unless the part moved on (another generation) or closed; a failed exchange
      // reloads `state` (another worker joined, or the caller closed the part).
      for (;;) {
        if (static_cast<std::uint32_t>(state >> 32) != seen || (state & kClosed)) break;
        if (state_.compare_exchange_weak(state, state + kJoinedOne, std::memory_order_acq_rel,
                                         std::memory_order_acquire)) {
          set_float_mode(float_mode_);
          fn_(context_, index, n);
          // The last to leave a closed part lets its caller go (the caller, seeing the count at
          // zero, may then reuse or free the context: nothing is read after this).
          const std::uint64_t left = state_.fetch_sub(kJoinedOne, std::memory_order_seq_cst);
          if (joined(left) == 1 && (left & kClosed)) signal_caller();
          break;
        }
      }
    }
  }

  std::mutex use_;
  std::vector<std::thread> workers_;
  void (*fn_)(void*, int, int) = nullptr;
  void* context_ = nullptr;
  unsigned float_mode_ = 0;  // the caller's (float_mode()), for the workers of the part
  alignas(64) std::atomic<std::uint32_t> job_{0};
  std::atomic<int> job_sleepers_{0};
  alignas(64) std::atomic<std::uint64_t> state_{0};
  alignas(64) std::atomic<int> pending_{0};
  alignas(64) std::atomic<std::uint32_t> finished_{0};
  std::atomic<int> caller_sleepers_{0};
};

// Never destroyed: its workers sleep until the process ends. A forked child starts a new team
// (the parent's workers do not exist there).
std::atomic<Team*> g_team{nullptr};
std::once_flag g_atfork;

Team& team() {
  Team* t = g_team.load(std::memory_order_acquire);
  if (t) return *t;
  std::call_once(g_atfork, [] {
    pthread_atfork(nullptr, nullptr, [] { g_team.store(nullptr, std::memory_order_relaxed); });
  });
  static std::mutex creating;
  std::lock_guard<std::mutex> lock(creating);
  t = g_team.load(std::memory_order_acquire);
  if (!t) {
    t = new Team();
    g_team.store(t, std::memory_order_release);
  }
  return *t;
}

#if defined(RNNKIT_WITH_OPENMP)
// RNNKIT_THREAD_TEAM=openmp runs the parallel parts as OpenMP regions instead (libgomp's wait
// policy then applies between and at the end of them): for comparisons, and as an escape hatch.
bool use_openmp() {
  static const bool openmp = [] {
    const char* v = std::getenv("RNNKIT_THREAD_TEAM");
    return v && std::string(v) == "openmp";
  }();
  return openmp;
}
#endif

}  // namespace

void run_team(int threads, void (*fn)(void* context, int t, int n), void* context, bool claimed) {
#if defined(RNNKIT_WITH_OPENMP)
  if (threads > 1 && use_openmp()) {
#pragma omp parallel num_threads(threads)
    fn(context, omp_get_thread_num(), omp_get_num_threads());
    return;
  }
#endif
  // Another caller's work holds the team (a concurrent call from another thread): run alone.
  if (threads <= 1 || !team().try_run(threads, fn, context, claimed)) fn(context, 0, 1);
}

}  // namespace detail

}  // namespace rnnkit
