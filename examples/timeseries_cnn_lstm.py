"""A CNN + LSTM forecaster on a small synthetic time series.

The series: two noisy, coupled oscillations (a "temperature" and a "load" channel). From the
last 32 steps of both channels the model predicts the temperature 4 steps ahead. Causal 1-D
convolutions extract local patterns, max pooling halves the sequence, an LSTM reads the
result and a Dense layer makes the forecast. The model must beat the naive forecast (the
last observed value).

Windows come from `keras.utils.timeseries_dataset_from_array` when rnnkit provides it, and
are sliced with NumPy otherwise (or with `--numpy`).

    python examples/timeseries_cnn_lstm.py
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import rnnkit as keras
from rnnkit import layers

WINDOW, HORIZON, BATCH = 32, 4, 64


def make_series(n_steps, rng):
    t = np.arange(n_steps)
    temperature = (np.sin(2 * np.pi * t / 50) + 0.5 * np.sin(2 * np.pi * t / 13)
                   + 0.1 * rng.normal(size=n_steps))
    load = np.cos(2 * np.pi * t / 50) + 0.1 * rng.normal(size=n_steps)
    return np.stack([temperature, load], axis=1).astype("float32")


def numpy_windows(series, start, stop):
    """Inputs series[i:i+WINDOW] and targets series[i+WINDOW+HORIZON-1, 0] for i in range."""
    idx = np.arange(start, stop)[:, None] + np.arange(WINDOW)[None, :]
    x = series[idx]
    y = series[np.arange(start, stop) + WINDOW + HORIZON - 1, :1]
    return x, y


def windows(series, start, stop, use_numpy):
    """The (x, y) windows starting at [start, stop), as arrays."""
    x, y = numpy_windows(series, start, stop)
    maker = getattr(keras.utils, "timeseries_dataset_from_array", None)
    if use_numpy or maker is None:
        return x, y, "numpy slicing"
    data = series[start:stop + WINDOW - 1]
    targets = series[start + WINDOW + HORIZON - 1:stop + WINDOW + HORIZON - 1, :1]
    dataset = maker(data, targets, sequence_length=WINDOW, batch_size=BATCH)
    # An iterable of (x, y) batches (Keras returns a tf.data.Dataset), or an indexable
    # PyDataset-like object.
    batches = (dataset[i] for i in range(len(dataset))) if hasattr(dataset, "__getitem__") \
        and hasattr(dataset, "__len__") else iter(dataset)
    xs, ys = [], []
    for bx, by in batches:
        xs.append(np.asarray(bx))
        ys.append(np.asarray(by))
    x2, y2 = np.concatenate(xs), np.concatenate(ys)
    # The utility must give the windows the NumPy slicing gives.
    np.testing.assert_allclose(x2, x)
    np.testing.assert_allclose(y2, y)
    return x2, y2, "keras.utils.timeseries_dataset_from_array"


def build_model():
    return keras.Sequential([
        keras.Input((WINDOW, 2)),
        layers.Conv1D(16, 3, padding="causal", activation="relu"),
        layers.Conv1D(16, 3, padding="causal", dilation_rate=2, activation="relu"),
        layers.MaxPooling1D(2),
        layers.LayerNormalization(),
        layers.LSTM(16),
        layers.Dense(1),
    ])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--numpy", action="store_true", help="slice windows with NumPy")
    args = parser.parse_args()

    start_time = time.perf_counter()
    rng = np.random.default_rng(0)
    keras.utils.set_random_seed(0)
    series = make_series(900, rng)
    n_windows = len(series) - WINDOW - HORIZON + 1
    split = int(0.8 * n_windows)
    x_train, y_train, source = windows(series, 0, split, args.numpy)
    x_val, y_val, _ = windows(series, split, n_windows, args.numpy)
    print(f"windows from {source}: train {x_train.shape}, validation {x_val.shape}")

    model = build_model()
    model.compile(optimizer=keras.optimizers.Adam(3e-3), loss="mse", metrics=["mae"])
    model.summary()
    model.fit(x_train, y_train, validation_data=(x_val, y_val), epochs=args.epochs,
              batch_size=BATCH, verbose=2)

    pred = model.predict(x_val, verbose=0)
    mse = float(np.mean((pred - y_val) ** 2))
    naive = float(np.mean((x_val[:, -1, :1] - y_val) ** 2))
    print(f"validation MSE: model {mse:.4f}, naive last value {naive:.4f}")
    print(f"done in {time.perf_counter() - start_time:.1f} s")
    if not mse < 0.5 * naive:
        raise SystemExit("the CNN+LSTM forecaster did not beat half the naive error")


if __name__ == "__main__":
    main()
