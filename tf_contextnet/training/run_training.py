"""One training run end to end: data → model → ``fit`` with the paper's recipe → model directory.

This is what ``contextnet train`` runs; recipes call ``run_training`` with their own settings.
Re-running the same configuration after a kill resumes from ``OUT/backup`` (see checkpointing).

Directory ``OUT`` afterwards: ``model.keras``, ``tokenizer/``, ``config.json`` (the model
directory read by ``contextnet transcribe``), plus ``backup/``, ``checkpoints/``, ``logs/``
(TensorBoard, and ``metrics.csv``: one row per epoch, see ``MetricsCsvLogger``), ``history.json``
(every epoch of every run, one aligned row per epoch, see ``epoch_history``) and, with a time
budget, ``time_spent.json``. SIGINT/SIGTERM and the end of the budget stop training cleanly
after the current step; the model directory is written as after a finished run.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import os
import signal
import time
import warnings
from typing import Any, Iterator, Sequence

import keras

from tf_contextnet.training.batch_norm_statistics import recompute_batch_norm_statistics
from tf_contextnet.training.budget_schedule import BudgetSchedule
from tf_contextnet.training.checkpointing import checkpoint_callbacks
from tf_contextnet.training.epoch_history import EpochLogs, merge_epoch_history, read_history, write_history
from tf_contextnet.inference.model_directory import TOKENIZER_DIR, save_model_directory
from tf_contextnet.training.metrics_csv_logger import MetricsCsvLogger
from tf_contextnet.training.non_finite_loss_guard import NonFiniteLossError, NonFiniteLossGuard
from tf_contextnet.training.optimizer import make_optimizer
from tf_contextnet.training.precision import set_precision
from tf_contextnet.training.stop_on_signal import StopOnSignal
from tf_contextnet.training.strategies import get_strategy
from tf_contextnet.training.time_budget import TimeBudget
from tf_contextnet.training.validation_error_rates import ValidationErrorRates
from tf_contextnet.training.variational_noise import VariationalNoise
from tf_contextnet.training.warmup_schedule import WarmupSchedule

logger = logging.getLogger(__name__)


@dataclasses.dataclass
class TrainingConfig:
    """Everything one run needs; defaults follow the paper (Han et al., 2020, §3.1) where it says.

    Data: ``train``/``valid`` are TFRecord folders, globs or file lists written by
    ``contextnet prepare``. ``tokenizer`` is a saved tokenizer folder; when ``None`` one of
    ``tokenizer_kind`` is trained on the training transcripts (``vocabulary_size`` ids).
    Model: ``preset`` (contextnet_s/m/l) with ``model_options`` overrides (e.g. ``alpha``;
    ``fused_loss_sub_batch_size`` computes the training loss that many utterances at a time, for
    batches whose ``[B, T', U+1, V]`` lattice does not fit: docs/memory.md).
    ``precise_bn_batches > 0`` recomputes the batch-norm statistics from that many training
    batches after ``fit`` (worth it for short runs; see ``batch_norm_statistics``).
    ``bucket_boundaries``: seconds, or ``"auto"`` (the quartiles of the training durations).
    ``spec_augment``: ``True`` (the paper's masks), ``False``, or a dict of ``SpecAugment`` arguments.
    ``minutes``: a wall-clock training budget (resumed runs count; graph tracing, validation and
    dev decoding count, data preparation does not). With it, ``fit`` stops when the budget is
    spent and the learning rate follows ``BudgetSchedule`` (warm-up, the peak held for 40 % of the
    budget, then a linear decay to ``final_learning_rate_fraction`` of the peak at its end) instead of the
    paper's inverse square root.
    """

    train: Any
    out: str
    valid: Any = None
    tokenizer: str | None = None
    tokenizer_kind: str = "wordpiece"
    vocabulary_size: int = 1000
    preset: str = "contextnet_s"
    model_options: dict = dataclasses.field(default_factory=dict)
    epochs: int = 100
    steps_per_epoch: int | None = None
    batch_size: int = 8
    bucket_boundaries: Sequence[float] | str | None = None
    max_duration: float | None = None
    max_label_length: int | None = None
    normalization: str = "per-utterance"
    spec_augment: bool | dict = True
    peak_learning_rate: float = 0.0025
    warmup_steps: int = 15000
    decay_exponent: float = 0.5
    l2_weight: float = 1e-6
    global_clipnorm: float | None = 5.0
    precision: str = "float32"
    strategy: str = "default"
    tpu: str | None = None
    noise_stddev: float = 0.075
    noise_start_step: int = 10000
    validate_every: int = 1
    stop_at_wer: float | None = None
    backup_every_steps: int | None = 100
    max_symbols_per_frame: int = 4
    precise_bn_batches: int = 0
    seed: int = 0
    cache: bool = True
    minutes: float | None = None
    final_learning_rate_fraction: float = 0.05
    verbose: int | str = "auto"


@dataclasses.dataclass
class TrainingResult:
    """``history``: every epoch of every run in ``out``, as written to ``history.json`` (``epoch_history``)."""

    history: dict
    stopped_reason: str
    seconds: float
    steps: int


NORMALIZATIONS = ("none", "per-utterance")
HISTORY_FILE = "history.json"


@contextlib.contextmanager
def unknown_length_warning_ignored() -> Iterator[None]:
    """Inside: Keras' "Your input ran out of data; interrupting training" warning is ignored. Keras
    emits it at the end of every pass over a dataset of unknown length (the validation set, a
    non-repeated training set), where it is expected, not a fault: ``fit`` callers (training, sweep
    trials) wrap ``model.fit`` in this."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Your input ran out of data", category=UserWarning)
        yield


def front_end(normalization: str) -> tuple[keras.layers.Layer, keras.layers.Layer | None]:
    """The log-mel extractor and the feature normalisation named ``normalization`` (one of NORMALIZATIONS)."""
    from tf_contextnet.features import LogMelSpectrogram, PerUtteranceNormalization

    if normalization not in NORMALIZATIONS:
        raise ValueError(f"unknown normalization {normalization!r}; expected one of {NORMALIZATIONS}")
    return LogMelSpectrogram(), (PerUtteranceNormalization() if normalization == "per-utterance" else None)


def load_or_train_tokenizer(saved: str, train, kind: str, vocabulary_size: int, given: str | None = None):
    """``given`` when set; else the tokenizer saved in ``saved`` (a resumed run keeps its vocabulary); else one
    of ``kind`` trained on the transcripts of the ``train`` TFRecords and saved in ``saved`` atomically:
    several distributed workers may start at once, and the first rename wins."""
    import shutil

    from tf_contextnet.data.dataset import read_metadata, resolve_files
    from tf_contextnet.text import load_tokenizer, train_tokenizer

    if given is not None:
        return load_tokenizer(given)
    if not os.path.isfile(os.path.join(saved, "tokenizer.json")):
        texts = [row[2] for row in read_metadata(resolve_files(train))]
        temporary = f"{saved}.tmp-{os.getpid()}"
        train_tokenizer(kind, texts, vocabulary_size).save(temporary)
        if os.path.isdir(saved) and not os.path.isfile(os.path.join(saved, "tokenizer.json")):
            shutil.rmtree(saved)  # left half-written by an interrupted run
        try:
            os.rename(temporary, saved)
        except OSError:  # another process got there first: use its (identical) tokenizer
            shutil.rmtree(temporary, ignore_errors=True)
    return load_tokenizer(saved)


def build_model(config: TrainingConfig, vocabulary_size: int) -> keras.Model:
    """The preset's ``ContextNetTransducer`` (SpecAugment as its training augmentation when enabled)."""
    from tf_contextnet.features import SpecAugment
    from tf_contextnet.models.contextnet_transducer import ContextNetTransducer

    options = dict(config.model_options)
    if config.spec_augment and "augmentation" not in options:
        masks = config.spec_augment if isinstance(config.spec_augment, dict) else {}
        options["augmentation"] = SpecAugment(seed=config.seed, **masks)
    return ContextNetTransducer.from_preset(config.preset, vocabulary_size, **options)


def duration_buckets(seconds: Sequence[float], batch_size: int, buckets: int = 4,
                     max_duration: float | None = None) -> list[float] | None:
    """Bucket boundaries at the quantiles of ``seconds`` (1/4, 2/4, 3/4 for 4 buckets), rounded to 0.1 s.

    Batches of similar lengths waste little on padding. ``None`` (no bucketing) for a corpus of
    fewer than ``2 · buckets · batch_size`` utterances, where buckets would fill batches with
    repeats of the same few utterances; under ``max_duration`` (TPU static shapes need every
    boundary below it) longer boundaries are dropped.
    """
    import numpy as np

    values = np.asarray(seconds, np.float64)
    if values.size < 2 * buckets * batch_size:
        return None
    quantiles = np.quantile(values, np.arange(1, buckets) / buckets)
    found = sorted({round(float(q), 1) for q in quantiles if q > 0.05})
    if max_duration is not None:
        found = [b for b in found if b < max_duration]
    return found or None


def record_duration_buckets(train: str, batch_size: int, max_duration: float | None = None,
                            buckets: int = 4) -> list[float] | None:
    """``duration_buckets`` of the durations of the TFRecords ``train`` (read from prepare's metadata):
    what ``bucket_boundaries="auto"`` means, for training and for sweeps."""
    from tf_contextnet.data.dataset import read_metadata, resolve_files
    from tf_contextnet.features import SAMPLE_RATE

    seconds = [row[1] / SAMPLE_RATE for row in read_metadata(resolve_files(train))]
    return duration_buckets(seconds, batch_size, buckets, max_duration)


def auto_bucket_boundaries(config: TrainingConfig, buckets: int = 4) -> list[float] | None:
    """``record_duration_buckets`` of ``config``'s training TFRecords."""
    return record_duration_buckets(config.train, config.batch_size, config.max_duration, buckets)


def _budget_already_spent(config: TrainingConfig) -> TrainingResult | None:
    """The earlier run's result when ``config.minutes`` is spent and its model directory is written."""
    if config.minutes is None:
        return None
    from tf_contextnet.training.time_budget import spent_seconds

    spent = spent_seconds(os.path.join(config.out, "time_spent.json"))
    written = os.path.join(config.out, "config.json")
    if spent < config.minutes * 60 or not os.path.isfile(os.path.join(config.out, "model.keras")) \
            or not os.path.isfile(written):
        return None
    with open(written, encoding="utf-8") as f:
        steps = int(json.load(f).get("training", {}).get("steps", 0))
    history = read_history(os.path.join(config.out, HISTORY_FILE))
    return TrainingResult(history, f"time budget of {config.minutes:g} min already spent", 0.0, steps)


def run_training(config: TrainingConfig, extra_callbacks: Sequence[keras.callbacks.Callback] = ()) -> TrainingResult:
    """Train per ``config``; write the model directory to ``config.out``; return history and timing."""
    from tf_contextnet.data import make_dataset

    os.makedirs(config.out, exist_ok=True)
    done = _budget_already_spent(config)
    if done is not None:  # re-running a finished budgeted command: nothing to train, nothing to trace
        return done
    keras.utils.set_random_seed(config.seed)
    set_precision(config.precision)
    strategy = get_strategy(config.strategy, tpu=config.tpu)
    tokenizer = load_or_train_tokenizer(os.path.join(config.out, TOKENIZER_DIR), config.train, config.tokenizer_kind,
                                        config.vocabulary_size, given=config.tokenizer)
    extractor, normalization = front_end(config.normalization)
    tpu = config.strategy == "tpu"
    if isinstance(config.bucket_boundaries, str):
        if config.bucket_boundaries != "auto":
            raise ValueError(f"bucket_boundaries must be seconds or 'auto', got {config.bucket_boundaries!r}")
        config = dataclasses.replace(config, bucket_boundaries=auto_bucket_boundaries(config))
        logger.info("duration buckets (s): %s", config.bucket_boundaries)
    # TPUs compile one program per shape: full batches padded to bucket boundaries and a fixed label length.
    common = dict(bucket_boundaries=config.bucket_boundaries, max_duration=config.max_duration,
                  max_label_length=config.max_label_length, feature_extractor=extractor,
                  normalization=normalization, drop_remainder=tpu, static_shapes=tpu)
    train = make_dataset(config.train, tokenizer, config.batch_size, shuffle=True, seed=config.seed,
                         cache=config.cache, repeat=config.steps_per_epoch is not None, **common)
    valid = None
    if config.valid is not None:
        valid = make_dataset(config.valid, tokenizer, config.batch_size, shuffle=False, cache=config.cache, **common)

    with strategy.scope():
        model = build_model(config, tokenizer.vocabulary_size)
        model.l2_weight = config.l2_weight
        model(next(iter(train.take(1))))  # BackupAndRestore needs built weights
        if config.minutes is not None:
            schedule = BudgetSchedule(config.peak_learning_rate, config.warmup_steps,
                                      config.final_learning_rate_fraction)
        else:
            schedule = WarmupSchedule(config.peak_learning_rate, config.warmup_steps, config.decay_exponent)
        model.compile(optimizer=make_optimizer(schedule, global_clipnorm=config.global_clipnorm))
        model.optimizer.build(model.trainable_variables)

    guard = NonFiniteLossGuard()
    stopper = StopOnSignal()
    callbacks: list[keras.callbacks.Callback] = [stopper, guard]
    budget = None
    if config.minutes is not None:
        budget = TimeBudget(config.minutes * 60, os.path.join(config.out, "time_spent.json"), schedule=schedule)
        callbacks.append(budget)
    if config.noise_stddev > 0:
        callbacks.append(VariationalNoise(config.noise_stddev, config.noise_start_step, seed=config.seed))
    callbacks += checkpoint_callbacks(config.out, config.backup_every_steps)
    if valid is not None:
        callbacks.append(ValidationErrorRates(valid, tokenizer, config.validate_every, config.max_symbols_per_frame,
                                              stop_at_wer=config.stop_at_wer))
    callbacks += list(extra_callbacks)
    epoch_logs = EpochLogs()
    callbacks.append(epoch_logs)
    callbacks.append(MetricsCsvLogger(os.path.join(config.out, "logs", "metrics.csv"),
                                      clock=None if budget is None else budget.elapsed))
    callbacks.append(keras.callbacks.TensorBoard(os.path.join(config.out, "logs")))

    start = time.monotonic()
    try:
        with unknown_length_warning_ignored():
            # shuffle=False: the dataset shuffles itself; Keras' default True only warns that it ignores it.
            model.fit(train, validation_data=valid, epochs=config.epochs, shuffle=False,
                      steps_per_epoch=config.steps_per_epoch, callbacks=callbacks, verbose=config.verbose)
    except NonFiniteLossError:
        # The weights are not finite any more; the guard ran before BackupAndRestore, so the last
        # backup and checkpoints are the last good state. Nothing is saved.
        logger.error(guard.message)
    seconds = time.monotonic() - start
    steps = int(model.optimizer.iterations.numpy())
    history = merge_epoch_history(read_history(os.path.join(config.out, HISTORY_FILE)), epoch_logs.epochs)
    if guard.stopped:
        return TrainingResult(history, guard.message, seconds, steps)
    reason = "stopped early" if model.stop_training else "finished"
    if stopper.received is not None:
        reason = f"stopped by {signal.Signals(stopper.received).name}"
    elif budget is not None and budget.elapsed() >= budget.seconds:
        reason = f"time budget of {config.minutes:g} min spent"
    if config.precise_bn_batches > 0:
        plain = make_dataset(config.train, tokenizer, config.batch_size, shuffle=True, seed=config.seed + 1,
                             cache=False, **common)
        recompute_batch_norm_statistics(model, plain, config.precise_bn_batches)
    save_model_directory(config.out, model, tokenizer, feature_extractor=extractor, normalization=normalization,
                         decoding={"max_symbols_per_frame": config.max_symbols_per_frame},
                         training={**dataclasses.asdict(config), "steps": steps})
    write_history(os.path.join(config.out, HISTORY_FILE), history)
    return TrainingResult(history, reason, seconds, steps)
