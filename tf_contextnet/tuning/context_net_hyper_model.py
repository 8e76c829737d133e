"""``ContextNetHyperModel``: a ``keras_tuner.HyperModel`` that builds and trains ContextNet transducers.

Shape letters: B batch, T frames, U labels, V vocabulary (blank included).
"""

from __future__ import annotations

import logging
from typing import Any, Callable

import keras
import keras_tuner
import tensorflow as tf

from tf_contextnet.models.contextnet_transducer import ContextNetTransducer
from tf_contextnet.training.checkpointing import checkpoint_callbacks
from tf_contextnet.training.epoch_step_limit import EpochStepLimit, fit_planned_steps
from tf_contextnet.training.non_finite_loss_guard import NonFiniteLossError, NonFiniteLossGuard
from tf_contextnet.training.optimizer import make_optimizer
from tf_contextnet.training.run_training import unknown_length_warning_ignored
from tf_contextnet.training.validation_error_rates import ValidationErrorRates
from tf_contextnet.training.variational_noise import VariationalNoise
from tf_contextnet.training.warmup_schedule import WarmupSchedule
from tf_contextnet.tuning.search_space import SearchSpace
from tf_contextnet.tuning.trial_cost import TrialCost, trial_cost
from tf_contextnet.tuning.trial_recorder import TrialRecorder, best_epoch, read_trial_record, write_trial_record

logger = logging.getLogger(__name__)

OBJECTIVE = "val_wer"


class ContextNetHyperModel(keras_tuner.HyperModel):
    """Builds ``ContextNetTransducer``s from a ``SearchSpace`` and trains them for a fixed number of steps.

    ``build(hp)`` declares the space's dimensions on ``hp`` (α, kernel size, encoder blocks,
    downsampling, SE and its context window, peak learning rate), builds the model in ``strategy``'s scope and compiles
    it with the paper's optimizer, built (Adam on ``WarmupSchedule``; the warm-up is the space's
    ``training.warmup_steps``, default a quarter of ``steps_per_trial``).

    ``fit(hp, model, epochs, trial_directory, ...)`` trains ``epochs`` epochs of
    ``steps_per_epoch`` steps each, greedy-decodes the dev set after every epoch
    (``ValidationErrorRates`` puts ``val_wer`` into the epoch logs, where Keras Tuner's
    callbacks read the objective; ``val_loss`` comes beside it) and returns the best epoch's
    ``{"val_wer", "val_loss", ...}``. The trial backs itself up into ``trial_directory/backup``
    (``BackupAndRestore``) every ``backup_every_steps`` steps, so a trial interrupted by a kill
    resumes from there, and keeps its record (``trial_recorder``) up to date; a trial whose record
    says it finished is not trained again.

    Args:
        space: the search space.
        vocabulary_size: V of the tokenizer.
        datasets: ``() -> (train, valid)``: ``make_dataset`` batches (train repeated), made on
            first use (a distributed-tuning chief never trains) and kept for every trial.
        tokenizer: decodes the dev set's labels and hypotheses.
        steps_per_epoch: optimizer steps per epoch (Hyperband's unit of resource).
        steps_per_trial: steps of a full trial (sets the default warm-up).
        strategy: the ``tf.distribute`` strategy to build and train in (default: the current one).
        backup_every_steps: ``BackupAndRestore`` frequency in steps.
        verbose: ``fit``'s verbosity.
    """

    def __init__(self, space: SearchSpace, vocabulary_size: int, datasets: Callable[[], tuple[Any, Any]],
                 tokenizer, steps_per_epoch: int, steps_per_trial: int,
                 strategy: tf.distribute.Strategy | None = None, backup_every_steps: int | None = None,
                 verbose: int | str = 0, name: str | None = None):
        super().__init__(name=name)
        self.space = space
        self.vocabulary_size = int(vocabulary_size)
        self.datasets = datasets
        self.tokenizer = tokenizer
        self.steps_per_epoch = int(steps_per_epoch)
        self.steps_per_trial = int(steps_per_trial)
        self.strategy = strategy or tf.distribute.get_strategy()
        self.backup_every_steps = backup_every_steps
        self.verbose = verbose
        self._data = None

    def declare_hyperparameters(self, hp: keras_tuner.HyperParameters) -> None:
        self.space.declare(hp)

    def trial_values(self, hp: keras_tuner.HyperParameters) -> dict[str, Any]:
        """The tuned values of ``hp`` (``hp`` itself is not changed)."""
        return self.space.declare(hp.copy())

    def cost(self, values: dict[str, Any]) -> TrialCost:
        """Parameters and encoder GFLOPs per second of the model of trial ``values``."""
        return trial_cost(self.space.model_options(values), self.vocabulary_size)

    def _training(self, key: str) -> Any:
        return self.space.training[key]

    def build(self, hp: keras_tuner.HyperParameters) -> keras.Model:
        values = self.space.declare(hp)
        options = self.space.model_options(values)
        warmup = self._training("warmup_steps") or max(1, self.steps_per_trial // 4)
        with self.strategy.scope():
            augmentation = None
            masks = self._training("spec_augment")
            if masks:
                from tf_contextnet.features import SpecAugment

                augmentation = SpecAugment(seed=self._training("seed"), **(masks if isinstance(masks, dict) else {}))
            model = ContextNetTransducer(self.vocabulary_size, augmentation=augmentation, **options)
            model.build()
            model.l2_weight = self._training("l2_weight")
            schedule = WarmupSchedule(values["peak_learning_rate"], warmup, self._training("decay_exponent"))
            model.compile(optimizer=make_optimizer(schedule, global_clipnorm=self._training("global_clipnorm")))
            # Built now, so that loading a checkpoint (the best model, Hyperband's continued trials)
            # restores the optimizer state too instead of skipping it.
            model.optimizer.build(model.trainable_variables)
        return model

    def prepare_data(self) -> tuple[Any, Any]:
        """``(train, valid)``, made on the first call (data errors surface here, before any trial)."""
        if self._data is None:
            self._data = self.datasets()
        return self._data

    def fit(self, hp: keras_tuner.HyperParameters, model: keras.Model, *args, epochs: int = 1,
            initial_epoch: int = 0, trial_directory: str | None = None, callbacks=(), **kwargs) -> dict[str, float]:
        if trial_directory is None:
            raise ValueError("ContextNetHyperModel.fit needs trial_directory (run it through a sweep tuner: "
                             "tf_contextnet.tuning.make_tuner)")
        record = read_trial_record(trial_directory) or {}
        finished = _finished_result(record, epochs)
        if finished is not None:
            logger.info("trial in %s already finished; not training it again", trial_directory)
            return finished
        train, valid = self.prepare_data()
        with self.strategy.scope():
            model(next(iter(train.take(1))))  # BackupAndRestore needs every weight built
            # A Hyperband round continuing a trial keeps the schedule where the earlier rounds left it.
            model.optimizer.iterations.assign(initial_epoch * self.steps_per_epoch)
        guard = NonFiniteLossGuard()
        own: list[keras.callbacks.Callback] = [guard]
        if self._training("noise_stddev") > 0:
            own.append(VariationalNoise(self._training("noise_stddev"), self._training("noise_start_step"),
                                        seed=self._training("seed")))
        own += checkpoint_callbacks(trial_directory, self.backup_every_steps)
        own.append(ValidationErrorRates(valid, self.tokenizer, 1, self._training("max_symbols_per_frame")))
        record["target_epochs"] = epochs
        own.append(TrialRecorder(trial_directory, record))
        try:
            with unknown_length_warning_ignored():
                # A trial resumed mid-epoch ends that epoch at its planned step, then trains the epochs
                # left: every trial trains exactly its planned steps. shuffle=False: the dataset
                # shuffles itself; Keras' default True only warns that it ignores it.
                fit_planned_steps(model, EpochStepLimit(self.steps_per_epoch), epochs=epochs,
                                  callbacks=own + list(callbacks), x=train, validation_data=valid,
                                  initial_epoch=initial_epoch, shuffle=False, verbose=self.verbose)
        except NonFiniteLossError as error:
            record.update(status="diverged", reason=guard.message or str(error))
            write_trial_record(trial_directory, record)
            raise keras_tuner.errors.FailedTrialError(f"diverged: {record['reason']}") from error
        best = best_epoch(record.get("epochs", []))
        if best is None:
            raise keras_tuner.errors.FailedTrialError(f"no epoch of the trial in {trial_directory} has a dev WER")
        record.update(status="completed", val_wer=best["val_wer"], val_loss=best.get("val_loss"))
        write_trial_record(trial_directory, record)
        return _metrics(best)


def _metrics(epoch: dict[str, Any]) -> dict[str, float]:
    return {k: float(epoch[k]) for k in ("val_wer", "val_loss", "val_cer", "loss") if epoch.get(k) is not None}


def _finished_result(record: dict[str, Any], epochs: int) -> dict[str, float] | None:
    """The result of a trial that already trained its ``epochs`` (killed before the tuner heard of it)."""
    if record.get("status") != "completed" or record.get("target_epochs") != epochs:
        return None
    best = best_epoch(record.get("epochs", []))
    return None if best is None else _metrics(best)
