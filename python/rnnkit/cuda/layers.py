"""The recurrent layers called on GPU arrays: inference on the CUDA backend.

`layer(cupy_x)` runs every cell of the layer fused on the GPU and returns CuPy arrays. Each cell
keeps a device copy of its weights, refreshed only when a weight changes (`Variable.version`), so
repeated calls move nothing between host and device but the caller's own arrays."""

from __future__ import annotations

from rnnkit.cuda import sequence
from rnnkit.cuda.arrays import as_cupy, is_device_array


def _device_weights(cell, device):
    """(kernel, recurrent_kernel, bias) of `cell` on GPU `device`, copied when changed."""
    import cupy

    def copy(kernel, recurrent_kernel, bias):
        with cupy.cuda.Device(device):
            return (cupy.asarray(kernel), cupy.asarray(recurrent_kernel),
                    None if bias is None else cupy.asarray(bias))

    return cell.derived_weights(("gpu", device), copy)


def _refuse(layer, why):
    raise NotImplementedError(
        f"Layer '{layer.name}' was called on a GPU array, but {why}. The GPU runs the recurrent "
        f"layers' inference for now; pass NumPy arrays for this call (see docs/gpu.md)")


def call_rnn(layer, inputs, initial_state=None, mask=None, training=None, **kwargs):
    """`layer(inputs, ...)` for a GPU `inputs`: the layer's output (and states with
    `return_state`) as CuPy arrays."""
    from rnnkit import cuda
    cuda.backend()  # says why, where the GPU backend cannot run
    import cupy
    from rnnkit import autodiff
    from rnnkit.layers.rnn import fused
    if kwargs:
        raise TypeError(f"Layer '{layer.name}' got unexpected arguments {sorted(kwargs)}")
    if autodiff.is_recording():
        _refuse(layer, "gradients of GPU layer calls are not available yet (record the tape on "
                       "NumPy inputs)")
    if layer.stateful:
        _refuse(layer, "a stateful layer keeps its states on the host")
    x = as_cupy(inputs, "inputs")
    if x.ndim != 3:
        raise ValueError(f"Layer '{layer.name}' expects sequences of shape (batch, timesteps, "
                         f"features), got an input of shape {tuple(x.shape)}")
    device = x.device.id
    with cupy.cuda.Device(device):
        if x.dtype.kind == "f" and x.dtype.name != layer.dtype and layer.autocast:
            x = x.astype(layer.dtype)
        elif x.dtype.kind in "iub":
            x = x.astype(layer.dtype)
        if not layer.built:
            layer._build_input_shape = tuple(int(s) for s in x.shape)
            layer.build(tuple(int(s) for s in x.shape))
        if layer.input_spec is not None:
            layer.input_spec.check(layer, x)
        plan = fused.plan(layer, x)
        if plan is None:
            _refuse(layer, "its cell is not one of the built-in SimpleRNN, GRU and LSTM cells "
                           "(or uses an activation the fused kernels lack)")
        dropout = any(getattr(cell, "dropout", 0) or getattr(cell, "recurrent_dropout", 0)
                      for cell, _ in plan)
        if training and dropout:
            _refuse(layer, "training with dropout on the GPU is not available yet")
        if mask is not None:
            mask = as_cupy(mask, "mask") if is_device_array(mask) else cupy.asarray(mask)
        states = _initial_states(layer, plan, initial_state, x)

        def forward_one(cell, names, x, cell_states, mask, go_backwards, return_sequences,
                        zero_output_for_mask, training):
            kernel, recurrent_kernel, bias = _device_weights(cell, device)
            result = sequence.rnn_forward(
                cell.core_name, x, kernel, recurrent_kernel, bias, initial_state=cell_states,
                mask=mask, activation=names[0], recurrent_activation=names[1],
                reset_after=getattr(cell, "reset_after", True), go_backwards=go_backwards,
                return_sequences=return_sequences, zero_output_for_mask=zero_output_for_mask)
            return result.output, list(result.states)

        x, final_states = fused.run(
            plan, x, states[0] if len(plan) == 1 else states, mask=mask,
            go_backwards=layer.go_backwards, return_sequences=layer.return_sequences,
            zero_output_for_mask=layer.zero_output_for_mask, training=False,
            forward_one=forward_one, reverse=lambda a: cupy.ascontiguousarray(a[:, ::-1]))
    if layer.return_state:
        return [x] + list(final_states)
    return x


def _initial_states(layer, plan, initial_state, x):
    """Per cell, its list of initial states on x's GPU (None: zeros)."""
    if initial_state is None:
        return [None] * len(plan)
    if len(plan) == 1:
        given = [initial_state]
    else:
        given = list(initial_state)
        if len(given) != len(plan):
            raise ValueError(f"`initial_state` of layer '{layer.name}' must hold one entry per "
                             f"cell ({len(plan)}), got {len(given)}")
    out = []
    for states in given:
        if is_device_array(states) or not isinstance(states, (list, tuple)):
            states = [states]
        out.append([as_cupy(s, "initial_state") for s in states])
    return out
