"""Lamb: layer-wise adaptive large-batch optimization (Keras 3 update rule)."""

from __future__ import annotations

import numpy as np

from rnnkit.optimizers.base_optimizer import Optimizer, _scalar

__all__ = ["Lamb"]


class Lamb(Optimizer):
    """The Lamb optimizer (You et al., 2019): Adam steps rescaled per variable by a trust ratio.

    With `t = iterations + 1`:

        m = m + (1 - beta_1) * (g - m);  v = v + (1 - beta_2) * (g**2 - v)
        update = (m / (1 - beta_1**t)) / (sqrt(v / (1 - beta_2**t)) + epsilon)
        ratio = ||w|| / ||update|| (1 when either norm is 0)
        w = w - ratio * learning_rate * update

    Slots: `momentum` and `velocity` per variable.

    Args:
        learning_rate: A float, a `LearningRateSchedule` or a callable taking no argument.
            Defaults to 0.001.
        beta_1: Float, the decay rate of the first moment. Defaults to 0.9.
        beta_2: Float, the decay rate of the second moment. Defaults to 0.999.
        epsilon: Small float added to the denominator. Defaults to 1e-7.
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
        name: Defaults to `"lamb"`.
        **kwargs: See `Optimizer`.
    """

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7,
                 weight_decay=None, clipnorm=None, clipvalue=None,
                 global_clipnorm=None, use_ema=False, ema_momentum=0.99,
                 ema_overwrite_frequency=None, loss_scale_factor=None,
                 gradient_accumulation_steps=None, name="lamb", **kwargs):
        super().__init__(learning_rate=learning_rate, name=name, weight_decay=weight_decay,
                         clipnorm=clipnorm, clipvalue=clipvalue,
                         global_clipnorm=global_clipnorm, use_ema=use_ema,
                         ema_momentum=ema_momentum,
                         ema_overwrite_frequency=ema_overwrite_frequency,
                         loss_scale_factor=loss_scale_factor,
                         gradient_accumulation_steps=gradient_accumulation_steps, **kwargs)
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon

    def build(self, var_list):
        """Creates the `momentum` and `velocity` slots."""
        if self.built:
            return
        super().build(var_list)
        self._momentums, self._velocities = self.add_optimizer_variables(
            var_list, ["momentum", "velocity"])

    def update_step(self, gradient, variable, learning_rate):
        """Applies the Lamb update to one variable (see the class docstring)."""
        dt = np.dtype(variable.dtype)
        lr = _scalar(learning_rate, dt)
        step = np.asarray(self._update_count() + 1, dtype=dt)
        beta_1_power = np.power(np.asarray(self.beta_1, dt), step)
        beta_2_power = np.power(np.asarray(self.beta_2, dt), step)
        index = self._get_variable_index(variable)
        m, v = self._momentums[index], self._velocities[index]
        self.assign_add(m, (gradient - m.value) * (1 - self.beta_1))
        self.assign_add(v, (np.square(gradient) - v.value) * (1 - self.beta_2))
        update = (m.value / (1.0 - beta_1_power)) / (
            np.sqrt(v.value / (1.0 - beta_2_power)) + self.epsilon)
        w_norm = np.sqrt(np.sum(np.square(variable.value)))
        g_norm = np.sqrt(np.sum(np.square(update)))
        if isinstance(w_norm, (np.ndarray, np.generic)):
            ratio = w_norm / g_norm if w_norm > 0 and g_norm > 0 else np.asarray(1.0, dt)
        else:    # on a device: no host test of the norms
            both = (w_norm > 0) & (g_norm > 0)
            ratio = np.where(both, w_norm / np.where(both, g_norm, 1.0), 1.0).astype(dt)
        self.assign_sub(variable, ratio * lr * update)

    def get_config(self):
        config = super().get_config()
        config.update({"beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon})
        return config
