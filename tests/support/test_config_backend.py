"""rnnkit.config, rnnkit.backend and rnnkit.mixed_precision: Keras 3's names, defaults, setters
and errors; floatx used by creation ops, conversions, initializers and layers; the dtype
promotion table against Keras (tests/fixtures/ops/keras_backend.json)."""

import json
import os

import numpy as np
import pytest

import rnnkit as keras
from rnnkit import backend, config, mixed_precision, ops
import paths

FIXTURE = str(paths.FIXTURES / "ops" / "keras_backend.json")
with open(FIXTURE) as _f:
    KERAS = json.load(_f)
PY_TYPES = {"<int>": int, "<float>": float, "<bool>": bool}


@pytest.fixture(autouse=True)
def _restore_settings():
    yield
    config.set_floatx("float32")
    config.set_epsilon(1e-7)
    config.set_image_data_format("channels_last")
    config.set_max_epochs(None)
    config.set_max_steps_per_epoch(None)
    mixed_precision.set_global_policy(None)


def test_defaults_match_keras():
    assert config.floatx() == backend.floatx() == "float32"
    assert config.epsilon() == backend.epsilon() == 1e-7
    assert config.image_data_format() == backend.image_data_format() == "channels_last"
    assert config.backend() == backend.backend() == "numpy"
    assert config.is_interactive_logging_enabled() and config.is_traceback_filtering_enabled()
    assert config.is_flash_attention_enabled() is None and not config.is_nnx_enabled()
    assert config.max_epochs() is None and config.max_steps_per_epoch() is None
    assert keras.version() == keras.__version__


def test_setters_and_their_errors():
    config.set_floatx("float64")
    assert backend.floatx() == "float64"
    backend.set_epsilon(1e-5)
    assert config.epsilon() == 1e-5
    config.set_image_data_format("CHANNELS_FIRST")
    assert backend.image_data_format() == "channels_first"
    with pytest.raises(ValueError, match="floatx"):
        config.set_floatx("int32")
    with pytest.raises(ValueError, match="bfloat16"):
        config.set_floatx("bfloat16")
    with pytest.raises(TypeError, match="set_epsilon"):
        config.set_epsilon("small")
    with pytest.raises(ValueError, match="data_format"):
        config.set_image_data_format("channels_middle")
    with pytest.raises(ValueError, match="numpy"):
        config.set_backend("jax")
    config.set_backend("numpy")
    config.disable_interactive_logging()
    assert not config.is_interactive_logging_enabled()
    config.enable_interactive_logging()
    config.disable_traceback_filtering()
    assert not config.is_traceback_filtering_enabled()
    config.enable_traceback_filtering()
    config.enable_flash_attention()
    assert config.is_flash_attention_enabled() is True
    config.disable_flash_attention()
    assert config.is_flash_attention_enabled() is False
    config.set_max_epochs(3)
    config.set_max_steps_per_epoch(5)
    assert config.max_epochs() == 3 and config.max_steps_per_epoch() == 5
    with pytest.raises(ValueError, match="max_epochs"):
        config.set_max_epochs(0)


def test_floatx_is_the_default_float_dtype():
    config.set_floatx("float64")
    assert ops.zeros((2,)).dtype == np.float64
    assert ops.eye(2).dtype == np.float64
    assert ops.arange(0.5, 2).dtype == np.float64
    assert ops.convert_to_tensor(1.5).dtype == np.float64
    assert ops.one_hot(np.array([1]), 3).dtype == np.float64
    assert keras.initializers.GlorotUniform(seed=1)((2, 3)).dtype == np.float64
    assert keras.Variable(1.0).dtype == "float64"
    assert keras.random.normal((2,), seed=1).dtype == np.float64
    layer = keras.layers.Dense(2)
    layer.build((None, 3))
    assert layer.dtype == "float64" and layer.kernel.dtype == "float64"
    config.set_floatx("float32")
    assert keras.layers.Dense(2).dtype == "float32"


def test_backend_result_type_matches_keras():
    table = KERAS["result_type"]
    for key, want in table.items():
        args = [PY_TYPES.get(a, a) for a in key.split(",")] if key else []
        try:
            got = backend.result_type(*args)
        except ValueError:
            got = "error"
        assert got == want, (key, got, want)


def test_backend_standardize_dtype_and_kinds_match_keras():
    for arg, want in KERAS["standardize_dtype"].items():
        try:
            got = backend.standardize_dtype(PY_TYPES.get(arg, arg))
        except ValueError:
            got = "error"
        assert got == want, (arg, got, want)
    assert backend.standardize_dtype(None) == "float32"
    assert backend.standardize_dtype(np.float64) == "float64"
    assert backend.standardize_dtype(np.dtype("int16")) == "int16"
    for name, want in KERAS["is_float_dtype"].items():
        assert backend.is_float_dtype(name) == want, name
    for name, want in KERAS["is_int_dtype"].items():
        assert backend.is_int_dtype(name) == want, name


def test_get_uid_clear_session_and_is_keras_tensor():
    first = backend.get_uid("test_config_prefix")
    assert backend.get_uid("test_config_prefix") == first + 1
    x = keras.Input((3,))
    assert backend.is_keras_tensor(x) and not backend.is_keras_tensor(np.ones(3))
    backend.clear_session()
    assert backend.get_uid("test_config_prefix") == 1
    assert keras.layers.Dense(1).name == "dense"
    assert keras.layers.Dense(1).name == "dense_1"


def test_dtype_policies():
    p = mixed_precision.DTypePolicy("mixed_float16")
    assert (p.name, p.compute_dtype, p.variable_dtype) == ("mixed_float16", "float16",
                                                           "float32")
    assert repr(p) == '<DTypePolicy "mixed_float16">'
    assert mixed_precision.DTypePolicy.from_config(p.get_config()) == p
    assert mixed_precision.Policy is keras.DTypePolicy is keras.FloatDTypePolicy
    assert mixed_precision.global_policy().name == "float32"
    mixed_precision.set_global_policy("float64")
    assert config.dtype_policy().name == "float64"
    assert keras.layers.Dense(2).dtype == "float64"
    mixed_precision.set_dtype_policy(None)
    assert mixed_precision.dtype_policy() == mixed_precision.DTypePolicy("float32")
    layer = keras.layers.Dense(2, dtype=mixed_precision.DTypePolicy("float64"))
    assert layer.dtype == "float64"
    with pytest.raises(ValueError, match="float16"):
        mixed_precision.set_global_policy("float16")
    with pytest.raises(ValueError, match="float16"):
        config.set_dtype_policy(keras.DTypePolicy("float16"))
    with pytest.raises(ValueError, match="Cannot convert"):
        mixed_precision.DTypePolicy("float8")
    with pytest.raises(TypeError, match="string"):
        mixed_precision.DTypePolicy(32)
    assert mixed_precision.global_policy().name == "float32"
    assert mixed_precision.LossScaleOptimizer is keras.optimizers.LossScaleOptimizer


def test_keras_names_resolve():
    with open(os.path.join(os.path.dirname(FIXTURE), "..", "..", "..", "tools",
                           "keras_names.json")) as f:
        names = json.load(f)["namespaces"]
    for ns, module in [("config", config), ("backend", backend),
                       ("mixed_precision", mixed_precision)]:
        missing = [n for n in names[ns] if getattr(module, n, None) is None]
        assert not missing, (ns, missing)


def test_enable_unsafe_deserialization_turns_the_global_safe_mode_off():
    from rnnkit.saving import serialization_lib
    assert serialization_lib.in_safe_mode()
    try:
        config.enable_unsafe_deserialization()
        assert not serialization_lib.in_safe_mode()
        assert config.is_unsafe_deserialization_enabled()
        with serialization_lib.SafeModeScope(True):
            assert serialization_lib.in_safe_mode()
    finally:
        serialization_lib._GLOBAL_SAFE_MODE[0] = True
        config._SETTINGS["unsafe_deserialization"] = False


def test_dtype_policies_namespace():
    dp = keras.dtype_policies
    assert dp.get("float64") == keras.DTypePolicy("float64")
    assert dp.get(None) == mixed_precision.global_policy()
    config_ = dp.serialize(keras.DTypePolicy("mixed_float16"))
    assert config_ == {"module": "keras", "class_name": "DTypePolicy",
                       "config": {"name": "mixed_float16"}, "registered_name": None}
    assert dp.deserialize(config_).name == "mixed_float16"
    with pytest.raises(ValueError, match="quantized"):
        dp.deserialize({"class_name": "Int4DTypePolicy", "config": {}})
    with pytest.raises(ValueError, match="Cannot interpret"):
        dp.get(3.5)
    policy_map = dp.DTypePolicyMap("float32", {"encoder/dense": "float64", "decoder/.*": "float64"})
    assert policy_map["encoder/dense"].name == "float64"
    assert policy_map["decoder/lstm"].name == "float64"
    assert policy_map["head"].name == "float32"
    with pytest.raises(ValueError, match="already"):
        policy_map["encoder/dense"] = "float32"
    again = dp.deserialize(dp.serialize(policy_map))
    assert again.policy_map == policy_map.policy_map
    assert again.default_policy == policy_map.default_policy
