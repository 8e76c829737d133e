"""Keras Tuner tuners (random, Bayesian, Hyperband) that filter by cost, record and resume each trial.

``make_tuner`` returns one of Keras Tuner's own tuners with ``SweepTunerMixin`` in front of it:

- the search space is declared without building a model (``declare_hyperparameters``);
- before a trial builds anything its cost (parameters, encoder GFLOPs per second) is computed
  from the analytic counts; a configuration over the budget, or whose encoder blocks lack a
  strided block of its downsampling (``SearchSpace.combination_error``), is *skipped*: its record
  says so and the trial ends as FAILED with a ``skipped: ...`` message (Keras Tuner's own idiom
  for ``max_model_size``), so it counts towards ``max_trials`` but costs no training;
- each trial gets its directory (``PROJECT/trial_ID``) passed to ``ContextNetHyperModel.fit``,
  which keeps the trial's ``BackupAndRestore`` backup and record there.

Resuming: Keras Tuner reloads its project (``overwrite=False``) and hands a trial that was
running when the process died back out first (same trial id, same values), so the trial continues
from its own backup. A record whose values differ from the trial's (a reused id) is discarded with
its backup.

Distributed tuning: with ``KERASTUNER_TUNER_ID`` (``chief`` or ``tuner0``, ``tuner1``, ...),
``KERASTUNER_ORACLE_IP`` and ``KERASTUNER_ORACLE_PORT`` set, the chief serves the oracle and the
workers run trials, all sharing the project directory (Keras Tuner's own mechanism).
"""

from __future__ import annotations

import os
import shutil

import keras_tuner

from tf_contextnet.tuning.context_net_hyper_model import OBJECTIVE, ContextNetHyperModel
from tf_contextnet.tuning.trial_cost import over_budget
from tf_contextnet.tuning.trial_recorder import read_trial_record, write_trial_record

TUNERS = ("random", "bayesian", "hyperband")


class SweepTunerMixin:
    """Cost filter, per-trial directory and record for a ``keras_tuner.Tuner`` subclass (put first)."""

    hypermodel: ContextNetHyperModel

    def _populate_initial_space(self):
        # The space declares every dimension (conditional ones included) without building a model.
        hp = self.oracle.get_space()
        self.hypermodel.declare_hyperparameters(hp)
        self.oracle.update_space(hp)

    def run_trial(self, trial, *args, **kwargs):
        directory = self.get_trial_dir(trial.trial_id)
        values = self.hypermodel.trial_values(trial.hyperparameters)
        record = read_trial_record(directory) or {}
        if record.get("values") not in (None, values):
            shutil.rmtree(os.path.join(directory, "backup"), ignore_errors=True)
            record = {}
        space = self.hypermodel.space
        record.update(trial_id=trial.trial_id, tuner_id=self.tuner_id, values=values,
                      model_options=space.model_options(values),
                      tuner_values={k: v for k, v in trial.hyperparameters.values.items() if k.startswith("tuner/")})
        reason = space.combination_error(values)
        if reason is None:
            cost = self.hypermodel.cost(values)
            record.update(parameters=cost.parameters, gflops=cost.gflops)
            reason = over_budget(cost, space.max_gflops, space.max_params)
        if reason is not None:
            record.update(status="skipped", reason=reason)
            write_trial_record(directory, record)
            raise keras_tuner.errors.FailedTrialError(f"skipped: {reason}")
        write_trial_record(directory, record)
        try:
            return super().run_trial(trial, *args, trial_directory=directory, **kwargs)
        except Exception as error:
            record = read_trial_record(directory) or record
            if record.get("status") not in ("diverged", "completed"):
                record.update(status="failed", reason=f"{type(error).__name__}: {error}")
                write_trial_record(directory, record)
            raise


class _RandomSearch(SweepTunerMixin, keras_tuner.RandomSearch):
    pass


class _BayesianOptimization(SweepTunerMixin, keras_tuner.BayesianOptimization):
    pass


class _Hyperband(SweepTunerMixin, keras_tuner.Hyperband):
    pass


def make_tuner(kind: str, hypermodel: ContextNetHyperModel, directory: str, max_trials: int, epochs: int,
               project_name: str = "tuner", seed: int = 0, hyperband_factor: int = 3) -> keras_tuner.Tuner:
    """A ``random``/``bayesian``/``hyperband`` tuner minimising dev WER (``val_wer``).

    ``epochs`` is each trial's length in epochs (Hyperband: the longest round, ``max_epochs``).
    An existing project in ``directory/project_name`` is reloaded (resumed), never overwritten.
    Consecutive failed trials stop the search after ``max_trials`` of them (skipped ones count).
    """
    objective = keras_tuner.Objective(OBJECTIVE, direction="min")
    common = dict(hypermodel=hypermodel, objective=objective, seed=seed, directory=directory,
                  project_name=project_name, overwrite=False, distribution_strategy=hypermodel.strategy,
                  max_consecutive_failed_trials=max(3, max_trials))
    if kind == "random":
        tuner = _RandomSearch(max_trials=max_trials, **common)
    elif kind == "bayesian":
        tuner = _BayesianOptimization(max_trials=max_trials, **common)
    elif kind == "hyperband":
        tuner = _Hyperband(max_epochs=epochs, factor=hyperband_factor, **common)
        tuner.oracle.max_trials = max_trials
    else:
        raise ValueError(f"unknown tuner {kind!r}; expected one of {', '.join(TUNERS)}")
    if not os.path.exists(tuner._get_tuner_fname()):
        # Keras Tuner reloads a project only when this file exists; write it before the first trial
        # so that a sweep killed during its first trial resumes that trial too.
        tuner.save()
    return tuner
