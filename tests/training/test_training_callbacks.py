"""MetricsCsvLogger (RUN_DIR/logs/metrics.csv) and StopOnSignal on a tiny Keras model's fit."""

from __future__ import annotations

import csv
import os
import signal
from pathlib import Path

import keras
import numpy as np

from tf_contextnet.training.metrics_csv_logger import COLUMNS, MetricsCsvLogger
from tf_contextnet.training.stop_on_signal import StopOnSignal


def _tiny():
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    schedule = keras.optimizers.schedules.PiecewiseConstantDecay([4], [0.1, 0.01])
    model.compile(optimizer=keras.optimizers.SGD(schedule), loss="mse")
    x = np.random.default_rng(0).normal(size=(32, 3)).astype(np.float32)
    return model, x, x.sum(axis=1, keepdims=True)


class FakeWer(keras.callbacks.Callback):
    """Adds val_wer/val_cer on even epochs only, as a validator running every other epoch would."""

    def on_epoch_end(self, epoch, logs=None):
        if epoch % 2 == 0:
            logs["val_wer"], logs["val_cer"] = 0.5 / (epoch + 1), 0.25


def test_metrics_csv_rows_and_empty_cells(tmp_path: Path):
    model, x, y = _tiny()
    path = tmp_path / "logs" / "metrics.csv"
    clock = iter([60.0, 120.0, 180.0, 240.0])
    model.fit(x, y, batch_size=8, epochs=3, verbose=0, validation_data=(x[:8], y[:8]),
              callbacks=[FakeWer(), MetricsCsvLogger(path, clock=lambda: next(clock))])
    model.fit(x, y, batch_size=16, epochs=1, verbose=0,  # a resumed run appends, no second header
              callbacks=[MetricsCsvLogger(path, clock=lambda: next(clock))])
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    assert tuple(rows[0]) == COLUMNS == ("epoch", "step", "minutes", "loss", "val_loss", "val_wer", "val_cer",
                                         "learning_rate")
    body = [dict(zip(COLUMNS, r)) for r in rows[1:]]
    assert [(r["epoch"], r["step"], r["minutes"]) for r in body] == [
        ("1", "4", "1.000"), ("2", "8", "2.000"), ("3", "12", "3.000"), ("1", "14", "4.000")]
    assert [r["val_wer"] for r in body] == ["0.5", "", "0.166667", ""]
    assert [r["val_cer"] for r in body] == ["0.25", "", "0.25", ""]
    assert body[3]["val_loss"] == "" and all(float(r["val_loss"]) >= 0 for r in body[:3])
    assert [r["learning_rate"] for r in body] == ["0.1", "0.01", "0.01", "0.01"]  # 0.1 up to step 4 included
    assert float(body[0]["loss"]) > 0


class SendSignal(keras.callbacks.Callback):
    def __init__(self, at_batch: int, signum: int):
        super().__init__()
        self.at_batch, self.signum, self.batches = at_batch, signum, 0

    def on_train_batch_end(self, batch, logs=None):
        self.batches += 1
        if self.batches == self.at_batch:
            os.kill(os.getpid(), self.signum)


def test_sigterm_and_sigint_end_fit_cleanly():
    for signum in (signal.SIGTERM, signal.SIGINT):
        before = signal.getsignal(signum)
        model, x, y = _tiny()
        stopper, sender = StopOnSignal(), SendSignal(3, signum)
        ended = []
        done = keras.callbacks.LambdaCallback(on_train_end=lambda logs: ended.append(True))
        model.fit(x, y, batch_size=4, epochs=50, verbose=0, callbacks=[stopper, sender, done])
        assert stopper.received == signum and ended == [True]
        assert int(model.optimizer.iterations.numpy()) == 3  # the step in flight finished, no more
        assert signal.getsignal(signum) is before  # handlers restored
