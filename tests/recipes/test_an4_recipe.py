"""The AN4 recipe: scoring and checkpoint choice (fast), and a one-minute end-to-end run (slow)."""

from __future__ import annotations

import csv
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from recipe_modules import RECIPES, import_recipe_module

scoring = import_recipe_module("an4", "scoring")
TRAIN = RECIPES / "an4" / "train.py"
STARTUP_LINES = re.compile(r"absl::InitializeLog|cudart_stub|cuInit|cpu_feature_guard|oneDNN supports DT_BOOL")


def test_scoring_matches_jiwer_and_bootstrap_brackets_the_rate():
    jiwer = pytest.importorskip("jiwer")
    refs = ["enter six two", "yes", "rubout g m e f", "no", "one two three four"]
    hyps = ["enter six", "no", "rubout g m f f x", "no", "one to three four"]
    scored = scoring.score([f"u{i}" for i in range(5)], ["fa", "fa", "mb", "mb", "mb"], refs, hyps)
    words = scoring.total(scored)
    measures = jiwer.process_words(refs, hyps)
    assert (words.substitutions + words.deletions + words.insertions) == (
        measures.substitutions + measures.deletions + measures.insertions)
    assert words.rate == pytest.approx(measures.wer)
    assert scoring.total(scored, "characters").rate == pytest.approx(jiwer.cer(refs, hyps))
    assert scoring.sentence_error_rate(scored) == pytest.approx(4 / 5)  # only "no" -> "no" is right
    low, high = scoring.bootstrap_interval(scored)
    assert low <= words.rate <= high and low >= 0
    text = scoring.report("test", scored, unscored=["an406-fcaw-b"])
    assert "| fa | 2 | 4 |" in text and "an406-fcaw-b" in text and "Not scored" in text


def test_bootstrap_interval_against_numpy_reference():
    rng = np.random.default_rng(3)
    refs = [" ".join(["w"] * int(n)) for n in rng.integers(1, 6, 40)]
    hyps = [r if rng.random() < 0.7 else "x" for r in refs]
    scored = scoring.score([str(i) for i in range(40)], ["s"] * 40, refs, hyps)
    edits = np.array([s.words.edits for s in scored], float)
    lengths = np.array([s.words.reference_length for s in scored], float)
    index = np.random.default_rng(0).integers(0, 40, size=(2000, 40))
    rates = edits[index].sum(1) / lengths[index].sum(1)
    assert scoring.bootstrap_interval(scored) == pytest.approx(tuple(np.quantile(rates, [0.025, 0.975])))


def test_choose_epochs_on_dev(tmp_path: Path):
    stages = import_recipe_module("an4", "stages")
    log = tmp_path / "metrics.csv"
    log.write_text("epoch,step,minutes,loss,val_loss,val_wer,val_cer,learning_rate\n"
                   "1,150,2.0,9.1,8.0,0.9,0.5,0.001\n2,300,4.0,5.0,,,,0.002\n3,450,6.0,3.0,2.9,0.4,0.2,0.002\n"
                   "4,600,8.0,2.0,2.5,0.3,0.1,0.001\n5,750,10.0,1.9,2.6,0.3,0.12,0.0005\n")
    rows = stages.read_metrics(log)
    assert [int(r["epoch"]) for r in rows] == [1, 3, 4, 5]  # epoch 2: dev not measured
    assert stages.choose_epochs(rows, average=3) == (5, [3, 4, 5])  # ties go to the later epoch
    assert stages.choose_epochs(rows[:3], average=5) == (4, [1, 2, 3, 4])
    with pytest.raises(ValueError, match="no epoch with a dev WER"):
        stages.choose_epochs([], 3)


@pytest.mark.slow
@pytest.mark.data
def test_one_minute_end_to_end(shared_data: Path, tmp_path: Path):
    if not (shared_data / "an4" / "etc").is_dir():
        pytest.skip(f"{shared_data / 'an4'} is absent")
    out = tmp_path / "an4"
    environment = {k: v for k, v in os.environ.items() if k not in ("TF_CPP_MIN_LOG_LEVEL", "TF_CONTEXTNET_TF_LOGS")}
    done = subprocess.run([sys.executable, str(TRAIN), "--data", str(shared_data / "an4"), "--out", str(out),
                           "--minutes", "1", "--speed-factors", "", "--alpha", "0.1", "--decoder-units", "32",
                           "--steps-per-epoch", "5", "--quiet"],
                          capture_output=True, text=True, timeout=3600, env=environment)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert STARTUP_LINES.findall(done.stderr) == [], done.stderr[-3000:]
    results = (out / "results.md").read_text()
    assert "### test: 117 utterances" in results and "### dev:" in results
    assert "Not scored" in results and "cen8-fcaw-b" in results
    for name in ("model/model.keras", "model/choice.json", "train/logs/metrics.csv", "errors_test.tsv",
                 "hyps_test.tsv", "data/test_unscored.tsv"):
        assert (out / name).exists(), name
    with open(out / "train" / "logs" / "metrics.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert rows and rows[-1]["val_wer"] != ""
    hyps = (out / "hyps_test.tsv").read_text().splitlines()
    assert len(hyps) == 118  # header + the 117 scored utterances
    # Re-running resumes: every stage is reused, nothing is trained again.
    again = subprocess.run([sys.executable, str(TRAIN), "--data", str(shared_data / "an4"), "--out", str(out),
                            "--minutes", "1", "--speed-factors", "", "--alpha", "0.1", "--decoder-units", "32",
                            "--steps-per-epoch", "5", "--quiet", "--stop-after", "average"],
                           capture_output=True, text=True, timeout=3600, env=environment)
    assert again.returncode == 0, again.stderr[-3000:]
    assert "[manifests] reusing" in again.stdout and "[average] reusing" in again.stdout
