"""The RNN-T joint network.

Shape letters: B batch, T' encoder frames, U labels, De/Dp encoder/prediction channels, J joint
dim, V vocabulary (blank 0 included).
"""

from __future__ import annotations

import keras
import tensorflow as tf


@keras.saving.register_keras_serializable(package="tf_contextnet")
class JointNetwork(keras.layers.Layer):
    """``logits = W_o · tanh(W_e · enc + b_e + W_p · pred) + b_o`` (Graves 2012; Han et al., 2020).

    ``project_encoder(enc [.., De]) → [.., J]`` (with bias), ``project_prediction(pred [.., Dp])
    → [.., J]`` (no bias: it would duplicate ``b_e``), ``join(enc_proj, pred_proj) → logits
    [.., V]`` (broadcasting add, tanh, output projection). Projecting before broadcasting keeps
    the cost of the input projections at O((T' + U)·J) instead of O(T'·U·J).

    Call: ``joint((enc [B, T', De], pred [B, U+1, Dp]))`` → ``logits [B, T', U+1, V]``.
    """

    def __init__(self, vocabulary_size: int, joint_dim: int = 640, **kwargs):
        super().__init__(**kwargs)
        if int(vocabulary_size) < 2:
            raise ValueError(f"JointNetwork: vocabulary_size must be >= 2 (blank + 1 token), got {vocabulary_size}")
        if int(joint_dim) < 1:
            raise ValueError(f"JointNetwork: joint_dim must be >= 1, got {joint_dim}")
        self.vocabulary_size = int(vocabulary_size)
        self.joint_dim = int(joint_dim)

    def build(self, input_shape):
        enc_shape, pred_shape = input_shape
        if enc_shape[-1] is None or pred_shape[-1] is None:
            raise ValueError(f"JointNetwork needs known channel dimensions, got {enc_shape} and {pred_shape}")
        self.encoder_projection = keras.layers.Dense(self.joint_dim, name="encoder_projection",
                                                     dtype=self.dtype_policy)
        self.encoder_projection.build((None, enc_shape[-1]))
        self.prediction_projection = keras.layers.Dense(self.joint_dim, use_bias=False,
                                                        name="prediction_projection", dtype=self.dtype_policy)
        self.prediction_projection.build((None, pred_shape[-1]))
        self.output_projection = keras.layers.Dense(self.vocabulary_size, name="output_projection",
                                                    dtype=self.dtype_policy)
        self.output_projection.build((None, self.joint_dim))
        self.built = True

    def project_encoder(self, encoded: tf.Tensor) -> tf.Tensor:
        """``[.., De] → [.., J]``."""
        return self.encoder_projection(encoded)

    def project_prediction(self, predicted: tf.Tensor) -> tf.Tensor:
        """``[.., Dp] → [.., J]``."""
        return self.prediction_projection(predicted)

    def join(self, encoder_projected: tf.Tensor, prediction_projected: tf.Tensor) -> tf.Tensor:
        """``tanh(enc + pred)`` (broadcast) projected to ``[.., V]`` logits."""
        hidden = tf.tanh(encoder_projected + prediction_projected)
        # A rank-2 MatMul is several times faster on CPU than TF's broadcast batch matmul.
        logits = self.output_projection(tf.reshape(hidden, [-1, self.joint_dim]))
        return tf.reshape(logits, tf.concat([tf.shape(hidden)[:-1], [self.vocabulary_size]], 0))

    def call(self, inputs, training=None):
        encoded, predicted = inputs
        return self.join(self.project_encoder(encoded)[:, :, None, :],
                         self.project_prediction(predicted)[:, None, :, :])

    def compute_output_shape(self, input_shape):
        enc_shape, pred_shape = input_shape
        return enc_shape[0], enc_shape[1], pred_shape[1], self.vocabulary_size

    def get_config(self):
        return {**super().get_config(), "vocabulary_size": self.vocabulary_size, "joint_dim": self.joint_dim}
