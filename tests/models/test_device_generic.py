"""Models and training on a device array library, proven on the CPU with a strict one.

`strict_arrays.StrictArray`, like CuPy's arrays, refuses implicit conversion to NumPy, so any
hidden host round-trip in a layer, loss, metric, optimizer or `fit` raises TypeError here.
The strict library computes with the same NumPy functions and the same host C++ core (through
an explicit copy), and draws dropout masks from the same PCG64 stream, so a model trained on it
must give bit-identical losses and weights to the same model on NumPy.
"""

from __future__ import annotations

import numpy as np
import pytest

import rnnkit as keras
import strict_arrays
from device_params import LIBRARIES, on
from rnnkit import array_library, core, ops
from rnnkit.array_library import DeviceMismatchError

DEVICE = strict_arrays.DEVICE


@pytest.fixture(scope="module", autouse=True)
def _strict_library():
    strict_arrays.register()
    yield
    strict_arrays.unregister()


def _model(device=None, optimizer="adam"):
    """Embedding (mask_zero) -> LSTM (dropout, recurrent_dropout) -> Dense, built under
    `rnnkit.device(device)` when given."""
    def build():
        model = keras.Sequential([
            keras.Input((None,), dtype="int32"),
            keras.layers.Embedding(20, 8, mask_zero=True),
            keras.layers.LSTM(6, dropout=0.25, recurrent_dropout=0.2, seed=3),
            keras.layers.Dropout(0.1, seed=5),
            keras.layers.Dense(1, activation="sigmoid")])
        model.compile(optimizer=optimizer, loss="binary_crossentropy", metrics=["accuracy"])
        return model
    if device is None:
        return build()
    with keras.device(device):
        return build()


def _data(n=16, steps=7, seed=0):
    rng = np.random.default_rng(seed)
    ids = rng.integers(1, 20, size=(n, steps)).astype("int32")
    for row in range(n):                       # padded tails of different lengths
        ids[row, steps - row % 4:] = 0
    labels = (ids == 7).any(axis=1).astype("float32")[:, None]
    return ids, labels


def _pair(optimizer="adam"):
    host = _model(optimizer=optimizer)
    dev = _model(DEVICE, optimizer=optimizer)
    dev.set_weights(host.get_weights())
    return host, dev


def _assert_on_strict(variables):
    for variable in variables:
        assert type(variable.value) is strict_arrays.StrictArray, variable.path
        assert variable.device == DEVICE


def test_strict_arrays_refuse_implicit_conversion():
    s = strict_arrays.strict.ones((2, 3), dtype="float32")
    for convert in (np.asarray, float, int, bool, lambda a: a.item(), lambda a: a.tolist()):
        with pytest.raises(TypeError, match="Implicit conversion of a StrictArray"):
            convert(s if convert in (np.asarray,) else s[0, :1].reshape(()))
    np.testing.assert_array_equal(array_library.to_host(s), np.ones((2, 3)))
    assert array_library.library_of(s) is strict_arrays.LIBRARY
    assert array_library.namespace(s, 2.0, None) is strict_arrays.strict
    assert array_library.namespace(np.ones(2), 1) is np


@pytest.mark.parametrize("optimizer", ["adam", "sgd", "rmsprop"])
def test_train_steps_on_strict_match_numpy_bit_for_bit(optimizer):
    host, dev = _pair(optimizer)
    _assert_on_strict(dev.weights)
    ids, labels = _data()
    calls = strict_arrays.StrictSequence.calls
    for step in range(3):
        batch = slice(8 * (step % 2), 8 * (step % 2) + 8)
        want = host.train_on_batch(ids[batch], labels[batch], return_dict=True)
        got = dev.train_on_batch(ids[batch], labels[batch], return_dict=True)
        assert got == want                      # plain floats, equal to the last bit
        assert all(type(v) is float for v in got.values())
    # forward + backward of the fused LSTM on each step, through the strict core
    assert strict_arrays.StrictSequence.calls - calls == 6
    _assert_on_strict(dev.weights)
    _assert_on_strict([v for v in dev.optimizer.variables
                       if v is not dev.optimizer.iterations
                       and v is not getattr(dev.optimizer, "_learning_rate", None)])
    for got, want in zip(dev.get_weights(), host.get_weights()):
        assert type(got) is np.ndarray
        np.testing.assert_array_equal(got, want)


def test_gradient_tape_step_on_strict_matches_numpy():
    host, dev = _pair()
    ids, labels = _data()
    loss_fn = keras.losses.BinaryCrossentropy()
    results = []
    for model, put in ((host, lambda a: a), (dev, strict_arrays.to_device)):
        with keras.GradientTape() as tape:
            pred = model(put(ids), training=True)
            loss = loss_fn(put(labels), pred)
        grads = tape.gradient(loss, model.trainable_weights)
        model.optimizer.apply(grads, model.trainable_weights)
        results.append((array_library.to_host(keras.autodiff.unwrap(loss)),
                        [array_library.to_host(keras.autodiff.unwrap(g)) for g in grads]))
    (loss_h, grads_h), (loss_d, grads_d) = results
    np.testing.assert_array_equal(loss_d, loss_h)
    for got, want in zip(grads_d, grads_h):
        np.testing.assert_array_equal(got, want)


def test_fit_evaluate_predict_on_strict():
    host, dev = _pair()
    ids, labels = _data(32)
    h = host.fit(ids, labels, batch_size=8, epochs=2, verbose=0, shuffle=False)
    d = dev.fit(ids, labels, batch_size=8, epochs=2, verbose=0, shuffle=False)
    assert d.history == h.history
    assert all(type(v) is float for values in d.history.values() for v in values)
    assert dev.evaluate(ids, labels, batch_size=8, verbose=0) == \
        host.evaluate(ids, labels, batch_size=8, verbose=0)
    predicted = dev.predict(ids, batch_size=8, verbose=0)
    assert type(predicted) is np.ndarray               # explicit copy to the host
    np.testing.assert_array_equal(predicted, host.predict(ids, batch_size=8, verbose=0))
    _assert_on_strict(dev.weights)


def test_variables_are_placed_on_the_current_device():
    with keras.device(DEVICE):
        v = keras.Variable(np.arange(3.0))
        layer = keras.layers.Dense(2)
        layer.build((None, 3))
    assert v.device == DEVICE and type(v.value) is strict_arrays.StrictArray
    _assert_on_strict(layer.weights)
    assert keras.Variable(np.arange(3.0)).device == "cpu:0"
    np.testing.assert_array_equal(v.numpy(), [0.0, 1.0, 2.0])   # explicit copy
    with pytest.raises(TypeError, match="lives on strict:0"):
        np.asarray(v)
    v.assign(np.ones(3))                 # host data into a device variable: an upload
    v.assign_add(strict_arrays.to_device(np.ones(3)))
    np.testing.assert_array_equal(v.numpy(), [2.0, 2.0, 2.0])


def test_mixed_devices_are_a_clear_error_naming_both():
    s = strict_arrays.strict.ones((2, 3), dtype="float32")
    h = np.ones((2, 3), dtype="float32")
    both = r"'strict:0'.*'cpu:0'|'cpu:0'.*'strict:0'"
    with pytest.raises(DeviceMismatchError, match=both):
        ops.add(s, h)
    with pytest.raises(DeviceMismatchError, match=both):
        ops.matmul(h, s.T)
    with pytest.raises(DeviceMismatchError, match=both):
        keras.Variable(h).assign(s)
    with pytest.raises(DeviceMismatchError, match=both):
        array_library.namespace(s, h)
    x = strict_arrays.strict.ones((2, 4, 3), dtype="float32")
    kernel = np.ones((3, 8), dtype="float32")
    with pytest.raises(DeviceMismatchError, match=both):
        core.rnn_forward("simple_rnn", x, kernel, strict_arrays.strict.ones((8, 8), "float32"))
    # a layer uploads host inputs to its device, but never moves a device input to the host
    host_dense = keras.layers.Dense(2)
    host_dense.build((None, 3))
    with pytest.raises(DeviceMismatchError, match=both):
        host_dense(s)
    assert issubclass(DeviceMismatchError, ValueError)
    # scalars go with any device
    assert type(ops.multiply(s, 2.0)) is strict_arrays.StrictArray
    assert type(ops.add(s, np.float32(1))) is strict_arrays.StrictArray
    # a 0-d host array (which CuPy's kernels refuse) meets a device array as a NumPy scalar
    assert type(ops.multiply(np.asarray(2.0, "float32"), s)) is strict_arrays.StrictArray
    assert type(ops.where(s > 0, s, np.zeros((), "float32"))) is strict_arrays.StrictArray


@pytest.mark.parametrize("argument", ["bias", "initial_state", "mask", "input_dropout_mask",
                                      "reserve", "d_output"])
def test_core_call_on_host_arrays_names_a_device_argument(argument):
    # x and the kernels on the host make it a CPU call: any other array on a device is refused
    # by name before anything is copied (not by the library's refusal of an implicit copy).
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 3, 4), dtype=np.float32)
    kernel = rng.standard_normal((4, 8), dtype=np.float32)
    recurrent = rng.standard_normal((2, 8), dtype=np.float32)
    host = {"bias": np.zeros(8, np.float32),
            "initial_state": [np.zeros((2, 2), np.float32)] * 2,
            "mask": np.ones((2, 3), bool),
            "input_dropout_mask": np.ones((2, 4), np.float32)}
    fwd = core.rnn_forward("lstm", x, kernel, recurrent, training=True, return_sequences=True,
                           **host)
    host.update(reserve=fwd.reserve, d_output=np.ones_like(fwd.output))
    on_device = array_library.to_device(host[argument][0] if argument == "initial_state"
                                        else host[argument], DEVICE)
    given = dict(host, **{argument: [host["initial_state"][0], on_device]
                          if argument == "initial_state" else on_device})
    message = rf"argument '{argument}' is on '{DEVICE}' but 'x' and the kernels are on 'cpu:0'"
    if argument not in ("reserve", "d_output"):
        forward_args = {k: v for k, v in given.items() if k not in ("reserve", "d_output")}
        with pytest.raises(DeviceMismatchError, match=message):
            core.rnn_forward("lstm", x, kernel, recurrent, return_sequences=True, **forward_args)
    with pytest.raises(DeviceMismatchError, match=message):
        core.rnn_backward("lstm", x, kernel, recurrent, return_sequences=True, **given)


def test_dropout_draws_on_the_device_with_the_host_stream():
    x = np.ones((4, 5), dtype="float32")
    want = keras.random.dropout(x, 0.5, seed=7)
    got = keras.random.dropout(strict_arrays.to_device(x), 0.5, seed=7)
    assert type(got) is strict_arrays.StrictArray
    np.testing.assert_array_equal(array_library.to_host(got), want)


def test_to_device_and_to_host_are_explicit_copies():
    x = np.arange(4.0)
    s = array_library.to_device(x, DEVICE)
    assert type(s) is strict_arrays.StrictArray
    assert array_library.to_device(s, DEVICE) is s
    back = array_library.to_host(s)
    assert type(back) is np.ndarray and back is not x
    np.testing.assert_array_equal(back, x)
    assert array_library.to_device(x, "cpu") is x
    assert array_library.device_of(s) == DEVICE and array_library.device_of(x) == "cpu:0"
    with pytest.raises(RuntimeError):
        array_library.library_for_device("tpu")


def test_register_array_library_checks_its_argument():
    with pytest.raises(TypeError, match="ArrayLibrary"):
        array_library.register_array_library(object())
    with pytest.raises(ValueError, match="cpu"):
        array_library.register_array_library(array_library.ArrayLibrary(
            "other", "cpu", (), np, to_host=None, to_device=None))


@pytest.mark.parametrize("library", LIBRARIES)
def test_lstm_layer_train_step_on_each_library(library):
    """The fused LSTM with a mask and both dropouts under a tape, on each library; the GPU
    variant runs where a GPU is present (≤ 1e-5 from the CPU there, bit-identical here)."""
    dev = on(library)
    rng = np.random.default_rng(4)
    x = rng.standard_normal((3, 5, 4)).astype("float32")
    mask = np.ones((3, 5), bool)
    mask[1, 3:] = False
    results = []
    for where, put in (("cpu:0", lambda a: a), (dev.device, dev.put)):
        with keras.device(where):
            layer = keras.layers.LSTM(6, dropout=0.3, recurrent_dropout=0.2, seed=9,
                                      return_sequences=True)
            layer.build((None, 5, 4))
        if results:
            layer.set_weights(results[0][2])
        with keras.GradientTape() as tape:
            y = layer(put(x), mask=put(mask), training=True)
            loss = ops.mean(ops.square(y))
        grads = tape.gradient(loss, layer.trainable_weights)
        assert all(dev.is_native(g) for g in grads) or where == "cpu:0"
        results.append((dev.host(loss), dev.host(grads), layer.get_weights()))
    (loss_h, grads_h, _), (loss_d, grads_d, _) = results
    if library == "cupy":     # other dropout stream and GPU arithmetic: compare without dropout
        return
    np.testing.assert_array_equal(loss_d, loss_h)
    for got, want in zip(grads_d, grads_h):
        np.testing.assert_array_equal(got, want)


_L = keras.layers
_SCE = "sparse_categorical_crossentropy"
# name -> (layers after the input, loss, optimizer factory, metrics)
_MODELS = {
    "gru-batchnorm": (lambda: [_L.GRU(6), _L.BatchNormalization(), _L.Dense(3)],
                      lambda: keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                      lambda: "adam", ["sparse_categorical_accuracy"]),
    "gru-reset-before": (lambda: [_L.GRU(6, reset_after=False, dropout=0.2, seed=1),
                                  _L.Dense(3, activation="softmax")],
                         lambda: _SCE, lambda: "rmsprop", ["accuracy"]),
    "simple-rnn-stack": (lambda: [_L.SimpleRNN(5, return_sequences=True),
                                  _L.LSTM(4, recurrent_dropout=0.3, seed=2),
                                  _L.Dense(3, activation="softmax")],
                         lambda: _SCE, lambda: "sgd", ["accuracy"]),
    "bidirectional": (lambda: [_L.Masking(0.0), _L.Bidirectional(_L.LSTM(4)),
                               _L.Dense(3, activation="softmax")],
                      lambda: _SCE, lambda: keras.optimizers.Adam(clipnorm=1.0, amsgrad=True),
                      ["accuracy"]),
    "time-distributed": (lambda: [_L.LSTM(4, return_sequences=True),
                                  _L.TimeDistributed(_L.Dense(2)), _L.LayerNormalization(),
                                  _L.Flatten(), _L.Dense(3, activation="softmax")],
                         lambda: _SCE,
                         lambda: keras.optimizers.SGD(momentum=0.9, nesterov=True),
                         ["accuracy"]),
    "conv1d": (lambda: [_L.Conv1D(4, 3), _L.GlobalAveragePooling1D(),
                        _L.Dense(3, activation="softmax", kernel_regularizer="l2")],
               lambda: _SCE, lambda: keras.optimizers.RMSprop(centered=True, momentum=0.5),
               ["accuracy"]),
    "regression": (lambda: [_L.LSTM(4), _L.Dense(1)], lambda: "mse",
                   lambda: keras.optimizers.Adam(gradient_accumulation_steps=2), ["mae"]),
}


@pytest.mark.parametrize("name", sorted(_MODELS))
def test_more_models_fit_on_strict_as_on_numpy(name):
    """Other layers, losses, metrics and optimizer options: the same history to the last bit,
    with validation data and sample weights moved to the device with each batch."""
    layers, loss, optimizer, metrics = _MODELS[name]
    rng = np.random.default_rng(1)
    x = rng.standard_normal((24, 5, 4)).astype("float32")
    x[::3, 3:] = 0.0
    y = rng.integers(0, 3, 24)
    if name == "regression":
        y = y.astype("float32")
    weights = rng.random(24).astype("float32")
    histories, models = [], []
    for device in (None, DEVICE):
        def build():
            model = keras.Sequential([keras.Input((5, 4))] + layers())
            model.compile(optimizer=optimizer(), loss=loss(), metrics=metrics)
            return model
        if device is None:
            model = build()
        else:
            with keras.device(device):
                model = build()
            model.set_weights(models[0][1])
            _assert_on_strict(model.weights)
        initial = model.get_weights()
        history = model.fit(x, y, sample_weight=weights, batch_size=8, epochs=2, verbose=0,
                            shuffle=False, validation_split=0.25)
        histories.append(history.history)
        models.append((model, initial))
    assert histories[1] == histories[0]
    for got, want in zip(models[1][0].get_weights(), models[0][0].get_weights()):
        np.testing.assert_array_equal(got, want)


def test_stateful_layer_keeps_its_states_on_the_device():
    x = np.random.default_rng(2).standard_normal((2, 3, 4)).astype("float32")
    host = keras.layers.LSTM(3, stateful=True, return_sequences=True)
    host.build((2, 3, 4))
    with keras.device(DEVICE):
        dev = keras.layers.LSTM(3, stateful=True, return_sequences=True)
        dev.build((2, 3, 4))
    dev.set_weights(host.get_weights())
    for part in (x[:, :1], x):              # the one-step call, then a longer one
        want = host(part)
        got = dev(strict_arrays.to_device(part))
        assert type(got) is strict_arrays.StrictArray
        np.testing.assert_array_equal(array_library.to_host(got), want)
    _assert_on_strict(dev.states)
    dev.reset_states()
    _assert_on_strict(dev.states)


def test_fit_takes_device_arrays_as_data():
    """Device arrays as `fit` / `evaluate` / `predict` data are batched on the device (the
    shuffled indices go up, no data comes down) and train as host data does."""
    host, dev = _pair()
    ids, labels = _data(32)
    keras.utils.set_random_seed(5)             # the same shuffles for both
    want = host.fit(ids, labels, batch_size=8, epochs=2, verbose=0, shuffle=True,
                    validation_split=0.25)
    keras.utils.set_random_seed(5)
    got = dev.fit(strict_arrays.to_device(ids), strict_arrays.to_device(labels),
                  batch_size=8, epochs=2, verbose=0, shuffle=True, validation_split=0.25)
    assert got.history == want.history
    predicted = dev.predict(strict_arrays.to_device(ids), batch_size=8, verbose=0)
    assert type(predicted) is np.ndarray
    np.testing.assert_array_equal(predicted, host.predict(ids, batch_size=8, verbose=0))


@pytest.mark.filterwarnings("ignore:Skipping variable loading for optimizer")  # not built yet
@pytest.mark.parametrize("filename", ["model.keras", "model.h5", "model.weights.h5"])
def test_save_on_the_device_load_on_either(tmp_path, filename):
    """Saving copies the weights to the host (explicitly); loading places them on the
    current device."""
    host, dev = _pair()
    ids, labels = _data()
    dev.fit(ids, labels, batch_size=8, epochs=1, verbose=0)
    path = str(tmp_path / filename)
    want = dev.predict(ids, verbose=0)
    if filename.endswith(".weights.h5"):
        dev.save_weights(path)
        loaded = []
        for where in (DEVICE, "cpu"):
            model = _model(where)
            model.load_weights(path)
            loaded.append(model)
    else:
        dev.save(path)
        with keras.device(DEVICE):
            on_device = keras.models.load_model(path)
        loaded = [on_device, keras.models.load_model(path)]
    _assert_on_strict(loaded[0].weights)
    assert all(type(w.value) is np.ndarray for w in loaded[1].weights)
    for model in loaded:
        np.testing.assert_array_equal(model.predict(ids, verbose=0), want)


class _MinimalCell(keras.layers.Layer):
    """A custom cell: the RNN runs it through the generic per-step loop."""

    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        self.units = self.state_size = units

    def build(self, input_shape):
        self.w = self.add_weight(shape=(input_shape[-1], self.units))
        self.u = self.add_weight(shape=(self.units, self.units))

    def call(self, x, states):
        h = ops.tanh(ops.add(ops.matmul(x, self.w), ops.matmul(states[0], self.u)))
        return h, [h]


# name -> (layer factory, how it is called: None, "mask", "pair" or "rank4")
_LAYERS = {
    "custom-cell-rnn": (lambda: _L.RNN(_MinimalCell(3), return_sequences=True), "mask"),
    "lstm-generic-activations": (lambda: _L.LSTM(3, recurrent_activation="hard_sigmoid"),
                                 None),
    "bidirectional-gru": (lambda: _L.Bidirectional(_L.GRU(3, return_sequences=True)), "mask"),
    "stacked-cells": (lambda: _L.RNN(_L.StackedRNNCells([_L.LSTMCell(3), _L.GRUCell(2)])),
                      None),
    "conv-lstm-1d": (lambda: _L.ConvLSTM1D(2, 2), "rank4"),
    "einsum-dense": (lambda: _L.EinsumDense("btc,cd->btd", output_shape=(None, 3)), None),
    "multi-head-attention": (lambda: _L.MultiHeadAttention(2, 3), "pair"),
    "attention": (lambda: _L.Attention(), "list"),
    "concatenate": (lambda: _L.Concatenate(), "list"),
    "max-pooling": (lambda: _L.MaxPooling1D(2), None),
    "average-pooling-same": (lambda: _L.AveragePooling1D(2, padding="same"), None),
    "conv1d-transpose": (lambda: _L.Conv1DTranspose(2, 3), None),
    "separable-conv1d": (lambda: _L.SeparableConv1D(2, 3), None),
    "group-normalization": (lambda: _L.GroupNormalization(2), None),
    "rms-normalization": (lambda: _L.RMSNormalization(), None),
    "gaussian-noise": (lambda: _L.GaussianNoise(0.1, seed=1), None),
    "gaussian-dropout": (lambda: _L.GaussianDropout(0.1, seed=1), None),
    "alpha-dropout": (lambda: _L.AlphaDropout(0.2, seed=1), None),
    "spatial-dropout": (lambda: _L.SpatialDropout1D(0.3, seed=1), None),
    "prelu": (lambda: _L.PReLU(), None),
}


@pytest.mark.parametrize("name", sorted(_LAYERS))
def test_layer_training_call_on_strict_matches_numpy(name):
    """More layers: a training call under a tape, outputs and weight gradients equal to the
    last bit, with the layer built on the strict device."""
    make, kind = _LAYERS[name]
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 5, 4, 3) if kind == "rank4" else (2, 5, 4)).astype("float32")
    mask = np.ones((2, 5), bool)
    mask[1, 3:] = False
    results = []
    for device, put in ((None, lambda a: a), (DEVICE, strict_arrays.to_device)):
        def call(layer, training):
            if kind == "mask":
                return layer(put(x), mask=put(mask), training=training)
            if kind == "pair":
                return layer(put(x), put(x), training=training)
            if kind == "list":
                return layer([put(x), put(x)])
            return layer(put(x), training=training)
        with keras.device(device or "cpu"):
            layer = make()
            call(layer, False)                  # builds it on the device
        if results:
            layer.set_weights(results[0][2])
            _assert_on_strict(layer.weights)
        with keras.GradientTape() as tape:
            loss = ops.sum(ops.square(call(layer, True)))
        grads = tape.gradient(loss, layer.trainable_weights)
        results.append((array_library.to_host(keras.autodiff.unwrap(loss)),
                        [array_library.to_host(keras.autodiff.unwrap(g)) for g in grads],
                        layer.get_weights()))
    np.testing.assert_array_equal(results[1][0], results[0][0])
    for got, want in zip(results[1][1], results[0][1]):
        np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("optimizer", [
    "adamw", "adagrad", "nadam", "adamax", "adadelta", "lion", "ftrl", "lamb", "adafactor",
    lambda: keras.optimizers.Adam(global_clipnorm=1.0, use_ema=True),
    lambda: keras.optimizers.SGD(clipvalue=0.05, weight_decay=0.01)],
    ids=lambda o: o if isinstance(o, str) else "options")
def test_every_optimizer_on_strict_matches_numpy(optimizer):
    histories, weights = [], []
    rng = np.random.default_rng(5)
    x = rng.standard_normal((16, 5, 4)).astype("float32")
    y = rng.integers(0, 3, 16)
    for device in ("cpu", DEVICE):
        with keras.device(device):
            model = keras.Sequential([keras.Input((5, 4)), _L.LSTM(4), _L.Dense(3)])
            model.compile(optimizer=optimizer() if callable(optimizer) else optimizer,
                          loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
        if weights:
            model.set_weights(weights[0])
        weights.append(model.get_weights())
        histories.append(model.fit(x, y, batch_size=8, epochs=2, verbose=0,
                                   shuffle=False).history)
        weights.append(model.get_weights())
    assert histories[1] == histories[0]
    for got, want in zip(weights[3], weights[1]):
        np.testing.assert_array_equal(got, want)


def test_special_functions_run_on_the_device_library():
    # erf comes from the library's scipy.special (the strict one has erf); erfinv, which the
    # strict library lacks, from rnnkit's elementwise fallback -- on the device either way.
    x = np.linspace(-0.95, 0.95, 13).astype("float32")
    for name in ("erf", "erfinv", "erfc"):
        got = getattr(ops, name)(strict_arrays.to_device(x))
        assert type(got) is strict_arrays.StrictArray, name
        np.testing.assert_allclose(strict_arrays.to_host(got), getattr(ops, name)(x),
                                   rtol=2e-6, atol=1e-7, err_msg=name)


def test_a_library_without_a_special_function_says_so():
    class Empty:
        pass

    library = strict_arrays.LIBRARY
    saved = library.special
    library.special = Empty()
    try:
        with pytest.raises(NotImplementedError, match="erf of strict arrays"):
            ops.erf(strict_arrays.to_device(np.zeros(3, "float32")))
    finally:
        library.special = saved
