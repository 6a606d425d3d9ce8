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


def _batches(dataset):
    """The (x, y) batches of a dataset: an iterable (Keras returns a tf.data.Dataset) or an
    indexable PyDataset-like object."""
    if hasattr(dataset, "__getitem__") and hasattr(dataset, "__len__"):
        return (dataset[i] for i in range(len(dataset)))
    return iter(dataset)


def windows(series, start, stop, use_numpy, shuffle=False):
    """The windows starting at [start, stop): `(fit_input, x, y, source)`, where fit_input is
    what `fit` gets (a dataset from `timeseries_dataset_from_array`, or the `(x, y)` arrays)
    and x, y the windows as arrays (for the evaluation)."""
    x, y = numpy_windows(series, start, stop)
    maker = getattr(keras.utils, "timeseries_dataset_from_array", None)
    if use_numpy or maker is None:
        return (x, y), x, y, "numpy slicing"
    data = series[start:stop + WINDOW - 1]
    targets = series[start + WINDOW + HORIZON - 1:stop + WINDOW + HORIZON - 1, :1]
    # In order, to check that the utility gives the windows NumPy slicing gives.
    ordered = maker(data, targets, sequence_length=WINDOW, batch_size=BATCH)
    pairs = [(np.asarray(bx), np.asarray(by)) for bx, by in _batches(ordered)]
    np.testing.assert_allclose(np.concatenate([p[0] for p in pairs]), x)
    np.testing.assert_allclose(np.concatenate([p[1] for p in pairs]), y)
    dataset = maker(data, targets, sequence_length=WINDOW, batch_size=BATCH, shuffle=shuffle,
                    seed=0) if shuffle else ordered
    return dataset, x, y, "keras.utils.timeseries_dataset_from_array"


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
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--numpy", action="store_true", help="slice windows with NumPy")
    args = parser.parse_args()

    start_time = time.perf_counter()
    rng = np.random.default_rng(0)
    keras.utils.set_random_seed(0)
    series = make_series(800, rng)
    n_windows = len(series) - WINDOW - HORIZON + 1
    split = int(0.8 * n_windows)
    train, x_train, _, source = windows(series, 0, split, args.numpy, shuffle=True)
    val, x_val, y_val, _ = windows(series, split, n_windows, args.numpy)
    print(f"windows from {source}: train {x_train.shape}, validation {x_val.shape}")

    model = build_model()
    model.compile(optimizer=keras.optimizers.Adam(3e-3), loss="mse", metrics=["mae"])
    model.summary()
    if isinstance(train, tuple):
        model.fit(*train, validation_data=val, epochs=args.epochs, batch_size=BATCH,
                  shuffle=True, verbose=2)
    else:   # datasets yield their own batches
        model.fit(train, validation_data=val, epochs=args.epochs, verbose=2)

    pred = model.predict(x_val, verbose=0)
    mse = float(np.mean((pred - y_val) ** 2))
    naive = float(np.mean((x_val[:, -1, :1] - y_val) ** 2))
    print(f"validation MSE: model {mse:.4f}, naive last value {naive:.4f}")
    print(f"done in {time.perf_counter() - start_time:.1f} s")
    if not mse < 0.5 * naive:
        raise SystemExit("the CNN+LSTM forecaster did not beat half the naive error")


if __name__ == "__main__":
    main()
