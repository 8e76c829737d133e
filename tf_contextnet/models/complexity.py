"""Analytic parameter and FLOP counts of the ContextNet transducer (pure functions, no TensorFlow).

FLOPs are 2 × multiply-adds of the convolutions and dense layers (depthwise, pointwise, residual
projection, squeeze-and-excitation); element-wise work (batch norm, which folds into the pointwise
kernel at inference, swish, masks, SE scaling, residual add) is not counted, as is usual for
Table 4-style figures. Frames are 10 ms (100 per second of audio).
"""

from __future__ import annotations

from typing import Sequence

from tf_contextnet.models.block_table import block_table

FRAMES_PER_SECOND = 100


def _se_bottleneck(channels: int, reduction: int) -> int:
    return max(1, channels // reduction)


def encoder_parameters(alpha: float = 1.0, kernel_size: int = 5, downsample_blocks: Sequence[int] = (3, 7, 14),
                       se: bool = True, num_mel_bins: int = 80, se_reduction: int = 8,
                       block_indices: Sequence[int] | None = None) -> int:
    """Weights of ``ContextNetEncoder`` (batch-norm moving statistics included, as ``count_params``)."""
    total, channels_in = 0, num_mel_bins
    for spec in block_table(alpha, kernel_size, downsample_blocks, block_indices):
        c, width = spec.filters, channels_in
        for _ in range(spec.num_layers):
            total += spec.kernel_size * width + width * c + 4 * c  # depthwise, pointwise, BN (γ, β, μ, σ²)
            width = c
        if se:
            r = _se_bottleneck(c, se_reduction)
            total += c * r + r + r * c + c
        if spec.residual:
            total += channels_in * c + 4 * c
        channels_in = c
    return total


def prediction_parameters(vocabulary_size: int, embedding_dim: int = 640, units: int = 640,
                          num_layers: int = 1) -> int:
    """Embedding ``V·E`` plus, per LSTM layer, ``4·H·(input + H + 1)``."""
    total, width = vocabulary_size * embedding_dim, embedding_dim
    for _ in range(num_layers):
        total += 4 * units * (width + units + 1)
        width = units
    return total


def joint_parameters(vocabulary_size: int, encoder_dim: int, prediction_dim: int, joint_dim: int = 640) -> int:
    """``De·J + J`` (encoder projection) + ``Dp·J`` (prediction projection) + ``J·V + V`` (output)."""
    return encoder_dim * joint_dim + joint_dim + prediction_dim * joint_dim + joint_dim * vocabulary_size \
        + vocabulary_size


def transducer_parameters(vocabulary_size: int, num_mel_bins: int = 80, alpha: float = 1.0, kernel_size: int = 5,
                          downsample_blocks: Sequence[int] = (3, 7, 14), se: bool = True,
                          se_context_window: int | None = None, prediction_embedding_dim: int = 640,
                          prediction_units: int = 640, prediction_num_layers: int = 1,
                          joint_dim: int = 640, block_indices: Sequence[int] | None = None,
                          ctc_weight: float = 0.0) -> dict[str, int]:
    """``{"encoder", "prediction", "joint", "total"}`` for ``ContextNetTransducer(**same kwargs)``, and
    ``"ctc"`` (the auxiliary CTC head: a dense layer from the encoder output to V) when ``ctc_weight`` > 0."""
    encoder_dim = block_table(alpha, kernel_size, downsample_blocks, block_indices)[-1].filters
    parts = {
        "encoder": encoder_parameters(alpha, kernel_size, downsample_blocks, se, num_mel_bins,
                                      block_indices=block_indices),
        "prediction": prediction_parameters(vocabulary_size, prediction_embedding_dim, prediction_units,
                                            prediction_num_layers),
        "joint": joint_parameters(vocabulary_size, encoder_dim, prediction_units, joint_dim),
    }
    if ctc_weight > 0:
        parts["ctc"] = (encoder_dim + 1) * vocabulary_size
    return {**parts, "total": sum(parts.values())}


def encoder_flops(num_frames: int = FRAMES_PER_SECOND, alpha: float = 1.0, kernel_size: int = 5,
                  downsample_blocks: Sequence[int] = (3, 7, 14), se: bool = True,
                  se_context_window: int | None = None, num_mel_bins: int = 80, se_reduction: int = 8,
                  block_indices: Sequence[int] | None = None) -> int:
    """FLOPs (2 × multiply-adds) of one ``ContextNetEncoder`` pass over ``num_frames`` input frames.

    A layer with stride s produces ceil(T / s) frames; the SE MLP runs once per sequence (global
    context) or once per frame (``se_context_window``).
    """
    macs, channels_in, frames = 0, num_mel_bins, int(num_frames)
    for spec in block_table(alpha, kernel_size, downsample_blocks, block_indices):
        c, width, block_in_frames = spec.filters, channels_in, frames
        for i in range(spec.num_layers):
            if i == spec.num_layers - 1:
                frames = -(-frames // spec.strides)
            macs += frames * (spec.kernel_size * width + width * c)
            width = c
        if se:
            r = _se_bottleneck(c, se_reduction)
            macs += (frames if se_context_window is not None else 1) * 2 * c * r
        if spec.residual:
            macs += -(-block_in_frames // spec.strides) * channels_in * c
        channels_in = c
    return 2 * macs


def encoder_gflops_per_second(alpha: float = 1.0, kernel_size: int = 5,
                              downsample_blocks: Sequence[int] = (3, 7, 14), se: bool = True,
                              se_context_window: int | None = None, num_mel_bins: int = 80,
                              block_indices: Sequence[int] | None = None) -> float:
    """Encoder GFLOPs per second of audio (100 frames), the paper's Table 4 measure."""
    return encoder_flops(FRAMES_PER_SECOND, alpha, kernel_size, downsample_blocks, se, se_context_window,
                         num_mel_bins, block_indices=block_indices) / 1e9
