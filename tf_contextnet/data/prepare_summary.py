"""What one ``prepare`` run wrote and skipped."""

from __future__ import annotations

import collections
import dataclasses
import os

SKIPPED_FILE = "skipped.tsv"


@dataclasses.dataclass
class PrepareSummary:
    """What ``prepare`` wrote and skipped (the reused shards of earlier runs included)."""

    output_dir: str
    shards: list[str]
    shards_written: int
    shards_reused: int
    utterances: int
    seconds: float
    skipped: list[tuple[str, str, str, str]]

    @property
    def skipped_counts(self) -> dict[str, int]:
        return dict(sorted(collections.Counter(s[2] for s in self.skipped).items()))

    def format(self) -> str:
        lines = [f"wrote {self.utterances} utterances ({self.seconds / 3600:.3f} h) in {len(self.shards)} shard(s) "
                 f"to {self.output_dir} ({self.shards_written} written now, {self.shards_reused} reused)",
                 f"skipped {len(self.skipped)} utterance(s)" + (":" if self.skipped else "")]
        lines += [f"  {reason}: {count}" for reason, count in self.skipped_counts.items()]
        if self.skipped:
            lines.append(f"  listed in {os.path.join(self.output_dir, SKIPPED_FILE)}")
        return "\n".join(lines)
