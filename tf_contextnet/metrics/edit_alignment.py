"""A minimal-edit alignment of a hypothesis to a reference, and its substitution/deletion/insertion counts.

    align(r, h) = [(r_i or None, h_j or None), ...]   in order, one pair per alignment column
    (x, x): hit;  (x, y), x != y: substitution;  (x, None): deletion;  (None, y): insertion
    S + D + I = edit_distance(r, h),  H + S + D = |r|,  H + S + I = |h|

Ties between alignments of equal cost are broken the documented way: the backtrace from the end
of both sequences prefers a hit/substitution, then a deletion, then an insertion. Totals
(S + D + I, reference length) do not depend on the tie-break; how the errors split into S, D and
I may differ from another tool's (jiwer, sclite) on tied alignments.

Empty reference: every hypothesis word is an insertion; the utterance adds 0 reference words, so
a corpus of empty references has rate 0 if nothing was hypothesised and ``inf`` otherwise
(``EditCounts.rate``).
"""

from __future__ import annotations

from typing import Hashable, NamedTuple, Sequence

Alignment = list[tuple[Hashable | None, Hashable | None]]


class EditCounts(NamedTuple):
    """Hits, substitutions, deletions and insertions of one or more aligned pairs (add with ``+``)."""

    hits: int = 0
    substitutions: int = 0
    deletions: int = 0
    insertions: int = 0

    @property
    def edits(self) -> int:
        """S + D + I."""
        return self.substitutions + self.deletions + self.insertions

    @property
    def reference_length(self) -> int:
        """H + S + D."""
        return self.hits + self.substitutions + self.deletions

    @property
    def hypothesis_length(self) -> int:
        """H + S + I."""
        return self.hits + self.substitutions + self.insertions

    @property
    def rate(self) -> float:
        """edits / reference length; 0 when both are 0, ``inf`` for edits against an empty reference."""
        if self.reference_length == 0:
            return 0.0 if self.edits == 0 else float("inf")
        return self.edits / self.reference_length

    def __add__(self, other: "EditCounts") -> "EditCounts":  # type: ignore[override]
        return EditCounts(*(a + b for a, b in zip(self, other)))


def align(reference: Sequence, hypothesis: Sequence) -> Alignment:
    """A minimal-cost alignment (module docstring), O(|r|·|h|) time and memory."""
    n, m = len(reference), len(hypothesis)
    cost = [[0] * (m + 1) for _ in range(n + 1)]
    for i in range(n + 1):
        cost[i][0] = i
    for j in range(m + 1):
        cost[0][j] = j
    for i in range(1, n + 1):
        row, previous, r = cost[i], cost[i - 1], reference[i - 1]
        for j in range(1, m + 1):
            row[j] = min(previous[j - 1] + (r != hypothesis[j - 1]), previous[j] + 1, row[j - 1] + 1)
    pairs: Alignment = []
    i, j = n, m
    while i > 0 or j > 0:
        if i > 0 and j > 0 and cost[i][j] == cost[i - 1][j - 1] + (reference[i - 1] != hypothesis[j - 1]):
            pairs.append((reference[i - 1], hypothesis[j - 1]))
            i, j = i - 1, j - 1
        elif i > 0 and cost[i][j] == cost[i - 1][j] + 1:
            pairs.append((reference[i - 1], None))
            i -= 1
        else:
            pairs.append((None, hypothesis[j - 1]))
            j -= 1
    return pairs[::-1]


def count_edits(alignment: Alignment) -> EditCounts:
    """Hits, substitutions, deletions, insertions of an ``align`` result."""
    hits = substitutions = deletions = insertions = 0
    for r, h in alignment:
        if r is None:
            insertions += 1
        elif h is None:
            deletions += 1
        elif r == h:
            hits += 1
        else:
            substitutions += 1
    return EditCounts(hits, substitutions, deletions, insertions)


def edit_counts(reference: Sequence, hypothesis: Sequence) -> EditCounts:
    """``count_edits(align(reference, hypothesis))``."""
    return count_edits(align(reference, hypothesis))
