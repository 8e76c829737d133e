"""``contextnet sweep`` end to end on real recordings (FSDD): two trials, table, plot, best model."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from tf_contextnet.cli.main import main
from tuning.sweep_data import write_fsdd_records, write_space

EXPECTED_COLUMNS = ["trial", "alpha", "kernel", "blocks", "downsampling", "se", "params", "gflops", "dev_wer",
                    "dev_loss", "minutes"]


@pytest.fixture(scope="module")
def fsdd_records(fsdd_dir, tmp_path_factory):
    root = tmp_path_factory.mktemp("fsdd_cli_sweep")
    train = [f"{d}_george_5.wav" for d in range(10)] + ["2_jackson_5.wav", "8_jackson_5.wav"]
    return write_fsdd_records(fsdd_dir, root, {"train": train, "dev": [f"{d}_lucas_0.wav" for d in (1, 4, 7)]})


def test_bad_space_file_is_named(tmp_path):
    space = tmp_path / "space.json"
    space.write_text(json.dumps({"search": {"kernel_size": [7]}}))
    with pytest.raises(ValueError, match=r"space.json: search.kernel_size = 7: expected one of 3, 5, 11, 21"):
        main(["sweep", "--space", str(space), "--train", "x", "--valid", "y", "--out", str(tmp_path / "o"), "--quiet"])


def test_too_short_trials_are_refused(tmp_path):
    space = write_space(tmp_path / "space.json")
    with pytest.raises(ValueError, match="below the minimum trial length 200"):
        main(["sweep", "--space", str(space), "--train", "x", "--valid", "y", "--out", str(tmp_path / "o"),
              "--steps-per-trial", "50", "--quiet"])


@pytest.mark.slow
def test_two_trial_sweep_end_to_end(fsdd_dir, fsdd_records, tmp_path, capsys):
    from tf_contextnet.inference import load_model_directory
    from tf_contextnet.models import ContextNetTransducer
    from tf_contextnet.tuning import read_trial_record

    out = tmp_path / "sweep"
    space = write_space(tmp_path / "space.json")
    command = ["sweep", "--space", str(space), "--train", str(fsdd_records["train"]),
               "--valid", str(fsdd_records["dev"]), "--out", str(out), "--max-trials", "2", "--tuner", "random",
               "--steps-per-trial", "6", "--steps-per-epoch", "3", "--min-trial-steps", "3", "--quiet"]
    assert main(command) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["trials"] == {"completed": 2} and summary["best_trial"] in ("0", "1")

    with open(out / "results.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0])[:len(EXPECTED_COLUMNS)] == EXPECTED_COLUMNS and len(rows) == 2
    vocabulary_size = load_model_directory(out / "best_model").model.vocabulary_size
    for row in rows:
        record = read_trial_record(out / "tuner" / f"trial_{row['trial']}")
        assert record["status"] == "completed" and record["steps"] == 6 and len(record["epochs"]) == 2
        assert 0.0 <= float(row["dev_wer"]) and float(row["dev_loss"]) > 0 and float(row["minutes"]) > 0
        model = ContextNetTransducer(vocabulary_size, **record["model_options"])
        model.build()
        assert int(row["params"]) == model.count_params()
        assert float(row["alpha"]) in (0.125, 0.25) and row["kernel"] in ("3", "5") and row["se"] == "global"
    markdown = (out / "results.md").read_text().splitlines()
    assert markdown[0].startswith("| trial | α | kernel | blocks | downsampling | SE | params | GFLOPs/s | dev WER | "
                                  "dev loss |")
    assert len(markdown) == 4
    assert (out / "pareto.png").read_bytes()[:4] == b"\x89PNG"

    wav = str(fsdd_dir / "recordings" / "1_lucas_0.wav")
    assert main(["transcribe", "--model", str(out / "best_model"), wav]) == 0
    assert capsys.readouterr().out.startswith(f"{wav}\t")

    # A finished sweep re-run with the same command trains nothing more and rewrites the same table.
    assert main(command) == 0
    with open(out / "results.csv", newline="") as f:
        assert list(csv.DictReader(f)) == rows
