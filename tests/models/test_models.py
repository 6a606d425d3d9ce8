"""Sequential and functional models: building, masks, summaries, configs, saving."""

import numpy as np
import pytest

import rnnkit as keras
from rnnkit import layers
from helpers import make_x
from helpers import assert_close  # noqa: E402


def guide_models():
    """The four models of the Keras RNN guide, built."""
    first = keras.Sequential([layers.Embedding(input_dim=1000, output_dim=64), layers.LSTM(128),
                              layers.Dense(10)])
    first.build((None, None))
    second = keras.Sequential([layers.Embedding(input_dim=1000, output_dim=64),
                               layers.GRU(256, return_sequences=True), layers.SimpleRNN(128),
                               layers.Dense(10)])
    second.build((None, None))
    encoder_input = keras.Input(shape=(None,))
    encoder_embedded = layers.Embedding(input_dim=1000, output_dim=64)(encoder_input)
    output, state_h, state_c = layers.LSTM(64, return_state=True, name="encoder")(
        encoder_embedded)
    decoder_input = keras.Input(shape=(None,))
    decoder_embedded = layers.Embedding(input_dim=2000, output_dim=64)(decoder_input)
    decoder_output = layers.LSTM(64, name="decoder")(decoder_embedded,
                                                      initial_state=[state_h, state_c])
    third = keras.Model([encoder_input, decoder_input], layers.Dense(10)(decoder_output))
    with pytest.warns(UserWarning):
        fourth = keras.Sequential([
            layers.Bidirectional(layers.LSTM(64, return_sequences=True), input_shape=(5, 10)),
            layers.Bidirectional(layers.LSTM(32)), layers.Dense(10)])
    return first, second, third, fourth


def summary_text(model):
    captured = []
    model.summary(print_fn=captured.append)
    assert len(captured) == 1
    return captured[0]


def test_guide_param_totals_and_summaries(monkeypatch):
    monkeypatch.delenv("COLUMNS", raising=False)
    totals = [m.count_params() for m in guide_models()]
    assert totals == [164106, 361866, 258698, 80266]
    first = summary_text(guide_models()[0])
    lines = first.split("\n")
    assert lines[0].startswith('Model: "sequential')
    assert lines[1] == "┏" + "━" * 33 + "┳" + "━" * 24 + "┳" + "━" * 15 + "┓"
    assert lines[2] == "┃ Layer (type)                    ┃ Output Shape           ┃       Param # ┃"
    assert "│        64,000 │" in lines[4] and "(None, None, 64)" in lines[4]
    assert lines[-3:] == [" Total params: 164,106 (641.04 KB)",
                          " Trainable params: 164,106 (641.04 KB)",
                          " Non-trainable params: 0 (0.00 B)"]
    assert all(len(line) == 76 for line in lines[1:-3])
    third = summary_text(guide_models()[2])
    assert "Connected to" in third and "encoder[0][1]" in third
    assert " Total params: 258,698 (1010.54 KB)" in third


def test_summary_unbuilt_and_wrapping():
    model = keras.Sequential([layers.LSTM(4), layers.BatchNormalization()])
    text = summary_text(model)
    assert "0 (unbuilt)" in text and "?" in text and " Total params: 0 (0.00 B)" in text
    model.build((None, 3, 2))
    text = summary_text(model)
    assert "batch_normalization" in text and "(BatchNormalization)" in text
    assert " Non-trainable params: 8 (32.00 B)" in text


def test_sequential_build_paths_and_layers(rng):
    x = make_x(rng, 3, 5, 2, np.float32)
    lazy = keras.Sequential()
    lazy.add(layers.GRU(4))
    lazy.add(layers.Dense(2))
    assert not lazy.built
    out = lazy(x)
    assert out.shape == (3, 2) and lazy.built and len(lazy.layers) == 2
    with_input = keras.Sequential([keras.Input((5, 2)), layers.LSTM(3)])
    assert with_input.built and [type(l).__name__ for l in with_input.layers] == ["LSTM"]
    assert with_input.output_shape == (None, 3)
    with pytest.raises(ValueError, match="unique names"):
        keras.Sequential([layers.Dense(2, name="d"), layers.Dense(2, name="d")])
    with pytest.raises(ValueError, match="Only instances of"):
        keras.Sequential([3])
    assert lazy.get_layer(index=1) is lazy.layers[1]
    with pytest.raises(ValueError, match="No such layer"):
        lazy.get_layer("nope")


def test_mask_propagates_from_embedding_through_the_model(rng):
    model = keras.Sequential([layers.Embedding(10, 4, mask_zero=True), layers.LSTM(3)])
    padded = np.array([[3, 4, 5, 0, 0], [0, 0, 3, 4, 5]])
    out = model(padded)
    plain = model(np.array([[3, 4, 5]]))
    assert_close(out[0], plain[0], atol=1e-6)
    assert_close(out[1], plain[0], atol=1e-6)
    inputs = keras.Input((None,), dtype="int32")
    seq = layers.LSTM(3, return_sequences=True)(layers.Embedding(10, 4, mask_zero=True)(inputs))
    functional = keras.Model(inputs, layers.SimpleRNN(2)(seq))
    functional.layers[1].set_weights(model.layers[0].get_weights())
    assert functional(padded).shape == (2, 2)
    masked = keras.Sequential([layers.Masking(0.0), layers.SimpleRNN(2)])
    data = make_x(rng, 1, 4, 3, np.float32)
    data_padded = np.concatenate([data, np.zeros((1, 1, 3), np.float32)], axis=1)
    assert_close(masked(data_padded), masked(data), atol=1e-6)


def test_shared_layers_and_multiple_outputs(rng):
    a, b = keras.Input((4, 3)), keras.Input((4, 3))
    shared = layers.GRU(5)
    out_a, out_b = shared(a), shared(b)
    model = keras.Model([a, b], [layers.Dense(2)(out_a), out_b])
    xa, xb = make_x(rng, 2, 4, 3, np.float32), make_x(rng, 2, 4, 3, np.float32)
    y1, y2 = model([xa, xb])
    assert_close(y2, shared(xb), atol=1e-6)
    assert y1.shape == (2, 2)
    assert len(model.weights) == 5
    text = summary_text(model)
    assert "gru[0][0]" in text or "gru" in text


def test_config_round_trip_and_save_load(tmp_path, rng):
    for model in guide_models():
        clone = type(model).from_config(model.get_config()) if type(model) is keras.Sequential \
            else keras.Model.from_config(model.get_config())
        assert clone.count_params() == model.count_params()
        path = tmp_path / f"{model.name}.keras"
        model.save(path)
        loaded = keras.models.load_model(path)
        if isinstance(model.inputs, list) and len(model.inputs) == 2:
            x = [rng.integers(1, 1000, (2, 6)), rng.integers(1, 2000, (2, 4))]
        elif model.layers[0].__class__.__name__ == "Embedding":
            x = rng.integers(1, 1000, (2, 6))
        else:
            x = make_x(rng, 2, 5, 10, np.float32)
        np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    with pytest.raises(ValueError, match=r"must end in `\.keras`"):
        model.save(tmp_path / "model.txt")  # .h5 is the legacy HDF5 format


def test_save_weights_load_weights(tmp_path, rng):
    model = keras.Sequential([keras.Input((3, 2)), layers.LSTM(4), layers.Dense(1)])
    other = keras.Sequential([keras.Input((3, 2)), layers.LSTM(4), layers.Dense(1)])
    model.save_weights(tmp_path / "w.weights.npz")
    other.load_weights(tmp_path / "w.weights.npz")
    x = make_x(rng, 2, 3, 2, np.float32)
    np.testing.assert_array_equal(model(x), other(x))
    smaller = keras.Sequential([keras.Input((3, 2)), layers.LSTM(2), layers.Dense(1)])
    with pytest.raises(ValueError, match="shape"):
        smaller.load_weights(tmp_path / "w.weights.npz")
    with pytest.raises(ValueError, match=r"\.weights\.npz"):
        model.save_weights(tmp_path / "w.h5")


def test_registered_custom_cell_model_round_trip(tmp_path, rng):
    from test_layers_api import MinimalRNNCell

    @keras.saving.register_serializable(package="ModelTest")
    class SavedCell(MinimalRNNCell):
        pass

    model = keras.Sequential([keras.Input((4, 3)), layers.RNN(SavedCell(5)), layers.Dense(2)])
    model.save(tmp_path / "custom.keras")
    loaded = keras.models.load_model(tmp_path / "custom.keras")
    assert type(loaded.layers[0].cell) is SavedCell
    x = make_x(rng, 2, 4, 3, np.float32)
    np.testing.assert_array_equal(loaded(x), model(x))


def test_model_reset_states(rng):
    model = keras.Sequential([keras.Input(batch_shape=(2, 3, 2)),
                              layers.LSTM(3, stateful=True), layers.Dense(1)])
    x = make_x(rng, 2, 3, 2, np.float32)
    first = model(x)
    assert not np.allclose(model(x), first)
    model.reset_states()
    assert_close(model(x), first, atol=1e-6)


def test_symbolic_errors():
    inputs = keras.Input((3, 2))
    with pytest.raises(TypeError, match="no value"):
        np.asarray(inputs)
    with pytest.raises(ValueError, match="expected ndim=3"):
        layers.LSTM(2)(keras.Input((3,)))
    other = keras.Input((3, 2))
    with pytest.raises(ValueError, match="Graph disconnected"):
        keras.Model(inputs, layers.LSTM(2)(other))


def test_nested_model_time_distributed_and_dict_inputs(rng):
    inner = keras.Sequential([keras.Input((4, 3)), layers.LSTM(5, return_sequences=True)])
    inputs = keras.Input((4, 3))
    hidden = layers.TimeDistributed(layers.Dense(2))(inner(inputs))
    model = keras.Model(inputs, layers.GRU(3)(hidden))
    x = make_x(rng, 2, 4, 3, np.float32)
    expected = model.layers[-1](model.layers[-2](inner(x)))
    assert_close(model(x), expected, atol=1e-6)
    assert model.count_params() == 180 + 12 + 63
    clone = keras.Model.from_config(model.get_config())
    clone.set_weights(model.get_weights())
    np.testing.assert_array_equal(clone(x), model(x))
    import json
    assert json.loads(model.to_json())["class_name"] == "Functional"

    a, b = keras.Input((3,), name="a"), keras.Input((2,), name="b")
    dense_a, dense_b = layers.Dense(1), layers.Dense(1)
    two = keras.Model({"a": a, "b": b}, [dense_a(a), dense_b(b)])
    xa, xb = rng.standard_normal((4, 3)), rng.standard_normal((4, 2))
    out_a, out_b = two({"a": xa, "b": xb})
    assert_close(out_a, dense_a(xa), atol=1e-6)
    assert_close(out_b, dense_b(xb), atol=1e-6)


def test_pop_the_only_layer_after_an_input_leaves_the_model_unbuilt():
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, name="only")])
    assert model.pop().name == "only"
    assert model.layers == [] and not model.built
    model.add(keras.layers.Dense(5))
    assert model(np.ones((2, 3), "float32")).shape == (2, 5)


def test_metrics_names_and_reset_metrics_before_compile():
    model = keras.Sequential([keras.layers.Dense(2)])
    assert model.metrics_names == []
    model.reset_metrics()   # nothing to reset, no error (as Keras)
