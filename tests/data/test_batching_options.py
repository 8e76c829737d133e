"""BatchingOptions: defaults, normalisation to tuples, per-bucket sizes, and errors naming the bad value."""

from __future__ import annotations

import dataclasses

import pytest

from tf_contextnet.data import BatchingOptions


def test_defaults_and_normalised_buckets():
    options = BatchingOptions(8, bucket_boundaries=[1, 2.5], bucket_batch_sizes=[12, 8, 4])
    assert options.bucket_boundaries == (1.0, 2.5) and options.bucket_batch_sizes == (12, 8, 4)
    assert options.bucket_sizes == (12, 8, 4)
    assert BatchingOptions(8, bucket_boundaries=[1, 2.5]).bucket_sizes == (8, 8, 8)
    plain = BatchingOptions(8, bucket_boundaries=[], bucket_batch_sizes=[])
    assert (plain.bucket_boundaries, plain.bucket_batch_sizes, plain.bucket_sizes) == (None, None, (8,))
    assert (plain.drop_remainder, plain.static_shapes, plain.drops_remainder) == (False, False, False)
    hash(options)  # tuples, not lists: usable as a key


def test_static_shapes_drop_the_remainder():
    assert BatchingOptions(4, static_shapes=True).drops_remainder
    assert BatchingOptions(4, drop_remainder=True).drops_remainder


def test_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        BatchingOptions(4).batch_size = 5


@pytest.mark.parametrize("kwargs, message", [
    ({"batch_size": 0}, r"batch_size must be positive, got 0"),
    ({"batch_size": 4, "bucket_boundaries": [2.0, 1.0]}, r"increasing seconds, got \[2\.0, 1\.0\]"),
    ({"batch_size": 4, "bucket_boundaries": [1.0, 1.0]}, r"increasing seconds, got \[1\.0, 1\.0\]"),
    ({"batch_size": 4, "bucket_boundaries": [-1.0]}, r"positive and increasing seconds, got \[-1\.0\]"),
    ({"batch_size": 4, "bucket_boundaries": [1.0], "bucket_batch_sizes": [4, 4, 4]}, r"needs 2 entries, got 3"),
    ({"batch_size": 4, "bucket_boundaries": [1.0], "bucket_batch_sizes": [4, 0]},
     r"bucket_batch_sizes must be positive, got \[4, 0\]"),
])
def test_errors_name_the_bad_value(kwargs, message):
    with pytest.raises(ValueError, match=message):
        BatchingOptions(**kwargs)
