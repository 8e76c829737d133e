"""``contextnet export --model DIR --out OUT``: SavedModel for TF Serving (+ TFLite) from a trained model."""

from __future__ import annotations

import argparse
import sys


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``export`` subcommand."""
    p = subparsers.add_parser(
        "export", help="export a trained model directory for TF Serving and TFLite",
        description="Write OUT/saved_model/<N>/ (TF Serving layout, core TensorFlow ops only, signatures "
                    "serving_default [WAV bytes -> transcript], transcribe_waveform, encode, predict_step, join; "
                    "with a warm-up request), OUT/models.config, OUT/tokenizer/, OUT/vocabulary.txt, "
                    "OUT/manifest.json and, with --tflite, builtins-only TFLite files. See docs/serving.md.")
    p.add_argument("--model", required=True, help="trained model directory (contextnet train --out DIR, a recipe)")
    p.add_argument("--out", required=True, help="export directory")
    p.add_argument("--version", type=int, default=1, help="TF Serving version folder under saved_model/ (default 1)")
    p.add_argument("--tflite", default="", metavar="VARIANTS",
                   help="comma-separated TFLite variants to write: float (model.tflite), fp16, dynamic")
    p.add_argument("--max-symbols-per-frame", type=int, default=None,
                   help="greedy decoder's per-frame symbol cap baked into the graphs (default: the model's config)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Export; exit code 2 (reason on stderr) for a bad model directory or option."""
    from tf_contextnet.serving.export_model import export_model, parse_tflite_variants

    try:
        parse_tflite_variants(args.tflite)
        if args.version < 1:
            raise ValueError(f"--version must be >= 1, got {args.version}")
        manifest = export_model(args.model, args.out, version=args.version, tflite=args.tflite,
                                max_symbols_per_frame=args.max_symbols_per_frame)
    except (FileNotFoundError, ValueError) as error:
        print(f"contextnet export: {error}", file=sys.stderr)
        return 2
    print(f"SavedModel: {args.out}/{manifest['saved_model']['path']} "
          f"(signatures: {', '.join(manifest['saved_model']['signatures'])})")
    for variant, name in manifest["tflite"].items():
        print(f"TFLite ({variant}): {args.out}/{name}")
    print(f"TF Serving: tensorflow_model_server --port=8500 --rest_api_port=8501 "
          f"--model_config_file={args.out}/models.config --enable_model_warmup=true")
    return 0
