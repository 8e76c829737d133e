"""FusedAdam: Keras' Adam to float rounding, one fused kernel per variable, Keras' fallbacks."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

from tf_contextnet.training import FusedAdam, WarmupSchedule, make_optimizer


def _numpy_adam(theta, grads, lr, beta_1, beta_2, epsilon):
    """Kingma & Ba's Adam (ε-hat form, as Keras and ResourceApplyAdam) in float64."""
    m, v = np.zeros_like(theta), np.zeros_like(theta)
    for t, g in enumerate(grads, start=1):
        m = beta_1 * m + (1 - beta_1) * g
        v = beta_2 * v + (1 - beta_2) * g * g
        theta = theta - lr * np.sqrt(1 - beta_2 ** t) / (1 - beta_1 ** t) * m / (np.sqrt(v) + epsilon)
    return theta


def _run(optimizer, start, grads, compiled=True):
    variables = [keras.Variable(x) for x in start]
    optimizer.build(variables)

    def step(gs):
        optimizer.apply(gs, variables)

    step = tf.function(step) if compiled else step
    for gs in grads:
        step([tf.constant(g) for g in gs])
    return [v.numpy() for v in variables]


@pytest.mark.parametrize("compiled", [True, False])
def test_matches_keras_adam_and_numpy(compiled):
    rng = np.random.default_rng(0)
    start = [rng.normal(size=(5, 3)).astype(np.float32), rng.normal(size=(4,)).astype(np.float32)]
    grads = [[rng.normal(size=s.shape).astype(np.float32) for s in start] for _ in range(6)]
    kwargs = {"learning_rate": 0.01, "beta_1": 0.9, "beta_2": 0.98, "epsilon": 1e-9}
    fused = _run(FusedAdam(**kwargs), start, grads, compiled)
    reference = _run(keras.optimizers.Adam(**kwargs), start, grads, compiled)
    for f, r, s, i in zip(fused, reference, start, range(2)):
        np.testing.assert_allclose(f, r, rtol=1e-6, atol=1e-7)
        expected = _numpy_adam(s.astype(np.float64), [g[i].astype(np.float64) for g in grads], 0.01, 0.9, 0.98, 1e-9)
        np.testing.assert_allclose(f, expected, rtol=1e-5, atol=1e-6)


def test_one_fused_kernel_per_variable():
    variables = [keras.Variable(np.ones((3, 2), np.float32)) for _ in range(4)]
    optimizer = FusedAdam(0.1)
    optimizer.build(variables)
    graph = tf.function(lambda gs: optimizer.apply(gs, variables)).get_concrete_function(
        [tf.TensorSpec((3, 2), tf.float32)] * 4).graph
    kinds = [op.type for op in graph.get_operations()]
    assert kinds.count("ResourceApplyAdam") == 4


def test_amsgrad_and_schedule_fall_back_or_work():
    rng = np.random.default_rng(1)
    start = [rng.normal(size=(3,)).astype(np.float32)]
    grads = [[rng.normal(size=3).astype(np.float32)] for _ in range(3)]
    np.testing.assert_allclose(_run(FusedAdam(0.01, amsgrad=True), start, grads)[0],
                               _run(keras.optimizers.Adam(0.01, amsgrad=True), start, grads)[0], rtol=1e-6)
    schedule = WarmupSchedule(0.01, 2)
    np.testing.assert_allclose(_run(make_optimizer(schedule, global_clipnorm=0.5), start, grads)[0],
                               _run(keras.optimizers.Adam(WarmupSchedule(0.01, 2), beta_2=0.98, epsilon=1e-9,
                                                          global_clipnorm=0.5), start, grads)[0], rtol=1e-6)


def test_config_round_trip():
    optimizer = make_optimizer(0.003)
    assert isinstance(optimizer, FusedAdam)
    restored = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(optimizer))
    assert isinstance(restored, FusedAdam) and restored.get_config() == optimizer.get_config()
