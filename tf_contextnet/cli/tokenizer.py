"""``contextnet tokenizer``: train a tokenizer on the transcripts of manifests or LibriSpeech folders."""

from __future__ import annotations

import argparse
import sys


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``tokenizer`` subcommand."""
    parser = subparsers.add_parser(
        "tokenizer", help="train a tokenizer (wordpiece, sentencepiece, characters) from transcripts",
        description="Train a tokenizer on the transcripts of SOURCE(s) (manifests or LibriSpeech folders) "
                    "and save it to OUTPUT (tokenizer.json, plus sentencepiece.model for SentencePiece).")
    parser.add_argument("sources", nargs="+", help="manifest files or LibriSpeech folders")
    parser.add_argument("--output", required=True, help="folder to save the tokenizer in")
    parser.add_argument("--kind", choices=["wordpiece", "sentencepiece", "characters"], default="wordpiece")
    parser.add_argument("--vocabulary-size", type=int, default=1000,
                        help="at most this many ids, blank included (default: 1000, as in the paper)")
    parser.add_argument("--model-type", choices=["unigram", "bpe"], default="unigram",
                        help="SentencePiece model type (default: unigram)")
    parser.add_argument("--keep-case", action="store_true", help="do not lower-case LibriSpeech transcripts")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Train, save and print the vocabulary size; exit code 2 for bad input."""
    from tf_contextnet.data.prepare import list_entries
    from tf_contextnet.text import train_tokenizer

    options = {"model_type": args.model_type} if args.kind == "sentencepiece" else {}
    try:
        texts = [e.transcript for source in args.sources for e in list_entries(source, not args.keep_case)[0]]
        tokenizer = train_tokenizer(args.kind, texts, args.vocabulary_size, **options)
    except (FileNotFoundError, ValueError) as error:
        print(f"contextnet tokenizer: error: {error}", file=sys.stderr)
        return 2
    tokenizer.save(args.output)
    print(f"{args.kind} tokenizer with {tokenizer.vocabulary_size} ids (blank included) trained on "
          f"{len(texts)} transcripts, saved to {args.output}")
    return 0
