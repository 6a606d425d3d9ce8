"""rnnkit.callbacks: the Keras 3 callback protocol, History, ProgbarLogger (exact output, with a
fake clock), EarlyStopping, ModelCheckpoint, LearningRateScheduler, ReduceLROnPlateau,
TerminateOnNaN, LambdaCallback and CSVLogger, driven by hand with a fake model."""

from __future__ import annotations

import csv
import os
import re

import numpy as np
import pytest

import rnnkit.progbar as progbar_module
from rnnkit import callbacks as cbks
from rnnkit.callbacks import (CSVLogger, Callback, CallbackList, EarlyStopping, History,
                              LambdaCallback, LearningRateScheduler, ModelCheckpoint,
                              ProgbarLogger, ReduceLROnPlateau, TerminateOnNaN)


class FakeOptimizer:
    def __init__(self, learning_rate=0.01):
        self.learning_rate = learning_rate
        self.name = "sgd"


class FakeModel:
    """What the callbacks use of a model."""

    def __init__(self):
        self.weights = [np.zeros((2, 2), np.float32), np.zeros(2, np.float32)]
        self.stop_training = False
        self.optimizer = FakeOptimizer()
        self.saved = []
        self.metrics = []

    def get_weights(self):
        return [w.copy() for w in self.weights]

    def set_weights(self, weights):
        self.weights = [np.array(w) for w in weights]

    def save(self, filepath, overwrite=True):
        self.saved.append(("save", filepath, overwrite))
        with open(filepath, "w") as f:
            f.write("model")

    def save_weights(self, filepath):  # no `overwrite` argument: must still work
        self.saved.append(("save_weights", filepath))
        with open(filepath, "w") as f:
            f.write("weights")


class Clock:
    def __init__(self, t=0.0):
        self.t = t

    def __call__(self):
        return self.t


@pytest.fixture
def clock(monkeypatch):
    c = Clock(1000.0)
    monkeypatch.setattr(progbar_module, "_time", c)
    return c


HOOKS = [
    ("on_train_begin", ()), ("on_train_end", ()), ("on_epoch_begin", (3,)),
    ("on_epoch_end", (3,)), ("on_train_batch_begin", (5,)), ("on_train_batch_end", (5,)),
    ("on_test_begin", ()), ("on_test_end", ()), ("on_test_batch_begin", (1,)),
    ("on_test_batch_end", (1,)), ("on_predict_begin", ()), ("on_predict_end", ()),
    ("on_predict_batch_begin", (2,)), ("on_predict_batch_end", (2,)),
]


class Recorder(Callback):
    def __init__(self):
        super().__init__()
        self.calls = []

    def __getattribute__(self, name):
        if name.startswith("on_") and name not in ("on_batch_begin", "on_batch_end"):
            base = object.__getattribute__(self, name)

            def record(*args, **kwargs):
                object.__getattribute__(self, "calls").append((name, args, kwargs))
                return base(*args, **kwargs)
            return record
        return object.__getattribute__(self, name)

    def on_batch_begin(self, batch, logs=None):
        self.calls.append(("on_batch_begin", (batch,), {"logs": logs}))

    def on_batch_end(self, batch, logs=None):
        self.calls.append(("on_batch_end", (batch,), {"logs": logs}))


def fit_loop(model, callbacks, epoch_logs, batch_logs=None, steps=2, val=True):
    """Drive a CallbackList the way fit does. `epoch_logs` lists one dict per epoch."""
    callbacks.on_train_begin()
    logs = {}
    for epoch, elogs in enumerate(epoch_logs):
        callbacks.on_epoch_begin(epoch)
        for step in range(steps):
            callbacks.on_train_batch_begin(step)
            callbacks.on_train_batch_end(step, dict(batch_logs or {"loss": 1.0}))
        if val:
            callbacks.on_test_begin()
            callbacks.on_test_batch_begin(0)
            callbacks.on_test_batch_end(0, {"loss": 2.0})
            callbacks.on_test_end({"loss": 2.0})
        logs = dict(elogs)
        callbacks.on_epoch_end(epoch, logs)
        if model.stop_training:
            break
    callbacks.on_train_end(logs)
    return callbacks


# -- Callback / CallbackList --------------------------------------------------------------------

def test_base_callback_defaults():
    cb = Callback()
    assert cb.params is None and cb.model is None
    model = FakeModel()
    cb.set_model(model)
    cb.set_params({"epochs": 2})
    assert cb.model is model and cb.params == {"epochs": 2}
    for hook, args in HOOKS + [("on_batch_begin", (0,)), ("on_batch_end", (0,))]:
        assert getattr(cb, hook)(*args, logs={}) is None


def test_train_batch_hooks_call_legacy_aliases():
    rec = Recorder()
    rec.on_train_batch_begin(4, logs={"a": 1})
    rec.on_train_batch_end(4, logs={"loss": 2})
    names = [c[0] for c in rec.calls]
    assert names == ["on_train_batch_begin", "on_batch_begin", "on_train_batch_end",
                     "on_batch_end"]


def test_callback_list_dispatches_every_hook_in_order():
    a, b = Recorder(), Recorder()
    model = FakeModel()
    cl = CallbackList([a, [b]], model=model, verbose=1, epochs=2, steps=3)
    assert cl.callbacks == [a, b]
    for rec in (a, b):
        assert rec.model is model
        assert rec.params == {"verbose": 1, "epochs": 2, "steps": 3}
    for hook, args in HOOKS:
        getattr(cl, hook)(*args, {"loss": 1.5})
    for rec in (a, b):
        got = [(name, args if "logs" in kwargs else args[:-1])
               for name, args, kwargs in rec.calls if not name.startswith("on_batch_")]
        assert [g[0] for g in got] == [h[0] for h in HOOKS]
        assert [g[1] for g in got] == [h[1] for h in HOOKS]
        # Every hook received the logs dict: by keyword for the batch hooks, as Keras does.
        for name, args, kwargs in rec.calls:
            assert ("logs" in kwargs) == ("batch_" in name)
            logs = kwargs["logs"] if "logs" in kwargs else args[-1]
            assert logs == {"loss": 1.5}


def test_callback_list_logs_none_becomes_empty_dict():
    rec = Recorder()
    cl = CallbackList([rec])
    cl.on_epoch_begin(0)
    cl.on_train_batch_end(0)
    assert rec.calls[0] == ("on_epoch_begin", (0, {}), {})
    assert rec.calls[1] == ("on_train_batch_end", (0,), {"logs": {}})


def test_batch_logs_sorted_and_converted_to_floats():
    rec = Recorder()
    cl = CallbackList([rec])
    logs = {"loss": np.float32(0.5), "accuracy": np.array(0.25), "mae": 3,
            "nested": {"z": np.float64(1.0)}, "name": "x"}
    cl.on_train_batch_end(0, logs)
    cl.on_test_batch_end(0, logs)
    for name, args, kwargs in rec.calls:
        if name in ("on_train_batch_end", "on_test_batch_end"):
            got = kwargs["logs"]
            assert list(got) == ["accuracy", "loss", "mae", "name", "z"]
            assert all(type(got[k]) is float for k in ("accuracy", "loss", "mae", "z"))
            assert got["name"] == "x"
    assert list(logs) == ["loss", "accuracy", "mae", "nested", "name"]  # caller's untouched


def test_epoch_logs_are_shared_between_callbacks():
    # A callback that adds a key in on_epoch_end (LearningRateScheduler) is seen by History,
    # which the list adds after the user's callbacks.
    model = FakeModel()
    cl = CallbackList([LearningRateScheduler(lambda e, lr: lr / 2)], add_history=True,
                      model=model, verbose=0, epochs=2, steps=1)
    fit_loop(model, cl, [{"loss": 1.0}, {"loss": 0.5}], steps=1, val=False)
    assert cl.history.history == {"loss": [1.0, 0.5], "learning_rate": [0.005, 0.0025]}


def test_add_history_and_progbar():
    model = FakeModel()
    user = Recorder()
    cl = CallbackList([user], add_history=True, add_progbar=True, model=model, verbose=1,
                      epochs=1, steps=1)
    assert isinstance(cl.callbacks[1], History) and isinstance(cl.callbacks[2], ProgbarLogger)
    assert cl.history is cl.callbacks[1]
    assert model.history is cl.history
    assert cl.callbacks[2].params == {"verbose": 1, "epochs": 1, "steps": 1}
    # Already present: not added again, and the user's instances are used.
    h, p = History(), ProgbarLogger()
    cl = CallbackList([p, h], add_history=True, add_progbar=True, model=model)
    assert cl.callbacks == [p, h] and cl.history is h and model.history is h
    # Not asked: none added.
    cl = CallbackList([user])
    assert cl.callbacks == [user] and cl.history is None and len(cl) == 1
    assert CallbackList().callbacks == []


def test_callback_list_append():
    model = FakeModel()
    cl = CallbackList(model=model, epochs=3)
    rec = Recorder()
    cl.append(rec)
    assert rec.model is model and rec.params == {"epochs": 3}
    assert list(cl) == [rec]


# -- History ------------------------------------------------------------------------------------

def test_history_records_epochs_and_sets_model_history():
    model = FakeModel()
    cl = CallbackList(None, add_history=True, model=model, verbose="auto", epochs=3, steps=4)
    fit_loop(model, cl, [
        {"accuracy": 0.2, "loss": 1.4, "val_accuracy": 0.1, "val_loss": 1.5},
        {"accuracy": 0.3, "loss": 1.3, "val_accuracy": 0.2, "val_loss": 1.4},
        {"accuracy": 0.4, "loss": 1.2, "val_accuracy": 0.3, "val_loss": 1.3},
    ])
    h = model.history
    assert h is cl.history
    assert list(h.history) == ["accuracy", "loss", "val_accuracy", "val_loss"]
    assert h.history["loss"] == [1.4, 1.3, 1.2]
    assert h.history["val_accuracy"] == [0.1, 0.2, 0.3]
    assert h.epoch == [0, 1, 2]
    assert h.params == {"verbose": "auto", "epochs": 3, "steps": 4}


def test_history_key_order_follows_arrival():
    h = History()
    h.on_train_begin()
    h.on_epoch_end(0, {"b": 1, "a": 2})
    h.on_epoch_end(1, {"a": 3, "c": 4, "b": 5})
    assert list(h.history) == ["b", "a", "c"]
    assert h.history == {"b": [1, 5], "a": [2, 3], "c": [4]}


# -- ProgbarLogger ------------------------------------------------------------------------------

B, R, G, W = "\x1b[1m", "\x1b[0m", "\x1b[32m", "\x1b[37m"


def screen(text):
    """Each finished line as a terminal finally shows it (ANSI codes dropped, redraws
    resolved, trailing padding stripped)."""
    text = re.sub(r"\x1b\[\d+m", "", text)
    lines = []
    for line in text.split("\n")[:-1]:
        lines.append(line.split("\r")[-1].rstrip())
    return lines


def progbar_fit(clock, verbose, epochs=2, steps=4, val=True):
    model = FakeModel()
    cl = CallbackList(None, add_history=True, add_progbar=verbose != 0, model=model,
                      verbose=verbose, epochs=epochs, steps=steps)
    cl.on_train_begin()
    for epoch in range(epochs):
        cl.on_epoch_begin(epoch)
        for step in range(steps):
            cl.on_train_batch_begin(step)
            clock.t += 0.003
            cl.on_train_batch_end(step, {"loss": 1.3839 - 0.001 * step,
                                         "accuracy": 0.24 - 0.01 * step})
        logs = {"accuracy": 0.22, "loss": 1.3825}
        if val:
            cl.on_test_begin()
            for step in range(2):
                cl.on_test_batch_begin(step)
                cl.on_test_batch_end(step, {"loss": 1.33, "accuracy": 0.3})
            cl.on_test_end({"loss": 1.3309, "accuracy": 0.3})
            logs.update(val_accuracy=0.3, val_loss=1.3309)
        cl.on_epoch_end(epoch, logs)
    cl.on_train_end(logs)
    return model


def test_progbar_logger_fit_verbose1(clock, capsys):
    progbar_fit(clock, verbose=1)
    out = capsys.readouterr().out
    final = ("4/4 ━━━━━━━━━━━━━━━━━━━━ 0s 3ms/step - accuracy: 0.2200 - loss: 1.3825 "
             "- val_accuracy: 0.3000 - val_loss: 1.3309")
    assert screen(out) == ["Epoch 1/2", final, "Epoch 2/2", final]
    # The exact stream of the first epoch: batch 1 is drawn (nothing drawn before), batches
    # 2-4 fall within the 50 ms redraw interval, then the final line with the epoch logs.
    first = out.split("Epoch 2/2\n")[0]
    line1 = (f"\r{B}1/4{R} {G}{'━' * 5}{R}{W}{'━' * 15}{R} {B}0s{R} 3ms/step"
             " - accuracy: 0.2400 - loss: 1.3839")
    width1 = len("1/4 ") + 20 + len(" 0s 3ms/step - accuracy: 0.2400 - loss: 1.3839")
    line_end = ("\b" * width1 + f"\r{B}4/4{R} {G}{'━' * 20}{R}{W}{R} {B}0s{R} 3ms/step"
                " - accuracy: 0.2200 - loss: 1.3825 - val_accuracy: 0.3000 - val_loss: 1.3309\n")
    assert first == "Epoch 1/2\n" + line1 + line_end


def test_progbar_logger_fit_verbose1_redraws_each_slow_batch(clock, capsys):
    model = FakeModel()
    cl = CallbackList(None, add_progbar=True, model=model, verbose="auto", epochs=1, steps=2)
    cl.on_train_begin()
    cl.on_epoch_begin(0)
    clock.t += 0.1
    cl.on_train_batch_end(0, {"loss": 2.0})
    clock.t += 0.1
    cl.on_train_batch_end(1, {"loss": 1.0})
    cl.on_epoch_end(0, {"loss": 1.5})
    cl.on_train_end()
    out = capsys.readouterr().out
    assert "Epoch" not in out  # a single epoch prints no Epoch line
    # batch values are shown as given (running averages), not averaged again
    parts = re.sub(r"\x1b\[\d+m", "", out).replace("\b", "").split("\r")[1:]
    assert [p.rstrip() for p in parts] == [
        "1/2 ━━━━━━━━━━━━━━━━━━━━ 0s 100ms/step - loss: 2.0000",
        "2/2 ━━━━━━━━━━━━━━━━━━━━ 0s 100ms/step - loss: 1.0000",
        "2/2 ━━━━━━━━━━━━━━━━━━━━ 0s 100ms/step - loss: 1.5000",
    ]
    assert screen(out) == ["2/2 ━━━━━━━━━━━━━━━━━━━━ 0s 100ms/step - loss: 1.5000"]


def test_progbar_logger_fit_verbose2(clock, capsys):
    progbar_fit(clock, verbose=2)
    out = capsys.readouterr().out
    line = ("4/4 - 0s - 3ms/step - accuracy: 0.2200 - loss: 1.3825 - val_accuracy: 0.3000 "
            "- val_loss: 1.3309\n")
    assert out == "Epoch 1/2\n" + line + "Epoch 2/2\n" + line


def test_progbar_logger_verbose2_zero_metric(clock, capsys):
    model = FakeModel()
    cl = CallbackList(None, add_progbar=True, model=model, verbose=2, epochs=1, steps=4)
    cl.on_train_begin()
    cl.on_epoch_begin(0)
    for step in range(4):
        cl.on_train_batch_end(step, {"loss": 1.0})
    clock.t += 1.228
    cl.on_epoch_end(0, {"accuracy": 0.21, "loss": 1.3918, "val_accuracy": 0.0,
                        "val_loss": 1.4042})
    assert capsys.readouterr().out == ("4/4 - 1s - 307ms/step - accuracy: 0.2100 - loss: 1.3918"
                                       " - val_accuracy: 0.0000e+00 - val_loss: 1.4042\n")


def test_progbar_logger_verbose0_silent(clock, capsys):
    progbar_fit(clock, verbose=0)  # fit adds no ProgbarLogger
    model = FakeModel()
    cl = CallbackList([ProgbarLogger()], model=model, verbose=0, epochs=2, steps=4)
    fit_loop(model, cl, [{"loss": 1.0}, {"loss": 0.5}])
    assert capsys.readouterr().out == ""


def test_progbar_logger_evaluate(clock, capsys):
    model = FakeModel()
    cl = CallbackList(None, add_progbar=True, model=model, verbose=1, epochs=1, steps=3)
    cl.on_test_begin()
    for step in range(3):
        cl.on_test_batch_begin(step)
        clock.t += 0.002
        cl.on_test_batch_end(step, {"loss": 0.5, "accuracy": 0.75})
    cl.on_test_end({"loss": 0.5, "accuracy": 0.75})
    assert screen(capsys.readouterr().out) == [
        "3/3 ━━━━━━━━━━━━━━━━━━━━ 0s 2ms/step - accuracy: 0.7500 - loss: 0.5000"]


def test_progbar_logger_predict(clock, capsys):
    model = FakeModel()
    cl = CallbackList(None, add_progbar=True, model=model, verbose=1, epochs=1, steps=2)
    cl.on_predict_begin()
    for step in range(2):
        cl.on_predict_batch_begin(step)
        clock.t += 0.0005
        cl.on_predict_batch_end(step, {"outputs": np.zeros((4, 3))})
    cl.on_predict_end()
    assert screen(capsys.readouterr().out) == ["2/2 ━━━━━━━━━━━━━━━━━━━━ 0s 500us/step"]


def test_progbar_logger_unknown_steps(clock, capsys):
    model = FakeModel()
    cl = CallbackList(None, add_progbar=True, model=model, verbose=1, epochs=1, steps=None)
    cl.on_train_begin()
    cl.on_epoch_begin(0)
    for step in range(3):
        clock.t += 0.1
        cl.on_train_batch_end(step, {"loss": 1.0})
    cl.on_epoch_end(0, {"loss": 1.0})
    cl.on_train_end()
    out = capsys.readouterr().out
    assert "      1/Unknown" in re.sub(r"\x1b\[\d+m", "", out)
    assert screen(out) == ["3/3 ━━━━━━━━━━━━━━━━━━━━ 0s 100ms/step - loss: 1.0000"]


def test_progbar_logger_evaluate_after_fit(clock, capsys):
    # A ProgbarLogger the user passes to fit and then to evaluate prints in both.
    model = FakeModel()
    pl = ProgbarLogger()
    fit_loop(model, CallbackList([pl], model=model, verbose=1, epochs=1, steps=2),
             [{"loss": 1.0}])
    capsys.readouterr()
    cl = CallbackList([pl], model=model, verbose=1, epochs=1, steps=1)
    cl.on_test_begin()
    cl.on_test_batch_end(0, {"loss": 2.0})
    cl.on_test_end({"loss": 2.0})
    assert screen(capsys.readouterr().out) == ["1/1 ━━━━━━━━━━━━━━━━━━━━ 0s 0s/step - loss: 2.0000"]


# -- EarlyStopping ------------------------------------------------------------------------------

def run_early_stopping(cb, values, key="val_loss", weights_per_epoch=True, model=None):
    """Run epochs with logs {key: v}; the model's weights are set to the epoch index before
    each epoch end. Returns (model, number of epochs run)."""
    model = model or FakeModel()
    cl = CallbackList([cb], model=model, verbose=0, epochs=len(values), steps=1)
    model.stop_training = False
    cl.on_train_begin()
    ran = 0
    for epoch, v in enumerate(values):
        cl.on_epoch_begin(epoch)
        if weights_per_epoch:
            model.set_weights([np.full((2, 2), epoch, np.float32),
                               np.full(2, epoch, np.float32)])
        cl.on_epoch_end(epoch, {key: v})
        ran += 1
        if model.stop_training:
            break
    cl.on_train_end()
    return model, ran


def test_early_stopping_patience():
    # patience=0: stop at the first epoch without improvement
    _, ran = run_early_stopping(EarlyStopping(), [1.0, 0.9, 0.95, 0.8])
    assert ran == 3
    cb = EarlyStopping(patience=2)
    _, ran = run_early_stopping(cb, [1.0, 0.9, 0.95, 0.92, 0.5, 0.4])
    assert ran == 4 and cb.stopped_epoch == 3 and cb.best == 0.9 and cb.best_epoch == 1
    _, ran = run_early_stopping(EarlyStopping(patience=2), [1.0, 0.9, 0.95, 0.8, 0.85, 0.7])
    assert ran == 6


def test_early_stopping_never_stops_at_first_epoch():
    # inf is no improvement on the initial best (inf), but epoch 0 never stops training
    cb = EarlyStopping(patience=0)
    _, ran = run_early_stopping(cb, [np.inf, 2.0, 3.0])
    assert ran == 3 and cb.stopped_epoch == 2


def test_early_stopping_min_delta():
    # improvements of 0.01 do not count with min_delta=0.05
    cb = EarlyStopping(monitor="loss", min_delta=-0.05, patience=1)  # sign is ignored
    _, ran = run_early_stopping(cb, [1.0, 0.99, 0.98, 0.97], key="loss")
    assert ran == 2 and cb.best == 1.0


@pytest.mark.parametrize("monitor", ["val_accuracy", "acc", "val_acc", "auc"])
def test_early_stopping_auto_maximises_accuracy(monitor):
    cb = EarlyStopping(monitor=monitor, patience=0)
    _, ran = run_early_stopping(cb, [0.5, 0.6, 0.55, 0.7], key=monitor)
    assert ran == 3 and cb.best == 0.6


def test_early_stopping_modes():
    cb = EarlyStopping(monitor="val_accuracy", mode="min")
    _, ran = run_early_stopping(cb, [0.5, 0.6], key="val_accuracy")
    assert ran == 2 and cb.stopped_epoch == 1
    cb = EarlyStopping(monitor="val_mse", mode="max")
    _, ran = run_early_stopping(cb, [0.5, 0.6, 0.4], key="val_mse")
    assert ran == 3
    with pytest.warns(UserWarning, match="unknown"):
        cb = EarlyStopping(mode="bogus")
    assert cb.mode == "auto"


def test_early_stopping_auto_uses_metric_direction():
    class Metric:
        def __init__(self, name, direction):
            self.name, self._direction = name, direction

    class Compiled:
        def __init__(self, metrics):
            self.metrics = metrics

    model = FakeModel()
    model.metrics = [Metric("loss", "down"), Compiled([Metric("r2", "up")])]
    cb = EarlyStopping(monitor="val_r2")
    _, ran = run_early_stopping(cb, [0.1, 0.2, 0.15], key="val_r2", model=model)
    assert ran == 3 and cb.best == 0.2
    # an unknown name without direction is minimised
    cb = EarlyStopping(monitor="val_mae")
    _, ran = run_early_stopping(cb, [0.3, 0.2, 0.25], key="val_mae")
    assert ran == 3 and cb.best == 0.2


def test_early_stopping_baseline():
    # Nothing beats the baseline and nothing improves: training runs `patience` epochs.
    cb = EarlyStopping(monitor="val_loss", baseline=0.5, patience=2)
    _, ran = run_early_stopping(cb, [0.9, 0.95, 0.97, 0.99])
    assert ran == 2
    # An epoch that improves on the best never stops training, even above the baseline...
    cb = EarlyStopping(monitor="val_loss", baseline=0.5, patience=2)
    _, ran = run_early_stopping(cb, [0.9, 0.8, 0.7, 0.6, 0.4])
    assert ran == 5 and cb.wait == 0  # (0.4 beat the baseline: wait reset)
    # ...but then the wait is not reset, so the first epoch without improvement stops it.
    cb = EarlyStopping(monitor="val_loss", baseline=0.5, patience=2)
    _, ran = run_early_stopping(cb, [0.9, 0.8, 0.85, 0.7, 0.75, 0.74, 0.73])
    assert ran == 3  # wait: 1, 2 (improved, not reset), 3 -> stop
    # Beating the baseline resets the wait.
    cb = EarlyStopping(monitor="val_loss", baseline=0.5, patience=1)
    _, ran = run_early_stopping(cb, [0.9, 0.4, 0.3, 0.2])
    assert ran == 4


def test_early_stopping_restore_best_weights(capsys):
    cb = EarlyStopping(patience=1, restore_best_weights=True, verbose=1)
    model, ran = run_early_stopping(cb, [1.0, 0.5, 0.7, 0.8])
    assert ran == 3
    assert np.all(model.weights[0] == 1) and np.all(model.weights[1] == 1)
    assert capsys.readouterr().out == ("Epoch 3: early stopping\n"
                                       "Restoring model weights from the end of the best "
                                       "epoch: 2.\n")
    # Without stopping, the best weights are still restored at the end of training.
    cb = EarlyStopping(patience=5, restore_best_weights=True)
    model, ran = run_early_stopping(cb, [1.0, 0.5, 0.7, 0.8])
    assert ran == 4 and np.all(model.weights[0] == 1)
    # restore_best_weights=False keeps the last weights
    model, _ = run_early_stopping(EarlyStopping(patience=1), [1.0, 0.5, 0.7, 0.8])
    assert np.all(model.weights[0] == 2)


def test_early_stopping_best_weights_are_copies():
    model = FakeModel()
    model.get_weights = lambda: model.weights  # a model returning its own arrays
    cb = EarlyStopping(patience=3, restore_best_weights=True)
    cl = CallbackList([cb], model=model)
    cl.on_train_begin()
    cl.on_epoch_end(0, {"val_loss": 1.0})
    model.weights[0][...] = 7  # changed in place later
    cl.on_epoch_end(1, {"val_loss": 2.0})
    cl.on_train_end()
    assert np.all(model.weights[0] == 0)


def test_early_stopping_start_from_epoch():
    cb = EarlyStopping(patience=0, start_from_epoch=2)
    _, ran = run_early_stopping(cb, [1.0, 2.0, 3.0, 4.0, 5.0])
    assert ran == 4  # epochs 0, 1 ignored; 2 sets the best; 3 does not improve


def test_early_stopping_missing_monitor_warns():
    cb = EarlyStopping(monitor="val_loss")
    with pytest.warns(UserWarning, match="val_loss.*not available.*loss"):
        _, ran = run_early_stopping(cb, [1.0, 2.0, 3.0], key="loss")
    assert ran == 3


def test_early_stopping_reusable():
    cb = EarlyStopping(patience=0)
    run_early_stopping(cb, [0.1, 0.2])
    _, ran = run_early_stopping(cb, [1.0, 0.9, 0.8, 0.9])  # best reset: 1.0 is an improvement
    assert ran == 4 and cb.best == 0.8


# -- ModelCheckpoint ----------------------------------------------------------------------------

def run_checkpoint(cb, epoch_logs, model=None, steps=1):
    model = model or FakeModel()
    fit_loop(model, CallbackList([cb], model=model, verbose=0, epochs=len(epoch_logs),
                                 steps=steps), epoch_logs, steps=steps, val=False)
    return model


def test_checkpoint_every_epoch_with_formatted_names(tmp_path):
    path = str(tmp_path / "ckpt" / "model_{epoch:02d}-{val_loss:.2f}.keras")
    model = run_checkpoint(ModelCheckpoint(path), [{"val_loss": 0.91234}, {"val_loss": 0.5}])
    assert model.saved == [("save", str(tmp_path / "ckpt" / "model_01-0.91.keras"), True),
                           ("save", str(tmp_path / "ckpt" / "model_02-0.50.keras"), True)]
    assert os.path.exists(tmp_path / "ckpt" / "model_02-0.50.keras")


def test_checkpoint_weights_only(tmp_path):
    for suffix in (".weights.h5", ".weights.npz"):
        path = str(tmp_path / f"w{{epoch}}{suffix}")
        model = run_checkpoint(ModelCheckpoint(path, save_weights_only=True), [{}, {}])
        assert model.saved == [("save_weights", str(tmp_path / f"w1{suffix}")),
                               ("save_weights", str(tmp_path / f"w2{suffix}"))]


@pytest.mark.parametrize("path, weights_only", [
    ("model.hdf5", False), ("model.weights.npz", False), ("model", False),
    ("model.keras", True), ("model.h5", True), ("model.npz", True),
])
def test_checkpoint_suffix_errors(path, weights_only):
    expected = r"\.weights\.h5.*\.weights\.npz" if weights_only else r"\.keras"
    with pytest.raises(ValueError, match=expected) as err:
        ModelCheckpoint(path, save_weights_only=weights_only)
    assert path in str(err.value)


def test_checkpoint_accepts_pathlike(tmp_path):
    cb = ModelCheckpoint(tmp_path / "m.keras")
    assert cb.filepath == str(tmp_path / "m.keras")


def test_checkpoint_save_best_only(tmp_path, capsys):
    path = str(tmp_path / "best.keras")
    cb = ModelCheckpoint(path, save_best_only=True, verbose=1)
    model = run_checkpoint(cb, [{"val_loss": 1.0}, {"val_loss": 1.2}, {"val_loss": 0.8}])
    assert [s[0] for s in model.saved] == ["save", "save"]
    assert cb.best == 0.8
    assert capsys.readouterr().out == (
        f"\nEpoch 1: val_loss improved from None to 1.00000, saving model to {path}\n"
        f"\nEpoch 1: finished saving model to {path}\n"
        "\nEpoch 2: val_loss did not improve from 1.00000\n"
        f"\nEpoch 3: val_loss improved from 1.00000 to 0.80000, saving model to {path}\n"
        f"\nEpoch 3: finished saving model to {path}\n")


def test_checkpoint_save_best_only_max_and_threshold(tmp_path):
    path = str(tmp_path / "e{epoch}.keras")
    cb = ModelCheckpoint(path, monitor="val_accuracy", save_best_only=True,
                         initial_value_threshold=0.55)
    model = run_checkpoint(cb, [{"val_accuracy": 0.5}, {"val_accuracy": 0.6},
                                {"val_accuracy": 0.58}, {"val_accuracy": 0.7}])
    assert [os.path.basename(s[1]) for s in model.saved] == ["e2.keras", "e4.keras"]
    cb = ModelCheckpoint(path, monitor="val_accuracy", mode="min", save_best_only=True)
    model = run_checkpoint(cb, [{"val_accuracy": 0.5}, {"val_accuracy": 0.6}])
    assert [os.path.basename(s[1]) for s in model.saved] == ["e1.keras"]


def test_checkpoint_save_best_only_missing_monitor(tmp_path):
    cb = ModelCheckpoint(str(tmp_path / "m.keras"), save_best_only=True)
    with pytest.warns(UserWarning, match="val_loss available"):
        model = run_checkpoint(cb, [{"loss": 1.0}])
    assert len(model.saved) == 1


def test_checkpoint_save_freq_batches(tmp_path):
    path = str(tmp_path / "m-{epoch}-{batch}.keras")
    cb = ModelCheckpoint(path, save_freq=3)
    model = run_checkpoint(cb, [{}, {}], steps=4)
    names = [os.path.basename(s[1]) for s in model.saved]
    assert names == ["m-1-3.keras", "m-2-2.keras"]  # batches 3, 6 (= epoch 2, batch 2)
    with pytest.raises(ValueError, match="Unrecognized save_freq"):
        ModelCheckpoint("m.keras", save_freq="batch")


def test_checkpoint_bad_format_key(tmp_path):
    cb = ModelCheckpoint(str(tmp_path / "m-{val_acc}.keras"))
    with pytest.raises(KeyError, match="Failed to format"):
        run_checkpoint(cb, [{"loss": 1.0}])


# -- LearningRateScheduler / ReduceLROnPlateau --------------------------------------------------

def test_learning_rate_scheduler(capsys):
    model = FakeModel()
    seen = []

    def schedule(epoch, lr):
        seen.append((epoch, lr))
        return lr if epoch < 1 else lr * 0.5

    cb = LearningRateScheduler(schedule, verbose=1)
    cl = CallbackList([cb], add_history=True, model=model, verbose=0, epochs=3, steps=1)
    fit_loop(model, cl, [{"loss": 1.0}] * 3, steps=1, val=False)
    assert seen == [(0, 0.01), (1, 0.01), (2, 0.005)]
    assert model.optimizer.learning_rate == 0.0025
    assert model.history.history["learning_rate"] == [0.01, 0.005, 0.0025]
    out = capsys.readouterr().out
    assert out == ("\nEpoch 1: LearningRateScheduler setting learning rate to 0.01.\n"
                   "\nEpoch 2: LearningRateScheduler setting learning rate to 0.005.\n"
                   "\nEpoch 3: LearningRateScheduler setting learning rate to 0.0025.\n")


def test_learning_rate_scheduler_one_argument_and_errors():
    model = FakeModel()
    model.optimizer.learning_rate = np.float32(0.1)  # array-like values are read too
    cb = LearningRateScheduler(lambda epoch: 0.1 / (epoch + 1))
    cb.set_model(model)
    cb.on_epoch_begin(1)
    assert model.optimizer.learning_rate == 0.05
    cb = LearningRateScheduler(lambda epoch, lr: 1)
    cb.set_model(model)
    with pytest.raises(ValueError, match="should be a float"):
        cb.on_epoch_begin(0)
    model.optimizer = object()
    with pytest.raises(ValueError, match="learning_rate"):
        cb.on_epoch_begin(0)


def test_reduce_lr_on_plateau(capsys):
    model = FakeModel()
    model.optimizer.learning_rate = 1.0
    cb = ReduceLROnPlateau(monitor="val_loss", factor=0.5, patience=2, min_lr=0.3, verbose=1)
    cl = CallbackList([cb], add_history=True, model=model)
    fit_loop(model, cl, [{"val_loss": v} for v in [1.0, 1.0, 1.0, 0.5, 0.6, 0.7, 0.8, 0.9]],
             val=False)
    # (logged before the change) no improvement at epochs 1, 2 -> 0.5; at 4, 5 -> 0.3
    # (floored at min_lr); then not lower
    assert model.history.history["learning_rate"] == [1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.3, 0.3]
    assert capsys.readouterr().out == (
        "\nEpoch 3: ReduceLROnPlateau reducing learning rate to 0.5.\n"
        "\nEpoch 6: ReduceLROnPlateau reducing learning rate to 0.3.\n")
    with pytest.raises(ValueError, match="factor >= 1.0"):
        ReduceLROnPlateau(factor=1.0)


def test_reduce_lr_cooldown_and_max_mode():
    model = FakeModel()
    model.optimizer.learning_rate = 1.0
    cb = ReduceLROnPlateau(monitor="val_acc", factor=0.1, patience=1, cooldown=2)
    cl = CallbackList([cb], add_history=True, model=model)
    fit_loop(model, cl, [{"val_acc": v} for v in [0.5, 0.4, 0.4, 0.4, 0.4, 0.4]], val=False)
    lrs = model.history.history["learning_rate"]
    # reduced at epochs 1, 3 and 5 (2 cooldown epochs each time), logged before the change
    assert np.allclose(lrs, [1.0, 1.0, 0.1, 0.1, 0.01, 0.01])
    assert np.isclose(model.optimizer.learning_rate, 0.001)


# -- TerminateOnNaN / LambdaCallback / CSVLogger ------------------------------------------------

@pytest.mark.parametrize("bad", [float("nan"), float("inf"), np.float32("-inf")])
def test_terminate_on_nan(bad, capsys):
    model = FakeModel()
    cl = CallbackList([TerminateOnNaN()], model=model)
    cl.on_train_batch_end(0, {"loss": 1.0})
    assert not model.stop_training
    cl.on_train_batch_end(1, {"loss": bad})
    assert model.stop_training
    assert capsys.readouterr().out == "Batch 1: Invalid loss, terminating training\n"
    cl = CallbackList([TerminateOnNaN(raise_error=True)], model=FakeModel())
    with pytest.raises(RuntimeError, match="NaN or Inf loss encountered at batch 2"):
        cl.on_train_batch_end(2, {"loss": bad})


def test_lambda_callback():
    events = []
    cb = LambdaCallback(
        on_epoch_begin=lambda epoch, logs: events.append(("eb", epoch)),
        on_epoch_end=lambda epoch, logs: events.append(("ee", epoch, logs["loss"])),
        on_train_begin=lambda logs: events.append(("tb",)),
        on_train_end=lambda logs: events.append(("te",)),
        on_train_batch_begin=lambda batch, logs: events.append(("bb", batch)),
        on_train_batch_end=lambda batch, logs: events.append(("be", batch)),
        on_test_end=lambda logs: events.append(("test_end",)),
    )
    model = FakeModel()
    fit_loop(model, CallbackList([cb], model=model), [{"loss": 3.0}], steps=2)
    assert events == [("tb",), ("eb", 0), ("bb", 0), ("be", 0), ("bb", 1), ("be", 1),
                      ("test_end",), ("ee", 0, 3.0), ("te",)]
    plain = LambdaCallback()
    assert plain.on_epoch_end(0, {}) is None


def test_csv_logger(tmp_path):
    path = tmp_path / "log.csv"
    model = FakeModel()
    fit_loop(model, CallbackList([CSVLogger(path)], model=model),
             [{"loss": 1.5, "accuracy": 0.25}, {"loss": 1.25, "accuracy": 0.5}], val=False)
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    assert rows == [["epoch", "accuracy", "loss"], ["0", "0.25", "1.5"], ["1", "0.5", "1.25"]]
    # append=True continues the file without a second header
    fit_loop(model, CallbackList([CSVLogger(path, append=True)], model=model),
             [{"loss": 1.0, "accuracy": 0.75}], val=False)
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    assert rows[-1] == ["0", "0.75", "1.0"] and len(rows) == 4


def test_exports():
    for name in cbks.__all__:
        assert hasattr(cbks, name)


def test_learning_rate_as_one_element_array():
    model = FakeModel()
    model.optimizer.learning_rate = np.array([0.5], np.float32)  # a (1,)-shaped variable
    cb = LearningRateScheduler(lambda epoch, lr: lr / 5)
    cb.set_model(model)
    cb.on_epoch_begin(0)
    assert model.optimizer.learning_rate == pytest.approx(0.1)
    model.optimizer.learning_rate = np.zeros(2)
    with pytest.raises(ValueError, match="scalar"):
        cb.on_epoch_begin(1)


def test_schedulers_drive_a_real_optimizer():
    optimizers = pytest.importorskip("rnnkit.optimizers")
    model = FakeModel()
    model.optimizer = optimizers.SGD(learning_rate=0.1)
    cl = CallbackList([LearningRateScheduler(lambda epoch, lr: lr * 0.5),
                       ReduceLROnPlateau(monitor="loss", patience=0, factor=0.5)],
                      add_history=True, model=model)
    fit_loop(model, cl, [{"loss": 1.0}] * 3, val=False)
    # the rate is stored in float32, as in Keras
    assert model.history.history["learning_rate"] == pytest.approx([0.05, 0.025, 0.00625])
    assert float(np.asarray(model.optimizer.learning_rate).reshape(())) == pytest.approx(
        0.003125)
