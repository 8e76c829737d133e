"""``tf.distribute`` strategies by name: default, mirrored, multi-worker, tpu.

- ``default``: the current (no-op) strategy, one device.
- ``mirrored``: ``MirroredStrategy`` over the local GPUs (or the given devices); works with
  Keras 3 ``fit`` as is.
- ``multi-worker``: ``MultiWorkerMirroredStrategy``; cluster from the ``TF_CONFIG`` environment
  variable. Applies ``multi_worker_shim`` (keras-team/keras#20585) first.
- ``tpu``: ``TPUStrategy`` per the TF docs (resolver → connect → initialize). TPUs compile with
  static shapes: feed batches padded to a few fixed lengths (bucketed padding) with
  ``drop_remainder=True`` so that the step function compiles once per bucket.

Create the model and call ``compile`` inside ``strategy.scope()``.
"""

from __future__ import annotations

import tensorflow as tf

from tf_contextnet.training.multi_worker_shim import apply_multi_worker_shim

STRATEGIES = ("default", "mirrored", "multi-worker", "tpu")


def get_strategy(name: str = "default", devices: list[str] | None = None, tpu: str | None = None,
                 ) -> tf.distribute.Strategy:
    """The strategy called ``name`` (one of ``STRATEGIES``).

    Args:
        name: strategy name.
        devices: for ``mirrored``, the devices to mirror over (default: all local GPUs, else CPU).
        tpu: for ``tpu``, the TPU address or name (``None``/"" = the local/Colab TPU).
    """
    if name == "default":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        return tf.distribute.MirroredStrategy(devices=devices)
    if name == "multi-worker":
        apply_multi_worker_shim()
        return tf.distribute.MultiWorkerMirroredStrategy()
    if name == "tpu":
        resolver = tf.distribute.cluster_resolver.TPUClusterResolver(tpu=tpu or "")
        tf.config.experimental_connect_to_cluster(resolver)
        tf.tpu.experimental.initialize_tpu_system(resolver)
        return tf.distribute.TPUStrategy(resolver)
    raise ValueError(f"unknown strategy {name!r}; expected one of {', '.join(STRATEGIES)}")
