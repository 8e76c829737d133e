#!/usr/bin/env python3
"""Synthesise an FSDD-style folder of spoken digits with espeak-ng (the default corpus on a fresh machine).

Usage:
    python local/espeak_digits.py --out data/espeak_recordings [--takes 30] [--seed 0]

Each "speaker" is an espeak-ng voice with a voice variant, a base speed and a base pitch; each
take jitters speed, pitch and amplitude around the speaker's base. Files are written as
``{digit}_{speaker}_{take}.wav`` (22.05 kHz, espeak-ng's rate), so the ordinary corpus maker
(``local/make_corpus.py``) reads them exactly like recorded FSDD. Requires the ``espeak-ng``
program (Debian/Ubuntu: ``apt-get install espeak-ng``).
"""

from __future__ import annotations

import argparse
import concurrent.futures
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
from tqdm import tqdm

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from local.recordings import DIGIT_WORDS  # noqa: E402

INSTALL_HINT = "apt-get install -y espeak-ng   (Debian/Ubuntu; macOS: brew install espeak-ng)"

# name: (espeak voice+variant, words per minute, pitch 0-99)
SPEAKERS: dict[str, tuple[str, int, int]] = {
    "us-m1": ("en-us+m1", 150, 45),
    "us-f2": ("en-us+f2", 165, 60),
    "gb-m3": ("en-gb+m3", 140, 40),
    "gb-f3": ("en-gb+f3", 160, 65),
    "rp-m4": ("en-gb-x-rp+m4", 155, 50),
    "rp-f4": ("en-gb-x-rp+f4", 145, 70),
    "scot-m2": ("en-gb-scotland+m2", 150, 35),
    "scot-f1": ("en-gb-scotland+f1", 170, 55),
    "lanc-m5": ("en-gb-x-gbclan+m5", 135, 45),
    "wmid-f5": ("en-gb-x-gbcwmd+f5", 150, 60),
    "carib-m6": ("en-029+m6", 160, 40),
    "nyc-f1": ("en-us-nyc+f1", 155, 62),
}
DEFAULT_TEST_SPEAKERS = ("scot-m2", "wmid-f5")


class EspeakMissing(RuntimeError):
    """espeak-ng is not installed; the message gives the install command."""


def espeak_binary() -> str:
    """Path of the ``espeak-ng`` program; raises :class:`EspeakMissing` with the install command."""
    path = shutil.which("espeak-ng")
    if path is None:
        raise EspeakMissing(f"espeak-ng is not installed; install it with:\n    {INSTALL_HINT}")
    return path


def _synthesise(binary: str, voice: str, speed: int, pitch: int, amplitude: int, text: str, out: Path) -> None:
    result = subprocess.run([binary, "-v", voice, "-s", str(speed), "-p", str(pitch), "-a", str(amplitude),
                             "-w", str(out), text], capture_output=True, text=True)
    if result.returncode != 0 or not out.exists():
        raise RuntimeError(f"espeak-ng failed for voice {voice} ({text!r}): {result.stderr.strip()}")


def synthesise_digits(out_dir: Path, takes: int = 30, seed: int = 0, speakers: dict | None = None,
                      workers: int = 2) -> Path:
    """Write ``{digit}_{speaker}_{take}.wav`` for every speaker, digit and take; returns ``out_dir``.

    Existing files are kept, so an interrupted run resumes. The jitter of each take depends only
    on ``seed``, so the folder is reproducible.
    """
    binary = espeak_binary()
    speakers = SPEAKERS if speakers is None else speakers
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    jobs = []
    for name, (voice, speed, pitch) in speakers.items():
        for digit, word in enumerate(DIGIT_WORDS):
            for take in range(takes):
                take_speed = int(speed * rng.uniform(0.85, 1.15))
                take_pitch = int(np.clip(pitch + rng.integers(-8, 9), 0, 99))
                amplitude = int(rng.integers(80, 160))
                path = out_dir / f"{digit}_{name}_{take}.wav"
                if not path.exists():
                    jobs.append((voice, take_speed, take_pitch, amplitude, word, path))
    with concurrent.futures.ThreadPoolExecutor(max_workers=workers) as pool:
        futures = [pool.submit(_synthesise, binary, *job) for job in jobs]
        for future in tqdm(concurrent.futures.as_completed(futures), total=len(futures),
                           desc="espeak-ng digits", unit="file"):
            future.result()
    return out_dir


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument("--takes", type=int, default=30, help="takes of each digit per speaker")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    try:
        synthesise_digits(args.out, args.takes, args.seed)
    except EspeakMissing as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(f"wrote {len(SPEAKERS)} espeak-ng speakers x 10 digits x {args.takes} takes to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
