"""ContextNetTransducer: outputs, presets vs the paper, augmentation, config, save/load, fit, precision."""

from __future__ import annotations

import os

import keras
import numpy as np
import pytest
import tensorflow as tf

from tf_contextnet.models import ContextNetTransducer, PAPER_PARAMETERS, transducer_parameters, preset_config

TINY = {"vocabulary_size": 9, "num_mel_bins": 12, "alpha": 1 / 32, "prediction_embedding_dim": 8,
        "prediction_units": 6, "joint_dim": 10}


def _batch(seed=0):
    rng = np.random.default_rng(seed)
    lengths = np.array([21, 13], np.int32)
    features = rng.standard_normal((2, 21, 12)).astype(np.float32)
    features *= np.arange(21)[None, :, None] < lengths[:, None, None]
    return {"features": tf.constant(features), "feature_lengths": tf.constant(lengths),
            "labels": tf.constant([[1, 2, 3], [4, 0, 0]], tf.int32), "label_lengths": tf.constant([3, 1])}


@keras.saving.register_keras_serializable(package="tf_contextnet_tests")
class ZeroFeatures(keras.layers.Layer):
    """A stand-in augmentation: zero every feature (training only, as the model calls it)."""

    def call(self, inputs, training=None):
        features, lengths = inputs
        return tf.zeros_like(features), lengths


def test_call_shapes_lengths_and_methods():
    model = ContextNetTransducer(**TINY)
    x = _batch()
    out = model(x)
    assert out["logits"].shape == (2, 3, 4, 9)
    np.testing.assert_array_equal(out["logit_lengths"].numpy(), [3, 2])
    np.testing.assert_array_equal(out["label_lengths"].numpy(), [3, 1])
    encoded, lengths = model.transcribe(x["features"], x["feature_lengths"])
    predicted, predicted_lengths = model.predict_labels(x["labels"], x["label_lengths"])
    np.testing.assert_array_equal(predicted_lengths.numpy(), [4, 2])
    lattice = model.join(encoded[:, :, None], predicted[:, None])
    np.testing.assert_allclose(lattice.numpy(), out["logits"].numpy(), atol=1e-6)


def test_bad_inputs_are_clear_errors():
    model = ContextNetTransducer(**TINY)
    with pytest.raises(ValueError, match="feature_lengths"):
        model({"features": tf.zeros((1, 5, 12))})
    x = _batch()
    with pytest.raises(ValueError, match="features"):
        model.transcribe(tf.zeros((1, 5, 7)), tf.constant([5]))


def test_augmentation_only_in_training():
    model = ContextNetTransducer(**TINY, augmentation=ZeroFeatures())
    x = _batch()
    plain = ContextNetTransducer(**TINY)
    plain(x)
    model(x)
    model.set_weights(plain.get_weights())
    np.testing.assert_allclose(model(x, training=False)["logits"].numpy(), plain(x, training=False)["logits"].numpy(),
                               atol=1e-6)
    zeros = dict(x, features=tf.zeros_like(x["features"]))
    np.testing.assert_allclose(model(x, training=True)["logits"].numpy(),
                               plain(zeros, training=True)["logits"].numpy(), atol=1e-5)


def test_config_round_trip_and_save_load(tmp_path):
    model = ContextNetTransducer(**TINY, se_context_window=4, augmentation=ZeroFeatures(),
                                 block_indices=(0, 1, 3, 7, 14, 22))
    x = _batch()
    before = model(x)["logits"].numpy()
    config = model.get_config()
    assert ContextNetTransducer.from_config(config).get_config() == config
    path = os.path.join(str(tmp_path), "model.keras")
    model.save(path)
    restored = keras.saving.load_model(path)
    assert isinstance(restored.augmentation, ZeroFeatures)
    assert [block.name for block in restored.encoder.blocks] == ["c0", "c1", "c3", "c7", "c14", "c22"]
    np.testing.assert_allclose(restored(x)["logits"].numpy(), before, atol=1e-6)


@keras.saving.register_keras_serializable(package="tf_contextnet_tests")
class AddOne(keras.layers.Layer):
    """A stand-in augmentation that adds one to every feature."""

    def call(self, inputs, training=None):
        features, lengths = inputs
        return features + 1.0, lengths


def test_augmentation_list_runs_in_order_and_saves(tmp_path):
    x = _batch()
    plain = ContextNetTransducer(**TINY)
    plain(x)
    # zero then add one: the encoder sees ones; the other order would give zeros
    model = ContextNetTransducer(**TINY, augmentation=[ZeroFeatures(), AddOne()])
    model(x)
    model.set_weights(plain.get_weights())
    ones = dict(x, features=tf.ones_like(x["features"]))
    np.testing.assert_allclose(model(x, training=True)["logits"].numpy(),
                               plain(ones, training=True)["logits"].numpy(), atol=1e-5)
    path = os.path.join(str(tmp_path), "model.keras")
    model.save(path)
    restored = keras.saving.load_model(path)
    assert [type(layer) for layer in restored.augmentation] == [ZeroFeatures, AddOne]


class StandInLossModel(ContextNetTransducer):
    """Test-only loss (mean squared logits over valid positions): the RNN-T loss lives elsewhere."""

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        return tf.reduce_mean(tf.square(y_pred["logits"]))


@pytest.mark.slow  # tracing the 23-block training graph takes ~1-1.5 min here; ContextBlock's fit step is fast
def test_fit_step_moves_weights():
    model = StandInLossModel(**TINY)
    x = _batch()
    model(x)
    model.compile(optimizer=keras.optimizers.SGD(0.1))
    before = [np.array(w) for w in model.trainable_weights]
    history = model.fit(tf.data.Dataset.from_tensors(x), epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][-1]) and history.history["loss"][-1] > 0
    moved = [not np.allclose(b, np.array(w)) for b, w in zip(before, model.trainable_weights)]
    assert all(moved[:3]) and sum(moved) > 0.9 * len(moved)


@pytest.mark.parametrize("policy, compute", [("mixed_float16", "float16"), ("mixed_bfloat16", "bfloat16")])
def test_mixed_precision(policy, compute):
    reference = ContextNetTransducer(**TINY)
    x = _batch()
    expected = reference(x)["logits"].numpy()
    model = ContextNetTransducer(**TINY, dtype=policy)
    model(x)
    model.set_weights(reference.get_weights())
    logits = model(x)["logits"]
    assert logits.dtype.name == compute
    assert all(v.dtype == "float32" for v in model.weights)
    got = tf.cast(logits, tf.float32).numpy()
    assert np.all(np.isfinite(got))
    assert np.max(np.abs(got - expected)) < (0.05 if compute == "float16" else 0.2) * max(1.0, np.abs(expected).max())


def test_small_preset_is_within_five_percent_of_paper():
    model = ContextNetTransducer.from_preset("contextnet_s", vocabulary_size=1024)
    assert model.alpha == 0.5 and model.encoder.output_dim == 320
    total = model.count_params()
    assert total == transducer_parameters(**preset_config("contextnet_s", 1024))["total"]
    assert abs(total - PAPER_PARAMETERS["contextnet_s"]) / PAPER_PARAMETERS["contextnet_s"] < 0.05


def test_presets_m_and_l_counts_beside_paper():
    """Analytic counts (equal to the built model, see test_complexity): M matches, L is 12% short."""
    m = transducer_parameters(**preset_config("contextnet_m", 1024))["total"]
    large = transducer_parameters(**preset_config("contextnet_l", 1024))["total"]
    assert abs(m - PAPER_PARAMETERS["contextnet_m"]) / PAPER_PARAMETERS["contextnet_m"] < 0.01
    assert 0.85 < large / PAPER_PARAMETERS["contextnet_l"] < 0.9


def test_from_preset_overrides_and_unknown_name():
    model = ContextNetTransducer.from_preset("contextnet_m", vocabulary_size=32, alpha=1 / 32,
                                             prediction_units=8, prediction_embedding_dim=8, joint_dim=8)
    assert model.prediction_num_layers == 2 and model.alpha == 1 / 32
    with pytest.raises(ValueError, match="unknown preset"):
        ContextNetTransducer.from_preset("contextnet_xl", vocabulary_size=32)


def test_batch_norm_momentum_reaches_every_batch_norm_and_sets_the_update():
    """One training call moves each moving mean by (1 - momentum) × its batch mean: 0.9 moves it 10× as far as
    the default 0.99 (the same weights see the same batch statistics), and the option survives the config."""
    from tf_contextnet.layers.masked_batch_normalization import MaskedBatchNormalization

    def moving_means(momentum):
        keras.utils.set_random_seed(3)
        model = ContextNetTransducer(**TINY, batch_norm_momentum=momentum)
        model(_batch())
        norms = [layer for layer in model._flatten_layers() if isinstance(layer, MaskedBatchNormalization)]
        assert norms and {layer.momentum for layer in norms} == {momentum}
        model(_batch(), training=True)
        restored = ContextNetTransducer.from_config(model.get_config())
        assert restored.batch_norm_momentum == momentum
        return np.concatenate([np.asarray(layer.moving_mean).ravel() for layer in norms])

    fast, default = moving_means(0.9), moving_means(0.99)
    assert np.abs(default).max() > 1e-4
    np.testing.assert_allclose(fast, 10.0 * default, rtol=1e-3, atol=1e-7)
