"""rnnkit.datasets.mnist: local .npz and CSV files, the cached download with its SHA-256 check,
and the offline error. No test touches the network."""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pytest

from rnnkit import datasets
from rnnkit.datasets import mnist
import paths

SHARED_CSV = paths.SHARED_MNIST


def synthetic(n_train=6, n_test=4, seed=0):
    rng = np.random.default_rng(seed)
    return dict(
        x_train=rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        y_train=rng.integers(0, 10, n_train, dtype=np.uint8),
        x_test=rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        y_test=rng.integers(0, 10, n_test, dtype=np.uint8),
    )


def npz_bytes(arrays):
    buf = io.BytesIO()
    np.savez_compressed(buf, **arrays)
    return buf.getvalue()


def write_csv(path, x, y, header=False, gz=False):
    rows = np.concatenate([x.reshape(len(x), -1), y.reshape(-1, 1)], axis=1)
    text = (",".join(f"p{i}" for i in range(784)) + ",label\n") if header else ""
    text += "\n".join(",".join(map(str, r)) for r in rows) + "\n"
    if gz:
        with gzip.open(path, "wt") as f:
            f.write(text)
    else:
        Path(path).write_text(text)


@pytest.fixture
def cache(tmp_path, monkeypatch):
    """An empty cache dir ($RNNKIT_HOME/datasets) and a download that must not happen."""
    home = tmp_path / "home"
    monkeypatch.setenv("RNNKIT_HOME", str(home))

    def no_network(*args, **kwargs):
        raise AssertionError("the test tried to use the network")
    monkeypatch.setattr(urllib.request, "urlopen", no_network)
    return home / "datasets"


def test_module_layout():
    assert datasets.mnist is mnist
    assert mnist.ORIGIN == "https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz"
    assert mnist.FILE_HASH == "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1"


# -- local files ---------------------------------------------------------------------------------

def test_local_npz(tmp_path, cache):
    arrays = synthetic()
    path = tmp_path / "my_mnist.npz"
    path.write_bytes(npz_bytes(arrays))
    (x_train, y_train), (x_test, y_test) = mnist.load_data(str(path))
    for got, key in zip((x_train, y_train, x_test, y_test), mnist._NPZ_KEYS):
        np.testing.assert_array_equal(got, arrays[key])
        assert got.dtype == np.uint8
    # A pathlib.Path works too, and so does a zip without the .npz suffix.
    other = tmp_path / "data.bin"
    other.write_bytes(npz_bytes(arrays))
    (x2, _), _ = mnist.load_data(other)
    np.testing.assert_array_equal(x2, arrays["x_train"])


def test_local_npz_missing_arrays(tmp_path, cache):
    path = tmp_path / "bad.npz"
    np.savez(path, x_train=np.zeros((1, 28, 28), np.uint8))
    with pytest.raises(ValueError, match=r"lacks the arrays \['y_train', 'x_test', 'y_test'\]"):
        mnist.load_data(str(path))


def test_local_npz_refuses_pickles(tmp_path, cache):
    path = tmp_path / "pickled.npz"
    arrays = synthetic()
    arrays["y_train"] = np.array([{"a": 1}], dtype=object)
    np.savez(path, **arrays)
    with pytest.raises(ValueError, match="allow_pickle"):
        mnist.load_data(str(path))


@pytest.mark.parametrize("header", [False, True])
@pytest.mark.parametrize("gz", [False, True])
def test_load_csv(tmp_path, header, gz):
    rng = np.random.default_rng(1)
    x = rng.integers(0, 256, (7, 28, 28), dtype=np.uint8)
    y = rng.integers(0, 10, 7, dtype=np.uint8)
    path = tmp_path / ("d.csv.gz" if gz else "d.csv")
    write_csv(path, x, y, header=header, gz=gz)
    got_x, got_y = mnist.load_csv(path)
    assert got_x.dtype == np.uint8 and got_y.dtype == np.uint8
    np.testing.assert_array_equal(got_x, x)
    np.testing.assert_array_equal(got_y, y)


def test_load_csv_float_values(tmp_path):
    x = np.full((1, 28, 28), 3, np.uint8)
    path = tmp_path / "f.csv"
    path.write_text(",".join(["3.0"] * 784 + ["7.0"]) + "\n")
    got_x, got_y = mnist.load_csv(path)
    np.testing.assert_array_equal(got_x, x)
    assert got_y.tolist() == [7]


@pytest.mark.parametrize("row, message", [
    (["1"] * 784, "784 columns"),
    (["1"] * 786, "786 columns"),
    (["1"] * 784 + ["300"], "integers from 0 to 255"),
    (["-1"] + ["1"] * 784, "integers from 0 to 255"),
    (["1.5"] + ["1"] * 784, "integers from 0 to 255"),
])
def test_load_csv_errors(tmp_path, row, message):
    path = tmp_path / "bad.csv"
    path.write_text(",".join(row) + "\n")
    with pytest.raises(ValueError, match=message):
        mnist.load_csv(path)


def test_csv_split_per_label(tmp_path, cache):
    # 10 rows of each label, sorted by label as the shared file is.
    y = np.repeat(np.arange(10, dtype=np.uint8), 10)
    x = np.zeros((100, 28, 28), np.uint8)
    x[:, 0, 0] = np.arange(100)  # identifies each row
    path = tmp_path / "sorted.csv"
    write_csv(path, x, y)
    (x_train, y_train), (x_test, y_test) = mnist.load_data(str(path))
    assert x_train.shape == (80, 28, 28) and x_test.shape == (20, 28, 28)
    assert np.bincount(y_train).tolist() == [8] * 10
    assert np.bincount(y_test).tolist() == [2] * 10
    # per label: the first 80% of its rows train, the rest test
    test_ids = sorted(x_test[:, 0, 0].tolist())
    assert test_ids == sorted(10 * k + j for k in range(10) for j in (8, 9))
    np.testing.assert_array_equal(y_train, x_train[:, 0, 0] // 10)
    np.testing.assert_array_equal(y_test, x_test[:, 0, 0] // 10)
    # the labels are interleaved, and the split is the same every time
    assert len(set(y_train[:10].tolist())) > 3
    (x_train2, _), (x_test2, _) = mnist.load_data(str(path))
    np.testing.assert_array_equal(x_train2, x_train)
    np.testing.assert_array_equal(x_test2, x_test)


@pytest.mark.skipif(not SHARED_CSV.exists(), reason=f"{SHARED_CSV} is absent")
def test_shared_mnist_5k_csv(cache):
    x, y = mnist.load_csv(SHARED_CSV)
    assert x.shape == (5000, 28, 28) and y.shape == (5000,)
    assert x.dtype == np.uint8 and y.dtype == np.uint8
    assert np.bincount(y).tolist() == [500] * 10
    assert 0 < x.mean() < 255 and x.max() == 255
    (x_train, y_train), (x_test, y_test) = mnist.load_data(str(SHARED_CSV))
    assert x_train.shape == (4000, 28, 28) and x_test.shape == (1000, 28, 28)
    assert np.bincount(y_train).tolist() == [400] * 10
    assert np.bincount(y_test).tolist() == [100] * 10
    # together they are the file's rows
    both = np.concatenate([x_train, x_test]).reshape(5000, -1)
    order = np.lexsort(both.T[::-1])
    ref = x.reshape(5000, -1)
    np.testing.assert_array_equal(both[order], ref[np.lexsort(ref.T[::-1])])


# -- the download --------------------------------------------------------------------------------

def fake_download(payload, calls):
    def download(url, dest, timeout=mnist.DOWNLOAD_TIMEOUT):
        calls.append((url, dest))
        Path(dest).write_bytes(payload)
    return download


def test_download_verified_and_cached(cache, monkeypatch):
    arrays = synthetic()
    payload = npz_bytes(arrays)
    monkeypatch.setattr(mnist, "FILE_HASH", hashlib.sha256(payload).hexdigest())
    calls = []
    monkeypatch.setattr(mnist, "_download", fake_download(payload, calls))
    (x_train, _), (_, y_test) = mnist.load_data()
    np.testing.assert_array_equal(x_train, arrays["x_train"])
    np.testing.assert_array_equal(y_test, arrays["y_test"])
    assert calls == [(mnist.ORIGIN, str(cache / "mnist.npz") + ".part")]
    assert (cache / "mnist.npz").read_bytes() == payload
    assert not (cache / "mnist.npz.part").exists()
    # the second call reads the cache
    mnist.load_data()
    assert len(calls) == 1


def test_checksum_mismatch_raises(cache, monkeypatch):
    calls = []
    monkeypatch.setattr(mnist, "_download", fake_download(b"not the mnist file", calls))
    with pytest.raises(ValueError, match="SHA-256") as err:
        mnist.load_data()
    assert mnist.FILE_HASH in str(err.value) and mnist.ORIGIN in str(err.value)
    assert len(calls) == 1
    assert not (cache / "mnist.npz").exists() and not (cache / "mnist.npz.part").exists()


def test_bad_cached_file_is_downloaded_again(cache, monkeypatch):
    arrays = synthetic(seed=3)
    payload = npz_bytes(arrays)
    monkeypatch.setattr(mnist, "FILE_HASH", hashlib.sha256(payload).hexdigest())
    cache.mkdir(parents=True)
    (cache / "mnist.npz").write_bytes(npz_bytes(synthetic(seed=4)))  # outdated
    calls = []
    monkeypatch.setattr(mnist, "_download", fake_download(payload, calls))
    with pytest.warns(UserWarning, match="does not match"):
        (x_train, _), _ = mnist.load_data()
    assert len(calls) == 1
    np.testing.assert_array_equal(x_train, arrays["x_train"])


def test_offline_error(cache, monkeypatch):
    seen = {}

    def offline(url, timeout=None, **kwargs):
        seen.update(url=url, timeout=timeout)
        raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")
    monkeypatch.setattr(urllib.request, "urlopen", offline)
    with pytest.raises(ConnectionError) as err:
        mnist.load_data()
    message = str(err.value)
    assert mnist.ORIGIN in message
    assert str(cache / "mnist.npz") in message
    assert "name resolution" in message
    assert "CSV" in message and "path=" in message
    assert seen == {"url": mnist.ORIGIN, "timeout": mnist.DOWNLOAD_TIMEOUT}
    assert 0 < mnist.DOWNLOAD_TIMEOUT <= 60
    assert not (cache / "mnist.npz.part").exists()


def test_timeout_is_a_connection_error(cache, monkeypatch):
    def slow(url, timeout=None, **kwargs):
        raise TimeoutError("timed out")
    monkeypatch.setattr(urllib.request, "urlopen", slow)
    with pytest.raises(ConnectionError, match="timed out"):
        mnist.load_data("other_name.npz")


def test_cache_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("RNNKIT_HOME", str(tmp_path / "h"))
    assert mnist.cache_dir() == str(tmp_path / "h" / "datasets")
    assert os.path.isdir(tmp_path / "h" / "datasets")
    monkeypatch.delenv("RNNKIT_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "user"))
    assert mnist.cache_dir() == str(tmp_path / "user" / ".rnnkit" / "datasets")


def test_import_rnnkit_leaves_download_modules_unloaded():
    """`import rnnkit` imports no module that only a data set download (or a CSV log) needs."""
    import subprocess
    import sys
    code = ("import sys, rnnkit; print(sorted(m for m in ('urllib.request', 'http.client', "
            "'ssl', 'email', 'csv', 'rnnkit.datasets.mnist') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
    # The loader is still one attribute away.
    code = "import rnnkit; print(rnnkit.datasets.mnist.load_data.__name__)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "load_data"
