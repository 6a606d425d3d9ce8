"""Models: `Sequential`, functional `Model(inputs, outputs)`, `Input`, and saving/loading."""

from rnnkit.models.functional import Functional, Input, InputLayer, Model
from rnnkit.models.sequential import Sequential


def load_model(filepath, custom_objects=None, compile=True, safe_mode=True):
    from rnnkit.models import file_io
    return file_io.load_model(filepath, custom_objects=custom_objects, compile=compile)


__all__ = ["Functional", "Input", "InputLayer", "Model", "Sequential", "load_model"]
