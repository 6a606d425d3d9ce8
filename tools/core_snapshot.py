"""Snapshot of the C++ core's results on a deterministic option grid, to prove a refactor of the
kernels changes nothing.

    python tools/core_snapshot.py save before.npz      # on the old build
    python tools/core_snapshot.py save after.npz       # on the new build
    python tools/core_snapshot.py compare before.npz after.npz

An optional last argument keeps only the cases whose key contains it (e.g. `gru-0-float64`).
`compare` checks every output and gradient with np.array_equal (NaNs equal) and exits 1 on any
difference. The grid: every cell variant (simple_rnn, gru reset_after=True/False, lstm),
float32 and float64, sizes with several SIMD packets plus a tail (H=19), one packet plus one unit
(H=9), threaded sizes (B=64: the row split; B=16, H=64: the unit split), crossed with masks
(none / mask / mask + zero_output_for_mask), go_backwards, dropout (none / shared / per gate,
input and recurrent), use_bias, return_sequences, initial states and gradients of the final
states, and several activation pairs (the SIMD tanh/sigmoid and generic ones).
"""

from __future__ import annotations

import itertools
import sys

import numpy as np

from rnnkit import core

GATES = {"simple_rnn": 1, "gru": 3, "lstm": 4}
VARIANTS = [("simple_rnn", True), ("gru", True), ("gru", False), ("lstm", True)]
SIZES = [(3, 5, 7, 19), (4, 4, 5, 9), (64, 5, 12, 40), (16, 4, 6, 64)]
ACTIVATIONS = [("tanh", "sigmoid"), ("relu", "hard_sigmoid"), ("gelu", "tanh"),
               ("linear", "sigmoid"), ("sigmoid", "elu")]


def cases():
    for (cell, reset_after), dtype, size in itertools.product(VARIANTS, ("float32", "float64"),
                                                              SIZES):
        big = size[0] >= 16
        grid = itertools.product(
            ("none", "mask", "mask_zero"), (False, True), ("none", "shared", "per_gate"),
            (True, False), (False, True), (False, True), range(len(ACTIVATIONS)))
        for k, (mask, back, dropout, use_bias, ret_seq, init, act) in enumerate(grid):
            # The threaded sizes take every 7th combination (still all of each option's values).
            if big and k % 7:
                continue
            yield dict(cell=cell, reset_after=reset_after, dtype=dtype, size=size, mask=mask,
                       go_backwards=back, dropout=dropout, use_bias=use_bias,
                       return_sequences=ret_seq, initial=init, act=act)


def key(c):
    return "{cell}-{ra}-{dtype}-{B}x{T}x{I}x{H}-{mask}-{gb}-{dropout}-{bias}-{rs}-{init}-{act}".format(
        cell=c["cell"], ra=int(c["reset_after"]), dtype=c["dtype"], B=c["size"][0],
        T=c["size"][1], I=c["size"][2], H=c["size"][3], mask=c["mask"],
        gb=int(c["go_backwards"]), dropout=c["dropout"], bias=int(c["use_bias"]),
        rs=int(c["return_sequences"]), init=int(c["initial"]), act=c["act"])


def run_case(c):
    cell, dtype = c["cell"], np.dtype(c["dtype"])
    B, T, I, H = c["size"]
    G = GATES[cell]
    rng = np.random.default_rng(_seed(key(c)))

    def u(*shape, scale=1.0):
        return (rng.uniform(-scale, scale, size=shape)).astype(dtype)

    x = u(B, T, I)
    kernel = u(I, G * H, scale=0.5)
    recurrent = u(H, G * H, scale=0.5)
    bias = None
    if c["use_bias"]:
        bias = u(2, G * H) if cell == "gru" and c["reset_after"] else u(G * H)
    states = 2 if cell == "lstm" else 1
    initial = [u(B, H) for _ in range(states)] if c["initial"] else None
    mask = None
    if c["mask"] != "none":
        mask = rng.uniform(size=(B, T)) > 0.35
        mask[0, :] = False          # a fully masked row
        mask[1 % B, 0] = False      # a row that starts masked
    in_drop = rec_drop = None
    if c["dropout"] != "none":
        lead = () if c["dropout"] == "shared" else (G,)
        in_drop = ((rng.uniform(size=lead + (B, I)) > 0.3) / 0.7).astype(dtype)
        rec_drop = ((rng.uniform(size=lead + (B, H)) > 0.3) / 0.7).astype(dtype)
    act, rec_act = ACTIVATIONS[c["act"]]
    common = dict(initial_state=initial, mask=mask, input_dropout_mask=in_drop,
                  recurrent_dropout_mask=rec_drop, activation=act, recurrent_activation=rec_act,
                  reset_after=c["reset_after"], go_backwards=c["go_backwards"],
                  return_sequences=c["return_sequences"],
                  zero_output_for_mask=c["mask"] == "mask_zero")
    out = {}
    inference = core.rnn_forward(cell, x, kernel, recurrent, bias, **common)
    out["inf_output"] = inference.output
    for i, s in enumerate(inference.states):
        out[f"inf_state{i}"] = s
    fwd = core.rnn_forward(cell, x, kernel, recurrent, bias, training=True, **common)
    out["output"] = fwd.output
    for i, s in enumerate(fwd.states):
        out[f"state{i}"] = s
    d_output = u(*fwd.output.shape)
    d_states = [u(B, H) for _ in range(states)]
    grads = core.rnn_backward(cell, x, kernel, recurrent, bias, reserve=fwd.reserve,
                              d_output=d_output, d_states=d_states, **common)
    out["d_x"] = grads.d_x
    for i, s in enumerate(grads.d_initial_state):
        out[f"d_state{i}"] = s
    out["d_kernel"] = grads.d_kernel
    out["d_recurrent_kernel"] = grads.d_recurrent_kernel
    if grads.d_bias is not None:
        out["d_bias"] = grads.d_bias
    return out


def _seed(text):
    h = 2166136261
    for ch in text.encode():
        h = ((h ^ ch) * 16777619) % (2**32)
    return h


def save(path, only=""):
    arrays = {}
    n = 0
    for c in cases():
        k = key(c)
        if only not in k:
            continue
        for name, value in run_case(c).items():
            arrays[f"{k}/{name}"] = value
        n += 1
    np.savez_compressed(path, **arrays)
    print(f"{n} cases, {len(arrays)} arrays -> {path}")


def compare(a_path, b_path, only=""):
    a, b = np.load(a_path), np.load(b_path)
    bad = sorted(n for n in set(a.files) ^ set(b.files) if only in n)
    for name in sorted(n for n in set(a.files) & set(b.files) if only in n):
        if a[name].dtype != b[name].dtype or not np.array_equal(a[name], b[name], equal_nan=True):
            bad.append(name)
    print(f"{len(a.files)} vs {len(b.files)} arrays; {len(bad)} differ")
    for name in bad[:20]:
        print("  differs:", name)
    return 1 if bad else 0


if __name__ == "__main__":
    if len(sys.argv) in (3, 4) and sys.argv[1] == "save":
        save(*sys.argv[2:])
    elif len(sys.argv) in (4, 5) and sys.argv[1] == "compare":
        sys.exit(compare(*sys.argv[2:]))
    else:
        sys.exit(__doc__)
