"""Adam, Keras 3 update rule (epsilon outside the sqrt, bias correction folded into the step)."""

from __future__ import annotations

import numpy as np

from rnnkit.optimizers.base_optimizer import Optimizer, _scalar, _updated_in_place

__all__ = ["Adam"]


class Adam(Optimizer):
    """The Adam optimizer (Kingma & Ba, 2014): adaptive moment estimation.

    With `t = iterations + 1`:

        m = m + (1 - beta_1) * (g - m)
        v = v + (1 - beta_2) * (g**2 - v)
        alpha = learning_rate * sqrt(1 - beta_2**t) / (1 - beta_1**t)
        w = w - alpha * m / (sqrt(v) + epsilon)

    With `amsgrad`, `v_hat = max(v_hat, v)` is used instead of `v`. Slots: `momentum` and
    `velocity` per variable, plus `velocity_hat` with `amsgrad`.

    Args:
        learning_rate: A float, a `LearningRateSchedule` or a callable taking no argument.
            Defaults to 0.001.
        beta_1: Float, the decay rate of the first moment. Defaults to 0.9.
        beta_2: Float, the decay rate of the second moment. Defaults to 0.999.
        epsilon: Small float added to the denominator. Defaults to 1e-7.
        amsgrad: Bool, use the AMSGrad variant. Defaults to `False`.
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
        name: Defaults to `"adam"`.
        **kwargs: See `Optimizer`.

    Example:

    >>> import numpy as np, rnnkit as keras
    >>> v = keras.Variable(np.array([1.0, 2.0], dtype="float32"))
    >>> opt = keras.optimizers.Adam(learning_rate=0.1)
    >>> opt.apply([np.array([1.0, -1.0], dtype="float32")], [v])
    >>> v.numpy().round(3)
    array([0.9, 2.1], dtype=float32)
    >>> len(opt.variables)  # iterations, learning_rate, 2 slots
    4
    """

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7,
                 amsgrad=False, weight_decay=None, clipnorm=None, clipvalue=None,
                 global_clipnorm=None, use_ema=False, ema_momentum=0.99,
                 ema_overwrite_frequency=None, loss_scale_factor=None,
                 gradient_accumulation_steps=None, name="adam", **kwargs):
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
        self.amsgrad = amsgrad

    def build(self, var_list):
        """Creates the `momentum` and `velocity` slots (and `velocity_hat` with amsgrad)."""
        if self.built:
            return
        super().build(var_list)
        self._momentums, self._velocities = self.add_optimizer_variables(
            var_list, ["momentum", "velocity"])
        if self.amsgrad:
            self._velocity_hats = self.add_optimizer_variables(var_list, "velocity_hat")

    def update_step(self, gradient, variable, learning_rate):
        """Applies the Adam update to one variable (see the class docstring)."""
        dtype = np.dtype(variable.dtype)
        self._update_in_place(gradient, variable, self._step_constants(dtype, learning_rate))

    _fast_update_step = update_step

    def _step_constants(self, dtype, learning_rate):
        """The step size with both bias corrections, in `dtype`, for this step."""
        lr = _scalar(learning_rate, dtype)
        local_step = np.asarray(self._update_count() + 1, dtype=dtype)
        beta_1_power = np.power(np.asarray(self.beta_1, dtype=dtype), local_step)
        beta_2_power = np.power(np.asarray(self.beta_2, dtype=dtype), local_step)
        return lr * np.sqrt(1 - beta_2_power) / (1 - beta_1_power)

    def _update_in_place(self, g, variable, alpha):
        index = self._get_variable_index(variable)
        m = self._momentums[index]
        v = self._velocities[index]
        m_value, v_value = m.value, v.value
        # out= everywhere: a 0-d array's ufunc result would otherwise be a NumPy scalar.
        scratch = np.subtract(g, m_value, out=np.empty_like(m_value))  # m += (g - m) * (1 - b1)
        scratch *= 1 - float(self.beta_1)
        m_value += scratch
        np.square(g, out=scratch)                           # v += (g^2 - v) * (1 - beta_2)
        scratch -= v_value
        scratch *= 1 - float(self.beta_2)
        v_value += scratch
        updated = [m, v, variable]
        if self.amsgrad:
            v_hat = self._velocity_hats[index]
            np.maximum(v_hat.value, v_value, out=v_hat.value)
            v_value = v_hat.value
            updated.append(v_hat)
        denominator = np.sqrt(v_value, out=np.empty_like(v_value))  # w -= m*alpha/(sqrt(v)+eps)
        denominator += float(self.epsilon)
        np.multiply(m_value, alpha, out=scratch)
        scratch /= denominator
        weights = variable.value
        weights -= scratch
        _updated_in_place(*updated)

    def get_config(self):
        config = super().get_config()
        config.update({"beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon,
                       "amsgrad": self.amsgrad})
        return config
