"""Checkpoint and resume wiring for ``fit``: a kill -9 and a re-run continue where training stopped.

Layout under ``directory``:
    backup/          :class:`ResumableBackup` state (weights + optimizer state, incl.
                     ``optimizer.iterations``, and the epoch), rewritten every ``backup_every_steps``
                     batches and at each epoch end. The previous backup is kept
                     beside it (``*.bkp``) in case a kill lands mid-write. Kept after training
                     so that re-running a finished command does nothing more.
    checkpoints/     ``epoch-{epoch:04d}.weights.h5`` after every epoch (weights only).

``BackupAndRestore`` needs the model (and optimizer) built before ``fit``: call the model on one
batch first. On resume Keras restarts the interrupted epoch from its first batch with the restored
weights and step counter; add :class:`EpochStepLimit` where an epoch must end at its planned step.
"""

from __future__ import annotations

import os

import keras

from tf_contextnet.training.resumable_backup import ResumableBackup


def checkpoint_callbacks(directory: str, backup_every_steps: int | None = 100) -> list[keras.callbacks.Callback]:
    """``[ResumableBackup, ModelCheckpoint]`` writing under ``directory`` (created if missing).

    ``backup_every_steps=None`` backs up at epoch ends only.
    """
    if backup_every_steps is not None and backup_every_steps < 1:
        raise ValueError(f"backup_every_steps must be >= 1 or None, got {backup_every_steps}")
    os.makedirs(os.path.join(directory, "checkpoints"), exist_ok=True)
    return [
        ResumableBackup(os.path.join(directory, "backup"), save_freq=backup_every_steps or "epoch",
                        double_checkpoint=True, delete_checkpoint=False),
        keras.callbacks.ModelCheckpoint(os.path.join(directory, "checkpoints", "epoch-{epoch:04d}.weights.h5"),
                                        save_weights_only=True),
    ]
