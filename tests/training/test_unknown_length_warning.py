"""``unknown_length_warning_ignored``: Keras' "ran out of data" warning at the end of a pass over a
dataset of unknown length (the validation set of training and of sweep trials) is hidden inside it,
and only that warning."""

import contextlib
import warnings

import keras
import numpy as np
import tensorflow as tf

from tf_contextnet.training.run_training import unknown_length_warning_ignored


def _fit_on_unknown_length_validation(wrap=contextlib.nullcontext) -> list[str]:
    x = np.arange(16, dtype=np.float32).reshape(8, 2)
    train = tf.data.Dataset.from_tensor_slices((x, x[:, :1])).batch(2).repeat()
    valid = tf.data.Dataset.from_tensor_slices((x, x[:, :1])).filter(lambda a, b: True).batch(2)
    assert valid.cardinality() == tf.data.UNKNOWN_CARDINALITY
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with wrap():
            model.fit(train, validation_data=valid, epochs=2, steps_per_epoch=2, shuffle=False, verbose=0)
            warnings.warn("another warning", UserWarning)
    return [str(w.message) for w in caught]


def test_keras_warns_without_the_filter():
    assert any("ran out of data" in m for m in _fit_on_unknown_length_validation())


def test_the_filter_hides_only_that_warning():
    messages = _fit_on_unknown_length_validation(unknown_length_warning_ignored)
    assert not any("ran out of data" in m for m in messages)
    assert "another warning" in messages
