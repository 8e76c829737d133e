"""TFRecord format: int16 conversion exact for PCM16 audio; encode → parse round trip; ``parse_example``
and ``parse_metadata`` read back what ``prepare`` wrote (checked against soundfile and the manifest)."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile
import tensorflow as tf

from tf_contextnet.data import ManifestEntry, prepare, write_manifest
from tf_contextnet.data.tfrecords import encode_example, float_to_int16, parse_example, parse_metadata

from .conftest import shortest_flac_files


def test_float_to_int16_inverts_pcm16_scaling():
    pcm = np.array([-32768, -1, 0, 1, 12345, 32767], np.int16)
    np.testing.assert_array_equal(float_to_int16(pcm.astype(np.float32) / 32768.0), pcm)
    np.testing.assert_array_equal(float_to_int16(np.array([1.5, -2.0, 0.49 / 32768])), [32767, -32768, 0])


def test_encode_parse_round_trip():
    pcm = np.random.default_rng(0).integers(-32768, 32767, size=1001).astype(np.int16)
    example = parse_example(tf.constant(encode_example("u-1", pcm, "héllo wörld", "spk")))
    np.testing.assert_array_equal(example["pcm"].numpy(), pcm)
    assert int(example["num_samples"]) == 1001 and int(example["sample_rate"]) == 16000
    assert example["transcript"].numpy().decode() == "héllo wörld"
    assert (example["id"].numpy(), example["speaker"].numpy()) == (b"u-1", b"spk")


def test_rejects_non_int16():
    with pytest.raises(ValueError, match="u-2: expected mono int16"):
        encode_example("u-2", np.zeros(4, np.float32), "x")


@pytest.mark.data
def test_parse_reads_back_what_prepare_wrote(tmp_path, librispeech_audio_dir):
    paths = shortest_flac_files(librispeech_audio_dir, 2)
    entries = [ManifestEntry(paths[0], "Héllo Wörld", speaker="spk-a", uid="utt-a"),
               ManifestEntry(paths[1], "second  one", uid="utt-b")]
    write_manifest(entries, tmp_path / "m.tsv")
    prepare(tmp_path / "m.tsv", tmp_path / "out", num_workers=1, progress=False)
    raw = list(tf.data.TFRecordDataset(sorted(str(p) for p in (tmp_path / "out").glob("*.tfrecord"))))
    assert len(raw) == 2
    for serialized, entry in zip(raw, entries):
        reference, rate = soundfile.read(entry.audio_path, dtype="int16")
        assert rate == 16000
        example, metadata = parse_example(serialized), parse_metadata(serialized)
        assert example["pcm"].dtype == tf.int16
        np.testing.assert_array_equal(example["pcm"].numpy(), reference)
        assert int(example["num_samples"]) == int(metadata["num_samples"]) == len(reference)
        assert int(example["sample_rate"]) == 16000
        assert example["transcript"].numpy().decode() == metadata["transcript"].numpy().decode() == entry.transcript
        assert example["id"].numpy().decode() == metadata["id"].numpy().decode() == entry.uid
        assert example["speaker"].numpy().decode() == (entry.speaker or "")
        assert "pcm" not in metadata and "audio" not in metadata
