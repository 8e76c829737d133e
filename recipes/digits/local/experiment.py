"""The TensorFlow stages of the digits recipe: tokenizer, training, evaluation, export.

Everything here calls the library (``tf_contextnet``); nothing of the model is defined here.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import keras
import tensorflow as tf

from local.time_budget import TimeBudget, spent_seconds
from tf_contextnet.data import make_dataset, read_manifest
from tf_contextnet.decoding import make_greedy_decoder
from tf_contextnet.features import FrequencyWarp, LogMelSpectrogram, PerUtteranceNormalization, SpecAugment
from tf_contextnet.inference import ModelDirectory, save_model_directory
from tf_contextnet.inference.evaluate import evaluate, utterances_from_records
from tf_contextnet.metrics import ErrorCounts
from tf_contextnet.models import ContextNetTransducer
from tf_contextnet.text import load_tokenizer, train_tokenizer
from tf_contextnet.training import (NonFiniteLossGuard, ValidationErrorRates,
                                    WarmupSchedule, checkpoint_callbacks, make_optimizer)

MAX_SECONDS = 10.0  # longest training utterance kept (7-digit strings are about 5 s)


def stage_tokenizer(out: Path, vocabulary_size: int):
    """WordPiece on the training transcripts, saved in ``out/model/tokenizer`` (reused when present)."""
    folder = out / "model" / "tokenizer"
    if (folder / "tokenizer.json").is_file():
        print(f"[tokenizer] reusing {folder}")
        return load_tokenizer(folder)
    texts = [e.transcript for e in read_manifest(out / "corpus" / "train.tsv")]
    tokenizer = train_tokenizer("wordpiece", texts, vocabulary_size)
    tokenizer.save(folder)
    print(f"[tokenizer] WordPiece with {tokenizer.vocabulary_size} ids (blank included) saved to {folder}")
    return tokenizer


def front_end() -> tuple[keras.layers.Layer, keras.layers.Layer]:
    """The paper's 80-bin log-mel (25 ms / 10 ms) and per-utterance mean/variance normalisation."""
    return LogMelSpectrogram(), PerUtteranceNormalization()


def build_model(args: argparse.Namespace, vocabulary_size: int) -> keras.Model:
    """A small ContextNet: the preset at width ``--alpha`` with a small decoder, plus augmentation.

    Augmentation, training only: vocal-tract-length perturbation (``FrequencyWarp``, α within
    ±``--max-warp``: a few training speakers must stand for every unseen one), then SpecAugment
    milder than the paper's (2 frequency masks of F=15 and 4 time masks of at most 4 % of the
    length instead of 10 of 5 %): a 0.4 s digit is only 40 frames.
    """
    extractor = front_end()[0]
    augmentation = [SpecAugment(freq_mask_param=15, num_freq_masks=2, num_time_masks=4, time_mask_ratio=0.04,
                                seed=args.seed)]
    if args.max_warp > 0:
        upper = extractor.upper_edge_hertz or extractor.sample_rate / 2
        augmentation.insert(0, FrequencyWarp(args.max_warp, lower_edge_hertz=extractor.lower_edge_hertz,
                                             upper_edge_hertz=upper, boundary_hertz=0.6 * upper, seed=args.seed))
    model = ContextNetTransducer.from_preset(
        args.preset, vocabulary_size=vocabulary_size, alpha=args.alpha, prediction_embedding_dim=args.decoder_units,
        prediction_units=args.decoder_units, joint_dim=args.decoder_units, augmentation=augmentation)
    return model


def _build(model: keras.Model, dataset: tf.data.Dataset) -> None:
    """Create every variable (model and optimizer) before ``fit``, as BackupAndRestore needs."""
    batch = next(iter(dataset.take(1)))
    model(batch, training=False)
    model.optimizer.build(model.trainable_variables)


def stage_train(args: argparse.Namespace, tokenizer, folders: dict[str, Path]) -> keras.Model:
    """Train until ``--minutes`` of training time have been spent in total (across resumed runs)."""
    out = args.out / "train"
    keras.utils.set_random_seed(args.seed)
    extractor, normalization = front_end()
    train = make_dataset(folders["train"], tokenizer, args.batch_size, shuffle=True, seed=args.seed,
                         max_duration=MAX_SECONDS, cache=True, repeat=True, feature_extractor=extractor,
                         normalization=normalization, bucket_boundaries=[1.0, 2.0, 3.0, 4.0],
                         bucket_batch_sizes=[args.batch_size * 3, args.batch_size * 2, int(args.batch_size * 1.3),
                                             args.batch_size, int(args.batch_size * 0.8)])
    dev = make_dataset(folders["dev"], tokenizer, 32, shuffle=False, cache=True, feature_extractor=extractor,
                       normalization=normalization)
    model = build_model(args, tokenizer.vocabulary_size)
    model.compile(optimizer=make_optimizer(WarmupSchedule(args.peak_learning_rate, args.warmup_steps)))
    _build(model, train)
    print(f"[model] {args.preset} alpha={args.alpha}: {model.count_params() / 1e6:.2f} M parameters")

    budget_file = out / "time_spent.json"
    budget = args.minutes * 60
    if spent_seconds(budget_file) >= budget:
        print(f"[train] budget of {args.minutes:g} min already spent; loading the final weights")
        model.load_weights(out / "final.weights.h5")
        return model
    callbacks = [TimeBudget(budget, budget_file), NonFiniteLossGuard(),
                 *checkpoint_callbacks(str(out), backup_every_steps=50),
                 ValidationErrorRates(dev, tokenizer, every_n_epochs=1),
                 keras.callbacks.CSVLogger(str(out / "history.csv"), append=True),
                 keras.callbacks.TensorBoard(str(out / "tensorboard"))]
    print(f"[train] up to {args.minutes:g} min of training ({spent_seconds(budget_file) / 60:.1f} spent); "
          f"batch {args.batch_size}, {args.steps_per_epoch} steps per epoch; logs in {out}")
    model.fit(train, epochs=100000, steps_per_epoch=args.steps_per_epoch, callbacks=callbacks,
              verbose=2 if args.quiet else 1)
    model.save_weights(out / "final.weights.h5")
    print(f"[train] stopped after {spent_seconds(budget_file) / 60:.1f} min of training, "
          f"{int(model.optimizer.iterations.numpy())} steps")
    return model


def _rate(counts) -> str:
    return f"{100 * counts.rate:.2f}% ({counts.edits}/{counts.length})"


def stage_evaluate(model: keras.Model, tokenizer, folders: dict[str, Path], summary: dict,
                   args: argparse.Namespace) -> str:
    """Greedy WER per held-out speaker, isolated and connected, scored by ``tf_contextnet.inference.evaluate``
    against the raw transcripts; writes ``out/results.md``, ``out/errors.tsv`` and ``out/eval/<split>-<speaker>/``."""
    extractor, normalization = front_end()
    decode = make_greedy_decoder(model)
    loaded = ModelDirectory(model, tokenizer, {"sample_rate": extractor.sample_rate}, extractor, normalization)
    rows, totals = [], {"test_isolated": [0, 0], "test_connected": [0, 0]}
    errors = []
    for speaker in summary["test_speakers"]:
        cells = []
        for split in ("test_isolated", "test_connected"):
            records = folders[f"{split}/{speaker}"]
            report = evaluate(loaded, utterances_from_records(records), decode, records=records, batch_size=32,
                              name=f"{split}-{speaker}", progress=False)
            report.write(args.out / "eval" / f"{split}-{speaker}")
            counts = ErrorCounts(report.words.edits, report.words.reference_length)
            totals[split][0] += counts.edits
            totals[split][1] += counts.length
            cells.append(_rate(counts))
            errors += [f"{speaker}\t{split}\t{r.scored_reference}\t{r.scored_hypothesis}"
                       for r in report.results if r.words.edits]
        rows.append(f"| {speaker} | {cells[0]} | {cells[1]} |")
    overall = [_rate(ErrorCounts(*totals[s])) for s in ("test_isolated", "test_connected")]
    spent = spent_seconds(args.out / "train" / "time_spent.json") / 60
    table = "\n".join([
        f"Greedy WER on held-out speakers (trained on {', '.join(summary['train_speakers'])}; "
        f"{spent:.1f} min of training, {int(model.optimizer.iterations.numpy())} steps)",
        "",
        "| held-out speaker | isolated digits | connected digits |",
        "|---|---|---|",
        *rows,
        f"| **all** | **{overall[0]}** | **{overall[1]}** |",
    ])
    (args.out / "results.md").write_text(table + "\n", encoding="utf-8")
    (args.out / "errors.tsv").write_text("speaker\tsplit\treference\thypothesis\n"
                                         + "".join(e + "\n" for e in errors), encoding="utf-8")
    return table


def stage_save(model: keras.Model, tokenizer, args: argparse.Namespace) -> None:
    """Save model, tokenizer and front end in ``out/model`` for ``contextnet transcribe``."""
    extractor, normalization = front_end()
    save_model_directory(args.out / "model", model, tokenizer, feature_extractor=extractor,
                         normalization=normalization,
                         training={"recipe": "recipes/digits/train.py", "minutes": args.minutes,
                                   "steps": int(model.optimizer.iterations.numpy())})


def stage_export(args: argparse.Namespace) -> dict:
    """``contextnet export`` of ``out/model`` into ``out/export``: SavedModel for TF Serving (+ the
    TFLite variants of ``--export-tflite``); returns the manifest."""
    from tf_contextnet.serving.export_model import export_model

    return export_model(args.out / "model", args.out / "export", tflite=args.export_tflite)
