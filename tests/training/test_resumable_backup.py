"""``ResumableBackup``: backups carry the epoch being run (Keras' own counter restarts at 0 in every
fit) and are also written at every epoch end. Interruptions are an exception raised from a callback
after a given optimizer step (the files on disk are what a SIGKILL would leave)."""

from __future__ import annotations

import json

import keras
import pytest

from tf_contextnet.training import ResumableBackup
from training.tiny_models import TinyRegressor, regression_dataset

STEPS_PER_EPOCH, EPOCHS = 5, 3


class Interrupted(Exception):
    pass


class InterruptAtStep(keras.callbacks.Callback):
    def __init__(self, step: int):
        super().__init__()
        self.step = step

    def on_train_batch_end(self, batch, logs=None):
        if int(self.model.optimizer.iterations.numpy()) == self.step:
            raise Interrupted


def _model() -> keras.Model:
    keras.utils.set_random_seed(0)
    model = TinyRegressor()
    model.compile(optimizer=keras.optimizers.Adam(1e-2))
    data = regression_dataset(batch_size=8, repeat=100)
    model(next(iter(data)))
    model.optimizer.build(model.trainable_variables)
    return model


def _fit(model, backup, interrupt_at=None):
    callbacks = [backup] + ([InterruptAtStep(interrupt_at)] if interrupt_at else [])
    model.fit(regression_dataset(batch_size=8, repeat=100), epochs=EPOCHS, steps_per_epoch=STEPS_PER_EPOCH,
              callbacks=callbacks, verbose=0)


def _metadata(directory) -> dict:
    return json.loads((directory / "training_metadata.json").read_text())


@pytest.mark.parametrize("backup_class, expected_epoch", [(keras.callbacks.BackupAndRestore, 0), (ResumableBackup, 1)])
def test_mid_epoch_backups_of_a_resumed_run_name_its_epoch(tmp_path, backup_class, expected_epoch):
    """Interrupted in epoch 1, resumed, interrupted again in epoch 1: Keras' class writes epoch 0
    (so the next resume would start the epochs over); ours writes 1."""
    def make():
        return backup_class(str(tmp_path), save_freq=1, double_checkpoint=True, delete_checkpoint=False)

    with pytest.raises(Interrupted):
        _fit(_model(), make(), interrupt_at=STEPS_PER_EPOCH + 2)
    assert _metadata(tmp_path)["epoch"] == 1
    with pytest.raises(Interrupted):
        _fit(_model(), make(), interrupt_at=STEPS_PER_EPOCH + 4)  # resumed at step 7, epoch 1 restarted
    assert _metadata(tmp_path)["epoch"] == expected_epoch


def test_epoch_end_backup_between_step_backups(tmp_path):
    """save_freq 3 over epochs of 5: the last step backup of epoch 0 is at step 3, the epoch-end one at 5."""
    model = _model()
    backup = ResumableBackup(str(tmp_path), save_freq=3, delete_checkpoint=False)
    with pytest.raises(Interrupted):
        _fit(model, backup, interrupt_at=STEPS_PER_EPOCH + 1)  # before the next step backup (step 6)
    assert _metadata(tmp_path) == {"epoch": 1, "batch": 0}
    resumed = _model()
    _fit(resumed, ResumableBackup(str(tmp_path), save_freq=3, delete_checkpoint=False))
    # restored at step 5 (epoch 1, batch 0): two whole epochs left
    assert int(resumed.optimizer.iterations.numpy()) == EPOCHS * STEPS_PER_EPOCH


def test_save_now_writes_the_current_state(tmp_path):
    model = _model()
    backup = ResumableBackup(str(tmp_path), save_freq=100, delete_checkpoint=False)
    with pytest.raises(Interrupted):
        _fit(model, backup, interrupt_at=2)
    assert not (tmp_path / "training_metadata.json").exists()
    backup.save_now()
    restored = _model()
    callback = ResumableBackup(str(tmp_path))
    callback.set_model(restored)
    callback.on_train_begin()
    assert int(restored.optimizer.iterations.numpy()) == 2
