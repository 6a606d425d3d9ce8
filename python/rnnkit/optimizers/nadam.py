"""Nadam: Adam with Nesterov momentum (Keras 3 update rule, with its momentum schedule)."""

from __future__ import annotations

import numpy as np

from rnnkit.optimizers.base_optimizer import Optimizer, _assign, _scalar, _value

__all__ = ["Nadam"]


class Nadam(Optimizer):
    """The Nadam optimizer (Dozat, 2015): Adam with Nesterov momentum.

    With `t = iterations + 1`, the momentum schedule `u_t = beta_1 * (1 - 0.5 * 0.96**t)`
    and `U_t = u_1 * ... * u_t` (kept in one extra variable, updated once per step):

        m = m + (1 - beta_1) * (g - m)
        v = v + (1 - beta_2) * (g**2 - v)
        m_hat = u_{t+1} * m / (1 - U_t * u_{t+1}) + (1 - u_t) * g / (1 - U_t)
        v_hat = v / (1 - beta_2**t)
        w = w - learning_rate * m_hat / (sqrt(v_hat) + epsilon)

    Slots: `momentum` and `velocity` per variable, then the product `U_t`.

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
        name: Defaults to `"nadam"`.
        **kwargs: See `Optimizer`.

    Example:

    >>> import numpy as np, rnnkit as keras
    >>> v = keras.Variable(np.array([1.0, 2.0], dtype="float32"))
    >>> opt = keras.optimizers.Nadam(learning_rate=0.1)
    >>> opt.apply([np.array([1.0, -1.0], "float32")], [v])
    >>> v.numpy().round(3)
    array([0.894, 2.106], dtype=float32)
    """

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7,
                 weight_decay=None, clipnorm=None, clipvalue=None,
                 global_clipnorm=None, use_ema=False, ema_momentum=0.99,
                 ema_overwrite_frequency=None, loss_scale_factor=None,
                 gradient_accumulation_steps=None, name="nadam", **kwargs):
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
        """Creates the `momentum` and `velocity` slots and the momentum-schedule product."""
        if self.built:
            return
        dtype = var_list[0].dtype if var_list else "float32"
        super().build(var_list)
        self._momentums, self._velocities = self.add_optimizer_variables(
            var_list, ["momentum", "velocity"])
        self._u_product = self.add_variable((), initializer="ones", dtype=dtype,
                                            name="u_product")

    def _backend_update_step(self, grads, trainable_variables, learning_rate):
        dt = np.dtype(self._u_product.dtype)
        step = np.asarray(self._update_count() + 1, dtype=dt)
        u_t = np.asarray(self.beta_1, dt) * (1.0 - 0.5 * np.power(np.asarray(0.96, dt), step))
        _assign(self._u_product, _value(self._u_product) * u_t)
        super()._backend_update_step(grads, trainable_variables, learning_rate)

    def update_step(self, gradient, variable, learning_rate):
        """Applies the Nadam update to one variable (see the class docstring)."""
        dt = np.dtype(variable.dtype)
        lr = _scalar(learning_rate, dt)
        g = gradient
        step = np.asarray(self._update_count() + 1, dtype=dt)
        beta_1 = np.asarray(self.beta_1, dt)
        beta_2 = np.asarray(self.beta_2, dt)
        decay = np.asarray(0.96, dt)
        u_t = beta_1 * (1.0 - 0.5 * np.power(decay, step))
        u_t_1 = beta_1 * (1.0 - 0.5 * np.power(decay, step + 1))
        u_product_t = _scalar(self._u_product, dt)
        u_product_t_1 = u_product_t * u_t_1
        index = self._get_variable_index(variable)
        m = self._momentums[index]
        v = self._velocities[index]
        self.assign_add(m, (g - m.value) * (1 - beta_1))
        self.assign_add(v, (np.square(g) - v.value) * (1 - beta_2))
        m_hat = u_t_1 * m.value / (1 - u_product_t_1) + (1 - u_t) * g / (1 - u_product_t)
        v_hat = v.value / (1 - np.power(beta_2, step))
        self.assign_sub(variable, (m_hat * lr) / (np.sqrt(v_hat) + self.epsilon))

    def get_config(self):
        config = super().get_config()
        config.update({"beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon})
        return config
