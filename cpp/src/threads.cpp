#include "rnnkit/threads.h"

#if defined(RNNKIT_WITH_OPENMP)
#include <omp.h>
#endif
#include <pthread.h>
#include <sched.h>

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

void wait_while_equal(const std::atomic<std::uint32_t>& word, std::uint32_t old,
                      std::atomic<int>& sleepers, bool for_work) {
  const auto spin = for_work ? kJobSpin : kStepSpin;
  const auto start = std::chrono::steady_clock::now();
  for (int i = 1;; ++i) {
    if (word.load(std::memory_order_acquire) != old) return;
    cpu_relax();
    if (i % 64 == 0 && std::chrono::steady_clock::now() - start > spin) break;
  }
  // Dekker with wake_all: either the waker sees this sleeper, or this load sees the new value.
  sleepers.fetch_add(1, std::memory_order_seq_cst);
  while (word.load(std::memory_order_seq_cst) == old) futex_wait(word, old);
  sleepers.fetch_sub(1, std::memory_order_seq_cst);
}

void wake_all(const std::atomic<std::uint32_t>& word, const std::atomic<int>& sleepers) {
  if (sleepers.load(std::memory_order_seq_cst) > 0) futex_wake(word);
}

namespace {

// The workers of run_team. A job is published as one 32-bit word: a counter in the high bits
// and the team size in the low 8, so a worker that is not part of a job never reads the job's
// other fields (which the next job may be overwriting).
class Team {
 public:
  static constexpr int kMaxThreads = 255;

  bool try_run(int threads, void (*fn)(void*, int, int), void* context) {
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
    pending_.store(threads - 1, std::memory_order_relaxed);
    const std::uint32_t job = ((previous >> 8) + 1) << 8 | static_cast<std::uint32_t>(threads);
    job_.store(job, std::memory_order_seq_cst);
    wake_all(job_, job_sleepers_);
    fn(context, 0, threads);
    wait_while_equal(finished_, previous, caller_sleepers_);
    return true;
  }

 private:
  void work(int index, std::uint32_t seen) {
    for (;;) {
      wait_while_equal(job_, seen, job_sleepers_, /*for_work=*/true);
      seen = job_.load(std::memory_order_acquire);
      if (index >= static_cast<int>(seen & 0xFF)) continue;  // not in this job
      fn_(context_, index, static_cast<int>(seen & 0xFF));
      if (pending_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
        finished_.store(seen, std::memory_order_seq_cst);
        wake_all(finished_, caller_sleepers_);
      }
    }
  }

  std::mutex use_;
  std::vector<std::thread> workers_;
  void (*fn_)(void*, int, int) = nullptr;
  void* context_ = nullptr;
  alignas(64) std::atomic<std::uint32_t> job_{0};
  std::atomic<int> job_sleepers_{0};
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

}  // namespace

namespace {

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

void run_team(int threads, void (*fn)(void* context, int t, int n), void* context) {
#if defined(RNNKIT_WITH_OPENMP)
  if (threads > 1 && use_openmp()) {
#pragma omp parallel num_threads(threads)
    fn(context, omp_get_thread_num(), omp_get_num_threads());
    return;
  }
#endif
  // Another caller's work holds the team (a concurrent call from another thread): run alone.
  if (threads <= 1 || !team().try_run(threads, fn, context)) fn(context, 0, 1);
}

}  // namespace detail

}  // namespace rnnkit
