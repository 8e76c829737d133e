"""Automatic duration buckets of run_training: the quartiles of the training durations."""

from __future__ import annotations

import numpy as np

from tf_contextnet.training.run_training import duration_buckets


def test_quartiles_rounded_and_limited():
    seconds = np.linspace(0.5, 6.5, 200)  # quartiles 2.0, 3.5, 5.0
    assert duration_buckets(seconds, batch_size=16) == [2.0, 3.5, 5.0]
    assert duration_buckets(seconds, batch_size=16, buckets=2) == [3.5]
    assert duration_buckets(seconds, batch_size=16, max_duration=4.0) == [2.0, 3.5]
    assert duration_buckets(seconds, batch_size=16, max_duration=1.0) is None


def test_tiny_corpus_is_not_bucketed():
    assert duration_buckets([0.4, 0.6, 0.8, 1.0, 1.2], batch_size=5) is None
    assert duration_buckets(np.full(40, 1.0), batch_size=5) == [1.0]  # 40 >= 2 * 4 * 5: one boundary
