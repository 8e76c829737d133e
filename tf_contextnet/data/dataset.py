"""``make_dataset``: prepared TFRecords → padded, bucketed batches of log-mel features and labels.

Shapes: B batch, N samples, T frames, U labels.

Each batch is the dict of docs/interfaces.md: ``features`` ``[B, T, 80]`` float32 (zero past
``feature_lengths``), ``feature_lengths`` ``[B]`` int32, ``labels`` ``[B, U]`` int32 (ids ``1..V-1``,
0-padded), ``label_lengths`` ``[B]`` int32.
"""

from __future__ import annotations

import collections
import dataclasses
import glob
import json
import logging
import os
from typing import Any, Sequence

import tensorflow as tf

from tf_contextnet.data.tfrecords import METADATA_SPEC, parse_example
from tf_contextnet.features.sample_rate import SAMPLE_RATE
from tf_contextnet.utils.masking import mask_sequence

logger = logging.getLogger(__name__)

UNKNOWN_POLICIES = ("error", "skip")


@dataclasses.dataclass
class DatasetReport:
    """What ``make_dataset`` keeps and drops: counts per reason and the first ids of each."""

    total: int
    kept: int
    kept_seconds: float
    dropped: dict[str, int]
    examples: dict[str, list[str]]

    def format(self) -> str:
        parts = [f"{reason}: {count} (e.g. {', '.join(self.examples[reason][:3])})"
                 for reason, count in self.dropped.items()]
        return (f"{self.kept} of {self.total} utterances kept ({self.kept_seconds / 3600:.3f} h)"
                + ("; dropped " + "; ".join(parts) if parts else ""))


def resolve_files(files: str | os.PathLike | Sequence[str]) -> list[str]:
    """A folder (its ``*.tfrecord``), a glob pattern or a list of files → sorted file list."""
    if isinstance(files, (str, os.PathLike)):
        files = os.fspath(files)
        pattern = os.path.join(files, "*.tfrecord") if os.path.isdir(files) else files
        found = sorted(glob.glob(pattern))
        if not found:
            raise FileNotFoundError(f"no TFRecord files match {pattern!r}")
        return found
    found = [os.fspath(f) for f in files]
    if not found:
        raise ValueError("make_dataset needs at least one TFRecord file")
    missing = [f for f in found if not os.path.isfile(f)]
    if missing:
        raise FileNotFoundError(f"TFRecord file(s) do not exist: {missing[:5]}")
    return found


def read_metadata(files: Sequence[str]) -> list[tuple[str, int, str]]:
    """``(id, num_samples, transcript)`` of every record: from each shard's done-marker (or the folder's
    ``index.json``) when ``prepare`` wrote one, else by reading the file."""
    from tf_contextnet.data.prepare import INDEX_FILE, read_marker

    indexes: dict[str, dict] = {}
    rows: list[tuple[str, int, str]] = []
    for path in files:
        shard = read_marker(path)
        if shard is None:
            folder = os.path.dirname(os.path.abspath(path))
            if folder not in indexes:
                index_path = os.path.join(folder, INDEX_FILE)
                indexes[folder] = {}
                if os.path.isfile(index_path):
                    with open(index_path, encoding="utf-8") as f:
                        indexes[folder] = json.load(f).get("shards", {})
            shard = indexes[folder].get(os.path.basename(path))
        if shard is not None:
            rows.extend((u[0], int(u[1]), u[2]) for u in shard["utterances"])
            continue
        for raw in tf.data.TFRecordDataset(path):
            example = tf.io.parse_single_example(raw, METADATA_SPEC)
            rows.append((example["id"].numpy().decode(), int(example["num_samples"]),
                         example["transcript"].numpy().decode()))
    return rows


def plan_filtering(rows: Sequence[tuple[str, int, str]], tokenizer, max_duration: float | None,
                   max_label_length: int | None, on_unknown: str,
                   min_samples: int = 1) -> tuple[set[str], DatasetReport]:
    """The ids to drop and the report; raises ``ValueError`` for unknown symbols when ``on_unknown='error'``.

    Reasons, checked in this order: ``unknown_symbols``, ``no_labels`` (empty label sequence),
    ``too_short`` (fewer than ``min_samples`` samples: no feature frame), ``too_long``,
    ``too_many_labels``.
    """
    if on_unknown not in UNKNOWN_POLICIES:
        raise ValueError(f"on_unknown must be one of {UNKNOWN_POLICIES}, got {on_unknown!r}")
    lengths, unknown = tokenizer.label_statistics([r[2] for r in rows])
    dropped: dict[str, list[str]] = collections.defaultdict(list)
    kept_samples = 0
    for (uid, samples, text), label_length, is_unknown in zip(rows, lengths, unknown):
        if is_unknown:
            if on_unknown == "error":
                raise ValueError(f"utterance {uid!r}: transcript {text!r} has {tokenizer.unknown_symbols(text)} "
                                 f"outside the {tokenizer.kind} tokenizer's vocabulary (on_unknown='skip' drops "
                                 "such utterances and counts them)")
            dropped["unknown_symbols"].append(uid)
        elif label_length == 0:
            dropped["no_labels"].append(uid)
        elif samples < min_samples:
            dropped["too_short"].append(uid)
        elif max_duration is not None and samples > max_duration * SAMPLE_RATE:
            dropped["too_long"].append(uid)
        elif max_label_length is not None and label_length > max_label_length:
            dropped["too_many_labels"].append(uid)
        else:
            kept_samples += samples
    drop = {uid for ids in dropped.values() for uid in ids}
    report = DatasetReport(total=len(rows), kept=len(rows) - len(drop), kept_seconds=kept_samples / SAMPLE_RATE,
                           dropped={k: len(v) for k, v in sorted(dropped.items())},
                           examples={k: v[:10] for k, v in sorted(dropped.items())})
    return drop, report


def _default_feature_extractor():
    from tf_contextnet.features import LogMelSpectrogram

    return LogMelSpectrogram()


def make_dataset(files: str | os.PathLike | Sequence[str], tokenizer, batch_size: int, *,
                 shuffle: bool = True, seed: int = 0, shuffle_buffer: int = 2048,
                 bucket_boundaries: Sequence[float] | None = None, bucket_batch_sizes: Sequence[int] | None = None,
                 max_duration: float | None = None, max_label_length: int | None = None,
                 on_unknown: str = "error", feature_extractor: Any = None, normalization: Any = None,
                 cache: bool | str = False, repeat: bool = False, drop_remainder: bool = False,
                 num_parallel_calls: int = tf.data.AUTOTUNE, return_report: bool = False,
                 static_shapes: bool = False):
    """Batches for ``model.fit`` from TFRecords written by ``prepare``.

    Pipeline: files (shuffled with ``seed``) → interleaved records → drop filtered ids → cache
    (int16 PCM; ``True`` in memory, a string for a cache file) → shuffle (``shuffle_buffer``,
    ``seed``) → [repeat] → batch with padding, by length buckets when ``bucket_boundaries``
    (seconds; ``tf.data.Dataset.bucket_by_sequence_length``) → log-mel features of the batch
    (``feature_extractor``, default ``LogMelSpectrogram()``), optional ``normalization`` layer
    (``(features, lengths) -> (features, lengths)``), labels by ``tokenizer.encode`` → prefetch.
    The order is deterministic given ``seed``.

    ``static_shapes`` (for TPUs, which compile one program per input shape): every batch is full
    (``drop_remainder``), audio is padded to its bucket's upper boundary (the last bucket ends at
    ``max_duration``, which is then required) and labels to ``max_label_length`` (required), so
    batches come in at most ``len(bucket_boundaries) + 1`` shapes; without buckets there is one
    shape, declared in the dataset's ``element_spec``.

    Filtering (counted in the report, logged at INFO): ``max_duration`` seconds,
    ``max_label_length`` labels, empty label sequences, audio shorter than the extractor's
    ``frame_length`` (no frame), and transcripts with symbols outside the
    tokenizer's vocabulary (``on_unknown``: ``"error"`` raises ``ValueError`` naming the utterance
    and the symbols, ``"skip"`` drops and counts).

    Returns the dataset, or ``(dataset, DatasetReport)`` when ``return_report``.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be positive, got {batch_size}")
    if static_shapes and (max_duration is None or max_label_length is None):
        raise ValueError("make_dataset: static_shapes=True needs max_duration and max_label_length (the padded "
                         f"sizes), got max_duration={max_duration}, max_label_length={max_label_length}")
    if static_shapes and bucket_boundaries and max(bucket_boundaries) >= max_duration:
        raise ValueError(f"make_dataset: static_shapes=True needs every bucket boundary below max_duration "
                         f"({max_duration} s), got {list(bucket_boundaries)}")
    drop_remainder = drop_remainder or static_shapes
    files = resolve_files(files)
    extractor = feature_extractor if feature_extractor is not None else _default_feature_extractor()
    # An utterance shorter than one analysis window has no feature frame at all.
    min_samples = int(getattr(extractor, "frame_length", 1))
    drop, report = plan_filtering(read_metadata(files), tokenizer, max_duration, max_label_length, on_unknown,
                                  min_samples)
    logger.info("make_dataset: %s", report.format())
    if report.kept == 0:
        raise ValueError(f"make_dataset: no utterance left in {len(files)} file(s): {report.format()}")

    options = tf.data.Options()
    options.deterministic = True
    dataset = tf.data.Dataset.from_tensor_slices(files)
    if shuffle and len(files) > 1:
        dataset = dataset.shuffle(len(files), seed=seed, reshuffle_each_iteration=True)
    dataset = dataset.interleave(tf.data.TFRecordDataset, cycle_length=min(4, len(files)), block_length=1,
                                 num_parallel_calls=num_parallel_calls, deterministic=True)
    dataset = dataset.map(_parse, num_parallel_calls=num_parallel_calls, deterministic=True)
    if drop:
        table = tf.lookup.StaticHashTable(
            tf.lookup.KeyValueTensorInitializer(tf.constant(sorted(drop)), tf.ones([len(drop)], tf.int64)),
            default_value=0)
        dataset = dataset.filter(lambda x: tf.equal(table.lookup(x["id"]), 0))
    if cache is not False:
        dataset = dataset.cache("" if cache is True else os.fspath(cache))
    if shuffle:
        dataset = dataset.shuffle(shuffle_buffer, seed=seed, reshuffle_each_iteration=True)
    if repeat:
        dataset = dataset.repeat()
    padded_shapes = {"pcm": [None], "num_samples": [], "transcript": [], "id": []}
    padding_values = {"pcm": tf.constant(0, tf.int16), "num_samples": tf.constant(0, tf.int32),
                      "transcript": tf.constant(""), "id": tf.constant("")}
    max_samples = None if max_duration is None else int(max_duration * SAMPLE_RATE)
    if bucket_boundaries:
        boundaries = [int(round(b * SAMPLE_RATE)) for b in bucket_boundaries]
        sizes = list(bucket_batch_sizes) if bucket_batch_sizes else [batch_size] * (len(boundaries) + 1)
        if len(sizes) != len(boundaries) + 1:
            raise ValueError(f"bucket_batch_sizes needs {len(boundaries) + 1} entries, got {len(sizes)}")
        if static_shapes:
            # Padding goes to boundary - 1 samples: a last boundary past max_duration closes the last
            # bucket (the extra bucket above it stays empty: longer audio was filtered out).
            boundaries.append(max_samples + 1)
            sizes.append(sizes[-1])
        dataset = dataset.bucket_by_sequence_length(
            lambda x: x["num_samples"], boundaries, sizes, padded_shapes=padded_shapes,
            padding_values=padding_values, drop_remainder=drop_remainder, pad_to_bucket_boundary=static_shapes)
    else:
        if static_shapes:
            padded_shapes = dict(padded_shapes, pcm=[max_samples])
        dataset = dataset.padded_batch(batch_size, padded_shapes=padded_shapes, padding_values=padding_values,
                                       drop_remainder=drop_remainder)

    def to_model_inputs(batch: dict[str, tf.Tensor]) -> dict[str, tf.Tensor]:
        waveform = tf.cast(batch["pcm"], tf.float32) / 32768.0
        features, frame_lengths = extractor((waveform, batch["num_samples"]))
        if normalization is not None:
            features, frame_lengths = normalization((features, frame_lengths))
        frame_lengths = tf.cast(frame_lengths, tf.int32)
        features = mask_sequence(tf.cast(features, tf.float32), frame_lengths)
        labels = tokenizer.encode(batch["transcript"])
        label_shape = [None, max_label_length] if static_shapes else None
        return {"features": features, "feature_lengths": frame_lengths,
                "labels": tf.cast(labels.to_tensor(0, shape=label_shape), tf.int32),
                "label_lengths": tf.cast(labels.row_lengths(), tf.int32)}

    dataset = dataset.map(to_model_inputs, num_parallel_calls=num_parallel_calls, deterministic=True)
    dataset = dataset.prefetch(tf.data.AUTOTUNE).with_options(options)
    return (dataset, report) if return_report else dataset


def _parse(serialized: tf.Tensor) -> dict[str, tf.Tensor]:
    example = parse_example(serialized)
    return {"pcm": example["pcm"], "num_samples": tf.cast(example["num_samples"], tf.int32),
            "transcript": example["transcript"], "id": example["id"]}
