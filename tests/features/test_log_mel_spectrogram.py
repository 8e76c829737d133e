"""Tests for LogMelSpectrogram against an independent float64 numpy implementation on real speech."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from tests.testing import lengths_mask_fn, run_layer_checks
from tf_contextnet.features import LogMelSpectrogram, load_audio
from tf_contextnet.features.log_mel_spectrogram import frame_lengths


def _mel_matrix_np(num_mel: int, fft_length: int, rate: int, low: float, high: float) -> np.ndarray:
    """Triangles linear in HTK mel (1127 ln(1 + f/700)) over FFT bins 1..K-1 (DC excluded), peak 1."""
    mel = lambda f: 1127.0 * np.log1p(np.asarray(f, np.float64) / 700.0)  # noqa: E731
    bins_mel = mel(np.linspace(0.0, rate / 2, fft_length // 2 + 1))
    edges = np.linspace(mel(low), mel(high), num_mel + 2)
    left, center, right = edges[:-2], edges[1:-1], edges[2:]
    rising = (bins_mel[:, None] - left) / (center - left)
    falling = (right - bins_mel[:, None]) / (right - center)
    weights = np.maximum(0.0, np.minimum(rising, falling))
    weights[0] = 0.0
    return weights


def _log_mel_np(x: np.ndarray, rate=16000, num_mel=80, frame_length=400, frame_step=160, fft_length=512,
                low=20.0, high=8000.0, floor=1e-6) -> np.ndarray:
    x = np.asarray(x, np.float64)
    count = max(0, 1 + (x.shape[0] - frame_length) // frame_step)
    index = np.arange(frame_length)[None, :] + frame_step * np.arange(count)[:, None]
    window = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(frame_length) / frame_length)
    power = np.abs(np.fft.rfft(x[index] * window, n=fft_length)) ** 2
    return np.log(np.maximum(power @ _mel_matrix_np(num_mel, fft_length, rate, low, high), floor))


def test_frame_lengths_formula():
    n = np.array([0, 399, 400, 559, 560, 16000])
    expected = np.array([0, 0, 1, 1, 2, 98])
    np.testing.assert_array_equal(frame_lengths(n), expected)
    np.testing.assert_array_equal(frame_lengths(tf.constant(n, tf.int32)).numpy(), expected)


@pytest.mark.data
def test_matches_numpy_reference_on_real_speech(ljspeech_dir, fsdd_dir):
    """A padded batch of real (resampled) speech: valid frames match float64 numpy; padding is zero."""
    clips = [load_audio(ljspeech_dir / "wavs" / "LJ001-0002.wav"),
             load_audio(sorted((fsdd_dir / "recordings").glob("*.wav"))[0])]
    lengths = np.array([c.shape[0] for c in clips], np.int32)
    batch = np.zeros((2, lengths.max()), np.float32)
    for row, clip in enumerate(clips):
        batch[row, :clip.shape[0]] = clip
    features, out_lengths = LogMelSpectrogram()((batch, lengths))
    features, out_lengths = features.numpy(), out_lengths.numpy()
    assert features.shape == (2, frame_lengths(lengths.max()), 80) and features.dtype == np.float32
    for row, clip in enumerate(clips):
        reference = _log_mel_np(clip)
        assert out_lengths[row] == reference.shape[0]
        valid = features[row, :out_lengths[row]]
        # float32 STFT vs float64: the error grows only where a bin is far below its frame's energy.
        loud = reference > np.log(1e-4)
        assert np.max(np.abs(valid[loud] - reference[loud])) < 2e-3
        assert np.percentile(np.abs(valid - reference), 99) < 1e-2
        np.testing.assert_array_equal(features[row, out_lengths[row]:], 0.0)


def test_floor_modes_and_options():
    x = np.random.default_rng(0).normal(scale=0.1, size=(1, 4000)).astype(np.float32)
    x[0, :1200] = 0.0  # silence: exercises the floor
    n = np.array([4000], np.int32)
    clamp = LogMelSpectrogram(log_floor=1e-5)((x, n))[0].numpy()[0]
    np.testing.assert_allclose(clamp, _log_mel_np(x[0], floor=1e-5), atol=2e-3)
    assert np.isclose(clamp.min(), np.log(1e-5))
    add = LogMelSpectrogram(floor_mode="add", num_mel_bins=40, upper_edge_hertz=7600.0)((x, n))[0].numpy()[0]
    reference = _log_mel_np(x[0], num_mel=40, high=7600.0, floor=0.0 + 1e-300)
    np.testing.assert_allclose(add, np.log(np.exp(reference) + 1e-6), atol=2e-3)


def test_constant_hook_builds_the_window_matrix_and_floor():
    """``log_mel(..., constant)`` passes its three float constants through ``constant`` (the TFLite export's
    run-time constants): the periodic Hann window, the mel matrix and the log floor; echoing them gives the
    layer's output bit for bit, and the floor it returns is the one used."""
    x = np.random.default_rng(3).normal(scale=0.1, size=(1, 4000)).astype(np.float32)
    x[0, :1200] = 0.0  # silence: the floor is reached
    n = np.array([4000], np.int32)
    layer = LogMelSpectrogram(log_floor=1e-5)
    seen = []

    def echo(values):
        seen.append(values)
        return tf.constant(values)

    np.testing.assert_array_equal(layer.log_mel(tf.constant(x), tf.constant(n), echo)[0].numpy(),
                                  layer((x, n))[0].numpy())
    window, matrix, floor = seen
    assert all(v.dtype == np.float32 for v in seen)
    np.testing.assert_allclose(window, 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(400) / 400), atol=1e-6)
    np.testing.assert_allclose(matrix, _mel_matrix_np(80, 512, 16000, 20.0, 8000.0), atol=1e-4)  # float32 edges
    assert floor.shape == () and floor == np.float32(1e-5)
    raised = layer.log_mel(tf.constant(x), tf.constant(n), lambda v: tf.constant(v * 100 if v.ndim == 0 else v))
    assert np.isclose(raised[0].numpy().min(), np.log(1e-3))


def test_short_and_empty_inputs():
    x = np.random.default_rng(1).normal(size=(2, 600)).astype(np.float32)
    features, lengths = LogMelSpectrogram()((x, np.array([600, 100], np.int32)))
    np.testing.assert_array_equal(lengths.numpy(), [2, 0])
    np.testing.assert_array_equal(features.numpy()[1], 0.0)
    features, lengths = LogMelSpectrogram()((x[:, :300], np.array([300, 100], np.int32)))
    assert features.shape == (2, 0, 80)
    np.testing.assert_array_equal(lengths.numpy(), [0, 0])


def test_bad_configuration_errors():
    with pytest.raises(ValueError, match="fft_length"):
        LogMelSpectrogram(fft_length=256)
    with pytest.raises(ValueError, match="floor_mode"):
        LogMelSpectrogram(floor_mode="dB")
    with pytest.raises(ValueError, match="upper_edge_hertz"):
        LogMelSpectrogram(upper_edge_hertz=9000.0)


def test_in_tf_function_with_dynamic_shapes():
    layer = LogMelSpectrogram()
    fn = tf.function(lambda x, n: layer((x, n)), input_signature=[tf.TensorSpec([None, None], tf.float32),
                                                                  tf.TensorSpec([None], tf.int32)])
    for size in (1000, 2000):
        x = np.random.default_rng(size).normal(size=(3, size)).astype(np.float32)
        n = np.array([size, size // 2, 450], np.int32)
        eager = layer((x, n))
        graph = fn(x, n)
        np.testing.assert_allclose(graph[0].numpy(), eager[0].numpy(), atol=1e-5)
        np.testing.assert_array_equal(graph[1].numpy(), frame_lengths(n))


def test_layer_harness(tmp_path):
    """No trainable weights, so fit=False: a fit step has nothing to move."""
    x = np.random.default_rng(2).normal(scale=0.1, size=(2, 2000)).astype(np.float32)
    lengths = np.array([2000, 1200], np.int32)
    run_layer_checks(LogMelSpectrogram, {"num_mel_bins": 40, "log_floor": 1e-5, "floor_mode": "clamp",
                                         "upper_edge_hertz": 7000.0},
                     (x, lengths), tmp_path, fit=False, mixed_precision_rtol=0.01,
                     valid_mask_fn=lengths_mask_fn(out_lengths_fn=frame_lengths))


def test_tflite_builtins_only():
    """Converts with TFLITE_BUILTINS only (RFFT2D, COMPLEX_ABS, ...) and runs in LiteRT like TF."""
    interpreter_module = pytest.importorskip("ai_edge_litert.interpreter",
                                             reason="ai-edge-litert (the 'export' extra) is not installed")
    layer = LogMelSpectrogram()

    class Module(tf.Module):
        @tf.function(input_signature=[tf.TensorSpec([1, None], tf.float32), tf.TensorSpec([1], tf.int32)])
        def features(self, waveform, lengths):
            values, frames = layer((waveform, lengths))
            return {"features": values, "frame_lengths": frames}

    module = Module()
    converter = tf.lite.TFLiteConverter.from_concrete_functions(
        [module.features.get_concrete_function()], module)
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
    interpreter = interpreter_module.Interpreter(model_content=converter.convert())
    ops = {detail["op_name"] for detail in interpreter._get_ops_details()}
    assert "RFFT2D" in ops and not any(op.startswith("Flex") or op == "CUSTOM" for op in ops), ops
    runner = interpreter.get_signature_runner()
    x = np.random.default_rng(3).normal(scale=0.1, size=(1, 8000)).astype(np.float32)
    n = np.array([7000], np.int32)
    got = runner(waveform=x, lengths=n)
    expected = module.features(x, n)
    np.testing.assert_allclose(got["features"], expected["features"].numpy(), atol=1e-4)
    np.testing.assert_array_equal(got["frame_lengths"], expected["frame_lengths"].numpy())
