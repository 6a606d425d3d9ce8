// Bad arguments throw the right exception type (InvalidArgument for values, shapes and layouts;
// TypeMismatch for dtypes and devices), with a message that names the argument, before anything
// is written to the outputs.
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "test_harness.h"
#include "test_util.h"

using rnnkit::InvalidArgument;
using rnnkit::TypeMismatch;
using namespace rnnkit_test;

namespace {

constexpr double kSentinel = 12345.0;

// A valid call (B=2, T=4, I=3, H=5, all sizes distinct) whose arguments a test then spoils.
struct Fixture {
  Config c;
  Inputs<double> in;
  Outputs<double> out;
  std::vector<std::uint8_t> ws;
  std::int64_t ws_bytes = 0;
  std::vector<double> scratch = std::vector<double>(4096, 0.5);  // backing for wrongly shaped views
  std::vector<float> scratch32 = std::vector<float>(4096, 0.5f);

  explicit Fixture(CellKind kind, bool reset_after = true, bool training = false,
                   bool return_sequences = true) {
    c.kind = kind;
    c.reset_after = reset_after;
    c.B = 2;
    c.T = 4;
    c.I = 3;
    c.H = 5;
    c.return_sequences = return_sequences;
    c.mask = {1, 1, 0, 1, 1, 1, 1, 0};
    in = make_inputs(c);
    out = make_outputs<double>(c, training);
    for (auto* a : {&out.output, &out.final_h, &out.final_c})
      for (auto& v : a->data) v = kSentinel;
    ws_bytes = rnnkit::forward_memory(c.cell(), c.options(training), DType::float64, c.B, c.T).workspace_bytes;
    ws = garbage_workspace(ws_bytes);
    training_ = training;
  }

  rnnkit::ForwardArgs args() {
    rnnkit::ForwardArgs a = forward_args(in, out);
    a.workspace = workspace_view(ws, ws_bytes);
    return a;
  }
  void forward(const rnnkit::ForwardArgs& a) { rnnkit::forward(c.cell(), c.options(training_), a); }

  // A float64 (or float32) view of the given shape into scratch memory large enough for it.
  TensorView wrong(const Shape& shape) { return view_of(scratch.data(), DType::float64, shape); }
  TensorView wrong32(const Shape& shape) { return view_of(scratch32.data(), DType::float32, shape); }

  bool outputs_untouched() const {
    for (const auto* a : {&out.output, &out.final_h, &out.final_c})
      for (double v : a->data)
        if (v != kSentinel) return false;
    return true;
  }

 private:
  bool training_ = false;
};

// A forward(training) + the valid arguments of the matching backward call.
struct BackwardFixture {
  Fixture f;
  Gradients<double> g;
  std::vector<std::uint8_t> ws;
  std::int64_t ws_bytes = 0;

  explicit BackwardFixture(CellKind kind) : f(kind, true, /*training=*/true) {
    f.forward(f.args());
    g = make_gradients<double>(f.c, f.in);
    for (auto* a : {&g.d_x, &g.d_initial_h, &g.d_initial_c, &g.d_kernel, &g.d_recurrent_kernel, &g.d_bias})
      for (auto& v : a->data) v = kSentinel;
    ws_bytes = rnnkit::backward_memory(f.c.cell(), f.c.options(true), DType::float64, f.c.B, f.c.T).workspace_bytes;
    ws = garbage_workspace(ws_bytes);
  }
  rnnkit::BackwardArgs args() {
    rnnkit::BackwardArgs a = backward_args(f.in, f.out, g);
    a.workspace = workspace_view(ws, ws_bytes);
    return a;
  }
  void backward(const rnnkit::BackwardArgs& a) { rnnkit::backward(f.c.cell(), f.c.options(true), a); }
  bool gradients_untouched() const {
    for (const auto* a : {&g.d_x, &g.d_initial_h, &g.d_initial_c, &g.d_kernel, &g.d_recurrent_kernel, &g.d_bias})
      for (double v : a->data)
        if (v != kSentinel) return false;
    return true;
  }
};

}  // namespace

TEST_CASE(errors_valid_baseline_calls_succeed) {
  for (CellKind kind : {CellKind::simple_rnn, CellKind::gru, CellKind::lstm}) {
    Fixture f(kind);
    CHECK_NOTHROW(f.forward(f.args()));
    CHECK(!f.outputs_untouched());
    BackwardFixture b(kind);
    CHECK_NOTHROW(b.backward(b.args()));
    CHECK(!b.gradients_untouched());
  }
  Fixture gru_before(CellKind::gru, /*reset_after=*/false);
  CHECK_NOTHROW(gru_before.forward(gru_before.args()));
}

TEST_CASE(errors_x_wrong_rank) {
  Fixture f(CellKind::lstm);
  auto a = f.args();
  a.x = view_of(f.in.x.data.data(), DType::float64, {f.c.B * f.c.T, f.c.I});
  CHECK_THROWS_AS(f.forward(a), InvalidArgument, "x");
  CHECK(f.outputs_untouched());
}

TEST_CASE(errors_x_missing) {
  Fixture f(CellKind::gru);
  auto a = f.args();
  a.x = TensorView{};
  CHECK_THROWS_AS(f.forward(a), InvalidArgument, "x");
  CHECK(f.outputs_untouched());
}

TEST_CASE(errors_kernel_wrong_shape) {
  Fixture f(CellKind::lstm);
  auto a = f.args();
  a.kernel = f.wrong({f.c.I, 3 * f.c.H});  // 3 gate blocks for an LSTM
  CHECK_THROWS_AS(f.forward(a), InvalidArgument, "kernel");
  a.kernel = f.wrong({f.c.I + 1, 4 * f.c.H});  // rows do not match x's features
  CHECK_THROWS_AS(f.forward(a), InvalidArgument, "kernel");
  a.kernel = f.wrong({f.c.I * 4 * f.c.H});  // rank 1
  CHECK_THROWS_AS(f.forward(a), InvalidArgument, "kernel");
  CHECK(f.outputs_untouched());
}

TEST_CASE(errors_recurrent_kernel_wrong_shape) {
  Fixture f(CellKind::gru);
  auto a = f.args();
  a.recurrent_kernel = f.wrong({f.c.H + 1, 3 * f.c.H});
  CHECK_THROWS_AS(f.forward(a), InvalidArgument, "recurrent_kernel");
  a.recurrent_kernel = f.wrong({f.c.H, 4 * f.c.H});
  CHECK_THROWS_AS(f.forward(a), InvalidArgument, "recurrent_kernel");
  CHECK(f.outputs_untouched());
}

TEST_CASE(errors_gru_bias_of_the_other_variant) {
  {
    Fixture f(CellKind::gru, /*reset_after=*/true);
    auto a = f.args();
    a.bias = f.wrong({3 * f.c.H});  // reset_after=False's shape
    CHECK_THROWS_AS(f.forward(a), InvalidArgument, "bias");
    CHECK(f.outputs_untouched());
  }
  {
    Fixture f(CellKind::gru, /*reset_after=*/false);
    auto a = f.args();
    a.bias = f.wrong({2, 3 * f.c.H});  // reset_after=True's shape
    CHECK_THROWS_AS(f.forward(a), InvalidArgument, "bias");
    CHECK(f.outputs_untouched());
  }
  {
    Fixture f(CellKind::lstm);
    auto a = f.args();
    a.bias = TensorView{};  // use_bias=true but no bias
    CHECK_THROWS_AS(f.forward(a), InvalidArgument, "bias");
    CHECK(f.outputs_untouched());
  }
}

TEST_CASE(errors_mixed_dtypes) {
  Fixture f(CellKind::lstm);
  {
    auto a = f.args();
    a.kernel = f.wrong32(f.in.kernel.shape);
    CHECK_THROWS_AS(f.forward(a), TypeMismatch, "kernel");
  }
  {
    auto a = f.args();
    a.recurrent_kernel = f.wrong32(f.in.recurrent_kernel.shape);
    CHECK_THROWS_AS(f.forward(a), TypeMismatch, "recurrent_kernel");
  }
  {
    auto a = f.args();
    a.initial_h = f.wrong32({f.c.B, f.c.H});
    CHECK_THROWS_AS(f.forward(a), TypeMismatch, "initial_h");
  }
  {
    auto a = f.args();
    a.output = f.wrong32(f.c.output_shape());
    CHECK_THROWS_AS(f.forward(a), TypeMismatch, "output");
  }
  {
    auto a = f.args();
    a.mask = f.wrong({f.c.B, f.c.T});  // float64 mask instead of uint8
    CHECK_THROWS_AS(f.forward(a), TypeMismatch, "mask");
  }
  {
    auto a = f.args();
    a.x = view_of(f.scratch.data(), DType::uint8, f.in.x.shape);  // not a float dtype
    CHECK_THROWS_AS(f.forward(a), TypeMismatch, "x");
  }
  CHECK(f.outputs_untouched());
}

TEST_CASE(errors_wrong_device) {
  Fixture f(CellKind::simple_rnn);
  auto a = f.args();
  a.kernel.device = rnnkit::Device::cuda;  // one tensor on another device
  CHECK_THROWS_AS(f.forward(a), TypeMismatch, "kernel");
  CHECK(f.outputs_untouched());
}

TEST_CASE(errors_mask_wrong_shape) {
  Fixture f(CellKind::lstm);
  auto a = f.args();
  a.mask = view_of(f.in.mask.data.data(), DType::uint8, {f.c.T, f.c.B});
  CHECK_THROWS_AS(f.forward(a), InvalidArgument, "mask");
  std::vector<std::uint8_t> longer(64, 1);
  a.mask = view_of(longer.data(), DType::uint8, {f.c.B, f.c.T + 1});
  CHECK_THROWS_AS(f.forward(a), InvalidArgument, "mask");
  a.mask = view_of(longer.data(), DType::uint8, {f.c.B, f.c.T, 1});
  CHECK_THROWS_AS(f.forward(a), InvalidArgument, "mask");
  CHECK(f.outputs_untouched());
}

TEST_CASE(errors_dropout_mask_wrong_shape) {
  Fixture f(CellKind::lstm);
  auto a = f.args();
  a.input_dropout = f.wrong({f.c.B, f.c.I + 1});
  CHECK_THROWS_AS(f.forward(a), InvalidArgument, "input_dropout");
  a = f.args();
  a.recurrent_dropout = f.wrong({3, f.c.B, f.c.H});  // 3 gate rows for an LSTM
  CHECK_THROWS_AS(f.forward(a), InvalidArgument, "recurrent_dropout");
  CHECK(f.outputs_untouched());
}

TEST_CASE(errors_output_wrong_shape) {
  Fixture f(CellKind::gru, true, false, /*return_sequences=*/true);
  auto a = f.args();
  a.output = f.wrong({f.c.B, f.c.H});  // the return_sequences=False shape
  CHECK_THROWS_AS(f.forward(a), InvalidArgument, "output");
  a = f.args();
  a.final_h = f.wrong({f.c.B, f.c.H + 1});
  CHECK_THROWS_AS(f.forward(a), InvalidArgument, "final_h");
  CHECK(f.outputs_untouched());
}

TEST_CASE(errors_non_contiguous_strides) {
  Fixture f(CellKind::lstm);
  {
    auto a = f.args();
    // x viewed time-major in memory: shape [B, T, I], strides of a [T, B, I] array.
    a.x.strides[0] = f.c.I;
    a.x.strides[1] = f.c.B * f.c.I;
    CHECK_THROWS_AS(f.forward(a), InvalidArgument, "x");
  }
  {
    auto a = f.args();
    // kernel rows padded to 4H + 1 elements.
    a.kernel = f.wrong({f.c.I, 4 * f.c.H});
    a.kernel.strides[0] = 4 * f.c.H + 1;
    CHECK_THROWS_AS(f.forward(a), InvalidArgument, "kernel");
  }
  {
    auto a = f.args();
    a.recurrent_kernel.strides[0] = 1;  // a transposed view
    a.recurrent_kernel.strides[1] = f.c.H;
    CHECK_THROWS_AS(f.forward(a), InvalidArgument, "recurrent_kernel");
  }
  CHECK(f.outputs_untouched());
}

TEST_CASE(errors_units_zero) {
  CellSpec cell;
  cell.kind = CellKind::lstm;
  cell.input_size = 3;
  cell.units = 0;
  CHECK_THROWS_AS(rnnkit::forward_memory(cell, SequenceOptions{}, DType::float32, 2, 4), InvalidArgument,
                  "units");
  CHECK_THROWS_AS(rnnkit::backward_memory(cell, SequenceOptions{}, DType::float32, 2, 4), InvalidArgument,
                  "units");
  // forward itself with arrays shaped for zero units.
  std::vector<double> x(2 * 4 * 3, 0.5), buffer(64, 0.0);
  rnnkit::ForwardArgs a;
  a.x = view_of(x.data(), DType::float64, {2, 4, 3});
  a.kernel = view_of(buffer.data(), DType::float64, {3, 0});
  a.recurrent_kernel = view_of(buffer.data(), DType::float64, {0, 0});
  a.bias = view_of(buffer.data(), DType::float64, {0});
  a.output = view_of(buffer.data(), DType::float64, {2, 0});
  a.final_h = view_of(buffer.data(), DType::float64, {2, 0});
  a.final_c = view_of(buffer.data(), DType::float64, {2, 0});
  a.workspace = view_of(buffer.data(), DType::uint8, {64});
  CHECK_THROWS_AS(rnnkit::forward(cell, SequenceOptions{}, a), InvalidArgument, "units");
}

TEST_CASE(errors_unknown_activation_name) {
  CHECK_THROWS_AS(rnnkit::activation_from_name("tanhh"), InvalidArgument, "activation");
  CHECK_THROWS_AS(rnnkit::activation_from_name("softmax", "recurrent_activation"), InvalidArgument,
                  "recurrent_activation");
  CHECK_THROWS_AS(rnnkit::activation_from_name(""), InvalidArgument, "activation");
  // Known names and aliases round-trip.
  CHECK(rnnkit::activation_from_name("tanh") == Activation::tanh);
  CHECK(rnnkit::activation_from_name("swish") == Activation::silu);
  CHECK(rnnkit::activation_from_name("hard_swish") == Activation::hard_silu);
  CHECK(std::string(rnnkit::activation_name(Activation::hard_sigmoid)) == "hard_sigmoid");
}

TEST_CASE(errors_forward_training_without_reserve) {
  Fixture f(CellKind::lstm, true, /*training=*/true);
  auto a = f.args();
  a.reserve = TensorView{};
  CHECK_THROWS_AS(f.forward(a), InvalidArgument, "reserve");
  a = f.args();
  a.reserve = f.wrong({f.out.reserve.shape[0] - 1});
  CHECK_THROWS_AS(f.forward(a), InvalidArgument, "reserve");
  CHECK(f.outputs_untouched());
}

TEST_CASE(errors_backward_missing_reserve) {
  for (CellKind kind : {CellKind::simple_rnn, CellKind::gru, CellKind::lstm}) {
    BackwardFixture b(kind);
    auto a = b.args();
    a.reserve = TensorView{};
    CHECK_THROWS_AS(b.backward(a), InvalidArgument, "reserve");
    a = b.args();
    a.reserve.shape[0] -= 1;  // too small
    CHECK_THROWS_AS(b.backward(a), InvalidArgument, "reserve");
    CHECK(b.gradients_untouched());
  }
}

TEST_CASE(errors_backward_bad_gradients) {
  BackwardFixture b(CellKind::lstm);
  auto a = b.args();
  a.d_output = b.f.wrong({b.f.c.B, b.f.c.H});  // forward had return_sequences=True
  CHECK_THROWS_AS(b.backward(a), InvalidArgument, "d_output");
  a = b.args();
  a.d_kernel = b.f.wrong({b.f.c.I, 3 * b.f.c.H});
  CHECK_THROWS_AS(b.backward(a), InvalidArgument, "d_kernel");
  a = b.args();
  a.d_x = b.f.wrong32(b.f.in.x.shape);
  CHECK_THROWS_AS(b.backward(a), TypeMismatch, "d_x");
  CHECK(b.gradients_untouched());
}

TEST_CASE(errors_workspace_too_small) {
  bool forward_tested = false, backward_tested = false;
  for (CellKind kind : {CellKind::simple_rnn, CellKind::gru, CellKind::lstm}) {
    for (bool training : {false, true}) {
      Fixture f(kind, true, training);
      if (f.ws_bytes == 0) continue;
      auto a = f.args();
      a.workspace = view_of(f.ws.data(), DType::uint8, {f.ws_bytes - 1});
      CHECK_THROWS_AS(f.forward(a), InvalidArgument, "workspace");
      a.workspace = TensorView{};
      CHECK_THROWS_AS(f.forward(a), InvalidArgument, "workspace");
      CHECK(f.outputs_untouched());
      forward_tested = true;
    }
    BackwardFixture b(kind);
    if (b.ws_bytes == 0) continue;
    auto a = b.args();
    a.workspace = view_of(b.ws.data(), DType::uint8, {b.ws_bytes - 1});
    CHECK_THROWS_AS(b.backward(a), InvalidArgument, "workspace");
    CHECK(b.gradients_untouched());
    backward_tested = true;
  }
  CHECK_MSG(forward_tested || backward_tested, "every forward_memory / backward_memory said 0 workspace bytes");
}

// Sizes whose products wrap around int64 are refused by name before any division or allocation
// (a wrapped 0 used to reach projection_chunk's division: SIGFPE).
TEST_CASE(errors_sizes_overflow) {
  CellSpec cell;
  cell.kind = CellKind::lstm;
  cell.input_size = 1;
  for (std::int64_t units : {std::int64_t(1) << 60, std::int64_t(1) << 61, std::int64_t(1) << 62}) {
    cell.units = units;
    for (bool training : {false, true}) {
      SequenceOptions options;
      options.training = training;
      CHECK_THROWS_AS(rnnkit::forward_memory(cell, options, DType::float32, 4, 1), InvalidArgument,
                      "units");
    }
    CHECK_THROWS_AS(rnnkit::backward_memory(cell, SequenceOptions{}, DType::float64, 4, 1),
                    InvalidArgument, "units");
  }
  cell.units = 4;
  CHECK_THROWS_AS(rnnkit::forward_memory(cell, SequenceOptions{}, DType::float32,
                                         std::int64_t(1) << 62, 1),
                  InvalidArgument, "batch");
  CHECK_THROWS_AS(rnnkit::forward_memory(cell, SequenceOptions{}, DType::float32, 3,
                                         std::int64_t(1) << 61),
                  InvalidArgument, "timesteps");
  cell.input_size = std::int64_t(1) << 61;
  CHECK_THROWS_AS(rnnkit::backward_memory(cell, SequenceOptions{}, DType::float32, 2, 2),
                  InvalidArgument, "input_size");
  // forward itself, with zero-size weights claiming 2**60 units (the Python reproducer).
  cell.input_size = 1;
  cell.units = std::int64_t(1) << 60;
  std::vector<float> x(4, 0.5f), buffer(64, 0.0f);
  rnnkit::ForwardArgs a;
  a.x = view_of(x.data(), DType::float32, {4, 1, 1});
  a.kernel = view_of(buffer.data(), DType::float32, {1, 4});
  a.recurrent_kernel = view_of(buffer.data(), DType::float32, {cell.units, 0});
  a.output = view_of(buffer.data(), DType::float32, {4, 0});
  a.final_h = view_of(buffer.data(), DType::float32, {4, 0});
  a.final_c = view_of(buffer.data(), DType::float32, {4, 0});
  a.workspace = view_of(buffer.data(), DType::uint8, {64});
  cell.use_bias = false;
  CHECK_THROWS_AS(rnnkit::forward(cell, SequenceOptions{}, a), InvalidArgument, "units");
  // The largest sizes that still fit are accepted by the check (the allocation is the caller's).
  cell.units = 64;
  CHECK_NOTHROW(rnnkit::forward_memory(cell, SequenceOptions{}, DType::float64, 1 << 20, 1 << 10));
}

// Names are compared in full: a NUL byte does not end them ("lstm\0junk" is not "lstm").
TEST_CASE(errors_names_with_nul_bytes) {
  const std::string cell("lstm\0junk", 9), activation("tanh\0junk", 9);
  CHECK_THROWS_AS(rnnkit::cell_kind_from_name(cell), InvalidArgument, "cell");
  CHECK_THROWS_AS(rnnkit::activation_from_name(activation), InvalidArgument, "activation");
  CHECK_THROWS_AS(rnnkit::activation_from_name(activation, "recurrent_activation"), InvalidArgument,
                  "recurrent_activation");
  CHECK(rnnkit::cell_kind_from_name(std::string("lstm")) == CellKind::lstm);
  CHECK(rnnkit::cell_kind_from_name("gru") == CellKind::gru);
}

// A reserve of the right size from another forward call is refused by its stamp, before any
// gradient is written: other options, other inputs, or never filled by a forward call.
TEST_CASE(errors_backward_foreign_reserve) {
  for (CellKind kind : {CellKind::simple_rnn, CellKind::gru, CellKind::lstm}) {
    BackwardFixture b(kind);
    // Another go_backwards: same sizes, same inputs.
    SequenceOptions other = b.f.c.options(true);
    other.go_backwards = !other.go_backwards;
    CHECK_THROWS_AS(rnnkit::backward(b.f.c.cell(), other, b.args()), InvalidArgument, "go_backwards");
    CHECK(b.gradients_untouched());
    // Another x.
    const double saved = b.f.in.x.data[0];
    b.f.in.x.data[0] += 0.5;
    CHECK_THROWS_AS(b.backward(b.args()), InvalidArgument, "other inputs");
    b.f.in.x.data[0] = saved;
    CHECK(b.gradients_untouched());
    // A reserve nobody stamped.
    std::vector<double> copy = b.f.out.reserve.data;
    for (auto& v : b.f.out.reserve.data) v = 0.25;
    CHECK_THROWS_AS(b.backward(b.args()), InvalidArgument, "training=True");
    b.f.out.reserve.data = copy;
    CHECK(b.gradients_untouched());
    CHECK_NOTHROW(b.backward(b.args()));
  }
}
