"""rnnkit.saving: the registry, custom object scopes, generic serialize / deserialize."""

import json
import sys
import types

import numpy as np
import pytest

from rnnkit import constraints, initializers, regularizers, saving
from rnnkit import random as rr
from rnnkit import utils


class Box:
    """A plain configurable object (unregistered)."""

    def __init__(self, size=1, inner=None):
        self.size = size
        self.inner = inner

    def get_config(self):
        return {"size": self.size, "inner": saving.serialize(self.inner)}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["inner"] = saving.deserialize(config["inner"])
        return cls(**config)


# -- registration ------------------------------------------------------------------------------

def test_register_class_name_and_lookup():
    @saving.register_keras_serializable(package="MyPkg")
    class MinCell:
        def __init__(self, units=2):
            self.units = units

        def get_config(self):
            return {"units": self.units}

        @classmethod
        def from_config(cls, config):
            return cls(**config)

    assert saving.get_registered_name(MinCell) == "MyPkg>MinCell"
    assert saving.get_registered_object("MyPkg>MinCell") is MinCell
    assert saving.get_custom_objects()["MyPkg>MinCell"] is MinCell

    cfg = saving.serialize(MinCell(5))
    assert cfg == {"module": __name__, "class_name": "MinCell", "config": {"units": 5},
                   "registered_name": "MyPkg>MinCell"}
    back = saving.deserialize(json.loads(json.dumps(cfg)))
    assert type(back) is MinCell and back.units == 5


def test_register_custom_name_and_default_package():
    @saving.register_serializable(name="renamed")
    class Thing(Box):
        pass

    assert saving.get_registered_name(Thing) == "Custom>renamed"
    assert type(saving.deserialize(saving.serialize(Thing()))) is Thing

    @saving.register_serializable(package="NoFromConfig")
    class Bare:
        def get_config(self):
            return {}

    with pytest.raises(TypeError, match="missing a `from_config\\(\\)` method"):
        saving.deserialize(saving.serialize(Bare()))
    assert saving.register_serializable is saving.register_keras_serializable


def test_register_function():
    @saving.register_keras_serializable(package="Fns")
    def scaled_tanh(x):
        return 2 * np.tanh(x)

    assert saving.get_registered_name(scaled_tanh) == "Fns>scaled_tanh"
    assert saving.serialize(scaled_tanh) == "Fns>scaled_tanh"
    assert saving.deserialize("Fns>scaled_tanh") is scaled_tanh
    assert saving.deserialize({"module": "builtins", "class_name": "function",
                               "config": "scaled_tanh",
                               "registered_name": "Fns>scaled_tanh"}) is scaled_tanh


def test_registering_a_name_again_replaces_the_entry():
    # Keras 3: re-registering (a notebook cell re-run) silently replaces the entry.
    @saving.register_keras_serializable(package="Dup")
    class A:
        def get_config(self):
            return {}

    old = A
    saving.register_keras_serializable(package="Dup")(A)  # same object again: fine
    assert saving.get_registered_object("Dup>A") is A

    @saving.register_keras_serializable(package="Dup")
    class A:  # noqa: F811 -- the re-run cell
        def get_config(self):
            return {}

        @classmethod
        def from_config(cls, config):
            return cls()

    assert A is not old
    assert saving.get_registered_object("Dup>A") is A
    assert saving.get_registered_name(A) == "Dup>A"
    assert saving.get_registered_name(old) == "Dup>A"  # the old class keeps its name
    assert saving.deserialize({"module": None, "class_name": "A", "config": {},
                               "registered_name": "Dup>A"}).__class__ is A

    # the same class under a second name: both names resolve, the newest is its name
    saving.register_keras_serializable(package="Dup2", name="Other")(A)
    assert saving.get_registered_object("Dup>A") is A
    assert saving.get_registered_object("Dup2>Other") is A
    assert saving.get_registered_name(A) == "Dup2>Other"

    # a function may take over a class's name
    def fn(x):
        return x

    saving.register_keras_serializable(package="Dup", name="A")(fn)
    assert saving.get_registered_object("Dup>A") is fn
    assert saving.get_custom_objects()["Dup>A"] is fn


def test_register_class_without_get_config_errors():
    class NoConfig:
        pass

    with pytest.raises(ValueError, match="does not have a get_config"):
        saving.register_keras_serializable(package="Bad")(NoConfig)


def test_get_registered_name_unregistered_is_dunder_name():
    def plain(x):
        return x

    assert saving.get_registered_name(plain) == "plain"
    assert saving.get_registered_name(Box) == "Box"
    assert saving.get_registered_object("Nope>Nothing") is None
    assert saving.get_registered_object("k", custom_objects={"k": 1}) == 1
    assert saving.get_registered_object("m", module_objects={"m": 2}) == 2


# -- custom_objects and scopes -----------------------------------------------------------------

def test_unregistered_class_needs_custom_objects():
    cfg = saving.serialize(Box(3))
    assert cfg["registered_name"] == "Box" and cfg["module"] == __name__
    with pytest.raises(ValueError) as e:
        saving.deserialize(cfg)
    msg = str(e.value)
    assert "Box" in msg and "register_keras_serializable" in msg and "custom_objects" in msg
    assert isinstance(e.value, TypeError)  # Keras raises TypeError here; both work
    back = saving.deserialize(cfg, custom_objects={"Box": Box})
    assert type(back) is Box and back.size == 3


def test_custom_objects_by_registered_name_wins_over_class_name():
    class Other(Box):
        pass

    cfg = {"module": "x", "class_name": "Box", "config": {"size": 2, "inner": None},
           "registered_name": "Pkg>Box"}
    back = saving.deserialize(cfg, custom_objects={"Pkg>Box": Other, "Box": Box})
    assert type(back) is Other


def test_custom_object_scope():
    cfg = saving.serialize(Box(4))
    with saving.custom_object_scope({"Box": Box}) as scope:
        assert isinstance(scope, saving.CustomObjectScope)
        assert saving.deserialize(cfg).size == 4
        assert saving.get_registered_object("Box") is Box
        with saving.CustomObjectScope({"Other": int}):  # nested scopes see the outer names
            assert saving.deserialize(cfg).size == 4
            assert saving.get_registered_object("Other") is int
        assert saving.get_registered_object("Other") is None
    with pytest.raises(ValueError, match="Could not locate class 'Box'"):
        saving.deserialize(cfg)
    assert saving.custom_object_scope is saving.CustomObjectScope


def test_nested_objects_see_top_level_custom_objects():
    outer = Box(1, inner=Box(2, inner=initializers.Orthogonal(gain=3.0)))
    cfg = saving.serialize(outer)
    assert cfg["config"]["inner"]["class_name"] == "Box"
    assert cfg["config"]["inner"]["config"]["inner"]["module"] == "rnnkit.initializers"
    back = saving.deserialize(json.loads(json.dumps(cfg)), custom_objects={"Box": Box})
    assert back.inner.size == 2 and type(back.inner.inner) is initializers.Orthogonal
    assert back.inner.inner.gain == 3.0


# -- built-in modules --------------------------------------------------------------------------

@pytest.mark.parametrize("module", ["keras.initializers", "rnnkit.initializers",
                                    "keras.src.initializers.random_initializers"])
def test_keras_module_names_resolve_to_rnnkit(module):
    cfg = {"module": module, "class_name": "VarianceScaling",
           "config": {"scale": 2.0, "mode": "fan_avg", "distribution": "uniform", "seed": 3},
           "registered_name": None}
    obj = saving.deserialize(cfg)
    assert type(obj) is initializers.VarianceScaling
    assert obj.get_config() == cfg["config"]


def test_keras_regularizer_and_constraint_configs():
    reg = saving.deserialize({"module": "keras.regularizers", "class_name": "L1L2",
                              "config": {"l1": 0.1, "l2": 0.2}, "registered_name": None})
    assert type(reg) is regularizers.L1L2 and (reg.l1, reg.l2) == (0.1, 0.2)
    con = saving.deserialize({"module": "keras.constraints", "class_name": "MaxNorm",
                              "config": {"max_value": 3, "axis": 0}, "registered_name": None})
    assert type(con) is constraints.MaxNorm and con.max_value == 3


def test_unknown_class_error():
    with pytest.raises(ValueError, match="Could not locate class 'Frobnicator'"):
        saving.deserialize({"module": "keras.layers", "class_name": "Frobnicator",
                            "config": {}, "registered_name": None})
    with pytest.raises(ValueError, match="Could not locate function 'nope_fn'"):
        saving.deserialize({"module": "builtins", "class_name": "function",
                            "config": "nope_fn", "registered_name": None})


def test_legacy_config_without_module():
    obj = saving.deserialize({"class_name": "GlorotNormal", "config": {"seed": 1}})
    assert type(obj) is initializers.GlorotNormal and obj.seed == 1


def test_public_module_of_rnnkit_submodule_class():
    pkg = types.ModuleType("rnnkit._savetestpkg")
    sub = types.ModuleType("rnnkit._savetestpkg.deep.impl")

    class Exported(Box):
        pass

    class Hidden(Box):
        pass

    for cls in (Exported, Hidden):
        cls.__module__ = sub.__name__
    pkg.Exported = Exported
    sub.Exported, sub.Hidden = Exported, Hidden
    sys.modules[pkg.__name__], sys.modules[sub.__name__] = pkg, sub
    try:
        cfg = saving.serialize(Exported(2))
        assert cfg["module"] == "rnnkit._savetestpkg" and cfg["registered_name"] is None
        assert type(saving.deserialize(cfg)) is Exported
        cfg = saving.serialize(Hidden(2))
        assert cfg["module"] == "rnnkit._savetestpkg.deep.impl"
        assert type(saving.deserialize(cfg)) is Hidden
    finally:
        del sys.modules[pkg.__name__], sys.modules[sub.__name__]


def test_seed_generator_roundtrip():
    cfg = saving.serialize(rr.SeedGenerator(12))
    assert cfg == {"module": "rnnkit.random", "class_name": "SeedGenerator",
                   "config": {"seed": 12}, "registered_name": None}
    assert isinstance(saving.deserialize(cfg), rr.SeedGenerator)


# -- serialize / deserialize of plain values ---------------------------------------------------

def test_plain_values():
    for v in (None, "s", 3, 2.5, True):
        assert saving.serialize(v) == v and saving.deserialize(v) == v
    assert saving.serialize(np.float32(1.5)) == 1.5 and type(saving.serialize(np.int64(2))) is int
    data = {"a": [1, (2, None)], "b": {"c": "d"}}
    assert saving.serialize(data) == data and saving.deserialize(data) == data
    assert isinstance(saving.serialize((1, 2)), tuple)
    assert saving.serialize(np.dtype("float32")) == "float32"
    assert saving.serialize(np.float32) == "float32"


def test_numpy_bytes_and_unknown_strings():
    arr = np.arange(6, dtype=np.int16).reshape(2, 3)
    cfg = saving.serialize(arr)
    assert cfg["class_name"] == "__numpy__"
    back = saving.deserialize(json.loads(json.dumps(cfg)))
    assert back.dtype == np.int16
    np.testing.assert_array_equal(back, arr)
    assert saving.deserialize(saving.serialize(b"xy")) == b"xy"
    assert saving.deserialize("not-a-registered-name") == "not-a-registered-name"


def test_functions_serialize_to_names():
    def relu_like(x):
        return x

    assert saving.serialize(relu_like) == "relu_like"
    assert saving.serialize(np.tanh) == "tanh"
    assert saving.deserialize("relu_like", custom_objects={"relu_like": relu_like}) is relu_like


def test_lambda_needs_unsafe_mode():
    cfg = saving.serialize(lambda x: x * 3)
    assert cfg["class_name"] == "__lambda__"
    with pytest.raises(ValueError, match="lambda"):
        saving.deserialize(cfg)
    assert saving.deserialize(cfg, safe_mode=False)(2) == 6


def test_not_serializable():
    with pytest.raises(TypeError, match="Cannot serialize"):
        saving.serialize(object())


def test_build_and_compile_config_hooks():
    class Buildable(Box):
        built = False

        def get_build_config(self):
            return {"input_shape": (None, 3)}

        def build_from_config(self, config):
            self.built_with = config
            self.built = True

    cfg = saving.serialize(Buildable(1))
    assert cfg["build_config"] == {"input_shape": (None, 3)}
    back = saving.deserialize(cfg, custom_objects={"Buildable": Buildable})
    assert back.built and back.built_with == {"input_shape": (None, 3)}


def test_aliases_and_utils_reexports():
    assert saving.serialize_keras_object is saving.serialize is saving.serialize_rnnkit_object
    assert saving.deserialize_keras_object is saving.deserialize
    assert saving.deserialize_rnnkit_object is saving.deserialize
    assert utils.register_keras_serializable is saving.register_keras_serializable
    assert utils.custom_object_scope is saving.custom_object_scope
    assert utils.get_registered_object is saving.get_registered_object


def test_from_config_type_error_is_explained():
    class Strict(Box):
        @classmethod
        def from_config(cls, config):
            return cls(**config)

    cfg = saving.serialize(Strict(1))
    cfg["config"]["unexpected"] = 1
    with pytest.raises(TypeError, match="could not be deserialized properly"):
        saving.deserialize(cfg, custom_objects={"Strict": Strict})
