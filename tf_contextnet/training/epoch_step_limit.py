"""``EpochStepLimit``: a resumed epoch ends at its planned optimizer step, not a whole epoch later."""

from __future__ import annotations

import keras


class EpochStepLimit(keras.callbacks.Callback):
    """Stops ``fit`` after the batch at which the optimizer step reaches the current epoch's planned
    end, ``(epoch + 1) * steps_per_epoch``, when that comes before the epoch's last batch.

    That happens only in an epoch resumed from a mid-epoch backup (Keras restarts it from its first
    batch on top of the restored step): without the limit a run resumed at step 700 of 750 trains
    to step 950. Keras still validates and ends the epoch (``on_epoch_end``: checkpoint, backup,
    records), then ``fit`` returns with :attr:`stopped` set; call ``fit`` again to run the
    remaining epochs (:class:`ResumableBackup` restores the epoch-end state). In a run that was
    never interrupted the step reaches the end on the epoch's last batch, and nothing happens.
    """

    def __init__(self, steps_per_epoch: int):
        super().__init__()
        if steps_per_epoch < 1:
            raise ValueError(f"steps_per_epoch must be >= 1, got {steps_per_epoch}")
        self.steps_per_epoch = int(steps_per_epoch)
        self.stopped = False
        self._epoch = 0

    def on_train_begin(self, logs=None):
        self.stopped = False

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        step = int(self.model.optimizer.iterations.numpy())
        if step >= (self._epoch + 1) * self.steps_per_epoch and batch < self.steps_per_epoch - 1:
            self.stopped = True
            self.model.stop_training = True
