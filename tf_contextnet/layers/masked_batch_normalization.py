"""Batch normalisation whose statistics come from valid frames only.

Shape letters: B batch, T frames, D channels.
"""

from __future__ import annotations

import keras
import tensorflow as tf


@keras.saving.register_keras_serializable(package="tf_contextnet")
class MaskedBatchNormalization(keras.layers.Layer):
    """Batch normalisation over ``[B, T, D]`` with statistics from the frames ``t < lengths[b]``.

    Training: ``μ = Σ m·x / Σ m``, ``σ² = Σ m·(x - μ)² / Σ m`` over B and T (``m`` the valid-frame
    mask), ``y = γ (x - μ) / sqrt(σ² + ε) + β``; moving averages ``v ← momentum·v + (1-momentum)·stat``.
    Inference: ``y = x · scale + offset`` with ``scale = γ / sqrt(σ²_moving + ε)`` and
    ``offset = β - μ_moving · scale`` (see ``scale_and_offset``, which lets a caller fold the
    normalisation into a preceding linear map). Padded frames are *not* zeroed here (the caller
    masks after its activation); statistics are computed in the variable dtype (float32 under
    mixed precision).

    Statistics are per replica (not synchronised across a distribution strategy).

    Call: ``layer((x [B, T, D], lengths [B]), training)`` → ``(y [B, T, D], lengths)``.
    """

    def __init__(self, momentum: float = 0.99, epsilon: float = 1e-3, **kwargs):
        super().__init__(**kwargs)
        if not 0.0 <= momentum <= 1.0:
            raise ValueError(f"MaskedBatchNormalization: momentum must be in [0, 1], got {momentum}")
        if epsilon <= 0.0:
            raise ValueError(f"MaskedBatchNormalization: epsilon must be > 0, got {epsilon}")
        self.momentum = float(momentum)
        self.epsilon = float(epsilon)

    def build(self, input_shape):
        channels = input_shape[0][-1]
        if channels is None:
            raise ValueError(f"MaskedBatchNormalization needs a known channel dimension, got {input_shape[0]}")
        self.gamma = self.add_weight(shape=(channels,), initializer="ones", name="gamma", autocast=False)
        self.beta = self.add_weight(shape=(channels,), initializer="zeros", name="beta", autocast=False)
        self.moving_mean = self.add_weight(shape=(channels,), initializer="zeros", name="moving_mean",
                                           trainable=False, autocast=False)
        self.moving_variance = self.add_weight(shape=(channels,), initializer="ones", name="moving_variance",
                                               trainable=False, autocast=False)
        self.built = True

    def scale_and_offset(self) -> tuple[tf.Tensor, tf.Tensor]:
        """The inference-mode affine map ``(scale [D], offset [D])`` in the variable dtype."""
        scale = tf.convert_to_tensor(self.gamma) * tf.math.rsqrt(tf.convert_to_tensor(self.moving_variance)
                                                                 + self.epsilon)
        return scale, tf.convert_to_tensor(self.beta) - tf.convert_to_tensor(self.moving_mean) * scale

    def batch_statistics(self, x: tf.Tensor, lengths: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        """``(mean [D], variance [D])`` over the valid frames, in the variable dtype."""
        x = tf.cast(x, self.variable_dtype)
        mask = tf.sequence_mask(lengths, maxlen=tf.shape(x)[1], dtype=x.dtype)[..., None]
        count = tf.maximum(tf.reduce_sum(mask), 1.0)
        mean = tf.reduce_sum(x * mask, axis=(0, 1)) / count
        variance = tf.reduce_sum(tf.square((x - mean) * mask), axis=(0, 1)) / count
        return mean, variance

    def call(self, inputs, training=None):
        x, lengths = inputs
        if training:
            mean, variance = self.batch_statistics(x, lengths)
            self.moving_mean.assign(self.moving_mean * self.momentum + mean * (1.0 - self.momentum))
            self.moving_variance.assign(self.moving_variance * self.momentum + variance * (1.0 - self.momentum))
            scale = tf.convert_to_tensor(self.gamma) * tf.math.rsqrt(variance + self.epsilon)
            offset = tf.convert_to_tensor(self.beta) - mean * scale
        else:
            scale, offset = self.scale_and_offset()
        return x * tf.cast(scale, x.dtype) + tf.cast(offset, x.dtype), lengths

    def compute_output_shape(self, input_shape):
        return input_shape[0], input_shape[1]

    def get_config(self):
        return {**super().get_config(), "momentum": self.momentum, "epsilon": self.epsilon}
