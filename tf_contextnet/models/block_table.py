"""The paper's Table 1 as data, and the pure functions derived from it.

ContextNet (Han et al., 2020, arXiv 2005.03191), Table 1: 23 blocks C0..C22. C0 and C22 have one
convolution layer and no residual; C1..C21 have five. Output channels 256·α (C0-C10), 512·α
(C11-C21), 640·α (C22); kernel 5 everywhere; stride 2 in the *last* layer of C3, C7 and C14
(8× downsampling). The 2× variant of Table 4 strides only C3.

``block_indices`` keeps a subset of the 23 rows (default all): a shallower encoder of the paper's
blocks. The full depth trains slowly from scratch on a small corpus: on AN4 with CTC alone, α 0.25,
the 23 blocks were at 78 % training CER after 600 steps where the 8 blocks (0, 1, 3, 5, 7, 9, 11, 22)
were at 17 % (recipes/an4/RESULTS.md).

Shape letters: B batch.
"""

from __future__ import annotations

import dataclasses
from typing import Sequence

import tensorflow as tf

NUM_BLOCKS = 23
BASE_FILTERS = (256, 512, 640)  # C0-C10, C11-C21, C22 (before scaling by alpha)


@dataclasses.dataclass(frozen=True)
class BlockSpec:
    """One row of Table 1: a ContextBlock's arguments."""

    name: str
    num_layers: int
    filters: int
    kernel_size: int
    strides: int
    residual: bool


def scaled_filters(base: int, alpha: float) -> int:
    """``round(base · α)``, at least 1: the paper's width multiplier."""
    if alpha <= 0:
        raise ValueError(f"alpha must be > 0, got {alpha}")
    return max(1, int(round(base * alpha)))


def check_block_indices(block_indices: Sequence[int] | None,
                        downsample_blocks: Sequence[int] = (3, 7, 14)) -> tuple[int, ...]:
    """``block_indices`` as a tuple (``None``: all 23), checked: strictly increasing indices of
    0..22 that keep every strided block (a dropped one would change the time reduction)."""
    if block_indices is None:
        return tuple(range(NUM_BLOCKS))
    kept = tuple(int(i) for i in block_indices)
    if not kept:
        raise ValueError("block_indices must keep at least one block, got ()")
    bad = [i for i in kept if not 0 <= i < NUM_BLOCKS]
    if bad:
        raise ValueError(f"block_indices {kept} has indices outside 0..{NUM_BLOCKS - 1}: {bad}")
    if any(b <= a for a, b in zip(kept, kept[1:])):
        raise ValueError(f"block_indices must be strictly increasing, got {kept}")
    dropped = sorted(set(int(i) for i in downsample_blocks) - set(kept))
    if dropped:
        raise ValueError(f"block_indices {kept} drops the strided block(s) {dropped} of downsample_blocks "
                         f"{tuple(downsample_blocks)}; keep them or change downsample_blocks")
    return kept


def block_table(alpha: float = 1.0, kernel_size: int = 5, downsample_blocks: Sequence[int] = (3, 7, 14),
                block_indices: Sequence[int] | None = None) -> list[BlockSpec]:
    """The blocks of Table 1 for width multiplier ``alpha``: all 23, or the rows ``block_indices``.

    ``downsample_blocks`` are the block indices whose last conv layer has stride 2 ((3, 7, 14) in
    the paper: 8×; (3,) gives Table 4's 2× variant).
    """
    if kernel_size < 1:
        raise ValueError(f"kernel_size must be >= 1, got {kernel_size}")
    bad = [i for i in downsample_blocks if not 0 <= int(i) < NUM_BLOCKS]
    if bad:
        raise ValueError(f"downsample_blocks {tuple(downsample_blocks)} has indices outside 0..{NUM_BLOCKS - 1}: {bad}")
    table = []
    for i in check_block_indices(block_indices, downsample_blocks):
        base = BASE_FILTERS[0] if i <= 10 else BASE_FILTERS[1] if i <= 21 else BASE_FILTERS[2]
        edge = i in (0, NUM_BLOCKS - 1)
        table.append(BlockSpec(name=f"C{i}", num_layers=1 if edge else 5, filters=scaled_filters(base, alpha),
                               kernel_size=kernel_size, strides=2 if i in set(int(j) for j in downsample_blocks) else 1,
                               residual=not edge))
    return table


def total_stride(downsample_blocks: Sequence[int] = (3, 7, 14)) -> int:
    """The encoder's time reduction factor: 2 ** number of strided blocks."""
    return 2 ** len(set(int(i) for i in downsample_blocks))


def encoder_output_lengths(lengths: tf.Tensor, downsample_blocks: Sequence[int] = (3, 7, 14)) -> tf.Tensor:
    """Valid output frames ``[B]`` for valid input frames ``lengths`` ``[B]``.

    Each stride-2 block maps ``L`` to ``ceil(L / 2)``: output frame ``i`` is centred on input frame
    ``2i``, which is valid iff ``2i < L``.
    """
    lengths = tf.convert_to_tensor(lengths)
    for _ in range(len(set(int(i) for i in downsample_blocks))):
        lengths = (lengths + 1) // 2
    return lengths
