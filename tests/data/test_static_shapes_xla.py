"""The TPU input path on CPU: ``make_dataset(static_shapes=True)`` batches (from real prepared
audio) train a ContextNet transducer through ``fit`` with ``jit_compile=True``, which, like a TPU,
compiles the whole step with XLA and needs every shape known."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from tf_contextnet.data import make_dataset
from tf_contextnet.models import ContextNetTransducer
from tf_contextnet.text import CharacterTokenizer
from tf_contextnet.training import WarmupSchedule, make_optimizer

pytestmark = [pytest.mark.data, pytest.mark.slow]  # XLA compiles the 23-block step: ~1-2 min here


def test_static_batches_train_under_xla(prepared_librispeech):
    folder, transcripts = prepared_librispeech
    tokenizer = CharacterTokenizer.train([t.lower() for t in transcripts.values()])  # prepare lower-cases
    dataset = make_dataset(folder, tokenizer, 2, shuffle=False, max_duration=3.0, max_label_length=120,
                           static_shapes=True)
    assert dataset.element_spec["features"].shape.is_fully_defined()
    model = ContextNetTransducer(vocabulary_size=tokenizer.vocabulary_size, alpha=1 / 16,
                                 prediction_embedding_dim=16, prediction_units=16, joint_dim=16)
    model.compile(optimizer=make_optimizer(WarmupSchedule(1e-3, 10)), jit_compile=True)
    batch = next(iter(dataset))
    model(batch)
    before = [w.numpy().copy() for w in model.trainable_weights]
    history = model.fit(dataset.take(2), epochs=1, verbose=0)
    loss = history.history["loss"][-1]
    assert np.isfinite(loss) and loss > 0
    moved = sum(not np.array_equal(b, w.numpy()) for b, w in zip(before, model.trainable_weights))
    assert moved == len(before)
    assert int(model.optimizer.iterations.numpy()) == 2
