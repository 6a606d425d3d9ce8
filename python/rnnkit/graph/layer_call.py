"""A layer called on symbolic tensors: build it, work out its output shapes, record a `Node`.

The layer is passed in (this module never imports `rnnkit.layers`); it needs what every rnnkit
`Layer` has: `input_spec`, `built` / `build`, `compute_output_shape`, `dtype`, `name`, and
`__call__` on arrays for layers without `compute_output_shape`.
"""

from __future__ import annotations

import numpy as np

from rnnkit import tree
from rnnkit.graph.keras_tensor import KerasTensor
from rnnkit.graph.node import Node


def _input_shapes(first):
    if isinstance(first, KerasTensor):
        return first.shape
    return tree.map_structure(lambda t: t.shape, first)


def _output_shapes(layer, args, kwargs):
    """Output shapes from `compute_output_shape`, or by running the layer on zeros."""
    try:
        return layer.compute_output_shape(_input_shapes(args[0]))
    except NotImplementedError:
        pass
    # No compute_output_shape: run the layer once on zeros (1 for unknown sizes), keeping any
    # state it carries, and read the shapes back with the batch axis unknown again.
    saved = [(v, v.numpy()) for v in _state_variables(layer)]
    try:
        concrete = tree.map_structure(
            lambda t: np.zeros(tuple(1 if s is None else s for s in t.shape), t.dtype)
            if isinstance(t, KerasTensor) else t, (args, kwargs))
        result = layer(*concrete[0], **concrete[1])
    finally:
        for variable, value in saved:
            variable.assign(value)
    batch_unknown = any(t.shape and t.shape[0] is None for t in tree.flatten(args)
                        if isinstance(t, KerasTensor))
    return tree.map_structure(
        lambda a: ((None,) + tuple(np.shape(a))[1:]) if batch_unknown else tuple(np.shape(a)),
        result)


def _state_variables(layer):
    states = getattr(layer, "states", None)
    out = [v for v in tree.flatten(states) if hasattr(v, "assign")] if states else []
    for sub in getattr(layer, "_tracked_layers", []):
        out.extend(_state_variables(sub))
    return out


class _ShapeOnly:
    """Lets InputSpec.check read the shape of a KerasTensor."""

    def __init__(self, tensor):
        self.shape = tuple(1 if s is None else s for s in tensor.shape)


def symbolic_call(layer, args, kwargs):
    """`layer(*args, **kwargs)` on KerasTensors: build, infer shapes, record a Node; returns the
    symbolic outputs (in the structure the layer returns)."""
    first = args[0]
    if layer.input_spec is not None:
        layer.input_spec.check(layer, tree.map_structure(_ShapeOnly, first))
    if not layer.built:
        layer.build(_input_shapes(first))
    shapes = _output_shapes(layer, args, kwargs)
    node_index = len(layer.__dict__.get("_inbound_nodes", ()))
    counter = iter(range(1 << 30))
    out_dtype = getattr(layer, "compute_dtype", layer.dtype)   # outputs are in the compute dtype

    def make(shape):
        return KerasTensor(shape, out_dtype, name=f"{layer.name}_{node_index}_{next(counter)}")

    outputs = tree.map_shape_structure(make, shapes)
    Node(layer, args, kwargs, outputs)
    return outputs
