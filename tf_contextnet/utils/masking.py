"""Masks derived from lengths: the one place where padding is turned into zeros.

Shapes: B batch, T frames, D channels.

The convention of every layer in ``tf_contextnet.layers``: a layer that takes ``(x, lengths)``
zeroes the padding of ``x`` with ``tf.where`` (``zero_padding``) before anything reads it, so
NaN/Inf in padding can never reach a valid frame (``x * mask`` and masked sums written as matmuls
give 0·NaN = NaN). After that entry point, padded values are finite and the fused internals
(masked sums as matmuls, ``y * valid`` on outputs, hand-written gradients) may multiply by the
float mask, which is cheaper than a select on CPU.
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


def valid_frames(lengths: tf.Tensor, maxlen: tf.Tensor | int) -> tf.Tensor:
    """Boolean ``[B, T, 1]``: true on the valid frames ``t < lengths[b]`` (broadcasts over D)."""
    return tf.sequence_mask(lengths, maxlen=maxlen)[..., None]


def zero_padding(x: tf.Tensor, valid: tf.Tensor) -> tf.Tensor:
    """``x`` ``[B, T, D]`` with the frames where ``valid`` ``[B, T, 1]`` (bool) is false set to 0 by
    ``tf.where``: NaN/Inf there cannot leak, and its gradient there is 0, not NaN."""
    return tf.where(valid, x, tf.zeros([], x.dtype))
