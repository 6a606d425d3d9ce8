"""Makes tests/fixtures/layers_a/: outputs of Keras 3 layers (merging, reshaping, Conv1D and
pooling, normalization) on small random inputs, with the weights and configs used.

Run by hand with Keras installed (never in CI):

    KERAS_BACKEND=jax python tools/make_layers_a_fixtures.py

Writes one .npz per area (`merging.npz`, `shaping.npz`, `conv.npz`, `norm.npz`) holding, per
case `<name>`, the arrays `<name>/x<i>`, `<name>/w<i>`, `<name>/y` (and `<name>/mask` for an
output mask), plus `configs.json`: `{name: keras layer config}`. The tests rebuild each
layer from the Keras config with `from_config`, set the weights and compare.
"""

from __future__ import annotations

import json
import os

import numpy as np

os.environ.setdefault("KERAS_BACKEND", "jax")
os.environ.setdefault("JAX_ENABLE_X64", "1")   # float64 layers compute in float64
import keras  # noqa: E402
from keras import layers as L  # noqa: E402
from keras.src import backend  # noqa: E402

OUT = os.path.join(os.path.dirname(__file__), "..", "tests", "fixtures", "layers_a")
rng = np.random.default_rng(20261206)
CONFIGS = {}


def plain(obj):
    if isinstance(obj, dict):
        return {k: plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [plain(v) for v in obj]
    return obj


def case(store, name, layer, inputs, masks=None, training=False, weights=None):
    """Calls a Keras layer (eagerly, in float64) and stores inputs, weights, output, mask."""
    xs = inputs if isinstance(inputs, list) else [inputs]
    keras_inputs = []
    for i, x in enumerate(xs):
        t = keras.ops.convert_to_tensor(x)
        if masks is not None and masks[i] is not None:
            backend.set_keras_mask(t, keras.ops.convert_to_tensor(masks[i]))
        keras_inputs.append(t)
        store[f"{name}/x{i}"] = x
        if masks is not None and masks[i] is not None:
            store[f"{name}/m{i}"] = masks[i]
    arg = keras_inputs if isinstance(inputs, list) else keras_inputs[0]
    layer.build([tuple(x.shape) for x in xs] if isinstance(inputs, list) else xs[0].shape)
    if weights is not None:
        layer.set_weights(weights)
    else:
        layer.set_weights([rng.uniform(-1, 1, w.shape) for w in layer.get_weights()])
    for i, w in enumerate(layer.get_weights()):
        store[f"{name}/w{i}"] = np.asarray(w)
    y = layer(arg, training=training) if "training" in layer.call.__code__.co_varnames \
        else layer(arg)
    store[f"{name}/y"] = np.asarray(y)
    mask = backend.get_keras_mask(y)
    if mask is not None:
        store[f"{name}/mask"] = np.asarray(mask)
    CONFIGS[name] = {"class_name": type(layer).__name__, "config": plain(layer.get_config())}


def r(*shape):
    return rng.uniform(-2, 2, shape)


def merging():
    s = {}
    a, b, c = r(2, 4, 3), r(2, 4, 3), r(2, 4, 3)
    for cls in ("Add", "Multiply", "Average", "Maximum", "Minimum"):
        case(s, cls.lower(), getattr(L, cls)(dtype="float64"), [a, b, c])
    case(s, "subtract", L.Subtract(dtype="float64"), [a, b])
    case(s, "add_broadcast", L.Add(dtype="float64"), [r(2, 3), r(2, 4, 3)])
    case(s, "concat_1", L.Concatenate(axis=1, dtype="float64"), [a, r(2, 2, 3)])
    case(s, "concat_last", L.Concatenate(dtype="float64"), [a, r(2, 4, 5)])
    case(s, "dot_1", L.Dot(axes=1, dtype="float64"), [r(2, 5), r(2, 5)])
    case(s, "dot_12", L.Dot(axes=(1, 2), dtype="float64"), [r(2, 3, 5), r(2, 4, 3)])
    case(s, "dot_norm", L.Dot(axes=-1, normalize=True, dtype="float64"), [r(2, 3, 4), r(2, 5, 4)])
    m1 = np.array([[1, 1, 0, 0], [1, 0, 1, 0]], bool)
    m2 = np.array([[1, 0, 1, 0], [1, 1, 0, 0]], bool)
    for cls in ("Add", "Multiply", "Maximum", "Minimum", "Average"):
        case(s, f"masked_{cls.lower()}", getattr(L, cls)(dtype="float64"), [a, b], [m1, m2])
    case(s, "masked_maximum_one", L.Maximum(dtype="float64"), [a, b], [m1, None])
    case(s, "masked_multiply_one", L.Multiply(dtype="float64"), [a, b], [m1, None])
    case(s, "masked_concat_last", L.Concatenate(dtype="float64"), [a, b], [m1, None])
    case(s, "masked_concat_1", L.Concatenate(axis=1, dtype="float64"), [a, b], [m1, m2])
    return s


def shaping():
    s = {}
    x = r(2, 4, 3)
    case(s, "flatten", L.Flatten(dtype="float64"), x)
    case(s, "flatten_cf", L.Flatten(data_format="channels_first", dtype="float64"), x)
    case(s, "reshape", L.Reshape((2, -1), dtype="float64"), x)
    case(s, "permute", L.Permute((2, 1), dtype="float64"), x)
    case(s, "repeat", L.RepeatVector(3, dtype="float64"), r(2, 3))
    case(s, "crop", L.Cropping1D((1, 2), dtype="float64"), x)
    case(s, "zeropad", L.ZeroPadding1D((2, 1), dtype="float64"), x)
    case(s, "zeropad_cf", L.ZeroPadding1D(1, data_format="channels_first", dtype="float64"), x)
    case(s, "upsample", L.UpSampling1D(3, dtype="float64"), x)
    return s


def conv():
    s = {}
    x = r(2, 9, 4)
    case(s, "conv_valid", L.Conv1D(3, 3, dtype="float64"), x)
    case(s, "conv_same_s2", L.Conv1D(3, 4, strides=2, padding="same", dtype="float64"), x)
    case(s, "conv_same_even", L.Conv1D(2, 4, padding="same", activation="tanh",
                                       dtype="float64"), x)
    case(s, "conv_causal_d2", L.Conv1D(3, 3, padding="causal", dilation_rate=2,
                                       dtype="float64"), x)
    case(s, "conv_groups", L.Conv1D(6, 2, groups=2, use_bias=False, dtype="float64"), x)
    case(s, "conv_valid_s3", L.Conv1D(2, 2, strides=3, dtype="float64"), x)
    case(s, "conv_cf", L.Conv1D(3, 3, padding="same", data_format="channels_first",
                                dtype="float64"), r(2, 4, 7))
    case(s, "sepconv", L.SeparableConv1D(5, 3, depth_multiplier=2, padding="same",
                                         dtype="float64"), x)
    case(s, "sepconv_d2", L.SeparableConv1D(3, 2, dilation_rate=2, activation="relu",
                                            dtype="float64"), x)
    case(s, "maxpool", L.MaxPooling1D(2, dtype="float64"), x)
    case(s, "maxpool_same", L.MaxPooling1D(3, strides=2, padding="same", dtype="float64"), x)
    case(s, "avgpool", L.AveragePooling1D(3, strides=1, dtype="float64"), x)
    case(s, "avgpool_same", L.AveragePooling1D(4, strides=2, padding="same",
                                               dtype="float64"), x)
    case(s, "avgpool_cf", L.AveragePooling1D(2, data_format="channels_first", padding="same",
                                             dtype="float64"), r(2, 4, 7))
    case(s, "gap", L.GlobalAveragePooling1D(dtype="float64"), x)
    case(s, "gap_keep_cf", L.GlobalAveragePooling1D(keepdims=True,
                                                    data_format="channels_first",
                                                    dtype="float64"), x)
    mask = np.ones((2, 9), bool)
    mask[0, 5:] = False
    mask[1, :2] = False
    case(s, "gap_masked", L.GlobalAveragePooling1D(dtype="float64"), [x][0], None)
    s["gap_masked/m0"] = mask
    s["gap_masked/y"] = np.asarray(L.GlobalAveragePooling1D(dtype="float64")(x, mask=mask))
    case(s, "gmp", L.GlobalMaxPooling1D(dtype="float64"), x)
    case(s, "gmp_keep", L.GlobalMaxPooling1D(keepdims=True, dtype="float64"), x)
    case(s, "dwconv", L.DepthwiseConv1D(3, depth_multiplier=2, padding="same",
                                        dtype="float64"), x)
    case(s, "dwconv_cf_s2", L.DepthwiseConv1D(2, strides=2, data_format="channels_first",
                                              activation="tanh", dtype="float64"), r(2, 4, 7))
    return s


def norm():
    s = {}
    x = r(2, 5, 4)
    case(s, "ln", L.LayerNormalization(dtype="float64"), x)
    case(s, "ln_axes", L.LayerNormalization(axis=[1, 2], epsilon=1e-5, dtype="float64"), x)
    case(s, "ln_noscale", L.LayerNormalization(center=False, scale=False, dtype="float64"), x)
    case(s, "gn", L.GroupNormalization(groups=2, dtype="float64"), x)
    case(s, "gn_instance", L.GroupNormalization(groups=-1, epsilon=1e-4, dtype="float64"), x)
    case(s, "unit", L.UnitNormalization(dtype="float64"), x)
    case(s, "unit_axes", L.UnitNormalization(axis=[1, 2], dtype="float64"), x)
    case(s, "rms", L.RMSNormalization(dtype="float64"), x)
    case(s, "rms_axes", L.RMSNormalization(axis=[1, 2], epsilon=1e-3, dtype="float64"), x)
    return s


def main():
    os.makedirs(OUT, exist_ok=True)
    for area, fn in (("merging", merging), ("shaping", shaping), ("conv", conv),
                     ("norm", norm)):
        np.savez_compressed(os.path.join(OUT, f"{area}.npz"), **fn())
    lam = L.Lambda(lambda x, k=2.0: x * k, name="keras_lambda")
    CONFIGS["keras_lambda"] = {"class_name": "Lambda", "config": plain(lam.get_config())}
    with open(os.path.join(OUT, "configs.json"), "w") as f:
        json.dump(CONFIGS, f, indent=1, sort_keys=True)
    model_fixture()
    weights_file_fixture()
    for name in sorted(os.listdir(OUT)):
        print(name, os.path.getsize(os.path.join(OUT, name)), "bytes")



def model_fixture():
    """A Keras functional model mixing the layers (masks included): its config, weights, an
    input batch and Keras' predictions -> model.json / model.npz."""
    keras.utils.set_random_seed(1)
    seq = keras.Input((10, 3), name="seq")
    tokens = keras.Input((6,), dtype="int32", name="tokens")
    h = L.Conv1D(8, 3, padding="causal", activation="relu")(seq)
    h = L.SeparableConv1D(8, 3, padding="same", depth_multiplier=2)(h)
    h = L.MaxPooling1D(2)(h)
    h = L.LayerNormalization()(h)
    a = L.GlobalAveragePooling1D()(h)
    b = L.LSTM(5)(L.Permute((1, 2))(h))
    e1 = L.Embedding(12, 4, mask_zero=True)(tokens)
    e2 = L.Embedding(12, 4, mask_zero=True)(tokens)
    m = L.Multiply()([e1, e2])
    m = L.Maximum()([m, e1])
    t = L.GlobalAveragePooling1D()(L.GroupNormalization(2)(m))
    out = L.Dense(2)(L.Concatenate()([a, b, t, L.Flatten()(L.RepeatVector(2)(a))]))
    model = keras.Model([seq, tokens], out)
    rng_m = np.random.default_rng(3)
    x_seq = rng_m.normal(size=(4, 10, 3)).astype("float32")
    x_tok = np.array([[1, 2, 3, 0, 0, 0], [4, 5, 6, 7, 8, 9], [3, 0, 0, 0, 0, 0],
                      [11, 10, 2, 5, 0, 0]], dtype="int32")
    y = model.predict([x_seq, x_tok], verbose=0)
    arrays = {f"w{i}": w for i, w in enumerate(model.get_weights())}
    np.savez_compressed(os.path.join(OUT, "model.npz"), x_seq=x_seq, x_tok=x_tok, y=y, **arrays)
    with open(os.path.join(OUT, "model.json"), "w") as f:
        f.write(model.to_json())



def weights_file_fixture():
    """A Keras Sequential CNN+LSTM saved with `save_weights` (Keras 3's .weights.h5, whose
    containers are named after the layer classes: conv1d, max_pooling1d, ...), an input
    batch and Keras' predictions -> seq_conv.weights.h5 / seq_conv.npz."""
    keras.utils.set_random_seed(2)
    model = keras.Sequential([
        keras.Input((12, 2)),
        L.Conv1D(4, 3, padding="causal", activation="relu"),
        L.SeparableConv1D(4, 3, padding="same"),
        L.DepthwiseConv1D(2, padding="same"),
        L.MaxPooling1D(2),
        L.LayerNormalization(),
        L.GroupNormalization(2),
        L.RMSNormalization(),
        L.LSTM(3),
        L.Dense(1)])
    x = np.random.default_rng(5).normal(size=(3, 12, 2)).astype("float32")
    model.save_weights(os.path.join(OUT, "seq_conv.weights.h5"))
    np.savez_compressed(os.path.join(OUT, "seq_conv.npz"), x=x, y=model.predict(x, verbose=0))


if __name__ == "__main__":
    main()
