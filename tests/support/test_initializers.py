"""rnnkit.initializers (keras.initializers): values, statistics, seeds, configs, get()."""

import math

import numpy as np
import pytest

from rnnkit import initializers as I
from rnnkit import random as rr
from rnnkit import saving
from rnnkit import utils
from helpers import assert_close  # noqa: E402

ALIASES = {
    "zeros": I.Zeros, "ones": I.Ones, "constant": I.Constant, "uniform": I.RandomUniform,
    "random_uniform": I.RandomUniform, "normal": I.RandomNormal, "random_normal": I.RandomNormal,
    "truncated_normal": I.TruncatedNormal, "variance_scaling": I.VarianceScaling,
    "glorot_uniform": I.GlorotUniform, "glorot_normal": I.GlorotNormal,
    "he_uniform": I.HeUniform, "he_normal": I.HeNormal, "lecun_uniform": I.LecunUniform,
    "lecun_normal": I.LecunNormal, "orthogonal": I.Orthogonal, "identity": I.Identity,
    "one": I.Ones, "zero": I.Zeros,
}
CLASSES = [I.Zeros, I.Ones, I.Constant, I.RandomUniform, I.RandomNormal, I.TruncatedNormal,
           I.VarianceScaling, I.GlorotUniform, I.GlorotNormal, I.HeUniform, I.HeNormal,
           I.LecunUniform, I.LecunNormal, I.Orthogonal, I.Identity]
RANDOM_CLASSES = [I.RandomUniform, I.RandomNormal, I.TruncatedNormal, I.VarianceScaling,
                  I.GlorotUniform, I.GlorotNormal, I.HeUniform, I.HeNormal, I.LecunUniform,
                  I.LecunNormal, I.Orthogonal]
TRUNC_STD = 0.87962566103423978


@pytest.mark.parametrize("name", sorted(ALIASES))
def test_get_string_alias(name):
    init = I.get(name)
    assert type(init) is ALIASES[name]
    w = init((4, 4))
    assert w.shape == (4, 4) and w.dtype == np.float32


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_get_class_name_and_lowercase_alias(cls):
    assert type(I.get(cls.__name__)) is cls
    snake = {"RandomUniform": "random_uniform", "RandomNormal": "random_normal",
             "TruncatedNormal": "truncated_normal", "VarianceScaling": "variance_scaling",
             "GlorotUniform": "glorot_uniform", "GlorotNormal": "glorot_normal",
             "HeUniform": "he_uniform", "HeNormal": "he_normal", "LecunUniform": "lecun_uniform",
             "LecunNormal": "lecun_normal"}.get(cls.__name__, cls.__name__.lower())
    assert getattr(I, snake) is cls


def test_legacy_class_aliases():
    assert I.OrthogonalInitializer is I.Orthogonal and I.IdentityInitializer is I.Identity
    assert type(I.get("OrthogonalInitializer")) is I.Orthogonal


def test_get_other_identifiers():
    assert I.get(None) is None
    inst = I.RandomNormal(stddev=3.0)
    assert I.get(inst) is inst
    assert type(I.get(I.HeNormal)) is I.HeNormal

    def fn(shape, dtype=None):
        return np.full(shape, 7.0)

    assert I.get(fn) is fn
    got = I.get({"class_name": "RandomUniform", "config": {"minval": 1.0, "maxval": 2.0}})
    assert type(got) is I.RandomUniform and (got.minval, got.maxval) == (1.0, 2.0)
    got = I.get({"module": "keras.initializers", "class_name": "GlorotNormal",
                 "config": {"seed": 4}, "registered_name": None})
    assert type(got) is I.GlorotNormal and got.seed == 4


@pytest.mark.parametrize("bad", ["nope", "glorot", 5])
def test_get_unknown_identifier(bad):
    with pytest.raises(ValueError, match=f"Could not interpret initializer identifier: {bad}"):
        I.get(bad)


def test_get_unknown_dict():
    with pytest.raises(ValueError, match="Could not interpret initializer identifier"):
        I.get({"class_name": "NoSuchInit", "config": {}})


# -- constant initializers ---------------------------------------------------------------------

def test_zeros_ones_constant():
    np.testing.assert_array_equal(I.Zeros()((2, 3)), np.zeros((2, 3)))
    np.testing.assert_array_equal(I.Ones()((3,)), np.ones(3))
    w = I.Constant(2.5)((2, 2), dtype="float64")
    assert w.dtype == np.float64
    np.testing.assert_array_equal(w, 2.5)
    np.testing.assert_array_equal(I.Constant([1.0, 2.0])((3, 2)), [[1, 2]] * 3)
    assert I.Zeros()((2,), dtype="int32").dtype == np.int32
    assert I.Constant()((1,))[0] == 0.0


def test_identity():
    np.testing.assert_array_equal(I.Identity()((3, 3)), np.eye(3))
    np.testing.assert_array_equal(I.Identity(gain=2.0)((2, 4)), 2 * np.eye(2, 4))
    assert I.Identity()((3, 3)).dtype == np.float32
    with pytest.raises(ValueError, match="can only be used for 2D matrices"):
        I.Identity()((2, 2, 2))
    with pytest.raises(ValueError, match=r"Received: shape=\(3,\) of rank 1"):
        I.Identity()((3,))


# -- statistics --------------------------------------------------------------------------------

def test_random_uniform_stats():
    w = I.RandomUniform(minval=-0.3, maxval=0.1, seed=1)((400, 500))
    assert w.dtype == np.float32 and w.shape == (400, 500)
    assert w.min() >= -0.3 and w.max() < 0.1
    assert w.min() < -0.299 and w.max() > 0.099
    assert abs(w.mean() + 0.1) < 0.002
    assert abs(w.std() - 0.4 / math.sqrt(12)) < 0.002
    w = I.RandomUniform()((1000,))
    assert np.abs(w).max() <= 0.05


def test_random_normal_stats():
    w = I.RandomNormal(mean=0.5, stddev=2.0, seed=2)((400, 500))
    assert abs(w.mean() - 0.5) < 0.02 and abs(w.std() - 2.0) < 0.02
    assert abs(I.RandomNormal()((400, 500)).std() - 0.05) < 0.001


def test_truncated_normal_stats():
    w = I.TruncatedNormal(mean=1.0, stddev=0.5, seed=3)((400, 500))
    assert np.abs(w - 1.0).max() <= 1.0 + 1e-6
    assert abs(w.mean() - 1.0) < 0.005
    assert abs(w.std() - 0.5 * TRUNC_STD) < 0.003


@pytest.mark.parametrize("shape,expected", [
    ((), (1, 1)), ((7,), (7, 7)), ((3, 5), (3, 5)), ((3, 3, 16, 32), (144, 288)),
    ((4, 2, 6), (8, 24)),
])
def test_compute_fans(shape, expected):
    assert I.compute_fans(shape) == expected


@pytest.mark.parametrize("mode", ["fan_in", "fan_out", "fan_avg"])
@pytest.mark.parametrize("distribution", ["uniform", "truncated_normal", "untruncated_normal"])
def test_variance_scaling_stats(mode, distribution):
    shape = (300, 700)
    n = {"fan_in": 300, "fan_out": 700, "fan_avg": 500}[mode]
    scale = 2.5
    w = I.VarianceScaling(scale, mode, distribution, seed=4)(shape)
    target_std = math.sqrt(scale / n)
    assert abs(w.std() - target_std) / target_std < 0.01
    assert abs(w.mean()) < 0.01 * target_std * 10
    if distribution == "uniform":
        limit = math.sqrt(3 * scale / n)
        assert np.abs(w).max() <= limit and np.abs(w).max() > 0.99 * limit
    elif distribution == "truncated_normal":
        assert np.abs(w).max() <= 2 * target_std / TRUNC_STD * (1 + 1e-6)
    else:
        assert np.abs(w).max() > 2 * target_std / TRUNC_STD  # not truncated


def test_variance_scaling_conv_shape_uses_receptive_field():
    w = I.VarianceScaling(1.0, "fan_in", "untruncated_normal", seed=0)((3, 3, 64, 128))
    assert abs(w.std() - math.sqrt(1 / (9 * 64))) < 0.002


def test_variance_scaling_normal_means_truncated():
    assert I.VarianceScaling(distribution="normal").distribution == "truncated_normal"
    assert I.VarianceScaling(distribution="Uniform").distribution == "uniform"


@pytest.mark.parametrize("kwargs,msg", [
    ({"scale": 0.0}, "Argument `scale` must be positive float. Received: scale=0.0"),
    ({"scale": -1}, "Argument `scale` must be positive float"),
    ({"mode": "fan_sum"}, "Invalid `mode` argument: fan_sum"),
    ({"distribution": "cauchy"}, "Invalid `distribution` argument: cauchy"),
])
def test_variance_scaling_validation(kwargs, msg):
    with pytest.raises(ValueError, match=msg):
        I.VarianceScaling(**kwargs)


# (class, mode, distribution, scale) of the fixed variance-scaling initializers
FIXED = [(I.GlorotUniform, "fan_avg", "uniform", 1.0), (I.GlorotNormal, "fan_avg", "t", 1.0),
         (I.HeUniform, "fan_in", "uniform", 2.0), (I.HeNormal, "fan_in", "t", 2.0),
         (I.LecunUniform, "fan_in", "uniform", 1.0), (I.LecunNormal, "fan_in", "t", 1.0)]


@pytest.mark.parametrize("cls,mode,dist,scale", FIXED, ids=[f[0].__name__ for f in FIXED])
def test_fixed_variance_scaling_initializers(cls, mode, dist, scale):
    fan_in, fan_out = 200, 800
    n = {"fan_in": fan_in, "fan_avg": (fan_in + fan_out) / 2}[mode]
    w = cls(seed=5)((fan_in, fan_out))
    std = math.sqrt(scale / n)
    assert abs(w.std() - std) / std < 0.01
    if dist == "uniform":
        assert np.abs(w).max() <= math.sqrt(3 * scale / n)
    else:
        assert np.abs(w).max() <= 2 * std / TRUNC_STD * (1 + 1e-6)
    assert cls().get_config() == {"seed": None}
    assert isinstance(cls(), I.VarianceScaling)


def test_glorot_uniform_lstm_limit_from_spec():
    # spec 1.5: LSTM D=6, U=8 -> kernel (6, 32), L = sqrt(6/38)
    w = I.GlorotUniform(seed=0)((6, 32))
    limit = math.sqrt(6 / 38)
    assert np.abs(w).max() <= limit and np.abs(w).max() > 0.9 * limit


# -- orthogonal --------------------------------------------------------------------------------

@pytest.mark.parametrize("units", [1, 3, 8, 64])
def test_orthogonal_recurrent_kernel_rows_orthonormal(units):
    w = I.Orthogonal(seed=units)((units, 4 * units))
    assert w.shape == (units, 4 * units) and w.dtype == np.float32
    assert_close(w @ w.T, np.eye(units), atol=1e-5)


@pytest.mark.parametrize("n", [1, 5, 32])
def test_orthogonal_square_is_fully_orthogonal(n):
    w = I.Orthogonal(seed=n)((n, n)).astype(np.float64)
    assert_close(w @ w.T, np.eye(n), atol=1e-5)
    assert_close(w.T @ w, np.eye(n), atol=1e-5)


def test_orthogonal_tall_has_orthonormal_columns_and_gain():
    w = I.Orthogonal(gain=2.0, seed=1)((40, 10), dtype="float64")
    assert w.dtype == np.float64
    assert_close(w.T @ w, 4.0 * np.eye(10), atol=1e-10)


def test_orthogonal_higher_rank_flattens_leading_dims():
    w = I.Orthogonal(seed=2)((3, 4, 5))
    flat = w.reshape(12, 5)
    assert_close(flat.T @ flat, np.eye(5), atol=1e-5)
    w = I.Orthogonal(seed=2)((2, 2, 8))
    flat = w.reshape(4, 8)
    assert_close(flat @ flat.T, np.eye(4), atol=1e-5)


def test_orthogonal_is_not_trivial_and_needs_2d():
    w = I.Orthogonal(seed=3)((6, 6))
    assert not np.allclose(np.abs(w), np.eye(6))
    assert not np.allclose(w, I.Orthogonal(seed=4)((6, 6)))
    with pytest.raises(ValueError, match="at least two-dimensional"):
        I.Orthogonal()((5,))


def test_orthogonal_sign_convention_is_haar_like():
    # With the sign fix, the diagonal of many draws has no sign bias.
    diag = np.stack([np.diag(I.Orthogonal(seed=s)((4, 4))) for s in range(400)])
    assert abs((diag > 0).mean() - 0.5) < 0.06


# -- seeds -------------------------------------------------------------------------------------

@pytest.mark.parametrize("cls", RANDOM_CLASSES, ids=lambda c: c.__name__)
def test_int_seed_same_values_every_call(cls):
    a = cls(seed=123)
    np.testing.assert_array_equal(a((5, 7)), a((5, 7)))
    np.testing.assert_array_equal(a((5, 7)), cls(seed=123)((5, 7)))
    assert not np.array_equal(a((5, 7)), cls(seed=124)((5, 7)))


@pytest.mark.parametrize("cls", RANDOM_CLASSES, ids=lambda c: c.__name__)
def test_unseeded_varies_and_set_random_seed_reproduces(cls):
    init = cls()
    assert not np.array_equal(init((5, 7)), init((5, 7)))
    utils.set_random_seed(99)
    first = cls()((5, 7))
    utils.set_random_seed(99)
    np.testing.assert_array_equal(cls()((5, 7)), first)


def test_seed_generator_seed_advances_reproducibly():
    a = I.GlorotUniform(seed=rr.SeedGenerator(8))
    b = I.GlorotUniform(seed=rr.SeedGenerator(8))
    a1, a2 = a((4, 4)), a((4, 4))
    assert not np.array_equal(a1, a2)
    np.testing.assert_array_equal(b((4, 4)), a1)
    np.testing.assert_array_equal(b((4, 4)), a2)


@pytest.mark.parametrize("bad", ["1", 1.5, [1]])
def test_bad_seed(bad):
    with pytest.raises(ValueError, match="`seed` argument should be an instance of"):
        I.RandomNormal(seed=bad)


def test_random_initializer_rejects_int_dtype():
    with pytest.raises(ValueError, match="floating point"):
        I.RandomUniform()((2,), dtype="int32")
    with pytest.raises(ValueError, match="floating point"):
        I.Orthogonal()((2, 2), dtype="int32")


# -- configs -----------------------------------------------------------------------------------

CONFIG_CASES = [
    (I.Zeros(), {}), (I.Ones(), {}), (I.Constant(3.0), {"value": 3.0}),
    (I.Identity(gain=0.5), {"gain": 0.5}),
    (I.RandomUniform(-1.0, 2.0, seed=1), {"seed": 1, "minval": -1.0, "maxval": 2.0}),
    (I.RandomNormal(0.1, 0.2, seed=2), {"seed": 2, "mean": 0.1, "stddev": 0.2}),
    (I.TruncatedNormal(stddev=0.3), {"seed": None, "mean": 0.0, "stddev": 0.3}),
    (I.VarianceScaling(2.0, "fan_out", "uniform", seed=3),
     {"seed": 3, "scale": 2.0, "mode": "fan_out", "distribution": "uniform"}),
    (I.GlorotUniform(), {"seed": None}), (I.GlorotNormal(seed=4), {"seed": 4}),
    (I.HeUniform(), {"seed": None}), (I.HeNormal(), {"seed": None}),
    (I.LecunUniform(), {"seed": None}), (I.LecunNormal(), {"seed": None}),
    (I.Orthogonal(gain=1.5, seed=5), {"seed": 5, "gain": 1.5}),
]


@pytest.mark.parametrize("init,config", CONFIG_CASES, ids=lambda x: type(x).__name__)
def test_get_config_keys_and_roundtrip(init, config):
    assert init.get_config() == config
    clone = type(init).from_config(init.get_config())
    assert type(clone) is type(init) and clone.get_config() == config
    ser = I.serialize(init)
    assert ser == {"module": "rnnkit.initializers", "class_name": type(init).__name__,
                   "config": config, "registered_name": None}
    back = I.deserialize(ser)
    assert type(back) is type(init) and back.get_config() == config
    if config.get("seed") is not None or "seed" not in config:
        np.testing.assert_array_equal(back((3, 3)), init((3, 3)))
    assert type(init.clone()) is type(init)


def test_serialize_glorot_uniform_exact():
    assert I.serialize(I.GlorotUniform()) == {
        "module": "rnnkit.initializers", "class_name": "GlorotUniform",
        "config": {"seed": None}, "registered_name": None}


def test_seed_generator_seed_serializes():
    init = I.RandomNormal(seed=rr.SeedGenerator(6))
    cfg = init.get_config()["seed"]
    assert cfg["class_name"] == "SeedGenerator" and cfg["config"] == {"seed": 6}
    back = I.deserialize(I.serialize(init))
    assert isinstance(back.seed, rr.SeedGenerator)
    np.testing.assert_array_equal(back((3,)), I.RandomNormal(seed=rr.SeedGenerator(6))((3,)))


def test_constant_array_value_roundtrip():
    init = I.Constant(np.array([1.0, -2.0]))
    back = I.deserialize(saving.serialize(init))
    np.testing.assert_array_equal(back((2, 2)), [[1.0, -2.0], [1.0, -2.0]])


def test_deserialize_string_name():
    assert type(I.deserialize("he_normal")) is I.HeNormal


def test_custom_initializer_class_via_get_and_registry():
    @saving.register_keras_serializable(package="TestInit")
    class Halves(I.Initializer):
        def __call__(self, shape, dtype=None):
            return np.full(shape, 0.5, dtype=dtype or "float32")

    assert type(I.get("TestInit>Halves")) is Halves
    back = I.deserialize(I.serialize(Halves()))
    assert type(back) is Halves
    np.testing.assert_array_equal(back((2,)), [0.5, 0.5])
