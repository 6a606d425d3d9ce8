"""Optimizers (`keras.optimizers`) with Keras 3's update rules, and learning-rate schedules.

    SGD(learning_rate=0.01, momentum=0.0, nesterov=False)
    Adam(learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, amsgrad=False)
    AdamW(learning_rate=0.001, weight_decay=0.004, ...Adam's arguments)
    RMSprop(learning_rate=0.001, rho=0.9, momentum=0.0, epsilon=1e-7, centered=False)
    Adagrad(learning_rate=0.001, initial_accumulator_value=0.1, epsilon=1e-7)

each with the common arguments of `Optimizer` (weight_decay, clipnorm, clipvalue,
global_clipnorm, use_ema, ema_momentum, ema_overwrite_frequency, loss_scale_factor,
gradient_accumulation_steps, name). `get("adam")` (any case), config dicts and instances;
`schedules` holds the learning-rate schedules.
"""

from __future__ import annotations

from rnnkit import saving as _saving
from rnnkit.optimizers import schedules
from rnnkit.optimizers.adagrad import Adagrad
from rnnkit.optimizers.adam import Adam
from rnnkit.optimizers.adamw import AdamW
from rnnkit.optimizers.base_optimizer import BaseOptimizer, Optimizer
from rnnkit.optimizers.rmsprop import RMSprop
from rnnkit.optimizers.sgd import SGD

__all__ = ["Adagrad", "Adam", "AdamW", "BaseOptimizer", "Optimizer", "RMSprop", "SGD",
           "deserialize", "get", "schedules", "serialize"]

_ALL_CLASSES = (Optimizer, SGD, Adam, AdamW, RMSprop, Adagrad)
ALL_OBJECTS_DICT = {cls.__name__.lower(): cls for cls in _ALL_CLASSES}


def serialize(optimizer):
    """The config dict of an optimizer (`rnnkit.saving.serialize`)."""
    return _saving.serialize(optimizer)


def deserialize(config, custom_objects=None):
    """An optimizer from `serialize()` output; the class name is case-insensitive for the
    built-in optimizers ("Adam", "adam", "ADAM")."""
    if isinstance(config, dict) and isinstance(config.get("class_name"), str):
        key = config["class_name"].lower()
        if key in ALL_OBJECTS_DICT and not (custom_objects and
                                            config["class_name"] in custom_objects):
            config = {**config, "class_name": ALL_OBJECTS_DICT[key].__name__,
                      "module": "rnnkit.optimizers"}
    return _saving.deserialize(config, custom_objects=custom_objects,
                               module_objects={c.__name__: c for c in _ALL_CLASSES})


def get(identifier):
    """An optimizer from a name ("sgd", "adam", "adamw", "rmsprop", "adagrad", any case: a
    default instance), a config dict or an instance. None gives None; anything else raises
    `ValueError("Could not interpret optimizer identifier: ...")`."""
    if identifier is None:
        return None
    if isinstance(identifier, Optimizer):
        return identifier
    if isinstance(identifier, str):
        cls = ALL_OBJECTS_DICT.get(identifier.lower())
        if cls is None:
            obj = _saving.get_registered_object(identifier)
            if isinstance(obj, type) and issubclass(obj, Optimizer):
                return obj()
            raise ValueError(
                f"Could not interpret optimizer identifier: {identifier!r}. Known optimizers: "
                f"{sorted(k for k in ALL_OBJECTS_DICT if k != 'optimizer')}.")
        return cls()
    if isinstance(identifier, dict):
        try:
            obj = deserialize(identifier)
        except (ValueError, TypeError) as e:
            raise ValueError(f"Could not interpret optimizer identifier: {identifier}. {e}") \
                from e
        if isinstance(obj, Optimizer):
            return obj
    raise ValueError(f"Could not interpret optimizer identifier: {identifier}")
