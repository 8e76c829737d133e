"""The RNN-T prediction network: embedding + stacked LSTM over the label history.

Shape letters: B batch, U labels, H LSTM units, L LSTM layers, V vocabulary (blank 0 included).
"""

from __future__ import annotations

import keras
import tensorflow as tf

from tf_contextnet.models.lstm_sequence import build_lstm_stack, lstm_sequence, lstm_stack_step

LSTM_IMPLEMENTATIONS = ("auto", "fused", "keras")


@keras.saving.register_keras_serializable(package="tf_contextnet")
class PredictionNetwork(keras.layers.Layer):
    """Embedding (``embedding_dim``) followed by ``num_layers`` LSTM layers of ``units``.

    The paper's decoder is one LSTM layer of 640 (Han et al., 2020, §3). Blank (id 0) is
    prepended as the start symbol, so output ``u`` summarises labels ``y_1..y_u``.

    Call: ``net((labels [B, U], label_lengths [B]), training)`` → ``(predicted [B, U+1, H],
    label_lengths + 1)``; the LSTM is causal, so padded labels never affect valid positions.
    Step API for decoding: ``get_initial_state(batch_size)`` → ``state [L, 2, B, H]`` (h, c per
    layer, zeros) and ``predict_step(tokens [B], state)`` → ``(out [B, H], state)``.

    ``lstm_implementation`` picks how the training sequence runs (the weights, the values and the
    step API are the same for all): ``"fused"``, ``lstm_sequence`` (a faster hand-written gradient
    on CPU); ``"keras"``, Keras' LSTM layer (cuDNN on a GPU); ``"auto"`` (default), Keras' when a GPU
    is visible when the call is traced, else fused.
    """

    def __init__(self, vocabulary_size: int, embedding_dim: int = 640, units: int = 640, num_layers: int = 1,
                 lstm_implementation: str = "auto", **kwargs):
        super().__init__(**kwargs)
        if lstm_implementation not in LSTM_IMPLEMENTATIONS:
            raise ValueError(f"PredictionNetwork: lstm_implementation must be one of {LSTM_IMPLEMENTATIONS}, "
                             f"got {lstm_implementation!r}")
        for name, value in (("vocabulary_size", vocabulary_size), ("embedding_dim", embedding_dim),
                            ("units", units), ("num_layers", num_layers)):
            if int(value) < 1:
                raise ValueError(f"PredictionNetwork: {name} must be >= 1, got {value}")
        if int(vocabulary_size) < 2:
            raise ValueError(f"PredictionNetwork: vocabulary_size must be >= 2 (blank + 1 token), got {vocabulary_size}")
        self.vocabulary_size = int(vocabulary_size)
        self.embedding_dim = int(embedding_dim)
        self.units = int(units)
        self.num_layers = int(num_layers)
        self.lstm_implementation = lstm_implementation

    def build(self, input_shape=None):
        self.embedding = keras.layers.Embedding(self.vocabulary_size, self.embedding_dim, name="embedding",
                                                dtype=self.dtype_policy)
        self.embedding.build((None, None))
        self.lstms = build_lstm_stack(self.units, self.num_layers, self.embedding_dim, self.dtype_policy,
                                      return_state=True)
        self.built = True

    def get_initial_state(self, batch_size: int | tf.Tensor) -> tf.Tensor:
        """Zero state ``[L, 2, B, H]`` (float32 under every policy; cast on use)."""
        return tf.zeros([self.num_layers, 2, batch_size, self.units], tf.float32)

    def call(self, inputs, training=None):
        labels, label_lengths = inputs
        labels = tf.cast(labels, tf.int32)
        if labels.shape.rank != 2:
            raise ValueError(f"PredictionNetwork expects labels [B, U], got shape {labels.shape}")
        tokens = tf.pad(labels, [[0, 0], [1, 0]])
        y = self.embedding(tokens)
        use_keras = self.uses_keras_lstm()
        for lstm in self.lstms:
            if use_keras:
                y = lstm(y, training=training)[0]
            else:
                y = lstm_sequence(y, lstm.cell.kernel, lstm.cell.recurrent_kernel, lstm.cell.bias)
        return y, tf.cast(label_lengths, tf.int32) + 1

    def uses_keras_lstm(self) -> bool:
        """Whether ``call`` runs Keras' LSTM layer (else ``lstm_sequence``); ``"auto"`` asks now for a GPU."""
        if self.lstm_implementation == "auto":
            return bool(tf.config.list_logical_devices("GPU"))
        return self.lstm_implementation == "keras"

    def predict_step(self, tokens: tf.Tensor, state: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        """One decoding step: ``tokens [B]`` (0 = blank/start) and ``state [L, 2, B, H]``
        → ``(out [B, H], new_state [L, 2, B, H])``."""
        if not self.built:
            self.build()
        return lstm_stack_step(self.embedding(tf.cast(tokens, tf.int32)), self.lstms, state)

    def compute_output_shape(self, input_shape):
        labels_shape = input_shape[0]
        frames = None if labels_shape[1] is None else labels_shape[1] + 1
        return (labels_shape[0], frames, self.units), input_shape[1]

    def get_config(self):
        return {**super().get_config(), "vocabulary_size": self.vocabulary_size,
                "embedding_dim": self.embedding_dim, "units": self.units, "num_layers": self.num_layers,
                "lstm_implementation": self.lstm_implementation}
