#!/usr/bin/env python3
"""Benchmark the audio front end on real recordings: speed and accuracy against references.

1. Resampling (FSDD 8 kHz -> 16 kHz, LJ Speech 22.05 kHz -> 16 kHz): ``resample_np`` and the
   in-graph ``resample_tf`` (tf.function, batch of 1) against ``scipy.signal.resample_poly``
   (default filter) as real-time factor (seconds of audio per second of wall time), and accuracy:
   SNR against scipy's default filter (full band, and below 0.9 of the lower Nyquist, where the two
   filter designs agree), and max |error| against scipy run with our own filter (the polyphase
   mechanics alone).
2. ``load_audio`` (soundfile + resampling) on every recording of a folder: hours per minute.
3. ``LogMelSpectrogram`` (tf.function, batches of ``--batch-size`` 10 s utterances of real
   LibriSpeech audio): audio-seconds per second; accuracy against a float64 numpy log-mel on
   LJ001-0002 (max |error| over bins above 1e-4 of the mel power floor, 99th percentile overall).

Every timing is the median of ``--repeats`` runs after one untimed warm-up.
Usage: python benchmarks/front_end.py [--data ../shared/data] [--repeats 5] [--batch-size 16]
Prints a markdown table and writes it to benchmarks/results/front_end.md (or --out).
"""

from __future__ import annotations

import argparse
import datetime
import glob
import os
import platform
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# One BLAS thread, as in data-preparation workers: see load_audio's docstring.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import scipy.signal  # noqa: E402
import soundfile  # noqa: E402
import tensorflow as tf  # noqa: E402

from bench_timing import call_times  # noqa: E402
from tf_contextnet.features import LogMelSpectrogram, load_audio  # noqa: E402
from tf_contextnet.features.resample import lowpass_filter, rational_factors, resample_np, resample_tf  # noqa: E402


def median_time(fn, repeats: int) -> float:
    return statistics.median(call_times(fn, warmup=1, repeats=repeats))


def snr_db(reference: np.ndarray, estimate: np.ndarray) -> float:
    return float(10 * np.log10(np.sum(reference ** 2) / np.sum((reference - estimate) ** 2)))


def lowpass(x: np.ndarray, cutoff_hz: float, rate: int = 16000) -> np.ndarray:
    spectrum = np.fft.rfft(x)
    spectrum[np.fft.rfftfreq(x.shape[0], 1 / rate) > cutoff_hz] = 0
    return np.fft.irfft(spectrum, x.shape[0])


def concatenated(paths: list[str]) -> tuple[np.ndarray, int]:
    clips, rates = zip(*(soundfile.read(p, dtype="float64") for p in paths))
    assert len(set(rates)) == 1, f"mixed rates {set(rates)}"
    return np.concatenate(clips), rates[0]


def resampling_rows(data: Path, repeats: int) -> list[str]:
    rows = []
    sets = {"FSDD 8 kHz": sorted(glob.glob(str(data / "fsdd" / "recordings" / "*.wav")))[:200],
            "LJ Speech 22.05 kHz": sorted(glob.glob(str(data / "ljspeech" / "wavs" / "*.wav")))[:6]}
    for name, paths in sets.items():
        audio, rate = concatenated(paths)
        seconds = audio.shape[0] / rate
        up, down = rational_factors(rate, 16000)
        ours = resample_np(audio, rate, 16000)
        scipy_default = scipy.signal.resample_poly(audio, up, down)
        scipy_ours = scipy.signal.resample_poly(audio, up, down, window=lowpass_filter(up, down) / up)
        graph_fn = tf.function(lambda x, r=rate: resample_tf(x, r, 16000),
                               input_signature=[tf.TensorSpec([1, None], tf.float32)])
        x32 = tf.constant(audio[None].astype(np.float32))
        in_graph = graph_fn(x32).numpy()[0]
        timings = {
            "resample_np (ours)": median_time(lambda: resample_np(audio, rate, 16000), repeats),
            "resample_tf (ours, tf.function)": median_time(lambda: graph_fn(x32).numpy(), repeats),
            "scipy resample_poly (default filter)": median_time(
                lambda: scipy.signal.resample_poly(audio, up, down), repeats),
        }
        band = 0.9 * min(rate, 16000) / 2
        outputs = {"resample_np (ours)": ours, "resample_tf (ours, tf.function)": in_graph,
                   "scipy resample_poly (default filter)": scipy_default}
        for method, seconds_taken in timings.items():
            out = outputs[method]
            snr = snr_db(scipy_default, out) if out is not scipy_default else float("inf")
            snr_band = snr_db(lowpass(scipy_default, band), lowpass(out, band)) if out is not scipy_default \
                else float("inf")
            rows.append(f"| {name} -> 16 kHz ({seconds:.0f} s) | {method} | {seconds / seconds_taken:,.0f}× "
                        f"| {snr:.1f} / {snr_band:.1f} | {np.max(np.abs(out - scipy_ours)):.1e} |")
    return rows


def load_rows(data: Path) -> list[str]:
    rows = []
    for name, pattern in (("LibriSpeech FLAC 16 kHz", "librispeech_audio/**/*.flac"),
                          ("LJ Speech WAV 22.05 kHz", "ljspeech/wavs/*.wav"),
                          ("FSDD WAV 8 kHz", "fsdd/recordings/*.wav")):
        paths = sorted(glob.glob(str(data / pattern), recursive=True))
        start = time.perf_counter()
        total = sum(load_audio(p).shape[0] for p in paths) / 16000
        elapsed = time.perf_counter() - start
        rows.append(f"| {name} | {len(paths)} | {total / 3600:.2f} | {total / 3600 / (elapsed / 60):.1f} |")
    return rows


def log_mel_rows(data: Path, repeats: int, batch_size: int) -> list[str]:
    paths = sorted(glob.glob(str(data / "librispeech_audio" / "**" / "*.flac"), recursive=True))
    audio = np.concatenate([load_audio(p) for p in paths[:40]])
    n = 160000
    batch = np.stack([audio[i * n:(i + 1) * n] for i in range(batch_size)]).astype(np.float32)
    lengths = np.full([batch_size], n, np.int32)
    layer = LogMelSpectrogram()
    fn = tf.function(lambda x, l: layer((x, l))[0], input_signature=[tf.TensorSpec([None, None], tf.float32),
                                                                      tf.TensorSpec([None], tf.int32)])
    seconds = median_time(lambda: fn(batch, lengths).numpy(), repeats)
    rows = [f"| LogMelSpectrogram, batch {batch_size} × 10 s, tf.function | {batch_size * 10 / seconds:,.0f}× |"]

    from tests.features.test_log_mel_spectrogram import _log_mel_np  # the test's float64 reference

    clip = load_audio(data / "ljspeech" / "wavs" / "LJ001-0002.wav")
    got = layer((clip[None], np.array([clip.shape[0]], np.int32)))[0].numpy()[0]
    reference = _log_mel_np(clip)
    loud = reference > np.log(1e-4)
    error = np.abs(got - reference)
    rows.append(f"| log-mel vs float64 numpy (LJ001-0002): max |err| where mel > 1e-4 / 99th pct overall "
                f"| {error[loud].max():.1e} / {np.percentile(error, 99):.1e} |")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "front_end.md")
    args = parser.parse_args()
    if not args.data.is_dir():
        sys.exit(f"real-speech data {args.data} is absent (pass --data)")
    lines = [
        "# Audio front end benchmark",
        "",
        f"{datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC, "
        f"{platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} CPU cores, TensorFlow {tf.__version__}; medians of {args.repeats} runs. Load average at "
        f"the start: {' / '.join(f'{x:.1f}' for x in os.getloadavg())}. numpy runs with "
        f"OPENBLAS_NUM_THREADS={os.environ['OPENBLAS_NUM_THREADS']}.",
        "",
        "## Resampling (speed as real-time factor; accuracy against scipy.signal.resample_poly)",
        "",
        "| audio | method | speed (audio s / wall s) | SNR vs scipy default, full band / below 0.9·Nyquist (dB) "
        "| max abs err vs scipy with our filter |",
        "|---|---|---|---|---|",
        *resampling_rows(args.data, args.repeats),
        "",
        "## load_audio (soundfile decode + resample to 16 kHz), one process",
        "",
        "| files | count | hours | hours per minute |",
        "|---|---|---|---|",
        *load_rows(args.data),
        "",
        "## Log-mel features (80 mel, 25 ms / 10 ms, FFT 512)",
        "",
        "| what | value |",
        "|---|---|",
        *log_mel_rows(args.data, args.repeats, args.batch_size),
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)


if __name__ == "__main__":
    main()
