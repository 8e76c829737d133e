"""``EpochStepLimit``: an epoch resumed from a mid-epoch backup ends at its planned optimizer step, so a
resumed run trains exactly epochs x steps_per_epoch steps, the same as one that was never interrupted."""

from __future__ import annotations

import keras
import pytest

from tf_contextnet.training import EpochStepLimit, ResumableBackup
from tf_contextnet.training.epoch_step_limit import fit_planned_steps
from training.test_resumable_backup import EPOCHS, STEPS_PER_EPOCH, Interrupted, InterruptAtStep, _model
from training.tiny_models import regression_dataset

TOTAL = EPOCHS * STEPS_PER_EPOCH


class EpochSteps(keras.callbacks.Callback):
    """The optimizer step at every epoch end."""

    def __init__(self):
        super().__init__()
        self.steps: list[int] = []

    def on_epoch_end(self, epoch, logs=None):
        self.steps.append(int(self.model.optimizer.iterations.numpy()))


def _run(model, directory, *extra, limit=None):
    """Plain ``fit``, or with ``limit`` the sweep trial's ``fit_planned_steps``."""
    backup = ResumableBackup(str(directory), save_freq=1, double_checkpoint=True, delete_checkpoint=False)
    data = regression_dataset(batch_size=8, repeat=100)
    if limit is None:
        model.fit(data, epochs=EPOCHS, steps_per_epoch=STEPS_PER_EPOCH, callbacks=[backup, *extra], verbose=0)
    else:
        fit_planned_steps(model, limit, epochs=EPOCHS, callbacks=[backup, *extra], x=data, verbose=0)


def _interrupted_then_resumed(directory, limit):
    with pytest.raises(Interrupted):
        _run(_model(), directory, InterruptAtStep(STEPS_PER_EPOCH + 2))  # mid-way through epoch 1 (step 7)
    model, epochs = _model(), EpochSteps()
    _run(model, directory, epochs, limit=limit)
    return int(model.optimizer.iterations.numpy()), epochs.steps


def test_without_the_limit_keras_reruns_the_whole_interrupted_epoch(tmp_path):
    steps, epoch_ends = _interrupted_then_resumed(tmp_path, None)
    assert steps == TOTAL + 2 and epoch_ends == [12, 17]


def test_with_the_limit_the_resumed_run_trains_the_planned_steps(tmp_path):
    limit = EpochStepLimit(STEPS_PER_EPOCH)
    steps, epoch_ends = _interrupted_then_resumed(tmp_path, limit)
    assert steps == TOTAL and epoch_ends == [10, 15]


def test_an_uninterrupted_run_is_untouched(tmp_path):
    limit, epochs, model = EpochStepLimit(STEPS_PER_EPOCH), EpochSteps(), _model()
    _run(model, tmp_path, epochs, limit=limit)
    assert not limit.stopped and epochs.steps == [5, 10, 15]


def test_steps_per_epoch_must_be_positive():
    with pytest.raises(ValueError, match="steps_per_epoch"):
        EpochStepLimit(0)
