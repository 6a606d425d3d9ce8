"""TimeDistributed: applies a layer to every timestep of a sequence."""

from __future__ import annotations

import numpy as np

from rnnkit import array_library, ops, tree
from rnnkit.layers.layer import InputSpec, Layer, shape_of


def _as_shape(shape, layer):
    try:
        return tuple(None if d is None else int(d) for d in shape)
    except TypeError:
        raise ValueError(f"Layer '{layer.name}' (TimeDistributed): `input_shape` must be a tuple "
                         f"of ints (or None), got {shape!r}") from None


class TimeDistributed(Layer):
    """Applies a layer to every temporal slice of an input.

    The input `(B, T, ...)` is reshaped to `(B*T, ...)`, passed to `layer` once, and the
    result reshaped to `(B, T, ...)`. For layers that treat samples independently (Dense,
    Embedding, Activation, Dropout, ...) this is the same as one call per timestep. A
    BatchNormalization wrapped in training mode takes its moments over B*T samples at once
    (Keras 3 loops over timesteps, so its moments are per step).

    Args:
        layer: A `Layer` instance. Its weights are this layer's weights.
        **kwargs: Base layer arguments (`name`, `trainable`, ...); `dtype` defaults to the
            wrapped layer's.

    Call arguments:
        inputs: An array of rank >= 3, `(batch, timesteps, ...)`.
        training: Bool, handed to the wrapped layer when its `call` takes it.
        mask: Optional mask `(batch, timesteps, ...)`, reshaped to `(batch * timesteps,
            ...)` for the wrapped layer when its `call` takes a `mask`. It is passed on
            unchanged as the output mask.

    Returns:
        The wrapped layer's output with the time axis restored: `(batch, timesteps, ...)`.

    Raises:
        ValueError: If `layer` is not a `Layer`, the input has rank below 3, or the mask's
            leading dimensions differ from the input's.

    Example:

    >>> import numpy as np, rnnkit as keras
    >>> x = np.random.rand(32, 10, 8).astype("float32")
    >>> keras.layers.TimeDistributed(keras.layers.Dense(3))(x).shape
    (32, 10, 3)
    """

    _mixed_precision = True   # computes under "mixed_bfloat16" (docs/mixed_precision.md)

    supports_masking = True

    def __init__(self, layer, **kwargs):
        if not isinstance(layer, Layer):
            raise ValueError(f"Please initialize `TimeDistributed` layer with a "
                             f"`rnnkit.layers.Layer` instance. Received: layer={layer!r}")
        # The wrapper computes in the wrapped layer's dtype unless told otherwise; around a
        # layer with a mixed policy it takes the global policy, as Keras.
        kwargs.setdefault("dtype", layer.dtype if layer._read_dtype is None else None)
        super().__init__(**kwargs)
        self.layer = layer
        # Integer ids stay integers when the wrapped layer wants them (an Embedding).
        self._casts_int_inputs = layer._casts_int_inputs
        self.autocast = layer.autocast
        self.input_spec = InputSpec(min_ndim=3)

    @staticmethod
    def _child_shape(input_shape):
        return (None if input_shape[0] is None or input_shape[1] is None
                else input_shape[0] * input_shape[1],) + tuple(input_shape[2:])

    def build(self, input_shape):
        """Builds the wrapped layer for inputs of shape `(batch * timesteps, ...)`.

        Args:
            input_shape: The input shape `(batch, timesteps, ...)`.

        Raises:
            ValueError: If the shape has fewer than 3 dimensions.
        """
        if not tree.is_shape(input_shape) or len(input_shape) < 3:
            raise ValueError(f"`TimeDistributed` Layer should be passed an `input_shape` with at "
                             f"least 3 dimensions (batch, time, ...), received: {input_shape}")
        input_shape = _as_shape(input_shape, self)
        if not self.layer.built:
            self.layer.build(self._child_shape(input_shape))
            self.layer.built = True
        inner = self.layer.input_spec
        if isinstance(inner, InputSpec) and inner.axes:
            # The wrapped layer's axis sizes, one axis further right: a wrong feature count
            # is reported with this layer's name and input shape.
            self.input_spec = InputSpec(
                ndim=None if inner.ndim is None else inner.ndim + 1,
                min_ndim=max(3, (inner.min_ndim or 0) + 1),
                axes={axis if axis < 0 else axis + 1: size
                      for axis, size in inner.axes.items() if axis != 0})
            self.input_spec.check_shape(self, tuple(input_shape))  # a pre-built layer

    def compute_output_shape(self, input_shape):
        """Returns the wrapped layer's output shape with the time axis inserted.

        Args:
            input_shape: The input shape `(batch, timesteps, ...)`.

        Returns:
            `(batch, timesteps, *output_shape[1:])` (a structure of such for several
            outputs).
        """
        if not isinstance(input_shape, (tuple, list)) or len(input_shape) < 3:
            raise ValueError(f"`TimeDistributed` Layer should be passed an `input_shape` with at "
                             f"least 3 dimensions (batch, time, ...), received: {input_shape}")
        input_shape = _as_shape(input_shape, self)
        batch, steps = input_shape[0], input_shape[1]
        child = self.layer.compute_output_shape((batch,) + input_shape[2:])

        def with_time(shape):
            return (batch, steps) + tuple(shape[1:])

        return with_time(child) if tree.is_shape(child) else \
            tree.map_shape_structure(with_time, child)

    def call(self, inputs, training=False, mask=None):
        """Applies the wrapped layer to every timestep; see the class docstring."""
        shape = shape_of(inputs)
        batch, steps = shape[0], shape[1]
        merged = ops.reshape(inputs, (batch * steps,) + shape[2:])
        kwargs = {}
        if self.layer._call_has_training_arg:
            kwargs["training"] = training
        if mask is not None and self.layer._call_has_mask_arg:
            mask_shape = shape_of(mask)
            if mask_shape[:2] != (batch, steps):
                raise ValueError(f"`TimeDistributed` Layer should be passed a `mask` of shape "
                                 f"({batch}, {steps}, ...), received: mask.shape={mask_shape}")
            kwargs["mask"] = ops.reshape(mask, (batch * steps,) + mask_shape[2:])
        outputs = self.layer(merged, **kwargs)

        def split(value):
            out_shape = shape_of(value)
            value = ops.reshape(value, (batch, steps) + out_shape[1:])
            # the wrapper's compute dtype, as Keras (a mixed layer wrapped by a float32 one)
            if ops.dtype(value) != self.compute_dtype and \
                    array_library.is_real_floating(np.dtype(ops.dtype(value))):
                value = ops.cast(value, self.compute_dtype)
            return value

        return tree.map_structure(split, outputs)

    def compute_mask(self, inputs, previous_mask=None):
        """Returns the input mask unchanged."""
        return previous_mask

    def get_config(self):
        from rnnkit import saving
        return {**super().get_config(), "layer": saving.serialize(self.layer)}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        """Creates the wrapper from `get_config()`, deserializing the wrapped layer.

        Args:
            config: A dict from `get_config()`.
            custom_objects: Optional dict of names to custom classes.

        Returns:
            A new `TimeDistributed`.
        """
        from rnnkit import saving
        config = dict(config)
        config["layer"] = saving.deserialize(config["layer"], custom_objects=custom_objects)
        return cls(**config)
