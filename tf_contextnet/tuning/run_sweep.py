"""One sweep end to end: space file → tokenizer → Keras Tuner search → table, Pareto plot, best model.

This is what ``contextnet sweep`` runs. Directory ``OUT`` afterwards::

    sweep.json        the sweep's settings (a re-run with other settings is refused)
    tokenizer/        shared by every trial
    tuner/            the Keras Tuner project: oracle.json, trial_ID/ (trial.json, sweep_trial.json,
                      backup/, checkpoints/, checkpoint.weights.h5 of the best epoch)
    results.md, results.csv, pareto.png
    best_model/       the best trial as a model directory (``contextnet transcribe --model``)

A trial's resource is optimizer steps: ``steps_per_trial`` steps in epochs of ``steps_per_epoch``
(dev WER after each); Hyperband's epochs are these fixed-step epochs, its longest round
``steps_per_trial``. Re-running the same command resumes (see ``sweep_tuner``).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
from typing import Any

from tf_contextnet.tuning.search_space import FloatRange, SearchSpace, SearchSpaceError, load_search_space
from tf_contextnet.tuning.trial_cost import over_budget, trial_cost
from tf_contextnet.utils.atomic_json import write_json_atomically

logger = logging.getLogger(__name__)

SETTINGS_FILE = "sweep.json"
PROJECT_NAME = "tuner"
BEST_MODEL_DIR = "best_model"


@dataclasses.dataclass
class SweepConfig:
    """Everything one sweep needs.

    ``space`` is a YAML/JSON file (schema in ``search_space``). ``steps_per_epoch`` defaults to a
    quarter of ``steps_per_trial`` (random, Bayesian; all of it when not divisible by 4) or to
    ``steps_per_trial / hyperband_factor**2`` (Hyperband: three rounds). Every trial, and every
    Hyperband round, trains at least ``min_trial_steps`` steps, or the sweep is refused.
    ``strategy`` is a local ``tf.distribute`` strategy name (``default``, ``mirrored``).
    """

    space: str
    train: Any
    valid: Any
    out: str
    max_trials: int = 10
    tuner: str = "random"
    steps_per_trial: int = 2000
    steps_per_epoch: int | None = None
    min_trial_steps: int = 200
    hyperband_factor: int = 3
    strategy: str = "default"
    tokenizer: str | None = None
    backup_every_steps: int | None = None
    cache: bool = True
    verbose: int | str = "auto"


@dataclasses.dataclass
class SweepResult:
    """``role``: ``local``, ``chief`` or ``worker`` (a worker writes no table); ``best_trial`` is ``None``
    when no trial completed."""

    role: str
    rows: list[dict[str, Any]]
    best_trial: str | None
    out: str


def plan_steps(tuner: str, steps_per_trial: int, steps_per_epoch: int | None, min_trial_steps: int,
               hyperband_factor: int = 3) -> tuple[int, int]:
    """``(steps_per_epoch, epochs)`` of a trial; ``ValueError`` naming the setting when the plan is invalid."""
    if steps_per_trial < 1 or min_trial_steps < 1:
        raise ValueError(f"steps_per_trial ({steps_per_trial}) and min_trial_steps ({min_trial_steps}) must be >= 1")
    if steps_per_trial < min_trial_steps:
        raise ValueError(f"steps_per_trial = {steps_per_trial} is below the minimum trial length "
                         f"{min_trial_steps} steps (too short for dev WER to separate configurations)")
    if steps_per_epoch is None:
        if tuner == "hyperband":
            steps_per_epoch = max(1, steps_per_trial // hyperband_factor ** 2)
        else:
            steps_per_epoch = steps_per_trial // 4 if steps_per_trial % 4 == 0 else steps_per_trial
    if steps_per_epoch < 1 or steps_per_trial % steps_per_epoch:
        raise ValueError(f"steps_per_trial = {steps_per_trial} must be a whole number of epochs of "
                         f"steps_per_epoch = {steps_per_epoch} steps")
    if tuner == "hyperband" and steps_per_epoch < min_trial_steps:
        raise ValueError(f"Hyperband's shortest round trains one epoch = {steps_per_epoch} steps, below the minimum "
                         f"trial length {min_trial_steps}: raise --steps-per-trial or --steps-per-epoch")
    return steps_per_epoch, steps_per_trial // steps_per_epoch


def _role() -> str:
    if "KERASTUNER_ORACLE_IP" not in os.environ:
        return "local"
    return "chief" if "chief" in os.environ.get("KERASTUNER_TUNER_ID", "") else "worker"


def _space_grid(space: SearchSpace) -> list[dict[str, Any]]:
    alphas = (space.alpha.min,) if isinstance(space.alpha, FloatRange) else space.alpha
    windows = space.se_context_window
    grid = [{"alpha": a, "kernel_size": k, "blocks": b, "downsampling": d, "se": s,
             "se_context_window": w if s else 0, "peak_learning_rate": 0.0}
            for a in alphas for k in space.kernel_size for b in space.blocks for d in space.downsampling
            for s in space.se for w in windows]
    return [values for values in grid if space.combination_error(values) is None]


def check_budget(space: SearchSpace, vocabulary_size: int, source: str) -> None:
    """Refuse a budget that no configuration of the space meets (α ranges: at their minimum)."""
    if space.max_gflops is None and space.max_params is None:
        return
    grid = _space_grid(space)
    costs = [trial_cost(space.model_options(values), vocabulary_size) for values in grid]
    if all(over_budget(c, space.max_gflops, space.max_params) for c in costs):
        cheapest = min(costs, key=lambda c: (c.gflops, c.parameters))
        raise SearchSpaceError(f"{source}: no configuration of the space fits the budget (max_gflops "
                               f"{space.max_gflops}, max_params {space.max_params}); the cheapest has "
                               f"{cheapest.gflops:.3f} GFLOPs/s and {cheapest.parameters:,} parameters")


def _settings(config: SweepConfig, space_mapping: Any, steps_per_epoch: int, epochs: int) -> dict[str, Any]:
    return {"space": space_mapping, "tuner": config.tuner, "steps_per_trial": config.steps_per_trial,
            "steps_per_epoch": steps_per_epoch, "epochs": epochs, "hyperband_factor": config.hyperband_factor}


def _check_settings(out: str, settings: dict[str, Any]) -> None:
    settings = json.loads(json.dumps(settings))  # tuples → lists, as read back
    path = os.path.join(out, SETTINGS_FILE)
    if os.path.isfile(path):
        with open(path, encoding="utf-8") as f:
            previous = json.load(f)
        changed = sorted(k for k in settings if previous.get(k) != settings[k])
        if changed:
            raise ValueError(f"{out} holds a sweep with other settings ({', '.join(changed)} differ); re-run it "
                             f"with the same space file and options to resume, or pick a new --out")
        return
    write_json_atomically(path, settings)


def run_sweep(config: SweepConfig) -> SweepResult:
    """Run (or resume) the sweep; write the table, plot and best model (not on distributed workers)."""
    import keras

    from tf_contextnet.data import make_dataset
    from tf_contextnet.training.run_training import front_end, load_or_train_tokenizer, record_duration_buckets
    from tf_contextnet.training.strategies import get_strategy
    from tf_contextnet.tuning.context_net_hyper_model import ContextNetHyperModel
    from tf_contextnet.tuning.results import collect_results, plot_pareto, write_results_table
    from tf_contextnet.tuning.sweep_tuner import TUNERS, make_tuner

    if config.tuner not in TUNERS:
        raise ValueError(f"unknown tuner {config.tuner!r}; expected one of {', '.join(TUNERS)}")
    if config.max_trials < 1:
        raise ValueError(f"max_trials must be >= 1, got {config.max_trials}")
    if config.strategy not in ("default", "mirrored"):
        raise ValueError(f"strategy {config.strategy!r}: a sweep runs under a local strategy ('default' or "
                         f"'mirrored'); spread trials over machines with Keras Tuner's chief/worker mode instead")
    space = load_search_space(config.space)
    steps_per_epoch, epochs = plan_steps(config.tuner, config.steps_per_trial, config.steps_per_epoch,
                                         config.min_trial_steps, config.hyperband_factor)
    os.makedirs(config.out, exist_ok=True)
    _check_settings(config.out, _settings(config, dataclasses.asdict(space), steps_per_epoch, epochs))
    keras.utils.set_random_seed(space.training["seed"])
    tokenizer = load_or_train_tokenizer(os.path.join(config.out, "tokenizer"), config.train,
                                        space.training["tokenizer_kind"], space.training["vocabulary_size"],
                                        given=config.tokenizer)
    check_budget(space, tokenizer.vocabulary_size, config.space)
    for reason in space.invalid_combinations():
        logger.warning("%s: trials drawing this combination are skipped: %s", config.space, reason)
    extractor, normalization = front_end(space.training["normalization"])
    training = dict(space.training)
    if training["bucket_boundaries"] == "auto":
        training["bucket_boundaries"] = record_duration_buckets(config.train, training["batch_size"],
                                                                training["max_duration"])
        logger.info("duration buckets (s): %s", training["bucket_boundaries"])
    common = dict(bucket_boundaries=training["bucket_boundaries"], max_duration=training["max_duration"],
                  max_label_length=training["max_label_length"], feature_extractor=extractor,
                  normalization=normalization)

    def datasets():
        train = make_dataset(config.train, tokenizer, training["batch_size"], shuffle=True, seed=training["seed"],
                             cache=config.cache, repeat=True, **common)
        valid = make_dataset(config.valid, tokenizer, training["batch_size"], shuffle=False, cache=config.cache,
                             **common)
        return train, valid

    hypermodel = ContextNetHyperModel(space, tokenizer.vocabulary_size, datasets, tokenizer, steps_per_epoch,
                                      config.steps_per_trial, strategy=get_strategy(config.strategy),
                                      backup_every_steps=config.backup_every_steps or min(100, steps_per_epoch),
                                      verbose=config.verbose)
    role = _role()
    if role != "chief":  # the chief serves the oracle and trains nothing
        hypermodel.prepare_data()
    tuner = make_tuner(config.tuner, hypermodel, config.out, config.max_trials, epochs, project_name=PROJECT_NAME,
                       seed=training["seed"], hyperband_factor=config.hyperband_factor)
    tuner.search(epochs=epochs, verbose=0 if config.verbose == 0 else 1)
    project_dir = os.path.join(config.out, PROJECT_NAME)
    rows = collect_results(project_dir)
    if role == "worker":
        return SweepResult(role, rows, None, config.out)
    write_results_table(rows, os.path.join(config.out, "results.md"), os.path.join(config.out, "results.csv"))
    plot_pareto(rows, os.path.join(config.out, "pareto.png"), title=f"ContextNet sweep ({config.tuner})")
    best = [t for t in tuner.oracle.get_best_trials(1) if t.status == "COMPLETED"]
    if not best:
        logger.warning("no trial of the sweep in %s completed: no best model written", config.out)
        return SweepResult(role, rows, None, config.out)
    trial = best[0]
    model = tuner.load_model(trial)
    row = next((r for r in rows if r["trial"] == trial.trial_id), {})
    from tf_contextnet.inference import save_model_directory

    save_model_directory(os.path.join(config.out, BEST_MODEL_DIR), model, tokenizer, feature_extractor=extractor,
                         normalization=normalization,
                         decoding={"max_symbols_per_frame": training["max_symbols_per_frame"]},
                         training={"sweep": config.out, "trial": trial.trial_id,
                                   "values": hypermodel.trial_values(trial.hyperparameters),
                                   "parameters": row.get("params"), "gflops": row.get("gflops"),
                                   "dev_wer": row.get("dev_wer"), "dev_loss": row.get("dev_loss")})
    return SweepResult(role, rows, trial.trial_id, config.out)

