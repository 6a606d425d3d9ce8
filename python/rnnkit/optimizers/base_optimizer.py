"""The optimizer base class (Keras 3's `BaseOptimizer` / `keras.optimizers.Optimizer`).

One `apply(grads, trainable_variables)` (or `apply_gradients(zip(grads, vars))`) call:

1. builds the optimizer on the first call (slot variables for each trainable variable);
2. drops the pairs whose gradient is None (warning), and raises if none is left;
3. divides by `loss_scale_factor` when set;
4. clips: `clipnorm` per gradient (`g * c / max(||g||, c)`), `global_clipnorm` over all of
   them together, or `clipvalue` elementwise (only one of the three may be set);
5. applies decoupled weight decay when `weight_decay` is set: `v <- v - v * wd * lr`;
6. runs each optimizer's `update_step(grad, variable, learning_rate)` (NumPy, in the variable's
   dtype; the learning rate is the float, or the schedule at the current `iterations`);
7. updates the EMA of the weights when `use_ema` (and overwrites the weights every
   `ema_overwrite_frequency` steps);
8. increments `iterations`; then applies each variable's constraint (after the update, as Keras).

`optimizer.variables` lists `iterations`, the `learning_rate` variable (absent when the learning
rate is a schedule or a callable) and the slots in creation order; Adam therefore holds
`2 * n_params + 2` values, as Keras' model summary counts them.
"""

from __future__ import annotations

import collections
import re
import warnings

import numpy as np

from rnnkit import initializers as _initializers
from rnnkit import placement
from rnnkit import saving as _saving
from rnnkit.array_library import as_array as _as_array
from rnnkit.array_library import host_scalar
from rnnkit.autodiff import unwrap
from rnnkit.optimizers import schedules as _schedules
from rnnkit.variables import Variable

__all__ = ["BaseOptimizer", "Optimizer", "clip_by_global_norm", "global_norm"]

_name_uids: collections.Counter = collections.Counter()


def _auto_name(class_name):
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", class_name)
    prefix = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name).lower()
    count = _name_uids[prefix]
    _name_uids[prefix] += 1
    return prefix if count == 0 else f"{prefix}_{count}"


def _value(x):
    """The NumPy value of a Variable / Tensor / array-like (size-1 Variables as 0-d)."""
    if isinstance(x, Variable):
        return x.value
    return _as_array(unwrap(x))


def _scalar(x, dtype=None):
    v = _as_array(_value(x) if isinstance(x, Variable) else unwrap(x))
    if v.size == 1:
        v = v.reshape(())
    if dtype is not None:
        v = v.astype(dtype)
    return host_scalar(v)


def _assign(variable, value):
    value = _as_array(value)
    target = tuple(variable.shape)
    if value.shape != target and value.size == int(np.prod(target, dtype=np.int64)):
        value = value.reshape(target)
    variable.assign(value)


def _updated_in_place(*variables):
    """Marks variables whose arrays an update rule changed in place (`out=` ufuncs save the
    temporaries and the copy of `assign`): their version moves on as an assignment's does."""
    for variable in variables:
        variable._updated_in_place()


class _ScalarVariable(Variable):
    """A Variable holding one number (the learning rate): also converts with float()."""

    def __float__(self):
        return float(self.value.reshape(()))

    def __int__(self):
        return int(self.value.reshape(()))


def _check_number(value, name, allow_none=True):
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ValueError(f"Argument `{name}` must be a number or None. Received: "
                         f"{name}={value!r}")
    return value


def global_norm(value_list):
    """Returns the global L2 norm of a list of arrays.

    Args:
        value_list: A list of arrays; `None` entries are skipped.

    Returns:
        A scalar: the square root of the sum of the squares of every entry.
    """
    squared = [np.sum(np.square(v)) for v in value_list if v is not None]
    return np.sqrt(np.sum(np.stack(squared)))


def clip_by_global_norm(value_list, clip_norm):
    """Rescales a list of arrays so that their global L2 norm is at most `clip_norm`.

    Every array is multiplied by `clip_norm / max(global_norm, clip_norm)`; a non-finite
    global norm gives NaN arrays, as in Keras.

    Args:
        value_list: A list of arrays; `None` entries stay `None`.
        clip_norm: Positive float, the largest global norm.

    Returns:
        The list of rescaled arrays.
    """
    use_norm = global_norm(value_list)
    with np.errstate(divide="ignore", invalid="ignore"):
        scale_for_finite = clip_norm * np.minimum(1.0 / use_norm, 1.0 / clip_norm)
        scale = scale_for_finite + (use_norm - use_norm)
    return [v * scale if v is not None else v for v in value_list]


class Optimizer:
    """The base class of optimizers (`BaseOptimizer` is the same class).

    An optimizer updates variables from their gradients: `apply(grads, variables)` (or
    `apply_gradients(zip(grads, variables))`) builds the optimizer's slot variables on the
    first call, drops `None` gradients, unscales, clips and applies weight decay, runs
    `update_step` for each variable (in NumPy, in the variable's dtype), updates the moving
    average of the weights, increments `iterations` and applies the variables'
    constraints. Subclasses implement `build(var_list)` (calling `super().build(var_list)`
    first, then creating their slots with `add_optimizer_variables`),
    `update_step(gradient, variable, learning_rate)` and `get_config()`.

    Args:
        learning_rate: A float, a `keras.optimizers.schedules.LearningRateSchedule` (called
            with `iterations` at every step) or a callable taking no argument.
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
        name: Optional string, the prefix of the optimizer's variable paths. Defaults to
            the snake_case class name.
        **kwargs: `decay` is accepted and ignored with a warning, as in Keras; any other
            keyword raises `ValueError`.

    Raises:
        ValueError: For an invalid learning rate, more than one clipping argument, an
            invalid EMA or accumulation argument, or an unknown keyword.

    Example:

    >>> import numpy as np, rnnkit as keras
    >>> v = keras.Variable(np.array([1.0, 2.0], dtype="float32"))
    >>> opt = keras.optimizers.SGD(learning_rate=0.1)
    >>> opt.apply([np.array([1.0, 1.0], dtype="float32")], [v])
    >>> v.numpy()
    array([0.9, 1.9], dtype=float32)
    >>> int(opt.iterations.numpy())
    1
    """

    def __init__(self, learning_rate, weight_decay=None, clipnorm=None, clipvalue=None,
                 global_clipnorm=None, use_ema=False, ema_momentum=0.99,
                 ema_overwrite_frequency=None, loss_scale_factor=None,
                 gradient_accumulation_steps=None, name=None, **kwargs):
        if kwargs.pop("decay", None) is not None:
            warnings.warn("Argument `decay` is no longer supported and will be ignored.")
        if kwargs:
            raise ValueError(f"Argument(s) not recognized: {kwargs}")
        self.name = name if name is not None else _auto_name(type(self).__name__)
        self.weight_decay = _check_number(weight_decay, "weight_decay")
        self.clipnorm = _check_number(clipnorm, "clipnorm")
        self.global_clipnorm = _check_number(global_clipnorm, "global_clipnorm")
        self.clipvalue = _check_number(clipvalue, "clipvalue")
        self.use_ema = bool(use_ema)
        self.loss_scale_factor = _check_number(loss_scale_factor, "loss_scale_factor")
        self.gradient_accumulation_steps = gradient_accumulation_steps
        if gradient_accumulation_steps:
            if (isinstance(gradient_accumulation_steps, bool)
                    or not isinstance(gradient_accumulation_steps, (int, np.integer))
                    or gradient_accumulation_steps < 2):
                raise ValueError(
                    "`gradient_accumulation_steps` must be an integer >= 2. Received: "
                    f"gradient_accumulation_steps={gradient_accumulation_steps}")
        if use_ema:
            if ema_momentum > 1 or ema_momentum < 0:
                raise ValueError("`ema_momentum` must be in the range [0, 1]. Received: "
                                 f"ema_momentum={ema_momentum}")
            if ema_overwrite_frequency and (not isinstance(ema_overwrite_frequency, int)
                                            or ema_overwrite_frequency < 1):
                raise ValueError(
                    "`ema_overwrite_frequency` must be an integer >= 1 or None. Received: "
                    f"ema_overwrite_frequency={ema_overwrite_frequency}")
        self.ema_momentum = ema_momentum
        self.ema_overwrite_frequency = ema_overwrite_frequency
        if sum(a is not None for a in (clipnorm, clipvalue, global_clipnorm)) > 1:
            raise ValueError(
                "Only one of `clipnorm`, `clipvalue` and `global_clipnorm` can be set. "
                f"Received: clipnorm={clipnorm}, clipvalue={clipvalue}, "
                f"global_clipnorm={global_clipnorm}")
        self.built = False
        self._variables = []
        self._trainable_variables = []
        self._trainable_variables_indices = {}

        # The step counter and the learning rate are host scalars on every device: the
        # step's constants are computed from them on the host, never read back from a device.
        with placement.device("cpu"):
            self.iterations = Variable(np.int64(0), dtype="int64", trainable=False,
                                       name="iteration", path=f"{self.name}/iteration")
        self._variables.append(self.iterations)

        if isinstance(learning_rate, _schedules.LearningRateSchedule) or callable(learning_rate):
            self._learning_rate = learning_rate
        else:
            self._learning_rate = self._make_lr_variable(learning_rate)
            self._variables.append(self._learning_rate)

    # -- learning rate -------------------------------------------------------------------------
    def _make_lr_variable(self, learning_rate):
        if isinstance(learning_rate, (Variable, np.ndarray)) and np.size(learning_rate) == 1:
            learning_rate = float(_scalar(learning_rate))
        if isinstance(learning_rate, bool) or not isinstance(
                learning_rate, (int, float, np.integer, np.floating)):
            raise ValueError(
                "Argument `learning_rate` should be float, or an instance of "
                "LearningRateSchedule, or a callable (that takes in the current iteration "
                "value and returns the corresponding learning rate value). Received instead: "
                f"learning_rate={learning_rate}")
        with placement.device("cpu"):
            return _ScalarVariable(np.float32(learning_rate), dtype="float32",
                                   trainable=False, name="learning_rate",
                                   path=f"{self.name}/learning_rate")

    @property
    def learning_rate(self):
        """The current learning rate.

        The float32 `learning_rate` Variable (as in Keras), the schedule's value at the
        current `iterations`, or the callable's value. Setting a number assigns the
        variable; setting a schedule or callable replaces it (a schedule-built optimizer
        cannot take a number: `TypeError`).
        """
        return self._get_current_learning_rate()

    @learning_rate.setter
    def learning_rate(self, learning_rate):
        previous = self._learning_rate if isinstance(self._learning_rate, Variable) else None
        if isinstance(learning_rate, _schedules.LearningRateSchedule) or callable(learning_rate):
            self._learning_rate = learning_rate
        else:
            if previous is None:
                raise TypeError(
                    "This optimizer was created with a `LearningRateSchedule` object as its "
                    "`learning_rate` constructor argument, hence its learning rate is not "
                    "settable. If you need the learning rate to be settable, you should "
                    "instantiate the optimizer with a float `learning_rate` argument.")
            _assign(previous, np.float32(float(_scalar(learning_rate))))
        if previous is not None and not isinstance(self._learning_rate, Variable):
            self._variables = [v for v in self._variables if v is not previous]

    def _get_current_learning_rate(self):
        if isinstance(self._learning_rate, _schedules.LearningRateSchedule):
            return _scalar(self._learning_rate(self.iterations))
        if isinstance(self._learning_rate, Variable):
            return self._learning_rate
        if callable(self._learning_rate):
            return self._learning_rate()
        return self._learning_rate

    def _update_count(self):
        """The number of updates done so far, as Keras' `iterations` property counts them:
        the calls to `apply`, divided (floor) by `gradient_accumulation_steps` when set. The
        update rules' step `t` is this plus one; `iterations` itself counts every call."""
        count = int(_scalar(self.iterations))
        if self.gradient_accumulation_steps:
            count //= self.gradient_accumulation_steps
        return count

    # -- variables -------------------------------------------------------------------------------
    @property
    def variables(self):
        """The optimizer's variables: `iterations`, the `learning_rate` variable (when the
        learning rate is a number), then the slot variables in creation order."""
        return list(self._variables)

    def _var_key(self, variable):
        return id(variable)

    def _get_variable_index(self, variable):
        return self._trainable_variables_indices[self._var_key(variable)]

    def add_variable(self, shape, initializer="zeros", dtype=None, aggregation="mean",
                     name=None):
        """Creates a non-trainable optimizer variable, tracked in `variables`.

        Args:
            shape: Tuple of ints.
            initializer: Initializer name or object. Defaults to `"zeros"`.
            dtype: Optional dtype. Defaults to float32.
            aggregation: Accepted for Keras compatibility; ignored.
            name: Optional name, used in the variable's path.

        Returns:
            The new `Variable`.
        """
        del aggregation
        init = _initializers.get(initializer)
        name = name or "variable"
        variable = Variable(init, shape=tuple(int(s) for s in shape), dtype=dtype or "float32",
                            trainable=False, name=name, path=f"{self.name}/{name}")
        self._variables.append(variable)
        return variable

    def add_variable_from_reference(self, reference_variable, name=None, initializer="zeros"):
        """Creates a slot variable with the shape and dtype of `reference_variable`.

        Its name is built from the reference's path (`dense/kernel` with `name="momentum"`
        gives `dense_kernel_momentum`).

        Args:
            reference_variable: The model variable the slot belongs to.
            name: Optional suffix of the slot's name. Defaults to `"var"`.
            initializer: Initializer name or object. Defaults to `"zeros"`.

        Returns:
            The new `Variable`.
        """
        name = name or "var"
        ref = getattr(reference_variable, "path", None) or str(reference_variable.name)
        name = ref.replace("/", "_").replace(":", "_") + "_" + name
        # The slot lives on the device of its variable.
        value = getattr(reference_variable, "value", None)
        where = "cpu:0" if value is None or type(value) is np.ndarray else \
            getattr(reference_variable, "device", "cpu:0")
        with placement.device(where):
            return self.add_variable(shape=reference_variable.shape, initializer=initializer,
                                     dtype=reference_variable.dtype, name=name)

    def add_optimizer_variables(self, trainable_variables, name, initializer="zeros"):
        """Creates one slot per variable for each slot name.

        Args:
            trainable_variables: The model variables.
            name: A slot name, or a list of names.
            initializer: An initializer, or a list with one per name. Defaults to
                `"zeros"`.

        Returns:
            For a single name, the list of slots (one per variable); for a list of names,
            a tuple with one such list per name.
        """
        names = [name] if isinstance(name, str) else list(name)
        inits = [initializer] * len(names) if not isinstance(initializer, (list, tuple)) \
            else list(initializer)
        out = tuple([] for _ in names)
        for variable in trainable_variables:
            for i, (n, init) in enumerate(zip(names, inits)):
                out[i].append(self.add_variable_from_reference(variable, n, init))
        return out[0] if isinstance(name, str) else out

    def build(self, variables):
        """Creates the optimizer's variables for `variables`.

        Called by the first `apply`; call it yourself before `set_weights` or before
        `apply` without variables. Subclasses call `super().build(variables)` first and then
        create their slots.

        Args:
            variables: The list of trainable variables the optimizer will update.
        """
        variables = list(variables)
        if self.use_ema:
            self._model_variables_moving_average = self.add_optimizer_variables(
                variables, "average")
        if self.gradient_accumulation_steps:
            self._accumulated_gradients = self.add_optimizer_variables(
                variables, "gradient_accumulator")
        for i, variable in enumerate(variables):
            self._trainable_variables_indices[self._var_key(variable)] = i
        self._trainable_variables = variables[:]
        self.built = True

    def _check_variables_are_known(self, variables):
        for v in variables:
            if self._var_key(v) not in self._trainable_variables_indices:
                raise ValueError(
                    f"Unknown variable: {v}. This optimizer can only be called for the "
                    "variables it was originally built with. When working with a new set of "
                    "variables, you should recreate a new optimizer instance.")

    # -- assignment helpers (for update_step) ----------------------------------------------------
    def assign(self, variable, value):
        """Sets `variable` to `value` (for use in `update_step`)."""
        _assign(variable, value)

    def assign_add(self, variable, value):
        """Adds `value` to `variable` (for use in `update_step`)."""
        _assign(variable, _value(variable) + value)

    def assign_sub(self, variable, value):
        """Subtracts `value` from `variable` (for use in `update_step`)."""
        _assign(variable, _value(variable) - value)

    def update_step(self, gradient, variable, learning_rate):
        """Updates one variable from its gradient; implemented by each optimizer.

        Args:
            gradient: The processed gradient, a NumPy array of the variable's dtype.
            variable: The `Variable` to update.
            learning_rate: The current learning rate.

        Raises:
            NotImplementedError: In the base class.
        """
        raise NotImplementedError(f"{type(self).__name__} must implement `update_step()`.")

    # -- applying gradients ----------------------------------------------------------------------
    def apply_gradients(self, grads_and_vars):
        """Applies gradients given as `(gradient, variable)` pairs (see `apply`).

        Args:
            grads_and_vars: An iterable of `(gradient, variable)` pairs.

        Returns:
            The `iterations` variable.
        """
        pairs = list(grads_and_vars)
        if not pairs:
            return self.iterations
        grads, trainable_variables = zip(*pairs)
        self.apply(list(grads), list(trainable_variables))
        return self.iterations

    def apply(self, grads, trainable_variables=None):
        """Updates variables from their gradients (one optimizer step).

        Args:
            grads: A list of gradients, one per variable; `None` means no gradient (the
                variable is skipped, with a warning).
            trainable_variables: The variables, in the order of `grads`. Defaults to those
                the optimizer was built with.

        Raises:
            ValueError: If the counts differ, a gradient's shape differs from its
                variable's, every gradient is `None`, a variable is not one the optimizer
                was built with, or no variables are given to an unbuilt optimizer.
        """
        grads = list(grads)
        if len(grads) == 0:
            return
        if trainable_variables is None:
            if not self.built:
                raise ValueError(
                    "When passing `grads` without `variables`, the optimizer must already be "
                    "built on a list of variables. Call `optimizer.build(trainable_variables)` "
                    "first.")
            if len(grads) != len(self._trainable_variables):
                raise ValueError(
                    "When passing `grads` as a list of gradient tensors, the gradients must "
                    f"match `optimizer.variables` one-to-one. Received a list of {len(grads)} "
                    f"gradients, but the optimizer is tracking "
                    f"{len(self._trainable_variables)} trainable variables.")
            trainable_variables = self._trainable_variables
        else:
            trainable_variables = list(trainable_variables)
            if len(trainable_variables) != len(grads):
                raise ValueError(
                    f"Received {len(grads)} gradients for {len(trainable_variables)} "
                    "variables; pass one gradient (or None) per variable.")
            if not self.built:
                self.build(trainable_variables)
                self.built = True
            self._check_variables_are_known(trainable_variables)

        grads, trainable_variables = self._filter_empty_gradients(grads, trainable_variables)
        grads = [_as_array(unwrap(g)) for g in grads]
        for g, v in zip(grads, trainable_variables):
            if g.shape != tuple(v.shape):
                raise ValueError(
                    f"The gradient for variable '{getattr(v, 'path', v)}' has shape {g.shape}, "
                    f"but the variable has shape {tuple(v.shape)}.")
        if self.loss_scale_factor is not None:
            grads = [g / self.loss_scale_factor for g in grads]
        self._backend_apply_gradients(grads, trainable_variables)
        for variable in trainable_variables:
            if getattr(variable, "constraint", None) is not None:
                variable.apply_constraint()

    def _backend_apply_gradients(self, grads, trainable_variables):
        if self.gradient_accumulation_steps:
            steps = self.gradient_accumulation_steps
            accumulators = [self._accumulated_gradients[self._get_variable_index(v)]
                            for v in trainable_variables]
            if (int(_scalar(self.iterations)) + 1) % steps == 0:
                grads = [(g + _value(acc)) / steps for g, acc in zip(grads, accumulators)]
                self._update(grads, trainable_variables)
                for acc in self._accumulated_gradients:
                    _assign(acc, np.zeros(acc.shape, dtype=acc.dtype))
            else:
                for g, acc in zip(grads, accumulators):
                    _assign(acc, _value(acc) + g)
        else:
            self._update(grads, trainable_variables)
        if self.use_ema:
            self._update_model_variables_moving_average(self._trainable_variables)
            if self.ema_overwrite_frequency and (
                    self._update_count() + 1) % self.ema_overwrite_frequency == 0:
                self._overwrite_model_variables_with_average_value(self._trainable_variables)
        _assign(self.iterations, _scalar(self.iterations) + 1)

    def _update(self, grads, trainable_variables):
        grads = self._clip_gradients(grads)
        self._apply_weight_decay(trainable_variables)
        self._backend_update_step(grads, trainable_variables, self.learning_rate)

    def _backend_update_step(self, grads, trainable_variables, learning_rate):
        if type(self).update_step is getattr(type(self), "_fast_update_step", None):
            # A built-in rule: the scalars of this step (learning rate, bias corrections) are
            # computed once per dtype, not once per variable.
            constants = {}
            for grad, variable in zip(grads, trainable_variables):
                dtype = np.dtype(variable.dtype)
                step = constants.get(dtype)
                if step is None:
                    step = constants[dtype] = self._step_constants(dtype, learning_rate)
                self._update_in_place(_as_array(grad, dtype=dtype), variable, step)
            return
        for grad, variable in zip(grads, trainable_variables):
            self.update_step(_as_array(grad, dtype=variable.dtype), variable, learning_rate)

    def _filter_empty_gradients(self, grads, variables):
        kept_g, kept_v, missing = [], [], []
        for g, v in zip(grads, variables):
            if g is None:
                missing.append(getattr(v, "name", str(v)))
            else:
                kept_g.append(g)
                kept_v.append(v)
        if not kept_g:
            raise ValueError("No gradients provided for any variable.")
        if missing:
            warnings.warn(
                f"Gradients do not exist for variables {missing} when minimizing the loss. "
                "If using `model.compile()`, did you forget to provide a `loss` argument?")
        return kept_g, kept_v

    def _clip_by_norm(self, values):
        l2sum = np.sum(np.square(values), keepdims=True)
        l2norm = np.sqrt(l2sum)
        return (values * self.clipnorm) / np.maximum(l2norm, self.clipnorm)

    def _clip_gradients(self, grads):
        if self.clipnorm and self.clipnorm > 0:
            return [self._clip_by_norm(g) if g is not None else g for g in grads]
        if self.global_clipnorm and self.global_clipnorm > 0:
            return clip_by_global_norm(grads, self.global_clipnorm)
        if self.clipvalue and self.clipvalue > 0:
            v = self.clipvalue
            return [np.clip(g, -v, v) if g is not None else g for g in grads]
        return grads

    # -- weight decay ------------------------------------------------------------------------------
    def exclude_from_weight_decay(self, var_list=None, var_names=None):
        """Excludes variables from weight decay.

        Args:
            var_list: Optional list of variables to exclude.
            var_names: Optional list of strings; variables whose name contains one of them
                (a regular expression search) are excluded.

        Raises:
            ValueError: If the optimizer is already built.
        """
        if self.built:
            raise ValueError("`exclude_from_weight_decay()` can only be configured before the "
                             "optimizer is built.")
        self._exclude_from_weight_decay = {self._var_key(v) for v in (var_list or [])}
        self._exclude_from_weight_decay_pattern = (
            re.compile("|".join(set(var_names))) if var_names else None)

    def _use_weight_decay(self, variable):
        if self._var_key(variable) in getattr(self, "_exclude_from_weight_decay", set()):
            return False
        pattern = getattr(self, "_exclude_from_weight_decay_pattern", None)
        if pattern is not None and re.search(pattern, variable.name) is not None:
            return False
        return True

    def _apply_weight_decay(self, variables):
        if self.weight_decay is None:
            return
        lr_now = self.learning_rate
        for variable in variables:
            if self._use_weight_decay(variable):
                lr = _scalar(lr_now, variable.dtype)
                wd = _scalar(self.weight_decay, variable.dtype)
                v = _value(variable)
                _assign(variable, v - v * wd * lr)

    # -- EMA ---------------------------------------------------------------------------------
    def _update_model_variables_moving_average(self, trainable_variables):
        first_step = self._update_count() == 0
        for var, average in zip(trainable_variables, self._model_variables_moving_average):
            momentum = 0.0 if first_step else self.ema_momentum
            momentum = _scalar(momentum, var.dtype)
            _assign(average, momentum * _value(average) + (1 - momentum) * _value(var))

    def _overwrite_model_variables_with_average_value(self, trainable_variables):
        if len(trainable_variables) != len(self._model_variables_moving_average):
            raise ValueError(
                f"The length of model variables ({len(trainable_variables)}) to override does "
                "not match the length of model variables stored in the optimizer "
                f"({len(self._model_variables_moving_average)}). Please check if the optimizer "
                "was called on your model.")
        for var, average in zip(trainable_variables, self._model_variables_moving_average):
            _assign(var, _value(average))

    def finalize_variable_values(self, var_list):
        """With `use_ema`, overwrites the variables with their moving averages.

        Call it at the end of training; without `use_ema` it does nothing.

        Args:
            var_list: The variables the optimizer was built with.
        """
        if self.use_ema:
            self._overwrite_model_variables_with_average_value(var_list)

    # -- loss scaling, weights, config ----------------------------------------------------------
    def scale_loss(self, loss):
        """Returns `loss * loss_scale_factor`, or `loss` when no factor is set."""
        if self.loss_scale_factor is not None:
            return loss * self.loss_scale_factor
        return loss

    def get_weights(self):
        """Returns copies of the values of `variables`, as a list of NumPy arrays."""
        return [np.array(_value(v)) for v in self.variables]

    def set_weights(self, weights):
        """Sets the values of `variables` from a list of arrays (as `get_weights` returns).

        Raises:
            ValueError: If the optimizer is not built, or the count or a shape differs.
        """
        if not self.built:
            raise ValueError(
                "You are calling `set_weights()` on an optimizer that has not yet been built. "
                "Please call `optimizer.build(trainable_variables)` to create the optimizer "
                "weights before calling `set_weights()`.")
        weights = list(weights)
        variables = self.variables
        if len(weights) != len(variables):
            raise ValueError(f"Optimizer '{self.name}' has {len(variables)} variables, "
                             f"but {len(weights)} weights were given.")
        for variable, weight in zip(variables, weights):
            weight = np.asarray(weight)
            if weight.size != int(np.prod(variable.shape, dtype=np.int64)) or (
                    weight.ndim > 1 and weight.shape != tuple(variable.shape)):
                raise ValueError(
                    f"Optimizer variable {variable.path} has shape {tuple(variable.shape)} not "
                    f"compatible with provided weight shape {weight.shape}.")
            _assign(variable, weight)

    def save_own_variables(self, store):
        """Writes the values of `variables` into `store` under the keys `"0"`, `"1"`, ..."""
        for i, variable in enumerate(self.variables):
            store[str(i)] = np.array(_value(variable))

    def load_own_variables(self, store):
        """Reads the values of `variables` from a `store` written by `save_own_variables`.

        When the number of entries differs (an optimizer not built yet, for example), it
        warns and loads nothing.
        """
        variables = self.variables
        if len(store.keys()) != len(variables):
            msg = (f"Skipping variable loading for optimizer '{self.name}', because it has "
                   f"{len(variables)} variables whereas the saved optimizer has "
                   f"{len(store.keys())} variables. ")
            if len(variables) <= 2 and not self.built:
                msg += "This is likely because the optimizer has not been called/built yet."
            warnings.warn(msg, stacklevel=2)
            return
        for i, variable in enumerate(variables):
            _assign(variable, store[str(i)])

    def get_config(self):
        """Returns the constructor arguments as a dict (a schedule as its serialized form)."""
        if isinstance(self._learning_rate, _schedules.LearningRateSchedule):
            learning_rate = _schedules.serialize(self._learning_rate)
        elif isinstance(self._learning_rate, Variable):
            learning_rate = float(_scalar(self._learning_rate))
        elif callable(self._learning_rate):
            learning_rate = _saving.serialize(self._learning_rate)
        else:
            learning_rate = self._learning_rate
        return {
            "name": self.name,
            "learning_rate": learning_rate,
            "weight_decay": self.weight_decay,
            "clipnorm": self.clipnorm,
            "global_clipnorm": self.global_clipnorm,
            "clipvalue": self.clipvalue,
            "use_ema": self.use_ema,
            "ema_momentum": self.ema_momentum,
            "ema_overwrite_frequency": self.ema_overwrite_frequency,
            "loss_scale_factor": self.loss_scale_factor,
            "gradient_accumulation_steps": self.gradient_accumulation_steps,
        }

    @classmethod
    def from_config(cls, config, custom_objects=None):
        """Creates an optimizer from `get_config()`, deserializing a schedule.

        Args:
            config: A dict from `get_config()`.
            custom_objects: Optional dict of custom schedules.

        Returns:
            A new, unbuilt optimizer.
        """
        config = dict(config)
        if isinstance(config.get("learning_rate"), dict):
            config["learning_rate"] = _saving.deserialize(
                config["learning_rate"], custom_objects=custom_objects,
                module_objects=_schedules.ALL_OBJECTS_DICT)
        return cls(**config)

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name}>"


BaseOptimizer = Optimizer
