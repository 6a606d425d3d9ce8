"""Gradients through the layers under a GradientTape: the fused op (C++ BPTT) against finite
differences (float64) and against the generic loop's op-by-op gradients."""

import itertools

import numpy as np
import pytest

import rnnkit as keras
from rnnkit import ops
from rnnkit.autodiff import GradientTape
from rnnkit.layers.rnn.rnn import generic_loop_only
from helpers import make_mask, make_states, make_weights, make_x
from helpers import assert_close  # noqa: E402

KINDS = {
    "simple_rnn": (lambda **kw: keras.layers.SimpleRNN(**kw), "simple_rnn", True),
    "gru": (lambda **kw: keras.layers.GRU(**kw), "gru", True),
    "gru_reset_before": (lambda **kw: keras.layers.GRU(reset_after=False, **kw), "gru", False),
    "lstm": (lambda **kw: keras.layers.LSTM(**kw), "lstm", True),
}


def make_layer(kind, rng, I, H, **options):
    factory, core_name, reset_after = KINDS[kind]
    layer = factory(units=H, dtype="float64", return_state=True, **options)
    layer.build((None, None, I))
    weights = make_weights(rng, core_name, I, H, reset_after=reset_after)
    layer.set_weights(list(weights))
    return layer, core_name


def loss_and_grads(layer, x, states, mask, probes, training=False):
    """L = sum(output * p0) + sum(state_k * p_k); gradients w.r.t. x, states and weights."""
    x_t = keras.Variable(x, dtype="float64", name="x")
    state_vars = [keras.Variable(s, dtype="float64", name="s") for s in states]
    with GradientTape() as tape:
        out = layer(x_t, initial_state=state_vars, mask=mask, training=training)
        loss = ops.sum(ops.multiply(out[0], probes[0]))
        for value, probe in zip(out[1:], probes[1:]):
            loss = ops.add(loss, ops.sum(ops.multiply(value, probe)))
    sources = [x_t] + state_vars + list(layer.trainable_weights)
    grads = tape.gradient(loss, sources)
    return float(np.asarray(loss)), [np.asarray(g) for g in grads]


GRID = list(itertools.product(KINDS, ["none", "right", "holes"], [False, True], [False, True]))


@pytest.mark.parametrize("kind,mask_kind,go_backwards,return_sequences", GRID,
                         ids=["-".join(map(str, c)) for c in GRID])
def test_fused_gradients_match_generic_loop(rng, kind, mask_kind, go_backwards,
                                            return_sequences):
    B, T, I, H = 3, 5, 4, 3
    layer, core_name = make_layer(kind, rng, I, H, go_backwards=go_backwards,
                                  return_sequences=return_sequences,
                                  zero_output_for_mask=bool(rng.random() < 0.5))
    x = make_x(rng, B, T, I)
    states = make_states(rng, core_name, B, H)
    mask = make_mask(rng, mask_kind, B, T)
    out_shape = (B, T, H) if return_sequences else (B, H)
    probes = [rng.standard_normal(out_shape)] + [rng.standard_normal((B, H)) for _ in states]
    loss, fused = loss_and_grads(layer, x, states, mask, probes)
    with generic_loop_only():
        generic_loss, generic = loss_and_grads(layer, x, states, mask, probes)
    assert abs(loss - generic_loss) < 1e-12
    assert len(fused) == len(generic) == 1 + len(states) + 3
    for f, g in zip(fused, generic):
        assert_close(f, g, atol=1e-11, rtol=1e-9)


@pytest.mark.parametrize("kind", list(KINDS))
def test_fused_gradients_match_finite_differences(rng, kind):
    B, T, I, H = 2, 4, 3, 2
    layer, core_name = make_layer(kind, rng, I, H, return_sequences=True)
    x = make_x(rng, B, T, I)
    states = make_states(rng, core_name, B, H)
    mask = make_mask(rng, "holes", B, T)
    probes = [rng.standard_normal((B, T, H))] + [rng.standard_normal((B, H)) for _ in states]
    _, grads = loss_and_grads(layer, x, states, mask, probes)

    def loss_at(x_value, state_values, weight_values):
        layer.set_weights(weight_values)
        out = layer(x_value, initial_state=state_values, mask=mask)
        return sum(float(np.sum(o * p)) for o, p in zip(out, probes))

    base_weights = layer.get_weights()
    arrays = [x] + states + base_weights
    eps = 1e-6
    for index, array in enumerate(arrays):
        numeric = np.zeros_like(array)
        for position in np.ndindex(array.shape):
            values = [a.copy() for a in arrays]
            values[index][position] += eps
            plus = loss_at(values[0], values[1:1 + len(states)], values[1 + len(states):])
            values[index][position] -= 2 * eps
            minus = loss_at(values[0], values[1:1 + len(states)], values[1 + len(states):])
            numeric[position] = (plus - minus) / (2 * eps)
        assert_close(grads[index], numeric, atol=1e-7, rtol=1e-6)
    layer.set_weights(base_weights)


def test_dropout_gradients_fused_match_generic(rng):
    x = make_x(rng, 3, 4, 3)
    make = lambda: keras.layers.LSTM(3, dropout=0.3, recurrent_dropout=0.4, seed=5,
                                     return_state=True, dtype="float64")
    fused, generic = make(), make()
    fused.build((None, None, 3))
    generic.build((None, None, 3))
    generic.set_weights(fused.get_weights())
    states = make_states(rng, "lstm", 3, 3)
    probes = [rng.standard_normal((3, 3)) for _ in range(3)]
    _, a = loss_and_grads(fused, x, states, None, probes, training=True)
    with generic_loop_only():
        _, b = loss_and_grads(generic, x, states, None, probes, training=True)
    for f, g in zip(a, b):
        assert_close(f, g, atol=1e-11)


@pytest.mark.parametrize("go_backwards", [False, True])
def test_stacked_and_bidirectional_gradients_match_generic(rng, go_backwards):
    x = make_x(rng, 2, 5, 3)
    mask = make_mask(rng, "right", 2, 5)
    stack = keras.layers.RNN([keras.layers.LSTMCell(3), keras.layers.GRUCell(2)],
                             return_sequences=True, go_backwards=go_backwards, dtype="float64")
    bidirectional = keras.layers.Bidirectional(
        keras.layers.GRU(2, return_sequences=True, dtype="float64"), merge_mode="mul")
    for layer in (stack, bidirectional):
        layer(x)
        probe = rng.standard_normal(layer(x).shape)

        def grads():
            x_var = keras.Variable(x, dtype="float64")
            with GradientTape() as tape:
                loss = ops.sum(ops.multiply(layer(x_var, mask=mask), probe))
            return [np.asarray(g) for g in tape.gradient(loss, [x_var] + layer.trainable_weights)]

        fused = grads()
        with generic_loop_only():
            generic = grads()
        for f, g in zip(fused, generic):
            assert_close(f, g, atol=1e-11)


def test_custom_cell_trains_through_the_tape(rng):
    from test_layers_api import MinimalRNNCell
    layer = keras.layers.RNN(MinimalRNNCell(3, dtype="float64"), dtype="float64")
    x = make_x(rng, 2, 4, 2)
    layer(x)
    with GradientTape() as tape:
        loss = ops.sum(ops.square(layer(x)))
    grads = tape.gradient(loss, layer.trainable_weights)
    assert [g.shape for g in grads] == [(2, 3), (3, 3)]
    kernel, recurrent = layer.get_weights()
    eps = 1e-6
    bumped = kernel.copy()
    bumped[1, 2] += eps
    layer.set_weights([bumped, recurrent])
    plus = float(np.sum(layer(x) ** 2))
    bumped[1, 2] -= 2 * eps
    layer.set_weights([bumped, recurrent])
    minus = float(np.sum(layer(x) ** 2))
    assert abs((plus - minus) / (2 * eps) - np.asarray(grads[0])[1, 2]) < 1e-6


@pytest.mark.parametrize("track_states", [False, True])
def test_fused_backward_asks_for_the_initial_state_gradient_only_when_a_state_is_tracked(
        rng, monkeypatch, track_states):
    """Constant initial states (plain arrays) need no gradient: the core then skips the first
    step's recurrent product. Tracked ones (Variables) get theirs, as before."""
    from rnnkit.layers.rnn import fused
    layer, core_name = make_layer("lstm", rng, 3, 4)
    x = make_x(rng, 2, 5, 3, "float64")
    states = make_states(rng, core_name, 2, 4, "float64")
    asked = []
    real_backward = fused.core.rnn_backward

    def spy(*args, **kwargs):
        asked.append(kwargs["need_d_initial_state"])
        return real_backward(*args, **kwargs)

    monkeypatch.setattr(fused.core, "rnn_backward", spy)
    initial = [keras.Variable(s, dtype="float64") for s in states] if track_states else states
    with GradientTape() as tape:
        out = layer(x, initial_state=initial, training=True)
        loss = ops.sum(ops.multiply(out[0], out[0]))
    sources = layer.trainable_weights + (initial if track_states else [])
    grads = tape.gradient(loss, sources)
    assert asked == [track_states]
    assert all(g is not None for g in grads)
    monkeypatch.setattr(fused.core, "rnn_backward", real_backward)
    with GradientTape() as tape:
        tracked = [keras.Variable(s, dtype="float64") for s in states]
        out = layer(x, initial_state=tracked, training=True)
        loss = ops.sum(ops.multiply(out[0], out[0]))
    reference = tape.gradient(loss, layer.trainable_weights + tracked)
    for a, b in zip(grads, reference):
        np.testing.assert_array_equal(a, b)
