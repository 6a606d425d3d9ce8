"""The Keras API around the layers: custom cells, stateful layers, dropout, weights, configs."""

import numpy as np
import pytest

import rnnkit as keras
from rnnkit import ops
from rnnkit.layers.rnn.rnn import generic_loop_only
from helpers import make_mask, make_x
from reference import reference_forward
from helpers import assert_close, assert_same  # noqa: E402

LAYER_CLASSES = [keras.layers.SimpleRNN, keras.layers.GRU, keras.layers.LSTM]


# -- custom cells ------------------------------------------------------------------------------
class MinimalRNNCell(keras.layers.Layer):
    """The Keras RNN guide's minimal cell: h = x @ K + h_prev @ R."""

    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.state_size = units

    def build(self, input_shape):
        self.kernel = self.add_weight(shape=(input_shape[-1], self.units),
                                      initializer="uniform", name="kernel")
        self.recurrent_kernel = self.add_weight(shape=(self.units, self.units),
                                                initializer="uniform", name="recurrent_kernel")

    def call(self, inputs, states):
        prev_output = states[0]
        h = ops.matmul(inputs, self.kernel)
        output = h + ops.matmul(prev_output, self.recurrent_kernel)
        return output, [output]

    def get_config(self):
        return {**super().get_config(), "units": self.units}


class NestedCell(keras.layers.Layer):
    """The Keras RNN guide's cell with nested inputs and states, written with rnnkit.ops."""

    def __init__(self, unit_1, unit_2, unit_3, **kwargs):
        self.unit_1, self.unit_2, self.unit_3 = unit_1, unit_2, unit_3
        self.state_size = [(unit_1,), (unit_2, unit_3)]
        self.output_size = [(unit_1,), (unit_2, unit_3)]
        super().__init__(**kwargs)

    def build(self, input_shapes):
        i1 = input_shapes[0][1]
        i2, i3 = input_shapes[1][1], input_shapes[1][2]
        self.kernel_1 = self.add_weight(shape=(i1, self.unit_1), initializer="uniform",
                                        name="kernel_1")
        self.kernel_2_3 = self.add_weight(shape=(i2, i3, self.unit_2, self.unit_3),
                                          initializer="uniform", name="kernel_2_3")

    def call(self, inputs, states):
        input_1, input_2 = keras.tree.flatten(inputs)
        s1, s2 = states
        output_1 = ops.matmul(input_1, self.kernel_1)
        output_2_3 = ops.einsum("bij,ijkl->bkl", input_2, self.kernel_2_3)
        state_1 = s1 + output_1
        state_2_3 = s2 + output_2_3
        return (output_1, output_2_3), (state_1, state_2_3)

    def get_config(self):
        return {**super().get_config(), "unit_1": self.unit_1, "unit_2": self.unit_2,
                "unit_3": self.unit_3}


def test_minimal_cell_matches_numpy(rng):
    layer = keras.layers.RNN(MinimalRNNCell(4), return_sequences=True, return_state=True)
    x = make_x(rng, 3, 5, 2, np.float32)
    mask = make_mask(rng, "holes", 3, 5)
    out, h = layer(x, mask=mask)
    k, r = layer.get_weights()
    state = np.zeros((3, 4))
    prev = np.zeros((3, 4))
    expected = []
    for t in range(5):
        new = x[:, t] @ k + state @ r
        m = mask[:, t][:, None]
        state = np.where(m, new, state)
        prev = np.where(m, new, prev)
        expected.append(prev)
    assert_close(out, np.stack(expected, 1), atol=1e-5)
    assert_close(h, state, atol=1e-5)


def test_nested_cell_matches_numpy_loop(rng):
    batch, steps = 4, 5
    cell = NestedCell(10, 20, 30)
    layer = keras.layers.RNN(cell, return_sequences=True, return_state=True)
    x1 = rng.standard_normal((batch, steps, 32)).astype(np.float32)
    x2 = rng.standard_normal((batch, steps, 64, 32)).astype(np.float32)
    outputs = layer((x1, x2))
    (y1, y23), s1, s23 = outputs[0], outputs[1], outputs[2]
    assert y1.shape == (batch, steps, 10) and y23.shape == (batch, steps, 20, 30)
    assert s1.shape == (batch, 10) and s23.shape == (batch, 20, 30)
    k1, k23 = (w.astype(np.float64) for w in layer.get_weights())
    state_1, state_23 = np.zeros((batch, 10)), np.zeros((batch, 20, 30))
    for t in range(steps):
        o1 = x1[:, t] @ k1
        o23 = np.einsum("bij,ijkl->bkl", x2[:, t], k23)
        state_1, state_23 = state_1 + o1, state_23 + o23
        assert_close(y1[:, t], o1, rtol=1e-4, atol=1e-4)
        assert_close(y23[:, t], o23, rtol=1e-4, atol=1e-4)
    assert_close(s1, state_1, rtol=1e-4, atol=1e-4)
    assert_close(s23, state_23, rtol=1e-4, atol=1e-4)
    assert layer.compute_output_shape(((None, None, 32), (None, None, 64, 32))) == [
        [(None, None, 10), (None, None, 20, 30)], (None, 10), (None, 20, 30)]


def test_custom_cell_state_and_output_sizes_and_initial_state():
    class TwoStates(keras.layers.Layer):
        state_size = [2, 5]
        output_size = 7

        def get_initial_state(self, batch_size=None):
            return [np.ones((batch_size, 2), np.float32), np.full((batch_size, 5), 2.0,
                                                                   np.float32)]

        def call(self, inputs, states, training=False):
            a, b = states
            out = ops.concatenate([a, b], axis=-1) + (1.0 if training else 0.0)
            return out, [a + ops.sum(inputs, axis=-1, keepdims=True), b]

    layer = keras.layers.RNN(TwoStates(), return_state=True)
    out, a, b = layer(np.ones((3, 4, 2), np.float32))
    assert out.shape == (3, 7) and a.shape == (3, 2) and b.shape == (3, 5)
    assert_close(a, 1 + 4 * 2)       # starts at the cell's initial state of ones
    assert_close(out[:, 2:], 2.0)
    out_training = layer(np.ones((3, 4, 2), np.float32), training=True)[0]
    assert_close(out_training - out, 1.0)  # `training` reaches the cell
    assert layer.compute_output_shape((3, 4, 2)) == [(3, 7), (3, 2), (3, 5)]


def test_custom_cell_in_stack_with_builtin(rng):
    stack = keras.layers.RNN([MinimalRNNCell(3), keras.layers.GRUCell(2)], return_state=True)
    out = stack(make_x(rng, 2, 4, 5, np.float32))
    assert out[0].shape == (2, 2)
    assert [s.shape for s in out[1]] == [(2, 3)] and [s.shape for s in out[2]] == [(2, 2)]


def test_callable_activation_uses_generic_loop_with_same_numbers(rng):
    fused = keras.layers.LSTM(4, return_sequences=True)
    custom = keras.layers.LSTM(4, return_sequences=True,
                               activation=lambda v: keras.activations.tanh(v))
    x = make_x(rng, 2, 6, 3, np.float32)
    fused(x)
    custom(x)
    custom.set_weights(fused.get_weights())
    assert_close(custom(x), fused(x), atol=2e-6)
    with pytest.raises(ValueError, match="use_cudnn"):
        keras.layers.LSTM(4, use_cudnn=True, activation=lambda v: v)(x)
    assert keras.layers.LSTM(4, use_cudnn=True)(x).shape == (2, 4)


# -- stateful --------------------------------------------------------------------------------------
@pytest.mark.parametrize("layer_cls", LAYER_CLASSES)
def test_stateful_three_chunks_equal_one_call(rng, layer_cls):
    x = make_x(rng, 3, 12, 4, np.float32)
    whole = layer_cls(5, return_sequences=True)
    expected = whole(x)
    chunked = layer_cls(5, return_sequences=True, stateful=True)
    chunked(x[:, :4])
    chunked.set_weights(whole.get_weights())
    chunked.reset_states()
    parts = [chunked(x[:, i:i + 4]) for i in (0, 4, 8)]
    assert_close(np.concatenate(parts, axis=1), expected, atol=1e-6)
    assert all(s.name == "rnn_state" and not s.trainable for s in chunked.states)
    assert len(chunked.weights) == 3 and not chunked.non_trainable_weights
    chunked.reset_state()
    assert_close(chunked(x[:, :4]), expected[:, :4], atol=1e-6)
    with pytest.raises(ValueError, match="Expected batch size: 3 - Received batch size: 2"):
        chunked(x[:2, :4])
    with pytest.raises(TypeError):
        chunked.reset_state(states=None)


def test_states_of_one_layer_seed_another(rng):
    x = make_x(rng, 2, 6, 3, np.float32)
    lstm = keras.layers.LSTM(4, stateful=True)
    lstm(x)
    existing = lstm.states
    other = keras.layers.LSTM(4)
    out = other(x, initial_state=existing)
    kernel, recurrent, bias = other.get_weights()
    expected, _ = reference_forward("lstm", x, kernel, recurrent, bias,
                                    initial_state=[s.numpy() for s in existing])
    assert_close(out, expected, atol=1e-5)


def test_stateful_initial_state_overrides_and_is_stored(rng):
    x = make_x(rng, 2, 3, 3, np.float32)
    layer = keras.layers.GRU(4, stateful=True, return_state=True)
    h0 = rng.standard_normal((2, 4)).astype(np.float32)
    _, h = layer(x, initial_state=h0)
    assert_same(layer.states[0].numpy(), h)
    plain = keras.layers.GRU(4, return_state=True)
    plain(x)
    plain.set_weights(layer.get_weights())
    assert_close(plain(x, initial_state=h0)[1], h, atol=1e-6)


def test_stateful_bidirectional(rng):
    layer = keras.layers.Bidirectional(keras.layers.LSTM(3, stateful=True))
    x = make_x(rng, 2, 4, 3, np.float32)
    first = layer(x)
    assert len(layer.states) == 4
    second = layer(x)
    assert not np.allclose(first, second)
    layer.reset_state()
    assert_close(layer(x), first, atol=1e-6)
    with pytest.raises(AttributeError, match="Layer must be stateful"):
        keras.layers.Bidirectional(keras.layers.LSTM(3)).reset_state()


# -- dropout ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("layer_cls", LAYER_CLASSES)
@pytest.mark.parametrize("recurrent_dropout", [0.0, 0.3])
def test_dropout_fused_equals_generic_and_is_reproducible(rng, layer_cls, recurrent_dropout):
    x = make_x(rng, 3, 6, 4, np.float32)
    make = lambda: layer_cls(5, dropout=0.4, recurrent_dropout=recurrent_dropout, seed=7,
                             return_sequences=True)
    fused, generic = make(), make()
    fused(x)
    generic(x)
    generic.set_weights(fused.get_weights())
    inference = fused(x)
    assert_same(fused(x, training=False), inference)  # deterministic
    first = fused(x, training=True)
    with generic_loop_only():
        assert_close(generic(x, training=True), first, atol=2e-6)
    assert not np.allclose(first, inference)
    assert not np.allclose(fused(x, training=True), first)  # a fresh mask for every call


def test_dropout_masks_per_gate_and_fixed_over_time():
    cell = keras.layers.LSTMCell(3, dropout=0.5, recurrent_dropout=0.5, seed=1)
    cell.build((2, 4))
    step = np.ones((2, 4), np.float32)
    mask = cell.get_dropout_mask(step)
    assert mask.shape == (4, 2, 4)
    assert set(np.unique(mask)) <= {0.0, 2.0}
    assert cell.get_dropout_mask(step) is mask  # the same mask for every step of a sequence
    assert cell.get_recurrent_dropout_mask(np.ones((2, 3), np.float32)).shape == (4, 2, 3)
    shared = keras.layers.GRUCell(3, dropout=0.5, seed=1)
    shared.build((2, 4))
    assert shared.get_dropout_mask(step).shape == (2, 4)
    assert shared.get_recurrent_dropout_mask(np.ones((2, 3), np.float32)) is None
    assert keras.layers.LSTM(2, dropout=1.5).dropout == 1.0
    assert keras.layers.LSTM(2, recurrent_dropout=-1).recurrent_dropout == 0.0


def test_seeded_dropout_reproducible_across_layers(rng):
    x = make_x(rng, 2, 5, 3, np.float32)
    a = keras.layers.SimpleRNN(4, dropout=0.5, seed=3)
    b = keras.layers.SimpleRNN(4, dropout=0.5, seed=3)
    a(x)
    b(x)
    b.set_weights(a.get_weights())
    assert_same(a(x, training=True), b(x, training=True))


# -- weights, regularizers, constraints ------------------------------------------------------------
def test_weights_shapes_order_and_errors():
    layer = keras.layers.GRU(3)
    with pytest.raises(ValueError, match="expecting 0 weights"):
        layer.set_weights([np.zeros((2, 9))])
    with pytest.raises(ValueError, match="isn't built"):
        layer.count_params()
    layer.build((None, None, 2))
    assert [w.shape for w in layer.weights] == [(2, 9), (3, 9), (2, 9)]
    assert layer.count_params() == 63
    with pytest.warns(UserWarning, match="Do not pass an `input_shape`"):
        keras.layers.GRU(3, reset_after=False, input_shape=(None, 2))
    with pytest.raises(ValueError, match="weight list of length 2, but the layer was expecting 3"):
        layer.set_weights(layer.get_weights()[:2])
    with pytest.raises(ValueError, match=r"weight shape \(2, 9\) is not compatible with provided "
                                         r"weight shape \(3, 9\)"):
        layer.set_weights([np.zeros((3, 9)), np.zeros((3, 9)), np.zeros((2, 9))])
    kernel = layer.weights[0]
    kernel.assign(np.ones((2, 9)))
    assert_same(layer.get_weights()[0], 1.0)
    assert kernel.name == "kernel" and kernel.numpy().dtype == np.float32
    lstm = keras.layers.LSTM(3)
    lstm.build((None, None, 2))
    assert_same(lstm.get_weights()[2], [0, 0, 0, 1, 1, 1, 0, 0, 0, 0, 0, 0])
    lstm.trainable = False
    assert lstm.trainable_weights == [] and len(lstm.non_trainable_weights) == 3


def test_default_initializers_follow_keras():
    layer = keras.layers.LSTM(8)
    layer.build((None, None, 6))
    kernel, recurrent, bias = layer.get_weights()
    assert np.abs(kernel).max() <= np.sqrt(6 / (6 + 32))
    assert_close(recurrent @ recurrent.T, np.eye(8), atol=1e-5)
    no_forget = keras.layers.LSTM(2, unit_forget_bias=False, bias_initializer="ones")
    no_forget.build((None, None, 1))
    assert_same(no_forget.get_weights()[2], 1.0)


def test_regularizers_and_constraints():
    layer = keras.layers.LSTM(3, kernel_regularizer=keras.regularizers.L2(0.1),
                              bias_regularizer="l1", activity_regularizer="l2",
                              recurrent_constraint=keras.constraints.NonNeg())
    x = np.ones((2, 4, 2), np.float32)
    out = layer(x)
    kernel, _, bias = layer.get_weights()
    losses = [float(np.asarray(v)) for v in layer.losses]
    assert len(losses) == 3
    assert_close(sorted(losses), sorted([
        0.1 * np.sum(kernel.astype(np.float64) ** 2), 0.01 * np.sum(np.abs(bias)),
        0.01 * np.sum(out.astype(np.float64) ** 2)]), rtol=1e-5)
    recurrent = layer.weights[1]
    recurrent.assign(-np.ones(recurrent.shape))
    recurrent.apply_constraint()
    assert_same(recurrent.numpy(), 0.0)
    simple = keras.layers.SimpleRNN(2, activity_regularizer="l2")  # Keras ignores it here
    simple(x)
    assert simple.losses == []


# -- configs ---------------------------------------------------------------------------------------
def _roundtrip(layer):
    config = layer.get_config()
    clone = type(layer).from_config(config)
    assert clone.get_config() == config
    return clone


@pytest.mark.parametrize("layer", [
    lambda: keras.layers.SimpleRNN(3, activation="relu", dropout=0.2, return_sequences=True),
    lambda: keras.layers.GRU(4, reset_after=False, go_backwards=True, seed=3, stateful=True),
    lambda: keras.layers.LSTM(5, unit_forget_bias=False, kernel_regularizer="l2",
                              recurrent_constraint="non_neg", return_state=True,
                              zero_output_for_mask=True, use_cudnn=False, unroll=True),
    lambda: keras.layers.SimpleRNNCell(3, use_bias=False),
    lambda: keras.layers.GRUCell(3, recurrent_activation="hard_sigmoid"),
    lambda: keras.layers.LSTMCell(3, bias_initializer=keras.initializers.Constant(0.5)),
    lambda: keras.layers.RNN(keras.layers.LSTMCell(3), return_sequences=True),
    lambda: keras.layers.RNN([keras.layers.LSTMCell(3), keras.layers.GRUCell(2)]),
    lambda: keras.layers.StackedRNNCells([keras.layers.SimpleRNNCell(2)]),
    lambda: keras.layers.Bidirectional(keras.layers.GRU(3, return_sequences=True),
                                       merge_mode="ave"),
    lambda: keras.layers.Bidirectional(
        keras.layers.LSTM(2), backward_layer=keras.layers.GRU(3, go_backwards=True),
        merge_mode=None),
], ids=["simple_rnn", "gru", "lstm", "simple_cell", "gru_cell", "lstm_cell", "rnn", "rnn_stack",
        "stacked_cells", "bidirectional", "bidirectional_backward_layer"])
def test_config_round_trip(layer):
    _roundtrip(layer())


def test_config_keys_follow_keras():
    config = keras.layers.LSTM(2).get_config()
    for key in ("name", "trainable", "dtype", "return_sequences", "return_state",
                "go_backwards", "stateful", "unroll", "zero_output_for_mask", "units",
                "activation", "recurrent_activation", "use_bias", "kernel_initializer",
                "unit_forget_bias", "dropout", "recurrent_dropout", "seed",
                "activity_regularizer"):
        assert key in config, key
    assert "cell" not in config and config["activation"] == "tanh"
    assert config["kernel_initializer"]["class_name"] == "GlorotUniform"
    assert "seed" not in keras.layers.SimpleRNN(2).get_config()
    rnn_config = keras.layers.RNN(keras.layers.LSTMCell(2)).get_config()
    assert rnn_config["cell"]["class_name"] == "LSTMCell"
    assert set(keras.layers.Bidirectional(keras.layers.LSTM(2)).get_config()) == {
        "name", "trainable", "dtype", "merge_mode", "layer"}


def test_registered_custom_cell_round_trip(rng):
    @keras.saving.register_serializable(package="TestPkg")
    class RegisteredCell(MinimalRNNCell):
        pass

    layer = keras.layers.RNN(RegisteredCell(3))
    config = layer.get_config()
    assert config["cell"]["registered_name"] == "TestPkg>RegisteredCell"
    clone = keras.layers.RNN.from_config(config)
    assert type(clone.cell) is RegisteredCell
    x = make_x(rng, 2, 3, 2, np.float32)
    layer(x)
    clone(x)
    clone.set_weights(layer.get_weights())
    assert_same(clone(x), layer(x))
    bidirectional = keras.layers.Bidirectional(layer)
    assert type(bidirectional.forward_layer.cell) is RegisteredCell


# -- errors ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("make,error,match", [
    (lambda: keras.layers.LSTM(0), ValueError, "expected a positive integer, got 0"),
    (lambda: keras.layers.GRU(-2), ValueError, "argument `units`"),
    (lambda: keras.layers.LSTM("3"), TypeError, "units"),
    (lambda: keras.layers.LSTM(2, time_major=True), ValueError,
     r"Unrecognized keyword arguments passed to LSTM: \{'time_major': True\}"),
    (lambda: keras.layers.GRU(2, unit_forget_bias=True), ValueError, "Unrecognized keyword"),
    (lambda: keras.layers.LSTM(2, reset_after=True), ValueError, "Unrecognized keyword"),
    (lambda: keras.layers.LSTM(2, weights=[]), ValueError, "Unrecognized keyword"),
    (lambda: keras.layers.LSTM(2, batch_input_shape=(1, 2, 3)), ValueError, "Unrecognized"),
    (lambda: keras.layers.LSTM(2, use_cudnn="yes"), ValueError, "use_cudnn"),
    (lambda: keras.layers.LSTM(2, activation="nope"), ValueError,
     "Could not interpret activation function identifier: nope"),
    (lambda: keras.layers.LSTM(2, trainable="yes"), ValueError, "trainable"),
    (lambda: keras.layers.LSTM(2, dtype="int8"), ValueError, "dtype"),
    (lambda: keras.layers.LSTM(2, return_sequences="yes"), TypeError, "return_sequences"),
    (lambda: keras.layers.LSTM(2, kernel_initializer="nope"), ValueError, "initializer"),
    (lambda: keras.layers.RNN(object()), ValueError, "should have a `call` method"),
    (lambda: keras.layers.RNN(type("C", (), {"call": lambda s: 0})()), ValueError,
     "state_size"),
    (lambda: keras.layers.RNN(type("C", (), {"call": lambda s: 0, "state_size": "a"})()),
     ValueError, "state_size must be an integer"),
    (lambda: keras.layers.Bidirectional(3), ValueError, "Please initialize `Bidirectional`"),
    (lambda: keras.layers.Bidirectional(keras.layers.LSTM(2), merge_mode="foo"), ValueError,
     "Invalid merge mode"),
    (lambda: keras.layers.Bidirectional(keras.layers.LSTM(2),
                                        backward_layer=keras.layers.LSTM(2)), ValueError,
     "different `go_backwards`"),
    (lambda: keras.layers.Bidirectional(
        keras.layers.LSTM(2), backward_layer=keras.layers.LSTM(2, go_backwards=True,
                                                               return_sequences=True)),
     ValueError, 'attribute "return_sequences"'),
    (lambda: keras.layers.StackedRNNCells([object()]), ValueError, "`call` method"),
])
def test_constructor_errors(make, error, match):
    with pytest.raises(error, match=match):
        make()


@pytest.mark.parametrize("call,error,match", [
    (lambda l: l(np.ones((2, 3), np.float32)), ValueError, "expected ndim=3, found ndim=2"),
    (lambda l: l(np.ones((2, 3, 4), np.float32), initial_state=[np.zeros((2, 5))]), ValueError,
     r"initial_state` must hold 2 state"),
    (lambda l: l(np.ones((2, 3, 4), np.float32), initial_state=[np.zeros((2, 5)),
                                                                 np.zeros((3, 5))]),
     ValueError, r"initial_state\[1\]` must have shape \(2, 5\)"),
    (lambda l: l(np.ones((2, 3, 4), np.float32), mask=np.ones((2, 4))), ValueError,
     r"`mask` must have shape \(batch, timesteps\) = \(2, 3\)"),
    (lambda l: l(np.ones((2, 3, 4), np.float32), mask=np.array([["a"] * 3] * 2)), TypeError,
     "mask"),
    (lambda l: (l(np.ones((2, 3, 4), np.float32)), l(np.ones((2, 3, 5), np.float32))),
     ValueError, "expected axis -1 of input shape to have value 4"),
])
def test_call_errors(call, error, match):
    with pytest.raises(error, match=match):
        call(keras.layers.LSTM(5))


def test_stateful_needs_a_static_batch():
    layer = keras.layers.LSTM(2, stateful=True)
    with pytest.raises(ValueError, match="batch size must be static"):
        layer.build((None, 3, 2))


def test_nan_input_propagates():
    out = keras.layers.GRU(3)(np.full((2, 4, 2), np.nan, np.float32))
    assert np.isnan(out).all()
