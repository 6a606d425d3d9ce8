"""Argument checks shared by the convolution, pooling and reshaping layers (not public)."""

from __future__ import annotations

from rnnkit.layers.core._checks import is_int

DATA_FORMATS = ("channels_last", "channels_first")


def standardize_data_format(data_format):
    """`None` -> the configured image data format (`"channels_last"` by default); otherwise
    `"channels_last"` or `"channels_first"` (any case); ValueError for anything else."""
    if data_format is None:
        try:
            from rnnkit import config
            data_format = config.image_data_format()
        except (ImportError, AttributeError):
            data_format = "channels_last"
    if not isinstance(data_format, str) or data_format.lower() not in DATA_FORMATS:
        raise ValueError(f"The `data_format` argument must be one of {DATA_FORMATS}. "
                         f"Received: data_format={data_format!r}")
    return data_format.lower()


def standardize_tuple(value, n, name, allow_zero=False):
    """An int or an iterable of `n` ints -> a tuple of `n` ints (positive, or >= 0 with
    `allow_zero`); ValueError naming the argument otherwise."""
    kind = "non-negative" if allow_zero else "positive"
    if is_int(value):
        values = (int(value),) * n
    else:
        try:
            values = tuple(value)
        except TypeError:
            raise ValueError(f"The `{name}` argument must be a tuple of {n} integers. "
                             f"Received {name}={value!r}") from None
        if len(values) != n or not all(is_int(v) for v in values):
            raise ValueError(f"The `{name}` argument must be a tuple of {n} integers. "
                             f"Received {name}={value!r}")
        values = tuple(int(v) for v in values)
    lowest = 0 if allow_zero else 1
    if any(v < lowest for v in values):
        raise ValueError(f"The `{name}` argument must be a tuple of {n} {kind} integers. "
                         f"Received {name}={value!r}, including values {values}")
    return values


def standardize_padding(padding, allow_causal=False):
    """'valid' / 'same' (and 'causal' for Conv1D), case-insensitive; ValueError otherwise."""
    allowed = ("valid", "same", "causal") if allow_causal else ("valid", "same")
    if not isinstance(padding, str) or padding.lower() not in allowed:
        raise ValueError(f"The `padding` argument must be one of {allowed}. "
                         f"Received: padding={padding!r}")
    return padding.lower()
