"""ctc_loss against brute-force enumeration of every frame alignment in float64 numpy."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import tensorflow as tf

from tf_contextnet.losses.ctc_loss import ctc_feasible, ctc_loss


def _collapse(path) -> tuple:
    merged = [p for i, p in enumerate(path) if i == 0 or p != path[i - 1]]
    return tuple(p for p in merged if p != 0)


def brute_force_nll(logits: np.ndarray, labels, frames: int) -> float:
    """-log Σ over all V^T paths collapsing to ``labels`` of Π softmax probabilities (float64)."""
    x = logits[:frames].astype(np.float64)
    probs = np.exp(x - x.max(axis=1, keepdims=True))
    probs /= probs.sum(axis=1, keepdims=True)
    total = 0.0
    for path in itertools.product(range(x.shape[1]), repeat=frames):
        if _collapse(path) == tuple(labels):
            total += np.prod([probs[t, k] for t, k in enumerate(path)])
    return -np.log(total) if total > 0 else np.inf


def test_matches_brute_force_with_padding_and_repeats():
    rng = np.random.default_rng(0)
    B, T, V = 5, 6, 4
    logits = rng.normal(size=(B, T, V)).astype(np.float32) * 2
    labels = np.array([[1, 2, 0], [3, 3, 0], [2, 0, 0], [1, 2, 1], [3, 1, 3]], np.int32)
    label_lengths = np.array([2, 2, 1, 3, 3], np.int32)
    logit_lengths = np.array([6, 4, 3, 5, 6], np.int32)
    got = ctc_loss(tf.constant(logits), tf.constant(labels), tf.constant(logit_lengths),
                   tf.constant(label_lengths)).numpy()
    expected = [brute_force_nll(logits[b], labels[b, :label_lengths[b]], logit_lengths[b]) for b in range(B)]
    np.testing.assert_allclose(got, expected, rtol=1e-5)


def test_infeasible_utterance_gives_zero_and_finite_gradient():
    rng = np.random.default_rng(1)
    logits = tf.Variable(rng.normal(size=(2, 3, 3)).astype(np.float32))
    labels = tf.constant([[1, 1, 2], [1, 2, 0]])  # "1 1 2" needs 4 frames (a blank between the 1s)
    label_lengths, logit_lengths = tf.constant([3, 2]), tf.constant([3, 3])
    assert ctc_feasible(labels, logit_lengths, label_lengths).numpy().tolist() == [False, True]
    with tf.GradientTape() as tape:
        loss = ctc_loss(logits, labels, logit_lengths, label_lengths)
        total = tf.reduce_sum(loss)
    gradient = tape.gradient(total, logits).numpy()
    assert loss.numpy()[0] == 0.0
    assert loss.numpy()[1] == pytest.approx(brute_force_nll(logits.numpy()[1], [1, 2], 3), rel=1e-5)
    assert np.all(np.isfinite(gradient)) and np.all(gradient[0] == 0.0)


def test_gradient_matches_finite_differences():
    rng = np.random.default_rng(2)
    logits = rng.normal(size=(1, 4, 3))
    labels, frames = [2, 1], 4
    variable = tf.Variable(logits.astype(np.float32))
    with tf.GradientTape() as tape:
        loss = ctc_loss(variable, tf.constant([labels]), tf.constant([frames]), tf.constant([2]))
    gradient = tape.gradient(loss, variable).numpy()[0]
    eps = 1e-6
    numeric = np.zeros_like(logits[0])
    for t, k in itertools.product(range(4), range(3)):
        up, down = logits[0].copy(), logits[0].copy()
        up[t, k] += eps
        down[t, k] -= eps
        numeric[t, k] = (brute_force_nll(up, labels, frames) - brute_force_nll(down, labels, frames)) / (2 * eps)
    np.testing.assert_allclose(gradient, numeric, atol=1e-4)
