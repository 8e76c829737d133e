"""``prepare``: a manifest or a LibriSpeech directory → sharded TFRecords, in parallel, resumable.

Output folder:

- ``<name>-<i>-of-<n>.tfrecord``: the shards (format in :mod:`tf_contextnet.data.tfrecords`);
- ``<shard>.tfrecord.json``: the shard's done-marker, written by the worker once the shard is
  complete (shards are written under a temporary name and renamed first): its utterances
  ``[id, num_samples, transcript]``, the utterances it skipped, and the wall and CPU seconds it took. A re-run
  skips every shard with a marker, so an interrupted run resumes where it stopped;
- ``prepare.json``: the input's fingerprint and the options; a re-run with other input or
  options into the same folder is refused;
- ``index.json``: written at the end, every shard's marker in one file;
- ``skipped.tsv``: every skipped utterance with the reason (``id, path, reason, detail``).

Marker and index names and their readers live in :mod:`tf_contextnet.data.prepared_index`, shared
with the dataset reader.

Skip reasons: ``missing_audio``, ``unreadable_audio`` (non-audio or truncated), ``empty_audio``,
``non_finite_audio`` (NaN/Inf), ``too_long`` (duration over ``max_duration``), ``empty_transcript``,
``transcript_too_long`` (over ``max_transcript_length`` characters), ``unknown_characters``
(outside ``allowed_characters``), ``no_transcript`` (a LibriSpeech FLAC no transcript names).
"""

from __future__ import annotations

import collections
import dataclasses
import hashlib
import json
import multiprocessing
import os
import time
from typing import Sequence

from tf_contextnet.data.manifest import ManifestEntry, read_manifest
from tf_contextnet.data.prepare_options import PrepareOptions
from tf_contextnet.data.prepare_summary import SKIPPED_FILE, PrepareSummary
from tf_contextnet.data.prepared_index import INDEX_FILE, marker_path, read_marker
from tf_contextnet.features.sample_rate import SAMPLE_RATE
from tf_contextnet.utils.atomic_json import write_json_atomically

SETTINGS_FILE = "prepare.json"
INDEX_VERSION = 1


def audio_error_reason(error: Exception) -> str:
    """The skip reason for an ``AudioError`` raised by ``load_audio``."""
    reason = getattr(error, "reason", None)
    if reason:
        return str(reason)
    message = str(error)
    if "does not exist" in message:
        return "missing_audio"
    if "zero-length" in message:
        return "empty_audio"
    if "NaN" in message or "Inf" in message:
        return "non_finite_audio"
    return "unreadable_audio"


def _check_transcript(entry: ManifestEntry, options: PrepareOptions) -> tuple[str, str] | None:
    text = entry.transcript
    if not text.strip():
        return "empty_transcript", "transcript is empty"
    if options.max_transcript_length is not None and len(text) > options.max_transcript_length:
        return "transcript_too_long", f"{len(text)} characters > {options.max_transcript_length}"
    if options.allowed_characters is not None:
        unknown = sorted(set(text) - set(options.allowed_characters))
        if unknown:
            return "unknown_characters", f"characters {''.join(unknown)!r} not in the allowed set"
    return None


def _prepare_shard(job: tuple[str, list[ManifestEntry], PrepareOptions]) -> dict:
    """Write one shard (worker process); returns its index record."""
    import tensorflow as tf

    from tf_contextnet.data.tfrecords import encode_example, float_to_int16
    from tf_contextnet.features.audio_io import AudioError, load_audio

    path, entries, options = job
    start, cpu_start = time.perf_counter(), time.process_time()
    utterances, skipped = [], []
    temporary = path + ".tmp"
    with tf.io.TFRecordWriter(temporary) as writer:
        for entry in entries:
            problem = _check_transcript(entry, options)
            if problem is None:
                try:
                    audio = load_audio(entry.audio_path, SAMPLE_RATE)
                except AudioError as error:
                    problem = audio_error_reason(error), str(error)
            if problem is None:
                duration = audio.shape[0] / SAMPLE_RATE
                if options.max_duration is not None and duration > options.max_duration:
                    problem = "too_long", f"{duration:.2f} s > {options.max_duration} s"
            if problem is not None:
                skipped.append([entry.uid, entry.audio_path, problem[0], problem[1]])
                continue
            pcm = float_to_int16(audio)
            writer.write(encode_example(entry.uid, pcm, entry.transcript, entry.speaker or ""))
            utterances.append([entry.uid, int(pcm.shape[0]), entry.transcript])
    os.replace(temporary, path)
    record = {"utterances": utterances, "skipped": skipped, "seconds": time.perf_counter() - start,
              "cpu_seconds": time.process_time() - cpu_start}
    _write_json(marker_path(path), record)
    return {"file": os.path.basename(path), **record}


def _fingerprint(entries: Sequence[ManifestEntry], shard_size: int, name: str, options: PrepareOptions) -> str:
    digest = hashlib.sha256()
    digest.update(json.dumps([shard_size, name, dataclasses.asdict(options)]).encode())
    for e in entries:
        digest.update(json.dumps([e.uid, e.audio_path, e.transcript, e.speaker]).encode())
    return digest.hexdigest()


def _write_json(path: str, value: dict) -> None:
    write_json_atomically(path, value, indent=None, ensure_ascii=False)


def list_entries(source: str | os.PathLike, lowercase: bool = True) -> tuple[list[ManifestEntry], list[str]]:
    """Entries of a manifest file or a LibriSpeech folder, and the untranscribed audio files."""
    source = os.fspath(source)
    if os.path.isdir(source):
        from tf_contextnet.data.librispeech import read_librispeech

        listing = read_librispeech(source, lowercase=lowercase)
        return listing.entries, listing.untranscribed
    return read_manifest(source), []


def prepare(source: str | os.PathLike, output_dir: str | os.PathLike, *, name: str = "data",
            shard_size: int = 256, num_workers: int = 2, options: PrepareOptions | None = None,
            lowercase: bool = True, progress: bool = True) -> PrepareSummary:
    """Turn ``source`` (a ``.tsv``/``.jsonl`` manifest or a LibriSpeech folder) into TFRecords.

    Audio is read with ``tf_contextnet.features.load_audio`` (any libsndfile format, resampled to
    16 kHz) and stored as int16 PCM. Utterances are sorted by id and cut into shards of
    ``shard_size``; ``num_workers`` processes write shards in parallel (``1``: in this process).
    Resumable: shards with a done-marker are not redone. Raises ``ValueError`` when
    ``output_dir`` holds a preparation of other input or options.
    """
    from tqdm import tqdm

    options = options or PrepareOptions()
    if shard_size < 1 or num_workers < 1:
        raise ValueError(f"shard_size and num_workers must be positive, got {shard_size}, {num_workers}")
    output_dir = os.path.abspath(os.fspath(output_dir))
    entries, untranscribed = list_entries(source, lowercase=lowercase)
    entries = sorted(entries, key=lambda e: (e.uid, e.audio_path))
    duplicates = [uid for uid, n in collections.Counter(e.uid for e in entries).items() if n > 1]
    if duplicates:
        raise ValueError(f"{source}: utterance ids must be unique; repeated: {duplicates[:5]}")
    os.makedirs(output_dir, exist_ok=True)
    settings = {"version": INDEX_VERSION, "fingerprint": _fingerprint(entries, shard_size, name, options),
                "source": os.path.abspath(os.fspath(source)), "sample_rate": SAMPLE_RATE,
                "options": dataclasses.asdict(options), "untranscribed": untranscribed}
    settings_path = os.path.join(output_dir, SETTINGS_FILE)
    if os.path.isfile(settings_path):
        with open(settings_path, encoding="utf-8") as f:
            if json.load(f).get("fingerprint") != settings["fingerprint"]:
                raise ValueError(f"{output_dir} already holds a preparation of other input or options; "
                                 "use another output folder or delete it")
    else:
        _write_json(settings_path, settings)

    count = max(1, -(-len(entries) // shard_size))
    paths = [os.path.join(output_dir, f"{name}-{i:05d}-of-{count:05d}.tfrecord") for i in range(count)]
    jobs = [(path, entries[i * shard_size:(i + 1) * shard_size], options)
            for i, path in enumerate(paths) if read_marker(path) is None]
    reused = count - len(jobs)

    bar = tqdm(total=sum(len(j[1]) for j in jobs), unit="utt", desc=f"prepare {name}", disable=not progress)
    pool = None
    try:
        if num_workers == 1 or len(jobs) <= 1:
            results = map(_prepare_shard, jobs)
        else:
            pool = multiprocessing.get_context("spawn").Pool(min(num_workers, len(jobs)))
            results = pool.imap_unordered(_prepare_shard, jobs)
        for result in results:
            bar.update(len(result["utterances"]) + len(result["skipped"]))
    finally:
        bar.close()
        if pool is not None:
            pool.terminate()
            pool.join()
    index = {**settings, "shards": {os.path.basename(p): read_marker(p) for p in paths}}
    _write_json(os.path.join(output_dir, INDEX_FILE), index)
    return _summarise(output_dir, index, count - reused, reused)


def _summarise(output_dir: str, index: dict, written: int, reused: int) -> PrepareSummary:
    shards = sorted(index["shards"])
    skipped = [tuple(s) for name in shards for s in index["shards"][name]["skipped"]]
    skipped += [(os.path.splitext(os.path.basename(p))[0], p, "no_transcript", "no transcript line names it")
                for p in index.get("untranscribed", [])]
    with open(os.path.join(output_dir, SKIPPED_FILE), "w", encoding="utf-8") as f:
        f.write("id\tpath\treason\tdetail\n")
        for row in skipped:
            f.write("\t".join(str(v).replace("\t", " ").replace("\n", " ") for v in row) + "\n")
    utterances = [u for name in shards for u in index["shards"][name]["utterances"]]
    return PrepareSummary(output_dir=output_dir, shards=[os.path.join(output_dir, s) for s in shards],
                          shards_written=written, shards_reused=reused, utterances=len(utterances),
                          seconds=sum(u[1] for u in utterances) / index["sample_rate"], skipped=skipped)
