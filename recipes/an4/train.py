#!/usr/bin/env python3
"""AN4 (CMU census database) → a small ContextNet RNN-T on a CPU → test WER, one command end to end.

Usage:
    python recipes/an4/train.py --out exp/an4 --minutes 30
    python recipes/an4/train.py --data /path/to/an4 --out exp/an4 --minutes 60 --seed 1

``--data`` is the folder of CMU's ``an4_sphere.tar.gz`` (``etc/`` and ``wav/``); default
``../shared/data/an4`` beside the project root, or ``$TF_CONTEXTNET_SHARED_DATA/an4``.

Stages (icefall style; re-running resumes: finished stages are skipped, training continues from
its last backup until ``--minutes`` of training in total). Outputs under ``--out``:

  0. manifests  data/        official train/test split; dev = whole training speakers (~100 utt.);
                             speed perturbation x0.9/x1.1 of train; the 13 untranscribed test files
                             listed in data/test_unscored.tsv (never scored, never dropped silently)
  1. tokenizer  lang/        learnt on the training transcripts only
  2. tfrecords  tfrecords/   train_sp, dev, test
  3. train      train/       `run_training` under the budget: graph tracing and dev decoding count,
                             data preparation and evaluation do not; the learning rate decays with the
                             budget spent; logs/metrics.csv (dev WER per epoch), checkpoints/, backup/
  4. average    model/       chosen on dev only: final, best epoch, or the average of --avg epochs
  5. evaluate   results.md   dev and test WER/CER, S/D/I, sentence errors, per speaker, bootstrap interval;
                             errors_*.tsv, hyps_*.tsv, learning_curve.png (test is never used to choose)
  6. export     export/      `contextnet export` when available (else a message)

``--stop-after STAGE`` ends after that stage; ``--minutes 0`` prepares the data only.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(1, str(HERE.parents[1]))  # the project root, when the package is not installed

from tf_contextnet.cli.quiet_start import import_tensorflow_quietly  # noqa: E402

import_tensorflow_quietly()  # TensorFlow's C++ start-up lines stay off the terminal (TF_CONTEXTNET_TF_LOGS=1 shows them)

from local.an4_layout import An4LayoutError  # noqa: E402
from local.manifests import ManifestOptions, build_manifests, format_summary  # noqa: E402

SHARED_DATA = Path(os.environ.get("TF_CONTEXTNET_SHARED_DATA", HERE.parents[2] / "shared" / "data"))
STAGES = ("manifests", "tokenizer", "tfrecords", "train", "average", "evaluate", "export")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=SHARED_DATA / "an4",
                        help="AN4 folder with etc/ and wav/ (default: %(default)s)")
    parser.add_argument("--out", type=Path, required=True, help="experiment folder (created; re-use to resume)")
    parser.add_argument("--minutes", type=float, default=30.0,
                        help="training budget in minutes, resumes included (0: prepare the data only)")
    parser.add_argument("--stop-after", choices=STAGES, default=None, help="end after this stage")
    parser.add_argument("--seed", type=int, default=0, help="training seed (model initialisation, data order)")
    data = parser.add_argument_group("data")
    data.add_argument("--dev-size", type=int, default=100, help="dev utterances at least (whole speakers)")
    data.add_argument("--speed-factors", default="0.9,1.1", help="speed perturbation copies ('' for none)")
    data.add_argument("--tokenizer", default="characters", choices=["wordpiece", "sentencepiece", "characters"],
                      help="characters (default; ESPnet's AN4 uses 30 BPE units) or a learnt subword vocabulary")
    data.add_argument("--vocabulary-size", type=int, default=128, help="ids at most, blank included")
    model = parser.add_argument_group("model and training")
    model.add_argument("--preset", default="contextnet_s")
    model.add_argument("--alpha", type=float, default=0.25, help="width multiplier (overrides the preset's)")
    model.add_argument("--blocks", default="0,1,3,5,7,9,11,22",
                       help="the paper's blocks C0..C22 to keep, comma-separated indices, or 'all' (the paper's 23 "
                            "train far more slowly from scratch on AN4: RESULTS.md)")
    model.add_argument("--downsample", default="3,7",
                       help="blocks whose last layer has stride 2 (3,7: 4x, the default; 3,7,14: 8x, the paper)")
    model.add_argument("--decoder-units", type=int, default=160, help="prediction LSTM, embedding and joint width")
    model.add_argument("--ctc-weight", type=float, default=0.3,
                       help="weight of the auxiliary CTC loss on the encoder output (0: plain RNN-T)")
    model.add_argument("--batch-size", type=int, default=16)
    model.add_argument("--peak-learning-rate", type=float, default=5e-3)
    model.add_argument("--batch-norm-momentum", type=float, default=0.9,
                       help="moving-average momentum of batch norm (0.99 lags the weights of a short run)")
    model.add_argument("--warmup-steps", type=int, default=300)
    model.add_argument("--steps-per-epoch", type=int, default=150, help="steps between dev WER and checkpoints")
    model.add_argument("--freq-mask", type=int, default=15, help="SpecAugment frequency mask size F (2 masks)")
    model.add_argument("--time-masks", type=int, default=4, help="SpecAugment time masks (each <= 4%% of the length)")
    model.add_argument("--noise-stddev", type=float, default=0.075,
                       help="variational (Gaussian weight) noise on the prediction network (paper §3.1; 0: off); "
                            "without it dev loss rises after ~750 steps while training loss falls")
    model.add_argument("--noise-start-step", type=int, default=300, help="first step trained with weight noise")
    model.add_argument("--avg", type=int, default=3, help="average this many epoch checkpoints ending at dev's best")
    model.add_argument("--beam", type=int, default=1, help="evaluation: 1 greedy, > 1 modified beam search")
    model.add_argument("--quiet", action="store_true", help="no Keras progress bars (one line per epoch)")
    return parser.parse_args(argv)


def stage_manifests(args: argparse.Namespace) -> dict:
    """``OUT/data`` unless it already holds manifests of the same data and options."""
    options = ManifestOptions(dev_size=args.dev_size, seed=0,
                              speed_factors=tuple(float(f) for f in args.speed_factors.split(",") if f.strip()))
    summary_file = args.out / "data" / "summary.json"
    if summary_file.is_file():
        summary = json.loads(summary_file.read_text(encoding="utf-8"))
        if (summary["data"] == str(args.data.resolve())
                and summary["options"] == json.loads(json.dumps(dataclasses.asdict(options)))):
            print(f"[manifests] reusing {summary_file.parent}")
            return summary
        raise SystemExit(f"error: {summary_file.parent} was made from other data or options; use another --out")
    summary = build_manifests(args.data, args.out / "data", options)
    print(format_summary(summary))
    return summary


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if not args.data.is_dir():
        print(f"error: AN4 not found at {args.data}. Get it from CMU (http://www.speech.cs.cmu.edu/databases/an4/"
              "an4_sphere.tar.gz), unpack it and pass --data DIR (the folder with etc/ and wav/), or set "
              "TF_CONTEXTNET_SHARED_DATA to the folder holding an4/", file=sys.stderr)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    started = time.time()
    try:
        summary = stage_manifests(args)
    except An4LayoutError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    if args.stop_after == "manifests":
        return 0

    from local import stages  # TensorFlow is imported from here on

    stages.stage_tokenizer(args.out, args.tokenizer, args.vocabulary_size)
    if args.stop_after == "tokenizer":
        return 0
    folders = stages.stage_tfrecords(args.out)
    if args.minutes <= 0 or args.stop_after == "tfrecords":
        print(f"[done] data prepared in {args.out}, nothing trained")
        return 0
    stages.stage_train(args, folders)
    if args.stop_after == "train":
        return 0
    choice = stages.stage_average(args)
    if args.stop_after == "average":
        return 0
    print(stages.stage_evaluate(args, summary, choice))
    curve = stages.learning_curve(args.out)
    if curve is not None:
        print(f"[evaluate] learning curve: {curve}")
    if args.stop_after == "evaluate":
        return 0
    stages.stage_export(args)
    print(f"[done] results in {args.out / 'results.md'}; model in {args.out / 'model'} "
          f"({(time.time() - started) / 60:.1f} min wall-clock for this run)")
    print(f"       try: contextnet transcribe --model {args.out / 'model'} "
          f"{args.data / 'wav' / 'an4test_clstk' / 'fcaw' / 'an406-fcaw-b.sph'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
