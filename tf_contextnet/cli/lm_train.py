"""``contextnet lm-train --text FILE... --out DIR``: an LSTM LM over a model's token ids, for shallow fusion."""

from __future__ import annotations

import argparse
import math
import sys


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``lm-train`` subcommand."""
    p = subparsers.add_parser(
        "lm-train", help="train an LSTM language model for shallow fusion in beam search",
        description="Train an LSTM LM over the acoustic model's token ids (blank 0 as start symbol, an end-of-"
                    "sentence symbol) on FILEs: plain text (one sentence per line) or .tsv/.jsonl manifests "
                    "(their transcripts). Lines the tokenizer cannot represent are left out and counted. Shows a "
                    "progress bar and the held-out perplexity per epoch; re-running resumes (a larger --epochs "
                    "trains further). The paper's LM is 3 layers of 4096 (the defaults); use smaller ones for "
                    "small corpora.")
    p.add_argument("--text", nargs="+", required=True, metavar="FILE", help="training text or manifests")
    p.add_argument("--out", required=True, help="output language-model directory")
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("--model", help="the acoustic model directory whose tokenizer defines the ids")
    source.add_argument("--tokenizer", help="a tokenizer directory (`contextnet tokenizer --out`)")
    p.add_argument("--held-out", nargs="+", default=None, metavar="FILE",
                   help="held-out text for perplexity (default: --held-out-fraction of --text)")
    p.add_argument("--held-out-fraction", type=float, default=0.05)
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--learning-rate", type=float, default=1e-3)
    p.add_argument("--embedding-dim", type=int, default=512)
    p.add_argument("--units", type=int, default=4096)
    p.add_argument("--layers", type=int, default=3)
    p.add_argument("--dropout", type=float, default=0.0)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--quiet", action="store_true", help="one line per epoch instead of a progress bar")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Train, print the held-out perplexity; exit 2 (reason on stderr) on bad input."""
    import os

    from tf_contextnet.decoding.language_model_training import read_text_lines, train_language_model
    from tf_contextnet.text import load_tokenizer

    try:
        tokenizer = load_tokenizer(os.path.join(args.model, "tokenizer") if args.model else args.tokenizer)
        lines = read_text_lines(args.text)
        held_out = read_text_lines(args.held_out) if args.held_out else None
        info = train_language_model(lines, tokenizer, args.out, epochs=args.epochs, batch_size=args.batch_size,
                                    learning_rate=args.learning_rate, embedding_dim=args.embedding_dim,
                                    units=args.units, num_layers=args.layers, dropout=args.dropout,
                                    held_out_fraction=args.held_out_fraction, held_out_lines=held_out,
                                    seed=args.seed, verbose=2 if args.quiet else 1)
    except (FileNotFoundError, ValueError) as error:
        print(f"contextnet lm-train: {error}", file=sys.stderr)
        return 2
    ppl = info.get("held_out_perplexity", float("nan"))
    print(f"language model in {args.out}: {info['sentences']} training sentences, {info['skipped_lines']} lines left "
          f"out, held-out perplexity {ppl:.3f}" + ("" if math.isfinite(ppl) else " (no held-out text)"))
    return 0
