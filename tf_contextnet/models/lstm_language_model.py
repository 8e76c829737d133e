"""An LSTM language model over the acoustic model's token ids, for shallow fusion in beam search.

Shape letters: B batch (or hypotheses), U tokens, H LSTM units, L LSTM layers, V the acoustic
model's vocabulary (blank 0 included).

Ids: the input alphabet is the acoustic model's ``0..V-1`` with blank (0) as the start symbol; the
output alphabet is ``0..V`` where ``1..V-1`` are the tokens and ``V`` is end of sentence
(``end_id``); output 0 is never predicted (its logit is pinned to a large negative value), so the
distribution over tokens and ``</s>`` sums to one. The sentence ``y_1..y_U`` scores
``log p(y_1 | 0) + Σ_u log p(y_{u+1} | 0, y_1..y_u) + log p(</s> | 0, y_1..y_U)``.

The paper's LM is 3 LSTM layers of 4096 (Han et al., 2020, §4.2): the defaults here.
"""

from __future__ import annotations

import keras
import tensorflow as tf

from tf_contextnet.models.lstm_sequence import build_lstm_stack, lstm_stack_step

NEG_INF = -1e9


@keras.saving.register_keras_serializable(package="tf_contextnet")
class LstmLanguageModel(keras.Model):
    """Embedding (``embedding_dim``), ``num_layers`` LSTM layers of ``units``, a softmax over ``V + 1`` outputs.

    Call: ``lm(inputs [B, U] int32)`` (inputs start with 0) → logits ``[B, U, V + 1]`` (float32).
    Step API for decoding: ``initial_state(n)`` → ``[L, 2, n, H]`` zeros; ``step(tokens [n], state)``
    → ``(log_probs [n, V + 1] float32, state)``. ``dropout`` applies between layers in training.
    """

    def __init__(self, vocabulary_size: int, embedding_dim: int = 512, units: int = 4096, num_layers: int = 3,
                 dropout: float = 0.0, **kwargs):
        super().__init__(**kwargs)
        for name, value in (("embedding_dim", embedding_dim), ("units", units), ("num_layers", num_layers)):
            if int(value) < 1:
                raise ValueError(f"LstmLanguageModel: {name} must be >= 1, got {value}")
        if int(vocabulary_size) < 2:
            raise ValueError(f"LstmLanguageModel: vocabulary_size must be >= 2 (blank + 1 token), got {vocabulary_size}")
        if not 0.0 <= float(dropout) < 1.0:
            raise ValueError(f"LstmLanguageModel: dropout must be in [0, 1), got {dropout}")
        self.vocabulary_size = int(vocabulary_size)
        self.embedding_dim = int(embedding_dim)
        self.units = int(units)
        self.num_layers = int(num_layers)
        self.dropout = float(dropout)

    @property
    def end_id(self) -> int:
        """The end-of-sentence output id, ``V``."""
        return self.vocabulary_size

    def build(self, input_shape=None):
        self.embedding = keras.layers.Embedding(self.vocabulary_size, self.embedding_dim, name="embedding",
                                                dtype=self.dtype_policy)
        self.embedding.build((None, None))
        self.lstms = build_lstm_stack(self.units, self.num_layers, self.embedding_dim, self.dtype_policy)
        self.output_projection = keras.layers.Dense(self.vocabulary_size + 1, name="output_projection",
                                                    dtype=self.dtype_policy)
        self.output_projection.build((None, self.units))
        self.dropout_layer = keras.layers.Dropout(self.dropout)
        self.built = True

    def _logits(self, hidden: tf.Tensor) -> tf.Tensor:
        logits = tf.cast(self.output_projection(hidden), tf.float32)
        never = tf.one_hot(0, self.vocabulary_size + 1, on_value=NEG_INF, off_value=0.0)
        return logits + never

    def call(self, inputs, training=None):
        y = self.embedding(tf.cast(inputs, tf.int32))
        for lstm in self.lstms:
            y = self.dropout_layer(lstm(y, training=training), training=training)
        return self._logits(y)

    def initial_state(self, batch_size: int | tf.Tensor) -> tf.Tensor:
        """Zero state ``[L, 2, n, H]`` (float32)."""
        return tf.zeros([self.num_layers, 2, batch_size, self.units], tf.float32)

    def step(self, tokens: tf.Tensor, state: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        """``tokens [n]`` (0 = start), ``state [L, 2, n, H]`` → ``(log p(next) [n, V + 1], new state)``."""
        if not self.built:
            self.build()
        y, new_state = lstm_stack_step(self.embedding(tf.cast(tokens, tf.int32)), self.lstms, state)
        return tf.nn.log_softmax(self._logits(y), axis=-1), new_state

    def sentence_log_probs(self, tokens: tf.Tensor, lengths: tf.Tensor) -> tf.Tensor:
        """``log p(y_1..y_U </s>)`` ``[B]`` of 0-padded ``tokens [B, U]`` with ``lengths [B]``."""
        tokens = tf.cast(tokens, tf.int32)
        lengths = tf.cast(lengths, tf.int32)
        inputs = tf.pad(tokens, [[0, 0], [1, 0]])
        targets = tf.pad(tokens, [[0, 0], [0, 1]])
        positions = tf.range(tf.shape(targets)[1])[None]
        targets = tf.where(positions == lengths[:, None], self.end_id, targets)
        log_probs = tf.nn.log_softmax(self(inputs, training=False), axis=-1)
        picked = tf.gather(log_probs, targets, batch_dims=2)
        return tf.reduce_sum(tf.where(positions <= lengths[:, None], picked, 0.0), axis=1)

    def get_config(self):
        return {**super().get_config(), "vocabulary_size": self.vocabulary_size,
                "embedding_dim": self.embedding_dim, "units": self.units, "num_layers": self.num_layers,
                "dropout": self.dropout}
