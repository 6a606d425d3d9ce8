// rnnkit::Workspace: grows to what a call needs and never shrinks, 64-byte aligned, 2 MiB aligned
// from 8 MiB on (where it asks for huge pages), and refuses a negative size.
#include <cstdint>
#include <cstring>

#include "rnnkit/error.h"
#include "rnnkit/sequence.h"
#include "rnnkit/workspace.h"
#include "test_harness.h"
#include "test_util.h"

using namespace rnnkit_test;

namespace {
bool aligned(const void* p, std::uintptr_t to) {
  return reinterpret_cast<std::uintptr_t>(p) % to == 0;
}
}  // namespace

TEST_CASE(workspace_grows_only_and_aligns) {
  rnnkit::Workspace w;
  CHECK_EQ(w.capacity(), 0);
  rnnkit::TensorView v = w.view(1000);
  CHECK_EQ(v.shape[0], 1000);
  CHECK(v.dtype == rnnkit::DType::uint8);
  CHECK(v.data == w.data());
  CHECK(aligned(w.data(), 64));
  void* first = w.data();
  w.view(10);  // fits: the same memory, the capacity kept
  CHECK(w.data() == first);
  CHECK_EQ(w.capacity(), 1000);
  const std::int64_t big = std::int64_t(9) << 20;
  w.reserve(big);
  CHECK_EQ(w.capacity(), big);
  CHECK(aligned(w.data(), std::uintptr_t(2) << 20));
  std::memset(w.data(), 1, static_cast<std::size_t>(big));  // all of it is writable
  CHECK_THROWS_AS(w.reserve(-1), rnnkit::InvalidArgument, "size");
  CHECK_EQ(w.capacity(), big);
}

// A forward call runs in a Workspace of forward_memory's size.
TEST_CASE(workspace_serves_a_forward_call) {
  const Config c = sequence_config(CellKind::lstm, 3, 4, 5, 6);
  Inputs<float> in = make_inputs(c).as<float>();
  const Outputs<float> want = run_forward<float>(c, in, false);
  Outputs<float> got = make_outputs<float>(c, false);
  const auto sizes = rnnkit::forward_memory(c.cell(), c.options(false), rnnkit::DType::float32,
                                            c.B, c.T);
  rnnkit::Workspace w;
  rnnkit::ForwardArgs args = forward_args(in, got);
  args.workspace = w.view(sizes.workspace_bytes);
  rnnkit::forward(c.cell(), c.options(false), args);
  CHECK(got.output.data == want.output.data);
}
