"""Validation WER/CER from greedy decoding land in fit's history (every N epochs) and TensorBoard."""

from __future__ import annotations

import glob
import sys
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf

sys.path.insert(0, str(Path(__file__).parent))
from tiny_transducer import TinyTransducer  # noqa: E402

from tf_contextnet.text import CharacterTokenizer  # noqa: E402
from tf_contextnet.training import ValidationErrorRates  # noqa: E402


def _tensorboard_tags(log_dir: Path) -> set[str]:
    tags = set()
    for path in glob.glob(str(log_dir / "**" / "events.out.tfevents.*"), recursive=True):
        for event in tf.compat.v1.train.summary_iterator(path):
            tags.update(v.tag for v in event.summary.value)
    return tags


REFERENCES = ["aaaaaa", "aaaa e", "e"]
# The forced model emits one "a" per encoder frame (6, 5 and 4 frames), so against REFERENCES, counted by hand:
# words: 0 + 2 ("aaaa"->"aaaaa", "e" deleted) + 1 = 3 edits over 4 words;
# characters: 0 + 2 (" "->"a", "e" deleted) + 4 ("e"->"a", 3 inserted) = 6 edits over 13 characters.
WER, CER = 3 / 4, 6 / 13


def _forced_setup():
    """A transducer whose joint always prefers "a" (output kernel 0, bias) and a validation set of REFERENCES."""
    tokenizer = CharacterTokenizer.train(["ab cd e"])
    keras.utils.set_random_seed(0)
    model = TinyTransducer(vocabulary_size=tokenizer.vocabulary_size)
    labels = tokenizer.encode(REFERENCES)
    feature_lengths = tf.constant([12, 10, 8])
    batch = {"features": tf.random.normal([3, 12, 5]) * tf.sequence_mask(feature_lengths, 12, tf.float32)[..., None],
             "feature_lengths": feature_lengths, "labels": labels.to_tensor(),
             "label_lengths": tf.cast(labels.row_lengths(), tf.int32)}
    model(batch)
    kernel, bias = model.joint_network.out.get_weights()
    bias = np.zeros_like(bias)
    bias[int(tokenizer.encode(["a"])[0][0])] = 5.0
    model.joint_network.out.set_weights([np.zeros_like(kernel), bias])
    model.compile(optimizer=keras.optimizers.SGD(0.0))  # fit leaves the forced weights as they are
    return model, tokenizer, batch


def test_logged_every_n_epochs_and_equal_to_hand_counted_rates(tmp_path):
    model, tokenizer, batch = _forced_setup()
    validation = tf.data.Dataset.from_tensor_slices(batch).batch(2)
    callback = ValidationErrorRates(validation, tokenizer, every_n_epochs=2, max_symbols_per_frame=1)
    board = keras.callbacks.TensorBoard(str(tmp_path / "tb"))
    history = model.fit(tf.data.Dataset.from_tensors(batch).repeat(3), epochs=3, verbose=0,
                        callbacks=[callback, board]).history
    assert len(history["loss"]) == 3
    assert len(history["val_wer"]) == 2  # after epoch 2 (every 2) and epoch 3 (the last)
    assert history["val_wer"] == pytest.approx([WER, WER])
    assert history["val_cer"] == pytest.approx([CER, CER])
    jiwer = pytest.importorskip("jiwer")
    hypotheses = ["a" * 6, "a" * 5, "a" * 4]
    assert WER == pytest.approx(jiwer.wer(REFERENCES, hypotheses))
    assert CER == pytest.approx(jiwer.cer(REFERENCES, hypotheses))
    assert {"epoch_wer", "epoch_cer"} <= _tensorboard_tags(tmp_path / "tb" / "validation")


def test_every_n_epochs_must_be_positive():
    with pytest.raises(ValueError, match="every_n_epochs"):
        ValidationErrorRates(tf.data.Dataset.range(1), None, every_n_epochs=0)


@pytest.mark.parametrize("stop_at_wer,epochs_run", [(0.8, 1), (0.7, 3)])
def test_stop_at_wer_stops_training_at_or_below_the_threshold(stop_at_wer, epochs_run):
    model, tokenizer, batch = _forced_setup()
    callback = ValidationErrorRates(tf.data.Dataset.from_tensors(batch), tokenizer, max_symbols_per_frame=1,
                                    stop_at_wer=stop_at_wer)
    history = model.fit(tf.data.Dataset.from_tensors(batch), epochs=3, verbose=0, callbacks=[callback]).history
    assert len(history["loss"]) == epochs_run and history["val_wer"] == pytest.approx([WER] * epochs_run)
