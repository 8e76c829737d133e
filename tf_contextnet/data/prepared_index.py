"""The bookkeeping files ``prepare`` leaves next to its shards, and how readers find them.

Shared by the writer (:mod:`tf_contextnet.data.prepare`) and the readers
(:mod:`tf_contextnet.data.dataset_files`), so that neither reaches into the other:

- ``<shard>.tfrecord`` + ``MARKER_SUFFIX``: a shard's done-marker, a JSON object with
  ``utterances`` (``[id, num_samples, transcript]`` per record, in file order), ``skipped``
  (``[id, path, reason, detail]``), ``seconds`` and ``cpu_seconds``;
- ``INDEX_FILE`` in the folder: the preparation's settings plus ``shards``, every shard's marker
  keyed by file name.
"""

from __future__ import annotations

import json
import os

INDEX_FILE = "index.json"
MARKER_SUFFIX = ".json"


def marker_path(shard: str | os.PathLike) -> str:
    """The done-marker's path of a shard file."""
    return os.fspath(shard) + MARKER_SUFFIX


def read_marker(shard: str | os.PathLike) -> dict | None:
    """The done-marker of a shard file (``None`` when the shard is not finished)."""
    shard = os.fspath(shard)
    if not (os.path.isfile(shard) and os.path.isfile(marker_path(shard))):
        return None
    with open(marker_path(shard), encoding="utf-8") as f:
        return json.load(f)


def load_index(output_dir: str | os.PathLike) -> dict:
    """The ``index.json`` of a prepared folder: its settings and every shard's marker."""
    path = os.path.join(os.fspath(output_dir), INDEX_FILE)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"{path} does not exist: {output_dir} was not prepared by tf_contextnet")
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def index_shards(folder: str | os.PathLike) -> dict[str, dict]:
    """Every shard's marker from ``folder``'s ``index.json``, keyed by file name (``{}`` without one)."""
    path = os.path.join(os.fspath(folder), INDEX_FILE)
    if not os.path.isfile(path):
        return {}
    with open(path, encoding="utf-8") as f:
        return json.load(f).get("shards", {})
