"""Keras layers against the NumPy reference, and the fused C++ path against the generic Python
loop (the second oracle), over every option the layers take."""

import itertools

import numpy as np
import pytest

import rnnkit as keras
from rnnkit.layers.rnn.rnn import generic_loop_only
from helpers import make_mask, make_states, make_weights, make_x
from reference import reference_bidirectional, reference_forward, reference_stacked
from helpers import assert_close, assert_same  # noqa: E402

LAYERS = {
    "simple_rnn": (keras.layers.SimpleRNN, keras.layers.SimpleRNNCell, {}),
    "gru": (keras.layers.GRU, keras.layers.GRUCell, {"reset_after": True}),
    "gru_reset_before": (keras.layers.GRU, keras.layers.GRUCell, {"reset_after": False}),
    "lstm": (keras.layers.LSTM, keras.layers.LSTMCell, {}),
}
CORE_NAME = {"simple_rnn": "simple_rnn", "gru": "gru", "gru_reset_before": "gru", "lstm": "lstm"}
MASKS = ("none", "right", "left", "holes", "all_masked_row")


def tolerance(dtype):
    return dict(atol=2e-5, rtol=1e-5) if dtype == np.float32 else dict(atol=1e-12, rtol=1e-10)


def build_layer(kind, units, input_dim, rng, dtype, use_bias=True, **options):
    layer_cls, _, extra = LAYERS[kind]
    layer = layer_cls(units, use_bias=use_bias, dtype=np.dtype(dtype).name, **extra, **options)
    layer.build((None, None, input_dim))
    weights = make_weights(rng, CORE_NAME[kind], input_dim, units, use_bias=use_bias,
                           reset_after=extra.get("reset_after", True), dtype=dtype)
    layer.set_weights([w for w in weights if w is not None])
    return layer, weights


def reference_of(kind, weights, x, **options):
    kernel, recurrent, bias = weights
    return reference_forward(CORE_NAME[kind], x, kernel, recurrent, bias,
                             reset_after=LAYERS[kind][2].get("reset_after", True), **options)


def as_list(result):
    return result if isinstance(result, list) else [result]


GRID = list(itertools.product(LAYERS, MASKS, [False, True], [False, True], [False, True]))


@pytest.mark.parametrize("kind,mask_kind,go_backwards,return_sequences,zero_output", GRID,
                         ids=["-".join(map(str, case)) for case in GRID])
def test_layer_matches_reference_and_generic_loop(rng, kind, mask_kind, go_backwards,
                                                  return_sequences, zero_output):
    B, T, I, H = int(rng.integers(1, 5)), int(rng.integers(1, 7)), int(rng.integers(1, 6)), \
        int(rng.integers(1, 7))
    dtype = np.float32 if rng.random() < 0.5 else np.float64
    use_bias = bool(rng.random() < 0.8)
    with_state = bool(rng.random() < 0.5)
    layer, weights = build_layer(kind, H, I, rng, dtype, use_bias=use_bias,
                                 go_backwards=go_backwards, return_sequences=return_sequences,
                                 return_state=True, zero_output_for_mask=zero_output)
    x = make_x(rng, B, T, I, dtype)
    mask = make_mask(rng, mask_kind, B, T)
    states = make_states(rng, CORE_NAME[kind], B, H, dtype) if with_state else None
    got = layer(x, initial_state=states, mask=mask)
    expected_out, expected_states = reference_of(
        kind, weights, x, initial_state=states, mask=mask, go_backwards=go_backwards,
        return_sequences=return_sequences, zero_output_for_mask=zero_output)
    assert len(got) == 1 + len(expected_states)
    assert got[0].dtype == dtype
    assert_close(got[0], expected_out, **tolerance(dtype))
    for g, e in zip(got[1:], expected_states):
        assert_close(g, e, **tolerance(dtype))
    with generic_loop_only():
        generic = layer(x, initial_state=states, mask=mask)
    for g, f in zip(generic, got):
        assert_close(g, f, **tolerance(dtype))


@pytest.mark.parametrize("kind", list(LAYERS))
@pytest.mark.parametrize("return_sequences,return_state", [(False, False), (True, False),
                                                           (False, True), (True, True)])
def test_output_structure(kind, return_sequences, return_state):
    layer_cls, _, extra = LAYERS[kind]
    layer = layer_cls(3, return_sequences=return_sequences, return_state=return_state, **extra)
    out = layer(np.ones((2, 5, 4), np.float32))
    n_states = 2 if kind == "lstm" else 1
    out_shape = (2, 5, 3) if return_sequences else (2, 3)
    if return_state:
        assert isinstance(out, list) and len(out) == 1 + n_states
        assert [o.shape for o in out] == [out_shape] + [(2, 3)] * n_states
    else:
        assert isinstance(out, np.ndarray) and out.shape == out_shape
    assert layer.compute_output_shape((2, 5, 4)) == (
        [out_shape] + [(2, 3)] * n_states if return_state else out_shape)


def test_unmasked_last_output_equals_final_h(rng):
    for kind in LAYERS:
        layer, _ = build_layer(kind, 4, 3, rng, np.float32, return_state=True)
        out = layer(make_x(rng, 2, 6, 3, np.float32))
        assert_same(out[0], out[1])


@pytest.mark.parametrize("kind", ["simple_rnn", "gru", "lstm"])
def test_rnn_of_builtin_cell_equals_the_layer(rng, kind):
    layer_cls, cell_cls, extra = LAYERS[kind]
    fused_layer = layer_cls(5, return_sequences=True, return_state=True, **extra)
    wrapped = keras.layers.RNN(cell_cls(5, **extra), return_sequences=True, return_state=True)
    x = make_x(rng, 3, 7, 4, np.float32)
    mask = make_mask(rng, "holes", 3, 7)
    fused_layer(x)
    wrapped(x)
    wrapped.set_weights(fused_layer.get_weights())
    for a, b in zip(fused_layer(x, mask=mask), wrapped(x, mask=mask)):
        assert_same(a, b)


def _cell_specs(rng, dims, dtype):
    kinds = ["lstm", "gru", "simple_rnn", "gru_reset_before"]
    specs, cells = [], []
    for k, (inp, units) in enumerate(zip(dims[:-1], dims[1:])):
        kind = kinds[k % len(kinds)]
        _, cell_cls, extra = LAYERS[kind]
        kernel, recurrent, bias = make_weights(rng, CORE_NAME[kind], inp, units,
                                               reset_after=extra.get("reset_after", True),
                                               dtype=dtype)
        specs.append(dict(cell=CORE_NAME[kind], kernel=kernel, recurrent_kernel=recurrent,
                          bias=bias, reset_after=extra.get("reset_after", True)))
        cells.append(cell_cls(units, dtype=np.dtype(dtype).name, **extra))
    return specs, cells


@pytest.mark.parametrize("mask_kind", MASKS)
@pytest.mark.parametrize("go_backwards", [False, True])
@pytest.mark.parametrize("return_sequences", [False, True])
@pytest.mark.parametrize("zero_output", [False, True])
def test_stacked_cells_match_reference(rng, mask_kind, go_backwards, return_sequences,
                                       zero_output):
    dtype = np.float64
    B, T = 3, 6
    dims = [4, 5, 3, 2, 4]
    specs, cells = _cell_specs(rng, dims, dtype)
    layer = keras.layers.RNN(cells, return_sequences=return_sequences, return_state=True,
                             go_backwards=go_backwards, zero_output_for_mask=zero_output,
                             dtype="float64")
    x = make_x(rng, B, T, dims[0], dtype)
    layer.build(x.shape)
    layer.set_weights([w for s in specs for w in (s["kernel"], s["recurrent_kernel"], s["bias"])])
    mask = make_mask(rng, mask_kind, B, T)
    initial = [[s for s in make_states(rng, spec["cell"], B, spec["recurrent_kernel"].shape[0],
                                       dtype)] for spec in specs]
    got = layer(x, initial_state=initial, mask=mask)
    expected, expected_states = reference_stacked(
        specs, x, initial_states=initial, mask=mask, go_backwards=go_backwards,
        return_sequences=return_sequences, zero_output_for_mask=zero_output)
    assert_close(got[0], expected, atol=1e-12)
    assert len(got) == 1 + len(specs)
    for cell_got, cell_expected in zip(got[1:], expected_states):
        assert isinstance(cell_got, list) and len(cell_got) == len(cell_expected)
        for g, e in zip(cell_got, cell_expected):
            assert_close(g, e, atol=1e-12)
    with generic_loop_only():
        generic = layer(x, initial_state=initial, mask=mask)
    assert_close(generic[0], got[0], atol=1e-12)
    for cell_generic, cell_got in zip(generic[1:], got[1:]):
        for g, f in zip(cell_generic, cell_got):
            assert_close(g, f, atol=1e-12)


def test_stack_equals_separate_layers(rng):
    x = make_x(rng, 2, 5, 3, np.float32)
    stack = keras.layers.RNN([keras.layers.LSTMCell(4), keras.layers.GRUCell(5),
                              keras.layers.SimpleRNNCell(2)])
    stack(x)
    layers = [keras.layers.LSTM(4, return_sequences=True),
              keras.layers.GRU(5, return_sequences=True), keras.layers.SimpleRNN(2)]
    y = x
    for layer in layers:
        y = layer(y)
    weights = stack.get_weights()
    for k, layer in enumerate(layers):
        layer.set_weights(weights[3 * k:3 * k + 3])
    y = x
    for layer in layers:
        y = layer(y)
    assert_close(stack(x), y, atol=1e-6)
    cells = stack.cell
    assert [w.path for w in stack.weights][:3] == [
        f"{stack.name}/{cells.name}/{cells.cells[0].name}/{name}"
        for name in ("kernel", "recurrent_kernel", "bias")]


@pytest.mark.parametrize("merge_mode", ["concat", "sum", "mul", "ave", None])
@pytest.mark.parametrize("return_sequences", [False, True])
@pytest.mark.parametrize("return_state", [False, True])
@pytest.mark.parametrize("mask_kind", ["none", "right", "holes"])
def test_bidirectional_matches_reference(rng, merge_mode, return_sequences, return_state,
                                         mask_kind):
    dtype = np.float64
    B, T, I, H = 3, 5, 4, 3
    layer = keras.layers.Bidirectional(
        keras.layers.LSTM(H, return_sequences=return_sequences, return_state=return_state,
                          dtype="float64"), merge_mode=merge_mode)
    x = make_x(rng, B, T, I, dtype)
    layer.build(x.shape)
    fw = make_weights(rng, "lstm", I, H, dtype=dtype)
    bw = make_weights(rng, "lstm", I, H, dtype=dtype)
    layer.set_weights(list(fw) + list(bw))
    mask = make_mask(rng, mask_kind, B, T)
    states = make_states(rng, "lstm", B, H, dtype) + make_states(rng, "lstm", B, H, dtype)
    got = layer(x, initial_state=states, mask=mask)
    spec = lambda w: dict(cell="lstm", kernel=w[0], recurrent_kernel=w[1], bias=w[2])
    merged, s_f, s_b = reference_bidirectional(spec(fw), spec(bw), x, merge_mode=merge_mode,
                                               mask=mask, return_sequences=return_sequences,
                                               initial_states=states)
    expected = (merged if merge_mode is None else [merged]) if return_state else merged
    if return_state:
        expected = list(expected) + s_f + s_b
        assert len(got) == len(expected)
        for g, e in zip(got, expected):
            assert_close(g, e, atol=1e-12)
    elif merge_mode is None:
        for g, e in zip(got, merged):
            assert_close(g, e, atol=1e-12)
    else:
        assert_close(got, merged, atol=1e-12)


def test_bidirectional_weights_names_and_shapes():
    inner = keras.layers.LSTM(64, return_sequences=True)
    layer = keras.layers.Bidirectional(inner)
    out = layer(np.zeros((2, 5, 10), np.float32))
    assert out.shape == (2, 5, 128)
    assert layer.count_params() == 38400
    paths = [w.path for w in layer.weights]
    assert paths[0] == f"{layer.name}/forward_{inner.name}/lstm_cell/kernel", paths
    assert paths[3] == f"{layer.name}/backward_{inner.name}/lstm_cell/kernel", paths
    assert len(paths) == 6
    assert layer.forward_layer.name.startswith("forward_")
    assert layer.backward_layer.go_backwards and not layer.forward_layer.go_backwards
    second = keras.layers.Bidirectional(keras.layers.LSTM(32))
    assert second(out).shape == (2, 64)
    assert second.count_params() == 41216


def test_bidirectional_custom_backward_layer(rng):
    layer = keras.layers.Bidirectional(
        keras.layers.LSTM(2, return_sequences=True),
        backward_layer=keras.layers.GRU(3, go_backwards=True, return_sequences=True))
    out = layer(make_x(rng, 2, 4, 3, np.float32))
    assert out.shape == (2, 4, 5)
    assert layer.backward_layer.name.startswith("gru")
