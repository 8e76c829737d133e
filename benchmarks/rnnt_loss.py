#!/usr/bin/env python3
"""Benchmark tf_contextnet.losses.rnnt_loss: forward+backward time and peak memory (CPU).

For each (B, T, U, V) and mode ("graph" = tf.function, "xla" = tf.function(jit_compile=True)),
a fresh subprocess builds random inputs (logits ~ N(0, 1), example 0 full length, the others
with lengths in [0.8, 1]·max), then times ``(loss, d sum(loss) / d logits)``: the first call
(trace/compile) is reported apart, then 2 warm-up calls, then the median (min, max) of
``--repeats`` calls. "peak RSS Δ" is the high-water mark of the resident set over all calls
(reset via /proc/self/clear_refs just before the first call) minus the resident set at that
moment (inputs already allocated); for "xla" it includes XLA's compiler. The gradient is
returned, so it counts in the peak (one logits-sized buffer).

Modes "joint" and "fusedK" time a joint network ``tanh(enc + pred) W`` plus the loss, whole batch
or with ``fused_joint_rnnt_loss`` in sub-batches of K, to show the memory saved (graph mode).

Usage: python benchmarks/rnnt_loss.py [--shapes "B,T,U,V;..."] [--modes graph,xla] [--repeats 7]
Prints a markdown table and writes it to benchmarks/results/rnnt_loss.md (or --out).
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
import time
from pathlib import Path

SHAPES = [(4, 150, 40, 28), (8, 200, 50, 1024), (16, 250, 60, 1024), (4, 500, 100, 1024)]
ROOT = Path(__file__).resolve().parents[1]


def _status_kb(field: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/self/status")


def _reset_peak() -> None:
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")


def worker(shape: list[int], mode: str, warmup: int, repeats: int, seed: int) -> dict:
    """Times one case in this process; returns the measurements."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    sys.path.insert(0, str(ROOT))
    import numpy as np
    import tensorflow as tf

    from tf_contextnet.losses import fused_joint_rnnt_loss, rnnt_loss

    b, t, u, v = shape
    rng = np.random.default_rng(seed)
    t_len = np.full(b, t, np.int32)
    u_len = np.full(b, u, np.int32)
    t_len[1:] = rng.integers(int(0.8 * t), t + 1, size=b - 1)
    u_len[1:] = rng.integers(int(0.8 * u), u + 1, size=b - 1)
    labels = rng.integers(1, v, size=(b, u)).astype(np.int32)
    labels[np.arange(u)[None, :] >= u_len[:, None]] = 0
    labels, t_len, u_len = tf.constant(labels), tf.constant(t_len), tf.constant(u_len)

    if mode in ("graph", "xla"):
        logits = tf.constant(rng.standard_normal((b, t, u + 1, v), dtype=np.float32))

        @tf.function(jit_compile=(mode == "xla"))
        def step(x):
            with tf.GradientTape() as tape:
                tape.watch(x)
                loss = rnnt_loss(x, labels, t_len, u_len)
            return loss, tape.gradient(tf.reduce_sum(loss), x)
    else:
        step, logits = _joint_step(mode, shape, labels, t_len, u_len, rng, rnnt_loss, fused_joint_rnnt_loss)

    rss0 = _status_kb("VmRSS")
    _reset_peak()
    start = time.perf_counter()
    loss, grad = step(logits)
    loss = loss.numpy()
    first = time.perf_counter() - start
    del grad
    for _ in range(warmup):
        step(logits)[0].numpy()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        step(logits)[0].numpy()
        times.append(time.perf_counter() - start)
    return {"shape": shape, "mode": mode, "first_s": first, "times_s": times,
            "peak_mib": (_status_kb("VmHWM") - rss0) / 1024, "logits_mib": b * t * (u + 1) * v * 4 / 2**20,
            "loss_finite": bool(np.isfinite(loss).all()), "mean_loss": float(loss.mean())}


def _joint_step(mode: str, shape: list[int], labels, t_len, u_len, rng, rnnt_loss, fused_joint_rnnt_loss):
    """Joint network ``tanh(enc + pred) W`` (J = 64) + loss, d loss / d (enc, pred, W), plain or fused.

    ``mode`` is ``"joint"`` (logits for the whole batch) or ``"fusedK"`` (sub-batches of K).
    Returns the step and its input (the encoder output) in place of the logits.
    """
    import tensorflow as tf

    b, t, u, v = shape
    u1 = u + 1
    enc = tf.constant(rng.standard_normal((b, t, 64), dtype="float32"))
    pred = tf.constant(rng.standard_normal((b, u1, 64), dtype="float32"))
    weight = tf.Variable(rng.standard_normal((64, v), dtype="float32") * 0.1)

    def joint(e, p):
        return tf.tanh(e[:, :, None] + p[:, None]) @ weight

    @tf.function
    def step(e):
        with tf.GradientTape() as tape:
            tape.watch([e, pred])
            if mode == "joint":
                loss = rnnt_loss(joint(e, pred), labels, t_len, u_len)
            else:
                loss = fused_joint_rnnt_loss(joint, e, pred, labels, t_len, u_len, int(mode[len("fused"):]))
        return loss, tape.gradient(tf.reduce_sum(loss), [e, pred, weight])

    return step, enc


def run_case(shape: tuple, mode: str, args: argparse.Namespace) -> dict:
    spec = json.dumps({"shape": list(shape), "mode": mode, "warmup": args.warmup, "repeats": args.repeats,
                       "seed": args.seed})
    proc = subprocess.run([sys.executable, __file__, "--_worker", spec], capture_output=True, text=True)
    for line in proc.stdout.splitlines():
        if line.startswith("@@"):
            return json.loads(line[2:])
    tail = " | ".join(proc.stderr.strip().splitlines()[-2:])
    return {"shape": list(shape), "mode": mode, "error": f"rc={proc.returncode}: {tail[:300]}"}


def table(results: list[dict]) -> str:
    rows = ["| B | T | U | V | mode | logits MiB | median ms | min ms | max ms | first call s | "
            "peak RSS Δ MiB | Δ / logits | mean loss |",
            "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in results:
        b, t, u, v = r["shape"]
        if "error" in r:
            rows.append(f"| {b} | {t} | {u} | {v} | {r['mode']} | - | - | - | - | - | - | - | {r['error']} |")
            continue
        ms = [s * 1e3 for s in r["times_s"]]
        rows.append(f"| {b} | {t} | {u} | {v} | {r['mode']} | {r['logits_mib']:.0f} | {statistics.median(ms):.1f} | "
                    f"{min(ms):.1f} | {max(ms):.1f} | {r['first_s']:.2f} | {r['peak_mib']:.0f} | "
                    f"{r['peak_mib'] / r['logits_mib']:.2f} | {r['mean_loss']:.3f}"
                    f"{'' if r['loss_finite'] else ' (non-finite!)'} |")
    return "\n".join(rows)


def header(args: argparse.Namespace, load: tuple) -> str:
    import tensorflow as tf

    return "\n".join([
        f"- date: {datetime.datetime.now(datetime.timezone.utc).isoformat(timespec='seconds')}",
        f"- host: {platform.platform()}, os.cpu_count()={os.cpu_count()}, load average at start "
        f"{load[0]:.2f} {load[1]:.2f} {load[2]:.2f} (above ~1: other jobs share the cores)",
        f"- python {platform.python_version()}, tensorflow {tf.__version__}",
        f"- forward + backward (loss and d sum(loss)/d logits), float32; first call, {args.warmup} warm-up calls, "
        f"then median of {args.repeats}; one subprocess per row",
        "- command: `" + " ".join(["python"] + [os.path.relpath(sys.argv[0], ROOT)] + sys.argv[1:]) + "`",
    ])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--shapes", default=None, help='"B,T,U,V;B,T,U,V"')
    parser.add_argument("--modes", default="graph,xla",
                        help='graph, xla, and with a joint network (tanh(enc + pred) W, J=64): joint, fusedK '
                             '(fused_joint_rnnt_loss with sub-batches of K), graph mode')
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "rnnt_loss.md"))
    parser.add_argument("--_worker", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    load = os.getloadavg()
    if args._worker:
        spec = json.loads(args._worker)
        print("@@" + json.dumps(worker(spec["shape"], spec["mode"], spec["warmup"], spec["repeats"], spec["seed"])))
        return
    shapes = SHAPES if not args.shapes else [tuple(int(x) for x in s.split(",")) for s in args.shapes.split(";")]
    results = []
    for shape in shapes:
        for mode in args.modes.split(","):
            results.append(run_case(shape, mode, args))
            r = results[-1]
            done = r.get("error") or f"{statistics.median(r['times_s']) * 1e3:.1f} ms"
            print(f"[{shape} {mode}] {done}", file=sys.stderr, flush=True)
    report = "## tf_contextnet.losses.rnnt_loss: forward+backward, CPU\n\n" + header(args, load) + "\n\n" + table(results) + "\n"
    print(report)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(report)


if __name__ == "__main__":
    main()
