"""ContextNet's convolution block C(x) (Han et al., 2020, §2.2, eq. 1, Fig. 1).

Shape letters: B batch, T frames (T' = ceil(T / strides) after the block), D channels.
"""

from __future__ import annotations

import keras
import tensorflow as tf

from tf_contextnet.layers.masked_batch_normalization import MaskedBatchNormalization, finish_affine
from tf_contextnet.layers.squeeze_excite_1d import SqueezeExcite1D
from tf_contextnet.utils.masking import valid_frames, zero_padding


@keras.saving.register_keras_serializable(package="tf_contextnet")
class ContextBlock(keras.layers.Layer):
    """``C(x) = swish(SE(f^m(x)) + P(x))``, ``f(x) = swish(BN(DepthwiseSeparableConv(x)))``.

    ``m = num_layers`` layers ``f``, each a depthwise conv (``kernel_size``, no bias) followed by a
    pointwise (1×1) projection to ``filters`` channels (no bias: BN follows), batch norm and
    swish. Only the last layer has stride ``strides``. ``P`` (when ``residual``) is a pointwise
    projection with the block's stride, followed by BN; ``SE`` (when ``se``) is
    ``SqueezeExcite1D(context_window=se_context_window)``. Without residual (C0, C22) the block is
    ``SE(f^m(x))``: ``f`` already ends with a swish.

    Padding semantics: the depthwise conv pads ``(kernel_size-1)//2`` zeros on the left and the
    rest on the right (independently of T), so output frame ``i`` is centred on input frame
    ``i·strides`` and T' = ceil(T / strides); the strided residual takes frames ``0, s, 2s, ...``.
    The input's padding is zeroed with ``tf.where`` (``utils.masking``'s convention: NaN/Inf there
    cannot leak, into values or gradients); padded frames are zeroed again before every depthwise
    conv and on the output, so they never reach
    valid frames; batch-norm statistics come from valid frames only (``MaskedBatchNormalization``),
    so in training too a sequence's outputs do not depend on how much padding it has (apart from
    batch statistics being shared across the batch, as in any batch norm). In inference the
    normalisation is folded into the pointwise kernel (one matmul + bias + swish per layer).
    ``synchronized_batch_norm`` is every batch norm's ``synchronized`` (cross-replica statistics,
    see ``MaskedBatchNormalization``); ``batch_norm_momentum`` is every batch norm's moving-average
    ``momentum``.

    Call: ``block((x [B, T, D_in], lengths [B]), training)`` → ``(y [B, T', filters], lengths')``
    with ``lengths' = ceil(lengths / strides)``.
    """

    fold_batch_norm_in_inference = True

    def __init__(self, filters: int, num_layers: int = 5, kernel_size: int = 5, strides: int = 1,
                 residual: bool = True, se: bool = True, se_context_window: int | None = None,
                 synchronized_batch_norm: bool = False, batch_norm_momentum: float = 0.99, **kwargs):
        super().__init__(**kwargs)
        for name, value in (("filters", filters), ("num_layers", num_layers), ("kernel_size", kernel_size),
                            ("strides", strides)):
            if int(value) < 1:
                raise ValueError(f"ContextBlock: {name} must be >= 1, got {value}")
        self.filters = int(filters)
        self.num_layers = int(num_layers)
        self.kernel_size = int(kernel_size)
        self.strides = int(strides)
        self.residual = bool(residual)
        self.se = bool(se)
        self.se_context_window = None if se_context_window is None else int(se_context_window)
        self.synchronized_batch_norm = bool(synchronized_batch_norm)
        self.batch_norm_momentum = float(batch_norm_momentum)

    def build(self, input_shape):
        channels = input_shape[0][-1]
        if channels is None:
            raise ValueError(f"ContextBlock needs a known channel dimension, got input shape {input_shape[0]}")
        self.depthwise, self.pointwise, self.norms = [], [], []
        for i in range(self.num_layers):
            last = i == self.num_layers - 1
            strided = last and self.strides > 1
            depthwise = keras.layers.DepthwiseConv1D(
                self.kernel_size, strides=self.strides if last else 1, padding="valid" if strided else "same",
                use_bias=False, name=f"depthwise_{i}", dtype=self.dtype_policy)
            depthwise.build((None, None, channels))
            pointwise = keras.layers.Dense(self.filters, use_bias=False, name=f"pointwise_{i}",
                                           dtype=self.dtype_policy)
            pointwise.build((None, None, channels))
            norm = MaskedBatchNormalization(synchronized=self.synchronized_batch_norm, momentum=self.batch_norm_momentum,
                                            name=f"batch_norm_{i}",
                                            dtype=self.dtype_policy)
            norm.build(((None, None, self.filters), (None,)))
            self.depthwise.append(depthwise)
            self.pointwise.append(pointwise)
            self.norms.append(norm)
            channels = self.filters
        if self.se:
            self.squeeze_excite = SqueezeExcite1D(context_window=self.se_context_window, name="squeeze_excite",
                                                  dtype=self.dtype_policy)
            self.squeeze_excite.build(((None, None, self.filters), (None,)))
        if self.residual:
            self.projection = keras.layers.Dense(self.filters, use_bias=False, name="projection",
                                                 dtype=self.dtype_policy)
            self.projection.build((None, None, input_shape[0][-1]))
            self.projection_norm = MaskedBatchNormalization(synchronized=self.synchronized_batch_norm,
                                                            momentum=self.batch_norm_momentum,
                                                            name="projection_norm", dtype=self.dtype_policy)
            self.projection_norm.build(((None, None, self.filters), (None,)))
        self.built = True

    def output_lengths(self, lengths: tf.Tensor) -> tf.Tensor:
        """``ceil(lengths / strides)``."""
        return (lengths + self.strides - 1) // self.strides

    def _depthwise(self, x: tf.Tensor, layer: keras.layers.DepthwiseConv1D, strides: int) -> tf.Tensor:
        """The depthwise conv of ``layer``'s kernel ``[K, D, 1]`` over time, as ``[B, T, 1, D]`` (time as
        height).

        Keras lays 1-D inputs out as ``[B, 1, T, D]``; TensorFlow's CPU kernel for the filter
        gradient measured ~3x faster with time as the height axis, for the same result.
        """
        # expand_dims/squeeze rather than slicing: a slice's gradient is a StridedSliceGrad scatter
        # (measured ~18 ms per ContextNet-S step), a reshape's is free.
        kernel = tf.expand_dims(tf.cast(layer.kernel, x.dtype), 1)
        # TF wants equal row and column strides; the width is 1, so the column stride changes nothing.
        y = tf.nn.depthwise_conv2d(tf.expand_dims(x, 2), kernel, strides=[1, strides, strides, 1],
                                   padding="VALID" if strides > 1 else "SAME")
        return tf.squeeze(y, 2)

    def _pad_for_stride(self, x: tf.Tensor) -> tf.Tensor:
        left = (self.kernel_size - 1) // 2
        return tf.pad(x, [[0, 0], [left, self.kernel_size - 1 - left], [0, 0]])

    def _linear_norm(self, x: tf.Tensor, dense: keras.layers.Dense, norm: MaskedBatchNormalization,
                     valid: tf.Tensor, training, activate: bool, mask_output: bool,
                     residual: tf.Tensor | None = None) -> tf.Tensor:
        """``act(BN(x · W) [+ residual])`` for ``x`` ``[B, T, D]``, act swish or identity, times
        ``valid`` when ``mask_output``; in inference ``act(x · (W ∘ scale) + offset [+ residual])``
        (BN folded into the kernel).

        The matmul runs on ``[B·T, D]`` as a rank-2 MatMul + BiasAdd: a broadcast rank-3 matmul
        measured ~3× slower on CPU. Training fuses BN, swish and masking into one hand-written
        gradient (``MaskedBatchNormalization.normalize``).
        """
        flat = tf.reshape(x, [-1, x.shape[-1]])
        batch = tf.shape(x)[0]
        if training or not self.fold_batch_norm_in_inference:
            y = tf.reshape(dense(flat), [batch, -1, dense.units])
            return norm.normalize(y, valid, training=training, activate=activate, mask_output=mask_output,
                                  residual=residual)
        scale, offset = norm.scale_and_offset()
        kernel = tf.cast(tf.cast(dense.kernel, scale.dtype) * scale, x.dtype)
        y = tf.nn.bias_add(tf.matmul(flat, kernel), tf.cast(offset, x.dtype))
        return finish_affine(tf.reshape(y, [batch, -1, dense.units]), valid, activate, mask_output, residual)

    def call(self, inputs, training=None):
        x, lengths = inputs
        out_lengths = self.output_lengths(lengths)
        valid = valid_frames(lengths, tf.shape(x)[1])
        mask = tf.cast(valid, x.dtype)
        x = zero_padding(x, valid)  # tf.where: NaN/Inf in padding cannot reach valid frames
        out_mask = mask
        if self.strides > 1:
            out_mask = tf.sequence_mask(out_lengths, maxlen=(tf.shape(x)[1] + self.strides - 1) // self.strides,
                                        dtype=x.dtype)[..., None]
        y, y_mask = x, mask
        for i in range(self.num_layers):
            last = i == self.num_layers - 1
            if last and self.strides > 1:
                y = self._depthwise(self._pad_for_stride(y), self.depthwise[i], self.strides)
                y_mask = out_mask
            else:
                y = self._depthwise(y, self.depthwise[i], 1)
            # padding zeroed before the next depthwise conv (and the SE mean)
            y = self._linear_norm(y, self.pointwise[i], self.norms[i], y_mask, training, activate=True,
                                  mask_output=True)
        if self.se:
            y = self.squeeze_excite((y, out_lengths), training=training)[0]
        if self.residual:
            shortcut = x[:, :: self.strides] if self.strides > 1 else x
            # swish(SE(f^m(x)) + P(x)), masked, fused into P's batch norm
            y = self._linear_norm(shortcut, self.projection, self.projection_norm, out_mask, training,
                                  activate=True, mask_output=True, residual=y)
        return y, out_lengths

    def compute_output_shape(self, input_shape):
        x_shape = input_shape[0]
        frames = None if x_shape[1] is None else -(-x_shape[1] // self.strides)
        return (x_shape[0], frames, self.filters), input_shape[1]

    def get_config(self):
        return {**super().get_config(), "filters": self.filters, "num_layers": self.num_layers,
                "kernel_size": self.kernel_size, "strides": self.strides, "residual": self.residual,
                "se": self.se, "se_context_window": self.se_context_window,
                "synchronized_batch_norm": self.synchronized_batch_norm, "batch_norm_momentum": self.batch_norm_momentum}
