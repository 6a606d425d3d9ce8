"""Random number generation with Keras 3 semantics (`keras.random`), on NumPy.

Every function takes a `seed` argument that is one of:

- `None` (default): draw from the process-wide global stream. Successive calls give different
  values; `rnnkit.utils.set_random_seed(s)` resets the stream, so a program that seeds once is
  reproducible.
- an `int`: the draw is a pure function of the seed, so the same int gives the same values on
  every call (Keras' stateless behaviour). `normal(shape, seed=7)` equals the first draw of
  `normal(shape, seed=SeedGenerator(7))`.
- a `SeedGenerator`: a reproducible stream that advances on each draw.

Internals other modules may use:

- `SeedGenerator.numpy_rng()` advances the generator by one step and returns a fresh
  `numpy.random.Generator` derived from the state it had before the step. Draw everything one
  operation needs (e.g. all dropout masks of one layer call) from that one Generator.
- `numpy_rng(seed)` does the same for any `seed` value accepted by the public functions
  (None -> global stream, int -> the same Generator every time, SeedGenerator -> advances it).
- `draw_seed(seed)` returns the `(seed, counter)` pair that `numpy_rng(seed)` would use.

Unlike Keras, the values themselves are NumPy's, so they never match a Keras backend bit for bit
(the spec notes no re-implementation can; parity tests copy weights instead).
"""

from __future__ import annotations

import itertools
import random as _py_random
import threading

import numpy as np

__all__ = [
    "SeedGenerator",
    "beta",
    "binomial",
    "categorical",
    "draw_seed",
    "dropout",
    "gamma",
    "global_seed_generator",
    "make_default_seed",
    "normal",
    "numpy_rng",
    "randint",
    "shuffle",
    "truncated_normal",
    "uniform",
]

_U64 = 1 << 64
_names = itertools.count()


def _is_int(x):
    return isinstance(x, (int, np.integer)) and not isinstance(x, (bool, np.bool_))


def make_default_seed():
    """A fresh seed from Python's `random` (so `set_random_seed` makes it deterministic)."""
    return _py_random.randint(1, int(1e9))


class SeedGenerator:
    """A reproducible stream of seeds (`keras.random.SeedGenerator`).

    Pass it as the `seed` of any random function (or of a random initializer) to get different
    values on each call that are still reproducible: two generators built with the same int seed
    produce the same sequence of draws.

    Args:
        seed: an int, or None for a seed taken from Python's `random` module.
        name: optional name (kept for Keras compatibility).

    The state is the pair `(seed, counter)` (`self.state`, a uint64 array of shape (2,));
    `next()` returns the current pair and increments the counter.
    """

    def __init__(self, seed=None, name=None, **kwargs):
        if kwargs:
            raise ValueError(f"Unrecognized keyword arguments: {kwargs}")
        self.name = name if name is not None else f"seed_generator_{next(_names)}"
        self._initial_seed = seed
        if seed is None:
            seed = make_default_seed()
        if not _is_int(seed):
            raise ValueError(f"Argument `seed` must be an integer. Received: seed={seed}")
        self._seed = int(seed) % _U64
        self._counter = 0
        self._lock = threading.Lock()

    # -- state -------------------------------------------------------------------------------
    @property
    def state(self):
        """The current `(seed, counter)` pair as a uint64 array (a copy)."""
        return np.array([self._seed, self._counter % _U64], dtype=np.uint64)

    @state.setter
    def state(self, value):
        value = np.asarray(value).reshape(-1)
        if value.shape != (2,):
            raise ValueError(f"A SeedGenerator state has shape (2,); received {value.shape}")
        with self._lock:
            self._seed = int(value[0]) % _U64
            self._counter = int(value[1])

    def next(self, ordered=True):
        """Return the current `(seed, counter)` state (a uint64 array) and advance the stream.

        `ordered` is accepted for Keras compatibility; the stream always advances by one.
        """
        with self._lock:
            current = (self._seed, self._counter)
            self._counter += 1
        return np.array([current[0], current[1] % _U64], dtype=np.uint64)

    def numpy_rng(self):
        """Advance the stream and return a new `numpy.random.Generator` for the pre-step state."""
        return _rng_from_pair(self.next())

    # -- serialization -----------------------------------------------------------------------
    def get_config(self):
        return {"seed": self._initial_seed}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        return f"<SeedGenerator name={self.name!r} seed={self._seed} counter={self._counter}>"


_global_lock = threading.Lock()
_global_generator = None


def global_seed_generator():
    """The process-wide generator behind `seed=None` (created on first use)."""
    global _global_generator
    with _global_lock:
        if _global_generator is None:
            _global_generator = SeedGenerator(name="global_seed_generator")
        return _global_generator


def _set_global_seed(seed):
    """Restart the global stream from `seed` (called by `rnnkit.utils.set_random_seed`)."""
    global _global_generator
    with _global_lock:
        _global_generator = SeedGenerator(seed, name="global_seed_generator")


def draw_seed(seed):
    """The `(seed, counter)` pair (uint64 array) for a `seed` argument; advances generators."""
    if isinstance(seed, SeedGenerator):
        return seed.next()
    if _is_int(seed):
        return np.array([int(seed) % _U64, 0], dtype=np.uint64)
    if seed is None:
        return global_seed_generator().next()
    raise ValueError(
        "Argument `seed` must be either an integer or an instance of `SeedGenerator`. "
        f"Received: seed={seed} (of type {type(seed)})")


def _rng_from_pair(pair):
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(
        [int(pair[0]), int(pair[1])])))


def numpy_rng(seed=None):
    """A `numpy.random.Generator` for a `seed` argument (None, int or SeedGenerator)."""
    return _rng_from_pair(draw_seed(seed))


# -- dtype helpers ---------------------------------------------------------------------------

def _float_dtype(dtype, fn):
    dt = np.dtype("float32" if dtype is None else dtype)
    if dt.kind != "f":
        raise ValueError(
            f"`rnnkit.random.{fn}` requires a floating point `dtype`. Received: dtype={dtype} ")
    return dt


def _int_dtype(dtype, fn):
    dt = np.dtype("int32" if dtype is None else dtype)
    if dt.kind not in "iu":
        raise ValueError(
            f"`rnnkit.random.{fn}` requires an integer `dtype`. Received: dtype={dtype} ")
    return dt


def _shape(shape):
    if _is_int(shape):
        return (int(shape),)
    return tuple(int(s) for s in shape)


def _gen_dtype(dt):
    # Generate in float32 for float32 (and narrower) outputs, float64 otherwise.
    return np.float64 if dt.itemsize > 4 else np.float32


# -- distributions ---------------------------------------------------------------------------

def uniform(shape, minval=0.0, maxval=1.0, dtype=None, seed=None):
    """Samples from U[minval, maxval) (maxval excluded, also after rounding to `dtype`)."""
    dt = _float_dtype(dtype, "uniform")
    rng = numpy_rng(seed)
    gdt = _gen_dtype(dt)
    u = rng.random(_shape(shape), dtype=gdt)
    lo = np.asarray(minval, dtype=gdt)
    hi = np.asarray(maxval, dtype=gdt)
    out = np.asarray(lo + (hi - lo) * u, dtype=dt)
    # Rounding can land exactly on maxval; step back to the largest value below it.
    hi_dt = np.asarray(maxval, dtype=dt)
    lo_dt = np.asarray(minval, dtype=dt)
    np.copyto(out, np.nextafter(hi_dt, lo_dt), where=(out >= hi_dt) & (hi_dt > lo_dt))
    return out


def normal(shape, mean=0.0, stddev=1.0, dtype=None, seed=None):
    """Samples from a normal distribution N(mean, stddev**2)."""
    dt = _float_dtype(dtype, "normal")
    rng = numpy_rng(seed)
    z = rng.standard_normal(_shape(shape), dtype=_gen_dtype(dt))
    return (np.asarray(mean) + np.asarray(stddev) * z).astype(dt)


def _truncated_standard_normal(rng, shape, gdt):
    z = rng.standard_normal(shape, dtype=gdt)
    bad = np.abs(z) > 2.0
    while bad.any():
        z[bad] = rng.standard_normal(int(bad.sum()), dtype=gdt)
        bad = np.abs(z) > 2.0
    return z


def truncated_normal(shape, mean=0.0, stddev=1.0, dtype=None, seed=None):
    """Normal samples, re-drawing any that fall more than two stddevs from the mean.

    The resulting standard deviation is `stddev * 0.8796` (the truncation narrows it).
    """
    dt = _float_dtype(dtype, "truncated_normal")
    rng = numpy_rng(seed)
    z = _truncated_standard_normal(rng, _shape(shape), _gen_dtype(dt))
    return (np.asarray(mean) + np.asarray(stddev) * z).astype(dt)


def randint(shape, minval, maxval, dtype="int32", seed=None):
    """Integers uniform in [minval, maxval)."""
    dt = _int_dtype(dtype, "randint")
    rng = numpy_rng(seed)
    return rng.integers(minval, maxval, size=_shape(shape), dtype=np.int64).astype(dt)


def _concrete_noise_shape(inputs, noise_shape):
    if noise_shape is None:
        return inputs.shape
    noise_shape = tuple(noise_shape)
    if len(noise_shape) != inputs.ndim:
        raise ValueError(
            f"`noise_shape` {noise_shape} must have the same rank as the inputs {inputs.shape}")
    return tuple(inputs.shape[i] if d is None else int(d) for i, d in enumerate(noise_shape))


def dropout(inputs, rate, noise_shape=None, seed=None):
    """Inverted dropout: zero each element with probability `rate`, scale the rest by
    `1 / (1 - rate)`. `noise_shape` (entries None = the input's size) is broadcast to the
    input, so e.g. `(B, 1, D)` drops the same features at every timestep."""
    x = np.asarray(inputs)
    dt = x.dtype if x.dtype.kind == "f" else np.dtype("float32")
    x = x.astype(dt, copy=False)
    rate = float(rate)
    if not 0.0 <= rate <= 1.0:
        raise ValueError(
            f"Invalid value received for argument `rate`. Expected a float value between 0 and 1. "
            f"Received: rate={rate}")
    if rate == 0.0:
        return x.copy()
    if rate == 1.0:
        return np.zeros_like(x)
    keep_prob = 1.0 - rate
    shape = _concrete_noise_shape(x, noise_shape)
    rng = numpy_rng(seed)
    keep = rng.random(shape, dtype=np.float64) < keep_prob
    keep = np.broadcast_to(keep, x.shape)
    return np.where(keep, x / np.asarray(keep_prob, dtype=dt), np.zeros((), dtype=dt)).astype(dt)


def shuffle(x, axis=0, seed=None):
    """A copy of `x` with its entries permuted uniformly at random along `axis`."""
    x = np.asarray(x)
    rng = numpy_rng(seed)
    return rng.permutation(x, axis=axis)


def categorical(logits, num_samples, dtype="int32", seed=None):
    """`num_samples` class indices per row of 2-D `logits` (unnormalized log-probabilities)."""
    logits = np.asarray(logits, dtype=np.float64)
    if logits.ndim != 2:
        raise ValueError(
            "`logits` should be a 2-D tensor with shape [batch_size, num_classes]. "
            f"Received: logits={logits}")
    dt = _int_dtype(dtype, "categorical")
    rng = numpy_rng(seed)
    # Gumbel-max trick: argmax(logits + Gumbel noise) is a categorical sample.
    g = rng.gumbel(size=(logits.shape[0], int(num_samples), logits.shape[1]))
    return np.argmax(logits[:, None, :] + g, axis=-1).astype(dt)


def gamma(shape, alpha, dtype=None, seed=None):
    """Samples from Gamma(alpha, 1)."""
    dt = _float_dtype(dtype, "gamma")
    return numpy_rng(seed).gamma(alpha, 1.0, size=_shape(shape)).astype(dt)


def binomial(shape, counts, probabilities, dtype=None, seed=None):
    """Samples from Binomial(counts, probabilities) (returned as floats, as in Keras)."""
    dt = _float_dtype(dtype, "binomial")
    return numpy_rng(seed).binomial(counts, probabilities, size=_shape(shape)).astype(dt)


def beta(shape, alpha, beta, dtype=None, seed=None):
    """Samples from Beta(alpha, beta)."""
    dt = _float_dtype(dtype, "beta")
    return numpy_rng(seed).beta(alpha, beta, size=_shape(shape)).astype(dt)
