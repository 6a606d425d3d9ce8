// rnnkit::Stream: the checks of every call, then the CPU kernel (cpu/stream.cpp).
#include "rnnkit/stream.h"

#include <cmath>
#include <cstring>
#include <string>

#include "cpu/stream.h"
#include "rnnkit/error.h"
#include "thread_pool.h"
#include "validate.h"

namespace rnnkit {

class Stream::Impl {
 public:
  Impl(const CellSpec& c, DType d, std::int64_t b, const StreamOptions& o)
      : cell(c), dtype(d), batch(b), format(o.weight_format),
        kernel(cpu::make_stream_kernel(c, d, b, o)) {}

  CellSpec cell;
  DType dtype;
  std::int64_t batch;
  WeightFormat format;
  std::unique_ptr<cpu::StreamKernel> kernel;
};

namespace {

[[noreturn]] void fail(const std::string& message) { throw InvalidArgument(message); }

std::string dims(std::initializer_list<std::int64_t> shape) {
  std::string s = "(";
  int i = 0;
  for (auto e : shape) s += (i++ ? ", " : "") + std::to_string(e);
  return s + (shape.size() == 1 ? ",)" : ")");
}

void expect_weights(const CellSpec& cell, DType dtype, const TensorView& kernel,
                    const TensorView& recurrent_kernel, const TensorView& bias) {
  const std::int64_t I = cell.input_size, H = cell.units, GH = cell.gates() * cell.units;
  expect_tensor(kernel, "kernel", dtype, Device::cpu, {I, GH});
  expect_tensor(recurrent_kernel, "recurrent_kernel", dtype, Device::cpu, {H, GH});
  if (!cell.use_bias) {
    if (bias.present()) fail("argument 'bias' must not be given: the cell has use_bias = false");
    return;
  }
  if (!bias.present()) fail("argument 'bias' is required when use_bias = true");
  if (cell.kind == CellKind::gru && cell.reset_after) {
    expect_tensor(bias, "bias", dtype, Device::cpu, {2, GH});
  } else {
    expect_tensor(bias, "bias", dtype, Device::cpu, {GH});
  }
}

// A 16-bit format refuses a weight whose rounding to it is not finite: NaN, infinities, and
// magnitudes that round past the format's largest finite value (ties to even: from 65520 for
// float16, from the bit pattern 0x7f7f8000 for bfloat16).
void expect_representable(const TensorView& w, const char* name, WeightFormat format) {
  if (format == WeightFormat::float32) return;
  const std::uint32_t limit = format == WeightFormat::float16 ? 0x477ff000u : 0x7f7f8000u;
  const float* v = w.as<const float>();
  const std::int64_t n = w.numel(), cols = w.shape[w.rank - 1];
  for (std::int64_t i = 0; i < n; ++i) {
    std::uint32_t bits;
    std::memcpy(&bits, v + i, sizeof bits);
    if ((bits & 0x7fffffffu) < limit) continue;
    fail(std::string("argument '") + name + "' holds " + std::to_string(v[i]) + " at [" +
         std::to_string(i / cols) + ", " + std::to_string(i % cols) + "], which weight_format " +
         weight_format_name(format) + " cannot represent (expected a finite value of magnitude " +
         (format == WeightFormat::float16 ? "below 65520" : "below 3.3961e38") + ")");
  }
}

bool overlap(const TensorView& a, const TensorView& b) {
  const char* a0 = static_cast<const char*>(a.data);
  const char* b0 = static_cast<const char*>(b.data);
  const char* a1 = a0 + a.numel() * dtype_size(a.dtype);
  const char* b1 = b0 + b.numel() * dtype_size(b.dtype);
  return a0 < b1 && b0 < a1;
}

}  // namespace

const char* weight_format_name(WeightFormat format) {
  switch (format) {
    case WeightFormat::float32: return "float32";
    case WeightFormat::bfloat16: return "bfloat16";
    case WeightFormat::float16: return "float16";
  }
  fail("StreamOptions::weight_format must be float32, bfloat16 or float16, got the value " +
       std::to_string(static_cast<int>(format)));
}

WeightFormat weight_format_from_name(const std::string& name, const char* argument) {
  if (name == "float32") return WeightFormat::float32;
  if (name == "bfloat16") return WeightFormat::bfloat16;
  if (name == "float16") return WeightFormat::float16;
  fail(std::string("argument '") + argument +
       "' must be one of 'float32', 'bfloat16', 'float16', got '" + name + "'");
}

Stream::Stream(const CellSpec& cell, DType dtype, std::int64_t batch, const TensorView& kernel,
               const TensorView& recurrent_kernel, const TensorView& bias,
               const StreamOptions& options) {
  validate_cell(cell);
  if (dtype != DType::float32 && dtype != DType::float64) {
    throw TypeMismatch(std::string("dtype must be float32 or float64, got ") + dtype_name(dtype));
  }
  if (batch < 1) fail("batch must be at least 1, got " + std::to_string(batch));
  validate_dims(cell, batch, 1);
  weight_format_name(options.weight_format);  // throws for a value outside the enum
  if (dtype != DType::float32 && options.weight_format != WeightFormat::float32) {
    fail(std::string("StreamOptions::weight_format ") + weight_format_name(options.weight_format) +
         " needs a float32 stream, got dtype " + dtype_name(dtype) +
         " (a float64 stream stores float64 weights)");
  }
  expect_weights(cell, dtype, kernel, recurrent_kernel, bias);
  expect_representable(kernel, "kernel", options.weight_format);
  expect_representable(recurrent_kernel, "recurrent_kernel", options.weight_format);
  impl_ = std::make_unique<Impl>(cell, dtype, batch, options);
  impl_->kernel->set_weights(kernel.data, recurrent_kernel.data,
                             bias.present() ? bias.data : nullptr);
}

Stream::~Stream() = default;
Stream::Stream(Stream&&) noexcept = default;
Stream& Stream::operator=(Stream&&) noexcept = default;

void Stream::set_weights(const TensorView& kernel, const TensorView& recurrent_kernel,
                         const TensorView& bias) {
  expect_weights(impl_->cell, impl_->dtype, kernel, recurrent_kernel, bias);
  expect_representable(kernel, "kernel", impl_->format);
  expect_representable(recurrent_kernel, "recurrent_kernel", impl_->format);
  impl_->kernel->set_weights(kernel.data, recurrent_kernel.data,
                             bias.present() ? bias.data : nullptr);
}

void Stream::step(const TensorView& x_t, const TensorView& output) {
  const Impl& s = *impl_;
  expect_tensor(x_t, "x_t", s.dtype, Device::cpu, {s.batch, s.cell.input_size});
  expect_tensor(output, "output", s.dtype, Device::cpu, {s.batch, s.cell.units});
  if (overlap(x_t, output)) fail("argument 'output' must not overlap 'x_t'");
  const detail::FlushDenormals flush;  // as forward does: the same bits
  impl_->kernel->run(x_t.data, 1, output.data, true, nullptr);
}

void Stream::run(const TensorView& x, const TensorView& output, const TensorView& mask) {
  const Impl& s = *impl_;
  if (x.rank != 3) {
    fail("argument 'x' must have shape (batch, timesteps, features) = (" +
         std::to_string(s.batch) + ", T, " + std::to_string(s.cell.input_size) + "), got " +
         shape_string(x));
  }
  const std::int64_t T = x.shape[1];
  if (T < 1) fail("argument 'x' must have at least one timestep, got shape " + shape_string(x));
  expect_tensor(x, "x", s.dtype, Device::cpu, {s.batch, T, s.cell.input_size});
  const bool sequences = output.rank == 3;
  if (sequences) {
    expect_tensor(output, "output", s.dtype, Device::cpu, {s.batch, T, s.cell.units});
  } else if (output.rank == 2) {
    expect_tensor(output, "output", s.dtype, Device::cpu, {s.batch, s.cell.units});
  } else {
    fail("argument 'output' must have shape " + dims({s.batch, T, s.cell.units}) + " or " +
         dims({s.batch, s.cell.units}) + ", got " + shape_string(output));
  }
  if (overlap(x, output)) fail("argument 'output' must not overlap 'x'");
  if (mask.present()) {
    if (mask.dtype != DType::uint8) {
      throw TypeMismatch(std::string("argument 'mask' must be uint8 (or bool), got ") +
                         dtype_name(mask.dtype));
    }
    expect_tensor(mask, "mask", DType::uint8, Device::cpu, {s.batch, T});
  }
  const detail::FlushDenormals flush;
  impl_->kernel->run(x.data, T, output.data, sequences,
                     mask.present() ? mask.as<const std::uint8_t>() : nullptr);
}

void Stream::reset_states() { impl_->kernel->reset_states(); }

void Stream::set_states(const TensorView& h, const TensorView& c) {
  const Impl& s = *impl_;
  expect_tensor(h, "h", s.dtype, Device::cpu, {s.batch, s.cell.units});
  if (c.present()) {
    if (s.cell.kind != CellKind::lstm) fail("argument 'c' must not be given: only LSTM has a carry state");
    expect_tensor(c, "c", s.dtype, Device::cpu, {s.batch, s.cell.units});
  }
  impl_->kernel->set_states(h.data, c.present() ? c.data : nullptr);
}

void Stream::states(const TensorView& h, const TensorView& c) const {
  const Impl& s = *impl_;
  expect_tensor(h, "h", s.dtype, Device::cpu, {s.batch, s.cell.units});
  if (c.present()) {
    if (s.cell.kind != CellKind::lstm) fail("argument 'c' must not be given: only LSTM has a carry state");
    expect_tensor(c, "c", s.dtype, Device::cpu, {s.batch, s.cell.units});
    if (overlap(h, c)) fail("argument 'c' must not overlap 'h'");
  }
  impl_->kernel->states(h.data, c.present() ? c.data : nullptr);
}

const CellSpec& Stream::cell() const { return impl_->cell; }
DType Stream::dtype() const { return impl_->dtype; }
std::int64_t Stream::batch() const { return impl_->batch; }
WeightFormat Stream::weight_format() const { return impl_->format; }

}  // namespace rnnkit
