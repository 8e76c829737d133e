"""A sweep killed (SIGKILL) in the middle of a trial, re-run with the same command, finishes that trial
from the trial's own backup: the restored optimizer step proves it resumed rather than restarted, and
the trial still trains exactly its planned steps."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time

import pytest

from tf_contextnet.cli.main import main
from tf_contextnet.tuning import read_trial_record
from tuning.sweep_data import TINY_SPACE, sweep_environment, write_space

STEPS_PER_EPOCH, EPOCHS, BACKUP_EVERY = 20, 2, 4


def _wait_for(path, process, seconds):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if path.exists():
            return
        if process.poll() is not None:
            raise AssertionError(f"the sweep ended (exit {process.returncode}) before {path} appeared:\n"
                                 f"{process.stderr.read()[-3000:]}")
        time.sleep(0.2)
    process.kill()
    raise AssertionError(f"{path} did not appear within {seconds} s")


@pytest.mark.slow
def test_killed_trial_resumes_from_its_backup(fsdd_records, tmp_path):
    out = tmp_path / "sweep"
    space = write_space(tmp_path / "space.json", search={**TINY_SPACE["search"], "alpha": [0.125], "kernel_size": [3]})
    command = ["sweep", "--space", str(space), "--train", str(fsdd_records["train"]),
               "--valid", str(fsdd_records["dev"]), "--out", str(out), "--max-trials", "1",
               "--steps-per-trial", str(STEPS_PER_EPOCH * EPOCHS), "--steps-per-epoch", str(STEPS_PER_EPOCH),
               "--min-trial-steps", "10", "--backup-every", str(BACKUP_EVERY), "--quiet"]
    process = subprocess.Popen([sys.executable, "-m", "tf_contextnet.cli.main", *command], env=sweep_environment(),
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    trial_dir = out / "tuner" / "trial_0"
    try:
        _wait_for(trial_dir / "backup" / "training_metadata.json", process, 1200)
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
    backup = json.loads((trial_dir / "backup" / "training_metadata.json").read_text())
    backed_up_step = backup["epoch"] * STEPS_PER_EPOCH + backup["batch"] + 1
    before = read_trial_record(trial_dir)
    assert before["status"] == "running" and before["starts"] == [0] and "steps" not in before
    assert 0 < backed_up_step < STEPS_PER_EPOCH * EPOCHS

    assert main(command) == 0
    after = read_trial_record(trial_dir)
    # Resumed: the second start is the backed-up optimizer step (a restart from scratch would be 0),
    # and the trial trains exactly its planned steps (Keras alone would re-run the whole interrupted
    # epoch on top of the backed-up step), with one record per epoch at its planned step.
    assert after["starts"] == [0, backed_up_step]
    assert after["status"] == "completed"
    assert after["steps"] == STEPS_PER_EPOCH * EPOCHS
    assert [e["step"] for e in after["epochs"]] == [STEPS_PER_EPOCH * (i + 1) for i in range(EPOCHS)]
    assert sorted(p.name for p in (out / "tuner").glob("trial_*")) == ["trial_0"]
    assert (out / "best_model" / "model.keras").exists()
