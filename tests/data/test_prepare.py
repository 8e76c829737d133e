"""prepare: LibriSpeech/manifest → TFRecords read back identically; parallel; resumable; bad input counted."""

from __future__ import annotations

import csv
import importlib
import os
import shutil

import numpy as np
import pytest
import soundfile

from tf_contextnet.data import ManifestEntry, PrepareOptions, float_to_int16, prepare, read_tfrecords, write_manifest
from tf_contextnet.data.prepared_index import load_index, read_marker
from tf_contextnet.features import load_audio

from .conftest import build_librispeech_layout, shortest_flac_files

prepare_module = importlib.import_module("tf_contextnet.data.prepare")


def shard_bytes(folder) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.glob("*.tfrecord"))}


@pytest.mark.data
def test_librispeech_layout_reads_back_identically(prepared_librispeech, librispeech_layout):
    output, transcripts = prepared_librispeech
    root, _ = librispeech_layout
    files = sorted(output.glob("*.tfrecord"))
    assert [f.name for f in files] == [f"data-0000{i}-of-00003.tfrecord" for i in range(3)]
    records = read_tfrecords(files)
    assert [r["id"] for r in records] == sorted(transcripts)
    for record in records:
        speaker, chapter, _ = record["id"].split("-")
        path = root / "test-other" / speaker / chapter / f"{record['id']}.flac"
        reference, rate = soundfile.read(path, dtype="int16")
        assert rate == 16000
        np.testing.assert_array_equal(record["pcm"], reference)
        np.testing.assert_array_equal(record["pcm"], float_to_int16(load_audio(path)))
        assert record["transcript"] == transcripts[record["id"]].lower()
        assert (record["speaker"], record["sample_rate"], record["num_samples"]) == (speaker, 16000, len(reference))
    index = load_index(output)
    for path in files:
        marker = read_marker(path)
        assert [u[0] for u in marker["utterances"]] == [r["id"] for r in read_tfrecords([path])]
        assert index["shards"][path.name] == marker
    summary = prepare(root, output, shard_size=5, num_workers=1, progress=False)
    assert (summary.utterances, summary.shards_written, summary.shards_reused, summary.skipped) == (12, 0, 3, [])
    assert summary.seconds == pytest.approx(sum(len(r["pcm"]) for r in records) / 16000)


@pytest.mark.data
def test_two_workers_write_the_same_shards(prepared_librispeech, librispeech_layout, tmp_path):
    output, _ = prepared_librispeech
    summary = prepare(librispeech_layout[0], tmp_path, shard_size=5, num_workers=2, progress=False)
    assert summary.shards_written == 3
    assert shard_bytes(tmp_path) == shard_bytes(output)


@pytest.mark.data
def test_resumes_after_an_interruption(prepared_librispeech, librispeech_layout, tmp_path, monkeypatch):
    output, _ = prepared_librispeech
    root = librispeech_layout[0]
    real = prepare_module._prepare_shard
    calls = []

    def crash_on_second_shard(job):
        calls.append(job[0])
        if len(calls) == 2:
            with open(job[0] + ".tmp", "wb") as f:
                f.write(b"half a shard")
            raise KeyboardInterrupt
        return real(job)

    monkeypatch.setattr(prepare_module, "_prepare_shard", crash_on_second_shard)
    with pytest.raises(KeyboardInterrupt):
        prepare(root, tmp_path, shard_size=5, num_workers=1, progress=False)
    monkeypatch.setattr(prepare_module, "_prepare_shard", real)
    summary = prepare(root, tmp_path, shard_size=5, num_workers=1, progress=False)
    assert (summary.shards_reused, summary.shards_written, summary.utterances) == (1, 2, 12)
    assert shard_bytes(tmp_path) == shard_bytes(output)
    assert not list(tmp_path.glob("*.tmp"))

    lost = sorted(tmp_path.glob("*.tfrecord"))[1]
    kept = {p: p.stat().st_mtime_ns for p in tmp_path.glob("*.tfrecord") if p != lost}
    lost.unlink()
    summary = prepare(root, tmp_path, shard_size=5, num_workers=1, progress=False)
    assert (summary.shards_reused, summary.shards_written) == (2, 1)
    assert {p: p.stat().st_mtime_ns for p in kept} == kept
    assert shard_bytes(tmp_path) == shard_bytes(output)


@pytest.mark.data
def test_refuses_a_folder_prepared_from_other_input(prepared_librispeech, librispeech_layout):
    output, _ = prepared_librispeech
    with pytest.raises(ValueError, match="other input or options"):
        prepare(librispeech_layout[0], output, shard_size=4, num_workers=1, progress=False)


@pytest.mark.data
def test_bad_input_is_skipped_counted_and_named(tmp_path, librispeech_audio_dir, fsdd_dir):
    good_flac = shortest_flac_files(librispeech_audio_dir, 1)[0]
    good_wav = str(fsdd_dir / "recordings" / "0_george_0.wav")
    audio = tmp_path / "audio"
    audio.mkdir()
    soundfile.write(audio / "empty.wav", np.zeros(0, np.int16), 16000)
    soundfile.write(audio / "nan.wav", np.array([0.1, np.nan, 0.2] * 100, np.float32), 16000, subtype="FLOAT")
    soundfile.write(audio / "inf.wav", np.array([0.1, np.inf] * 100, np.float32), 16000, subtype="FLOAT")
    wav_bytes = open(good_wav, "rb").read()
    (audio / "truncated.wav").write_bytes(wav_bytes[: len(wav_bytes) // 2])
    flac_bytes = open(good_flac, "rb").read()
    (audio / "truncated.flac").write_bytes(flac_bytes[: len(flac_bytes) // 2])
    (audio / "text.wav").write_text("this is not audio\n" * 20)
    rows = {  # uid: (path, transcript, expected reason or None)
        "good-8k": (good_wav, "zero", None),
        "good-flac": (good_flac, "some words", None),
        "missing": (str(audio / "absent.wav"), "zero", "missing_audio"),
        "empty": (str(audio / "empty.wav"), "zero", "empty_audio"),
        "nan": (str(audio / "nan.wav"), "zero", "non_finite_audio"),
        "inf": (str(audio / "inf.wav"), "zero", "non_finite_audio"),
        "truncated-wav": (str(audio / "truncated.wav"), "zero", "unreadable_audio"),
        "truncated-flac": (str(audio / "truncated.flac"), "zero", "unreadable_audio"),
        "not-audio": (str(audio / "text.wav"), "zero", "unreadable_audio"),
        "no-text": (good_wav, "  ", "empty_transcript"),
        "odd-chars": (good_wav, "zéro!", "unknown_characters"),
        "long-text": (good_wav, "zero " * 40, "transcript_too_long"),
        "long-audio": (good_flac, "words", "too_long"),
    }
    manifest = tmp_path / "manifest.jsonl"
    write_manifest([ManifestEntry(p, t, None, uid=uid) for uid, (p, t, _) in rows.items()], manifest)
    options = PrepareOptions(max_duration=1.0, max_transcript_length=100,
                             allowed_characters="abcdefghijklmnopqrstuvwxyz '")
    # Both FLAC rows are over 1 s; the run with no duration limit below shows they are readable.
    summary = prepare(manifest, tmp_path / "out", shard_size=4, num_workers=1, options=options, progress=False)
    expected = {uid: reason for uid, (_, _, reason) in rows.items() if reason}
    assert {s[0]: s[2] for s in summary.skipped} == {**expected, "good-flac": "too_long"}
    assert summary.utterances == 1
    assert [r["id"] for r in read_tfrecords(summary.shards)] == ["good-8k"]
    for uid, path, reason, detail in summary.skipped:
        if reason.endswith("_audio"):
            assert os.path.basename(path) in detail, (uid, detail)
    with open(tmp_path / "out" / "skipped.tsv", newline="") as f:
        listed = {row["id"]: (row["path"], row["reason"]) for row in csv.DictReader(f, delimiter="\t")}
    assert listed == {s[0]: (s[1], s[2]) for s in summary.skipped}
    text = summary.format()
    assert "skipped 12 utterance(s)" in text and "unreadable_audio: 3" in text and "non_finite_audio: 2" in text

    loose = prepare(manifest, tmp_path / "loose", shard_size=4, num_workers=1, progress=False,
                    options=PrepareOptions(allowed_characters=options.allowed_characters))
    assert sorted(r["id"] for r in read_tfrecords(loose.shards)) == ["good-8k", "good-flac", "long-audio", "long-text"]


@pytest.mark.data
def test_untranscribed_librispeech_audio_is_reported(librispeech_audio_dir, tmp_path):
    flac = shortest_flac_files(librispeech_audio_dir, 2)
    build_librispeech_layout(tmp_path / "ls", flac)
    stray = next((tmp_path / "ls").rglob("*.flac"))
    shutil.copy(stray, stray.with_name("1-2-3.flac"))
    summary = prepare(tmp_path / "ls", tmp_path / "out", num_workers=1, progress=False)
    assert summary.utterances == 2
    assert summary.skipped_counts == {"no_transcript": 1}
    assert summary.skipped[0][1] == str(stray.with_name("1-2-3.flac"))
