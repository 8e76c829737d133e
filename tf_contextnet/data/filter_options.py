"""Which utterances ``make_dataset`` drops before batching."""

from __future__ import annotations

import dataclasses

UNKNOWN_POLICIES = ("error", "skip")


@dataclasses.dataclass(frozen=True)
class FilterOptions:
    """Limits and the unknown-symbol policy of ``make_dataset``'s filtering (``None``: no limit).

    Fields:

    - ``max_duration``: seconds (positive); longer utterances are dropped (``too_long``). With
      ``BatchingOptions.static_shapes`` it is also the padded audio length.
    - ``max_label_length``: labels (positive); utterances whose transcript encodes to more are
      dropped (``too_many_labels``). With ``static_shapes`` it is also the padded label length.
    - ``on_unknown``: transcripts with symbols outside the tokenizer's vocabulary: ``"error"``
      raises ``ValueError`` naming the utterance and the symbols, ``"skip"`` drops and counts them
      (``unknown_symbols``).

    Raises ``ValueError`` naming the bad value.
    """

    max_duration: float | None = None
    max_label_length: int | None = None
    on_unknown: str = "error"

    def __post_init__(self) -> None:
        if self.max_duration is not None and not self.max_duration > 0:
            raise ValueError(f"max_duration must be positive seconds or None, got {self.max_duration}")
        if self.max_label_length is not None and self.max_label_length < 1:
            raise ValueError(f"max_label_length must be positive or None, got {self.max_label_length}")
        if self.on_unknown not in UNKNOWN_POLICIES:
            raise ValueError(f"on_unknown must be one of {UNKNOWN_POLICIES}, got {self.on_unknown!r}")
