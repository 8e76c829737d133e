"""Helpers of the sweep tests: tiny real-speech corpora (FSDD digits) as TFRecords, tiny search spaces."""

from __future__ import annotations

import json
import os
from pathlib import Path

DIGITS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
# Tiny models: α 0.125, small decoders, no augmentation or noise (a few steps must show the loss moving).
TINY_SPACE = {
    "search": {"alpha": [0.125, 0.25], "kernel_size": [3, 5], "downsampling": ["8x"], "se": [True]},
    "model": {"prediction_embedding_dim": 16, "prediction_units": 16, "joint_dim": 24},
    "training": {"batch_size": 4, "tokenizer_kind": "characters", "spec_augment": False, "noise_stddev": 0,
                 "warmup_steps": 4},
}


def write_fsdd_records(fsdd_dir: Path, root: Path, takes: dict[str, list[str]]) -> dict[str, Path]:
    """``{split: records folder}`` from FSDD recordings named ``{digit}_{speaker}_{take}.wav``."""
    from tf_contextnet.cli.main import main

    folders = {}
    for split, names in takes.items():
        manifest = root / f"{split}.tsv"
        lines = ["path\tduration_s\ttranscript"]
        lines += [f"{fsdd_dir / 'recordings' / n}\t0\t{DIGITS[int(n.split('_')[0])]}" for n in names]
        manifest.write_text("\n".join(lines) + "\n")
        folders[split] = root / f"{split}_records"
        assert main(["prepare", str(manifest), str(folders[split]), "--no-progress", "--workers", "1"]) == 0
    return folders


def write_space(path: Path, **sections) -> Path:
    """``TINY_SPACE`` with whole sections replaced by ``sections``, as JSON."""
    path.write_text(json.dumps({**TINY_SPACE, **sections}))
    return path


def sweep_environment(**extra: str) -> dict[str, str]:
    """The environment of a ``contextnet sweep`` subprocess: this interpreter's, quiet, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("KERASTUNER_")}
    env.update(TF_CPP_MIN_LOG_LEVEL="2", KERAS_BACKEND="tensorflow", **extra)
    return env
