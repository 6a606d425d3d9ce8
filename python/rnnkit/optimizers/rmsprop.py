"""RMSprop, Keras 3 update rule (epsilon inside the sqrt)."""

from __future__ import annotations

import numpy as np

from rnnkit.optimizers.base_optimizer import Optimizer, _scalar

__all__ = ["RMSprop"]


class RMSprop(Optimizer):
    """RMSprop (`keras.optimizers.RMSprop`):

        v <- rho v + (1 - rho) g^2
        (centered: a <- rho a + (1 - rho) g; denominator v - a^2 + eps, else v + eps)
        increment = lr g / sqrt(denominator)
        momentum > 0: mom <- momentum mom + increment; var <- var - mom
        else:         var <- var - increment

    Slots: `velocity` per variable, + `momentum` when momentum > 0, + `average_gradient`
    when centered. This is the default optimizer of `compile()`.
    """

    def __init__(self, learning_rate=0.001, rho=0.9, momentum=0.0, epsilon=1e-7,
                 centered=False, weight_decay=None, clipnorm=None, clipvalue=None,
                 global_clipnorm=None, use_ema=False, ema_momentum=0.99,
                 ema_overwrite_frequency=None, loss_scale_factor=None,
                 gradient_accumulation_steps=None, name="rmsprop", **kwargs):
        super().__init__(learning_rate=learning_rate, name=name, weight_decay=weight_decay,
                         clipnorm=clipnorm, clipvalue=clipvalue,
                         global_clipnorm=global_clipnorm, use_ema=use_ema,
                         ema_momentum=ema_momentum,
                         ema_overwrite_frequency=ema_overwrite_frequency,
                         loss_scale_factor=loss_scale_factor,
                         gradient_accumulation_steps=gradient_accumulation_steps, **kwargs)
        self.rho = rho
        self.momentum = momentum
        self.epsilon = epsilon
        self.centered = centered

    def build(self, var_list):
        if self.built:
            return
        super().build(var_list)
        self._velocities = self.add_optimizer_variables(var_list, "velocity")
        self._momentums = []
        if self.momentum > 0:
            self._momentums = self.add_optimizer_variables(var_list, "momentum")
        self._average_gradients = []
        if self.centered:
            self._average_gradients = self.add_optimizer_variables(var_list, "average_gradient")

    def update_step(self, gradient, variable, learning_rate):
        dt = np.dtype(variable.dtype)
        lr = _scalar(learning_rate, dt)
        g = gradient
        index = self._get_variable_index(variable)
        velocity = self._velocities[index]
        rho = self.rho
        self.assign(velocity, rho * velocity.value + (1 - rho) * np.square(g))
        if self.centered:
            average_grad = self._average_gradients[index]
            self.assign(average_grad, rho * average_grad.value + (1 - rho) * g)
            denominator = velocity.value - np.square(average_grad.value) + self.epsilon
        else:
            denominator = velocity.value + self.epsilon
        increment = (lr * g) / np.sqrt(denominator)
        if self.momentum > 0:
            momentum = self._momentums[index]
            self.assign(momentum, self.momentum * momentum.value + increment)
            self.assign_sub(variable, momentum.value)
        else:
            self.assign_sub(variable, increment)

    def get_config(self):
        config = super().get_config()
        config.update({"rho": self.rho, "momentum": self.momentum, "epsilon": self.epsilon,
                       "centered": self.centered})
        return config
