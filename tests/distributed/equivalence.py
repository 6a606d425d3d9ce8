"""Launched by tests/models/test_distribution.py as `mpiexec -n 2 python equivalence.py OUT_DIR
[ENGINE]`: trains small models with the data-parallel distribution, and (on rank 0) the same
models in one process on the full batches, and writes `OUT_DIR/rank<r>.npz` with, per
configuration: the final weights of both runs, the logs of both runs, and a digest of every
weight after every step (to check that the replicas stay bit-identical).

Model: the Keras RNN guide's MNIST model (LSTM -> BatchNormalization -> Dense, logits,
sparse categorical crossentropy), shrunk (8 timesteps of 6 features, 8 units, 5 classes) to
keep the run short; the masked configuration puts Masking in front and trains on
per-timestep targets (LSTM with return_sequences), so that the loss and the moments are
masked and every shard holds a different number of unmasked timesteps.
"""

import hashlib
import random
import sys

import numpy as np

import rnnkit as keras

OUT = sys.argv[1]
ENGINE = sys.argv[2] if len(sys.argv) > 2 else "mpi"
dist_engine = keras.distribution.initialize(engine=ENGINE, timeout=120)
RANK = dist_engine.rank

T, F, UNITS, CLASSES = 8, 6, 8, 5
N, BATCH = 25, 10       # 3 global batches per epoch, the last one uneven (5 = 3 + 2)


def digest(model):
    h = hashlib.sha256()
    for w in model.weights:
        h.update(np.ascontiguousarray(w.numpy()).tobytes())
    return h.hexdigest()


class Digests(keras.callbacks.Callback):
    """Records a digest of the weights after every training step."""

    def __init__(self):
        super().__init__()
        self.values = []

    def on_train_batch_end(self, batch, logs=None):
        self.values.append(digest(self.model))


def data(dtype, masked, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(N, T, F)).astype(dtype)
    if masked:
        lengths = rng.integers(2, T + 1, size=N)
        for i, n in enumerate(lengths):
            x[i, n:] = 0.0
        y = rng.integers(0, CLASSES, size=(N, T))
    else:
        y = rng.integers(0, CLASSES, size=(N,))
    return x, y


def build(masked, optimizer):
    keras.utils.set_random_seed(1)
    layers = [keras.Input((None, F))]
    if masked:
        layers.append(keras.layers.Masking())
    layers += [keras.layers.LSTM(UNITS, return_sequences=masked),
               keras.layers.BatchNormalization(),
               keras.layers.Dense(CLASSES)]
    model = keras.Sequential(layers)
    opt = {"sgd": keras.optimizers.SGD(learning_rate=0.1, momentum=0.5),
           "adam": keras.optimizers.Adam(learning_rate=0.01)}[optimizer]
    model.compile(optimizer=opt,
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    return model


def build_multi(optimizer):
    """Two outputs (classes and a regression), weighted losses, an L2 regularizer and
    per-output metrics."""
    keras.utils.set_random_seed(1)
    inputs = keras.Input((None, F))
    h = keras.layers.LSTM(UNITS, kernel_regularizer=keras.regularizers.L2(0.01))(inputs)
    h = keras.layers.BatchNormalization()(h)
    model = keras.Model(inputs, [keras.layers.Dense(CLASSES, name="cls")(h),
                                 keras.layers.Dense(1, name="reg")(h)])
    model.compile(optimizer=optimizer,
                  loss={"cls": keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                        "reg": "mse"},
                  loss_weights={"cls": 1.0, "reg": 0.5},
                  metrics={"cls": ["accuracy"], "reg": ["mae"]})
    return model


def generator(x, y, own_shard=False):
    """Global batches, or (`own_shard`) this process' rows of them: the data of a job
    that shards its input itself (`auto_shard_dataset=False`)."""
    for start in range(0, N, BATCH):
        stop = min(start + BATCH, N)
        if own_shard:
            half = (stop - start + 1) // 2
            start, stop = (start, start + half) if RANK == 0 else (start + half, stop)
        yield x[start:stop], y[start:stop]


class Batches(keras.utils.PyDataset):
    def __init__(self, x, y):
        super().__init__()
        self.x, self.y = x, y

    def __len__(self):
        return -(-N // BATCH)

    def __getitem__(self, i):
        return self.x[i * BATCH:(i + 1) * BATCH], self.y[i * BATCH:(i + 1) * BATCH]


def run(name, dtype="float64", optimizer="sgd", masked=False, source="arrays", epochs=2,
        validation=False, shuffle=False, multi=False):
    keras.config.set_floatx(dtype)
    x, y = data(dtype, masked)
    weights = None
    if multi:
        rng = np.random.default_rng(3)
        y = {"cls": y, "reg": rng.normal(size=(N, 1)).astype(dtype)}
        weights = rng.uniform(0.5, 2.0, size=N)
    results = {}
    modes = ["dist", "single"] if RANK == 0 else ["dist"]
    for mode in modes:
        keras.distribution.set_distribution(
            keras.distribution.DataParallel(auto_shard_dataset=source != "own_shards")
            if mode == "dist" else None)
        model = build_multi(optimizer) if multi else build(masked, optimizer)
        digests = Digests()
        np.random.seed(7)     # the shuffling draws from NumPy's global generator (arrays)
        random.seed(7 + RANK)  # and Python's (a PyDataset's batch order): rank 0's is used
        callbacks = [digests]
        if mode == "dist" and name == "f64_sgd":   # rank 0 alone writes files
            callbacks += [keras.callbacks.CSVLogger(f"{OUT}/{name}_rank{RANK}.csv"),
                          keras.callbacks.ModelCheckpoint(
                              f"{OUT}/{name}_rank{RANK}.weights.h5", monitor="loss",
                              save_weights_only=True)]
        kwargs = dict(epochs=epochs, verbose=1 if mode == "dist" else 0, callbacks=callbacks,
                      shuffle=shuffle)
        if validation:
            kwargs["validation_data"] = (x[:13], y[:13])
        if source == "arrays":
            history = model.fit(x, y, batch_size=BATCH, sample_weight=weights, **kwargs)
        elif source in ("generator", "own_shards"):
            kwargs["epochs"] = 1      # a finite generator gives one epoch
            history = model.fit(generator(x, y, own_shard=mode == "dist" and
                                          source == "own_shards"), shuffle=False,
                                **{k: v for k, v in kwargs.items() if k != "shuffle"})
        else:
            history = model.fit(Batches(x, y), **kwargs)
        evaluated = model.evaluate(x, y, batch_size=BATCH, verbose=0, return_dict=True,
                                   sample_weight=weights)
        for i, w in enumerate(model.weights):
            results[f"{name}/{mode}/w{i}"] = w.numpy()
        for key, values in history.history.items():
            results[f"{name}/{mode}/log_{key}"] = np.asarray(values, np.float64)
        for key, value in evaluated.items():
            results[f"{name}/{mode}/eval_{key}"] = np.float64(value)
        if mode == "dist":
            results[f"{name}/dist/digests"] = np.array(digests.values)
    keras.distribution.set_distribution(None)
    return results


CONFIGS = [
    dict(name="f64_sgd"),
    dict(name="f64_adam", optimizer="adam"),
    dict(name="f64_mask", masked=True, optimizer="adam"),
    dict(name="f64_generator", source="generator"),
    dict(name="f64_own_shards", source="own_shards", masked=True),
    dict(name="f64_pydataset", source="pydataset", optimizer="adam", epochs=1, shuffle=True),
    dict(name="f64_shuffle_val", shuffle=True, validation=True, epochs=1),
    dict(name="f64_multi_output", multi=True, optimizer="adam"),
    dict(name="f32_sgd", dtype="float32"),
    dict(name="f32_adam_mask", dtype="float32", optimizer="adam", masked=True),
]

def api_checks():
    """The API's answers on this process, as strings."""
    other = "cpu" if dist_engine.device_type == "gpu" else "gpu"
    out = {"api/list_devices": np.array(keras.distribution.list_devices()),
           "api/list_devices_other": np.array(keras.distribution.list_devices(other),
                                              dtype=str)}
    try:
        keras.distribution.DataParallel(devices=[f"{dist_engine.device_type}:0"] * 3)
        out["api/bad_devices"] = np.array("no error")
    except ValueError as exc:
        out["api/bad_devices"] = np.array(str(exc))
    dist = keras.distribution.DataParallel()
    with dist.scope():
        inside = keras.distribution.distribution() is dist
    out["api/scope"] = np.array([inside, keras.distribution.distribution() is None])
    out["api/repr"] = np.array(repr(dist))
    return out


if __name__ == "__main__":
    out = api_checks()
    for config in CONFIGS:
        out.update(run(**config))
    np.savez(f"{OUT}/rank{RANK}.npz", **out)
    keras.config.set_floatx("float32")
