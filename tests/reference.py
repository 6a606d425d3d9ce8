"""Plain-NumPy reference of one Keras 3 recurrent layer, written step by step from the equations.

This is the oracle of the test-suite. It favours
being obviously correct over being fast: every step is a literal transcription of the Keras
cell code (implementation=1, i.e. one slice of the kernels per gate), computed in float64.

    reference_forward(cell, x, kernel, recurrent_kernel, bias=None, *, ...) -> (output, states)

mirrors rnnkit.core.rnn_forward (same arguments and defaults) and returns the output and the list
of final states ([h], or [h, c] for LSTM), cast to the dtype of `x`.
"""

from __future__ import annotations

import math

import numpy as np

GATES = {"simple_rnn": 1, "gru": 3, "lstm": 4}
CELLS = tuple(GATES)

# --------------------------------------------------------------------------------------------
# Activations (Keras 3 definitions, default parameters; float64 in, float64 out)
# --------------------------------------------------------------------------------------------

SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946

_erf = np.vectorize(math.erf, otypes=[np.float64])


def _sigmoid(x):
    # The true logistic, evaluated without overflow on either side.
    with np.errstate(over="ignore", invalid="ignore"):
        e = np.exp(-np.abs(x))
        return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def _softplus(x):
    return np.logaddexp(0.0, x)


def _hard_sigmoid(x):
    return np.clip(x / 6.0 + 0.5, 0.0, 1.0)


def _elu(x):
    return np.where(x > 0, x, np.expm1(np.minimum(x, 0.0)))


def _selu(x):
    return SELU_SCALE * np.where(x > 0, x, SELU_ALPHA * np.expm1(np.minimum(x, 0.0)))


def _celu(x, alpha=1.0):
    return np.maximum(x, 0.0) + np.minimum(0.0, alpha * np.expm1(np.minimum(x, 0.0) / alpha))


def _gelu(x):
    return 0.5 * x * (1.0 + _erf(x / math.sqrt(2.0)))


def _sparse_plus(x):
    return np.where(x <= -1.0, 0.0, np.where(x >= 1.0, x, (x + 1.0) ** 2 / 4.0))


def _sparse_sigmoid(x):
    return np.where(x <= -1.0, 0.0, np.where(x >= 1.0, 1.0, (x + 1.0) / 2.0))


def _soft_shrink(x, threshold=0.5):
    return np.where(x > threshold, x - threshold, np.where(x < -threshold, x + threshold, 0.0))


def _hard_shrink(x, threshold=0.5):
    return np.where(np.abs(x) > threshold, x, 0.0)


def _exponential(x):
    with np.errstate(over="ignore"):
        return np.exp(x)


ACTIVATIONS = {
    "linear": lambda x: x,
    "tanh": np.tanh,
    "sigmoid": _sigmoid,
    "hard_sigmoid": _hard_sigmoid,
    "hard_silu": lambda x: x * _hard_sigmoid(x),
    "relu": lambda x: np.maximum(x, 0.0),
    "relu6": lambda x: np.clip(x, 0.0, 6.0),
    "leaky_relu": lambda x: np.where(x >= 0, x, 0.2 * x),
    "elu": _elu,
    "selu": _selu,
    "celu": _celu,
    "softplus": _softplus,
    "softsign": lambda x: x / (1.0 + np.abs(x)),
    "silu": lambda x: x * _sigmoid(x),
    "gelu": _gelu,
    "exponential": _exponential,
    "mish": lambda x: x * np.tanh(_softplus(x)),
    "log_sigmoid": lambda x: -_softplus(-x),
    "hard_tanh": lambda x: np.clip(x, -1.0, 1.0),
    "tanh_shrink": lambda x: x - np.tanh(x),
    "squareplus": lambda x: (x + np.sqrt(x * x + 4.0)) / 2.0,
    "sparse_plus": _sparse_plus,
    "sparse_sigmoid": _sparse_sigmoid,
    "soft_shrink": _soft_shrink,
    "hard_shrink": _hard_shrink,
}

# Other Keras names for the same functions.
ACTIVATION_ALIASES = {"hard_swish": "hard_silu", "swish": "silu"}

# Points where an activation's first derivative is discontinuous (or the function itself is):
# finite differences are meaningless if a pre-activation lies within eps of one of them.
ACTIVATION_KINKS = {
    "hard_sigmoid": (-3.0, 3.0),
    "hard_silu": (-3.0, 3.0),
    "relu": (0.0,),
    "relu6": (0.0, 6.0),
    "leaky_relu": (0.0,),
    "selu": (0.0,),
    "hard_tanh": (-1.0, 1.0),
    "sparse_sigmoid": (-1.0, 1.0),
    "soft_shrink": (-0.5, 0.5),
    "hard_shrink": (-0.5, 0.5),
}


def canonical_activation(name):
    """Keras name (or alias, or None) -> key of ACTIVATIONS."""
    if name is None:
        return "linear"
    name = ACTIVATION_ALIASES.get(name, name)
    if name not in ACTIVATIONS:
        raise ValueError(f"unknown activation {name!r}")
    return name


# --------------------------------------------------------------------------------------------
# The layer
# --------------------------------------------------------------------------------------------


def _per_gate(dropout_mask, gates, shape):
    """A dropout mask -> a list of one float64 (B, n) multiplier per gate (ones when None)."""
    if dropout_mask is None:
        return [np.ones(shape) for _ in range(gates)]
    m = np.asarray(dropout_mask, dtype=np.float64)
    if m.ndim == 2:                       # (B, n): shared by every gate
        assert m.shape == shape, (m.shape, shape)
        return [m for _ in range(gates)]
    assert m.shape == (gates,) + shape, (m.shape, (gates,) + shape)
    return [m[k] for k in range(gates)]   # (G, B, n): gate k uses row k


def reference_forward(cell, x, kernel, recurrent_kernel, bias=None, *, initial_state=None,
                      mask=None, input_dropout_mask=None, recurrent_dropout_mask=None,
                      activation="tanh", recurrent_activation="sigmoid", reset_after=True,
                      go_backwards=False, return_sequences=False, zero_output_for_mask=False,
                      training=False, trace=None, product_operand=None):
    """Returns (output, [h] or [h, c]) exactly as Keras 3 defines them, cast to x's dtype.

    `training` is accepted and ignored (the dropout masks are given explicitly). When `trace` is a
    list, (activation name, pre-activation array) is appended for every activation evaluated.
    `product_operand(a)`, when given, is what a matrix product sees of each factor (the kernels,
    the masked x_t and h_{t-1}, GRU's r * h_{t-1}): e.g. a rounding to bfloat16, as
    `rnn_forward(..., bfloat16_matmuls=True)` multiplies.
    """
    del training
    operand = product_operand if product_operand is not None else (lambda a: a)
    out_dtype = np.asarray(x).dtype
    x = np.asarray(x, dtype=np.float64)
    G = GATES[cell]
    B, T, I = x.shape
    W = np.asarray(kernel, dtype=np.float64)
    R = np.asarray(recurrent_kernel, dtype=np.float64)
    H = R.shape[0]
    assert W.shape == (I, G * H) and R.shape == (H, G * H), (W.shape, R.shape)

    phi_name = canonical_activation(activation)
    sigma_name = canonical_activation(recurrent_activation)

    def act(name, z):
        if trace is not None:
            trace.append((name, z.copy()))
        return ACTIVATIONS[name](z)

    def phi(z):
        return act(phi_name, z)

    def sigma(z):
        return act(sigma_name, z)

    # Biases: b_in is added to the input projection, b_rec (GRU reset_after only) to the
    # recurrent projection. No bias = zeros.
    b_in = np.zeros(G * H)
    b_rec = np.zeros(G * H)
    if bias is not None:
        b = np.asarray(bias, dtype=np.float64)
        if cell == "gru" and reset_after:
            assert b.shape == (2, 3 * H), b.shape
            b_in, b_rec = b[0], b[1]
        else:
            assert b.shape == (G * H,), b.shape
            b_in = b

    def block(a, k):
        return a[..., k * H:(k + 1) * H]

    Wk = [operand(block(W, k)) for k in range(G)]
    Rk = [operand(block(R, k)) for k in range(G)]
    bk = [block(b_in, k) for k in range(G)]
    rbk = [block(b_rec, k) for k in range(G)]

    in_masks = _per_gate(input_dropout_mask, G, (B, I))
    rec_masks = _per_gate(recurrent_dropout_mask, G, (B, H))

    # Initial states.
    n_states = 2 if cell == "lstm" else 1
    if initial_state is None:
        states = [np.zeros((B, H)) for _ in range(n_states)]
    else:
        if isinstance(initial_state, np.ndarray):
            initial_state = [initial_state]
        assert len(initial_state) == n_states
        states = [np.asarray(s, dtype=np.float64).reshape(B, H).copy() for s in initial_state]
    h = states[0]
    c = states[1] if cell == "lstm" else None

    if mask is None:
        mask = np.ones((B, T), dtype=bool)
    mask = np.asarray(mask) != 0
    assert mask.shape == (B, T), mask.shape

    prev_out = np.zeros((B, H))   # "previous output" before the first real step
    outputs = []
    steps = range(T - 1, -1, -1) if go_backwards else range(T)
    for t in steps:
        x_t = x[:, t, :]
        xs = [operand(x_t * in_masks[k]) for k in range(G)]   # input of gate k
        h_dropped = [h * rec_masks[k] for k in range(G)]
        hs = [operand(a) for a in h_dropped]    # h_{t-1} seen by gate k's recurrent kernel

        if cell == "simple_rnn":
            new_h = phi(xs[0] @ Wk[0] + bk[0] + hs[0] @ Rk[0])
            new_c = None
            out = new_h
        elif cell == "gru":
            x_z = xs[0] @ Wk[0] + bk[0]
            x_r = xs[1] @ Wk[1] + bk[1]
            x_h = xs[2] @ Wk[2] + bk[2]
            rec_z = hs[0] @ Rk[0] + rbk[0]   # rbk is zero unless reset_after
            rec_r = hs[1] @ Rk[1] + rbk[1]
            z = sigma(x_z + rec_z)
            r = sigma(x_r + rec_r)
            if reset_after:
                rec_h = r * (hs[2] @ Rk[2] + rbk[2])
            else:
                rec_h = operand(r * h_dropped[2]) @ Rk[2]
            candidate = phi(x_h + rec_h)
            new_h = z * h + (1.0 - z) * candidate    # z keeps the old (undropped) state
            new_c = None
            out = new_h
        elif cell == "lstm":
            a = [xs[k] @ Wk[k] + hs[k] @ Rk[k] + bk[k] for k in range(4)]
            i = sigma(a[0])
            f = sigma(a[1])
            g = phi(a[2])
            o = sigma(a[3])
            new_c = f * c + i * g
            new_h = o * phi(new_c)
            out = new_h
        else:
            raise ValueError(f"unknown cell {cell!r}")

        # Masking, as Keras: where(mask, new, old), no arithmetic.
        m = mask[:, t][:, None]
        h = np.where(m, new_h, h)
        if cell == "lstm":
            c = np.where(m, new_c, c)
        if zero_output_for_mask:
            out = np.where(m, out, 0.0)
        else:
            out = np.where(m, out, prev_out)
        prev_out = out
        outputs.append(out)

    if return_sequences:
        output = np.stack(outputs, axis=1)   # processing order, never flipped back
    else:
        output = outputs[-1]                 # output at the last processed step
    final = [h, c] if cell == "lstm" else [h]
    return output.astype(out_dtype), [s.astype(out_dtype) for s in final]


# --------------------------------------------------------------------------------------------
# Layer semantics around the cell: stacks and Bidirectional
# --------------------------------------------------------------------------------------------


def reference_stacked(cells, x, *, initial_states=None, mask=None, go_backwards=False,
                      return_sequences=False, zero_output_for_mask=False):
    """RNN([cell_1, ..., cell_n]) step by step, as Keras' StackedRNNCells runs it.

    `cells` is a list of dicts with the arguments of reference_forward (cell, kernel,
    recurrent_kernel, bias, activation, recurrent_activation, reset_after). At each step cell k
    reads cell k-1's raw output; the mask then selects, for every state of every cell and for
    the stack's output, between the new value and the previous one. Returns (output,
    [[states of cell 1], ..., [states of cell n]]).
    """
    out_dtype = np.asarray(x).dtype
    x = np.asarray(x, dtype=np.float64)
    B, T, _ = x.shape
    mask = np.ones((B, T), dtype=bool) if mask is None else np.asarray(mask) != 0
    states = []
    for k, spec in enumerate(cells):
        H = np.asarray(spec["recurrent_kernel"]).shape[0]
        count = 2 if spec["cell"] == "lstm" else 1
        given = None if initial_states is None else initial_states[k]
        states.append([np.zeros((B, H)) for _ in range(count)] if given is None else
                      [np.asarray(s, dtype=np.float64) for s in given])
    prev_out = None
    outputs = []
    for t in (range(T - 1, -1, -1) if go_backwards else range(T)):
        inp = x[:, t:t + 1, :]
        new_states = []
        for spec, cell_states in zip(cells, states):
            out, cell_new = reference_forward(
                spec["cell"], inp, spec["kernel"], spec["recurrent_kernel"], spec.get("bias"),
                initial_state=cell_states, activation=spec.get("activation", "tanh"),
                recurrent_activation=spec.get("recurrent_activation", "sigmoid"),
                reset_after=spec.get("reset_after", True))
            new_states.append(cell_new)
            inp = out[:, None, :]
        out = inp[:, 0, :]
        m = mask[:, t][:, None]
        states = [[np.where(m, n, o) for n, o in zip(ns, os)]
                  for ns, os in zip(new_states, states)]
        if prev_out is None:
            prev_out = np.zeros_like(out)
        out = np.where(m, out, 0.0 if zero_output_for_mask else prev_out)
        prev_out = out
        outputs.append(out)
    output = np.stack(outputs, axis=1) if return_sequences else outputs[-1]
    return output.astype(out_dtype), [[s.astype(out_dtype) for s in cs] for cs in states]


def reference_bidirectional(forward, backward, x, *, merge_mode="concat", mask=None,
                            return_sequences=False, initial_states=None):
    """Keras' Bidirectional: `forward` and `backward` are dicts of reference_forward arguments.

    Both halves run with zero_output_for_mask = return_sequences (Keras forces it); the
    backward half runs with go_backwards=True and its sequence is flipped back onto the input's
    time axis. Returns (merged output, forward states, backward states); merged output is a
    list [forward, backward] for merge_mode=None.
    """
    fwd_init = bwd_init = None
    if initial_states is not None:
        half = len(initial_states) // 2
        fwd_init, bwd_init = initial_states[:half], initial_states[half:]
    common = dict(mask=mask, return_sequences=return_sequences,
                  zero_output_for_mask=return_sequences)
    y_f, s_f = reference_forward(x=x, initial_state=fwd_init, go_backwards=False,
                                 **forward, **common)
    y_b, s_b = reference_forward(x=x, initial_state=bwd_init, go_backwards=True,
                                 **backward, **common)
    if return_sequences:
        y_b = y_b[:, ::-1]
    merged = {
        "concat": lambda: np.concatenate([y_f, y_b], axis=-1),
        "sum": lambda: y_f + y_b,
        "mul": lambda: y_f * y_b,
        "ave": lambda: (y_f + y_b) / 2,
        None: lambda: [y_f, y_b],
    }[merge_mode]()
    return merged, s_f, s_b


__all__ = ["ACTIVATIONS", "ACTIVATION_ALIASES", "ACTIVATION_KINKS", "CELLS", "GATES",
           "canonical_activation", "reference_bidirectional", "reference_forward",
           "reference_stacked"]
