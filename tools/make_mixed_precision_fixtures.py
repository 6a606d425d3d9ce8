"""Makes the Keras 3 fixtures of tests/fixtures/mixed_precision/: small recurrent layers and the
Keras RNN guide's model (LSTM -> BatchNormalization -> Dense) run by Keras under the
"mixed_bfloat16" dtype policy, and the same layers under "float32". Run by hand in a venv with
Keras 3 (JAX backend); never run in CI:

    KERAS_BACKEND=jax python tools/make_mixed_precision_fixtures.py

Writes `cases.npz` (per case `<name>/x`, `<name>/w0..`, `<name>/y_mixed` (Keras' bfloat16
output, stored as float32: exact) and `<name>/y_float32`) and `cases.json` (per case the Keras
class name and config of each layer of the Sequential model, mixed policy included). Inputs and
weights are drawn from a fixed seed; the weights are set on the Keras models and stored.
"""

from __future__ import annotations

import json
import os

import numpy as np

OUT = os.path.join(os.path.dirname(__file__), "..", "tests", "fixtures", "mixed_precision")


def main():
    import keras
    L = keras.layers
    rng = np.random.default_rng(2027)
    x = rng.uniform(-1, 1, (4, 10, 5)).astype("float32")
    digits = rng.uniform(0, 1, (4, 28, 28)).astype("float32")

    def make(name, policy):
        keras.mixed_precision.set_global_policy(policy)
        try:
            if name == "guide":
                layers = [L.Input((28, 28)), L.LSTM(16), L.BatchNormalization(), L.Dense(10)]
            else:
                cls, kwargs = {"simple_rnn": (L.SimpleRNN, {}), "gru": (L.GRU, {}),
                               "gru_reset_before": (L.GRU, {"reset_after": False}),
                               "lstm": (L.LSTM, {})}[name]
                layers = [L.Input((10, 5)), cls(8, return_sequences=True, **kwargs)]
            return keras.Sequential(layers)
        finally:
            keras.mixed_precision.set_global_policy("float32")

    arrays, configs = {}, {}
    for name in ("simple_rnn", "gru", "gru_reset_before", "lstm", "guide"):
        inputs = digits if name == "guide" else x
        mixed, full = make(name, "mixed_bfloat16"), make(name, "float32")
        weights = [rng.uniform(-0.5, 0.5, w.shape).astype("float32")
                   for w in full.get_weights()]
        if name == "guide":      # moving variance must stay positive
            weights[-3] = np.abs(weights[-3]) + 0.5
        full.set_weights(weights)
        mixed.set_weights(weights)
        y_mixed = np.asarray(mixed.predict(inputs, verbose=0))
        assert str(y_mixed.dtype) == "bfloat16", y_mixed.dtype
        arrays[f"{name}/x"] = inputs
        for i, w in enumerate(weights):
            arrays[f"{name}/w{i}"] = w
        arrays[f"{name}/y_mixed"] = y_mixed.astype("float32")
        arrays[f"{name}/y_float32"] = np.asarray(full.predict(inputs, verbose=0))
        configs[name] = [{"class_name": type(layer).__name__, "config": layer.get_config()}
                         for layer in mixed.layers]
    os.makedirs(OUT, exist_ok=True)
    np.savez_compressed(os.path.join(OUT, "cases.npz"), **arrays)
    with open(os.path.join(OUT, "cases.json"), "w") as f:
        json.dump({"keras_version": keras.__version__, "cases": configs}, f, indent=1,
                  sort_keys=True)


if __name__ == "__main__":
    main()
