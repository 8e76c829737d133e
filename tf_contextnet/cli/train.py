"""``contextnet train``: train a ContextNet transducer with the paper's recipe through ``model.fit``."""

from __future__ import annotations

import argparse
import json


def _floats(text: str) -> list[float]:
    try:
        return [float(v) for v in text.split(",") if v.strip()]
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"expected comma-separated seconds, got {text!r}") from error


def _buckets(text: str) -> list[float] | str | None:
    if text.strip().lower() in ("auto", "none", ""):
        return None if text.strip().lower() in ("none", "") else "auto"
    return _floats(text)


def _options(text: str) -> dict:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as error:
        raise argparse.ArgumentTypeError(f"--model-options must be a JSON object, got {text!r} ({error})") from error
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError(f"--model-options must be a JSON object, got {text!r}")
    return value


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``train`` subcommand."""
    p = subparsers.add_parser(
        "train", help="train a ContextNet transducer on TFRecords written by `contextnet prepare`",
        description="Train with model.fit: Adam (0.9, 0.98, 1e-9) on the Transformer schedule, L2 on kernels, "
                    "variational noise on the prediction network, SpecAugment, gradient clipping. Writes OUT/model.keras, "
                    "OUT/tokenizer/, OUT/config.json (for `contextnet transcribe --model OUT`), OUT/logs (TensorBoard). "
                    "Killed runs resume from OUT/backup when the same command is re-run. Ctrl-C (SIGINT), SIGTERM "
                    "and the end of --minutes stop after the current step and still write the model. "
                    "OUT/logs/metrics.csv has one row per epoch (epoch,step,minutes,loss,val_loss,val_wer,val_cer,"
                    "learning_rate; an empty cell: not measured). Small corpus (AN4-sized, an hour of audio; "
                    "README.md, 'Training on a small corpus'): --model-options '{\"alpha\": 0.25, "
                    "\"block_indices\": [0, 1, 3, 5, 7, 9, 11, 22], \"downsample_blocks\": [3, 7], "
                    "\"prediction_embedding_dim\": 160, \"prediction_units\": 160, \"joint_dim\": 160, "
                    "\"batch_norm_momentum\": 0.9, \"ctc_weight\": 0.3}' --spec-augment-options "
                    "'{\"freq_mask_param\": 15, \"num_time_masks\": 4, \"time_mask_ratio\": 0.04}' "
                    "--tokenizer-kind characters --vocabulary-size 128 --batch-size 16 --warmup-steps 300 "
                    "--peak-learning-rate 5e-3 --noise-stddev 0.075 --noise-start-step 300 --steps-per-epoch 150 "
                    "--minutes 30 (the settings of recipes/an4).")
    p.add_argument("--train", required=True, help="training TFRecords: folder, glob or file")
    p.add_argument("--valid", default=None, help="validation TFRecords (val_loss, greedy-decoding val_wer/val_cer)")
    p.add_argument("--out", required=True, help="output model directory")
    p.add_argument("--tokenizer", default=None, help="saved tokenizer folder (default: train one on --train)")
    p.add_argument("--tokenizer-kind", default="wordpiece", choices=["wordpiece", "sentencepiece", "characters"])
    p.add_argument("--vocabulary-size", type=int, default=1000, help="ids incl. blank for a trained tokenizer")
    p.add_argument("--preset", default="contextnet_s", choices=["contextnet_s", "contextnet_m", "contextnet_l"])
    p.add_argument("--model-options", type=_options, default={},
                   help='JSON overrides of the preset, e.g. \'{"alpha": 0.25, "joint_dim": 320}\'; '
                        '\'{"fused_loss_sub_batch_size": 2}\' computes the training loss 2 utterances at a time '
                        '(less memory for long utterances or large batches, docs/memory.md)')
    p.add_argument("--epochs", type=int, default=100)
    p.add_argument("--steps-per-epoch", type=int, default=None, help="repeat the data; this many steps per epoch")
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--bucket-boundaries", type=_buckets, default="auto",
                   help="length buckets in seconds, e.g. 2,4,8; 'auto' (default): the quartiles of the training "
                        "durations; 'none': no bucketing")
    p.add_argument("--minutes", type=float, default=None,
                   help="wall-clock training budget (resumed runs count; graph tracing and validation count): "
                        "stops when spent; after the warm-up the learning rate holds its peak for 40%% of the budget, "
                        "then decays linearly to --final-lr-fraction of it (instead of the inverse square root)")
    p.add_argument("--final-lr-fraction", dest="final_learning_rate_fraction", type=float, default=0.05,
                   help="with --minutes: the learning rate at the end of the budget, as a fraction of the peak")
    p.add_argument("--max-duration", type=float, default=None, help="drop longer utterances (seconds)")
    p.add_argument("--max-label-length", type=int, default=None,
                   help="drop utterances with more labels (required with --strategy tpu: the padded label length)")
    p.add_argument("--normalization", default="per-utterance", choices=["none", "per-utterance"])
    p.add_argument("--no-spec-augment", dest="spec_augment", action="store_false")
    p.add_argument("--spec-augment-options", type=_options, default=None,
                   help='JSON SpecAugment arguments instead of the paper\'s masks, e.g. \'{"freq_mask_param": 15, '
                        '"num_time_masks": 4, "time_mask_ratio": 0.04}\' (milder, for short utterances)')
    p.add_argument("--peak-learning-rate", type=float, default=0.0025)
    p.add_argument("--warmup-steps", type=int, default=15000)
    p.add_argument("--decay-exponent", type=float, default=0.5, help="lr ∝ step^-p after the warm-up")
    p.add_argument("--l2", dest="l2_weight", type=float, default=1e-6)
    p.add_argument("--clipnorm", dest="global_clipnorm", type=float, default=5.0)
    p.add_argument("--precision", default="float32", choices=["float32", "float16", "bfloat16"])
    p.add_argument("--strategy", default="default", choices=["default", "mirrored", "multi-worker", "tpu"])
    p.add_argument("--tpu", default=None, help="TPU name/address for --strategy tpu")
    p.add_argument("--noise-stddev", type=float, default=0.075, help="variational noise σ (0 disables)")
    p.add_argument("--noise-start-step", type=int, default=10000)
    p.add_argument("--validate-every", type=int, default=1, help="greedy-decoding WER every N epochs")
    p.add_argument("--stop-at-wer", type=float, default=None, help="stop once validation WER <= this")
    p.add_argument("--backup-every", dest="backup_every_steps", type=int, default=100, help="backup every N steps")
    p.add_argument("--max-symbols-per-frame", type=int, default=4)
    p.add_argument("--precise-bn-batches", type=int, default=0,
                   help="after training, recompute batch-norm statistics from N batches (short runs)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Train; print the outcome; exit code 0, or 1 when the loss stopped being finite."""
    from tf_contextnet.cli.quiet_start import import_tensorflow_quietly

    import_tensorflow_quietly()
    from tf_contextnet.training.epoch_history import last_measured
    from tf_contextnet.training.run_training import TrainingConfig, run_training

    fields = {f for f in TrainingConfig.__dataclass_fields__}
    values = {k: v for k, v in vars(args).items() if k in fields}
    if args.spec_augment and args.spec_augment_options:
        values["spec_augment"] = args.spec_augment_options
    config = TrainingConfig(**values, verbose=0 if args.quiet else "auto")
    result = run_training(config)
    summary = {"out": config.out, "steps": result.steps, "seconds": round(result.seconds, 1),
               "stopped": result.stopped_reason,
               **{k: round(v, 4) for k, v in last_measured(result.history).items()}}
    print(json.dumps(summary))
    return 1 if result.stopped_reason.startswith("training stopped") else 0
