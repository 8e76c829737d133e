"""The ContextNet encoder: Table 1's 23 ContextBlocks over log-mel features.

Shape letters: B batch, T input frames, T' output frames, F feature bins, D output channels.
"""

from __future__ import annotations

from typing import Sequence

import keras
import tensorflow as tf

from tf_contextnet.layers.context_block import ContextBlock
from tf_contextnet.models.block_table import block_table, encoder_output_lengths


@keras.saving.register_keras_serializable(package="tf_contextnet")
class ContextNetEncoder(keras.layers.Layer):
    """ContextNet encoder (Han et al., 2020, Table 1): blocks C0..C22 built by ``block_table``.

    ``alpha`` scales every block's channels (S/M/L: 0.5/1/2); ``kernel_size`` is used by every
    depthwise conv; ``downsample_blocks`` lists the blocks with a stride-2 last layer ((3, 7, 14):
    8×; (3,): 2×); ``se``/``se_context_window`` configure each block's squeeze-and-excitation;
    ``synchronized_batch_norm`` makes every batch norm use cross-replica statistics
    (``MaskedBatchNormalization(synchronized=True)``); ``batch_norm_momentum`` is their moving-average
    momentum; ``block_indices`` keeps those rows of Table 1 only (default ``None``: all 23; see
    ``block_table``), a shallower encoder that trains faster on small corpora.

    Call: ``encoder((features [B, T, F], lengths [B]), training)`` → ``(encoded [B, T', D],
    lengths' [B])`` with ``D = round(640·alpha)``, ``T' = ceil(T / 2^k)`` (k strided blocks) and
    ``lengths' = encoder_output_lengths(lengths, downsample_blocks)``; frames past ``lengths'`` are 0.
    """

    def __init__(self, alpha: float = 1.0, kernel_size: int = 5, downsample_blocks: Sequence[int] = (3, 7, 14),
                 se: bool = True, se_context_window: int | None = None, synchronized_batch_norm: bool = False,
                 batch_norm_momentum: float = 0.99, block_indices: Sequence[int] | None = None,
                 **kwargs):
        super().__init__(**kwargs)
        self.alpha = float(alpha)
        self.kernel_size = int(kernel_size)
        self.downsample_blocks = tuple(int(i) for i in downsample_blocks)
        self.se = bool(se)
        self.se_context_window = None if se_context_window is None else int(se_context_window)
        self.synchronized_batch_norm = bool(synchronized_batch_norm)
        self.batch_norm_momentum = float(batch_norm_momentum)
        self.block_indices = None if block_indices is None else tuple(int(i) for i in block_indices)
        # validates the args
        self.table = block_table(self.alpha, self.kernel_size, self.downsample_blocks, self.block_indices)

    @property
    def output_dim(self) -> int:
        """D, the channels of the last block."""
        return self.table[-1].filters

    def build(self, input_shape):
        channels = input_shape[0][-1]
        if channels is None:
            raise ValueError(f"ContextNetEncoder needs a known feature dimension, got input shape {input_shape[0]}")
        self.blocks = []
        for spec in self.table:
            block = ContextBlock(spec.filters, num_layers=spec.num_layers, kernel_size=spec.kernel_size,
                                 strides=spec.strides, residual=spec.residual, se=self.se,
                                 se_context_window=self.se_context_window,
                                 synchronized_batch_norm=self.synchronized_batch_norm,
                                 batch_norm_momentum=self.batch_norm_momentum, name=spec.name.lower(),
                                 dtype=self.dtype_policy)
            block.build(((None, None, channels), (None,)))
            self.blocks.append(block)
            channels = spec.filters
        self.built = True

    def output_lengths(self, lengths: tf.Tensor) -> tf.Tensor:
        """``encoder_output_lengths(lengths, downsample_blocks)``."""
        return encoder_output_lengths(lengths, self.downsample_blocks)

    def call(self, inputs, training=None):
        x, lengths = inputs
        lengths = tf.cast(lengths, tf.int32)
        for block in self.blocks:
            x, lengths = block((x, lengths), training=training)
        return x, lengths

    def compute_output_shape(self, input_shape):
        x_shape = input_shape[0]
        frames = x_shape[1]
        if frames is not None:
            for spec in self.table:
                frames = -(-frames // spec.strides)
        return (x_shape[0], frames, self.output_dim), input_shape[1]

    def get_config(self):
        return {**super().get_config(), "alpha": self.alpha, "kernel_size": self.kernel_size,
                "downsample_blocks": self.downsample_blocks, "se": self.se,
                "se_context_window": self.se_context_window,
                "synchronized_batch_norm": self.synchronized_batch_norm, "batch_norm_momentum": self.batch_norm_momentum,
                "block_indices": self.block_indices}
