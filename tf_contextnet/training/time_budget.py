"""A ``fit`` callback that stops training once a wall-clock budget is spent, across resumed runs.

What counts: everything between ``on_train_begin`` and the end of ``fit`` (graph tracing of the
first steps, the training steps, validation and dev decoding at epoch ends). What does not:
data preparation, building the model before ``fit``, and whatever the caller does afterwards
(final evaluation, export).
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import keras


def spent_seconds(state_file: str | os.PathLike) -> float:
    """Training seconds recorded in ``state_file`` by earlier runs (0 when there is none)."""
    path = Path(state_file)
    if not path.is_file():
        return 0.0
    return float(json.loads(path.read_text(encoding="utf-8")).get("train_seconds", 0.0))


class TimeBudget(keras.callbacks.Callback):
    """Stops ``fit`` after ``seconds`` of training in total, counting the runs before a resume.

    The elapsed time is kept in ``state_file`` (JSON ``{"train_seconds": s}``), rewritten at most
    every ``save_every_seconds`` and at the end of training, so a re-run of the same command after
    a kill spends only what is left of the budget. The check runs after every batch, so training
    stops mid-epoch; Keras then ends ``fit`` normally (callbacks' ``on_train_end`` run).

    ``schedule``: an object with ``set_progress(fraction)`` (a ``BudgetSchedule``), told the
    fraction of the budget spent (0..1) at the start and after every batch, so the learning rate
    can follow the budget rather than a step count nobody knows in advance.
    """

    def __init__(self, seconds: float, state_file: str | os.PathLike, save_every_seconds: float = 15.0,
                 schedule=None):
        super().__init__()
        if seconds < 0:
            raise ValueError(f"the training budget must be >= 0 seconds, got {seconds}")
        self.seconds = float(seconds)
        self.state_file = Path(state_file)
        self.save_every_seconds = float(save_every_seconds)
        self.schedule = schedule
        self._before = 0.0
        self._start = 0.0
        self._last_save = 0.0

    def elapsed(self) -> float:
        """Training seconds so far, earlier runs included."""
        return self._before + (time.monotonic() - self._start if self._start else 0.0)

    def fraction(self) -> float:
        """The share of the budget spent, in ``[0, 1]``."""
        return 1.0 if self.seconds == 0 else min(1.0, self.elapsed() / self.seconds)

    def _save(self) -> None:
        self.state_file.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.state_file.with_suffix(".tmp")
        tmp.write_text(json.dumps({"train_seconds": round(self.elapsed(), 2)}) + "\n", encoding="utf-8")
        os.replace(tmp, self.state_file)
        self._last_save = time.monotonic()

    def _tell_schedule(self) -> None:
        if self.schedule is not None:
            self.schedule.set_progress(self.fraction())

    def on_train_begin(self, logs=None):
        self._before = spent_seconds(self.state_file)
        self._start = self._last_save = time.monotonic()
        self._tell_schedule()

    def on_train_batch_end(self, batch, logs=None):
        if time.monotonic() - self._last_save >= self.save_every_seconds:
            self._save()
        self._tell_schedule()
        if self.elapsed() >= self.seconds:
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        self._save()
        self._start = 0.0
        self._before = spent_seconds(self.state_file)
