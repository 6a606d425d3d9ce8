"""Lion: evolved sign momentum (Keras 3 update rule)."""

from __future__ import annotations

import numpy as np

from rnnkit.optimizers.base_optimizer import Optimizer, _scalar

__all__ = ["Lion"]


class Lion(Optimizer):
    """The Lion optimizer (Chen et al., 2023): updates of the sign of an interpolated momentum.

        w = w - learning_rate * sign(beta_1 * m + (1 - beta_1) * g)
        m = beta_2 * m + (1 - beta_2) * g

    Every update has the same size, so Lion usually wants a learning rate 3-10 times smaller
    than Adam's. Slot: `momentum` per variable.

    Args:
        learning_rate: A float, a `LearningRateSchedule` or a callable taking no argument.
            Defaults to 0.001.
        beta_1: Float in (0, 1], the interpolation of the update. Defaults to 0.9.
        beta_2: Float, the decay rate of the momentum. Defaults to 0.99.
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
        name: Defaults to `"lion"`.
        **kwargs: See `Optimizer`.

    Raises:
        ValueError: If `beta_1` is not in (0, 1].

    Example:

    >>> import numpy as np, rnnkit as keras
    >>> v = keras.Variable(np.array([1.0, 2.0], dtype="float32"))
    >>> opt = keras.optimizers.Lion(learning_rate=0.1)
    >>> opt.apply([np.array([3.0, -0.5], "float32")], [v])
    >>> v.numpy()
    array([0.9, 2.1], dtype=float32)
    """

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.99,
                 weight_decay=None, clipnorm=None, clipvalue=None,
                 global_clipnorm=None, use_ema=False, ema_momentum=0.99,
                 ema_overwrite_frequency=None, loss_scale_factor=None,
                 gradient_accumulation_steps=None, name="lion", **kwargs):
        super().__init__(learning_rate=learning_rate, name=name, weight_decay=weight_decay,
                         clipnorm=clipnorm, clipvalue=clipvalue,
                         global_clipnorm=global_clipnorm, use_ema=use_ema,
                         ema_momentum=ema_momentum,
                         ema_overwrite_frequency=ema_overwrite_frequency,
                         loss_scale_factor=loss_scale_factor,
                         gradient_accumulation_steps=gradient_accumulation_steps, **kwargs)
        if isinstance(beta_1, bool) or not isinstance(beta_1, (int, float, np.integer,
                                                               np.floating)):
            raise TypeError(f"Argument `beta_1` must be a float. Received: beta_1={beta_1!r}")
        if beta_1 <= 0 or beta_1 > 1:
            raise ValueError("Argument `beta_1` must be in the [0, 1] range. Otherwise, the "
                             f"optimizer degenerates to SignSGD. Received: beta_1={beta_1}.")
        self.beta_1 = beta_1
        self.beta_2 = beta_2

    def build(self, var_list):
        """Creates the `momentum` slots."""
        if self.built:
            return
        super().build(var_list)
        self._momentums = self.add_optimizer_variables(var_list, "momentum")

    def update_step(self, gradient, variable, learning_rate):
        """Applies the Lion update to one variable (see the class docstring)."""
        dt = np.dtype(variable.dtype)
        lr = _scalar(learning_rate, dt)
        beta_1, beta_2 = _scalar(self.beta_1, dt), _scalar(self.beta_2, dt)
        m = self._momentums[self._get_variable_index(variable)]
        self.assign_sub(variable, lr * np.sign(m.value * beta_1 + gradient * (1 - beta_1)))
        self.assign(m, m.value * beta_2 + gradient * (1 - beta_2))

    def get_config(self):
        config = super().get_config()
        config.update({"beta_1": self.beta_1, "beta_2": self.beta_2})
        return config
