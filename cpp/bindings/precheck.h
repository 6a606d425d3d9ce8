// Checks of one call's arguments from the arrays' metadata alone (dtype, shape, strides, address),
// made by the binding before it allocates an output or anyone copies an input.
//
// The core validates every tensor too, but only once the binding has allocated the outputs, the
// reserve and the workspace for the sizes the call states; a refused call could cost gigabytes
// first (a zero-size recurrent_kernel of shape (2**31, 0) states units = 2**31). So the binding
// proves here, with the core's rules and messages, that the core will accept the inputs, and only
// then allocates. The sizes come from the core itself (rnnkit::forward_memory, which applies the
// core's cell and overflow checks); the tensor rules restate the core's expect_tensor.
//
// Two modes:
//   * Mode::exact: the arrays the core will read (rnnkit._core.forward / backward): C-contiguous,
//     aligned, mask uint8 or bool, batch and features >= 1.
//   * Mode::metadata: the arrays a Python caller holds before it converts them
//     (rnnkit.core checks with it first, then copies): any layout, a mask of any boolean or
//     numeric dtype, and an empty batch or no features (rnnkit.core pads those).
#pragma once

#include <algorithm>
#include <cstdint>
#include <initializer_list>
#include <string>

#include "rnnkit/rnnkit.h"

namespace rnnkit_bindings {

enum class Mode { exact, metadata };

// The input views one forward or backward call shares (see rnnkit::ForwardArgs).
struct InputViews {
  rnnkit::TensorView x, kernel, recurrent_kernel, bias, initial_h, initial_c, mask, input_dropout,
      recurrent_dropout;
};

// What the gradient call adds (see rnnkit::BackwardArgs).
struct GradientViews {
  rnnkit::TensorView reserve, d_output, d_final_h, d_final_c;
};

// The sizes a checked call allocates with.
struct CheckedSizes {
  std::int64_t batch = 0, timesteps = 0;
  rnnkit::DType dtype = rnnkit::DType::float32;
  rnnkit::MemorySizes memory;  // of the forward call (reserve) or of the backward call
  std::int64_t reserve_elements = 0;
};

namespace detail {

inline std::string shape_string(const std::int64_t* shape, int rank) {
  std::string out = "(";
  for (int i = 0; i < rank; ++i) {
    if (i) out += ", ";
    out += std::to_string(shape[i]);
  }
  if (rank == 1) out += ",";
  return out + ")";
}

inline std::string shape_string(const rnnkit::TensorView& view) {
  return shape_string(view.shape, view.rank);
}

inline std::string shape_string(std::initializer_list<std::int64_t> shape) {
  return shape_string(shape.begin(), static_cast<int>(shape.size()));
}

[[noreturn]] inline void fail(const std::string& message) { throw rnnkit::InvalidArgument(message); }

inline std::string arg(const char* name) { return std::string("argument '") + name + "'"; }

inline void expect_absent(const rnnkit::TensorView& view, const char* name, const char* why) {
  if (view.present()) fail(arg(name) + " must not be given: " + why);
}

// The core's expect_tensor: present, dtype, exact shape; with Mode::exact also data, C order and
// alignment.
inline void expect_tensor(const rnnkit::TensorView& view, const char* name, rnnkit::DType dtype,
                          std::initializer_list<std::int64_t> shape, Mode mode) {
  if (!view.present()) fail(arg(name) + " is required");
  if (view.dtype != dtype) {
    throw rnnkit::TypeMismatch(arg(name) + " has dtype " + rnnkit::dtype_name(view.dtype) +
                               " but must be " + rnnkit::dtype_name(dtype) +
                               (dtype == rnnkit::DType::uint8 ? ""
                                                              : " like 'x' (rnnkit never casts silently)"));
  }
  bool same = view.rank == static_cast<int>(shape.size());
  int i = 0;
  for (auto extent : shape) {
    if (same && view.shape[i] != extent) same = false;
    ++i;
  }
  if (!same) fail(arg(name) + " must have shape " + shape_string(shape) + ", got " + shape_string(view));
  if (mode != Mode::exact) return;
  if (view.data == nullptr) fail(arg(name) + " has no data");
  if (!view.is_contiguous()) {
    fail(arg(name) + " must be C-contiguous (row-major without gaps); pass a contiguous copy");
  }
  if (reinterpret_cast<std::uintptr_t>(view.data) % rnnkit::dtype_size(view.dtype) != 0) {
    fail(arg(name) + " is not aligned to its element size; pass an aligned copy");
  }
}

inline void expect_bias(const rnnkit::TensorView& view, const rnnkit::CellSpec& cell,
                        rnnkit::DType dtype, Mode mode) {
  const std::int64_t width = cell.gates() * cell.units;
  if (!cell.use_bias) {
    expect_absent(view, "bias", "the cell has use_bias = false");
    return;
  }
  if (!view.present()) fail("argument 'bias' is required when use_bias = true");
  if (cell.kind == rnnkit::CellKind::gru && cell.reset_after) {
    if (view.rank == 1 && view.shape[0] == width) {
      fail("argument 'bias' must have shape " + shape_string({2, width}) +
           " for a GRU with reset_after=True (row 0 input bias, row 1 recurrent bias), got " +
           shape_string(view) + ", the shape of a reset_after=False bias");
    }
    expect_tensor(view, "bias", dtype, {2, width}, mode);
  } else {
    if (view.rank == 2 && cell.kind == rnnkit::CellKind::gru) {
      fail("argument 'bias' must have shape " + shape_string({width}) +
           " for a GRU with reset_after=False, got " + shape_string(view) +
           ", the shape of a reset_after=True bias");
    }
    expect_tensor(view, "bias", dtype, {width}, mode);
  }
}

inline void expect_dropout(const rnnkit::TensorView& view, const char* name,
                           const rnnkit::CellSpec& cell, std::int64_t batch, std::int64_t width,
                           rnnkit::DType dtype, Mode mode) {
  if (!view.present()) return;
  if (view.rank == 3) {
    expect_tensor(view, name, dtype, {cell.gates(), batch, width}, mode);
    return;
  }
  if (view.rank != 2) {
    fail(arg(name) + " must have shape " + shape_string({batch, width}) +
         " (one mask for all gates) or " + shape_string({cell.gates(), batch, width}) +
         " (one per gate), got " + shape_string(view));
  }
  expect_tensor(view, name, dtype, {batch, width}, mode);
}

}  // namespace detail

// Proves that the core accepts these inputs (see the modes above) and returns the sizes to
// allocate with. Throws rnnkit::InvalidArgument / TypeMismatch (ValueError / TypeError) with the
// core's messages; reads no data and allocates nothing.
inline CheckedSizes check_inputs(const rnnkit::CellSpec& cell, const rnnkit::SequenceOptions& options,
                                 const InputViews& in, Mode mode) {
  using detail::fail;
  using rnnkit::DType;
  const bool exact = mode == Mode::exact;
  // The core's validate_cell, before anything is derived from the sizes.
  if (cell.units < 1) {
    fail("Received an invalid value for argument `units`, expected a positive integer, got " +
         std::to_string(cell.units));
  }
  if (cell.input_size < (exact ? 1 : 0)) {
    fail("argument 'input_size' (features of x) must be a positive integer, got " +
         std::to_string(cell.input_size));
  }
  // x states the batch, the timesteps and the dtype.
  const auto& x = in.x;
  if (!x.present()) fail("argument 'x' is required");
  if (x.dtype != DType::float32 && x.dtype != DType::float64) {
    throw rnnkit::TypeMismatch(std::string("argument 'x' must be float32 or float64, got ") +
                               rnnkit::dtype_name(x.dtype));
  }
  if (x.rank != 3) {
    fail("argument 'x' must have shape (batch, timesteps, features) = (B, T, " +
         std::to_string(cell.input_size) + "), got rank " + std::to_string(x.rank) +
         " with shape " + detail::shape_string(x));
  }
  if (x.shape[0] < (exact ? 1 : 0) || x.shape[1] < 1) {
    fail("argument 'x' must have at least one sample and one timestep, got shape " +
         detail::shape_string(x));
  }
  CheckedSizes sizes;
  sizes.batch = x.shape[0];
  sizes.timesteps = x.shape[1];
  sizes.dtype = x.dtype;
  const std::int64_t B = sizes.batch, T = sizes.timesteps, I = cell.input_size, H = cell.units;
  detail::expect_tensor(x, "x", sizes.dtype, {B, T, I}, mode);
  // The core's own size checks (units, overflow of every derived size) on the call it will see:
  // rnnkit.core runs an empty batch or featureless input as one dummy sample / one zero feature.
  rnnkit::CellSpec run = cell;
  run.input_size = std::max<std::int64_t>(I, 1);
  rnnkit::SequenceOptions forward_options = options;
  forward_options.training = true;
  sizes.reserve_elements =
      rnnkit::forward_memory(run, forward_options, sizes.dtype, std::max<std::int64_t>(B, 1), T)
          .reserve_elements;
  const std::int64_t GH = cell.gates() * H;  // fits: forward_memory proved it
  detail::expect_tensor(in.kernel, "kernel", sizes.dtype, {I, GH}, mode);
  detail::expect_tensor(in.recurrent_kernel, "recurrent_kernel", sizes.dtype, {H, GH}, mode);
  detail::expect_bias(in.bias, cell, sizes.dtype, mode);
  if (in.initial_h.present()) detail::expect_tensor(in.initial_h, "initial_h", sizes.dtype, {B, H}, mode);
  if (cell.kind == rnnkit::CellKind::lstm) {
    if (in.initial_c.present()) detail::expect_tensor(in.initial_c, "initial_c", sizes.dtype, {B, H}, mode);
  } else {
    detail::expect_absent(in.initial_c, "initial_c", "only an LSTM has a carry state");
  }
  if (in.mask.present()) {
    // Mode::metadata labels every boolean or numeric mask uint8: rnnkit.core converts it.
    if (in.mask.dtype != DType::uint8) {
      throw rnnkit::TypeMismatch(std::string("argument 'mask' must be uint8 (or bool), got ") +
                                 rnnkit::dtype_name(in.mask.dtype));
    }
    detail::expect_tensor(in.mask, "mask", DType::uint8, {B, T}, mode);
  }
  detail::expect_dropout(in.input_dropout, "input_dropout", cell, B, I, sizes.dtype, mode);
  detail::expect_dropout(in.recurrent_dropout, "recurrent_dropout", cell, B, H, sizes.dtype, mode);
  return sizes;
}

// The same for a backward call: the inputs, then the reserve and the output gradients. With
// Mode::metadata and an empty batch the reserve is not checked (rnnkit.core makes its own).
inline CheckedSizes check_backward_inputs(const rnnkit::CellSpec& cell,
                                          const rnnkit::SequenceOptions& options,
                                          const InputViews& in, const GradientViews& grads,
                                          Mode mode) {
  CheckedSizes sizes = check_inputs(cell, options, in, mode);
  const std::int64_t B = sizes.batch, T = sizes.timesteps, H = cell.units;
  if (B > 0) {
    if (!grads.reserve.present()) {
      detail::fail("argument 'reserve' is required: pass the reserve filled by forward with "
                   "training = true");
    }
    detail::expect_tensor(grads.reserve, "reserve", sizes.dtype, {sizes.reserve_elements}, mode);
  }
  if (options.return_sequences) {
    detail::expect_tensor(grads.d_output, "d_output", sizes.dtype, {B, T, H}, mode);
  } else {
    detail::expect_tensor(grads.d_output, "d_output", sizes.dtype, {B, H}, mode);
  }
  if (grads.d_final_h.present()) detail::expect_tensor(grads.d_final_h, "d_final_h", sizes.dtype, {B, H}, mode);
  if (cell.kind == rnnkit::CellKind::lstm) {
    if (grads.d_final_c.present()) detail::expect_tensor(grads.d_final_c, "d_final_c", sizes.dtype, {B, H}, mode);
  } else {
    detail::expect_absent(grads.d_final_c, "d_final_c", "only an LSTM has a carry state");
  }
  return sizes;
}

}  // namespace rnnkit_bindings
