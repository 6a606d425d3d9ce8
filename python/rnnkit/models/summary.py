"""`model.summary()`: Keras 3's table (the layout its `rich` rendering produces, without colours).

Width: min(default, terminal columns - 4), with 80 columns when there is no terminal, so 76
characters by default; column boundaries at fractions of the width, shrunk to fit the borders as
rich does (each column gives up its share of the excess, rounded half to even).
"""

from __future__ import annotations

import shutil

import numpy as np

from rnnkit import tree
from rnnkit.graph import Operation


def readable_memory_size(size):
    units = ["B", "KB", "MB", "GB", "TB", "PB"]
    scale = 1024
    for unit in units:
        if size / scale < 1:
            return f"{size:.2f} {unit}"
        size /= scale
    return f"{size:.2f} {units[-1]}"


def _weights_size(weights):
    count = sum(int(np.prod(w.shape)) for w in weights)
    nbytes = sum(int(np.prod(w.shape)) * np.dtype(w.dtype).itemsize for w in weights)
    return count, nbytes


def _ratio_reduce(total, ratios, maximums, values):
    ratios = [r if m else 0 for r, m in zip(ratios, maximums)]
    total_ratio = sum(ratios)
    if not total_ratio:
        return list(values)
    remaining = total
    out = []
    for ratio, maximum, value in zip(ratios, maximums, values):
        if ratio and total_ratio > 0:
            distributed = min(maximum, round(ratio * remaining / total_ratio))
            out.append(value - distributed)
            remaining -= distributed
            total_ratio -= ratio
        else:
            out.append(value)
    return out


def _wrap(text, width):
    lines = []
    for paragraph in str(text).split("\n"):
        words = paragraph.split(" ")
        line = ""
        for word in words:
            while len(word) > width:
                if line:
                    lines.append(line)
                    line = ""
                lines.append(word[:width])
                word = word[width:]
            candidate = word if not line else f"{line} {word}"
            if len(candidate) <= width:
                line = candidate
            else:
                lines.append(line)
                line = word
        lines.append(line)
    return lines or [""]


def _render_table(headers, rows, alignments, positions, line_length):
    bounds = [int(line_length * p) for p in positions] if positions[-1] <= 1 else positions
    widths = []
    current = 0
    for bound in bounds:
        widths.append(bound - current + 2)   # + rich's cell padding (one space each side)
        current = bound
    max_width = line_length - (len(widths) + 1)
    if sum(widths) > max_width:
        widths = _ratio_reduce(sum(widths) - max_width, [1] * len(widths), widths, widths)
    inner = [w - 2 for w in widths]

    def cells_to_lines(cells, vertical):
        wrapped = [_wrap(c, w) for c, w in zip(cells, inner)]
        height = max(len(w) for w in wrapped)
        out = []
        for i in range(height):
            parts = []
            for lines, width, align in zip(wrapped, inner, alignments):
                text = lines[i] if i < len(lines) else ""
                parts.append(" " + (text.rjust(width) if align == "right" else
                                    text.ljust(width)) + " ")
            out.append(vertical + vertical.join(parts) + vertical)
        return out

    def rule(left, fill, middle, right):
        return left + middle.join(fill * w for w in widths) + right

    lines = [rule("┏", "━", "┳", "┓")]
    lines += cells_to_lines(headers, "┃")
    lines.append(rule("┡", "━", "╇", "┩"))
    for index, row in enumerate(rows):
        if index:
            lines.append(rule("├", "─", "┼", "┤"))
        lines += cells_to_lines(row, "│")
    lines.append(rule("└", "─", "┴", "┘"))
    return lines


def _shape_text(tensors):
    # Keras' form: `(None, 3)`, and `(None)` for one axis.
    text = ["(" + ", ".join(str(d) for d in t.shape) + ")" for t in tensors]
    return text[0] if len(text) == 1 else "[" + ", ".join(text) + "]"


def _model_nodes(model):
    graph = getattr(model, "_graph", None)
    if graph is not None:           # Sequential
        return graph[2]
    return getattr(model, "_nodes", None)


def _is_sequential_like(model, nodes):
    from rnnkit.models.sequential import Sequential
    if isinstance(model, Sequential) or nodes is None:
        return True
    if len(model.inputs) != 1 or len(tree.flatten(model.outputs_structure)) != 1:
        return False
    previous = model.inputs[0]
    seen_layers = set()
    for node in nodes:
        if len(node.input_tensors) != 1 or node.input_tensors[0] is not previous or \
                len(node.output_tensors) != 1 or id(node.layer) in seen_layers:
            return False
        seen_layers.add(id(node.layer))
        previous = node.output_tensors[0]
    return True


def print_summary(model, line_length=None, positions=None, print_fn=None, show_trainable=False):
    from rnnkit.models.functional import InputLayer
    nodes = _model_nodes(model)
    sequential_like = _is_sequential_like(model, nodes)
    columns = shutil.get_terminal_size((80, 24)).columns
    if sequential_like:
        default_length, fractions = 88, [0.45, 0.80, 1.0]
        headers = ["Layer (type)", "Output Shape", "Param #"]
        alignments = ["left", "left", "right"]
    else:
        default_length, fractions = 108, [0.3, 0.56, 0.74, 1.0]
        headers = ["Layer (type)", "Output Shape", "Param #", "Connected to"]
        alignments = ["left", "left", "right", "left"]
    line_length = min(line_length or default_length, columns - 4)
    positions = positions or fractions
    node_ids = {id(n) for n in nodes} if nodes is not None else None

    rows = []
    # A functional model lists its ops (`x + y`, ops.concatenate) too, as Keras does.
    for layer in getattr(model, "operations", None) or model.layers:
        layer_nodes = [n for n in getattr(layer, "_inbound_nodes", [])
                       if node_ids is not None and (id(n) in node_ids or
                                                    isinstance(layer, InputLayer))]
        kind = layer.class_name if isinstance(layer, Operation) else type(layer).__name__
        name = f"{layer.name} ({kind})"
        if layer.built and layer_nodes:
            shape = _shape_text(layer_nodes[0].output_tensors)
            params = f"{layer.count_params():,}"
        elif layer.built:
            shape = "?"
            params = f"{layer.count_params():,}"
        else:
            shape, params = "?", "0 (unbuilt)"
        row = [name, shape, params]
        if not sequential_like:
            connections = []
            for node in layer_nodes:
                for tensor in node.input_tensors:
                    source, node_index, tensor_index = tensor.history
                    connections.append(f"{source.name}[{node_index}][{tensor_index}]")
            row.append(", ".join(connections) if connections else "-")
        rows.append(row)

    lines = [f'Model: "{model.name}"']
    lines += _render_table(headers, rows, alignments, positions, line_length)
    trainable, trainable_bytes = _weights_size(model.trainable_weights)
    non_trainable, non_trainable_bytes = _weights_size(model.non_trainable_weights)
    total, total_bytes = trainable + non_trainable, trainable_bytes + non_trainable_bytes
    optimizer = getattr(model, "optimizer", None)
    optimizer_line = None
    if optimizer is not None and getattr(optimizer, "built", False):
        count, nbytes = _weights_size(optimizer.variables)
        total += count
        total_bytes += nbytes
        optimizer_line = f" Optimizer params: {count:,} ({readable_memory_size(nbytes)})"
    lines.append(f" Total params: {total:,} ({readable_memory_size(total_bytes)})")
    lines.append(f" Trainable params: {trainable:,} ({readable_memory_size(trainable_bytes)})")
    lines.append(f" Non-trainable params: {non_trainable:,} "
                 f"({readable_memory_size(non_trainable_bytes)})")
    if optimizer_line:
        lines.append(optimizer_line)
    text = "\n".join(lines)
    if print_fn is None:
        print(text)
    else:
        print_fn(text)
