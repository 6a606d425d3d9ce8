"""The file-level API: `save_model`, `load_model`, `save_weights`, `load_weights`.

Each function picks the file format from the file's name (when writing) or its content
(when reading) and calls the reader or writer of that format.
"""

from __future__ import annotations

__all__ = ["load_model", "load_weights", "save_model", "save_weights"]


def save_model(model, filepath, overwrite=True, **kwargs):
    """Saves a model to a `.keras` file; the same as `model.save(filepath)`.

    Args:
        model: The model.
        filepath: Path ending in `.keras`.
        overwrite: Bool, overwrite an existing file. Defaults to `True`.
        **kwargs: Accepted for Keras compatibility; ignored.

    Raises:
        ValueError: If `filepath` does not end in `.keras`.
        FileExistsError: If the file exists and `overwrite` is `False`.
    """
    model.save(filepath, overwrite=overwrite)


def load_model(filepath, custom_objects=None, compile=True, safe_mode=True):
    """Loads a model saved by `model.save()` (`rnnkit.models.load_model` is the same).

    Classes are looked up by name (built-ins, registered classes, `custom_objects`), never
    unpickled; the weights are then assigned and, with `compile`, the model is compiled
    with the saved optimizer, loss and metrics.

    Args:
        filepath: Path of a `.keras` file.
        custom_objects: Optional dict of names to custom classes and functions.
        compile: Bool, compile the model when the file holds compile arguments. Defaults
            to `True`.
        safe_mode: Bool, refuse a serialized lambda. Defaults to `True`.

    Returns:
        The model, with its weights.

    Raises:
        ValueError: If `filepath` does not end in `.keras`, a class cannot be found, or the
            weights do not match the architecture.
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
    from rnnkit.models import file_io
    return file_io.load_model(filepath, custom_objects=custom_objects, compile=compile)


def save_weights(model, filepath, overwrite=True, **kwargs):
    """Saves a model's weights; the same as `model.save_weights(filepath)`.

    Args:
        model: The model.
        filepath: The file's path.
        overwrite: Bool, overwrite an existing file. Defaults to `True`.
        **kwargs: Accepted for Keras compatibility; ignored.
    """
    model.save_weights(filepath, overwrite=overwrite)


def load_weights(model, filepath, skip_mismatch=False, **kwargs):
    """Loads weights into a model; the same as `model.load_weights(filepath)`.

    Args:
        model: The model.
        filepath: The file's path.
        skip_mismatch: Bool, skip weights whose shape differs. Defaults to `False`.
        **kwargs: Accepted for Keras compatibility; ignored.
    """
    model.load_weights(filepath, skip_mismatch=skip_mismatch)
