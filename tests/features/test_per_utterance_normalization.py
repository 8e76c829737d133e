"""Tests for PerUtteranceNormalization against float64 numpy statistics over valid frames."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from tests.testing import lengths_mask_fn, run_layer_checks
from tf_contextnet.features import LogMelSpectrogram, PerUtteranceNormalization, load_audio


def _inputs(seed=0):
    rng = np.random.default_rng(seed)
    lengths = np.array([50, 23, 1, 0], np.int32)
    x = rng.normal(loc=-5.0, scale=3.0, size=(4, 50, 16)).astype(np.float32)
    x[1, 23:] = 1e4  # garbage in padding must not enter the statistics
    return x, lengths


def _reference(x, lengths, epsilon=1e-5, scale=True):
    out = np.zeros_like(x, np.float64)
    for b, n in enumerate(lengths):
        if n == 0:
            continue
        valid = x[b, :n].astype(np.float64)
        centered = valid - valid.mean(axis=0)
        out[b, :n] = centered / np.sqrt(valid.var(axis=0) + epsilon) if scale else centered
    return out


@pytest.mark.parametrize("scale", [True, False])
def test_matches_numpy_over_valid_frames(scale):
    x, lengths = _inputs()
    y, out_lengths = PerUtteranceNormalization(scale=scale)((x, lengths))
    np.testing.assert_allclose(y.numpy(), _reference(x, lengths, scale=scale), atol=1e-4)
    np.testing.assert_array_equal(out_lengths.numpy(), lengths)


@pytest.mark.data
def test_real_log_mel_zero_mean_unit_variance(ljspeech_dir):
    audio = load_audio(ljspeech_dir / "wavs" / "LJ001-0002.wav")
    features, frames = LogMelSpectrogram()((audio[None], np.array([audio.shape[0]], np.int32)))
    y = PerUtteranceNormalization()((features, frames))[0].numpy()[0]
    np.testing.assert_allclose(y.mean(axis=0), 0.0, atol=1e-4)
    np.testing.assert_allclose(y.std(axis=0), 1.0, atol=1e-3)


def test_normalize_builds_epsilon_with_the_constant_hook():
    """``normalize(x, lengths, constant)`` (the TFLite export's run-time constants) takes epsilon from
    ``constant``: echoing it gives the layer's output bit for bit; the epsilon returned is the one used."""
    x, lengths = _inputs()
    layer = PerUtteranceNormalization()
    seen = []

    def echo(values):
        seen.append(values)
        return tf.constant(values)

    np.testing.assert_array_equal(layer.normalize(x, lengths, echo)[0].numpy(), layer((x, lengths))[0].numpy())
    assert len(seen) == 1 and seen[0].dtype == np.float32 and seen[0] == np.float32(1e-5)
    wide = layer.normalize(x, lengths, lambda v: tf.constant(np.float32(100.0)))[0].numpy()
    np.testing.assert_allclose(wide, _reference(x, lengths, epsilon=100.0), atol=1e-4)


def test_bad_epsilon():
    with pytest.raises(ValueError, match="epsilon"):
        PerUtteranceNormalization(epsilon=0.0)


def test_layer_harness(tmp_path):
    """No trainable weights, so fit=False."""
    x, lengths = _inputs(1)
    run_layer_checks(PerUtteranceNormalization, {"epsilon": 1e-3, "scale": True}, (x, lengths), tmp_path,
                     fit=False, valid_mask_fn=lengths_mask_fn())
