"""MaskedBatchNormalization: harness, statistics from valid frames only, inference affine map."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from tests.testing import lengths_mask_fn, run_layer_checks
from tf_contextnet.layers import MaskedBatchNormalization
from tf_contextnet.layers.masked_batch_normalization import normalize_in_training


def _inputs(seed=0):
    rng = np.random.default_rng(seed)
    x = (3.0 + 2.0 * rng.standard_normal((3, 9, 5))).astype(np.float32)
    return x, np.array([9, 4, 1], np.int32)


def test_harness(tmp_path):
    run_layer_checks(MaskedBatchNormalization, {"momentum": 0.9, "epsilon": 1e-3}, _inputs(), tmp_path,
                     valid_mask_fn=lengths_mask_fn())


def test_training_uses_valid_frames_only():
    x, lengths = _inputs(seed=1)
    x[1, 4:] = 1e4  # padding garbage must not reach the statistics
    x[2, 1:] = -1e4
    layer = MaskedBatchNormalization(momentum=0.5, epsilon=1e-3)
    y = layer((x, lengths), training=True)[0].numpy()
    valid = np.concatenate([x[b, :n] for b, n in enumerate(lengths)]).astype(np.float64)
    mean, variance = valid.mean(axis=0), valid.var(axis=0)
    expected = (x - mean) / np.sqrt(variance + 1e-3)
    for b, n in enumerate(lengths):
        np.testing.assert_allclose(y[b, :n], expected[b, :n], atol=1e-4)
    np.testing.assert_allclose(layer.moving_mean.numpy(), 0.5 * mean, rtol=1e-5)
    np.testing.assert_allclose(layer.moving_variance.numpy(), 0.5 + 0.5 * variance, rtol=1e-5)


def test_inference_is_the_moving_affine_map():
    x, lengths = _inputs(seed=2)
    layer = MaskedBatchNormalization(epsilon=1e-2)
    layer((x, lengths))
    rng = np.random.default_rng(3)
    params = [rng.uniform(0.5, 2.0, 5) for _ in range(4)]
    layer.set_weights(params)
    gamma, beta, mean, variance = params
    # call() zeroes the input's padding (tf.where) first: padded frames map 0 to the offset
    x_read = np.where(np.arange(x.shape[1])[None, :, None] < lengths[:, None, None], x, 0.0)
    expected = (x_read - mean) / np.sqrt(variance + 1e-2) * gamma + beta
    np.testing.assert_allclose(layer((x, lengths), training=False)[0].numpy(), expected, atol=1e-5)
    scale, offset = (t.numpy() for t in layer.scale_and_offset())
    np.testing.assert_allclose(x_read * scale + offset, expected, atol=1e-5)


@pytest.mark.parametrize("kwargs", [{"momentum": 1.5}, {"epsilon": 0.0}])
def test_bad_arguments(kwargs):
    with pytest.raises(ValueError, match="MaskedBatchNormalization"):
        MaskedBatchNormalization(**kwargs)


def _reference_training_output(x, valid, gamma, beta, epsilon, activate, mask_output, residual=None):
    """The training-mode formula written plainly; autodiff of it is the gradient reference."""
    count = tf.reduce_sum(valid)
    mean = tf.reduce_sum(x * valid, axis=(0, 1)) / count
    variance = tf.reduce_sum(tf.square(x - mean) * valid, axis=(0, 1)) / count
    z = gamma * (x - mean) / tf.sqrt(variance + epsilon) + beta
    if residual is not None:
        z = z + residual
    y = z * tf.sigmoid(z) if activate else z
    return y * valid if mask_output else y


@pytest.mark.parametrize("activate", [False, True])
@pytest.mark.parametrize("mask_output", [False, True])
@pytest.mark.parametrize("with_residual", [False, True])
def test_fused_gradient_matches_autodiff_in_float64(activate, mask_output, with_residual):
    rng = np.random.default_rng(4)
    x = tf.constant(2.0 + 3.0 * rng.standard_normal((3, 7, 4)))
    lengths = np.array([7, 3, 5])
    valid = tf.constant((np.arange(7)[None, :] < lengths[:, None])[..., None].astype(np.float64))
    x = x + 50.0 * (1.0 - valid)  # padding garbage: must not reach the statistics
    gamma = tf.constant(rng.uniform(0.5, 2.0, 4))
    beta = tf.constant(rng.normal(size=4))
    upstream = tf.constant(rng.standard_normal((3, 7, 4)))
    residual = tf.constant(rng.standard_normal((3, 7, 4))) if with_residual else None
    watched = [x, gamma, beta] + ([residual] if with_residual else [])
    results = []
    for fn in (lambda *a: normalize_in_training(*a, activate=activate, mask_output=mask_output,
                                                residual=residual)[0],
               lambda *a: _reference_training_output(*a, activate, mask_output, residual)):
        with tf.GradientTape() as tape:
            tape.watch(watched)
            y = fn(x, valid, gamma, beta, 1e-3)
            loss = tf.reduce_sum(y * upstream)
        results.append([y] + tape.gradient(loss, watched))
    for got, expected in zip(*results):
        np.testing.assert_allclose(got.numpy(), expected.numpy(), rtol=1e-10, atol=1e-10)


def test_fused_gradient_matches_finite_differences():
    rng = np.random.default_rng(5)
    x = tf.constant(rng.standard_normal((2, 5, 3)))
    valid = tf.constant((np.arange(5)[None, :] < np.array([5, 2])[:, None])[..., None].astype(np.float64))
    gamma, beta = tf.constant([1.5, 0.7, 1.1], tf.float64), tf.constant([0.1, -0.2, 0.3], tf.float64)
    upstream = tf.constant(rng.standard_normal((2, 5, 3)))

    def loss(x):
        return float(tf.reduce_sum(normalize_in_training(x, valid, gamma, beta, 1e-3, activate=True)[0] * upstream))

    with tf.GradientTape() as tape:
        tape.watch(x)
        value = tf.reduce_sum(normalize_in_training(x, valid, gamma, beta, 1e-3, activate=True)[0] * upstream)
    analytic = tape.gradient(value, x).numpy()
    numeric = np.zeros_like(analytic)
    h = 1e-6
    for index in np.ndindex(*analytic.shape):
        bump = np.zeros(analytic.shape)
        bump[index] = h
        numeric[index] = (loss(x + bump) - loss(x - bump)) / (2 * h)
    np.testing.assert_allclose(analytic, numeric, rtol=1e-6, atol=1e-7)
