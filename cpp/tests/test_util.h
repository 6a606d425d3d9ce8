// Shared helpers of the C++ tests: a small problem (inputs, weights, masks) for one recurrent layer,
// the calls into rnnkit::forward / rnnkit::backward with memory sized by forward_memory /
// backward_memory, and a plain reference forward written from the Keras equations.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "rnnkit/rnnkit.h"

namespace rnnkit_test {

using rnnkit::Activation;
using rnnkit::CellKind;
using rnnkit::CellSpec;
using rnnkit::DType;
using rnnkit::SequenceOptions;
using rnnkit::TensorView;
using Shape = std::vector<std::int64_t>;

template <typename T>
constexpr DType dtype_of();
template <>
constexpr DType dtype_of<float>() { return DType::float32; }
template <>
constexpr DType dtype_of<double>() { return DType::float64; }
template <>
constexpr DType dtype_of<std::uint8_t>() { return DType::uint8; }

inline std::int64_t product(const Shape& shape) {
  std::int64_t n = 1;
  for (auto extent : shape) n *= extent;
  return n;
}

// A C-contiguous view with a run-time shape.
inline TensorView view_of(void* data, DType dtype, const Shape& shape) {
  TensorView view;
  view.data = data;
  view.dtype = dtype;
  view.rank = static_cast<int>(shape.size());
  std::int64_t stride = 1;
  for (int d = view.rank - 1; d >= 0; --d) {
    view.shape[d] = shape[d];
    view.strides[d] = stride;
    stride *= shape[d];
  }
  return view;
}

// An owned contiguous array. An empty shape with `absent` set means "not passed".
template <typename T>
struct Array {
  Shape shape;
  std::vector<T> data;
  bool absent = true;

  Array() = default;
  explicit Array(Shape s, T fill = T(0)) : shape(std::move(s)), data(product(shape), fill), absent(false) {}

  TensorView view() {
    if (absent) return TensorView{};
    return view_of(data.data(), dtype_of<T>(), shape);
  }
  std::size_t size() const { return data.size(); }
};

template <typename To, typename From>
Array<To> cast(const Array<From>& a) {
  Array<To> out;
  out.shape = a.shape;
  out.absent = a.absent;
  out.data.assign(a.data.begin(), a.data.end());
  return out;
}

enum class Dropout { none, shared, per_gate };

// One configuration of a layer and its call.
struct Config {
  std::string name;
  CellKind kind = CellKind::lstm;
  bool reset_after = true;
  bool use_bias = true;
  Activation activation = Activation::tanh;
  Activation recurrent_activation = Activation::sigmoid;
  std::int64_t B = 2, T = 3, I = 3, H = 2;
  bool go_backwards = false;
  bool return_sequences = false;
  bool zero_output_for_mask = false;
  bool initial_states = true;
  std::vector<std::uint8_t> mask;  // B*T entries, or empty for no mask
  Dropout dropout = Dropout::none;
  bool bfloat16_matmuls = false;
  std::uint64_t seed = 1;

  CellSpec cell() const {
    CellSpec spec;
    spec.kind = kind;
    spec.input_size = I;
    spec.units = H;
    spec.activation = activation;
    spec.recurrent_activation = recurrent_activation;
    spec.use_bias = use_bias;
    spec.reset_after = reset_after;
    return spec;
  }
  SequenceOptions options(bool training) const {
    SequenceOptions o;
    o.go_backwards = go_backwards;
    o.return_sequences = return_sequences;
    o.zero_output_for_mask = zero_output_for_mask;
    o.training = training;
    o.bfloat16_matmuls = bfloat16_matmuls;
    return o;
  }
  int G() const { return cell().gates(); }
  bool lstm() const { return kind == CellKind::lstm; }
  bool gru_two_biases() const { return kind == CellKind::gru && reset_after; }
  Shape output_shape() const { return return_sequences ? Shape{B, T, H} : Shape{B, H}; }
};

// A `kind` cell over (B, T, I) inputs with H units, returning every step's output; the other
// fields at their defaults.
inline Config sequence_config(CellKind kind, std::int64_t B, std::int64_t T, std::int64_t I,
                              std::int64_t H) {
  Config c;
  c.kind = kind;
  c.B = B;
  c.T = T;
  c.I = I;
  c.H = H;
  c.return_sequences = true;
  return c;
}

// (B, T, I, H) of one grid entry.
struct GridSize {
  std::int64_t B, T, I, H;
};

// Every fused cell variant (SimpleRNN, GRU with reset_after true and false, LSTM) at each size,
// each three ways: with bias and initial states; without bias; without initial states and with
// relu / hard_sigmoid. Seeds count up from first_seed; `base` gives the other fields.
inline std::vector<Config> cell_option_grid(const std::vector<GridSize>& sizes, int first_seed,
                                            const Config& base = Config{}) {
  struct Variant {
    const char* name;
    CellKind kind;
    bool reset_after;
  };
  const Variant variants[] = {{"simple_rnn", CellKind::simple_rnn, true},
                              {"gru", CellKind::gru, true},
                              {"gru_reset_before", CellKind::gru, false},
                              {"lstm", CellKind::lstm, true}};
  std::vector<Config> out;
  int seed = first_seed;
  for (const Variant& v : variants) {
    for (const GridSize& s : sizes) {
      for (int option = 0; option < 3; ++option) {
        Config c = base;
        c.kind = v.kind;
        c.reset_after = v.reset_after;
        c.B = s.B;
        c.T = s.T;
        c.I = s.I;
        c.H = s.H;
        c.seed = seed++;
        c.use_bias = option != 1;
        c.initial_states = option != 2;
        if (option == 2) {
          c.activation = Activation::relu;
          c.recurrent_activation = Activation::hard_sigmoid;
        }
        c.name = std::string(v.name) + " B=" + std::to_string(s.B) + " I=" +
                 std::to_string(s.I) + " H=" + std::to_string(s.H) + " option " +
                 std::to_string(option);
        out.push_back(c);
      }
    }
  }
  return out;
}

// The inputs of one call, plus the loss weights Wo, Wh, Wc of L = sum(output*Wo) + sum(h*Wh)
// (+ sum(c*Wc)).
template <typename T>
struct Inputs {
  Array<T> x, kernel, recurrent_kernel, bias, initial_h, initial_c, input_dropout, recurrent_dropout;
  Array<std::uint8_t> mask;
  Array<T> w_output, w_h, w_c;

  template <typename U>
  Inputs<U> as() const {
    Inputs<U> o;
    o.x = cast<U>(x);
    o.kernel = cast<U>(kernel);
    o.recurrent_kernel = cast<U>(recurrent_kernel);
    o.bias = cast<U>(bias);
    o.initial_h = cast<U>(initial_h);
    o.initial_c = cast<U>(initial_c);
    o.input_dropout = cast<U>(input_dropout);
    o.recurrent_dropout = cast<U>(recurrent_dropout);
    o.mask = mask;
    o.w_output = cast<U>(w_output);
    o.w_h = cast<U>(w_h);
    o.w_c = cast<U>(w_c);
    return o;
  }
};

// The masked case of the stream tests: B = 3 rows with real steps at the start, in the middle
// and at the end, T = 5, a SIMD tail (H = 21), every output returned.
inline Config masked_stream_config(CellKind kind, bool zero_output_for_mask) {
  Config c = sequence_config(kind, 3, 5, 6, 21);
  c.zero_output_for_mask = zero_output_for_mask;
  c.mask = {0, 1, 1, 0, 0,  1, 1, 0, 1, 1,  1, 0, 0, 0, 1};
  return c;
}

inline Inputs<double> make_inputs(const Config& c) {
  std::mt19937_64 rng(c.seed);
  std::uniform_real_distribution<double> uni(-1.0, 1.0);
  auto fill = [&](Array<double>& a, double scale) {
    for (auto& v : a.data) v = scale * uni(rng);
  };
  const std::int64_t G = c.G(), GH = G * c.H;
  Inputs<double> in;
  in.x = Array<double>({c.B, c.T, c.I});
  fill(in.x, 1.0);
  // Weights ~ U(-1, 1) / sqrt(fan_in): activations stay in their interesting range and the
  // recurrence stays contractive for larger H (no chaotic amplification of rounding).
  in.kernel = Array<double>({c.I, GH});
  fill(in.kernel, 1.0 / std::sqrt(double(c.I)));
  in.recurrent_kernel = Array<double>({c.H, GH});
  fill(in.recurrent_kernel, 1.0 / std::sqrt(double(c.H)));
  if (c.use_bias) {
    in.bias = c.gru_two_biases() ? Array<double>({2, GH}) : Array<double>({GH});
    fill(in.bias, 0.3);
  }
  if (c.initial_states) {
    in.initial_h = Array<double>({c.B, c.H});
    fill(in.initial_h, 0.5);
    if (c.lstm()) {
      in.initial_c = Array<double>({c.B, c.H});
      fill(in.initial_c, 0.5);
    }
  }
  if (!c.mask.empty()) {
    in.mask = Array<std::uint8_t>({c.B, c.T});
    in.mask.data = c.mask;
  }
  if (c.dropout != Dropout::none) {
    // Inverted-dropout multipliers for rate 0.25: 0 or 4/3, about one in four dropped.
    auto dropout_mask = [&](Array<double>& a) {
      for (auto& v : a.data) v = uni(rng) < -0.5 ? 0.0 : 4.0 / 3.0;
    };
    bool shared = c.dropout == Dropout::shared;
    in.input_dropout = shared ? Array<double>({c.B, c.I}) : Array<double>({G, c.B, c.I});
    in.recurrent_dropout = shared ? Array<double>({c.B, c.H}) : Array<double>({G, c.B, c.H});
    dropout_mask(in.input_dropout);
    dropout_mask(in.recurrent_dropout);
  }
  in.w_output = Array<double>(c.output_shape());
  fill(in.w_output, 1.0);
  in.w_h = Array<double>({c.B, c.H});
  fill(in.w_h, 1.0);
  if (c.lstm()) {
    in.w_c = Array<double>({c.B, c.H});
    fill(in.w_c, 1.0);
  }
  return in;
}

// A linear SimpleRNN of I = 8 inputs, without bias or initial states, whose input products are
// float32 denormals (x = 1e-20, W = 1e-21: x W = 8e-41; R = 0.5), and its inputs: what the tests
// of the kernels' flush-to-zero mode run.
struct DenormalCase {
  Config config;
  Inputs<float> inputs;
};

inline DenormalCase denormal_product_case(std::int64_t B, std::int64_t T, std::int64_t H) {
  Config c = sequence_config(CellKind::simple_rnn, B, T, 8, H);
  c.activation = Activation::linear;
  c.initial_states = false;
  c.use_bias = false;
  Inputs<double> exact = make_inputs(c);
  for (double& v : exact.x.data) v = 1e-20;
  for (double& v : exact.kernel.data) v = 1e-21;
  for (double& v : exact.recurrent_kernel.data) v = 0.5;
  return {c, exact.as<float>()};
}

template <typename T>
struct Outputs {
  Array<T> output, final_h, final_c, reserve;
};

template <typename T>
struct Gradients {
  Array<T> d_x, d_initial_h, d_initial_c, d_kernel, d_recurrent_kernel, d_bias;
};

template <typename T>
T not_written() {
  return std::numeric_limits<T>::quiet_NaN();
}

// Workspace filled with garbage, so a kernel that reads scratch before writing it shows up.
inline std::vector<std::uint8_t> garbage_workspace(std::int64_t bytes) {
  return std::vector<std::uint8_t>(static_cast<std::size_t>(bytes > 0 ? bytes : 0), 0xA5);
}

inline TensorView workspace_view(std::vector<std::uint8_t>& ws, std::int64_t bytes) {
  return view_of(ws.data(), DType::uint8, {bytes});
}

// The inputs a forward call and its backward call share.
template <typename Args, typename T>
void set_inputs(Args& a, Inputs<T>& in) {
  a.x = in.x.view();
  a.kernel = in.kernel.view();
  a.recurrent_kernel = in.recurrent_kernel.view();
  a.bias = in.bias.view();
  a.initial_h = in.initial_h.view();
  a.initial_c = in.initial_c.view();
  a.mask = in.mask.view();
  a.input_dropout = in.input_dropout.view();
  a.recurrent_dropout = in.recurrent_dropout.view();
}

template <typename T>
rnnkit::ForwardArgs forward_args(Inputs<T>& in, Outputs<T>& out) {
  rnnkit::ForwardArgs a;
  set_inputs(a, in);
  a.output = out.output.view();
  a.final_h = out.final_h.view();
  a.final_c = out.final_c.view();
  a.reserve = out.reserve.view();
  return a;
}

// Output buffers (NaN-filled) for one forward call.
template <typename T>
Outputs<T> make_outputs(const Config& c, bool training) {
  Outputs<T> out;
  out.output = Array<T>(c.output_shape(), not_written<T>());
  out.final_h = Array<T>({c.B, c.H}, not_written<T>());
  if (c.lstm()) out.final_c = Array<T>({c.B, c.H}, not_written<T>());
  if (training) {
    auto sizes = rnnkit::forward_memory(c.cell(), c.options(true), dtype_of<T>(), c.B, c.T);
    out.reserve = Array<T>({sizes.reserve_elements}, not_written<T>());
  }
  return out;
}

template <typename T>
Outputs<T> run_forward(const Config& c, Inputs<T>& in, bool training) {
  Outputs<T> out = make_outputs<T>(c, training);
  auto sizes = rnnkit::forward_memory(c.cell(), c.options(training), dtype_of<T>(), c.B, c.T);
  auto ws = garbage_workspace(sizes.workspace_bytes);
  rnnkit::ForwardArgs a = forward_args(in, out);
  a.workspace = workspace_view(ws, sizes.workspace_bytes);
  rnnkit::forward(c.cell(), c.options(training), a);
  return out;
}

template <typename T>
rnnkit::BackwardArgs backward_args(Inputs<T>& in, Outputs<T>& fwd, Gradients<T>& g) {
  rnnkit::BackwardArgs a;
  set_inputs(a, in);
  a.reserve = fwd.reserve.view();
  a.d_output = in.w_output.view();
  a.d_final_h = in.w_h.view();
  a.d_final_c = in.w_c.view();
  a.d_x = g.d_x.view();
  a.d_initial_h = g.d_initial_h.view();
  a.d_initial_c = g.d_initial_c.view();
  a.d_kernel = g.d_kernel.view();
  a.d_recurrent_kernel = g.d_recurrent_kernel.view();
  a.d_bias = g.d_bias.view();
  return a;
}

template <typename T>
Gradients<T> make_gradients(const Config& c, const Inputs<T>& in) {
  Gradients<T> g;
  const T nan = not_written<T>();
  g.d_x = Array<T>(in.x.shape, nan);
  // The gradients of the initial states are always requested, even when the forward call got none
  // (the states then were zeros).
  g.d_initial_h = Array<T>({c.B, c.H}, nan);
  if (c.lstm()) g.d_initial_c = Array<T>({c.B, c.H}, nan);
  g.d_kernel = Array<T>(in.kernel.shape, nan);
  g.d_recurrent_kernel = Array<T>(in.recurrent_kernel.shape, nan);
  if (c.use_bias) g.d_bias = Array<T>(in.bias.shape, nan);
  return g;
}

// Backward of L for the forward call that filled `fwd` (training = true).
template <typename T>
Gradients<T> run_backward(const Config& c, Inputs<T>& in, Outputs<T>& fwd) {
  Gradients<T> g = make_gradients<T>(c, in);
  auto sizes = rnnkit::backward_memory(c.cell(), c.options(true), dtype_of<T>(), c.B, c.T);
  auto ws = garbage_workspace(sizes.workspace_bytes);
  rnnkit::BackwardArgs a = backward_args(in, fwd, g);
  a.workspace = workspace_view(ws, sizes.workspace_bytes);
  rnnkit::backward(c.cell(), c.options(true), a);
  return g;
}

// L = sum(output*Wo) + sum(final_h*Wh) (+ sum(final_c*Wc)), accumulated in double.
template <typename T>
double loss(const Config& c, const Inputs<T>& in, const Outputs<T>& out) {
  double l = 0;
  for (std::size_t i = 0; i < out.output.size(); ++i) l += double(out.output.data[i]) * double(in.w_output.data[i]);
  for (std::size_t i = 0; i < out.final_h.size(); ++i) l += double(out.final_h.data[i]) * double(in.w_h.data[i]);
  if (c.lstm())
    for (std::size_t i = 0; i < out.final_c.size(); ++i) l += double(out.final_c.data[i]) * double(in.w_c.data[i]);
  return l;
}

// ---------------------------------------------------------------------------------------------
// Reference forward, written from the equations, one sample and one unit at a time.

inline double ref_activation(Activation a, double x) {
  switch (a) {
    case Activation::linear: return x;
    case Activation::tanh: return std::tanh(x);
    case Activation::sigmoid: return 1.0 / (1.0 + std::exp(-x));
    case Activation::hard_sigmoid: return std::fmin(1.0, std::fmax(0.0, x / 6.0 + 0.5));
    case Activation::softsign: return x / (1.0 + std::fabs(x));
    case Activation::softplus: return std::log1p(std::exp(-std::fabs(x))) + std::fmax(x, 0.0);
    case Activation::relu: return std::fmax(x, 0.0);
    default: break;
  }
  throw std::logic_error("ref_activation: activation not in the test reference");
}

inline void reference_forward(const Config& c, const Inputs<double>& in, Outputs<double>& out) {
  const std::int64_t B = c.B, T = c.T, I = c.I, H = c.H, G = c.G(), GH = G * H;
  out.output = Array<double>(c.output_shape(), 0.0);
  out.final_h = Array<double>({B, H}, 0.0);
  if (c.lstm()) out.final_c = Array<double>({B, H}, 0.0);
  const auto& W = in.kernel.data;
  const auto& R = in.recurrent_kernel.data;
  auto in_dp = [&](std::int64_t k, std::int64_t b, std::int64_t i) {
    if (in.input_dropout.absent) return 1.0;
    return in.input_dropout.shape.size() == 3 ? in.input_dropout.data[(k * B + b) * I + i]
                                               : in.input_dropout.data[b * I + i];
  };
  auto rec_dp = [&](std::int64_t k, std::int64_t b, std::int64_t j) {
    if (in.recurrent_dropout.absent) return 1.0;
    return in.recurrent_dropout.shape.size() == 3 ? in.recurrent_dropout.data[(k * B + b) * H + j]
                                                   : in.recurrent_dropout.data[b * H + j];
  };
  auto bias_in = [&](std::int64_t col) { return c.use_bias ? in.bias.data[col] : 0.0; };
  auto bias_rec = [&](std::int64_t col) {
    return c.use_bias && c.gru_two_biases() ? in.bias.data[GH + col] : 0.0;
  };

  for (std::int64_t b = 0; b < B; ++b) {
    std::vector<double> h(H, 0.0), cs(H, 0.0), prev_out(H, 0.0), y(H, 0.0);
    if (!in.initial_h.absent)
      for (std::int64_t j = 0; j < H; ++j) h[j] = in.initial_h.data[b * H + j];
    if (c.lstm() && !in.initial_c.absent)
      for (std::int64_t j = 0; j < H; ++j) cs[j] = in.initial_c.data[b * H + j];

    for (std::int64_t s = 0; s < T; ++s) {
      const std::int64_t t = c.go_backwards ? T - 1 - s : s;
      const double* xt = &in.x.data[(b * T + t) * I];
      // xp[k*H + j] = (x ⊙ m_k) @ W[:, k] + b_in ; hp = (h ⊙ m'_k) @ R[:, k] + b_rec
      std::vector<double> xp(GH), hp(GH);
      for (std::int64_t k = 0; k < G; ++k)
        for (std::int64_t j = 0; j < H; ++j) {
          const std::int64_t col = k * H + j;
          double sx = bias_in(col);
          for (std::int64_t i = 0; i < I; ++i) sx += xt[i] * in_dp(k, b, i) * W[i * GH + col];
          double sh = bias_rec(col);
          for (std::int64_t i = 0; i < H; ++i) sh += h[i] * rec_dp(k, b, i) * R[i * GH + col];
          xp[col] = sx;
          hp[col] = sh;
        }
      std::vector<double> hn(H), cn(H);
      const Activation phi = c.activation, sig = c.recurrent_activation;
      switch (c.kind) {
        case CellKind::simple_rnn:
          for (std::int64_t j = 0; j < H; ++j) hn[j] = ref_activation(phi, xp[j] + hp[j]);
          break;
        case CellKind::lstm:
          for (std::int64_t j = 0; j < H; ++j) {
            double ig = ref_activation(sig, xp[j] + hp[j]);
            double fg = ref_activation(sig, xp[H + j] + hp[H + j]);
            double gg = ref_activation(phi, xp[2 * H + j] + hp[2 * H + j]);
            double og = ref_activation(sig, xp[3 * H + j] + hp[3 * H + j]);
            cn[j] = fg * cs[j] + ig * gg;
            hn[j] = og * ref_activation(phi, cn[j]);
          }
          break;
        case CellKind::gru: {
          std::vector<double> z(H), r(H);
          for (std::int64_t j = 0; j < H; ++j) {
            z[j] = ref_activation(sig, xp[j] + hp[j]);
            r[j] = ref_activation(sig, xp[H + j] + hp[H + j]);
          }
          for (std::int64_t j = 0; j < H; ++j) {
            double rec;
            if (c.reset_after) {
              rec = r[j] * hp[2 * H + j];
            } else {
              rec = 0;  // (r ⊙ (h ⊙ m'_h)) @ R[:, h]
              for (std::int64_t i = 0; i < H; ++i) rec += r[i] * h[i] * rec_dp(2, b, i) * R[i * GH + 2 * H + j];
            }
            double n = ref_activation(phi, xp[2 * H + j] + rec);
            hn[j] = z[j] * h[j] + (1.0 - z[j]) * n;
          }
          break;
        }
      }
      const bool real = in.mask.absent || in.mask.data[b * T + t] != 0;
      if (real) {
        h = hn;
        if (c.lstm()) cs = cn;
        prev_out = hn;
        y = hn;
      } else {
        y = c.zero_output_for_mask ? std::vector<double>(H, 0.0) : prev_out;
      }
      if (c.return_sequences)
        for (std::int64_t j = 0; j < H; ++j) out.output.data[(b * T + s) * H + j] = y[j];
    }
    if (!c.return_sequences)
      for (std::int64_t j = 0; j < H; ++j) out.output.data[b * H + j] = y[j];
    for (std::int64_t j = 0; j < H; ++j) {
      out.final_h.data[b * H + j] = h[j];
      if (c.lstm()) out.final_c.data[b * H + j] = cs[j];
    }
  }
}

}  // namespace rnnkit_test
