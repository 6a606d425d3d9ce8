"""The data inputs of fit / evaluate / predict: arrays and array-likes (lists, pandas), structures
of them, generators and iterators, PyDatasets (threads, shuffling, epoch hooks, class weights),
validation data of every kind, the step rules (steps_per_epoch across epochs, unknown lengths in
the progress bar), and every refusal's message.

Each numeric test trains (or evaluates) the same model twice, once on arrays and once on the
other kind of input giving the same batches, and checks bit-identical weights and logs."""

import subprocess
import sys
import threading
import warnings

import numpy as np
import pytest

import rnnkit as keras
from rnnkit import layers

N, T, F, BATCH = 20, 4, 3, 4          # 5 batches of 4


@pytest.fixture
def data(rng):
    x = rng.standard_normal((N, T, F)).astype(np.float32)
    y = rng.integers(0, 2, N)
    return x, y


def make_model(seed=3):
    keras.utils.set_random_seed(seed)
    model = keras.Sequential([keras.Input((T, F)), layers.LSTM(5), layers.Dense(2)])
    model.compile(optimizer=keras.optimizers.SGD(0.1),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    return model


def two_input_model(seed=3):
    keras.utils.set_random_seed(seed)
    a, b = keras.Input((T, F), name="a"), keras.Input((2,), name="b")
    hidden = layers.GRU(4)(a, initial_state=layers.Dense(4)(b))
    model = keras.Model([a, b], layers.Dense(2)(hidden))
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
    return model


def batches_of(*arrays, size=BATCH):
    """The batches fit(shuffle=False, batch_size=size) cuts from arrays, as tuples."""
    n = len(arrays[0])
    return [tuple(a[i:i + size] for a in arrays) for i in range(0, n, size)]


def same_weights(a, b):
    for wa, wb in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_array_equal(wa, wb)


def fit_arrays(x, y, **kwargs):
    model = make_model()
    kwargs = {"batch_size": BATCH, "shuffle": False, "verbose": 0, **kwargs}
    return model, model.fit(x, y, **kwargs)


class Batches(keras.utils.PyDataset):
    """Batch i is samples [i*size, (i+1)*size); records calls, threads and epoch hooks."""

    def __init__(self, x, y=None, weights=None, size=BATCH, infinite=False, form="tuple",
                 **kwargs):
        super().__init__(**kwargs)
        self.x, self.y, self.weights, self.size = x, y, weights, size
        self.infinite, self.form = infinite, form
        self.log, self.threads = [], set()
        self.lock = threading.Lock()

    def __len__(self):
        return -(-len(self.x) // self.size)

    @property
    def num_batches(self):
        return None if self.infinite else len(self)

    def __getitem__(self, index):
        with self.lock:
            self.log.append(index)
            self.threads.add(threading.current_thread().name)
        index %= len(self)
        part = slice(index * self.size, (index + 1) * self.size)
        if self.form == "x":
            return self.x[part]
        if self.form == "list":
            return [self.x[part], self.y[part]]
        if self.weights is not None:
            return self.x[part], self.y[part], self.weights[part]
        return (self.x[part],) if self.y is None else (self.x[part], self.y[part])

    def on_epoch_begin(self):
        self.log.append("begin")

    def on_epoch_end(self):
        self.log.append("end")


# -- arrays and array-likes ------------------------------------------------------------------

def test_python_lists_train_like_arrays(data):
    x, y = data
    model, history = fit_arrays(x, y, epochs=2)
    on_lists = make_model()
    listed = on_lists.fit(x.tolist(), y.tolist(), batch_size=BATCH, shuffle=False, epochs=2,
                          verbose=0)
    same_weights(model, on_lists)
    assert listed.history == history.history
    np.testing.assert_array_equal(on_lists.predict(x.tolist(), verbose=0),
                                  model.predict(x, verbose=0))
    assert on_lists.evaluate(x.tolist(), y.tolist(), verbose=0) == \
        model.evaluate(x, y, verbose=0)
    loss = on_lists.train_on_batch(x[:4].tolist(), y[:4].tolist())
    assert loss == model.train_on_batch(x[:4], y[:4])


def test_several_inputs_as_list_tuple_or_dict_by_name(rng):
    xa = rng.standard_normal((N, T, F)).astype(np.float32)
    xb = rng.standard_normal((N, 2)).astype(np.float32)
    y = rng.standard_normal((N, 2)).astype(np.float32)
    reference = two_input_model()
    reference.fit([xa, xb], y, batch_size=BATCH, epochs=2, verbose=0)
    for x in ((xa, xb), {"a": xa, "b": xb}):
        model = two_input_model()
        model.fit(x, y, batch_size=BATCH, epochs=2, verbose=0)
        same_weights(reference, model)
    # The same through a generator of dict batches.
    model = two_input_model()
    model.fit((({"a": a, "b": b}, t) for a, b, t in batches_of(xa, xb, y)), verbose=0,
              shuffle=False)
    once = two_input_model()
    once.fit([xa, xb], y, batch_size=BATCH, shuffle=False, verbose=0)
    same_weights(once, model)


def test_a_tuple_x_is_several_inputs_not_x_and_y(data):
    x, y = data
    with pytest.raises(ValueError, match=r"`fit` needs the targets: pass `y`\. A tuple or list "
                                         r"`x` holds several inputs, not `\(x, y\)`"):
        make_model().fit((x, y), verbose=0)
    with pytest.raises(ValueError, match="`evaluate` needs the targets"):
        make_model().evaluate(x, verbose=0)
    with pytest.raises(ValueError, match="`train_on_batch` needs the targets"):
        make_model().train_on_batch(x)


def test_pandas_dataframe_and_series():
    pd = pytest.importorskip("pandas")
    rng = np.random.default_rng(5)
    x = rng.standard_normal((N, 3)).astype(np.float32)
    y = rng.standard_normal(N).astype(np.float32)

    def dense():
        keras.utils.set_random_seed(1)
        model = keras.Sequential([keras.Input((3,)), layers.Dense(1)])
        model.compile(optimizer="sgd", loss="mse")
        return model

    reference, model = dense(), dense()
    reference.fit(x, y[:, None], batch_size=BATCH, shuffle=False, epochs=2, verbose=0)
    frame = pd.DataFrame(x, columns=["a", "b", "c"])
    model.fit(frame, pd.Series(y).to_frame(), batch_size=BATCH, shuffle=False, epochs=2,
              verbose=0)
    same_weights(reference, model)
    np.testing.assert_array_equal(model.predict(frame, verbose=0),
                                  reference.predict(x, verbose=0))
    assert model.evaluate(frame, pd.Series(y), verbose=0) == \
        reference.evaluate(x, y, verbose=0)


def test_import_does_not_load_pandas():
    code = "import sys, rnnkit; assert 'pandas' not in sys.modules, 'pandas was imported'"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_arrays_steps_per_epoch_goes_on_across_epochs(data):
    """Keras' rule: each epoch takes the next steps_per_epoch batches of the current pass; a
    pass that ends early ends its epoch (with a warning), the next epoch starts a new pass."""
    x, y = data
    model = make_model()
    seen = []
    original = model._train_batch
    model._train_batch = lambda bx, by, bw: (seen.append(len(bx)), original(bx, by, bw))[1]
    with pytest.warns(UserWarning, match=r"ran out of data: this epoch stopped after 2 of its "
                                         r"3 steps \(`steps_per_epoch=3`\)"):
        history = model.fit(x, y, batch_size=BATCH, steps_per_epoch=3, epochs=3, shuffle=False,
                            verbose=0)
    assert history.params["steps"] == 3
    assert len(seen) == 3 + 2 + 3
    # Same batches as arrays fit on the first 3, last 2, first 3 batches in turn.
    reference = make_model()
    for part in (slice(0, 12), slice(12, 20), slice(0, 12)):
        reference.fit(x[part], y[part], batch_size=BATCH, shuffle=False, verbose=0)
    same_weights(reference, model)


def test_arrays_batch_size_from_steps(data):
    x, y = data
    model = make_model()
    sizes = []
    original = model._test_batch
    model._test_batch = lambda bx, by, bw: (sizes.append(len(bx)), original(bx, by, bw))[1]
    model.evaluate(x, y, steps=3, verbose=0)          # ceil(20 / 3) = 7 samples a batch
    assert sizes == [7, 7, 6]


def test_shuffle_batch_mixes_within_batches_only(data):
    x, y = data
    model = make_model()
    seen = []
    original = model._train_batch
    model._train_batch = lambda bx, by, bw: (seen.append(bx), original(bx, by, bw))[1]
    model.fit(x, y, batch_size=BATCH, shuffle="batch", verbose=0)
    for i, batch in enumerate(seen):
        expected = x[i * BATCH:(i + 1) * BATCH]
        assert sorted(map(bytes, batch)) == sorted(map(bytes, expected))


def test_validation_split_is_not_class_weighted(data):
    x, y = data
    model, history = fit_arrays(x, y, validation_split=0.25, class_weight={0: 0.0, 1: 3.0})
    reference = make_model()
    reference.fit(x[:15], y[:15], batch_size=BATCH, shuffle=False, verbose=0,
                  class_weight={0: 0.0, 1: 3.0})
    same_weights(reference, model)
    assert history.history["val_loss"] == [model.evaluate(x[15:], y[15:], batch_size=BATCH,
                                                          verbose=0)[0]]


# -- generators and iterators ----------------------------------------------------------------

def test_finite_generator_one_epoch_equals_arrays(data):
    x, y = data
    model, history = fit_arrays(x, y)
    on_generator = make_model()
    logs = on_generator.fit((b for b in batches_of(x, y)), shuffle=False, verbose=0)
    same_weights(model, on_generator)
    assert logs.history == history.history
    assert logs.params["steps"] is None


def test_finite_generator_is_not_rewound(data):
    """Keras 3.15 would replay the 2 batches it peeked at; rnnkit stops with a warning."""
    x, y = data
    model = make_model()
    with pytest.warns(UserWarning, match=r"ran out of data: the Python generator given as `x` "
                                         r"has no batch left, so training stops before epoch "
                                         r"2/3"):
        history = model.fit((b for b in batches_of(x, y)), epochs=3, shuffle=False, verbose=0)
    assert history.epoch == [0]
    reference, _ = fit_arrays(x, y)
    same_weights(reference, model)


def test_infinite_generator_with_steps_per_epoch_over_epochs(data):
    x, y = data

    def forever():
        while True:
            yield from batches_of(x, y)

    reference, history = fit_arrays(x, y, epochs=3)
    model = make_model()
    logs = model.fit(forever(), steps_per_epoch=5, epochs=3, shuffle=False, verbose=0)
    same_weights(reference, model)
    assert logs.history == history.history
    assert logs.params["steps"] == 5


def test_generator_cut_short_by_steps_per_epoch(data):
    x, y = data
    model = make_model()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        history = model.fit((b for b in batches_of(x, y)), steps_per_epoch=3, epochs=4,
                            shuffle=False, verbose=0)
    messages = [str(w.message) for w in caught]
    assert any("this epoch stopped after 2 of its 3 steps" in m for m in messages)
    assert any("training stops before epoch 3/4" in m for m in messages)
    assert history.epoch == [0, 1]


def test_infinite_generator_without_steps_runs_until_stopped(data, capsys):
    x, y = data

    def forever():
        while True:
            yield from batches_of(x, y)

    class StopAfter(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            if batch == 11:
                self.model.stop_training = True

    history = make_model().fit(forever(), epochs=2, shuffle=False, verbose=1,
                               callbacks=[StopAfter()])
    assert history.epoch == [0]
    out = capsys.readouterr().out
    assert "Epoch 1/2" in out and "/Unknown" in out and "12/12" in out


def test_any_iterator_and_sample_weights_from_batches(data):
    x, y = data
    weights = np.linspace(0.0, 2.0, N).astype(np.float32)
    reference, history = fit_arrays(x, y, sample_weight=weights)
    model = make_model()
    logs = model.fit(iter(batches_of(x, y, weights)), shuffle=False, verbose=0)
    same_weights(reference, model)
    assert logs.history == history.history


def test_generator_ignores_batch_size_and_warns_on_shuffle(data):
    x, y = data
    reference, _ = fit_arrays(x, y)
    model = make_model()
    with pytest.warns(UserWarning, match=r"`shuffle=True` has no effect when `x` is a Python "
                                         r"generator"):
        model.fit((b for b in batches_of(x, y)), batch_size=7, verbose=0)
    same_weights(reference, model)


def test_evaluate_and_predict_with_generators(data):
    x, y = data
    model = make_model()
    expected = model.evaluate(x, y, batch_size=BATCH, verbose=0)
    assert model.evaluate((b for b in batches_of(x, y)), verbose=0) == expected
    assert model.evaluate((b for b in batches_of(x, y)), steps=2, verbose=0) == \
        model.evaluate(x[:8], y[:8], batch_size=BATCH, verbose=0)
    predicted = model.predict(x, batch_size=BATCH, verbose=0)
    for batches in ((b[:1] for b in batches_of(x, y)),       # (x,)
                    (b[0] for b in batches_of(x, y)),        # x alone
                    (b for b in batches_of(x, y))):          # (x, y): y ignored
        np.testing.assert_array_equal(model.predict(batches, verbose=0), predicted)
    np.testing.assert_array_equal(
        model.predict((b for b in batches_of(x, y)), steps=2, verbose=0), predicted[:8])


def test_evaluate_unknown_length_progress_bar(data, capsys):
    x, y = data
    model = make_model()
    model.evaluate((b for b in batches_of(x, y)), verbose=1)
    out = capsys.readouterr().out
    assert "      1/Unknown" in out and "5/5" in out
    model.fit((b for b in batches_of(x, y)), verbose=2, shuffle=False)
    assert "5/5 - " in capsys.readouterr().out


# -- validation data -------------------------------------------------------------------------

def test_validation_generator_with_validation_steps(data):
    x, y = data

    def forever():
        while True:
            yield from batches_of(x[12:], y[12:])

    reference, history = fit_arrays(x[:12], y[:12], epochs=3, validation_data=(x[12:], y[12:]))
    model = make_model()
    logs = model.fit(x[:12], y[:12], batch_size=BATCH, shuffle=False, epochs=3, verbose=0,
                     validation_data=forever(), validation_steps=2)
    same_weights(reference, model)
    assert logs.history == history.history


def test_finite_validation_generator_runs_out(data):
    x, y = data
    model = make_model()
    with pytest.warns(UserWarning, match=r"given as `validation_data` has no batch left, so "
                                         r"validation is skipped from epoch 2 on"):
        history = model.fit(x[:12], y[:12], batch_size=BATCH, shuffle=False, epochs=3,
                            verbose=0, validation_data=(b for b in batches_of(x[12:], y[12:])))
    assert len(history.history["loss"]) == 3 and len(history.history["val_loss"]) == 1


def test_validation_pydataset_and_callbacks_see_the_validation(data):
    x, y = data

    class Hooks(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.calls = []

        def on_test_begin(self, logs=None):
            self.calls.append("test_begin")

        def on_test_batch_end(self, batch, logs=None):
            self.calls.append(batch)

        def on_epoch_end(self, epoch, logs=None):
            self.calls.append(sorted(logs))

    reference, history = fit_arrays(x[:12], y[:12], epochs=2, validation_data=(x[12:], y[12:]))
    val = Batches(x[12:], y[12:])
    hooks = Hooks()
    model = make_model()
    logs = model.fit(x[:12], y[:12], batch_size=BATCH, shuffle=False, epochs=2, verbose=0,
                     validation_data=val, callbacks=[hooks])
    same_weights(reference, model)
    assert logs.history == history.history
    assert val.log == ["begin", 0, 1, "end"] * 2
    keys = ["accuracy", "loss", "val_accuracy", "val_loss"]
    assert hooks.calls == ["test_begin", 0, 1, keys] * 2


def test_validation_freq_list(data):
    x, y = data
    _, history = fit_arrays(x, y, epochs=4, validation_data=(x, y), validation_freq=[2, 3])
    assert len(history.history["val_loss"]) == 2
    with pytest.raises(ValueError, match="`validation_freq` must be an int or a list"):
        fit_arrays(x, y, validation_data=(x, y), validation_freq="2")


# -- PyDataset -------------------------------------------------------------------------------

def test_pydataset_equals_arrays_and_calls_epoch_hooks(data):
    x, y = data
    reference, history = fit_arrays(x, y, epochs=2)
    dataset = Batches(x, y)
    model = make_model()
    logs = model.fit(dataset, epochs=2, shuffle=False, verbose=0)
    same_weights(reference, model)
    assert logs.history == history.history
    assert logs.params["steps"] == 5
    assert dataset.log == ["begin", 0, 1, 2, 3, 4, "end"] * 2
    assert keras.utils.Sequence is keras.utils.PyDataset


def test_pydataset_shuffle_visits_batches_in_random_order(data):
    x, y = data
    dataset = Batches(x, y)
    keras.utils.set_random_seed(7)
    make_model().fit(dataset, epochs=3, verbose=0)
    epochs = [dataset.log[i + 1:i + 6] for i in range(0, 21, 7)]
    assert all(sorted(order) == [0, 1, 2, 3, 4] for order in epochs)
    assert any(order != [0, 1, 2, 3, 4] for order in epochs)
    again = Batches(x, y)
    keras.utils.set_random_seed(7)
    make_model().fit(again, epochs=3, verbose=0)
    assert again.log == dataset.log


def test_pydataset_threads_give_the_same_training(data):
    x, y = data
    reference, history = fit_arrays(x, y, epochs=2)
    dataset = Batches(x, y, workers=3, max_queue_size=2)
    model = make_model()
    logs = model.fit(dataset, epochs=2, shuffle=False, verbose=0)
    same_weights(reference, model)
    assert logs.history == history.history
    assert dataset.threads and threading.current_thread().name not in dataset.threads
    # Prefetching stays within the epoch: each epoch fetches batches 0-4 (the threads may log
    # them out of order), between its on_epoch_begin and on_epoch_end.
    assert [entry for entry in dataset.log if isinstance(entry, str)] == ["begin", "end"] * 2
    for epoch in range(2):
        begin = 7 * epoch
        assert sorted(dataset.log[begin + 1:begin + 6]) == [0, 1, 2, 3, 4]
    np.testing.assert_array_equal(model.predict(Batches(x, workers=4), verbose=0),
                                  model.predict(x, batch_size=BATCH, verbose=0))


def test_pydataset_thread_errors_reach_the_caller(data):
    x, y = data

    class Broken(Batches):
        def __getitem__(self, index):
            if index == 2:
                raise RuntimeError("batch 2 is broken")
            return super().__getitem__(index)

    with pytest.raises(RuntimeError, match="batch 2 is broken"):
        make_model().fit(Broken(x, y, workers=2), shuffle=False, verbose=0)


def test_pydataset_class_weight_per_batch(data):
    x, y = data
    class_weight = {0: 0.25, 1: 2.0}
    reference, history = fit_arrays(x, y, class_weight=class_weight, epochs=2)
    model = make_model()
    logs = model.fit(Batches(x, y), class_weight=class_weight, epochs=2, shuffle=False,
                     verbose=0)
    same_weights(reference, model)
    assert logs.history == history.history


def test_pydataset_batch_forms(data):
    x, y = data
    reference, _ = fit_arrays(x, y)
    model = make_model()
    model.fit(Batches(x, y, form="list"), shuffle=False, verbose=0)
    same_weights(reference, model)
    np.testing.assert_array_equal(model.predict(Batches(x, form="x"), verbose=0),
                                  model.predict(x, verbose=0))


def test_pydataset_steps_per_epoch_and_infinite(data):
    x, y = data
    dataset = Batches(x, y)
    with pytest.warns(UserWarning, match="this epoch stopped after 2 of its 3 steps"):
        make_model().fit(dataset, steps_per_epoch=3, epochs=3, shuffle=False, verbose=0)
    assert dataset.log == ["begin", 0, 1, 2, "end", "begin", 3, 4, "end",
                           "begin", 0, 1, 2, "end"]
    infinite = Batches(x, y, infinite=True)
    with pytest.warns(UserWarning, match="`shuffle=True` has no effect on an infinite "
                                         "PyDataset"):
        history = make_model().fit(infinite, steps_per_epoch=3, epochs=2, verbose=0)
    assert history.params["steps"] == 3
    assert infinite.log == ["begin", 0, 1, 2, "end", "begin", 3, 4, 5, "end"]


def test_pydataset_without_super_init_warns_and_works(data):
    x, y = data

    class NoSuper(keras.utils.PyDataset):
        def __len__(self):
            return 5

        def __getitem__(self, index):
            return x[index * BATCH:(index + 1) * BATCH], y[index * BATCH:(index + 1) * BATCH]

        def __init__(self):
            pass

    with pytest.warns(UserWarning, match=r"should call `super\(\).__init__\(\*\*kwargs\)`"):
        make_model().fit(NoSuper(), shuffle=False, verbose=0)
    assert list(NoSuper())[4][0].shape == (BATCH, T, F)


# -- refusals --------------------------------------------------------------------------------

def generator(x, y):
    return (b for b in batches_of(x, y))


@pytest.mark.parametrize("call,match", [
    (lambda m, x, y: m.fit(generator(x, y), y, verbose=0),
     r"When `x` is a Python generator, `y` must not be passed: the targets come from the "
     r"Python generator"),
    (lambda m, x, y: m.evaluate(generator(x, y), y, verbose=0),
     r"When `x` is a Python generator, `y` must not be passed"),
    (lambda m, x, y: m.fit(Batches(x, y), y, verbose=0),
     r"When `x` is a PyDataset, `y` must not be passed"),
    (lambda m, x, y: m.fit(generator(x, y), sample_weight=np.ones(N), verbose=0),
     r"When `x` is a Python generator, `sample_weight` must not be passed: the sample "
     r"weights come from"),
    (lambda m, x, y: m.evaluate(Batches(x, y), sample_weight=np.ones(N), verbose=0),
     r"When `x` is a PyDataset, `sample_weight` must not be passed"),
    (lambda m, x, y: m.fit(generator(x, y), class_weight={0: 1.0}, verbose=0),
     r"`class_weight` is not supported when `x` is a Python generator"),
    (lambda m, x, y: m.fit(generator(x, y), validation_split=0.2, verbose=0),
     r"`validation_split` is only supported when the data are arrays: it cannot split a "
     r"generator"),
    (lambda m, x, y: m.fit(Batches(x, y), validation_split=0.2, verbose=0),
     r"`validation_split` is only supported when the data are arrays: it cannot split a "
     r"Batches"),
    (lambda m, x, y: m.fit(x[:3], y[:4], validation_split=0.2, verbose=0),
     r"Data cardinality is ambiguous"),
    (lambda m, x, y: m.fit(x[:4], y[:4], validation_split=0.8, verbose=0),
     r"The training data has 4 samples, too few to keep a validation part of "
     r"`validation_split=0.8`"),
    (lambda m, x, y: m.fit(x, y[:7], verbose=0),
     r"Data cardinality is ambiguous. Make sure all arrays contain the same number of "
     r"samples.\n'x' sizes: 20\n'y' sizes: 7"),
    (lambda m, x, y: m.fit(((a, b, b, b) for a, b in batches_of(x, y)), shuffle=False,
                           verbose=0),
     r"A generator must give each batch as a tuple `\(inputs,\)`, `\(inputs, targets\)` or "
     r"`\(inputs, targets, sample_weights\)` .*Received: a tuple of 4 elements"),
    (lambda m, x, y: m.fit(iter(["abc"]), shuffle=False, verbose=0),
     r"A generator must give each batch as a tuple .*Received: 'abc' \(of type str\)"),
    (lambda m, x, y: m.fit(((a,) for a, _ in batches_of(x, y)), shuffle=False, verbose=0),
     r"`fit` needs targets, but the generator gave a batch of inputs only"),
    (lambda m, x, y: m.fit(Batches(x, y, form="x"), verbose=0),
     r"`fit` needs targets, but the PyDataset gave a batch of inputs only"),
    (lambda m, x, y: m.fit((b for b in []), shuffle=False, verbose=0),
     r"The Python generator \(or iterator\) given to `fit` yielded no batch"),
    (lambda m, x, y: m.fit(Batches(x[:0], y[:0]), verbose=0),
     r"The PyDataset given to `fit` has no batches"),
    (lambda m, x, y: m.fit(Batches(x, y, use_multiprocessing=True), verbose=0),
     r"rnnkit does not support `use_multiprocessing=True` for a PyDataset"),
    (lambda m, x, y: m.fit("x.csv", y, verbose=0),
     r"Unrecognized data type: x='x.csv' \(of type str\)"),
    (lambda m, x, y: m.fit(x, y, validation_data=x, verbose=0),
     r"`validation_data` must be a tuple \(x_val, y_val\)"),
    (lambda m, x, y: m.fit(x, y, steps_per_epoch=0, verbose=0),
     r"`steps_per_epoch` must be a positive integer or None, got 0"),
    (lambda m, x, y: m.fit(x, y, batch_size=0, verbose=0),
     r"`batch_size` must be a positive integer, got 0"),
    (lambda m, x, y: m.fit(None, y, verbose=0), r"No data: pass `x`"),
])
def test_refusals(data, call, match):
    x, y = data
    with pytest.raises(ValueError, match=match):
        call(make_model(), x, y)


def test_class_weight_needs_a_single_output(rng):
    x = rng.standard_normal((N, T, F)).astype(np.float32)
    xb = rng.standard_normal((N, 2)).astype(np.float32)
    inputs = keras.Input((T, F))
    hidden = layers.GRU(3)(inputs)
    model = keras.Model(inputs, [layers.Dense(2)(hidden), layers.Dense(2)(hidden)])
    model.compile(optimizer="sgd", loss="mse")
    with pytest.raises(ValueError, match="`class_weight` is only supported for models with a "
                                         "single output"):
        model.fit(x, [xb, xb], class_weight={0: 1.0}, verbose=0)


# -- what worked before keeps working with the other kinds of input --------------------------

def test_initial_epoch_with_arrays_generator_and_pydataset(data):
    x, y = data
    _, history = fit_arrays(x, y, epochs=3, initial_epoch=1)
    assert history.epoch == [1, 2]
    dataset = Batches(x, y)
    logs = make_model().fit(dataset, epochs=3, initial_epoch=1, shuffle=False, verbose=0)
    assert logs.epoch == [1, 2] and logs.history == history.history
    assert dataset.log.count("end") == 2


def test_several_outputs_with_dict_targets_from_a_generator(rng):
    x = rng.standard_normal((N, T, F)).astype(np.float32)
    ya = rng.standard_normal((N, 1)).astype(np.float32)
    yb = rng.standard_normal((N, 2)).astype(np.float32)

    def build():
        keras.utils.set_random_seed(2)
        inputs = keras.Input((T, F))
        hidden = layers.GRU(3)(inputs)
        model = keras.Model(inputs, [layers.Dense(1, name="a")(hidden),
                                     layers.Dense(2, name="b")(hidden)])
        model.compile(optimizer="sgd", loss={"a": "mse", "b": "mae"})
        return model

    reference = build()
    history = reference.fit(x, {"a": ya, "b": yb}, batch_size=BATCH, shuffle=False, verbose=0)
    model = build()
    logs = model.fit(((bx, {"a": ba, "b": bb}) for bx, ba, bb in batches_of(x, ya, yb)),
                     shuffle=False, verbose=0)
    same_weights(reference, model)
    assert logs.history == history.history


def test_stateful_model_on_a_pydataset_carries_states(data):
    x, _ = data
    target = np.zeros((N, 3), np.float32)

    def build():
        keras.utils.set_random_seed(4)
        model = keras.Sequential([keras.Input(batch_shape=(BATCH, T, F)),
                                  layers.LSTM(3, stateful=True)])
        model.compile(optimizer="sgd", loss="mse")
        return model

    reference, model = build(), build()
    reference.fit(x, target, batch_size=BATCH, shuffle=False, verbose=0)
    model.fit(Batches(x, target), shuffle=False, verbose=0)
    same_weights(reference, model)
    for a, b in zip(reference.layers[0].states, model.layers[0].states):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
        assert np.abs(np.asarray(b)).sum() > 0


def test_pydataset_predict_steps_and_plain_iteration(data):
    x, y = data
    model = make_model()
    np.testing.assert_array_equal(model.predict(Batches(x), steps=2, verbose=0),
                                  model.predict(x[:8], verbose=0))
    assert model.evaluate(Batches(x, y), verbose=0) == \
        model.evaluate(x, y, batch_size=BATCH, verbose=0)

    class Endless(keras.utils.PyDataset):
        def __getitem__(self, index):
            return np.full((1, 1), index)

    first = [batch[0, 0] for batch, _ in zip(Endless(), range(3))]
    assert first == [0, 1, 2]
