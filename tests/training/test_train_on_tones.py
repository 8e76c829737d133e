"""End to end without ../shared/data: the real ContextNetTransducer (reduced width) learns a tone corpus the
test synthesises, through the real front end, ``fit`` with the model's own RNN-T objective, precise BN and
greedy decoding, until it transcribes every training utterance exactly."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

from tf_contextnet.decoding import make_greedy_decoder
from tf_contextnet.features import LogMelSpectrogram, PerUtteranceNormalization
from tf_contextnet.models import ContextNetTransducer
from tf_contextnet.text import CharacterTokenizer
from tf_contextnet.training import make_optimizer
from tf_contextnet.training.batch_norm_statistics import recompute_batch_norm_statistics

RATE = 16000
TONES = {"a": 400.0, "b": 1100.0, "c": 2600.0}  # one pure tone per character
TRANSCRIPTS = ["ab", "ba", "c", "ca", "bc", "acb", "cab", "bb"]
MAX_STEPS, CHECK_EVERY = 600, 50


def _utterance(text: str, rng: np.random.Generator) -> np.ndarray:
    """Each character: 0.12 s of its tone then 0.08 s of silence, after 0.05 s of silence; light noise."""
    t = np.arange(int(0.12 * RATE)) / RATE
    pieces = [np.zeros(int(0.05 * RATE))]
    for char in text:
        pieces += [0.5 * np.sin(2 * np.pi * TONES[char] * t), np.zeros(int(0.08 * RATE))]
    audio = np.concatenate(pieces)
    return (audio + 0.003 * rng.standard_normal(audio.shape)).astype(np.float32)


def _tone_batch(tokenizer: CharacterTokenizer) -> dict[str, tf.Tensor]:
    rng = np.random.default_rng(0)
    audio = [_utterance(text, rng) for text in TRANSCRIPTS]
    samples = tf.constant([len(a) for a in audio])
    waveform = tf.constant(np.stack([np.pad(a, (0, max(map(len, audio)) - len(a))) for a in audio]))
    features, lengths = PerUtteranceNormalization()(LogMelSpectrogram(sample_rate=RATE)((waveform, samples)))
    labels = tokenizer.encode(TRANSCRIPTS)
    return {"features": features, "feature_lengths": lengths, "labels": labels.to_tensor(),
            "label_lengths": tf.cast(labels.row_lengths(), tf.int32)}


@pytest.mark.slow  # ~2-3 min on a 2-core CPU: tracing the 23-block training graph is most of it
def test_contextnet_transducer_learns_a_tone_corpus():
    keras.utils.set_random_seed(0)
    tokenizer = CharacterTokenizer.train(TRANSCRIPTS)
    batch = _tone_batch(tokenizer)
    model = ContextNetTransducer(tokenizer.vocabulary_size, alpha=1 / 16, downsample_blocks=(3, 7),
                                 prediction_embedding_dim=16, prediction_units=32, joint_dim=32)
    model.compile(optimizer=make_optimizer(learning_rate=3e-3))
    decode = make_greedy_decoder(model, max_symbols_per_frame=3)
    data = tf.data.Dataset.from_tensors(batch).repeat()
    hypotheses, losses = [], []
    for _ in range(MAX_STEPS // CHECK_EVERY):
        losses += model.fit(data, steps_per_epoch=CHECK_EVERY, epochs=1, verbose=0).history["loss"]
        recompute_batch_norm_statistics(model, tf.data.Dataset.from_tensors(batch), num_batches=1)
        tokens, _ = decode(batch["features"], batch["feature_lengths"])
        hypotheses = tokenizer.decode_to_python(tokens)
        if hypotheses == TRANSCRIPTS:
            break
    assert hypotheses == TRANSCRIPTS, f"after {len(losses) * CHECK_EVERY} steps (losses {losses})"
    assert losses[-1] < 0.2 * losses[0]
