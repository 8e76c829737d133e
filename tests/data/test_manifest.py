"""Manifests: TSV/JSONL round trip, paths relative to the manifest, clear errors."""

from __future__ import annotations

import os

import pytest

from tf_contextnet.data import ManifestEntry, read_manifest, write_manifest


@pytest.mark.parametrize("suffix", [".tsv", ".jsonl"])
def test_round_trip_with_relative_paths(tmp_path, suffix):
    entries = [ManifestEntry(str(tmp_path / "audio" / "a.wav"), "hello world", 1.25, "spk1"),
               ManifestEntry(str(tmp_path / "b.flac"), "it's \"quoted\"", None, None, uid="b-1")]
    path = tmp_path / "lists" / f"train{suffix}"
    write_manifest(entries, path)
    text = path.read_text()
    assert os.path.join("..", "audio", "a.wav") in text and str(tmp_path) not in text
    back = read_manifest(path)
    assert [(e.audio_path, e.transcript, e.duration, e.speaker) for e in back] == [
        (str(tmp_path / "audio" / "a.wav"), "hello world", 1.25, "spk1"),
        (str(tmp_path / "b.flac"), "it's \"quoted\"", None, None)]
    assert [e.uid for e in back] == ["a", "b-1"]


@pytest.mark.data
def test_reads_the_shared_fsdd_manifest(fsdd_dir):
    entries = read_manifest(fsdd_dir / "manifest.tsv")
    assert len(entries) == 2500
    first = entries[0]
    assert first.audio_path == str(fsdd_dir / "recordings" / "0_george_0.wav")
    assert os.path.isfile(first.audio_path)
    assert (first.transcript, first.speaker, first.duration) == ("zero", "george", pytest.approx(0.298))


def test_errors_name_the_file_and_line(tmp_path):
    with pytest.raises(FileNotFoundError, match="nothere.tsv"):
        read_manifest(tmp_path / "nothere.tsv")
    bad_header = tmp_path / "h.tsv"
    bad_header.write_text("file\ttext\na.wav\thi\n")
    with pytest.raises(ValueError, match="h.tsv: header"):
        read_manifest(bad_header)
    bad_duration = tmp_path / "d.tsv"
    bad_duration.write_text("path\tduration_s\ttranscript\na.wav\tlong\thi\n")
    with pytest.raises(ValueError, match="d.tsv:2: duration_s 'long'"):
        read_manifest(bad_duration)
    bad_json = tmp_path / "j.jsonl"
    bad_json.write_text('{"path": "a.wav", "duration_s": 1, "transcript": "x"}\n{"path": "b.wav"}\n')
    with pytest.raises(ValueError, match=r"j.jsonl:2: missing field\(s\) \['duration_s', 'transcript'\]"):
        read_manifest(bad_json)
    with pytest.raises(ValueError, match="tab or newline"):
        write_manifest([ManifestEntry("a.wav", "two\tparts")], tmp_path / "o.tsv")
