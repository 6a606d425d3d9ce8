// rnnkit's thread team (src/thread_pool.h): results do not depend on whether a call got the team
// (concurrent callers fall back to one thread), the step barrier keeps a team in step over many
// steps, and many back-to-back calls neither hang nor differ.
#include <sched.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <thread>
#include <vector>

#if defined(__x86_64__) || defined(__i386__)
#include <xmmintrin.h>
#endif

#include "test_harness.h"
#include "test_util.h"
#include "cpu/partition.h"
#include "cpu/plan.h"
#include "thread_pool.h"

using namespace rnnkit_test;

namespace {

// A GRU returning every step's output.
Config gru_sequence_config(int B, int T, int I, int H) {
  return sequence_config(CellKind::gru, B, T, I, H);
}

Config unit_split_config() {
  // B = 16 at H = 64 on two threads: the threads split the units, with a barrier every step.
  return gru_sequence_config(16, 12, 10, 64);
}

}  // namespace

TEST_CASE(threads_team_runs_every_index_once) {
  for (int n : {1, 2, 3, 5}) {
    std::vector<std::atomic<int>> hits(static_cast<std::size_t>(n));
    int seen_n = 0;
    rnnkit::detail::parallel(n, [&](int t, int count) {
      if (t == 0) seen_n = count;
      hits[static_cast<std::size_t>(t)].fetch_add(1);
    });
    CHECK_EQ(seen_n, n);
    for (auto& h : hits) CHECK_EQ(h.load(), 1);
  }
}

TEST_CASE(threads_step_barrier_keeps_the_team_in_step) {
  constexpr int kSteps = 2000, kThreads = 3;
  std::vector<int> counters(kThreads, 0);
  std::atomic<int> wrong{0};
  rnnkit::detail::StepBarrier barrier(kThreads);
  rnnkit::detail::parallel(kThreads, [&](int t, int n) {
    for (int s = 0; s < kSteps; ++s) {
      counters[static_cast<std::size_t>(t)] = s;
      if (n > 1) barrier.wait();
      for (int u = 0; u < n; ++u)
        if (counters[static_cast<std::size_t>(u)] != s) wrong.fetch_add(1);
      if (n > 1) barrier.wait();
    }
  });
  CHECK_EQ(wrong.load(), 0);
}

// A partner that arrives late at every step (asleep far longer than the 50 us spin) makes the
// other thread wait beyond the spin, and the barrier counts that time; a barrier nobody waited
// at counts none.
TEST_CASE(threads_step_barrier_reports_late_partners) {
  rnnkit::detail::StepBarrier unused(2);
  CHECK_EQ(unused.late_wait_ns(), 0);
  rnnkit::detail::StepBarrier barrier(2);
  std::thread partner([&] {
    for (int s = 0; s < 4; ++s) {
      std::this_thread::sleep_for(std::chrono::milliseconds(3));
      barrier.wait();
    }
  });
  for (int s = 0; s < 4; ++s) barrier.wait();
  partner.join();
  // Four waits of about 3 ms each (the partner's sleep): well over 2 ms in all, even if the
  // scheduler made this thread the late one at a step or two.
  CHECK(barrier.late_wait_ns() > 2000000);
}

// The time loop's plan at 2 threads: rows for small weights; for weights past half the L2, the
// forward splits the units unless steps were recently contended, the backward the rows; never
// rows for too few rows per thread or for streamed weights.
TEST_CASE(threads_loop_plan_follows_weights_and_contention) {
  using rnnkit::cpu::LoopPlan;
  const int previous = rnnkit::get_num_threads();
  rnnkit::set_num_threads(2);
  // LSTM, H = 256: 1 MiB of packed float32 weights; H = 64: 64 KiB.
  const bool big_past_half_l2 = (std::int64_t(1) << 20) > rnnkit::cpu::l2_cache_bytes() / 2;
  CHECK(LoopPlan::forward<float>(32, 64, 256).by_rows);
  CHECK(LoopPlan::backward<float>(32, 256, 1024).by_rows);
  if (big_past_half_l2 && !rnnkit::detail::steps_recently_contended())
    CHECK(!LoopPlan::forward<float>(32, 256, 1024).by_rows);
  rnnkit::detail::note_contended_steps();
  CHECK(rnnkit::detail::steps_recently_contended());
  const LoopPlan contended = LoopPlan::forward<float>(32, 256, 1024);
  CHECK_EQ(contended.threads, 2);
  CHECK(contended.by_rows);
  CHECK(!LoopPlan::forward<float>(16, 256, 1024).by_rows);   // 8 rows a thread
  CHECK(!LoopPlan::forward<float>(64, 1024, 4096).by_rows);  // 16 MiB: streamed
  CHECK(!LoopPlan::backward<float>(64, 1024, 4096).by_rows);
  rnnkit::set_num_threads(previous);
}

TEST_CASE(threads_concurrent_callers_get_the_same_results) {
  const Config c = unit_split_config();
  const int previous = rnnkit::get_num_threads();
  rnnkit::set_num_threads(2);
  Inputs<float> in = make_inputs(c).as<float>();
  Outputs<float> ref = run_forward<float>(c, in, false);
  std::atomic<int> mismatches{0};
  std::vector<std::thread> callers;
  for (int k = 0; k < 3; ++k) {
    callers.emplace_back([&] {
      Inputs<float> mine = make_inputs(c).as<float>();
      for (int r = 0; r < 20; ++r) {
        Outputs<float> out = run_forward<float>(c, mine, false);
        if (out.output.data != ref.output.data) mismatches.fetch_add(1);
      }
    });
  }
  for (auto& t : callers) t.join();
  // And many back-to-back calls on the team.
  for (int r = 0; r < 200; ++r) {
    Outputs<float> out = run_forward<float>(c, in, false);
    if (out.output.data != ref.output.data) mismatches.fetch_add(1);
  }
  rnnkit::set_num_threads(previous);
  CHECK_EQ(mismatches.load(), 0);
}

namespace {

// A claimed part's context, on the caller's stack: `open` is cleared as soon as the part
// returns, so a worker that touched the context after its part closed would be seen.
struct ClaimedPart {
  explicit ClaimedPart(std::int64_t items) : claims(items), done(static_cast<std::size_t>(items)) {}
  rnnkit::detail::WorkClaims claims;
  std::vector<std::atomic<int>> done;
  std::atomic<bool> open{true};
  std::atomic<int> late{0};
};

void delay(std::minstd_rand& rng) {
  switch (rng() % 8) {
    case 0: sched_yield(); break;
    case 1: std::this_thread::sleep_for(std::chrono::microseconds(rng() % 200)); break;
    default: break;
  }
}

}  // namespace

// Many tiny parts back to back, claimed and fixed mixed, with random yields and sleeps in the
// threads: every item of a claimed part runs exactly once, every index of a fixed part once, no
// worker touches a claimed part's context after the part returned, and nothing hangs. Workers
// often come late here (the caller's share is tiny), which is the path that closes a part
// without them.
TEST_CASE(threads_claimed_parts_under_random_delays) {
  constexpr int kParts = 6000;
  std::atomic<int> touched_closed{0}, wrong{0};
  std::atomic<std::uint32_t> seed{1};
  for (int threads : {2, 3, 4}) {
    for (int part = 0; part < kParts; ++part) {
      const std::int64_t items = 1 + part % 7;
      if (part % 5 == 4) {  // a fixed part: everyone runs, once
        std::vector<std::atomic<int>> hits(static_cast<std::size_t>(threads));
        rnnkit::detail::parallel(threads, [&](int t, int n) {
          std::minstd_rand rng(seed.fetch_add(1));
          if (t > 0) delay(rng);
          hits[static_cast<std::size_t>(t)].fetch_add(1);
          if (n != threads) wrong.fetch_add(1);
        });
        for (auto& h : hits) if (h.load() != 1) wrong.fetch_add(1);
        continue;
      }
      ClaimedPart ctx(items);
      rnnkit::detail::parallel_claimed(threads, [&ctx, &seed, &touched_closed](int t, int) {
        std::minstd_rand rng(seed.fetch_add(1));
        if (!ctx.open.load()) touched_closed.fetch_add(1);
        if (t > 0) delay(rng);
        for (std::int64_t i; ctx.claims.next(i);) {
          ctx.done[static_cast<std::size_t>(i)].fetch_add(1);
          if (rng() % 16 == 0) delay(rng);
        }
        if (!ctx.open.load()) touched_closed.fetch_add(1);
      });
      ctx.open.store(false);
      for (auto& d : ctx.done) if (d.load() != 1) wrong.fetch_add(1);
    }
  }
  CHECK_EQ(wrong.load(), 0);
  CHECK_EQ(touched_closed.load(), 0);
}

// A worker held up inside a claimed part (it joined, took an item and sleeps) is waited for: its
// items are done when the part returns. Then, with the worker asleep on its futex, tiny parts
// (which the caller mostly finishes before the worker wakes and finds them closed) still do
// every item once.
TEST_CASE(threads_claimed_part_waits_for_joined_workers) {
  std::atomic<int> ran_by_worker{0};
  for (int r = 0; r < 50; ++r) {
    rnnkit::detail::WorkClaims claims(4);
    std::atomic<int> done{0};
    rnnkit::detail::parallel_claimed(2, [&](int t, int) {
      for (std::int64_t i; claims.next(i);) {
        if (t > 0) {
          ran_by_worker.fetch_add(1);
          std::this_thread::sleep_for(std::chrono::milliseconds(2));
        }
        done.fetch_add(1);
      }
    });
    CHECK_EQ(done.load(), 4);  // a joined worker's item is done before the part returns
  }
  // Sleep long enough for the worker to fall asleep, then a tiny part: still every item once.
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  for (int r = 0; r < 200; ++r) {
    rnnkit::detail::WorkClaims claims(3);
    std::atomic<int> done{0};
    rnnkit::detail::parallel_claimed(2, [&](int, int) {
      for (std::int64_t i; claims.next(i);) done.fetch_add(1);
    });
    CHECK_EQ(done.load(), 3);
  }
}

// Concurrent callers of claimed and fixed parts: one gets the team, the others run alone.
TEST_CASE(threads_claimed_parts_from_concurrent_callers) {
  std::atomic<int> wrong{0};
  std::vector<std::thread> callers;
  for (int k = 0; k < 3; ++k) {
    callers.emplace_back([&wrong, k] {
      for (int r = 0; r < 2000; ++r) {
        rnnkit::detail::WorkClaims claims(5);
        std::vector<std::atomic<int>> done(5);
        rnnkit::detail::parallel_claimed(2 + k % 2, [&](int, int) {
          for (std::int64_t i; claims.next(i);) done[static_cast<std::size_t>(i)].fetch_add(1);
        });
        for (auto& d : done) if (d.load() != 1) wrong.fetch_add(1);
        std::atomic<int> hits{0};
        rnnkit::detail::parallel(2, [&](int, int n) { hits.fetch_add(n == 2 ? 1 : 2); });
        if (hits.load() != 2) wrong.fetch_add(1);
      }
    });
  }
  for (auto& t : callers) t.join();
  CHECK_EQ(wrong.load(), 0);
}

// The row split (claimed row chunks) and the claimed GEMM pieces give the same bits at 1, 2 and
// 3 threads: GRU (64, 28, 28, 64) float32, the contention benchmark's shape, forward and backward.
TEST_CASE(threads_row_split_bits_do_not_depend_on_thread_count) {
  const Config c = gru_sequence_config(64, 28, 28, 64);
  const int previous = rnnkit::get_num_threads();
  Inputs<float> in = make_inputs(c).as<float>();
  rnnkit::set_num_threads(1);
  Outputs<float> f1 = run_forward<float>(c, in, true);
  Gradients<float> g1 = run_backward<float>(c, in, f1);
  for (int threads : {2, 3}) {
    rnnkit::set_num_threads(threads);
    for (int r = 0; r < 20; ++r) {
      Outputs<float> f = run_forward<float>(c, in, true);
      Gradients<float> g = run_backward<float>(c, in, f);
      CHECK(f.output.data == f1.output.data);
      CHECK(g.d_x.data == g1.d_x.data);
      CHECK(g.d_kernel.data == g1.d_kernel.data);
      CHECK(g.d_recurrent_kernel.data == g1.d_recurrent_kernel.data);
      CHECK(g.d_bias.data == g1.d_bias.data);
    }
  }
  rnnkit::set_num_threads(previous);
}

// The row split's chunks come in a multiple of the threads (one or two each), so that no thread
// runs the last chunk alone, and two each only when those still have 12 rows.
TEST_CASE(threads_row_chunks_are_a_multiple_of_the_threads) {
  using rnnkit::cpu::RowClaims;
  CHECK_EQ(RowClaims::chunk_rows(32, 2), 16);
  CHECK_EQ(RowClaims::chunk_rows(64, 2), 16);
  for (int threads = 2; threads <= 4; ++threads) {
    for (std::int64_t batch = 12 * threads; batch <= 200; ++batch) {
      const std::int64_t chunk = RowClaims::chunk_rows(batch, threads);
      const std::int64_t chunks = (batch + chunk - 1) / chunk;
      CHECK_MSG(chunks == threads || (chunks == 2 * threads && chunk >= 12),
                "batch " + std::to_string(batch) + ", " + std::to_string(threads) +
                    " threads: chunks of " + std::to_string(chunk));
    }
  }
}

// Inference projects many cheap inputs a chunk of steps at a time (cpu/plan.h); training projects
// the whole sequence at once. Same bits either way: LSTM with 64 x 260 x 512 products of I = 8
// (chunked on any L2 up to 4 MiB).
TEST_CASE(chunked_input_projection_gives_the_training_bits) {
  const Config c = sequence_config(CellKind::lstm, 64, 260, 8, 128);
  const rnnkit::plan::Dims d(rnnkit::CellSpec{rnnkit::CellKind::lstm, 8, 128}, 64, 260);
  REQUIRE(rnnkit::cpu::projection_chunk<float>(d, false) < 260);
  Inputs<float> in = make_inputs(c).as<float>();
  const Outputs<float> inference = run_forward<float>(c, in, false);
  const Outputs<float> training = run_forward<float>(c, in, true);
  CHECK(inference.output.data == training.output.data);
  CHECK(inference.final_h.data == training.final_h.data);
  CHECK(inference.final_c.data == training.final_c.data);
}

// The CPU kernels flush denormals (thread_pool.h, FlushDenormals) on every thread of the call,
// and give the caller its floating-point mode back.
TEST_CASE(cpu_kernels_flush_denormals_and_restore_the_callers_mode) {
  for (int threads : {1, 2}) {
    rnnkit::set_num_threads(threads);
    DenormalCase denormal = denormal_product_case(48, 3, 40);  // x W = 8e-41
    const Config& c = denormal.config;
    Inputs<float>& in = denormal.inputs;
    volatile float probe = 1e-39f;
#if defined(__x86_64__) || defined(__i386__)
    const unsigned before = _mm_getcsr();
#endif
    const Outputs<float> out = run_forward(c, in, false);
#if defined(__x86_64__) || defined(__i386__)
    CHECK_EQ(_mm_getcsr(), before);
#endif
    CHECK(probe * 1.0f > 0.0f);  // the caller still computes with denormals
    for (float v : out.output.data) CHECK_EQ(v, 0.0f);
  }
  rnnkit::set_num_threads(0);
}
