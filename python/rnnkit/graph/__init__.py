"""The symbolic graph behind functional and Sequential models (below the layers and models).

Calling a layer or an `rnnkit.ops` function on `KerasTensor`s (from `rnnkit.Input`) computes no
numbers: it works out the output shapes and records a `Node` (the operation, its arguments with
the symbolic tensors in place, and the symbolic outputs). A model finds its nodes and orders its
operations from its output tensors (`map_graph`) and replays the nodes on arrays (`run_graph`).

    keras_tensor  KerasTensor (operators through rnnkit.ops), is_symbolic
    node          Node: one call; wires each output tensor's `history`
    layer_call    symbolic_call: a layer called on symbolic tensors
    operation     Operation, symbolic_op, accept_symbolic: rnnkit.ops on symbolic tensors
    topology      map_graph / collect_nodes: the nodes, and Keras' order of the operations
    run           run_graph: replay on arrays, with masks

This package imports neither `rnnkit.layers` nor `rnnkit.models` (they build on it): layers are
handled through the attributes every layer has.
"""

from rnnkit.graph.keras_tensor import KerasTensor, SymbolicValueError, is_symbolic
from rnnkit.graph.layer_call import symbolic_call
from rnnkit.graph.node import Node
from rnnkit.graph.operation import Operation, accept_symbolic, symbolic_op
from rnnkit.graph.run import run_graph
from rnnkit.graph.topology import collect_nodes, map_graph

__all__ = ["KerasTensor", "Node", "Operation", "SymbolicValueError", "accept_symbolic",
           "collect_nodes", "is_symbolic", "map_graph", "run_graph", "symbolic_call",
           "symbolic_op"]
