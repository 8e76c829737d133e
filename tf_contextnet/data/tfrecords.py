"""The TFRecord format written by ``prepare``: 16 kHz int16 PCM + transcript (+ id, speaker).

One ``tf.train.Example`` per utterance:

| key | type | meaning |
|---|---|---|
| ``audio`` | bytes | little-endian int16 PCM, mono, ``sample_rate`` Hz |
| ``num_samples`` | int64 | N, number of samples |
| ``sample_rate`` | int64 | always ``SAMPLE_RATE`` (16000) here |
| ``transcript`` | bytes | UTF-8 text |
| ``id`` | bytes | utterance id |
| ``speaker`` | bytes | speaker id (may be empty) |
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from tf_contextnet.features.sample_rate import SAMPLE_RATE

FEATURE_SPEC = {
    "audio": tf.io.FixedLenFeature([], tf.string),
    "num_samples": tf.io.FixedLenFeature([], tf.int64),
    "sample_rate": tf.io.FixedLenFeature([], tf.int64),
    "transcript": tf.io.FixedLenFeature([], tf.string),
    "id": tf.io.FixedLenFeature([], tf.string),
    "speaker": tf.io.FixedLenFeature([], tf.string, default_value=""),
}

METADATA_SPEC = {k: FEATURE_SPEC[k] for k in ("num_samples", "transcript", "id")}


def float_to_int16(samples: np.ndarray) -> np.ndarray:
    """float ``[-1, 1]`` → int16 as libsndfile reads PCM16 (x·32768, rounded, clipped).

    Exact inverse of ``int16 / 32768`` for audio that came from 16-bit PCM.
    """
    return np.clip(np.round(np.asarray(samples, np.float64) * 32768.0), -32768, 32767).astype(np.int16)


def encode_example(uid: str, pcm: np.ndarray, transcript: str, speaker: str = "",
                   sample_rate: int = SAMPLE_RATE) -> bytes:
    """One serialised ``tf.train.Example`` for int16 ``pcm`` ``[N]``."""
    pcm = np.asarray(pcm)
    if pcm.dtype != np.int16 or pcm.ndim != 1:
        raise ValueError(f"{uid}: expected mono int16 PCM [N], got {pcm.dtype} {pcm.shape}")

    def _bytes(value: bytes) -> tf.train.Feature:
        return tf.train.Feature(bytes_list=tf.train.BytesList(value=[value]))

    def _int(value: int) -> tf.train.Feature:
        return tf.train.Feature(int64_list=tf.train.Int64List(value=[value]))

    features = {
        "audio": _bytes(pcm.astype("<i2").tobytes()),
        "num_samples": _int(int(pcm.shape[0])),
        "sample_rate": _int(int(sample_rate)),
        "transcript": _bytes(transcript.encode("utf-8")),
        "id": _bytes(uid.encode("utf-8")),
        "speaker": _bytes((speaker or "").encode("utf-8")),
    }
    example = tf.train.Example(features=tf.train.Features(feature=features))
    # Sorted map keys: the same utterance gives the same bytes in every process (resume, parallel).
    return example.SerializeToString(deterministic=True)


def parse_example(serialized: tf.Tensor) -> dict[str, tf.Tensor]:
    """Graph-mode parse of one record: ``pcm`` int16 ``[N]`` plus the scalar fields."""
    example = tf.io.parse_single_example(serialized, FEATURE_SPEC)
    pcm = tf.io.decode_raw(example.pop("audio"), tf.int16, little_endian=True)
    example["pcm"] = pcm
    return example


def parse_metadata(serialized: tf.Tensor) -> dict[str, tf.Tensor]:
    """Graph-mode parse of one record's ``id``, ``num_samples`` and ``transcript`` (the audio is skipped)."""
    return tf.io.parse_single_example(serialized, METADATA_SPEC)


def read_tfrecords(files) -> list[dict]:
    """Every record of ``files`` in order, as NumPy/Python values (for tests and inspection)."""
    records = []
    for raw in tf.data.TFRecordDataset(list(files)):
        example = parse_example(raw)
        records.append({"pcm": example["pcm"].numpy(), "num_samples": int(example["num_samples"]),
                        "sample_rate": int(example["sample_rate"]),
                        "transcript": example["transcript"].numpy().decode("utf-8"),
                        "id": example["id"].numpy().decode("utf-8"),
                        "speaker": example["speaker"].numpy().decode("utf-8")})
    return records
