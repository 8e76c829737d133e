"""Recomputed batch-norm statistics (precise BN) on the library's MaskedBatchNormalization and the real model."""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from tf_contextnet.layers import MaskedBatchNormalization
from tf_contextnet.models import ContextNetTransducer
from tf_contextnet.training.batch_norm_statistics import batch_norm_layers, recompute_batch_norm_statistics


class Normed(keras.Model):
    """The smallest host of the ``transcribe`` the function calls: one masked batch norm."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.norm = MaskedBatchNormalization(momentum=0.99)

    def transcribe(self, features, lengths, training=False):
        return self.norm((features, lengths), training=training)


def test_moving_statistics_become_the_mean_of_the_valid_frames_statistics():
    rng = np.random.default_rng(0)
    lengths = np.array([[6, 3, 5, 2], [4, 6, 1, 6], [2, 2, 6, 5]], np.int32)
    batches = [rng.normal(loc=3.0 + i, scale=0.1 * (i + 1), size=(4, 6, 2)).astype("float32") for i in range(3)]
    for batch, lens in zip(batches, lengths):
        batch[np.arange(6)[None, :] >= lens[:, None]] = 1000.0  # padding must not count
    dataset = tf.data.Dataset.from_tensor_slices({"features": np.stack(batches), "feature_lengths": lengths})
    model = Normed()
    model.transcribe(batches[0], lengths[0])
    assert batch_norm_layers(model) == [model.norm]
    assert recompute_batch_norm_statistics(model, dataset, num_batches=5) == 3
    valid = [b[np.arange(6)[None, :] < lens[:, None]] for b, lens in zip(batches, lengths)]  # [frames, 2]
    np.testing.assert_allclose(model.norm.moving_mean.numpy(), np.mean([v.mean(0) for v in valid], 0), rtol=1e-5)
    np.testing.assert_allclose(model.norm.moving_variance.numpy(), np.mean([v.var(0) for v in valid], 0),
                               rtol=1e-4)
    assert model.norm.momentum == 0.99  # restored


def test_real_model_inference_equals_training_mode_after_recomputing_on_one_batch():
    """With one batch's statistics in every moving average, inference normalises exactly as training does."""
    keras.utils.set_random_seed(0)
    model = ContextNetTransducer(vocabulary_size=5, num_mel_bins=8, alpha=1 / 32, prediction_embedding_dim=4,
                                 prediction_units=4, joint_dim=4)
    rng = np.random.default_rng(1)
    lengths = np.array([40, 27, 33], np.int32)
    features = (rng.standard_normal((3, 40, 8)) * 2 + 1).astype(np.float32)
    features[np.arange(40)[None, :] >= lengths[:, None]] = 0.0
    batch = {"features": features, "feature_lengths": lengths}
    training, out_lengths = model.transcribe(features, lengths, training=True)
    valid = np.arange(training.shape[1])[None, :] < out_lengths.numpy()[:, None]
    layers = batch_norm_layers(model)
    assert layers and all(isinstance(layer, MaskedBatchNormalization) for layer in layers)
    before = model.transcribe(features, lengths, training=False)[0].numpy()
    assert not np.allclose(before[valid], training.numpy()[valid], atol=1e-2)  # fresh statistics: 0 / 1
    assert recompute_batch_norm_statistics(model, tf.data.Dataset.from_tensors(batch).repeat(), num_batches=2) == 2
    after = model.transcribe(features, lengths, training=False)[0].numpy()
    np.testing.assert_allclose(after[valid], training.numpy()[valid], rtol=1e-3, atol=1e-4)
