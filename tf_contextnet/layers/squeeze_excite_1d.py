"""Squeeze-and-excitation over time for ``[B, T, D]`` sequences, mask-aware.

Shape letters: B batch, T frames, D channels.
"""

from __future__ import annotations

import keras
import tensorflow as tf

from tf_contextnet.utils.masking import valid_frames, zero_padding


@keras.saving.register_keras_serializable(package="tf_contextnet")
class SqueezeExcite1D(keras.layers.Layer):
    """ContextNet's 1-D squeeze-and-excitation (Han et al., 2020, §2.2.1, eq. 2).

    ``θ = sigmoid(W2 · act(W1 · x̄ + b1) + b2)``, ``SE(x) = θ ∘ x``, with ``W1`` of width
    ``max(1, D // reduction)``. ``x̄`` is the mean of ``x`` over the *valid* frames
    ``t < lengths[b]`` (global context, shape ``[B, 1, D]``). With ``context_window=N`` (the
    paper's Table 3 ablation) ``x̄_t`` is instead a stride-one average over the window of ``N``
    frames ``[t - (N-1)//2, t + N//2]`` of the layer's own frame rate, again over valid frames only
    (sum of valid values divided by their count), computed from cumulative sums in O(T·D).

    Call: ``layer((x [B, T, D], lengths [B]), training)`` → ``(y [B, T, D], lengths)``; padded
    frames of ``y`` are zero, and NaN/Inf in the padding of ``x`` reach no valid value or gradient.
    """

    def __init__(self, reduction: int = 8, context_window: int | None = None, activation: str = "swish",
                 **kwargs):
        super().__init__(**kwargs)
        if int(reduction) < 1:
            raise ValueError(f"SqueezeExcite1D: reduction must be >= 1, got {reduction}")
        if context_window is not None and int(context_window) < 1:
            raise ValueError(f"SqueezeExcite1D: context_window must be None or >= 1, got {context_window}")
        self.reduction = int(reduction)
        self.context_window = None if context_window is None else int(context_window)
        self.activation = activation
        self._activation_fn = keras.activations.get(activation)

    def build(self, input_shape):
        x_shape = input_shape[0]
        channels = x_shape[-1]
        if channels is None:
            raise ValueError(f"SqueezeExcite1D needs a known channel dimension, got input shape {x_shape}")
        self.squeeze = keras.layers.Dense(max(1, channels // self.reduction), name="squeeze",
                                          dtype=self.dtype_policy)
        self.excite = keras.layers.Dense(channels, name="excite", dtype=self.dtype_policy)
        self.squeeze.build((None, channels))
        self.excite.build((None, max(1, channels // self.reduction)))
        self.built = True

    def context(self, x: tf.Tensor, mask: tf.Tensor) -> tf.Tensor:
        """The pooled context ``x̄``: ``[B, 1, D]`` (global) or ``[B, T, D]`` (windowed), in
        ``mask``'s dtype (float32, or float64 for a float64 layer).

        ``mask`` is ``[B, T, 1]`` (1 on valid frames); ``x`` must be finite on padding (``call``
        zeroes it with ``tf.where`` first).
        """
        x = tf.cast(x, mask.dtype) * mask
        if self.context_window is None:
            count = tf.maximum(tf.reduce_sum(mask, axis=1, keepdims=True), 1.0)
            return tf.reduce_sum(x, axis=1, keepdims=True) / count
        # Window sums as differences of an exclusive cumulative sum: S[hi] - S[lo].
        total = tf.shape(x)[1]
        steps = tf.range(total)
        hi = tf.minimum(steps + self.context_window // 2 + 1, total)
        lo = tf.maximum(steps - (self.context_window - 1) // 2, 0)
        both = tf.concat([x, mask], axis=-1)
        cumulative = tf.pad(tf.cumsum(both, axis=1), [[0, 0], [1, 0], [0, 0]])
        window = tf.gather(cumulative, hi, axis=1) - tf.gather(cumulative, lo, axis=1)
        sums, count = window[..., :-1], window[..., -1:]
        return sums / tf.maximum(count, 1.0)

    def call(self, inputs, training=None):
        x, lengths = inputs
        valid = valid_frames(lengths, tf.shape(x)[1])
        x = zero_padding(x, valid)  # tf.where: NaN/Inf in padding cannot leak (0·NaN = NaN)
        # Pool in float32 at least: cumulative sums in float16 would lose the window means.
        mask = tf.cast(valid, tf.float64 if x.dtype == tf.float64 else tf.float32)
        pooled = tf.cast(self.context(x, mask), self.compute_dtype)
        # Dense on rank 2 ([B, D] or [B·T, D]): Keras' rank-3 path adds a tensordot's worth of ops.
        flat = tf.reshape(pooled, [-1, pooled.shape[-1]])
        theta = keras.activations.sigmoid(self.excite(self._activation_fn(self.squeeze(flat))))
        theta = tf.reshape(theta, [tf.shape(x)[0], -1, x.shape[-1]])
        return zero_padding(x * theta, valid), lengths

    def compute_output_shape(self, input_shape):
        return input_shape[0], input_shape[1]

    def get_config(self):
        return {**super().get_config(), "reduction": self.reduction, "context_window": self.context_window,
                "activation": self.activation}
