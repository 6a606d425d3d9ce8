"""The eager inference fast path of SimpleRNN / GRU / LSTM (rnnkit.layers.rnn.fast_call).

Each call is made twice: through the fast path and through the full `Layer.__call__` path
(forced by `fast_call` being bypassed), and the results must be identical, bit for bit: both
run the same core call. Calls the fast path must refuse are checked to be refused.
"""

import numpy as np
import pytest

import rnnkit as keras
from rnnkit.layers.rnn import fast_call
from rnnkit.layers.rnn.rnn import RNN


def full_path(layer, *args, **kwargs):
    """The layer's call through the full path (the fast path switched off)."""
    original = fast_call.try_call
    fast_call.try_call = lambda *a: fast_call.NOT_TAKEN
    try:
        return layer(*args, **kwargs)
    finally:
        fast_call.try_call = original


def taken(layer, *args, **kwargs):
    return fast_call.try_call(layer, args, kwargs) is not fast_call.NOT_TAKEN


def call_reporting(layer, *args, **kwargs):
    """(the call's result, whether the fast path answered it): RNN.__call__ checks the layer's
    own methods before asking fast_call."""
    answered = []
    original = fast_call.try_call

    def spy(*a):
        result = original(*a)
        answered.append(result is not fast_call.NOT_TAKEN)
        return result

    fast_call.try_call = spy
    try:
        return layer(*args, **kwargs), any(answered)
    finally:
        fast_call.try_call = original


def taken_through_call(layer, *args, **kwargs):
    return call_reporting(layer, *args, **kwargs)[1]


def test_subclasses_and_rnn_wrappers_that_change_nothing_take_it():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((2, 4, 5)).astype("float32")

    class Plain(keras.layers.GRU):
        pass

    for layer in (Plain(3), RNN(keras.layers.LSTMCell(3), return_sequences=True),
                  RNN(keras.layers.SimpleRNNCell(3), go_backwards=True)):
        layer(x)
        assert taken_through_call(layer, x)
        np.testing.assert_array_equal(layer(x), full_path(layer, x))


CASES = [
    (keras.layers.SimpleRNN, {}),
    (keras.layers.SimpleRNN, {"activation": "relu", "use_bias": False}),
    (keras.layers.GRU, {}),
    (keras.layers.GRU, {"reset_after": False}),
    (keras.layers.GRU, {"activation": "sigmoid", "recurrent_activation": "tanh"}),
    (keras.layers.LSTM, {}),
    (keras.layers.LSTM, {"unit_forget_bias": False, "use_bias": False}),
]


@pytest.mark.parametrize("layer_class,cell_args", CASES)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("options", [
    {}, {"return_sequences": True}, {"return_state": True},
    {"go_backwards": True, "return_sequences": True, "return_state": True}])
@pytest.mark.parametrize("shape", [(1, 1, 5), (3, 7, 5)])
def test_fast_path_equals_full_path(layer_class, cell_args, dtype, options, shape):
    rng = np.random.default_rng(3)
    layer = layer_class(4, dtype=dtype, **cell_args, **options)
    x = rng.standard_normal(shape).astype(dtype)
    layer(x)   # builds
    layer.set_weights([rng.standard_normal(w.shape) for w in layer.get_weights()])
    assert taken(layer, x)
    fast = layer(x)
    full = full_path(layer, x)
    fast = fast if isinstance(fast, list) else [fast]
    full = full if isinstance(full, list) else [full]
    assert len(fast) == len(full)
    for a, b in zip(fast, full):
        assert type(a) is np.ndarray and a.dtype == np.dtype(dtype)
        np.testing.assert_array_equal(a, b)
    # training=False and training=None outside any training context take it too.
    assert taken(layer, x, training=False) and taken(layer, x, training=None)
    np.testing.assert_array_equal(layer(x, training=False) if not options.get("return_state")
                                  else layer(x, training=False)[0], full[0])


def _built_lstm(**kwargs):
    layer = keras.layers.LSTM(3, **kwargs)
    x = np.ones((2, 4, 5), "float32")
    layer(x)
    return layer, x


def test_refused_when_the_full_path_has_work_to_do():
    layer, x = _built_lstm()
    assert taken(layer, x)
    # Arguments the fast path does not handle.
    dropping, _ = _built_lstm(dropout=0.5)
    assert not taken(dropping, x, training=True)
    assert taken(dropping, x, training=False)
    recurrent_dropping, _ = _built_lstm(recurrent_dropout=0.25)
    assert not taken(recurrent_dropping, x, training=True)
    assert not taken(layer, x, mask=np.ones((2, 4), bool))
    assert not taken(layer, x, initial_state=[np.zeros((2, 3), "float32")] * 2)
    # Inputs it does not handle: another dtype, a list, a non-contiguous array, a wrong width,
    # an empty batch, a sequence of rank 2.
    assert not taken(layer, x.astype("float64"))
    assert not taken(layer, x.tolist())
    assert not taken(layer, np.ones((2, 4, 10), "float32")[:, :, ::2])
    assert not taken(layer, np.ones((2, 4, 6), "float32"))
    assert not taken(layer, np.ones((0, 4, 5), "float32"))
    assert not taken(layer, np.ones((2, 5), "float32"))
    # Inside a training call of an outer layer, for a cell with dropout.
    from rnnkit.layers.layer import _training_stack
    _training_stack().append(True)
    try:
        assert not taken(dropping, x)
        assert not taken(dropping, x, training=None)
    finally:
        _training_stack().pop()
    # An input carrying a Keras mask.
    masked = keras.layers.Masking()(np.ones((2, 4, 5), "float32"))
    assert not taken(layer, masked)


def test_refused_for_layers_it_does_not_know():
    stateful, x = _built_lstm(stateful=True)
    assert not taken(stateful, x)
    regularized, x = _built_lstm(activity_regularizer="l2")
    assert not taken(regularized, x)
    unbuilt = keras.layers.LSTM(3)
    assert not taken(unbuilt, x)

    class OwnCall(keras.layers.LSTM):
        def call(self, sequences, initial_state=None, mask=None, training=False):
            return super().call(sequences, initial_state, mask, training) * 2.0

    own_call = OwnCall(3)
    own_call(x)
    assert not taken_through_call(own_call, x)

    class OwnInitialState(keras.layers.LSTM):
        def get_initial_state(self, batch_size):
            return [np.ones((batch_size, 3), "float32")] * 2

    own_state = OwnInitialState(3)
    own_state(x)
    assert not taken_through_call(own_state, x)

    class OwnCellInitialState(keras.layers.LSTMCell):
        def get_initial_state(self, batch_size=None):
            return [np.ones((batch_size, 3), "float32")] * 2

    cell_state = RNN(OwnCellInitialState(3))
    cell_state(x)
    assert not taken(cell_state, x)
    np.testing.assert_array_equal(cell_state(x), full_path(cell_state, x))

    class MyCell(keras.layers.LSTMCell):
        def call(self, inputs, states, training=False):
            out, new = super().call(inputs, states, training=training)
            return out * 2.0, new

    generic = RNN(MyCell(3))
    generic(x)
    assert not taken(generic, x)
    stack = RNN([keras.layers.LSTMCell(3), keras.layers.LSTMCell(2)])
    stack(x)
    assert not taken(stack, x)
    custom_activation = keras.layers.LSTM(3, activation=lambda v: v * 0.5)
    custom_activation(x)
    assert not taken(custom_activation, x)


def _gradients(layer, x, watch_x, through_full_path):
    """Loss and gradients (weights, then x when watched) of one tape step over the layer."""
    x = np.array(x)
    with keras.GradientTape() as tape:
        if watch_x:
            tape.watch(x)
        if through_full_path:
            out = full_path(layer, x, training=True)
        else:
            assert taken(layer, x, training=True)
            out = layer(x, training=True)
        outs = out if isinstance(out, list) else [out]
        # Every output (states included) enters the loss, with distinct weights.
        loss = sum(keras.ops.sum(o * float(i + 1) * o) for i, o in enumerate(outs))
    sources = layer.trainable_weights + ([x] if watch_x else [])
    return [keras.ops.convert_to_numpy(loss)] + tape.gradient(loss, sources)


@pytest.mark.parametrize("layer_class,cell_args", CASES)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("options", [{}, {"return_state": True, "go_backwards": True},
                                     {"return_sequences": True}])
@pytest.mark.parametrize("watch_x", [True, False])
def test_recorded_call_equals_full_path(layer_class, cell_args, dtype, options, watch_x):
    rng = np.random.default_rng(5)
    layer = layer_class(4, dtype=dtype, **cell_args, **options)
    x = rng.standard_normal((3, 6, 5)).astype(dtype)
    layer(x)
    layer.set_weights([rng.standard_normal(w.shape) * 0.5 for w in layer.get_weights()])
    fast = _gradients(layer, x, watch_x, False)
    full = _gradients(layer, x, watch_x, True)
    assert len(fast) == len(full)
    for a, b in zip(fast, full):
        assert a is not None
        np.testing.assert_array_equal(a, b)


def test_recorded_call_asks_the_core_for_d_x_only_when_a_source_needs_it(monkeypatch):
    """x is watched, but gradient() asks for the weights only: the backward skips d_x. It
    never asks for the zero initial states' gradient. A strided output gradient is taken
    (made contiguous for the core)."""
    rng = np.random.default_rng(2)
    layer = keras.layers.LSTM(4, return_sequences=True)
    x = rng.standard_normal((3, 6, 5)).astype("float32")
    layer(x)
    g = rng.standard_normal((3, 6, 8)).astype("float32")[:, :, ::2]
    asked = []
    real_core = fast_call._core

    class Spy:
        forward = staticmethod(real_core.forward)

        @staticmethod
        def backward(*args):
            asked.append(args[-2])      # need_d_x
            assert args[-1] is False    # need_d_initial_state
            return real_core.backward(*args)

    monkeypatch.setattr(fast_call, "_core", Spy)

    def gradients(sources_of, through_full_path):
        with keras.GradientTape() as tape:
            tape.watch(x)
            y = full_path(layer, x, training=True) if through_full_path else layer(x)
        return tape.gradient(y, sources_of(), output_gradients=g)

    weights_only = gradients(lambda: layer.trainable_weights, False)
    assert asked == [False]
    with_x = gradients(lambda: [x, *layer.trainable_weights], False)
    assert asked == [False, True]
    monkeypatch.setattr(fast_call, "_core", real_core)
    for fast, sources_of in ((weights_only, lambda: layer.trainable_weights),
                             (with_x, lambda: [x, *layer.trainable_weights])):
        full = gradients(sources_of, True)
        for a, b in zip(fast, full):
            np.testing.assert_array_equal(a, b)


def test_recorded_call_on_a_tensor_input_and_in_a_model():
    """A layer fed by another layer gets a Tensor under the tape; fit's steps go through it."""
    rng = np.random.default_rng(1)
    model = keras.Sequential([keras.Input((5, 3)), keras.layers.Dense(4),
                              keras.layers.LSTM(6), keras.layers.Dense(1)])
    x = rng.standard_normal((8, 5, 3)).astype("float32")
    y = rng.standard_normal((8, 1)).astype("float32")

    def step(through_full_path):
        with keras.GradientTape() as tape:
            if through_full_path:
                original = fast_call.try_call
                fast_call.try_call = lambda *a: fast_call.NOT_TAKEN
            try:
                out = model(x, training=True)
            finally:
                if through_full_path:
                    fast_call.try_call = original
            loss = keras.ops.mean(keras.ops.square(out - y))
        return [loss] + tape.gradient(loss, model.trainable_weights)

    with keras.GradientTape():
        hidden = model.layers[0](x)
        assert type(hidden).__name__ == "Tensor" and taken(model.layers[1], hidden)
    for a, b in zip(step(False), step(True)):
        np.testing.assert_array_equal(keras.ops.convert_to_numpy(a), keras.ops.convert_to_numpy(b))


@pytest.mark.parametrize("layer_class", [keras.layers.SimpleRNN, keras.layers.GRU,
                                         keras.layers.LSTM])
@pytest.mark.parametrize("return_state", [False, True])
def test_stateful_one_step_calls_equal_the_full_path(layer_class, return_state):
    """A stateful layer fed one timestep per call: once its states exist, the fast path runs
    the C++ stream; outputs and states follow the full path's, across a reset and a longer
    call in between."""
    rng = np.random.default_rng(4)
    fast = layer_class(5, stateful=True, return_state=return_state)
    full = layer_class(5, stateful=True, return_state=return_state)
    first = rng.standard_normal((2, 1, 3)).astype("float32")
    fast(first)
    full_path(full, first)
    full.set_weights(fast.get_weights())
    fast.reset_states()
    full.reset_states()
    answered = []
    for index in range(6):
        if index == 3:
            fast.reset_states()
            full.reset_states()
            longer = rng.standard_normal((2, 3, 3)).astype("float32")
            got, took = call_reporting(fast, longer)
            assert not took
            want = full_path(full, longer)
        else:
            step = rng.standard_normal((2, 1, 3)).astype("float32")
            got, took = call_reporting(fast, step)
            answered.append(took)
            want = full_path(full, step)
        got = got if isinstance(got, list) else [got]
        want = want if isinstance(want, list) else [want]
        assert len(got) == len(want)
        for a, b in zip(got, want):
            np.testing.assert_array_equal(a, b)
        for a, b in zip(fast.states, full.states):
            np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert all(answered)


def test_generic_loop_only_is_respected():
    """Tests that compare the fused core with the generic Python loop force the loop; the fast
    path must not answer in its place."""
    from rnnkit.layers.rnn.rnn import generic_loop_only
    layer, x = _built_lstm()
    with generic_loop_only():
        assert not taken_through_call(layer, x)
    assert taken_through_call(layer, x)


def test_errors_still_reported_by_the_full_path():
    layer, x = _built_lstm()
    with pytest.raises(ValueError, match="5"):
        layer(np.ones((2, 4, 6), "float32"))


def test_weight_changes_are_seen():
    layer, x = _built_lstm()
    before = layer(x)
    layer.set_weights([w * 0.5 for w in layer.get_weights()])
    after = layer(x)
    assert not np.array_equal(before, after)
    np.testing.assert_array_equal(after, full_path(layer, x))


def test_predict_of_a_model_matches():
    rng = np.random.default_rng(0)
    model = keras.Sequential([keras.Input((6, 3)), keras.layers.GRU(5), keras.layers.Dense(2)])
    x = rng.standard_normal((4, 6, 3)).astype("float32")
    out = model.predict(x, verbose=0)
    original = fast_call.try_call
    fast_call.try_call = lambda *a: fast_call.NOT_TAKEN
    try:
        reference = model.predict(x, verbose=0)
    finally:
        fast_call.try_call = original
    np.testing.assert_array_equal(out, reference)


def _random_input(shape=(2, 4, 5)):
    return np.random.default_rng(3).standard_normal(shape).astype("float32")


@pytest.mark.parametrize("change", [
    lambda layer: setattr(layer, "return_sequences", True),
    lambda layer: setattr(layer, "go_backwards", True),
    lambda layer: setattr(layer.cell, "activation", keras.activations.relu),
    lambda layer: setattr(layer.cell, "recurrent_activation", keras.activations.hard_sigmoid),
    lambda layer: setattr(layer.cell, "kernel",
                          keras.Variable(np.full(layer.cell.kernel.shape, 0.1, "float32"))),
], ids=["return_sequences", "go_backwards", "activation", "recurrent_activation",
        "kernel_variable"])
def test_changes_after_a_fast_call_are_seen(change):
    """The fast path keeps what it checked of a layer and its cell (fast_call._Plan) until an
    attribute of either is set: a call after the change computes what the full path does."""
    layer, _ = _built_lstm()
    x = _random_input()
    before = layer(x)
    assert taken_through_call(layer, x)
    change(layer)
    after, answered = call_reporting(layer, x)
    reference = full_path(layer, x)
    assert answered
    assert after.shape != before.shape or not np.array_equal(after, before)
    np.testing.assert_array_equal(after, reference)


def test_changes_that_refuse_the_fast_path_after_a_fast_call():
    layer, x = _built_lstm()
    assert taken(layer, x, training=True)
    layer.cell.dropout = 0.5                 # a cell attribute: training now drops units
    assert not taken(layer, x, training=True)
    assert taken(layer, x, training=False)
    other, _ = _built_lstm()
    assert taken(other, x)
    other.activity_regularizer = keras.regularizers.L2(0.1)   # a layer attribute
    assert not taken(other, x)
    third, _ = _built_lstm()
    assert taken(third, x)
    third.add_loss(np.float32(1.0))          # losses added in place, not by an attribute
    assert not taken(third, x)


def test_a_cell_class_patched_after_a_fast_call_is_refused():
    class Cell(keras.layers.LSTMCell):
        pass

    layer = RNN(Cell(3))
    x = _random_input()
    layer(x)
    assert taken(layer, x)
    Cell.call = lambda self, inputs, states, training=False: keras.layers.LSTMCell.call(
        self, inputs, states, training)
    assert not taken(layer, x)

