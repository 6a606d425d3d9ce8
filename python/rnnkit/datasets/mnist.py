"""MNIST handwritten digits (`keras.datasets.mnist`).

`load_data()` returns `(x_train, y_train), (x_test, y_test)`: uint8 images of shape (N, 28, 28)
with grey levels 0-255 and uint8 labels 0-9 of shape (N,).

Where the data comes from:

* `path` naming an existing local file: that file is read. It may be
  - Keras' `mnist.npz` (arrays `x_train`, `y_train`, `x_test`, `y_test`), or any `.npz` with
    those arrays, or
  - a CSV file (optionally gzipped, `.csv` / `.csv.gz`) with one image per row: 784 pixel
    values (row-major) then the label, like the project's `mnist_5k.csv.gz`. A CSV has no
    split of its own: for each label, the first 80% of its rows (in file order) go to the
    training set and the rest to the test set, and each set is then put in a fixed
    pseudo-random order (seed 0) so that the digits are interleaved. The same file always
    gives the same split. (`load_csv` returns the rows unsplit.)
* Otherwise Keras' file is used: `https://storage.googleapis.com/tensorflow/tf-keras-datasets/
  mnist.npz` (11 MB), cached as `<cache dir>/<path>`, where the cache dir is
  `$RNNKIT_HOME/datasets` if `RNNKIT_HOME` is set, else `~/.rnnkit/datasets` (or
  `/tmp/.rnnkit/datasets` when that is not writable). A missing cached file is downloaded; its
  SHA-256 is checked against Keras' known hash, a cached file that does not match is
  downloaded again, and a download that does not match raises a ValueError. Without network
  access a `ConnectionError` says where to put the file by hand or which local file to use.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import shutil
import warnings

import numpy as np

__all__ = ["load_csv", "load_data"]

ORIGIN = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz"
FILE_HASH = "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1"
DOWNLOAD_TIMEOUT = 30.0  # seconds, for connecting and for each read
TEST_FRACTION = 0.2      # share of each label's CSV rows that go to the test set
SPLIT_SEED = 0
_NPZ_KEYS = ("x_train", "y_train", "x_test", "y_test")


def cache_dir():
    """Returns the folder where downloaded data sets are kept (created if needed).

    It is `$RNNKIT_HOME/datasets` when `RNNKIT_HOME` is set, else `~/.rnnkit/datasets`, or
    `/tmp/.rnnkit/datasets` when that folder cannot be written.

    Returns:
        The folder's path.
    """
    home = os.environ.get("RNNKIT_HOME")
    base = os.path.expanduser(home) if home else os.path.join(os.path.expanduser("~"),
                                                               ".rnnkit")
    datadir = os.path.join(base, "datasets")
    try:
        os.makedirs(datadir, exist_ok=True)
        if os.access(datadir, os.W_OK):
            return datadir
    except OSError:
        pass
    datadir = os.path.join("/tmp", ".rnnkit", "datasets")
    os.makedirs(datadir, exist_ok=True)
    return datadir


def _sha256(path, chunk=1 << 20):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(chunk), b""):
            digest.update(block)
    return digest.hexdigest()


def _download(url, dest, timeout=DOWNLOAD_TIMEOUT):
    """Fetch `url` into the file `dest` (network errors propagate)."""
    import urllib.request   # only a download needs it
    with urllib.request.urlopen(url, timeout=timeout) as response, open(dest, "wb") as f:
        shutil.copyfileobj(response, f, 1 << 20)


def _offline_message(url, dest, reason):
    return (f"Could not download the MNIST data set from {url} to {dest}: {reason}. "
            "This machine may have no network access. Either download mnist.npz elsewhere "
            f"and copy it to {dest} (or pass its location: "
            "`mnist.load_data(path='/path/to/mnist.npz')`), or pass a local CSV file of 785 "
            "columns (784 pixels then the label), e.g. "
            "`mnist.load_data(path='mnist_5k.csv.gz')`.")


def _fetch(fname):
    """The path of the verified `mnist.npz`, downloading it when needed."""
    dest = os.path.join(cache_dir(), fname)
    if os.path.exists(dest):
        if _sha256(dest) == FILE_HASH:
            return dest
        warnings.warn(f"A local file was found at {dest}, but its SHA-256 does not match the "
                      "known hash of mnist.npz (incomplete or outdated); downloading it again.",
                      stacklevel=3)
    folder = os.path.dirname(dest)
    if folder:
        os.makedirs(folder, exist_ok=True)
    partial = dest + ".part"
    try:
        _download(ORIGIN, partial)
    except OSError as e:   # urllib.error.URLError included
        if os.path.exists(partial):
            os.remove(partial)
        reason = getattr(e, "reason", None) or e
        raise ConnectionError(_offline_message(ORIGIN, dest, reason)) from e
    except BaseException:
        if os.path.exists(partial):
            os.remove(partial)
        raise
    got = _sha256(partial)
    if got != FILE_HASH:
        os.remove(partial)
        raise ValueError(f"The file downloaded from {ORIGIN} is incomplete or corrupted: its "
                         f"SHA-256 is {got}, expected {FILE_HASH}. It was deleted; try again, or "
                         f"copy a good mnist.npz to {dest}.")
    os.replace(partial, dest)
    return dest


def _is_zip(path):
    with open(path, "rb") as f:
        return f.read(4) == b"PK\x03\x04"


def _load_npz(path):
    with np.load(path, allow_pickle=False) as f:
        missing = [k for k in _NPZ_KEYS if k not in f.files]
        if missing:
            raise ValueError(f"{path} is not an MNIST .npz file: it lacks the arrays "
                             f"{missing} (it has {sorted(f.files)}); expected {list(_NPZ_KEYS)}.")
        x_train, y_train, x_test, y_test = (f[k] for k in _NPZ_KEYS)
    return (x_train, y_train), (x_test, y_test)


def _open_text(path):
    with open(path, "rb") as f:
        gz = f.read(2) == b"\x1f\x8b"
    return gzip.open(path, "rt") if gz else open(path)


def _read_rows(path, header, dtype):
    with _open_text(path) as f:
        return np.loadtxt(f, delimiter=",", dtype=dtype, ndmin=2, skiprows=int(header))


def load_csv(path):
    """Reads an MNIST CSV file (optionally gzipped), without splitting it.

    Each row holds one image: 784 grey levels (0-255, row-major), then the label. A header
    line is skipped; values written as floats (`"12.0"`) are accepted.

    Args:
        path: Path of a `.csv` or `.csv.gz` file.

    Returns:
        `(x, y)`: uint8 arrays of shapes `(N, 28, 28)` and `(N,)`, in file order.

    Raises:
        ValueError: If the file has no rows, rows without 785 columns, or values that are
            not integers from 0 to 255.
    """
    path = os.fspath(path)
    with _open_text(path) as f:
        header = any(c.isalpha() for c in f.readline())
    try:
        data = _read_rows(path, header, np.int64)
    except ValueError:  # values written as floats ("12.0")
        data = _read_rows(path, header, np.float64)
    if data.shape[0] == 0:
        raise ValueError(f"{path} holds no rows.")
    if data.shape[1] != 785:
        raise ValueError(f"{path} has {data.shape[1]} columns per row; an MNIST CSV has 785 "
                         "(784 pixel values, then the label).")
    if (not np.all(np.isfinite(data)) or np.any(data != np.round(data)) or data.min() < 0
            or data.max() > 255):
        raise ValueError(f"{path}: the values must be integers from 0 to 255.")
    data = data.astype(np.uint8)
    return data[:, :784].reshape(-1, 28, 28), data[:, 784].copy()


def _split(x, y, test_fraction=TEST_FRACTION, seed=SPLIT_SEED):
    """Per label, the first (1 - test_fraction) of its rows train and the rest test; each part
    is then shuffled with a fixed seed."""
    train_idx, test_idx = [], []
    for label in np.unique(y):
        rows = np.flatnonzero(y == label)
        n_test = int(len(rows) * test_fraction)
        train_idx.append(rows[:len(rows) - n_test])
        test_idx.append(rows[len(rows) - n_test:])
    rng = np.random.default_rng(seed)
    train_idx = rng.permutation(np.concatenate(train_idx))
    test_idx = rng.permutation(np.concatenate(test_idx))
    return (x[train_idx], y[train_idx]), (x[test_idx], y[test_idx])


def load_data(path="mnist.npz"):
    """Loads the MNIST data set of handwritten digits.

    A local file is read when `path` names one; otherwise Keras' `mnist.npz` is taken from
    the cache folder (`cache_dir()`), downloaded first if needed and checked against its
    known SHA-256 (see the module docstring).

    Args:
        path: A local `.npz` or CSV (`.csv`, `.csv.gz`) file to read, or else the name
            under which Keras' `mnist.npz` is cached (relative to the cache folder).
            Defaults to `"mnist.npz"`.

    Returns:
        `(x_train, y_train), (x_test, y_test)`: uint8 images `(N, 28, 28)` with grey levels
        0-255 and uint8 labels `(N,)` from 0 to 9. Keras' file gives 60,000 training and
        10,000 test images; a CSV is split 80/20 per label, in a fixed order.

    Raises:
        ConnectionError: If the file must be downloaded and the network is unavailable (the
            message says where to put the file by hand).
        ValueError: If a downloaded file fails the SHA-256 check, or a local file is
            malformed.
    """
    path = os.path.expanduser(os.fspath(path))
    if os.path.isfile(path):
        if path.endswith(".npz") or _is_zip(path):
            return _load_npz(path)
        return _split(*load_csv(path))
    return _load_npz(_fetch(path))
