"""Normalization: `(x - mean) / sqrt(variance)` per feature, with statistics given or adapted."""

from __future__ import annotations

import numpy as np

from rnnkit import ops
from rnnkit.layers.core._checks import check_bool, is_int
from rnnkit.layers.layer import Layer
from rnnkit.layers.preprocessing._base import iterate_batches, to_numpy

_EPSILON = 1e-7   # Keras' backend.epsilon()


class Normalization(Layer):
    """Normalizes inputs feature-wise: `(x - mean) / max(sqrt(variance), 1e-7)`.

    The mean and variance are given (`mean=`, `variance=`) or computed by `adapt(data)` over
    every axis except `axis` (the kept axes get one statistic per position). With `invert`,
    the layer maps back: `mean + x * max(sqrt(variance), 1e-7)`. Adapted statistics are
    non-trainable weights `mean`, `variance` and `count` (Keras' layout; as in Keras, `adapt`
    leaves `count` at 0). The computation
    uses `rnnkit.ops`, so it is differentiable with respect to the input.

    Args:
        axis: Int, tuple of ints or `None`: the axes that keep their own statistics.
            Defaults to -1 (one mean per feature); `None` means one scalar mean/variance.
        mean: Optional mean (scalar or array broadcast to the kept axes).
        variance: Optional variance, of `mean`'s shape.
        invert: Bool; if `True`, de-normalizes.
        **kwargs: Base layer arguments (`name`, `dtype`, ...).

    Call arguments:
        inputs: A float array.

    Returns:
        An array of the input's shape.

    Raises:
        ValueError: If only one of `mean` / `variance` is given, their shapes differ or
            their rank exceeds the number of axes, an axis is out of range or of unknown
            size, `adapt` gets data of another shape, or the layer is called before it has
            statistics.

    Example:

    >>> import numpy as np, rnnkit as keras
    >>> layer = keras.layers.Normalization(axis=None)
    >>> layer.adapt(np.array([1.0, 2.0, 3.0], "float32"))
    >>> layer(np.array([1.0, 2.0, 3.0])).astype("float64").round(4).tolist()
    [-1.2247, 0.0, 1.2247]
    """

    supports_masking = True

    def __init__(self, axis=-1, mean=None, variance=None, invert=False, **kwargs):
        super().__init__(**kwargs)
        if axis is None:
            axis = ()
        elif is_int(axis):
            axis = (int(axis),)
        elif isinstance(axis, (list, tuple)) and all(is_int(a) for a in axis):
            axis = tuple(int(a) for a in axis)
        else:
            raise ValueError(f"Normalization: `axis` must be None, an int or a tuple of ints. "
                             f"Received: axis={axis!r}")
        self.axis = axis
        self.input_mean = mean
        self.input_variance = variance
        self.invert = check_bool(invert, "invert")
        self.mean = None
        self.variance = None
        self._build_input_shape = None
        if (mean is not None) != (variance is not None):
            raise ValueError("When setting values directly, both `mean` and `variance` must be "
                             f"set. Received: mean={mean} and variance={variance}")
        if mean is not None:
            if np.shape(mean) != np.shape(variance):
                raise ValueError("When setting values directly, `mean` and `variance` must "
                                 f"have the same shape. Received: mean shape {np.shape(mean)} "
                                 f"and variance shape {np.shape(variance)}")
            if len(np.shape(mean)) > len(self.axis):
                raise ValueError("The rank of `mean` must be less than or equal to the number "
                                 f"of axes ({len(self.axis)}). Received: mean shape "
                                 f"{np.shape(mean)} for axis {self.axis}")

    def build(self, input_shape):
        """Resolves the axes; creates `mean`, `variance`, `count` (without given statistics)
        or broadcasts the given ones.

        Raises:
            ValueError: If an axis is out of range or a kept axis has unknown size.
        """
        input_shape = tuple(input_shape)
        ndim = len(input_shape)
        self._build_input_shape = input_shape
        if any(a < -ndim or a >= ndim for a in self.axis):
            raise ValueError("All `axis` values must be in the range [-ndim, ndim). Received "
                             f"inputs with ndim={ndim}, while axis={self.axis}")
        self._keep_axis = tuple(sorted(a if a >= 0 else a + ndim for a in self.axis))
        for a in self._keep_axis:
            if input_shape[a] is None:
                raise ValueError("All `axis` values to be kept must have a known shape. "
                                 f"Received axis={self.axis}, inputs.shape={input_shape}, "
                                 f"with unknown axis at index {a}")
        self._reduce_axis = tuple(a for a in range(ndim) if a not in self._keep_axis)
        self._broadcast_shape = tuple(input_shape[a] if a in self._keep_axis else 1
                                      for a in range(ndim))
        self._stats_shape = tuple(input_shape[a] for a in self._keep_axis)
        if self.input_mean is None:
            self.adapt_mean = self.add_weight(shape=self._stats_shape, initializer="zeros",
                                              trainable=False, name="mean")
            self.adapt_variance = self.add_weight(shape=self._stats_shape, initializer="ones",
                                                  trainable=False, name="variance")
            self.count = self.add_weight(shape=(), initializer="zeros", trainable=False,
                                         name="count")
            self.finalize_state()
        else:
            mean = np.asarray(self.input_mean, dtype=np.float64)
            variance = np.asarray(self.input_variance, dtype=np.float64)
            if mean.ndim:
                expanded = [1] * ndim
                for i in range(1, mean.ndim + 1):
                    expanded[self._keep_axis[-i]] = mean.shape[-i]
                mean, variance = mean.reshape(expanded), variance.reshape(expanded)
            self.mean = np.broadcast_to(mean, self._broadcast_shape).astype(self.dtype)
            self.variance = np.broadcast_to(variance, self._broadcast_shape).astype(self.dtype)

    def finalize_state(self):
        """Reshapes the adapted statistics for broadcasting (no-op with given ones)."""
        if self.input_mean is not None or not hasattr(self, "adapt_mean"):
            return
        self.mean, self.variance = self._adapted_statistics()

    def _adapted_statistics(self):
        return (self.adapt_mean.numpy().reshape(self._broadcast_shape).astype(self.dtype),
                self.adapt_variance.numpy().reshape(self._broadcast_shape).astype(self.dtype))

    def adapt(self, data):
        """Computes the mean and variance of `data` over the non-kept axes.

        Args:
            data: An array, or an iterable of batches (a generator, a list of batches, a
                PyDataset; `(x, y)` batches use `x`). Batches are combined exactly
                (parallel mean / variance update).

        Raises:
            ValueError: If the data's kept axes differ from those the layer was built with,
                or an iterable yields no batch.
        """
        if isinstance(data, np.ndarray) or hasattr(data, "shape"):
            batches = [np.asarray(to_numpy(data))]
        else:
            batches = (np.asarray(b) for b in iterate_batches(data, lists_are_batches=True))
        total_mean = total_var = None
        total_count = 0
        for batch in batches:
            batch = batch.astype(np.float64)
            if not self.built:
                self.build(batch.shape)
            for a in self._keep_axis:
                if batch.shape[a] != self._build_input_shape[a]:
                    raise ValueError(f"The layer was built with input_shape="
                                     f"{self._build_input_shape}, but adapt() is being called "
                                     f"with data with an incompatible shape, "
                                     f"data.shape={batch.shape}")
            b_mean = batch.mean(axis=self._reduce_axis)
            b_var = batch.var(axis=self._reduce_axis)
            b_count = int(np.prod([batch.shape[a] for a in self._reduce_axis])) \
                if self._reduce_axis else 1
            if total_mean is None:
                total_mean, total_var, total_count = b_mean, b_var, b_count
                continue
            total_count += b_count
            w = b_count / total_count
            new_mean = total_mean * (1 - w) + b_mean * w
            total_var = (total_var + (total_mean - new_mean) ** 2) * (1 - w) + \
                (b_var + (b_mean - new_mean) ** 2) * w
            total_mean = new_mean
        if total_mean is None:
            raise ValueError("adapt() received an empty iterable (no batches). Expected at least "
                             "one batch.")
        self.adapt_mean.assign(np.asarray(total_mean).reshape(self._stats_shape))
        self.adapt_variance.assign(np.asarray(total_var).reshape(self._stats_shape))
        self.finalize_state()

    def call(self, inputs):
        """Normalizes (or, with `invert`, de-normalizes) the inputs."""
        if self.input_mean is None and hasattr(self, "adapt_mean"):
            # read from the weights on every call: they may have been loaded or set since
            self.mean, self.variance = self._adapted_statistics()
        if self.mean is None:
            raise ValueError("You must call `.build(input_shape)` on the layer before using it.")
        scale = np.maximum(np.sqrt(self.variance), np.asarray(_EPSILON, self.dtype))
        if self.invert:
            return ops.add(self.mean, ops.multiply(inputs, scale))
        return ops.divide(ops.subtract(inputs, self.mean), scale)

    def compute_output_shape(self, input_shape):
        """Returns `input_shape`."""
        return tuple(input_shape)

    def get_config(self):
        return {**super().get_config(), "axis": self.axis, "invert": self.invert,
                "mean": np.array(self.input_mean).tolist(),
                "variance": np.array(self.input_variance).tolist()}
