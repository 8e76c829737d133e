"""fused_joint_rnnt_loss equals the unfused joint + rnnt_loss, in loss and every gradient."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from tf_contextnet.losses import fused_joint_rnnt_loss, rnnt_loss


class TinyJoint(tf.Module):
    """logits = tanh(enc W_e + pred W_p + b) W_o, broadcast over [B, T, U+1]."""

    def __init__(self, de: int, dp: int, hidden: int, vocab: int, seed: int = 0):
        rng = np.random.default_rng(seed)
        self.w_enc = tf.Variable(rng.standard_normal((de, hidden)).astype(np.float32) * 0.5)
        self.w_pred = tf.Variable(rng.standard_normal((dp, hidden)).astype(np.float32) * 0.5)
        self.bias = tf.Variable(rng.standard_normal(hidden).astype(np.float32) * 0.1)
        self.w_out = tf.Variable(rng.standard_normal((hidden, vocab)).astype(np.float32))

    def __call__(self, enc, pred):
        hidden = tf.tanh((enc @ self.w_enc)[:, :, None] + (pred @ self.w_pred)[:, None] + self.bias)
        return hidden @ self.w_out


def make_inputs(seed: int, b: int = 5, t: int = 6, u: int = 3, v: int = 7, de: int = 4, dp: int = 3):
    rng = np.random.default_rng(seed)
    enc = rng.standard_normal((b, t, de)).astype(np.float32)
    pred = rng.standard_normal((b, u + 1, dp)).astype(np.float32)
    labels = rng.integers(1, v, size=(b, u)).astype(np.int32)
    t_len = rng.integers(1, t + 1, size=b).astype(np.int32)
    u_len = rng.integers(0, u + 1, size=b).astype(np.int32)
    for i in range(b):
        labels[i, u_len[i]:] = 0
    weights = rng.uniform(0.5, 2.0, size=b).astype(np.float32)
    return TinyJoint(de, dp, 8, v, seed), enc, pred, labels, t_len, u_len, weights


def losses_and_grads(loss_fn, joint, enc, pred, weights):
    enc, pred = tf.convert_to_tensor(enc), tf.convert_to_tensor(pred)
    with tf.GradientTape() as tape:
        tape.watch([enc, pred])
        loss = loss_fn(enc, pred)
        total = tf.reduce_sum(loss * weights)
    grads = tape.gradient(total, [enc, pred] + list(joint.trainable_variables))
    return [loss] + grads


def unfused(joint, labels, t_len, u_len):
    return lambda enc, pred: rnnt_loss(joint(enc, pred), labels, t_len, u_len)


def fused(joint, labels, t_len, u_len, sub_batch_size):
    return lambda enc, pred: fused_joint_rnnt_loss(joint, enc, pred, labels, t_len, u_len, sub_batch_size)


def assert_all_close(actual, expected):
    assert len(actual) == len(expected)
    for a, e in zip(actual, expected):
        assert a is not None
        e = np.asarray(e)
        np.testing.assert_allclose(np.asarray(a), e, rtol=1e-5, atol=1e-5 * np.abs(e).max())


@pytest.mark.parametrize("mode,sub_batch_size", [("eager", 1), ("eager", 2), ("eager", 8), ("graph", 2),
                                                 ("xla", 3), ("xla", 5)])
def test_fused_equals_unfused(sub_batch_size, mode):
    joint, enc, pred, labels, t_len, u_len, weights = make_inputs(sub_batch_size)
    expected = losses_and_grads(unfused(joint, labels, t_len, u_len), joint, enc, pred, weights)

    def run(enc, pred):
        return losses_and_grads(fused(joint, labels, t_len, u_len, sub_batch_size), joint, enc, pred, weights)

    if mode != "eager":
        run = tf.function(run, jit_compile=(mode == "xla"))
    assert_all_close(run(tf.constant(enc), tf.constant(pred)), expected)


def test_fused_with_unknown_batch_size():
    joint, enc, pred, labels, t_len, u_len, weights = make_inputs(11)
    expected = losses_and_grads(unfused(joint, labels, t_len, u_len), joint, enc, pred, weights)

    @tf.function(input_signature=[tf.TensorSpec([None, None, 4]), tf.TensorSpec([None, None, 3]),
                                  tf.TensorSpec([None, None], tf.int32), tf.TensorSpec([None], tf.int32),
                                  tf.TensorSpec([None], tf.int32), tf.TensorSpec([None])])
    def run(enc, pred, labels, t_len, u_len, weights):
        return losses_and_grads(fused(joint, labels, t_len, u_len, 2), joint, enc, pred, weights)

    assert_all_close(run(enc, pred, labels, t_len, u_len, weights), expected)


def test_rejects_bad_sub_batch_size():
    joint, enc, pred, labels, t_len, u_len, _ = make_inputs(0)
    with pytest.raises(ValueError, match="sub_batch_size"):
        fused_joint_rnnt_loss(joint, enc, pred, labels, t_len, u_len, 0)


def test_gradients_reach_keras_layer_weights():
    import keras

    joint_tf, enc, pred, labels, t_len, u_len, weights = make_inputs(12)
    dense = keras.layers.Dense(7)

    def joint(enc, pred):
        return dense(tf.tanh((enc @ joint_tf.w_enc)[:, :, None] + (pred @ joint_tf.w_pred)[:, None]))

    joint(enc[:1], pred[:1])
    enc, pred = tf.constant(enc), tf.constant(pred)
    results = []
    for fn in (lambda e, p: rnnt_loss(joint(e, p), labels, t_len, u_len),
               lambda e, p: fused_joint_rnnt_loss(joint, e, p, labels, t_len, u_len, 2)):
        with tf.GradientTape() as tape:
            tape.watch([enc, pred])
            total = tf.reduce_sum(fn(enc, pred) * weights)
        results.append(tape.gradient(total, [enc, pred] + dense.trainable_variables))
    assert_all_close(results[1], results[0])


@pytest.mark.parametrize("sub_batch_size, jit_compile", [(1, False), (2, True), (7, True)])
def test_fused_with_unknown_batch_size_under_xla(sub_batch_size, jit_compile):
    """A batch of unknown size (``model.fit`` on a ``tf.data`` batch without ``drop_remainder``; Keras compiles
    with XLA by default on a GPU): sub-batches that do not divide B = 5, or exceed it, give the same values."""
    joint, enc, pred, labels, t_len, u_len, weights = make_inputs(13)
    expected = losses_and_grads(unfused(joint, labels, t_len, u_len), joint, enc, pred, weights)

    @tf.function(jit_compile=jit_compile,
                 input_signature=[tf.TensorSpec([None, None, 4]), tf.TensorSpec([None, None, 3]),
                                  tf.TensorSpec([None, None], tf.int32), tf.TensorSpec([None], tf.int32),
                                  tf.TensorSpec([None], tf.int32), tf.TensorSpec([None])])
    def run(enc, pred, labels, t_len, u_len, weights):
        return losses_and_grads(fused(joint, labels, t_len, u_len, sub_batch_size), joint, enc, pred, weights)

    assert_all_close(run(enc, pred, labels, t_len, u_len, weights), expected)
