"""The NaN/Inf guard stops fit at the first non-finite batch with a message naming it."""

from __future__ import annotations

import sys
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf

sys.path.insert(0, str(Path(__file__).parent))
from tiny_models import TinyRegressor, regression_data  # noqa: E402

from tf_contextnet.training import NonFiniteLossGuard  # noqa: E402
from tf_contextnet.training.non_finite_loss_guard import NonFiniteLossError  # noqa: E402


def _poisoned_dataset(bad_batch: int, value: float, batch_size: int = 8):
    data = regression_data(64)
    data["target"][bad_batch * batch_size] = value
    return tf.data.Dataset.from_tensor_slices(data).batch(batch_size)


class BatchEnds(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.batches = []

    def on_train_batch_end(self, batch, logs=None):
        self.batches.append(batch)


@pytest.mark.parametrize("value", [np.nan, np.inf])
def test_raises_at_the_first_bad_batch_before_later_callbacks(value):
    model = TinyRegressor()
    model.compile(optimizer=keras.optimizers.SGD(0.01))
    guard, later = NonFiniteLossGuard(), BatchEnds()
    with pytest.raises(NonFiniteLossError, match="epoch 1, batch 4 "):
        model.fit(_poisoned_dataset(3, value), epochs=5, verbose=0, callbacks=[guard, later])
    assert guard.stopped
    assert later.batches == [0, 1, 2]  # a backup callback after the guard never sees the bad batch
    assert model.optimizer.iterations.numpy() == 4


def test_stop_mode_and_finite_training():
    model = TinyRegressor()
    model.compile(optimizer=keras.optimizers.SGD(0.01))
    guard = NonFiniteLossGuard(raise_error=False)
    model.fit(_poisoned_dataset(0, 0.5), epochs=2, verbose=0, callbacks=[guard])
    assert not guard.stopped and model.optimizer.iterations.numpy() == 16
    history = model.fit(_poisoned_dataset(1, np.nan), epochs=3, verbose=0, callbacks=[guard]).history
    assert guard.stopped and "loss became nan" in guard.message and "batch 2" in guard.message
    assert len(history["loss"]) == 1 and model.optimizer.iterations.numpy() == 16 + 2


def test_an_invalid_label_under_jit_compile_stops_transducer_training():
    """XLA drops rnnt_loss's asserts: a label >= V gives a NaN loss (not a clipped, finite one), the guard
    stops on it, and the weights stay finite (the bad example's gradient is zero)."""
    from tiny_transducer import TinyTransducer, toy_batch

    keras.utils.set_random_seed(0)
    good = toy_batch(vocabulary_size=6)
    labels = good["labels"].numpy()
    labels[1, 0] = 6  # within label_lengths (2), one past the vocabulary
    bad = dict(good, labels=tf.constant(labels))
    data = tf.data.Dataset.from_tensors(good).repeat(2).concatenate(tf.data.Dataset.from_tensors(bad))
    model = TinyTransducer(vocabulary_size=6)
    model.compile(optimizer=keras.optimizers.SGD(0.01), jit_compile=True)
    guard = NonFiniteLossGuard()
    with pytest.raises(NonFiniteLossError, match=r"(?s)loss became nan at epoch 1, batch 3 .*>= the vocabulary"):
        model.fit(data, epochs=1, verbose=0, callbacks=[guard])
    assert all(np.isfinite(w.numpy()).all() for w in model.weights)
