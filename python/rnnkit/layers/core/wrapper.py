"""Wrapper: the base class of layers that wrap another layer (`keras.layers.Wrapper`)."""

from __future__ import annotations

from rnnkit.layers.layer import Layer


class Wrapper(Layer):
    """Base class of layers that wrap another layer and add behaviour around it.

    The wrapped layer is `self.layer`; its weights are the wrapper's. `build` builds it with
    the wrapper's input shape, and the config stores it serialized under `"layer"`, which
    `from_config` deserializes. Subclasses implement `call` (the base class has none, as in
    Keras).

    Args:
        layer: The `Layer` to wrap.
        **kwargs: Base layer arguments (`name`, `dtype`, ...).

    Raises:
        ValueError: If `layer` is not a `Layer`.

    Example:

    >>> import numpy as np, rnnkit as keras
    >>> class Doubled(keras.layers.Wrapper):
    ...     def call(self, inputs):
    ...         return self.layer(inputs) * 2
    >>> layer = Doubled(keras.layers.Dense(2, kernel_initializer="ones"))
    >>> layer(np.ones((1, 3))).tolist()
    [[6.0, 6.0]]
    >>> len(layer.trainable_weights)
    2
    """

    def __init__(self, layer, **kwargs):
        if not isinstance(layer, Layer):
            raise ValueError(f"Layer {layer!r} supplied to Wrapper isn't a supported layer "
                             f"type. Please ensure wrapped layer is a valid Keras layer.")
        super().__init__(**kwargs)
        self.layer = layer

    def build(self, input_shape=None):
        """Builds the wrapped layer with `input_shape` (unless it is already built)."""
        if not self.layer.built:
            self.layer.build(input_shape)
            self.layer.built = True

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
            A new instance of the wrapper class.
        """
        from rnnkit import saving
        config = dict(config)
        layer = saving.deserialize(config.pop("layer"), custom_objects=custom_objects)
        return cls(layer, **config)
