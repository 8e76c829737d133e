"""run_training with a time budget, SIGTERM, duration buckets, logs/metrics.csv and history.json across
resumed runs (a tiny model)."""

from __future__ import annotations

import csv
import dataclasses
import importlib
import json
import os
import signal
import sys
from pathlib import Path

import keras
import numpy as np
import pytest
import soundfile

sys.path.insert(0, str(Path(__file__).parent))
from tiny_transducer import TinyTransducer  # noqa: E402

from tf_contextnet.training.metrics_csv_logger import COLUMNS  # noqa: E402
from tf_contextnet.training.run_training import TrainingConfig, auto_bucket_boundaries, run_training  # noqa: E402

# The module, not the function that tf_contextnet.training re-exports under the same name.
run_training_module = importlib.import_module("tf_contextnet.training.run_training")

TINY = {"alpha": 0.1, "prediction_embedding_dim": 16, "prediction_units": 16, "joint_dim": 16}


def _records(tmp_path, seconds=(0.4, 0.6, 0.8, 1.0, 1.2, 1.4)):
    from tf_contextnet.data import prepare

    rows = ["path\tduration_s\ttranscript"]
    rng = np.random.default_rng(0)
    for i, s in enumerate(seconds):
        path = tmp_path / f"u{i}.wav"
        soundfile.write(str(path), rng.uniform(-0.3, 0.3, int(16000 * s)), 16000, subtype="PCM_16")
        rows.append(f"{path.name}\t{s}\t{'ab'[i % 2]} c")
    (tmp_path / "train.tsv").write_text("\n".join(rows) + "\n")
    prepare(tmp_path / "train.tsv", tmp_path / "records", num_workers=1, progress=False)
    return tmp_path / "records"


class SendSigterm(keras.callbacks.Callback):
    def __init__(self, at_step: int):
        super().__init__()
        self.at_step = at_step

    def on_train_batch_end(self, batch, logs=None):
        if int(self.model.optimizer.iterations.numpy()) == self.at_step:
            os.kill(os.getpid(), signal.SIGTERM)


@pytest.mark.slow  # two traced training runs of a ContextNet: minutes on a loaded 2-core machine
def test_sigterm_then_spent_budget_write_the_model_and_the_log(tmp_path):
    records = _records(tmp_path)
    out = tmp_path / "run"
    config = TrainingConfig(train=str(records), out=str(out), tokenizer_kind="characters", vocabulary_size=10,
                            model_options=TINY, epochs=50, steps_per_epoch=2, batch_size=2,
                            bucket_boundaries="auto", spec_augment={"num_time_masks": 1, "freq_mask_param": 5},
                            noise_stddev=0.0, minutes=10.0, verbose=0)
    assert auto_bucket_boundaries(config) is None  # 6 utterances: too few to bucket
    first = run_training(config, extra_callbacks=[SendSigterm(3)])
    assert first.stopped_reason == "stopped by SIGTERM" and first.steps == 3
    for name in ("model.keras", "config.json", "tokenizer/tokenizer.json", "time_spent.json", "history.json"):
        assert (out / name).exists(), name
    spent = json.loads((out / "time_spent.json").read_text())["train_seconds"]
    assert 0 < spent < 600
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL

    # A budget already spent: the earlier result, nothing trained or traced.
    spent_run = run_training(TrainingConfig(**{**config.__dict__, "minutes": spent / 60 / 2}))
    assert spent_run.stopped_reason.endswith("already spent") and spent_run.steps == 3
    # One more second of budget: resumes from the backup of the clean stop (step 3), one step, the log appended.
    second = run_training(TrainingConfig(**{**config.__dict__, "minutes": (spent + 1) / 60}))
    assert second.stopped_reason.startswith("time budget of")
    assert second.steps == 4
    with open(out / "logs" / "metrics.csv", newline="") as f:
        rows = list(csv.reader(f))
    assert tuple(rows[0]) == COLUMNS
    body = [dict(zip(COLUMNS, r)) for r in rows[1:]]
    assert [r["step"] for r in body] == ["2", "3", "4"]  # epoch 1, the interrupted epoch 2, the resumed one
    assert all(r["val_wer"] == "" and r["val_loss"] == "" for r in body)  # no validation set: not measured
    minutes = [float(r["minutes"]) for r in body]
    assert minutes == sorted(minutes) and minutes[-1] >= spent / 60 - 1e-3
    assert all(float(r["learning_rate"]) > 0 and float(r["loss"]) > 0 for r in body)


def _metrics_csv(out) -> list[dict[str, str]]:
    with open(out / "logs" / "metrics.csv", newline="") as f:
        return list(csv.DictReader(f))


class SavableTinyTransducer(TinyTransducer):
    """``TinyTransducer`` that ``model.save`` (the model directory) accepts."""

    def get_config(self):
        return {"name": self.name, "vocabulary_size": int(self.vocabulary_size), "units": int(self.units)}


def test_a_resumed_run_keeps_every_epoch_in_history_json_aligned(tmp_path, monkeypatch):
    # What is tested is run_training's bookkeeping across runs, not the model: the stand-in transducer
    # (the same training objective and decoding contract) traces in seconds where ContextNet takes minutes.
    monkeypatch.setattr(run_training_module, "build_model",
                        lambda config, vocabulary_size: SavableTinyTransducer(vocabulary_size))
    records = _records(tmp_path)
    out = tmp_path / "run"
    # validate_every=2: val_wer/val_cer at epoch 2 (every 2) and at the last epoch of a run only.
    # backup_every_steps=1, and a backup at every epoch end: the resumed run starts at epoch 3 (Keras'
    # own BackupAndRestore kept only the backup taken after epoch 2's step, before its end, and the
    # resumed run re-did epoch 2).
    config = TrainingConfig(train=str(records), valid=str(records), out=str(out), tokenizer_kind="characters",
                            vocabulary_size=10, epochs=2, steps_per_epoch=1, batch_size=6, spec_augment=False,
                            noise_stddev=0.0, validate_every=2, backup_every_steps=1, max_symbols_per_frame=1,
                            verbose=0)
    assert run_training(config).steps == 2
    second = run_training(dataclasses.replace(config, epochs=3))
    assert second.steps == 3
    history = json.loads((out / "history.json").read_text())
    assert {k: len(v) for k, v in history.items()} == {"epoch": 3, "loss": 3, "val_loss": 3, "val_wer": 3,
                                                       "val_cer": 3}
    assert history["epoch"] == [1, 2, 3]
    assert history["val_wer"][0] is None and None not in history["val_wer"][1:]
    assert history["val_cer"][0] is None and None not in history["val_cer"][1:]
    assert history == second.history
    # metrics.csv, written by another callback, appends a row per epoch of every run: history.json
    # holds the last row of each epoch, to its 6 significant digits.
    rows = _metrics_csv(out)
    assert [int(r["epoch"]) for r in rows] == [1, 2, 3]
    last = {int(r["epoch"]): r for r in rows}
    for key in ("loss", "val_loss", "val_wer", "val_cer"):
        expected = [float(last[e][key]) if last[e][key] else None for e in (1, 2, 3)]
        assert history[key] == [None if e is None else pytest.approx(e, rel=1e-5) for e in expected], key
