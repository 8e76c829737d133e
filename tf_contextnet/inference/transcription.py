"""Transcription with a loaded model directory: waveform → features → greedy tokens → text.

Shapes: B batch, N samples, T feature frames, F feature bins, L decoded tokens.
"""

from __future__ import annotations

import os

import tensorflow as tf

from tf_contextnet.decoding import greedy_decode
from tf_contextnet.features import load_audio
from tf_contextnet.inference.model_directory import ModelDirectory


def waveform_features(loaded: ModelDirectory, waveform: tf.Tensor, lengths: tf.Tensor
                      ) -> tuple[tf.Tensor, tf.Tensor]:
    """The model directory's front end: ``(waveform [B, N] float32 at the model's rate, lengths [B])``
    → ``(features [B, T, F] float32, frame_lengths [B] int32)`` (feature extractor, then the
    normalisation when the directory has one)."""
    features, frame_lengths = loaded.feature_extractor((waveform, lengths))
    if loaded.normalization is not None:
        features, frame_lengths = loaded.normalization((features, frame_lengths))
    return tf.cast(features, tf.float32), tf.cast(frame_lengths, tf.int32)


def transcribe_file(loaded: ModelDirectory, path: str | os.PathLike, max_symbols_per_frame: int = 4) -> str:
    """Greedy transcript of one audio file (any format ``load_audio`` reads, any sample rate)."""
    audio = load_audio(os.fspath(path), sample_rate=int(loaded.config["sample_rate"]))
    features, lengths = waveform_features(loaded, tf.constant(audio[None]), tf.constant([audio.shape[0]]))
    tokens, _ = greedy_decode(loaded.model, features, lengths, max_symbols_per_frame)
    return loaded.tokenizer.decode_to_python(tokens)[0]


def _texts(tokenizer, ids: tf.Tensor) -> list[str]:
    return [t.decode("utf-8") for t in tokenizer.decode(ids).numpy().reshape(-1)]


def transcribe_dataset(decode, dataset: tf.data.Dataset, tokenizer) -> tuple[list[str], list[str]]:
    """``(references, hypotheses)`` over a dataset of batch dicts (docs/interfaces.md), decoded by
    ``decode(features, feature_lengths) -> (tokens, lengths)`` (e.g. ``make_greedy_decoder(model)``).

    References are the label ids decoded back to text: use ``contextnet evaluate`` for scores
    against raw transcripts.
    """
    references, hypotheses = [], []
    for batch in dataset:
        tokens, _ = decode(batch["features"], batch["feature_lengths"])
        references += _texts(tokenizer, batch["labels"])
        hypotheses += _texts(tokenizer, tokens)
    return references, hypotheses
