"""Replaying a graph's nodes on arrays (or on tracked Tensors inside a GradientTape)."""

from __future__ import annotations

from rnnkit import tree
from rnnkit.graph.keras_tensor import KerasTensor
from rnnkit.masking import any_masks, get_keras_mask


def _input_mask(node, env):
    """The mask of a node's first argument: None, one mask, or a list of masks."""
    if not node.args:
        return None
    found = [env[id(t)][1] for t in tree.flatten(node.args[0]) if isinstance(t, KerasTensor)]
    if not found:
        return None
    if len(found) == 1:
        return found[0]
    return found if any(m is not None for m in found) else None


def _output_masks(operation, args, kwargs, input_mask, leaves):
    masks = operation.compute_mask(args[0] if args else None, kwargs.get("mask", input_mask))
    if masks is None and not any_masks():
        return [None] * len(leaves)
    if len(leaves) == 1:
        masks = [masks[0] if isinstance(masks, (list, tuple)) else masks]
    elif not (isinstance(masks, (list, tuple)) and len(masks) == len(leaves)):
        masks = [None] * len(leaves)
    # A nested model attaches its outputs' masks to the arrays it returns.
    return [get_keras_mask(value) if mask is None else mask
            for value, mask in zip(leaves, masks)]


def run_graph(nodes, inputs, values, masks=None, training=None):
    """Replays `nodes` (in order) on arrays. `inputs` are the graph's input KerasTensors and
    `values` the arrays fed to them (same structure); returns a dict
    id(KerasTensor) -> (value, mask) holding every tensor computed.

    Each node's operation is called on the values of its argument tensors; `training` is
    passed to the layers whose `call` takes it, and the mask of the first argument to the
    layers whose `call` takes `mask`. `masks` gives the masks of the inputs (same
    structure as `inputs`).

    Raises:
        ValueError: If `values` does not hold one value per input, or an operation returns
            another number of outputs than when it was recorded.

    Example:

    >>> import numpy as np, rnnkit as keras
    >>> from rnnkit import graph
    >>> x = keras.Input((3,))
    >>> y = x * 2
    >>> env = graph.run_graph(graph.collect_nodes(x, y), x, np.ones((1, 3)))
    >>> env[id(y)][0].tolist()
    [[2.0, 2.0, 2.0]]
    """
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
        operation = node.operation
        single = node.single_input
        if single is not None:
            value, input_mask = env[id(single)]
            args, kwargs = (value,), {}
        else:
            args = tree.map_structure(value_of, node.args)
            kwargs = tree.map_structure(value_of, node.kwargs)
            input_mask = _input_mask(node, env)
        if training is not None and operation._call_has_training_arg and \
                "training" not in kwargs:
            kwargs["training"] = training
        if operation._call_has_mask_arg and "mask" not in kwargs and input_mask is not None:
            kwargs["mask"] = input_mask
        result = operation(*args, **kwargs)
        leaves = tree.flatten(result) if tree.is_nested(result) else [result]
        if len(leaves) != len(node.output_tensors):
            raise ValueError(
                f"{operation.name} returned {len(leaves)} tensors when called on arrays, but "
                f"{len(node.output_tensors)} when the model was built")
        out_masks = _output_masks(operation, args, kwargs, input_mask, leaves)
        for tensor, value, mask in zip(node.output_tensors, leaves, out_masks):
            env[id(tensor)] = (value, mask)
    return env
