"""rnnkit.progbar.Progbar: the exact text Keras 3 prints, checked
with a fake clock."""

from __future__ import annotations

import re

import numpy as np
import pytest

import rnnkit.progbar as progbar_module
from rnnkit.progbar import Progbar

B, R, G, W = "\x1b[1m", "\x1b[0m", "\x1b[32m", "\x1b[37m"
BAR = "\u2501"


class Clock:
    def __init__(self, t=0.0):
        self.t = t

    def __call__(self):
        return self.t


@pytest.fixture
def clock(monkeypatch):
    c = Clock(100.0)
    monkeypatch.setattr(progbar_module, "_time", c)
    return c


def plain(text):
    """The text as a terminal shows the last line: ANSI codes removed, only what follows the
    last carriage return."""
    text = re.sub(r"\x1b\[\d+m", "", text)
    return text.split("\r")[-1]


def test_verbose1_exact_stream(clock, capsys):
    pb = Progbar(4, stateless_metrics=set())  # values shown as given, as ProgbarLogger does
    clock.t = 100.5
    pb.update(1, [("accuracy", 0.25), ("loss", 1.3839)])
    line1 = (f"\r{B}1/4{R} {G}{BAR * 5}{R}{W}{BAR * 15}{R} {B}1s{R} 500ms/step"
             " - accuracy: 0.2500 - loss: 1.3839")
    assert capsys.readouterr().out == line1
    # Within `interval` of the last redraw: nothing is printed.
    clock.t = 100.52
    pb.update(2, [("accuracy", 0.2), ("loss", 1.3)])
    assert capsys.readouterr().out == ""
    clock.t = 100.6
    pb.update(3, [("accuracy", 0.2333), ("loss", 1.38)])
    width1 = len("1/4 ") + 20 + len(" 1s 500ms/step - accuracy: 0.2500 - loss: 1.3839")
    line3 = ("\b" * width1 + f"\r{B}3/4{R} {G}{BAR * 15}{R}{W}{BAR * 5}{R} {B}0s{R} 50ms/step"
             " - accuracy: 0.2333 - loss: 1.3800")
    # The new line is one character shorter ("50ms" vs "500ms"): padded with a space.
    assert capsys.readouterr().out == line3 + " "
    clock.t = 100.7
    pb.update(4, [("accuracy", 0.22), ("loss", 1.3825), ("val_accuracy", 0.3),
                  ("val_loss", 1.3309)])
    width3 = width1 - 1  # the previous line's visible width
    line4 = ("\b" * width3 + f"\r{B}4/4{R} {G}{BAR * 20}{R}{W}{R} {B}1s{R} 67ms/step"
             " - accuracy: 0.2200 - loss: 1.3825 - val_accuracy: 0.3000 - val_loss: 1.3309\n")
    out = capsys.readouterr().out
    assert out == line4
    assert plain(out) == ("4/4 ━━━━━━━━━━━━━━━━━━━━ 1s 67ms/step - accuracy: 0.2200 - "
                          "loss: 1.3825 - val_accuracy: 0.3000 - val_loss: 1.3309\n")


def test_verbose2_one_line_at_the_end(clock, capsys):
    pb = Progbar(4, verbose=2, stateless_metrics=set())
    for step in (1, 2, 3):
        clock.t += 0.3
        pb.update(step, [("loss", 1.0)], finalize=False)
    assert capsys.readouterr().out == ""
    clock.t = 100.0 + 1.228
    pb.update(4, [("accuracy", 0.21), ("loss", 1.3918), ("val_accuracy", 0.0),
                  ("val_loss", 1.4042)], finalize=True)
    # (1.228 - 0.3) s over the 3 steps after the first one
    assert capsys.readouterr().out == ("4/4 - 1s - 309ms/step - loss: 1.3918 - accuracy: 0.2100"
                                       " - val_accuracy: 0.0000e+00 - val_loss: 1.4042\n")


def test_verbose2_without_intermediate_updates(clock, capsys):
    # As ProgbarLogger drives it with verbose=2: only the final update.
    pb = Progbar(4, verbose=2, stateless_metrics=set())
    clock.t = 101.228
    pb.update(4, [("accuracy", 0.21), ("loss", 1.3918), ("val_accuracy", 0.0),
                  ("val_loss", 1.4042)], finalize=True)
    assert capsys.readouterr().out == ("4/4 - 1s - 307ms/step - accuracy: 0.2100 - loss: 1.3918"
                                       " - val_accuracy: 0.0000e+00 - val_loss: 1.4042\n")


def test_verbose0_prints_nothing(clock, capsys):
    pb = Progbar(3, verbose=0)
    for i in range(1, 4):
        clock.t += 1
        pb.update(i, [("loss", 0.5)])
    pb.update(3, [("loss", 0.5)], finalize=True)
    assert capsys.readouterr().out == ""


@pytest.mark.parametrize("value, text1, text2", [
    (0.5, "0.5000", "0.5000"),
    (1234.56789, "1234.5679", "1234.5679"),
    (0.0, "0.0000e+00", "0.0000e+00"),
    (1e-3, "1.0000e-03", "1.0000e-03"),
    (0.0011, "0.0011", "0.0011"),
    (-0.5, "-0.5000", "-5.0000e-01"),  # verbose=2 compares v > 1e-3 without abs
    (-2e-4, "-2.0000e-04", "-2.0000e-04"),
    (np.float32(0.25), "0.2500", "0.2500"),
    (3, "3.0000", "3.0000"),
])
def test_value_format(clock, capsys, value, text1, text2):
    pb = Progbar(1, verbose=1, stateless_metrics=set())
    clock.t += 1
    pb.update(1, [("m", value)])
    assert plain(capsys.readouterr().out).endswith(f" - m: {text1}\n")
    pb = Progbar(1, verbose=2, stateless_metrics=set())
    clock.t += 1
    pb.update(1, [("m", value)])
    assert capsys.readouterr().out.endswith(f" - m: {text2}\n")


@pytest.mark.parametrize("seconds, text", [
    (0.0, "0s/step"), (2.4, "2s/step"), (1.0, "1s/step"), (0.9994, "999ms/step"),
    (0.0123, "12ms/step"), (0.001, "1ms/step"), (0.00025, "250us/step"),
])
def test_time_per_step_units(clock, capsys, seconds, text):
    clock.t = 0.0
    pb = Progbar(1, verbose=2)
    clock.t += seconds
    pb.update(1)
    assert capsys.readouterr().out == f"1/1 - {seconds:.0f}s - {text}\n"


def test_first_step_left_out_of_the_estimate(clock, capsys):
    pb = Progbar(10, verbose=2)
    clock.t += 5.0  # a slow first step (compilation, ...)
    pb.update(1, finalize=False)
    clock.t += 0.9  # then 0.1 s per step
    pb.update(10)
    assert capsys.readouterr().out == "10/10 - 6s - 100ms/step\n"


@pytest.mark.parametrize("per_step, eta", [
    (1.0, "9s"), (10.0, "1:30"), (1000.0, "2:30:00"), (0.001, "0s"),
])
def test_eta_format(clock, capsys, per_step, eta):
    pb = Progbar(10, interval=0)
    clock.t += per_step
    pb.update(1)
    assert f" {B}{eta}{R} " in capsys.readouterr().out


def test_values_averaged_over_steps_by_default(clock, capsys):
    pb = Progbar(10, interval=0)
    clock.t += 1
    pb.update(1, [("loss", 1.0), ("acc", 0.5)])
    clock.t += 1
    pb.update(3, [("loss", 2.0), ("acc", 1.0)])  # weight 2 (two steps since the last update)
    out = plain(capsys.readouterr().out)
    assert out.endswith(f" - loss: {(1 + 4) / 3:.4f} - acc: {(0.5 + 2) / 3:.4f}")
    # The final update shows the values as given.
    clock.t += 1
    pb.update(10, [("loss", 3.0), ("acc", 0.0)])
    assert plain(capsys.readouterr().out).endswith(" - loss: 3.0000 - acc: 0.0000e+00\n")


def test_stateful_and_stateless_lists(clock, capsys):
    pb = Progbar(10, interval=0, stateful_metrics=["acc"])
    clock.t += 1
    pb.update(1, [("loss", 1.0), ("acc", 0.5)])
    pb.update(2, [("loss", 2.0), ("acc", 0.75)])
    assert plain(capsys.readouterr().out).endswith(" - loss: 1.5000 - acc: 0.7500")
    pb = Progbar(10, interval=0, stateless_metrics=["loss"])
    clock.t += 1
    pb.update(1, [("loss", 1.0), ("acc", 0.5)])
    pb.update(2, [("loss", 2.0), ("acc", 0.75)])
    assert plain(capsys.readouterr().out).endswith(" - loss: 1.5000 - acc: 0.7500")
    with pytest.raises(ValueError, match="Only one of"):
        Progbar(1, stateful_metrics=[], stateless_metrics=[])


def test_keys_keep_first_seen_order(clock, capsys):
    pb = Progbar(3, interval=0, stateless_metrics=set())
    clock.t += 1
    pb.update(1, [("b", 1.0), ("a", 2.0)])
    pb.update(2, [("a", 3.0), ("c", 4.0), ("b", 5.0)])
    assert plain(capsys.readouterr().out).endswith(" - b: 5.0000 - a: 3.0000 - c: 4.0000")


def test_unknown_target(clock, capsys):
    pb = Progbar(None, interval=0)
    clock.t += 2
    pb.update(3, [("loss", 0.5)])
    out = capsys.readouterr().out
    assert out == f"\r      3/Unknown {B}2s{R} 667ms/step - loss: 0.5000"
    # finalize must be explicit when the target is unknown
    pb.update(5, [("loss", 0.5)], finalize=True)
    assert capsys.readouterr().out.endswith("\n")


def test_digits_padded_to_target_width(clock, capsys):
    pb = Progbar(100, interval=0)
    clock.t += 1
    pb.update(5)
    assert plain(capsys.readouterr().out).startswith("  5/100 ━")
    pb = Progbar(100, verbose=2)
    pb.update(100)
    assert capsys.readouterr().out.startswith("100/100 - ")


def test_add_and_interval(clock, capsys):
    pb = Progbar(5, interval=10.0)
    clock.t += 1
    pb.add(1)  # the first update always prints (last update at time 0)
    assert capsys.readouterr().out != ""
    clock.t += 1
    pb.add(2)  # within the interval
    assert capsys.readouterr().out == ""
    clock.t += 1
    pb.add(2)  # reaches the target: final update always prints
    assert plain(capsys.readouterr().out).startswith("5/5 ")
    assert pb._seen_so_far == 5


def test_static_display_uses_newlines(clock, capsys, monkeypatch):
    monkeypatch.setattr(progbar_module, "_dynamic_display", lambda: False)
    pb = Progbar(2, interval=0)
    clock.t += 1
    pb.update(1)
    pb.update(2)
    out = capsys.readouterr().out
    assert "\b" not in out and "\r" not in out
    assert out.count("\n") == 3  # one before each line, one at the end


def test_exported_from_utils():
    import rnnkit.utils
    assert rnnkit.utils.Progbar is Progbar
