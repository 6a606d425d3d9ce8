"""SGD with optional (Nesterov) momentum, Keras 3 update rule."""

from __future__ import annotations

import numpy as np

from rnnkit.optimizers.base_optimizer import Optimizer, _scalar, _updated_in_place

__all__ = ["SGD"]


class SGD(Optimizer):
    """Gradient descent, with optional (Nesterov) momentum.

    Without momentum: `w = w - learning_rate * g`. With momentum:
    `m = momentum * m - learning_rate * g`, then `w = w + m`, or with `nesterov`
    `w = w + momentum * m - learning_rate * g` (with the new `m`). The optimizer has one
    `momentum` slot per variable, only when `momentum` is not 0.

    Args:
        learning_rate: A float, a `LearningRateSchedule` or a callable taking no argument.
            Defaults to 0.01.
        momentum: Float in [0, 1]. Defaults to 0.
        nesterov: Bool, use Nesterov momentum. Defaults to `False`.
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
        name: Defaults to `"SGD"`.
        **kwargs: See `Optimizer`.

    Raises:
        ValueError: If `momentum` is not in [0, 1], or for an invalid common argument.

    Example:

    >>> import numpy as np, rnnkit as keras
    >>> v = keras.Variable(np.array([1.0], dtype="float32"))
    >>> opt = keras.optimizers.SGD(learning_rate=0.1, momentum=0.9)
    >>> opt.apply_gradients([(np.array([1.0], dtype="float32"), v)])
    <Variable path=SGD/iteration, shape=(), dtype=int64, value=1>
    >>> v.numpy()
    array([0.9], dtype=float32)
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
        """Creates the `momentum` slots (when `momentum` is not 0)."""
        if self.built:
            return
        super().build(variables)
        self.momentums = []
        if self.momentum != 0:
            self.momentums = self.add_optimizer_variables(variables, "momentum")

    def update_step(self, gradient, variable, learning_rate):
        """Applies the SGD update to one variable (see the class docstring)."""
        dtype = np.dtype(variable.dtype)
        self._update_in_place(gradient, variable, self._step_constants(dtype, learning_rate))

    _fast_update_step = update_step

    def _step_constants(self, dtype, learning_rate):
        """The learning rate and the momentum, in `dtype`, for this step."""
        return _scalar(learning_rate, dtype), _scalar(self.momentum, dtype)

    def _update_in_place(self, g, variable, constants):
        lr, momentum = constants
        weights = variable.value
        step = np.multiply(g, lr, out=np.empty_like(weights))  # g * lr (an array even 0-d)
        if self.momentum == 0:
            weights -= step
            _updated_in_place(variable)
            return
        m = self.momentums[self._get_variable_index(variable)]
        m_value = m.value
        m_value *= momentum                                 # m = m * momentum - g * lr
        m_value -= step
        if self.nesterov:                                   # w += m * momentum - g * lr
            nesterov = np.multiply(m_value, momentum, out=np.empty_like(m_value))
            nesterov -= step
            weights += nesterov
        else:                                               # w += m
            weights += m_value
        _updated_in_place(m, variable)

    def get_config(self):
        config = super().get_config()
        config.update({"momentum": self.momentum, "nesterov": self.nesterov})
        return config
