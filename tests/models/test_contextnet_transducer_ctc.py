"""The auxiliary CTC head of ContextNetTransducer and its term in the training objective."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from tf_contextnet.losses.rnnt_loss import rnnt_loss
from tf_contextnet.losses.transducer_objective import transducer_compute_loss
from tf_contextnet.models.contextnet_transducer import ContextNetTransducer

TINY = dict(vocabulary_size=6, alpha=0.1, prediction_embedding_dim=8, prediction_units=8, joint_dim=8)


def _batch():
    rng = np.random.default_rng(0)
    return {"features": tf.constant(rng.normal(size=(2, 48, 80)).astype(np.float32)),
            "feature_lengths": tf.constant([48, 33]), "labels": tf.constant([[1, 2, 3], [4, 4, 0]]),
            "label_lengths": tf.constant([3, 2])}


def test_ctc_weight_zero_is_the_plain_objective_and_the_term_is_ctc():
    with_ctc = ContextNetTransducer(**TINY, ctc_weight=0.3, l2_weight=0.0)
    plain = ContextNetTransducer(**TINY, l2_weight=0.0)
    with_ctc.build()
    plain.build()
    assert plain.ctc_head is None and with_ctc.ctc_head is not None
    for mine, theirs in zip(plain.parts(), with_ctc.parts()):
        mine.set_weights(theirs.get_weights())
    x = _batch()
    out_plain, out_ctc = plain(x, training=False), with_ctc(x, training=False)
    assert "ctc_logits" not in out_plain
    assert out_ctc["ctc_logits"].shape == (2, out_ctc["logits"].shape[1], 6)
    np.testing.assert_allclose(out_plain["logits"].numpy(), out_ctc["logits"].numpy(), rtol=1e-6)

    rnnt = rnnt_loss(out_plain["logits"], x["labels"], out_plain["logit_lengths"], x["label_lengths"]).numpy()
    plain_loss = float(transducer_compute_loss(plain, x, out_plain, l2_weight=0.0))
    assert plain_loss == pytest.approx(float(np.mean(rnnt)), rel=1e-6)

    ctc = tf.nn.ctc_loss(labels=x["labels"], logits=out_ctc["ctc_logits"], label_length=x["label_lengths"],
                         logit_length=out_ctc["logit_lengths"], logits_time_major=False, blank_index=0).numpy()
    assert np.all(np.isfinite(ctc)) and np.all(ctc > 0)
    total = float(transducer_compute_loss(with_ctc, x, out_ctc, l2_weight=0.0))
    assert total == pytest.approx(float(np.mean(rnnt) + 0.3 * np.mean(ctc)), rel=1e-5)

    with tf.GradientTape() as tape:  # the head learns from the objective
        loss = transducer_compute_loss(with_ctc, x, with_ctc(x, training=True), l2_weight=0.0)
    gradients = tape.gradient(loss, with_ctc.ctc_head.trainable_variables)
    assert all(g is not None and float(tf.reduce_max(tf.abs(g))) > 0 for g in gradients)


def test_ctc_weight_is_configured_and_checked():
    model = ContextNetTransducer(**TINY, ctc_weight=0.25)
    model.build()
    config = model.get_config()
    assert config["ctc_weight"] == 0.25
    restored = ContextNetTransducer.from_config(config)
    restored.build()
    assert restored.ctc_weight == 0.25 and restored.ctc_head is not None
    assert restored.count_params() == model.count_params()
    assert ContextNetTransducer.from_preset("contextnet_s", 6, alpha=0.1).ctc_weight == 0.0
    with pytest.raises(ValueError, match="ctc_weight must be >= 0"):
        ContextNetTransducer(**TINY, ctc_weight=-0.1)
