"""A tiny stand-in transducer with the interfaces.md API, independent of the ContextNet model.

Encoder: Dense(tanh) on the features, 2x time subsampling; prediction network: embedding + LSTM
cell with the step API; joint: tanh(W_e f + W_p g) → V. Trains through ``TransducerTrainingMixin`` and
declares the transducer contract (``tf_contextnet.models.transducer``) with its own attribute names.
"""

from __future__ import annotations

import keras
import tensorflow as tf

from tf_contextnet.models import TransducerParts, TransducerTrainingMixin


class TinyPredictionNetwork(keras.layers.Layer):
    def __init__(self, vocabulary_size: int, units: int, **kwargs):
        super().__init__(**kwargs)
        self.vocabulary_size, self.units = vocabulary_size, units
        self.embedding = keras.layers.Embedding(vocabulary_size, units, dtype=self.dtype_policy)
        self.lstm = keras.layers.LSTM(units, return_sequences=True, return_state=True, dtype=self.dtype_policy)

    def call(self, inputs, training=None):
        labels, label_lengths = inputs
        start = tf.zeros_like(labels[:, :1])
        out = self.lstm(self.embedding(tf.concat([start, labels], 1)), training=training)[0]
        return out, label_lengths + 1

    def get_initial_state(self, batch_size):
        return [tf.zeros([batch_size, self.units], self.compute_dtype)] * 2

    def predict_step(self, tokens, state):
        out, h, c = self.lstm(self.embedding(tokens[:, None]), initial_state=state)
        return out[:, 0], [h, c]


class TinyJointNetwork(keras.layers.Layer):
    def __init__(self, vocabulary_size: int, units: int, **kwargs):
        super().__init__(**kwargs)
        self.enc = keras.layers.Dense(units, dtype=self.dtype_policy)
        self.pred = keras.layers.Dense(units, use_bias=False, dtype=self.dtype_policy)
        self.out = keras.layers.Dense(vocabulary_size, dtype=self.dtype_policy)

    def project_encoder(self, x):
        return self.enc(x)

    def project_prediction(self, x):
        return self.pred(x)

    def join(self, enc, pred):
        return self.out(tf.tanh(enc + pred))

    def call(self, inputs):
        enc, pred = inputs
        return self.join(self.project_encoder(enc)[:, :, None], self.project_prediction(pred)[:, None])


class TinyTransducer(TransducerTrainingMixin, keras.Model):
    def __init__(self, vocabulary_size: int, units: int = 16, **kwargs):
        super().__init__(**kwargs)
        self.vocabulary_size, self.units = vocabulary_size, units
        self.encoder = keras.layers.Dense(units, activation="tanh", dtype=self.dtype_policy)
        self.prediction_network = TinyPredictionNetwork(vocabulary_size, units, dtype=self.dtype_policy)
        self.joint_network = TinyJointNetwork(vocabulary_size, units, dtype=self.dtype_policy)

    def parts(self):
        return TransducerParts(self.encoder, self.prediction_network, self.joint_network)

    def transcribe(self, features, lengths, training=None):
        x = features[:, ::2]
        return self.encoder(x), (tf.cast(lengths, tf.int32) + 1) // 2

    def initial_state(self, batch_size):
        return self.prediction_network.get_initial_state(batch_size)

    def predict_step(self, tokens, state):
        return self.prediction_network.predict_step(tokens, state)

    def join(self, encoded, prediction):
        joint = self.joint_network
        return joint.join(joint.project_encoder(encoded), joint.project_prediction(prediction))

    def call(self, x, training=None):
        encoded, lengths = self.transcribe(x["features"], x["feature_lengths"], training)
        predicted, label_lengths = self.prediction_network((x["labels"], x["label_lengths"]), training=training)
        logits = self.joint_network((encoded, predicted))
        return {"logits": logits, "logit_lengths": lengths, "label_lengths": x["label_lengths"]}


def toy_batch(batch: int = 3, frames: int = 12, features: int = 5, labels: int = 3, vocabulary_size: int = 6,
              seed: int = 0) -> dict[str, tf.Tensor]:
    """A random batch dict (interfaces.md) with ragged lengths."""
    g = tf.random.Generator.from_seed(seed)
    feature_lengths = tf.constant([frames, frames - 3, frames - 5][:batch] + [frames] * max(0, batch - 3))
    label_lengths = tf.constant([labels, labels - 1, 1][:batch] + [labels] * max(0, batch - 3))
    ids = g.uniform([batch, labels], 1, vocabulary_size, dtype=tf.int32)
    ids = tf.where(tf.sequence_mask(label_lengths, labels), ids, 0)
    feats = g.normal([batch, frames, features])
    feats = tf.where(tf.sequence_mask(feature_lengths, frames)[..., None], feats, 0.0)
    return {"features": feats, "feature_lengths": feature_lengths, "labels": ids, "label_lengths": label_lengths}
