#!/usr/bin/env python3
"""Spoken digits → a small ContextNet → held-out-speaker WER, one command end to end on a CPU.

Usage:
    # the default corpus: FSDD from ../shared/data/fsdd when present, else espeak-ng digits
    python recipes/digits/train.py --out exp/digits --minutes 30

    # any folder of {digit}_{speaker}_{take}.wav recordings (any sample rate, any number of speakers)
    python recipes/digits/train.py --data /path/to/recordings --test-speakers george,yweweler \\
        --out exp/digits --minutes 30

    # afterwards: transcribe any WAV/FLAC file with the saved model and tokenizer
    contextnet transcribe --model exp/digits/model some_recording.wav

Re-running the same command resumes: finished stages are skipped, and training continues from its
last backup (weights, optimizer state, step counter) until ``--minutes`` of training in total;
a larger ``--minutes`` trains further. Stages, outputs under ``--out``:

  0. espeak       espeak_recordings/  only when no --data is given and ../shared/data/fsdd is absent
  1. corpus       corpus/             isolated digits + connected strings (local/make_corpus.py)
  2. tokenizer    model/tokenizer/    WordPiece on the training transcripts (one id per digit word)
  3. tfrecords    tfrecords/          train, dev, and per held-out speaker test_isolated / test_connected
  4. train        train/              backups, per-epoch weights, TensorBoard logs, time spent
  5. evaluate     results.md          greedy WER per held-out speaker, isolated and connected
  6. save         model/              the model directory for ``contextnet transcribe``
  7. export       export/             ``contextnet export`` of model/: SavedModel for TF Serving, and the
                                      TFLite variants of ``--export-tflite`` (docs/serving.md)
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from tf_contextnet.cli.quiet_start import import_tensorflow_quietly  # noqa: E402

# TensorFlow's C++ start-up lines stay off the terminal (TF_CONTEXTNET_TF_LOGS=1 shows them).
import_tensorflow_quietly()

from local import espeak_digits  # noqa: E402
from local.make_corpus import (CorpusConfig, add_corpus_arguments, build_corpus, config_from_args,  # noqa: E402
                               format_summary)

SHARED_DATA = Path(os.environ.get("TF_CONTEXTNET_SHARED_DATA", HERE.parents[2] / "shared" / "data"))
FSDD_RECORDINGS = SHARED_DATA / "fsdd" / "recordings"
FSDD_TEST_SPEAKERS = "george,yweweler"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=None,
                        help=f"folder of {{digit}}_{{speaker}}_{{take}}.wav recordings (default: {FSDD_RECORDINGS} "
                             "when present, else digits synthesised with espeak-ng)")
    parser.add_argument("--out", type=Path, required=True, help="experiment folder (created; re-use to resume)")
    parser.add_argument("--minutes", type=float, default=30.0,
                        help="training budget in minutes, resumes included (0: prepare the data only)")
    parser.add_argument("--espeak-speakers", type=int, default=0,
                        help="add this many espeak-ng voices (synthetic speakers) to the training speakers of "
                             "--data or FSDD (0: none; needs espeak-ng)")
    add_corpus_arguments(parser)
    model = parser.add_argument_group("model and training")
    model.add_argument("--preset", default="contextnet_s", help="ContextNet preset to start from")
    model.add_argument("--alpha", type=float, default=0.25, help="width multiplier (overrides the preset's)")
    model.add_argument("--batch-size", type=int, default=16)
    model.add_argument("--peak-learning-rate", type=float, default=2e-3)
    model.add_argument("--warmup-steps", type=int, default=600)
    model.add_argument("--steps-per-epoch", type=int, default=200, help="steps between dev WER and checkpoints")
    model.add_argument("--max-train-utterances", type=int, default=None,
                       help="use only this many training utterances (quick tests)")
    model.add_argument("--max-warp", type=float, default=0.12,
                       help="vocal-tract-length perturbation: warp factors within 1 ± this (0: off)")
    model.add_argument("--decoder-units", type=int, default=160, help="prediction LSTM, embedding and joint width")
    model.add_argument("--vocabulary-size", type=int, default=64, help="WordPiece ids at most (blank included)")
    parser.add_argument("--export-tflite", default="", metavar="VARIANTS",
                        help="TFLite variants for the export stage (float,fp16,dynamic; default: SavedModel only)")
    model.add_argument("--quiet", action="store_true", help="no Keras progress bars (one line per epoch)")
    return parser.parse_args(argv)


def resolve_data(args: argparse.Namespace) -> tuple[Path, str]:
    """The recordings folder and the default test speakers, synthesising espeak-ng digits if needed.

    Raises ``espeak_digits.EspeakMissing`` (with the install command) when neither the shared FSDD
    nor espeak-ng is available.
    """
    if args.data is not None:
        return with_espeak_speakers(args.data, args), args.test_speakers
    if FSDD_RECORDINGS.is_dir():
        print(f"[data] default corpus: FSDD recordings in {FSDD_RECORDINGS}")
        return with_espeak_speakers(FSDD_RECORDINGS, args), args.test_speakers or FSDD_TEST_SPEAKERS
    print(f"[data] {FSDD_RECORDINGS} is absent (no shared data on this machine): using digits synthesised "
          "with espeak-ng instead")
    folder = espeak_digits.synthesise_digits(args.out / "espeak_recordings", seed=args.seed)
    if args.connected_per_speaker is None:  # 10 training voices: fewer strings each keep the corpus small
        args.connected_per_speaker = 100
    return folder, args.test_speakers or ",".join(espeak_digits.DEFAULT_TEST_SPEAKERS)


def with_espeak_speakers(data: Path, args: argparse.Namespace) -> Path:
    """``data``, or with ``--espeak-speakers N``: a folder linking ``data``'s recordings and N
    synthesised espeak-ng voices (``out/recordings``), the voices joining the training speakers."""
    if args.espeak_speakers <= 0:
        return data
    names = list(espeak_digits.SPEAKERS)[:args.espeak_speakers]
    print(f"[data] adding {len(names)} espeak-ng voices to the training speakers: {', '.join(names)}")
    voices = espeak_digits.synthesise_digits(args.out / "espeak_recordings", seed=args.seed,
                                             speakers={n: espeak_digits.SPEAKERS[n] for n in names})
    merged = args.out / "recordings"
    merged.mkdir(parents=True, exist_ok=True)
    for folder in (Path(data), voices):
        for wav in sorted(folder.glob("*.wav")):
            link = merged / wav.name
            if not link.exists():
                link.symlink_to(wav.resolve())
    return merged


def stage_corpus(data: Path, out: Path, config: CorpusConfig) -> dict:
    """Build ``out/corpus`` unless it already holds a corpus made from the same data and config."""
    corpus = out / "corpus"
    summary_file = corpus / "corpus.json"
    if summary_file.is_file():
        summary = json.loads(summary_file.read_text(encoding="utf-8"))
        same = (summary.get("data") == str(Path(data).resolve())
                and summary.get("config") == json.loads(json.dumps(dataclasses.asdict(config))))
        if same:
            print(f"[corpus] reusing {corpus}")
            return summary
        raise SystemExit(f"error: {corpus} was built from other data or options ({summary.get('data')}); "
                         "use another --out or delete it")
    summary = build_corpus(data, corpus, config)
    print(format_summary(summary, corpus))
    return summary


def split_by_speaker(manifest: Path, folder: Path) -> dict[str, Path]:
    """One manifest per speaker of ``manifest``, written in ``folder``; ``{speaker: path}``."""
    from tf_contextnet.data import read_manifest, write_manifest

    entries = read_manifest(manifest)
    out = {}
    for speaker in sorted({e.speaker for e in entries}):
        path = folder / f"{manifest.stem}.{speaker}.tsv"
        write_manifest([e for e in entries if e.speaker == speaker], path)
        out[speaker] = path
    return out


def stage_tfrecords(out: Path, test_speakers: list[str], max_train: int | None) -> dict[str, Path]:
    """TFRecord folders: ``train``, ``dev``, ``test_isolated/<speaker>``, ``test_connected/<speaker>``."""
    from tf_contextnet.data import prepare, read_manifest, write_manifest

    corpus, records = out / "corpus", out / "tfrecords"
    manifests = {"train": corpus / "train.tsv", "dev": corpus / "dev.tsv"}
    if max_train is not None:
        entries = read_manifest(corpus / "train.tsv")
        step = max(1, len(entries) // max_train)
        subset = corpus / f"train.first{max_train}.tsv"
        write_manifest(entries[::step][:max_train], subset)
        manifests = {f"train.first{max_train}": subset, "dev": manifests["dev"]}
    for split in ("test_isolated", "test_connected"):
        for speaker, path in split_by_speaker(corpus / f"{split}.tsv", corpus / "by_speaker").items():
            manifests[f"{split}/{speaker}"] = path
    folders = {}
    for name, manifest in manifests.items():
        # prepare is resumable: a finished folder is only checked against its input's fingerprint
        summary = prepare(manifest, records / name, name=name.replace("/", "-"), shard_size=512,
                          num_workers=2, progress=False)
        print(f"[tfrecords] {name}: {summary.utterances} utterances, {summary.seconds / 60:.1f} min")
        folders["train" if name.startswith("train") else name] = records / name
    return folders


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    started = time.time()
    try:
        data, test_speakers = resolve_data(args)
    except espeak_digits.EspeakMissing as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if not test_speakers:
        print("error: --test-speakers is required for --data (comma-separated speaker names)", file=sys.stderr)
        return 2
    args.test_speakers = test_speakers
    try:
        summary = stage_corpus(data, args.out, config_from_args(args))
    except (ValueError, FileNotFoundError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1

    from local import experiment  # TensorFlow is imported from here on

    tokenizer = experiment.stage_tokenizer(args.out, args.vocabulary_size)
    folders = stage_tfrecords(args.out, summary["test_speakers"], args.max_train_utterances)
    if args.minutes <= 0:
        print(f"[done] --minutes {args.minutes:g}: data prepared in {args.out}, nothing trained")
        return 0
    model = experiment.stage_train(args, tokenizer, folders)
    table = experiment.stage_evaluate(model, tokenizer, folders, summary, args)
    experiment.stage_save(model, tokenizer, args)
    experiment.stage_export(args)
    print(table)
    print(f"[done] results in {args.out / 'results.md'}; model in {args.out / 'model'} "
          f"({(time.time() - started) / 60:.1f} min wall-clock for this run)")
    print(f"       served: bash export/serve.sh {args.out / 'export'}")
    print(f"       try: contextnet transcribe --model {args.out / 'model'} "
          f"{args.out / 'corpus' / 'wav' / 'test_connected'}/<file>.wav")
    return 0


if __name__ == "__main__":
    sys.exit(main())
