"""Utilities of issue 15: timeseries_dataset_from_array, text_dataset_from_directory,
split_dataset, get_file (cache, hash check, offline error; local file:// URLs only),
plot_model / model_to_dot, clone_model / model_from_json, and the imdb / reuters loaders
(small files made in the test). No test touches the network."""

from __future__ import annotations

import hashlib
import io
import os
import pathlib
import tarfile
import zipfile

import numpy as np
import pytest

import rnnkit as keras
from rnnkit import utils
from rnnkit.datasets import imdb, reuters
import paths


# ------------------------------------------------------------------------------------------------
# timeseries_dataset_from_array
# ------------------------------------------------------------------------------------------------

def _np_windows(data, targets, length, stride, rate, start, end):
    data = data[start:end]
    n = len(data) - (length - 1) * rate
    if targets is not None:
        targets = targets[start:end]
        n = min(n, len(targets) + start)  # Keras bounds by len(targets) before slicing
    xs, ys = [], []
    for s in range(0, n, stride):
        xs.append(data[s:s + length * rate:rate])
        if targets is not None:
            ys.append(targets[s])
    return np.array(xs), np.array(ys)


@pytest.mark.parametrize("length,stride,rate,start,end,batch", [
    (3, 1, 1, None, None, 4), (4, 2, 1, None, None, 3), (3, 1, 2, None, None, 5),
    (2, 3, 2, 2, 17, 2), (5, 1, 1, 3, None, 100), (1, 1, 1, None, 10, 1),
])
def test_timeseries_windows_against_numpy(length, stride, rate, start, end, batch):
    data = np.arange(20 * 2).reshape(20, 2)
    targets = np.arange(20) * 10
    ds = utils.timeseries_dataset_from_array(data, targets, length, sequence_stride=stride,
                                             sampling_rate=rate, batch_size=batch,
                                             start_index=start, end_index=end)
    xs = np.concatenate([x for x, _ in ds])
    ys = np.concatenate([y for _, y in ds])
    ex, ey = _np_windows(data, targets, length, stride, rate, start or 0, end or 20)
    np.testing.assert_array_equal(xs, ex)
    np.testing.assert_array_equal(ys, ey)
    assert len(ds) == -(-len(ex) // batch)
    assert all(x.shape[0] <= batch for x, _ in ds)


def test_timeseries_no_targets_shuffle_and_fit():
    data = np.random.default_rng(0).normal(size=(50, 3)).astype("float32")
    ds = utils.timeseries_dataset_from_array(data, None, 5, batch_size=None)
    assert ds[0].shape == (5, 3) and len(ds) == 46
    a = utils.timeseries_dataset_from_array(data, np.arange(50), 5, shuffle=True, seed=3,
                                            batch_size=8)
    b = utils.timeseries_dataset_from_array(data, np.arange(50), 5, shuffle=True, seed=3,
                                            batch_size=8)
    starts = np.concatenate([y for _, y in a])
    np.testing.assert_array_equal(starts, np.concatenate([y for _, y in b]))
    assert sorted(starts.tolist()) == list(range(46)) and starts.tolist() != list(range(46))
    for x, y in a:  # each window starts where its target says
        np.testing.assert_array_equal(x[:, 0], data[y])
    model = keras.Sequential([keras.Input((5, 3)), keras.layers.LSTM(4), keras.layers.Dense(1)])
    model.compile("adam", "mse")
    target = data[:, :1].copy()
    ds = utils.timeseries_dataset_from_array(data[:-5], target[5:], 5, batch_size=8)
    history = model.fit(ds, epochs=2, verbose=0)
    assert len(history.history["loss"]) == 2


def test_timeseries_errors():
    data = np.zeros(10)
    with pytest.raises(ValueError, match="start_index"):
        utils.timeseries_dataset_from_array(data, None, 2, start_index=10)
    with pytest.raises(ValueError, match="end_index"):
        utils.timeseries_dataset_from_array(data, None, 2, start_index=5, end_index=3)
    with pytest.raises(ValueError, match="sampling_rate"):
        utils.timeseries_dataset_from_array(data, None, 2, sampling_rate=0)
    with pytest.raises(ValueError, match="sequence_stride"):
        utils.timeseries_dataset_from_array(data, None, 2, sequence_stride=10)
    with pytest.raises(TypeError, match="sequence_length"):
        utils.timeseries_dataset_from_array(data, None, 2.5)


# ------------------------------------------------------------------------------------------------
# text_dataset_from_directory
# ------------------------------------------------------------------------------------------------

@pytest.fixture
def text_dir(tmp_path):
    texts = {"neg": ["bad film", "awful", "boring plot"], "pos": ["great", "loved it"]}
    for label, items in texts.items():
        (tmp_path / label).mkdir()
        for i, text in enumerate(items):
            (tmp_path / label / f"{i}.txt").write_text(text, encoding="utf-8")
    (tmp_path / "pos" / "notes.md").write_text("ignored")
    return tmp_path


def test_text_dataset_labels_and_modes(text_dir, capsys):
    ds = utils.text_dataset_from_directory(text_dir, shuffle=False, batch_size=2)
    assert "Found 5 files belonging to 2 classes." in capsys.readouterr().out
    texts = np.concatenate([x for x, _ in ds]).tolist()
    labels = np.concatenate([y for _, y in ds]).tolist()
    assert texts == ["bad film", "awful", "boring plot", "great", "loved it"]
    assert labels == [0, 0, 0, 1, 1] and ds.class_names == ["neg", "pos"]
    cat = utils.text_dataset_from_directory(text_dir, label_mode="categorical", shuffle=False,
                                            verbose=False, batch_size=None)
    np.testing.assert_array_equal(cat[4][1], [0.0, 1.0])
    binary = utils.text_dataset_from_directory(text_dir, label_mode="binary", verbose=False,
                                               shuffle=False, max_length=3)
    x, y = binary[0]
    assert y.shape == (5, 1) and x.tolist()[0] == "bad"
    only = utils.text_dataset_from_directory(text_dir, labels=None, verbose=False,
                                             shuffle=False)
    assert only[0].shape == (5,)
    flipped = utils.text_dataset_from_directory(text_dir, class_names=["pos", "neg"],
                                                verbose=False, shuffle=False)
    x, y = flipped[0]
    assert x.tolist()[:2] == ["great", "loved it"] and y.tolist() == [0, 0, 1, 1, 1]


def test_text_dataset_validation_split(text_dir):
    train, val = utils.text_dataset_from_directory(text_dir, validation_split=0.4,
                                                   subset="both", seed=7, verbose=False)
    assert train.cardinality() == 3 and val.cardinality() == 2
    assert not set(train.file_paths) & set(val.file_paths)
    again = utils.text_dataset_from_directory(text_dir, validation_split=0.4,
                                              subset="validation", seed=7, verbose=False)
    assert again.file_paths == val.file_paths
    with pytest.raises(ValueError, match="seed"):
        utils.text_dataset_from_directory(text_dir, validation_split=0.4, subset="training")
    with pytest.raises(ValueError, match="subset"):
        utils.text_dataset_from_directory(text_dir, validation_split=0.4, seed=1)
    with pytest.raises(ValueError, match="label_mode"):
        utils.text_dataset_from_directory(text_dir, label_mode="sparse")
    with pytest.raises(ValueError, match="directory"):
        utils.text_dataset_from_directory(text_dir / "missing")


# ------------------------------------------------------------------------------------------------
# split_dataset
# ------------------------------------------------------------------------------------------------

def test_split_dataset_sizes_and_structures():
    x, y = np.arange(10), np.arange(10) * 2
    (lx, ly), (rx, ry) = utils.split_dataset((x, y), left_size=0.7)
    assert lx.tolist() == list(range(7)) and rx.tolist() == [7, 8, 9]
    np.testing.assert_array_equal(ry, rx * 2)
    (lx, _), (rx, _) = utils.split_dataset((x, y), right_size=3)
    assert len(lx) == 7 and rx.tolist() == [7, 8, 9]
    (lx, _), (rx, _) = utils.split_dataset((x, y), left_size=2, right_size=3)
    assert lx.tolist() == [0, 1] and rx.tolist() == [7, 8, 9]
    left, right = utils.split_dataset({"a": x, "b": y}, left_size=0.5, shuffle=True, seed=1)
    assert sorted(left["a"].tolist() + right["a"].tolist()) == list(range(10))
    np.testing.assert_array_equal(left["b"], left["a"] * 2)
    a, b = utils.split_dataset(x, left_size=4)
    assert a.tolist() == [0, 1, 2, 3] and len(b) == 6
    ds = utils.ArrayDataset((x, y), batch_size=3)
    dl, dr = utils.split_dataset(ds, left_size=0.6)
    assert dl.cardinality() == 6 and dr.cardinality() == 4 and dl.batch_size == 3


def test_split_dataset_errors():
    x = np.arange(10)
    with pytest.raises(ValueError, match="At least one"):
        utils.split_dataset(x)
    with pytest.raises(ValueError, match="left_size"):
        utils.split_dataset(x, left_size=1.5)
    with pytest.raises(ValueError, match="greater than 1"):
        utils.split_dataset(x, left_size=0.6, right_size=0.6)
    with pytest.raises(TypeError, match="left_size"):
        utils.split_dataset(x, left_size="half")
    with pytest.raises(TypeError, match="dataset"):
        utils.split_dataset(42, left_size=0.5)


# ------------------------------------------------------------------------------------------------
# get_file
# ------------------------------------------------------------------------------------------------

def _sha256(data):
    return hashlib.sha256(data).hexdigest()


def test_get_file_downloads_caches_and_checks_hash(tmp_path):
    src = tmp_path / "src" / "data.bin"
    src.parent.mkdir()
    src.write_bytes(b"payload")
    cache = tmp_path / "cache"
    path = utils.get_file(origin=src.as_uri(), cache_dir=cache,
                          file_hash=_sha256(b"payload"))
    assert path == str(cache / "datasets" / "data.bin")
    assert pathlib.Path(path).read_bytes() == b"payload"
    src.unlink()  # cached: no download needed any more
    assert utils.get_file("data.bin", src.as_uri(), cache_dir=cache,
                          file_hash=_sha256(b"payload")) == path
    md5 = hashlib.md5(b"payload").hexdigest()
    assert utils.get_file("data.bin", src.as_uri(), cache_dir=cache, md5_hash=md5) == path
    assert utils.validate_file(path, md5) and not utils.validate_file(path, "0" * 64)


def test_get_file_redownloads_stale_file_and_refuses_bad_hash(tmp_path, capsys):
    src = tmp_path / "new.txt"
    src.write_bytes(b"fresh")
    cache = tmp_path / "cache"
    (cache / "datasets").mkdir(parents=True)
    (cache / "datasets" / "new.txt").write_bytes(b"stale")
    path = utils.get_file("new.txt", src.as_uri(), cache_dir=cache, file_hash=_sha256(b"fresh"))
    assert pathlib.Path(path).read_bytes() == b"fresh"
    assert "re-download" in capsys.readouterr().out
    with pytest.raises(ValueError, match="hash does not match"):
        utils.get_file("other.txt", src.as_uri(), cache_dir=cache, file_hash="0" * 64)
    assert not (cache / "datasets" / "other.txt").exists()


def test_get_file_offline_error_and_arguments(tmp_path):
    missing = (tmp_path / "nowhere.npz").as_uri()
    with pytest.raises(ConnectionError, match="copy it to"):
        utils.get_file("x.npz", missing, cache_dir=tmp_path)
    assert not (tmp_path / "datasets" / "x.npz").exists()
    with pytest.raises(ValueError, match="origin"):
        utils.get_file("x.npz")
    with pytest.raises(ValueError, match="Paths are no longer accepted"):
        utils.get_file("a/b.npz", missing, cache_dir=tmp_path)
    with pytest.raises(ValueError, match="hash_algorithm"):
        utils.get_file("x.npz", missing, cache_dir=tmp_path, file_hash="ab",
                       hash_algorithm="sha1")


@pytest.mark.parametrize("kind", ["tar", "zip"])
def test_get_file_extracts_archives(tmp_path, kind):
    archive = tmp_path / f"pack.{kind}"
    if kind == "tar":
        with tarfile.open(archive, "w") as tar:
            info = tarfile.TarInfo("inner/hello.txt")
            info.size = 2
            tar.addfile(info, io.BytesIO(b"hi"))
    else:
        with zipfile.ZipFile(archive, "w") as z:
            z.writestr("inner/hello.txt", "hi")
    out = utils.get_file(f"pack.{kind}", archive.as_uri(), cache_dir=tmp_path / "c",
                         extract=True)
    assert out.endswith("pack_extracted")
    assert (pathlib.Path(out) / "inner" / "hello.txt").read_text() == "hi"


# ------------------------------------------------------------------------------------------------
# plot_model, clone_model, model_from_json
# ------------------------------------------------------------------------------------------------

def _functional():
    a = keras.Input((4,), name="a")
    b = keras.Input((4,), name="b")
    shared = keras.layers.Dense(3, activation="relu", name="shared")
    x = keras.layers.Concatenate(name="cat")([shared(a), shared(b)])
    out = keras.layers.Dense(1, name="out")(keras.ops.add(x, 1.0))
    return keras.Model([a, b], out, name="two_towers")


def test_plot_model_dot_file_and_missing_graphviz(tmp_path):
    model = _functional()
    path = utils.plot_model(model, tmp_path / "m.dot", show_shapes=True, show_layer_names=True,
                            show_layer_activations=True, rankdir="LR")
    text = pathlib.Path(path).read_text()
    assert text.startswith('digraph "two_towers"') and "rankdir=LR" in text
    assert "shared (Dense)" in text and "Output shape: (None, 3)" in text
    assert "Activation: relu" in text
    # a -> shared, b -> shared, shared -> cat (one edge for both calls), cat -> add, add -> out
    assert text.count("->") == 5
    try:
        import pydot  # noqa: F401
        has_pydot = True
    except ImportError:
        has_pydot = False
    if not has_pydot:
        with pytest.raises(ImportError, match="pydot"):
            utils.plot_model(model, tmp_path / "m.png")
        with pytest.raises(ImportError, match="pip install pydot"):
            utils.model_to_dot(model)
    with pytest.raises(ValueError, match="rankdir"):
        utils.plot_model(model, tmp_path / "m.dot", rankdir="XY")


def test_clone_model_functional_and_sequential(rng):
    model = _functional()
    clone = keras.models.clone_model(model)
    assert [layer.name for layer in clone.layers] == [layer.name for layer in model.layers]
    assert all(c is not o for c, o in zip(clone.layers, model.layers))
    xs = [rng.normal(size=(2, 4)).astype("float32") for _ in range(2)]
    clone.set_weights(model.get_weights())
    np.testing.assert_allclose(clone.predict(xs, verbose=0), model.predict(xs, verbose=0),
                               rtol=1e-6)
    shared = keras.models.clone_model(model, clone_function=lambda layer: layer)
    assert shared.get_layer("shared") is model.get_layer("shared")
    seq = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2), keras.layers.Dense(1)])
    seq_clone = keras.models.clone_model(seq)
    assert isinstance(seq_clone, keras.Sequential) and len(seq_clone.layers) == 2
    calls = []
    keras.models.clone_model(seq, call_function=lambda layer, x: calls.append(layer) or layer(x))
    assert len(calls) == 2
    new_input = keras.Input((3,))
    on_input = keras.models.clone_model(seq, input_tensors=new_input)
    assert on_input.inputs[0] is new_input
    with pytest.raises(TypeError, match="model"):
        keras.models.clone_model("not a model")
    with pytest.raises(ValueError, match="input_tensors"):
        keras.models.clone_model(model, input_tensors=[keras.Input((4,))])


def test_model_from_json_round_trip(rng):
    model = _functional()
    restored = keras.models.model_from_json(model.to_json())
    assert restored.name == "two_towers"
    assert [layer.name for layer in restored.layers] == [layer.name for layer in model.layers]
    restored.set_weights(model.get_weights())
    xs = [rng.normal(size=(2, 4)).astype("float32") for _ in range(2)]
    np.testing.assert_allclose(restored.predict(xs, verbose=0), model.predict(xs, verbose=0),
                               rtol=1e-6)
    with pytest.raises(ValueError, match="not valid JSON"):
        keras.models.model_from_json("{nope")
    with pytest.raises(ValueError, match="does not describe"):
        keras.models.model_from_json("[1, 2]")


# ------------------------------------------------------------------------------------------------
# imdb and reuters
# ------------------------------------------------------------------------------------------------

def _object_array(lists):
    out = np.empty(len(lists), dtype=object)
    for i, item in enumerate(lists):
        out[i] = item
    return out


@pytest.fixture
def imdb_file(tmp_path):
    train = [[1, 2, 3], [4, 5], [6, 7, 8, 9], [2]]
    test = [[3, 3], [9, 1, 5]]
    path = tmp_path / "tiny_imdb.npz"
    np.savez(path, x_train=_object_array(train), y_train=np.array([0, 1, 1, 0]),
             x_test=_object_array(test), y_test=np.array([1, 0]))
    return path, train, test


def test_imdb_load_data_transformations(imdb_file):
    path, train, test = imdb_file
    (x_train, y_train), (x_test, y_test) = imdb.load_data(path, num_words=10, seed=5)
    rng = np.random.RandomState(5)
    order = np.arange(4)
    rng.shuffle(order)
    order_test = np.arange(2)
    rng.shuffle(order_test)
    expected = [[1] + [w + 3 if w + 3 < 10 else 2 for w in train[i]] for i in order]
    assert x_train.dtype == object and x_train.tolist() == expected
    assert y_train.tolist() == [[0, 1, 1, 0][i] for i in order]
    assert x_test.tolist() == [[1] + [w + 3 if w + 3 < 10 else 2 for w in test[i]]
                               for i in order_test]
    (x2, _), _ = imdb.load_data(path, num_words=10, seed=5, skip_top=5, oov_char=None,
                                start_char=None, index_from=0)
    assert x2.tolist() == [[w for w in train[i] if 5 <= w < 10] for i in order]
    (x3, y3), _ = imdb.load_data(path, maxlen=4, seed=5)
    assert all(len(x) < 4 for x in x3) and len(x3) == 2
    with pytest.raises(ValueError, match="maxlen"):
        imdb.load_data(path, maxlen=1)
    with pytest.raises(TypeError, match="nb_words"):
        imdb.load_data(path, nb_words=10)


def test_reuters_load_data_and_labels(tmp_path):
    xs = [[1, 2], [3], [4, 5, 6], [7], [8, 9]]
    path = tmp_path / "tiny_reuters.npz"
    np.savez(path, x=_object_array(xs), y=np.array([0, 1, 2, 3, 4]))
    (x_train, y_train), (x_test, y_test) = reuters.load_data(path, test_split=0.4, seed=2)
    order = np.arange(5)
    np.random.RandomState(2).shuffle(order)
    assert len(x_train) == 3 and len(x_test) == 2
    assert (y_train.tolist() + y_test.tolist()) == order.tolist()
    assert x_train[0] == [1] + [w + 3 if w + 3 < 12 else 2 for w in xs[order[0]]]
    assert len(reuters.get_label_names()) == 46
    with pytest.raises(ValueError, match="test_split"):
        reuters.load_data(path, test_split=2.0)


def test_dataset_download_cache_hash_and_offline(tmp_path, monkeypatch, imdb_file):
    path, _, _ = imdb_file
    data = pathlib.Path(path).read_bytes()
    monkeypatch.setenv("RNNKIT_HOME", str(tmp_path / "home"))
    from rnnkit.datasets import _sequences
    monkeypatch.setattr(_sequences, "ORIGIN_FOLDER", pathlib.Path(path).parent.as_uri() + "/")
    # the origin is <folder>/imdb.npz: put the tiny file there under that name
    (pathlib.Path(path).parent / "imdb.npz").write_bytes(data)
    monkeypatch.setattr(imdb, "FILE_HASH", _sha256(data))
    (x, _), _ = imdb.load_data(num_words=10, seed=0)
    cached = tmp_path / "home" / "datasets" / "imdb.npz"
    assert cached.read_bytes() == data and len(x) == 4
    (pathlib.Path(path).parent / "imdb.npz").unlink()
    (x2, _), _ = imdb.load_data(num_words=10, seed=0)  # from the cache
    assert x2.tolist() == x.tolist()
    monkeypatch.setattr(imdb, "FILE_HASH", "0" * 64)  # the cached file no longer matches
    with pytest.raises(ConnectionError, match="local copy"):
        imdb.load_data()
    word_index = {"the": 1, "film": 2}
    (pathlib.Path(path).parent / "imdb_word_index.json").write_text('{"the": 1, "film": 2}')
    monkeypatch.setattr(imdb, "WORD_INDEX_HASH",
                        hashlib.md5(b'{"the": 1, "film": 2}').hexdigest())
    assert imdb.get_word_index() == word_index
    with pytest.raises(FileNotFoundError, match="no file"):
        reuters.load_data(str(tmp_path / "missing" / "r.npz"))


def test_pack_unpack_source_inputs_and_reexports():
    assert utils.pack_x_y_sample_weight(1) == 1
    assert utils.pack_x_y_sample_weight((1, 2)) == ((1, 2),)
    assert utils.pack_x_y_sample_weight(1, 2, 3) == (1, 2, 3)
    assert utils.unpack_x_y_sample_weight(5) == (5, None, None)
    assert utils.unpack_x_y_sample_weight([1, 2, 3]) == (1, 2, 3)
    with pytest.raises(ValueError, match="sample_weight"):
        utils.unpack_x_y_sample_weight((1, 2, 3, 4))
    a, b = keras.Input((3,)), keras.Input((2,))
    out = keras.layers.Concatenate()([keras.layers.Dense(2)(a), b])
    sources = utils.get_source_inputs(out)
    assert len(sources) == 2 and sources[0] is a and sources[1] is b
    with pytest.raises(ValueError, match="symbolic"):
        utils.get_source_inputs(np.zeros(3))
    assert utils.is_keras_tensor(a) and not utils.is_keras_tensor(np.zeros(2))
    assert utils.standardize_dtype(np.float64) == "float64"
    utils.disable_interactive_logging()
    assert not utils.is_interactive_logging_enabled()
    utils.enable_interactive_logging()
    assert utils.is_interactive_logging_enabled()


# ------------------------------------------------------------------------------------------------
# Against Keras (tests/fixtures/training_tools/utils.json)
# ------------------------------------------------------------------------------------------------

import json  # noqa: E402

with open(paths.FIXTURES / "training_tools" / "utils.json") as _f:
    KERAS_UTILS = json.load(_f)


@pytest.mark.parametrize("case", KERAS_UTILS["pad_sequences"], ids=str)
def test_pad_sequences_matches_keras(case):
    got = utils.pad_sequences([[1, 2, 3], [4], [], [5, 6, 7, 8, 9]], **case["kwargs"])
    np.testing.assert_array_equal(got, case["result"])


@pytest.mark.parametrize("case", KERAS_UTILS["to_categorical"], ids=str)
def test_to_categorical_matches_keras(case):
    np.testing.assert_array_equal(utils.to_categorical(case["x"], **case["kwargs"]),
                                  case["result"])


@pytest.mark.parametrize("case", KERAS_UTILS["normalize"], ids=str)
def test_normalize_matches_keras(case):
    x = np.array(case["x"])
    got = utils.normalize(x, **case["kwargs"])
    if case["kwargs"].get("axis") == 0:
        # Keras 3.15 turns axis=0 into -1 when it re-expands the norms (`axis or -1`), so
        # row i is divided by the norm of column i; rnnkit divides each column by its norm.
        norms = np.linalg.norm(x, axis=0)
        safe = np.where(norms == 0, 1, norms)
        np.testing.assert_allclose(case["result"], x / safe[:, None], rtol=1e-12)
        np.testing.assert_allclose(got, x / safe[None, :], rtol=1e-12)
        return
    np.testing.assert_allclose(got, case["result"], rtol=1e-12)


@pytest.mark.parametrize("name", ["imdb", "reuters"])
def test_text_datasets_match_keras(name, tmp_path):
    tiny = KERAS_UTILS["tiny"]
    path = tmp_path / f"{name}.npz"
    if name == "imdb":
        np.savez(path, x_train=_object_array(tiny["train"]), y_train=np.array(tiny["y_train"]),
                 x_test=_object_array(tiny["test"]), y_test=np.array(tiny["y_test"]))
        loader = imdb.load_data
    else:
        np.savez(path, x=_object_array(tiny["train"] + tiny["test"]),
                 y=np.array(tiny["reuters_y"]))
        loader = reuters.load_data
    for case in KERAS_UTILS[name]:
        (a, b), (c, d) = loader(path, **case["kwargs"])
        assert a.tolist() == case["x_train"], case["kwargs"]
        assert b.tolist() == case["y_train"] and d.tolist() == case["y_test"]
        assert c.tolist() == case["x_test"], case["kwargs"]
