"""Launched by tests/models/test_distribution.py as `mpiexec -n 2 python failure.py MODE`: rank 1
fails in the middle of the first epoch while rank 0 goes on training; every process must
end, with rank 1's error reported, within seconds.

MODE: `callback` (a callback raises between steps: the uncaught exception path),
`step` (a layer raises inside the training step: the step's abort path), `hang` (rank 1
stops responding: rank 0's collective watchdog times out after 4 s), `kill` (rank 1 dies
of SIGKILL: the launcher ends the job), `tiny` (the last global batch holds 1 sample for 2
processes: every process raises the same ValueError).
"""

import os
import signal
import sys
import time

import numpy as np

import rnnkit as keras

MODE = sys.argv[1]
engine = keras.distribution.initialize(timeout=4 if MODE == "hang" else None)
RANK = engine.rank
keras.distribution.set_distribution(keras.distribution.DataParallel())


class FailOnRank1(keras.callbacks.Callback):
    def on_train_batch_begin(self, batch, logs=None):
        if RANK == 1 and batch == 2:
            if MODE == "callback":
                raise RuntimeError("planted failure in a callback")
            if MODE == "hang":
                time.sleep(120)
            if MODE == "kill":
                os.kill(os.getpid(), signal.SIGKILL)


class FailingLayer(keras.layers.Layer):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.calls = 0

    def call(self, x, training=False):
        if training:
            self.calls += 1
            if MODE == "step" and RANK == 1 and self.calls == 3:
                raise RuntimeError("planted failure inside the step")
        return x


rng = np.random.default_rng(0)
x = rng.normal(size=(400, 5, 3)).astype("float32")
y = rng.integers(0, 4, size=(400,))
model = keras.Sequential([keras.Input((5, 3)), keras.layers.LSTM(4), FailingLayer(),
                          keras.layers.Dense(4)])
model.compile("sgd", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
if MODE == "tiny":
    x, y = x[:17], y[:17]
model.fit(x, y, batch_size=8, epochs=3, verbose=0, callbacks=[FailOnRank1()])
print(f"rank {RANK} finished training", flush=True)
