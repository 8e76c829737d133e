"""A fit killed with SIGKILL mid-epoch and re-run resumes from its last backup."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import h5py
import numpy as np
import pytest

from tf_contextnet.training import checkpoint_callbacks

WORKER = Path(__file__).parent / "resumable_fit_worker.py"
EPOCHS, STEPS_PER_EPOCH = 3, 40


def _run(out: Path) -> subprocess.Popen:
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "CUDA_VISIBLE_DEVICES": ""}
    return subprocess.Popen([sys.executable, str(WORKER), str(out)], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)


def _metadata(out: Path) -> dict | None:
    try:
        return json.loads((out / "backup" / "training_metadata.json").read_text())
    except (OSError, ValueError):
        return None


def test_sigkill_mid_epoch_then_rerun_resumes(tmp_path):
    proc = _run(tmp_path)
    deadline = time.time() + 180
    while time.time() < deadline and proc.poll() is None:
        meta = _metadata(tmp_path)
        if meta and meta["epoch"] == 1 and meta["batch"] >= 14:  # in the second epoch, mid-way
            break
        time.sleep(0.05)
    assert proc.poll() is None, f"worker ended before it could be killed:\n{proc.communicate()[0][-3000:]}"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL
    assert not (tmp_path / "final_step.txt").exists()

    with h5py.File(tmp_path / "backup" / "latest.weights.h5", "r") as f:
        backup_step = int(f["optimizer/vars/0"][()])
        backup_momentum = np.array(f["optimizer/vars/2"])
    backup_epoch = _metadata(tmp_path)["epoch"]
    assert STEPS_PER_EPOCH < backup_step < 2 * STEPS_PER_EPOCH and backup_epoch == 1

    proc = _run(tmp_path)
    output, _ = proc.communicate(timeout=240)
    assert proc.returncode == 0, output[-3000:]
    starts = [json.loads(line) for line in (tmp_path / "starts.jsonl").read_text().splitlines()]
    assert [s["step"] for s in starts] == [0, backup_step]  # step counter restored
    np.testing.assert_array_equal(np.array(starts[1]["momentum"], np.float32), backup_momentum)  # Adam state
    assert np.any(backup_momentum != 0)
    # the interrupted epoch restarts from its first batch, earlier epochs are not repeated
    final = int((tmp_path / "final_step.txt").read_text())
    assert final == backup_step + (EPOCHS - backup_epoch) * STEPS_PER_EPOCH


def test_backup_every_steps_must_be_positive(tmp_path):
    with pytest.raises(ValueError, match="backup_every_steps"):
        checkpoint_callbacks(str(tmp_path), backup_every_steps=0)
