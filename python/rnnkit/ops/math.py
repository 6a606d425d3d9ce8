"""Math ops of `keras.ops` outside the NumPy namespace: `erf`, `erfinv`, `rsqrt`, `top_k`,
`in_top_k`, segment reductions, `extract_sequences`, FFTs and short-time Fourier transforms,
`logdet`, `cdist`, scatter/slice updates, `saturate_cast`.

Complex results are given as Keras does, as a pair `(real, imag)` of real arrays. Integer
inputs of float-valued functions give `floatx()` results.
"""

from __future__ import annotations

import math

from rnnkit import array_library
from rnnkit.ops import numpy as _n
from rnnkit.ops._base import (_arr, _nondiff, _op_doc, _record_multi, _record_op, _state,
                              _unary, builtins, np, unwrap)
from rnnkit.ops._base import _as_array
from rnnkit.ops._numpy_more import _as_float, _as_float_op, _floatx

__all__ = ["cdist", "erf", "erfc", "erfinv", "extract_sequences", "fft", "fft2", "ifft2",
           "in_top_k", "irfft", "istft", "logdet", "rfft", "rsqrt", "saturate_cast", "scatter",
           "scatter_update", "segment_max", "segment_min", "segment_prod", "segment_sum",
           "slice_update", "stft", "top_k", "view_as_complex", "view_as_real"]

_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)


def _erf_array(x):
    from rnnkit.ops.nn import _erf
    return _as_array(_erf(x)).astype(x.dtype)


def _erfinv_array(x):
    return array_library.special_function("erfinv", x, _host_erfinv, _erfinv_elementwise)


def _host_erfinv(x):
    try:
        from scipy.special import erfinv as scipy_erfinv
        return _as_array(scipy_erfinv(x)).astype(x.dtype)
    except ImportError:          # pragma: no cover - scipy is optional
        return _erfinv_elementwise(x)


def _erfinv_elementwise(x):
    # Giles' single-precision approximation, refined by Newton steps in float64.
    x64 = _as_array(x, np.float64)
    w = -np.log((1.0 - x64) * (1.0 + x64))
    small = w < 5.0
    ws = w - 2.5
    p_s = 2.81022636e-08
    for c in (3.43273939e-07, -3.5233877e-06, -4.39150654e-06, 0.00021858087, -0.00125372503,
              -0.00417768164, 0.246640727, 1.50140941):
        p_s = c + p_s * ws
    wl = np.sqrt(np.maximum(w, 0)) - 3.0
    p_l = -0.000200214257
    for c in (0.000100950558, 0.00134934322, -0.00367342844, 0.00573950773, -0.0076224613,
              0.00943887047, 1.00167406, 2.83297682):
        p_l = c + p_l * wl
    y = np.where(small, p_s, p_l) * x64
    for _ in range(3):
        err = _erf_array(y) - x64
        y = y - err / (_TWO_OVER_SQRT_PI * np.exp(-y * y))
    y = np.where(x64 == 1, np.inf, np.where(x64 == -1, -np.inf, y))
    y = np.where(np.abs(x64) > 1, np.nan, y)
    return y.astype(x.dtype)


erf = _unary("erf", lambda x: _erf_array(_as_float(x)),
             lambda g, x, y: g * _TWO_OVER_SQRT_PI * np.exp(-x * x),
             "The Gauss error function, elementwise: `2/sqrt(pi) * integral_0^x exp(-t^2) dt`.")
erfc = _unary("erfc", lambda x: (1 - _erf_array(_as_float(x))).astype(_as_float(x).dtype),
              lambda g, x, y: -g * _TWO_OVER_SQRT_PI * np.exp(-x * x),
              "The complementary error function, elementwise: `1 - erf(x)`.")
erfinv = _unary("erfinv", lambda x: _erfinv_array(_as_float(x)),
                lambda g, x, y: g * (math.sqrt(math.pi) / 2) * np.exp(y * y),
                "The inverse error function, elementwise (infinite at +-1, NaN outside).")
rsqrt = _unary("rsqrt", lambda x: 1 / np.sqrt(_as_float(x)),
               lambda g, x, y: -0.5 * g * y * y * y,
               "Reciprocal square root, elementwise: `1 / sqrt(x)`.")


def saturate_cast(x, dtype):
    """Casts `x` to `dtype`, clipping values to the range of the target type first (so that
    out-of-range floats do not wrap around when cast to integers).

    Args:
        x: Input array.
        dtype: The target dtype.

    Returns:
        An array of `dtype` (differentiable between floats, where the value is in range).
    """
    from rnnkit.ops.core import cast
    try:
        target = np.dtype(dtype)
    except TypeError:
        raise TypeError(f"saturate_cast: dtype must be a dtype name such as 'uint8', got "
                        f"{dtype!r}") from None
    xv = _as_array(unwrap(x))
    if target.kind in "iu":
        info = np.iinfo(target)
        lo, hi = info.min, info.max
    elif target.kind == "f":
        info = np.finfo(target)
        lo, hi = info.min, info.max
    else:
        return cast(x, target)
    if xv.dtype.kind in "iu":
        src = np.iinfo(xv.dtype)
        lo, hi = builtins.max(lo, src.min), builtins.min(hi, src.max)
    elif xv.dtype.kind == "f":
        src = np.finfo(xv.dtype)
        lo, hi = builtins.max(lo, float(src.min)), builtins.min(hi, float(src.max))
        if target.kind in "iu":
            # the largest value of the source float type not above the integer maximum
            hi = float(np.nextafter(xv.dtype.type(hi), xv.dtype.type(0))) \
                if float(xv.dtype.type(hi)) > hi else hi
    return cast(_n.clip(x, xv.dtype.type(lo) if xv.dtype.kind != "b" else lo,
                        xv.dtype.type(hi) if xv.dtype.kind != "b" else hi), target)


# ------------------------------------------------------------------------------------------------
# top_k and in_top_k
# ------------------------------------------------------------------------------------------------

def top_k(x, k, sorted=True):
    """The `k` largest entries of `x` along its last axis, and their indices.

    Ties are broken by the lower index, as in Keras.

    Args:
        x: Input array (rank >= 1).
        k: Int, the number of entries (at most the size of the last axis).
        sorted: Bool, return them in descending order (the default); with False they are in
            the order of their indices.

    Returns:
        `(values, indices)`: values of `x`'s dtype and int32 indices, of shape
        `x.shape[:-1] + (k,)`. The values are differentiable.

    Raises:
        ValueError: If `k` is not an int in `[0, x.shape[-1]]`.
    """
    xv = _as_array(unwrap(x))
    n = xv.shape[-1] if xv.ndim else 0
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 0 <= k <= n:
        raise ValueError(f"top_k: k must be an int in [0, {n}] (the size of the last axis), "
                         f"got k={k!r}")
    # Descending with ties in index order (NaN counts as the largest value, as in JAX): a
    # stable ascending sort of the reversed array, read backwards.
    ascending_reversed = np.argsort(xv[..., ::-1], axis=-1, kind="stable")
    order = (n - 1 - ascending_reversed)[..., ::-1]
    idx = order[..., :k]
    if not sorted:
        idx = np.sort(idx, axis=-1)
    values = _n.take_along_axis(x, idx, axis=-1)
    return values, idx.astype("int32")


def in_top_k(targets, predictions, k):
    """Whether each target class is among the `k` largest predictions of its row.

    A target whose prediction ties the k-th largest counts as in the top k (as in Keras'
    JAX backend); a non-finite prediction for the target gives False.

    Args:
        targets: 1-D integer array of class ids, one per row.
        predictions: 2-D array `(batch, classes)`.
        k: Int, the number of top predictions to consider.

    Returns:
        A 1-D boolean array (not differentiable).
    """
    t = _as_array(unwrap(targets)).astype(np.int64)
    p = _as_array(unwrap(predictions))
    if p.ndim != 2 or t.shape != (p.shape[0],):
        raise ValueError(f"in_top_k: predictions must be 2-D (batch, classes) and targets 1-D "
                         f"(batch,), got shapes {p.shape} and {t.shape}")
    target_pred = p[np.arange(p.shape[0]), t]
    larger = np.sum(p > target_pred[:, None], axis=1)
    return _arr((larger < k) & np.isfinite(target_pred))


# ------------------------------------------------------------------------------------------------
# Segment reductions
# ------------------------------------------------------------------------------------------------

def _segments(data, segment_ids, num_segments):
    ids = _as_array(unwrap(segment_ids)).astype(np.int64)
    dv = _as_array(unwrap(data))
    if ids.ndim != 1 or ids.shape[0] != dv.shape[0]:
        raise ValueError(f"segment ops: segment_ids must be 1-D with one id per row of data, "
                         f"got shapes {ids.shape} and {dv.shape}")
    if num_segments is None:
        num_segments = int(ids.max()) + 1 if ids.size else 0
    return dv, ids, int(num_segments)


def segment_sum(data, segment_ids, num_segments=None, sorted=False):
    """Sums the rows of `data` that share a segment id.

    Args:
        data: Array whose first axis is segmented.
        segment_ids: 1-D integer array, one id per row of `data`; ids outside
            `[0, num_segments)` are dropped.
        num_segments: Optional int; defaults to `max(segment_ids) + 1`.
        sorted: Bool, a hint that the ids are sorted (not needed).

    Returns:
        An array `(num_segments,) + data.shape[1:]`, 0 for empty segments (differentiable in
        `data`).
    """
    del sorted
    dv, ids, n = _segments(data, segment_ids, num_segments)
    keep = (ids >= 0) & (ids < n)
    y = np.zeros((n,) + dv.shape[1:], dtype=dv.dtype)
    np.add.at(y, ids[keep], dv[keep])
    tape = _state.tape
    if tape is None:
        return y

    def vjp(g, need):
        out = np.zeros(dv.shape, dtype=g.dtype)
        out[keep] = g[ids[keep]]
        return (out,)

    return _record_op(tape, y, (data,), vjp)


def _segment_extreme(data, segment_ids, num_segments, ufunc, empty):
    dv, ids, n = _segments(data, segment_ids, num_segments)
    keep = (ids >= 0) & (ids < n)
    y = np.full((n,) + dv.shape[1:], empty(dv.dtype), dtype=dv.dtype)
    ufunc.at(y, ids[keep], dv[keep])
    tape = _state.tape
    if tape is None:
        return y

    def vjp(g, need):
        hit = np.zeros(dv.shape, dtype=bool)
        hit[keep] = dv[keep] == y[ids[keep]]
        counts = np.zeros(y.shape, dtype=g.dtype)
        np.add.at(counts, ids[keep], hit[keep].astype(g.dtype))
        out = np.zeros(dv.shape, dtype=g.dtype)
        share = g / np.where(counts == 0, 1, counts)
        out[keep] = np.where(hit[keep], share[ids[keep]], 0)
        return (out,)

    return _record_op(tape, y, (data,), vjp)


def _lowest(dtype):
    return -np.inf if dtype.kind == "f" else np.iinfo(dtype).min


def _highest(dtype):
    return np.inf if dtype.kind == "f" else np.iinfo(dtype).max


def segment_max(data, segment_ids, num_segments=None, sorted=False):
    """The maximum of the rows of `data` that share a segment id.

    Args:
        data: Array whose first axis is segmented.
        segment_ids: 1-D integer array, one id per row of `data`.
        num_segments: Optional int; defaults to `max(segment_ids) + 1`.
        sorted: Bool, a hint that the ids are sorted (not needed).

    Returns:
        An array `(num_segments,) + data.shape[1:]`; empty segments hold the lowest value of
        the dtype (-inf for floats), as in Keras. Differentiable (ties share the gradient).
    """
    del sorted
    return _segment_extreme(data, segment_ids, num_segments, np.maximum, _lowest)


def segment_min(data, segment_ids, num_segments=None, sorted=False):
    """The minimum of the rows of `data` that share a segment id.

    Args:
        data: Array whose first axis is segmented.
        segment_ids: 1-D integer array, one id per row of `data`.
        num_segments: Optional int; defaults to `max(segment_ids) + 1`.
        sorted: Bool, a hint that the ids are sorted (not needed).

    Returns:
        An array `(num_segments,) + data.shape[1:]`; empty segments hold the highest value of
        the dtype (+inf for floats). Differentiable (ties share the gradient).
    """
    del sorted
    return _segment_extreme(data, segment_ids, num_segments, np.minimum, _highest)


def segment_prod(data, segment_ids, num_segments=None, sorted=False):
    """The product of the rows of `data` that share a segment id (1 for empty segments).

    Args:
        data: Array whose first axis is segmented.
        segment_ids: 1-D integer array, one id per row of `data`.
        num_segments: Optional int; defaults to `max(segment_ids) + 1`.
        sorted: Bool, a hint that the ids are sorted (not needed).

    Returns:
        An array `(num_segments,) + data.shape[1:]` (differentiable, exact with zeros).
    """
    del sorted
    dv, ids, n = _segments(data, segment_ids, num_segments)
    parts = []
    for s in range(n):
        rows = np.nonzero(ids == s)[0]
        if rows.size:
            parts.append(_n.prod(_n.take(data, rows, axis=0), axis=0))
        else:
            parts.append(np.ones(dv.shape[1:], dtype=dv.dtype))
    if not parts:
        return np.ones((0,) + dv.shape[1:], dtype=dv.dtype)
    return _n.stack(parts, axis=0)


# ------------------------------------------------------------------------------------------------
# Scatter and slice updates
# ------------------------------------------------------------------------------------------------

def scatter(indices, values, shape):
    """A zero array of `shape` with `values` added at `indices` (duplicates accumulate).

    Args:
        indices: Integer array `(N, d)`: each row indexes the first `d` axes.
        values: Array `(N,) + shape[d:]`.
        shape: The output shape.

    Returns:
        An array of `shape` (differentiable in `values`).
    """
    idx = _as_array(unwrap(indices)).astype(np.int64)
    vv = _as_array(unwrap(values))
    shape = tuple(int(s) for s in shape)
    key = tuple(idx[..., i] for i in range(idx.shape[-1]))
    y = np.zeros(shape, dtype=vv.dtype)
    np.add.at(y, key, vv)
    tape = _state.tape
    if tape is None:
        return y
    return _record_op(tape, y, (values,), lambda g, need: (g[key],))


def scatter_update(inputs, indices, updates, reduction=None):
    """`inputs` with the entries at `indices` replaced by (or combined with) `updates`.

    Args:
        inputs: The array to update.
        indices: Integer array `(N, d)`: each row indexes the first `d` axes.
        updates: Array `(N,) + inputs.shape[d:]`.
        reduction: None (replace, the default), `"add"`, `"mul"`, `"max"` or `"min"`.

    Returns:
        The updated array (differentiable in `inputs` and `updates` for replace and add).

    Raises:
        ValueError: For an unknown `reduction`.
    """
    if reduction not in (None, "add", "mul", "max", "min"):
        raise ValueError(f"scatter_update: reduction must be None, 'add', 'mul', 'max' or "
                         f"'min', got {reduction!r}")
    xv = _as_array(unwrap(inputs))
    idx = _as_array(unwrap(indices)).astype(np.int64)
    uv = _as_array(unwrap(updates)).astype(xv.dtype)
    key = tuple(idx[..., i] for i in range(idx.shape[-1]))
    y = xv.copy()
    if reduction is None:
        y[key] = uv
    else:
        {"add": np.add, "mul": np.multiply, "max": np.maximum, "min": np.minimum}[
            reduction].at(y, key, uv)
    tape = _state.tape
    if tape is None:
        return y

    def vjp(g, need):
        gx = gu = None
        if reduction is None:
            written = np.zeros(xv.shape, dtype=bool)
            written[key] = True
            gx = np.where(written, 0, g)
            # the last update of a repeated index wins
            flat = np.ravel_multi_index(key, xv.shape[:idx.shape[-1]])
            last = np.zeros(len(flat), dtype=bool)
            _, first_rev = np.unique(flat[::-1], return_index=True)
            last[len(flat) - 1 - first_rev] = True
            gu = g[key] * last.reshape((-1,) + (1,) * (uv.ndim - 1))
        elif reduction == "add":
            gx, gu = g, g[key]
        else:
            raise NotImplementedError(f"The gradient of scatter_update(reduction="
                                      f"{reduction!r}) is not implemented")
        return gx, None, gu

    return _record_op(tape, y, (inputs, indices, updates), vjp)


def slice_update(inputs, start_indices, updates):
    """`inputs` with the block starting at `start_indices` replaced by `updates`.

    Args:
        inputs: The array to update.
        start_indices: One start index per axis.
        updates: The block (same rank as `inputs`).

    Returns:
        The updated array (differentiable in `inputs` and `updates`).
    """
    xv = _as_array(unwrap(inputs))
    uv = _as_array(unwrap(updates))
    starts = [int(unwrap(s)) for s in start_indices]
    key = tuple(builtins.slice(s, s + n) for s, n in zip(starts, uv.shape))
    y = xv.copy()
    y[key] = uv
    tape = _state.tape
    if tape is None:
        return y

    def vjp(g, need):
        gx = g.copy()
        gx[key] = 0
        return gx, None, g[key]

    return _record_op(tape, y, (inputs, start_indices, updates), vjp)


# ------------------------------------------------------------------------------------------------
# Sequences and Fourier transforms
# ------------------------------------------------------------------------------------------------

def extract_sequences(x, sequence_length, sequence_stride):
    """Frames of `sequence_length` samples every `sequence_stride` along the last axis.

    Args:
        x: Input array `(..., samples)`.
        sequence_length: Int, the frame length.
        sequence_stride: Int, the hop between frame starts.

    Returns:
        An array `(..., num_frames, sequence_length)` with
        `num_frames = 1 + (samples - sequence_length) // sequence_stride` (differentiable).
    """
    xv = _as_array(unwrap(x))
    n = xv.shape[-1]
    L, S = int(sequence_length), int(sequence_stride)
    if L < 1 or S < 1:
        raise ValueError(f"extract_sequences: sequence_length and sequence_stride must be "
                         f"positive, got {sequence_length} and {sequence_stride}")
    frames = builtins.max(0, 1 + (n - L) // S) if n >= L else 0
    idx = (np.arange(frames)[:, None] * S + np.arange(L)[None, :])
    return _n.take(x, idx, axis=-1)


def _complex_pair(x, name):
    if isinstance(x, (tuple, list)) and len(x) == 2:
        re, im = x
        if np.shape(unwrap(re)) != np.shape(unwrap(im)):
            raise ValueError(f"{name}: the real and imaginary parts must have the same shape, "
                             f"got {np.shape(unwrap(re))} and {np.shape(unwrap(im))}")
        return re, im
    raise ValueError(f"{name}: x must be a pair (real, imag) of arrays of the same shape, got "
                     f"{type(x).__name__}")


def _fft_pair(re, im, fn, inverse_fn):
    """(re, im) -> fn(re + i im) as a pair, with the transpose transform as the VJP."""
    rv = _as_float(unwrap(re))
    iv = _as_array(unwrap(im)).astype(rv.dtype)
    if rv.shape != iv.shape:
        raise ValueError(f"The real and imaginary parts must have the same shape, got "
                         f"{rv.shape} and {iv.shape}")
    z = fn(rv + 1j * iv)
    yr, yi = np.real(z).astype(rv.dtype), np.imag(z).astype(rv.dtype)
    tape = _state.tape
    if tape is None:
        return yr, yi

    def vjp(gs, need):
        gr, gi = gs
        # For a linear map F, the VJP of (Re, Im) is conj(F^H conj-applied): use adjoint.
        w = inverse_fn(gr + 1j * gi)
        return np.real(w).astype(rv.dtype), np.imag(w).astype(rv.dtype)

    ys = _record_multi(tape, (yr, yi), (re, im), vjp)
    return ys[0], ys[1]


def fft(x):
    """Fast Fourier transform over the last axis of a complex input.

    Args:
        x: A pair `(real, imag)` of float arrays of the same shape.

    Returns:
        A pair `(real, imag)` (differentiable).
    """
    re, im = _complex_pair(x, "fft")
    n = np.shape(unwrap(re))[-1]
    return _fft_pair(re, im, lambda z: np.fft.fft(z, axis=-1),
                     lambda w: np.fft.ifft(w, axis=-1) * n)


def fft2(x):
    """2-D fast Fourier transform over the last two axes of a complex input.

    Args:
        x: A pair `(real, imag)` of float arrays of the same shape.

    Returns:
        A pair `(real, imag)` (differentiable).
    """
    re, im = _complex_pair(x, "fft2")
    shape = np.shape(unwrap(re))[-2:]
    n = shape[0] * shape[1]
    return _fft_pair(re, im, lambda z: np.fft.fft2(z, axes=(-2, -1)),
                     lambda w: np.fft.ifft2(w, axes=(-2, -1)) * n)


def ifft2(x):
    """2-D inverse fast Fourier transform over the last two axes of a complex input.

    Args:
        x: A pair `(real, imag)` of float arrays of the same shape.

    Returns:
        A pair `(real, imag)` (differentiable).
    """
    re, im = _complex_pair(x, "ifft2")
    shape = np.shape(unwrap(re))[-2:]
    n = shape[0] * shape[1]
    return _fft_pair(re, im, lambda z: np.fft.ifft2(z, axes=(-2, -1)),
                     lambda w: np.fft.fft2(w, axes=(-2, -1)) / n)


def rfft(x, fft_length=None):
    """Real-input fast Fourier transform over the last axis.

    Args:
        x: Real array `(..., n)`.
        fft_length: Optional int, the transform length (the input is cut or zero-padded);
            defaults to `n`.

    Returns:
        A pair `(real, imag)` of arrays `(..., fft_length // 2 + 1)` (differentiable).
    """
    x = _as_float_op(x)
    xv = _as_array(unwrap(x))
    n = xv.shape[-1] if fft_length is None else int(fft_length)
    z = np.fft.rfft(xv, n=n, axis=-1)
    yr, yi = np.real(z).astype(xv.dtype), np.imag(z).astype(xv.dtype)
    tape = _state.tape
    if tape is None:
        return yr, yi
    m = z.shape[-1]
    k = np.arange(m)
    t = np.arange(n)
    ang = -2 * np.pi * np.outer(k, t) / n            # (m, n)
    cos, sin = np.cos(ang), np.sin(ang)

    def vjp(gs, need):
        gr, gi = gs
        g = gr @ cos + gi @ sin                        # (..., n)
        width = xv.shape[-1]
        if n >= width:
            g = g[..., :width]
        else:
            g = np.concatenate([g, np.zeros(g.shape[:-1] + (width - n,), g.dtype)], -1)
        return (g.astype(xv.dtype),)

    ys = _record_multi(tape, (yr, yi), (x,), vjp)
    return ys[0], ys[1]


def irfft(x, fft_length=None):
    """Inverse of `rfft`: a real signal from the non-negative frequency half of a spectrum.

    Args:
        x: A pair `(real, imag)` of arrays `(..., m)`.
        fft_length: Optional int, the output length; defaults to `2 * (m - 1)`.

    Returns:
        A real array `(..., fft_length)` (differentiable).
    """
    re, im = _complex_pair(x, "irfft")
    rv = _as_float(unwrap(re))
    iv = _as_array(unwrap(im)).astype(rv.dtype)
    m = rv.shape[-1]
    n = 2 * (m - 1) if fft_length is None else int(fft_length)
    y = np.fft.irfft(rv + 1j * iv, n=n, axis=-1).astype(rv.dtype)
    tape = _state.tape
    if tape is None:
        return y
    # y[t] = sum_k w_k (re_k cos(2 pi k t / n) - im_k sin(2 pi k t / n)) / n over the used k
    used = builtins.min(m, n // 2 + 1)
    k = np.arange(used)
    t = np.arange(n)
    ang = 2 * np.pi * np.outer(k, t) / n
    w = np.full(used, 2.0)
    w[0] = 1.0
    if n % 2 == 0 and used == n // 2 + 1:
        w[-1] = 1.0
    cos, sin = np.cos(ang) * w[:, None] / n, np.sin(ang) * w[:, None] / n
    cos[0] = 1.0 / n                                   # imag of DC is ignored
    sin[0] = 0.0
    if n % 2 == 0 and used == n // 2 + 1:
        sin[-1] = 0.0                                  # imag of Nyquist is ignored

    def vjp(g, need):
        gr = np.zeros(rv.shape, dtype=g.dtype)
        gi = np.zeros(rv.shape, dtype=g.dtype)
        gr[..., :used] = g @ cos.T
        gi[..., :used] = -(g @ sin.T)
        return gr, gi

    return _record_op(tape, y, (re, im), vjp)


def _stft_window(window, sequence_length, fft_length, dtype):
    """The analysis window, zero-padded to `fft_length` (centred), as Keras builds it; ones
    (of `fft_length`) without a window."""
    if window is None:
        return np.ones(fft_length, dtype=dtype)
    if isinstance(window, str):
        n = np.arange(sequence_length)
        if window == "hann":
            w = 0.5 - 0.5 * np.cos(2 * np.pi * n / sequence_length)
        elif window == "hamming":
            w = 0.54 - 0.46 * np.cos(2 * np.pi * n / sequence_length)
        else:
            raise ValueError(f"If a string is passed to `window`, it must be one of 'hann', "
                             f"'hamming'. Received: window={window!r}")
    else:
        w = _as_array(unwrap(window))
        if w.shape != (sequence_length,):
            raise ValueError(f"The shape of `window` must be equal to [sequence_length] "
                             f"({sequence_length},). Received: window shape={w.shape}")
    left = (fft_length - sequence_length) // 2
    return np.pad(w.astype(dtype), (left, fft_length - sequence_length - left))


def _check_stft_sizes(sequence_length, sequence_stride, fft_length):
    for name, v in (("sequence_length", sequence_length), ("sequence_stride", sequence_stride),
                    ("fft_length", fft_length)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
            raise ValueError(f"{name} must be a positive int, got {v!r}")
    if fft_length < sequence_length:
        raise ValueError(f"`fft_length` must equal or larger than `sequence_length`. "
                         f"Received: sequence_length={sequence_length}, "
                         f"fft_length={fft_length}")


def stft(x, sequence_length, sequence_stride, fft_length, window="hann", center=True):
    """Short-time Fourier transform along the last axis of a real signal.

    Frames of `fft_length` samples every `sequence_stride` are multiplied by the window (a
    periodic Hann window of `sequence_length` by default, zero-padded to `fft_length` in the
    middle) and transformed with `rfft`. With `center`, the signal is first padded by
    `fft_length // 2` on each side (reflect mode). This is Keras' definition.

    Args:
        x: Float array `(..., samples)`.
        sequence_length: Int, the window length (at most `fft_length`).
        sequence_stride: Int, the hop between frames.
        fft_length: Int, the FFT size and frame length.
        window: `"hann"` (the default), `"hamming"`, None (no window) or a 1-D array of
            `sequence_length`.
        center: Bool, pad the signal so that frames are centred. Defaults to True.

    Returns:
        A pair `(real, imag)` of arrays `(..., frames, fft_length // 2 + 1)` (differentiable).

    Raises:
        ValueError: For bad sizes or an unknown window.
    """
    _check_stft_sizes(sequence_length, sequence_stride, fft_length)
    x = _as_float_op(x)
    dtype = _as_array(unwrap(x)).dtype
    w = _stft_window(window, sequence_length, fft_length, dtype)
    if center:
        pad = [(0, 0)] * (np.ndim(unwrap(x)) - 1) + [(fft_length // 2, fft_length // 2)]
        x = _n.pad(x, pad, mode="reflect")
    frames = extract_sequences(x, fft_length, sequence_stride)
    return rfft(_n.multiply(frames, w), fft_length)


def istft(x, sequence_length, sequence_stride, fft_length, length=None, window="hann",
          center=True):
    """Inverse short-time Fourier transform: `irfft` of each frame, windowed overlap-add,
    divided by the overlap-added squared window (Keras' definition).

    Args:
        x: A pair `(real, imag)` of arrays `(..., frames, fft_length // 2 + 1)`.
        sequence_length: Int, the window length used by `stft`.
        sequence_stride: Int, the hop used by `stft`.
        fft_length: Int, the FFT size used by `stft`.
        length: Optional int, the number of output samples (after the centring offset).
        window: The window used by `stft` (`"hann"`, `"hamming"`, None or an array).
        center: Bool, whether `stft` padded the signal. Defaults to True.

    Returns:
        A real array `(..., samples)` (differentiable).

    Raises:
        ValueError: For bad sizes or an unknown window.
    """
    _check_stft_sizes(sequence_length, sequence_stride, fft_length)
    frames = irfft(x, fft_length)
    fv = _as_array(unwrap(frames))
    if fv.ndim < 2:
        raise ValueError(f"istft: x must have at least 2 dimensions, got shape {fv.shape}")
    dtype = fv.dtype
    w = _stft_window(window, sequence_length, fft_length, dtype)
    nf = fv.shape[-2]
    total = fft_length + sequence_stride * (nf - 1)
    # overlap-add as a product with a 0/1 placement matrix
    place = np.zeros((nf * fft_length, total), dtype=dtype)
    for f in range(nf):
        place[f * fft_length + np.arange(fft_length), f * sequence_stride +
              np.arange(fft_length)] = 1
    lead = fv.shape[:-2]
    flat = _n.reshape(_n.multiply(frames, w), lead + (nf * fft_length,))
    y = _n.matmul(flat, place)
    norm = np.tile(w * w, nf) @ place
    norm = np.where(norm > 1e-10, norm, 1.0).astype(dtype)
    scale = 1.0 if window is not None else fft_length / sequence_stride
    y = _n.multiply(_n.divide(y, norm), np.asarray(scale, dtype))
    start = fft_length // 2 if center else 0
    if length is not None:
        end = start + int(length)
    elif center:
        end = total - fft_length // 2
    else:
        end = total
    return _n.get_item(y, (Ellipsis, builtins.slice(start, builtins.max(start, end))))


def view_as_real(x):
    """Splits a complex array into a real array with a trailing axis of 2 (real, imag).

    Args:
        x: A complex array.

    Returns:
        A real array `x.shape + (2,)` (not differentiable).
    """
    xv = _as_array(unwrap(x))
    if not np.iscomplexobj(xv):
        raise ValueError(f"view_as_real: x must be complex, got dtype {xv.dtype}")
    return np.stack([xv.real, xv.imag], axis=-1)


def view_as_complex(x):
    """Joins a real array whose last axis has size 2 (real, imag) into a complex array.

    Args:
        x: A float array `(..., 2)`.

    Returns:
        A complex array `x.shape[:-1]` (not differentiable).
    """
    xv = _as_array(unwrap(x))
    if xv.ndim == 0 or xv.shape[-1] != 2:
        raise ValueError(f"view_as_complex: the last axis of x must have size 2, got shape "
                         f"{xv.shape}")
    return xv[..., 0] + 1j * xv[..., 1]


# ------------------------------------------------------------------------------------------------
# Distances and determinants
# ------------------------------------------------------------------------------------------------

def cdist(x, y):
    """Euclidean distances between every row of `x` and every row of `y`.

    Args:
        x: Array `(..., m, d)`.
        y: Array `(..., n, d)`.

    Returns:
        An array `(..., m, n)` (differentiable; the gradient at a zero distance is 0).
    """
    x, y = _as_float_op(x), _as_float_op(y)
    diffs = _n.subtract(_n.expand_dims(x, -2), _n.expand_dims(y, -3))
    sq = _n.sum(_n.square(diffs), axis=-1)
    sqv = _as_array(unwrap(sq))
    zero = sqv == 0
    safe = _n.where(zero, np.ones((), sqv.dtype), sq)
    return _n.where(zero, np.zeros((), sqv.dtype), _n.sqrt(safe))


def logdet(x):
    """Log of the determinant of symmetric positive-definite matrices (`log(det(x))`).

    Args:
        x: Array `(..., n, n)`.

    Returns:
        An array `(...)` (differentiable; NaN where the determinant is negative).
    """
    from rnnkit.ops.linalg import slogdet
    sign, value = slogdet(x)
    sv = _as_array(unwrap(sign))
    return _n.where(sv > 0, value, np.asarray(np.nan, _as_array(unwrap(value)).dtype))
