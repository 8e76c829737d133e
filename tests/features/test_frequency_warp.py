"""FrequencyWarp (VTLP): identity outside training, the warp against numpy, formants move by α."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from tests.testing import lengths_mask_fn, run_layer_checks
from tf_contextnet.features import FrequencyWarp, LogMelSpectrogram, vtlp_source_hertz


def _inputs(seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(3, 17, 80)).astype(np.float32), np.array([17, 9, 1], np.int32)


def test_harness(tmp_path):
    run_layer_checks(FrequencyWarp, {"max_warp": 0.1, "seed": 3}, _inputs(), tmp_path, fit=False,
                     valid_mask_fn=lengths_mask_fn())


def test_identity_unless_training_or_no_warp():
    x, lengths = _inputs()
    for layer, training in ((FrequencyWarp(seed=1), False), (FrequencyWarp(seed=1), None),
                            (FrequencyWarp(max_warp=0.0), True)):
        y, out_lengths = layer((x, lengths), training=training)
        np.testing.assert_array_equal(y.numpy(), x)
        np.testing.assert_array_equal(out_lengths.numpy(), lengths)
    assert not np.allclose(FrequencyWarp(seed=1)((x, lengths), training=True)[0].numpy(), x)


def _numpy_source_hertz(target, alpha, boundary, nyquist):
    """Invert the forward VTLP warp numerically on a dense grid (independent of the closed form)."""
    grid = np.linspace(0.0, nyquist, 200001)
    knee = boundary * min(alpha, 1.0) / alpha
    forward = np.where(grid <= knee, alpha * grid,
                       nyquist - (nyquist - boundary * min(alpha, 1.0)) / (nyquist - knee) * (nyquist - grid))
    return np.interp(target, forward, grid)


@pytest.mark.parametrize("alpha", [0.85, 0.93, 1.0, 1.07, 1.2])
def test_source_frequency_inverts_the_warp(alpha):
    target = np.linspace(0.0, 8000.0, 97)
    got = vtlp_source_hertz(tf.constant(target, tf.float32), tf.constant([[alpha]], tf.float32), 4800.0, 8000.0)
    np.testing.assert_allclose(got.numpy()[0], _numpy_source_hertz(target, alpha, 4800.0, 8000.0), atol=0.5)


def test_warp_interpolates_a_smooth_spectrum():
    """Features that are a smooth function of bin frequency come out as that function at the source frequency."""
    layer = FrequencyWarp()
    mel = 1127.0 * np.log1p(np.array([20.0, 8000.0]) / 700.0)
    centres_mel = mel[0] + (mel[1] - mel[0]) / 81 * np.arange(1, 81)
    centres = 700.0 * np.expm1(centres_mel / 1127.0)
    x = np.broadcast_to(np.sin(centres_mel / 300.0), (2, 4, 80)).astype(np.float32)
    alpha = np.array([[0.9], [1.12]], np.float32)
    y = layer.warp(tf.constant(x), tf.constant(alpha)).numpy()
    for b in range(2):
        source = _numpy_source_hertz(centres, alpha[b, 0], 4800.0, 8000.0)
        source_mel = np.clip(1127.0 * np.log1p(source / 700.0), centres_mel[0], centres_mel[-1])
        np.testing.assert_allclose(y[b, 0], np.sin(source_mel / 300.0), atol=2e-3)


@pytest.mark.parametrize("alpha", [0.9, 1.1])
def test_a_tone_moves_to_alpha_times_its_frequency(alpha):
    """The log-mel peak of a 1 kHz tone warped by α lands where a tone at α kHz peaks."""
    t = np.arange(16000) / 16000.0
    extractor = LogMelSpectrogram()

    def features(hertz):
        audio = tf.constant(np.sin(2 * np.pi * hertz * t)[None].astype(np.float32))
        return extractor((audio, tf.constant([16000])))[0]

    warped = FrequencyWarp().warp(features(1000.0), tf.constant([[alpha]]))
    peak = np.argmax(warped.numpy()[0].mean(axis=0))
    expected = np.argmax(features(1000.0 * alpha).numpy()[0].mean(axis=0))
    assert abs(int(peak) - int(expected)) <= 1, (peak, expected)


@pytest.mark.parametrize("kwargs", [{"max_warp": 1.0}, {"max_warp": -0.1}, {"boundary_hertz": 9000.0}])
def test_bad_arguments(kwargs):
    with pytest.raises(ValueError, match="FrequencyWarp"):
        FrequencyWarp(**kwargs)
