"""Docstrings: every public class and function has a real one, and the examples in them run.

`help(keras.layers.LSTM)` and the like must show what the object does, its arguments and what
it returns (issue 9). Two checks:

- the examples (`>>>` lines) of every documented module run with `doctest` and give the output
  they show;
- every public class and function reachable from the public modules has a docstring of more
  than one line, and every public method or property of those classes has a docstring (its
  own, or the one of the method it overrides).
"""

from __future__ import annotations

import doctest
import importlib
import inspect
import random

import numpy as np
import pytest

import rnnkit

FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE

# The modules whose examples are run.
DOCTEST_MODULES = [
    "rnnkit",
    "rnnkit.activations",
    "rnnkit.autodiff",
    "rnnkit.callbacks",
    "rnnkit.constraints",
    "rnnkit.core",
    "rnnkit.datasets.mnist",
    "rnnkit.graph",
    "rnnkit.graph.keras_tensor",
    "rnnkit.graph.layer_call",
    "rnnkit.graph.node",
    "rnnkit.graph.operation",
    "rnnkit.graph.run",
    "rnnkit.graph.topology",
    "rnnkit.initializers",
    "rnnkit.layers.core.activation",
    "rnnkit.layers.core.dense",
    "rnnkit.layers.core.embedding",
    "rnnkit.layers.core.input_layer",
    "rnnkit.layers.core.masking",
    "rnnkit.layers.layer",
    "rnnkit.layers.normalization.batch_normalization",
    "rnnkit.layers.regularization.dropout",
    "rnnkit.layers.rnn.bidirectional",
    "rnnkit.layers.rnn.cell_base",
    "rnnkit.layers.rnn.fused",
    "rnnkit.layers.rnn.gru",
    "rnnkit.layers.rnn.lstm",
    "rnnkit.layers.rnn.rnn",
    "rnnkit.layers.rnn.simple_rnn",
    "rnnkit.layers.rnn.stacked_rnn_cells",
    "rnnkit.layers.rnn.time_distributed",
    "rnnkit.losses",
    "rnnkit.metrics",
    "rnnkit.models",
    "rnnkit.models.data_adapters",
    "rnnkit.models.file_io",
    "rnnkit.models.functional",
    "rnnkit.models.sequential",
    "rnnkit.models.training",
    "rnnkit.ops._base",
    "rnnkit.ops.core",
    "rnnkit.ops.nn",
    "rnnkit.ops.numpy",
    "rnnkit.optimizers",
    "rnnkit.optimizers.adagrad",
    "rnnkit.optimizers.adam",
    "rnnkit.optimizers.adamw",
    "rnnkit.optimizers.base_optimizer",
    "rnnkit.optimizers.rmsprop",
    "rnnkit.optimizers.schedules",
    "rnnkit.optimizers.sgd",
    "rnnkit.placement",
    "rnnkit.progbar",
    "rnnkit.random",
    "rnnkit.regularizers",
    "rnnkit.saving",
    "rnnkit.tree",
    "rnnkit.utils",
    "rnnkit.variables",
]

# The public namespaces whose classes and functions must be documented.
PUBLIC_MODULES = [
    "rnnkit",
    "rnnkit.activations",
    "rnnkit.autodiff",
    "rnnkit.callbacks",
    "rnnkit.constraints",
    "rnnkit.core",
    "rnnkit.datasets.mnist",
    "rnnkit.graph",
    "rnnkit.initializers",
    "rnnkit.layers",
    "rnnkit.losses",
    "rnnkit.metrics",
    "rnnkit.models",
    "rnnkit.ops",
    "rnnkit.optimizers",
    "rnnkit.optimizers.schedules",
    "rnnkit.placement",
    "rnnkit.random",
    "rnnkit.regularizers",
    "rnnkit.saving",
    "rnnkit.tree",
    "rnnkit.utils",
]

@pytest.fixture
def global_state():
    """The doctests seed the global random streams and register example classes: put both back
    afterwards, so that the tests that run later see what they would have seen."""
    from rnnkit import saving
    py_state, np_state = random.getstate(), np.random.get_state()
    generator = rnnkit.random._global_generator
    objects, names = dict(saving._GLOBAL_CUSTOM_OBJECTS), dict(saving._GLOBAL_CUSTOM_NAMES)
    threads = rnnkit.get_num_threads()
    yield
    random.setstate(py_state)
    np.random.set_state(np_state)
    rnnkit.random._global_generator = generator
    saving._GLOBAL_CUSTOM_OBJECTS.clear()
    saving._GLOBAL_CUSTOM_OBJECTS.update(objects)
    saving._GLOBAL_CUSTOM_NAMES.clear()
    saving._GLOBAL_CUSTOM_NAMES.update(names)
    rnnkit.set_num_threads(threads)


@pytest.mark.parametrize("name", DOCTEST_MODULES)
def test_docstring_examples(name, global_state):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=FLAGS, report=True)
    assert result.failed == 0, f"{result.failed} docstring example(s) of {name} failed (above)"


def test_docstring_examples_of_every_op(global_state):
    """The ops made by factories (`_unary`, `_binary`, ...) are defined in one module and
    exported by another, where `testmod` does not look: run each exported op's examples."""
    finder = doctest.DocTestFinder(recurse=False)
    runner = doctest.DocTestRunner(optionflags=FLAGS)
    for name in sorted(rnnkit.ops.__all__):
        fn = inspect.unwrap(getattr(rnnkit.ops, name))
        for test in finder.find(fn, f"rnnkit.ops.{name}", globs={}):
            runner.run(test)
    result = runner.summarize(verbose=False)
    assert result.attempted > 0
    assert result.failed == 0, f"{result.failed} op docstring example(s) failed (above)"


# -- every public object is documented ------------------------------------------------------

def _public_objects():
    """(qualified name, object) for each public class and function of PUBLIC_MODULES, once per
    object, skipping objects defined outside rnnkit."""
    seen, out = set(), []
    for module_name in PUBLIC_MODULES:
        module = importlib.import_module(module_name)
        names = getattr(module, "__all__", None) or [n for n in dir(module)
                                                     if not n.startswith("_")]
        for name in names:
            obj = getattr(module, name)
            if inspect.ismodule(obj) or not (inspect.isclass(obj) or callable(obj)):
                continue
            obj = inspect.unwrap(obj) if inspect.isfunction(obj) else obj
            owner = getattr(obj, "__module__", None) or ""
            if not owner.startswith("rnnkit") or id(obj) in seen:
                continue
            seen.add(id(obj))
            out.append((f"{module_name}.{name}", obj))
    return out


def _doc_lines(obj):
    doc = inspect.getdoc(obj)
    return [] if doc is None else doc.strip().splitlines()


def _public_members(cls):
    """(name, attribute) for the public methods and properties of `cls` (`__call__`
    included) defined in rnnkit."""
    out = []
    for name in dir(cls):
        if name.startswith("_") and name != "__call__":
            continue
        for klass in cls.__mro__:
            if name in vars(klass):
                defining = klass
                break
        else:
            continue
        if not defining.__module__.startswith("rnnkit"):
            continue
        raw = vars(defining)[name]
        if isinstance(raw, property):
            out.append((name, raw))
        elif isinstance(raw, (staticmethod, classmethod)) or inspect.isfunction(raw):
            out.append((name, getattr(cls, name)))
    return out


def test_public_classes_and_functions_have_docstrings():
    missing = [name for name, obj in _public_objects() if len(_doc_lines(obj)) < 2]
    assert not missing, ("These public classes and functions need a docstring of more than one "
                         "line (what they do, Args, Returns, ...):\n  " + "\n  ".join(missing))


def test_public_methods_have_docstrings():
    missing = []
    for qualified, obj in _public_objects():
        if not inspect.isclass(obj):
            continue
        for name, member in _public_members(obj):
            if not _doc_lines(member):
                missing.append(f"{qualified}.{name}")
    assert not missing, ("These public methods and properties need a docstring (their own or "
                         "that of the method they override):\n  " + "\n  ".join(missing))


def test_the_walk_sees_the_api():
    """The checks above look at the real API, not at an empty list."""
    checked = {id(obj) for _, obj in _public_objects()}
    for expected in (rnnkit.layers.LSTM, rnnkit.ops.add, rnnkit.losses.Loss,
                     rnnkit.optimizers.Adam, rnnkit.saving.load_model, rnnkit.GradientTape,
                     rnnkit.callbacks.EarlyStopping, rnnkit.Variable, rnnkit.Model,
                     rnnkit.Sequential, rnnkit.models.Functional, rnnkit.Input,
                     rnnkit.layers.InputLayer, rnnkit.utils.PyDataset, rnnkit.device,
                     rnnkit.placement.current_device, rnnkit.graph.KerasTensor):
        assert id(inspect.unwrap(expected)) in checked, expected
    members = dict(_public_members(rnnkit.layers.LSTM))
    assert {"get_weights", "set_weights", "build", "call", "compute_mask"} <= set(members)
    members = dict(_public_members(rnnkit.Sequential))
    assert {"fit", "reset_metrics", "summary", "save", "add", "pop", "layers"} <= set(members)
