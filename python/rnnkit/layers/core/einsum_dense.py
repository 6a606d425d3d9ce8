"""EinsumDense: a dense layer whose product is any einsum `equation` of the input and kernel."""

from __future__ import annotations

import re

import numpy as np

from rnnkit import activations, constraints, initializers, ops, regularizers
from rnnkit.layers.core._checks import (is_int, normalize_shape, refuse_lora,
                                        refuse_quantization)
from rnnkit.layers.layer import InputSpec, Layer


def analyze_equation(equation, bias_axes, input_shape, output_shape):
    """`(kernel_shape, bias_shape, full_output_shape, input_axes, output_axes)` of an
    EinsumDense equation, by Keras' rules (the kernel's axes take their sizes from the input
    or the output; the bias spans the output from its first bias axis on, with 1 on the axes
    not in `bias_axes`)."""
    text = equation.replace("...", "0")
    left_elided = False
    match = re.fullmatch(r"([a-zA-Z]+),([a-zA-Z]+)->([a-zA-Z]+)", text)
    if not match:
        match = re.fullmatch(r"0([a-zA-Z]+),([a-zA-Z]+)->0([a-zA-Z]+)", text)
        left_elided = match is not None
    if not match:
        match = re.fullmatch(r"([a-zA-Z]{2,})0,([a-zA-Z]+)->([a-zA-Z]+)0", text)
    if not match:
        raise ValueError(f"Invalid einsum equation '{equation}'. Equations must be in the form "
                         f"[X],[Y]->[Z], ...[X],[Y]->...[Z], or [X]...,[Y]->[Z]....")
    in_spec, w_spec, out_spec = match.groups()
    elided = len(input_shape) - len(in_spec)
    if elided < 0 or (elided > 0 and "0" not in text):
        raise ValueError(f"EinsumDense: the equation '{equation}' expects an input of rank "
                         f"{len(in_spec)}, got input shape {tuple(input_shape)}")
    out = [output_shape] if is_int(output_shape) else list(output_shape)
    out.insert(0, input_shape[0])
    if elided > 0 and left_elided:
        for i in range(1, elided):
            out.insert(1, input_shape[i])
    elif elided > 0:
        out.extend(input_shape[len(input_shape) - elided:])
    if left_elided:
        in_map = {d: i + elided - len(input_shape) for i, d in enumerate(in_spec)}
        out_map = {d: i + elided for i, d in enumerate(out_spec)}
    else:
        in_map = {d: i for i, d in enumerate(in_spec)}
        out_map = {d: i for i, d in enumerate(out_spec)}
    if len(out) != len(out_spec) + max(elided, 0):
        raise ValueError(f"EinsumDense: `output_shape` {tuple(output_shape) if not is_int(output_shape) else output_shape} "
                         f"does not fit the output spec '{out_spec}' of equation '{equation}' "
                         f"(expected {len(out_spec) - 1} dimensions after the batch axis)")
    for d in in_spec:
        if d in out_map and out[out_map[d]] is not None and \
                out[out_map[d]] != input_shape[in_map[d]]:
            raise ValueError(f"Input shape and output shape do not match at shared dimension "
                             f"'{d}'. Input shape is {input_shape[in_map[d]]}, and output shape "
                             f"is {out[out_map[d]]}.")
    for d in out_spec:
        if d not in in_spec and d not in w_spec:
            raise ValueError(f"Dimension '{d}' was specified in the output '{out_spec}' but has "
                             f"no corresponding dim in the input spec '{in_spec}' or weight "
                             f"spec '{w_spec}'")
    kernel_shape, input_axes, output_axes = [], [], []
    for i, d in enumerate(w_spec):
        if d in out_map:
            kernel_shape.append(out[out_map[d]])
            output_axes.append(i)
        elif d in in_map:
            kernel_shape.append(input_shape[in_map[d]])
            input_axes.append(i)
        else:
            raise ValueError(f"Weight dimension '{d}' did not have a match in either the input "
                             f"spec '{in_spec}' or the output spec '{out_spec}'. For this "
                             f"layer, the weight must be fully specified.")
    bias_shape = None
    if bias_axes is not None:
        shift = elided if left_elided else 0
        sizes = {c: out[i + shift] for i, c in enumerate(out_spec)}
        for c in bias_axes:
            if c not in out_spec:
                raise ValueError(f"Bias dimension '{c}' was requested, but is not part of the "
                                 f"output spec '{out_spec}'")
        first = min(out_spec.find(c) for c in bias_axes)
        bias_shape = [sizes[c] if c in bias_axes else 1 for c in out_spec[first:]]
        if not left_elided:
            bias_shape += [1] * max(elided, 0)
    return kernel_shape, bias_shape, out, input_axes, output_axes


class EinsumDense(Layer):
    """A dense layer computing `activation(einsum(equation, inputs, kernel) + bias)`.

    The kernel's shape comes from the equation: each kernel axis takes its size from the
    output (`output_shape`) or, for a summed axis, from the input, as in Keras, so weights
    from a Keras EinsumDense load as they are. `"ab,bc->ac"` with `output_shape=64` is a
    `Dense(64)`; `"abc,cd->abd"` with `output_shape=(None, 64)` is one applied per step; an
    ellipsis (`"...b,bc->...c"`) stands for leading (or, `"ab...,bc->ac..."`, trailing)
    axes. A variance-scaling kernel initializer (`"glorot_uniform"`, ...) counts its fans
    over the kernel's input and output axes, as Keras does.

    Args:
        equation: The einsum equation, `"<input>,<kernel>-><output>"`.
        output_shape: Int or tuple, the output shape without the batch axis; `None` for a
            dimension taken from the input.
        activation: Activation function (name or callable). Defaults to `None`.
        bias_axes: Optional string of output letters that the bias spans; `None` for no
            bias.
        kernel_initializer: Defaults to `"glorot_uniform"`.
        bias_initializer: Defaults to `"zeros"`.
        kernel_regularizer: Optional regularizer of `kernel`.
        bias_regularizer: Optional regularizer of `bias`.
        kernel_constraint: Optional constraint of `kernel`.
        bias_constraint: Optional constraint of `bias`.
        lora_rank: Must be `None` (LoRA is not implemented).
        lora_alpha: Accepted and ignored.
        gptq_unpacked_column_size: Must be `None` (quantization is not implemented).
        quantization_config: Must be `None`.
        **kwargs: Base layer arguments (`name`, `dtype`, `activity_regularizer`, ...).

    Raises:
        ValueError: For an equation not of the supported forms, an output shape or bias
            axes that do not fit it, or an input of the wrong rank.
        TypeError: If `equation` is not a string or `bias_axes` not a string or `None`.

    Example:

    >>> import numpy as np, rnnkit as keras
    >>> layer = keras.layers.EinsumDense("abc,cde->abde", output_shape=(None, 2, 4),
    ...                                  bias_axes="de")
    >>> layer(np.ones((3, 5, 6))).shape
    (3, 5, 2, 4)
    >>> layer.kernel.shape, layer.bias.shape
    ((6, 2, 4), (2, 4))
    """

    def __init__(self, equation, output_shape, activation=None, bias_axes=None,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None, kernel_constraint=None,
                 bias_constraint=None, lora_rank=None, lora_alpha=None,
                 gptq_unpacked_column_size=None, quantization_config=None, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(equation, str):
            raise TypeError(f"EinsumDense: argument `equation` must be a string, got "
                            f"{equation!r}")
        if bias_axes is not None and not isinstance(bias_axes, str):
            raise TypeError(f"EinsumDense: argument `bias_axes` must be a string of output "
                            f"axes or None, got {bias_axes!r}")
        if is_int(output_shape):
            self.partial_output_shape = (int(output_shape),)
        else:
            try:
                self.partial_output_shape = tuple(None if d is None else int(d)
                                                  for d in output_shape)
            except (TypeError, ValueError):
                raise ValueError(f"EinsumDense: argument `output_shape` must be an int or a "
                                 f"tuple of ints/None, got {output_shape!r}") from None
        self.equation = equation
        self.bias_axes = bias_axes
        self.activation = activations.get(activation)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        refuse_lora("EinsumDense", lora_rank, lora_alpha)
        refuse_quantization("EinsumDense", quantization_config)
        refuse_quantization("EinsumDense", gptq_unpacked_column_size)
        self.lora_rank = None
        self.lora_alpha = None

    def build(self, input_shape):
        """Creates `kernel` (and `bias` when `bias_axes` is set) from the equation."""
        input_shape = normalize_shape(input_shape, self)
        kernel_shape, bias_shape, _, in_axes, out_axes = analyze_equation(
            self.equation, self.bias_axes, input_shape, self.partial_output_shape)
        if any(d is None for d in kernel_shape) or \
                (bias_shape is not None and any(d is None for d in bias_shape)):
            raise ValueError(f"EinsumDense: the weight dimensions must be known; equation "
                             f"'{self.equation}', input shape {input_shape}, output_shape "
                             f"{self.partial_output_shape} give kernel {tuple(kernel_shape)} "
                             f"and bias {bias_shape}")
        self.input_spec = InputSpec(ndim=len(input_shape))
        init = self.kernel_initializer
        if isinstance(init, initializers.VarianceScaling):
            fan_in = int(np.prod([kernel_shape[i] for i in in_axes]))
            fan_out = int(np.prod([kernel_shape[i] for i in out_axes]))
            base = init

            def init(shape, dtype=None):
                # iid values: drawing (fan_in, fan_out) and reshaping gives Keras' fans.
                return ops.reshape(base((fan_in, fan_out), dtype=dtype), tuple(shape))
        self.kernel = self.add_weight(shape=tuple(kernel_shape), name="kernel",
                                      initializer=init, regularizer=self.kernel_regularizer,
                                      constraint=self.kernel_constraint)
        if bias_shape is not None:
            self.bias = self.add_weight(shape=tuple(bias_shape), name="bias",
                                        initializer=self.bias_initializer,
                                        regularizer=self.bias_regularizer,
                                        constraint=self.bias_constraint)
        else:
            self.bias = None

    def call(self, inputs):
        """Returns `activation(einsum(equation, inputs, kernel) + bias)`."""
        x = ops.einsum(self.equation, inputs, self.kernel)
        if self.bias is not None:
            x = ops.add(x, self.bias)
        return self.activation(x) if self.activation is not None else x

    def compute_output_shape(self, input_shape):
        """Returns the full output shape (batch axis and elided axes included)."""
        input_shape = normalize_shape(input_shape, self)
        return tuple(analyze_equation(self.equation, self.bias_axes, input_shape,
                                      self.partial_output_shape)[2])

    def get_config(self):
        return {**super().get_config(),
                "output_shape": self.partial_output_shape,
                "equation": self.equation,
                "activation": activations.serialize(self.activation),
                "bias_axes": self.bias_axes,
                "kernel_initializer": initializers.serialize(self.kernel_initializer),
                "bias_initializer": initializers.serialize(self.bias_initializer),
                "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
                "bias_regularizer": regularizers.serialize(self.bias_regularizer),
                "activity_regularizer": regularizers.serialize(self.activity_regularizer),
                "kernel_constraint": constraints.serialize(self.kernel_constraint),
                "bias_constraint": constraints.serialize(self.bias_constraint),
                "quantization_config": None}
