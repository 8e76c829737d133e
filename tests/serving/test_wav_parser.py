"""The core-ops WAV parser against libsndfile (soundfile) and the library's resampler."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from serving_fixtures import wav_bytes
from tf_contextnet.features.resample import resample_np
from tf_contextnet.serving.wav_parser import alaw_table, decode_wav_batch, decode_wav_bytes, mulaw_table

SUBTYPES = ["PCM_16", "PCM_U8", "PCM_24", "PCM_32", "FLOAT", "DOUBLE", "ALAW", "ULAW"]


@pytest.fixture(scope="module")
def decode():
    return tf.function(lambda contents: decode_wav_bytes(contents, tf.constant(0)))


@pytest.fixture(scope="module")
def noise():
    return np.clip(np.random.default_rng(0).normal(size=(2000, 3)) * 0.3, -1, 1).astype(np.float32)


@pytest.mark.parametrize("fmt", ["WAV", "WAVEX"])
@pytest.mark.parametrize("subtype", SUBTYPES)
def test_every_encoding_matches_libsndfile(decode, noise, subtype, fmt):
    import io

    import soundfile

    contents = wav_bytes(noise, 16000, subtype, fmt)
    expected = soundfile.read(io.BytesIO(contents), dtype="float32", always_2d=True)[0].mean(axis=1)
    mono, rate = decode(tf.constant(contents))
    assert int(rate) == 16000
    np.testing.assert_allclose(mono.numpy(), expected, rtol=0, atol=1e-7)


def test_g711_tables_are_the_standard_ones():
    # ITU-T G.711 end points: mu-law 0x00 -> -32124, 0x80 -> 32124, 0xFF -> 0; A-law 0x55 -> -8, 0xD5 -> 8.
    mu, a = mulaw_table(), alaw_table()
    assert (mu[0x00], mu[0x80], mu[0xFF], mu[0x7F]) == (-32124, 32124, 0, 0)
    assert (a[0x55], a[0xD5], a[0x2A], a[0xAA]) == (-8, 8, -32256, 32256)


def test_chunks_in_any_order_odd_chunk_padding_and_streamed_size(decode):
    samples = (np.arange(-50, 51) * 300).astype("<i2")
    fmt = (1).to_bytes(2, "little") + (1).to_bytes(2, "little") + (8000).to_bytes(4, "little") + \
        (16000).to_bytes(4, "little") + (2).to_bytes(2, "little") + (16).to_bytes(2, "little")
    odd = b"LIST" + (3).to_bytes(4, "little") + b"abc" + b"\0"  # odd size, one pad byte
    data = b"data" + (0xFFFFFFFF).to_bytes(4, "little") + samples.tobytes()  # streamed: size unknown
    body = b"WAVE" + odd + b"fmt " + (16).to_bytes(4, "little") + fmt + data
    mono, rate = decode(tf.constant(b"RIFF" + len(body).to_bytes(4, "little") + body))
    assert int(rate) == 8000
    np.testing.assert_array_equal(mono.numpy(), samples.astype(np.float32) / 32768)


@pytest.mark.parametrize("bad, message", [
    (b"", "not a WAV file"),
    (b"hello world, not audio", "not a WAV file"),
    (b"RIFX" + b"\0" * 60, "big-endian RIFX"),
    (b"RF64" + b"\0" * 60, "RF64"),
])
def test_not_wav_is_named(decode, bad, message):
    with pytest.raises(tf.errors.InvalidArgumentError, match=message):
        decode(tf.constant(bad))


def test_broken_wavs_are_named(decode, noise):
    good = wav_bytes(noise[:, 0], 16000)
    with pytest.raises(tf.errors.InvalidArgumentError, match="truncated WAV file"):
        decode(tf.constant(good[:-10]))
    with pytest.raises(tf.errors.InvalidArgumentError, match="no data chunk"):
        decode(tf.constant(good[:40]))
    with pytest.raises(tf.errors.InvalidArgumentError, match="zero samples"):
        decode(tf.constant(wav_bytes(np.zeros(0, np.float32), 16000)))
    with pytest.raises(tf.errors.InvalidArgumentError, match="unsupported sample rate.*12345"):
        decode(tf.constant(wav_bytes(noise[:, 0], 12345)))
    with pytest.raises(tf.errors.InvalidArgumentError, match="channel count out of range"):
        decode(tf.constant(wav_bytes(np.zeros((100, 9), np.float32), 16000)))
    nan = noise[:, 0].copy()
    nan[5] = np.nan
    with pytest.raises(tf.errors.InvalidArgumentError, match="NaN/Inf samples"):
        decode(tf.constant(wav_bytes(nan, 16000, "FLOAT")))
    with pytest.raises(tf.errors.InvalidArgumentError, match="unsupported WAV encoding"):
        decode(tf.constant(wav_bytes(noise[:, 0], 16000, "IMA_ADPCM")))


def test_batch_resamples_each_item_and_pads(noise):
    items = [wav_bytes(noise[:800, 0], 8000), wav_bytes(noise[:, :2], 44100), wav_bytes(noise[:1600, 0], 16000)]
    waveform, lengths = tf.function(lambda audio: decode_wav_batch(audio, 16000))(tf.constant(items))
    import io

    import soundfile

    expected = []
    for contents in items:  # libsndfile's samples, averaged and resampled as load_audio does
        audio, rate = soundfile.read(io.BytesIO(contents), dtype="float32", always_2d=True)
        expected.append(resample_np(audio.mean(axis=1), rate, 16000))
    assert lengths.numpy().tolist() == [len(e) for e in expected]
    for row, length, e in zip(waveform.numpy(), lengths.numpy(), expected):
        np.testing.assert_allclose(row[:length], e, atol=2e-6)
        assert not row[length:].any()


def test_one_bad_item_fails_the_batch_and_is_named(noise):
    items = [wav_bytes(noise[:, 0], 16000), b"junk"]
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"audio item\] \[1\]"):
        tf.function(lambda audio: decode_wav_batch(audio, 16000))(tf.constant(items))
