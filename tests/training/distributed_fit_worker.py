"""Subprocess entry for the distribution tests: fit TinyRegressor under a strategy, save the weights.

Usage: python distributed_fit_worker.py {default|mirrored|multi-worker} OUT.npz [transducer]
(multi-worker reads TF_CONFIG; mirrored splits the CPU into two logical devices first). With
``transducer`` the model is a tiny ContextNetTransducer on random features and labels.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from tiny_models import TinyRegressor, regression_dataset  # noqa: E402

from tf_contextnet.training import VariationalNoise, get_strategy  # noqa: E402


class NoisedSteps(keras.callbacks.Callback):
    """Counts the steps that ran with weight noise (place it right after the ``VariationalNoise``)."""

    def __init__(self, noise: VariationalNoise):
        super().__init__()
        self.noise, self.count = noise, 0

    def on_train_batch_begin(self, batch, logs=None):
        self.count += self.noise._noised_step is not None


def transducer_setup():
    from tf_contextnet.models.contextnet_transducer import ContextNetTransducer
    from tf_contextnet.training import make_optimizer

    g = tf.random.Generator.from_seed(0)
    n, frames, labels, vocabulary = 8, 40, 4, 6
    data = {"features": g.normal([n, frames, 80]), "feature_lengths": tf.fill([n], frames),
            "labels": g.uniform([n, labels], 1, vocabulary, dtype=tf.int32), "label_lengths": tf.fill([n], labels)}
    dataset = tf.data.Dataset.from_tensor_slices(data).repeat(2).batch(4, drop_remainder=True)

    def build():
        model = ContextNetTransducer.from_preset("contextnet_s", vocabulary, alpha=0.05, prediction_embedding_dim=8,
                                                 prediction_units=8, joint_dim=8)
        model.l2_weight = 1e-6  # TransducerTrainingMixin.compute_loss: RNN-T NLL + L2
        model.compile(optimizer=make_optimizer(learning_rate=1e-3))
        return model

    return dataset, build


def main(mode: str, out: str, model_kind: str = "tiny") -> None:
    devices = None
    if mode == "mirrored":
        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
        devices = [d.name for d in tf.config.list_logical_devices("CPU")]
    strategy = get_strategy(mode, devices=devices)
    dataset = regression_dataset(batch_size=8, n=64)
    if model_kind == "transducer":
        dataset, build = transducer_setup()
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    dataset = dataset.with_options(options)
    keras.utils.set_random_seed(0)
    with strategy.scope():
        if model_kind == "transducer":
            model = build()
        else:
            model = TinyRegressor(units=6)
            model.compile(optimizer=keras.optimizers.Adam(0.01))
    # weight noise (stateless per step, so every replica and worker draws the same ε): the tiny model's
    # layer by name from step 5 of 24, the transducer's prediction network by contract from step 1 of 4
    if model_kind == "tiny":
        noise = VariationalNoise(stddev=0.05, start_step=5, layer_name="prediction_network")
    else:
        noise = VariationalNoise(stddev=0.05, start_step=1)
    noised = NoisedSteps(noise)
    history = model.fit(dataset, epochs=3 if model_kind == "tiny" else 1, verbose=0, callbacks=[noise, noised])
    np.savez(out, replicas=strategy.num_replicas_in_sync, loss=np.array(history.history["loss"]),
             noised_steps=noised.count,
             steps=int(model.optimizer.iterations.numpy()),
             trainable=np.array([w.trainable for w in model.weights]),
             **{f"w{i}": w.numpy() for i, w in enumerate(model.weights)})


if __name__ == "__main__":
    main(*sys.argv[1:4])
