"""Argument checks shared by the non-recurrent layers (not public)."""

from __future__ import annotations

import numbers

import numpy as np


def is_int(value):
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def check_bool(value, argument):
    """`value` as a Python bool: a bool, np.bool_ or the integer 0 or 1 (Keras takes these);
    TypeError naming `argument` for anything else."""
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)) and value in (0, 1):
        return bool(value)
    raise TypeError(f"Argument `{argument}` must be a bool (True/False, np.bool_ or 0/1), got "
                    f"{value!r} of type {type(value).__name__}")


def check_float(value, argument):
    """`value` as a Python float; TypeError naming `argument` for a non-number."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"Argument `{argument}` must be a float, got {value!r} "
                        f"of type {type(value).__name__}")
    return float(value)


def refuse_lora(layer_name, lora_rank, lora_alpha):
    if lora_rank is not None:
        raise ValueError(
            f"{layer_name}: argument `lora_rank` is not supported by rnnkit (LoRA fine-tuning is "
            f"not implemented); received lora_rank={lora_rank!r}. Pass lora_rank=None.")
    if lora_alpha is not None and not isinstance(lora_alpha, numbers.Real):
        raise TypeError(f"{layer_name}: argument `lora_alpha` must be a number or None, got "
                        f"{lora_alpha!r}")


def refuse_quantization(layer_name, quantization_config):
    if quantization_config is not None:
        raise ValueError(
            f"{layer_name}: argument `quantization_config` is not supported by rnnkit "
            f"(quantization is not implemented); received {quantization_config!r}. "
            f"Pass quantization_config=None.")


def normalize_shape(input_shape, layer, argument="input_shape"):
    """A tuple of ints / None from a shape-like; ValueError for anything else."""
    try:
        shape = tuple(None if d is None else int(d) for d in input_shape)
    except TypeError:
        raise ValueError(f"Layer '{layer.name}': `{argument}` must be a tuple of ints (or None "
                         f"for unknown dimensions), got {input_shape!r}") from None
    return shape
