"""Validation WER/CER from greedy decoding land in fit's history (every N epochs) and TensorBoard."""

from __future__ import annotations

import glob
import sys
from pathlib import Path

import keras
import pytest
import tensorflow as tf

sys.path.insert(0, str(Path(__file__).parent))
from tiny_transducer import TinyTransducer, toy_batch  # noqa: E402

from tf_contextnet.decoding import greedy_decode  # noqa: E402
from tf_contextnet.metrics import character_error_rate, word_error_rate  # noqa: E402
from tf_contextnet.text import CharacterTokenizer  # noqa: E402
from tf_contextnet.training import ValidationErrorRates  # noqa: E402


def _tensorboard_tags(log_dir: Path) -> set[str]:
    tags = set()
    for path in glob.glob(str(log_dir / "**" / "events.out.tfevents.*"), recursive=True):
        for event in tf.compat.v1.train.summary_iterator(path):
            tags.update(v.tag for v in event.summary.value)
    return tags


def test_logged_every_n_epochs_and_equal_to_a_direct_computation(tmp_path):
    tokenizer = CharacterTokenizer.train(["ab cd e"])
    keras.utils.set_random_seed(0)
    model = TinyTransducer(vocabulary_size=tokenizer.vocabulary_size)
    batches = [toy_batch(vocabulary_size=tokenizer.vocabulary_size, seed=s) for s in range(2)]
    model(batches[0])
    model.compile(optimizer=keras.optimizers.Adam(0.01))
    validation = tf.data.Dataset.from_tensor_slices(
        {k: tf.concat([b[k] for b in batches], 0) for k in batches[0]}).batch(3)
    callback = ValidationErrorRates(validation, tokenizer, every_n_epochs=2)
    board = keras.callbacks.TensorBoard(str(tmp_path / "tb"))
    history = model.fit(tf.data.Dataset.from_tensors(batches[0]).repeat(3), epochs=3, verbose=0,
                        callbacks=[callback, board]).history
    assert len(history["loss"]) == 3
    assert len(history["val_wer"]) == 2  # after epoch 2 (every 2) and epoch 3 (the last)

    refs, hyps = [], []
    for batch in validation:
        tokens, _ = greedy_decode(model, batch["features"], batch["feature_lengths"])
        refs += tokenizer.decode_to_python(batch["labels"])
        hyps += tokenizer.decode_to_python(tokens)
    assert history["val_wer"][-1] == pytest.approx(word_error_rate(refs, hyps))
    assert history["val_cer"][-1] == pytest.approx(character_error_rate(refs, hyps))
    assert {"epoch_wer", "epoch_cer"} <= _tensorboard_tags(tmp_path / "tb" / "validation")


def test_every_n_epochs_must_be_positive():
    with pytest.raises(ValueError, match="every_n_epochs"):
        ValidationErrorRates(tf.data.Dataset.range(1), None, every_n_epochs=0)


def test_stop_at_wer_stops_training():
    tokenizer = CharacterTokenizer.train(["ab cd e"])
    model = TinyTransducer(vocabulary_size=tokenizer.vocabulary_size)
    batch = toy_batch(vocabulary_size=tokenizer.vocabulary_size)
    model(batch)
    model.compile(optimizer=keras.optimizers.Adam(0.01))
    callback = ValidationErrorRates(tf.data.Dataset.from_tensors(batch), tokenizer, stop_at_wer=float("inf"))
    history = model.fit(tf.data.Dataset.from_tensors(batch), epochs=5, verbose=0, callbacks=[callback]).history
    assert len(history["loss"]) == 1 and len(history["val_wer"]) == 1
