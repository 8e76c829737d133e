"""The TensorFlow stages of the AN4 recipe: tokenizer, TFRecords, training, averaging, evaluation, export.

Everything here calls the library (``tf_contextnet``); nothing of the model is defined here.
"""

from __future__ import annotations

import argparse
import csv
import json
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np

from local import scoring
from tf_contextnet.data import prepare, read_manifest
from tf_contextnet.text import load_tokenizer, train_tokenizer

TOKENIZER_DIR = Path("lang") / "tokenizer"
SPLITS = ("train_sp", "dev", "test")


def stage_tokenizer(out: Path, kind: str, vocabulary_size: int):
    """A tokenizer learnt on the training transcripts (dev and test never seen), reused when present."""
    folder = out / TOKENIZER_DIR
    if (folder / "tokenizer.json").is_file():
        print(f"[tokenizer] reusing {folder}")
        return load_tokenizer(folder)
    texts = [e.transcript for e in read_manifest(out / "data" / "train.tsv")]
    tokenizer = train_tokenizer(kind, texts, vocabulary_size)
    tokenizer.save(folder)
    print(f"[tokenizer] {kind} with {tokenizer.vocabulary_size} ids (blank included) saved to {folder}")
    return tokenizer


def stage_tfrecords(out: Path) -> dict[str, Path]:
    """TFRecords of ``train_sp`` (training + speed perturbation), ``dev`` and ``test``; resumable."""
    folders = {}
    for split in SPLITS:
        # In this process: spawned workers would each print TensorFlow's start-up lines, and AN4 is small.
        summary = prepare(out / "data" / f"{split}.tsv", out / "tfrecords" / split, name=split, shard_size=512,
                          num_workers=1, progress=False)
        print(f"[tfrecords] {split}: {summary.utterances} utterances, {summary.seconds / 60:.1f} min")
        folders[split] = out / "tfrecords" / split
    return folders


def model_options(args: argparse.Namespace) -> dict:
    """The preset's overrides: width α, the decoder's widths, batch-norm momentum (and the CTC weight when set)."""
    options = {"alpha": args.alpha, "prediction_embedding_dim": args.decoder_units,
               "prediction_units": args.decoder_units, "joint_dim": args.decoder_units,
               "batch_norm_momentum": args.batch_norm_momentum,
               "downsample_blocks": [int(i) for i in args.downsample.split(",")]}
    if args.blocks != "all":
        options["block_indices"] = [int(i) for i in args.blocks.split(",")]
    if args.ctc_weight:
        options["ctc_weight"] = args.ctc_weight
    return options


def training_config(args: argparse.Namespace, folders: dict[str, Path]):
    from tf_contextnet.training import TrainingConfig

    return TrainingConfig(
        train=str(folders["train_sp"]), valid=str(folders["dev"]), out=str(args.out / "train"),
        tokenizer=str(args.out / TOKENIZER_DIR), preset=args.preset, model_options=model_options(args),
        epochs=100000, steps_per_epoch=args.steps_per_epoch, batch_size=args.batch_size, bucket_boundaries="auto",
        spec_augment={"freq_mask_param": args.freq_mask, "num_freq_masks": 2, "num_time_masks": args.time_masks,
                      "time_mask_ratio": 0.04},
        peak_learning_rate=args.peak_learning_rate, warmup_steps=args.warmup_steps, minutes=args.minutes,
        noise_stddev=args.noise_stddev, noise_start_step=args.noise_start_step,
        backup_every_steps=50, seed=args.seed, verbose=2 if args.quiet else "auto")


def stage_train(args: argparse.Namespace, folders: dict[str, Path]) -> None:
    """``run_training`` under the ``--minutes`` budget (resumes count); writes ``OUT/train``."""
    from tf_contextnet.training import run_training

    config = training_config(args, folders)
    print(f"[train] up to {args.minutes:g} min of training (graph tracing and dev decoding count); "
          f"batch {args.batch_size}, dev WER every {args.steps_per_epoch} steps; log {config.out}/logs/metrics.csv")
    result = run_training(config)
    print(f"[train] {result.stopped_reason}: {result.steps} steps, {result.seconds / 60:.1f} min this run")


def read_metrics(path: Path) -> list[dict]:
    """Rows of ``logs/metrics.csv`` with a measured dev WER, as dicts of floats."""
    if not path.is_file():
        return []
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    return [{k: float(v) for k, v in r.items() if v != ""} for r in rows if r.get("val_wer")]


def choose_epochs(rows: list[dict], average: int) -> tuple[int, list[int]]:
    """The epoch with the lowest dev WER (the later one on ties) and the ``average`` epochs ending there."""
    if not rows:
        raise ValueError("no epoch with a dev WER in the training log: nothing to choose from")
    best = min(rows, key=lambda r: (r["val_wer"], -r["epoch"]))
    last = int(best["epoch"])
    return last, list(range(max(1, last - average + 1), last + 1))


def averaged_weights(model, paths: list[Path]) -> list[np.ndarray]:
    """The element-wise mean of the weights in ``paths`` (icefall's ``--avg``; batch-norm statistics too)."""
    total = None
    for path in paths:
        model.load_weights(str(path))
        weights = [np.asarray(w, np.float64) for w in model.get_weights()]
        total = weights if total is None else [t + w for t, w in zip(total, weights)]
    return [(t / len(paths)).astype(np.float32) for t in total]


def greedy_decoder(loaded, max_symbols_per_frame: int = 4):
    """One traced greedy decoder per model: it reads the variables, so ``set_weights`` needs no retrace."""
    from tf_contextnet.decoding import make_greedy_decoder

    return make_greedy_decoder(loaded.model, max_symbols_per_frame)


def dev_wer(loaded, utterances, decode) -> float:
    """Dev WER through the library's evaluation: raw transcripts and the same normaliser as the final score."""
    from tf_contextnet.inference.evaluate import evaluate

    return evaluate(loaded, utterances, decode, name="dev", progress=False).words.rate


def _load_model_directory():
    from tf_contextnet.inference import load_model_directory, save_model_directory

    return load_model_directory, save_model_directory


def stage_average(args: argparse.Namespace) -> dict:
    """Choose on dev only: the best epoch's checkpoint or the average of the ``--avg`` ending there.

    Writes the chosen model to ``OUT/model`` (a model directory) and ``OUT/model/choice.json``.
    """
    load_model_directory, save_model_directory = _load_model_directory()
    train_dir, model_dir = args.out / "train", args.out / "model"
    choice_file = model_dir / "choice.json"
    if choice_file.is_file() and json.loads(choice_file.read_text())["train_steps"] == _steps(train_dir):
        print(f"[average] reusing {model_dir}")
        return json.loads(choice_file.read_text())
    rows = read_metrics(train_dir / "logs" / "metrics.csv")
    best, epochs = choose_epochs(rows, args.avg)
    loaded = load_model_directory(train_dir)
    from tf_contextnet.inference.evaluate import utterances_from_manifest

    dev = utterances_from_manifest(args.out / "data" / "dev.tsv")
    checkpoints = [train_dir / "checkpoints" / f"epoch-{e:04d}.weights.h5" for e in epochs]
    checkpoints = [c for c in checkpoints if c.is_file()]
    candidates = {"final": loaded.model.get_weights()}
    if checkpoints:
        candidates[f"epoch {best}"] = averaged_weights(loaded.model, checkpoints[-1:])
        if len(checkpoints) > 1:
            candidates[f"average of epochs {epochs[0]}-{epochs[-1]}"] = averaged_weights(loaded.model, checkpoints)
    scores = {}
    decode = greedy_decoder(loaded)
    for name, weights in candidates.items():
        loaded.model.set_weights(weights)
        scores[name] = dev_wer(loaded, dev, decode)
        print(f"[average] dev WER {100 * scores[name]:.2f}% with the {name} weights")
    chosen = min(scores, key=lambda n: (scores[n], n != "final"))
    loaded.model.set_weights(candidates[chosen])
    save_model_directory(model_dir, loaded.model, loaded.tokenizer, feature_extractor=loaded.feature_extractor,
                         normalization=loaded.normalization, decoding=loaded.config.get("decoding"),
                         training={**loaded.config.get("training", {}), "weights": chosen})
    choice = {"chosen": chosen, "dev_wer": scores, "train_steps": _steps(train_dir)}
    choice_file.write_text(json.dumps(choice, indent=1) + "\n", encoding="utf-8")
    print(f"[average] chose the {chosen} weights (dev WER {100 * scores[chosen]:.2f}%) -> {model_dir}")
    return choice


def _steps(train_dir: Path) -> int:
    config = json.loads((train_dir / "config.json").read_text(encoding="utf-8"))
    return int(config.get("training", {}).get("steps", -1))


def stage_evaluate(args: argparse.Namespace, summary: dict, choice: dict) -> str:
    """Dev and test WER of the chosen model through ``tf_contextnet.inference.evaluate`` (raw transcripts).

    Writes ``OUT/results.md`` (with a bootstrap interval and S/D/I per speaker), ``OUT/eval/<split>/``
    (``results.jsonl``, icefall-style ``errs.txt``, ``summary.json``), ``errors_<split>.tsv`` and
    ``hyps_<split>.tsv``. The test set is scored here once per finished run; nothing is chosen on it.
    """
    from tf_contextnet.inference.evaluate import evaluate_manifest
    from tf_contextnet.training.time_budget import spent_seconds

    load_model_directory, _ = _load_model_directory()
    loaded = load_model_directory(args.out / "model")
    sections, decoder = [], ""
    for split in ("dev", "test"):
        report = evaluate_manifest(loaded, args.out / "data" / f"{split}.tsv", beam_size=args.beam,
                                   out=args.out / "eval" / split, name=split, progress=False)
        decoder = report.decoder
        scored = [scoring.Scored(r.uid, r.speaker or "", r.scored_reference, r.scored_hypothesis, r.words,
                                 r.characters) for r in report.results]
        unscored = [Path(p).stem for p in summary["unscored"]] if split == "test" else None
        sections.append(scoring.report(split, scored, unscored))
        (args.out / f"errors_{split}.tsv").write_text(scoring.errors_tsv(scored), encoding="utf-8")
        (args.out / f"hyps_{split}.tsv").write_text(
            "id\tspeaker\treference\thypothesis\n"
            + "".join(f"{s.uid}\t{s.speaker}\t{s.reference}\t{s.hypothesis}\n" for s in scored), encoding="utf-8")
    minutes = spent_seconds(args.out / "train" / "time_spent.json") / 60
    header = (f"## AN4, {decoder}, {choice['chosen']} weights (chosen on dev)\n\n"
              f"{minutes:.1f} min of training, {choice['train_steps']} steps; command: "
              f"`python recipes/an4/train.py {shlex.join(sys.argv[1:])}`\n")
    text = header + "\n" + "\n\n".join(sections) + "\n"
    (args.out / "results.md").write_text(text, encoding="utf-8")
    return text


def stage_export(args: argparse.Namespace) -> None:
    """``contextnet export`` of the chosen model into ``OUT/export``; redone when the model is newer."""
    model_dir = args.out / "model"
    target = args.out / "export"
    manifest = target / "manifest.json"
    if manifest.exists() and manifest.stat().st_mtime >= (model_dir / "model.keras").stat().st_mtime:
        print(f"[export] reusing {target}")
        return
    shutil.rmtree(target, ignore_errors=True)
    command = [sys.executable, "-m", "tf_contextnet.cli.main", "export", "--model", str(model_dir), "--out", str(target)]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        shutil.rmtree(target, ignore_errors=True)
        raise SystemExit(f"[export] `contextnet export` failed (exit {done.returncode}): {done.stderr.strip()[-500:]}")
    print(f"[export] {target}")


def learning_curve(out: Path) -> Path | None:
    """``OUT/learning_curve.png``: dev WER against training minutes (None without matplotlib or rows)."""
    rows = read_metrics(out / "train" / "logs" / "metrics.csv")
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    if not rows:
        return None
    figure, axis = plt.subplots(figsize=(6, 3.5))
    axis.plot([r["minutes"] for r in rows], [100 * r["val_wer"] for r in rows], marker="o")
    axis.set_xlabel("training minutes")
    axis.set_ylabel("dev WER %")
    axis.set_ylim(0, min(100, max(100 * r["val_wer"] for r in rows) * 1.05 + 1))
    axis.grid(True, alpha=0.3)
    axis.set_title("AN4 dev WER (speaker-disjoint dev set)")
    path = out / "learning_curve.png"
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return path
