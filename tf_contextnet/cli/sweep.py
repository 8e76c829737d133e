"""``contextnet sweep``: a Keras Tuner search over ContextNet's α, kernel size, downsampling and SE."""

from __future__ import annotations

import argparse
import json


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``sweep`` subcommand."""
    p = subparsers.add_parser(
        "sweep", help="Keras Tuner sweep over width α, kernel size, downsampling, SE and learning rate",
        description="Search a ContextNet transducer space (YAML/JSON file, schema in docs/tuning.md) with Keras "
                    "Tuner, minimising dev WER. Every trial trains --steps-per-trial optimizer steps (Hyperband: its "
                    "longest round) in epochs of --steps-per-epoch steps. Configurations over the space's cost "
                    "budget are skipped before they train. Writes OUT/results.md, OUT/results.csv, OUT/pareto.png "
                    "and OUT/best_model (for `contextnet transcribe --model`). Re-running the same command resumes, "
                    "an interrupted trial from its own backup. With KERASTUNER_TUNER_ID, KERASTUNER_ORACLE_IP and "
                    "KERASTUNER_ORACLE_PORT set, runs as Keras Tuner's distributed chief or worker.")
    p.add_argument("--space", required=True, help="search-space file (.yaml, .yml or .json)")
    p.add_argument("--train", required=True, help="training TFRecords (folder, glob or file) from `contextnet prepare`")
    p.add_argument("--valid", required=True, help="dev TFRecords: the objective is their greedy-decoding WER")
    p.add_argument("--out", required=True, help="sweep directory (re-use it to resume)")
    p.add_argument("--max-trials", type=int, default=10, help="trials to run (skipped configurations count)")
    p.add_argument("--tuner", default="random", choices=["random", "bayesian", "hyperband"])
    p.add_argument("--steps-per-trial", type=int, default=2000, help="optimizer steps of a (full) trial")
    p.add_argument("--steps-per-epoch", type=int, default=None,
                   help="steps between dev evaluations; Hyperband's epoch (default: a quarter of a trial; "
                        "Hyperband: steps-per-trial / factor²)")
    p.add_argument("--min-trial-steps", type=int, default=200,
                   help="refuse trials (or Hyperband rounds) shorter than this many steps")
    p.add_argument("--hyperband-factor", type=int, default=3)
    p.add_argument("--strategy", default="default", choices=["default", "mirrored"],
                   help="local tf.distribute strategy of each trial")
    p.add_argument("--tokenizer", default=None, help="saved tokenizer folder (default: train one on --train)")
    p.add_argument("--backup-every", dest="backup_every_steps", type=int, default=None,
                   help="per-trial backup every N steps (default: min(100, steps-per-epoch))")
    p.add_argument("--no-cache", dest="cache", action="store_false", help="do not cache decoded audio in memory")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run or resume the sweep; print a JSON summary; exit code 0 (1 when no trial completed)."""
    from tf_contextnet.tuning.run_sweep import SweepConfig, run_sweep

    fields = set(SweepConfig.__dataclass_fields__)
    config = SweepConfig(**{k: v for k, v in vars(args).items() if k in fields}, verbose=0 if args.quiet else "auto")
    result = run_sweep(config)
    counts: dict[str, int] = {}
    for row in result.rows:
        counts[row["status"]] = counts.get(row["status"], 0) + 1
    print(json.dumps({"out": result.out, "role": result.role, "best_trial": result.best_trial, "trials": counts}))
    return 0 if result.best_trial is not None or result.role == "worker" else 1
