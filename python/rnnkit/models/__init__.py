"""Models: `Sequential`, functional `Model(inputs, outputs)`, `Input`, and saving/loading."""

from rnnkit.models.functional import Functional, Input, InputLayer, Model
from rnnkit.models.sequential import Sequential
from rnnkit.models.cloning import clone_model, model_from_json  # noqa: E402,F401


def load_model(filepath, custom_objects=None, compile=True, safe_mode=True):
    """Loads a model saved by `model.save()` (`rnnkit.saving.load_model` calls it).

    Classes are looked up by name (built-ins, registered classes, `custom_objects`), never
    unpickled; the weights are then assigned and, with `compile`, the model is compiled
    with the saved optimizer, loss and metrics.

    Args:
        filepath: Path of a `.keras` file.
        custom_objects: Optional dict of names to custom classes and functions.
        compile: Bool, compile the model when the file holds compile arguments. Defaults
            to `True`.
        safe_mode: Accepted for Keras compatibility; currently not used (a saved lambda is
            always refused).

    Returns:
        The model, with its weights.

    Raises:
        ValueError: If `filepath` does not end in `.keras`, a class cannot be found, or the
            weights do not match the architecture.
        FileNotFoundError: If the file does not exist.
    """
    from rnnkit.models import file_io
    return file_io.load_model(filepath, custom_objects=custom_objects, compile=compile,
                              safe_mode=safe_mode)


def save_model(model, filepath, overwrite=True, zipped=None, **kwargs):
    """Saves a model to a `.keras` (or legacy `.h5`) file: `rnnkit.saving.save_model`.

    Args:
        model: The model.
        filepath: Path ending in `.keras`, `.h5` or `.hdf5`.
        overwrite: Bool, overwrite an existing file. Defaults to `True`.
        zipped: `None` or `True` (a `.keras` file is always a zip).
        **kwargs: Passed on to `rnnkit.saving.save_model` (`include_optimizer`, ...).
    """
    from rnnkit.saving import saving_api
    return saving_api.save_model(model, filepath, overwrite=overwrite, zipped=zipped, **kwargs)


__all__ = ["Functional", "Input", "InputLayer", "Model", "Sequential", "clone_model",
           "load_model", "model_from_json", "save_model"]
