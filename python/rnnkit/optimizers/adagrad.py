"""Adagrad, Keras 3 update rule (epsilon inside the sqrt)."""

from __future__ import annotations

import numpy as np

from rnnkit import initializers as _initializers
from rnnkit.optimizers.base_optimizer import Optimizer, _scalar

__all__ = ["Adagrad"]


class Adagrad(Optimizer):
    """Adagrad (`keras.optimizers.Adagrad`):

        acc <- acc + g^2              (acc starts at initial_accumulator_value)
        var <- var - lr g / sqrt(acc + epsilon)

    Slots: one `accumulator` per variable.
    """

    def __init__(self, learning_rate=0.001, initial_accumulator_value=0.1, epsilon=1e-7,
                 weight_decay=None, clipnorm=None, clipvalue=None, global_clipnorm=None,
                 use_ema=False, ema_momentum=0.99, ema_overwrite_frequency=None,
                 loss_scale_factor=None, gradient_accumulation_steps=None, name="adagrad",
                 **kwargs):
        super().__init__(learning_rate=learning_rate, name=name, weight_decay=weight_decay,
                         clipnorm=clipnorm, clipvalue=clipvalue,
                         global_clipnorm=global_clipnorm, use_ema=use_ema,
                         ema_momentum=ema_momentum,
                         ema_overwrite_frequency=ema_overwrite_frequency,
                         loss_scale_factor=loss_scale_factor,
                         gradient_accumulation_steps=gradient_accumulation_steps, **kwargs)
        self.initial_accumulator_value = initial_accumulator_value
        self.epsilon = epsilon

    def build(self, var_list):
        if self.built:
            return
        super().build(var_list)
        initializer = _initializers.Constant(self.initial_accumulator_value)
        self._accumulators = self.add_optimizer_variables(var_list, "accumulator",
                                                          initializer=initializer)

    def update_step(self, gradient, variable, learning_rate):
        dt = np.dtype(variable.dtype)
        lr = _scalar(learning_rate, dt)
        g = gradient
        accumulator = self._accumulators[self._get_variable_index(variable)]
        self.assign_add(accumulator, np.square(g))
        self.assign_sub(variable, (lr * g) / np.sqrt(accumulator.value + self.epsilon))

    def get_config(self):
        config = super().get_config()
        config.update({"initial_accumulator_value": self.initial_accumulator_value,
                       "epsilon": self.epsilon})
        return config
