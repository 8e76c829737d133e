"""Variational noise: forward/backward on w + ε, update applied to the clean w."""

from __future__ import annotations

import sys
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf

sys.path.insert(0, str(Path(__file__).parent))
from tiny_models import TinyRegressor, regression_dataset  # noqa: E402

from tf_contextnet.training import VariationalNoise  # noqa: E402


def _model(seed=0):
    keras.utils.set_random_seed(seed)
    model = TinyRegressor(units=6)
    model(next(iter(regression_dataset())))
    return model


def _fit(model, callbacks, lr=0.0, epochs=1):
    model.compile(optimizer=keras.optimizers.SGD(lr))
    return model.fit(regression_dataset(), epochs=epochs, verbose=0, callbacks=callbacks).history["loss"][-1]


def test_noise_changes_the_loss_but_not_the_weights_when_lr_is_zero():
    model = _model()
    before = [w.numpy() for w in model.weights]
    clean = _fit(model, [])
    noisy = _fit(model, [VariationalNoise(stddev=0.5, start_step=0, layer_name="prediction_network")])
    assert abs(noisy - clean) > 1e-3, "noise did not reach the forward pass"
    for b, w in zip(before, model.weights):
        # removed after each step, up to float32 rounding of (w + ε) − ε
        np.testing.assert_allclose(w.numpy(), b, rtol=0, atol=1e-6)


def test_no_noise_before_the_start_step():
    model = _model()
    clean = _fit(model, [])
    late = _fit(model, [VariationalNoise(stddev=0.5, start_step=10_000, layer_name="prediction_network")])
    assert late == pytest.approx(clean, rel=1e-6)


def test_update_uses_the_noisy_gradient_on_the_clean_weights():
    """For a head whose loss is linear in its weights the gradient ignores ε: noisy == clean training."""

    class LinearHead(TinyRegressor):
        def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
            return tf.reduce_mean(y_pred)

    results = []
    for callbacks in ([], [VariationalNoise(stddev=0.3, start_step=0, layer_name="prediction_network")]):
        keras.utils.set_random_seed(0)
        model = LinearHead(units=6)
        model(next(iter(regression_dataset())))
        model.hidden.trainable = False  # the hidden layer's gradient would see ε through the head
        _fit(model, callbacks, lr=0.1, epochs=2)
        results.append([w.numpy() for w in model.prediction_network.weights])
    for clean, noisy in zip(*results):
        np.testing.assert_allclose(noisy, clean, rtol=1e-5, atol=1e-6)
    assert model.optimizer.iterations.numpy() == 16


def test_missing_layer_is_named():
    model = _model()
    with pytest.raises(AttributeError, match="no attribute 'decoder'"):
        _fit(model, [VariationalNoise(stddev=0.1, start_step=0, layer_name="decoder")])


def test_default_layer_needs_the_transducer_contract():
    """Without ``layer_name`` the noise goes to a transducer's declared prediction network; a model that
    declares no contract is refused by name instead of being guessed at."""
    model = _model()
    with pytest.raises(TypeError, match="does not declare the transducer contract.*layer_name"):
        _fit(model, [VariationalNoise(stddev=0.1, start_step=0)])
