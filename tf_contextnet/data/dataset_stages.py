"""The tf.data stages of ``make_dataset``, in pipeline order; each returns a new dataset or batch.

``read_records`` → ``drop_utterances`` → ``cache_shuffle_repeat`` → ``batch_utterances`` →
``model_inputs`` (``audio_features`` and ``encode_labels`` of each batch, one map).

Shapes: B batch, N samples, T frames, F features, U labels. Between the stages an utterance is
the dict ``pcm`` int16 ``[N]``, ``num_samples`` int32, ``transcript`` and ``id`` strings (with a
leading ``[B]`` after batching): audio stays int16 until the features, so a cache holds a quarter
of the float bytes.
"""

from __future__ import annotations

from typing import Any, Sequence

import tensorflow as tf

from tf_contextnet.data.batching_options import BatchingOptions
from tf_contextnet.data.pipeline_options import PipelineOptions
from tf_contextnet.data.tfrecords import parse_example
from tf_contextnet.features.sample_rate import SAMPLE_RATE
from tf_contextnet.utils.masking import mask_sequence

PADDED_SHAPES = {"pcm": [None], "num_samples": [], "transcript": [], "id": []}


def utterance_record(serialized: tf.Tensor) -> dict[str, tf.Tensor]:
    """One serialised record (``tfrecords`` format) → the utterance dict the stages carry."""
    example = parse_example(serialized)
    return {"pcm": example["pcm"], "num_samples": tf.cast(example["num_samples"], tf.int32),
            "transcript": example["transcript"], "id": example["id"]}


def read_records(files: Sequence[str], pipeline: PipelineOptions) -> tf.data.Dataset:
    """Stage 1: every record of ``files`` as an utterance dict.

    With ``pipeline.shuffle`` and more than one file, the file order is shuffled with
    ``pipeline.seed``, anew each epoch; up to four files are read interleaved, one record of each
    in turn, in a deterministic order.
    """
    dataset = tf.data.Dataset.from_tensor_slices(list(files))
    if pipeline.shuffle and len(files) > 1:
        dataset = dataset.shuffle(len(files), seed=pipeline.seed, reshuffle_each_iteration=True)
    dataset = dataset.interleave(tf.data.TFRecordDataset, cycle_length=min(4, len(files)), block_length=1,
                                 num_parallel_calls=pipeline.num_parallel_calls, deterministic=True)
    return dataset.map(utterance_record, num_parallel_calls=pipeline.num_parallel_calls, deterministic=True)


def drop_utterances(dataset: tf.data.Dataset, ids: set[str]) -> tf.data.Dataset:
    """Stage 2: the utterances whose ``id`` is not in ``ids`` (``dataset`` itself when ``ids`` is empty)."""
    if not ids:
        return dataset
    table = tf.lookup.StaticHashTable(
        tf.lookup.KeyValueTensorInitializer(tf.constant(sorted(ids)), tf.ones([len(ids)], tf.int64)),
        default_value=0)
    return dataset.filter(lambda x: tf.equal(table.lookup(x["id"]), 0))


def cache_shuffle_repeat(dataset: tf.data.Dataset, pipeline: PipelineOptions) -> tf.data.Dataset:
    """Stage 3: ``pipeline.cache`` (``True`` in memory, a path to a file), then a shuffle of
    ``pipeline.shuffle_buffer`` utterances (``seed``, anew each epoch), then ``repeat`` forever.

    The cache comes before the shuffle so that every epoch is shuffled anew, and records the file
    order of the first epoch.
    """
    if pipeline.cache is not False:
        dataset = dataset.cache("" if pipeline.cache is True else pipeline.cache)
    if pipeline.shuffle:
        dataset = dataset.shuffle(pipeline.shuffle_buffer, seed=pipeline.seed, reshuffle_each_iteration=True)
    if pipeline.repeat:
        dataset = dataset.repeat()
    return dataset


def batch_utterances(dataset: tf.data.Dataset, batching: BatchingOptions,
                     max_samples: int | None = None) -> tf.data.Dataset:
    """Stage 4: batches of utterance dicts, ``pcm`` zero-padded to ``[B, N]``.

    Without ``bucket_boundaries``: ``batch_size`` utterances a batch, padded to the longest one
    (to ``max_samples`` with ``static_shapes``). With them: ``bucket_by_sequence_length`` on
    ``num_samples``, each bucket with its ``bucket_sizes`` entry; with ``static_shapes`` padded to
    the bucket's upper boundary, the last bucket ending at ``max_samples``. Incomplete batches
    are dropped when ``batching.drops_remainder``. ``max_samples`` is required with
    ``static_shapes``.
    """
    if batching.static_shapes and max_samples is None:
        raise ValueError("batch_utterances: static_shapes needs max_samples (the padded audio length)")
    padding_values = {"pcm": tf.constant(0, tf.int16), "num_samples": tf.constant(0, tf.int32),
                      "transcript": tf.constant(""), "id": tf.constant("")}
    if not batching.bucket_boundaries:
        padded_shapes = dict(PADDED_SHAPES, pcm=[max_samples]) if batching.static_shapes else PADDED_SHAPES
        return dataset.padded_batch(batching.batch_size, padded_shapes=padded_shapes, padding_values=padding_values,
                                    drop_remainder=batching.drops_remainder)
    boundaries = [int(round(b * SAMPLE_RATE)) for b in batching.bucket_boundaries]
    sizes = list(batching.bucket_sizes)
    if batching.static_shapes:
        # Padding goes to boundary - 1 samples: a last boundary past max_samples closes the last
        # bucket (the extra bucket above it stays empty: longer audio was filtered out).
        boundaries.append(max_samples + 1)
        sizes.append(sizes[-1])
    return dataset.bucket_by_sequence_length(
        lambda x: x["num_samples"], boundaries, sizes, padded_shapes=PADDED_SHAPES, padding_values=padding_values,
        drop_remainder=batching.drops_remainder, pad_to_bucket_boundary=batching.static_shapes)


def audio_features(pcm: tf.Tensor, num_samples: tf.Tensor, extractor: Any,
                   normalization: Any = None) -> tuple[tf.Tensor, tf.Tensor]:
    """Stage 5: int16 ``pcm`` ``[B, N]`` → float32 features ``[B, T, F]`` (zero past the lengths) and
    int32 frame lengths ``[B]``.

    ``extractor``: ``(waveform in [-1, 1), num_samples) -> (features, lengths)``, e.g.
    ``LogMelSpectrogram``; ``normalization`` (optional): ``(features, lengths) -> (features, lengths)``.
    """
    waveform = tf.cast(pcm, tf.float32) / 32768.0
    features, frame_lengths = extractor((waveform, num_samples))
    if normalization is not None:
        features, frame_lengths = normalization((features, frame_lengths))
    frame_lengths = tf.cast(frame_lengths, tf.int32)
    return mask_sequence(tf.cast(features, tf.float32), frame_lengths), frame_lengths


def encode_labels(transcripts: tf.Tensor, tokenizer: Any,
                  label_length: int | None = None) -> tuple[tf.Tensor, tf.Tensor]:
    """Stage 6: transcripts ``[B]`` → int32 labels ``[B, U]`` by ``tokenizer.encode``, zero-padded
    (``U = label_length`` when given, which then shows in the static shape; else the longest), and
    int32 label lengths ``[B]``."""
    labels = tokenizer.encode(transcripts)
    shape = None if label_length is None else [None, label_length]
    return (tf.cast(labels.to_tensor(0, shape=shape), tf.int32), tf.cast(labels.row_lengths(), tf.int32))


def model_inputs(batch: dict[str, tf.Tensor], extractor: Any, normalization: Any, tokenizer: Any,
                 label_length: int | None = None) -> dict[str, tf.Tensor]:
    """Stages 5 and 6 on one batch: the dict of docs/interfaces.md (``features``,
    ``feature_lengths``, ``labels``, ``label_lengths``)."""
    features, feature_lengths = audio_features(batch["pcm"], batch["num_samples"], extractor, normalization)
    labels, label_lengths = encode_labels(batch["transcript"], tokenizer, label_length)
    return {"features": features, "feature_lengths": feature_lengths, "labels": labels,
            "label_lengths": label_lengths}
