"""Batched graph greedy decoding against a slow per-utterance python greedy search."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

from tf_contextnet.decoding import greedy_decode_encoded


class TinyPrediction(keras.layers.Layer):
    """A stand-in prediction network with the interfaces.md step API (embedding + LSTM cell)."""

    def __init__(self, vocabulary_size, units, **kwargs):
        super().__init__(**kwargs)
        self.embedding = keras.layers.Embedding(vocabulary_size, units)
        self.cell = keras.layers.LSTMCell(units)
        self.units = units

    def get_initial_state(self, batch_size):
        return [tf.zeros([batch_size, self.units]), tf.zeros([batch_size, self.units])]

    def predict_step(self, tokens, state):
        out, state = self.cell(self.embedding(tokens), state)
        return out, list(state)


class TinyJoint(keras.layers.Layer):
    def __init__(self, vocabulary_size, units, blank_bias, **kwargs):
        super().__init__(**kwargs)
        self.enc = keras.layers.Dense(units)
        self.pred = keras.layers.Dense(units)
        self.out = keras.layers.Dense(vocabulary_size,
                                      bias_initializer=keras.initializers.Constant([blank_bias] + [0.0] * (vocabulary_size - 1)))

    def project_encoder(self, x):
        return self.enc(x)

    def project_prediction(self, x):
        return self.pred(x)

    def join(self, enc, pred):
        return self.out(tf.tanh(enc + pred))


def reference_greedy(encoded, lengths, prediction, joint, max_symbols):
    """One utterance at a time, one frame at a time, eager python."""
    hyps = []
    for b in range(encoded.shape[0]):
        state = prediction.get_initial_state(1)
        out, state = prediction.predict_step(tf.constant([0]), state)
        tokens = []
        for t in range(int(lengths[b])):
            f = joint.project_encoder(encoded[b:b + 1, t])
            for _ in range(max_symbols):
                k = int(np.argmax(joint.join(f, joint.project_prediction(out)).numpy()[0]))
                if k == 0:
                    break
                tokens.append(k)
                out, state = prediction.predict_step(tf.constant([k]), state)
        hyps.append(tokens)
    return hyps


@pytest.mark.parametrize("seed,blank_bias,max_symbols", [(0, 1.0, 2), (1, 0.0, 3), (2, 3.0, 1)])
def test_greedy_matches_reference(seed, blank_bias, max_symbols):
    keras.utils.set_random_seed(seed)
    vocab, batch, frames, depth = 7, 4, 9, 5
    prediction, joint = TinyPrediction(vocab, 8), TinyJoint(vocab, 8, blank_bias)
    encoded = tf.random.normal([batch, frames, depth], seed=seed) * 2.0
    lengths = tf.constant([9, 4, 0, 7])
    expected = reference_greedy(encoded, lengths.numpy(), prediction, joint, max_symbols)  # builds the layers
    tokens, token_lengths = greedy_decode_encoded(encoded, lengths, prediction, joint,
                                                  max_symbols_per_frame=max_symbols)
    got = [list(row[:n]) for row, n in zip(tokens.numpy(), token_lengths.numpy())]
    assert got == expected
    assert np.all(tokens.numpy()[np.arange(tokens.shape[1])[None, :] >= token_lengths.numpy()[:, None]] == 0)
    assert expected[2] == []  # a zero-length utterance decodes to nothing
    assert sum(map(len, expected)) > 0, "degenerate test: nothing was emitted"


def test_symbol_cap_is_reached_and_respected():
    keras.utils.set_random_seed(3)
    prediction, joint = TinyPrediction(5, 4), TinyJoint(5, 4, blank_bias=-50.0)  # blank never wins
    encoded = tf.random.normal([2, 6, 3])
    reference_greedy(encoded[:, :1], [1, 1], prediction, joint, 1)  # builds the layers
    tokens, lengths = greedy_decode_encoded(encoded, tf.constant([6, 3]), prediction, joint,
                                            max_symbols_per_frame=2)
    np.testing.assert_array_equal(lengths.numpy(), [12, 6])


def test_invalid_cap_raises():
    with pytest.raises(ValueError, match="max_symbols_per_frame"):
        greedy_decode_encoded(tf.zeros([1, 2, 3]), tf.constant([2]), TinyPrediction(5, 4), TinyJoint(5, 4, 0.0),
                              max_symbols_per_frame=0)


def test_with_the_model_prediction_and_joint_networks():
    """The ContextNet decoder parts (state layout [L, 2, B, H]) against the same python reference."""
    models = pytest.importorskip("tf_contextnet.models.prediction_network")
    from tf_contextnet.models.joint_network import JointNetwork

    keras.utils.set_random_seed(4)
    prediction = models.PredictionNetwork(vocabulary_size=6, embedding_dim=5, units=7, num_layers=2)
    joint = JointNetwork(vocabulary_size=6, joint_dim=8)
    encoded = tf.random.normal([3, 8, 4], seed=4) * 2.0
    prediction.build()
    joint.build(((None, None, 4), (None, None, 7)))
    lengths = tf.constant([8, 5, 2])
    expected = reference_greedy(encoded, lengths.numpy(), prediction, joint, 3)
    tokens, token_lengths = greedy_decode_encoded(encoded, lengths, prediction, joint, max_symbols_per_frame=3)
    assert [list(r[:n]) for r, n in zip(tokens.numpy(), token_lengths.numpy())] == expected
    assert sum(map(len, expected)) > 0
