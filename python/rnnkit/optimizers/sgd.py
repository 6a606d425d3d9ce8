"""SGD with optional (Nesterov) momentum, Keras 3 update rule."""

from __future__ import annotations

import numpy as np

from rnnkit.optimizers.base_optimizer import Optimizer, _scalar

__all__ = ["SGD"]


class SGD(Optimizer):
    """Gradient descent (`keras.optimizers.SGD`).

    - `momentum == 0`: `v <- v - lr * g`.
    - else: `m <- momentum * m - lr * g`, then `v <- v + m`, or with `nesterov`
      `v <- v + momentum * m - lr * g` (with the new `m`).

    Slots: one `momentum` per variable, only when `momentum != 0`.
    """

    def __init__(self, learning_rate=0.01, momentum=0.0, nesterov=False, weight_decay=None,
                 clipnorm=None, clipvalue=None, global_clipnorm=None, use_ema=False,
                 ema_momentum=0.99, ema_overwrite_frequency=None, loss_scale_factor=None,
                 gradient_accumulation_steps=None, name="SGD", **kwargs):
        super().__init__(learning_rate=learning_rate, name=name, weight_decay=weight_decay,
                         clipnorm=clipnorm, clipvalue=clipvalue,
                         global_clipnorm=global_clipnorm, use_ema=use_ema,
                         ema_momentum=ema_momentum,
                         ema_overwrite_frequency=ema_overwrite_frequency,
                         loss_scale_factor=loss_scale_factor,
                         gradient_accumulation_steps=gradient_accumulation_steps, **kwargs)
        if (isinstance(momentum, bool) or not isinstance(momentum, (int, float, np.integer,
                                                                    np.floating))
                or momentum < 0 or momentum > 1):
            raise ValueError("`momentum` must be a float between [0, 1].")
        self.momentum = float(momentum)
        self.nesterov = bool(nesterov)

    def build(self, variables):
        if self.built:
            return
        super().build(variables)
        self.momentums = []
        if self.momentum != 0:
            self.momentums = self.add_optimizer_variables(variables, "momentum")

    def update_step(self, gradient, variable, learning_rate):
        dt = variable.dtype
        lr = _scalar(learning_rate, dt)
        g = gradient
        if self.momentum != 0:
            m = self.momentums[self._get_variable_index(variable)]
            momentum = np.asarray(self.momentum, dtype=dt)
            new_m = m.value * momentum - g * lr
            self.assign(m, new_m)
            if self.nesterov:
                self.assign_add(variable, new_m * momentum - g * lr)
            else:
                self.assign_add(variable, new_m)
        else:
            self.assign_sub(variable, g * lr)

    def get_config(self):
        config = super().get_config()
        config.update({"momentum": self.momentum, "nesterov": self.nesterov})
        return config
