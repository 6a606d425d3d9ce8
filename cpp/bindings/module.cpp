// rnnkit._core: NumPy arrays in and out of the C++ core, without copies. The checks are the
// core's; the binding applies them to the arrays' metadata (precheck.h) before it allocates any
// output, then translates arrays to views and C++ exceptions to Python ones.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "precheck.h"
#include "rnnkit/rnnkit.h"
#include "rnnkit/version.h"
#include "rnnkit_build_info.h"

namespace py = pybind11;

namespace {

using rnnkit_bindings::Mode;

// A view of a NumPy array (or an absent view for None), from its metadata: nothing is copied.
// Byte strides that are not a multiple of the element size are reported as non-contiguous, which
// the core rejects by name. With Mode::metadata a mask of any boolean or numeric dtype is labelled
// uint8 (rnnkit.core converts it after the check).
rnnkit::TensorView view_of(const py::object& obj, const char* name, Mode mode = Mode::exact) {
  rnnkit::TensorView view;
  if (obj.is_none()) return view;
  if (!py::isinstance<py::array>(obj)) {
    throw py::type_error(std::string("argument '") + name + "' must be a NumPy array, got " +
                         std::string(py::str(py::type::of(obj).attr("__name__"))));
  }
  auto array = py::reinterpret_borrow<py::array>(obj);
  const auto dtype = array.dtype();
  const char kind = dtype.kind();
  const bool is_mask = std::strcmp(name, "mask") == 0;
  const bool any_mask = mode == Mode::metadata && is_mask;
  if (any_mask && (kind == 'b' || kind == 'i' || kind == 'u' || kind == 'f')) view.dtype = rnnkit::DType::uint8;
  else if (any_mask) {
    throw py::type_error("mask must hold booleans or numbers, got dtype " + std::string(py::str(dtype)));
  }
  else if (kind == 'f' && dtype.itemsize() == 4) view.dtype = rnnkit::DType::float32;
  else if (kind == 'f' && dtype.itemsize() == 8) view.dtype = rnnkit::DType::float64;
  else if ((kind == 'u' || kind == 'b') && dtype.itemsize() == 1) view.dtype = rnnkit::DType::uint8;
  else if (is_mask) {
    throw py::type_error("argument 'mask' must be uint8 or bool, got " + std::string(py::str(dtype)));
  }
  else {
    throw py::type_error(std::string("argument '") + name + "' must be float32 or float64, got " +
                         std::string(py::str(dtype)));
  }
  if (array.ndim() > rnnkit::kMaxRank) {
    throw py::value_error(std::string("argument '") + name + "' has rank " +
                          std::to_string(array.ndim()) + "; rnnkit tensors have rank <= 4");
  }
  view.data = const_cast<void*>(array.data());
  view.rank = static_cast<int>(array.ndim());
  for (int i = 0; i < view.rank; ++i) {
    view.shape[i] = array.shape(i);
    const auto stride = array.strides(i);
    view.strides[i] = stride % dtype.itemsize() == 0 ? stride / dtype.itemsize() : -1;
  }
  return view;
}

// An output array the caller hands in must accept writes (a read-only view would be written
// through its data pointer otherwise).
void require_writeable(const py::object& obj, const char* name) {
  if (py::isinstance<py::array>(obj) && !py::reinterpret_borrow<py::array>(obj).writeable())
    throw py::value_error(std::string("argument '") + name + "' must be a writeable array");
}

rnnkit::CellSpec cell_spec(const std::string& cell, std::int64_t input_size, std::int64_t units,
                           const std::string& activation, const std::string& recurrent_activation,
                           bool use_bias, bool reset_after) {
  rnnkit::CellSpec spec;
  spec.kind = rnnkit::cell_kind_from_name(cell);
  spec.input_size = input_size;
  spec.units = units;
  spec.activation = rnnkit::activation_from_name(activation, "activation");
  spec.recurrent_activation = rnnkit::activation_from_name(recurrent_activation, "recurrent_activation");
  spec.use_bias = use_bias;
  spec.reset_after = reset_after;
  return spec;
}

py::array new_array(rnnkit::DType dtype, std::vector<py::ssize_t> shape) {
  if (dtype == rnnkit::DType::float64) return py::array_t<double>(shape);
  return py::array_t<float>(shape);
}

rnnkit::TensorView out_view(py::array& array, rnnkit::DType dtype) {
  rnnkit::TensorView view;
  view.data = array.mutable_data();
  view.dtype = dtype;
  view.rank = static_cast<int>(array.ndim());
  std::int64_t stride = 1;
  for (int i = view.rank - 1; i >= 0; --i) {
    view.shape[i] = array.shape(i);
    view.strides[i] = stride;
    stride *= view.shape[i];
  }
  return view;
}

// Scratch memory for one call: this thread's rnnkit::Workspace, kept between calls (no page
// faults per call; huge pages for large ones).
struct Workspace {
  rnnkit::TensorView view(std::int64_t size) {
    thread_local rnnkit::Workspace workspace;
    return workspace.view(size);
  }
};

// The inputs a forward call and its backward call share, as views of the arrays.
rnnkit_bindings::InputViews read_inputs(const py::object& x, const py::object& kernel,
                                        const py::object& recurrent_kernel, const py::object& bias,
                                        const py::object& initial_h, const py::object& initial_c,
                                        const py::object& mask, const py::object& input_dropout,
                                        const py::object& recurrent_dropout, Mode mode) {
  rnnkit_bindings::InputViews in;
  in.x = view_of(x, "x", mode);
  in.kernel = view_of(kernel, "kernel", mode);
  in.recurrent_kernel = view_of(recurrent_kernel, "recurrent_kernel", mode);
  in.bias = view_of(bias, "bias", mode);
  in.initial_h = view_of(initial_h, "initial_h", mode);
  in.initial_c = view_of(initial_c, "initial_c", mode);
  in.mask = view_of(mask, "mask", mode);
  in.input_dropout = view_of(input_dropout, "input_dropout", mode);
  in.recurrent_dropout = view_of(recurrent_dropout, "recurrent_dropout", mode);
  return in;
}

template <typename Args>
void set_inputs(Args& args, const rnnkit_bindings::InputViews& in) {
  args.x = in.x;
  args.kernel = in.kernel;
  args.recurrent_kernel = in.recurrent_kernel;
  args.bias = in.bias;
  args.initial_h = in.initial_h;
  args.initial_c = in.initial_c;
  args.mask = in.mask;
  args.input_dropout = in.input_dropout;
  args.recurrent_dropout = in.recurrent_dropout;
}

rnnkit::SequenceOptions sequence_options(bool go_backwards, bool return_sequences,
                                         bool zero_output_for_mask, bool training) {
  rnnkit::SequenceOptions options;
  options.go_backwards = go_backwards;
  options.return_sequences = return_sequences;
  options.zero_output_for_mask = zero_output_for_mask;
  options.training = training;
  return options;
}

py::tuple forward(const std::string& cell, std::int64_t input_size, std::int64_t units,
                  const std::string& activation, const std::string& recurrent_activation,
                  bool reset_after, bool go_backwards, bool return_sequences,
                  bool zero_output_for_mask, bool training, const py::object& x,
                  const py::object& kernel, const py::object& recurrent_kernel,
                  const py::object& bias, const py::object& initial_h, const py::object& initial_c,
                  const py::object& mask, const py::object& input_dropout,
                  const py::object& recurrent_dropout, bool bfloat16_matmuls) {
  const auto spec = cell_spec(cell, input_size, units, activation, recurrent_activation,
                              !bias.is_none(), reset_after);
  auto options = sequence_options(go_backwards, return_sequences, zero_output_for_mask, training);
  options.bfloat16_matmuls = bfloat16_matmuls;
  const auto in = read_inputs(x, kernel, recurrent_kernel, bias, initial_h, initial_c, mask,
                              input_dropout, recurrent_dropout, Mode::exact);
  // Everything the core will check of the inputs, before the first allocation.
  const auto checked = rnnkit_bindings::check_inputs(spec, options, in, Mode::exact);
  const std::int64_t B = checked.batch, T = checked.timesteps;
  const auto dtype = checked.dtype;
  const auto memory = rnnkit::forward_memory(spec, options, dtype, B, T);
  rnnkit::ForwardArgs args;
  set_inputs(args, in);
  py::array output = return_sequences ? new_array(dtype, {B, T, units}) : new_array(dtype, {B, units});
  py::array final_h = new_array(dtype, {B, units});
  py::object final_c = py::none(), reserve = py::none();
  args.output = out_view(output, dtype);
  args.final_h = out_view(final_h, dtype);
  if (spec.kind == rnnkit::CellKind::lstm) {
    py::array c = new_array(dtype, {B, units});
    args.final_c = out_view(c, dtype);
    final_c = c;
  }
  if (training) {
    py::array r = new_array(dtype, {memory.reserve_elements});
    args.reserve = out_view(r, dtype);
    reserve = r;
  }
  Workspace workspace;
  args.workspace = workspace.view(memory.workspace_bytes);
  {
    py::gil_scoped_release release;
    rnnkit::forward(spec, options, args);
  }
  return py::make_tuple(output, final_h, final_c, reserve);
}

py::tuple backward(const std::string& cell, std::int64_t input_size, std::int64_t units,
                   const std::string& activation, const std::string& recurrent_activation,
                   bool reset_after, bool go_backwards, bool return_sequences,
                   bool zero_output_for_mask, const py::object& x, const py::object& kernel,
                   const py::object& recurrent_kernel, const py::object& bias,
                   const py::object& initial_h, const py::object& initial_c,
                   const py::object& mask, const py::object& input_dropout,
                   const py::object& recurrent_dropout, const py::object& reserve,
                   const py::object& d_output, const py::object& d_final_h,
                   const py::object& d_final_c, bool need_d_x, bool need_d_initial_state,
                   bool bfloat16_matmuls) {
  const auto spec = cell_spec(cell, input_size, units, activation, recurrent_activation,
                              !bias.is_none(), reset_after);
  auto options = sequence_options(go_backwards, return_sequences, zero_output_for_mask, true);
  options.bfloat16_matmuls = bfloat16_matmuls;
  const auto in = read_inputs(x, kernel, recurrent_kernel, bias, initial_h, initial_c, mask,
                              input_dropout, recurrent_dropout, Mode::exact);
  rnnkit_bindings::GradientViews grads;
  grads.reserve = view_of(reserve, "reserve");
  grads.d_output = view_of(d_output, "d_output");
  grads.d_final_h = view_of(d_final_h, "d_final_h");
  grads.d_final_c = view_of(d_final_c, "d_final_c");
  // Everything the core will check of the inputs, before the first allocation.
  const auto checked = rnnkit_bindings::check_backward_inputs(spec, options, in, grads, Mode::exact);
  const std::int64_t B = checked.batch, T = checked.timesteps;
  const auto dtype = checked.dtype;
  const auto memory = rnnkit::backward_memory(spec, options, dtype, B, T);
  rnnkit::BackwardArgs args;
  set_inputs(args, in);
  args.reserve = grads.reserve;
  args.d_output = grads.d_output;
  args.d_final_h = grads.d_final_h;
  args.d_final_c = grads.d_final_c;
  const std::int64_t GH = spec.gates() * units;
  py::object d_x = py::none();
  if (need_d_x) {
    py::array a = new_array(dtype, {B, T, input_size});
    args.d_x = out_view(a, dtype);
    d_x = a;
  }
  py::array d_kernel = new_array(dtype, {input_size, GH});
  py::array d_recurrent = new_array(dtype, {units, GH});
  py::object d_h0 = py::none(), d_c0 = py::none(), d_bias = py::none();
  args.d_kernel = out_view(d_kernel, dtype);
  args.d_recurrent_kernel = out_view(d_recurrent, dtype);
  if (need_d_initial_state) {
    py::array h = new_array(dtype, {B, units});
    args.d_initial_h = out_view(h, dtype);
    d_h0 = h;
    if (spec.kind == rnnkit::CellKind::lstm) {
      py::array c = new_array(dtype, {B, units});
      args.d_initial_c = out_view(c, dtype);
      d_c0 = c;
    }
  }
  if (spec.use_bias) {
    const bool two_rows = spec.kind == rnnkit::CellKind::gru && reset_after;
    py::array db = two_rows ? new_array(dtype, {2, GH}) : new_array(dtype, {GH});
    args.d_bias = out_view(db, dtype);
    d_bias = db;
  }
  Workspace workspace;
  args.workspace = workspace.view(memory.workspace_bytes);
  {
    py::gil_scoped_release release;
    rnnkit::backward(spec, options, args);
  }
  return py::make_tuple(d_x, d_h0, d_c0, d_kernel, d_recurrent, d_bias);
}

// forward's checks alone, on arrays of any layout (Mode::metadata): rnnkit.core calls it before
// it converts (copies) anything.
void check_forward(const std::string& cell, std::int64_t input_size, std::int64_t units,
                   const std::string& activation, const std::string& recurrent_activation,
                   bool reset_after, bool go_backwards, bool return_sequences,
                   bool zero_output_for_mask, bool training, const py::object& x,
                   const py::object& kernel, const py::object& recurrent_kernel,
                   const py::object& bias, const py::object& initial_h, const py::object& initial_c,
                   const py::object& mask, const py::object& input_dropout,
                   const py::object& recurrent_dropout) {
  const auto spec = cell_spec(cell, input_size, units, activation, recurrent_activation,
                              !bias.is_none(), reset_after);
  const auto options = sequence_options(go_backwards, return_sequences, zero_output_for_mask, training);
  const auto in = read_inputs(x, kernel, recurrent_kernel, bias, initial_h, initial_c, mask,
                              input_dropout, recurrent_dropout, Mode::metadata);
  rnnkit_bindings::check_inputs(spec, options, in, Mode::metadata);
}

// backward's checks alone, on arrays of any layout (Mode::metadata).
void check_backward(const std::string& cell, std::int64_t input_size, std::int64_t units,
                    const std::string& activation, const std::string& recurrent_activation,
                    bool reset_after, bool go_backwards, bool return_sequences,
                    bool zero_output_for_mask, const py::object& x, const py::object& kernel,
                    const py::object& recurrent_kernel, const py::object& bias,
                    const py::object& initial_h, const py::object& initial_c,
                    const py::object& mask, const py::object& input_dropout,
                    const py::object& recurrent_dropout, const py::object& reserve,
                    const py::object& d_output, const py::object& d_final_h,
                    const py::object& d_final_c) {
  const auto spec = cell_spec(cell, input_size, units, activation, recurrent_activation,
                              !bias.is_none(), reset_after);
  const auto options = sequence_options(go_backwards, return_sequences, zero_output_for_mask, true);
  const auto in = read_inputs(x, kernel, recurrent_kernel, bias, initial_h, initial_c, mask,
                              input_dropout, recurrent_dropout, Mode::metadata);
  rnnkit_bindings::GradientViews grads;
  grads.reserve = view_of(reserve, "reserve", Mode::metadata);
  grads.d_output = view_of(d_output, "d_output", Mode::metadata);
  grads.d_final_h = view_of(d_final_h, "d_final_h", Mode::metadata);
  grads.d_final_c = view_of(d_final_c, "d_final_c", Mode::metadata);
  rnnkit_bindings::check_backward_inputs(spec, options, in, grads, Mode::metadata);
}

// rnnkit::Stream on NumPy arrays: the weights are packed once; step/run allocate only their
// output array. Arrays must be C-contiguous and of the stream's dtype (the core checks).
class PyStream {
 public:
  PyStream(const std::string& cell, std::int64_t input_size, std::int64_t units,
           const std::string& activation, const std::string& recurrent_activation,
           bool reset_after, bool zero_output_for_mask, std::int64_t batch,
           const py::object& kernel, const py::object& recurrent_kernel, const py::object& bias,
           const std::string& weight_format)
      : stream_(make(cell, input_size, units, activation, recurrent_activation, reset_after,
                     zero_output_for_mask, batch, kernel, recurrent_kernel, bias,
                     weight_format)) {}

  void set_weights(const py::object& kernel, const py::object& recurrent_kernel,
                   const py::object& bias) {
    stream_.set_weights(view_of(kernel, "kernel"), view_of(recurrent_kernel, "recurrent_kernel"),
                        view_of(bias, "bias"));
  }

  py::array step(const py::object& x_t) {
    const auto x = view_of(x_t, "x_t");
    py::array out = new_array(stream_.dtype(), {stream_.batch(), stream_.cell().units});
    stream_.step(x, out_view(out, stream_.dtype()));
    return out;
  }

  py::array run(const py::object& x, bool return_sequences, const py::object& mask) {
    const auto xv = view_of(x, "x");
    const auto mv = view_of(mask, "mask");
    const std::int64_t steps = xv.rank == 3 ? xv.shape[1] : 1;
    py::array out = return_sequences
                        ? new_array(stream_.dtype(), {stream_.batch(), steps, stream_.cell().units})
                        : new_array(stream_.dtype(), {stream_.batch(), stream_.cell().units});
    const auto ov = out_view(out, stream_.dtype());
    if (steps * stream_.batch() >= 64) {
      py::gil_scoped_release release;
      stream_.run(xv, ov, mv);
    } else {
      stream_.run(xv, ov, mv);
    }
    return out;
  }

  void reset_states() { stream_.reset_states(); }

  void set_states(const py::object& h, const py::object& c) {
    stream_.set_states(view_of(h, "h"), view_of(c, "c"));
  }

  // Into h and c when given (the core checks their dtype, shape and layout), else new arrays.
  py::tuple states(const py::object& h_out, const py::object& c_out) const {
    if (!h_out.is_none()) {
      require_writeable(h_out, "h");
      require_writeable(c_out, "c");
      stream_.states(view_of(h_out, "h"), view_of(c_out, "c"));
      return py::make_tuple(h_out, c_out);
    }
    const auto dtype = stream_.dtype();
    const std::int64_t B = stream_.batch(), H = stream_.cell().units;
    py::array h = new_array(dtype, {B, H});
    if (stream_.cell().kind != rnnkit::CellKind::lstm) {
      stream_.states(out_view(h, dtype));
      return py::make_tuple(h, py::none());
    }
    py::array c = new_array(dtype, {B, H});
    stream_.states(out_view(h, dtype), out_view(c, dtype));
    return py::make_tuple(h, c);
  }

  std::int64_t batch() const { return stream_.batch(); }
  std::string dtype() const { return rnnkit::dtype_name(stream_.dtype()); }
  std::string weight_format() const { return rnnkit::weight_format_name(stream_.weight_format()); }

 private:
  static rnnkit::Stream make(const std::string& cell, std::int64_t input_size, std::int64_t units,
                             const std::string& activation, const std::string& recurrent_activation,
                             bool reset_after, bool zero_output_for_mask, std::int64_t batch,
                             const py::object& kernel, const py::object& recurrent_kernel,
                             const py::object& bias, const std::string& weight_format) {
    const auto spec = cell_spec(cell, input_size, units, activation, recurrent_activation,
                                !bias.is_none(), reset_after);
    const auto kv = view_of(kernel, "kernel");
    rnnkit::StreamOptions options;
    options.zero_output_for_mask = zero_output_for_mask;
    options.weight_format = rnnkit::weight_format_from_name(weight_format);
    return rnnkit::Stream(spec, kv.dtype, batch, kv, view_of(recurrent_kernel, "recurrent_kernel"),
                          view_of(bias, "bias"), options);
  }

  rnnkit::Stream stream_;
};

py::list string_list(const std::vector<std::string>& names) {
  py::list list;
  for (const std::string& name : names) list.append(name);
  return list;
}

// float32 <-> bfloat16 between two C-contiguous arrays of the same size: source float32 and
// destination uint16 (bfloat16's bits), or the other way round. Nothing is allocated.
void convert_bfloat16(const py::array& source, py::array& destination) {
  const auto describe = [](const py::array& a) {
    return std::string(py::str(a.dtype())) + (a.flags() & py::array::c_style ? "" : ", not C-contiguous");
  };
  const bool to_bfloat16 = source.dtype().is(py::dtype::of<float>()) &&
                           destination.dtype().is(py::dtype::of<std::uint16_t>());
  const bool from_bfloat16 = source.dtype().is(py::dtype::of<std::uint16_t>()) &&
                             destination.dtype().is(py::dtype::of<float>());
  if (!(to_bfloat16 || from_bfloat16) || !(source.flags() & py::array::c_style) ||
      !(destination.flags() & py::array::c_style) || !destination.writeable()) {
    throw py::type_error("convert_bfloat16 expects C-contiguous arrays, float32 -> uint16 or uint16 "
                         "-> float32 (destination writable); got source " + describe(source) +
                         " and destination " + describe(destination));
  }
  if (source.size() != destination.size()) {
    throw py::value_error("convert_bfloat16: source has " + std::to_string(source.size()) +
                          " elements, destination " + std::to_string(destination.size()));
  }
  const void* in = source.data();
  void* out = destination.mutable_data();
  const std::int64_t count = source.size();
  py::gil_scoped_release release;
  if (to_bfloat16) {
    rnnkit::float32_to_bfloat16(static_cast<const float*>(in), static_cast<std::uint16_t*>(out), count);
  } else {
    rnnkit::bfloat16_to_float32(static_cast<const std::uint16_t*>(in), static_cast<float*>(out), count);
  }
}

// What this build was made with (cmake/build_info.cmake fills the macros at configure time).
py::dict build_info() {
  py::dict info;
  info["version"] = RNNKIT_BI_VERSION;
  info["compiler_id"] = RNNKIT_BI_COMPILER_ID;
  info["compiler_version"] = RNNKIT_BI_COMPILER_VERSION;
#ifdef __VERSION__
  info["compiler_banner"] = __VERSION__;
#else
  info["compiler_banner"] = "";
#endif
  info["compiler_path"] = RNNKIT_BI_COMPILER_PATH;
  info["build_type"] = RNNKIT_BI_BUILD_TYPE;
  info["cxx_flags"] = RNNKIT_BI_CXX_FLAGS;
  info["arch_flags"] = RNNKIT_BI_ARCH_FLAGS;
  info["isa_features"] = RNNKIT_BI_ISA_FEATURES;
  info["native"] = static_cast<bool>(RNNKIT_BI_NATIVE);
  // Run-time ISA dispatch (rnnkit/isa.h): the level running, the levels built and those this CPU
  // runs, and each level's flags.
  info["isa"] = rnnkit::cpu_isa();
  info["isa_compiled"] = string_list(rnnkit::cpu_isa_compiled());
  info["isa_supported"] = string_list(rnnkit::cpu_isa_supported());
  info["amx_bf16"] = rnnkit::cpu_amx_bf16();
  info["isa_level_flags"] = RNNKIT_BI_ISA_LEVEL_FLAGS;
  info["openmp_version"] = RNNKIT_BI_OPENMP_VERSION;
  info["openmp_libraries"] = RNNKIT_BI_OPENMP_LIBS;
  info["openmp_flags"] = RNNKIT_BI_OPENMP_FLAGS;
#ifdef _OPENMP
  info["openmp_spec_date"] = static_cast<int>(_OPENMP);
#else
  info["openmp_spec_date"] = 0;
#endif
  info["cuda_built"] = static_cast<bool>(RNNKIT_BI_CUDA);
  info["cuda_compiler_version"] = RNNKIT_BI_CUDA_VERSION;
  info["cuda_architectures"] = RNNKIT_BI_CUDA_ARCHITECTURES;
  info["cmake_version"] = RNNKIT_BI_CMAKE_VERSION;
  info["pybind11_version"] = std::to_string(PYBIND11_VERSION_MAJOR) + "." +
                             std::to_string(PYBIND11_VERSION_MINOR) + "." +
                             std::to_string(PYBIND11_VERSION_PATCH);
  return info;
}

}  // namespace

PYBIND11_MODULE(_core, m) {
  m.doc() = "rnnkit C++ core: whole-sequence recurrent forward and backward on NumPy arrays";
  // rnnkit/version.h's macro, generated from CMakeLists.txt's project(VERSION), the package's one
  // version source: this is rnnkit.__version__.
  m.attr("__version__") = RNNKIT_VERSION_STRING;

  // pybind11 tries the most recently registered translator first: the base class goes first.
  py::register_exception<rnnkit::Error>(m, "Error", PyExc_RuntimeError);
  py::register_exception<rnnkit::InvalidArgument>(m, "InvalidArgument", PyExc_ValueError);
  py::register_exception<rnnkit::TypeMismatch>(m, "TypeMismatch", PyExc_TypeError);

  m.def("forward", &forward, py::arg("cell"), py::arg("input_size"),
        py::arg("units"), py::arg("activation"), py::arg("recurrent_activation"),
        py::arg("reset_after"), py::arg("go_backwards"), py::arg("return_sequences"),
        py::arg("zero_output_for_mask"), py::arg("training"), py::arg("x"), py::arg("kernel"),
        py::arg("recurrent_kernel"), py::arg("bias"), py::arg("initial_h"), py::arg("initial_c"),
        py::arg("mask"), py::arg("input_dropout"), py::arg("recurrent_dropout"),
        py::arg("bfloat16_matmuls") = false,
        "Returns (output, final_h, final_c or None, reserve or None).");
  m.def("backward", &backward, py::arg("cell"), py::arg("input_size"),
        py::arg("units"), py::arg("activation"), py::arg("recurrent_activation"),
        py::arg("reset_after"), py::arg("go_backwards"), py::arg("return_sequences"),
        py::arg("zero_output_for_mask"), py::arg("x"), py::arg("kernel"),
        py::arg("recurrent_kernel"), py::arg("bias"), py::arg("initial_h"), py::arg("initial_c"),
        py::arg("mask"), py::arg("input_dropout"), py::arg("recurrent_dropout"),
        py::arg("reserve"), py::arg("d_output"), py::arg("d_final_h"), py::arg("d_final_c"),
        py::arg("need_d_x") = true, py::arg("need_d_initial_state") = true,
        py::arg("bfloat16_matmuls") = false,
        "Returns (d_x or None, d_initial_h or None, d_initial_c or None, d_kernel, "
        "d_recurrent_kernel, d_bias or None).");
  m.def("check_forward", &check_forward, py::kw_only(), py::arg("cell"), py::arg("input_size"),
        py::arg("units"), py::arg("activation"), py::arg("recurrent_activation"),
        py::arg("reset_after"), py::arg("go_backwards"), py::arg("return_sequences"),
        py::arg("zero_output_for_mask"), py::arg("training"), py::arg("x"), py::arg("kernel"),
        py::arg("recurrent_kernel"), py::arg("bias"), py::arg("initial_h"), py::arg("initial_c"),
        py::arg("mask"), py::arg("input_dropout"), py::arg("recurrent_dropout"),
        "forward's checks from the arrays' metadata alone, for arrays of any layout, a mask of "
        "any boolean or numeric dtype, an empty batch or no features; raises or returns None.");
  m.def("check_backward", &check_backward, py::kw_only(), py::arg("cell"), py::arg("input_size"),
        py::arg("units"), py::arg("activation"), py::arg("recurrent_activation"),
        py::arg("reset_after"), py::arg("go_backwards"), py::arg("return_sequences"),
        py::arg("zero_output_for_mask"), py::arg("x"), py::arg("kernel"),
        py::arg("recurrent_kernel"), py::arg("bias"), py::arg("initial_h"), py::arg("initial_c"),
        py::arg("mask"), py::arg("input_dropout"), py::arg("recurrent_dropout"),
        py::arg("reserve"), py::arg("d_output"), py::arg("d_final_h"), py::arg("d_final_c"),
        "backward's checks as check_forward's; raises or returns None.");
  py::class_<PyStream>(m, "Stream",
                       "rnnkit::Stream: one layer advanced a step or a chunk per call, weights "
                       "packed once, states kept inside; bit-identical to forward().")
      .def(py::init<const std::string&, std::int64_t, std::int64_t, const std::string&,
                    const std::string&, bool, bool, std::int64_t, const py::object&,
                    const py::object&, const py::object&, const std::string&>(),
           py::kw_only(), py::arg("cell"), py::arg("input_size"), py::arg("units"),
           py::arg("activation"), py::arg("recurrent_activation"), py::arg("reset_after"),
           py::arg("zero_output_for_mask"), py::arg("batch"), py::arg("kernel"),
           py::arg("recurrent_kernel"), py::arg("bias"), py::arg("weight_format") = "float32")
      .def("set_weights", &PyStream::set_weights, py::arg("kernel"), py::arg("recurrent_kernel"),
           py::arg("bias"), "Repacks new weights of the same shapes; the states are kept.")
      .def("step", &PyStream::step, py::arg("x_t"), "x_t (B, I) -> the new h (B, H).")
      .def("run", &PyStream::run, py::arg("x"), py::arg("return_sequences") = true,
           py::arg("mask") = py::none(),
           "x (B, T, I) -> (B, T, H), or the last output (B, H) without return_sequences.")
      .def("reset_states", &PyStream::reset_states, "States to zero.")
      .def("set_states", &PyStream::set_states, py::arg("h"), py::arg("c") = py::none(),
           "Copies h (B, H) and, for LSTM, c (B, H; zeros when None) into the states.")
      .def("states", &PyStream::states, py::arg("h") = py::none(), py::arg("c") = py::none(),
           "Copies (h, c or None) into new arrays, or into h and c when given (returns them).")
      .def_property_readonly("batch", &PyStream::batch)
      .def_property_readonly("dtype", &PyStream::dtype)
      .def_property_readonly("weight_format", &PyStream::weight_format);
  m.def("set_num_threads", &rnnkit::set_num_threads, py::arg("n"));
  m.def("get_num_threads", &rnnkit::get_num_threads);
  m.def("cpu_isa", &rnnkit::cpu_isa,
        "The ISA level the CPU kernels run (baseline, avx2, avx512, or native); chooses it on the "
        "first call, raises ValueError for a bad RNNKIT_ISA.");
  m.def("convert_bfloat16", &convert_bfloat16, py::arg("source"), py::arg("destination"),
        "Converts a C-contiguous float32 array into bfloat16 bits (uint16; round to nearest, ties "
        "to even, as ml_dtypes) or bfloat16 bits into float32, into `destination` (same size).");
  m.def("build_info", &build_info,
        "Returns a dict of how this build was made: version, compiler, flags, RNNKIT_NATIVE, the "
        "ISA extensions the common code targets, the ISA levels built / supported here / running, "
        "OpenMP, whether the CUDA backend was built.");
}
