"""Masks derived from lengths: the one place where padding is turned into zeros.

Shapes: B batch, T frames, D channels.
"""

from __future__ import annotations

import tensorflow as tf


def sequence_mask(lengths: tf.Tensor, maxlen: tf.Tensor | int, dtype: tf.DType = tf.float32) -> tf.Tensor:
    """Mask ``[B, T]`` with 1 on the valid frames ``t < lengths[b]`` and 0 on padding."""
    return tf.sequence_mask(lengths, maxlen=maxlen, dtype=dtype)


def mask_sequence(x: tf.Tensor, lengths: tf.Tensor) -> tf.Tensor:
    """Zero the padded frames of ``x`` ``[B, T, ...]`` given ``lengths`` ``[B]``.

    Uses ``tf.where`` rather than a multiply so that NaN/Inf in padding cannot leak.
    """
    mask = tf.sequence_mask(lengths, maxlen=tf.shape(x)[1])
    mask = tf.reshape(mask, tf.concat([tf.shape(mask), tf.ones([tf.rank(x) - 2], tf.int32)], 0))
    return tf.where(mask, x, tf.zeros_like(x))
