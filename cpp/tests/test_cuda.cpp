// The CUDA backend against the CPU backend on the same inputs, over the option grid: forward
// outputs and every gradient within 1e-5 (float32) / 1e-12 (float64); bit-identical repeated
// runs (with and without the CUDA graph); arguments refused before any launch. Exits 77 (ctest:
// skipped) when no GPU can run it, saying why. Also built against the host emulation of CUDA
// (rnnkit_cuda_emulation_tests, cpp/tests/cuda_emulation), where the same grid runs the backend's
// sources without a GPU.
#include <cuda_runtime.h>

#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "rnnkit/cuda.h"
#if defined(RNNKIT_CUDA_EMULATION)
#include "cuda/kernels.h"
#endif
#include "test_harness.h"
#include "test_util.h"

namespace rnnkit_test {
namespace {

void cuda_ok(cudaError_t status, const char* what) {
  if (status != cudaSuccess) throw std::runtime_error(std::string(what) + ": " + cudaGetErrorString(status));
}

// Device copies of host arrays, freed at the end of the test.
struct DeviceArrays {
  std::vector<void*> blocks;
  ~DeviceArrays() {
    for (void* p : blocks) cudaFree(p);
  }
  void* alloc(std::size_t bytes) {
    void* p = nullptr;
    cuda_ok(cudaMalloc(&p, bytes > 0 ? bytes : 1), "cudaMalloc");
    blocks.push_back(p);
    return p;
  }
  // A device view holding a copy of `a` (absent stays absent).
  template <typename T>
  TensorView copy(const Array<T>& a) {
    if (a.absent) return TensorView{};
    void* p = alloc(a.size() * sizeof(T));
    cuda_ok(cudaMemcpy(p, a.data.data(), a.size() * sizeof(T), cudaMemcpyHostToDevice), "cudaMemcpy");
    TensorView v = view_of(p, dtype_of<T>(), a.shape);
    v.device = rnnkit::Device::cuda;
    return v;
  }
  // A device view like `a`, filled with 0xFF bytes (NaN), for an output.
  template <typename T>
  TensorView like(const Array<T>& a) {
    if (a.absent) return TensorView{};
    void* p = alloc(a.size() * sizeof(T));
    cuda_ok(cudaMemset(p, 0xFF, a.size() * sizeof(T)), "cudaMemset");
    TensorView v = view_of(p, dtype_of<T>(), a.shape);
    v.device = rnnkit::Device::cuda;
    return v;
  }
  TensorView workspace(std::int64_t bytes) {
    void* p = alloc(static_cast<std::size_t>(bytes));
    cuda_ok(cudaMemset(p, 0xA5, static_cast<std::size_t>(bytes > 0 ? bytes : 1)), "cudaMemset");
    TensorView v = view_of(p, DType::uint8, {bytes});
    v.device = rnnkit::Device::cuda;
    return v;
  }
};

template <typename T>
void read_back(const TensorView& v, Array<T>& into) {
  if (!v.present()) return;
  into.data.resize(static_cast<std::size_t>(v.numel()));
  cuda_ok(cudaMemcpy(into.data.data(), v.data, into.data.size() * sizeof(T), cudaMemcpyDeviceToHost),
          "cudaMemcpy back");
}

template <typename T>
struct GpuRun {
  Outputs<T> out;
  Gradients<T> grads;
};

// Forward's arguments on the device: copies of the inputs, and outputs shaped like `out`'s
// (the reserve and the workspace are the caller's to add).
template <typename T>
rnnkit::ForwardArgs device_forward_args(DeviceArrays& dev, const Inputs<T>& in,
                                        const Outputs<T>& out) {
  rnnkit::ForwardArgs f;
  f.x = dev.copy(in.x);
  f.kernel = dev.copy(in.kernel);
  f.recurrent_kernel = dev.copy(in.recurrent_kernel);
  f.bias = dev.copy(in.bias);
  f.initial_h = dev.copy(in.initial_h);
  f.initial_c = dev.copy(in.initial_c);
  f.mask = dev.copy(in.mask);
  f.input_dropout = dev.copy(in.input_dropout);
  f.recurrent_dropout = dev.copy(in.recurrent_dropout);
  f.output = dev.like(out.output);
  f.final_h = dev.like(out.final_h);
  f.final_c = dev.like(out.final_c);
  return f;
}

// Forward (training) and backward of `c` on the GPU, queued on `stream`. With `caller_capture`,
// both calls are made while the test captures `stream` into a graph of its own (global mode, as
// PyTorch's torch.cuda.graph), which is then instantiated and launched once.
template <typename T>
GpuRun<T> run_gpu(const Config& c, Inputs<T>& in, bool use_graph, cudaStream_t stream = nullptr,
                  bool caller_capture = false) {
  DeviceArrays dev;
  const auto context = [&] {
    auto ctx = rnnkit::ExecutionContext::cuda(0, stream);
    ctx.use_graph = use_graph;
    return ctx;
  }();
  GpuRun<T> run;
  run.out = make_outputs<T>(c, true);
  rnnkit::ForwardArgs f = device_forward_args(dev, in, run.out);
  f.reserve = dev.like(run.out.reserve);
  const auto fm = rnnkit::forward_memory(c.cell(), c.options(true), dtype_of<T>(), c.B, c.T,
                                         rnnkit::Device::cuda);
  f.workspace = dev.workspace(fm.workspace_bytes);
  // Everything the backward call reads is allocated before a capture begins (cudaMalloc is not
  // allowed during one).
  run.grads = make_gradients<T>(c, in);
  rnnkit::BackwardArgs b;
  b.d_output = dev.copy(in.w_output);
  b.d_final_h = dev.copy(in.w_h);
  b.d_final_c = dev.copy(in.w_c);
  b.d_x = dev.like(run.grads.d_x);
  b.d_initial_h = dev.like(run.grads.d_initial_h);
  b.d_initial_c = dev.like(run.grads.d_initial_c);
  b.d_kernel = dev.like(run.grads.d_kernel);
  b.d_recurrent_kernel = dev.like(run.grads.d_recurrent_kernel);
  b.d_bias = dev.like(run.grads.d_bias);
  const auto bm = rnnkit::backward_memory(c.cell(), c.options(true), dtype_of<T>(), c.B, c.T,
                                          rnnkit::Device::cuda);
  b.workspace = dev.workspace(bm.workspace_bytes);
  // cudaMemset and cudaMemcpy from pageable memory may return before the device is done, and
  // they run on the legacy stream, which a non-blocking `stream` does not wait for.
  cuda_ok(cudaDeviceSynchronize(), "cudaDeviceSynchronize");
  if (caller_capture) cuda_ok(cudaStreamBeginCapture(stream, cudaStreamCaptureModeGlobal), "cudaStreamBeginCapture");
  rnnkit::forward(c.cell(), c.options(true), f, context);

  b.x = f.x;
  b.kernel = f.kernel;
  b.recurrent_kernel = f.recurrent_kernel;
  b.bias = f.bias;
  b.initial_h = f.initial_h;
  b.initial_c = f.initial_c;
  b.mask = f.mask;
  b.input_dropout = f.input_dropout;
  b.recurrent_dropout = f.recurrent_dropout;
  b.reserve = f.reserve;
  rnnkit::backward(c.cell(), c.options(true), b, context);
  if (caller_capture) {
    cudaGraph_t graph = nullptr;
    cuda_ok(cudaStreamEndCapture(stream, &graph), "cudaStreamEndCapture");
    cudaGraphExec_t exec = nullptr;
    const cudaError_t made = cudaGraphInstantiate(&exec, graph, 0);
    cudaGraphDestroy(graph);
    cuda_ok(made, "cudaGraphInstantiate");
    const cudaError_t launched = cudaGraphLaunch(exec, stream);
    cuda_ok(cudaStreamSynchronize(stream), "cudaStreamSynchronize");
    cudaGraphExecDestroy(exec);
    cuda_ok(launched, "cudaGraphLaunch");
  }
  cuda_ok(cudaDeviceSynchronize(), "cudaDeviceSynchronize");

  read_back(f.output, run.out.output);
  read_back(f.final_h, run.out.final_h);
  read_back(f.final_c, run.out.final_c);
  read_back(f.reserve, run.out.reserve);
  read_back(b.d_x, run.grads.d_x);
  read_back(b.d_initial_h, run.grads.d_initial_h);
  read_back(b.d_initial_c, run.grads.d_initial_c);
  read_back(b.d_kernel, run.grads.d_kernel);
  read_back(b.d_recurrent_kernel, run.grads.d_recurrent_kernel);
  read_back(b.d_bias, run.grads.d_bias);
  return run;
}

template <typename T>
void expect_close(const Array<T>& gpu, const Array<T>& cpu, double tol, const std::string& what) {
  if (cpu.absent) return;
  REQUIRE_MSG(gpu.data.size() == cpu.data.size(), what + ": sizes differ");
  double worst = 0;
  for (std::size_t i = 0; i < cpu.data.size(); ++i) {
    const double a = gpu.data[i], b = cpu.data[i];
    REQUIRE_MSG(std::isfinite(a) == std::isfinite(b), what + ": finiteness differs at " + std::to_string(i));
    worst = std::max(worst, std::fabs(a - b) / (1.0 + std::fabs(b)));
  }
  CHECK_MSG(worst <= tol, what + ": max relative difference " + std::to_string(worst));
}

template <typename T>
void expect_same(const Array<T>& a, const Array<T>& b, const std::string& what) {
  CHECK_MSG(a.data.size() == b.data.size() &&
                std::memcmp(a.data.data(), b.data.data(), a.data.size() * sizeof(T)) == 0,
            what + ": not bit-identical");
}

template <typename T>
void compare_with_cpu(const Config& c) {
  const double tol = sizeof(T) == 4 ? 1e-5 : 1e-12;
  Inputs<T> in = make_inputs(c).template as<T>();
  Outputs<T> cpu_out = run_forward<T>(c, in, true);
  Gradients<T> cpu_grads = run_backward<T>(c, in, cpu_out);
  GpuRun<T> gpu = run_gpu<T>(c, in, true);
  expect_close(gpu.out.output, cpu_out.output, tol, c.name + " output");
  expect_close(gpu.out.final_h, cpu_out.final_h, tol, c.name + " final_h");
  expect_close(gpu.out.final_c, cpu_out.final_c, tol, c.name + " final_c");
  // The reserve: its body within rounding, its stamp (the trailer) bit for bit.
  {
    Array<T> body_gpu = gpu.out.reserve, body_cpu = cpu_out.reserve;
    const std::size_t trailer = 16;
    REQUIRE_MSG(body_gpu.data.size() == body_cpu.data.size() && body_cpu.data.size() > trailer,
                c.name + " reserve sizes");
    CHECK_MSG(std::memcmp(body_gpu.data.data() + body_gpu.data.size() - trailer,
                          body_cpu.data.data() + body_cpu.data.size() - trailer,
                          trailer * sizeof(T)) == 0,
              c.name + " reserve stamp differs");
    body_gpu.data.resize(body_gpu.data.size() - trailer);
    body_cpu.data.resize(body_cpu.data.size() - trailer);
    expect_close(body_gpu, body_cpu, tol, c.name + " reserve");
  }
  expect_close(gpu.grads.d_x, cpu_grads.d_x, tol, c.name + " d_x");
  expect_close(gpu.grads.d_initial_h, cpu_grads.d_initial_h, tol, c.name + " d_initial_h");
  expect_close(gpu.grads.d_initial_c, cpu_grads.d_initial_c, tol, c.name + " d_initial_c");
  expect_close(gpu.grads.d_kernel, cpu_grads.d_kernel, tol, c.name + " d_kernel");
  expect_close(gpu.grads.d_recurrent_kernel, cpu_grads.d_recurrent_kernel, tol, c.name + " d_recurrent_kernel");
  expect_close(gpu.grads.d_bias, cpu_grads.d_bias, tol, c.name + " d_bias");
  // Bit-identical again, and without the graph.
  for (bool graph : {true, false}) {
    GpuRun<T> again = run_gpu<T>(c, in, graph);
    const std::string tag = c.name + (graph ? " (graph, again)" : " (no graph)");
    expect_same(again.out.output, gpu.out.output, tag + " output");
    expect_same(again.out.reserve, gpu.out.reserve, tag + " reserve");
    expect_same(again.grads.d_kernel, gpu.grads.d_kernel, tag + " d_kernel");
    expect_same(again.grads.d_recurrent_kernel, gpu.grads.d_recurrent_kernel, tag + " d_recurrent_kernel");
    expect_same(again.grads.d_bias, gpu.grads.d_bias, tag + " d_bias");
    expect_same(again.grads.d_x, gpu.grads.d_x, tag + " d_x");
  }
}

std::vector<Config> grid() {
  std::vector<Config> configs;
  struct Variant { CellKind kind; bool reset_after; const char* name; };
  const Variant variants[] = {{CellKind::simple_rnn, true, "simple_rnn"}, {CellKind::gru, true, "gru"},
                              {CellKind::gru, false, "gru_reset_before"}, {CellKind::lstm, true, "lstm"}};
  const std::pair<Activation, Activation> activations[] = {
      {Activation::tanh, Activation::sigmoid}, {Activation::relu, Activation::hard_sigmoid},
      {Activation::softsign, Activation::sigmoid}};
  int n = 0;
  for (const auto& v : variants)
    for (int sizes = 0; sizes < 2; ++sizes)
      for (int mask = 0; mask < 3; ++mask)
        for (int dropout = 0; dropout < 3; ++dropout)
          for (int flags = 0; flags < 4; ++flags) {
            Config c;
            c.kind = v.kind;
            c.reset_after = v.reset_after;
            c.B = sizes ? 37 : 3;
            c.T = sizes ? 9 : 5;
            c.I = sizes ? 20 : 4;
            c.H = sizes ? 70 : 6;
            c.go_backwards = flags & 1;
            c.return_sequences = flags & 2;
            c.use_bias = (n % 5) != 3;
            c.initial_states = (n % 3) != 1;
            c.zero_output_for_mask = mask == 2;
            const auto& acts = activations[n % 3];
            c.activation = acts.first;
            c.recurrent_activation = acts.second;
            if (mask) {
              c.mask.resize(static_cast<std::size_t>(c.B * c.T));
              for (std::int64_t i = 0; i < c.B * c.T; ++i) c.mask[i] = (i * 7 + n) % 4 != 0;
              for (std::int64_t t = 0; t < c.T; ++t) c.mask[t] = 0;  // one fully masked row
            }
            c.dropout = static_cast<Dropout>(dropout);
            c.seed = 100 + n;
            c.name = std::string(v.name) + " #" + std::to_string(n);
            configs.push_back(c);
            ++n;
          }
  return configs;
}

// A CPU tensor in a CUDA call, and a CUDA call without any GPU tensor, are refused before launch.
void refusals() {
  Config c;
  c.kind = CellKind::lstm;
  Inputs<float> in = make_inputs(c).as<float>();
  Outputs<float> out = make_outputs<float>(c, false);
  rnnkit::ForwardArgs f = forward_args(in, out);
  bool threw = false;
  try {
    rnnkit::forward(c.cell(), c.options(false), f, rnnkit::ExecutionContext::cuda(0));
  } catch (const rnnkit::TypeMismatch& e) {
    threw = std::string(e.what()).find("execution context is cuda") != std::string::npos;
  }
  CHECK_MSG(threw, "host tensors in a CUDA call must be refused by name");
  DeviceArrays dev;
  f.kernel = dev.copy(in.kernel);  // one device tensor among host ones
  threw = false;
  try {
    rnnkit::forward(c.cell(), c.options(false), f, rnnkit::ExecutionContext::cpu());
  } catch (const rnnkit::TypeMismatch& e) {
    threw = std::string(e.what()).find("'kernel'") != std::string::npos;
  }
  CHECK_MSG(threw, "a device kernel in a CPU call must be refused by name");
}

// A caller that captures its own stream into a CUDA graph (PyTorch's torch.cuda.graph, CuPy's
// stream capture) around forward and backward: rnnkit queues its work on that stream without
// allocating or synchronizing (either would invalidate the capture), backward skips the reserve
// check (the forward has not run yet at capture time), and launching the caller's graph gives
// the bits of ordinary calls. On a stream with no earlier call outside a capture, rnnkit cannot
// create its cuBLAS workspace and refuses the call with an error saying so, leaving the capture
// valid.
void caller_capture() {
  Config c = grid()[239];  // an LSTM with a mask, dropout, go_backwards and return_sequences
  Inputs<float> in = make_inputs(c).as<float>();
  GpuRun<float> plain = run_gpu<float>(c, in, false);
  cudaStream_t stream = nullptr;
  cuda_ok(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking), "cudaStreamCreateWithFlags");
  struct Destroy {
    cudaStream_t s;
    ~Destroy() { cudaStreamDestroy(s); }
  } destroy{stream};

  // Refused: no call on this stream outside a capture yet.
  {
    DeviceArrays dev;
    Outputs<float> out = make_outputs<float>(c, false);
    rnnkit::ForwardArgs f = device_forward_args(dev, in, out);
    const auto fm = rnnkit::forward_memory(c.cell(), c.options(false), DType::float32, c.B, c.T,
                                           rnnkit::Device::cuda);
    f.workspace = dev.workspace(fm.workspace_bytes);
    cuda_ok(cudaStreamBeginCapture(stream, cudaStreamCaptureModeGlobal), "cudaStreamBeginCapture");
    std::string message;
    try {
      rnnkit::forward(c.cell(), c.options(false), f, rnnkit::ExecutionContext::cuda(0, stream));
    } catch (const rnnkit::Error& e) {
      message = e.what();
    }
    cudaGraph_t graph = nullptr;
    const cudaError_t ended = cudaStreamEndCapture(stream, &graph);
    if (graph) cudaGraphDestroy(graph);
    CHECK_MSG(message.find("being captured") != std::string::npos,
              "a first call inside a capture must say why it is refused, got: " + message);
    CHECK_MSG(ended == cudaSuccess, "the refused call must leave the caller's capture valid");
  }

  // After one ordinary call on the stream, calls inside the caller's capture work.
  for (bool use_graph : {true, false}) {
    GpuRun<float> warm = run_gpu<float>(c, in, use_graph, stream);
    GpuRun<float> captured = run_gpu<float>(c, in, use_graph, stream, true);
    for (const GpuRun<float>* run : {&warm, &captured}) {
      const std::string tag = std::string(run == &warm ? "on a stream" : "in the caller's graph") +
                              (use_graph ? " (graphs on)" : " (graphs off)");
      expect_same(run->out.output, plain.out.output, tag + " output");
      expect_same(run->out.final_h, plain.out.final_h, tag + " final_h");
      expect_same(run->out.reserve, plain.out.reserve, tag + " reserve");
      expect_same(run->grads.d_x, plain.grads.d_x, tag + " d_x");
      expect_same(run->grads.d_initial_h, plain.grads.d_initial_h, tag + " d_initial_h");
      expect_same(run->grads.d_kernel, plain.grads.d_kernel, tag + " d_kernel");
      expect_same(run->grads.d_recurrent_kernel, plain.grads.d_recurrent_kernel, tag + " d_recurrent_kernel");
      expect_same(run->grads.d_bias, plain.grads.d_bias, tag + " d_bias");
    }
  }
}

#if defined(RNNKIT_CUDA_EMULATION)
// The graph cache key (cuda/kernels.h) tells apart what changes the captured launches: the TF32
// switch for float32 (other cuBLAS kernels; float64 ignores it), the presence of an optional
// argument, the direction, forward against backward.
void graph_key() {
  const Config c = grid()[239];
  const rnnkit::plan::Dims d(c.cell(), c.B, c.T);
  const TensorView absent;
  TensorView present;
  present.rank = 2;
  const SequenceOptions options = c.options(true);
  SequenceOptions reversed = options;
  reversed.go_backwards = !options.go_backwards;
  const auto key = [&](const SequenceOptions& o, DType dtype, bool backward, bool tf32,
                       const TensorView& optional) {
    return rnnkit::cuda::call_key(c.cell(), o, d, dtype, backward, tf32, {&optional});
  };
  const std::uint64_t base = key(options, DType::float32, false, false, absent);
  CHECK(key(options, DType::float32, false, false, absent) == base);
  CHECK(key(options, DType::float32, false, true, absent) != base);
  CHECK(key(options, DType::float64, false, true, absent) ==
        key(options, DType::float64, false, false, absent));
  CHECK(key(options, DType::float64, false, false, absent) != base);
  CHECK(key(options, DType::float32, false, false, present) != base);
  CHECK(key(reversed, DType::float32, false, false, absent) != base);
  CHECK(key(options, DType::float32, true, false, absent) != base);
}

// Under the host emulation (cpp/tests/cuda_emulation), after the grid: the graph path ran (each
// configuration's second call was captured, then instantiated or updated, and launched) and the
// cache of executable graphs stayed bounded.
void emulated_graph_path_ran() {
  // One more configuration run four times: warm-up, capture + instantiate, then captures that
  // update the cached executable graph, each giving the same bits.
  Config c = grid()[239];
  Inputs<float> in = make_inputs(c).as<float>();
  const long updates_before = rnnkit_cuda_emulation_counters().updates;
  GpuRun<float> first = run_gpu<float>(c, in, true);
  for (int k = 0; k < 3; ++k) {
    GpuRun<float> again = run_gpu<float>(c, in, true);
    expect_same(again.out.output, first.out.output, "graph update, output");
    expect_same(again.grads.d_kernel, first.grads.d_kernel, "graph update, d_kernel");
  }
  CHECK(rnnkit_cuda_emulation_counters().updates >= updates_before + 2);
  const auto& count = rnnkit_cuda_emulation_counters();
  CHECK(count.captures >= 1);
  CHECK_EQ(count.launches, count.captures);
  CHECK(count.instantiations >= 1);
  CHECK(count.instantiations + count.updates >= count.captures);
  CHECK(count.live_graphs >= 1 && count.live_graphs <= 16);
  std::printf("emulated graphs: %ld captures, %ld instantiations, %ld updates, %ld launches\n",
              count.captures, count.instantiations, count.updates, count.launches);
}
#endif

}  // namespace
}  // namespace rnnkit_test

int main(int argc, char** argv) {
  using namespace rnnkit_test;
  std::string why;
  if (!rnnkit::cuda::is_available(&why)) {
    std::printf("SKIPPED: the CUDA backend cannot run here: %s\n", why.c_str());
    return 77;
  }
  std::printf("GPU 0: %s\n", rnnkit::cuda::device_description(0).c_str());
  for (const Config& c : grid()) {
    add_test(c.name + " float32", [c] { compare_with_cpu<float>(c); }, __FILE__, __LINE__);
    add_test(c.name + " float64", [c] { compare_with_cpu<double>(c); }, __FILE__, __LINE__);
  }
  add_test("refusals", refusals, __FILE__, __LINE__);
#if defined(RNNKIT_CUDA_EMULATION)
  add_test("graph key", graph_key, __FILE__, __LINE__);
  if (argc <= 1) add_test("emulated graph path", emulated_graph_path_ran, __FILE__, __LINE__);
#endif
  // After the emulated graph path (whose counters count every capture as launched).
  add_test("caller capture", caller_capture, __FILE__, __LINE__);
  return run_registered(argc, argv);
}
