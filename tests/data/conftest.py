"""Fixtures for the data tests: a LibriSpeech-layout folder built from real FLAC recordings."""

from __future__ import annotations

import glob
import os
import shutil
from pathlib import Path

import pytest
import soundfile

NUMBER_WORDS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]


def made_up_transcript(uid: str) -> str:
    """A deterministic upper-case transcript (LibriSpeech style) spelling the utterance id's digits."""
    digits = uid.replace("-", "")
    return "UTTERANCE " + " ".join(NUMBER_WORDS[int(d)] for d in digits).upper()


def shortest_flac_files(librispeech_audio_dir: Path, count: int) -> list[str]:
    files = sorted(glob.glob(str(librispeech_audio_dir / "**" / "*.flac"), recursive=True))
    return [f for _, f in sorted((soundfile.info(f).frames, f) for f in files)[:count]]


def build_librispeech_layout(root: Path, flac_files: list[str], split: str = "test-other") -> dict[str, str]:
    """Copy ``flac_files`` into ``root/<split>/<spk>/<chapter>/`` with ``*.trans.txt``; id → transcript."""
    transcripts: dict[str, str] = {}
    by_chapter: dict[tuple[str, str], list[str]] = {}
    for path in flac_files:
        uid = os.path.splitext(os.path.basename(path))[0]
        speaker, chapter, _ = uid.split("-")
        folder = root / split / speaker / chapter
        folder.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, folder / f"{uid}.flac")
        by_chapter.setdefault((speaker, chapter), []).append(uid)
        transcripts[uid] = made_up_transcript(uid)
    for (speaker, chapter), uids in by_chapter.items():
        with open(root / split / speaker / chapter / f"{speaker}-{chapter}.trans.txt", "w") as f:
            f.writelines(f"{uid} {transcripts[uid]}\n" for uid in sorted(uids))
    return transcripts


@pytest.fixture(scope="session")
def librispeech_layout(tmp_path_factory, librispeech_audio_dir: Path) -> tuple[Path, dict[str, str]]:
    """A 12-utterance LibriSpeech split from real FLAC audio, with made-up transcripts."""
    root = tmp_path_factory.mktemp("librispeech")
    transcripts = build_librispeech_layout(root, shortest_flac_files(librispeech_audio_dir, 12))
    return root, transcripts


@pytest.fixture(scope="session")
def prepared_librispeech(tmp_path_factory, librispeech_layout) -> tuple[Path, dict[str, str]]:
    """``librispeech_layout`` prepared to TFRecords (5 utterances per shard, in-process)."""
    from tf_contextnet.data import prepare

    root, transcripts = librispeech_layout
    output = tmp_path_factory.mktemp("prepared")
    prepare(root, output, shard_size=5, num_workers=1, progress=False)
    return output, transcripts
