"""AN4 manifests: the official train/test split, a speaker-disjoint dev set, speed-perturbed copies.

Written under ``OUT/data/``:

    train.tsv            training speakers minus the dev speakers (path, duration, transcript, speaker, id)
    train_sp.tsv         train.tsv plus its copies at each speed factor (ids ``<uid>~sp0.9`` ...)
    dev.tsv              whole training speakers held out (about ``dev_size`` utterances)
    test.tsv             the official test utterances that have a transcript (scored)
    test_unscored.tsv    test audio without a transcript (listed, never scored)
    speed/<factor>/      the perturbed audio (16 kHz PCM16 WAV)
    summary.json         counts, speakers, minutes, the options used (stage reuse checks it)
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import soundfile

from local.an4_layout import An4Split, An4Utterance, read_split
from tf_contextnet.data import ManifestEntry, write_manifest
from tf_contextnet.features import load_audio
from tf_contextnet.features.resample import resample_np

SAMPLE_RATE = 16000


@dataclasses.dataclass(frozen=True)
class ManifestOptions:
    """What the manifests depend on besides the data: dev size, its seed, the speed factors."""

    dev_size: int = 100
    seed: int = 0
    speed_factors: tuple[float, ...] = (0.9, 1.1)


def choose_dev_speakers(utterances: list[An4Utterance], dev_size: int, seed: int) -> list[str]:
    """Whole training speakers for dev, about ``dev_size`` utterances, women and men alternately.

    AN4's speaker names start with ``f`` or ``m``; speakers are drawn in a seeded order, taking
    from each group in turn, until at least ``dev_size`` utterances are held out. At least one
    training speaker is always left.
    """
    counts: dict[str, int] = {}
    for u in utterances:
        counts[u.speaker] = counts.get(u.speaker, 0) + 1
    rng = np.random.default_rng(seed)
    groups = [[s for s in sorted(counts) if s.startswith(p)] for p in ("f", "m")]
    groups.append([s for s in sorted(counts) if not s.startswith(("f", "m"))])
    queues = [list(rng.permutation(g)) if g else [] for g in groups]
    chosen, total, turn = [], 0, 0
    while total < dev_size and len(chosen) < len(counts) - 1 and any(queues):
        queue = queues[turn % len(queues)]
        turn += 1
        if queue:
            speaker = str(queue.pop(0))
            chosen.append(speaker)
            total += counts[speaker]
    return sorted(chosen)


def _entries(utterances: list[An4Utterance]) -> list[ManifestEntry]:
    return [ManifestEntry(str(u.audio), u.transcript, soundfile.info(str(u.audio)).frames / SAMPLE_RATE,
                          u.speaker, u.uid) for u in utterances]


def speed_perturb(entry: ManifestEntry, factor: float, folder: Path) -> ManifestEntry:
    """``entry`` played ``factor`` times faster (tempo and pitch, Kaldi's speed perturbation), as a WAV.

    Resampling from ``factor`` x 16 kHz to 16 kHz and reading the result at 16 kHz divides the
    duration by ``factor``. An existing file is reused (the stage is resumable).
    """
    uid = f"{entry.uid}~sp{factor:g}"
    path = folder / f"{uid}.wav"
    if not path.is_file():
        audio = resample_np(load_audio(entry.audio_path).astype(np.float64), int(round(SAMPLE_RATE * factor)),
                            SAMPLE_RATE)
        tmp = path.with_suffix(".tmp.wav")
        soundfile.write(str(tmp), np.clip(audio, -1.0, 1.0), SAMPLE_RATE, subtype="PCM_16")
        tmp.replace(path)
    frames = soundfile.info(str(path)).frames
    return dataclasses.replace(entry, audio_path=str(path), duration=frames / SAMPLE_RATE, uid=uid)


def _minutes(entries: list[ManifestEntry]) -> float:
    return round(sum(e.duration or 0.0 for e in entries) / 60, 2)


def build_manifests(root: Path, out: Path, options: ManifestOptions, progress: bool = True) -> dict:
    """Read AN4 at ``root`` and write the manifests and perturbed audio under ``out``; the summary."""
    from tqdm import tqdm

    train_split: An4Split = read_split(root, "train")
    test_split: An4Split = read_split(root, "test")
    overlap = set(train_split.speakers) & set(test_split.speakers)
    if overlap:
        raise ValueError(f"{root}: speakers in both train and test: {sorted(overlap)}")
    dev_speakers = choose_dev_speakers(train_split.utterances, options.dev_size, options.seed)
    train = _entries([u for u in train_split.utterances if u.speaker not in dev_speakers])
    dev = _entries([u for u in train_split.utterances if u.speaker in dev_speakers])
    test = _entries(test_split.utterances)
    perturbed = []
    for factor in options.speed_factors:
        folder = out / "speed" / f"{factor:g}"
        folder.mkdir(parents=True, exist_ok=True)
        perturbed += [speed_perturb(e, factor, folder)
                      for e in tqdm(train, desc=f"speed x{factor:g}", unit="utt", disable=not progress)]
    write_manifest(train, out / "train.tsv")
    write_manifest(train + perturbed, out / "train_sp.tsv")
    write_manifest(dev, out / "dev.tsv")
    write_manifest(test, out / "test.tsv")
    unscored = [ManifestEntry(str(p), "", None, p.parent.name) for p in test_split.unscored + train_split.unscored]
    write_manifest(unscored, out / "test_unscored.tsv")
    summary = {
        "data": str(Path(root).resolve()), "options": json.loads(json.dumps(dataclasses.asdict(options))),
        "train": {"utterances": len(train), "speakers": len({e.speaker for e in train}), "minutes": _minutes(train)},
        "train_sp": {"utterances": len(train) + len(perturbed), "minutes": _minutes(train + perturbed)},
        "dev": {"utterances": len(dev), "speakers": dev_speakers, "minutes": _minutes(dev)},
        "test": {"utterances": len(test), "speakers": test_split.speakers, "minutes": _minutes(test)},
        "unscored": [str(p.relative_to(Path(root).resolve() / "wav")) for p in test_split.unscored
                     + train_split.unscored],
        "blank_lines": {"train": train_split.blank_lines, "test": test_split.blank_lines},
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=1) + "\n", encoding="utf-8")
    return summary


def format_summary(summary: dict) -> str:
    """A few report lines: sizes of each split and the unscored files."""
    lines = [f"[manifests] train {summary['train']['utterances']} utterances from {summary['train']['speakers']} "
             f"speakers ({summary['train']['minutes']:.1f} min; {summary['train_sp']['utterances']} with speed "
             f"perturbation), dev {summary['dev']['utterances']} from {len(summary['dev']['speakers'])} other "
             f"training speakers ({', '.join(summary['dev']['speakers'])}), test {summary['test']['utterances']} "
             f"from {len(summary['test']['speakers'])} speakers"]
    if summary["unscored"]:
        lines.append(f"[manifests] {len(summary['unscored'])} audio file(s) have no transcript and are not scored "
                     f"(listed in data/test_unscored.tsv): {', '.join(Path(p).stem for p in summary['unscored'])}")
    return "\n".join(lines)
