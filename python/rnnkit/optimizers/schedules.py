"""Learning-rate schedules (`keras.optimizers.schedules`).

A schedule maps the optimizer's step (its `iterations`, counted from 0 before each update) to a
learning rate. Values are computed like Keras: in float32 (unless `initial_learning_rate` is a
NumPy float64 value), from the step cast to that dtype; `step` may also be an array of steps.

    ExponentialDecay(initial_learning_rate, decay_steps, decay_rate, staircase=False)
        lr0 * decay_rate ** (step / decay_steps)       (floor of the exponent with staircase)
    InverseTimeDecay(initial_learning_rate, decay_steps, decay_rate, staircase=False)
        lr0 / (1 + decay_rate * step / decay_steps)    (floor of step / decay_steps with staircase)
    PolynomialDecay(initial_learning_rate, decay_steps, end_learning_rate=1e-4, power=1.0,
                    cycle=False)
        (lr0 - end) * (1 - min(step, decay_steps) / decay_steps) ** power + end
        (with cycle: decay_steps * ceil(step / decay_steps) instead, 1 period at step 0)
    PiecewiseConstantDecay(boundaries, values)
        values[0] for step <= boundaries[0], values[i] for boundaries[i-1] < step <= boundaries[i],
        values[-1] for step > boundaries[-1]
    CosineDecay(initial_learning_rate, decay_steps, alpha=0.0, warmup_target=None, warmup_steps=0)
        without warmup: lr0 * ((1 - alpha) * 0.5 * (1 + cos(pi * min(step, decay_steps) /
        decay_steps)) + alpha); with warmup_target: a linear ramp lr0 -> warmup_target over
        warmup_steps, then the cosine decay from warmup_target over decay_steps.
    CosineDecayRestarts(initial_learning_rate, first_decay_steps, t_mul=2.0, m_mul=1.0,
                        alpha=0.0)   SGDR: cosine periods growing by t_mul, peaks scaled by m_mul.
"""

from __future__ import annotations

import math

import numpy as np

from rnnkit import saving as _saving
from rnnkit.autodiff import unwrap
from rnnkit.variables import Variable

__all__ = ["CosineDecay", "CosineDecayRestarts", "ExponentialDecay", "InverseTimeDecay",
           "LearningRateSchedule", "PiecewiseConstantDecay", "PolynomialDecay", "deserialize",
           "serialize"]


def _dtype_of(value):
    """float32 for Python numbers (Keras' convert_to_tensor), a NumPy float's own dtype."""
    if isinstance(value, (np.ndarray, np.generic)) and np.asarray(value).dtype.kind == "f":
        return np.asarray(value).dtype
    return np.dtype("float32")


def _initial_rate(value):
    """The dtype a schedule computes in, and `initial_learning_rate` as an array of it."""
    dt = _dtype_of(value)
    return dt, np.asarray(value, dtype=dt)


def _step(step, dtype=None):
    """The step as an array (a 1-element Variable as a scalar), cast to `dtype` if given."""
    if isinstance(step, Variable):
        value = step.value
        value = value.reshape(()) if value.size == 1 else value
    else:
        value = np.asarray(unwrap(step))
    return value if dtype is None else value.astype(dtype)


def _positive_steps(value, name):
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) \
            or not value > 0:
        raise ValueError(f"Argument `{name}` must be > 0, received: {name}={value}")


class LearningRateSchedule:
    """The base class of learning-rate schedules.

    A schedule maps the optimizer's step (its `iterations`, 0 before the first update) to a
    learning rate; pass one as an optimizer's `learning_rate`. Subclasses implement
    `__call__(step)` and `get_config()`.

    Example:

    >>> import rnnkit as keras
    >>> class Halving(keras.optimizers.schedules.LearningRateSchedule):
    ...     def __call__(self, step):
    ...         step = int(keras.ops.convert_to_numpy(step))  # an int or a Variable
    ...         return 0.1 * 0.5 ** (step // 10)
    ...     def get_config(self):
    ...         return {}
    >>> Halving()(25)
    0.025
    >>> opt = keras.optimizers.SGD(learning_rate=Halving())
    >>> float(opt.learning_rate)
    0.1
    """

    def __call__(self, step):
        """Returns the learning rate at `step`; override it in subclasses."""
        raise NotImplementedError(
            f"Learning rate schedule '{self.__class__.__name__}' must override "
            "`__call__(self, step)`.")

    def get_config(self):
        """Returns the constructor arguments as a dict; override it in subclasses."""
        raise NotImplementedError(
            f"Learning rate schedule '{self.__class__.__name__}' must override `get_config()` "
            "in order to be serializable.")

    @classmethod
    def from_config(cls, config):
        """Creates a schedule from the dict returned by `get_config()`."""
        return cls(**config)

    def __repr__(self):
        return _saving._config_repr(self)


class _StepDecay(LearningRateSchedule):
    """The arguments, config and progress (`step / decay_steps`, floored with `staircase`)
    that ExponentialDecay and InverseTimeDecay have in common."""

    def __init__(self, initial_learning_rate, decay_steps, decay_rate, staircase, name):
        _positive_steps(decay_steps, "decay_steps")
        self.initial_learning_rate = initial_learning_rate
        self.decay_steps = decay_steps
        self.decay_rate = decay_rate
        self.staircase = staircase
        self.name = name

    def _progress(self, step, dt):
        p = _step(step, dt) / dt.type(self.decay_steps)
        return np.floor(p) if self.staircase else p

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate,
                "decay_steps": self.decay_steps, "decay_rate": self.decay_rate,
                "staircase": self.staircase, "name": self.name}


class ExponentialDecay(_StepDecay):
    """A learning rate that decays exponentially with the step.

    Computes `initial_learning_rate * decay_rate ** (step / decay_steps)`; with
    `staircase` the exponent is floored, so the rate changes every `decay_steps` steps.

    Args:
        initial_learning_rate: Float, the rate at step 0.
        decay_steps: Positive number, the steps over which the rate is multiplied by
            `decay_rate` once.
        decay_rate: Float, the decay factor.
        staircase: Bool, decay in discrete intervals. Defaults to `False`.
        name: Defaults to `"ExponentialDecay"`.

    Call arguments:
        step: The optimizer's step (its `iterations`, an int, a `Variable` or an array of
            steps).

    Returns:
        The learning rate at `step`, in float32 (or in the dtype of a NumPy float
        `initial_learning_rate`).

    Raises:
        ValueError: If `decay_steps` is not positive.

    Example:

    >>> import rnnkit as keras
    >>> schedule = keras.optimizers.schedules.ExponentialDecay(
    ...     0.1, decay_steps=10, decay_rate=0.5)
    >>> [round(float(schedule(step)), 4) for step in (0, 10, 20)]
    [0.1, 0.05, 0.025]
    """

    def __init__(self, initial_learning_rate, decay_steps, decay_rate, staircase=False,
                 name="ExponentialDecay"):
        super().__init__(initial_learning_rate, decay_steps, decay_rate, staircase, name)

    def __call__(self, step):
        """Returns the learning rate at `step`."""
        dt, lr0 = _initial_rate(self.initial_learning_rate)
        return np.multiply(lr0, np.power(dt.type(self.decay_rate), self._progress(step, dt)))


class PiecewiseConstantDecay(LearningRateSchedule):
    """A learning rate that is constant between step boundaries.

    `values[0]` for `step <= boundaries[0]`, `values[i]` for
    `boundaries[i-1] < step <= boundaries[i]`, and `values[-1]` after the last boundary.

    Args:
        boundaries: A list of increasing steps.
        values: A list of rates, one more than `boundaries`. All ints give int32 values,
            otherwise float32 (or the dtype of a NumPy `values[0]`).
        name: Defaults to `"PiecewiseConstant"`.

    Call arguments:
        step: The optimizer's step (an int, a `Variable` or an array of steps).

    Returns:
        The learning rate at `step`.

    Raises:
        ValueError: If `len(values) != len(boundaries) + 1`.

    Example:

    >>> import rnnkit as keras
    >>> schedule = keras.optimizers.schedules.PiecewiseConstantDecay([10, 20], [1.0, 0.5, 0.1])
    >>> [float(schedule(step)) for step in (5, 15, 25)]
    [1.0, 0.5, 0.1...]
    """

    def __init__(self, boundaries, values, name="PiecewiseConstant"):
        if len(boundaries) != len(values) - 1:
            raise ValueError(
                "The length of boundaries should be 1 less than the length of values. "
                f"Received: boundaries={boundaries} of length {len(boundaries)}, and "
                f"values={values} of length {len(values)}.")
        self.boundaries = list(boundaries)
        self.values = list(values)
        self.name = name

    def __call__(self, step):
        """Returns the learning rate at `step`."""
        first = self.values[0]
        if isinstance(first, (np.ndarray, np.generic)):
            dt = np.asarray(first).dtype
        elif isinstance(first, (int, np.integer)) and not isinstance(first, bool) and all(
                isinstance(v, (int, np.integer)) for v in self.values):
            dt = np.dtype("int32")
        else:
            dt = np.dtype("float32")
        s = _step(step)
        b = [np.asarray(x, dtype=s.dtype) for x in self.boundaries]
        values = [np.asarray(v, dtype=dt) for v in self.values]
        result = np.zeros(np.shape(s), dtype=dt)
        result = result + (s <= b[0]).astype(dt) * values[0]
        result = result + (s > b[-1]).astype(dt) * values[-1]
        for low, high, value in zip(b[:-1], b[1:], values[1:-1]):
            result = result + ((s > low) & (s <= high)).astype(dt) * value
        return result.astype(dt)

    def get_config(self):
        return {"boundaries": self.boundaries, "values": self.values, "name": self.name}


class PolynomialDecay(LearningRateSchedule):
    """A learning rate that decays polynomially to `end_learning_rate`.

    Computes `(initial - end) * (1 - min(step, decay_steps) / decay_steps) ** power + end`.
    With `cycle`, `decay_steps` is instead multiplied by `ceil(step / decay_steps)` (1 at
    step 0), so the decay restarts after each period.

    Args:
        initial_learning_rate: Float, the rate at step 0.
        decay_steps: Positive number, the length of the decay.
        end_learning_rate: Float, the final rate. Defaults to 1e-4.
        power: Float, the power of the polynomial. Defaults to 1.0 (linear).
        cycle: Bool, restart the decay after `decay_steps`. Defaults to `False`.
        name: Defaults to `"PolynomialDecay"`.

    Call arguments:
        step: The optimizer's step (its `iterations`, an int, a `Variable` or an array of
            steps).

    Returns:
        The learning rate at `step`, in float32 (or in the dtype of a NumPy float
        `initial_learning_rate`).

    Raises:
        ValueError: If `decay_steps` is not positive.

    Example:

    >>> import rnnkit as keras
    >>> schedule = keras.optimizers.schedules.PolynomialDecay(0.1, 10, end_learning_rate=0.0)
    >>> [round(float(schedule(step)), 4) for step in (0, 5, 10, 20)]
    [0.1, 0.05, 0.0, 0.0]
    """

    def __init__(self, initial_learning_rate, decay_steps, end_learning_rate=0.0001, power=1.0,
                 cycle=False, name="PolynomialDecay"):
        _positive_steps(decay_steps, "decay_steps")
        self.initial_learning_rate = initial_learning_rate
        self.decay_steps = decay_steps
        self.end_learning_rate = end_learning_rate
        self.power = power
        self.cycle = cycle
        self.name = name

    def __call__(self, step):
        """Returns the learning rate at `step`."""
        dt, lr0 = _initial_rate(self.initial_learning_rate)
        end = dt.type(self.end_learning_rate)
        power = dt.type(self.power)
        s = _step(step, dt)
        decay_steps = np.asarray(self.decay_steps, dtype=dt)
        if self.cycle:
            multiplier = np.where(s == 0, dt.type(1.0), np.ceil(s / self.decay_steps)).astype(dt)
            decay_steps = decay_steps * multiplier
        else:
            s = np.minimum(s, decay_steps)
        p = s / decay_steps
        return np.add(np.multiply(lr0 - end, np.power(1 - p, power)), end)

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate,
                "decay_steps": self.decay_steps, "end_learning_rate": self.end_learning_rate,
                "power": self.power, "cycle": self.cycle, "name": self.name}


class InverseTimeDecay(_StepDecay):
    """A learning rate that decays with the inverse of the step.

    Computes `initial_learning_rate / (1 + decay_rate * step / decay_steps)`; with
    `staircase`, `step / decay_steps` is floored.

    Args:
        initial_learning_rate: Float, the rate at step 0.
        decay_steps: Positive number.
        decay_rate: Float.
        staircase: Bool, decay in discrete intervals. Defaults to `False`.
        name: Defaults to `"InverseTimeDecay"`.

    Call arguments:
        step: The optimizer's step (its `iterations`, an int, a `Variable` or an array of
            steps).

    Returns:
        The learning rate at `step`, in float32 (or in the dtype of a NumPy float
        `initial_learning_rate`).

    Raises:
        ValueError: If `decay_steps` is not positive.
    """

    def __init__(self, initial_learning_rate, decay_steps, decay_rate, staircase=False,
                 name="InverseTimeDecay"):
        super().__init__(initial_learning_rate, decay_steps, decay_rate, staircase, name)

    def __call__(self, step):
        """Returns the learning rate at `step`."""
        dt, lr0 = _initial_rate(self.initial_learning_rate)
        denom = np.add(dt.type(1), np.multiply(dt.type(self.decay_rate), self._progress(step, dt)))
        return np.divide(lr0, denom)


class CosineDecay(LearningRateSchedule):
    """A learning rate that follows a cosine curve, optionally after a linear warmup.

    Without warmup: `initial * ((1 - alpha) * 0.5 * (1 + cos(pi * s / decay_steps)) +
    alpha)` with `s = min(step, decay_steps)`. With `warmup_target`, the rate first rises
    linearly from `initial_learning_rate` to `warmup_target` over `warmup_steps`, then
    decays from `warmup_target` over `decay_steps` (Loshchilov & Hutter, 2017).

    Args:
        initial_learning_rate: Float, the rate at step 0.
        decay_steps: Positive number, the length of the decay.
        alpha: Float, the final rate as a fraction of the starting one. Defaults to 0.
        name: Defaults to `"CosineDecay"`.
        warmup_target: Optional float, the rate reached at the end of the warmup. `None`
            (the default) means no warmup.
        warmup_steps: Number of warmup steps. Defaults to 0.

    Call arguments:
        step: The optimizer's step (its `iterations`, an int, a `Variable` or an array of
            steps).

    Returns:
        The learning rate at `step`, in float32 (or in the dtype of a NumPy float
        `initial_learning_rate`).

    Raises:
        ValueError: If `decay_steps` is not positive.

    Example:

    >>> import rnnkit as keras
    >>> schedule = keras.optimizers.schedules.CosineDecay(0.1, decay_steps=10)
    >>> [round(float(schedule(step)), 4) for step in (0, 5, 10)]
    [0.1, 0.05, 0.0]
    """

    def __init__(self, initial_learning_rate, decay_steps, alpha=0.0, name="CosineDecay",
                 warmup_target=None, warmup_steps=0):
        _positive_steps(decay_steps, "decay_steps")
        self.initial_learning_rate = initial_learning_rate
        self.decay_steps = decay_steps
        self.alpha = alpha
        self.name = name
        self.warmup_target = warmup_target
        self.warmup_steps = warmup_steps

    def _decay(self, step, decay_steps, decay_from_lr, dt):
        completed_fraction = step / decay_steps
        pi = dt.type(math.pi)
        cosine_decayed = 0.5 * (1.0 + np.cos(pi * completed_fraction))
        decayed = (1 - self.alpha) * cosine_decayed + self.alpha
        return np.multiply(decay_from_lr, decayed)

    def _warmup(self, step, warmup_steps, warmup_target, lr0):
        completed_fraction = step / warmup_steps
        return (warmup_target - lr0) * completed_fraction + lr0

    def __call__(self, step):
        """Returns the learning rate at `step`."""
        dt, lr0 = _initial_rate(self.initial_learning_rate)
        decay_steps = dt.type(self.decay_steps)
        s = _step(step, dt)
        if self.warmup_target is None:
            s = np.minimum(s, decay_steps)
            return self._decay(s, decay_steps, lr0, dt).astype(dt)
        warmup_target = dt.type(self.warmup_target)
        warmup_steps = dt.type(self.warmup_steps)
        s = np.minimum(s, decay_steps + warmup_steps)
        with np.errstate(divide="ignore", invalid="ignore"):
            warm = self._warmup(s, warmup_steps, warmup_target, lr0)
        decay = self._decay(s - warmup_steps, decay_steps, warmup_target, dt)
        return np.where(s < warmup_steps, warm, decay).astype(dt)

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate,
                "decay_steps": self.decay_steps, "alpha": self.alpha, "name": self.name,
                "warmup_target": self.warmup_target, "warmup_steps": self.warmup_steps}


class CosineDecayRestarts(LearningRateSchedule):
    """A cosine decay that restarts periodically (SGDR, Loshchilov & Hutter, 2017).

    The first period lasts `first_decay_steps`; each following one is `t_mul` times longer
    and starts at a rate `m_mul` times the previous start. Within a period the rate follows
    the cosine curve of `CosineDecay` down to `alpha` times its start.

    Args:
        initial_learning_rate: Float, the rate at step 0.
        first_decay_steps: Positive number, the length of the first period.
        t_mul: Float, the growth factor of the period length. Defaults to 2.0.
        m_mul: Float, the factor of each restart's rate. Defaults to 1.0.
        alpha: Float, the lowest rate as a fraction of the period's start. Defaults to 0.
        name: Defaults to `"SGDRDecay"`.

    Call arguments:
        step: The optimizer's step (its `iterations`, an int, a `Variable` or an array of
            steps).

    Returns:
        The learning rate at `step`, in float32 (or in the dtype of a NumPy float
        `initial_learning_rate`).

    Raises:
        ValueError: If `first_decay_steps` is not positive.
    """

    def __init__(self, initial_learning_rate, first_decay_steps, t_mul=2.0, m_mul=1.0,
                 alpha=0.0, name="SGDRDecay"):
        _positive_steps(first_decay_steps, "first_decay_steps")
        self.initial_learning_rate = initial_learning_rate
        self.first_decay_steps = first_decay_steps
        self._t_mul = t_mul
        self._m_mul = m_mul
        self.alpha = alpha
        self.name = name

    def __call__(self, step):
        """Returns the learning rate at `step`."""
        dt, lr0 = _initial_rate(self.initial_learning_rate)
        first = dt.type(self.first_decay_steps)
        alpha = dt.type(self.alpha)
        t_mul = dt.type(self._t_mul)
        m_mul = dt.type(self._m_mul)
        completed_fraction = _step(step, dt) / first
        if t_mul == 1.0:
            i_restart = np.floor(completed_fraction)
            completed_fraction = completed_fraction - i_restart
        else:
            i_restart = np.floor(np.log(1.0 - completed_fraction * (1.0 - t_mul)) / np.log(t_mul))
            sum_r = (1.0 - t_mul ** i_restart) / (1.0 - t_mul)
            completed_fraction = (completed_fraction - sum_r) / t_mul ** i_restart
        m_fac = m_mul ** i_restart
        cosine_decayed = 0.5 * m_fac * (1.0 + np.cos(dt.type(math.pi) * completed_fraction))
        decayed = (1 - alpha) * cosine_decayed + alpha
        return np.multiply(lr0, decayed).astype(dt)

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate,
                "first_decay_steps": self.first_decay_steps, "t_mul": self._t_mul,
                "m_mul": self._m_mul, "alpha": self.alpha, "name": self.name}


ALL_OBJECTS_DICT = {cls.__name__: cls for cls in (
    LearningRateSchedule, ExponentialDecay, PiecewiseConstantDecay, PolynomialDecay,
    InverseTimeDecay, CosineDecay, CosineDecayRestarts)}


def serialize(learning_rate_schedule):
    """Serializes a schedule for saving.

    Args:
        learning_rate_schedule: A `LearningRateSchedule`.

    Returns:
        A config dict (`{"module", "class_name", "config", ...}`).
    """
    return _saving.serialize(learning_rate_schedule)


def deserialize(config, custom_objects=None):
    """Returns a schedule from its serialized form.

    Args:
        config: A config dict from `serialize()`.
        custom_objects: Optional dict mapping names to custom schedules.

    Returns:
        A `LearningRateSchedule`.
    """
    return _saving.deserialize(config, custom_objects=custom_objects,
                               module_objects=ALL_OBJECTS_DICT)
