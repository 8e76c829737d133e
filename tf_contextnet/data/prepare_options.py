"""Filters that ``prepare`` applies while it writes TFRecords."""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class PrepareOptions:
    """Filters applied while preparing (``None``: no limit)."""

    max_duration: float | None = None
    max_transcript_length: int | None = None
    allowed_characters: str | None = None
