"""Reading a folder of FSDD-style digit recordings.

A recording is named ``{digit}_{speaker}_{take}.{wav,flac,ogg}`` (the Free Spoken Digit Dataset's
convention): ``digit`` one character 0-9, ``speaker`` any non-empty name (it may hold underscores;
the take is the last field), ``take`` a non-negative integer. Any sample rate and channel count
is accepted; every recording is read by ``tf_contextnet.features.load_audio`` as 16 kHz mono
float32 with leading and trailing
silence trimmed by a frame-energy threshold.

Problems are collected, never silently dropped: a :class:`ScanReport` lists each file that was
skipped with the reason (bad name, unreadable, silent).
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import numpy as np

from tf_contextnet.features import AudioError, load_audio

SAMPLE_RATE = 16000
DIGIT_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
AUDIO_SUFFIXES = (".wav", ".flac", ".ogg")
NAME_PATTERN = re.compile(r"^(?P<digit>[0-9])_(?P<speaker>.+)_(?P<take>[0-9]+)$")


@dataclasses.dataclass(frozen=True)
class Recording:
    """One take: where it came from, what it says, and (after loading) its 16 kHz samples."""

    path: Path
    digit: int
    speaker: str
    take: int
    audio: np.ndarray | None = None

    @property
    def word(self) -> str:
        return DIGIT_WORDS[self.digit]


@dataclasses.dataclass
class ScanReport:
    """Files skipped while reading a recordings folder, with the reason for each."""

    skipped: list[tuple[Path, str]] = dataclasses.field(default_factory=list)
    ignored_non_audio: int = 0

    def add(self, path: Path, reason: str) -> None:
        self.skipped.append((path, reason))

    def counts(self) -> dict[str, int]:
        """Number of skipped files per kind of reason (the text before the first colon)."""
        out: dict[str, int] = {}
        for _, reason in self.skipped:
            kind = reason.split(":", 1)[0]
            out[kind] = out.get(kind, 0) + 1
        return out


def parse_name(path: Path) -> tuple[int, str, int] | None:
    """``(digit, speaker, take)`` from ``{digit}_{speaker}_{take}.ext``; ``None`` when it does not match."""
    match = NAME_PATTERN.match(path.stem)
    if match is None:
        return None
    return int(match["digit"]), match["speaker"], int(match["take"])


def resolve_recordings_dir(data_dir: Path) -> Path:
    """``data_dir`` itself, or its ``recordings/`` subfolder when the audio lives there (FSDD's layout)."""
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        raise FileNotFoundError(f"recordings folder {data_dir} does not exist or is not a folder")
    has_audio = any(p.suffix.lower() in AUDIO_SUFFIXES for p in data_dir.iterdir())
    if not has_audio and (data_dir / "recordings").is_dir():
        return data_dir / "recordings"
    return data_dir


def scan(data_dir: Path, report: ScanReport) -> list[Recording]:
    """Every correctly named recording in ``data_dir`` (not loaded), sorted by (speaker, digit, take)."""
    found = []
    for path in sorted(resolve_recordings_dir(data_dir).iterdir()):
        if not path.is_file():
            continue
        if path.suffix.lower() not in AUDIO_SUFFIXES:
            report.ignored_non_audio += 1
            continue
        parsed = parse_name(path)
        if parsed is None:
            report.add(path, "bad name: expected {digit}_{speaker}_{take}" + path.suffix
                       + " with digit 0-9 and an integer take")
            continue
        digit, speaker, take = parsed
        found.append(Recording(path, digit, speaker, take))
    return sorted(found, key=lambda r: (r.speaker, r.digit, r.take))


def trim_silence(samples: np.ndarray, threshold_db: float = 35.0, frame: int = 160,
                 margin: int = 480) -> np.ndarray | None:
    """Cut leading/trailing frames quieter than ``threshold_db`` below the loudest frame.

    Frames are ``frame`` samples (10 ms at 16 kHz); energy is the frame's mean square. ``margin``
    samples (30 ms) are kept on each side of the first and last loud frame so that weak onsets
    (the /f/ of "five") survive. Returns ``None`` for audio with no energy at all.
    """
    n_frames = len(samples) // frame
    if n_frames == 0:
        return None
    energy = np.mean(samples[: n_frames * frame].reshape(n_frames, frame).astype(np.float64) ** 2, axis=1)
    peak = energy.max()
    if peak <= 1e-12:
        return None
    loud = np.flatnonzero(10.0 * np.log10(energy / peak + 1e-20) > -threshold_db)
    start = max(0, loud[0] * frame - margin)
    stop = min(len(samples), (loud[-1] + 1) * frame + margin)
    return samples[start:stop]


def load(recording: Recording, report: ScanReport, min_seconds: float = 0.05) -> Recording | None:
    """The recording with its trimmed 16 kHz audio attached; ``None`` (and a report entry) on failure."""
    try:
        samples = load_audio(recording.path, SAMPLE_RATE)  # mono, resampled to 16 kHz
    except AudioError as error:
        report.add(recording.path, f"unreadable: {error}")
        return None
    trimmed = trim_silence(samples)
    if trimmed is None:
        report.add(recording.path, "silent: no frame has any energy")
        return None
    if len(trimmed) < min_seconds * SAMPLE_RATE:
        report.add(recording.path, f"too short: {len(trimmed) / SAMPLE_RATE:.3f} s after trimming")
        return None
    return dataclasses.replace(recording, audio=trimmed)
