"""Feature normalisation with global statistics computed from a training set.

Shapes: B batch, T frames, D feature channels.
"""

from __future__ import annotations

from typing import Callable, Iterable, Sequence

import keras
import numpy as np
import tensorflow as tf

from tf_contextnet.utils.masking import mask_sequence


def _features_and_lengths(element) -> tuple[np.ndarray, np.ndarray]:
    if isinstance(element, dict):
        if "features" not in element or "feature_lengths" not in element:
            raise ValueError(f"a dict element needs 'features' and 'feature_lengths', got keys {sorted(element)}")
        return np.asarray(element["features"]), np.asarray(element["feature_lengths"])
    if isinstance(element, (tuple, list)) and len(element) == 2:
        first, second = element
        if isinstance(first, dict):
            return _features_and_lengths(first)
        return np.asarray(first), np.asarray(second)
    raise ValueError("expected elements (features [B, T, D], lengths [B]), ({...}, y) or a dict with "
                     f"'features' and 'feature_lengths'; got {type(element).__name__}")


def compute_feature_statistics(dataset: Iterable) -> tuple[np.ndarray, np.ndarray, int]:
    """Mean ``[D]``, variance ``[D]`` and frame count over the valid frames of every batch.

    ``dataset`` yields ``(features [B, T, D], lengths [B])``, or the data dict with ``features`` and
    ``feature_lengths`` (alone or as ``(x, y)``). Sums are accumulated in float64:
    ``μ = Σx / n``, ``σ² = Σx² / n - μ²`` over the ``n`` valid frames.
    """
    total = total_sq = None
    count = 0
    for element in dataset:
        features, lengths = _features_and_lengths(element)
        if features.ndim != 3:
            raise ValueError(f"features must be [B, T, D], got shape {features.shape}")
        valid = np.arange(features.shape[1])[None, :] < lengths[:, None]
        frames = features[valid].astype(np.float64)
        if total is None:
            total = np.zeros(features.shape[-1])
            total_sq = np.zeros(features.shape[-1])
        total += frames.sum(axis=0)
        total_sq += np.square(frames).sum(axis=0)
        count += frames.shape[0]
    if count == 0:
        raise ValueError("no valid frames in the dataset: cannot compute feature statistics")
    mean = total / count
    return mean, np.maximum(total_sq / count - np.square(mean), 0.0), count


@keras.saving.register_keras_serializable(package="tf_contextnet")
class GlobalFeatureNormalization(keras.layers.Layer):
    """``(x [B, T, D], lengths [B]) -> ((x - mean) / sqrt(variance + epsilon), lengths)``, padding kept zero.

    ``mean`` and ``variance`` (``D`` floats each) come from :func:`compute_feature_statistics` over the
    training set, given in the constructor or set by :meth:`adapt`. They live in the config and enter
    the graph as constants, not variables: nothing to capture in tf.data, SavedModel or TFLite (a
    ``tf.Module`` that does not track Keras 3 variables explicitly exports garbage for them). Until
    set, the layer is the identity (padding still zeroed).
    """

    def __init__(self, mean: Sequence[float] | None = None, variance: Sequence[float] | None = None,
                 epsilon: float = 1e-5, **kwargs):
        super().__init__(**kwargs)
        if (mean is None) != (variance is None):
            raise ValueError("give both mean and variance, or neither")
        if mean is not None and len(mean) != len(variance):
            raise ValueError(f"mean has {len(mean)} values but variance has {len(variance)}")
        if variance is not None and min(variance) < 0:
            raise ValueError(f"variance must be >= 0, got min {min(variance)}")
        self.mean = None if mean is None else [float(v) for v in mean]
        self.variance = None if variance is None else [float(v) for v in variance]
        self.epsilon = epsilon

    def build(self, input_shape):
        depth = input_shape[0][-1]
        if self.mean is not None and depth is not None and depth != len(self.mean):
            raise ValueError(f"features have {depth} channels but the statistics have {len(self.mean)}")

    def adapt(self, dataset: Iterable) -> None:
        """Set ``mean``/``variance`` from ``dataset`` (see :func:`compute_feature_statistics`).

        Call it before the layer is traced into a graph: traced graphs keep the statistics they saw.
        """
        mean, variance, _ = compute_feature_statistics(dataset)
        if self.mean is not None and len(self.mean) != mean.shape[0]:
            raise ValueError(f"layer has statistics for {len(self.mean)} channels, data has {mean.shape[0]}")
        self.mean, self.variance = mean.tolist(), variance.tolist()

    def call(self, inputs, training=None):
        x, lengths = inputs
        return self.normalize(x, lengths)

    def normalize(self, x: tf.Tensor, lengths: tf.Tensor, constant: Callable[[np.ndarray], tf.Tensor] | None = None
                  ) -> tuple[tf.Tensor, tf.Tensor]:
        """The layer's computation (class doc). ``constant`` (float32 array → tensor of the same values)
        builds ``mean`` and ``1 / sqrt(variance + epsilon)``; ``None`` lets TensorFlow build them. The
        TFLite export passes one that builds them when the graph runs, so that the fp16 conversion does
        not store them as float16."""
        if self.mean is None:
            return mask_sequence(x, lengths), lengths
        if constant is None:
            mean = tf.constant(self.mean, x.dtype)
            inv_std = tf.cast(tf.math.rsqrt(tf.constant(self.variance, tf.float32) + self.epsilon), x.dtype)
        else:
            with tf.init_scope():  # the float32 values that the graph above computes
                inv_std_values = tf.math.rsqrt(tf.constant(self.variance, tf.float32) + self.epsilon).numpy()
            mean = tf.cast(constant(np.array(self.mean, np.float32)), x.dtype)
            inv_std = tf.cast(constant(inv_std_values), x.dtype)
        return mask_sequence((x - mean) * inv_std, lengths), lengths

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[0]), tuple(input_shape[1])

    def get_config(self):
        return {**super().get_config(), "mean": self.mean, "variance": self.variance, "epsilon": self.epsilon}
