"""Table 1 of the paper as data, total stride and the output-lengths function."""

from __future__ import annotations

import numpy as np
import pytest

from tf_contextnet.models import block_table, encoder_output_lengths, total_stride

# Han et al. (2020), Table 1: (blocks, conv layers, output channels / alpha, stride, residual).
PAPER_TABLE_1 = [
    ("C0", 1, 256, 1, False), ("C1-C2", 5, 256, 1, True), ("C3", 5, 256, 2, True),
    ("C4-C6", 5, 256, 1, True), ("C7", 5, 256, 2, True), ("C8-C10", 5, 256, 1, True),
    ("C11-C13", 5, 512, 1, True), ("C14", 5, 512, 2, True), ("C15-C21", 5, 512, 1, True),
    ("C22", 1, 640, 1, False),
]


def _expand(rows):
    for names, layers, channels, stride, residual in rows:
        first, _, last = names.partition("-")
        for i in range(int(first[1:]), int((last or first)[1:]) + 1):
            yield f"C{i}", layers, channels, stride, residual


@pytest.mark.parametrize("alpha", [0.5, 1.0, 2.0])
def test_block_table_is_paper_table_1(alpha):
    table = block_table(alpha)
    expected = list(_expand(PAPER_TABLE_1))
    assert len(table) == len(expected) == 23
    for spec, (name, layers, channels, stride, residual) in zip(table, expected):
        assert (spec.name, spec.num_layers, spec.filters, spec.kernel_size, spec.strides, spec.residual) == \
            (name, layers, int(channels * alpha), 5, stride, residual)


def test_two_times_variant_strides_only_c3():
    assert [s.name for s in block_table(1.0, 11, (3,)) if s.strides == 2] == ["C3"]
    assert {s.kernel_size for s in block_table(1.0, 11, (3,))} == {11}


def test_output_lengths_brute_force():
    lengths = np.arange(0, 70, dtype=np.int32)
    for blocks in [(3, 7, 14), (3,), ()]:
        expected = []
        for n in lengths:  # count frames i with i * stride < n, one strided block at a time
            for _ in blocks:
                n = len([i for i in range(n) if 2 * i < n])
            expected.append(n)
        np.testing.assert_array_equal(encoder_output_lengths(lengths, blocks).numpy(), expected)
        assert total_stride(blocks) == 2 ** len(blocks)


@pytest.mark.parametrize("kwargs", [{"alpha": 0.0}, {"kernel_size": 0}, {"downsample_blocks": (3, 23)}])
def test_bad_arguments(kwargs):
    with pytest.raises(ValueError):
        block_table(**kwargs)


def test_block_indices_keep_the_paper_rows_of_those_blocks():
    kept = (0, 1, 3, 5, 7, 9, 11, 22)
    full = {spec.name: spec for spec in block_table(0.5, downsample_blocks=(3, 7))}
    table = block_table(0.5, downsample_blocks=(3, 7), block_indices=kept)
    assert [spec.name for spec in table] == [f"C{i}" for i in kept]
    assert table == [full[f"C{i}"] for i in kept]
    assert [s.name for s in table if s.strides == 2] == ["C3", "C7"]


@pytest.mark.parametrize("block_indices, message", [
    ((), "at least one"), ((0, 23), "outside"), ((0, 3, 3, 7, 14), "strictly increasing"),
    ((0, 7, 3, 14), "strictly increasing"), ((0, 3, 7, 22), r"drops the strided block\(s\) \[14\]"),
])
def test_bad_block_indices(block_indices, message):
    with pytest.raises(ValueError, match=message):
        block_table(1.0, block_indices=block_indices)
