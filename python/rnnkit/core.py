"""Whole-sequence recurrent kernels of the C++ core, on NumPy arrays.

`rnn_forward` runs one recurrent layer over a batch of sequences; `rnn_backward` returns every
gradient of it (BPTT). Weights use the Keras layout and gate order:

    kernel            (I, G*H)
    recurrent_kernel  (H, G*H)
    bias              (G*H,), or (2, 3H) for GRU with reset_after=True

with G = 1 (simple_rnn), 3 (gru: z, r, h) or 4 (lstm: i, f, c, o). The semantics of masks,
go_backwards and dropout masks are Keras 3's; see cpp/include/rnnkit/sequence.h.

Both run on the GPU when given GPU arrays (CuPy, or any CUDA array with `__dlpack__` /
`__cuda_array_interface__`) and then return CuPy arrays; see `rnnkit.cuda`.
"""

from __future__ import annotations

from typing import NamedTuple, Optional

import numpy as np

from rnnkit import _core
from rnnkit import array_library
from rnnkit.cuda.arrays import is_device_array

CELLS = ("simple_rnn", "gru", "lstm")
GATES = {"simple_rnn": 1, "gru": 3, "lstm": 4}


def set_num_threads(n: int) -> None:
    """Sets the number of threads the C++ kernels use (`rnnkit.set_num_threads`).

    Args:
        n: Int, the number of threads; 0 restores the default (all available cores).

    Example:

    >>> import rnnkit
    >>> previous = rnnkit.get_num_threads()
    >>> rnnkit.set_num_threads(1)
    >>> rnnkit.get_num_threads()
    1
    >>> rnnkit.set_num_threads(previous)
    """
    if isinstance(n, (bool, np.bool_)) or not isinstance(n, (int, np.integer)):
        raise TypeError(f"set_num_threads: argument `n` must be an int, got {n!r} of type "
                        f"{type(n).__name__}")
    _core.set_num_threads(int(n))


def get_num_threads() -> int:
    """Returns the number of threads the C++ kernels use (`rnnkit.get_num_threads`).

    Returns:
        A positive int.
    """
    return _core.get_num_threads()


class ForwardResult(NamedTuple):
    """What `rnn_forward` returns.

    Attributes:
        output: `(B, T, H)` with `return_sequences`, else `(B, H)`.
        states: The final states: `[h]`, or `[h, c]` for an LSTM; each `(B, H)`.
        reserve: What `rnn_backward` needs (the per-step activations); `None` unless
            `training=True`.
    """

    output: np.ndarray              # (B, T, H) with return_sequences, else (B, H)
    states: list                    # [h] or, for lstm, [h, c]; each (B, H)
    reserve: Optional[np.ndarray]   # what rnn_backward needs; None unless training=True


class Gradients(NamedTuple):
    """What `rnn_backward` returns: the gradient of each input of `rnn_forward`.

    Attributes:
        d_x: Gradient of `x`, `(B, T, I)`; `None` with `need_d_x=False`.
        d_initial_state: `[dh0]`, or `[dh0, dc0]` for an LSTM; `None` with
            `need_d_initial_state=False`.
        d_kernel: Gradient of `kernel`, `(I, G*H)`.
        d_recurrent_kernel: Gradient of `recurrent_kernel`, `(H, G*H)`.
        d_bias: Gradient of `bias` (its shape); `None` when `bias` is `None`.
    """

    d_x: Optional[np.ndarray]       # None when rnn_backward(need_d_x=False)
    d_initial_state: Optional[list]  # [dh0] or [dh0, dc0]; None when not asked for
    d_kernel: np.ndarray
    d_recurrent_kernel: np.ndarray
    d_bias: Optional[np.ndarray]    # None when bias is None


def _as_array(value):
    """`value` as an ndarray without copying one (a list or scalar is converted, once)."""
    if value is None or type(value) is np.ndarray or isinstance(value, np.ndarray):
        return value
    return np.asarray(value)


def _as_kernel_array(value, name):
    """A C-contiguous, aligned array sharing memory with `value` whenever its layout allows."""
    if value is None:
        return None
    return np.require(_as_array(value), requirements=("C", "A"))


def _as_mask(mask):
    if mask is None:
        return None
    mask = np.asarray(mask)
    if mask.dtype == np.uint8:
        return np.require(mask, requirements=("C", "A"))
    if mask.dtype == np.bool_:
        return np.ascontiguousarray(mask).view(np.uint8)
    if mask.dtype.kind not in "biuf":
        raise TypeError(f"mask must hold booleans or numbers, got dtype {mask.dtype}")
    # C order whatever the mask's layout (Fortran-ordered, transposed): the core reads rows.
    return (mask != 0).astype(np.uint8, order="C")


def _is_core_layout(array):
    """True when the core reads `array` as it is (C-contiguous and aligned): no copy needed."""
    return array is None or (array.flags.c_contiguous and array.flags.aligned)


def _needs_conversion(args, extra=()):
    """True when converting `args` (arrays as given, see `_gather`) copies or pads anything: then
    `_core.check_forward` / `check_backward` must judge them first, from their metadata, so that
    a refused call costs no copy (a broadcast `x` of gigabytes, a huge int8 mask)."""
    for name in _ARRAYS:   # _is_core_layout, inlined: this runs on every call
        array = args[name]
        if array is not None:
            flags = array.flags
            if not (flags.c_contiguous and flags.aligned):
                return True
    for value in extra:
        if not _is_core_layout(value):
            return True
    mask = args["mask"]
    if mask is not None and (mask.dtype not in (np.uint8, np.bool_) or not _is_core_layout(mask)):
        return True
    x = args["x"]
    return x is not None and x.ndim == 3 and (x.shape[0] == 0 or x.shape[2] == 0)


_ARRAYS = ("x", "kernel", "recurrent_kernel", "bias", "initial_h", "initial_c", "input_dropout",
           "recurrent_dropout")


# `_core.forward`'s and `_core.backward`'s parameters around `training` (forward) or the gradients
# (backward), in order: the calls pass them by position, because matching twenty keywords costs
# the binding more than the core's own checks on a small call.
_CORE_HEAD = ("cell", "input_size", "units", "activation", "recurrent_activation", "reset_after",
              "go_backwards", "return_sequences", "zero_output_for_mask")
_CORE_ARRAYS = ("x", "kernel", "recurrent_kernel", "bias", "initial_h", "initial_c", "mask",
                "input_dropout", "recurrent_dropout")


def _refuse_gpu_bfloat16(where, bfloat16_matmuls):
    if bfloat16_matmuls:
        raise ValueError(f"{where}: bfloat16_matmuls=True runs on the CPU only, got arrays on "
                         f"a GPU")


def _core_forward(args, training, bfloat16_matmuls=False):
    """`_core.forward` on the arguments of `_gather` (converted)."""
    return _core.forward(*[args[k] for k in _CORE_HEAD], training,
                         *[args[k] for k in _CORE_ARRAYS], bfloat16_matmuls)


def _converted(args):
    """`args` with every array in the layout the core reads (copies only where needed)."""
    args = dict(args)
    for name in _ARRAYS:
        args[name] = _as_kernel_array(args[name], name)
    args["mask"] = _as_mask(args["mask"])
    return args


def _split_states(cell, states, name):
    if cell not in CELLS:
        raise ValueError(f"cell must be one of {CELLS}, got {cell!r}")
    count = 2 if cell == "lstm" else 1
    if states is None:
        return [None] * count
    if type(states) is list:
        pass   # the common case: nothing to convert
    elif isinstance(states, np.ndarray) or not isinstance(states, (list, tuple)):
        states = [states]
    else:
        states = list(states)
    if len(states) != count:
        raise ValueError(
            f"{name} must hold {count} array(s) for a {cell} cell ({'[h, c]' if count == 2 else '[h]'}), "
            f"got {len(states)}")
    return states


def _activation_name(activation, argument):
    if activation is None:
        return "linear"
    if not isinstance(activation, str):
        raise TypeError(f"{argument} must be a string name or None, got {type(activation).__name__}")
    return activation


def _units(cell, kernel, recurrent_kernel):
    """H as the weights state it: recurrent_kernel is (H, G*H); fall back on kernel (I, G*H) so
    that a malformed recurrent_kernel is reported as itself."""
    if recurrent_kernel is not None and recurrent_kernel.ndim == 2:
        return recurrent_kernel.shape[0]
    if not hasattr(kernel, "ndim"):   # a NumPy or GPU array keeps its own shape
        kernel = np.asarray(kernel)
    if kernel.ndim == 2 and kernel.shape[1] % GATES[cell] == 0 and kernel.shape[1] > 0:
        return kernel.shape[1] // GATES[cell]
    return 1


def _gather(cell, x, kernel, recurrent_kernel, bias, initial_state, mask, input_dropout_mask,
            recurrent_dropout_mask, activation, recurrent_activation, reset_after, go_backwards,
            return_sequences, zero_output_for_mask):
    """The core call's arguments, with the arrays as given (nothing copied yet)."""
    states = _split_states(cell, initial_state, "initial_state")
    x = _as_array(x)
    kernel = _as_array(kernel)
    recurrent_kernel = _as_array(recurrent_kernel)
    return dict(
        cell=cell,
        # Sizes as the arrays state them; the core checks every other array against these.
        input_size=x.shape[-1] if x is not None and x.ndim >= 1 else 1,
        units=recurrent_kernel.shape[0] if type(recurrent_kernel) is np.ndarray and
        recurrent_kernel.ndim == 2 else _units(cell, kernel, recurrent_kernel),
        activation=activation if type(activation) is str else
        _activation_name(activation, "activation"),
        recurrent_activation=recurrent_activation if type(recurrent_activation) is str else
        _activation_name(recurrent_activation, "recurrent_activation"),
        reset_after=bool(reset_after),
        go_backwards=bool(go_backwards),
        return_sequences=bool(return_sequences),
        zero_output_for_mask=bool(zero_output_for_mask),
        x=x,
        kernel=kernel,
        recurrent_kernel=recurrent_kernel,
        bias=_as_array(bias),
        initial_h=_as_array(states[0]),
        initial_c=_as_array(states[1]) if cell == "lstm" else None,
        mask=_as_array(mask),
        input_dropout=_as_array(input_dropout_mask),
        recurrent_dropout=_as_array(recurrent_dropout_mask),
    )


def _registered_library(*arrays):
    """The registered array library (`rnnkit.array_library`) of x or a weight when it is not
    NumPy's nor CuPy's, else None: its own fused core runs the call."""
    for a in arrays:
        kind = type(a)
        if kind is not np.ndarray:
            library = array_library._by_type.get(kind)
            if library is not None and library.sequence is not None and \
                    library.device_type != "gpu":
                return library
    return None


def _device_sequence(what, x, kernel, recurrent_kernel, bias):
    """The module whose `rnn_forward` / `rnn_backward` run a call on device arrays: the
    registered library's own (after checking that every array is on its device), or
    `rnnkit.cuda.sequence` for GPU arrays; None for a call on the CPU."""
    library = _registered_library(x, kernel, recurrent_kernel)
    if library is not None:
        array_library.check_same_device(x, kernel, recurrent_kernel, bias, what=what)
        return library.sequence
    if _on_gpu(x, kernel, recurrent_kernel):
        from rnnkit.cuda import sequence
        return sequence
    return None


def _refuse_device_arrays(what, **named):
    """On a CPU call (x and the kernels on the host), a device array among the other arguments
    is a DeviceMismatchError naming it (rather than the array library's refusal of an implicit
    copy, which names neither the argument nor the devices)."""
    for name, value in named.items():
        values = value if type(value) in (list, tuple) else (value,)
        for item in values:
            if item is None or type(item) is np.ndarray or array_library.is_host(item):
                continue
            raise array_library.DeviceMismatchError(
                f"{what}: argument '{name}' is on {array_library.device_of(item)!r} but 'x' and "
                f"the kernels are on 'cpu:0'. Put every array on one device first "
                f"(rnnkit.array_library.to_device / to_host).")


def _on_gpu(*arrays):
    """Whether the call runs on the GPU: x or a weight is a GPU array (any other argument then
    must be one too, on the same GPU)."""
    for a in arrays:
        if type(a) is not np.ndarray and is_device_array(a):   # NumPy arrays: the CPU
            return True
    return False


def _common(*gather_args):
    """The arguments `_core.forward` gets for an ordinary call (those of `_gather`, converted to
    the core's layout; checked first when converting would copy)."""
    args = _gather(*gather_args)
    if _needs_conversion(args):
        _core.check_forward(training=False, **args)
        args = _converted(args)
    return args


def _pad(array, axis, fill):
    """`array` with one more entry (of `fill`) along `axis`."""
    shape = list(array.shape)
    shape[axis] = 1
    return np.ascontiguousarray(
        np.concatenate([array, np.full(shape, fill, array.dtype)], axis=axis))


def _padded(args):
    """Keras runs an empty batch (B = 0) and inputs without features (I = 0); the core needs both
    positive. Returns (args, empty_batch, no_features) where args have one dummy sample (zeros,
    unmasked) for B = 0 and one zero feature (with a zero kernel row) for I = 0: the projection of
    a zero feature is exactly 0, what Keras' empty product gives, and the dummy sample is sliced
    off. Arrays of the wrong rank are left as they are, for the core to report."""
    x = args["x"]
    if x is None or x.ndim != 3 or (x.shape[0] > 0 and x.shape[2] > 0):
        return args, False, False
    args = dict(args)
    empty_batch, no_features = x.shape[0] == 0, x.shape[2] == 0
    if no_features:
        args["x"] = x = _pad(x, 2, 0)
        args["input_size"] = 1
        kernel = args["kernel"]
        if kernel is not None and kernel.ndim == 2 and kernel.shape[0] == 0:
            args["kernel"] = _pad(kernel, 0, 0)
        drop = args["input_dropout"]
        if drop is not None and drop.ndim in (2, 3) and drop.shape[-1] == 0:
            args["input_dropout"] = _pad(drop, drop.ndim - 1, 1)
    if empty_batch:
        args["x"] = _pad(x, 0, 0)
        for name, fill in (("initial_h", 0), ("initial_c", 0), ("mask", 1)):
            value = args[name]
            if value is not None and value.ndim == 2 and value.shape[0] == 0:
                args[name] = _pad(value, 0, fill)
        for name in ("input_dropout", "recurrent_dropout"):
            value = args[name]
            if value is not None and value.ndim in (2, 3) and value.shape[-2] == 0:
                args[name] = _pad(value, value.ndim - 2, 1)
    return args, empty_batch, no_features


def rnn_forward(cell: str, x, kernel, recurrent_kernel, bias=None, *, initial_state=None,
                mask=None, input_dropout_mask=None, recurrent_dropout_mask=None,
                activation="tanh", recurrent_activation="sigmoid", reset_after: bool = True,
                go_backwards: bool = False, return_sequences: bool = False,
                zero_output_for_mask: bool = False, training: bool = False,
                bfloat16_matmuls: bool = False) -> ForwardResult:
    """Runs one recurrent layer over a batch of sequences in the fused C++ kernel.

    This is what the SimpleRNN, GRU and LSTM layers call (on their weights' values). The
    weights use Keras' layout and gate order (see the module docstring); masks,
    `go_backwards` and the dropout masks follow Keras 3's semantics.

    Args:
        cell: `"simple_rnn"`, `"gru"` or `"lstm"`.
        x: The input, `(B, T, I)`, float32 or float64 (every array must have its dtype).
        kernel: `(I, G*H)`.
        recurrent_kernel: `(H, G*H)`.
        bias: Optional `(G*H,)`, or `(2, 3H)` for a GRU with `reset_after=True`.
        initial_state: Optional `[h0]` (or `[h0, c0]` for an LSTM), each `(B, H)`; zeros by
            default.
        mask: Optional `(B, T)` array, true (non-zero) for real timesteps. At a masked
            timestep the states are carried over and the output repeats the previous one.
        input_dropout_mask: Optional multipliers of the input (already scaled by
            `1 / (1 - rate)`): `(B, I)` shared by all gates, or `(G, B, I)`, one per gate.
        recurrent_dropout_mask: Optional multipliers of the state in the recurrent
            projection: `(B, H)` or `(G, B, H)`.
        activation: Name of the activation (`"tanh"`, `"relu"`, ...; see
            `rnnkit.activations.FUSED`), or `None` for linear. Defaults to `"tanh"`.
        recurrent_activation: Name of the gate activation. Defaults to `"sigmoid"`.
        reset_after: Bool, the GRU variant (ignored by the other cells). Defaults to `True`.
        go_backwards: Bool, process the sequence in reverse; the output sequence is in
            processing order. Defaults to `False`.
        return_sequences: Bool, return every timestep's output. Defaults to `False`.
        zero_output_for_mask: Bool, masked timesteps output zeros. Defaults to `False`.
        training: Bool, keep the `reserve` that `rnn_backward` needs. Defaults to `False`.
        bfloat16_matmuls: Bool, float32 arrays on the CPU only: the matrix products (input
            projection, recurrent product) multiply bfloat16 roundings of their operands and
            sum in float32, on AMX tiles where `rnnkit._core.build_info()["amx_bf16"]` is
            true; elsewhere the call computes in float32, as without it. The state, the gates
            and the outputs stay float32. The `mixed_bfloat16` dtype policy uses it. Defaults
            to `False`.

    Returns:
        A `ForwardResult(output, states, reserve)`.

    Raises:
        ValueError: For an unknown cell or activation, or arrays of inconsistent shapes or
            dtypes.
        TypeError: If an activation is not a string or `None`, or the mask is not numeric.

    Example:

    >>> import numpy as np, rnnkit as keras
    >>> x = np.random.rand(2, 5, 3).astype("float32")
    >>> layer = keras.layers.LSTM(4, return_sequences=True)
    >>> y = layer(x)
    >>> kernel, recurrent_kernel, bias = layer.get_weights()
    >>> result = keras.core.rnn_forward("lstm", x, kernel, recurrent_kernel, bias,
    ...                                 return_sequences=True)
    >>> result.output.shape, len(result.states), bool(np.allclose(result.output, y))
    ((2, 5, 4), 2, True)
    """
    sequence = _device_sequence("rnnkit.core.rnn_forward", x, kernel, recurrent_kernel, bias)
    if sequence is None:
        _refuse_device_arrays("rnnkit.core.rnn_forward", bias=bias, initial_state=initial_state,
                              mask=mask, input_dropout_mask=input_dropout_mask,
                              recurrent_dropout_mask=recurrent_dropout_mask)
    else:
        _refuse_gpu_bfloat16("rnnkit.core.rnn_forward", bfloat16_matmuls)
        return sequence.rnn_forward(
            cell, x, kernel, recurrent_kernel, bias, initial_state=initial_state, mask=mask,
            input_dropout_mask=input_dropout_mask, recurrent_dropout_mask=recurrent_dropout_mask,
            activation=activation, recurrent_activation=recurrent_activation,
            reset_after=reset_after, go_backwards=go_backwards, return_sequences=return_sequences,
            zero_output_for_mask=zero_output_for_mask, training=training)
    args = _gather(cell, x, kernel, recurrent_kernel, bias, initial_state, mask,
                   input_dropout_mask, recurrent_dropout_mask, activation, recurrent_activation,
                   reset_after, go_backwards, return_sequences, zero_output_for_mask)
    if _needs_conversion(args):
        _core.check_forward(training=bool(training), **args)  # before any copy
        args = _converted(args)
    args, empty_batch, _ = _padded(args)
    output, h, c, reserve = _core_forward(args, bool(training), bool(bfloat16_matmuls))
    if empty_batch:
        output, h = output[:0], h[:0]
        c = None if c is None else c[:0]
        reserve = None if reserve is None else reserve[:0]
    states = [h, c] if cell == "lstm" else [h]
    return ForwardResult(output, states, reserve)


def rnn_backward(cell: str, x, kernel, recurrent_kernel, bias=None, *, reserve, d_output,
                 d_states=None, initial_state=None, mask=None, input_dropout_mask=None,
                 recurrent_dropout_mask=None, activation="tanh", recurrent_activation="sigmoid",
                 reset_after: bool = True, go_backwards: bool = False,
                 return_sequences: bool = False, zero_output_for_mask: bool = False,
                 need_d_x: bool = True, need_d_initial_state: bool = True,
                 bfloat16_matmuls: bool = False) -> Gradients:
    """Computes every gradient of one `rnn_forward(..., training=True)` call (BPTT).

    Args:
        cell: As in `rnn_forward`.
        x: As in `rnn_forward`.
        kernel: As in `rnn_forward`.
        recurrent_kernel: As in `rnn_forward`.
        bias: As in `rnn_forward`.
        reserve: The `reserve` of the forward call's result.
        d_output: The gradient of the forward output (its shape).
        d_states: Optional gradients of the final states, like `states`; `None` means zero.
        initial_state: The forward call's value.
        mask: The forward call's value.
        input_dropout_mask: The forward call's value.
        recurrent_dropout_mask: The forward call's value.
        activation: The forward call's value.
        recurrent_activation: The forward call's value.
        reset_after: The forward call's value.
        go_backwards: The forward call's value.
        return_sequences: The forward call's value.
        zero_output_for_mask: The forward call's value.
        need_d_x: Bool; with `False` the input gradient is not computed (`d_x` is `None`),
            which saves a matrix product. Defaults to `True`.
        need_d_initial_state: Bool; with `False` the initial state's gradient is not
            computed (`d_initial_state` is `None`), which saves the first timestep's
            recurrent product on the CPU. Defaults to `True`.
        bfloat16_matmuls: Bool, as for `rnn_forward`: the products outside the time loop
            (the weight gradients and `d_x`) multiply bfloat16 roundings of their factors on
            AMX tiles where the CPU has them; the time loop's own product stays float32.
            Defaults to `False`.

    Returns:
        A `Gradients(d_x, d_initial_state, d_kernel, d_recurrent_kernel, d_bias)`.

    Raises:
        ValueError: If `reserve` is `None` (a forward call without `training=True`) or the
            arrays do not match.

    Example:

    >>> import numpy as np, rnnkit as keras
    >>> rng = np.random.default_rng(0)
    >>> x = rng.random((2, 5, 3), dtype=np.float32)
    >>> k = rng.random((3, 4), dtype=np.float32)
    >>> r = rng.random((4, 4), dtype=np.float32)
    >>> fwd = keras.core.rnn_forward("simple_rnn", x, k, r, training=True)
    >>> grads = keras.core.rnn_backward("simple_rnn", x, k, r, reserve=fwd.reserve,
    ...                                 d_output=np.ones_like(fwd.output))
    >>> grads.d_x.shape, grads.d_kernel.shape, grads.d_bias is None
    ((2, 5, 3), (3, 4), True)
    """
    sequence = _device_sequence("rnnkit.core.rnn_backward", x, kernel, recurrent_kernel, bias)
    if sequence is None:
        _refuse_device_arrays("rnnkit.core.rnn_backward", bias=bias, reserve=reserve,
                              d_output=d_output, d_states=d_states, initial_state=initial_state,
                              mask=mask, input_dropout_mask=input_dropout_mask,
                              recurrent_dropout_mask=recurrent_dropout_mask)
    else:
        _refuse_gpu_bfloat16("rnnkit.core.rnn_backward", bfloat16_matmuls)
        return sequence.rnn_backward(
            cell, x, kernel, recurrent_kernel, bias, reserve=reserve, d_output=d_output,
            d_states=d_states, initial_state=initial_state, mask=mask,
            input_dropout_mask=input_dropout_mask, recurrent_dropout_mask=recurrent_dropout_mask,
            activation=activation, recurrent_activation=recurrent_activation,
            reset_after=reset_after, go_backwards=go_backwards, return_sequences=return_sequences,
            zero_output_for_mask=zero_output_for_mask, need_d_x=need_d_x,
            need_d_initial_state=need_d_initial_state)
    args = _gather(cell, x, kernel, recurrent_kernel, bias, initial_state, mask,
                   input_dropout_mask, recurrent_dropout_mask, activation, recurrent_activation,
                   reset_after, go_backwards, return_sequences, zero_output_for_mask)
    d_states = _split_states(cell, d_states, "d_states")
    if reserve is None:
        raise ValueError("reserve is None: run rnn_forward with training=True first")
    reserve = _as_array(reserve)
    d_output = _as_array(d_output)
    d_final_h = _as_array(d_states[0])
    d_final_c = _as_array(d_states[1]) if cell == "lstm" else None
    if _needs_conversion(args, (reserve, d_output, d_final_h, d_final_c)):
        _core.check_backward(reserve=reserve, d_output=d_output, d_final_h=d_final_h,
                             d_final_c=d_final_c, **args)  # before any copy
        args = _converted(args)
        reserve = _as_kernel_array(reserve, "reserve")
        d_output = _as_kernel_array(d_output, "d_output")
        d_final_h = _as_kernel_array(d_final_h, "d_states")
        d_final_c = _as_kernel_array(d_final_c, "d_states")
    args, empty_batch, no_features = _padded(args)
    if empty_batch or no_features:
        # The reserve of the padded call: the forward's own is empty (B = 0) or laid out for
        # the padded call already (I = 0 pads x, not the reserve).
        if empty_batch:
            if reserve.size != 0:
                raise ValueError(f"argument 'reserve' must be empty for an empty batch, got "
                                 f"shape {reserve.shape}")
            reserve = _core_forward(args, True)[3]
            d_output = _pad(d_output, 0, 0) if d_output.ndim >= 1 and d_output.shape[0] == 0 \
                else d_output
            # (0, H) state gradients: the dummy sample's are zero (None); other shapes go on to
            # the core, which refuses them.
            d_final_h = None if d_final_h is not None and d_final_h.shape[:1] == (0,) else d_final_h
            d_final_c = None if d_final_c is not None and d_final_c.shape[:1] == (0,) else d_final_c
    d_x, d_h0, d_c0, d_kernel, d_recurrent, d_bias = _core.backward(
        *[args[k] for k in _CORE_HEAD], *[args[k] for k in _CORE_ARRAYS], reserve, d_output,
        d_final_h, d_final_c, bool(need_d_x), bool(need_d_initial_state),
        bool(bfloat16_matmuls))
    if empty_batch:
        d_x = None if d_x is None else d_x[:0]
        d_h0 = None if d_h0 is None else d_h0[:0]
        d_c0 = None if d_c0 is None else d_c0[:0]
    if no_features:
        d_x = None if d_x is None else np.ascontiguousarray(d_x[..., :0])
        d_kernel = np.ascontiguousarray(d_kernel[:0])
    d_initial = None if d_h0 is None else [d_h0, d_c0] if cell == "lstm" else [d_h0]
    return Gradients(d_x, d_initial, d_kernel, d_recurrent, d_bias)


__all__ = ["CELLS", "GATES", "ForwardResult", "Gradients", "rnn_forward", "rnn_backward",
           "set_num_threads", "get_num_threads"]


class RNNStream:
    """One recurrent layer run a timestep (or a chunk of timesteps) per call: streaming inference.

    The weights are packed once, when the stream is made (and again by `set_weights`); the
    states live inside the stream and carry over from call to call. Each call runs on the
    calling thread, allocates only its output, and gives bit for bit what `rnn_forward` gives
    over the same timesteps (inference, no dropout). Weights use the layout of `rnn_forward`.

    Args:
        cell: `"simple_rnn"`, `"gru"` or `"lstm"`.
        kernel: `(I, G*H)` float32 or float64 array; its dtype is the stream's.
        recurrent_kernel: `(H, G*H)`, same dtype.
        bias: `(G*H,)`, or `(2, 3H)` for GRU with `reset_after=True`; `None` for no bias.
        batch_size: Int, the batch size B of every call. Defaults to 1.
        activation: Activation name (or `None` for linear). Defaults to `"tanh"`.
        recurrent_activation: Gate activation name. Defaults to `"sigmoid"`.
        reset_after: Bool, GRU only (Keras' default `True`).
        zero_output_for_mask: Bool, masked steps of `run` output zeros instead of the previous
            output. Defaults to `False`.
        weight_format: How a float32 stream stores its packed `kernel` and `recurrent_kernel`:
            `"float32"` (the default, bit-identical to `rnn_forward`), `"bfloat16"` or
            `"float16"` (half the bytes read per step; arithmetic and states stay float32).
            Each weight is rounded to the nearest value of the format once, when packed, and the
            results equal bit for bit `rnn_forward`'s with the weights rounded so beforehand.
            The bias is not rounded.

    Raises:
        ValueError: For an unknown cell, activation or weight_format, weights of the wrong
            shape, a 16-bit weight_format for float64 weights, or a weight the format cannot
            hold (not finite after rounding, e.g. above 65504 for float16).
        TypeError: For weights that are not float32/float64 or of mixed dtypes, or a
            weight_format that is not a string.

    Example:

    >>> import numpy as np
    >>> from rnnkit import core
    >>> rng = np.random.default_rng(0)
    >>> kernel = rng.normal(size=(3, 8)).astype("float32")
    >>> recurrent = rng.normal(size=(2, 8)).astype("float32")
    >>> x = rng.normal(size=(1, 5, 3)).astype("float32")
    >>> stream = core.RNNStream("lstm", kernel, recurrent)
    >>> steps = [stream.step(x[:, t]) for t in range(5)]
    >>> whole = core.rnn_forward("lstm", x, kernel, recurrent, return_sequences=True)
    >>> bool(np.array_equal(np.stack(steps, axis=1), whole.output))
    True
    """

    def __init__(self, cell, kernel, recurrent_kernel, bias=None, *, batch_size=1,
                 activation="tanh", recurrent_activation="sigmoid", reset_after=True,
                 zero_output_for_mask=False, weight_format="float32"):
        if cell not in CELLS:
            raise ValueError(f"cell must be one of {CELLS}, got {cell!r}")
        if isinstance(batch_size, (bool, np.bool_)) or not isinstance(batch_size,
                                                                      (int, np.integer)):
            raise TypeError(f"batch_size must be an int, got {batch_size!r}")
        if not isinstance(weight_format, str):
            raise TypeError(f"weight_format must be a string ('float32', 'bfloat16' or "
                            f"'float16'), got {weight_format!r}")
        kernel = _as_kernel_array(kernel, "kernel")
        recurrent_kernel = _as_kernel_array(recurrent_kernel, "recurrent_kernel")
        bias = _as_kernel_array(bias, "bias")
        if kernel.ndim != 2:
            raise ValueError(f"kernel must have shape (input_size, gates * units), got "
                             f"{kernel.shape}")
        self.cell = cell
        self._stream = _core.Stream(
            cell=cell, input_size=kernel.shape[0], units=_units(cell, kernel, recurrent_kernel),
            activation=_activation_name(activation, "activation"),
            recurrent_activation=_activation_name(recurrent_activation, "recurrent_activation"),
            reset_after=bool(reset_after), zero_output_for_mask=bool(zero_output_for_mask),
            batch=int(batch_size), kernel=kernel, recurrent_kernel=recurrent_kernel, bias=bias,
            weight_format=weight_format)

    @property
    def batch_size(self):
        """The batch size every call must have."""
        return self._stream.batch

    @property
    def dtype(self):
        """The stream's dtype name (`"float32"` or `"float64"`)."""
        return self._stream.dtype

    @property
    def weight_format(self):
        """How the packed weights are stored: `"float32"`, `"bfloat16"` or `"float16"`."""
        return self._stream.weight_format

    def set_weights(self, kernel, recurrent_kernel, bias=None):
        """Packs new weights of the same shapes and dtype; the states are kept."""
        self._stream.set_weights(_as_kernel_array(kernel, "kernel"),
                                 _as_kernel_array(recurrent_kernel, "recurrent_kernel"),
                                 _as_kernel_array(bias, "bias"))

    def step(self, x_t):
        """Advances one timestep: `x_t` `(B, I)` in; returns the new h `(B, H)`."""
        return self._stream.step(np.require(_as_array(x_t), requirements=("C", "A")))

    def run(self, x, return_sequences=True, mask=None):
        """Advances `T` timesteps: `x` `(B, T, I)` in; returns `(B, T, H)`, or the last output
        `(B, H)` with `return_sequences=False`. A `mask` `(B, T)` skips its zero steps as
        `rnn_forward` does (the previous output repeats, within this call)."""
        return self._stream.run(np.require(_as_array(x), requirements=("C", "A")),
                                bool(return_sequences), _as_mask(mask))

    def reset_states(self):
        """Sets the states to zeros."""
        self._stream.reset_states()

    @property
    def states(self):
        """Copies of the current states: `[h]`, or `[h, c]` for an LSTM; each `(B, H)`."""
        h, c = self._stream.states()
        return [h] if c is None else [h, c]

    def set_states(self, states):
        """Sets the states from `[h]` (or `[h, c]` for an LSTM), each `(B, H)`."""
        states = [np.require(_as_array(s), requirements=("C", "A"))
                  for s in _split_states(self.cell, states, "states")]
        self._stream.set_states(*states)
