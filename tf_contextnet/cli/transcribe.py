"""``contextnet transcribe --model DIR FILE...``: greedy transcription of audio files (any rate, WAV/FLAC/...)."""

from __future__ import annotations

import argparse
import sys


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``transcribe`` subcommand."""
    p = subparsers.add_parser(
        "transcribe", help="transcribe audio files with a trained model directory",
        description="Load DIR (written by `contextnet train --out DIR`: model.keras, tokenizer/, config.json), "
                    "read each FILE (WAV, FLAC, OGG, ...; any sample rate, resampled to the model's), and print "
                    "`FILE<TAB>transcript` per file, decoded greedily.")
    p.add_argument("--model", required=True, help="trained model directory")
    p.add_argument("files", nargs="+", metavar="FILE", help="audio files")
    p.add_argument("--max-symbols-per-frame", type=int, default=None,
                   help="greedy decoder's per-frame symbol cap (default: the model's config)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Print ``FILE<TAB>transcript`` per file; exit code 1 (reason on stderr) when a file cannot be read."""
    from tf_contextnet.features import AudioError
    from tf_contextnet.inference import load_model_directory, transcribe_file

    try:
        loaded = load_model_directory(args.model)
    except (FileNotFoundError, ValueError) as error:
        print(f"contextnet transcribe: {error}", file=sys.stderr)
        return 2
    cap = args.max_symbols_per_frame or int(loaded.config.get("decoding", {}).get("max_symbols_per_frame", 4))
    status = 0
    for path in args.files:
        try:
            print(f"{path}\t{transcribe_file(loaded, path, cap)}", flush=True)
        except AudioError as error:
            print(f"contextnet transcribe: {error}", file=sys.stderr)
            status = 1
    return status
