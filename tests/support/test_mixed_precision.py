"""The "mixed_bfloat16" dtype policy (docs/mixed_precision.md): the policy API, the recurrent
layers' exact definition (the float32 core on bfloat16-rounded inputs and weights, outputs
rounded to bfloat16), the error against float32 within the documented tolerance, gradients,
training and saving."""

import os
import subprocess
import sys

import ml_dtypes
import numpy as np
import pytest

import rnnkit as keras
from rnnkit import core, dtype_policies, mixed_precision, ops

BF16 = np.dtype(ml_dtypes.bfloat16)
MIXED = "mixed_bfloat16"
U = 2.0 ** -9        # bfloat16's unit roundoff (8-bit significand, round to nearest)
F16 = "mixed_float16"
# per mixed policy: the compute dtype and its unit roundoff (float16: 11-bit significand)
COMPUTE = {MIXED: BF16, F16: np.dtype("float16")}
UNIT = {MIXED: U, F16: 2.0 ** -11}

RECURRENT = [
    ("SimpleRNN", {}),
    ("GRU", {"reset_after": True}),
    ("GRU", {"reset_after": False}),
    ("LSTM", {}),
]


@pytest.fixture(autouse=True)
def _global_policy_reset():
    yield
    mixed_precision.set_global_policy(None)


def rounded(a, dtype=BF16):
    """`a` rounded to `dtype` (bfloat16 or float16), as float32 (exact)."""
    return np.asarray(a, np.float32).astype(dtype).astype(np.float32)


def pair(name, kwargs, x, policy=MIXED, **layer_kwargs):
    """A float32 layer and a mixed one (`policy`) with the same weights (both built on x)."""
    cls = getattr(keras.layers, name)
    ref = cls(8, **kwargs, **layer_kwargs)
    mixed = cls(8, **kwargs, dtype=policy, **layer_kwargs)
    ref(x)
    mixed(x)
    mixed.set_weights(ref.get_weights())
    return ref, mixed


def core_reference(layer, x, *, mask=None, initial_state=None, training=False):
    """What the docs define a mixed recurrent layer to return: rnnkit.core on the input, weights
    and initial states rounded to the compute dtype, in float32 (bfloat16: with
    `bfloat16_matmuls`, which multiplies in bfloat16 where the CPU has AMX)."""
    cell = layer.cell
    bias = cell.fused_bias()
    dt = np.dtype(layer.compute_dtype)
    states = None if initial_state is None else [rounded(s, dt) for s in initial_state]
    return core.rnn_forward(
        cell.core_name, rounded(x, dt), rounded(cell.kernel.numpy(), dt),
        rounded(cell.recurrent_kernel.numpy(), dt),
        None if bias is None else rounded(bias, dt),
        initial_state=states, mask=mask, reset_after=getattr(cell, "reset_after", True),
        go_backwards=layer.go_backwards, return_sequences=layer.return_sequences,
        zero_output_for_mask=layer.zero_output_for_mask, training=training,
        bfloat16_matmuls=dt == BF16)


def test_rounded_weights_follow_every_weight_change():
    # The rounded weights are cached between calls; assignments and an optimizer's in-place
    # update must both be seen by the next call.
    rng = np.random.default_rng(7)
    x = rng.uniform(-1, 1, (3, 4, 5)).astype(np.float32)
    layer = keras.layers.LSTM(8, dtype=MIXED)
    first = np.asarray(layer(x)).astype(np.float32)
    assert_exact = np.testing.assert_array_equal
    assert_exact(first, core_reference(layer, x).output.astype(BF16).astype(np.float32))
    layer.set_weights([w * 1.5 for w in layer.get_weights()])
    assigned = np.asarray(layer(x)).astype(np.float32)
    assert not np.array_equal(assigned, first)
    assert_exact(assigned, core_reference(layer, x).output.astype(BF16).astype(np.float32))
    optimizer = keras.optimizers.SGD(0.5)
    optimizer.apply([np.ones(w.shape, np.float32) for w in layer.trainable_weights],
                    layer.trainable_weights)
    stepped = np.asarray(layer(x)).astype(np.float32)
    assert not np.array_equal(stepped, assigned)
    assert_exact(stepped, core_reference(layer, x).output.astype(BF16).astype(np.float32))


# -- the policy API ---------------------------------------------------------------------------------
def test_policy_attributes_and_global_policy():
    layer = keras.layers.Dense(3, dtype=MIXED)
    assert layer.dtype_policy == keras.DTypePolicy(MIXED)
    assert (layer.dtype, layer.variable_dtype, layer.compute_dtype) == \
        ("float32", "float32", "bfloat16")
    mixed_precision.set_global_policy(MIXED)
    assert mixed_precision.global_policy().name == MIXED
    lstm = keras.layers.LSTM(4)
    assert lstm.dtype_policy.name == MIXED and lstm.cell.compute_dtype == "bfloat16"
    # an explicit float32 layer under the mixed global policy stays float32
    assert keras.layers.Dense(2, dtype="float32").compute_dtype == "float32"
    mixed_precision.set_global_policy("float32")
    assert keras.layers.Dense(2).compute_dtype == "float32"


def test_get_config_serializes_the_policy_as_keras():
    layer = keras.layers.LSTM(4, dtype=MIXED)
    expected = {"module": "keras", "class_name": "DTypePolicy",
                "config": {"name": MIXED}, "registered_name": None}
    assert layer.get_config()["dtype"] == expected
    clone = keras.layers.LSTM.from_config(layer.get_config())
    assert clone.dtype_policy.name == MIXED and clone.cell.dtype_policy.name == MIXED
    assert keras.layers.Dense(2, dtype=dtype_policies.get(expected)).compute_dtype == "bfloat16"
    assert keras.layers.Dense(2, dtype=keras.DTypePolicy(MIXED)).compute_dtype == "bfloat16"
    assert keras.layers.Dense(2).get_config()["dtype"] == "float32"   # plain policies unchanged


@pytest.mark.parametrize("policy", ["float16", "bfloat16"])
def test_other_16_bit_policies_are_refused(policy):
    with pytest.raises(ValueError, match=policy):
        mixed_precision.set_global_policy(policy)
    with pytest.raises(ValueError, match=policy):
        keras.layers.Dense(2, dtype=policy)
    assert mixed_precision.global_policy().name == "float32"


def test_layer_without_mixed_support_refuses_by_name():
    with pytest.raises(ValueError, match="GroupNormalization.*mixed_bfloat16"):
        keras.layers.GroupNormalization(2, dtype=MIXED)
    mixed_precision.set_global_policy(MIXED)
    with pytest.raises(ValueError, match="GroupNormalization.*mixed_bfloat16"):
        keras.layers.GroupNormalization(2)
    keras.layers.GroupNormalization(2, dtype="float32")   # an explicit float32 layer is fine


def test_user_layer_computes_in_bfloat16_with_float32_weights():
    class Scale(keras.layers.Layer):
        def build(self, input_shape):
            self.w = self.add_weight(shape=(input_shape[-1],), initializer="ones", name="w")
            self.k = self.add_weight(shape=(input_shape[-1],), initializer="ones", name="k",
                                     autocast=False)

        def call(self, inputs):
            assert ops.dtype(ops.multiply(inputs, self.w)) == "bfloat16"
            assert ops.dtype(ops.add(self.k, 0.0)) == "float32"      # autocast=False
            return ops.multiply(inputs, self.w)

    layer = Scale(dtype=MIXED)
    x = np.full((2, 3), 1.5, np.float32)
    with keras.GradientTape() as tape:
        y = layer(x)
        loss = ops.sum(ops.cast(y, "float32"))
    assert ops.dtype(y) == "bfloat16" and layer.w.value.dtype == np.float32
    grad = tape.gradient(loss, layer.w)
    assert grad.dtype == np.float32
    np.testing.assert_array_equal(grad, [3.0, 3.0, 3.0])


def test_missing_ml_dtypes_is_a_clear_error():
    code = ("import sys; sys.modules['ml_dtypes'] = None\n"
            "import numpy as np, rnnkit as keras\n"
            "keras.layers.Dense(2)(np.ones((1, 2)))\n"
            "for make in (lambda: keras.layers.Dense(2, dtype='mixed_bfloat16'),\n"
            "             lambda: keras.mixed_precision.set_global_policy('mixed_bfloat16')):\n"
            "    try:\n"
            "        make()\n"
            "    except ValueError as e:\n"
            "        assert 'pip install ml_dtypes' in str(e), e\n"
            "    else:\n"
            "        raise SystemExit('no error')\n"
            "print('ok')\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120, env=dict(os.environ))
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"


# -- recurrent layers: the exact definition -----------------------------------------------------
@pytest.mark.parametrize("policy", [MIXED, F16])
@pytest.mark.parametrize("name,kwargs", RECURRENT)
@pytest.mark.parametrize("go_backwards", [False, True])
@pytest.mark.parametrize("masked", [False, True])
def test_recurrent_layer_is_the_float32_core_on_16_bit_values(name, kwargs, go_backwards,
                                                              masked, policy, rng):
    x = rng.uniform(-1, 1, (4, 6, 5)).astype(np.float32)
    mask = None
    if masked:
        mask = np.ones((4, 6), bool)
        mask[1, 4:] = False
        mask[2, :2] = False
        mask[3, 2] = False
    _, layer = pair(name, kwargs, x, policy, return_sequences=True, return_state=True,
                    go_backwards=go_backwards)
    dt = COMPUTE[policy]
    outputs = layer(x, mask=mask)
    assert all(o.dtype == dt for o in outputs)
    ref = core_reference(layer, x, mask=mask)
    np.testing.assert_array_equal(outputs[0], ref.output.astype(dt))
    for got, want in zip(outputs[1:], ref.states):
        np.testing.assert_array_equal(got, want.astype(dt))
    # the same numbers under a recording tape (the differentiable path)
    with keras.GradientTape():
        taped = layer(ops.convert_to_tensor(x), mask=mask)
    np.testing.assert_array_equal(ops.convert_to_numpy(taped[0]), outputs[0])


@pytest.mark.parametrize("name,kwargs", RECURRENT)
def test_initial_state_and_rnn_cell_wrapper(name, kwargs, rng):
    x = rng.uniform(-1, 1, (3, 5, 4)).astype(np.float32)
    _, layer = pair(name, kwargs, x)
    n_states = 2 if name == "LSTM" else 1
    states = [rng.uniform(-1, 1, (3, 8)).astype(np.float32) for _ in range(n_states)]
    got = layer(x, initial_state=states)
    np.testing.assert_array_equal(
        got, core_reference(layer, x, initial_state=states).output.astype(BF16))
    # RNN(cell) takes the same path
    cell = getattr(keras.layers, name + "Cell")(8, **kwargs, dtype=MIXED)
    wrapper = keras.layers.RNN(cell, dtype=MIXED)
    wrapper(x)
    wrapper.set_weights(layer.get_weights())
    np.testing.assert_array_equal(wrapper(x), layer(x))


def test_bidirectional_concatenates_both_exact_directions(rng):
    x = rng.uniform(-1, 1, (3, 5, 4)).astype(np.float32)
    layer = keras.layers.Bidirectional(keras.layers.LSTM(6, return_sequences=True, dtype=MIXED),
                                       dtype=MIXED)
    y = layer(x)
    assert y.dtype == BF16
    forward = core_reference(layer.forward_layer, x).output.astype(BF16)
    backward = core_reference(layer.backward_layer, x).output.astype(BF16)[:, ::-1]
    np.testing.assert_array_equal(y, np.concatenate([forward, backward], axis=-1))


@pytest.mark.parametrize("policy", [MIXED, F16])
@pytest.mark.parametrize("name,kwargs", RECURRENT)
def test_gradients_are_the_core_backward_on_the_rounded_values(name, kwargs, policy, rng):
    x = rng.uniform(-1, 1, (4, 6, 5)).astype(np.float32)
    _, layer = pair(name, kwargs, x, policy, return_sequences=True)
    dt = COMPUTE[policy]
    seed = rng.normal(size=(4, 6, 8)).astype(np.float32)
    xt = ops.convert_to_tensor(x)
    with keras.GradientTape() as tape:
        tape.watch(xt)
        y = layer(xt)
        loss = ops.sum(ops.multiply(ops.cast(y, "float32"), seed))
    grads = tape.gradient(loss, [xt] + layer.trainable_weights)
    assert all(g.dtype == np.float32 for g in grads)
    # the gradient reaching the bfloat16 output is the seed rounded to bfloat16 (the cast's
    # VJP); the core's backward runs in float32 on the rounded values; d_x goes back through
    # the input's cast to bfloat16
    ref = core_reference(layer, x, training=True)
    cell = layer.cell
    bias = cell.fused_bias()
    g = core.rnn_backward(
        cell.core_name, rounded(x, dt), rounded(cell.kernel.numpy(), dt),
        rounded(cell.recurrent_kernel.numpy(), dt),
        None if bias is None else rounded(bias, dt), reserve=ref.reserve,
        d_output=rounded(seed, dt), reset_after=getattr(cell, "reset_after", True),
        return_sequences=True, bfloat16_matmuls=dt == BF16)
    np.testing.assert_array_equal(grads[0], rounded(g.d_x, dt))
    np.testing.assert_array_equal(grads[1], g.d_kernel)
    np.testing.assert_array_equal(grads[2], g.d_recurrent_kernel)
    d_bias = g.d_bias
    if d_bias is not None:
        np.testing.assert_array_equal(grads[3], d_bias.reshape(grads[3].shape))


# -- against float32: the documented tolerances ----------------------------------------------------
# Recurrent outputs (|y| <= 1): max |mixed - float32| <= 8u and mean <= 2u (docs/mixed_precision.md
# derives them for these shapes: T = 12, H = 8, inputs in [-1, 1], Keras' initializers).
@pytest.mark.parametrize("policy", [MIXED, F16])
@pytest.mark.parametrize("name,kwargs", RECURRENT)
def test_outputs_within_tolerance_of_float32(name, kwargs, policy, rng):
    x = rng.uniform(-1, 1, (8, 12, 5)).astype(np.float32)
    ref, mixed = pair(name, kwargs, x, policy, return_sequences=True)
    u = UNIT[policy]
    err = np.abs(ref(x) - mixed(x).astype(np.float32))
    assert err.max() <= 8 * u, err.max()
    assert err.mean() <= 2 * u, err.mean()
    assert err.max() > 0        # it did compute in 16 bits


@pytest.mark.parametrize("policy", [MIXED, F16])
@pytest.mark.parametrize("name,kwargs", RECURRENT)
def test_weight_gradients_within_tolerance_of_float32(name, kwargs, policy, rng):
    x = rng.uniform(-1, 1, (8, 12, 5)).astype(np.float32)
    ref, mixed = pair(name, kwargs, x, policy)
    seed = rng.normal(size=(8, 8)).astype(np.float32)

    def grads(layer):
        with keras.GradientTape() as tape:
            loss = ops.sum(ops.multiply(ops.cast(layer(x), "float32"), seed))
        return tape.gradient(loss, layer.trainable_weights)

    for a, b in zip(grads(ref), grads(mixed)):
        assert b.dtype == np.float32
        rel = np.linalg.norm(a - b) / np.linalg.norm(a)
        assert rel <= 16 * UNIT[policy], rel


def guide_model(dtype=None, last_dtype=None):
    """The Keras RNN guide's MNIST model: LSTM -> BatchNormalization -> Dense."""
    return keras.Sequential([
        keras.Input((None, 28)),
        keras.layers.LSTM(32, dtype=dtype),
        keras.layers.BatchNormalization(dtype=dtype),
        keras.layers.Dense(10, dtype=last_dtype or dtype),
    ])


def test_guide_model_predict_within_tolerance_and_dtypes(rng):
    x = rng.uniform(0, 1, (16, 28, 28)).astype(np.float32)
    ref = guide_model()
    mixed_precision.set_global_policy(MIXED)
    mixed = guide_model()
    mixed.set_weights(ref.get_weights())
    got = mixed.predict(x, verbose=0)
    assert got.dtype == BF16
    want = ref.predict(x, verbose=0)
    # Dense over 32 bfloat16 inputs: |error| <= (2u per product + LSTM error) * sum|x w| + u|y|
    scale = np.abs(want).max()
    assert np.abs(got.astype(np.float32) - want).max() <= 16 * U * scale
    # a float32 last layer gives float32 predictions (Keras' advice for the output layer)
    mixed_precision.set_global_policy(None)
    last32 = guide_model(MIXED, last_dtype="float32")
    last32.set_weights(ref.get_weights())
    assert last32.predict(x, verbose=0).dtype == np.float32


def test_batch_normalization_moments_in_float32(rng):
    x = (rng.normal(size=(64, 6)) * 3 + 100).astype(np.float32)
    layer = keras.layers.BatchNormalization(dtype=MIXED)
    y = layer(x, training=True)
    assert y.dtype == BF16 and layer.moving_mean.value.dtype == np.float32
    xb = rounded(x)
    mean, var = xb.mean(0), xb.var(0)
    np.testing.assert_allclose(layer.moving_mean.numpy(), 0.01 * mean, rtol=1e-6)
    # normalized in float32, rounded once: within u of the float32 result (|y| ~ 1)
    want = (xb - mean) / np.sqrt(var + 1e-3)
    assert np.abs(y.astype(np.float32) - want).max() <= 4 * U
    ln = keras.layers.LayerNormalization(dtype=MIXED)
    z = ln(x)
    assert z.dtype == BF16 and ln.gamma.value.dtype == np.float32
    wantz = (xb - xb.mean(-1, keepdims=True)) / np.sqrt(xb.var(-1, keepdims=True) + 1e-3)
    assert np.abs(z.astype(np.float32) - wantz).max() <= 4 * U


@pytest.mark.parametrize("make", [
    lambda: keras.layers.Dense(3, dtype=MIXED),
    lambda: keras.layers.Dropout(0.5, dtype=MIXED),
    lambda: keras.layers.Activation("tanh", dtype=MIXED),
    lambda: keras.layers.Masking(dtype=MIXED),
    lambda: keras.layers.Flatten(dtype=MIXED),
])
def test_simple_layers_return_the_compute_dtype(make, rng):
    x = rng.uniform(-1, 1, (4, 5)).astype(np.float32)
    assert make()(x, training=True).dtype == BF16


def test_dense_and_embedding_values(rng):
    x = rng.uniform(-1, 1, (4, 5)).astype(np.float32)
    dense = keras.layers.Dense(3, dtype=MIXED)
    y = dense(x)
    want = (rounded(x) @ rounded(dense.kernel.numpy())).astype(BF16).astype(np.float32)
    want = (want.astype(BF16) + dense.bias.numpy().astype(BF16)).astype(np.float32)
    np.testing.assert_array_equal(y.astype(np.float32), want)
    emb = keras.layers.Embedding(6, 3, dtype=MIXED)
    ids = np.array([[1, 5, 0]])
    out = emb(ids)
    assert out.dtype == BF16 and emb.embeddings.value.dtype == np.float32
    np.testing.assert_array_equal(out, emb.embeddings.numpy()[ids].astype(BF16))


# -- training and saving ----------------------------------------------------------------------------
def test_fit_decreases_the_loss_and_keeps_float32_weights(rng):
    mixed_precision.set_global_policy(MIXED)
    model = guide_model()
    x = rng.uniform(0, 1, (64, 28, 28)).astype(np.float32)
    y = rng.integers(0, 10, 64)
    model.compile(optimizer=keras.optimizers.Adam(1e-2),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    first = model.evaluate(x, y, verbose=0)
    history = model.fit(x, y, batch_size=16, epochs=4, verbose=0, shuffle=False)
    assert all(np.isfinite(history.history["loss"]))
    assert model.evaluate(x, y, verbose=0) < first
    assert all(w.value.dtype == np.float32 for w in model.weights)
    slots = [v for v in model.optimizer.variables if v.value.dtype.kind != "i"]  # not iteration
    assert len(slots) == 1 + 2 * len(model.trainable_weights)
    assert all(v.value.dtype == np.float32 for v in slots)


def test_saving_round_trip(tmp_path, rng):
    x = rng.uniform(0, 1, (4, 7, 28)).astype(np.float32)
    model = guide_model(MIXED)
    want = model.predict(x, verbose=0)
    model.save(tmp_path / "m.keras")
    loaded = keras.saving.load_model(tmp_path / "m.keras")
    assert [layer.dtype_policy.name for layer in loaded.layers] == [MIXED] * 3
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), want)
    model.save_weights(tmp_path / "w.weights.h5")
    import h5py
    with h5py.File(tmp_path / "w.weights.h5") as f:
        dtypes = []
        f.visititems(lambda n, o: dtypes.append(o.dtype) if hasattr(o, "dtype") else None)
    assert dtypes and all(d == np.float32 for d in dtypes)
    other = guide_model(MIXED)
    other.load_weights(tmp_path / "w.weights.h5")
    np.testing.assert_array_equal(other.predict(x, verbose=0), want)


@pytest.mark.parametrize("make", [
    lambda **k: keras.layers.MaxPooling1D(**k), lambda **k: keras.layers.AveragePooling1D(**k),
    lambda **k: keras.layers.GlobalAveragePooling1D(**k),
    lambda **k: keras.layers.GlobalMaxPooling1D(**k),
])
def test_pooling_in_bfloat16(make, rng):
    x = rng.uniform(-1, 1, (3, 6, 4)).astype(np.float32)
    y = make(dtype=MIXED)(x)
    assert y.dtype == BF16
    want = make()(rounded(x))
    # bfloat16 arithmetic on bfloat16 values: a few roundings of values <= 1
    assert np.abs(y.astype(np.float32) - want).max() <= 4 * U


@pytest.mark.parametrize("name", ["Add", "Subtract", "Multiply", "Average", "Maximum",
                                  "Minimum", "Concatenate"])
def test_merging_in_bfloat16(name, rng):
    a, b = (rng.uniform(-1, 1, (3, 6, 4)).astype(np.float32) for _ in range(2))
    y = getattr(keras.layers, name)(dtype=MIXED)([a, b])
    assert y.dtype == BF16
    want = getattr(keras.layers, name)()([rounded(a), rounded(b)])
    np.testing.assert_array_equal(y, want.astype(BF16))    # one rounding of the float32 result


def test_conv1d_in_bfloat16(rng):
    x = rng.uniform(-1, 1, (3, 6, 4)).astype(np.float32)
    layer = keras.layers.Conv1D(5, 3, dtype=MIXED)
    y = layer(x)
    assert y.dtype == BF16 and layer.kernel.value.dtype == np.float32
    ref = keras.layers.Conv1D(5, 3)
    ref(x)
    ref.set_weights([rounded(w) for w in layer.get_weights()])
    want = ref(rounded(x))
    # float32 accumulation, then two roundings (the product, the bias add)
    assert np.abs(y.astype(np.float32) - want).max() <= 2 * U * np.abs(want).max() * 1.01
    with keras.GradientTape() as tape:
        loss = ops.sum(ops.cast(layer(x), "float32"))
    assert all(g.dtype == np.float32 for g in tape.gradient(loss, layer.trainable_weights))


def test_symbolic_outputs_carry_the_compute_dtype():
    mixed_precision.set_global_policy(MIXED)
    inputs = keras.Input((5, 4))
    hidden = keras.layers.LSTM(3, return_sequences=True)(inputs)
    assert hidden.dtype == "bfloat16"
    assert keras.layers.Dense(2, dtype="float32")(hidden).dtype == "float32"


def test_stateful_layer_continues_from_its_rounded_states(rng):
    x = rng.uniform(-1, 1, (2, 5, 4)).astype(np.float32)
    layer = keras.layers.LSTM(3, stateful=True, return_state=True, dtype=MIXED)
    _, h, c = layer(x)
    assert all(v.value.dtype == np.float32 for v in layer.states)
    np.testing.assert_array_equal(layer.states[0].numpy(), h.astype(np.float32))
    second = layer(x)[0]
    want = core_reference(layer, x, initial_state=[h.astype(np.float32), c.astype(np.float32)])
    np.testing.assert_array_equal(second, want.output.astype(BF16))
    # one step at a time (the float32 stream is skipped): the same definition
    step = keras.layers.LSTM(3, stateful=True, dtype=MIXED)
    step(x[:, :1])
    step.set_weights(layer.get_weights())
    step.reset_state()
    out = step(x[:, :1])
    np.testing.assert_array_equal(out, core_reference(step, x[:, :1]).output.astype(BF16))


def test_recurrent_dropout_in_training(rng):
    x = rng.uniform(-1, 1, (4, 5, 3)).astype(np.float32)
    layer = keras.layers.GRU(6, dropout=0.3, recurrent_dropout=0.3, dtype=MIXED, seed=1)
    with keras.GradientTape() as tape:
        y = layer(x, training=True)
        loss = ops.sum(ops.cast(y, "float32"))
    grads = tape.gradient(loss, layer.trainable_weights)
    assert y.dtype == BF16 and all(g.dtype == np.float32 for g in grads)
    assert all(np.isfinite(g).all() for g in grads)
    assert not np.array_equal(y, layer(x, training=False))


# -- against Keras (fixtures from tools/make_mixed_precision_fixtures.py, Keras 3 on JAX) ------------
FIXTURES = os.path.join(os.path.dirname(__file__), "..", "fixtures", "mixed_precision")


def _keras_cases():
    import json
    with open(os.path.join(FIXTURES, "cases.json")) as f:
        return json.load(f)["cases"]


@pytest.mark.parametrize("name", sorted(_keras_cases()))
def test_against_keras_mixed_bfloat16(name):
    layers = _keras_cases()[name]
    data = np.load(os.path.join(FIXTURES, "cases.npz"))
    # Keras' configs (the policy serialized as Keras writes it) load as they are
    model = keras.Sequential([getattr(keras.layers, layer["class_name"]).from_config(
        layer["config"]) for layer in layers])
    x = data[f"{name}/x"]
    model(x)
    model.set_weights([data[f"{name}/w{i}"] for i in range(len(model.weights))])
    assert all(layer.dtype_policy.name == MIXED for layer in model.layers)
    got = model.predict(x, verbose=0)
    assert got.dtype == BF16
    got = got.astype(np.float32)
    keras_mixed, keras_float32 = data[f"{name}/y_mixed"], data[f"{name}/y_float32"]
    # Keras rounds the state and the gates to bfloat16 at every step, rnnkit keeps them float32:
    # both are within a few u of float32 here (docs/mixed_precision.md), so within 8u of each
    # other (measured <= 4u), relative to the outputs' magnitude
    scale = max(1.0, np.abs(keras_float32).max())
    assert np.abs(got - keras_mixed).max() <= 8 * U * scale
    # and rnnkit's float32 state is on average closer to float32 than Keras' bfloat16 one
    assert np.abs(got - keras_float32).mean() <= np.abs(keras_mixed - keras_float32).mean()


def test_gpu_arrays_are_refused_by_mixed_recurrent_layers():
    class FakeGpuArray:          # what rnnkit.cuda.arrays.is_device_array recognises
        shape, dtype = (2, 3, 4), np.dtype("float32")

        def __dlpack_device__(self):
            return (2, 0)        # kDLCUDA, device 0

    layer = keras.layers.LSTM(3, dtype=MIXED)
    with pytest.raises(ValueError, match="mixed_bfloat16.*CPU only"):
        layer(FakeGpuArray())


# -- mixed_float16 ----------------------------------------------------------------------------------
def test_mixed_float16_policy_and_loss_scaling(rng):
    layer = keras.layers.Dense(3, dtype=F16)
    assert (layer.dtype, layer.compute_dtype) == ("float32", "float16")
    assert layer(np.ones((2, 4), np.float32)).dtype == np.float16
    assert layer.get_config()["dtype"]["config"] == {"name": F16}
    mixed_precision.set_global_policy(F16)
    model = guide_model()
    x = rng.uniform(0, 1, (64, 28, 28)).astype(np.float32)
    y = rng.integers(0, 10, 64)
    model.compile(optimizer="adam",
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    # as Keras: compile wraps the optimizer to scale the loss
    assert isinstance(model.optimizer, keras.optimizers.LossScaleOptimizer)
    first = model.evaluate(x, y, verbose=0)
    model.fit(x, y, batch_size=16, epochs=4, verbose=0, shuffle=False)
    assert model.evaluate(x, y, verbose=0) < first
    assert all(w.value.dtype == np.float32 for w in model.weights)
    assert model.predict(x[:2], verbose=0).dtype == np.float16
    # auto_scale_loss=False leaves the optimizer as given
    model.compile(optimizer="sgd", loss="mse", auto_scale_loss=False)
    assert isinstance(model.optimizer, keras.optimizers.SGD)


def test_losses_score_float16_predictions_in_float32():
    y_pred = np.array([[0.1, 0.9], [0.8, 0.2]], np.float16)
    loss = keras.losses.MeanSquaredError()(np.array([[0.0, 1.0], [1.0, 0.0]]), y_pred)
    assert np.asarray(loss).dtype == np.float32
    want = np.mean((y_pred.astype(np.float32) - [[0, 1], [1, 0]]) ** 2)
    np.testing.assert_allclose(loss, want, rtol=1e-6)


def test_wrappers_follow_keras_dtypes(rng):
    x = rng.uniform(-1, 1, (2, 5, 4)).astype(np.float32)
    # around a mixed layer, a wrapper takes the global policy and casts its outputs to it
    bidi = keras.layers.Bidirectional(keras.layers.LSTM(3, dtype=MIXED, return_state=True))
    assert bidi.dtype_policy.name == "float32"
    out = bidi(x)
    assert [o.dtype for o in out] == [np.float32] + [BF16] * 4     # states stay bfloat16
    inner = core_reference(bidi.forward_layer, x).output.astype(BF16)
    np.testing.assert_array_equal(out[0][:, :3], inner.astype(np.float32))
    wrapped = keras.layers.TimeDistributed(keras.layers.Dense(3, dtype=MIXED))
    assert wrapped(x).dtype == np.float32
    # a float64 layer still gives a float64 wrapper (rnnkit's default: the layer's dtype)
    assert keras.layers.Bidirectional(keras.layers.GRU(3, dtype="float64"))(x).dtype == \
        np.float64
    mixed_precision.set_global_policy(MIXED)
    assert keras.layers.Bidirectional(keras.layers.LSTM(3))(x).dtype == BF16
    assert keras.layers.TimeDistributed(keras.layers.Dense(3))(x).dtype == BF16
