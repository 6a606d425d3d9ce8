// rnnkit_bench: times whole-sequence forward (inference) and forward+backward (training) of one
// recurrent layer through the public C++ API only.
//
//   rnnkit_bench [--cell lstm|gru|simple_rnn|all] [--shape NAME|B,T,I,H]... [--threads N]
//                [--repeats N] [--target-s SECONDS] [--stream B,I,H | --no-stream | --stream-only]
//                [--stream-format float32|bfloat16|float16|all] [--bfloat16-matmuls]
//
// Defaults: all three cells, the five shapes below, rnnkit's default thread count, and for each
// case as many repeats as fit in about --target-s seconds (1.5 s; at least 1, at most 200) after
// a warm-up (at least two calls, or one when a call alone takes longer than --target-s).
// One line per case: the median time per call and the achieved GFLOP/s, where
//   forward FLOPs = 2 * B * T * (I + H) * G * H   (G = 1 simple_rnn, 3 gru, 4 lstm)
//   train FLOPs   = 3 * forward FLOPs            (forward with return_sequences + backward)
// Then, per cell, the streaming step (rnnkit::Stream::step, one timestep per call, on the calling
// thread) at B=1, I=64, H=64 unless --stream says otherwise: the median time per step, each
// timed call being 1000 steps; then Stream::run over chunks of 64 steps (1024 steps per timed
// call), also per step. Both once per weight format of the packed weights
// (StreamOptions::weight_format; all three unless --stream-format names one).
// --bfloat16-matmuls sets SequenceOptions::bfloat16_matmuls on the sequence cases (bfloat16
// products on AMX tiles where rnnkit::cpu_amx_bf16(); printed in the header).
// Exit status: 0 on success, 1 when rnnkit throws or a result is not finite, 2 on bad arguments.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <memory>
#include <new>
#include <random>
#include <string>
#include <vector>

#include "rnnkit/rnnkit.h"

namespace {

using Clock = std::chrono::steady_clock;

struct Shape {
  std::string name;
  std::int64_t B, T, I, H;
};

const Shape kDefaultShapes[] = {
    {"seed_mnist", 64, 28, 28, 64},
    {"small_stream", 1, 1000, 32, 128},
    {"medium", 32, 100, 128, 256},
    {"large", 64, 200, 512, 1024},
    {"text_cls", 128, 80, 64, 128},
};

// Zeroed, 64-byte aligned memory for the bench's arrays (at least one byte, so a view of a
// zero-sized buffer still has a non-null pointer): an rnnkit::Workspace, so large ones get the
// huge pages the Python bindings' workspaces get.
class Buffer {
 public:
  explicit Buffer(std::int64_t bytes = 0)
      : memory_(std::max<std::int64_t>(bytes, 1)), bytes_(bytes) {
    std::memset(memory_.data(), 0, static_cast<std::size_t>(memory_.capacity()));
  }
  void* data() const { return memory_.data(); }
  float* f32() const { return static_cast<float*>(memory_.data()); }
  std::int64_t bytes() const { return bytes_; }

 private:
  rnnkit::Workspace memory_;
  std::int64_t bytes_;
};

Buffer floats(std::int64_t n) { return Buffer(n * static_cast<std::int64_t>(sizeof(float))); }

void fill_uniform(const Buffer& b, std::int64_t n, float lo, float hi, std::mt19937& rng) {
  std::uniform_real_distribution<float> dist(lo, hi);
  float* p = b.f32();
  for (std::int64_t i = 0; i < n; ++i) p[i] = dist(rng);
}

bool all_finite(const Buffer& b, std::int64_t n) {
  const float* p = b.f32();
  for (std::int64_t i = 0; i < n; ++i)
    if (!std::isfinite(p[i])) return false;
  return true;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

struct Timing {
  double median_s = 0;
  int repeats = 0;
};

// Warm-up (at least two calls, up to a quarter of target_s, unless one call alone takes longer
// than target_s; the fastest warm-up call after the first estimates the cost of a call), then
// `repeats` timed calls, or as many as fit in `target_s` when repeats <= 0.
template <typename F>
Timing time_calls(F&& call, int repeats, double target_s) {
  auto seconds_since = [](Clock::time_point t) {
    return std::chrono::duration<double>(Clock::now() - t).count();
  };
  std::vector<double> warm;
  const auto start = Clock::now();
  for (;;) {
    const auto t0 = Clock::now();
    call();
    warm.push_back(seconds_since(t0));
    if (warm.back() >= target_s) break;
    if (warm.size() >= 2 && seconds_since(start) >= 0.25 * target_s) break;
    if (warm.size() >= 50) break;
  }
  if (repeats <= 0) {
    const double est =
        std::max(warm.size() > 1 ? *std::min_element(warm.begin() + 1, warm.end()) : warm[0], 1e-6);
    repeats = static_cast<int>(std::clamp(std::floor(target_s / est), 1.0, 200.0));
  }
  std::vector<double> times;
  times.reserve(repeats);
  for (int r = 0; r < repeats; ++r) {
    const auto t0 = Clock::now();
    call();
    times.push_back(seconds_since(t0));
  }
  return {median(times), repeats};
}

struct Config {
  std::vector<rnnkit::CellKind> cells;
  std::vector<Shape> shapes;
  Shape stream{"stream", 1, 1, 64, 64};
  bool run_stream = true, run_sequences = true;
  bool bfloat16_matmuls = false;
  std::vector<rnnkit::WeightFormat> stream_formats;
  int threads = 0;
  int repeats = 0;
  double target_s = 1.5;
};

// Runs both cases of one cell and shape. Returns false if a result is not finite.
bool bench_case(rnnkit::CellKind kind, const Shape& s, const Config& cfg, std::mt19937& rng) {
  using rnnkit::DType;
  using rnnkit::make_view;

  rnnkit::CellSpec cell;
  cell.kind = kind;
  cell.input_size = s.I;
  cell.units = s.H;
  const std::int64_t B = s.B, T = s.T, I = s.I, H = s.H, G = cell.gates();
  const bool lstm = kind == rnnkit::CellKind::lstm;
  const bool gru2 = kind == rnnkit::CellKind::gru && cell.reset_after;
  const std::int64_t bias_n = gru2 ? 2 * G * H : G * H;

  // Inputs.
  Buffer x = floats(B * T * I), kernel = floats(I * G * H), recurrent = floats(H * G * H),
         bias = floats(bias_n), d_out = floats(B * T * H);
  fill_uniform(x, B * T * I, -1.0f, 1.0f, rng);
  fill_uniform(kernel, I * G * H, -0.1f, 0.1f, rng);
  fill_uniform(recurrent, H * G * H, -0.1f, 0.1f, rng);
  fill_uniform(bias, bias_n, -0.1f, 0.1f, rng);
  fill_uniform(d_out, B * T * H, -1.0f, 1.0f, rng);

  const auto xv = make_view(x.data(), DType::float32, {B, T, I});
  const auto kv = make_view(kernel.data(), DType::float32, {I, G * H});
  const auto rv = make_view(recurrent.data(), DType::float32, {H, G * H});
  const auto bv = gru2 ? make_view(bias.data(), DType::float32, {2, G * H})
                       : make_view(bias.data(), DType::float32, {G * H});

  // Outputs shared by both cases (sized for return_sequences).
  Buffer out = floats(B * T * H), final_h = floats(B * H), final_c = floats(B * H);

  const double fwd_flops = 2.0 * B * T * (I + H) * G * H;
  const double train_flops = 3.0 * fwd_flops;
  const int threads = rnnkit::get_num_threads();
  char shape_str[96];
  std::snprintf(shape_str, sizeof shape_str, "%-12s B=%-3lld T=%-4lld I=%-3lld H=%-4lld",
                s.name.c_str(), static_cast<long long>(B), static_cast<long long>(T),
                static_cast<long long>(I), static_cast<long long>(H));
  auto report = [&](const char* mode, const Timing& t, double flops) {
    std::printf("%-10s %-7s %s threads=%d repeats=%-3d median %10.3f ms  %8.2f GFLOP/s\n",
                rnnkit::cell_kind_name(kind), mode, shape_str, threads, t.repeats,
                t.median_s * 1e3, flops / t.median_s * 1e-9);
    std::fflush(stdout);
  };
  bool ok = true;

  // Inference: training = false, last output only.
  {
    rnnkit::SequenceOptions opt;
    opt.training = false;
    opt.return_sequences = false;
    opt.bfloat16_matmuls = cfg.bfloat16_matmuls;
    const auto mem = rnnkit::forward_memory(cell, opt, DType::float32, B, T);
    Buffer ws(mem.workspace_bytes);
    rnnkit::ForwardArgs a;
    a.x = xv;
    a.kernel = kv;
    a.recurrent_kernel = rv;
    a.bias = bv;
    a.output = make_view(out.data(), DType::float32, {B, H});
    a.final_h = make_view(final_h.data(), DType::float32, {B, H});
    if (lstm) a.final_c = make_view(final_c.data(), DType::float32, {B, H});
    a.workspace = make_view(ws.data(), DType::uint8, {mem.workspace_bytes});
    const Timing t =
        time_calls([&] { rnnkit::forward(cell, opt, a); }, cfg.repeats, cfg.target_s);
    report("forward", t, fwd_flops);
    if (!all_finite(out, B * H)) {
      std::fprintf(stderr, "error: forward output is not finite\n");
      ok = false;
    }
  }

  // Training: forward(training = true, return_sequences = true) + backward.
  {
    rnnkit::SequenceOptions opt;
    opt.training = true;
    opt.return_sequences = true;
    opt.bfloat16_matmuls = cfg.bfloat16_matmuls;
    const auto fmem = rnnkit::forward_memory(cell, opt, DType::float32, B, T);
    const auto bmem = rnnkit::backward_memory(cell, opt, DType::float32, B, T);
    Buffer reserve = floats(fmem.reserve_elements);
    Buffer ws(std::max(fmem.workspace_bytes, bmem.workspace_bytes));
    Buffer d_x = floats(B * T * I), d_h0 = floats(B * H), d_c0 = floats(B * H),
           d_kernel = floats(I * G * H), d_recurrent = floats(H * G * H), d_bias = floats(bias_n);

    rnnkit::ForwardArgs f;
    f.x = xv;
    f.kernel = kv;
    f.recurrent_kernel = rv;
    f.bias = bv;
    f.output = make_view(out.data(), DType::float32, {B, T, H});
    f.final_h = make_view(final_h.data(), DType::float32, {B, H});
    if (lstm) f.final_c = make_view(final_c.data(), DType::float32, {B, H});
    f.reserve = make_view(reserve.data(), DType::float32, {fmem.reserve_elements});
    f.workspace = make_view(ws.data(), DType::uint8, {fmem.workspace_bytes});

    rnnkit::BackwardArgs b;
    b.x = xv;
    b.kernel = kv;
    b.recurrent_kernel = rv;
    b.bias = bv;
    b.reserve = f.reserve;
    b.d_output = make_view(d_out.data(), DType::float32, {B, T, H});
    b.d_x = make_view(d_x.data(), DType::float32, {B, T, I});
    b.d_initial_h = make_view(d_h0.data(), DType::float32, {B, H});
    if (lstm) b.d_initial_c = make_view(d_c0.data(), DType::float32, {B, H});
    b.d_kernel = make_view(d_kernel.data(), DType::float32, {I, G * H});
    b.d_recurrent_kernel = make_view(d_recurrent.data(), DType::float32, {H, G * H});
    b.d_bias = gru2 ? make_view(d_bias.data(), DType::float32, {2, G * H})
                    : make_view(d_bias.data(), DType::float32, {G * H});
    b.workspace = make_view(ws.data(), DType::uint8, {bmem.workspace_bytes});

    const Timing t = time_calls(
        [&] {
          rnnkit::forward(cell, opt, f);
          rnnkit::backward(cell, opt, b);
        },
        cfg.repeats, cfg.target_s);
    report("train", t, train_flops);
    if (!all_finite(d_x, B * T * I) || !all_finite(d_kernel, I * G * H) ||
        !all_finite(d_recurrent, H * G * H)) {
      std::fprintf(stderr, "error: training gradients are not finite\n");
      ok = false;
    }
  }
  return ok;
}

// The streaming step: Stream::step over a ring of precomputed inputs, 1000 steps per timed call.
bool bench_stream(rnnkit::CellKind kind, rnnkit::WeightFormat format, const Config& cfg,
                  std::mt19937& rng) {
  using rnnkit::DType;
  using rnnkit::make_view;
  const Shape& s = cfg.stream;
  rnnkit::CellSpec cell;
  cell.kind = kind;
  cell.input_size = s.I;
  cell.units = s.H;
  const std::int64_t B = s.B, I = s.I, H = s.H, G = cell.gates();
  const bool gru2 = kind == rnnkit::CellKind::gru && cell.reset_after;
  const std::int64_t bias_n = gru2 ? 2 * G * H : G * H;
  constexpr std::int64_t kSteps = 1000, kRing = 16;
  Buffer x = floats(kRing * B * I), kernel = floats(I * G * H), recurrent = floats(H * G * H),
         bias = floats(bias_n), out = floats(B * H);
  fill_uniform(x, kRing * B * I, -1.0f, 1.0f, rng);
  fill_uniform(kernel, I * G * H, -0.1f, 0.1f, rng);
  fill_uniform(recurrent, H * G * H, -0.1f, 0.1f, rng);
  fill_uniform(bias, bias_n, -0.1f, 0.1f, rng);
  rnnkit::StreamOptions options;
  options.weight_format = format;
  rnnkit::Stream stream(cell, DType::float32, B,
                        make_view(kernel.data(), DType::float32, {I, G * H}),
                        make_view(recurrent.data(), DType::float32, {H, G * H}),
                        gru2 ? make_view(bias.data(), DType::float32, {2, G * H})
                             : make_view(bias.data(), DType::float32, {G * H}),
                        options);
  std::vector<rnnkit::TensorView> xs;
  for (std::int64_t r = 0; r < kRing; ++r)
    xs.push_back(make_view(x.f32() + r * B * I, DType::float32, {B, I}));
  const auto ov = make_view(out.data(), DType::float32, {B, H});
  const Timing t = time_calls(
      [&] {
        for (std::int64_t k = 0; k < kSteps; ++k) stream.step(xs[k % kRing], ov);
      },
      cfg.repeats, cfg.target_s);
  const double flops = 2.0 * B * (I + H) * G * H;
  const auto report = [&](const char* what, std::int64_t T, const Timing& timing,
                          std::int64_t steps) {
    const double step_s = timing.median_s / steps;
    std::printf("%-10s %-7s %-12s B=%-3lld T=%-4lld I=%-3lld H=%-4lld threads=1 repeats=%-3d "
                "median %10.3f us/step %6.2f GFLOP/s weights=%s\n",
                rnnkit::cell_kind_name(kind), "stream", what, static_cast<long long>(B),
                static_cast<long long>(T), static_cast<long long>(I), static_cast<long long>(H),
                timing.repeats, step_s * 1e6, flops / step_s * 1e-9,
                rnnkit::weight_format_name(format));
    std::fflush(stdout);
  };
  report("step", 1, t, kSteps);
  // run() over chunks of kChunk steps (an audio buffer's worth), 1024 steps per timed call.
  constexpr std::int64_t kChunk = 64, kCalls = 16;
  Buffer xc = floats(B * kChunk * I), oc = floats(B * kChunk * H);
  fill_uniform(xc, B * kChunk * I, -1.0f, 1.0f, rng);
  const auto xcv = make_view(xc.data(), DType::float32, {B, kChunk, I});
  const auto ocv = make_view(oc.data(), DType::float32, {B, kChunk, H});
  const Timing tr = time_calls(
      [&] {
        for (std::int64_t k = 0; k < kCalls; ++k) stream.run(xcv, ocv);
      },
      cfg.repeats, cfg.target_s);
  report("run", kChunk, tr, kChunk * kCalls);
  if (!all_finite(out, B * H) || !all_finite(oc, B * kChunk * H)) {
    std::fprintf(stderr, "error: stream output is not finite\n");
    return false;
  }
  return true;
}

[[noreturn]] void usage(const char* msg) {
  if (msg) std::fprintf(stderr, "error: %s\n", msg);
  std::fprintf(stderr,
               "usage: rnnkit_bench [--cell lstm|gru|simple_rnn|all] [--shape NAME|B,T,I,H]...\n"
               "                    [--threads N] [--repeats N] [--target-s SECONDS]\n"
               "                    [--stream B,I,H | --no-stream | --stream-only]\n"
               "                    [--stream-format float32|bfloat16|float16|all]\n"
               "                    [--bfloat16-matmuls]\n"
               "shapes:");
  for (const Shape& s : kDefaultShapes)
    std::fprintf(stderr, " %s(%lld,%lld,%lld,%lld)", s.name.c_str(),
                 static_cast<long long>(s.B), static_cast<long long>(s.T),
                 static_cast<long long>(s.I), static_cast<long long>(s.H));
  std::fprintf(stderr, "\n");
  std::exit(msg ? 2 : 0);
}

long long parse_int(const char* text, const char* what, long long min) {
  char* end = nullptr;
  const long long v = std::strtoll(text, &end, 10);
  if (end == text || *end != '\0' || v < min) {
    std::string msg = std::string("bad value for ") + what + ": '" + text + "'";
    usage(msg.c_str());
  }
  return v;
}

Shape parse_shape(const std::string& text) {
  for (const Shape& s : kDefaultShapes)
    if (s.name == text) return s;
  long long v[4];
  int n = 0;
  std::size_t pos = 0;
  while (n < 4) {
    const std::size_t comma = text.find(',', pos);
    const std::string part = text.substr(pos, comma == std::string::npos ? comma : comma - pos);
    v[n++] = parse_int(part.c_str(), "--shape", 1);
    if (comma == std::string::npos) break;
    pos = comma + 1;
  }
  if (n != 4 || text.find(',', pos) != std::string::npos)
    usage(("--shape wants a shape name or B,T,I,H, got '" + text + "'").c_str());
  return {"custom", v[0], v[1], v[2], v[3]};
}

Config parse_args(int argc, char** argv) {
  Config cfg;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto value = [&]() -> const char* {
      if (i + 1 >= argc) usage((arg + " needs a value").c_str());
      return argv[++i];
    };
    if (arg == "-h" || arg == "--help") {
      usage(nullptr);
    } else if (arg == "--cell") {
      const std::string v = value();
      if (v == "all") {
        cfg.cells = {rnnkit::CellKind::lstm, rnnkit::CellKind::gru, rnnkit::CellKind::simple_rnn};
      } else if (v == "lstm" || v == "gru" || v == "simple_rnn") {
        cfg.cells.push_back(rnnkit::cell_kind_from_name(v.c_str()));
      } else {
        usage(("unknown cell '" + v + "'").c_str());
      }
    } else if (arg == "--shape") {
      cfg.shapes.push_back(parse_shape(value()));
    } else if (arg == "--stream") {
      const std::string v = value();
      long long b = 0, in = 0, h = 0;
      if (std::sscanf(v.c_str(), "%lld,%lld,%lld", &b, &in, &h) != 3 || b < 1 || in < 1 || h < 1)
        usage(("--stream wants B,I,H, got '" + v + "'").c_str());
      cfg.stream = {"stream", b, 1, in, h};
    } else if (arg == "--stream-format") {
      const std::string v = value();
      if (v == "all") {
        cfg.stream_formats = {rnnkit::WeightFormat::float32, rnnkit::WeightFormat::bfloat16,
                              rnnkit::WeightFormat::float16};
      } else if (v == "float32" || v == "bfloat16" || v == "float16") {
        cfg.stream_formats.push_back(rnnkit::weight_format_from_name(v));
      } else {
        usage(("unknown stream format '" + v + "'").c_str());
      }
    } else if (arg == "--bfloat16-matmuls") {
      cfg.bfloat16_matmuls = true;
    } else if (arg == "--no-stream") {
      cfg.run_stream = false;
    } else if (arg == "--stream-only") {
      cfg.run_sequences = false;
    } else if (arg == "--threads") {
      cfg.threads = static_cast<int>(parse_int(value(), "--threads", 1));
    } else if (arg == "--repeats") {
      cfg.repeats = static_cast<int>(parse_int(value(), "--repeats", 1));
    } else if (arg == "--target-s") {
      const char* v = value();
      char* end = nullptr;
      cfg.target_s = std::strtod(v, &end);
      if (end == v || *end != '\0' || !(cfg.target_s > 0)) usage("bad value for --target-s");
    } else {
      usage(("unknown argument '" + arg + "'").c_str());
    }
  }
  if (cfg.cells.empty())
    cfg.cells = {rnnkit::CellKind::lstm, rnnkit::CellKind::gru, rnnkit::CellKind::simple_rnn};
  if (cfg.stream_formats.empty())
    cfg.stream_formats = {rnnkit::WeightFormat::float32, rnnkit::WeightFormat::bfloat16,
                          rnnkit::WeightFormat::float16};
  if (cfg.shapes.empty()) cfg.shapes.assign(std::begin(kDefaultShapes), std::end(kDefaultShapes));
  return cfg;
}

}  // namespace

int main(int argc, char** argv) {
  const Config cfg = parse_args(argc, argv);
  try {
    if (cfg.threads > 0) rnnkit::set_num_threads(cfg.threads);
    if (cfg.repeats > 0)
      std::printf("# rnnkit_bench float32, threads=%d, repeats=%d\n", rnnkit::get_num_threads(),
                  cfg.repeats);
    else
      std::printf("# rnnkit_bench float32, threads=%d, about %g s of timed calls per case\n",
                  rnnkit::get_num_threads(), cfg.target_s);
    // The CPU kernels' ISA level (RNNKIT_ISA forces one; docs/install.md).
    std::printf("# ISA level %s\n", rnnkit::cpu_isa().c_str());
    if (cfg.bfloat16_matmuls) {
      std::printf("# bfloat16_matmuls: %s\n", rnnkit::cpu_amx_bf16()
                                                   ? "bfloat16 products on AMX tiles"
                                                   : "no AMX-BF16 here: float32 products");
    }
    std::mt19937 rng(12345);
    bool ok = true;
    if (cfg.run_sequences)
      for (rnnkit::CellKind kind : cfg.cells)
        for (const Shape& s : cfg.shapes) ok = bench_case(kind, s, cfg, rng) && ok;
    if (cfg.run_stream)
      for (rnnkit::CellKind kind : cfg.cells)
        for (rnnkit::WeightFormat format : cfg.stream_formats)
          ok = bench_stream(kind, format, cfg, rng) && ok;
    return ok ? 0 : 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}
