"""Streaming inference: `rnnkit.core.RNNStream` (the C++ rnnkit::Stream) and the stateful layer
path that runs one-timestep calls through it (`rnnkit.layers.rnn.streaming`).

The stream must give `rnn_forward`'s results bit for bit (same products in the same order, same
cell arithmetic), and agree with the NumPy reference from the Keras equations; a stateful layer
called one step at a time must give what the normal (fused) path gives, bit for bit, across
`reset_states`, `set_weights`, direct assignments and calls of several timesteps.
"""

import numpy as np
import pytest
from helpers import assert_close, assert_same, assert_stream_gives, make_states, make_weights, make_x
from reference import reference_forward

import rnnkit as keras
from rnnkit import core
from rnnkit.layers.rnn import streaming
from rnnkit.layers.rnn.rnn import generic_loop_only

VARIANTS = [("simple_rnn", True), ("gru", True), ("gru", False), ("lstm", True)]
ACTIVATIONS = [("tanh", "sigmoid"), ("relu", "hard_sigmoid"), ("gelu", "tanh")]


def _stream(cell, weights, B, reset_after=True, activation="tanh",
            recurrent_activation="sigmoid", **kwargs):
    kernel, recurrent, bias = weights
    return core.RNNStream(cell, kernel, recurrent, bias, batch_size=B, activation=activation,
                          recurrent_activation=recurrent_activation, reset_after=reset_after,
                          **kwargs)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("acts", ACTIVATIONS)
@pytest.mark.parametrize("use_bias", [True, False])
@pytest.mark.parametrize("cell,reset_after", VARIANTS)
@pytest.mark.parametrize("size", [(1, 6, 64, 64), (3, 5, 7, 19), (2, 3, 300, 33)])
def test_stream_equals_rnn_forward_bit_for_bit(rng, size, cell, reset_after, use_bias, acts,
                                               dtype):
    B, T, I, H = size
    weights = make_weights(rng, cell, I, H, use_bias=use_bias, reset_after=reset_after,
                           dtype=dtype)
    x = make_x(rng, B, T, I, dtype)
    states = make_states(rng, cell, B, H, dtype)
    options = dict(activation=acts[0], recurrent_activation=acts[1], reset_after=reset_after)
    want = core.rnn_forward(cell, x, *weights, initial_state=states, return_sequences=True,
                            **options)
    stream = _stream(cell, weights, B, **options)
    steps = assert_stream_gives(stream, x, states, want)
    # Pieces from the same states, the last returning only the last output.
    stream.set_states(states)
    stream.run(x[:, :2])
    assert_same(stream.run(x[:, 2:], return_sequences=False), want.output[:, -1])
    for got, expected in zip(stream.states, want.states):
        assert_same(got, expected)
    # The NumPy reference from the Keras equations.
    ref_output, ref_states = reference_forward(cell, x, *weights, initial_state=states,
                                               return_sequences=True, **options)
    tol = 2e-5 if dtype == np.float32 else 1e-12
    assert_close(steps, ref_output, rtol=tol, atol=tol)


@pytest.mark.parametrize("zero_output_for_mask", [False, True])
@pytest.mark.parametrize("cell,reset_after", VARIANTS)
def test_stream_masked_run_equals_rnn_forward(rng, cell, reset_after, zero_output_for_mask):
    B, T, I, H = 3, 6, 5, 11
    weights = make_weights(rng, cell, I, H, reset_after=reset_after, dtype=np.float32)
    x = make_x(rng, B, T, I, np.float32)
    mask = rng.uniform(size=(B, T)) < 0.6
    mask[0, 0] = False
    mask[1, -1] = False
    stream = _stream(cell, weights, B, reset_after=reset_after,
                     zero_output_for_mask=zero_output_for_mask)
    for return_sequences in (True, False):
        want = core.rnn_forward(cell, x, *weights, mask=mask, reset_after=reset_after,
                                return_sequences=return_sequences,
                                zero_output_for_mask=zero_output_for_mask)
        stream.reset_states()
        assert_same(stream.run(x, return_sequences=return_sequences, mask=mask), want.output)
        for got, expected in zip(stream.states, want.states):
            assert_same(got, expected)


def test_stream_set_weights_and_checks(rng):
    weights = make_weights(rng, "lstm", 4, 3, dtype=np.float32)
    other = make_weights(rng, "lstm", 4, 3, dtype=np.float32)
    x = make_x(rng, 2, 4, 4, np.float32)
    stream = _stream("lstm", weights, 2)
    stream.set_weights(*other)
    assert_same(stream.run(x), core.rnn_forward("lstm", x, *other, return_sequences=True).output)
    assert stream.dtype == "float32" and stream.batch_size == 2
    with pytest.raises(ValueError, match="x_t"):
        stream.step(x[:1, 0])
    with pytest.raises(TypeError, match="x_t"):
        stream.step(x[:, 0].astype(np.float64))
    with pytest.raises(ValueError, match="kernel"):
        stream.set_weights(other[1], other[1], other[2])
    with pytest.raises(ValueError, match="bias"):
        core.RNNStream("lstm", weights[0], weights[1], weights[2][:5], batch_size=2)
    with pytest.raises(ValueError, match="bias"):
        core.RNNStream("lstm", weights[0], weights[1], None, batch_size=2).set_weights(*weights)
    with pytest.raises(ValueError, match="mask"):
        stream.run(x, mask=np.ones((2, 3), bool))
    with pytest.raises(ValueError, match="cell"):
        core.RNNStream("rnn", *weights)
    with pytest.raises(ValueError, match="batch"):
        core.RNNStream("lstm", *weights, batch_size=0)
    with pytest.raises(ValueError, match="states"):
        stream.set_states([np.zeros((2, 3), np.float32)])
    # The binding's states() into given arrays (what the stateful layer's stream uses).
    h, c = np.full((2, 3), 9, np.float32), np.full((2, 3), 9, np.float32)
    assert stream._stream.states(h, c) == (h, c)
    for given, own in zip((h, c), stream._stream.states()):
        assert_same(given, own)
    frozen = np.zeros((2, 3), np.float32)
    frozen.flags.writeable = False
    with pytest.raises(ValueError, match="'h' must be a writeable"):
        stream._stream.states(frozen, c)
    with pytest.raises(ValueError, match="'c'"):
        stream._stream.states(h, np.zeros((2, 4), np.float32))
    with pytest.raises(ValueError, match="overlap"):
        stream._stream.states(h, h)


# -- the stateful layer path -----------------------------------------------------------------

LAYERS = [(keras.layers.SimpleRNN, {}), (keras.layers.GRU, {}),
          (keras.layers.GRU, {"reset_after": False}), (keras.layers.LSTM, {})]


class _CountingStream:
    """Wraps a layer's stream to count the calls that repack weights or copy states in."""

    def __init__(self, stream):
        self._stream = stream
        self.calls = {"set_weights": 0, "set_states": 0, "run": 0}

    def __getattr__(self, name):
        attr = getattr(self._stream, name)
        if name in self.calls:
            def counted(*args, **kwargs):
                self.calls[name] += 1
                return attr(*args, **kwargs)
            return counted
        return attr


def _pair(layer_class, kwargs, units=5, batch=2, features=3, seed=0, **layer_kwargs):
    """A stateful layer and a twin with the same weights, run through the normal path."""
    a = layer_class(units, stateful=True, **kwargs, **layer_kwargs)
    b = layer_class(units, stateful=True, **kwargs, **layer_kwargs)
    x = np.zeros((batch, 1, features), np.float32)
    a(x)
    b(x)
    rng = np.random.default_rng(seed)
    a.set_weights([rng.uniform(-0.6, 0.6, w.shape).astype(np.float32) for w in a.get_weights()])
    b.set_weights(a.get_weights())
    a.reset_states()
    b.reset_states()
    return a, b


def _normal(layer, x, **kwargs):
    """The call through the normal path (the stream switched off)."""
    original = streaming.try_step
    streaming.try_step = lambda *args, **kwargs: streaming.NOT_TAKEN
    try:
        return layer(x, **kwargs)
    finally:
        streaming.try_step = original


def _assert_same_outputs(a, b):
    a = a if isinstance(a, list) else [a]
    b = b if isinstance(b, list) else [b]
    assert len(a) == len(b)
    for x, y in zip(a, b):
        assert_same(np.asarray(x), np.asarray(y))


@pytest.mark.parametrize("return_state", [True, False])
@pytest.mark.parametrize("return_sequences", [False, True])
@pytest.mark.parametrize("layer_class,kwargs", LAYERS)
def test_stateful_one_step_calls_equal_the_normal_path(layer_class, kwargs, return_sequences,
                                                       return_state):
    """Without return_state the stream writes the states straight into the state variables;
    with it, the returned states are arrays of their own. The first steps are contiguous
    arrays (the layer's fast path, fast_call), the later ones strided slices (RNN.call)."""
    a, b = _pair(layer_class, kwargs, return_sequences=return_sequences,
                 return_state=return_state)
    rng = np.random.default_rng(1)
    x = rng.uniform(-1, 1, (2, 9, 3)).astype(np.float32)
    for t in range(4):
        versions = [v.version for v in a.states]
        out = a(np.ascontiguousarray(x[:, t:t + 1]))
        _assert_same_outputs(out, _normal(b, x[:, t:t + 1]))
        for va, vb, before in zip(a.states, b.states, versions):
            assert_same(va.numpy(), vb.numpy())
            assert va.version > before      # caches keyed on versions see the new states
        if return_state:
            for state, variable in zip(out[1:], a.states):
                assert not np.shares_memory(np.asarray(state), variable.value)
    cache = a._stream_cache
    cache.stream = counting = _CountingStream(cache.stream)
    for t in range(4, 6):
        _assert_same_outputs(a(x[:, t:t + 1]), _normal(b, x[:, t:t + 1]))
    # Nothing changed between calls: no repacking, no state copy, one run per call.
    assert counting.calls == {"set_weights": 0, "set_states": 0, "run": 2}
    # A longer call goes the normal way, then one-step calls resume from its states.
    _assert_same_outputs(a(x[:, 6:8]), _normal(b, x[:, 6:8]))
    _assert_same_outputs(a(x[:, 8:9]), _normal(b, x[:, 8:9]))
    assert counting.calls["set_states"] == 1
    for va, vb in zip(a.states, b.states):
        assert_same(va.numpy(), vb.numpy())
    # reset_states, then new weights (set_weights) and a direct assignment.
    a.reset_states()
    b.reset_states()
    _assert_same_outputs(a(x[:, :1]), _normal(b, x[:, :1]))
    new = [w * np.float32(0.5) for w in a.get_weights()]
    a.set_weights(new)
    b.set_weights(new)
    _assert_same_outputs(a(x[:, 1:2]), _normal(b, x[:, 1:2]))
    assert counting.calls["set_weights"] == 1
    a.cell.recurrent_kernel.assign(a.cell.recurrent_kernel.numpy() * 2)
    b.cell.recurrent_kernel.assign(b.cell.recurrent_kernel.numpy() * 2)
    _assert_same_outputs(a(x[:, 2:3]), _normal(b, x[:, 2:3]))
    assert counting.calls["set_weights"] == 2
    assert counting.calls["run"] == 2 + 4


def test_stateful_stream_results_equal_one_whole_sequence():
    """One-step calls of a stateful layer equal one call of a stateless twin over the whole
    sequence, and the generic Python loop."""
    a, _ = _pair(keras.layers.LSTM, {}, return_sequences=True, batch=3)
    twin = keras.layers.LSTM(5, return_sequences=True)
    x = np.random.default_rng(2).uniform(-1, 1, (3, 7, 3)).astype(np.float32)
    twin(x)
    twin.set_weights(a.get_weights())
    steps = np.concatenate([a(x[:, t:t + 1]) for t in range(7)], axis=1)
    assert_same(steps, twin(x))
    with generic_loop_only():
        assert_close(steps, twin(x), rtol=1e-5, atol=1e-6)


def test_stream_not_taken_where_the_normal_path_has_work():
    a, _ = _pair(keras.layers.GRU, {}, dropout=0.5)
    x = np.ones((2, 1, 3), np.float32)
    from rnnkit.layers.rnn import fused
    plan = fused.plan(a, x)
    # Taken for inference; not for training with dropout, under a tape, several steps, another
    # batch size, or without a fused plan.
    assert streaming.try_step(a, plan, x, True) is streaming.NOT_TAKEN
    assert streaming.try_step(a, plan, x, False) is not streaming.NOT_TAKEN
    with keras.GradientTape():
        assert streaming.try_step(a, plan, x, False) is streaming.NOT_TAKEN
    assert streaming.try_step(a, plan, np.ones((2, 2, 3), np.float32), False) is \
        streaming.NOT_TAKEN
    assert streaming.try_step(a, plan, np.ones((3, 1, 3), np.float32), False) is \
        streaming.NOT_TAKEN
    assert streaming.try_step(a, None, x, False) is streaming.NOT_TAKEN


def test_stateful_stream_under_a_tape_matches_and_records():
    """Under a GradientTape the call takes the normal path, from the states the stream left:
    outputs and gradients equal the twin's, and the next one-step call uses the stream again."""
    a, b = _pair(keras.layers.LSTM, {})
    x = np.random.default_rng(3).uniform(-1, 1, (2, 1, 3)).astype(np.float32)
    _assert_same_outputs(a(x), _normal(b, x))
    grads = []
    for layer in (a, b):
        with keras.GradientTape() as tape:
            y = keras.ops.sum(layer(x) ** 2)
        grads.append(tape.gradient(y, layer.trainable_weights))
    for ga, gb in zip(*grads):
        assert ga is not None
        assert_same(np.asarray(ga), np.asarray(gb))
    cache = a._stream_cache
    cache.stream = counting = _CountingStream(cache.stream)
    _assert_same_outputs(a(x), _normal(b, x))
    assert counting.calls == {"set_weights": 0, "set_states": 1, "run": 1}
