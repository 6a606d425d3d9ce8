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

from rnnkit import array_library, placement

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
    """Returns a fresh int seed drawn from Python's `random` module.

    `rnnkit.utils.set_random_seed` seeds that module, so the seeds drawn after it are
    reproducible.

    Returns:
        An int in `[1, 1e9]`.
    """
    return _py_random.randint(1, int(1e9))


class SeedGenerator:
    """A reproducible stream of seeds for the random functions.

    Pass it as the `seed` of a random function, a random initializer or a dropout layer to
    get different values on each call that are still reproducible: two generators built with
    the same int seed produce the same sequence of draws. The state is the pair
    `(seed, counter)` (`state`, a uint64 array of shape `(2,)`); each draw takes the current
    pair and increments the counter.

    Args:
        seed: Optional int. `None` (the default) takes a seed from Python's `random` module
            (see `make_default_seed`).
        name: Optional name, kept for Keras compatibility.
        **kwargs: Any keyword raises `ValueError`.

    Raises:
        ValueError: If `seed` is not an int or `None`, or for an unknown keyword.

    Example:

    >>> import numpy as np, rnnkit as keras
    >>> a, b = keras.random.SeedGenerator(42), keras.random.SeedGenerator(42)
    >>> x1, x2 = keras.random.normal((2,), seed=a), keras.random.normal((2,), seed=a)
    >>> bool(np.array_equal(x1, x2))
    False
    >>> bool(np.array_equal(x1, keras.random.normal((2,), seed=b)))
    True
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
        """The current `(seed, counter)` pair as a uint64 array of shape `(2,)` (a copy).

        Assigning a pair of the same form restores a saved state.
        """
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
        """Returns the current `(seed, counter)` state and advances the stream by one.

        Args:
            ordered: Accepted for Keras compatibility; ignored.

        Returns:
            A uint64 array of shape `(2,)`.
        """
        with self._lock:
            current = (self._seed, self._counter)
            self._counter += 1
        return np.array([current[0], current[1] % _U64], dtype=np.uint64)

    def numpy_rng(self):
        """Advances the stream and returns a NumPy generator for the state before the step.

        Draw everything one operation needs (e.g. all the dropout masks of one layer call)
        from that one generator.

        Returns:
            A new `numpy.random.Generator`.
        """
        return _rng_from_pair(self.next())

    # -- serialization -----------------------------------------------------------------------
    def get_config(self):
        """Returns `{"seed": ...}`, the seed given to the constructor."""
        return {"seed": self._initial_seed}

    @classmethod
    def from_config(cls, config):
        """Creates a generator from `get_config()` (it restarts at counter 0)."""
        return cls(**config)

    def __repr__(self):
        return f"<SeedGenerator name={self.name!r} seed={self._seed} counter={self._counter}>"


_global_lock = threading.Lock()
_global_generator = None


def global_seed_generator():
    """Returns the process-wide `SeedGenerator` behind `seed=None`.

    It is created on first use and replaced by `rnnkit.utils.set_random_seed`.
    """
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
    """Returns the `(seed, counter)` pair a draw with this `seed` argument uses.

    Args:
        seed: `None` (the global stream, which advances), an int (the pair `(seed, 0)`) or
            a `SeedGenerator` (which advances).

    Returns:
        A uint64 array of shape `(2,)`.

    Raises:
        ValueError: For any other `seed`.
    """
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
    """Returns a NumPy random generator for a `seed` argument.

    An int gives the same generator state on every call; `None` and a `SeedGenerator`
    advance their stream.

    Args:
        seed: `None`, an int or a `SeedGenerator`.

    Returns:
        A new `numpy.random.Generator`.

    Raises:
        ValueError: If `seed` is of another type.
    """
    return _rng_from_pair(draw_seed(seed))


def _rng_on(library, index, seed):
    """A generator drawing on device `index` of `library` (NumPy's for the host), from the
    `(seed, counter)` pair `numpy_rng` would use."""
    pair = draw_seed(seed)
    if library is array_library.NUMPY:
        return _rng_from_pair(pair)
    return library.rng([int(pair[0]), int(pair[1])], index)


def _current_device_rng(seed):
    """NumPy's generator on the CPU; inside `rnnkit.device(...)` of another device, that
    device's generator (the draws land there)."""
    where = placement.current_device()
    if where == "cpu:0":
        return numpy_rng(seed)
    return _rng_on(array_library.library_for_device(where),
                   placement.parse_device_name(where)[1], seed)


def device_rng(seed, like):
    """A random generator that draws on the device of the array `like` (NumPy's generator
    for host arrays), from the same `(seed, counter)` pair `numpy_rng` would use.

    Args:
        seed: `None`, an int or a `SeedGenerator` (which advances).
        like: An array; its device is where the draws land.

    Returns:
        An object with NumPy Generator's drawing methods (`random`, `standard_normal`, ...)
        returning arrays of `like`'s library.
    """
    library = array_library.library_of(like)
    index = 0 if library is array_library.NUMPY else library.device_index(like)
    return _rng_on(library, index, seed)


# -- dtype helpers ---------------------------------------------------------------------------

def _float_dtype(dtype, fn):
    dt = np.dtype(__import__("rnnkit.config").config.floatx() if dtype is None else dtype)
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
    """Draws samples from a uniform distribution on `[minval, maxval)`.

    Args:
        shape: An int or a tuple of ints.
        minval: Float, the lower bound. Defaults to 0.
        maxval: Float, the upper bound (excluded, also after rounding to `dtype`).
            Defaults to 1.
        dtype: Optional floating dtype. Defaults to float32.
        seed: `None` (the global stream), an int (the same values on every call) or a
            `SeedGenerator` (a reproducible stream that advances on each call).

    Returns:
        A NumPy array of `shape` and `dtype`.

    Raises:
        ValueError: If `dtype` is not a floating dtype.

    Example:

    >>> import rnnkit as keras
    >>> x = keras.random.uniform((2, 3), seed=1)
    >>> x.shape, x.dtype, bool(((x >= 0) & (x < 1)).all())
    ((2, 3), dtype('float32'), True)
    """
    dt = _float_dtype(dtype, "uniform")
    rng = _current_device_rng(seed)
    gdt = _gen_dtype(dt)
    u = rng.random(_shape(shape), dtype=gdt)
    lo = np.asarray(minval, dtype=gdt)
    hi = np.asarray(maxval, dtype=gdt)
    if type(u) is not np.ndarray:       # device draws: the bounds as NumPy scalars
        lo, hi = lo[()], hi[()]
    out = array_library.as_array(lo + (hi - lo) * u, dtype=dt)
    # Rounding can land exactly on maxval; step back to the largest value below it.
    hi_dt = np.asarray(maxval, dtype=dt)
    lo_dt = np.asarray(minval, dtype=dt)
    if type(out) is not np.ndarray:
        if hi_dt > lo_dt:    # host scalars: the bounds were given as numbers
            out = np.where(out >= hi_dt[()], np.nextafter(hi_dt, lo_dt)[()], out)
        return out
    np.copyto(out, np.nextafter(hi_dt, lo_dt), where=(out >= hi_dt) & (hi_dt > lo_dt))
    return out


def normal(shape, mean=0.0, stddev=1.0, dtype=None, seed=None):
    """Draws samples from a normal distribution.

    Args:
        shape: An int or a tuple of ints.
        mean: Float, the mean. Defaults to 0.
        stddev: Float, the standard deviation. Defaults to 1.
        dtype: Optional floating dtype. Defaults to float32.
        seed: `None` (the global stream), an int (the same values on every call) or a
            `SeedGenerator` (a reproducible stream that advances on each call).

    Returns:
        A NumPy array of `shape` and `dtype`.

    Raises:
        ValueError: If `dtype` is not a floating dtype.

    Example:

    >>> import numpy as np, rnnkit as keras
    >>> bool(np.array_equal(keras.random.normal((3,), seed=7), keras.random.normal((3,), seed=7)))
    True
    """
    dt = _float_dtype(dtype, "normal")
    rng = _current_device_rng(seed)
    z = rng.standard_normal(_shape(shape), dtype=_gen_dtype(dt))
    if type(z) is not np.ndarray:       # device draws: NumPy scalars, not 0-d host arrays
        return (np.asarray(mean)[()] + np.asarray(stddev)[()] * z).astype(dt)
    return (np.asarray(mean) + np.asarray(stddev) * z).astype(dt)


def _truncated_standard_normal(rng, shape, gdt):
    z = rng.standard_normal(shape, dtype=gdt)
    bad = np.abs(z) > 2.0
    while bad.any():
        z[bad] = rng.standard_normal(int(bad.sum()), dtype=gdt)
        bad = np.abs(z) > 2.0
    return z


def truncated_normal(shape, mean=0.0, stddev=1.0, dtype=None, seed=None):
    """Draws samples from a truncated normal distribution.

    Samples more than two standard deviations from the mean are drawn again, so the
    resulting standard deviation is about `0.88 * stddev`.

    Args:
        shape: An int or a tuple of ints.
        mean: Float, the mean. Defaults to 0.
        stddev: Float, the standard deviation before truncation. Defaults to 1.
        dtype: Optional floating dtype. Defaults to float32.
        seed: `None` (the global stream), an int (the same values on every call) or a
            `SeedGenerator` (a reproducible stream that advances on each call).

    Returns:
        A NumPy array of `shape` and `dtype`.

    Raises:
        ValueError: If `dtype` is not a floating dtype.
    """
    dt = _float_dtype(dtype, "truncated_normal")
    rng = numpy_rng(seed)
    z = _truncated_standard_normal(rng, _shape(shape), _gen_dtype(dt))
    return (np.asarray(mean) + np.asarray(stddev) * z).astype(dt)


def randint(shape, minval, maxval, dtype="int32", seed=None):
    """Draws integers uniformly from `[minval, maxval)`.

    Args:
        shape: An int or a tuple of ints.
        minval: Int, the lower bound.
        maxval: Int, the upper bound (excluded).
        dtype: Integer dtype. Defaults to `"int32"`.
        seed: `None` (the global stream), an int (the same values on every call) or a
            `SeedGenerator` (a reproducible stream that advances on each call).

    Returns:
        A NumPy array of `shape` and `dtype`.

    Raises:
        ValueError: If `dtype` is not an integer dtype.
    """
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
    """Applies inverted dropout to an array.

    Args:
        inputs: Input array (non-float inputs become float32).
        rate: Float in [0, 1], the probability of dropping an element.
        noise_shape: Optional shape of the keep/drop mask, broadcast to the input; `None`
            entries take the input's size. `(batch, 1, features)` drops the same features at
            every timestep.
        seed: `None` (the global stream), an int (the same values on every call) or a
            `SeedGenerator` (a reproducible stream that advances on each call).

    Returns:
        A new array of the input's shape: each element is 0 with probability `rate`, the
        others are scaled by `1 / (1 - rate)`.

    Raises:
        ValueError: If `rate` is outside [0, 1] or `noise_shape` has another rank.

    Example:

    >>> import numpy as np, rnnkit as keras
    >>> y = keras.random.dropout(np.ones((2, 4), dtype="float32"), 0.5, seed=3)
    >>> sorted(set(y.ravel().tolist()))
    [0.0, 2.0]
    """
    x = inputs if type(inputs) is np.ndarray else array_library.as_array(inputs)
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
    if type(x) is np.ndarray:
        rng = numpy_rng(seed)
        scale, zero = np.asarray(keep_prob, dtype=dt), np.zeros((), dtype=dt)
    else:    # drawn on the array's device (another stream than NumPy's on a GPU)
        rng = device_rng(seed, x)
        scale, zero = dt.type(keep_prob), dt.type(0)
    keep = rng.random(shape, dtype=np.float64) < keep_prob
    keep = np.broadcast_to(keep, x.shape)
    return np.where(keep, x / scale, zero).astype(dt)


def shuffle(x, axis=0, seed=None):
    """Returns a copy of `x` with its entries permuted at random along an axis.

    Args:
        x: Input array.
        axis: Int, the axis to shuffle. Defaults to 0.
        seed: `None` (the global stream), an int (the same values on every call) or a
            `SeedGenerator` (a reproducible stream that advances on each call).

    Returns:
        A new NumPy array.
    """
    x = np.asarray(x)
    rng = numpy_rng(seed)
    return rng.permutation(x, axis=axis)


def categorical(logits, num_samples, dtype="int32", seed=None):
    """Draws class indices from categorical distributions given by logits.

    Args:
        logits: A 2-D array `(batch, num_classes)` of unnormalized log-probabilities.
        num_samples: Int, the number of samples per row.
        dtype: Integer dtype. Defaults to `"int32"`.
        seed: `None` (the global stream), an int (the same values on every call) or a
            `SeedGenerator` (a reproducible stream that advances on each call).

    Returns:
        An array `(batch, num_samples)` of class indices.

    Raises:
        ValueError: If `logits` is not 2-D or `dtype` is not an integer dtype.
    """
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
    """Draws samples from a Gamma distribution with shape `alpha` and scale 1.

    Args:
        shape: An int or a tuple of ints.
        alpha: Float, the shape parameter.
        dtype: Optional floating dtype. Defaults to float32.
        seed: `None` (the global stream), an int (the same values on every call) or a
            `SeedGenerator` (a reproducible stream that advances on each call).

    Returns:
        A NumPy array of `shape` and `dtype`.

    Raises:
        ValueError: If `dtype` is not a floating dtype.
    """
    dt = _float_dtype(dtype, "gamma")
    return numpy_rng(seed).gamma(alpha, 1.0, size=_shape(shape)).astype(dt)


def binomial(shape, counts, probabilities, dtype=None, seed=None):
    """Draws samples from a binomial distribution.

    Args:
        shape: An int or a tuple of ints.
        counts: Number of trials (an int or an array broadcast to `shape`).
        probabilities: Probability of success of each trial.
        dtype: Optional floating dtype. Defaults to float32.
        seed: `None` (the global stream), an int (the same values on every call) or a
            `SeedGenerator` (a reproducible stream that advances on each call).

    Returns:
        A NumPy array of `shape` with the numbers of successes, as floats (as in Keras).

    Raises:
        ValueError: If `dtype` is not a floating dtype.
    """
    dt = _float_dtype(dtype, "binomial")
    return numpy_rng(seed).binomial(counts, probabilities, size=_shape(shape)).astype(dt)


def beta(shape, alpha, beta, dtype=None, seed=None):
    """Draws samples from a Beta distribution.

    Args:
        shape: An int or a tuple of ints.
        alpha: Float, the first shape parameter.
        beta: Float, the second shape parameter.
        dtype: Optional floating dtype. Defaults to float32.
        seed: `None` (the global stream), an int (the same values on every call) or a
            `SeedGenerator` (a reproducible stream that advances on each call).

    Returns:
        A NumPy array of `shape` and `dtype`, in [0, 1].

    Raises:
        ValueError: If `dtype` is not a floating dtype.
    """
    dt = _float_dtype(dtype, "beta")
    return numpy_rng(seed).beta(alpha, beta, size=_shape(shape)).astype(dt)
