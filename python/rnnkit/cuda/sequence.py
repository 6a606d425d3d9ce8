"""`rnnkit.core.rnn_forward` / `rnn_backward` on GPU arrays: the same arguments and results, with
CuPy arrays out. Outputs, reserve and scratch come from CuPy's memory pool on CuPy's current
stream, and every kernel is queued on that stream (nothing waits for the GPU here)."""

from __future__ import annotations

from rnnkit import core as _host
from rnnkit import cuda as _cuda_api
from rnnkit.cuda.arrays import as_cupy, descriptor

_NAMES = ("x", "kernel", "recurrent_kernel", "bias", "initial_h", "initial_c", "mask",
          "input_dropout", "recurrent_dropout")


def _inputs(cell, x, kernel, recurrent_kernel, bias, initial_state, mask, input_dropout_mask,
            recurrent_dropout_mask):
    """Every input as a C-contiguous CuPy array on x's GPU (None stays None)."""
    import cupy
    h0, c0 = (_host._split_states(cell, initial_state, "initial_state") + [None])[:2]
    raw = dict(x=x, kernel=kernel, recurrent_kernel=recurrent_kernel, bias=bias, initial_h=h0,
               initial_c=c0 if cell == "lstm" else None, mask=mask,
               input_dropout=input_dropout_mask, recurrent_dropout=recurrent_dropout_mask)
    arrays = {}
    device = None
    for name in _NAMES:
        value = raw[name]
        if value is None:
            arrays[name] = None
            continue
        array = as_cupy(value, name)
        if device is None:
            device = array.device.id
        elif array.device.id != device:
            raise ValueError(f"argument '{name}' is on cuda:{array.device.id} but 'x' is on "
                             f"cuda:{device}: pass every array on the same GPU")
        arrays[name] = array
    with cupy.cuda.Device(device):
        for name, array in arrays.items():
            if array is None:
                continue
            if name == "mask" and array.dtype != cupy.uint8:
                if array.dtype.kind not in "biuf":
                    raise TypeError(f"mask must hold booleans or numbers, got dtype {array.dtype}")
                array = (array != 0).astype(cupy.uint8)
            arrays[name] = cupy.ascontiguousarray(array)
    return arrays, device


def _common(cell, arrays, activation, recurrent_activation, reset_after, go_backwards,
            return_sequences, zero_output_for_mask):
    x = arrays["x"]
    precision = _cuda_api.get_float32_matmul_precision()
    return dict(
        cell=cell, input_size=x.shape[-1] if x.ndim >= 1 else 1,
        units=_host._units(cell, arrays["kernel"], arrays["recurrent_kernel"]),
        activation=_host._activation_name(activation, "activation"),
        recurrent_activation=_host._activation_name(recurrent_activation, "recurrent_activation"),
        reset_after=bool(reset_after), go_backwards=bool(go_backwards),
        return_sequences=bool(return_sequences), zero_output_for_mask=bool(zero_output_for_mask),
        allow_tf32=precision != "highest", use_graph=_cuda_api.graphs_enabled())


def _memory(module, common, dtype, batch, steps, backward, training):
    keys = ("cell", "input_size", "units", "activation", "recurrent_activation", "reset_after",
            "go_backwards", "return_sequences", "zero_output_for_mask")
    return module.memory(backward=backward, use_bias=common["use_bias"], training=training,
                         dtype=dtype, batch=batch, timesteps=steps,
                         **{k: common[k] for k in keys})


def rnn_forward(cell, x, kernel, recurrent_kernel, bias=None, *, initial_state=None, mask=None,
                input_dropout_mask=None, recurrent_dropout_mask=None, activation="tanh",
                recurrent_activation="sigmoid", reset_after=True, go_backwards=False,
                return_sequences=False, zero_output_for_mask=False, training=False):
    """`rnnkit.core.rnn_forward` on the GPU; see there. Returns CuPy arrays."""
    module = _cuda_api.backend()
    import cupy
    from rnnkit.core import ForwardResult
    arrays, device = _inputs(cell, x, kernel, recurrent_kernel, bias, initial_state, mask,
                             input_dropout_mask, recurrent_dropout_mask)
    common = _common(cell, arrays, activation, recurrent_activation, reset_after, go_backwards,
                     return_sequences, zero_output_for_mask)
    common["use_bias"] = arrays["bias"] is not None
    x = arrays["x"]
    with cupy.cuda.Device(device):
        stream = cupy.cuda.get_current_stream()
        if x.ndim != 3 or x.dtype.name not in ("float32", "float64"):
            # The core's checks name the problem; give it views it can describe.
            batch, steps, dtype = 1, 1, "float32"
        else:
            batch, steps, dtype = x.shape[0], x.shape[1], x.dtype.name
        units = common["units"]
        if batch == 0 and x.ndim == 3 and steps > 0:
            return _empty_forward(cell, x, units, return_sequences, training)
        workspace_bytes, reserve_elements = _memory(module, common, dtype, batch, steps,
                                                    False, bool(training))
        output = cupy.empty((batch, steps, units) if return_sequences else (batch, units), dtype)
        final_h = cupy.empty((batch, units), dtype)
        final_c = cupy.empty((batch, units), dtype) if cell == "lstm" else None
        reserve = cupy.empty((reserve_elements,), dtype) if training else None
        workspace = cupy.empty((max(workspace_bytes, 1),), cupy.uint8)
        module.forward(
            training=bool(training), device_index=device, stream=stream.ptr,
            output=descriptor(output), final_h=descriptor(final_h), final_c=descriptor(final_c),
            reserve=descriptor(reserve), workspace=descriptor(workspace),
            **{k: v for k, v in common.items() if k != "use_bias"},
            **{name: descriptor(arrays[name]) for name in _NAMES})
    states = [final_h, final_c] if cell == "lstm" else [final_h]
    return ForwardResult(output, states, reserve)


def _empty_forward(cell, x, units, return_sequences, training):
    """An empty batch: empty outputs, as Keras gives (no kernel runs)."""
    import cupy
    from rnnkit.core import ForwardResult
    steps, dtype = x.shape[1], x.dtype
    output = cupy.empty((0, steps, units) if return_sequences else (0, units), dtype)
    states = [cupy.empty((0, units), dtype) for _ in range(2 if cell == "lstm" else 1)]
    return ForwardResult(output, states, cupy.empty((0,), dtype) if training else None)


def rnn_backward(cell, x, kernel, recurrent_kernel, bias=None, *, reserve, d_output,
                 d_states=None, initial_state=None, mask=None, input_dropout_mask=None,
                 recurrent_dropout_mask=None, activation="tanh", recurrent_activation="sigmoid",
                 reset_after=True, go_backwards=False, return_sequences=False,
                 zero_output_for_mask=False, need_d_x=True, need_d_initial_state=True):
    """`rnnkit.core.rnn_backward` on the GPU; see there. Returns CuPy arrays."""
    module = _cuda_api.backend()
    import cupy
    from rnnkit.core import Gradients
    arrays, device = _inputs(cell, x, kernel, recurrent_kernel, bias, initial_state, mask,
                             input_dropout_mask, recurrent_dropout_mask)
    common = _common(cell, arrays, activation, recurrent_activation, reset_after, go_backwards,
                     return_sequences, zero_output_for_mask)
    common["use_bias"] = arrays["bias"] is not None
    if reserve is None:
        raise ValueError("reserve is None: run rnn_forward with training=True first")
    grads_in = {"reserve": reserve, "d_output": d_output}
    d_h, d_c = (_host._split_states(cell, d_states, "d_states") + [None])[:2]
    grads_in["d_final_h"], grads_in["d_final_c"] = d_h, d_c if cell == "lstm" else None
    x = arrays["x"]
    with cupy.cuda.Device(device):
        for name, value in list(grads_in.items()):
            if value is not None:
                array = as_cupy(value, name)
                if array.device.id != device:
                    raise ValueError(f"argument '{name}' is on cuda:{array.device.id} but 'x' is "
                                     f"on cuda:{device}: pass every array on the same GPU")
                grads_in[name] = cupy.ascontiguousarray(array)
        stream = cupy.cuda.get_current_stream()
        if x.ndim != 3 or x.dtype.name not in ("float32", "float64"):
            batch, steps, dtype = 1, 1, "float32"
        else:
            batch, steps, dtype = x.shape[0], x.shape[1], x.dtype.name
        units, inputs = common["units"], common["input_size"]
        gh = _host.GATES[cell] * units
        if batch == 0 and x.ndim == 3 and steps > 0:
            return _empty_backward(cell, arrays, units, need_d_x, need_d_initial_state)
        workspace_bytes, _ = _memory(module, common, dtype, batch, steps, True, True)
        d_x = cupy.empty((batch, steps, inputs), dtype) if need_d_x else None
        d_h0 = cupy.empty((batch, units), dtype) if need_d_initial_state else None
        d_c0 = cupy.empty((batch, units), dtype) if cell == "lstm" and need_d_initial_state \
            else None
        d_kernel = cupy.empty((inputs, gh), dtype)
        d_recurrent = cupy.empty((units, gh), dtype)
        d_bias = None
        if arrays["bias"] is not None:
            two_rows = cell == "gru" and reset_after
            d_bias = cupy.empty((2, gh) if two_rows else (gh,), dtype)
        workspace = cupy.empty((max(workspace_bytes, 1),), cupy.uint8)
        module.backward(
            device_index=device, stream=stream.ptr, workspace=descriptor(workspace),
            d_x=descriptor(d_x), d_initial_h=descriptor(d_h0), d_initial_c=descriptor(d_c0),
            d_kernel=descriptor(d_kernel), d_recurrent_kernel=descriptor(d_recurrent),
            d_bias=descriptor(d_bias),
            **{k: v for k, v in common.items() if k != "use_bias"},
            **{name: descriptor(arrays[name]) for name in _NAMES},
            **{name: descriptor(value) for name, value in grads_in.items()})
    d_initial = None if d_h0 is None else [d_h0, d_c0] if cell == "lstm" else [d_h0]
    return Gradients(d_x, d_initial, d_kernel, d_recurrent, d_bias)


def _empty_backward(cell, arrays, units, need_d_x, need_d_initial_state):
    """An empty batch: no sample contributes, so every weight gradient is zero."""
    import cupy
    from rnnkit.core import Gradients
    x = arrays["x"]
    dtype = x.dtype
    d_x = cupy.empty(x.shape, dtype) if need_d_x else None
    d_initial = [cupy.empty((0, units), dtype) for _ in range(2 if cell == "lstm" else 1)] \
        if need_d_initial_state else None
    d_bias = None if arrays["bias"] is None else cupy.zeros(arrays["bias"].shape, dtype)
    return Gradients(d_x, d_initial, cupy.zeros(arrays["kernel"].shape, dtype),
                     cupy.zeros(arrays["recurrent_kernel"].shape, dtype), d_bias)
