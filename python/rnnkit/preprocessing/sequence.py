"""`keras.preprocessing.sequence`: `pad_sequences` (the function of `rnnkit.utils`)."""

from rnnkit.utils import pad_sequences

__all__ = ["pad_sequences"]
