"""Optimizers (`keras.optimizers`) with Keras 3's update rules, and learning-rate schedules.

    SGD(learning_rate=0.01, momentum=0.0, nesterov=False)
    Adam(learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, amsgrad=False)
    AdamW(learning_rate=0.001, weight_decay=0.004, ...Adam's arguments)
    RMSprop(learning_rate=0.001, rho=0.9, momentum=0.0, epsilon=1e-7, centered=False)
    Adagrad(learning_rate=0.001, initial_accumulator_value=0.1, epsilon=1e-7)
    Nadam(learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7)
    Adamax(learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7)
    Adadelta(learning_rate=0.001, rho=0.95, epsilon=1e-7)
    Ftrl(learning_rate=0.001, learning_rate_power=-0.5, initial_accumulator_value=0.1,
         l1_regularization_strength=0.0, l2_regularization_strength=0.0,
         l2_shrinkage_regularization_strength=0.0, beta=0.0)
    Lion(learning_rate=0.001, beta_1=0.9, beta_2=0.99)
    Lamb(learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7)
    Adafactor(learning_rate=0.001, beta_2_decay=-0.8, epsilon_1=1e-30, epsilon_2=1e-3,
              clip_threshold=1.0, relative_step=True)
    LossScaleOptimizer(inner_optimizer, initial_scale=2**15, dynamic_growth_steps=2000)

each with the common arguments of `Optimizer` (weight_decay, clipnorm, clipvalue,
global_clipnorm, use_ema, ema_momentum, ema_overwrite_frequency, loss_scale_factor,
gradient_accumulation_steps, name). `get("adam")` (any case), config dicts and instances;
`schedules` holds the learning-rate schedules.
"""

from __future__ import annotations

from rnnkit import saving as _saving
from rnnkit.optimizers import schedules
from rnnkit.optimizers.adadelta import Adadelta
from rnnkit.optimizers.adafactor import Adafactor
from rnnkit.optimizers.adagrad import Adagrad
from rnnkit.optimizers.adam import Adam
from rnnkit.optimizers.adamax import Adamax
from rnnkit.optimizers.adamw import AdamW
from rnnkit.optimizers.base_optimizer import BaseOptimizer, Optimizer
from rnnkit.optimizers.ftrl import Ftrl
from rnnkit.optimizers.lamb import Lamb
from rnnkit.optimizers.lion import Lion
from rnnkit.optimizers.loss_scale_optimizer import LossScaleOptimizer
from rnnkit.optimizers.nadam import Nadam
from rnnkit.optimizers.rmsprop import RMSprop
from rnnkit.optimizers.sgd import SGD

__all__ = ["Adadelta", "Adafactor", "Adagrad", "Adam", "Adamax", "AdamW", "BaseOptimizer",
           "Ftrl", "Lamb", "Lion", "LossScaleOptimizer", "Nadam", "Optimizer", "RMSprop",
           "SGD", "deserialize", "get", "schedules", "serialize"]

_ALL_CLASSES = (Optimizer, SGD, Adam, AdamW, RMSprop, Adagrad, Nadam, Adamax, Adadelta, Ftrl,
                Lion, Lamb, Adafactor, LossScaleOptimizer)
ALL_OBJECTS_DICT = {cls.__name__.lower(): cls for cls in _ALL_CLASSES}


def serialize(optimizer):
    """Serializes an optimizer for saving.

    Args:
        optimizer: An `Optimizer`.

    Returns:
        A config dict (`{"module", "class_name", "config", ...}`).
    """
    return _saving.serialize(optimizer)


def deserialize(config, custom_objects=None):
    """Returns an optimizer from its serialized form.

    The class name of a built-in optimizer is case-insensitive (`"Adam"`, `"adam"`).

    Args:
        config: A config dict from `serialize()`.
        custom_objects: Optional dict mapping names to custom optimizers.

    Returns:
        A new, unbuilt optimizer.
    """
    if isinstance(config, dict) and isinstance(config.get("class_name"), str):
        key = config["class_name"].lower()
        if key in ALL_OBJECTS_DICT and not (custom_objects and
                                            config["class_name"] in custom_objects):
            config = {**config, "class_name": ALL_OBJECTS_DICT[key].__name__,
                      "module": "rnnkit.optimizers"}
    return _saving.deserialize(config, custom_objects=custom_objects,
                               module_objects={c.__name__: c for c in _ALL_CLASSES})


def get(identifier):
    """Returns an optimizer from an identifier.

    Args:
        identifier: A name (`"sgd"`, `"adam"`, `"adamw"`, `"rmsprop"`, `"adagrad"`,
            `"nadam"`, `"adamax"`, `"adadelta"`, `"ftrl"`, `"lion"`, `"lamb"`, `"adafactor"`, any
            case, or a registered custom optimizer's name) for an instance with the default
            arguments, a config dict, an `Optimizer` (returned as is), or `None`.

    Returns:
        An `Optimizer`, or `None` for `None`.

    Raises:
        ValueError: If the identifier cannot be interpreted.

    Example:

    >>> import rnnkit as keras
    >>> keras.optimizers.get("Adam")
    <Adam name=adam...>
    """
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
