"""A built layer called with inputs of another width or rank fails in its input spec, naming the
layer, the axis and the input's shape (Keras' wording), before the core sees a kernel."""

import re

import numpy as np
import pytest

import rnnkit as keras
from rnnkit.layers import InputSpec
from helpers import assert_close  # noqa: E402

L = keras.layers


def f32(*shape):
    return np.ones(shape, np.float32)


def width_error(layer_name, expected, shape):
    return re.escape(
        f"Input 0 of layer '{layer_name}' is incompatible with the layer: expected axis -1 of "
        f"input shape to have value {expected}, but received input with shape {shape}")


def rank_error(layer_name, expected, shape):
    return re.escape(
        f"Input 0 of layer '{layer_name}' is incompatible with the layer: expected "
        f"ndim={expected}, found ndim={len(shape)}. Full shape received: {shape}")


RNN_LAYERS = {
    "lstm": lambda: L.LSTM(3, name="lstm"),
    "gru": lambda: L.GRU(3, name="gru"),
    "gru_reset_before": lambda: L.GRU(3, reset_after=False, name="gru"),
    "simple_rnn": lambda: L.SimpleRNN(3, name="simple_rnn"),
    "rnn_lstm_cell": lambda: L.RNN(L.LSTMCell(3), name="rnn"),
    "rnn_stacked": lambda: L.RNN([L.GRUCell(3), L.LSTMCell(2)], name="rnn"),
    "return_sequences": lambda: L.LSTM(3, return_sequences=True, return_state=True,
                                       name="lstm"),
    "go_backwards": lambda: L.GRU(3, go_backwards=True, name="gru"),
}


@pytest.mark.parametrize("make", RNN_LAYERS.values(), ids=RNN_LAYERS.keys())
def test_rnn_layers_wrong_width(make):
    layer = make()
    layer(f32(2, 3, 4))
    for shape in [(2, 3, 5), (1, 1, 5), (2, 3, 3)]:
        with pytest.raises(ValueError, match=width_error(layer.name, 4, shape)):
            layer(f32(*shape))
    # other batch sizes and lengths are fine
    layer(f32(5, 7, 4))


@pytest.mark.parametrize("make", RNN_LAYERS.values(), ids=RNN_LAYERS.keys())
def test_rnn_layers_wrong_rank(make):
    layer = make()
    layer(f32(2, 3, 4))
    for shape in [(2, 4), (2, 3, 4, 1)]:
        with pytest.raises(ValueError, match=rank_error(layer.name, 3, shape)):
            layer(f32(*shape))


def test_unbuilt_rnn_layer_builds_for_any_width():
    for width in (1, 4, 9):
        assert L.LSTM(3)(f32(2, 3, width)).shape == (2, 3)


def test_builtin_rnn_rank_checked_before_build():
    with pytest.raises(ValueError, match=rank_error("lstm_x", 3, (2, 4))):
        L.LSTM(3, name="lstm_x")(f32(2, 4))


def test_rnn_with_a_built_cell_checks_the_cell_width():
    cell = L.LSTMCell(3)
    cell.build((None, 6))
    layer = L.RNN(cell, name="rnn_prebuilt")
    with pytest.raises(ValueError, match=width_error("rnn_prebuilt", 6, (2, 3, 4))):
        layer(f32(2, 3, 4))
    assert layer(f32(2, 3, 6)).shape == (2, 3)


def test_stateful_and_masked_calls_are_checked():
    layer = L.LSTM(3, stateful=True, name="stateful_lstm")
    layer(f32(2, 3, 4))
    with pytest.raises(ValueError, match=width_error("stateful_lstm", 4, (2, 3, 5))):
        layer(f32(2, 3, 5), mask=np.ones((2, 3), bool))


def test_custom_cell_is_left_alone():
    # A cell without built-in weights decides itself what it accepts (Keras checks nothing).
    class SumCell(L.Layer):
        state_size = 1

        def call(self, inputs, states):
            total = states[0] + keras.ops.sum(inputs, axis=-1, keepdims=True)
            return total, [total]

    layer = L.RNN(SumCell())
    layer(f32(2, 3, 4))
    assert layer.input_spec is None
    assert_close(layer(f32(2, 3, 5)), np.full((2, 1), 15.0))


def test_dense_wrong_width_and_rank():
    # Keras: the same message (with "with name 'None'" after "Input 0").
    layer = L.Dense(3, name="dense")
    layer(f32(2, 4))
    for shape in [(2, 5), (2, 3, 5)]:
        with pytest.raises(ValueError, match=width_error("dense", 4, shape)):
            layer(f32(*shape))
    with pytest.raises(ValueError, match=re.escape(
            "expected min_ndim=2, found ndim=1. Full shape received: (5,)")):
        layer(f32(5))
    assert layer(f32(2, 3, 4)).shape == (2, 3, 3)  # any rank >= 2 with the right width


def test_embedding_takes_any_shape():
    # Keras' Embedding has no input check: any shape of ids.
    layer = L.Embedding(10, 3)
    layer(np.ones((2, 4), "int32"))
    for shape in [(2, 5), (2, 4, 2), (2,)]:
        assert layer(np.ones(shape, "int32")).shape == shape + (3,)


def test_bidirectional():
    layer = L.Bidirectional(L.LSTM(3), name="bidirectional")
    # Keras: the rank check of the wrapped layer, under the wrapper's name
    with pytest.raises(ValueError, match=rank_error("bidirectional", 3, (2, 4))):
        layer(f32(2, 4))
    layer(f32(2, 3, 4))
    with pytest.raises(ValueError, match=width_error("bidirectional", 4, (2, 3, 5))):
        layer(f32(2, 3, 5))
    with pytest.raises(ValueError, match=rank_error("bidirectional", 3, (2, 4))):
        layer(f32(2, 4))


def test_bidirectional_of_a_custom_rnn_has_no_width_check():
    class Half(L.Layer):
        state_size = 2

        def call(self, inputs, states):
            out = states[0] + keras.ops.mean(inputs, axis=-1, keepdims=True)
            return out, [out]

    with keras.saving.custom_object_scope({"Half": Half}):
        layer = L.Bidirectional(L.RNN(Half()))
    layer(f32(2, 3, 4))
    assert layer(f32(2, 3, 5)).shape == (2, 4)


@pytest.mark.parametrize("inner", ["dense", "lstm"])
def test_time_distributed(inner):
    wrapped = L.Dense(3) if inner == "dense" else L.LSTM(3)
    layer = L.TimeDistributed(wrapped, name="time_distributed")
    good = f32(2, 3, 4) if inner == "dense" else f32(2, 3, 6, 4)
    layer(good)
    bad = good.shape[:-1] + (5,)
    with pytest.raises(ValueError, match=width_error("time_distributed", 4, bad)):
        layer(f32(*bad))
    other_steps = (2, 7) + good.shape[2:]
    layer(f32(*other_steps))
    if inner == "lstm":
        with pytest.raises(ValueError, match=re.escape(
                "Input 0 of layer 'time_distributed' is incompatible with the layer: expected "
                "ndim=4, found ndim=3")):
            layer(f32(2, 3, 4))


def test_time_distributed_of_a_prebuilt_layer():
    dense = L.Dense(3)
    dense(f32(1, 4))
    layer = L.TimeDistributed(dense, name="td_prebuilt")
    with pytest.raises(ValueError, match=width_error("td_prebuilt", 4, (2, 3, 5))):
        layer(f32(2, 3, 5))


def _sequential():
    return keras.Sequential([keras.Input((None, 4)), L.LSTM(3, name="lstm_in"), L.Dense(2)])


def _deferred_sequential():
    model = keras.Sequential([L.LSTM(3, name="lstm_in"), L.Dense(2)])
    model.predict(f32(2, 3, 4), verbose=0)
    return model


def _functional():
    inputs = keras.Input((None, 4), name="feats")
    return keras.Model(inputs, L.Dense(2)(L.LSTM(3, name="lstm_in")(inputs)))


@pytest.mark.parametrize("make", [_sequential, _deferred_sequential, _functional],
                         ids=["sequential", "deferred_sequential", "functional"])
def test_models_name_the_first_layer(make):
    model = make()
    x = f32(2, 3, 5)
    for run in (lambda: model.predict(x, verbose=0), lambda: model(x),
                lambda: model.predict_on_batch(x)):
        with pytest.raises(ValueError, match=width_error("lstm_in", 4, (2, 3, 5))):
            run()
    model.compile(optimizer="sgd", loss="mse")
    with pytest.raises(ValueError, match=width_error("lstm_in", 4, (4, 3, 5))):
        model.fit(f32(4, 3, 5), f32(4, 2), verbose=0)
    with pytest.raises(ValueError, match=rank_error("lstm_in", 3, (2, 4))):
        model.predict(f32(2, 4), verbose=0)
    assert model.predict(f32(2, 3, 4), verbose=0).shape == (2, 2)


def test_symbolic_call_of_a_built_layer():
    layer = L.LSTM(3, name="lstm_sym")
    layer(f32(2, 3, 4))
    with pytest.raises(ValueError, match="expected axis -1 of input shape to have value 4"):
        layer(keras.Input((None, 5)))
    assert layer(keras.Input((None, 4))).shape == (None, 3)


def test_input_spec_axes():
    layer = L.Layer(name="spec_user")
    spec = InputSpec(axes={-1: 4, 1: 3})
    assert spec.min_ndim == 2
    spec.check(layer, f32(2, 3, 4))
    spec.check(layer, [f32(1, 3, 4), f32(5, 3, 2, 4)])
    with pytest.raises(ValueError, match=re.escape(
            "Input 1 of layer 'spec_user' is incompatible with the layer: expected axis 1 of "
            "input shape to have value 3, but received input with shape (1, 2, 4)")):
        spec.check(layer, [f32(1, 3, 4), f32(1, 2, 4)])
    with pytest.raises(ValueError, match="expected min_ndim=2, found ndim=1"):
        spec.check(layer, f32(4))
    # unknown sizes match anything, on either side
    InputSpec(axes={-1: None}).check(layer, f32(2, 7))

    class Shaped:
        shape = (None, None, 4)

    InputSpec(ndim=3, axes={-1: 4, 1: 9}).check(layer, Shaped())
