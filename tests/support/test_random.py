"""rnnkit.random (keras.random) and rnnkit.utils: seeding, distributions, dropout, helpers."""

import random as py_random

import numpy as np
import pytest

from rnnkit import random as rr
from rnnkit import utils
from helpers import assert_close  # noqa: E402

N = 200_000  # large draws for the statistics checks


# -- SeedGenerator -----------------------------------------------------------------------------

def test_seed_generator_same_seed_same_stream():
    a, b = rr.SeedGenerator(42), rr.SeedGenerator(42)
    xs = [rr.normal((5,), seed=a) for _ in range(3)]
    ys = [rr.normal((5,), seed=b) for _ in range(3)]
    for x, y in zip(xs, ys):
        np.testing.assert_array_equal(x, y)
    assert not np.array_equal(xs[0], xs[1])  # the stream advances
    assert not np.array_equal(xs[1], xs[2])


def test_seed_generator_next_and_state():
    g = rr.SeedGenerator(7)
    np.testing.assert_array_equal(g.state, [7, 0])
    np.testing.assert_array_equal(g.next(), [7, 0])
    np.testing.assert_array_equal(g.next(), [7, 1])
    np.testing.assert_array_equal(g.state, [7, 2])
    g.state = [7, 0]
    np.testing.assert_array_equal(g.next(), [7, 0])


def test_seed_generator_numpy_rng_advances_and_is_reproducible():
    g1, g2 = rr.SeedGenerator(3), rr.SeedGenerator(3)
    r1, r1b = g1.numpy_rng(), g1.numpy_rng()
    assert isinstance(r1, np.random.Generator)
    v1, v1b = r1.random(4), r1b.random(4)
    assert not np.array_equal(v1, v1b)
    np.testing.assert_array_equal(g2.numpy_rng().random(4), v1)
    np.testing.assert_array_equal(rr.numpy_rng(3).random(4), v1)  # int seed == first step


def test_first_generator_draw_equals_int_seed():
    np.testing.assert_array_equal(rr.normal((3, 4), seed=11),
                                  rr.normal((3, 4), seed=rr.SeedGenerator(11)))


def test_seed_generator_config_roundtrip_and_errors():
    g = rr.SeedGenerator(5)
    assert g.get_config() == {"seed": 5}
    g2 = rr.SeedGenerator.from_config(g.get_config())
    np.testing.assert_array_equal(rr.uniform((3,), seed=g), rr.uniform((3,), seed=g2))
    assert rr.SeedGenerator().get_config() == {"seed": None}
    with pytest.raises(ValueError, match="must be an integer"):
        rr.SeedGenerator("abc")
    with pytest.raises(ValueError, match="Unrecognized keyword"):
        rr.SeedGenerator(1, foo=2)


def test_unseeded_generators_differ():
    assert not np.array_equal(rr.normal((8,), seed=rr.SeedGenerator()),
                              rr.normal((8,), seed=rr.SeedGenerator()))


# -- seed semantics of the module functions ----------------------------------------------------

DRAWS = {
    "uniform": lambda seed: rr.uniform((4, 3), seed=seed),
    "normal": lambda seed: rr.normal((4, 3), seed=seed),
    "truncated_normal": lambda seed: rr.truncated_normal((4, 3), seed=seed),
    "randint": lambda seed: rr.randint((4, 3), 0, 1000, seed=seed),
    "dropout": lambda seed: rr.dropout(np.ones((4, 30), np.float32), 0.5, seed=seed),
    "shuffle": lambda seed: rr.shuffle(np.arange(50), seed=seed),
    "categorical": lambda seed: rr.categorical(np.zeros((2, 10)), 20, seed=seed),
    "gamma": lambda seed: rr.gamma((5,), 2.0, seed=seed),
    "binomial": lambda seed: rr.binomial((5,), 100, 0.5, seed=seed),
    "beta": lambda seed: rr.beta((5,), 2.0, 3.0, seed=seed),
}


@pytest.mark.parametrize("name", sorted(DRAWS))
def test_int_seed_repeats_generator_advances_none_varies(name):
    draw = DRAWS[name]
    np.testing.assert_array_equal(draw(123), draw(123))
    assert not np.array_equal(draw(123), draw(124))
    g = rr.SeedGenerator(9)
    assert not np.array_equal(draw(g), draw(g))
    assert not np.array_equal(draw(None), draw(None))


@pytest.mark.parametrize("name", sorted(DRAWS))
def test_set_random_seed_makes_unseeded_draws_reproducible(name):
    draw = DRAWS[name]
    utils.set_random_seed(2024)
    first = [draw(None), draw(None)]
    utils.set_random_seed(2024)
    second = [draw(None), draw(None)]
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(first[0], first[1])
    utils.set_random_seed(2025)
    assert not np.array_equal(draw(None), first[0])


def test_set_random_seed_seeds_python_and_numpy_globals():
    utils.set_random_seed(77)
    a = (py_random.random(), np.random.rand())
    g_a = rr.normal((3,), seed=rr.SeedGenerator())  # default seed comes from Python's random
    utils.set_random_seed(77)
    b = (py_random.random(), np.random.rand())
    g_b = rr.normal((3,), seed=rr.SeedGenerator())
    assert a == b
    np.testing.assert_array_equal(g_a, g_b)
    assert utils.get_random_seed() == 77


@pytest.mark.parametrize("bad", [1.5, "3", None, True])
def test_set_random_seed_rejects_non_int(bad):
    with pytest.raises(ValueError, match="Expected `seed` argument to be an integer"):
        utils.set_random_seed(bad)


@pytest.mark.parametrize("bad", [1.5, "x", [1]])
def test_bad_seed_argument(bad):
    with pytest.raises(ValueError, match="Argument `seed` must be either an integer"):
        rr.normal((2,), seed=bad)


def test_numpy_integer_seed_accepted():
    np.testing.assert_array_equal(rr.normal((3,), seed=np.int64(5)), rr.normal((3,), seed=5))


# -- distributions -----------------------------------------------------------------------------

def test_uniform_bounds_moments_and_dtype():
    x = rr.uniform((N,), minval=-2.0, maxval=3.0, seed=1)
    assert x.dtype == np.float32 and x.shape == (N,)
    assert x.min() >= -2.0 and x.max() < 3.0
    assert abs(x.mean() - 0.5) < 0.02
    assert abs(x.std() - 5.0 / np.sqrt(12.0)) < 0.01
    y = rr.uniform((2, 3), dtype="float64", seed=1)
    assert y.dtype == np.float64 and y.shape == (2, 3)
    assert rr.uniform(()).shape == ()
    assert rr.uniform(4).shape == (4,)


def test_uniform_never_reaches_maxval_after_rounding():
    hi = np.float32(1.0) + np.spacing(np.float32(1.0))
    x = rr.uniform((10_000,), minval=1.0, maxval=float(hi), seed=0)
    assert (x < hi).all() and (x >= 1.0).all()


@pytest.mark.parametrize("fn", [rr.uniform, rr.normal, rr.truncated_normal])
def test_float_distributions_reject_int_dtype(fn):
    with pytest.raises(ValueError, match="requires a floating point `dtype`"):
        fn((2,), dtype="int32")


def test_normal_moments():
    x = rr.normal((N,), mean=1.5, stddev=2.0, seed=2)
    assert x.dtype == np.float32
    assert abs(x.mean() - 1.5) < 0.03
    assert abs(x.std() - 2.0) < 0.02
    assert np.abs(x - 1.5).max() > 4.0  # genuinely untruncated


def test_truncated_normal_bounds_and_std():
    x = rr.truncated_normal((N,), mean=-1.0, stddev=0.5, seed=3)
    assert x.dtype == np.float32
    assert np.abs(x + 1.0).max() <= 1.0 + 1e-6  # within 2 stddevs
    assert np.abs(x + 1.0).max() > 0.99  # and reaching close to the edge
    assert abs(x.mean() + 1.0) < 0.01
    assert abs(x.std() - 0.5 * 0.87962566) < 0.005


def test_randint_range_and_dtype():
    x = rr.randint((N,), minval=-3, maxval=4, seed=4)
    assert x.dtype == np.int32
    assert x.min() == -3 and x.max() == 3
    counts = np.bincount(x + 3)
    assert (np.abs(counts / N - 1 / 7) < 0.01).all()
    assert rr.randint((3,), 0, 5, dtype="int64").dtype == np.int64
    with pytest.raises(ValueError, match="requires an integer `dtype`"):
        rr.randint((3,), 0, 5, dtype="float32")


def test_categorical_frequencies_follow_softmax():
    logits = np.log(np.array([[0.2, 0.5, 0.3], [0.9, 0.05, 0.05]]))
    s = rr.categorical(logits, 50_000, seed=5)
    assert s.shape == (2, 50_000) and s.dtype == np.int32
    freq = np.stack([np.bincount(row, minlength=3) / row.size for row in s])
    assert_close(freq, np.exp(logits), atol=0.01)
    with pytest.raises(ValueError, match="2-D"):
        rr.categorical(np.zeros(3), 2)


def test_gamma_binomial_beta_means():
    assert abs(rr.gamma((N,), 3.0, seed=1).mean() - 3.0) < 0.05
    b = rr.binomial((N,), 10, 0.3, seed=1)
    assert b.dtype == np.float32 and abs(b.mean() - 3.0) < 0.03
    assert abs(rr.beta((N,), 2.0, 6.0, seed=1).mean() - 0.25) < 0.01


# -- dropout and shuffle -----------------------------------------------------------------------

def test_dropout_rate_and_inverted_scaling():
    x = np.full((400, 500), 2.0, np.float32)
    y = rr.dropout(x, 0.3, seed=6)
    assert y.dtype == np.float32 and y.shape == x.shape
    kept = y != 0
    assert abs(1 - kept.mean() - 0.3) < 0.01
    assert_close(y[kept], 2.0 / 0.7, rtol=1e-6)
    assert abs(y.mean() - 2.0) < 0.02  # expectation preserved
    np.testing.assert_array_equal(x, 2.0)  # input untouched


def test_dropout_noise_shape_broadcasts():
    x = np.ones((8, 5, 6), np.float64)
    y = rr.dropout(x, 0.5, noise_shape=(None, 1, 6), seed=7)
    assert y.dtype == np.float64
    for t in range(1, 5):
        np.testing.assert_array_equal(y[:, t], y[:, 0])  # same mask at every timestep
    assert (y[:, 0] == 0).any() and (y[:, 0] == 2.0).any()
    with pytest.raises(ValueError, match="same rank"):
        rr.dropout(x, 0.5, noise_shape=(8, 6))


def test_dropout_edge_rates():
    x = np.arange(6, dtype=np.float32).reshape(2, 3)
    np.testing.assert_array_equal(rr.dropout(x, 0.0), x)
    np.testing.assert_array_equal(rr.dropout(x, 1.0), np.zeros_like(x))
    with pytest.raises(ValueError, match="between 0 and 1"):
        rr.dropout(x, 1.5)


def test_shuffle_permutes_along_axis():
    x = np.arange(40).reshape(10, 4)
    y = rr.shuffle(x, seed=8)
    assert sorted(map(tuple, y)) == sorted(map(tuple, x))  # rows intact
    assert not np.array_equal(x, y)
    z = rr.shuffle(x, axis=1, seed=8)
    np.testing.assert_array_equal(np.sort(z, axis=1), x)
    assert not np.array_equal(x, z)


# -- utils -------------------------------------------------------------------------------------

def test_to_categorical():
    y = utils.to_categorical([0, 2, 1, 2])
    np.testing.assert_array_equal(y, np.eye(3, dtype=np.float32)[[0, 2, 1, 2]])
    assert y.dtype == np.float32
    assert utils.to_categorical(np.array([[1], [0]]), num_classes=4).shape == (2, 4)
    assert utils.to_categorical(np.zeros((2, 3), int), num_classes=5).shape == (2, 3, 5)


def test_pad_sequences():
    seqs = [[1, 2, 3], [4], [], [5, 6, 7, 8, 9]]
    out = utils.pad_sequences(seqs)
    assert out.dtype == np.int32 and out.shape == (4, 5)
    np.testing.assert_array_equal(out[0], [0, 0, 1, 2, 3])
    np.testing.assert_array_equal(out[2], 0)
    post = utils.pad_sequences(seqs, maxlen=3, padding="post", truncating="post", value=-1)
    np.testing.assert_array_equal(post, [[1, 2, 3], [4, -1, -1], [-1, -1, -1], [5, 6, 7]])
    pre = utils.pad_sequences(seqs, maxlen=2)
    np.testing.assert_array_equal(pre[3], [8, 9])
    with pytest.raises(ValueError, match='Padding type "middle" not understood'):
        utils.pad_sequences(seqs, padding="middle")
    with pytest.raises(ValueError, match='Truncating type "x" not understood'):
        utils.pad_sequences(seqs, truncating="x")
    feat = utils.pad_sequences([np.ones((2, 3)), np.ones((1, 3))], dtype="float32")
    assert feat.shape == (2, 2, 3)
    np.testing.assert_array_equal(feat[1, 0], 0.0)


def test_normalize():
    x = np.array([[3.0, 4.0], [0.0, 0.0]])
    assert_close(utils.normalize(x), [[0.6, 0.8], [0.0, 0.0]])
    assert_close(utils.normalize(x, axis=0), [[1.0, 1.0], [0.0, 0.0]])
