"""Markdown table rows from ``contextnet evaluate`` summaries (``OUT/summary.json``), for the recipes'
decode scripts: ``HEADER`` and ``SEPARATOR`` after any leading columns of the caller, then one
:func:`summary_cells` per summary."""

from __future__ import annotations

import json
from pathlib import Path

HEADER = "decoder | WER % | CER % | S | D | I | sentence error % | utterances | words"
SEPARATOR = "---|" * 9


def summary_cells(path: str | Path) -> str:
    """The cells of ``HEADER`` for the summary at ``path`` (words = hits + substitutions + deletions)."""
    s = json.loads(Path(path).read_text())
    w = s["words"]
    return (f"{s['decoder']} | {100 * s['wer']:.2f} | {100 * s['cer']:.2f} | {w['substitutions']} | "
            f"{w['deletions']} | {w['insertions']} | {100 * s['ser']:.2f} | {s['utterances']} | "
            f"{w['hits'] + w['substitutions'] + w['deletions']}")
