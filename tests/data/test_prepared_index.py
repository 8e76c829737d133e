"""prepared_index: markers and index of a prepared folder, and the answers when they are absent."""

from __future__ import annotations

import json

import pytest

from tf_contextnet.data.prepared_index import index_shards, load_index, marker_path, read_marker


def test_marker_read_only_when_shard_and_marker_exist(tmp_path):
    shard = tmp_path / "d-00000-of-00001.tfrecord"
    assert read_marker(shard) is None
    shard.write_bytes(b"")
    assert read_marker(shard) is None
    marker = {"utterances": [["a", 16000, "hi"]], "skipped": []}
    with open(marker_path(shard), "w", encoding="utf-8") as f:
        json.dump(marker, f)
    assert marker_path(shard) == str(shard) + ".json"
    assert read_marker(str(shard)) == marker


def test_index_or_nothing(tmp_path):
    assert index_shards(tmp_path) == {}
    with pytest.raises(FileNotFoundError, match="index.json does not exist"):
        load_index(tmp_path)
    index = {"version": 1, "shards": {"d.tfrecord": {"utterances": []}}}
    (tmp_path / "index.json").write_text(json.dumps(index), encoding="utf-8")
    assert load_index(tmp_path) == index and index_shards(tmp_path) == index["shards"]
