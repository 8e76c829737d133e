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


def _poisoned_dataset(bad_batch: int, value: float, batch_size: int = 8):
    data = regression_data(64)
    data["target"][bad_batch * batch_size] = value
    return tf.data.Dataset.from_tensor_slices(data).batch(batch_size)


@pytest.mark.parametrize("value", [np.nan, np.inf])
def test_stops_at_the_first_bad_batch(value):
    model = TinyRegressor()
    model.compile(optimizer=keras.optimizers.SGD(0.01))
    guard = NonFiniteLossGuard()
    history = model.fit(_poisoned_dataset(3, value), epochs=5, verbose=0, callbacks=[guard])
    assert guard.stopped
    assert "batch 4" in guard.message and "epoch 1" in guard.message
    assert model.optimizer.iterations.numpy() == 4  # nothing after the bad batch
    assert len(history.history["loss"]) == 1


def test_finite_training_is_untouched_and_raise_mode_raises():
    model = TinyRegressor()
    model.compile(optimizer=keras.optimizers.SGD(0.01))
    guard = NonFiniteLossGuard()
    model.fit(_poisoned_dataset(0, 0.5), epochs=2, verbose=0, callbacks=[guard])
    assert not guard.stopped and model.optimizer.iterations.numpy() == 16
    with pytest.raises(FloatingPointError, match="loss became nan"):
        model.fit(_poisoned_dataset(1, np.nan), epochs=1, verbose=0, callbacks=[NonFiniteLossGuard(raise_error=True)])
