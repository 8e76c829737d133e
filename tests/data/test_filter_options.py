"""FilterOptions: defaults and errors naming the bad value."""

from __future__ import annotations

import pytest

from tf_contextnet.data import FilterOptions


def test_defaults_filter_nothing_and_raise_on_unknown_symbols():
    assert FilterOptions() == FilterOptions(max_duration=None, max_label_length=None, on_unknown="error")
    assert FilterOptions(2.5, 80, "skip").max_duration == 2.5


@pytest.mark.parametrize("kwargs, message", [
    ({"max_duration": 0}, r"max_duration must be positive seconds or None, got 0"),
    ({"max_duration": -3.5}, r"got -3\.5"),
    ({"max_duration": float("nan")}, r"got nan"),
    ({"max_label_length": 0}, r"max_label_length must be positive or None, got 0"),
    ({"on_unknown": "drop"}, r"on_unknown must be one of \('error', 'skip'\), got 'drop'"),
])
def test_errors_name_the_bad_value(kwargs, message):
    with pytest.raises(ValueError, match=message):
        FilterOptions(**kwargs)
