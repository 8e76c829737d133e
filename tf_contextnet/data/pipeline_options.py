"""Order, caching and parallelism of ``make_dataset``'s tf.data pipeline."""

from __future__ import annotations

import dataclasses
import os

import tensorflow as tf


@dataclasses.dataclass(frozen=True)
class PipelineOptions:
    """Shuffling, caching, repetition and parallelism of ``make_dataset``.

    Fields:

    - ``shuffle``: shuffle the file order (each epoch) and the utterances (``shuffle_buffer``).
    - ``seed``: the seed of both shuffles; the order is deterministic given it.
    - ``shuffle_buffer``: utterances in the shuffle buffer (positive).
    - ``cache``: cache the filtered int16 PCM records after the first pass: ``False`` no cache,
      ``True`` in memory, a path for a cache file (stored as ``str``).
    - ``repeat``: repeat forever (``model.fit`` then needs ``steps_per_epoch``).
    - ``num_parallel_calls``: parallel reads, parses and feature maps (positive, or
      ``tf.data.AUTOTUNE``).

    Raises ``ValueError`` naming the bad value.
    """

    shuffle: bool = True
    seed: int = 0
    shuffle_buffer: int = 2048
    cache: bool | str = False
    repeat: bool = False
    num_parallel_calls: int = tf.data.AUTOTUNE

    def __post_init__(self) -> None:
        if self.shuffle_buffer < 1:
            raise ValueError(f"shuffle_buffer must be positive, got {self.shuffle_buffer}")
        if self.num_parallel_calls != tf.data.AUTOTUNE and self.num_parallel_calls < 1:
            raise ValueError(f"num_parallel_calls must be positive or tf.data.AUTOTUNE, got {self.num_parallel_calls}")
        if not isinstance(self.cache, (bool, str, os.PathLike)):
            raise ValueError(f"cache must be True, False or a file path, got {self.cache!r}")
        if isinstance(self.cache, os.PathLike):
            # Frozen: the normalised path is set through object.__setattr__.
            object.__setattr__(self, "cache", os.fspath(self.cache))
