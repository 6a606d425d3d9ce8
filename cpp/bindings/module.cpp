// rnnkit._core: NumPy arrays in and out of the C++ core, without copies. Checks live in the core;
// this file only translates arrays to views and C++ exceptions to Python ones.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <memory>
#include <string>

#include "rnnkit/rnnkit.h"

namespace py = pybind11;

namespace {

// A view of a NumPy array (or an absent view for None). Byte strides that are not a multiple of
// the element size are reported as non-contiguous, which the core rejects by name.
rnnkit::TensorView view_of(const py::object& obj, const char* name) {
  rnnkit::TensorView view;
  if (obj.is_none()) return view;
  if (!py::isinstance<py::array>(obj)) {
    throw py::type_error(std::string("argument '") + name + "' must be a NumPy array, got " +
                         std::string(py::str(py::type::of(obj).attr("__name__"))));
  }
  auto array = py::reinterpret_borrow<py::array>(obj);
  const auto dtype = array.dtype();
  if (dtype.kind() == 'f' && dtype.itemsize() == 4) view.dtype = rnnkit::DType::float32;
  else if (dtype.kind() == 'f' && dtype.itemsize() == 8) view.dtype = rnnkit::DType::float64;
  else if ((dtype.kind() == 'u' || dtype.kind() == 'b') && dtype.itemsize() == 1) view.dtype = rnnkit::DType::uint8;
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

// Leading dims of x when it has the right rank; otherwise the core's check of x reports it.
std::pair<std::int64_t, std::int64_t> batch_and_time(const rnnkit::TensorView& x) {
  if (x.rank != 3) return {1, 1};
  return {x.shape[0], x.shape[1]};
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

// Scratch memory for one call. Kept per thread between calls: a fresh multi-megabyte buffer
// would cost page faults (and zeroing) on every call.
struct Workspace {
  rnnkit::TensorView view(std::int64_t size) {
    thread_local std::unique_ptr<std::uint8_t[]> buffer;
    thread_local std::int64_t capacity = 0;
    if (size > capacity) {
      buffer.reset(new std::uint8_t[static_cast<std::size_t>(size)]);
      capacity = size;
    }
    return rnnkit::make_view(buffer.get(), rnnkit::DType::uint8, {size});
  }
};

// The inputs and options a forward call and its backward call share.
template <typename Args>
void read_inputs(Args& args, const py::object& x, const py::object& kernel,
                 const py::object& recurrent_kernel, const py::object& bias,
                 const py::object& initial_h, const py::object& initial_c, const py::object& mask,
                 const py::object& input_dropout, const py::object& recurrent_dropout) {
  args.x = view_of(x, "x");
  args.kernel = view_of(kernel, "kernel");
  args.recurrent_kernel = view_of(recurrent_kernel, "recurrent_kernel");
  args.bias = view_of(bias, "bias");
  args.initial_h = view_of(initial_h, "initial_h");
  args.initial_c = view_of(initial_c, "initial_c");
  args.mask = view_of(mask, "mask");
  args.input_dropout = view_of(input_dropout, "input_dropout");
  args.recurrent_dropout = view_of(recurrent_dropout, "recurrent_dropout");
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

rnnkit::DType float_dtype_of(const rnnkit::TensorView& x) {
  return x.dtype == rnnkit::DType::float64 ? rnnkit::DType::float64 : rnnkit::DType::float32;
}

py::tuple forward(const std::string& cell, std::int64_t input_size, std::int64_t units,
                  const std::string& activation, const std::string& recurrent_activation,
                  bool reset_after, bool go_backwards, bool return_sequences,
                  bool zero_output_for_mask, bool training, const py::object& x,
                  const py::object& kernel, const py::object& recurrent_kernel,
                  const py::object& bias, const py::object& initial_h, const py::object& initial_c,
                  const py::object& mask, const py::object& input_dropout,
                  const py::object& recurrent_dropout) {
  rnnkit::ForwardArgs args;
  read_inputs(args, x, kernel, recurrent_kernel, bias, initial_h, initial_c, mask, input_dropout,
              recurrent_dropout);
  const auto spec = cell_spec(cell, input_size, units, activation, recurrent_activation,
                              !bias.is_none(), reset_after);
  const auto options = sequence_options(go_backwards, return_sequences, zero_output_for_mask, training);
  const auto [B, T] = batch_and_time(args.x);
  const auto dtype = float_dtype_of(args.x);
  const auto memory = rnnkit::forward_memory(spec, options, dtype, B, T);
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
                   const py::object& d_final_c, bool need_d_x) {
  rnnkit::BackwardArgs args;
  read_inputs(args, x, kernel, recurrent_kernel, bias, initial_h, initial_c, mask, input_dropout,
              recurrent_dropout);
  args.reserve = view_of(reserve, "reserve");
  args.d_output = view_of(d_output, "d_output");
  args.d_final_h = view_of(d_final_h, "d_final_h");
  args.d_final_c = view_of(d_final_c, "d_final_c");
  const auto spec = cell_spec(cell, input_size, units, activation, recurrent_activation,
                              !bias.is_none(), reset_after);
  const auto options = sequence_options(go_backwards, return_sequences, zero_output_for_mask, true);
  const auto [B, T] = batch_and_time(args.x);
  const auto dtype = float_dtype_of(args.x);
  const auto memory = rnnkit::backward_memory(spec, options, dtype, B, T);
  const std::int64_t GH = spec.gates() * units;
  py::object d_x = py::none();
  if (need_d_x) {
    py::array a = new_array(dtype, {B, T, input_size});
    args.d_x = out_view(a, dtype);
    d_x = a;
  }
  py::array d_h0 = new_array(dtype, {B, units});
  py::array d_kernel = new_array(dtype, {input_size, GH});
  py::array d_recurrent = new_array(dtype, {units, GH});
  py::object d_c0 = py::none(), d_bias = py::none();
  args.d_initial_h = out_view(d_h0, dtype);
  args.d_kernel = out_view(d_kernel, dtype);
  args.d_recurrent_kernel = out_view(d_recurrent, dtype);
  if (spec.kind == rnnkit::CellKind::lstm) {
    py::array c = new_array(dtype, {B, units});
    args.d_initial_c = out_view(c, dtype);
    d_c0 = c;
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

}  // namespace

PYBIND11_MODULE(_core, m) {
  m.doc() = "rnnkit C++ core: whole-sequence recurrent forward and backward on NumPy arrays";

  // pybind11 tries the most recently registered translator first: the base class goes first.
  py::register_exception<rnnkit::Error>(m, "Error", PyExc_RuntimeError);
  py::register_exception<rnnkit::InvalidArgument>(m, "InvalidArgument", PyExc_ValueError);
  py::register_exception<rnnkit::TypeMismatch>(m, "TypeMismatch", PyExc_TypeError);

  m.def("forward", &forward, py::kw_only(), py::arg("cell"), py::arg("input_size"),
        py::arg("units"), py::arg("activation"), py::arg("recurrent_activation"),
        py::arg("reset_after"), py::arg("go_backwards"), py::arg("return_sequences"),
        py::arg("zero_output_for_mask"), py::arg("training"), py::arg("x"), py::arg("kernel"),
        py::arg("recurrent_kernel"), py::arg("bias"), py::arg("initial_h"), py::arg("initial_c"),
        py::arg("mask"), py::arg("input_dropout"), py::arg("recurrent_dropout"),
        "Returns (output, final_h, final_c or None, reserve or None).");
  m.def("backward", &backward, py::kw_only(), py::arg("cell"), py::arg("input_size"),
        py::arg("units"), py::arg("activation"), py::arg("recurrent_activation"),
        py::arg("reset_after"), py::arg("go_backwards"), py::arg("return_sequences"),
        py::arg("zero_output_for_mask"), py::arg("x"), py::arg("kernel"),
        py::arg("recurrent_kernel"), py::arg("bias"), py::arg("initial_h"), py::arg("initial_c"),
        py::arg("mask"), py::arg("input_dropout"), py::arg("recurrent_dropout"),
        py::arg("reserve"), py::arg("d_output"), py::arg("d_final_h"), py::arg("d_final_c"),
        py::arg("need_d_x") = true,
        "Returns (d_x or None, d_initial_h, d_initial_c or None, d_kernel, d_recurrent_kernel, d_bias or None).");
  m.def("set_num_threads", &rnnkit::set_num_threads, py::arg("n"));
  m.def("get_num_threads", &rnnkit::get_num_threads);
}
