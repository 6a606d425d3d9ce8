"""`fit` on a device: rnnkit's `model.fit` against the same model trained by PyTorch, same device.

    python bench/gpu_fit.py [--device gpu|cpu] [--epochs 2] [--small] [--out table.md]

Two models, each one epoch of synthetic data (speed only: the numbers do not depend on it):
  * guide    the Keras RNN guide's MNIST model: LSTM(64) -> BatchNormalization -> Dense(10),
             sequences of (28, 28), 4000 samples in batches of 64, SGD (lr 0.01), sparse
             categorical cross-entropy from logits, accuracy tracked;
  * text     Embedding(20000, 128) -> Bidirectional(LSTM(256)) -> Dense(1): token sequences of
             length 200, 5120 samples in batches of 256, Adam, binary cross-entropy from logits.
rnnkit: the model built inside `rnnkit.device(...)` and `model.fit(x, y, epochs=1, verbose=0)`
on NumPy data (fit moves each batch to the device). PyTorch: the same layers as nn modules and
a plain epoch loop that moves each batch to the device, as a DataLoader without pinned memory
would. Each framework trains one warm-up epoch first (cuBLAS/cuDNN handles, CUDA graphs,
allocator pools), then `--epochs` timed epochs; the table gives the median seconds per epoch and
PyTorch time / rnnkit time (> 1: rnnkit faster). The two take turns epoch by epoch.

`--small` shrinks both models' data (for a check of the script itself on the CPU).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

import numpy as np

MODELS = {
    # name: samples, batch, timesteps
    "guide": (4000, 64, 28),
    "text": (5120, 256, 200),
}


def synthetic(name, samples, timesteps, seed=0):
    rng = np.random.default_rng(seed)
    if name == "guide":
        x = rng.random((samples, timesteps, 28), dtype=np.float32)
        y = rng.integers(0, 10, samples).astype(np.int64)
    else:
        x = rng.integers(1, 20000, (samples, timesteps)).astype(np.int64)
        y = rng.integers(0, 2, samples).astype(np.float32)
    return x, y


def rnnkit_trainer(name, x, y, batch, device):
    import rnnkit as keras
    from rnnkit import layers

    with keras.device(device):
        if name == "guide":
            model = keras.Sequential([keras.Input((x.shape[1], 28)), layers.LSTM(64),
                                      layers.BatchNormalization(), layers.Dense(10)])
            model.compile(optimizer=keras.optimizers.SGD(0.01), metrics=["accuracy"],
                          loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
        else:
            model = keras.Sequential([keras.Input((x.shape[1],), dtype="int64"),
                                      layers.Embedding(20000, 128),
                                      layers.Bidirectional(layers.LSTM(256)), layers.Dense(1)])
            model.compile(optimizer="adam",
                          loss=keras.losses.BinaryCrossentropy(from_logits=True))

    def epoch():
        with keras.device(device):
            model.fit(x, y, batch_size=batch, epochs=1, verbose=0)
    return epoch


def torch_trainer(name, x, y, batch, device):
    import torch
    from torch import nn

    dev = torch.device("cuda" if device.startswith("gpu") else "cpu")

    class Guide(nn.Module):
        def __init__(self):
            super().__init__()
            self.lstm = nn.LSTM(28, 64, batch_first=True)
            self.norm = nn.BatchNorm1d(64, eps=1e-3, momentum=0.01)
            self.dense = nn.Linear(64, 10)

        def forward(self, inputs):
            _, (h, _) = self.lstm(inputs)
            return self.dense(self.norm(h[-1]))

    class Text(nn.Module):
        def __init__(self):
            super().__init__()
            self.embedding = nn.Embedding(20000, 128)
            self.lstm = nn.LSTM(128, 256, batch_first=True, bidirectional=True)
            self.dense = nn.Linear(512, 1)

        def forward(self, inputs):
            _, (h, _) = self.lstm(self.embedding(inputs))
            return self.dense(torch.cat([h[0], h[1]], dim=1)).squeeze(1)

    model = (Guide() if name == "guide" else Text()).to(dev)
    if name == "guide":
        optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
        loss_fn = nn.CrossEntropyLoss()
    else:
        optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-7)
        loss_fn = nn.BCEWithLogitsLoss()
    x_host, y_host = torch.from_numpy(x), torch.from_numpy(y)

    def epoch():
        model.train()
        order = torch.randperm(len(x_host))
        correct = torch.zeros((), device=dev)
        for start in range(0, len(order), batch):
            index = order[start:start + batch]
            xb, yb = x_host[index].to(dev), y_host[index].to(dev)
            optimizer.zero_grad(set_to_none=True)
            logits = model(xb)
            loss = loss_fn(logits, yb)
            loss.backward()
            optimizer.step()
            if name == "guide":  # the accuracy metric rnnkit's model tracks
                correct += (logits.argmax(1) == yb).sum()
        float(correct)  # one synchronisation per epoch, as History's floats are
        if dev.type == "cuda":
            torch.cuda.synchronize()
    return epoch


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--device", default="gpu", help="gpu, gpu:N or cpu (default gpu)")
    p.add_argument("--epochs", type=int, default=2, help="timed epochs per framework (default 2)")
    p.add_argument("--models", default="guide,text", help="comma-separated from guide,text")
    p.add_argument("--small", action="store_true", help="an eighth of the data (a script check)")
    p.add_argument("--out", default=None, help="also write the table to this Markdown file")
    args = p.parse_args(argv)
    if args.epochs < 1:
        p.error("--epochs must be >= 1")
    names = [m for m in args.models.split(",") if m]
    unknown = [m for m in names if m not in MODELS]
    if unknown:
        p.error(f"--models: unknown {', '.join(unknown)}; choose from {', '.join(MODELS)}")

    lines = [f"# fit, one epoch, device {args.device}: median seconds per epoch of "
             f"{args.epochs} (after one warm-up epoch); ratio = torch / rnnkit",
             "| model | samples | batch | T | torch s | rnnkit s | ratio |",
             "| --- | --- | --- | --- | --- | --- | --- |"]
    print("\n".join(lines), flush=True)
    failed = False
    for name in names:
        samples, batch, timesteps = MODELS[name]
        if args.small:
            samples = max(batch, samples // 8)
        x, y = synthetic(name, samples, timesteps)
        times = {}
        try:
            trainers = {"rnnkit": rnnkit_trainer(name, x, y, batch, args.device),
                        "torch": torch_trainer(name, x, y, batch, args.device)}
            for trainer in trainers.values():
                trainer()  # warm-up epoch
            times = {framework: [] for framework in trainers}
            for _ in range(args.epochs):
                for framework, trainer in trainers.items():
                    start = time.perf_counter()
                    trainer()
                    times[framework].append(time.perf_counter() - start)
            t = {framework: statistics.median(v) for framework, v in times.items()}
            line = (f"| {name} | {samples} | {batch} | {timesteps} | {t['torch']:.3f} | "
                    f"{t['rnnkit']:.3f} | {t['torch'] / t['rnnkit']:.2f} |")
        except Exception as error:  # a row that fails says why; the next one runs
            failed = True
            line = f"| {name} | {samples} | {batch} | {timesteps} | - | - | {type(error).__name__}: {error} |"
        lines.append(line)
        print(line, flush=True)
    if args.out:
        with open(args.out, "w") as f:
            f.write("\n".join(lines) + "\n")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
