"""RnntLoss: reductions against the float64 reference, config, and one Keras fit step."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

from tests.losses.test_rnnt_loss import random_batch, reference_loss_and_grad
from tf_contextnet.losses import RnntLoss


@pytest.fixture()
def batch():
    rng = np.random.default_rng(0)
    logits, labels, t_len, u_len = random_batch(rng, 3, 5, 3, 6)
    expected = np.array([reference_loss_and_grad(logits[b], labels[b], t_len[b], u_len[b])[0] for b in range(3)])
    y_pred = {"logits": logits, "logit_lengths": t_len, "label_lengths": u_len}
    return labels, y_pred, expected, u_len


@pytest.mark.parametrize("reduction", ["sum_over_batch_size", "sum", "mean_over_labels", "none"])
def test_reductions_match_reference(batch, reduction):
    labels, y_pred, expected, u_len = batch
    want = {"sum_over_batch_size": expected.mean(), "sum": expected.sum(), "none": expected,
            "mean_over_labels": expected.sum() / np.maximum(u_len, 1).sum()}[reduction]
    got = RnntLoss(reduction=reduction)(labels, y_pred)
    assert got.dtype == tf.float32
    np.testing.assert_allclose(got.numpy(), want, rtol=1e-5)


def test_sample_weight_and_dict_targets(batch):
    labels, y_pred, expected, u_len = batch
    weights = np.array([1.0, 0.0, 2.0], np.float32)
    y_true = {"labels": labels, "label_lengths": u_len}
    y_pred = {k: v for k, v in y_pred.items() if k != "label_lengths"}
    got = RnntLoss(reduction="sum")(y_true, y_pred, sample_weight=weights)
    np.testing.assert_allclose(got.numpy(), (weights * expected).sum(), rtol=1e-5)


def test_float16_logits_are_not_cast(batch):
    labels, y_pred, expected, _ = batch
    y_pred = dict(y_pred, logits=tf.cast(y_pred["logits"], tf.float16))
    got = RnntLoss(reduction="none")(labels, y_pred)
    assert got.dtype == tf.float32
    np.testing.assert_allclose(got.numpy(), expected, rtol=1e-2)


def test_config_round_trip():
    loss = RnntLoss(blank=2, reduction="mean_over_labels", name="my_loss")
    assert (loss.blank, loss.reduction, loss.name) == (2, "mean_over_labels", "my_loss")
    clone = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(loss))
    assert isinstance(clone, RnntLoss)
    assert clone.get_config() == loss.get_config()


def test_bad_arguments_give_clear_errors(batch):
    labels, y_pred, _, _ = batch
    with pytest.raises(ValueError, match="reduction"):
        RnntLoss(reduction="mean")
    with pytest.raises(ValueError, match="'logits'"):
        RnntLoss()(labels, y_pred["logits"])
    with pytest.raises(ValueError, match="label_lengths"):
        RnntLoss()(labels, {k: v for k, v in y_pred.items() if k != "label_lengths"})


class TinyTransducer(keras.Model):
    """Logits from a Dense layer on (frame, step) features; loss through RnntLoss in compute_loss."""

    def __init__(self, vocab: int, **kwargs):
        super().__init__(**kwargs)
        self.dense = keras.layers.Dense(vocab)
        self.rnnt = RnntLoss()

    def call(self, x):
        return {"logits": self.dense(x["joint_inputs"]), "logit_lengths": x["logit_lengths"],
                "label_lengths": x["label_lengths"]}

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        return self.rnnt(x["labels"], y_pred)


def test_fit_decreases_the_loss():
    rng = np.random.default_rng(1)
    b, t, u, v = 4, 6, 3, 5
    x = {"joint_inputs": rng.standard_normal((b, t, u + 1, 8)).astype(np.float32),
         "labels": rng.integers(1, v, size=(b, u)).astype(np.int32),
         "logit_lengths": np.array([6, 5, 4, 6], np.int32), "label_lengths": np.array([3, 2, 3, 1], np.int32)}
    for i in range(b):
        x["labels"][i, x["label_lengths"][i]:] = 0
    model = TinyTransducer(v)
    model.compile(optimizer=keras.optimizers.Adam(0.05))
    history = model.fit(x, epochs=5, batch_size=b, verbose=0)
    losses = history.history["loss"]
    assert np.isfinite(losses).all() and losses[-1] < losses[0]
