"""One masking convention: NaN/Inf in padding changes no valid output and no gradient (tf.where, never
``x * mask``, where 0·NaN = NaN)."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

from tf_contextnet.layers import MaskedBatchNormalization, SqueezeExcite1D
from tf_contextnet.models import ContextNetEncoder

LENGTHS = np.array([37, 22, 30], np.int32)


def _inputs(channels: int, poison: float, frames: int = 37):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((3, frames, channels)).astype(np.float32)
    x[np.arange(frames)[None, :] >= LENGTHS[:, None]] = poison
    return tf.constant(x)


def _outputs_and_gradients(layer, x, training):
    """Valid outputs and the gradients of a fixed projection of them w.r.t. the layer's weights and x."""
    with tf.GradientTape() as tape:
        tape.watch(x)
        y, lengths = layer((x, tf.constant(LENGTHS)), training=training)
        valid = tf.sequence_mask(lengths, tf.shape(y)[1])[..., None]
        upstream = tf.random.stateless_normal(tf.shape(y), seed=[3, 4])
        total = tf.reduce_sum(tf.where(valid, y * upstream, 0.0))
    grads = tape.gradient(total, [x] + layer.trainable_variables)
    return tf.where(valid, y, 0.0).numpy(), [tf.convert_to_tensor(g).numpy() for g in grads]


def _check(layer, channels, training):
    clean = _outputs_and_gradients(layer, _inputs(channels, 0.0), training)
    for poison in (np.nan, np.inf):
        poisoned = _outputs_and_gradients(layer, _inputs(channels, poison), training)
        np.testing.assert_allclose(poisoned[0], clean[0], rtol=1e-5, atol=1e-6)
        for got, want in zip(poisoned[1], clean[1]):
            assert np.isfinite(got).all()
            np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("training", [True, False])
def test_encoder_ignores_nan_and_inf_in_padding(training):
    keras.utils.set_random_seed(0)
    encoder = ContextNetEncoder(alpha=1 / 32, se_context_window=None)
    encoder.build(((None, None, 6), (None,)))
    _check(encoder, 6, training)


@pytest.mark.parametrize("context_window", [None, 5])
def test_squeeze_excite_ignores_nan_in_padding(context_window):
    layer = SqueezeExcite1D(context_window=context_window)
    layer.build(((None, None, 8), (None,)))
    _check(layer, 8, training=True)


@pytest.mark.parametrize("training", [True, False])
def test_masked_batch_norm_ignores_nan_in_padding(training):
    layer = MaskedBatchNormalization()
    layer.build(((None, None, 4), (None,)))
    _check(layer, 4, training)
