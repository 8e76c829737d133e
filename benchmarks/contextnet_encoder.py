"""ContextNet encoder inference speed on CPU: presets × batch, with and without batch-norm folding.

Prints a markdown table (median / min ms over ``--repeats`` after warm-up, inside ``tf.function``)
and writes it to ``benchmarks/results/contextnet_encoder.md``. Inputs: random features
``[B, 1000, 80]`` (10 s of audio), all frames valid, and a padded variant (lengths 1000..500).

    .venv/bin/python benchmarks/contextnet_encoder.py [--presets contextnet_s contextnet_m] [--repeats 10]
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import statistics

from bench_timing import call_times, publish


def _time(fn, args, warmup: int, repeats: int) -> list[float]:
    return call_times(lambda: fn(*args)[0].numpy(), warmup + 1, repeats)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--presets", nargs="+", default=["contextnet_s"])
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 8])
    parser.add_argument("--frames", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "results", "contextnet_encoder.md"))
    args = parser.parse_args()

    import numpy as np
    import tensorflow as tf

    from tf_contextnet.layers import ContextBlock
    from tf_contextnet.models import ContextNetEncoder, PRESETS, encoder_gflops_per_second

    rng = np.random.default_rng(0)
    lines = ["## ContextNet encoder inference (CPU)", "",
             f"- {datetime.datetime.now().isoformat(timespec='seconds')}, {platform.platform()}, "
             f"os.cpu_count()={os.cpu_count()}, tensorflow {tf.__version__}; load average at start "
             f"{os.getloadavg()[0]:.1f} (the machine is shared: timings are noisy, compare within one run)",
             f"- median (min) of {args.repeats} after {args.warmup + 1} warm-up calls, tf.function, training=False",
             "", "| preset | batch x frames | lengths | BN folded | median ms | min ms | GFLOP/s achieved |",
             "|---|---|---|---|---|---|---|"]
    for name in args.presets:
        alpha = PRESETS[name]["alpha"]
        encoder = ContextNetEncoder(alpha=alpha)
        for batch in args.batches:
            features = tf.constant(rng.standard_normal((batch, args.frames, 80)), tf.float32)
            full = tf.fill([batch], args.frames)
            padded = tf.constant(np.linspace(args.frames, args.frames // 2, batch).astype(np.int32))
            cases = [("all valid", full, True), ("all valid", full, False)]
            if batch > 1:
                cases.append(("1000..500", padded, True))
            for label, lengths, fold in cases:
                ContextBlock.fold_batch_norm_in_inference = fold
                fn = tf.function(lambda x, n: encoder((x, n), training=False))
                times = [t * 1e3 for t in _time(fn, (features, lengths), args.warmup, args.repeats)]
                median = statistics.median(times)
                gflops = encoder_gflops_per_second(alpha) * args.frames / 100 * batch / (median / 1e3)
                lines.append(f"| {name} | {batch} x {args.frames} | {label} | {'yes' if fold else 'no'} | "
                             f"{median:.1f} | {min(times):.1f} | {gflops:.0f} |")
                print(lines[-1], flush=True)
        ContextBlock.fold_batch_norm_in_inference = True
    text = "\n".join(lines) + "\n"
    publish(text, args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
