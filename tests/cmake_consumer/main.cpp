// One LSTM layer's forward pass through the installed rnnkit package, checked against the LSTM
// equations computed here in double precision. Exits 0 when they agree.
#include <rnnkit/rnnkit.h>
#include <rnnkit/version.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <vector>

namespace {

double sigmoid(double v) { return 1.0 / (1.0 + std::exp(-v)); }

}  // namespace

int main() {
  const std::int64_t B = 3, T = 5, I = 4, H = 6, G = 4;
  rnnkit::CellSpec cell;  // LSTM, tanh / sigmoid, with bias: Keras' defaults
  cell.kind = rnnkit::CellKind::lstm;
  cell.input_size = I;
  cell.units = H;

  // Deterministic inputs and weights in the Keras layout (gate order i, f, c, o).
  std::vector<float> x(B * T * I), kernel(I * G * H), recurrent(H * G * H), bias(G * H);
  std::uint32_t seed = 12345u;
  auto next = [&seed]() {
    seed = seed * 1664525u + 1013904223u;
    return static_cast<float>((seed >> 8) & 0xFFFF) / 65536.0f - 0.5f;
  };
  for (auto& v : x) v = 2.0f * next();
  for (auto& v : kernel) v = next();
  for (auto& v : recurrent) v = next();
  for (auto& v : bias) v = 0.2f * next();

  rnnkit::SequenceOptions options;
  options.return_sequences = true;
  const auto sizes = rnnkit::forward_memory(cell, options, rnnkit::DType::float32, B, T);
  std::vector<std::uint8_t> workspace(static_cast<std::size_t>(sizes.workspace_bytes));
  auto* ws = workspace.data();
  std::vector<float> output(B * T * H), final_h(B * H), final_c(B * H);

  rnnkit::ForwardArgs args;
  args.x = rnnkit::make_view(x.data(), rnnkit::DType::float32, {B, T, I});
  args.kernel = rnnkit::make_view(kernel.data(), rnnkit::DType::float32, {I, G * H});
  args.recurrent_kernel = rnnkit::make_view(recurrent.data(), rnnkit::DType::float32, {H, G * H});
  args.bias = rnnkit::make_view(bias.data(), rnnkit::DType::float32, {G * H});
  args.output = rnnkit::make_view(output.data(), rnnkit::DType::float32, {B, T, H});
  args.final_h = rnnkit::make_view(final_h.data(), rnnkit::DType::float32, {B, H});
  args.final_c = rnnkit::make_view(final_c.data(), rnnkit::DType::float32, {B, H});
  args.workspace = rnnkit::make_view(ws, rnnkit::DType::uint8, {sizes.workspace_bytes});
  rnnkit::forward(cell, options, args);

  // The reference: i, f, c~, o = act(x W + h R + b); c = f c + i c~; h = o tanh(c).
  double worst = 0.0;
  for (std::int64_t b = 0; b < B; ++b) {
    std::vector<double> h(H, 0.0), c(H, 0.0), z(G * H);
    for (std::int64_t t = 0; t < T; ++t) {
      for (std::int64_t j = 0; j < G * H; ++j) {
        double acc = bias[j];
        for (std::int64_t k = 0; k < I; ++k) acc += double(x[(b * T + t) * I + k]) * kernel[k * G * H + j];
        for (std::int64_t k = 0; k < H; ++k) acc += h[k] * recurrent[k * G * H + j];
        z[j] = acc;
      }
      for (std::int64_t u = 0; u < H; ++u) {
        const double in = sigmoid(z[u]), forget = sigmoid(z[H + u]);
        const double cand = std::tanh(z[2 * H + u]), out = sigmoid(z[3 * H + u]);
        c[u] = forget * c[u] + in * cand;
        h[u] = out * std::tanh(c[u]);
        worst = std::fmax(worst, std::fabs(h[u] - output[(b * T + t) * H + u]));
      }
    }
    for (std::int64_t u = 0; u < H; ++u) {
      worst = std::fmax(worst, std::fabs(h[u] - final_h[b * H + u]));
      worst = std::fmax(worst, std::fabs(c[u] - final_c[b * H + u]));
    }
  }
  std::printf("rnnkit %s (%d.%d.%d): LSTM forward B=%lld T=%lld I=%lld H=%lld, "
              "max |rnnkit - reference| = %.3g, threads %d, ISA level %s\n",
              RNNKIT_VERSION_STRING, RNNKIT_VERSION_MAJOR, RNNKIT_VERSION_MINOR,
              RNNKIT_VERSION_PATCH, static_cast<long long>(B), static_cast<long long>(T),
              static_cast<long long>(I), static_cast<long long>(H), worst,
              rnnkit::get_num_threads(), rnnkit::cpu_isa().c_str());
  if (!(worst < 1e-5)) {
    std::fprintf(stderr, "FAILED: rnnkit's LSTM forward differs from the equations by %g\n", worst);
    return 1;
  }
  // A bad argument is refused with rnnkit's exception type.
  try {
    args.kernel = rnnkit::make_view(kernel.data(), rnnkit::DType::float32, {I + 1, G * H});
    rnnkit::forward(cell, options, args);
    std::fprintf(stderr, "FAILED: a kernel of the wrong shape was accepted\n");
    return 1;
  } catch (const rnnkit::InvalidArgument& error) {
    std::printf("refused as expected: %s\n", error.what());
  }
  return 0;
}
