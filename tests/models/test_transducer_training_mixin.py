"""TransducerTrainingMixin: a compiled loss takes precedence, bad ones are refused at compile, RnntLoss
scales for distribution like a Keras loss, and ``l2_weight`` is a saved constructor argument."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf

from tf_contextnet.losses import RnntLoss, l2_variables, rnnt_loss
from tf_contextnet.models import ContextNetTransducer, transducer_parts

TINY = {"vocabulary_size": 7, "num_mel_bins": 12, "alpha": 1 / 32, "prediction_embedding_dim": 8,
        "prediction_units": 6, "joint_dim": 10, "downsample_blocks": (1,)}


def _batch():
    rng = np.random.default_rng(0)
    lengths = np.array([24, 15], np.int32)
    features = rng.standard_normal((2, 24, 12)).astype(np.float32)
    features *= np.arange(24)[None, :, None] < lengths[:, None, None]
    return {"features": tf.constant(features), "feature_lengths": tf.constant(lengths),
            "labels": tf.constant([[1, 2, 3], [4, 0, 0]], tf.int32), "label_lengths": tf.constant([3, 1])}


def _nll(model, batch):
    out = model(batch)
    return rnnt_loss(out["logits"], batch["labels"], out["logit_lengths"], batch["label_lengths"]).numpy()


def _squares(model):
    return sum(float(np.sum(np.square(v.numpy().astype(np.float64)))) for v in l2_variables(model))


def test_compiled_loss_takes_precedence_in_compute_loss():
    keras.utils.set_random_seed(0)
    model = ContextNetTransducer(**TINY, l2_weight=1e-3)
    batch = _batch()
    y_pred = model(batch)
    nll = rnnt_loss(y_pred["logits"], batch["labels"], y_pred["logit_lengths"], batch["label_lengths"]).numpy()
    l2 = 1e-3 * _squares(model)
    model.compile(optimizer=keras.optimizers.SGD(0.0))
    assert float(model.compute_loss(batch, None, y_pred)) == pytest.approx(nll.mean() + l2, rel=1e-5)
    model.compile(optimizer=keras.optimizers.SGD(0.0), loss=RnntLoss(reduction="sum"))
    # the compiled "sum" replaces the built-in mean; the model's L2 term is still added
    assert float(model.compute_loss(batch, None, y_pred)) == pytest.approx(nll.sum() + l2, rel=1e-5)


def test_fit_reports_and_trains_on_the_compiled_loss():
    """Keras' train_step reaches the mixin's compute_loss with the compiled loss (host: the tiny transducer
    of tests/training, whose only training code is this mixin; ContextNet's 23 blocks add minutes here)."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "training"))
    from tiny_transducer import TinyTransducer, toy_batch

    keras.utils.set_random_seed(0)
    model = TinyTransducer(vocabulary_size=6)
    batch = toy_batch()
    model(batch)
    model.l2_weight = 0.0
    model.compile(optimizer=keras.optimizers.SGD(0.0), loss=RnntLoss(reduction="sum"))
    history = model.fit(tf.data.Dataset.from_tensors(batch), epochs=1, verbose=0).history["loss"]
    assert history[0] == pytest.approx(_nll(model, batch).sum(), rel=1e-5)
    assert history[0] > 1.5 * _nll(model, batch).mean()  # not the built-in mean


@pytest.mark.parametrize("loss", ["mse", [RnntLoss()], {"logits": RnntLoss()}, 3.0])
def test_a_loss_that_cannot_apply_is_refused_at_compile(loss):
    model = ContextNetTransducer(**TINY)
    with pytest.raises(TypeError, match=r"ContextNetTransducer: compile\(loss=\.\.\.\) must be one loss object"):
        model.compile(optimizer="sgd", loss=loss)


def test_l2_weight_is_a_saved_constructor_argument():
    model = ContextNetTransducer(**TINY, l2_weight=0.25)
    assert model.l2_weight == 0.25 and model.get_config()["l2_weight"] == 0.25
    assert ContextNetTransducer(**TINY).l2_weight == 1e-6  # the paper's λ by default
    model.l2_weight = 0.5  # the attribute still works, and is what gets saved
    config = json.loads(json.dumps(keras.saving.serialize_keras_object(model)))
    assert config["config"]["l2_weight"] == 0.5
    assert keras.saving.deserialize_keras_object(config).l2_weight == 0.5  # what load_model does


_REPLICA_SCRIPT = textwrap.dedent("""
    import json, sys
    import numpy as np
    import tensorflow as tf
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    import keras
    from tf_contextnet.losses import RnntLoss
    rng = np.random.default_rng(0)
    logits = rng.standard_normal((4, 5, 3, 6)).astype(np.float32)
    labels = np.array([[1, 2], [3, 0], [4, 5], [0, 0]], np.int32)
    y_pred = {"logits": logits, "logit_lengths": np.array([5, 4, 3, 5], np.int32),
              "label_lengths": np.array([2, 1, 2, 0], np.int32)}
    x_mse, y_mse = rng.standard_normal((4, 3)).astype(np.float32), rng.standard_normal((4, 3)).astype(np.float32)
    strategy = tf.distribute.MirroredStrategy([d.name for d in tf.config.list_logical_devices("CPU")])
    halves = [slice(0, 2), slice(2, 4)]

    def per_replica(ctx):
        part = halves[ctx.replica_id_in_sync_group]
        pred = {k: v[part] for k, v in y_pred.items()}
        return {r: RnntLoss(reduction=r)(labels[part], pred) for r in ("sum_over_batch_size", "mean_over_labels", "sum")} | {
            "keras_mse": keras.losses.MeanSquaredError()(y_mse[part], x_mse[part])}

    values = strategy.experimental_distribute_values_from_function(lambda ctx: ctx.replica_id_in_sync_group)
    out = strategy.run(lambda _: per_replica(tf.distribute.get_replica_context()), args=(values,))
    summed = {k: float(strategy.reduce("SUM", v, axis=None)) for k, v in out.items()}
    single = {r: float(RnntLoss(reduction=r)(labels, y_pred)) for r in ("sum_over_batch_size", "mean_over_labels", "sum")}
    single["keras_mse"] = float(keras.losses.MeanSquaredError()(y_mse, x_mse))
    print(json.dumps({"replicas": strategy.num_replicas_in_sync, "summed": summed, "single": single}))
""")


def test_rnnt_loss_scales_for_distribution_like_keras_losses():
    """Two replicas, half the batch each: the replica losses sum to the global-batch mean (and sum)."""
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": "", "TF_CPP_MIN_LOG_LEVEL": "2",
           "PYTHONPATH": os.pathsep.join([str(Path(__file__).resolve().parents[2]), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.run([sys.executable, "-c", _REPLICA_SCRIPT], env=env, capture_output=True, text=True,
                          timeout=180)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["replicas"] == 2
    summed, single = result["summed"], result["single"]
    assert summed["keras_mse"] == pytest.approx(single["keras_mse"], rel=1e-5)  # Keras' own convention
    assert summed["sum_over_batch_size"] == pytest.approx(single["sum_over_batch_size"], rel=1e-5)
    # both halves hold 3 tokens (an empty utterance counts 1), so the scaled per-token means add up too
    assert summed["mean_over_labels"] == pytest.approx(single["mean_over_labels"], rel=1e-5)
    assert summed["sum"] == pytest.approx(single["sum"], rel=1e-5)  # a sum is not scaled


def test_prediction_lstm_implementation_reaches_the_prediction_network_and_the_config():
    model = ContextNetTransducer(**TINY, prediction_lstm_implementation="keras")
    assert transducer_parts(model).prediction_network.lstm_implementation == "keras"
    config = model.get_config()
    assert config["prediction_lstm_implementation"] == "keras"
    assert ContextNetTransducer(**TINY).get_config()["prediction_lstm_implementation"] == "auto"
