"""Per-utterance feature normalisation over valid frames only (cepstral mean/variance normalisation).

Shapes: B batch, T frames, D feature channels.
"""

from __future__ import annotations

from typing import Callable

import keras
import numpy as np
import tensorflow as tf

from tf_contextnet.utils.masking import mask_sequence, sequence_mask


@keras.saving.register_keras_serializable(package="tf_contextnet")
class PerUtteranceNormalization(keras.layers.Layer):
    """``(x [B, T, D], lengths [B]) -> ((x - μ_b) / sqrt(σ²_b + epsilon) [B, T, D], lengths [B])``.

    ``μ_b[d] = (1/L_b) Σ_{t < L_b} x[b, t, d]`` and ``σ²_b[d] = (1/L_b) Σ_{t < L_b} (x[b, t, d] - μ_b[d])²``
    with ``L_b = lengths[b]``: padding never enters the statistics, and stays zero on output. An
    utterance with ``L_b = 0`` gives zeros. ``scale=False`` subtracts the mean only. Statistics are
    computed in float32 (no autocast of ``x``); the output is in the compute dtype.
    """

    def __init__(self, epsilon: float = 1e-5, scale: bool = True, **kwargs):
        super().__init__(autocast=False, **kwargs)
        if epsilon <= 0.0:
            raise ValueError(f"epsilon must be > 0, got {epsilon}")
        self.epsilon = epsilon
        self.scale = scale

    def call(self, inputs, training=None):
        x, lengths = inputs
        return self.normalize(x, lengths)

    def normalize(self, x: tf.Tensor, lengths: tf.Tensor, constant: Callable[[np.ndarray], tf.Tensor] | None = None
                  ) -> tuple[tf.Tensor, tf.Tensor]:
        """The layer's computation (class doc). ``constant`` (float32 array → tensor of the same values)
        builds ``epsilon``; ``None`` lets TensorFlow build it. The TFLite export passes one that builds
        it when the graph runs, so that the fp16 conversion does not store it as float16 (the other
        float constant, 1.0, is exact in every float format)."""
        x = tf.cast(x, tf.float32)
        lengths = tf.cast(lengths, tf.int32)
        epsilon = self.epsilon if constant is None else constant(np.array(self.epsilon, np.float32))
        # expand_dims/reshape, not [:, :, None]: TFLite builtins lack StridedSlice's new_axis_mask.
        mask = tf.expand_dims(sequence_mask(lengths, tf.shape(x)[1], tf.float32), -1)
        count = tf.reshape(tf.maximum(tf.cast(lengths, tf.float32), 1.0), [-1, 1, 1])
        mean = tf.reduce_sum(x * mask, axis=1, keepdims=True) / count
        centered = (x - mean) * mask
        if self.scale:
            variance = tf.reduce_sum(tf.square(centered), axis=1, keepdims=True) / count
            centered = centered * tf.math.rsqrt(variance + epsilon)
        return tf.cast(mask_sequence(centered, lengths), self.compute_dtype), lengths

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[0]), tuple(input_shape[1])

    def get_config(self):
        return {**super().get_config(), "epsilon": self.epsilon, "scale": self.scale}
