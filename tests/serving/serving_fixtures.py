"""Helpers of the serving tests: the tiny model directory, WAV bytes, AN4 files.

The model is an untrained ContextNet (alpha 0.125, 16-unit decoder) made to give non-empty,
audio-dependent transcripts: batch-norm statistics recomputed on synthetic chirps (otherwise 23
blocks at initial statistics leave the encoder output nearly constant) and the joint's output
kernel scaled up (so non-blank tokens win the argmax on some frames).

Its encoder's batch-norm scales (gamma) are 0.25, not 1: at gamma 1 the random 23-block network is
chaotic on real speech (activations grow to ~4000 through the blocks, and each block multiplies a
relative perturbation by up to ~20), so a float32 rounding difference of one ulp in the first block
reaches the logits at ~1e-2 of their scale: Keras run in a ``tf.function`` and Keras run eagerly
differ by that much (1.1e-2 on the AN4/FSDD files of the agreement tests; 0 with oneDNN's graph
rewrites off), with no export involved, and argmax ties flip. At gamma 0.25 the swishes work near
their linear range and the same comparison differs by ~5e-6, as for a trained model (~3e-7 for an
AN4 model), so the 1e-3 agreement checks measure the export and not the summation order of the
backends.
The blank's joint bias is 1.0 (3.0 with gamma 1), so that 38 of the 40 files still emit tokens.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import soundfile

TINY_MAX_SYMBOLS = 2


def make_tiny_model_directory(directory: Path, seed: int = 0) -> Path:
    import keras
    import tensorflow as tf

    from tf_contextnet.features import LogMelSpectrogram, PerUtteranceNormalization
    from tf_contextnet.inference import save_model_directory
    from tf_contextnet.models import ContextNetTransducer
    from tf_contextnet.text import CharacterTokenizer
    from tf_contextnet.training.batch_norm_statistics import batch_norm_layers, recompute_batch_norm_statistics

    keras.utils.set_random_seed(seed)
    tokenizer = CharacterTokenizer.train(["zero one two three four five six seven eight nine"])
    model = ContextNetTransducer.from_preset("contextnet_s", tokenizer.vocabulary_size, alpha=0.125,
                                             prediction_embedding_dim=16, prediction_units=16, joint_dim=16)
    for layer in batch_norm_layers(model.parts().encoder):  # well-conditioned (module doc)
        layer.gamma.assign(layer.gamma.numpy() * 0.25)
    extractor, normalization = LogMelSpectrogram(), PerUtteranceNormalization()
    rng = np.random.default_rng(seed)
    t = np.arange(16000) / 16000

    def batch():
        waves = [np.sin(2 * np.pi * (200 + rng.uniform(0, 3000)) * t * (1 + rng.uniform(0, 1) * t))
                 * rng.uniform(0.01, 0.5) + rng.normal(size=t.size) * rng.uniform(0.001, 0.1) for _ in range(4)]
        features, lengths = normalization(extractor((np.stack(waves).astype("float32"), tf.fill([4], 16000))))
        return {"features": features, "feature_lengths": lengths}

    recompute_batch_norm_statistics(model, _Batches([batch() for _ in range(4)]), 4)
    output = model.parts().joint_network.output_projection
    bias = output.bias.numpy()
    bias[0] = 1.0
    output.kernel.assign(output.kernel.numpy() * 30.0)
    output.bias.assign(bias)
    save_model_directory(directory, model, tokenizer, feature_extractor=extractor, normalization=normalization,
                         decoding={"max_symbols_per_frame": TINY_MAX_SYMBOLS})
    return directory


class _Batches:
    """The ``take`` of a dataset over ready batches (what ``recompute_batch_norm_statistics`` reads)."""

    def __init__(self, batches):
        self.batches = batches

    def take(self, count):
        return self.batches[:count]


def wav_bytes(audio: np.ndarray, rate: int, subtype: str = "PCM_16", fmt: str = "WAV") -> bytes:
    buffer = io.BytesIO()
    soundfile.write(buffer, audio, rate, subtype=subtype, format=fmt)
    return buffer.getvalue()


def an4_test_files(an4: Path, count: int) -> list[Path]:
    ids = [line.strip() for line in (an4 / "etc" / "an4_test.fileids").read_text().splitlines() if line.strip()]
    return [an4 / "wav" / f"{i}.sph" for i in ids[:count]]


def sph_as_wav(path: Path) -> bytes:
    """A NIST SPHERE file's PCM16 samples as WAV bytes (what a client would send)."""
    audio, rate = soundfile.read(path, dtype="int16")
    return wav_bytes(audio, rate)
