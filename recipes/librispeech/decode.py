#!/usr/bin/env python3
"""Decode LibriSpeech dev/test clean/other with a trained ContextNet and report WER (``contextnet evaluate``'s code).

Usage:
    python recipes/librispeech/decode.py --model exp/contextnet_s --data data/librispeech \
        [--splits dev-clean,dev-other,test-clean,test-other] [--batch-size 16]

Reads the model directory MODEL (written by train.py or ``contextnet train``) and
DATA/tfrecords/<split>/ (written by prepare.sh); prints a markdown table of WER per split and
writes it to MODEL/results.md, with per-utterance results and an icefall-style errs file in
MODEL/decode/<split>/. References are the raw transcripts of the records (normalised like the
hypotheses); no utterance is skipped. ``--beam N`` uses modified beam search, ``--lm DIR --lm-weight λ
--length-bonus β`` adds shallow fusion with an LSTM LM (``contextnet lm-train``, ``contextnet tune-fusion``).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tf_contextnet.cli.quiet_start import import_tensorflow_quietly  # noqa: E402

# TensorFlow's C++ start-up lines stay off the terminal (TF_CONTEXTNET_TF_LOGS=1 shows them).
import_tensorflow_quietly()

SPLITS = "dev-clean,dev-other,test-clean,test-other"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, required=True, help="model directory written by train.py")
    parser.add_argument("--data", type=Path, required=True, help="the --out folder of prepare.sh")
    parser.add_argument("--splits", default=SPLITS, help="comma-separated TFRecord folders to decode")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--max-symbols-per-frame", type=int, default=4)
    parser.add_argument("--beam", type=int, default=1, help="beam size (1: greedy)")
    parser.add_argument("--lm", type=Path, default=None, help="LM directory (`contextnet lm-train`) for shallow fusion")
    parser.add_argument("--lm-weight", type=float, default=0.0)
    parser.add_argument("--length-bonus", type=float, default=0.0)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    splits = [s for s in args.splits.split(",") if s]
    missing = [s for s in splits if not (args.data / "tfrecords" / s).is_dir()]
    if missing:
        print(f"error: TFRecord folder(s) missing under {args.data / 'tfrecords'}: {', '.join(missing)}; "
              "run prepare.sh first", file=sys.stderr)
        return 2
    from tf_contextnet.decoding.language_model_directory import load_language_model
    from tf_contextnet.inference import load_model_directory
    from tf_contextnet.inference.evaluate import evaluate, make_decoder, utterances_from_records

    try:
        loaded = load_model_directory(args.model)
        lm = None if args.lm is None else load_language_model(args.lm, loaded.tokenizer)
    except (FileNotFoundError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    decode, decoder = make_decoder(loaded.model, args.beam, args.max_symbols_per_frame, lm, args.lm_weight,
                                   args.length_bonus)
    rows = []
    for split in splits:
        records = args.data / "tfrecords" / split
        report = evaluate(loaded, utterances_from_records(records), decode, records=records,
                          batch_size=args.batch_size, decoder_name=decoder, name=split)
        report.write(args.model / "decode" / split)
        print(report.format())
        rows.append(f"| {split} | {len(report.results)} | {100 * report.words.rate:.2f} | "
                    f"{100 * report.characters.rate:.2f} | {100 * report.sentences.rate:.2f} | "
                    f"{len(report.unrepresentable)} |")
    table = "\n".join([f"| split | utterances | WER % ({decoder}) | CER % | SER % | unrepresentable |",
                       "|---|---|---|---|---|---|", *rows])
    (args.model / "results.md").write_text(table + "\n", encoding="utf-8")
    print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
