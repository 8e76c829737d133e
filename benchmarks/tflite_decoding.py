"""TFLite ``transcribe`` latency against the emission rate: the greedy loop's cost depends on how many
tokens the model emits, which an untrained benchmark model does not show.

One untrained ContextNet (``--preset``, ``--vocabulary-size``; built as ``benchmarks/inference.py``
builds it) in three decoder settings, on the same ``--seconds`` of LibriSpeech:

- ``untrained``: as built; its joint emits ``max_symbols_per_frame`` (4) tokens on every encoder
  frame, the worst case (4 T' emitting steps + T' blank steps);
- ``trained-like``: batch-norm statistics recomputed on other LibriSpeech clips (so the encoder
  output depends on the audio), the joint's output kernel scaled by 20 and its blank bias raised
  until Keras greedy decoding emits about ``--target-tokens`` tokens (a V = 1024 subword model
  emits roughly 3-4 tokens per second of speech): mostly blank steps;
- ``all-blank``: ``trained-like`` with the blank bias raised by 50: no token, the floor (front
  end, encoder, T' joint evaluations).

Each is exported in ``--variants`` and timed with LiteRT (``--threads``, median of ``--repeats``
after ``--warmup`` calls). With ``--baseline FILE`` (a ``tflite_export.py`` of another revision,
e.g. ``git show REV:tf_contextnet/serving/tflite_export.py > /tmp/base.py``) the same models are
also exported with it and timed interleaved with this revision's files, call by call.

    .venv/bin/python benchmarks/tflite_decoding.py --out benchmarks/results/tflite_decoding.md
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_timing import publish  # noqa: E402
from inference import DATA, ROOT, build_model_directory, real_audio  # noqa: E402

SETTINGS = ("untrained", "trained-like", "all-blank")


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--preset", default="contextnet_s")
    p.add_argument("--alpha", type=float, default=None, help="override the preset's width (smoke runs)")
    p.add_argument("--vocabulary-size", type=int, default=1024)
    p.add_argument("--seconds", type=float, default=10.0)
    p.add_argument("--target-tokens", type=int, default=35)
    p.add_argument("--variants", default="float,fp16,dynamic")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--repeats", type=int, default=9)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--baseline", default=None, help="tflite_export.py of another revision to time against")
    p.add_argument("--work", default=None, help="folder for models and files (default: a temporary one)")
    p.add_argument("--out", default=os.path.join(ROOT, "benchmarks", "results", "tflite_decoding.md"))
    return p.parse_args(argv)


def _greedy_count(loaded, encoded, lengths) -> int:
    from tf_contextnet.decoding.greedy import greedy_decode_encoded

    parts = loaded.model.parts()
    return int(greedy_decode_encoded(encoded, lengths, parts.prediction_network, parts.joint_network, 4)[1][0])


def _recompute_statistics(loaded, seconds: float = 4.0, clips: int = 32) -> None:
    """Batch-norm statistics from the last ``clips`` LibriSpeech files (the benchmark audio is the first)."""
    import soundfile
    import tensorflow as tf

    from tf_contextnet.inference import waveform_features
    from tf_contextnet.training.batch_norm_statistics import recompute_batch_norm_statistics

    folder = os.path.join(DATA, "librispeech_audio")
    paths = sorted(os.path.join(r, f) for r, _, fs in os.walk(folder) for f in fs if f.endswith(".flac"))[-clips:]
    size = int(16000 * seconds)
    waves = [np.pad(w[:size], (0, max(0, size - w.size))) for w in
             (soundfile.read(p, dtype="float32")[0] for p in paths)]
    batches = []
    for i in range(0, len(waves), 8):
        features, lengths = waveform_features(loaded, tf.constant(np.stack(waves[i:i + 8])),
                                              tf.fill([len(waves[i:i + 8])], size))
        batches.append({"features": features, "feature_lengths": lengths})

    class Batches:
        def take(self, count):
            return batches[:count]

    recompute_batch_norm_statistics(loaded.model, Batches(), len(batches))


def build_settings(args, work: str, audio: np.ndarray) -> dict[str, dict]:
    """The three model directories (module doc) → {"path", "keras_tokens"}."""
    import tensorflow as tf

    from tf_contextnet.inference import load_model_directory, save_model_directory, waveform_features

    untrained = os.path.join(work, "untrained")
    build_model_directory(args, untrained)
    loaded = load_model_directory(untrained)
    features, lengths = waveform_features(loaded, tf.constant(audio[None]), tf.constant([audio.size]))
    settings = {"untrained": {"path": untrained,
                              "keras_tokens": _greedy_count(loaded, *loaded.model.transcribe(features, lengths))}}
    _recompute_statistics(loaded)
    encoded, encoded_lengths = loaded.model.transcribe(features, lengths, training=False)
    output = loaded.model.parts().joint_network.output_projection
    output.kernel.assign(output.kernel.numpy() * 20.0)
    original = output.bias.numpy()

    def emitted(offset: float) -> int:
        bias = original.copy()
        bias[0] += offset
        output.bias.assign(bias)
        return _greedy_count(loaded, encoded, encoded_lengths)

    low, high = -100.0, 100.0  # emitted(low) > target > emitted(high)
    for _ in range(40):
        offset = (low + high) / 2
        count = emitted(offset)
        if abs(count - args.target_tokens) <= 0.1 * args.target_tokens:
            break
        low, high = (offset, high) if count > args.target_tokens else (low, offset)
    for name, extra in (("trained-like", 0.0), ("all-blank", 50.0)):
        count = emitted(offset + extra)
        path = os.path.join(work, name)
        save_model_directory(path, loaded.model, loaded.tokenizer, feature_extractor=loaded.feature_extractor,
                             normalization=loaded.normalization, decoding=loaded.config.get("decoding"))
        settings[name] = {"path": path, "keras_tokens": count}
    settings["frames"] = int(encoded_lengths[0])
    return settings


def _load_module(path: str, name: str):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def time_files(files: dict[str, str], audio: np.ndarray, args) -> dict[str, dict]:
    """Interleaved timing of the ``transcribe`` signature of each file (label → file)."""
    from ai_edge_litert.interpreter import Interpreter

    runners = {label: Interpreter(model_path=path, num_threads=args.threads).get_signature_runner("transcribe")
               for label, path in files.items()}
    results = {label: {"times": [], "tokens": None} for label in files}

    def call(label):
        try:
            results[label]["tokens"] = int(runners[label](waveform=audio[None])["num_tokens"])
        except ValueError:  # older exports: LiteRT's Python API cannot read an empty output
            results[label]["tokens"] = "0 (unreadable)"

    for label in files:
        for _ in range(args.warmup):
            call(label)
    for _ in range(args.repeats):
        for label in files:
            start = time.perf_counter()
            call(label)
            results[label]["times"].append(time.perf_counter() - start)
    return results


def _head() -> str:
    """This checkout's commit (short hash), or "?" outside git."""
    import subprocess

    result = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                            check=False)
    return result.stdout.strip() or "?"


def main(argv=None) -> int:
    args = parse_args(argv)
    from tf_contextnet.inference import load_model_directory
    from tf_contextnet.serving import tflite_export

    revisions = {"this": tflite_export}
    if args.baseline:
        revisions = {"baseline": _load_module(args.baseline, "baseline_tflite_export"), **revisions}
    variants = tuple(v for v in args.variants.split(",") if v)
    with tempfile.TemporaryDirectory() as tmp:
        work = args.work or tmp
        audio = real_audio(args.seconds)
        settings = build_settings(args, work, audio)
        rows = []
        for name in SETTINGS:
            loaded = load_model_directory(settings[name]["path"])
            files = {}
            for revision, module in revisions.items():
                written = module.export_tflite(loaded, os.path.join(work, f"{name}_{revision}_{{variant}}.tflite"),
                                               variants, max_symbols_per_frame=4)
                files.update({(revision, v): p for v, p in written.items()})
            for variant in variants:
                chosen = {revision: files[(revision, variant)] for revision in revisions}
                for revision, result in time_files(chosen, audio, args).items():
                    p50 = float(np.median(result["times"]))
                    rows.append(f"| {name} | {settings[name]['keras_tokens']} | {result['tokens']} | {variant} | "
                                f"{revision} | {1000 * p50:.1f} | {p50 / args.seconds:.4f} | "
                                f"{os.path.getsize(chosen[revision])} |")
    model = f"untrained {args.preset}" + (f" alpha {args.alpha}" if args.alpha else "")
    text = "\n".join([
        f"# TFLite `transcribe` against the emission rate: {args.seconds:g} s of LibriSpeech, {args.threads} threads",
        "", f"Model: {model}, V = {args.vocabulary_size}, {settings['frames']} encoder frames, at most 4 symbols per "
        f"frame; settings as in benchmarks/tflite_decoding.py's docstring (untrained = worst case, every frame "
        f"emits 4 tokens). Median of {args.repeats} calls after {args.warmup} warm-up calls, revisions timed "
        f"interleaved call by call in one process. Compare figures only within this table.", "",
        *([f"Revisions: this = the working tree at {_head()}; baseline = {os.path.basename(args.baseline)}.", ""]
          if args.baseline else []),
        "| setting | Keras tokens | TFLite tokens | variant | revision | p50 ms | RTF | file bytes |",
        "|---|---|---|---|---|---|---|---|", *rows])
    publish(text + "\n", args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
