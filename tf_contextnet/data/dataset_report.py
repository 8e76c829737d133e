"""What ``make_dataset`` keeps and drops."""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass
class DatasetReport:
    """What ``make_dataset`` keeps and drops: counts per reason and the first ids of each."""

    total: int
    kept: int
    kept_seconds: float
    dropped: dict[str, int]
    examples: dict[str, list[str]]

    def format(self) -> str:
        parts = [f"{reason}: {count} (e.g. {', '.join(self.examples[reason][:3])})"
                 for reason, count in self.dropped.items()]
        return (f"{self.kept} of {self.total} utterances kept ({self.kept_seconds / 3600:.3f} h)"
                + ("; dropped " + "; ".join(parts) if parts else ""))
