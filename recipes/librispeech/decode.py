#!/usr/bin/env python3
"""Greedy-decode LibriSpeech dev/test clean/other with a trained ContextNet and report WER.

Usage:
    python recipes/librispeech/decode.py --model exp/contextnet_s --data data/librispeech \
        [--splits dev-clean,dev-other,test-clean,test-other] [--batch-size 16]

Reads the model directory MODEL (written by train.py or ``contextnet train``) and
DATA/tfrecords/<split>/ (written by prepare.sh); prints a markdown table of WER per split and
writes it to MODEL/results.md, with the per-utterance hypotheses in MODEL/decode/<split>.tsv.
No language model (the paper's "no LM" column).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

SPLITS = "dev-clean,dev-other,test-clean,test-other"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, required=True, help="model directory written by train.py")
    parser.add_argument("--data", type=Path, required=True, help="the --out folder of prepare.sh")
    parser.add_argument("--splits", default=SPLITS, help="comma-separated TFRecord folders to decode")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--max-symbols-per-frame", type=int, default=4)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    splits = [s for s in args.splits.split(",") if s]
    missing = [s for s in splits if not (args.data / "tfrecords" / s).is_dir()]
    if missing:
        print(f"error: TFRecord folder(s) missing under {args.data / 'tfrecords'}: {', '.join(missing)}; "
              "run prepare.sh first", file=sys.stderr)
        return 2
    from tf_contextnet.data import make_dataset
    from tf_contextnet.decoding import make_greedy_decoder
    from tf_contextnet.metrics import character_errors, word_errors
    from tf_contextnet.inference import load_model_directory, transcribe_dataset

    try:
        loaded = load_model_directory(args.model)
    except (FileNotFoundError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    decode = make_greedy_decoder(loaded.model, args.max_symbols_per_frame)
    rows = []
    (args.model / "decode").mkdir(parents=True, exist_ok=True)
    for split in splits:
        dataset = make_dataset(args.data / "tfrecords" / split, loaded.tokenizer, args.batch_size, shuffle=False,
                               feature_extractor=loaded.feature_extractor, normalization=loaded.normalization,
                               on_unknown="skip")
        references, hypotheses = transcribe_dataset(decode, dataset, loaded.tokenizer)
        wer, cer = word_errors(references, hypotheses), character_errors(references, hypotheses)
        rows.append(f"| {split} | {len(references)} | {100 * wer.rate:.2f} | {100 * cer.rate:.2f} |")
        (args.model / "decode" / f"{split}.tsv").write_text(
            "reference\thypothesis\n" + "".join(f"{r}\t{h}\n" for r, h in zip(references, hypotheses)),
            encoding="utf-8")
    table = "\n".join(["| split | utterances | WER % (greedy, no LM) | CER % |", "|---|---|---|---|", *rows])
    (args.model / "results.md").write_text(table + "\n", encoding="utf-8")
    print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
