"""The non-recurrent layers of a Keras RNN model: Embedding, Dense, BatchNormalization, Dropout,
Masking, Activation and TimeDistributed, against NumPy, finite differences and their configs."""

import warnings

import numpy as np
import pytest

import rnnkit
from rnnkit import constraints, initializers, ops, regularizers, saving
from rnnkit.autodiff import GradientTape
from rnnkit.layers.core import Activation, Dense, Embedding, Masking
from rnnkit.layers.layer import Layer
from rnnkit.layers.normalization import BatchNormalization
from rnnkit.layers.regularization import Dropout
from rnnkit.layers.rnn.time_distributed import TimeDistributed
from helpers import assert_close  # noqa: E402


# -- helpers -----------------------------------------------------------------------------------
def numeric_grad(loss, array, eps=1e-6):
    """Central finite differences of the scalar `loss()` with respect to `array` (in place)."""
    grad = np.zeros_like(array)
    flat, gflat = array.reshape(-1), grad.reshape(-1)
    for i in range(flat.size):
        old = flat[i]
        flat[i] = old + eps
        up = loss()
        flat[i] = old - eps
        down = loss()
        flat[i] = old
        gflat[i] = (up - down) / (2 * eps)
    return grad


def numeric_grad_variable(loss, variable, eps=1e-6):
    value = variable.numpy()

    def wrapped():
        variable.assign(value)
        return loss()

    grad = numeric_grad(wrapped, value, eps)
    variable.assign(value)
    return grad


def check_layer_gradients(layer, x, weights, call_kwargs=None, rng=None, atol=1e-7):
    """Gradients of sum(w_out * layer(x)) w.r.t. x (when float) and `weights` (a list, or a
    callable giving it once the layer is built), tape vs FD."""
    call_kwargs = call_kwargs or {}
    rng = rng or np.random.default_rng(0)
    out = np.asarray(layer(x, **call_kwargs))
    if callable(weights):
        weights = weights()
    w_out = rng.uniform(-1, 1, out.shape)

    def loss():
        return float(np.sum(np.asarray(layer(x, **call_kwargs)) * w_out))

    float_input = x.dtype.kind == "f"
    with GradientTape() as tape:
        if float_input:
            tape.watch(x)
        y = layer(x, **call_kwargs)
        total = ops.sum(ops.multiply(y, w_out))
    sources = ([x] if float_input else []) + list(weights)
    grads = tape.gradient(total, sources)
    if float_input:
        assert_close(grads[0], numeric_grad(loss, x), atol=atol, rtol=1e-6)
        grads = grads[1:]
    for variable, g in zip(weights, grads):
        assert g is not None, variable.path
        assert_close(g, numeric_grad_variable(loss, variable), atol=atol,
                     rtol=1e-6, err_msg=variable.path)


def round_trip(layer):
    config = layer.get_config()
    clone = type(layer).from_config(config)
    assert clone.get_config() == config
    restored = saving.deserialize(saving.serialize(layer))
    assert type(restored) is type(layer)
    assert restored.get_config() == config
    return clone


# -- Embedding ---------------------------------------------------------------------------------
class TestEmbedding:
    def test_lookup_matches_numpy(self, rng):
        layer = Embedding(7, 3)
        ids = rng.integers(0, 7, (4, 5))
        out = layer(ids)
        table = layer.get_weights()[0]
        assert out.shape == (4, 5, 3) and out.dtype == np.float32
        np.testing.assert_array_equal(out, table[ids])

    def test_default_initializer_and_param_count(self):
        layer = Embedding(1000, 64)
        layer.build()
        assert layer.count_params() == 64_000
        table = layer.get_weights()[0]
        assert table.shape == (1000, 64)
        assert table.min() >= -0.05 and table.max() <= 0.05 and table.std() > 0.02
        assert [w.path for w in layer.weights] == [f"{layer.name}/embeddings"]

    def test_float_ids_truncate(self):
        layer = Embedding(5, 2)
        table = np.arange(10, dtype=np.float32).reshape(5, 2)
        layer.build()
        layer.set_weights([table])
        out = layer(np.array([[1.7, 2.2, 0.0]]))
        np.testing.assert_array_equal(out[0], table[[1, 2, 0]])

    def test_integer_ids_are_not_cast_to_float(self):
        layer = Embedding(2**25, 1, weights=[np.zeros((2**25, 1), np.float32)])
        table = np.zeros((2**25, 1), np.float32)
        big = 2**24 + 1     # not representable in float32
        table[big] = 1.0
        layer.set_weights([table])
        assert layer(np.array([[big]], dtype=np.int64))[0, 0, 0] == 1.0

    def test_mask_zero(self):
        ids = np.array([[3, 4, 5, 0, 0], [0, 0, 3, 4, 5]])
        layer = Embedding(6, 2, mask_zero=True)
        out = layer(ids)
        np.testing.assert_array_equal(layer.compute_mask(ids), ids != 0)
        # Row 0 is still looked up.
        np.testing.assert_array_equal(out[0, 3], layer.get_weights()[0][0])
        assert layer.supports_masking
        plain = Embedding(6, 2)
        assert plain.compute_mask(ids) is None and not plain.supports_masking

    @pytest.mark.parametrize("bad", [7, 100, -1])
    def test_out_of_range_ids(self, bad):
        layer = Embedding(7, 2)
        with pytest.raises(ValueError, match=rf"id {bad}\b.*input_dim=7"):
            layer(np.array([[0, bad, 1]]))

    def test_non_finite_ids(self):
        with pytest.raises(ValueError, match="non-finite"):
            Embedding(3, 2)(np.array([[np.nan]]))

    @pytest.mark.parametrize("argument", ["input_dim", "output_dim"])
    @pytest.mark.parametrize("value", [0, -3, 2.5, "4", True])
    def test_bad_dims(self, argument, value):
        kwargs = {"input_dim": 5, "output_dim": 3, argument: value}
        with pytest.raises(ValueError, match=rf"`{argument}` must be a positive integer"):
            Embedding(**kwargs)

    def test_bad_dim_message(self):
        with pytest.raises(ValueError) as info:
            Embedding(0, 3)
        assert "Received: input_dim=0 (of type int)" in str(info.value)

    def test_lora_and_quantization_refused(self):
        with pytest.raises(ValueError, match="lora_rank"):
            Embedding(5, 3, lora_rank=2)
        with pytest.raises(ValueError, match="quantization_config"):
            Embedding(5, 3, quantization_config={"mode": "int8"})

    def test_input_length_warns(self):
        with pytest.warns(UserWarning, match="input_length"):
            layer = Embedding(5, 3, input_length=10)
        assert "input_length" not in layer.get_config()

    def test_weights_argument(self, rng):
        table = rng.normal(size=(4, 2)).astype(np.float32)
        layer = Embedding(4, 2, weights=[table])
        assert layer.built
        np.testing.assert_array_equal(layer.get_weights()[0], table)
        np.testing.assert_array_equal(Embedding(4, 2, weights=table).get_weights()[0], table)
        with pytest.raises(ValueError, match="not compatible"):
            Embedding(4, 2, weights=[np.zeros((4, 3))])

    def test_gradient_accumulates_repeated_ids(self, rng):
        layer = Embedding(5, 3, dtype="float64")
        ids = np.array([[1, 1, 4], [0, 1, 3]])
        layer.build()
        check_layer_gradients(layer, ids, [layer.embeddings], rng=rng)
        w_out = rng.normal(size=(2, 3, 3))
        with GradientTape() as tape:
            loss = ops.sum(ops.multiply(layer(ids), w_out))
        expected = np.zeros((5, 3))
        np.add.at(expected, ids, w_out)
        assert_close(tape.gradient(loss, layer.embeddings), expected)

    def test_regularizer_and_constraint(self):
        layer = Embedding(3, 2, embeddings_regularizer=regularizers.L2(0.5),
                          embeddings_constraint="non_neg",
                          embeddings_initializer=initializers.Constant(2.0))
        layer(np.array([[0]]))
        assert_close(float(np.asarray(layer.losses[0])), 0.5 * 4.0 * 6)
        assert isinstance(layer.embeddings.constraint, constraints.NonNeg)

    def test_output_shape_and_config(self):
        layer = Embedding(10, 4, mask_zero=True, embeddings_initializer="normal",
                          embeddings_regularizer="l2", name="emb")
        assert layer.compute_output_shape((None, None)) == (None, None, 4)
        assert layer.compute_output_shape((2, 5, 3)) == (2, 5, 3, 4)
        clone = round_trip(layer)
        assert clone.mask_zero and clone.input_dim == 10 and clone.output_dim == 4
        config = layer.get_config()
        for key in ("input_dim", "output_dim", "embeddings_initializer", "mask_zero",
                    "embeddings_regularizer", "embeddings_constraint", "activity_regularizer"):
            assert key in config

    def test_float64(self):
        layer = Embedding(4, 2, dtype="float64")
        assert layer(np.array([[1, 2]])).dtype == np.float64


# -- Dense -------------------------------------------------------------------------------------
class TestDense:
    @pytest.mark.parametrize("shape", [(6, 4), (3, 5, 4), (2, 3, 2, 4)])
    def test_matches_numpy(self, rng, shape):
        layer = Dense(3, activation="tanh")
        x = rng.normal(size=shape).astype(np.float32)
        out = layer(x)
        kernel, bias = layer.get_weights()
        assert kernel.shape == (4, 3) and bias.shape == (3,)
        assert out.shape == shape[:-1] + (3,)
        assert_close(out, np.tanh(x @ kernel + bias), rtol=1e-5, atol=1e-6)

    def test_no_bias(self, rng):
        layer = Dense(2, use_bias=False, kernel_initializer="ones")
        x = rng.normal(size=(3, 4))
        assert_close(layer(x), np.repeat(x.sum(-1, keepdims=True), 2, -1),
                     rtol=1e-6)
        assert len(layer.weights) == 1 and layer.bias is None

    def test_param_count(self):
        layer = Dense(10)
        layer.build((None, 128))
        assert layer.count_params() == 1_290
        assert [w.path for w in layer.weights] == [f"{layer.name}/kernel", f"{layer.name}/bias"]

    @pytest.mark.parametrize("units", [0, -1])
    def test_bad_units(self, units):
        with pytest.raises(ValueError, match="Received an invalid value for `units`, expected a "
                                             "positive integer"):
            Dense(units)

    @pytest.mark.parametrize("units", [2.5, "3", None])
    def test_units_type(self, units):
        with pytest.raises(ValueError, match="`units`"):
            Dense(units)

    def test_bad_inputs(self, rng):
        layer = Dense(2)
        with pytest.raises(ValueError, match="min_ndim=2"):
            layer(np.ones(3))
        layer(np.ones((2, 4)))
        with pytest.raises(ValueError, match="expected axis -1 of input shape to have value 4"):
            layer(np.ones((2, 5)))
        with pytest.raises(ValueError, match="last dimension"):
            Dense(2).build((None, None))

    def test_bad_arguments(self):
        with pytest.raises(TypeError, match="use_bias"):
            Dense(2, use_bias="yes")
        with pytest.raises(ValueError, match="Could not interpret activation"):
            Dense(2, activation="no_such_activation")
        with pytest.raises(ValueError, match="lora_rank"):
            Dense(2, lora_rank=4)
        with pytest.raises(ValueError, match="Unrecognized keyword arguments"):
            Dense(2, kernel_size=3)

    def test_mask_passes_through(self):
        layer = Dense(2)
        mask = np.array([[True, False, True]])
        assert layer.supports_masking
        assert layer.compute_mask(np.ones((1, 3, 4)), mask) is mask

    def test_compute_output_shape(self):
        layer = Dense(7)
        assert layer.compute_output_shape((None, None, 3)) == (None, None, 7)
        assert layer.compute_output_shape((None, 3)) == (None, 7)

    @pytest.mark.parametrize("shape", [(3, 4), (2, 3, 4)])
    def test_gradients(self, rng, shape):
        layer = Dense(3, activation="sigmoid", dtype="float64",
                      bias_initializer="random_normal")
        x = rng.normal(size=shape)
        check_layer_gradients(layer, x, lambda: [layer.kernel, layer.bias], rng=rng)

    def test_regularizers(self, rng):
        layer = Dense(2, kernel_regularizer=regularizers.L1(0.1),
                      bias_regularizer=regularizers.L2(0.2), bias_initializer="ones",
                      activity_regularizer=regularizers.L2(0.3))
        x = rng.normal(size=(3, 4)).astype(np.float32)
        out = layer(x)
        kernel = layer.get_weights()[0]
        losses = [float(np.asarray(v)) for v in layer.losses]
        assert_close(sorted(losses), sorted(
            [0.3 * np.sum(np.square(out)), 0.1 * np.abs(kernel).sum(), 0.2 * 2.0]), rtol=1e-5)

    def test_config_round_trip(self):
        layer = Dense(5, activation="relu", use_bias=False,
                      kernel_initializer=initializers.Orthogonal(gain=2.0, seed=3),
                      kernel_regularizer=regularizers.L1L2(l1=0.1, l2=0.2),
                      activity_regularizer="l2", kernel_constraint=constraints.MaxNorm(2.0),
                      bias_constraint="non_neg", dtype="float64", name="head")
        clone = round_trip(layer)
        assert clone.units == 5 and clone.activation is rnnkit.activations.relu
        assert isinstance(clone.kernel_initializer, initializers.Orthogonal)
        assert clone.kernel_initializer.gain == 2.0
        assert isinstance(clone.kernel_constraint, constraints.MaxNorm)
        assert clone.activity_regularizer is not None
        assert clone.dtype == "float64" and clone.name == "head"


# -- BatchNormalization ------------------------------------------------------------------------
def bn_reference(x, gamma, beta, mean, var, eps, axis=-1):
    shape = [1] * x.ndim
    shape[axis] = -1
    r = (lambda v: np.reshape(v, shape))
    return r(gamma) * (x - r(mean)) / np.sqrt(r(var) + eps) + r(beta)


class TestBatchNormalization:
    def _randomize(self, rng, layer):
        c = layer.moving_mean.shape[0]
        weights = [rng.uniform(0.5, 1.5, c), rng.normal(size=c), rng.normal(size=c),
                   rng.uniform(0.5, 2.0, c)]
        layer.set_weights(weights)
        return weights

    def test_weights_and_param_count(self):
        layer = BatchNormalization()
        layer.build((None, None, 6))
        assert [w.name for w in layer.weights] == ["gamma", "beta", "moving_mean",
                                                   "moving_variance"]
        assert layer.count_params() == 24
        assert sum(int(np.prod(w.shape)) for w in layer.trainable_weights) == 12
        assert [w.name for w in layer.non_trainable_weights] == ["moving_mean",
                                                                 "moving_variance"]
        gamma, beta, mm, mv = layer.get_weights()
        np.testing.assert_array_equal(gamma, 1)
        np.testing.assert_array_equal(beta, 0)
        np.testing.assert_array_equal(mm, 0)
        np.testing.assert_array_equal(mv, 1)

    def test_no_center_no_scale(self):
        layer = BatchNormalization(center=False, scale=False)
        layer.build((None, 3))
        assert [w.name for w in layer.weights] == ["moving_mean", "moving_variance"]
        assert layer.count_params() == 6

    def test_training_output_and_moving_update(self, rng):
        layer = BatchNormalization(dtype="float64")
        x = rng.normal(2.0, 3.0, size=(4, 5, 3))
        layer.build(x.shape)
        gamma, beta, mm, mv = self._randomize(rng, layer)
        out = layer(x, training=True)
        mean, var = x.mean(axis=(0, 1)), x.var(axis=(0, 1))   # biased variance
        assert_close(out, bn_reference(x, gamma, beta, mean, var, 1e-3),
                     rtol=1e-12, atol=1e-12)
        assert_close(layer.moving_mean.numpy(), 0.99 * mm + 0.01 * mean,
                     rtol=1e-12)
        assert_close(layer.moving_variance.numpy(), 0.99 * mv + 0.01 * var,
                     rtol=1e-12)
        # The unbiased variance (PyTorch's update) would differ.
        unbiased = x.var(axis=(0, 1), ddof=1)
        assert not np.allclose(layer.moving_variance.numpy(), 0.99 * mv + 0.01 * unbiased)

    def test_momentum_and_repeated_updates(self, rng):
        layer = BatchNormalization(momentum=0.8, epsilon=1e-5)
        xs = [rng.normal(size=(6, 2)).astype(np.float32) for _ in range(3)]
        mm, mv = np.zeros(2), np.ones(2)
        for x in xs:
            layer(x, training=True)
            mm = 0.8 * mm + 0.2 * x.astype(np.float64).mean(0)
            mv = 0.8 * mv + 0.2 * x.astype(np.float64).var(0)
        assert_close(layer.moving_mean.numpy(), mm, rtol=1e-5, atol=1e-6)
        assert_close(layer.moving_variance.numpy(), mv, rtol=1e-5, atol=1e-6)

    def test_masked_moments(self, rng):
        layer = BatchNormalization(dtype="float64")
        x = rng.normal(size=(3, 6, 4))
        mask = rng.random((3, 6)) < 0.6
        mask[0, 0] = True
        out = layer(x, training=True, mask=mask)
        valid = x[mask]
        mean, var = valid.mean(0), valid.var(0)
        assert_close(out, bn_reference(x, np.ones(4), np.zeros(4), mean, var,
                                       1e-3), rtol=1e-6, atol=1e-6)
        assert_close(layer.moving_mean.numpy(), 0.01 * mean, rtol=1e-6)
        assert_close(layer.moving_variance.numpy(), 0.99 + 0.01 * var,
                     rtol=1e-6)
        # Different from the unmasked moments.
        assert not np.allclose(mean, x.mean((0, 1)))
        with pytest.raises(ValueError, match="one dimension less than the inputs"):
            layer(x, training=True, mask=mask[..., None])

    def test_inference_uses_moving_stats(self, rng):
        layer = BatchNormalization(dtype="float64")
        x = rng.normal(size=(5, 3))
        layer.build(x.shape)
        gamma, beta, mm, mv = self._randomize(rng, layer)
        for out in (layer(x), layer(x, training=False)):
            assert_close(out, bn_reference(x, gamma, beta, mm, mv, 1e-3),
                         rtol=1e-12)
        np.testing.assert_array_equal(layer.moving_mean.numpy(), mm)
        np.testing.assert_array_equal(layer.moving_variance.numpy(), mv)

    def test_frozen_layer_uses_moving_stats(self, rng):
        layer = BatchNormalization(dtype="float64")
        x = rng.normal(size=(5, 3))
        layer.build(x.shape)
        gamma, beta, mm, mv = self._randomize(rng, layer)
        layer.trainable = False
        out = layer(x, training=True)
        assert_close(out, bn_reference(x, gamma, beta, mm, mv, 1e-3), rtol=1e-12)
        np.testing.assert_array_equal(layer.moving_mean.numpy(), mm)
        assert layer.trainable_weights == []
        layer.trainable = True
        layer(x, training=True)
        assert not np.allclose(layer.moving_mean.numpy(), mm)

    def test_axis_1(self, rng):
        layer = BatchNormalization(axis=1, dtype="float64")
        x = rng.normal(size=(4, 3, 5))
        out = layer(x, training=True)
        assert layer.moving_mean.shape == (3,)
        mean, var = x.mean((0, 2)), x.var((0, 2))
        assert_close(out, bn_reference(x, np.ones(3), np.zeros(3), mean, var,
                                       1e-3, axis=1), rtol=1e-10, atol=1e-12)

    def test_errors(self):
        with pytest.raises(ValueError, match="renorm"):
            BatchNormalization(renorm=True)
        with pytest.raises(TypeError, match="`axis`"):
            BatchNormalization(axis=[1, 2])
        with pytest.raises(TypeError, match="`momentum`"):
            BatchNormalization(momentum="fast")
        with pytest.raises(ValueError, match="`momentum`"):
            BatchNormalization(momentum=1.5)
        with pytest.raises(TypeError, match="`center`"):
            BatchNormalization(center=None)
        with pytest.raises(ValueError, match="invalid `axis`=3"):
            BatchNormalization(axis=3).build((None, 4))
        with pytest.raises(ValueError, match="must be defined"):
            BatchNormalization().build((None, None))
        layer = BatchNormalization()
        layer(np.ones((2, 3)))
        with pytest.raises(ValueError, match="expected axis -1 of input shape to have value 3"):
            layer(np.ones((2, 4)))
        with pytest.raises(ValueError, match="expected ndim=2"):
            layer(np.ones((2, 5, 3)))

    @pytest.mark.parametrize("training", [True, False])
    @pytest.mark.parametrize("masked", [False, True])
    def test_gradients(self, rng, training, masked):
        layer = BatchNormalization(dtype="float64")
        x = rng.normal(size=(3, 4, 2))
        layer.build(x.shape)
        self._randomize(rng, layer)
        kwargs = {"training": training}
        if masked:
            mask = rng.random((3, 4)) < 0.7
            mask[0, :2] = True
            kwargs["mask"] = mask
        check_layer_gradients(layer, x, [layer.gamma, layer.beta], kwargs, rng=rng, atol=1e-6)

    def test_moving_stats_get_no_gradient(self, rng):
        layer = BatchNormalization(dtype="float64")
        x = rng.normal(size=(4, 2))
        with GradientTape() as tape:
            tape.watch(x)
            y = layer(x, training=True)
        grads = tape.gradient(ops.sum(y), [layer.moving_mean, layer.moving_variance])
        assert grads == [None, None]

    def test_mask_passes_through_and_shape(self):
        layer = BatchNormalization()
        mask = np.ones((2, 3), bool)
        assert layer.compute_mask(np.ones((2, 3, 4)), mask) is mask
        assert layer.compute_output_shape((None, None, 4)) == (None, None, 4)

    def test_config_round_trip(self):
        layer = BatchNormalization(axis=1, momentum=0.9, epsilon=1e-5, center=False,
                                   gamma_initializer=initializers.Constant(0.5),
                                   gamma_regularizer=regularizers.L2(0.01),
                                   gamma_constraint="non_neg", synchronized=True)
        clone = round_trip(layer)
        assert (clone.axis, clone.momentum, clone.epsilon, clone.center) == (1, 0.9, 1e-5, False)
        clone.build((None, 3, 2))
        np.testing.assert_array_equal(clone.gamma.numpy(), 0.5)


# -- Dropout -----------------------------------------------------------------------------------
class TestDropout:
    @pytest.mark.parametrize("rate", [1.5, -0.1])
    def test_rate_out_of_range(self, rate):
        with pytest.raises(ValueError, match=r"Invalid value received for argument `rate`\. "
                                             r"Expected a float value between 0 and 1\."):
            Dropout(rate)

    def test_rate_type(self):
        with pytest.raises(TypeError, match="`rate`"):
            Dropout("half")
        with pytest.raises(TypeError, match="`seed`"):
            Dropout(0.5, seed=1.5)
        with pytest.raises(ValueError, match="`noise_shape`"):
            Dropout(0.5, noise_shape=(2, 0))

    @pytest.mark.parametrize("rate", [0.2, 0.5, 0.75])
    def test_scaling(self, rng, rate):
        layer = Dropout(rate, seed=1)
        x = rng.uniform(1, 2, size=(50, 40)).astype(np.float32)
        out = np.asarray(layer(x, training=True))
        ratio = out / x
        kept = ratio != 0
        assert_close(ratio[kept], 1 / (1 - rate), rtol=1e-6)
        assert abs((~kept).mean() - rate) < 0.05
        assert out.dtype == np.float32

    def test_identity_at_inference(self, rng):
        layer = Dropout(0.5)
        x = rng.normal(size=(3, 4)).astype(np.float32)
        np.testing.assert_array_equal(layer(x), x)
        np.testing.assert_array_equal(layer(x, training=False), x)
        np.testing.assert_array_equal(Dropout(0.0)(x, training=True), x)
        np.testing.assert_array_equal(Dropout(1.0)(x, training=True), 0)

    def test_seed_reproducibility(self):
        x = np.ones((8, 16), np.float32)
        a, b = Dropout(0.5, seed=7), Dropout(0.5, seed=7)
        first = np.asarray(a(x, training=True))
        np.testing.assert_array_equal(first, b(x, training=True))
        second = np.asarray(a(x, training=True))
        assert not np.array_equal(first, second)
        np.testing.assert_array_equal(second, b(x, training=True))
        assert not np.array_equal(first, Dropout(0.5, seed=8)(x, training=True))

    def test_noise_shape(self):
        layer = Dropout(0.5, noise_shape=(None, 1, None), seed=2)
        out = np.asarray(layer(np.ones((4, 6, 5), np.float32), training=True))
        np.testing.assert_array_equal(out, np.broadcast_to(out[:, :1], out.shape))
        assert 0 < (out == 0).mean() < 1
        with pytest.raises(ValueError, match="rank"):
            Dropout(0.5, noise_shape=(None, 1))(np.ones((2, 3, 4)), training=True)

    def test_gradient_is_the_mask(self, rng):
        layer = Dropout(0.4, seed=3, dtype="float64")
        x = rng.uniform(1, 2, size=(5, 6))
        w = rng.normal(size=(5, 6))
        with GradientTape() as tape:
            tape.watch(x)
            y = layer(x, training=True)
            loss = ops.sum(ops.multiply(y, w))
        grad = tape.gradient(loss, x)
        mask = np.asarray(y) / x
        assert_close(grad, w * mask, rtol=1e-12)

    def test_training_flag_from_enclosing_layer(self):
        class Outer(Layer):
            def __init__(self, **kwargs):
                super().__init__(**kwargs)
                self.inner = Dropout(0.5, seed=1)

            def call(self, x, training=False):
                return self.inner(x)

        x = np.ones((10, 10), np.float32)
        assert (np.asarray(Outer()(x, training=True)) == 0).any()
        np.testing.assert_array_equal(Outer()(x), x)

    def test_mask_shape_config(self):
        layer = Dropout(0.3, noise_shape=(None, 1, 4), seed=5, name="drop")
        mask = np.ones((2, 3), bool)
        assert layer.supports_masking and layer.compute_mask(None, mask) is mask
        assert layer.compute_output_shape((None, None, 4)) == (None, None, 4)
        clone = round_trip(layer)
        assert (clone.rate, clone.noise_shape, clone.seed) == (0.3, (None, 1, 4), 5)
        assert {"rate", "noise_shape", "seed"} <= set(layer.get_config())


# -- Masking -----------------------------------------------------------------------------------
class TestMasking:
    def test_mask_and_zeroed_outputs(self):
        x = np.array([[[1.0, 2.0], [0.0, 0.0], [3.0, 0.0], [0.0, 0.0]],
                      [[0.0, 0.0], [0.0, -1.0], [0.0, 0.0], [5.0, 5.0]]], np.float32)
        layer = Masking()
        np.testing.assert_array_equal(layer.compute_mask(x), [[True, False, True, False],
                                                              [False, True, False, True]])
        np.testing.assert_array_equal(layer(x), x)   # masked steps are already 0 here

    def test_custom_mask_value(self):
        x = np.array([[[-1.0, -1.0], [-1.0, 2.0], [0.0, 0.0]]], np.float32)
        layer = Masking(mask_value=-1.0)
        np.testing.assert_array_equal(layer.compute_mask(x), [[False, True, True]])
        np.testing.assert_array_equal(layer(x), [[[0, 0], [-1, 2], [0, 0]]])

    def test_gradient_zero_at_masked_steps(self, rng):
        x = rng.normal(size=(2, 4, 3))
        x[0, 1] = 7.0
        x[1, 3] = 7.0
        layer = Masking(mask_value=7.0, dtype="float64")
        w = rng.normal(size=x.shape)
        with GradientTape() as tape:
            tape.watch(x)
            loss = ops.sum(ops.multiply(layer(x), w))
        grad = tape.gradient(loss, x)
        expected = w.copy()
        expected[0, 1] = 0
        expected[1, 3] = 0
        np.testing.assert_array_equal(grad, expected)

    def test_config_and_errors(self):
        layer = Masking(mask_value=-2.5)
        assert round_trip(layer).mask_value == -2.5
        assert layer.compute_output_shape((None, None, 3)) == (None, None, 3)
        with pytest.raises(TypeError, match="`mask_value`"):
            Masking(mask_value="pad")


# -- Activation --------------------------------------------------------------------------------
class TestActivation:
    def test_values_and_config(self, rng):
        x = rng.normal(size=(3, 4)).astype(np.float32)
        layer = Activation("relu")
        np.testing.assert_array_equal(layer(x), np.maximum(x, 0))
        clone = round_trip(layer)
        assert clone.activation is rnnkit.activations.relu
        assert_close(Activation("tanh")(x), np.tanh(x), rtol=1e-6, atol=1e-7)
        assert layer.supports_masking
        with pytest.raises(ValueError, match="Could not interpret activation"):
            Activation("nope")


# -- TimeDistributed ---------------------------------------------------------------------------
class TestTimeDistributed:
    def test_dense_matches_per_step(self, rng):
        dense = Dense(3, activation="tanh")
        layer = TimeDistributed(dense)
        x = rng.normal(size=(2, 5, 4)).astype(np.float32)
        out = layer(x)
        assert out.shape == (2, 5, 3)
        for t in range(5):
            assert_close(out[:, t], dense(x[:, t]), rtol=1e-6, atol=1e-7)
        assert layer.weights == dense.weights and layer.count_params() == 15
        assert dense.kernel.path == f"{layer.name}/{dense.name}/kernel"

    def test_higher_rank_and_embedding(self, rng):
        emb = Embedding(9, 2)
        layer = TimeDistributed(emb)
        ids = rng.integers(0, 9, (2, 3, 4))
        out = layer(ids)
        np.testing.assert_array_equal(out, emb.get_weights()[0][ids])
        assert layer.compute_output_shape((None, None, 4)) == (None, None, 4, 2)

    def test_output_shape(self):
        layer = TimeDistributed(Dense(6))
        assert layer.compute_output_shape((None, None, 3)) == (None, None, 6)
        assert layer.compute_output_shape((2, 7, 3)) == (2, 7, 6)

    def test_mask_passes_through(self, rng):
        layer = TimeDistributed(Dense(2))
        mask = np.array([[True, False, True]])
        x = rng.normal(size=(1, 3, 4))
        assert layer.compute_mask(x, mask) is mask
        assert layer.supports_masking

    def test_mask_given_to_inner_layer(self, rng):
        bn = BatchNormalization(dtype="float64")
        layer = TimeDistributed(bn)
        x = rng.normal(size=(2, 5, 3))
        mask = np.ones((2, 5), bool)
        mask[:, 3:] = False
        layer(x, training=True, mask=mask)
        assert_close(bn.moving_mean.numpy(), 0.01 * x[:, :3].mean((0, 1)),
                     rtol=1e-6)

    def test_training_reaches_inner_layer(self):
        layer = TimeDistributed(Dropout(0.5, seed=0))
        x = np.ones((4, 5, 6), np.float32)
        np.testing.assert_array_equal(layer(x), x)
        assert (np.asarray(layer(x, training=True)) == 0).any()

    def test_errors(self):
        with pytest.raises(ValueError, match="`TimeDistributed`.*Layer"):
            TimeDistributed("dense")
        with pytest.raises(ValueError, match="Layer"):
            TimeDistributed(lambda x: x)
        layer = TimeDistributed(Dense(2))
        with pytest.raises(ValueError, match="min_ndim=3"):
            layer(np.ones((2, 3)))
        with pytest.raises(ValueError, match="at least 3 dimensions"):
            TimeDistributed(Dense(2)).build((None, 3))
        with pytest.raises(ValueError, match="at least 3 dimensions"):
            TimeDistributed(Dense(2)).compute_output_shape((None, 3))

    def test_gradients(self, rng):
        dense = Dense(2, activation="tanh", dtype="float64", bias_initializer="random_normal")
        layer = TimeDistributed(dense)
        assert layer.dtype == "float64"
        x = rng.normal(size=(2, 3, 4))
        check_layer_gradients(layer, x, lambda: [dense.kernel, dense.bias], rng=rng)

    def test_config_round_trip(self):
        layer = TimeDistributed(Dense(4, activation="relu", name="inner"), name="td")
        clone = round_trip(layer)
        assert isinstance(clone.layer, Dense) and clone.layer.units == 4
        assert clone.layer.name == "inner" and clone.name == "td"
        assert clone.get_config()["layer"]["class_name"] == "Dense"


# -- a small model by hand: Embedding(mask_zero) -> Dense -> BN -> Dropout, masks passed on -----
def test_mask_propagates_through_pass_through_layers(rng):
    ids = np.array([[3, 4, 5, 0, 0]])
    emb = Embedding(6, 4, mask_zero=True)
    x = emb(ids)
    mask = emb.compute_mask(ids)
    for layer in (Dense(3), BatchNormalization(), Dropout(0.2), Activation("relu"),
                  TimeDistributed(Dense(2))):
        kwargs = {"mask": mask} if layer._call_has_mask_arg else {}
        x = layer(x, **kwargs)
        new_mask = layer.compute_mask(x, mask)
        np.testing.assert_array_equal(new_mask, [[True, True, True, False, False]])
        mask = new_mask


def test_no_warnings_on_plain_use(rng):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        Embedding(5, 2)(np.array([[1, 2]]))
        Dense(2)(np.ones((2, 3)))
        BatchNormalization()(np.ones((2, 3)), training=True)


# -- end to end with the recurrent layers (spec §5.4) ------------------------------------------
def test_embedding_mask_zero_into_lstm():
    emb = Embedding(6, 4, mask_zero=True, embeddings_initializer="random_normal")
    lstm = rnnkit.layers.LSTM(3)
    expected = np.asarray(lstm(emb(np.array([[3, 4, 5]]))))
    for ids in (np.array([[3, 4, 5, 0, 0]]), np.array([[0, 0, 3, 4, 5]])):
        out = lstm(emb(ids), mask=emb.compute_mask(ids))
        assert_close(out, expected, rtol=1e-6, atol=1e-7)
        # The embedding's output carries its mask, so the LSTM sees it without being told
        # (Keras' implicit masks).
        assert_close(lstm(emb(ids)), expected, rtol=1e-6, atol=1e-7)
    # Without the mask (a copy carries none) the padding changes the result.
    assert not np.allclose(lstm(np.array(emb(np.array([[3, 4, 5, 0, 0]])))), expected, atol=1e-6)


def test_masking_into_simple_rnn(rng):
    masking, rnn = Masking(), rnnkit.layers.SimpleRNN(2)
    x = rng.uniform(0.5, 1.0, (2, 4, 3)).astype(np.float32)
    x[:, 3] = 0.0
    out = rnn(masking(x), mask=masking.compute_mask(x))
    assert_close(out, rnn(x[:, :3]), rtol=1e-6, atol=1e-7)


def test_variable_scalar_conversions_as_keras():
    step = rnnkit.Variable(np.array(7, "int64"), trainable=False, dtype="int64")
    assert int(step) == 7 and float(step) == 7.0
    assert int(step // 2) == 3 and int(step % 4) == 3 and int(15 // step) == 2
    with pytest.raises(TypeError, match="cannot be used as a boolean"):
        bool(step)
    with pytest.raises(TypeError, match="Only scalar variables"):
        int(rnnkit.Variable(np.zeros(2, "float32")))
