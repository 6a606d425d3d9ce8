"""Imports run one way: graph (symbolic tensors, nodes) <- layers <- models.

The symbolic-graph core (`rnnkit.graph`) sits below the layers, as Keras' KerasTensor and Node
sit below its layers; nothing under `rnnkit/layers` may import `rnnkit.models`, and the graph
package imports neither layers nor models at module level.
"""

import ast
import pathlib

import rnnkit

PACKAGE = pathlib.Path(rnnkit.__file__).parent


def _imports(path, module_level_only=False):
    """(line, imported module) for each import in the file, `from rnnkit import models` as
    `rnnkit.models`."""
    tree = ast.parse(path.read_text(), filename=str(path))
    nodes = tree.body if module_level_only else ast.walk(tree)
    found = []
    for node in nodes:
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
            found.extend((node.lineno, f"{node.module}.{alias.name}") for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level:
            found.append((node.lineno, "." * node.level + (node.module or "")))
    return found


def _offending(directory, forbidden, module_level_only=False):
    out = []
    for path in sorted((PACKAGE / directory).rglob("*.py")):
        for line, name in _imports(path, module_level_only):
            if any(name == f or name.startswith(f + ".") for f in forbidden) or \
                    name.startswith("."):
                out.append(f"{path.relative_to(PACKAGE)}:{line}: {name}")
    return out


def test_layers_do_not_import_models():
    assert _offending("layers", ["rnnkit.models"]) == []


def test_graph_package_does_not_import_layers_or_models():
    assert _offending("graph", ["rnnkit.layers", "rnnkit.models"], module_level_only=True) == []


def test_the_scan_sees_imports_of_models(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text("def f():\n    from rnnkit import models\n    import rnnkit.models.x\n")
    assert [name for _, name in _imports(sample)] == ["rnnkit", "rnnkit.models",
                                                      "rnnkit.models.x"]


def test_models_graph_is_gone():
    assert not (PACKAGE / "models" / "graph.py").exists()
    from rnnkit.graph import KerasTensor, map_graph, run_graph, symbolic_call  # noqa: F401
    from rnnkit.layers import Input, InputLayer
    assert rnnkit.Input is Input and rnnkit.models.InputLayer is InputLayer
