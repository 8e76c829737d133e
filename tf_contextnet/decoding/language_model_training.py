"""Training the LSTM LM on text: the acoustic model's token ids, held-out perplexity, resumable.

Shapes: B batch, U tokens, V the acoustic model's vocabulary (blank 0 included).

A sentence ``y_1..y_U`` (``tokenizer.encode`` of a text line) becomes the input ``0 y_1 .. y_U``
and the target ``y_1 .. y_U </s>`` (``</s>`` = id V). Lines that are empty or that the tokenizer
cannot represent are left out and counted. Held-out perplexity = exp(total negative
log-likelihood / number of predicted symbols, ``</s>`` included).

Resuming: an interrupted run continues from ``keras.callbacks.BackupAndRestore`` in ``out/backup``
(weights, optimizer, epoch); after a finished run, a larger ``epochs`` continues from the saved
weights (with a fresh optimizer state) and the same ``epochs`` does nothing.
"""

from __future__ import annotations

import math
import os
import random
from typing import NamedTuple, Sequence

import keras
import numpy as np
import tensorflow as tf

from tf_contextnet.decoding.language_model_directory import (INFO_FILE, load_language_model,
                                                             read_language_model_info, save_language_model)
from tf_contextnet.models.lstm_language_model import LstmLanguageModel


class LanguageModelData(NamedTuple):
    """Token-id sentences for training and held-out evaluation, and the lines left out."""

    train: list[list[int]]
    held_out: list[list[int]]
    skipped: int


def read_text_lines(paths: Sequence[str | os.PathLike]) -> list[str]:
    """Lines of plain-text files, or the transcripts of ``.tsv``/``.jsonl`` manifests."""
    from tf_contextnet.data.manifest import read_manifest

    lines = []
    for path in paths:
        path = os.fspath(path)
        if not os.path.isfile(path):
            raise FileNotFoundError(f"text file {path!r} does not exist")
        if path.endswith((".tsv", ".jsonl")):
            lines += [e.transcript for e in read_manifest(path)]
        else:
            with open(path, encoding="utf-8") as f:
                lines += [line.strip() for line in f]
    return lines


def encode_sentences(lines: Sequence[str], tokenizer) -> tuple[list[list[int]], int]:
    """``(id lists, number of lines left out)``: empty lines and lines with unknown symbols are left out."""
    lines = list(lines)
    if not lines:
        return [], 0
    lengths, unknown = tokenizer.label_statistics(lines)
    usable = [line for line, n, bad in zip(lines, lengths, unknown) if n > 0 and not bad]
    if not usable:
        return [], len(lines)
    kept = [list(map(int, row)) for row in tokenizer.encode(usable).to_list()]
    return kept, len(lines) - len(kept)


def split_held_out(sentences: list[list[int]], fraction: float, seed: int = 0) -> tuple[list, list]:
    """A seeded random ``fraction`` (at least one sentence when there are two or more) held out."""
    if not 0.0 <= fraction < 1.0:
        raise ValueError(f"held-out fraction must be in [0, 1), got {fraction}")
    order = list(range(len(sentences)))
    random.Random(seed).shuffle(order)
    n = int(round(fraction * len(sentences)))
    if fraction > 0 and n == 0 and len(sentences) > 1:
        n = 1
    held = set(order[:n])
    return [s for i, s in enumerate(sentences) if i not in held], [s for i, s in enumerate(sentences) if i in held]


def sentence_dataset(sentences: list[list[int]], end_id: int, batch_size: int, shuffle: bool, seed: int = 0
                     ) -> tf.data.Dataset:
    """``(inputs [B, U+1], targets [B, U+1], weights [B, U+1])`` batches, 0-padded (weights 0 on padding)."""
    ragged = tf.ragged.constant(sentences, dtype=tf.int32, inner_shape=()) if sentences else \
        tf.RaggedTensor.from_row_lengths(tf.zeros([0], tf.int32), tf.zeros([0], tf.int64))
    data = tf.data.Dataset.from_tensor_slices(ragged)
    if shuffle:
        data = data.shuffle(len(sentences), seed=seed, reshuffle_each_iteration=True)

    def example(ids):
        inputs = tf.concat([[0], ids], 0)
        targets = tf.concat([ids, [end_id]], 0)
        return inputs, targets, tf.ones_like(targets, tf.float32)

    return data.map(example).padded_batch(batch_size).prefetch(tf.data.AUTOTUNE)


def perplexity(model: LstmLanguageModel, sentences: list[list[int]], batch_size: int = 64) -> float:
    """exp(mean negative log-likelihood per predicted symbol, ``</s>`` included); ``nan`` without sentences."""
    total, count = 0.0, 0
    for start in range(0, len(sentences), batch_size):
        chunk = sentences[start:start + batch_size]
        ragged = tf.ragged.constant(chunk, dtype=tf.int32, inner_shape=())
        total -= float(tf.reduce_sum(model.sentence_log_probs(ragged.to_tensor(), ragged.row_lengths())))
        count += sum(len(s) + 1 for s in chunk)
    return math.exp(total / count) if count else float("nan")


class HeldOutPerplexity(keras.callbacks.Callback):
    """Adds ``val_perplexity`` to the epoch logs (and prints it)."""

    def __init__(self, sentences: list[list[int]], batch_size: int = 64):
        super().__init__()
        self.sentences = sentences
        self.batch_size = batch_size
        self.last = float("nan")

    def on_epoch_end(self, epoch, logs=None):
        self.last = perplexity(self.model, self.sentences, self.batch_size)
        if logs is not None:
            logs["val_perplexity"] = self.last
        print(f"epoch {epoch + 1}: held-out perplexity {self.last:.3f}")


def compile_language_model(model: LstmLanguageModel, learning_rate: float) -> None:
    """Adam (clip norm 1) on the mean negative log-likelihood per real symbol of each batch.

    ``mean_with_sample_weight`` divides by the padding weights' sum: Keras' default divides by
    B x (U+1), padding included, which shrank the printed loss (0.39 against a perplexity of 2.3 on
    AN4) and gave the symbols of a heavily padded batch less weight than those of a full one.
    """
    model.compile(optimizer=keras.optimizers.Adam(learning_rate, clipnorm=1.0),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True,
                                                                  reduction="mean_with_sample_weight"),
                  weighted_metrics=[])


def _finished_epochs(out: str, model: LstmLanguageModel, tokenizer) -> int:
    """Epochs of a finished earlier run in ``out`` (its weights loaded into ``model``), else 0."""
    if not os.path.isfile(os.path.join(out, INFO_FILE)):
        return 0
    previous = load_language_model(out, tokenizer)
    mine = {k: v for k, v in model.get_config().items() if k not in ("name", "trainable", "dtype")}
    theirs = {k: v for k, v in previous.get_config().items() if k not in ("name", "trainable", "dtype")}
    if mine != theirs:
        raise ValueError(f"{out} holds a language model of another configuration ({theirs}); asked for {mine}: "
                         f"use another --out")
    model.set_weights(previous.get_weights())
    return int(read_language_model_info(out).get("epochs", 0))


def train_language_model(lines: Sequence[str], tokenizer, out: str | os.PathLike, *, epochs: int = 10,
                         batch_size: int = 64, learning_rate: float = 1e-3, embedding_dim: int = 512,
                         units: int = 4096, num_layers: int = 3, dropout: float = 0.0, held_out_fraction: float = 0.05,
                         held_out_lines: Sequence[str] | None = None, seed: int = 0, verbose: int = 1) -> dict:
    """Train (or resume) an ``LstmLanguageModel`` on ``lines`` and save it in ``out`` (``language_model_directory``).

    Returns the info written to ``out/lm.json`` (sentences used and left out, held-out perplexity).
    """
    out = os.fspath(out)
    if epochs < 1 or batch_size < 1:
        raise ValueError(f"epochs and batch_size must be >= 1, got {epochs} and {batch_size}")
    sentences, skipped = encode_sentences(lines, tokenizer)
    if held_out_lines is not None:
        train = sentences
        held_out, held_skipped = encode_sentences(held_out_lines, tokenizer)
        skipped += held_skipped
    else:
        train, held_out = split_held_out(sentences, held_out_fraction, seed)
    if not train:
        raise ValueError(f"no training sentence left: {len(lines)} lines, {skipped} empty or with symbols the "
                         f"tokenizer cannot represent")
    keras.utils.set_random_seed(seed)
    model = LstmLanguageModel(tokenizer.vocabulary_size, embedding_dim=embedding_dim, units=units,
                              num_layers=num_layers, dropout=dropout)
    model.build()
    done = _finished_epochs(out, model, tokenizer)
    if done >= epochs:
        print(f"{out}: {done} epochs already trained (asked for {epochs}); nothing to do")
        return read_language_model_info(out)
    compile_language_model(model, learning_rate)
    os.makedirs(out, exist_ok=True)
    callbacks = [keras.callbacks.BackupAndRestore(os.path.join(out, "backup")),
                 keras.callbacks.CSVLogger(os.path.join(out, "metrics.csv"), append=True)]
    held = HeldOutPerplexity(held_out)
    if held_out:
        callbacks.insert(1, held)
    model.fit(sentence_dataset(train, model.end_id, batch_size, shuffle=True, seed=seed), epochs=epochs,
              initial_epoch=done, callbacks=callbacks, verbose=verbose, shuffle=False)  # the dataset shuffles
    held_ppl = perplexity(model, held_out) if held_out else float("nan")
    info = {"sentences": len(train), "held_out_sentences": len(held_out), "skipped_lines": skipped,
            "held_out_perplexity": held_ppl, "train_perplexity": perplexity(model, train[:2000]),
            "epochs": epochs, "config": {k: v for k, v in model.get_config().items()
                                         if k in ("embedding_dim", "units", "num_layers", "dropout")}}
    save_language_model(out, model, tokenizer, info)
    return info


def unigram_perplexity(train: list[list[int]], held_out: list[list[int]], vocabulary_size: int) -> float:
    """The add-one unigram model's held-out perplexity (``</s>`` included): the number an LM must beat."""
    counts = np.ones(vocabulary_size + 1)
    counts[0] = 0
    for s in train:
        np.add.at(counts, s + [vocabulary_size], 1)
    with np.errstate(divide="ignore"):  # id 0 (start) is never predicted: log 0 = -inf, never looked up
        log_p = np.log(counts / counts.sum())
    tokens = [t for s in held_out for t in s + [vocabulary_size]]
    return float(np.exp(-np.mean(log_p[tokens]))) if tokens else float("nan")

