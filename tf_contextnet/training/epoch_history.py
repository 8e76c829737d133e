"""``history.json``: every epoch of every run of one output directory, one aligned row per epoch.

Keras' ``History`` covers one ``fit`` call and appends each metric only on the epochs that log it,
so a resumed run lost the earlier epochs and ``val_wer`` (logged every ``validate_every`` epochs)
did not line up with ``loss``. The file here is column-wise, as before, plus an ``epoch`` column:

    {"epoch": [1, 2, 3], "loss": [9.1, 7.4, 6.8], "val_wer": [null, 0.8, 0.7]}

``epoch`` counts from 1 and is increasing; every other list has one entry per epoch, ``null``
(``None``) where the metric was not measured. A file without the ``epoch`` column (written before
it existed) cannot be aligned and is not merged; ``logs/metrics.csv`` keeps those epochs.
"""

from __future__ import annotations

import json
import logging
import os
from typing import Mapping, Sequence

import keras

from tf_contextnet.utils.atomic_json import write_json_atomically

logger = logging.getLogger(__name__)

EPOCH = "epoch"


class EpochLogs(keras.callbacks.Callback):
    """Records each epoch's final logs of one ``fit``: ``epochs[n]`` = ``{metric: float}`` of epoch ``n``.

    ``n`` counts from 1 and follows ``fit``'s epoch index, which a resumed run (``initial_epoch``
    set by ``BackupAndRestore``) continues. Place it after the callbacks that add metrics to the
    epoch's logs (e.g. ``ValidationErrorRates``).
    """

    def __init__(self):
        super().__init__()
        self.epochs: dict[int, dict[str, float]] = {}

    def on_epoch_end(self, epoch, logs=None):
        self.epochs[int(epoch) + 1] = {k: float(v) for k, v in (logs or {}).items() if v is not None}


def history_rows(history: Mapping[str, Sequence]) -> dict[int, dict[str, float]]:
    """The column-wise ``history`` → ``{epoch: {metric: value}}``, unmeasured (``None``) cells left out.

    ``{}`` for a history without the ``epoch`` column; ``ValueError`` when a column's length
    differs from the ``epoch`` column's.
    """
    epochs = history.get(EPOCH)
    if epochs is None:
        return {}
    rows: dict[int, dict[str, float]] = {int(e): {} for e in epochs}
    for key, values in history.items():
        if key == EPOCH:
            continue
        if len(values) != len(epochs):
            raise ValueError(f"history column {key!r} has {len(values)} entries for {len(epochs)} epochs")
        for epoch, value in zip(epochs, values):
            if value is not None:
                rows[int(epoch)][key] = float(value)
    return rows


def merge_epoch_history(earlier: Mapping[str, Sequence],
                        epochs: Mapping[int, Mapping[str, float]]) -> dict[str, list]:
    """``earlier`` (column-wise, as in ``history.json``) with the rows ``epochs`` (``{epoch: {metric:
    value}}``) merged in: a row of ``epochs`` replaces the whole row of the same epoch (an epoch that a
    stopped run began and the resumed run re-did). Columns: ``epoch`` (increasing), then the metrics in
    order of first appearance; ``None`` where an epoch did not measure a metric."""
    rows = history_rows(earlier)
    rows.update({int(e): dict(logs) for e, logs in epochs.items()})
    keys = [k for k in earlier if k != EPOCH]
    for epoch in sorted(epochs):
        keys += [k for k in epochs[epoch] if k not in keys]
    order = sorted(rows)
    return {EPOCH: order, **{k: [rows[e].get(k) for e in order] for k in keys}}


def last_measured(history: Mapping[str, Sequence]) -> dict[str, float]:
    """Each metric's value at the last epoch that measured it (metrics never measured left out)."""
    last = {}
    for key, values in history.items():
        measured = [v for v in values if v is not None]
        if key != EPOCH and measured:
            last[key] = measured[-1]
    return last


def read_history(path: str | os.PathLike) -> dict[str, list]:
    """The history in ``path``; ``{}`` when the file is absent or has no ``epoch`` column (logged)."""
    if not os.path.isfile(path):
        return {}
    with open(path, encoding="utf-8") as f:
        history = json.load(f)
    if EPOCH not in history:
        logger.warning("%s has no %r column (written before it existed): its epochs are not merged", path, EPOCH)
        return {}
    return history


def write_history(path: str | os.PathLike, history: Mapping[str, Sequence]) -> None:
    """Write ``history`` to ``path`` through a temporary file, so a reader never sees half of it."""
    write_json_atomically(path, dict(history))
