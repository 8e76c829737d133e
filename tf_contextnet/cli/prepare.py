"""``contextnet prepare``: a manifest or a LibriSpeech folder → sharded 16 kHz TFRecords."""

from __future__ import annotations

import argparse
import sys


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``prepare`` subcommand."""
    parser = subparsers.add_parser(
        "prepare", help="turn a manifest or a LibriSpeech folder into sharded TFRecords",
        description="Read every utterance of SOURCE (a .tsv/.jsonl manifest, or a LibriSpeech folder "
                    "<split>/<speaker>/<chapter>/*.flac + *.trans.txt), resample to 16 kHz and write int16 "
                    "PCM + transcript to OUTPUT/<name>-*.tfrecord. Resumable: re-running skips finished "
                    "shards. Skipped utterances are counted per reason and listed in OUTPUT/skipped.tsv.")
    parser.add_argument("source", help="manifest file (.tsv or .jsonl) or LibriSpeech folder")
    parser.add_argument("output", help="output folder")
    parser.add_argument("--name", default="data", help="shard file prefix (default: data)")
    parser.add_argument("--shard-size", type=int, default=256, help="utterances per shard (default: 256)")
    parser.add_argument("--workers", type=int, default=2, help="parallel processes (default: 2)")
    parser.add_argument("--max-duration", type=float, default=None, help="skip utterances longer (seconds)")
    parser.add_argument("--max-transcript-length", type=int, default=None,
                        help="skip transcripts longer than this many characters")
    parser.add_argument("--allowed-characters", default=None,
                        help="skip transcripts with characters outside this string")
    parser.add_argument("--keep-case", action="store_true", help="do not lower-case LibriSpeech transcripts")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Prepare and print the summary; exit code 0, 1 when nothing was written, 2 for bad input."""
    from tf_contextnet.data import PrepareOptions, prepare

    options = PrepareOptions(max_duration=args.max_duration, max_transcript_length=args.max_transcript_length,
                             allowed_characters=args.allowed_characters)
    try:
        summary = prepare(args.source, args.output, name=args.name, shard_size=args.shard_size,
                          num_workers=args.workers, options=options, lowercase=not args.keep_case,
                          progress=not args.no_progress)
    except (FileNotFoundError, ValueError) as error:
        print(f"contextnet prepare: error: {error}", file=sys.stderr)
        return 2
    print(summary.format())
    return 0 if summary.utterances else 1
