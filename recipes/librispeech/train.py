#!/usr/bin/env python3
"""Train ContextNet S/M/L on LibriSpeech 960 h with the paper's hyper-parameters.

Usage:
    # after recipes/librispeech/prepare.sh --librispeech /data/LibriSpeech --out data/librispeech
    python recipes/librispeech/train.py --size s --data data/librispeech --out exp/contextnet_s \
        [--batch-size 32] [--epochs 200] [--strategy mirrored] [--precision mixed_bfloat16]

    # then decode dev/test clean/other with recipes/librispeech/decode.py --exp exp/contextnet_s ...

Hyper-parameters (Han et al., 2020, §3-4; set here, overridable on the command line):
    encoder        preset contextnet_{s,m,l}: α = 0.5 / 1 / 2 (10.8 M / 31.4 M / 112.7 M parameters
                   in the paper), 23 blocks, kernel 5, 8× downsampling, SE over the whole utterance
    decoder        1-layer LSTM 640, joint network 640, WordPiece 1k vocabulary
    features       80-dim log-mel, 25 ms window, 10 ms hop
    SpecAugment    F = 27 (2 masks), 10 time masks of at most 0.05·length, no time warp
    optimizer      Adam β1 0.9, β2 0.98, ε 1e-9; Transformer schedule, 15k warm-up, peak 0.0025
    regularisation L2 1e-6 on the kernels; variational (Gaussian weight) noise on the decoder
    batch          the paper trains on TPUs and does not state its batch here; --batch-size is
                   the global batch (per-replica × replicas), bucketed by duration

Resumable: re-running the same command continues from the last backup in OUT/train/backup.
Data: DATA/tfrecords/<split>/ and DATA/tokenizer/ as written by prepare.sh.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

PAPER = {"s": 0.5, "m": 1.0, "l": 2.0}
TRAIN_SPLITS = ("train-clean-100", "train-clean-360", "train-other-500")
DEV_SPLIT = "dev-clean"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", choices=sorted(PAPER), default="s", help="ContextNet S, M or L")
    parser.add_argument("--data", type=Path, required=True, help="the --out folder of prepare.sh")
    parser.add_argument("--out", type=Path, required=True, help="experiment folder (re-use to resume)")
    parser.add_argument("--train-splits", default=",".join(TRAIN_SPLITS))
    parser.add_argument("--dev-split", default=DEV_SPLIT)
    parser.add_argument("--alpha", type=float, default=None, help="override the preset's width (tests)")
    parser.add_argument("--batch-size", type=int, default=32, help="global batch size")
    parser.add_argument("--epochs", type=int, default=200)
    parser.add_argument("--steps-per-epoch", type=int, default=None, help="default: one pass over the data")
    parser.add_argument("--max-duration", type=float, default=17.0, help="drop longer training utterances (s)")
    parser.add_argument("--peak-learning-rate", type=float, default=0.0025)
    parser.add_argument("--warmup-steps", type=int, default=15000)
    parser.add_argument("--l2", type=float, default=1e-6)
    parser.add_argument("--variational-noise", type=float, default=0.075, help="decoder weight-noise std")
    parser.add_argument("--variational-noise-start", type=int, default=10000, help="first step with noise")
    parser.add_argument("--strategy", default="default", help="default, mirrored, multi-worker or tpu")
    parser.add_argument("--precision", default="float32", help="float32, mixed_float16 or mixed_bfloat16")
    parser.add_argument("--dev-wer-every", type=int, default=1, help="greedy dev WER every N epochs")
    parser.add_argument("--max-dev-utterances", type=int, default=None, help="decode only this many dev utterances")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quiet", action="store_true", help="one line per epoch instead of progress bars")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    import keras

    from tf_contextnet.data import make_dataset
    from tf_contextnet.models import ContextNetTransducer
    from tf_contextnet.text import load_tokenizer
    from tf_contextnet.training import (NonFiniteLossGuard, ValidationErrorRates, VariationalNoise,
                                        WarmupSchedule, checkpoint_callbacks, get_strategy, make_optimizer,
                                        set_precision)

    tokenizer_dir = args.data / "tokenizer"
    if not (tokenizer_dir / "tokenizer.json").is_file():
        print(f"error: no tokenizer in {tokenizer_dir}; run prepare.sh (stage 2) first", file=sys.stderr)
        return 2
    train_dirs = [args.data / "tfrecords" / s for s in args.train_splits.split(",") if s]
    missing = [str(d) for d in train_dirs + [args.data / "tfrecords" / args.dev_split] if not d.is_dir()]
    if missing:
        print(f"error: TFRecord folder(s) missing: {', '.join(missing)}; run prepare.sh (stage 1)", file=sys.stderr)
        return 2

    keras.utils.set_random_seed(args.seed)
    set_precision(args.precision)
    strategy = get_strategy(args.strategy)
    tokenizer = load_tokenizer(tokenizer_dir)
    files = sorted(str(f) for d in train_dirs for f in d.glob("*.tfrecord"))
    train, report = make_dataset(files, tokenizer, args.batch_size, shuffle=True, seed=args.seed,
                                 max_duration=args.max_duration, bucket_boundaries=[4, 8, 12],
                                 bucket_batch_sizes=[args.batch_size * 3, args.batch_size * 2,
                                                     int(args.batch_size * 1.3), args.batch_size],
                                 repeat=True, drop_remainder=args.strategy == "tpu", on_unknown="skip",
                                 return_report=True)
    print(f"[train data] {report.format()}")
    dev = make_dataset(args.data / "tfrecords" / args.dev_split, tokenizer, 16, shuffle=False, on_unknown="skip")
    if args.max_dev_utterances:
        dev = dev.take(max(1, args.max_dev_utterances // 16))  # whole batches of 16
    steps = args.steps_per_epoch or max(1, int(report.kept / args.batch_size))

    with strategy.scope():
        overrides = {} if args.alpha is None else {"alpha": args.alpha}
        model = ContextNetTransducer.from_preset(f"contextnet_{args.size}", vocabulary_size=tokenizer.vocabulary_size,
                                                 **overrides)
        model.l2_weight = args.l2
        model.compile(optimizer=make_optimizer(WarmupSchedule(args.peak_learning_rate, args.warmup_steps)))
        model(next(iter(train.take(1))), training=False)
        model.optimizer.build(model.trainable_variables)
    print(f"[model] contextnet_{args.size}: {model.count_params() / 1e6:.1f} M parameters")
    out = args.out / "train"
    callbacks = [NonFiniteLossGuard(), *checkpoint_callbacks(str(out)),
                 VariationalNoise(args.variational_noise, start_step=args.variational_noise_start),
                 ValidationErrorRates(dev, tokenizer, every_n_epochs=args.dev_wer_every),
                 keras.callbacks.CSVLogger(str(out / "history.csv"), append=True),
                 keras.callbacks.TensorBoard(str(out / "tensorboard"))]
    model.fit(train, epochs=args.epochs, steps_per_epoch=steps, callbacks=callbacks, verbose=2 if args.quiet else 1)
    os.makedirs(args.out / "model", exist_ok=True)
    model.save(args.out / "model" / "model.keras")
    tokenizer.save(args.out / "model" / "tokenizer")
    print(f"[done] model and tokenizer in {args.out / 'model'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
