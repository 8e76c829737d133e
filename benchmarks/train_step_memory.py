"""Peak memory and time of one ContextNet training step, with and without the fused (sub-batched) loss.

Each configuration runs in its own subprocess (a fresh allocator, so peaks do not mix): build
``ContextNetTransducer.from_preset(preset, V, fused_loss_sub_batch_size=k)`` (``k`` = off: the
whole ``[B, T', U+1, V]`` lattice in ``call``; ``k`` ≥ 1: ``fused_joint_rnnt_loss`` in
``compute_loss``, ``k`` utterances at a time), ``compile(optimizer=make_optimizer())`` and time the steps of
``model.fit`` — Keras' own train_step in one ``tf.function`` (forward, RNN-T NLL + L2, backward,
global-norm clip, Adam) — on a ``tf.data`` batch whose size the graph does not know (as
``make_dataset``'s batches: the fused loss then runs its ``tf.while_loop`` over sub-batches), from
``on_train_batch_begin`` to ``on_train_batch_end``. ``--api train_on_batch`` times
``model.train_on_batch(x)`` instead, traced with the batch's static shape (the fused loss then runs
as a Python loop over the sub-batches). The first step (tracing) and ``--warmup`` more are
untimed; then the median (min) of ``--steps``.

Memory: ``resource.getrusage(RUSAGE_SELF).ru_maxrss`` of the child after the warm-up steps (the
process's peak resident set so far: model, inputs, the traced graph and the steps' tensors), and
the resident set (``VmRSS``) just before the first step, whose difference is what the training step
adds. The lattice's float32 logits alone are ``B·T'·(U+1)·V·4`` bytes; unfused training also holds
their gradient, the joint's ``[B, T', U+1, J]`` hidden activations and the loss's workspace.

Inputs: random N(0, 1) 80-dim features ``[B, T, 80]`` (T = 100 frames per second of audio, all
frames valid, T' = ceil(T/8)), random labels ``[B, U]`` in 1..V-1, all valid. Shape letters: B
batch, T frames, T' encoder frames, U labels, V vocabulary, J joint dim.

    nice -n 19 .venv/bin/python benchmarks/train_step_memory.py [--batch 8] [--seconds 10] [--labels 60] \\
        [--sub-batches off,1,2,4] [--warmup 1] [--steps 3] [--api fit|train_on_batch] \\
        [--out benchmarks/results/train_step_memory.md]

Prints a markdown table and writes it to ``--out``.
"""

from __future__ import annotations

import argparse
import datetime
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import time

from bench_timing import publish

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FRAMES_PER_SECOND = 100
MARKER = "@@"
STEP_DESCRIPTIONS = {
    "fit": "one step of `model.fit` on `Dataset.from_tensor_slices(x).batch(B).repeat()` (batch size unknown to "
           "the graph, as in training; on_train_batch_begin → on_train_batch_end)",
    "train_on_batch": "`model.train_on_batch(x)` (traced with the static batch shape)",
}


def _vm_rss_mib() -> float:
    with open("/proc/self/status", encoding="utf-8") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("VmRSS not in /proc/self/status")


def _max_rss_mib() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kilobytes on Linux


def worker(spec: dict) -> dict:
    """One configuration in this process: its memory and step times."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    sys.path.insert(0, ROOT)
    import keras
    import numpy as np
    import tensorflow as tf

    from tf_contextnet.models import ContextNetTransducer
    from tf_contextnet.training.optimizer import make_optimizer

    StepClock = step_clock_class()

    keras.utils.set_random_seed(0)  # the same weights and inputs in every configuration
    rng = np.random.default_rng(0)
    model = ContextNetTransducer.from_preset(spec["preset"], vocabulary_size=spec["vocabulary_size"],
                                             fused_loss_sub_batch_size=spec["sub_batch"])
    model.compile(optimizer=make_optimizer())
    batch, frames, labels, vocabulary = spec["batch"], spec["frames"], spec["labels"], spec["vocabulary_size"]
    x = {"features": tf.constant(rng.standard_normal((batch, frames, model.num_mel_bins)), tf.float32),
         "feature_lengths": tf.fill([batch], frames),
         "labels": tf.constant(rng.integers(1, vocabulary, (batch, labels)), tf.int32),
         "label_lengths": tf.fill([batch], labels)}
    rss_before = _vm_rss_mib()
    if spec["api"] == "fit":
        clock = StepClock(untimed=1 + spec["warmup"])
        data = tf.data.Dataset.from_tensor_slices(x).batch(batch).repeat()  # batch size unknown to the graph
        model.fit(data, epochs=1, steps_per_epoch=1 + spec["warmup"] + spec["steps"], verbose=0, callbacks=[clock])
        first_s, first_loss, peak_after_warmup = clock.times[0], clock.first_loss, clock.peak_after_untimed
        times, cpu_times = clock.times[1 + spec["warmup"]:], clock.cpu_times[1 + spec["warmup"]:]
    else:
        start = time.perf_counter()
        first_loss = float(model.train_on_batch(x))
        first_s = time.perf_counter() - start
        for _ in range(spec["warmup"]):
            model.train_on_batch(x)
        peak_after_warmup = _max_rss_mib()
        times, cpu_times = [], []
        for _ in range(spec["steps"]):
            wall, cpu = time.perf_counter(), time.process_time()
            model.train_on_batch(x)
            times.append(time.perf_counter() - wall)
            cpu_times.append(time.process_time() - cpu)
    return {"sub_batch": spec["sub_batch"], "rss_before_mib": rss_before, "peak_mib": peak_after_warmup,
            "peak_end_mib": _max_rss_mib(), "first_s": first_s, "times_s": times, "cpu_s": cpu_times,
            "first_loss": first_loss,
            "parameters": model.count_params(), "jit_compile": bool(model.jit_compile)}


def step_clock_class():
    """``StepClock``, a Keras callback (defined once Keras is imported, in the worker only)."""
    import keras

    class Clock(keras.callbacks.Callback):
        """Wall and CPU seconds of each ``fit`` step, the first step's loss, ``ru_maxrss`` after the untimed steps."""

        def __init__(self, untimed: int):
            super().__init__()
            self.untimed, self.times, self.cpu_times = untimed, [], []
            self.first_loss, self.peak_after_untimed = None, None
            self._start = self._cpu_start = 0.0

        def on_train_batch_begin(self, batch, logs=None):
            self._start, self._cpu_start = time.perf_counter(), time.process_time()

        def on_train_batch_end(self, batch, logs=None):
            loss = float(logs["loss"])  # waits for the step to finish
            self.times.append(time.perf_counter() - self._start)
            self.cpu_times.append(time.process_time() - self._cpu_start)
            if self.first_loss is None:
                self.first_loss = loss
            if len(self.times) == self.untimed:
                self.peak_after_untimed = _max_rss_mib()

    return Clock


def run_case(spec: dict) -> dict:
    proc = subprocess.run([sys.executable, os.path.abspath(__file__), "--_worker", json.dumps(spec)],
                          capture_output=True, text=True)
    for line in proc.stdout.splitlines():
        if line.startswith(MARKER):
            return json.loads(line[len(MARKER):])
    tail = " | ".join(proc.stderr.strip().splitlines()[-2:])
    return {"sub_batch": spec["sub_batch"], "error": f"rc={proc.returncode}: {tail[:300]}"}


def _label(sub_batch: int | None) -> str:
    return "off (whole lattice)" if sub_batch is None else f"fused, sub-batch {sub_batch}"


def table(results: list[dict]) -> str:
    rows = ["| loss | peak RSS MiB | step adds MiB | vs off | peak after timed steps MiB | median step ms | vs off | "
            "median CPU s per step | vs off | first step s | first loss |", "|" + "---|" * 11]
    base = next((r for r in results if r["sub_batch"] is None and "error" not in r), None)
    for r in results:
        if "error" in r:
            rows.append(f"| {_label(r['sub_batch'])} | - | - | - | - | - | - | - | - | - | {r['error']} |")
            continue
        added = r["peak_mib"] - r["rss_before_mib"]
        median = statistics.median(r["times_s"])
        memory_ratio = f"{added / (base['peak_mib'] - base['rss_before_mib']):.2f}×" if base else "-"
        time_ratio = f"{median / statistics.median(base['times_s']):.2f}×" if base else "-"
        cpu = statistics.median(r["cpu_s"])
        cpu_ratio = f"{cpu / statistics.median(base['cpu_s']):.2f}×" if base else "-"
        rows.append(f"| {_label(r['sub_batch'])} | {r['peak_mib']:.0f} | {added:.0f} | {memory_ratio} | "
                    f"{r['peak_end_mib']:.0f} | {median * 1e3:.0f} | {time_ratio} | {cpu:.2f} | {cpu_ratio} | "
                    f"{r['first_s']:.1f} | {r['first_loss']:.3f} |")
    return "\n".join(rows)


def _sub_batches(text: str) -> list[int | None]:
    return [None if item.strip() in ("off", "0") else int(item) for item in text.split(",") if item.strip()]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--preset", default="contextnet_s")
    parser.add_argument("--vocabulary-size", type=int, default=1024)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=10.0, help="audio per utterance (100 frames per second)")
    parser.add_argument("--labels", type=int, default=60, help="U, labels per utterance")
    parser.add_argument("--sub-batches", type=_sub_batches, default=_sub_batches("off,1,2,4"),
                        help="comma-separated: off (the whole lattice) or a fused sub-batch size")
    parser.add_argument("--warmup", type=int, default=1, help="untimed calls after the first (tracing) one")
    parser.add_argument("--steps", type=int, default=3, help="timed steps")
    parser.add_argument("--api", default="fit", choices=["fit", "train_on_batch"],
                        help="fit: steps of model.fit on a tf.data batch of unknown size (as in training); "
                             "train_on_batch: traced with the static batch shape")
    parser.add_argument("--out", default=os.path.join(ROOT, "benchmarks", "results", "train_step_memory.md"))
    parser.add_argument("--_worker", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args._worker:
        print(MARKER + json.dumps(worker(json.loads(args._worker))), flush=True)
        return 0

    load_start = os.getloadavg()
    started = datetime.datetime.now(datetime.timezone.utc)
    frames = int(round(args.seconds * FRAMES_PER_SECOND))
    enc_frames = frames
    for _ in range(3):  # the presets' three stride-2 blocks
        enc_frames = math.ceil(enc_frames / 2)
    lattice_mib = args.batch * enc_frames * (args.labels + 1) * args.vocabulary_size * 4 / 2**20
    results = []
    for sub_batch in args.sub_batches:
        spec = {"preset": args.preset, "vocabulary_size": args.vocabulary_size, "batch": args.batch,
                "frames": frames, "labels": args.labels, "sub_batch": sub_batch, "warmup": args.warmup,
                "steps": args.steps, "api": args.api}
        results.append(run_case(spec))
        r = results[-1]
        done = r.get("error") or (f"peak {r['peak_mib']:.0f} MiB, median "
                                  f"{statistics.median(r['times_s']) * 1e3:.0f} ms")
        print(f"[{_label(sub_batch)}] {done}", file=sys.stderr, flush=True)
    load_end = os.getloadavg()

    import keras
    import tensorflow as tf

    ok = next((r for r in results if "error" not in r), {})
    command = " ".join([os.path.relpath(sys.executable, ROOT) if sys.executable.startswith(ROOT)
                        else sys.executable, os.path.relpath(os.path.abspath(__file__), ROOT), *sys.argv[1:]])
    text = "\n".join([
        f"## Training-step memory: {args.preset}, batch {args.batch} × {args.seconds:g} s (T={frames}, "
        f"T'={enc_frames}), U={args.labels}, V={args.vocabulary_size}, {args.api} (CPU)", "",
        f"- command: `nice -n 19 {command}`",
        f"- date {started.isoformat(timespec='seconds')}; {platform.platform()}, os.cpu_count()={os.cpu_count()}; "
        f"python {platform.python_version()}, tensorflow {tf.__version__}, keras {keras.__version__}",
        f"- load average (1/5/15 min) at start {load_start[0]:.2f}/{load_start[1]:.2f}/{load_start[2]:.2f}, at end "
        f"{load_end[0]:.2f}/{load_end[1]:.2f}/{load_end[2]:.2f} (shared 2-core machine: times are noisy)",
        f"- step = {STEP_DESCRIPTIONS[args.api]} after `compile(optimizer=make_optimizer())` (Keras train_step in "
        f"one tf.function, jit_compile={ok.get('jit_compile')}), float32; {ok.get('parameters', 0):,} parameters; "
        f"one subprocess per row; first step (tracing) and {args.warmup} warm-up step(s) untimed, then median of "
        f"{args.steps}",
        f"- the whole lattice's float32 logits B·T'·(U+1)·V·4 bytes = {lattice_mib:.0f} MiB",
        "- peak RSS = `ru_maxrss` after the warm-up (model, inputs, traced graph, steps); step adds = peak RSS − "
        "VmRSS just before the first step; CPU s = the process's user + system time per step "
        "(`time.process_time`), less sensitive than wall time to other jobs on the machine; first loss: the "
        "same weights and batch in every row", "",
        table(results), "",
    ])
    publish(text, args.out)
    return 0 if all("error" not in r for r in results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
