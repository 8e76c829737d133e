"""The transducer training loss: RNN-T NLL mean + L2 on kernels, fp32 under mixed precision."""

from __future__ import annotations

import sys
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf

sys.path.insert(0, str(Path(__file__).parent))
from tiny_transducer import TinyTransducer, toy_batch  # noqa: E402

from tf_contextnet.losses import rnnt_loss  # noqa: E402
from tf_contextnet.training import l2_variables, make_optimizer, set_precision, transducer_compute_loss  # noqa: E402


@pytest.fixture()
def global_precision():
    """Yields ``set_precision``; the global Keras policy found before the test is restored after it,
    also when the test fails half-way (later tests would otherwise build float16 models)."""
    saved = keras.mixed_precision.global_policy().name
    yield set_precision
    keras.mixed_precision.set_global_policy(saved)


def _model(**kwargs):
    keras.utils.set_random_seed(0)
    model = TinyTransducer(vocabulary_size=6, **kwargs)
    model(toy_batch())
    return model


def test_loss_is_mean_nll_plus_l2_on_kernels():
    model = _model()
    batch = toy_batch()
    y_pred = model(batch)
    nll = rnnt_loss(y_pred["logits"], batch["labels"], y_pred["logit_lengths"], batch["label_lengths"]).numpy()
    names = sorted(v.path for v in l2_variables(model))
    assert not any(n.endswith("bias") for n in names)
    # independently listed: 3 dense kernels in the joint, encoder kernel, LSTM kernel + recurrent, embedding
    assert len(names) == 7, names
    squares = sum(float(np.sum(np.square(v.numpy().astype(np.float64)))) for v in model.trainable_variables
                  if v.path in names)
    expected = nll.mean() + 0.5 * squares
    got = transducer_compute_loss(model, batch, y_pred, l2_weight=0.5)
    assert got.dtype == tf.float32
    assert float(got) == pytest.approx(expected, rel=1e-5)
    assert float(transducer_compute_loss(model, batch, y_pred, l2_weight=0.0)) == pytest.approx(nll.mean(), rel=1e-6)


def test_missing_outputs_are_named():
    model = _model()
    with pytest.raises(KeyError, match="logit_lengths"):
        transducer_compute_loss(model, toy_batch(), {"logits": tf.zeros([1, 2, 2, 6]), "label_lengths": [1]})


def test_fit_learns_and_reports_the_compute_loss():
    model = _model()
    model.compile(optimizer=make_optimizer(learning_rate=0.05))
    data = tf.data.Dataset.from_tensors(toy_batch()).repeat(30)
    before = float(model.compute_loss(toy_batch(), None, model(toy_batch())))
    history = model.fit(data, epochs=2, verbose=0).history["loss"]
    after = float(model.compute_loss(toy_batch(), None, model(toy_batch())))
    assert after < 0.5 * before
    assert history[0] > 0 and history[1] < history[0]  # the history shows the real loss, not 0.0


@pytest.mark.parametrize("precision,compute", [("float16", "float16"), ("bfloat16", "bfloat16")])
def test_mixed_precision_keeps_the_loss_in_float32(global_precision, precision, compute):
    global_precision(precision)
    model = _model()
    batch = toy_batch()
    y_pred = model(batch)
    assert y_pred["logits"].dtype == compute
    loss = transducer_compute_loss(model, batch, y_pred)
    assert loss.dtype == tf.float32
    model.compile(optimizer=make_optimizer(learning_rate=0.01))
    if precision == "float16":
        assert isinstance(model.optimizer, keras.optimizers.LossScaleOptimizer)
    history = model.fit(tf.data.Dataset.from_tensors(batch).repeat(4), epochs=1, verbose=0).history["loss"]
    assert np.isfinite(history[0])
    assert all(v.dtype == "float32" for v in model.trainable_variables)
    global_precision("float32")
    reference = _model()
    reference.set_weights(model.get_weights())
    ref_loss = float(transducer_compute_loss(reference, batch, reference(batch)))
    mixed_loss = float(transducer_compute_loss(model, batch, model(batch)))
    assert mixed_loss == pytest.approx(ref_loss, rel=0.02 if compute == "float16" else 0.05)


def test_unknown_precision_is_named():
    with pytest.raises(ValueError, match="unknown precision 'int8'"):
        set_precision("int8")


@pytest.mark.slow  # the fast suite checks the same on a smaller model: tests/models/test_transducer_training_mixin.py
def test_contextnet_transducer_compute_loss_is_the_transducer_loss():
    from tf_contextnet.models.contextnet_transducer import ContextNetTransducer

    keras.utils.set_random_seed(0)
    model = ContextNetTransducer.from_preset("contextnet_s", 6, alpha=0.05, prediction_embedding_dim=8,
                                             prediction_units=8, joint_dim=8)
    batch = toy_batch(frames=40, features=80)
    y_pred = model(batch)
    nll = rnnt_loss(y_pred["logits"], batch["labels"], y_pred["logit_lengths"], batch["label_lengths"]).numpy()
    assert model.l2_weight == 1e-6
    model.l2_weight = 0.0
    assert float(model.compute_loss(batch, None, y_pred)) == pytest.approx(nll.mean(), rel=1e-6)
    model.l2_weight = 1e-3
    assert float(model.compute_loss(batch, None, y_pred)) > nll.mean()
