// Forward against a reference written from the equations, backward against central finite
// differences (float64), float32 against float64, and determinism — for every cell and a set of
// sequence options (masks with holes, initial states, go_backwards, return_sequences both ways,
// shared and per-gate dropout masks, no bias, non-default activations).
#include <sys/mman.h>
#include <unistd.h>

#include <cmath>
#include <cstring>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

#include "test_harness.h"
#include "test_util.h"

namespace rnnkit_test {
namespace {

struct CellVariant {
  const char* name;
  CellKind kind;
  bool reset_after;
  std::int64_t units;
};

constexpr CellVariant kCells[] = {
    {"simple_rnn", CellKind::simple_rnn, true, 3},
    {"gru_reset_after", CellKind::gru, true, 2},
    {"gru_reset_before", CellKind::gru, false, 3},
    {"lstm", CellKind::lstm, true, 2},
};

// The sequence options every cell is tested with. B = 2, T = 3, I = 3.
std::vector<Config> configs() {
  std::vector<Config> out;
  std::uint64_t seed = 11;
  for (const CellVariant& cell : kCells) {
    Config base;
    base.kind = cell.kind;
    base.reset_after = cell.reset_after;
    base.H = cell.units;

    Config a = base;  // sequences, a hole in sample 0, right padding in sample 1
    a.name = std::string(cell.name) + "/sequences_mask";
    a.return_sequences = true;
    a.mask = {1, 0, 1, 1, 1, 0};
    a.seed = seed++;
    out.push_back(a);

    Config b = base;  // last output, go_backwards, shared [B, .] dropout masks
    b.name = std::string(cell.name) + "/last_backwards_shared_dropout";
    b.go_backwards = true;
    b.mask = {1, 0, 1, 0, 1, 1};  // sample 1: the last processed step (t = 0) is masked
    b.dropout = Dropout::shared;
    b.seed = seed++;
    out.push_back(b);

    Config c = base;  // last output, zero_output_for_mask, per-gate [G, B, .] dropout masks
    c.name = std::string(cell.name) + "/last_zero_output_per_gate_dropout";
    c.zero_output_for_mask = true;
    c.mask = {1, 0, 1, 1, 1, 0};  // sample 1 ends masked: its last output is zero
    c.dropout = Dropout::per_gate;
    c.seed = seed++;
    out.push_back(c);

    Config d = base;  // sequences, go_backwards, no mask, no initial states, no bias
    d.name = std::string(cell.name) + "/sequences_backwards_nobias_softsign";
    d.return_sequences = true;
    d.go_backwards = true;
    d.use_bias = false;
    d.initial_states = false;
    d.activation = Activation::softsign;
    d.recurrent_activation = Activation::hard_sigmoid;
    d.seed = seed++;
    out.push_back(d);
  }
  return out;
}

template <typename T>
void check_all_close(const std::string& what, const Array<T>& actual, const Array<double>& expected,
                     double rtol, double atol) {
  if (actual.size() != expected.size()) {
    RNNKIT_TEST_FAIL(what + ": size " + std::to_string(actual.size()) + " vs " +
                     std::to_string(expected.size()));
    return;
  }
  for (std::size_t i = 0; i < actual.size(); ++i) {
    if (!close_enough(double(actual.data[i]), expected.data[i], rtol, atol)) {
      std::ostringstream os;
      os.precision(17);
      os << what << "[" << i << "]: " << double(actual.data[i]) << " vs expected " << expected.data[i]
         << " (rtol " << rtol << ", atol " << atol << ")";
      RNNKIT_TEST_FAIL(os.str());
    }
  }
}

// Forward (inference and training) against the reference.
void test_forward(const Config& c) {
  Inputs<double> in = make_inputs(c);
  Outputs<double> ref;
  reference_forward(c, in, ref);
  for (bool training : {false, true}) {
    Outputs<double> out = run_forward<double>(c, in, training);
    const std::string mode = training ? " (training)" : " (inference)";
    check_all_close("output" + mode, out.output, ref.output, 1e-12, 1e-13);
    check_all_close("final_h" + mode, out.final_h, ref.final_h, 1e-12, 1e-13);
    if (c.lstm()) check_all_close("final_c" + mode, out.final_c, ref.final_c, 1e-12, 1e-13);
  }
}

// Every gradient of L against central differences of L (computed with inference forwards).
// `samples` > 0 checks that many random elements instead of all of them. The rounding noise of
// the finite difference is about DBL_EPSILON * sum|terms of L| / eps: ~1e-9 for the tiny problems,
// more for larger ones (pass a larger atol).
void check_against_finite_differences(const std::string& what, const Config& c, Inputs<double>& in,
                                      Array<double>& parameter, const Array<double>& analytic,
                                      int samples = 0, double kAtol = 1e-9) {
  constexpr double kEps = 1e-6, kRtol = 1e-6;
  if (analytic.size() != parameter.size()) {
    RNNKIT_TEST_FAIL(what + ": gradient has " + std::to_string(analytic.size()) +
                     " elements, the parameter " + std::to_string(parameter.size()));
    return;
  }
  std::vector<std::size_t> indices;
  if (samples > 0) {
    std::mt19937_64 rng(parameter.size() * 7919 + samples);
    for (int k = 0; k < samples; ++k) indices.push_back(rng() % parameter.size());
  } else {
    for (std::size_t i = 0; i < parameter.size(); ++i) indices.push_back(i);
  }
  for (std::size_t i : indices) {
    const double saved = parameter.data[i];
    parameter.data[i] = saved + kEps;
    Outputs<double> plus = run_forward<double>(c, in, false);
    const double l_plus = loss(c, in, plus);
    parameter.data[i] = saved - kEps;
    Outputs<double> minus = run_forward<double>(c, in, false);
    const double l_minus = loss(c, in, minus);
    parameter.data[i] = saved;
    const double numeric = (l_plus - l_minus) / (2 * kEps);
    if (!close_enough(analytic.data[i], numeric, kRtol, kAtol)) {
      std::ostringstream os;
      os.precision(17);
      os << what << "[" << i << "]: analytic " << analytic.data[i] << " vs finite difference "
         << numeric;
      RNNKIT_TEST_FAIL(os.str());
    }
  }
}

void test_gradients(const Config& c) {
  Inputs<double> in = make_inputs(c);
  Outputs<double> fwd = run_forward<double>(c, in, true);
  Gradients<double> g = run_backward<double>(c, in, fwd);

  check_against_finite_differences("d_x", c, in, in.x, g.d_x);
  check_against_finite_differences("d_kernel", c, in, in.kernel, g.d_kernel);
  check_against_finite_differences("d_recurrent_kernel", c, in, in.recurrent_kernel, g.d_recurrent_kernel);
  if (c.use_bias) check_against_finite_differences("d_bias", c, in, in.bias, g.d_bias);
  else CHECK(g.d_bias.absent);

  // Without initial states the forward started from zeros: differentiate at explicit zeros.
  Inputs<double> with_states = in;
  if (!c.initial_states) {
    with_states.initial_h = Array<double>({c.B, c.H}, 0.0);
    if (c.lstm()) with_states.initial_c = Array<double>({c.B, c.H}, 0.0);
  }
  check_against_finite_differences("d_initial_h", c, with_states, with_states.initial_h, g.d_initial_h);
  if (c.lstm())
    check_against_finite_differences("d_initial_c", c, with_states, with_states.initial_c, g.d_initial_c);
}

// float32 agrees with float64, forward and backward.
void test_float32(const Config& c) {
  Inputs<double> in64 = make_inputs(c);
  Inputs<float> in32 = in64.as<float>();
  Outputs<double> f64 = run_forward<double>(c, in64, true);
  Outputs<float> f32 = run_forward<float>(c, in32, true);
  check_all_close("output", f32.output, f64.output, 1e-5, 1e-5);
  check_all_close("final_h", f32.final_h, f64.final_h, 1e-5, 1e-5);
  if (c.lstm()) check_all_close("final_c", f32.final_c, f64.final_c, 1e-5, 1e-5);
  Outputs<float> f32_inference = run_forward<float>(c, in32, false);
  check_all_close("output (inference)", f32_inference.output, f64.output, 1e-5, 1e-5);

  Gradients<double> g64 = run_backward<double>(c, in64, f64);
  Gradients<float> g32 = run_backward<float>(c, in32, f32);
  constexpr double kRtol = 1e-4, kAtol = 1e-5;
  check_all_close("d_x", g32.d_x, g64.d_x, kRtol, kAtol);
  check_all_close("d_initial_h", g32.d_initial_h, g64.d_initial_h, kRtol, kAtol);
  if (c.lstm()) check_all_close("d_initial_c", g32.d_initial_c, g64.d_initial_c, kRtol, kAtol);
  check_all_close("d_kernel", g32.d_kernel, g64.d_kernel, kRtol, kAtol);
  check_all_close("d_recurrent_kernel", g32.d_recurrent_kernel, g64.d_recurrent_kernel, kRtol, kAtol);
  if (c.use_bias) check_all_close("d_bias", g32.d_bias, g64.d_bias, kRtol, kAtol);
}

// Output memory at a chosen offset (in elements) past a 64-byte boundary, so two calls can write
// to buffers of different alignment.
template <typename T>
struct Placement {
  int offset = 0;
  std::vector<std::vector<std::uint8_t>> stores;

  void place(TensorView& view, std::int64_t bytes_per_element) {
    if (!view.present()) return;
    const std::int64_t bytes = view.numel() * bytes_per_element;
    stores.emplace_back(bytes + 128 + offset * sizeof(T), std::uint8_t(0xA5));
    const auto at = reinterpret_cast<std::uintptr_t>(stores.back().data());
    view.data = reinterpret_cast<void*>((at + 63) / 64 * 64 + offset * sizeof(T));
  }
  void place(TensorView& view) { place(view, sizeof(T)); }
};

template <typename T>
std::vector<T> contents(const TensorView& view) {
  if (!view.present()) return {};
  const T* p = view.as<const T>();
  return std::vector<T>(p, p + view.numel());
}

template <typename T>
bool bit_identical(const std::vector<T>& a, const std::vector<T>& b) {
  return a.size() == b.size() && (a.empty() || std::memcmp(a.data(), b.data(), a.size() * sizeof(T)) == 0);
}

// Three forward and three backward calls on the same inputs: two with 64-byte aligned outputs,
// workspace and reserve, one with all of them one element off. All give bit-identical results.
template <typename T>
void test_determinism(const Config& c) {
  const char* type = std::is_same<T, float>::value ? "float32" : "float64";
  Inputs<T> in = make_inputs(c).as<T>();
  const int offsets[3] = {0, 0, 1};
  std::vector<std::vector<T>> fwd[3];
  Placement<T> keep_reserve;
  rnnkit::ForwardArgs first_forward;
  for (int k = 0; k < 3; ++k) {
    Outputs<T> out = make_outputs<T>(c, true);
    auto sizes = rnnkit::forward_memory(c.cell(), c.options(true), dtype_of<T>(), c.B, c.T);
    rnnkit::ForwardArgs a = forward_args(in, out);
    a.workspace = view_of(nullptr, DType::uint8, {sizes.workspace_bytes});
    Placement<T>& placement = keep_reserve;
    placement.offset = offsets[k];
    for (TensorView* v : {&a.output, &a.final_h, &a.final_c, &a.reserve}) placement.place(*v);
    placement.place(a.workspace, 1);
    rnnkit::forward(c.cell(), c.options(true), a);
    for (const TensorView* v : {&a.output, &a.final_h, &a.final_c, &a.reserve}) fwd[k].push_back(contents<T>(*v));
    if (k == 0) first_forward = a;
  }
  const char* names[] = {"output", "final_h", "final_c", "reserve"};
  for (int i = 0; i < 4; ++i) {
    CHECK_MSG(bit_identical(fwd[0][i], fwd[1][i]), type << " forward " << names[i] << ": a repeated call differs");
    CHECK_MSG(bit_identical(fwd[0][i], fwd[2][i]),
              type << " forward " << names[i] << ": differs when the buffers are aligned differently");
  }

  Outputs<T> saved;  // the first forward's reserve
  std::vector<std::vector<T>> bwd[3];
  for (int k = 0; k < 3; ++k) {
    Gradients<T> g = make_gradients<T>(c, in);
    auto sizes = rnnkit::backward_memory(c.cell(), c.options(true), dtype_of<T>(), c.B, c.T);
    rnnkit::BackwardArgs a = backward_args(in, saved, g);
    a.reserve = first_forward.reserve;
    a.workspace = view_of(nullptr, DType::uint8, {sizes.workspace_bytes});
    Placement<T> placement;
    placement.offset = offsets[k];
    for (TensorView* v : {&a.d_x, &a.d_initial_h, &a.d_initial_c, &a.d_kernel, &a.d_recurrent_kernel, &a.d_bias})
      placement.place(*v);
    placement.place(a.workspace, 1);
    rnnkit::backward(c.cell(), c.options(true), a);
    for (const TensorView* v : {&a.d_x, &a.d_initial_h, &a.d_initial_c, &a.d_kernel, &a.d_recurrent_kernel, &a.d_bias})
      bwd[k].push_back(contents<T>(*v));
  }
  const char* grad_names[] = {"d_x", "d_initial_h", "d_initial_c", "d_kernel", "d_recurrent_kernel", "d_bias"};
  for (int i = 0; i < 6; ++i) {
    CHECK_MSG(bit_identical(bwd[0][i], bwd[1][i]), type << " backward " << grad_names[i] << ": a repeated call differs");
    CHECK_MSG(bit_identical(bwd[0][i], bwd[2][i]),
              type << " backward " << grad_names[i] << ": differs when the buffers are aligned differently");
  }
}

const bool registered = [] {
  for (const Config& c : configs()) {
    add_test("forward_reference/" + c.name, [c] { test_forward(c); }, __FILE__, __LINE__);
    add_test("gradients_fd/" + c.name, [c] { test_gradients(c); }, __FILE__, __LINE__);
    add_test("float32_vs_float64/" + c.name, [c] { test_float32(c); }, __FILE__, __LINE__);
    add_test("determinism/" + c.name, [c] {
      test_determinism<double>(c);
      test_determinism<float>(c);
    }, __FILE__, __LINE__);
  }
  return true;
}();

}  // namespace
}  // namespace rnnkit_test

// A longer sequence with more units, so the threaded paths (units split across threads, time chunks
// of the inference projection) see more than one chunk: inference and training forwards agree with
// the reference, and float32 with float64.
TEST_CASE(forward_reference_larger_lstm_and_gru) {
  using namespace rnnkit_test;
  for (CellKind kind : {CellKind::lstm, CellKind::gru, CellKind::simple_rnn}) {
    Config c;
    c.kind = kind;
    c.B = 5;
    c.T = 37;
    c.I = 7;
    c.H = 33;
    c.return_sequences = kind != CellKind::gru;
    c.mask.assign(c.B * c.T, 1);
    for (std::int64_t t = 30; t < c.T; ++t) c.mask[2 * c.T + t] = 0;  // sample 2 right-padded
    c.mask[4 * c.T + 5] = 0;                                          // sample 4 has a hole
    c.seed = 99;
    Inputs<double> in = make_inputs(c);
    Outputs<double> ref;
    reference_forward(c, in, ref);
    for (bool training : {false, true}) {
      Outputs<double> out = run_forward<double>(c, in, training);
      check_all_close(std::string(rnnkit::cell_kind_name(kind)) + " output", out.output, ref.output, 1e-11, 1e-12);
      check_all_close(std::string(rnnkit::cell_kind_name(kind)) + " final_h", out.final_h, ref.final_h, 1e-11, 1e-12);
      Inputs<float> in32 = in.as<float>();
      Outputs<float> out32 = run_forward<float>(c, in32, training);
      check_all_close(std::string(rnnkit::cell_kind_name(kind)) + " output float32", out32.output, ref.output, 1e-4, 1e-5);
    }
  }
}

namespace {

// Restores the default thread count when a test ends.
struct ThreadCount {
  explicit ThreadCount(int n) { rnnkit::set_num_threads(n); }
  ~ThreadCount() { rnnkit::set_num_threads(0); }
};

// The backward of `fwd` with the gradients that `drop` clears left absent (on a garbage workspace).
template <class Drop>
rnnkit_test::Gradients<float> backward_without(const rnnkit_test::Config& c,
                                               rnnkit_test::Inputs<float>& in,
                                               rnnkit_test::Outputs<float>& fwd, Drop drop) {
  using namespace rnnkit_test;
  Gradients<float> partial = make_gradients<float>(c, in);
  drop(partial);
  auto sizes = rnnkit::backward_memory(c.cell(), c.options(true), DType::float32, c.B, c.T);
  auto ws = garbage_workspace(sizes.workspace_bytes);
  rnnkit::BackwardArgs a = backward_args(in, fwd, partial);
  a.workspace = workspace_view(ws, sizes.workspace_bytes);
  rnnkit::backward(c.cell(), c.options(true), a);
  return partial;
}

}  // namespace

// d_x is optional: without it the input-gradient GEMM is skipped and every other gradient stays
// bit for bit the same (with and without input dropout, whose path computes d_x per gate).
TEST_CASE(backward_without_input_gradient) {
  using namespace rnnkit_test;
  for (CellKind kind : {CellKind::lstm, CellKind::gru, CellKind::simple_rnn}) {
    for (Dropout dropout : {Dropout::none, Dropout::shared, Dropout::per_gate}) {
      Config c = sequence_config(kind, 3, 4, 5, 6);
      c.dropout = dropout;
      Inputs<float> in = make_inputs(c).as<float>();
      Outputs<float> fwd = run_forward<float>(c, in, true);
      Gradients<float> full = run_backward<float>(c, in, fwd);
      Gradients<float> partial =
          backward_without(c, in, fwd, [](Gradients<float>& g) { g.d_x = Array<float>(); });
      CHECK(full.d_kernel.data == partial.d_kernel.data);
      CHECK(full.d_recurrent_kernel.data == partial.d_recurrent_kernel.data);
      CHECK(full.d_bias.data == partial.d_bias.data);
      CHECK(full.d_initial_h.data == partial.d_initial_h.data);
      CHECK(full.d_initial_c.data == partial.d_initial_c.data);
    }
  }
}

// d_initial_h and d_initial_c are optional: without them the first step's recurrent product is
// skipped and every other gradient stays bit for bit the same (masks, dropout, the reset-before
// GRU whose candidate product the first step still needs, 1 and 2 threads).
TEST_CASE(backward_without_initial_state_gradient) {
  using namespace rnnkit_test;
  for (int threads : {1, 2}) {
    ThreadCount team(threads);
    for (const CellVariant& cell : kCells) {
      for (Dropout dropout : {Dropout::none, Dropout::per_gate}) {
        for (bool masked : {false, true}) {
          Config c = sequence_config(cell.kind, 3, 4, 5, 6);
          c.reset_after = cell.reset_after;
          c.dropout = dropout;
          c.initial_states = masked;
          if (masked) c.mask = {1, 1, 0, 1, 0, 0, 1, 1, 1, 1, 1, 0};
          Inputs<float> in = make_inputs(c).as<float>();
          Outputs<float> fwd = run_forward<float>(c, in, true);
          Gradients<float> full = run_backward<float>(c, in, fwd);
          Gradients<float> partial = backward_without(c, in, fwd, [](Gradients<float>& g) {
            g.d_initial_h = Array<float>();
            g.d_initial_c = Array<float>();
          });
          CHECK_MSG(full.d_x.data == partial.d_x.data, cell.name << " threads " << threads);
          CHECK(full.d_kernel.data == partial.d_kernel.data);
          CHECK(full.d_recurrent_kernel.data == partial.d_recurrent_kernel.data);
          CHECK(full.d_bias.data == partial.d_bias.data);
        }
      }
    }
  }
}

namespace {

rnnkit_test::Config medium_config(rnnkit::CellKind kind, bool reset_after, std::int64_t T) {
  rnnkit_test::Config c;
  c.kind = kind;
  c.reset_after = reset_after;
  c.B = 16;  // B * H * G*H large enough that the time loop splits the units over 2 threads
  c.T = T;
  c.I = 5;
  c.H = 40;
  c.return_sequences = true;
  c.mask.assign(c.B * c.T, 1);
  c.mask[1 * c.T + 1] = 0;        // a hole
  c.mask[3 * c.T + c.T - 1] = 0;  // right padding
  c.dropout = rnnkit_test::Dropout::per_gate;
  c.seed = 2024 + T;
  return c;
}

}  // namespace

// The threaded time loop (units split over 2 threads): forward against the reference, gradients
// against finite differences on random elements, and 1 thread against 2 threads.
TEST_CASE(threaded_loop_forward_gradients_and_thread_counts) {
  using namespace rnnkit_test;
  for (const CellVariant& k : kCells) {
    const std::string name = std::string(rnnkit::cell_kind_name(k.kind)) +
                             (k.kind == CellKind::gru ? (k.reset_after ? "(reset_after)" : "(reset_before)") : "");
    Config c = medium_config(k.kind, k.reset_after, 4);
    if (k.kind == CellKind::simple_rnn) c.H = 96;  // G = 1: more units for the same work per step
    Inputs<double> in = make_inputs(c);
    Outputs<double> ref;
    reference_forward(c, in, ref);

    Outputs<double> f1, f2;
    Gradients<double> g1, g2;
    {
      ThreadCount one(1);
      f1 = run_forward<double>(c, in, true);
      g1 = run_backward<double>(c, in, f1);
    }
    {
      ThreadCount two(2);
      f2 = run_forward<double>(c, in, true);
      g2 = run_backward<double>(c, in, f2);
      // L sums B*T*H = 2560 output terms: finite-difference noise ~3e-8.
      constexpr double kAtol = 2e-7;
      check_all_close(name + " output (2 threads)", f2.output, ref.output, 1e-12, 1e-13);
      check_all_close(name + " final_h (2 threads)", f2.final_h, ref.final_h, 1e-12, 1e-13);
      if (c.lstm()) check_all_close(name + " final_c (2 threads)", f2.final_c, ref.final_c, 1e-12, 1e-13);
      check_against_finite_differences(name + " d_x", c, in, in.x, g2.d_x, 30, kAtol);
      check_against_finite_differences(name + " d_kernel", c, in, in.kernel, g2.d_kernel, 30, kAtol);
      check_against_finite_differences(name + " d_recurrent_kernel", c, in, in.recurrent_kernel,
                                       g2.d_recurrent_kernel, 30, kAtol);
      check_against_finite_differences(name + " d_bias", c, in, in.bias, g2.d_bias, 30, kAtol);
      check_against_finite_differences(name + " d_initial_h", c, in, in.initial_h, g2.d_initial_h, 30, kAtol);
      if (c.lstm())
        check_against_finite_differences(name + " d_initial_c", c, in, in.initial_c, g2.d_initial_c, 30, kAtol);
    }
    check_all_close(name + " output 1 vs 2 threads", f1.output, f2.output, 1e-13, 1e-14);
    check_all_close(name + " d_x 1 vs 2 threads", g1.d_x, g2.d_x, 1e-12, 1e-13);
    check_all_close(name + " d_kernel 1 vs 2 threads", g1.d_kernel, g2.d_kernel, 1e-12, 1e-13);
    check_all_close(name + " d_recurrent_kernel 1 vs 2 threads", g1.d_recurrent_kernel,
                    g2.d_recurrent_kernel, 1e-12, 1e-13);
    check_all_close(name + " d_bias 1 vs 2 threads", g1.d_bias, g2.d_bias, 1e-12, 1e-13);
    check_all_close(name + " d_initial_h 1 vs 2 threads", g1.d_initial_h, g2.d_initial_h, 1e-12, 1e-13);
  }
}

// Inference projects the input in chunks of timesteps (a bounded buffer); a sequence long enough
// for more than one chunk gives the same result as training (one projection) and the reference.
TEST_CASE(forward_inference_projection_in_chunks) {
  using namespace rnnkit_test;
  Config c = medium_config(CellKind::lstm, true, 4000);  // B*T*G*H = 10.2M > one 8M-element chunk
  c.return_sequences = false;
  c.dropout = Dropout::none;
  for (std::int64_t t = 3000; t < c.T; ++t) c.mask[5 * c.T + t] = 0;  // long right padding
  // The inference scratch must be smaller than one projection of the whole sequence, or this test
  // would not see a second chunk.
  const std::int64_t whole = c.B * c.T * 4 * c.H * static_cast<std::int64_t>(sizeof(double));
  CHECK(rnnkit::forward_memory(c.cell(), c.options(false), rnnkit::DType::float64, c.B, c.T)
            .workspace_bytes < whole);
  Inputs<double> in = make_inputs(c);
  Outputs<double> ref;
  reference_forward(c, in, ref);
  Outputs<double> inference = run_forward<double>(c, in, false);
  Outputs<double> training = run_forward<double>(c, in, true);
  check_all_close("output (inference)", inference.output, ref.output, 1e-10, 1e-11);
  check_all_close("final_c (inference)", inference.final_c, ref.final_c, 1e-10, 1e-11);
  check_all_close("output (training)", training.output, ref.output, 1e-10, 1e-11);
  check_all_close("inference vs training", inference.final_h, training.final_h, 1e-12, 1e-13);
}

// Determinism at a size where the big GEMMs and the time loop run on 2 threads.
TEST_CASE(determinism_threaded_medium) {
  using namespace rnnkit_test;
  ThreadCount two(2);
  for (CellKind kind : {CellKind::lstm, CellKind::gru}) {
    Config c = medium_config(kind, kind == CellKind::gru, 6);
    test_determinism<double>(c);
    test_determinism<float>(c);
  }
}

namespace {

// `a` with its batch row repeated `copies` times (a B = 1 array, batch first).
template <typename T>
rnnkit_test::Array<T> repeat_row(const rnnkit_test::Array<T>& a, std::int64_t copies) {
  if (a.absent) return a;
  rnnkit_test::Array<T> out = a;
  out.shape[0] = copies;
  out.data.clear();
  for (std::int64_t i = 0; i < copies; ++i) out.data.insert(out.data.end(), a.data.begin(), a.data.end());
  return out;
}

template <typename T>
bool leading_bits_equal(const rnnkit_test::Array<T>& one, const rnnkit_test::Array<T>& batch) {
  return one.absent ? batch.absent
                    : batch.data.size() >= one.data.size() &&
                          std::memcmp(one.data.data(), batch.data.data(), one.data.size() * sizeof(T)) == 0;
}

}  // namespace

// A batch of one or two runs its recurrent products on its own kernel (several panels at once
// instead of the micro-tile's one or two rows): the same bits as those rows inside a batch of
// three, forward and backward (outputs, states, and the gradients of x and of the initial states),
// at 1 and 2 threads, with a partial last panel (H = 40) and two k passes (H = 300).
TEST_CASE(small_batches_match_their_rows_in_a_batch) {
  using namespace rnnkit_test;
  for (const CellVariant& k : kCells) {
    for (std::int64_t H : {40, 300}) {
      for (int threads : {1, 2}) {
      for (std::int64_t small : {1, 2}) {
        ThreadCount count(threads);
        // T = 6: B * T >= 4 rows, so the GEMMs outside the loop take the same path for both.
        Config one = sequence_config(k.kind, 1, 6, 5, H);
        one.reset_after = k.reset_after;
        one.seed = 77 + H;
        Config three = one;
        three.B = 3;
        Inputs<float> row = make_inputs(one).as<float>();
        one.B = small;  // `small` copies of the row, against three
        Inputs<float> in1 = row, in3 = row;
        for (auto* a : {&in1.x, &in1.initial_h, &in1.initial_c, &in1.w_output, &in1.w_h, &in1.w_c})
          *a = repeat_row(*a, small);
        for (auto* a : {&in3.x, &in3.initial_h, &in3.initial_c, &in3.w_output, &in3.w_h, &in3.w_c})
          *a = repeat_row(*a, 3);
        const std::string name = std::string(rnnkit::cell_kind_name(k.kind)) + " H=" +
                                 std::to_string(H) + " threads=" + std::to_string(threads) +
                                 " B=" + std::to_string(small);
        Outputs<float> f1 = run_forward<float>(one, in1, true), f3 = run_forward<float>(three, in3, true);
        CHECK_MSG(leading_bits_equal(f1.output, f3.output), name << ": output");
        CHECK_MSG(leading_bits_equal(f1.final_h, f3.final_h), name << ": final_h");
        CHECK_MSG(leading_bits_equal(f1.final_c, f3.final_c), name << ": final_c");
        Gradients<float> g1 = run_backward<float>(one, in1, f1), g3 = run_backward<float>(three, in3, f3);
        CHECK_MSG(leading_bits_equal(g1.d_x, g3.d_x), name << ": d_x");
        CHECK_MSG(leading_bits_equal(g1.d_initial_h, g3.d_initial_h), name << ": d_initial_h");
        CHECK_MSG(leading_bits_equal(g1.d_initial_c, g3.d_initial_c), name << ": d_initial_c");
      }
      }
    }
  }
}

namespace {

// A copy of `a` that ends where an inaccessible page begins: reading one element past it faults.
class FencedCopy {
 public:
  explicit FencedCopy(const rnnkit_test::Array<double>& a) {
    const std::size_t page = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
    const std::size_t bytes = a.data.size() * sizeof(double);
    length_ = (bytes + page - 1) / page * page + page;
    base_ = static_cast<char*>(
        mmap(nullptr, length_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
    if (base_ == MAP_FAILED) throw std::runtime_error("mmap failed");
    char* fence = base_ + length_ - page;
    mprotect(fence, page, PROT_NONE);
    data_ = reinterpret_cast<double*>(fence - bytes);
    std::memcpy(data_, a.data.data(), bytes);
    shape_ = a.shape;
  }
  ~FencedCopy() { munmap(base_, length_); }
  FencedCopy(const FencedCopy&) = delete;
  FencedCopy& operator=(const FencedCopy&) = delete;
  rnnkit::TensorView view() { return rnnkit_test::view_of(data_, rnnkit::DType::float64, shape_); }

 private:
  char* base_ = nullptr;
  std::size_t length_ = 0;
  double* data_ = nullptr;
  rnnkit_test::Shape shape_;
};

}  // namespace

// Backward packs R^T (its columns are contiguous) into GEMM panels eight k at a time. The panels
// of float64 on SSE are 4 wide: blocks of 8 columns read past the source and wrote past the
// panel (a crash at the baseline level, H >= 128). Here R ends where an inaccessible page begins
// and the workspace is followed by guard bytes no call may touch; d_x and d_initial_h, which go
// through R^T, against finite differences.
TEST_CASE(backward_packs_transposed_weights_within_bounds) {
  using namespace rnnkit_test;
  for (CellKind kind : {CellKind::lstm, CellKind::gru, CellKind::simple_rnn}) {
    Config c = sequence_config(kind, 3, 3, 8, 128);
    c.initial_states = true;
    c.seed = 131;
    Inputs<double> in = make_inputs(c);
    Outputs<double> fwd = run_forward<double>(c, in, true);
    Gradients<double> g = make_gradients<double>(c, in);
    const auto sizes = rnnkit::backward_memory(c.cell(), c.options(true), DType::float64, c.B, c.T);
    constexpr std::int64_t kGuard = 4096;
    auto ws = garbage_workspace(sizes.workspace_bytes + kGuard);
    FencedCopy fenced_r(in.recurrent_kernel);
    rnnkit::BackwardArgs a = backward_args(in, fwd, g);
    a.recurrent_kernel = fenced_r.view();
    a.workspace = workspace_view(ws, sizes.workspace_bytes);
    rnnkit::backward(c.cell(), c.options(true), a);
    const std::string name = rnnkit::cell_kind_name(kind);
    bool guard_intact = true;
    for (std::int64_t i = sizes.workspace_bytes; i < sizes.workspace_bytes + kGuard; ++i)
      guard_intact = guard_intact && ws[static_cast<std::size_t>(i)] == 0xA5;
    CHECK_MSG(guard_intact, name << ": backward wrote past its workspace");
    // 128 units: more rounding noise in the differences than the tiny cases' 1e-9.
    check_against_finite_differences(name + " d_x", c, in, in.x, g.d_x, 0, 1e-8);
    check_against_finite_differences(name + " d_initial_h", c, in, in.initial_h, g.d_initial_h, 0,
                                     1e-8);
  }
}
