"""The file-level API: `save_model`, `load_model`, `save_weights`, `load_weights`.

Each function picks the file format from the file's name (when writing) or its content
(when reading) and calls the reader or writer of that format.
"""

from __future__ import annotations

import contextlib
import os
import warnings
import zipfile
import zlib

__all__ = ["load_model", "load_weights", "save_model", "save_weights"]


_HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"


def _is_hdf5(filepath):
    with open(filepath, "rb") as handle:
        head = handle.read(8)
    if head == _HDF5_SIGNATURE:
        return True
    try:
        import h5py
        return bool(h5py.is_hdf5(filepath))
    except (ImportError, OSError):
        return False


@contextlib.contextmanager
def _damaged_file_errors(filepath):
    """Turns the errors h5py and zipfile raise on a damaged file (BadZipFile, RuntimeError,
    KeyError, OSError, ...) into a `ValueError` that names the file."""
    from rnnkit.saving.saving_lib import FileFormatError
    try:
        yield
    except FileFormatError:
        raise
    except (zipfile.BadZipFile, zlib.error, EOFError, RuntimeError, KeyError, OSError,
            UnicodeError) as e:
        raise FileFormatError(f"'{filepath}' is damaged or not a valid model file "
                              f"({type(e).__name__}: {e})") from e


def _check_exists(filepath):
    if not os.path.exists(filepath):
        raise FileNotFoundError(f"File not found: filepath={filepath}. Please ensure the file "
                                "is an accessible `.keras` zip file or `.h5` file.")


def save_model(model, filepath, overwrite=True, zipped=None, include_optimizer=True,
               **kwargs):
    """Saves a model to a file; `model.save(filepath)` calls it.

    - `.keras`: Keras 3's zip (`metadata.json`, `config.json`, `model.weights.h5`), with
      the optimizer's state when the model is compiled; Keras 3 loads it.
    - `.h5` / `.hdf5`: the legacy HDF5 format, as Keras 3 writes it.

    Args:
        model: The model.
        filepath: Path ending in `.keras`, `.h5` or `.hdf5`.
        overwrite: Bool, overwrite an existing file. Defaults to `True`.
        zipped: `None` or `True` (a `.keras` file is always a zip); `False` is refused.
        include_optimizer: Bool, write the optimizer's variables into an `.h5` file.
            Defaults to `True`.
        **kwargs: `save_format` (deprecated in Keras 3: accepted with a warning when the
            suffix says the format, else a `ValueError`). Any other keyword is a
            `ValueError`, as in Keras.

    Raises:
        ValueError: If `filepath` has another suffix, `zipped=False`, or an unsupported
            keyword is given.
        FileExistsError: If the file exists and `overwrite` is `False`.
    """
    from rnnkit.saving import legacy_h5_format, saving_lib
    filepath = os.fspath(filepath)
    save_format = kwargs.pop("save_format", False)
    if kwargs:
        raise ValueError(f"The following argument(s) are not supported: {list(kwargs)}")
    if save_format:
        if not filepath.endswith((".keras", ".h5", ".hdf5")):
            raise ValueError("The `save_format` argument is deprecated in Keras 3: pass a file "
                             "path ending in `.keras` or `.h5` instead. "
                             f"Received: save_format={save_format}")
        warnings.warn("The `save_format` argument is deprecated in Keras 3 and ignored: the "
                      f"format follows the file's suffix. Received: save_format={save_format}",
                      UserWarning, stacklevel=3)
    if zipped is False:
        raise ValueError("`zipped=False` (an unzipped .keras directory) is not supported; "
                         "rnnkit writes the zipped .keras file. Received: zipped=False")
    if filepath.endswith(".keras"):
        saving_lib.save_model(model, filepath, overwrite=overwrite)
    elif filepath.endswith((".h5", ".hdf5")):
        legacy_h5_format.save_model_to_hdf5(model, filepath, overwrite=overwrite,
                                            include_optimizer=include_optimizer)
    else:
        raise ValueError(
            "Invalid filepath extension for saving: the filepath must end in `.keras` (Keras "
            f"3's format) or `.h5` (legacy HDF5). Received: filepath={filepath}")


def load_model(filepath, custom_objects=None, compile=True, safe_mode=True):
    """Loads a model saved by rnnkit, Keras 3 or tf.keras 2.x (`rnnkit.models.load_model`
    is the same).

    The format is read from the file's content: a `.keras` zip (Keras 3's format, or
    rnnkit's old zip with `model.weights.npz`, with a `DeprecationWarning`) or a legacy
    HDF5 model (`model.save("x.h5")` of Keras 3 or tf.keras 2.x). Classes are looked up by
    name (built-ins, registered classes, `custom_objects`, `custom_object_scope`), never
    unpickled and never imported from a module the file names. Every stored array is
    checked against the model before any is assigned.

    Args:
        filepath: The file's path.
        custom_objects: Optional dict of names to custom classes and functions.
        compile: Bool, compile the model with the saved optimizer, loss and metrics and
            restore the optimizer's state. Defaults to `True`.
        safe_mode: Bool, refuse a serialized lambda (its bytecode would run). Defaults
            to `True`.

    Returns:
        The model, with its weights.

    Raises:
        ValueError: If the file is damaged, hostile or not a model file, a class cannot be
            found, or the weights do not match the architecture (the message names the
            path and the expected and found shapes).
        FileNotFoundError: If the file does not exist.

    Example:

    >>> import os, tempfile, numpy as np, rnnkit as keras
    >>> model = keras.Sequential([keras.Input((5, 3)), keras.layers.LSTM(2)])
    >>> path = os.path.join(tempfile.mkdtemp(), "model.keras")
    >>> model.save(path)
    >>> restored = keras.saving.load_model(path)
    >>> x = np.ones((1, 5, 3), dtype="float32")
    >>> bool(np.allclose(restored.predict(x, verbose=0), model.predict(x, verbose=0)))
    True
    """
    from rnnkit.saving import legacy_h5_format, saving_lib
    filepath = os.fspath(filepath)
    if not isinstance(safe_mode, bool):
        raise TypeError(f"`safe_mode` must be a bool, got {safe_mode!r}")
    _check_exists(filepath)
    if zipfile.is_zipfile(filepath):
        with _damaged_file_errors(filepath):
            return saving_lib.load_model(filepath, custom_objects=custom_objects,
                                         compile=compile, safe_mode=safe_mode)
    if _is_hdf5(filepath):
        with _damaged_file_errors(filepath):
            return legacy_h5_format.load_model_from_hdf5(
                filepath, custom_objects=custom_objects, compile=compile,
                safe_mode=safe_mode)
    raise ValueError(f"File format not supported: filepath={filepath}. rnnkit reads `.keras` "
                     "zip files and legacy `.h5` model files.")


def save_weights(model, filepath, overwrite=True, **kwargs):
    """Saves a model's weights; `model.save_weights(filepath)` calls it.

    The file is Keras 3's `.weights.h5` (the weight tree of a `.keras` file, with the
    optimizer's variables when it is built). A name ending in `.weights.npz` still writes
    rnnkit's old NumPy format, with a `DeprecationWarning`.

    Args:
        model: The model.
        filepath: Path ending in `.weights.h5`.
        overwrite: Bool, overwrite an existing file. Defaults to `True`.
        **kwargs: Accepted for Keras compatibility; ignored.

    Raises:
        ValueError: If `filepath` has another suffix.
        FileExistsError: If the file exists and `overwrite` is `False`.
    """
    from rnnkit.saving import saving_lib
    del kwargs
    filepath = os.fspath(filepath)
    if filepath.endswith(".weights.h5"):
        saving_lib.save_weights(model, filepath, overwrite=overwrite)
    elif filepath.endswith(".weights.npz"):
        warnings.warn("`.weights.npz` is rnnkit's old weights format; save to `.weights.h5` "
                      "(Keras 3's format) instead.", DeprecationWarning, stacklevel=3)
        _save_npz_weights(model, filepath, overwrite)
    else:
        raise ValueError(
            "The filename must end in `.weights.h5` (Keras 3's weights format; "
            f"`.weights.npz` is rnnkit's old one). Received: filepath={filepath}")


def _save_npz_weights(model, filepath, overwrite):
    import numpy as np
    if os.path.exists(filepath) and not overwrite:
        raise FileExistsError(f"{filepath} exists and overwrite=False")
    arrays = {f"{index:05d}": w.numpy() for index, w in enumerate(model.weights)}
    with open(filepath, "wb") as handle:
        np.savez(handle, __paths__=np.array([w.path for w in model.weights], dtype=np.str_),
                 **arrays)


def load_weights(model, filepath, skip_mismatch=False, **kwargs):
    """Loads weights into a built model; `model.load_weights(filepath)` calls it.

    Reads Keras 3's `.weights.h5`, the weights of a `.keras` file, and legacy `.h5` files
    (a full model's, or tf.keras 2.x `save_weights("x.h5")`), matched as Keras matches them;
    also rnnkit's old `.weights.npz` (with a `DeprecationWarning`). Every array is checked
    before any is assigned: on an error no weight has changed.

    Args:
        model: The model, built.
        filepath: The file's path.
        skip_mismatch: Bool, skip (with a warning) the layers whose saved weights do not
            match instead of raising. Defaults to `False`.
        **kwargs: `by_name` (bool, legacy `.h5` files only): match layers by name instead
            of by position, as Keras does. Any other keyword is a `ValueError`.

    Raises:
        ValueError: If the model is not built, the file is damaged or not a weights file,
            the weights do not match (naming the path, expected and found shapes), or an
            unknown keyword is given.
        FileNotFoundError: If the file does not exist.
    """
    by_name = kwargs.pop("by_name", False)
    if kwargs:
        raise ValueError(f"Invalid keyword arguments: {kwargs} (load_weights takes "
                         "`skip_mismatch` and, for legacy .h5 files, `by_name`)")
    if not isinstance(by_name, bool):
        raise TypeError(f"`by_name` must be a bool, got {by_name!r}")
    filepath = os.fspath(filepath)
    _check_exists(filepath)
    if not model.built and not model.weights:
        raise ValueError(f"Model '{model.name}' is not built yet: call it on data or build() it "
                         "before load_weights()")
    with _damaged_file_errors(filepath):
        _load_weights(model, filepath, skip_mismatch, by_name)


def _load_weights(model, filepath, skip_mismatch, by_name):
    from rnnkit.saving import legacy_h5_format, saving_lib
    source = f"'{filepath}'"
    if by_name and not _is_hdf5(filepath):
        raise ValueError(f"`by_name=True` applies to legacy .h5 files only. Received: "
                         f"filepath={filepath}")
    if filepath.endswith(".weights.npz") and not zipfile.is_zipfile(filepath):
        raise ValueError(f"{source} is not a valid .npz file")
    if filepath.endswith(".weights.npz"):
        warnings.warn(f"{source} is in rnnkit's old `.weights.npz` format; save to "
                      "`.weights.h5` instead.", DeprecationWarning, stacklevel=3)
        limit = os.path.getsize(filepath) * saving_lib.MAX_INFLATION + (1 << 20)
        archive, members = saving_lib.open_keras_zip(filepath)
        with archive:
            total = 0
            for info in members.values():
                total += info.file_size
                if total > limit:
                    raise ValueError(f"{source}: the arrays inflate beyond {limit} bytes")
        with open(filepath, "rb") as handle:
            arrays = saving_lib._npz_arrays(handle.read(), source)
        saving_lib.assign_by_position(model.weights, arrays, source, model.name,
                                      skip_mismatch)
        return
    if zipfile.is_zipfile(filepath):
        saving_lib.load_weights(model, filepath, skip_mismatch=skip_mismatch)
        return
    if not _is_hdf5(filepath):
        raise ValueError(f"{source} is neither a `.weights.h5`/`.h5` HDF5 file nor a `.keras` "
                         "zip")
    import h5py
    try:
        h5file = h5py.File(filepath, "r")
    except OSError as e:
        raise ValueError(f"{source} is not a valid HDF5 file ({e})") from None
    with h5file:
        if legacy_h5_format.is_legacy_h5(h5file):
            legacy_h5_format.load_weights_from_hdf5(h5file, model, source,
                                                    skip_mismatch=skip_mismatch,
                                                    by_name=by_name)
            return
        if by_name:
            raise ValueError(f"`by_name=True` applies to legacy .h5 files only; {source} is a "
                             "Keras 3 weights file, whose weights are found by path")
        else:
            saving_lib.read_weight_tree(h5file, model, source, skip_mismatch=skip_mismatch)
