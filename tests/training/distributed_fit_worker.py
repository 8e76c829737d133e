"""Subprocess entry for the distribution tests: fit TinyRegressor under a strategy, save the weights.

Usage: python distributed_fit_worker.py {default|mirrored|multi-worker} OUT.npz
(multi-worker reads TF_CONFIG; mirrored splits the CPU into two logical devices first).
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


def main(mode: str, out: str) -> None:
    devices = None
    if mode == "mirrored":
        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
        devices = [d.name for d in tf.config.list_logical_devices("CPU")]
    strategy = get_strategy(mode, devices=devices)
    dataset = regression_dataset(batch_size=8, n=64)
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    dataset = dataset.with_options(options)
    keras.utils.set_random_seed(0)
    with strategy.scope():
        model = TinyRegressor(units=6)
        model.compile(optimizer=keras.optimizers.Adam(0.01))
    # weight noise from step 5 on: stateless per step, so every replica and worker draws the same ε
    noise = VariationalNoise(stddev=0.05, start_step=5, layer_name="prediction_network")
    history = model.fit(dataset, epochs=3, verbose=0, callbacks=[noise])
    np.savez(out, replicas=strategy.num_replicas_in_sync, loss=np.array(history.history["loss"]),
             steps=int(model.optimizer.iterations.numpy()),
             **{f"w{i}": w.numpy() for i, w in enumerate(model.weights)})


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
