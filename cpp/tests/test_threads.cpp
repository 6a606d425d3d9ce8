// rnnkit's thread team (src/thread_pool.h): results do not depend on whether a call got the team
// (concurrent callers fall back to one thread), the step barrier keeps a team in step over many
// steps, and many back-to-back calls neither hang nor differ.
#include <atomic>
#include <cstring>
#include <thread>
#include <vector>

#include "test_harness.h"
#include "test_util.h"
#include "../src/thread_pool.h"

using namespace rnnkit_test;

namespace {

Config unit_split_config() {
  // B = 16 at H = 64 on two threads: the threads split the units, with a barrier every step.
  Config c;
  c.kind = CellKind::gru;
  c.B = 16;
  c.T = 12;
  c.I = 10;
  c.H = 64;
  c.return_sequences = true;
  return c;
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
