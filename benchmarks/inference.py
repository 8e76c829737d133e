"""Inference benchmark: WAV → text with Keras, the SavedModel and TFLite float/fp16/dynamic.

Each backend runs in its own process (peak RSS: its VmHWM; ``ru_maxrss`` would carry the parent's), on the same ``--seconds`` of
real LibriSpeech audio (16 kHz, ``../shared/data/librispeech_audio`` concatenated), with
``--threads`` CPU threads:

- ``keras``: ``load_model_directory`` + one ``tf.function`` (front end, encoder, greedy search,
  detokeniser) on the waveform, batch 1 and ``--batch``;
- ``savedmodel``: ``serving_default`` with the WAV bytes (parsing included), batch 1 and ``--batch``;
- ``tflite_float``, ``tflite_fp16``, ``tflite_dynamic``: LiteRT (XNNPACK) ``transcribe`` signature
  on the waveform, batch 1.

Reported: real-time factor (median latency / audio seconds), latency p50/p90, tokens emitted per
utterance, peak RSS, file size.

Greedy decoding costs a prediction-network step per emitted token, so the pipeline's speed depends
on how many tokens the model emits. An untrained model (the default) emits the cap on every frame
(``max_symbols_per_frame`` = 4 x 125 frames = 500 tokens per 10 s), far more than a trained one. So
each backend runs twice with ``--emission both`` (the default): ``cap``, the model as built, and
``none``, the same weights with the joint's blank bias raised by 1e4 so that blank always wins
(front end, encoder and one joint per frame: the fixed cost). A second table gives each backend's
fixed cost, its cost per emitted token, and the most tokens per 10 s that keep RTF <= 0.01.
With ``--tfasr DIR`` the shared peer script (``../shared/bench/contextnet_peers.py``) also runs
TensorFlowASR's ContextNet-S encoder and ours (``benchmarks/peers_candidate.py``) in the same run, and
its table is appended.

Real run (ContextNet-S, V = 1024; an untrained model of that size when no ``--model``; on a quiet
machine):

    .venv/bin/python benchmarks/inference.py --preset contextnet_s --vocabulary-size 1024 \
        --seconds 10 --repeats 10 --tfasr ../TFASR_SRC --out benchmarks/results/inference.md

Smoke run: ``--alpha 0.125 --vocabulary-size 32 --seconds 2 --repeats 2 --out /tmp/inference.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_timing import call_times, publish  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.environ.get("TF_CONTEXTNET_SHARED_DATA", os.path.join(ROOT, "..", "shared", "data"))
PEERS = os.path.join(ROOT, "..", "shared", "bench", "contextnet_peers.py")
BACKENDS = ("keras", "savedmodel", "tflite_float", "tflite_fp16", "tflite_dynamic")
TFLITE_FILES = {"tflite_float": "model.tflite", "tflite_fp16": "model_fp16.tflite",
                "tflite_dynamic": "model_dynamic.tflite"}


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", help="trained model directory (default: an untrained one of --preset/--alpha)")
    p.add_argument("--preset", default="contextnet_s")
    p.add_argument("--alpha", type=float, default=None, help="override the preset's width (smoke runs)")
    p.add_argument("--vocabulary-size", type=int, default=1024)
    p.add_argument("--work", help="folder for the model directory and export (default: a temporary one)")
    p.add_argument("--seconds", type=float, default=10.0)
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--repeats", type=int, default=10)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--backends", default=",".join(BACKENDS))
    p.add_argument("--emission", default="both", choices=["both", "cap", "none"],
                   help="untrained model: as built (cap), blank always wins (none), or both (module doc)")
    p.add_argument("--tfasr", default=None, help="TensorFlowASR source root: also run the peer encoder")
    p.add_argument("--out", default=os.path.join(ROOT, "benchmarks", "results", "inference.md"))
    p.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    p.add_argument("--worker-model", default=None, help=argparse.SUPPRESS)
    return p.parse_args(argv)


def real_audio(seconds: float) -> np.ndarray:
    """``seconds`` of LibriSpeech at 16 kHz (utterances concatenated in name order)."""
    import soundfile

    folder = os.path.join(DATA, "librispeech_audio")
    paths = sorted(os.path.join(r, f) for r, _, fs in os.walk(folder) for f in fs if f.endswith(".flac"))
    if not paths:
        raise SystemExit(f"no LibriSpeech audio under {folder} (set TF_CONTEXTNET_SHARED_DATA)")
    need, parts = int(seconds * 16000), []
    for path in paths:
        parts.append(soundfile.read(path, dtype="float32")[0])
        if sum(map(len, parts)) >= need:
            break
    return np.concatenate(parts)[:need]


def build_model_directory(args, folder: str, silent: bool = False) -> str:
    """An untrained model directory of ``--preset``; ``silent``: the joint's blank bias raised by 1e4,
    so that greedy decoding emits nothing (module doc)."""
    import keras

    from tf_contextnet.features import LogMelSpectrogram, PerUtteranceNormalization
    from tf_contextnet.inference import save_model_directory
    from tf_contextnet.models import ContextNetTransducer
    from tf_contextnet.text import CharacterTokenizer

    keras.utils.set_random_seed(0)
    symbols = [chr(c) for c in range(0x4E00, 0x4E00 + args.vocabulary_size - 1)]  # V - 1 distinct tokens
    tokenizer = CharacterTokenizer(symbols)
    overrides = {} if args.alpha is None else {"alpha": args.alpha}
    model = ContextNetTransducer.from_preset(args.preset, tokenizer.vocabulary_size, **overrides)
    if silent:
        from tf_contextnet.models import transducer_parts

        bias = transducer_parts(model).joint_network.output_projection.bias
        bias.assign(bias.numpy() + np.eye(1, bias.shape[0], 0, dtype=np.float32)[0] * 1e4)  # blank is id 0
    save_model_directory(folder, model, tokenizer, feature_extractor=LogMelSpectrogram(),
                         normalization=PerUtteranceNormalization())
    return folder


def wav_bytes(audio: np.ndarray) -> bytes:
    import io

    import soundfile

    buffer = io.BytesIO()
    soundfile.write(buffer, audio, 16000, subtype="PCM_16", format="WAV")
    return buffer.getvalue()


def peak_rss_mib() -> float:
    """This process's peak RSS: VmHWM (Linux), else ``ru_maxrss``. On Linux ``ru_maxrss`` keeps the
    parent's high-water mark across fork + exec (the parent here held the export), VmHWM does not."""
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def run_worker(args) -> dict:
    """Time one backend in this process; returns rows of measurements."""
    backend = args.worker
    audio = np.load(os.path.join(args.work, "audio.npy"))
    work = os.path.join(args.work, args.worker_model)
    seconds = audio.size / 16000
    rows = []

    def measure(batch, fn, count):
        """``fn()`` timed; ``count(fn())``: tokens emitted for the first utterance."""
        times = call_times(fn, args.warmup, args.repeats)
        rows.append({"backend": backend, "batch": batch, "p50": float(np.percentile(times, 50)),
                     "p90": float(np.percentile(times, 90)), "audio_s": seconds * batch,
                     "tokens": int(count(fn()))})

    if backend == "keras":
        import tensorflow as tf

        tf.config.threading.set_intra_op_parallelism_threads(args.threads)
        from tf_contextnet.decoding import greedy_decode
        from tf_contextnet.inference import load_model_directory, waveform_features

        loaded = load_model_directory(os.path.join(work, "model"))

        @tf.function(input_signature=[tf.TensorSpec([None, None], tf.float32), tf.TensorSpec([None], tf.int32)])
        def transcribe(waveform, lengths):
            features, frames = waveform_features(loaded, waveform, lengths)
            tokens, token_lengths = greedy_decode(loaded.model, features, frames, 4)
            return loaded.tokenizer.detokenizer(tokens), token_lengths

        for batch in (1, args.batch):
            wave, lengths = np.repeat(audio[None], batch, 0), np.full([batch], audio.size, np.int32)
            measure(batch, lambda: [t.numpy() for t in transcribe(wave, lengths)], lambda out: out[1][0])
        size = os.path.getsize(os.path.join(work, "model", "model.keras"))
    elif backend == "savedmodel":
        import tensorflow as tf

        tf.config.threading.set_intra_op_parallelism_threads(args.threads)
        serve = tf.saved_model.load(os.path.join(work, "export", "saved_model", "1")).signatures["serving_default"]
        contents = wav_bytes(audio)
        for batch in (1, args.batch):
            request = tf.constant([contents] * batch)
            measure(batch, lambda: {k: v.numpy() for k, v in serve(audio=request).items()},
                    lambda out: out["token_lengths"][0])
        folder = os.path.join(work, "export", "saved_model", "1")
        size = sum(os.path.getsize(os.path.join(r, f)) for r, _, fs in os.walk(folder) for f in fs)
    else:
        from ai_edge_litert.interpreter import Interpreter

        path = os.path.join(work, "export", TFLITE_FILES[backend])
        runner = Interpreter(model_path=path, num_threads=args.threads).get_signature_runner("transcribe")
        measure(1, lambda: runner(waveform=audio[None]), lambda out: out["num_tokens"])
        size = os.path.getsize(path)
    for row in rows:
        row.update(peak_rss_mib=peak_rss_mib(), size_mb=size / 1e6)
    return {"rows": rows}


def table(rows: list[dict], args, note: str) -> str:
    lines = [f"# Inference: WAV → text, {args.seconds:g} s of LibriSpeech, {args.threads} threads", "",
             note, "", "| backend | model | batch | tokens | RTF | p50 ms | p90 ms | peak RSS MiB | size MB |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['backend']} | {r['model']} | {r['batch']} | {r['tokens']} | "
                     f"{r['p50'] / r['audio_s']:.4f} | {1000 * r['p50']:.1f} | {1000 * r['p90']:.1f} | "
                     f"{r['peak_rss_mib']:.0f} | {r['size_mb']:.2f} |")
    costs = token_costs(rows, target_rtf=0.01)
    if costs:
        lines += ["", f"Batch 1, linear in the tokens emitted: fixed cost (emits none), cost per emitted token, "
                  f"and the most tokens per {args.seconds:g} s that keep RTF <= 0.01.", "",
                  "| backend | fixed ms | fixed RTF | ms per token | tokens for RTF 0.01 |", "|---|---|---|---|---|"]
        for c in costs:
            lines.append(f"| {c['backend']} | {1000 * c['fixed']:.1f} | {c['fixed'] / c['audio_s']:.4f} | "
                         f"{1000 * c['per_token']:.3f} | {c['tokens_at_target']} |")
    return "\n".join(lines) + "\n"


def token_costs(rows: list[dict], target_rtf: float) -> list[dict]:
    """Per backend at batch 1, from its ``none`` and ``cap`` rows: ``fixed`` seconds (no token),
    ``per_token`` seconds, and ``tokens_at_target``: the most tokens per utterance with RTF <= target
    (0 when even the fixed cost exceeds it)."""
    by_model = {(r["backend"], r["model"]): r for r in rows if r["batch"] == 1}
    costs = []
    for backend in dict.fromkeys(r["backend"] for r in rows):
        none, cap = by_model.get((backend, "none")), by_model.get((backend, "cap"))
        if none is None or cap is None or cap["tokens"] <= none["tokens"]:
            continue
        per_token = max(cap["p50"] - none["p50"], 0.0) / (cap["tokens"] - none["tokens"])
        budget = target_rtf * none["audio_s"] - none["p50"]
        tokens = 0 if budget <= 0 else (int(budget / per_token) if per_token > 0 else cap["tokens"])
        costs.append({"backend": backend, "fixed": none["p50"], "audio_s": none["audio_s"], "per_token": per_token,
                      "tokens_at_target": tokens})
    return costs


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.worker:
        print(json.dumps(run_worker(args)))
        return 0
    backends = [b for b in args.backends.split(",") if b]
    with tempfile.TemporaryDirectory() as tmp:
        work = args.work or tmp
        args.work = work
        models = ["trained"] if args.model else (["none", "cap"] if args.emission == "both" else [args.emission])
        for name in models:
            folder = os.path.join(work, name)
            if not os.path.isdir(os.path.join(folder, "model")):
                os.makedirs(folder, exist_ok=True)
                if args.model:
                    os.symlink(os.path.abspath(args.model), os.path.join(folder, "model"))
                else:
                    build_model_directory(args, os.path.join(folder, "model"), silent=name == "none")
            if not os.path.isfile(os.path.join(folder, "export", "manifest.json")):
                from tf_contextnet.serving.export_model import export_model

                variants = [b.split("_", 1)[1] for b in backends if b.startswith("tflite_")]
                export_model(os.path.join(folder, "model"), os.path.join(folder, "export"), tflite=variants)
        np.save(os.path.join(work, "audio.npy"), real_audio(args.seconds))
        rows = []
        for backend in backends:
            for name in models:
                command = [sys.executable, os.path.abspath(__file__), "--worker", backend, "--work", work,
                           "--worker-model", name, "--repeats", str(args.repeats), "--warmup", str(args.warmup),
                           "--threads", str(args.threads), "--batch", str(args.batch), "--seconds", str(args.seconds)]
                result = subprocess.run(command, capture_output=True, text=True, check=False)
                if result.returncode != 0:
                    raise SystemExit(f"{backend} ({name}) failed:\n{result.stderr[-3000:]}")
                rows += [{**row, "model": name} for row in json.loads(result.stdout.strip().splitlines()[-1])["rows"]]
        model = ("untrained " + args.preset + (f" alpha {args.alpha}" if args.alpha else "") +
                 " (cap: as built; none: blank always wins)") if not args.model else args.model
        note = (f"Model: {model}, V = {args.vocabulary_size}; median of {args.repeats} calls after {args.warmup} "
                f"warm-up calls, one process per backend (peak RSS = VmHWM of that process). RTF = p50 / "
                f"audio seconds (batch x {args.seconds:g} s). Compare figures only within this table.")
        text = table(rows, args, note)
        if args.tfasr:
            peers_out = os.path.join(work, "peers.md")
            # Our encoder beside TensorFlowASR's (benchmarks/peers_candidate.py), the same script and run.
            subprocess.run([sys.executable, PEERS, "--tfasr", args.tfasr, "--no-warprnnt", "--threads",
                            str(args.threads), "--repeats", str(args.repeats), "--candidate-path", ROOT,
                            "--candidate", "mine=benchmarks.peers_candidate:build_small", "--out", peers_out],
                           check=True)
            with open(peers_out, encoding="utf-8") as f:
                text += "\n## TensorFlowASR ContextNet-S in the same run (../shared/bench/contextnet_peers.py)\n\n" + f.read()
        publish(text, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
