"""Training the real ContextNetTransducer in float16 and bfloat16 through every custom gradient.

The custom gradients on the training path: masked batch norm's fused BN + swish + mask (+ residual)
pass, the prediction LSTM's hand-written sequence gradient, the RNN-T loss and the CTC loss. Each is
compared with the same weights in float32:

- one ``ContextBlock`` (depthwise/pointwise convs, five fused batch norms, SE, the residual's fused
  batch norm): gradients of the input and of every weight;
- the whole model: the prediction network's gradients (LSTM, embedding), which reach the RNN-T
  loss through the joint network;
- the whole model, one optimizer step (``LossScaleOptimizer`` under mixed_float16): the loss is
  the float32 loss, and every variable receives a finite, non-zero update.

Whole-model *encoder* gradients are not compared across precisions: at initialisation the 23-block
encoder amplifies rounding (measured in training mode: one block's output differs by 0.5 % in
bfloat16, the encoder's by 9 % in float16 and 91 % in bfloat16), so the two precisions differentiate
different functions there; the per-block comparison is the one that can tell a broken gradient.
"""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

from tf_contextnet.layers import ContextBlock
from tf_contextnet.models import ContextNetTransducer

SMALL = {"vocabulary_size": 11, "num_mel_bins": 16, "alpha": 1 / 16, "prediction_embedding_dim": 12,
         "prediction_units": 12, "joint_dim": 12, "ctc_weight": 0.3, "l2_weight": 0.0}
POLICIES = [("mixed_float16", 128.0), ("mixed_bfloat16", 1.0)]


def _batch() -> dict[str, tf.Tensor]:
    rng = np.random.default_rng(3)
    lengths = np.array([64, 41, 57], np.int32)
    features = rng.standard_normal((3, 64, 16)).astype(np.float32)
    features *= np.arange(64)[None, :, None] < lengths[:, None, None]
    labels = np.array([[1, 2, 3, 4], [5, 6, 0, 0], [7, 8, 9, 0]], np.int32)
    return {"features": tf.constant(features), "feature_lengths": tf.constant(lengths),
            "labels": tf.constant(labels), "label_lengths": tf.constant([4, 2, 3], tf.int32)}


def _dense(gradients: list) -> list[np.ndarray]:
    """float32 numpy arrays (embedding gradients arrive as IndexedSlices)."""
    return [tf.cast(tf.convert_to_tensor(g), tf.float32).numpy() for g in gradients]


def _cosine(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.dot(a.ravel(), b.ravel()) / (np.linalg.norm(a) * np.linalg.norm(b) + 1e-30))


def _model_gradients(model: ContextNetTransducer, batch: dict[str, tf.Tensor], scale: float):
    """The training loss and its gradients, the loss scaled by ``scale`` before the backward pass and the
    gradients unscaled after it (what LossScaleOptimizer does under mixed_float16)."""
    with tf.GradientTape() as tape:
        loss = model.compute_loss(x=batch, y_pred=model(batch, training=True))
        scaled = loss * scale
    return float(loss), [g / scale for g in _dense(tape.gradient(scaled, model.trainable_variables))]


@pytest.mark.parametrize("policy, scale", POLICIES)
def test_context_block_gradients_match_float32(policy, scale):
    # Seeded initialisation: the SE's two-unit bias gradient ratio depends on the weights drawn, and an
    # unseeded draw made the test depend on which tests ran before it (1.021 once, beyond 0.02).
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    x = tf.constant(rng.standard_normal((3, 64, 16)).astype(np.float32))
    lengths = tf.constant([64, 41, 57])
    cotangent = tf.constant(rng.standard_normal((3, 64, 16)).astype(np.float32))

    def gradients(block: ContextBlock) -> list[np.ndarray]:
        inputs = tf.cast(x, block.compute_dtype)
        with tf.GradientTape() as tape:
            tape.watch(inputs)
            y = block((inputs, lengths), training=True)[0]
            loss = tf.reduce_sum(tf.cast(y, tf.float32) * cotangent) * scale
        return [g / scale for g in _dense(tape.gradient(loss, [inputs] + block.trainable_variables))]

    blocks = []
    for dtype in ("float32", policy):
        block = ContextBlock(16, num_layers=5, dtype=dtype)
        block.build(((None, None, 16), (None,)))
        blocks.append(block)
    blocks[1].set_weights(blocks[0].get_weights())
    want, got = gradients(blocks[0]), gradients(blocks[1])
    names = ["input"] + [v.path for v in blocks[1].trainable_variables]
    # bfloat16 keeps 8 mantissa bits: the SE's two-unit bias gradient measured 0.979
    minimum, ratio = (0.999, 0.02) if policy == "mixed_float16" else (0.97, 0.05)
    for name, g, w in zip(names, got, want):
        assert np.all(np.isfinite(g)), f"{name}: non-finite gradient under {policy}"
        assert _cosine(g, w) > minimum, f"{name}: cosine {_cosine(g, w):.4f} to float32 under {policy}"
        assert np.linalg.norm(g) / np.linalg.norm(w) == pytest.approx(1.0, abs=ratio), name


@pytest.mark.slow
@pytest.mark.parametrize("policy, scale", POLICIES)
def test_model_loss_and_prediction_network_gradients_match_float32(policy, scale):
    batch = _batch()
    keras.utils.set_random_seed(0)
    reference = ContextNetTransducer(**SMALL)
    reference(batch)
    want_loss, want = _model_gradients(reference, batch, 1.0)
    model = ContextNetTransducer(**SMALL, dtype=policy)
    model(batch)
    model.set_weights(reference.get_weights())
    loss, got = _model_gradients(model, batch, scale)
    assert loss == pytest.approx(want_loss, rel=0.03)
    checked = 0
    for variable, g, w in zip(model.trainable_variables, got, want):
        assert np.all(np.isfinite(g)), f"{variable.path}: non-finite gradient under {policy}"
        if "/prediction/" in variable.path:
            assert _cosine(g, w) > 0.99, f"{variable.path}: cosine {_cosine(g, w):.4f} under {policy}"
            assert np.linalg.norm(g) / np.linalg.norm(w) == pytest.approx(1.0, abs=0.05), variable.path
            checked += 1
    assert checked >= 4  # embedding, LSTM kernel, recurrent kernel, bias


@pytest.mark.slow
@pytest.mark.parametrize("policy", ["mixed_float16", "mixed_bfloat16"])
def test_one_training_step_updates_every_variable(policy):
    batch = _batch()
    keras.utils.set_random_seed(0)
    reference = ContextNetTransducer(**SMALL)
    reference(batch)
    reference.compile(optimizer=keras.optimizers.SGD(0.01))
    want_loss = float(reference.compute_loss(x=batch, y_pred=reference(batch, training=True)))
    model = ContextNetTransducer(**SMALL, dtype=policy)
    model(batch)
    model.set_weights(reference.get_weights())
    optimizer = keras.optimizers.SGD(0.01)
    if policy == "mixed_float16":
        optimizer = keras.optimizers.LossScaleOptimizer(optimizer, initial_scale=128.0)
    model.compile(optimizer=optimizer)
    before = [v.numpy() for v in model.trainable_variables]
    loss = float(model.train_on_batch(batch))
    assert np.isfinite(loss) and loss == pytest.approx(want_loss, rel=0.05)
    for variable, old in zip(model.trainable_variables, before):
        step = variable.numpy() - old
        assert np.all(np.isfinite(step)) and np.abs(step).max() > 0, f"{variable.path} not updated under {policy}"
