"""Recomputed batch-norm statistics equal the data's statistics (precise BN)."""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from tf_contextnet.training.batch_norm_statistics import batch_norm_layers, recompute_batch_norm_statistics


class Normed(keras.Model):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.norm = keras.layers.BatchNormalization(momentum=0.99)

    def transcribe(self, features, lengths, training=False):
        return self.norm(features, training=training), lengths


def test_moving_statistics_become_the_mean_of_batch_statistics():
    rng = np.random.default_rng(0)
    batches = [rng.normal(loc=3.0 + i, scale=0.1 * (i + 1), size=(4, 6, 2)).astype("float32") for i in range(3)]
    dataset = tf.data.Dataset.from_tensor_slices(
        {"features": np.stack(batches), "feature_lengths": np.full((3, 4), 6, np.int32)})
    model = Normed()
    model.transcribe(batches[0], None)
    assert len(batch_norm_layers(model)) == 1
    assert recompute_batch_norm_statistics(model, dataset, num_batches=5) == 3
    means = [b.reshape(-1, 2).mean(0) for b in batches]
    variances = [b.reshape(-1, 2).var(0) for b in batches]
    np.testing.assert_allclose(model.norm.moving_mean.numpy(), np.mean(means, 0), rtol=1e-5)
    np.testing.assert_allclose(model.norm.moving_variance.numpy(), np.mean(variances, 0), rtol=1e-4)
    assert model.norm.momentum == 0.99  # restored
