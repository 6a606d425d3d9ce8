"""The GPU backend against the CPU backend (marked `gpu`; skipped, with the reason, where the
backend cannot run): forward and every gradient over the option grid, bit-identical repeats,
graphs on and off, refusals before any launch, DLPack input from CuPy and PyTorch, and the
recurrent layers on GPU arrays."""

from __future__ import annotations

import numpy as np
import pytest

import rnnkit
from rnnkit import core
from helpers import GATES, assert_close, make_case, option_grid

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not rnnkit.cuda.is_available(),
                       reason=f"GPU backend unavailable: {rnnkit.cuda.unavailable_reason()}"),
]


def _cp():
    import cupy
    return cupy


def _to_gpu(value):
    if value is None:
        return None
    if isinstance(value, (list, tuple)):
        return [_to_gpu(v) for v in value]
    return _cp().asarray(value)


def _host(value):
    if value is None:
        return None
    if isinstance(value, (list, tuple)):
        return [_host(v) for v in value]
    return _cp().asnumpy(value)


TOL = {np.float32: 1e-5, np.float64: 1e-12}


def _compare(gpu, cpu, dtype, what):
    tol = TOL[dtype]
    gpu = _host(gpu)
    assert gpu.shape == cpu.shape, what
    assert not np.isnan(cpu).any() and not np.isnan(gpu).any(), what
    scale = 1 + np.abs(cpu)
    worst = float(np.max(np.abs(gpu - cpu) / scale)) if cpu.size else 0.0
    assert worst <= tol, f"{what}: max relative difference {worst:.3g} > {tol}"


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", option_grid(seed=11, sizes=True))
def test_gpu_matches_cpu(case, dtype):
    rng = np.random.default_rng(case["seed"])
    cell, reset_after = case["variant"]
    args, kwargs = make_case(rng, cell, case.get("B", 3), case.get("T", 5), case.get("I", 4),
                             case.get("H", 6), reset_after=reset_after,
                             use_bias=case["use_bias"], dtype=dtype,
                             initial_state=case["initial_state"], mask=case["mask"],
                             input_dropout=case["input_dropout"],
                             recurrent_dropout=case["recurrent_dropout"])
    options = dict(kwargs, go_backwards=case["go_backwards"],
                   return_sequences=case["return_sequences"],
                   zero_output_for_mask=case["zero_output_for_mask"])
    cpu = core.rnn_forward(*args, training=True, **options)
    gpu_args = [args[0]] + [_to_gpu(a) for a in args[1:]]
    gpu_options = {k: (_to_gpu(v) if k not in ("reset_after", "go_backwards", "return_sequences",
                                                "zero_output_for_mask") else v)
                   for k, v in options.items()}
    gpu = core.rnn_forward(*gpu_args, training=True, **gpu_options)
    assert isinstance(gpu.output, _cp().ndarray)
    _compare(gpu.output, cpu.output, dtype, "output")
    for g, c in zip(gpu.states, cpu.states):
        _compare(g, c, dtype, "state")
    # The reserve: its body within rounding, its stamp (the last 16 elements) bit for bit.
    _compare(gpu.reserve[:-16], cpu.reserve[:-16], dtype, "reserve")
    np.testing.assert_array_equal(_host(gpu.reserve[-16:]).view(np.uint8),
                                  cpu.reserve[-16:].view(np.uint8))

    d_output = rng.standard_normal(cpu.output.shape).astype(dtype)
    d_states = [rng.standard_normal(s.shape).astype(dtype) for s in cpu.states]
    cpu_grads = core.rnn_backward(*args, reserve=cpu.reserve, d_output=d_output,
                                  d_states=d_states, **options)
    gpu_grads = core.rnn_backward(*gpu_args, reserve=gpu.reserve, d_output=_to_gpu(d_output),
                                  d_states=_to_gpu(d_states), **gpu_options)
    _compare(gpu_grads.d_x, cpu_grads.d_x, dtype, "d_x")
    for g, c in zip(gpu_grads.d_initial_state, cpu_grads.d_initial_state):
        _compare(g, c, dtype, "d_initial_state")
    _compare(gpu_grads.d_kernel, cpu_grads.d_kernel, dtype, "d_kernel")
    _compare(gpu_grads.d_recurrent_kernel, cpu_grads.d_recurrent_kernel, dtype,
             "d_recurrent_kernel")
    if cpu_grads.d_bias is not None:
        _compare(gpu_grads.d_bias, cpu_grads.d_bias, dtype, "d_bias")

    # Bit-identical when repeated, with and without the CUDA graph.
    for graphs in (True, False):
        rnnkit.cuda.set_graphs_enabled(graphs)
        try:
            again = core.rnn_forward(*gpu_args, training=True, **gpu_options)
            grads = core.rnn_backward(*gpu_args, reserve=again.reserve,
                                      d_output=_to_gpu(d_output), d_states=_to_gpu(d_states),
                                      **gpu_options)
        finally:
            rnnkit.cuda.set_graphs_enabled(True)
        np.testing.assert_array_equal(_host(again.output), _host(gpu.output))
        np.testing.assert_array_equal(_host(grads.d_kernel), _host(gpu_grads.d_kernel))
        np.testing.assert_array_equal(_host(grads.d_recurrent_kernel),
                                      _host(gpu_grads.d_recurrent_kernel))
        np.testing.assert_array_equal(_host(grads.d_x), _host(gpu_grads.d_x))


@pytest.mark.parametrize("cell", ["simple_rnn", "gru", "lstm"])
@pytest.mark.parametrize("activation", ["relu", "gelu", "hard_sigmoid", "softplus", "selu",
                                        "mish", "hard_silu", "squareplus"])
def test_every_activation(cell, activation):
    rng = np.random.default_rng(3)
    args, kwargs = make_case(rng, cell, 4, 6, 5, 7, dtype=np.float64, mask="holes")
    kwargs.update(activation=activation, recurrent_activation="hard_sigmoid")
    cpu = core.rnn_forward(*args, training=True, **kwargs)
    gpu = core.rnn_forward(args[0], *[_to_gpu(a) for a in args[1:]], training=True,
                           **{k: _to_gpu(v) if k in ("mask",) else v for k, v in kwargs.items()})
    _compare(gpu.output, cpu.output, np.float64, activation)


def test_layer_on_gpu_array_uses_device_weights():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((4, 9, 3)).astype("float32")
    for layer in (rnnkit.layers.LSTM(8, return_sequences=True),
                  rnnkit.layers.GRU(5, go_backwards=True, return_state=True),
                  rnnkit.layers.SimpleRNN(6)):
        want = layer(x)
        got = layer(_cp().asarray(x))
        for g, w in zip(got if isinstance(got, list) else [got],
                        want if isinstance(want, list) else [want]):
            assert isinstance(g, _cp().ndarray)
            _compare(g, np.asarray(w), np.float32, layer.name)
    # A weight change reaches the device copy.
    layer = rnnkit.layers.LSTM(4)
    layer(x)
    weights = [w * 0.5 for w in layer.get_weights()]
    layer.set_weights(weights)
    _compare(layer(_cp().asarray(x)), np.asarray(layer(x)), np.float32, "after set_weights")


def test_dlpack_from_pytorch():
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("PyTorch has no CUDA here")
    rng = np.random.default_rng(1)
    args, kwargs = make_case(rng, "gru", 3, 4, 5, 6, dtype=np.float32)
    cpu = core.rnn_forward(*args, **kwargs)
    torch_args = [args[0]] + [torch.from_numpy(a).cuda() for a in args[1:]]
    gpu = core.rnn_forward(*torch_args, **kwargs)
    _compare(gpu.output, cpu.output, np.float32, "torch input")


def test_refused_before_launch():
    rng = np.random.default_rng(2)
    cell, x, k, r, b = make_case(rng, "lstm", 2, 3, 4, 5, dtype=np.float32)[0]
    with pytest.raises(ValueError, match="kernel"):
        core.rnn_forward(cell, _to_gpu(x), _to_gpu(k[:, :-1]), _to_gpu(r), _to_gpu(b))
    with pytest.raises(ValueError, match="host array"):
        core.rnn_forward(cell, _to_gpu(x), k, _to_gpu(r), _to_gpu(b))
    with pytest.raises(TypeError, match="float64"):
        core.rnn_forward(cell, _to_gpu(x), _to_gpu(k.astype(np.float64)), _to_gpu(r), _to_gpu(b))


def test_tf32_switch():
    rng = np.random.default_rng(4)
    args, kwargs = make_case(rng, "lstm", 8, 20, 64, 64, dtype=np.float32)
    cpu = core.rnn_forward(*args, **kwargs)
    rnnkit.cuda.set_float32_matmul_precision("high")
    try:
        gpu = core.rnn_forward(args[0], *[_to_gpu(a) for a in args[1:]], **kwargs)
    finally:
        rnnkit.cuda.set_float32_matmul_precision("highest")
    assert_close(_host(gpu.output), cpu.output, rtol=2e-2, atol=2e-2)


def test_foreign_reserve_refused_on_gpu():
    rng = np.random.default_rng(5)
    args, kwargs = make_case(rng, "gru", 3, 4, 5, 6, dtype=np.float32, mask="holes")
    gpu_args = [args[0]] + [_to_gpu(a) for a in args[1:]]
    kwargs = {k: _to_gpu(v) if k == "mask" else v for k, v in kwargs.items()}
    fwd = core.rnn_forward(*gpu_args, training=True, **kwargs)
    other_x = gpu_args[1].copy()
    other_x[0, 0, 0] += 1
    with pytest.raises(ValueError, match="other inputs"):
        core.rnn_backward(gpu_args[0], other_x, *gpu_args[2:], reserve=fwd.reserve,
                          d_output=_cp().ones_like(fwd.output), **kwargs)
    with pytest.raises(ValueError, match="go_backwards"):
        core.rnn_backward(*gpu_args, reserve=fwd.reserve, d_output=_cp().ones_like(fwd.output),
                          **dict(kwargs, go_backwards=True))
    # A CPU reserve of the same call serves the GPU backward (the stamp is device-neutral).
    cpu_fwd = core.rnn_forward(*args, training=True, **{k: _host(v) if k == "mask" else v
                                                         for k, v in kwargs.items()})
    core.rnn_backward(*gpu_args, reserve=_to_gpu(cpu_fwd.reserve),
                      d_output=_cp().ones_like(fwd.output), **kwargs)
