"""Discretization: bucket continuous values by bin boundaries (given or adapted)."""

from __future__ import annotations

import numbers

import numpy as np

from rnnkit.layers.core._checks import check_bool, is_int
from rnnkit.layers.preprocessing._base import HostLayer, check_choice, encode_categorical, \
    iterate_batches, to_numpy


def _summarize(values, epsilon):
    """A weighted summary `[[values], [weights]]` of about 1/epsilon evenly spaced order
    statistics of `values` (Keras' approximate-quantile summary)."""
    values = np.sort(np.reshape(values, [-1]))
    step = max(values.size / (1.0 / epsilon), 1)
    picked = values[int(step - 1)::int(step)]
    return np.stack([picked, np.ones_like(picked) * step])


def _compress(summary, epsilon):
    """Re-samples a summary at the cumulative-weight fractions epsilon, 2 epsilon, ..., 1."""
    if summary.shape[1] * epsilon < 1:
        return summary
    fractions = epsilon + np.arange(0.0, 1.0, epsilon)
    cum = summary[1].cumsum()
    cum_fraction = cum / cum[-1]
    new_values = np.interp(fractions, cum_fraction, summary[0])
    new_cum = np.interp(fractions, cum_fraction, cum)
    new_weights = new_cum - np.concatenate((np.array([0]), new_cum[:-1]))
    return np.stack((new_values, new_weights)).astype("float32")


def _merge(a, b, epsilon):
    merged = np.concatenate((a, b), axis=1)
    merged = np.take(merged, np.argsort(merged[0]), axis=1)
    return _compress(merged, epsilon)


class Discretization(HostLayer):
    """Buckets continuous values into bins, as Keras' `Discretization`.

    With `bin_boundaries=[b0, b1, ...]`, a value `x` goes to bin `i` where
    `b[i-1] <= x < b[i]` (bin 0 below `b0`, the last bin from the last boundary up). Or
    give `num_bins` and call `adapt(data)`: the boundaries become approximate quantiles of the
    data (Keras' summary algorithm, with error tolerance `epsilon`), so the bins hold about
    equal counts.

    Args:
        bin_boundaries: Optional sorted list of floats.
        num_bins: Optional int >= 0, the number of bins to adapt to (exclusive with
            `bin_boundaries`).
        epsilon: Float, the error tolerance of adapt's quantiles. Defaults to 0.01.
        output_mode: `"int"` (default; int32 bins), `"one_hot"`, `"multi_hot"` or `"count"`.
        sparse: Must be `False`.
        dtype: Output float dtype of the vector modes (`"float32"` by default).
        name: Optional layer name.

    Call arguments:
        inputs: A float array of any shape.

    Returns:
        int32 bins of the input's shape, or float vectors with `len(bin_boundaries) + 1`
        entries.

    Raises:
        ValueError: If both or neither of `bin_boundaries` / `num_bins` are given, for a
            negative `num_bins`, an invalid `output_mode`, adapting a layer given
            `bin_boundaries`, or calling a layer that has no boundaries yet.

    Example:

    >>> import numpy as np, rnnkit as keras
    >>> layer = keras.layers.Discretization(bin_boundaries=[0.0, 1.0, 2.0])
    >>> layer(np.array([[-1.5, 1.0, 3.4, 0.5], [0.0, 3.0, 1.3, 0.0]])).tolist()
    [[0, 2, 3, 1], [1, 3, 2, 1]]
    """

    def __init__(self, bin_boundaries=None, num_bins=None, epsilon=0.01, output_mode="int",
                 sparse=False, dtype=None, name=None, **kwargs):
        if check_bool(sparse, "sparse"):
            raise ValueError("Discretization: `sparse=True` is not supported by rnnkit; pass "
                             "sparse=False.")
        check_choice(output_mode, ("int", "one_hot", "multi_hot", "count"), "output_mode",
                     "Discretization")
        if num_bins is not None and (not is_int(num_bins) or num_bins < 0):
            raise ValueError("`num_bins` must be greater than or equal to 0. Received: "
                             f"`num_bins={num_bins!r}`")
        if num_bins is not None and bin_boundaries is not None:
            raise ValueError("Both `num_bins` and `bin_boundaries` should not be set. Received: "
                             f"`num_bins={num_bins}` and `bin_boundaries={bin_boundaries}`")
        if num_bins is None and bin_boundaries is None:
            raise ValueError("You need to set either `num_bins` or `bin_boundaries`.")
        if isinstance(epsilon, (bool, np.bool_)) or not isinstance(epsilon, numbers.Real) or \
                not 0 < epsilon <= 1:
            raise ValueError(f"Discretization: `epsilon` must be a float in (0, 1]. Received: "
                             f"epsilon={epsilon!r}")
        if isinstance(dtype, dict):
            dtype = dtype.get("config", {}).get("name")
        super().__init__(name=name, dtype=None if dtype in ("int32", "int64") else dtype,
                         **kwargs)
        self.bin_boundaries = None if bin_boundaries is None else \
            [float(b) for b in np.asarray(bin_boundaries, dtype=np.float64).ravel()]
        self.num_bins = None if num_bins is None else int(num_bins)
        self.epsilon = float(epsilon)
        self.output_mode = output_mode
        self.sparse = False
        self.summary = None if self.bin_boundaries else np.array([[], []], dtype="float32")
        self.built = True

    @property
    def output_dtype(self):
        """`"int32"` in int mode, else the layer's float dtype."""
        return "int32" if self.output_mode == "int" else self.dtype

    def update_state(self, data):
        """Merges the quantile summary of one batch into the layer's summary."""
        data = np.asarray(to_numpy(data)).astype("float32")
        self.summary = _merge(_summarize(data, self.epsilon), self.summary, self.epsilon)

    def finalize_state(self):
        """Sets `bin_boundaries` from the summary (`num_bins - 1` quantiles)."""
        if self.num_bins is None:
            return
        self.bin_boundaries = _compress(self.summary, 1.0 / self.num_bins)[0, :-1].tolist()

    def reset_state(self):
        """Clears the summary gathered by `update_state`."""
        if self.num_bins is not None:
            self.summary = np.array([[], []], dtype="float32")

    def adapt(self, data, steps=None):
        """Computes `bin_boundaries` as approximate quantiles of `data`.

        Args:
            data: An array, or an iterable of batches.
            steps: Optional int, the number of batches to read.

        Raises:
            ValueError: If the layer was built with `bin_boundaries`.
        """
        if self.num_bins is None:
            raise ValueError("Cannot adapt a Discretization layer that has been initialized "
                             "with `bin_boundaries`, use `num_bins` instead.")
        self.reset_state()
        for batch in iterate_batches(data, None, steps, lists_are_batches=True):
            self.update_state(batch)
        self.finalize_state()

    def call(self, inputs):
        """Buckets the inputs; see the class docstring."""
        if self.bin_boundaries is None:
            raise ValueError("You need to either pass the `bin_boundaries` argument at "
                             "construction time or call `adapt(dataset)` before you can start "
                             "using the `Discretization` layer.")
        values = np.asarray(to_numpy(inputs))
        bins = np.digitize(values, np.asarray(self.bin_boundaries, dtype=values.dtype
                                              if values.dtype.kind == "f" else np.float64))
        if self.output_mode == "int":
            return bins.astype("int32")
        return encode_categorical(bins, self.output_mode, len(self.bin_boundaries) + 1,
                                  self.output_dtype)

    def compute_output_shape(self, input_shape):
        """The input shape (`"int"`), else with a last axis of `len(bin_boundaries) + 1`."""
        input_shape = tuple(input_shape)
        if self.output_mode == "int":
            return input_shape
        depth = len(self.bin_boundaries) + 1 if self.bin_boundaries is not None \
            else self.num_bins
        if self.output_mode == "one_hot":
            if len(input_shape) > 1 and input_shape[-1] == 1:
                return input_shape[:-1] + (depth,)
            return input_shape + (depth,)
        return input_shape[:-1] + (depth,) if len(input_shape) >= 2 else (depth,)

    def get_config(self):
        return {**super().get_config(), "bin_boundaries": self.bin_boundaries,
                "num_bins": self.num_bins, "epsilon": self.epsilon,
                "output_mode": self.output_mode, "sparse": False}

    @classmethod
    def from_config(cls, config):
        """Creates the layer from `get_config()`'s dict (adapted boundaries included)."""
        config = dict(config)
        if config.get("bin_boundaries") is not None and config.get("num_bins") is not None:
            boundaries = config.pop("bin_boundaries")
            layer = cls(**config)
            layer.bin_boundaries = boundaries
            return layer
        return cls(**config)
