"""The transducer contract: ContextNetTransducer declares it, its step methods agree with the
sequence path and with a float64 numpy joint, and a model that lacks a method is named."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from tf_contextnet.models import ContextNetTransducer, Transducer, TransducerParts, transducer_parts

TINY = {"vocabulary_size": 7, "num_mel_bins": 12, "alpha": 1 / 32, "prediction_embedding_dim": 8,
        "prediction_units": 6, "prediction_num_layers": 2, "joint_dim": 10}


@pytest.fixture(scope="module")
def model():
    return ContextNetTransducer.from_preset("contextnet_s", **TINY)


def test_contextnet_transducer_declares_its_parts(model):
    parts = transducer_parts(model)
    assert isinstance(model, Transducer) and isinstance(parts, TransducerParts)
    assert parts.encoder is model.encoder
    assert parts.prediction_network.count_params() + parts.joint_network.count_params() \
        + parts.encoder.count_params() == model.count_params()


def test_predict_step_walks_the_label_sequence(model):
    """Feeding blank then the labels one step at a time gives the sequence path's outputs
    (hand-written ``lstm_sequence`` vs the Keras LSTM cell: two implementations)."""
    labels = tf.constant([[3, 1, 5], [2, 6, 0]], tf.int32)
    predicted, _ = model.predict_labels(labels, tf.constant([3, 2]))
    state = model.initial_state(2)
    assert state.shape == (2, 2, 2, 6)
    tokens = tf.zeros([2], tf.int32)
    for u in range(4):
        out, state = model.predict_step(tokens, state)
        np.testing.assert_allclose(out.numpy(), predicted[:, u].numpy(), atol=1e-5)
        if u < 3:
            tokens = labels[:, u]


def test_join_broadcasts_and_matches_float64_numpy(model):
    rng = np.random.default_rng(0)
    enc = rng.standard_normal((2, 5, model.encoder.output_dim)).astype(np.float32)
    pred = rng.standard_normal((2, 3, 6)).astype(np.float32)
    joint = model.joint
    we, be = (w.numpy().astype(np.float64) for w in joint.encoder_projection.weights)
    wp = joint.prediction_projection.kernel.numpy().astype(np.float64)
    wo, bo = (w.numpy().astype(np.float64) for w in joint.output_projection.weights)
    hidden = np.tanh((enc @ we + be)[:, :, None] + (pred @ wp)[:, None])
    expected = hidden @ wo + bo
    lattice = model.join(tf.constant(enc)[:, :, None], tf.constant(pred)[:, None]).numpy()
    np.testing.assert_allclose(lattice, expected, atol=1e-5)
    step = model.join(tf.constant(enc[:, 2]), tf.constant(pred[:, 1])).numpy()
    np.testing.assert_allclose(step, expected[:, 2, 1], atol=1e-5)


def test_a_model_without_the_contract_is_named():
    class NoSteps:
        name = "legacy"
        vocabulary_size = 3

        def parts(self):
            raise AssertionError("not reached")

        def transcribe(self, features, lengths, training=False):
            return features, lengths

        def join(self, encoded, prediction):
            return encoded

    with pytest.raises(TypeError, match="model 'legacy'.*missing initial_state, predict_step"):
        transducer_parts(NoSteps())
