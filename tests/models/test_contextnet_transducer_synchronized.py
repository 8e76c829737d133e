"""ContextNetTransducer(synchronized_batch_norm=True) under MirroredStrategy on two logical CPUs.

One SGD step of the real model (full-depth encoder at alpha 0.05: it has no reduced-depth option;
no augmentation, no variational noise) on a global batch of 4 utterances, 2 per replica, must
leave the weights and the batch-norm moving statistics of one device's step on the same batch.
``synchronized_transducer_worker.py`` runs the three steps in a subprocess (logical devices must
be configured before TensorFlow initialises them).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tf_contextnet.layers import MaskedBatchNormalization
from tf_contextnet.models.contextnet_transducer import ContextNetTransducer

WORKER = Path(__file__).parent / "synchronized_transducer_worker.py"


def _run_worker(out: Path, mode: str, timeout: float) -> dict[str, np.ndarray]:
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "CUDA_VISIBLE_DEVICES": ""}
    proc = subprocess.run([sys.executable, str(WORKER), str(out), mode], env=env, capture_output=True, text=True,
                          timeout=timeout)
    assert proc.returncode == 0, f"worker failed (rc {proc.returncode}):\n{(proc.stdout + proc.stderr)[-3000:]}"
    data = dict(np.load(out))
    assert int(data["synced/replicas"]) == 2 and int(data["single/replicas"]) == 1
    assert int(data["single/steps"]) == int(data["synced/steps"]) == int(data["unsynced/steps"]) == 1
    return data


def _weights(data: dict, run: str, key: str) -> list[np.ndarray]:
    count = sum(1 for k in data if k.startswith(f"{run}/w"))
    return [data[f"{run}/{key}{i}"] for i in range(count)]


def _moving_statistics_error(data: dict, run: str) -> float:
    """The largest relative difference of a moving statistic (either replica's copy) from one device's."""
    worst = 0.0
    for i, (name, reference) in enumerate(zip(data["single/names"], _weights(data, "single", "w"))):
        if "moving_" in str(name):
            for replica in ("r0_", "r1_"):
                error = np.max(np.abs(data[f"{run}/{replica}{i}"] - reference)) / np.max(np.abs(reference))
                worst = max(worst, float(error))
    return worst


def _assert_step_equals_single_device(data: dict) -> None:
    trainable = data["single/trainable"]
    assert trainable.sum() > 100 and (~trainable).sum() > 100  # kernels, γ/β; moving mean/variance
    for name, init, init_single in zip(data["single/names"], _weights(data, "synced", "init"),
                                       _weights(data, "single", "init")):
        np.testing.assert_array_equal(init, init_single, err_msg=f"{name}: different starting weights")
    for i, name in enumerate(data["single/names"]):
        reference, init = data[f"single/w{i}"], data[f"single/init{i}"]
        for replica in ("r0_", "r1_"):  # what every replica holds, the moving statistics included
            np.testing.assert_allclose(data[f"synced/{replica}{i}"], reference, rtol=1e-5, atol=1e-9, err_msg=name)
        if trainable[i]:  # the update itself (a small part of the weight) to the same precision
            update, expected = data[f"synced/w{i}"] - init, reference - init
            np.testing.assert_allclose(update, expected, rtol=0, atol=1e-7 * np.max(np.abs(expected)), err_msg=name)


@pytest.fixture(scope="module")
def eager_steps(tmp_path_factory) -> dict[str, np.ndarray]:
    return _run_worker(tmp_path_factory.mktemp("synchronized_transducer") / "eager.npz", "eager", timeout=600)


def test_synchronized_step_equals_single_device_step(eager_steps):
    _assert_step_equals_single_device(eager_steps)
    assert _moving_statistics_error(eager_steps, "synced") < 1e-9


def test_unsynchronized_step_differs_in_moving_statistics(eager_steps):
    """Per-replica statistics (the default) miss the single-device ones: the check above can fail."""
    assert _moving_statistics_error(eager_steps, "unsynced") > 1e-2
    with pytest.raises(AssertionError):
        _assert_step_equals_single_device({**eager_steps, **{k.replace("unsynced/", "synced/"): v
                                                            for k, v in eager_steps.items()
                                                            if k.startswith("unsynced/")}})


@pytest.mark.slow
def test_synchronized_step_in_graph_mode_equals_single_device_step(tmp_path):
    """The same through ``fit``'s tf.function (collectives in the traced forward and gradient)."""
    data = _run_worker(tmp_path / "graph.npz", "graph", timeout=1800)
    _assert_step_equals_single_device(data)
    assert _moving_statistics_error(data, "unsynced") > 1e-2


def test_option_reaches_every_batch_norm_and_survives_the_config():
    model = ContextNetTransducer.from_preset("contextnet_s", 6, alpha=0.05, prediction_embedding_dim=8,
                                             prediction_units=8, joint_dim=8, synchronized_batch_norm=True)
    config = model.get_config()
    assert config["synchronized_batch_norm"] is True
    restored = ContextNetTransducer.from_config(config)
    restored.build()
    assert restored.encoder.get_config()["synchronized_batch_norm"] is True
    assert all(block.get_config()["synchronized_batch_norm"] for block in restored.encoder.blocks)
    norms = [layer for layer in restored._flatten_layers() if isinstance(layer, MaskedBatchNormalization)]
    assert len(norms) == 2 + 21 * 6 and all(norm.synchronized for norm in norms)
    default = ContextNetTransducer.from_preset("contextnet_s", 6, alpha=0.05)
    assert not any(layer.synchronized for layer in default._flatten_layers()
                   if isinstance(layer, MaskedBatchNormalization))
