"""A ``fit`` callback writing the training log ``RUN_DIR/logs/metrics.csv`` (read by ``contextnet plot``)."""

from __future__ import annotations

import csv
import os
import time
from typing import Callable

import keras
import numpy as np

COLUMNS = ("epoch", "step", "minutes", "loss", "val_loss", "val_wer", "val_cer", "learning_rate")


class MetricsCsvLogger(keras.callbacks.Callback):
    """One row per epoch: ``epoch,step,minutes,loss,val_loss,val_wer,val_cer,learning_rate``.

    ``epoch`` counts from 1, ``step`` is the optimizer's step counter, ``minutes`` the training
    time so far (``clock()`` in seconds, e.g. ``TimeBudget.elapsed`` so that resumed runs
    continue the count; default: seconds since this ``fit`` began), ``learning_rate`` the rate
    at that step. An empty cell means "not measured" (no validation this epoch). Appends to an
    existing file (resumed runs), writing the header only into a new or empty file. Place it
    after the callbacks that add ``val_wer``/``val_cer`` to the epoch's logs.
    """

    def __init__(self, path: str | os.PathLike, clock: Callable[[], float] | None = None):
        super().__init__()
        self.path = os.fspath(path)
        self.clock = clock
        self._start = 0.0

    def on_train_begin(self, logs=None):
        self._start = time.monotonic()
        os.makedirs(os.path.dirname(os.path.abspath(self.path)), exist_ok=True)
        if not os.path.isfile(self.path) or os.path.getsize(self.path) == 0:
            with open(self.path, "w", encoding="utf-8", newline="") as f:
                csv.writer(f).writerow(COLUMNS)

    def _learning_rate(self) -> str:
        optimizer = getattr(self.model, "optimizer", None)
        if optimizer is None:
            return ""
        try:
            return _cell(float(np.asarray(keras.ops.convert_to_numpy(optimizer.learning_rate))))
        except (TypeError, ValueError, AttributeError):
            return ""

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        seconds = self.clock() if self.clock is not None else time.monotonic() - self._start
        step = int(self.model.optimizer.iterations.numpy()) if getattr(self.model, "optimizer", None) else ""
        row = [epoch + 1, step, f"{seconds / 60:.3f}", *(_cell(logs.get(k)) for k in COLUMNS[3:7]),
               self._learning_rate()]
        with open(self.path, "a", encoding="utf-8", newline="") as f:
            csv.writer(f).writerow(row)


def _cell(value) -> str:
    if value is None:
        return ""
    return f"{float(value):.6g}"  # a non-finite loss is written as nan/inf: measured, not missing
