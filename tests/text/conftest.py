"""Fixtures for the tokenizer tests: every transcript of the real-speech manifests."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest


def _transcripts(folder: Path) -> list[str]:
    with open(folder / "manifest.tsv", encoding="utf-8", newline="") as f:
        return [row["transcript"] for row in csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE)]


@pytest.fixture(scope="session")
def all_transcripts(fsdd_dir: Path, ljspeech_dir: Path, shared_data: Path) -> list[str]:
    """FSDD + LJ Speech + pocketsphinx transcripts (skips when ../shared/data is absent)."""
    texts = _transcripts(fsdd_dir) + _transcripts(ljspeech_dir)
    if (shared_data / "pocketsphinx" / "manifest.tsv").is_file():
        texts += _transcripts(shared_data / "pocketsphinx")
    return texts


SMALL_CORPUS = ["the cat sat on the mat", "a dog sat on a log", "cats and dogs", "the end"]
