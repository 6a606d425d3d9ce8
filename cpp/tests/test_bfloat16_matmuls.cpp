// SequenceOptions::bfloat16_matmuls: where cpu_amx_bf16() the GEMMs multiply bfloat16 roundings of
// their factors and sum in float32; elsewhere the option changes nothing. float64 refuses it.
#include <cmath>
#include <cstdint>
#include <cstring>

#include "rnnkit/isa.h"
#include "test_harness.h"
#include "test_util.h"

using namespace rnnkit_test;

namespace {

// float -> bfloat16 -> float, to nearest with ties to even (finite values).
float round_bf16(float f) {
  std::uint32_t u;
  std::memcpy(&u, &f, sizeof(u));
  u = (u + 0x7fffu + ((u >> 16) & 1u)) & 0xffff0000u;
  float r;
  std::memcpy(&r, &u, sizeof(r));
  return r;
}

void round_all(Array<double>& a) {
  for (double& v : a.data) v = round_bf16(static_cast<float>(v));
}

}  // namespace

// One linear step from a given state: output = x W + h0 R + b over the factors the option
// multiplies (bfloat16 roundings with AMX, the float32 values without), summed in float32.
TEST_CASE(bfloat16_matmuls_one_step_is_the_product_of_the_rounded_factors) {
  const bool amx = rnnkit::cpu_amx_bf16();
  const GridSize sizes[] = {{1, 1, 5, 3}, {17, 1, 70, 48}, {40, 1, 33, 100}, {32, 1, 64, 64}};
  for (const GridSize& s : sizes) {
    Config c = sequence_config(CellKind::simple_rnn, s.B, s.T, s.I, s.H);
    c.activation = Activation::linear;
    c.bfloat16_matmuls = true;
    Inputs<double> exact = make_inputs(c);
    Inputs<float> in = exact.as<float>();
    Inputs<double> factors = in.as<double>();  // the float32 values, exactly
    if (amx) {
      round_all(factors.x);
      round_all(factors.kernel);
      round_all(factors.recurrent_kernel);
      round_all(factors.initial_h);
    }
    Outputs<double> want;
    reference_forward(c, factors, want);
    const Outputs<float> got = run_forward(c, in, false);
    for (std::size_t i = 0; i < want.output.size(); ++i) {
      CHECK_CLOSE(got.output.data[i], want.output.data[i], 1e-5, 1e-5);
    }
  }
}

// Over sequences with masks, dropout (shared and per gate), go_backwards and every cell variant:
// within bfloat16's error of the float32 call (different where AMX runs, the same bits where it
// does not), and the reserve serves the float32 backward.
TEST_CASE(bfloat16_matmuls_sequences_stay_near_float32) {
  const bool amx = rnnkit::cpu_amx_bf16();
  Config base;
  base.return_sequences = true;
  base.mask = {};
  bool any_difference = false;
  for (Config c : cell_option_grid({{5, 6, 13, 40}, {34, 4, 20, 33}}, 900, base)) {
    c.dropout = c.seed % 3 == 0 ? Dropout::shared : (c.seed % 3 == 1 ? Dropout::per_gate
                                                                       : Dropout::none);
    c.go_backwards = c.seed % 2 == 0;
    if (c.B == 5) c.mask = {1, 1, 1, 1, 1, 1,  1, 1, 1, 0, 0, 0,  0, 0, 1, 1, 1, 1,
                            1, 0, 1, 0, 1, 1,  1, 1, 1, 1, 1, 1};
    Inputs<float> in = make_inputs(c).as<float>();
    const Outputs<float> plain = run_forward(c, in, false);
    c.bfloat16_matmuls = true;
    Outputs<float> mixed = run_forward(c, in, true);
    double worst = 0;
    for (std::size_t i = 0; i < plain.output.size(); ++i) {
      worst = std::fmax(worst, std::fabs(double(plain.output.data[i]) - mixed.output.data[i]));
    }
    // |x| <= 1, weights ~ U(-1, 1) / sqrt(fan_in): each product's relative rounding is at most
    // 2 * 2^-9 of sum |x w| <~ 1, a few steps carried by contractive recurrences.
    CHECK_MSG(worst <= 0.03, c.name + ": max |bfloat16 - float32| = " + std::to_string(worst));
    if (!amx) CHECK_MSG(worst == 0.0, c.name + ": without AMX the option must change nothing");
    any_difference = any_difference || worst > 0;
    const Gradients<float> g = run_backward(c, in, mixed);
    for (float v : g.d_kernel.data) CHECK(std::isfinite(v));
  }
  if (amx) CHECK_MSG(any_difference, "with AMX the products must be bfloat16 ones");
}

TEST_CASE(bfloat16_matmuls_refused_for_float64) {
  Config c = sequence_config(CellKind::lstm, 2, 3, 4, 5);
  c.bfloat16_matmuls = true;
  Inputs<double> in = make_inputs(c);
  SequenceOptions plain = c.options(false);
  plain.bfloat16_matmuls = false;
  Outputs<double> out = make_outputs<double>(c, false);
  auto sizes = rnnkit::forward_memory(c.cell(), plain, DType::float64, c.B, c.T);
  auto ws = garbage_workspace(sizes.workspace_bytes);
  rnnkit::ForwardArgs a = forward_args(in, out);
  a.workspace = workspace_view(ws, sizes.workspace_bytes);
  CHECK_THROWS_AS(rnnkit::forward(c.cell(), c.options(false), a), rnnkit::InvalidArgument,
                  "bfloat16_matmuls needs float32");
}
