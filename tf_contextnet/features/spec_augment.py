"""SpecAugment without time warping (Park et al. 2019; ContextNet, Han et al. 2020, §4.1).

Shapes: B batch, T frames, D feature channels (mel bins).
"""

from __future__ import annotations

import keras
import tensorflow as tf

from tf_contextnet.utils.masking import sequence_mask


def _band_mask(width: tf.Tensor, start: tf.Tensor, size: tf.Tensor) -> tf.Tensor:
    """``[B, size]`` bool, true where any mask ``k`` covers ``start[b, k] <= i < start[b, k] + width[b, k]``."""
    position = tf.range(size)[None, None, :]
    inside = (position >= start[:, :, None]) & (position < (start + width)[:, :, None])
    return tf.reduce_any(inside, axis=1)


def _uniform_int(shape, upper: tf.Tensor, seed) -> tf.Tensor:
    """Integers uniform on ``0..upper`` (inclusive; ``upper`` broadcasts against ``shape``)."""
    u = keras.random.uniform(shape, 0.0, 1.0, dtype="float32", seed=seed)
    value = tf.cast(tf.floor(u * (tf.cast(upper, tf.float32) + 1.0)), tf.int32)
    return tf.minimum(value, upper)


@keras.saving.register_keras_serializable(package="tf_contextnet")
class SpecAugment(keras.layers.Layer):
    """``((x [B, T, D], lengths [B]), training) -> (x', lengths)``: frequency and time masking.

    In training, for each utterance ``b`` with ``L_b = lengths[b]`` valid frames:
    ``num_freq_masks`` bands ``[f0, f0 + f)`` with ``f ~ U{0..min(F, D)}``, ``f0 ~ U{0..D - f}``
    (``F = freq_mask_param``) and ``num_time_masks`` spans ``[t0, t0 + t)`` with
    ``t ~ U{0..floor(time_mask_ratio · L_b)}``, ``t0 ~ U{0..L_b - t}`` are set to ``mask_value``
    on the valid frames only; padding is untouched. The paper's setting is the default: F = 27,
    2 frequency masks, 10 time masks of at most 0.05·length, no time warp. Identity when not
    training. Randomness comes from a ``keras.random.SeedGenerator(seed)``: two layers built with
    the same ``seed`` draw the same masks call after call.
    """

    def __init__(self, freq_mask_param: int = 27, num_freq_masks: int = 2, num_time_masks: int = 10,
                 time_mask_ratio: float = 0.05, mask_value: float = 0.0, seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        if freq_mask_param < 0 or num_freq_masks < 0 or num_time_masks < 0:
            raise ValueError(f"mask sizes and counts must be >= 0, got freq_mask_param={freq_mask_param}, "
                             f"num_freq_masks={num_freq_masks}, num_time_masks={num_time_masks}")
        if not 0.0 <= time_mask_ratio <= 1.0:
            raise ValueError(f"time_mask_ratio must be in [0, 1], got {time_mask_ratio}")
        self.freq_mask_param = freq_mask_param
        self.num_freq_masks = num_freq_masks
        self.num_time_masks = num_time_masks
        self.time_mask_ratio = time_mask_ratio
        self.mask_value = mask_value
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def masks(self, lengths: tf.Tensor, num_frames: tf.Tensor, depth: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        """Draw one set of masks: time ``[B, T]`` and frequency ``[B, D]`` (bool, true = masked)."""
        lengths = tf.cast(lengths, tf.int32)
        batch = tf.shape(lengths)[0]
        max_width = tf.minimum(self.freq_mask_param, depth)
        f = _uniform_int([batch, self.num_freq_masks], max_width, self.seed_generator)
        f0 = _uniform_int([batch, self.num_freq_masks], depth - f, self.seed_generator)
        max_span = tf.cast(tf.floor(self.time_mask_ratio * tf.cast(lengths, tf.float32)), tf.int32)[:, None]
        t = _uniform_int([batch, self.num_time_masks], max_span, self.seed_generator)
        t0 = _uniform_int([batch, self.num_time_masks], lengths[:, None] - t, self.seed_generator)
        return _band_mask(t, t0, num_frames), _band_mask(f, f0, depth)

    def call(self, inputs, training=None):
        x, lengths = inputs
        if not training:
            return x, lengths
        shape = tf.shape(x)
        time_mask, freq_mask = self.masks(lengths, shape[1], shape[2])
        valid = tf.cast(sequence_mask(lengths, shape[1], tf.int32), tf.bool)
        masked = (time_mask[:, :, None] | freq_mask[:, None, :]) & valid[:, :, None]
        return tf.where(masked, tf.cast(self.mask_value, x.dtype), x), lengths

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[0]), tuple(input_shape[1])

    def get_config(self):
        return {**super().get_config(), "freq_mask_param": self.freq_mask_param,
                "num_freq_masks": self.num_freq_masks, "num_time_masks": self.num_time_masks,
                "time_mask_ratio": self.time_mask_ratio, "mask_value": self.mask_value, "seed": self.seed}
