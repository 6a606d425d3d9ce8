"""`Merge`: the base of the layers that combine a list of inputs elementwise (Add, Multiply, ...).

Inputs of different ranks are broadcast as Keras does: axes of size 1 are inserted after the
batch axis of the lower-rank inputs until every input has the same rank; then NumPy's
broadcasting applies. The output mask is the OR of the input masks when every input has one
(Keras' rule); `None` otherwise.
"""

from __future__ import annotations

from rnnkit import ops
from rnnkit.layers.layer import Layer


def is_shape_tuple(value):
    """True for a tuple/list of ints and None (one shape), False for a list of shapes."""
    return isinstance(value, (tuple, list)) and all(
        d is None or isinstance(d, int) or hasattr(d, "__index__") for d in value)


def broadcast_shapes(layer, shape1, shape2):
    """The broadcast of two shapes (without the batch axis), Keras' merge rule; None unknown."""
    if shape1 is None or shape2 is None:
        return None
    if len(shape1) < len(shape2):
        shape1, shape2 = shape2, shape1
    if not shape2:
        return tuple(shape1)
    out = list(shape1[:len(shape1) - len(shape2)])
    for i, j in zip(shape1[len(shape1) - len(shape2):], shape2):
        if i is None or j is None:
            out.append(None)
        elif i == 1:
            out.append(j)
        elif j == 1 or i == j:
            out.append(i)
        else:
            raise ValueError(f"Layer '{layer.name}' ({type(layer).__name__}): inputs have "
                             f"incompatible shapes. Received shapes {tuple(shape1)} and "
                             f"{tuple(shape2)}")
    return tuple(out)


def check_list_of_shapes(layer, input_shape, minimum=1):
    """input_shape must be a list of at least `minimum` shapes; returns it as tuples."""
    if not isinstance(input_shape, (list, tuple)) or not input_shape or \
            is_shape_tuple(input_shape) or \
            not all(isinstance(s, (list, tuple)) for s in input_shape):
        raise ValueError(f"A merge layer ('{layer.name}', {type(layer).__name__}) should be "
                         f"called on a list of inputs. Received: input_shape={input_shape} "
                         f"(not a list of shapes)")
    if len(input_shape) < minimum:
        raise ValueError(f"A merge layer ('{layer.name}', {type(layer).__name__}) should be "
                         f"called on a list of at least {minimum} inputs. Received "
                         f"{len(input_shape)} inputs: {input_shape}")
    return [tuple(None if d is None else int(d) for d in s) for s in input_shape]


def check_inputs_list(layer, inputs):
    if not isinstance(inputs, (list, tuple)):
        raise ValueError(f"A merge layer ('{layer.name}', {type(layer).__name__}) should be "
                         f"called on a list of inputs. Received: inputs of type "
                         f"{type(inputs).__name__} (not a list of tensors)")
    return list(inputs)


def or_masks(masks):
    """The logical OR of a list of masks, or None if any is None."""
    if masks is None or any(m is None for m in masks):
        return None
    out = masks[0]
    for m in masks[1:]:
        out = ops.logical_or(out, m)
    return out


def expand_mask(mask, x):
    """A (batch, steps) mask broadcast to x's shape (a bool array)."""
    mask = ops.convert_to_numpy(mask).astype(bool)
    while mask.ndim < len(x.shape):
        mask = mask[..., None]
    return ops.convert_to_numpy(ops.broadcast_to(mask, tuple(x.shape)))


class Merge(Layer):
    """Base class of the elementwise merge layers (`Add`, `Subtract`, `Multiply`, `Average`,
    `Maximum`, `Minimum`).

    Subclasses implement `_merge_function(inputs, masks)`. The layer is called on a list of
    arrays of broadcast-compatible shapes with the same batch size; inputs of lower rank get
    axes of size 1 inserted after the batch axis first.

    Args:
        **kwargs: Base layer arguments (`name`, `dtype`, `trainable`, ...).

    Call arguments:
        inputs: A list of arrays.
        mask: Optional list of masks, one per input (or None).

    Returns:
        One array, the merged inputs.

    Raises:
        ValueError: If the inputs are not a list, their batch sizes differ, or their shapes
            cannot be broadcast together.

    Example:

    >>> import numpy as np, rnnkit as keras
    >>> keras.layers.Add()([np.ones((2, 3)), np.ones((2, 3))]).tolist()
    [[2.0, 2.0, 2.0], [2.0, 2.0, 2.0]]
    """

    supports_masking = True
    _min_inputs = 1

    def build(self, input_shape):
        """Validates the input shapes (merge layers have no weights).

        Raises:
            ValueError: If `input_shape` is not a list of shapes, the batch sizes differ or
                the shapes cannot be broadcast together.
        """
        shapes = check_list_of_shapes(self, input_shape, self._min_inputs)
        self._output_shape(shapes)

    def _output_shape(self, shapes):
        batch_sizes = {s[0] for s in shapes if s} - {None}
        if len(batch_sizes) > 1:
            raise ValueError(f"Layer '{self.name}' ({type(self).__name__}): cannot merge tensors "
                             f"with different batch sizes. Received tensors with shapes "
                             f"{shapes}")
        out = shapes[0][1:]
        for s in shapes[1:]:
            out = broadcast_shapes(self, out, s[1:])
        return ((batch_sizes.pop() if batch_sizes else None),) + tuple(out)

    def compute_output_shape(self, input_shape):
        """Returns the broadcast shape of the inputs (batch axis first)."""
        return self._output_shape(check_list_of_shapes(self, input_shape, self._min_inputs))

    def _merge_function(self, inputs, masks):
        raise NotImplementedError

    def call(self, inputs, mask=None):
        """Merges the list `inputs`; see the class docstring."""
        inputs = check_inputs_list(self, inputs)
        if len(inputs) < self._min_inputs:
            raise ValueError(f"Layer '{self.name}' ({type(self).__name__}) should be called on "
                             f"at least {self._min_inputs} inputs, got {len(inputs)}")
        masks = self._masks_list(inputs, mask)
        ranks = [len(x.shape) for x in inputs]
        if len(set(ranks)) > 1:
            top = max(ranks)
            inputs = [ops.reshape(x, (x.shape[0],) + (1,) * (top - len(x.shape)) +
                                  tuple(x.shape[1:])) for x in inputs]
        return self._merge_function(inputs, masks)

    def _masks_list(self, inputs, mask):
        if mask is None:
            return [None] * len(inputs)
        if not isinstance(mask, (list, tuple)) or len(mask) != len(inputs):
            raise ValueError(f"Layer '{self.name}' ({type(self).__name__}): `mask` should be a "
                             f"list with one entry per input ({len(inputs)}), got {mask!r}")
        return list(mask)

    def compute_mask(self, inputs, previous_mask=None):
        """The OR of the input masks when every input has one, else None.

        Raises:
            ValueError: If `previous_mask` is not a list with one entry per input.
        """
        if previous_mask is None:
            return None
        if not isinstance(previous_mask, (list, tuple)):
            raise ValueError(f"`mask` should be a list. Received: mask={previous_mask}")
        if not isinstance(inputs, (list, tuple)):
            raise ValueError(f"`inputs` should be a list. Received: inputs={inputs}")
        if len(previous_mask) != len(inputs):
            raise ValueError(f"The lists `inputs` and `mask` should have the same length. "
                             f"Received: {len(inputs)} inputs and {len(previous_mask)} masks")
        out = or_masks(list(previous_mask))
        return None if out is None else ops.convert_to_numpy(out)
