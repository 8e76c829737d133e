"""Each trial's own record, ``TRIAL_DIR/sweep_trial.json``, written as the trial goes.

The record is what the results table reads (it also holds skipped trials, which never train) and
what lets a re-run tell a finished trial, a resumed one and a fresh one apart::

    {"trial_id", "tuner_id", "status": "running" | "completed" | "skipped" | "diverged",
     "reason" (skipped/diverged), "values" (the tuned hyperparameters), "model_options",
     "parameters", "gflops", "starts": [optimizer step at each (re)start, after any restore],
     "epochs": [{"epoch", "step", "loss", "val_loss", "val_wer", "val_cer"}, ...],
     "trace_seconds" (first step of each start: graph tracing), "train_seconds" (the other steps),
     "wall_seconds" (whole fit calls, dev evaluation included),
     "steps" (optimizer steps at the end), "val_wer", "val_loss" (best epoch by WER)}
"""

from __future__ import annotations

import json
import os
import time
from typing import Any

import keras

from tf_contextnet.utils.atomic_json import write_json_atomically

RECORD_FILE = "sweep_trial.json"


def read_trial_record(directory: str | os.PathLike) -> dict[str, Any] | None:
    """The record in ``directory``, or ``None`` when there is none."""
    path = os.path.join(os.fspath(directory), RECORD_FILE)
    if not os.path.isfile(path):
        return None
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def write_trial_record(directory: str | os.PathLike, record: dict[str, Any]) -> None:
    """Write ``record`` atomically (a kill mid-write leaves the previous record)."""
    path = os.path.join(os.fspath(directory), RECORD_FILE)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    write_json_atomically(path, record, default=str)


def best_epoch(epochs: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The epoch with the lowest ``val_wer`` (the first of ties), or ``None`` when none has one."""
    scored = [e for e in epochs if e.get("val_wer") is not None]
    return min(scored, key=lambda e: e["val_wer"]) if scored else None


class TrialRecorder(keras.callbacks.Callback):
    """Keeps ``directory``'s record up to date during ``fit``.

    Place it *after* ``BackupAndRestore`` (so ``on_train_begin`` sees the restored step) and after
    ``ValidationErrorRates`` (so epoch logs hold ``val_wer``). Epochs append to the record's
    ``epochs`` list, so a trial resumed after a kill keeps the epochs of its earlier runs.

    One recorder serves one (re)start: a later ``fit`` with the same recorder (after
    :class:`EpochStepLimit` ended a resumed epoch) continues that start and adds no entry to
    ``starts``. Timing: ``trace_seconds`` adds up the first step of every (re)start (graph tracing),
    ``train_seconds`` every other training step, ``wall_seconds`` whole ``fit`` calls (dev
    evaluation and its tracing included).
    """

    def __init__(self, directory: str, record: dict[str, Any]):
        super().__init__()
        self.directory = directory
        self.record = record
        self._started = False
        self._fit_start = self._batch_start = 0.0
        self._traced = False

    def _step(self) -> int:
        return int(self.model.optimizer.iterations.numpy())

    def _add(self, key: str, seconds: float) -> None:
        self.record[key] = self.record.get(key, 0.0) + seconds

    def on_train_begin(self, logs=None):
        if not self._started:  # a later fit of this recorder continues the same start
            self.record.setdefault("starts", []).append(self._step())
            self._started = True
        self.record["status"] = "running"
        self._fit_start = time.monotonic()
        write_trial_record(self.directory, self.record)

    def on_train_batch_begin(self, batch, logs=None):
        self._batch_start = time.monotonic()

    def on_train_batch_end(self, batch, logs=None):
        self._add("train_seconds" if self._traced else "trace_seconds", time.monotonic() - self._batch_start)
        self._traced = True

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        entry = {"epoch": epoch + 1, "step": self._step(),
                 **{k: float(logs[k]) for k in ("loss", "val_loss", "val_wer", "val_cer") if k in logs}}
        epochs = [e for e in self.record.get("epochs", []) if e["epoch"] != entry["epoch"]]
        self.record["epochs"] = epochs + [entry]
        write_trial_record(self.directory, self.record)

    def on_train_end(self, logs=None):
        self._add("wall_seconds", time.monotonic() - self._fit_start)
        self.record["steps"] = self._step()
        write_trial_record(self.directory, self.record)
