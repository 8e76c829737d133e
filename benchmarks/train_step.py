"""ContextNet-S training-step speed on CPU: step time, audio-seconds per second, FLOP utilisation.

One optimizer step as users train: ``ContextNetTransducer.from_preset("contextnet_s", 1024)``
compiled with the project's ``make_optimizer`` (Adam β 0.9/0.98, ε 1e-9, global clip 5, the
Transformer schedule) and timed through ``model.train_on_batch(x)`` — Keras' own ``train_step``
inside one ``tf.function`` (forward in training mode + ``compute_loss`` = RNN-T NLL + L2 +
backward + Adam apply). Keras resolves ``jit_compile="auto"`` to off on a CPU-only machine.

Inputs: random N(0, 1) 80-dim features ``[B, T, 80]`` (B = 4, T = 500 frames = 5 s of audio, all
frames valid), random labels ``[B, U]`` in 1..V-1 (U = 40). Shape letters: B batch, T frames,
T' = ceil(T/8) encoder frames, U labels, V vocabulary, J joint dim, D encoder channels,
E/H prediction embedding/units.

FLOPs (2 × multiply-adds of matmuls/convolutions; element-wise work not counted):
    encoder      ``tf_contextnet.models.complexity.encoder_flops(T, alpha) · B``
    prediction   ``2 · 4H · (E + H) · B · (U+1)`` (one LSTM layer; the embedding is a gather)
    joint        ``2 · B · (T'·D·J + (U+1)·H·J + T'·(U+1)·J·V)``
    training     ``≈ 3 × forward`` (backward = gradient w.r.t. activations + w.r.t. weights, each
                 about one forward); Adam, clipping, L2 and the loss are element-wise and listed
                 as estimates only.
Utilisation = training FLOPs / step time / peak, against the nominal 340 GFLOP/s (2 cores fp32)
and against a bare 2048×2048 fp32 ``tf.matmul`` measured in the same run.

Prints a markdown table (medians after warm-up) and writes it to
``benchmarks/results/train_step.md``. ``--peers`` also runs ``../shared/bench/contextnet_peers.py``
(TensorFlowASR ContextNet small beside ``benchmarks/peers_candidate.py:build_small`` and
``build_small_tfasr_widths``, with ``--apply-optimizer``) and appends its table. ``--parts`` also
times forward + backward of the pieces (encoder, prediction network, joint + loss, loss alone,
gradients without the optimizer).

    .venv/bin/python benchmarks/train_step.py [--repeats 7] [--warmup 2] [--parts] [--peers]

AN4-shaped batches (the AN4 recipe's model: α 0.25, 160-unit decoder, 127 word pieces; batch 16 of
~3 s utterances with ~12 labels), with and without XLA:

    .venv/bin/python benchmarks/train_step.py --alpha 0.25 --decoder-units 160 --vocabulary-size 127 \
        --batch 16 --frames 300 --labels 12 [--jit-compile] --out benchmarks/results/train_step_an4.md
"""

from __future__ import annotations

import argparse
import datetime
import math
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time

from bench_timing import call_times, publish
from peers_train_step import DEFAULT_TFASR, peers_command

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NOMINAL_PEAK_GFLOPS = 340.0
FRAMES_PER_SECOND = 100


def forward_flops(batch: int, frames: int, labels: int, vocabulary_size: int, alpha: float,
                  embedding_dim: int, units: int, num_layers: int, joint_dim: int,
                  downsample_blocks=(3, 7, 14)) -> dict[str, float]:
    """Forward FLOPs per part (``encoder``, ``prediction``, ``joint``) of one batch."""
    from tf_contextnet.models.block_table import block_table
    from tf_contextnet.models.complexity import encoder_flops

    encoder_dim = block_table(alpha, 5, downsample_blocks)[-1].filters
    enc_frames = frames
    for _ in downsample_blocks:
        enc_frames = math.ceil(enc_frames / 2)
    positions = labels + 1
    lstm, width = 0, embedding_dim
    for _ in range(num_layers):
        lstm += 2 * 4 * units * (width + units)
        width = units
    return {
        "encoder": float(encoder_flops(frames, alpha=alpha, downsample_blocks=downsample_blocks) * batch),
        "prediction": float(lstm * batch * positions),
        "joint": float(2 * batch * (enc_frames * encoder_dim * joint_dim + positions * units * joint_dim
                                    + enc_frames * positions * joint_dim * vocabulary_size)),
        "enc_frames": float(enc_frames),
    }


def _median_seconds(fn, warmup: int, repeats: int) -> tuple[float, float, list[float]]:
    times = call_times(fn, warmup, repeats)
    return statistics.median(times), min(times), times


def measure_matmul_peak(size: int, repeats: int) -> tuple[float, float]:
    """Median and best GFLOP/s of a ``[size, size] @ [size, size]`` fp32 ``tf.matmul`` in a tf.function."""
    import tensorflow as tf

    a = tf.random.normal([size, size], seed=1)
    b = tf.random.normal([size, size], seed=2)
    matmul = tf.function(lambda: tf.reduce_sum(tf.matmul(a, b)))
    median, best, _ = _median_seconds(lambda: matmul().numpy(), 2, repeats)
    flops = 2.0 * size ** 3
    return flops / median / 1e9, flops / best / 1e9


def part_timings(model, x, warmup: int, repeats: int) -> list[tuple[str, tuple[float, float, list[float]]]]:
    """Forward + backward time of the pieces of one step, each in its own ``tf.function``.

    Each returns the global norm of its gradients so that no gradient is pruned from the graph.
    ``encoder``/``prediction`` are differentiated through a fixed random cotangent; ``joint + loss``
    and ``loss`` take fixed inputs and differentiate w.r.t. them (as the real step does).
    """
    import tensorflow as tf

    from tf_contextnet.losses import rnnt_loss

    features, lengths = x["features"], x["feature_lengths"]
    labels, label_lengths = x["labels"], x["label_lengths"]
    encoded, enc_lengths = model.transcribe(features, lengths, training=True)
    predicted, _ = model.predict_labels(labels, label_lengths, training=True)
    logits = model.join(encoded[:, :, None], predicted[:, None])
    rng = tf.random.Generator.from_seed(3)
    enc_cot, pred_cot = rng.normal(tf.shape(encoded)), rng.normal(tf.shape(predicted))

    def grads_norm(loss_fn, variables, tensors=()):
        with tf.GradientTape() as tape:
            tape.watch(list(tensors))
            loss = loss_fn()
        return tf.linalg.global_norm(tape.gradient(loss, [*tensors, *variables]))

    def step_grads():
        return grads_norm(lambda: model.compute_loss(x, y_pred=model(x, training=True)), model.trainable_variables)

    def encoder_grads():
        return grads_norm(lambda: tf.reduce_sum(model.transcribe(features, lengths, training=True)[0] * enc_cot),
                          model.encoder.trainable_variables)

    def prediction_grads():
        return grads_norm(lambda: tf.reduce_sum(
            model.predict_labels(labels, label_lengths, training=True)[0] * pred_cot),
            model.prediction.trainable_variables)

    def joint_loss_grads():
        return grads_norm(lambda: tf.reduce_mean(rnnt_loss(model.join(encoded[:, :, None], predicted[:, None]),
                                                           labels, enc_lengths, label_lengths)),
                          model.joint.trainable_variables, (encoded, predicted))

    def loss_grads():
        return grads_norm(lambda: tf.reduce_mean(rnnt_loss(logits, labels, enc_lengths, label_lengths)), (), (logits,))

    cases = [("forward + loss + gradients, no optimizer (GradientTape)", step_grads),
             ("encoder forward + backward", encoder_grads),
             ("prediction network forward + backward", prediction_grads),
             ("joint + RNN-T loss forward + backward (fixed inputs)", joint_loss_grads),
             ("RNN-T loss forward + backward (fixed logits)", loss_grads)]
    results = []
    for name, fn in cases:
        compiled = tf.function(fn)
        compiled().numpy()
        results.append((name, _median_seconds(lambda: compiled().numpy(), warmup, repeats)))
        print(f"{name}: {results[-1][1][0] * 1e3:.0f} ms", flush=True)
    return results


def run_peers(repeats: int, warmup: int) -> str:
    """The peers script's markdown (TFASR small and ours, train step with Adam apply)."""
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "peers.md")
        cmd = peers_command(DEFAULT_TFASR, repeats, warmup, out)
        print("running", " ".join(cmd), flush=True)
        subprocess.run(cmd, check=True)
        with open(out, encoding="utf-8") as f:
            return f"`{' '.join(cmd)}`\n\n" + f.read()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--preset", default="contextnet_s")
    parser.add_argument("--vocabulary-size", type=int, default=1024)
    parser.add_argument("--alpha", type=float, default=None, help="width multiplier (default: the preset's)")
    parser.add_argument("--decoder-units", type=int, default=None,
                        help="prediction embedding, LSTM and joint width (default: the preset's)")
    parser.add_argument("--jit-compile", action="store_true", help="compile the train step with XLA")
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--frames", type=int, default=500)
    parser.add_argument("--labels", type=int, default=40)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--warmup", type=int, default=2, help="calls after the first (tracing) one")
    parser.add_argument("--matmul-size", type=int, default=2048)
    parser.add_argument("--matmul-repeats", type=int, default=15)
    parser.add_argument("--no-forward", action="store_true", help="skip the forward+loss-only timing")
    parser.add_argument("--parts", action="store_true",
                        help="also time forward+backward of the encoder, prediction, joint+loss and loss alone")
    parser.add_argument("--peers", action="store_true", help="also run ../shared/bench/contextnet_peers.py")
    parser.add_argument("--out", default=os.path.join(ROOT, "benchmarks", "results", "train_step.md"))
    args = parser.parse_args()

    load_start = os.getloadavg()
    started = datetime.datetime.now(datetime.timezone.utc)
    command = " ".join([os.path.relpath(sys.executable, ROOT) if sys.executable.startswith(ROOT)
                        else sys.executable, os.path.relpath(os.path.abspath(__file__), ROOT), *sys.argv[1:]])
    sys.path.insert(0, ROOT)

    import keras
    import numpy as np
    import tensorflow as tf

    from tf_contextnet.models import ContextNetTransducer
    from tf_contextnet.training.optimizer import make_optimizer

    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    overrides = {} if args.alpha is None else {"alpha": args.alpha}
    if args.decoder_units is not None:
        overrides.update(prediction_embedding_dim=args.decoder_units, prediction_units=args.decoder_units,
                         joint_dim=args.decoder_units)
    model = ContextNetTransducer.from_preset(args.preset, vocabulary_size=args.vocabulary_size, **overrides)
    model.compile(optimizer=make_optimizer(), jit_compile=args.jit_compile)
    x = {"features": tf.constant(rng.standard_normal((args.batch, args.frames, model.num_mel_bins)), tf.float32),
         "feature_lengths": tf.fill([args.batch], args.frames),
         "labels": tf.constant(rng.integers(1, args.vocabulary_size, (args.batch, args.labels)), tf.int32),
         "label_lengths": tf.fill([args.batch], args.labels)}

    peak_start = measure_matmul_peak(args.matmul_size, args.matmul_repeats)
    print(f"matmul {args.matmul_size}: {peak_start[0]:.0f} GFLOP/s median ({peak_start[1]:.0f} best)", flush=True)

    start = time.perf_counter()
    first_loss = float(model.train_on_batch(x))
    first_call = time.perf_counter() - start
    print(f"first train_on_batch (trace + step): {first_call:.1f} s, loss {first_loss:.1f}", flush=True)
    step_median, step_min, step_times = _median_seconds(lambda: model.train_on_batch(x), args.warmup,
                                                        args.repeats)
    last_loss = float(model.train_on_batch(x))
    print("train steps ms:", " ".join(f"{t * 1e3:.0f}" for t in step_times), flush=True)

    forward = None
    if not args.no_forward:
        fwd_fn = tf.function(lambda batch: model.compute_loss(batch, y_pred=model(batch, training=True)))
        fwd_fn(x).numpy()
        forward = _median_seconds(lambda: fwd_fn(x).numpy(), args.warmup, args.repeats)
        print("forward+loss ms:", " ".join(f"{t * 1e3:.0f}" for t in forward[2]), flush=True)

    parts = part_timings(model, x, args.warmup, args.repeats) if args.parts else []

    peak_end = measure_matmul_peak(args.matmul_size, args.matmul_repeats)
    measured_peak = max(peak_start[0], peak_end[0])
    load_end = os.getloadavg()

    alpha = model.alpha
    flops = forward_flops(args.batch, args.frames, args.labels, args.vocabulary_size, alpha,
                          model.prediction_embedding_dim, model.prediction_units, model.prediction_num_layers,
                          model.joint_dim, model.downsample_blocks)
    enc_frames = int(flops.pop("enc_frames"))
    fwd_total = sum(flops.values())
    train_total = 3.0 * fwd_total
    params = model.count_params()
    audio_seconds = args.batch * args.frames / FRAMES_PER_SECOND
    achieved = train_total / step_median / 1e9

    lines = [
        f"## Training step: {args.preset}, batch {args.batch} × {args.frames} frames "
        f"({audio_seconds / args.batch:g} s each), U={args.labels}, V={args.vocabulary_size} (CPU)", "",
        f"- command: `{command}`",
        f"- date {started.isoformat(timespec='seconds')}; {platform.platform()}, os.cpu_count()={os.cpu_count()}; "
        f"python {platform.python_version()}, tensorflow {tf.__version__}, keras {keras.__version__}",
        f"- load average (1/5/15 min) at start {load_start[0]:.2f}/{load_start[1]:.2f}/{load_start[2]:.2f}, "
        f"at end {load_end[0]:.2f}/{load_end[1]:.2f}/{load_end[2]:.2f} (shared 2-core machine: timings are noisy)",
        f"- step = `model.train_on_batch(x)` after `compile(optimizer=make_optimizer())` (Keras train_step in one "
        f"tf.function, jit_compile={model.jit_compile}): forward (training=True) + compute_loss (RNN-T NLL + L2 "
        f"1e-6) + backward + global-norm clip + Adam apply; {params:,} parameters; first call (tracing) "
        f"{first_call:.1f} s; median of {args.repeats} after {args.warmup} warm-up calls; loss "
        f"{first_loss:.1f} → {last_loss:.1f}",
        f"- inputs: random N(0,1) features, all frames valid, T'={enc_frames}; no feature extraction, no "
        f"SpecAugment, no input pipeline", "",
        "| measurement | median | min | notes |", "|---|---|---|---|",
        f"| train step | {step_median * 1e3:.0f} ms | {step_min * 1e3:.0f} ms | all step times (ms): "
        f"{', '.join(f'{t * 1e3:.0f}' for t in step_times)} |",
    ]
    if forward is not None:
        lines.append(f"| forward + loss only (training=True, no gradients) | {forward[0] * 1e3:.0f} ms | "
                     f"{forward[1] * 1e3:.0f} ms | backward + Adam ≈ {(step_median - forward[0]) * 1e3:.0f} ms |")
    part_flops = {"forward + loss + gradients": train_total, "encoder": 3 * flops["encoder"],
                  "prediction": 3 * flops["prediction"], "joint": 3 * flops["joint"]}
    for name, (median, best, _) in parts:
        counted = next((v for k, v in part_flops.items() if name.startswith(k)), None)
        rate = f"{counted / median / 1e9:.0f} GFLOP/s (3 × its forward FLOPs)" if counted else "element-wise"
        lines.append(f"| {name} | {median * 1e3:.0f} ms | {best * 1e3:.0f} ms | --parts; {rate} |")
    if parts:
        lines.append(f"| optimizer apply (train step − gradients-only) | {(step_median - parts[0][1][0]) * 1e3:.0f} ms "
                     f"| | global-norm clip + Adam on {len(model.trainable_variables)} variables, Keras bookkeeping |")
    lines += [
        f"| audio-seconds per second | {audio_seconds / step_median:.1f} | {audio_seconds / step_min:.1f} | "
        f"{audio_seconds:g} s of audio per step |",
        f"| training GFLOP/s achieved | {achieved:.0f} | {train_total / step_min / 1e9:.0f} | "
        f"{train_total / 1e9:.1f} GFLOP per step (3 × forward) |",
        f"| FLOP utilisation vs nominal {NOMINAL_PEAK_GFLOPS:.0f} GFLOP/s | {achieved / NOMINAL_PEAK_GFLOPS:.0%} | "
        f"{train_total / step_min / 1e9 / NOMINAL_PEAK_GFLOPS:.0%} | |",
        f"| FLOP utilisation vs measured matmul peak {measured_peak:.0f} GFLOP/s | {achieved / measured_peak:.0%} | "
        f"{train_total / step_min / 1e9 / measured_peak:.0%} | {args.matmul_size}² fp32 tf.matmul, median of "
        f"{args.matmul_repeats}: {peak_start[0]:.0f} GFLOP/s before, {peak_end[0]:.0f} after the steps "
        f"(best single call {max(peak_start[1], peak_end[1]):.0f}) |",
        "", "FLOP breakdown (2 × multiply-adds; forward of one batch):", "",
        "| part | formula | forward GFLOP | share |", "|---|---|---|---|",
        f"| encoder | `encoder_flops({args.frames}, alpha={alpha:g}) × {args.batch}` | "
        f"{flops['encoder'] / 1e9:.2f} | {flops['encoder'] / fwd_total:.0%} |",
        f"| prediction (LSTM) | 2·4H·(E+H)·B·(U+1), H=E={model.prediction_units} | "
        f"{flops['prediction'] / 1e9:.2f} | {flops['prediction'] / fwd_total:.0%} |",
        f"| joint | 2·B·(T'·D·J + (U+1)·H·J + T'·(U+1)·J·V), J={model.joint_dim} | "
        f"{flops['joint'] / 1e9:.2f} | {flops['joint'] / fwd_total:.0%} |",
        f"| forward total | | {fwd_total / 1e9:.2f} | |",
        f"| training step | 3 × forward (assumption: backward ≈ 2 × forward) | {train_total / 1e9:.2f} | |",
        "",
        "Not counted (element-wise, estimates): log-softmax + RNN-T recursion ≈ "
        f"{5 * args.batch * enc_frames * (args.labels + 1) * args.vocabulary_size / 1e9:.2f} GFLOP forward "
        f"(≈ 5 per logit); L2 + clipping + Adam ≈ {15 * params / 1e9:.2f} GFLOP (≈ 15 per parameter); "
        "batch norm, swish, masks, tanh. Encoder FLOPs count convolutions, projections and SE as in "
        "`tf_contextnet.models.complexity`.",
    ]
    text = "\n".join(lines) + "\n"
    publish(text, args.out)
    if args.peers:
        del model  # free its memory before the peers' subprocesses
        text += "\n### Peers (../shared/bench/contextnet_peers.py, right after the run above)\n\n" + \
            run_peers(args.repeats, args.warmup)
        publish(text, args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
