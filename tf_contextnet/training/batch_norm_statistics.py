"""Recompute batch-norm moving statistics from data ("precise BN", Wu & Johnson, 2021, §4).

A short training run leaves the moving averages far from the statistics the weights were
trained with: they start at mean 0 / variance 1 and forget that start only as ``momentum^steps``
(0.99^500 ≈ 0.007 of the initial variance 1 may still dwarf a true variance of 1e-4 deep in a
tiny network), and they average over weights that kept moving. Inference then differs from
training. ``recompute_batch_norm_statistics`` runs the encoder forward in training mode over
``num_batches`` batches with momentum ``k / (k + 1)`` at batch ``k``, so the moving averages
become the equal-weight mean of the per-batch statistics under the final weights. Only
batch-norm statistics change (no gradients, no augmentation: the encoder is called directly).
"""

from __future__ import annotations

import keras
import tensorflow as tf


def batch_norm_layers(model: keras.Model) -> list[keras.layers.Layer]:
    """Every sublayer with ``moving_mean``, ``moving_variance`` and ``momentum`` (masked or Keras BN)."""
    return [layer for layer in model._flatten_layers(include_self=False)
            if all(hasattr(layer, a) for a in ("moving_mean", "moving_variance", "momentum"))]


def recompute_batch_norm_statistics(model: keras.Model, dataset: tf.data.Dataset, num_batches: int = 10) -> int:
    """Set the moving statistics of ``model``'s batch norms from ``num_batches`` batches; returns the count used.

    ``model`` needs ``transcribe(features, lengths, training)``; ``dataset`` yields the batch dicts
    of ``make_dataset``. Runs eagerly (the momentum changes per batch).
    """
    layers = batch_norm_layers(model)
    if not layers:
        return 0
    saved = [layer.momentum for layer in layers]
    used = 0
    try:
        for batch in dataset.take(num_batches):
            for layer in layers:
                layer.momentum = used / (used + 1.0)
            model.transcribe(batch["features"], batch["feature_lengths"], training=True)
            used += 1
    finally:
        for layer, momentum in zip(layers, saved):
            layer.momentum = momentum
    return used
