"""MaskedBatchNormalization(synchronized=True): cross-replica statistics under MirroredStrategy.

The two-replica checks run ``synchronized_batch_norm_worker.py`` in a subprocess (logical devices
must be configured before TensorFlow initialises them) and compare with a float64 numpy reference
over the union of both replicas' valid frames; gradients against central finite differences.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

from tests.testing import lengths_mask_fn, run_layer_checks
from tf_contextnet.layers import MaskedBatchNormalization

WORKER = Path(__file__).parent / "synchronized_batch_norm_worker.py"


@pytest.fixture(scope="module")
def two_replicas(tmp_path_factory) -> dict[str, np.ndarray]:
    out = tmp_path_factory.mktemp("synchronized_bn") / "out.npz"
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "CUDA_VISIBLE_DEVICES": ""}
    proc = subprocess.run([sys.executable, str(WORKER), str(out)], env=env, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, f"worker failed (rc {proc.returncode}):\n{(proc.stdout + proc.stderr)[-3000:]}"
    data = dict(np.load(out))
    assert int(data["replicas"]) == 2
    return data


def _read(data: dict, r: int) -> tuple[np.ndarray, np.ndarray]:
    """Replica ``r``'s input as the layer reads it (padding zeroed, float64) and its valid mask [B, T, 1]."""
    x, lengths = data[f"x{r}"].astype(np.float64), data[f"lengths{r}"]
    valid = (np.arange(x.shape[1])[None, :] < lengths[:, None])[..., None]
    return np.where(valid, x, 0.0), valid


def _union_statistics(xs: list[np.ndarray], data: dict) -> tuple[np.ndarray, np.ndarray]:
    """Mean and (population) variance over every replica's valid frames."""
    frames = np.concatenate([x[b, :n] for r, x in enumerate(xs) for b, n in enumerate(data[f"lengths{r}"])])
    return frames.mean(axis=0), frames.var(axis=0)


def _reference_outputs(xs: list[np.ndarray], data: dict) -> list[np.ndarray]:
    """``y_r = γ (x_r - μ) / sqrt(σ² + ε) + β`` on every frame, μ and σ² of the union."""
    reads = [np.where(_read(data, r)[1], x, 0.0) for r, x in enumerate(xs)]
    mean, variance = _union_statistics(reads, data)
    return [data["gamma"] * (x - mean) / np.sqrt(variance + data["epsilon"]) + data["beta"] for x in reads]


def _global_loss(xs: list[np.ndarray], data: dict) -> float:
    return float(sum(np.sum(y * data[f"w{r}"]) for r, y in enumerate(_reference_outputs(xs, data))))


def test_synchronized_replicas_normalise_with_the_union_of_valid_frames(two_replicas):
    data = two_replicas
    xs = [data[f"x{r}"].astype(np.float64) for r in range(2)]
    mean, variance = _union_statistics([_read(data, r)[0] for r in range(2)], data)
    momentum = float(data["momentum"])
    for r, expected in enumerate(_reference_outputs(xs, data)):
        np.testing.assert_allclose(data[f"synced/y{r}"], expected, rtol=1e-5, atol=1e-5)
        # moving averages from (0, 1), identical on both replicas
        np.testing.assert_allclose(data[f"synced/moving_mean{r}"], (1 - momentum) * mean, rtol=1e-5)
        np.testing.assert_allclose(data[f"synced/moving_variance{r}"], momentum + (1 - momentum) * variance,
                                   rtol=1e-5)


def test_synchronized_gradient_is_the_global_batch_gradient(two_replicas):
    """∂/∂x_r of Σ_r Σ y_r·w_r (μ, σ depend on both replicas' frames) by central differences in float64;
    the replicas' ∂/∂γ, ∂/∂β are their shares of the global ones (the strategy sums them)."""
    data = two_replicas
    xs = [data[f"x{r}"].astype(np.float64) for r in range(2)]
    h = 1e-6
    for r in range(2):
        numeric = np.zeros_like(xs[r])
        for index in np.ndindex(*xs[r].shape):
            bumped = [x.copy() for x in xs], [x.copy() for x in xs]
            bumped[0][r][index] += h
            bumped[1][r][index] -= h
            numeric[index] = (_global_loss(bumped[0], data) - _global_loss(bumped[1], data)) / (2 * h)
        np.testing.assert_allclose(data[f"synced/dx{r}"], numeric, rtol=1e-4, atol=1e-5)
    reads = [_read(data, r)[0] for r in range(2)]
    mean, variance = _union_statistics(reads, data)
    normalised = [(x - mean) / np.sqrt(variance + data["epsilon"]) for x in reads]
    np.testing.assert_allclose(data["synced/dgamma0"] + data["synced/dgamma1"],
                               sum(np.sum(data[f"w{r}"] * normalised[r], axis=(0, 1)) for r in range(2)),
                               rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(data["synced/dbeta0"] + data["synced/dbeta1"],
                               sum(np.sum(data[f"w{r}"], axis=(0, 1)) for r in range(2)), rtol=1e-5, atol=1e-5)


def test_unsynchronized_replicas_keep_their_own_statistics(two_replicas):
    """The same run with ``synchronized=False`` misses the union reference (the checks above can fail)."""
    data = two_replicas
    momentum = float(data["momentum"])
    union_mean, _ = _union_statistics([_read(data, r)[0] for r in range(2)], data)
    for r in range(2):
        own_mean, own_variance = _union_statistics([_read(data, r)[0]], {"lengths0": data[f"lengths{r}"]})
        np.testing.assert_allclose(data[f"unsynced/moving_mean{r}"], (1 - momentum) * own_mean, rtol=1e-5)
        np.testing.assert_allclose(data[f"unsynced/moving_variance{r}"], momentum + (1 - momentum) * own_variance,
                                   rtol=1e-5)
        assert np.max(np.abs(own_mean - union_mean)) > 0.1


def _layer_step(strategy: tf.distribute.Strategy, synchronized: bool) -> list[np.ndarray]:
    rng = np.random.default_rng(7)
    x = tf.constant(3.0 + 2.0 * rng.standard_normal((3, 8, 4)), tf.float32)
    lengths = tf.constant([8, 5, 2])
    w = tf.constant(rng.standard_normal((3, 8, 4)), tf.float32)
    with strategy.scope():
        layer = MaskedBatchNormalization(momentum=0.5, synchronized=synchronized)
        layer.build(((None, None, 4), (None,)))

    def step():
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = layer((x, lengths), training=True)[0]
            loss = tf.reduce_sum(y * w)
        return [y] + tape.gradient(loss, [x, layer.gamma.value, layer.beta.value])

    outputs = tf.function(lambda: strategy.run(step))()
    local = [strategy.experimental_local_results(t)[0].numpy() for t in outputs]
    return local + [layer.moving_mean.numpy(), layer.moving_variance.numpy()]


@pytest.mark.parametrize("strategy", ["default", "one_replica_mirrored"])
def test_synchronized_without_several_replicas_equals_unsynchronized(strategy):
    """No strategy, or one replica: nothing to all-reduce, the same values bit for bit."""
    make = {"default": tf.distribute.get_strategy,
            "one_replica_mirrored": lambda: tf.distribute.MirroredStrategy(["/cpu:0"])}[strategy]
    for got, expected in zip(_layer_step(make(), True), _layer_step(make(), False)):
        np.testing.assert_array_equal(got, expected)


def test_harness_synchronized(tmp_path):
    """Config round trip (``synchronized`` kept), save/load, a fit step, mixed precision."""
    rng = np.random.default_rng(0)
    inputs = ((3.0 + 2.0 * rng.standard_normal((3, 9, 5))).astype(np.float32), np.array([9, 4, 1], np.int32))
    run_layer_checks(MaskedBatchNormalization, {"momentum": 0.9, "synchronized": True}, inputs, tmp_path,
                     valid_mask_fn=lengths_mask_fn())
    layer = MaskedBatchNormalization(synchronized=True)
    assert MaskedBatchNormalization.from_config(layer.get_config()).synchronized is True
    assert MaskedBatchNormalization().get_config()["synchronized"] is False
