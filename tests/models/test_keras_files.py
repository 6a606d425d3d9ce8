"""Files written by Keras itself load in rnnkit and reproduce Keras' predictions.

The files under tests/data/keras_files/ were written by tools/make_keras_file_fixtures.py:
k3_* by Keras 3.15.1 (JAX), tf2_* by tf.keras 2.15 (TensorFlow 2.15.1, CPU). Each fixture's
.npz holds Keras' input `x` and predictions `y`, the optimizer's variables as saved (`opt_<i>`), and the weights after
one more training step on `train_x`/`train_y` (`after_<i>`).
"""

import io
import os
import warnings

import h5py
import numpy as np
import pytest

import rnnkit as keras
from rnnkit import saving
import paths

DATA = str(paths.DATA / "keras_files")
K3 = ["lstm_bn", "embed_gru", "bidir", "stacked", "stateful", "custom_cell"]
TF2 = ["lstm_bn", "embed_gru", "bidir", "stacked", "stateful"]
TOL = 1e-5


@keras.saving.register_keras_serializable(package="RnnkitFixtures")
class MinimalRNNCell(keras.layers.Layer):
    """The custom cell of tools/make_keras_file_fixtures.py, for rnnkit."""

    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.state_size = units

    def build(self, input_shape):
        self.kernel = self.add_weight(shape=(input_shape[-1], self.units),
                                      initializer="glorot_uniform", name="kernel")
        self.recurrent_kernel = self.add_weight(shape=(self.units, self.units),
                                                initializer="orthogonal",
                                                name="recurrent_kernel")

    def call(self, inputs, states):
        out = keras.ops.tanh(keras.ops.matmul(inputs, self.kernel)
                             + keras.ops.matmul(states[0], self.recurrent_kernel))
        return out, [out]

    def get_config(self):
        return {**super().get_config(), "units": self.units}


def path(name):
    return os.path.join(DATA, name)


def reference(prefix, name):
    ref = np.load(path(f"{prefix}_{name}.npz"))
    opts = [ref[f"opt_{i}"] for i in range(sum(k.startswith("opt_") for k in ref.files))]
    after = [ref[f"after_{i}"] for i in range(sum(k.startswith("after_") for k in ref.files))]
    return ref, opts, after


def predict(model, x):
    if hasattr(model, "reset_states"):
        model.reset_states()
    return model.predict(x, batch_size=4, verbose=0)


def assert_predictions(model, ref):
    y = predict(model, ref["x"])
    assert y.shape == ref["y"].shape
    assert np.all(np.isfinite(y))
    diff = float(np.max(np.abs(y - ref["y"])))
    assert diff <= TOL, diff


def fresh_twin(prefix, name):
    """A model with the fixture's architecture and other weights (from the file's config)."""
    model = saving.load_model(path(f"{prefix}_{name}" + (".keras" if prefix == "k3" else ".h5")),
                              compile=False)
    for w in model.weights:
        w.assign(np.full(w.shape, 0.25, dtype=w.dtype))
    return model


@pytest.mark.parametrize("name", K3)
@pytest.mark.parametrize("ext", [".keras", ".h5"])
def test_keras3_load_model(name, ext):
    ref, opts, _ = reference("k3", name)
    model = saving.load_model(path(f"k3_{name}{ext}"))
    assert_predictions(model, ref)
    assert model.compiled
    values = [np.asarray(v.numpy()) for v in model.optimizer.variables]
    assert len(values) == len(opts)
    for got, want in zip(values, opts):
        assert got.shape == want.shape
        np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("name", K3)
@pytest.mark.parametrize("ext", [".weights.h5", ".h5", ".keras"])
def test_keras3_load_weights(name, ext):
    ref, _, _ = reference("k3", name)
    model = fresh_twin("k3", name)
    assert np.max(np.abs(predict(model, ref["x"]) - ref["y"])) > 1e-3
    model.load_weights(path(f"k3_{name}{ext}"))
    assert_predictions(model, ref)


@pytest.mark.parametrize("name", TF2)
@pytest.mark.parametrize("ext", [".h5", ".keras"])
def test_tf2_load_model(name, ext):
    ref, opts, _ = reference("tf2", name)
    with warnings.catch_warnings():
        warnings.simplefilter("error")   # the optimizer's variables must match
        model = saving.load_model(path(f"tf2_{name}{ext}"))
    assert_predictions(model, ref)
    values = [np.asarray(v.numpy()) for v in model.optimizer.variables]
    # tf.keras 2.x stores no learning-rate variable: everything else equals Keras'.
    assert model.optimizer.variables[1].path.endswith("learning_rate")
    compared = [values[0]] + values[2:]
    if name == "stateful":
        # tf.keras 2.x SGD(momentum=0) keeps momentum slots that its update never reads
        # (m = 0 * m - lr * g); rnnkit and Keras 3 have none.
        assert len(opts) == 1 + len(model.trainable_variables)
        opts = opts[:1]
    assert len(compared) == len(opts)
    assert int(values[0]) == 2   # two training steps
    for got, want in zip(compared, opts):
        np.testing.assert_array_equal(got.reshape(want.shape), want)


@pytest.mark.parametrize("name", TF2)
@pytest.mark.parametrize("ext", [".h5", ".wonly.h5", ".keras"])
def test_tf2_load_weights(name, ext):
    ref, _, _ = reference("tf2", name)
    model = fresh_twin("tf2", name)
    model.load_weights(path(f"tf2_{name}{ext}"))
    assert_predictions(model, ref)


@pytest.mark.parametrize("name", ["lstm_bn", "embed_gru", "bidir", "stacked", "custom_cell"])
def test_keras3_training_resumes_exactly(name):
    """The next training step after load_model gives Keras' weights (optimizer state)."""
    ref, _, after = reference("k3", name)
    model = saving.load_model(path(f"k3_{name}.keras"))
    model.train_on_batch(ref["train_x"], ref["train_y"])
    got = model.get_weights()
    assert len(got) == len(after)
    worst = max(float(np.max(np.abs(g - a))) for g, a in zip(got, after))
    assert worst <= 1e-5, worst
    # Without the optimizer's state, the step lands elsewhere.
    cold = saving.load_model(path(f"k3_{name}.keras"))
    cold.optimizer = type(cold.optimizer).from_config(cold.optimizer.get_config())
    cold.train_on_batch(ref["train_x"], ref["train_y"])
    assert max(float(np.max(np.abs(g - a)))
               for g, a in zip(cold.get_weights(), after)) > 1e-4 or name == "stateful"


@pytest.mark.parametrize("name", ["lstm_bn", "embed_gru", "bidir", "stacked"])
@pytest.mark.parametrize("ext", [".h5", ".keras"])
def test_tf2_training_resumes(name, ext):
    """tf.keras 2.x's optimizer state carries over: the next step gives tf.keras' weights."""
    ref, _, after = reference("tf2", name)
    model = saving.load_model(path(f"tf2_{name}{ext}"))
    model.train_on_batch(ref["train_x"], ref["train_y"])
    worst = max(float(np.max(np.abs(g - a))) for g, a in zip(model.get_weights(), after))
    assert worst <= 1e-5, worst


def test_tf2_configs_are_translated():
    """The tf.keras 2.x spellings Keras 3 itself rejects are in the file, and load."""
    with h5py.File(path("tf2_embed_gru.h5")) as f:
        text = f.attrs["model_config"]
        text = text.decode() if isinstance(text, bytes) else text
    for spelling in ('"time_major": false', '"implementation": 2', '"input_length"',
                     '"batch_input_shape"'):
        assert spelling in text
    model = saving.load_model(path("tf2_embed_gru.h5"))
    assert [type(layer).__name__ for layer in model.layers] == \
        ["Embedding", "GRU", "SimpleRNN", "Dense"]
    assert model.layers[0].mask_zero


def test_tf2_time_major_true_is_refused(tmp_path):
    src = path("tf2_lstm_bn.h5")
    dst = tmp_path / "time_major.h5"
    with open(src, "rb") as a, open(dst, "wb") as b:
        b.write(a.read())
    with h5py.File(dst, "r+") as f:
        text = f.attrs["model_config"]
        text = text.decode() if isinstance(text, bytes) else text
        assert '"time_major": false' in text
        f.attrs["model_config"] = text.replace('"time_major": false', '"time_major": true')
    with pytest.raises(ValueError, match="time_major"):
        saving.load_model(dst)


def copy_to(tmp_path, name):
    dst = tmp_path / name
    with open(path(name), "rb") as a, open(dst, "wb") as b:
        b.write(a.read())
    return dst


def test_legacy_chunked_and_fixed_length_name_lists(tmp_path):
    """Keras splits long name lists into `layer_names0`, `layer_names1`, ...; old files store
    fixed-length byte strings. Both read."""
    ref, _, _ = reference("tf2", "bidir")
    dst = copy_to(tmp_path, "tf2_bidir.wonly.h5")
    with h5py.File(dst, "r+") as f:
        names = [n.decode() if isinstance(n, bytes) else n for n in f.attrs["layer_names"]]
        del f.attrs["layer_names"]
        f.attrs["layer_names0"] = np.array([n.encode() for n in names[:2]], dtype="S")
        f.attrs["layer_names1"] = np.array([n.encode() for n in names[2:]], dtype="S")
        group = f[names[1]]
        weight_names = list(group.attrs["weight_names"])
        del group.attrs["weight_names"]
        group.attrs["weight_names0"] = np.array(weight_names[:3], dtype="S")
        group.attrs["weight_names1"] = np.array(weight_names[3:], dtype="S")
    model = fresh_twin("tf2", "bidir")
    model.load_weights(dst)
    assert_predictions(model, ref)


def test_legacy_config_asking_for_more_than_the_file_is_refused(tmp_path):
    dst = copy_to(tmp_path, "tf2_lstm_bn.h5")
    with h5py.File(dst, "r+") as f:
        text = f.attrs["model_config"]
        text = text.decode() if isinstance(text, bytes) else text
        f.attrs["model_config"] = text.replace('"units": 4', '"units": 3000')
    with pytest.raises(ValueError, match="asks for at least"):
        saving.load_model(dst)


def test_legacy_shape_mismatch_names_both_shapes(tmp_path):
    dst = copy_to(tmp_path, "k3_stateful.h5")
    with h5py.File(dst, "r+") as f:
        group = f["model_weights"]
        dense = [k for k in group.keys() if k.startswith("dense")][0]
        name = group[dense].attrs["weight_names"][1]
        name = name.decode() if isinstance(name, bytes) else name
        del group[dense][name]
        group[dense][name] = np.zeros((7,), np.float32)
    model = fresh_twin("k3", "stateful")
    before = [w.numpy().copy() for w in model.weights]
    with pytest.raises(ValueError, match=r"expected shape \(2,\), found \(7,\)"):
        model.load_weights(dst)
    for w, b in zip(model.weights, before):
        np.testing.assert_array_equal(w.numpy(), b)


def config_differences(a, b, where=""):
    """Paths where two config.json trees differ (Keras' shared_object_ids ignored)."""
    out = []
    if isinstance(a, dict) and isinstance(b, dict):
        for key in sorted(set(a) | set(b)):
            if key == "shared_object_id":
                continue
            if key not in a or key not in b:
                out.append(f"{where}/{key}")
            else:
                out.extend(config_differences(a[key], b[key], f"{where}/{key}"))
    elif isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b)):
            out.extend(config_differences(x, y, f"{where}[{i}]"))
    elif a != b:
        out.append(where)
    return out


@pytest.mark.parametrize("name", K3)
def test_saved_config_is_what_keras_writes(tmp_path, name):
    """A Keras model loaded and saved again by rnnkit has Keras' own config.json."""
    import json
    import zipfile
    model = saving.load_model(path(f"k3_{name}.keras"))
    model.save(tmp_path / "again.keras")
    with zipfile.ZipFile(tmp_path / "again.keras") as z, \
            zipfile.ZipFile(path(f"k3_{name}.keras")) as k:
        ours, theirs = json.loads(z.read("config.json")), json.loads(k.read("config.json"))
        with h5py.File(io.BytesIO(z.read("model.weights.h5"))) as f1, \
                h5py.File(io.BytesIO(k.read("model.weights.h5"))) as f2:
            def tree(f):
                out = []
                f.visititems(lambda n, item: out.append(
                    (n, getattr(item, "shape", None), str(getattr(item, "dtype", "")))))
                return out
            assert tree(f1) == tree(f2)
    differences = config_differences(ours, theirs)
    if name == "embed_gru":
        # rnnkit's SparseCategoricalCrossentropy also writes its `axis` (Keras accepts it).
        differences.remove("/compile_config/loss/config/axis")
    if name == "custom_cell":
        # Keras writes `module: null` for a class defined in __main__; here it is a module.
        differences.remove("/config/layers[1]/config/cell/module")
    assert differences == []


@pytest.mark.parametrize("name", ["lstm_bn", "embed_gru", "bidir", "stacked", "stateful"])
def test_saved_legacy_h5_is_what_keras_writes(tmp_path, name):
    """The same for the legacy .h5 format: attributes, configs and tree equal Keras'."""
    import json
    model = saving.load_model(path(f"k3_{name}.keras"))
    model.save(tmp_path / "again.h5")
    with h5py.File(tmp_path / "again.h5") as ours, h5py.File(path(f"k3_{name}.h5")) as theirs:
        def tree(f):
            out = []
            f.visititems(lambda n, item: out.append(
                (n, getattr(item, "shape", None), str(getattr(item, "dtype", "")),
                 sorted(item.attrs))))
            return out
        assert tree(ours) == tree(theirs)
        for key in ("backend", "keras_version"):
            assert ours.attrs[key] == theirs.attrs[key]
        diffs = config_differences(json.loads(ours.attrs["model_config"]),
                                   json.loads(theirs.attrs["model_config"]))
        assert diffs == []
        training = config_differences(json.loads(ours.attrs["training_config"]),
                                      json.loads(theirs.attrs["training_config"]))
        assert training == ([] if name != "embed_gru" else ["/loss/config/axis"])
        for group in ("model_weights", "optimizer_weights"):
            assert list(ours[group].attrs.get("weight_names", [])) == \
                list(theirs[group].attrs.get("weight_names", []))
        assert list(ours["model_weights"].attrs["layer_names"]) == \
            list(theirs["model_weights"].attrs["layer_names"])
