"""ContextNet encoder speed at two commits of the package, measured in one run (interleaved subprocesses).

Issue 14 asks that one masking convention (``tf.where`` on padding, commit 2a92e23) leave the encoder
no slower: median of 7, within 3 %. Both trees are extracted with ``git archive`` into a temporary
folder; each round runs one child process per commit (alternating which goes first), and each child
times the ContextNet-S encoder on ``[B, frames, 80]`` random features with padded lengths
(``frames .. frames/2``) in inference (``training=False``) and a training step (forward + gradient
of the sum of the outputs w.r.t. the weights, ``training=True``), inside ``tf.function``. The table
gives the median over rounds of each child's median, and the after/before ratio.

    .venv/bin/python benchmarks/encoder_before_after.py [--before 2a92e23~1] [--after HEAD] [--rounds 7]
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile

from bench_timing import publish

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

CHILD = r"""
import json, statistics, sys, time
import numpy as np, tensorflow as tf
from tf_contextnet.models import ContextNetEncoder
batch, frames, repeats = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
import keras; keras.utils.set_random_seed(0)
encoder = ContextNetEncoder(alpha=0.5)
encoder.build(((None, None, 80), (None,)))
rng = np.random.default_rng(0)
x = tf.constant(rng.standard_normal((batch, frames, 80)), tf.float32)
n = tf.constant(np.linspace(frames, frames // 2, batch).astype(np.int32))
infer = tf.function(lambda x, n: encoder((x, n), training=False)[0])
@tf.function
def train(x, n):
    with tf.GradientTape() as tape:
        y = encoder((x, n), training=True)[0]
        loss = tf.reduce_sum(y)
    return tape.gradient(loss, encoder.trainable_variables)[0]
out = {}
for name, fn in (("inference", infer), ("training", train)):
    for _ in range(3):
        fn(x, n).numpy()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn(x, n).numpy()
        times.append(time.perf_counter() - start)
    out[name] = statistics.median(times) * 1e3
print("RESULT " + json.dumps(out))
"""


def extract(revision: str, into: str) -> str:
    """``tf_contextnet/`` of ``revision`` under ``into``; returns ``into``."""
    os.makedirs(into, exist_ok=True)
    archive = subprocess.run(["git", "-C", ROOT, "archive", revision, "tf_contextnet"], check=True,
                             capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", into], input=archive, check=True)
    return into


def run_child(tree: str, batch: int, frames: int, repeats: int) -> dict[str, float]:
    """One child process importing ``tf_contextnet`` from ``tree``; its median milliseconds per case."""
    env = {**os.environ, "PYTHONPATH": tree, "TF_CPP_MIN_LOG_LEVEL": "3"}
    done = subprocess.run([sys.executable, "-c", CHILD, str(batch), str(frames), str(repeats)], env=env,
                          capture_output=True, text=True, cwd=tree)
    lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    if done.returncode != 0 or not lines:
        raise RuntimeError(f"child for {tree} failed (exit {done.returncode}): {done.stderr[-2000:]}")
    return json.loads(lines[-1][len("RESULT "):])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--before", default="2a92e23~1")
    parser.add_argument("--after", default="HEAD")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--repeats", type=int, default=5, help="timed calls per child (its median is kept)")
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--frames", type=int, default=1000)
    parser.add_argument("--out", default=os.path.join(ROOT, "benchmarks", "results", "encoder_before_after.md"))
    args = parser.parse_args()
    results: dict[str, list[dict[str, float]]] = {"before": [], "after": []}
    with tempfile.TemporaryDirectory() as tmp:
        trees = {"before": extract(args.before, os.path.join(tmp, "before")),
                 "after": extract(args.after, os.path.join(tmp, "after"))}
        for i in range(args.rounds):
            order = ("before", "after") if i % 2 == 0 else ("after", "before")
            for which in order:
                results[which].append(run_child(trees[which], args.batch, args.frames, args.repeats))
            print(f"round {i + 1}/{args.rounds}: " + ", ".join(
                f"{w} {results[w][-1]['inference']:.1f}/{results[w][-1]['training']:.1f} ms" for w in order),
                flush=True)
    lines = ["## ContextNet-S encoder before/after (one run, interleaved child processes)", "",
             f"- {datetime.datetime.now().isoformat(timespec='seconds')}, {platform.platform()}, "
             f"os.cpu_count()={os.cpu_count()}; load average at end {os.getloadavg()[0]:.1f}",
             f"- before = `{args.before}`, after = `{args.after}`; batch {args.batch} x {args.frames} frames, "
             f"lengths {args.frames}..{args.frames // 2}; median over {args.rounds} rounds of each child's "
             f"median of {args.repeats} calls",
             f"- command: `python benchmarks/encoder_before_after.py --before {args.before} --after {args.after} "
             f"--rounds {args.rounds} --repeats {args.repeats} --batch {args.batch} --frames {args.frames}`", "",
             "| case | before ms | after ms | after / before |", "|---|---|---|---|"]
    for case in ("inference", "training"):
        before = statistics.median(r[case] for r in results["before"])
        after = statistics.median(r[case] for r in results["after"])
        lines.append(f"| {case} | {before:.1f} | {after:.1f} | {after / before:.3f} |")
    publish("\n".join(lines) + "\n", args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
