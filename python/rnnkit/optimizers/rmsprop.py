"""RMSprop, Keras 3 update rule (epsilon inside the sqrt)."""

from __future__ import annotations

import numpy as np

from rnnkit.optimizers.base_optimizer import Optimizer, _scalar, _updated_in_place

__all__ = ["RMSprop"]


class RMSprop(Optimizer):
    """The RMSprop optimizer: divides the gradient by a moving root mean square.

        v = rho * v + (1 - rho) * g**2
        increment = learning_rate * g / sqrt(v + epsilon)
        w = w - increment            (or, with momentum: mom = momentum * mom + increment;
                                      w = w - mom)

    With `centered`, a moving average of the gradients `a` is also kept and the denominator
    is `sqrt(v - a**2 + epsilon)`. Slots: `velocity` per variable, plus `momentum` when
    `momentum > 0` and `average_gradient` when `centered`. This is the default optimizer of
    `compile()`.

    Args:
        learning_rate: A float, a `LearningRateSchedule` or a callable taking no argument.
            Defaults to 0.001.
        rho: Float, the discount factor of the moving average. Defaults to 0.9.
        momentum: Float. Defaults to 0.
        epsilon: Small float added inside the square root. Defaults to 1e-7.
        centered: Bool, normalize by the estimated variance instead of the second moment.
            Defaults to `False`.
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
        name: Defaults to `"rmsprop"`.
        **kwargs: See `Optimizer`.
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
        """Applies the RMSprop update to one variable (see the class docstring)."""
        dtype = np.dtype(variable.dtype)
        self._update_in_place(gradient, variable, self._step_constants(dtype, learning_rate))

    _fast_update_step = update_step

    def _step_constants(self, dtype, learning_rate):
        """The learning rate, in `dtype`, for this step."""
        return _scalar(learning_rate, dtype)

    def _update_in_place(self, g, variable, lr):
        index = self._get_variable_index(variable)
        velocity = self._velocities[index]
        rho = float(self.rho)
        v_value = velocity.value
        # out= everywhere: a 0-d array's ufunc result would otherwise be a NumPy scalar.
        scratch = np.square(g, out=np.empty_like(v_value))  # v = rho * v + (1 - rho) * g^2
        scratch *= 1 - rho
        v_value *= rho
        v_value += scratch
        updated = [velocity, variable]
        if self.centered:                                   # a = rho * a + (1 - rho) * g
            average_grad = self._average_gradients[index]
            a_value = average_grad.value
            np.multiply(g, 1 - rho, out=scratch)
            a_value *= rho
            a_value += scratch
            denominator = np.square(a_value, out=np.empty_like(a_value))  # v - a^2 + epsilon
            np.subtract(v_value, denominator, out=denominator)
            updated.append(average_grad)
        else:
            denominator = v_value.copy()                    # v + epsilon
        denominator += float(self.epsilon)
        np.sqrt(denominator, out=denominator)
        np.multiply(g, lr, out=scratch)                     # increment = lr * g / sqrt(...)
        scratch /= denominator
        weights = variable.value
        if self.momentum > 0:                               # mom = momentum * mom + increment
            momentum = self._momentums[index]
            mom_value = momentum.value
            mom_value *= float(self.momentum)
            mom_value += scratch
            weights -= mom_value
            updated.append(momentum)
        else:
            weights -= scratch
        _updated_in_place(*updated)

    def get_config(self):
        config = super().get_config()
        config.update({"rho": self.rho, "momentum": self.momentum, "epsilon": self.epsilon,
                       "centered": self.centered})
        return config
