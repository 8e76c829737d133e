"""Tiny models with a ``compute_loss`` override, independent of the ContextNet parts.

Used by the training tests (also from subprocesses: import with ``tests/training`` on sys.path).
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf


@keras.saving.register_keras_serializable(package="tf_contextnet_tests")
class TinyRegressor(keras.Model):
    """y = Dense(tanh(Dense(x))); ``prediction_network`` names the second layer (for weight noise).

    ``compute_loss`` is the mean squared error to ``x["target"]`` (the data is a dict, no ``y``),
    the way the transducer's loss reads its labels from ``x``.
    """

    def __init__(self, units: int = 8, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.hidden = keras.layers.Dense(units, activation="tanh")
        self.prediction_network = keras.layers.Dense(1)

    def call(self, x, training=None):
        return self.prediction_network(self.hidden(x["inputs"]))

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        loss = tf.reduce_mean(tf.square(tf.cast(y_pred, tf.float32) - x["target"]))
        replicas = tf.distribute.get_strategy().num_replicas_in_sync
        return loss / replicas if replicas > 1 else loss

    def get_config(self):
        return {**super().get_config(), "units": self.units}


def regression_data(n: int = 64, features: int = 4, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, features)).astype("float32")
    w = rng.normal(size=(features, 1)).astype("float32")
    return {"inputs": x, "target": np.tanh(x @ w).astype("float32")}


def regression_dataset(batch_size: int = 8, n: int = 64, seed: int = 0, repeat: int = 1) -> tf.data.Dataset:
    return tf.data.Dataset.from_tensor_slices(regression_data(n, seed=seed)).repeat(repeat).batch(
        batch_size, drop_remainder=True)
