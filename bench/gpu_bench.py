"""rnnkit's GPU backend against PyTorch's cuDNN RNNs, same weights, same GPU, interleaved.

    python bench/gpu_bench.py [--out table.md] [--repeats 20] [--quick] [--budget SECONDS]

For each cell (lstm, gru, simple_rnn) and shape (B, T, I, H) it times, with CUDA events, the
median of `--repeats` runs of
  * forward (inference): rnnkit.core.rnn_forward on CuPy arrays, rnnkit.layers.<Cell> called on
    a CuPy array, torch.nn.<Cell> under no_grad;
  * forward + backward (all gradients): rnnkit.core rnn_forward(training) + rnn_backward, and
    torch's forward + backward;
with float32 in full precision (TF32 off) and with TF32 on, and rnnkit with and without its CUDA
graph. Ratios are PyTorch time / rnnkit time (> 1: rnnkit faster). Writes a Markdown table,
rewritten after every row (a run cut short keeps the rows it finished); a (cell, shape) that
fails gets a row with its error and the run goes on; with --budget, no row starts after that
many seconds.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

import numpy as np

SHAPES = {  # name: (B, T, I, H) -- bench/compare.py's shapes plus the GPU issue's two
    "seed_mnist": (64, 28, 28, 64),
    "small_stream": (1, 1000, 32, 128),
    "medium": (32, 100, 128, 256),
    "large": (64, 200, 512, 1024),
    "text_cls": (128, 80, 64, 128),
    "b16_long": (16, 1024, 768, 768),
}
GATES = {"lstm": 4, "gru": 3, "simple_rnn": 1}


def torch_module(torch, cell, I, H):
    if cell == "lstm":
        return torch.nn.LSTM(I, H, batch_first=True)
    if cell == "gru":
        return torch.nn.GRU(I, H, batch_first=True)
    return torch.nn.RNN(I, H, batch_first=True, nonlinearity="tanh")


def keras_weights_from_torch(module, cell, H):
    """(kernel, recurrent_kernel, bias) in Keras' layout and gate order from torch's weights."""
    w_ih = module.weight_ih_l0.detach().cpu().numpy()
    w_hh = module.weight_hh_l0.detach().cpu().numpy()
    b_ih = module.bias_ih_l0.detach().cpu().numpy()
    b_hh = module.bias_hh_l0.detach().cpu().numpy()
    if cell == "gru":  # torch r, z, n -> Keras z, r, h; reset_after bias rows (input, recurrent)
        order = np.r_[H:2 * H, 0:H, 2 * H:3 * H]
        return (w_ih[order].T.copy(), w_hh[order].T.copy(),
                np.stack([b_ih[order], b_hh[order]]))
    return w_ih.T.copy(), w_hh.T.copy(), b_ih + b_hh  # lstm i,f,g,o == Keras i,f,c,o


def timed(fn, repeats, cupy):
    """Median milliseconds of fn() between CUDA events (after two warm-ups)."""
    fn()
    fn()
    cupy.cuda.Device().synchronize()
    times = []
    for _ in range(repeats):
        start, stop = cupy.cuda.Event(), cupy.cuda.Event()
        start.record()
        fn()
        stop.record()
        stop.synchronize()
        times.append(cupy.cuda.get_elapsed_time(start, stop))
    return statistics.median(times)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", default=None)
    p.add_argument("--repeats", type=int, default=20)
    p.add_argument("--quick", action="store_true",
                   help="the two small-batch shapes and 10 repeats (a smoke run)")
    p.add_argument("--cells", default="lstm,gru,simple_rnn")
    p.add_argument("--budget", type=float, default=None,
                   help="seconds after which no further row is started")
    args = p.parse_args(argv)
    started = time.monotonic()
    if args.quick:
        args.repeats = min(args.repeats, 10)

    import cupy
    import torch
    import rnnkit
    from rnnkit import core

    if not rnnkit.cuda.is_available():
        sys.exit(f"GPU backend unavailable: {rnnkit.cuda.unavailable_reason()}")
    torch.backends.cudnn.benchmark = True
    device = rnnkit.cuda.get_device_name(0)
    shapes = dict(list(SHAPES.items())[:2]) if args.quick else SHAPES
    rows = []
    header = ("| cell | shape (B,T,I,H) | TF32 | torch fwd ms | rnnkit fwd ms graph / loop | "
              "layer fwd ms | fwd ratio | torch train ms | rnnkit train ms graph / loop | "
              "train ratio | max abs diff |")
    title = (f"GPU: {device}; torch {torch.__version__} (cuDNN {torch.backends.cudnn.version()}); "
             f"{time.strftime('%Y-%m-%d %H:%M')}")

    def write_table():
        lines = [title, "", header, "|" + "|".join(["---"] * (header.count("|") - 1)) + "|"]
        lines += [format_row(r) for r in rows]
        table = "\n".join(lines) + "\n"
        if args.out:
            with open(args.out, "w") as f:
                f.write(table)
        return table

    for cell in args.cells.split(","):
        for shape_name, (B, T, I, H) in shapes.items():
            if args.budget is not None and time.monotonic() - started > args.budget:
                print(f"budget of {args.budget:.0f} s spent: {cell} {shape_name} not run",
                      flush=True)
                continue
            try:
                measure(cell, shape_name, B, T, I, H, args, rows, cupy, torch, rnnkit, core)
            except Exception as error:  # a row saying what failed; the other rows still run
                rows.append({"cell": cell, "shape": shape_name, "B,T,I,H": f"{B},{T},{I},{H}",
                             "error": f"{type(error).__name__}: {error}"})
                print(f"{cell} {shape_name}: {type(error).__name__}: {error}", flush=True)
            rnnkit.cuda.set_graphs_enabled(True)
            write_table()
    rnnkit.cuda.set_float32_matmul_precision("highest")
    print(write_table())


def format_row(r):
    """One Markdown row of the table."""
    if "error" in r:
        return f"| {r['cell']} | {r['shape']} ({r['B,T,I,H']}) | - | error: {r['error'][:200]} |"
    best_f = min(r["rnnkit fwd ms (graph)"], r["rnnkit fwd ms (loop)"])
    best_t = min(r["rnnkit train ms (graph)"], r["rnnkit train ms (loop)"])
    return (f"| {r['cell']} | {r['shape']} ({r['B,T,I,H']}) | {'on' if r['tf32'] else 'off'} | "
            f"{r['torch fwd ms']:.3f} | {r['rnnkit fwd ms (graph)']:.3f} / "
            f"{r['rnnkit fwd ms (loop)']:.3f} | {r['rnnkit layer fwd ms']:.3f} | "
            f"{r['torch fwd ms'] / best_f:.2f}x | {r['torch train ms']:.3f} | "
            f"{r['rnnkit train ms (graph)']:.3f} / {r['rnnkit train ms (loop)']:.3f} | "
            f"{r['torch train ms'] / best_t:.2f}x | {r['max|diff|']:.2e} |")


def measure(cell, shape_name, B, T, I, H, args, rows, cupy, torch, rnnkit, core):
    """Times one (cell, shape) with TF32 off and on; appends a row for each to `rows`."""
    torch.manual_seed(0)
    module = torch_module(torch, cell, I, H).cuda()
    kernel, recurrent, bias = keras_weights_from_torch(module, cell, H)
    x_np = np.random.default_rng(0).standard_normal((B, T, I)).astype(np.float32)
    x_torch = torch.from_numpy(x_np).cuda()
    x = cupy.asarray(x_np)
    w = [cupy.asarray(kernel), cupy.asarray(recurrent), cupy.asarray(bias)]
    layer = {"lstm": rnnkit.layers.LSTM, "gru": rnnkit.layers.GRU,
             "simple_rnn": rnnkit.layers.SimpleRNN}[cell](H, return_sequences=True)
    layer.build((B, T, I))
    layer.set_weights([kernel, recurrent, bias])
    # Same numbers first: rnnkit's output against torch's (TF32 off).
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    with torch.no_grad():
        want = module(x_torch)[0].cpu().numpy()
    got = cupy.asnumpy(core.rnn_forward(cell, x, *w, return_sequences=True).output)
    max_diff = float(np.max(np.abs(got - want)))

    for tf32 in (False, True):
        torch.backends.cuda.matmul.allow_tf32 = tf32
        torch.backends.cudnn.allow_tf32 = tf32
        rnnkit.cuda.set_float32_matmul_precision("high" if tf32 else "highest")
        x_grad = x_torch.clone().requires_grad_(True)
        d_out = cupy.ones((B, T, H), cupy.float32)

        def torch_forward():
            with torch.no_grad():
                module(x_torch)

        def torch_train():
            y = module(x_grad)[0]
            y.backward(torch.ones_like(y))

        def rk_forward():
            core.rnn_forward(cell, x, *w, return_sequences=True)

        def rk_layer():
            layer(x)

        def rk_train():
            f = core.rnn_forward(cell, x, *w, return_sequences=True, training=True)
            core.rnn_backward(cell, x, *w, reserve=f.reserve, d_output=d_out,
                              return_sequences=True)

        result = {"cell": cell, "shape": shape_name, "B,T,I,H": f"{B},{T},{I},{H}",
                  "tf32": tf32, "max|diff|": max_diff}
        for graphs in (True, False):
            rnnkit.cuda.set_graphs_enabled(graphs)
            tag = "graph" if graphs else "loop"
            # Interleaved: torch, rnnkit, torch, rnnkit (the GPU's clocks drift).
            t_f = [timed(torch_forward, args.repeats, cupy),
                   timed(rk_forward, args.repeats, cupy)]
            t_f += [timed(torch_forward, args.repeats, cupy),
                    timed(rk_forward, args.repeats, cupy)]
            t_t = [timed(torch_train, args.repeats, cupy),
                   timed(rk_train, args.repeats, cupy)]
            t_t += [timed(torch_train, args.repeats, cupy),
                    timed(rk_train, args.repeats, cupy)]
            result["torch fwd ms"] = min(t_f[0], t_f[2])
            result[f"rnnkit fwd ms ({tag})"] = min(t_f[1], t_f[3])
            result["torch train ms"] = min(t_t[0], t_t[2])
            result[f"rnnkit train ms ({tag})"] = min(t_t[1], t_t[3])
            if graphs:
                try:  # the layer path failing must not cost the core's numbers
                    result["rnnkit layer fwd ms"] = timed(rk_layer, args.repeats, cupy)
                except Exception as error:
                    result["rnnkit layer fwd ms"] = float("nan")
                    print(f"{cell} {shape_name} layer call: {type(error).__name__}: {error}",
                          flush=True)
        rnnkit.cuda.set_graphs_enabled(True)
        rows.append(result)
        print(result, flush=True)


if __name__ == "__main__":
    main()
