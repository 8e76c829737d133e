"""How ``make_dataset`` groups utterances into padded batches."""

from __future__ import annotations

import dataclasses
from typing import Sequence


@dataclasses.dataclass(frozen=True)
class BatchingOptions:
    """Batch sizes, length buckets and padding of ``make_dataset``'s batches.

    Fields:

    - ``batch_size``: utterances per batch (positive); every bucket's size without
      ``bucket_batch_sizes``.
    - ``bucket_boundaries``: seconds, positive and increasing; utterances are batched with others of
      a length between the same two boundaries (``tf.data.Dataset.bucket_by_sequence_length``).
      ``None`` or empty: one bucket. Stored as a tuple of floats.
    - ``bucket_batch_sizes``: one batch size per bucket (``len(bucket_boundaries) + 1``, positive);
      ``None`` or empty: ``batch_size`` in every bucket. Ignored without ``bucket_boundaries``.
    - ``drop_remainder``: drop each bucket's last, incomplete batch.
    - ``static_shapes`` (for TPUs, which compile one program per input shape): full batches only
      (implies ``drop_remainder``), audio padded to its bucket's upper boundary and labels to
      ``max_label_length``; ``make_dataset`` then needs ``FilterOptions.max_duration`` and
      ``max_label_length`` (the padded sizes) and every boundary below ``max_duration``.

    Raises ``ValueError`` naming the bad value.
    """

    batch_size: int
    bucket_boundaries: Sequence[float] | None = None
    bucket_batch_sizes: Sequence[int] | None = None
    drop_remainder: bool = False
    static_shapes: bool = False

    def __post_init__(self) -> None:
        if self.batch_size < 1:
            raise ValueError(f"batch_size must be positive, got {self.batch_size}")
        boundaries = tuple(float(b) for b in self.bucket_boundaries or ()) or None
        if boundaries is not None and (boundaries[0] <= 0 or any(a >= b for a, b in zip(boundaries, boundaries[1:]))):
            raise ValueError(f"bucket_boundaries must be positive and increasing seconds, got {list(boundaries)}")
        sizes = tuple(int(s) for s in self.bucket_batch_sizes or ()) or None
        if boundaries is not None and sizes is not None:
            if len(sizes) != len(boundaries) + 1:
                raise ValueError(f"bucket_batch_sizes needs {len(boundaries) + 1} entries, got {len(sizes)}")
            if min(sizes) < 1:
                raise ValueError(f"bucket_batch_sizes must be positive, got {list(sizes)}")
        # Frozen: normalised values are set through object.__setattr__ (tuples keep the options hashable).
        object.__setattr__(self, "bucket_boundaries", boundaries)
        object.__setattr__(self, "bucket_batch_sizes", sizes)

    @property
    def drops_remainder(self) -> bool:
        """Whether incomplete batches are dropped: ``drop_remainder`` or ``static_shapes``."""
        return self.drop_remainder or self.static_shapes

    @property
    def bucket_sizes(self) -> tuple[int, ...]:
        """The batch size of each bucket (``len(bucket_boundaries) + 1`` entries; one without buckets)."""
        if self.bucket_boundaries is None:
            return (self.batch_size,)
        return self.bucket_batch_sizes or (self.batch_size,) * (len(self.bucket_boundaries) + 1)
