"""LossScaleOptimizer: dynamic loss scaling around another optimizer (Keras 3 behaviour)."""

from __future__ import annotations

import numpy as np

from rnnkit import initializers as _initializers
from rnnkit import saving as _saving
from rnnkit.autodiff import unwrap
from rnnkit.optimizers.base_optimizer import Optimizer, _assign, _scalar

__all__ = ["LossScaleOptimizer"]

_UNSUPPORTED_DEFAULTS = {
    "weight_decay": None, "clipnorm": None, "global_clipnorm": None, "clipvalue": None,
    "use_ema": False, "ema_momentum": 0.99, "ema_overwrite_frequency": None,
    "loss_scale_factor": None, "gradient_accumulation_steps": None,
}


class LossScaleOptimizer(Optimizer):
    """An optimizer that scales the loss dynamically, around an inner optimizer.

    `scale_loss(loss)` multiplies the loss by the current scale (`initial_scale` at first);
    `apply(grads)` divides the gradients by it and, when they are all finite, lets the
    inner optimizer apply them, doubling the scale after `dynamic_growth_steps` finite steps
    in a row. When a gradient holds an inf or a NaN the step is skipped (the weights and the
    inner optimizer are left alone) and the scale is halved. This keeps float16 gradients in
    range; with float32 and float64 it is mostly a no-op. `iterations` and `learning_rate`
    are the inner optimizer's; `variables` lists the scaler's own (`iteration`,
    `learning_rate`, `step_counter`, `dynamic_scale`) then the inner optimizer's.

    Args:
        inner_optimizer: The `Optimizer` to wrap (its `loss_scale_factor` is set to None).
        initial_scale: Float, the first scale. Defaults to `2**15`.
        dynamic_growth_steps: Int, how many finite steps in a row double the scale.
            Defaults to 2000.
        name: Optional name. Defaults to `"loss_scale_optimizer"`.
        **kwargs: `dynamic=False` and the other optimizer arguments (weight decay,
            clipping, EMA, ...) are refused: set them on the inner optimizer.

    Raises:
        ValueError: For `dynamic=False`, an optimizer argument set to a non-default value,
            or an unknown keyword.
        TypeError: If `inner_optimizer` is not an `Optimizer`.

    Example:

    >>> import numpy as np, rnnkit as keras
    >>> opt = keras.optimizers.LossScaleOptimizer(keras.optimizers.SGD(0.1), initial_scale=8.0)
    >>> v = keras.Variable(np.array([1.0], dtype="float32"))
    >>> float(opt.scale_loss(2.0))
    16.0
    >>> opt.apply([np.array([8.0], "float32")], [v])  # unscaled: 1.0
    >>> v.numpy()
    array([0.9], dtype=float32)
    >>> opt.apply([np.array([np.inf], "float32")], [v])  # skipped; the scale halves
    >>> v.numpy(), float(opt.dynamic_scale.numpy())
    (array([0.9], dtype=float32), 4.0)
    """

    def __init__(self, inner_optimizer, initial_scale=2.0 ** 15, dynamic_growth_steps=2000,
                 name=None, **kwargs):
        if not kwargs.pop("dynamic", True):
            raise ValueError("LossScaleOptimizer no longer supports `dynamic=False`. Instead, "
                             "simply set `loss_scale_factor` directly on the "
                             "`inner_optimizer`.")
        for arg_name, default in _UNSUPPORTED_DEFAULTS.items():
            if arg_name in kwargs:
                value = kwargs.pop(arg_name)
                if value != default:
                    raise ValueError(f"LossScaleOptimizer does not support `{arg_name}`. "
                                     f"Instead, set `{arg_name}` on the `inner_optimizer`.")
        if kwargs:
            raise ValueError("LossScaleOptimizer does not support arguments: "
                             f"`{'`, `'.join(kwargs)}`.")
        if not isinstance(inner_optimizer, Optimizer):
            raise TypeError("Argument `inner_optimizer` must be an Optimizer. Received: "
                            f"inner_optimizer={inner_optimizer!r}")
        if isinstance(dynamic_growth_steps, bool) or not isinstance(
                dynamic_growth_steps, (int, np.integer)) or dynamic_growth_steps < 1:
            raise ValueError("Argument `dynamic_growth_steps` must be an int >= 1. Received: "
                             f"dynamic_growth_steps={dynamic_growth_steps!r}")
        super().__init__(learning_rate=0.0, name=name)
        self.inner_optimizer = inner_optimizer
        self.initial_scale = float(initial_scale)
        self.dynamic_growth_steps = int(dynamic_growth_steps)
        self.inner_optimizer.loss_scale_factor = None

    # The scaler's own step counter exists (Keras lists it) but `iterations` is the inner one.
    @property
    def iterations(self):
        """The inner optimizer's step counter."""
        if "inner_optimizer" in self.__dict__:
            return self.inner_optimizer.iterations
        return self.__dict__["_own_iterations"]

    @iterations.setter
    def iterations(self, value):
        self.__dict__["_own_iterations"] = value

    @property
    def learning_rate(self):
        """The inner optimizer's learning rate (settable)."""
        return self.inner_optimizer.learning_rate

    @learning_rate.setter
    def learning_rate(self, value):
        self.inner_optimizer.learning_rate = value

    @property
    def variables(self):
        """The scaler's own variables, then the inner optimizer's."""
        return list(self._variables) + self.inner_optimizer.variables

    def build(self, var_list):
        """Creates `step_counter` and `dynamic_scale`, and builds the inner optimizer."""
        if self.built:
            return
        self.step_counter = self.add_variable((), "zeros", dtype="int32", name="step_counter")
        self.dynamic_scale = self.add_variable(
            (), _initializers.Constant(self.initial_scale), dtype="float32",
            name="dynamic_scale")
        self.inner_optimizer.build(var_list)
        super().build(var_list)

    def scale_loss(self, loss):
        """Returns `loss` times the current scale (`initial_scale` before the first step)."""
        scale = float(_scalar(self.dynamic_scale)) if self.built else self.initial_scale
        return loss * scale

    def apply(self, grads, trainable_variables=None):
        """Unscales the gradients and applies them with the inner optimizer when they are
        all finite; otherwise skips the step and halves the scale (see the class docstring).

        Args:
            grads: A list of gradients (scaled by `scale_loss`), one per variable.
            trainable_variables: The variables. Defaults to those the optimizer was built
                with.
        """
        grads = list(grads)
        if not self.built:
            if trainable_variables is None:
                raise ValueError("When passing `grads` without `variables`, the optimizer "
                                 "must already be built on a list of variables.")
            self.build(list(trainable_variables))
        arrays = [None if g is None else np.asarray(unwrap(g)) for g in grads]
        finite = all(np.all(np.isfinite(g)) for g in arrays if g is not None)
        if not finite:
            _assign(self.step_counter, 0)
            _assign(self.dynamic_scale, _scalar(self.dynamic_scale) * 0.5)
            return
        scale = _scalar(self.dynamic_scale)
        unscaled = [None if g is None else g / scale.astype(g.dtype) for g in arrays]
        self.inner_optimizer.apply(unscaled, trainable_variables)
        if int(_scalar(self.step_counter)) == self.dynamic_growth_steps - 1:
            _assign(self.step_counter, 0)
            _assign(self.dynamic_scale, _scalar(self.dynamic_scale) * 2.0)
        else:
            _assign(self.step_counter, int(_scalar(self.step_counter)) + 1)

    def finalize_variable_values(self, var_list):
        """Lets the inner optimizer finalize the variables (its EMA, if any)."""
        self.inner_optimizer.finalize_variable_values(var_list)

    def get_config(self):
        return {"name": self.name,
                "inner_optimizer": _saving.serialize(self.inner_optimizer),
                "initial_scale": self.initial_scale,
                "dynamic_growth_steps": self.dynamic_growth_steps}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        """Creates the optimizer from `get_config()`, deserializing the inner optimizer."""
        from rnnkit import optimizers
        config = dict(config)
        inner = config.pop("inner_optimizer")
        if isinstance(inner, dict):
            inner = optimizers.deserialize(inner, custom_objects=custom_objects)
        return cls(inner, **config)
