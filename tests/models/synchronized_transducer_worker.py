"""Subprocess entry for test_contextnet_transducer_synchronized: one training step of the real model.

Usage: python synchronized_transducer_worker.py OUT.npz [graph]

Splits the CPU into two logical devices (before TensorFlow initialises them, hence a process of
its own), then takes one SGD step on the same global batch of 4 utterances (different lengths)
three times: on one device, and under ``MirroredStrategy`` on the two (2 per replica) with
``synchronized_batch_norm`` on and off. Saves, per run ``single``/``synced``/``unsynced``, every
weight before and after the step, with each replica's copy of the non-trainable ones.

The model runs in float64: in float32, rounding alone moves the first block's update by ~1e-3
(relative) between one and two devices after the backward pass through 23 blocks, which would
hide a real error; in float64 the two agree to ~1e-12. The step runs eagerly (seconds)
unless ``graph`` is given (``fit``'s tf.function, minutes: tracing the encoder per replica).
"""

from __future__ import annotations

import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import tensorflow as tf  # noqa: E402

tf.config.set_logical_device_configuration(tf.config.list_physical_devices("CPU")[0],
                                           [tf.config.LogicalDeviceConfiguration()] * 2)

import keras  # noqa: E402
import numpy as np  # noqa: E402

from tf_contextnet.models.contextnet_transducer import ContextNetTransducer  # noqa: E402

VOCABULARY = 6


def global_batch() -> tf.data.Dataset:
    """One batch of 4 utterances whose valid lengths differ (the masks differ by replica)."""
    g = tf.random.Generator.from_seed(0)
    data = {"features": g.normal([4, 40, 80]), "feature_lengths": tf.constant([40, 27, 33, 18]),
            "labels": g.uniform([4, 4], 1, VOCABULARY, dtype=tf.int32), "label_lengths": tf.constant([4, 2, 3, 1])}
    return tf.data.Dataset.from_tensor_slices(data).batch(4)


def one_step(strategy: tf.distribute.Strategy, synchronized: bool, graph: bool) -> dict[str, np.ndarray]:
    """Weights before (``init``) and after (``w``) one step; ``r0``/``r1`` each replica's copy after."""
    keras.utils.set_random_seed(0)
    with strategy.scope():
        # the smallest width the encoder allows (it has no reduced-depth option); no augmentation
        # (the default) and no variational noise (a callback, not passed to fit)
        model = ContextNetTransducer.from_preset("contextnet_s", VOCABULARY, alpha=0.05, prediction_embedding_dim=8,
                                                 prediction_units=8, joint_dim=8,
                                                 synchronized_batch_norm=synchronized, dtype="float64")
        # SGD: the update is the gradient (Adam's first step is ~lr·sign(g) and would hide errors)
        model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.1), run_eagerly=not graph)
    result = {f"init{i}": w.numpy() for i, w in enumerate(model.weights)}
    model.fit(global_batch(), epochs=1, verbose=0, shuffle=False)
    for i, w in enumerate(model.weights):
        result[f"w{i}"] = w.numpy()
        copies = strategy.experimental_local_results(w.value)
        result[f"r0_{i}"], result[f"r1_{i}"] = copies[0].numpy(), copies[-1].numpy()
    result["trainable"] = np.array([w.trainable for w in model.weights])
    result["names"] = np.array([w.path for w in model.weights])
    result["replicas"] = np.array(strategy.num_replicas_in_sync)
    result["steps"] = np.array(int(model.optimizer.iterations.numpy()))
    return result


def main(out: str, mode: str = "eager") -> None:
    graph = mode == "graph"
    devices = [d.name for d in tf.config.list_logical_devices("CPU")]
    mirrored = tf.distribute.MirroredStrategy(devices)  # one instance: a second reuses its collective keys
    runs = {"single": one_step(tf.distribute.get_strategy(), True, graph), "synced": one_step(mirrored, True, graph),
            "unsynced": one_step(mirrored, False, graph)}
    np.savez(out, **{f"{run}/{key}": value for run, values in runs.items() for key, value in values.items()})


if __name__ == "__main__":
    main(*sys.argv[1:3])
