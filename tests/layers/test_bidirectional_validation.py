"""Bidirectional's argument checks: the exception types and messages of Keras 3.15 (observed on
its JAX backend; `keras.layers.Layer` reads `rnnkit.layers.Layer` here)."""

import re

import numpy as np
import pytest

import rnnkit as keras

L = keras.layers
X = np.ones((2, 3, 5), "float32")


@pytest.mark.parametrize("layer, shown", [("lstm", "lstm"), (None, "None"), (5, "5")])
def test_layer_not_a_layer(layer, shown):
    # Keras: ValueError "Please initialize `Bidirectional` layer with a `keras.layers.Layer`
    # instance. Received: lstm"
    with pytest.raises(ValueError, match=re.escape(
            "Please initialize `Bidirectional` layer with a `rnnkit.layers.Layer` instance. "
            f"Received: {shown}")):
        L.Bidirectional(layer)


def test_backward_layer_not_a_layer():
    # Keras: ValueError "`backward_layer` need to be a `keras.layers.Layer` instance.
    # Received: x"
    with pytest.raises(ValueError, match=re.escape(
            "`backward_layer` need to be a `rnnkit.layers.Layer` instance. Received: x")):
        L.Bidirectional(L.LSTM(4), backward_layer="x")


@pytest.mark.parametrize("mode", ["max", "Concat", ["sum"]])
def test_bad_merge_mode(mode):
    # Keras: ValueError 'Invalid merge mode. Received: max. Merge mode should be one of
    # {"sum", "mul", "ave", "concat", None}'
    with pytest.raises(ValueError, match=re.escape(
            f"Invalid merge mode. Received: {mode}. Merge mode should be one of "
            '{"sum", "mul", "ave", "concat", None}')):
        L.Bidirectional(L.LSTM(4), merge_mode=mode)


@pytest.mark.parametrize("merge_mode", ["sum", "mul", "ave", "concat", None])
def test_good_merge_modes(merge_mode):
    L.Bidirectional(L.LSTM(4), merge_mode=merge_mode)(X)


@pytest.mark.parametrize("go_backwards", [True, False])
def test_same_go_backwards(go_backwards):
    # Keras: ValueError "Forward layer and backward layer should have different `go_backwards`
    # value. Received: forward_layer.go_backwards True, backward_layer.go_backwards=True"
    with pytest.raises(ValueError, match=re.escape(
            "Forward layer and backward layer should have different `go_backwards` value. "
            f"Received: forward_layer.go_backwards={go_backwards}, "
            f"backward_layer.go_backwards={go_backwards}")):
        L.Bidirectional(L.LSTM(4, go_backwards=go_backwards),
                        backward_layer=L.LSTM(4, go_backwards=go_backwards))


def test_same_layer_as_backward_layer():
    lstm = L.LSTM(4)
    with pytest.raises(ValueError, match="different `go_backwards` value"):
        L.Bidirectional(lstm, backward_layer=lstm)


def test_opposite_go_backwards_is_fine():
    # A forward layer that reads backwards, with a backward layer that reads forwards: Keras
    # accepts it; so does a backward layer of another kind and width.
    assert L.Bidirectional(L.LSTM(4, go_backwards=True), backward_layer=L.LSTM(4))(X).shape \
        == (2, 8)
    assert L.Bidirectional(L.LSTM(4), backward_layer=L.GRU(3, go_backwards=True))(X).shape \
        == (2, 7)


@pytest.mark.parametrize("attribute, forward, backward", [
    ("return_sequences", True, False), ("return_state", False, True),
    ("stateful", True, False)])
def test_common_attribute_mismatch(attribute, forward, backward):
    # Keras: ValueError 'Forward layer and backward layer are expected to have the same value
    # for attribute "return_sequences", got "True" for forward layer and "False" for backward
    # layer'
    with pytest.raises(ValueError, match=re.escape(
            "Forward layer and backward layer are expected to have the same value for "
            f'attribute "{attribute}", got "{forward}" for forward layer and "{backward}" for '
            "backward layer")):
        L.Bidirectional(L.LSTM(4, **{attribute: forward}),
                        backward_layer=L.LSTM(4, go_backwards=True, **{attribute: backward}))


@pytest.mark.parametrize("make", [lambda: L.LSTMCell(4), lambda: L.Dense(4),
                                  lambda: L.Bidirectional(L.LSTM(4))])
def test_layer_that_cannot_run_backwards(make):
    # Keras rebuilds the layer with go_backwards=True and fails: TypeError "... could not be
    # deserialized properly" (a cell, Dense) or ValueError "Unrecognized keyword arguments passed
    # to Bidirectional: {'go_backwards': True}". rnnkit raises one error that is both.
    layer = make()
    for kind in (TypeError, ValueError):
        with pytest.raises(kind, match=r"could not make a backward copy .*go_backwards"):
            L.Bidirectional(layer)


@pytest.mark.parametrize("make", [lambda: L.LSTMCell(4), lambda: L.Dense(4)])
def test_backward_layer_that_is_not_an_rnn(make):
    # Keras: AttributeError "'Dense' object has no attribute 'go_backwards'"
    with pytest.raises(AttributeError, match="has no attribute 'go_backwards'"):
        L.Bidirectional(L.LSTM(4), backward_layer=make())


def test_layer_without_usable_config():
    class NoConfigRNN(L.LSTM):
        def __init__(self):  # from_config(get_config()) cannot rebuild it
            super().__init__(4)

    # Keras: TypeError ("Could not locate class ..." when deserializing the copy)
    with pytest.raises(TypeError, match="copies the layer it wraps from its config"):
        L.Bidirectional(NoConfigRNN())


def test_weights_argument():
    # Keras accepts a list and does not use it; a value without a length is a TypeError there
    # ("object of type 'int' has no len()").
    L.Bidirectional(L.LSTM(4), weights=[np.zeros(3)] * 6)(X)
    with pytest.raises(TypeError, match="`weights` must be a list of arrays"):
        L.Bidirectional(L.LSTM(4), weights=5)


def test_used_layers_are_fine():
    # `layer` is copied from its config, so one already called is fine; `backward_layer` is used
    # as is (Keras does the same).
    used = L.LSTM(4)
    used(X)
    backward = L.LSTM(4, go_backwards=True)
    backward(X)
    out = L.Bidirectional(used, backward_layer=backward)(X)
    assert out.shape == (2, 8)
