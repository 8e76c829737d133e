"""``contextnet tune-fusion``: the grid, the choice of the best pair and the files written."""

from __future__ import annotations

import json

import pytest

from tf_contextnet.cli.main import main
from tf_contextnet.cli.tune_fusion import _values, best_row, write_table


def test_values_and_best_row():
    assert _values("0.3, 0,0.1", "--x") == [0.0, 0.1, 0.3]
    with pytest.raises(ValueError, match="--x"):
        _values("a,b", "--x")
    rows = [{"lm_weight": 0.0, "length_bonus": 0.0, "wer": 0.2, "cer": 0.1},
            {"lm_weight": 0.5, "length_bonus": 1.0, "wer": 0.1, "cer": 0.05},
            {"lm_weight": 0.3, "length_bonus": 1.0, "wer": 0.1, "cer": 0.05}]
    assert best_row(rows) is rows[2]  # a tie goes to the smaller weight


def test_write_table(tmp_path):
    rows = [{"lm_weight": 0.0, "length_bonus": 0.0, "wer": 0.25, "cer": 0.1, "ser": 0.5, "edits": 5, "words": 20},
            {"lm_weight": 0.2, "length_bonus": 0.5, "wer": 0.2, "cer": 0.1, "ser": 0.5, "edits": 4, "words": 20}]
    table = write_table(rows, str(tmp_path), 4)
    assert "| 0.2 | 0.5 | 20.00 | 10.00 | 50.00 | **best**" in table
    best = json.loads((tmp_path / "best.json").read_text())
    assert best["lm_weight"] == 0.2 and best["baseline_wer"] == 0.25 and best["beam"] == 4
    assert len((tmp_path / "fusion.tsv").read_text().splitlines()) == 3


def test_needs_a_dev_set(tmp_path, capsys):
    assert main(["tune-fusion", "--model", str(tmp_path), "--lm", str(tmp_path)]) == 2
    assert "--manifest FILE" in capsys.readouterr().err


def test_best_json_records_the_symbol_cap(tmp_path):
    rows = [{"lm_weight": 0.0, "length_bonus": 0.0, "wer": 0.25, "cer": 0.1, "ser": 0.5, "edits": 5, "words": 20}]
    table = write_table(rows, str(tmp_path), 8, 3)
    assert "WER % (beam 8, max 3 symbols/frame)" in table
    assert json.loads((tmp_path / "best.json").read_text())["max_symbols_per_frame"] == 3
