"""``EpochStepLimit``: a resumed epoch ends at its planned optimizer step, not a whole epoch later."""

from __future__ import annotations

from typing import Any, Sequence

import keras


class EpochStepLimit(keras.callbacks.Callback):
    """Stops ``fit`` after the batch at which the optimizer step reaches the current epoch's planned
    end, ``(epoch + 1) * steps_per_epoch``, when that comes before the epoch's last batch.

    That happens only in an epoch resumed from a mid-epoch backup (Keras restarts it from its first
    batch on top of the restored step): without the limit a run resumed at step 700 of 750 trains
    to step 950. Keras still validates and ends the epoch (``on_epoch_end``: checkpoint, backup,
    records), then ``fit`` returns with :attr:`stopped` set, and ``fit`` must run again for the
    remaining epochs (:func:`fit_planned_steps` does both; :class:`ResumableBackup` restores the
    epoch-end state). In a run that was never interrupted the step reaches the end on the epoch's
    last batch, and nothing happens.
    """

    def __init__(self, steps_per_epoch: int):
        super().__init__()
        if steps_per_epoch < 1:
            raise ValueError(f"steps_per_epoch must be >= 1, got {steps_per_epoch}")
        self.steps_per_epoch = int(steps_per_epoch)
        self.stopped = False
        self._epoch_end_step = 0
        self._epoch_start_step = 0

    def on_train_begin(self, logs=None):
        self.stopped = False

    def on_epoch_begin(self, epoch, logs=None):
        # read once per epoch: the step after batch b is then start + b + 1, no read per batch
        self._epoch_start_step = int(self.model.optimizer.iterations.numpy())
        self._epoch_end_step = (epoch + 1) * self.steps_per_epoch

    def on_train_batch_end(self, batch, logs=None):
        step = self._epoch_start_step + batch + 1
        if step >= self._epoch_end_step and batch < self.steps_per_epoch - 1:
            self.stopped = True
            self.model.stop_training = True


def fit_planned_steps(model: keras.Model, limit: EpochStepLimit, *, epochs: int,
                      callbacks: Sequence[keras.callbacks.Callback] = (), **fit_kwargs: Any) -> None:
    """``model.fit(epochs=epochs, steps_per_epoch=limit.steps_per_epoch, callbacks=[*callbacks, limit],
    **fit_kwargs)``, called again while ``limit`` ended a resumed epoch early and steps are left: the
    run ends at ``epochs * steps_per_epoch`` optimizer steps, resumed or not. Callbacks see one
    ``on_train_begin`` per ``fit`` call."""
    while True:
        model.fit(epochs=epochs, steps_per_epoch=limit.steps_per_epoch, callbacks=[*callbacks, limit], **fit_kwargs)
        if not limit.stopped or int(model.optimizer.iterations.numpy()) >= epochs * limit.steps_per_epoch:
            return
