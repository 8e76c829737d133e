"""PipelineOptions: defaults, a cache path kept as a string, and errors naming the bad value."""

from __future__ import annotations

from pathlib import Path

import pytest
import tensorflow as tf

from tf_contextnet.data import PipelineOptions


def test_defaults():
    options = PipelineOptions()
    assert (options.shuffle, options.seed, options.shuffle_buffer, options.cache, options.repeat) == (
        True, 0, 2048, False, False)
    assert options.num_parallel_calls == tf.data.AUTOTUNE


def test_cache_path_becomes_a_string(tmp_path):
    assert PipelineOptions(cache=tmp_path / "cache").cache == str(Path(tmp_path) / "cache")
    assert PipelineOptions(cache=True).cache is True


@pytest.mark.parametrize("kwargs, message", [
    ({"shuffle_buffer": 0}, r"shuffle_buffer must be positive, got 0"),
    ({"num_parallel_calls": 0}, r"num_parallel_calls must be positive or tf.data.AUTOTUNE, got 0"),
    ({"num_parallel_calls": -7}, r"got -7"),
    ({"cache": None}, r"cache must be True, False or a file path, got None"),
])
def test_errors_name_the_bad_value(kwargs, message):
    with pytest.raises(ValueError, match=message):
        PipelineOptions(**kwargs)
