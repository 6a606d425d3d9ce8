"""rnnkit -> file -> rnnkit round trips, the layout of the files rnnkit writes, and damaged or
hostile files (each a clear error, the model unchanged)."""

import io
import json
import os
import resource
import time
import zipfile

import h5py
import numpy as np
import pytest

import rnnkit as keras
from rnnkit import layers, saving


def trained_models():
    rng = np.random.default_rng(3)
    out = []
    m = keras.Sequential([keras.Input((5, 3)), layers.LSTM(4, return_sequences=True),
                          layers.BatchNormalization(), layers.TimeDistributed(layers.Dense(2))])
    out.append((m, keras.optimizers.Adam(0.01), rng.normal(size=(4, 5, 3)),
                rng.normal(size=(4, 5, 2))))
    m = keras.Sequential([keras.Input((6,), dtype="int32"), layers.Embedding(9, 4, mask_zero=True),
                          layers.GRU(3), layers.Dense(2)])
    ids = rng.integers(0, 9, size=(4, 6))
    out.append((m, keras.optimizers.SGD(0.1, momentum=0.9), ids, rng.normal(size=(4, 2))))
    inp = keras.Input((5, 3), name="features")
    h = layers.Bidirectional(layers.SimpleRNN(3, return_sequences=True))(inp)
    h = layers.RNN([layers.LSTMCell(2), layers.GRUCell(2)])(h)
    m = keras.Model(inp, layers.Dense(1, name="head")(h))
    out.append((m, keras.optimizers.RMSprop(0.01, momentum=0.3, centered=True),
                rng.normal(size=(4, 5, 3)), rng.normal(size=(4, 1))))
    for model, optimizer, x, y in out:
        model.compile(optimizer=optimizer, loss="mse")
        x = x.astype("int32" if x.dtype.kind == "i" else "float32")
        y = y.astype("float32")
        model.train_on_batch(x, y)
        model.train_on_batch(x, y)
        yield model, x, y


def assert_bit_identical(a, b):
    assert len(a) == len(b)
    for u, v in zip(a, b):
        u, v = np.asarray(u), np.asarray(v)
        assert u.shape == v.shape and u.dtype == v.dtype
        assert np.array_equal(u, v)


@pytest.mark.parametrize("ext", [".keras", ".h5"])
def test_round_trip_is_bit_identical_and_training_resumes(tmp_path, ext):
    for model, x, y in trained_models():
        path = tmp_path / f"{model.name}{ext}"
        model.save(path)
        loaded = keras.models.load_model(path)
        assert type(loaded) is type(model)
        assert_bit_identical(loaded.get_weights(), model.get_weights())
        assert_bit_identical([v.numpy() for v in loaded.optimizer.variables][1:],
                             [v.numpy() for v in model.optimizer.variables][1:])
        assert int(loaded.optimizer.iterations.numpy()) == 2
        np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
        # The next step gives the same weights as without saving.
        model.train_on_batch(x[::-1], y[::-1])
        loaded.train_on_batch(x[::-1], y[::-1])
        assert_bit_identical(loaded.get_weights(), model.get_weights())


def test_weights_h5_round_trip_and_layout(tmp_path):
    model, x, _ = next(trained_models())
    path = tmp_path / "w.weights.h5"
    model.save_weights(path)
    with h5py.File(path) as f:
        assert f["layers/lstm/cell/vars"].attrs["name"] == model.layers[0].cell.name
        assert [f[f"layers/lstm/cell/vars/{i}"].shape for i in range(3)] == \
            [(3, 16), (4, 16), (16,)]
        assert sorted(f["layers/batch_normalization/vars"].keys()) == ["0", "1", "2", "3"]
        assert f["layers/time_distributed/layer/vars/0"].shape == (4, 2)
        assert f["optimizer/vars/0"].dtype == np.int32 and f["optimizer/vars/0"][()] == 2
        assert len(f["optimizer/vars"]) == 2 + 2 * len(model.trainable_variables)
        assert "vars" in f   # the model's own (empty) group
    twin = keras.Sequential([keras.Input((5, 3)), layers.LSTM(4, return_sequences=True),
                             layers.BatchNormalization(),
                             layers.TimeDistributed(layers.Dense(2))])
    twin.load_weights(path)
    assert_bit_identical(twin.get_weights(), model.get_weights())
    with pytest.raises(ValueError, match=r"must end in `\.weights\.h5`"):
        model.save_weights(tmp_path / "w.h5")


def test_keras_zip_layout(tmp_path):
    model, _, _ = next(trained_models())
    path = tmp_path / "m.keras"
    model.save(path)
    with zipfile.ZipFile(path) as z:
        infos = z.infolist()
        assert [i.filename for i in infos] == ["metadata.json", "config.json",
                                               "model.weights.h5"]
        assert all(i.compress_type == zipfile.ZIP_STORED for i in infos)
        meta = json.loads(z.read("metadata.json"))
        config = json.loads(z.read("config.json"))
    assert sorted(meta) == ["date_saved", "keras_version"]
    assert config["module"] == "keras" and config["class_name"] == "Sequential"
    lstm = config["config"]["layers"][1]
    assert lstm["module"] == "keras.layers" and lstm["class_name"] == "LSTM"
    assert lstm["config"]["dtype"] == {"module": "keras", "class_name": "DTypePolicy",
                                       "config": {"name": "float32"}, "registered_name": None}
    assert lstm["build_config"] == {"input_shape": [None, 5, 3]}
    assert config["compile_config"]["optimizer"]["module"] == "keras.optimizers"


def test_functional_config_uses_keras_nodes(tmp_path):
    models = list(trained_models())
    model = models[2][0]
    path = tmp_path / "f.keras"
    model.save(path)
    with zipfile.ZipFile(path) as z:
        config = json.loads(z.read("config.json"))
    assert config["module"] == "keras.src.models.functional"
    assert config["registered_name"] == "Functional"
    assert config["config"]["input_layers"] == ["features", 0, 0]
    bidir = config["config"]["layers"][1]
    arg = bidir["inbound_nodes"][0]["args"][0]
    assert arg["class_name"] == "__keras_tensor__"
    assert arg["config"]["keras_history"] == ["features", 0, 0]
    assert arg["config"]["shape"] == [None, 5, 3]


def test_old_rnnkit_zip_reads_with_deprecation_warning(tmp_path):
    model, x, _ = next(trained_models())
    config = saving.serialize(model)
    arrays = {f"{i:05d}": w.numpy() for i, w in enumerate(model.weights)}
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    path = tmp_path / "old.keras"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr("config.json", json.dumps(config))
        z.writestr("model.weights.npz", buffer.getvalue())
    with pytest.warns(DeprecationWarning, match="old rnnkit"):
        loaded = keras.models.load_model(path)
    assert_bit_identical(loaded.get_weights(), model.get_weights())


# -- damaged and hostile files ------------------------------------------------------------------

def small_model():
    model = keras.Sequential([keras.Input((4, 3)), layers.GRU(3), layers.Dense(2)])
    model.compile(optimizer="adam", loss="mse")
    return model


def snapshot(model):
    return [w.numpy().copy() for w in model.weights]


def test_truncated_files_are_refused(tmp_path):
    model = small_model()
    for ext in (".keras", ".weights.h5", ".h5"):
        path = tmp_path / f"m{ext}"
        (model.save_weights if ext == ".weights.h5" else model.save)(path)
        data = path.read_bytes()
        cut = tmp_path / f"cut{ext}"
        cut.write_bytes(data[: len(data) // 2])
        target = small_model()
        before = snapshot(target)
        with pytest.raises(ValueError) as err:
            if ext == ".weights.h5":
                target.load_weights(cut)
            else:
                keras.models.load_model(cut)
        assert "cut" in str(err.value)
        assert_bit_identical(snapshot(target), before)


def test_wrong_shape_names_path_and_leaves_model_unchanged(tmp_path):
    model = small_model()
    path = tmp_path / "w.weights.h5"
    model.save_weights(path)
    with h5py.File(path, "r+") as f:
        del f["layers/dense/vars/1"]
        f["layers/dense/vars/1"] = np.zeros((5,), np.float32)
    target = small_model()
    before = snapshot(target)
    with pytest.raises(ValueError, match=r"layers/dense/vars/1.*expected shape \(2,\), "
                                         r"found \(5,\)"):
        target.load_weights(path)
    assert_bit_identical(snapshot(target), before)
    # skip_mismatch loads the rest, with a warning.
    with pytest.warns(UserWarning, match="skipped"):
        target.load_weights(path, skip_mismatch=True)
    np.testing.assert_array_equal(target.layers[0].cell.kernel.numpy(),
                                  model.layers[0].cell.kernel.numpy())


def test_wrong_layer_count_is_refused(tmp_path):
    model = small_model()
    bigger = keras.Sequential([keras.Input((4, 3)), layers.GRU(3), layers.Dense(2),
                               layers.Dense(2)])
    for ext in (".weights.h5", ".h5"):
        path = tmp_path / f"w{ext}"
        (bigger.save_weights if ext == ".weights.h5" else bigger.save)(path)
        target = small_model()
        before = snapshot(target)
        with pytest.raises(ValueError, match="layer count mismatch|no layer for"):
            target.load_weights(path)
        assert_bit_identical(snapshot(target), before)
        path2 = tmp_path / f"small{ext}"
        (model.save_weights if ext == ".weights.h5" else model.save)(path2)
        before = snapshot(bigger)
        with pytest.raises(ValueError, match="layer count mismatch|no weights for"):
            bigger.load_weights(path2)
        assert_bit_identical(snapshot(bigger), before)


def rewrite_zip(src, dst, members):
    with zipfile.ZipFile(src) as z:
        contents = {n: z.read(n) for n in z.namelist()}
    contents.update(members)
    with zipfile.ZipFile(dst, "w") as z:
        for name, data in contents.items():
            if data is not None:
                z.writestr(name, data)


def test_hostile_member_names_are_refused(tmp_path):
    path = tmp_path / "m.keras"
    small_model().save(path)
    for name in ("../evil.txt", "/etc/evil", "assets/../../evil"):
        bad = tmp_path / "bad.keras"
        rewrite_zip(path, bad, {name: b"x"})
        with pytest.raises(ValueError, match="refusing the zip member"):
            keras.models.load_model(bad)
        assert not (tmp_path.parent / "evil.txt").exists()


def test_zip_bomb_is_refused_cheaply(tmp_path):
    path = tmp_path / "m.keras"
    small_model().save(path)
    bomb = tmp_path / "bomb.keras"
    with zipfile.ZipFile(path) as z:
        config = z.read("config.json")
    with zipfile.ZipFile(bomb, "w", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr("config.json", config)
        z.writestr("model.weights.h5", b"\0" * (256 << 20))   # 256 MiB of zeros, ~250 KiB
    assert os.path.getsize(bomb) < 1 << 20
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    with pytest.raises(ValueError, match="declares 268435456 bytes"):
        keras.models.load_model(bomb)
    assert time.perf_counter() - start < 2
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss < 64 << 10  # KiB


def test_config_asking_for_more_than_the_file_is_refused_before_building(tmp_path):
    path = tmp_path / "m.keras"
    small_model().save(path)
    with zipfile.ZipFile(path) as z:
        config = json.loads(z.read("config.json"))
    config["config"]["layers"][1]["config"]["units"] = 3000
    bad = tmp_path / "units.keras"
    rewrite_zip(path, bad, {"config.json": json.dumps(config).encode()})
    start = time.perf_counter()
    with pytest.raises(ValueError, match="asks for at least 270000\\d\\d weight values"):
        keras.models.load_model(bad)
    assert time.perf_counter() - start < 1


@pytest.mark.filterwarnings("ignore:Skipping variable loading")   # never trained: Keras warns
def test_units_mismatch_within_the_file_size_names_the_shape(tmp_path):
    path = tmp_path / "m.keras"
    small_model().save(path)
    with zipfile.ZipFile(path) as z:
        config = json.loads(z.read("config.json"))
    config["config"]["layers"][2]["config"]["units"] = 3
    bad = tmp_path / "dense.keras"
    rewrite_zip(path, bad, {"config.json": json.dumps(config).encode()})
    with pytest.raises(ValueError, match=r"layers/dense/vars/0.*expected shape \(3, 3\), "
                                         r"found \(3, 2\)"):
        keras.models.load_model(bad)


def test_unregistered_class_and_lambda_are_refused(tmp_path):
    path = tmp_path / "m.keras"
    small_model().save(path)
    with zipfile.ZipFile(path) as z:
        config = json.loads(z.read("config.json"))
    unknown = json.loads(json.dumps(config))
    unknown["config"]["layers"][2].update(module=None, class_name="Evil",
                                          registered_name="Hack>Evil")
    bad = tmp_path / "unknown.keras"
    rewrite_zip(path, bad, {"config.json": json.dumps(unknown).encode()})
    with pytest.raises(TypeError, match="Evil"):
        keras.models.load_model(bad)
    # A module the file names is never imported.
    imported = json.loads(json.dumps(config))
    imported["config"]["layers"][2].update(module="os", class_name="system",
                                           registered_name=None)
    bad = tmp_path / "os.keras"
    rewrite_zip(path, bad, {"config.json": json.dumps(imported).encode()})
    with pytest.raises(TypeError, match="system"):
        keras.models.load_model(bad)
    # A Keras Lambda layer: its Python code would have to run.
    lam = json.loads(json.dumps(config))
    lam["config"]["layers"][2] = {
        "module": "keras.layers", "class_name": "Lambda", "registered_name": None,
        "config": {"name": "lambda", "function": {"class_name": "__lambda__", "config": {
            "value": "AAAA"}}}}
    bad = tmp_path / "lambda.keras"
    rewrite_zip(path, bad, {"config.json": json.dumps(lam).encode()})
    with pytest.raises(ValueError, match="safe_mode=False"):
        keras.models.load_model(bad)


def test_serialized_lambda_needs_safe_mode_false():
    config = saving.serialize(lambda x: x)
    with pytest.raises(ValueError, match="safe_mode=False"):
        saving.deserialize(config)
    with saving.SafeModeScope(False):
        fn = saving.deserialize(config)
    assert fn(3) == 3
    with pytest.raises(TypeError, match="safe_mode"):
        keras.models.load_model("x.keras", safe_mode="no")


def test_custom_objects_and_scope(tmp_path):
    @saving.register_keras_serializable(package="SavingFilesTest")
    class Doubled(layers.Dense):
        pass

    model = keras.Sequential([keras.Input((3,)), Doubled(2)])
    path = tmp_path / "c.keras"
    model.save(path)
    with zipfile.ZipFile(path) as z:
        entry = json.loads(z.read("config.json"))["config"]["layers"][1]
    assert entry["registered_name"] == "SavingFilesTest>Doubled"
    name = "SavingFilesTest>Doubled"
    registered = saving.get_custom_objects().pop(name)
    try:
        with pytest.raises(TypeError, match="Doubled"):
            keras.models.load_model(path)
        loaded = keras.models.load_model(path, custom_objects={name: Doubled})
        assert type(loaded.layers[0]) is Doubled
        with saving.custom_object_scope({"Doubled": Doubled}):
            assert type(keras.models.load_model(path).layers[0]) is Doubled
    finally:
        saving.get_custom_objects()[name] = registered


def test_not_a_model_file(tmp_path):
    path = tmp_path / "x.keras"
    path.write_bytes(b"hello")
    with pytest.raises(ValueError, match="not supported"):
        keras.models.load_model(path)
    with pytest.raises(FileNotFoundError):
        keras.models.load_model(tmp_path / "missing.keras")
    weights_only = tmp_path / "w.weights.h5"
    small_model().save_weights(weights_only)
    with pytest.raises(ValueError, match="no model config|not a model"):
        keras.models.load_model(weights_only)


@pytest.mark.parametrize("name, weights_only", [("ck.weights.h5", True), ("ck.keras", False),
                                                ("ck.h5", False)])
def test_model_checkpoint_writes_keras_formats(tmp_path, name, weights_only):
    from rnnkit.callbacks import ModelCheckpoint
    rng = np.random.default_rng(0)
    model = small_model()
    x = rng.normal(size=(8, 4, 3)).astype("float32")
    y = rng.normal(size=(8, 2)).astype("float32")
    path = tmp_path / name
    model.fit(x, y, epochs=2, batch_size=4, verbose=0,
              callbacks=[ModelCheckpoint(path, save_weights_only=weights_only, monitor="loss")])
    if weights_only:
        with h5py.File(path) as f:
            assert "layers/gru/cell/vars/0" in f and "optimizer/vars/0" in f
        twin = small_model()
        twin.load_weights(path)
    else:
        twin = keras.models.load_model(path)
        assert int(twin.optimizer.iterations.numpy()) == 4
    assert_bit_identical(twin.get_weights(), model.get_weights())


def test_legacy_by_name_and_unknown_keywords(tmp_path):
    source = keras.Sequential([keras.Input((4, 3)), layers.GRU(3, name="enc"),
                               layers.Dense(2, name="head")])
    path = tmp_path / "m.h5"
    source.save(path)
    # Another order and an extra layer: by position fails, by name loads what matches.
    target = keras.Sequential([keras.Input((4, 3)), layers.GRU(3, name="enc"),
                               layers.Dense(3, name="other"), layers.Dense(2, name="head")])
    with pytest.raises(ValueError, match="layer count mismatch"):
        target.load_weights(path)
    other_before = target.layers[1].kernel.numpy().copy()
    target.load_weights(path, by_name=True)
    assert_bit_identical(target.layers[0].get_weights(), source.layers[0].get_weights())
    assert_bit_identical(target.layers[2].get_weights(), source.layers[1].get_weights())
    np.testing.assert_array_equal(target.layers[1].kernel.numpy(), other_before)
    weights = tmp_path / "w.weights.h5"
    source.save_weights(weights)
    with pytest.raises(ValueError, match="by_name=True.*legacy"):
        source.load_weights(weights, by_name=True)
    with pytest.raises(ValueError, match="Invalid keyword arguments"):
        source.load_weights(weights, bogus=1)


def test_registry_module_imports_nothing_from_rnnkit():
    import ast
    import inspect
    from rnnkit.saving import object_registration
    tree = ast.parse(inspect.getsource(object_registration))
    imported = [n.module if isinstance(n, ast.ImportFrom) else a.name
                for n in ast.walk(tree) if isinstance(n, (ast.Import, ast.ImportFrom))
                for a in (n.names if isinstance(n, ast.Import) else [n])]
    assert not [m for m in imported if m and m.startswith("rnnkit")], imported
    # The public names keep their import paths.
    from rnnkit.saving import register_keras_serializable, serialize  # noqa: F401
    assert saving.register_keras_serializable is object_registration.register_keras_serializable
    assert keras.utils.register_keras_serializable is saving.register_keras_serializable


def test_keras_config_translation_rules():
    from rnnkit.saving import keras_config
    tf2 = {"class_name": "LSTM", "config": {"name": "l", "trainable": True, "dtype": "float32",
                                            "units": 2, "time_major": False,
                                            "implementation": 2}}
    out = keras_config.to_rnnkit(tf2)
    assert "time_major" not in out["config"] and "implementation" not in out["config"]
    assert tf2["config"]["time_major"] is False   # the input is not changed
    tf2["config"]["time_major"] = True
    with pytest.raises(ValueError, match="'l' has `time_major=True`"):
        keras_config.to_rnnkit(tf2)
    bn = {"class_name": "BatchNormalization", "config": {"name": "bn", "axis": [2],
                                                         "renorm": False}}
    assert keras_config.to_rnnkit(bn)["config"] == {"name": "bn", "axis": 2}
    with pytest.raises(ValueError, match="several axes"):
        keras_config.to_rnnkit({"class_name": "BatchNormalization",
                                "config": {"name": "bn", "axis": [1, 2]}})
    # A registered (custom) class keeps every argument, whatever its name.
    custom = {"module": None, "class_name": "Mine", "registered_name": "P>Mine",
              "config": {"name": "m", "implementation": 3, "renorm": False}}
    assert keras_config.to_rnnkit(custom)["config"] == custom["config"]
    # A non-default value of a dropped-at-default argument is passed on (and refused there).
    dense = {"module": "keras.layers", "class_name": "Dense", "registered_name": None,
             "config": {"name": "d", "units": 2, "quantization_config": {"mode": "int8"}}}
    assert "quantization_config" in keras_config.to_rnnkit(dense)["config"]
    policy = {"module": "keras", "class_name": "DTypePolicy", "config": {"name": "float64"},
              "registered_name": None}
    assert keras_config.to_rnnkit({"class_name": "Dense", "config": {"dtype": policy}}) == \
        {"class_name": "Dense", "config": {"dtype": "float64"}}
    # And back: rnnkit's module names and a string dtype become Keras'.
    layer = saving.serialize(layers.Dense(2, name="d"))
    back = keras_config.to_keras(layer)
    assert back["module"] == "keras.layers"
    assert back["config"]["dtype"]["class_name"] == "DTypePolicy"
    assert back["config"]["kernel_initializer"]["module"] == "keras.initializers"


@saving.register_keras_serializable(package="SavingFilesTest")
class SubclassedTagger(keras.Model):
    """A subclassed model: Keras names its weight groups after the attributes."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.enc = layers.LSTM(3)
        self.blocks = [layers.Dense(2), layers.Dense(2)]
        self.head = layers.Dense(1)

    def call(self, x):
        h = self.enc(x)
        for block in self.blocks:
            h = block(h)
        return self.head(h)


def test_subclassed_model_weight_paths_are_keras(tmp_path):
    x = np.ones((2, 4, 3), "float32")
    model = SubclassedTagger()
    model(x)
    path = tmp_path / "sub.weights.h5"
    model.save_weights(path)
    found = []
    with h5py.File(path) as f:
        f.visit(lambda n: found.append(n) if isinstance(f[n], h5py.Dataset) else None)
    # The tree Keras 3.15 writes for the same model.
    assert found == ["blocks/dense/vars/0", "blocks/dense/vars/1", "blocks/dense_1/vars/0",
                     "blocks/dense_1/vars/1", "enc/cell/vars/0", "enc/cell/vars/1",
                     "enc/cell/vars/2", "head/vars/0", "head/vars/1"]
    twin = SubclassedTagger()
    twin(x)
    twin.load_weights(path)
    assert_bit_identical(twin.get_weights(), model.get_weights())


def test_subclassed_model_keras_round_trip(tmp_path):
    x = np.random.default_rng(1).normal(size=(2, 4, 3)).astype("float32")
    model = SubclassedTagger()
    model(x)
    model.compile(optimizer="adam", loss="mse")
    model.train_on_batch(x, np.ones((2, 1), "float32"))
    model.save(tmp_path / "sub.keras")
    loaded = keras.models.load_model(tmp_path / "sub.keras")
    assert type(loaded) is SubclassedTagger
    assert_bit_identical(loaded.get_weights(), model.get_weights())
    assert_bit_identical([v.numpy() for v in loaded.optimizer.variables],
                         [v.numpy() for v in model.optimizer.variables])
    with pytest.raises(NotImplementedError, match="subclassed"):
        model.save(tmp_path / "sub.h5")
    # A model whose layers are not built cannot take the weights: an error, not a silent skip.
    unbuilt = SubclassedTagger()
    unbuilt.head.build((None, 2))
    with pytest.raises(ValueError, match="expected 0 variables"):
        unbuilt.load_weights(tmp_path / "sub.keras")


def test_save_keywords_as_keras(tmp_path):
    model = small_model()
    with pytest.raises(ValueError, match=r"not supported: \['bogus'\]"):
        model.save(tmp_path / "m.keras", bogus=1)
    with pytest.raises(ValueError, match="save_format"):
        model.save(tmp_path / "m", save_format="tf")
    with pytest.warns(UserWarning, match="save_format"):
        model.save(tmp_path / "m.keras", save_format="keras")
    with pytest.raises(ValueError, match="zipped=False"):
        model.save(tmp_path / "m.keras", zipped=False)
    with pytest.raises(FileExistsError):
        model.save(tmp_path / "m.keras", overwrite=False)
    model.save(tmp_path / "m.h5", include_optimizer=False)
    with h5py.File(tmp_path / "m.h5") as f:
        assert "optimizer_weights" not in f and "training_config" in f.attrs
    with pytest.raises(ValueError, match="max_shard_size"):
        model.save_weights(tmp_path / "w.weights.h5", max_shard_size=1)


@pytest.mark.parametrize("ext", [".keras", ".weights.h5", ".h5"])
def test_randomly_damaged_files_fail_cleanly(tmp_path, ext):
    """Random byte changes and truncations: loading either works or raises ValueError (or
    TypeError for a class name the damage changed), naming the file, never another error
    from h5py or zipfile; a model given to load_weights is never changed by a failure."""
    model = small_model()
    model.train_on_batch(np.ones((2, 4, 3), "float32"), np.ones((2, 2), "float32"))
    clean = tmp_path / f"clean{ext}"
    (model.save_weights if ext == ".weights.h5" else model.save)(clean)
    data = clean.read_bytes()
    rng = np.random.default_rng(11)
    failures = 0
    for trial in range(30):
        damaged = bytearray(data)
        for _ in range(rng.integers(1, 8)):
            damaged[rng.integers(0, len(damaged))] = rng.integers(0, 256)
        if trial % 5 == 0:
            damaged = damaged[: rng.integers(0, len(damaged))]
        path = tmp_path / f"damaged{ext}"
        path.write_bytes(bytes(damaged))
        target = small_model()
        before = snapshot(target)
        try:
            if ext == ".keras":
                keras.models.load_model(path)
            else:
                target.load_weights(path)
        except (ValueError, TypeError) as e:
            failures += 1
            assert type(e) is TypeError or "damaged" in str(e) or str(path) in str(e) or \
                "Could not" in str(e) or "expected" in str(e)
            assert_bit_identical(snapshot(target), before)
    assert failures >= 10


def test_safe_mode_precedence_as_keras():
    """An enclosing SafeModeScope, then enable_unsafe_deserialization(), win over the
    argument (Keras' rule)."""
    from rnnkit.saving import serialization_lib
    config = saving.serialize(lambda x: x + 1)
    with saving.SafeModeScope(True):
        with pytest.raises(ValueError, match="safe_mode=False"):
            saving.deserialize(config, safe_mode=False)
    assert saving.deserialize(config, safe_mode=False)(1) == 2
    try:
        serialization_lib.enable_unsafe_deserialization()
        assert saving.deserialize(config)(1) == 2
        assert saving.deserialize(config, safe_mode=True)(1) == 2
    finally:
        serialization_lib._GLOBAL_SAFE_MODE[0] = True
    with pytest.raises(ValueError, match="safe_mode=False"):
        saving.deserialize(config)
