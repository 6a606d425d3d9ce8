"""Convolution and pooling ops (`keras.ops.conv`, `depthwise_conv`, `separable_conv`,
`conv_transpose`, `max_pool`, `average_pool`, `adaptive_average_pool`, `adaptive_max_pool`)
for 1-D inputs `(batch, steps, channels)`.

Each op gathers the input windows once (im2col: one fancy-indexing gather of shape
`(batch, out_steps, kernel_size, channels)`) and reduces them with ONE matrix product
(convolution; a batched product over the groups) or one reduction (pooling), so there is no
Python loop over positions. The gradients are written by hand (the transpose products, and
a scatter back over the `kernel_size` taps) and recorded on the GradientTape.

Padding follows Keras (and XLA): `"valid"` uses no padding, `"same"` pads
`max((out - 1) * stride + (k - 1) * dilation + 1 - steps, 0)` zeros, the smaller half at the
start, so that `out = ceil(steps / stride)`. Only rank-3 inputs (one spatial axis) are
implemented; others raise ValueError.
"""

from __future__ import annotations

from rnnkit import array_library
from rnnkit.ops._base import _record_op, _state, _xp, np, unwrap

__all__ = ["conv", "depthwise_conv", "separable_conv", "max_pool", "average_pool",
           "conv_transpose", "adaptive_average_pool", "adaptive_max_pool"]


def _data_format(data_format):
    if data_format is None:
        try:
            from rnnkit import config
            data_format = config.image_data_format()
        except (ImportError, AttributeError):
            data_format = "channels_last"
    if data_format not in ("channels_last", "channels_first"):
        raise ValueError(f"The `data_format` argument must be one of ('channels_last', "
                         f"'channels_first'). Received: data_format={data_format!r}")
    return data_format


def _one(value, name):
    """An int, or a 1-tuple/list of ints -> int >= 1."""
    if isinstance(value, (list, tuple)):
        if len(value) != 1:
            raise ValueError(f"Argument `{name}` must be an int or a tuple of 1 int for a 1-D "
                             f"input, got {value!r}")
        value = value[0]
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)) or \
            value < 1:
        raise ValueError(f"Argument `{name}` must be a positive int, got {value!r}")
    return int(value)


def _padding(padding):
    if not isinstance(padding, str) or padding.lower() not in ("valid", "same"):
        raise ValueError(f"The `padding` argument must be one of 'valid', 'same'. "
                         f"Received: padding={padding!r}")
    return padding.lower()


def _rank3(x, what):
    if len(np.shape(x)) != 3:
        raise ValueError(f"{what}: rnnkit implements 1-D convolution and pooling only: the "
                         f"input must have rank 3 (batch, steps, channels), got shape "
                         f"{tuple(np.shape(x))}")


def output_length(length, k, stride, dilation, padding):
    """The number of output steps and the (start, end) zero padding, Keras' rule."""
    span = (k - 1) * dilation + 1
    if padding == "valid":
        return max((length - span) // stride + 1, 0), (0, 0)
    out = -(-length // stride)
    total = max((out - 1) * stride + span - length, 0)
    return out, (total // 2, total - total // 2)


def _windows(xv, k, stride, dilation, padding, fill=0.0):
    """(padded x, window index (out, k), out, pads): xp[:, index] are the windows."""
    length = xv.shape[1]
    out, pads = output_length(length, k, stride, dilation, padding)
    xp = xv
    if pads != (0, 0):
        xp = np.pad(xv, ((0, 0), pads, (0, 0)), constant_values=fill)
    index = np.arange(out)[:, None] * stride + np.arange(k)[None, :] * dilation
    return xp, index, out, pads


def _scatter(dcols, padded_length, stride, dilation, out, pads, length):
    """The adjoint of the window gather: sums dcols (B, out, k, C) back into (B, L, C)."""
    b, _, k, c = dcols.shape
    dxp = _xp(dcols).zeros((b, padded_length, c), dtype=dcols.dtype)
    stop = (out - 1) * stride + 1
    for j in range(k):   # a loop over the kernel taps, not over positions
        start = j * dilation
        dxp[:, start:start + stop:stride, :] += dcols[:, :, j, :]
    return dxp[:, pads[0]:pads[0] + length, :]


def _to_last(x, data_format):
    if data_format == "channels_first":
        from rnnkit.ops.numpy import transpose
        return transpose(x, (0, 2, 1))
    return x


def _conv_last(x, kernel, stride, dilation, padding):
    """Grouped 1-D convolution, channels-last: x (B, L, C), kernel (k, C / G, O)."""
    xv, kv = unwrap(x), unwrap(kernel)
    if kv.ndim != 3:
        raise ValueError(f"conv: the kernel of a 1-D convolution must have rank 3 "
                         f"(kernel_size, in_channels / groups, out_channels), got shape "
                         f"{kv.shape}")
    b, length, c = xv.shape
    k, cg, o = kv.shape
    if cg == 0 or c % cg:
        raise ValueError(f"conv: the input's channels ({c}) must be a multiple of the "
                         f"kernel's input channels ({cg}); got input shape {xv.shape} and "
                         f"kernel shape {kv.shape}")
    groups = c // cg
    if o % groups:
        raise ValueError(f"conv: the kernel's output channels ({o}) must be a multiple of the "
                         f"number of groups ({groups} = {c} // {cg})")
    og = o // groups
    xp, index, out, pads = _windows(xv, k, stride, dilation, padding)
    dtype = np.result_type(xv.dtype, kv.dtype)
    cols = xp[:, index, :]                                        # (B, out, k, C)
    if groups == 1:
        cols2 = cols.reshape(b * out, k * c)
        k2 = kv.reshape(k * c, o)
        y = np.matmul(cols2, k2).reshape(b, out, o)
    else:
        cols2 = cols.reshape(b * out, k, groups, cg).transpose(2, 0, 1, 3) \
            .reshape(groups, b * out, k * cg)
        k2 = kv.reshape(k, cg, groups, og).transpose(2, 0, 1, 3).reshape(groups, k * cg, og)
        y = np.matmul(cols2, k2).transpose(1, 0, 2).reshape(b, out, o)
    y = y.astype(dtype, copy=False)
    tape = _state.tape
    if tape is None:
        return y

    def vjp(g, need):
        gx = gk = None
        if groups == 1:
            g2 = g.reshape(b * out, o)
            if need[1]:
                gk = (cols2.T @ g2).reshape(kv.shape)
            if need[0]:
                dcols = (g2 @ k2.T).reshape(b, out, k, c)
        else:
            g2 = g.reshape(b * out, groups, og).transpose(1, 0, 2)   # (G, B*out, og)
            if need[1]:
                gk = np.matmul(cols2.transpose(0, 2, 1), g2).reshape(groups, k, cg, og) \
                    .transpose(1, 2, 0, 3).reshape(kv.shape)
            if need[0]:
                dcols = np.matmul(g2, k2.transpose(0, 2, 1)).reshape(groups, b * out, k, cg) \
                    .transpose(1, 2, 0, 3).reshape(b, out, k, c)
        if need[0]:
            gx = _scatter(dcols, xp.shape[1], stride, dilation, out, pads, length)
        return gx, gk

    return _record_op(tape, y, (x, kernel), vjp)


def conv(inputs, kernel, strides=1, padding="valid", data_format=None, dilation_rate=1):
    """1-D convolution (a cross-correlation, as in Keras) of `inputs` with `kernel`.

    The number of groups is `channels // kernel.shape[1]` (Keras infers it the same way):
    each group of `channels / groups` input channels is convolved with its own block of
    `out_channels / groups` filters. Computed as one matrix product of the gathered windows.

    Args:
        inputs: Array `(batch, steps, channels)` (`channels_last`) or
            `(batch, channels, steps)` (`channels_first`).
        kernel: Array `(kernel_size, channels / groups, out_channels)`.
        strides: Int (or a 1-tuple), the step between windows. Defaults to 1.
        padding: `"valid"` (no padding, the default) or `"same"` (zero padding so that the
            output has `ceil(steps / strides)` steps).
        data_format: `"channels_last"` or `"channels_first"`. Defaults to the configured
            image data format (`"channels_last"`).
        dilation_rate: Int (or a 1-tuple), the spacing of the kernel taps. Defaults to 1.

    Returns:
        Array `(batch, out_steps, out_channels)` (or channels-first), differentiable in
        `inputs` and `kernel`.

    Raises:
        ValueError: For an input that is not of rank 3, a kernel that is not of rank 3,
            channels that do not divide into groups, or invalid strides, padding,
            data_format or dilation_rate.

    Example:

    >>> import numpy as np, rnnkit as keras
    >>> x = np.arange(5.0).reshape(1, 5, 1)
    >>> keras.ops.conv(x, np.ones((2, 1, 1)))[0, :, 0].tolist()
    [1.0, 3.0, 5.0, 7.0]
    """
    data_format = _data_format(data_format)
    _rank3(inputs, "conv")
    stride, dilation = _one(strides, "strides"), _one(dilation_rate, "dilation_rate")
    padding = _padding(padding)
    x = _to_last(inputs, data_format)
    return _to_last(_conv_last(x, kernel, stride, dilation, padding), data_format)


def depthwise_conv(inputs, kernel, strides=1, padding="valid", data_format=None,
                   dilation_rate=1):
    """1-D depthwise convolution: each input channel is convolved with its own
    `depth_multiplier` filters.

    Output channel `c * depth_multiplier + m` is input channel `c` convolved with
    `kernel[:, c, m]` (Keras' order). Computed as a grouped `conv` with one group per
    channel.

    Args:
        inputs: Array `(batch, steps, channels)` (or channels-first).
        kernel: Array `(kernel_size, channels, depth_multiplier)`.
        strides: Int (or a 1-tuple). Defaults to 1.
        padding: `"valid"` (the default) or `"same"`.
        data_format: `"channels_last"` or `"channels_first"`; defaults to the configured
            image data format.
        dilation_rate: Int (or a 1-tuple). Defaults to 1.

    Returns:
        Array `(batch, out_steps, channels * depth_multiplier)` (or channels-first),
        differentiable.

    Raises:
        ValueError: As `conv`, or if `kernel.shape[1]` differs from the input's channels.

    Example:

    >>> import numpy as np, rnnkit as keras
    >>> keras.ops.depthwise_conv(np.ones((1, 4, 2)), np.ones((3, 2, 2))).shape
    (1, 2, 4)
    """
    from rnnkit.ops.numpy import reshape
    data_format = _data_format(data_format)
    _rank3(inputs, "depthwise_conv")
    shape = tuple(np.shape(kernel))
    channels = np.shape(inputs)[1 if data_format == "channels_first" else 2]
    if len(shape) != 3 or shape[1] != channels:
        raise ValueError(f"depthwise_conv: the kernel must have shape (kernel_size, channels="
                         f"{channels}, depth_multiplier), got {shape}")
    flat = reshape(kernel, (shape[0], 1, shape[1] * shape[2]))
    return conv(inputs, flat, strides, padding, data_format, dilation_rate)


def separable_conv(inputs, depthwise_kernel, pointwise_kernel, strides=1, padding="valid",
                   data_format=None, dilation_rate=1):
    """1-D separable convolution: `depthwise_conv`, then a pointwise (kernel size 1) `conv`.

    Args:
        inputs: Array `(batch, steps, channels)` (or channels-first).
        depthwise_kernel: Array `(kernel_size, channels, depth_multiplier)`.
        pointwise_kernel: Array `(1, channels * depth_multiplier, out_channels)`.
        strides: Int (or a 1-tuple), of the depthwise step. Defaults to 1.
        padding: `"valid"` (the default) or `"same"`, of the depthwise step.
        data_format: `"channels_last"` or `"channels_first"`; defaults to the configured
            image data format.
        dilation_rate: Int (or a 1-tuple), of the depthwise step. Defaults to 1.

    Returns:
        Array `(batch, out_steps, out_channels)` (or channels-first), differentiable.

    Raises:
        ValueError: As `depthwise_conv` and `conv`.

    Example:

    >>> import numpy as np, rnnkit as keras
    >>> keras.ops.separable_conv(np.ones((1, 4, 2)), np.ones((3, 2, 1)),
    ...                          np.ones((1, 2, 5))).shape
    (1, 2, 5)
    """
    depthwise = depthwise_conv(inputs, depthwise_kernel, strides, padding, data_format,
                               dilation_rate)
    return conv(depthwise, pointwise_kernel, 1, "valid", data_format, 1)


def _pool(inputs, pool_size, strides, padding, data_format, kind):
    data_format = _data_format(data_format)
    _rank3(inputs, f"{kind}_pool")
    k = _one(pool_size, "pool_size")
    stride = k if strides is None else _one(strides, "strides")
    padding = _padding(padding)
    x = _to_last(inputs, data_format)
    xv = unwrap(x)
    length = xv.shape[1]
    if kind == "max":
        fill = -np.inf if array_library.is_real_floating(xv.dtype) else np.iinfo(xv.dtype).min
        xp, index, out, pads = _windows(xv, k, stride, 1, padding, fill)
        cols = xp[:, index, :]                                    # (B, out, k, C)
        arg = np.argmax(cols, axis=2) if out else _xp(cols).zeros(cols.shape[:2] + cols.shape[3:],
                                                            dtype=np.intp)
        y = np.take_along_axis(cols, arg[:, :, None, :], axis=2)[:, :, 0, :]
    else:
        xp, index, out, pads = _windows(xv, k, stride, 1, padding)
        cols = xp[:, index, :]
        if padding == "same":
            ones = np.pad(np.ones(length, dtype=xv.dtype), pads)
            counts = ones[index].sum(axis=1)[None, :, None]
            if type(xv) is not np.ndarray:
                counts = _xp(xv).asarray(counts)           # an upload of a few counts
        else:
            counts = np.asarray(k, dtype=xv.dtype)
        y = (cols.sum(axis=2) / counts).astype(xv.dtype, copy=False)
    tape = _state.tape
    if tape is not None:
        def vjp(g, need):
            if kind == "max":
                dcols = _xp(g).zeros(cols.shape, dtype=g.dtype)
                np.put_along_axis(dcols, arg[:, :, None, :], g[:, :, None, :], axis=2)
            else:
                dcols = np.broadcast_to((g / counts)[:, :, None, :], cols.shape)
            return (_scatter(dcols, xp.shape[1], stride, 1, out, pads, length),)

        y = _record_op(tape, y, (x,), vjp)
    return _to_last(y, data_format)


def max_pool(inputs, pool_size, strides=None, padding="valid", data_format=None):
    """1-D max pooling: the maximum of each window of `pool_size` steps.

    With `"same"` padding the padded positions never win (they count as -inf). The gradient
    goes to the first maximum of each window.

    Args:
        inputs: Array `(batch, steps, channels)` (or channels-first).
        pool_size: Int (or a 1-tuple), the window size.
        strides: Int (or a 1-tuple), the step between windows. Defaults to `pool_size`.
        padding: `"valid"` (the default) or `"same"`.
        data_format: `"channels_last"` or `"channels_first"`; defaults to the configured
            image data format.

    Returns:
        Array `(batch, out_steps, channels)` (or channels-first), differentiable.

    Raises:
        ValueError: For an input not of rank 3, or invalid sizes, padding or data_format.

    Example:

    >>> import numpy as np, rnnkit as keras
    >>> x = np.array([1.0, 3.0, 2.0, 5.0, 4.0]).reshape(1, 5, 1)
    >>> keras.ops.max_pool(x, 2)[0, :, 0].tolist()
    [3.0, 5.0]
    """
    return _pool(inputs, pool_size, strides, padding, data_format, "max")


def average_pool(inputs, pool_size, strides=None, padding="valid", data_format=None):
    """1-D average pooling: the mean of each window of `pool_size` steps.

    With `"same"` padding a window's mean is taken over its real steps only (the padding is
    not counted), as Keras does.

    Args:
        inputs: Array `(batch, steps, channels)` (or channels-first).
        pool_size: Int (or a 1-tuple), the window size.
        strides: Int (or a 1-tuple), the step between windows. Defaults to `pool_size`.
        padding: `"valid"` (the default) or `"same"`.
        data_format: `"channels_last"` or `"channels_first"`; defaults to the configured
            image data format.

    Returns:
        Array `(batch, out_steps, channels)` (or channels-first), differentiable.

    Raises:
        ValueError: For an input not of rank 3, or invalid sizes, padding or data_format.

    Example:

    >>> import numpy as np, rnnkit as keras
    >>> x = np.array([1.0, 3.0, 2.0, 5.0, 4.0]).reshape(1, 5, 1)
    >>> keras.ops.average_pool(x, 2, padding="same")[0, :, 0].tolist()
    [2.0, 3.5, 4.0]
    """
    return _pool(inputs, pool_size, strides, padding, data_format, "average")


def transpose_padding(k_eff, stride, padding, output_padding):
    """(left, right) padding of the stride-dilated input before the flipped-kernel
    correlation that makes a transposed convolution, by Keras' (JAX backend's) rule."""
    if padding == "valid":
        extra = max(k_eff, stride) - k_eff if output_padding is None else output_padding
        return k_eff - 1, k_eff - 1 + extra
    if output_padding is None:
        total = stride + k_eff - 2
    else:
        total = k_eff + k_eff % 2 - 2 + output_padding
    left = min(total // 2 + total % 2, k_eff - 1)
    return left, total - left


def transpose_output_length(length, k, stride, dilation, padding, output_padding):
    """The number of output steps of a 1-D transposed convolution (Keras' rule)."""
    k_eff = (k - 1) * dilation + 1
    left, right = transpose_padding(k_eff, stride, padding, output_padding)
    return max((length - 1) * stride + 1 + left + right - k_eff + 1, 0)


def conv_transpose(inputs, kernel, strides=1, padding="valid", output_padding=None,
                   data_format=None, dilation_rate=1):
    """1-D transposed convolution (the gradient of `conv` with respect to its input).

    Each input step `i` adds `kernel[j] @ x[i]` to output step `i * strides + j *
    dilation_rate` (for every tap `j`); the result is then cropped or zero-extended by
    Keras' padding rule: `"valid"` gives `(steps - 1) * strides + max(k_eff, strides)`
    steps, `"same"` gives `steps * strides`, and `output_padding` adds steps at the end
    (`k_eff = (kernel_size - 1) * dilation_rate + 1`). Computed as one matrix product and a
    scatter over the kernel taps.

    Args:
        inputs: Array `(batch, steps, in_channels)` (or channels-first).
        kernel: Array `(kernel_size, out_channels, in_channels)` (Keras' layout).
        strides: Int (or a 1-tuple). Defaults to 1.
        padding: `"valid"` (the default) or `"same"`.
        output_padding: Optional int (or a 1-tuple), the extra steps at the end; must be
            smaller than `strides` (or `dilation_rate`). Defaults to `None`.
        data_format: `"channels_last"` or `"channels_first"`; defaults to the configured
            image data format.
        dilation_rate: Int (or a 1-tuple). Defaults to 1.

    Returns:
        Array `(batch, out_steps, out_channels)` (or channels-first), differentiable in
        `inputs` and `kernel`.

    Raises:
        ValueError: For an input or kernel not of rank 3, a kernel whose last dimension
            differs from the input's channels, or invalid strides, padding, output_padding,
            data_format or dilation_rate.

    Example:

    >>> import numpy as np, rnnkit as keras
    >>> x = np.array([1.0, 2.0]).reshape(1, 2, 1)
    >>> keras.ops.conv_transpose(x, np.ones((3, 1, 1)), strides=2)[0, :, 0].tolist()
    [1.0, 1.0, 3.0, 2.0, 2.0]
    """
    data_format = _data_format(data_format)
    _rank3(inputs, "conv_transpose")
    stride, dilation = _one(strides, "strides"), _one(dilation_rate, "dilation_rate")
    padding = _padding(padding)
    if output_padding is not None:
        if isinstance(output_padding, (list, tuple)):
            if len(output_padding) != 1:
                raise ValueError(f"Argument `output_padding` must be an int or a tuple of 1 "
                                 f"int for a 1-D input, got {output_padding!r}")
            output_padding = output_padding[0]
        if isinstance(output_padding, (bool, np.bool_)) or \
                not isinstance(output_padding, (int, np.integer)) or output_padding < 0:
            raise ValueError(f"Argument `output_padding` must be a non-negative int, got "
                             f"{output_padding!r}")
        output_padding = int(output_padding)
        if output_padding >= stride and output_padding >= dilation:
            raise ValueError(f"Argument `output_padding` ({output_padding}) must be smaller "
                             f"than `strides` ({stride}) or `dilation_rate` ({dilation})")
    x = _to_last(inputs, data_format)
    xv, kv = unwrap(x), unwrap(kernel)
    if kv.ndim != 3:
        raise ValueError(f"conv_transpose: the kernel must have rank 3 (kernel_size, "
                         f"out_channels, in_channels), got shape {kv.shape}")
    b, length, c = xv.shape
    k, o, ci = kv.shape
    if ci != c:
        raise ValueError(f"conv_transpose: the kernel's last dimension ({ci}) must equal the "
                         f"input's channels ({c}); got input shape {xv.shape} and kernel "
                         f"shape {kv.shape}")
    k_eff = (k - 1) * dilation + 1
    left, right = transpose_padding(k_eff, stride, padding, output_padding)
    n_out = transpose_output_length(length, k, stride, dilation, padding, output_padding)
    offset = k_eff - 1 - left                 # >= 0: left <= k_eff - 1
    full = max((length - 1) * stride + k_eff, offset + n_out)
    dtype = np.result_type(xv.dtype, kv.dtype)
    k2 = kv.transpose(2, 0, 1).reshape(c, k * o)          # (C, k*O)
    x2 = xv.reshape(b * length, c)
    cols = np.matmul(x2, k2).reshape(b, length, k, o)
    yfull = _xp(cols).zeros((b, full, o), dtype=dtype)
    stop = (length - 1) * stride + 1
    for j in range(k):   # a loop over the kernel taps, not over positions
        yfull[:, j * dilation:j * dilation + stop:stride, :] += cols[:, :, j, :]
    y = yfull[:, offset:offset + n_out, :]
    tape = _state.tape
    if tape is not None:
        def vjp(g, need):
            gfull = _xp(g).zeros((b, full, o), dtype=g.dtype)
            gfull[:, offset:offset + n_out, :] = g
            index = np.arange(length)[:, None] * stride + np.arange(k)[None, :] * dilation
            gcols = gfull[:, index, :].reshape(b * length, k * o)     # (B*L, k*O)
            gx = (gcols @ k2.T).reshape(xv.shape) if need[0] else None
            gk = (x2.T @ gcols).reshape(c, k, o).transpose(1, 2, 0) if need[1] else None
            return gx, gk

        y = _record_op(tape, y, (x, kernel), vjp)
    return _to_last(y, data_format)


def _adaptive_size(output_size):
    if isinstance(output_size, (list, tuple)):
        if len(output_size) != 1:
            raise ValueError(f"For 1D input, `output_size` tuple must have length 1. "
                             f"Received: {output_size!r}")
        output_size = output_size[0]
    if isinstance(output_size, (bool, np.bool_)) or \
            not isinstance(output_size, (int, np.integer)) or output_size < 1:
        raise ValueError(f"Argument `output_size` must be a positive int (or a tuple of 1), "
                         f"got {output_size!r}")
    return int(output_size)


def _adaptive_pool(inputs, output_size, data_format, kind):
    data_format = _data_format(data_format)
    _rank3(inputs, f"adaptive_{kind}_pool")
    n = _adaptive_size(output_size)
    x = _to_last(inputs, data_format)
    xv = unwrap(x)
    length = xv.shape[1]
    if length < 1:
        raise ValueError(f"adaptive_{kind}_pool: the input must have at least one step, got "
                         f"shape {xv.shape}")
    starts = (np.arange(n) * length) // n
    ends = -((-np.arange(1, n + 1) * length) // n)
    width = int((ends - starts).max())
    # Windows padded to the widest one: index (n, width), valid where start + t < end.
    index = starts[:, None] + np.arange(width)[None, :]
    valid = index < ends[:, None]
    index = np.minimum(index, length - 1)
    cols = xv[:, index, :]                                  # (B, n, width, C)
    if kind == "max":
        fill = -np.inf if xv.dtype.kind == "f" else np.iinfo(xv.dtype).min
        masked = np.where(valid[None, :, :, None], cols, fill)
        arg = np.argmax(masked, axis=2)
        y = np.take_along_axis(masked, arg[:, :, None, :], axis=2)[:, :, 0, :]
    else:
        counts = (ends - starts).astype(xv.dtype)[None, :, None]
        y = (np.where(valid[None, :, :, None], cols, 0).sum(axis=2) / counts) \
            .astype(xv.dtype, copy=False)
    tape = _state.tape
    if tape is not None:
        def vjp(g, need):
            if kind == "max":
                dcols = np.zeros(cols.shape, dtype=g.dtype)
                np.put_along_axis(dcols, arg[:, :, None, :], g[:, :, None, :], axis=2)
            else:
                dcols = np.where(valid[None, :, :, None], (g / counts)[:, :, None, :], 0)
            gx = np.zeros(xv.shape, dtype=g.dtype)
            np.add.at(gx, (slice(None), index[valid]), dcols[:, valid, :])
            return (gx,)

        y = _record_op(tape, y, (x,), vjp)
    return _to_last(y, data_format)


def adaptive_average_pool(inputs, output_size, data_format=None):
    """1-D adaptive average pooling: `output_size` windows that together cover the steps.

    Window `i` spans steps `floor(i * L / n)` to `ceil((i + 1) * L / n)` (exclusive), for
    `L` input steps and `n = output_size` (PyTorch's and Keras' rule), and the output is the
    mean of each window.

    Args:
        inputs: Array `(batch, steps, channels)` (or channels-first).
        output_size: Int (or a 1-tuple), the number of output steps.
        data_format: `"channels_last"` or `"channels_first"`; defaults to the configured
            image data format.

    Returns:
        Array `(batch, output_size, channels)` (or channels-first), differentiable.

    Raises:
        ValueError: For an input not of rank 3 or without steps, or an invalid
            `output_size` or `data_format`.

    Example:

    >>> import numpy as np, rnnkit as keras
    >>> x = np.arange(5.0).reshape(1, 5, 1)
    >>> keras.ops.adaptive_average_pool(x, 2)[0, :, 0].tolist()
    [1.0, 3.0]
    """
    return _adaptive_pool(inputs, output_size, data_format, "average")


def adaptive_max_pool(inputs, output_size, data_format=None):
    """1-D adaptive max pooling: the maximum of each of `output_size` covering windows.

    The windows are those of `adaptive_average_pool`; the gradient goes to the first maximum
    of each window.

    Args:
        inputs: Array `(batch, steps, channels)` (or channels-first).
        output_size: Int (or a 1-tuple), the number of output steps.
        data_format: `"channels_last"` or `"channels_first"`; defaults to the configured
            image data format.

    Returns:
        Array `(batch, output_size, channels)` (or channels-first), differentiable.

    Raises:
        ValueError: For an input not of rank 3 or without steps, or an invalid
            `output_size` or `data_format`.

    Example:

    >>> import numpy as np, rnnkit as keras
    >>> x = np.array([1.0, 4.0, 2.0, 0.0, 3.0]).reshape(1, 5, 1)
    >>> keras.ops.adaptive_max_pool(x, 2)[0, :, 0].tolist()
    [4.0, 3.0]
    """
    return _adaptive_pool(inputs, output_size, data_format, "max")
