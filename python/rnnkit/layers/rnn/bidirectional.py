"""Bidirectional: one RNN reads the sequence forwards, another backwards; outputs merged."""

from __future__ import annotations

from rnnkit import ops
from rnnkit.layers.layer import InputSpec, Layer

MERGE_MODES = ("sum", "mul", "ave", "concat", None)


def _copy_layer(layer, name, **overrides):
    """A fresh layer (new weights) with `layer`'s configuration, as Keras builds its halves."""
    config = layer.get_config()
    config["name"] = name
    config.update(overrides)
    try:
        return type(layer).from_config(config)
    except Exception as error:  # a user's layer or cell without a usable get_config
        # Keras raises TypeError (it cannot deserialize the copy); ValueError as before.
        from rnnkit.saving import DeserializationError
        raise DeserializationError(
            f"Bidirectional copies the layer it wraps from its config, and "
            f"{type(layer).__name__}.from_config(get_config()) failed: {error}. Give the layer "
            f"(and its cell) a complete `get_config()`, or pass `backward_layer` yourself."
        ) from error


class NotAnRNNLayerError(TypeError, ValueError):
    """Bidirectional was given a layer it cannot run backwards (one without `go_backwards`)."""


class Bidirectional(Layer):
    """Bidirectional wrapper for RNNs: one copy reads the sequence forwards, one backwards.

    Both halves receive the same input (and mask); with `return_sequences` the backward
    output is flipped back to the input's time order before the two are merged. With
    `return_sequences`, masked timesteps output zeros in both halves, as in Keras.

    Args:
        layer: An RNN layer (`SimpleRNN`, `GRU`, `LSTM` or `RNN`). It is copied from its
            config, not used itself: the halves are named `forward_<name>` and
            `backward_<name>` and get fresh weights.
        merge_mode: How the two outputs are combined: `"concat"` (the default, along the
            last axis), `"sum"`, `"mul"`, `"ave"`, or `None` (a list of both outputs).
        weights: Accepted and ignored, as in Keras (it must have a length).
        backward_layer: Optional RNN layer used as is for the backward half. It must have
            the opposite `go_backwards` and the same `return_sequences`, `return_state` and
            `stateful` as `layer`.
        **kwargs: Base layer arguments (`name`, `trainable`, ...); `dtype` defaults to the
            wrapped layer's.

    Call arguments:
        sequences: A 3D array `(batch, timesteps, features)`.
        initial_state: Optional list of states: the forward layer's, then the backward
            layer's.
        mask: Optional boolean array `(batch, timesteps)`.
        training: Bool, handed to both halves.

    Returns:
        The merged output; with `return_state`, the list `[output, *forward_states,
        *backward_states]` (with `merge_mode=None`, both outputs first).

    Raises:
        ValueError: For an invalid `merge_mode`, a non-layer argument, halves that do not
            match, or an odd number of initial states.
        TypeError: If `layer` cannot run backwards (no `go_backwards`), or `weights` has no
            length.

    Example:

    >>> import numpy as np, rnnkit as keras
    >>> x = np.random.rand(32, 10, 8).astype("float32")
    >>> keras.layers.Bidirectional(keras.layers.LSTM(4))(x).shape
    (32, 8)
    >>> layer = keras.layers.Bidirectional(keras.layers.GRU(4, return_sequences=True),
    ...                                    merge_mode="sum")
    >>> layer(x).shape
    (32, 10, 4)
    """

    _mixed_precision = True   # computes under "mixed_bfloat16" (docs/mixed_precision.md)

    def __init__(self, layer, merge_mode="concat", weights=None, backward_layer=None, **kwargs):
        if not isinstance(layer, Layer):
            raise ValueError("Please initialize `Bidirectional` layer with a "
                             f"`rnnkit.layers.Layer` instance. Received: {layer}")
        if backward_layer is not None and not isinstance(backward_layer, Layer):
            raise ValueError("`backward_layer` need to be a `rnnkit.layers.Layer` instance. "
                             f"Received: {backward_layer}")
        if merge_mode not in MERGE_MODES:
            raise ValueError(f"Invalid merge mode. Received: {merge_mode}. Merge mode should be "
                             'one of {"sum", "mul", "ave", "concat", None}')
        if weights is not None and not hasattr(weights, "__len__"):
            raise TypeError("`weights` must be a list of arrays (the forward layer's, then the "
                            f"backward layer's). Received: weights={weights!r}")
        if backward_layer is None and not hasattr(layer, "go_backwards"):
            # Keras fails here too, rebuilding the layer with go_backwards=True: a TypeError
            # (Dense, a cell) or ValueError (a layer passing **kwargs on to Layer).
            raise NotAnRNNLayerError(
                f"Bidirectional could not make a backward copy of {layer.name!r} "
                f"({type(layer).__name__}): it has no `go_backwards` argument. Wrap an RNN layer "
                "(LSTM, GRU, SimpleRNN, or RNN(cell) for a cell).")
        # The wrapper computes in the wrapped layer's dtype unless told otherwise; around a
        # layer with a mixed policy it takes the global policy, as Keras.
        kwargs.setdefault("dtype", layer.dtype if layer._read_dtype is None else None)
        super().__init__(**kwargs)
        base_name = layer.name[len("forward_"):] if layer.name.startswith("forward_") \
            else layer.name
        self.forward_layer = _copy_layer(layer, "forward_" + base_name)
        for role, half in (("forward layer", self.forward_layer),
                           ("`backward_layer`", backward_layer)):
            if half is not None and not hasattr(half, "go_backwards"):
                # Keras: AttributeError, reading the attribute.
                raise AttributeError(
                    f"The {role} of Bidirectional must be an RNN layer: "
                    f"{type(half).__name__} object {half.name!r} has no attribute "
                    "'go_backwards'.")
        if backward_layer is None:
            self.backward_layer = _copy_layer(layer, "backward_" + base_name,
                                              go_backwards=not layer.go_backwards)
        else:
            self.backward_layer = backward_layer
        self._backward_given = backward_layer is not None
        if self.forward_layer.go_backwards == self.backward_layer.go_backwards:
            raise ValueError(
                "Forward layer and backward layer should have different `go_backwards` value. "
                f"Received: forward_layer.go_backwards={self.forward_layer.go_backwards}, "
                f"backward_layer.go_backwards={self.backward_layer.go_backwards}")
        for attribute in ("stateful", "return_sequences", "return_state"):
            forward_value = getattr(self.forward_layer, attribute)
            backward_value = getattr(self.backward_layer, attribute)
            if forward_value != backward_value:
                raise ValueError(
                    "Forward layer and backward layer are expected to have the same value for "
                    f'attribute "{attribute}", got "{forward_value}" for forward layer and '
                    f'"{backward_value}" for backward layer')
        self.merge_mode = merge_mode
        self.return_sequences = self.forward_layer.return_sequences
        self.return_state = self.forward_layer.return_state
        self.stateful = self.forward_layer.stateful
        # The input checks of the wrapped layer, under this layer's name (set again on build).
        self.input_spec = self.forward_layer.input_spec
        # Keras: masked positions of a sequence output are zero in both halves.
        for half in (self.forward_layer, self.backward_layer):
            half.zero_output_for_mask = self.return_sequences
        del weights

    @property
    def states(self):
        """The stored states of a stateful layer: forward ones, then backward (else None)."""
        forward, backward = self.forward_layer.states, self.backward_layer.states
        if forward is None or backward is None:
            return None
        return tuple(forward) + tuple(backward)

    def reset_state(self):
        """Sets the stored states of both halves to zeros (a stateful layer only)."""
        if not self.stateful:
            raise AttributeError("Layer must be stateful.")
        self.forward_layer.reset_state()
        self.backward_layer.reset_state()

    def reset_states(self):
        """Same as `reset_state()`."""
        self.reset_state()

    def build(self, sequences_shape, initial_state_shape=None):
        if not self.forward_layer.built:
            self.forward_layer.build(sequences_shape)
        if not self.backward_layer.built:
            self.backward_layer.build(sequences_shape)
        self.input_spec = self.forward_layer.input_spec

    def compute_mask(self, inputs, previous_mask=None):
        if isinstance(previous_mask, (list, tuple)):
            previous_mask = previous_mask[0]
        output_mask = previous_mask if self.return_sequences else None
        outputs = [output_mask, output_mask] if self.merge_mode is None else [output_mask]
        if not self.return_state:
            return outputs if self.merge_mode is None else output_mask
        states = len(self.forward_layer.compute_mask(inputs, None)) - 1 + \
            len(self.backward_layer.compute_mask(inputs, None)) - 1
        return outputs + [None] * states

    def compute_output_shape(self, sequences_shape, initial_state_shape=None):
        forward = self.forward_layer.compute_output_shape(sequences_shape)
        backward = self.backward_layer.compute_output_shape(sequences_shape)
        if self.return_state:
            forward, forward_states = forward[0], forward[1:]
            backward, backward_states = backward[0], backward[1:]
        if self.merge_mode == "concat":
            output = tuple(forward[:-1]) + (forward[-1] + backward[-1],)
        elif self.merge_mode is None:
            output = [tuple(forward), tuple(backward)]
        else:
            output = tuple(forward)
        if not self.return_state:
            return output
        outputs = output if self.merge_mode is None else [output]
        return list(outputs) + list(forward_states) + list(backward_states)

    def call(self, sequences, initial_state=None, mask=None, training=False):
        forward_state = backward_state = None
        if initial_state is not None:
            initial_state = list(initial_state) if isinstance(initial_state, (list, tuple)) \
                else [initial_state]
            if len(initial_state) % 2:
                raise ValueError(
                    "When passing `initial_state` to a Bidirectional RNN, the state should be a "
                    "list containing the states of the underlying RNNs (forward states first, "
                    f"then backward states). Received {len(initial_state)} state(s), an odd "
                    "number.")
            half = len(initial_state) // 2
            forward_state, backward_state = initial_state[:half], initial_state[half:]
        forward = self.forward_layer(sequences, initial_state=forward_state, mask=mask,
                                     training=training)
        backward = self.backward_layer(sequences, initial_state=backward_state, mask=mask,
                                       training=training)
        forward_states = backward_states = []
        if self.return_state:
            forward, forward_states = forward[0], list(forward[1:])
            backward, backward_states = backward[0], list(backward[1:])
        if self.return_sequences:
            # The backward half comes in processing order; align it with the input's time axis.
            backward = ops.flip(backward, axis=1)
        if ops.dtype(forward) != self.compute_dtype:
            # the outputs (not the states) in the wrapper's compute dtype, as Keras
            forward = ops.cast(forward, self.compute_dtype)
            backward = ops.cast(backward, self.compute_dtype)
        if self.merge_mode == "concat":
            output = ops.concatenate([forward, backward], axis=-1)
        elif self.merge_mode == "sum":
            output = ops.add(forward, backward)
        elif self.merge_mode == "ave":
            output = ops.divide(ops.add(forward, backward), 2.0)
        elif self.merge_mode == "mul":
            output = ops.multiply(forward, backward)
        else:
            output = [forward, backward]
        if not self.return_state:
            return output
        outputs = output if self.merge_mode is None else [output]
        return list(outputs) + forward_states + backward_states

    def get_config(self):
        from rnnkit import saving
        config = {**super().get_config(), "merge_mode": self.merge_mode,
                  "layer": saving.serialize(self.forward_layer)}
        if self._backward_given:
            config["backward_layer"] = saving.serialize(self.backward_layer)
        return config

    @classmethod
    def from_config(cls, config, custom_objects=None):
        from rnnkit import saving
        config = dict(config)
        config["layer"] = saving.deserialize(config["layer"], custom_objects=custom_objects)
        if config.get("backward_layer") is not None:
            config["backward_layer"] = saving.deserialize(config["backward_layer"],
                                                          custom_objects=custom_objects)
        return cls(**config)
