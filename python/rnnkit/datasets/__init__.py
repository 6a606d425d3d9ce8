"""Small data sets (`keras.datasets`): `mnist`, `imdb` and `reuters` (`load_data()`, and
`get_word_index()` for the text ones).

The loaders are imported on first use, so `import rnnkit` does not pull in what only a download
needs (urllib, http, ssl).
"""

import importlib

__all__ = ["imdb", "mnist", "reuters"]


def __getattr__(name):
    if name in __all__:
        module = importlib.import_module(f"rnnkit.datasets.{name}")
        globals()[name] = module
        return module
    raise AttributeError(f"module 'rnnkit.datasets' has no attribute {name!r}")


def __dir__():
    return sorted(list(globals()) + __all__)
