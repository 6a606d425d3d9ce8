"""A model's outputs carry their masks (`masking.get_keras_mask`, Keras' `_keras_mask`) for the
losses and metrics, whether the model is Sequential or functional, eager or under a tape."""

import numpy as np

import rnnkit as keras
from rnnkit import layers as L
from rnnkit.masking import get_keras_mask

IDS = np.array([[3, 5, 0, 0], [7, 0, 0, 0], [1, 2, 3, 4]])


def _stack(mask_zero=True):
    return [L.Embedding(30, 8, mask_zero=mask_zero), L.LSTM(8, return_sequences=True),
            L.TimeDistributed(L.Dense(4))]


def _sequential(mask_zero=True):
    return keras.Sequential([keras.Input((None,), dtype="int32")] + _stack(mask_zero))


def _functional(mask_zero=True):
    ids = keras.Input((None,), dtype="int32")
    x = ids
    for layer in _stack(mask_zero):
        x = layer(x)
    return keras.Model(ids, x)


def test_sequential_and_functional_outputs_carry_the_mask():
    for model in (_sequential(), _functional()):
        out = model(IDS)
        assert out.shape == (3, 4, 4)
        np.testing.assert_array_equal(get_keras_mask(out), IDS != 0)


def test_unmasked_models_attach_nothing():
    for model in (_sequential(mask_zero=False), _functional(mask_zero=False)):
        assert get_keras_mask(model(IDS)) is None


def test_the_mask_survives_on_tracked_outputs_under_a_tape():
    for model in (_sequential(), _functional()):
        with keras.GradientTape() as tape:
            out = model(IDS, training=True)
            loss = keras.ops.sum(out)
        assert isinstance(out, keras.Tensor)
        np.testing.assert_array_equal(get_keras_mask(out), IDS != 0)
        assert all(g is not None for g in tape.gradient(loss, model.trainable_weights))


def test_each_output_carries_its_own_mask():
    ids = keras.Input((None,), dtype="int32")
    sequence = L.LSTM(6, return_sequences=True)(L.Embedding(30, 6, mask_zero=True)(ids))
    last = L.Dense(2)(L.LSTM(3)(sequence))
    model = keras.Model(ids, {"sequence": sequence, "last": last})
    out = model(IDS)
    np.testing.assert_array_equal(get_keras_mask(out["sequence"]), IDS != 0)
    assert get_keras_mask(out["last"]) is None


def test_a_nested_model_passes_its_output_mask_on():
    inner = _functional()
    ids = keras.Input((None,), dtype="int32")
    outer = keras.Model(ids, L.Dense(2)(inner(ids)))
    np.testing.assert_array_equal(get_keras_mask(outer(IDS)), IDS != 0)
