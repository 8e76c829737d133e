"""The LibriSpeech recipe end to end on a tiny LibriSpeech-layout fixture (real FLAC, made-up text)."""

from __future__ import annotations

import csv
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from recipe_modules import RECIPES

ROOT = RECIPES.parent
RECIPE = RECIPES / "librispeech"
WORDS = "the a of and to in he was that it his her with as had for you i at".split()


def build_fixture(audio_dir: Path, root: Path, layout: dict[str, int]) -> Path:
    """``root/<split>/<speaker>/<chapter>/<id>.flac`` + ``<speaker>-<chapter>.trans.txt`` from the shortest
    real LibriSpeech FLACs; ``layout`` says how many utterances each split gets."""
    with open(audio_dir / "manifest_audio_only.tsv", newline="", encoding="utf-8") as f:
        rows = sorted(csv.reader(f, delimiter="\t"), key=lambda r: float(r[1]))
    rows = [r for r in rows if r[0].endswith(".flac")]
    index = 0
    for split, count in layout.items():
        for _ in range(count):
            source = audio_dir / rows[index][0]
            uid = source.stem
            speaker, chapter, _ = uid.split("-")
            folder = root / split / speaker / chapter
            folder.mkdir(parents=True, exist_ok=True)
            shutil.copy(source, folder / source.name)
            text = " ".join(WORDS[(index * 7 + k * 3) % len(WORDS)] for k in range(3 + index % 4)).upper()
            with open(folder / f"{speaker}-{chapter}.trans.txt", "a", encoding="utf-8") as t:
                t.write(f"{uid} {text}\n")
            index += 1
    return root


def _env() -> dict:
    bin_dir = Path(sys.executable).parent
    return {**os.environ, "CONTEXTNET": str(bin_dir / "contextnet"), "PATH": f"{bin_dir}:{os.environ['PATH']}"}


def test_prepare_stage0_names_the_missing_splits(tmp_path: Path):
    (tmp_path / "LibriSpeech" / "dev-clean").mkdir(parents=True)
    result = subprocess.run(["bash", str(RECIPE / "prepare.sh"), "--librispeech", str(tmp_path / "LibriSpeech"),
                             "--out", str(tmp_path / "data"), "--stop-stage", "0"],
                            capture_output=True, text=True, env=_env(), timeout=60)
    assert result.returncode == 1
    assert "train-clean-100" in result.stderr and "dev-clean" in result.stderr
    assert "https://www.openslr.org/resources/12/train-other-500.tar.gz" in result.stderr
    bad = subprocess.run(["bash", str(RECIPE / "prepare.sh"), "--bogus"], capture_output=True, text=True,
                         env=_env(), timeout=60)
    assert bad.returncode == 2 and "unknown option --bogus" in bad.stderr


def test_train_and_decode_need_prepared_data(tmp_path: Path):
    for script, args in (("train.py", ["--data", str(tmp_path), "--out", str(tmp_path / "m")]),
                         ("decode.py", ["--data", str(tmp_path), "--model", str(tmp_path / "m")])):
        result = subprocess.run([sys.executable, str(RECIPE / script), *args], capture_output=True, text=True,
                                timeout=120)
        assert result.returncode == 2, result.stderr
        assert "prepare.sh" in result.stderr


@pytest.mark.slow
def test_recipe_end_to_end_on_a_tiny_fixture(tmp_path: Path, librispeech_audio_dir: Path):
    """prepare.sh (all stages) → train.py (2 steps of a tiny S) → decode.py: a WER table per split."""
    layout = {"train-clean-100": 6, "dev-clean": 2, "test-clean": 2, "test-other": 2}
    libri = build_fixture(librispeech_audio_dir, tmp_path / "LibriSpeech", layout)
    data = tmp_path / "data"
    prep = subprocess.run(["bash", str(RECIPE / "prepare.sh"), "--librispeech", str(libri), "--out", str(data),
                           "--train-splits", "train-clean-100", "--eval-splits", "dev-clean test-clean test-other",
                           "--vocab-size", "60", "--workers", "1"],
                          capture_output=True, text=True, env=_env(), timeout=600)
    assert prep.returncode == 0, prep.stdout[-2000:] + prep.stderr[-2000:]
    for split in layout:
        assert list((data / "tfrecords" / split).glob("*.tfrecord")), split
    assert (data / "tokenizer" / "tokenizer.json").is_file()

    model = tmp_path / "exp" / "contextnet_s"
    options = '{"alpha": 0.05, "prediction_embedding_dim": 16, "prediction_units": 16, "joint_dim": 16}'
    train = subprocess.run([sys.executable, str(RECIPE / "train.py"), "--size", "s", "--data", str(data),
                            "--out", str(model), "--train-splits", "train-clean-100", "--model-options", options,
                            "--epochs", "1", "--steps-per-epoch", "2", "--batch-size", "2", "--warmup-steps", "10",
                            "--quiet"], capture_output=True, text=True, cwd=ROOT, timeout=900)
    assert train.returncode == 0, train.stdout[-3000:] + train.stderr[-3000:]
    assert '"steps": 2' in train.stdout
    for name in ("model.keras", "config.json", "tokenizer/tokenizer.json"):
        assert (model / name).exists(), name

    decode = subprocess.run([sys.executable, str(RECIPE / "decode.py"), "--model", str(model), "--data", str(data),
                             "--splits", "dev-clean,test-clean,test-other"],
                            capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert decode.returncode == 0, decode.stdout[-3000:] + decode.stderr[-3000:]
    table = (model / "results.md").read_text()
    for split in ("dev-clean", "test-clean", "test-other"):
        assert f"| {split} | 2 |" in table
        assert len((model / "decode" / split / "results.jsonl").read_text().splitlines()) == 2
        assert (model / "decode" / split / "errs.txt").read_text().startswith("%WER = ")
