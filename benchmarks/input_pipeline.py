#!/usr/bin/env python3
"""Benchmark the input pipeline on real recordings: ``prepare`` throughput and ``make_dataset`` batches/s.

1. ``prepare``: a manifest of every recording in ../shared/data/librispeech_audio (16 kHz FLAC)
   and ../shared/data/ljspeech (22.05 kHz WAV, resampled), with made-up transcripts, listed
   ``--copies`` times (distinct ids) to make the work longer, written to TFRecords with 1 and 2
   worker processes; reported as hours of audio prepared per minute of wall time (median of
   ``--repeats`` runs into fresh folders). Worker processes are spawned and import TensorFlow,
   a fixed start-up cost measured apart (a pool that only imports the worker's modules). "shard
   time" sums the wall time spent inside each shard (from index.json): when it grows with two
   workers instead of staying put, the workers are waiting on a shared resource (disk, CPU).
   "per CPU-minute" divides the audio by the CPU time the workers used (load-independent); two
   idle cores would give about twice that.
2. ``make_dataset``: batches of ``--batch-size`` from those TFRecords (LibriSpeech part), log-mel
   features + labels, with length bucketing, shuffling, prefetch; one untimed warm-up epoch
   (traces the graph), then the median batches/s and audio-seconds/s over ``--repeats`` epochs,
   with and without ``cache=True``, for a character and a 1k WordPiece tokenizer.

Usage: python benchmarks/input_pipeline.py [--data ../shared/data] [--repeats 3] [--batch-size 16]
Prints a markdown table and writes it to benchmarks/results/input_pipeline.md (or --out).
"""

from __future__ import annotations

import argparse
import datetime
import glob
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NOTE = ("How to read: \"per CPU-minute\" and \"audio seconds per CPU-second\" divide the audio by the CPU "
        "time actually used, so they do not depend on what else runs; the wall-clock columns do. When the "
        "machine is busier than its cores, an extra prepare worker competes with the other jobs rather than "
        "using an idle core, and its spawn + TensorFlow import start-up dominates a short run: two workers pay "
        "off on idle cores and long runs (all of LibriSpeech).")
NUMBER_WORDS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]


def build_manifest(data: Path, folder: Path, copies: int) -> Path:
    """A manifest of the LibriSpeech FLAC (made-up transcripts) and LJ Speech recordings, ``copies`` times."""
    from tf_contextnet.data import ManifestEntry, read_manifest, write_manifest

    entries = []
    for path in sorted(glob.glob(str(data / "librispeech_audio" / "**" / "*.flac"), recursive=True)):
        uid = os.path.splitext(os.path.basename(path))[0]
        words = " ".join(NUMBER_WORDS[int(d)] for d in uid.replace("-", ""))
        entries.append(ManifestEntry(path, f"utterance {words}", uid=uid))
    lj = data / "ljspeech" / "manifest.tsv"
    if lj.is_file():
        entries += read_manifest(lj)
    entries = [ManifestEntry(e.audio_path, e.transcript, e.duration, e.speaker, uid=f"{e.uid}-copy{c}")
               for c in range(copies) for e in entries]
    manifest = folder / "bench.tsv"
    write_manifest(entries, manifest)
    return manifest


def _import_worker_modules(_: int) -> int:
    import tf_contextnet.data.prepare  # noqa: F401
    import tf_contextnet.features.audio_io  # noqa: F401

    return os.getpid()


def time_worker_startup(workers: int, repeats: int) -> float:
    """Median seconds to spawn ``workers`` processes that import what a prepare worker imports."""
    import multiprocessing

    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        with multiprocessing.get_context("spawn").Pool(workers) as pool:
            pool.map(_import_worker_modules, range(workers))
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def time_prepare(manifest: Path, folder: Path, workers: int, repeats: int) -> tuple[float, float, float, float, int]:
    """Medians of wall, summed shard and CPU seconds; hours of audio, utterances of ``prepare`` (shards of 32)."""
    from tf_contextnet.data import prepare
    from tf_contextnet.data.prepared_index import load_index

    times, shard_times, cpu_times, summary = [], [], [], None
    for r in range(repeats):
        out = folder / f"prep-{workers}-{r}"
        start = time.perf_counter()
        summary = prepare(manifest, out, shard_size=32, num_workers=workers, progress=False)
        times.append(time.perf_counter() - start)
        shards = load_index(out)["shards"].values()
        shard_times.append(sum(shard["seconds"] for shard in shards))
        cpu_times.append(sum(shard["cpu_seconds"] for shard in shards))
        shutil.rmtree(out)
    return (statistics.median(times), statistics.median(shard_times), statistics.median(cpu_times),
            summary.seconds / 3600, summary.utterances)


def time_dataset(files: list[str], tokenizer, batch_size: int, cache: bool, repeats: int) -> dict:
    from tf_contextnet.data import make_dataset

    dataset, report = make_dataset(files, tokenizer, batch_size, seed=0, bucket_boundaries=[6.0, 10.0, 15.0],
                                   cache=cache, return_report=True)
    batches = sum(1 for _ in dataset)
    rates, audio_rates, cpu_rates = [], [], []
    for _ in range(repeats):
        start, cpu_start = time.perf_counter(), time.process_time()
        count = sum(1 for _ in dataset)
        elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu_start
        rates.append(count / elapsed)
        audio_rates.append(report.kept_seconds / elapsed)
        cpu_rates.append(report.kept_seconds / cpu)
    return {"batches": batches, "batches_per_s": statistics.median(rates),
            "audio_x": statistics.median(audio_rates), "audio_per_cpu": statistics.median(cpu_rates),
            "spread": (min(rates), max(rates))}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", default=str(ROOT.parent / "shared" / "data"))
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--copies", type=int, default=3, help="times each recording is listed for prepare")
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "input_pipeline.md"))
    args = parser.parse_args(argv)
    data = Path(args.data)
    if not (data / "librispeech_audio").is_dir():
        print(f"{data}/librispeech_audio is absent: nothing to benchmark", file=sys.stderr)
        return 1
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf

    from tf_contextnet.text import CharacterTokenizer, WordPieceTokenizer

    lines = [f"# Input pipeline benchmark ({datetime.date.today()})", "",
             f"Machine: {os.cpu_count()} CPU cores ({platform.processor() or platform.machine()}), "
             f"TensorFlow {tf.__version__}, Python {platform.python_version()}. Wall-clock columns depend "
             "on what else runs (see the load average). Medians of "
             f"{args.repeats} runs (min-max in brackets). Load average at the start: "
             f"{' / '.join(f'{x:.1f}' for x in os.getloadavg())} (1/5/15 min).", ""]
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        manifest = build_manifest(data, folder, args.copies)
        lines += ["## prepare (FLAC/WAV → 16 kHz int16 TFRecords)", "",
                  "| workers | utterances | audio (h) | wall time (s) | worker start-up (s) | shard time (s) "
                  "| CPU time (s) | hours of audio per minute | per CPU-minute |",
                  "|---|---|---|---|---|---|---|---|---|"]
        for workers in (1, 2):
            startup = 0.0 if workers == 1 else time_worker_startup(workers, args.repeats)
            seconds, shard_seconds, cpu, hours, utterances = time_prepare(manifest, folder, workers, args.repeats)
            lines.append(f"| {workers} | {utterances} | {hours:.3f} | {seconds:.1f} | {startup:.1f} "
                         f"| {shard_seconds:.1f} | {cpu:.1f} | {hours / (seconds / 60):.1f} | {hours / (cpu / 60):.1f} |")
        from tf_contextnet.data import prepare

        prepare(build_manifest(data, folder, 1), folder / "one-copy", shard_size=32, num_workers=1, progress=False)
        files = sorted(glob.glob(str(folder / "one-copy" / "*.tfrecord")))
        from tf_contextnet.data.dataset import read_metadata

        texts = [row[2] for row in read_metadata(files)]
        tokenizers = {"characters": CharacterTokenizer.train(texts),
                      "wordpiece 1k": WordPieceTokenizer.train(texts, vocabulary_size=1000)}
        lines += ["", f"## make_dataset (batch {args.batch_size}, buckets 6/10/15 s, log-mel 80, shuffle, prefetch)",
                  "", "| tokenizer | cache | batches/epoch | batches/s | audio seconds per second "
                  "| audio seconds per CPU-second |", "|---|---|---|---|---|---|"]
        for name, tokenizer in tokenizers.items():
            for cache in (False, True):
                r = time_dataset(files, tokenizer, args.batch_size, cache, args.repeats)
                lines.append(f"| {name} | {cache} | {r['batches']} | {r['batches_per_s']:.1f} "
                             f"({r['spread'][0]:.1f}-{r['spread'][1]:.1f}) | {r['audio_x']:.0f} | {r['audio_per_cpu']:.0f} |")
    lines += ["", f"Load average at the end: {' / '.join(f'{x:.1f}' for x in os.getloadavg())}.", "", NOTE]
    text = "\n".join(lines) + "\n"
    print(text)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
