"""Tests of the digits recipe's training script (recipes/digits/train.py); its time budget is the library's
(tests/training/test_time_budget.py)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from recipe_modules import RECIPES

TRAIN = RECIPES / "digits" / "train.py"
STARTUP_LINES = re.compile(r"absl::InitializeLog|cudart_stub|cuInit|cpu_feature_guard|oneDNN supports DT_")


def _run(args: list[str], env: dict | None = None, timeout: int = 900) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(TRAIN), *args], capture_output=True, text=True, timeout=timeout,
                          env={**{k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}, **(env or {})})


def test_without_fsdd_or_espeak_it_names_the_install_command(tmp_path: Path):
    """No shared data and no espeak-ng: a clear message with the install command, exit code 2."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    env = {"TF_CONTEXTNET_SHARED_DATA": str(tmp_path / "no_shared_data"), "PATH": str(bin_dir)}
    result = _run(["--out", str(tmp_path / "out"), "--minutes", "0"], env=env, timeout=300)
    assert result.returncode == 2, result.stderr[-2000:]
    assert "is absent" in result.stdout and "espeak-ng" in result.stdout
    assert "apt-get install -y espeak-ng" in result.stderr


def test_unknown_test_speaker_is_a_clear_error(tmp_path: Path, fsdd_dir: Path):
    result = _run(["--data", str(fsdd_dir / "recordings"), "--test-speakers", "nobody",
                   "--out", str(tmp_path / "out"), "--minutes", "0"], timeout=300)
    assert result.returncode == 1
    assert "nobody" in result.stderr and "speakers there" in result.stderr


@pytest.mark.slow
def test_short_budget_run_end_to_end_and_resume(tmp_path: Path, fsdd_dir: Path):
    """A tiny FSDD subset, a few steps: results table per speaker, model directory, resume."""
    subset = tmp_path / "recordings"
    subset.mkdir()
    for path in sorted((fsdd_dir / "recordings").glob("*.wav")):
        digit, speaker, take = path.stem.split("_")
        if speaker in ("george", "jackson", "lucas") and int(take) < 3:
            shutil.copy(path, subset / path.name)
    out = tmp_path / "exp"
    args = ["--data", str(subset), "--test-speakers", "george", "--out", str(out), "--minutes", "0.2",
            "--alpha", "0.1", "--decoder-units", "32", "--batch-size", "8", "--steps-per-epoch", "3",
            "--connected-per-speaker", "4", "--test-connected-per-speaker", "3", "--speed-factors", "", "--quiet"]
    first = _run(args)
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
    assert STARTUP_LINES.findall(first.stderr) == [], first.stderr[-3000:]  # a report, not TF's C++ log
    table = (out / "results.md").read_text()
    assert "| george |" in table and "| **all** |" in table and "jackson, lucas" in table
    for name in ("model.keras", "config.json", "tokenizer/tokenizer.json"):
        assert (out / "model" / name).exists(), name
    spent = json.loads((out / "train" / "time_spent.json").read_text())["train_seconds"]
    assert spent >= 0.2 * 60
    second = _run(args)  # the same command again: nothing left to train, evaluation only
    assert second.returncode == 0, second.stderr[-3000:]
    assert "already spent" in second.stdout and "[corpus] reusing" in second.stdout
    assert json.loads((out / "train" / "time_spent.json").read_text())["train_seconds"] == spent


def test_espeak_voices_join_the_training_speakers(tmp_path: Path, fsdd_dir: Path):
    """``--espeak-speakers 1``: one synthetic voice is added to training; test speakers stay real."""
    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng is not installed (apt-get install -y espeak-ng)")
    subset = tmp_path / "recordings"
    subset.mkdir()
    for path in sorted((fsdd_dir / "recordings").glob("*.wav")):
        digit, speaker, take = path.stem.split("_")
        if speaker in ("george", "jackson") and int(take) < 2:
            shutil.copy(path, subset / path.name)
    out = tmp_path / "exp"
    result = _run(["--data", str(subset), "--test-speakers", "george", "--espeak-speakers", "1", "--out", str(out),
                   "--minutes", "0", "--connected-per-speaker", "2", "--test-connected-per-speaker", "2",
                   "--speed-factors", ""], timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    summary = json.loads((out / "corpus" / "corpus.json").read_text())
    assert summary["train_speakers"] == ["jackson", "us-m1"] and summary["test_speakers"] == ["george"]
    linked = sorted(p.name for p in (out / "recordings").iterdir())
    assert len(linked) == 2 * 10 * 2 + 10 * 30  # the two real speakers' takes + one voice's 10 digits x 30 takes
    assert all((out / "recordings" / name).is_symlink() for name in linked)
