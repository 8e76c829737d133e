"""Over-fit test: a tiny ContextNet trained with ``contextnet train`` until greedy decoding transcribes
a handful of real FSDD recordings exactly; then ``contextnet transcribe`` reads them back from disk."""

from __future__ import annotations

import json
import os
import time

import pytest

from tf_contextnet.cli.main import main

DIGITS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
TINY_MODEL = {"alpha": 0.1, "prediction_embedding_dim": 32, "prediction_units": 32, "joint_dim": 48}


def write_fsdd_manifest(fsdd_dir, path, names):
    lines = ["path\tduration_s\ttranscript"]
    for name in names:
        digit = int(name.split("_")[0])
        lines.append(f"{fsdd_dir / 'recordings' / name}\t0\t{DIGITS[digit]}")
    path.write_text("\n".join(lines) + "\n")


@pytest.fixture(scope="module")
def overfit_run(fsdd_dir, tmp_path_factory):
    root = tmp_path_factory.mktemp("overfit")
    names = ["0_george_0.wav", "3_jackson_1.wav", "5_lucas_2.wav", "7_nicolas_3.wav", "8_yweweler_4.wav"]
    write_fsdd_manifest(fsdd_dir, root / "train.tsv", names)
    assert main(["prepare", str(root / "train.tsv"), str(root / "records"), "--no-progress", "--workers", "1"]) == 0
    out = root / "model"
    start = time.monotonic()
    # Over-fitting 5 utterances: no augmentation or noise, a fast-decaying rate, and batch-norm
    # statistics recomputed after the short run (their moving averages lag far behind in 200 steps).
    code = main(["train", "--train", str(root / "records"), "--out", str(out),
                 "--tokenizer-kind", "characters", "--model-options", json.dumps(TINY_MODEL),
                 "--epochs", "4", "--steps-per-epoch", "50", "--batch-size", "5", "--no-spec-augment",
                 "--noise-stddev", "0", "--peak-learning-rate", "0.01", "--warmup-steps", "40",
                 "--decay-exponent", "1.0", "--l2", "0", "--precise-bn-batches", "1", "--quiet"])
    return {"code": code, "out": out, "seconds": time.monotonic() - start,
            "files": [str(fsdd_dir / "recordings" / n) for n in names],
            "texts": [DIGITS[int(n[0])] for n in names]}


def test_overfits_real_recordings(overfit_run):
    assert overfit_run["code"] == 0
    history = json.loads((overfit_run["out"] / "history.json").read_text())
    assert len(history["loss"]) == 4 and history["loss"][-1] < 0.05 * history["loss"][0]
    for name in ("model.keras", "config.json", "tokenizer/tokenizer.json", "backup", "logs"):
        assert os.path.exists(overfit_run["out"] / name), name


def test_transcribe_reads_the_files_back(overfit_run, capsys):
    code = main(["transcribe", "--model", str(overfit_run["out"]), *overfit_run["files"]])
    assert code == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines == [f"{f}\t{t}" for f, t in zip(overfit_run["files"], overfit_run["texts"])]


def test_bad_model_options_are_named(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["train", "--train", "x", "--out", "y", "--model-options", "alpha=0.1"])
    assert exit_info.value.code == 2
    assert "--model-options must be a JSON object" in capsys.readouterr().err


def test_missing_training_data_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="no TFRecord files match"):
        main(["train", "--train", str(tmp_path / "none"), "--out", str(tmp_path / "out"), "--quiet"])
