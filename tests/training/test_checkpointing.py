"""A fit killed with SIGKILL mid-epoch and re-run resumes from its last backup."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import h5py
import numpy as np
import pytest

from tf_contextnet.training import checkpoint_callbacks

WORKER = Path(__file__).parent / "resumable_fit_worker.py"
EPOCHS, STEPS_PER_EPOCH = 3, 40


KILL_AT_STEP = STEPS_PER_EPOCH + 17  # mid-way through the second epoch, two steps after a backup


def _run(out: Path, *extra: str) -> subprocess.Popen:
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "CUDA_VISIBLE_DEVICES": ""}
    return subprocess.Popen([sys.executable, str(WORKER), str(out), *extra], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)


def _wait_until_ready(proc: subprocess.Popen, timeout: float = 240) -> None:
    """Block until the worker prints ``READY`` (it then sleeps, its backup written) or fail with its output."""
    lines: list[str] = []

    def read():
        for line in proc.stdout:
            lines.append(line)
            if line.startswith("READY"):
                return

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    reader.join(timeout)
    if not (lines and lines[-1].startswith("READY")):
        proc.kill()
        pytest.fail(f"worker never reached step {KILL_AT_STEP}:\n{''.join(lines)[-3000:]}")


def test_sigkill_mid_epoch_then_rerun_resumes(tmp_path):
    proc = _run(tmp_path, str(KILL_AT_STEP))
    _wait_until_ready(proc)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL
    assert not (tmp_path / "final_step.txt").exists()

    with h5py.File(tmp_path / "backup" / "latest.weights.h5", "r") as f:
        backup_step = int(f["optimizer/vars/0"][()])
        backup_momentum = np.array(f["optimizer/vars/2"])
    backup_epoch = json.loads((tmp_path / "backup" / "training_metadata.json").read_text())["epoch"]
    assert STEPS_PER_EPOCH < backup_step < KILL_AT_STEP and backup_epoch == 1

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
