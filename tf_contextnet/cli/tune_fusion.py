"""``contextnet tune-fusion``: grid search of the LM weight λ and length bonus β on a dev set.

The encoder runs once per utterance; every (λ, β) then re-runs only the beam search on the cached
encoder outputs, scored against the raw transcripts like ``contextnet evaluate``. The table (one
row per pair, λ = 0 β = 0 included as the no-LM baseline) goes to ``OUT/fusion.tsv`` and
``OUT/fusion.md``, the best pair (lowest WER, then CER, then the smaller λ) to ``OUT/best.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Sequence


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``tune-fusion`` subcommand."""
    p = subparsers.add_parser(
        "tune-fusion", help="grid-search the shallow-fusion LM weight and length bonus on a dev set",
        description=__doc__.split("\n\n", 1)[1], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", required=True, help="trained model directory")
    p.add_argument("--lm", required=True, help="language-model directory (`contextnet lm-train --out`)")
    p.add_argument("--manifest", default=None, help="dev manifest (raw transcripts)")
    p.add_argument("--records", default=None, help="TFRecord folder with the dev audio (alone: its transcripts)")
    p.add_argument("--beam", type=int, default=8)
    p.add_argument("--max-symbols-per-frame", type=int, default=None,
                   help="the beam's per-frame label cap, as in `contextnet evaluate` (default: the model's config)")
    p.add_argument("--lm-weights", default="0,0.1,0.2,0.3,0.4,0.5,0.7", help="comma-separated λ values")
    p.add_argument("--length-bonuses", default="0,0.5,1,1.5", help="comma-separated β values")
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--out", default=None, help="output folder (default: LM_DIR/fusion-<dev name>)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def _values(text: str, name: str) -> list[float]:
    try:
        values = sorted({float(v) for v in text.split(",") if v.strip()})
    except ValueError:
        raise ValueError(f"{name}: {text!r} is not a comma-separated list of numbers") from None
    if not values:
        raise ValueError(f"{name}: no values given")
    return values


def tune_fusion(loaded, utterances, language_model, beam_size: int, lm_weights: Sequence[float],
                length_bonuses: Sequence[float], *, records=None, batch_size: int = 16, normalizer=None,
                progress: bool = True, max_symbols_per_frame: int = 4) -> list[dict]:
    """One row per (λ, β) (plus λ = β = 0): ``{"lm_weight", "length_bonus", "wer", "cer", "ser", "edits",
    "words"}``, in grid order."""
    import tensorflow as tf
    from tqdm.auto import tqdm

    from tf_contextnet.decoding.modified_beam_search import modified_beam_search_encoded
    from tf_contextnet.inference.evaluate import (EvaluationReport, score_utterance, unrepresentable,
                                                  waveform_batches)
    from tf_contextnet.inference.transcription import waveform_features
    from tf_contextnet.models.transducer import transducer_parts
    from tf_contextnet.text import TextNormalizer

    normalizer = normalizer or TextNormalizer()
    parts = transducer_parts(loaded.model)
    encode = tf.function(lambda f, n: loaded.model.transcribe(f, n, training=False), reduce_retracing=True)
    cached = []
    for batch, waveform, lengths in tqdm(waveform_batches(loaded, utterances, records=records, batch_size=batch_size),
                                         desc="encode", total=-(-len(utterances) // batch_size), disable=not progress):
        cached.append((batch, *encode(*waveform_features(loaded, waveform, lengths))))
    grid = [(0.0, 0.0)] + [(w, b) for w in lm_weights for b in length_bonuses if (w, b) != (0.0, 0.0)]
    rows = []
    for weight, bonus in tqdm(grid, desc="grid", disable=not progress):
        results = []
        for batch, encoded, encoded_lengths in cached:
            nbest = modified_beam_search_encoded(encoded, encoded_lengths, parts.prediction_network,
                                                 parts.joint_network, beam_size, language_model,
                                                 tf.constant(weight, tf.float32), tf.constant(bonus, tf.float32),
                                                 max_symbols_per_frame)
            texts = loaded.tokenizer.decode_to_python(nbest.tokens[:, 0])
            results += [score_utterance(u.uid, u.transcript, text, normalizer, speaker=u.speaker,
                                        unknown_symbols=unrepresentable(loaded.tokenizer, normalizer(u.transcript)))
                        for u, text in zip(batch, texts)]
        report = EvaluationReport(results, 0.0, f"beam {beam_size}", {})
        rows.append({"lm_weight": weight, "length_bonus": bonus, "wer": report.words.rate,
                     "cer": report.characters.rate, "ser": report.sentences.rate, "edits": report.words.edits,
                     "words": report.words.reference_length})
    return rows


def best_row(rows: list[dict]) -> dict:
    """Lowest WER, then CER, then the smaller λ and β."""
    return min(rows, key=lambda r: (r["wer"], r["cer"], r["lm_weight"], r["length_bonus"]))


def write_table(rows: list[dict], out: str, beam_size: int, max_symbols_per_frame: int = 4) -> str:
    """``fusion.tsv``, ``fusion.md``, ``best.json`` in ``out``; returns the markdown table."""
    os.makedirs(out, exist_ok=True)
    best = best_row(rows)
    with open(os.path.join(out, "fusion.tsv"), "w", encoding="utf-8") as f:
        f.write("lm_weight\tlength_bonus\twer\tcer\tser\tedits\twords\n")
        f.writelines(f"{r['lm_weight']:g}\t{r['length_bonus']:g}\t{r['wer']:.6f}\t{r['cer']:.6f}\t{r['ser']:.6f}\t"
                     f"{r['edits']}\t{r['words']}\n" for r in rows)
    lines = [f"| λ (LM weight) | β (length bonus) | WER % (beam {beam_size}, max {max_symbols_per_frame} symbols/frame) "
             "| CER % | SER % |", "|---|---|---|---|---|"]
    lines += [f"| {r['lm_weight']:g} | {r['length_bonus']:g} | {100 * r['wer']:.2f} | {100 * r['cer']:.2f} | "
              f"{100 * r['ser']:.2f} |{' **best**' if r is best else ''}" for r in rows]
    table = "\n".join(lines)
    with open(os.path.join(out, "fusion.md"), "w", encoding="utf-8") as f:
        f.write(table + "\n")
    with open(os.path.join(out, "best.json"), "w", encoding="utf-8") as f:
        json.dump({**best, "beam": beam_size, "max_symbols_per_frame": max_symbols_per_frame,
                   "baseline_wer": rows[0]["wer"]}, f, indent=1)
    return table


def run(args: argparse.Namespace) -> int:
    """Print the table and the best pair; exit 2 (reason on stderr) on bad input."""
    if args.manifest is None and args.records is None:
        print("contextnet tune-fusion: give --manifest FILE, --records DIR, or both", file=sys.stderr)
        return 2
    from tf_contextnet.decoding.language_model_directory import load_language_model
    from tf_contextnet.features import AudioError
    from tf_contextnet.inference import load_model_directory
    from tf_contextnet.inference.evaluate import utterances_from_manifest, utterances_from_records

    try:
        weights, bonuses = _values(args.lm_weights, "--lm-weights"), _values(args.length_bonuses, "--length-bonuses")
        loaded = load_model_directory(args.model)
        cap = args.max_symbols_per_frame or int(loaded.config.get("decoding", {}).get("max_symbols_per_frame", 4))
        lm = load_language_model(args.lm, loaded.tokenizer)
        utterances = (utterances_from_manifest(args.manifest) if args.manifest is not None
                      else utterances_from_records(args.records))
        rows = tune_fusion(loaded, utterances, lm, args.beam, weights, bonuses, records=args.records,
                           batch_size=args.batch_size, progress=not args.quiet, max_symbols_per_frame=cap)
    except (FileNotFoundError, ValueError, AudioError) as error:
        print(f"contextnet tune-fusion: {error}", file=sys.stderr)
        return 2
    source = args.manifest if args.manifest is not None else args.records
    out = args.out or os.path.join(args.lm, "fusion-" + os.path.splitext(os.path.basename(os.path.normpath(source)))[0])
    print(write_table(rows, out, args.beam, cap))
    best = best_row(rows)
    print(f"best: --lm-weight {best['lm_weight']:g} --length-bonus {best['length_bonus']:g} "
          f"(WER {100 * best['wer']:.2f}% vs {100 * rows[0]['wer']:.2f}% without LM); table in {out}")
    return 0
