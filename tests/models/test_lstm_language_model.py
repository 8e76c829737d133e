"""LstmLanguageModel: the step API agrees with the sequence call, sentence scores, config and saving."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

from tf_contextnet.models import LstmLanguageModel


def tiny(vocabulary=5, seed=0):
    keras.utils.set_random_seed(seed)
    model = LstmLanguageModel(vocabulary, embedding_dim=4, units=6, num_layers=2)
    model.build()
    return model


def test_step_agrees_with_call_and_sentence_scores():
    model = tiny()
    sentences = [[1, 3, 2], [4], []]
    state, out = model.initial_state(1), None
    for sentence in sentences:
        state = model.initial_state(1)
        log_probs, state = model.step(tf.constant([0]), state)
        expected = 0.0
        for token in sentence:
            expected += float(log_probs[0, token])
            log_probs, state = model.step(tf.constant([token]), state)
        expected += float(log_probs[0, model.end_id])
        ragged = tf.ragged.constant([sentence], dtype=tf.int32, inner_shape=())
        got = float(model.sentence_log_probs(ragged.to_tensor(), ragged.row_lengths())[0]) if sentence else \
            float(model.sentence_log_probs(tf.zeros([1, 0], tf.int32), tf.constant([0]))[0])
        assert got == pytest.approx(expected, abs=1e-5)
    batch = tf.ragged.constant(sentences, dtype=tf.int32, inner_shape=())
    together = model.sentence_log_probs(batch.to_tensor(), batch.row_lengths()).numpy()
    alone = [float(model.sentence_log_probs(tf.constant([s], tf.int32), tf.constant([len(s)]))[0]) if s else
             float(model.sentence_log_probs(tf.zeros([1, 0], tf.int32), tf.constant([0]))[0]) for s in sentences]
    np.testing.assert_allclose(together, alone, atol=1e-5)  # padding never leaks into shorter sentences


def test_distribution_excludes_the_start_symbol():
    model = tiny()
    log_probs, _ = model.step(tf.constant([0, 2]), model.initial_state(2))
    probs = np.exp(log_probs.numpy())
    assert probs.shape == (2, 6)
    np.testing.assert_allclose(probs.sum(-1), 1.0, atol=1e-6)
    assert np.all(probs[:, 0] < 1e-30)


def test_config_and_saving(tmp_path):
    model = tiny()
    config = model.get_config()
    clone = LstmLanguageModel.from_config(config)
    assert clone.get_config() == config
    assert (model.vocabulary_size, model.embedding_dim, model.units, model.num_layers) == (5, 4, 6, 2)
    model.save(tmp_path / "lm.keras")
    loaded = keras.saving.load_model(tmp_path / "lm.keras", compile=False)
    inputs = tf.constant([[0, 1, 2, 3]])
    np.testing.assert_allclose(loaded(inputs).numpy(), model(inputs).numpy(), atol=1e-6)


def test_bad_arguments():
    with pytest.raises(ValueError, match="vocabulary_size"):
        LstmLanguageModel(1)
    with pytest.raises(ValueError, match="dropout"):
        LstmLanguageModel(5, dropout=1.5)
