#!/usr/bin/env python3
"""A speaker-generalisation probe: how well can *any* small model trained on the training speakers'
isolated digits classify a held-out speaker's digits?

Usage (from the project root, after ``python recipes/digits/train.py --out OUT --minutes 0``,
which builds ``OUT/corpus``):
    python recipes/digits/local/probe_classifier.py OUT/corpus [OUT2/corpus ...] [--seconds 100]

For each corpus folder: the isolated-digit utterances of ``train.tsv`` (training speakers, speed
copies included) train a 3-layer 1-D CNN classifier (conv 64/96/128, kernel 5, swish, batch norm
of momentum 0.9, max-pool 2 after each: 8× in time, like ContextNet; global average pooling,
dropout 0.3, 10-way softmax) on the recipe's front end (80-bin log-mel, per-utterance mean/variance normalisation),
for ``--seconds`` of wall-clock; then it prints the error rate on each held-out speaker's
isolated digits (``test_isolated.tsv``) as a markdown table.

This is a diagnostic, not the recipe's model: a whole-utterance classifier has the easiest
possible task (one of ten labels, no alignment), so its held-out-speaker error is a yardstick for
what the training speakers can teach about an unseen one. RESULTS.md uses it to read the gap
between the recipe's results and the issue's target.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import soundfile as sf

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from local.make_corpus import ISOLATED_MARK  # noqa: E402
from local.recordings import DIGIT_WORDS  # noqa: E402

MAX_FRAMES = 200  # 2 s: every isolated take fits


def load_isolated(corpus: Path, manifest: str) -> tuple[list[np.ndarray], np.ndarray, np.ndarray]:
    """Audio, digit labels and speakers of the isolated-digit rows (ids with ``ISOLATED_MARK``) of ``manifest``."""
    from tf_contextnet.data import read_manifest

    entries = [e for e in read_manifest(corpus / manifest) if ISOLATED_MARK in e.uid]
    if not entries:
        raise ValueError(f"{corpus / manifest}: no isolated-digit utterances (ids with {ISOLATED_MARK!r})")
    audio = [sf.read(e.audio_path, dtype="float32")[0] for e in entries]
    labels = np.array([DIGIT_WORDS.index(e.transcript) for e in entries])
    return audio, labels, np.array([e.speaker for e in entries])


def features(audio: list[np.ndarray], batch: int = 256) -> np.ndarray:
    """``[N, MAX_FRAMES, 80]`` normalised log-mel, zero-padded (the recipe's front end)."""
    import tensorflow as tf

    from local.experiment import front_end

    extractor, normalization = front_end()
    samples = max(max(len(a) for a in audio), (MAX_FRAMES - 1) * extractor.frame_step + extractor.frame_length)
    out = []
    for start in range(0, len(audio), batch):
        chunk = audio[start:start + batch]
        waves = np.zeros((len(chunk), samples), np.float32)
        for i, a in enumerate(chunk):
            waves[i, :len(a)] = a
        feats = normalization(extractor((tf.constant(waves), tf.constant([len(a) for a in chunk]))))[0]
        out.append(feats.numpy()[:, :MAX_FRAMES])
    return np.concatenate(out)


def classifier(num_bins: int):
    import keras

    inputs = keras.Input((None, num_bins))
    x = inputs
    for channels in (64, 96, 128):
        x = keras.layers.Conv1D(channels, 5, padding="same", activation="swish")(x)
        x = keras.layers.BatchNormalization(momentum=0.9)(x)  # moving statistics settle in ~50 steps
        x = keras.layers.MaxPool1D(2)(x)
    x = keras.layers.Dropout(0.3)(keras.layers.GlobalAveragePooling1D()(x))
    model = keras.Model(inputs, keras.layers.Dense(len(DIGIT_WORDS))(x))
    model.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    return model


def probe(corpus: Path, seconds: float, seed: int,
          max_epochs: int | None = None) -> tuple[dict[str, float], int, list[str]]:
    """``({held-out speaker: error rate}, epochs trained, training speakers)`` for one corpus, after
    ``seconds`` of training or ``max_epochs`` epochs, whichever comes first."""
    import keras

    keras.utils.set_random_seed(seed)
    train_audio, train_labels, train_speakers = load_isolated(corpus, "train.tsv")
    test_audio, test_labels, test_speakers = load_isolated(corpus, "test_isolated.tsv")
    x_train, x_test = features(train_audio), features(test_audio)
    model = classifier(x_train.shape[-1])
    started, epochs = time.time(), 0
    while time.time() - started < seconds and (max_epochs is None or epochs < max_epochs):
        model.fit(x_train, train_labels, batch_size=64, epochs=1, verbose=0, shuffle=True)
        epochs += 1
    predicted = model.predict(x_test, verbose=0).argmax(-1)
    errors = {str(s): float(np.mean(predicted[test_speakers == s] != test_labels[test_speakers == s]))
              for s in sorted(set(test_speakers))}
    return errors, epochs, sorted(str(s) for s in set(train_speakers))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("corpora", nargs="+", type=Path, help="corpus folders made by make_corpus.py")
    parser.add_argument("--seconds", type=float, default=100.0, help="training time per corpus")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    lines = ["| corpus | training speakers | epochs | held-out speaker: isolated-digit error |", "|---|---|---|---|"]
    for corpus in args.corpora:
        errors, epochs, speakers = probe(corpus, args.seconds, args.seed)
        cells = ", ".join(f"{s} {100 * e:.1f} %" for s, e in errors.items())
        lines.append(f"| {corpus} | {', '.join(speakers)} | {epochs} | {cells} |")
        print(lines[-1], flush=True)
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
