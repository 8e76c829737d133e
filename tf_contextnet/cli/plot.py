"""``contextnet plot RUN_DIR``: training curves (loss, dev WER/CER, learning rate) from the run's log.

Reads ``RUN_DIR/logs/metrics.csv`` (columns ``epoch,step,minutes,loss,val_loss,val_wer,val_cer,
learning_rate``; an empty cell means "not measured"; missing columns are tolerated, as is a Keras
``CSVLogger`` file given directly). The x axis is the training step when the log has one, else the
epoch. Writes ``RUN_DIR/curves.png`` (or ``--out``).
"""

from __future__ import annotations

import argparse
import csv
import math
import os
import sys

LOG_FILE = os.path.join("logs", "metrics.csv")
PANELS = (("loss", ("loss", "val_loss")), ("error rate (%)", ("val_wer", "val_cer")), ("learning rate",
                                                                                       ("learning_rate",)))


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``plot`` subcommand."""
    p = subparsers.add_parser("plot", help="plot training curves of a run (loss, dev WER, learning rate)",
                              description=__doc__.split("\n\n", 1)[1])
    p.add_argument("run", metavar="RUN_DIR", help=f"training run folder (with {LOG_FILE}) or a metrics CSV file")
    p.add_argument("--out", default=None, help="PNG path (default: RUN_DIR/curves.png)")
    p.set_defaults(func=run)


def read_metrics(path: str) -> dict[str, list[float]]:
    """Columns of a metrics CSV as float lists (``nan`` for empty or non-numeric cells)."""
    def number(cell):
        try:
            return float(cell) if cell not in (None, "") else math.nan
        except ValueError:
            return math.nan

    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        if not reader.fieldnames:
            raise ValueError(f"{path}: empty file, expected a CSV header such as "
                             f"epoch,step,minutes,loss,val_loss,val_wer,val_cer,learning_rate")
        columns: dict[str, list[float]] = {name: [] for name in reader.fieldnames}
        for row in reader:
            for name in columns:
                columns[name].append(number(row.get(name)))
    if not any(columns.values()):
        raise ValueError(f"{path}: no rows yet")
    return columns


def metrics_path(run_dir: str) -> str:
    """``RUN_DIR/logs/metrics.csv``, or the CSV given directly; ``FileNotFoundError`` naming what is expected."""
    if os.path.isfile(run_dir):
        return run_dir
    path = os.path.join(run_dir, LOG_FILE)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"{path} does not exist: `contextnet plot` reads the training log written to "
                                f"RUN_DIR/{LOG_FILE}")
    return path


def plot_metrics(columns: dict[str, list[float]], out: str, title: str) -> list[str]:
    """Draw the panels that have data; returns the names of the columns drawn."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    x_name = "step" if any(not math.isnan(v) for v in columns.get("step", [])) else "epoch"
    x = columns.get(x_name) or list(range(1, 1 + max(len(v) for v in columns.values())))
    panels = [(label, [n for n in names if any(not math.isnan(v) for v in columns.get(n, []))])
              for label, names in PANELS]
    panels = [(label, names) for label, names in panels if names]
    if not panels:
        raise ValueError(f"no plottable column (expected some of {[n for _, ns in PANELS for n in ns]}), found "
                         f"{sorted(columns)}")
    figure, axes = plt.subplots(len(panels), 1, figsize=(8, 2.6 * len(panels)), sharex=True, squeeze=False)
    drawn = []
    for axis, (label, names) in zip(axes[:, 0], panels):
        for name in names:
            scale = 100.0 if label.startswith("error") else 1.0
            points = [(a, scale * b) for a, b in zip(x, columns[name]) if not (math.isnan(a) or math.isnan(b))]
            if not points:
                continue
            axis.plot(*zip(*points), marker="." if len(points) < 50 else None, label=name)
            drawn.append(name)
        axis.set_ylabel(label)
        if label == "loss" and all(v > 0 for n in names for v in columns[n] if not math.isnan(v)):
            axis.set_yscale("log")
        axis.grid(alpha=0.3)
        axis.legend(fontsize=8)
    axes[-1, 0].set_xlabel(x_name)
    axes[0, 0].set_title(title, fontsize=9)
    figure.tight_layout()
    figure.savefig(out, dpi=100)
    plt.close(figure)
    return drawn


def run(args: argparse.Namespace) -> int:
    """Write the PNG; exit 2 (reason on stderr) when there is no readable log."""
    try:
        path = metrics_path(args.run)
        columns = read_metrics(path)
        out = args.out or os.path.join(args.run if os.path.isdir(args.run) else os.path.dirname(path), "curves.png")
        drawn = plot_metrics(columns, out, path)
    except (FileNotFoundError, ValueError) as error:
        print(f"contextnet plot: {error}", file=sys.stderr)
        return 2
    print(f"{out}: {', '.join(drawn)}")
    return 0
