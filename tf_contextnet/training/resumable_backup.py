"""``ResumableBackup``: Keras' ``BackupAndRestore`` with the epoch bookkeeping that resuming needs."""

from __future__ import annotations

import keras


class ResumableBackup(keras.callbacks.BackupAndRestore):
    """``keras.callbacks.BackupAndRestore`` (same arguments) that also

    - numbers its backups from the epoch being run: Keras' own counter starts at 0 in every ``fit``,
      so the mid-epoch backups of a resumed run said epoch 0 and the next resume started the epochs
      over (checkpoints overwritten, metrics counted again);
    - backs up at the end of every epoch as well as every ``save_freq`` batches, so that a run
      stopped at an epoch boundary (:class:`EpochStepLimit`, a kill after the epoch's last step)
      resumes at the next epoch instead of repeating this one;
    - saves on demand (:meth:`save_now`).

    A clean stop (signal, time budget) needs no extra save: Keras ends the stopped epoch with
    ``on_epoch_end``, which backs up.

    On resume Keras restarts the interrupted epoch from its first batch with the restored weights and
    optimizer step; :class:`tf_contextnet.training.EpochStepLimit` ends that epoch at its planned step.
    """

    def on_epoch_begin(self, epoch, logs=None):
        self._current_epoch = epoch  # the attribute Keras writes into the backup's metadata

    def on_epoch_end(self, epoch, logs=None):
        super().on_epoch_end(epoch, logs)  # counts the epoch as done (and saves when save_freq="epoch")
        if self.save_freq != "epoch":
            self.save_now()
            self._batches_seen_since_last_saving = 0  # the next step backup comes save_freq batches after this one

    def save_now(self) -> None:
        """Write the backup now (weights, optimizer state, epoch and batch of the run so far)."""
        self._save_model()
