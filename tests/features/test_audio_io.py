"""Tests for tf_contextnet.features.audio_io: load_audio (soundfile) and decode_wav (in-graph)."""

from __future__ import annotations

import io

import numpy as np
import pytest
import soundfile
import tensorflow as tf

from tf_contextnet.features import AudioError, decode_wav, load_audio
from tf_contextnet.features.resample import resample_np


def _wav_bytes(samples: np.ndarray, rate: int, subtype: str = "PCM_16") -> bytes:
    buffer = io.BytesIO()
    soundfile.write(buffer, samples, rate, format="WAV", subtype=subtype)
    return buffer.getvalue()


@pytest.mark.data
def test_load_audio_real_recordings(fsdd_dir, ljspeech_dir, librispeech_audio_dir):
    fsdd = sorted((fsdd_dir / "recordings").glob("*.wav"))[0]
    lj = ljspeech_dir / "wavs" / "LJ001-0002.wav"
    flac = sorted(librispeech_audio_dir.rglob("*.flac"))[0]
    for path in (fsdd, lj, flac):
        raw, rate = soundfile.read(path, dtype="float32")
        audio = load_audio(path)
        assert audio.dtype == np.float32 and audio.ndim == 1
        assert np.max(np.abs(audio)) <= 1.0 + 1e-3
        expected = raw if rate == 16000 else resample_np(raw.astype(np.float64), rate, 16000)
        np.testing.assert_allclose(audio, expected, atol=1e-5)


@pytest.mark.data
def test_decode_wav_matches_load_audio(ljspeech_dir, fsdd_dir):
    for path in (ljspeech_dir / "wavs" / "LJ001-0002.wav", sorted((fsdd_dir / "recordings").glob("*.wav"))[0]):
        decoded = decode_wav(tf.constant(path.read_bytes())).numpy()
        np.testing.assert_allclose(decoded, load_audio(path), atol=1e-5)


def test_stereo_and_ogg(tmp_path):
    t = np.arange(8000) / 16000
    left, right = np.sin(2 * np.pi * 440 * t), 0.5 * np.sin(2 * np.pi * 660 * t)
    path = tmp_path / "stereo.ogg"
    soundfile.write(path, np.stack([left, right], axis=1), 16000, format="OGG", subtype="VORBIS")
    audio = load_audio(path)
    assert audio.shape == (8000,)
    reference = (left + right) / 2
    assert np.sqrt(np.mean((audio - reference) ** 2)) < 0.05 * np.sqrt(np.mean(reference ** 2))
    wav = decode_wav(tf.constant(_wav_bytes(np.stack([left, right], axis=1), 16000))).numpy()
    np.testing.assert_allclose(wav, reference, atol=2 / 32768)


@pytest.mark.parametrize("rate", [8000, 11025, 22050, 24000, 32000, 44100, 48000])
def test_decode_wav_any_common_rate_in_tf_function(rate):
    fn = tf.function(decode_wav, input_signature=[tf.TensorSpec([], tf.string)])
    wav = _wav_bytes(np.random.default_rng(rate).uniform(-0.5, 0.5, rate // 20), rate)
    samples, file_rate = soundfile.read(io.BytesIO(wav), dtype="float64")
    assert file_rate == rate
    out = fn(tf.constant(wav)).numpy()
    np.testing.assert_allclose(out, resample_np(samples, rate, 16000), atol=1e-5)


def test_decode_wav_unsupported_rate():
    with pytest.raises(tf.errors.InvalidArgumentError, match="unsupported sample rate"):
        decode_wav(tf.constant(_wav_bytes(np.zeros(100), 12345)))


def _bad_files(tmp_path, ljspeech_dir=None):
    good = _wav_bytes(np.random.default_rng(0).uniform(-0.5, 0.5, 4000), 16000)
    files = {
        "empty.wav": (b"", "not a readable audio file"),
        "text.flac": (b"this is not audio at all", "not a readable audio file"),
        "header_only.wav": (good[:30], "not a readable audio file"),
        "truncated.wav": (good[:len(good) // 2], "truncated WAV"),
    }
    for name, (content, _) in files.items():
        (tmp_path / name).write_bytes(content)
    soundfile.write(tmp_path / "zero.wav", np.zeros(0), 16000)
    soundfile.write(tmp_path / "nan.wav", np.array([0.0, np.nan, 0.1, np.inf], np.float32), 16000,
                    subtype="FLOAT")
    expected = {name: message for name, (_, message) in files.items()}
    expected.update({"zero.wav": "zero-length", "nan.wav": "2 NaN/Inf", "missing.wav": "does not exist"})
    return expected


def test_load_audio_bad_input_names_file_and_problem(tmp_path):
    for name, message in _bad_files(tmp_path).items():
        with pytest.raises(AudioError, match=message) as info:
            load_audio(tmp_path / name)
        assert name in str(info.value)
        assert isinstance(info.value, ValueError)


def test_load_audio_truncated_flac(tmp_path):
    good = tmp_path / "good.flac"
    soundfile.write(good, np.random.default_rng(0).uniform(-0.5, 0.5, 48000), 16000)
    cut = tmp_path / "cut.flac"
    cut.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    with pytest.raises(AudioError, match="cut.flac"):
        load_audio(cut)


def test_decode_wav_in_saved_model(tmp_path):
    """WAV bytes at any common rate -> 16 kHz log-mel inside a SavedModel, reloaded with core TF only."""
    from tf_contextnet.features import LogMelSpectrogram

    class Serving(tf.Module):
        def __init__(self):
            super().__init__()
            self.log_mel = LogMelSpectrogram()

        @tf.function(input_signature=[tf.TensorSpec([], tf.string)])
        def features(self, wav):
            audio = decode_wav(wav)[None]
            return self.log_mel((audio, tf.shape(audio)[1:2]))[0]

    module = Serving()
    tf.saved_model.save(module, str(tmp_path / "serving"))
    restored = tf.saved_model.load(str(tmp_path / "serving"))
    t = np.arange(4410) / 44100
    wav = _wav_bytes(0.3 * np.sin(2 * np.pi * 440 * t), 44100)
    np.testing.assert_allclose(restored.features(tf.constant(wav)).numpy(), module.features(tf.constant(wav)).numpy(),
                               atol=1e-5)
    assert restored.features(tf.constant(wav)).shape == (1, 8, 80)
