"""Reading CMU's AN4 database in the layout of ``an4_sphere.tar.gz``.

Layout (``ROOT`` = the folder holding ``etc/`` and ``wav/``)::

    etc/an4_train.fileids          an4_clstk/<speaker>/<utterance-id>        one per line
    etc/an4_train.transcription    <s> WORDS </s> (<utterance-id>)           <s>/</s> optional
    etc/an4_test.fileids           an4test_clstk/<speaker>/<utterance-id>
    etc/an4_test.transcription     WORDS (<utterance-id>)
    wav/an4_clstk/<speaker>/<utterance-id>.sph        NIST SPHERE, 16 kHz PCM16
    wav/an4test_clstk/<speaker>/<utterance-id>.sph

Transcripts are returned lower-cased with ``<s>``, ``</s>``, ``<sil>`` and the ``(utterance-id)``
suffix removed. Blank lines are skipped and counted (the distributed ``an4_test`` files start with
one). Audio under ``wav/`` that no transcript names (the test speaker fcaw's 13 files in the
distributed copy) is returned as *unscored*, never dropped silently. A malformed line, a duplicate
id, or a transcript whose audio file is missing raises :class:`An4LayoutError` naming the file
and line.
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

SPLITS = {"train": "an4_clstk", "test": "an4test_clstk"}
AUDIO_SUFFIX = ".sph"
MARKERS = ("<s>", "</s>", "<sil>")
LINE_PATTERN = re.compile(r"^(?P<words>.*?)\s*\((?P<uid>[^()\s]+)\)\s*$")


class An4LayoutError(ValueError):
    """The AN4 folder does not have the expected layout (names the file and line)."""


@dataclasses.dataclass(frozen=True)
class An4Utterance:
    """One transcribed utterance: ``audio`` is an absolute path, ``transcript`` lower-case words."""

    uid: str
    speaker: str
    audio: Path
    transcript: str


@dataclasses.dataclass
class An4Split:
    """A split as read from disk: transcribed utterances (file order), unscored audio, blank lines."""

    name: str
    utterances: list[An4Utterance]
    unscored: list[Path]
    blank_lines: int

    @property
    def speakers(self) -> list[str]:
        return sorted({u.speaker for u in self.utterances})


def clean_transcript(words: str) -> str:
    """``<s> ENTER SIX </s>`` -> ``enter six``: markers dropped, whitespace collapsed, lower-cased."""
    return " ".join(w for w in words.split() if w.lower() not in MARKERS).lower()


def read_transcription(path: Path) -> tuple[dict[str, str], int]:
    """``({utterance-id: transcript}, blank lines)`` of an ``an4_*.transcription`` file (file order)."""
    transcripts: dict[str, str] = {}
    blank = 0
    for number, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            blank += 1
            continue
        match = LINE_PATTERN.match(line)
        if match is None:
            raise An4LayoutError(f"{path}:{number}: expected 'WORDS (utterance-id)', got {line!r}")
        uid, text = match["uid"], clean_transcript(match["words"])
        if uid in transcripts:
            raise An4LayoutError(f"{path}:{number}: utterance id {uid!r} appears twice")
        if not text:
            raise An4LayoutError(f"{path}:{number}: no words for utterance {uid!r}")
        transcripts[uid] = text
    return transcripts, blank


def read_fileids(path: Path) -> tuple[list[str], int]:
    """``(relative audio paths without suffix, blank lines)`` of an ``an4_*.fileids`` file."""
    ids, blank = [], 0
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        if line.strip():
            ids.append(line.strip())
        else:
            blank += 1
    return ids, blank


def read_split(root: Path, split: str) -> An4Split:
    """The ``train`` or ``test`` split of the AN4 folder ``root``.

    Utterances come in the order of the transcription file; the speaker is the folder above each
    audio file (``an4_clstk/<speaker>/...``). Audio listed in ``fileids`` or lying under the split's
    ``wav/`` folder without a transcript goes to ``unscored`` (sorted).
    """
    if split not in SPLITS:
        raise ValueError(f"AN4 split must be one of {sorted(SPLITS)}, got {split!r}")
    root = Path(root).resolve()
    etc = root / "etc"
    transcription, fileids = etc / f"an4_{split}.transcription", etc / f"an4_{split}.fileids"
    for required in (transcription, fileids, root / "wav" / SPLITS[split]):
        if not required.exists():
            raise An4LayoutError(f"{required} is missing: {root} does not look like CMU's AN4 folder "
                                 "(etc/ and wav/ from an4_sphere.tar.gz)")
    transcripts, blank = read_transcription(transcription)
    listed, blank_ids = read_fileids(fileids)
    by_uid = {Path(rel).name: rel for rel in listed}
    utterances = []
    for uid, text in transcripts.items():
        rel = by_uid.get(uid)
        if rel is None:  # not in fileids: look for it where the layout puts it
            found = sorted((root / "wav" / SPLITS[split]).glob(f"*/{uid}{AUDIO_SUFFIX}"))
            if not found:
                raise An4LayoutError(f"{transcription}: utterance {uid!r} has a transcript but no audio file "
                                     f"(not in {fileids.name}, no wav/{SPLITS[split]}/*/{uid}{AUDIO_SUFFIX})")
            rel = found[0].relative_to(root / "wav").with_suffix("").as_posix()
        audio = root / "wav" / f"{rel}{AUDIO_SUFFIX}"
        if not audio.is_file():
            raise An4LayoutError(f"{transcription}: audio of utterance {uid!r} is missing ({audio})")
        utterances.append(An4Utterance(uid, Path(rel).parent.name, audio, text))
    on_disk = set((root / "wav" / SPLITS[split]).glob(f"*/*{AUDIO_SUFFIX}"))
    on_disk |= {root / "wav" / f"{rel}{AUDIO_SUFFIX}" for rel in listed}
    unscored = sorted(on_disk - {u.audio for u in utterances})
    return An4Split(split, utterances, unscored, blank + blank_ids)
