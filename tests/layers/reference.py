"""Float64 numpy references for the ContextNet layers (independent of the TensorFlow code)."""

from __future__ import annotations

import numpy as np


def swish(x: np.ndarray) -> np.ndarray:
    return x / (1.0 + np.exp(-x))


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def valid_mask(lengths: np.ndarray, frames: int) -> np.ndarray:
    """``[B, T, 1]`` float64, 1 on frames ``t < lengths[b]``."""
    return (np.arange(frames)[None, :] < np.asarray(lengths)[:, None]).astype(np.float64)[..., None]


def squeeze_excite(x, lengths, w1, b1, w2, b2, context_window=None):
    """SE with the pooled context computed by brute force over each window's valid frames."""
    x = np.asarray(x, np.float64)
    batch, frames, _ = x.shape
    mask = valid_mask(lengths, frames)
    pooled = np.zeros_like(x[:, :1] if context_window is None else x)
    for b in range(batch):
        valid = x[b, : lengths[b]]
        if context_window is None:
            pooled[b, 0] = valid.mean(axis=0) if len(valid) else 0.0
            continue
        for t in range(frames):
            lo, hi = max(t - (context_window - 1) // 2, 0), min(t + context_window // 2 + 1, lengths[b])
            pooled[b, t] = valid[lo:hi].mean(axis=0) if hi > lo else 0.0
    theta = sigmoid(swish(pooled @ w1 + b1) @ w2 + b2)
    return x * theta * mask


def depthwise_conv(x, kernel, strides):
    """'same'-centred depthwise conv: output ``i`` covers input ``i·s - (k-1)//2 .. + k-1`` (zeros outside)."""
    k = kernel.shape[0]
    left = (k - 1) // 2
    padded = np.pad(x, [(0, 0), (left, k - 1 - left), (0, 0)])
    frames = -(-x.shape[1] // strides)
    out = np.zeros((x.shape[0], frames, x.shape[2]))
    for i in range(frames):
        out[:, i] = np.einsum("bkc,kc->bc", padded[:, i * strides: i * strides + k], kernel)
    return out


def batch_norm_inference(x, gamma, beta, mean, variance, epsilon=1e-3):
    return (x - mean) / np.sqrt(variance + epsilon) * gamma + beta


def context_block(x, lengths, weights, kernel_size, strides, num_layers, residual, se, se_context_window=None):
    """``swish(SE(f^m(x)) + P(x))`` in inference mode; ``weights`` a dict of float64 arrays."""
    x = np.asarray(x, np.float64) * valid_mask(lengths, x.shape[1])
    out_lengths = -(-np.asarray(lengths) // strides)
    y = x
    for i in range(num_layers):
        s = strides if i == num_layers - 1 else 1
        y = depthwise_conv(y, weights[f"depthwise_{i}"], s) @ weights[f"pointwise_{i}"]
        y = swish(batch_norm_inference(y, *weights[f"bn_{i}"]))
        y = y * valid_mask(out_lengths if i == num_layers - 1 else lengths, y.shape[1])
    if se:
        y = squeeze_excite(y, out_lengths, *weights["se"], context_window=se_context_window)
    if residual:
        shortcut = batch_norm_inference(x[:, ::strides] @ weights["projection"], *weights["projection_bn"])
        y = swish(y + shortcut) * valid_mask(out_lengths, y.shape[1])
    return y, out_lengths
