"""Adafactor: factored second moments (Keras 3 update rule)."""

from __future__ import annotations

import numpy as np

from rnnkit import placement
from rnnkit.optimizers import schedules as _schedules
from rnnkit.optimizers.base_optimizer import Optimizer, _scalar

__all__ = ["Adafactor"]


def _rms(x):
    return np.sqrt(np.mean(np.square(x)))


class Adafactor(Optimizer):
    """The Adafactor optimizer (Shazeer & Stern, 2018): second moments stored as row and
    column averages for matrices, so the state grows with rows + columns, not their product.

    With `t = iterations + 1`, `rho = min(lr, 1 / sqrt(t))` (`lr` itself is also capped at
    `1 / sqrt(t)` with `relative_step` and a constant learning rate),
    `alpha = max(epsilon_2, rms(w)) * rho`, `beta_2 = 1 - t**beta_2_decay` and
    `G = g**2 + epsilon_1`:

    - a variable of rank >= 2: `r = beta_2 r + (1 - beta_2) mean(G, -1)`,
      `c = beta_2 c + (1 - beta_2) mean(G, -2)`, `v = (r / mean(r)) outer c`;
    - otherwise: `v = beta_2 v + (1 - beta_2) G`;

    then `u = g / sqrt(v)`, `w = w - alpha * u / max(1, rms(u) / clip_threshold)`.

    Args:
        learning_rate: A float, a `LearningRateSchedule` or a callable taking no argument.
            Defaults to 0.001.
        beta_2_decay: Float, the decay exponent of the second moment. Defaults to -0.8.
        epsilon_1: Small float added to the squared gradients. Defaults to 1e-30.
        epsilon_2: Small float, the lower bound of the RMS of the weights. Defaults to 1e-3.
        clip_threshold: Float, the RMS bound of the update. Defaults to 1.0.
        relative_step: Bool, cap a constant learning rate at `1 / sqrt(t)`. Defaults to
            `True`.
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
        name: Defaults to `"adafactor"`.
        **kwargs: See `Optimizer`.
    """

    def __init__(self, learning_rate=0.001, beta_2_decay=-0.8, epsilon_1=1e-30,
                 epsilon_2=1e-3, clip_threshold=1.0, relative_step=True,
                 weight_decay=None, clipnorm=None, clipvalue=None,
                 global_clipnorm=None, use_ema=False, ema_momentum=0.99,
                 ema_overwrite_frequency=None, loss_scale_factor=None,
                 gradient_accumulation_steps=None, name="adafactor", **kwargs):
        super().__init__(learning_rate=learning_rate, name=name, weight_decay=weight_decay,
                         clipnorm=clipnorm, clipvalue=clipvalue,
                         global_clipnorm=global_clipnorm, use_ema=use_ema,
                         ema_momentum=ema_momentum,
                         ema_overwrite_frequency=ema_overwrite_frequency,
                         loss_scale_factor=loss_scale_factor,
                         gradient_accumulation_steps=gradient_accumulation_steps, **kwargs)
        self.beta_2_decay = beta_2_decay
        self.epsilon_1 = epsilon_1
        self.epsilon_2 = epsilon_2
        self.clip_threshold = clip_threshold
        self.relative_step = relative_step

    def build(self, var_list):
        """Creates the factored slots `r` and `c` (scalar placeholders for variables of rank
        < 2, as in Keras) and the `velocity` slot of each variable."""
        if self.built:
            return
        super().build(var_list)
        self._r, self._c, self._v = [], [], []
        for var in var_list:
            shape = tuple(var.shape)
            where = "cpu" if type(var.value) is np.ndarray else var.device
            with placement.device(where):          # the slots live with their variable
                if len(shape) < 2:
                    self._r.append(self.add_variable((), name="r_unused"))
                    self._c.append(self.add_variable((), name="c_unused"))
                else:
                    self._r.append(self.add_variable(shape[:-1], dtype=var.dtype, name="r"))
                    self._c.append(self.add_variable(shape[:-2] + shape[-1:], dtype=var.dtype,
                                                     name="c"))
            self._v.append(self.add_variable_from_reference(var, "velocity"))

    def update_step(self, gradient, variable, learning_rate):
        """Applies the Adafactor update to one variable (see the class docstring)."""
        dt = np.dtype(variable.dtype)
        lr = _scalar(learning_rate, dt)
        step = np.asarray(self._update_count() + 1, dtype=dt)
        constant_lr = not (isinstance(self._learning_rate, _schedules.LearningRateSchedule)
                           or (callable(self._learning_rate)
                               and not hasattr(self._learning_rate, "assign")))
        if constant_lr and self.relative_step:
            lr = np.minimum(lr, 1 / np.sqrt(step))
        index = self._get_variable_index(variable)
        r, c, v = self._r[index], self._c[index], self._v[index]
        rho = np.minimum(lr, 1 / np.sqrt(step))
        alpha = np.maximum(_scalar(self.epsilon_2, dt), _rms(variable.value)) * rho
        g2 = np.square(gradient) + self.epsilon_1
        beta_2 = 1 - np.power(step, np.asarray(self.beta_2_decay, dt))
        if len(variable.shape) >= 2:
            self.assign(r, beta_2 * r.value + (1 - beta_2) * np.mean(g2, axis=-1))
            self.assign(c, beta_2 * c.value + (1 - beta_2) * np.mean(g2, axis=-2))
            r_value = r.value.reshape(tuple(variable.shape)[:-1])
            c_value = c.value.reshape(tuple(variable.shape)[:-2] + tuple(variable.shape)[-1:])
            self.assign(v, np.expand_dims(r_value / np.mean(r_value, axis=-1, keepdims=True), -1)
                        * np.expand_dims(c_value, -2))
        else:
            self.assign(v, beta_2 * v.value + (1 - beta_2) * g2)
        u = gradient / np.sqrt(v.value)
        u_hat = u / np.maximum(_scalar(1.0, dt), _rms(u) / self.clip_threshold)
        self.assign_sub(variable, alpha * u_hat)

    def get_config(self):
        config = super().get_config()
        config.update({"beta_2_decay": self.beta_2_decay, "epsilon_1": self.epsilon_1,
                       "epsilon_2": self.epsilon_2, "clip_threshold": self.clip_threshold,
                       "relative_step": self.relative_step})
        return config
