"""The nodes between a model's inputs and outputs, and the order of its operations.

The order is Keras 3's: an operation's depth is its distance from the outputs (an output's
producer has depth 0, what feeds it depth 1, ...; a shared operation takes the largest depth of
its calls), operations are listed from the deepest (the inputs) to depth 0, and operations of
equal depth in the order a depth-first walk from the outputs first reaches them (outputs in
order, each node's input tensors in order: positional arguments, then keyword arguments by
name). A model's `layers`, `weights`, `get_weights()` and `summary()` follow it.
"""

from __future__ import annotations

from rnnkit import tree


def _names(tensors):
    return [t.name for t in tensors]


def _producer(tensor, inputs):
    """The node that produced `tensor` (checking that the graph reaches the model's inputs)."""
    if tensor.history is None:
        raise ValueError(
            f"Graph disconnected: the tensor {tensor.name} is needed to compute the outputs, "
            f"but it is not one of the model's inputs {_names(inputs)}")
    operation, node_index, _ = tensor.history
    return operation._inbound_nodes[node_index]


def _walk(inputs, outputs):
    """Depth-first from the outputs: the nodes with parents before children, and each
    operation's position in the order the walk first reaches it."""
    input_ids = {id(t) for t in inputs}
    finished, in_progress = set(), set()
    ordered = []
    first_seen = {}

    def visit(tensor):
        node = _producer(tensor, inputs)
        if id(node) in finished:
            return
        if node.is_input and id(tensor) not in input_ids:
            raise ValueError(
                f"Graph disconnected: the input {tensor.name} is needed to compute the "
                f"outputs, but it is not one of the model's inputs {_names(inputs)}")
        if id(node) in in_progress:
            raise ValueError(f"The graph has a cycle through {node.operation.name}")
        first_seen.setdefault(id(node.operation), len(first_seen))
        in_progress.add(id(node))
        if not node.is_input:
            for parent in node.input_tensors:
                visit(parent)
        in_progress.discard(id(node))
        finished.add(id(node))
        ordered.append(node)

    for tensor in outputs:
        visit(tensor)
    return ordered, first_seen


def map_graph(inputs, outputs):
    """`(nodes, operations)` of the graph from `inputs` to `outputs` (structures of
    KerasTensors). `nodes` are the call nodes to replay, in creation order (a valid topological
    order); `operations` are the InputLayers, layers and ops in Keras' order (see the module
    docstring).

    Raises:
        ValueError: If an output needs a tensor that is not among `inputs` ("Graph
            disconnected"), or the graph has a cycle.

    Example:

    >>> import rnnkit as keras
    >>> from rnnkit import graph
    >>> x = keras.Input((3,), name="x")
    >>> y = keras.layers.Dense(2, name="d")(x + 1)
    >>> nodes, operations = graph.map_graph(x, y)
    >>> [node.operation.name for node in nodes][1:], len(nodes)
    (['d'], 2)
    >>> [type(op).__name__ for op in operations]
    ['InputLayer', 'Operation', 'Dense']
    """
    inputs = tree.flatten(inputs)
    ordered, first_seen = _walk(inputs, tree.flatten(outputs))
    node_depth, operation_depth = {}, {}
    operations = {}
    for node in reversed(ordered):          # children before parents
        key = id(node.operation)
        operations[key] = node.operation
        depth = max(node_depth.setdefault(id(node), 0), operation_depth.get(key, 0))
        operation_depth[key] = depth
        node_depth[id(node)] = depth
        for parent in node.parent_nodes:
            node_depth[id(parent)] = max(node_depth.get(id(parent), 0), depth + 1)
    # Inputs that no output needs still belong to the model: depth 0, ahead of the others there.
    for tensor in inputs:
        operation = tensor.history[0]
        if id(operation) not in operation_depth:
            operations[id(operation)] = operation
            operation_depth[id(operation)] = 0
            first_seen[id(operation)] = -1
    order = sorted(operations, key=lambda key: (-operation_depth[key], first_seen[key]))
    nodes = sorted((node for node in ordered if not node.is_input), key=lambda n: n.order)
    return nodes, [operations[key] for key in order]


def collect_nodes(inputs, outputs):
    """The call nodes between `inputs` and `outputs`, in an order where every node comes after
    the nodes producing its inputs."""
    return map_graph(inputs, outputs)[0]
