"""Training step beside TensorFlowASR, over several back-to-back runs of the peers script.

TensorFlowASR's step time varies by up to 25% from one run of ``../shared/bench/contextnet_peers.py``
to the next on this 2-core machine (ours by ~3%), so one run's ratio is not a robust figure. This
script runs the peers script ``--runs`` times in a row (each run: every model and case in its own
subprocess, median of ``--repeats`` after ``--warmup``, Adam applied inside the step) with two
candidates of ours:

- ``mine``: ``ContextNetTransducer.from_preset("contextnet_s")`` (LSTM 640, joint 640);
- ``mine_tfasr_widths``: the same encoder with TensorFlowASR small's decoder widths (embedding 640,
  LSTM 512, joint 512), i.e. the same work as the peer — our preset's joint output projection
  alone is 25% more FLOPs.

It prints, and writes to ``--out``, one row per run (the three train-step medians and the two
speed-ups, TensorFlowASR ms / ours ms) and the median of each column over the runs; the peers
script's own tables follow.

    .venv/bin/python benchmarks/peers_train_step.py [--runs 3] [--repeats 7] [--warmup 2] \
        [--tfasr ../TFASR_SRC] [--out benchmarks/results/peers_train_step_runs.md]

Needs a TensorFlowASR source folder (``../shared/bench/README.md`` says how to get one).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import statistics
import subprocess
import sys
import tempfile

from bench_timing import publish

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCRIPT = os.path.join(ROOT, "..", "shared", "bench", "contextnet_peers.py")
DEFAULT_TFASR = os.environ.get("TFASR_PATH", os.path.join(ROOT, "..", "TFASR_SRC"))
CANDIDATES = {"mine": "benchmarks.peers_candidate:build_small",
              "mine_tfasr_widths": "benchmarks.peers_candidate:build_small_tfasr_widths"}
PEER = "tfasr+tf_loss"


def peers_command(tfasr: str, repeats: int, warmup: int, out: str) -> list[str]:
    """The peers script's command line: TensorFlowASR and ``CANDIDATES``, Adam applied in the step."""
    cmd = [sys.executable, SCRIPT, "--tfasr", tfasr, "--candidate-path", ROOT, "--apply-optimizer",
           "--no-warprnnt", "--repeats", str(repeats), "--warmup", str(warmup), "--out", out]
    for label, target in CANDIDATES.items():
        cmd += ["--candidate", f"{label}={target}"]
    return cmd


def run_once(tfasr: str, repeats: int, warmup: int, folder: str, index: int) -> tuple[list[dict], str, str]:
    """One run of the peers script: its JSON results, its markdown and the command."""
    out, js = os.path.join(folder, f"run{index}.md"), os.path.join(folder, f"run{index}.json")
    cmd = peers_command(tfasr, repeats, warmup, out) + ["--json", js]
    print(f"[run {index}]", " ".join(cmd), flush=True)
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    with open(js, encoding="utf-8") as f:
        results = json.load(f)
    with open(out, encoding="utf-8") as f:
        return results, f.read(), " ".join(cmd)


def train_step_ms(results: list[dict]) -> dict[str, float]:
    """``{label: median train-step ms}``; raises with the status if a train step failed."""
    times = {}
    for r in results:
        if r["case"] != "train":
            continue
        if r.get("status") != "ok":
            raise RuntimeError(f"{r['label']} train step failed: {r.get('status')}")
        times[r["label"]] = 1e3 * r["median_s"]
    missing = {PEER, *CANDIDATES} - set(times)
    if missing:
        raise RuntimeError(f"no train-step result for {sorted(missing)}")
    return times


def summary_table(rows: list[dict[str, float]]) -> str:
    labels = [PEER, *CANDIDATES]
    head = ("| run | " + " | ".join(f"{label} ms" for label in labels)
            + " | " + " | ".join(f"speed-up {label}" for label in CANDIDATES) + " |")
    lines = [head, "|" + "---|" * (1 + len(labels) + len(CANDIDATES))]

    def cells(row: dict[str, float]) -> str:
        return (" | ".join(f"{row[label]:.1f}" for label in labels) + " | "
                + " | ".join(f"{row[PEER] / row[label]:.2f}×" for label in CANDIDATES))

    for i, row in enumerate(rows, 1):
        lines.append(f"| {i} | {cells(row)} |")
    medians = {label: statistics.median(r[label] for r in rows) for label in labels}
    ratio_medians = {label: statistics.median(r[PEER] / r[label] for r in rows) for label in CANDIDATES}
    lines.append("| **median** | " + " | ".join(f"**{medians[label]:.1f}**" for label in labels) + " | "
                 + " | ".join(f"**{ratio_medians[label]:.2f}×**" for label in CANDIDATES) + " |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--tfasr", default=DEFAULT_TFASR)
    parser.add_argument("--out", default=os.path.join(ROOT, "benchmarks", "results", "peers_train_step_runs.md"))
    args = parser.parse_args()
    if not os.path.isdir(os.path.join(args.tfasr, "tensorflow_asr")):
        print(f"error: no TensorFlowASR source in {args.tfasr} (see ../shared/bench/README.md)", file=sys.stderr)
        return 2
    started = datetime.datetime.now(datetime.timezone.utc)
    load_start = os.getloadavg()
    rows, tables, command = [], [], ""
    with tempfile.TemporaryDirectory() as folder:
        for i in range(1, args.runs + 1):
            results, table, command = run_once(args.tfasr, args.repeats, args.warmup, folder, i)
            rows.append(train_step_ms(results))
            tables.append(table)
            print(summary_table(rows), flush=True)
    load_end = os.getloadavg()
    text = "\n".join([
        f"## Train step beside TensorFlowASR: {args.runs} back-to-back runs of contextnet_peers.py", "",
        f"- command: `{' '.join([os.path.relpath(sys.executable, ROOT), *sys.argv])}`",
        f"- each run: `{command}` (temporary output paths)",
        f"- date {started.isoformat(timespec='seconds')}; load average (1/5/15 min) at start "
        f"{load_start[0]:.2f}/{load_start[1]:.2f}/{load_start[2]:.2f}, at end "
        f"{load_end[0]:.2f}/{load_end[1]:.2f}/{load_end[2]:.2f}",
        "- train step = forward + RNN-T loss + gradients + Keras Adam apply, batch 4 × 500 frames, U=40, "
        "V=1000; medians of each run's timed calls; speed-up = TensorFlowASR ms / ours ms", "",
        summary_table(rows), "",
        *[f"### Run {i}\n\n{table}" for i, table in enumerate(tables, 1)],
    ]) + "\n"
    publish(text, args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
