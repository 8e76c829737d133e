"""Tests for GlobalFeatureNormalization and compute_feature_statistics (mask-aware, float64 reference)."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

from tests.testing import lengths_mask_fn, run_layer_checks
from tf_contextnet.features import GlobalFeatureNormalization, compute_feature_statistics


def _batches(seed=0):
    rng = np.random.default_rng(seed)
    batches = []
    for size, length in ((3, 40), (2, 25)):
        lengths = rng.integers(0, length + 1, size=size).astype(np.int32)
        lengths[0] = length
        x = rng.normal(loc=np.linspace(-8, 4, 8), scale=np.linspace(0.5, 3, 8), size=(size, length, 8))
        x[np.arange(length)[None, :] >= lengths[:, None]] = 1e6  # padding must not count
        batches.append((x.astype(np.float32), lengths))
    return batches


def _valid_frames(batches):
    return np.concatenate([x[b, :n] for x, lengths in batches for b, n in enumerate(lengths)]).astype(np.float64)


def test_statistics_match_numpy_and_accept_data_dicts():
    batches = _batches()
    frames = _valid_frames(batches)
    mean, variance, count = compute_feature_statistics(batches)
    assert count == frames.shape[0]
    np.testing.assert_allclose(mean, frames.mean(axis=0), rtol=1e-9)
    np.testing.assert_allclose(variance, frames.var(axis=0), rtol=1e-6)
    dataset = tf.data.Dataset.from_generator(
        lambda: ({"features": x, "feature_lengths": n} for x, n in batches),
        output_signature={"features": tf.TensorSpec([None, None, 8], tf.float32),
                          "feature_lengths": tf.TensorSpec([None], tf.int32)})
    mean_dict, variance_dict, _ = compute_feature_statistics(dataset.as_numpy_iterator())
    np.testing.assert_allclose(mean_dict, mean)
    np.testing.assert_allclose(variance_dict, variance)


def test_statistics_errors():
    with pytest.raises(ValueError, match="no valid frames"):
        compute_feature_statistics([(np.zeros((1, 4, 3), np.float32), np.array([0]))])
    with pytest.raises(ValueError, match="feature_lengths"):
        compute_feature_statistics([{"features": np.zeros((1, 4, 3))}])


def test_adapt_normalises_and_survives_save_load(tmp_path):
    batches = _batches()
    layer = GlobalFeatureNormalization()
    layer.adapt(batches)
    frames = _valid_frames(batches)
    x, lengths = batches[0]
    y = layer((x, lengths))[0].numpy()
    expected = (x.astype(np.float64) - frames.mean(axis=0)) / np.sqrt(frames.var(axis=0) + 1e-5)
    valid = np.arange(x.shape[1])[None, :] < lengths[:, None]
    np.testing.assert_allclose(y[valid], expected[valid], atol=1e-4)
    assert not np.any(y[~valid])
    np.testing.assert_allclose(layer.get_config()["mean"], frames.mean(axis=0), rtol=1e-6)
    inputs = keras.Input((None, 8)), keras.Input((), dtype="int32")
    model = keras.Model(inputs, layer(inputs))
    model.save(tmp_path / "norm.keras")
    restored = keras.saving.load_model(tmp_path / "norm.keras")
    np.testing.assert_allclose(restored((x, lengths))[0].numpy(), y, atol=1e-6)


def test_normalize_builds_the_statistics_with_the_constant_hook():
    """``normalize(x, lengths, constant)`` (the TFLite export's run-time constants) takes the mean and
    ``1 / sqrt(variance + epsilon)`` from ``constant``: echoing them gives the layer's output bit for bit."""
    x, lengths = _batches()[0]
    mean, variance = np.linspace(-8, 4, 8), np.linspace(0.5, 3, 8) ** 2
    layer = GlobalFeatureNormalization(mean=mean.tolist(), variance=variance.tolist(), epsilon=1e-4)
    seen = []

    def echo(values):
        seen.append(values)
        return tf.constant(values)

    np.testing.assert_array_equal(layer.normalize(x, lengths, echo)[0].numpy(), layer((x, lengths))[0].numpy())
    assert [v.dtype for v in seen] == [np.float32, np.float32]
    np.testing.assert_allclose(seen[0], mean, rtol=1e-6)
    np.testing.assert_allclose(seen[1], 1 / np.sqrt(variance + 1e-4), rtol=1e-6)


def test_unadapted_is_identity_and_bad_stats():
    x, lengths = _batches()[1]
    y = GlobalFeatureNormalization(epsilon=1e-12)((x, lengths))[0].numpy()
    valid = np.arange(x.shape[1])[None, :] < lengths[:, None]
    np.testing.assert_allclose(y[valid], x[valid], rtol=1e-6)
    with pytest.raises(ValueError, match="both mean and variance"):
        GlobalFeatureNormalization(mean=[0.0])
    with pytest.raises(ValueError, match="channels"):
        GlobalFeatureNormalization(mean=[0.0] * 3, variance=[1.0] * 3)((x, lengths))


def test_layer_harness(tmp_path):
    """Only non-trainable statistics, so fit=False."""
    x, lengths = _batches(1)[0]
    x = np.where(np.arange(x.shape[1])[None, :, None] < lengths[:, None, None], x, 0.0).astype(np.float32)
    mean = [float(v) for v in np.linspace(-8, 4, 8)]
    variance = [float(v) for v in np.linspace(0.5, 3, 8) ** 2]
    run_layer_checks(GlobalFeatureNormalization, {"mean": mean, "variance": variance, "epsilon": 1e-4},
                     (x, lengths), tmp_path, fit=False, valid_mask_fn=lengths_mask_fn())
