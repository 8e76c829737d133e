"""Tests for tf_contextnet.features.resample against scipy.signal.resample_poly on real speech."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.signal
import soundfile
import tensorflow as tf

from tf_contextnet.features.resample import (COMMON_SAMPLE_RATES, lowpass_filter, rational_factors,
                                             resample_dynamic, resample_np, resample_tf, resampled_length)


def _snr_db(reference: np.ndarray, estimate: np.ndarray) -> float:
    return float(10 * np.log10(np.sum(reference ** 2) / np.sum((reference - estimate) ** 2)))


def _lowpass(x: np.ndarray, cutoff_hz: float, rate: int = 16000) -> np.ndarray:
    spectrum = np.fft.rfft(x)
    spectrum[np.fft.rfftfreq(x.shape[0], 1 / rate) > cutoff_hz] = 0
    return np.fft.irfft(spectrum, x.shape[0])


def _real_clips(fsdd_dir, ljspeech_dir) -> list[tuple[np.ndarray, int]]:
    clips = []
    for path in sorted((fsdd_dir / "recordings").glob("*_george_1.wav"))[:3]:
        clips.append(soundfile.read(path, dtype="float64"))
    for name in ("LJ001-0002.wav", "LJ001-0008.wav"):
        clips.append(soundfile.read(ljspeech_dir / "wavs" / name, dtype="float64"))
    return clips


def test_rational_factors():
    assert rational_factors(8000, 16000) == (2, 1)
    assert rational_factors(22050, 16000) == (320, 441)
    assert rational_factors(44100, 16000) == (160, 441)
    assert rational_factors(16000, 16000) == (1, 1)
    with pytest.raises(ValueError, match="positive"):
        rational_factors(0, 16000)


@pytest.mark.data
def test_matches_scipy_resample_poly_on_real_speech(fsdd_dir, ljspeech_dir):
    """Same filter -> same output as scipy (polyphase mechanics); scipy's own filter -> > 35 dB SNR."""
    clips = _real_clips(fsdd_dir, ljspeech_dir)
    rates = {rate for _, rate in clips}
    assert rates == {8000, 22050}, f"expected FSDD 8 kHz and LJ Speech 22.05 kHz, got {rates}"
    for audio, rate in clips:
        up, down = rational_factors(rate, 16000)
        ours = resample_np(audio, rate, 16000)
        same_filter = scipy.signal.resample_poly(audio, up, down, window=lowpass_filter(up, down) / up)
        assert ours.shape == same_filter.shape
        np.testing.assert_allclose(ours, same_filter, atol=1e-9)
        # scipy's default filter (Kaiser beta 5, cut-off at Nyquist) differs from ours only near Nyquist.
        scipy_default = scipy.signal.resample_poly(audio, up, down)
        assert _snr_db(scipy_default, ours) > 25.0
        nyquist = min(rate, 16000) / 2
        assert _snr_db(_lowpass(scipy_default, 0.9 * nyquist), _lowpass(ours, 0.9 * nyquist)) > 40.0
        in_graph = resample_tf(audio[None].astype(np.float32), rate, 16000).numpy()[0]
        np.testing.assert_allclose(in_graph, ours, atol=1e-5)


def _tone_gain_db(frequency: float, in_rate: int) -> float:
    t = np.arange(in_rate) / in_rate
    out = resample_np(np.sin(2 * np.pi * frequency * t), in_rate, 16000)[400:-400]
    return float(20 * np.log10(np.sqrt(np.mean(out ** 2)) / np.sqrt(0.5)))


@pytest.mark.parametrize("in_rate", [8000, 11025, 22050, 44100, 48000])
def test_anti_aliasing_and_passband(in_rate):
    """Flat (< 0.1 dB) up to 0.88 of the lower Nyquist; > 80 dB down past 1.08 of it when downsampling."""
    nyquist = min(in_rate, 16000) / 2
    for fraction in (0.1, 0.5, 0.88):
        assert abs(_tone_gain_db(fraction * nyquist, in_rate)) < 0.1
    if in_rate > 16000:
        for fraction in (1.08, 1.3):
            assert _tone_gain_db(fraction * nyquist, in_rate) < -80.0
        assert _tone_gain_db(1.04 * nyquist, in_rate) < -40.0


def test_tone_phase_alignment():
    """Output sample m sits at input time m·down/up: a resampled sine equals the sine sampled at 16 kHz."""
    t = np.arange(22050) / 22050
    out = resample_np(np.sin(2 * np.pi * 1000 * t), 22050, 16000)
    expected = np.sin(2 * np.pi * 1000 * np.arange(out.shape[0]) / 16000)
    assert np.max(np.abs(out[400:-400] - expected[400:-400])) < 1e-3


def test_lengths_and_identity():
    x = np.random.default_rng(0).normal(size=(2, 1001)).astype(np.float32)
    for rate in COMMON_SAMPLE_RATES:
        up, down = rational_factors(rate, 16000)
        both = resample_np(x, rate, 16000)
        assert both.shape == (2, -(-1001 * up // down))
        np.testing.assert_allclose(both[1], resample_np(x[1], rate, 16000), atol=1e-6)
        reference = scipy.signal.resample_poly(x[1].astype(np.float64), up, down,
                                               window=lowpass_filter(up, down) / up)
        np.testing.assert_allclose(both[1], reference, atol=1e-5)
        assert int(resampled_length(1001, rate, 16000)) == -(-1001 * up // down)
    np.testing.assert_array_equal(resample_np(x, 16000, 16000), x)


def test_empty_and_very_short_inputs():
    assert resample_np(np.zeros(0), 22050, 16000).shape == (0,)
    assert resample_tf(np.zeros((2, 0), np.float32), 22050, 16000).shape == (2, 0)
    short = np.array([0.5, -0.25, 1.0])
    reference = scipy.signal.resample_poly(short, 160, 441, window=lowpass_filter(160, 441) / 160)
    np.testing.assert_allclose(resample_np(short, 44100, 16000), reference, atol=1e-12)
    np.testing.assert_allclose(resample_tf(short[None].astype(np.float32), 44100, 16000).numpy()[0], reference,
                               atol=1e-6)


def test_batched_rows_match_single_rows():
    """Zero padding after a row's valid samples leaves its valid outputs unchanged (scipy pads with zeros too)."""
    rng = np.random.default_rng(1)
    long, short = rng.normal(size=2205), rng.normal(size=1000)
    batch = np.stack([long, np.pad(short, (0, 1205))]).astype(np.float32)
    out = resample_tf(batch, 22050, 16000).numpy()
    n_short = int(resampled_length(1000, 22050, 16000))
    np.testing.assert_allclose(out[1, :n_short], resample_np(short, 22050, 16000), atol=1e-5)
    np.testing.assert_allclose(out[0], resample_np(long, 22050, 16000), atol=1e-5)


def test_dynamic_rate_in_tf_function():
    fn = tf.function(lambda x, rate: resample_dynamic(x, rate, 16000),
                     input_signature=[tf.TensorSpec([None, None], tf.float32), tf.TensorSpec([], tf.int32)])
    x = np.random.default_rng(2).normal(size=(1, 4410)).astype(np.float32)
    for rate in (8000, 16000, 44100):
        np.testing.assert_allclose(fn(x, rate).numpy(), resample_np(x, rate, 16000), atol=1e-5)
    with pytest.raises(tf.errors.InvalidArgumentError, match="unsupported sample rate"):
        fn(x, 12345)


def test_tflite_builtins_only_dynamic_rate():
    """The run-time-rate resampler converts with TFLITE_BUILTINS only (IF, CONV_2D) and matches TF."""
    interpreter_module = pytest.importorskip("ai_edge_litert.interpreter",
                                             reason="ai-edge-litert (the 'export' extra) is not installed")
    rates = (8000, 16000, 22050)

    class Module(tf.Module):
        @tf.function(input_signature=[tf.TensorSpec([1, None], tf.float32), tf.TensorSpec([], tf.int32)])
        def resample(self, waveform, rate):
            return {"waveform": resample_dynamic(waveform, rate, 16000, rates)}

    module = Module()
    converter = tf.lite.TFLiteConverter.from_concrete_functions([module.resample.get_concrete_function()], module)
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
    interpreter = interpreter_module.Interpreter(model_content=converter.convert())
    ops = {detail["op_name"] for detail in interpreter._get_ops_details()}
    assert not any(op.startswith("Flex") or op == "CUSTOM" for op in ops), ops
    runner = interpreter.get_signature_runner()
    x = np.random.default_rng(4).normal(size=(1, 2205)).astype(np.float32)
    for rate in rates:
        got = runner(waveform=x, rate=np.array(rate, np.int32))["waveform"]
        np.testing.assert_allclose(got, resample_np(x, rate, 16000), atol=1e-4)
    # TFLite drops the Assert: an unsupported rate must still not come out silently resampled.
    try:
        unsupported = runner(waveform=x, rate=np.array(44100, np.int32))["waveform"]
    except ValueError as error:  # LiteRT refuses the empty output tensor
        assert "size" in str(error)
    else:
        assert unsupported.size == 0
