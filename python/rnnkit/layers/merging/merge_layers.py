"""The merge layers: Add, Subtract, Multiply, Average, Maximum, Minimum, Concatenate, Dot, and
their functional forms (`rnnkit.layers.add([x1, x2])`, ...)."""

from __future__ import annotations

import numpy as np

from rnnkit import ops
from rnnkit.layers.core._checks import check_bool, is_int
from rnnkit.layers.merging.base_merge import (Merge, check_inputs_list, check_list_of_shapes,
                                              expand_mask)


class Add(Merge):
    """Adds a list of inputs elementwise.

    Takes a list of arrays of the same (or broadcast-compatible) shape and returns their sum.
    The output mask is the OR of the input masks when every input has one.

    Args:
        **kwargs: Base layer arguments (`name`, `dtype`, ...).

    Example:

    >>> import numpy as np, rnnkit as keras
    >>> keras.layers.Add()([np.ones((1, 2)), 2 * np.ones((1, 2))]).tolist()
    [[3.0, 3.0]]
    """

    _mixed_precision = True   # computes under "mixed_bfloat16" (docs/mixed_precision.md)

    def _merge_function(self, inputs, masks):
        out = inputs[0]
        for x in inputs[1:]:
            out = ops.add(out, x)
        return out


class Subtract(Merge):
    """Subtracts two inputs: `inputs[0] - inputs[1]`.

    Args:
        **kwargs: Base layer arguments (`name`, `dtype`, ...).

    Raises:
        ValueError: If called on a number of inputs other than 2.

    Example:

    >>> import numpy as np, rnnkit as keras
    >>> keras.layers.Subtract()([np.ones((1, 2)), 3 * np.ones((1, 2))]).tolist()
    [[-2.0, -2.0]]
    """

    _mixed_precision = True   # computes under "mixed_bfloat16" (docs/mixed_precision.md)

    _min_inputs = 2

    def build(self, input_shape):
        """Validates the shapes; exactly two inputs.

        Raises:
            ValueError: If there are not exactly two input shapes.
        """
        super().build(input_shape)
        if len(input_shape) != 2:
            raise ValueError(f"A `Subtract` layer should be called on exactly 2 inputs. "
                             f"Received: input_shape={input_shape}")

    def _merge_function(self, inputs, masks):
        if len(inputs) != 2:
            raise ValueError(f"A `Subtract` layer should be called on exactly 2 inputs. "
                             f"Received {len(inputs)} inputs")
        return ops.subtract(inputs[0], inputs[1])


class Multiply(Merge):
    """Multiplies a list of inputs elementwise.

    With masks, as Keras: a masked entry of an input counts as 1 in the product; when every
    input has a mask, the entries masked in every input are 0 in the output.

    Args:
        **kwargs: Base layer arguments (`name`, `dtype`, ...).

    Example:

    >>> import numpy as np, rnnkit as keras
    >>> keras.layers.Multiply()([2 * np.ones((1, 2)), 3 * np.ones((1, 2))]).tolist()
    [[6.0, 6.0]]
    """

    _mixed_precision = True   # computes under "mixed_bfloat16" (docs/mixed_precision.md)

    def _merge_function(self, inputs, masks):
        all_masked = all(m is not None for m in masks)
        out = None
        out_mask = None
        for x, m in zip(inputs, masks):
            if m is not None:
                m = expand_mask(m, x)
                x = ops.where(m, x, ops.ones((), dtype=ops.dtype(x)))
                if all_masked:
                    out_mask = m if out_mask is None else np.logical_or(out_mask, m)
            out = x if out is None else ops.multiply(out, x)
        if all_masked and out_mask is not None:
            out = ops.where(np.broadcast_to(out_mask, tuple(out.shape)), out,
                            ops.zeros((), dtype=ops.dtype(out)))
        return out


class Average(Merge):
    """Averages a list of inputs elementwise.

    Args:
        **kwargs: Base layer arguments (`name`, `dtype`, ...).

    Example:

    >>> import numpy as np, rnnkit as keras
    >>> keras.layers.Average()([np.ones((1, 2)), 3 * np.ones((1, 2))]).tolist()
    [[2.0, 2.0]]
    """

    _mixed_precision = True   # computes under "mixed_bfloat16" (docs/mixed_precision.md)

    def _merge_function(self, inputs, masks):
        out = inputs[0]
        for x in inputs[1:]:
            out = ops.add(out, x)
        return ops.divide(out, np.asarray(len(inputs), dtype=ops.dtype(out)))


def _merge_with_masks(fn, inputs, masks):
    """Keras' masked maximum / minimum: a masked entry takes the other operand's value, so
    it never wins; the running mask is the OR of the masks while every input has one."""
    out = None
    out_mask = None
    for x, m in zip(inputs, masks):
        if m is not None:
            m = expand_mask(m, x)
        if out is None:
            out, out_mask = x, m
            continue
        if m is not None:
            x = ops.where(m, x, out)
        if out_mask is not None:
            out = ops.where(out_mask, out, x)
        out_mask = np.logical_or(out_mask, m) if (m is not None and out_mask is not None) \
            else None
        out = fn(out, x)
    return out


class Maximum(Merge):
    """The elementwise maximum of a list of inputs.

    With masks, as Keras: a masked entry of an input is replaced by the running result, so
    it does not win the comparison.

    Args:
        **kwargs: Base layer arguments (`name`, `dtype`, ...).

    Example:

    >>> import numpy as np, rnnkit as keras
    >>> keras.layers.Maximum()([np.array([[1.0, 5.0]]), np.array([[3.0, 2.0]])]).tolist()
    [[3.0, 5.0]]
    """

    _mixed_precision = True   # computes under "mixed_bfloat16" (docs/mixed_precision.md)

    def _merge_function(self, inputs, masks):
        return _merge_with_masks(ops.maximum, inputs, masks)


class Minimum(Merge):
    """The elementwise minimum of a list of inputs.

    With masks, as Keras: a masked entry of an input is replaced by the running result, so
    it does not win the comparison.

    Args:
        **kwargs: Base layer arguments (`name`, `dtype`, ...).

    Example:

    >>> import numpy as np, rnnkit as keras
    >>> keras.layers.Minimum()([np.array([[1.0, 5.0]]), np.array([[3.0, 2.0]])]).tolist()
    [[1.0, 2.0]]
    """

    _mixed_precision = True   # computes under "mixed_bfloat16" (docs/mixed_precision.md)

    def _merge_function(self, inputs, masks):
        return _merge_with_masks(ops.minimum, inputs, masks)


class Concatenate(Merge):
    """Concatenates a list of inputs along `axis`.

    Every input must have the same shape except along `axis`. Output mask (when any input has
    one): the masks (all-True for inputs without one, broadcast over the features) are
    concatenated along `axis` and reduced with `any` over the last axis, as Keras does.

    Args:
        axis: Int, the concatenation axis. Defaults to -1.
        **kwargs: Base layer arguments (`name`, `dtype`, ...).

    Raises:
        ValueError: If the shapes differ outside `axis`, or the inputs are not a list.
        TypeError: If `axis` is not an int.

    Example:

    >>> import numpy as np, rnnkit as keras
    >>> keras.layers.Concatenate(axis=1)([np.zeros((2, 2, 5)), np.ones((2, 1, 5))]).shape
    (2, 3, 5)
    """

    _mixed_precision = True   # computes under "mixed_bfloat16" (docs/mixed_precision.md)

    def __init__(self, axis=-1, **kwargs):
        if not is_int(axis):
            raise TypeError(f"Argument `axis` of Concatenate must be an int, got {axis!r}")
        super().__init__(**kwargs)
        self.axis = int(axis)

    def _check(self, shapes):
        ranks = {len(s) for s in shapes}
        if len(ranks) != 1:
            raise ValueError(f"A `Concatenate` layer requires inputs with matching shapes "
                             f"except for the concatenation axis. Received: input_shape="
                             f"{shapes}")
        rank = ranks.pop()
        if not -rank <= self.axis < rank:
            raise ValueError(f"Layer '{self.name}' (Concatenate): `axis`={self.axis} is out of "
                             f"range for inputs of rank {rank}")
        axis = self.axis % rank
        for i in range(rank):
            if i == axis:
                continue
            sizes = {s[i] for s in shapes} - {None}
            if len(sizes) > 1:
                raise ValueError(f"A `Concatenate` layer requires inputs with matching shapes "
                                 f"except for the concatenation axis. Received: input_shape="
                                 f"{shapes}")
        return axis

    def build(self, input_shape):
        """Validates the shapes (equal outside `axis`).

        Raises:
            ValueError: If the shapes do not match outside the concatenation axis.
        """
        self._check(check_list_of_shapes(self, input_shape))

    def compute_output_shape(self, input_shape):
        """The common shape, with the sizes along `axis` summed (None if any is unknown)."""
        shapes = check_list_of_shapes(self, input_shape)
        axis = self._check(shapes)
        out = list(shapes[0])
        for i in range(len(out)):
            if i != axis:
                known = [s[i] for s in shapes if s[i] is not None]
                out[i] = known[0] if known else None
        sizes = [s[axis] for s in shapes]
        out[axis] = None if any(d is None for d in sizes) else sum(sizes)
        return tuple(out)

    def call(self, inputs, mask=None):
        """Concatenates the list `inputs` along `axis`."""
        inputs = check_inputs_list(self, inputs)
        self._check([tuple(x.shape) for x in inputs])
        return ops.concatenate(inputs, axis=self.axis)

    def compute_mask(self, inputs, previous_mask=None):
        """The concatenated masks reduced with `any` over the last axis (see the class
        docstring); None when no input has a mask.

        Raises:
            ValueError: If `previous_mask` is not a list with one entry per input.
        """
        if previous_mask is None:
            return None
        if not isinstance(previous_mask, (list, tuple)) or \
                not isinstance(inputs, (list, tuple)) or len(previous_mask) != len(inputs):
            raise ValueError(f"Layer '{self.name}' (Concatenate): `mask` should be a list with "
                             f"one entry per input. Received: mask={previous_mask}")
        if all(m is None for m in previous_mask):
            return None
        masks = []
        for x, m in zip(inputs, previous_mask):
            shape = tuple(np.shape(x))
            if m is None:
                masks.append(np.ones(shape, dtype=bool))
            else:
                m = np.asarray(ops.convert_to_numpy(m)).astype(bool)
                if m.ndim < len(shape):
                    m = np.broadcast_to(m[..., None], shape)
                masks.append(m)
        return np.any(np.concatenate(masks, axis=self.axis), axis=-1)

    def get_config(self):
        return {**super().get_config(), "axis": self.axis}


def _check_axes(axes):
    if is_int(axes):
        return int(axes)
    if not isinstance(axes, (list, tuple)):
        raise TypeError(f"Invalid type for argument `axes`: it should be a list or an int. "
                        f"Received: axes={axes!r}")
    if len(axes) != 2:
        raise ValueError(f"Invalid format for argument `axes`: it should contain two elements. "
                         f"Received: axes={axes!r}")
    if not all(is_int(a) for a in axes):
        raise ValueError(f"Invalid format for argument `axes`: list elements should be "
                         f"integers. Received: axes={axes!r}")
    return [int(a) for a in axes]


def batch_dot(x, y, axes):
    """Dot product of each sample of `x` with the same sample of `y` over `axes` (a pair of
    positive axes, batch axis excluded); Keras' batch_dot (rank-1 results get a trailing
    axis)."""
    a0, a1 = axes
    x_ndim, y_ndim = len(x.shape), len(y.shape)
    x = ops.moveaxis(x, a0, -1)                       # (B, *xr, D)
    y = ops.moveaxis(y, a1, 1)                        # (B, D, *yr)
    x_rest, y_rest = tuple(x.shape[1:-1]), tuple(y.shape[2:])
    b, d = x.shape[0], x.shape[-1]
    x2 = ops.reshape(x, (b, int(np.prod(x_rest, dtype=np.int64)), d))
    y2 = ops.reshape(y, (b, d, int(np.prod(y_rest, dtype=np.int64))))
    out = ops.reshape(ops.matmul(x2, y2), (b,) + x_rest + y_rest)
    if x_ndim == 2 and y_ndim == 2:
        out = ops.reshape(out, (b, 1))
    return out


class Dot(Merge):
    """The dot product of two inputs, sample by sample, over the given axes.

    For inputs `(B, 3, 5)` and `(B, 10, 3)` with `axes=(1, 2)` the output is `(B, 5, 10)`:
    the first input's remaining axes, then the second's. A rank-1 result gets a trailing
    axis: two `(B, D)` inputs give `(B, 1)`. The output has no mask.

    Args:
        axes: Int, or a pair of ints: the axis of each input summed over. The batch axis
            (0) cannot be used.
        normalize: Bool, L2-normalize both inputs along their axis first (the result is then
            the cosine similarity). Defaults to `False`.
        **kwargs: Base layer arguments (`name`, `dtype`, ...).

    Raises:
        TypeError: If `axes` is neither an int nor a list/tuple, or `normalize` not a bool.
        ValueError: If `axes` is a list of other than two ints, the sizes along the axes
            differ, axis 0 is used, or the layer is not called on two inputs.

    Example:

    >>> import numpy as np, rnnkit as keras
    >>> x = np.arange(10.0).reshape(1, 5, 2)
    >>> y = np.arange(10.0, 20.0).reshape(1, 2, 5)
    >>> keras.layers.Dot(axes=(1, 2))([x, y]).tolist()
    [[[260.0, 360.0], [320.0, 445.0]]]
    """

    _min_inputs = 2

    def __init__(self, axes, normalize=False, **kwargs):
        axes = _check_axes(axes)
        super().__init__(**kwargs)
        self.axes = axes
        self.normalize = check_bool(normalize, "normalize")

    def _axes_for(self, shape1, shape2):
        if isinstance(self.axes, int):
            axes = [self.axes % len(shape1), self.axes % len(shape2)] if self.axes < 0 \
                else [self.axes, self.axes]
        else:
            axes = [a % len(s) if a < 0 else a for a, s in zip(self.axes, (shape1, shape2))]
        for a, s in zip(axes, (shape1, shape2)):
            if a >= len(s):
                raise ValueError(f"Layer '{self.name}' (Dot): axis {a} is out of range for an "
                                 f"input of shape {tuple(s)}")
        if 0 in axes:
            raise ValueError(f"Layer '{self.name}' (Dot): cannot take the dot product over axis "
                             f"0 (the batch axis). Received: axes={self.axes}")
        if len(shape1) < 2 or len(shape2) < 2:
            raise ValueError(f"Layer '{self.name}' (Dot): inputs must have rank >= 2. Received "
                             f"shapes {tuple(shape1)} and {tuple(shape2)}")
        d1, d2 = shape1[axes[0]], shape2[axes[1]]
        if d1 is not None and d2 is not None and d1 != d2:
            raise ValueError(f"Incompatible input shapes: axis values {d1} (at axis {axes[0]}) "
                             f"!= {d2} (at axis {axes[1]}). Full input shapes: "
                             f"{tuple(shape1)}, {tuple(shape2)}")
        return axes

    def _two(self, input_shape):
        shapes = check_list_of_shapes(self, input_shape)
        if len(shapes) != 2:
            raise ValueError(f"A `Dot` layer should be called on a list of 2 inputs. "
                             f"Received: input_shape={input_shape}")
        return shapes

    def build(self, input_shape):
        """Validates the two shapes along `axes`.

        Raises:
            ValueError: If there are not two inputs or their sizes along `axes` differ.
        """
        shape1, shape2 = self._two(input_shape)
        self._axes_for(shape1, shape2)

    def compute_output_shape(self, input_shape):
        """The first shape without its axis, then the second without batch axis and axis."""
        shape1, shape2 = self._two(input_shape)
        a0, a1 = self._axes_for(shape1, shape2)
        s1, s2 = list(shape1), list(shape2)
        s1.pop(a0)
        s2.pop(a1)
        s2.pop(0)
        out = s1 + s2
        if len(out) == 1:
            out.append(1)
        return tuple(out)

    def call(self, inputs, mask=None):
        """The dot product of `inputs[0]` and `inputs[1]` over `axes`."""
        inputs = check_inputs_list(self, inputs)
        if len(inputs) != 2:
            raise ValueError(f"A `Dot` layer should be called on exactly 2 inputs. "
                             f"Received {len(inputs)} inputs")
        x1, x2 = inputs
        axes = self._axes_for(tuple(x1.shape), tuple(x2.shape))
        if x1.shape[0] != x2.shape[0]:
            raise ValueError(f"Layer '{self.name}' (Dot): cannot take the dot product of "
                             f"inputs with different batch sizes: {tuple(x1.shape)} and "
                             f"{tuple(x2.shape)}")
        if self.normalize:
            x1 = ops.normalize(x1, axis=axes[0])
            x2 = ops.normalize(x2, axis=axes[1])
        return batch_dot(x1, x2, axes)

    def compute_mask(self, inputs, previous_mask=None):
        """Returns None: a dot product has no mask."""
        return None

    def get_config(self):
        return {**super().get_config(), "axes": self.axes, "normalize": self.normalize}


def _functional(cls, inputs, **kwargs):
    return cls(**kwargs)(inputs)


def add(inputs, **kwargs):
    """Functional form of `Add`: `Add(**kwargs)(inputs)`.

    Args:
        inputs: A list of arrays (or symbolic tensors).
        **kwargs: `Add`'s arguments.

    Returns:
        The sum of the inputs.
    """
    return _functional(Add, inputs, **kwargs)


def subtract(inputs, **kwargs):
    """Functional form of `Subtract`: `Subtract(**kwargs)(inputs)`.

    Args:
        inputs: A list of two arrays (or symbolic tensors).
        **kwargs: `Subtract`'s arguments.

    Returns:
        `inputs[0] - inputs[1]`.
    """
    return _functional(Subtract, inputs, **kwargs)


def multiply(inputs, **kwargs):
    """Functional form of `Multiply`: `Multiply(**kwargs)(inputs)`.

    Args:
        inputs: A list of arrays (or symbolic tensors).
        **kwargs: `Multiply`'s arguments.

    Returns:
        The elementwise product of the inputs.
    """
    return _functional(Multiply, inputs, **kwargs)


def average(inputs, **kwargs):
    """Functional form of `Average`: `Average(**kwargs)(inputs)`.

    Args:
        inputs: A list of arrays (or symbolic tensors).
        **kwargs: `Average`'s arguments.

    Returns:
        The elementwise mean of the inputs.
    """
    return _functional(Average, inputs, **kwargs)


def maximum(inputs, **kwargs):
    """Functional form of `Maximum`: `Maximum(**kwargs)(inputs)`.

    Args:
        inputs: A list of arrays (or symbolic tensors).
        **kwargs: `Maximum`'s arguments.

    Returns:
        The elementwise maximum of the inputs.
    """
    return _functional(Maximum, inputs, **kwargs)


def minimum(inputs, **kwargs):
    """Functional form of `Minimum`: `Minimum(**kwargs)(inputs)`.

    Args:
        inputs: A list of arrays (or symbolic tensors).
        **kwargs: `Minimum`'s arguments.

    Returns:
        The elementwise minimum of the inputs.
    """
    return _functional(Minimum, inputs, **kwargs)


def concatenate(inputs, axis=-1, **kwargs):
    """Functional form of `Concatenate`: `Concatenate(axis, **kwargs)(inputs)`.

    Args:
        inputs: A list of arrays (or symbolic tensors).
        axis: Int, the concatenation axis. Defaults to -1.
        **kwargs: Base layer arguments.

    Returns:
        The concatenation of the inputs along `axis`.
    """
    return Concatenate(axis=axis, **kwargs)(inputs)


def dot(inputs, axes=-1, **kwargs):
    """Functional form of `Dot`: `Dot(axes, **kwargs)(inputs)`.

    Args:
        inputs: A list of two arrays (or symbolic tensors).
        axes: Int or pair of ints, the axes summed over. Defaults to -1.
        **kwargs: `Dot`'s other arguments (`normalize`, base layer arguments).

    Returns:
        The sample-wise dot product.
    """
    return Dot(axes=axes, **kwargs)(inputs)
