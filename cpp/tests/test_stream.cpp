// rnnkit::Stream against rnnkit::forward: T calls of step(), one run() and run() in pieces give the
// bits of one inference forward over the same T steps (outputs and final states), for every cell,
// both dtypes, sizes with a SIMD tail and with several k passes of the products, masks; and the
// checks of every call.
#include <cstring>
#include <string>
#include <vector>

#include "test_harness.h"
#include "test_util.h"

using namespace rnnkit_test;
using rnnkit::InvalidArgument;
using rnnkit::Stream;
using rnnkit::TypeMismatch;

namespace {

template <typename T>
bool same_bits(const std::vector<T>& a, const T* b, std::size_t n) {
  return a.size() >= n && std::memcmp(a.data(), b, n * sizeof(T)) == 0;
}

template <typename T>
Stream make_stream(const Config& c, Inputs<T>& in, rnnkit::StreamOptions o = {}) {
  Stream s(c.cell(), dtype_of<T>(), c.B, in.kernel.view(), in.recurrent_kernel.view(),
           in.bias.view(), o);
  if (c.initial_states) s.set_states(in.initial_h.view(), in.initial_c.view());
  return s;
}

// x[:, t0:t0+n, :] as its own contiguous [B, n, I] array.
template <typename T>
Array<T> time_slice(const Config& c, const Array<T>& x, std::int64_t t0, std::int64_t n) {
  Array<T> out({c.B, n, c.I});
  if (n == 0) return out;  // no data to copy (memcpy's pointers must not be null even then)
  for (std::int64_t b = 0; b < c.B; ++b)
    std::memcpy(out.data.data() + b * n * c.I, x.data.data() + (b * c.T + t0) * c.I,
                n * c.I * sizeof(T));
  return out;
}

template <typename T>
void check_final_states(const Config& c, Stream& s, Outputs<T>& ref, const std::string& what) {
  Array<T> h({c.B, c.H}), cc({c.B, c.H});
  s.states(h.view(), c.lstm() ? cc.view() : TensorView{});
  CHECK_MSG(same_bits(h.data, ref.final_h.data.data(), h.size()), what << ": final h differs");
  if (c.lstm())
    CHECK_MSG(same_bits(cc.data, ref.final_c.data.data(), cc.size()), what << ": final c differs");
}

template <typename T>
void check_against_forward(Config c) {
  c.return_sequences = true;
  Inputs<T> in = make_inputs(c).template as<T>();
  Outputs<T> ref = run_forward<T>(c, in, false);
  const std::string name = c.name + (sizeof(T) == 4 ? " float32" : " float64");

  // step() one timestep at a time.
  {
    Stream s = make_stream(c, in);
    Array<T> out({c.B, c.H});
    bool same = true;
    for (std::int64_t t = 0; t < c.T; ++t) {
      Array<T> x = time_slice(c, in.x, t, 1);
      s.step(view_of(x.data.data(), dtype_of<T>(), {c.B, c.I}), out.view());
      for (std::int64_t b = 0; b < c.B; ++b)
        same = same && std::memcmp(out.data.data() + b * c.H,
                                   ref.output.data.data() + (b * c.T + t) * c.H,
                                   c.H * sizeof(T)) == 0;
    }
    CHECK_MSG(same, name << ": step() outputs differ from forward");
    check_final_states(c, s, ref, name + " step()");
  }
  // run() over everything, then run() in two pieces (the second returning only the last output).
  {
    Stream s = make_stream(c, in);
    Array<T> out({c.B, c.T, c.H});
    s.run(in.x.view(), out.view());
    CHECK_MSG(same_bits(out.data, ref.output.data.data(), out.size()), name << ": run() differs");
    check_final_states(c, s, ref, name + " run()");

    const std::int64_t t1 = c.T / 2;
    Stream p = make_stream(c, in);
    Array<T> x0 = time_slice(c, in.x, 0, t1), x1 = time_slice(c, in.x, t1, c.T - t1);
    Array<T> o0({c.B, t1, c.H}), last({c.B, c.H});
    if (t1 > 0) p.run(x0.view(), o0.view());
    p.run(x1.view(), last.view());
    bool same = true;
    for (std::int64_t b = 0; b < c.B; ++b)
      same = same && std::memcmp(last.data.data() + b * c.H,
                                 ref.output.data.data() + (b * c.T + c.T - 1) * c.H,
                                 c.H * sizeof(T)) == 0;
    CHECK_MSG(same, name << ": run() in pieces differs");
    check_final_states(c, p, ref, name + " run() in pieces");
  }
}

const Config kBase = [] {
  Config c;
  c.initial_states = true;
  return c;
}();

std::vector<Config> stream_configs() {
  // One step of the bench size; a SIMD tail (H = 19); k passes of both products (I = 300 >
  // 256, H = 150 > 128); a batch.
  // Tiny calls (T <= 2, B * T <= 4), where forward reads the weights unpacked (gemm_direct),
  // SIMD tails included.
  return cell_option_grid({{1, 5, 64, 64}, {3, 6, 7, 19}, {2, 4, 300, 40}, {2, 3, 9, 150},
                           {1, 1, 7, 19}, {2, 2, 5, 9}, {4, 1, 12, 40}, {1, 2, 300, 33}},
                          1, kBase);
}

}  // namespace

TEST_CASE(stream_matches_forward_bit_for_bit) {
  for (const Config& c : stream_configs()) {
    check_against_forward<float>(c);
    check_against_forward<double>(c);
  }
}

template <typename T>
void check_masked(CellKind kind, bool reset_after, bool zero_output, bool sequences) {
  Config c = masked_stream_config(kind, zero_output);
  c.reset_after = reset_after;
  c.return_sequences = sequences;
  Inputs<T> in = make_inputs(c).template as<T>();
  Outputs<T> ref = run_forward<T>(c, in, false);
  rnnkit::StreamOptions o;
  o.zero_output_for_mask = zero_output;
  Stream s = make_stream(c, in, o);
  Array<T> out(c.output_shape());
  s.run(in.x.view(), out.view(), in.mask.view());
  CHECK_MSG(same_bits(out.data, ref.output.data.data(), out.size()),
            cell_kind_name(kind) << " masked run differs (zero_output " << zero_output
                                 << ", sequences " << sequences << ")");
  check_final_states(c, s, ref, "masked");
}

// Stream flushes denormals as forward does (thread_pool.h, FlushDenormals), so the two keep the same
// bits where a product falls below float32's normal range: x W = 8e-41 comes out 0 from both.
TEST_CASE(stream_flushes_denormals_like_forward) {
  DenormalCase denormal = denormal_product_case(2, 3, 16);
  const Config& c = denormal.config;
  Inputs<float>& in = denormal.inputs;
  Outputs<float> ref = run_forward<float>(c, in, false);
  Stream s = make_stream(c, in);
  Array<float> out({c.B, c.T, c.H});
  s.run(in.x.view(), out.view());
  CHECK(same_bits(out.data, ref.output.data.data(), out.size()));
  bool zeros = true;
  for (float v : out.data) zeros = zeros && v == 0.0f;
  CHECK(zeros);
  Stream one = make_stream(c, in);
  Array<float> x0 = time_slice(c, in.x, 0, 1), step_out({c.B, c.H});
  one.step(view_of(x0.data.data(), rnnkit::DType::float32, {c.B, c.I}), step_out.view());
  for (float v : step_out.data) zeros = zeros && v == 0.0f;
  CHECK(zeros);
}

TEST_CASE(stream_masked_run_matches_forward) {
  for (bool zero_output : {false, true}) {
    for (bool sequences : {false, true}) {
      check_masked<float>(CellKind::lstm, true, zero_output, sequences);
      check_masked<double>(CellKind::gru, true, zero_output, sequences);
      check_masked<float>(CellKind::gru, false, zero_output, sequences);
      check_masked<double>(CellKind::simple_rnn, true, zero_output, sequences);
    }
  }
}

TEST_CASE(stream_states_reset_and_weights) {
  Config c = kBase;
  c.kind = CellKind::lstm;
  c.B = 2;
  c.T = 4;
  c.I = 5;
  c.H = 8;
  c.initial_states = false;
  Inputs<float> in = make_inputs(c).as<float>();
  c.return_sequences = true;
  Outputs<float> ref = run_forward<float>(c, in, false);
  Stream s = make_stream(c, in);
  Array<float> out({c.B, c.T, c.H}), again({c.B, c.T, c.H});
  s.run(in.x.view(), out.view());
  s.reset_states();
  s.run(in.x.view(), again.view());
  CHECK(out.data == again.data);
  CHECK(same_bits(out.data, ref.output.data.data(), out.size()));

  // New weights of the same shapes: the result changes, and equals a fresh stream's.
  Inputs<float> other = make_inputs([&] { Config d = c; d.seed = 99; return d; }()).as<float>();
  s.set_weights(other.kernel.view(), other.recurrent_kernel.view(), other.bias.view());
  s.reset_states();
  s.run(in.x.view(), again.view());
  Stream fresh(c.cell(), DType::float32, c.B, other.kernel.view(), other.recurrent_kernel.view(),
               other.bias.view());
  Array<float> expected({c.B, c.T, c.H});
  fresh.run(in.x.view(), expected.view());
  CHECK(again.data == expected.data);
  CHECK(again.data != out.data);

  // states() reads back what set_states() wrote; c is zero when not given.
  Array<float> h({c.B, c.H}, 0.25f), hc({c.B, c.H}), cc({c.B, c.H}, 7.0f);
  s.set_states(h.view());
  s.states(hc.view(), cc.view());
  CHECK(hc.data == h.data);
  CHECK(cc.data == std::vector<float>(c.B * c.H, 0.0f));
  CHECK_THROWS_AS(s.states(hc.view(), hc.view()), InvalidArgument, "must not overlap 'h'");
}

TEST_CASE(stream_errors_name_the_argument) {
  Config c = kBase;
  c.kind = CellKind::gru;
  c.B = 2;
  c.T = 3;
  c.I = 4;
  c.H = 5;
  Inputs<float> in = make_inputs(c).as<float>();
  const auto cell = c.cell();
  // Construction.
  CHECK_THROWS_AS(Stream(cell, DType::float32, 0, in.kernel.view(), in.recurrent_kernel.view(),
                         in.bias.view()), InvalidArgument, "batch");
  CHECK_THROWS_AS(Stream(cell, DType::float64, 2, in.kernel.view(), in.recurrent_kernel.view(),
                         in.bias.view()), TypeMismatch, "kernel");
  CHECK_THROWS_AS(Stream(cell, DType::uint8, 2, in.kernel.view(), in.recurrent_kernel.view(),
                         in.bias.view()), TypeMismatch, "dtype");
  CHECK_THROWS_AS(Stream(cell, DType::float32, 2, in.recurrent_kernel.view(), in.recurrent_kernel.view(),
                         in.bias.view()), InvalidArgument, "kernel");
  CHECK_THROWS_AS(Stream(cell, DType::float32, 2, in.kernel.view(), in.recurrent_kernel.view(),
                         TensorView{}), InvalidArgument, "bias");
  auto flat_bias = view_of(in.bias.data.data(), DType::float32, {3 * c.H});
  CHECK_THROWS_AS(Stream(cell, DType::float32, 2, in.kernel.view(), in.recurrent_kernel.view(),
                         flat_bias), InvalidArgument, "bias");

  Stream s(cell, DType::float32, 2, in.kernel.view(), in.recurrent_kernel.view(), in.bias.view());
  Array<float> x({2, 4}), out({2, 5}), wrong({3, 4}), seq({2, 3, 5});
  CHECK_NOTHROW(s.step(x.view(), out.view()));
  CHECK_THROWS_AS(s.step(wrong.view(), out.view()), InvalidArgument, "x_t");
  CHECK_THROWS_AS(s.step(x.view(), x.view()), InvalidArgument, "output");
  Array<double> x64({2, 4});
  CHECK_THROWS_AS(s.step(x64.view(), out.view()), TypeMismatch, "x_t");
  CHECK_THROWS_AS(s.step(x.view(), view_of(x.data.data(), DType::float32, {2, 5})),
                  InvalidArgument, "");
  CHECK_THROWS_AS(s.run(x.view(), out.view()), InvalidArgument, "x");
  CHECK_THROWS_AS(s.run(in.x.view(), x.view()), InvalidArgument, "output");
  CHECK_NOTHROW(s.run(in.x.view(), seq.view()));
  Array<std::uint8_t> mask({2, 2}, 1);
  CHECK_THROWS_AS(s.run(in.x.view(), seq.view(), mask.view()), InvalidArgument, "mask");
  Array<float> fmask({2, 3});
  CHECK_THROWS_AS(s.run(in.x.view(), seq.view(), fmask.view()), TypeMismatch, "mask");
  CHECK_THROWS_AS(s.set_states(x.view()), InvalidArgument, "h");
  CHECK_THROWS_AS(s.set_states(out.view(), out.view()), InvalidArgument, "c");
}
