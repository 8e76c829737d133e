"""lstm_sequence: values and every gradient equal Keras' LSTM layer (autodiff) in float64."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

from tf_contextnet.models.lstm_sequence import lstm_sequence


@pytest.mark.parametrize("dtype, tolerance", [("float64", 1e-12), ("float32", 2e-6)])
@pytest.mark.parametrize("steps", [1, 9])
def test_values_and_gradients_match_keras_lstm(dtype, tolerance, steps):
    rng = np.random.default_rng(steps)
    x = tf.constant(rng.normal(size=(3, steps, 5)), dtype)
    lstm = keras.layers.LSTM(4, return_sequences=True, dtype=dtype)
    lstm.build((None, None, 5))
    lstm.cell.bias.assign(rng.normal(size=16))  # non-zero gates biases: every bias gradient matters
    upstream = tf.constant(rng.normal(size=(3, steps, 4)), dtype)
    results = []
    for run in (lambda x: lstm(x),
                lambda x: lstm_sequence(x, lstm.cell.kernel, lstm.cell.recurrent_kernel, lstm.cell.bias)):
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = run(x)
            loss = tf.reduce_sum(y * upstream)
        results.append([y] + tape.gradient(loss, [x, *lstm.trainable_variables]))
    for got, expected in zip(results[1], results[0]):
        np.testing.assert_allclose(got.numpy(), expected.numpy(), rtol=tolerance, atol=tolerance)


def test_inside_a_graph_with_unknown_steps():
    lstm = keras.layers.LSTM(3, return_sequences=True)
    lstm.build((None, None, 2))

    @tf.function(input_signature=[tf.TensorSpec([None, None, 2], tf.float32)])
    def grads(x):
        with tf.GradientTape() as tape:
            loss = tf.reduce_sum(lstm_sequence(x, lstm.cell.kernel, lstm.cell.recurrent_kernel, lstm.cell.bias))
        return tape.gradient(loss, lstm.trainable_variables)

    for steps in (1, 4):
        x = np.random.default_rng(steps).normal(size=(2, steps, 2)).astype(np.float32)
        with tf.GradientTape() as tape:
            loss = tf.reduce_sum(lstm(x))
        expected = tape.gradient(loss, lstm.trainable_variables)
        for got, want in zip(grads(x), expected):
            np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-5, atol=1e-6)
