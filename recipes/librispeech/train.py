#!/usr/bin/env python3
"""Train ContextNet S/M/L on LibriSpeech 960 h with the paper's hyper-parameters.

Usage:
    # after: recipes/librispeech/prepare.sh --librispeech /data/LibriSpeech --out data/librispeech
    python recipes/librispeech/train.py --size s --data data/librispeech --out exp/contextnet_s \
        [--batch-size 32] [--epochs 200] [--strategy mirrored] [--precision bfloat16]
    python recipes/librispeech/decode.py --model exp/contextnet_s --data data/librispeech

Hyper-parameters (Han et al., 2020, §3-4), all passed to ``tf_contextnet.training.run_training``:
    encoder        preset contextnet_{s,m,l}: α = 0.5 / 1 / 2, 23 blocks, kernel 5, 8× downsampling,
                   SE over the whole utterance (paper: 10.8 M / 31.4 M / 112.7 M parameters)
    decoder        LSTM 640 (see tf_contextnet.models.presets for M/L), joint 640, WordPiece 1k
    features       80-bin log-mel, 25 ms window, 10 ms hop, per-utterance normalisation
    SpecAugment    F = 27 (2 masks), 10 time masks of at most 0.05·length, no time warp
    optimizer      Adam β1 0.9, β2 0.98, ε 1e-9; Transformer schedule, 15k warm-up, peak 0.0025;
                   gradient clipping at global norm 5 (the paper does not state one)
    regularisation L2 1e-6 on the kernels; variational noise σ 0.075 on the prediction network
                   from step 10k
    batch          the paper trains on TPUs and does not state its batch size here; --batch-size is
                   the global batch, bucketed by duration (4 / 8 / 12 s boundaries)

The model directory OUT (model.keras, tokenizer/, config.json) is what ``contextnet transcribe
--model OUT`` and decode.py read. Re-running the same command resumes from OUT/backup. The last
stage, export, runs ``contextnet export --model OUT --out OUT/export`` (SavedModel for TF Serving,
plus the TFLite variants of ``--export-tflite``; see docs/serving.md) on the chief only.
Data: DATA/tfrecords/<split>/ and DATA/tokenizer/ as written by prepare.sh.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from tf_contextnet.cli.quiet_start import import_tensorflow_quietly  # noqa: E402

# TensorFlow's C++ start-up lines stay off the terminal (TF_CONTEXTNET_TF_LOGS=1 shows them).
import_tensorflow_quietly()

SIZES = {"s": "contextnet_s", "m": "contextnet_m", "l": "contextnet_l"}
TRAIN_SPLITS = "train-clean-100,train-clean-360,train-other-500"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", choices=sorted(SIZES), default="s", help="ContextNet S, M or L")
    parser.add_argument("--data", type=Path, required=True, help="the --out folder of prepare.sh")
    parser.add_argument("--out", type=Path, required=True, help="model directory (re-use to resume)")
    parser.add_argument("--train-splits", default=TRAIN_SPLITS, help="comma-separated TFRecord folders")
    parser.add_argument("--dev-split", default="dev-clean", help="greedy WER on it every --validate-every epochs")
    parser.add_argument("--model-options", default="{}", help='JSON overrides of the preset (tests: \'{"alpha": 0.1}\')')
    parser.add_argument("--batch-size", type=int, default=32, help="global batch size")
    parser.add_argument("--epochs", type=int, default=200)
    parser.add_argument("--steps-per-epoch", type=int, default=None, help="default: one pass over the data")
    parser.add_argument("--max-duration", type=float, default=17.0, help="drop longer training utterances (s)")
    parser.add_argument("--max-label-length", type=int, default=256,
                        help="drop training utterances with more word pieces (the padded length on TPU)")
    parser.add_argument("--peak-learning-rate", type=float, default=0.0025)
    parser.add_argument("--warmup-steps", type=int, default=15000)
    parser.add_argument("--strategy", default="default", choices=["default", "mirrored", "multi-worker", "tpu"])
    parser.add_argument("--precision", default="float32", choices=["float32", "float16", "bfloat16"])
    parser.add_argument("--validate-every", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.add_argument("--export-tflite", default="", metavar="VARIANTS",
                        help="TFLite variants for the export stage (float,fp16,dynamic; default: SavedModel only)")
    parser.add_argument("--no-export", action="store_true", help="skip the export stage")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    records = args.data / "tfrecords"
    train_dirs = [records / s for s in args.train_splits.split(",") if s]
    needed = train_dirs + [records / args.dev_split, args.data / "tokenizer" / "tokenizer.json"]
    missing = [str(p) for p in needed if not p.exists()]
    if missing:
        print(f"error: missing {', '.join(missing)}; run recipes/librispeech/prepare.sh first", file=sys.stderr)
        return 2
    try:
        model_options = json.loads(args.model_options)
    except json.JSONDecodeError as error:
        print(f"error: --model-options is not JSON: {error}", file=sys.stderr)
        return 2

    from tf_contextnet.training.run_training import TrainingConfig, run_training

    files = sorted(str(f) for d in train_dirs for f in d.glob("*.tfrecord"))
    config = TrainingConfig(
        train=files, valid=str(records / args.dev_split), out=str(args.out),
        tokenizer=str(args.data / "tokenizer"), preset=SIZES[args.size], model_options=model_options,
        epochs=args.epochs, steps_per_epoch=args.steps_per_epoch, batch_size=args.batch_size,
        bucket_boundaries=[4.0, 8.0, 12.0], max_duration=args.max_duration,
        max_label_length=args.max_label_length, normalization="per-utterance",
        spec_augment=True, peak_learning_rate=args.peak_learning_rate, warmup_steps=args.warmup_steps,
        l2_weight=1e-6, global_clipnorm=5.0, precision=args.precision, strategy=args.strategy,
        noise_stddev=0.075, noise_start_step=10000, validate_every=args.validate_every, seed=args.seed,
        cache=False, verbose=0 if args.quiet else "auto")
    result = run_training(config)
    print(json.dumps({"out": str(args.out), "steps": result.steps, "seconds": round(result.seconds, 1),
                      "stopped": result.stopped_reason}))
    if result.stopped_reason.startswith("training stopped"):
        return 1
    if not args.no_export and _is_chief():
        from tf_contextnet.serving.export_model import export_model

        manifest = export_model(args.out, args.out / "export", tflite=args.export_tflite)
        print(json.dumps({"export": str(args.out / "export"), "signatures": sorted(manifest["saved_model"]["signatures"]),
                          "tflite": manifest["tflite"]}))
    return 0


def _is_chief() -> bool:
    """Whether this process is the multi-worker chief (or not multi-worker): only it exports."""
    config = json.loads(os.environ.get("TF_CONFIG", "{}"))
    task = config.get("task", {})
    if "chief" in config.get("cluster", {}):
        return task.get("type") == "chief"
    return task.get("type", "worker") == "worker" and int(task.get("index", 0)) == 0


if __name__ == "__main__":
    sys.exit(main())
