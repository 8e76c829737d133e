"""Distribution: MultiWorkerMirroredStrategy with two real worker processes, MirroredStrategy on two
logical CPUs; both must end with the weights of single-device training on the same global batches."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tf_contextnet.training import get_strategy
from tf_contextnet.training.multi_worker_shim import UPSTREAM_ISSUE, is_affected

WORKER = Path(__file__).parent / "distributed_fit_worker.py"


def _free_ports(n: int) -> list[int]:
    sockets = [socket.socket() for _ in range(n)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def _launch(mode: str, out: Path, env_extra: dict | None = None, model: str = "tiny") -> subprocess.Popen:
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "CUDA_VISIBLE_DEVICES": "", **(env_extra or {})}
    return subprocess.Popen([sys.executable, str(WORKER), mode, str(out), model], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _finish(proc: subprocess.Popen, timeout: float = 240) -> None:
    try:
        output, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        output, _ = proc.communicate()
        pytest.fail(f"worker timed out:\n{output[-3000:]}")
    assert proc.returncode == 0, f"worker failed (rc {proc.returncode}):\n{output[-3000:]}"


def _weights(path: Path) -> list[np.ndarray]:
    data = np.load(path)
    return [data[k] for k in sorted((k for k in data.files if k.startswith("w")), key=lambda k: int(k[1:]))]


@pytest.fixture(scope="module")
def single_device(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("single") / "default.npz"
    _finish(_launch("default", out))
    return out


def _multi_worker(tmp_path: Path, model: str = "tiny", timeout: float = 240) -> list[Path]:
    ports = _free_ports(2)
    cluster = {"worker": [f"127.0.0.1:{p}" for p in ports]}
    outs = [tmp_path / f"worker{i}.npz" for i in range(2)]
    procs = [_launch("multi-worker", outs[i], {"TF_CONFIG": json.dumps({"cluster": cluster,
                                                                         "task": {"type": "worker", "index": i}})},
                     model=model)
             for i in range(2)]
    for proc in procs:
        _finish(proc, timeout)
    return outs


def test_multi_worker_two_processes_train_identically(tmp_path, single_device):
    outs = _multi_worker(tmp_path)
    w0, w1 = _weights(outs[0]), _weights(outs[1])
    assert int(np.load(outs[0])["replicas"]) == 2
    for a, b in zip(w0, w1):
        np.testing.assert_array_equal(a, b)  # all-reduced updates: bit-identical on both workers
    for a, ref in zip(w0, _weights(single_device)):
        np.testing.assert_allclose(a, ref, rtol=1e-4, atol=1e-5)
    assert int(np.load(outs[0])["steps"]) == int(np.load(single_device)["steps"]) == 24
    assert int(np.load(outs[0])["noised_steps"]) == int(np.load(single_device)["noised_steps"]) == 19  # 5..23
    np.testing.assert_allclose(np.load(outs[0])["loss"], np.load(single_device)["loss"], rtol=1e-4)


def test_mirrored_two_logical_cpus_matches_single_device(tmp_path, single_device):
    out = tmp_path / "mirrored.npz"
    _finish(_launch("mirrored", out))
    assert int(np.load(out)["replicas"]) == 2
    assert int(np.load(out)["noised_steps"]) == 19
    for a, ref in zip(_weights(out), _weights(single_device)):
        np.testing.assert_allclose(a, ref, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(np.load(out)["loss"], np.load(single_device)["loss"], rtol=1e-4)


def test_unknown_strategy_is_named():
    with pytest.raises(ValueError, match="unknown strategy 'gpu'"):
        get_strategy("gpu")


@pytest.mark.parametrize("version,affected", [("3.15.0", True), ("3.8.1", True), ("3.16.0", False),
                                              ("4.0.0", False), ("2.15.0", False)])
def test_shim_is_version_guarded(monkeypatch, version, affected):
    """Patched only for the Keras versions checked (3.x up to 3.15); a newer Keras is left alone."""
    import keras

    from tf_contextnet.training import multi_worker_shim

    assert "20585" in UPSTREAM_ISSUE
    monkeypatch.setattr(keras, "__version__", version)
    monkeypatch.setattr(multi_worker_shim, "_applied", False)
    assert is_affected() is affected
    if not affected:
        from keras.src.backend.tensorflow import trainer as tf_trainer

        before = tf_trainer.reduce_per_replica
        assert multi_worker_shim.apply_multi_worker_shim() is False
        assert tf_trainer.reduce_per_replica is before  # nothing patched


@pytest.mark.slow
def test_multi_worker_contextnet_transducer(tmp_path):
    """The real model (tiny ContextNet, RNN-T loss) under two workers: identical trainable weights on both.

    Batch-norm moving statistics are per replica by default (``synchronized_batch_norm=False``; the
    synchronised option is tested in tests/models/test_contextnet_transducer_synchronized.py), so
    those non-trainable variables legitimately differ between the workers.
    """
    outs = _multi_worker(tmp_path, model="transducer", timeout=1200)
    data = [np.load(o) for o in outs]
    assert int(data[0]["replicas"]) == 2 and int(data[0]["steps"]) == 4  # 16 examples, global batch 4
    assert int(data[0]["noised_steps"]) == int(data[1]["noised_steps"]) == 3  # the contract's prediction network
    assert np.all(np.isfinite(data[0]["loss"]))
    trainable = data[0]["trainable"]
    assert trainable.sum() > 100
    for a, b, is_trainable in zip(_weights(outs[0]), _weights(outs[1]), trainable):
        if is_trainable:
            np.testing.assert_array_equal(a, b)
        assert np.all(np.isfinite(a)) and np.all(np.isfinite(b))
