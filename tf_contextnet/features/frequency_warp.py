"""Vocal-tract-length perturbation on log-mel features (Jaitly & Hinton, 2013, "VTLP").

Shapes: B batch, T frames, D mel bins.
"""

from __future__ import annotations

import keras
import tensorflow as tf


def _hertz_to_mel(hertz):
    """HTK mel scale, as ``tf.signal.linear_to_mel_weight_matrix`` uses: ``1127 ln(1 + f / 700)``."""
    return 1127.0 * tf.math.log1p(hertz / 700.0)


def _mel_to_hertz(mel):
    return 700.0 * tf.math.expm1(mel / 1127.0)


def vtlp_source_hertz(target_hertz: tf.Tensor, alpha: tf.Tensor, boundary_hertz: float,
                      nyquist_hertz: float) -> tf.Tensor:
    """The frequency that VTLP's warp maps onto ``target_hertz`` (the inverse of the warp).

    The warp (Jaitly & Hinton 2013, eq. 1) with ``b = boundary_hertz · min(α, 1)`` and
    ``S = nyquist_hertz``: ``f' = α f`` for ``f' <= b``, and above it the straight line through
    ``(b/α, b)`` and ``(S, S)``, so the band edge stays put. ``target_hertz`` ``[D]`` and
    ``alpha`` ``[B, 1]`` give ``[B, D]``.
    """
    knee = boundary_hertz * tf.minimum(alpha, 1.0)
    low = target_hertz / alpha
    slope = (nyquist_hertz - knee / alpha) / (nyquist_hertz - knee)
    high = nyquist_hertz - (nyquist_hertz - target_hertz) * slope
    return tf.where(target_hertz <= knee, low, high)


@keras.saving.register_keras_serializable(package="tf_contextnet")
class FrequencyWarp(keras.layers.Layer):
    """``((x [B, T, D], lengths [B]), training) -> (x', lengths)``: VTLP on mel features.

    In training each utterance draws ``α ~ U[1 - max_warp, 1 + max_warp]`` and its mel axis is
    resampled so that a formant at ``f`` Hz moves to ``α f`` (``vtlp_source_hertz``; linear
    interpolation between neighbouring bins, edge bins repeated): the speaker's vocal tract
    seems ``1/α`` times as long, the tempo is unchanged. Bin ``d`` of D is centred at mel
    ``m_lo + (d + 1)(m_hi - m_lo)/(D + 1)`` between ``lower_edge_hertz`` and ``upper_edge_hertz``,
    as in ``LogMelSpectrogram`` (set the same edges). Identity when not training, and for
    ``max_warp = 0``. Seeded like ``SpecAugment``.
    """

    def __init__(self, max_warp: float = 0.1, boundary_hertz: float = 4800.0, lower_edge_hertz: float = 20.0,
                 upper_edge_hertz: float = 8000.0, seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        if not 0.0 <= max_warp < 1.0:
            raise ValueError(f"FrequencyWarp: max_warp must be in [0, 1), got {max_warp}")
        if not 0.0 <= lower_edge_hertz < boundary_hertz < upper_edge_hertz:
            raise ValueError("FrequencyWarp: need 0 <= lower_edge_hertz < boundary_hertz < upper_edge_hertz, got "
                             f"{lower_edge_hertz}, {boundary_hertz}, {upper_edge_hertz}")
        self.max_warp = float(max_warp)
        self.boundary_hertz = float(boundary_hertz)
        self.lower_edge_hertz = float(lower_edge_hertz)
        self.upper_edge_hertz = float(upper_edge_hertz)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def source_positions(self, alpha: tf.Tensor, depth: int) -> tf.Tensor:
        """Fractional source bin of every output bin, ``[B, D]``, for warp factors ``alpha`` ``[B, 1]``."""
        mel_lo = _hertz_to_mel(tf.constant(self.lower_edge_hertz, tf.float32))
        mel_hi = _hertz_to_mel(tf.constant(self.upper_edge_hertz, tf.float32))
        spacing = (mel_hi - mel_lo) / (depth + 1)
        centres = _mel_to_hertz(mel_lo + spacing * tf.range(1, depth + 1, dtype=tf.float32))
        source = vtlp_source_hertz(centres, alpha, self.boundary_hertz, self.upper_edge_hertz)
        position = (_hertz_to_mel(source) - mel_lo) / spacing - 1.0
        return tf.clip_by_value(position, 0.0, float(depth - 1))

    def warp(self, x: tf.Tensor, alpha: tf.Tensor) -> tf.Tensor:
        """``x`` ``[B, T, D]`` warped by ``alpha`` ``[B, 1]`` (linear interpolation on the mel axis)."""
        depth = x.shape[-1]
        position = self.source_positions(alpha, depth)
        below = tf.floor(position)
        fraction = tf.cast(position - below, x.dtype)[:, None, :]
        below = tf.cast(below, tf.int32)
        above = tf.minimum(below + 1, depth - 1)
        low = tf.gather(x, below, axis=2, batch_dims=1)
        high = tf.gather(x, above, axis=2, batch_dims=1)
        return low + (high - low) * fraction

    def call(self, inputs, training=None):
        x, lengths = inputs
        if not training or self.max_warp == 0.0:
            return x, lengths
        alpha = keras.random.uniform((tf.shape(x)[0], 1), 1.0 - self.max_warp, 1.0 + self.max_warp,
                                     dtype="float32", seed=self.seed_generator)
        return self.warp(x, alpha), lengths

    def compute_output_shape(self, input_shape):
        return input_shape[0], input_shape[1]

    def get_config(self):
        return {**super().get_config(), "max_warp": self.max_warp, "boundary_hertz": self.boundary_hertz,
                "lower_edge_hertz": self.lower_edge_hertz, "upper_edge_hertz": self.upper_edge_hertz,
                "seed": self.seed}

