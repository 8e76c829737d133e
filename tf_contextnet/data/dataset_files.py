"""The TFRecord files ``make_dataset`` reads, and their utterances' metadata without the audio."""

from __future__ import annotations

import glob
import os
from typing import Sequence

import tensorflow as tf

from tf_contextnet.data.prepared_index import index_shards, read_marker
from tf_contextnet.data.tfrecords import parse_metadata


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
    indexes: dict[str, dict[str, dict]] = {}
    rows: list[tuple[str, int, str]] = []
    for path in files:
        shard = read_marker(path)
        if shard is None:
            folder = os.path.dirname(os.path.abspath(path))
            if folder not in indexes:
                indexes[folder] = index_shards(folder)
            shard = indexes[folder].get(os.path.basename(path))
        if shard is not None:
            rows.extend((u[0], int(u[1]), u[2]) for u in shard["utterances"])
            continue
        for raw in tf.data.TFRecordDataset(path):
            example = parse_metadata(raw)
            rows.append((example["id"].numpy().decode(), int(example["num_samples"]),
                         example["transcript"].numpy().decode()))
    return rows
