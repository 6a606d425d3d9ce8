"""`Node`: one call of an operation (a layer, or an `rnnkit.ops` function) on symbolic tensors."""

from __future__ import annotations

import itertools

from rnnkit import tree
from rnnkit.graph.keras_tensor import KerasTensor

_node_order = itertools.count()


class Node:
    """Records `operation(*args, **kwargs) -> outputs` on symbolic tensors.

    Creating a node appends it to `operation._inbound_nodes` and sets each output tensor's
    `history` to `(operation, node index, output index)`, which is how a model finds its graph
    again from its output tensors. `is_input` marks the node of an `InputLayer` (no call).

    Args:
        operation: The layer or `Operation` that was called.
        args: The positional arguments of the call, symbolic tensors in place.
        kwargs: The keyword arguments of the call.
        outputs: The symbolic output(s), in the structure the call returned.
        is_input: Bool, whether this is an `InputLayer`'s node. Defaults to `False`.

    Attributes:
        order: A counter over all nodes, in creation order (a topological order).
        index: The position of the node in `operation._inbound_nodes`.
        input_tensors: The symbolic tensors among `args` and `kwargs`, flattened.
        single_input: The symbolic tensor when the call is `operation(tensor)`, else None.
        output_tensors: The symbolic outputs, flattened.
    """

    def __init__(self, operation, args, kwargs, outputs, is_input=False):
        self.order = next(_node_order)   # creation order: always a valid topological order
        self.operation = operation
        self.args = args
        self.kwargs = kwargs
        self.outputs = outputs                      # the structure the call returned
        self.output_tensors = tree.flatten(outputs)
        self.input_tensors = [x for x in tree.flatten((args, kwargs))
                              if isinstance(x, KerasTensor)]
        # The common call, `operation(tensor)`: replaying it needs no walk over structures.
        self.single_input = args[0] if (len(args) == 1 and not kwargs and
                                        isinstance(args[0], KerasTensor)) else None
        self.is_input = is_input
        nodes = operation.__dict__.setdefault("_inbound_nodes", [])
        self.index = len(nodes)
        nodes.append(self)
        for position, tensor in enumerate(self.output_tensors):
            tensor.history = (operation, self.index, position)

    @property
    def layer(self):
        """The operation, under the name older code used."""
        return self.operation

    @property
    def parent_nodes(self):
        """The nodes that produce this node's input tensors (one per input tensor)."""
        return [t.history[0]._inbound_nodes[t.history[1]] for t in self.input_tensors
                if t.history is not None]

    def __repr__(self):
        return f"<Node {getattr(self.operation, 'name', self.operation)}[{self.index}]>"
