"""``contextnet evaluate --model DIR --manifest FILE``: WER/CER/SER/RTF against the raw transcripts."""

from __future__ import annotations

import argparse
import os
import sys


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``evaluate`` subcommand."""
    p = subparsers.add_parser(
        "evaluate", help="score a trained model on a manifest (WER, CER, S/D/I, SER, RTF, per speaker)",
        description="Decode every utterance of FILE (a .tsv/.jsonl manifest; audio from its files, or from "
                    "--records by utterance id) with the model directory DIR and score it against the manifest's "
                    "raw transcript after one normaliser (lower-case, punctuation but apostrophes removed) applied "
                    "to reference and hypothesis alike. No utterance is dropped: those the tokenizer cannot "
                    "represent are scored, counted and listed. Writes results.jsonl, errs.txt (icefall-style) and "
                    "summary.json into --out.")
    p.add_argument("--model", required=True, help="trained model directory")
    p.add_argument("--manifest", default=None, help="manifest with the raw transcripts (and speakers)")
    p.add_argument("--records", default=None,
                   help="TFRecord folder written by `contextnet prepare` holding the audio (alone: its transcripts "
                        "are the references)")
    p.add_argument("--out", default=None, help="output folder (default: DIR/eval/<manifest name>[-beamN][-lm])")
    p.add_argument("--beam", type=int, default=1, help="beam size (1: greedy search)")
    p.add_argument("--lm", default=None, help="language-model directory written by `contextnet lm-train`")
    p.add_argument("--lm-weight", type=float, default=None,
                   help="shallow-fusion weight λ of the LM (required with --lm; `contextnet tune-fusion` picks one)")
    p.add_argument("--length-bonus", type=float, default=0.0, help="shallow-fusion reward β per emitted token")
    p.add_argument("--max-symbols-per-frame", type=int, default=None,
                   help="at most this many labels per encoder frame, in greedy and in beam search (default: "
                        "the model's config, 4 for the recipes' models; 1 is the classic one-symbol-per-frame "
                        "modified beam search)")
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--keep-case", action="store_true", help="do not lower-case before scoring")
    p.add_argument("--keep-punctuation", action="store_true", help="do not remove punctuation before scoring")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def default_out(args: argparse.Namespace) -> str:
    """``DIR/eval/<name>[-beamN][-lm]``."""
    source = args.manifest if args.manifest is not None else args.records
    name = os.path.splitext(os.path.basename(os.path.normpath(source)))[0]
    if args.beam > 1 or args.lm:
        name += f"-beam{args.beam}"
    if args.lm:
        name += f"-lm{args.lm_weight:g}"
    return os.path.join(args.model, "eval", name)


def run(args: argparse.Namespace) -> int:
    """Print the report; exit 2 (reason on stderr) on bad input."""
    if args.manifest is None and args.records is None:
        print("contextnet evaluate: give --manifest FILE, --records DIR, or both", file=sys.stderr)
        return 2
    if (args.lm is None) != (args.lm_weight is None):
        print("contextnet evaluate: --lm DIR and --lm-weight λ go together (`contextnet tune-fusion` picks λ and "
              "--length-bonus on a dev set)", file=sys.stderr)
        return 2
    from tf_contextnet.features import AudioError
    from tf_contextnet.inference import load_model_directory
    from tf_contextnet.inference.evaluate import evaluate_manifest
    from tf_contextnet.text import TextNormalizer

    try:
        loaded = load_model_directory(args.model)
        cap = args.max_symbols_per_frame or int(loaded.config.get("decoding", {}).get("max_symbols_per_frame", 4))
        out = args.out or default_out(args)
        report = evaluate_manifest(loaded, args.manifest, records=args.records, beam_size=args.beam,
                                   max_symbols_per_frame=cap, language_model=args.lm, lm_weight=args.lm_weight or 0.0,
                                   length_bonus=args.length_bonus, batch_size=args.batch_size,
                                   normalizer=TextNormalizer(lowercase=not args.keep_case,
                                                             remove_punctuation=not args.keep_punctuation),
                                   out=out, progress=not args.quiet)
    except (FileNotFoundError, ValueError, AudioError) as error:
        print(f"contextnet evaluate: {error}", file=sys.stderr)
        return 2
    print(report.format())
    print(f"results: {out}/results.jsonl, {out}/errs.txt, {out}/summary.json")
    return 0
