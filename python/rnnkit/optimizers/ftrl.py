"""FTRL-Proximal (Keras 3 update rule)."""

from __future__ import annotations

import numpy as np

from rnnkit import initializers as _initializers
from rnnkit.optimizers.base_optimizer import Optimizer, _scalar

__all__ = ["Ftrl"]


def _check_non_negative(name, value, sign=1):
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"Argument `{name}` must be a number. Received: {name}={value!r}")
    if sign * value < 0.0:
        kind = "positive or zero" if sign > 0 else "negative or zero"
        raise ValueError(f"`{name}` needs to be {kind}. Received: {name}={value}.")


class Ftrl(Optimizer):
    """The FTRL-Proximal optimizer (McMahan et al., 2013), for large sparse linear models.

    With `p = -learning_rate_power`, `l2 = l2_regularization_strength + beta / (2 lr)`:

        n_new = n + g**2
        z = z + (g + 2 * l2_shrinkage * w) - (n_new**p - n**p) / lr * w
        w = (clip(z, -l1, l1) - z) / (n_new**p / lr + 2 * l2)
        n = n_new

    Slots: `accumulator` (`n`, starting at `initial_accumulator_value`) and `linear` (`z`).

    Args:
        learning_rate: A float, a `LearningRateSchedule` or a callable taking no argument.
            Defaults to 0.001.
        learning_rate_power: Float <= 0. Defaults to -0.5.
        initial_accumulator_value: Float >= 0. Defaults to 0.1.
        l1_regularization_strength: Float >= 0. Defaults to 0.
        l2_regularization_strength: Float >= 0. Defaults to 0.
        l2_shrinkage_regularization_strength: Float >= 0, an L2 penalty on the weights
            added to the gradient. Defaults to 0.
        beta: Float, added to the L2 term as `beta / (2 * learning_rate)`. Defaults to 0.
        weight_decay: Optional float, the factor of decoupled weight decay: before each
            update `variable -= variable * weight_decay * learning_rate`.
        clipnorm: Optional float; each gradient is rescaled so that its L2 norm is at most
            this value.
        clipvalue: Optional float; each gradient is clipped elementwise to
            `[-clipvalue, clipvalue]`.
        global_clipnorm: Optional float; all gradients are rescaled together so that their
            global L2 norm is at most this value. At most one of `clipnorm`, `clipvalue`
            and `global_clipnorm` may be set.
        use_ema: Bool, keep an exponential moving average of the weights. Defaults to
            `False`.
        ema_momentum: Float in [0, 1], the momentum of that average. Defaults to 0.99.
        ema_overwrite_frequency: Optional int >= 1: every that many steps the weights are
            replaced by their average. With `None`, only `finalize_variable_values()` does
            it.
        loss_scale_factor: Optional float: `scale_loss()` multiplies a loss by it, and
            `apply` divides the gradients by it before the update.
        gradient_accumulation_steps: Optional int >= 2: the variables are updated every that
            many calls only, with the mean of the accumulated gradients.
        name: Defaults to `"ftrl"`.
        **kwargs: See `Optimizer`.

    Raises:
        ValueError: If a strength or `initial_accumulator_value` is negative, or
            `learning_rate_power` is positive.
    """

    def __init__(self, learning_rate=0.001, learning_rate_power=-0.5,
                 initial_accumulator_value=0.1, l1_regularization_strength=0.0,
                 l2_regularization_strength=0.0, l2_shrinkage_regularization_strength=0.0,
                 beta=0.0, weight_decay=None, clipnorm=None, clipvalue=None,
                 global_clipnorm=None, use_ema=False, ema_momentum=0.99,
                 ema_overwrite_frequency=None, loss_scale_factor=None,
                 gradient_accumulation_steps=None, name="ftrl", **kwargs):
        super().__init__(learning_rate=learning_rate, name=name, weight_decay=weight_decay,
                         clipnorm=clipnorm, clipvalue=clipvalue,
                         global_clipnorm=global_clipnorm, use_ema=use_ema,
                         ema_momentum=ema_momentum,
                         ema_overwrite_frequency=ema_overwrite_frequency,
                         loss_scale_factor=loss_scale_factor,
                         gradient_accumulation_steps=gradient_accumulation_steps, **kwargs)
        _check_non_negative("initial_accumulator_value", initial_accumulator_value)
        _check_non_negative("learning_rate_power", learning_rate_power, sign=-1)
        _check_non_negative("l1_regularization_strength", l1_regularization_strength)
        _check_non_negative("l2_regularization_strength", l2_regularization_strength)
        _check_non_negative("l2_shrinkage_regularization_strength",
                            l2_shrinkage_regularization_strength)
        self.learning_rate_power = learning_rate_power
        self.initial_accumulator_value = initial_accumulator_value
        self.l1_regularization_strength = l1_regularization_strength
        self.l2_regularization_strength = l2_regularization_strength
        self.l2_shrinkage_regularization_strength = l2_shrinkage_regularization_strength
        self.beta = beta

    def build(self, var_list):
        """Creates the `accumulator` and `linear` slots."""
        if self.built:
            return
        super().build(var_list)
        self._accumulators, self._linears = self.add_optimizer_variables(
            var_list, ["accumulator", "linear"],
            initializer=[_initializers.Constant(self.initial_accumulator_value), "zeros"])

    def update_step(self, gradient, variable, learning_rate):
        """Applies the FTRL update to one variable (see the class docstring)."""
        dt = np.dtype(variable.dtype)
        lr = _scalar(learning_rate, dt)
        index = self._get_variable_index(variable)
        accum, linear = self._accumulators[index], self._linears[index]
        power = -self.learning_rate_power
        l2 = self.l2_regularization_strength + self.beta / (2.0 * lr)
        w = variable.value
        grad = gradient + 2 * self.l2_shrinkage_regularization_strength * w
        new_accum = accum.value + np.square(gradient)
        self.assign_add(linear, grad - (np.power(new_accum, power) - np.power(accum.value, power))
                        / lr * w)
        quadratic = np.power(new_accum, power) / lr + 2 * l2
        l1 = self.l1_regularization_strength
        z = linear.value
        self.assign(variable, (np.clip(z, -l1, l1) - z) / quadratic)
        self.assign(accum, new_accum)

    def get_config(self):
        config = super().get_config()
        config.update({
            "learning_rate_power": self.learning_rate_power,
            "initial_accumulator_value": self.initial_accumulator_value,
            "l1_regularization_strength": self.l1_regularization_strength,
            "l2_regularization_strength": self.l2_regularization_strength,
            "l2_shrinkage_regularization_strength": self.l2_shrinkage_regularization_strength,
            "beta": self.beta,
        })
        return config
