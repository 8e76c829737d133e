"""Keras Tuner's distributed mode on loopback: a chief (oracle) and two workers finish a 4-trial search."""

from __future__ import annotations

import socket
import subprocess
import sys

import pytest

from tf_contextnet.tuning import collect_results, read_trial_record
from tuning.sweep_data import sweep_environment, write_space


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_chief_and_two_workers_finish_a_four_trial_search(fsdd_records, tmp_path):
    out = tmp_path / "sweep"
    space = write_space(tmp_path / "space.json")  # α {0.125, 0.25} × kernel {3, 5}: four configurations
    command = [sys.executable, "-m", "tf_contextnet.cli.main", "sweep", "--space", str(space),
               "--train", str(fsdd_records["train"]), "--valid", str(fsdd_records["dev"]), "--out", str(out),
               "--max-trials", "4", "--steps-per-trial", "4", "--steps-per-epoch", "4", "--min-trial-steps", "4",
               "--quiet"]
    port = str(_free_port())
    processes = {}
    for tuner_id in ("chief", "tuner0", "tuner1"):
        env = sweep_environment(KERASTUNER_TUNER_ID=tuner_id, KERASTUNER_ORACLE_IP="127.0.0.1",
                                KERASTUNER_ORACLE_PORT=port)
        processes[tuner_id] = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                               text=True)
    outputs = {}
    try:
        for tuner_id, process in processes.items():
            outputs[tuner_id] = process.communicate(timeout=2400)
    finally:
        for process in processes.values():
            if process.poll() is None:
                process.kill()
    for tuner_id, process in processes.items():
        assert process.returncode == 0, f"{tuner_id}:\n{outputs[tuner_id][1][-3000:]}"
        assert f'"role": "{"chief" if tuner_id == "chief" else "worker"}"' in outputs[tuner_id][0]

    trial_dirs = sorted((out / "tuner").glob("trial_*"))
    records = [read_trial_record(d) for d in trial_dirs]
    assert len(records) == 4 and all(r["status"] == "completed" for r in records)
    by_worker = {tuner_id: sum(r["tuner_id"] == tuner_id for r in records) for tuner_id in ("tuner0", "tuner1")}
    assert by_worker["tuner0"] >= 1 and by_worker["tuner1"] >= 1 and sum(by_worker.values()) == 4
    assert len({(r["values"]["alpha"], r["values"]["kernel_size"]) for r in records}) == 4
    # The chief wrote the table (all four trials) and the best model once every trial had ended.
    assert [row["status"] for row in collect_results(out / "tuner")] == ["completed"] * 4
    assert (out / "results.md").read_text().count("| completed |") == 4
    assert (out / "best_model" / "model.keras").exists()
