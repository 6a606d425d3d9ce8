"""Small data sets (`keras.datasets`): `rnnkit.datasets.mnist.load_data()`."""

from rnnkit.datasets import mnist

__all__ = ["mnist"]
