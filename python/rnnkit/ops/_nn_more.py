"""More of `keras.ops.nn` (imported into `rnnkit.ops.nn`): cross-entropies, normalizations,
`multi_hot`, `psnr`, `sparsemax`, `dot_product_attention`, CTC loss and decoding,
`depth_to_space` / `space_to_depth`, `polar`.

Everything differentiable is written with `rnnkit.ops` (or has its own VJP), so it works under
a `GradientTape` and on symbolic tensors.
"""

from __future__ import annotations

from rnnkit.ops import numpy as _n
from rnnkit.ops._base import _arr, _record_op, _state, np, unwrap
from rnnkit.ops._base import _as_array
from rnnkit.ops._numpy_more import _as_float, _as_float_op, _floatx

__all__ = ["batch_normalization", "binary_crossentropy", "categorical_crossentropy",
           "ctc_decode", "ctc_loss", "depth_to_space", "dot_product_attention",
           "layer_normalization", "multi_hot", "polar", "psnr", "rms_normalization",
           "space_to_depth", "sparse_categorical_crossentropy", "sparsemax"]


def _epsilon():
    from rnnkit import config
    return config.epsilon()


def _check_same_shape(name, target, output):
    ts, os_ = np.shape(unwrap(target)), np.shape(unwrap(output))
    if ts != os_:
        raise ValueError(f"{name}: target and output must have the same shape, got "
                         f"target.shape={ts} and output.shape={os_}")


def binary_crossentropy(target, output, from_logits=False):
    """Elementwise binary cross-entropy between targets and predicted probabilities.

    With probabilities, the output is clipped to `[epsilon, 1 - epsilon]` first (as in
    Keras); with logits, the stable `log_sigmoid` form is used.

    Args:
        target: Array of targets in `[0, 1]`.
        output: Array of the same shape: probabilities, or logits with `from_logits`.
        from_logits: Bool, `output` holds logits. Defaults to False.

    Returns:
        An array of the shape of `output`, not reduced (differentiable in both).

    Raises:
        ValueError: If the shapes differ.
    """
    from rnnkit.ops.nn import log_sigmoid
    _check_same_shape("binary_crossentropy", target, output)
    output = _as_float_op(output)
    dtype = _as_array(unwrap(output)).dtype
    target = _n_cast(target, dtype)
    if from_logits:
        return _n.subtract(_n.negative(_n.multiply(target, log_sigmoid(output))),
                           _n.multiply(_n.subtract(1.0, target),
                                       log_sigmoid(_n.negative(output))))
    eps = _epsilon()
    p = _n.clip(output, eps, 1.0 - eps)
    return _n.negative(_n.add(_n.multiply(target, _n.log(p)),
                              _n.multiply(_n.subtract(1.0, target),
                                          _n.log(_n.subtract(1.0, p)))))


def _n_cast(x, dtype):
    from rnnkit.ops.core import cast
    return cast(x, dtype)


def categorical_crossentropy(target, output, from_logits=False, axis=-1):
    """Categorical cross-entropy between one-hot (or soft) targets and predictions.

    With probabilities, the output is first divided by its sum along `axis` and clipped to
    `[epsilon, 1 - epsilon]`, as in Keras.

    Args:
        target: Array of target distributions.
        output: Array of the same shape: probabilities, or logits with `from_logits`.
        from_logits: Bool, `output` holds logits. Defaults to False.
        axis: Int, the class axis. Defaults to -1.

    Returns:
        An array with `axis` reduced (differentiable).

    Raises:
        ValueError: If the shapes differ or the inputs are scalars.
    """
    from rnnkit.ops.nn import log_softmax
    _check_same_shape("categorical_crossentropy", target, output)
    if np.ndim(unwrap(output)) < 1:
        raise ValueError("categorical_crossentropy: target and output must have at least "
                         "one dimension")
    output = _as_float_op(output)
    dtype = _as_array(unwrap(output)).dtype
    target = _n_cast(target, dtype)
    if from_logits:
        log_prob = log_softmax(output, axis=axis)
    else:
        p = _n.divide(output, _n.sum(output, axis=axis, keepdims=True))
        eps = _epsilon()
        log_prob = _n.log(_n.clip(p, eps, 1.0 - eps))
    return _n.negative(_n.sum(_n.multiply(target, log_prob), axis=axis))


def sparse_categorical_crossentropy(target, output, from_logits=False, axis=-1):
    """Categorical cross-entropy with integer class ids as targets.

    Args:
        target: Integer array of class ids, of `output`'s shape without the class axis (a
            trailing axis of size 1 is also accepted).
        output: Array of probabilities, or logits with `from_logits`.
        from_logits: Bool, `output` holds logits. Defaults to False.
        axis: Int, the class axis of `output`. Defaults to -1.

    Returns:
        An array of `target`'s shape (differentiable in `output`).

    Raises:
        ValueError: If the shapes do not fit.
    """
    from rnnkit.ops.nn import one_hot
    tv = _as_array(unwrap(target))
    ov_shape = np.shape(unwrap(output))
    if tv.ndim == len(ov_shape) and tv.shape[-1] == 1:
        tv = tv[..., 0]
    ax = axis % len(ov_shape) if ov_shape else 0
    expected = ov_shape[:ax] + ov_shape[ax + 1:]
    if tv.shape != expected:
        raise ValueError(f"sparse_categorical_crossentropy: target shape {tv.shape} does not "
                         f"fit output shape {ov_shape} (expected {expected})")
    dtype = _as_float(np.zeros((), _as_array(unwrap(output)).dtype)).dtype
    onehot = one_hot(tv.astype(np.int64), ov_shape[ax], axis=ax, dtype=dtype)
    return categorical_crossentropy(onehot, output, from_logits=from_logits, axis=ax)


def _broadcast_param(v, ndim, axis, size):
    if v is None:
        return None
    if np.ndim(unwrap(v)) == 1 and ndim > 1:
        shape = [1] * ndim
        shape[axis] = size
        return _n.reshape(v, tuple(shape))
    return v


def batch_normalization(x, mean, variance, axis, offset=None, scale=None, epsilon=1e-3):
    """Normalizes `x` with given statistics: `(x - mean) / sqrt(variance + epsilon) * scale
    + offset`, the 1-D parameters laid along `axis`.

    Args:
        x: Input array.
        mean: 1-D array of means, of the size of `x` along `axis`.
        variance: 1-D array of variances.
        axis: Int, the feature axis.
        offset: Optional 1-D array added after scaling.
        scale: Optional 1-D array multiplied after normalizing.
        epsilon: Float added to the variance. Defaults to 1e-3.

    Returns:
        An array of the shape of `x` (differentiable in every array argument).
    """
    x = _as_float_op(x)
    nd = np.ndim(unwrap(x))
    ax = axis % nd
    size = np.shape(unwrap(x))[ax]
    mean, variance, offset, scale = (_broadcast_param(v, nd, ax, size)
                                     for v in (mean, variance, offset, scale))
    from rnnkit.ops.math import rsqrt
    inv = rsqrt(_n.add(variance, epsilon))
    if scale is not None:
        inv = _n.multiply(inv, scale)
    res = _n.negative(_n.multiply(mean, inv))
    if offset is not None:
        res = _n.add(res, offset)
    return _n.add(_n.multiply(x, inv), res)


def layer_normalization(x, gamma=None, beta=None, axis=-1, epsilon=None, **kwargs):
    """Layer normalization: normalizes `x` over `axis` by its mean and variance, then
    applies `gamma` and `beta`.

    Args:
        x: Input array.
        gamma: Optional scale, broadcast along `axis`.
        beta: Optional offset, broadcast along `axis`.
        axis: Int or list of ints, the normalized axes. Defaults to -1.
        epsilon: Float added to the variance; defaults to `config.epsilon()`.
        **kwargs: `rms_scaling` (bool): scale by `1 / sqrt(variance + epsilon)` without
            centring and without `beta`, as Keras' option does.

    Returns:
        An array of the shape of `x` (differentiable).

    Raises:
        TypeError: For an unknown keyword argument.
    """
    from rnnkit.ops.math import rsqrt
    rms_scaling = kwargs.pop("rms_scaling", False)
    if kwargs:
        raise TypeError(f"layer_normalization: unexpected keyword arguments {sorted(kwargs)}")
    eps = _epsilon() if epsilon is None else epsilon
    x = _as_float_op(x)
    shape = np.shape(unwrap(x))
    nd = len(shape)
    axes = sorted(a % nd for a in ([axis] if isinstance(axis, int) else axis))
    bshape = [1] * nd
    for a in axes:
        bshape[a] = shape[a]

    def bc(v):
        if v is None:
            return None
        if np.ndim(unwrap(v)) != nd and axes != [nd - 1]:
            return _n.reshape(v, tuple(bshape))
        return v

    var = _n.var(x, axis=tuple(axes), keepdims=True)
    inv = rsqrt(_n.add(var, eps))
    if rms_scaling:
        out = _n.multiply(x, inv)
        return out if gamma is None else _n.multiply(out, bc(gamma))
    mean = _n.mean(x, axis=tuple(axes), keepdims=True)
    if gamma is not None:
        inv = _n.multiply(inv, bc(gamma))
    res = _n.negative(_n.multiply(mean, inv))
    if beta is not None:
        res = _n.add(res, bc(beta))
    return _n.add(_n.multiply(x, inv), res)


def rms_normalization(x, scale=None, axis=-1, epsilon=None):
    """Root-mean-square normalization: `x / sqrt(mean(x**2, axis) + epsilon) * scale`.

    Args:
        x: Input array.
        scale: Optional scale, broadcast against `x`.
        axis: Int or tuple of ints, the normalized axes. Defaults to -1.
        epsilon: Float; defaults to `config.epsilon()`.

    Returns:
        An array of the shape of `x` (differentiable).
    """
    from rnnkit.ops.math import rsqrt
    eps = _epsilon() if epsilon is None else epsilon
    x = _as_float_op(x)
    if np.ndim(unwrap(x)) == 0:
        x = _n.expand_dims(x, 0)
    ax = tuple(axis) if isinstance(axis, (list, tuple)) else axis
    out = _n.multiply(x, rsqrt(_n.add(_n.mean(_n.square(x), axis=ax, keepdims=True), eps)))
    return out if scale is None else _n.multiply(out, scale)


def multi_hot(inputs, num_classes=None, axis=-1, dtype=None, sparse=False, **kwargs):
    """Multi-hot encodes integer labels: 1 at every class present in a sample.

    A 1-D input is one sample; a 2-D input `(batch, labels)` gives `(batch, num_classes)`.

    Args:
        inputs: Integer array of class ids.
        num_classes: Int, the number of classes (`num_tokens` is accepted as an alias).
        axis: Int, where the class axis goes. Defaults to -1.
        dtype: Optional dtype; defaults to floatx.
        sparse: Must be False (there are no sparse tensors).
        **kwargs: Only `num_tokens`.

    Returns:
        The multi-hot array (never tracked).

    Raises:
        ValueError: If `num_classes` is missing or `sparse` is set.
    """
    from rnnkit.ops.nn import one_hot
    if num_classes is None and "num_tokens" in kwargs:
        num_classes = kwargs.pop("num_tokens")
    if kwargs:
        raise TypeError(f"multi_hot: unexpected keyword arguments {sorted(kwargs)}")
    if num_classes is None:
        raise ValueError("multi_hot: argument `num_classes` must be specified")
    if sparse:
        raise ValueError("multi_hot: sparse=True is not supported (rnnkit has no sparse "
                         "tensors)")
    xv = _as_array(unwrap(inputs)).astype(np.int64)
    reduce_axis = 1 if xv.ndim > 1 else 0
    return np.max(one_hot(xv, num_classes, axis=axis, dtype=dtype or _floatx()),
                  axis=reduce_axis)


def psnr(x1, x2, max_val):
    """Peak signal-to-noise ratio: `20 log10(max_val) - 10 log10(mean((x1 - x2)**2))`.

    Args:
        x1: First signal.
        x2: Second signal, of the same shape.
        max_val: The largest possible signal value.

    Returns:
        A 0-d array (differentiable in `x1` and `x2`).

    Raises:
        ValueError: If the shapes differ.
    """
    s1, s2 = np.shape(unwrap(x1)), np.shape(unwrap(x2))
    if s1 != s2:
        raise ValueError(f"psnr: input shapes {s1} and {s2} must match")
    x1, x2 = _as_float_op(x1), _as_float_op(x2)
    dtype = _as_array(unwrap(x2)).dtype
    mse = _n.mean(_n.square(_n.subtract(x1, x2)))
    mv = _as_array(unwrap(max_val), dtype=dtype)
    return _n.subtract(np.asarray(20 * np.log10(mv), dtype), _n.multiply(10.0, _n.log10(mse)))


def sparsemax(x, axis=-1):
    """Sparsemax: the Euclidean projection of `x` onto the probability simplex along `axis`
    (like softmax, but with exact zeros).

    Args:
        x: Input array.
        axis: Int. Defaults to -1.

    Returns:
        An array of the shape of `x` summing to 1 along `axis` (differentiable).
    """
    xv = _as_float(unwrap(x))
    ax = axis % xv.ndim
    z = np.flip(np.sort(xv, axis=ax), axis=ax)
    csum = np.cumsum(z, axis=ax)
    shape = [1] * xv.ndim
    shape[ax] = -1
    r = np.arange(1, xv.shape[ax] + 1, dtype=xv.dtype).reshape(shape)
    support = z - (csum - 1) / r > 0
    k = np.sum(support, axis=ax, keepdims=True)
    tau = (np.sum(np.where(support, z, 0), axis=ax, keepdims=True) - 1) / k
    y = np.maximum(xv - tau, 0).astype(xv.dtype)
    tape = _state.tape
    if tape is None:
        return y

    def vjp(g, need):
        s = (y > 0).astype(g.dtype)
        mean = np.sum(g * s, axis=ax, keepdims=True) / np.maximum(
            np.sum(s, axis=ax, keepdims=True), 1)
        return (s * (g - mean),)

    return _record_op(tape, y, (x,), vjp)


def dot_product_attention(query, key, value, bias=None, mask=None, scale=None,
                          is_causal=False, flash_attention=None, attn_logits_soft_cap=None):
    """Scaled dot-product attention over `(batch, length, heads, head_dim)` arrays.

    `softmax(query . key * scale + bias, masked) . value`, per head. Keys and values may have
    fewer heads than the query (grouped-query attention): each is shared by
    `heads // key_heads` query heads.

    Args:
        query: Array `(B, T, N, H)`.
        key: Array `(B, S, K, H)`, `N % K == 0`.
        value: Array `(B, S, K, H)`.
        bias: Optional array added to the logits, broadcast to `(B, N, T, S)`.
        mask: Optional boolean array, broadcast to `(B, N, T, S)`; False positions are
            excluded.
        scale: Optional float; defaults to `1 / sqrt(H)`.
        is_causal: Bool, each query position attends only to key positions at or before it.
        flash_attention: None or False (True is refused: flash attention is a GPU kernel;
            the plain computation gives the same values).
        attn_logits_soft_cap: Optional float `c`: logits become `c * tanh(logits / c)`.

    Returns:
        An array `(B, T, N, H)` (differentiable in `query`, `key`, `value` and `bias`).

    Raises:
        ValueError: If the shapes do not fit or `flash_attention=True`.
    """
    from rnnkit.ops.nn import softmax, tanh
    if flash_attention:
        raise ValueError("dot_product_attention: flash_attention=True is not available in "
                         "rnnkit (a GPU kernel); use None or False")
    qs, ks, vs = (np.shape(unwrap(t)) for t in (query, key, value))
    if len(qs) != 4 or len(ks) != 4 or len(vs) != 4:
        raise ValueError(f"dot_product_attention: query, key and value must be 4-D (batch, "
                         f"length, heads, head_dim), got shapes {qs}, {ks}, {vs}")
    if ks != vs or qs[-1] != ks[-1] or qs[2] % ks[2]:
        raise ValueError(f"dot_product_attention: incompatible shapes query {qs}, key {ks}, "
                         f"value {vs}")
    query, key, value = (_as_float_op(t) for t in (query, key, value))
    groups = qs[2] // ks[2]
    if groups > 1:
        key = _n.repeat(key, groups, axis=2)
        value = _n.repeat(value, groups, axis=2)
    dtype = _as_array(unwrap(query)).dtype
    sc = 1.0 / np.sqrt(qs[-1]) if scale is None else scale
    logits = _n.multiply(_n.einsum("btnh,bsnh->bnts", query, key), np.asarray(sc, dtype))
    if attn_logits_soft_cap is not None:
        c = float(attn_logits_soft_cap)
        logits = _n.multiply(tanh(_n.divide(logits, c)), c)
    if bias is not None:
        logits = _n.add(logits, bias)
    if mask is not None or is_causal:
        keep = np.ones(np.shape(unwrap(logits)), dtype=bool)
        if mask is not None:
            keep = keep & _as_array(unwrap(mask)).astype(bool)
        if is_causal:
            T, S = qs[1], ks[1]
            keep = keep & np.tril(np.ones((T, S), dtype=bool))[None, None]
        big = np.asarray(-0.7 * np.finfo(dtype).max, dtype)
        logits = _n.where(keep, logits, big)
    probs = softmax(logits, axis=-1)
    return _n.einsum("bnts,bsnh->btnh", probs, value)


# ------------------------------------------------------------------------------------------------
# CTC
# ------------------------------------------------------------------------------------------------

def _logsumexp2(a, b):
    m = np.maximum(a, b)
    m = np.where(np.isfinite(m), m, 0)
    with np.errstate(divide="ignore"):
        return np.log(np.exp(a - m) + np.exp(b - m)) + m


def _ctc_forward_backward(logp, labels, label_lengths, frame_counts, blank):
    """-log p(labels | logp) per sample and its gradient with respect to `logp`, by the
    forward-backward recursions over the blank-extended labels (all samples at once).

    logp (B, T, C) float64 log-probabilities; labels (B, N); lengths (B,). Returns
    (losses (B,), d loss / d logp (B, T, C)); an unalignable sample gets 1e5 and zeros.
    """
    B, T, C = logp.shape
    N = labels.shape[1]
    L = 2 * N + 1
    neg = -np.inf
    ext = np.full((B, L), blank, dtype=np.int64)
    ext[:, 1::2] = labels
    positions = np.arange(L)
    valid = positions[None, :] < (2 * label_lengths[:, None] + 1)
    ext = np.where(valid, ext, blank)
    skip = np.zeros((B, L), dtype=bool)
    if L > 2:
        skip[:, 3::2] = ext[:, 3::2] != ext[:, 1:-2:2]
    skip &= valid
    lp = np.take_along_axis(logp, np.broadcast_to(ext[:, None, :], (B, T, L)), axis=2)
    lp = np.where(valid[:, None, :], lp, neg)
    active = np.arange(T)[None, :] < frame_counts[:, None]          # (B, T)

    def step(prev, shift_a, shift_b):
        out = prev.copy()
        out[:, shift_a] = np.logaddexp(out[:, shift_a], prev[:, shift_b])
        return out

    with np.errstate(invalid="ignore"):
        alpha = np.full((B, T, L), neg)
        first = np.full((B, L), neg)
        first[:, :2] = lp[:, 0, :2]
        alpha[:, 0] = first
        for t in range(1, T):
            prev = alpha[:, t - 1]
            cur = step(prev, slice(1, None), slice(None, -1))
            if L > 2:
                two = np.where(skip[:, 2:], prev[:, :-2], neg)
                cur[:, 2:] = np.logaddexp(cur[:, 2:], two)
            alpha[:, t] = np.where(active[:, t, None], cur + lp[:, t], prev)
        last = 2 * label_lengths                                     # index of the last blank
        end = alpha[:, T - 1]
        rows = np.arange(B)
        log_p = end[rows, last]
        has_label = label_lengths > 0
        log_p = np.where(has_label, np.logaddexp(log_p, end[rows, np.maximum(last - 1, 0)]),
                         log_p)
        beta = np.full((B, T, L), neg)
        init = np.full((B, L), neg)
        init[rows, last] = 0.0
        init[rows[has_label], last[has_label] - 1] = 0.0
        nxt = np.full((B, L), neg)
        for t in range(T - 1, -1, -1):
            cur = step(nxt, slice(None, -1), slice(1, None))
            if L > 2:
                two = np.where(skip[:, 2:], nxt[:, 2:], neg)
                cur[:, :-2] = np.logaddexp(cur[:, :-2], two)
            cur = cur + lp[:, t]
            is_last = (frame_counts - 1) == t
            here = np.where(is_last[:, None], init + lp[:, t], cur)
            here = np.where(active[:, t, None], here, neg)
            beta[:, t] = here
            nxt = here
        # beta here includes lp at t; the posterior of (t, s) is alpha * beta / (lp * p)
        feasible = np.isfinite(log_p) & (frame_counts > 0)
        empty = frame_counts == 0
        post = np.exp(np.where(np.isfinite(lp), alpha + beta - lp, neg) -
                      np.where(feasible, log_p, 0.0)[:, None, None])
        post = np.where(feasible[:, None, None] & active[:, :, None], post, 0.0)
    onehot = (ext[:, :, None] == np.arange(C)[None, None, :]).astype(np.float64)
    grads = -np.einsum("btl,blc->btc", post, onehot)
    losses = np.where(feasible, -log_p, 1e5)
    losses = np.where(empty, np.where(label_lengths == 0, 0.0, 1e5), losses)
    return losses, grads


def ctc_loss(target, output, target_length, output_length, mask_index=0):
    """Connectionist temporal classification loss: `-log p(target | output)` per sample,
    summed over all alignments of the target to the output frames.

    Args:
        target: Integer array `(batch, max_label_length)` of label ids (padding after
            `target_length` is ignored).
        output: Array of logits `(batch, max_time, num_classes)` (softmax is applied).
        target_length: Integer array `(batch,)`, the true label lengths.
        output_length: Integer array `(batch,)`, the true numbers of frames.
        mask_index: Int, the blank class. Defaults to 0.

    Returns:
        A float array `(batch,)` (differentiable in `output`). A target that cannot be
        aligned in its frames gives a very large loss.
    """
    from rnnkit.ops.nn import log_softmax
    tv = _as_array(unwrap(target)).astype(np.int64)
    output = _as_float_op(output)
    ov = _as_array(unwrap(output))
    if ov.ndim != 3 or tv.ndim != 2 or tv.shape[0] != ov.shape[0]:
        raise ValueError(f"ctc_loss: expected target (batch, labels) and output (batch, time, "
                         f"classes), got shapes {tv.shape} and {ov.shape}")
    tl = _as_array(unwrap(target_length)).astype(np.int64).reshape(-1)
    ol = _as_array(unwrap(output_length)).astype(np.int64).reshape(-1)
    logp_t = log_softmax(output, axis=-1)
    logp = _as_array(unwrap(logp_t)).astype(np.float64)
    losses, grads = _ctc_forward_backward(logp, tv, tl, ol, int(mask_index))
    y = losses.astype(ov.dtype)
    tape = _state.tape
    if tape is None:
        return y
    return _record_op(tape, y, (logp_t,), lambda g, need: (
        (_as_array(g)[:, None, None] * grads).astype(ov.dtype),))


def ctc_decode(inputs, sequence_lengths, strategy="greedy", beam_width=100, top_paths=1,
               merge_repeated=True, mask_index=0):
    """Decodes CTC output probabilities into label sequences.

    Greedy decoding takes the most likely class per frame, merges repeats (when
    `merge_repeated`) and drops blanks. Beam search keeps the `beam_width` most likely label
    prefixes (summing over alignments) and returns the `top_paths` best.

    Args:
        inputs: Array `(batch, max_time, num_classes)` of probabilities or logits (greedy
            decoding is the same for both; beam search reads them as log-softmax inputs).
        sequence_lengths: Integer array `(batch,)`, the numbers of valid frames.
        strategy: `"greedy"` (the default) or `"beam_search"`.
        beam_width: Int, the beam size for beam search. Defaults to 100.
        top_paths: Int, the number of paths returned by beam search. Defaults to 1.
        merge_repeated: Bool, merge repeated classes (greedy). Defaults to True.
        mask_index: Int, the blank class. Defaults to 0.

    Returns:
        `(decoded, scores)`: `decoded` int32 `(top_paths, batch, max_time)` padded with -1,
        and float `scores` `(batch, top_paths)` (the negative sum of the chosen frames'
        values for greedy decoding, the log probabilities for beam search). Not
        differentiable.

    Raises:
        ValueError: For an unknown `strategy`.
    """
    x = _as_float(unwrap(inputs))
    lengths = _as_array(unwrap(sequence_lengths)).astype(np.int64).reshape(-1)
    B, T, C = x.shape
    if strategy == "greedy":
        idx = np.argmax(x, axis=-1)
        scores = np.max(x, axis=-1)
        invalid = np.arange(T)[None, :] >= lengths[:, None]
        idx = np.where(invalid, mask_index, idx)
        scores = np.where(invalid, 0.0, scores)
        if merge_repeated:
            rep = np.zeros_like(invalid)
            rep[:, 1:] = idx[:, 1:] == idx[:, :-1]
            idx = np.where(rep, mask_index, idx)
        out = np.full((B, T), -1, dtype=np.int32)
        for b in range(B):
            kept = idx[b][idx[b] != mask_index]
            out[b, :len(kept)] = kept
        return out[None], (-np.sum(scores, axis=1)[:, None]).astype(x.dtype)
    if strategy != "beam_search":
        raise ValueError(f"ctc_decode: invalid strategy {strategy!r}; expected 'greedy' or "
                         f"'beam_search'")
    from rnnkit.ops.nn import log_softmax
    logp = _as_array(log_softmax(x, axis=-1)).astype(np.float64)
    decoded = np.full((top_paths, B, T), -1, dtype=np.int32)
    scores = np.full((B, top_paths), -np.inf, dtype=np.float64)
    for b in range(B):
        beams = {(): (0.0, -np.inf)}              # prefix -> (log p ending blank, non-blank)
        for t in range(int(lengths[b])):
            nxt = {}

            def add(prefix, pb, pnb):
                ob, onb = nxt.get(prefix, (-np.inf, -np.inf))
                nxt[prefix] = (np.logaddexp(ob, pb), np.logaddexp(onb, pnb))

            for prefix, (pb, pnb) in beams.items():
                total = np.logaddexp(pb, pnb)
                add(prefix, total + logp[b, t, mask_index], -np.inf)
                for c in range(C):
                    if c == mask_index:
                        continue
                    lp = logp[b, t, c]
                    if prefix and prefix[-1] == c:
                        add(prefix, -np.inf, pnb + lp)            # repeat collapses
                        add(prefix + (c,), -np.inf, pb + lp)      # new symbol after blank
                    else:
                        add(prefix + (c,), -np.inf, total + lp)
            ranked = sorted(nxt.items(), key=lambda kv: -np.logaddexp(*kv[1]))
            beams = dict(ranked[:beam_width])
        ranked = sorted(beams.items(), key=lambda kv: -np.logaddexp(*kv[1]))[:top_paths]
        for p, (prefix, (pb, pnb)) in enumerate(ranked):
            decoded[p, b, :len(prefix)] = prefix
            scores[b, p] = np.logaddexp(pb, pnb)
    return decoded, scores.astype(x.dtype)


# ------------------------------------------------------------------------------------------------
# Rearrangements and complex numbers
# ------------------------------------------------------------------------------------------------

def _check_format(data_format):
    if data_format not in ("channels_last", "channels_first"):
        raise ValueError(f"data_format must be 'channels_last' or 'channels_first', got "
                         f"{data_format!r}")


def depth_to_space(x, block_size, data_format="channels_last"):
    """Moves blocks of channels into `block_size x block_size` spatial blocks of a 4-D array.

    Args:
        x: Array `(B, H, W, C)` (or `(B, C, H, W)` with `"channels_first"`), `C` divisible by
            `block_size ** 2`.
        block_size: Int >= 2.
        data_format: `"channels_last"` (the default) or `"channels_first"`.

    Returns:
        An array `(B, H * b, W * b, C / b**2)` (differentiable).
    """
    _check_format(data_format)
    b = int(block_size)
    if np.ndim(unwrap(x)) != 4:
        raise ValueError(f"depth_to_space: x must be 4-D, got shape {np.shape(unwrap(x))}")
    if data_format == "channels_first":
        B, C, H, W = np.shape(unwrap(x))
    else:
        B, H, W, C = np.shape(unwrap(x))
    if C % (b * b):
        raise ValueError(f"depth_to_space: channels ({C}) must be divisible by "
                         f"block_size**2 ({b * b})")
    c = C // (b * b)
    if data_format == "channels_first":
        # Keras' NCHW layout: the channel index splits as (c, bh, bw)
        y = _n.reshape(x, (B, c, b, b, H, W))
        y = _n.transpose(y, (0, 1, 4, 2, 5, 3))
        return _n.reshape(y, (B, c, H * b, W * b))
    y = _n.reshape(x, (B, H, W, b, b, c))
    y = _n.transpose(y, (0, 1, 3, 2, 4, 5))
    return _n.reshape(y, (B, H * b, W * b, c))


def space_to_depth(x, block_size, data_format="channels_last"):
    """Moves `block_size x block_size` spatial blocks of a 4-D array into channels (the
    inverse of `depth_to_space`).

    Args:
        x: Array `(B, H, W, C)` (or `(B, C, H, W)`), `H` and `W` divisible by `block_size`.
        block_size: Int >= 2.
        data_format: `"channels_last"` (the default) or `"channels_first"`.

    Returns:
        An array `(B, H / b, W / b, C * b**2)` (differentiable).
    """
    _check_format(data_format)
    b = int(block_size)
    if np.ndim(unwrap(x)) != 4:
        raise ValueError(f"space_to_depth: x must be 4-D, got shape {np.shape(unwrap(x))}")
    if data_format == "channels_first":
        B, C, H, W = np.shape(unwrap(x))
    else:
        B, H, W, C = np.shape(unwrap(x))
    if H % b or W % b:
        raise ValueError(f"space_to_depth: height ({H}) and width ({W}) must be divisible by "
                         f"block_size ({b})")
    if data_format == "channels_first":
        y = _n.reshape(x, (B, C, H // b, b, W // b, b))
        y = _n.transpose(y, (0, 1, 3, 5, 2, 4))
        return _n.reshape(y, (B, C * b * b, H // b, W // b))
    y = _n.reshape(x, (B, H // b, b, W // b, b, C))
    y = _n.transpose(y, (0, 1, 3, 2, 4, 5))
    return _n.reshape(y, (B, H // b, W // b, C * b * b))


def polar(abs_, angle):
    """Complex numbers from magnitudes and angles: `abs_ * exp(1j * angle)`.

    Args:
        abs_: Array of magnitudes.
        angle: Array of angles (radians), broadcast against `abs_`.

    Returns:
        A complex array (not differentiable).
    """
    r = _as_float(unwrap(abs_))
    a = _as_array(unwrap(angle))
    return _arr(r * np.cos(a) + 1j * r * np.sin(a))


