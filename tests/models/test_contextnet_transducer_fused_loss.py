"""ContextNetTransducer(fused_loss_sub_batch_size=k): the training step of the full lattice, a sub-batch at a time.

The reference is the same model with the option off: ``rnnt_loss`` on the whole ``[B, T', U+1, V]``
logits, differentiated by autodiff; the fused path is ``fused_joint_rnnt_loss`` with its own
recomputing gradient. Both must give the same loss and the same gradient for every variable.
"""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

from tf_contextnet.losses import RnntLoss, rnnt_loss, transducer_compute_loss
from tf_contextnet.losses.transducer_objective import FUSED_LOSS_OUTPUT_KEYS
from tf_contextnet.models import ContextNetTransducer

# A reduced real model: all 23 blocks, narrow (α 0.05), a 16-unit decoder; one eager step takes seconds.
SMALL = {"vocabulary_size": 7, "num_mel_bins": 12, "alpha": 0.05, "prediction_embedding_dim": 8,
         "prediction_units": 16, "joint_dim": 10, "ctc_weight": 0.3, "l2_weight": 1e-3}


def _batch():
    """B = 3 utterances of different lengths, padded (features zeroed past their length)."""
    rng = np.random.default_rng(0)
    lengths = np.array([40, 31, 17], np.int32)
    features = rng.standard_normal((3, 40, 12)).astype(np.float32)
    features *= np.arange(40)[None, :, None] < lengths[:, None, None]
    return {"features": tf.constant(features), "feature_lengths": tf.constant(lengths),
            "labels": tf.constant([[1, 2, 3, 4], [5, 6, 0, 0], [2, 0, 0, 0]], tf.int32),
            "label_lengths": tf.constant([4, 2, 1], tf.int32)}


def _model(seed=0, **options):
    keras.utils.set_random_seed(seed)
    model = ContextNetTransducer(**SMALL, **options)
    model.build()
    return model


def _loss_and_gradients(model, batch):
    with tf.GradientTape() as tape:
        y_pred = model(batch, training=True)
        loss = model.compute_loss(batch, y_pred=y_pred)
    return y_pred, loss, tape.gradient(loss, model.trainable_variables)


@pytest.mark.parametrize("sub_batch_size", [1, 2])  # 2 does not divide B = 3
def test_fused_step_equals_the_full_lattice_step(sub_batch_size):
    model = _model()
    batch = _batch()
    full_out, full_loss, full_grads = _loss_and_gradients(model, batch)
    model.fused_loss_sub_batch_size = sub_batch_size
    fused_out, fused_loss, fused_grads = _loss_and_gradients(model, batch)

    assert "logits" in full_out and "logits" not in fused_out
    assert set(FUSED_LOSS_OUTPUT_KEYS) <= set(fused_out) and "ctc_logits" in fused_out
    assert fused_loss.dtype == tf.float32
    # the reference value itself, from the lattice: NLL mean + CTC term + L2, as documented
    nll = rnnt_loss(full_out["logits"], batch["labels"], full_out["logit_lengths"], batch["label_lengths"])
    assert float(full_loss) > float(tf.reduce_mean(nll)) > 0
    assert float(fused_loss) == pytest.approx(float(full_loss), rel=1e-6)
    names = [v.path for v in model.trainable_variables]
    assert all(g is not None for g in fused_grads), [n for n, g in zip(names, fused_grads) if g is None]
    joint = {v.path for v in model.joint.trainable_variables}
    assert all(float(tf.reduce_max(tf.abs(g))) > 0 for v, g in zip(model.trainable_variables, fused_grads)
               if v.path in joint)  # the joint learns through the fused loss
    for name, got, want in zip(names, fused_grads, full_grads):
        want = np.asarray(want)
        np.testing.assert_allclose(np.asarray(got), want, rtol=1e-5, atol=1e-5 * max(np.abs(want).max(), 1e-12),
                                   err_msg=name)


def test_inference_still_returns_logits():
    model = _model(fused_loss_sub_batch_size=2)
    batch = _batch()
    reference = _model()
    out, expected = model(batch, training=False), reference(batch, training=False)
    assert "logits" in out and not set(FUSED_LOSS_OUTPUT_KEYS) & set(out)
    np.testing.assert_allclose(out["logits"].numpy(), expected["logits"].numpy(), atol=1e-6)


def test_train_on_batch_matches_with_a_sub_batch_larger_than_the_batch():
    """Keras' own train_step (eager: tracing 23 blocks takes a minute here) updates the weights alike."""
    batch = _batch()
    updated, losses = [], []
    for options in ({}, {"fused_loss_sub_batch_size": 4}):
        model = _model(**options)
        model.compile(optimizer=keras.optimizers.SGD(0.5), run_eagerly=True)
        losses.append(float(model.train_on_batch(batch)))
        updated.append([v.numpy() for v in model.trainable_variables])
    assert losses[1] == pytest.approx(losses[0], rel=1e-6)
    for got, want in zip(updated[1], updated[0]):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("jit_compile", [False, True])
def test_fused_loss_in_graph_mode_with_an_unknown_batch(jit_compile):
    """``transducer_compute_loss`` on a fused output inside a ``tf.function`` whose batch size is unknown (``fit``
    on a ``tf.data`` batch; with XLA, Keras' default on a GPU), against the eager lattice: same loss, same
    gradients for the joint's Keras variables, the encoder output and the prediction."""
    model = _model()
    batch = _batch()
    out = model(batch, training=False)
    encoded, _ = model.transcribe(batch["features"], batch["feature_lengths"])
    predicted, _ = model.predict_labels(batch["labels"], batch["label_lengths"])
    variables = model.joint.trainable_variables

    def loss_and_grads(encoded, predicted, labels, logit_lengths, label_lengths, fused):
        with tf.GradientTape() as tape:
            tape.watch([encoded, predicted])
            common = {"logit_lengths": logit_lengths, "label_lengths": label_lengths}
            if fused:
                y_pred = {"encoded": encoded, "predicted": predicted, **common}
            else:
                y_pred = {"logits": model.join(encoded[:, :, None], predicted[:, None]), **common}
            loss = transducer_compute_loss(model, {"labels": labels}, y_pred, l2_weight=0.0,
                                           fused_loss_sub_batch_size=2)
        return [loss] + tape.gradient(loss, [encoded, predicted] + variables)

    args = (encoded, predicted, batch["labels"], out["logit_lengths"], out["label_lengths"])
    expected = loss_and_grads(*args, fused=False)
    unknown_batch = [tf.TensorSpec([None] + a.shape[1:], a.dtype) for a in args]
    graph = tf.function(lambda *a: loss_and_grads(*a, fused=True), input_signature=unknown_batch,
                        jit_compile=jit_compile)
    for a, e in zip(graph(*args), expected):
        e = np.asarray(e)
        np.testing.assert_allclose(np.asarray(a), e, rtol=1e-5, atol=1e-5 * np.abs(e).max())


@pytest.mark.parametrize("policy, tolerance", [("mixed_float16", 2e-3), ("mixed_bfloat16", 2e-2)])
def test_mixed_precision_train_step(policy, tolerance):
    """Under mixed_float16 a LossScaleOptimizer scales the loss: the scaled cotangent flows through the fused
    gradient and is unscaled; the loss stays float32. Half-precision sums of a sub-batch and of the
    whole batch may round differently, hence the tolerance."""
    batch = _batch()
    weights = _model().get_weights()
    updated, losses = [], []
    for options in ({}, {"fused_loss_sub_batch_size": 2}):
        model = _model(dtype=policy, **options)
        model.set_weights(weights)
        optimizer = keras.optimizers.SGD(0.1)
        if policy == "mixed_float16":
            # Keras' default first scale (2^15) overflows float16 on this model's largest gradients (~65) and
            # skips steps until it has halved to ~2^11, on both paths alike; start where a step is taken.
            optimizer = keras.optimizers.LossScaleOptimizer(optimizer, initial_scale=64.0)
        model.compile(optimizer=optimizer, run_eagerly=True)
        before = [v.numpy() for v in model.trainable_variables]
        losses.append(float(model.train_on_batch(batch)))
        updated.append([v.numpy() - b for v, b in zip(model.trainable_variables, before)])
    assert np.isfinite(losses).all()
    assert losses[1] == pytest.approx(losses[0], rel=tolerance)
    moved = [np.abs(step).max() for step in updated[1]]
    assert min(moved) > 0  # every variable was updated: no gradient was dropped or left non-finite
    scale = max(np.abs(step).max() for step in updated[0])
    for got, want in zip(updated[1], updated[0]):
        np.testing.assert_allclose(got, want, atol=20 * tolerance * scale)


def test_compiled_loss_is_refused_with_the_fused_option():
    model = _model(fused_loss_sub_batch_size=2)
    with pytest.raises(ValueError, match=r"compile\(loss=\.\.\.\) cannot be combined with fused_loss_sub_batch_size"):
        model.compile(optimizer="sgd", loss=RnntLoss())
    model.compile(optimizer="sgd")  # the built-in objective is fine
    late = _model()
    late.compile(optimizer="sgd", loss=RnntLoss())
    late.fused_loss_sub_batch_size = 2  # set after compile: refused when the fused output meets the loss
    batch = _batch()
    with pytest.raises(ValueError, match="cannot be combined with fused_loss_sub_batch_size=2"):
        late.compute_loss(batch, y_pred=late(batch, training=True))


def test_a_fused_output_needs_a_sub_batch_size():
    model = _model()
    batch = _batch()
    encoded, lengths = model.transcribe(batch["features"], batch["feature_lengths"])
    predicted, _ = model.predict_labels(batch["labels"], batch["label_lengths"])
    y_pred = {"encoded": encoded, "predicted": predicted, "logit_lengths": lengths,
              "label_lengths": batch["label_lengths"]}
    with pytest.raises(ValueError, match="no fused_loss_sub_batch_size"):
        transducer_compute_loss(model, batch, y_pred)
    with pytest.raises(KeyError, match="lacks 'logits'"):
        transducer_compute_loss(model, batch, {"encoded": encoded, "logit_lengths": lengths,
                                               "label_lengths": batch["label_lengths"]})


def test_option_is_configured_saved_and_checked():
    model = ContextNetTransducer(**SMALL, fused_loss_sub_batch_size=3)
    config = model.get_config()
    assert config["fused_loss_sub_batch_size"] == 3
    restored = ContextNetTransducer.from_config(config)
    assert restored.fused_loss_sub_batch_size == 3 and restored.get_config() == config
    assert ContextNetTransducer(**SMALL).fused_loss_sub_batch_size is None  # off by default
    assert ContextNetTransducer(**SMALL, fused_loss_sub_batch_size=np.int64(2)).fused_loss_sub_batch_size == 2
    preset = ContextNetTransducer.from_preset("contextnet_s", 7, alpha=0.05, fused_loss_sub_batch_size=1)
    assert preset.fused_loss_sub_batch_size == 1
    for bad in (0, -2, 1.5, True, "2"):
        with pytest.raises(ValueError, match="fused_loss_sub_batch_size must be None .* >= 1"):
            ContextNetTransducer(**SMALL, fused_loss_sub_batch_size=bad)


@pytest.mark.slow  # tracing the 23-block training graph twice takes minutes here
def test_fit_in_graph_mode_matches():
    """``model.fit`` as users run it (Keras' train_step in a tf.function): same loss, same updated weights."""
    data = tf.data.Dataset.from_tensor_slices(_batch()).batch(3)  # batch size unknown to the graph, as in training
    updated, losses = [], []
    for options in ({}, {"fused_loss_sub_batch_size": 2}):
        model = _model(**options)
        model.compile(optimizer=keras.optimizers.SGD(0.5))
        losses.append(model.fit(data, epochs=1, verbose=0).history["loss"][0])
        updated.append([v.numpy() for v in model.trainable_variables])
    assert losses[1] == pytest.approx(losses[0], rel=1e-6)
    for got, want in zip(updated[1], updated[0]):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
