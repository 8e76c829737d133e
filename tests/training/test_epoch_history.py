"""history.json's per-epoch rows: merging runs keyed by epoch, aligned columns, the recording callback."""

from __future__ import annotations

import json

import keras
import numpy as np
import pytest

from tf_contextnet.training.epoch_history import (EpochLogs, history_rows, last_measured, merge_epoch_history,
                                                  read_history, write_history)


def test_merge_appends_a_resumed_run_and_aligns_sparse_metrics():
    earlier = {"epoch": [1, 2], "loss": [5.0, 4.0], "val_wer": [None, 0.9]}
    merged = merge_epoch_history(earlier, {3: {"loss": 3.0}, 4: {"loss": 2.0, "val_wer": 0.5, "val_cer": 0.2}})
    assert merged == {"epoch": [1, 2, 3, 4], "loss": [5.0, 4.0, 3.0, 2.0], "val_wer": [None, 0.9, None, 0.5],
                      "val_cer": [None, None, None, 0.2]}
    assert list(merged) == ["epoch", "loss", "val_wer", "val_cer"]


def test_a_redone_epoch_replaces_its_whole_row():
    # Epoch 2 was interrupted (loss only), then re-done by the resumed run with validation.
    earlier = {"epoch": [1, 2], "loss": [5.0, 4.5], "learning_rate": [0.1, 0.2]}
    merged = merge_epoch_history(earlier, {2: {"loss": 4.0, "val_wer": 0.8}, 3: {"loss": 3.0}})
    assert merged == {"epoch": [1, 2, 3], "loss": [5.0, 4.0, 3.0], "learning_rate": [0.1, None, None],
                      "val_wer": [None, 0.8, None]}


def test_rows_come_out_in_epoch_order_whatever_order_they_came_in():
    merged = merge_epoch_history({}, {3: {"loss": 1.0}, 1: {"loss": 3.0}, 2: {"loss": 2.0}})
    assert merged == {"epoch": [1, 2, 3], "loss": [3.0, 2.0, 1.0]}


def test_merging_nothing_gives_empty_columns():
    assert merge_epoch_history({}, {}) == {"epoch": []}


def test_rows_and_columns_round_trip():
    history = {"epoch": [1, 3], "loss": [2.0, 1.0], "val_wer": [None, 0.5]}
    rows = history_rows(history)
    assert rows == {1: {"loss": 2.0}, 3: {"loss": 1.0, "val_wer": 0.5}}
    assert merge_epoch_history({}, rows) == history


def test_a_column_of_the_wrong_length_is_refused():
    with pytest.raises(ValueError, match="'val_wer' has 1 entries for 2 epochs"):
        history_rows({"epoch": [1, 2], "loss": [1.0, 2.0], "val_wer": [0.5]})


def test_last_measured_skips_unmeasured_epochs_and_the_epoch_column():
    history = {"epoch": [1, 2, 3], "loss": [3.0, 2.0, 1.0], "val_wer": [None, 0.5, None], "val_cer": [None] * 3}
    assert last_measured(history) == {"loss": 1.0, "val_wer": 0.5}


def test_write_then_read(tmp_path):
    history = {"epoch": [1, 2], "loss": [2.0, float("nan")], "val_wer": [None, 0.25]}
    write_history(tmp_path / "history.json", history)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["history.json"]  # no temporary left behind
    read = read_history(tmp_path / "history.json")
    assert read["epoch"] == [1, 2] and read["val_wer"] == [None, 0.25] and np.isnan(read["loss"][1])
    assert json.loads((tmp_path / "history.json").read_text().replace("NaN", "null"))["val_wer"][0] is None


def test_read_history_without_the_epoch_column_or_file_is_empty(tmp_path):
    assert read_history(tmp_path / "absent.json") == {}
    (tmp_path / "old.json").write_text(json.dumps({"loss": [3.0, 2.0], "val_wer": [0.5]}))
    assert read_history(tmp_path / "old.json") == {}


def test_epoch_logs_record_fit_epochs_from_initial_epoch():
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    x, y = np.ones((4, 2), "float32"), np.zeros((4, 1), "float32")
    logs = EpochLogs()
    sparse = keras.callbacks.LambdaCallback(
        on_epoch_end=lambda epoch, l: l.update({"val_wer": 0.5}) if epoch == 3 else None)
    model.fit(x, y, epochs=4, initial_epoch=2, verbose=0, callbacks=[sparse, logs])
    assert sorted(logs.epochs) == [3, 4]
    assert set(logs.epochs[3]) == {"loss"} and logs.epochs[4]["val_wer"] == 0.5
    assert all(isinstance(v, float) for row in logs.epochs.values() for v in row.values())
