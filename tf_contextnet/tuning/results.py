"""The sweep's results: one row per trial (skipped ones included), a Markdown/CSV table, a Pareto plot.

Columns: trial, α, kernel, blocks (the encoder's depth: ``all`` = 23, ``8`` = the AN4 recipe's
C0 C1 C3 C5 C7 C9 C11 C22, or the kept indices), downsampling, SE (off / global / window N), params
(whole transducer), GFLOPs (encoder, per second of audio), dev WER (best epoch; a fraction in the
CSV, percent in Markdown), dev loss (same epoch), minutes (training steps after the first of each start, i.e.
without graph tracing), wall minutes (whole ``fit`` calls: tracing and dev evaluation included),
steps, status (completed / skipped / diverged / failed / running), note.

Rows come from the trial records (``trial_recorder``) under the Keras Tuner project directory,
and from Keras Tuner's own ``trial.json`` for a trial that died before writing a record.
"""

from __future__ import annotations

import csv
import glob
import json
import os
from typing import Any, Sequence

from tf_contextnet.tuning.trial_recorder import RECORD_FILE

COLUMNS = ("trial", "alpha", "kernel", "blocks", "downsampling", "se", "params", "gflops", "dev_wer", "dev_loss",
           "minutes", "wall_minutes", "steps", "status", "note")
HEADERS = {"trial": "trial", "alpha": "α", "kernel": "kernel", "blocks": "blocks", "downsampling": "downsampling",
           "se": "SE",
           "params": "params", "gflops": "GFLOPs/s", "dev_wer": "dev WER", "dev_loss": "dev loss",
           "minutes": "train min", "wall_minutes": "wall min", "steps": "steps", "status": "status", "note": "note"}


def _se_label(values: dict[str, Any]) -> str:
    if not values.get("se"):
        return "off"
    window = int(values.get("se_context_window") or 0)
    return "global" if window == 0 else f"window {window}"


def _row(record: dict[str, Any]) -> dict[str, Any]:
    values = record.get("values") or {}
    tuner = record.get("tuner_values") or {}
    note = record.get("reason", "")
    if tuner.get("tuner/trial_id"):
        note = f"continues trial {tuner['tuner/trial_id']}" + (f"; {note}" if note else "")
    seconds, wall = record.get("train_seconds"), record.get("wall_seconds")
    return {
        "trial": record.get("trial_id", ""), "alpha": values.get("alpha"), "kernel": values.get("kernel_size"),
        # Records from before the depth dimension existed trained all 23 blocks.
        "blocks": values.get("blocks", "all") if values else "",
        "downsampling": values.get("downsampling"), "se": _se_label(values) if values else "",
        "params": record.get("parameters"), "gflops": record.get("gflops"),
        "dev_wer": record.get("val_wer"), "dev_loss": record.get("val_loss"),
        "minutes": None if seconds is None else seconds / 60.0,
        "wall_minutes": None if wall is None else wall / 60.0, "steps": record.get("steps"),
        "status": record.get("status", ""), "note": note,
        "tuner_id": record.get("tuner_id", ""), "peak_learning_rate": values.get("peak_learning_rate"),
    }


def collect_results(project_dir: str | os.PathLike) -> list[dict[str, Any]]:
    """One row per trial directory of the Keras Tuner project, in trial order."""
    rows = []
    for trial_dir in sorted(glob.glob(os.path.join(os.fspath(project_dir), "trial_*"))):
        record_path = os.path.join(trial_dir, RECORD_FILE)
        if os.path.isfile(record_path):
            with open(record_path, encoding="utf-8") as f:
                rows.append(_row(json.load(f)))
            continue
        keras_trial = os.path.join(trial_dir, "trial.json")
        if os.path.isfile(keras_trial):
            with open(keras_trial, encoding="utf-8") as f:
                state = json.load(f)
            message = (state.get("message") or "").strip().splitlines()
            rows.append(_row({"trial_id": state.get("trial_id", ""), "status": str(state.get("status", "")).lower(),
                              "reason": message[-1] if message else ""}))
    return rows


def _format(column: str, value: Any) -> str:
    if value is None or value == "":
        return ""
    if column == "params":
        return f"{int(value):,}"
    if column == "gflops":
        return f"{float(value):.3f}"
    if column in ("dev_wer",):
        return f"{100 * float(value):.1f}%"
    if column in ("dev_loss", "minutes", "wall_minutes"):
        return f"{float(value):.2f}"
    return str(value)


def write_results_table(rows: Sequence[dict[str, Any]], markdown_path: str, csv_path: str) -> None:
    """The table as Markdown (formatted, WER in percent) and CSV (raw numbers, WER as a fraction)."""
    with open(csv_path, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=COLUMNS, extrasaction="ignore")
        writer.writeheader()
        for row in rows:
            writer.writerow({k: ("" if row.get(k) is None else row.get(k)) for k in COLUMNS})
    lines = ["| " + " | ".join(HEADERS[c] for c in COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    for row in rows:
        lines.append("| " + " | ".join(_format(c, row.get(c)).replace("|", "/") for c in COLUMNS) + " |")
    with open(markdown_path, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")


def pareto_front(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Completed rows not dominated in (GFLOPs, dev WER), both minimised; sorted by GFLOPs."""
    done = sorted((r for r in rows if r.get("status") == "completed" and r.get("dev_wer") is not None),
                  key=lambda r: (r["gflops"], r["dev_wer"]))
    front, best = [], float("inf")
    for row in done:
        if row["dev_wer"] < best:
            front.append(row)
            best = row["dev_wer"]
    return front


def plot_pareto(rows: Sequence[dict[str, Any]], path: str, title: str = "ContextNet sweep") -> None:
    """Dev WER against encoder GFLOPs per second; marker area ∝ parameters; the front as a step line."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    done = [r for r in rows if r.get("status") == "completed" and r.get("dev_wer") is not None]
    figure, axes = plt.subplots(figsize=(6.4, 4.4))
    if done:
        largest = max(r["params"] for r in done)
        axes.scatter([r["gflops"] for r in done], [100 * r["dev_wer"] for r in done],
                     s=[20 + 400 * r["params"] / largest for r in done], alpha=0.6, edgecolors="k",
                     label="trial (area ∝ parameters)")
        for r in done:
            axes.annotate(str(r["trial"]), (r["gflops"], 100 * r["dev_wer"]), fontsize=7,
                          xytext=(4, 4), textcoords="offset points")
        front = pareto_front(done)
        axes.step([r["gflops"] for r in front], [100 * r["dev_wer"] for r in front], where="post", color="C3",
                  label="Pareto front")
        axes.legend(fontsize=8)
    else:
        axes.text(0.5, 0.5, "no completed trial", ha="center", va="center", transform=axes.transAxes)
    axes.set_xlabel("encoder GFLOPs per second of audio")
    axes.set_ylabel("dev WER (%)")
    axes.set_title(title)
    axes.grid(alpha=0.3)
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)
