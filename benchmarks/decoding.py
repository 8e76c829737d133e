#!/usr/bin/env python3
"""Decoding speed and accuracy: greedy, beam 4, beam 8, beam 8 + LM in one table.

RTF (real-time factor) = seconds to decode / seconds of audio, on ``--seconds`` of real
LibriSpeech speech (``../shared/data/librispeech_audio``, utterances concatenated and cut to the
length), one utterance per call: the front end, the encoder and the search (``make_decoder``, the
graph ``contextnet evaluate`` uses), median of ``--repeats`` after a warm-up. "search ms" times the
search alone on the cached encoder output. WER comes from ``evaluate_manifest`` on ``--manifest``
(e.g. the AN4 test set), scored against its raw transcripts.

Usage (the real run):
    python benchmarks/decoding.py --model exp/an4/model --lm exp/an4/lm --lm-weight 0.3 --length-bonus 0.5 \\
        --manifest data/an4/test.tsv --out benchmarks/results/decoding.md
Smoke run (no trained model: an untrained small ContextNet and LM, RTF only):
    python benchmarks/decoding.py --alpha 0.25 --seconds 2 --repeats 1 --out /tmp/decoding.md

Every row, greedy and beam, emits at most ``--max-symbols-per-frame`` labels per encoder frame
(default 4, the recipes' models' cap; 1 gives the one-symbol-per-frame modified beam search).

The issue's target: beam 4's RTF at most 3x greedy's.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_timing import call_times, publish  # noqa: E402

DEFAULT_AUDIO = HERE.parents[1] / "shared" / "data" / "librispeech_audio"


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default=None, help="trained model directory (default: an untrained ContextNet)")
    p.add_argument("--alpha", type=float, default=0.5, help="width of the untrained model (no --model)")
    p.add_argument("--lm", default=None, help="LM directory (default: an untrained LSTM LM of --lm-units)")
    p.add_argument("--lm-units", type=int, default=512)
    p.add_argument("--lm-weight", type=float, default=0.3)
    p.add_argument("--length-bonus", type=float, default=0.5)
    p.add_argument("--max-symbols-per-frame", type=int, default=4,
                   help="per-frame label cap of every row, greedy and beam (1: the one-symbol-per-frame beam)")
    p.add_argument("--audio", default=str(DEFAULT_AUDIO), help="folder of real speech (FLAC/WAV, searched recursively)")
    p.add_argument("--seconds", type=float, default=10.0, help="audio length for the RTF")
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--manifest", default=None, help="manifest for the WER column (e.g. AN4 test)")
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--out", default=str(HERE / "results" / "decoding.md"))
    return p.parse_args(argv)


def real_audio(folder: str, seconds: float, sample_rate: int):
    """``seconds`` of real speech: sorted files of ``folder`` concatenated, cut to length."""
    import numpy as np

    from tf_contextnet.features import load_audio

    files = sorted(p for p in Path(folder).rglob("*") if p.suffix.lower() in (".flac", ".wav"))
    if not files:
        raise SystemExit(f"error: no FLAC/WAV files under {folder} (pass --audio DIR)")
    need, pieces, names = int(seconds * sample_rate), [], []
    for path in files:
        pieces.append(load_audio(str(path), sample_rate=sample_rate))
        names.append(path.name)
        if sum(len(p) for p in pieces) >= need:
            break
    audio = np.concatenate(pieces)[:need]
    if len(audio) < need:
        raise SystemExit(f"error: only {len(audio) / sample_rate:.1f} s of audio under {folder}")
    return audio, names


def decoder_rows(language_model, lm_weight: float, length_bonus: float) -> list[tuple]:
    """``(name, beam, language model, λ, β)`` per row: λ and β belong to the LM row alone, so the
    beam rows are the plain search (β without an LM still rewards length and changes the WER)."""
    return [("greedy", 1, None, 0.0, 0.0), ("beam 4", 4, None, 0.0, 0.0), ("beam 8", 8, None, 0.0, 0.0),
            ("beam 8 + LM", 8, language_model, lm_weight, length_bonus)]


def load_or_build(args):
    """``(ModelDirectory, language model)``."""
    import keras

    from tf_contextnet.decoding.language_model_directory import load_language_model
    from tf_contextnet.features import LogMelSpectrogram, PerUtteranceNormalization
    from tf_contextnet.inference import ModelDirectory, load_model_directory
    from tf_contextnet.models import ContextNetTransducer, LstmLanguageModel
    from tf_contextnet.text import CharacterTokenizer

    if args.model:
        loaded = load_model_directory(args.model)
    else:
        keras.utils.set_random_seed(0)
        tokenizer = CharacterTokenizer.train(["abcdefghijklmnopqrstuvwxyz '"])
        model = ContextNetTransducer.from_preset("contextnet_s", tokenizer.vocabulary_size, alpha=args.alpha)
        joint = model.parts().joint_network  # emit labels, as a trained model does
        joint.output_projection.bias.assign([-1.0] + [0.0] * (tokenizer.vocabulary_size - 1))
        loaded = ModelDirectory(model, tokenizer, {"sample_rate": 16000}, LogMelSpectrogram(),
                                PerUtteranceNormalization())
    if args.lm:
        lm = load_language_model(args.lm, loaded.tokenizer)
    else:
        lm = LstmLanguageModel(loaded.tokenizer.vocabulary_size, units=args.lm_units, num_layers=2)
        lm.build()
    return loaded, lm


def main(argv=None) -> int:
    args = parse_args(argv)
    import tensorflow as tf

    from tf_contextnet.decoding import greedy_decode_encoded
    from tf_contextnet.decoding.modified_beam_search import modified_beam_search_encoded
    from tf_contextnet.inference.evaluate import evaluate, make_decoder, utterances_from_manifest
    from tf_contextnet.inference.transcription import waveform_features
    from tf_contextnet.models.transducer import transducer_parts

    loaded, lm = load_or_build(args)
    rate = int(loaded.config.get("sample_rate", 16000))
    audio, names = real_audio(args.audio, args.seconds, rate)
    waveform, lengths = tf.constant(audio[None]), tf.constant([len(audio)])
    features, frame_lengths = waveform_features(loaded, waveform, lengths)
    encoded, encoded_lengths = loaded.model.transcribe(features, frame_lengths, training=False)
    parts = transducer_parts(loaded.model)
    utterances = utterances_from_manifest(args.manifest) if args.manifest else None
    rows, greedy_rtf = [], None
    for name, beam, language_model, lm_weight, length_bonus in decoder_rows(lm, args.lm_weight, args.length_bonus):
        decode, description = make_decoder(loaded.model, beam, args.max_symbols_per_frame, language_model, lm_weight,
                                           length_bonus)

        def full():
            tokens, _ = decode(*waveform_features(loaded, waveform, lengths))
            return tokens.numpy()

        if beam == 1:
            def search():
                return greedy_decode_encoded(encoded, encoded_lengths, parts.prediction_network,
                                             parts.joint_network,
                                             max_symbols_per_frame=args.max_symbols_per_frame)[0].numpy()
        else:
            weight, bonus = tf.constant(lm_weight), tf.constant(length_bonus)

            def search():
                return modified_beam_search_encoded(encoded, encoded_lengths, parts.prediction_network,
                                                    parts.joint_network, beam, language_model, weight, bonus,
                                                    args.max_symbols_per_frame).tokens.numpy()

        start = time.perf_counter()
        full()
        first = time.perf_counter() - start
        rtf = statistics.median(call_times(full, 0, args.repeats)) / args.seconds
        search_ms = 1000 * statistics.median(call_times(search, 1, args.repeats))
        greedy_rtf = greedy_rtf or rtf
        wer = ""
        if utterances is not None:
            report = evaluate(loaded, utterances, decode, batch_size=args.batch_size, decoder_name=description,
                              progress=False)
            wer = f"{100 * report.words.rate:.2f} ({report.words.edits}/{report.words.reference_length})"
        rows.append(f"| {name} | {rtf:.4f} | {rtf / greedy_rtf:.2f}x | {search_ms:.0f} | {first:.1f} | {wer or 'n/a'} |")
        print(rows[-1], flush=True)
    lm_note = (f"LM {args.lm}" if args.lm else f"untrained LM ({args.lm_units} units x 2)") + \
        f", lambda {args.lm_weight:g}, beta {args.length_bonus:g} (LM row only); every row emits at most " \
        f"{args.max_symbols_per_frame} symbols per frame"
    text = "\n".join([
        "# Decoding: greedy vs modified beam search (+ LSTM LM shallow fusion)",
        "",
        f"Model: {args.model or f'untrained contextnet_s alpha {args.alpha:g}'}; {lm_note}. "
        f"RTF on {args.seconds:g} s of real LibriSpeech speech ({', '.join(names[:3])}{' ...' if len(names) > 3 else ''}), "
        f"batch 1, median of {args.repeats}, {os.cpu_count()} CPU threads visible; WER on "
        f"{args.manifest or '(no --manifest)'} against its raw transcripts.",
        "",
        "| decoder | RTF | vs greedy | search ms | first call s (tracing) | WER % |",
        "|---|---|---|---|---|---|",
        *rows,
        "",
        f"Command: `python benchmarks/decoding.py {' '.join(sys.argv[1:])}`",
        ""])
    publish(text, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
