"""Symbolic tensors and the layer-call graph behind functional and Sequential models.

Calling a layer on `KerasTensor`s (from `rnnkit.Input`) computes no numbers: it builds the layer,
works out the output shapes and records a `Node` (the layer, its arguments with the symbolic
tensors in place, and the symbolic outputs). A model then replays its nodes in order on real
arrays (`run_graph`), passing each tensor's mask to the layers that take one.
"""

from __future__ import annotations

import itertools

import numpy as np

from rnnkit import tree

_node_order = itertools.count()


class KerasTensor:
    """A symbolic tensor: a shape (None for unknown sizes, e.g. the batch), a dtype, and where it
    comes from (`history`: the layer, the node index and the output index)."""

    def __init__(self, shape, dtype="float32", name=None, history=None):
        self.shape = tuple(None if s is None else int(s) for s in shape)
        self.dtype = np.dtype(dtype).name
        self.name = name
        self.history = history  # (layer, node_index, tensor_index)

    @property
    def ndim(self):
        return len(self.shape)

    def __repr__(self):
        return f"<KerasTensor shape={self.shape}, dtype={self.dtype}, name={self.name}>"

    def __array__(self, *args, **kwargs):
        raise TypeError(
            "A symbolic KerasTensor (from rnnkit.Input or a layer called on one) has no value: "
            "it only describes a model's graph. Call the model on arrays to compute.")

    def __len__(self):
        raise TypeError("A symbolic KerasTensor has no length; use `.shape`.")

    # Operators on symbolic tensors would need an op layer; say so clearly.
    def _no_ops(self, *args):
        raise TypeError(
            "rnnkit does not record rnnkit.ops on symbolic KerasTensors: wrap the computation "
            "in a Layer (its `call` may use rnnkit.ops) and call that layer on the tensor.")

    __add__ = __radd__ = __sub__ = __rsub__ = __mul__ = __rmul__ = _no_ops
    __truediv__ = __rtruediv__ = __matmul__ = __getitem__ = _no_ops


class Node:
    """One call of a layer on symbolic tensors."""

    def __init__(self, layer, args, kwargs, outputs, is_input=False):
        self.order = next(_node_order)   # creation order: always a valid topological order
        self.layer = layer
        self.args = args
        self.kwargs = kwargs
        self.outputs = outputs                      # the structure the call returned
        self.output_tensors = tree.flatten(outputs)
        self.input_tensors = [x for x in tree.flatten((args, kwargs))
                              if isinstance(x, KerasTensor)]
        self.is_input = is_input


def is_symbolic(structure):
    return any(isinstance(x, KerasTensor) for x in tree.flatten(structure))


def _output_shapes(layer, args, kwargs):
    """Output shapes from `compute_output_shape`, or by running the layer on zeros."""
    first = args[0]
    input_shapes = tree.map_structure(lambda t: t.shape, first) \
        if not isinstance(first, KerasTensor) else first.shape
    try:
        return layer.compute_output_shape(input_shapes)
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


def symbolic_call(layer, args, kwargs):
    """`layer(*args, **kwargs)` on KerasTensors: build, infer shapes, record a Node."""
    first = args[0]
    if layer.input_spec is not None:
        layer.input_spec.check(layer, tree.map_structure(_ShapeOnly, first))
    if not layer.built:
        shapes = tree.map_structure(lambda t: t.shape, first) \
            if not isinstance(first, KerasTensor) else first.shape
        layer.build(shapes)
    shapes = _output_shapes(layer, args, kwargs)
    nodes = layer.__dict__.setdefault("_inbound_nodes", [])
    node_index = len(nodes)
    counter = iter(range(1 << 30))
    out_dtype = layer.dtype

    def make(shape):
        index = next(counter)
        return KerasTensor(shape, out_dtype, name=f"{layer.name}_{node_index}_{index}",
                           history=(layer, node_index, index))

    outputs = tree.map_shape_structure(make, shapes)
    nodes.append(Node(layer, args, kwargs, outputs))
    return outputs


class _ShapeOnly:
    """Lets InputSpec.check read the shape of a KerasTensor."""

    def __init__(self, tensor):
        self.shape = tuple(1 if s is None else s for s in tensor.shape)


def collect_nodes(inputs, outputs):
    """The nodes between `inputs` and `outputs`, in an order where every node comes after the
    nodes producing its inputs."""
    input_ids = {id(t) for t in tree.flatten(inputs)}
    ordered, seen = [], set()

    def visit(tensor, path):
        if id(tensor) in input_ids:
            return
        if tensor.history is None:
            raise ValueError(
                f"Graph disconnected: the tensor {tensor.name} is needed to compute the outputs, "
                f"but it is not one of the model's inputs {[t.name for t in tree.flatten(inputs)]}")
        layer, node_index, _ = tensor.history
        node = layer._inbound_nodes[node_index]
        if node.is_input:
            raise ValueError(
                f"Graph disconnected: the input {tensor.name} is needed to compute the outputs, "
                f"but it is not one of the model's inputs {[t.name for t in tree.flatten(inputs)]}")
        if id(node) in seen:
            return
        if id(node) in path:
            raise ValueError(f"The graph has a cycle through layer {layer.name}")
        for parent in node.input_tensors:
            visit(parent, path | {id(node)})
        seen.add(id(node))
        ordered.append(node)

    for tensor in tree.flatten(outputs):
        visit(tensor, frozenset())
    return sorted(ordered, key=lambda node: node.order)


def run_graph(nodes, inputs, values, masks=None, training=None):
    """Replays `nodes` on arrays. `inputs` are the graph's input KerasTensors and `values` the
    arrays fed to them (same structure); returns a dict id(KerasTensor) -> (value, mask)."""
    env = {}
    input_leaves = tree.flatten(inputs)
    value_leaves = tree.flatten(values) if len(input_leaves) > 1 else [values]
    mask_leaves = [None] * len(input_leaves) if masks is None else (
        tree.flatten(masks) if len(input_leaves) > 1 else [masks])
    if len(value_leaves) != len(input_leaves):
        raise ValueError(f"The model expects {len(input_leaves)} input(s), got "
                         f"{len(value_leaves)}")
    for tensor, value, mask in zip(input_leaves, value_leaves, mask_leaves):
        env[id(tensor)] = (value, mask)

    def value_of(x):
        return env[id(x)][0] if isinstance(x, KerasTensor) else x

    for node in nodes:
        layer = node.layer
        args = tree.map_structure(value_of, node.args)
        kwargs = tree.map_structure(value_of, node.kwargs)
        if training is not None and layer._call_has_training_arg and "training" not in kwargs:
            kwargs["training"] = training
        input_mask = None
        first_inputs = [t for t in tree.flatten(node.args[0]) if isinstance(t, KerasTensor)]
        if first_inputs:
            found = [env[id(t)][1] for t in first_inputs]
            input_mask = found[0] if len(found) == 1 else (
                found if any(m is not None for m in found) else None)
        if layer._call_has_mask_arg and "mask" not in kwargs and input_mask is not None:
            kwargs["mask"] = input_mask
        result = layer(*args, **kwargs)
        leaves = tree.flatten(result)
        out_masks = layer.compute_mask(args[0], kwargs.get("mask", input_mask))
        if len(leaves) == 1:
            out_masks = [out_masks[0] if isinstance(out_masks, (list, tuple)) else out_masks]
        elif not (isinstance(out_masks, (list, tuple)) and len(out_masks) == len(leaves)):
            out_masks = [None] * len(leaves)
        if len(leaves) != len(node.output_tensors):
            raise ValueError(
                f"Layer {layer.name} returned {len(leaves)} tensors when called on arrays, but "
                f"{len(node.output_tensors)} when the model was built")
        for tensor, value, mask in zip(node.output_tensors, leaves, out_masks):
            env[id(tensor)] = (value, mask)
    return env
