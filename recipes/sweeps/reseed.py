#!/usr/bin/env python3
"""Seed noise: re-train the best N configurations of a finished sweep with another seed.

Usage:
    python recipes/sweeps/reseed.py --sweep exp/sweeps/an4 --space recipes/sweeps/space_an4.yaml \\
        --train T --valid V --tokenizer TOK --steps-per-trial S --steps-per-epoch E --seed 1 --best 2

Each configuration runs as a one-configuration sweep (the same training procedure, the space's
fixed settings with ``training.seed`` replaced) in ``SWEEP/reseed/trial-ID-seed-S``; the table
``SWEEP/reseed.md`` puts the two seeds' dev WERs side by side. Re-running resumes.
"""

from __future__ import annotations

import argparse
import csv
import json
import subprocess
import sys
from pathlib import Path

import yaml


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sweep", type=Path, required=True, help="the finished sweep's --out")
    parser.add_argument("--space", type=Path, required=True, help="the sweep's space file")
    parser.add_argument("--train", required=True)
    parser.add_argument("--valid", required=True)
    parser.add_argument("--tokenizer", default=None)
    parser.add_argument("--steps-per-trial", type=int, required=True)
    parser.add_argument("--steps-per-epoch", type=int, required=True)
    parser.add_argument("--min-trial-steps", type=int, default=200)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--best", type=int, default=2, help="how many of the best configurations")
    return parser.parse_args(argv)


def best_rows(results_csv: Path, count: int) -> list[dict]:
    with open(results_csv, newline="", encoding="utf-8") as f:
        done = [r for r in csv.DictReader(f) if r["status"] == "completed" and r["dev_wer"]]
    return sorted(done, key=lambda r: float(r["dev_wer"]))[:count]


def one_configuration_space(space: dict, values: dict, seed: int) -> dict:
    """The sweep's space with every tuned dimension fixed to ``values`` and the seed replaced."""
    search = {"alpha": [values["alpha"]], "kernel_size": [values["kernel_size"]],
              "blocks": [values.get("blocks", "all")], "downsampling": [values["downsampling"]], "se": [values["se"]],
              "peak_learning_rate": [values["peak_learning_rate"]]}
    if values["se"]:
        search["se_context_window"] = [values["se_context_window"] or None]
    return {**space, "search": search, "training": {**(space.get("training") or {}), "seed": seed}}


def main(argv=None) -> int:
    args = parse_args(argv)
    space = yaml.safe_load(args.space.read_text()) or {}
    lines = ["| trial | α | kernel | blocks | downsampling | SE | dev WER seed 0 | dev WER seed "
             f"{args.seed} |", "|---|---|---|---|---|---|---|---|"]
    for row in best_rows(args.sweep / "results.csv", args.best):
        record = json.loads((args.sweep / "tuner" / f"trial_{row['trial']}" / "sweep_trial.json").read_text())
        out = args.sweep / "reseed" / f"trial-{row['trial']}-seed-{args.seed}"
        out.mkdir(parents=True, exist_ok=True)
        space_file = out / "space.yaml"
        space_file.write_text(yaml.safe_dump(one_configuration_space(space, record["values"], args.seed)))
        command = [sys.executable, "-m", "tf_contextnet.cli.main", "sweep", "--space", str(space_file),
                   "--train", args.train, "--valid", args.valid, "--out", str(out), "--max-trials", "1",
                   "--steps-per-trial", str(args.steps_per_trial), "--steps-per-epoch", str(args.steps_per_epoch),
                   "--min-trial-steps", str(args.min_trial_steps), "--quiet"]
        if args.tokenizer:
            command += ["--tokenizer", args.tokenizer]
        print("+", " ".join(command), flush=True)
        subprocess.run(command, check=True)
        with open(out / "results.csv", newline="", encoding="utf-8") as f:
            again = next(csv.DictReader(f))
        second = f"{100 * float(again['dev_wer']):.1f}%" if again["dev_wer"] else f"({again['status']})"
        lines.append(f"| {row['trial']} | {row['alpha']} | {row['kernel']} | {row['blocks']} | "
                     f"{row['downsampling']} | {row['se']} | {100 * float(row['dev_wer']):.1f}% | {second} |")
    (args.sweep / "reseed.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
