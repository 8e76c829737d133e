"""Manifests: one utterance per row (audio path, duration, transcript[, speaker]) as TSV or JSONL.

TSV: a header ``path<TAB>duration_s<TAB>transcript[<TAB>speaker]`` then one row per utterance.
JSONL: one object per line with the same keys. Paths are relative to the manifest's folder
(absolute paths are kept as they are). ``duration_s`` may be empty (unknown). An optional ``id``
column names the utterance (default: the audio file's stem).
"""

from __future__ import annotations

import csv
import dataclasses
import json
import os
from typing import Iterable

REQUIRED_COLUMNS = ("path", "duration_s", "transcript")


@dataclasses.dataclass(frozen=True)
class ManifestEntry:
    """One utterance: ``audio_path`` is absolute once read; ``uid`` defaults to the file stem."""

    audio_path: str
    transcript: str
    duration: float | None = None
    speaker: str | None = None
    uid: str = ""

    def __post_init__(self):
        if not self.uid:
            object.__setattr__(self, "uid", os.path.splitext(os.path.basename(self.audio_path))[0])


def _parse_duration(value, where: str) -> float | None:
    if value in (None, ""):
        return None
    try:
        duration = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{where}: duration_s {value!r} is not a number") from None
    if not duration >= 0:
        raise ValueError(f"{where}: duration_s {value!r} must be a non-negative number")
    return duration


def _entry(row: dict, folder: str, where: str) -> ManifestEntry:
    missing = [c for c in REQUIRED_COLUMNS if c not in row or (row[c] is None and c != "duration_s")]
    if missing:
        raise ValueError(f"{where}: missing field(s) {missing}; a manifest needs {list(REQUIRED_COLUMNS)}")
    path = str(row["path"])
    if not path:
        raise ValueError(f"{where}: empty audio path")
    speaker = row.get("speaker") or None
    return ManifestEntry(audio_path=os.path.normpath(os.path.join(folder, path)),
                         transcript=str(row["transcript"]),
                         duration=_parse_duration(row["duration_s"], where),
                         speaker=None if speaker is None else str(speaker),
                         uid=str(row.get("id") or ""))


def read_manifest(path: str | os.PathLike) -> list[ManifestEntry]:
    """Entries of a ``.tsv`` or ``.jsonl``/``.json`` manifest, audio paths made absolute."""
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isfile(path):
        raise FileNotFoundError(f"manifest {path!r} does not exist")
    entries = []
    with open(path, encoding="utf-8", newline="") as f:
        if path.endswith((".jsonl", ".json")):
            for number, line in enumerate(f, start=1):
                if not line.strip():
                    continue
                try:
                    row = json.loads(line)
                except json.JSONDecodeError as error:
                    raise ValueError(f"{path}:{number}: not JSON ({error})") from None
                if not isinstance(row, dict):
                    raise ValueError(f"{path}:{number}: expected a JSON object, got {type(row).__name__}")
                entries.append(_entry(row, folder, f"{path}:{number}"))
        else:
            reader = csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE)
            header = reader.fieldnames or []
            if any(c not in header for c in REQUIRED_COLUMNS):
                raise ValueError(f"{path}: header {header} lacks one of {list(REQUIRED_COLUMNS)} "
                                 "(TSV manifests start with a tab-separated header row)")
            for number, row in enumerate(reader, start=2):
                entries.append(_entry(row, folder, f"{path}:{number}"))
    return entries


def write_manifest(entries: Iterable[ManifestEntry], path: str | os.PathLike) -> None:
    """Write ``entries`` as TSV or JSONL (by extension), audio paths relative to the manifest."""
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    entries = list(entries)
    with_speaker = any(e.speaker is not None for e in entries)
    with_id = any(e.uid != ManifestEntry(e.audio_path, "").uid for e in entries)
    os.makedirs(folder, exist_ok=True)
    rows = []
    for e in entries:
        row = {"path": os.path.relpath(os.path.abspath(e.audio_path), folder),
               "duration_s": "" if e.duration is None else f"{e.duration:.4f}",
               "transcript": e.transcript}
        if with_speaker:
            row["speaker"] = e.speaker or ""
        if with_id:
            row["id"] = e.uid
        rows.append(row)
    with open(path, "w", encoding="utf-8", newline="") as f:
        if path.endswith((".jsonl", ".json")):
            for row in rows:
                row["duration_s"] = None if row["duration_s"] == "" else float(row["duration_s"])
                f.write(json.dumps(row, ensure_ascii=False) + "\n")
            return
        columns = list(REQUIRED_COLUMNS) + (["speaker"] if with_speaker else []) + (["id"] if with_id else [])
        f.write("\t".join(columns) + "\n")
        for row in rows:
            values = [str(row[c]) for c in columns]
            bad = [v for v in values if "\t" in v or "\n" in v or "\r" in v]
            if bad:
                raise ValueError(f"{path}: cannot write {bad[0]!r} to a TSV manifest (tab or newline); use .jsonl")
            f.write("\t".join(values) + "\n")
