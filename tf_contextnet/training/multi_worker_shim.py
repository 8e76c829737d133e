"""Shim for Keras 3 ``fit`` under ``tf.distribute.MultiWorkerMirroredStrategy`` (keras-team/keras#20585).

Upstream issue: https://github.com/keras-team/keras/issues/20585 (open as of Keras 3.15).
Two spots of ``keras/src/backend/tensorflow/trainer.py`` fail with more than one worker:

1. ``TensorFlowTrainer._maybe_symbolic_build`` reduces the first (distributed) batch with
   ``strategy.reduce("MEAN", batch, axis=None)``, a cross-worker collective on the input batch
   that fails for PerReplica inputs. The build only needs shapes and dtypes: we take the first
   local replica's batch instead.
2. ``reduce_per_replica(..., reduction="mean")`` reduces the step's logs across workers with
   ``strategy.reduce("MEAN", v, axis=0)``, which fails for the scalar losses/metrics. We reduce
   scalars with ``axis=None`` (tensors of rank >= 1 keep ``axis=0``).

Everything else stays Keras' own code. ``apply_multi_worker_shim()`` patches only Keras versions
in ``AFFECTED`` whose trainer still has the expected functions, is idempotent, and is called by
``get_strategy("multi-worker")``. Nothing happens on import.
"""

from __future__ import annotations

import logging

import keras
import tensorflow as tf

UPSTREAM_ISSUE = "https://github.com/keras-team/keras/issues/20585"
AFFECTED = ("3.",)  # every Keras 3 release up to the last one checked (3.15); re-check when upgrading
_LAST_CHECKED = (3, 15)

logger = logging.getLogger(__name__)
_applied = False


def _version() -> tuple[int, int]:
    major, minor = keras.__version__.split(".")[:2]
    return int(major), int(minor)


def is_affected() -> bool:
    """Whether the installed Keras is a version known (or presumed) to have the bug."""
    return keras.__version__.startswith(AFFECTED) and _version() <= _LAST_CHECKED


def _first_local_batch(strategy: tf.distribute.Strategy, batch):
    return tf.nest.map_structure(
        lambda v: strategy.experimental_local_results(v)[0]
        if isinstance(v, tf.distribute.DistributedValues) else v, batch)


def apply_multi_worker_shim() -> bool:
    """Patch the two spots for multi-worker ``fit``; returns True when the patch is (already) in place."""
    global _applied
    if _applied:
        return True
    if not is_affected():
        logger.info("Keras %s is outside the versions checked for %s; not patching", keras.__version__,
                    UPSTREAM_ISSUE)
        return False
    from keras.src.backend.tensorflow import trainer as tf_trainer

    trainer_cls = tf_trainer.TensorFlowTrainer
    original_reduce = getattr(tf_trainer, "reduce_per_replica", None)
    multi_worker = getattr(tf_trainer, "_collective_all_reduce_multi_worker", None)
    if original_reduce is None or multi_worker is None or not hasattr(trainer_cls, "_maybe_symbolic_build"):
        logger.warning("Keras %s trainer layout changed; multi-worker shim for %s not applied",
                       keras.__version__, UPSTREAM_ISSUE)
        return False

    def reduce_per_replica(values, strategy, reduction):
        if reduction in ("mean", "auto") and multi_worker(strategy):
            return tf.nest.map_structure(
                lambda v: strategy.reduce("MEAN", v, axis=None if v.shape.rank == 0 else 0), values)
        return original_reduce(values, strategy, reduction)

    def _maybe_symbolic_build(self, iterator=None, data_batch=None):
        if self._distribute_strategy is None:
            return
        if iterator is not None:
            for _, _, it in iterator:
                data_batch = _first_local_batch(self.distribute_strategy, next(it))
                break
        with self.distribute_strategy.scope():
            self._symbolic_build(data_batch=data_batch)

    tf_trainer.reduce_per_replica = reduce_per_replica
    trainer_cls._maybe_symbolic_build = _maybe_symbolic_build
    _applied = True
    return True
