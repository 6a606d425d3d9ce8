#include "validate.h"

#include <sstream>
#include <string>
#include <utility>

#include "rnnkit/error.h"

namespace rnnkit {

std::string shape_string(const TensorView& view) {
  std::ostringstream out;
  out << "(";
  for (int i = 0; i < view.rank; ++i) {
    if (i) out << ", ";
    out << view.shape[i];
  }
  if (view.rank == 1) out << ",";
  out << ")";
  return out.str();
}

namespace {

std::string shape_string(std::initializer_list<std::int64_t> shape) {
  TensorView view;
  view.rank = static_cast<int>(shape.size());
  int i = 0;
  for (auto extent : shape) view.shape[i++] = extent;
  return shape_string(view);
}

[[noreturn]] void fail(const std::string& message) { throw InvalidArgument(message); }

void expect_absent(const TensorView& view, const char* name, const char* why) {
  if (view.present()) fail(std::string("argument '") + name + "' must not be given: " + why);
}

void expect_float(const TensorView& view, const char* name) {
  if (view.dtype != DType::float32 && view.dtype != DType::float64) {
    throw TypeMismatch(std::string("argument '") + name + "' must be float32 or float64, got " +
                       dtype_name(view.dtype));
  }
}

std::int64_t bias_rows(const CellSpec& cell) {
  return cell.kind == CellKind::gru && cell.reset_after ? 2 : 1;
}

void expect_bias(const TensorView& view, const char* name, const CellSpec& cell,
                 const CallSizes& sizes) {
  const std::int64_t width = cell.gates() * cell.units;
  if (!cell.use_bias) {
    expect_absent(view, name, "the cell has use_bias = false");
    return;
  }
  if (!view.present()) fail(std::string("argument '") + name + "' is required when use_bias = true");
  if (bias_rows(cell) == 2) {
    if (view.rank == 1 && view.shape[0] == width) {
      fail(std::string("argument '") + name + "' must have shape " +
           shape_string({2, width}) + " for a GRU with reset_after=True (row 0 input bias, " +
           "row 1 recurrent bias), got " + shape_string(view) +
           ", the shape of a reset_after=False bias");
    }
    expect_tensor(view, name, sizes.dtype, sizes.device, {2, width});
  } else {
    if (view.rank == 2 && cell.kind == CellKind::gru) {
      fail(std::string("argument '") + name + "' must have shape " + shape_string({width}) +
           " for a GRU with reset_after=False, got " + shape_string(view) +
           ", the shape of a reset_after=True bias");
    }
    expect_tensor(view, name, sizes.dtype, sizes.device, {width});
  }
}

void expect_mask(const TensorView& view, const CallSizes& sizes) {
  if (!view.present()) return;
  if (view.dtype != DType::uint8) {
    throw TypeMismatch(std::string("argument 'mask' must be uint8 (or bool), got ") +
                       dtype_name(view.dtype));
  }
  expect_tensor(view, "mask", DType::uint8, sizes.device, {sizes.batch, sizes.timesteps});
}

void expect_workspace(const TensorView& view, const char* name, std::int64_t bytes,
                      const CallSizes& sizes) {
  if (bytes == 0) return;
  if (!view.present()) {
    fail(std::string("argument '") + name + "' is required: " + std::to_string(bytes) +
         " bytes (see forward_memory / backward_memory)");
  }
  if (view.device != sizes.device) {
    throw TypeMismatch(std::string("argument '") + name + "' is on another device than 'x'");
  }
  const std::int64_t have = view.numel() * dtype_size(view.dtype);
  if (have < bytes) {
    fail(std::string("argument '") + name + "' is too small: needs " + std::to_string(bytes) +
         " bytes, got " + std::to_string(have));
  }
  if (!view.is_contiguous()) fail(std::string("argument '") + name + "' must be C-contiguous");
}

CallSizes sizes_from_x(const CellSpec& cell, const TensorView& x) {
  if (!x.present()) fail("argument 'x' is required");
  expect_float(x, "x");
  if (x.rank != 3) {
    fail("argument 'x' must have shape (batch, timesteps, features) = (B, T, " +
         std::to_string(cell.input_size) + "), got rank " + std::to_string(x.rank) +
         " with shape " + shape_string(x));
  }
  if (x.shape[0] < 1 || x.shape[1] < 1) {
    fail("argument 'x' must have at least one sample and one timestep, got shape " + shape_string(x));
  }
  CallSizes sizes;
  sizes.batch = x.shape[0];
  sizes.timesteps = x.shape[1];
  sizes.dtype = x.dtype;
  sizes.device = x.device;
  expect_tensor(x, "x", sizes.dtype, sizes.device, {sizes.batch, sizes.timesteps, cell.input_size});
  return sizes;
}

void expect_weights(const CellSpec& cell, const CallSizes& sizes, const TensorView& kernel,
                    const TensorView& recurrent_kernel, const TensorView& bias,
                    const TensorView& initial_h, const TensorView& initial_c,
                    const TensorView& mask, const TensorView& input_dropout,
                    const TensorView& recurrent_dropout) {
  const std::int64_t H = cell.units, GH = cell.gates() * H;
  expect_tensor(kernel, "kernel", sizes.dtype, sizes.device, {cell.input_size, GH});
  expect_tensor(recurrent_kernel, "recurrent_kernel", sizes.dtype, sizes.device, {H, GH});
  expect_bias(bias, "bias", cell, sizes);
  if (initial_h.present()) expect_tensor(initial_h, "initial_h", sizes.dtype, sizes.device, {sizes.batch, H});
  if (cell.kind == CellKind::lstm) {
    if (initial_c.present()) expect_tensor(initial_c, "initial_c", sizes.dtype, sizes.device, {sizes.batch, H});
  } else {
    expect_absent(initial_c, "initial_c", "only an LSTM has a carry state");
  }
  expect_mask(mask, sizes);
  expect_dropout(input_dropout, "input_dropout", cell, sizes, cell.input_size);
  expect_dropout(recurrent_dropout, "recurrent_dropout", cell, sizes, H);
}


// x decides the call's device; it must be the context's. On a GPU every tensor must be on the
// context's GPU (a pointer into another GPU's memory would fault or read garbage).
void expect_context(const CallSizes& sizes, const ExecutionContext& context,
                    std::initializer_list<std::pair<const char*, const TensorView*>> views) {
  if (context.device != Device::cpu && context.device != Device::cuda) {
    fail("the execution context's device is not cpu or cuda");
  }
  if (sizes.device != context.device) {
    throw TypeMismatch(std::string("argument 'x' is in ") + device_name(sizes.device) +
                       " memory, but the call's execution context is " +
                       device_name(context.device) + ": pass arrays of the context's device");
  }
  if (context.device != Device::cuda) return;
  if (context.device_index < 0) {
    fail("the execution context's device_index must be >= 0, got " +
         std::to_string(context.device_index));
  }
  for (const auto& [name, view] : views) {
    if (view->present() && view->device_index != context.device_index) {
      throw TypeMismatch(std::string("argument '") + name + "' is on cuda:" +
                         std::to_string(view->device_index) + ", but the call runs on cuda:" +
                         std::to_string(context.device_index));
    }
  }
}

}  // namespace

void validate_cell(const CellSpec& cell) {
  if (cell.units < 1) {
    fail("Received an invalid value for argument `units`, expected a positive integer, got " +
         std::to_string(cell.units));
  }
  if (cell.input_size < 1) {
    fail("argument 'input_size' (features of x) must be a positive integer, got " +
         std::to_string(cell.input_size));
  }
  checked_mul(cell.gates(), cell.units, "argument 'units': gates * units");
}

std::int64_t checked_mul(std::int64_t a, std::int64_t b, const char* what) {
  std::int64_t product = 0;
  if (a < 0 || b < 0 || __builtin_mul_overflow(a, b, &product)) {
    fail(std::string(what) + " = " + std::to_string(a) + " * " + std::to_string(b) +
         " overflows a 64-bit size");
  }
  return product;
}

namespace {

// The bound validate_dims checks: every buffer (reserve, scratch, packed panels, outputs) is at
// most a small multiple of one of these terms; bounding 16x their sum in bytes (8 per element)
// plus the alignment slack bounds every product and byte count derived from them. `mul` and
// `add` say what an overflow does.
template <class Mul, class Add>
void bound_sizes(std::int64_t G, std::int64_t H, std::int64_t I, std::int64_t batch,
                 std::int64_t timesteps, Mul mul, Add add) {
  constexpr std::int64_t kPad = 64;  // >= any panel width or alignment, in elements
  const std::int64_t GH = mul(G, H);
  const std::int64_t rows = mul(batch, timesteps);
  const std::int64_t width = add(add(GH, I), H);
  std::int64_t total = mul(rows, width);
  total = add(total, mul(batch, GH));
  total = add(total, mul(add(GH, kPad), add(H, kPad)));
  total = mul(mul(total, 16), 8);
  add(total, kPad * kPad);
}

}  // namespace

void validate_dims(const CellSpec& cell, std::int64_t batch, std::int64_t timesteps) {
  const std::int64_t G = cell.gates(), H = cell.units, I = cell.input_size;
  // Every call checks; only a failing one builds the message (it costs more than the check).
  bool fits = true;
  bound_sizes(
      G, H, I, batch, timesteps,
      [&fits](std::int64_t a, std::int64_t b) {
        std::int64_t product = 0;
        if (a < 0 || b < 0 || __builtin_mul_overflow(a, b, &product)) fits = false;
        return product;
      },
      [&fits](std::int64_t a, std::int64_t b) {
        std::int64_t sum = 0;
        if (__builtin_add_overflow(a, b, &sum)) fits = false;
        return sum;
      });
  if (fits) return;
  const std::pair<const char*, std::int64_t> extents[] = {
      {"units", H}, {"input_size (features of 'x')", I}, {"batch (x.shape[0])", batch},
      {"timesteps (x.shape[1])", timesteps}};
  const auto* largest = &extents[0];
  for (const auto& e : extents)
    if (e.second > largest->second) largest = &e;
  const std::string what = std::string("argument '") + largest->first +
                           "' is too large for this call's sizes (batch=" + std::to_string(batch) +
                           ", timesteps=" + std::to_string(timesteps) + ", input_size=" +
                           std::to_string(I) + ", units=" + std::to_string(H) + ", gates=" +
                           std::to_string(G) + "): a size";
  const char* w = what.c_str();
  bound_sizes(
      G, H, I, batch, timesteps, [w](std::int64_t a, std::int64_t b) { return checked_mul(a, b, w); },
      [w](std::int64_t a, std::int64_t b) {
        std::int64_t sum = 0;
        if (__builtin_add_overflow(a, b, &sum)) {
          fail(std::string(w) + " = " + std::to_string(a) + " + " + std::to_string(b) +
               " overflows a 64-bit size");
        }
        return sum;
      });
}

void expect_tensor(const TensorView& view, const char* name, DType dtype, Device device,
                   std::initializer_list<std::int64_t> shape) {
  if (!view.present()) fail(std::string("argument '") + name + "' is required");
  if (view.dtype != dtype) {
    throw TypeMismatch(std::string("argument '") + name + "' has dtype " + dtype_name(view.dtype) +
                       " but must be " + dtype_name(dtype) +
                       (dtype == DType::uint8 ? "" : " like 'x' (rnnkit never casts silently)"));
  }
  if (view.device != device) {
    throw TypeMismatch(std::string("argument '") + name + "' is on another device than 'x'");
  }
  bool same = view.rank == static_cast<int>(shape.size());
  int i = 0;
  for (auto extent : shape) {
    if (same && view.shape[i] != extent) same = false;
    ++i;
  }
  if (!same) {
    fail(std::string("argument '") + name + "' must have shape " + shape_string(shape) + ", got " +
         shape_string(view));
  }
  if (view.data == nullptr) fail(std::string("argument '") + name + "' has no data");
  if (!view.is_contiguous()) {
    fail(std::string("argument '") + name + "' must be C-contiguous (row-major without gaps); " +
         "pass a contiguous copy");
  }
  if (reinterpret_cast<std::uintptr_t>(view.data) % dtype_size(view.dtype) != 0) {
    fail(std::string("argument '") + name + "' is not aligned to its element size; pass an aligned copy");
  }
}

int expect_dropout(const TensorView& view, const char* name, const CellSpec& cell,
                   const CallSizes& sizes, std::int64_t width) {
  if (!view.present()) return 0;
  if (view.rank == 3) {
    expect_tensor(view, name, sizes.dtype, sizes.device, {cell.gates(), sizes.batch, width});
    return cell.gates();
  }
  if (view.rank != 2) {
    fail(std::string("argument '") + name + "' must have shape " +
         shape_string({sizes.batch, width}) + " (one mask for all gates) or " +
         shape_string({cell.gates(), sizes.batch, width}) + " (one per gate), got " +
         shape_string(view));
  }
  expect_tensor(view, name, sizes.dtype, sizes.device, {sizes.batch, width});
  return 1;
}

namespace {

void expect_bfloat16_matmuls_allowed(const SequenceOptions& options, const CallSizes& sizes) {
  if (options.bfloat16_matmuls && (sizes.dtype != DType::float32 || sizes.device != Device::cpu)) {
    fail(std::string("options.bfloat16_matmuls needs float32 tensors on the CPU, got ") +
         (sizes.dtype != DType::float32 ? "float64 tensors" : "tensors on a CUDA device"));
  }
}

}  // namespace

CallSizes validate_forward(const CellSpec& cell, const SequenceOptions& options,
                           const ForwardArgs& args, const ExecutionContext& context) {
  validate_cell(cell);
  const CallSizes sizes = sizes_from_x(cell, args.x);
  validate_dims(cell, sizes.batch, sizes.timesteps);
  expect_context(sizes, context,
                 {{"x", &args.x}, {"kernel", &args.kernel},
                  {"recurrent_kernel", &args.recurrent_kernel}, {"bias", &args.bias},
                  {"initial_h", &args.initial_h}, {"initial_c", &args.initial_c},
                  {"mask", &args.mask}, {"input_dropout", &args.input_dropout},
                  {"recurrent_dropout", &args.recurrent_dropout}, {"output", &args.output},
                  {"final_h", &args.final_h}, {"final_c", &args.final_c},
                  {"reserve", &args.reserve}, {"workspace", &args.workspace}});
  expect_weights(cell, sizes, args.kernel, args.recurrent_kernel, args.bias, args.initial_h,
                 args.initial_c, args.mask, args.input_dropout, args.recurrent_dropout);
  expect_bfloat16_matmuls_allowed(options, sizes);
  const std::int64_t B = sizes.batch, T = sizes.timesteps, H = cell.units;
  if (options.return_sequences) {
    expect_tensor(args.output, "output", sizes.dtype, sizes.device, {B, T, H});
  } else {
    expect_tensor(args.output, "output", sizes.dtype, sizes.device, {B, H});
  }
  expect_tensor(args.final_h, "final_h", sizes.dtype, sizes.device, {B, H});
  if (cell.kind == CellKind::lstm) {
    expect_tensor(args.final_c, "final_c", sizes.dtype, sizes.device, {B, H});
  } else {
    expect_absent(args.final_c, "final_c", "only an LSTM has a carry state");
  }
  const MemorySizes need = forward_memory(cell, options, sizes.dtype, B, T, sizes.device);
  if (options.training) {
    expect_tensor(args.reserve, "reserve", sizes.dtype, sizes.device, {need.reserve_elements});
  }
  expect_workspace(args.workspace, "workspace", need.workspace_bytes, sizes);
  return sizes;
}

CallSizes validate_backward(const CellSpec& cell, const SequenceOptions& options,
                            const BackwardArgs& args, const ExecutionContext& context) {
  validate_cell(cell);
  if (!options.training) {
    fail("backward needs the reserve of a forward call made with training = true; "
         "options.training is false");
  }
  const CallSizes sizes = sizes_from_x(cell, args.x);
  validate_dims(cell, sizes.batch, sizes.timesteps);
  expect_context(sizes, context,
                 {{"x", &args.x}, {"kernel", &args.kernel},
                  {"recurrent_kernel", &args.recurrent_kernel}, {"bias", &args.bias},
                  {"initial_h", &args.initial_h}, {"initial_c", &args.initial_c},
                  {"mask", &args.mask}, {"input_dropout", &args.input_dropout},
                  {"recurrent_dropout", &args.recurrent_dropout}, {"reserve", &args.reserve},
                  {"d_output", &args.d_output}, {"d_final_h", &args.d_final_h},
                  {"d_final_c", &args.d_final_c}, {"d_x", &args.d_x},
                  {"d_initial_h", &args.d_initial_h}, {"d_initial_c", &args.d_initial_c},
                  {"d_kernel", &args.d_kernel}, {"d_recurrent_kernel", &args.d_recurrent_kernel},
                  {"d_bias", &args.d_bias}, {"workspace", &args.workspace}});
  expect_weights(cell, sizes, args.kernel, args.recurrent_kernel, args.bias, args.initial_h,
                 args.initial_c, args.mask, args.input_dropout, args.recurrent_dropout);
  expect_bfloat16_matmuls_allowed(options, sizes);
  const std::int64_t B = sizes.batch, T = sizes.timesteps, H = cell.units;
  const MemorySizes reserve = forward_memory(cell, options, sizes.dtype, B, T, sizes.device);
  if (!args.reserve.present()) {
    fail("argument 'reserve' is required: pass the reserve filled by forward with training = true");
  }
  expect_tensor(args.reserve, "reserve", sizes.dtype, sizes.device, {reserve.reserve_elements});
  if (options.return_sequences) {
    expect_tensor(args.d_output, "d_output", sizes.dtype, sizes.device, {B, T, H});
  } else {
    expect_tensor(args.d_output, "d_output", sizes.dtype, sizes.device, {B, H});
  }
  if (args.d_final_h.present()) expect_tensor(args.d_final_h, "d_final_h", sizes.dtype, sizes.device, {B, H});
  const bool lstm = cell.kind == CellKind::lstm;
  if (lstm) {
    if (args.d_final_c.present()) expect_tensor(args.d_final_c, "d_final_c", sizes.dtype, sizes.device, {B, H});
    if (args.d_initial_c.present()) expect_tensor(args.d_initial_c, "d_initial_c", sizes.dtype, sizes.device, {B, H});
  } else {
    expect_absent(args.d_final_c, "d_final_c", "only an LSTM has a carry state");
    expect_absent(args.d_initial_c, "d_initial_c", "only an LSTM has a carry state");
  }
  if (args.d_x.present()) expect_tensor(args.d_x, "d_x", sizes.dtype, sizes.device, {B, T, cell.input_size});
  if (args.d_initial_h.present()) expect_tensor(args.d_initial_h, "d_initial_h", sizes.dtype, sizes.device, {B, H});
  expect_tensor(args.d_kernel, "d_kernel", sizes.dtype, sizes.device,
                {cell.input_size, cell.gates() * H});
  expect_tensor(args.d_recurrent_kernel, "d_recurrent_kernel", sizes.dtype, sizes.device,
                {H, cell.gates() * H});
  expect_bias(args.d_bias, "d_bias", cell, sizes);
  const MemorySizes need = backward_memory(cell, options, sizes.dtype, B, T, sizes.device);
  expect_workspace(args.workspace, "workspace", need.workspace_bytes, sizes);
  return sizes;
}

}  // namespace rnnkit
