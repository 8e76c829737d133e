"""``make_dataset``: prepared TFRecords → padded, bucketed batches of log-mel features and labels.

Shapes: B batch, T frames, U labels.

Each batch is the dict of docs/interfaces.md: ``features`` ``[B, T, 80]`` float32 (zero past
``feature_lengths``), ``feature_lengths`` ``[B]`` int32, ``labels`` ``[B, U]`` int32 (ids ``1..V-1``,
0-padded), ``label_lengths`` ``[B]`` int32.

The pieces, in the order ``make_dataset`` uses them: the options (:class:`BatchingOptions`,
:class:`FilterOptions`, :class:`PipelineOptions`), the files and their metadata
(:mod:`~tf_contextnet.data.dataset_files`), the ids to drop (:mod:`~tf_contextnet.data.dataset_filtering`)
and the tf.data stages (:mod:`~tf_contextnet.data.dataset_stages`).
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import os
from typing import Any, Sequence

import tensorflow as tf

from tf_contextnet.data.batching_options import BatchingOptions
from tf_contextnet.data.dataset_filtering import plan_filtering
from tf_contextnet.data.dataset_files import read_metadata, resolve_files
from tf_contextnet.data.dataset_stages import (batch_utterances, cache_shuffle_repeat, drop_utterances, model_inputs,
                                               read_records)
from tf_contextnet.data.filter_options import FilterOptions
from tf_contextnet.data.pipeline_options import PipelineOptions
from tf_contextnet.features.sample_rate import SAMPLE_RATE

logger = logging.getLogger(__name__)

OPTION_GROUPS = {"batching": BatchingOptions, "filtering": FilterOptions, "pipeline": PipelineOptions}


def dataset_options(batch_size: int | None = None, batching: BatchingOptions | None = None,
                    filtering: FilterOptions | None = None, pipeline: PipelineOptions | None = None,
                    **keywords: Any) -> tuple[BatchingOptions, FilterOptions, PipelineOptions]:
    """The three option objects of ``make_dataset`` from option objects and/or their fields as keywords.

    Each keyword goes to the group with a field of its name; a group given as an object takes
    none. Raises ``TypeError`` for an unknown keyword, a keyword whose group is also given as an
    object, an object of the wrong class, or neither ``batch_size`` nor ``batching``.
    """
    if batch_size is not None:
        keywords["batch_size"] = batch_size
    known = {f.name for group in OPTION_GROUPS.values() for f in dataclasses.fields(group)}
    unknown = sorted(set(keywords) - known)
    if unknown:
        raise TypeError(f"make_dataset() got unexpected keyword argument(s) {unknown}")
    given = {"batching": batching, "filtering": filtering, "pipeline": pipeline}
    if batching is None and "batch_size" not in keywords:
        raise TypeError("make_dataset() needs batch_size or batching=BatchingOptions(...)")
    built = []
    for name, group in OPTION_GROUPS.items():
        fields = {f.name: keywords[f.name] for f in dataclasses.fields(group) if f.name in keywords}
        value = given[name]
        if value is None:
            value = group(**fields)
        elif not isinstance(value, group):
            raise TypeError(f"make_dataset() {name} must be a {group.__name__}, got {type(value).__name__}")
        elif fields:
            raise TypeError(f"make_dataset() got {sorted(fields)} both as keywords and in {name}={value!r}")
        built.append(value)
    return tuple(built)


def check_static_shapes(batching: BatchingOptions, filtering: FilterOptions) -> None:
    """``ValueError`` unless ``static_shapes`` has its padded sizes: ``max_duration`` and ``max_label_length``
    set and every bucket boundary below ``max_duration``."""
    if not batching.static_shapes:
        return
    if filtering.max_duration is None or filtering.max_label_length is None:
        raise ValueError("make_dataset: static_shapes=True needs max_duration and max_label_length (the padded "
                         f"sizes), got max_duration={filtering.max_duration}, "
                         f"max_label_length={filtering.max_label_length}")
    if batching.bucket_boundaries and max(batching.bucket_boundaries) >= filtering.max_duration:
        raise ValueError(f"make_dataset: static_shapes=True needs every bucket boundary below max_duration "
                         f"({filtering.max_duration} s), got {list(batching.bucket_boundaries)}")


def _default_feature_extractor():
    from tf_contextnet.features import LogMelSpectrogram

    return LogMelSpectrogram()


def make_dataset(files: str | os.PathLike | Sequence[str], tokenizer, batch_size: int | None = None, *,
                 batching: BatchingOptions | None = None, filtering: FilterOptions | None = None,
                 pipeline: PipelineOptions | None = None, feature_extractor: Any = None, normalization: Any = None,
                 return_report: bool = False, **options: Any):
    """Batches for ``model.fit`` from TFRecords written by ``prepare``.

    ``files``: a folder (its ``*.tfrecord``), a glob pattern or a list of files. Options come as
    objects (``batching``, ``filtering``, ``pipeline``) or as their fields by keyword, e.g.
    ``make_dataset(files, tokenizer, 16, shuffle=False, max_duration=20.0)``, but not both for one
    group (``dataset_options``):

    - :class:`BatchingOptions`: ``batch_size``, ``bucket_boundaries``, ``bucket_batch_sizes``,
      ``drop_remainder``, ``static_shapes``;
    - :class:`FilterOptions`: ``max_duration``, ``max_label_length``, ``on_unknown``;
    - :class:`PipelineOptions`: ``shuffle``, ``seed``, ``shuffle_buffer``, ``cache``, ``repeat``,
      ``num_parallel_calls``.

    Pipeline: the metadata of every utterance (``read_metadata``) decides what is dropped
    (``plan_filtering``: the ``FilterOptions`` limits, empty label sequences, audio shorter than
    the extractor's ``frame_length``, unknown symbols; counted in the report, logged at INFO) →
    records read (files shuffled with ``seed``) → dropped ids removed → cache (int16 PCM) →
    shuffle → [repeat] → padded batches, by length buckets when ``bucket_boundaries`` → log-mel
    features of the batch (``feature_extractor``, default ``LogMelSpectrogram()``), optional
    ``normalization`` layer (``(features, lengths) -> (features, lengths)``), labels by
    ``tokenizer.encode`` → prefetch. The order is deterministic given ``seed``.

    ``static_shapes`` (for TPUs, which compile one program per input shape): every batch is full,
    audio is padded to its bucket's upper boundary (the last bucket ends at ``max_duration``,
    which is then required) and labels to ``max_label_length`` (required), so batches come in at
    most ``len(bucket_boundaries) + 1`` shapes; without buckets there is one shape, declared in the
    dataset's ``element_spec``.

    Returns the dataset, or ``(dataset, DatasetReport)`` when ``return_report``.
    """
    batching, filtering, pipeline = dataset_options(batch_size, batching, filtering, pipeline, **options)
    check_static_shapes(batching, filtering)
    files = resolve_files(files)
    extractor = feature_extractor if feature_extractor is not None else _default_feature_extractor()
    # An utterance shorter than one analysis window has no feature frame at all.
    min_samples = int(getattr(extractor, "frame_length", 1))
    drop, report = plan_filtering(read_metadata(files), tokenizer, filtering, min_samples)
    logger.info("make_dataset: %s", report.format())
    if report.kept == 0:
        raise ValueError(f"make_dataset: no utterance left in {len(files)} file(s): {report.format()}")

    max_samples = None if filtering.max_duration is None else int(filtering.max_duration * SAMPLE_RATE)
    label_length = filtering.max_label_length if batching.static_shapes else None
    dataset = read_records(files, pipeline)
    dataset = drop_utterances(dataset, drop)
    dataset = cache_shuffle_repeat(dataset, pipeline)
    dataset = batch_utterances(dataset, batching, max_samples)
    to_inputs = functools.partial(model_inputs, extractor=extractor, normalization=normalization, tokenizer=tokenizer,
                                  label_length=label_length)
    dataset = dataset.map(to_inputs, num_parallel_calls=pipeline.num_parallel_calls, deterministic=True)
    deterministic = tf.data.Options()
    deterministic.deterministic = True
    dataset = dataset.prefetch(tf.data.AUTOTUNE).with_options(deterministic)
    return (dataset, report) if return_report else dataset
