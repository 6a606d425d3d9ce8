// rnnkit::Stream with 16-bit weight storage (StreamOptions::weight_format = bfloat16 / float16):
// - the packed weights decode to the nearest 16-bit value, ties to even (hand-computed cases:
//   ties, subnormal halves, the largest half, carries into the exponent);
// - a 16-bit stream gives, bit for bit, what forward() (float32) gives with the weights rounded to
//   the format beforehand, for every cell, B = 1 and B > 1, SIMD tails, several k passes, step()
//   and run(), masked runs, set_weights; the rounding here is this file's own (in double, from
//   the definition), not the library's;
// - against the unrounded weights (forward in float64) the outputs stay within the first-order
//   bound that docs/cpp.md states;
// - the checks: an unknown format, a float64 stream, weights the format cannot hold.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "test_harness.h"
#include "test_util.h"

using namespace rnnkit_test;
using rnnkit::InvalidArgument;
using rnnkit::Stream;
using rnnkit::StreamOptions;
using rnnkit::WeightFormat;

namespace {

// Significand bits (with the implicit one) and the smallest normal exponent of each format.
struct Format {
  WeightFormat format;
  const char* name;
  int significand_bits;
  int min_exponent;
  double unit_roundoff;  // 2^-significand_bits: the largest relative rounding error (normals)
};
const Format kFormats[] = {{WeightFormat::bfloat16, "bfloat16", 8, -126, 0x1p-8},
                           {WeightFormat::float16, "float16", 11, -14, 0x1p-11}};

// The nearest value of the format (ties to even), in double: the value's quantum is 2 to the
// power (exponent of its leading bit, at least the smallest normal one) - (significand bits - 1);
// nearbyint rounds ties to even in the default rounding mode.
double round_to(const Format& f, double v) {
  if (v == 0.0) return v;
  int e = 0;
  std::frexp(v, &e);  // v = m * 2^e, 0.5 <= |m| < 1: the leading bit is worth 2^(e - 1)
  const int lead = std::max(e - 1, f.min_exponent);
  const double quantum = std::ldexp(1.0, lead - (f.significand_bits - 1));
  return std::nearbyint(v / quantum) * quantum;
}

Array<float> rounded(const Format& f, const Array<float>& a) {
  Array<float> out = a;
  for (float& v : out.data) v = static_cast<float>(round_to(f, v));
  return out;
}

template <typename T>
bool same_bits(const std::vector<T>& a, const T* b, std::size_t n) {
  return a.size() >= n && std::memcmp(a.data(), b, n * sizeof(T)) == 0;
}

StreamOptions with_format(WeightFormat format, bool zero_output = false) {
  StreamOptions o;
  o.weight_format = format;
  o.zero_output_for_mask = zero_output;
  return o;
}

Stream make_stream(const Config& c, Inputs<float>& in, const StreamOptions& o) {
  Stream s(c.cell(), DType::float32, c.B, in.kernel.view(), in.recurrent_kernel.view(),
           in.bias.view(), o);
  if (c.initial_states) s.set_states(in.initial_h.view(), in.initial_c.view());
  return s;
}

Array<float> time_slice(const Config& c, const Array<float>& x, std::int64_t t0, std::int64_t n) {
  Array<float> out({c.B, n, c.I});
  for (std::int64_t b = 0; b < c.B; ++b)
    std::memcpy(out.data.data() + b * n * c.I, x.data.data() + (b * c.T + t0) * c.I,
                n * c.I * sizeof(float));
  return out;
}

// max_j sum_k |w[k, j]| of a [K, N] matrix.
double max_column_abs_sum(const Array<float>& w) {
  const std::int64_t K = w.shape[0], N = w.shape[1];
  double best = 0;
  for (std::int64_t j = 0; j < N; ++j) {
    double s = 0;
    for (std::int64_t k = 0; k < K; ++k) s += std::fabs(w.data[k * N + j]);
    best = std::max(best, s);
  }
  return best;
}

double max_abs(const std::vector<float>& v) {
  double m = 0;
  for (float e : v) m = std::max(m, std::fabs(double(e)));
  return m;
}

void check_format(Config c, const Format& f) {
  c.return_sequences = true;
  Inputs<float> in = make_inputs(c).as<float>();
  Inputs<float> in_rounded = in;
  in_rounded.kernel = rounded(f, in.kernel);
  in_rounded.recurrent_kernel = rounded(f, in.recurrent_kernel);
  Outputs<float> ref = run_forward<float>(c, in_rounded, false);
  const std::string name = c.name + " " + f.name;

  // step() one timestep at a time, from the unrounded weights.
  Stream s = make_stream(c, in, with_format(f.format));
  CHECK(s.weight_format() == f.format);
  Array<float> out({c.B, c.H}), all({c.B, c.T, c.H});
  bool same = true;
  for (std::int64_t t = 0; t < c.T; ++t) {
    Array<float> x = time_slice(c, in.x, t, 1);
    s.step(view_of(x.data.data(), DType::float32, {c.B, c.I}), out.view());
    for (std::int64_t b = 0; b < c.B; ++b) {
      same = same && std::memcmp(out.data.data() + b * c.H,
                                 ref.output.data.data() + (b * c.T + t) * c.H,
                                 c.H * sizeof(float)) == 0;
      std::memcpy(all.data.data() + (b * c.T + t) * c.H, out.data.data() + b * c.H,
                  c.H * sizeof(float));
    }
  }
  CHECK_MSG(same, name << ": step() differs from forward with rounded weights");
  Array<float> h({c.B, c.H}), cc({c.B, c.H});
  s.states(h.view(), c.lstm() ? cc.view() : TensorView{});
  CHECK_MSG(same_bits(h.data, ref.final_h.data.data(), h.size()), name << ": final h differs");
  if (c.lstm())
    CHECK_MSG(same_bits(cc.data, ref.final_c.data.data(), cc.size()), name << ": final c differs");

  // run() over everything.
  Stream r = make_stream(c, in, with_format(f.format));
  Array<float> seq({c.B, c.T, c.H});
  r.run(in.x.view(), seq.view());
  CHECK_MSG(same_bits(seq.data, ref.output.data.data(), seq.size()), name << ": run() differs");

  // Against the unrounded weights in float64: per step, rounding the weights moves each
  // pre-activation by at most u * (sum_k |x_k W_kj| + sum_k |h_k R_kj|) (first order); the
  // activations are at most 1-Lipschitz and the recurrence is contractive here, so over T steps
  // the outputs move by at most 2 * T * u * (max_j sum_k |W_kj| max|x| + max_j sum_k |R_kj|
  // max|h|), plus float32's own rounding.
  Inputs<double> in64 = make_inputs(c);
  Outputs<double> ref64 = run_forward<double>(c, in64, false);
  double max_h = std::max(max_abs(in.initial_h.data), 1.0);
  for (double v : ref64.output.data) max_h = std::max(max_h, std::fabs(v));
  const double bound = 2.0 * c.T * f.unit_roundoff *
                           (max_column_abs_sum(in.kernel) * max_abs(in.x.data) +
                            max_column_abs_sum(in.recurrent_kernel) * max_h) +
                       1e-4;
  double worst = 0;
  for (std::size_t i = 0; i < all.size(); ++i)
    worst = std::max(worst, std::fabs(double(all.data[i]) - ref64.output.data[i]));
  CHECK_MSG(worst <= bound, name << ": max |16-bit - float64| = " << worst << " > bound " << bound);
  // ... and the rounding does change something (the formats are not float32 in disguise).
  Outputs<float> ref32 = run_forward<float>(c, in, false);
  CHECK_MSG(!same_bits(seq.data, ref32.output.data.data(), seq.size()),
            name << ": equals the unrounded float32 result");
}

std::vector<Config> format_configs() {
  // The bench size; a SIMD tail; k passes of both products (I > 256, H > 128); batches.
  return cell_option_grid(
      {{1, 5, 64, 64}, {3, 6, 7, 19}, {2, 4, 300, 40}, {2, 3, 9, 150}, {4, 2, 12, 40}}, 500);
}

// A linear SimpleRNN without bias, I = 1, x = 1, h0 = 0: its first output is the packed kernel
// row as the stream reads it back (0 + 1 * w, exact).
std::vector<float> decoded(WeightFormat format, const std::vector<float>& values) {
  const std::int64_t H = static_cast<std::int64_t>(values.size());
  rnnkit::CellSpec cell;
  cell.kind = CellKind::simple_rnn;
  cell.input_size = 1;
  cell.units = H;
  cell.activation = Activation::linear;
  cell.use_bias = false;
  Array<float> kernel({1, H}), recurrent({H, H}, 0.0f), x({1, 1}, 1.0f), out({1, H});
  kernel.data = values;
  Stream s(cell, DType::float32, 1, kernel.view(), recurrent.view(), TensorView{},
           with_format(format));
  s.step(x.view(), out.view());
  return out.data;
}

}  // namespace

TEST_CASE(stream_16bit_weights_round_to_nearest_even) {
  // {value, nearest float16, nearest bfloat16}, worked out by hand.
  const double p = 0x1p-24;  // the smallest float16 subnormal
  const std::vector<std::vector<double>> cases = {
      {1.0, 1.0, 1.0},
      {1.0 + 0x1p-11, 1.0, 1.0},                        // float16 tie: to the even 1.0
      {1.0 + 3 * 0x1p-11, 1.0 + 0x1p-9, 1.0},           // float16 tie: up to the even neighbour
      {1.0 + 0x1p-8, 1.0 + 0x1p-8, 1.0},                // bfloat16 tie: to 1.0
      {1.0 + 3 * 0x1p-8, 1.0 + 3 * 0x1p-8, 1.0 + 0x1p-6},  // bfloat16 tie: up
      {-0.1f, -0.0999755859375, -0.10009765625},
      {65504.0, 65504.0, 65536.0},
      {65519.0, 65504.0, 65536.0},
      {0.5 * p, 0.0, 0.5 * p},                          // float16 tie between 0 and p: 0
      {1.5 * p, 2 * p, 1.5 * p},                        // float16 tie between p and 2p: 2p
      {-3 * p, -3 * p, -3 * p},                         // a float16 subnormal
      {0x1p-14 - 0.5 * p, 0x1p-14, 0x1p-14},            // carries into the smallest normal
      {0x1p-14, 0x1p-14, 0x1p-14},
      {1e-9, 0.0, static_cast<double>(0x1.12p-30f)},    // below float16's range
      {1000.4, 1000.5, 1000.0},
      {-2.0f / 3.0f, -0.66650390625, -0.66796875},
      {3.0e38, 65504.0, 0.0},                           // (bfloat16 only: refused for float16)
  };
  for (int which = 0; which < 2; ++which) {
    const Format& f = kFormats[which];
    std::vector<float> values, expected;
    for (const auto& c : cases) {
      if (f.format == WeightFormat::float16 && c[0] > 65519.0) continue;
      values.push_back(static_cast<float>(c[0]));
      expected.push_back(static_cast<float>(f.format == WeightFormat::float16 ? c[1] : c[2]));
    }
    expected.back() = f.format == WeightFormat::bfloat16
                          ? static_cast<float>(round_to(f, static_cast<float>(3.0e38)))
                          : expected.back();
    // Fill up to 40 columns (two full panels and a tail at every ISA level) with values the
    // reference rounds.
    for (int i = 0; values.size() < 40; ++i) {
      const float v = static_cast<float>(std::sin(1.7 * i + 0.3) * std::pow(2.0, (i % 13) - 6));
      values.push_back(v);
      expected.push_back(static_cast<float>(round_to(f, v)));
    }
    const std::vector<float> got = decoded(f.format, values);
    for (std::size_t j = 0; j < values.size(); ++j) {
      CHECK_MSG(got[j] == expected[j] && round_to(f, values[j]) == expected[j],
                f.name << " of " << values[j] << ": stream read " << got[j] << ", expected "
                       << expected[j] << " (reference " << round_to(f, values[j]) << ")");
    }
  }
}

TEST_CASE(stream_16bit_equals_forward_with_rounded_weights) {
  for (const Config& c : format_configs())
    for (const Format& f : kFormats) check_format(c, f);
}

TEST_CASE(stream_16bit_masked_run_and_set_weights) {
  for (const Format& f : kFormats) {
    for (bool zero_output : {false, true}) {
      for (CellKind kind : {CellKind::lstm, CellKind::gru, CellKind::simple_rnn}) {
        const Config c = masked_stream_config(kind, zero_output);
        Inputs<float> in = make_inputs(c).as<float>();
        Inputs<float> in_rounded = in;
        in_rounded.kernel = rounded(f, in.kernel);
        in_rounded.recurrent_kernel = rounded(f, in.recurrent_kernel);
        Outputs<float> ref = run_forward<float>(c, in_rounded, false);
        Stream s = make_stream(c, in, with_format(f.format, zero_output));
        Array<float> out({c.B, c.T, c.H});
        s.run(in.x.view(), out.view(), in.mask.view());
        CHECK_MSG(same_bits(out.data, ref.output.data.data(), out.size()),
                  f.name << " " << cell_kind_name(kind) << " masked run differs (zero_output "
                         << zero_output << ")");
      }
    }
    // set_weights repacks in the stream's format: same as a fresh stream of the new weights.
    Config c;
    c.kind = CellKind::lstm;
    c.B = 2;
    c.T = 4;
    c.I = 5;
    c.H = 24;
    c.initial_states = false;
    Inputs<float> a = make_inputs(c).as<float>();
    Config d = c;
    d.seed = 77;
    Inputs<float> b = make_inputs(d).as<float>();
    Stream s = make_stream(c, a, with_format(f.format));
    Array<float> first({c.B, c.T, c.H}), again({c.B, c.T, c.H}), fresh_out({c.B, c.T, c.H});
    s.run(a.x.view(), first.view());
    s.set_weights(b.kernel.view(), b.recurrent_kernel.view(), b.bias.view());
    s.reset_states();
    s.run(a.x.view(), again.view());
    Stream fresh = make_stream(c, b, with_format(f.format));
    fresh.run(a.x.view(), fresh_out.view());
    CHECK(again.data == fresh_out.data);
    CHECK(again.data != first.data);
  }
}

TEST_CASE(stream_16bit_errors_name_the_argument) {
  Config c;
  c.kind = CellKind::lstm;
  c.B = 1;
  c.I = 3;
  c.H = 4;
  Inputs<float> in = make_inputs(c).as<float>();
  Inputs<double> in64 = make_inputs(c);
  const auto cell = c.cell();
  auto make = [&](Array<float>& k, Array<float>& r, WeightFormat format) {
    return Stream(cell, DType::float32, 1, k.view(), r.view(), in.bias.view(), with_format(format));
  };
  // A value outside the enum, and names.
  CHECK_THROWS_AS(make(in.kernel, in.recurrent_kernel, static_cast<WeightFormat>(7)),
                  InvalidArgument, "weight_format");
  CHECK(rnnkit::weight_format_from_name("bfloat16") == WeightFormat::bfloat16);
  CHECK(std::string(rnnkit::weight_format_name(WeightFormat::float16)) == "float16");
  CHECK_THROWS_AS(rnnkit::weight_format_from_name("bf16"), InvalidArgument, "weight_format");
  // A float64 stream stores float64 weights.
  for (WeightFormat format : {WeightFormat::bfloat16, WeightFormat::float16}) {
    CHECK_THROWS_AS(Stream(cell, DType::float64, 1, in64.kernel.view(),
                           in64.recurrent_kernel.view(), in64.bias.view(), with_format(format)),
                    InvalidArgument, "float64");
  }
  CHECK_NOTHROW(Stream(cell, DType::float64, 1, in64.kernel.view(), in64.recurrent_kernel.view(),
                       in64.bias.view(), with_format(WeightFormat::float32)));
  // Weights whose rounding is not finite.
  Array<float> big = in.kernel, nan = in.recurrent_kernel, edge = in.kernel;
  big.data[5] = 65520.0f;  // rounds to infinity in float16 (a tie, to the even exponent)
  edge.data[5] = -65519.0f;
  nan.data[2] = std::numeric_limits<float>::quiet_NaN();
  CHECK_THROWS_AS(make(big, in.recurrent_kernel, WeightFormat::float16), InvalidArgument, "kernel");
  CHECK_NOTHROW(make(big, in.recurrent_kernel, WeightFormat::bfloat16));
  CHECK_NOTHROW(make(edge, in.recurrent_kernel, WeightFormat::float16));
  CHECK_NOTHROW(make(big, in.recurrent_kernel, WeightFormat::float32));
  for (WeightFormat format : {WeightFormat::bfloat16, WeightFormat::float16})
    CHECK_THROWS_AS(make(in.kernel, nan, format), InvalidArgument, "recurrent_kernel");
  Array<float> huge = in.kernel;
  huge.data[0] = std::numeric_limits<float>::max();  // rounds past bfloat16's largest finite
  CHECK_THROWS_AS(make(huge, in.recurrent_kernel, WeightFormat::bfloat16), InvalidArgument,
                  "kernel");
  // set_weights checks too, before touching the packed weights.
  Stream s = make(in.kernel, in.recurrent_kernel, WeightFormat::float16);
  Array<float> x({1, 3}, 0.5f), before({1, 4}), after({1, 4});
  s.step(x.view(), before.view());
  CHECK_THROWS_AS(s.set_weights(big.view(), in.recurrent_kernel.view(), in.bias.view()),
                  InvalidArgument, "kernel");
  s.reset_states();
  s.step(x.view(), after.view());
  CHECK(before.data == after.data);
}

// run() computes the input products of a chunk of steps at once (up to 32 steps, fewer for wide
// layers or batches): runs over several chunks and a partial last one, with and without a mask,
// equal forward (float32: the weights as given; bfloat16: rounded first) bit for bit.
TEST_CASE(stream_run_over_several_chunks_matches_forward) {
  struct Case {
    CellKind kind;
    bool reset_after;
    std::int64_t B, T, I, H;
  };
  const Case cases[] = {{CellKind::lstm, true, 2, 70, 9, 150},     // 6 steps per chunk
                        {CellKind::simple_rnn, true, 1, 100, 5, 8},  // 32 per chunk
                        {CellKind::gru, false, 3, 45, 12, 40},
                        {CellKind::gru, true, 1, 33, 64, 64}};
  for (const Case& k : cases) {
    for (bool masked : {false, true}) {
      for (WeightFormat format : {WeightFormat::float32, WeightFormat::bfloat16}) {
        Config c;
        c.kind = k.kind;
        c.reset_after = k.reset_after;
        c.B = k.B;
        c.T = k.T;
        c.I = k.I;
        c.H = k.H;
        c.return_sequences = true;
        c.seed = 900 + k.T;
        if (masked) {
          c.mask.assign(c.B * c.T, 1);
          for (std::size_t i = 0; i < c.mask.size(); i += 7) c.mask[i] = 0;
        }
        Inputs<float> in = make_inputs(c).as<float>();
        Inputs<float> in_ref = in;
        if (format == WeightFormat::bfloat16) {
          in_ref.kernel = rounded(kFormats[0], in.kernel);
          in_ref.recurrent_kernel = rounded(kFormats[0], in.recurrent_kernel);
        }
        Outputs<float> ref = run_forward<float>(c, in_ref, false);
        Stream s = make_stream(c, in, with_format(format));
        Array<float> out({c.B, c.T, c.H});
        s.run(in.x.view(), out.view(), masked ? in.mask.view() : TensorView{});
        CHECK_MSG(same_bits(out.data, ref.output.data.data(), out.size()),
                  cell_kind_name(k.kind) << " T=" << k.T << " H=" << k.H << " masked " << masked
                                         << " " << rnnkit::weight_format_name(format)
                                         << ": run() over several chunks differs");
        Array<float> h({c.B, c.H});
        s.states(h.view());
        CHECK(same_bits(h.data, ref.final_h.data.data(), h.size()));
      }
    }
  }
}
