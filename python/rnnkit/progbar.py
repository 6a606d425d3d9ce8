"""The text progress bar printed by `fit`, `evaluate` and `predict` (`keras.utils.Progbar`).

The output is byte-for-byte the one Keras 3 prints:

* ``verbose=1`` redraws a single line. Each redraw starts with ``\\b`` times the width of the
  previous line and a ``\\r``, then ``ESC[1m{cur}/{total}ESC[0m``, a 20-character bar of ``━``
  (green for the steps done, grey for the rest), the ETA (or, on the last update, the elapsed
  time) in bold, the time per step (``s``, ``ms`` or ``us``) and `` - name: value`` for every value
  seen so far (``.4f`` when ``|v| > 1e-3``, else ``.4e``). A shorter line is padded with spaces to
  cover the previous one, and the final update ends the line with ``\\n``.
* ``verbose=2`` prints one line on the final update only:
  ``4/4 - 1s - 307ms/step - accuracy: 0.2100 - loss: 1.3918`` (this mode compares ``v > 1e-3``
  without the absolute value, as Keras does, so 0 prints as ``0.0000e+00``).
* ``verbose=0`` prints nothing.

Values are averaged over the steps they were reported for (each weighted by the number of steps
since the previous update), except those named in `stateful_metrics`, which are shown as given.
Alternatively, `stateless_metrics` names the only values to average. On the final update every
value is shown as given.
"""

from __future__ import annotations

import math
import os
import sys
import time

import numpy as np

__all__ = ["Progbar"]

_BOLD = "\x1b[1m"
_GREEN = "\x1b[32m"
_GREY = "\x1b[37m"
_RESET = "\x1b[0m"
_BAR_CHAR = "\u2501"  # ━


def _time():
    """The clock the progress bar reads (seconds); tests replace it with a fake clock."""
    return time.time()


def _write(message):
    """Write to stdout and flush; characters the stream cannot encode are dropped."""
    stream = sys.stdout
    try:
        stream.write(message)
    except UnicodeEncodeError:
        stream.write(message.encode("ascii", errors="ignore").decode("ascii"))
    stream.flush()


def _dynamic_display():
    # Keras treats the display as dynamic (redraw with \b and \r) on a TTY, in IPython, and
    # whenever the `posix` module is loaded, i.e. always on Linux and macOS, even when piped.
    return bool((hasattr(sys.stdout, "isatty") and sys.stdout.isatty())
                or "ipykernel" in sys.modules
                or "posix" in sys.modules
                or "PYCHARM_HOSTED" in os.environ)


def _format_eta(eta):
    if eta > 3600:
        return "%d:%02d:%02d" % (eta // 3600, (eta % 3600) // 60, eta % 60)
    if eta > 60:
        return "%d:%02d" % (eta // 60, eta % 60)
    return "%ds" % eta


def _format_time(time_per_unit, unit_name):
    """` 3ms/step`, ` 1s/step` (also for exactly 0) or ` 250us/step`."""
    if time_per_unit >= 1 or time_per_unit == 0:
        return f" {time_per_unit:.0f}s/{unit_name}"
    if time_per_unit >= 1e-3:
        return f" {time_per_unit * 1e3:.0f}ms/{unit_name}"
    return f" {time_per_unit * 1e6:.0f}us/{unit_name}"


class Progbar:
    """Displays a progress bar (`rnnkit.utils.Progbar`), as `fit` prints it.

    Values reported with `update` are averaged over the steps (weighted by the number of
    steps between updates), except the stateful ones, which are shown as given.

    Args:
        target: total number of steps expected, or None if unknown.
        width: width of the bar in characters.
        verbose: 0 (silent), 1 (one redrawn line), 2 (one line at the end).
        interval: minimum time in seconds between two redraws (verbose=1); the final update is
            always drawn.
        stateful_metrics: names of the values to show as given rather than averaged over steps.
        stateless_metrics: alternatively, the names of the only values to average (all others
            are shown as given). Give at most one of the two.
        unit_name: the unit of a step in the time display (`"step"` or `"sample"`).

    Raises:
        ValueError: If both `stateful_metrics` and `stateless_metrics` are given.
    """

    def __init__(self, target, width=20, verbose=1, interval=0.05, stateful_metrics=None,
                 stateless_metrics=None, unit_name="step"):
        if stateful_metrics is not None and stateless_metrics is not None:
            raise ValueError(
                "Only one of `stateful_metrics` and `stateless_metrics` can be provided: "
                "`stateful_metrics` lists the values to show as-is (all others are averaged), "
                "`stateless_metrics` lists the values to average (all others are shown as-is). "
                f"Received: stateful_metrics={stateful_metrics}, "
                f"stateless_metrics={stateless_metrics}")
        self.target = target
        self.width = width
        self.verbose = verbose
        self.interval = interval
        self.unit_name = unit_name
        if stateless_metrics is not None:
            self.stateful_metrics = None
            self.stateless_metrics = set(stateless_metrics)
        else:
            self.stateful_metrics = set(stateful_metrics) if stateful_metrics else set()
            self.stateless_metrics = None

        self._dynamic_display = _dynamic_display()
        self._seen_so_far = 0
        self._values = {}          # name -> [weighted sum, weight]
        self._values_order = []    # names in the order they were first seen
        self._start = _time()
        self._last_update = 0
        self._time_after_first_step = None
        self._prev_total_width = 0

    def _is_stateless(self, name):
        if self.stateful_metrics is not None:
            return name not in self.stateful_metrics
        return name in self.stateless_metrics

    def _record(self, current, values, finalize):
        for name, value in values:
            if name not in self._values_order:
                self._values_order.append(name)
            if self._is_stateless(name) and not finalize:
                # Weight by the number of steps since the last update (at least 1).
                weight = max(current - self._seen_so_far, 1)
                if name in self._values:
                    self._values[name][0] += value * weight
                    self._values[name][1] += weight
                else:
                    self._values[name] = [value * weight, weight]
            else:
                self._values[name] = [value, 1]

    def _average(self, name):
        total, count = self._values[name]
        if not isinstance(total, float):
            total = np.mean(total)
        return total / max(1, count)

    def _step_duration(self, current, now):
        """Seconds per step; the first step (often slow) is left out once there are more."""
        if not current:
            return 0
        if self._time_after_first_step is not None and current > 1:
            per_step = (now - self._time_after_first_step) / (current - 1)
        else:
            per_step = (now - self._start) / current
        if current == 1:
            self._time_after_first_step = now
        return per_step

    def update(self, current, values=None, finalize=None):
        """Report progress.

        Args:
            current: the index of the current step (1-based count of steps done).
            values: a list of `(name, value)` pairs for this step.
            finalize: whether this is the last update; defaults to `current >= target`
                (False when the target is unknown).
        """
        if finalize is None:
            finalize = False if self.target is None else current >= self.target

        self._record(current, values or [], finalize)
        self._seen_so_far = current

        now = _time()
        time_per_unit = self._step_duration(current, now)
        has_target = self.target is not None and self.target > 0

        if self.verbose == 1:
            if now - self._last_update < self.interval and not finalize:
                return
            message = ("\b" * self._prev_total_width + "\r") if self._dynamic_display else "\n"
            hidden = 0  # characters of the ANSI codes, which take no room on screen
            if has_target:
                digits = int(math.log10(self.target)) + 1
                bar = f"{_BOLD}{'%*d/%d' % (digits, current, self.target)}{_RESET} "
                hidden += len(_BOLD) + len(_RESET)
                done = int(self.width * (float(current) / self.target))
                if done > 0:
                    bar += f"{_GREEN}{_BAR_CHAR * done}{_RESET}"
                    hidden += len(_GREEN) + len(_RESET)
                bar += f"{_GREY}{_BAR_CHAR * (self.width - done)}{_RESET}"
                hidden += len(_GREY) + len(_RESET)
            else:
                bar = "%7d/Unknown" % current
            message += bar

            if has_target and not finalize:
                shown_time = _format_eta(time_per_unit * (self.target - current))
            else:
                shown_time = f"{now - self._start:.0f}s"
            info = f" {_BOLD}{shown_time}{_RESET}"
            hidden += len(_BOLD) + len(_RESET)
            info += _format_time(time_per_unit, self.unit_name)
            for name in self._values_order:
                avg = self._average(name)
                info += f" - {name}: {avg:.4f}" if abs(avg) > 1e-3 else f" - {name}: {avg:.4e}"
            message += info

            total_width = len(bar) + len(info) - hidden
            if self._prev_total_width > total_width:
                message += " " * (self._prev_total_width - total_width)
            if finalize:
                message += "\n"
            _write(message)
            self._prev_total_width = total_width

        elif self.verbose == 2:
            if finalize and has_target:
                digits = int(math.log10(self.target)) + 1
                line = "%*d/%d" % (digits, current, self.target)
                line += f" - {now - self._start:.0f}s"
                line += " -" + _format_time(time_per_unit, self.unit_name)
                for name in self._values_order:
                    avg = self._average(name)
                    line += f" - {name}: {avg:.4f}" if avg > 1e-3 else f" - {name}: {avg:.4e}"
                _write(line + "\n")

        self._last_update = now

    def add(self, n, values=None):
        """Advances the bar by `n` steps (`update(current + n, values)`).

        Args:
            n: Int, the number of steps done since the last update.
            values: Optional list of `(name, value)` pairs.
        """
        self.update(self._seen_so_far + n, values)
