"""Subprocess entry for test_masked_batch_normalization_synchronized: the layer on two replicas.

Usage: python synchronized_batch_norm_worker.py OUT.npz

Splits the CPU into two logical devices (before TensorFlow initialises them, hence a process of
its own) and, under ``MirroredStrategy``, runs one training-mode call (in a ``tf.function``, as
``fit`` does) of ``MaskedBatchNormalization(synchronized=s)`` for s in (True, False) on
per-replica batches of different sizes, lengths and padding garbage, with the gradient of
``Σ y·w`` (``w`` a fixed per-replica weight). Saves the inputs and, per replica ``r`` and setting,
``y``, ``∂/∂x``, ``∂/∂γ``, ``∂/∂β`` and the replica's copy of the moving averages.
"""

from __future__ import annotations

import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import tensorflow as tf  # noqa: E402

tf.config.set_logical_device_configuration(tf.config.list_physical_devices("CPU")[0],
                                           [tf.config.LogicalDeviceConfiguration()] * 2)

import numpy as np  # noqa: E402

from tf_contextnet.layers import MaskedBatchNormalization  # noqa: E402

CHANNELS, MOMENTUM, EPSILON = 4, 0.25, 1e-3


def replica_inputs() -> list[dict[str, np.ndarray]]:
    """Replica 0: 2 sequences of 9 frames; replica 1: 3 of 6; huge values in every padded frame."""
    rng = np.random.default_rng(0)
    inputs = []
    for shape, lengths in (((2, 9), [9, 3]), ((3, 6), [5, 1, 6])):
        x = (3.0 + 2.0 * rng.standard_normal((*shape, CHANNELS))).astype(np.float32)
        padded = np.arange(shape[1])[None, :] >= np.array(lengths)[:, None]
        x[padded] = 1e4
        inputs.append({"x": x, "lengths": np.array(lengths, np.int32),
                       "w": rng.standard_normal((*shape, CHANNELS)).astype(np.float32)})
    return inputs


def run(strategy: tf.distribute.Strategy, synchronized: bool, inputs: list[dict]) -> dict[str, np.ndarray]:
    with strategy.scope():
        layer = MaskedBatchNormalization(momentum=MOMENTUM, epsilon=EPSILON, synchronized=synchronized)
        layer.build(((None, None, CHANNELS), (None,)))
        layer.gamma.assign([0.5, 1.0, 1.5, 2.0])
        layer.beta.assign([-1.0, 0.0, 0.5, 1.0])

    def step(x, lengths, w):
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = layer((x, lengths), training=True)[0]
            loss = tf.reduce_sum(y * w)
        dx, dgamma, dbeta = tape.gradient(loss, [x, layer.gamma.value, layer.beta.value])
        return y, dx, dgamma, dbeta

    per_replica = strategy.experimental_distribute_values_from_function(
        lambda context: tuple(tf.constant(inputs[context.replica_id_in_sync_group][k]) for k in ("x", "lengths", "w")))
    outputs = tf.function(lambda args: strategy.run(step, args=args))(per_replica)
    result = {}
    for name, value in zip(("y", "dx", "dgamma", "dbeta"), outputs):
        for r, local in enumerate(strategy.experimental_local_results(value)):
            result[f"{name}{r}"] = local.numpy()
    for name in ("moving_mean", "moving_variance"):
        for r, local in enumerate(strategy.experimental_local_results(getattr(layer, name).value)):
            result[f"{name}{r}"] = local.numpy()
    return result


def main(out: str) -> None:
    strategy = tf.distribute.MirroredStrategy([d.name for d in tf.config.list_logical_devices("CPU")])
    inputs = replica_inputs()
    saved = {f"{k}{r}": v for r, replica in enumerate(inputs) for k, v in replica.items()}
    for synchronized in (True, False):
        setting = "synced" if synchronized else "unsynced"
        saved.update({f"{setting}/{k}": v for k, v in run(strategy, synchronized, inputs).items()})
    np.savez(out, replicas=strategy.num_replicas_in_sync, gamma=[0.5, 1.0, 1.5, 2.0], beta=[-1.0, 0.0, 0.5, 1.0],
             momentum=MOMENTUM, epsilon=EPSILON, **saved)


if __name__ == "__main__":
    main(sys.argv[1])
