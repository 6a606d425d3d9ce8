"""Saving and loading models from the models package: thin wrappers of `rnnkit.saving`.

The formats live in `rnnkit.saving` (`saving_lib` for `.keras` and `.weights.h5`,
`legacy_h5_format` for `.h5`); these functions keep the names the models use.
"""

from __future__ import annotations


def save_model(model, filepath, overwrite=True, **kwargs):
    """Writes a model to `.keras` or legacy `.h5` (see `rnnkit.saving.save_model`)."""
    from rnnkit.saving import saving_api
    saving_api.save_model(model, filepath, overwrite=overwrite, **kwargs)


def load_model(filepath, custom_objects=None, compile=True, safe_mode=True):
    """Reads a model from a `.keras` or legacy `.h5` file (see `rnnkit.saving.load_model`)."""
    from rnnkit.saving import saving_api
    return saving_api.load_model(filepath, custom_objects=custom_objects, compile=compile,
                                 safe_mode=safe_mode)


def save_weights(model, filepath, overwrite=True):
    """Writes a model's weights to `.weights.h5` (see `rnnkit.saving.save_weights`)."""
    from rnnkit.saving import saving_api
    saving_api.save_weights(model, filepath, overwrite=overwrite)


def load_weights(model, filepath, skip_mismatch=False, **kwargs):
    """Loads weights from `.weights.h5`, `.keras` or legacy `.h5` (see
    `rnnkit.saving.load_weights`)."""
    from rnnkit.saving import saving_api
    saving_api.load_weights(model, filepath, skip_mismatch=skip_mismatch, **kwargs)
