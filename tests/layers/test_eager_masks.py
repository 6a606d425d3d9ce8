"""Masks travel with arrays outside models too, as Keras' `_keras_mask` does: a layer called on
an array that carries a mask receives it, and its output carries `compute_mask`'s result, so
subclassed models mask their recurrent layers, losses and metrics like functional ones."""

import numpy as np
import pytest

import rnnkit as keras
from rnnkit import layers, masking

IDS = np.array([[1, 2, 3, 0, 0], [4, 5, 0, 0, 0], [6, 7, 8, 9, 1]])


def test_embedding_output_carries_its_mask_and_the_lstm_uses_it():
    keras.utils.set_random_seed(0)
    emb, lstm = layers.Embedding(10, 4, mask_zero=True), layers.LSTM(3, return_sequences=True)
    embedded = emb(IDS)
    np.testing.assert_array_equal(masking.get_keras_mask(embedded), IDS != 0)
    implicit = lstm(embedded)
    explicit = lstm(embedded, mask=IDS != 0)
    unmasked = lstm(np.array(embedded))          # a copy carries no mask
    np.testing.assert_array_equal(implicit, explicit)
    assert not np.array_equal(implicit, unmasked)
    np.testing.assert_array_equal(masking.get_keras_mask(implicit), IDS != 0)
    # An explicit mask wins over the carried one.
    ones = np.ones_like(IDS, bool)
    np.testing.assert_array_equal(lstm(embedded, mask=ones), unmasked)


def test_last_output_drops_the_time_mask():
    emb, gru = layers.Embedding(10, 4, mask_zero=True), layers.GRU(3)
    assert masking.get_keras_mask(gru(emb(IDS))) is None


def test_unmasked_calls_attach_nothing():
    out = layers.Dense(2)(layers.LSTM(3, return_sequences=True)(np.ones((2, 4, 3), "float32")))
    assert masking.get_keras_mask(out) is None
    assert masking.get_keras_mask(layers.Embedding(10, 4)(IDS)) is None


class _Tagger(keras.Model):
    def __init__(self):
        super().__init__()
        self.embedding = layers.Embedding(10, 4, mask_zero=True)
        self.rnn = layers.GRU(5, return_sequences=True)
        self.out = layers.Dense(3)

    def call(self, ids):
        return self.out(self.rnn(self.embedding(ids)))


def test_subclassed_model_masks_its_loss_and_metrics():
    keras.utils.set_random_seed(1)
    model = _Tagger()
    model.compile(optimizer="sgd", metrics=["accuracy"],
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    y = np.random.default_rng(0).integers(0, 3, size=IDS.shape)
    logits = np.asarray(model.predict(IDS, verbose=0), np.float64)
    m = (IDS != 0).astype(np.float64)
    log_p = logits - logits.max(-1, keepdims=True)
    log_p -= np.log(np.exp(log_p).sum(-1, keepdims=True))
    ce = -np.take_along_axis(log_p, y[..., None], -1)[..., 0]
    correct = (logits.argmax(-1) == y).astype(np.float64)
    loss, acc = model.evaluate(IDS, y, verbose=0)
    np.testing.assert_allclose(loss, (ce * m).sum() / m.sum(), rtol=2e-6)
    np.testing.assert_allclose(acc, (correct * m).sum() / m.sum(), rtol=1e-6)
    # Targets under the mask do not change what training does.
    other = y.copy()
    other[IDS == 0] = (y[IDS == 0] + 1) % 3
    start = model.get_weights()
    first = model.train_on_batch(IDS, y)
    after = model.get_weights()
    model.set_weights(start)
    model.reset_metrics()
    second = model.train_on_batch(IDS, other)
    assert first == second
    for a, b in zip(after, model.get_weights()):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("layer", [layers.Dense(2), layers.Activation("relu"),
                                   layers.Dropout(0.5)])
def test_masking_layers_pass_the_mask_on(layer):
    x = layers.Masking()(np.array([[[1.0, 2.0], [0.0, 0.0]]], "float32"))
    np.testing.assert_array_equal(masking.get_keras_mask(layer(x)), [[True, False]])
