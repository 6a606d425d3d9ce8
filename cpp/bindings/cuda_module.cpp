// rnnkit._cuda: the CUDA backend on device memory the caller allocated (Python passes CuPy
// arrays as (pointer, typestr, shape, strides) tuples: __cuda_array_interface__'s fields). Checks
// live in the core; this file only translates descriptors to views and C++ exceptions to Python
// ones. Loaded only by rnnkit.cuda, so `import rnnkit` never needs the CUDA runtime.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "rnnkit/cuda.h"
#include "rnnkit/rnnkit.h"

namespace py = pybind11;

namespace {

// (pointer, typestr like "<f4", shape, byte strides or None, device index) of one device array.
using Descriptor = std::tuple<std::uintptr_t, std::string, std::vector<std::int64_t>,
                              std::optional<std::vector<std::int64_t>>, int>;

rnnkit::TensorView view_of(const std::optional<Descriptor>& descriptor, const char* name) {
  rnnkit::TensorView view;
  if (!descriptor) return view;
  const auto& [pointer, typestr, shape, strides, device] = *descriptor;
  std::int64_t itemsize = 0;
  if (typestr == "<f4") view.dtype = rnnkit::DType::float32, itemsize = 4;
  else if (typestr == "<f8") view.dtype = rnnkit::DType::float64, itemsize = 8;
  else if (typestr == "|u1" || typestr == "|b1") view.dtype = rnnkit::DType::uint8, itemsize = 1;
  else {
    throw py::type_error(std::string("argument '") + name +
                         "' must be float32 or float64, got array type " + typestr);
  }
  if (shape.size() > static_cast<std::size_t>(rnnkit::kMaxRank)) {
    throw py::value_error(std::string("argument '") + name + "' has rank " +
                          std::to_string(shape.size()) + "; rnnkit tensors have rank <= 4");
  }
  view.data = reinterpret_cast<void*>(pointer);
  view.device = rnnkit::Device::cuda;
  view.device_index = device;
  view.rank = static_cast<int>(shape.size());
  std::int64_t contiguous = 1;
  for (int i = view.rank - 1; i >= 0; --i) {
    view.shape[i] = shape[i];
    if (strides) {
      const std::int64_t stride = (*strides)[i];
      view.strides[i] = stride % itemsize == 0 ? stride / itemsize : -1;
    } else {
      view.strides[i] = contiguous;
    }
    contiguous *= shape[i];
  }
  return view;
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

rnnkit::SequenceOptions sequence_options(bool go_backwards, bool return_sequences,
                                         bool zero_output_for_mask, bool training) {
  rnnkit::SequenceOptions options;
  options.go_backwards = go_backwards;
  options.return_sequences = return_sequences;
  options.zero_output_for_mask = zero_output_for_mask;
  options.training = training;
  return options;
}

rnnkit::ExecutionContext context_of(int device_index, std::uintptr_t stream, bool allow_tf32,
                                    bool use_graph) {
  rnnkit::ExecutionContext context = rnnkit::ExecutionContext::cuda(
      device_index, reinterpret_cast<void*>(stream));
  context.allow_tf32 = allow_tf32;
  context.use_graph = use_graph;
  return context;
}

rnnkit::DType dtype_named(const std::string& name) {
  if (name == "float32") return rnnkit::DType::float32;
  if (name == "float64") return rnnkit::DType::float64;
  throw py::type_error("dtype must be float32 or float64, got " + name);
}

py::tuple memory(bool backward, const std::string& cell, std::int64_t input_size,
                 std::int64_t units, const std::string& activation,
                 const std::string& recurrent_activation, bool use_bias, bool reset_after,
                 bool go_backwards, bool return_sequences, bool zero_output_for_mask,
                 bool training, const std::string& dtype, std::int64_t batch,
                 std::int64_t timesteps) {
  const auto spec = cell_spec(cell, input_size, units, activation, recurrent_activation, use_bias,
                              reset_after);
  const auto options = sequence_options(go_backwards, return_sequences, zero_output_for_mask, training);
  const auto sizes = backward
      ? rnnkit::backward_memory(spec, options, dtype_named(dtype), batch, timesteps, rnnkit::Device::cuda)
      : rnnkit::forward_memory(spec, options, dtype_named(dtype), batch, timesteps, rnnkit::Device::cuda);
  return py::make_tuple(sizes.workspace_bytes, sizes.reserve_elements);
}

using View = std::optional<Descriptor>;

void forward(const std::string& cell, std::int64_t input_size, std::int64_t units,
             const std::string& activation, const std::string& recurrent_activation,
             bool reset_after, bool go_backwards, bool return_sequences, bool zero_output_for_mask,
             bool training, int device_index, std::uintptr_t stream, bool allow_tf32,
             bool use_graph, const View& x, const View& kernel, const View& recurrent_kernel,
             const View& bias, const View& initial_h, const View& initial_c, const View& mask,
             const View& input_dropout, const View& recurrent_dropout, const View& output,
             const View& final_h, const View& final_c, const View& reserve, const View& workspace) {
  rnnkit::ForwardArgs args;
  args.x = view_of(x, "x");
  args.kernel = view_of(kernel, "kernel");
  args.recurrent_kernel = view_of(recurrent_kernel, "recurrent_kernel");
  args.bias = view_of(bias, "bias");
  args.initial_h = view_of(initial_h, "initial_h");
  args.initial_c = view_of(initial_c, "initial_c");
  args.mask = view_of(mask, "mask");
  args.input_dropout = view_of(input_dropout, "input_dropout");
  args.recurrent_dropout = view_of(recurrent_dropout, "recurrent_dropout");
  args.output = view_of(output, "output");
  args.final_h = view_of(final_h, "final_h");
  args.final_c = view_of(final_c, "final_c");
  args.reserve = view_of(reserve, "reserve");
  args.workspace = view_of(workspace, "workspace");
  const auto spec = cell_spec(cell, input_size, units, activation, recurrent_activation,
                              bias.has_value(), reset_after);
  const auto options = sequence_options(go_backwards, return_sequences, zero_output_for_mask, training);
  const auto context = context_of(device_index, stream, allow_tf32, use_graph);
  py::gil_scoped_release release;
  rnnkit::forward(spec, options, args, context);
}

void backward(const std::string& cell, std::int64_t input_size, std::int64_t units,
              const std::string& activation, const std::string& recurrent_activation,
              bool reset_after, bool go_backwards, bool return_sequences,
              bool zero_output_for_mask, int device_index, std::uintptr_t stream, bool allow_tf32,
              bool use_graph, const View& x, const View& kernel, const View& recurrent_kernel,
              const View& bias, const View& initial_h, const View& initial_c, const View& mask,
              const View& input_dropout, const View& recurrent_dropout, const View& reserve,
              const View& d_output, const View& d_final_h, const View& d_final_c, const View& d_x,
              const View& d_initial_h, const View& d_initial_c, const View& d_kernel,
              const View& d_recurrent_kernel, const View& d_bias, const View& workspace) {
  rnnkit::BackwardArgs args;
  args.x = view_of(x, "x");
  args.kernel = view_of(kernel, "kernel");
  args.recurrent_kernel = view_of(recurrent_kernel, "recurrent_kernel");
  args.bias = view_of(bias, "bias");
  args.initial_h = view_of(initial_h, "initial_h");
  args.initial_c = view_of(initial_c, "initial_c");
  args.mask = view_of(mask, "mask");
  args.input_dropout = view_of(input_dropout, "input_dropout");
  args.recurrent_dropout = view_of(recurrent_dropout, "recurrent_dropout");
  args.reserve = view_of(reserve, "reserve");
  args.d_output = view_of(d_output, "d_output");
  args.d_final_h = view_of(d_final_h, "d_final_h");
  args.d_final_c = view_of(d_final_c, "d_final_c");
  args.d_x = view_of(d_x, "d_x");
  args.d_initial_h = view_of(d_initial_h, "d_initial_h");
  args.d_initial_c = view_of(d_initial_c, "d_initial_c");
  args.d_kernel = view_of(d_kernel, "d_kernel");
  args.d_recurrent_kernel = view_of(d_recurrent_kernel, "d_recurrent_kernel");
  args.d_bias = view_of(d_bias, "d_bias");
  args.workspace = view_of(workspace, "workspace");
  const auto spec = cell_spec(cell, input_size, units, activation, recurrent_activation,
                              bias.has_value(), reset_after);
  const auto options = sequence_options(go_backwards, return_sequences, zero_output_for_mask, true);
  const auto context = context_of(device_index, stream, allow_tf32, use_graph);
  py::gil_scoped_release release;
  rnnkit::backward(spec, options, args, context);
}

py::tuple availability() {
  std::string why;
  const bool ok = rnnkit::cuda::is_available(&why);
  return py::make_tuple(ok, why);
}

}  // namespace

PYBIND11_MODULE(_cuda, m) {
  m.doc() = "rnnkit CUDA backend: whole-sequence recurrent forward and backward on GPU memory";

  // rnnkit._core's exception classes, not new ones: pybind11's translators are shared by every
  // module, so a second set would also catch (and rename) the CPU backend's errors.
  static PyObject* error = nullptr;
  static PyObject* invalid_argument = nullptr;
  static PyObject* type_mismatch = nullptr;
  py::module_ core = py::module_::import("rnnkit._core");
  error = py::object(core.attr("Error")).release().ptr();  // kept for the process's life
  invalid_argument = py::object(core.attr("InvalidArgument")).release().ptr();
  type_mismatch = py::object(core.attr("TypeMismatch")).release().ptr();
  m.attr("Error") = core.attr("Error");
  m.attr("InvalidArgument") = core.attr("InvalidArgument");
  m.attr("TypeMismatch") = core.attr("TypeMismatch");
  py::register_exception_translator([](std::exception_ptr thrown) {
    try {
      if (thrown) std::rethrow_exception(thrown);
    } catch (const rnnkit::TypeMismatch& e) {
      PyErr_SetString(type_mismatch, e.what());
    } catch (const rnnkit::InvalidArgument& e) {
      PyErr_SetString(invalid_argument, e.what());
    } catch (const rnnkit::Error& e) {
      PyErr_SetString(error, e.what());
    }
  });

  m.def("availability", &availability, "Returns (usable, why not).");
  m.def("device_count", &rnnkit::cuda::device_count);
  m.def("device_description", &rnnkit::cuda::device_description, py::arg("index"));
  m.def("memory", &memory, py::kw_only(), py::arg("backward"), py::arg("cell"),
        py::arg("input_size"), py::arg("units"), py::arg("activation"),
        py::arg("recurrent_activation"), py::arg("use_bias"), py::arg("reset_after"),
        py::arg("go_backwards"), py::arg("return_sequences"), py::arg("zero_output_for_mask"),
        py::arg("training"), py::arg("dtype"), py::arg("batch"), py::arg("timesteps"),
        "Returns (workspace_bytes, reserve_elements) of one call on a GPU.");
  m.def("forward", &forward, py::kw_only(), py::arg("cell"), py::arg("input_size"),
        py::arg("units"), py::arg("activation"), py::arg("recurrent_activation"),
        py::arg("reset_after"), py::arg("go_backwards"), py::arg("return_sequences"),
        py::arg("zero_output_for_mask"), py::arg("training"), py::arg("device_index"),
        py::arg("stream"), py::arg("allow_tf32"), py::arg("use_graph"), py::arg("x"),
        py::arg("kernel"), py::arg("recurrent_kernel"), py::arg("bias"), py::arg("initial_h"),
        py::arg("initial_c"), py::arg("mask"), py::arg("input_dropout"),
        py::arg("recurrent_dropout"), py::arg("output"), py::arg("final_h"), py::arg("final_c"),
        py::arg("reserve"), py::arg("workspace"),
        "Queues one forward call on `stream`; every array is a device descriptor.");
  m.def("backward", &backward, py::kw_only(), py::arg("cell"), py::arg("input_size"),
        py::arg("units"), py::arg("activation"), py::arg("recurrent_activation"),
        py::arg("reset_after"), py::arg("go_backwards"), py::arg("return_sequences"),
        py::arg("zero_output_for_mask"), py::arg("device_index"), py::arg("stream"),
        py::arg("allow_tf32"), py::arg("use_graph"), py::arg("x"), py::arg("kernel"),
        py::arg("recurrent_kernel"), py::arg("bias"), py::arg("initial_h"), py::arg("initial_c"),
        py::arg("mask"), py::arg("input_dropout"), py::arg("recurrent_dropout"),
        py::arg("reserve"), py::arg("d_output"), py::arg("d_final_h"), py::arg("d_final_c"),
        py::arg("d_x"), py::arg("d_initial_h"), py::arg("d_initial_c"), py::arg("d_kernel"),
        py::arg("d_recurrent_kernel"), py::arg("d_bias"), py::arg("workspace"),
        "Queues one backward call on `stream`; every array is a device descriptor.");
}
