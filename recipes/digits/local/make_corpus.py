#!/usr/bin/env python3
"""Build the digits corpus from a folder of FSDD-style recordings.

Usage:
    python local/make_corpus.py --data ../../../shared/data/fsdd/recordings --out data/corpus \
        --test-speakers george,yweweler [--seed 0] [--connected-per-speaker 300]

From recordings named ``{digit}_{speaker}_{take}.wav`` (any sample rate) it writes 16 kHz PCM16
WAVs and four manifests (TSV with header ``path, duration_s, transcript, speaker``; paths relative
to the manifest's folder), transcripts in words ("three one four"):

- ``train.tsv``: the training speakers' isolated digits plus connected-digit strings, also at
  the speeds of ``--speed-factors`` (default 0.9 and 1.1: speed perturbation);
- ``dev.tsv``: a few takes of each training speaker kept out of ``train`` (isolated + strings);
- ``test_isolated.tsv``: every take of the held-out speakers;
- ``test_connected.tsv``: strings spliced from the held-out speakers' takes.

A connected string is 3-7 takes of one speaker, each scaled to a random level, joined with
random gaps, padded at both ends, with light white noise over the whole (random SNR). Isolated
digits get the same padding and noise. The output depends only on the inputs and ``--seed``;
each speaker's strings come from a generator seeded by (seed, speaker, split), so adding
speakers does not change another speaker's utterances.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import sys
from pathlib import Path

import numpy as np
import soundfile as sf
from tqdm import tqdm

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from local.recordings import SAMPLE_RATE, Recording, ScanReport, load, scan  # noqa: E402
from tf_contextnet.features import resample_np  # noqa: E402

SPLITS = ("train", "dev", "test_isolated", "test_connected")
MANIFEST_HEADER = ("path", "duration_s", "transcript", "speaker")
ISOLATED_MARK = "-iso-"  # in the ids of isolated-digit utterances: "{speaker}{tag}-iso-{digit}-{take}"


@dataclasses.dataclass(frozen=True)
class CorpusConfig:
    """Everything that decides the corpus's content (stored in ``corpus.json``)."""

    test_speakers: tuple[str, ...]
    seed: int = 0
    connected_per_speaker: int = 300
    test_connected_per_speaker: int = 100
    dev_fraction: float = 0.06
    dev_connected_per_speaker: int = 20
    min_digits: int = 3
    max_digits: int = 7
    gap_seconds: tuple[float, float] = (0.03, 0.25)
    pad_seconds: tuple[float, float] = (0.05, 0.2)
    snr_db: tuple[float, float] = (25.0, 45.0)
    gain_db: tuple[float, float] = (-6.0, 3.0)
    speed_factors: tuple[float, ...] = (0.9, 1.1)


@dataclasses.dataclass(frozen=True)
class Utterance:
    uid: str
    audio: np.ndarray
    transcript: str
    speaker: str


def speaker_rng(seed: int, speaker: str, split: str) -> np.random.Generator:
    """A generator that depends only on (seed, speaker, split), stable across Python runs."""
    digest = hashlib.sha256(f"{speaker}\0{split}".encode()).digest()
    return np.random.default_rng([seed, int.from_bytes(digest[:8], "little")])


def _rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(x, dtype=np.float64)) + 1e-12))


def assemble(takes: list[Recording], rng: np.random.Generator, config: CorpusConfig) -> np.ndarray:
    """Join takes with random gaps and edge padding, each at a random level, plus white noise."""
    reference = 0.1  # target RMS of a take before its random gain
    pieces = [np.zeros(int(rng.uniform(*config.pad_seconds) * SAMPLE_RATE), np.float32)]
    speech_power = []
    for i, take in enumerate(takes):
        if i:
            pieces.append(np.zeros(int(rng.uniform(*config.gap_seconds) * SAMPLE_RATE), np.float32))
        gain = reference / _rms(take.audio) * 10 ** (rng.uniform(*config.gain_db) / 20)
        scaled = take.audio * gain
        speech_power.append(_rms(scaled) ** 2)
        pieces.append(scaled.astype(np.float32))
    pieces.append(np.zeros(int(rng.uniform(*config.pad_seconds) * SAMPLE_RATE), np.float32))
    signal = np.concatenate(pieces)
    noise_rms = np.sqrt(np.mean(speech_power)) * 10 ** (-rng.uniform(*config.snr_db) / 20)
    signal = signal + rng.normal(0.0, noise_rms, size=signal.shape).astype(np.float32)
    peak = float(np.abs(signal).max())
    if peak > 0.99:  # keep PCM16 from clipping
        signal *= 0.99 / peak
    return signal.astype(np.float32)


def isolated(speaker_takes: list[Recording], split: str, config: CorpusConfig, tag: str = "") -> list[Utterance]:
    """One utterance per take (padded, with light noise); ``tag`` marks perturbed copies in the ids."""
    out = []
    for take in speaker_takes:
        rng = speaker_rng(config.seed, f"{take.speaker}/{take.digit}/{take.take}", split + tag)
        uid = f"{take.speaker}{tag}{ISOLATED_MARK}{take.digit}-{take.take}"
        out.append(Utterance(uid, assemble([take], rng, config), take.word, take.speaker))
    return out


def connected(speaker_takes: list[Recording], count: int, split: str,
              config: CorpusConfig, tag: str = "") -> list[Utterance]:
    """``count`` strings of ``min_digits..max_digits`` takes of one speaker, drawn with replacement."""
    if not speaker_takes or count <= 0:
        return []
    speaker = speaker_takes[0].speaker
    rng = speaker_rng(config.seed, speaker, split + tag)
    out = []
    for index in range(count):
        n = int(rng.integers(config.min_digits, config.max_digits + 1))
        chosen = [speaker_takes[i] for i in rng.integers(0, len(speaker_takes), size=n)]
        out.append(Utterance(f"{speaker}{tag}-con-{split}-{index:04d}", assemble(chosen, rng, config),
                             " ".join(t.word for t in chosen), speaker))
    return out


def speed_perturb(takes: list[Recording], factor: float) -> list[Recording]:
    """Takes played ``factor`` times faster (tempo and pitch together, like Kaldi's speed perturbation).

    Resampling from ``factor·16 kHz`` to 16 kHz and reading the result at 16 kHz shortens the audio
    by ``factor`` and raises every frequency by ``factor``: a cheap stand-in for a new speaker.
    """
    in_rate = int(round(SAMPLE_RATE * factor))
    return [dataclasses.replace(t, audio=resample_np(t.audio, in_rate, SAMPLE_RATE).astype(np.float32))
            for t in takes]


def split_dev(takes: list[Recording], config: CorpusConfig) -> tuple[list[Recording], list[Recording]]:
    """(train, dev) takes of one training speaker: a seeded ``dev_fraction`` of the takes go to dev."""
    if len(takes) < 2:
        return takes, []
    rng = speaker_rng(config.seed, takes[0].speaker, "dev-split")
    n_dev = max(1, int(round(config.dev_fraction * len(takes))))
    dev_index = set(rng.choice(len(takes), size=n_dev, replace=False).tolist())
    train = [t for i, t in enumerate(takes) if i not in dev_index]
    dev = [t for i, t in enumerate(takes) if i in dev_index]
    return train, dev


def write_split(out_dir: Path, split: str, utterances: list[Utterance]) -> float:
    """Write ``wav/<split>/<uid>.wav`` and ``<split>.tsv``; returns the split's hours of audio."""
    wav_dir = out_dir / "wav" / split
    wav_dir.mkdir(parents=True, exist_ok=True)
    rows = ["\t".join(MANIFEST_HEADER)]
    seconds = 0.0
    for utt in tqdm(utterances, desc=f"write {split}", unit="utt", leave=False):
        path = wav_dir / f"{utt.uid}.wav"
        sf.write(str(path), utt.audio, SAMPLE_RATE, subtype="PCM_16")
        duration = len(utt.audio) / SAMPLE_RATE
        seconds += duration
        rows.append(f"{path.relative_to(out_dir).as_posix()}\t{duration:.4f}\t{utt.transcript}\t{utt.speaker}")
    (out_dir / f"{split}.tsv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    return seconds / 3600


def check_speakers(speakers: set[str], test_speakers: tuple[str, ...], data_dir: Path) -> None:
    """Raise ``ValueError`` when a test speaker is not in ``speakers`` or no training speaker is left."""
    unknown = [s for s in test_speakers if s not in speakers]
    if unknown:
        raise ValueError(f"test speaker(s) {', '.join(unknown)} not found in {data_dir}; "
                         f"speakers there: {', '.join(sorted(speakers))}")
    if not set(speakers) - set(test_speakers):
        raise ValueError(f"every speaker ({', '.join(sorted(speakers))}) is a test speaker: none left to train on")


def build_corpus(data_dir: Path, out_dir: Path, config: CorpusConfig, strict: bool = False) -> dict:
    """Read ``data_dir``, write the corpus to ``out_dir``; returns the summary (also in ``corpus.json``).

    Raises ``ValueError`` with a clear message when a test speaker is unknown, when no speaker is
    left for training, when nothing could be read, or (``strict``) when any file was skipped.
    """
    report = ScanReport()
    candidates = scan(Path(data_dir), report)
    check_speakers({c.speaker for c in candidates}, config.test_speakers, data_dir)
    loaded = [r for r in (load(c, report) for c in tqdm(candidates, desc="read recordings", unit="file"))
              if r is not None]
    if strict and report.skipped:
        raise ValueError(f"{len(report.skipped)} file(s) skipped in {data_dir} (strict mode): "
                         + "; ".join(f"{p.name}: {why}" for p, why in report.skipped[:10]))
    by_speaker: dict[str, list[Recording]] = {}
    for rec in loaded:
        by_speaker.setdefault(rec.speaker, []).append(rec)
    if not by_speaker:
        raise ValueError(f"no usable recordings named {{digit}}_{{speaker}}_{{take}}.wav in {data_dir} "
                         f"({len(report.skipped)} skipped)")
    check_speakers(set(by_speaker), config.test_speakers, data_dir)  # again: whole speakers may be unreadable
    train_speakers = sorted(s for s in by_speaker if s not in config.test_speakers)

    splits: dict[str, list[Utterance]] = {name: [] for name in SPLITS}
    for speaker in train_speakers:
        train_takes, dev_takes = split_dev(by_speaker[speaker], config)
        for factor in (1.0, *config.speed_factors):
            takes, tag = (train_takes, "") if factor == 1.0 else (speed_perturb(train_takes, factor), f"~sp{factor:g}")
            splits["train"] += isolated(takes, "train", config, tag)
            splits["train"] += connected(takes, config.connected_per_speaker, "train", config, tag)
        splits["dev"] += isolated(dev_takes, "dev", config)
        splits["dev"] += connected(dev_takes, config.dev_connected_per_speaker, "dev", config)
    for speaker in config.test_speakers:
        splits["test_isolated"] += isolated(by_speaker[speaker], "test", config)
        splits["test_connected"] += connected(by_speaker[speaker], config.test_connected_per_speaker,
                                              "test", config)

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    hours = {name: write_split(out_dir, name, utts) for name, utts in splits.items()}
    summary = {
        "data": str(Path(data_dir).resolve()),
        "config": dataclasses.asdict(config),
        "train_speakers": train_speakers,
        "test_speakers": list(config.test_speakers),
        "recordings_used": len(loaded),
        "skipped": len(report.skipped),
        "skipped_by_reason": report.counts(),
        "ignored_non_audio": report.ignored_non_audio,
        "utterances": {name: len(utts) for name, utts in splits.items()},
        "hours": {name: round(h, 4) for name, h in hours.items()},
    }
    if report.skipped:
        (out_dir / "skipped.tsv").write_text(
            "path\treason\n" + "".join(f"{p}\t{why}\n" for p, why in report.skipped), encoding="utf-8")
    (out_dir / "corpus.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    return summary


def format_summary(summary: dict, out_dir: Path) -> str:
    """A few human-readable lines: what was read, skipped, and written."""
    lines = [f"digits corpus in {out_dir}: {summary['recordings_used']} recordings from "
             f"{len(summary['train_speakers']) + len(summary['test_speakers'])} speakers "
             f"(train: {', '.join(summary['train_speakers'])}; test: {', '.join(summary['test_speakers'])})"]
    for name in SPLITS:
        lines.append(f"  {name:15s} {summary['utterances'][name]:6d} utterances  "
                     f"{summary['hours'][name] * 60:7.1f} min")
    if summary["skipped"]:
        reasons = ", ".join(f"{k}: {v}" for k, v in sorted(summary["skipped_by_reason"].items()))
        lines.append(f"  SKIPPED {summary['skipped']} file(s) ({reasons}); list in {out_dir / 'skipped.tsv'}")
    if summary["ignored_non_audio"]:
        lines.append(f"  ignored {summary['ignored_non_audio']} non-audio file(s)")
    return "\n".join(lines)


def config_from_args(args: argparse.Namespace) -> CorpusConfig:
    connected_per_speaker = 300 if args.connected_per_speaker is None else args.connected_per_speaker
    return CorpusConfig(test_speakers=tuple(s for s in args.test_speakers.split(",") if s),
                        seed=args.seed, connected_per_speaker=connected_per_speaker,
                        test_connected_per_speaker=args.test_connected_per_speaker,
                        speed_factors=tuple(float(f) for f in args.speed_factors.split(",") if f))


def add_corpus_arguments(parser: argparse.ArgumentParser) -> None:
    """The corpus options shared by this script and ``train.py``."""
    parser.add_argument("--test-speakers", default=None,
                        help="comma-separated speakers held out for test (default depends on the corpus)")
    parser.add_argument("--seed", type=int, default=0, help="seed for splits, splicing and noise")
    parser.add_argument("--connected-per-speaker", type=int, default=None,
                        help="connected-digit training strings per training speaker (default 300; "
                             "train.py uses 100 for its 12-speaker espeak-ng corpus)")
    parser.add_argument("--test-connected-per-speaker", type=int, default=100,
                        help="connected-digit test strings per held-out speaker")
    parser.add_argument("--speed-factors", default="0.9,1.1",
                        help="extra training copies at these speeds, comma-separated ('' for none)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", required=True, type=Path, help="folder of {digit}_{speaker}_{take}.wav files")
    parser.add_argument("--out", required=True, type=Path, help="output folder")
    parser.add_argument("--strict", action="store_true", help="fail when any file has to be skipped")
    add_corpus_arguments(parser)
    args = parser.parse_args(argv)
    if not args.test_speakers:
        parser.error("--test-speakers is required (comma-separated speaker names)")
    try:
        summary = build_corpus(args.data, args.out, config_from_args(args), strict=args.strict)
    except (ValueError, FileNotFoundError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(format_summary(summary, args.out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
