"""MaskedBatchNormalization: harness, statistics from valid frames only, inference affine map."""

from __future__ import annotations

import numpy as np
import pytest

from tests.testing import lengths_mask_fn, run_layer_checks
from tf_contextnet.layers import MaskedBatchNormalization


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
    expected = (x - mean) / np.sqrt(variance + 1e-2) * gamma + beta
    np.testing.assert_allclose(layer((x, lengths), training=False)[0].numpy(), expected, atol=1e-5)
    scale, offset = (t.numpy() for t in layer.scale_and_offset())
    np.testing.assert_allclose(x * scale + offset, expected, atol=1e-5)


@pytest.mark.parametrize("kwargs", [{"momentum": 1.5}, {"epsilon": 0.0}])
def test_bad_arguments(kwargs):
    with pytest.raises(ValueError, match="MaskedBatchNormalization"):
        MaskedBatchNormalization(**kwargs)
