"""The results table (Markdown, CSV), the Pareto front against brute force, and the plot file."""

from __future__ import annotations

import csv
import itertools
import random

from tf_contextnet.tuning import pareto_front, plot_pareto, write_results_table, write_trial_record
from tf_contextnet.tuning.results import COLUMNS, collect_results


def _brute_front(rows):
    done = [r for r in rows if r["status"] == "completed"]
    return sorted((r for r in done
                   if not any(o["gflops"] <= r["gflops"] and o["dev_wer"] <= r["dev_wer"]
                              and (o["gflops"], o["dev_wer"]) != (r["gflops"], r["dev_wer"]) for o in done)),
                  key=lambda r: r["gflops"])


def test_pareto_front_equals_brute_force():
    rng = random.Random(3)
    for _ in range(50):
        rows = [{"trial": str(i), "gflops": rng.choice([0.1, 0.2, 0.3, 0.4]), "dev_wer": rng.random(),
                 "params": 10, "status": rng.choice(["completed", "completed", "skipped"])} for i in range(8)]
        assert [r["trial"] for r in pareto_front(rows)] == [r["trial"] for r in _brute_front(rows)]


def test_table_and_plot_from_records(tmp_path):
    """Trial 0's record predates the blocks dimension (all 23 blocks); trial 3 died before its record."""
    project = tmp_path / "tuner"
    records = [
        {"trial_id": "0", "status": "completed", "values": {"alpha": 0.25, "kernel_size": 5, "downsampling": "8x",
                                                            "se": True, "se_context_window": 0},
         "parameters": 1000, "gflops": 0.2, "val_wer": 0.5, "val_loss": 3.0, "train_seconds": 120.0,
         "wall_seconds": 200.0, "steps": 40},
        {"trial_id": "1", "status": "skipped", "reason": "0.900 GFLOPs/s > budget 0.5",
         "values": {"alpha": 1.0, "kernel_size": 21, "blocks": "0,3,7,22", "downsampling": "2x", "se": True,
                    "se_context_window": 16},
         "parameters": 9000, "gflops": 0.9},
        {"trial_id": "2", "status": "completed", "values": {"alpha": 0.5, "kernel_size": 3, "blocks": "8",
                                                            "downsampling": "2x", "se": False},
         "parameters": 3000, "gflops": 0.4, "val_wer": 0.25, "val_loss": 2.0, "train_seconds": 60.0, "steps": 40},
    ]
    for record in records:
        write_trial_record(project / f"trial_{record['trial_id']}", record)
    (project / "trial_3").mkdir()  # died before writing a record: Keras Tuner's own file names its state
    (project / "trial_3" / "trial.json").write_text('{"trial_id": "3", "status": "RUNNING", "message": null}')
    rows = collect_results(project)
    assert [r["status"] for r in rows] == ["completed", "skipped", "completed", "running"]
    assert [r["se"] for r in rows[:3]] == ["global", "window 16", "off"]
    write_results_table(rows, str(tmp_path / "results.md"), str(tmp_path / "results.csv"))
    with open(tmp_path / "results.csv", newline="") as f:
        table = list(csv.DictReader(f))
    assert tuple(table[0]) == COLUMNS
    assert {"trial", "alpha", "kernel", "blocks", "downsampling", "se", "params", "gflops", "dev_wer", "dev_loss",
            "minutes"} <= set(table[0])
    assert (table[0]["dev_wer"], table[0]["minutes"], table[1]["dev_wer"]) == ("0.5", "2.0", "")
    assert table[1]["note"] == "0.900 GFLOPs/s > budget 0.5"
    markdown = (tmp_path / "results.md").read_text().splitlines()
    assert markdown[0].startswith("| trial | α | kernel | blocks | downsampling | SE | params | GFLOPs/s | dev WER | "
                                  "dev loss |")
    assert "| 0 | 0.25 | 5 | all | 8x | global | 1,000 | 0.200 | 50.0% | 3.00 | 2.00 | 3.33 | 40 | completed |" \
        in markdown[2]
    assert [row["blocks"] for row in table] == ["all", "0,3,7,22", "8", ""]
    assert [r["trial"] for r in pareto_front(rows)] == ["0", "2"]
    plot_pareto(rows, str(tmp_path / "pareto.png"))
    assert (tmp_path / "pareto.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_front_keeps_only_improvements():
    rows = [{"trial": t, "gflops": g, "dev_wer": w, "status": "completed"}
            for t, g, w in [("a", 1, 0.3), ("b", 2, 0.35), ("c", 3, 0.2), ("d", 0.5, 0.6)]]
    for order in itertools.permutations(rows):
        assert [r["trial"] for r in pareto_front(list(order))] == ["d", "a", "c"]
