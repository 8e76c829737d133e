"""LibriSpeech as downloaded: ``<split>/<speaker>/<chapter>/<speaker>-<chapter>-<utt>.flac`` and
``<speaker>-<chapter>.trans.txt`` (one ``<utterance-id> <TRANSCRIPT>`` per line)."""

from __future__ import annotations

import dataclasses
import glob
import os

from tf_contextnet.data.manifest import ManifestEntry


@dataclasses.dataclass
class LibriSpeechListing:
    """Entries found, and audio files that no transcript line names (reported, not dropped silently)."""

    entries: list[ManifestEntry]
    untranscribed: list[str]


def read_librispeech(root: str | os.PathLike, lowercase: bool = True) -> LibriSpeechListing:
    """All utterances under ``root`` (a split folder, or a folder holding several splits).

    Every ``*.trans.txt`` found below ``root`` is read; each line becomes an entry whose audio
    is the ``.flac`` beside it (a missing file is left for ``prepare`` to report). Durations are
    left unknown (read during preparation). Transcripts are lower-cased when ``lowercase``.
    Raises ``ValueError`` naming the file and line for a malformed transcript line.
    """
    root = os.path.abspath(os.fspath(root))
    if not os.path.isdir(root):
        raise FileNotFoundError(f"LibriSpeech directory {root!r} does not exist")
    transcript_files = sorted(glob.glob(os.path.join(root, "**", "*.trans.txt"), recursive=True))
    if not transcript_files:
        raise ValueError(f"{root}: no <speaker>-<chapter>.trans.txt files below it; is this a LibriSpeech split?")
    entries: list[ManifestEntry] = []
    named: set[str] = set()
    for transcript_file in transcript_files:
        folder = os.path.dirname(transcript_file)
        with open(transcript_file, encoding="utf-8") as f:
            for number, line in enumerate(f, start=1):
                if not line.strip():
                    continue
                parts = line.rstrip("\n").split(" ", 1)
                if len(parts) != 2 or not parts[0]:
                    raise ValueError(f"{transcript_file}:{number}: expected '<utterance-id> <transcript>', "
                                     f"got {line.strip()!r}")
                uid, text = parts
                speaker = uid.split("-")[0]
                audio = os.path.join(folder, uid + ".flac")
                named.add(audio)
                entries.append(ManifestEntry(audio_path=audio, transcript=text.lower() if lowercase else text,
                                             speaker=speaker, uid=uid))
    flac_files = glob.glob(os.path.join(root, "**", "*.flac"), recursive=True)
    untranscribed = sorted(p for p in flac_files if p not in named)
    return LibriSpeechListing(entries=entries, untranscribed=untranscribed)
